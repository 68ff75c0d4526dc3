using System.Text.Json.Nodes;

namespace Sluice.Core.Domain;

/// <summary>Who owns a resource: a tenant and a location (a SageMaker region is a Vertex location).</summary>
public readonly record struct Scope(string Tenant, string Location)
{
    public static readonly Scope Default = new("default", "local");

    /// <summary>The location of a scope that stands for every location of its tenant (no face accepts '*' in a location,
    /// so it never names a real one). Stores list such a scope by tenant alone.</summary>
    public const string AnyLocation = "*";

    /// <summary>Every location of <paramref name="tenant"/>: what a caller of the native API, which is not bound to a
    /// location, may see.</summary>
    public static Scope Tenantwide(string tenant) => new(tenant, AnyLocation);

    public bool IsTenantwide => Location == AnyLocation;

    /// <summary>Whether a resource in <paramref name="other"/> is inside this scope (the same scope, or this one is its
    /// tenant's every location).</summary>
    public bool Covers(Scope other) => Tenant == other.Tenant && (Location == AnyLocation || Location == other.Location);
}

/// <summary>A named pipeline; its definitions live in immutable versions.</summary>
public sealed record PipelineRecord
{
    public required string Id { get; init; }
    public required Scope Scope { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required int LatestVersion { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Which face created it (native, sagemaker, vertex); a face may keep extra fields here.</summary>
    public string Face { get; init; } = "native";
    public JsonObject? FaceData { get; init; }
}

/// <summary>One immutable version of a pipeline's definition, in its source form.</summary>
public sealed record PipelineVersionRecord
{
    public required string PipelineId { get; init; }
    public required int Version { get; init; }
    /// <summary>Definition format: native-yaml, native-json, sagemaker, kfp.</summary>
    public required string Format { get; init; }
    public required string Source { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>The stop request a run has accepted.</summary>
public sealed record StopInfo
{
    public required DateTimeOffset At { get; init; }
    public string? Reason { get; init; }
    public string? Caller { get; init; }
    /// <summary>Overrides every step's grace period when set; zero kills at once.</summary>
    public TimeSpan? Grace { get; init; }
}

/// <summary>A run as stored. The run's writer owns it; everyone else reads.</summary>
public sealed record RunRecord
{
    public required string Id { get; init; }
    public required Scope Scope { get; init; }
    public required string PipelineId { get; init; }
    public required string PipelineName { get; init; }
    public required int PipelineVersion { get; init; }
    public required RunState State { get; init; }
    /// <summary>Compare-and-set version: every committed change adds one.</summary>
    public required long Version { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Parameter values, typed, after defaults were applied.</summary>
    public required JsonObject Parameters { get; init; }
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public string? DisplayName { get; init; }
    /// <summary>Free text about the run (SageMaker PipelineExecutionDescription).</summary>
    public string? Description { get; init; }
    /// <summary>Overrides the plan's limit on steps active at once; null keeps the plan's (SageMaker ParallelismConfiguration).</summary>
    public int? MaxParallelSteps { get; init; }
    /// <summary>Why the run failed, when it did.</summary>
    public string? Error { get; init; }
    public StopInfo? Stop { get; init; }
    /// <summary>Which face started it (native, sagemaker, vertex).</summary>
    public string Face { get; init; } = "native";
    public JsonObject? FaceData { get; init; }
}

/// <summary>Identity of a process a step started, enough to re-adopt it after a restart.</summary>
public sealed record ProcessHandle(int Pid, long StartTime);

/// <summary>A step of a run as stored.</summary>
public sealed record StepRecord
{
    public required string RunId { get; init; }
    public required string Name { get; init; }
    /// <summary>Step kind: process, condition, fail (function and callback later).</summary>
    public required string Kind { get; init; }
    public required StepState State { get; init; }
    public required long Version { get; init; }
    /// <summary>1-based attempt number of the current or last attempt; 0 before the first.</summary>
    public int Attempt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    /// <summary>Earliest time the next attempt may start (retry backoff).</summary>
    public DateTimeOffset? NotBefore { get; init; }
    public string? Reason { get; init; }
    public int? ExitCode { get; init; }
    public JsonObject? Inputs { get; init; }
    public JsonObject? Outputs { get; init; }
    public ProcessHandle? Process { get; init; }
    /// <summary>Executor-specific data needed to re-attach after a restart (callback token, call id...).</summary>
    public JsonObject? ExecutorData { get; init; }
}

/// <summary>One entry of a run's history; written in the same transaction as the change it records.</summary>
public sealed record RunEvent
{
    /// <summary>Global, increasing sequence number assigned by the store (0 before it is stored).</summary>
    public long Seq { get; init; }
    public required string RunId { get; init; }
    public string? Step { get; init; }
    /// <summary>run-state, step-state, stop-requested, step-retry, run-created, log...</summary>
    public required string Kind { get; init; }
    public string? From { get; init; }
    public string? To { get; init; }
    public required DateTimeOffset At { get; init; }
    public string? Message { get; init; }
    public string? Caller { get; init; }
    public JsonObject? Data { get; init; }
}

/// <summary>A remembered answer for an idempotency token.</summary>
public sealed record IdempotencyRecord
{
    /// <summary>What the token is scoped to, e.g. "stop:{tenant}" or "start:{tenant}".</summary>
    public required string Scope { get; init; }
    public required string Token { get; init; }
    /// <summary>A hash of the request, so that the same token with another request is a conflict.</summary>
    public required string RequestHash { get; init; }
    /// <summary>The first answer, serialized.</summary>
    public required string Response { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A durable long-running operation (batch stop, delete...).</summary>
public sealed record OperationRecord
{
    public required string Id { get; init; }
    public required Scope Scope { get; init; }
    /// <summary>batch-stop, delete-run, batch-delete...</summary>
    public required string Kind { get; init; }
    public required long Version { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public required bool Done { get; init; }
    public required JsonObject Request { get; init; }
    /// <summary>Per-item results: { "runId": { "state": ..., "error": ... } }.</summary>
    public required JsonObject Results { get; init; }
    public string? Error { get; init; }
    public string Face { get; init; } = "native";
}
