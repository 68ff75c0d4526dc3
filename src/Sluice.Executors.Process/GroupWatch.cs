using System.Diagnostics;

namespace Sluice.Executors.Process;

/// <summary>Scans of /proc shared by every execution: a scan costs ~10 µs per process on the machine, and several
/// groups stopped together need one scan, not one each.</summary>
internal static class ProcScanner
{
    private static readonly Lock Gate = new();
    private static Snapshot? last;
    private static Task<Snapshot>? inFlight;
    private static long inFlightStart;

    /// <summary>Every process, by process group, as seen by a scan that began at <see cref="StartedAt"/> or later.</summary>
    public sealed record Snapshot(long StartedAt, ILookup<int, ProcStat> ByGroup);

    /// <summary>A snapshot from a scan that began no earlier than <paramref name="notBefore"/> (a Stopwatch timestamp):
    /// a finished or running one when it qualifies, else a new one made on the caller's thread.</summary>
    public static Task<Snapshot> ScanAsync(long notBefore)
    {
        TaskCompletionSource<Snapshot> mine;
        long started;
        lock (Gate)
        {
            if (last is { } l && l.StartedAt >= notBefore)
            {
                return Task.FromResult(l);
            }
            if (inFlight is { } running && inFlightStart >= notBefore)
            {
                return running;
            }
            mine = new TaskCompletionSource<Snapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
            started = Stopwatch.GetTimestamp();
            inFlight = mine.Task;
            inFlightStart = started;
        }
        try
        {
            var all = ProcFs.AllProcesses().ToList();
            Reaper.ReapStrays(all);
            var snapshot = new Snapshot(started, all.ToLookup(p => p.ProcessGroup));
            lock (Gate)
            {
                if (last is null || last.StartedAt < started)
                {
                    last = snapshot;
                }
                if (inFlight == mine.Task)
                {
                    inFlight = null;
                }
            }
            mine.SetResult(snapshot);
        }
        catch (Exception e)
        {
            lock (Gate)
            {
                if (inFlight == mine.Task)
                {
                    inFlight = null;
                }
            }
            mine.SetException(e);
        }
        return mine.Task;
    }
}

/// <summary>Waits, through pidfds and the shared watcher, until every process of a set has ended.</summary>
internal sealed class ExitSet : IDisposable
{
    private readonly Lock gate = new();
    private readonly HashSet<Entry> watching = [];
    private readonly TaskCompletionSource allGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool disposed;

    /// <summary>Starts watching <paramref name="members"/> (as seen by a scan). Those already gone count as ended.</summary>
    /// <param name="unwatchable">Set when a live member could not be watched: the caller must poll instead.</param>
    public ExitSet(IEnumerable<ProcStat> members, out bool unwatchable)
    {
        unwatchable = false;
        lock (gate)
        {
            foreach (var m in members)
            {
                if (!StillAlive(m))
                {
                    continue;
                }
                var fd = Native.pidfd_open(m.Pid, 0);
                if (fd < 0)
                {
                    unwatchable |= Native.LastError != Native.ESRCH;
                    continue;
                }
                // Checked again once opened: if it still passes, the pidfd is that very member.
                if (!StillAlive(m))
                {
                    Native.close(fd);
                    continue;
                }
                var entry = new Entry(fd);
                watching.Add(entry);
                try
                {
                    entry.Id = FdWatcher.Shared.Add(fd, () => OnExit(entry));
                }
                catch (InvalidOperationException)
                {
                    // epoll is out of room (max_user_watches): fall back to polling this time.
                    watching.Remove(entry);
                    Native.close(fd);
                    unwatchable = true;
                }
            }
            if (watching.Count == 0)
            {
                allGone.TrySetResult();
            }
        }
    }

    public Task AllGone => allGone.Task;

    /// <summary>Same process as the scan saw (a pid may have been reused since), and not a zombie.</summary>
    private static bool StillAlive(ProcStat m) => ProcFs.ReadStat(m.Pid) is { } now && now.StartTime == m.StartTime && now.Alive;

    private void OnExit(Entry entry)
    {
        // The watcher has dropped the registration: this callback owns the pidfd now.
        Native.close(entry.Fd);
        lock (gate)
        {
            watching.Remove(entry);
            if (watching.Count == 0 && !disposed)
            {
                allGone.TrySetResult();
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            foreach (var entry in watching)
            {
                if (FdWatcher.Shared.Remove(entry.Id, entry.Fd))
                {
                    Native.close(entry.Fd);
                }
            }
            watching.Clear();
        }
    }

    private sealed class Entry(int fd)
    {
        public int Fd { get; } = fd;

        public long Id { get; set; }
    }
}
