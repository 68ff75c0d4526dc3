using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Bench.Infra;
using Sluice.Client;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 item 3: a 100-step chain and a 200-step fan-out/fan-in of `true` on 2 slots, Sluice and each peer;
/// per-step cost above a one-step run, against the bare cost of spawning `true`.</summary>
internal static class Overhead
{
    /// <summary>A peer run longer than this is stopped; its figure is then a lower bound (the whole `all` run must stay short).</summary>
    public static readonly TimeSpan PeerLimit = TimeSpan.FromSeconds(180);

    /// <summary>Wall times in ms; a shape that ran past <see cref="PeerLimit"/> counts as the limit, and is flagged.</summary>
    private sealed record Times(double Chain1, double Chain100, double Fan200, bool ChainCut = false, bool FanCut = false)
    {
        /// <summary>Each orchestrator's fixed cost (start-up, parsing, a one-step run) is taken out with the one-step chain.</summary>
        public double ChainPerStep => (Chain100 - Chain1) / 99;

        /// <summary>Two slots are busy through the fan-out's middle, so a step costs twice its share of the wall time.</summary>
        public double FanPerStep => (Fan200 - Chain1) * 2 / 199;
    }

    public static async Task<Section> RunAsync(BenchContext ctx, int sluiceRuns = 3)
    {
        var section = new Section("overhead", "3. Per-step overhead");
        var fs = await FsProbe.WaitUntilFastAsync(ctx, "overhead");
        var bare = EngineInProcess.BareSpawnMs(200);
        var executor = await EngineInProcess.ExecutorAloneMsAsync(ctx, 200);
        var (sluice, chainCpu, fanCpu, wide) = await SluiceAsync(ctx, sluiceRuns);
        var peers = new List<(Peer Peer, Times? Times, string? Error)>();
        foreach (var peer in ctx.InstalledPeers)
        {
            ctx.Log($"overhead: {peer.Name}");
            try
            {
                var t1 = await peer.RunAsync(Shape.Chain1, ctx.NewDir($"overhead-{peer.Exe}"), PeerLimit)
                    ?? throw new InvalidOperationException($"a one-step run took over {PeerLimit.TotalSeconds:0} s");
                var t100 = await peer.RunAsync(Shape.Chain100, ctx.NewDir($"overhead-{peer.Exe}"), PeerLimit);
                var tfan = await peer.RunAsync(Shape.Fan200, ctx.NewDir($"overhead-{peer.Exe}"), PeerLimit);
                peers.Add((peer, new Times(t1.TotalMilliseconds, (t100 ?? PeerLimit).TotalMilliseconds, (tfan ?? PeerLimit).TotalMilliseconds,
                    t100 is null, tfan is null), null));
            }
            catch (InvalidOperationException e)
            {
                peers.Add((peer, null, e.Message.Split('\n')[0]));
            }
        }

        section.Line(Stats.F("Bare spawn (the floor): {0:0.00} ms to start `true` and reap it, 200 times in a row (System.Diagnostics.Process).", bare))
            .Line(Stats.F("Sluice's process executor alone (supervisor, own session, log files, exit status, group check): {0:0.00} ms per `true`.", executor))
            .Line()
            .Line("Each orchestrator runs a chain of 1, a chain of 100 and a fan-out/fan-in of 200 (root, 198 in parallel, sink) of `true` with")
            .Line("2 slots (bench/peers/). Wall time is from launching the run to its end: for Sluice from `POST /api/v1/runs` to the run's")
            .Line("Succeeded event on the client (the server already running, median of " + sluiceRuns.ToString(CultureInfo.InvariantCulture) + " runs);")
            .Line("for a peer from starting its command to its exit (one run each). Per step, the one-step run's time is taken out first, so")
            .Line("start-up costs (a Python interpreter, parsing) do not count against the peers: chain = (T100 - T1) / 99,")
            .Line("fan = (Tfan - T1) x 2 slots / 199. Overhead = per step - bare spawn. Ratio = peer per step / Sluice per step.")
            .Line($"A peer's run is stopped after {PeerLimit.TotalSeconds:0} s, to keep the whole benchmark short; its figures then start with `>=`.")
            .Line($"Before Sluice's runs, {FsProbe.Describe(fs)} (a step creates ~7 files and directories; see bench/README.md).")
            .Line(Stats.F("CPU per step while Sluice ran them (from /proc, all measured runs): chain {0:0.00} ms in the server + {1:0.00} ms in the", chainCpu.Server, chainCpu.Steps))
            .Line(Stats.F("steps' processes (supervisor and `true`), fan {0:0.00} + {1:0.00} ms. Two cores cannot run a fan-out step in less wall time than", fanCpu.Server, fanCpu.Steps))
            .Line(Stats.F("half their sum ({0:0.00} ms; it took {1:0.00}).", (fanCpu.Server + fanCpu.Steps) / 2, sluice.FanPerStep / 2))
            .Line();
        var rows = new List<IReadOnlyList<string>> { Row("Sluice", sluice, bare, sluice) };
        rows.AddRange(peers.Select(p => p.Times is { } t ? Row(p.Peer.Name, t, bare, sluice) : [p.Peer.Name, "failed: " + p.Error, "", "", "", "", "", "", ""]));
        section.Table(["orchestrator", "chain 1", "chain 100", "fan 200", "chain, per step", "fan, per step", "chain overhead", "fan overhead",
            "ratio to Sluice (chain / fan)"], rows);

        var ok = peers.Where(p => p.Times is not null).ToList();
        string PeerFig(Func<Times, double> per, Func<Times, bool> cut) => string.Join("; ", ok.Select(p =>
            Stats.F("{0} {1}{2} ({1}{3:0.0}x)", p.Peer.Name, cut(p.Times!) ? ">= " : "", Stats.Ms(per(p.Times!)), per(p.Times!) / per(sluice))));
        var chainOver = sluice.ChainPerStep - bare;
        var fanOver = sluice.FanPerStep - bare;
        section.Add(new Figure("3. per-step overhead above bare spawn, chain of 100", Stats.Ms(chainOver), "<= 2 ms, faster than every peer",
            chainOver <= 2 && ok.All(p => p.Times!.ChainPerStep > sluice.ChainPerStep), PeerFig(t => t.ChainPerStep, t => t.ChainCut) + " per step"));
        section.Add(new Figure("3. per-step overhead above bare spawn, fan-out/fan-in of 200", Stats.Ms(fanOver), "<= 2 ms, faster than every peer",
            fanOver <= 2 && ok.All(p => p.Times!.FanPerStep > sluice.FanPerStep), PeerFig(t => t.FanPerStep, t => t.FanCut) + " per step"));

        section.Line()
            .Line("Wide runs: a Vertex AI pipeline (KFP IR through the Vertex face, `POST .../pipelineJobs`) of one ParallelFor whose body is one")
            .Line("container task running `true` (KFP tasks run on the host: an executor input file and the kfp stand-in on PYTHONPATH each),")
            .Line("on the same server with 2 slots, one run of each width, from the POST to the run's end on the event stream. Per step = wall")
            .Line("x 2 slots / iterations. A run's bookkeeping must not grow with its width: the widest run a for-each may make is 10,000 iterations.")
            .Line()
            .Table(["iterations", "wall", "per step", "server CPU per step", "steps' processes CPU per step"], wide.Select(w => (IReadOnlyList<string>)
            [
                w.Iterations.ToString("N0", CultureInfo.InvariantCulture), Stats.Ms(w.WallMs), Stats.Ms(w.PerStep), Stats.Ms(w.Cpu.Server), Stats.Ms(w.Cpu.Steps),
            ]));
        var narrow = wide[0];
        var widest = wide[^1];
        section.Add(new Figure(Stats.F("3. per step, ParallelFor of {0:N0} / of {1:N0} `true` (Vertex face)", widest.Iterations, narrow.Iterations),
            Stats.F("{0} / {1} ({2:0.00}x)", Stats.Ms(widest.PerStep), Stats.Ms(narrow.PerStep), widest.PerStep / narrow.PerStep), "reported", null));
        return section;
    }

