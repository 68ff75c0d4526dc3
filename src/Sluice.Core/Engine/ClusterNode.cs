using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Core.Engine;

/// <summary>This process as one node of the service: its lease, the runs and operations it claims, the requests it answers
/// for its runs and forwards for others', and the events of other nodes it republishes here.</summary>
/// <remarks>An embedded store has one node, which claims everything; the code path is the same. See docs/deployment.md.</remarks>
public sealed partial class ClusterNode : IAsyncDisposable
{
    private const int ClaimBatch = 64;
    private static readonly TimeSpan AnswerPoll = TimeSpan.FromMilliseconds(250);

    private readonly RunEngine engine;
    private readonly IClusterStore store;
    private readonly NodeIdentity identity;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource> waiters = new();
    private readonly ConcurrentDictionary<long, byte> earlyAnswers = new();
    private readonly ConcurrentDictionary<long, byte> handling = new();
    private readonly List<Task> loops = [];
    private readonly Pump claims;
    private readonly Pump requests;
    private readonly Pump feed;
    private Dictionary<string, NodeRecord> nodes = new(StringComparer.Ordinal);
    private string? feedCursor;
    private DateTimeOffset connectedSince;
    private bool renewFailed;
    private int started;

    internal ClusterNode(RunEngine engine, IClusterStore store, NodeIdentity identity, ILogger logger)
    {
        this.engine = engine;
        this.store = store;
        this.identity = identity;
        this.logger = logger;
        Id = "n" + Ids.New(11);
        var poll = engine.Options.PollInterval;
        claims = new Pump(ClaimAsync, poll, engine.Time, logger, "claim");
        requests = new Pump(AnswerRequestsAsync, poll, engine.Time, logger, "requests");
        feed = new Pump(ReadFeedAsync, poll, engine.Time, logger, "feed");
    }

    /// <summary>Drawn at every start.</summary>
    public string Id { get; }

    public NodeRecord Self { get; private set; } = null!;

    public IClusterStore Store => store;

    /// <summary>Called when another node changed a queue, to wake the receives waiting on it here.</summary>
    public Action<Scope, string>? QueueChanged { get; set; }

    /// <summary>Tells the other nodes that a queue changed (their waiting receives look again).</summary>
    public void WakeQueue(Scope scope, string name)
    {
        if (store.Shared)
        {
            store.Bus.Wake(null, WakeKind.Queue, System.Text.Json.JsonSerializer.Serialize([scope.Tenant, scope.Location, name], ClusterJson.Default.StringArray));
        }
    }

    /// <summary>Called with each unfinished operation this node takes over (after another node's lease ended).</summary>
    public Func<OperationRecord, CancellationToken, Task>? OperationClaimed { get; set; }

    private EngineOptions Options => engine.Options;

    private TimeProvider Time => engine.Time;

    /// <summary>Runs of nodes whose lease ended before this may be taken; only once this node has itself been connected for a
    /// whole lease, so that after an outage of the store every node gets to renew before anyone takes over.</summary>
    internal DateTimeOffset ExpiredBefore
    {
        get
        {
            var now = Time.GetUtcNow();
            return !renewFailed && now - connectedSince >= Options.LeaseDuration ? now : DateTimeOffset.MinValue;
        }
    }

