using System.Globalization;
using System.Text;

namespace Sluice.Bench.Infra;

/// <summary>One live (not zombie) process as /proc shows it.</summary>
internal sealed record ProcInfo(int Pid, int Ppid, int Pgid, int Sid, string CommandLine);

/// <summary>Reads /proc: which processes exist, their groups and command lines, and their memory.</summary>
internal static class Procs
{
    public static List<ProcInfo> Snapshot()
    {
        var list = new List<ProcInfo>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (f[0] == "Z" || f[0] == "X")
                {
                    continue;
                }
                var cmd = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
                list.Add(new ProcInfo(pid, int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture),
                    int.Parse(f[3], CultureInfo.InvariantCulture), Encoding.UTF8.GetString(cmd).Replace('\0', ' ').TrimEnd()));
            }
            catch (IOException)
            {
                // It exited while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return list;
    }

    /// <summary>Processes whose command line contains the marker: a benchmark run's steps carry a unique one.</summary>
    public static List<ProcInfo> WithMarker(string marker) => [.. Snapshot().Where(p => p.CommandLine.Contains(marker, StringComparison.Ordinal))];

    /// <summary>How many `sleep MARKER` processes exist: the steps of the stop workflows are such sleeps, on every orchestrator.</summary>
    public static int Sleeps(string marker)
    {
        var exact = "sleep " + marker;
        return Snapshot().Count(p => p.CommandLine == exact);
    }

    /// <summary>Processes whose command line contains any of the markers, counted per marker.</summary>
    public static Dictionary<string, int> CountMarkers(IReadOnlyCollection<string> markers)
    {
        var counts = markers.ToDictionary(m => m, _ => 0, StringComparer.Ordinal);
        foreach (var p in Snapshot())
        {
            foreach (var m in markers)
            {
                if (p.CommandLine.Contains(m, StringComparison.Ordinal))
                {
                    counts[m]++;
                }
            }
        }
        return counts;
    }

    /// <summary>SIGKILL to each pid (the benchmark's own leftovers, named by pid, never by name).</summary>
    public static void KillAll(IEnumerable<ProcInfo> procs)
    {
        foreach (var p in procs)
        {
            Native.Signal(p.Pid, Native.SIGKILL);
        }
    }

    /// <summary>Resident memory of a process, in KiB (VmRSS), or 0 if it is gone.</summary>
    public static long RssKb(int pid) => StatusField(pid, "VmRSS:");

    /// <summary>Peak resident memory of a process, in KiB (VmHWM).</summary>
    public static long PeakRssKb(int pid) => StatusField(pid, "VmHWM:");

    private static long StatusField(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    /// <summary>CPU time (user + system) a process has used so far.</summary>
    public static TimeSpan CpuTime(int pid) => CpuTimes(pid).Own;

    /// <summary>CPU time (user + system) a process has used so far, and that of its children it has reaped (for the server:
    /// the steps' supervisors, which include the commands they reaped).</summary>
    public static (TimeSpan Own, TimeSpan Children) CpuTimes(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime, stime, cutime, cstime are fields 14-17 of stat (11-14 after the command), in clock ticks (100 Hz on Linux).
            long Ticks(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
            return (TimeSpan.FromMilliseconds((Ticks(11) + Ticks(12)) * 10), TimeSpan.FromMilliseconds((Ticks(13) + Ticks(14)) * 10));
        }
        catch (IOException)
        {
            return (TimeSpan.Zero, TimeSpan.Zero);
        }
    }

    /// <summary>A marker no other process on the machine carries: a sleep duration of 600 s plus a random fraction. Its last
    /// digit is never 0: Snakemake reads a config value as a number and would write 600.5 for 600.50.</summary>
    public static string NewMarker() =>
        "600." + Random.Shared.NextInt64(10_000_000, 99_999_999).ToString(CultureInfo.InvariantCulture) + Random.Shared.Next(1, 10).ToString(CultureInfo.InvariantCulture);
}
