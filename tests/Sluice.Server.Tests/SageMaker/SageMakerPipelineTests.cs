using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>Pipelines with SageMaker PipelineDefinitions (the "sagemaker" compiler) through boto3, the JS SDK and both AWS
/// CLIs, in region us-east-1: CRUD with every documented error, the seed's stop cases with LambdaStep and CallbackStep
/// definitions, and the corpus.</summary>
public class SageMakerPipelineTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Role = "arn:aws:iam::123456789012:role/SageMakerRole";

    private ServerProcess S => fixture.Server;

    private AwsClients Aws => new(S);

    private static string Definition(params object[] steps) => JsonSerializer.Serialize(new
    {
        Version = "2020-12-01", Metadata = new { }, Parameters = new[] { new { Name = "Msg", Type = "String", DefaultValue = "boom" } },
        PipelineExperimentConfig = new
        {
            ExperimentName = new Dictionary<string, string> { ["Get"] = "Execution.PipelineName" },
            TrialName = new Dictionary<string, string> { ["Get"] = "Execution.PipelineExecutionId" },
        },
        Steps = steps,
    });

    private static object FailStep(string name = "F") => new
    {
        Name = name, Type = "Fail", Arguments = new { ErrorMessage = new Dictionary<string, object> { ["Get"] = "Parameters.Msg" } },
    };

    [Fact]
    public async Task Pipelines_CreateDescribeUpdateListDelete_WithTheirErrors()
    {
        var name = "Cr" + Json.UniqueName("ud").Replace("-", "", StringComparison.Ordinal);
        var v1 = Definition(FailStep());
        var v2 = Definition(FailStep("G"));
        var token = Guid.NewGuid().ToString("D");
        var create = new
        {
            PipelineName = name, PipelineDisplayName = "Shown-Name", PipelineDefinition = v1, PipelineDescription = "first", RoleArn = Role,
            Tags = new[] { new { Key = "team", Value = "ml" } }, ParallelismConfiguration = new { MaxParallelExecutionSteps = 2 },
            ClientRequestToken = token,
        };
        var lower = name.ToLowerInvariant();
        var r = await Aws.BotoAsync([
            Call("sagemaker.create_pipeline", create),                                                                // 0
            Call("sagemaker.create_pipeline", create),                                                                // 1 replay
            Call("sagemaker.create_pipeline", create with { ClientRequestToken = Guid.NewGuid().ToString("D") } ),    // 2 duplicate
            Call("sagemaker.create_pipeline", new { PipelineName = lower, PipelineDefinition = v1, RoleArn = Role }), // 3 case-insensitive
            Call("sagemaker.create_pipeline", new { PipelineName = name, PipelineDefinition = v2, RoleArn = Role, ClientRequestToken = token }), // 4 conflict
            Call("sagemaker.describe_pipeline", new { PipelineName = lower.ToUpperInvariant() }),                     // 5
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 6
            Call("sagemaker.update_pipeline", new { PipelineName = name, PipelineDefinition = v2, PipelineDescription = "second",
                ParallelismConfiguration = new { MaxParallelExecutionSteps = 4 } }),                                   // 7
            Call("sagemaker.describe_pipeline", new { PipelineName = name }),                                         // 8
            Call("sagemaker.describe_pipeline", new { PipelineName = name, PipelineVersionId = 1 }),                  // 9
            Call("sagemaker.describe_pipeline_definition_for_execution", new { PipelineExecutionArn = "${6.PipelineExecutionArn}" }), // 10
            Paginate("sagemaker.list_pipelines", new { PipelineNamePrefix = name[..6], SortBy = "Name", SortOrder = "Ascending",
                PaginationConfig = new { PageSize = 1 } }, "PipelineSummaries"),                                     // 11
            Call("sagemaker.create_pipeline", new { PipelineName = "bad_name", PipelineDefinition = v1, RoleArn = Role }), // 12
            Call("sagemaker.create_pipeline", new { PipelineName = name + "x", PipelineDefinition = v1, RoleArn = "arn:aws:iam::1:user/nope" }), // 13
            Call("sagemaker.create_pipeline", new { PipelineName = name + "x", RoleArn = Role,
                PipelineDefinitionS3Location = new { Bucket = "my-bucket", ObjectKey = "def.json" } }),               // 14
            Call("sagemaker.create_pipeline", new { PipelineName = name + "x", PipelineDefinition = "{\"Steps\": 5}", RoleArn = Role }), // 15
            Call("sagemaker.create_pipeline", new { PipelineName = name + "x", RoleArn = Role }),                     // 16
            Call("sagemaker.update_pipeline", new { PipelineName = "no-such-pipeline", PipelineDescription = "x" }),  // 17
            Call("sagemaker.list_pipelines", new { SortBy = "Size" }),                                                // 18
            Call("sagemaker.delete_pipeline", new { PipelineName = name, ClientRequestToken = token }),               // 19
            Call("sagemaker.delete_pipeline", new { PipelineName = name, ClientRequestToken = token }),               // 20 replay
            Call("sagemaker.describe_pipeline", new { PipelineName = name }),                                         // 21
            Call("sagemaker.delete_pipeline", new { PipelineName = name }),                                           // 22
        ]);
        var arn = $"arn:aws:sagemaker:us-east-1:000000000000:pipeline/{lower}";
        Assert.Equal(arn, r.Ok(0)["PipelineArn"]!.GetValue<string>());
        Assert.Equal(arn, r.Ok(1)["PipelineArn"]!.GetValue<string>());
        Assert.Equal("ValidationException", r.Code(2));
        Assert.Contains("already exists", r.Message(2), StringComparison.Ordinal);
        Assert.Equal("ValidationException", r.Code(3));
        Assert.Contains("already exists", r.Message(3), StringComparison.Ordinal);
        Assert.Equal("ConflictException", r.Code(4));
        var d = r.Ok(5);
        Assert.Equal(name, d["PipelineName"]!.GetValue<string>());
        Assert.Equal("Shown-Name", d["PipelineDisplayName"]!.GetValue<string>());
        Assert.Equal(v1, d["PipelineDefinition"]!.GetValue<string>());
        Assert.Equal("first", d["PipelineDescription"]!.GetValue<string>());
        Assert.Equal(Role, d["RoleArn"]!.GetValue<string>());
        Assert.Equal(2, d["ParallelismConfiguration"]!["MaxParallelExecutionSteps"]!.GetValue<int>());
        Assert.Equal(2, r.Ok(7)["PipelineVersionId"]!.GetValue<long>());
        Assert.Equal(v2, r.Ok(8)["PipelineDefinition"]!.GetValue<string>());
        Assert.Equal("second", r.Ok(8)["PipelineDescription"]!.GetValue<string>());
        Assert.Equal(4, r.Ok(8)["ParallelismConfiguration"]!["MaxParallelExecutionSteps"]!.GetValue<int>());
        Assert.Equal(v1, r.Ok(9)["PipelineDefinition"]!.GetValue<string>());
        // The execution keeps the definition it started with.
        Assert.Equal(v1, r.Ok(10)["PipelineDefinition"]!.GetValue<string>());
        Assert.Equal(name, Assert.Single(r.Ok(11)["items"]!.AsArray())!["PipelineName"]!.GetValue<string>());
        foreach (var i in new[] { 12, 13, 14, 15, 16, 18 })
        {
            Assert.Equal("ValidationException", r.Code(i));
        }
        Assert.Contains("pipelineName", r.Message(12), StringComparison.Ordinal);
        Assert.Contains("roleArn", r.Message(13), StringComparison.Ordinal);
        Assert.Contains("not supported", r.Message(14), StringComparison.Ordinal);
        Assert.Equal("ResourceNotFound", r.Code(17));
        Assert.Equal(arn, r.Ok(19)["PipelineArn"]!.GetValue<string>());
        Assert.Equal(arn, r.Ok(20)["PipelineArn"]!.GetValue<string>());
        Assert.Equal("ResourceNotFound", r.Code(21));
        Assert.Equal("ResourceNotFound", r.Code(22));
    }

    [Fact]
    public async Task DeletePipeline_WithAnExecutionRunning_IsAConflictUntilItStops()
    {
        var queue = Json.UniqueName("delq");
        var name = Json.UniqueName("smdel");
        var def = Definition(new { Name = "Wait", Type = "Callback", SqsQueueUrl = queue, Arguments = new { } });
        var r = await Aws.BotoAsync([
            Call("sagemaker.create_pipeline", new { PipelineName = name, PipelineDefinition = def, RoleArn = Role }),  // 0
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 1
            Call("sagemaker.delete_pipeline", new { PipelineName = name }),                                           // 2
            WaitExists("sqs.receive_message", new { QueueUrl = $"{Aws.Endpoint}/000000000000/{queue}", WaitTimeSeconds = 5 }, "Messages.0.Body"), // 3
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" }),    // 4
            Call("sagemaker.send_pipeline_execution_step_failure", new { CallbackToken = "${3.Messages.0.Body.@json.token}", FailureReason = "stop" }), // 5
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Stopped", "Failed"),                                                      // 6
            Call("sagemaker.delete_pipeline", new { PipelineName = name }),                                           // 7
        ]);
        Assert.Equal("ConflictException", r.Code(2));
        Assert.Equal("Stopped", r.Ok(6)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.NotNull(r.Ok(7)["PipelineArn"]);
    }

    [Fact]
    public async Task SeedStopCases_WithLambdaAndCallbackDefinitions_ThroughBoto3AndSqs()
    {
        var quick = Json.UniqueName("fn-quick");
        var slow = Json.UniqueName("fn-slow");
        await S.Http.PutAsJsonAsyncChecked($"/api/v1/functions/{quick}",
            new { command = new[] { "sh", "-c", "cat >/dev/null; sleep 3; echo '{\"score\": 0.9}'" }, timeLimitSeconds = 60 });
        await S.Http.PutAsJsonAsyncChecked($"/api/v1/functions/{slow}",
            new { command = new[] { "sh", "-c", "cat >/dev/null; sleep 30; echo '{}'" }, timeLimitSeconds = 60 });
        var queue = Json.UniqueName("seedq");
        var queueUrl = $"https://sqs.us-east-1.amazonaws.com/000000000000/{queue}";
        object Lambda(string fn, int? timeout = null) => timeout is { } t
            ? new { Name = "L", Type = "Lambda", FunctionArn = $"arn:aws:lambda:us-east-1:000000000000:function:{fn}", Arguments = new { x = 1 },
                OutputParameters = new[] { new { OutputName = "score", OutputType = "Float" } }, Timeout = t }
            : new { Name = "L", Type = "Lambda", FunctionArn = $"arn:aws:lambda:us-east-1:000000000000:function:{fn}", Arguments = new { x = 1 },
                OutputParameters = new[] { new { OutputName = "score", OutputType = "Float" } } };
        var after = new { Name = "After", Type = "Fail", DependsOn = new[] { "L" }, Arguments = new { ErrorMessage = "never" } };
        var finishing = Json.UniqueName("seed-finish");
        var timing = Json.UniqueName("seed-timeout");
        var callback = Json.UniqueName("seed-callback");
        var cbDef = Definition(new
        {
            Name = "Approve", Type = "Callback", SqsQueueUrl = queueUrl, Arguments = new { number = 5, msg = new Dictionary<string, string> { ["Get"] = "Parameters.Msg" } },
            OutputParameters = new[] { new { OutputName = "note", OutputType = "String" } },
        });
        var consumerUrl = $"{Aws.Endpoint}/000000000000/{queue}";
        JsonObject Running(int start) => WaitExists("sagemaker.list_pipeline_execution_steps",
            new { PipelineExecutionArn = $"${{{start}.PipelineExecutionArn}}" }, "PipelineExecutionSteps.0.StepStatus");
        var r = await Aws.BotoAsync([
            Call("sagemaker.create_pipeline", new { PipelineName = finishing, PipelineDefinition = Definition(Lambda(quick), after), RoleArn = Role }), // 0
            Call("sagemaker.create_pipeline", new { PipelineName = timing, PipelineDefinition = Definition(Lambda(slow, 2), after), RoleArn = Role }), // 1
            Call("sagemaker.create_pipeline", new { PipelineName = callback, PipelineDefinition = cbDef, RoleArn = Role }), // 2
            Call("sagemaker.start_pipeline_execution", new { PipelineName = finishing }),                             // 3
            Call("sagemaker.start_pipeline_execution", new { PipelineName = timing }),                                // 4
            Call("sagemaker.start_pipeline_execution", new { PipelineName = callback }),                              // 5
            Running(3), Running(4),                                                                                   // 6, 7
            WaitExists("sqs.receive_message", new { QueueUrl = consumerUrl, WaitTimeSeconds = 5 }, "Messages.0.Body"), // 8 Executing
            Call("sqs.delete_message", new { QueueUrl = consumerUrl, ReceiptHandle = "${8.Messages.0.ReceiptHandle}" }), // 9
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${3.PipelineExecutionArn}" }),   // 10
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${4.PipelineExecutionArn}" }),   // 11
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${5.PipelineExecutionArn}" }),   // 12
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${3.PipelineExecutionArn}" }), // 13
            WaitExists("sqs.receive_message", new { QueueUrl = consumerUrl, WaitTimeSeconds = 5 }, "Messages.0.Body"), // 14 Stopping
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${5.PipelineExecutionArn}" }), // 15
            Call("sagemaker.send_pipeline_execution_step_success", new { CallbackToken = "${14.Messages.0.Body.@json.token}" }), // 16
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${3.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Stopped", "Failed", "Succeeded"),                                          // 17
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${4.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Stopped", "Failed", "Succeeded"),                                          // 18
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${5.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Stopped", "Failed", "Succeeded"),                                          // 19
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${3.PipelineExecutionArn}" }), // 20
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${4.PipelineExecutionArn}" }), // 21
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${5.PipelineExecutionArn}" }), // 22
        ]);
        Assert.Equal("Stopping", r.Ok(13)["PipelineExecutionStatus"]!.GetValue<string>());
        var first = JsonNode.Parse(r.Ok(8)["Messages"]![0]!["Body"]!.GetValue<string>())!.AsObject();
        Assert.Equal("Executing", first.Str("status"));
        Assert.Equal(r.Ok(5)["PipelineExecutionArn"]!.GetValue<string>(), first.Str("pipelineExecutionArn"));
        Assert.Equal(5, first["arguments"]!["number"]!.GetValue<int>());
        Assert.Equal("boom", first["arguments"]!["msg"]!.GetValue<string>());
        var stopping = JsonNode.Parse(r.Ok(14)["Messages"]![0]!["Body"]!.GetValue<string>())!.AsObject();
        Assert.Equal("Stopping", stopping.Str("status"));
        Assert.Equal(first.Str("token"), stopping.Str("token"));
        Assert.Equal("Stopping", r.Ok(15)["PipelineExecutionStatus"]!.GetValue<string>());
        // Lambda finishes: Stopped. Lambda hits its time limit: Failed. Callback answered after "Stopping": Stopped.
        Assert.Equal("Stopped", r.Ok(17)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("Failed", r.Ok(18)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("Stopped", r.Ok(19)["PipelineExecutionStatus"]!.GetValue<string>());
        var lambda = Assert.Single(r.Ok(20)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("Succeeded", lambda!["StepStatus"]!.GetValue<string>());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:function:{quick}", lambda["Metadata"]!["Lambda"]!["Arn"]!.GetValue<string>());
        Assert.Equal("Failed", Assert.Single(r.Ok(21)["PipelineExecutionSteps"]!.AsArray())!["StepStatus"]!.GetValue<string>());
        var cb = Assert.Single(r.Ok(22)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("Stopped", cb!["StepStatus"]!.GetValue<string>());
        Assert.Equal(queueUrl, cb["Metadata"]!["Callback"]!["SqsQueueUrl"]!.GetValue<string>());
    }

    [Fact]
    public async Task Steps_JobAndModelSteps_CarryTheirArnsInMetadata()
    {
        var name = Json.UniqueName("smjob");
        var def = """
            {"Version": "2020-12-01", "Steps": [
              {"Name": "Prep", "Type": "Processing", "Arguments": {"AppSpecification": {"ImageUri": "i", "ContainerEntrypoint": ["true"]}}},
              {"Name": "Make", "Type": "Model", "DependsOn": ["Prep"], "Arguments": {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
                "PrimaryContainer": {"Image": "i", "ModelDataUrl": "s3://m/model.tar.gz"}}}]}
            """;
        var r = await Aws.BotoAsync([
            Call("sagemaker.create_pipeline", new { PipelineName = name, PipelineDefinition = def, RoleArn = Role }),
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Succeeded", "Failed"),
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${1.PipelineExecutionArn}", SortOrder = "Ascending" }),
        ]);
        Assert.Equal("Succeeded", r.Ok(2)["PipelineExecutionStatus"]!.GetValue<string>());
        var id = r.Ok(1)["PipelineExecutionArn"]!.GetValue<string>().Split('/')[^1];
        var steps = r.Ok(3)["PipelineExecutionSteps"]!.AsArray();
        Assert.Equal($"arn:aws:sagemaker:us-east-1:000000000000:processing-job/pipelines-{id}-prep",
            steps[0]!["Metadata"]!["ProcessingJob"]!["Arn"]!.GetValue<string>().ToLowerInvariant());
        Assert.StartsWith("arn:aws:sagemaker:us-east-1:000000000000:model/", steps[1]!["Metadata"]!["Model"]!["Arn"]!.GetValue<string>(),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Corpus_EveryFullDefinition_IsAcceptedAndDescribedVerbatim()
    {
        var dir = CorpusDir();
        var files = Directory.GetFiles(dir, "*.json").Where(f => !f.Contains("_fragment", StringComparison.Ordinal)).Order().ToList();
        Assert.True(files.Count >= 6, $"the corpus in {dir} has {files.Count} full definitions");
        var program = new JsonArray();
        var names = new List<string>();
        foreach (var f in files)
        {
            var name = Json.UniqueName("corpus");
            names.Add(name);
            program.Add(Call("sagemaker.create_pipeline", new { PipelineName = name, PipelineDefinition = File.ReadAllText(f), RoleArn = Role }));
        }
        foreach (var name in names)
        {
            program.Add(Call("sagemaker.describe_pipeline", new { PipelineName = name }));
        }
        var r = await Aws.BotoAsync(program);
        for (var i = 0; i < files.Count; i++)
        {
            Assert.True(r[i]!["ok"] is not null, $"{Path.GetFileName(files[i])}: {r[i]!.ToJsonString()}");
            Assert.Equal(File.ReadAllText(files[i]), r.Ok(files.Count + i)["PipelineDefinition"]!.GetValue<string>());
        }
    }

    private static string CorpusDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "tests", "corpus", "sagemaker");
            if (Directory.Exists(c))
            {
                return c;
            }
        }
        throw new DirectoryNotFoundException("tests/corpus/sagemaker not found");
    }

    [Fact]
    public async Task JsSdkAndBothClis_CreateStartDescribeUpdateList()
    {
        var name = Json.UniqueName("smjs");
        var def = Definition(FailStep());
        var js = await Aws.NodeAsync([
            Call("sagemaker.CreatePipeline", new { PipelineName = name, PipelineDefinition = def, RoleArn = Role,
                ClientRequestToken = Guid.NewGuid().ToString("D") }),                                                   // 0
            Call("sagemaker.StartPipelineExecution", new { PipelineName = name, ClientRequestToken = Guid.NewGuid().ToString("D"),
                PipelineParameters = new[] { new { Name = "Msg", Value = "from js" } } }),                             // 1
            Wait("sagemaker.DescribePipelineExecution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Failed", "Succeeded"),                                                    // 2
            Call("sagemaker.ListPipelineExecutionSteps", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" }),  // 3
            Call("sagemaker.UpdatePipelineExecution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}", PipelineExecutionDisplayName = "js-run" }), // 4
            Call("sagemaker.ListPipelineParametersForExecution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" }), // 5
            Call("sagemaker.DescribePipeline", new { PipelineName = name }),                                          // 6
            Call("sagemaker.SendPipelineExecutionStepSuccess", new { CallbackToken = "AAAAAAAAAA", ClientRequestToken = Guid.NewGuid().ToString("D") }), // 7
            Call("sagemaker.RetryPipelineExecution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}", ClientRequestToken = Guid.NewGuid().ToString("D") }), // 8
        ]);
        var arn = js.Ok(1)["PipelineExecutionArn"]!.GetValue<string>();
        Assert.Equal("Failed", js.Ok(2)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("from js", js.Ok(3)["PipelineExecutionSteps"]![0]!["FailureReason"]!.GetValue<string>());
        Assert.Equal(arn, js.Ok(4)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("from js", js.Ok(5)["PipelineParameters"]![0]!["Value"]!.GetValue<string>());
        Assert.Equal(def, js.Ok(6)["PipelineDefinition"]!.GetValue<string>());
        Assert.Equal("ResourceNotFound", js.Code(7));
        Assert.Equal(arn, js.Ok(8)["PipelineExecutionArn"]!.GetValue<string>());

        // AWS CLI v1 (pip) and v2 (Debian) on the same pipeline.
        var file = Path.Combine(Path.GetTempPath(), $"{name}.json");
        await File.WriteAllTextAsync(file, def);
        try
        {
            var cliName = name + "-cli";
            var created = await Aws.CliJsonAsync(true, "sagemaker", "create-pipeline", "--pipeline-name", cliName,
                "--pipeline-definition", $"file://{file}", "--role-arn", Role);
            Assert.EndsWith($":pipeline/{cliName}", created["PipelineArn"]!.GetValue<string>(), StringComparison.Ordinal);
            var started = await Aws.CliJsonAsync(false, "sagemaker", "start-pipeline-execution", "--pipeline-name", cliName,
                "--pipeline-parameters", "Name=Msg,Value=from-cli");
            var listed = await Aws.CliJsonAsync(true, "sagemaker", "list-pipeline-executions", "--pipeline-name", cliName);
            Assert.Equal(started["PipelineExecutionArn"]!.GetValue<string>(),
                listed["PipelineExecutionSummaries"]![0]!["PipelineExecutionArn"]!.GetValue<string>());
            var (code, _, stderr) = await Aws.CliAsync(false, "sagemaker", "describe-pipeline", "--pipeline-name", "no-such-pipeline");
            Assert.Equal(255, code);
            Assert.Contains("(ResourceNotFound)", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
