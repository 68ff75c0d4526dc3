using System.Reflection;
using Sluice.Core.Domain;
using Sluice.Server.Apis.Native;

namespace Sluice.Server.Auth;

/// <summary>Who calls the native API (/api/v1: the CLI, the console, scripts): a token's name, its tenant ("*": every
/// tenant) and its level. Route handlers take it as a parameter.</summary>
public sealed record NativeCaller(string Name, string Tenant, AccessLevel Level)
{
    private const string ItemKey = "sluice.native-caller";

    /// <summary>Development mode's caller: the default tenant's, and every tenant's, with every right.</summary>
    public static readonly NativeCaller Dev = new("dev", Credentials.AllTenants, AccessLevel.Admin);

    /// <summary>Where this caller creates pipelines, functions and queues, and batch operations are kept: its tenant's
    /// native location (the default tenant's for a token of every tenant).</summary>
    public Scope Home => Tenant == Credentials.AllTenants ? Scope.Default : new Scope(Tenant, Scope.Default.Location);

    /// <summary>What this caller may see of runs and operations: its tenant in every location (null: everything).</summary>
    public Scope? Sees => Tenant == Credentials.AllTenants ? null : Scope.Tenantwide(Tenant);

    public static NativeCaller Of(HttpContext http) =>
        http.Items.TryGetValue(ItemKey, out var c) && c is NativeCaller caller
            ? caller
            : throw new InvalidOperationException("the native API's authentication did not run for this request");

    /// <summary>Minimal API binding: a handler parameter of this type is the authenticated caller.</summary>
    public static ValueTask<NativeCaller?> BindAsync(HttpContext context, ParameterInfo parameter) => ValueTask.FromResult<NativeCaller?>(Of(context));

    internal void Attach(HttpContext http) => http.Items[ItemKey] = this;
}

/// <summary>Endpoint metadata: the level a native route needs (without it: GET and HEAD need read, anything else run).</summary>
public sealed record RequiresAccess(AccessLevel? Level)
{
    /// <summary>A route anyone may call (logging in).</summary>
    public static readonly RequiresAccess Anyone = new((AccessLevel?)null);

    public static readonly RequiresAccess Read = new(AccessLevel.Read);

    public static readonly RequiresAccess Admin = new(AccessLevel.Admin);
}

/// <summary>Authenticates the native API: <c>Authorization: Bearer TOKEN</c>, or the console's session cookie (same-origin
/// only: a cookie-borne request that changes something must come from the server's own origin). 401 without a valid
/// token, 403 for a token whose level is too low; both as problem details, and neither says anything about the secret.</summary>
public static class NativeAuth
{
    /// <summary>The console's cookie: the token itself, HttpOnly (no script reads it) and SameSite=Strict (no other site's
    /// page sends it).</summary>
    public const string CookieName = "sluice_session";

    public static async Task HandleAsync(HttpContext http, Func<Task> next)
    {
        var auth = http.RequestServices.GetRequiredService<AuthSettings>();
        var required = http.GetEndpoint()?.Metadata.GetMetadata<RequiresAccess>() is { } r ? r.Level
            : HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) ? AccessLevel.Read
            : AccessLevel.Run;
        if (auth.Dev)
        {
            NativeCaller.Dev.Attach(http);
            await next();
            return;
        }
        var (presented, fromCookie) = Presented(http.Request);
        var token = presented is null ? null : auth.Credentials.FindApiToken(presented);
        if (token is not null)
        {
            new NativeCaller(token.Name, token.Tenant, token.Level).Attach(http);
        }
        if (required is null)
        {
            await next();
            return;
        }
        if (token is null)
        {
            await ProblemResults.WriteAsync(http, StatusCodes.Status401Unauthorized, "Unauthenticated", presented is null
                ? "this API needs a token: send Authorization: Bearer TOKEN (the CLI reads --token, SLUICE_TOKEN, or the local admin token of a server on this machine)"
                : "the token is not valid", null, new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"sluice\"" });
            return;
        }
        if (fromCookie && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) && !SameOrigin(http.Request))
        {
            await ProblemResults.WriteAsync(http, StatusCodes.Status403Forbidden, "PermissionDenied",
                "a request authenticated by the console's cookie must come from the console's own origin");
            return;
        }
        if (token.Level < required)
        {
            await ProblemResults.WriteAsync(http, StatusCodes.Status403Forbidden, "PermissionDenied",
                $"the token '{token.Name}' has scope {Show(token.Level)}; this needs {Show(required.Value)}");
            return;
        }
        await next();
    }

    public static string Show(AccessLevel level) => level switch
    {
        AccessLevel.Read => "read",
        AccessLevel.Run => "run",
        AccessLevel.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    private static (string? Token, bool FromCookie) Presented(HttpRequest req)
    {
        var header = req.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length < 4096 ? (header[7..].Trim(), false) : ("", false);
        }
        return req.Cookies.TryGetValue(CookieName, out var c) && c is { Length: > 0 and < 4096 } ? (c, true) : (null, false);
    }

    /// <summary>The browser says where a request comes from: Origin (sent with every cross-origin request and every POST) or,
    /// without it, Sec-Fetch-Site. A request with neither is not from a browser, so no other site can have sent it.</summary>
    private static bool SameOrigin(HttpRequest req)
    {
        var origin = req.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            return string.Equals(origin, $"{req.Scheme}://{req.Host}", StringComparison.OrdinalIgnoreCase);
        }
        var site = req.Headers["Sec-Fetch-Site"].ToString();
        return site.Length == 0 || site is "same-origin" or "none";
    }
}
