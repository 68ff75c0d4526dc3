namespace Sluice.Executors.Process;

/// <summary>A one-shot timer that the kernel fires to the microsecond (a timerfd on CLOCK_MONOTONIC), its callback run on
/// the <see cref="FdWatcher"/>'s thread, not the thread pool. For the end of a stop's grace: .NET's timers count time
/// in the coarse clock's ticks (4 ms on this kind of kernel) and fire on a pool thread, so they fire up to a tick early
/// (the grace is then re-armed for what is left) or late, and later still while the pool is busy with the same stop's
/// work; a grace of 1 s ended 0.2-4 ms late with them. The callback must be short (it sends a signal).
/// Should the kernel refuse a timer (out of file descriptors or epoll watches), that arming falls back to a .NET timer:
/// a little late is better than never.</summary>
internal sealed unsafe class KernelTimer : ITimer
{
    private readonly Lock gate = new();
    private readonly TimerCallback callback;
    private readonly object? state;
    private readonly bool kernel;
    private int fd = -1;
    private long watchId;
    private ITimer? fallback;

    /// <summary>Stands for the current arming; a callback of an earlier one sees that it is not.</summary>
    private object? arming;

    private bool disposed;

    private KernelTimer(TimerCallback callback, object? state, bool kernel)
    {
        this.callback = callback;
        this.state = state;
        this.kernel = kernel;
    }

    /// <summary>A one-shot timer due after <paramref name="dueTime"/>: a kernel timer when <paramref name="time"/> is the
    /// system's clock (the kernel's monotonic clock is the one it reads), else (a test's clock) one of
    /// <paramref name="time"/>'s own. <paramref name="kernel"/> false: always the fallback (for its tests).</summary>
    public static ITimer Create(TimeProvider time, TimerCallback callback, object? state, TimeSpan dueTime, bool kernel = true)
    {
        if (time != TimeProvider.System)
        {
            return time.CreateTimer(callback, state, dueTime, Timeout.InfiniteTimeSpan);
        }
        var timer = new KernelTimer(callback, state, kernel);
        timer.Change(dueTime, Timeout.InfiniteTimeSpan);
        return timer;
    }

    /// <summary>True when the current arming is the kernel's (false when disarmed or fallen back).</summary>
    public bool InKernel
    {
        get
        {
            lock (gate)
            {
                return fd >= 0;
            }
        }
    }

    /// <summary>Re-arms the timer (one-shot: <paramref name="period"/> must be infinite); an infinite due time disarms it.
    /// False once disposed. As with .NET's timers, a callback already under way may still finish.</summary>
    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        if (period != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(period), "a kernel timer is one-shot");
        }
        if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(dueTime), "a due time is zero or more, or infinite");
        }
        lock (gate)
        {
            if (disposed)
            {
                return false;
            }
            DisarmLocked();
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return true;
            }
            var current = new object();
            // Set first: a timer due at once may call back before it is registered (and then waits for this lock).
            arming = current;
            if (!kernel || !TryArmKernelLocked(dueTime, current))
            {
                fallback = TimeProvider.System.CreateTimer(static s =>
                {
                    var (timer, which) = ((KernelTimer, object))s!;
                    timer.Fire(which);
                }, (this, current), dueTime, Timeout.InfiniteTimeSpan);
            }
            return true;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            DisarmLocked();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private bool TryArmKernelLocked(TimeSpan dueTime, object current)
    {
        // A fresh timerfd for each arming: a fired one-shot fd stays in the epoll set, disabled, until it is closed.
        var created = Native.timerfd_create(Native.CLOCK_MONOTONIC, Native.TFD_CLOEXEC | Native.TFD_NONBLOCK);
        if (created < 0)
        {
            return false;
        }
        // A zero it_value disarms a timerfd: a due time of zero is a nanosecond.
        var ns = Math.Max(1, dueTime.Ticks * 100);
        var spec = stackalloc long[4];
        spec[0] = 0;
        spec[1] = 0;
        spec[2] = ns / 1_000_000_000;
        spec[3] = ns % 1_000_000_000;
        if (Native.timerfd_settime(created, 0, spec, null) != 0)
        {
            Native.close(created);
            return false;
        }
        try
        {
            watchId = FdWatcher.Shared.Add(created, () => Fire(current));
        }
        catch (InvalidOperationException)
        {
            Native.close(created);
            return false;
        }
        fd = created;
        return true;
    }

    private void DisarmLocked()
    {
        arming = null;
        fallback?.Dispose();
        fallback = null;
        if (fd >= 0)
        {
            // A callback under way now may still run (as with .NET's timers); one that has not begun sees it is not current.
            FdWatcher.Shared.Remove(watchId, fd);
            Native.close(fd);
            fd = -1;
            watchId = 0;
        }
    }

    private void Fire(object which)
    {
        lock (gate)
        {
            if (disposed || which != arming)
            {
                return;
            }
        }
        callback(state);
    }
}
