using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions.Kfp;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Sluice.Server.Apis.Native;

namespace Sluice.Server.Apis.Vertex;

/// <summary>The Vertex AI Pipelines face: google.cloud.aiplatform.v1.PipelineService (pipeline jobs) under /v1/, and the
/// long-running operations under both /v1/ and /ui/ (Google's clients poll under /ui/), for flat and pipelineJobs-nested
/// operation names. Colon verbs are part of the last segment, so the routes are one pattern per prefix, dispatched here.</summary>
internal static class VertexApi
{
    private const string Face = "vertex";
    private const string Caller = "vertex-api";
    private const int MaxBodyBytes = PipelineService.MaxSourceBytes + 64 * 1024;

    public static void Map(WebApplication app)
    {
        // rest is optional: a path that ends at the location (".../locations/l/") would otherwise be refused by parameter
        // binding with an empty 400 instead of Vertex's error.
        app.MapMethods("/v1/projects/{project}/locations/{location}/{**rest}", ["GET", "POST", "DELETE"],
            (HttpContext http, string project, string location, string? rest) => DispatchAsync(http, "v1", project, location, rest ?? ""));
        app.MapMethods("/ui/projects/{project}/locations/{location}/{**rest}", ["GET", "POST", "DELETE"],
            (HttpContext http, string project, string location, string? rest) => DispatchAsync(http, "ui", project, location, rest ?? ""));
        app.MapFallback("/v1/{**rest}", NoRoute);
        app.MapFallback("/ui/{**rest}", NoRoute);
    }

    public static bool Owns(PathString path) =>
        path.StartsWithSegments("/v1", StringComparison.Ordinal) || path.StartsWithSegments("/ui", StringComparison.Ordinal);

    private static Task NoRoute(HttpContext http) =>
        throw new VertexException(RpcCode.NotFound, $"No route for {http.Request.Method} {http.Request.Path}.");

    private sealed record Ctx(HttpContext Http, string Project, string Location, Scope Scope, bool IntEnums)
    {
        public CancellationToken Ct => Http.RequestAborted;

        public T Service<T>() where T : notnull => Http.RequestServices.GetRequiredService<T>();
    }

    private static async Task DispatchAsync(HttpContext http, string prefix, string project, string location, string rest)
    {
        var access = http.RequestServices.GetRequiredService<VertexAccess>();
        var scope = access.ScopeOf(http.Request, project, location);
        var c = new Ctx(http, project, location, scope, IntEnums(http.Request));
        var method = http.Request.Method;
        var seg = rest.Split('/');
        var (last, verb) = SplitVerb(seg[^1]);
        seg[^1] = last;
        var jobs = prefix == "v1";
        switch (seg)
        {
            case ["pipelineJobs"] when jobs && verb is null && method == "POST":
                await CreateAsync(c);
                return;
            case ["pipelineJobs"] when jobs && verb is null && method == "GET":
                await ListAsync(c);
                return;
            case ["pipelineJobs"] when jobs && verb == "batchCancel" && method == "POST":
                await BatchCancelAsync(c);
                return;
            case ["pipelineJobs"] when jobs && verb == "batchDelete" && method == "POST":
                await BatchDeleteAsync(c);
                return;
            case ["pipelineJobs", var id] when jobs && verb is null && method == "GET":
                await GetAsync(c, id);
                return;
            case ["pipelineJobs", var id] when jobs && verb is null && method == "DELETE":
                await DeleteAsync(c, id);
                return;
            case ["pipelineJobs", var id] when jobs && verb == "cancel" && method == "POST":
                await CancelAsync(c, id);
                return;
            case ["operations"] when verb is null && method == "GET":
                await ListOperationsAsync(c, null);
                return;
            case ["pipelineJobs", var id, "operations"] when verb is null && method == "GET":
                await ListOperationsAsync(c, id);
                return;
            case ["operations", var op]:
                await OperationAsync(c, op, method, verb);
                return;
            case ["pipelineJobs", _, "operations", var nested]:
                await OperationAsync(c, nested, method, verb);
                return;
            case ["trainingPipelines", ..]:
                throw new VertexException(RpcCode.Unimplemented, "TrainingPipelines are not implemented by Sluice; use pipelineJobs.");
        }
        throw new VertexException(RpcCode.NotFound, $"No route for {method} /{prefix}/projects/{project}/locations/{location}/{rest}.");
    }

