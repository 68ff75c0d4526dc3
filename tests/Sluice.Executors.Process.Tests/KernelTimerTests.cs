using System.Diagnostics;
using Sluice.TestKit;

namespace Sluice.Executors.Process.Tests;

public sealed class KernelTimerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Records when a timer fired and on which thread.</summary>
    private sealed class Probe
    {
        private readonly long started = Stopwatch.GetTimestamp();
        private readonly TaskCompletionSource<(TimeSpan At, string? Thread)> fired = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int count;

        public int Count => Volatile.Read(ref count);

        public Task<(TimeSpan At, string? Thread)> Fired => fired.Task;

        public void Fire(object? _)
        {
            Interlocked.Increment(ref count);
            fired.TrySetResult((Stopwatch.GetElapsedTime(started), Thread.CurrentThread.Name));
        }
    }

    [Fact]
    public async Task Create_SystemClock_FiresOnTheWatcherThreadNotBeforeItsDueTime()
    {
        var probe = new Probe();
        var due = TimeSpan.FromMilliseconds(30);

        using var timer = KernelTimer.Create(TimeProvider.System, probe.Fire, null, due);
        var (at, thread) = await probe.Fired.WaitAsync(Deadline);

        Assert.True(((KernelTimer)timer).InKernel);
        Assert.True(at >= due, $"fired after {at.TotalMilliseconds} ms, due after {due.TotalMilliseconds} ms");
        Assert.Equal("sluice-fd-watcher", thread);
        Assert.Equal(1, probe.Count);
    }

    [Fact]
    public async Task Create_DueNow_Fires()
    {
        var probe = new Probe();

        using var timer = KernelTimer.Create(TimeProvider.System, probe.Fire, null, TimeSpan.Zero);

        await probe.Fired.WaitAsync(Deadline);
    }

    [Fact]
    public async Task Change_ShorterDueTime_FiresAtTheNewTimeOnce()
    {
        var probe = new Probe();
        using var timer = KernelTimer.Create(TimeProvider.System, probe.Fire, null, TimeSpan.FromHours(1));

        Assert.True(timer.Change(TimeSpan.FromMilliseconds(20), Timeout.InfiniteTimeSpan));
        var (at, _) = await probe.Fired.WaitAsync(Deadline);

        Assert.True(at >= TimeSpan.FromMilliseconds(20));
        // A later timer firing shows that the first arming (an hour) left nothing behind that fires again.
        await AfterAsync(TimeSpan.FromMilliseconds(60));
        Assert.Equal(1, probe.Count);
    }

    [Fact]
    public async Task Change_AfterItFired_FiresAgain()
    {
        var first = new Probe();
        var second = new Probe();
        var which = first;
        using var timer = KernelTimer.Create(TimeProvider.System, _ => Volatile.Read(ref which).Fire(null), null, TimeSpan.Zero);
        await first.Fired.WaitAsync(Deadline);

        Volatile.Write(ref which, second);
        Assert.True(timer.Change(TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan));

        await second.Fired.WaitAsync(Deadline);
        Assert.Equal(1, first.Count);
    }

    [Fact]
    public async Task Dispose_BeforeItIsDue_ItNeverFires()
    {
        var probe = new Probe();
        var timer = KernelTimer.Create(TimeProvider.System, probe.Fire, null, TimeSpan.FromMilliseconds(20));

        timer.Dispose();
        await AfterAsync(TimeSpan.FromMilliseconds(80));

        Assert.Equal(0, probe.Count);
        Assert.False(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public async Task Change_InfiniteDueTime_Disarms()
    {
        var probe = new Probe();
        using var timer = KernelTimer.Create(TimeProvider.System, probe.Fire, null, TimeSpan.FromMilliseconds(20));

        Assert.True(timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        await AfterAsync(TimeSpan.FromMilliseconds(80));

        Assert.Equal(0, probe.Count);
    }

    [Fact]
    public void Change_WithAPeriod_IsRefused()
    {
        using var timer = KernelTimer.Create(TimeProvider.System, _ => { }, null, TimeSpan.FromHours(1));

        Assert.Throws<ArgumentOutOfRangeException>(() => timer.Change(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Fallback_ArmedWithoutTheKernel_StillFiresNotBeforeItsDueTime()
    {
        var probe = new Probe();
        var due = TimeSpan.FromMilliseconds(30);

        using var timer = KernelTimer.Create(TimeProvider.System, probe.Fire, null, due, kernel: false);
        var (at, thread) = await probe.Fired.WaitAsync(Deadline);

        Assert.False(((KernelTimer)timer).InKernel);
        Assert.True(at >= due - TimeSpan.FromMilliseconds(5), $"fired after {at.TotalMilliseconds} ms"); // .NET's timers may be a tick early
        Assert.NotEqual("sluice-fd-watcher", thread);
        Assert.True(timer.Change(TimeSpan.FromHours(1), Timeout.InfiniteTimeSpan));
        Assert.Equal(1, probe.Count);
    }

    [Fact]
    public void Create_InjectedClock_UsesThatClocksTimers()
    {
        var clock = new ManualTime();
        var probe = new Probe();

        using var timer = KernelTimer.Create(clock, probe.Fire, null, TimeSpan.FromMinutes(5));
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(0, probe.Count);
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.IsNotType<KernelTimer>(timer);
        Assert.Equal(1, probe.Count);
    }

    /// <summary>Waits until another kernel timer, armed now, has fired: anything due before it would have fired too.</summary>
    private static async Task AfterAsync(TimeSpan due)
    {
        var sentinel = new Probe();
        using var timer = KernelTimer.Create(TimeProvider.System, sentinel.Fire, null, due);
        await sentinel.Fired.WaitAsync(Deadline);
    }
}
