using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sluice.TestKit;
using static Sluice.Server.Tests.Vertex.VertexSupport;

namespace Sluice.Server.Tests.Vertex;

/// <summary>A server for the corpus runs.</summary>
public sealed class CorpusServer : IAsyncLifetime
{
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => server = await ServerProcess.StartAsync(null, ProjectArgs);

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>Every compiled Kubeflow pipeline of the corpus, created through the Vertex face and run to its expected end as
/// host processes (sh, and Python's standard library with Sluice's kfp stand-in for lightweight components).</summary>
public sealed class VertexCorpusTests(CorpusServer fixture) : IClassFixture<CorpusServer>
{
    private HttpClient Http => fixture.Server.Http;

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private async Task<(string Id, JsonNode Job)> RunAsync(string file, string prefix, JsonObject? parameters = null)
    {
        var id = Id(prefix);
        await CreateAsync(Http, id, Spec(file), parameters);
        return (id, await WaitAsync(Http, id, within: TimeSpan.FromMinutes(3)));
    }

    private static string State(JsonNode job) => job["state"]!.GetValue<string>();

    private Task<string> Log(string id, string step) => LogAsync(Http, id, step);

    [Fact]
    public async Task Corpus_EveryFileRunsToItsExpectedEnd()
    {
        // All at once, as a server would run them; each check below reads what its pipeline did.
        var checks = new List<Func<Task>>
        {
            After, TwoStep, ProducerConsumer, TaskFinalStatus, ExitHandlerWithAFailure, Fail, NestedConditions, PipelineJobShapedWithCondition,
            IfElifElseWithOneOf, ParallelForWithPipelineParam, PipelineInPipeline, LoopsWithANonJsonList,
        };
        await Task.WhenAll(checks.Select(c => Task.Run(c)));
        Assert.Equal(12, Directory.GetFiles(CorpusDir).Length);
    }

    private async Task After()
    {
        var (id, job) = await RunAsync("pipeline_with_after.yaml", "after");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        Assert.Equal("3rd task\n", await Log(id, "print-text-3"));
        var t = job["jobDetail"]!["taskDetails"]!.AsArray().ToDictionary(x => x!["taskName"]!.GetValue<string>(), x => x!);
        // print-text-3 waits for both others.
        Assert.True(Time(t["print-text-3"]["startTime"]) >= Time(t["print-text-2"]["endTime"]));
    }

    private async Task TwoStep()
    {
        var (id, job) = await RunAsync("two_step_pipeline_containerized.yaml", "twostep", new JsonObject { ["text"] = "an artifact crossed over" });
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        Assert.Equal("an artifact crossed over\n", await Log(id, "component2"));
        var produced = job["jobDetail"]!["taskDetails"]!.AsArray().Single(x => x!["taskName"]!.GetValue<string>() == "component1")!;
        Assert.Equal($"gs://sluice-tests/root/{id}/component1/output_gcs", produced["outputs"]!["output_gcs"]!["artifacts"]![0]!["uri"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(fixture.Server.DataDir, "objects", "sluice-tests", "root", id, "component1", "output_gcs")));
    }

    private async Task ProducerConsumer()
    {
        var (id, job) = await RunAsync("producer_consumer_param_pipeline.yaml", "prodcons");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        Assert.Contains("Hello world, this is an output parameter", await Log(id, "consumer"), StringComparison.Ordinal);
    }

    private async Task TaskFinalStatus()
    {
        var (id, job) = await RunAsync("pipeline_with_task_final_status_yaml.yaml", "finalstatus");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        var printed = await Log(id, "exit-op");
        Assert.StartsWith("user input: Hello World! pipeline status: ", printed, StringComparison.Ordinal);
        var status = JsonNode.Parse(printed["user input: Hello World! pipeline status: ".Length..])!;
        Assert.Equal("SUCCEEDED", status["state"]!.GetValue<string>());
        Assert.Equal($"projects/{Project}/locations/{Location}/pipelineJobs/{id}", status["pipelineJobResourceName"]!.GetValue<string>());
        Assert.Equal("exit-handler-1", status["pipelineTaskName"]!.GetValue<string>());
    }

    private async Task ExitHandlerWithAFailure()
    {
        var (id, job) = await RunAsync("kfp1.8_experimental_pipeline_with_exit_handler.json", "exithandler");
        Assert.Equal("PIPELINE_STATE_FAILED", State(job));
        AssertTask(job, "exit-handler-1", "FAILED");
        AssertTask(job, "exit-handler-1.fail-op", "FAILED");
        AssertTask(job, "exit-handler-1.print-op-2", "SUCCEEDED");
        // The exit handler still ran, after the group it guards.
        AssertTask(job, "print-op", "SUCCEEDED");
        Assert.Equal("Exit handler has worked!\n", await Log(id, "print-op"));
    }

