using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Sluice.Core.Domain;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sluice.Server.Auth;

/// <summary>What a native API token may do; each level includes the ones below it.</summary>
public enum AccessLevel
{
    /// <summary>Read pipelines, runs, steps, logs, events, operations, functions and queues.</summary>
    Read = 1,

    /// <summary>Also start, stop and retry runs, answer callbacks, send, receive and delete queue messages.</summary>
    Run = 2,

    /// <summary>Also create, version and delete pipelines, register and delete functions, create, purge and delete queues,
    /// delete runs: everything that brings new code to the machine or destroys records.</summary>
    Admin = 3,
}

/// <summary>A native API token (native API, CLI, console): who it is, which tenant it acts for ("*": every tenant), how far it
/// may go, and the SHA-256 of its secret (the secret itself need not be kept).</summary>
public sealed record ApiToken(string Name, string Tenant, AccessLevel Level, byte[] Hash)
{
    /// <summary>A token for every tenant: it reads every tenant's resources and creates in the default tenant.</summary>
    public bool AllTenants => Tenant == Credentials.AllTenants;
}

/// <summary>A Vertex bearer token: the projects (ids or numbers, or "*") it may use.</summary>
public sealed record VertexToken(string Name, byte[] Hash, IReadOnlySet<string> Projects);

/// <summary>Every credential the server accepts, read from one credentials file (YAML; see docs/security.md) plus the older
/// conveniences (<c>--aws-credentials</c> and <c>Vertex:*</c> settings), and the aliases that name tenants.</summary>
public sealed partial class Credentials
{
    /// <summary>The tenant of a token that acts for every tenant.</summary>
    public const string AllTenants = "*";

    /// <summary>A file larger than this is not a credentials file.</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    private readonly List<ApiToken> apiTokens = [];
    private readonly List<VertexToken> vertexTokens = [];
    private readonly Dictionary<string, AwsKey> awsKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> accountTenants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> projectTenants = new(StringComparer.Ordinal);

    public IReadOnlyList<ApiToken> ApiTokens => apiTokens;

    public IReadOnlyList<VertexToken> VertexTokens => vertexTokens;

    public IReadOnlyDictionary<string, AwsKey> AwsKeys => awsKeys;

    /// <summary>AWS account id -> tenant, as the tenants section names them.</summary>
    public IReadOnlyDictionary<string, string> AccountTenants => accountTenants;

    /// <summary>Google project id or number -> tenant, as the tenants section (or Vertex:Projects) names them.</summary>
    public IReadOnlyDictionary<string, string> ProjectTenants => projectTenants;

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex TenantName();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex ProjectName();

    [GeneratedRegex(@"^[A-Za-z0-9._:@-]{1,64}$")]
    private static partial Regex TokenName();

    public static bool IsTenant(string? s) => s is not null && TenantName().IsMatch(s);

    /// <summary>The SHA-256 of a presented secret: what tokens are compared by.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>The API token whose secret this is, if any. Every entry is compared in constant time (hashes, so the time
    /// tells nothing about how much of a secret was right).</summary>
    public ApiToken? FindApiToken(string presented)
    {
        var h = Hash(presented);
        ApiToken? found = null;
        foreach (var t in apiTokens)
        {
            if (CryptographicOperations.FixedTimeEquals(t.Hash, h))
            {
                found = t;
            }
        }
        return found;
    }

    public VertexToken? FindVertexToken(string presented)
    {
        var h = Hash(presented);
        VertexToken? found = null;
        foreach (var t in vertexTokens)
        {
            if (CryptographicOperations.FixedTimeEquals(t.Hash, h))
            {
                found = t;
            }
        }
        return found;
    }

    /// <summary>A new random API token: "slu_" and 43 characters of base64url (256 bits).</summary>
    public static string NewToken() =>
        "slu_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void AddApiToken(ApiToken token)
    {
        if (apiTokens.Any(t => t.Name == token.Name))
        {
            throw new CredentialsException($"two API tokens are named '{token.Name}'");
        }
        if (apiTokens.Any(t => CryptographicOperations.FixedTimeEquals(t.Hash, token.Hash)))
        {
            throw new CredentialsException($"API token '{token.Name}' has the same secret as another");
        }
        apiTokens.Add(token);
    }

    public void AddAwsKey(AwsKey key)
    {
        if (!awsKeys.TryAdd(key.AccessKeyId, key))
        {
            throw new CredentialsException($"access key {key.AccessKeyId} is given twice");
        }
    }

    public void AddVertexToken(VertexToken token) => vertexTokens.Add(token);

