using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>The native REST API under /api/v1: routes that translate JSON to core calls and back.</summary>
internal static class NativeApi
{
    private const int MaxDefinitionBytes = PipelineService.MaxSourceBytes;

    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");

        // Pipelines are code that runs on this machine: defining them is for admin tokens; checking one only reads.
        api.MapPost("/pipelines", CreatePipelineAsync).WithMetadata(RequiresAccess.Admin);
        api.MapPost("/pipelines:validate", ValidatePipelineAsync).WithMetadata(RequiresAccess.Read);
        api.MapGet("/pipelines", ListPipelinesAsync);
        api.MapGet("/pipelines/{name}", GetPipelineAsync);
        api.MapDelete("/pipelines/{name}", DeletePipelineAsync).WithMetadata(RequiresAccess.Admin);
        api.MapPost("/pipelines/{name}/versions", AddVersionAsync).WithMetadata(RequiresAccess.Admin);
        api.MapGet("/pipelines/{name}/versions", ListVersionsAsync);
        api.MapGet("/pipelines/{name}/versions/{version:int}", GetVersionAsync);

        api.MapPost("/runs", StartRunAsync);
        api.MapGet("/runs", ListRunsAsync);
        api.MapPost("/runs:stop", BatchStopAsync);
        api.MapGet("/runs/{id}", GetRunAsync);
        api.MapPost("/runs/{id}:stop", StopRunAsync);
        api.MapPost("/runs/{id}:retry", RetryRunAsync);
        api.MapDelete("/runs/{id}", DeleteRunAsync).WithMetadata(RequiresAccess.Admin);
        api.MapGet("/runs/{id}/steps", GetStepsAsync);
        api.MapGet("/runs/{id}/events", GetRunEventsAsync);
        api.MapGet("/runs/{id}/pipeline", async (string id, NativeCaller caller, RunService runs, PipelineService pipelines, CancellationToken ct) =>
            Results.Json(PipelineWithVersion(await pipelines.OfRunAsync(await runs.FindAsync(id, caller.Sees, ct), ct))));
        api.MapGet("/runs/{id}/steps/{step}/logs", StepLogs.StreamAsync);

        api.MapGet("/operations", ListOperationsAsync);
        api.MapGet("/operations/{id}", GetOperationAsync);

        api.MapGet("/events", EventStream.StreamAsync);

