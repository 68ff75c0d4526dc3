using System.Globalization;
using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

public sealed partial class SqliteStore : IQueueStore
{
    private const string QueueColumns =
        "tenant, location, name, visibility_timeout, retention, receive_wait, delay, max_message_size, created_at";

    private const string MessageColumns =
        "id, body, md5, sent_at, visible_at, expires_at, receive_count, first_received_at, receipt_handle";

    private const string QueuesPage = "queues";

    private const string QueueIdSql = "SELECT id FROM queues WHERE tenant = @tenant AND location = @location AND name = @name";

    private static readonly string InsertQueueSql =
        Db.Insert("queues", QueueColumns) + " ON CONFLICT (tenant, location, name) DO NOTHING";

    private static readonly string InsertMessageSql = Db.Insert("queue_messages", "queue_id, id, body, md5, sent_at, visible_at, expires_at");

    public Task<(QueueRecord Queue, bool Created)> CreateQueueAsync(QueueRecord queue, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return WriteAsync(s =>
        {
            if (s.Command(InsertQueueSql).WithQueue(queue).ExecuteNonQuery() > 0)
            {
                return (queue, true);
            }
            var existing = s.Command($"SELECT {QueueColumns} FROM queues WHERE tenant = @tenant AND location = @location AND name = @name")
                .WithQueueName(queue.Scope, queue.Name).ReadOne(ReadQueue)!;
            return existing.Attributes == queue.Attributes
                ? (existing, false)
                : throw new AlreadyExistsException(
                    $"A queue named '{queue.Name}' exists already in {queue.Scope.Tenant}/{queue.Scope.Location} with other attributes.");
        }, ct);
    }

    public Task<QueueRecord?> GetQueueAsync(Scope scope, string name, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {QueueColumns} FROM queues WHERE tenant = @tenant AND location = @location AND name = @name")
            .WithQueueName(scope, name).ReadOne(ReadQueue), ct);