    public void AliasAccount(string account, string tenant)
    {
        if (accountTenants.TryGetValue(account, out var other) && other != tenant)
        {
            throw new CredentialsException($"account {account} names two tenants ({other} and {tenant})");
        }
        accountTenants[account] = tenant;
    }

    public void AliasProject(string project, string tenant)
    {
        if (projectTenants.TryGetValue(project, out var other) && other != tenant)
        {
            throw new CredentialsException($"project {project} names two tenants ({other} and {tenant})");
        }
        projectTenants[project] = tenant;
    }

    /// <summary>Reads a credentials file (see docs/security.md for the format). Every mistake is an error naming its line:
    /// a credentials file that half works is worse than a server that does not start.</summary>
    public static Credentials Parse(string text, string source)
    {
        var c = new Credentials();
        c.Load(text, source);
        return c;
    }

    public void Load(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new CredentialsException($"{source} line {e.Start.Line}: {e.Message}");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return;
        }
        var root = stream.Documents[0].RootNode as YamlMappingNode ?? throw Error(source, stream.Documents[0].RootNode, "the file must be a mapping");
        foreach (var (k, v) in root.Children)
        {
            switch (Key(source, k))
            {
                case "tenants":
                    foreach (var (tk, tv) in Mapping(source, v, "tenants").Children)
                    {
                        var tenant = Key(source, tk);
                        if (!IsTenant(tenant))
                        {
                            throw Error(source, tk, $"tenant '{tenant}' must be 1-63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
                        }
                        foreach (var (ak, av) in Mapping(source, tv, tenant).Children)
                        {
                            switch (Key(source, ak))
                            {
                                case "awsAccounts":
                                    foreach (var a in Strings(source, av, "awsAccounts"))
                                    {
                                        if (!AwsAuthOptions.IsAccount(a.Value))
                                        {
                                            throw Error(source, a.Node, $"an AWS account is 12 digits, not '{a.Value}'");
                                        }
                                        Wrap(source, a.Node, () => AliasAccount(a.Value, tenant));
                                    }
                                    break;
                                case "gcpProjects":
                                    foreach (var p in Strings(source, av, "gcpProjects"))
                                    {
                                        if (!ProjectName().IsMatch(p.Value))
                                        {
                                            throw Error(source, p.Node, $"'{p.Value}' is not a Google project id or number");
                                        }
                                        Wrap(source, p.Node, () => AliasProject(p.Value, tenant));
                                    }
                                    break;
                                default:
                                    throw Error(source, ak, $"unknown key '{Key(source, ak)}' (a tenant has awsAccounts and gcpProjects)");
                            }
                        }
                    }
                    break;
                case "apiTokens":
                    foreach (var e in Sequence(source, v, "apiTokens"))
                    {
                        var m = Fields(source, e, "an API token", "name", "tenant", "scope", "token", "sha256");
                        var name = Required(source, e, m, "name");
                        if (!TokenName().IsMatch(name))
                        {
                            throw Error(source, m["name"], "a token name is 1-64 of letters, digits and . _ : @ -");
                        }
                        var tenant = Required(source, e, m, "tenant");
                        if (tenant != AllTenants && !IsTenant(tenant))
                        {
                            throw Error(source, m["tenant"], $"tenant '{tenant}' is not a tenant name (or * for every tenant)");
                        }
                        var level = Required(source, e, m, "scope") switch
                        {
                            "read" => AccessLevel.Read,
                            "run" => AccessLevel.Run,
                            "admin" => AccessLevel.Admin,
                            var other => throw Error(source, m["scope"], $"scope must be read, run or admin, not '{other}'"),
                        };
                        Wrap(source, e, () => AddApiToken(new ApiToken(name, tenant, level, Secret(source, e, m))));
                    }
                    break;
                case "awsKeys":
                    foreach (var e in Sequence(source, v, "awsKeys"))
                    {
                        var m = Fields(source, e, "an AWS key", "accessKeyId", "secretAccessKey", "account");
                        var id = Required(source, e, m, "accessKeyId");
                        if (id.Length is < 16 or > 128 || !id.All(char.IsAsciiLetterOrDigit))
                        {
                            throw Error(source, m["accessKeyId"], "an access key id is 16-128 letters and digits");
                        }
                        var secret = Required(source, e, m, "secretAccessKey");
                        var account = Required(source, e, m, "account");
                        if (!AwsAuthOptions.IsAccount(account))
                        {
                            throw Error(source, m["account"], $"an AWS account is 12 digits, not '{account}'");
                        }
                        Wrap(source, e, () => AddAwsKey(new AwsKey(id, secret, account)));
                    }
                    break;
                case "vertexTokens":
                    foreach (var e in Sequence(source, v, "vertexTokens"))
                    {
                        var m = Fields(source, e, "a Vertex token", "name", "projects", "token", "sha256");
                        var name = m.TryGetValue("name", out var n) ? Scalar(source, n, "name") : $"vertex-{vertexTokens.Count + 1}";
                        if (!m.TryGetValue("projects", out var pn))
                        {
                            throw Error(source, e, "a Vertex token needs projects (ids or numbers, or \"*\")");
                        }
                        var projects = Strings(source, pn, "projects").Select(p => p.Value).ToHashSet(StringComparer.Ordinal);
                        if (projects.Count == 0)
                        {
                            throw Error(source, pn, "a Vertex token needs at least one project");
                        }
                        AddVertexToken(new VertexToken(name, Secret(source, e, m), projects));
                    }
                    break;
                default:
                    throw Error(source, k, $"unknown key '{Key(source, k)}' (the file has tenants, apiTokens, awsKeys and vertexTokens)");
            }
        }
    }

