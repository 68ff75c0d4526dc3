using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sluice.Server.Apis.SageMaker;

// Wire contracts of the 16 pipeline operations (botocore model sagemaker/2017-07-24, see shared/spec). Member names are
// the wire names; every member is optional here so that "absent" is seen and reported by the validator, not by the parser.

#pragma warning disable CA1002, CA2227 // Wire shapes: plain lists that the serializer fills.

/// <summary>A tag of a pipeline.</summary>
public sealed record Tag(string? Key, string? Value);

/// <summary>Limits the steps of an execution that run at once.</summary>
public sealed record ParallelismConfiguration(int? MaxParallelExecutionSteps);

/// <summary>A pipeline parameter value (always a string on the wire).</summary>
public sealed record Parameter(string? Name, string? Value);

/// <summary>A callback or Lambda output value.</summary>
public sealed record OutputParameter(string? Name, string? Value);

/// <summary>Where a pipeline definition lives in S3 (not supported by this server).</summary>
public sealed record PipelineDefinitionS3Location(string? Bucket, string? ObjectKey, string? VersionId);

/// <summary>A step of a selective execution.</summary>
public sealed record SelectedStep(string? StepName);

/// <summary>Re-run only some steps of an earlier execution (not supported by this server).</summary>
public sealed record SelectiveExecutionConfig(string? SourcePipelineExecutionArn, List<SelectedStep>? SelectedSteps);

public sealed record CreatePipelineRequest
{
    public string? PipelineName { get; init; }
    public string? PipelineDisplayName { get; init; }
    public string? PipelineDefinition { get; init; }
    public PipelineDefinitionS3Location? PipelineDefinitionS3Location { get; init; }
    public string? PipelineDescription { get; init; }
    public string? ClientRequestToken { get; init; }
    public string? RoleArn { get; init; }
    public List<Tag>? Tags { get; init; }
    public ParallelismConfiguration? ParallelismConfiguration { get; init; }
}

public sealed record DescribePipelineRequest
{
    public string? PipelineName { get; init; }
    public long? PipelineVersionId { get; init; }
}

public sealed record UpdatePipelineRequest
{
    public string? PipelineName { get; init; }
    public string? PipelineDisplayName { get; init; }
    public string? PipelineDefinition { get; init; }
    public PipelineDefinitionS3Location? PipelineDefinitionS3Location { get; init; }
    public string? PipelineDescription { get; init; }
    public string? RoleArn { get; init; }
    public ParallelismConfiguration? ParallelismConfiguration { get; init; }
}

public sealed record DeletePipelineRequest
{
    public string? PipelineName { get; init; }
    public string? ClientRequestToken { get; init; }
}

public sealed record ListPipelinesRequest
{
    public string? PipelineNamePrefix { get; init; }
    [JsonConverter(typeof(EpochConverter))]
    public DateTimeOffset? CreatedAfter { get; init; }
    [JsonConverter(typeof(EpochConverter))]
    public DateTimeOffset? CreatedBefore { get; init; }
    public string? SortBy { get; init; }
    public string? SortOrder { get; init; }
    public string? NextToken { get; init; }
    public int? MaxResults { get; init; }
}

public sealed record StartPipelineExecutionRequest
{
    public string? PipelineName { get; init; }
    public string? PipelineExecutionDisplayName { get; init; }
    public List<Parameter>? PipelineParameters { get; init; }
    public string? PipelineExecutionDescription { get; init; }
    public string? ClientRequestToken { get; init; }
    public ParallelismConfiguration? ParallelismConfiguration { get; init; }
    public SelectiveExecutionConfig? SelectiveExecutionConfig { get; init; }
    public long? PipelineVersionId { get; init; }
    public string? MlflowExperimentName { get; init; }
}

