using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sluice.Server.Apis.Vertex;

/// <summary>google.cloud.aiplatform.v1.PipelineState.</summary>
internal enum PipelineState
{
    [JsonStringEnumMemberName("PIPELINE_STATE_UNSPECIFIED")] Unspecified = 0,
    [JsonStringEnumMemberName("PIPELINE_STATE_QUEUED")] Queued = 1,
    [JsonStringEnumMemberName("PIPELINE_STATE_PENDING")] Pending = 2,
    [JsonStringEnumMemberName("PIPELINE_STATE_RUNNING")] Running = 3,
    [JsonStringEnumMemberName("PIPELINE_STATE_SUCCEEDED")] Succeeded = 4,
    [JsonStringEnumMemberName("PIPELINE_STATE_FAILED")] Failed = 5,
    [JsonStringEnumMemberName("PIPELINE_STATE_CANCELLING")] Cancelling = 6,
    [JsonStringEnumMemberName("PIPELINE_STATE_CANCELLED")] Cancelled = 7,
    [JsonStringEnumMemberName("PIPELINE_STATE_PAUSED")] Paused = 8,
}

/// <summary>google.cloud.aiplatform.v1.PipelineTaskDetail.State.</summary>
internal enum TaskState
{
    [JsonStringEnumMemberName("STATE_UNSPECIFIED")] Unspecified = 0,
    [JsonStringEnumMemberName("PENDING")] Pending = 1,
    [JsonStringEnumMemberName("RUNNING")] Running = 2,
    [JsonStringEnumMemberName("SUCCEEDED")] Succeeded = 3,
    [JsonStringEnumMemberName("CANCEL_PENDING")] CancelPending = 4,
    [JsonStringEnumMemberName("CANCELLING")] Cancelling = 5,
    [JsonStringEnumMemberName("CANCELLED")] Cancelled = 6,
    [JsonStringEnumMemberName("FAILED")] Failed = 7,
    [JsonStringEnumMemberName("SKIPPED")] Skipped = 8,
    [JsonStringEnumMemberName("NOT_TRIGGERED")] NotTriggered = 9,
}

/// <summary>google.cloud.aiplatform.v1.Execution.State (the MLMD execution inside a task detail).</summary>
internal enum ExecutionState
{
    [JsonStringEnumMemberName("STATE_UNSPECIFIED")] Unspecified = 0,
    [JsonStringEnumMemberName("NEW")] New = 1,
    [JsonStringEnumMemberName("RUNNING")] Running = 2,
    [JsonStringEnumMemberName("COMPLETE")] Complete = 3,
    [JsonStringEnumMemberName("FAILED")] Failed = 4,
    [JsonStringEnumMemberName("CACHED")] Cached = 5,
    [JsonStringEnumMemberName("CANCELLED")] Cancelled = 6,
}

/// <summary>google.rpc.Status, as inside a PipelineJob, a task detail or an Operation (code = gRPC number).</summary>
internal sealed record RpcStatus
{
    public int Code { get; init; }
    public string? Message { get; init; }
    public List<JsonObject>? Details { get; init; }
}

