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
    public static IReadOnlyList<int> GroupMembers(int pgid)
    {
        var list = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[2], CultureInfo.InvariantCulture) == pgid)
                {
                    list.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }
        return list;
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
