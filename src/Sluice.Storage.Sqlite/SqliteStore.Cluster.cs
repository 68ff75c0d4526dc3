using System.Globalization;
using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

public sealed partial class SqliteStore : IClusterStore
{
    private const string NodeColumns =
        "id, host, host_id, data_dir, pid, pid_start, role, started_at, heartbeat_at, expires_at, has_left";

    private const string RequestColumns = "id, run_id, kind, payload, from_node, created_at, answer, answered_at";

    private const string Unfinished = "state IN ('Queued', 'Running', 'Stopping')";

    /// <summary>No live node owns the row: no owner, the owner left, or its lease ended before @expired_before.</summary>
    private const string Unowned =
        "NOT EXISTS (SELECT 1 FROM nodes AS n WHERE n.id = owner AND n.has_left = 0 AND n.expires_at > @expired_before)";

    private readonly LocalClusterBus _bus = new();

    /// <summary>One process uses the file (a second server on it is not supported).</summary>
    public bool Shared => false;

    public IClusterBus Bus => _bus;

    public Task RegisterNodeAsync(NodeRecord node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(node);
        return WriteAsync(s => s.Command(Db.Insert("nodes", NodeColumns) + " ON CONFLICT (id) DO NOTHING")
            .With("@id", node.Id).With("@host", node.Host).With("@host_id", node.HostId).With("@data_dir", node.DataDirectory)
            .With("@pid", node.Pid).With("@pid_start", node.PidStartTime).With("@role", node.Role)
            .With("@started_at", Db.Ticks(node.StartedAt)).With("@heartbeat_at", Db.Ticks(node.HeartbeatAt))
            .With("@expires_at", Db.Ticks(node.ExpiresAt)).With("@has_left", node.Left)
            .ExecuteNonQuery() > 0 ? true : throw new AlreadyExistsException($"A node with id '{node.Id}' exists already."), ct);
    }

    public Task<bool> RenewNodeAsync(string nodeId, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken ct) =>
        WriteAsync(s => s.Command("UPDATE nodes SET heartbeat_at = @now, expires_at = @expires_at WHERE id = @id AND has_left = 0")
            .With("@id", nodeId).With("@now", Db.Ticks(now)).With("@expires_at", Db.Ticks(expiresAt)).ExecuteNonQuery() > 0, ct);

