using System.Text.Json.Nodes;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>/api/v1/session: the console's same-origin login. POST with a token sets it as an HttpOnly, SameSite=Strict cookie
/// for the browser's session (so the console's event streams, which cannot send headers, are authenticated too); GET says
/// who the caller is; DELETE forgets the cookie.</summary>
internal static class SessionApi
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/session", LoginAsync).WithMetadata(RequiresAccess.Anyone);
        api.MapGet("/session", (NativeCaller caller, AuthSettings auth) => Results.Json(Who(caller, auth)));
        api.MapDelete("/session", (HttpContext http) =>
        {
            http.Response.Cookies.Delete(NativeAuth.CookieName, Options(http));
            return Results.NoContent();
        }).WithMetadata(RequiresAccess.Anyone);
    }

    private static async Task<IResult> LoginAsync(HttpContext http, AuthSettings auth, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(http.Request, ct);
        var token = r.String("token", 4096);
        if (token is null)
        {
            r.Problem("token", "is required");
        }
        r.Done();
        if (auth.Dev)
        {
            return Results.Json(Who(NativeCaller.Dev, auth));
        }
        var found = auth.Credentials.FindApiToken(token!);
        if (found is null)
        {
            return Results.Json(new JsonObject
            {
                ["type"] = "about:blank", ["title"] = "Unauthenticated", ["status"] = 401, ["detail"] = "the token is not valid",
                ["instance"] = http.Request.Path.Value,
            }, statusCode: StatusCodes.Status401Unauthorized, contentType: "application/problem+json");
        }
        http.Response.Cookies.Append(NativeAuth.CookieName, token!, Options(http));
        return Results.Json(Who(new NativeCaller(found.Name, found.Tenant, found.Level), auth));
    }

    private static CookieOptions Options(HttpContext http) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/",
        IsEssential = true,
    };

    private static JsonObject Who(NativeCaller caller, AuthSettings auth) => new()
    {
        ["name"] = caller.Name,
        ["tenant"] = caller.Tenant,
        ["scope"] = NativeAuth.Show(caller.Level),
        ["devMode"] = auth.Dev,
    };
}
