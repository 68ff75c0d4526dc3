using System.Diagnostics;
using System.Globalization;
using System.Text;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;
using Sluice.Executors.Process;
using Sluice.Storage.Postgres;
using Sluice.Storage.Sqlite;

/// <summary>The multinode subset: run throughput with 1, 2 and 3 nodes on PostgreSQL against one node on SQLite, and the
/// latency of a stop that reaches a step on another node. Nodes are engines in this process, each with its own store
/// (connection pool and LISTEN connection), as separate servers would have.</summary>
internal static partial class Bench
{
    /// <summary>Queued -> Running -> Succeeded, and each of the three steps Pending -> Starting -> Succeeded.</summary>
    private const int TransitionsPerRun = 8;

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

    private sealed class Node : IAsyncDisposable
    {
        public required object Store { get; init; }
        public required RunEngine Engine { get; init; }
        public required RunService Runs { get; init; }
        public required string Dir { get; init; }

        public static async Task<Node> StartAsync(string? postgres, NodeRole role)
        {
            var dir = Path.Combine(WorkRoot, "sluice-node-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            var time = TimeProvider.System;
            object store = postgres is null
                ? await SqliteStore.OpenAsync(Path.Combine(dir, "sluice.db"), time, CancellationToken.None)
                : await PostgresStore.OpenAsync(postgres, time, CancellationToken.None);
            var engine = new RunEngine((IRunStore)store, (IPipelineStore)store, new DefinitionCompilers([new NativeDefinitionCompiler()]),
                [new ProcessExecutor(time)], new EngineOptions { DataDirectory = dir, Slots = 64, Role = role, PollInterval = TimeSpan.FromMilliseconds(500) },
                time, new EventHub());
            await engine.StartAsync(CancellationToken.None);
            return new Node { Store = store, Engine = engine, Runs = new RunService(engine), Dir = dir };
        }

        public async ValueTask DisposeAsync()
        {
            await Engine.DisposeAsync();
            await ((IAsyncDisposable)Store).DisposeAsync();
            try
            {
                Directory.Delete(Dir, true);
            }
            catch (IOException)
            {
            }
        }
    }

    public static async Task<string> MultiNodeAsync(string? postgres, int runs, int stops)
    {
        var report = new StringBuilder();
        report.Append(CultureInfo.InvariantCulture, $"""
            ### Throughput: runs started and state transitions per second ({runs} runs of three condition steps, 16 callers)
            Each run is created, scheduled and finished by its node's writer: 8 transitions (Queued -> Running -> Succeeded, three
            steps Pending -> Starting -> Succeeded), each a committed event. Started/s counts accepted starts while they are being
            made; transitions/s counts the transitions of every run until the last one ended.

            | store | nodes | runs started/s | transitions/s | wall time |
            |---|---|---|---|---|

            """);
        report.Append(await ThroughputAsync(null, 1, runs));
        if (postgres is null)
        {
            report.AppendLine().AppendLine("(PostgreSQL rows skipped: no connection string; `./build.sh bench multinode` starts a throwaway cluster.)");
            return report.ToString();
        }
        for (var nodes = 1; nodes <= 3; nodes++)
        {
            report.Append(await ThroughputAsync(await FreshSchemaAsync(postgres), nodes, runs));
        }
        report.AppendLine().Append(await CrossNodeStopAsync(await FreshSchemaAsync(postgres), stops));
        return report.ToString();
    }

    private static async Task<string> FreshSchemaAsync(string postgres)
    {
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var c = new Npgsql.NpgsqlConnection(PostgresStore.ToConnectionString(postgres)))
        {
            await c.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        return new Npgsql.NpgsqlConnectionStringBuilder(PostgresStore.ToConnectionString(postgres)) { SearchPath = schema }.ConnectionString;
    }

