using System.Globalization;
using System.Text;
using Sluice.Core.Domain;

namespace Sluice.Server.Auth;

/// <summary>How the server authenticates, decided once at start: development mode, or the credentials of one file (created
/// with a local admin token on first start) plus the older per-face conveniences.</summary>
public sealed class AuthSettings
{
    /// <summary>The credentials file in the data directory when none is named.</summary>
    public const string DefaultFileName = "credentials.yaml";

    /// <summary>The file, in the data directory, that holds the local admin token created on first start (0600): the CLI
    /// reads it when it talks to a server on this machine.</summary>
    public const string AdminTokenFileName = "admin.token";

    /// <summary>The name of the token created on first start.</summary>
    public const string LocalAdminName = "local-admin";

    private AuthSettings(bool dev, Credentials credentials, string? path)
    {
        Dev = dev;
        Credentials = credentials;
        CredentialsPath = path;
    }

    /// <summary><c>--auth dev</c>: any caller is accepted and acts for the default tenant with every right.</summary>
    public bool Dev { get; }

    public Credentials Credentials { get; }

    /// <summary>The credentials file read (null when there was none, in development mode).</summary>
    public string? CredentialsPath { get; }

    /// <summary>What the start-up found worth saying (logged once the host's logging is up), never holding a secret.</summary>
    public List<(LogLevel Level, string Message)> Notices { get; } = [];

    /// <summary>The token created on this start, to be shown once on the console; null on every later start.</summary>
    public string? CreatedAdminToken { get; private set; }

    public string? AdminTokenPath { get; private set; }

    /// <summary>Reads <c>--auth</c>, <c>--credentials</c> (or <c>SLUICE_CREDENTIALS</c>; default DATA_DIR/credentials.yaml),
    /// <c>--aws-credentials</c> and the <c>Vertex:*</c> settings. In verify mode a missing default file is created with a new
    /// local admin token (and DATA_DIR/admin.token), both 0600; a named file must exist.</summary>
    public static AuthSettings Load(IConfiguration config, string dataDir)
    {
        var dev = AuthMode.IsDev(config);
        var named = config["credentials"] ?? Environment.GetEnvironmentVariable("SLUICE_CREDENTIALS");
        var path = Path.GetFullPath(named ?? Path.Combine(dataDir, DefaultFileName));
        var credentials = new Credentials();
        AuthSettings settings;
        if (File.Exists(path))
        {
            CheckPermissions(path, out var notice);
            ReadInto(credentials, path);
            settings = new AuthSettings(dev, credentials, path);
            if (notice is not null)
            {
                settings.Notices.Add((LogLevel.Warning, notice));
            }
        }
        else if (named is not null)
        {
            throw new CredentialsException($"the credentials file {path} (--credentials) does not exist");
        }
        else if (dev)
        {
            settings = new AuthSettings(dev, credentials, null);
        }
        else
        {
            settings = new AuthSettings(dev, credentials, path);
            settings.CreateLocalAdmin(path, Path.Combine(dataDir, AdminTokenFileName));
            ReadInto(credentials, path);
        }
        var adminFile = Path.Combine(dataDir, AdminTokenFileName);
        if (settings.AdminTokenPath is null && File.Exists(adminFile))
        {
            settings.AdminTokenPath = adminFile;
        }

        // The older conveniences, folded into the same credentials.
        if ((config["aws-credentials"] ?? Environment.GetEnvironmentVariable("SLUICE_AWS_CREDENTIALS")) is { } awsFile)
        {
            foreach (var key in AwsAuthOptions.ReadKeys(awsFile).Values)
            {
                credentials.AddAwsKey(key);
            }
        }
        foreach (var p in config.GetSection("Vertex:Projects").GetChildren())
        {
            var tenant = p["Tenant"] ?? Scope.Default.Tenant;
            if (!Credentials.IsTenant(tenant))
            {
                throw new CredentialsException($"Vertex:Projects: '{tenant}' is not a tenant name");
            }
            foreach (var alias in new[] { p["Id"], p["Number"] }.Where(x => !string.IsNullOrEmpty(x)))
            {
                credentials.AliasProject(alias!, tenant);
            }
        }
        foreach (var t in config.GetSection("Vertex:Tokens").GetChildren())
        {
            if (string.IsNullOrEmpty(t["Token"]))
            {
                throw new CredentialsException("every Vertex:Tokens entry needs a Token");
            }
            var projects = (t["Projects"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .ToHashSet(StringComparer.Ordinal);
            credentials.AddVertexToken(new VertexToken($"Vertex:Tokens:{t.Key}", Credentials.Hash(t["Token"]!), projects));
        }
        return settings;
    }

    private static void ReadInto(Credentials credentials, string path)
    {
        var info = new FileInfo(path);
        if (info.Length > Credentials.MaxFileBytes)
        {
            throw new CredentialsException($"{path} is larger than {Credentials.MaxFileBytes} bytes: not a credentials file");
        }
        credentials.Load(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>A credentials file others may change is refused (they could give themselves a token); one others may read
    /// is used with a warning (they could read its secrets).</summary>
    private static void CheckPermissions(string path, out string? notice)
    {
        notice = null;
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new CredentialsException($"{path} may be changed by other users: chmod 600 {path}");
        }
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
        {
            notice = $"{path} may be read by other users, and it holds secrets: chmod 600 {path}";
        }
    }

    private void CreateLocalAdmin(string credentialsPath, string tokenPath)
    {
        var token = Credentials.NewToken();
        WritePrivate(tokenPath, token + "\n");
        WritePrivate(credentialsPath, Credentials.NewFile(LocalAdminName, Credentials.AllTenants, "admin", token));
        CreatedAdminToken = token;
        AdminTokenPath = tokenPath;
        Notices.Add((LogLevel.Information, $"created {credentialsPath} with the API token '{LocalAdminName}' (scope admin, every tenant); the token is in {tokenPath}"));
    }

    /// <summary>Writes a file only its owner may read, atomically (a crash leaves the old file or none, never half of one).</summary>
    public static void WritePrivate(string path, string text)
    {
        var tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var f = new FileStream(tmp, options))
        {
            f.Write(Encoding.UTF8.GetBytes(text));
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
