using System.Diagnostics;
using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Storage.Sqlite;

namespace Sluice.Bench.Infra;

/// <summary>Fills a server's database with finished runs through the SQLite store itself (the same code path and schema a
/// server writes), before the server starts: a million runs through the API would take longer than the benchmark.</summary>
internal static class StoreFiller
{
    public const int Pipelines = 20;
    public const int Teams = 10;

    /// <summary>Writes <paramref name="count"/> finished runs (one step each, with their history), created one every 2.6 s
    /// up to a day before now, spread over 20 pipelines and 10 team labels.</summary>
    public static async Task FillAsync(string dbPath, long count, Action<string> log)
    {
        var time = TimeProvider.System;
        await using var store = await SqliteStore.OpenAsync(dbPath, time, CancellationToken.None);
        var now = time.GetUtcNow();
        var pipelineIds = new string[Pipelines];
        var source = "name: stored\nsteps:\n  - name: train\n    command: \"true\"\n";
        for (var p = 0; p < Pipelines; p++)
        {
            var name = $"p{p:00}";
            pipelineIds[p] = Ids.New();
            await store.CreatePipelineAsync(
                new PipelineRecord { Id = pipelineIds[p], Scope = Scope.Default, Name = name, LatestVersion = 1, CreatedAt = now, UpdatedAt = now },
                new PipelineVersionRecord { PipelineId = pipelineIds[p], Version = 1, Format = "native-yaml", Source = source.Replace("stored", name, StringComparison.Ordinal), CreatedAt = now },
                CancellationToken.None);
        }
        var start = now - TimeSpan.FromDays(1) - TimeSpan.FromSeconds(2.6 * count);
        var clock = Stopwatch.StartNew();
        // Pipeline, state and team are drawn independently (fixed seed): 85% Succeeded, 10% Failed, 5% Stopped.
        var random = new Random(42);
        for (long i = 0; i < count; i++)
        {
            var p = random.Next(Pipelines);
            var roll = random.Next(100);
            var state = roll < 85 ? RunState.Succeeded : roll < 95 ? RunState.Failed : RunState.Stopped;
            var team = random.Next(Teams);
            var created = start + TimeSpan.FromSeconds(2.6 * i);
            var ended = created + TimeSpan.FromSeconds(30 + i % 600);
            var id = Ids.New();
            var run = new RunRecord
            {
                Id = id, Scope = Scope.Default, PipelineId = pipelineIds[p], PipelineName = $"p{p:00}", PipelineVersion = 1, State = state, Version = 4,
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
            if ((i + 1) % 100_000 == 0)
            {
                log($"filled {i + 1:N0} runs ({(i + 1) / clock.Elapsed.TotalSeconds:N0}/s)");
            }
        }
    }
}
