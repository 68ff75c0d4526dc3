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
    public static string ExecutionArn(Domain.RunRecord run) => $"{PipelineArn(run)}/execution/{run.Id}";

    /// <summary>The SageMaker-style ARN of a run's pipeline: arn:aws:sagemaker:{location}:{account}:pipeline/{name}.</summary>
    public static string PipelineArn(Domain.RunRecord run) =>
        $"arn:aws:sagemaker:{run.Scope.Location}:{AccountOf(run)}:pipeline/{run.PipelineName.ToLowerInvariant()}";

    /// <summary>The AWS account a run is shown under (the one its face recorded, else the default tenant's).</summary>
    public static string AccountOf(Domain.RunRecord run) => run.FaceData?["account"]?.GetValue<string>() ?? DefaultAccount;

    /// <summary>The account of the default tenant (development mode).</summary>
    public const string DefaultAccount = "000000000000";

    /// <summary>A caller-chosen run id: 1-63 characters of [a-z0-9-], starting with a letter, not ending with '-'.</summary>
    public static bool IsValidRunId(string id) =>
        id.Length is >= 1 and <= 63 && id[0] is >= 'a' and <= 'z' && id[^1] != '-'
        && id.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
}
