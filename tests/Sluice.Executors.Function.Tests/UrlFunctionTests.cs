using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Execution;

namespace Sluice.Executors.Function.Tests;

public sealed class UrlFunctionTests : IAsyncLifetime
{
    private FunctionHarness h = null!;

    public async Task InitializeAsync() => h = await FunctionHarness.CreateAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    [Fact]
    public async Task Call_AnswersObject_ArgumentsPostedAsJsonAndTypedOutputs()
    {
        await using var server = new TinyHttpServer(_ => Task.FromResult((200, """{"score": "0.75", "label": "cat", "n": 4}""")));
        await h.RegisterUrlAsync("web", server.Url);
        var args = new JsonObject { ["n"] = 3, ["text"] = "a \"quoted\" value" };

        await using var call = await h.StartAsync(h.Step("web", args,
            [new("score", ParamType.Float), new("label", ParamType.String), new("n", ParamType.Integer)]));
        var o = await FunctionHarness.Outcome(call);

        Assert.Equal(OutcomeKind.Succeeded, o.Kind);
        Assert.Equal(0.75, o.Outputs!["score"]!.GetValue<double>());
        Assert.Equal("cat", o.Outputs["label"]!.GetValue<string>());
        Assert.Equal(4L, o.Outputs["n"]!.GetValue<long>());
        var (contentType, body) = Assert.Single(server.Requests);
        Assert.StartsWith("application/json", contentType, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(args, JsonNode.Parse(body)));
        Assert.Null(call.Process);
    }

    [Fact]
    public async Task Call_Non2xx_FailedWithStatusAndExcerpt()
    {
        await using var server = new TinyHttpServer(_ => Task.FromResult((500, "internal trouble\nwith details " + new string('x', 1000))));
        await h.RegisterUrlAsync("web", server.Url);
        await using var call = await h.StartAsync(h.Step("web"));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.StartsWith("function web answered HTTP 500 Internal Server Error: internal trouble with details xxx", o.Reason, StringComparison.Ordinal);
        Assert.True(o.Reason!.Length < 400, o.Reason);
    }

    [Fact]
    public async Task Call_AnswersArray_Failed()
    {
        await using var server = new TinyHttpServer(_ => Task.FromResult((200, "[1]")));
        await h.RegisterUrlAsync("web", server.Url);
        await using var call = await h.StartAsync(h.Step("web"));
        Assert.Equal("function web returned an array, not a JSON object", (await FunctionHarness.Outcome(call)).Reason);
    }

    [Fact]
    public async Task Call_MissingDeclaredOutput_FailedNamingIt()
    {
        await using var server = new TinyHttpServer(_ => Task.FromResult((200, """{"other": 1}""")));
        await h.RegisterUrlAsync("web", server.Url);
        await using var call = await h.StartAsync(h.Step("web", outputs: [new("wanted", ParamType.String)]));
        Assert.Equal("function web returned no output 'wanted'", (await FunctionHarness.Outcome(call)).Reason);
    }

    [Fact]
    public async Task Call_NoAnswerWithinTheTimeLimit_FailedTimedOut()
    {
        var never = new TaskCompletionSource<(int, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TinyHttpServer(_ => never.Task);
        await h.RegisterUrlAsync("sleepy", server.Url, TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        await using var call = await h.StartAsync(h.Step("sleepy"));

        var o = await FunctionHarness.Outcome(call);

        Assert.Equal("function sleepy timed out after 1s", o.Reason);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"ended after {clock.Elapsed}");
        never.SetResult((200, "{}"));
    }

    [Fact]
    public async Task RequestStop_WhileWaiting_IgnoredAndTheRealAnswerComesBack()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource<(int, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TinyHttpServer(_ =>
        {
            received.TrySetResult();
            return answer.Task;
        });
        await h.RegisterUrlAsync("web", server.Url);
        await using var call = await h.StartAsync(h.Step("web", outputs: [new("v", ParamType.Integer)]));
        await received.Task.WaitAsync(TestKit.Deadline.Default);

        call.RequestStop(TimeSpan.Zero);
        Assert.False(call.Completion.IsCompleted);
        answer.SetResult((200, """{"v": 9}"""));

        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Succeeded, o.Kind);
        Assert.Equal(9L, o.Outputs!["v"]!.GetValue<long>());
    }

    [Fact]
    public async Task Call_NothingListening_FailedCouldNotBeCalled()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        await h.RegisterUrlAsync("down", $"http://127.0.0.1:{port}/fn");
        await using var call = await h.StartAsync(h.Step("down"));
        Assert.StartsWith("function down could not be called at http://127.0.0.1:", (await FunctionHarness.Outcome(call)).Reason, StringComparison.Ordinal);
    }
}
