using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>/api/v1/functions: register (PUT creates or replaces), read, list and delete the functions that function
/// steps call.</summary>
internal static class FunctionApi
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/functions/{name}", PutAsync).WithMetadata(RequiresAccess.Admin);
        api.MapGet("/functions", ListAsync);
        api.MapGet("/functions/{name}", GetAsync);
        api.MapDelete("/functions/{name}", DeleteAsync).WithMetadata(RequiresAccess.Admin);
    }

    private static async Task<IResult> PutAsync(NativeCaller caller, string name, HttpRequest req, FunctionService functions, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct);
        var command = r.StringList("command", FunctionService.MaxArgs);
        var url = r.String("url", FunctionService.MaxUrlLength);
        var limit = r.Number("timeLimitSeconds", FunctionStepPlan.MinTimeLimit.TotalSeconds, FunctionStepPlan.MaxTimeLimit.TotalSeconds);
        var env = r.StringMap("env");
        r.Done();
        var (function, created) = await functions.PutAsync(caller.Home, name, new PutFunctionRequest
        {
            Command = command, Url = url, TimeLimit = limit is { } s ? TimeSpan.FromSeconds(s) : null, Env = env,
        }, ct);
        return Results.Json(Function(function), statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> ListAsync(NativeCaller caller, HttpRequest req, FunctionService functions, CancellationToken ct)
    {
        var pageSize = NativeApi.Query(req, "pageSize") is { } s ? NativeApi.ParseInt(s, "pageSize", 1, FunctionService.MaxPageSize) : 100;
        var page = await functions.ListAsync(caller.Home, pageSize, NativeApi.Query(req, "pageToken"), ct);
        return Results.Json(NativeJson.Page("functions", page, Function));
    }

    private static async Task<IResult> GetAsync(NativeCaller caller, string name, FunctionService functions, CancellationToken ct) =>
        Results.Json(Function(await functions.GetAsync(caller.Home, name, ct)));

    private static async Task<IResult> DeleteAsync(NativeCaller caller, string name, FunctionService functions, CancellationToken ct)
    {
        await functions.DeleteAsync(caller.Home, name, ct);
        return Results.NoContent();
    }

    private static JsonObject Function(FunctionRecord f) => new()
    {
        ["name"] = f.Name,
        ["kind"] = f.Kind,
        ["command"] = f.Command is { } argv ? new JsonArray([.. argv.Select(a => (JsonNode?)a)]) : null,
        ["url"] = f.Url,
        ["timeLimitSeconds"] = f.TimeLimit.TotalSeconds,
        ["env"] = f.Env is { } env ? new JsonObject(env.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) : null,
        ["createdAt"] = NativeJson.Time(f.CreatedAt),
        ["updatedAt"] = NativeJson.Time(f.UpdatedAt),
    };
}
