using System.Net;
using System.Security.Cryptography.X509Certificates;
using Sluice.Server.Auth;

namespace Sluice.Server.Hosting;

/// <summary>Where the server listens, and with what: loopback by default; another address only with authentication on
/// (development mode never leaves the machine), and preferably over TLS (<c>--tls-cert</c>, <c>--tls-key</c>: PEM files).</summary>
internal static class Listening
{
    /// <summary>Refuses what must not be (development mode off loopback, https without a certificate, a certificate without an
    /// https address); returns warnings for what should not be (credentials in clear text off loopback).</summary>
    public static IReadOnlyList<string> Check(string urls, AuthSettings auth, IConfiguration config)
    {
        var tls = config["tls-cert"] is not null;
        var warnings = new List<string>();
        var anyHttps = false;
        foreach (var raw in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (scheme, host) = Parse(raw);
            var https = scheme == "https";
            anyHttps |= https;
            if (IsLoopback(host))
            {
                continue;
            }
            if (auth.Dev)
            {
                throw new ArgumentException(
                    $"--auth dev accepts anyone, so it listens on loopback only (127.0.0.1, [::1], localhost), not {raw}; use --auth verify (the default) to listen there");
            }
            if (!https)
            {
                warnings.Add($"{raw} is not loopback and not TLS: tokens and requests travel in clear text (use https:// with --tls-cert and --tls-key)");
            }
        }
        if (anyHttps && !tls)
        {
            throw new ArgumentException("an https:// address needs a certificate: --tls-cert CERT.pem --tls-key KEY.pem");
        }
        if (tls && !anyHttps)
        {
            warnings.Add("--tls-cert is set but no address is https://: the certificate is not used (e.g. --urls https://0.0.0.0:9443)");
        }
        return warnings;
    }

    /// <summary>Loads the PEM certificate and key for every https:// address.</summary>
    public static void ConfigureTls(IWebHostBuilder host, IConfiguration config)
    {
        if (config["tls-cert"] is not { } certPath)
        {
            if (config["tls-key"] is not null)
            {
                throw new ArgumentException("--tls-key needs --tls-cert");
            }
            return;
        }
        var keyPath = config["tls-key"];
        X509Certificate2 cert;
        try
        {
            cert = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"cannot load the TLS certificate {certPath}{(keyPath is null ? "" : $" with the key {keyPath}")}: {e.Message}", e);
        }
        if (!cert.HasPrivateKey)
        {
            throw new ArgumentException($"{certPath} holds no private key: give it with --tls-key KEY.pem");
        }
        host.ConfigureKestrel(k => k.ConfigureHttpsDefaults(h => h.ServerCertificate = cert));
    }

    private static (string Scheme, string Host) Parse(string url)
    {
        var i = url.IndexOf("://", StringComparison.Ordinal);
        if (i <= 0)
        {
            throw new ArgumentException($"--urls: '{url}' is not an address like http://127.0.0.1:9400");
        }
        var scheme = url[..i].ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--urls: '{url}' must be http:// or https://");
        }
        var rest = url[(i + 3)..];
        string host;
        if (rest.StartsWith('['))
        {
            var end = rest.IndexOf(']', StringComparison.Ordinal);
            host = end > 0 ? rest[1..end] : rest;
        }
        else
        {
            var end = rest.IndexOfAny([':', '/']);
            host = end >= 0 ? rest[..end] : rest;
        }
        return (scheme, host);
    }

    /// <summary>127.0.0.0/8, ::1 and localhost. Kestrel's wildcards (*, +, 0.0.0.0, ::) listen everywhere.</summary>
    public static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