    private async Task Fail()
    {
        var (_, job) = await RunAsync("fail_v2.yaml", "fail");
        Assert.Equal("PIPELINE_STATE_FAILED", State(job));
        AssertTask(job, "fail", "FAILED");
        Assert.Equal(9, job["error"]!["code"]!.GetValue<int>());
    }

    private async Task NestedConditions()
    {
        var (id, job) = await RunAsync("pipeline_with_nested_conditions_yaml.yaml", "nested");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        var coin = (await Log(id, "flip-coin")).Trim();
        var (taken, other, low, high, limit) = coin == "heads"
            ? ("condition-1", "condition-4", "condition-2", "condition-3", 5)
            : ("condition-4", "condition-1", "condition-5", "condition-6", 15);
        AssertTask(job, taken, "SUCCEEDED");
        AssertTask(job, other, "NOT_TRIGGERED");
        var numberStep = coin == "heads" ? "condition-1.generate-random-number" : "condition-4.generate-random-number-2";
        var n = int.Parse((await Log(id, numberStep)).Trim(), CultureInfo.InvariantCulture);
        var (ran, skipped) = n > limit ? (low, high) : (high, low);
        AssertTask(job, $"{taken}.{ran}", "SUCCEEDED");
        AssertTask(job, $"{taken}.{skipped}", "NOT_TRIGGERED");
        var print = Tasks(job).Select(kv => kv.Key).Single(k => k.StartsWith($"{taken}.{ran}.", StringComparison.Ordinal));
        Assert.Equal($"{coin} and {n} {(n > limit ? ">" : "<=")} {limit}!\n", await Log(id, print));
    }

    private async Task PipelineJobShapedWithCondition()
    {
        var (id, job) = await RunAsync("kfp1.8_pipelinejob_pipeline_with_condition.json", "pjcond");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        var coin = (await Log(id, "print-msg")).Trim();
        Assert.Contains(coin, new[] { "heads", "tails" });
        Assert.Equal(coin == "heads" ? "SUCCEEDED" : "NOT_TRIGGERED", TaskState(job, "condition-1"));
        if (coin == "heads")
        {
            // The runtimeConfig of the PipelineJob-shaped file gave the text (a schema 2.0.0 parameter).
            Assert.Equal("condition test\n", await Log(id, "condition-1.print-msg-3"));
        }
    }

    private async Task IfElifElseWithOneOf()
    {
        var (id, job) = await RunAsync("if_elif_else_with_oneof_parameters.yaml", "ifelse");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        var branches = new[] { "condition-2", "condition-3", "condition-4" }.Select(c => $"roll-die-pipeline.condition-branches-1.{c}").ToArray();
        var ran = Assert.Single(branches, b => TaskState(job, b) == "SUCCEEDED");
        Assert.All(branches.Where(b => b != ran), b => AssertTask(job, b, "NOT_TRIGGERED"));
        var expected = ran.EndsWith("condition-2", StringComparison.Ordinal) ? "Got heads!" : ran.EndsWith("condition-3", StringComparison.Ordinal) ? "Got tails!" : "Draw!";
        // The OneOf output of the nested pipeline reaches the last task, whichever branch ran.
        Assert.Equal(expected + "\n", await Log(id, "print-and-return"));
    }

    private async Task ParallelForWithPipelineParam()
    {
        var (id, job) = await RunAsync("pipeline_with_parallelfor_pipeline_param.yaml", "parfor",
            new JsonObject { ["loop_parameter"] = new JsonArray("a", "b", "c"), ["prefix"] = "p" });
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        Assert.Equal("dynamic-prefix: b\n", await Log(id, "for-loop-2[1].print-with-prefix-2"));
        Assert.Equal("p: a\n", await Log(id, "for-loop-1[0].print-with-prefix"));
        Assert.Equal(6, Tasks(job).Count(kv => kv.Key.StartsWith("for-loop-4[", StringComparison.Ordinal) && kv.Key.EndsWith(".print-with-prefix-3", StringComparison.Ordinal)));
        Assert.Equal("p: c\n", await Log(id, "for-loop-4[1].for-loop-5[2].print-with-prefix-3"));
        // parallelismLimit 1: the iterations of for-loop-1 ran one after another.
        var iterations = job["jobDetail"]!["taskDetails"]!.AsArray()
            .Where(t => t!["taskUniqueName"]!.GetValue<string>().StartsWith("for-loop-1[", StringComparison.Ordinal))
            .OrderBy(t => Time(t!["startTime"])).ToList();
        Assert.Equal(3, iterations.Count);
        for (var i = 1; i < iterations.Count; i++)
        {
            Assert.True(Time(iterations[i]!["startTime"]) >= Time(iterations[i - 1]!["endTime"]));
        }
    }

