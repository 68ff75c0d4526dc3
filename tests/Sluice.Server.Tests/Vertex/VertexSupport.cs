using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions.Kfp;
using Sluice.TestKit;

namespace Sluice.Server.Tests.Vertex;

/// <summary>Raw HTTP against the Vertex face of a real server, and the pipeline specs the tests send.</summary>
internal static class VertexSupport
{
    public const string Project = "my-proj";
    public const string ProjectNumber = "123456789012";
    public const string Location = "us-central1";
    public const string Parent = $"projects/{Project}/locations/{Location}";

    /// <summary>Server arguments: the project id and number as aliases of one tenant ("acme").</summary>
    public static readonly string[] ProjectArgs =
        ["--Vertex:Projects:0:Id", Project, "--Vertex:Projects:0:Number", ProjectNumber, "--Vertex:Projects:0:Tenant", "acme"];

    public static string CorpusDir => Path.Combine(AppContext.BaseDirectory, "corpus", "kfp");

    /// <summary>A corpus file (YAML or JSON) as JSON; a PipelineJob-shaped file stays whole.</summary>
    public static JsonObject Spec(string file)
    {
        var path = File.Exists(Path.Combine(CorpusDir, file)) ? Path.Combine(CorpusDir, file) : Path.Combine(AppContext.BaseDirectory, "Vertex", file);
        var problems = new List<Core.Api.Problem>();
        var node = KfpCompiler.ReadDocument(File.ReadAllText(path), problems) as JsonObject;
        Assert.True(node is not null, string.Join("; ", problems));
        return node!;
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> CallAsync(HttpClient http, HttpMethod method, string path, JsonNode? body = null,
        string? token = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            req.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        using var resp = await http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Creates a job from a spec (a PipelineJob-shaped spec brings its runtimeConfig) and returns its name.</summary>
    public static async Task<JsonNode> CreateAsync(HttpClient http, string id, JsonObject spec, JsonObject? parameterValues = null,
        JsonObject? labels = null, string parent = Parent)
    {
        var runtime = new JsonObject { ["gcsOutputDirectory"] = "gs://sluice-tests/root" };
        if (spec["pipelineSpec"] is JsonObject inner)
        {
            foreach (var (k, v) in spec["runtimeConfig"]!.AsObject())
            {
                runtime[k] = v?.DeepClone();
            }
            spec = (JsonObject)inner.DeepClone();
        }
        if (parameterValues is not null)
        {
            runtime["parameterValues"] = parameterValues;
        }
        var (status, body) = await CallAsync(http, HttpMethod.Post, $"/v1/{parent}/pipelineJobs?pipelineJobId={id}&$alt=json%3Benum-encoding=int",
            new JsonObject { ["displayName"] = id, ["pipelineSpec"] = spec, ["runtimeConfig"] = runtime, ["labels"] = labels ?? [] });
        Assert.True(status == HttpStatusCode.OK, $"create {id}: {status} {body}");
        return body!;
    }

    public static async Task<JsonNode> GetAsync(HttpClient http, string id, string parent = Parent)
    {
        var (status, body) = await CallAsync(http, HttpMethod.Get, $"/v1/{parent}/pipelineJobs/{id}");
        Assert.True(status == HttpStatusCode.OK, $"get {id}: {status} {body}");
        return body!;
    }

    public static bool IsTerminal(string? state) => state is "PIPELINE_STATE_SUCCEEDED" or "PIPELINE_STATE_FAILED" or "PIPELINE_STATE_CANCELLED";

    public static async Task<JsonNode> WaitAsync(HttpClient http, string id, Func<JsonNode, bool>? done = null, TimeSpan? within = null,
        string parent = Parent)
    {
        done ??= j => IsTerminal(j["state"]?.GetValue<string>());
        var until = TimeProvider.System.GetUtcNow() + (within ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var job = await GetAsync(http, id, parent);
            if (done(job))
            {
                return job;
            }
            Assert.True(TimeProvider.System.GetUtcNow() < until, $"job {id} did not get there: {job["state"]} {Tasks(job).ToJsonString()}");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    /// <summary>The job's tasks by unique name: state.</summary>
    public static JsonObject Tasks(JsonNode job) => new(job["jobDetail"]?["taskDetails"]?.AsArray()
        .Select(t => KeyValuePair.Create(t!["taskUniqueName"]!.GetValue<string>(), (JsonNode?)t["state"]!.DeepClone())) ?? []);

    public static string TaskState(JsonNode job, string task) =>
        Tasks(job)[task]?.GetValue<string>() ?? throw new KeyNotFoundException($"no task {task}: {Tasks(job).ToJsonString()}");

    public static string Error(JsonNode? body) => body?["error"]?["status"]?.GetValue<string>() ?? $"(no error: {body})";

    /// <summary>What a step printed, through the native API (the run is the same one).</summary>
    public static async Task<string> LogAsync(HttpClient http, string id, string step, string stream = "stdout")
    {
        using var r = await http.GetAsync($"/api/v1/runs/{id}/steps/{Uri.EscapeDataString(step)}/logs?stream={stream}");
        return r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : $"({r.StatusCode})";
    }

    /// <summary>The folder of the Node client tests (node_modules are installed there by ./build.sh test).</summary>
    public static string NodeDir => typeof(VertexSupport).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "VertexNodeDir").Value!;

    /// <summary>Runs a Node script of the Node test folder; returns the JSON object it prints last.</summary>
    public static Task<JsonObject> NodeAsync(string script, TimeSpan within, params string[] args) => NodeAsync(script, within, null, args);

    /// <summary>The same, with environment variables for the script (SLUICE_VERTEX_TOKEN: the bearer token the client sends).</summary>
    public static async Task<JsonObject> NodeAsync(string script, TimeSpan within, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        Assert.True(Directory.Exists(Path.Combine(NodeDir, "node_modules", "@google-cloud", "aiplatform")),
            $"the Node client is not installed in {NodeDir}: run ./build.sh test (it runs npm ci there)");
        var psi = new ProcessStartInfo("node") { WorkingDirectory = NodeDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // No Google credentials lookup, no metadata server probe (spec 5.3).
        psi.Environment["METADATA_SERVER_DETECTION"] = "none";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(within);
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish within {within}: {await stderr}");
        }
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length > 0, $"node {script} printed nothing (exit {p.ExitCode}): {await stderr}");
        var result = JsonNode.Parse(lines[^1])!.AsObject();
        Assert.True(result["fatal"] is null, $"node {script} failed: {result["fatal"]}\npartial: {result["partial"]}\n{await stderr}");
        return result;
    }
}
