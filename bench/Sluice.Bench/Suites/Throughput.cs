using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Sluice.Bench.Infra;
using Sluice.Client;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 item 4: many small runs started in parallel for a sustained period; runs started and state transitions
/// committed per second.</summary>
internal static class Throughput
{
    public const int Clients = 32;

    private sealed record Result(string Pipeline, double Seconds, long Started, long Finished, long Transitions, double ServerCpuSeconds, long ServerRssKb,
        long Missed);

    public static async Task<Section> RunAsync(BenchContext ctx)
    {
        var section = new Section("throughput", "4. Throughput");
        var fs = await FsProbe.WaitUntilFastAsync(ctx, "throughput");
        var r = await MeasureAsync(ctx, "tiny.yaml", "tiny", ctx.ThroughputSeconds);
        var perSec = r.Transitions / r.Seconds;
        section.Line($"{Clients} clients in a separate loop each start a run of `tiny` (one process step, `true`) through the native API and start the next")
            .Line($"when the event stream shows it finished, for {r.Seconds:0} s after a 5 s warm-up; the server runs on its defaults (SQLite,")
            .Line($"{Environment.ProcessorCount * 4} slots). A transition is one committed state change of a run or a step (run-state and step-state events;")
            .Line("a `tiny` run has 5: run Queued->Running->Succeeded, step Pending->Starting->Running->Succeeded, each committed before it is published),")
            .Line("counted in the server's database by commit time within the window; runs finished are counted the same way.")
            .Line($"Before it, {FsProbe.Describe(fs)}.")
            .Line();
        if (r.Missed > 0)
        {
            section.Line($"The event stream skipped {r.Missed:N0} committed events during this run (a client that waits on it then falls back to")
                .Line("`GET /api/v1/runs/{id}` after 1 s): `GET /api/v1/events` drops a live event whose sequence number is below one it already sent,")
                .Line("and runs committing concurrently publish out of sequence order.")
                .Line();
        }
        section.Table(["runs started/s", "runs finished/s", "transitions/s", "server CPU per run", "server CPU use", "server RSS at the end", "target"],
        [
            [Stats.F("{0:0}", r.Started / r.Seconds), Stats.F("{0:0}", r.Finished / r.Seconds), Stats.F("{0:0}", perSec),
                Stats.Ms(r.ServerCpuSeconds * 1000 / Math.Max(1, r.Finished)), Stats.F("{0:0}% of one core", r.ServerCpuSeconds / r.Seconds * 100),
                Stats.F("{0:0} MiB", r.ServerRssKb / 1024.0), ">= 2,000 transitions/s"],
        ]);
        section.Add(new Figure(Stats.F("4. state transitions per second, sustained {0:0} s (runs started/s)", r.Seconds), Stats.F("{0:0} ({1:0})", perSec, r.Started / r.Seconds),
            ">= 2,000", perSec >= 2000));
        return section;
    }

    private static async Task<Result> MeasureAsync(BenchContext ctx, string file, string pipeline, int seconds)
    {
        ctx.Log($"throughput: {pipeline}, {Clients} clients, {seconds} s");
        await using var server = await ctx.StartServerAsync(ctx.NewDir("throughput"));
        await server.CreatePipelineAsync(ctx.Sluice(file));
        await using var feed = await EventFeed.OpenAsync(server.BaseAddress);
        long started = 0;
        using var cts = new CancellationTokenSource();
        async Task ClientAsync()
        {
            while (!cts.IsCancellationRequested)
            {
                var run = await server.Client.StartRunAsync(new StartRun(pipeline));
                Interlocked.Increment(ref started);
                var state = await WaitEndAsync(server, feed, run.Id);
                feed.Forget(run.Id);
                if (state != "Succeeded")
                {
                    throw new InvalidOperationException($"run {run.Id} ended {state}");
                }
            }
        }
        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(ClientAsync)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System);
        var (s0, c0, w0) = (Interlocked.Read(ref started), server.CpuTime, TimeProvider.System.GetUtcNow());
        var clock = Stopwatch.StartNew();
        await using (await ctx.ProfileAsync(server, "throughput"))
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds), TimeProvider.System);
        }
        var (s1, c1, w1) = (Interlocked.Read(ref started), server.CpuTime, TimeProvider.System.GetUtcNow());
        var took = clock.Elapsed.TotalSeconds;
        var rss = server.RssKb;
        await cts.CancelAsync();
        await Task.WhenAll(clients);
        if (feed.Missed > 0)
        {
            ctx.Log($"throughput: the event stream skipped {feed.Missed} events");
        }
        var (transitions, finished) = await CountAsync(Path.Combine(server.DataDir, "sluice.db"), w0, w1);
        return new Result(pipeline, took, s1 - s0, finished, transitions, (c1 - c0).TotalSeconds, rss, feed.Missed);
    }

    /// <summary>The run's end from the event stream, or from the run itself when the stream skipped it.</summary>
    private static async Task<string> WaitEndAsync(ServerHost server, EventFeed feed, string id)
    {
        while (true)
        {
            try
            {
                return (await feed.WaitTerminalAsync(id, TimeSpan.FromSeconds(1))).To!;
            }
            catch (TimeoutException)
            {
                var run = await server.Client.GetRunAsync(id);
                if (run.State is "Succeeded" or "Failed" or "Stopped")
                {
                    return run.State;
                }
            }
        }
    }

    /// <summary>Transitions (run-state and step-state events) and finished runs committed in [from, to), by their commit times.</summary>
    private static async Task<(long Transitions, long Finished)> CountAsync(string db, DateTimeOffset from, DateTimeOffset to)
    {
        await using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*), coalesce(sum(step IS NULL AND to_state IN ('Succeeded', 'Failed', 'Stopped')), 0) FROM events " +
            "WHERE kind IN ('run-state', 'step-state') AND at >= @from AND at < @to";
        cmd.Parameters.AddWithValue("@from", from.UtcTicks);
        cmd.Parameters.AddWithValue("@to", to.UtcTicks);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return (r.GetInt64(0), r.GetInt64(1));
    }
}