    private async Task PipelineInPipeline()
    {
        var (id, job) = await RunAsync("pipeline_in_pipeline_complex.yaml", "pinp");
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", State(job));
        AssertTask(job, "for-loop-2[0].inner-pipeline.condition-1", "SUCCEEDED");
        AssertTask(job, "for-loop-2[0].inner-pipeline.condition-2", "NOT_TRIGGERED");
        AssertTask(job, "for-loop-2[1].inner-pipeline.condition-1", "NOT_TRIGGERED");
        Assert.Equal("Bye!\n", await Log(id, "for-loop-2[1].inner-pipeline.condition-2.print-op"));
        Assert.Equal("world\n", await Log(id, "for-loop-2[0].inner-pipeline.condition-1.print-op2"));
        await AssertStepsNameTheirIterationsStepsAsync(id);
    }

    /// <summary>The native API describes every step of the run, an iteration's steps too: what it waits for, its guard
    /// and its group are steps of the same run (the same iteration's where the body names them).</summary>
    private async Task AssertStepsNameTheirIterationsStepsAsync(string id)
    {
        var steps = (await Http.GetFromJsonAsync<JsonObject>($"/api/v1/runs/{id}/steps"))!["steps"]!.AsArray();
        var names = steps.Select(s => s!["name"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        Assert.Contains(steps, s => s!["iteration"] is not null);
        foreach (var s in steps)
        {
            var name = s!["name"]!.GetValue<string>();
            Assert.True(s["dependsOn"] is JsonArray, $"{name} has no dependsOn");
            Assert.All(s["dependsOn"]!.AsArray(), d => Assert.Contains(d!.GetValue<string>(), names));
            if (s["group"] is { } g)
            {
                Assert.Contains(g.GetValue<string>(), names);
            }
            if (s["guard"] is { } guard)
            {
                Assert.Contains(guard["step"]!.GetValue<string>(), names);
            }
            if (s["iteration"] is { } it)
            {
                Assert.StartsWith($"{it["forEach"]!.GetValue<string>()}[{it["index"]!.GetValue<int>()}].", name, StringComparison.Ordinal);
            }
        }
        // the pipeline's outline names every step any iteration makes once, with [*] for the iteration
        // (the pipeline is kept in the job's project and location: the native API reads it through the run)
        var pipeline = (await Http.GetFromJsonAsync<JsonObject>($"/api/v1/runs/{id}/pipeline"))!;
        var outline = pipeline["steps"]!.AsArray().ToDictionary(s => s!["name"]!.GetValue<string>(), s => s!, StringComparer.Ordinal);
        Assert.Equal(names.Select(n => Regex.Replace(n, @"\[\d+\]", "[*]")).ToHashSet(), outline.Keys.ToHashSet());
        foreach (var (name, s) in outline)
        {
            Assert.All(s["dependsOn"]!.AsArray(), d => Assert.Contains(d!.GetValue<string>(), outline.Keys));
            Assert.True(s["group"] is null || outline.ContainsKey(s["group"]!.GetValue<string>()), name);
        }
        // the first print-op of iteration 1 waits for a step of iteration 1 of the same nested pipeline, not of iteration 0
        var op = steps.Single(s => s!["name"]!.GetValue<string>() == "for-loop-2[1].inner-pipeline.condition-2.print-op")!;
        Assert.Equal("for-loop-2[1].inner-pipeline.condition-2", op["group"]!.GetValue<string>());
    }

    private async Task LoopsWithANonJsonList()
    {
        var (id, job) = await RunAsync("kfp1.8_experimental_pipeline_with_loops.json", "loops", new JsonObject { ["loop_parameter"] = new JsonArray("x", "y") });
        // The generator writes a Python repr, not JSON: a LIST output must be JSON, so that task (and the run) fails; the
        // other loops still run (the failure policy is fail-slow by default) and the loop over its output never starts.
        Assert.Equal("PIPELINE_STATE_FAILED", State(job));
        AssertTask(job, "args-generator-op", "FAILED");
        AssertTask(job, "for-loop-2", "CANCELLED");
        AssertTask(job, "for-loop-1", "SUCCEEDED");
        Assert.Equal("y\n", await Log(id, "for-loop-1[1].print-op"));
        AssertTask(job, "for-loop-4", "SUCCEEDED");
        Assert.Equal("10\n", await Log(id, "for-loop-4[1].print-op-4"));
        Assert.Equal("2\n", await Log(id, "for-loop-4[0].print-op-5"));
    }

    /// <summary>A task's state, with the job's tasks and their errors in the message when it is not the one expected.</summary>
    private static void AssertTask(JsonNode job, string task, string expected)
    {
        var actual = TaskState(job, task);
        if (actual != expected)
        {
            var details = string.Join("\n", job["jobDetail"]!["taskDetails"]!.AsArray()
                .Select(t => $"{t!["taskUniqueName"]} {t["state"]} {t["error"]?["message"]}"));
            Assert.Fail($"task {task} is {actual}, not {expected}:\n{details}");
        }
    }

    private static DateTimeOffset Time(JsonNode? n) => DateTimeOffset.Parse(n!.GetValue<string>(), CultureInfo.InvariantCulture);
}
