using System.Globalization;
using System.Runtime.InteropServices;

namespace Sluice.TestKit;

/// <summary>Process checks for tests: is a pid alive (zombies count as dead), send a signal.</summary>
public static partial class Posix
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Live processes whose process group is <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<int> GroupMembers(int pgid) =>
        [.. Pids().Where(pid => StatFields(pid) is [var state, _, var group, ..] && state != "Z" && group == pgid.ToString(CultureInfo.InvariantCulture))];

    /// <summary>Live processes whose command line holds <paramref name="fragment"/> (a path only one test uses).</summary>
    public static IReadOnlyList<int> WithCommandLine(string fragment)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(fragment);
        var found = new List<int>();
        foreach (var pid in Pids())
        {
            try
            {
                if (StatFields(pid) is [var state, ..] && state != "Z" && File.ReadAllBytes($"/proc/{pid}/cmdline").AsSpan().IndexOf(needle) >= 0)
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Kills (SIGKILL, whole group) every process of a step whose directory is under <paramref name="root"/>
    /// (its SLUICE_STEP_DIR says so), so that a failed test leaves none behind: an engine that shuts down leaves its steps
    /// running, as a server does. The caller's own process group is left alone.</summary>
    public static void KillStepsUnder(string root)
    {
        var marker = System.Text.Encoding.UTF8.GetBytes($"SLUICE_STEP_DIR={Path.GetFullPath(root)}");
        var own = GroupOf(Environment.ProcessId);
        foreach (var pid in Pids())
        {
            try
            {
                if (GroupOf(pid) is { } pgid && pgid > 1 && pgid != own
                    && File.ReadAllBytes($"/proc/{pid}/environ").AsSpan().IndexOf(marker) >= 0)
                {
                    _ = Kill(-pgid, 9);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static IEnumerable<int> Pids() =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0);

    private static int? GroupOf(int pid) =>
        StatFields(pid) is [_, _, var group, ..] && int.TryParse(group, NumberStyles.Integer, CultureInfo.InvariantCulture, out var g) ? g : null;

    /// <summary>/proc/PID/stat after the command name: state, ppid, pgrp, ...; null when the process is gone.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Waits until the predicate holds, polling; for conditions no event reports (a process's death).</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var until = TimeProvider.System.GetUtcNow() + timeout;
        while (!condition())
        {
            if (TimeProvider.System.GetUtcNow() > until)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return true;
    }
}
