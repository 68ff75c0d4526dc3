using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Core.Api;

/// <summary>Queue attributes asked for at creation; null is the default for a new queue and "any value" for an existing one.</summary>
public sealed record QueueSettings
{
    public TimeSpan? VisibilityTimeout { get; init; }
    public TimeSpan? MessageRetentionPeriod { get; init; }
    public TimeSpan? ReceiveMessageWaitTime { get; init; }
    public TimeSpan? Delay { get; init; }
    public int? MaximumMessageSize { get; init; }
}

/// <summary>What a send answers: the new message's id and the MD5 of its body (hex), as SQS does.</summary>
public sealed record SentMessage(string Id, string Md5);

/// <summary>The core API of the built-in queue: durable SQS-like standard queues with at-least-once delivery and long polling.</summary>
/// <remarks>A receive that waits is woken in this process when a send, a visibility change or a delete commits, and by a
/// timer at the earliest time a hidden message becomes visible; it never polls the store in a loop. On a shared store, a
/// change on another node wakes it through <see cref="Changed"/> and <see cref="PulseHere"/>. Problem paths are the native API's field names (name, body, maxMessages,
/// visibilityTimeoutSeconds, waitSeconds, delaySeconds, receiptHandle, ...); other faces map them to their own.</remarks>
public sealed class QueueService(IQueueStore store, TimeProvider time)
{
    public const int MaxNameLength = 80;
    public const int MaxMessagesPerReceive = 10;
    public const int MaxPageSize = 1000;
    public const int MinMessageSizeLimit = 1024;
    public const int MaxMessageSizeLimit = 256 * 1024;
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromHours(12);
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan MinRetention = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxRetention = TimeSpan.FromDays(14);

    private const int ExpiryBatch = 1000;

    private readonly ConcurrentDictionary<(Scope Scope, string Name), Signal> signals = new();

    /// <summary>Creates a queue. An existing queue is answered (Created = false) when every attribute given equals its own;
    /// AlreadyExists when one differs.</summary>
    public async Task<(QueueRecord Queue, bool Created)> CreateAsync(Scope scope, string name, QueueSettings? settings, CancellationToken ct)
    {
        settings ??= new QueueSettings();
        var problems = new List<Problem>();
        Name(name, problems);
        var attributes = Attributes(settings, problems);
        Throw(problems);
        for (var tries = 0; ; tries++)
        {
            try
            {
                return await store.CreateQueueAsync(new QueueRecord
                {
                    Scope = scope, Name = name, Attributes = attributes, CreatedAt = time.GetUtcNow(),
                }, ct);
            }
            catch (AlreadyExistsException)
            {
                var existing = await store.GetQueueAsync(scope, name, ct);
                if (existing is not null)
                {
                    return Matches(settings, existing.Attributes)
                        ? (existing, false)
                        : throw new SluiceException(ErrorKind.AlreadyExists,
                            $"queue {name} exists already with other attributes: {Differences(settings, existing.Attributes)}");
                }
                if (tries >= 3)
                {
                    throw new SluiceException(ErrorKind.AlreadyExists, $"queue {name} is being created and deleted by others; try again");
                }
                // Deleted between the two calls: create it again.
            }
        }
    }

    /// <summary>The queue, created with default attributes if it does not exist (a queue named by a pipeline).</summary>
    public async Task<QueueRecord> EnsureQueueAsync(Scope scope, string name, CancellationToken ct)
    {
        CheckName(name);
        return await store.GetQueueAsync(scope, name, ct) ?? (await CreateAsync(scope, name, null, ct)).Queue;
    }

    public async Task<QueueRecord> GetAsync(Scope scope, string name, CancellationToken ct)
    {
        CheckName(name);
        return await store.GetQueueAsync(scope, name, ct) ?? throw NotFound(name);
    }

    /// <summary>Approximate counts of visible, in-flight and delayed messages.</summary>
    public async Task<QueueCounts> CountAsync(Scope scope, string name, CancellationToken ct)
    {
        CheckName(name);
        return await store.CountMessagesAsync(scope, name, time.GetUtcNow(), ct) ?? throw NotFound(name);
    }

