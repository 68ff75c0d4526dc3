using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Storage.Sqlite;

namespace Sluice.Bench.Infra;

/// <summary>Fills a server's database with finished runs before the server starts: a million runs through the API would take
/// longer than the benchmark. A seed of up to 10,000 runs is written through the SQLite store itself (the rows a server writes);
/// more are copies of the seed made in SQL, with new ids and earlier times, so every value keeps the store's own format.</summary>
internal static class StoreFiller
{
    public const int Pipelines = 20;

    /// <summary>One run in this many belongs to the pipeline "rare" instead: a list filtered on it must not read the others.</summary>
    public const int RareEvery = 10_000;
    public const int Teams = 10;

    private static string Name(int p) => p == Pipelines ? "rare" : $"p{p:00}";

    public const int Seed = 10_000;

    /// <summary>Writes <paramref name="count"/> finished runs (one step each, with their history), created one every 2.6 s
    /// up to a day before now, spread over 20 pipelines (and one run in 10,000 in the pipeline "rare") and 10 team labels.</summary>
    public static async Task FillAsync(string dbPath, long count, Action<string> log)
    {
        var time = TimeProvider.System;
        await using var store = await SqliteStore.OpenAsync(dbPath, time, CancellationToken.None);
        var now = time.GetUtcNow();
        var pipelineIds = new string[Pipelines + 1];
        var source = "name: stored\nsteps:\n  - name: train\n    command: \"true\"\n";
        for (var p = 0; p <= Pipelines; p++)
        {
            var name = Name(p);
            pipelineIds[p] = Ids.New();
            await store.CreatePipelineAsync(
                new PipelineRecord { Id = pipelineIds[p], Scope = Scope.Default, Name = name, LatestVersion = 1, CreatedAt = now, UpdatedAt = now },
                new PipelineVersionRecord { PipelineId = pipelineIds[p], Version = 1, Format = "native-yaml", Source = source.Replace("stored", name, StringComparison.Ordinal), CreatedAt = now },
                CancellationToken.None);
        }
        var seed = (int)Math.Min(count, Seed);
        var start = now - TimeSpan.FromDays(1) - TimeSpan.FromSeconds(2.6 * seed);
        var clock = Stopwatch.StartNew();
        // Pipeline, state and team are drawn independently (fixed seed): 85% Succeeded, 10% Failed, 5% Stopped.
        var random = new Random(42);
        for (long i = 0; i < seed; i++)
        {
            var p = i % RareEvery == RareEvery / 2 ? Pipelines : random.Next(Pipelines);
            var roll = random.Next(100);
            var state = roll < 85 ? RunState.Succeeded : roll < 95 ? RunState.Failed : RunState.Stopped;
            var team = random.Next(Teams);
            var created = start + TimeSpan.FromSeconds(2.6 * i);
            var ended = created + TimeSpan.FromSeconds(30 + i % 600);
            // Copies replace the last 4 characters with their number (0001...), so seed ids end in 0000 to stay apart.
            var id = Ids.New(8) + "0000";
            var run = new RunRecord
            {
                Id = id, Scope = Scope.Default, PipelineId = pipelineIds[p], PipelineName = Name(p), PipelineVersion = 1, State = state, Version = 4,
                CreatedAt = created, StartedAt = created + TimeSpan.FromSeconds(1), EndedAt = ended, UpdatedAt = ended,
                Parameters = new JsonObject(), Labels = new Dictionary<string, string> { ["team"] = $"t{team}" },
                Error = state == RunState.Failed ? "step train failed: exit code 1" : null,
                Stop = state == RunState.Stopped ? new StopInfo { At = ended, Reason = "bench", Caller = "bench", Grace = TimeSpan.Zero } : null,
            };
            var stepState = state switch { RunState.Failed => StepState.Failed, RunState.Stopped => StepState.Stopped, _ => StepState.Succeeded };
            var step = new StepRecord
            {
                RunId = id, Name = "train", Kind = "process", State = stepState, Version = 5, Attempt = 1, StartedAt = run.StartedAt, EndedAt = ended,
                ExitCode = stepState == StepState.Succeeded ? 0 : stepState == StepState.Failed ? 1 : null,
                Inputs = new JsonObject { ["command"] = "true", ["args"] = new JsonArray(), ["env"] = new JsonObject() },
            };
            RunEvent[] events =
            [
                new() { RunId = id, Kind = "run-created", To = nameof(RunState.Queued), At = created, Caller = "bench" },
                new() { RunId = id, Kind = "run-state", From = nameof(RunState.Running), To = state.ToString(), At = ended },
            ];
            await store.CreateRunAsync(run, [step], events, null, CancellationToken.None);
        }
        await store.DisposeAsync();
        log($"stored {seed:N0} runs through the store in {clock.Elapsed.TotalSeconds:0.0} s");
        if (count > seed)
        {
            await CopyAsync(dbPath, seed, count, TimeSpan.FromSeconds(2.6 * seed), log);
        }
    }

