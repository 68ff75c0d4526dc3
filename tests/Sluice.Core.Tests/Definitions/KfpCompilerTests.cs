using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Definitions.Kfp;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.TestKit;

namespace Sluice.Core.Tests.Definitions;

/// <summary>The KFP PipelineSpec compiler over the real corpus, its CEL subset, and the container layout's placeholders.</summary>
public sealed class KfpCompilerTests
{
    public static TheoryData<string> Corpus() => [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus", "kfp")).Select(f => Path.GetFileName(f))];

    private static string Source(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "corpus", "kfp", file));

    private static Plan Compile(string source)
    {
        var r = KfpCompiler.Compile(source);
        Assert.True(r.Ok, string.Join("\n", r.Problems));
        return r.Plan!;
    }

    private static IReadOnlyList<Problem> Problems(string source)
    {
        var r = KfpCompiler.Compile(source);
        Assert.False(r.Ok);
        return r.Problems;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Compile_EveryCorpusFile_IsAccepted(string file)
    {
        var plan = Compile(Source(file));

        Assert.False(string.IsNullOrEmpty(plan.Name));
        Assert.NotEmpty(plan.Steps);
    }

    [Fact]
    public void Compile_NestedConditions_GroupsWithConditionsAndQualifiedNames()
    {
        var plan = Compile(Source("pipeline_with_nested_conditions_yaml.yaml"));

        var outer = Assert.IsType<GroupStepPlan>(plan.Find("condition-1"));
        Assert.Equal(["flip-coin"], outer.DependsOn);
        Assert.Equal("steps.flip-coin.outputs.output == 'heads'", outer.When!.ToString());
        var inner = Assert.IsType<GroupStepPlan>(plan.Find("condition-1.condition-2"));
        Assert.Equal("condition-1", inner.Group);
        Assert.Equal("integer(steps.condition-1.generate-random-number.outputs.output) > 5", inner.When!.ToString());
        var print = Assert.IsType<ProcessStepPlan>(plan.Find("condition-1.condition-2.print"));
        Assert.Equal("condition-1.condition-2", print.Group);
        Assert.Equal(FailurePolicy.FailSlow, plan.FailurePolicy);
    }

    [Fact]
    public void Compile_ExitHandler_TheExitTaskIsAFinallyStepReadingTheGroupsStatus()
    {
        var plan = Compile(Source("pipeline_with_task_final_status_yaml.yaml"));

        Assert.IsType<GroupStepPlan>(plan.Find("exit-handler-1"));
        var exit = Assert.IsType<ProcessStepPlan>(plan.Find("exit-op"));
        Assert.Equal(StartWhen.AllEnded, exit.StartWhen);
        Assert.Equal(["exit-handler-1"], exit.DependsOn);
        Assert.Equal("{{steps.exit-handler-1.status}}", exit.Values["p:status"].Source);
        Assert.Equal(new ParameterSpec("message", ParamType.String, JsonValue.Create("Hello World!")).ToString(), plan.Parameters[0].ToString());
    }

    [Fact]
    public void Compile_ParallelFor_ForEachGroupsWithLimitsNestedLoopsAndItems()
    {
        var plan = Compile(Source("pipeline_with_parallelfor_pipeline_param.yaml"));

        var loop1 = Assert.IsType<GroupStepPlan>(plan.Find("for-loop-1"));
        Assert.Equal(1, loop1.ForEach!.MaxParallel);
        Assert.Equal("{{params.loop_parameter}}", loop1.ForEach.Items.Source);
        var body = Assert.IsType<ProcessStepPlan>(Assert.Single(loop1.ForEach.Body));
        Assert.Equal("{{item.for-loop-1}}", body.Values["p:item"].Source);
        var loop2 = Assert.IsType<GroupStepPlan>(plan.Find("for-loop-2"));
        Assert.Equal(["make-prefix"], loop2.DependsOn);
        var loop4 = Assert.IsType<GroupStepPlan>(plan.Find("for-loop-4"));
        Assert.Equal("""["x", "y"]""", loop4.ForEach!.Items.Source);
        var loop5 = Assert.IsType<GroupStepPlan>(Assert.Single(loop4.ForEach.Body));
        Assert.Equal("for-loop-5", loop5.Name);
        Assert.Null(loop5.ForEach!.MaxParallel);
        Assert.Equal("{{item.for-loop-5}}", ((ProcessStepPlan)loop5.ForEach.Body[0]).Values["p:item"].Source);
        Assert.Equal(ParamType.List, plan.Parameters.Single(p => p.Name == "loop_parameter").Type);
    }

    [Fact]
    public void Compile_OneOf_ResolvesToTheFirstBranchThatRan()
    {
        var plan = Compile(Source("if_elif_else_with_oneof_parameters.yaml"));

        var last = Assert.IsType<ProcessStepPlan>(plan.Find("print-and-return"));
        Assert.Equal(["roll-die-pipeline"], last.DependsOn);
        var text = Assert.IsType<FirstOfRef>(Assert.Single(last.Values["p:text"].References));
        Assert.Equal(
            ["roll-die-pipeline.condition-branches-1.condition-2.print-and-return", "roll-die-pipeline.condition-branches-1.condition-3.print-and-return-2",
             "roll-die-pipeline.condition-branches-1.condition-4.special-print-and-return"],
            text.Choices.Select(c => ((StepOutputRef)c).StepName));
        var cond3 = Assert.IsType<GroupStepPlan>(plan.Find("roll-die-pipeline.condition-branches-1.condition-3"));
        Assert.Equal("not steps.roll-die-pipeline.flip-three-sided-die.outputs.Output == 'heads' and steps.roll-die-pipeline.flip-three-sided-die.outputs.Output == 'tails'",
            cond3.When!.ToString());
    }

    [Fact]
    public void Compile_PipelineJobShapedFile_Schema200_LegacyConditionAndRunValuesAsDefaults()
    {
        var plan = Compile(Source("kfp1.8_pipelinejob_pipeline_with_condition.json"));

        Assert.Equal("condition test", plan.Parameters.Single().Default!.GetValue<string>());
        var cond = Assert.IsType<GroupStepPlan>(plan.Find("condition-1"));
        Assert.Equal("string(steps.flip-coin.outputs.Output) == 'heads'", cond.When!.ToString());
    }

    [Fact]
    public void Compile_FailFastInRuntimeConfig_SetsThePolicy()
    {
        var spec = JsonNode.Parse(Source("pipeline_with_after.yaml").Length > 0 ? AfterAsJson() : "")!;
        var job = new JsonObject { ["pipelineSpec"] = spec, ["runtimeConfig"] = new JsonObject { ["failurePolicy"] = "PIPELINE_FAILURE_POLICY_FAIL_FAST" } };

        Assert.Equal(FailurePolicy.FailFast, Compile(job.ToJsonString()).FailurePolicy);
    }

    private static string AfterAsJson()
    {
        var problems = new List<Problem>();
        return KfpCompiler.ReadDocument(Source("pipeline_with_after.yaml"), problems)!.ToJsonString();
    }

    private static JsonObject Minimal() => JsonNode.Parse("""
        {"pipelineInfo": {"name": "p"}, "schemaVersion": "2.1.0",
         "components": {"comp-a": {"executorLabel": "exec-a", "inputDefinitions": {"parameters": {"x": {"parameterType": "STRING"}}}}},
         "deploymentSpec": {"executors": {"exec-a": {"container": {"image": "alpine", "command": ["echo", "{{$.inputs.parameters['x']}}"]}}}},
         "root": {"dag": {"tasks": {"a": {"componentRef": {"name": "comp-a"}, "taskInfo": {"name": "a"},
                                          "inputs": {"parameters": {"x": {"runtimeValue": {"constant": "hi"}}}}}}}}}
        """)!.AsObject();

    [Fact]
    public void Compile_Minimal_Accepted()
    {
        var plan = Compile(Minimal().ToJsonString());

        Assert.Equal("a", Assert.Single(plan.Steps).Name);
    }

    [Theory]
    [InlineData("pipelineInfo", """{}""", "pipelineInfo.name")]
    [InlineData("root", """{}""", "root.dag")]
    [InlineData("schemaVersion", "\"3.0.0\"", "not supported")]
    public void Compile_BadTopLevel_Problem(string key, string value, string expected)
    {
        var spec = Minimal();
        spec[key] = JsonNode.Parse(value);

        Assert.Contains(Problems(spec.ToJsonString()), p => p.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_UnknownComponent_Problem()
    {
        var spec = Minimal();
        spec["root"]!["dag"]!["tasks"]!["a"]!["componentRef"]!["name"] = "comp-nope";

        Assert.Contains(Problems(spec.ToJsonString()), p => p.Message.Contains("comp-nope", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_Cycle_Problem()
    {
        var spec = Minimal();
        var tasks = spec["root"]!["dag"]!["tasks"]!.AsObject();
        tasks["a"]!["dependentTasks"] = new JsonArray("b");
        tasks["b"] = tasks["a"]!.DeepClone();
        tasks["b"]!["dependentTasks"] = new JsonArray("a");

        Assert.Contains(Problems(spec.ToJsonString()), p => p.Message.Contains("cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_ImporterExecutor_ProblemSaysOnlyContainersRun()
    {
        var spec = Minimal();
        spec["deploymentSpec"]!["executors"]!["exec-a"] = JsonNode.Parse("""{"importer": {"artifactUri": {"constant": "gs://x"}}}""");

        Assert.Contains(Problems(spec.ToJsonString()), p => p.Message.Contains("only container executors", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_PlaceholderForAnUndeclaredInput_Problem()
    {
        var spec = Minimal();
        spec["deploymentSpec"]!["executors"]!["exec-a"]!["container"]!["command"] = new JsonArray("echo", "{{$.inputs.parameters['nope']}}");

        Assert.Contains(Problems(spec.ToJsonString()), p => p.Message.Contains("'nope'", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_MissingRequiredInput_Problem()
    {
        var spec = Minimal();
        spec["root"]!["dag"]!["tasks"]!["a"]!.AsObject().Remove("inputs");

        Assert.Contains(Problems(spec.ToJsonString()), p => p.Message.Contains("has no value", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_BadCondition_ProblemAtTheTask()
    {
        var spec = Minimal();
        spec["root"]!["dag"]!["tasks"]!["a"]!["triggerPolicy"] = new JsonObject { ["condition"] = "inputs.parameter_values['x'] ==" };

        var p = Assert.Single(Problems(spec.ToJsonString()));
        Assert.EndsWith("triggerPolicy.condition", p.Path, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not yaml: [", "")]
    [InlineData("[1, 2]", "object")]
    [InlineData("", "empty")]
    public void Compile_NotASpec_ProblemNoThrow(string source, string expected)
    {
        Assert.Contains(Problems(source), p => p.Message.Contains(expected, StringComparison.Ordinal));
    }

    // ---- CEL ----

    [Theory]
    [InlineData("inputs.parameter_values['x'] == 'heads'", "x", "heads", true)]
    [InlineData("inputs.parameter_values['x'] != 'heads'", "x", "heads", false)]
    [InlineData("int(inputs.parameter_values['x']) > 5", "x", "7", true)]
    [InlineData("int(inputs.parameter_values['x']) <= 5", "x", "7", false)]
    [InlineData("!(inputs.parameter_values['x'] == 'a') && inputs.parameter_values['x'] == 'b'", "x", "b", true)]
    [InlineData("inputs.parameter_values['x'] == 'a' || inputs.parameter_values['x'] == 'b'", "x", "b", true)]
    [InlineData("inputs.parameters['x'].string_value == 'heads'", "x", "heads", true)]
    [InlineData("double(inputs.parameter_values['x']) < 2.5", "x", "2", true)]
    public void Cel_Condition_EvaluatesAsKfpDoes(string cel, string input, string value, bool expected)
    {
        var problems = new List<string>();
        var e = KfpCel.Compile(cel, n => n == input ? new ReferenceExpr(new ParamRef(n)) : null, problems);

        Assert.Empty(problems);
        Assert.Equal(expected, e!.EvaluateBool(new TestResolver().Set($"params.{input}", JsonValue.Create(value))));
    }

    [Theory]
    [InlineData("inputs.parameter_values['y'] == 1", "does not have")]
    [InlineData("size(inputs.parameter_values['x']) > 1", "not supported")]
    [InlineData("'a' == ", "too early")]
    [InlineData("inputs.parameter_values['x'] = 'a'", "unexpected character")]
    public void Cel_Unsupported_Problem(string cel, string expected)
    {
        var problems = new List<string>();
        KfpCel.Compile(cel, n => n == "x" ? new ReferenceExpr(new ParamRef(n)) : null, problems);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Selector_ParseJsonKey_PicksTheField()
    {
        var problems = new List<string>();
        var s = KfpSelector.Parse("parseJson(string_value)[\"A_a\"]", problems)!;

        Assert.Equal("10", s.Apply(JsonValue.Create("""{"A_a": "10", "B_b": "20"}"""))!.GetValue<string>());
        Assert.Equal("1", s.Apply(JsonNode.Parse("""{"A_a": "1"}"""))!.GetValue<string>());
        Assert.Throws<SluiceException>(() => s.Apply(JsonNode.Parse("""{"B_b": "1"}""")));
    }

    // ---- the container layout ----

    private static (KfpContainerLayout Layout, ProcessStepPlan Step) Task(Plan plan, string name)
    {
        var step = Assert.IsType<ProcessStepPlan>(plan.Find(name));
        return ((KfpContainerLayout)step.Layout!, step);
    }

    private static ProcessLaunch Launch(TempDirectory temp, JsonObject values, string step = "producer") => new()
    {
        Values = values, Directory = Directory.CreateDirectory(temp.File(step)).FullName, DataDirectory = temp.Path, RunId = "run1", StepName = step,
        Attempt = 1, PipelineName = "p", RunCreatedAt = DateTimeOffset.UnixEpoch, Scope = new Scope("default", "us-central1"),
        FaceData = new JsonObject { ["project"] = "my-proj", ["pipelineRoot"] = "gs://bucket/root" },
    };

    [Fact]
    public void Layout_ProducerConsumer_ResolvesInputsAndOutputFilesAndReadsTheFile()
    {
        using var temp = new TempDirectory("sluice-kfp");
        var (layout, _) = Task(Compile(Source("producer_consumer_param_pipeline.yaml")), "producer");

        var inputs = layout.Prepare(Launch(temp, new JsonObject { ["p:input_text"] = "Hello world" }));

        Assert.Equal("sh", inputs["command"]!.GetValue<string>());
        var args = inputs["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal("Hello world", args[2]);
        Assert.Equal(temp.File("producer/outputs/output_value"), args[3]);
        Assert.Equal("registry.access.redhat.com/ubi9/python-311:latest", inputs["image"]!.GetValue<string>());
        File.WriteAllText(args[3], "Hello world, this is an output parameter\n");
        var outcome = layout.ReadOutputs(temp.File("producer"));
        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal("Hello world, this is an output parameter\n", outcome.Outputs!["output_value"]!.GetValue<string>());
    }

    [Fact]
    public void Layout_Artifacts_UriUnderThePipelineRootPathUnderTheDataDirectory()
    {
        using var temp = new TempDirectory("sluice-kfp");
        var plan = Compile(Source("two_step_pipeline_containerized.yaml"));
        var (layout1, _) = Task(plan, "component1");

        var inputs = layout1.Prepare(Launch(temp, new JsonObject { ["p:text"] = "hi" }, "component1"));
        var path = inputs["args"]![3]!.GetValue<string>();
        var written = layout1.ReadOutputs(temp.File("component1")).Outputs!["output_gcs"]!;

        Assert.Equal(temp.File("objects/bucket/root/run1/component1/output_gcs"), path);
        Assert.Equal("gs://bucket/root/run1/component1/output_gcs", written["uri"]!.GetValue<string>());
        var (layout2, _) = Task(plan, "component2");
        var inputs2 = layout2.Prepare(Launch(temp, new JsonObject { ["a:input_gcs"] = written.DeepClone() }, "component2"));
        Assert.Equal(["cat", path], [inputs2["command"]!.GetValue<string>(), inputs2["args"]![0]!.GetValue<string>()]);
    }

    [Fact]
    public void Layout_LightweightComponent_SkipsThePipInstallAndPassesTheExecutorInput()
    {
        using var temp = new TempDirectory("sluice-kfp");
        var (layout, _) = Task(Compile(Source("fail_v2.yaml")), "fail");

        var inputs = layout.Prepare(Launch(temp, [], "fail"));

        Assert.Equal("sh", inputs["command"]!.GetValue<string>());
        Assert.Equal("-ec", inputs["args"]![0]!.GetValue<string>());
        Assert.NotNull(inputs["kfpBootstrap"]);
        var args = inputs["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        var executorInput = JsonNode.Parse(args[args.IndexOf("--executor_input") + 1])!;
        Assert.Equal(temp.File("fail/executor_output.json"), executorInput["outputs"]!["outputFile"]!.GetValue<string>());
        Assert.StartsWith(temp.Path, inputs["env"]!["PYTHONPATH"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(inputs["env"]!["PYTHONPATH"]!.GetValue<string>().Split(':')[0], "kfp", "dsl", "executor_main.py")));
    }

    [Fact]
    public void Layout_RuntimeConstantWithAPlaceholder_ResolvedAgainstTheOtherInputs()
    {
        using var temp = new TempDirectory("sluice-kfp");
        var (layout, _) = Task(Compile(Source("pipeline_with_nested_conditions_yaml.yaml")), "condition-1.condition-2.print");

        var inputs = layout.Prepare(Launch(temp, new JsonObject { ["p:pipelinechannel--generate-random-number-output"] = 7 }, "print"));

        Assert.Equal("heads and 7 > 5!", inputs["args"]![0]!.GetValue<string>());
    }

    [Fact]
    public void Layout_ExecutorOutputFile_TakesPrecedenceOverTheParameterFile()
    {
        using var temp = new TempDirectory("sluice-kfp");
        var (layout, _) = Task(Compile(Source("pipeline_with_parallelfor_pipeline_param.yaml")), "make-prefix");
        layout.Prepare(Launch(temp, [], "make-prefix"));
        File.WriteAllText(temp.File("make-prefix/executor_output.json"), """{"parameterValues": {"Output": "from-json"}}""");
        File.WriteAllText(temp.File("make-prefix/outputs/Output"), "from-file");

        Assert.Equal("from-json", layout.ReadOutputs(temp.File("make-prefix")).Outputs!["Output"]!.GetValue<string>());
    }

    [Fact]
    public void Layout_ListOutputThatIsNotJson_FailsTheTask()
    {
        using var temp = new TempDirectory("sluice-kfp");
        var (layout, _) = Task(Compile(Source("kfp1.8_experimental_pipeline_with_loops.json")), "args-generator-op");
        layout.Prepare(Launch(temp, [], "gen"));
        File.WriteAllText(temp.File("gen/outputs/output"), "[{'A_a': '1', 'B_b': '2'}]\n");

        var outcome = layout.ReadOutputs(temp.File("gen"));

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Contains("not a valid LIST", outcome.Reason, StringComparison.Ordinal);
    }
}
