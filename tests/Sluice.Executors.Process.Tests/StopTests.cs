using System.Diagnostics;
using Sluice.Core.Definitions;
using Sluice.Core.Execution;
using Sluice.TestKit;
using static Sluice.Executors.Process.Tests.StepHarness;

namespace Sluice.Executors.Process.Tests;

public sealed class StopTests : IDisposable
{
    private readonly TempDirectory temp = new("sluice-stop");
    private readonly ProcessExecutor executor = new(TimeProvider.System);

    public void Dispose()
    {
        Posix.KillStepsUnder(temp.Path);
        temp.Dispose();
    }

    [Fact]
    public async Task RequestStop_GraceZero_KillsTheProcessAndReportsStopped()
    {
        var start = Start(temp, "sleep", ["600"]);
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var leader = execution.Process!.Pid;
        await WaitForPidAsync(Path.Combine(start.Directory, "pid"));

        var clock = Stopwatch.StartNew();
        execution.RequestStop(TimeSpan.Zero);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.False(IsAlive(leader));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stop took {clock.Elapsed}");
    }

    [Fact]
    public async Task RequestStop_CommandIgnoresSigterm_KilledAfterGrace()
    {
        var start = Shell(temp, "trap '' TERM; echo $$ > \"$SLUICE_OUTPUTS/shell\"; sleep 600 & echo $! > \"$SLUICE_OUTPUTS/sleep\"; wait");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        // Only once the trap is in place does the step ignore SIGTERM.
        var sleeper = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "sleep"));
        var shell = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "shell"));
        var grace = TimeSpan.FromSeconds(1);

        var clock = Stopwatch.StartNew();
        execution.RequestStop(grace);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.True(clock.Elapsed >= grace, $"completed after {clock.Elapsed}, before the grace period ended");
        Assert.False(IsAlive(shell));
        Assert.False(IsAlive(sleeper));
    }

    [Fact]
    public async Task RequestStop_TimerFiresEarly_GraceStillHonoured()
    {
        // Real timers tick at millisecond granularity and can fire before their due time; this clock's
        // timers fire at a tenth of their due time, so only a re-check against the clock keeps the grace whole.
        var early = new EarlyTimers();
        var hasty = new ProcessExecutor(early);
        var start = Shell(temp, "trap '' TERM; echo ready > \"$SLUICE_OUTPUTS/ready\"; sleep 600");
        await using var execution = await hasty.StartAsync(start, CancellationToken.None);
        await WaitForFileAsync(Path.Combine(start.Directory, "outputs", "ready"));
        var grace = TimeSpan.FromSeconds(1);

        var clock = Stopwatch.StartNew();
        execution.RequestStop(grace);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.True(clock.Elapsed >= grace, $"killed after {clock.Elapsed} (timer fired {early.Fired} times), before the {grace} grace ended");
    }

    private sealed class EarlyTimers : TimeProvider
    {
        private int fired;
        public int Fired => Volatile.Read(ref fired);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            return new Early(this, callback, state, dueTime);
        }

        private sealed class Early : ITimer
        {
            private readonly ITimer inner;

            public Early(EarlyTimers owner, TimerCallback callback, object? state, TimeSpan due)
            {
                inner = System.CreateTimer(s => { Interlocked.Increment(ref owner.fired); callback(s); }, state, Soon(due), Timeout.InfiniteTimeSpan);
            }

            private static TimeSpan Soon(TimeSpan due) => due == Timeout.InfiniteTimeSpan ? due : due / 10;

            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(Soon(dueTime), Timeout.InfiniteTimeSpan);

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    [Fact]
    public async Task RequestStop_ShorterGraceLater_ShortensTheWait()
    {
        var start = Shell(temp, "trap '' TERM; echo ready > \"$SLUICE_OUTPUTS/ready\"; sleep 600");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        await WaitForFileAsync(Path.Combine(start.Directory, "outputs", "ready"));

        execution.RequestStop(TimeSpan.FromHours(1));
        execution.RequestStop(TimeSpan.FromHours(2));
        Assert.False(execution.Completion.IsCompleted);
        execution.RequestStop(TimeSpan.FromMilliseconds(200));
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
    }

    [Fact]
    public async Task RequestStop_GracePeriod_IsMeasuredOnTheInjectedClock()
    {
        var clock = new ManualTime();
        var manual = new ProcessExecutor(clock);
        var start = Shell(temp, "trap '' TERM; echo ready > \"$SLUICE_OUTPUTS/ready\"; sleep 600");
        await using var execution = await manual.StartAsync(start, CancellationToken.None);
        await WaitForFileAsync(Path.Combine(start.Directory, "outputs", "ready"));

        execution.RequestStop(TimeSpan.FromMinutes(10));
        clock.Advance(TimeSpan.FromMinutes(9));
        execution.RequestStop(TimeSpan.FromMinutes(5)); // ends at 14 min: later than the 10 already set, so ignored
        Assert.False(execution.Completion.IsCompleted);

        clock.Advance(TimeSpan.FromMinutes(1));
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.Equal(0, clock.ActiveTimers);
    }

    [Fact]
    public async Task RequestStop_WhileTheGraceRuns_NothingElseFallsDueBeforeTheKill()
    {
        // Once SIGTERM has ended the supervisor, the step's shell and its child (both ignoring it) are watched until they
        // are gone, with a look at the group now and then as a safety net. A look due during the grace would land on the
        // kill's moment with a 1 s grace and compete with it (a /proc scan per step); it is cast past the kill instead.
        var clock = new ManualTime();
        var manual = new ProcessExecutor(clock);
        var start = Shell(temp, "trap '' TERM; sleep 600 & echo ready > \"$SLUICE_OUTPUTS/ready\"; wait");
        await using var execution = await manual.StartAsync(start, CancellationToken.None);
        await WaitForFileAsync(Path.Combine(start.Directory, "outputs", "ready"));
        var grace = TimeSpan.FromMinutes(10);
        var killAt = clock.GetUtcNow() + grace;

        execution.RequestStop(grace);

        // The grace timer, and the watch of the members left once the supervisor has gone.
        Assert.True(await Posix.EventuallyAsync(() => clock.DueTimes.Count >= 2, TimeSpan.FromSeconds(10)),
            $"due: {string.Join(", ", clock.DueTimes)}");
        Assert.All(clock.DueTimes, due => Assert.True(due >= killAt, $"{due:O} falls due before the kill at {killAt:O}"));
        clock.Advance(grace);
        var outcome = await Outcome(execution);
        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
    }

    [Fact]
    public async Task RequestStop_StepWithGrandchild_LeavesNoProcessAlive()
    {
        var start = Shell(temp, """
            echo $$ > "$SLUICE_OUTPUTS/child"
            sh -c 'sleep 600 & echo $! > "$SLUICE_OUTPUTS/grandchild"; wait' &
            wait
            """);
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var child = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "child"));
        var grandchild = await WaitForPidAsync(Path.Combine(start.Directory, "outputs", "grandchild"));
        Assert.True(IsAlive(grandchild));

        execution.RequestStop(TimeSpan.FromSeconds(5));
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.False(IsAlive(execution.Process!.Pid));
        Assert.False(IsAlive(child));
        Assert.False(IsAlive(grandchild));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5000)]
    public async Task RequestStop_ImmediatelyAfterStart_Stops(int graceMs)
    {
        var start = Shell(temp, "sleep 600 & sleep 600");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        execution.RequestStop(TimeSpan.FromMilliseconds(graceMs));

        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Stopped, outcome.Kind);
        Assert.False(IsAlive(execution.Process!.Pid));
    }

    [Fact]
    public async Task RequestStop_AfterCompletion_KeepsTheOutcome()
    {
        var start = Shell(temp, "echo 3 > \"$SLUICE_OUTPUTS/n\"", [new("n", ParamType.Integer)]);
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        execution.RequestStop(TimeSpan.Zero);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Same(outcome, await Outcome(execution));
    }

    [Fact]
    public async Task RequestStop_ManyGroupsAtOnce_AllEnd()
    {
        var executions = new List<IStepExecution>();
        for (var i = 0; i < 8; i++)
        {
            var start = Start(temp, "sleep", ["600"], attemptDir: $"attempt-{i}");
            executions.Add(await executor.StartAsync(start, CancellationToken.None));
        }

        foreach (var e in executions)
        {
            e.RequestStop(TimeSpan.Zero);
        }
        var outcomes = await Task.WhenAll(executions.Select(Outcome));

        Assert.All(outcomes, o => Assert.Equal(OutcomeKind.Stopped, o.Kind));
        Assert.All(executions, e => Assert.False(IsAlive(e.Process!.Pid)));
        foreach (var e in executions)
        {
            await e.DisposeAsync();
        }
    }

    [Fact]
    public async Task DisposeAsync_RunningStep_LeavesTheProcessAlive()
    {
        var start = Start(temp, "sleep", ["600"]);
        var execution = await executor.StartAsync(start, CancellationToken.None);
        var handle = execution.Process!;

        await execution.DisposeAsync();
        execution.RequestStop(TimeSpan.Zero);

        Assert.True(IsAlive(handle.Pid));
        Assert.False(execution.Completion.IsCompleted);
        Assert.Equal(0, Native.kill(-handle.Pid, Native.SIGKILL));
    }
}
