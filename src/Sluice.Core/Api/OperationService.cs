using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;

namespace Sluice.Core.Api;

/// <summary>Durable long-running operations; batch stop is done when every named run is terminal or reported as a failure.</summary>
public sealed class OperationService(RunEngine engine, RunService runs, IOperationStore store) : IAsyncDisposable
{
    public const int MaxBatch = 10_000;

    private readonly Lock gate = new();
    private readonly Dictionary<string, Tracked> tracked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> opsByRun = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private EventHub.Subscription? subscription;
    private Task? loop;
    private int disposed;

    private IOperationStore Store => store;

    /// <summary>Listens for terminal runs and resumes the operations a restart interrupted.</summary>
    public Task StartAsync(CancellationToken ct)
    {
        subscription = engine.Hub.Subscribe();
        loop = Task.Run(() => ListenAsync(subscription, stopping.Token), CancellationToken.None);
        // Unfinished operations are carried on by one node: the one that owns them, or one that takes them over when their
        // node is gone (this node's own from before a restart, at its first look).
        engine.Cluster.OperationClaimed = ResumeAsync;
        return Task.CompletedTask;
    }

    private async Task ResumeAsync(OperationRecord op, CancellationToken ct)
    {
        if (op.Kind == "batch-stop")
        {
            await ContinueBatchStopAsync(op, ct);
        }
    }

