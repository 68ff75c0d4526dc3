using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>The execution operations through boto3, on pipelines created through the native API: in development mode the
/// default account is the default tenant, and region "local" is the native API's location, so these are the same runs
/// (ARCHITECTURE "one run, three names"). Stopping is checked through the native API as well.</summary>
public class SageMakerExecutionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    private AwsClients Local => new(S, region: "local");

    private const string Account = "000000000000";

    private static string Token() => Guid.NewGuid().ToString("D");

    private async Task<string> NativePipelineAsync(string prefix, string steps)
    {
        var name = Json.UniqueName(prefix);
        await S.CreatePipelineAsync($"name: {name}\n{steps}");
        return name;
    }

    [Fact]
    public async Task Executions_StartDescribeListUpdateParametersDefinition_ThroughBoto3()
    {
        var name = await NativePipelineAsync("smexec", """
            parameters:
              n: { type: Integer, default: 2 }
              who: { type: String }
            steps:
              - name: check
                type: condition
                if: "params.n > 1"
              - name: work
                command: sh
                args: ["-c", "echo \"$0\" > $SLUICE_OUTPUTS/seen", "{{params.who}}"]
                outputs: { seen: String }
                dependsOn: [check]
            """);
        var token = Token();
        var start = new { PipelineName = name, PipelineExecutionDisplayName = "first-run", PipelineExecutionDescription = "about it",
            PipelineParameters = new[] { new { Name = "who", Value = "sm" } }, ClientRequestToken = token };
        var r = await Local.BotoAsync([
            Call("sagemaker.start_pipeline_execution", start),                                                        // 0
            Call("sagemaker.start_pipeline_execution", start),                                                        // 1 same token: same ARN
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name, ClientRequestToken = token,
                PipelineParameters = new[] { new { Name = "who", Value = "other" } } }),                              // 2 conflict
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Succeeded", "Failed"),                                                    // 3
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 4
            Call("sagemaker.list_pipeline_parameters_for_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 5
            Call("sagemaker.describe_pipeline_definition_for_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 6
            Call("sagemaker.update_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}",
                PipelineExecutionDisplayName = "renamed", PipelineExecutionDescription = "new text",
                ParallelismConfiguration = new { MaxParallelExecutionSteps = 3 } }),                                  // 7
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 8
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),    // 9 not executing
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 10 missing parameter
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name,
                PipelineParameters = new[] { new { Name = "who", Value = "x" }, new { Name = "nope", Value = "1" } } }), // 11 unknown parameter
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name,
                PipelineParameters = new[] { new { Name = "who", Value = "x" }, new { Name = "n", Value = "two" } } }),  // 12 wrong type
            Call("sagemaker.describe_pipeline", new { PipelineName = name }),                                         // 13
            Call("sagemaker.describe_pipeline", new { PipelineName = $"arn:aws:sagemaker:local:{Account}:pipeline/{name}" }), // 14
            Call("sagemaker.describe_pipeline", new { PipelineName = $"arn:aws:sagemaker:local:111111111111:pipeline/{name}" }), // 15 other account
        ]);
        var arn = r.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();
        var id = arn.Split('/')[^1];
        Assert.Equal($"arn:aws:sagemaker:local:{Account}:pipeline/{name.ToLowerInvariant()}/execution/{id}", arn);
        Assert.Matches("^[a-z][a-z0-9]{11}$", id);
        Assert.Equal(arn, r.Ok(1)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("ConflictException", r.Code(2));
        Assert.Equal("Succeeded", r.Ok(3)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("first-run", r.Ok(3)["PipelineExecutionDisplayName"]!.GetValue<string>());
        Assert.Equal("about it", r.Ok(3)["PipelineExecutionDescription"]!.GetValue<string>());
        Assert.True(r.Ok(3)["CreationTime"]!.GetValue<double>() > 1.7e9);

        // Newest first: work ran after check. The condition reports its outcome.
        var steps = r.Ok(4)["PipelineExecutionSteps"]!.AsArray();
        Assert.Equal(["work", "check"], steps.Select(s => s!["StepName"]!.GetValue<string>()));
        Assert.All(steps, s => Assert.Equal("Succeeded", s!["StepStatus"]!.GetValue<string>()));
        Assert.Equal("True", steps[1]!["Metadata"]!["Condition"]!["Outcome"]!.GetValue<string>());
        Assert.Equal(1, steps[0]!["AttemptCount"]!.GetValue<int>());

        var parameters = r.Ok(5)["PipelineParameters"]!.AsArray().ToDictionary(p => p!["Name"]!.GetValue<string>(), p => p!["Value"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["n"] = "2", ["who"] = "sm" }, parameters);
        Assert.Contains("name: " + name, r.Ok(6)["PipelineDefinition"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(arn, r.Ok(7)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("renamed", r.Ok(8)["PipelineExecutionDisplayName"]!.GetValue<string>());
        Assert.Equal("new text", r.Ok(8)["PipelineExecutionDescription"]!.GetValue<string>());
        Assert.Equal(3, r.Ok(8)["ParallelismConfiguration"]!["MaxParallelExecutionSteps"]!.GetValue<int>());
        Assert.Equal("ValidationException", r.Code(9));
        Assert.Contains("Only pipelines with 'Executing' status can be stopped", r.Message(9), StringComparison.Ordinal);
        Assert.Equal("ValidationException", r.Code(10));
        Assert.Contains("who", r.Message(10), StringComparison.Ordinal);
        Assert.Equal("ValidationException", r.Code(11));
        Assert.Equal("ValidationException", r.Code(12));
        Assert.Equal(name, r.Ok(13)["PipelineName"]!.GetValue<string>());
        Assert.Equal($"arn:aws:sagemaker:local:{Account}:pipeline/{name.ToLowerInvariant()}", r.Ok(13)["PipelineArn"]!.GetValue<string>());
        Assert.Equal("Active", r.Ok(13)["PipelineStatus"]!.GetValue<string>());
        Assert.NotNull(r.Ok(13)["LastRunTime"]);
        Assert.Equal(name, r.Ok(14)["PipelineName"]!.GetValue<string>());
        Assert.Equal("ResourceNotFound", r.Code(15));

        // The same run, seen natively.
        var native = await S.GetRunAsync(id);
        Assert.Equal("renamed", native.Str("displayName"));
        Assert.Equal("sagemaker", native.Str("face"));
        Assert.Equal("local", native.Str("location"));
    }

    [Fact]
    public async Task ListExecutions_PaginatesSortsAndFilters_ThroughBoto3Paginator()
    {
        var name = await NativePipelineAsync("smlist", """
            steps:
              - name: a
                command: "true"
            """);
        var program = new JsonArray();
        for (var i = 0; i < 5; i++)
        {
            program.Add(Call("sagemaker.start_pipeline_execution", new { PipelineName = name, PipelineExecutionDisplayName = $"run-{i}" }));
        }
        program.Add(Paginate("sagemaker.list_pipeline_executions", new { PipelineName = name, PaginationConfig = new { PageSize = 2 } },
            "PipelineExecutionSummaries"));                                                                             // 5
        program.Add(Paginate("sagemaker.list_pipeline_executions", new { PipelineName = name, SortOrder = "Ascending",
            PaginationConfig = new { PageSize = 3 } }, "PipelineExecutionSummaries"));                                  // 6
        program.Add(Paginate("sagemaker.list_pipeline_executions", new { PipelineName = name, SortBy = "PipelineExecutionArn",
            SortOrder = "Ascending", PaginationConfig = new { PageSize = 2 } }, "PipelineExecutionSummaries"));         // 7
        program.Add(Call("sagemaker.list_pipeline_executions", new { PipelineName = name, CreatedAfter = 4_000_000_000 })); // 8 future
        program.Add(Call("sagemaker.list_pipeline_executions", new { PipelineName = name, NextToken = "garbage" }));   // 9
        program.Add(Call("sagemaker.list_pipeline_executions", new { PipelineName = name, MaxResults = 101 }));        // 10
        program.Add(Call("sagemaker.list_pipeline_executions", new { PipelineName = name, SortBy = "Name" }));         // 11
        program.Add(Call("sagemaker.list_pipeline_executions", new { PipelineName = "no-such-pipeline" }));           // 12
        program.Add(Paginate("sagemaker.list_pipelines", new { PipelineNamePrefix = name, PaginationConfig = new { PageSize = 1 } },
            "PipelineSummaries"));                                                                                      // 13
        var r = await Local.BotoAsync(program);
        var started = Enumerable.Range(0, 5).Select(i => r.Ok(i)["PipelineExecutionArn"]!.GetValue<string>()).ToList();
        var newest = r.Ok(5)["items"]!.AsArray().Select(s => s!["PipelineExecutionArn"]!.GetValue<string>()).ToList();
        Assert.Equal(3, r.Ok(5)["pages"]!.GetValue<int>());
        Assert.Equal(Enumerable.Reverse(started), newest);
        Assert.Equal(started, r.Ok(6)["items"]!.AsArray().Select(s => s!["PipelineExecutionArn"]!.GetValue<string>()));
        Assert.Equal(started.Order(StringComparer.Ordinal), r.Ok(7)["items"]!.AsArray().Select(s => s!["PipelineExecutionArn"]!.GetValue<string>()));
        Assert.Equal("run-0", r.Ok(6)["items"]![0]!["PipelineExecutionDisplayName"]!.GetValue<string>());
        Assert.Empty(r.Ok(8)["PipelineExecutionSummaries"]!.AsArray());
        Assert.Equal("ValidationException", r.Code(9));
        Assert.Equal("ValidationException", r.Code(10));
        Assert.Contains("maxResults", r.Message(10), StringComparison.Ordinal);
        Assert.Equal("ValidationException", r.Code(11));
        Assert.Equal("ResourceNotFound", r.Code(12));
        Assert.Equal(name, Assert.Single(r.Ok(13)["items"]!.AsArray())!["PipelineName"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stop_ProcessStep_StoppingThenStoppedEverywhere_IdempotentWithToken()
    {
        var name = await NativePipelineAsync("smstop", """
            steps:
              - name: long
                command: sleep
                args: ["60"]
                stopGracePeriod: 1s
              - name: never
                command: "true"
                dependsOn: [long]
            """);
        var token = Token();
        var stop = new { PipelineExecutionArn = "${0.PipelineExecutionArn}", ClientRequestToken = token };
        var r = await Local.BotoAsync([
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 0
            WaitExists("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionSteps.0.StepStatus"),                                                               // 1
            Call("sagemaker.stop_pipeline_execution", stop),                                                          // 2
            Call("sagemaker.stop_pipeline_execution", stop),                                                          // 3 replay
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 4
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),    // 5 new token
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Stopped", "Failed"),                                                      // 6
            Call("sagemaker.stop_pipeline_execution", stop),                                                          // 7 replay after the end
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 8
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}x" }),   // 9 unknown
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "not-an-arn" }),                   // 10 pattern
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}", ClientRequestToken = new string('t', 129) }), // 11 too long (botocore checks only minimums)
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = $"arn:aws:sagemaker:local:{Account}:pipeline/other/execution/abcdefabcdef" }), // 12
        ]);
        var arn = r.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();
        Assert.Equal(arn, r.Ok(2)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal(arn, r.Ok(3)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Contains(r.Ok(4)["PipelineExecutionStatus"]!.GetValue<string>(), new[] { "Stopping", "Stopped" });
        Assert.Equal("ValidationException", r.Code(5));
        Assert.Contains("Only pipelines with 'Executing' status can be stopped", r.Message(5), StringComparison.Ordinal);
        Assert.Equal("Stopped", r.Ok(6)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Null(r.Ok(6)["FailureReason"]);
        Assert.Equal(arn, r.Ok(7)["PipelineExecutionArn"]!.GetValue<string>());
        var step = Assert.Single(r.Ok(8)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("long", step!["StepName"]!.GetValue<string>());
        Assert.Equal("Stopped", step["StepStatus"]!.GetValue<string>());
        Assert.Equal("ResourceNotFound", r.Code(9));
        Assert.Equal("ValidationException", r.Code(10));
        Assert.Equal("ValidationException", r.Code(11));
        Assert.Contains("clientRequestToken", r.Message(11), StringComparison.Ordinal);
        Assert.Equal("ResourceNotFound", r.Code(12));

        var native = await S.GetRunAsync(arn.Split('/')[^1]);
        Assert.Equal("Stopped", native.Str("state"));
        Assert.Equal("NotStarted", native.StepOf("never").Str("state"));
        var events = await S.GetJsonAsync($"/api/v1/runs/{arn.Split('/')[^1]}/events");
        Assert.Contains(events["events"]!.AsArray(), e => e!["kind"]!.GetValue<string>() == "stop-requested"
            && e["caller"]!.GetValue<string>().StartsWith("aws:000000000000:", StringComparison.Ordinal));
        // the version the execution froze, read through the run as the console does for a run of another face
        var pipeline = await S.GetJsonAsync($"/api/v1/runs/{arn.Split('/')[^1]}/pipeline");
        Assert.Equal(native.Str("pipeline"), pipeline.Str("name"));
        Assert.Equal(native["pipelineVersion"]!.GetValue<int>(), pipeline["version"]!["version"]!.GetValue<int>());
        Assert.Equal(["long", "never"], pipeline["steps"]!.AsArray().Select(x => x!["name"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task Retry_FailedExecution_SameArnSucceedsAndRejectsRetryOfSucceeded()
    {
        var dir = new TempDirectory("sm-retry");
        using var _ = dir;
        var name = await NativePipelineAsync("smretry", $$$"""
            steps:
              - name: first
                command: "true"
              - name: flaky
                command: sh
                args: ["-c", "test -f {{{dir.Path}}}/ok"]
                dependsOn: [first]
            """);
        var token = Token();
        var r = await Local.BotoAsync([
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 0
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Succeeded", "Failed"),                                                    // 1
            Call("sagemaker.list_pipeline_executions", new { PipelineName = name }),                                  // 2
        ]);
        Assert.Equal("Failed", r.Ok(1)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("Step failure: One or multiple steps failed.", r.Ok(1)["FailureReason"]!.GetValue<string>());
        Assert.Equal("Step failure: One or multiple steps failed.",
            r.Ok(2)["PipelineExecutionSummaries"]![0]!["PipelineExecutionFailureReason"]!.GetValue<string>());
        var arn = r.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();

        File.WriteAllText(Path.Combine(dir.Path, "ok"), "");
        var retry = new { PipelineExecutionArn = arn, ClientRequestToken = token };
        var r2 = await Local.BotoAsync([
            Call("sagemaker.retry_pipeline_execution", retry),                                                        // 0
            Call("sagemaker.retry_pipeline_execution", retry),                                                        // 1 replay
            Call("sagemaker.retry_pipeline_execution", new { PipelineExecutionArn = arn, ClientRequestToken = token,
                ParallelismConfiguration = new { MaxParallelExecutionSteps = 1 } }),                                  // 2 conflict
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = arn }, "PipelineExecutionStatus", "Succeeded"), // 3
            Call("sagemaker.retry_pipeline_execution", new { PipelineExecutionArn = arn }),                           // 4 succeeded
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = arn, SortOrder = "Ascending" }), // 5
        ]);
        Assert.Equal(arn, r2.Ok(0)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal(arn, r2.Ok(1)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("ConflictException", r2.Code(2));
        Assert.Equal("Succeeded", r2.Ok(3)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("ConflictException", r2.Code(4));
        var steps = r2.Ok(5)["PipelineExecutionSteps"]!.AsArray();
        Assert.Equal(["first", "flaky"], steps.Select(s => s!["StepName"]!.GetValue<string>()));
        Assert.Equal(1, steps[0]!["AttemptCount"]!.GetValue<int>());
        Assert.Equal(2, steps[1]!["AttemptCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task Wire_UnknownTargetBadJsonWrongTypes_Are400InSageMakerForm()
    {
        async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string target, string body)
        {
            // Signed, as every request must be: these are about what comes after authentication.
            using var req = AwsSigner.Default.Sign(S.BaseAddress, target, body);
            using var resp = await S.Http.SendAsync(req);
            return (resp.StatusCode, JsonNode.Parse(await resp.Content.ReadAsStringAsync())!.AsObject());
        }
        var unknown = await PostAsync("SageMaker.DescribeTrainingJob", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal("UnknownOperationException", unknown.Body.Str("__type"));
        var other = await PostAsync("Glue.GetJob", "{}");
        Assert.Equal("UnknownOperationException", other.Body.Str("__type"));
        var bad = await PostAsync("SageMaker.ListPipelines", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal("SerializationException", bad.Body.Str("__type"));
        var array = await PostAsync("SageMaker.ListPipelines", "[]");
        Assert.Equal("SerializationException", array.Body.Str("__type"));
        var type = await PostAsync("SageMaker.ListPipelines", """{"MaxResults": "ten"}""");
        Assert.Equal("SerializationException", type.Body.Str("__type"));
        var empty = await PostAsync("SageMaker.ListPipelines", "");
        Assert.NotNull(empty.Body["PipelineSummaries"]);
        var missing = await PostAsync("SageMaker.DescribePipelineExecution", "{}");
        Assert.Equal("ValidationException", missing.Body.Str("__type"));
        Assert.Contains("pipelineExecutionArn", missing.Body.Str("message"), StringComparison.Ordinal);
    }
}
