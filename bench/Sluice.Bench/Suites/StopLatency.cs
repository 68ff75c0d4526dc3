using System.Diagnostics;
using Sluice.Bench.Infra;
using Sluice.Client;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 item 1: a run with 8 running steps, each forking a child, stopped through the API; time from the stop
/// request to the run recorded Stopped (the event reaching the client) with every process gone.</summary>
internal static class StopLatency
{
    public const int Steps = 8;

    /// <summary>Once every step of a stop8 run runs, each has its shell's two sleeps (the shell, and Sluice's supervisor, come on top).</summary>
    public const int SleepsPerRun = Steps * 2;

    public static async Task<Section> RunAsync(BenchContext ctx)
    {
        var section = new Section("stop", "1. Stop latency");
        await using var server = await ctx.StartServerAsync(ctx.NewDir("stop"), "--slots", "64");
        await server.CreatePipelineAsync(ctx.Sluice("stop8.yaml"));
        await server.CreatePipelineAsync(ctx.Sluice("stop8-ignore-term.yaml"));
        await using var feed = await EventFeed.OpenAsync(server.BaseAddress);

        ctx.Log($"stop: {ctx.StopRuns} runs, grace 0");
        StopLatency.Result fast;
        await using (await ctx.ProfileAsync(server, "stop"))
        {
            fast = await MeasureAsync(server, feed, "stop8", ctx.StopRuns, 0);
        }
        ctx.Log($"stop: {ctx.GraceRuns} runs ignoring SIGTERM, grace 1 s");
        var slow = await MeasureAsync(server, feed, "stop8-ignore-term", ctx.GraceRuns, 1);
        var engine = await EngineInProcess.StopLatencyAsync(ctx, ctx.StopRuns);

        section.Line("A run of 8 process steps, each `sh -c \"sleep M & sleep M\"` (a shell that forked a child), is started through the native API")
            .Line("and stopped once every step is recorded Running and all 16 sleeps exist. Time from sending `POST /api/v1/runs/{id}:stop` to the")
            .Line("`run-state Stopped` event arriving on the client's event stream; then the benchmark checks that no process of the run is alive")
            .Line("(by the run's unique marker M in /proc). \"accepted\" is the stop call's own answer (Running -> Stopping committed).")
            .Line("No peer has a comparable measured stop: see 2 for what each does when stopped.")
            .Line();
        section.Table(["case", "runs", "accepted p50", "Stopped p50", "p90", "p99", "max", "processes left", "target"],
        [
            Row("grace 0, through the server", fast, "p50 <= 10 ms, p99 <= 25 ms"),
            Row("grace 0, engine in-process (no HTTP)", engine, "(diagnostic)"),
            Row("steps ignore SIGTERM, grace 1 s, through the server", slow, "<= 1025 ms"),
        ]);
        section.Add(new Figure("1. stop latency, 8 steps + children, grace 0 (p50 / p99)", $"{Stats.Ms(fast.Stopped.P50)} / {Stats.Ms(fast.Stopped.P99)}",
            "<= 10 ms / <= 25 ms", fast.Stopped.P50 <= 10 && fast.Stopped.P99 <= 25 && fast.Left == 0));
        section.Add(new Figure("1. stop latency, SIGTERM ignored, grace 1 s (p99)", Stats.Ms(slow.Stopped.P99), "<= grace + 25 ms = 1025 ms",
            slow.Stopped.P99 <= 1025 && slow.Left == 0));
        return section;
    }

    internal sealed record Result(int Runs, Stats Accepted, Stats Stopped, int Left);

    private static IReadOnlyList<string> Row(string name, Result r, string target) =>
        [name, r.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture), Stats.Ms(r.Accepted.P50), Stats.Ms(r.Stopped.P50), Stats.Ms(r.Stopped.P90),
            Stats.Ms(r.Stopped.P99), Stats.Ms(r.Stopped.Max), r.Left.ToString(System.Globalization.CultureInfo.InvariantCulture), target];

    private static async Task<Result> MeasureAsync(ServerHost server, EventFeed feed, string pipeline, int runs, double grace)
    {
        var accepted = new List<double>();
        var stopped = new List<double>();
        var left = 0;
        const int warmup = 3;
        for (var i = 0; i < runs + warmup; i++)
        {
            var marker = Procs.NewMarker();
            var (id, _) = await StartRunningAsync(server, feed, pipeline, marker);
            var t0 = Stopwatch.GetTimestamp();
            await server.Client.StopRunAsync(id, new StopRun { GraceSeconds = grace });
            var tAccepted = Stopwatch.GetTimestamp();
            var end = await feed.WaitTerminalAsync(id, TimeSpan.FromSeconds(60));
            if (end.To != "Stopped")
            {
                throw new InvalidOperationException($"run {id} ended {end.To}, not Stopped");
            }
            var alive = Procs.WithMarker(marker);
            left += alive.Count;
            Procs.KillAll(alive);
            feed.Forget(id);
            if (i >= warmup)
            {
                accepted.Add(Stopwatch.GetElapsedTime(t0, tAccepted).TotalMilliseconds);
                stopped.Add(Stopwatch.GetElapsedTime(t0, end.ReceivedTicks).TotalMilliseconds);
            }
        }
        return new Result(runs, new Stats(accepted), new Stats(stopped), left);
    }

    /// <summary>Starts a stop8 run and returns once all its steps are recorded Running and all 24 processes exist.</summary>
    internal static async Task<(string Id, RunInfo Run)> StartRunningAsync(ServerHost server, EventFeed feed, string pipeline, string marker)
    {
        var run = await server.Client.StartRunAsync(new StartRun(pipeline) { Parameters = new Dictionary<string, object?> { ["marker"] = marker } });
        for (var s = 0; s < Steps; s++)
        {
            var name = $"s{s}";
            await feed.WaitAsync(run.Id, e => e.Step == name && e.To == "Running", TimeSpan.FromSeconds(60));
        }
        await WaitForSleepsAsync(marker, SleepsPerRun, TimeSpan.FromSeconds(30));
        return (run.Id, run);
    }

    internal static async Task WaitForSleepsAsync(string marker, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Procs.Sleeps(marker) < count)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{count} `sleep {marker}` processes {marker} did not appear within {timeout.TotalSeconds} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System);
        }
    }
}
