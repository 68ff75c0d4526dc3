using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresStore
{
    private const string NodeColumns =
        "id, host, host_id, data_dir, pid, pid_start, role, started_at, heartbeat_at, expires_at, has_left";

    private const string RequestColumns = "id, run_id, kind, payload, from_node, created_at, answer, answered_at";

    private const string Unfinished = "state IN ('Queued', 'Running', 'Stopping')";

    /// <summary>No live node owns the row: no owner, the owner left, or its lease ended before @expired_before.</summary>
    private const string Unowned =
        "NOT EXISTS (SELECT 1 FROM nodes AS n WHERE n.id = t.owner AND NOT n.has_left AND n.expires_at > @expired_before)";

    public bool Shared => true;

    public IClusterBus Bus => _bus;

    public Task RegisterNodeAsync(NodeRecord node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(node);
        return WriteAsync(async s => await s.ExecuteAsync(Pg.Insert("nodes", NodeColumns) + " ON CONFLICT (id) DO NOTHING", c => c
                .Text("id", node.Id).Text("host", node.Host).Text("host_id", node.HostId).Text("data_dir", node.DataDirectory)
                .Int32("pid", node.Pid).Int64("pid_start", node.PidStartTime).Text("role", node.Role)
                .Time("started_at", node.StartedAt).Time("heartbeat_at", node.HeartbeatAt).Time("expires_at", node.ExpiresAt)
                .Bool("has_left", node.Left), ct) > 0
            ? true
            : throw new AlreadyExistsException($"A node with id '{node.Id}' exists already."), ct);
    }

    public Task<bool> RenewNodeAsync(string nodeId, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync(
            "UPDATE nodes SET heartbeat_at = @now, expires_at = @expires_at WHERE id = @id AND NOT has_left",
            c => c.Text("id", nodeId).Time("now", now).Time("expires_at", expiresAt), ct) > 0, ct);

    public Task<bool> LeaveAsync(string nodeId, DateTimeOffset? heartbeatAt, CancellationToken ct) =>
        WriteAsync(async s =>
        {
            var left = await s.ExecuteAsync(
                "UPDATE nodes SET has_left = true WHERE id = @id AND NOT has_left AND (@heartbeat_at IS NULL OR heartbeat_at = @heartbeat_at)",
                c => c.Text("id", nodeId).Time("heartbeat_at", heartbeatAt), ct) > 0;
            if (left)
            {
                await s.ExecuteAsync($"UPDATE runs SET owner = NULL WHERE owner = @id AND {Unfinished}", c => c.Text("id", nodeId), ct);
                await s.ExecuteAsync("UPDATE operations SET owner = NULL WHERE owner = @id AND NOT done", c => c.Text("id", nodeId), ct);
                await s.ExecuteAsync("SELECT pg_notify(@channel, @payload)", c => c.Text("channel", PgBus.All).Text("payload", "work"), ct);
            }
            return left;
        }, ct);

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct) =>
        await ReadAsync(s => s.AllAsync($"SELECT {NodeColumns} FROM nodes ORDER BY started_at, id", null, ReadNode, ct), ct);

    public Task<int> PurgeNodesAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(s => s.ExecuteAsync("DELETE FROM nodes WHERE expires_at < @older_than OR (has_left AND heartbeat_at < @older_than)",
            c => c.Time("older_than", olderThan), ct), ct);

    public async Task<IReadOnlyList<string>> ClaimRunsAsync(string nodeId, DateTimeOffset expiredBefore, int max, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return await WriteAsync(async s =>
        {
            // SKIP LOCKED: nodes claiming at once take different runs, and a run whose writer is committing is left alone.
            var picked = await s.AllAsync($"""
                SELECT t.id FROM runs AS t
                WHERE t.{Unfinished} AND (t.owner IS NULL OR t.owner <> @node) AND {Unowned}
                ORDER BY t.created_at, t.id LIMIT @max
                FOR UPDATE SKIP LOCKED
                """, c => c.Text("node", nodeId).Time("expired_before", expiredBefore).Int32("max", max), r => r.GetString(0), ct);
            return await TakeLockedAsync(s, "runs", $"t.{Unfinished}", picked, nodeId, expiredBefore, ct);
        }, ct);
    }

    /// <summary>Sets the owner of rows this transaction has locked, checking again that no live node owns them.</summary>
    /// <remarks>The check is a statement of its own: when the lock met a row another claimer had just taken, PostgreSQL
    /// rechecked only that row against the snapshot's join with nodes (still no live owner) and kept it; a new statement
    /// sees the new owner. Without this, two nodes took the same run.</remarks>
    private static async Task<List<string>> TakeLockedAsync(Session s, string table, string unfinished, List<string> ids, string nodeId,
        DateTimeOffset expiredBefore, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return ids;
        }
        var taken = (await s.AllAsync($"""
            UPDATE {table} AS t SET owner = @node
            WHERE t.id = ANY(@ids) AND {unfinished} AND (t.owner IS NULL OR t.owner <> @node) AND {Unowned}
            RETURNING t.id
            """, c => c.TextArray("ids", [.. ids]).Text("node", nodeId).Time("expired_before", expiredBefore), r => r.GetString(0), ct))
            .ToHashSet(StringComparer.Ordinal);
        return [.. ids.Where(taken.Contains)];
    }

    public Task<bool> ClaimRunAsync(string runId, string nodeId, DateTimeOffset expiredBefore, CancellationToken ct) =>
        WriteAsync(async s =>
        {
            // Lock first (waiting for a concurrent claimer), then check in a statement that sees what it committed.
            var locked = await s.AllAsync($"SELECT id FROM runs WHERE id = @id AND {Unfinished} FOR UPDATE", c => c.Text("id", runId), r => r.GetString(0), ct);
            await TakeLockedAsync(s, "runs", $"t.{Unfinished}", locked, nodeId, expiredBefore, ct);
            return await s.ScalarAsync($"SELECT 1 FROM runs WHERE id = @id AND owner = @node AND {Unfinished}",
                c => c.Text("id", runId).Text("node", nodeId), ct) is not null;
        }, ct);

    public Task<string?> GetRunOwnerAsync(string runId, CancellationToken ct) =>
        ReadAsync(async s => await s.ScalarAsync("SELECT owner FROM runs WHERE id = @id", c => c.Text("id", runId), ct) as string, ct);

    public async Task<IReadOnlyList<string>> ListOwnedRunsAsync(string nodeId, CancellationToken ct) =>
        await ReadAsync(s => s.AllAsync($"SELECT id FROM runs WHERE owner = @node AND {Unfinished} ORDER BY created_at, id",
            c => c.Text("node", nodeId), r => r.GetString(0), ct), ct);

    public async Task<IReadOnlyList<OperationRecord>> ClaimOperationsAsync(string nodeId, DateTimeOffset expiredBefore, int max,
        CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var ops = await WriteAsync(async s =>
        {
            var picked = await s.AllAsync($"""
                SELECT t.id FROM operations AS t WHERE NOT t.done AND (t.owner IS NULL OR t.owner <> @node) AND {Unowned}
                ORDER BY t.created_at, t.id LIMIT @max
                FOR UPDATE SKIP LOCKED
                """, c => c.Text("node", nodeId).Time("expired_before", expiredBefore).Int32("max", max), r => r.GetString(0), ct);
            var taken = await TakeLockedAsync(s, "operations", "NOT t.done", picked, nodeId, expiredBefore, ct);
            return taken.Count == 0 ? [] : await s.AllAsync($"SELECT {OperationColumns} FROM operations WHERE id = ANY(@ids)",
                c => c.TextArray("ids", [.. taken]), ReadOperation, ct);
        }, ct);
        return [.. ops.OrderBy(o => o.CreatedAt).ThenBy(o => o.Id, StringComparer.Ordinal)];
    }

    public Task<bool> ClaimOperationAsync(string operationId, string nodeId, DateTimeOffset expiredBefore, CancellationToken ct) =>
        WriteAsync(async s =>
        {
            var locked = await s.AllAsync("SELECT id FROM operations WHERE id = @id AND NOT done FOR UPDATE", c => c.Text("id", operationId),
                r => r.GetString(0), ct);
            await TakeLockedAsync(s, "operations", "NOT t.done", locked, nodeId, expiredBefore, ct);
            return await s.ScalarAsync("SELECT 1 FROM operations WHERE id = @id AND owner = @node AND NOT done",
                c => c.Text("id", operationId).Text("node", nodeId), ct) is not null;
        }, ct);

    public Task<RunRequest?> AddRequestAsync(RunRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The notification is sent when the transaction commits: the owner is never woken for a request it cannot read.
        return WriteAsync<RunRequest?>(async s =>
        {
            var rows = await s.AllAsync("""
                    WITH r AS (SELECT id, owner FROM runs WHERE id = @run_id),
                         q AS (INSERT INTO run_requests (run_id, kind, payload, from_node, created_at)
                               SELECT id, @kind, @payload, @from_node, @created_at FROM r RETURNING id)
                    SELECT q.id, r.owner FROM q, r
                    """, c => c
                .Text("run_id", request.RunId).Text("kind", request.Kind).Text("payload", StoredValues.Json(request.Payload))
                .Text("from_node", request.From).Time("created_at", request.CreatedAt),
                r => (Id: r.GetInt64(0), Owner: r.IsDBNull(1) ? null : r.GetString(1)), ct);
            if (rows is not [var row])
            {
                return null;
            }
            var stored = request with { Id = row.Id };
            await s.ExecuteAsync("SELECT pg_notify(@channel, @payload)", c => c
                .Text("channel", row.Owner is null ? PgBus.All : PgBus.Channel(row.Owner))
                .Text("payload", row.Owner is null ? "work" : "request " + stored.WakePayload()), ct);
            return stored;
        }, ct);
    }

    public async Task<IReadOnlyList<RunRequest>> PendingRequestsAsync(string nodeId, CancellationToken ct) =>
        await ReadAsync(s => s.AllAsync($"""
                SELECT {Pg.Prefixed(RequestColumns, "q")}
                FROM runs AS t JOIN run_requests AS q ON q.run_id = t.id AND q.answered_at IS NULL
                WHERE t.owner = @node AND t.{Unfinished}
                ORDER BY q.id
                """, c => c.Text("node", nodeId), ReadRequest, ct), ct);

    public Task<bool> AnswerRequestAsync(long id, JsonObject answer, DateTimeOffset at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(answer);
        return WriteAsync(async s =>
        {
            var from = await s.ScalarAsync(
                "UPDATE run_requests SET answer = @answer, answered_at = @at WHERE id = @id AND answered_at IS NULL RETURNING from_node",
                c => c.Int64("id", id).Text("answer", StoredValues.Json(answer)).Time("at", at), ct) as string;
            if (from is null)
            {
                return false;
            }
            await s.ExecuteAsync("SELECT pg_notify(@channel, @payload)",
                c => c.Text("channel", PgBus.Channel(from)).Text("payload", "answer " + Invariant(id)), ct);
            return true;
        }, ct);
    }

    public Task<RunRequest?> GetRequestAsync(long id, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {RequestColumns} FROM run_requests WHERE id = @id", c => c.Int64("id", id), ReadRequest, ct), ct);

    public Task<bool> WithdrawRequestAsync(long id, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync("DELETE FROM run_requests WHERE id = @id AND answered_at IS NULL",
            c => c.Int64("id", id), ct) > 0, ct);

    public Task<int> PurgeRequestsAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(s => s.ExecuteAsync("DELETE FROM run_requests WHERE answered_at IS NOT NULL AND answered_at < @older_than",
            c => c.Time("older_than", olderThan), ct), ct);

    /// <summary>The cursor is (transaction id, seq). Only events of transactions older than every transaction still running
    /// are read, in (tx, seq) order: a transaction that drew its sequence numbers early but commits late is read when it
    /// ends, never skipped (a plain seq cursor would jump over it).</summary>
    public async Task<EventFeed> ReadFeedAsync(string? cursor, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (cursor is null)
        {
            var xmin = await ReadAsync(async s => (string)(await s.ScalarAsync("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", null, ct))!, ct);
            return new EventFeed([], xmin + ":0");
        }
        var parts = cursor.Split(':');
        if (parts is not [var tx, var seqText] || !ulong.TryParse(tx, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            || !long.TryParse(seqText, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            throw new ArgumentException("The feed cursor is malformed.", nameof(cursor));
        }
        var rows = await ReadAsync(s => s.AllAsync($"""
                SELECT tx::text, seq, {EventColumns} FROM events
                WHERE (tx, seq) > (@tx::xid8, @seq) AND tx < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY tx, seq LIMIT @limit
                """, c => c.Text("tx", tx).Int64("seq", seq).Int32("limit", limit),
            r => (Tx: r.GetString(0), Event: ReadFeedEvent(r)), ct), ct);
        return rows.Count == 0
            ? new EventFeed([], cursor)
            : new EventFeed([.. rows.Select(r => r.Event)], $"{rows[^1].Tx}:{Invariant(rows[^1].Event.Seq)}");
    }

    private static RunEvent ReadFeedEvent(NpgsqlDataReader reader) => new()
    {
        Seq = reader.GetInt64(1),
        RunId = reader.GetString(2),
        Step = reader.IsDBNull(3) ? null : reader.GetString(3),
        Kind = reader.GetString(4),
        From = reader.IsDBNull(5) ? null : reader.GetString(5),
        To = reader.IsDBNull(6) ? null : reader.GetString(6),
        At = Pg.Time(reader.GetInt64(7)),
        Message = reader.IsDBNull(8) ? null : reader.GetString(8),
        Caller = reader.IsDBNull(9) ? null : reader.GetString(9),
        Data = reader.IsDBNull(10) ? null : StoredValues.ParseObject(reader.GetString(10)),
    };

    private static NodeRecord ReadNode(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return new NodeRecord
        {
            Id = row.Text(),
            Host = row.Text(),
            HostId = row.Text(),
            DataDirectory = row.Text(),
            Pid = row.Int32(),
            PidStartTime = row.Int64(),
            Role = row.Text(),
            StartedAt = row.Time(),
            HeartbeatAt = row.Time(),
            ExpiresAt = row.Time(),
            Left = row.Bool(),
        };
    }

    private static RunRequest ReadRequest(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return new RunRequest
        {
            Id = row.Int64(),
            RunId = row.Text(),
            Kind = row.Text(),
            Payload = row.Json(),
            From = row.Text(),
            CreatedAt = row.Time(),
            Answer = row.JsonOrNull(),
            AnsweredAt = row.TimeOrNull(),
        };
    }
}
