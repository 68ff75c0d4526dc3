using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

public class StopTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    private async Task<string> PipelineAsync(string prefix, string stepScript, string extra = "")
    {
        var name = Json.UniqueName(prefix);
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: work
                command: sh
                args: ["-c", {{System.Text.Json.JsonSerializer.Serialize(stepScript)}}]
            {{extra}}
            """);
        return name;
    }

    private async Task<JsonObject> StopAsync(string runId, object? body = null, HttpStatusCode expect = HttpStatusCode.Accepted) =>
        await S.PostJsonAsync($"/api/v1/runs/{runId}:stop", body ?? new { }, expect);

    private static async Task<int> ReadPidAsync(string path)
    {
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(path) && File.ReadAllText(path).Trim().Length > 0, Deadline.Default),
            $"{path} was not written");
        return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
    }

    private string StepDir(string runId, string step = "work", int attempt = 1) => Path.Combine(S.DataDir, "runs", runId, step, attempt.ToString(CultureInfo.InvariantCulture));

    [Fact]
    public async Task Stop_RunningRunWithGrandchild_StoppingThenStoppedAndNoProcessLeft()
    {
        var name = await PipelineAsync("grand", "sleep 600 & echo $! > $SLUICE_STEP_DIR/child.pid; sleep 600");
        var run = await S.StartRunAsync(name);
        var id = run.Str("id");
        await S.WaitForStepAsync(id, "work", "Running");
        var child = await ReadPidAsync(Path.Combine(StepDir(id), "child.pid"));
        var stepPid = (await S.GetRunAsync(id)).StepOf("work")["pid"]!.GetValue<int>();
        Assert.True(Posix.IsAlive(child));

        var answer = await StopAsync(id, new { reason = "no longer needed" });
        Assert.Equal("Stopping", answer.Str("answeredState"));

        var done = await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal("Stopped", done.StepOf("work").Str("state"));
        Assert.False(Posix.IsAlive(child), "the grandchild outlived the stop");
        Assert.False(Posix.IsAlive(stepPid), "the step process outlived the stop");
        Assert.Empty(Posix.GroupMembers(stepPid));
        Assert.Equal("no longer needed", done["stop"]!.Str("reason"));
        var events = (await S.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray();
        var stopEvent = Assert.Single(events, e => e.Str("kind") == "stop-requested");
        // Who stopped it is the token the request authenticated with.
        Assert.Equal("token:test-admin", stopEvent.Str("caller"));
        Assert.Contains("no longer needed", stopEvent.Str("message"));
    }

    [Fact]
    public async Task Stop_StepIgnoresSigterm_KilledAfterGracePeriod()
    {
        var name = await PipelineAsync("trap", "trap '' TERM; echo ready > $SLUICE_STEP_DIR/ready; sleep 600");
        var run = await S.StartRunAsync(name);
        var id = run.Str("id");
        await S.WaitForStepAsync(id, "work", "Running");
        await ReadPidAsync(Path.Combine(StepDir(id), "pid"));
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(Path.Combine(StepDir(id), "ready")), Deadline.Default));
        var stepPid = (await S.GetRunAsync(id)).StepOf("work")["pid"]!.GetValue<int>();

        var clock = Stopwatch.StartNew();
        var answer = await StopAsync(id, new { graceSeconds = 1 });
        Assert.Equal("Stopping", answer.Str("answeredState"));
        await S.WaitForStateAsync(id, "Stopped");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"stopped after {clock.Elapsed}, before the grace period ended");
        Assert.Empty(Posix.GroupMembers(stepPid));
    }

    [Fact]
    public async Task Stop_DuringRetryBackoff_NoFurtherAttemptStarts()
    {
        var name = Json.UniqueName("backoff");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: work
                command: sh
                args: ["-c", "exit 3"]
                retries: { count: 5, backoff: 1h }
            """);
        var id = (await S.StartRunAsync(name)).Str("id");
        // The first attempt failed and the step waits an hour for its second (back to Pending, on the event stream).
        await S.WaitForStepAsync(id, "work", "Pending");
        var waiting = (await S.GetRunAsync(id)).StepOf("work");
        Assert.Equal(1, waiting["attempt"]!.GetValue<int>());

        await StopAsync(id);
        var done = await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal(1, done.StepOf("work")["attempt"]!.GetValue<int>());
        Assert.False(Directory.Exists(StepDir(id, attempt: 2)), "a retry started after the stop");
        Assert.Contains(done.StepOf("work").Str("state"), new[] { "NotStarted", "Stopped" });
    }

    [Fact]
    public async Task Stop_SecondStopWhileStopping_ReturnsStoppingWithNoSecondEffect()
    {
        var name = await PipelineAsync("twice", "trap '' TERM; echo ready > $SLUICE_STEP_DIR/ready; sleep 600");
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.WaitForStepAsync(id, "work", "Running");
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(Path.Combine(StepDir(id), "ready")), Deadline.Default));

        Assert.Equal("Stopping", (await StopAsync(id, new { graceSeconds = 3 })).Str("answeredState"));
        var second = await StopAsync(id, new { graceSeconds = 3 });
        Assert.Equal("Stopping", second.Str("state"));
        await S.WaitForStateAsync(id, "Stopped");
        var events = (await S.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray();
        Assert.Single(events, e => e.Str("kind") == "stop-requested");
    }

    [Fact]
    public async Task Stop_TerminalRun_ConflictNamingTheState()
    {
        var name = await PipelineAsync("term", "true");
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.WaitForStateAsync(id, "Succeeded");
        var problem = await StopAsync(id, expect: HttpStatusCode.Conflict);
        Assert.Contains("Succeeded", problem.Str("detail"));
        Assert.Equal("Succeeded", (await S.GetRunAsync(id)).Str("state"));
    }

    [Fact]
    public async Task Stop_UnknownRun_NotFound()
    {
        var problem = await StopAsync("nosuchrun0000", expect: HttpStatusCode.NotFound);
        Assert.Equal(404, problem["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task Stop_SameToken_ReturnsFirstAnswer_DifferentRequestIsConflict()
    {
        var name = await PipelineAsync("token", "sleep 600");
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.WaitForStepAsync(id, "work", "Running");
        var token = Guid.NewGuid().ToString("N");
        var first = await StopAsync(id, new { idempotencyToken = token, reason = "r1" });
        Assert.Equal("Stopping", first.Str("answeredState"));
        await S.WaitForStateAsync(id, "Stopped");

        var again = await StopAsync(id, new { idempotencyToken = token, reason = "r1" });
        Assert.Equal("Stopping", again.Str("answeredState"));
        Assert.True(again["replayed"]!.GetValue<bool>());

        await StopAsync(id, new { idempotencyToken = token, reason = "another" }, HttpStatusCode.Conflict);
        var events = (await S.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray();
        Assert.Single(events, e => e.Str("kind") == "stop-requested");
    }

    [Fact]
    public async Task Stop_RacingNaturalCompletion_EndsStoppedOrSucceededAndNeverFlips()
    {
        var name = await PipelineAsync("race", "exit 0");
        for (var i = 0; i < 8; i++)
        {
            var id = (await S.StartRunAsync(name)).Str("id");
            using var r = await S.Http.PostAsJsonAsync($"/api/v1/runs/{id}:stop", new { graceSeconds = 0 });
            Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Conflict, $"stop answered {r.StatusCode}");
            var done = await S.WaitForRunAsync(id, s => s is "Stopped" or "Succeeded" or "Failed");
            Assert.Contains(done.Str("state"), new[] { "Stopped", "Succeeded" });
            var events = (await S.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray();
            var terminal = events.Where(e => e!["step"] is null && e.Str("kind") == "run-state"
                && e.Str("to") is "Stopped" or "Succeeded" or "Failed").ToList();
            Assert.Single(terminal);
            Assert.Equal(done.Str("state"), (await S.GetRunAsync(id)).Str("state"));
        }
    }

    [Fact]
    public async Task BatchStop_MixOfRunningFinishedAndUnknown_DoneWithPartialFailures()
    {
        var name = await PipelineAsync("batch", "sleep 600");
        var running = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = (await S.StartRunAsync(name)).Str("id");
            running.Add(id);
            await S.WaitForStepAsync(id, "work", "Running");
        }
        var quick = await PipelineAsync("batchq", "true");
        var finished = (await S.StartRunAsync(quick)).Str("id");
        await S.WaitForStateAsync(finished, "Succeeded");

        var op = await S.PostJsonAsync("/api/v1/runs:stop",
            new { runIds = running.Concat([finished, "unknownrun123"]).ToArray(), reason = "batch", graceSeconds = 0 }, HttpStatusCode.Accepted);
        var opId = op.Str("id");
        foreach (var id in running)
        {
            await S.WaitForStateAsync(id, "Stopped");
        }
        JsonObject final = op;
        Assert.True(await Posix.EventuallyAsync(() =>
        {
            final = S.GetJsonAsync($"/api/v1/operations/{opId}").GetAwaiter().GetResult();
            return final["done"]!.GetValue<bool>();
        }, Deadline.Default), "the operation did not finish");
        var results = final["results"]!.AsObject();
        Assert.All(running, id => Assert.Equal("Stopped", results[id]!.Str("state")));
        Assert.Equal("Succeeded", results[finished]!.Str("state"));
        Assert.Equal("NotFound", results["unknownrun123"]!["error"]!.Str("code"));
        Assert.Equal(1, final["partialFailures"]!.GetValue<int>());
        Assert.NotNull(final["createdAt"]);
        Assert.NotNull(final["updatedAt"]);
    }

    [Fact]
    public async Task BatchStop_ByPipelineAndLabelFilter_StopsOnlyMatchingRuns()
    {
        var name = await PipelineAsync("filter", "sleep 600");
        var red = (await S.StartRunAsync(name, labels: new Dictionary<string, string> { ["team"] = "red" })).Str("id");
        var blue = (await S.StartRunAsync(name, labels: new Dictionary<string, string> { ["team"] = "blue" })).Str("id");
        await S.WaitForStepAsync(red, "work", "Running");
        await S.WaitForStepAsync(blue, "work", "Running");
        var op = await S.PostJsonAsync("/api/v1/runs:stop",
            new { filter = new { pipeline = name, labels = new { team = "red" } }, graceSeconds = 0 }, HttpStatusCode.Accepted);
        Assert.Equal([red], op["request"]!["runIds"]!.AsArray().Select(n => n!.GetValue<string>()));
        await S.WaitForStateAsync(red, "Stopped");
        Assert.Equal("Running", (await S.GetRunAsync(blue)).Str("state"));
        await StopAsync(blue, new { graceSeconds = 0 });
        await S.WaitForStateAsync(blue, "Stopped");
    }

    [Fact]
    public async Task Delete_ActiveRunConflict_StoppedRunDeletedWithItsHistory()
    {
        var name = await PipelineAsync("del", "sleep 600");
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.WaitForStepAsync(id, "work", "Running");
        using (var r = await S.Http.DeleteAsync($"/api/v1/runs/{id}"))
        {
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        }
        await StopAsync(id, new { graceSeconds = 0 });
        await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal("Stopped", (await S.GetRunAsync(id)).Str("state"));
        using (var r = await S.Http.DeleteAsync($"/api/v1/runs/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        }
        await S.GetJsonAsync($"/api/v1/runs/{id}", HttpStatusCode.NotFound);
        await S.GetJsonAsync($"/api/v1/runs/{id}/events", HttpStatusCode.NotFound);
        Assert.False(Directory.Exists(Path.Combine(S.DataDir, "runs", id)));
    }
}
