using System.Diagnostics;

namespace Sluice.Bench.Infra;

/// <summary>How long creating a file takes in the benchmark's work directory, and waiting for it to be fast. ext4 without a
/// journal (this kind of VM's root file system) checks every inode freed in the last 1-6 minutes one by one before it hands
/// out a new one, so after a large deletion (a test run's or a previous benchmark's directories) every file and directory
/// creation costs 0.1-1 ms instead of ~10 µs, for minutes: a step creates ~7 of them, so the per-step figures would measure
/// the deletion, not Sluice (bench/README.md).</summary>
internal static class FsProbe
{
    /// <summary>Creation is slow above this (µs per file); a quiet ext4 takes 10-20 µs here.</summary>
    public const double SlowMicros = 40;

    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(7);

    /// <summary>Creates what 200 steps would (a directory each, a directory in it and two files) in a new directory under
    /// <paramref name="parent"/>; µs per file or directory created (median of 4 batches). They are kept: deleting them would
    /// add to what the next probe measures.</summary>
    public static double MicrosPerCreate(string parent)
    {
        var dir = Path.Combine(parent, "fs-probe-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var batches = new List<double>();
        for (var b = 0; b < 4; b++)
        {
            var t0 = Stopwatch.GetTimestamp();
            for (var i = 0; i < 50; i++)
            {
                var step = Path.Combine(dir, $"{b}-{i}");
                Directory.CreateDirectory(Path.Combine(step, "outputs"));
                File.OpenHandle(Path.Combine(step, "stdout"), FileMode.CreateNew, FileAccess.Write).Dispose();
                File.OpenHandle(Path.Combine(step, "stderr"), FileMode.CreateNew, FileAccess.Write).Dispose();
            }
            batches.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds / 200);
        }
        batches.Sort();
        return (batches[1] + batches[2]) / 2;
    }

    /// <summary>Measures file creation in the run's directory and, while it is slow, waits (up to 7 minutes) for the file
    /// system to get over a recent deletion; returns what was measured last, and how long it waited.</summary>
    public static async Task<(double Micros, TimeSpan Waited)> WaitUntilFastAsync(BenchContext ctx, string what)
    {
        var clock = Stopwatch.StartNew();
        var micros = MicrosPerCreate(ctx.RunDir);
        var waited = false;
        while (micros > SlowMicros && clock.Elapsed < MaxWait)
        {
            ctx.Log(Stats.F("{0}: creating a file takes {1:0} µs here (a recent large deletion; quiet: < {2:0} µs): waiting for the file system",
                what, micros, SlowMicros));
            await Task.Delay(TimeSpan.FromSeconds(20), TimeProvider.System);
            micros = MicrosPerCreate(ctx.RunDir);
            waited = true;
        }
        if (micros > SlowMicros)
        {
            ctx.Log(Stats.F("{0}: file creation still slow ({1:0} µs) after {2:0} s: measuring anyway", what, micros, clock.Elapsed.TotalSeconds));
        }
        return (micros, waited ? clock.Elapsed : TimeSpan.Zero);
    }

    public static string Describe((double Micros, TimeSpan Waited) probe) =>
        Stats.F("creating a file or directory in the work directory took {0:0} µs", probe.Micros) +
        (probe.Waited > TimeSpan.Zero ? Stats.F(" (after waiting {0:0} s for the file system to get over a recent deletion)", probe.Waited.TotalSeconds) : "");
}
