using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>The built-in queue under /api/v1/queues (scope: the default tenant and location); see docs/queues.md.</summary>
internal static class QueueApi
{
    // A 256 KiB body whose every character a JSON encoder escapes as \uXXXX is six times larger on the wire.
    private const int MaxSendBytes = 6 * QueueService.MaxMessageSizeLimit + 64 * 1024;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/queues/{name}", CreateAsync).WithMetadata(RequiresAccess.Admin);
        api.MapGet("/queues", ListAsync);
        api.MapGet("/queues/{name}", GetAsync);
        api.MapDelete("/queues/{name}", DeleteAsync).WithMetadata(RequiresAccess.Admin);
        api.MapPost("/queues/{name}:purge", PurgeAsync).WithMetadata(RequiresAccess.Admin);
        api.MapPost("/queues/{name}/messages", SendAsync);
        api.MapPost("/queues/{name}/messages:receive", ReceiveAsync);
        api.MapPost("/queues/{name}/messages:delete", DeleteMessageAsync);
        api.MapDelete("/queues/{name}/messages/{receiptHandle}", DeleteMessageByPathAsync);
        api.MapPost("/queues/{name}/messages:changeVisibility", ChangeVisibilityAsync);
    }

    private static async Task<IResult> CreateAsync(NativeCaller caller, string name, HttpRequest req, QueueService queues, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct, emptyIsObject: true);
        var settings = new QueueSettings
        {
            VisibilityTimeout = Seconds(r, "visibilityTimeoutSeconds", QueueService.MaxVisibilityTimeout),
            MessageRetentionPeriod = Seconds(r, "messageRetentionSeconds", QueueService.MaxRetention, QueueService.MinRetention),
            ReceiveMessageWaitTime = Seconds(r, "receiveWaitSeconds", QueueService.MaxWait),
            Delay = Seconds(r, "delaySeconds", QueueService.MaxDelay),
            MaximumMessageSize = Whole(r, "maximumMessageSize", QueueService.MinMessageSizeLimit, QueueService.MaxMessageSizeLimit),
        };
        r.Done();
        var (queue, created) = await queues.CreateAsync(caller.Home, name, settings, ct);
        return Results.Json(Queue(queue), statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> ListAsync(NativeCaller caller, HttpRequest req, QueueService queues, CancellationToken ct)
    {
        var pageSize = NativeApi.Query(req, "pageSize") is { } s ? NativeApi.ParseInt(s, "pageSize", 1, QueueService.MaxPageSize) : 100;
        var page = await queues.ListAsync(caller.Home, NativeApi.Query(req, "prefix"), pageSize, NativeApi.Query(req, "pageToken"), ct);
        return Results.Json(NativeJson.Page("queues", page, Queue));
    }

    private static async Task<IResult> GetAsync(NativeCaller caller, string name, QueueService queues, CancellationToken ct)
    {
        var o = Queue(await queues.GetAsync(caller.Home, name, ct));
        var counts = await queues.CountAsync(caller.Home, name, ct);
        o["messages"] = new JsonObject { ["visible"] = counts.Visible, ["notVisible"] = counts.NotVisible, ["delayed"] = counts.Delayed };
        return Results.Json(o);
    }

    private static async Task<IResult> DeleteAsync(NativeCaller caller, string name, QueueService queues, CancellationToken ct)
    {
        await queues.DeleteAsync(caller.Home, name, ct);
        return Results.NoContent();
    }

    private static async Task<IResult> PurgeAsync(NativeCaller caller, string name, QueueService queues, CancellationToken ct) =>
        Results.Json(new JsonObject { ["purged"] = await queues.PurgeAsync(caller.Home, name, ct) });

    private static async Task<IResult> SendAsync(NativeCaller caller, string name, HttpRequest req, QueueService queues, CancellationToken ct)
    {
        // Not RequestReader: its 1 MiB limit is below the largest valid body once escaped.
        if (req.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw SluiceException.Invalid("the body must be JSON (Content-Type: application/json)");
        }
        if (RequestReader.Parse(await RequestReader.ReadTextAsync(req, MaxSendBytes, ct)) is not JsonObject o)
        {
            throw SluiceException.Invalid("the body must be a JSON object");
        }
        var problems = new List<Problem>();
        string? body = null;
        TimeSpan? delay = null;
        foreach (var (k, v) in o)
        {
            switch (k)
            {
                case "body" when v is JsonValue b && b.GetValueKind() == JsonValueKind.String:
                    body = b.GetValue<string>();
                    break;
                case "body":
                    problems.Add(new Problem("body", "must be a string"));
                    break;
                case "delaySeconds" when v is JsonValue d && d.GetValueKind() == JsonValueKind.Number && d.TryGetValue<double>(out var seconds)
                                         && seconds == Math.Floor(seconds) && seconds >= 0 && seconds <= QueueService.MaxDelay.TotalSeconds:
                    delay = TimeSpan.FromSeconds(seconds);
                    break;
                case "delaySeconds":
                    problems.Add(new Problem("delaySeconds", $"must be a whole number between 0 and {QueueService.MaxDelay.TotalSeconds}"));
                    break;
                default:
                    problems.Add(new Problem(Validation.Show(k), "unknown field"));
                    break;
            }
        }
        if (body is null && !problems.Any(p => p.Path == "body"))
        {
            problems.Add(new Problem("body", "is required"));
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var sent = await queues.SendAsync(caller.Home, name, body!, delay, ct);
        return Results.Json(new JsonObject { ["id"] = sent.Id, ["md5"] = sent.Md5 }, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ReceiveAsync(NativeCaller caller, string name, HttpRequest req, QueueService queues, IHostApplicationLifetime lifetime,
        CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct, emptyIsObject: true);
        var max = Whole(r, "maxMessages", 1, QueueService.MaxMessagesPerReceive) ?? 1;
        var visibility = Seconds(r, "visibilityTimeoutSeconds", QueueService.MaxVisibilityTimeout);
        var wait = Seconds(r, "waitSeconds", QueueService.MaxWait);
        r.Done();
        // A shutting-down server answers its waiting receives (with nothing) instead of holding the shutdown up.
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        IReadOnlyList<QueueMessage> messages;
        try
        {
            messages = await queues.ReceiveAsync(caller.Home, name, max, visibility, wait, both.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && lifetime.ApplicationStopping.IsCancellationRequested)
        {
            messages = [];
        }
        return Results.Json(new JsonObject { ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)Message(m))]) });
    }

    private static async Task<IResult> DeleteMessageAsync(NativeCaller caller, string name, HttpRequest req, QueueService queues, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct);
        var handle = r.String("receiptHandle", 1024);
        if (handle is null)
        {
            r.Problem("receiptHandle", "is required");
        }
        r.Done();
        return Results.Json(new JsonObject { ["deleted"] = await queues.DeleteMessageAsync(caller.Home, name, handle!, ct) });
    }

    private static async Task<IResult> DeleteMessageByPathAsync(NativeCaller caller, string name, string receiptHandle, QueueService queues, CancellationToken ct)
    {
        await queues.DeleteMessageAsync(caller.Home, name, receiptHandle, ct);
        return Results.NoContent();
    }

    private static async Task<IResult> ChangeVisibilityAsync(NativeCaller caller, string name, HttpRequest req, QueueService queues, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct);
        var handle = r.String("receiptHandle", 1024);
        var timeout = Seconds(r, "visibilityTimeoutSeconds", QueueService.MaxVisibilityTimeout);
        if (handle is null)
        {
            r.Problem("receiptHandle", "is required");
        }
        if (timeout is null)
        {
            r.Problem("visibilityTimeoutSeconds", "is required: a whole number of seconds");
        }
        r.Done();
        await queues.ChangeVisibilityAsync(caller.Home, name, handle!, timeout!.Value, ct);
        return Results.NoContent();
    }

    private static JsonObject Queue(QueueRecord q) => new()
    {
        ["name"] = q.Name,
        ["createdAt"] = NativeJson.Time(q.CreatedAt),
        ["attributes"] = new JsonObject
        {
            ["visibilityTimeoutSeconds"] = q.Attributes.VisibilityTimeout.TotalSeconds,
            ["messageRetentionSeconds"] = q.Attributes.MessageRetentionPeriod.TotalSeconds,
            ["receiveWaitSeconds"] = q.Attributes.ReceiveMessageWaitTime.TotalSeconds,
            ["delaySeconds"] = q.Attributes.Delay.TotalSeconds,
            ["maximumMessageSize"] = q.Attributes.MaximumMessageSize,
        },
    };

    private static JsonObject Message(QueueMessage m) => new()
    {
        ["id"] = m.Id,
        ["body"] = m.Body,
        ["md5"] = m.Md5,
        ["receiptHandle"] = m.ReceiptHandle,
        ["receiveCount"] = m.ReceiveCount,
        ["sentAt"] = NativeJson.Time(m.SentAt),
        ["firstReceivedAt"] = NativeJson.Time(m.FirstReceivedAt),
    };

    /// <summary>A whole number of seconds in [min, max], or null when absent or wrong (the reader keeps the problem).</summary>
    private static TimeSpan? Seconds(RequestReader r, string name, TimeSpan max, TimeSpan? min = null) =>
        Whole(r, name, (long)(min ?? TimeSpan.Zero).TotalSeconds, (long)max.TotalSeconds) is { } s ? TimeSpan.FromSeconds(s) : null;

    private static int? Whole(RequestReader r, string name, long min, long max)
    {
        var n = r.Number(name, min, max);
        if (n is { } d && d != Math.Floor(d))
        {
            r.Problem(name, "must be a whole number");
            return null;
        }
        return n is { } v ? (int)v : null;
    }
}