    public async Task<OperationRecord> BatchStopAsync(BatchStopRequest req, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Validation.Text(req.Reason, "reason", 1024, problems);
        if ((req.RunIds is null) == (req.Filter is null))
        {
            problems.Add(new Problem("", "give either runIds or a filter"));
        }
        if (req.RunIds is { } given && (given.Count is 0 or > MaxBatch || given.Any(id => !Validation.IsId(id))))
        {
            problems.Add(new Problem("runIds", $"1 to {MaxBatch} run ids"));
        }
        if (req.Grace is { } g && (g < TimeSpan.Zero || g > TimeSpan.FromHours(1)))
        {
            problems.Add(new Problem("grace", "must be between 0 and 3600 seconds"));
        }
        if (req.Filter?.Labels is { } labels)
        {
            Validation.Labels(labels, problems);
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var ids = req.RunIds?.Distinct(StringComparer.Ordinal).ToList() ?? await ResolveFilterAsync(req, ct);
        if (req.RequireAll)
        {
            foreach (var id in ids)
            {
                // Throws NotFound before anything is recorded or stopped.
                await runs.FindAsync(id, req.Scope, ct);
            }
        }
        var now = engine.Time.GetUtcNow();
        var op = new OperationRecord
        {
            Id = Ids.New(), Scope = req.Scope ?? Scope.Default, Kind = "batch-stop", Version = 1, CreatedAt = now, UpdatedAt = now,
            Done = ids.Count == 0, Face = req.Face,
            Request = new JsonObject
            {
                ["runIds"] = new JsonArray([.. ids.Select(i => (JsonNode?)i)]), ["reason"] = req.Reason, ["caller"] = req.Caller,
                ["grace"] = req.Grace?.TotalSeconds, ["scoped"] = req.Scope is not null,
            },
            Results = [],
        };
        // Durable first: a crash from here on still carries out every stop on restart.
        await Store.CreateOperationAsync(op, ct);
        if (ids.Count == 0)
        {
            return op;
        }
        await engine.Cluster.ClaimOperationAsync(op.Id, ct);
        return await ContinueBatchStopAsync(op, ct);
    }

    private async Task<List<string>> ResolveFilterAsync(BatchStopRequest req, CancellationToken ct)
    {
        var f = req.Filter!;
        var states = f.States is { Count: > 0 } s ? s : [RunState.Queued, RunState.Running];
        var ids = new List<string>();
        string? token = null;
        do
        {
            var page = await runs.ListAsync(new RunQuery
            {
                Scope = req.Scope, PipelineName = f.Pipeline, States = states, Labels = f.Labels, PageSize = RunService.MaxPageSize, PageToken = token,
            }, ct);
            ids.AddRange(page.Items.Select(r => r.Id));
            token = page.NextPageToken;
        }
        while (token is not null && ids.Count < MaxBatch);
        return ids.Count > MaxBatch ? ids[..MaxBatch] : ids;
    }

    private async Task<OperationRecord> ContinueBatchStopAsync(OperationRecord op, CancellationToken ct)
    {
        var ids = op.Request["runIds"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        var scope = op.Request["scoped"]?.GetValue<bool>() == true ? op.Scope : (Scope?)null;
        var t = new Tracked(op);
        lock (gate)
        {
            tracked[op.Id] = t;
            foreach (var id in ids.Where(id => !op.Results.ContainsKey(id)))
            {
                t.Pending.Add(id);
                if (!opsByRun.TryGetValue(id, out var set))
                {
                    opsByRun[id] = set = new HashSet<string>(StringComparer.Ordinal);
                }
                set.Add(op.Id);
            }
        }
        var grace = op.Request["grace"]?.GetValue<double>() is { } secs ? TimeSpan.FromSeconds(secs) : (TimeSpan?)null;
        var pending = t.PendingSnapshot(gate);
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (id, c) =>
        {
            JsonObject? result = null;
            try
            {
                var answer = await runs.StopAsync(new StopRunRequest
                {
                    RunId = id, Scope = scope, Reason = op.Request["reason"]?.GetValue<string>(), Caller = op.Request["caller"]?.GetValue<string>(),
                    Grace = grace,
                }, c);
                if (answer.Run.State.IsTerminal())
                {
                    result = new JsonObject { ["state"] = answer.Run.State.ToString() };
                }
            }
            catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
            {
                var run = await engine.Store.GetRunAsync(id, c);
                result = run is null
                    ? Error(ErrorKind.NotFound, $"run {id} not found")
                    : new JsonObject { ["state"] = run.State.ToString(), ["note"] = "already finished" };
            }
            catch (SluiceException e)
            {
                result = Error(e.Kind, e.Message);
            }
            if (result is not null)
            {
                Settle(id, op.Id, result);
            }
        });
        return await FlushAsync(t, ct);
    }

    private static JsonObject Error(ErrorKind kind, string message) =>
        new() { ["error"] = new JsonObject { ["code"] = kind.ToString(), ["message"] = message } };

    private async Task ListenAsync(EventHub.Subscription sub, CancellationToken ct)
    {
        try
        {
            await foreach (var e in sub.Reader.ReadAllAsync(ct))
            {
                if (e.Step is null && e.To is { } to && Enum.TryParse<RunState>(to, out var state) && state.IsTerminal())
                {
                    List<Tracked> finished;
                    lock (gate)
                    {
                        finished = SettleLocked(e.RunId, null, new JsonObject { ["state"] = to });
                    }
                    foreach (var t in finished)
                    {
                        await FlushAsync(t, CancellationToken.None);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Settle(string runId, string opId, JsonObject result)
    {
        lock (gate)
        {
            SettleLocked(runId, opId, result);
        }
    }

    /// <summary>Records a run's result in the operations tracking it (one, or all when opId is null); returns those now complete.</summary>
    private List<Tracked> SettleLocked(string runId, string? opId, JsonObject result)
    {
        var done = new List<Tracked>();
        if (!opsByRun.TryGetValue(runId, out var ops))
        {
            return done;
        }
        foreach (var id in ops.ToList())
        {
            if ((opId is not null && id != opId) || !tracked.TryGetValue(id, out var t) || !t.Pending.Remove(runId))
            {
                continue;
            }
            t.Results[runId] = result.DeepClone();
            ops.Remove(id);
            if (t.Pending.Count == 0)
            {
                done.Add(t);
            }
        }
        if (ops.Count == 0)
        {
            opsByRun.Remove(runId);
        }
        return done;
    }

    /// <summary>Writes the operation's results; marks it done when nothing is pending. Serialised per operation.</summary>
    private async Task<OperationRecord> FlushAsync(Tracked t, CancellationToken ct)
    {
        await t.Writer.WaitAsync(ct);
        try
        {
            JsonObject results;
            bool done;
            lock (gate)
            {
                results = (JsonObject)t.Results.DeepClone();
                done = t.Pending.Count == 0;
                if (done)
                {
                    tracked.Remove(t.Op.Id);
                }
            }
            if (t.Op.Done || (JsonNode.DeepEquals(results, t.Op.Results) && !done))
            {
                return t.Op;
            }
            var next = t.Op with { Version = t.Op.Version + 1, UpdatedAt = engine.Time.GetUtcNow(), Results = results, Done = done };
            await Store.UpdateOperationAsync(next, t.Op.Version, ct);
            t.Op = next;
            return next;
        }
        finally
        {
            t.Writer.Release();
        }
    }

    public async Task<OperationRecord> GetAsync(string id, Scope? scope, CancellationToken ct)
    {
        var op = Validation.IsId(id) ? await Store.GetOperationAsync(id, ct) : null;
        return op is null || (scope is { } s && !s.Covers(op.Scope)) ? throw SluiceException.NotFound($"operation {Validation.Show(id)} not found") : op;
    }

    public async Task<Page<OperationRecord>> ListAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        if (pageSize is < 1 or > RunService.MaxPageSize)
        {
            throw SluiceException.Invalid($"pageSize must be between 1 and {RunService.MaxPageSize}");
        }
        try
        {
            return await Store.ListOperationsAsync(scope, pageSize, pageToken, ct);
        }
        catch (ArgumentException)
        {
            throw SluiceException.Invalid("pageToken is not valid");
        }
    }

    /// <summary>Most runs one delete operation takes.</summary>
    public const int MaxDelete = 1000;

    /// <summary>Deletes finished runs, all or none: every run must exist in the scope (else NotFound) and be finished (else
    /// FailedPrecondition) before any is deleted. Returns an operation that is done, whose results hold each run as it was.</summary>
    public async Task<OperationRecord> DeleteRunsAsync(DeleteRunsRequest req, CancellationToken ct)
    {
        var ids = req.RunIds.Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count is 0 or > MaxDelete || ids.Any(id => !Validation.IsId(id)))
        {
            throw SluiceException.Invalid($"give 1 to {MaxDelete} run ids");
        }
        var found = new List<RunRecord>();
        foreach (var id in ids)
        {
            var run = await runs.FindAsync(id, req.Scope, ct);
            if (!run.State.IsTerminal())
            {
                throw new SluiceException(ErrorKind.FailedPrecondition,
                    $"run {run.Id} is {run.State}; only finished runs can be deleted (stop it first), so nothing was deleted");
            }
            found.Add(run);
        }
        var results = new JsonObject();
        foreach (var run in found)
        {
            try
            {
                await runs.DeleteAsync(run.Id, req.Scope, ct);
            }
            catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
            {
                // Deleted by someone else meanwhile: it is gone all the same.
            }
            results[run.Id] = Summary(run);
        }
        return await RecordDoneAsync(req.Scope ?? Scope.Default, "delete-runs",
            new JsonObject { ["runIds"] = new JsonArray([.. ids.Select(i => (JsonNode?)i)]), ["caller"] = req.Caller, ["batch"] = req.Batch }, results,
            req.Face, ct);
    }

    /// <summary>A run's identity and end state, kept in an operation's results after the run itself is gone.</summary>
    public static JsonObject Summary(RunRecord r) => new()
    {
        ["id"] = r.Id, ["state"] = r.State.ToString(), ["pipeline"] = r.PipelineName, ["displayName"] = r.DisplayName,
        ["createdAt"] = r.CreatedAt.ToString("O"), ["startedAt"] = r.StartedAt?.ToString("O"), ["endedAt"] = r.EndedAt?.ToString("O"),
        ["updatedAt"] = r.UpdatedAt.ToString("O"), ["error"] = r.Error, ["face"] = r.Face,
        ["labels"] = new JsonObject(r.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };

    /// <summary>Waits until the operation is done or <paramref name="timeout"/> passed; returns it as it is then.</summary>
    public async Task<OperationRecord> WaitAsync(string id, Scope? scope, TimeSpan timeout, CancellationToken ct)
    {
        var until = engine.Time.GetUtcNow() + timeout;
        while (true)
        {
            var op = await GetAsync(id, scope, ct);
            if (op.Done || engine.Time.GetUtcNow() >= until)
            {
                return op;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), engine.Time, ct);
        }
    }

    /// <summary>Forgets a finished operation; one still under way cannot be deleted.</summary>
    public async Task DeleteAsync(string id, Scope? scope, CancellationToken ct)
    {
        var op = await GetAsync(id, scope, ct);
        if (!op.Done)
        {
            throw new SluiceException(ErrorKind.FailedPrecondition, $"operation {op.Id} is not done yet and cannot be deleted");
        }
        if (!await Store.DeleteOperationAsync(op.Id, ct))
        {
            throw SluiceException.NotFound($"operation {Validation.Show(id)} not found");
        }
    }

    /// <summary>Operations that name a run, newest first: the scope's operations are read until <paramref name="pageSize"/>
    /// matches are found or all were seen.</summary>
    public async Task<Page<OperationRecord>> ListForRunAsync(Scope? scope, string runId, int pageSize, string? pageToken, CancellationToken ct)
    {
        var found = new List<OperationRecord>();
        var token = pageToken;
        var scanned = 0;
        do
        {
            var page = await ListAsync(scope, RunService.MaxPageSize, token, ct);
            token = page.NextPageToken;
            scanned += page.Items.Count;
            found.AddRange(page.Items.Where(o => o.Request["runIds"] is JsonArray a && a.Any(n => n?.GetValue<string>() == runId)));
        }
        while (token is not null && found.Count < pageSize && scanned < RunService.MaxScanned);
        // A run has few operations: every match of the pages read is returned (rather than dropping some to fit the size).
        return new Page<OperationRecord>(found, token);
    }

    /// <summary>Records an operation that is done at once (e.g. a face's delete answered as an operation).</summary>
    public async Task<OperationRecord> RecordDoneAsync(Scope scope, string kind, JsonObject request, JsonObject results, string face, CancellationToken ct)
    {
        var now = engine.Time.GetUtcNow();
        var op = new OperationRecord
        {
            Id = Ids.New(), Scope = scope, Kind = kind, Version = 1, CreatedAt = now, UpdatedAt = now, Done = true, Request = request,
            Results = results, Face = face,
        };
        await Store.CreateOperationAsync(op, ct);
        return op;
    }

    /// <summary>Stops listening; safe to call more than once (the host and the container both dispose it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        await stopping.CancelAsync();
        subscription?.Dispose();
        if (loop is not null)
        {
            await loop;
        }
        stopping.Dispose();
    }

    private sealed class Tracked(OperationRecord op)
    {
        public OperationRecord Op { get; set; } = op;

        public HashSet<string> Pending { get; } = new(StringComparer.Ordinal);

        public JsonObject Results { get; } = (JsonObject)op.Results.DeepClone();

        public SemaphoreSlim Writer { get; } = new(1, 1);

        public List<string> PendingSnapshot(Lock l)
        {
            lock (l)
            {
                return [.. Pending];
            }
        }
    }
}
