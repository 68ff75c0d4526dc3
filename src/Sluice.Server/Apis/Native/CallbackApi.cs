using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>POST /api/v1/callbacks/{token}:succeed and :fail: complete a waiting callback step.</summary>
internal static class CallbackApi
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/callbacks/{token}:succeed", (string token, HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct) =>
            AnswerAsync(token, success: true, req, caller, runs, ct));
        api.MapPost("/callbacks/{token}:fail", (string token, HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct) =>
            AnswerAsync(token, success: false, req, caller, runs, ct));
    }

    private static async Task<IResult> AnswerAsync(string token, bool success, HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct, emptyIsObject: true);
        var outputs = success ? r.StringMap("outputs") : null;
        var reason = success ? null : r.String("reason", 1024);
        var idempotencyToken = r.String("idempotencyToken", 128) ?? req.Headers["Idempotency-Key"].FirstOrDefault();
        r.Done();
        var run = await runs.AnswerCallbackAsync(new CallbackAnswerRequest
        {
            Token = token, Success = success, Outputs = outputs, Reason = reason, IdempotencyToken = idempotencyToken,
            Scope = caller.Sees, Caller = NativeApi.Caller(req, caller),
        }, ct);
        return Results.Json(new JsonObject { ["runId"] = run.Id, ["state"] = run.State.ToString() });
    }
}
