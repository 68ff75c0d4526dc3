using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Core.Engine;

/// <summary>The payloads and answers of requests between nodes (a stop, a callback answer) as JSON in the store.</summary>
internal static class RemoteRequests
{
    public static JsonObject Stop(StopRunRequest r) => new()
    {
        ["runId"] = r.RunId, ["idempotencyToken"] = r.IdempotencyToken, ["reason"] = r.Reason, ["caller"] = r.Caller,
        ["graceTicks"] = r.Grace?.Ticks,
    };

    public static StopRunRequest ReadStop(RunRequest r) => new()
    {
        RunId = r.RunId,
        IdempotencyToken = Text(r.Payload, "idempotencyToken"),
        Reason = Text(r.Payload, "reason"),
        Caller = Text(r.Payload, "caller"),
        Grace = r.Payload["graceTicks"]?.GetValue<long>() is { } ticks ? TimeSpan.FromTicks(ticks) : null,
    };

    public static JsonObject Callback(string step, CallbackAnswerRequest r) => new()
    {
        ["step"] = step, ["token"] = r.Token, ["success"] = r.Success, ["reason"] = r.Reason, ["idempotencyToken"] = r.IdempotencyToken,
        ["caller"] = r.Caller,
        ["outputs"] = r.Outputs is null ? null : new JsonObject(r.Outputs.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };

    public static (string Step, CallbackAnswerRequest Request) ReadCallback(RunRequest r) => (Text(r.Payload, "step") ?? "", new CallbackAnswerRequest
    {
        Token = Text(r.Payload, "token") ?? "",
        Success = r.Payload["success"]?.GetValue<bool>() ?? false,
        Reason = Text(r.Payload, "reason"),
        IdempotencyToken = Text(r.Payload, "idempotencyToken"),
        Caller = Text(r.Payload, "caller"),
        Outputs = r.Payload["outputs"] is JsonObject o ? o.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "", StringComparer.Ordinal) : null,
    });

    public static JsonObject Update(UpdateRunRequest r) => new()
    {
        ["runId"] = r.RunId, ["displayName"] = r.DisplayName, ["description"] = r.Description, ["maxParallelSteps"] = r.MaxParallelSteps,
        ["caller"] = r.Caller,
    };

    public static UpdateRunRequest ReadUpdate(RunRequest r) => new()
    {
        RunId = r.RunId,
        DisplayName = Text(r.Payload, "displayName"),
        Description = Text(r.Payload, "description"),
        MaxParallelSteps = r.Payload["maxParallelSteps"]?.GetValue<int>(),
        Caller = Text(r.Payload, "caller"),
    };

    public static JsonObject Ok() => new() { ["ok"] = true };

    /// <summary>A stop's answer: the state the owner answered in (Stopping, or the state it already had) and whether it replayed.</summary>
    public static JsonObject Stopped(StopAnswer a) => new() { ["ok"] = true, ["state"] = a.AnsweredState.ToString(), ["replayed"] = a.Replayed };

    /// <summary>The forwarded stop's answer with the run as read afterwards (it may have gone on to Stopped meanwhile).</summary>
    public static StopAnswer ReadStopped(JsonObject answer, RunRecord run) => new(run, answer["replayed"]?.GetValue<bool>() ?? false)
    {
        AnsweredState = Enum.TryParse<RunState>(Text(answer, "state"), out var state) ? state : run.State,
    };

    public static JsonObject Error(SluiceException e) => new() { ["error"] = new JsonObject { ["kind"] = e.Kind.ToString(), ["message"] = e.Message } };

    /// <summary>Raises the error the owner answered with, as if it had happened here.</summary>
    public static void ThrowIfError(JsonObject answer)
    {
        if (answer["error"] is JsonObject error)
        {
            throw new SluiceException(Enum.TryParse<ErrorKind>(Text(error, "kind"), out var kind) ? kind : ErrorKind.Unavailable,
                Text(error, "message") ?? "the run's node refused the request");
        }
    }

    private static string? Text(JsonObject o, string name) => o[name]?.GetValue<string>();
}
