using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.TestKit;
using static Sluice.Engine.Tests.Steps;

namespace Sluice.Engine.Tests;

/// <summary>A step is recorded Running with the run's next change, or after the engine's RunningRecordDelay if nothing
/// comes first (EngineOptions): how that looks from outside, and that nothing depends on it being durable.</summary>
public sealed class RunningRecordTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);
    private EngineHarness? h;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (h is not null)
        {
            await h.DisposeAsync();
        }
    }

    private string Ready => Path.Combine(h!.Scratch, "ready");

    private async Task<IReadOnlyList<RunEvent>> StepEventsAsync(string runId, string step) =>
        (await h!.Runs.EventsAsync(runId, null, 0, 1000, CancellationToken.None)).Where(e => e.Kind == "step-state" && e.Step == step).ToList();

    private static async Task UntilExistsAsync(string path) =>
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(path), Deadline.Default), $"{path} was never written");

    [Fact]
    public async Task Running_StepEndsWithinTheDelay_RecordedInTheCommitOfItsEnd()
    {
        h = await EngineHarness.StartAsync(runningRecordDelay: Long);

        var id = await h.StartAsync(new Plan { Steps = [Sh("quick", "true"), Sh("next", "true", dependsOn: ["quick"])] });
        var end = await h.EndAsync(id);

        // The run did not wait for the delay: each step's end carried its Running.
        Assert.True(end.Run.State == RunState.Succeeded, EngineHarness.Describe(end));
        foreach (var step in new[] { "quick", "next" })
        {
            var events = await StepEventsAsync(id, step);
            Assert.Equal(["Starting", "Running", "Succeeded"], events.Select(e => e.To));
            Assert.Equal(events[2].At, events[1].At);
            Assert.NotNull(end.Of(step).Process);
        }
    }

    [Fact]
    public async Task Running_LongStep_RecordedOnceTheDelayHasPassed()
    {
        var delay = TimeSpan.FromMilliseconds(300);
        h = await EngineHarness.StartAsync(runningRecordDelay: delay);

        var id = await h.StartAsync(new Plan { Steps = [Sh("long", "sleep 600")] });
        var running = await h.WaitAsync(id, d => d.Of("long").State == StepState.Running);

        var events = await StepEventsAsync(id, "long");
        Assert.Equal(["Starting", "Running"], events.Select(e => e.To));
        // (A timer may fire a fraction of a millisecond early by the wall clock; a Running not held would be ~2 ms after.)
        var after = events[1].At - events[0].At;
        Assert.True(after >= delay - TimeSpan.FromMilliseconds(20), $"recorded Running {after.TotalMilliseconds} ms after Starting");
        Assert.True(Posix.IsAlive(running.Of("long").Process!.Pid));
        await h.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = TimeSpan.Zero }, CancellationToken.None);
        Assert.Equal(RunState.Stopped, (await h.EndAsync(id)).Run.State);
    }

    [Fact]
    public async Task Stop_BeforeRunningIsRecorded_RecordsRunningThenStopsTheProcess()
    {
        h = await EngineHarness.StartAsync(runningRecordDelay: Long);
        var id = await h.StartAsync(new Plan { Steps = [Sh("work", $"echo $$ > '{Ready}'; sleep 600")] });
        await UntilExistsAsync(Ready);
        Assert.Equal(StepState.Starting, (await h.Runs.GetAsync(id, null, CancellationToken.None)).Of("work").State);

        await h.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = TimeSpan.Zero }, CancellationToken.None);
        var end = await h.EndAsync(id);

        Assert.True(end.Run.State == RunState.Stopped, EngineHarness.Describe(end));
        Assert.Equal(["Starting", "Running", "Stopping", "Stopped"], (await StepEventsAsync(id, "work")).Select(e => e.To));
        // The step's shell and its supervisor (the recorded process) are both gone.
        var shell = int.Parse(File.ReadAllText(Ready).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var supervisor = end.Of("work").Process!.Pid;
        Assert.True(await Posix.EventuallyAsync(() => !Posix.IsAlive(shell) && !Posix.IsAlive(supervisor), Deadline.Default),
            $"pid {shell} or {supervisor} still alive");
    }

    [Fact]
    public async Task Restart_BeforeRunningIsRecorded_AdoptsTheProcessInsteadOfStartingItAgain()
    {
        h = await EngineHarness.StartAsync(lease: TimeSpan.FromSeconds(2), runningRecordDelay: Long);
        var count = Path.Combine(h.Scratch, "count");
        var go = Path.Combine(h.Scratch, "go");
        var id = await h.StartAsync(new Plan
        {
            Steps = [Sh("work", $"echo started >> '{count}'; echo $$ > '{Ready}'; while [ ! -e '{go}' ]; do sleep 0.02; done")],
        });
        await UntilExistsAsync(Ready);

        // The node goes down while the step is still Starting in the store; its process runs on.
        await h.ShutDownAsync().WaitAsync(Deadline.Default);
        Assert.Equal(StepState.Starting, (await h.Runs.GetAsync(id, null, CancellationToken.None)).Of("work").State);
        await h.StartAgainAsync();
        var adopted = await h.WaitAsync(id, d => d.Of("work").State == StepState.Running);
        await File.WriteAllTextAsync(go, "");
        var end = await h.EndAsync(id);

        Assert.True(end.Run.State == RunState.Succeeded, EngineHarness.Describe(end));
        Assert.Equal(["started"], await File.ReadAllLinesAsync(count));
        Assert.NotNull(adopted.Of("work").Process);
        Assert.Equal(1, end.Of("work").Attempt);
        Assert.Contains(await StepEventsAsync(id, "work"), e => e.To == "Running" && e.Message == "re-adopted after restart");
    }
}
