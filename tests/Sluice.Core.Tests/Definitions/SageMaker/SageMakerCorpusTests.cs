using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Definitions.SageMaker;

namespace Sluice.Core.Tests.Definitions.SageMaker;

/// <summary>Every definition of the acceptance corpus compiles, into the plan its structure calls for.</summary>
public class SageMakerCorpusTests
{
    internal static string CorpusDir() => Path.Combine(ExamplesTests.Root(), "tests", "corpus", "sagemaker");

    internal static string Corpus(string file) => File.ReadAllText(Path.Combine(CorpusDir(), file));

    public static TheoryData<string> FullDefinitions()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(CorpusDir(), "*.json").Where(f => !f.Contains("fragment", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    internal static Plan CompileOk(string source)
    {
        var r = SageMakerCompiler.Compile(source);
        Assert.True(r.Ok, string.Join("\n", r.Problems));
        return r.Plan!;
    }

    [Theory]
    [MemberData(nameof(FullDefinitions))]
    public void Compile_CorpusDefinition_Accepted(string file) => CompileOk(Corpus(file));

    [Fact]
    public void Corpus_CopyInTests_MatchesSharedCorpus()
    {
        var shared = Path.Combine(ExamplesTests.Root(), "..", "shared", "corpus", "sagemaker");
        if (!Directory.Exists(shared))
        {
            return; // A clone on its own: the copy is all there is.
        }
        var names = Directory.GetFiles(shared, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names, Directory.GetFiles(CorpusDir(), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        foreach (var n in names)
        {
            Assert.Equal(File.ReadAllText(Path.Combine(shared, n!)), Corpus(n!));
        }
    }

    [Fact]
    public void Compile_AirflowNestedConditions_ChainOf31GuardedConditions()
    {
        var plan = CompileOk(Corpus("airflow_example_nested_conditions.json"));

        Assert.Equal(31, plan.Steps.Count);
        Assert.All(plan.Steps, s => Assert.IsType<ConditionStepPlan>(s));
        Assert.Equal("DummyCond29", plan.Steps[0].Name);
        Assert.Null(plan.Steps[0].Guard);
        var second = plan.Find("DummyCond28")!;
        Assert.Equal(new Guard("DummyCond29", true), second.Guard);
        Assert.Equal(["DummyCond29"], second.DependsOn);
    }

    [Fact]
    public void Compile_ConditionInterpolated_EveryConditionTypeAndImplicitDependency()
    {
        var plan = CompileOk(Corpus("sm_condition_step_interpolated.json"));

        Assert.Equal(["MyInt1", "MyInt2", "MyStr"], plan.Parameters.Select(p => p.Name));
        Assert.Equal([ParamType.Integer, ParamType.Integer, ParamType.String], plan.Parameters.Select(p => p.Type));
        var cond = Assert.IsType<ConditionStepPlan>(plan.Find("MyConditionStep"));
        // The In condition reads Steps.MyStep0.TrainingJobName: the condition waits for MyStep0.
        Assert.Equal(["MyStep0"], cond.DependsOn);
        Assert.Equal(["MyStep1"], cond.Then);
        Assert.Equal(["MyStep2"], cond.Else);
        var and = Assert.IsType<AndExpr>(cond.Condition);
        Assert.Equal(10, and.Operands.Count);
        Assert.Contains(cond.Condition.References, r => r is StepPropertyRef { StepName: "MyStep0" } p && p.Path.ToString() == "TrainingJobName");
        Assert.Contains(cond.Condition.References, r => r is RunRef { Field: "startedAt" });
        Assert.Equal(["MyStep0", "MyConditionStep", "MyStep1", "MyStep2"], plan.Steps.Select(s => s.Name));
    }

    [Fact]
    public void Compile_CallbackOutputs_QueueFromUrlAndOutputFeedsNextStep()
    {
        var plan = CompileOk(Corpus("sm_callback_steps_outputs.json"));

        var first = Assert.IsType<CallbackStepPlan>(plan.Find("MyCallbackStep1"));
        var second = Assert.IsType<CallbackStepPlan>(plan.Find("MyCallbackStep2"));
        Assert.Equal("https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue", first.Queue!.Source);
        Assert.Equal([new OutputSpec("output1", ParamType.String)], first.Outputs);
        Assert.Equal(new StepOutputRef("MyCallbackStep1", "output1"), second.Arguments["arg1"].OnlyReference);
        Assert.Equal(["TestStep", "MyCallbackStep1"], second.DependsOn);
    }

    [Fact]
    public void Compile_LambdaOutputs_FunctionNameFromArn()
    {
        var plan = CompileOk(Corpus("sm_lambda_steps_outputs.json"));

        var first = Assert.IsType<FunctionStepPlan>(plan.Find("MyLambdaStep1"));
        Assert.Equal("sagemaker_test_lambda", first.Function);
        var second = Assert.IsType<FunctionStepPlan>(plan.Find("MyLambdaStep2"));
        Assert.Equal(new StepOutputRef("MyLambdaStep1", "output1"), second.Arguments["arg1"].OnlyReference);
        Assert.Equal(["TestStep", "MyLambdaStep1"], second.DependsOn);
    }

    [Fact]
    public void Compile_TwoStepPropertyRefs_ImplicitDependencyThroughModelArtifacts()
    {
        var plan = CompileOk(Corpus("sm_pipeline_two_step_property_refs.json"));

        Assert.Equal(["MyStep1"], plan.Find("MyStep2")!.DependsOn);
        var refs = plan.Find("MyStep2")!.Properties!.References;
        Assert.Contains(refs, r => r is StepPropertyRef { StepName: "MyStep1" } p && p.Path.ToString() == "ModelArtifacts.S3ModelArtifacts");
        Assert.Contains(plan.Find("MyStep1")!.Properties!.References, r => r is RunRef { Field: "pipeline" }); // ExperimentName
    }

    [Fact]
    public void Compile_DynamicFramework_TwoChainsWithPropertyFilesAndRecords()
    {
        var plan = CompileOk(Corpus("dynamic_framework_pipeline_definition.json"));

        Assert.Equal(9, plan.Steps.Count);
        Assert.IsType<ProcessStepPlan>(plan.Find("calhousing-Preprocessing"));
        Assert.IsType<RecordStepPlan>(plan.Find("calhousing-CreateModel-CreateModel"));
        Assert.IsType<RecordStepPlan>(plan.Find("calhousing-Register-RegisterModel"));
        Assert.Equal(["calhousing-Preprocessing"], plan.Find("calhousing-Training")!.DependsOn);
        Assert.Equal(["calhousing-CreateModel-CreateModel", "calhousing-Preprocessing"], plan.Find("calhousing-Transform")!.DependsOn);
        Assert.Equal(["calhousing-Transform", "calhousing-Preprocessing"], plan.Find("calhousing-Metrics")!.DependsOn);
        var train = Assert.IsType<ProcessStepPlan>(plan.Find("calhousing-Training"));
        Assert.Equal(TimeSpan.FromSeconds(3000), train.Timeout);
        Assert.Equal(["/opt/ml"], train.ContainerPaths);
    }

    [Fact]
    public void Compile_FailStepFragment_InPipelineWithItsParameter_MessageJoinsConditionOutcome()
    {
        var steps = JsonNode.Parse(Corpus("sm_fail_step_join_steps_fragment.json"))!;
        var def = new JsonObject
        {
            ["Version"] = "2020-12-01",
            ["Parameters"] = new JsonArray(new JsonObject { ["Name"] = "MyInt", ["Type"] = "Integer", ["DefaultValue"] = 2 }),
            ["Steps"] = steps,
        };

        var plan = CompileOk(def.ToJsonString());

        var fail = Assert.IsType<FailStepPlan>(plan.Find("FailStep"));
        Assert.Equal(["CondStep"], fail.DependsOn);
        Assert.Contains(new StepOutputRef("CondStep", "result"), fail.Message.References);
    }

    [Fact]
    public void Compile_RetryPolicyFragment_JobInternalErrorPolicyWithExpiry()
    {
        var step = JsonNode.Parse(Corpus("sm_retry_policies_step_fragment.json"))!;
        var def = new JsonObject { ["Version"] = "2020-12-01", ["Steps"] = new JsonArray(step) };

        var plan = CompileOk(def.ToJsonString());

        var retry = plan.Find("MyStep")!.Retry!;
        Assert.Equal(TimeSpan.FromSeconds(5), retry.Backoff);
        Assert.Equal(2.0, retry.Multiplier);
        Assert.Equal(TimeSpan.FromMinutes(5), retry.Within);
    }

    [Fact]
    public void Compile_ParallelismAndExecutionVariables_MappedToPlanAndRunFields()
    {
        var plan = CompileOk("""
            {"Version": "2020-12-01", "ParallelismConfiguration": {"MaxParallelExecutionSteps": 2},
             "Parameters": [{"Name": "S", "DefaultValue": "x"}, {"Name": "F", "Type": "Float", "DefaultValue": 1}],
             "Steps": [{"Name": "Cb", "Type": "Callback", "SqsQueueUrl": "q", "Arguments": {
               "a": {"Get": "Execution.PipelineExecutionArn"}, "b": {"Get": "Execution.PipelineArn"}, "c": {"Get": "Execution.CurrentDateTime"},
               "d": {"Get": "Execution.PipelineName"}, "e": {"Get": "Parameters.F"}, "f": 3, "g": false}}]}
            """);

        Assert.Equal(2, plan.MaxParallelSteps);
        Assert.Equal(ParamType.String, plan.Parameters[0].Type);
        Assert.Equal(1.0, plan.Parameters[1].Default!.GetValue<double>());
        var cb = Assert.IsType<CallbackStepPlan>(plan.Steps[0]);
        Assert.Equal(new RunRef("arn"), cb.Arguments["a"].OnlyReference);
        Assert.Equal(new RunRef("pipelineArn"), cb.Arguments["b"].OnlyReference);
        Assert.Equal(new RunRef("now"), cb.Arguments["c"].OnlyReference);
        Assert.Equal(new RunRef("pipeline"), cb.Arguments["d"].OnlyReference);
        Assert.Equal(new ParamRef("F"), cb.Arguments["e"].OnlyReference);
        Assert.Equal("3", cb.Arguments["f"].Source);
        Assert.True(cb.Arguments["f"].IsLiteral);
    }

    [Fact]
    public void Compile_ProcessingJob_CommandStagesInputsRunsEntrypointThenStoresOutputs()
    {
        var plan = CompileOk("""
            {"Version": "2020-12-01", "Steps": [{"Name": "P", "Type": "Processing", "Arguments": {
              "AppSpecification": {"ImageUri": "img:1", "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/run.py"], "ContainerArguments": ["--n", "3"]},
              "Environment": {"MODE": "fast"},
              "ProcessingInputs": [{"InputName": "raw", "S3Input": {"S3Uri": "s3://b/raw", "LocalPath": "/opt/ml/processing/raw"}}],
              "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": "s3://b/out", "LocalPath": "/opt/ml/processing/o"}}]}}}]}
            """);

        var p = Assert.IsType<ProcessStepPlan>(plan.Steps[0]);
        Assert.Equal("/bin/sh", p.Command.Source);
        var args = p.Args.Select(a => a.Source).ToList();
        Assert.Equal("-c", args[0]);
        Assert.Equal("sluice-job", args[2]);
        var separator = args.IndexOf("--");
        Assert.Equal(["in", "{{localPath(s3://b/raw)}}", "/opt/ml/processing/raw", "input raw (s3://b/raw)", "mkdir", "/opt/ml/processing/o", "", "output o"],
            args[3..separator]);
        Assert.Equal(["4", "python3", "/opt/ml/processing/code/run.py", "--n", "3", "out", "/opt/ml/processing/o", "{{localPath(s3://b/out)}}", "output o"],
            args[(separator + 1)..]);
        Assert.Equal("fast", p.Env["MODE"].Source);
        Assert.Equal("img:1", p.Env["SLUICE_IMAGE"].Source);
        Assert.Equal(["/opt/ml"], p.ContainerPaths);
    }
}
