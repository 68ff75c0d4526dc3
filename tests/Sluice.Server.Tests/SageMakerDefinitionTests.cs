using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>SageMaker PipelineDefinitions end to end on a real server: created through the native API
/// (?format=sagemaker), run with their jobs as host processes and s3:// objects in the data directory.</summary>
public class SageMakerDefinitionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    internal static string CorpusDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sluice.slnx")))
            {
                return Path.Combine(dir.FullName, "tests", "corpus", "sagemaker");
            }
        }
        throw new InvalidOperationException("repository root not found");
    }

    private static string Corpus(string file) => File.ReadAllText(Path.Combine(CorpusDir(), file));

    private async Task<string> CreateAsync(string definition, string prefix)
    {
        var name = Json.UniqueName(prefix);
        using var content = new StringContent(definition, Encoding.UTF8, "application/json");
        using var r = await S.Http.PostAsync($"/api/v1/pipelines?format=sagemaker&name={name}", content);
        await ServerProcess.ExpectAsync(r, HttpStatusCode.Created);
        return name;
    }

    /// <summary>The local file of an object URI: {data}/objects/BUCKET/KEY.</summary>
    private string ObjectPath(string uri) => Path.Combine([S.DataDir, "objects", .. uri["s3://".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries)]);

    private void PutObject(string uri, string text)
    {
        var path = ObjectPath(uri);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    /// <summary>A tar.gz object holding the given files (as SageMaker's sourcedir.tar.gz and model.tar.gz are).</summary>
    private void PutTarGz(string uri, Dictionary<string, string> files)
    {
        var path = ObjectPath(uri);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        foreach (var (name, text) in files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
            tar.WriteEntry(entry);
        }
    }

    private static JsonObject Step(JsonObject run, string name) => run.StepOf(name);

    // ---- the corpus ----

    [Fact]
    public async Task AirflowNestedConditions_RunsEvery31ConditionToSucceeded()
    {
        var name = await CreateAsync(Corpus("airflow_example_nested_conditions.json"), "smairflow");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Succeeded", run.Str("state"));
        var steps = run["steps"]!.AsArray();
        Assert.Equal(31, steps.Count);
        Assert.All(steps, s => Assert.Equal("Succeeded", s.Str("state")));
        Assert.All(steps, s => Assert.True(s!["outputs"]!["result"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task FailStepFragment_ConditionFalse_RunFailsWithJoinedMessage()
    {
        var def = new JsonObject
        {
            ["Version"] = "2020-12-01",
            ["Parameters"] = new JsonArray(new JsonObject { ["Name"] = "MyInt", ["Type"] = "Integer", ["DefaultValue"] = 2 }),
            ["Steps"] = JsonNode.Parse(Corpus("sm_fail_step_join_steps_fragment.json")),
        };
        var name = await CreateAsync(def.ToJsonString(), "smfail");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.False(Step(run, "CondStep")["outputs"]!["result"]!.GetValue<bool>());
        Assert.Equal("Failed", Step(run, "FailStep").Str("state"));
        Assert.Equal("Failed due to xxx == yyy returns: false", Step(run, "FailStep").Str("reason"));
        Assert.Equal("Failed due to xxx == yyy returns: false", run.Str("error"));
    }

    /// <summary>These SDK fixtures put a placeholder training job (<c>"Arguments": {}</c>) first: on AWS its
    /// CreateTrainingJob would be rejected; in Sluice it has nothing to run. Either way the step fails and nothing after it starts.</summary>
    [Theory]
    [InlineData("sm_callback_steps_outputs.json", "TestStep", new[] { "MyCallbackStep1", "MyCallbackStep2" })]
    [InlineData("sm_lambda_steps_outputs.json", "TestStep", new[] { "MyLambdaStep1", "MyLambdaStep2" })]
    [InlineData("sm_pipeline_two_step_property_refs.json", "MyStep1", new[] { "MyStep2" })]
    [InlineData("sm_condition_step_interpolated.json", "MyStep0", new[] { "MyConditionStep", "MyStep1", "MyStep2" })]
    public async Task SdkFixture_PlaceholderTrainingJob_FailsWithReasonAndLaterStepsNeverStart(string file, string training, string[] later)
    {
        var name = await CreateAsync(Corpus(file), "smfixture");
        // (Dictionaries: the JSON writer would turn the names of an anonymous object into camelCase.)
        var parameters = file.Contains("condition", StringComparison.Ordinal)
            ? new Dictionary<string, object> { ["MyStr"] = "abc", ["MyInt1"] = 1, ["MyInt2"] = 1 }
            : new Dictionary<string, object> { ["MyStr"] = "abc" };
        var id = (await S.StartRunAsync(name, parameters)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.Equal("Failed", Step(run, training).Str("state"));
        Assert.Contains($"sluice: Training step {training} has nothing Sluice can run", Step(run, training).Str("reason"), StringComparison.Ordinal);
        Assert.All(later, s => Assert.Equal("NotStarted", Step(run, s).Str("state")));
    }

    [Fact]
    public async Task DynamicFramework_WithItsObjectsInTheDataDir_RunsBothChainsToSucceeded()
    {
        const string b = "s3://sagemaker-us-east-1-327206644775";
        // Preprocessing: split the raw data into train/ and test/x_test.csv.
        PutObject($"{b}/tf2-california-housing-pipelines/traindata/data.csv", "1,2\n3,4\n");
        PutTarGz($"{b}/calhousing-test/code/601361f018d558aff5f6d5e5aa268a99/sourcedir.tar.gz", new() { ["preprocess.txt"] = "unused" });
        PutObject($"{b}/calhousing-test/code/906d832cb8d78a79db7aca5f0e90b4df/runproc.sh", """
            set -e
            cd "$SLUICE_OPT_ML/processing/input/code" && tar -xzf sourcedir.tar.gz && test -f preprocess.txt
            mkdir -p "$SLUICE_OPT_ML/processing/output/train/test"
            cp "$SLUICE_OPT_ML/processing/input/raw_data/data.csv" "$SLUICE_OPT_ML/processing/output/train/train.csv"
            echo "5,6" > "$SLUICE_OPT_ML/processing/output/train/test/x_test.csv"
            """);
        // Training (script mode): the model, with its inference code, from the train channel.
        PutTarGz($"{b}/calhousing-test/code/2b2bed1653f6e5820c3ed4eac9f4c094/sourcedir.tar.gz", new()
        {
            ["train.py"] = """
                import os, shutil
                rows = open(os.path.join(os.environ['SM_CHANNEL_CALHOUSING_PREPROCESSING_TRAIN'], 'train.csv')).read().split()
                model = os.environ['SM_MODEL_DIR']
                open(os.path.join(model, 'weights.txt'), 'w').write(str(len(rows)))
                os.makedirs(os.path.join(model, 'code'))
                shutil.copy('inference.py', os.path.join(model, 'code', 'inference.py'))
                """,
            ["inference.py"] = """
                import os
                def model_fn(model_dir):
                    return int(open(os.path.join(model_dir, 'weights.txt')).read())
                def predict_fn(data, model):
                    return 'rows=%d input=%s' % (model, data.strip())
                """,
        });
        // Metrics: reads the transform's output and writes the evaluation report.
        PutTarGz($"{b}/calhousing-test/code/f650f30a4e4548c8e803ea6d1a6df415/sourcedir.tar.gz", new() { ["metrics.txt"] = "unused" });
        PutObject($"{b}/calhousing-test/code/3fb09322e97ad9af120c0c082586efcb/runproc.sh", """
            set -e
            out=$(cat "$SLUICE_OPT_ML/processing/input/calhousing-Transform-train/x_test.csv.out")
            printf '{"prediction": "%s"}' "$out" > "$SLUICE_OPT_ML/processing/output/model_evaluation_metrics.json"
            """);
        // The second chain.
        PutTarGz($"{b}/calhousing-test/code/10162a72a70ea73cfc521c8d9a940a1e/sourcedir.tar.gz", new() { ["x"] = "x" });
        PutObject($"{b}/calhousing-test/code/b99be1bf860d1dd9ef0da2f5e99d6005/runproc.sh", """
            echo a > "$SLUICE_OPT_ML/processing/output/training/a.txt"
            echo b > "$SLUICE_OPT_ML/processing/output/testing/b.txt"
            """);
        PutTarGz($"{b}/calhousing-test/code/3fbcabc20b3e5c7a4186176db6d9b74a/sourcedir.tar.gz", new()
        {
            ["training.py"] = """
                import os
                a = open(os.path.join(os.environ['SM_CHANNEL_FALCON_TEXT_SUMMARIZATION_PREPROCESS_TRAINING'], 'a.txt')).read()
                open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('tuned on ' + a)
                """,
        });

        var name = await CreateAsync(Corpus("dynamic_framework_pipeline_definition.json"), "smdynamic");
        var id = (await S.StartRunAsync(name)).Str("id");
        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed", TimeSpan.FromMinutes(2));

        Assert.True(run.Str("state") == "Succeeded", run.ToJsonString());
        Assert.All(run["steps"]!.AsArray(), s => Assert.Equal("Succeeded", s.Str("state")));
        // Property references resolved to this execution's objects, and the objects are there.
        var preprocess = Step(run, "calhousing-Preprocessing")["inputs"]!["properties"]!;
        var trainUri = preprocess["ProcessingOutputConfig"]!["Outputs"]![0]!["S3Output"]!.Str("S3Uri");
        Assert.Equal($"{b}/calhousing-test/{id}/calhousing-Preprocessing/output/train", trainUri);
        Assert.Equal("1,2\n3,4\n", File.ReadAllText(ObjectPath(trainUri + "/train.csv")));
        var training = Step(run, "calhousing-Training")["inputs"]!["properties"]!;
        var artifacts = training["ModelArtifacts"]!.Str("S3ModelArtifacts");
        Assert.Equal($"{b}/pipelines-{id}-calhousing-Training/output/model.tar.gz", artifacts);
        Assert.True(File.Exists(ObjectPath(artifacts)));
        var model = Step(run, "calhousing-CreateModel-CreateModel")["inputs"]!["properties"]!;
        Assert.Equal(artifacts, model["PrimaryContainer"]!.Str("ModelDataUrl"));
        Assert.Equal($"pipelines-{id}-calhousing-CreateModel-CreateModel", model.Str("ModelName"));
        var transformOut = ObjectPath($"{b}/calhousing-test/{id}/calhousing-Transform/x_test.csv.out");
        Assert.Equal("rows=2 input=5,6", File.ReadAllText(transformOut));
        var metrics = JsonNode.Parse(File.ReadAllText(ObjectPath($"{b}/sklearn-2023-10-20-01-19-23-238/output/model_evaluation_metrics/model_evaluation_metrics.json")))!;
        Assert.Equal("rows=2 input=5,6", metrics.Str("prediction"));
        var register = Step(run, "calhousing-Register-RegisterModel")["inputs"]!["properties"]!;
        Assert.Equal(artifacts, register["InferenceSpecification"]!["Containers"]![0]!.Str("ModelDataUrl"));
        Assert.Equal($"arn:aws:sagemaker:local:000000000000:pipeline/{name}/execution/{id}", register["CustomerMetadataProperties"]!.Str("PIPELINE_ARN"));
        Assert.Equal("PendingManualApproval", register.Str("ModelApprovalStatus"));
        var falconModel = Step(run, "falcon-text-summarization-tuning")["inputs"]!["properties"]!["ModelArtifacts"]!.Str("S3ModelArtifacts");
        Assert.True(File.Exists(ObjectPath(falconModel)));
    }

    // ---- features, with definitions of our own ----

    /// <summary>Processing writes an evaluation report; a condition reads it with Std:JsonGet and chooses between training
    /// (which reads the processing output through its property) and a Fail step.</summary>
    private const string EvaluateThenTrain = """
        {
          "Version": "2020-12-01",
          "Parameters": [
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.8},
            {"Name": "Bucket", "Type": "String", "DefaultValue": "data"}
          ],
          "Steps": [
            {
              "Name": "Evaluate", "Type": "Processing",
              "Arguments": {
                "AppSpecification": {
                  "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/eval:1",
                  "ContainerEntrypoint": ["/bin/sh", "-c", "n=$(wc -l < /opt/ml/processing/input/raw/rows.csv); cp /opt/ml/processing/input/raw/rows.csv /opt/ml/processing/train/; printf '{\"metrics\": {\"accuracy\": {\"value\": %s}}, \"rows\": %s}' \"$1\" $n > /opt/ml/processing/evaluation/evaluation.json", "eval"],
                  "ContainerArguments": ["0.91"]
                },
                "ProcessingInputs": [
                  {"InputName": "raw", "S3Input": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3:/", {"Get": "Parameters.Bucket"}, "raw"]}}, "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix"}}
                ],
                "ProcessingOutputConfig": {"Outputs": [
                  {"OutputName": "train", "S3Output": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://data/runs", {"Get": "Execution.PipelineExecutionId"}, "train"]}}, "LocalPath": "/opt/ml/processing/train", "S3UploadMode": "EndOfJob"}},
                  {"OutputName": "evaluation", "S3Output": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://data/runs", {"Get": "Execution.PipelineExecutionId"}, "evaluation"]}}, "LocalPath": "/opt/ml/processing/evaluation", "S3UploadMode": "EndOfJob"}}
                ]}
              },
              "PropertyFiles": [{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}]
            },
            {
              "Name": "CheckAccuracy", "Type": "Condition",
              "Arguments": {
                "Conditions": [
                  {"Type": "GreaterThanOrEqualTo",
                   "LeftValue": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}, "Path": "metrics.accuracy.value"}},
                   "RightValue": {"Get": "Parameters.Threshold"}}
                ],
                "IfSteps": [
                  {
                    "Name": "Train", "Type": "Training",
                    "Arguments": {
                      "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1", "TrainingInputMode": "File",
                        "ContainerEntrypoint": ["/bin/sh", "-c", "cat $SM_CHANNEL_TRAIN/rows.csv > $SM_MODEL_DIR/model.txt; echo \"$TRAINING_JOB_NAME $1\" >> $SM_MODEL_DIR/model.txt", "train"],
                        "ContainerArguments": [{"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}]},
                      "OutputDataConfig": {"S3OutputPath": "s3://data/models/"},
                      "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}}}}],
                      "StoppingCondition": {"MaxRuntimeInSeconds": 60}
                    }
                  },
                  {
                    "Name": "Register", "Type": "RegisterModel",
                    "Arguments": {"ModelPackageGroupName": "accurate",
                      "InferenceSpecification": {"Containers": [{"Image": "img", "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}]}}
                  }
                ],
                "ElseSteps": [
                  {"Name": "TooInaccurate", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:Join": {"On": " ", "Values": ["accuracy", {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}, "Path": "metrics.accuracy.value"}}, "is below", {"Get": "Parameters.Threshold"}]}}}}
                ]
              }
            }
          ]
        }
        """;

    [Fact]
    public async Task JsonGetCondition_AboveThreshold_TrainsOnProcessingOutputAndRegisters()
    {
        PutObject("s3://data/raw/rows.csv", "a\nb\nc\n");
        var name = await CreateAsync(EvaluateThenTrain, "smeval");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.True(run.Str("state") == "Succeeded", run.ToJsonString());
        Assert.True(Step(run, "CheckAccuracy")["outputs"]!["result"]!.GetValue<bool>());
        Assert.Equal("Skipped", Step(run, "TooInaccurate").Str("state"));
        var evaluation = JsonNode.Parse(File.ReadAllText(ObjectPath($"s3://data/runs/{id}/evaluation/evaluation.json")))!;
        Assert.Equal(3, evaluation["rows"]!.GetValue<int>());
        var trainArgs = Step(run, "Train")["inputs"]!["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Contains($"s3://data/runs/{id}/train", trainArgs); // ContainerArguments, resolved through the property
        var artifacts = Step(run, "Train")["inputs"]!["properties"]!["ModelArtifacts"]!.Str("S3ModelArtifacts");
        Assert.Equal($"s3://data/models/pipelines-{id}-Train/output/model.tar.gz", artifacts);
        var model = ReadTarGz(ObjectPath(artifacts), "model.txt");
        Assert.Equal($"a\nb\nc\npipelines-{id}-Train s3://data/runs/{id}/train\n", model);
        var register = Step(run, "Register")["inputs"]!["properties"]!;
        Assert.Equal(artifacts, register["InferenceSpecification"]!["Containers"]![0]!.Str("ModelDataUrl"));
        Assert.Equal($"arn:aws:sagemaker:local:000000000000:model-package/accurate/{id}", register.Str("ModelPackageArn"));
    }

    [Fact]
    public async Task JsonGetCondition_BelowThreshold_ElseBranchFailsWithMessageFromTheReport()
    {
        PutObject("s3://data2/raw/rows.csv", "a\n");
        var name = await CreateAsync(EvaluateThenTrain, "smevalno");
        var id = (await S.StartRunAsync(name, new Dictionary<string, object> { ["Threshold"] = 0.95, ["Bucket"] = "data2" })).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.False(Step(run, "CheckAccuracy")["outputs"]!["result"]!.GetValue<bool>());
        Assert.Equal("Skipped", Step(run, "Train").Str("state"));
        Assert.Equal("Skipped", Step(run, "Register").Str("state"));
        Assert.Equal("accuracy 0.91 is below 0.95", Step(run, "TooInaccurate").Str("reason"));
    }

    [Fact]
    public async Task ProcessingInputMissing_StepFailsNamingTheObject()
    {
        var name = await CreateAsync(EvaluateThenTrain, "smnoinput");
        var id = (await S.StartRunAsync(name, new Dictionary<string, object> { ["Bucket"] = "no-such-bucket" })).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.Contains("sluice: input raw (s3://no-such-bucket/raw) is not in the object directory", Step(run, "Evaluate").Str("reason"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EntrypointProgramNotOnHost_FailsWithClearReason()
    {
        var name = await CreateAsync("""
            {"Version": "2020-12-01", "Steps": [{"Name": "Proc", "Type": "Processing", "Arguments": {
              "AppSpecification": {"ImageUri": "registry.example/tool:2", "ContainerEntrypoint": ["sluice-no-such-program", "--help"]}}}]}
            """, "smnoprog");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.Equal("exited with code 127: sluice: 'sluice-no-such-program' is not a program on this host (the job's image registry.example/tool:2 is recorded, not pulled: Sluice runs the job's command on the host)",
            Step(run, "Proc").Str("reason"));
    }

    [Fact]
    public async Task LambdaStep_CallsRegisteredFunctionByArn_TypedArgumentsAndOutputsFlow()
    {
        var fn = Json.UniqueName("smfn").Replace('-', '_');
        using (var put = await S.Http.PutAsJsonAsync($"/api/v1/functions/{fn}", new
        {
            command = new[] { "sh", "-c", """cat > "$SLUICE_STEP_DIR/event.json"; echo '{"score": 0.5, "label": "ok", "count": 3}'""" },
        }))
        {
            await ServerProcess.ExpectAsync(put, HttpStatusCode.Created);
        }
        var name = await CreateAsync($$$"""
            {"Version": "2020-12-01",
             "Parameters": [{"Name": "N", "Type": "Integer", "DefaultValue": 4}],
             "Steps": [
               {"Name": "Score", "Type": "Lambda", "FunctionArn": "arn:aws:lambda:us-west-2:123456789012:function:{{{fn}}}",
                "Arguments": {"n": {"Get": "Parameters.N"}, "flag": true, "text": "hi", "run": {"Get": "Execution.PipelineExecutionId"}},
                "OutputParameters": [{"OutputName": "score", "OutputType": "Float"}, {"OutputName": "count", "OutputType": "Integer"}]},
               {"Name": "Big", "Type": "Condition", "Arguments": {
                 "Conditions": [{"Type": "GreaterThan", "LeftValue": {"Get": "Steps.Score.OutputParameters['count']"}, "RightValue": 2}],
                 "IfSteps": [{"Name": "Use", "Type": "Lambda", "FunctionArn": "{{{fn}}}", "Arguments": {"s": {"Get": "Steps.Score.OutputParameters['score']"} } }],
                 "ElseSteps": []}}
             ]}
            """, "smlambda");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.True(run.Str("state") == "Succeeded", run.ToJsonString());
        Assert.Equal(0.5, Step(run, "Score")["outputs"]!["score"]!.GetValue<double>());
        var dir = Path.Combine(S.DataDir, "runs", id, "Score", "1");
        var sent = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "event.json")))!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["n"] = 4, ["flag"] = true, ["text"] = "hi", ["run"] = id }, sent), sent.ToJsonString());
        var used = JsonNode.Parse(File.ReadAllText(Path.Combine(S.DataDir, "runs", id, "Use", "1", "event.json")))!;
        Assert.Equal(0.5, used["s"]!.GetValue<double>());
    }

    [Fact]
    public async Task CallbackStep_PublishesSpecMessageToQueueFromSqsUrl_AnswerOutputsFlow()
    {
        var queue = Json.UniqueName("smq");
        var name = await CreateAsync($$$"""
            {"Version": "2020-12-01",
             "Parameters": [{"Name": "Number", "Type": "Integer", "DefaultValue": 5}],
             "Steps": [
               {"Name": "Approve", "Type": "Callback", "SqsQueueUrl": "https://sqs.us-east-2.amazonaws.com/123456789012/{{{queue}}}",
                "Arguments": {"number": {"Get": "Parameters.Number"}, "stringArg": "some-arg", "ratio": 0.8235294117647058},
                "OutputParameters": [{"OutputName": "verdict", "OutputType": "String"}, {"OutputName": "level", "OutputType": "Integer"}]},
               {"Name": "After", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:Join": {"On": ":", "Values": [{"Get": "Steps.Approve.OutputParameters['verdict']"}, {"Get": "Steps.Approve.OutputParameters['level']"}]} } } }
             ]}
            """, "smcallback");
        using (var put = await S.Http.PutAsync($"/api/v1/queues/{queue}", null))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        var id = (await S.StartRunAsync(name)).Str("id");

        var got = await S.PostJsonAsync($"/api/v1/queues/{queue}/messages:receive", new { waitSeconds = 20, maxMessages = 1 }, HttpStatusCode.OK);
        var body = JsonNode.Parse(Assert.Single(got["messages"]!.AsArray())!.Str("body"))!.AsObject();

        Assert.Equal(["token", "pipelineExecutionArn", "arguments", "status"], body.Select(kv => kv.Key));
        Assert.Equal($"arn:aws:sagemaker:local:000000000000:pipeline/{name}/execution/{id}", body.Str("pipelineExecutionArn"));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["number"] = 5, ["stringArg"] = "some-arg", ["ratio"] = 0.8235294117647058 }, body["arguments"]),
            body.ToJsonString());
        Assert.Equal("Executing", body.Str("status"));
        Assert.Matches("^[A-Za-z0-9]{10}$", body.Str("token"));

        await S.PostJsonAsync($"/api/v1/callbacks/{body.Str("token")}:succeed", new { outputs = new { verdict = "approved", level = "2" } }, HttpStatusCode.OK);
        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", Step(run, "Approve").Str("state"));
        Assert.Equal(2, Step(run, "Approve")["outputs"]!["level"]!.GetValue<long>());
        Assert.Equal("approved:2", Step(run, "After").Str("reason"));
    }

    [Fact]
    public async Task CreatePipeline_UnsupportedAndBrokenSteps_EveryProblemWithItsPath()
    {
        using var content = new StringContent("""
            {"Version": "2020-12-01", "Steps": [
              {"Name": "Emr", "Type": "EMR", "Arguments": {}},
              {"Name": "Check", "Type": "Condition", "Arguments": {"Conditions": [{"Type": "Equals", "LeftValue": {"Get": "Parameters.Nope"}, "RightValue": 1}]}}
            ]}
            """, Encoding.UTF8, "application/json");
        using var r = await S.Http.PostAsync($"/api/v1/pipelines?format=sagemaker&name={Json.UniqueName("smbad")}", content);
        var body = await ServerProcess.ExpectAsync(r, HttpStatusCode.BadRequest);

        var problems = body["problems"]!.AsArray().Select(p => (p.Str("path"), p.Str("message"))).ToList();
        Assert.Contains(problems, p => p.Item1 == "Steps[0].Type" && p.Item2.Contains("'EMR', which Sluice cannot run", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Item1 == "Steps[1].Arguments.Conditions[0].LeftValue.Get" && p.Item2.Contains("unknown parameter 'Nope'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RetryPolicies_JobInternalErrorRetried_OtherTypesAndExpiredPoliciesNot()
    {
        const string Flaky = """["/bin/sh", "-c", "echo attempt $SLUICE_ATTEMPT; [ \"$SLUICE_ATTEMPT\" -ge 3 ] || { echo 'flaky' >&2; exit 1; }"]""";
        var name = await CreateAsync($$$"""
            {"Version": "2020-12-01", "Steps": [
              {"Name": "Retried", "Type": "Processing", "Arguments": {"AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": {{{Flaky}}}}},
               "RetryPolicies": [
                 {"ExceptionType": ["Step.THROTTLING"], "IntervalSeconds": 0, "MaxAttempts": 9},
                 {"ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 0, "BackoffRate": 1.0, "MaxAttempts": 2}]},
              {"Name": "NotRetried", "Type": "Processing", "DependsOn": ["Retried"], "Arguments": {"AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": {{{Flaky}}}}},
               "RetryPolicies": [{"ExceptionType": ["Step.SERVICE_FAULT", "SageMaker.CAPACITY_ERROR"], "IntervalSeconds": 0, "MaxAttempts": 5}]},
              {"Name": "Expired", "Type": "Processing", "DependsOn": ["Retried"], "Arguments": {"AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": {{{Flaky}}}}},
               "RetryPolicies": [{"ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 0, "ExpireAfterMin": 0}]}
            ]}
            """, "smretry");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.Equal("Succeeded", Step(run, "Retried").Str("state"));
        Assert.Equal(3, Step(run, "Retried")["attempt"]!.GetValue<int>());
        Assert.Equal("Failed", Step(run, "NotRetried").Str("state"));
        Assert.Equal(1, Step(run, "NotRetried")["attempt"]!.GetValue<int>());
        Assert.Equal("exited with code 1: flaky", Step(run, "NotRetried").Str("reason"));
        Assert.Equal("Failed", Step(run, "Expired").Str("state"));
        Assert.Equal(1, Step(run, "Expired")["attempt"]!.GetValue<int>());
    }

    [Fact]
    public async Task TrainingFails_FailureFileIsTheReason_NoArtifactsStored()
    {
        var name = await CreateAsync("""
            {"Version": "2020-12-01", "Steps": [
              {"Name": "Train", "Type": "Training", "Arguments": {
                "AlgorithmSpecification": {"TrainingImage": "img", "ContainerEntrypoint": ["/bin/sh", "-c", "echo partial > $SM_MODEL_DIR/m; echo 'learning rate must be positive' > /opt/ml/output/failure; exit 3"]},
                "OutputDataConfig": {"S3OutputPath": "s3://failing/models"}}}
            ]}
            """, "smtrainfail");
        var id = (await S.StartRunAsync(name)).Str("id");

        var run = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");

        Assert.Equal("Failed", run.Str("state"));
        Assert.Equal("exited with code 3: learning rate must be positive", Step(run, "Train").Str("reason"));
        Assert.False(File.Exists(ObjectPath($"s3://failing/models/pipelines-{id}-Train/output/model.tar.gz")));
    }

    [Fact]
    public async Task Stop_WhileProcessingJobRuns_StoppedAndOutputsNotStored()
    {
        var name = await CreateAsync("""
            {"Version": "2020-12-01", "Steps": [
              {"Name": "Long", "Type": "Processing", "Arguments": {
                "AppSpecification": {"ImageUri": "img", "ContainerEntrypoint": ["/bin/sh", "-c", "echo partial > /opt/ml/processing/out/part.txt; echo started > $SLUICE_STEP_DIR/started; exec sleep 60"]},
                "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://stopped", {"Get": "Execution.PipelineExecutionId"}]}}, "LocalPath": "/opt/ml/processing/out"}}]}}},
              {"Name": "After", "Type": "Fail", "DependsOn": ["Long"], "Arguments": {"ErrorMessage": "never"}}
            ]}
            """, "smstop");
        var id = (await S.StartRunAsync(name)).Str("id");
        var started = Path.Combine(S.DataDir, "runs", id, "Long", "1", "started");
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(started), Deadline.Default), "the job did not start");

        await S.PostJsonAsync($"/api/v1/runs/{id}:stop", new { reason = "not needed" }, HttpStatusCode.Accepted);
        var run = await S.WaitForStateAsync(id, "Stopped");

        Assert.Equal("Stopped", Step(run, "Long").Str("state"));
        Assert.Equal("NotStarted", Step(run, "After").Str("state"));
        Assert.False(Directory.Exists(ObjectPath($"s3://stopped/{id}")));
    }

    [Theory]
    [InlineData("?format=sagemaker&name=ok-name", "application/yaml", "a SageMaker pipeline definition is JSON")]
    [InlineData("?format=kfp&name=x", "application/json", "unknown format kfp")]
    [InlineData("?name=x", "application/json", "?name= is for definitions without a name of their own")]
    [InlineData("?format=sagemaker&name=bad_name!", "application/json", "invalid pipeline name")]
    [InlineData("?format=sagemaker", "application/json", "a pipeline needs a name")]
    public async Task CreatePipeline_BadFormatOrName_400AndNothingStored(string query, string contentType, string fragment)
    {
        using var content = new StringContent(Corpus("airflow_example_nested_conditions.json"), Encoding.UTF8, contentType);
        using var r = await S.Http.PostAsync($"/api/v1/pipelines{query}", content);
        var body = await ServerProcess.ExpectAsync(r, HttpStatusCode.BadRequest);

        Assert.Contains(fragment, body.Str("detail"), StringComparison.Ordinal);
        var list = await S.GetJsonAsync("/api/v1/pipelines?pageSize=1000");
        Assert.DoesNotContain(list["pipelines"]!.AsArray(), p => p.Str("name") is "ok-name" or "x");
    }

    [Fact]
    public async Task Validate_SageMakerFormat_ReportsStepsOrProblems()
    {
        using var good = new StringContent(Corpus("sm_lambda_steps_outputs.json"), Encoding.UTF8, "application/json");
        using var r1 = await S.Http.PostAsync("/api/v1/pipelines:validate?format=sagemaker", good);
        var ok = await ServerProcess.ExpectAsync(r1, HttpStatusCode.OK);
        Assert.True(ok["valid"]!.GetValue<bool>());
        Assert.Equal(["TestStep", "MyLambdaStep1", "MyLambdaStep2"], ok["steps"]!.AsArray().Select(x => x.Str("name")));

        using var bad = new StringContent("""{"Steps": [{"Name": "T", "Type": "Tuning"}]}""", Encoding.UTF8, "application/json");
        using var r2 = await S.Http.PostAsync("/api/v1/pipelines:validate?format=sagemaker", bad);
        var no = await ServerProcess.ExpectAsync(r2, HttpStatusCode.OK);
        Assert.False(no["valid"]!.GetValue<bool>());
        Assert.Equal("Steps[0].Type", Assert.Single(no["problems"]!.AsArray())!.Str("path"));
    }

    private static string ReadTarGz(string path, string entryName)
    {
        using var file = File.OpenRead(path);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } e)
        {
            if (e.Name.TrimStart('.', '/') == entryName && e.DataStream is { } s)
            {
                using var reader = new StreamReader(s);
                return reader.ReadToEnd();
            }
        }
        throw new FileNotFoundException($"{entryName} is not in {path}");
    }
}
