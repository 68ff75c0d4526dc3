using System.Collections.Concurrent;

namespace Sluice.Executors.Process;

/// <summary>One thread for the whole process that waits, with epoll, on the pidfds of every watched step process and
/// calls back when one ends (a pidfd works for processes that are not our children, adopted ones, and nothing is
/// polled); and on the timerfds of <see cref="KernelTimer"/>s, calling back when one is due. Callbacks run on this
/// thread and must be short: they complete a task or send a signal.</summary>
internal sealed unsafe class FdWatcher
{
    private static readonly Lazy<FdWatcher> SharedInstance = new(() => new FdWatcher());

    private readonly int epfd;
    private readonly ConcurrentDictionary<long, Action> callbacks = new();
    private long nextId;

    private FdWatcher()
    {
        epfd = Native.epoll_create1(Native.O_CLOEXEC);
        if (epfd < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed: {Native.Describe(Native.LastError)}");
        }
        var thread = new Thread(Loop) { IsBackground = true, Name = "sluice-fd-watcher" };
        thread.Start();
    }

    public static FdWatcher Shared => SharedInstance.Value;

    /// <summary>Calls <paramref name="onExit"/> once, on the watcher thread, when the process behind
    /// <paramref name="pidfd"/> has ended (at once if it already has), or when the timerfd is due. The caller keeps
    /// owning the fd.</summary>
    public long Add(int pidfd, Action onExit)
    {
        var id = Interlocked.Increment(ref nextId);
        callbacks[id] = onExit;
        var ev = stackalloc byte[16];
        *(uint*)ev = Native.EPOLLIN | Native.EPOLLONESHOT;
        *(long*)(ev + Native.EpollDataOffset) = id;
        if (Native.epoll_ctl(epfd, Native.EPOLL_CTL_ADD, pidfd, ev) != 0)
        {
            var errno = Native.LastError;
            callbacks.TryRemove(id, out _);
            throw new InvalidOperationException($"epoll_ctl(ADD) failed: {Native.Describe(errno)}");
        }
        return id;
    }

    /// <summary>Stops watching. True if the callback has not run and now never will; false if it ran or is running.
    /// Must be called before the pidfd is closed.</summary>
    public bool Remove(long id, int pidfd)
    {
        if (!callbacks.TryRemove(id, out _))
        {
            return false;
        }
        Native.epoll_ctl(epfd, Native.EPOLL_CTL_DEL, pidfd, null);
        return true;
    }

    private void Loop()
    {
        const int max = 64;
        var events = stackalloc byte[max * Native.EpollEventSize];
        while (true)
        {
            var n = Native.epoll_wait(epfd, events, max, -1);
            if (n < 0)
            {
                if (Native.LastError == Native.EINTR)
                {
                    continue;
                }
                // EBADF/EINVAL/EFAULT cannot happen with a valid epoll fd; retrying would spin.
                return;
            }
            for (var i = 0; i < n; i++)
            {
                var id = *(long*)(events + (i * Native.EpollEventSize) + Native.EpollDataOffset);
                // One-shot registrations stay disabled in the set until their owner closes the pidfd.
                if (callbacks.TryRemove(id, out var callback))
                {
                    try
                    {
                        callback();
                    }
                    catch (Exception)
                    {
                        // A callback must not take the watcher down; callbacks complete their own tasks.
                    }
                }
            }
        }
    }
}
