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
    string? Reason, int? ExitCode, JsonElement? Inputs, JsonElement? Outputs, int? Pid);

public sealed record RunInfo(
    string Id, string Pipeline, int PipelineVersion, string State, string? DisplayName, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt, DateTimeOffset UpdatedAt, JsonElement Parameters, IReadOnlyDictionary<string, string> Labels, string? Error,
    StopInfo? Stop, IReadOnlyList<StepInfo>? Steps, string? AnsweredState, bool? Replayed);

public sealed record RunPage(IReadOnlyList<RunInfo> Runs, string? NextPageToken);

public sealed record OperationInfo(
    string Id, string Kind, bool Done, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, JsonElement Request, JsonElement Results,
    int PartialFailures, string? Error);

public sealed record OperationPage(IReadOnlyList<OperationInfo> Operations, string? NextPageToken);

public sealed record EventInfo(
    long Seq, string RunId, string? Step, string Kind, string? From, string? To, DateTimeOffset At, string? Message, string? Caller, JsonElement? Data);

public sealed record EventList(IReadOnlyList<EventInfo> Events);

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
