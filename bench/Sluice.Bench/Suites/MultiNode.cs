using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Sluice.Bench.Infra;
using Sluice.Client;
using Sluice.Storage.Postgres;

namespace Sluice.Bench.Suites;

/// <summary>Issue 8's benchmark: runs started and state transitions per second with 1, 2 and 3 server processes sharing one
/// PostgreSQL against one server on SQLite, and the latency of a stop asked of an API node until SIGTERM reaches the step
/// on a worker node.</summary>
internal static class MultiNode
{
    /// <summary>Queued -> Running -> Succeeded, and each of the three condition steps Pending -> Starting -> Succeeded.</summary>
    private const int TransitionsPerRun = 8;

    private const int Callers = 16;

    private const string FlowYaml = """
        name: flow
        parameters:
          n: { type: Integer, default: 7 }
        steps:
          - name: first
            type: condition
            if: "params.n > 0"
            then:
              - name: second
                type: condition
                if: "params.n > 5"
                then:
                  - name: third
                    type: condition
                    if: "params.n > 6"
        """;

    // The trap is set before `ready` is written, so a stop sent after `ready` exists always finds it.
    private const string StopYaml = """
        name: stopx
        steps:
          - name: work
            command: bash
            args: ["-c", "trap 'echo $EPOCHREALTIME > $SLUICE_STEP_DIR/term; exit 0' TERM; touch $SLUICE_STEP_DIR/ready; sleep 600 & wait"]
        """;

    public static async Task<Section> RunAsync(BenchContext ctx)
    {
        var section = new Section("multinode", "8. Several nodes on PostgreSQL");
        var postgres = ctx.Postgres;
        var runs = ctx.StopRuns * 10;
        var rows = new List<IReadOnlyList<string>> { await ThroughputAsync(ctx, null, 1, runs) };
        if (postgres is null)
        {
            section.Line("PostgreSQL rows skipped: no PostgreSQL (`./build.sh bench multinode` starts a throwaway cluster; or SLUICE_BENCH_POSTGRES).");
            section.Table(["store", "nodes", "runs started/s", "transitions/s", "wall time"], rows);
            return section;
        }
        for (var nodes = 1; nodes <= 3; nodes++)
        {
            rows.Add(await ThroughputAsync(ctx, await FreshSchemaAsync(postgres), nodes, runs));
        }
        var (answered, signalled) = await CrossNodeStopAsync(ctx, await FreshSchemaAsync(postgres), ctx.StopRuns);

        section.Line($"Real `sluice-server` processes on loopback ports share one PostgreSQL (a throwaway cluster on this machine, `fsync=off`")
            .Line($"like the tests'; its own fresh schema per case). {Callers} callers start {runs} runs of `flow` (three condition steps, no processes)")
            .Line("through the native API, spread round robin over the nodes, as fast as the servers accept them; each run has 8 transitions")
            .Line("(run Queued -> Running -> Succeeded, each step Pending -> Starting -> Succeeded), each committed before it is published.")
            .Line("Started/s counts accepted starts while they are made; transitions/s counts every run's transitions until the last run's")
            .Line("end reached the client on node 1's event stream (which carries every node's events through the shared feed).")
            .Line();
        section.Table(["store", "nodes", "runs started/s", "transitions/s", "wall time"], rows);
        section.Line($"Stop across nodes ({answered.Count} runs): the stop is asked of a node started with `--role api`; the step (a bash that traps")
            .Line("TERM and writes `$EPOCHREALTIME`) runs on a node started with `--role worker`. The API node files the stop in the database and")
            .Line("wakes the worker (LISTEN/NOTIFY, the request in the notification); the worker's writer commits Stopping and signals the step's")
            .Line("process group. \"answered\" is the stop call's return (Stopping is durable); \"SIGTERM\" is from sending the request to the trap running.")
            .Line();
        section.Table(["measure", "p50", "p90", "p99", "max", "target"],
        [
            ["answered", Stats.Ms(answered.P50), Stats.Ms(answered.P90), Stats.Ms(answered.P99), Stats.Ms(answered.Max), ""],
            ["SIGTERM", Stats.Ms(signalled.P50), Stats.Ms(signalled.P90), Stats.Ms(signalled.P99), Stats.Ms(signalled.Max), "p99 <= 50 ms"],
        ]);
        section.Line("- One node on PostgreSQL against SQLite: a start and each batch of transitions are round trips to the database (the")
            .Line("  compare-and-set commit fenced by owner); SQLite answers in-process, PostgreSQL over loopback, and here its backends")
            .Line("  share the same two cores with the nodes. PostgreSQL is what lets several machines share the work, not a faster single node.")
            .Line("- More nodes on one 2-core machine add no CPU: the database and the nodes compete for the same cores. Nodes do not")
            .Line("  serialise on each other (claims use `SKIP LOCKED`, each run has one writer); on separate machines each node adds its own.")
            .Line();
        section.Add(new Figure("8. stop across nodes, request to SIGTERM (p50 / p99)", $"{Stats.Ms(signalled.P50)} / {Stats.Ms(signalled.P99)}", "p99 <= 50 ms",
            signalled.P99 <= 50));
        return section;
    }