    private static (string Name, string? Verb) SplitVerb(string segment)
    {
        var i = segment.IndexOf(':', StringComparison.Ordinal);
        return i < 0 ? (segment, null) : (segment[..i], segment[(i + 1)..]);
    }

    /// <summary>Google's REST clients send <c>$alt=json;enum-encoding=int</c>; such callers get enums as numbers.</summary>
    private static bool IntEnums(HttpRequest req) =>
        (req.Query["$alt"].FirstOrDefault() ?? req.Query["alt"].FirstOrDefault() ?? "").Contains("enum-encoding=int", StringComparison.Ordinal);

    private static async Task WriteAsync<T>(Ctx c, T value)
    {
        c.Http.Response.StatusCode = StatusCodes.Status200OK;
        c.Http.Response.ContentType = "application/json; charset=UTF-8";
        await VertexJson.WriteAsync(c.Http.Response.Body, value, c.IntEnums, c.Ct);
    }

    private static async Task WriteAsync(Ctx c, JsonNode value)
    {
        c.Http.Response.StatusCode = StatusCodes.Status200OK;
        c.Http.Response.ContentType = "application/json; charset=UTF-8";
        await c.Http.Response.WriteAsync(value.ToJsonString(), c.Ct);
    }

    private static async Task<JsonObject> BodyAsync(Ctx c, bool required)
    {
        var text = await RequestReader.ReadTextAsync(c.Http.Request, MaxBodyBytes, c.Ct);
        if (string.IsNullOrWhiteSpace(text))
        {
            return required ? throw VertexRequests.Invalid("the request body is required") : [];
        }
        try
        {
            // A member given twice is refused here: a JsonObject that holds one throws when it is first read.
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = false }) as JsonObject
                ?? throw VertexRequests.Invalid("the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw VertexRequests.Invalid($"Invalid JSON payload received. {e.Message}");
        }
    }

    private static string? Query(Ctx c, string camel)
    {
        var v = c.Http.Request.Query[camel];
        if (v.Count == 0)
        {
            v = c.Http.Request.Query[VertexFilter.Snake(camel)];
        }
        if (v.Count > 1)
        {
            throw VertexRequests.Invalid($"{camel} is given more than once");
        }
        return string.IsNullOrEmpty(v.FirstOrDefault()) ? null : v[0];
    }

    // ---- pipeline jobs ----

    private static async Task CreateAsync(Ctx c)
    {
        var body = await BodyAsync(c, required: true);
        var id = Query(c, "pipelineJobId");
        VertexRequests.CheckJobId(id);
        var job = VertexRequests.ParseCreate(body, c.Project, c.Location);
        var pipeline = await c.Service<PipelineService>().EnsureVersionAsync(c.Scope, job.Source, KfpDefinitionCompiler.Format, null, c.Ct, Face);
        var run = await c.Service<RunService>().StartAsync(new StartRunRequest
        {
            Scope = c.Scope, Pipeline = pipeline.Pipeline.Name, Version = pipeline.Version.Version, Parameters = job.Parameters, Labels = job.Labels,
            RunId = id, DisplayName = job.DisplayName, Caller = Caller, Face = Face, FaceData = job.FaceData,
        }, c.Ct);
        await WriteAsync(c, VertexMapper.Job(run.Run, null, c.Project, c.Location, SpecOf(pipeline.Version)));
    }

    private static async Task GetAsync(Ctx c, string id)
    {
        var d = await FindAsync(c, id);
        var version = await c.Service<PipelineService>().VersionOfAsync(d.Run, c.Ct);
        await WriteAsync(c, VertexMapper.Job(d.Run, d.Steps, c.Project, c.Location, SpecOf(version)));
    }

    private static async Task<RunDetail> FindAsync(Ctx c, string id)
    {
        try
        {
            return await c.Service<RunService>().GetAsync(id, c.Scope, c.Ct);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw NotFound(c, id);
        }
    }

    private static VertexException NotFound(Ctx c, string id) =>
        new(RpcCode.NotFound, $"PipelineJob {VertexMapper.JobName(c.Project, c.Location, Validation.Show(id))} not found.", "RESOURCE_NOT_FOUND");

    /// <summary>The KFP spec a run's version holds (unwrapped from a PipelineJob-shaped source); null for other formats.</summary>
    private static JsonObject? SpecOf(PipelineVersionRecord? v)
    {
        if (v is null || v.Format != KfpDefinitionCompiler.Format)
        {
            return null;
        }
        try
        {
            var node = JsonNode.Parse(v.Source, documentOptions: new JsonDocumentOptions { MaxDepth = 256 }) as JsonObject;
            return node?["pipelineSpec"] is JsonObject inner ? (JsonObject)inner.DeepClone() : node;
        }
        catch (JsonException)
        {
            // A kfp version stored as YAML (through another face) is shown without its spec.
            return null;
        }
    }

    private static async Task ListAsync(Ctx c)
    {
        var pageSize = Query(c, "pageSize") is { } ps
            ? int.TryParse(ps, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw VertexRequests.Invalid("pageSize must be a whole number")
            : 0;
        pageSize = pageSize == 0 ? 100 : Math.Min(pageSize, RunService.MaxPageSize);
        var where = VertexFilter.Parse(Query(c, "filter"));
        var order = Order(Query(c, "orderBy"));
        var mask = Query(c, "readMask")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var page = await c.Service<RunService>().ListAsync(new RunQuery { Scope = c.Scope, PageSize = pageSize, PageToken = Query(c, "pageToken") }, where, order, c.Ct);
        var specs = new Dictionary<(string, int), JsonObject?>();
        var jobs = new List<JsonObject>();
        foreach (var r in page.Items)
        {
            if (!specs.TryGetValue((r.PipelineId, r.PipelineVersion), out var spec))
            {
                specs[(r.PipelineId, r.PipelineVersion)] = spec = SpecOf(await c.Service<PipelineService>().VersionOfAsync(r, c.Ct));
            }
            // The list view never has jobDetail.
            var node = (JsonObject)VertexJson.ToNode(VertexMapper.Job(r, null, c.Project, c.Location, spec), c.IntEnums);
            jobs.Add(mask is { Length: > 0 } ? VertexMapper.Mask(node, mask) : node);
        }
        await WriteAsync(c, new ListPipelineJobsResponse { PipelineJobs = jobs.Count > 0 ? jobs : null, NextPageToken = page.NextPageToken });
    }

    /// <summary>orderBy: one field of create_time, update_time, start_time, end_time (camel or snake), then asc or desc.</summary>
    private static RunOrder Order(string? text)
    {
        if (text is null)
        {
            return RunOrder.Default;
        }
        var keys = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (keys.Length != 1)
        {
            throw VertexRequests.Invalid("orderBy takes one field (create_time, update_time, start_time or end_time), then asc or desc");
        }
        var parts = keys[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var field = VertexFilter.Snake(parts[0]) switch
        {
            "create_time" => RunField.CreatedAt,
            "update_time" => RunField.UpdatedAt,
            "start_time" => RunField.StartedAt,
            "end_time" => RunField.EndedAt,
            _ => throw VertexRequests.Invalid($"orderBy cannot use '{Validation.Show(parts[0])}': use create_time, update_time, start_time or end_time"),
        };
        var desc = parts.Length switch
        {
            1 => false,
            2 when parts[1].Equals("desc", StringComparison.OrdinalIgnoreCase) => true,
            2 when parts[1].Equals("asc", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw VertexRequests.Invalid($"orderBy '{Validation.Show(text)}' is not valid: write a field, then asc or desc"),
        };
        return new RunOrder(field, desc);
    }

    private static async Task CancelAsync(Ctx c, string id)
    {
        await BodyAsync(c, required: false);
        try
        {
            await c.Service<RunService>().StopAsync(new StopRunRequest
            {
                RunId = id, Scope = c.Scope, Reason = "cancelled through the Vertex API", Caller = Caller,
            }, c.Ct);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw NotFound(c, id);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
        {
            var run = await c.Service<RunService>().FindAsync(id, c.Scope, c.Ct);
            throw new VertexException(RpcCode.FailedPrecondition,
                $"PipelineJob \"{VertexMapper.JobName(c.Project, c.Location, id)}\" is in state {StateName(run.State)} and cannot be cancelled.");
        }
        await WriteAsync(c, new JsonObject());
    }

    private static string StateName(RunState s) =>
        VertexJson.ToNode(new PipelineJob { State = VertexMapper.State(s) }, intEnums: false)["state"]?.GetValue<string>() ?? s.ToString();

    /// <summary>Every name must be under the request's parent: the same location, and a project that is the same tenant (the
    /// seed mixes a project's id and number). The caller must be allowed to use each.</summary>
    private static List<string> IdsUnderParent(Ctx c, JsonObject body)
    {
        var ids = new List<string>();
        foreach (var (p, l, id) in VertexRequests.BatchNames(body))
        {
            // Where the name points is checked before who may go there: a name under another parent is invalid whoever asks.
            var access = c.Service<VertexAccess>();
            if (access.Resolve(p, l) != c.Scope)
            {
                throw VertexRequests.Invalid(
                    $"{VertexMapper.JobName(p, l, id)} is not under the parent {VertexMapper.Parent(c.Project, c.Location)}; nothing was done");
            }
            access.ScopeOf(c.Http.Request, p, l);
            ids.Add(id);
        }
        return ids;
    }

    private static async Task BatchCancelAsync(Ctx c)
    {
        var ids = IdsUnderParent(c, await BodyAsync(c, required: true));
        OperationRecord op;
        try
        {
            op = await c.Service<OperationService>().BatchStopAsync(new BatchStopRequest
            {
                Scope = c.Scope, RunIds = ids, Reason = "cancelled through the Vertex API (batch)", Caller = Caller, Face = Face, RequireAll = true,
            }, c.Ct);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw new VertexException(RpcCode.NotFound, $"{e.Message}; nothing was cancelled", "RESOURCE_NOT_FOUND");
        }
        await WriteAsync(c, await OperationOfAsync(c, op));
    }

    private static async Task DeleteAsync(Ctx c, string id)
    {
        OperationRecord op;
        try
        {
            op = await c.Service<OperationService>().DeleteRunsAsync(new DeleteRunsRequest { Scope = c.Scope, RunIds = [id], Caller = Caller, Face = Face }, c.Ct);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw NotFound(c, id);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
        {
            var run = await c.Service<RunService>().FindAsync(id, c.Scope, c.Ct);
            throw new VertexException(RpcCode.FailedPrecondition,
                $"PipelineJob \"{VertexMapper.JobName(c.Project, c.Location, id)}\" is in state {StateName(run.State)}; only a finished job can be deleted (cancel it first).");
        }
        await WriteAsync(c, await OperationOfAsync(c, op));
    }

    private static async Task BatchDeleteAsync(Ctx c)
    {
        var ids = IdsUnderParent(c, await BodyAsync(c, required: true));
        var op = await c.Service<OperationService>().DeleteRunsAsync(new DeleteRunsRequest
        {
            Scope = c.Scope, RunIds = ids, Caller = Caller, Face = Face, Batch = true,
        }, c.Ct);
        await WriteAsync(c, await OperationOfAsync(c, op));
    }

    // ---- operations ----

    private static async Task<Operation> OperationOfAsync(Ctx c, OperationRecord op)
    {
        var jobs = new Dictionary<string, PipelineJob>(StringComparer.Ordinal);
        if (op.Kind == "batch-stop" && op.Done && op.Request["runIds"] is JsonArray ids)
        {
            foreach (var id in ids.Select(VertexMapper.Str).OfType<string>())
            {
                try
                {
                    jobs[id] = VertexMapper.Job(await c.Service<RunService>().FindAsync(id, c.Scope, c.Ct), null, c.Project, c.Location, null);
                }
                catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
                {
                    // Deleted since: the response lists the jobs that still exist.
                }
            }
        }
        return VertexMapper.Operation(op, c.Project, c.Location, jobs);
    }

    private static async Task OperationAsync(Ctx c, string id, string method, string? verb)
    {
        var ops = c.Service<OperationService>();
        OperationRecord op;
        try
        {
            op = await ops.GetAsync(id, c.Scope, c.Ct);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw new VertexException(RpcCode.NotFound, $"Operation {VertexMapper.OperationName(c.Project, c.Location, Validation.Show(id))} not found.",
                "RESOURCE_NOT_FOUND");
        }
        switch (method, verb)
        {
            case ("GET", null):
                await WriteAsync(c, await OperationOfAsync(c, op));
                return;
            case ("DELETE", null):
                await ops.DeleteAsync(op.Id, c.Scope, c.Ct);
                await WriteAsync(c, new JsonObject());
                return;
            case ("POST", "cancel"):
                await BodyAsync(c, required: false);
                // The runs a batch cancel names were told to stop when it was accepted; that cannot be taken back.
                throw new VertexException(RpcCode.FailedPrecondition, $"Operation {VertexMapper.OperationName(c.Project, c.Location, op.Id)} is not cancellable.");
            case ("POST", "wait"):
                await BodyAsync(c, required: false);
                var timeout = Query(c, "timeout") is { } t ? Duration(t) : TimeSpan.FromSeconds(60);
                await WriteAsync(c, await OperationOfAsync(c, await ops.WaitAsync(op.Id, c.Scope, timeout, c.Ct)));
                return;
        }
        throw new VertexException(RpcCode.NotFound, $"No route for {method} on an operation{(verb is null ? "" : ":" + verb)}.");
    }

    private static TimeSpan Duration(string text) =>
        text.EndsWith('s') && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is >= 0 and <= 600
            ? TimeSpan.FromSeconds(s)
            : throw VertexRequests.Invalid("timeout is a duration such as \"30s\" (at most 600s)");

    private static async Task ListOperationsAsync(Ctx c, string? jobId)
    {
        if (Query(c, "filter") is { } f)
        {
            throw VertexRequests.Invalid($"filtering operations ('{Validation.Show(f)}') is not supported");
        }
        var pageSize = Query(c, "pageSize") is { } ps
            ? int.TryParse(ps, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw VertexRequests.Invalid("pageSize must be a whole number")
            : 0;
        pageSize = pageSize == 0 ? 100 : Math.Min(pageSize, RunService.MaxPageSize);
        var ops = c.Service<OperationService>();
        var page = jobId is null
            ? await ops.ListAsync(c.Scope, pageSize, Query(c, "pageToken"), c.Ct)
            : await ops.ListForRunAsync(c.Scope, jobId, pageSize, Query(c, "pageToken"), c.Ct);
        var list = new List<Operation>();
        foreach (var op in page.Items)
        {
            list.Add(await OperationOfAsync(c, op));
        }
        await WriteAsync(c, new ListOperationsResponse { Operations = list.Count > 0 ? list : null, NextPageToken = page.NextPageToken });
    }
}
