using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>Function steps end to end: registered through /api/v1/functions, called by a run, stopped as SageMaker stops a
/// Lambda step (the run waits for the function to return, or to reach its time limit).</summary>
public class FunctionStepTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    /// <summary>Registers <c>sh -c script NAME</c> under a fresh name; returns the name.</summary>
    private async Task<string> RegisterAsync(string script, double? timeLimitSeconds = null)
    {
        var name = Json.UniqueName("fn");
        using var r = await S.Http.PutAsJsonAsync($"/api/v1/functions/{name}",
            new { command = new[] { "sh", "-c", script, name }, timeLimitSeconds });
        await ServerProcess.ExpectAsync(r, HttpStatusCode.Created);
        return name;
    }

    private string StepDir(string runId, string step, int attempt = 1) =>
        Path.Combine(S.DataDir, "runs", runId, step, attempt.ToString(CultureInfo.InvariantCulture));

    private static async Task WaitForFileAsync(string path) =>
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(path), Deadline.Default), $"{path} was not written");

    private async Task<JsonObject> StopAsync(string runId) =>
        await S.PostJsonAsync($"/api/v1/runs/{runId}:stop", new { reason = "not needed" }, HttpStatusCode.Accepted);

    private async Task<JsonArray> EventsAsync(string runId) => (await S.GetJsonAsync($"/api/v1/runs/{runId}/events"))["events"]!.AsArray();

    /// <summary>Waits at a gate file in the attempt directory, then returns {"v": 42}.</summary>
    private const string GatedScript = """
        echo started > "$SLUICE_STEP_DIR/started"
        while [ ! -e "$SLUICE_STEP_DIR/gate" ]; do sleep 0.05; done
        echo '{"v": 42, "note": "returned"}'
        """;

    [Fact]
    public async Task FunctionStep_Succeeds_TypedOutputsFlowToLaterSteps()
    {
        var fn = await RegisterAsync("""
            cat > "$SLUICE_STEP_DIR/args.json"
            echo '{"accuracy": 0.875, "count": "3", "label": "cat", "unused": {"x": 1}}'
            """);
        var pipeline = Json.UniqueName("fnok");
        await S.CreatePipelineAsync($$$"""
            name: {{{pipeline}}}
            parameters:
              n: { type: Integer, default: 5 }
            steps:
              - name: score
                type: function
                function: {{{fn}}}
                arguments: { n: "{{params.n}}", text: "n={{params.n}}" }
                outputs: { accuracy: Float, count: Integer, label: String }
              - name: use
                command: sh
                args: ["-c", "echo \"$0 $1 $2\" > $SLUICE_OUTPUTS/seen", "{{steps.score.outputs.accuracy}}", "{{steps.score.outputs.count}}", "{{steps.score.outputs.label}}"]
                outputs: { seen: String }
              - name: enough
                type: condition
                if: "steps.score.outputs.count > 2"
                then:
                  - { name: big, command: "true" }
                else:
                  - { name: small, command: "true" }
            """);
        var id = (await S.StartRunAsync(pipeline, new { n = 7 })).Str("id");

        var run = await S.WaitForStateAsync(id, "Succeeded");

        var score = run.StepOf("score");
        Assert.Equal("function", score.Str("kind"));
        Assert.Equal("Succeeded", score.Str("state"));
        Assert.Equal(0.875, score["outputs"]!["accuracy"]!.GetValue<double>());
        Assert.Equal(3, score["outputs"]!["count"]!.GetValue<long>());
        Assert.Equal("cat", score["outputs"]!.Str("label"));
        Assert.Equal(7, score["inputs"]!["arguments"]!["n"]!.GetValue<long>());
        var sent = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(StepDir(id, "score"), "args.json")))!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["n"] = 7, ["text"] = "n=7" }, sent), sent.ToJsonString());
        Assert.Equal("0.875 3 cat", run.StepOf("use")["outputs"]!.Str("seen"));
        Assert.Equal("Succeeded", run.StepOf("big").Str("state"));
        Assert.Equal("Skipped", run.StepOf("small").Str("state"));
    }

    [Fact]
    public async Task FunctionStep_FunctionFails_StepAndRunFailedWithItsReason()
    {
        var fn = await RegisterAsync("echo 'loading model' >&2; echo 'model not found: m1' >&2; exit 2");
        var pipeline = Json.UniqueName("fnerr");
        await S.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: {{fn}}, outputs: { v: Integer } }
              - { name: after, command: "true", dependsOn: [call] }
            """);
        var id = (await S.StartRunAsync(pipeline)).Str("id");

        var run = await S.WaitForStateAsync(id, "Failed");

        var expected = $"function {fn} exited with code 2: model not found: m1";
        Assert.Equal("Failed", run.StepOf("call").Str("state"));
        Assert.Equal(expected, run.StepOf("call").Str("reason"));
        Assert.Contains(expected, run.Str("error"), StringComparison.Ordinal);
        Assert.Equal("NotStarted", run.StepOf("after").Str("state"));
    }

    [Fact]
    public async Task FunctionStep_MissingDeclaredOutput_Failed()
    {
        var fn = await RegisterAsync("""echo '{"other": 1}'""");
        var pipeline = Json.UniqueName("fnout");
        await S.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: {{fn}}, outputs: { wanted: String } }
            """);
        var id = (await S.StartRunAsync(pipeline)).Str("id");
        var run = await S.WaitForStateAsync(id, "Failed");
        Assert.Equal($"function {fn} returned no output 'wanted'", run.StepOf("call").Str("reason"));
    }

    [Fact]
    public async Task FunctionStep_NotRegistered_FailedSayingSo()
    {
        var pipeline = Json.UniqueName("fnnone");
        await S.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: never-registered-fn }
            """);
        var id = (await S.StartRunAsync(pipeline)).Str("id");
        var run = await S.WaitForStateAsync(id, "Failed");
        Assert.Equal("function never-registered-fn is not registered", run.StepOf("call").Str("reason"));
    }

    [Fact]
    public async Task FunctionStep_PastItsTimeLimit_FailedAndNothingLeft()
    {
        var fn = await RegisterAsync("""sleep 600 & echo $! > "$SLUICE_STEP_DIR/child.pid"; sleep 600""", timeLimitSeconds: 60);
        var pipeline = Json.UniqueName("fnslow");
        await S.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: {{fn}}, timeLimit: 1s }
            """);
        var id = (await S.StartRunAsync(pipeline)).Str("id");

        var run = await S.WaitForStateAsync(id, "Failed");

        Assert.Equal($"function {fn} timed out after 1s", run.StepOf("call").Str("reason"));
        Assert.Contains("timed out after 1s", run.Str("error"), StringComparison.Ordinal);
        var pid = run.StepOf("call")["pid"]!.GetValue<int>();
        var child = int.Parse((await File.ReadAllTextAsync(Path.Combine(StepDir(id, "call"), "child.pid"))).Trim(), CultureInfo.InvariantCulture);
        Assert.False(Posix.IsAlive(child), "the function's child outlived its time limit");
        Assert.Empty(Posix.GroupMembers(pid));
    }

    [Fact]
    public async Task Stop_WhileFunctionRuns_StoppingUntilItReturns_ThenStepSucceededAndRunStopped()
    {
        var fn = await RegisterAsync(GatedScript, timeLimitSeconds: 120);
        var pipeline = Json.UniqueName("fnstop");
        await S.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: {{fn}}, outputs: { v: Integer, note: String } }
              - { name: after, command: "true", dependsOn: [call] }
            """);
        var id = (await S.StartRunAsync(pipeline)).Str("id");
        await S.WaitForStepAsync(id, "call", "Running");
        await WaitForFileAsync(Path.Combine(StepDir(id, "call"), "started"));
        var pid = (await S.GetRunAsync(id)).StepOf("call")["pid"]!.GetValue<int>();

        Assert.Equal("Stopping", (await StopAsync(id)).Str("answeredState"));
        await S.WaitForStepAsync(id, "call", "Stopping");
        // A second stop changes nothing, and the function is still running: it cannot be interrupted.
        Assert.Equal("Stopping", (await StopAsync(id)).Str("state"));
        var meanwhile = await S.GetRunAsync(id);
        Assert.Equal("Stopping", meanwhile.Str("state"));
        Assert.Equal("Stopping", meanwhile.StepOf("call").Str("state"));
        Assert.True(Posix.IsAlive(pid), "the stop interrupted the function");

        var released = TimeProvider.System.GetUtcNow();
        await File.WriteAllTextAsync(Path.Combine(StepDir(id, "call"), "gate"), "go");
        var run = await S.WaitForStateAsync(id, "Stopped");

        var call = run.StepOf("call");
        Assert.Equal("Succeeded", call.Str("state"));
        Assert.Equal(42, call["outputs"]!["v"]!.GetValue<long>());
        Assert.Equal("returned", call["outputs"]!.Str("note"));
        Assert.Equal("NotStarted", run.StepOf("after").Str("state"));
        Assert.Null(run["error"]);
        // The run left Stopping only after the function returned.
        var events = await EventsAsync(id);
        var stopped = Assert.Single(events, e => e!["step"] is null && e["to"]?.GetValue<string>() == "Stopped");
        var succeeded = Assert.Single(events, e => e!["step"]?.GetValue<string>() == "call" && e["to"]?.GetValue<string>() == "Succeeded");
        Assert.True(stopped!["seq"]!.GetValue<long>() > succeeded!["seq"]!.GetValue<long>());
        Assert.True(DateTimeOffset.Parse(stopped.Str("at"), CultureInfo.InvariantCulture) >= released.AddMilliseconds(-1),
            "the run was Stopped before the function returned");
    }

    [Fact]
    public async Task Stop_WhileFunctionRunsPastItsTimeLimit_StepFailedAndRunFailedWithThatReason()
    {
        var fn = await RegisterAsync(GatedScript, timeLimitSeconds: 60);
        var pipeline = Json.UniqueName("fnstoplimit");
        await S.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: {{fn}}, timeLimit: 3s, outputs: { v: Integer } }
              - { name: after, command: "true", dependsOn: [call] }
            """);
        var id = (await S.StartRunAsync(pipeline)).Str("id");
        await S.WaitForStepAsync(id, "call", "Running");
        await WaitForFileAsync(Path.Combine(StepDir(id, "call"), "started"));
        var pid = (await S.GetRunAsync(id)).StepOf("call")["pid"]!.GetValue<int>();

        Assert.Equal("Stopping", (await StopAsync(id)).Str("answeredState"));
        var run = await S.WaitForRunAsync(id, s => s is "Failed" or "Stopped" or "Succeeded");

        var expected = $"function {fn} timed out after 3s";
        Assert.Equal("Failed", run.Str("state"));
        Assert.Equal("Failed", run.StepOf("call").Str("state"));
        Assert.Equal(expected, run.StepOf("call").Str("reason"));
        Assert.Contains(expected, run.Str("error"), StringComparison.Ordinal);
        Assert.Equal("not needed", run["stop"]!.Str("reason"));
        Assert.Equal("NotStarted", run.StepOf("after").Str("state"));
        Assert.Empty(Posix.GroupMembers(pid));
    }

    [Fact]
    public async Task Kill9_WhileFunctionRuns_AfterRestartStepLostRunFailedAndNothingLeft()
    {
        await using var s = await ServerProcess.StartAsync();
        var fn = Json.UniqueName("fn");
        using (var r = await s.Http.PutAsJsonAsync($"/api/v1/functions/{fn}", new { command = new[] { "sh", "-c", GatedScript, fn } }))
        {
            await ServerProcess.ExpectAsync(r, HttpStatusCode.Created);
        }
        var pipeline = Json.UniqueName("fnlost");
        await s.CreatePipelineAsync($$"""
            name: {{pipeline}}
            steps:
              - { name: call, type: function, function: {{fn}} }
            """);
        var id = (await s.StartRunAsync(pipeline)).Str("id");
        await s.WaitForStepAsync(id, "call", "Running");
        var dir = Path.Combine(s.DataDir, "runs", id, "call", "1");
        await WaitForFileAsync(Path.Combine(dir, "started"));
        var pid = (await s.GetRunAsync(id)).StepOf("call")["pid"]!.GetValue<int>();

        await s.KillAsync();
        Assert.True(Posix.IsAlive(pid), "the function died with the server");
        await s.RestartAsync();
        var run = await s.WaitForStateAsync(id, "Failed");

        Assert.Equal("lost: the function call was interrupted by a server restart", run.StepOf("call").Str("reason"));
        Assert.True(await Posix.EventuallyAsync(() => Posix.GroupMembers(pid).Count == 0, Deadline.Default), "the function outlived the restart");
    }

    // ---- the functions API ----

    [Fact]
    public async Task FunctionsApi_PutGetListReplaceDelete()
    {
        var name = Json.UniqueName("api");
        using (var created = await S.Http.PutAsJsonAsync($"/api/v1/functions/{name}",
            new { command = new[] { "python3", "/srv/fn.py" }, env = new Dictionary<string, string> { ["MODE"] = "fast" } }))
        {
            var f = await ServerProcess.ExpectAsync(created, HttpStatusCode.Created);
            Assert.Equal("command", f.Str("kind"));
            Assert.Equal(120, f["timeLimitSeconds"]!.GetValue<double>());
            Assert.Equal("fast", f["env"]!.Str("MODE"));
        }
        var got = await S.GetJsonAsync($"/api/v1/functions/{name}");
        Assert.Equal(["python3", "/srv/fn.py"], got["command"]!.AsArray().Select(a => a!.GetValue<string>()));

        using (var replaced = await S.Http.PutAsJsonAsync($"/api/v1/functions/{name}", new { url = "http://127.0.0.1:9/fn", timeLimitSeconds = 30 }))
        {
            var f = await ServerProcess.ExpectAsync(replaced, HttpStatusCode.OK);
            Assert.Equal("url", f.Str("kind"));
            Assert.Null(f["command"]);
            Assert.Equal(30, f["timeLimitSeconds"]!.GetValue<double>());
            Assert.Equal(got.Str("createdAt"), f.Str("createdAt"));
        }
        var list = await S.GetJsonAsync("/api/v1/functions?pageSize=1000");
        Assert.Contains(list["functions"]!.AsArray(), f => f!.Str("name") == name);

        using (var deleted = await S.Http.DeleteAsync($"/api/v1/functions/{name}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        await S.GetJsonAsync($"/api/v1/functions/{name}", HttpStatusCode.NotFound);
        using var again = await S.Http.DeleteAsync($"/api/v1/functions/{name}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task FunctionsApi_InvalidBody_BadRequestWithEveryProblem()
    {
        using var r = await S.Http.PutAsJsonAsync("/api/v1/functions/bad", new { command = new[] { "x" }, url = "ftp://x", timeLimitSeconds = 900, colour = 1 });
        var problem = await ServerProcess.ExpectAsync(r, HttpStatusCode.BadRequest);
        var paths = problem["problems"]!.AsArray().Select(p => p!.Str("path")).ToList();
        Assert.Contains("timeLimitSeconds", paths);
        Assert.Contains("colour", paths);

        using var neither = await S.Http.PutAsJsonAsync("/api/v1/functions/bad", new { timeLimitSeconds = 10 });
        var p2 = await ServerProcess.ExpectAsync(neither, HttpStatusCode.BadRequest);
        Assert.Contains(p2["problems"]!.AsArray(), p => p!.Str("path") == "command");

        using var badName = await S.Http.PutAsJsonAsync("/api/v1/functions/bad.name", new { command = new[] { "true" } });
        var p3 = await ServerProcess.ExpectAsync(badName, HttpStatusCode.BadRequest);
        Assert.Contains(p3["problems"]!.AsArray(), p => p!.Str("path") == "name");
    }
}