    /// <summary>One wide run: its width, wall time, per-step share of it, and CPU per step.</summary>
    private sealed record Wide(int Iterations, double WallMs, Cpu Cpu)
    {
        public double PerStep => WallMs * 2 / Iterations;
    }

    /// <summary>A KFP PipelineSpec with one ParallelFor over 0..n-1 whose body runs `true`.</summary>
    private static JsonObject ParallelFor(int n) => new()
    {
        ["pipelineInfo"] = new JsonObject { ["name"] = $"wide-{n}" },
        ["schemaVersion"] = "2.1.0",
        ["sdkVersion"] = "kfp-2.15.2",
        ["root"] = new JsonObject
        {
            ["dag"] = new JsonObject
            {
                ["tasks"] = new JsonObject
                {
                    ["for-loop-1"] = new JsonObject
                    {
                        ["componentRef"] = new JsonObject { ["name"] = "comp-for-loop-1" },
                        ["parameterIterator"] = new JsonObject
                        {
                            ["itemInput"] = "pipelinechannel--loop-item-param-1",
                            ["items"] = new JsonObject { ["raw"] = new JsonArray([.. Enumerable.Range(0, n).Select(i => (JsonNode)i)]).ToJsonString() },
                        },
                        ["taskInfo"] = new JsonObject { ["name"] = "for-loop-1" },
                    },
                },
            },
        },
        ["components"] = new JsonObject
        {
            ["comp-for-loop-1"] = new JsonObject
            {
                ["dag"] = new JsonObject
                {
                    ["tasks"] = new JsonObject
                    {
                        ["t"] = new JsonObject { ["componentRef"] = new JsonObject { ["name"] = "comp-t" }, ["taskInfo"] = new JsonObject { ["name"] = "t" } },
                    },
                },
                ["inputDefinitions"] = new JsonObject
                {
                    ["parameters"] = new JsonObject { ["pipelinechannel--loop-item-param-1"] = new JsonObject { ["parameterType"] = "NUMBER_INTEGER" } },
                },
            },
            ["comp-t"] = new JsonObject { ["executorLabel"] = "exec-t" },
        },
        ["deploymentSpec"] = new JsonObject
        {
            ["executors"] = new JsonObject
            {
                ["exec-t"] = new JsonObject { ["container"] = new JsonObject { ["image"] = "debian:12", ["command"] = new JsonArray("true") } },
            },
        },
    };