    /// <summary>The text of a new credentials file holding one API token.</summary>
    public static string NewFile(string name, string tenant, string scope, string token) => string.Create(CultureInfo.InvariantCulture, $"""
        # Sluice credentials (see docs/security.md). Keep this file private: chmod 600.
        # tenants:        AWS accounts and Google projects that name a tenant
        # apiTokens:      native API, CLI and console (Authorization: Bearer TOKEN); scope read | run | admin
        # awsKeys:        SageMaker and SQS faces (SigV4): accessKeyId, secretAccessKey, account
        # vertexTokens:   Vertex face (Authorization: Bearer TOKEN): token or sha256, projects
        apiTokens:
          - name: {name}
            tenant: "{tenant}"
            scope: {scope}
            sha256: {Convert.ToHexStringLower(Hash(token))}

        """);

    private static byte[] Secret(string source, YamlNode e, Dictionary<string, YamlNode> m)
    {
        var hasToken = m.TryGetValue("token", out var t);
        var hasHash = m.TryGetValue("sha256", out var h);
        if (hasToken == hasHash)
        {
            throw Error(source, e, "give exactly one of token (the secret) and sha256 (its SHA-256 in hex)");
        }
        if (hasToken)
        {
            var secret = Scalar(source, t!, "token");
            if (secret.Length < 16)
            {
                throw Error(source, t!, "a token is at least 16 characters");
            }
            return Hash(secret);
        }
        var hex = Scalar(source, h!, "sha256");
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            throw Error(source, h!, "sha256 is 64 hexadecimal digits");
        }
        return Convert.FromHexString(hex);
    }

    private static void Wrap(string source, YamlNode node, Action add)
    {
        try
        {
            add();
        }
        catch (CredentialsException e)
        {
            throw Error(source, node, e.Message);
        }
    }

    private static CredentialsException Error(string source, YamlNode node, string message) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{source} line {node.Start.Line}: {message}"));

    private static string Key(string source, YamlNode k) => Scalar(source, k, "a key");

    private static string Scalar(string source, YamlNode n, string what) =>
        n is YamlScalarNode { Value: { } s } ? s : throw Error(source, n, $"{what} must be a string");

    private static YamlMappingNode Mapping(string source, YamlNode n, string what) =>
        n as YamlMappingNode ?? throw Error(source, n, $"{what} must be a mapping");

    private static IEnumerable<YamlNode> Sequence(string source, YamlNode n, string what) =>
        n as YamlSequenceNode ?? throw Error(source, n, $"{what} must be a list");

    private static IEnumerable<(string Value, YamlNode Node)> Strings(string source, YamlNode n, string what) =>
        Sequence(source, n, what).Select(x => (Scalar(source, x, $"every entry of {what}"), x));

    private static Dictionary<string, YamlNode> Fields(string source, YamlNode e, string what, params string[] allowed)
    {
        var m = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in Mapping(source, e, what).Children)
        {
            var key = Key(source, k);
            if (!allowed.Contains(key))
            {
                throw Error(source, k, $"unknown key '{key}' in {what} (it has {string.Join(", ", allowed)})");
            }
            m[key] = v;
        }
        return m;
    }

    private static string Required(string source, YamlNode e, Dictionary<string, YamlNode> m, string key) =>
        m.TryGetValue(key, out var n) ? Scalar(source, n, key) : throw Error(source, e, $"{key} is required");
}

/// <summary>A credentials file or setting that cannot be used; the server does not start.</summary>
public sealed class CredentialsException(string message) : Exception(message);
