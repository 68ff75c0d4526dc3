using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>A loopback HTTP endpoint that records every message a callback step posts to it.</summary>
internal sealed class WebhookSink : IAsyncDisposable
{
    private readonly HttpListener listener;
    private readonly Channel<JsonObject> messages = Channel.CreateUnbounded<JsonObject>();
    private readonly Task loop;

    public WebhookSink()
    {
        (listener, var port) = Loopback.StartHttpListener("/hook/");
        Url = $"http://127.0.0.1:{port}/hook/";
        loop = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var reader = new StreamReader(ctx.Request.InputStream);
                var body = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
                await messages.Writer.WriteAsync(body);
            }
        });
    }

    public string Url { get; }

    public async Task<JsonObject> NextAsync() => await messages.Reader.ReadAsync().AsTask().WaitAsync(Deadline.Default);

    public async ValueTask DisposeAsync()
    {
        // Close alone: Stop then Close would remove the prefixes twice, and the second removal binds the freed port
        // again (managed HttpListener), failing with "Address already in use" when another test has taken it.
        listener.Close();
        await loop;
    }
}

public class CallbackStepTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    private async Task<string> PipelineAsync(string webhook, string prefix = "cb")
    {
        var name = Json.UniqueName(prefix);
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            parameters:
              n: { type: Integer, default: 5 }
            steps:
              - name: approve
                type: callback
                webhook: "{{{webhook}}}"
                arguments: { number: "{{params.n}}", stringArg: "some-arg" }
                outputs: { score: Float, note: String }
              - name: use
                command: sh
                args: ["-c", "echo \"$0\" > $SLUICE_OUTPUTS/seen", "{{steps.approve.outputs.score}}"]
                outputs: { seen: String }
            """);
        return name;
    }

    private Task<JsonObject> AnswerAsync(string token, string verb, object body, HttpStatusCode expect = HttpStatusCode.OK) =>
        S.PostJsonAsync($"/api/v1/callbacks/{token}:{verb}", body, expect);

    [Fact]
    public async Task Callback_Success_MessageShapeExactlyAndTypedOutputsFlow()
    {
        await using var sink = new WebhookSink();
        var name = await PipelineAsync(sink.Url);
        var id = (await S.StartRunAsync(name, new { n = 7 })).Str("id");
        var message = await sink.NextAsync();
        Assert.Equal(["token", "pipelineExecutionArn", "arguments", "status"], message.Select(kv => kv.Key));
        Assert.Equal("Executing", message.Str("status"));
        Assert.Matches("^[a-zA-Z0-9]{10}$", message.Str("token"));
        Assert.Matches($"^arn:aws:sagemaker:[a-z0-9-]*:[0-9]{{12}}:pipeline/.*/execution/{id}$", message.Str("pipelineExecutionArn"));
        Assert.Equal(7, message["arguments"]!["number"]!.GetValue<long>());
        Assert.Equal("some-arg", message["arguments"]!.Str("stringArg"));
        // The message leaves once the step's start is durable; its Running commit may land just after the delivery.
        await S.WaitForStepAsync(id, "approve", "Running");

        await AnswerAsync(message.Str("token"), "succeed", new { outputs = new { score = "0.75", note = "ok", extra = "ignored" } });
        var done = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal(0.75, done.StepOf("approve")["outputs"]!["score"]!.GetValue<double>());
        Assert.Equal("0.75", done.StepOf("use")["outputs"]!["seen"]!.GetValue<string>());
    }

    [Fact]
    public async Task Callback_Failure_StepFailsWithReasonAndRunFails()
    {
        await using var sink = new WebhookSink();
        var name = await PipelineAsync(sink.Url, "cbfail");
        var id = (await S.StartRunAsync(name)).Str("id");
        var token = (await sink.NextAsync()).Str("token");
        await AnswerAsync(token, "fail", new { reason = "rejected by reviewer" });
        var done = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");
        Assert.Equal("Failed", done.Str("state"));
        Assert.Equal("rejected by reviewer", done.StepOf("approve").Str("reason"));
        Assert.Equal("NotStarted", done.StepOf("use").Str("state"));
    }

    [Fact]
    public async Task Callback_StopWhileWaiting_SecondMessageStoppingAndRunStoppingUntilAnswered()
    {
        await using var sink = new WebhookSink();
        var name = await PipelineAsync(sink.Url, "cbstop");
        var id = (await S.StartRunAsync(name)).Str("id");
        var first = await sink.NextAsync();
        var answer = await S.PostJsonAsync($"/api/v1/runs/{id}:stop", new { reason = "stop it" }, HttpStatusCode.Accepted);
        Assert.Equal("Stopping", answer.Str("answeredState"));
        var second = await sink.NextAsync();
        Assert.Equal("Stopping", second.Str("status"));
        Assert.Equal(first.Str("token"), second.Str("token"));
        Assert.Equal(first.Str("pipelineExecutionArn"), second.Str("pipelineExecutionArn"));
        Assert.Equal(first["arguments"]!.ToJsonString(), second["arguments"]!.ToJsonString());
        // The run waits for the consumer: nothing but its answer ends the step.
        var waiting = await S.GetRunAsync(id);
        Assert.Equal("Stopping", waiting.Str("state"));
        Assert.Equal("Stopping", waiting.StepOf("approve").Str("state"));

        await AnswerAsync(first.Str("token"), "succeed", new { outputs = new { score = "1" } });
        var done = await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal("Stopped", done.StepOf("approve").Str("state"));
        Assert.Equal("NotStarted", done.StepOf("use").Str("state"));
    }

    [Fact]
    public async Task Callback_UnknownTokenNotFound_DoubleAnswerConflict_SameIdempotencyTokenReplays()
    {
        await using var sink = new WebhookSink();
        var name = await PipelineAsync(sink.Url, "cbtwice");
        var id = (await S.StartRunAsync(name)).Str("id");
        var token = (await sink.NextAsync()).Str("token");
        await AnswerAsync("Zz9Zz9Zz9Z", "succeed", new { }, HttpStatusCode.NotFound);
        var key = Guid.NewGuid().ToString("N");
        await AnswerAsync(token, "succeed", new { outputs = new { score = "2" }, idempotencyToken = key });
        await AnswerAsync(token, "succeed", new { outputs = new { score = "2" }, idempotencyToken = key });
        await AnswerAsync(token, "succeed", new { outputs = new { score = "3" }, idempotencyToken = key }, HttpStatusCode.Conflict);
        await AnswerAsync(token, "fail", new { reason = "late" }, HttpStatusCode.Conflict);
        await S.WaitForStateAsync(id, "Succeeded");
        await AnswerAsync(token, "succeed", new { outputs = new { score = "2" }, idempotencyToken = key });
        await AnswerAsync(token, "succeed", new { outputs = new { score = "2" } }, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Callback_BuiltInQueue_ConsumerReceivesBothMessagesAndCompletesTheStop()
    {
        var queue = Json.UniqueName("approvals");
        var name = Json.UniqueName("cbqueue");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            steps:
              - name: approve
                type: callback
                queue: {{{queue}}}
                arguments: { stringArg: "some-arg" }
            """);
        // A consumer creates (or finds) its queue before it listens, as with SQS; the step would create it on first use too.
        using (var put = await S.Http.PutAsync($"/api/v1/queues/{queue}", null))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        var id = (await S.StartRunAsync(name)).Str("id");

        async Task<JsonObject> ReceiveAsync()
        {
            var got = await S.PostJsonAsync($"/api/v1/queues/{queue}/messages:receive", new { waitSeconds = 20, maxMessages = 1 }, HttpStatusCode.OK);
            var m = Assert.Single(got["messages"]!.AsArray())!.AsObject();
            await S.PostJsonAsync($"/api/v1/queues/{queue}/messages:delete", new { receiptHandle = m.Str("receiptHandle") }, HttpStatusCode.OK);
            return JsonNode.Parse(m.Str("body"))!.AsObject();
        }

        var first = await ReceiveAsync();
        Assert.Equal("Executing", first.Str("status"));
        await S.PostJsonAsync($"/api/v1/runs/{id}:stop", new { }, HttpStatusCode.Accepted);
        var second = await ReceiveAsync();
        Assert.Equal("Stopping", second.Str("status"));
        Assert.Equal(first.Str("token"), second.Str("token"));
        Assert.Equal("Stopping", (await S.GetRunAsync(id)).Str("state"));
        await AnswerAsync(second.Str("token"), "fail", new { reason = "cleaned up" });
        Assert.Equal("Stopped", (await S.WaitForStateAsync(id, "Stopped")).StepOf("approve").Str("state"));
    }

    [Fact]
    public async Task Callback_AnswerDeadlinePassed_StepFailsWithReason()
    {
        await using var sink = new WebhookSink();
        var name = Json.UniqueName("cbdeadline");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            steps:
              - name: approve
                type: callback
                webhook: "{{{sink.Url}}}"
                answerDeadline: 1s
            """);
        var id = (await S.StartRunAsync(name)).Str("id");
        await sink.NextAsync();
        var done = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");
        Assert.Equal("Failed", done.Str("state"));
        Assert.Contains("no answer", done.StepOf("approve").Str("reason"));
    }

    [Fact]
    public async Task Callback_ServerRestartWhileWaiting_StepStillWaitsAndTokenStillWorks()
    {
        await using var sink = new WebhookSink();
        await using var s = await ServerProcess.StartAsync();
        var name = Json.UniqueName("cbrestart");
        await s.CreatePipelineAsync($$$"""
            name: {{{name}}}
            steps:
              - name: approve
                type: callback
                webhook: "{{{sink.Url}}}"
                outputs: { ok: Boolean }
            """);
        var id = (await s.StartRunAsync(name)).Str("id");
        var token = (await sink.NextAsync()).Str("token");
        await s.KillAsync();
        await s.RestartAsync();
        Assert.Equal("Running", (await s.GetRunAsync(id)).StepOf("approve").Str("state"));
        await s.PostJsonAsync($"/api/v1/callbacks/{token}:succeed", new { outputs = new { ok = "true" } }, HttpStatusCode.OK);
        var done = await s.WaitForRunAsync(id, st => st is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.True(done.StepOf("approve")["outputs"]!["ok"]!.GetValue<bool>());
    }
}
