using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class RunsCommandTests(CliFixture f) : IClassFixture<CliFixture>
{
    private const string Hello = """
        parameters:
          who: { type: String, default: world }
          times: { type: Integer, default: 1 }
        steps:
          - name: greet
            command: sh
            args: ["-c", "echo \"hello $0\" | tee $SLUICE_OUTPUTS/text", "{{params.who}}"]
            outputs: { text: String }
          - name: shout
            command: sh
            args: ["-c", "echo \"$0\" | tr a-z A-Z", "{{steps.greet.outputs.text}}"]
        """;

    private const string Sleeper = """
        steps:
          - name: work
            command: sleep
            args: ["600"]
        """;

    [Fact]
    public async Task StartWatch_RunSucceeds_PlainLinesAndExit0_GetShowsTreeJsonAndYaml()
    {
        var name = await f.PipelineAsync("hello", Hello);

        var r = await f.RunAsync("runs", "start", name, "-p", "who=sluice", "-p", "times=2", "-l", "team=red", "--watch");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("\u001b", r.Out + r.Err);
        var id = System.Text.RegularExpressions.Regex.Match(r.Out, "^run ([a-z0-9]{12}) started").Groups[1].Value;
        Assert.NotEmpty(id);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d{3}  greet  Running -> Succeeded$", r.Out);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d{3}  run    Running -> Succeeded$", r.Out);
        Assert.Matches($@"run {id} Succeeded in \S+\n$", r.Out);

        var get = await f.RunAsync("runs", "get", id);
        Assert.Equal(0, get.ExitCode);
        Assert.Contains("State:        Succeeded", get.Out);
        Assert.Contains("Parameters:   who=sluice, times=2", get.Out);
        Assert.Contains("Labels:       team=red", get.Out);
        // shout hangs under greet in the tree: it waits for greet's output.
        Assert.Matches(@"(?m)^└── greet  Succeeded  \S+  outputs: text=hello sluice$", get.Out);
        Assert.Matches(@"(?m)^    └── shout  Succeeded  \S+$", get.Out);

        var json = (await f.RunAsync("runs", "get", id, "-o", "json")).Json();
        Assert.Equal("Succeeded", json.Str("state"));
        Assert.Equal(2, json["parameters"]!["times"]!.GetValue<int>());
        Assert.Equal("hello sluice", json["steps"]!.AsArray().Single(s => s.Str("name") == "greet")!["outputs"]!.Str("text"));

        var yaml = await f.RunAsync("runs", "get", id, "-o", "yaml");
        var doc = Yaml.Parse(yaml.Out);
        Assert.Equal(id, Yaml.Get(doc, "id"));
        Assert.Equal("red", Yaml.Get(doc, "labels", "team"));
        Assert.Equal("2", Yaml.Get(doc, "parameters", "times"));
        Assert.Equal(YamlDotNet.Core.ScalarStyle.Plain, Yaml.Style(doc, "parameters", "times"));
        // A string that would read as a number is quoted, so that it reads back as a string.
        Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, Yaml.Style(doc, "createdAt"));
        Assert.Equal(json.Str("createdAt"), Yaml.Get(doc, "createdAt"));

        var again = await f.RunAsync("runs", "watch", id);
        Assert.Equal(0, again.ExitCode);
        Assert.EndsWith($"run {id} Succeeded in {Show(json)}\n", again.Out);
    }

    private static string Show(JsonNode run) =>
        Sluice.Cli.Output.Show.Duration(DateTimeOffset.Parse(run.Str("endedAt"), System.Globalization.CultureInfo.InvariantCulture)
            - DateTimeOffset.Parse(run.Str("startedAt"), System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Get_FanInAndCondition_TreeOfDependencies_KeptOncePipelineDeleted()
    {
        var name = await f.PipelineAsync("fan", """
            steps:
              - { name: split, command: "true" }
              - { name: left, command: "true", dependsOn: [split] }
              - { name: right, command: "true", dependsOn: [split] }
              - { name: merge, command: "true", dependsOn: [left, right, split] }
              - name: check
                type: condition
                if: "true"
                dependsOn: [merge]
                then: [{ name: ship, command: "true" }]
                else: [{ name: hold, command: "true" }]
            """);
        var id = (await f.Server.StartRunAsync(name)).Str("id");
        await f.Server.WaitForStateAsync(id, "Succeeded");

        var tree = await f.RunAsync("runs", "get", id);
        Assert.Matches(@"(?m)^└── split  Succeeded  \S+$", tree.Out);
        Assert.Matches(@"(?m)^    ├── left  Succeeded  \S+$", tree.Out);
        // Under right (the later of the two), and split is not named: left and right already wait for it.
        Assert.Matches(@"(?m)^        └── merge  Succeeded  \S+  after left, right$", tree.Out);
        Assert.Matches(@"(?m)^            └── check \(condition\)  Succeeded  \S+  outputs: result=true$", tree.Out);
        Assert.Matches(@"(?m)^                ├── then: ship  Succeeded  \S+$", tree.Out);
        Assert.Matches(@"(?m)^                └── else: hold  Skipped$", tree.Out);

        // The run froze its version: the tree does not need the pipeline.
        await f.RunAsync("pipelines", "delete", name);
        var after = await f.RunAsync("runs", "get", id);
        Assert.Equal(0, after.ExitCode);
        Assert.Equal(tree.Out[tree.Out.IndexOf("└── split", StringComparison.Ordinal)..], after.Out[after.Out.IndexOf("└── split", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task Get_WideForEach_OneLinePerBodyStepWithItsIterationsCounted()
    {
        // A Vertex ParallelFor of 12 (more than the 8 shown one by one): t fails for items 3 and 7, u waits for t.
        var id = $"cliwide-{Guid.NewGuid():N}"[..20];
        var gate = Path.Combine(f.Files.Path, $"{id}.gate");
        var spec = JsonNode.Parse("""
            {
              "pipelineInfo": {"name": "NAME"}, "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.14.6",
              "root": {"dag": {"tasks": {"for-loop-1": {
                "componentRef": {"name": "comp-for-loop-1"}, "taskInfo": {"name": "for-loop-1"},
                "parameterIterator": {"itemInput": "pipelinechannel--loop-item-param-1", "items": {"raw": "[0,1,2,3,4,5,6,7,8,9,10,11]"}}}}}},
              "components": {
                "comp-for-loop-1": {
                  "dag": {"tasks": {
                    "t": {"componentRef": {"name": "comp-t"}, "taskInfo": {"name": "t"},
                          "inputs": {"parameters": {"x": {"componentInputParameter": "pipelinechannel--loop-item-param-1"}}}},
                    "u": {"componentRef": {"name": "comp-u"}, "taskInfo": {"name": "u"}, "dependentTasks": ["t"]}}},
                  "inputDefinitions": {"parameters": {"pipelinechannel--loop-item-param-1": {"parameterType": "NUMBER_INTEGER"}}}},
                "comp-t": {"executorLabel": "exec-t", "inputDefinitions": {"parameters": {"x": {"parameterType": "NUMBER_INTEGER"}}}},
                "comp-u": {"executorLabel": "exec-u"}},
              "deploymentSpec": {"executors": {
                "exec-t": {"container": {"image": "alpine", "command": ["sh", "-c", "while [ ! -e GATE ]; do sleep 0.05; done; [ \"$0\" != 3 ] && [ \"$0\" != 7 ]", "{{$.inputs.parameters['x']}}"]}},
                "exec-u": {"container": {"image": "alpine", "command": ["true"]}}}}
            }
            """.Replace("NAME", id, StringComparison.Ordinal).Replace("GATE", gate, StringComparison.Ordinal))!;
        var created = await f.Server.Http.PostAsJsonAsync($"/v1/projects/p/locations/us-central1/pipelineJobs?pipelineJobId={id}",
            new JsonObject { ["pipelineSpec"] = spec, ["runtimeConfig"] = new JsonObject { ["gcsOutputDirectory"] = "gs://cli/root" } });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());

        // the live table of runs watch (on a terminal) is one row per body step while the iterations wait
        await f.Server.WaitForStepAsync(id, "for-loop-1[0].t", "Running");
        using (var tty = Tty.Start(f.Url, "runs", "watch", id))
        {
            await tty.WaitForOutputAsync("for-loop-1[*].t ×12");
            await File.WriteAllTextAsync(gate, "");
            var watched = await tty.WaitAsync();
            Assert.DoesNotContain("for-loop-1[0].", watched.Out, StringComparison.Ordinal);
        }
        await f.Server.WaitForStateAsync(id, "Failed");

        var get = await f.RunAsync("runs", "get", id);

        Assert.Equal(0, get.ExitCode);
        Assert.Matches(@"(?m)^└── for-loop-1 \(group\)  Failed  \S+  step for-loop-1\[\d\]\.t failed$", get.Out);
        Assert.Matches(@"(?m)^    └── for-loop-1\[\*\]\.t ×12  Failed  10 Succeeded, 2 Failed  failed: for-loop-1\[3\]\.t, for-loop-1\[7\]\.t$", get.Out);
        Assert.Matches(@"(?m)^        └── for-loop-1\[\*\]\.u ×12  Succeeded  10 Succeeded, 2 NotStarted$", get.Out);
        Assert.DoesNotContain("for-loop-1[0].", get.Out, StringComparison.Ordinal);
        // the JSON output keeps every step
        Assert.Equal(1 + 24, (await f.RunAsync("runs", "get", id, "-o", "json")).Json()["steps"]!.AsArray().Count);


    }

    [Fact]
    public async Task Watch_RunFails_Exit1WithTheError()
    {
        var name = await f.PipelineAsync("fails", """
            steps:
              - name: boom
                command: sh
                args: ["-c", "echo going down >&2; exit 3"]
            """);
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();

        var r = await f.RunAsync("runs", "watch", id);

        Assert.Equal(1, r.ExitCode);
        Assert.Matches($@"run {id} Failed in \S+: .*boom", r.Out);
        var get = await f.RunAsync("runs", "get", id);
        Assert.Matches(@"boom  Failed  \S+  exit 3", get.Out);
        var err = await f.RunAsync("runs", "logs", id, "--stderr");
        Assert.Equal("going down\n", err.Out);
    }

    [Fact]
    public async Task Watch_RunStopped_Exit2_StopRecordsReasonAndCaller()
    {
        var name = await f.PipelineAsync("stopme", Sleeper);
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();
        using var watch = Cli.Start(f.Url, "runs", "watch", id);
        await watch.WaitForOutputAsync("work  Starting -> Running");

        var stop = await f.RunAsync("runs", "stop", id, "--reason", "not needed", "--grace", "0");
        Assert.Equal(0, stop.ExitCode);
        Assert.Equal($"run {id}: Stopping (stop accepted; its steps are being stopped)\n", stop.Out);

        var watched = await watch.WaitAsync();
        Assert.Equal(2, watched.ExitCode);
        Assert.Contains($"stop requested: not needed (by cli:{Environment.UserName} via token:test-admin)", watched.Out);
        Assert.EndsWith($"(stop requested by cli:{Environment.UserName} via token:test-admin: not needed)\n", watched.Out);

        var run = (await f.RunAsync("runs", "get", id, "-o", "json")).Json();
        Assert.Equal("Stopped", run.Str("state"));
        Assert.Equal("not needed", run["stop"]!.Str("reason"));
        Assert.Equal(0, run["stop"]!["graceSeconds"]!.GetValue<double>());

        var again = await f.RunAsync("runs", "stop", id);
        Assert.Equal(6, again.ExitCode);
        Assert.Equal($"error: run {id} is Stopped and cannot be stopped\n", again.Err);
    }

    [Fact]
    public async Task StartWatch_JsonOutput_PrintsOnlyTheFinishedRun()
    {
        var name = await f.PipelineAsync("json", Hello);

        var r = await f.RunAsync("runs", "start", name, "--watch", "-o", "json");

        Assert.Equal(0, r.ExitCode);
        var run = r.Json();
        Assert.Equal("Succeeded", run.Str("state"));
        Assert.Equal(2, run["steps"]!.AsArray().Count);
    }

    [Fact]
    public async Task List_FiltersByPipelineStateAndLabel_NewestFirst()
    {
        var name = await f.PipelineAsync("list", Hello);
        // Set-up through the API: this test is about listing.
        var ids = new List<string>();
        foreach (var team in new[] { "red", "blue", "red" })
        {
            var id = (await f.Server.StartRunAsync(name, labels: new Dictionary<string, string> { ["team"] = team, ["env"] = "test" })).Str("id");
            await f.Server.WaitForStateAsync(id, "Succeeded");
            ids.Add(id);
        }
        var running = await f.PipelineAsync("list-sleep", Sleeper);
        var active = (await f.Server.StartRunAsync(running)).Str("id");

        var all = (await f.RunAsync("runs", "list", "--pipeline", name, "-o", "json")).Json().AsArray().Select(r => r.Str("id")).ToList();
        Assert.Equal([ids[2], ids[1], ids[0]], all);

        var red = (await f.RunAsync("runs", "list", "--pipeline", name, "-l", "team=red", "-l", "env=test", "-o", "name")).Lines;
        Assert.Equal([ids[2], ids[0]], red);

        var limited = (await f.RunAsync("runs", "list", "--pipeline", name, "--limit", "1", "-o", "name")).Lines;
        Assert.Equal([ids[2]], limited);

        var states = (await f.RunAsync("runs", "list", "--state", "Queued,Running", "--state", "stopping", "-o", "name")).Lines;
        Assert.Contains(active, states);
        Assert.DoesNotContain(ids[0], states);

        var table = await f.RunAsync("runs", "list", "--pipeline", name);
        Assert.Matches($@"(?m)^ID\s+PIPELINE\s+STATE\s+AGE\s+DURATION\s+LABELS$", table.Lines[0]);
        Assert.Matches($@"^{ids[2]}\s+{name} v1\s+Succeeded\s+\d+s\s+\S+\s+env=test,team=red$", table.Lines[1]);

        var none = await f.RunAsync("runs", "list", "--pipeline", Names.Unique("nothing"));
        Assert.Equal(0, none.ExitCode);
        Assert.Empty(none.Out);
        Assert.Equal("no runs\n", none.Err);

        var badState = await f.RunAsync("runs", "list", "--state", "Sleeping");
        Assert.Equal(4, badState.ExitCode);
        Assert.StartsWith("error: unknown state Sleeping; use Queued, Running,", badState.Err);

        await f.RunAsync("runs", "stop", active, "--grace", "0");
    }

    [Fact]
    public async Task Logs_OneStepEveryStepAndFollow()
    {
        var name = await f.PipelineAsync("logs", """
            steps:
              - name: first
                command: sh
                args: ["-c", "echo one; echo two"]
              - name: second
                command: sh
                args: ["-c", "printf 'a\\nb\\n'"]
                dependsOn: [first]
              - name: slow
                command: sh
                args: ["-c", "for i in 1 2 3; do echo tick $i; sleep 0.3; done"]
                dependsOn: [second]
            """);
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();

        // Followed from before the steps start: every step's lines, each prefixed, until the run ends.
        // Lines of different steps arrive as they come; each step's own are in order.
        var followed = await f.RunAsync("runs", "logs", id, "-f");
        Assert.Equal(0, followed.ExitCode);
        Assert.Equal(["[first] one", "[first] two"], followed.Lines.Where(l => l.StartsWith("[first] ", StringComparison.Ordinal)));
        Assert.Equal(["[second] a", "[second] b"], followed.Lines.Where(l => l.StartsWith("[second] ", StringComparison.Ordinal)));
        Assert.Equal(["[slow] tick 1", "[slow] tick 2", "[slow] tick 3"], followed.Lines.Where(l => l.StartsWith("[slow] ", StringComparison.Ordinal)));
        Assert.Equal(7, followed.Lines.Length);

        // Not followed: step after step, in the order they started.
        var all = await f.RunAsync("runs", "logs", id);
        Assert.Equal(["[first] one", "[first] two", "[second] a", "[second] b", "[slow] tick 1", "[slow] tick 2", "[slow] tick 3"], all.Lines);

        var one = await f.RunAsync("runs", "logs", id, "second");
        Assert.Equal("a\nb\n", one.Out);

        var missing = await f.RunAsync("runs", "logs", id, "third");
        Assert.Equal(5, missing.ExitCode);
        Assert.Equal($"error: run {id} has no step 'third' (its steps: first, second, slow)\n", missing.Err);
    }

    [Fact]
    public async Task Logs_FollowOneStep_StreamsUntilTheStepEnds()
    {
        var name = await f.PipelineAsync("follow", """
            steps:
              - name: slow
                command: sh
                args: ["-c", "echo tick 1; while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.05; done; echo tick 2"]
            """);
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();
        using var logs = Cli.Start(f.Url, "runs", "logs", id, "slow", "-f");

        // The step waits for the test: the first line must come through while it still runs.
        await logs.WaitForOutputAsync("tick 1\n");
        Assert.Equal("Running", (await f.Server.GetRunAsync(id)).StepOf("slow"));
        await File.WriteAllTextAsync(Path.Combine(f.Server.DataDir, "runs", id, "slow", "1", "go"), "");

        var r = await logs.WaitAsync();
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("tick 1\ntick 2\n", r.Out);
    }

    [Fact]
    public async Task StopDelete_ErrorsAndExitCodes()
    {
        var name = await f.PipelineAsync("del", Sleeper);
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();

        var active = await f.RunAsync("runs", "delete", id);
        Assert.Equal(6, active.ExitCode);
        Assert.Matches($@"^error: run {id} is (Queued|Running); only a finished run can be deleted \(stop it first\)\n$", active.Err);

        var unknown = await f.RunAsync("runs", "stop", "zzzzzzzzzzzz", id, "--grace", "0");
        Assert.Equal(5, unknown.ExitCode);
        Assert.Equal("error: run zzzzzzzzzzzz not found\n", unknown.Err);
        Assert.Contains($"run {id}: ", unknown.Out);
        await f.Server.WaitForStateAsync(id, "Stopped");

        var deleted = await f.RunAsync("runs", "delete", id);
        Assert.Equal(0, deleted.ExitCode);
        Assert.Equal($"run {id} deleted\n", deleted.Out);
        Assert.Equal(5, (await f.RunAsync("runs", "get", id)).ExitCode);
        Assert.Equal(5, (await f.RunAsync("runs", "watch", id)).ExitCode);

        var noIds = await f.RunAsync("runs", "stop");
        Assert.Equal(3, noIds.ExitCode);
        Assert.Equal("error: give the RUN ids to stop, or --all --pipeline PIPELINE\n", noIds.Err);

        var badGrace = await f.RunAsync("runs", "stop", id, "--grace", "-1");
        Assert.Equal(3, badGrace.ExitCode);
    }

    [Fact]
    public async Task Start_BadInput_Exit4AndUnknownPipeline_Exit5()
    {
        var name = await f.PipelineAsync("bad-start", Hello);

        var badParam = await f.RunAsync("runs", "start", name, "-p", "times=many");
        Assert.Equal(4, badParam.ExitCode);
        Assert.Contains("times", badParam.Err);
        Assert.Single(badParam.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var unknownParam = await f.RunAsync("runs", "start", name, "-p", "colour=red");
        Assert.Equal(4, unknownParam.ExitCode);
        Assert.Contains("unknown parameter 'colour'", unknownParam.Err);

        var malformed = await f.RunAsync("runs", "start", name, "-p", "who");
        Assert.Equal(3, malformed.ExitCode);
        Assert.Equal("error: --param takes NAME=VALUE, not 'who'\n", malformed.Err);

        var unknown = await f.RunAsync("runs", "start", Names.Unique("nope"));
        Assert.Equal(5, unknown.ExitCode);
        Assert.StartsWith("error: pipeline ", unknown.Err);

        var idempotent1 = await f.RunAsync("runs", "start", name, "--idempotency-token", "tok-1", "-o", "name");
        var idempotent2 = await f.RunAsync("runs", "start", name, "--idempotency-token", "tok-1", "-o", "name");
        Assert.Equal(idempotent1.Out, idempotent2.Out);
    }

    [Fact]
    public async Task Watch_OnTerminal_LiveViewThenSummary()
    {
        var name = await f.PipelineAsync("tty", """
            steps:
              - name: nap
                command: sh
                args: ["-c", "while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.05; done"]
            """);
        var id = (await f.Server.StartRunAsync(name)).Str("id");

        // script(1) gives the CLI a pseudo-terminal: the live table is drawn while the step waits for the test.
        using var tty = Tty.Start(f.Url, "runs", "watch", id);
        await tty.WaitForOutputAsync("STEP");
        Assert.Contains("\u001b[", tty.Out);
        await f.Server.WaitForStepAsync(id, "nap", "Running");
        await File.WriteAllTextAsync(Path.Combine(f.Server.DataDir, "runs", id, "nap", "1", "go"), "");

        var r = await tty.WaitAsync();
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("nap", r.Out);
        Assert.Matches($"run {id} .*Succeeded.* in ", r.Out);
    }
}
