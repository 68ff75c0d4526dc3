using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.SageMaker;

/// <summary>Pure translations between core records and SageMaker's names, states and shapes.</summary>
internal static class SageMakerMapper
{
    public const string StepFailure = "Step failure: One or multiple steps failed.";

    public static string ExecutionStatus(RunState s) => s switch
    {
        RunState.Queued => "Executing",
        RunState.Running => "Executing",
        RunState.Stopping => "Stopping",
        RunState.Stopped => "Stopped",
        RunState.Succeeded => "Succeeded",
        RunState.Failed => "Failed",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    /// <summary>The step's SageMaker status, or null for a step SageMaker does not list (never started, skipped by a
    /// condition, cancelled before it began).</summary>
    public static string? StepStatus(StepRecord step) => step.State switch
    {
        StepState.Pending => step.Attempt > 0 ? "Starting" : null,
        StepState.Starting => "Starting",
        StepState.Running => "Executing",
        StepState.Stopping => "Stopping",
        StepState.Stopped => "Stopped",
        StepState.Succeeded => "Succeeded",
        StepState.Failed => "Failed",
        StepState.Skipped => null,
        StepState.NotStarted => null,
        _ => throw new ArgumentOutOfRangeException(nameof(step), step.State, null),
    };

    public static double Epoch(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;

    public static double? Epoch(DateTimeOffset? t) => t is { } v ? Epoch(v) : null;

    /// <summary>The pipeline's name as the SageMaker caller gave it (the core keeps it lowercased).</summary>
    public static string NameOf(PipelineRecord p) => p.FaceData?["name"]?.GetValue<string>() ?? p.Name;

    public static string PipelineArn(AwsCaller c, PipelineRecord p) => Ids.PipelineArn(c.Region, c.Account, p.Name);

    public static string ExecutionArn(AwsCaller c, RunRecord r) => Ids.ExecutionArn(r, c.Account);

    public static UserContext User(AwsCaller c) =>
        new(new IamIdentity($"arn:aws:iam::{c.Account}:user/{c.AccessKeyId}", c.AccessKeyId));

    public static ParallelismConfiguration? Parallelism(int? n) => n is { } v ? new ParallelismConfiguration(v) : null;

    /// <summary>"Step failure: ..." when a step failed, as SageMaker says; otherwise the run's own reason.</summary>
    public static string? FailureReason(RunRecord r, IReadOnlyList<StepRecord>? steps) =>
        r.State != RunState.Failed ? null
        : steps is null || steps.Any(s => s.State == StepState.Failed) ? StepFailure
        : r.Error;

    public static PipelineExecutionSummary Summary(AwsCaller c, RunRecord r) => new()
    {
        PipelineExecutionArn = ExecutionArn(c, r),
        StartTime = Epoch(r.CreatedAt),
        PipelineExecutionStatus = ExecutionStatus(r.State),
        PipelineExecutionDescription = r.Description,
        PipelineExecutionDisplayName = r.DisplayName,
        PipelineExecutionFailureReason = FailureReason(r, null),
    };

    /// <summary>A parameter value as SageMaker lists it: always a string.</summary>
    public static string ParameterText(JsonNode? v) => v switch
    {
        null => "",
        JsonValue jv when jv.GetValueKind() == JsonValueKind.String => jv.GetValue<string>(),
        JsonValue jv when jv.GetValueKind() == JsonValueKind.True => "true",
        JsonValue jv when jv.GetValueKind() == JsonValueKind.False => "false",
        _ => v.ToJsonString(),
    };

    public static PipelineExecutionStep Step(AwsCaller c, StepRecord s, string status) => new()
    {
        StepName = s.Name,
        StartTime = Epoch(s.StartedAt),
        EndTime = s.State.IsTerminal() ? Epoch(s.EndedAt) : null,
        StepStatus = status,
        FailureReason = s.State == StepState.Failed ? s.Reason : null,
        Metadata = Metadata(c, s),
        AttemptCount = s.Attempt > 0 ? s.Attempt : null,
    };

    public static StepMetadata Metadata(AwsCaller c, StepRecord s) => s.Kind switch
    {
        "condition" when s.Outputs?["result"] is JsonValue v && v.TryGetValue<bool>(out var b) =>
            new StepMetadata { Condition = new ConditionStepMetadata(b ? "True" : "False") },
        "fail" => new StepMetadata { Fail = new FailStepMetadata(s.Reason ?? "") },
        "callback" => new StepMetadata
        {
            Callback = new CallbackStepMetadata(s.ExecutorData?["token"]?.GetValue<string>(), QueueUrl(c, s.Inputs?["queue"]?.GetValue<string>()),
                Outputs(s.Outputs)),
        },
        "function" => new StepMetadata
        {
            Lambda = new LambdaStepMetadata(s.Inputs?["function"]?.GetValue<string>() is { } f ? LambdaArn(c, f) : null, Outputs(s.Outputs)),
        },
        _ => JobMetadata(s.Inputs?["properties"] as JsonObject),
    };

    /// <summary>A job step's metadata from the properties its definition gave it (the SageMaker compiler's Describe* shapes).</summary>
    private static StepMetadata JobMetadata(JsonObject? p)
    {
        string? Arn(string key) => p?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        return Arn("TrainingJobArn") is { } t ? new StepMetadata { TrainingJob = new ArnMetadata(t) }
            : Arn("ProcessingJobArn") is { } pr ? new StepMetadata { ProcessingJob = new ArnMetadata(pr) }
            : Arn("TransformJobArn") is { } tr ? new StepMetadata { TransformJob = new ArnMetadata(tr) }
            : Arn("ModelPackageArn") is { } mp ? new StepMetadata { RegisterModel = new ArnMetadata(mp) }
            : Arn("ModelArn") is { } m ? new StepMetadata { Model = new ArnMetadata(m) }
            : new StepMetadata();
    }

    /// <summary>A queue named by a step: a URL is shown as given; a bare name as the SQS URL of the caller's account.</summary>
    public static string? QueueUrl(AwsCaller c, string? queue) =>
        queue is null ? null
        : Uri.TryCreate(queue, UriKind.Absolute, out _) ? queue
        : $"https://sqs.{c.Region}.amazonaws.com/{c.Account}/{queue}";

    public static string LambdaArn(AwsCaller c, string function) =>
        function.StartsWith("arn:", StringComparison.Ordinal) ? function : $"arn:aws:lambda:{c.Region}:{c.Account}:function:{function}";

    private static List<OutputParameter>? Outputs(JsonObject? outputs) =>
        outputs is null ? null : [.. outputs.Select(kv => new OutputParameter(kv.Key, ParameterText(kv.Value)))];

    /// <summary>The execution's experiment config: the definition's PipelineExperimentConfig with the execution variables
    /// SageMaker resolves there (Execution.PipelineName, Execution.PipelineExecutionId); null when the definition has none.</summary>
    public static PipelineExperimentConfig? ExperimentConfig(string definition, RunRecord run)
    {
        try
        {
            if (JsonNode.Parse(definition) is not JsonObject d || d["PipelineExperimentConfig"] is not JsonObject cfg)
            {
                return null;
            }
            return new PipelineExperimentConfig(Resolve(cfg["ExperimentName"], run), Resolve(cfg["TrialName"], run));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Resolve(JsonNode? v, RunRecord run)
    {
        if (v is JsonValue s && s.GetValueKind() == JsonValueKind.String)
        {
            return s.GetValue<string>();
        }
        return (v as JsonObject)?["Get"]?.ToString() switch
        {
            "Execution.PipelineName" => run.PipelineName.ToLowerInvariant(),
            "Execution.PipelineExecutionId" => run.Id,
            _ => null,
        };
    }

    /// <summary>An opaque page token over an in-memory list: the offset of the next item and a check of the query it belongs to.</summary>
    public static string OffsetToken(int offset, string query) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"o1:{offset}:{Check(query)}")));

    public static int ParseOffsetToken(string? token, string query)
    {
        if (token is null)
        {
            return 0;
        }
        try
        {
            var parts = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split(':');
            if (parts.Length == 3 && parts[0] == "o1" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                && parts[2] == Check(query))
            {
                return n;
            }
        }
        catch (FormatException)
        {
        }
        throw SageMakerException.Validation($"Invalid pagination token because \"{Core.Api.Validation.Show(token)}\" is not a token of this request.");
    }

    private static string Check(string query) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(query)))[..12];
}
