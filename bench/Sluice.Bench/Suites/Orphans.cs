using System.Diagnostics;
using System.Globalization;
using Sluice.Bench.Infra;
using Sluice.Client;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 item 2: the same stop on Sluice and on each peer running the equivalent workflow; processes of the
/// workflow still alive 10 s after the stop.</summary>
internal static class Orphans
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(10);

    private sealed record Trial(string Who, string How, int Started, int Left, string StopTime);

    public static async Task<Section> RunAsync(BenchContext ctx, int sluiceTrials = 10)
    {
        var section = new Section("orphans", "2. No orphans");
        var trials = new List<Trial>();
        trials.AddRange(await SluiceAsync(ctx, sluiceTrials));
        foreach (var peer in ctx.InstalledPeers)
        {
            foreach (var (sig, how) in new[] { (Native.SIGTERM, "SIGTERM to the orchestrator"), (Native.SIGINT, "SIGINT to the orchestrator") })
            {
                ctx.Log($"orphans: {peer.Name}, {how}");
                trials.Add(await PeerAsync(ctx, peer, sig, how));
            }
        }

        section.Line("The stop workflow (8 steps, each `sleep M & sleep M`: a step process with a child) runs on each orchestrator; once its steps run,")
            .Line("it is stopped the way that orchestrator is stopped, and 10 s later the benchmark counts the workflow's processes still alive")
            .Line("(by the unique marker M in their command lines), then kills them. Sluice: `POST /api/v1/runs/{id}:stop` with `graceSeconds: 0`.")
            .Line("Peers have no stop API: the orchestrator process is sent SIGTERM (what `kill`, systemd or a batch scheduler sends) or SIGINT")
            .Line("(what Ctrl-C sends; a terminal sends it to the whole foreground process group, steps included, which is the terminal's doing,")
            .Line("so here it goes to the orchestrator alone). Each peer runs in its own session. \"stopped after\" is the time until the run")
            .Line("was recorded Stopped (Sluice) or the orchestrator exited (peers).")
            .Line("Processes are all those with the marker: step shells, sleeps, and for Sluice the step supervisor (4 a step). cwltool runs at most")
            .Line("one step per core (2 here: it rounds the steps' quarter-core request up), so only 2 of its steps were running.")
            .Line();
        section.Table(["orchestrator", "stopped by", "trials", "workflow processes at the stop", "left after 10 s", "stopped after"],
            trials.GroupBy(t => (t.Who, t.How)).Select(g => (IReadOnlyList<string>)[g.Key.Who, g.Key.How, g.Count().ToString(CultureInfo.InvariantCulture),
                string.Join(", ", g.Select(t => t.Started).Distinct()), g.Sum(t => t.Left).ToString(CultureInfo.InvariantCulture),
                string.Join(", ", g.Select(t => t.StopTime).Take(3)) + (g.Count() > 3 ? ", ..." : "")]));
        var sluiceLeft = trials.Where(t => t.Who == "Sluice").Sum(t => t.Left);
        var peers = string.Join("; ", trials.Where(t => t.Who != "Sluice").GroupBy(t => t.Who)
            .Select(g => $"{g.Key}: " + string.Join(", ", g.Select(t => $"{t.Left} of {t.Started} ({(t.How.StartsWith("SIGTERM", StringComparison.Ordinal) ? "TERM" : "INT")})"))));
        section.Add(new Figure($"2. processes left 10 s after a stop ({sluiceTrials} runs)", sluiceLeft.ToString(CultureInfo.InvariantCulture), "0, always",
            sluiceLeft == 0, peers));
        return section;
    }

    private static async Task<List<Trial>> SluiceAsync(BenchContext ctx, int n)
    {
        ctx.Log($"orphans: Sluice, {n} runs");
        await using var server = await ctx.StartServerAsync(ctx.NewDir("orphans"), "--slots", "64");
        await server.CreatePipelineAsync(ctx.Sluice("stop8.yaml"));
        await using var feed = await EventFeed.OpenAsync(server.BaseAddress);
        var stops = new List<(string Marker, long At, string Time, int Started)>();
        for (var i = 0; i < n; i++)
        {
            var marker = Procs.NewMarker();
            var (id, _) = await StopLatency.StartRunningAsync(server, feed, "stop8", marker);
            var started = Procs.WithMarker(marker).Count;
            var t0 = Stopwatch.GetTimestamp();
            await server.Client.StopRunAsync(id, new StopRun { GraceSeconds = 0 });
            var end = await feed.WaitTerminalAsync(id, TimeSpan.FromSeconds(60));
            stops.Add((marker, t0, Stats.Ms(Stopwatch.GetElapsedTime(t0, end.ReceivedTicks).TotalMilliseconds), started));
        }
        var wait = After - Stopwatch.GetElapsedTime(stops[^1].At);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, TimeProvider.System);
        }
        var trials = new List<Trial>();
        foreach (var s in stops)
        {
            var alive = Procs.WithMarker(s.Marker);
            trials.Add(new Trial("Sluice", "stop API, grace 0", s.Started, alive.Count, s.Time));
            Procs.KillAll(alive);
        }
        return trials;
    }

    private static async Task<Trial> PeerAsync(BenchContext ctx, Peer peer, int signal, string how)
    {
        var marker = Procs.NewMarker();
        var work = ctx.NewDir($"orphans-{peer.Name.ToLowerInvariant()}");
        using var p = peer.Start(Shape.Stop8, work, marker);
        // Wait until all 8 steps run (16 sleeps), or until the count has not grown for 5 s (cwltool runs 2 at a time).
        var clock = Stopwatch.StartNew();
        int count = 0, last = -1;
        var stableSince = clock.Elapsed;
        while (count < StopLatency.SleepsPerRun && clock.Elapsed < TimeSpan.FromSeconds(180) && !p.HasExited)
        {
            count = Procs.Sleeps(marker);
            if (count != last)
            {
                (last, stableSince) = (count, clock.Elapsed);
            }
            else if (count > 0 && clock.Elapsed - stableSince > TimeSpan.FromSeconds(5))
            {
                break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        if (count == 0)
        {
            throw new InvalidOperationException($"{peer.Name} started no step of the stop workflow; see {work}/peer.log");
        }
        // The orchestrator's own command line carries the marker too; it is not one of the workflow's processes.
        var started = Procs.WithMarker(marker).Count(x => x.Pid != p.Id);
        var t0 = Stopwatch.GetTimestamp();
        Native.Signal(p.Id, signal);
        using (var cts = new CancellationTokenSource(After))
        {
            try
            {
                await p.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        var stopTime = p.HasExited ? Stats.Ms(Stopwatch.GetElapsedTime(t0).TotalMilliseconds) : "still running after 10 s";
        var wait = After - Stopwatch.GetElapsedTime(t0);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, TimeProvider.System);
        }
        var alive = Procs.WithMarker(marker).Where(x => x.Pid != p.Id).ToList();
        // Clean up by pid: the workflow's processes, then whatever else lives in the peer's session (workers, the orchestrator).
        Procs.KillAll(alive);
        if (!p.HasExited)
        {
            Native.Signal(p.Id, Native.SIGKILL);
        }
        Procs.KillAll(Procs.Snapshot().Where(x => x.Sid == p.Id));
        return new Trial(peer.Name, how, started, alive.Count, stopTime);
    }
}