    private static IReadOnlyList<string> Row(string who, Times t, double bare, Times sluice)
    {
        var c = t.ChainCut ? ">= " : "";
        var f = t.FanCut ? ">= " : "";
        return
        [
            who, Stats.Ms(t.Chain1), c + Stats.Ms(t.Chain100), f + Stats.Ms(t.Fan200), c + Stats.Ms(t.ChainPerStep), f + Stats.Ms(t.FanPerStep),
            c + Stats.Ms(t.ChainPerStep - bare), f + Stats.Ms(t.FanPerStep - bare),
            who == "Sluice" ? "1" : Stats.F("{0}{1:0.0}x / {2}{3:0.0}x", c, t.ChainPerStep / sluice.ChainPerStep, f, t.FanPerStep / sluice.FanPerStep),
        ];
    }

    /// <summary>CPU time per step over all the measured runs of a shape, ms: the server's own, and its step processes'.</summary>
    private sealed record Cpu(double Server, double Steps);

    private static async Task<(Times Times, Cpu Chain, Cpu Fan, List<Wide> Wide)> SluiceAsync(BenchContext ctx, int runs)
    {
        ctx.Log("overhead: Sluice");
        await using var server = await ctx.StartServerAsync(ctx.NewDir("overhead"), "--slots", "2");
        foreach (var f in new[] { "chain1.yaml", "chain100.yaml", "fan200.yaml" })
        {
            await server.CreatePipelineAsync(ctx.Sluice(f));
        }
        await using var feed = await EventFeed.OpenAsync(server.BaseAddress);
        async Task<double> TimeAsync(string pipeline)
        {
            var t0 = Stopwatch.GetTimestamp();
            var run = await server.Client.StartRunAsync(new StartRun(pipeline));
            var end = await feed.WaitTerminalAsync(run.Id, TimeSpan.FromMinutes(5));
            if (end.To != "Succeeded")
            {
                throw new InvalidOperationException($"{pipeline} run {run.Id} ended {end.To}");
            }
            feed.Forget(run.Id);
            return Stopwatch.GetElapsedTime(t0, end.ReceivedTicks).TotalMilliseconds;
        }
        async Task<(double Median, Cpu Cpu)> MedianAsync(string pipeline, int steps)
        {
            var samples = new List<double>();
            var before = server.CpuTimes;
            for (var i = 0; i < runs; i++)
            {
                samples.Add(await TimeAsync(pipeline));
            }
            var after = server.CpuTimes;
            ctx.Log($"overhead: Sluice {pipeline}: {string.Join(", ", samples.Select(Stats.Ms))}");
            var n = (double)runs * steps;
            return (new Stats(samples).P50, new Cpu((after.Own - before.Own).TotalMilliseconds / n, (after.Children - before.Children).TotalMilliseconds / n));
        }
        await TimeAsync("chain1");
        await TimeAsync("chain100");
        await using var profile = await ctx.ProfileAsync(server, "overhead");
        var (t1, _) = await MedianAsync("chain1", 1);
        var (t100, chain) = await MedianAsync("chain100", 100);
        var (tfan, fan) = await MedianAsync("fan200", 200);
        async Task<Wide> WideAsync(int n)
        {
            var id = Stats.F("wide-{0}-{1}", n, Guid.NewGuid().ToString("N")[..8]);
            var body = new JsonObject
            {
                ["displayName"] = $"wide {n}", ["pipelineSpec"] = ParallelFor(n),
                ["runtimeConfig"] = new JsonObject { ["gcsOutputDirectory"] = "gs://bench/root" },
            };
            var before = server.CpuTimes;
            var t0 = Stopwatch.GetTimestamp();
            using var req = new HttpRequestMessage(HttpMethod.Post, $"v1/projects/{FaceHooks.Project}/locations/us-central1/pipelineJobs?pipelineJobId={id}")
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FaceHooks.BearerToken);
            using (var r = await server.Http.SendAsync(req))
            {
                if (!r.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"CreatePipelineJob of {n} iterations: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
                }
            }
            var end = await feed.WaitTerminalAsync(id, TimeSpan.FromMinutes(10));
            var after = server.CpuTimes;
            feed.Forget(id);
            if (end.To != "Succeeded")
            {
                throw new InvalidOperationException($"the ParallelFor of {n} ended {end.To}");
            }
            var w = new Wide(n, Stopwatch.GetElapsedTime(t0, end.ReceivedTicks).TotalMilliseconds,
                new Cpu((after.Own - before.Own).TotalMilliseconds / n, (after.Children - before.Children).TotalMilliseconds / n));
            ctx.Log(Stats.F("overhead: Sluice ParallelFor of {0}: {1}, {2} per step", n, Stats.Ms(w.WallMs), Stats.Ms(w.PerStep)));
            return w;
        }
        await WideAsync(100);
        List<Wide> wide = [await WideAsync(1000), await WideAsync(10_000)];
        return (new Times(t1, t100, tfan), chain, fan, wide);
    }
}
