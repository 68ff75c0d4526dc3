using System.Collections.Concurrent;

namespace Sluice.Executors.Process;

/// <summary>One thread for the whole process that waits, with epoll, on the pidfds of every watched step
/// process and calls back when one ends. A pidfd works for processes that are not our children (adopted ones),
/// and nothing is polled.</summary>
internal sealed unsafe class PidfdWatcher
{
    private static readonly Lazy<PidfdWatcher> SharedInstance = new(() => new PidfdWatcher());

    private readonly int epfd;
    private readonly ConcurrentDictionary<long, Action> callbacks = new();
    private long nextId;

    private PidfdWatcher()
    {
        epfd = Native.epoll_create1(Native.O_CLOEXEC);
        if (epfd < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed: {Native.Describe(Native.LastError)}");
        }
        var thread = new Thread(Loop) { IsBackground = true, Name = "sluice-pidfd-watcher" };
        thread.Start();
    }

    public static PidfdWatcher Shared => SharedInstance.Value;

    /// <summary>Calls <paramref name="onExit"/> once, on the watcher thread, when the process behind
    /// <paramref name="pidfd"/> has ended (at once if it already has). The caller keeps owning the pidfd.</summary>
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
