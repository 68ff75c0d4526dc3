using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Server.Apis.Native;

/// <summary>Maps core records to the native API's JSON (camelCase, RFC 3339 times, states by name).</summary>
internal static class NativeJson
{
    public static JsonObject Run(RunRecord r, IReadOnlyList<StepRecord>? steps = null, Plan? plan = null)
    {
        var o = new JsonObject
        {
            ["id"] = r.Id,
            ["pipeline"] = r.PipelineName,
            ["pipelineVersion"] = r.PipelineVersion,
            ["state"] = r.State.ToString(),
            ["displayName"] = r.DisplayName,
            ["description"] = r.Description,
            ["maxParallelSteps"] = r.MaxParallelSteps,
            ["createdAt"] = Time(r.CreatedAt),
            ["startedAt"] = Time(r.StartedAt),
            ["endedAt"] = Time(r.EndedAt),
            ["updatedAt"] = Time(r.UpdatedAt),
            ["parameters"] = r.Parameters.DeepClone(),
            ["labels"] = Labels(r.Labels),
            ["error"] = r.Error,
            ["stop"] = r.Stop is { } s
                ? new JsonObject { ["at"] = Time(s.At), ["reason"] = s.Reason, ["caller"] = s.Caller, ["graceSeconds"] = s.Grace?.TotalSeconds }
                : null,
            ["face"] = r.Face,
            ["location"] = r.Scope.Location,
        };
        if (steps is not null)
        {
            o["steps"] = Steps(steps, plan);
        }
        return o;
    }

    /// <summary>A run's steps, each with what the run's plan says about it when the plan is known.</summary>
    public static JsonArray Steps(IReadOnlyList<StepRecord> steps, Plan? plan)
    {
        var shapes = plan is null ? null : new PlanShapes(plan);
        var a = new JsonArray();
        foreach (var s in steps)
        {
            a.Add(Step(s, shapes?.Describe(s.Name)));
        }
        return a;
    }

    /// <summary>A step as stored, plus what its plan says about it (edges, guard, group, declared outputs) when known.</summary>
    public static JsonObject Step(StepRecord s, StepShape? shape = null) => new()
    {
        ["name"] = s.Name,
        ["kind"] = s.Kind,
        ["state"] = s.State.ToString(),
        ["attempt"] = s.Attempt,
        ["startedAt"] = Time(s.StartedAt),
        ["endedAt"] = Time(s.EndedAt),
        ["retryAt"] = Time(s.NotBefore),
        ["reason"] = s.Reason,
        ["exitCode"] = s.ExitCode,
        ["inputs"] = s.Inputs?.DeepClone(),
        ["outputs"] = s.Outputs?.DeepClone(),
        ["pid"] = s.Process?.Pid,
        ["dependsOn"] = shape is null ? null : new JsonArray([.. shape.DependsOn.Select(d => (JsonNode?)d)]),
        ["guard"] = shape?.Guard is { } g ? new JsonObject { ["step"] = g.ConditionStep, ["branch"] = g.Branch } : null,
        ["group"] = shape?.Group,
        ["iteration"] = shape?.ForEach is { } f ? new JsonObject { ["forEach"] = f, ["index"] = shape.Iteration } : null,
        ["declaredOutputs"] = shape is null ? null
            : new JsonObject(shape.Plan.Outputs.Select(x => KeyValuePair.Create(x.Name, (JsonNode?)x.Type.ToString()))),
        ["callback"] = Callback(s),
    };

    /// <summary>A callback step's token (as SageMaker's ListPipelineExecutionSteps shows CallbackToken) and whether it
    /// was answered, so that a person can answer it from the console.</summary>
    private static JsonObject? Callback(StepRecord s) =>
        s.Kind == "callback" && s.ExecutorData?["token"] is JsonValue t && t.TryGetValue<string>(out var token)
            ? new JsonObject { ["token"] = token, ["answered"] = s.ExecutorData["answer"] is not null }
            : null;

    public static JsonObject Event(RunEvent e) => new()
    {
        ["seq"] = e.Seq,
        ["runId"] = e.RunId,
        ["step"] = e.Step,
        ["kind"] = e.Kind,
        ["from"] = e.From,
        ["to"] = e.To,
        ["at"] = Time(e.At),
        ["message"] = e.Message,
        ["caller"] = e.Caller,
        ["data"] = e.Data?.DeepClone(),
    };

    public static JsonObject Pipeline(PipelineRecord p) => new()
    {
        ["id"] = p.Id,
        ["name"] = p.Name,
        ["description"] = p.Description,
        ["latestVersion"] = p.LatestVersion,
        ["createdAt"] = Time(p.CreatedAt),
        ["updatedAt"] = Time(p.UpdatedAt),
    };

    public static JsonObject Version(PipelineVersionRecord v, bool withSource) => new()
    {
        ["version"] = v.Version,
        ["format"] = v.Format,
        ["createdAt"] = Time(v.CreatedAt),
        ["definition"] = withSource ? v.Source : null,
    };

    public static JsonObject Operation(OperationRecord o)
    {
        var failures = o.Results.Where(kv => kv.Value?["error"] is not null).Select(kv => kv.Key).ToList();
        return new JsonObject
        {
            ["id"] = o.Id,
            ["kind"] = o.Kind,
            ["done"] = o.Done,
            ["createdAt"] = Time(o.CreatedAt),
            ["updatedAt"] = Time(o.UpdatedAt),
            ["request"] = o.Request.DeepClone(),
            ["results"] = o.Results.DeepClone(),
            ["partialFailures"] = failures.Count,
            ["error"] = o.Error,
        };
    }

    public static JsonObject Page<T>(string key, Page<T> page, Func<T, JsonObject> map) => new()
    {
        [key] = new JsonArray([.. page.Items.Select(i => (JsonNode)map(i))]),
        ["nextPageToken"] = page.NextPageToken,
    };

    public static JsonObject Problems(IEnumerable<Problem> problems) => new()
    {
        ["problems"] = new JsonArray([.. problems.Select(p => (JsonNode)new JsonObject
        {
            ["path"] = p.Path, ["message"] = p.Message, ["line"] = p.Line, ["column"] = p.Column,
        })]),
    };

    public static string? Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static JsonObject Labels(IReadOnlyDictionary<string, string> labels) =>
        new(labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));

    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false };
}
