using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions.SageMaker;

namespace Sluice.Core.Tests.Definitions.SageMaker;

/// <summary>Bad definitions: every problem is reported, with the JSON path it is at, and nothing throws.</summary>
public class SageMakerValidationTests
{
    private static IReadOnlyList<Problem> Problems(string source)
    {
        var r = SageMakerCompiler.Compile(source);
        Assert.False(r.Ok);
        Assert.Null(r.Plan);
        Assert.NotEmpty(r.Problems);
        return r.Problems;
    }

    private static void Has(IReadOnlyList<Problem> problems, string path, string fragment) =>
        Assert.True(problems.Any(p => p.Path == path && p.Message.Contains(fragment, StringComparison.Ordinal)),
            $"no problem at {path} containing \"{fragment}\" in:\n{string.Join("\n", problems)}");

    private static string Steps(string steps, string parameters = "[]") =>
        $$"""{"Version": "2020-12-01", "Parameters": {{parameters}}, "Steps": [{{steps}}]}""";

    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("{\"Steps\": [", "not valid JSON")]
    [InlineData("[1, 2]", "a JSON object")]
    [InlineData("\"text\"", "a JSON object")]
    [InlineData("{}", "needs Steps")]
    [InlineData("{\"Steps\": {}}", "Steps must be a list")]
    [InlineData("{\"Steps\": []}", "at least one step")]
    public void Compile_NotADefinition_OneClearProblem(string source, string fragment) =>
        Assert.Contains(Problems(source), p => p.Message.Contains(fragment, StringComparison.Ordinal));

    [Fact]
    public void Compile_ManyProblems_AllReportedAtOnceWithPaths()
    {
        var problems = Problems("""
            {"Version": "2021-01-01", "Extra": 1,
             "Parameters": [
               {"Name": "A", "Type": "Integer", "DefaultValue": "two"},
               {"Name": "A", "Type": "String"},
               {"Name": "bad name!", "Type": "String"},
               {"Name": "T", "Type": "Double"}
             ],
             "Steps": [
               {"Name": "Emr", "Type": "EMR", "Arguments": {}},
               {"Name": "Odd", "Type": "Frobnicate"},
               {"Name": "Dup", "Type": "Fail", "Arguments": {"ErrorMessage": {"Get": "Parameters.Missing"}}},
               {"Name": "Dup", "Type": "Fail", "DependsOn": ["Nowhere", "Dup"]},
               {"Name": "Cond", "Type": "Condition", "Arguments": {
                 "Conditions": [
                   {"Type": "Equals", "LeftValue": {"Get": "Steps.Ghost.Outcome"}, "RightValue": 1},
                   {"Type": "Near", "LeftValue": 1, "RightValue": 2},
                   {"Type": "In", "QueryValue": "a"},
                   {"Type": "GreaterThan", "LeftValue": {"Get": "Execution.Yesterday"}}
                 ],
                 "IfSteps": [{"Name": "Lam", "Type": "Lambda", "FunctionArn": "arn:aws:s3:::bucket", "RetryPolicies": []}]}},
               {"Name": "Cb", "Type": "Callback", "Arguments": {"nested": {"a": 1}}, "OutputParameters": [{"OutputName": "o", "OutputType": "Text"}]}
             ]}
            """);

        Has(problems, "Version", "2020-12-01");
        Has(problems, "Extra", "unknown top-level field");
        Has(problems, "Parameters[0].DefaultValue", "Integer parameter");
        Has(problems, "Parameters[1].Name", "duplicate parameter 'A'");
        Has(problems, "Parameters[2].Name", "invalid parameter name");
        Has(problems, "Parameters[3].Type", "unknown parameter type 'Double'");
        Has(problems, "Steps[0].Type", "step 'Emr' has type 'EMR', which Sluice cannot run (it needs an Amazon EMR cluster)");
        Has(problems, "Steps[1].Type", "unknown step type 'Frobnicate'");
        Has(problems, "Steps[2].Arguments.ErrorMessage.Get", "unknown parameter 'Missing'");
        Has(problems, "Steps[3].Name", "duplicate step name 'Dup'");
        Has(problems, "Steps[3].DependsOn[0]", "unknown step 'Nowhere'");
        Has(problems, "Steps[3].DependsOn[1]", "cannot depend on itself");
        Has(problems, "Steps[4].Arguments.Conditions[0].LeftValue.Get", "unknown step 'Ghost'");
        Has(problems, "Steps[4].Arguments.Conditions[1].Type", "unknown condition type 'Near'");
        Has(problems, "Steps[4].Arguments.Conditions[2].Values", "needs Values");
        Has(problems, "Steps[4].Arguments.Conditions[3].LeftValue.Get", "unknown execution variable 'Yesterday'");
        Has(problems, "Steps[4].Arguments.Conditions[3].RightValue", "needs a RightValue");
        Has(problems, "Steps[4].Arguments.IfSteps[0].FunctionArn", "neither arn:aws:lambda");
        Has(problems, "Steps[4].Arguments.IfSteps[0].RetryPolicies", "not to a Lambda step");
        Has(problems, "Steps[5].SqsQueueUrl", "needs an SqsQueueUrl");
        Has(problems, "Steps[5].Arguments.nested", "nested objects and lists are not supported");
        Has(problems, "Steps[5].OutputParameters[0].OutputType", "unknown OutputType 'Text'");
    }

    [Fact]
    public void Compile_DependencyCycle_NamesTheCycle()
    {
        var problems = Problems(Steps("""
            {"Name": "A", "Type": "Lambda", "FunctionArn": "f", "DependsOn": ["C"], "OutputParameters": [{"OutputName": "o"}]},
            {"Name": "B", "Type": "Lambda", "FunctionArn": "f", "Arguments": {"x": {"Get": "Steps.A.OutputParameters['o']"}}},
            {"Name": "C", "Type": "Lambda", "FunctionArn": "f", "DependsOn": ["B"]}
            """));

        Has(problems, "Steps[0]", "dependency cycle: A -> C -> B -> A");
    }

    [Fact]
    public void Compile_StepReferences_CheckedAgainstWhatTheTargetHas()
    {
        var problems = Problems(Steps("""
            {"Name": "Cond", "Type": "Condition", "Arguments": {"Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}]}},
            {"Name": "Fn", "Type": "Lambda", "FunctionArn": "f", "OutputParameters": [{"OutputName": "score", "OutputType": "Float"}]},
            {"Name": "Proc", "Type": "Processing", "Arguments": {"AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": ["true"]}},
             "PropertyFiles": [{"PropertyFileName": "Report", "OutputName": "missing", "FilePath": "r.json"}]},
            {"Name": "Use", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:Join": {"On": " ", "Values": [
              {"Get": "Steps.Cond.Result"},
              {"Get": "Steps.Fn.OutputParameters['scor']"},
              {"Get": "Steps.Fn.Outputs"},
              {"Get": "Steps.Proc.PropertyFiles.Report"},
              {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Proc.PropertyFiles.Other"}, "Path": "a.b"}},
              {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Fn.PropertyFiles.Report"}, "Path": "a[x]"}},
              {"Get": "Steps.Use.Anything"},
              {"Get": "Steps.Cond"},
              {"Get": "Execution.TrainingJobName"},
              {"Get": "Nowhere.X"}
            ]}}}}
            """));

        const string v = "Steps[3].Arguments.ErrorMessage.Std:Join.Values";
        Has(problems, $"{v}[0].Get", "one property, Outcome");
        Has(problems, $"{v}[1].Get", "no output parameter 'scor'");
        Has(problems, $"{v}[2].Get", "OutputParameters['NAME']");
        Has(problems, $"{v}[3].Get", "read with Std:JsonGet");
        Has(problems, $"{v}[4].Std:JsonGet.PropertyFile.Get", "no property file 'Other'");
        Has(problems, $"{v}[5].Std:JsonGet.Path", "invalid JSON path");
        Has(problems, $"{v}[5].Std:JsonGet.PropertyFile.Get", "only Processing steps have property files");
        Has(problems, $"{v}[6].Get", "its own properties");
        Has(problems, $"{v}[7].Get", "names a step but no property");
        Has(problems, $"{v}[8].Get", "cannot be used in a Fail step");
        Has(problems, $"{v}[9].Get", "unknown reference");
        Has(problems, "Steps[2].PropertyFiles[0].OutputName", "has no output of that name");
    }

    [Fact]
    public void Compile_JobSteps_WhatSluiceCannotRunIsAProblem()
    {
        var problems = Problems(Steps("""
            {"Name": "Proc", "Type": "Processing", "Arguments": {
              "AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": "python3"},
              "ProcessingInputs": [
                {"InputName": "athena", "DatasetDefinition": {"AthenaDatasetDefinition": {}}},
                {"InputName": "manifest", "S3Input": {"S3Uri": "s3://b/m", "LocalPath": "/opt/ml/processing/m", "S3DataType": "ManifestFile"}},
                {"InputName": "elsewhere", "S3Input": {"S3Uri": "https://example.com/x", "LocalPath": "/tmp/x"}}
              ],
              "ProcessingOutputConfig": {"Outputs": [{"OutputName": "fs", "FeatureStoreOutput": {"FeatureGroupName": "g"}}]},
              "StoppingCondition": {"MaxRuntimeInSeconds": -5}}},
            {"Name": "Train", "Type": "Training", "Arguments": {
              "InputDataConfig": [{"ChannelName": "efs", "DataSource": {"FileSystemDataSource": {}}}]},
             "RetryPolicies": [{"ExceptionType": ["SageMaker.OOPS"], "MaxAttempts": 3, "ExpireAfterMin": 5, "BackoffRate": 0.5}]},
            {"Name": "Xform", "Type": "Transform", "Arguments": {}}
            """));

        Has(problems, "Steps[0].Arguments.AppSpecification.ContainerEntrypoint", "must be a list of strings");
        Has(problems, "Steps[0].Arguments.ProcessingInputs[0].DatasetDefinition", "Athena or Redshift");
        Has(problems, "Steps[0].Arguments.ProcessingInputs[1].S3Input.S3DataType", "ManifestFile");
        Has(problems, "Steps[0].Arguments.ProcessingInputs[2].S3Input.S3Uri", "not an object URI");
        Has(problems, "Steps[0].Arguments.ProcessingInputs[2].S3Input.LocalPath", "must be under /opt/ml/");
        Has(problems, "Steps[0].Arguments.ProcessingOutputConfig.Outputs[0].FeatureStoreOutput", "Feature Store");
        Has(problems, "Steps[0].Arguments.StoppingCondition.MaxRuntimeInSeconds", "between 1 and");
        Has(problems, "Steps[1].Arguments.InputDataConfig[0].DataSource.FileSystemDataSource", "EFS or FSx");
        Has(problems, "Steps[1].RetryPolicies[0].ExceptionType", "unknown exception type 'SageMaker.OOPS'");
        Has(problems, "Steps[1].RetryPolicies[0]", "MaxAttempts or ExpireAfterMin, not both");
        Has(problems, "Steps[1].RetryPolicies[0].BackoffRate", "between 1 and 100");
        Has(problems, "Steps[2].Arguments.ModelName", "needs a ModelName");
        Has(problems, "Steps[2].Arguments.TransformInput", "needs TransformInput");
    }

    [Fact]
    public void Compile_ObjectUriOutsideTheObjectDirectory_Rejected()
    {
        var problems = Problems(Steps("""
            {"Name": "Proc", "Type": "Processing", "Arguments": {
              "AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": ["true"]},
              "ProcessingInputs": [{"InputName": "x", "S3Input": {"S3Uri": "s3://bucket/../../etc", "LocalPath": "/opt/ml/processing/x"}}]}}
            """));

        Has(problems, "Steps[0].Arguments.ProcessingInputs[0].S3Input.S3Uri", "cannot be a local path");
    }

    [Fact]
    public void Compile_ConditionComparingIncomparableTypes_Reported()
    {
        var problems = Problems(Steps("""
            {"Name": "Cond", "Type": "Condition", "Arguments": {"Conditions": [
              {"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.N"}, "RightValue": "ten"}]}}
            """, """[{"Name": "N", "Type": "Integer", "DefaultValue": 1}]"""));

        Has(problems, "Steps[0].Arguments.Conditions", "cannot compare");
    }

    [Fact]
    public void Compile_DeeplyNestedJson_ProblemNotCrash()
    {
        var deep = new string('[', 10_000) + new string(']', 10_000);
        var problems = Problems($$"""{"Steps": {{deep}}}""");
        Assert.Contains(problems, p => p.Message.Contains("not valid JSON", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_ExperimentConfigReferringToAStep_Reported()
    {
        var problems = Problems("""
            {"Version": "2020-12-01", "PipelineExperimentConfig": {"ExperimentName": {"Get": "Steps.Fn.OutputParameters['o']"}, "TrialName": "t"},
             "Steps": [{"Name": "Fn", "Type": "Lambda", "FunctionArn": "f", "OutputParameters": [{"OutputName": "o"}]}]}
            """);

        Has(problems, "PipelineExperimentConfig.ExperimentName.Get", "cannot refer to step 'Fn'");
    }
}

/// <summary>Every node of every corpus definition replaced by values of other shapes: the compiler reports problems (or
/// accepts), and never fails inside.</summary>
public class SageMakerMutationTests
{
    private static readonly Func<JsonNode?>[] Replacements =
        [() => null, () => JsonValue.Create(1), () => JsonValue.Create("x"), () => new JsonObject(), () => new JsonArray(), () => new JsonObject { ["Get"] = "Steps.Nope.X" }];

    public static TheoryData<string> Files() => SageMakerCorpusTests.FullDefinitions();

    private static readonly System.Text.Json.JsonDocumentOptions Deep = new() { MaxDepth = 256 };
    private static readonly System.Text.Json.JsonSerializerOptions DeepWrite = new() { MaxDepth = 256 };

    [Theory]
    [MemberData(nameof(Files))]
    public void Compile_EveryNodeReplaced_NeverAnInternalError(string file)
    {
        var source = SageMakerCorpusTests.Corpus(file);
        // Large files: every k-th (node, replacement) pair, so that each file costs at most ~250 compiles.
        var pairs = Paths(JsonNode.Parse(source, documentOptions: Deep)!, []).SelectMany(p => Replacements.Select(r => (Path: p, Make: r))).ToList();
        var stride = Math.Max(1, pairs.Count / 250);
        foreach (var (path, make) in pairs.Where((_, i) => i % stride == 0))
        {
            {
                var root = JsonNode.Parse(source, documentOptions: Deep)!;
                Replace(root, path, make());
                var r = SageMakerCompiler.Compile(root.ToJsonString(DeepWrite));
                Assert.False(r.Problems.Any(p => p.Message.StartsWith("internal error", StringComparison.Ordinal)),
                    $"{string.Join(".", path)} := {make()?.ToJsonString() ?? "null"}: {string.Join("; ", r.Problems)}");
                Assert.Equal(r.Ok, r.Problems.Count == 0);
            }
        }
    }

    private static List<List<object>> Paths(JsonNode node, List<object> at)
    {
        var result = new List<List<object>>();
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    result.Add([.. at, k]);
                    if (v is not null)
                    {
                        result.AddRange(Paths(v, [.. at, k]));
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    result.Add([.. at, i]);
                    if (a[i] is { } v)
                    {
                        result.AddRange(Paths(v, [.. at, i]));
                    }
                }
                break;
        }
        return result;
    }

    private static void Replace(JsonNode root, List<object> path, JsonNode? value)
    {
        var node = root;
        for (var i = 0; i < path.Count - 1; i++)
        {
            node = path[i] is string k ? node![k] : node![(int)path[i]];
        }
        if (path[^1] is string key)
        {
            node!.AsObject()[key] = value;
        }
        else
        {
            node!.AsArray()[(int)path[^1]] = value;
        }
    }
}