    public Task<bool> LeaveAsync(string nodeId, DateTimeOffset? heartbeatAt, CancellationToken ct) =>
        WriteAsync(s =>
        {
            var left = s.Command("UPDATE nodes SET has_left = 1 WHERE id = @id AND has_left = 0 AND (@heartbeat_at IS NULL OR heartbeat_at = @heartbeat_at)")
                .With("@id", nodeId).With("@heartbeat_at", Db.Ticks(heartbeatAt)).ExecuteNonQuery() > 0;
            if (left)
            {
                s.Command($"UPDATE runs SET owner = NULL WHERE owner = @id AND {Unfinished}").With("@id", nodeId).ExecuteNonQuery();
                s.Command("UPDATE operations SET owner = NULL WHERE owner = @id AND done = 0").With("@id", nodeId).ExecuteNonQuery();
            }
            return left;
        }, ct);

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct) =>
        await ReadAsync(s => s.Command($"SELECT {NodeColumns} FROM nodes ORDER BY started_at, id").ReadAll(ReadNode), ct);

    public Task<int> PurgeNodesAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(s => s.Command("DELETE FROM nodes WHERE expires_at < @older_than OR (has_left = 1 AND heartbeat_at < @older_than)")
            .With("@older_than", Db.Ticks(olderThan)).ExecuteNonQuery(), ct);

    public async Task<IReadOnlyList<string>> ClaimRunsAsync(string nodeId, DateTimeOffset expiredBefore, int max, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return await WriteAsync(s => s.Command($"""
                UPDATE runs SET owner = @node WHERE id IN (
                    SELECT id FROM runs
                    WHERE {Unfinished} AND (owner IS NULL OR owner <> @node) AND {Unowned}
                    ORDER BY created_at, id LIMIT @max)
                RETURNING id
                """)
            .With("@node", nodeId).With("@expired_before", Db.Ticks(expiredBefore)).With("@max", max)
            .ReadAll(r => r.GetString(0)), ct);
    }

    public Task<bool> ClaimRunAsync(string runId, string nodeId, DateTimeOffset expiredBefore, CancellationToken ct) =>
        WriteAsync(s =>
        {
            s.Command($"UPDATE runs SET owner = @node WHERE id = @id AND {Unfinished} AND (owner IS NULL OR owner <> @node) AND {Unowned}")
                .With("@id", runId).With("@node", nodeId).With("@expired_before", Db.Ticks(expiredBefore)).ExecuteNonQuery();
            return s.Command($"SELECT 1 FROM runs WHERE id = @id AND owner = @node AND {Unfinished}")
                .With("@id", runId).With("@node", nodeId).ExecuteScalar() is not null;
        }, ct);

    public Task<string?> GetRunOwnerAsync(string runId, CancellationToken ct) =>
        ReadAsync(s => s.Command("SELECT owner FROM runs WHERE id = @id").With("@id", runId).ExecuteScalar() as string, ct);

    public async Task<IReadOnlyList<string>> ListOwnedRunsAsync(string nodeId, CancellationToken ct) =>
        await ReadAsync(s => s.Command($"SELECT id FROM runs WHERE owner = @node AND {Unfinished} ORDER BY created_at, id")
            .With("@node", nodeId).ReadAll(r => r.GetString(0)), ct);

    public async Task<IReadOnlyList<OperationRecord>> ClaimOperationsAsync(string nodeId, DateTimeOffset expiredBefore, int max,
        CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return await WriteAsync(s => s.Command($"""
                UPDATE operations SET owner = @node WHERE id IN (
                    SELECT id FROM operations WHERE done = 0 AND (owner IS NULL OR owner <> @node) AND {Unowned}
                    ORDER BY created_at, id LIMIT @max)
                RETURNING {OperationColumns}
                """)
            .With("@node", nodeId).With("@expired_before", Db.Ticks(expiredBefore)).With("@max", max)
            .ReadAll(ReadOperation).OrderBy(o => o.CreatedAt).ThenBy(o => o.Id, StringComparer.Ordinal).ToList(), ct);
    }

    public Task<bool> ClaimOperationAsync(string operationId, string nodeId, DateTimeOffset expiredBefore, CancellationToken ct) =>
        WriteAsync(s =>
        {
            s.Command($"UPDATE operations SET owner = @node WHERE id = @id AND done = 0 AND (owner IS NULL OR owner <> @node) AND {Unowned}")
                .With("@id", operationId).With("@node", nodeId).With("@expired_before", Db.Ticks(expiredBefore)).ExecuteNonQuery();
            return s.Command("SELECT 1 FROM operations WHERE id = @id AND owner = @node AND done = 0")
                .With("@id", operationId).With("@node", nodeId).ExecuteScalar() is not null;
        }, ct);

    public async Task<RunRequest?> AddRequestAsync(RunRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (stored, owner) = await WriteAsync<(RunRequest?, string?)>(s =>
        {
            if (s.Command("""
                    INSERT INTO run_requests (run_id, kind, payload, from_node, created_at)
                    SELECT id, @kind, @payload, @from_node, @created_at FROM runs WHERE id = @run_id
                    RETURNING id
                    """)
                .With("@run_id", request.RunId).With("@kind", request.Kind).With("@payload", StoredValues.Json(request.Payload))
                .With("@from_node", request.From).With("@created_at", Db.Ticks(request.CreatedAt))
                .ExecuteScalar() is not long id)
            {
                return (null, null);
            }
            return (request with { Id = id }, s.Command("SELECT owner FROM runs WHERE id = @id").With("@id", request.RunId).ExecuteScalar() as string);
        }, ct);
        if (stored is not null && owner is not null)
        {
            _bus.Wake(owner, WakeKind.Request, stored.WakePayload());
        }
        return stored;
    }

    public async Task<IReadOnlyList<RunRequest>> PendingRequestsAsync(string nodeId, CancellationToken ct) =>
        await ReadAsync(s => s.Command($"""
                SELECT {string.Join(", ", RequestColumns.Split(", ").Select(c => "q." + c))}
                FROM runs CROSS JOIN run_requests AS q ON q.run_id = runs.id AND q.answered_at IS NULL
                WHERE runs.owner = @node AND runs.{Unfinished}
                ORDER BY q.id
                """)
            .With("@node", nodeId).ReadAll(ReadRequest), ct);

    public async Task<bool> AnswerRequestAsync(long id, System.Text.Json.Nodes.JsonObject answer, DateTimeOffset at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var from = await WriteAsync(s => s.Command(
                "UPDATE run_requests SET answer = @answer, answered_at = @at WHERE id = @id AND answered_at IS NULL RETURNING from_node")
            .With("@id", id).With("@answer", StoredValues.Json(answer)).With("@at", Db.Ticks(at)).ExecuteScalar() as string, ct);
        if (from is not null)
        {
            _bus.Wake(from, WakeKind.Answer, id.ToString(CultureInfo.InvariantCulture));
        }
        return from is not null;
    }

    public Task<RunRequest?> GetRequestAsync(long id, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {RequestColumns} FROM run_requests WHERE id = @id").With("@id", id).ReadOne(ReadRequest), ct);

    public Task<bool> WithdrawRequestAsync(long id, CancellationToken ct) =>
        WriteAsync(s => s.Command("DELETE FROM run_requests WHERE id = @id AND answered_at IS NULL").With("@id", id).ExecuteNonQuery() > 0, ct);

    public Task<int> PurgeRequestsAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(s => s.Command("DELETE FROM run_requests WHERE answered_at IS NOT NULL AND answered_at < @older_than")
            .With("@older_than", Db.Ticks(olderThan)).ExecuteNonQuery(), ct);

    /// <summary>One writer assigns every sequence number in commit order, so the feed is the events in seq order.</summary>
    public async Task<EventFeed> ReadFeedAsync(string? cursor, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        long after;
        if (cursor is null)
        {
            after = await ReadAsync(s => (long)s.Command("SELECT coalesce(max(seq), 0) FROM events").ExecuteScalar()!, ct);
            return new EventFeed([], after.ToString(CultureInfo.InvariantCulture));
        }
        if (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            throw new ArgumentException("The feed cursor is malformed.", nameof(cursor));
        }
        var events = await GetEventsAsync(null, after, limit, ct);
        return new EventFeed(events, (events.Count > 0 ? events[^1].Seq : after).ToString(CultureInfo.InvariantCulture));
    }

    private static NodeRecord ReadNode(SqliteDataReader reader)
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

    private static RunRequest ReadRequest(SqliteDataReader reader)
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
