using System.Net;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

public class RunLifecycleTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    [Fact]
    public async Task Run_OutputsFlowToDependants_Succeeds()
    {
        var name = Json.UniqueName("flow");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            parameters:
              greeting: { type: String, default: hello }
              n: { type: Integer, default: 2 }
            steps:
              - name: make
                command: sh
                args: ["-c", "printf '%s world' \"$0\" > $SLUICE_OUTPUTS/text; echo 7 > $SLUICE_OUTPUTS/count", "{{params.greeting}}"]
                outputs: { text: String, count: Integer }
              - name: use
                command: sh
                args: ["-c", "echo \"$0/$1\" > $SLUICE_OUTPUTS/joined", "{{steps.make.outputs.text}}", "{{params.n}}"]
                outputs: { joined: String }
            """);
        var run = await S.StartRunAsync(name, new { greeting = "hi there" });
        var done = await S.WaitForRunAsync(run.Str("id"), s => s is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal("hi there world", done.StepOf("make")["outputs"]!["text"]!.GetValue<string>());
        Assert.Equal(7, done.StepOf("make")["outputs"]!["count"]!.GetValue<long>());
        Assert.Equal("hi there world/2", done.StepOf("use")["outputs"]!["joined"]!.GetValue<string>());
        Assert.Equal(["hi there world", "2"], done.StepOf("use")["inputs"]!["args"]!.AsArray().Skip(2).Select(a => a!.GetValue<string>()));
    }

    [Fact]
    public async Task Run_StepFails_RunFailsAfterRunningBranchEndsAndNothingNewStarts()
    {
        var name = Json.UniqueName("fail");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: bad
                command: sh
                args: ["-c", "echo broken >&2; exit 3"]
              - name: slow
                command: sh
                args: ["-c", "sleep 1"]
              - name: after-slow
                command: "true"
                dependsOn: [slow]
              - name: after-bad
                command: "true"
                dependsOn: [bad]
            """);
        var run = await S.StartRunAsync(name);
        var done = await S.WaitForRunAsync(run.Str("id"), s => s is "Succeeded" or "Failed");
        Assert.Equal("Failed", done.Str("state"));
        Assert.Contains("exited with code 3", done.StepOf("bad").Str("reason"));
        Assert.Contains("broken", done.StepOf("bad").Str("reason"));
        Assert.Equal("Succeeded", done.StepOf("slow").Str("state"));
        Assert.Equal("NotStarted", done.StepOf("after-slow").Str("state"));
        Assert.Equal("NotStarted", done.StepOf("after-bad").Str("state"));
        Assert.Contains("bad", done.Str("error"));
    }

    [Fact]
    public async Task Run_RetriesWithBackoff_SucceedsOnThirdAttempt()
    {
        var name = Json.UniqueName("retry");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: flaky
                command: sh
                args: ["-c", "n=$(cat $SLUICE_STEP_DIR/../count 2>/dev/null || echo 0); n=$((n+1)); echo $n > $SLUICE_STEP_DIR/../count; [ $n -ge 3 ]"]
                retries: { count: 3, backoff: 100ms }
            """);
        var run = await S.StartRunAsync(name);
        var done = await S.WaitForRunAsync(run.Str("id"), s => s is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal(3, done.StepOf("flaky")["attempt"]!.GetValue<int>());
        var events = await S.GetJsonAsync($"/api/v1/runs/{run.Str("id")}/events");
        Assert.Equal(2, events["events"]!.AsArray().Count(e => e.Str("kind") == "step-retry"));
        Assert.False(events["more"]!.GetValue<bool>());

        // page by page: each page says whether it was full, the next one starts after its last event, none is lost
        var all = events["events"]!.AsArray().Select(e => e!["seq"]!.GetValue<long>()).ToList();
        var paged = new List<long>();
        for (long after = 0; ;)
        {
            var page = await S.GetJsonAsync($"/api/v1/runs/{run.Str("id")}/events?pageSize=3&after={after}");
            var seqs = page["events"]!.AsArray().Select(e => e!["seq"]!.GetValue<long>()).ToList();
            Assert.True(seqs.Count <= 3);
            Assert.Equal(seqs.Count == 3, page["more"]!.GetValue<bool>());
            paged.AddRange(seqs);
            if (!page["more"]!.GetValue<bool>())
            {
                break;
            }
            after = seqs[^1];
        }
        Assert.True(all.Count > 6, $"{all.Count} events");
        Assert.Equal(all, paged);
    }

    [Fact]
    public async Task Run_ConditionFalse_ThenBranchSkippedElseBranchRuns()
    {
        var name = Json.UniqueName("cond");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            parameters:
              epochs: { type: Integer, default: 1 }
            steps:
              - name: check
                type: condition
                if: "params.epochs > 5"
                then:
                  - name: big
                    command: "true"
                else:
                  - name: small
                    command: "true"
              - name: after-big
                command: "true"
                dependsOn: [big]
            """);
        var run = await S.StartRunAsync(name);
        var done = await S.WaitForRunAsync(run.Str("id"), s => s is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal("Skipped", done.StepOf("big").Str("state"));
        Assert.Equal("Skipped", done.StepOf("after-big").Str("state"));
        Assert.Equal("Succeeded", done.StepOf("small").Str("state"));
        Assert.False(done.StepOf("check")["outputs"]!["result"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_FailStep_FailsRunWithInterpolatedMessage()
    {
        var name = Json.UniqueName("failstep");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            parameters:
              rows: { type: Integer, default: 3 }
            steps:
              - name: stop-here
                type: fail
                message: "too few rows: {{params.rows}}"
            """);
        var run = await S.StartRunAsync(name);
        var done = await S.WaitForRunAsync(run.Str("id"), s => s is "Succeeded" or "Failed");
        Assert.Equal("Failed", done.Str("state"));
        Assert.Equal("too few rows: 3", done.StepOf("stop-here").Str("reason"));
    }

    [Fact]
    public async Task Run_MaxParallelSteps_NeverExceeded()
    {
        var name = Json.UniqueName("par");
        var steps = string.Join("\n", Enumerable.Range(0, 6).Select(i => $$"""
              - name: s{{i}}
                command: sh
                args: ["-c", "mkdir -p $SLUICE_STEP_DIR/../../lock; n=$(ls $SLUICE_STEP_DIR/../../lock | wc -l); touch $SLUICE_STEP_DIR/../../lock/s{{i}}; echo $n > $SLUICE_OUTPUTS/seen; sleep 0.2; rm $SLUICE_STEP_DIR/../../lock/s{{i}}"]
                outputs: { seen: Integer }
            """));
        await S.CreatePipelineAsync($"name: {name}\nmaxParallelSteps: 2\nsteps:\n{steps}\n");
        var run = await S.StartRunAsync(name);
        var done = await S.WaitForRunAsync(run.Str("id"), s => s is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.All(done["steps"]!.AsArray(), s => Assert.True(s!["outputs"]!["seen"]!.GetValue<long>() <= 1));
    }

    [Fact]
    public async Task Logs_StepOutput_IsServedAndFollowEndsWithStep()
    {
        var name = Json.UniqueName("logs");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: talk
                command: sh
                args: ["-c", "echo line-one; sleep 0.3; echo line-two; echo oops >&2"]
            """);
        var run = await S.StartRunAsync(name);
        var id = run.Str("id");
        await S.WaitForStepAsync(id, "talk", "Running");
        var followed = await S.Http.GetStringAsync($"/api/v1/runs/{id}/steps/talk/logs?follow=true");
        Assert.Equal("line-one\nline-two\n", followed);
        Assert.Equal("oops\n", await S.Http.GetStringAsync($"/api/v1/runs/{id}/steps/talk/logs?stream=stderr"));
    }

    [Fact]
    public async Task List_FilterByPipelineStateAndLabel_NewestFirstWithPaging()
    {
        var name = Json.UniqueName("list");
        await S.CreatePipelineAsync($"name: {name}\nsteps:\n  - name: a\n    command: \"true\"\n");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var r = await S.StartRunAsync(name, labels: new Dictionary<string, string> { ["team"] = i % 2 == 0 ? "red" : "blue" });
            ids.Add(r.Str("id"));
        }
        foreach (var id in ids)
        {
            await S.WaitForStateAsync(id, "Succeeded");
        }
        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await S.GetJsonAsync($"/api/v1/runs?pipeline={name}&pageSize=2&state=Succeeded" + (token is null ? "" : $"&pageToken={token}"));
            seen.AddRange(page["runs"]!.AsArray().Select(r => r.Str("id")));
            token = page["nextPageToken"]?.GetValue<string>();
        }
        while (token is not null);
        Assert.Equal(Enumerable.Reverse(ids), seen);
        var red = await S.GetJsonAsync($"/api/v1/runs?pipeline={name}&label=team=red");
        Assert.Equal(3, red["runs"]!.AsArray().Count);
    }

    [Fact]
    public async Task Pipeline_NewVersion_RunFreezesTheVersionItStartedFrom()
    {
        var name = Json.UniqueName("ver");
        await S.CreatePipelineAsync($"name: {name}\nsteps:\n  - name: a\n    command: sh\n    args: [-c, 'sleep 0.5; echo v1 > $SLUICE_OUTPUTS/v']\n    outputs: {{ v: String }}\n");
        var run = await S.StartRunAsync(name);
        using var content = new StringContent($"name: {name}\nsteps:\n  - name: b\n    command: \"true\"\n", System.Text.Encoding.UTF8, "application/yaml");
        using var r = await S.Http.PostAsync($"/api/v1/pipelines/{name}/versions", content);
        var v2 = await ServerProcess.ExpectAsync(r, HttpStatusCode.Created);
        Assert.Equal(2, v2["latestVersion"]!.GetValue<int>());
        var done = await S.WaitForStateAsync(run.Str("id"), "Succeeded");
        Assert.Equal(1, done["pipelineVersion"]!.GetValue<int>());
        Assert.Equal("v1", done.StepOf("a")["outputs"]!["v"]!.GetValue<string>());
        var run2 = await S.StartRunAsync(name);
        Assert.Equal(2, run2["pipelineVersion"]!.GetValue<int>());
        Assert.Equal("b", run2["steps"]![0].Str("name"));
    }
}
