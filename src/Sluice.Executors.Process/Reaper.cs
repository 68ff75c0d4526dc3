using System.Collections.Concurrent;

namespace Sluice.Executors.Process;

/// <summary>Makes this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER) and reaps what comes back to it.
/// A step process whose parent dies (the processes of a step whose supervisor was killed by a stop, a background job
/// its shell left) then becomes this process's child instead of pid 1's, and is reaped here as soon as it ends. Pid 1
/// may be slow to reap, or never do it (a container whose init is not a reaper), and a zombie keeps its process
/// group alive for kill(-pgid, 0): without this, every stop had to scan /proc to tell zombies from live members.</summary>
/// <remarks>Only zombies in another session than this process's are reaped, and never one that a spawner here owns
/// (whose exit status its owner reads): children started by other means (System.Diagnostics.Process) share this
/// process's session and are left to their owners.</remarks>
internal static unsafe class Reaper
{
    /// <summary>How often zombies outside any step's process group (e.g. a step's daemon that left its session) are
    /// looked for.</summary>
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(10);

    /// <summary>Shared by spawners from posix_spawn until the child is recorded as owned (spawns run side by side), held
    /// alone by every reap here: a child that ends at once is never reaped before its owner can read its status.</summary>
    private static readonly ReaderWriterLockSlim Gate = new();
    private static readonly ConcurrentDictionary<int, byte> Owned = new();
    private static readonly Lock EnableGate = new();
    private static readonly int OwnPid = Environment.ProcessId;
    private static readonly int OwnSession = Native.getsid(0);
    private static int enabled;

    /// <summary>The periodic sweep (kept here so that it lives as long as the process).</summary>
    private static ITimer? SweepTimer { get; set; }

    /// <summary>True once this process is a subreaper.</summary>
    public static bool Enabled => Volatile.Read(ref enabled) == 1;

    /// <summary>Becomes a subreaper (once per process; idempotent) and starts the periodic sweep on <paramref name="time"/>.
    /// Where the kernel refuses, nothing changes: orphans go to pid 1 and the executor tells zombies apart by /proc.</summary>
    public static void Enable(TimeProvider time)
    {
        if (Volatile.Read(ref enabled) != 0)
        {
            return;
        }
        lock (EnableGate)
        {
            if (enabled != 0)
            {
                return;
            }
            if (Native.prctl(Native.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
            {
                Volatile.Write(ref enabled, -1);
                return;
            }
            SweepTimer = time.CreateTimer(static _ => Sweep(), null, SweepPeriod, SweepPeriod);
            Volatile.Write(ref enabled, 1);
        }
    }

    /// <summary>Starts a spawn: between this and <see cref="EndSpawn"/> no reap runs here.</summary>
    public static void BeginSpawn() => Gate.EnterReadLock();

    /// <summary>Ends a spawn; <paramref name="pid"/> (when one was started) is owned: its owner reaps it and reads its status.</summary>
    public static void EndSpawn(int? pid)
    {
        if (pid is { } p)
        {
            Owned[p] = 0;
        }
        Gate.ExitReadLock();
    }

    /// <summary>The owner has reaped <paramref name="pid"/>, or gives it up (a zombie it leaves is then the sweep's).</summary>
    public static void Release(int pid) => Owned.TryRemove(pid, out _);

    /// <summary>Reaps the ended children in process group <paramref name="pgid"/> (step processes that came back to this
    /// process), except an owned one. Cheap: a few waitid calls, no /proc.</summary>
    public static void ReapGroup(int pgid)
    {
        if (!Enabled)
        {
            return;
        }
        var info = stackalloc byte[Native.SigInfoSize];
        while (true)
        {
            new Span<byte>(info, Native.SigInfoSize).Clear();
            // Peek first (WNOWAIT): the zombie is reaped only if it is not an owner's.
            if (Native.waitid(Native.P_PGID, pgid, info, Native.WEXITED | Native.WNOHANG | Native.WNOWAIT) != 0)
            {
                if (Native.LastError == Native.EINTR)
                {
                    continue;
                }
                return;
            }
            var pid = *(int*)(info + 16);
            if (pid == 0 || !TryReapStray(pid))
            {
                return;
            }
        }
    }

    /// <summary>Whether no process of group <paramref name="pgid"/> exists any more, zombies included (its ended members
    /// that came back here are reaped first).</summary>
    public static bool GroupGone(int pgid)
    {
        ReapGroup(pgid);
        return Native.kill(-pgid, 0) != 0 && Native.LastError == Native.ESRCH;
    }

    /// <summary>Reaps the zombies among <paramref name="processes"/> (a /proc scan) that are strays of this process.</summary>
    public static void ReapStrays(IEnumerable<ProcStat> processes)
    {
        if (!Enabled)
        {
            return;
        }
        foreach (var p in processes)
        {
            if (!p.Alive && p.ParentPid == OwnPid && p.Session != OwnSession)
            {
                TryReapStray(p.Pid);
            }
        }
    }

    private static void Sweep()
    {
        try
        {
            ReapStrays(ProcFs.AllProcesses().ToList());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // /proc unreadable for a moment: the next sweep tries again.
        }
    }

    /// <summary>Reaps <paramref name="pid"/> if it is an ended child of this process outside this process's session
    /// and not owned by a spawner here.</summary>
    private static bool TryReapStray(int pid)
    {
        Gate.EnterWriteLock();
        try
        {
            if (Owned.ContainsKey(pid))
            {
                return false;
            }
            if (Native.getsid(pid) is var sid && (sid == OwnSession || sid < 0))
            {
                return false;
            }
            var info = stackalloc byte[Native.SigInfoSize];
            while (Native.waitid(Native.P_PID, pid, info, Native.WEXITED | Native.WNOHANG) != 0)
            {
                if (Native.LastError != Native.EINTR)
                {
                    return false;
                }
            }
            return *(int*)(info + 16) == pid;
        }
        finally
        {
            Gate.ExitWriteLock();
        }
    }

}
