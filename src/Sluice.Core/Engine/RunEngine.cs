using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.Core.Storage;

namespace Sluice.Core.Engine;

/// <summary>Owns the active runs of this node: one actor (writer) per run, the slot pool, and resumption after a restart.</summary>
public sealed partial class RunEngine : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RunActor> actors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IStepExecutor> executors;
    private readonly CancellationTokenSource shutdown = new();
    private readonly Lock activation = new();
    private readonly ILogger logger;
    private ITimer? purgeTimer;

    public RunEngine(IRunStore store, IPipelineStore pipelines, DefinitionCompilers compilers, IEnumerable<IStepExecutor> executors,
        EngineOptions options, TimeProvider time, EventHub hub, ILogger<RunEngine>? logger = null, IClusterStore? cluster = null)
    {
        options.Validate();
        Store = store;
        Pipelines = pipelines;
        Compilers = compilers;
        this.executors = executors.ToDictionary(e => e.Kind, StringComparer.Ordinal);
        Options = options;
        Time = time;
        Hub = hub;
        Slots = new SlotPool(options.Slots);
        this.logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        Log = new EngineLog(this.logger);
        Cluster = new ClusterNode(this, cluster ?? store as IClusterStore
            ?? throw new ArgumentException("the run store is no cluster store: pass one", nameof(cluster)),
            new NodeIdentity(options.HostId), this.logger);
    }

    /// <summary>This process as a node: its id, lease and the requests between nodes.</summary>
    public ClusterNode Cluster { get; }

    public string NodeId => Cluster.Id;

    public IRunStore Store { get; }

    public IPipelineStore Pipelines { get; }

    public DefinitionCompilers Compilers { get; }

    public EngineOptions Options { get; }

    public TimeProvider Time { get; }

    public EventHub Hub { get; }

    public SlotPool Slots { get; }

    internal EngineLog Log { get; }

    internal CancellationToken ShutdownToken => shutdown.Token;

    /// <summary>Runs that have a writer on this node now.</summary>
    public int ActiveRuns => actors.Count;

    /// <summary>Resumes every run that was not terminal when the node last stopped.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        // Registers the node and claims every unfinished run no live node owns (after a restart: this node's own).
        await Cluster.StartAsync(ct);
        Log.Resumed(actors.Count);
        if (Options.RunsSteps)
        {
            _ = Task.Run(() => ReapOrphansAsync(shutdown.Token), CancellationToken.None);
        }
        // Idempotency answers are kept for the retention period, then forgotten (checked hourly).
        purgeTimer = Time.CreateTimer(_ => _ = PurgeAsync(), null, TimeSpan.Zero, TimeSpan.FromHours(1));
    }

    /// <summary>After the runs of this machine's previous node were resumed (here, or elsewhere while it was away), kills the
    /// step processes left in the data directory whose attempt is over: another node failed them as lost.</summary>
    private async Task ReapOrphansAsync(CancellationToken ct)
    {
        try
        {
            foreach (var reaper in executors.Values.OfType<IOrphanReaper>().Distinct())
            {
                var killed = await reaper.ReapOrphansAsync(Path.Combine(Options.DataDirectory, "runs"), async (runId, step, attempt) =>
                {
                    var s = (await Store.GetStepsAsync(runId, ct)).FirstOrDefault(x => x.Name == step);
                    return s is not null && s.Attempt == attempt && s.State.IsActive();
                }, ct);
                if (killed > 0)
                {
                    Log.Reaped(killed);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.ReapFailed(e);
        }
    }

    private async Task PurgeAsync()
    {
        try
        {
            await Store.PurgeIdempotencyAsync(Time.GetUtcNow() - Options.IdempotencyRetention, shutdown.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.PurgeFailed(e);
        }
    }

    /// <summary>Gives a newly created run its writer: here when this node runs steps and claims it, else on a node that does.</summary>
    public async Task ActivateAsync(RunRecord run, IReadOnlyList<StepRecord> steps, CancellationToken ct)
    {
        if (!Options.RunsSteps)
        {
            Cluster.WakeWorkers();
            return;
        }
        try
        {
            if (!await Cluster.ClaimRunAsync(run.Id, ct))
            {
                // Another live node still owns it (a retried run keeps its last owner): that node gives it a writer.
                Cluster.WakeWorkers();
                return;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The run is stored: a node (this one, at its next look) claims it when the store answers again.
            Log.ClaimFailed(run.Id, e);
            return;
        }
        lock (activation)
        {
            if (shutdown.IsCancellationRequested || actors.ContainsKey(run.Id))
            {
                return;
            }
            var actor = new RunActor(this, run);
            actors[run.Id] = actor;
            actor.Start(steps, resume: false);
        }
    }

    /// <summary>Stops a run through its writer. Terminal runs are a <see cref="ErrorKind.FailedPrecondition"/>.</summary>
    public async Task<StopAnswer> StopAsync(StopRunRequest request, CancellationToken ct)
    {
        if (await StopHereAsync(request, ct) is { } answer)
        {
            return answer;
        }
        if (shutdown.IsCancellationRequested)
        {
            throw new SluiceException(ErrorKind.Unavailable, "the server is shutting down; try again");
        }
        // Another node is the run's writer: the request is durable in the store before that node is woken.
        var reply = await Cluster.ForwardAsync(request.RunId, "stop", RemoteRequests.Stop(request), ct);
        RemoteRequests.ThrowIfError(reply);
        var run = await Store.GetRunAsync(request.RunId, ct) ?? throw SluiceException.NotFound($"run {request.RunId} not found");
        return RemoteRequests.ReadStopped(reply, run);
    }

    /// <summary>Stops the run through its writer on this node (claiming it when nobody owns it); null when another node owns it.</summary>
    private async Task<StopAnswer?> StopHereAsync(StopRunRequest request, CancellationToken ct)
    {
        for (var tries = 0; tries < 3; tries++)
        {
            var actor = await EnsureActorAsync(request.RunId, ct);
            if (actor is null)
            {
                break;
            }
            try
            {
                return await Bounded(actor.EnqueueStop(request), ct);
            }
            catch (ActorGoneException)
            {
                // The run just became terminal (or the node is going down): look again.
            }
        }
        var run = await Store.GetRunAsync(request.RunId, ct) ?? throw SluiceException.NotFound($"run {request.RunId} not found");
        if (run.State.IsTerminal())
        {
            throw new SluiceException(ErrorKind.FailedPrecondition, $"run {run.Id} is {run.State} and cannot be stopped");
        }
        return null;
    }

    /// <summary>A writer that cannot commit (the store is away, its disk full) keeps trying; the caller gets Unavailable
    /// instead of a hang. The change stays with the writer and takes effect once it is recorded (a stop still stops the
    /// run): the answer says so, since a caller told only "try again" would think nothing happened. Asking again is safe,
    /// as both kinds of change that wait here (a stop, an update) have no second effect.</summary>
    private async Task<T> Bounded<T>(Task<T> reply, CancellationToken ct)
    {
        try
        {
            return await reply.WaitAsync(Options.RequestTimeout, Time, ct);
        }
        catch (TimeoutException)
        {
            throw new SluiceException(ErrorKind.Unavailable, WaitingChange);
        }
    }

    private const string WaitingChange = "the change could not be recorded in time (is the database reachable, or its disk full?); "
        + "it is kept and takes effect once it can be recorded; asking again is safe";

    /// <summary>Changes a run's display name, description or parallelism: through its writer while it has one, otherwise by a
    /// compare-and-set commit of its own.</summary>
    internal async Task<RunRecord> UpdateAsync(string runId, UpdateRunRequest request, CancellationToken ct) =>
        await UpdateCoreAsync(runId, request, forward: true, ct) ?? throw new SluiceException(ErrorKind.Unavailable, "try again");

    /// <summary>The update through this node's writer; when another node owns the run, forwarded to it (or null when
    /// <paramref name="forward"/> is false: that node answers the request itself).</summary>
    private async Task<RunRecord?> UpdateCoreAsync(string runId, UpdateRunRequest request, bool forward, CancellationToken ct)
    {
        for (var tries = 0; tries < 10; tries++)
        {
            var actor = await EnsureActorAsync(runId, ct);
            if (actor is not null)
            {
                try
                {
                    return await Bounded(actor.EnqueueUpdate(request), ct);
                }
                catch (ActorGoneException)
                {
                    continue;
                }
            }
            var run = await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"run {runId} not found");
            if (!run.State.IsTerminal())
            {
                if (shutdown.IsCancellationRequested)
                {
                    throw new SluiceException(ErrorKind.Unavailable, "the server is shutting down; try again");
                }
                if (await Cluster.Store.GetRunOwnerAsync(runId, ct) is { } owner && owner != NodeId || !Options.RunsSteps)
                {
                    // Another node is the run's writer.
                    if (!forward)
                    {
                        return null;
                    }
                    var reply = await Cluster.ForwardAsync(runId, "update", RemoteRequests.Update(request), ct);
                    RemoteRequests.ThrowIfError(reply);
                    return await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"run {runId} not found");
                }
                // Became active again in between (a retry): go through its writer.
                continue;
            }
            var now = Time.GetUtcNow();
            var next = RunActor.Updated(run, request) with { Version = run.Version + 1, UpdatedAt = now };
            try
            {
                var stored = await Store.CommitAsync(new RunChange
                {
                    Run = next, ExpectedVersion = run.Version,
                    Events = [RunActor.UpdateEvent(run, request, now)],
                }, ct);
                Published(next, stored);
                return next;
            }
            catch (ConcurrencyException)
            {
                // Changed meanwhile: read it again.
            }
        }
        throw new SluiceException(ErrorKind.Unavailable, $"run {runId} kept changing; try again");
    }

    /// <summary>Revives a Failed or Stopped run: its steps that did not succeed become Pending, the run Running, and a new
    /// writer schedules them. The idempotency record, when given, is committed with the change.</summary>
    internal async Task<RunRecord> RetryAsync(string runId, RetryRunRequest request, IdempotencyRecord? idempotency, CancellationToken ct)
    {
        for (var tries = 0; ; tries++)
        {
            var run = await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"run {runId} not found");
            if (!Transitions.TryNext(run.State, RunTrigger.Retry, out var to))
            {
                throw new SluiceException(ErrorKind.FailedPrecondition,
                    $"run {run.Id} is {run.State}; only a Failed or Stopped run can be retried");
            }
            if (actors.TryGetValue(runId, out var retiring))
            {
                // The writer that made the run terminal may still be winding down; a run has one writer at a time.
                await retiring.Completion.WaitAsync(ct);
                continue;
            }
            var steps = await Store.GetStepsAsync(runId, ct);
            var now = Time.GetUtcNow();
            var next = run with
            {
                State = to, Version = run.Version + 1, UpdatedAt = now, EndedAt = null, Error = null, Stop = null,
                MaxParallelSteps = request.MaxParallelSteps ?? run.MaxParallelSteps,
            };
            var events = new List<RunEvent>
            {
                new() { RunId = run.Id, Kind = "run-state", From = run.State.ToString(), To = to.ToString(), At = now, Message = "retried",
                    Caller = request.Caller },
            };
            var changes = new List<StepChange>();
            var after = new List<StepRecord>();
            foreach (var s in steps)
            {
                if (!Transitions.TryNext(s.State, StepTrigger.Retry, out var sto))
                {
                    after.Add(s);
                    continue;
                }
                var ns = s with { State = sto, Version = s.Version + 1, EndedAt = null, NotBefore = null, Outputs = null, Process = null };
                changes.Add(new StepChange(ns, s.Version));
                after.Add(ns);
                events.Add(new RunEvent
                {
                    RunId = run.Id, Step = s.Name, Kind = "step-state", From = s.State.ToString(), To = sto.ToString(), At = now,
                    Message = "run retried",
                });
            }
            try
            {
                var stored = await Store.CommitAsync(new RunChange
                {
                    Run = next, ExpectedVersion = run.Version, Steps = changes, Events = events, Idempotency = idempotency,
                }, ct);
                Published(next, stored);
            }
            catch (ConcurrencyException) when (tries < 3 && idempotency is null)
            {
                continue;
            }
            await ActivateAsync(next, after, ct);
            return next;
        }
    }

    /// <summary>Applies the answer to a callback token through the run's writer; returns the run after it.</summary>
    internal async Task<RunRecord> AnswerCallbackAsync(string runId, string step, CallbackAnswerRequest request, CancellationToken ct)
    {
        if (await AnswerHereAsync(runId, step, request, ct) is { } done)
        {
            return done;
        }
        if (shutdown.IsCancellationRequested)
        {
            throw new SluiceException(ErrorKind.Unavailable, "the server is shutting down; try again");
        }
        var reply = await Cluster.ForwardAsync(runId, "callback", RemoteRequests.Callback(step, request), ct);
        RemoteRequests.ThrowIfError(reply);
        return await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"callback token {request.Token} not found");
    }

    /// <summary>Applies the answer through the run's writer on this node; null when another node owns the run.</summary>
    private async Task<RunRecord?> AnswerHereAsync(string runId, string step, CallbackAnswerRequest request, CancellationToken ct)
    {
        for (var tries = 0; tries < 3; tries++)
        {
            var actor = await EnsureActorAsync(runId, ct);
            if (actor is null)
            {
                break;
            }
            try
            {
                return await Bounded(actor.EnqueueAnswer(step, request), ct);
            }
            catch (ActorGoneException)
            {
            }
        }
        var run = await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"callback token {request.Token} not found");
        if (!run.State.IsTerminal())
        {
            return null;
        }
        // The run is finished: only a replay of the answer that finished the step can succeed.
        var s = (await Store.GetStepsAsync(runId, ct)).FirstOrDefault(x => x.Name == step);
        return RunActor.IsReplay(s, request) ? run
            : throw new SluiceException(ErrorKind.FailedPrecondition,
                $"callback token {request.Token} cannot be answered: run {runId} is {run.State} and step {step} is {s?.State}");
    }

    /// <summary>Waits until no run has a writer on this node (tests and benchmarks).</summary>
    public async Task WhenIdleAsync(CancellationToken ct)
    {
        while (!actors.IsEmpty)
        {
            await Task.WhenAll(actors.Values.Select(a => a.Completion)).WaitAsync(ct);
        }
    }

    /// <summary>The run's writer on this node, started (resuming from the store) when this node owns the run or can claim it.</summary>
    private async Task<RunActor?> EnsureActorAsync(string runId, CancellationToken ct)
    {
        if (actors.TryGetValue(runId, out var existing))
        {
            return existing;
        }
        if (!Options.RunsSteps || shutdown.IsCancellationRequested)
        {
            return null;
        }
        var run = await Store.GetRunAsync(runId, ct);
        if (run is null || run.State.IsTerminal() || !await Cluster.ClaimRunAsync(runId, ct))
        {
            return null;
        }
        // Read after the claim: a writer elsewhere may have committed until the claim took the run from it.
        run = await Store.GetRunAsync(runId, ct);
        if (run is null || run.State.IsTerminal())
        {
            return null;
        }
        var steps = await Store.GetStepsAsync(runId, ct);
        lock (activation)
        {
            if (actors.TryGetValue(runId, out existing))
            {
                return existing;
            }
            var actor = new RunActor(this, run);
            actors[runId] = actor;
            actor.Start(steps, resume: true);
            return actor;
        }
    }

    internal void Retire(RunActor actor) => actors.TryRemove(new KeyValuePair<string, RunActor>(actor.RunId, actor));

    /// <summary>Gives a writer to a run this node owns (claimed, or left without one by a writer that failed).</summary>
    internal async Task ResumeOwnedAsync(string runId, CancellationToken ct)
    {
        if (!actors.ContainsKey(runId))
        {
            await EnsureActorAsync(runId, ct);
        }
    }

    /// <summary>Ends the writers of runs another node owns now (this node's lease lapsed and the run was taken over).</summary>
    internal async Task DropUnownedAsync(HashSet<string> owned, DateTimeOffset listedAt, CancellationToken ct)
    {
        foreach (var actor in actors.Values.Where(a => !owned.Contains(a.RunId) && a.CreatedAt < listedAt).ToList())
        {
            if (await Cluster.Store.GetRunOwnerAsync(actor.RunId, ct) is { } owner && owner != NodeId)
            {
                Log.LeaseLost(actor.RunId, owner);
                actor.Relinquish(await NewOwnerCannotSeeStepsAsync(actor.RunId));
            }
        }
    }

    /// <summary>Whether the run's new owner is on another machine or data directory (so it fails this node's attempts as lost).</summary>
    internal async Task<bool> NewOwnerCannotSeeStepsAsync(string runId)
    {
        try
        {
            return await Cluster.Store.GetRunOwnerAsync(runId, CancellationToken.None) is { } owner && owner != NodeId
                && (await Cluster.NodeAsync(owner, CancellationToken.None))?.SharesStepsWith(Cluster.Self) != true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Unknown: leave the processes; the new owner decides what they were.
            return false;
        }
    }

    /// <summary>Carries out a request another node filed for a run this node owns; the answer, or null when this node
    /// does not own the run (any more): the owner answers it.</summary>
    internal async Task<JsonObject?> HandleRequestAsync(RunRequest r, CancellationToken ct)
    {
        try
        {
            switch (r.Kind)
            {
                case "stop":
                    var stop = RemoteRequests.ReadStop(r);
                    return await StopHereAsync(stop, ct) is { } stopped ? RemoteRequests.Stopped(stopped) : null;
                case "callback":
                    var (step, answer) = RemoteRequests.ReadCallback(r);
                    return await AnswerHereAsync(r.RunId, step, answer, ct) is null ? null : RemoteRequests.Ok();
                case "update":
                    return await UpdateCoreAsync(r.RunId, RemoteRequests.ReadUpdate(r), forward: false, ct) is null ? null : RemoteRequests.Ok();
                default:
                    return RemoteRequests.Error(new SluiceException(ErrorKind.InvalidArgument, $"unknown request kind '{r.Kind}'"));
            }
        }
        catch (SluiceException e) when (e.Kind != ErrorKind.Unavailable)
        {
            return RemoteRequests.Error(e);
        }
    }

    internal async Task<Plan> PlanForAsync(RunRecord run, CancellationToken ct)
    {
        var v = await Pipelines.GetVersionAsync(run.PipelineId, run.PipelineVersion, ct)
            ?? throw new SluiceException(ErrorKind.FailedPrecondition, $"version {run.PipelineVersion} of pipeline {run.PipelineName} is gone");
        return Compilers.PlanOf(run.PipelineId, run.PipelineVersion, v.Source, v.Format);
    }

    internal bool HasExecutor(string kind) => executors.ContainsKey(kind);

    internal IStepExecutor ExecutorFor(string kind) =>
        executors.TryGetValue(kind, out var e) ? e : throw new SluiceException(ErrorKind.FailedPrecondition, $"no executor for steps of kind '{kind}'");

    internal void Published(RunRecord run, IReadOnlyList<RunEvent> events) => Hub.Publish(events);

    /// <summary>The idempotency record that makes a replay of this stop return the same answer.</summary>
    internal IdempotencyRecord RememberStop(StopRunRequest req, RunRecord answered) => new()
    {
        Scope = StopScope(answered.Scope),
        Token = req.IdempotencyToken!,
        RequestHash = StopHash(req),
        Response = JsonSerializer.Serialize(new JsonObject { ["runId"] = answered.Id, ["state"] = answered.State.ToString() }),
        CreatedAt = Time.GetUtcNow(),
    };

    internal static string StopScope(Scope s) => $"stop:{s.Tenant}";

    internal static string StopHash(StopRunRequest r) =>
        Hash($"{r.RunId}\n{r.Reason}\n{r.Grace?.Ticks}");

    internal static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Node shutdown: stop writing, leave every step process running for the next start to re-adopt.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (activation)
        {
            // The host and the container both dispose the engine: the second call has nothing left to do.
            if (shutdown.IsCancellationRequested)
            {
                return;
            }
            shutdown.Cancel();
        }
        if (purgeTimer is not null)
        {
            await purgeTimer.DisposeAsync();
        }
        try
        {
            await Task.WhenAll(actors.Values.Select(a => a.Completion)).WaitAsync(TimeSpan.FromSeconds(30), Time);
        }
        catch (TimeoutException)
        {
            Log.ShutdownSlow(actors.Count);
        }
        await Cluster.DisposeAsync();
    }

    internal sealed partial class EngineLog(ILogger logger)
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "run {RunId}: writer crashed; it resumes from the store at the next look")]
        private static partial void Crashed(ILogger logger, string runId, Exception e);

        [LoggerMessage(Level = LogLevel.Information, Message = "resumed {Count} unfinished runs")]
        private static partial void ResumedRuns(ILogger logger, int count);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} run writers did not finish within the shutdown deadline")]
        private static partial void Slow(ILogger logger, int count);

        public void ActorCrashed(string runId, Exception e) => Crashed(logger, runId, e);

        public void Resumed(int count) => ResumedRuns(logger, count);

        [LoggerMessage(Level = LogLevel.Warning, Message = "could not purge old idempotency answers")]
        private static partial void Purge(ILogger logger, Exception e);

        public void ShutdownSlow(int count) => Slow(logger, count);

        public void PurgeFailed(Exception e) => Purge(logger, e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "run {RunId}: could not claim it; a node claims it at its next look")]
        private static partial void Claim(ILogger logger, string runId, Exception e);

        public void ClaimFailed(string runId, Exception e) => Claim(logger, runId, e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "killed {Count} step processes whose attempts other nodes ended while this node was away")]
        private static partial void ReapedOrphans(ILogger logger, int count);

        public void Reaped(int count) => ReapedOrphans(logger, count);

        [LoggerMessage(Level = LogLevel.Warning, Message = "could not look for leftover step processes")]
        private static partial void Reap(ILogger logger, Exception e);

        public void ReapFailed(Exception e) => Reap(logger, e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "run {RunId}: node {Owner} owns it now; its writer here ends")]
        private static partial void Lost(ILogger logger, string runId, string owner);

        public void LeaseLost(string runId, string owner) => Lost(logger, runId, owner);
    }
}
