using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Sluice.Bench.Infra;

/// <summary>What the figures were taken on: CPU, memory, OS, runtime, file system, load, and the peers' versions.</summary>
internal sealed class Machine
{
    public string Cpu { get; } = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
        ?.Split(':')[1].Trim() ?? "unknown CPU";

    public int Cores { get; } = Environment.ProcessorCount;

    public long MemoryMb { get; } = ReadMemTotalKb() / 1024;

    public string Load { get; private set; } = LoadAverage();

    public Dictionary<string, string> PeerVersions { get; } = new(StringComparer.Ordinal);

    public string LoadAtEnd { get; private set; } = "";

    /// <summary>How steadily the machine gave its cores before the first suite (5 s, nothing of the benchmark running).</summary>
    public CpuSteadiness? Steadiness { get; set; }

    public void Finish() => LoadAtEnd = LoadAverage();

    public string Describe()
    {
        var peers = PeerVersions.Count == 0 ? "no peers" : string.Join(", ", PeerVersions.Select(kv => $"{kv.Key} {kv.Value}"));
        return $"{Cores} cores ({Cpu}), {MemoryMb / 1024.0:0.#} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
            $"SQLite store on local disk; server: {ServerBuild()}; peers: {peers}. Load average {Load} at the start, {LoadAtEnd} at the end " +
            "(a shared machine moves the figures: compare within a run)." +
            (Steadiness is { } s ? $" Before the first suite, {s.Describe()}." : "");
    }

    /// <summary>Which server binary the suites start: the published one (./build.sh bench) or the plain build.</summary>
    private static string ServerBuild() => Environment.GetEnvironmentVariable("SLUICE_BENCH_SERVER") is { Length: > 0 }
        ? "published as ./build.sh run starts it (ReadyToRun, tiered compilation off)"
        : "the plain build next to the benchmark (tiered compilation on)";

    public static string LoadAverage()
    {
        try
        {
            var f = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{f[0]}/{f[1]}/{f[2]}";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static long ReadMemTotalKb()
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>First line of `tool --version`, or null when the tool is not installed.</summary>
    public static string? VersionOf(string exe, string arg = "--version")
    {
        try
        {
            var psi = new ProcessStartInfo(exe, arg) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null)
            {
                return null;
            }
            var output = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            var first = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim();
            return p.ExitCode == 0 ? first?.Split(' ')[^1] : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