    private static async Task<string> FreshSchemaAsync(string postgres)
    {
        var cs = PostgresStore.ToConnectionString(postgres);
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE SCHEMA {schema}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(cs) { SearchPath = schema }.ConnectionString;
    }

    private static async Task<List<ServerHost>> StartNodesAsync(BenchContext ctx, string? postgres, params string[][] roles)
    {
        var nodes = new List<ServerHost>();
        foreach (var role in roles)
        {
            string[] store = postgres is null ? [] : ["--store", postgres];
            nodes.Add(await ctx.StartServerAsync(ctx.NewDir("node"), [.. store, "--slots", "64", .. role]));
        }
        return nodes;
    }

    private static async Task<IReadOnlyList<string>> ThroughputAsync(BenchContext ctx, string? postgres, int count, int runs)
    {
        var name = postgres is null ? "SQLite" : "PostgreSQL";
        ctx.Log($"multinode: throughput, {name}, {count} node(s), {runs} runs");
        var nodes = await StartNodesAsync(ctx, postgres, [.. Enumerable.Range(0, count).Select(_ => Array.Empty<string>())]);
        try
        {
            await nodes[0].Client.CreatePipelineAsync(FlowYaml);
            await using var feed = await EventFeed.OpenAsync(nodes[0].BaseAddress);
            var ids = new ConcurrentBag<string>();
            var t0 = Stopwatch.GetTimestamp();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) is var i && i < runs)
                {
                    ids.Add((await nodes[i % count].Client.StartRunAsync(new StartRun("flow"))).Id);
                }
            })));
            var started = Stopwatch.GetElapsedTime(t0);
            var last = 0L;
            foreach (var id in ids)
            {
                Ev end;
                try
                {
                    end = await feed.WaitTerminalAsync(id, TimeSpan.FromSeconds(120));
                }
                catch (TimeoutException)
                {
                    throw new TimeoutException($"run {id}: no end on the event stream (state {(await nodes[0].Client.GetRunAsync(id)).State})");
                }
                if (end.To != "Succeeded")
                {
                    throw new InvalidOperationException($"run {id} ended {end.To}");
                }
                last = Math.Max(last, end.ReceivedTicks);
            }
            var wall = Stopwatch.GetElapsedTime(t0, last);
            return [name, count.ToString(System.Globalization.CultureInfo.InvariantCulture), Stats.F("{0:0}", runs / started.TotalSeconds),
                Stats.F("{0:0}", runs * TransitionsPerRun / wall.TotalSeconds), Stats.Ms(wall.TotalMilliseconds)];
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    private static async Task<(Stats Answered, Stats Signalled)> CrossNodeStopAsync(BenchContext ctx, string postgres, int runs)
    {
        ctx.Log($"multinode: stop across nodes, {runs} runs");
        var nodes = await StartNodesAsync(ctx, postgres, ["--role", "api"], ["--role", "worker"]);
        var (api, worker) = (nodes[0], nodes[1]);
        try
        {
            await api.Client.CreatePipelineAsync(StopYaml);
            var answered = new List<double>();
            var signalled = new List<double>();
            const int warmup = 3;
            for (var i = 0; i < runs + warmup; i++)
            {
                var id = (await api.Client.StartRunAsync(new StartRun("stopx"))).Id;
                var dir = Path.Combine(worker.DataDir, "runs", id, "work", "1");
                await WaitForFileAsync(Path.Combine(dir, "ready"), TimeSpan.FromSeconds(60), $"run {id} never ran on the worker");
                var before = TimeProvider.System.GetUtcNow();
                var sent = Stopwatch.GetTimestamp();
                await api.Client.StopRunAsync(id, new StopRun { GraceSeconds = 5 });
                var answer = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                var term = Path.Combine(dir, "term");
                await WaitForFileAsync(term, TimeSpan.FromSeconds(30), $"run {id}: no SIGTERM reached its step");
                var at = double.Parse((await File.ReadAllTextAsync(term)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                if (i >= warmup)
                {
                    answered.Add(answer);
                    signalled.Add((at * 1000) - (before - DateTimeOffset.UnixEpoch).TotalMilliseconds);
                }
            }
            return (new Stats(answered), new Stats(signalled));
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    /// <summary>Waits for a file with content (the step writes it whole with one echo, or creates it empty for ready).</summary>
    private static async Task WaitForFileAsync(string path, TimeSpan timeout, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(path) || (path.EndsWith("term", StringComparison.Ordinal) && new FileInfo(path).Length == 0))
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException(failure);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System);
        }
    }
}
