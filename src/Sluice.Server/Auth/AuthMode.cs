namespace Sluice.Server.Auth;

/// <summary>The server's one authentication switch, shared by every face.</summary>
public static class AuthMode
{
    /// <summary>Reads <c>--auth</c> / <c>SLUICE_AUTH</c>: <c>verify</c> (the default: every face checks the credentials of the
    /// credentials file) or <c>dev</c> (any credentials are accepted; must be chosen explicitly, and the server says so
    /// loudly). <c>sigv4</c> and <c>tokens</c>, the names the faces first used, mean <c>verify</c>.</summary>
    public static bool IsDev(IConfiguration config) =>
        (config["auth"] ?? Environment.GetEnvironmentVariable("SLUICE_AUTH") ?? "verify").Trim().ToLowerInvariant() switch
        {
            "dev" => true,
            "verify" or "sigv4" or "tokens" => false,
            var other => throw new ArgumentException($"--auth must be dev or verify, not '{other}'"),
        };
}