    /// <summary>Queues of a scope in name order, optionally those whose name starts with <paramref name="prefix"/>.</summary>
    public async Task<Page<QueueRecord>> ListAsync(Scope scope, string? prefix, int pageSize, string? pageToken, CancellationToken ct)
    {
        var problems = new List<Problem>();
        if (prefix is not null && (prefix.Length > MaxNameLength || !prefix.All(NameChar)))
        {
            problems.Add(new Problem("prefix", $"a queue name prefix is at most {MaxNameLength} characters of letters, digits, '-' and '_'"));
        }
        if (pageSize is < 1 or > MaxPageSize)
        {
            problems.Add(new Problem("pageSize", $"must be between 1 and {MaxPageSize}"));
        }
        Throw(problems);
        try
        {
            return await store.ListQueuesAsync(scope, prefix, pageSize, pageToken, ct);
        }
        catch (ArgumentException)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, "pageToken is not valid", [new Problem("pageToken", "is not valid")]);
        }
    }

    /// <summary>Deletes a queue with its messages; receives waiting on it answer NotFound.</summary>
    public async Task DeleteAsync(Scope scope, string name, CancellationToken ct)
    {
        CheckName(name);
        if (!await store.DeleteQueueAsync(scope, name, ct))
        {
            throw NotFound(name);
        }
        if (signals.TryRemove((scope, name), out var signal))
        {
            signal.Pulse();
        }
        Changed?.Invoke(scope, name);
    }

    /// <summary>Deletes every message of the queue, in flight or not; returns how many.</summary>
    public async Task<int> PurgeAsync(Scope scope, string name, CancellationToken ct)
    {
        CheckName(name);
        return await store.PurgeQueueAsync(scope, name, ct) ?? throw NotFound(name);
    }

    /// <summary>Stores a message durably, then wakes the receives waiting on the queue.</summary>
    /// <param name="delay">Hides the new message this long; null takes the queue's DelaySeconds.</param>
    public async Task<SentMessage> SendAsync(Scope scope, string name, string body, TimeSpan? delay, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Name(name, problems);
        Body(body, MaxMessageSizeLimit, problems);
        Range(delay, TimeSpan.Zero, MaxDelay, "delaySeconds", problems);
        Throw(problems);
        var queue = await store.GetQueueAsync(scope, name, ct) ?? throw NotFound(name);
        Body(body, queue.Attributes.MaximumMessageSize, problems);
        Throw(problems);

        var now = time.GetUtcNow();
        var message = new QueueMessage
        {
            Id = Guid.NewGuid().ToString("D"),
            Body = body,
            Md5 = Md5Hex(body),
            SentAt = now,
            VisibleAt = now + (delay ?? queue.Attributes.Delay),
            ExpiresAt = now + queue.Attributes.MessageRetentionPeriod,
        };
        if (!await store.SendMessageAsync(scope, name, message, ct))
        {
            throw NotFound(name);
        }
        // Delayed messages wake waiters too: they re-read when the earliest hidden message appears.
        Pulse(scope, name);
        return new SentMessage(message.Id, message.Md5);
    }

    /// <summary>Takes up to <paramref name="max"/> visible messages and hides them for the visibility timeout; each comes
    /// with a new receipt handle. With no message visible, waits up to <paramref name="wait"/> (null: the queue's
    /// ReceiveMessageWaitTimeSeconds) and answers as soon as one is; an empty list when the wait ends without one.</summary>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(Scope scope, string name, int max, TimeSpan? visibility, TimeSpan? wait,
        CancellationToken ct)
    {
        var problems = new List<Problem>();
        Name(name, problems);
        if (max is < 1 or > MaxMessagesPerReceive)
        {
            problems.Add(new Problem("maxMessages", $"must be between 1 and {MaxMessagesPerReceive}"));
        }
        Range(visibility, TimeSpan.Zero, MaxVisibilityTimeout, "visibilityTimeoutSeconds", problems);
        Range(wait, TimeSpan.Zero, MaxWait, "waitSeconds", problems);
        Throw(problems);
        var queue = await store.GetQueueAsync(scope, name, ct) ?? throw NotFound(name);
        var hide = visibility ?? queue.Attributes.VisibilityTimeout;
        var deadline = time.GetUtcNow() + (wait ?? queue.Attributes.ReceiveMessageWaitTime);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var now = time.GetUtcNow();
            // Taken before looking, so that a send committing after the look still ends the wait.
            var woken = now < deadline ? signals.GetOrAdd((scope, name), _ => new Signal()).Next : null;
            var taken = await store.ReceiveMessagesAsync(scope, name, max, now, now + hide, ct) ?? throw NotFound(name);
            if (taken.Messages.Count > 0 || woken is null)
            {
                return taken.Messages;
            }
            var until = taken.NextVisibleAt is { } next && next < deadline ? next : deadline;
            await WaitAsync(woken, until - now, ct);
        }
    }

    /// <summary>Deletes the message received with this handle. True if it did; false if the message was received again
    /// since (a newer handle rules it) or is gone already: as in SQS, neither is an error.</summary>
    public async Task<bool> DeleteMessageAsync(Scope scope, string name, string receiptHandle, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Name(name, problems);
        Handle(receiptHandle, problems);
        Throw(problems);
        return await store.DeleteMessageAsync(scope, name, receiptHandle, ct) switch
        {
            ReceiptResult.Applied => true,
            ReceiptResult.Stale or ReceiptResult.MessageGone => false,
            _ => throw NotFound(name),
        };
    }

    /// <summary>Makes the message received with this handle visible again after <paramref name="timeout"/> from now
    /// (zero: at once). Only the latest handle of a message still in the queue may do it (FailedPrecondition otherwise).</summary>
    public async Task ChangeVisibilityAsync(Scope scope, string name, string receiptHandle, TimeSpan timeout, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Name(name, problems);
        Handle(receiptHandle, problems);
        Range(timeout, TimeSpan.Zero, MaxVisibilityTimeout, "visibilityTimeoutSeconds", problems);
        Throw(problems);
        switch (await store.ChangeVisibilityAsync(scope, name, receiptHandle, time.GetUtcNow() + timeout, ct))
        {
            case ReceiptResult.Applied:
                Pulse(scope, name);
                return;
            case ReceiptResult.Stale:
                throw new SluiceException(ErrorKind.FailedPrecondition,
                    "the message was received again since this receipt handle was issued; use the newest handle",
                    [new Problem("receiptHandle", "is not the message's latest")]);
            case ReceiptResult.MessageGone:
                throw new SluiceException(ErrorKind.FailedPrecondition, "the message is no longer in the queue (deleted, purged or expired)",
                    [new Problem("receiptHandle", "names a message that is gone")]);
            default:
                throw NotFound(name);
        }
    }

    /// <summary>Deletes every message whose retention period has ended (receives skip them already); returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken ct)
    {
        var total = 0;
        int n;
        do
        {
            n = await store.ExpireMessagesAsync(time.GetUtcNow(), ExpiryBatch, ct);
            total += n;
        }
        while (n == ExpiryBatch);
        return total;
    }

    /// <summary>Whether a string is a valid queue name: 1-80 characters of ASCII letters, digits, '-' and '_'.</summary>
    public static bool IsQueueName([NotNullWhen(true)] string? name) => name is { Length: >= 1 and <= MaxNameLength } && name.All(NameChar);

    [SuppressMessage("Security", "CA5351", Justification = "SQS defines MD5OfMessageBody; it is a checksum here, not a security measure.")]
    public static string Md5Hex(string body) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body)));

    private async Task WaitAsync(Task woken, TimeSpan delay, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await Task.WhenAny(woken, Task.Delay(delay, time, stop.Token));
        await stop.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>Called after a change that may end a receive's wait (send, visibility, delete), to wake other nodes.</summary>
    public Action<Scope, string>? Changed { get; set; }

    /// <summary>Wakes the receives waiting on the queue in this process: a change made on another node.</summary>
    public void PulseHere(Scope scope, string name)
    {
        if (signals.TryGetValue((scope, name), out var signal))
        {
            signal.Pulse();
        }
    }

    private void Pulse(Scope scope, string name)
    {
        PulseHere(scope, name);
        Changed?.Invoke(scope, name);
    }

    private static bool NameChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_';

    private static void Name(string? name, List<Problem> problems)
    {
        if (!IsQueueName(name))
        {
            problems.Add(new Problem("name", $"a queue name is 1-{MaxNameLength} characters of letters, digits, '-' and '_'; got {Validation.Show(name)}"));
        }
    }

    private static void CheckName(string? name)
    {
        var problems = new List<Problem>();
        Name(name, problems);
        Throw(problems);
    }

    /// <summary>SQS's rules: at least one character, only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF, and a
    /// size limit in UTF-8 bytes.</summary>
    private static void Body(string? body, int maxBytes, List<Problem> problems)
    {
        if (string.IsNullOrEmpty(body))
        {
            problems.Add(new Problem("body", "a message body is at least one character"));
            return;
        }
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            var ok = char.IsHighSurrogate(c) ? i + 1 < body.Length && char.IsLowSurrogate(body[++i])
                : c is '\t' or '\n' or '\r' or (>= '\u0020' and <= '\uD7FF') or (>= '\uE000' and <= '\uFFFD');
            if (!ok)
            {
                problems.Add(new Problem("body", $"character {i} is not allowed (SQS allows #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF)"));
                return;
            }
        }
        var size = Encoding.UTF8.GetByteCount(body);
        if (size > maxBytes)
        {
            problems.Add(new Problem("body", $"a message body is at most {maxBytes} bytes of UTF-8; this one is {size}"));
        }
    }

    private static void Handle(string? receiptHandle, List<Problem> problems)
    {
        if (!QueueReceipts.TryParse(receiptHandle, out _))
        {
            problems.Add(new Problem("receiptHandle", $"is not a receipt handle of this service: {Validation.Show(receiptHandle)}"));
        }
    }

    private static void Range(TimeSpan? value, TimeSpan min, TimeSpan max, string path, List<Problem> problems)
    {
        if (value is { } v && (v < min || v > max))
        {
            problems.Add(new Problem(path, $"must be between {min.TotalSeconds} and {max.TotalSeconds} seconds"));
        }
    }

    private static QueueAttributes Attributes(QueueSettings s, List<Problem> problems)
    {
        var defaults = new QueueAttributes();
        Range(s.VisibilityTimeout, TimeSpan.Zero, MaxVisibilityTimeout, "visibilityTimeoutSeconds", problems);
        Range(s.MessageRetentionPeriod, MinRetention, MaxRetention, "messageRetentionSeconds", problems);
        Range(s.ReceiveMessageWaitTime, TimeSpan.Zero, MaxWait, "receiveWaitSeconds", problems);
        Range(s.Delay, TimeSpan.Zero, MaxDelay, "delaySeconds", problems);
        if (s.MaximumMessageSize is < MinMessageSizeLimit or > MaxMessageSizeLimit)
        {
            problems.Add(new Problem("maximumMessageSize", $"must be between {MinMessageSizeLimit} and {MaxMessageSizeLimit} bytes"));
        }
        return new QueueAttributes
        {
            VisibilityTimeout = s.VisibilityTimeout ?? defaults.VisibilityTimeout,
            MessageRetentionPeriod = s.MessageRetentionPeriod ?? defaults.MessageRetentionPeriod,
            ReceiveMessageWaitTime = s.ReceiveMessageWaitTime ?? defaults.ReceiveMessageWaitTime,
            Delay = s.Delay ?? defaults.Delay,
            MaximumMessageSize = s.MaximumMessageSize ?? defaults.MaximumMessageSize,
        };
    }

    private static bool Matches(QueueSettings s, QueueAttributes a) => Differences(s, a).Length == 0;

    private static string Differences(QueueSettings s, QueueAttributes a)
    {
        var d = new List<string>();
        if (s.VisibilityTimeout is { } v && v != a.VisibilityTimeout)
        {
            d.Add($"visibilityTimeoutSeconds is {a.VisibilityTimeout.TotalSeconds}");
        }
        if (s.MessageRetentionPeriod is { } r && r != a.MessageRetentionPeriod)
        {
            d.Add($"messageRetentionSeconds is {a.MessageRetentionPeriod.TotalSeconds}");
        }
        if (s.ReceiveMessageWaitTime is { } w && w != a.ReceiveMessageWaitTime)
        {
            d.Add($"receiveWaitSeconds is {a.ReceiveMessageWaitTime.TotalSeconds}");
        }
        if (s.Delay is { } delay && delay != a.Delay)
        {
            d.Add($"delaySeconds is {a.Delay.TotalSeconds}");
        }
        if (s.MaximumMessageSize is { } m && m != a.MaximumMessageSize)
        {
            d.Add($"maximumMessageSize is {a.MaximumMessageSize}");
        }
        return string.Join(", ", d);
    }

    private static void Throw(List<Problem> problems)
    {
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), [.. problems]);
        }
    }

    private static SluiceException NotFound(string name) => SluiceException.NotFound($"queue {name} not found");

    /// <summary>A pulse completes the task every current waiter holds and hands later waiters a fresh one.</summary>
    private sealed class Signal
    {
        private TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Next => Volatile.Read(ref next).Task;

        public void Pulse() =>
            Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
