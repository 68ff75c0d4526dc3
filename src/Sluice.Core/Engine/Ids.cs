using System.Security.Cryptography;

namespace Sluice.Core.Engine;

/// <summary>Run and operation ids: 12 characters, lowercase letters and digits, starting with a letter.</summary>
public static class Ids
{
    private const string Letters = "abcdefghijklmnopqrstuvwxyz";
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public static string New(int length = 12)
    {
        Span<char> c = stackalloc char[length];
        c[0] = Letters[RandomNumberGenerator.GetInt32(Letters.Length)];
        for (var i = 1; i < length; i++)
        {
            c[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }
        return new string(c);
    }

    /// <summary>A callback token: 10 characters of [a-zA-Z0-9], as SageMaker's.</summary>
    public static string CallbackToken()
    {
        const string chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        Span<char> c = stackalloc char[10];
        for (var i = 0; i < c.Length; i++)
        {
            c[i] = chars[RandomNumberGenerator.GetInt32(chars.Length)];
        }
        return new string(c);
    }

    /// <summary>The SageMaker-style ARN of a run's execution: arn:aws:sagemaker:{location}:{account}:pipeline/{name}/execution/{id}.</summary>
    public static string ExecutionArn(Domain.RunRecord run) => ExecutionArn(run, AccountOf(run));

    /// <summary>The execution ARN of a run as seen by an account (the caller's, which owns the run's tenant).</summary>
    public static string ExecutionArn(Domain.RunRecord run, string account) =>
        $"{PipelineArn(run.Scope.Location, account, run.PipelineName)}/execution/{run.Id}";

    /// <summary>The SageMaker-style ARN of a run's pipeline: arn:aws:sagemaker:{location}:{account}:pipeline/{name}.</summary>
    public static string PipelineArn(Domain.RunRecord run) => PipelineArn(run.Scope.Location, AccountOf(run), run.PipelineName);

    /// <summary>arn:aws:sagemaker:{location}:{account}:pipeline/{name}, the name lowercased (SageMaker names are case-insensitive).</summary>
    public static string PipelineArn(string location, string account, string pipelineName) =>
        $"arn:aws:sagemaker:{location}:{account}:pipeline/{pipelineName.ToLowerInvariant()}";

    /// <summary>The AWS account a run is shown under (the one its face recorded, else the default tenant's).</summary>
    public static string AccountOf(Domain.RunRecord run) => run.FaceData?["account"]?.GetValue<string>() ?? DefaultAccount;

    /// <summary>The account of the default tenant (development mode).</summary>
    public const string DefaultAccount = "000000000000";

    /// <summary>A caller-chosen run id: 1-63 characters of [a-z0-9-], starting with a letter, not ending with '-'.</summary>
    public static bool IsValidRunId(string id) =>
        id.Length is >= 1 and <= 63 && id[0] is >= 'a' and <= 'z' && id[^1] != '-'
        && id.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
}
