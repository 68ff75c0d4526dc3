using Npgsql;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresStore
{
    private const string QueueColumns =
        "tenant, location, name, visibility_timeout, retention, receive_wait, delay, max_message_size, created_at";

    private const string MessageColumns =
        "id, body, md5, sent_at, visible_at, expires_at, receive_count, first_received_at, receipt_handle";

    private const string QueuesPage = "queues";

    private const string QueueIdSql = "SELECT id FROM queues WHERE tenant = @tenant AND location = @location AND name = @name";

    private static readonly string InsertQueueSql = Pg.Insert("queues", QueueColumns) + " ON CONFLICT (tenant, location, name) DO NOTHING";

    public Task<(QueueRecord Queue, bool Created)> CreateQueueAsync(QueueRecord queue, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return WriteAsync(async s =>
        {
            if (await s.ExecuteAsync(InsertQueueSql, c => c.WithQueue(queue), ct) > 0)
            {
                return (queue, true);
            }
            var existing = (await s.OneAsync($"SELECT {QueueColumns} FROM queues WHERE tenant = @tenant AND location = @location AND name = @name",
                c => c.WithQueueName(queue.Scope, queue.Name), ReadQueue, ct))!;
            return existing.Attributes == queue.Attributes
                ? (existing, false)
                : throw new AlreadyExistsException(
                    $"A queue named '{queue.Name}' exists already in {queue.Scope.Tenant}/{queue.Scope.Location} with other attributes.");
        }, ct);
    }

    public Task<QueueRecord?> GetQueueAsync(Scope scope, string name, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {QueueColumns} FROM queues WHERE tenant = @tenant AND location = @location AND name = @name",
            c => c.WithQueueName(scope, name), ReadQueue, ct), ct);

    public async Task<Page<QueueRecord>> ListQueuesAsync(Scope scope, string? prefix, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter()
            .Where("tenant = @tenant AND location = @location", c => c.Text("tenant", scope.Tenant).Text("location", scope.Location))
            .Bind(c => c.Int32("limit", pageSize + 1));
        if (!string.IsNullOrEmpty(prefix))
        {
            // A range, so the (tenant, location, name) index finds the first match; names compare in byte order (C).
            filter.Where("name >= @prefix AND name < @prefix_end", c => c.Text("prefix", prefix).Text("prefix_end", prefix + "\U0010FFFF"));
        }
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (name, _) = PageToken.Decode(QueuesPage, pageToken);
            filter.Where("name > @cursor_key", c => c.Text("cursor_key", name));
        }
        var sql = $"SELECT {QueueColumns}, id FROM queues{filter.Clause()} ORDER BY name LIMIT @limit";
        return await ReadAsync(async s =>
        {
            await using var c = filter.Apply(s.Command(sql));
            var rows = await c.ReadAllAsync(r => (Queue: ReadQueue(r), Id: r.GetInt64(9)), ct);
            var page = ToPage(rows, pageSize, q => PageToken.Encode(QueuesPage, q.Queue.Name, Invariant(q.Id)));
            return new Page<QueueRecord>([.. page.Items.Select(q => q.Queue)], page.NextPageToken);
        }, ct);
    }

    public Task<bool> DeleteQueueAsync(Scope scope, string name, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync("DELETE FROM queues WHERE tenant = @tenant AND location = @location AND name = @name",
            c => c.WithQueueName(scope, name), ct) > 0, ct);

    public Task<int?> PurgeQueueAsync(Scope scope, string name, CancellationToken ct) =>
        WriteAsync(async s => await QueueIdAsync(s, scope, name, ct) is { } id
            ? await s.ExecuteAsync("DELETE FROM queue_messages WHERE queue_id = @queue_id", c => c.Int64("queue_id", id), ct)
            : (int?)null, ct);

    public Task<bool> SendMessageAsync(Scope scope, string name, QueueMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        Require(Guid.TryParseExact(message.Id, "D", out _), nameof(message), "A message id is a GUID in its 36-character form.");
        Require(message.ReceiveCount == 0 && message.ReceiptHandle is null && message.FirstReceivedAt is null, nameof(message),
            "A new message has not been received.");
        return WriteAsync(async s =>
        {
            if (await QueueIdAsync(s, scope, name, ct) is not { } id)
            {
                return false;
            }
            var inserted = await s.ExecuteAsync("""
                    INSERT INTO queue_messages (queue_id, id, body, md5, sent_at, visible_at, expires_at)
                    VALUES (@queue_id, @id, @body, @md5, @sent_at, @visible_at, @expires_at)
                    ON CONFLICT (id) DO NOTHING
                    """, c => c
                .Int64("queue_id", id).Text("id", message.Id).Text("body", message.Body).Text("md5", message.Md5)
                .Time("sent_at", message.SentAt).Time("visible_at", message.VisibleAt).Time("expires_at", message.ExpiresAt), ct);
            return inserted > 0 ? true : throw new AlreadyExistsException($"A message with id '{message.Id}' exists already.");
        }, ct);
    }

    public Task<QueueReceive?> ReceiveMessagesAsync(Scope scope, string name, int max, DateTimeOffset now, DateTimeOffset invisibleUntil,
        CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        Require(invisibleUntil >= now, nameof(invisibleUntil), "A message cannot be hidden until before now.");
        return WriteAsync<QueueReceive?>(async s =>
        {
            if (await QueueIdAsync(s, scope, name, ct) is not { } id)
            {
                return null;
            }
            // SKIP LOCKED: receivers on other nodes take other messages instead of waiting for these rows.
            var taken = await s.AllAsync("""
                    SELECT seq, id FROM queue_messages
                    WHERE queue_id = @queue_id AND visible_at <= @now AND expires_at > @now
                    ORDER BY visible_at, seq LIMIT @max
                    FOR UPDATE SKIP LOCKED
                    """, c => c.Int64("queue_id", id).Time("now", now).Int32("max", max),
                r => (Seq: r.GetInt64(0), Id: r.GetString(1)), ct);
            if (taken.Count == 0)
            {
                var next = await s.ScalarAsync("""
                        SELECT visible_at FROM queue_messages
                        WHERE queue_id = @queue_id AND visible_at > @now AND expires_at > @now
                        ORDER BY visible_at LIMIT 1
                        """, c => c.Int64("queue_id", id).Time("now", now), ct);
                return new QueueReceive([], next is long ticks ? Pg.Time(ticks) : null);
            }
            var handles = taken.Select(t => QueueReceipts.New(t.Id)).ToArray();
            var updated = await s.AllAsync($"""
                    UPDATE queue_messages AS m
                    SET visible_at = @visible_at, receive_count = m.receive_count + 1,
                        first_received_at = coalesce(m.first_received_at, @now), receipt_handle = t.handle
                    FROM unnest(@seqs, @handles) AS t(seq, handle)
                    WHERE m.seq = t.seq
                    RETURNING m.seq, {Pg.Prefixed(MessageColumns, "m")}
                    """, c => c.Time("visible_at", invisibleUntil).Time("now", now)
                    .Int64Array("seqs", [.. taken.Select(t => t.Seq)]).TextArray("handles", handles),
                r => (Seq: r.GetInt64(0), Message: ReadMessage(r, 1)), ct);
            var bySeq = updated.ToDictionary(u => u.Seq, u => u.Message);
            return new QueueReceive([.. taken.Select(t => bySeq[t.Seq])], null);
        }, ct);
    }

    public Task<ReceiptResult> DeleteMessageAsync(Scope scope, string name, string receiptHandle, CancellationToken ct) =>
        OnLatestDelivery(scope, name, receiptHandle, (s, seq) =>
            s.ExecuteAsync("DELETE FROM queue_messages WHERE seq = @seq", c => c.Int64("seq", seq), ct), ct);

    public Task<ReceiptResult> ChangeVisibilityAsync(Scope scope, string name, string receiptHandle, DateTimeOffset visibleAt,
        CancellationToken ct) =>
        OnLatestDelivery(scope, name, receiptHandle, (s, seq) =>
            s.ExecuteAsync("UPDATE queue_messages SET visible_at = @visible_at WHERE seq = @seq",
                c => c.Int64("seq", seq).Time("visible_at", visibleAt), ct), ct);

    public Task<QueueCounts?> CountMessagesAsync(Scope scope, string name, DateTimeOffset now, CancellationToken ct) =>
        ReadAsync(async s => await QueueIdAsync(s, scope, name, ct) is { } id
            ? await s.OneAsync("""
                    SELECT count(*) FILTER (WHERE visible_at <= @now),
                           count(*) FILTER (WHERE visible_at > @now AND receive_count > 0),
                           count(*) FILTER (WHERE visible_at > @now AND receive_count = 0)
                    FROM queue_messages WHERE queue_id = @queue_id AND expires_at > @now
                    """, c => c.Int64("queue_id", id).Time("now", now),
                r => new QueueCounts(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)), ct)
            : null, ct);

    public Task<int> ExpireMessagesAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return WriteAsync(s => s.ExecuteAsync("""
                DELETE FROM queue_messages WHERE seq IN (
                    SELECT seq FROM queue_messages WHERE expires_at <= @now ORDER BY expires_at LIMIT @limit FOR UPDATE SKIP LOCKED)
                """, c => c.Time("now", now).Int32("limit", limit), ct), ct);
    }

    private Task<ReceiptResult> OnLatestDelivery(Scope scope, string name, string receiptHandle, Func<Session, long, Task<int>> apply,
        CancellationToken ct)
    {
        Require(QueueReceipts.TryParse(receiptHandle, out var messageId), nameof(receiptHandle), "The receipt handle is malformed.");
        return WriteAsync(async s =>
        {
            if (await QueueIdAsync(s, scope, name, ct) is not { } id)
            {
                return ReceiptResult.QueueGone;
            }
            // FOR UPDATE: a receive on another node cannot hand out a new handle between this check and the change.
            var found = await s.AllAsync("SELECT seq, receipt_handle FROM queue_messages WHERE id = @id AND queue_id = @queue_id FOR UPDATE",
                c => c.Text("id", messageId).Int64("queue_id", id),
                r => (Seq: r.GetInt64(0), Handle: r.IsDBNull(1) ? null : r.GetString(1)), ct);
            if (found is not [var message])
            {
                return ReceiptResult.MessageGone;
            }
            if (!string.Equals(message.Handle, receiptHandle, StringComparison.Ordinal))
            {
                return ReceiptResult.Stale;
            }
            await apply(s, message.Seq);
            return ReceiptResult.Applied;
        }, ct);
    }

    private static async Task<long?> QueueIdAsync(Session s, Scope scope, string name, CancellationToken ct) =>
        await s.ScalarAsync(QueueIdSql, c => c.WithQueueName(scope, name), ct) is long id ? id : null;

    private static QueueRecord ReadQueue(NpgsqlDataReader reader)
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

    private static QueueMessage ReadMessage(NpgsqlDataReader reader, int first)
    {
        var i = first;
        string? TextOrNull(int k) => reader.IsDBNull(k) ? null : reader.GetString(k);
        return new QueueMessage
        {
            Id = reader.GetString(i++),
            Body = reader.GetString(i++),
            Md5 = reader.GetString(i++),
            SentAt = Pg.Time(reader.GetInt64(i++)),
            VisibleAt = Pg.Time(reader.GetInt64(i++)),
            ExpiresAt = Pg.Time(reader.GetInt64(i++)),
            ReceiveCount = reader.GetInt32(i++),
            FirstReceivedAt = reader.IsDBNull(i) ? null : Pg.Time(reader.GetInt64(i)),
            ReceiptHandle = TextOrNull(i + 1),
        };
    }
}

/// <summary>Parameters named after the columns of queues.</summary>
file static class QueueParameters
{
    public static NpgsqlCommand WithQueueName(this NpgsqlCommand c, Scope scope, string name) => c
        .Text("tenant", scope.Tenant).Text("location", scope.Location).Text("name", name);

    public static NpgsqlCommand WithQueue(this NpgsqlCommand c, QueueRecord q) => c
        .WithQueueName(q.Scope, q.Name)
        .Int64("visibility_timeout", q.Attributes.VisibilityTimeout.Ticks).Int64("retention", q.Attributes.MessageRetentionPeriod.Ticks)
        .Int64("receive_wait", q.Attributes.ReceiveMessageWaitTime.Ticks).Int64("delay", q.Attributes.Delay.Ticks)
        .Int32("max_message_size", q.Attributes.MaximumMessageSize).Time("created_at", q.CreatedAt);
}
