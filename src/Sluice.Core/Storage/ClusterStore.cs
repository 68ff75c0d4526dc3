using System.Text.Json.Nodes;
using System.Threading.Channels;
using Sluice.Core.Domain;

namespace Sluice.Core.Storage;

/// <summary>A server process that shares the store: its lease is the lease of every run and operation it owns.</summary>
public sealed record NodeRecord
{
    /// <summary>Drawn at every start: a restarted process is a new node.</summary>
    public required string Id { get; init; }
    /// <summary>The machine's name, for people.</summary>
    public required string Host { get; init; }
    /// <summary>Identifies one boot of one machine: processes on a host with the same id can be seen and signalled.</summary>
    public required string HostId { get; init; }
    /// <summary>Where the node keeps step directories; a node on the same host with the same directory can re-adopt its steps.</summary>
    public required string DataDirectory { get; init; }
    public required int Pid { get; init; }
    /// <summary>The process's start time (clock ticks since boot), so that a reused pid is not mistaken for it.</summary>
    public required long PidStartTime { get; init; }
    /// <summary>both, api or worker.</summary>
    public required string Role { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset HeartbeatAt { get; init; }
    /// <summary>The end of the node's lease: after it, another node may take over what it owns.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>The node ended cleanly (or was found dead): what it owned was released.</summary>
    public bool Left { get; init; }

    /// <summary>Whether a step directory of <paramref name="other"/> is one this node sees too (same boot, same data directory).</summary>
    public bool SharesStepsWith(NodeRecord other) =>
        HostId == other.HostId && string.Equals(DataDirectory, other.DataDirectory, StringComparison.Ordinal);
}

/// <summary>A request to a run's writer made on another node (a stop, a callback answer); durable before the writer is woken.</summary>
public sealed record RunRequest
{
    /// <summary>Assigned by the store.</summary>
    public long Id { get; init; }
    public required string RunId { get; init; }
    /// <summary>stop or callback.</summary>
    public required string Kind { get; init; }
    public required JsonObject Payload { get; init; }
    /// <summary>The node that waits for the answer.</summary>
    public required string From { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public JsonObject? Answer { get; init; }
    public DateTimeOffset? AnsweredAt { get; init; }

    /// <summary>A request's wake-up carries the request itself (when small), so that its owner acts without reading it
    /// back: "ID KIND RUN PAYLOAD".</summary>
    public string WakePayload()
    {
        var text = $"{Id.ToString(System.Globalization.CultureInfo.InvariantCulture)} {Kind} {RunId} {Payload.ToJsonString()}";
        return text.Length <= 4000 ? text : RunId;
    }

    /// <summary>The request a wake-up carries, if it carries one.</summary>
    public static RunRequest? FromWake(string? payload, DateTimeOffset now)
    {
        var parts = payload?.Split(' ', 4);
        if (parts is not [var id, var kind, var run, var json]
            || !long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(json) is JsonObject o ? new RunRequest { Id = n, Kind = kind, RunId = run, Payload = o, From = "", CreatedAt = now } : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

/// <summary>Events committed by any node, in an order every reader agrees on, from a cursor.</summary>
public sealed record EventFeed(IReadOnlyList<RunEvent> Events, string Cursor);

/// <summary>What a wake-up is about.</summary>
public enum WakeKind
{
    /// <summary>A run or operation may be waiting for an owner.</summary>
    Work,
    /// <summary>A request waits for a run this node owns.</summary>
    Request,
    /// <summary>A request this node made was answered; the payload is its id.</summary>
    Answer,
    /// <summary>New events were committed.</summary>
    Events,
    /// <summary>A queue changed (a message sent, made visible, deleted); the payload names it.</summary>
    Queue,
}

/// <summary>A wake-up from another node.</summary>
public sealed record ClusterWake(WakeKind Kind, string? Payload);

/// <summary>Wake-ups between nodes. Best effort: every receiver also polls, so a lost wake-up only costs time.</summary>
public interface IClusterBus : IAsyncDisposable
{
    /// <summary>Starts receiving the wake-ups meant for this node and for every node.</summary>
    Task StartAsync(string nodeId, CancellationToken ct);

    ChannelReader<ClusterWake> Wakes { get; }

    /// <summary>Wakes one node, or every node when <paramref name="nodeId"/> is null; never blocks, never throws.</summary>
    void Wake(string? nodeId, WakeKind kind, string? payload = null);
}

/// <summary>Nodes, leases and requests between nodes: what lets several servers share one store as one service.</summary>
/// <remarks>A run or operation is owned by at most one live node; its lease is its owner's. A node that misses its
/// renewals past <see cref="NodeRecord.ExpiresAt"/> loses everything it owns to whichever node claims it. Every write
/// of a run's writer is fenced by <see cref="RunChange.Owner"/>. The store takes every time from its caller.</remarks>
public interface IClusterStore
{
    /// <summary>True when other processes may share the store (PostgreSQL); false for an embedded store only this process uses.</summary>
    bool Shared { get; }

    IClusterBus Bus { get; }

    Task RegisterNodeAsync(NodeRecord node, CancellationToken ct);

    /// <summary>Extends a node's lease; false when the node is unknown or has left.</summary>
    Task<bool> RenewNodeAsync(string nodeId, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>Marks the node as left and releases every run and operation it owns, so others can take them at once.
    /// <paramref name="heartbeatAt"/>, when given, must still be the node's last heartbeat (a dead node is not revived).</summary>
    Task<bool> LeaveAsync(string nodeId, DateTimeOffset? heartbeatAt, CancellationToken ct);

    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct);

    /// <summary>Forgets nodes that left or expired before the time; returns how many.</summary>
    Task<int> PurgeNodesAsync(DateTimeOffset olderThan, CancellationToken ct);

    /// <summary>Takes up to <paramref name="max"/> unfinished runs that no live node owns (no owner, the owner left, or
    /// its lease ended before <paramref name="expiredBefore"/>), oldest first, skipping rows another claimer holds.</summary>
    Task<IReadOnlyList<string>> ClaimRunsAsync(string nodeId, DateTimeOffset expiredBefore, int max, CancellationToken ct);

    /// <summary>Takes one unfinished run if no live node owns it; true when this node owns it now (also when it did before).</summary>
    Task<bool> ClaimRunAsync(string runId, string nodeId, DateTimeOffset expiredBefore, CancellationToken ct);

    Task<string?> GetRunOwnerAsync(string runId, CancellationToken ct);

    /// <summary>Unfinished runs this node owns.</summary>
    Task<IReadOnlyList<string>> ListOwnedRunsAsync(string nodeId, CancellationToken ct);

    /// <summary>Takes up to <paramref name="max"/> unfinished operations no live node owns, oldest first.</summary>
    Task<IReadOnlyList<OperationRecord>> ClaimOperationsAsync(string nodeId, DateTimeOffset expiredBefore, int max, CancellationToken ct);

    /// <summary>Takes one unfinished operation if no live node owns it; true when this node owns it now.</summary>
    Task<bool> ClaimOperationAsync(string operationId, string nodeId, DateTimeOffset expiredBefore, CancellationToken ct);

    /// <summary>Stores a request and wakes the run's owner. Returns it with its id; null when there is no such run.</summary>
    Task<RunRequest?> AddRequestAsync(RunRequest request, CancellationToken ct);

    /// <summary>Unanswered requests for runs this node owns, oldest first.</summary>
    Task<IReadOnlyList<RunRequest>> PendingRequestsAsync(string nodeId, CancellationToken ct);

    /// <summary>Records the answer (once; false if it was answered or withdrawn) and wakes the node that asked.</summary>
    Task<bool> AnswerRequestAsync(long id, JsonObject answer, DateTimeOffset at, CancellationToken ct);

    Task<RunRequest?> GetRequestAsync(long id, CancellationToken ct);

    /// <summary>Deletes a request that is still unanswered; false when it was answered (or is gone).</summary>
    Task<bool> WithdrawRequestAsync(long id, CancellationToken ct);

    /// <summary>Deletes answered requests answered before the time.</summary>
    Task<int> PurgeRequestsAsync(DateTimeOffset olderThan, CancellationToken ct);

    /// <summary>Events after the cursor in the feed's order; a null cursor starts at the end (nothing yet).</summary>
    Task<EventFeed> ReadFeedAsync(string? cursor, int limit, CancellationToken ct);
}

/// <summary>A fenced write was refused: the run is owned by another node now.</summary>
public sealed class LeaseLostException(string message) : Exception(message);
