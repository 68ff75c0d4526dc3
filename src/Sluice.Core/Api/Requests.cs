using System.Text.Json.Nodes;
using Sluice.Core.Domain;

namespace Sluice.Core.Api;

/// <summary>Start a run of a pipeline.</summary>
public sealed record StartRunRequest
{
    public Scope Scope { get; init; } = Scope.Default;
    public required string Pipeline { get; init; }
    /// <summary>The version to run; null runs the latest.</summary>
    public int? Version { get; init; }
    public JsonObject? Parameters { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    /// <summary>A caller-chosen id (Vertex pipelineJobId); null draws one.</summary>
    public string? RunId { get; init; }
    public string? DisplayName { get; init; }
    public string? Description { get; init; }
    /// <summary>Overrides the plan's limit on steps active at once for this run.</summary>
    public int? MaxParallelSteps { get; init; }
    public string? IdempotencyToken { get; init; }
    public string? Caller { get; init; }
    public string Face { get; init; } = "native";
    public JsonObject? FaceData { get; init; }
}

/// <summary>Change a run's display name, description or parallelism; null members are left as they are.</summary>
public sealed record UpdateRunRequest
{
    public required string RunId { get; init; }
    public Scope? Scope { get; init; }
    public string? DisplayName { get; init; }
    public string? Description { get; init; }
    public int? MaxParallelSteps { get; init; }
    public string? Caller { get; init; }
}

/// <summary>Run a failed or stopped run again: succeeded steps keep their outputs, every other step runs again.</summary>
public sealed record RetryRunRequest
{
    public required string RunId { get; init; }
    public Scope? Scope { get; init; }
    /// <summary>Replaces the run's limit on steps active at once when set.</summary>
    public int? MaxParallelSteps { get; init; }
    /// <summary>The same token with the same request answers the first retry again; with another request it is a conflict.</summary>
    public string? IdempotencyToken { get; init; }
    public string? Caller { get; init; }
}

/// <summary>Stop a run.</summary>
public sealed record StopRunRequest
{
    public required string RunId { get; init; }
    /// <summary>When set, a run outside this scope is not found.</summary>
    public Scope? Scope { get; init; }
    public string? IdempotencyToken { get; init; }
    public string? Reason { get; init; }
    public string? Caller { get; init; }
    /// <summary>Overrides every step's grace period; zero kills at once.</summary>
    public TimeSpan? Grace { get; init; }
    /// <summary>A run that is stopping already is a <see cref="ErrorKind.FailedPrecondition"/> instead of an answer without a
    /// second effect (SageMaker: only an Executing execution can be stopped). A replay of the same token still answers.</summary>
    public bool RefuseIfStopping { get; init; }
}

/// <summary>The answer to a stop: the run as it is now, and the state the (first) answer reported.</summary>
public sealed record StopAnswer(RunRecord Run, bool Replayed)
{
    public RunState AnsweredState { get; init; } = Run.State;
}

/// <summary>Stop many runs: by ids, or by a filter resolved when the operation is created.</summary>
public sealed record BatchStopRequest
{
    public Scope? Scope { get; init; }
    public IReadOnlyList<string>? RunIds { get; init; }
    public RunFilter? Filter { get; init; }
    public string? Reason { get; init; }
    public string? Caller { get; init; }
    public TimeSpan? Grace { get; init; }
    public string Face { get; init; } = "native";
    /// <summary>Every named run must exist (in the scope), else the request fails as NotFound and nothing is stopped.</summary>
    public bool RequireAll { get; init; }
}

/// <summary>Delete finished runs as one operation: every one must exist and be finished, else nothing is deleted.</summary>
public sealed record DeleteRunsRequest
{
    public Scope? Scope { get; init; }
    public required IReadOnlyList<string> RunIds { get; init; }
    public string? Caller { get; init; }
    public string Face { get; init; } = "native";
    /// <summary>The caller asked for a batch (kept with the operation, so that a face answers in the shape it was asked).</summary>
    public bool Batch { get; init; }
}

/// <summary>Selects runs by pipeline, state and labels.</summary>
public sealed record RunFilter
{
    public string? Pipeline { get; init; }
    public IReadOnlyList<RunState>? States { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A run with its steps.</summary>
public sealed record RunDetail(RunRecord Run, IReadOnlyList<StepRecord> Steps);

/// <summary>Complete a callback step's token: success with output values (strings), or failure with a reason.</summary>
public sealed record CallbackAnswerRequest
{
    public required string Token { get; init; }
    public required bool Success { get; init; }
    public IReadOnlyDictionary<string, string>? Outputs { get; init; }
    public string? Reason { get; init; }
    /// <summary>The same token with the same request returns the first answer; anything else on an answered token is a conflict.</summary>
    public string? IdempotencyToken { get; init; }
    public Scope? Scope { get; init; }
    public string? Caller { get; init; }

    /// <summary>Identifies the request for replays: idempotency token, outcome, outputs and reason.</summary>
    public string Fingerprint() =>
        $"{IdempotencyToken}\n{Success}\n{string.Join("\n", (Outputs ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value))}\n{Reason}";
}
