using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class CallbackQueueFunctionTests(CliFixture f) : IClassFixture<CliFixture>
{
    private async Task<(string Pipeline, string Queue)> ApprovalAsync()
    {
        var queue = Names.Unique("q");
        var name = await f.PipelineAsync("approve", $$$"""
            steps:
              - name: approve
                type: callback
                queue: {{{queue}}}
                arguments: { note: "run {{run.id}}" }
                outputs: { verdict: String, score: Integer }
              - name: after
                command: echo
                args: ["{{steps.approve.outputs.verdict}}"]
            """);
        return (name, queue);
    }

    /// <summary>Receives the step's message with the CLI; returns the message and the token in its body.</summary>
    private async Task<(JsonNode Message, string Token)> ReceiveAsync(string queue)
    {
        var r = await f.RunAsync("queues", "receive", queue, "--wait", "20", "-o", "json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var message = Assert.Single(r.Json().AsArray())!;
        var body = JsonNode.Parse(message.Str("body"))!;
        return (message, body.Str("token"));
    }

    [Fact]
    public async Task CallbackSucceed_ThroughQueueReceive_RunSucceedsWithOutputs()
    {
        var (name, queue) = await ApprovalAsync();
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();

        var (message, token) = await ReceiveAsync(queue);
        Assert.Equal("Executing", JsonNode.Parse(message.Str("body"))!.Str("status"));
        // The token is also on the run, for whoever answers it by hand.
        var waiting = await f.RunAsync("runs", "get", id);
        Assert.Contains($"approve (callback)  Running", waiting.Out);
        Assert.Contains($"waiting for an answer to token {token}", waiting.Out);

        var answered = await f.RunAsync("callbacks", "succeed", token, "-o", "verdict=ship", "-o", "score=7");
        Assert.True(answered.ExitCode == 0, answered.ToString());
        Assert.Matches($"^callback succeeded: run {id} is (Running|Succeeded)\n$", answered.Out);

        var watched = await f.RunAsync("runs", "watch", id);
        Assert.Equal(0, watched.ExitCode);
        var run = (await f.RunAsync("runs", "get", id, "-o", "json")).Json();
        var outputs = run["steps"]!.AsArray().Single(s => s.Str("name") == "approve")!["outputs"]!;
        Assert.Equal("ship", outputs.Str("verdict"));
        Assert.Equal(7, outputs["score"]!.GetValue<int>());

        var deleted = await f.RunAsync("queues", "delete-message", queue, message.Str("receiptHandle"));
        Assert.Equal("message deleted\n", deleted.Out);
        var twice = await f.RunAsync("queues", "delete-message", queue, message.Str("receiptHandle"));
        Assert.Equal(0, twice.ExitCode);
        Assert.StartsWith("nothing deleted", twice.Out);

        var again = await f.RunAsync("callbacks", "succeed", token, "-o", "verdict=ship");
        Assert.Equal(6, again.ExitCode);
        Assert.StartsWith("error: ", again.Err);
        Assert.Single(again.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task CallbackFail_RunFails_WatchExits1()
    {
        var (name, queue) = await ApprovalAsync();
        var id = (await f.RunAsync("runs", "start", name, "-o", "name")).Out.Trim();
        var (_, token) = await ReceiveAsync(queue);

        var failed = await f.RunAsync("callbacks", "fail", token, "--reason", "too risky", "-o", "json");
        Assert.Equal(0, failed.ExitCode);
        Assert.Equal(id, failed.Json().Str("runId"));

        var watched = await f.RunAsync("runs", "watch", id);
        Assert.Equal(1, watched.ExitCode);
        Assert.Contains("too risky", watched.Out);
    }

    [Fact]
    public async Task Callbacks_UnknownToken_Exit5_BadOutput_Exit3()
    {
        var unknown = await f.RunAsync("callbacks", "succeed", "AAAAAAAAAA", "-o", "x=1");
        Assert.Equal(5, unknown.ExitCode);
        Assert.StartsWith("error: ", unknown.Err);

        var malformed = await f.RunAsync("callbacks", "succeed", "AAAAAAAAAA", "-o", "x");
        Assert.Equal(3, malformed.ExitCode);
        Assert.Equal("error: --output takes NAME=VALUE, not 'x'\n", malformed.Err);
    }

    [Fact]
    public async Task Queues_SendReceiveList_AndReceiveWaitsThenAnswersEmpty()
    {
        var queue = Names.Unique("plain");
        await f.Server.Http.PutAsync($"/api/v1/queues/{queue}", null);

        var empty = await f.RunAsync("queues", "receive", queue, "--wait", "1");
        Assert.Equal(0, empty.ExitCode);
        Assert.Equal("no message\n", empty.Err);

        var sent = await f.RunAsync("queues", "send", queue, "hello there", "-o", "json");
        Assert.Equal(0, sent.ExitCode);
        var got = await f.RunAsync("queues", "receive", queue);
        Assert.Contains("Body:           hello there", got.Out);
        Assert.Contains($"Message:        {sent.Json().Str("id")}", got.Out);

        var list = await f.RunAsync("queues", "list");
        Assert.Matches($@"(?m)^{queue}\s+0\s+1\s+0\s+30s$", list.Out);

        var missing = await f.RunAsync("queues", "receive", Names.Unique("missing"));
        Assert.Equal(5, missing.ExitCode);
    }

    [Fact]
    public async Task Functions_PutListGetDelete_AndAFunctionStepCallsIt()
    {
        var fn = Names.Unique("fn");
        // Arguments that start with '-' go after '--'; none of them is split or read by a shell.
        var put = await f.RunAsync("functions", "put", fn, "--time-limit", "30", "-e", "GREETING=hi", "--command", "sh", "--",
            "-c", "cat > /dev/null; echo \"{\\\"n\\\": 3, \\\"word\\\": \\\"$GREETING\\\"}\"");
        Assert.True(put.ExitCode == 0, put.ToString());
        Assert.StartsWith($"function {fn} created (sh -c ", put.Out);

        var got = (await f.RunAsync("functions", "get", fn, "-o", "json")).Json();
        Assert.Equal(["sh", "-c", "cat > /dev/null; echo \"{\\\"n\\\": 3, \\\"word\\\": \\\"$GREETING\\\"}\""], got["command"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal(30, got["timeLimitSeconds"]!.GetValue<double>());
        Assert.Equal("hi", got["env"]!.Str("GREETING"));

        var name = await f.PipelineAsync("calls", $$"""
            steps:
              - name: call
                type: function
                function: {{fn}}
                outputs: { n: Integer, word: String }
            """);
        var run = await f.RunAsync("runs", "start", name, "--watch", "-o", "json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var outputs = run.Json()["steps"]![0]!["outputs"]!;
        Assert.Equal(3, outputs["n"]!.GetValue<int>());
        Assert.Equal("hi", outputs.Str("word"));

        var replaced = await f.RunAsync("functions", "put", fn, "--url", "http://127.0.0.1:9/never");
        Assert.Equal($"function {fn} replaced (http://127.0.0.1:9/never)\n", replaced.Out);
        var list = await f.RunAsync("functions", "list");
        Assert.Matches($@"(?m)^{fn}\s+url\s+120s\s+http://127\.0\.0\.1:9/never$", list.Out);
        Assert.Contains(fn, (await f.RunAsync("functions", "list", "-o", "name")).Lines);

        Assert.Equal($"function {fn} deleted\n", (await f.RunAsync("functions", "delete", fn)).Out);
        Assert.Equal(5, (await f.RunAsync("functions", "delete", fn)).ExitCode);

        var neither = await f.RunAsync("functions", "put", fn);
        Assert.Equal(3, neither.ExitCode);
        Assert.Equal("error: give --command PROGRAM [ARG...] or --url URL\n", neither.Err);
        var both = await f.RunAsync("functions", "put", fn, "--url", "http://x", "--command", "true");
        Assert.Equal(3, both.ExitCode);
        var badName = await f.RunAsync("functions", "put", "no spaces", "--command", "true");
        Assert.Equal(4, badName.ExitCode);
    }
}
