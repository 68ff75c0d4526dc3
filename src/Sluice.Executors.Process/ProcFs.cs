using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Sluice.Executors.Process;

/// <summary>The fields of /proc/&lt;pid&gt;/stat the executor needs.</summary>
internal readonly record struct ProcStat(int Pid, char State, int ParentPid, int ProcessGroup, int Session, long StartTime)
{
    /// <summary>A zombie has ended; it only waits to be reaped (pid 1 may take seconds to do that).</summary>
    public bool Alive => State is not ('Z' or 'X' or 'x');
}

/// <summary>Reads /proc: process identity (start time) and the members of a process group.</summary>
internal static class ProcFs
{
    public static ProcStat? ReadStat(int pid)
    {
        Span<byte> buffer = stackalloc byte[1024];
        int n;
        try
        {
            using var handle = File.OpenHandle($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            n = RandomAccess.Read(handle, buffer, 0);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        return Parse(pid, buffer[..n]);
    }

    /// <summary>Parses a stat line; the command name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'.</summary>
    internal static ProcStat? Parse(int pid, ReadOnlySpan<byte> line)
    {
        var close = line.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= line.Length)
        {
            return null;
        }
        var rest = line[(close + 2)..];
        // Field 3 is the state; the ones wanted are 4 (ppid), 5 (pgrp), 6 (session) and 22 (starttime).
        char state = '?';
        int ppid = 0, pgrp = 0, session = 0;
        long start = -1;
        var field = 3;
        while (!rest.IsEmpty && field <= 22)
        {
            var space = rest.IndexOf((byte)' ');
            var token = space < 0 ? rest : rest[..space];
            switch (field)
            {
                case 3:
                    state = token.IsEmpty ? '?' : (char)token[0];
                    break;
                case 4:
                    ppid = ParseInt(token);
                    break;
                case 5:
                    pgrp = ParseInt(token);
                    break;
                case 6:
                    session = ParseInt(token);
                    break;
                case 22:
                    start = ParseLong(token);
                    break;
            }
            field++;
            rest = space < 0 ? [] : rest[(space + 1)..];
        }
        return start < 0 ? null : new ProcStat(pid, state, ppid, pgrp, session, start);
    }

    private static int ParseInt(ReadOnlySpan<byte> s) => (int)ParseLong(s);

    private static long ParseLong(ReadOnlySpan<byte> s)
    {
        long v = 0;
        var neg = false;
        foreach (var b in s)
        {
            if (b == (byte)'-')
            {
                neg = true;
            }
            else if (b is >= (byte)'0' and <= (byte)'9')
            {
                v = (v * 10) + (b - '0');
            }
            else
            {
                return -1;
            }
        }
        return neg ? -v : v;
    }

    /// <summary>Whether a live (not zombie) process is in the group. kill(-pgid, 0) answers at once when the group is empty
    /// (after reaping the members that came back to this process); it also counts zombies, which a slow reaper may leave
    /// for a while, so then /proc is looked at.</summary>
    public static bool GroupAlive(int pgid) => !Reaper.GroupGone(pgid) && AllProcesses().Any(p => p.ProcessGroup == pgid && p.Alive);

    /// <summary>Every process whose group is <paramref name="pgid"/>, zombies included.</summary>
    public static List<ProcStat> GroupMembers(int pgid) => AllProcesses().Where(p => p.ProcessGroup == pgid).ToList();

    /// <summary>Every process on the machine (in this pid namespace), zombies included.</summary>
    public static IEnumerable<ProcStat> AllProcesses()
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories("/proc");
        }
        catch (IOException)
        {
            yield break;
        }
        foreach (var path in entries)
        {
            var name = Path.GetFileName(path.AsSpan());
            if (name.IsEmpty || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            if (ReadStat(pid) is { } st)
            {
                yield return st;
            }
        }
    }

    /// <summary>argv of a process (from /proc/&lt;pid&gt;/cmdline), or null if it cannot be read.</summary>
    public static string[]? ReadCommandLine(int pid)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(bytes);
        return text.TrimEnd('\0').Split('\0');
    }
}
