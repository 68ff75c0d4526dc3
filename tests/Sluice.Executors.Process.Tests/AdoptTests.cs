using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.TestKit;
using static Sluice.Executors.Process.Tests.StepHarness;

namespace Sluice.Executors.Process.Tests;

/// <summary>A server restart is simulated by disposing the execution (the node shutting down) and adopting the step with a
/// fresh executor from what the store would hold.</summary>
public sealed class AdoptTests : IDisposable
{
    private readonly TempDirectory temp = new("sluice-adopt");

    public void Dispose()
    {
        Posix.KillStepsUnder(temp.Path);
        temp.Dispose();
    }

    private static ProcessExecutor NewServer() => new(TimeProvider.System);

    [Fact]
    public async Task AdoptAsync_StepStillRunning_CompletesWithItsOutcome()
    {
        var start = Shell(temp, """
            while [ ! -e "$SLUICE_STEP_DIR/go" ]; do sleep 0.05; done
            echo 7 > "$SLUICE_OUTPUTS/n"
            """, [new("n", ParamType.Integer)]);
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var record = Record(start, first.Process);
        await first.DisposeAsync();
        Assert.True(IsAlive(record.Process!.Pid));

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        Assert.Equal(record.Process, adopted.Process);
        await File.WriteAllTextAsync(Path.Combine(start.Directory, "go"), "");
        var outcome = await Outcome(adopted);

        Assert.True(outcome.Kind == OutcomeKind.Succeeded, outcome.Reason);
        Assert.Equal(7L, outcome.Outputs!["n"]!.GetValue<long>());
    }

