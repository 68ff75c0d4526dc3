using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Domain;

namespace Sluice.Core.Execution;

/// <summary>Delivers callback messages to the built-in durable queue, created on first use.</summary>
public sealed class QueueCallbackTransport(QueueService queues) : ICallbackTransport
{
    public string Kind => "queue";

    public async Task PublishAsync(Scope scope, string address, JsonObject body, CancellationToken ct)
    {
        var name = QueueName(address);
        await queues.EnsureQueueAsync(scope, name, ct);
        await queues.SendAsync(scope, name, body.ToJsonString(JsonOptions), null, ct);
    }

    /// <summary>A queue name, or the name at the end of a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME or a Sluice URL).</summary>
    public static string QueueName(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? url.AbsolutePath.TrimEnd('/').Split('/')[^1]
            : address;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };
}
