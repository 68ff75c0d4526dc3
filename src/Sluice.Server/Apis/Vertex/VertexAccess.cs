using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Sluice.Core.Domain;

namespace Sluice.Server.Apis.Vertex;

/// <summary>Google projects as aliases of tenants (a project id and its number name the same tenant), and who may use them:
/// in development mode (<c>--auth dev</c>, the default) any caller, with or without a token; with <c>--auth verify</c>, a
/// bearer token configured under <c>Vertex:Tokens</c> for the project.</summary>
internal sealed partial class VertexAccess
{
    private readonly Dictionary<string, string> tenantOf = new(StringComparer.Ordinal);
    private readonly List<(byte[] Token, HashSet<string> Projects)> tokens = [];

    private VertexAccess(bool devMode) => DevMode = devMode;

    public bool DevMode { get; }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Segment();

    /// <summary>Reads <c>auth</c> (dev | tokens), <c>Vertex:Projects:N:{Id,Number,Tenant}</c> and <c>Vertex:Tokens:N:{Token,Projects}</c>
    /// (projects comma-separated, by id or number, or *).</summary>
    public static VertexAccess From(IConfiguration config)
    {
        var a = new VertexAccess(Sluice.Server.Auth.AuthMode.IsDev(config));
        foreach (var p in config.GetSection("Vertex:Projects").GetChildren())
        {
            var tenant = p["Tenant"] ?? Scope.Default.Tenant;
            foreach (var alias in new[] { p["Id"], p["Number"] }.Where(x => !string.IsNullOrEmpty(x)))
            {
                a.tenantOf[alias!] = tenant;
            }
        }
        foreach (var t in config.GetSection("Vertex:Tokens").GetChildren())
        {
            if (string.IsNullOrEmpty(t["Token"]))
            {
                throw new ArgumentException("every Vertex:Tokens entry needs a Token");
            }
            var projects = (t["Projects"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            a.tokens.Add((Encoding.UTF8.GetBytes(t["Token"]!), projects));
        }
        return a;
    }

    /// <summary>The scope a request for <paramref name="project"/> in <paramref name="location"/> works in, once the caller is
    /// allowed to use the project (else UNAUTHENTICATED or PERMISSION_DENIED).</summary>
    public Scope ScopeOf(HttpRequest req, string project, string location)
    {
        if (!Segment().IsMatch(project) || !Segment().IsMatch(location))
        {
            throw new VertexException(RpcCode.InvalidArgument, "a project and a location are letters, digits, '.', '_' and '-'");
        }
        var tenant = tenantOf.GetValueOrDefault(project) ?? Scope.Default.Tenant;
        if (!DevMode)
        {
            var auth = req.Headers.Authorization.FirstOrDefault();
            if (auth is null || !auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                throw new VertexException(RpcCode.Unauthenticated, "Request is missing required authentication credential: send Authorization: Bearer <token>.",
                    "CREDENTIALS_MISSING");
            }
            var given = Encoding.UTF8.GetBytes(auth[7..].Trim());
            var grant = tokens.FirstOrDefault(t => CryptographicOperations.FixedTimeEquals(t.Token, given));
            if (grant.Token is null)
            {
                throw new VertexException(RpcCode.Unauthenticated, "Request had invalid authentication credentials.", "ACCESS_TOKEN_TYPE_UNSUPPORTED");
            }
            // A token for a project covers every alias of its tenant (the id and the number).
            var allowed = grant.Projects.Contains("*") || grant.Projects.Contains(project)
                || grant.Projects.Any(p => tenantOf.TryGetValue(p, out var t) && t == tenant && tenantOf.ContainsKey(project));
            if (!allowed)
            {
                throw new VertexException(RpcCode.PermissionDenied, $"Permission denied on resource project {project}.", "IAM_PERMISSION_DENIED");
            }
        }
        return new Scope(tenant, location);
    }
}
