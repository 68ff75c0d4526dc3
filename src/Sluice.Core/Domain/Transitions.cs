using System.Collections.Frozen;

namespace Sluice.Core.Domain;

/// <summary>The one table of legal transitions for runs and steps.</summary>
public static class Transitions
{
    /// <summary>Every legal (run state, trigger) pair and where it leads. A pair absent here is illegal.</summary>
    public static readonly FrozenDictionary<(RunState From, RunTrigger Trigger), RunState> Run =
        new Dictionary<(RunState, RunTrigger), RunState>
        {
            [(RunState.Queued, RunTrigger.Begin)] = RunState.Running,
            [(RunState.Queued, RunTrigger.Stop)] = RunState.Stopped,
            [(RunState.Queued, RunTrigger.Fail)] = RunState.Failed,
            [(RunState.Running, RunTrigger.Stop)] = RunState.Stopping,
            [(RunState.Running, RunTrigger.Succeed)] = RunState.Succeeded,
            [(RunState.Running, RunTrigger.Fail)] = RunState.Failed,
            // A second stop of a stopping run has no second effect.
            [(RunState.Stopping, RunTrigger.Stop)] = RunState.Stopping,
            [(RunState.Stopping, RunTrigger.Drained)] = RunState.Stopped,
            // A function step that hits its time limit while the run stops fails the run (SageMaker seed).
            [(RunState.Stopping, RunTrigger.Fail)] = RunState.Failed,
            // The one way out of a terminal state: an explicit retry, recorded as an event, that runs the steps that did not
            // succeed again under the same id (SageMaker RetryPipelineExecution keeps the execution ARN).
            [(RunState.Failed, RunTrigger.Retry)] = RunState.Running,
            [(RunState.Stopped, RunTrigger.Retry)] = RunState.Running,
        }.ToFrozenDictionary();

    /// <summary>Every legal (step state, trigger) pair and where it leads.</summary>
    public static readonly FrozenDictionary<(StepState From, StepTrigger Trigger), StepState> Step =
        new Dictionary<(StepState, StepTrigger), StepState>
        {
            [(StepState.Pending, StepTrigger.Start)] = StepState.Starting,
            [(StepState.Pending, StepTrigger.Skip)] = StepState.Skipped,
            [(StepState.Pending, StepTrigger.Cancel)] = StepState.NotStarted,
            // A step waiting for its retry when the run stops: it did run, so it is Stopped, not NotStarted.
            [(StepState.Pending, StepTrigger.Stop)] = StepState.Stopped,
            [(StepState.Starting, StepTrigger.Started)] = StepState.Running,
            [(StepState.Starting, StepTrigger.Succeed)] = StepState.Succeeded,
            [(StepState.Starting, StepTrigger.Fail)] = StepState.Failed,
            [(StepState.Starting, StepTrigger.Retry)] = StepState.Pending,
            [(StepState.Starting, StepTrigger.Stop)] = StepState.Stopping,
            [(StepState.Running, StepTrigger.Succeed)] = StepState.Succeeded,
            [(StepState.Running, StepTrigger.Fail)] = StepState.Failed,
            [(StepState.Running, StepTrigger.Retry)] = StepState.Pending,
            [(StepState.Running, StepTrigger.Stop)] = StepState.Stopping,
            [(StepState.Stopping, StepTrigger.Stop)] = StepState.Stopping,
            [(StepState.Stopping, StepTrigger.Stopped)] = StepState.Stopped,
            // An uninterruptible step keeps its real result when it finishes during a stop.
            [(StepState.Stopping, StepTrigger.Succeed)] = StepState.Succeeded,
            [(StepState.Stopping, StepTrigger.Fail)] = StepState.Failed,
            // A retried run runs again every step that did not succeed (or was skipped by a condition).
            [(StepState.Failed, StepTrigger.Retry)] = StepState.Pending,
            [(StepState.Stopped, StepTrigger.Retry)] = StepState.Pending,
            [(StepState.NotStarted, StepTrigger.Retry)] = StepState.Pending,
        }.ToFrozenDictionary();

    public static bool TryNext(RunState from, RunTrigger trigger, out RunState to) => Run.TryGetValue((from, trigger), out to);

    public static bool TryNext(StepState from, StepTrigger trigger, out StepState to) => Step.TryGetValue((from, trigger), out to);

    public static RunState Next(RunState from, RunTrigger trigger) =>
        TryNext(from, trigger, out var to) ? to : throw new IllegalTransitionException($"run: {trigger} is not allowed in state {from}");

    public static StepState Next(StepState from, StepTrigger trigger) =>
        TryNext(from, trigger, out var to) ? to : throw new IllegalTransitionException($"step: {trigger} is not allowed in state {from}");

    public static bool IsTerminal(this RunState s) => s is RunState.Stopped or RunState.Succeeded or RunState.Failed;

    public static bool IsTerminal(this StepState s) =>
        s is StepState.Stopped or StepState.Succeeded or StepState.Failed or StepState.Skipped or StepState.NotStarted;

    /// <summary>A step that may own a live process, call or callback.</summary>
    public static bool IsActive(this StepState s) => s is StepState.Starting or StepState.Running or StepState.Stopping;
}

/// <summary>An attempt to take a transition that the table does not allow.</summary>
public sealed class IllegalTransitionException(string message) : InvalidOperationException(message);
