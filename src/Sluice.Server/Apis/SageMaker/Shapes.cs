using System.Text.RegularExpressions;

namespace Sluice.Server.Apis.SageMaker;

/// <summary>Patterns of the model's shapes, anchored (the newer model dropped the anchors; the service matches whole values).</summary>
internal static partial class Shapes
{
    [GeneratedRegex(@"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")]
    public static partial Regex PipelineName();

    [GeneratedRegex(@"^(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:([0-9]{12}|aws):pipeline/.*)?([a-zA-Z0-9](-*[a-zA-Z0-9]){0,255})$")]
    public static partial Regex PipelineNameOrArn();

    [GeneratedRegex(@"^arn:aws[a-z\-]*:sagemaker:(?<region>[a-z0-9\-]*):(?<account>[0-9]{12}|aws):pipeline/(?<name>[^/]+)$")]
    public static partial Regex PipelineArn();

    [GeneratedRegex(@"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline\/.*\/execution\/.*$")]
    public static partial Regex PipelineExecutionArn();

    [GeneratedRegex(@"^arn:aws[a-z\-]*:sagemaker:(?<region>[a-z0-9\-]*):(?<account>[0-9]{12}):pipeline/(?<name>[^/]+)/execution/(?<id>[^/]+)$")]
    public static partial Regex ExecutionArnParts();

    [GeneratedRegex(@"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")]
    public static partial Regex ExecutionName();

    [GeneratedRegex(@"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")]
    public static partial Regex RoleArn();

    [GeneratedRegex(@"^[A-Za-z0-9\-_]*$")]
    public static partial Regex ParameterName();

    [GeneratedRegex(@"^[a-zA-Z0-9]+$")]
    public static partial Regex CallbackToken();

    [GeneratedRegex(@"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")]
    public static partial Regex TagText();

    [GeneratedRegex(@"^[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9]$")]
    public static partial Regex BucketName();
}
