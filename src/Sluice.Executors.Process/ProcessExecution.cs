using System.Diagnostics;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;

namespace Sluice.Executors.Process;

/// <summary>One attempt of a process step: its supervisor is the leader of its own process group (pgid = pid).
/// The leader's end is learnt from its pidfd; the attempt ends once no live process of the group remains.</summary>
internal sealed class ProcessExecution : IStepExecution
{
    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>How often the group is looked at again even though no member's end was signalled. While a grace runs
    /// the net is cast past its end: the SIGKILL wakes the wait anyway, and a look that fell due at the same moment would
    /// compete with the kill for the machine (a /proc scan per step, each a millisecond or more on the thread pool that
    /// also fires the grace timers: with a 1 s grace this delayed the kills of a run's 8 steps by 4-8 ms).</summary>
    private static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(1);

    /// <summary>How long, after SIGKILL, the members already watched are given to die before the group is looked at again
    /// (they die in well under a millisecond; this only bounds the wait).</summary>
    private static readonly TimeSpan KillSettle = TimeSpan.FromMilliseconds(100);

    public const string NoExitStatus = "the step's process ended without recording an exit status (killed by a signal?)";

    private readonly Lock gate = new();
    private readonly TimeProvider time;
    private readonly string directory;
    private readonly StepPlan plan;
    private readonly int pgid;
    private readonly string noExitReason;
    private readonly TaskCompletionSource<LeaderEnd> leaderExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Set as the last thing RunAsync does, on a pool thread and holding no lock: its continuations (the engine's, which
    // only posts the outcome to the run's writer) may run right there instead of costing a hop to another pool thread.
    private readonly TaskCompletionSource<StepOutcome> outcome = new();

    /// <summary>A stop was requested before the server restarted (the step was Stopping when adopted).</summary>
    private readonly bool stoppedEarlier;

    private int pidfd = -1;
    private long watchId;
    private bool stopRequested;
    private bool stoppedBeforeExit;
    private bool killSent;
    private bool leaderGone;
    private bool groupGone;
    private bool disposed;
    private DateTimeOffset killAt;

    /// <summary>When SIGKILL, and the latest signal of any kind, was sent to the group (Stopwatch timestamps).</summary>
    private long killTimestamp;

    private long signalTimestamp;
    private ITimer? graceTimer;

    private TaskCompletionSource poke = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Watches a live leader. Takes ownership of <paramref name="leaderPidfd"/>. <paramref name="stoppedEarlier"/>:
    /// adopted after a restart while a stop was under way, so that its end counts as stopped.</summary>
    public ProcessExecution(TimeProvider time, string directory, StepPlan plan, ProcessHandle handle, int leaderPidfd,
        bool stoppedEarlier = false)
    {
        this.time = time;
        this.stoppedEarlier = stoppedEarlier;
        this.directory = directory;
        this.plan = plan;
        pgid = handle.Pid;
        Process = handle;
        noExitReason = NoExitStatus;
        pidfd = leaderPidfd;
        lock (gate)
        {
            // OnLeaderExited may run on the watcher thread before Add returns: it then waits here, so watchId is set first.
            watchId = FdWatcher.Shared.Add(leaderPidfd, OnLeaderExited);
        }
        _ = RunAsync();
    }

    /// <summary>An adopted attempt whose leader is already gone; <paramref name="killLeftovers"/> when the group's
    /// remaining members are known to be this attempt's.</summary>
    public ProcessExecution(TimeProvider time, string directory, StepPlan plan, ProcessHandle? handle, int pgid,
        bool killLeftovers, bool stoppedEarlier = false, string noExitReason = StepFiles.LostReason)
    {
        this.time = time;
        this.stoppedEarlier = stoppedEarlier;
        stoppedBeforeExit = stoppedEarlier;
        this.directory = directory;
        this.plan = plan;
        this.pgid = pgid;
        Process = handle;
        this.noExitReason = noExitReason;
        leaderGone = true;
        if (killLeftovers)
        {
            killSent = true;
            Native.kill(-pgid, Native.SIGKILL);
            killTimestamp = signalTimestamp = Stopwatch.GetTimestamp();
        }
        else
        {
            groupGone = true;
        }
        leaderExited.SetResult(default);
        _ = RunAsync();
    }

    public ProcessHandle? Process { get; }

    public Task<StepOutcome> Completion => outcome.Task;

    public void RequestStop(TimeSpan grace)
    {
        if (grace < TimeSpan.Zero)
        {
            grace = TimeSpan.Zero;
        }
        lock (gate)
        {
            if (disposed || groupGone || outcome.Task.IsCompleted)
            {
                return;
            }
            if (killSent)
            {
                // Already being killed (a grace ran out, or the step ended on its own): nothing to shorten.
                stopRequested = true;
                return;
            }
            var at = time.GetUtcNow() + grace;
            if (stopRequested && at >= killAt)
            {
                return;
            }
            var first = !stopRequested;
            stopRequested = true;
            killAt = at;
            if (grace == TimeSpan.Zero)
            {
                graceTimer?.Dispose();
                graceTimer = null;
                killSent = true;
                SignalLocked(Native.SIGKILL);
                return;
            }
            if (first)
            {
                SignalLocked(Native.SIGTERM);
            }
            if (graceTimer is null)
            {
                graceTimer = KernelTimer.Create(time, static s => ((ProcessExecution)s!).OnGraceElapsed(), this, grace);
            }
            else
            {
                graceTimer.Change(grace, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Stops watching; the processes are left running so that the next server can adopt them.
    /// <see cref="Completion"/> stays pending unless it had already completed: the attempt has not ended.</summary>
    public ValueTask DisposeAsync()
    {
        TaskCompletionSource toPoke;
        lock (gate)
        {
            if (disposed)
            {
                return ValueTask.CompletedTask;
            }
            disposed = true;
            graceTimer?.Dispose();
            graceTimer = null;
            if (pidfd >= 0 && FdWatcher.Shared.Remove(watchId, pidfd))
            {
                Native.close(pidfd);
                pidfd = -1;
                // Left running for the next server; should it end while this one still runs, the sweep reaps it.
                Reaper.Release(pgid);
            }
            // Otherwise the watcher is calling OnLeaderExited, which closes the pidfd when it sees disposed.
            toPoke = poke;
        }
        toPoke.TrySetResult();
        return ValueTask.CompletedTask;
    }

    private void OnGraceElapsed()
    {
        lock (gate)
        {
            if (disposed || groupGone || killSent)
            {
                return;
            }
            // The grace is a promise to the step, so it is never cut short: a timer that fired before the clock says
            // it is over is re-armed for what is left. A kernel timer is never early on its own clock (the wall clock
            // may be slewed a little against it); .NET's tick at millisecond granularity and may be.
            var left = killAt - time.GetUtcNow();
            if (left > TimeSpan.Zero)
            {
                var floor = graceTimer is KernelTimer ? TimeSpan.Zero : TimeSpan.FromMilliseconds(1);
                graceTimer?.Change(left < floor ? floor : left, Timeout.InfiniteTimeSpan);
                return;
            }
            killSent = true;
            SignalLocked(Native.SIGKILL);
        }
    }

    /// <summary>Runs on the watcher thread when the leader has ended.</summary>
    private void OnLeaderExited()
    {
        LeaderEnd end;
        lock (gate)
        {
            if (disposed)
            {
                ClosePidfdLocked();
                return;
            }
            stoppedBeforeExit = stopRequested || stoppedEarlier;
            if (!stopRequested && !killSent)
            {
                // The step is over: background children must not outlive it. Our own leader is still an unreaped
                // zombie here, which keeps its pid (the group id) from being reused while this signal is sent.
                killSent = true;
                SignalLocked(Native.SIGKILL);
            }
            end = ReapLocked();
            ClosePidfdLocked();
            leaderGone = true;
        }
        leaderExited.TrySetResult(end);
    }

    /// <summary>Reaps the leader if it is our child (started by this server), and says how it ended. An adopted leader is
    /// not our child (ECHILD): its parent or pid 1 reaps it, and nothing is known of its end here.</summary>
    private LeaderEnd ReapLocked() => TryReap(pidfd);

    /// <summary>Reaps the process behind <paramref name="pidfd"/> if it is our child and has ended, and says how it ended:
    /// the status it exited with (a supervisor exits with its step's), or why it recorded none (killed by a signal).</summary>
    internal static unsafe LeaderEnd TryReap(int pidfd)
    {
        var info = stackalloc byte[Native.SigInfoSize];
        new Span<byte>(info, Native.SigInfoSize).Clear();
        while (Native.waitid(Native.P_PIDFD, pidfd, info, Native.WEXITED | Native.WNOHANG) != 0)
        {
            if (Native.LastError != Native.EINTR)
            {
                return default;
            }
        }
        var code = *(int*)(info + 8);
        var status = *(int*)(info + 24);
        var pid = *(int*)(info + 16);
        if (pid != 0)
        {
            Reaper.Release(pid);
        }
        if (pid == 0)
        {
            return default;
        }
        if (code == Native.CLD_EXITED)
        {
            return new LeaderEnd(null, status);
        }
        return new LeaderEnd($"the step's supervisor was killed by signal {status} and recorded no exit status", null);
    }

    /// <summary>How a step's supervisor ended, when this server reaped it: the status it exited with, or why it left none.</summary>
    internal readonly record struct LeaderEnd(string? Death, int? ExitStatus);

    private void ClosePidfdLocked()
    {
        if (pidfd >= 0)
        {
            Native.close(pidfd);
            pidfd = -1;
        }
    }

    private unsafe void SignalLocked(int sig)
    {
        if (groupGone)
        {
            return;
        }
        if (pidfd >= 0 && !leaderGone)
        {
            // The leader through its pidfd: exact even if it were not yet a group leader, and immune to pid reuse.
            Native.pidfd_send_signal(pidfd, sig, null, 0);
        }
        Native.kill(-pgid, sig);
        signalTimestamp = Stopwatch.GetTimestamp();
        if (sig == Native.SIGKILL)
        {
            killTimestamp = signalTimestamp;
        }
        poke.TrySetResult();
    }

    private async Task RunAsync()
    {
        try
        {
            var end = await leaderExited.Task.ConfigureAwait(false);
            if (!await WaitGroupGoneAsync().ConfigureAwait(false))
            {
                return;
            }
            bool stopped;
            lock (gate)
            {
                stopped = stoppedBeforeExit;
            }
            outcome.TrySetResult(stopped ? StepOutcome.Stopped() : StepFiles.ReadOutcome(directory, plan, end.Death ?? noExitReason, end.ExitStatus));
        }
        catch (Exception e)
        {
            outcome.TrySetException(e);
        }
    }

    /// <summary>Waits until no live process of the group remains; false if the execution was disposed first.
    /// kill(-pgid, 0) answers at once when the group is empty; it also counts zombies. Members whose parent died came
    /// back to this process (it is a subreaper, see <see cref="Reaper"/>) and are reaped first, so a zombie left is
    /// one that pid 1 must reap (an adopted step's) or a member still alive: then a /proc scan (shared with other
    /// executions) finds the live members and their pidfds say when they end. Nothing is polled, except as a safety net.</summary>
    private async Task<bool> WaitGroupGoneAsync()
    {
        var pollDelay = MinPoll;
        long resumedAt = 0;
        while (true)
        {
            Task wake;
            bool killed;
            long killedAt;
            long signalledAt;
            var safety = SafetyPoll;
            lock (gate)
            {
                if (disposed)
                {
                    return false;
                }
                if (groupGone)
                {
                    // Set up front for an adopted group that is not (or no longer) ours: never look at it.
                    return true;
                }
                if (poke.Task.IsCompleted)
                {
                    poke = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                wake = poke.Task;
                killed = killSent;
                killedAt = killTimestamp;
                signalledAt = signalTimestamp;
                if (stopRequested && !killSent && killAt - time.GetUtcNow() is var untilKill && untilKill > TimeSpan.Zero)
                {
                    safety += untilKill;
                }
            }
            if (Reaper.GroupGone(pgid))
            {
                return MarkGroupGone();
            }
            // After SIGKILL the group is closed (nothing can join it), so any scan begun after the kill shows every member
            // there will ever be. Before it, members may fork: a scan must have begun after the last signal and after
            // the members we last waited for ended (their children, if any, are then in it). Executions signalled
            // together share one scan.
            var snapshot = await ProcScanner.ScanAsync(killed ? killedAt : Math.Max(signalledAt, resumedAt)).ConfigureAwait(false);
            var live = snapshot.ByGroup[pgid].Where(m => m.Alive).ToList();
            if (live.Count == 0)
            {
                return MarkGroupGone();
            }
            using var exits = new ExitSet(live, out var unwatchable);
            using var cancelTimer = new CancellationTokenSource();
            var timer = Task.Delay(unwatchable ? pollDelay : safety, time, cancelTimer.Token);
            pollDelay = pollDelay * 2 < MaxPoll ? pollDelay * 2 : MaxPoll;
            await Task.WhenAny(exits.AllGone, wake, timer).ConfigureAwait(false);
            if (!killed && !unwatchable && !exits.AllGone.IsCompleted && KillSent())
            {
                // SIGKILL was sent meanwhile (a grace ran out): the members watched here die within moments, and their
                // pidfds say when. Looking at the group only then usually finds it empty, with no /proc scan; a member
                // forked since the last scan is still found by the look that follows.
                await Task.WhenAny(exits.AllGone, Task.Delay(KillSettle, time, cancelTimer.Token)).ConfigureAwait(false);
            }
            resumedAt = Stopwatch.GetTimestamp();
            await cancelTimer.CancelAsync().ConfigureAwait(false);
            if (killed && exits.AllGone.IsCompleted && !unwatchable)
            {
                return MarkGroupGone();
            }
        }
    }

    private bool KillSent()
    {
        lock (gate)
        {
            return killSent;
        }
    }

    private bool MarkGroupGone()
    {
        // Whatever way the group's end was learnt (an empty group, a scan with only zombies, the pidfds of the last
        // members), the zombies that came back to this process are reaped now, not at the next sweep.
        Reaper.ReapGroup(pgid);
        lock (gate)
        {
            groupGone = true;
            graceTimer?.Dispose();
            graceTimer = null;
        }
        return true;
    }
}

/// <summary>An attempt that ended before any process existed (bad inputs, missing working directory, start failure).</summary>
internal sealed class EndedExecution(StepOutcome outcome) : IStepExecution
{
    public ProcessHandle? Process => null;

    public Task<StepOutcome> Completion { get; } = Task.FromResult(outcome);

    public void RequestStop(TimeSpan grace)
    {
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
