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
    public static JsonObject Run(RunRecord r)
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
        return o;
    }

    /// <summary>A run with its steps as an answer written straight to the response: a run of 10,000 steps is megabytes,
    /// and building a tree of JSON nodes for it first costs more than writing it.</summary>
    public static IResult RunWithSteps(RunRecord r, IReadOnlyList<StepRecord> steps, Plan? plan, int status = StatusCodes.Status200OK) =>
        new StreamedJson(status, async (w, flush) =>
        {
            w.WriteStartObject();
            foreach (var (name, value) in Run(r))
            {
                w.WritePropertyName(name);
                WriteValue(w, value);
            }
            w.WritePropertyName("steps");
            await WriteStepsAsync(w, steps, plan, flush);
            w.WriteEndObject();
        });

    /// <summary>A run's steps as <c>{"steps": [...]}</c>, written straight to the response.</summary>
    public static IResult StepsOnly(IReadOnlyList<StepRecord> steps, Plan? plan) =>
        new StreamedJson(StatusCodes.Status200OK, async (w, flush) =>
        {
            w.WriteStartObject();
            w.WritePropertyName("steps");
            await WriteStepsAsync(w, steps, plan, flush);
            w.WriteEndObject();
        });

    private static async Task WriteStepsAsync(Utf8JsonWriter w, IReadOnlyList<StepRecord> steps, Plan? plan, Func<Task> flush)
    {
        var shapes = plan is null ? null : new PlanShapes(plan);
        w.WriteStartArray();
        for (var i = 0; i < steps.Count; i++)
        {
            WriteStep(w, steps[i], shapes?.Describe(steps[i].Name));
            if (i % 512 == 511)
            {
                await flush();
            }
        }
        w.WriteEndArray();
    }

    /// <summary>A step as stored, plus what its plan says about it (edges, guard, group, declared outputs) when known.</summary>
    private static void WriteStep(Utf8JsonWriter w, StepRecord s, StepShape? shape)
    {
        w.WriteStartObject();
        w.WriteString("name", s.Name);
        w.WriteString("kind", s.Kind);
        w.WriteString("state", s.State.ToString());
        w.WriteNumber("attempt", s.Attempt);
        WriteTime(w, "startedAt", s.StartedAt);
        WriteTime(w, "endedAt", s.EndedAt);
        WriteTime(w, "retryAt", s.NotBefore);
        w.WriteString("reason", s.Reason);
        WriteNumber(w, "exitCode", s.ExitCode);
        w.WritePropertyName("inputs");
        WriteValue(w, s.Inputs);
        w.WritePropertyName("outputs");
        WriteValue(w, s.Outputs);
        WriteNumber(w, "pid", s.Process?.Pid);
        w.WritePropertyName("dependsOn");
        if (shape is null)
        {
            w.WriteNullValue();
        }
        else
        {
            w.WriteStartArray();
            foreach (var d in shape.DependsOn)
            {
                w.WriteStringValue(d);
            }
            w.WriteEndArray();
        }
        w.WritePropertyName("guard");
        if (shape?.Guard is { } g)
        {
            w.WriteStartObject();
            w.WriteString("step", g.ConditionStep);
            w.WriteBoolean("branch", g.Branch);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }
        w.WriteString("group", shape?.Group);
        w.WritePropertyName("iteration");
        if (shape?.ForEach is { } f)
        {
            w.WriteStartObject();
            w.WriteString("forEach", f);
            WriteNumber(w, "index", shape.Iteration);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }
        w.WritePropertyName("declaredOutputs");
        if (shape is null)
        {
            w.WriteNullValue();
        }
        else
        {
            w.WriteStartObject();
            foreach (var o in shape.Plan.Outputs)
            {
                w.WriteString(o.Name, o.Type.ToString());
            }
            w.WriteEndObject();
        }
        w.WritePropertyName("callback");
        WriteValue(w, Callback(s));
        w.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter w, JsonNode? value)
    {
        if (value is null)
        {
            w.WriteNullValue();
        }
        else
        {
            value.WriteTo(w);
        }
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? t) => w.WriteString(name, Time(t));

    private static void WriteNumber(Utf8JsonWriter w, string name, int? n)
    {
        if (n is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>An answer written with a <see cref="Utf8JsonWriter"/> straight to the response body, flushed as it
    /// goes (the writer gets a callback that sends what is written so far).</summary>
    private sealed class StreamedJson(int status, Func<Utf8JsonWriter, Func<Task>, Task> write) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json; charset=utf-8";
            var body = http.Response.BodyWriter;
            await using var w = new Utf8JsonWriter(body);
            await write(w, async () =>
            {
                await w.FlushAsync(http.RequestAborted);
                await body.FlushAsync(http.RequestAborted);
            });
            await w.FlushAsync(http.RequestAborted);
        }
    }

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

    /// <summary>ISO 8601 in UTC with milliseconds ("2026-12-02T06:23:31.633Z"), as "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" writes it
    /// (truncated, not rounded), from the round-trip format's fast path: a custom format string is parsed at every call,
    /// and a run of 10,000 steps has tens of thousands of times.</summary>
    public static string? Time(DateTimeOffset? t)
    {
        if (t is not { } x)
        {
            return null;
        }
        // "yyyy-MM-ddTHH:mm:ss.fffffffZ": keep 3 of the 7 digits.
        Span<char> text = stackalloc char[32];
        x.UtcDateTime.TryFormat(text, out var n, "O", System.Globalization.CultureInfo.InvariantCulture);
        text[n - 5] = 'Z';
        return new string(text[..(n - 4)]);
    }

    private static JsonObject Labels(IReadOnlyDictionary<string, string> labels) =>
        new(labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));

    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false };
}
