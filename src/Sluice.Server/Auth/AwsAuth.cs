using System.Globalization;
using Sluice.Core.Domain;
using Sluice.Core.Engine;

namespace Sluice.Server.Auth;

/// <summary>How AWS-style requests are authenticated: any key (development) or SigV4 against configured keys.</summary>
public enum AwsAuthMode
{
    /// <summary>Any access key is accepted; the Authorization header is still parsed (region), the account is the configured one.</summary>
    Dev,
    /// <summary>Signatures are verified against the keys of the credentials file.</summary>
    SigV4,
}

/// <summary>A configured access key: its secret and the 12-digit account it acts for.</summary>
public sealed record AwsKey(string AccessKeyId, string Secret, string Account);

/// <summary>Who an AWS-style request comes from, once authenticated: the account, the region of its credential scope, and the
/// Sluice scope they name.</summary>
public sealed record AwsCaller(string AccessKeyId, string Account, string Region, string Service, Scope Scope)
{
    /// <summary>The caller as the core records it in events ("aws:ACCOUNT:AKID").</summary>
    public string Name => $"aws:{Account}:{AccessKeyId}";
}

/// <summary>Settings of the AWS faces (SageMaker and SQS): auth mode, keys, and the account of the default tenant.</summary>
public sealed class AwsAuthOptions
{
    /// <summary>How far a request's X-Amz-Date may be from the server's clock.</summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(5);

    /// <summary>The region of an unsigned request in development mode.</summary>
    public const string DefaultRegion = "us-east-1";

    public AwsAuthMode Mode { get; init; } = AwsAuthMode.Dev;

    /// <summary>The account that is the default tenant ("default"): runs created natively and through SageMaker with this
    /// account are the same runs. In development mode every request acts for it.</summary>
    public string DefaultAccount { get; init; } = Ids.DefaultAccount;

    public IReadOnlyDictionary<string, AwsKey> Keys { get; init; } = new Dictionary<string, AwsKey>(StringComparer.Ordinal);

    /// <summary>Accounts the credentials file names as aliases of tenants.</summary>
    public IReadOnlyDictionary<string, string> AccountTenants { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Account -> tenant: as the credentials file's tenants name it; else the default account is the default tenant
    /// and any other account a tenant of its own name.</summary>
    public string TenantOf(string account) =>
        AccountTenants.TryGetValue(account, out var t) ? t : account == DefaultAccount ? Scope.Default.Tenant : account;

    /// <summary>Reads --aws-account / SLUICE_AWS_ACCOUNT; the keys and tenants come from the credentials.</summary>
    public static AwsAuthOptions FromConfiguration(IConfiguration config, AuthSettings auth)
    {
        ArgumentNullException.ThrowIfNull(auth);
        var mode = auth.Dev ? AwsAuthMode.Dev : AwsAuthMode.SigV4;
        var account = config["aws-account"] ?? Environment.GetEnvironmentVariable("SLUICE_AWS_ACCOUNT") ?? Ids.DefaultAccount;
        if (!IsAccount(account))
        {
            throw new ArgumentException($"--aws-account must be 12 digits, not '{account}'");
        }
        if (auth.Credentials.AccountTenants.TryGetValue(account, out var t) && t != Scope.Default.Tenant)
        {
            throw new CredentialsException($"account {account} is the default tenant's (--aws-account), not {t}'s");
        }
        return new AwsAuthOptions { Mode = mode, DefaultAccount = account, Keys = auth.Credentials.AwsKeys, AccountTenants = auth.Credentials.AccountTenants };
    }

    /// <summary>One key a line: ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID; blank lines and lines starting with # are ignored.</summary>
    public static Dictionary<string, AwsKey> ReadKeys(string path)
    {
        var keys = new Dictionary<string, AwsKey>(StringComparer.Ordinal);
        var n = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || !IsAccount(parts[2]) || parts[0].Length is < 16 or > 128)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"{path} line {n}: expected ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID (12 digits)"));
            }
            keys[parts[0]] = new AwsKey(parts[0], parts[1], parts[2]);
        }
        return keys;
    }

    public static bool IsAccount(string? s) => s is { Length: 12 } && s.All(char.IsAsciiDigit);
}