    public async Task<Page<QueueRecord>> ListQueuesAsync(Scope scope, string? prefix, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter()
            .Where("tenant = @tenant AND location = @location", ("@tenant", scope.Tenant), ("@location", scope.Location))
            .Bind(("@limit", pageSize + 1));
        if (!string.IsNullOrEmpty(prefix))
        {
            // A range, so the (tenant, location, name) index finds the first match and stops after the last; U+10FFFF sorts
            // after every character in SQLite's byte order.
            filter.Where("name >= @prefix AND name < @prefix_end", ("@prefix", prefix), ("@prefix_end", prefix + "\U0010FFFF"));
        }
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (name, _) = PageToken.Decode(QueuesPage, pageToken);
            filter.Where("name > @cursor_key", ("@cursor_key", name));
        }
        var sql = $"SELECT {QueueColumns}, id FROM queues{filter.Clause()} ORDER BY name LIMIT @limit";
        return await ReadAsync(s =>
        {
            var rows = filter.Command(s, sql).ReadAll(r => (Queue: ReadQueue(r), Id: r.GetInt64(9)));
            var page = ToPage(rows, pageSize, q => PageToken.Encode(QueuesPage, q.Queue.Name, q.Id.ToString(CultureInfo.InvariantCulture)));
            return new Page<QueueRecord>([.. page.Items.Select(q => q.Queue)], page.NextPageToken);
        }, ct);
    }

    public Task<bool> DeleteQueueAsync(Scope scope, string name, CancellationToken ct) =>
        WriteAsync(s =>
        {
            if (QueueId(s, scope, name) is not { } id)
            {
                return false;
            }
            s.Command("DELETE FROM queue_messages WHERE queue_id = @queue_id").With("@queue_id", id).ExecuteNonQuery();
            return s.Command("DELETE FROM queues WHERE id = @queue_id").With("@queue_id", id).ExecuteNonQuery() > 0;
        }, ct);

    public Task<int?> PurgeQueueAsync(Scope scope, string name, CancellationToken ct) =>
        WriteAsync(s => QueueId(s, scope, name) is { } id
            ? s.Command("DELETE FROM queue_messages WHERE queue_id = @queue_id").With("@queue_id", id).ExecuteNonQuery()
            : (int?)null, ct);

    public Task<bool> SendMessageAsync(Scope scope, string name, QueueMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        Require(Guid.TryParseExact(message.Id, "D", out _), nameof(message), "A message id is a GUID in its 36-character form.");
        Require(message.ReceiveCount == 0 && message.ReceiptHandle is null && message.FirstReceivedAt is null, nameof(message),
            "A new message has not been received.");
        return WriteAsync(s =>
        {
            if (QueueId(s, scope, name) is not { } id)
            {
                return false;
            }
            try
            {
                s.Command(InsertMessageSql)
                    .With("@queue_id", id).With("@id", message.Id).With("@body", message.Body).With("@md5", message.Md5)
                    .With("@sent_at", Db.Ticks(message.SentAt)).With("@visible_at", Db.Ticks(message.VisibleAt))
                    .With("@expires_at", Db.Ticks(message.ExpiresAt))
                    .ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: the id is taken
            {
                throw new AlreadyExistsException($"A message with id '{message.Id}' exists already.");
            }
            return true;
        }, ct);
    }

    public Task<QueueReceive?> ReceiveMessagesAsync(Scope scope, string name, int max, DateTimeOffset now, DateTimeOffset invisibleUntil,
        CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        Require(invisibleUntil >= now, nameof(invisibleUntil), "A message cannot be hidden until before now.");
        // One IMMEDIATE transaction holds the database's write lock from the select to the last update, so two receivers,
        // in this process or another, can never both take a message while it is visible.
        return WriteAsync<QueueReceive?>(s =>
        {
            if (QueueId(s, scope, name) is not { } id)
            {
                return null;
            }
            var taken = s.Command("""
                    SELECT seq, id FROM queue_messages
                    WHERE queue_id = @queue_id AND visible_at <= @now AND expires_at > @now
                    ORDER BY visible_at, seq LIMIT @max
                    """)
                .With("@queue_id", id).With("@now", Db.Ticks(now)).With("@max", max)
                .ReadAll(r => (Seq: r.GetInt64(0), Id: r.GetString(1)));
            if (taken.Count == 0)
            {
                var next = s.Command("""
                        SELECT visible_at FROM queue_messages
                        WHERE queue_id = @queue_id AND visible_at > @now AND expires_at > @now
                        ORDER BY visible_at LIMIT 1
                        """)
                    .With("@queue_id", id).With("@now", Db.Ticks(now)).ExecuteScalar();
                return new QueueReceive([], next is long ticks ? Db.Time(ticks) : null);
            }
            var messages = new List<QueueMessage>(taken.Count);
            foreach (var (seq, messageId) in taken)
            {
                messages.Add(s.Command($"""
                        UPDATE queue_messages
                        SET visible_at = @visible_at, receive_count = receive_count + 1,
                            first_received_at = coalesce(first_received_at, @now), receipt_handle = @receipt_handle
                        WHERE seq = @seq
                        RETURNING {MessageColumns}
                        """)
                    .With("@seq", seq).With("@now", Db.Ticks(now)).With("@visible_at", Db.Ticks(invisibleUntil))
                    .With("@receipt_handle", QueueReceipts.New(messageId))
                    .ReadOne(ReadMessage)!);
            }
            return new QueueReceive(messages, null);
        }, ct);
    }

    public Task<ReceiptResult> DeleteMessageAsync(Scope scope, string name, string receiptHandle, CancellationToken ct) =>
        OnLatestDelivery(scope, name, receiptHandle, (s, seq) =>
            s.Command("DELETE FROM queue_messages WHERE seq = @seq").With("@seq", seq).ExecuteNonQuery(), ct);

    public Task<ReceiptResult> ChangeVisibilityAsync(Scope scope, string name, string receiptHandle, DateTimeOffset visibleAt,
        CancellationToken ct) =>
        OnLatestDelivery(scope, name, receiptHandle, (s, seq) =>
            s.Command("UPDATE queue_messages SET visible_at = @visible_at WHERE seq = @seq")
                .With("@seq", seq).With("@visible_at", Db.Ticks(visibleAt)).ExecuteNonQuery(), ct);

    public Task<QueueCounts?> CountMessagesAsync(Scope scope, string name, DateTimeOffset now, CancellationToken ct) =>
        ReadAsync(s => QueueId(s, scope, name) is { } id
            ? s.Command("""
                    SELECT coalesce(sum(visible_at <= @now), 0),
                           coalesce(sum(visible_at > @now AND receive_count > 0), 0),
                           coalesce(sum(visible_at > @now AND receive_count = 0), 0)
                    FROM queue_messages WHERE queue_id = @queue_id AND expires_at > @now
                    """)
                .With("@queue_id", id).With("@now", Db.Ticks(now))
                .ReadOne(r => new QueueCounts(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)))
            : null, ct);

    public Task<int> ExpireMessagesAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return WriteAsync(s => s.Command("""
                DELETE FROM queue_messages WHERE seq IN (
                    SELECT seq FROM queue_messages WHERE expires_at <= @now ORDER BY expires_at LIMIT @limit)
                """)
            .With("@now", Db.Ticks(now)).With("@limit", limit).ExecuteNonQuery(), ct);
    }

    /// <summary>Runs <paramref name="apply"/> on the message if the handle is its latest delivery's.</summary>
    private Task<ReceiptResult> OnLatestDelivery(Scope scope, string name, string receiptHandle, Action<Session, long> apply,
        CancellationToken ct)
    {
        Require(QueueReceipts.TryParse(receiptHandle, out var messageId), nameof(receiptHandle), "The receipt handle is malformed.");
        return WriteAsync(s =>
        {
            if (QueueId(s, scope, name) is not { } id)
            {
                return ReceiptResult.QueueGone;
            }
            var found = s.Command("SELECT seq, receipt_handle FROM queue_messages WHERE id = @id AND queue_id = @queue_id")
                .With("@id", messageId).With("@queue_id", id)
                .ReadAll(r => (Seq: r.GetInt64(0), Handle: r.IsDBNull(1) ? null : r.GetString(1)));
            if (found is not [var message])
            {
                return ReceiptResult.MessageGone;
            }
            if (!string.Equals(message.Handle, receiptHandle, StringComparison.Ordinal))
            {
                return ReceiptResult.Stale;
            }
            apply(s, message.Seq);
            return ReceiptResult.Applied;
        }, ct);
    }

    private static long? QueueId(Session s, Scope scope, string name) =>
        s.Command(QueueIdSql).WithQueueName(scope, name).ExecuteScalar() is long id ? id : null;

    private static QueueRecord ReadQueue(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return new QueueRecord
        {
            Scope = new Scope(row.Text(), row.Text()),
            Name = row.Text(),
            Attributes = new QueueAttributes
            {
                VisibilityTimeout = TimeSpan.FromTicks(row.Int64()),
                MessageRetentionPeriod = TimeSpan.FromTicks(row.Int64()),
                ReceiveMessageWaitTime = TimeSpan.FromTicks(row.Int64()),
                Delay = TimeSpan.FromTicks(row.Int64()),
                MaximumMessageSize = row.Int32(),
            },
            CreatedAt = row.Time(),
        };
    }

    private static QueueMessage ReadMessage(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return new QueueMessage
        {
            Id = row.Text(),
            Body = row.Text(),
            Md5 = row.Text(),
            SentAt = row.Time(),
            VisibleAt = row.Time(),
            ExpiresAt = row.Time(),
            ReceiveCount = row.Int32(),
            FirstReceivedAt = row.TimeOrNull(),
            ReceiptHandle = row.TextOrNull(),
        };
    }
}

/// <summary>Parameters named after the columns of queues.</summary>
file static class QueueParameters
{
    public static SqliteCommand WithQueueName(this SqliteCommand c, Scope scope, string name) => c
        .With("@tenant", scope.Tenant).With("@location", scope.Location).With("@name", name);

    public static SqliteCommand WithQueue(this SqliteCommand c, QueueRecord q) => c
        .WithQueueName(q.Scope, q.Name)
        .With("@visibility_timeout", q.Attributes.VisibilityTimeout.Ticks).With("@retention", q.Attributes.MessageRetentionPeriod.Ticks)
        .With("@receive_wait", q.Attributes.ReceiveMessageWaitTime.Ticks).With("@delay", q.Attributes.Delay.Ticks)
        .With("@max_message_size", q.Attributes.MaximumMessageSize).With("@created_at", Db.Ticks(q.CreatedAt));
}
