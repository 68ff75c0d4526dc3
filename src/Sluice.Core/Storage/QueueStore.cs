using System.Buffers.Text;
using System.Security.Cryptography;
using Sluice.Core.Domain;

namespace Sluice.Core.Storage;

/// <summary>The settings of a queue, with the defaults of an SQS standard queue.</summary>
public sealed record QueueAttributes
{
    /// <summary>How long a received message stays hidden from other receivers unless the receive says otherwise.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a message is kept from the moment it was sent; it is dropped after, received or not.</summary>
    public TimeSpan MessageRetentionPeriod { get; init; } = TimeSpan.FromDays(4);
    /// <summary>How long a receive that does not say waits for a message (0: answer at once).</summary>
    public TimeSpan ReceiveMessageWaitTime { get; init; } = TimeSpan.Zero;
    /// <summary>How long a new message stays hidden unless its send says otherwise.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.Zero;
    /// <summary>The largest body accepted, in UTF-8 bytes.</summary>
    public int MaximumMessageSize { get; init; } = 256 * 1024;
}

/// <summary>A queue: a name in a scope (an SQS account and region) and its settings.</summary>
public sealed record QueueRecord
{
    public required Scope Scope { get; init; }
    public required string Name { get; init; }
    public required QueueAttributes Attributes { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A message as stored. <see cref="ReceiptHandle"/> is the handle of its latest delivery (null before the first).</summary>
public sealed record QueueMessage
{
    /// <summary>A GUID in its 36-character form, as SQS shows message ids.</summary>
    public required string Id { get; init; }
    public required string Body { get; init; }
    /// <summary>MD5 of the UTF-8 body, 32 lowercase hex digits (SQS's MD5OfMessageBody).</summary>
    public required string Md5 { get; init; }
    public required DateTimeOffset SentAt { get; init; }
    /// <summary>Receivers cannot see the message before this time (delay, or a delivery in flight).</summary>
    public required DateTimeOffset VisibleAt { get; init; }
    /// <summary>Sent time plus the queue's retention period: the message is gone from then on.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    public int ReceiveCount { get; init; }
    public DateTimeOffset? FirstReceivedAt { get; init; }
    public string? ReceiptHandle { get; init; }
}

/// <summary>What one receive took; when it took nothing, the earliest time a hidden message becomes visible, if any.</summary>
public sealed record QueueReceive(IReadOnlyList<QueueMessage> Messages, DateTimeOffset? NextVisibleAt);

/// <summary>Approximate message counts (SQS ApproximateNumberOfMessages, ...NotVisible, ...Delayed).</summary>
/// <param name="Visible">Ready to be received.</param>
/// <param name="NotVisible">Received and neither deleted nor back yet (in flight).</param>
/// <param name="Delayed">Never received and still inside their delay.</param>
public sealed record QueueCounts(long Visible, long NotVisible, long Delayed);

/// <summary>What a receipt handle operation found.</summary>
public enum ReceiptResult
{
    /// <summary>The handle was the message's latest: the change is made.</summary>
    Applied,
    /// <summary>The message was received again since this handle was issued: nothing changed.</summary>
    Stale,
    /// <summary>The message is no longer in the queue (deleted, purged or expired).</summary>
    MessageGone,
    /// <summary>The queue does not exist.</summary>
    QueueGone,
}

/// <summary>Durable queues with at-least-once delivery (the built-in queue of callback steps and the SQS face).</summary>
/// <remarks>The store takes every time from its caller; it reads no clock.</remarks>
public interface IQueueStore
{
    /// <summary>Creates a queue. If the name is taken in the scope: the existing queue when its attributes are equal
    /// (Created = false), <see cref="AlreadyExistsException"/> when they differ.</summary>
    Task<(QueueRecord Queue, bool Created)> CreateQueueAsync(QueueRecord queue, CancellationToken ct);

    Task<QueueRecord?> GetQueueAsync(Scope scope, string name, CancellationToken ct);

    /// <summary>Queues of a scope by name, optionally only those whose name starts with <paramref name="prefix"/>.</summary>
    Task<Page<QueueRecord>> ListQueuesAsync(Scope scope, string? prefix, int pageSize, string? pageToken, CancellationToken ct);

    /// <summary>Deletes a queue with its messages; false if there was none.</summary>
    Task<bool> DeleteQueueAsync(Scope scope, string name, CancellationToken ct);

    /// <summary>Deletes every message of a queue, in flight or not; how many, or null if there is no such queue.</summary>
    Task<int?> PurgeQueueAsync(Scope scope, string name, CancellationToken ct);

    /// <summary>Adds a message (never received: no handle, count 0); false if there is no such queue.
    /// Throws <see cref="AlreadyExistsException"/> if the message id is taken.</summary>
    Task<bool> SendMessageAsync(Scope scope, string name, QueueMessage message, CancellationToken ct);

    /// <summary>In one transaction takes up to <paramref name="max"/> messages visible at <paramref name="now"/> and not
    /// expired, oldest visible first, hides them until <paramref name="invisibleUntil"/>, gives each a new receipt handle
    /// and counts the delivery. Null if there is no such queue.</summary>
    Task<QueueReceive?> ReceiveMessagesAsync(Scope scope, string name, int max, DateTimeOffset now, DateTimeOffset invisibleUntil,
        CancellationToken ct);

    /// <summary>Deletes the message if the handle is its latest one.</summary>
    Task<ReceiptResult> DeleteMessageAsync(Scope scope, string name, string receiptHandle, CancellationToken ct);

    /// <summary>Makes the message visible at <paramref name="visibleAt"/> if the handle is its latest one.</summary>
    Task<ReceiptResult> ChangeVisibilityAsync(Scope scope, string name, string receiptHandle, DateTimeOffset visibleAt, CancellationToken ct);

    /// <summary>Counts the live messages of a queue at <paramref name="now"/>; null if there is no such queue.</summary>
    Task<QueueCounts?> CountMessagesAsync(Scope scope, string name, DateTimeOffset now, CancellationToken ct);

    /// <summary>Deletes up to <paramref name="limit"/> messages whose retention ended by <paramref name="now"/>; how many.</summary>
    Task<int> ExpireMessagesAsync(DateTimeOffset now, int limit, CancellationToken ct);
}

/// <summary>Receipt handles: the message id and 16 random bytes, base64url (43 characters, safe in a URL path).</summary>
/// <remarks>The id inside lets an old handle be told apart from a handle of a message that is gone.</remarks>
public static class QueueReceipts
{
    private const int Length = 43;

    public static string New(string messageId)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (!Guid.TryParseExact(messageId, "D", out var id) || !id.TryWriteBytes(bytes))
        {
            throw new ArgumentException("A message id is a GUID in its 36-character form.", nameof(messageId));
        }
        RandomNumberGenerator.Fill(bytes[16..]);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The message id inside a handle, or false if the text is not a handle at all.</summary>
    public static bool TryParse(string? handle, out string messageId)
    {
        messageId = "";
        Span<byte> bytes = stackalloc byte[33];
        // The decoder throws, rather than answer false, on a character outside the alphabet.
        if (handle is not { Length: Length } || !handle.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            || !Base64Url.TryDecodeFromChars(handle, bytes, out var written) || written != 32)
        {
            return false;
        }
        messageId = new Guid(bytes[..16]).ToString("D");
        return true;
    }
}
