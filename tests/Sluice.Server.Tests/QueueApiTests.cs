using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>The built-in queue through /api/v1/queues on a real server: lifecycle, delivery, long polling, restarts, bad input.</summary>
public class QueueApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    private static async Task<JsonObject> PutAsync(ServerProcess s, string path, object? body, HttpStatusCode expect)
    {
        using var r = await s.Http.PutAsJsonAsync(path, body);
        return await ServerProcess.ExpectAsync(r, expect);
    }

    private static async Task DeleteAsync(ServerProcess s, string path, HttpStatusCode expect)
    {
        using var r = await s.Http.DeleteAsync(path);
        await ServerProcess.ExpectAsync(r, expect);
    }

    private static async Task<string> NewQueueAsync(ServerProcess s, object? attributes = null)
    {
        var name = Json.UniqueName("q");
        await PutAsync(s, $"/api/v1/queues/{name}", attributes ?? new { }, HttpStatusCode.Created);
        return name;
    }

    private static Task<JsonObject> SendAsync(ServerProcess s, string queue, string body) =>
        s.PostJsonAsync($"/api/v1/queues/{queue}/messages", new { body }, HttpStatusCode.Created);

    private static async Task<List<JsonObject>> ReceiveAsync(ServerProcess s, string queue, object? request = null) =>
        [.. (await s.PostJsonAsync($"/api/v1/queues/{queue}/messages:receive", request ?? new { maxMessages = 10 }, HttpStatusCode.OK))
            ["messages"]!.AsArray().Select(m => m!.AsObject())];

    [Fact]
    public async Task Queue_CreateGetListDelete_AnswersEachStep()
    {
        var name = Json.UniqueName("life");

        var created = await PutAsync(S, $"/api/v1/queues/{name}", new { visibilityTimeoutSeconds = 60, delaySeconds = 2 }, HttpStatusCode.Created);
        var same = await PutAsync(S, $"/api/v1/queues/{name}", new { visibilityTimeoutSeconds = 60 }, HttpStatusCode.OK);
        var conflict = await PutAsync(S, $"/api/v1/queues/{name}", new { visibilityTimeoutSeconds = 61 }, HttpStatusCode.Conflict);
        var got = await S.GetJsonAsync($"/api/v1/queues/{name}");
        var listed = await S.GetJsonAsync($"/api/v1/queues?prefix={name}");
        await DeleteAsync(S, $"/api/v1/queues/{name}", HttpStatusCode.NoContent);

        Assert.Equal(name, created.Str("name"));
        var a = created["attributes"]!;
        Assert.Equal(60, a["visibilityTimeoutSeconds"]!.GetValue<double>());
        Assert.Equal(2, a["delaySeconds"]!.GetValue<double>());
        Assert.Equal(4 * 24 * 3600, a["messageRetentionSeconds"]!.GetValue<double>());
        Assert.Equal(0, a["receiveWaitSeconds"]!.GetValue<double>());
        Assert.Equal(262144, a["maximumMessageSize"]!.GetValue<int>());
        Assert.Equal(created.ToJsonString(), same.ToJsonString());
        Assert.Equal("AlreadyExists", conflict.Str("title"));
        Assert.Equal(0, got["messages"]!["visible"]!.GetValue<long>());
        Assert.Equal([name], listed["queues"]!.AsArray().Select(q => q.Str("name")));
        Assert.Equal("NotFound", (await S.GetJsonAsync($"/api/v1/queues/{name}", HttpStatusCode.NotFound)).Str("title"));
        await DeleteAsync(S, $"/api/v1/queues/{name}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Message_SendReceiveDelete_RoundTrip()
    {
        var q = await NewQueueAsync(S);

        var sent = await SendAsync(S, q, "hello");
        var got = Assert.Single(await ReceiveAsync(S, q));
        var counts = (await S.GetJsonAsync($"/api/v1/queues/{q}"))["messages"]!;
        var deleted = await S.PostJsonAsync($"/api/v1/queues/{q}/messages:delete", new { receiptHandle = got.Str("receiptHandle") }, HttpStatusCode.OK);
        var again = await S.PostJsonAsync($"/api/v1/queues/{q}/messages:delete", new { receiptHandle = got.Str("receiptHandle") }, HttpStatusCode.OK);

        Assert.Equal("5d41402abc4b2a76b9719d911017c592", sent.Str("md5"));
        Assert.Equal(sent.Str("id"), got.Str("id"));
        Assert.Equal("hello", got.Str("body"));
        Assert.Equal(sent.Str("md5"), got.Str("md5"));
        Assert.Equal(1, got["receiveCount"]!.GetValue<int>());
        Assert.Equal(0, counts["visible"]!.GetValue<long>());
        Assert.Equal(1, counts["notVisible"]!.GetValue<long>());
        Assert.True(deleted["deleted"]!.GetValue<bool>());
        Assert.False(again["deleted"]!.GetValue<bool>());
        Assert.Empty(await ReceiveAsync(S, q));
    }

    [Fact]
    public async Task Message_ChangeVisibilityToZero_RedeliveredWithANewHandle()
    {
        var q = await NewQueueAsync(S);
        await SendAsync(S, q, "again");
        var first = Assert.Single(await ReceiveAsync(S, q, new { visibilityTimeoutSeconds = 600 }));
        Assert.Empty(await ReceiveAsync(S, q));

        using (var r = await S.Http.PostAsJsonAsync($"/api/v1/queues/{q}/messages:changeVisibility",
                   new { receiptHandle = first.Str("receiptHandle"), visibilityTimeoutSeconds = 0 }))
        {
            await ServerProcess.ExpectAsync(r, HttpStatusCode.NoContent);
        }
        var second = Assert.Single(await ReceiveAsync(S, q));
        var stale = await S.PostJsonAsync($"/api/v1/queues/{q}/messages:changeVisibility",
            new { receiptHandle = first.Str("receiptHandle"), visibilityTimeoutSeconds = 5 }, HttpStatusCode.Conflict);
        await DeleteAsync(S, $"/api/v1/queues/{q}/messages/{second.Str("receiptHandle")}", HttpStatusCode.NoContent);

        Assert.Equal(first.Str("id"), second.Str("id"));
        Assert.Equal(2, second["receiveCount"]!.GetValue<int>());
        Assert.NotEqual(first.Str("receiptHandle"), second.Str("receiptHandle"));
        Assert.Equal("FailedPrecondition", stale.Str("title"));
        Assert.Equal(0, (await S.GetJsonAsync($"/api/v1/queues/{q}"))["messages"]!["notVisible"]!.GetValue<long>());
    }

    [Fact]
    public async Task Purge_QueueWithMessages_SaysHowManyAndEmptiesIt()
    {
        var q = await NewQueueAsync(S);
        await SendAsync(S, q, "a");
        await SendAsync(S, q, "b");

        var purged = await S.PostJsonAsync($"/api/v1/queues/{q}:purge", null, HttpStatusCode.OK);

        Assert.Equal(2, purged["purged"]!.GetValue<int>());
        Assert.Empty(await ReceiveAsync(S, q));
    }

    [Fact]
    public async Task Receive_LongPollThenSend_AnswersWithTheMessageWellBeforeTheWaitEnds()
    {
        var q = await NewQueueAsync(S);
        var clock = Stopwatch.StartNew();

        var receive = ReceiveAsync(S, q, new { waitSeconds = 20 });
        var send = Task.Run(() => SendAsync(S, q, "arrived"));
        var got = await receive.WaitAsync(Deadline.Default);
        clock.Stop();

        Assert.Equal((await send).Str("id"), Assert.Single(got).Str("id"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the receive took {clock.Elapsed}");
    }

    [Fact]
    public async Task Queue_ServerKilledAndRestarted_MessagesAndDeliveriesSurvive()
    {
        await using var s = await ServerProcess.StartAsync();
        var q = await NewQueueAsync(s, new { visibilityTimeoutSeconds = 600 });
        var waiting = await SendAsync(s, q, "waiting");
        var held = Assert.Single(await ReceiveAsync(s, q));
        var queued = await SendAsync(s, q, "queued after");
        Assert.Equal(waiting.Str("id"), held.Str("id"));

        await s.KillAsync();
        await s.RestartAsync();

        var counts = (await s.GetJsonAsync($"/api/v1/queues/{q}"))["messages"]!;
        Assert.Equal(1, counts["visible"]!.GetValue<long>());
        Assert.Equal(1, counts["notVisible"]!.GetValue<long>());
        var after = Assert.Single(await ReceiveAsync(s, q));
        Assert.Equal(queued.Str("id"), after.Str("id"));
        Assert.True((await s.PostJsonAsync($"/api/v1/queues/{q}/messages:delete", new { receiptHandle = held.Str("receiptHandle") },
            HttpStatusCode.OK))["deleted"]!.GetValue<bool>());
    }

    public static TheoryData<string, string, string, string?> BadRequests => new()
    {
        // method, path (QUEUE is an existing queue), JSON body, problem path expected
        { "PUT", "/api/v1/queues/a.b", "{}", "name" },
        { "PUT", "/api/v1/queues/QUEUE-new", """{"visibilityTimeoutSeconds": 43201}""", "visibilityTimeoutSeconds" },
        { "PUT", "/api/v1/queues/QUEUE-new", """{"messageRetentionSeconds": 59}""", "messageRetentionSeconds" },
        { "PUT", "/api/v1/queues/QUEUE-new", """{"delaySeconds": 1.5}""", "delaySeconds" },
        { "PUT", "/api/v1/queues/QUEUE-new", """{"colour": "red"}""", "colour" },
        { "PUT", "/api/v1/queues/QUEUE-new", """[1]""", null },
        { "GET", "/api/v1/queues?pageSize=0", "", null },
        { "GET", "/api/v1/queues?prefix=a.b", "", "prefix" },
        { "POST", "/api/v1/queues/QUEUE/messages", "{}", "body" },
        { "POST", "/api/v1/queues/QUEUE/messages", """{"body": 5}""", "body" },
        { "POST", "/api/v1/queues/QUEUE/messages", """{"body": ""}""", "body" },
        { "POST", "/api/v1/queues/QUEUE/messages", """{"body": "x", "delaySeconds": 901}""", "delaySeconds" },
        { "POST", "/api/v1/queues/QUEUE/messages", """{"body": "x", "extra": 1}""", "extra" },
        { "POST", "/api/v1/queues/QUEUE/messages", """{"body": "x""", null },
        { "POST", "/api/v1/queues/QUEUE/messages:receive", """{"maxMessages": 11}""", "maxMessages" },
        { "POST", "/api/v1/queues/QUEUE/messages:receive", """{"waitSeconds": 21}""", "waitSeconds" },
        { "POST", "/api/v1/queues/QUEUE/messages:receive", """{"visibilityTimeoutSeconds": -1}""", "visibilityTimeoutSeconds" },
        { "POST", "/api/v1/queues/QUEUE/messages:delete", "{}", "receiptHandle" },
        { "POST", "/api/v1/queues/QUEUE/messages:delete", """{"receiptHandle": "nope"}""", "receiptHandle" },
        { "DELETE", "/api/v1/queues/QUEUE/messages/nope", "", "receiptHandle" },
        { "POST", "/api/v1/queues/QUEUE/messages:changeVisibility", """{"receiptHandle": "nope", "visibilityTimeoutSeconds": 1}""", "receiptHandle" },
        { "POST", "/api/v1/queues/QUEUE/messages:changeVisibility", """{"receiptHandle": "nope"}""", "visibilityTimeoutSeconds" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequest_Refused400WithTheProblemAndNothingChanged(string method, string path, string body, string? problemPath)
    {
        var q = await NewQueueAsync(S);
        await SendAsync(S, q, "keep");
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("QUEUE", q, StringComparison.Ordinal));
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var r = await S.Http.SendAsync(request);
        var problem = await ServerProcess.ExpectAsync(r, HttpStatusCode.BadRequest);

        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        if (problemPath is not null)
        {
            Assert.Contains(problemPath, problem["problems"]!.AsArray().Select(p => p.Str("path")));
        }
        Assert.Equal(404, (int)(await S.Http.GetAsync($"/api/v1/queues/{q}-new")).StatusCode);
        var counts = (await S.GetJsonAsync($"/api/v1/queues/{q}"))["messages"]!;
        Assert.Equal(1, counts["visible"]!.GetValue<long>());
    }

    [Fact]
    public async Task Queue_Missing_404ForEveryMessageCall()
    {
        var q = Json.UniqueName("missing");

        await S.PostJsonAsync($"/api/v1/queues/{q}/messages", new { body = "x" }, HttpStatusCode.NotFound);
        await S.PostJsonAsync($"/api/v1/queues/{q}/messages:receive", new { }, HttpStatusCode.NotFound);
        await S.PostJsonAsync($"/api/v1/queues/{q}:purge", null, HttpStatusCode.NotFound);
    }
}
