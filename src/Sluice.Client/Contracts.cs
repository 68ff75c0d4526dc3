using System.Text.Json;

namespace Sluice.Client;

public sealed record ProblemItem(string Path, string Message, int? Line, int? Column);

public sealed record ProblemInfo(string? Title, int Status, string? Detail, IReadOnlyList<ProblemItem>? Problems);

public sealed record PipelineVersionInfo(int Version, string Format, DateTimeOffset CreatedAt, string? Definition);

public sealed record ParameterInfo(string Name, string Type, JsonElement? Default, string? Description);

public sealed record StepSummary(string Name, string Kind, IReadOnlyList<string> DependsOn);

public sealed record PipelineInfo(
    string Id, string Name, string? Description, int LatestVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    PipelineVersionInfo? Version, IReadOnlyList<ParameterInfo>? Parameters, IReadOnlyList<StepSummary>? Steps);

public sealed record PipelinePage(IReadOnlyList<PipelineInfo> Pipelines, string? NextPageToken);

public sealed record ValidationResult(bool Valid, string? Name, IReadOnlyList<ProblemItem> Problems, IReadOnlyList<StepSummary>? Steps);

public sealed record StopInfo(DateTimeOffset At, string? Reason, string? Caller, double? GraceSeconds);

public sealed record StepInfo(
    string Name, string Kind, string State, int Attempt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, DateTimeOffset? RetryAt,
    string? Reason, int? ExitCode, JsonElement? Inputs, JsonElement? Outputs, int? Pid)
{
    /// <summary>The steps this one waits for, from the pipeline version the run froze (null when that is unknown).</summary>
    public IReadOnlyList<string>? DependsOn { get; init; }

    /// <summary>For a step inside a condition's then (true) or else (false) branch.</summary>
    public StepGuard? Guard { get; init; }

    public IReadOnlyDictionary<string, string>? DeclaredOutputs { get; init; }

    /// <summary>The group step it belongs to (for an iteration's step, its for-each or a group inside the body).</summary>
    public string? Group { get; init; }

    /// <summary>For a step made for an iteration of a for-each: which one.</summary>
    public StepIteration? Iteration { get; init; }

    /// <summary>A callback step's token once it has started.</summary>
    public CallbackTokenInfo? Callback { get; init; }
}

public sealed record StepGuard(string Step, bool Branch);

/// <summary>The iteration of a for-each (its step record name) that made a step.</summary>
public sealed record StepIteration(string ForEach, int Index);

public sealed record CallbackTokenInfo(string Token, bool Answered);

public sealed record RunInfo(
    string Id, string Pipeline, int PipelineVersion, string State, string? DisplayName, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt, DateTimeOffset UpdatedAt, JsonElement Parameters, IReadOnlyDictionary<string, string> Labels, string? Error,
    StopInfo? Stop, IReadOnlyList<StepInfo>? Steps, string? AnsweredState, bool? Replayed)
{
    /// <summary>The face (wire dialect) the run was started through: native, sagemaker, vertex.</summary>
    public string? Face { get; init; }

    public string? Location { get; init; }
}

public sealed record RunPage(IReadOnlyList<RunInfo> Runs, string? NextPageToken);

public sealed record OperationInfo(
    string Id, string Kind, bool Done, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, JsonElement Request, JsonElement Results,
    int PartialFailures, string? Error);

public sealed record OperationPage(IReadOnlyList<OperationInfo> Operations, string? NextPageToken);

public sealed record EventInfo(
    long Seq, string RunId, string? Step, string Kind, string? From, string? To, DateTimeOffset At, string? Message, string? Caller, JsonElement? Data);

/// <summary>A page of a run's history, oldest first; <see cref="More"/> when the page is full and there may be more after
/// its last event.</summary>
public sealed record EventList(IReadOnlyList<EventInfo> Events, bool More = false);

/// <summary>Start a run of a pipeline (its latest version unless <see cref="Version"/> says).</summary>
public sealed record StartRun(string Pipeline)
{
    public int? Version { get; init; }
    public IReadOnlyDictionary<string, object?>? Parameters { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public string? DisplayName { get; init; }
    public string? RunId { get; init; }
    public string? IdempotencyToken { get; init; }
}

public sealed record StopRun
{
    public string? Reason { get; init; }
    public double? GraceSeconds { get; init; }
    public string? IdempotencyToken { get; init; }
}

public sealed record RunFilterSpec(string? Pipeline, IReadOnlyList<string>? States, IReadOnlyDictionary<string, string>? Labels);

public sealed record BatchStop
{
    public IReadOnlyList<string>? RunIds { get; init; }
    public RunFilterSpec? Filter { get; init; }
    public string? Reason { get; init; }
    public double? GraceSeconds { get; init; }
}

public sealed record RunListQuery
{
    public string? Pipeline { get; init; }
    public IReadOnlyList<string>? States { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public int PageSize { get; init; } = 50;
    public string? PageToken { get; init; }
}

/// <summary>A registered function (a local command or an HTTP URL) that function steps call.</summary>
public sealed record FunctionInfo(
    string Name, string Kind, IReadOnlyList<string>? Command, string? Url, double TimeLimitSeconds, IReadOnlyDictionary<string, string>? Env,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record FunctionPage(IReadOnlyList<FunctionInfo> Functions, string? NextPageToken);

/// <summary>Registers a function: exactly one of <see cref="Command"/> and <see cref="Url"/>.</summary>
public sealed record PutFunction
{
    public IReadOnlyList<string>? Command { get; init; }
    public string? Url { get; init; }
    public double? TimeLimitSeconds { get; init; }
    public IReadOnlyDictionary<string, string>? Env { get; init; }
}

/// <summary>The answer to a function registration: the function and whether it was new (else replaced).</summary>
public sealed record FunctionPutResult(FunctionInfo Function, bool Created);

/// <summary>The run a callback answer was applied to, and its state after the answer.</summary>
public sealed record CallbackAnswer(string RunId, string State);

public sealed record QueueAttributes(
    double VisibilityTimeoutSeconds, double MessageRetentionSeconds, double ReceiveWaitSeconds, double DelaySeconds, int MaximumMessageSize);

public sealed record QueueMessageCounts(long Visible, long NotVisible, long Delayed);

public sealed record QueueInfo(string Name, DateTimeOffset CreatedAt, QueueAttributes Attributes, QueueMessageCounts? Messages);

public sealed record QueuePage(IReadOnlyList<QueueInfo> Queues, string? NextPageToken);

public sealed record QueueMessageInfo(
    string Id, string Body, string Md5, string ReceiptHandle, int ReceiveCount, DateTimeOffset SentAt, DateTimeOffset? FirstReceivedAt);

public sealed record SentMessageInfo(string Id, string Md5);

/// <summary>Receive from a queue: up to <see cref="MaxMessages"/>, waiting up to <see cref="WaitSeconds"/> when none is visible.</summary>
public sealed record ReceiveMessages
{
    public int? MaxMessages { get; init; }
    public int? VisibilityTimeoutSeconds { get; init; }
    public int? WaitSeconds { get; init; }
}
