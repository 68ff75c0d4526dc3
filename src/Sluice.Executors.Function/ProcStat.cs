using System.Globalization;

namespace Sluice.Executors.Function;

/// <summary>The few fields of /proc/PID/stat a command call needs.</summary>
internal readonly record struct ProcStat(int Pid, char State, int ProcessGroup, int Session, long StartTime)
{
    /// <summary>Not a zombie (nor dead): it can still do something.</summary>
    public bool Alive => State is not ('Z' or 'X' or 'x');

    public static ProcStat? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // The command name may hold spaces and parentheses: the fields start after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }
        var f = text[(close + 2)..].Split(' ');
        // f[0] is field 3 (state); pgrp is field 5, session 6, starttime 22.
        return f.Length > 19
               && int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pgrp)
               && int.TryParse(f[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var session)
               && long.TryParse(f[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start)
            ? new ProcStat(pid, f[0].Length > 0 ? f[0][0] : '?', pgrp, session, start)
            : null;
    }

    /// <summary>Whether a live (not zombie) process is in the group. kill(-pgid, 0) answers at once when the group is empty;
    /// it also counts zombies, which a slow reaper may leave for a while, so then /proc is looked at.</summary>
    public static bool GroupAlive(int pgid)
    {
        if (Native.kill(-pgid, 0) != 0 && Native.LastError == Native.ESRCH)
        {
            return false;
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Read(pid) is { } s && s.ProcessGroup == pgid && s.Alive)
            {
                return true;
            }
        }
        return false;
    }
}
