using System.Diagnostics;
using System.Globalization;
using Sluice.Bench.Infra;
using Sluice.Client;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 items 5 and 7 (memory): 1,000 running runs on a server that stores 10,000; the server's memory; then
/// one batch stop of all 1,000 and the time until the operation is done.</summary>
internal static class BatchStop
{
    public static async Task<Section> RunAsync(BenchContext ctx, int active = 1000, int stored = 10_000)
    {
        var section = new Section("batch-stop", "5. Batch stop, and memory with 10,000 stored and 1,000 active runs");
        var dir = ctx.NewDir("batch-stop");
        ctx.Log($"batch-stop: storing {stored - active:N0} finished runs");
        await StoreFiller.FillAsync(Path.Combine(dir, "sluice.db"), stored - active, ctx.Log);
        await using var server = await ctx.StartServerAsync(dir, "--slots", (active + 100).ToString(CultureInfo.InvariantCulture));
        await server.CreatePipelineAsync(ctx.Sluice("sleeper.yaml"));
        await using var feed = await EventFeed.OpenAsync(server.BaseAddress);
        var idleRss = server.RssKb;

        ctx.Log($"batch-stop: starting {active} runs");
        var prefix = Procs.NewMarker();
        var ids = new string[active];
        var startClock = Stopwatch.StartNew();
        var startProfile = await ctx.ProfileAsync(server, "batch-start");
        await Parallel.ForEachAsync(Enumerable.Range(0, active), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var marker = prefix + i.ToString("000", CultureInfo.InvariantCulture);
            var run = await server.Client.StartRunAsync(new StartRun("sleeper") { Parameters = new Dictionary<string, object?> { ["marker"] = marker } }, ct);
            ids[i] = run.Id;
            await WaitRunningAsync(server, feed, run.Id, ct);
        });
        var startTook = startClock.Elapsed;
        await startProfile.DisposeAsync();
        // Every step records Running once its process exists; the check below is of /proc itself.
        var running = Procs.Snapshot().Count(p => p.CommandLine.StartsWith("sleep " + prefix, StringComparison.Ordinal));
        await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
        var activeRss = server.RssKb;

        ctx.Log("batch-stop: stopping them with one operation");
        var stopProfile = await ctx.ProfileAsync(server, "batch-stop");
        var t0 = Stopwatch.GetTimestamp();
        var op = await server.Client.BatchStopAsync(new Sluice.Client.BatchStop { RunIds = ids, GraceSeconds = 0, Reason = "bench" });
        var answered = Stopwatch.GetElapsedTime(t0);
        while (!op.Done)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System);
            op = await server.Client.GetOperationAsync(op.Id);
        }
        var done = Stopwatch.GetElapsedTime(t0);
        await stopProfile.DisposeAsync();
        // The event stream may skip some events (see the throughput suite); the runs themselves say how they ended.
        var seen = ids.Select(id => feed.Of(id).FirstOrDefault(e => e.IsRunTerminal)).Where(e => e is not null).ToList();
        var lastStopped = seen.Count > 0 ? Stopwatch.GetElapsedTime(t0, seen.Max(e => e!.ReceivedTicks)) : TimeSpan.Zero;
        var notStopped = 0;
        foreach (var id in ids)
        {
            notStopped += (await server.Client.GetRunAsync(id)).State == "Stopped" ? 0 : 1;
        }
        var left = Procs.WithMarker(prefix);
        Procs.KillAll(left);

        section.Line($"{stored - active:N0} finished runs are stored first (through the SQLite store, before the server starts); then {active:N0} runs of")
            .Line("`sleeper` (one process step, `sleep M`) are started through the native API (16 at a time) and are all recorded Running, which")
            .Line($"took {startTook.TotalSeconds:0.0} s. Memory is the server process's resident set (VmRSS), without the step processes.")
            .Line("Then one `POST /api/v1/runs:stop` names all of them (`graceSeconds: 0`); the benchmark polls `GET /api/v1/operations/{id}`")
            .Line("every 5 ms until `done`.")
            .Line();
        section.Table(["figure", "value", "target"],
        [
            [$"server RSS, {stored - active:N0} stored, none active", Stats.F("{0:0} MiB", idleRss / 1024.0), "-"],
            [$"server RSS, {stored:N0} stored, {active:N0} active", Stats.F("{0:0} MiB", activeRss / 1024.0), "- (reported)"],
            ["step processes (`sleep M`) alive before the stop", running.ToString(CultureInfo.InvariantCulture), active.ToString(CultureInfo.InvariantCulture)],
            ["batch stop answered (operation created, every run Stopping)", Stats.Ms(answered.TotalMilliseconds), "-"],
            ["batch stop done", Stats.Ms(done.TotalMilliseconds), "<= 2 s"],
            [$"last run's Stopped event ({seen.Count} of {active} seen on the event stream)", Stats.Ms(lastStopped.TotalMilliseconds), "-"],
            ["runs not Stopped / processes left", $"{notStopped} / {left.Count}", "0 / 0"],
        ]);
        section.Add(new Figure($"5. batch stop of {active:N0} running runs, until the operation is done", Stats.Ms(done.TotalMilliseconds), "<= 2 s",
            done.TotalSeconds <= 2 && notStopped == 0 && left.Count == 0));
        section.Add(new Figure($"7. server memory, {stored:N0} stored and {active:N0} active runs", Stats.F("{0:0} MiB", activeRss / 1024.0), "reported", null,
            ""));
        return section;
    }

    /// <summary>Until the run's step is recorded Running: from the event stream, or from the run when the stream skipped it.</summary>
    private static async Task WaitRunningAsync(ServerHost server, EventFeed feed, string id, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await feed.WaitAsync(id, e => e.Step == "s" && e.To == "Running", TimeSpan.FromSeconds(2));
                return;
            }
            catch (TimeoutException)
            {
                var run = await server.Client.GetRunAsync(id, ct);
                var step = run.Steps is [var first, ..] ? first : null;
                if (step?.State is "Running")
                {
                    return;
                }
                if (clock.Elapsed > TimeSpan.FromMinutes(5) || run.State is "Succeeded" or "Failed" or "Stopped")
                {
                    throw new InvalidOperationException($"run {id} is {run.State} and its step {step?.State}, not Running");
                }
            }
        }
    }
}
