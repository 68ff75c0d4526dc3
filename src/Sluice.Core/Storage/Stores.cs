using Sluice.Core.Domain;

namespace Sluice.Core.Storage;

/// <summary>A new version of a run and of some of its steps, with the events that record the change.</summary>
/// <remarks>Committed in one transaction: the run row only if its stored version is <see cref="ExpectedVersion"/>,
/// each step row only if its stored version is its <see cref="StepChange.ExpectedVersion"/>; a step with ExpectedVersion 0
/// is a new one (a step made while the run goes), inserted after the run's other steps, and only if its name is free.</remarks>
public sealed record RunChange
{
    /// <summary>The run's new values; its <see cref="RunRecord.Version"/> must be ExpectedVersion + 1.</summary>
    public required RunRecord Run { get; init; }
    public required long ExpectedVersion { get; init; }
    public IReadOnlyList<StepChange> Steps { get; init; } = [];
    public IReadOnlyList<RunEvent> Events { get; init; } = [];
    /// <summary>An idempotency answer to remember in the same transaction.</summary>
    public IdempotencyRecord? Idempotency { get; init; }
    /// <summary>The node that writes: when set, the commit is refused with <see cref="LeaseLostException"/> unless that
    /// node owns the run (see <see cref="IClusterStore"/>).</summary>
    public string? Owner { get; init; }
}

/// <summary>A step's new values; <see cref="StepRecord.Version"/> must be ExpectedVersion + 1 (0 for a new step).</summary>
public sealed record StepChange(StepRecord Step, long ExpectedVersion);

/// <summary>A filter over runs; newest first unless said otherwise.</summary>
public sealed record RunQuery
{
    /// <summary>Only runs in this scope; a <see cref="Scope.Tenantwide"/> scope lists its tenant's every location.</summary>
    public Scope? Scope { get; init; }
    public string? PipelineName { get; init; }
    public IReadOnlyList<RunState>? States { get; init; }
    /// <summary>Every label here must be on the run with this value.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public DateTimeOffset? CreatedAfter { get; init; }
    public DateTimeOffset? CreatedBefore { get; init; }
    public int PageSize { get; init; } = 50;
    /// <summary>Opaque cursor from a previous page.</summary>
    public string? PageToken { get; init; }
    public bool OldestFirst { get; init; }
}

/// <summary>One page of results and the cursor for the next, if any.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextPageToken);

/// <summary>Runs, their steps, their history and idempotency answers.</summary>
public interface IRunStore
{
    /// <summary>Stores a new run with its steps and first events. Throws <see cref="AlreadyExistsException"/> for a taken id.
    /// Returns the events with their sequence numbers.</summary>
    Task<IReadOnlyList<RunEvent>> CreateRunAsync(RunRecord run, IReadOnlyList<StepRecord> steps, IReadOnlyList<RunEvent> events,
        IdempotencyRecord? idempotency, CancellationToken ct);

    /// <summary>Commits a change; throws <see cref="ConcurrencyException"/> when a version does not match (nothing is written).
    /// Returns the events with their sequence numbers.</summary>
    Task<IReadOnlyList<RunEvent>> CommitAsync(RunChange change, CancellationToken ct);

    Task<RunRecord?> GetRunAsync(string runId, CancellationToken ct);

    Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken ct);

    Task<Page<RunRecord>> ListRunsAsync(RunQuery query, CancellationToken ct);

    /// <summary>The page token that continues a run list (in either order) right after <paramref name="run"/>.</summary>
    string PageTokenAfter(RunRecord run);

    /// <summary>Ids of every run in one of the states, oldest first (used on start-up to resume work).</summary>
    Task<IReadOnlyList<string>> ListRunIdsInStatesAsync(IReadOnlyList<RunState> states, CancellationToken ct);

    /// <summary>Events after a sequence number, oldest first; for one run or, with null, for all.</summary>
    Task<IReadOnlyList<RunEvent>> GetEventsAsync(string? runId, long afterSeq, int limit, CancellationToken ct);

    /// <summary>Deletes a run with its steps and events if its version still matches; false if it does not or it is gone.</summary>
    Task<bool> DeleteRunAsync(string runId, long expectedVersion, CancellationToken ct);

    Task<IdempotencyRecord?> GetIdempotencyAsync(string scope, string token, CancellationToken ct);

    /// <summary>Remembers an answer; returns the record already there if the (scope, token) is taken.</summary>
    Task<IdempotencyRecord> PutIdempotencyAsync(IdempotencyRecord record, CancellationToken ct);

    /// <summary>The run and step whose executor data carries this callback token, if any.</summary>
    Task<(string RunId, string Step)?> FindCallbackAsync(string token, CancellationToken ct);

    /// <summary>Forgets idempotency answers created before <paramref name="olderThan"/>; returns how many.</summary>
    Task<int> PurgeIdempotencyAsync(DateTimeOffset olderThan, CancellationToken ct);
}

/// <summary>Pipelines and their immutable versions.</summary>
public interface IPipelineStore
{
    /// <summary>Creates a pipeline with its first version; <see cref="AlreadyExistsException"/> if the name is taken in the scope.</summary>
    Task CreatePipelineAsync(PipelineRecord pipeline, PipelineVersionRecord firstVersion, CancellationToken ct);

    /// <summary>Adds a version if the pipeline's latest version is still <paramref name="expectedLatest"/>
    /// (<see cref="ConcurrencyException"/> otherwise); updates the pipeline row (latest version, description, updated time).</summary>
    Task AddVersionAsync(PipelineRecord updated, PipelineVersionRecord version, int expectedLatest, CancellationToken ct);

    Task<PipelineRecord?> GetPipelineAsync(Scope scope, string name, CancellationToken ct);

    Task<PipelineRecord?> GetPipelineByIdAsync(string pipelineId, CancellationToken ct);

    /// <summary>Pipelines by name; null scope lists every scope.</summary>
    Task<Page<PipelineRecord>> ListPipelinesAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct);

    Task<PipelineVersionRecord?> GetVersionAsync(string pipelineId, int version, CancellationToken ct);

    Task<IReadOnlyList<PipelineVersionRecord>> ListVersionsAsync(string pipelineId, CancellationToken ct);

    /// <summary>Removes the pipeline from its scope's names; its versions stay for the runs that froze them. False if absent.</summary>
    Task<bool> DeletePipelineAsync(string pipelineId, CancellationToken ct);
}

/// <summary>Durable long-running operations.</summary>
public interface IOperationStore
{
    Task CreateOperationAsync(OperationRecord operation, CancellationToken ct);

    /// <summary>Replaces an operation if its version is still expectedVersion; <see cref="ConcurrencyException"/> otherwise.</summary>
    Task UpdateOperationAsync(OperationRecord operation, long expectedVersion, CancellationToken ct);

    Task<OperationRecord?> GetOperationAsync(string id, CancellationToken ct);

    /// <summary>Newest first; null scope lists every scope, a <see cref="Scope.Tenantwide"/> one its tenant's every location.</summary>
    Task<Page<OperationRecord>> ListOperationsAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct);

    Task<IReadOnlyList<OperationRecord>> ListUnfinishedOperationsAsync(CancellationToken ct);

    Task<bool> DeleteOperationAsync(string id, CancellationToken ct);
}

/// <summary>A compare-and-set lost: someone changed the row first.</summary>
public sealed class ConcurrencyException(string message) : Exception(message);

/// <summary>A key is taken already.</summary>
public sealed class AlreadyExistsException(string message) : Exception(message);
