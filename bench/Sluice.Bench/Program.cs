using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;
using Sluice.Executors.Process;
using Sluice.Storage.Sqlite;

// Benchmarks of the engine, hosted in-process over the real SQLite store and real processes (no HTTP in the way).
// Usage: build.sh bench [stop|overhead|multinode|all] [--runs N] [--postgres CONNSTR] [--write docs/benchmarks.md]
var what = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var runs = Arg("--runs") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : 100;
var write = Arg("--write");
// Step directories and the database go where a server keeps them (its data dir), not necessarily the system temp dir:
// on some machines /tmp's metadata operations cost half a millisecond each (measured here), which would be the
// machine's cost, not Sluice's.
Bench.WorkRoot = Path.GetFullPath(Arg("--dir") ?? Path.Combine("bench", ".work"));
Directory.CreateDirectory(Bench.WorkRoot);
var report = new StringBuilder();

if (what is "stop" or "all")
{
    report.Append(await Bench.StopLatencyAsync(runs, grace: TimeSpan.Zero, ignoreTerm: false));
    report.Append(await Bench.StopLatencyAsync(Math.Max(10, runs / 5), grace: TimeSpan.FromSeconds(1), ignoreTerm: true));
}
if (what is "overhead" or "all")
{
    report.Append(await Bench.OverheadAsync());
}
if (what is "multinode" or "all")
{
    report.Append(await Bench.MultiNodeAsync(Arg("--postgres") ?? Environment.GetEnvironmentVariable("SLUICE_BENCH_POSTGRES"), runs * 10, runs));
}
Console.WriteLine(report);
if (write is not null)
{
    Bench.WriteReport(write, report.ToString(), args);
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal static partial class Bench
{
    public static string WorkRoot { get; set; } = Path.GetTempPath();

    private sealed class Host : IAsyncDisposable
    {
        public required string Dir { get; init; }
        public required SqliteStore Store { get; init; }
        public required RunEngine Engine { get; init; }
        public required RunService Runs { get; init; }
        public required PipelineService Pipelines { get; init; }

        public static async Task<Host> StartAsync(int slots)
        {
            var dir = Path.Combine(WorkRoot, "sluice-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            var time = TimeProvider.System;
            var store = await SqliteStore.OpenAsync(Path.Combine(dir, "sluice.db"), time, CancellationToken.None);
            var engine = new RunEngine(store, store, new DefinitionCompilers([new NativeDefinitionCompiler()]), [new ProcessExecutor(time)],
                new EngineOptions { DataDirectory = dir, Slots = slots }, time, new EventHub());
            await engine.StartAsync(CancellationToken.None);
            return new Host { Dir = dir, Store = store, Engine = engine, Runs = new RunService(engine), Pipelines = new PipelineService(engine) };
        }

        public async ValueTask DisposeAsync()
        {
            await Engine.DisposeAsync();
            await Store.DisposeAsync();
            try
            {
                Directory.Delete(Dir, true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>8 running steps, each forking a child; time from the stop request to the run recorded Stopped and every process gone.</summary>
    public static async Task<string> StopLatencyAsync(int runs, TimeSpan grace, bool ignoreTerm)
    {
        await using var host = await Host.StartAsync(slots: 64);
        var script = (ignoreTerm ? "trap '' TERM; " : "") + "sleep 600 & sleep 600";
        var yaml = "name: stopbench\nsteps:\n" + string.Concat(Enumerable.Range(0, 8).Select(i =>
            $"  - name: s{i}\n    command: sh\n    args: [\"-c\", \"{script}\"]\n"));
        await host.Pipelines.CreateAsync(Scope.Default, yaml, "native-yaml", null, CancellationToken.None);
        var samples = new List<double>();
        for (var i = 0; i < runs + 3; i++)
        {
            var run = await host.Runs.StartAsync(new StartRunRequest { Pipeline = "stopbench" }, CancellationToken.None);
            var id = run.Run.Id;
            using (var sub = host.Engine.Hub.Subscribe(id))
            {
                var running = 0;
                // Steps count as running once their process is recorded; the forked child needs a moment more to exist.
                while (running < 8 && await sub.Reader.WaitToReadAsync())
                {
                    while (sub.Reader.TryRead(out var e))
                    {
                        if (e.Step is not null && e.To == nameof(StepState.Running))
                        {
                            running++;
                        }
                    }
                }
            }
            var steps = await host.Store.GetStepsAsync(id, CancellationToken.None);
            var groups = steps.Select(s => s.Process!.Pid).ToList();
            await WaitForChildrenAsync(groups);
            using var done = host.Engine.Hub.Subscribe(id);
            var clock = Stopwatch.StartNew();
            await host.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = grace }, CancellationToken.None);
            while (await done.Reader.WaitToReadAsync())
            {
                if (done.Reader.TryRead(out var e) && e.Step is null && e.To == nameof(RunState.Stopped))
                {
                    break;
                }
            }
            var stoppedAt = clock.Elapsed;
            var leftovers = groups.Sum(g => GroupMembers(g).Count);
            if (leftovers > 0)
            {
                throw new InvalidOperationException($"{leftovers} processes of run {id} outlived its stop");
            }
            if (i >= 3)
            {
                samples.Add(stoppedAt.TotalMilliseconds);
            }
        }
        samples.Sort();
        var title = ignoreTerm
            ? $"Stop latency, 8 steps that ignore SIGTERM, grace {grace.TotalSeconds:0} s ({runs} runs)"
            : $"Stop latency, 8 running steps each forking a child, grace 0 ({runs} runs)";
        var target = ignoreTerm ? $"grace + 25 ms = {grace.TotalMilliseconds + 25:0} ms" : "p50 <= 10 ms, p99 <= 25 ms";
        return $"""

            ### {title}
            Time from the stop request to the run recorded Stopped, with every step process and its child gone (checked by pid after each run).

            | p50 | p90 | p99 | max | target |
            |---|---|---|---|---|
            | {P(samples, 50):0.00} ms | {P(samples, 90):0.00} ms | {P(samples, 99):0.00} ms | {samples[^1]:0.00} ms | {target} |

            """;
    }

    /// <summary>A 100-step chain and a 200-step fan-out/fan-in of `true` on 2 slots, against the bare cost of spawning `true`.</summary>
    public static async Task<string> OverheadAsync()
    {
        var bare = BareSpawnMs(200);
        await using var host = await Host.StartAsync(slots: 2);
        var chain = new StringBuilder("name: chain\nsteps:\n");
        for (var i = 0; i < 100; i++)
        {
            chain.Append(CultureInfo.InvariantCulture, $"  - name: s{i}\n    command: \"true\"\n");
            if (i > 0)
            {
                chain.Append(CultureInfo.InvariantCulture, $"    dependsOn: [s{i - 1}]\n");
            }
        }
        var fan = new StringBuilder("name: fan\nsteps:\n  - name: root\n    command: \"true\"\n");
        for (var i = 0; i < 198; i++)
        {
            fan.Append(CultureInfo.InvariantCulture, $"  - name: m{i}\n    command: \"true\"\n    dependsOn: [root]\n");
        }
        fan.Append("  - name: sink\n    command: \"true\"\n    dependsOn: [" + string.Join(", ", Enumerable.Range(0, 198).Select(i => $"m{i}")) + "]\n");
        await host.Pipelines.CreateAsync(Scope.Default, chain.ToString(), "native-yaml", null, CancellationToken.None);
        await host.Pipelines.CreateAsync(Scope.Default, fan.ToString(), "native-yaml", null, CancellationToken.None);

        async Task<double> TimeRunAsync(string pipeline)
        {
            var clock = Stopwatch.StartNew();
            var run = await host.Runs.StartAsync(new StartRunRequest { Pipeline = pipeline }, CancellationToken.None);
            using var sub = host.Engine.Hub.Subscribe(run.Run.Id);
            while (await sub.Reader.WaitToReadAsync())
            {
                if (sub.Reader.TryRead(out var e) && e.Step is null && e.To is "Succeeded" or "Failed" or "Stopped")
                {
                    if (e.To != "Succeeded")
                    {
                        throw new InvalidOperationException($"{pipeline} ended {e.To}");
                    }
                    break;
                }
            }
            return clock.Elapsed.TotalMilliseconds;
        }

        await TimeRunAsync("chain"); // warm-up
        var chainMs = Enumerable.Range(0, 3).Select(_ => TimeRunAsync("chain").GetAwaiter().GetResult()).Min();
        var fanMs = Enumerable.Range(0, 3).Select(_ => TimeRunAsync("fan").GetAwaiter().GetResult()).Min();
        var exec = await ExecutorAloneMsAsync(200);
        var chainPer = chainMs / 100;
        var fanPer = fanMs * 2 / 200;
        return $"""

            ### Per-step overhead (2 slots, best of 3)
            Bare spawn: {bare:0.00} ms to start `true` and reap it, sequentially (System.Diagnostics.Process, 200 times).
            The process executor alone (supervisor, own session, log files, exit status, group check): {exec:0.00} ms per `true`.
            Per-step cost = wall time x slots in use / steps; overhead = per-step cost - bare spawn. Target <= 2 ms.

            | shape | wall time | per step | overhead per step |
            |---|---|---|---|
            | chain of 100 `true` | {chainMs:0} ms | {chainPer:0.00} ms | {chainPer - bare:0.00} ms |
            | fan-out/fan-in of 200 `true` | {fanMs:0} ms | {fanPer:0.00} ms | {fanPer - bare:0.00} ms |

            """;
    }

    private static async Task<double> ExecutorAloneMsAsync(int n)
    {
        var executor = new ProcessExecutor(TimeProvider.System);
        var dir = Path.Combine(WorkRoot, "sluice-bench-exec-" + Guid.NewGuid().ToString("N"));
        var plan = new ProcessStepPlan { Name = "t", Command = Template.Literal("true") };
        var inputs = new System.Text.Json.Nodes.JsonObject { ["command"] = "true", ["args"] = new System.Text.Json.Nodes.JsonArray(), ["env"] = new System.Text.Json.Nodes.JsonObject() };
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            var start = new Sluice.Core.Execution.StepStart { RunId = "bench", StepName = "t", Attempt = i + 1, Directory = Path.Combine(dir, i.ToString(CultureInfo.InvariantCulture)), Plan = plan, Inputs = inputs };
            await using var e = await executor.StartAsync(start, CancellationToken.None);
            await e.Completion;
        }
        var ms = clock.Elapsed.TotalMilliseconds / n;
        Directory.Delete(dir, true);
        return ms;
    }

    private static double BareSpawnMs(int n)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            p.WaitForExit();
        }
        return clock.Elapsed.TotalMilliseconds / n;
    }

    private static async Task WaitForChildrenAsync(List<int> groups)
    {
        for (var i = 0; i < 2000 && groups.Any(g => GroupMembers(g).Count < 3); i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System);
        }
    }

    private static List<int> GroupMembers(int pgid)
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
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (f[0] != "Z" && int.Parse(f[2], CultureInfo.InvariantCulture) == pgid)
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

    private static double P(List<double> sorted, int p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1)];

    public static void WriteReport(string path, string body, string[] args)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        var text = $"""
            # Benchmarks

            Produced by `./build.sh bench {string.Join(' ', args)}` on {Environment.ProcessorCount} cores ({cpu}),
            {RuntimeInformation.OSDescription}, .NET {Environment.Version}, SQLite store and step directories in `{Path.GetRelativePath(Environment.CurrentDirectory, WorkRoot)}` on local disk.
            Numbers are from one run on this machine; they move with load, so compare within a run.
            {body}
            """;
        File.WriteAllText(path, text);
    }
}
