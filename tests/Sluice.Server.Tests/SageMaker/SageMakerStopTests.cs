using System.Net;
using System.Text.Json.Nodes;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>The seed's stop cases through boto3 (shared/seeds/sagemaker-stop-pipeline-execution.txt): a Lambda step that
/// finishes (Stopped) or hits its time limit (Failed) while the execution stops, and a callback step that gets the
/// "Stopping" message through an SQS client and only then ends the stop with SendPipelineExecutionStepSuccess. The
/// pipelines are native definitions with function and callback steps (the same plan a SageMaker LambdaStep/CallbackStep
/// compiles to), in the default tenant's location "local".</summary>
public class SageMakerStopTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    private AwsClients Local => new(S, region: "local");

    private async Task RegisterAsync(string function, string script, int limitSeconds) =>
        await S.Http.PutAsJsonAsyncChecked($"/api/v1/functions/{function}",
            new { command = new[] { "sh", "-c", script }, timeLimitSeconds = limitSeconds });

    private async Task<string> LambdaPipelineAsync(string function)
    {
        var name = Json.UniqueName("smlambda");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: call
                type: function
                function: {{function}}
                arguments: { x: 1 }
                outputs: { r: String }
              - name: after
                command: "true"
                dependsOn: [call]
            """);
        return name;
    }

    private static JsonArray StopWhileStepExecuting(string name) =>
    [
        Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                      // 0
        WaitExists("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
            "PipelineExecutionSteps.0.StepStatus"),                                                                   // 1
        Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),        // 2
        Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),    // 3
        Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),  // 4
        Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
            "PipelineExecutionStatus", "Stopped", "Failed", "Succeeded"),                                              // 5
        Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),  // 6
    ];

    [Fact]
    public async Task Stop_WhileLambdaRunning_WaitsForItThenStopped()
    {
        var dir = new TempDirectory("sm-lambda");
        using var _ = dir;
        var function = Json.UniqueName("fn-finish");
        // The function waits until the test has seen the execution Stopping, then answers.
        await RegisterAsync(function, $"cat >/dev/null; while [ ! -f {dir.Path}/go ]; do sleep 0.05; done; echo '{{\"r\": \"done\"}}'", 60);
        var name = await LambdaPipelineAsync(function);
        var r = await Local.BotoAsync([
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),
            WaitExists("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionSteps.0.StepStatus"),
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),
        ]);
        Assert.Equal("Stopping", r.Ok(3)["PipelineExecutionStatus"]!.GetValue<string>());
        var running = Assert.Single(r.Ok(4)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("Stopping", running!["StepStatus"]!.GetValue<string>());

        File.WriteAllText(Path.Combine(dir.Path, "go"), "");
        var arn = r.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();
        var r2 = await Local.BotoAsync([
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = arn }, "PipelineExecutionStatus", "Stopped", "Failed"),
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = arn }),
        ]);
        Assert.Equal("Stopped", r2.Ok(0)["PipelineExecutionStatus"]!.GetValue<string>());
        var step = Assert.Single(r2.Ok(1)["PipelineExecutionSteps"]!.AsArray());
        // The Lambda cannot be interrupted: it keeps its real result; the step after it never starts.
        Assert.Equal("Succeeded", step!["StepStatus"]!.GetValue<string>());
        Assert.Equal($"arn:aws:lambda:local:000000000000:function:{function}", step["Metadata"]!["Lambda"]!["Arn"]!.GetValue<string>());
        Assert.Equal("done", step["Metadata"]!["Lambda"]!["OutputParameters"]![0]!["Value"]!.GetValue<string>());
        Assert.Equal("NotStarted", (await S.GetRunAsync(arn.Split('/')[^1])).StepOf("after").Str("state"));
    }

    [Fact]
    public async Task Stop_WhileLambdaRunsPastItsTimeLimit_ExecutionFailed()
    {
        var function = Json.UniqueName("fn-slow");
        await RegisterAsync(function, "cat >/dev/null; sleep 30; echo '{}'", 2);
        var name = await LambdaPipelineAsync(function);
        var r = await Local.BotoAsync(StopWhileStepExecuting(name));
        Assert.Equal("Stopping", r.Ok(3)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("Failed", r.Ok(5)["PipelineExecutionStatus"]!.GetValue<string>());
        var step = Assert.Single(r.Ok(6)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("Failed", step!["StepStatus"]!.GetValue<string>());
        Assert.NotNull(step["FailureReason"]);
        Assert.Equal("Step failure: One or multiple steps failed.", r.Ok(5)["FailureReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stop_WhileCallbackWaits_StoppingMessageThroughSqsThenAnswerStops()
    {
        var queue = Json.UniqueName("cbq");
        var name = Json.UniqueName("smcb");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            parameters:
              n: { type: Integer, default: 5 }
            steps:
              - name: approve
                type: callback
                queue: "https://sqs.local.amazonaws.com/000000000000/{{{queue}}}"
                arguments: { number: "{{params.n}}", stringArg: "some-arg" }
                outputs: { note: String }
            """);
        var queueUrl = $"{Local.Endpoint}/000000000000/{queue}";
        var r = await Local.BotoAsync([
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 0
            WaitExists("sqs.receive_message", new { QueueUrl = queueUrl, WaitTimeSeconds = 5 }, "Messages.0.Body"),    // 1 Executing
            Call("sqs.delete_message", new { QueueUrl = queueUrl, ReceiptHandle = "${1.Messages.0.ReceiptHandle}" }), // 2
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),    // 3
            WaitExists("sqs.receive_message", new { QueueUrl = queueUrl, WaitTimeSeconds = 5 }, "Messages.0.Body"),    // 4 Stopping
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 5 still Stopping
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }), // 6
            Call("sagemaker.send_pipeline_execution_step_success",
                new { CallbackToken = "${4.Messages.0.Body.@json.token}", OutputParameters = new[] { new { Name = "note", Value = "cleaned" } } }), // 7
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionStatus", "Stopped", "Failed", "Succeeded"),                                          // 8
            Call("sagemaker.send_pipeline_execution_step_failure",
                new { CallbackToken = "${4.Messages.0.Body.@json.token}", FailureReason = "late" }),                  // 9 answered already
        ]);
        var arn = r.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();
        var first = JsonNode.Parse(r.Ok(1)["Messages"]![0]!["Body"]!.GetValue<string>())!.AsObject();
        Assert.Equal(["token", "pipelineExecutionArn", "arguments", "status"], first.Select(kv => kv.Key));
        Assert.Equal("Executing", first.Str("status"));
        Assert.Equal(arn, first.Str("pipelineExecutionArn"));
        Assert.Equal(5, first["arguments"]!["number"]!.GetValue<int>());
        Assert.Equal("some-arg", first["arguments"]!["stringArg"]!.GetValue<string>());
        Assert.Matches("^[a-zA-Z0-9]{10}$", first.Str("token"));
        var stopping = JsonNode.Parse(r.Ok(4)["Messages"]![0]!["Body"]!.GetValue<string>())!.AsObject();
        Assert.Equal("Stopping", stopping.Str("status"));
        Assert.Equal(first.Str("token"), stopping.Str("token"));
        Assert.Equal("Stopping", r.Ok(5)["PipelineExecutionStatus"]!.GetValue<string>());
        var step = Assert.Single(r.Ok(6)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("Stopping", step!["StepStatus"]!.GetValue<string>());
        Assert.Equal(first.Str("token"), step["Metadata"]!["Callback"]!["CallbackToken"]!.GetValue<string>());
        Assert.Equal($"https://sqs.local.amazonaws.com/000000000000/{queue}", step["Metadata"]!["Callback"]!["SqsQueueUrl"]!.GetValue<string>());
        Assert.Equal(arn, r.Ok(7)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("Stopped", r.Ok(8)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("ConflictException", r.Code(9));
    }

    [Fact]
    public async Task Callback_SuccessAndFailureAnswers_WithIdempotentRetriesAndErrors()
    {
        var queue = Json.UniqueName("cbq");
        var name = Json.UniqueName("smcb2");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            steps:
              - name: approve
                type: callback
                queue: {{{queue}}}
                outputs: { score: Float }
              - name: use
                command: sh
                args: ["-c", "echo \"$0\" > $SLUICE_OUTPUTS/seen", "{{steps.approve.outputs.score}}"]
                outputs: { seen: String }
            """);
        var queueUrl = $"{Local.Endpoint}/000000000000/{queue}";
        var client = Guid.NewGuid().ToString("D");
        var success = new { CallbackToken = "${2.Messages.0.Body.@json.token}", ClientRequestToken = client,
            OutputParameters = new[] { new { Name = "score", Value = "0.93" } } };
        var r = await Local.BotoAsync([
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 0
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                                  // 1
            WaitExists("sqs.receive_message", new { QueueUrl = queueUrl, WaitTimeSeconds = 5, MaxNumberOfMessages = 1 }, "Messages.0.Body"), // 2
            WaitExists("sqs.receive_message", new { QueueUrl = queueUrl, WaitTimeSeconds = 5, MaxNumberOfMessages = 1 }, "Messages.0.Body"), // 3
            Call("sagemaker.send_pipeline_execution_step_success", success),                                          // 4
            Call("sagemaker.send_pipeline_execution_step_success", success),                                          // 5 replay
            Call("sagemaker.send_pipeline_execution_step_success", new { CallbackToken = "${2.Messages.0.Body.@json.token}",
                ClientRequestToken = client }),                                                                       // 6 other request
            Call("sagemaker.send_pipeline_execution_step_failure", new { CallbackToken = "${3.Messages.0.Body.@json.token}",
                FailureReason = "rejected by reviewer" }),                                                            // 7
            Call("sagemaker.send_pipeline_execution_step_success", new { CallbackToken = "ZZZZZZZZZZ" }),              // 8 unknown
            Call("sagemaker.send_pipeline_execution_step_success", new { CallbackToken = "bad-token!" }),              // 9 pattern
            Call("sagemaker.send_pipeline_execution_step_failure", new { CallbackToken = "ZZZZZZZZZZ", FailureReason = new string('x', 300) }), // 10
        ]);
        var byToken = new Dictionary<string, string>
        {
            [JsonNode.Parse(r.Ok(2)["Messages"]![0]!["Body"]!.GetValue<string>())!.Str("pipelineExecutionArn")] = "success",
            [JsonNode.Parse(r.Ok(3)["Messages"]![0]!["Body"]!.GetValue<string>())!.Str("pipelineExecutionArn")] = "failure",
        };
        Assert.Equal(2, byToken.Count);
        var successArn = r.Ok(4)["PipelineExecutionArn"]!.GetValue<string>();
        Assert.Equal("success", byToken[successArn]);
        Assert.Equal(successArn, r.Ok(5)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("ConflictException", r.Code(6));
        var failureArn = r.Ok(7)["PipelineExecutionArn"]!.GetValue<string>();
        Assert.Equal("failure", byToken[failureArn]);
        Assert.Equal("ResourceNotFound", r.Code(8));
        Assert.Equal("ValidationException", r.Code(9));
        Assert.Equal("ValidationException", r.Code(10));

        var r2 = await Local.BotoAsync([
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = successArn }, "PipelineExecutionStatus", "Succeeded", "Failed"),
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = failureArn }, "PipelineExecutionStatus", "Succeeded", "Failed"),
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = failureArn }),
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = successArn, SortOrder = "Ascending" }),
        ]);
        Assert.Equal("Succeeded", r2.Ok(0)["PipelineExecutionStatus"]!.GetValue<string>());
        Assert.Equal("Failed", r2.Ok(1)["PipelineExecutionStatus"]!.GetValue<string>());
        var failed = Assert.Single(r2.Ok(2)["PipelineExecutionSteps"]!.AsArray());
        Assert.Equal("rejected by reviewer", failed!["FailureReason"]!.GetValue<string>());
        var ok = r2.Ok(3)["PipelineExecutionSteps"]!.AsArray();
        Assert.Equal("0.93", ok[0]!["Metadata"]!["Callback"]!["OutputParameters"]![0]!["Value"]!.GetValue<string>());
        Assert.Equal("0.93", (await S.GetRunAsync(successArn.Split('/')[^1])).StepOf("use")["outputs"]!["seen"]!.GetValue<string>().Trim());
    }
}

internal static class HttpChecks
{
    public static async Task PutAsJsonAsyncChecked(this HttpClient http, string path, object body)
    {
        using var r = await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(http, path, body);
        Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
    }
}