        SessionApi.Map(api);
        CallbackApi.Map(api);
        QueueApi.Map(api);
        FunctionApi.Map(api);
    }

    // ---- pipelines ----

    private static async Task<IResult> CreatePipelineAsync(HttpRequest req, NativeCaller caller, PipelineService pipelines, CancellationToken ct)
    {
        var (source, format) = await DefinitionAsync(req, ct);
        // A definition without a name of its own (a SageMaker PipelineDefinition) takes it from ?name=.
        var name = Query(req, "name");
        if (name is not null && format != "sagemaker")
        {
            throw SluiceException.Invalid("?name= is for definitions without a name of their own (format=sagemaker); a native definition names itself");
        }
        if (name is not null && (name.Length is 0 or > 256 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            throw SluiceException.Invalid($"invalid pipeline name {Validation.Show(name)}: 1-256 letters, digits and '-'");
        }
        var d = await pipelines.CreateAsync(caller.Home, source, format, name, ct);
        return Results.Json(PipelineWithVersion(d), statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ValidatePipelineAsync(HttpRequest req, PipelineService pipelines, CancellationToken ct)
    {
        var (source, format) = await DefinitionAsync(req, ct);
        var r = pipelines.Validate(source, format);
        var o = NativeJson.Problems(r.Problems);
        o["valid"] = r.Ok;
        o["name"] = r.Plan?.Name;
        o["steps"] = r.Plan is { } p ? new JsonArray([.. p.Steps.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name, ["kind"] = s.Kind, ["dependsOn"] = new JsonArray([.. s.DependsOn.Select(x => (JsonNode?)x)]),
        })]) : null;
        return Results.Json(o);
    }

    private static async Task<IResult> AddVersionAsync(string name, HttpRequest req, NativeCaller caller, PipelineService pipelines, CancellationToken ct)
    {
        var (source, format) = await DefinitionAsync(req, ct);
        var d = await pipelines.AddVersionAsync(caller.Home, name, source, format, ct);
        return Results.Json(PipelineWithVersion(d), statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListPipelinesAsync(HttpRequest req, NativeCaller caller, PipelineService pipelines, CancellationToken ct)
    {
        var page = await pipelines.ListAsync(caller.Home, PageSize(req), Query(req, "pageToken"), ct);
        return Results.Json(NativeJson.Page("pipelines", page, NativeJson.Pipeline));
    }

    private static async Task<IResult> GetPipelineAsync(string name, HttpRequest req, NativeCaller caller, PipelineService pipelines, CancellationToken ct)
    {
        var version = Query(req, "version") is { } v ? ParseInt(v, "version", 1, int.MaxValue) : (int?)null;
        return Results.Json(PipelineWithVersion(await pipelines.GetAsync(caller.Home, name, version, ct)));
    }

    private static async Task<IResult> DeletePipelineAsync(string name, NativeCaller caller, PipelineService pipelines, CancellationToken ct)
    {
        await pipelines.DeleteAsync(caller.Home, name, ct);
        return Results.NoContent();
    }

    private static async Task<IResult> ListVersionsAsync(string name, NativeCaller caller, PipelineService pipelines, CancellationToken ct)
    {
        var versions = await pipelines.VersionsAsync(caller.Home, name, ct);
        return Results.Json(new JsonObject { ["versions"] = new JsonArray([.. versions.Select(v => (JsonNode)NativeJson.Version(v, false))]) });
    }

    private static async Task<IResult> GetVersionAsync(string name, int version, NativeCaller caller, PipelineService pipelines, CancellationToken ct) =>
        Results.Json(PipelineWithVersion(await pipelines.GetAsync(caller.Home, name, version, ct)));

    private static JsonObject PipelineWithVersion(PipelineDetail d)
    {
        var o = NativeJson.Pipeline(d.Pipeline);
        o["version"] = NativeJson.Version(d.Version, true);
        o["parameters"] = new JsonArray([.. d.Plan.Parameters.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Name, ["type"] = p.Type.ToString(), ["default"] = p.Default?.DeepClone(), ["description"] = p.Description,
        })]);
        // a for-each's body once, for all its iterations (loop[*].train), as the console draws a wide run
        o["steps"] = new JsonArray([.. new PlanShapes(d.Plan).Outline().Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name, ["kind"] = s.Plan.Kind, ["dependsOn"] = new JsonArray([.. s.DependsOn.Select(x => (JsonNode?)x)]),
            ["guard"] = s.Guard is { } g ? new JsonObject { ["step"] = g.ConditionStep, ["branch"] = g.Branch } : null,
            ["group"] = s.Group,
        })]);
        return o;
    }

    /// <summary>A definition body: JSON (application/json) or YAML (application/yaml, text/yaml, text/plain); with
    /// ?format=sagemaker, a SageMaker PipelineDefinition (JSON).</summary>
    private static async Task<(string Source, string Format)> DefinitionAsync(HttpRequest req, CancellationToken ct)
    {
        var text = await RequestReader.ReadTextAsync(req, MaxDefinitionBytes, ct);
        var type = req.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        var format = Query(req, "format") switch
        {
            null or "native" => type switch
            {
                "application/json" => "native-json",
                "application/yaml" or "application/x-yaml" or "text/yaml" or "text/x-yaml" or "text/plain" or null or "" => "native-yaml",
                _ => throw SluiceException.Invalid($"unsupported Content-Type {Validation.Show(type)}: send application/json or application/yaml"),
            },
            "sagemaker" => type is "application/json" or null or "" ? "sagemaker"
                : throw SluiceException.Invalid($"a SageMaker pipeline definition is JSON: send Content-Type application/json, not {Validation.Show(type)}"),
            var other => throw SluiceException.Invalid($"unknown format {Validation.Show(other)}: use native (the default) or sagemaker"),
        };
        if (string.IsNullOrWhiteSpace(text))
        {
            throw SluiceException.Invalid("the body must hold a pipeline definition");
        }
        return (text, format);
    }

    // ---- runs ----

    private static async Task<IResult> StartRunAsync(HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct);
        var pipeline = r.String("pipeline", 128);
        var version = r.Number("version", 1, int.MaxValue);
        var parameters = r.Object("parameters");
        var labels = r.StringMap("labels");
        var displayName = r.String("displayName", 256);
        var runId = r.String("runId", 63);
        var token = r.String("idempotencyToken", 128) ?? req.Headers["Idempotency-Key"].FirstOrDefault();
        if (pipeline is null)
        {
            r.Problem("pipeline", "is required");
        }
        if (version is { } v && v != Math.Floor(v))
        {
            r.Problem("version", "must be a whole number");
        }
        r.Done();
        var d = await runs.StartAsync(new StartRunRequest
        {
            Scope = caller.Home, Pipeline = pipeline!, Version = version is { } vv ? (int)vv : null, Parameters = parameters, Labels = labels, DisplayName = displayName,
            RunId = runId, IdempotencyToken = token, Caller = Caller(req, caller),
        }, ct);
        return NativeJson.RunWithSteps(d.Run, d.Steps, null, StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListRunsAsync(HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var query = new RunQuery
        {
            Scope = caller.Sees,
            PipelineName = Query(req, "pipeline"),
            States = States(req.Query["state"]),
            Labels = LabelFilter(req.Query["label"]),
            PageSize = PageSize(req),
            PageToken = Query(req, "pageToken"),
            OldestFirst = Query(req, "order") switch
            {
                null or "newest" => false,
                "oldest" => true,
                _ => throw SluiceException.Invalid("order must be newest or oldest"),
            },
        };
        var page = await runs.ListAsync(query, ct);
        return Results.Json(NativeJson.Page("runs", page, r => NativeJson.Run(r)));
    }

    private static async Task<IResult> GetRunAsync(string id, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var d = await runs.GetAsync(id, caller.Sees, ct);
        return NativeJson.RunWithSteps(d.Run, d.Steps, await runs.PlanAsync(d.Run, ct));
    }

    private static async Task<IResult> StopRunAsync(string id, HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct, emptyIsObject: true);
        var reason = r.String("reason", 1024);
        var grace = r.Number("graceSeconds", 0, 3600);
        var token = r.String("idempotencyToken", 128) ?? req.Headers["Idempotency-Key"].FirstOrDefault();
        r.Done();
        var a = await runs.StopAsync(new StopRunRequest
        {
            RunId = id, Scope = caller.Sees, Reason = reason, Grace = grace is { } g ? TimeSpan.FromSeconds(g) : null, IdempotencyToken = token,
            Caller = Caller(req, caller),
        }, ct);
        var o = NativeJson.Run(a.Run);
        o["answeredState"] = a.AnsweredState.ToString();
        o["replayed"] = a.Replayed;
        return Results.Json(o, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> RetryRunAsync(string id, HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct, emptyIsObject: true);
        var parallel = r.Number("maxParallelSteps", 1, 100_000);
        var token = r.String("idempotencyToken", 128) ?? req.Headers["Idempotency-Key"].FirstOrDefault();
        r.Done();
        var run = await runs.RetryAsync(new RetryRunRequest
        {
            RunId = id, Scope = caller.Sees, MaxParallelSteps = parallel is { } p ? (int)p : null, IdempotencyToken = token, Caller = Caller(req, caller),
        }, ct);
        return Results.Json(NativeJson.Run(run), statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> BatchStopAsync(HttpRequest req, NativeCaller caller, OperationService ops, CancellationToken ct)
    {
        var r = await RequestReader.ReadAsync(req, ct);
        var ids = r.StringList("runIds", OperationService.MaxBatch);
        var filter = r.Object("filter");
        var reason = r.String("reason", 1024);
        var grace = r.Number("graceSeconds", 0, 3600);
        RunFilter? f = null;
        if (filter is not null)
        {
            f = ParseFilter(filter, r);
        }
        r.Done();
        var op = await ops.BatchStopAsync(new BatchStopRequest
        {
            Scope = caller.Sees, RunIds = ids, Filter = f, Reason = reason, Grace = grace is { } g ? TimeSpan.FromSeconds(g) : null,
            Caller = Caller(req, caller),
        }, ct);
        return Results.Json(NativeJson.Operation(op), statusCode: StatusCodes.Status202Accepted);
    }

    private static RunFilter ParseFilter(JsonObject filter, RequestReader r)
    {
        string? pipeline = null;
        List<RunState>? states = null;
        Dictionary<string, string>? labels = null;
        foreach (var (k, v) in filter)
        {
            switch (k)
            {
                case "pipeline" when v is JsonValue pv && pv.TryGetValue<string>(out var p):
                    pipeline = p;
                    break;
                case "states" when v is JsonArray a:
                    states = [];
                    foreach (var s in a)
                    {
                        if (s is JsonValue sv && sv.TryGetValue<string>(out var st) && Enum.TryParse<RunState>(st, true, out var parsed)
                            && !int.TryParse(st, out _))
                        {
                            states.Add(parsed);
                        }
                        else
                        {
                            r.Problem("filter.states", $"unknown state {Validation.Show(s?.ToJsonString())}");
                        }
                    }
                    break;
                case "labels" when v is JsonObject lo:
                    labels = [];
                    foreach (var (lk, lv) in lo)
                    {
                        if (lv is JsonValue lvv && lvv.TryGetValue<string>(out var ls))
                        {
                            labels[lk] = ls;
                        }
                        else
                        {
                            r.Problem($"filter.labels.{Validation.Show(lk)}", "must be a string");
                        }
                    }
                    break;
                default:
                    r.Problem($"filter.{Validation.Show(k)}", "unknown field or wrong type (pipeline: string, states: [string], labels: {string: string})");
                    break;
            }
        }
        return new RunFilter { Pipeline = pipeline, States = states, Labels = labels };
    }

    private static async Task<IResult> DeleteRunAsync(string id, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        await runs.DeleteAsync(id, caller.Sees, ct);
        return Results.NoContent();
    }

    private static async Task<IResult> GetStepsAsync(string id, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var d = await runs.GetAsync(id, caller.Sees, ct);
        var plan = await runs.PlanAsync(d.Run, ct);
        return NativeJson.StepsOnly(d.Steps, plan);
    }

    private static async Task<IResult> GetRunEventsAsync(string id, HttpRequest req, NativeCaller caller, RunService runs, CancellationToken ct)
    {
        var after = Query(req, "after") is { } a ? ParseLong(a, "after") : 0;
        var size = Query(req, "pageSize") is { } ps ? ParseInt(ps, "pageSize", 1, MaxEventsPage) : MaxEventsPage;
        var events = await runs.EventsAsync(id, caller.Sees, after, size, ct);
        // a full page may not be all: the caller asks again after the last one (a run of 10,000 steps has ~40,000)
        return Results.Json(new JsonObject
        {
            ["events"] = new JsonArray([.. events.Select(e => (JsonNode)NativeJson.Event(e))]),
            ["more"] = events.Count == size,
        });
    }

    // ---- operations ----

    private static async Task<IResult> ListOperationsAsync(HttpRequest req, NativeCaller caller, OperationService ops, CancellationToken ct)
    {
        var page = await ops.ListAsync(caller.Sees, PageSize(req), Query(req, "pageToken"), ct);
        return Results.Json(NativeJson.Page("operations", page, NativeJson.Operation));
    }

    private static async Task<IResult> GetOperationAsync(string id, NativeCaller caller, OperationService ops, CancellationToken ct) =>
        Results.Json(NativeJson.Operation(await ops.GetAsync(id, caller.Sees, ct)));

    // ---- query helpers ----

    internal static string? Query(HttpRequest req, string name)
    {
        var v = req.Query[name];
        if (v.Count > 1)
        {
            throw SluiceException.Invalid($"{name} given more than once");
        }
        var s = v.FirstOrDefault();
        return string.IsNullOrEmpty(s) ? null : s.Length > 4096 ? throw SluiceException.Invalid($"{name} is too long") : s;
    }

    /// <summary>Most events one answer of <c>GET /runs/{id}/events</c> holds.</summary>
    private const int MaxEventsPage = 10_000;

    private static int PageSize(HttpRequest req) =>
        Query(req, "pageSize") is { } s ? ParseInt(s, "pageSize", 1, RunService.MaxPageSize) : 50;

    internal static int ParseInt(string s, string name, int min, int max) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw SluiceException.Invalid($"{name} must be a whole number between {min} and {max}");

    internal static long ParseLong(string s, string name) =>
        long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw SluiceException.Invalid($"{name} must be a whole number >= 0");

    private static List<RunState>? States(Microsoft.Extensions.Primitives.StringValues values)
    {
        var list = new List<RunState>();
        foreach (var part in values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            list.Add(Enum.TryParse<RunState>(part, true, out var s) && !int.TryParse(part, out _)
                ? s
                : throw SluiceException.Invalid($"unknown state {Validation.Show(part)}; use {string.Join(", ", Enum.GetNames<RunState>())}"));
        }
        return list.Count == 0 ? null : list;
    }

    private static Dictionary<string, string>? LabelFilter(Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count == 0)
        {
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var i = (v ?? "").IndexOf('=', StringComparison.Ordinal);
            if (i <= 0)
            {
                throw SluiceException.Invalid("label filters look like label=key=value");
            }
            map[v![..i]] = v[(i + 1)..];
        }
        var problems = new List<Problem>();
        Validation.Labels(map, problems);
        return problems.Count > 0 ? throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems) : map;
    }

    /// <summary>Who is asking, for the run's history: the token's name, with what the client says of itself (X-Sluice-Caller,
    /// e.g. the CLI's user) when it says something; development mode has only the client's word.</summary>
    internal static string Caller(HttpRequest req, NativeCaller caller)
    {
        var who = req.Headers["X-Sluice-Caller"].FirstOrDefault();
        var said = string.IsNullOrWhiteSpace(who) || who.Length > 128 || who.Any(char.IsControl) ? null : who;
        if (ReferenceEquals(caller, NativeCaller.Dev))
        {
            return said ?? "native-api";
        }
        return said is null ? $"token:{caller.Name}" : $"{said} via token:{caller.Name}";
    }

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