    [Fact]
    public async Task KillStepsUnder_StepLeftRunningByAShutdown_IsKilledWithItsGroup()
    {
        // What the test harnesses do on dispose, so that a failed test leaves no step behind.
        var start = Shell(temp, "sleep 600 & echo $! > \"$SLUICE_OUTPUTS/bg\"; sleep 600");
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var bg = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "bg"));
        var pid = first.Process!.Pid;
        await first.DisposeAsync();
        Assert.True(IsAlive(pid));

        Posix.KillStepsUnder(temp.Path);

        Assert.True(await Posix.EventuallyAsync(() => !IsAlive(pid) && !IsAlive(bg), Deadline.Default), "the step outlived it");
    }

    [Fact]
    public async Task AdoptAsync_StepStillRunning_CanBeStopped()
    {
        var start = Shell(temp, "sleep 600 & echo $! > \"$SLUICE_OUTPUTS/bg\"; sleep 600");
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var bg = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "bg"));
        var record = Record(start, first.Process);
        await first.DisposeAsync();

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        adopted.RequestStop(TimeSpan.Zero);
        var outcome = await Outcome(adopted);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.False(IsAlive(record.Process!.Pid));
        Assert.False(IsAlive(bg));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AdoptAsync_NoRecordedProcess_FindsItThroughThePidFile(bool startedUnderTheShell)
    {
        // Under the shell: an upgrade, the old server supervised steps with the shell; the new one (native) knows them.
        var start = Start(temp, "sleep", ["600"]);
        var starter = startedUnderTheShell ? new ProcessExecutor(TimeProvider.System, nativeSupervisor: null) : NewServer();
        var first = await starter.StartAsync(start, CancellationToken.None);
        var pid = first.Process!.Pid;
        await WaitForPidAsync(Path.Combine(start.Directory, "pid"));
        await first.DisposeAsync();

        // The server died between starting the process and recording it.
        await using var adopted = await NewServer().AdoptAsync(start, Record(start, process: null), CancellationToken.None);

        Assert.Equal(first.Process, adopted.Process);
        adopted.RequestStop(TimeSpan.FromSeconds(5));
        Assert.Equal(OutcomeKind.Stopped, (await Outcome(adopted)).Kind);
        Assert.False(IsAlive(pid));
    }

    [Fact]
    public async Task AdoptAsync_ProcessVanishedWithoutExitFile_FailsAsLost()
    {
        var start = Start(temp, "sleep", ["600"]);
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var record = Record(start, first.Process);
        await WaitForPidAsync(Path.Combine(start.Directory, "pid"));
        await first.DisposeAsync();
        // Killed while the server was down (e.g. the machine rebooted): the supervisor never wrote an exit status.
        Assert.Equal(0, Native.kill(-record.Process!.Pid, Native.SIGKILL));
        await WaitUntilAsync(() => !IsAlive(record.Process.Pid), "the step is dead");

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        var outcome = await Outcome(adopted);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.StartsWith("lost:", outcome.Reason);
    }

    [Fact]
    public async Task AdoptAsync_NothingRecordedAtAll_NeverSpawnedSoStartsIt()
    {
        // The server went down between recording the step as starting and spawning it: no pid recorded, no pid file (the
        // supervisor's first act), no exit status. The attempt never ran, so adopting it runs it (kill -9 test finding).
        var start = Start(temp, "sh", ["-c", "echo ran >> \"$SLUICE_STEP_DIR/ran\""]);
        Directory.CreateDirectory(start.Directory);

        await using var adopted = await NewServer().AdoptAsync(start, Record(start, process: null), CancellationToken.None);
        var outcome = await Outcome(adopted);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(start.Directory, "ran")));
    }

    [Fact]
    public async Task AdoptAsync_SupervisorRunningButNoPidFileYet_AdoptsItInsteadOfStartingAgain()
    {
        // Spawned just before the server went down, before the supervisor wrote its pid: the step is running, so adopting
        // it must not start a second attempt.
        var start = Shell(temp, """
            echo ran >> "$SLUICE_STEP_DIR/ran"
            while [ ! -e "$SLUICE_STEP_DIR/go" ]; do sleep 0.05; done
            """);
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var pid = first.Process!.Pid;
        await WaitForFileAsync(Path.Combine(start.Directory, "ran"));
        await first.DisposeAsync();
        File.Delete(Path.Combine(start.Directory, "pid"));

        await using var adopted = await NewServer().AdoptAsync(start, Record(start, process: null), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(start.Directory, "go"), "");
        var outcome = await Outcome(adopted);

        Assert.True(outcome.Kind == OutcomeKind.Succeeded, outcome.Reason);
        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(start.Directory, "ran")));
        Assert.False(IsAlive(pid));
    }

    [Fact]
    public async Task AdoptAsync_RecordedPidNowSomeoneElses_IsNotTouched()
    {
        // A recorded pid whose start time does not match is another process that reuses the number.
        using var bystander = System.Diagnostics.Process.Start("sleep", "600");
        var start = Start(temp, "true");
        Directory.CreateDirectory(start.Directory);
        var record = Record(start, new ProcessHandle(bystander.Id, StartTime: 1));

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        var outcome = await Outcome(adopted);

        Assert.StartsWith("lost:", outcome.Reason);
        Assert.True(IsAlive(bystander.Id));
        bystander.Kill();
    }

    [Fact]
    public async Task AdoptAsync_RecordedPidNowAnotherGroupsLeader_LeavesThatGroupAlone()
    {
        // Another step's group leader now has the recorded pid (the number was reused).
        var other = Start(temp, "sleep", ["600"], attemptDir: "other-step");
        var otherServer = NewServer();
        await using var bystander = await otherServer.StartAsync(other, CancellationToken.None);
        await WaitForPidAsync(Path.Combine(other.Directory, "pid"));
        var start = Start(temp, "true");
        Directory.CreateDirectory(start.Directory);
        var record = Record(start, new ProcessHandle(bystander.Process!.Pid, StartTime: 1));

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        var outcome = await Outcome(adopted);

        Assert.StartsWith("lost:", outcome.Reason);
        Assert.True(IsAlive(bystander.Process.Pid));
        Assert.False(bystander.Completion.IsCompleted);
        bystander.RequestStop(TimeSpan.Zero);
        Assert.Equal(OutcomeKind.Stopped, (await Outcome(bystander)).Kind);
    }

    [Theory]
    [InlineData("echo 5 > \"$SLUICE_OUTPUTS/n\"", OutcomeKind.Succeeded, "")]
    [InlineData("echo 5 > \"$SLUICE_OUTPUTS/n\"; echo disk full >&2; exit 4", OutcomeKind.Failed, "exited with code 4: disk full")]
    public async Task AdoptAsync_ProcessExitedWithExitFile_TakesTheRecordedOutcome(string script, OutcomeKind kind, string reason)
    {
        var start = Shell(temp, script, [new("n", ParamType.Integer)]);
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var record = Record(start, first.Process);
        // It ended while "the server was down": nobody watched it end.
        await first.DisposeAsync();
        await WaitForFileAsync(Path.Combine(start.Directory, "exit"));
        await WaitUntilAsync(() => !IsAlive(record.Process!.Pid), "the step has ended");

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        var outcome = await Outcome(adopted);

        Assert.Equal(kind, outcome.Kind);
        if (kind == OutcomeKind.Succeeded)
        {
            Assert.Equal(5L, outcome.Outputs!["n"]!.GetValue<long>());
        }
        else
        {
            Assert.Equal(reason, outcome.Reason);
        }
    }

    [Fact]
    public async Task AdoptAsync_StoppingStepWhoseSupervisorDiedOfSigterm_IsStoppedAndLeftoversKilled()
    {
        // Stop with a grace period, then the server crashes: SIGTERM ended the supervisor (no exit status), the command
        // ignores it and lives on.
        var start = Shell(temp, "trap '' TERM; echo $$ > \"$SLUICE_OUTPUTS/child\"; sleep 600");
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var child = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "child"));
        var record = Record(start, first.Process, StepState.Stopping);
        first.RequestStop(TimeSpan.FromMinutes(10));
        await WaitUntilAsync(() => !IsAlive(record.Process!.Pid), "SIGTERM has ended the supervisor");
        await first.DisposeAsync();
        Assert.True(IsAlive(child));

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        adopted.RequestStop(TimeSpan.FromMinutes(10));
        var outcome = await Outcome(adopted);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.False(IsAlive(child));
    }

    [Fact]
    public async Task AdoptAsync_StoppingStepThatThenEndsOnItsOwn_IsStopped()
    {
        var start = Shell(temp, "while [ ! -e \"$SLUICE_STEP_DIR/go\" ]; do sleep 0.05; done");
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var record = Record(start, first.Process, StepState.Stopping);
        await first.DisposeAsync();

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(start.Directory, "go"), "");

        Assert.Equal(OutcomeKind.Stopped, (await Outcome(adopted)).Kind);
    }

    [Fact]
    public async Task AdoptAsync_SupervisorGoneButChildrenLeft_KillsThem()
    {
        var start = Shell(temp, "sleep 600 & echo $! > \"$SLUICE_OUTPUTS/bg\"; echo $$ > \"$SLUICE_OUTPUTS/child\"; wait");
        var first = await NewServer().StartAsync(start, CancellationToken.None);
        var record = Record(start, first.Process);
        var bg = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "bg"));
        var child = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "child"));
        await first.DisposeAsync();
        // Only the supervisor dies; the step's processes live on in its group.
        Assert.Equal(0, Native.kill(record.Process!.Pid, Native.SIGKILL));
        await WaitUntilAsync(() => !IsAlive(record.Process.Pid), "the supervisor is dead");
        Assert.True(IsAlive(bg));

        await using var adopted = await NewServer().AdoptAsync(start, record, CancellationToken.None);
        var outcome = await Outcome(adopted);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.StartsWith("lost:", outcome.Reason);
        Assert.False(IsAlive(bg));
        Assert.False(IsAlive(child));
    }
}
