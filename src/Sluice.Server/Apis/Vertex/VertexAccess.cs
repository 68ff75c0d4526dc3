using System.Text.RegularExpressions;
using Sluice.Core.Domain;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Vertex;

/// <summary>Google projects as aliases of tenants (a project id and its number name the same tenant), and who may use them:
/// in development mode (<c>--auth dev</c>) any caller, with or without a token, and a project nobody named is the default
/// tenant's; otherwise a bearer token of the credentials (vertexTokens, or <c>Vertex:Tokens</c>) that covers the project, and
/// a project no tenant names is a tenant of its own ("gcp:PROJECT"), so that a token for it sees nobody else's runs.</summary>
internal sealed partial class VertexAccess
{
    private readonly Credentials credentials;

    private VertexAccess(bool devMode, Credentials credentials)
    {
        DevMode = devMode;
        this.credentials = credentials;
    }

    public bool DevMode { get; }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Segment();

    public static VertexAccess From(AuthSettings auth) => new(auth.Dev, auth.Credentials);

    private string TenantOf(string project) =>
        credentials.ProjectTenants.TryGetValue(project, out var t) ? t : DevMode ? Scope.Default.Tenant : "gcp:" + project;

    /// <summary>The scope a request for <paramref name="project"/> in <paramref name="location"/> works in, once the caller is
    /// allowed to use the project (else UNAUTHENTICATED or PERMISSION_DENIED).</summary>
    /// <summary>The scope a project and location name, whoever asks (no authentication; for comparing names).</summary>
    public Scope Resolve(string project, string location) =>
        Segment().IsMatch(project) && Segment().IsMatch(location)
            ? new Scope(TenantOf(project), location)
            : throw new VertexException(RpcCode.InvalidArgument, "a project and a location are letters, digits, '.', '_' and '-'");

    private static VertexException Denied(string project) =>
        new(RpcCode.PermissionDenied, $"Permission denied on resource project {project}.", "IAM_PERMISSION_DENIED");

    public Scope ScopeOf(HttpRequest req, string project, string location)
    {
        if (!Segment().IsMatch(project) || !Segment().IsMatch(location))
        {
            throw new VertexException(RpcCode.InvalidArgument, "a project and a location are letters, digits, '.', '_' and '-'");
        }
        var tenant = TenantOf(project);
        if (!DevMode)
        {
            var auth = req.Headers.Authorization.FirstOrDefault();
            if (auth is null || !auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                throw new VertexException(RpcCode.Unauthenticated, "Request is missing required authentication credential: send Authorization: Bearer <token>.",
                    "CREDENTIALS_MISSING");
            }
            var presented = auth[7..].Trim();
            var grant = credentials.FindVertexToken(presented);
            if (grant is not null)
            {
                // A token for a project covers every alias of its tenant (the id and the number).
                var allowed = grant.Projects.Contains("*") || grant.Projects.Contains(project)
                    || (credentials.ProjectTenants.ContainsKey(project)
                        && grant.Projects.Any(p => credentials.ProjectTenants.TryGetValue(p, out var t) && t == tenant));
                if (!allowed)
                {
                    throw Denied(project);
                }
            }
            else if (credentials.FindApiToken(presented) is { } api)
            {
                // An API token works here too, for the projects that name its tenant (every project for a token of every
                // tenant), at its level: read only reads; creating a job brings code to the machine, so it needs admin.
                if (!api.AllTenants && api.Tenant != tenant)
                {
                    throw Denied(project);
                }
                var needed = HttpMethods.IsGet(req.Method) ? AccessLevel.Read
                    : HttpMethods.IsPost(req.Method) && req.Path.Value?.EndsWith("/pipelineJobs", StringComparison.Ordinal) == true ? AccessLevel.Admin
                    : AccessLevel.Run;
                if (api.Level < needed)
                {
                    throw new VertexException(RpcCode.PermissionDenied,
                        $"Permission denied: the token '{api.Name}' has scope {NativeAuth.Show(api.Level)}; this needs {NativeAuth.Show(needed)}.",
                        "IAM_PERMISSION_DENIED");
                }
            }
            else
            {
                throw new VertexException(RpcCode.Unauthenticated, "Request had invalid authentication credentials.", "ACCESS_TOKEN_TYPE_UNSUPPORTED");
            }
        }
        return new Scope(tenant, location);
    }
}
