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
        EngineOptions options, TimeProvider time, EventHub hub, ILogger<RunEngine>? logger = null)
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
    }

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
        var ids = await Store.ListRunIdsInStatesAsync([RunState.Queued, RunState.Running, RunState.Stopping], ct);
        foreach (var id in ids)
        {
            await EnsureActorAsync(id, ct);
        }
        Log.Resumed(ids.Count);
        // Idempotency answers are kept for the retention period, then forgotten (checked hourly).
        purgeTimer = Time.CreateTimer(_ => _ = PurgeAsync(), null, TimeSpan.Zero, TimeSpan.FromHours(1));
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

    /// <summary>Gives a newly created run its writer.</summary>
    public void Activate(RunRecord run, IReadOnlyList<StepRecord> steps)
    {
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
        for (var tries = 0; tries < 3; tries++)
        {
            var actor = await EnsureActorAsync(request.RunId, ct);
            if (actor is null)
            {
                break;
            }
            try
            {
                return await actor.EnqueueStop(request).WaitAsync(ct);
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
        throw new SluiceException(ErrorKind.Unavailable, "the server is shutting down; try again");
    }

    /// <summary>Changes a run's display name, description or parallelism: through its writer while it has one, otherwise by a
    /// compare-and-set commit of its own.</summary>
    internal async Task<RunRecord> UpdateAsync(string runId, UpdateRunRequest request, CancellationToken ct)
    {
        for (var tries = 0; tries < 10; tries++)
        {
            var actor = await EnsureActorAsync(runId, ct);
            if (actor is not null)
            {
                try
                {
                    return await actor.EnqueueUpdate(request).WaitAsync(ct);
                }
                catch (ActorGoneException)
                {
                    continue;
                }
            }
            var run = await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"run {runId} not found");
            if (!run.State.IsTerminal())
            {
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
            Activate(next, after);
            return next;
        }
    }

    /// <summary>Applies the answer to a callback token through the run's writer; returns the run after it.</summary>
    internal async Task<RunRecord> AnswerCallbackAsync(string runId, string step, CallbackAnswerRequest request, CancellationToken ct)
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
                return await actor.EnqueueAnswer(step, request).WaitAsync(ct);
            }
            catch (ActorGoneException)
            {
            }
        }
        // The run is finished: only a replay of the answer that finished the step can succeed.
        var run = await Store.GetRunAsync(runId, ct) ?? throw SluiceException.NotFound($"callback token {request.Token} not found");
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

    private async Task<RunActor?> EnsureActorAsync(string runId, CancellationToken ct)
    {
        if (actors.TryGetValue(runId, out var existing))
        {
            return existing;
        }
        var run = await Store.GetRunAsync(runId, ct);
        if (run is null || run.State.IsTerminal() || shutdown.IsCancellationRequested)
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

    /// <summary>Starts a new writer for a run whose writer crashed, after a pause that doubles (from half a second up to a
    /// minute) while the writers keep crashing; a run that ended or a node that shuts down meanwhile needs none.</summary>
    internal void Revive(string runId, int crashes)
    {
        if (shutdown.IsCancellationRequested)
        {
            return;
        }
        var delay = TimeSpan.FromMilliseconds(Math.Min(60_000, 500 * Math.Pow(2, Math.Min(crashes - 1, 7))));
        var timer = new ITimer?[1];
        lock (timer)
        {
            timer[0] = Time.CreateTimer(_ =>
            {
                lock (timer)
                {
                    timer[0]?.Dispose();
                }
                _ = ReviveNowAsync(runId, crashes);
            }, null, delay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task ReviveNowAsync(string runId, int crashes)
    {
        try
        {
            var actor = await EnsureActorAsync(runId, shutdown.Token);
            if (actor is not null)
            {
                actor.Crashes = crashes;
                Log.Revived(runId, crashes);
            }
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.ReviveFailed(runId, e);
            Revive(runId, crashes + 1);
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
    }

    internal sealed partial class EngineLog(ILogger logger)
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "run {RunId}: writer crashed; a new writer resumes the run from the store shortly")]
        private static partial void Crashed(ILogger logger, string runId, Exception e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "run {RunId}: writer started again after {Crashes} crash(es)")]
        private static partial void RevivedRun(ILogger logger, string runId, int crashes);

        [LoggerMessage(Level = LogLevel.Warning, Message = "run {RunId}: could not start its writer again; trying later")]
        private static partial void Revive(ILogger logger, string runId, Exception e);

        public void Revived(string runId, int crashes) => RevivedRun(logger, runId, crashes);

        public void ReviveFailed(string runId, Exception e) => Revive(logger, runId, e);

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
    }
}