    /// <summary>Copies the seed (the first <paramref name="seed"/> runs, with their steps and events) until there are
    /// <paramref name="count"/> runs: copy r has ids whose last 4 characters are r and times <paramref name="span"/> x r earlier.</summary>
    private static async Task CopyAsync(string dbPath, int seed, long count, TimeSpan span, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        await using var c = new SqliteConnection($"Data Source={dbPath};Pooling=False");
        await c.OpenAsync();
        await Exec(c, "PRAGMA synchronous = OFF");
        var seedIds = "SELECT id FROM runs ORDER BY created_at LIMIT @seed";
        string[] times = ["created_at", "started_at", "ended_at", "updated_at", "at"];
        async Task<string> CopySql(string table, string key, string? skip)
        {
            var cols = new List<string>();
            await using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
                await using var r = await cmd.ExecuteReaderAsync();
                while (await r.ReadAsync())
                {
                    cols.Add(r.GetString(0));
                }
            }
            cols.Remove(skip ?? "");
            var exprs = cols.Select(col => col == key ? $"substr({col}, 1, 8) || printf('%04d', @round)"
                : times.Contains(col) ? $"{col} - @shift" : col);
            return $"INSERT INTO {table} ({string.Join(", ", cols)}) SELECT {string.Join(", ", exprs)} FROM {table} " +
                $"WHERE {key} IN (SELECT id FROM seed) AND (@limit < 0 OR {key} IN (SELECT id FROM seed LIMIT @limit))";
        }
        await Exec(c, $"CREATE TEMP TABLE seed AS {seedIds.Replace("@seed", seed.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)}");
        string[] sqls = [await CopySql("runs", "id", null), await CopySql("steps", "run_id", null), await CopySql("events", "run_id", "seq")];
        var rounds = (count + seed - 1) / seed;
        for (var round = 1; round < rounds; round++)
        {
            var limit = round == rounds - 1 && count % seed != 0 ? count % seed : -1;
            await using var tx = c.BeginTransaction();
            foreach (var sql in sqls)
            {
                await using var cmd = c.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = sql;
                cmd.Parameters.AddWithValue("@round", round);
                cmd.Parameters.AddWithValue("@shift", span.Ticks * round);
                cmd.Parameters.AddWithValue("@limit", limit);
                try
                {
                    await cmd.ExecuteNonQueryAsync();
                }
                catch (SqliteException e)
                {
                    throw new InvalidOperationException($"copy {round} of the stored runs failed: {e.Message}\n{sql}", e);
                }
            }
            await tx.CommitAsync();
            if (round % 10 == 0)
            {
                log($"copied {(round + 1) * (long)seed:N0} runs ({clock.Elapsed.TotalSeconds:0} s)");
            }
        }
        await Exec(c, "PRAGMA wal_checkpoint(TRUNCATE)");
    }

    private static async Task Exec(SqliteConnection c, string sql)
    {
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }
}
