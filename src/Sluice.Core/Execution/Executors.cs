using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;

namespace Sluice.Core.Execution;

/// <summary>How an attempt of a step ended.</summary>
public enum OutcomeKind
{
    Succeeded,
    Failed,
    Stopped,
}

/// <summary>The value an execution ends with; the engine turns it into a transition.</summary>
public sealed record StepOutcome(OutcomeKind Kind, JsonObject? Outputs = null, string? Reason = null, int? ExitCode = null)
{
    public static StepOutcome Success(JsonObject? outputs = null, int? exitCode = null) => new(OutcomeKind.Succeeded, outputs, null, exitCode);

    public static StepOutcome Failure(string reason, int? exitCode = null) => new(OutcomeKind.Failed, null, reason, exitCode);

    public static StepOutcome Stopped(string? reason = null) => new(OutcomeKind.Stopped, null, reason);
}

/// <summary>Everything an executor needs to start (or re-attach to) one attempt of a step.</summary>
public sealed record StepStart
{
    public required string RunId { get; init; }
    public required string StepName { get; init; }
    public required int Attempt { get; init; }
    /// <summary>A directory of this attempt's own: logs, outputs, exit status.</summary>
    public required string Directory { get; init; }
    public required StepPlan Plan { get; init; }
    /// <summary>The step's inputs with every reference resolved. For process steps:
    /// {"command": string, "args": [string], "env": {string: string}, "workingDir": string?}.</summary>
    public required JsonObject Inputs { get; init; }

    /// <summary>Data the engine keeps for this attempt in the store (a callback step's token).</summary>
    public JsonObject? ExecutorData { get; init; }

    /// <summary>Who owns the run (a callback queue lives in this scope).</summary>
    public Scope Scope { get; init; } = Scope.Default;
}

/// <summary>One running attempt of a step.</summary>
public interface IStepExecution : IAsyncDisposable
{
    /// <summary>The process to record, so that it can be re-adopted after a restart; null for kinds without one.</summary>
    ProcessHandle? Process { get; }

    /// <summary>Completes once the attempt has ended and nothing it started is alive.</summary>
    Task<StepOutcome> Completion { get; }

    /// <summary>Asks the attempt to stop. Process: SIGTERM to the group now, SIGKILL after <paramref name="grace"/>
    /// (zero: SIGKILL now). Idempotent; a later call with a shorter grace shortens it. Uninterruptible kinds ignore it.</summary>
    void RequestStop(TimeSpan grace);
}

/// <summary>Runs steps of one kind. Executors never write the store: the engine applies transitions.</summary>
public interface IStepExecutor
{
    string Kind { get; }

    /// <summary>Starts an attempt; returns once it has started (a process step: its pid is known and recorded in the directory).</summary>
    Task<IStepExecution> StartAsync(StepStart start, CancellationToken ct);

    /// <summary>Re-attaches to an attempt that was active when the server went down. Alive: watch it.
    /// Ended with a recorded status: that status. Vanished without one: Failed, with a reason that says it was lost.</summary>
    Task<IStepExecution> AdoptAsync(StepStart start, StepRecord record, CancellationToken ct);
}

/// <summary>An executor whose attempts run as processes of this machine, which can outlive an attempt that another node
/// ended (it failed them as lost while this machine's node was away).</summary>
public interface IOrphanReaper
{
    /// <summary>Kills the processes found in the attempt directories under <paramref name="runsDirectory"/>
    /// (RUN/STEP/ATTEMPT) whose attempt is no longer active; returns how many process groups it killed.</summary>
    Task<int> ReapOrphansAsync(string runsDirectory, Func<string, string, int, Task<bool>> attemptIsActive, CancellationToken ct);
}
