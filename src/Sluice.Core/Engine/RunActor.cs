using System.Text.Json.Nodes;
using System.Threading.Channels;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.Core.Storage;

namespace Sluice.Core.Engine;

/// <summary>The one writer of one active run: every change to the run goes through its mailbox, in order.</summary>
internal sealed class RunActor
{
    /// <summary>The key in a step's executor data that names the node running the attempt.</summary>
    internal const string NodeKey = "node";

    private readonly RunEngine engine;
    private readonly Channel<Message> inbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, StepRecord> steps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Active> active = new(StringComparer.Ordinal);

    /// <summary>The steps whose stored state is active (Starting, Running, Stopping): kept with <see cref="steps"/>, so that
    /// "is anything still active" does not pass over every step of the run on every commit.</summary>
    private readonly HashSet<string> activeSteps = new(StringComparer.Ordinal);
    private readonly Action slotFreed;
    private readonly CancellationTokenSource relinquished;
    private RunRecord run;
    private Plan plan = null!;
    private RunGraph graph = null!;

    /// <summary>No groups and no finally steps: a failure under FailFast stops all scheduling at once.</summary>
    private bool simple;

    /// <summary>Some for-each limits how many of its iterations run at once.</summary>
    private bool limited;

    /// <summary>The last scheduling pass left a step that may start waiting (for a slot, a retry's time, a parallelism limit):
    /// a failed run is not finished while one is.</summary>
    private bool deferred;
    private ITimer? wakeTimer;
    private bool waitingForSlot;
    private volatile bool killSteps;

    /// <summary>The reason the run will fail once its active steps end; no new step starts while it is set.</summary>
    private string? failure;

    /// <summary>Steps whose process runs, taken in but not yet recorded Running (see <see cref="Hold"/>), and the timer
    /// that records them if nothing else comes first.</summary>
    private readonly List<StepStarted> heldStarts = [];
    private ITimer? heldTimer;

    // What a scheduling pass looks at, so that it does not visit every step of the run on every commit (a for-each may
    // have thousands): a step needs a look only when it became Pending, when a step it depends on or its group changed,
    // or while it waits for something that is not a step (a retry's time, a for-each's room), all in toVisit; steps that
    // wait only for a slot (or the run's parallelism) are in slotQueue, looked at in order until one finds none. Groups
    // whose members or own state changed are in unsettled. Kept by Touched as the transaction is built.
    private readonly NodeSet toVisit = new();
    private readonly NodeSet slotQueue = new();
    private readonly NodeSet unsettled = new();
    private bool reindex = true;
    private string? failureIndexed;

    /// <summary>Each limited for-each (by its step record name): its open iterations and the steps waiting for room in it.</summary>
    private readonly Dictionary<string, Loop> loops = new(StringComparer.Ordinal);

    /// <summary>The limited for-each loops that have steps waiting and room for them: looked at in order, like slotQueue.</summary>
    private readonly HashSet<string> roomy = new(StringComparer.Ordinal);

    /// <summary>How many steps wait for room in all.</summary>
    private int waitingForRoom;

    private sealed class Loop
    {
        public int Open { get; set; }

        public NodeSet Waiting { get; } = new();

        public int Count { get; set; }
    }

    public RunActor(RunEngine engine, RunRecord run)
    {
        this.engine = engine;
        this.run = run;
        slotFreed = () => Post(new Kick());
        relinquished = CancellationTokenSource.CreateLinkedTokenSource(engine.ShutdownToken);
        CreatedAt = engine.Time.GetUtcNow();
    }

    public string RunId => run.Id;

    public DateTimeOffset CreatedAt { get; }

    /// <summary>Another node owns the run now: stop writing. When that node shares this node's step directories it
    /// re-adopts the processes, which are left running as on a shutdown; otherwise it fails them as lost, so they are
    /// killed here (<paramref name="killSteps"/>): nothing may run on for an attempt that is over.</summary>
    public void Relinquish(bool killSteps)
    {
        this.killSteps = killSteps;
        relinquished.Cancel();
    }

    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start(IReadOnlyList<StepRecord> stored, bool resume)
    {
        foreach (var s in stored)
        {
            Store(s);
        }
        Completion = Task.Run(() => LoopAsync(resume));
    }

    public bool Post(Message m) => inbox.Writer.TryWrite(m);

    private void Store(StepRecord s)
    {
        steps[s.Name] = s;
        if (s.State.IsActive())
        {
            activeSteps.Add(s.Name);
        }
        else
        {
            activeSteps.Remove(s.Name);
        }
    }

    /// <summary>Every step of a plan, for-each bodies included.</summary>
    private static IEnumerable<StepPlan> Walk(IEnumerable<StepPlan> steps)
    {
        foreach (var s in steps)
        {
            yield return s;
            if (s is GroupStepPlan { ForEach: { } fe })
            {
                foreach (var b in Walk(fe.Body))
                {
                    yield return b;
                }
            }
        }
    }

