using System.Diagnostics;

namespace Sluice.Bench.Infra;

/// <summary>How steadily the machine gives its cores: what a fixed amount of pure arithmetic achieves in each 10 ms window,
/// on every core at once, while nothing else runs. On a dedicated machine every window does about the same work; a shared
/// virtual machine has windows where all its cores run several times slower together (the host gives their time to
/// others). A request that falls in such a window takes that much longer whatever the server does, so when those windows
/// add up to more than 1% of the time they set a p99.</summary>
internal sealed record CpuSteadiness(double Seconds, int Windows, int SlowWindows, int Episodes, double LongestMs, double WorstSpeed)
{
    private const int WindowMs = 10;

    /// <summary>Share of the windows in which every core did less than half its usual work.</summary>
    public double SlowShare => Windows == 0 ? 0 : SlowWindows / (double)Windows;

    public string Describe() => SlowWindows == 0
        ? Stats.F("every core did at least half its usual work in every 10 ms window of {0:0} s", Seconds)
        : Stats.F("all cores ran at less than half speed in {0} of {1} windows of 10 ms ({2:0.0}% of the time; {3} episodes, the longest {4:0} ms, " +
            "down to {5:0}% of the usual speed)", SlowWindows, Windows, SlowShare * 100, Episodes, LongestMs, WorstSpeed * 100);

    /// <summary>Runs one busy thread per core for <paramref name="seconds"/>; nothing else should be running.</summary>
    public static CpuSteadiness Measure(double seconds)
    {
        var cores = Environment.ProcessorCount;
        var windows = (int)(seconds * 1000 / WindowMs);
        var units = new int[cores][];
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        var end = start + (long)(seconds * Stopwatch.Frequency);
        var threads = Enumerable.Range(0, cores).Select(c =>
        {
            units[c] = new int[windows + 1];
            var t = new Thread(() => Spin(units[c], start, end)) { IsBackground = true, Name = $"cpu probe {c}" };
            t.Start();
            return t;
        }).ToList();
        foreach (var t in threads)
        {
            t.Join();
        }

        // A window is slow when every core did less than half of its own median: the machine, not one busy core.
        var medians = units.Select(u => Median(u.Take(windows))).ToArray();
        var slow = new bool[windows];
        var worst = 1.0;
        for (var w = 0; w < windows; w++)
        {
            var speed = Enumerable.Range(0, cores).Max(c => medians[c] == 0 ? 1 : units[c][w] / (double)medians[c]);
            slow[w] = speed < 0.5;
            worst = Math.Min(worst, speed);
        }
        int episodes = 0, longest = 0, run = 0;
        for (var w = 0; w < windows; w++)
        {
            run = slow[w] ? run + 1 : 0;
            if (run == 1)
            {
                episodes++;
            }
            longest = Math.Max(longest, run);
        }
        return new CpuSteadiness(seconds, windows, slow.Count(s => s), episodes, longest * WindowMs, worst);
    }

    private static void Spin(int[] units, long start, long end)
    {
        var x = 1u;
        while (Stopwatch.GetTimestamp() < start)
        {
        }
        var perWindow = Stopwatch.Frequency * WindowMs / 1000;
        for (var now = Stopwatch.GetTimestamp(); now < end; now = Stopwatch.GetTimestamp())
        {
            // ~20 µs of dependent multiply-adds: no memory traffic, so only the core's own speed counts.
            for (var i = 0; i < 20_000; i++)
            {
                x = x * 1103515245u + 12345u;
            }
            units[(int)((now - start) / perWindow)]++;
        }
        GC.KeepAlive(x);
    }

    private static int Median(IEnumerable<int> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
    }
}
