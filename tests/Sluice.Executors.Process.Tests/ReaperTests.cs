using System.Diagnostics;
using System.Globalization;
using Sluice.Core.Execution;
using Sluice.TestKit;
using static Sluice.Executors.Process.Tests.StepHarness;

namespace Sluice.Executors.Process.Tests;

/// <summary>The executor makes its process a child subreaper: step processes whose parent died come back to it and are
/// reaped here, not left as zombies for pid 1.</summary>
public sealed class ReaperTests : IDisposable
{
    private readonly TempDirectory temp = new("sluice-reaper");
    private readonly ProcessExecutor executor = new(TimeProvider.System);

    public void Dispose()
    {
        Posix.KillStepsUnder(temp.Path);
        temp.Dispose();
    }

    [Fact]
    public void Executor_MakesItsProcessASubreaper()
    {
        Assert.True(Reaper.Enabled);
    }

    [Fact]
    public async Task RequestStop_StepWithChildren_NoZombieOfItsGroupIsLeft()
    {
        var start = Shell(temp, "sleep 600 & echo $! > \"$SLUICE_OUTPUTS/a\"; sleep 600 & echo $! > \"$SLUICE_OUTPUTS/b\"; wait");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var a = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "a"));
        var b = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "b"));
        var pgid = execution.Process!.Pid;

        execution.RequestStop(TimeSpan.Zero);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        // Not even a zombie: the sleeps (orphaned when their shell was killed) came back here and were reaped.
        Assert.False(File.Exists($"/proc/{a}/stat"), $"sleep {a} is still in /proc");
        Assert.False(File.Exists($"/proc/{b}/stat"), $"sleep {b} is still in /proc");
        Assert.NotEqual(0, Native.kill(-pgid, 0));
        Assert.Equal(Native.ESRCH, Native.LastError);
    }

    [Fact]
    public async Task StepDaemonInItsOwnSession_ComesBackHereAndIsReapedWhenItEnds()
    {
        // setsid puts the daemon in a session of its own: the step's group kill does not reach it, and it outlives the step
        // (which ends once the daemon has written its pid, i.e. is in its own session).
        var start = Shell(temp, """
            setsid sh -c 'echo $$ > "$SLUICE_OUTPUTS/daemon"; while [ ! -e "$SLUICE_OUTPUTS/go" ]; do sleep 0.01; done' &
            while [ ! -s "$SLUICE_OUTPUTS/daemon" ]; do sleep 0.01; done
            """);
        var go = Path.Combine(start.Directory, "outputs", "go");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var daemon = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "daemon"));
        await WaitUntilAsync(() => ProcFs.ReadStat(daemon) is { } s && s.ParentPid == Environment.ProcessId,
            "the daemon, whose parent shell ended with the step, is this process's child");

        Assert.Equal(OutcomeKind.Succeeded, (await Outcome(execution)).Kind);
        await File.WriteAllTextAsync(go, "\n");
        await WaitUntilAsync(() => ProcFs.ReadStat(daemon) is not { Alive: true }, "the daemon has ended");
        await ProcScanner.ScanAsync(Stopwatch.GetTimestamp());

        Assert.False(File.Exists($"/proc/{daemon.ToString(CultureInfo.InvariantCulture)}/stat"), "the daemon's zombie was not reaped");
    }

    [Fact]
    public async Task Sweep_LeavesChildrenStartedOtherwiseToTheirOwners()
    {
        using var child = System.Diagnostics.Process.Start(new ProcessStartInfo("sh", ["-c", "exit 7"]) { UseShellExecute = false })!;
        await WaitUntilAsync(() => ProcFs.ReadStat(child.Id) is not { Alive: true } || child.HasExited, "the child has ended");

        Reaper.ReapStrays(ProcFs.AllProcesses().ToList());
        await child.WaitForExitAsync().WaitAsync(Deadline.Default);

        Assert.Equal(7, child.ExitCode);
    }

    [Fact]
    public async Task StartAsync_StepThatEndsAtOnce_OwnerStillReadsHowItDied()
    {
        // A supervisor killed at once: its owner, not a sweep racing it, reaps it and says it was killed by a signal.
        var start = Shell(temp, "kill -9 $PPID");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        Reaper.ReapStrays(ProcFs.AllProcesses().ToList());

        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Contains("signal 9", outcome.Reason, StringComparison.Ordinal);
    }
}