internal sealed record PipelineJob
{
    public string? Name { get; init; }
    public string? DisplayName { get; init; }
    public string? CreateTime { get; init; }
    public string? StartTime { get; init; }
    public string? EndTime { get; init; }
    public string? UpdateTime { get; init; }
    public JsonObject? PipelineSpec { get; init; }
    public PipelineState State { get; init; }
    public PipelineJobDetail? JobDetail { get; init; }
    public RpcStatus? Error { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public JsonObject? RuntimeConfig { get; init; }
    public JsonObject? EncryptionSpec { get; init; }
    public string? ServiceAccount { get; init; }
    public string? Network { get; init; }
    public List<string>? ReservedIpRanges { get; init; }
    public string? TemplateUri { get; init; }
    public string? ScheduleName { get; init; }
    public bool PreflightValidations { get; init; }
}

internal sealed record PipelineJobDetail
{
    public MlmdContext? PipelineContext { get; init; }
    public MlmdContext? PipelineRunContext { get; init; }
    public List<PipelineTaskDetail>? TaskDetails { get; init; }
}

internal sealed record MlmdContext
{
    public string? Name { get; init; }
    public string? DisplayName { get; init; }
    public string? SchemaTitle { get; init; }
    public string? CreateTime { get; init; }
    public string? UpdateTime { get; init; }
}

internal sealed record PipelineTaskDetail
{
    /// <summary>int64, as a string.</summary>
    public string? TaskId { get; init; }
    public string? ParentTaskId { get; init; }
    public string? TaskName { get; init; }
    public string? TaskUniqueName { get; init; }
    public string? CreateTime { get; init; }
    public string? StartTime { get; init; }
    public string? EndTime { get; init; }
    public TaskState State { get; init; }
    public TaskExecution? Execution { get; init; }
    public RpcStatus? Error { get; init; }
    public Dictionary<string, ArtifactList>? Inputs { get; init; }
    public Dictionary<string, ArtifactList>? Outputs { get; init; }
}

internal sealed record TaskExecution
{
    public string? DisplayName { get; init; }
    public ExecutionState State { get; init; }
    public string? SchemaTitle { get; init; }
    public JsonObject? Metadata { get; init; }
}

internal sealed record ArtifactList
{
    public List<MlmdArtifact>? Artifacts { get; init; }
}

internal sealed record MlmdArtifact
{
    public string? Name { get; init; }
    public string? DisplayName { get; init; }
    public string? Uri { get; init; }
    public string? SchemaTitle { get; init; }
    public string? SchemaVersion { get; init; }
    public JsonObject? Metadata { get; init; }
}

internal sealed record ListPipelineJobsResponse
{
    public List<JsonObject>? PipelineJobs { get; init; }
    public string? NextPageToken { get; init; }
}

/// <summary>google.longrunning.Operation; <see cref="Metadata"/> and <see cref="Response"/> are Any (with "@type").</summary>
internal sealed record Operation
{
    public string? Name { get; init; }
    public JsonObject? Metadata { get; init; }
    public bool Done { get; init; }
    public RpcStatus? Error { get; init; }
    public JsonObject? Response { get; init; }
}

internal sealed record ListOperationsResponse
{
    public List<Operation>? Operations { get; init; }
    public string? NextPageToken { get; init; }
}

internal sealed record GenericOperationMetadata
{
    public List<RpcStatus>? PartialFailures { get; init; }
    public string? CreateTime { get; init; }
    public string? UpdateTime { get; init; }
}

/// <summary>The error envelope of Google REST APIs.</summary>
internal sealed record ErrorEnvelope(ErrorBody Error);

internal sealed record ErrorBody
{
    /// <summary>The HTTP status.</summary>
    public int Code { get; init; }
    public string? Message { get; init; }
    /// <summary>The google.rpc.Code name.</summary>
    public string? Status { get; init; }
    public List<JsonObject>? Details { get; init; }
}

/// <summary>Vertex JSON with enums by name (the default of Google's REST APIs).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(PipelineJob))]
[JsonSerializable(typeof(ListPipelineJobsResponse))]
[JsonSerializable(typeof(Operation))]
[JsonSerializable(typeof(ListOperationsResponse))]
[JsonSerializable(typeof(GenericOperationMetadata))]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(RpcStatus))]
internal sealed partial class VertexJsonNames : JsonSerializerContext;

/// <summary>Vertex JSON with enums as numbers, for callers that ask with <c>$alt=json;enum-encoding=int</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(PipelineJob))]
[JsonSerializable(typeof(ListPipelineJobsResponse))]
[JsonSerializable(typeof(Operation))]
[JsonSerializable(typeof(ListOperationsResponse))]
[JsonSerializable(typeof(GenericOperationMetadata))]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(RpcStatus))]
internal sealed partial class VertexJsonInts : JsonSerializerContext;

/// <summary>Serializes contracts in the encoding the caller asked for.</summary>
internal static class VertexJson
{
    public static JsonNode ToNode<T>(T value, bool intEnums)
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)(intEnums ? (JsonSerializerContext)VertexJsonInts.Default : VertexJsonNames.Default)
            .GetTypeInfo(typeof(T))!;
        return JsonSerializer.SerializeToNode(value, info)!;
    }

    /// <summary>Writes <paramref name="value"/> straight to <paramref name="body"/> (a job of thousands of tasks is megabytes:
    /// no string of it is made first).</summary>
    public static Task WriteAsync<T>(Stream body, T value, bool intEnums, CancellationToken ct)
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)(intEnums ? (JsonSerializerContext)VertexJsonInts.Default : VertexJsonNames.Default)
            .GetTypeInfo(typeof(T))!;
        return JsonSerializer.SerializeAsync(body, value, info, ct);
    }

    public static string Write<T>(T value, bool intEnums)
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)(intEnums ? (JsonSerializerContext)VertexJsonInts.Default : VertexJsonNames.Default)
            .GetTypeInfo(typeof(T))!;
        return JsonSerializer.Serialize(value, info);
    }
}