/// <summary>The request of every operation that names one execution (Stop, Describe, DescribeDefinition, Retry...).</summary>
public sealed record ExecutionRequest
{
    public string? PipelineExecutionArn { get; init; }
    public string? ClientRequestToken { get; init; }
    public ParallelismConfiguration? ParallelismConfiguration { get; init; }
    public string? NextToken { get; init; }
    public int? MaxResults { get; init; }
    public string? SortOrder { get; init; }
    public string? PipelineExecutionDescription { get; init; }
    public string? PipelineExecutionDisplayName { get; init; }
}

public sealed record ListPipelineExecutionsRequest
{
    public string? PipelineName { get; init; }
    [JsonConverter(typeof(EpochConverter))]
    public DateTimeOffset? CreatedAfter { get; init; }
    [JsonConverter(typeof(EpochConverter))]
    public DateTimeOffset? CreatedBefore { get; init; }
    public string? SortBy { get; init; }
    public string? SortOrder { get; init; }
    public string? NextToken { get; init; }
    public int? MaxResults { get; init; }
}

public sealed record SendStepRequest
{
    public string? CallbackToken { get; init; }
    public List<OutputParameter>? OutputParameters { get; init; }
    public string? FailureReason { get; init; }
    public string? ClientRequestToken { get; init; }
}

// ---- responses ----

public sealed record PipelineArnResponse(string PipelineArn, long? PipelineVersionId = null);

public sealed record ExecutionArnResponse(string PipelineExecutionArn);

public sealed record IamIdentity(string? Arn, string? PrincipalId);

public sealed record UserContext(IamIdentity? IamIdentity);

public sealed record DescribePipelineResponse
{
    public required string PipelineArn { get; init; }
    public required string PipelineName { get; init; }
    public string? PipelineDisplayName { get; init; }
    public string? PipelineDefinition { get; init; }
    public string? PipelineDescription { get; init; }
    public string? RoleArn { get; init; }
    public string PipelineStatus { get; init; } = "Active";
    public double? CreationTime { get; init; }
    public double? LastModifiedTime { get; init; }
    public double? LastRunTime { get; init; }
    public UserContext? CreatedBy { get; init; }
    public UserContext? LastModifiedBy { get; init; }
    public ParallelismConfiguration? ParallelismConfiguration { get; init; }
    public long? PipelineVersionId { get; init; }
}

public sealed record PipelineSummary
{
    public required string PipelineArn { get; init; }
    public required string PipelineName { get; init; }
    public string? PipelineDisplayName { get; init; }
    public string? PipelineDescription { get; init; }
    public string? RoleArn { get; init; }
    public double? CreationTime { get; init; }
    public double? LastModifiedTime { get; init; }
    public double? LastExecutionTime { get; init; }
}

public sealed record ListPipelinesResponse(List<PipelineSummary> PipelineSummaries, string? NextToken);

public sealed record PipelineExperimentConfig(string? ExperimentName, string? TrialName);

public sealed record DescribePipelineExecutionResponse
{
    public required string PipelineArn { get; init; }
    public required string PipelineExecutionArn { get; init; }
    public string? PipelineExecutionDisplayName { get; init; }
    public required string PipelineExecutionStatus { get; init; }
    public string? PipelineExecutionDescription { get; init; }
    public PipelineExperimentConfig? PipelineExperimentConfig { get; init; }
    public string? FailureReason { get; init; }
    public double? CreationTime { get; init; }
    public double? LastModifiedTime { get; init; }
    public UserContext? CreatedBy { get; init; }
    public UserContext? LastModifiedBy { get; init; }
    public ParallelismConfiguration? ParallelismConfiguration { get; init; }
    public long? PipelineVersionId { get; init; }
}

public sealed record PipelineExecutionSummary
{
    public required string PipelineExecutionArn { get; init; }
    public double? StartTime { get; init; }
    public required string PipelineExecutionStatus { get; init; }
    public string? PipelineExecutionDescription { get; init; }
    public string? PipelineExecutionDisplayName { get; init; }
    public string? PipelineExecutionFailureReason { get; init; }
}

public sealed record ListPipelineExecutionsResponse(List<PipelineExecutionSummary> PipelineExecutionSummaries, string? NextToken);