    internal async Task StartAsync(CancellationToken ct)
    {
        var now = Time.GetUtcNow();
        Self = new NodeRecord
        {
            Id = Id, Host = identity.Host, HostId = identity.HostId, DataDirectory = Path.GetFullPath(Options.DataDirectory),
            Pid = identity.Pid, PidStartTime = identity.PidStartTime, Role = Options.Role.ToString().ToLowerInvariant(), StartedAt = now,
            HeartbeatAt = now, ExpiresAt = now + Options.LeaseDuration,
        };
        await store.RegisterNodeAsync(Self, ct);
        connectedSince = now;
        await store.Bus.StartAsync(Id, ct);
        if (store.Shared)
        {
            feedCursor = (await store.ReadFeedAsync(null, 1, ct)).Cursor;
            engine.Hub.TrackLocal = true;
            engine.Hub.LocalPublished = () => store.Bus.Wake(null, WakeKind.Events);
        }
        started = 1;
        // The first claim happens before the API answers, so that a restarted node resumes its runs at once.
        await ClaimAsync(ct);
        var token = stopping.Token;
        loops.Add(Task.Run(() => WakesAsync(token), CancellationToken.None));
        loops.Add(Task.Run(() => HeartbeatAsync(token), CancellationToken.None));
        loops.Add(claims.RunAsync(token));
        if (Options.RunsSteps)
        {
            loops.Add(requests.RunAsync(token));
        }
        if (store.Shared)
        {
            loops.Add(feed.RunAsync(token));
        }
        Log.Started(logger, Id, Self.Host, Self.Role);
    }

    /// <summary>Takes a run for this node (when it runs steps): true when this node owns it now.</summary>
    internal Task<bool> ClaimRunAsync(string runId, CancellationToken ct) =>
        Options.RunsSteps ? store.ClaimRunAsync(runId, Id, ExpiredBefore, ct) : Task.FromResult(false);

    internal Task<bool> ClaimOperationAsync(string operationId, CancellationToken ct) =>
        store.ClaimOperationAsync(operationId, Id, ExpiredBefore, ct);

    /// <summary>Wakes the nodes that run steps: a run waits for an owner.</summary>
    internal void WakeWorkers() => store.Bus.Wake(null, WakeKind.Work);

    /// <summary>The node record of an id, as of the last look (null when unknown).</summary>
    internal async Task<NodeRecord?> NodeAsync(string id, CancellationToken ct)
    {
        if (!nodes.TryGetValue(id, out var n))
        {
            nodes = (await store.ListNodesAsync(ct)).ToDictionary(x => x.Id, StringComparer.Ordinal);
            nodes.TryGetValue(id, out n);
        }
        return n;
    }

