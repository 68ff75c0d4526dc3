namespace Sluice.Core.Execution;

/// <summary>Which URLs the server itself may call on behalf of a pipeline (URL functions, callback webhooks): a list of URL
/// prefixes (<c>https://hooks.example.com/sluice/</c>; a host <c>*.example.com</c> covers its subdomains; port <c>*</c> any
/// port), or <c>*</c> for any URL. A server that calls whatever a definition names can be turned against what only it can
/// reach (SSRF); the default reaches this machine only.</summary>
public sealed class UrlAllowlist
{
    /// <summary>The default: http(s) on this machine's loopback addresses, any port.</summary>
    public static readonly UrlAllowlist LoopbackOnly = Parse("http://127.0.0.1:*/,https://127.0.0.1:*/,http://localhost:*/,https://localhost:*/,http://[::1]:*/,https://[::1]:*/");

    /// <summary>Any http(s) URL.</summary>
    public static readonly UrlAllowlist Any = new([], any: true, "*");

    private readonly IReadOnlyList<Entry> entries;
    private readonly bool any;

    private UrlAllowlist(IReadOnlyList<Entry> entries, bool any, string text)
    {
        this.entries = entries;
        this.any = any;
        Text = text;
    }

    /// <summary>The list as configured, for messages.</summary>
    public string Text { get; }

    private sealed record Entry(string Scheme, string Host, bool Subdomains, int? Port, string Path);

    /// <summary>Comma-separated prefixes, or "*". Throws <see cref="ArgumentException"/> for an entry that is not a URL prefix.</summary>
    public static UrlAllowlist Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 1 && parts[0] == "*")
        {
            return Any;
        }
        var list = new List<Entry>();
        foreach (var p in parts)
        {
            var schemeEnd = p.IndexOf("://", StringComparison.Ordinal);
            var scheme = schemeEnd > 0 ? p[..schemeEnd].ToLowerInvariant() : "";
            if (scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"allowed URL '{p}' must start with http:// or https://");
            }
            var rest = p[(schemeEnd + 3)..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var authority = slash < 0 ? rest : rest[..slash];
            var path = slash < 0 ? "/" : rest[slash..];
            int? port = scheme == "https" ? 443 : 80;
            var host = authority;
            var colon = authority.LastIndexOf(':');
            if (colon > 0 && colon > authority.LastIndexOf(']'))
            {
                var portText = authority[(colon + 1)..];
                host = authority[..colon];
                port = portText == "*" ? null
                    : int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is > 0 and < 65536 ? n
                    : throw new ArgumentException($"allowed URL '{p}' has a bad port");
            }
            var subdomains = host.StartsWith("*.", StringComparison.Ordinal);
            if (subdomains)
            {
                host = host[2..];
            }
            host = host.Trim('[', ']').ToLowerInvariant();
            if (host.Length == 0 || host.Contains('@', StringComparison.Ordinal) || host.Contains('*', StringComparison.Ordinal))
            {
                throw new ArgumentException($"allowed URL '{p}' needs a host (or *.domain)");
            }
            list.Add(new Entry(scheme, host, subdomains, port, path));
        }
        return new UrlAllowlist(list, any: false, text);
    }

    /// <summary>Whether the server may call <paramref name="url"/>; a URL with user info (user:password@host) never, since
    /// what it shows and where it goes are easily confused.</summary>
    public bool Allows(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.UserInfo.Length > 0)
        {
            return false;
        }
        if (any)
        {
            return true;
        }
        var host = u.IdnHost.Trim('[', ']').ToLowerInvariant();
        var path = u.AbsolutePath;
        foreach (var e in entries)
        {
            var hostOk = host == e.Host || (e.Subdomains && host.EndsWith("." + e.Host, StringComparison.Ordinal));
            if (u.Scheme == e.Scheme && hostOk && (e.Port is null || e.Port == u.Port) && path.StartsWith(e.Path, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The error for a URL that is not allowed (the URL without its query, which may carry a secret).</summary>
    public string Refusal(string url) =>
        $"the server may not call {Shown(url)}: it is not on the allowed URLs ({Text}); an operator widens them with --allowed-urls";

    private static string Shown(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u))
        {
            return "that address";
        }
        return u.GetLeftPart(UriPartial.Path) is { Length: <= 200 } s ? s : u.GetLeftPart(UriPartial.Authority);
    }
}