    private static async Task<string> ThroughputAsync(string? postgres, int nodeCount, int runs)
    {
        var nodes = new List<Node>();
        try
        {
            for (var i = 0; i < nodeCount; i++)
            {
                nodes.Add(await Node.StartAsync(postgres, NodeRole.Both));
            }
            await new PipelineService(nodes[0].Engine).CreateAsync(Scope.Default, FlowYaml, "native-yaml", null, CancellationToken.None);
            var ended = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
            var allEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var subs = nodes.Select(n => n.Engine.Hub.Subscribe(null, 1_000_000)).ToList();
            var readers = subs.Select(sub => Task.Run(async () =>
            {
                // Every node's hub also shows the other nodes' events (through the shared feed): count each run once.
                await foreach (var e in sub.Reader.ReadAllAsync())
                {
                    if (e.Step is null && e.To == nameof(RunState.Succeeded) && ended.TryAdd(e.RunId, 0) && ended.Count == runs)
                    {
                        allEnded.TrySetResult();
                    }
                }
            })).ToList();
            var clock = Stopwatch.StartNew();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) is var i && i < runs)
                {
                    await nodes[i % nodeCount].Runs.StartAsync(new StartRunRequest { Pipeline = "flow" }, CancellationToken.None);
                }
            })));
            var started = clock.Elapsed;
            await allEnded.Task.WaitAsync(TimeSpan.FromMinutes(10));
            var wall = clock.Elapsed;
            foreach (var s in subs)
            {
                s.Dispose();
            }
            await Task.WhenAll(readers);
            var transitions = runs * TransitionsPerRun;
            return string.Create(CultureInfo.InvariantCulture,
                $"| {(postgres is null ? "SQLite" : "PostgreSQL")} | {nodeCount} | {runs / started.TotalSeconds:0} | {transitions / wall.TotalSeconds:0} | {wall.TotalMilliseconds:0} ms |\n");
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    /// <summary>An API node accepts the stop; the step runs on a worker node. Measured: the stop call's answer (Stopping is
    /// durable), and the moment the step's shell ran its SIGTERM trap (bash's clock, written by the step).</summary>
    private static async Task<string> CrossNodeStopAsync(string postgres, int runs)
    {
        await using var api = await Node.StartAsync(postgres, NodeRole.Api);
        await using var worker = await Node.StartAsync(postgres, NodeRole.Worker);
        const string Script = "trap 'echo $EPOCHREALTIME > $SLUICE_STEP_DIR/term; exit 0' TERM; sleep 600 & wait";
        await new PipelineService(api.Engine).CreateAsync(Scope.Default,
            $"name: stopx\nsteps:\n  - name: work\n    command: bash\n    args: [\"-c\", \"{Script}\"]\n", "native-yaml", null, CancellationToken.None);
        var answered = new List<double>();
        var signalled = new List<double>();
        for (var i = 0; i < runs + 3; i++)
        {
            var id = (await api.Runs.StartAsync(new StartRunRequest { Pipeline = "stopx" }, CancellationToken.None)).Run.Id;
            var dir = worker.Engine.Options.StepDirectory(id, "work", 1);
            using (var sub = worker.Engine.Hub.Subscribe(id))
            {
                var deadline = Stopwatch.StartNew();
                while (!(await ((IRunStore)worker.Store).GetStepsAsync(id, CancellationToken.None)).Any(s => s.State == StepState.Running))
                {
                    await sub.Reader.WaitToReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                    while (sub.Reader.TryRead(out _))
                    {
                    }
                    if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        throw new TimeoutException($"run {id} never ran");
                    }
                }
            }
            // The trap is set once the shell runs; the supervisor execs it at once, but give it a moment on a busy machine.
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            var before = TimeProvider.System.GetUtcNow();
            var clock = Stopwatch.StartNew();
            await api.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = TimeSpan.FromSeconds(5) }, CancellationToken.None);
            var answer = clock.Elapsed.TotalMilliseconds;
            var term = Path.Combine(dir, "term");
            while (!File.Exists(term) || new FileInfo(term).Length == 0)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new TimeoutException($"run {id}: no SIGTERM reached its step");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System);
            }
            var at = double.Parse(File.ReadAllText(term).Trim(), CultureInfo.InvariantCulture);
            if (i >= 3)
            {
                answered.Add(answer);
                signalled.Add((at - before.ToUnixTimeMilliseconds() / 1000.0) * 1000);
            }
        }
        answered.Sort();
        signalled.Sort();
        return string.Create(CultureInfo.InvariantCulture, $"""
            ### Stop latency across nodes on PostgreSQL ({runs} runs)
            The stop is asked of an API node (`--role api`); the step runs on a worker node (`--role worker`). The API node files
            the stop in the database and wakes the worker (LISTEN/NOTIFY); the worker's writer commits Stopping and signals the
            step's group. "Answered" is the stop call's return (Stopping is durable); "SIGTERM" is when the step's trap ran.

            | measure | p50 | p90 | p99 | max | target |
            |---|---|---|---|---|---|
            | answered | {P(answered, 50):0.00} ms | {P(answered, 90):0.00} ms | {P(answered, 99):0.00} ms | {answered[^1]:0.00} ms | |
            | SIGTERM | {P(signalled, 50):0.00} ms | {P(signalled, 90):0.00} ms | {P(signalled, 99):0.00} ms | {signalled[^1]:0.00} ms | p99 <= 50 ms |

            """);
    }
}