public sealed record CallbackStepMetadata(string? CallbackToken, string? SqsQueueUrl, List<OutputParameter>? OutputParameters);

public sealed record LambdaStepMetadata(string? Arn, List<OutputParameter>? OutputParameters);

public sealed record ConditionStepMetadata(string? Outcome);

public sealed record FailStepMetadata(string? ErrorMessage);

/// <summary>The ARN of the job, model or model package a step created.</summary>
public sealed record ArnMetadata(string? Arn);

/// <summary>A tagged union: at most one member is set, by step type.</summary>
public sealed record StepMetadata
{
    public ArnMetadata? TrainingJob { get; init; }
    public ArnMetadata? ProcessingJob { get; init; }
    public ArnMetadata? TransformJob { get; init; }
    public ArnMetadata? Model { get; init; }
    public ArnMetadata? RegisterModel { get; init; }
    public CallbackStepMetadata? Callback { get; init; }
    public LambdaStepMetadata? Lambda { get; init; }
    public ConditionStepMetadata? Condition { get; init; }
    public FailStepMetadata? Fail { get; init; }
}

public sealed record PipelineExecutionStep
{
    public required string StepName { get; init; }
    public double? StartTime { get; init; }
    public double? EndTime { get; init; }
    public required string StepStatus { get; init; }
    public string? FailureReason { get; init; }
    public required StepMetadata Metadata { get; init; }
    public int? AttemptCount { get; init; }
}

public sealed record ListStepsResponse(List<PipelineExecutionStep> PipelineExecutionSteps, string? NextToken);

public sealed record DefinitionForExecutionResponse(string PipelineDefinition, double CreationTime);

public sealed record ListParametersResponse(List<Parameter> PipelineParameters, string? NextToken);

public sealed record ErrorResponse([property: JsonPropertyName("__type")] string Type, [property: JsonPropertyName("message")] string Message);

#pragma warning restore CA1002, CA2227

/// <summary>Request timestamps: epoch seconds (botocore sends integers, the JS SDK fractions), or ISO-8601 text.</summary>
public sealed class EpochConverter : JsonConverter<DateTimeOffset?>
{
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number when reader.TryGetDouble(out var d) && Math.Abs(d) < 1e11:
                return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(d * 1000));
            case JsonTokenType.String:
                var s = reader.GetString()!;
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var ds) && Math.Abs(ds) < 1e11)
                {
                    return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(ds * 1000));
                }
                if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
                {
                    return t;
                }
                break;
        }
        throw new JsonException("a timestamp is epoch seconds or an ISO-8601 string");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } v)
        {
            writer.WriteNumberValue(v.ToUnixTimeMilliseconds() / 1000.0);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>Source-generated serialization of the SageMaker wire shapes.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(CreatePipelineRequest))]
[JsonSerializable(typeof(DescribePipelineRequest))]
[JsonSerializable(typeof(UpdatePipelineRequest))]
[JsonSerializable(typeof(DeletePipelineRequest))]
[JsonSerializable(typeof(ListPipelinesRequest))]
[JsonSerializable(typeof(StartPipelineExecutionRequest))]
[JsonSerializable(typeof(ExecutionRequest))]
[JsonSerializable(typeof(ListPipelineExecutionsRequest))]
[JsonSerializable(typeof(SendStepRequest))]
[JsonSerializable(typeof(PipelineArnResponse))]
[JsonSerializable(typeof(ExecutionArnResponse))]
[JsonSerializable(typeof(DescribePipelineResponse))]
[JsonSerializable(typeof(ListPipelinesResponse))]
[JsonSerializable(typeof(DescribePipelineExecutionResponse))]
[JsonSerializable(typeof(ListPipelineExecutionsResponse))]
[JsonSerializable(typeof(ListStepsResponse))]
[JsonSerializable(typeof(DefinitionForExecutionResponse))]
[JsonSerializable(typeof(ListParametersResponse))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class SageMakerJson : JsonSerializerContext;
