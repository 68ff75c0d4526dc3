namespace Sluice.Server.Auth;

/// <summary>The server's one authentication switch, shared by every face.</summary>
public static class AuthMode
{
    /// <summary>Reads <c>--auth</c> / <c>SLUICE_AUTH</c>: <c>dev</c> (the default: any credentials are accepted) or
    /// <c>verify</c> (every face checks the credentials configured for it; a face with none configured refuses every
    /// request). <c>sigv4</c> and <c>tokens</c>, the names the faces first used, mean <c>verify</c>.</summary>
    public static bool IsDev(IConfiguration config) =>
        (config["auth"] ?? Environment.GetEnvironmentVariable("SLUICE_AUTH") ?? "dev").Trim().ToLowerInvariant() switch
        {
            "dev" => true,
            "verify" or "sigv4" or "tokens" => false,
            var other => throw new ArgumentException($"--auth must be dev or verify, not '{other}'"),
        };
}
