using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.TestKit;
using static Sluice.Engine.Tests.Steps;

namespace Sluice.Engine.Tests;

/// <summary>A process step is spawned off the run's writer loop while another step of the run is active: what happens
/// while it is being spawned. Step "a" runs first (spawned by the loop itself); "b" starts beside it.</summary>
public sealed class SpawnTests : IAsyncLifetime
{
    private EngineHarness h = null!;

    public async Task InitializeAsync() => h = await EngineHarness.StartAsync(lease: TimeSpan.FromSeconds(3));

    public async Task DisposeAsync()
    {
        h.Gate.Release();
        await h.DisposeAsync();
    }

    private string Count => Path.Combine(h.Scratch, "count");

    private Plan Waiting() => new()
    {
        Steps =
        [
            Sh("a", $"while [ ! -e '{h.Scratch}/go' ]; do sleep 0.02; done"),
            Sh("b", $"echo started >> '{Count}'; while [ ! -e '{h.Scratch}/go' ]; do sleep 0.02; done"),
        ],
    };

    /// <summary>Starts a run of <see cref="Waiting"/> and returns once b's start is held at <paramref name="point"/>.</summary>
    private async Task<string> StartWithBHeldAsync(GatePoint point)
    {
        h.Gate.Hold(point, step: "b");
        var id = await h.StartAsync(Waiting());
        await h.Gate.Entered;
        return id;
    }

    [Theory]
    [InlineData(GatePoint.BeforeSpawn)]
    [InlineData(GatePoint.AfterSpawn)]
    public async Task Stop_WhileAStepIsBeingSpawned_StopsItOnceTakenIn(GatePoint point)
    {
        var id = await StartWithBHeldAsync(point);

        // The writer is not held up by the start: the stop is answered while the step is still being spawned.
        var answer = await h.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = TimeSpan.Zero }, CancellationToken.None)
            .WaitAsync(Deadline.Default);
        Assert.Equal(RunState.Stopping, answer.Run.State);
        h.Gate.Release();
        var end = await h.EndAsync(id);

        Assert.True(end.Run.State == RunState.Stopped, EngineHarness.Describe(end));
        Assert.All(end.Steps, s => Assert.Equal(StepState.Stopped, s.State));
        if (point == GatePoint.AfterSpawn)
        {
            // It was spawned: the stop reached it, and nothing of it is left.
            var pid = end.Steps.Single(s => s.Name == "b").Process!.Pid;
            Assert.True(await Posix.EventuallyAsync(() => !Posix.IsAlive(pid), Deadline.Default), $"pid {pid} still alive");
        }
    }

    [Theory]
    [InlineData(GatePoint.BeforeSpawn)]
    [InlineData(GatePoint.AfterSpawn)]
    public async Task Shutdown_WhileAStepIsBeingSpawned_TheRestartRunsItExactlyOnce(GatePoint point)
    {
        var id = await StartWithBHeldAsync(point);

        // The node goes down with the start in flight; the start then finishes (or is cancelled) after the writer ended.
        await h.ShutDownAsync().WaitAsync(Deadline.Default);
        h.Gate.Release();
        await h.StartAgainAsync();
        await File.WriteAllTextAsync(Path.Combine(h.Scratch, "go"), "");
        var end = await h.EndAsync(id);

        Assert.True(end.Run.State == RunState.Succeeded, EngineHarness.Describe(end));
        Assert.Equal(["started"], await File.ReadAllLinesAsync(Count));
    }
}
