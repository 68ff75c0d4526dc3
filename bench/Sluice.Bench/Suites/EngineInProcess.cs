using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sluice.Bench.Infra;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Execution;
using Sluice.Executors.Process;
using Sluice.Storage.Sqlite;

namespace Sluice.Bench.Suites;

/// <summary>The engine and the process executor hosted in this process over the real SQLite store and real processes, with no
/// HTTP in the way: diagnostic figures that split a server figure into its parts.</summary>
internal static class EngineInProcess
{
    private sealed class Host : IAsyncDisposable
    {
        public required SqliteStore Store { get; init; }
        public required RunEngine Engine { get; init; }
        public required RunService Runs { get; init; }
        public required PipelineService Pipelines { get; init; }

        public static async Task<Host> StartAsync(string dir, int slots)
        {
            var time = TimeProvider.System;
            var store = await SqliteStore.OpenAsync(Path.Combine(dir, "sluice.db"), time, CancellationToken.None);
            var engine = new RunEngine(store, store, new DefinitionCompilers([new NativeDefinitionCompiler()]), [new ProcessExecutor(time)],
                new EngineOptions { DataDirectory = dir, Slots = slots }, time, new EventHub());
            await engine.StartAsync(CancellationToken.None);
            return new Host { Store = store, Engine = engine, Runs = new RunService(engine), Pipelines = new PipelineService(engine) };
        }

        public async ValueTask DisposeAsync()
        {
            await Engine.DisposeAsync();
            await Store.DisposeAsync();
        }
    }

    /// <summary>The stop8 run stopped through RunService directly; the end is the Stopped event on the engine's hub.</summary>
    public static async Task<StopLatency.Result> StopLatencyAsync(BenchContext ctx, int runs)
    {
        ctx.Log($"stop: {runs} runs, grace 0, engine in-process");
        await using var host = await Host.StartAsync(ctx.NewDir("stop-engine"), slots: 64);
        await host.Pipelines.CreateAsync(Scope.Default, await File.ReadAllTextAsync(ctx.Sluice("stop8.yaml")), "native-yaml", null, CancellationToken.None);
        var accepted = new List<double>();
        var stopped = new List<double>();
        var left = 0;
        for (var i = 0; i < runs + 3; i++)
        {
            var marker = Procs.NewMarker();
            using var sub = host.Engine.Hub.Subscribe();
            var run = await host.Runs.StartAsync(new StartRunRequest { Pipeline = "stop8", Parameters = new JsonObject { ["marker"] = marker } },
                CancellationToken.None);
            var id = run.Run.Id;
            var running = 0;
            while (running < StopLatency.Steps && await sub.Reader.WaitToReadAsync())
            {
                while (sub.Reader.TryRead(out var e))
                {
                    if (e.RunId == id && e.Step is not null && e.To == nameof(StepState.Running))
                    {
                        running++;
                    }
                }
            }
            await StopLatency.WaitForSleepsAsync(marker, StopLatency.SleepsPerRun, TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            await host.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = TimeSpan.Zero }, CancellationToken.None);
            var acceptedAt = clock.Elapsed;
            var done = false;
            while (!done && await sub.Reader.WaitToReadAsync())
            {
                while (sub.Reader.TryRead(out var e))
                {
                    if (e.RunId == id && e.Step is null && e.To == nameof(RunState.Stopped))
                    {
                        done = true;
                    }
                }
            }
            var stoppedAt = clock.Elapsed;
            var alive = Procs.WithMarker(marker);
            left += alive.Count;
            Procs.KillAll(alive);
            if (i >= 3)
            {
                accepted.Add(acceptedAt.TotalMilliseconds);
                stopped.Add(stoppedAt.TotalMilliseconds);
            }
        }
        return new StopLatency.Result(runs, new Stats(accepted), new Stats(stopped), left);
    }

    /// <summary>The process executor alone: start `true` and wait for its outcome, n times in a row.</summary>
    public static async Task<double> ExecutorAloneMsAsync(BenchContext ctx, int n)
    {
        var executor = new ProcessExecutor(TimeProvider.System);
        var dir = ctx.NewDir("executor");
        var plan = new ProcessStepPlan { Name = "t", Command = Template.Literal("true") };
        var inputs = new JsonObject { ["command"] = "true", ["args"] = new JsonArray(), ["env"] = new JsonObject() };
        async Task OnceAsync(int i)
        {
            var start = new StepStart
            {
                RunId = "bench", StepName = "t", Attempt = i + 1, Directory = Path.Combine(dir, i.ToString(CultureInfo.InvariantCulture)), Plan = plan,
                Inputs = inputs,
            };
            await using var e = await executor.StartAsync(start, CancellationToken.None);
            await e.Completion;
        }
        for (var i = 0; i < 20; i++)
        {
            await OnceAsync(i);
        }
        var clock = Stopwatch.StartNew();
        for (var i = 20; i < n + 20; i++)
        {
            await OnceAsync(i);
        }
        return clock.Elapsed.TotalMilliseconds / n;
    }

    /// <summary>The machine's floor: start `true` and reap it with System.Diagnostics.Process, n times in a row.</summary>
    public static double BareSpawnMs(int n)
    {
        for (var i = 0; i < 20; i++)
        {
            using var w = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            w.WaitForExit();
        }
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            p.WaitForExit();
        }
        return clock.Elapsed.TotalMilliseconds / n;
    }
}