    public Task<StopAnswer> EnqueueStop(StopRunRequest request)
    {
        var reply = new TaskCompletionSource<StopAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(new StopMessage(request, reply)))
        {
            reply.SetException(new ActorGoneException());
        }
        return reply.Task;
    }

    public Task<RunRecord> EnqueueUpdate(UpdateRunRequest request)
    {
        var reply = new TaskCompletionSource<RunRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(new UpdateMessage(request, reply)))
        {
            reply.SetException(new ActorGoneException());
        }
        return reply.Task;
    }

    /// <summary>The run with the fields an update sets.</summary>
    internal static RunRecord Updated(RunRecord run, UpdateRunRequest r) => run with
    {
        DisplayName = r.DisplayName ?? run.DisplayName,
        Description = r.Description ?? run.Description,
        MaxParallelSteps = r.MaxParallelSteps ?? run.MaxParallelSteps,
    };

    internal static RunEvent UpdateEvent(RunRecord run, UpdateRunRequest r, DateTimeOffset at) => new()
    {
        RunId = run.Id, Kind = "run-updated", At = at, Caller = r.Caller, Message = "updated",
        Data = new JsonObject { ["displayName"] = r.DisplayName, ["description"] = r.Description, ["maxParallelSteps"] = r.MaxParallelSteps },
    };

    public Task<RunRecord> EnqueueAnswer(string step, CallbackAnswerRequest request)
    {
        var reply = new TaskCompletionSource<RunRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(new CallbackAnswer(step, request, reply)))
        {
            reply.SetException(new ActorGoneException());
        }
        return reply.Task;
    }

    /// <summary>Whether this request is a replay of the answer that ended the step (same idempotency token, same content).</summary>
    internal static bool IsReplay(StepRecord? s, CallbackAnswerRequest request) =>
        request.IdempotencyToken is not null && s?.ExecutorData?["answer"]?["fingerprint"]?.GetValue<string>() is { } f
        && f == RunEngine.Hash(request.Fingerprint()) && s.ExecutorData?["token"]?.GetValue<string>() == request.Token;

    private async Task LoopAsync(bool resume)
    {
        var ct = relinquished.Token;
        try
        {
            plan = await engine.PlanForAsync(run, ct);
            graph = new RunGraph(plan);
            graph.Restore(steps);
            simple = !Walk(plan.Steps).Any(p => p is GroupStepPlan || p.StartWhen != StartWhen.AllSucceeded);
            limited = Walk(plan.Steps).Any(p => p is GroupStepPlan { ForEach.MaxParallel: not null });
            if (resume)
            {
                await ResumeAsync(ct);
            }
            var batch = new List<Message>();
            await ProcessAsync(batch, ct);
            while (!run.State.IsTerminal() && await inbox.Reader.WaitToReadAsync(ct))
            {
                // Everything that arrived meanwhile is handled together and committed in one transaction.
                batch.Clear();
                while (batch.Count < 512 && inbox.Reader.TryRead(out var m))
                {
                    batch.Add(m);
                }
                if (!Hold(batch))
                {
                    await ProcessAsync(batch, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Node shutdown: leave the processes running; the run resumes on the next start.
        }
        catch (LeaseLostException e)
        {
            // Another node took the run over (this node's lease lapsed): it is the writer now.
            engine.Log.LeaseLost(run.Id, e.Message);
            killSteps = await engine.NewOwnerCannotSeeStepsAsync(run.Id);
        }
        catch (Exception e)
        {
            engine.Log.ActorCrashed(run.Id, e);
        }
        finally
        {
            inbox.Writer.TryComplete();
            wakeTimer?.Dispose();
            heldTimer?.Dispose();
            engine.Slots.Forget(slotFreed);
            foreach (var (name, a) in active)
            {
                a.Timer?.Dispose();
                if (killSteps && plan?.Find(name) is not CallbackStepPlan)
                {
                    a.Execution.RequestStop(TimeSpan.Zero);
                }
                await a.Execution.DisposeAsync();
                if (a.HoldsSlot)
                {
                    engine.Slots.Release();
                }
            }
            active.Clear();
            // Answer anything still waiting in the mailbox: the run is terminal (or the node is going down).
            while (inbox.Reader.TryRead(out var m))
            {
                m.Abandon();
            }
            engine.Retire(this);
            relinquished.Dispose();
        }
    }

    /// <summary>Applies a batch of messages, schedules what became ready, commits once, then acts on the outside world:
    /// answers stops, signals steps, starts processes. Nothing outside happens before its change is durable.</summary>
    private async Task ProcessAsync(List<Message> batch, CancellationToken ct)
    {
        var tx = new Tx(this, engine.Time.GetUtcNow());
        foreach (var held in heldStarts)
        {
            ApplyStarted(tx, held);
        }
        var holding = engine.Options.RunningRecordDelay > TimeSpan.Zero && run.State == RunState.Running;
        var flush = false;
        var answers = new List<StopMessage>();
        var callbackReplies = new List<TaskCompletionSource<RunRecord>>();
        IdempotencyRecord? idempotency = null;
        var wasStopping = run.State == RunState.Stopping;
        foreach (var m in batch)
        {
            switch (m)
            {
                case StopMessage s:
                    try
                    {
                        if (ApplyStop(tx, s.Request) && s.Request.IdempotencyToken is not null && idempotency is null)
                        {
                            idempotency = engine.RememberStop(s.Request, tx.RunAfter);
                        }
                        answers.Add(s);
                    }
                    catch (SluiceException e)
                    {
                        s.Reply.TrySetException(e);
                    }
                    break;
                case StepStarted st:
                    Started(tx, st, holding);
                    break;
                case StepSpawned sp:
                    Started(tx, TakeIn(sp), holding);
                    break;
                case FlushHeld:
                    flush = true;
                    break;
                case UpdateMessage u:
                    tx.Edit(r => Updated(r, u.Request), UpdateEvent(tx.RunAfter, u.Request, tx.Now));
                    callbackReplies.Add(u.Reply);
                    break;
                case StepDone d:
                    await ApplyStepDoneAsync(tx, d);
                    break;
                case CallbackAnswer c:
                    try
                    {
                        if (await ApplyAnswerAsync(tx, c))
                        {
                            callbackReplies.Add(c.Reply);
                        }
                        else
                        {
                            c.Reply.TrySetResult(run);
                        }
                    }
                    catch (SluiceException e)
                    {
                        c.Reply.TrySetException(e);
                    }
                    break;
                case StepTimedOut t:
                    if (active.TryGetValue(t.Step, out var a) && a.Attempt == t.Attempt && !a.TimedOut)
                    {
                        a.TimedOut = true;
                        a.Execution.RequestStop(GraceFor(t.Step));
                    }
                    break;
            }
        }
        var toStart = Schedule(tx);
        FinishIfDone(tx);
        if (holding && !flush && heldStarts.Count > 0 && tx.Changes == heldStarts.Count && answers.Count == 0 && callbackReplies.Count == 0
            && toStart.Count == 0 && idempotency is null)
        {
            // Nothing but steps now running (e.g. a slot freed for nothing): they wait on, as in Hold.
            ArmHeldTimer();
            return;
        }
        heldStarts.Clear();
        heldTimer?.Dispose();
        heldTimer = null;
        if (idempotency is not null)
        {
            idempotency = engine.RememberStop(answers.First(a => a.Request.IdempotencyToken == idempotency.Token).Request, tx.RunAfter);
        }
        try
        {
            if (tx.HasChanges)
            {
                await tx.CommitAsync(ct, idempotency);
            }
        }
        catch (Exception e)
        {
            foreach (var s in answers)
            {
                s.Reply.TrySetException(e);
            }
            foreach (var r in callbackReplies)
            {
                r.TrySetException(e);
            }
            foreach (var _ in toStart)
            {
                engine.Slots.Release();
            }
            throw;
        }
        foreach (var s in answers)
        {
            s.Reply.TrySetResult(new StopAnswer(run, Replayed: false));
        }
        foreach (var r in callbackReplies)
        {
            r.TrySetResult(run);
        }
        if (!wasStopping && run.State == RunState.Stopping)
        {
            // Durable first, then signal: the stop survives a crash from here on.
            foreach (var (name, a) in active)
            {
                a.Execution.RequestStop(GraceFor(name));
            }
        }
        if (run.State != RunState.Running && run.State != RunState.Queued && waitingForSlot)
        {
            engine.Slots.Forget(slotFreed);
            waitingForSlot = false;
        }
        foreach (var (node, attempt, inputs) in toStart)
        {
            await StartProcessAsync(node, attempt, inputs, ct);
        }
    }

    // ---- callback answers ----

    /// <summary>Applies an answer to a waiting callback step: true when it changed the step; false for a replay of the
    /// answer that ended it. Anything else on an answered token is a conflict.</summary>
    private async Task<bool> ApplyAnswerAsync(Tx tx, CallbackAnswer c)
    {
        var s = tx.StepAfter(c.Step);
        if (s.ExecutorData?["token"]?.GetValue<string>() != c.Request.Token)
        {
            throw SluiceException.NotFound($"callback token {c.Request.Token} not found");
        }
        if (IsReplay(s, c.Request))
        {
            return false;
        }
        if (s.ExecutorData?["answer"] is not null || !s.State.IsActive() || !active.TryGetValue(c.Step, out var a))
        {
            throw new SluiceException(ErrorKind.FailedPrecondition,
                $"callback token {c.Request.Token} was already answered (step {c.Step} is {s.State})");
        }
        StepOutcome outcome;
        if (s.State == StepState.Stopping)
        {
            // After the "Stopping" message, either answer finishes the stop (SageMaker seed).
            outcome = StepOutcome.Stopped(c.Request.Success ? "stopped; the callback answered success" : $"stopped; the callback answered failure: {c.Request.Reason}");
        }
        else if (c.Request.Success)
        {
            outcome = CallbackOutputs(c.Step, c.Request.Outputs);
        }
        else
        {
            outcome = StepOutcome.Failure(c.Request.Reason is { Length: > 0 } r ? r : "the callback reported a failure");
        }
        var answer = new JsonObject
        {
            ["fingerprint"] = RunEngine.Hash(c.Request.Fingerprint()), ["success"] = c.Request.Success, ["at"] = tx.Now.ToString("O"),
            ["caller"] = c.Request.Caller,
        };
        await ApplyStepDoneAsync(tx, new StepDone(c.Step, a.Attempt, outcome));
        tx.Update(c.Step, x =>
        {
            var data = (JsonObject?)x.ExecutorData?.DeepClone() ?? [];
            data["answer"] = answer;
            return x with { ExecutorData = data };
        });
        return true;
    }

    /// <summary>The declared outputs from the strings a consumer sent, each converted to its declared type; others are ignored.</summary>
    private StepOutcome CallbackOutputs(string step, IReadOnlyDictionary<string, string>? given)
    {
        var outputs = new JsonObject();
        foreach (var o in graph.Find(step)?.Plan.Outputs ?? [])
        {
            if (given is null || !given.TryGetValue(o.Name, out var text))
            {
                continue;
            }
            if (!Values.TryCoerce(JsonValue.Create(text), o.Type, out var typed, out var error))
            {
                return StepOutcome.Failure($"output {o.Name}: {error}");
            }
            outputs[o.Name] = typed;
        }
        return StepOutcome.Success(outputs);
    }

    // ---- stop ----

    /// <summary>Applies a stop; false when the run was stopping already (no second effect). Terminal runs throw.</summary>
    private bool ApplyStop(Tx tx, StopRunRequest req)
    {
        switch (tx.RunAfter.State)
        {
            case RunState.Stopping when req.RefuseIfStopping:
                throw new SluiceException(ErrorKind.FailedPrecondition, $"run {run.Id} is Stopping already");
            case RunState.Stopping:
                return false;
            case var st when st.IsTerminal():
                throw new SluiceException(ErrorKind.FailedPrecondition, $"run {run.Id} is {st} and cannot be stopped");
        }
        var now = tx.Now;
        var stop = new StopInfo { At = now, Reason = req.Reason, Caller = req.Caller, Grace = req.Grace };
        tx.Run(RunTrigger.Stop, r => r with { Stop = stop }, req.Reason is null ? "stop requested" : $"stop requested: {req.Reason}", req.Caller,
            new JsonObject { ["grace"] = req.Grace?.TotalSeconds });
        foreach (var s in tx.StepsAfter().ToList())
        {
            if (s.State == StepState.Pending)
            {
                // A step waiting for a retry has run before: it ends Stopped; one that never began ends NotStarted.
                tx.Step(s.Name, s.Attempt > 0 ? StepTrigger.Stop : StepTrigger.Cancel, x => x with { EndedAt = now, NotBefore = null }, "run stopped");
            }
            else if (s.State.IsActive() && s.State != StepState.Stopping)
            {
                tx.Step(s.Name, StepTrigger.Stop, null, "stopping");
            }
        }
        return true;
    }

    private TimeSpan GraceFor(string step) =>
        run.Stop?.Grace ?? graph.Find(step)?.Plan.StopGracePeriod ?? engine.Options.DefaultStopGracePeriod;

    // ---- a step attempt started or ended ----

    private static void ApplyStarted(Tx tx, StepStarted st)
    {
        var s = tx.StepAfter(st.Step);
        if (s.Attempt != st.Attempt)
        {
            return;
        }
        if (s.State == StepState.Starting)
        {
            tx.Step(st.Step, StepTrigger.Started, x => x with { Process = st.Process }, null);
        }
        else if (s.State.IsActive())
        {
            // Stopped while it was being started: keep its identity all the same.
            tx.Update(st.Step, x => x with { Process = st.Process });
        }
    }

    private async Task ApplyStepDoneAsync(Tx tx, StepDone d)
    {
        if (!active.TryGetValue(d.Step, out var a) || a.Attempt != d.Attempt)
        {
            return;
        }
        active.Remove(d.Step);
        a.Timer?.Dispose();
        await a.Execution.DisposeAsync();
        if (a.HoldsSlot)
        {
            engine.Slots.Release();
        }
        var now = tx.Now;
        var s = tx.StepAfter(d.Step);
        var o = d.Outcome;
        if (a.TimedOut && o.Kind != OutcomeKind.Succeeded)
        {
            var limit = graph.Find(d.Step)?.Plan.Timeout;
            o = StepOutcome.Failure($"timed out after {TimeText.Format(limit ?? TimeSpan.Zero)}");
        }
        switch (o.Kind)
        {
            case OutcomeKind.Succeeded:
                tx.Step(d.Step, StepTrigger.Succeed, x => x with { EndedAt = now, Outputs = o.Outputs, ExitCode = o.ExitCode, Reason = null },
                    "succeeded");
                break;
            case OutcomeKind.Stopped:
                tx.Step(d.Step, s.State == StepState.Stopping ? StepTrigger.Stopped : StepTrigger.Fail,
                    x => x with { EndedAt = now, ExitCode = o.ExitCode, Reason = o.Reason ?? "stopped" }, o.Reason ?? "stopped");
                if (s.State != StepState.Stopping)
                {
                    failure ??= $"step {d.Step} was stopped unexpectedly";
                }
                break;
            default:
                var policy = graph.Find(d.Step)?.Plan.Retry;
                var retryWait = policy?.DelayBefore(s.Attempt + 1) ?? TimeSpan.Zero;
                if (tx.RunAfter.State == RunState.Running && (failure is null || plan.FailurePolicy == FailurePolicy.FailSlow)
                    && policy is not null && s.Attempt <= policy.Count
                    && !(policy.Within is { } within && now + retryWait > FirstStartedAt(s) + within))
                {
                    var wait = retryWait;
                    tx.Step(d.Step, StepTrigger.Retry, x => x with { NotBefore = now + wait, Reason = o.Reason, ExitCode = o.ExitCode },
                        $"attempt {s.Attempt} failed: {o.Reason}; retrying in {TimeText.Format(wait)}", kind: "step-retry");
                }
                else
                {
                    tx.Step(d.Step, StepTrigger.Fail, x => x with { EndedAt = now, Reason = o.Reason, ExitCode = o.ExitCode }, o.Reason);
                    // During a stop only an uninterruptible step that ran out of time fails; that fails the run (SageMaker seed).
                    failure ??= $"step {d.Step} failed: {o.Reason}";
                }
                break;
        }
    }

    /// <summary>A stopping run with nothing active left becomes Stopped (or Failed, when a step failed during the stop).</summary>
    private void DrainIfIdle(Tx tx)
    {
        if (tx.RunAfter.State != RunState.Stopping)
        {
            return;
        }
        SettleGroups(tx);
        if (tx.AnyActive())
        {
            return;
        }
        var now = tx.Now;
        if (failure is not null)
        {
            tx.Run(RunTrigger.Fail, r => r with { EndedAt = now, Error = failure }, failure);
        }
        else
        {
            tx.Run(RunTrigger.Drained, r => r with { EndedAt = now }, "stopped");
        }
    }

    private void FinishIfDone(Tx tx)
    {
        if (tx.RunAfter.State == RunState.Stopping)
        {
            DrainIfIdle(tx);
            return;
        }
        if (tx.RunAfter.State.IsTerminal() || tx.AnyActive())
        {
            return;
        }
        var now = tx.Now;
        if (failure is not null && deferred)
        {
            // A step that may still start (a finally step, or one that does not depend on the failure) is waiting its turn.
            return;
        }
        if (failure is not null)
        {
            foreach (var s in tx.StepsAfter().Where(s => s.State == StepState.Pending).ToList())
            {
                tx.Step(s.Name, s.Attempt > 0 ? StepTrigger.Stop : StepTrigger.Cancel, x => x with { EndedAt = now, NotBefore = null }, "run failed");
            }
            tx.Run(RunTrigger.Fail, r => r with { EndedAt = now, Error = failure }, failure);
        }
        else if (tx.StepsAfter().All(s => s.State.IsTerminal()))
        {
            tx.Begin(now);
            tx.Run(RunTrigger.Succeed, r => r with { EndedAt = now }, "succeeded");
        }
    }

    // ---- scheduling ----

    /// <summary>Marks every step that can go now: skips, conditions, fail steps and groups are decided inline; process steps
    /// that get a slot are marked Starting (with their resolved inputs) and returned, to be started once that is committed.</summary>
    private List<(Node Node, int Attempt, JsonObject Inputs)> Schedule(Tx tx)
    {
        var toStart = new List<(Node, int, JsonObject)>();
        var wantedSlot = false;
        var now = tx.Now;
        DateTimeOffset? nextWake = null;
        deferred = false;
        for (var progressed = true; progressed;)
        {
            progressed = false;
            nextWake = null;
            deferred = false;
            if (tx.RunAfter.State is not (RunState.Queued or RunState.Running))
            {
                break;
            }
            // Once a step failed under FailFast, only finally steps may still start (and groups end).
            var failFast = failure is not null && plan.FailurePolicy == FailurePolicy.FailFast;
            if (failFast && simple)
            {
                break;
            }
            progressed |= SettleGroups(tx);
            var order = graph.Order;
            var maxParallel = tx.RunAfter.MaxParallelSteps ?? plan.MaxParallelSteps;
            var activeNow = maxParallel is null ? 0 : tx.ActiveLiveSteps();
            // Once the server has no slot for this pass (or the run is at its limit), it has none for the rest of it: the
            // steps that wait only for one are not looked at again until the next pass.
            var noSlot = false;
            for (var i = NextToVisit(0, skipQueue: false); i >= 0; i = NextToVisit(i + 1, noSlot || activeNow >= maxParallel))
            {
                // Looked at now: whatever must be looked at again is put back below.
                toVisit.Remove(i);
                slotQueue.Remove(i);
                var node = order[i];
                StopWaitingForRoom(node);
                var sp = node.Plan;
                var s = tx.StepAfter(node.Name);
                if (s.State != StepState.Pending)
                {
                    continue;
                }
                if (node.Group is { } group)
                {
                    var gs = tx.StepAfter(group).State;
                    if (gs is StepState.Pending or StepState.Starting)
                    {
                        continue;
                    }
                    if (gs != StepState.Running)
                    {
                        if (gs == StepState.Skipped)
                        {
                            tx.Step(node.Name, StepTrigger.Skip, x => x with { EndedAt = now }, "skipped: its group did not run");
                        }
                        else
                        {
                            var why = $"not started: its group is {gs}";
                            tx.Step(node.Name, StepTrigger.Cancel, x => x with { EndedAt = now, Reason = why }, why);
                        }
                        progressed = true;
                        continue;
                    }
                }
                if (!DependenciesEnded(tx, node))
                {
                    continue;
                }
                var skip = node.DepSkipped;
                var blocked = node.DepBlocked;
                var isFinally = sp.StartWhen == StartWhen.AllEnded;
                if (failFast && !isFinally)
                {
                    continue;
                }
                if (isFinally)
                {
                    skip = blocked = false;
                }
                if (blocked)
                {
                    const string why = "not started: a step it depends on did not succeed";
                    tx.Step(node.Name, StepTrigger.Cancel, x => x with { EndedAt = now, Reason = why }, why);
                    progressed = true;
                    continue;
                }
                if (!skip && sp.Guard is { } g)
                {
                    skip = tx.StepAfter(node.Resolve(g.ConditionStep)).Outputs?["result"]?.GetValue<bool>() != g.Branch;
                }
                if (!skip && sp.When is { } when && s.Attempt == 0)
                {
                    try
                    {
                        skip = !when.EvaluateBool(new Resolver(this, tx, node.Name, 1, node.Frame));
                    }
                    catch (SluiceException e)
                    {
                        FailAtOnce(tx, node, $"its condition could not be evaluated: {e.Message}");
                        progressed = true;
                        continue;
                    }
                }
                if (skip)
                {
                    tx.Step(node.Name, StepTrigger.Skip, x => x with { EndedAt = now }, "skipped");
                    progressed = true;
                    continue;
                }
                if (s.NotBefore is { } nb && nb > now)
                {
                    nextWake = nextWake is null || nb < nextWake ? nb : nextWake;
                    deferred = true;
                    toVisit.Add(i);
                    continue;
                }
                if (limited && NoRoomFor(node) is { } full)
                {
                    deferred = true;
                    WaitForRoom(node, full);
                    continue;
                }
                switch (sp)
                {
                    case ConditionStepPlan c:
                        RunCondition(tx, node, c, s);
                        progressed = true;
                        break;
                    case FailStepPlan f:
                        RunFail(tx, node, f, s);
                        progressed = true;
                        break;
                    case GroupStepPlan gp:
                        StartGroup(tx, node, gp);
                        progressed = true;
                        break;
                    case RecordStepPlan rec:
                        RecordStep(tx, node, rec, s);
                        progressed = true;
                        break;
                    default:
                        if (activeNow >= maxParallel)
                        {
                            deferred = true;
                            slotQueue.Add(i);
                            continue;
                        }
                        wantedSlot = true;
                        if (noSlot || !engine.Slots.TryAcquire(slotFreed))
                        {
                            noSlot = true;
                            waitingForSlot = true;
                            deferred = true;
                            slotQueue.Add(i);
                            continue;
                        }
                        waitingForSlot = false;
                        if (MarkStarting(tx, node, s) is { } inputs)
                        {
                            toStart.Add((node, s.Attempt + 1, inputs));
                            activeNow++;
                        }
                        else
                        {
                            engine.Slots.Release();
                            progressed = true;
                        }
                        break;
                }
            }
            // Steps waiting for room in a full loop were not looked at: they may start later all the same (an open iteration has
            // a step that is active or was looked at, so this only keeps the rule exact).
            deferred |= waitingForRoom > 0;
            if (failFast && !progressed && tx.ActiveLiveSteps() == 0)
            {
                // Nothing runs any more: what can no longer start never starts, so that groups end and finally steps run.
                foreach (var n in order)
                {
                    if (n.Plan.StartWhen != StartWhen.AllEnded && tx.StepAfter(n.Name) is { State: StepState.Pending } p)
                    {
                        tx.Step(n.Name, p.Attempt > 0 ? StepTrigger.Stop : StepTrigger.Cancel, x => x with { EndedAt = now, NotBefore = null },
                            "run failed");
                        progressed = true;
                    }
                }
            }
        }
        SetWake(nextWake);
        if (!wantedSlot && waitingForSlot)
        {
            // Woken for a slot it no longer wants: step out of the queue so that others are not held up.
            engine.Slots.Forget(slotFreed);
            waitingForSlot = false;
        }
        return toStart;
    }

    /// <summary>The next position at or after <paramref name="from"/> that the scheduling pass looks at.</summary>
    private int NextToVisit(int from, bool skipQueue)
    {
        var next = toVisit.Next(from);
        if (!skipQueue)
        {
            next = First(next, slotQueue.Next(from));
        }
        foreach (var forEach in roomy)
        {
            next = First(next, loops[forEach].Waiting.Next(from));
        }
        return next;
    }

    private static int First(int a, int b) => a < 0 ? b : b < 0 ? a : Math.Min(a, b);

    /// <summary>Whether every step the node depends on has ended; notes on the node how they ended. Each dependency is
    /// read until it has ended, once after that (terminal states never change).</summary>
    private static bool DependenciesEnded(Tx tx, Node node)
    {
        var deps = node.DependsOn;
        while (node.DepsEnded < deps.Count)
        {
            var ds = tx.StepAfter(deps[node.DepsEnded]).State;
            if (!ds.IsTerminal())
            {
                return false;
            }
            node.DepSkipped |= ds == StepState.Skipped;
            node.DepBlocked |= ds is StepState.Failed or StepState.Stopped or StepState.NotStarted;
            node.DepsEnded++;
        }
        return true;
    }

    /// <summary>A step's state changed in the transaction being built: marks what the scheduling pass and the group check must
    /// look at because of it. Nothing else makes a step that was waiting on other steps ready.</summary>
    private void Touched(string name, StepState from, StepState to)
    {
        if (from.IsTerminal())
        {
            // Within one writer a terminal step stays so (a retried run gets a new writer); the index relies on it, so it is
            // rebuilt should that ever change.
            reindex = true;
            return;
        }
        if (reindex || graph.Find(name) is not { } node)
        {
            // Everything is looked at again anyway.
            return;
        }
        if (to == StepState.Pending)
        {
            toVisit.Add(node.Index);
        }
        else
        {
            StopWaitingForRoom(node);
        }
        RecountFrames(node, (to != StepState.Pending ? 1 : 0) - (from != StepState.Pending ? 1 : 0), to.IsTerminal() ? -1 : 0);
        if (to.IsTerminal())
        {
            foreach (var d in graph.DependentsOf(name))
            {
                toVisit.Add(d.Index);
            }
            if (node.Group is { } g && graph.Find(g) is { } group)
            {
                unsettled.Add(group.Index);
            }
        }
        if (node.IsGroup)
        {
            unsettled.Add(node.Index);
            foreach (var m in graph.MembersOf(name))
            {
                toVisit.Add(m.Index);
            }
        }
    }

    /// <summary>A step record made while the run goes (an iteration's step) joined the transaction.</summary>
    private void Added(StepRecord record)
    {
        if (!reindex && graph.Find(record.Name) is { } node)
        {
            RecountFrames(node, record.State != StepState.Pending ? 1 : 0, record.State.IsTerminal() ? 0 : 1);
        }
        Touched(record.Name, StepState.Pending, record.State);
    }

    /// <summary>Looks at everything again: every Pending step, every group (at the start, and after a failure).</summary>
    private void Reindex(Tx tx)
    {
        toVisit.Clear();
        slotQueue.Clear();
        unsettled.Clear();
        loops.Clear();
        roomy.Clear();
        waitingForRoom = 0;
        var frames = new HashSet<Frame>();
        foreach (var n in graph.Order)
        {
            n.DepsEnded = n.MembersEnded = 0;
            n.DepSkipped = n.DepBlocked = false;
            n.WaitsFor = null;
            for (var f = n.Frame; f is not null; f = f.Parent)
            {
                if (f.MaxParallel is not null && frames.Add(f))
                {
                    f.Begun = f.Unfinished = 0;
                }
            }
        }
        foreach (var n in graph.Order)
        {
            var st = tx.StepAfter(n.Name).State;
            if (st == StepState.Pending)
            {
                toVisit.Add(n.Index);
            }
            if (n.IsGroup)
            {
                unsettled.Add(n.Index);
            }
            for (var f = n.Frame; f is not null; f = f.Parent)
            {
                if (f.MaxParallel is not null)
                {
                    f.Begun += st != StepState.Pending ? 1 : 0;
                    f.Unfinished += st.IsTerminal() ? 0 : 1;
                }
            }
        }
        foreach (var f in frames.Where(f => f.IsOpen))
        {
            LoopOf(f.ForEach).Open++;
        }
        reindex = false;
        failureIndexed = failure;
    }

    /// <summary>A step that fails before it runs (Start and Fail in one go).</summary>
    private void FailAtOnce(Tx tx, Node node, string reason)
    {
        var now = tx.Now;
        var attempt = tx.StepAfter(node.Name).Attempt + 1;
        tx.Begin(now);
        tx.Step(node.Name, StepTrigger.Start, x => x with { Attempt = attempt, StartedAt = now }, null);
        tx.Step(node.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = reason }, reason);
        failure ??= $"step {node.Name} failed: {reason}";
    }

    // ---- groups ----

    /// <summary>Starts a group; a for-each makes its iterations' steps now (their records join this commit).</summary>
    private void StartGroup(Tx tx, Node node, GroupStepPlan gp)
    {
        var now = tx.Now;
        JsonObject? data = null;
        List<Node>? made = null;
        if (gp.ForEach is { } fe)
        {
            JsonArray items;
            try
            {
                items = ItemsOf(fe.Items.RenderValue(new Resolver(this, tx, node.Name, 1, node.Frame)));
            }
            catch (SluiceException e)
            {
                FailAtOnce(tx, node, e.Message);
                return;
            }
            if (graph.Order.Count + RunGraph.StepsFor(node, items.Count) > RunGraph.MaxSteps)
            {
                FailAtOnce(tx, node, $"{items.Count} items would give the run more than {RunGraph.MaxSteps} steps in all");
                return;
            }
            if (items.Count > ForEachSpec.MaxItems || RunGraph.StepsFor(node, items.Count) > ForEachSpec.MaxSteps)
            {
                FailAtOnce(tx, node, $"{items.Count} items are too many: a for-each has at most {ForEachSpec.MaxItems} iterations and {ForEachSpec.MaxSteps} steps");
                return;
            }
            data = new JsonObject { ["items"] = items.DeepClone() };
            made = graph.Expand(node, items);
        }
        tx.Begin(now);
        tx.Step(node.Name, StepTrigger.Start, x => x with { Attempt = 1, StartedAt = now, ExecutorData = data }, null);
        tx.Step(node.Name, StepTrigger.Started, null, made is null ? null : $"{made.Count} steps in {data!["items"]!.AsArray().Count} iterations");
        foreach (var n in made ?? [])
        {
            tx.Add(new StepRecord { RunId = run.Id, Name = n.Name, Kind = n.Plan.Kind, State = StepState.Pending, Version = 0 });
        }
    }

    /// <summary>The items of a for-each: a list, or text that holds a JSON list.</summary>
    private static JsonArray ItemsOf(JsonNode? value)
    {
        var node = value;
        if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String)
        {
            try
            {
                node = JsonNode.Parse(v.GetValue<string>());
            }
            catch (System.Text.Json.JsonException)
            {
                throw SluiceException.Invalid($"the items are not a JSON list: {Validation.Show(v.GetValue<string>())}");
            }
        }
        return node is JsonArray a
            ? (a.Parent is null && !ReferenceEquals(a, value) ? a : (JsonArray)a.DeepClone())
            : throw SluiceException.Invalid($"the items are not a list but {(node is null ? "null" : node.GetValueKind().ToString())}");
    }

    /// <summary>Ends every running (or stopping) group whose steps have all ended, innermost first; true if one did.</summary>
    private bool SettleGroups(Tx tx)
    {
        // The first thing of every scheduling pass (and of a stop's drain): where the index of what to look at is rebuilt.
        if (reindex || failure != failureIndexed)
        {
            Reindex(tx);
        }
        var any = false;
        var order = graph.Order;
        // The last one first: a group comes after the group it is in, so inner groups end before outer ones look.
        for (var i = unsettled.Previous(int.MaxValue); i >= 0; i = unsettled.Previous(int.MaxValue))
        {
            unsettled.Remove(i);
            var n = order[i];
            if (!n.IsGroup)
            {
                continue;
            }
            var s = tx.StepAfter(n.Name);
            if (s.State is not (StepState.Running or StepState.Stopping))
            {
                continue;
            }
            var members = graph.MembersOf(n.Name);
            while (n.MembersEnded < members.Count && tx.StepAfter(members[n.MembersEnded].Name).State.IsTerminal())
            {
                n.MembersEnded++;
            }
            if (n.MembersEnded < members.Count)
            {
                continue;
            }
            var now = tx.Now;
            var bad = members.FirstOrDefault(m => tx.StepAfter(m.Name).State is StepState.Failed or StepState.Stopped);
            if (s.State == StepState.Stopping)
            {
                tx.Step(n.Name, StepTrigger.Stopped, x => x with { EndedAt = now }, "stopped");
            }
            else if (bad is not null)
            {
                var reason = $"step {bad.Name} {(tx.StepAfter(bad.Name).State == StepState.Failed ? "failed" : "was stopped")}";
                tx.Step(n.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = reason }, reason);
                failure ??= $"step {n.Name} failed: {reason}";
            }
            else if (members.FirstOrDefault(m => tx.StepAfter(m.Name).State == StepState.NotStarted) is { } never)
            {
                // Only ever after a failure elsewhere, which already fails the run.
                var reason = $"step {never.Name} never started";
                tx.Step(n.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = reason }, reason);
            }
            else
            {
                tx.Step(n.Name, StepTrigger.Succeed, x => x with { EndedAt = now, Outputs = Collected(tx, n) }, "succeeded");
            }
            any = true;
        }
        return any;
    }

    /// <summary>A for-each's collected outputs: for each, the list of one body step's output over the iterations.</summary>
    private JsonObject? Collected(Tx tx, Node n)
    {
        if (n.Plan is not GroupStepPlan { ForEach: { Collect.Count: > 0 } fe })
        {
            return null;
        }
        var count = tx.StepAfter(n.Name).ExecutorData?["items"]?.AsArray().Count ?? 0;
        var outputs = new JsonObject();
        foreach (var (name, from) in fe.Collect)
        {
            var list = new JsonArray();
            for (var i = 0; i < count; i++)
            {
                var step = graph.Find($"{n.Name}[{i}].{from.StepName}");
                list.Add(step is null ? null : tx.StepAfter(step.Name).Outputs?[from.Output]?.DeepClone());
            }
            outputs[name] = list;
        }
        return outputs;
    }

    /// <summary>The limited for-each that has no room for the step's iteration: the iteration has not begun and the loop runs as
    /// many as it may. Null when the step may go.</summary>
    private string? NoRoomFor(Node node)
    {
        for (var f = node.Frame; f is not null; f = f.Parent)
        {
            if (f.MaxParallel is { } max && !f.IsOpen && LoopOf(f.ForEach).Open >= max)
            {
                return f.ForEach;
            }
        }
        return null;
    }

    private Loop LoopOf(string forEach)
    {
        if (!loops.TryGetValue(forEach, out var loop))
        {
            loops[forEach] = loop = new Loop();
        }
        return loop;
    }

    private void WaitForRoom(Node node, string forEach)
    {
        var loop = LoopOf(forEach);
        loop.Waiting.Add(node.Index);
        loop.Count++;
        waitingForRoom++;
        node.WaitsFor = forEach;
    }

    private void StopWaitingForRoom(Node node)
    {
        if (node.WaitsFor is not { } forEach)
        {
            return;
        }
        var loop = loops[forEach];
        loop.Waiting.Remove(node.Index);
        node.WaitsFor = null;
        waitingForRoom--;
        if (--loop.Count == 0)
        {
            roomy.Remove(forEach);
        }
    }

    /// <summary>An iteration's counts changed. When it opens, the steps of it that waited for room need none now; when it
    /// closes, its loop has room for a step that waits.</summary>
    private void Recount(Frame f, int begun, int unfinished)
    {
        var was = f.IsOpen;
        f.Begun += begun;
        f.Unfinished += unfinished;
        if (f.IsOpen == was)
        {
            return;
        }
        var loop = LoopOf(f.ForEach);
        if (f.IsOpen)
        {
            loop.Open++;
            foreach (var n in f.Nodes)
            {
                if (n.WaitsFor is not null)
                {
                    StopWaitingForRoom(n);
                    toVisit.Add(n.Index);
                }
            }
            if (loop.Open >= f.MaxParallel)
            {
                roomy.Remove(f.ForEach);
            }
        }
        else
        {
            loop.Open--;
            if (loop.Count > 0 && loop.Open < f.MaxParallel)
            {
                roomy.Add(f.ForEach);
            }
        }
    }

    /// <summary>Counts a step's change in every limited iteration it is in.</summary>
    private void RecountFrames(Node node, int begun, int unfinished)
    {
        if (!limited || begun == 0 && unfinished == 0)
        {
            return;
        }
        for (var f = node.Frame; f is not null; f = f.Parent)
        {
            if (f.MaxParallel is not null)
            {
                Recount(f, begun, unfinished);
            }
        }
    }

    /// <summary>Pending -> Starting with resolved inputs; a reference that cannot be resolved fails the step instead (null).</summary>
    private JsonObject? MarkStarting(Tx tx, Node node, StepRecord s)
    {
        var sp = node.Plan;
        var now = tx.Now;
        var attempt = s.Attempt + 1;
        tx.Begin(now);
        JsonObject inputs;
        try
        {
            inputs = ResolveInputs(node, new Resolver(this, tx, node.Name, attempt, node.Frame), attempt);
        }
        catch (SluiceException e)
        {
            tx.Step(node.Name, StepTrigger.Start, x => x with { Attempt = attempt, StartedAt = now }, null);
            tx.Step(node.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = e.Message }, e.Message);
            failure ??= $"step {node.Name} failed: {e.Message}";
            return null;
        }
        // A callback step's token is chosen here, so that it is durable before any message carries it. The node that runs the
        // attempt is recorded, so that a node taking the run over knows whether it can see the attempt's process.
        var data = new JsonObject { [NodeKey] = engine.NodeId };
        if (sp is CallbackStepPlan)
        {
            data["token"] = Ids.CallbackToken();
        }
        if (sp.Retry?.Within is not null)
        {
            // A time-bounded retry policy counts from the first attempt, whose start later attempts would overwrite.
            data["firstStartedAt"] = (attempt == 1 ? now : FirstStartedAt(s)).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }
        // Durable before the process exists: after a crash, the attempt is known and is never started twice.
        tx.Step(node.Name, StepTrigger.Start, x => x with
        {
            Attempt = attempt, StartedAt = now, EndedAt = null, NotBefore = null, Inputs = inputs, Reason = null, ExitCode = null, Process = null,
            Outputs = null, ExecutorData = data,
        }, attempt > 1 ? $"attempt {attempt}" : null);
        return inputs;
    }

    private static DateTimeOffset FirstStartedAt(StepRecord s) =>
        s.ExecutorData?["firstStartedAt"]?.GetValue<string>() is { } text
        && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var t)
            ? t
            : s.StartedAt ?? DateTimeOffset.MinValue;

    private void SetWake(DateTimeOffset? at)
    {
        wakeTimer?.Dispose();
        wakeTimer = null;
        if (at is { } t)
        {
            var due = t - engine.Time.GetUtcNow();
            wakeTimer = engine.Time.CreateTimer(_ => Post(new Kick()), null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
    }

    private void RunCondition(Tx tx, Node node, ConditionStepPlan c, StepRecord s)
    {
        var now = tx.Now;
        var attempt = s.Attempt + 1;
        tx.Begin(now);
        tx.Step(node.Name, StepTrigger.Start, x => x with { Attempt = attempt, StartedAt = now }, null);
        try
        {
            var result = c.Condition.EvaluateBool(new Resolver(this, tx, node.Name, attempt, node.Frame));
            tx.Step(node.Name, StepTrigger.Succeed, x => x with { EndedAt = now, Outputs = new JsonObject { ["result"] = result } },
                result ? "condition true" : "condition false");
        }
        catch (SluiceException e)
        {
            tx.Step(node.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = e.Message }, e.Message);
            failure ??= $"step {node.Name} failed: {e.Message}";
        }
    }

    private void RecordStep(Tx tx, Node node, RecordStepPlan rec, StepRecord s)
    {
        var now = tx.Now;
        var attempt = s.Attempt + 1;
        tx.Begin(now);
        tx.Step(node.Name, StepTrigger.Start, x => x with { Attempt = attempt, StartedAt = now }, null);
        try
        {
            var inputs = ResolveInputs(node, new Resolver(this, tx, node.Name, attempt, node.Frame), attempt);
            tx.Step(node.Name, StepTrigger.Succeed, x => x with { EndedAt = now, Inputs = inputs, Outputs = [] }, "recorded");
        }
        catch (SluiceException e)
        {
            tx.Step(node.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = e.Message }, e.Message);
            failure ??= $"step {node.Name} failed: {e.Message}";
        }
    }

    private void RunFail(Tx tx, Node node, FailStepPlan f, StepRecord s)
    {
        var now = tx.Now;
        var attempt = s.Attempt + 1;
        tx.Begin(now);
        tx.Step(node.Name, StepTrigger.Start, x => x with { Attempt = attempt, StartedAt = now }, null);
        string message;
        try
        {
            message = f.Message.Render(new Resolver(this, tx, node.Name, attempt, node.Frame));
        }
        catch (SluiceException e)
        {
            message = $"{f.Message.Source} ({e.Message})";
        }
        tx.Step(node.Name, StepTrigger.Fail, x => x with { EndedAt = now, Reason = message }, message);
        failure ??= message;
    }

    /// <summary>Starts a process whose Starting state is committed; its identity is recorded with the next commit (and in its
    /// directory at once, for re-adoption should the server die before that).</summary>
    private async Task StartProcessAsync(Node node, int attempt, JsonObject inputs, CancellationToken ct)
    {
        var sp = node.Plan;
        var start = new StepStart
        {
            RunId = run.Id, StepName = node.Name, Attempt = attempt, Directory = engine.Options.StepDirectory(run.Id, node.Name, attempt),
            Plan = sp, Inputs = inputs, ExecutorData = steps[node.Name].ExecutorData, Scope = run.Scope,
        };
        if (sp is ProcessStepPlan && active.Count > 0)
        {
            // While other steps of the run are active, a process is spawned off this loop (its directories, posix_spawn):
            // meanwhile the loop goes on with them, e.g. the next one that ended while this one was being started. Its
            // start is durable already (Starting); the loop takes the process in with StepSpawned. The first active step
            // is spawned here (nothing to go on with; two thread hops saved). Other kinds always start here: a callback's
            // answer may come back before StartAsync returns, and must find the step watched.
            _ = Task.Run(async () =>
            {
                IStepExecution spawned;
                try
                {
                    spawned = await StartExecutionAsync(sp, start, ct);
                }
                catch (OperationCanceledException)
                {
                    // The node is going down before the process was started: a restart starts it (it is Starting).
                    engine.Slots.Release();
                    return;
                }
                var message = new StepSpawned(node.Name, sp, attempt, spawned, this);
                if (!Post(message))
                {
                    message.Abandon();
                }
            }, CancellationToken.None);
            return;
        }
        var execution = await StartExecutionAsync(sp, start, ct);
        Post(new StepStarted(node.Name, attempt, execution.Process));
        Watch(node.Name, sp, attempt, execution, holdsSlot: true);
        if (run.State == RunState.Stopping)
        {
            execution.RequestStop(GraceFor(node.Name));
        }
    }

    private async Task<IStepExecution> StartExecutionAsync(StepPlan sp, StepStart start, CancellationToken ct)
    {
        try
        {
            return await engine.ExecutorFor(sp.Kind).StartAsync(start, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new FailedExecution($"could not start: {e.Message}");
        }
    }

    /// <summary>A step's process runs: recorded Running in this batch's commit; while Running may wait (see
    /// <see cref="Hold"/>) it also joins the held ones, so that it stays recorded if this batch ends up not committed.</summary>
    private void Started(Tx tx, StepStarted st, bool holding)
    {
        var before = tx.Changes;
        ApplyStarted(tx, st);
        if (holding && tx.Changes > before)
        {
            heldStarts.Add(st);
        }
    }

    /// <summary>A process spawned off the loop is taken in: watched (its end, its time limit), and stopped at once if the
    /// run's stop is durable already (a stop in this same batch signals it after the commit, with the other active
    /// steps). Its identity is recorded with Running.</summary>
    private StepStarted TakeIn(StepSpawned m)
    {
        Watch(m.Step, m.Plan, m.Attempt, m.Execution, holdsSlot: true);
        if (run.State == RunState.Stopping)
        {
            m.Execution.RequestStop(GraceFor(m.Step));
        }
        return new StepStarted(m.Step, m.Attempt, m.Execution.Process);
    }

    /// <summary>A batch that only says steps are running is not committed on its own: the processes are watched at once,
    /// and Running is recorded with the run's next change, or after <see cref="EngineOptions.RunningRecordDelay"/> if none
    /// comes first. Most short steps end within it, so that their Running and their end share one commit instead of two.
    /// Nothing depends on Running being durable: a step is Starting until then, and a restart finds its process by the pid
    /// its supervisor wrote, as after a crash between the spawn and the commit.</summary>
    private bool Hold(List<Message> batch)
    {
        if (engine.Options.RunningRecordDelay <= TimeSpan.Zero || run.State != RunState.Running || !batch.TrueForAll(m => m is StepStarted or StepSpawned))
        {
            return false;
        }
        foreach (var m in batch)
        {
            heldStarts.Add(m is StepSpawned sp ? TakeIn(sp) : (StepStarted)m);
        }
        ArmHeldTimer();
        return true;
    }

    /// <summary>Records the held Running transitions once their delay has passed, unless a commit takes them first.</summary>
    private void ArmHeldTimer() =>
        heldTimer ??= engine.Time.CreateTimer(_ => Post(new FlushHeld()), null, engine.Options.RunningRecordDelay, Timeout.InfiniteTimeSpan);

    /// <summary>A process spawned after the loop ended (node shutdown or lease lost): let go of it as the loop let go of
    /// the others, and of its slot.</summary>
    private void AbandonSpawned(IStepExecution execution)
    {
        if (killSteps)
        {
            execution.RequestStop(TimeSpan.Zero);
        }
        _ = execution.DisposeAsync().AsTask();
        engine.Slots.Release();
    }

    private void Watch(string name, StepPlan sp, int attempt, IStepExecution execution, bool holdsSlot)
    {
        var a = new Active(execution, attempt, holdsSlot);
        active[name] = a;
        if (sp.Timeout is { } limit && run.State == RunState.Running)
        {
            var started = steps[name].StartedAt ?? engine.Time.GetUtcNow();
            var due = started + limit - engine.Time.GetUtcNow();
            a.Timer = engine.Time.CreateTimer(_ => Post(new StepTimedOut(name, attempt)), null,
                due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
        execution.Completion.ContinueWith(t => Post(new StepDone(name, attempt,
                t.IsCompletedSuccessfully ? t.Result : StepOutcome.Failure($"executor error: {t.Exception?.GetBaseException().Message}"))),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private JsonObject ResolveInputs(Node node, Resolver r, int attempt)
    {
        var inputs = ResolveKindInputs(node, r, attempt);
        if (node.Plan.Properties is { } props)
        {
            inputs["properties"] = props.Render(r);
        }
        return inputs;
    }

    private JsonObject ResolveKindInputs(Node node, Resolver r, int attempt)
    {
        switch (node.Plan)
        {
            case ProcessStepPlan { Layout: { } layout } lp:
                var values = new JsonObject();
                foreach (var (k, v) in lp.Values)
                {
                    values[k] = v.RenderValue(r);
                }
                var dir = engine.Options.StepDirectory(run.Id, node.Name, attempt);
                try
                {
                    Directory.CreateDirectory(dir);
                    return layout.Prepare(new ProcessLaunch
                    {
                        Values = values, Directory = dir, DataDirectory = engine.Options.DataDirectory, RunId = run.Id, StepName = node.Name,
                        Attempt = attempt, PipelineName = run.PipelineName, RunCreatedAt = run.CreatedAt, Scope = run.Scope, FaceData = run.FaceData,
                    });
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw SluiceException.Invalid($"could not prepare the step: {e.Message}");
                }
            case ProcessStepPlan p:
                var paths = new ContainerPaths(p.ContainerPaths, Path.Combine(r.AttemptDirectory, "root"));
                var env = new JsonObject();
                foreach (var (k, v) in p.Env)
                {
                    env[k] = paths.Rewrite(v.Render(r));
                }
                return new JsonObject
                {
                    ["command"] = paths.Rewrite(p.Command.Render(r)),
                    ["args"] = new JsonArray([.. p.Args.Select(a => (JsonNode?)JsonValue.Create(paths.Rewrite(a.Render(r))))]),
                    ["env"] = env,
                    ["workingDir"] = p.WorkingDir?.Render(r) is { } wd ? paths.Rewrite(wd) : null,
                };
            case CallbackStepPlan c:
                var arguments = new JsonObject();
                foreach (var (k, v) in c.Arguments)
                {
                    arguments[k] = v.RenderValue(r);
                }
                return new JsonObject
                {
                    ["queue"] = c.Queue?.Render(r),
                    ["webhook"] = c.Webhook?.Render(r),
                    ["arguments"] = arguments,
                    ["executionArn"] = r.ExecutionArn,
                };
            case FunctionStepPlan fn:
                var functionArguments = new JsonObject();
                foreach (var (k, v) in fn.Arguments)
                {
                    functionArguments[k] = v.RenderValue(r);
                }
                return new JsonObject
                {
                    ["function"] = fn.Function,
                    ["arguments"] = functionArguments,
                    ["timeLimitSeconds"] = fn.TimeLimit?.TotalSeconds,
                };
            default:
                return [];
        }
    }

    // ---- resume after a restart ----

    private async Task ResumeAsync(CancellationToken ct)
    {
        foreach (var s in steps.Values.Where(s => s.State.IsActive()).ToList())
        {
            var sp = graph.Find(s.Name)?.Plan;
            if (sp is null || !engine.HasExecutor(sp.Kind))
            {
                continue;
            }
            var start = new StepStart
            {
                RunId = run.Id, StepName = s.Name, Attempt = s.Attempt, Directory = engine.Options.StepDirectory(run.Id, s.Name, s.Attempt),
                Plan = sp, Inputs = s.Inputs ?? [], ExecutorData = s.ExecutorData, Scope = run.Scope,
            };
            var ranOn = s.ExecutorData?[NodeKey]?.GetValue<string>();
            var moved = ranOn is not null && ranOn != engine.NodeId;
            IStepExecution execution;
            if (!moved || sp is CallbackStepPlan || (await engine.Cluster.NodeAsync(ranOn!, ct))?.SharesStepsWith(engine.Cluster.Self) == true)
            {
                // Its process (if any) is on this machine, in this data directory: watch it again. A callback step waits
                // for its token wherever its run's writer is.
                execution = await engine.ExecutorFor(sp.Kind).AdoptAsync(start, s, ct);
            }
            else
            {
                // The attempt ran on another machine (or data directory) whose node is gone: nothing here can see or end
                // its process, and it is never started again. It ends as lost; a retry policy may start a new attempt.
                var node = await engine.Cluster.NodeAsync(ranOn!, ct);
                var where = node is null ? $"node {ranOn}" : $"node {ranOn} on {node.Host}";
                execution = new FailedExecution(s.State == StepState.Stopping || run.State == RunState.Stopping
                    ? StepOutcome.Stopped($"stopped: lost with {where}, which stopped renewing its lease while the step was stopping")
                    : StepOutcome.Failure($"lost: {where} stopped renewing its lease while the step ran; its process cannot be seen from node {engine.NodeId}"));
            }
            // Re-adopted steps count against the slots like any other; the limit may be exceeded briefly after a restart.
            var holds = engine.Slots.TryAcquire();
            if (s.State == StepState.Starting || moved)
            {
                var tx = new Tx(this, engine.Time.GetUtcNow());
                if (s.State == StepState.Starting)
                {
                    tx.Step(s.Name, StepTrigger.Started, x => x with { Process = execution.Process }, "re-adopted after restart");
                }
                if (moved)
                {
                    tx.Update(s.Name, x =>
                    {
                        var data = (JsonObject?)x.ExecutorData?.DeepClone() ?? [];
                        data[NodeKey] = engine.NodeId;
                        return x with { ExecutorData = data };
                    });
                }
                await tx.CommitAsync(ct);
            }
            Watch(s.Name, sp, s.Attempt, execution, holds);
            if (run.State == RunState.Stopping)
            {
                // An accepted stop is carried out after a crash.
                execution.RequestStop(GraceFor(s.Name));
            }
        }
        if (run.State == RunState.Stopping)
        {
            var tx = new Tx(this, engine.Time.GetUtcNow());
            foreach (var s in steps.Values.Where(s => s.State == StepState.Pending).ToList())
            {
                tx.Step(s.Name, s.Attempt > 0 ? StepTrigger.Stop : StepTrigger.Cancel, x => x with { EndedAt = tx.Now }, "run stopped");
            }
            foreach (var s in steps.Values.Where(s => s.State is StepState.Starting or StepState.Running).ToList())
            {
                tx.Step(s.Name, StepTrigger.Stop, null, "stopping");
            }
            DrainIfIdle(tx);
            if (tx.HasChanges)
            {
                await tx.CommitAsync(ct);
            }
        }
        // A failure that was recorded before the crash still blocks new steps.
        failure ??= steps.Values.FirstOrDefault(s => s.State == StepState.Failed) is { } f ? $"step {f.Name} failed: {f.Reason}" : null;
    }

    // ---- value resolution ----

    private sealed class Resolver(RunActor actor, Tx tx, string step, int attempt, Frame? frame) : IValueResolver
    {
        private static readonly System.Text.Json.JsonSerializerOptions RelaxedJson =
            new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        /// <summary>Most bytes of a JSON file a reference reads from the object directory.</summary>
        private const int MaxJsonFileBytes = 4 * 1024 * 1024;

        public string ExecutionArn => Ids.ExecutionArn(actor.run);

        public string AttemptDirectory => actor.engine.Options.StepDirectory(actor.run.Id, step, attempt);

        public JsonNode? Resolve(Reference reference) => reference switch
        {
            ParamRef p => actor.run.Parameters.TryGetPropertyValue(p.Name, out var v)
                ? v?.DeepClone()
                : throw SluiceException.Invalid($"parameter '{p.Name}' has no value"),
            StepOutputRef o => Record(o.StepName) is { State: StepState.Succeeded, Outputs: { } outs } && outs.TryGetPropertyValue(o.Output, out var ov)
                ? ov?.DeepClone()
                : throw SluiceException.Invalid($"output '{o.Output}' of step '{o.StepName}' is not available"),
            ItemRef i => frame is not null ? frame.ItemOf(i.ForEach)?.DeepClone() : throw SluiceException.Invalid($"no item of for-each '{i.ForEach}' here"),
            StepStatusRef st => Record(st.StepName) is { } sr && sr.State.IsTerminal()
                ? new JsonObject { ["step"] = sr.Name, ["state"] = sr.State.ToString(), ["reason"] = sr.Reason }
                : throw SluiceException.Invalid($"step '{st.StepName}' has not ended"),
            FirstOfRef f => First(f),
            StepPropertyRef sp => Property(sp),
            JsonFileRef f => JsonFile(f),
            ObjectPathRef op => LocalPath(op.Uri.Render(this)),
            JsonTextRef j => j.Document.Render(this)?.ToJsonString(RelaxedJson) ?? "null",
            RunRef { Field: "id" } => actor.run.Id,
            RunRef { Field: "pipeline" } => actor.run.PipelineName,
            RunRef { Field: "attempt" } => attempt,
            RunRef { Field: "arn" } => ExecutionArn,
            RunRef { Field: "pipelineArn" } => Ids.PipelineArn(actor.run),
            RunRef { Field: "location" } => actor.run.Scope.Location,
            RunRef { Field: "account" } => Ids.AccountOf(actor.run),
            RunRef { Field: "startedAt" } => TimeText.Iso(tx.RunAfter.StartedAt ?? tx.Now),
            RunRef { Field: "now" } => TimeText.Iso(tx.Now),
            _ => throw SluiceException.Invalid($"unknown reference {reference}"),
        };

        private StepRecord? Record(string name)
        {
            var resolved = frame?.Resolve(name) ?? name;
            return actor.graph.Find(resolved) is null ? null : tx.StepAfter(resolved);
        }

        private JsonNode? First(FirstOfRef f)
        {
            foreach (var c in f.Choices)
            {
                try
                {
                    return Resolve(c);
                }
                catch (SluiceException)
                {
                    // Not this one (the branch did not run): try the next.
                }
            }
            throw SluiceException.Invalid($"none of {string.Join(", ", f.Choices)} is available");
        }

        private JsonNode? Property(StepPropertyRef r)
        {
            if (Record(r.StepName) is not { } s || s.State != StepState.Succeeded)
            {
                throw SluiceException.Invalid($"properties of step '{r.StepName}' are not available");
            }
            return s.Inputs?["properties"] is { } props && r.Path.TryFind(props, out var value)
                ? value?.DeepClone()
                : throw SluiceException.Invalid($"step '{r.StepName}' has no property {r.Path}");
        }

        private string LocalPath(string uri) =>
            ObjectStore.TryLocalPath(actor.engine.Options.ObjectsDirectory, uri, out var path, out var error)
                ? path
                : throw SluiceException.Invalid(error!);

        private JsonNode? JsonFile(JsonFileRef f)
        {
            var uri = f.Uri.Render(this);
            var path = LocalPath(uri);
            JsonNode? doc;
            try
            {
                var info = new FileInfo(path);
                if (!info.Exists)
                {
                    throw SluiceException.Invalid($"{uri} does not exist (looked for {path})");
                }
                if (info.Length > MaxJsonFileBytes)
                {
                    throw SluiceException.Invalid($"{uri} is larger than {MaxJsonFileBytes / 1024 / 1024} MB");
                }
                doc = JsonNode.Parse(File.ReadAllText(path), documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 256 });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                throw SluiceException.Invalid($"{uri} could not be read as JSON: {e.Message}");
            }
            return f.Path.TryFind(doc, out var value)
                ? value?.DeepClone()
                : throw SluiceException.Invalid($"{uri} has nothing at {f.Path}");
        }
    }

    // ---- one transaction ----

    /// <summary>Changes made while handling one message, committed together with their events.</summary>
    private sealed class Tx(RunActor actor, DateTimeOffset now)
    {
        private readonly Dictionary<string, StepRecord> changed = new(StringComparer.Ordinal);
        private readonly List<RunEvent> events = [];
        private readonly List<string> added = [];
        private RunRecord? runAfter;

        public DateTimeOffset Now => now;

        public RunRecord RunAfter => runAfter ?? actor.run;

        public bool HasChanges => events.Count > 0 || runAfter is not null || changed.Count > 0;

        /// <summary>How many changes were made (each Add, Run, Step, Edit or Update counts one).</summary>
        public int Changes { get; private set; }

        public StepRecord StepAfter(string name) => changed.TryGetValue(name, out var s) ? s : actor.steps[name];

        public IEnumerable<StepRecord> StepsAfter() => actor.steps.Keys.Concat(added).Select(StepAfter);

        /// <summary>A step record made while the run goes (an iteration's step): inserted with this commit.</summary>
        public void Add(StepRecord record)
        {
            added.Add(record.Name);
            changed[record.Name] = record;
            Changes++;
            actor.Added(record);
        }

        /// <summary>The steps active after this transaction: those it changed that are, and the stored active ones it did not
        /// change (groups included).</summary>
        private IEnumerable<string> ActiveAfter()
        {
            foreach (var s in changed.Values)
            {
                if (s.State.IsActive())
                {
                    yield return s.Name;
                }
            }
            foreach (var name in actor.activeSteps)
            {
                if (!changed.ContainsKey(name))
                {
                    yield return name;
                }
            }
        }

        public bool AnyActive() => ActiveAfter().Any();

        /// <summary>How many steps that run something (not groups) are active.</summary>
        public int ActiveLiveSteps() => ActiveAfter().Count(name => actor.graph.Find(name) is { IsLive: true });

        /// <summary>Queued -> Running when the first step begins.</summary>
        public void Begin(DateTimeOffset at)
        {
            if (RunAfter.State == RunState.Queued)
            {
                Run(RunTrigger.Begin, r => r with { StartedAt = at }, null);
            }
        }

        public void Run(RunTrigger? trigger, Func<RunRecord, RunRecord>? mutate, string? message, string? caller = null, JsonObject? data = null)
        {
            if (trigger is null)
            {
                return;
            }
            var before = RunAfter;
            var to = Transitions.Next(before.State, trigger.Value);
            var next = (mutate?.Invoke(before) ?? before) with { State = to };
            runAfter = next;
            Changes++;
            events.Add(new RunEvent
            {
                RunId = before.Id, Kind = trigger == RunTrigger.Stop ? "stop-requested" : "run-state", From = before.State.ToString(),
                To = to.ToString(), At = now, Message = message, Caller = caller, Data = data,
            });
        }

        public void Step(string name, StepTrigger trigger, Func<StepRecord, StepRecord>? mutate, string? message, string kind = "step-state")
        {
            var before = StepAfter(name);
            var to = Transitions.Next(before.State, trigger);
            changed[name] = (mutate?.Invoke(before) ?? before) with { State = to };
            Changes++;
            actor.Touched(name, before.State, to);
            events.Add(new RunEvent
            {
                RunId = before.RunId, Step = name, Kind = kind, From = before.State.ToString(), To = to.ToString(), At = now, Message = message,
                Data = kind == "step-state" && to == StepState.Starting ? new JsonObject { ["attempt"] = changed[name].Attempt } : null,
            });
        }

        /// <summary>Changes the run's fields without a transition, with the event that records it.</summary>
        public void Edit(Func<RunRecord, RunRecord> mutate, RunEvent e)
        {
            runAfter = mutate(RunAfter);
            events.Add(e);
            Changes++;
        }

        /// <summary>Changes a step's fields without a transition (no event).</summary>
        public void Update(string name, Func<StepRecord, StepRecord> mutate)
        {
            var before = StepAfter(name);
            var after = mutate(before);
            changed[name] = after;
            Changes++;
            if (after.State != before.State)
            {
                actor.Touched(name, before.State, after.State);
            }
        }

        public async Task CommitAsync(CancellationToken ct, IdempotencyRecord? idempotency = null)
        {
            var before = actor.run;
            var next = RunAfter with { Version = before.Version + 1, UpdatedAt = now };
            var stepChanges = changed.Values
                .Select(s => actor.steps.TryGetValue(s.Name, out var old)
                    ? new StepChange(s with { Version = old.Version + 1 }, old.Version)
                    : new StepChange(s with { Version = 1 }, 0))
                .ToList();
            var change = new RunChange
            {
                Run = next, ExpectedVersion = before.Version, Steps = stepChanges, Events = events, Idempotency = idempotency,
                Owner = actor.engine.NodeId,
            };
            IReadOnlyList<RunEvent> stored;
            for (var wait = TimeSpan.FromMilliseconds(50); ; wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(2).Ticks)))
            {
                try
                {
                    stored = await actor.engine.Store.CommitAsync(change, ct);
                    break;
                }
                catch (SluiceException e) when (e.Kind == ErrorKind.Unavailable && !ct.IsCancellationRequested)
                {
                    // The store is away: nothing of this change is visible yet, so it waits and is tried again. Had the
                    // commit landed after all, the retry finds the version taken and the writer resumes from the store.
                    await Task.Delay(wait, actor.engine.Time, ct);
                }
            }
            actor.run = next;
            foreach (var sc in stepChanges)
            {
                actor.Store(sc.Step);
            }
            changed.Clear();
            events.Clear();
            added.Clear();
            runAfter = null;
            Changes = 0;
            actor.engine.Published(next, stored);
        }
    }

    // ---- messages and bookkeeping ----

    internal abstract record Message
    {
        /// <summary>Tells a waiting caller that the writer ended before it took this message.</summary>
        public virtual void Abandon()
        {
        }
    }

    internal sealed record Kick : Message;

    /// <summary>Records the held Running transitions (their delay has passed).</summary>
    internal sealed record FlushHeld : Message;

    internal sealed record StopMessage(StopRunRequest Request, TaskCompletionSource<StopAnswer> Reply) : Message
    {
        public override void Abandon() => Reply.TrySetException(new ActorGoneException());
    }

    internal sealed record UpdateMessage(UpdateRunRequest Request, TaskCompletionSource<RunRecord> Reply) : Message
    {
        public override void Abandon() => Reply.TrySetException(new ActorGoneException());
    }

    internal sealed record StepStarted(string Step, int Attempt, ProcessHandle? Process) : Message;

    internal sealed record StepSpawned(string Step, StepPlan Plan, int Attempt, IStepExecution Execution, RunActor Actor) : Message
    {
        public override void Abandon() => Actor.AbandonSpawned(Execution);
    }

    internal sealed record StepDone(string Step, int Attempt, StepOutcome Outcome) : Message;

    internal sealed record StepTimedOut(string Step, int Attempt) : Message;

    internal sealed record CallbackAnswer(string Step, CallbackAnswerRequest Request, TaskCompletionSource<RunRecord> Reply) : Message
    {
        public override void Abandon() => Reply.TrySetException(new ActorGoneException());
    }

    private sealed record Active(IStepExecution Execution, int Attempt, bool HoldsSlot)
    {
        public ITimer? Timer { get; set; }

        public bool TimedOut { get; set; }
    }

    /// <summary>Stands in for an attempt that could not start, so that its failure flows like any other.</summary>
    private sealed class FailedExecution(StepOutcome outcome) : IStepExecution
    {
        public FailedExecution(string reason)
            : this(StepOutcome.Failure(reason))
        {
        }

        public ProcessHandle? Process => null;

        public Task<StepOutcome> Completion { get; } = Task.FromResult(outcome);

        public void RequestStop(TimeSpan grace)
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>The run's actor ended (the run became terminal, or the node is shutting down) before it took the message.</summary>
internal sealed class ActorGoneException() : Exception("the run's writer is gone");
