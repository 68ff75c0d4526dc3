using System.Diagnostics;
using System.Globalization;
using Sluice.Bench.Infra;
using Sluice.Bench.Load;
using Sluice.Bench.Suites;

// Sluice's benchmarks (issue 9). See bench/README.md; `./build.sh bench` runs them all and writes docs/benchmarks.md.
if (args.Length > 0 && args[0] == "load")
{
    return await LoadGen.MainAsync(args);
}
if (args.Length > 0 && args[0] == "fs-probe")
{
    // How long creating a file takes in a directory (bench/README.md, "A shared machine"): `Sluice.Bench fs-probe [DIR]`.
    Console.WriteLine(Stats.F("{0:0} µs per file", FsProbe.MicrosPerCreate(args.Length > 1 ? args[1] : Path.GetTempPath())));
    return 0;
}
if (args.Length > 0 && args[0] == "cpu-probe")
{
    // How steadily this machine gives its cores (bench/README.md, "A shared machine"): `Sluice.Bench cpu-probe [SECONDS]`.
    Console.WriteLine(CpuSteadiness.Measure(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 10).Describe());
    return 0;
}

string[] suites = ["stop", "orphans", "overhead", "throughput", "batch-stop", "api", "scale", "multinode"];
var names = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
if (args.Contains("--help") || names.Any(n => n != "all" && !suites.Contains(n)))
{
    Console.Error.WriteLine($"""
        usage: ./build.sh bench [SUITE...] [options]
          suites: {string.Join(", ", suites)}, all (the default)
          --write FILE    write the report there (default: docs/benchmarks.md when no suite is named, else only print it)
          --runs N        stop-latency runs (100), with grace 0 and with a 1 s grace each
          --seconds N     throughput duration (60)
          --rate N        API request rate (1000/s)
          --scale-runs N  stored runs for the scale suite (1000000)
          --no-peers      measure Sluice only
          --dir D         work directory (bench/.work)
          --keep          keep this run's directories (server data, peers' work) under the work directory
          --profile       record the server with perf during each measured phase (into WORKDIR/profiles)
          --postgres CS   the PostgreSQL of the multinode suite (default SLUICE_BENCH_POSTGRES; build.sh starts a throwaway one)
        """);
    return 2;
}
var selected = names.Count == 0 || names.Contains("all") ? [.. suites] : suites.Where(names.Contains).ToList();
string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
int IntArg(string name, int fallback) => Arg(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
var write = Arg("--write") ?? (names.Count == 0 ? Path.Combine("docs", "benchmarks.md") : null);

// Step directories and databases go where a server keeps its data dir (bench/.work), not necessarily the system temp dir:
// on some machines /tmp's metadata operations cost half a millisecond each, which would be the machine's cost, not Sluice's.
var workRoot = Path.GetFullPath(Arg("--dir") ?? Path.Combine("bench", ".work"));
var started = TimeProvider.System.GetUtcNow();
var runDir = Path.Combine(workRoot, "run-" + started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
Directory.CreateDirectory(runDir);
var runs = IntArg("--runs", 100);
var ctx = new BenchContext
{
    WorkRoot = workRoot,
    RunDir = runDir,
    PeersDir = Path.GetFullPath(Path.Combine("bench", "peers")),
    Machine = new Machine(),
    StopRuns = runs,
    GraceRuns = runs,
    ThroughputSeconds = IntArg("--seconds", 60),
    ApiRate = IntArg("--rate", 1000),
    ScaleRuns = IntArg("--scale-runs", 1_000_000),
    WithPeers = !args.Contains("--no-peers"),
    Profile = args.Contains("--profile"),
    Postgres = Arg("--postgres") ?? (Environment.GetEnvironmentVariable("SLUICE_BENCH_POSTGRES") is { Length: > 0 } pg ? pg : null),
};
if (ctx.WithPeers)
{
    ctx.Peers = Peer.All(ctx.PeersDir);
    foreach (var p in ctx.Peers)
    {
        if (p.Installed)
        {
            ctx.Machine.PeerVersions[p.Name] = p.Version!;
        }
        else
        {
            ctx.Log($"{p.Name} ({p.Exe}) is not installed: measured without it");
        }
    }
}

ctx.Log("how steadily the machine gives its cores (5 s)");
ctx.Machine.Steadiness = CpuSteadiness.Measure(5);
ctx.Log(ctx.Machine.Steadiness.Describe());
var clock = Stopwatch.StartNew();
var sections = new List<Section>();
foreach (var suite in selected)
{
    ctx.Log($"== {suite}");
    sections.Add(suite switch
    {
        "stop" => await StopLatency.RunAsync(ctx),
        "orphans" => await Orphans.RunAsync(ctx),
        "overhead" => await Overhead.RunAsync(ctx),
        "throughput" => await Throughput.RunAsync(ctx),
        "batch-stop" => await BatchStop.RunAsync(ctx),
        "api" => await ApiLatency.RunAsync(ctx),
        "multinode" => await MultiNode.RunAsync(ctx),
        _ => await Scale.RunAsync(ctx),
    });
}
ctx.Machine.Finish();
var command = "./build.sh bench" + (args.Length > 0 ? " " + string.Join(' ', args) : "");
var report = Report.Render(sections, command, ctx.Machine, started, clock.Elapsed);
Console.WriteLine(report);
if (write is not null)
{
    await File.WriteAllTextAsync(write, report);
    ctx.Log($"wrote {write}");
}
if (!args.Contains("--keep"))
{
    // Removed at the end, not between suites: on ext4, creating files right after many were deleted takes the slow path.
    Directory.Delete(runDir, recursive: true);
}
return 0;