    /// <summary>Files a request with the run's owner and waits for its answer; Unavailable when none comes in time.</summary>
    internal async Task<JsonObject> ForwardAsync(string runId, string kind, JsonObject payload, CancellationToken ct)
    {
        var request = await store.AddRequestAsync(new RunRequest
        {
            RunId = runId, Kind = kind, Payload = payload, From = Id, CreatedAt = Time.GetUtcNow(),
        }, ct) ?? throw SluiceException.NotFound($"run {runId} not found");
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiters[request.Id] = woken;
        if (earlyAnswers.TryRemove(request.Id, out _))
        {
            woken.TrySetResult();
        }
        try
        {
            var deadline = Time.GetUtcNow() + Options.RequestTimeout;
            while (true)
            {
                var left = deadline - Time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    break;
                }
                await Task.WhenAny(woken.Task, Task.Delay(left < AnswerPoll ? left : AnswerPoll, Time, ct));
                ct.ThrowIfCancellationRequested();
                var current = await store.GetRequestAsync(request.Id, ct);
                if (current?.Answer is { } answer)
                {
                    return answer;
                }
                if (current is null)
                {
                    throw SluiceException.NotFound($"run {runId} not found");
                }
            }
            if (await store.WithdrawRequestAsync(request.Id, CancellationToken.None))
            {
                throw new SluiceException(ErrorKind.Unavailable, $"no node took the request for run {runId} in time; try again");
            }
            return (await store.GetRequestAsync(request.Id, CancellationToken.None))?.Answer
                ?? throw new SluiceException(ErrorKind.Unavailable, $"the request for run {runId} was lost; try again");
        }
        finally
        {
            waiters.TryRemove(request.Id, out _);
        }
    }

    private async Task WakesAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var wake in store.Bus.Wakes.ReadAllAsync(ct))
            {
                switch (wake.Kind)
                {
                    case WakeKind.Work:
                        claims.Trigger();
                        break;
                    case WakeKind.Request:
                        // The wake-up carries the request: act on it now (a stop's latency is this path's).
                        if (Options.RunsSteps && RunRequest.FromWake(wake.Payload, Time.GetUtcNow()) is { } r && handling.TryAdd(r.Id, 0))
                        {
                            _ = Task.Run(() => AnswerAsync(r, ct), CancellationToken.None);
                        }
                        else
                        {
                            requests.Trigger();
                        }
                        break;
                    case WakeKind.Events:
                        feed.Trigger();
                        break;
                    case WakeKind.Queue when QueueChanged is { } changed && wake.Payload is { } q:
                        if (System.Text.Json.JsonSerializer.Deserialize(q, ClusterJson.Default.StringArray) is [var tenant, var location, var name])
                        {
                            changed(new Scope(tenant, location), name);
                        }
                        break;
                    case WakeKind.Answer when long.TryParse(wake.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var id):
                        if (waiters.TryGetValue(id, out var w))
                        {
                            w.TrySetResult();
                        }
                        else if (earlyAnswers.Count < 10_000)
                        {
                            earlyAnswers[id] = 0;
                        }
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var every = Options.LeaseDuration / 3;
        var lastPurge = DateTimeOffset.MinValue;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, Time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var now = Time.GetUtcNow();
            try
            {
                if (!await store.RenewNodeAsync(Id, now, now + Options.LeaseDuration, ct))
                {
                    // Declared gone: what it owned is others' now, and each of its writers finds out at its next commit.
                    Log.Evicted(logger, Id);
                }
                if (renewFailed)
                {
                    renewFailed = false;
                    connectedSince = now;
                    Log.Reconnected(logger, Id);
                    claims.Trigger();
                    requests.Trigger();
                }
                if (now - lastPurge > TimeSpan.FromHours(1))
                {
                    lastPurge = now;
                    await store.PurgeNodesAsync(now - TimeSpan.FromDays(7), ct);
                    await store.PurgeRequestsAsync(now - TimeSpan.FromHours(1), ct);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                if (!renewFailed)
                {
                    Log.RenewFailed(logger, Id, e);
                }
                renewFailed = true;
            }
        }
    }

    /// <summary>Finds nodes of this machine whose process is gone (they cannot renew: no need to wait for their lease),
    /// takes unowned runs and operations, and gives a writer to every run this node owns that has none.</summary>
    private async Task ClaimAsync(CancellationToken ct)
    {
        var listed = await store.ListNodesAsync(ct);
        nodes = listed.ToDictionary(n => n.Id, StringComparer.Ordinal);
        foreach (var n in listed.Where(n => !n.Left && n.Id != Id && n.HostId == Self.HostId && !NodeIdentity.IsAlive(n.Pid, n.PidStartTime)))
        {
            if (await store.LeaveAsync(n.Id, n.HeartbeatAt, ct))
            {
                Log.FoundDead(logger, n.Id, n.Pid);
            }
        }
        var expiredBefore = ExpiredBefore;
        if (OperationClaimed is { } onOperation)
        {
            foreach (var op in await store.ClaimOperationsAsync(Id, expiredBefore, ClaimBatch, ct))
            {
                Log.Adopted(logger, "operation", op.Id);
                await onOperation(op, ct);
            }
        }
        if (!Options.RunsSteps || engine.ShutdownToken.IsCancellationRequested)
        {
            return;
        }
        var claimed = await store.ClaimRunsAsync(Id, expiredBefore, ClaimBatch, ct);
        foreach (var id in claimed)
        {
            Log.Adopted(logger, "run", id);
            await engine.ResumeOwnedAsync(id, ct);
        }
        var before = Time.GetUtcNow();
        var owned = await store.ListOwnedRunsAsync(Id, ct);
        foreach (var id in owned)
        {
            await engine.ResumeOwnedAsync(id, ct);
        }
        await engine.DropUnownedAsync(owned.ToHashSet(StringComparer.Ordinal), before, ct);
        if (claimed.Count > 0)
        {
            // Requests may wait for the runs just taken over.
            requests.Trigger();
        }
        if (claimed.Count == ClaimBatch)
        {
            claims.Trigger();
        }
    }

    private async Task AnswerRequestsAsync(CancellationToken ct)
    {
        foreach (var r in await store.PendingRequestsAsync(Id, ct))
        {
            if (handling.TryAdd(r.Id, 0))
            {
                _ = Task.Run(() => AnswerAsync(r, ct), CancellationToken.None);
            }
        }
    }

    private async Task AnswerAsync(RunRequest r, CancellationToken ct)
    {
        try
        {
            if (await engine.HandleRequestAsync(r, ct) is { } answer)
            {
                await store.AnswerRequestAsync(r.Id, answer, Time.GetUtcNow(), ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Log.RequestFailed(logger, r.Id, r.RunId, e);
        }
        finally
        {
            handling.TryRemove(r.Id, out _);
        }
    }

    private async Task ReadFeedAsync(CancellationToken ct)
    {
        for (var more = true; more;)
        {
            var page = await store.ReadFeedAsync(feedCursor, 1000, ct);
            feedCursor = page.Cursor;
            engine.Hub.PublishRemote(page.Events);
            more = page.Events.Count == 1000;
        }
    }

    /// <summary>Stops the loops. The node's lease is left to run out rather than released: a restart on this machine finds
    /// its process gone and re-adopts at once, and nodes elsewhere (which cannot see its steps) wait for the lease.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref started, 2) != 1)
        {
            return;
        }
        await stopping.CancelAsync();
        try
        {
            await Task.WhenAll(loops);
        }
        catch (OperationCanceledException)
        {
        }
        stopping.Dispose();
    }

    /// <summary>Runs its work when triggered, and at least every interval; triggers during a run make one more run.</summary>
    private sealed class Pump(Func<CancellationToken, Task> work, TimeSpan interval, TimeProvider time, ILogger logger, string name)
    {
        private TaskCompletionSource signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool failing;

        public void Trigger() => Volatile.Read(ref signal).TrySetResult();

        public Task RunAsync(CancellationToken ct) => Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    var s = Volatile.Read(ref signal);
                    await Task.WhenAny(s.Task, Task.Delay(interval, time, ct));
                    ct.ThrowIfCancellationRequested();
                    Interlocked.Exchange(ref signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    await work(ct);
                    failing = false;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // The store may be away for a while: say so once, and keep trying at the interval.
                    if (!failing)
                    {
                        Log.PumpFailed(logger, name, e);
                    }
                    failing = true;
                }
            }
        }, CancellationToken.None);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "node {NodeId} on {Host} joined as {Role}")]
        public static partial void Started(ILogger logger, string nodeId, string host, string role);

        [LoggerMessage(Level = LogLevel.Information, Message = "took over {What} {Id}")]
        public static partial void Adopted(ILogger logger, string what, string id);

        [LoggerMessage(Level = LogLevel.Information, Message = "node {NodeId} (pid {Pid}) on this machine is gone: its runs are free")]
        public static partial void FoundDead(ILogger logger, string nodeId, int pid);

        [LoggerMessage(Level = LogLevel.Warning, Message = "node {NodeId} could not renew its lease; retrying")]
        public static partial void RenewFailed(ILogger logger, string nodeId, Exception e);

        [LoggerMessage(Level = LogLevel.Information, Message = "node {NodeId} renewed its lease again")]
        public static partial void Reconnected(ILogger logger, string nodeId);

        [LoggerMessage(Level = LogLevel.Error, Message = "node {NodeId} is no longer registered: another node declared it gone")]
        public static partial void Evicted(ILogger logger, string nodeId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "request {RequestId} for run {RunId} failed")]
        public static partial void RequestFailed(ILogger logger, long requestId, string runId, Exception e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "cluster {What} loop failed; retrying")]
        public static partial void PumpFailed(ILogger logger, string what, Exception e);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class ClusterJson : System.Text.Json.Serialization.JsonSerializerContext;
