using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions.Kfp;
using Sluice.TestKit;

namespace Sluice.Reliability.Tests.Fuzz;

/// <summary>What the templates point at: real names and ids of each face, plus victims that destructive requests may remove
/// (they are put back after an accepted request).</summary>
public sealed record FuzzSeed(
    string Pipeline, string RunId, string VictimPipeline, string VictimRunId, string Queue, string VictimQueue, string OperationId,
    string SmPipeline, string SmVictimPipeline, string SmExecutionArn, string VertexJobId, string VertexOperation, string KfpSpec);

/// <summary>The real server the face fuzz tests share, with its seeded resources, the state snapshot, and settling after an
/// accepted request.</summary>
public sealed class FuzzServer : IAsyncLifetime
{
    public const string Project = "fz-proj";
    public const string Location = FuzzAws.Region;

    private ServerProcess? server;
    private FuzzSeed? seed;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => server = await ServerProcess.StartAsync(null, "--auth", "dev");

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    public Task<string> SnapshotAsync() => Task.Run(() => Snapshot.Of(Server.DataDir));

    public async Task<FuzzSeed> SeedAsync() => seed ??= await SettleAsync();

    /// <summary>Waits until no run is active, then makes sure every seeded resource exists (creating what is missing).</summary>
    public async Task<FuzzSeed> SettleAsync()
    {
        var s = Server;
        if (!await Posix.EventuallyAsync(() => ActiveRuns(s) == 0, TimeSpan.FromSeconds(60)))
        {
            // A mutated but valid start may have made a run that waits on something: stop what is still going.
            var runs = await s.GetJsonAsync("/api/v1/runs?pageSize=1000");
            var active = runs["runs"]!.AsArray().Where(r => r!["state"]!.GetValue<string>() is "Queued" or "Running").Select(r => r!["id"]!.GetValue<string>()).ToArray();
            if (active.Length > 0)
            {
                await s.PostJsonAsync("/api/v1/runs:stop", new { runIds = active, reason = "fuzz settle", graceSeconds = 1 }, HttpStatusCode.Accepted);
            }
            Assert.True(await Posix.EventuallyAsync(() => ActiveRuns(s) == 0, TimeSpan.FromSeconds(60)), "runs do not end");
        }
        var old = seed;
        var pipeline = await EnsurePipelineAsync("fz-native", old?.Pipeline);
        var victim = await EnsurePipelineAsync("fz-victim", old?.VictimPipeline);
        var run = await EnsureRunAsync(pipeline, old?.RunId);
        var victimRun = await EnsureRunAsync(pipeline, old?.VictimRunId);
        await EnsureQueueAsync("fz-queue");
        await EnsureQueueAsync("fz-victim-queue");
        var op = old?.OperationId is { } o && await ExistsAsync($"/api/v1/operations/{o}") ? o
            : (await s.PostJsonAsync("/api/v1/runs:stop", new { runIds = new[] { run }, reason = "seed" }, HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        await EnsureSmPipelineAsync("fz-sm");
        await EnsureSmPipelineAsync("fz-sm-victim");
        var arn = old?.SmExecutionArn is { } a && await ExistsAsync($"/api/v1/runs/{a[(a.LastIndexOf('/') + 1)..]}") ? a : await StartSmAsync("fz-sm");
        var spec = KfpCompiler.ReadDocument(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "corpus", "kfp", "pipeline_with_after.yaml")), [])!.ToJsonString();
        var (job, vop) = old is { } p && await ExistsAsync($"/api/v1/runs/{p.VertexJobId}") ? (p.VertexJobId, p.VertexOperation) : await StartVertexAsync(spec);
        Assert.True(await Posix.EventuallyAsync(() => ActiveRuns(s) == 0, TimeSpan.FromSeconds(60)), "seeded runs do not end");
        seed = new FuzzSeed(pipeline, run, victim, victimRun, "fz-queue", "fz-victim-queue", op, "fz-sm", "fz-sm-victim", arn, job, vop, spec);
        return seed;
    }

    private int ActiveRuns(ServerProcess s)
    {
        using var r = s.Http.GetAsync("/healthz").GetAwaiter().GetResult();
        var o = JsonNode.Parse(r.Content.ReadAsStringAsync().GetAwaiter().GetResult())!;
        return o["activeRuns"]!.GetValue<int>();
    }

    private async Task<bool> ExistsAsync(string path)
    {
        using var r = await Server.Http.GetAsync(path);
        return r.StatusCode == HttpStatusCode.OK;
    }

    private async Task<string> EnsurePipelineAsync(string name, string? old)
    {
        if (old is not null && await ExistsAsync($"/api/v1/pipelines/{old}"))
        {
            return old;
        }
        await Server.CreatePipelineAsync(FaceTemplates.NativeYaml(name));
        return name;
    }

    private async Task<string> EnsureRunAsync(string pipeline, string? old)
    {
        if (old is not null && await ExistsAsync($"/api/v1/runs/{old}"))
        {
            return old;
        }
        var id = (await Server.StartRunAsync(pipeline, new { who = "seed" }))["id"]!.GetValue<string>();
        await Server.WaitForRunAsync(id, st => st is "Succeeded" or "Failed" or "Stopped");
        return id;
    }

    private async Task EnsureQueueAsync(string name)
    {
        if (await ExistsAsync($"/api/v1/queues/{name}"))
        {
            return;
        }
        using var put = await Server.Http.PutAsync($"/api/v1/queues/{name}", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        // Messages to receive, so that a receive answers at once.
        for (var i = 0; i < 3; i++)
        {
            await Server.PostJsonAsync($"/api/v1/queues/{name}/messages", new { body = $"{{\"n\": {i}}}" }, HttpStatusCode.Created);
        }
    }

    private async Task EnsureSmPipelineAsync(string name)
    {
        var (status, _) = await FuzzAws.CallAsync(Server, "DescribePipeline", new JsonObject { ["PipelineName"] = name });
        if (status != 200)
        {
            var (created, body) = await FuzzAws.CallAsync(Server, "CreatePipeline", new JsonObject
            {
                ["PipelineName"] = name, ["PipelineDefinition"] = FaceTemplates.SmDefinition, ["RoleArn"] = FuzzAws.Role,
            });
            Assert.True(created == 200, $"CreatePipeline {name}: {body}");
        }
    }

    private async Task<string> StartSmAsync(string name)
    {
        var (status, body) = await FuzzAws.CallAsync(Server, "StartPipelineExecution", new JsonObject { ["PipelineName"] = name });
        Assert.True(status == 200, body?.ToJsonString());
        return body!["PipelineExecutionArn"]!.GetValue<string>();
    }

    private async Task<(string Job, string Operation)> StartVertexAsync(string spec)
    {
        var id = "fz-job-" + Guid.NewGuid().ToString("N")[..8];
        using var create = await Server.Http.PostAsync($"/v1/projects/{Project}/locations/{Location}/pipelineJobs?pipelineJobId={id}",
            new StringContent(new JsonObject
            {
                ["displayName"] = id, ["pipelineSpec"] = JsonNode.Parse(spec), ["runtimeConfig"] = new JsonObject { ["gcsOutputDirectory"] = "gs://fz/root" },
            }.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(create.IsSuccessStatusCode, await create.Content.ReadAsStringAsync());
        await Server.WaitForRunAsync(id, st => st is "Succeeded" or "Failed" or "Stopped");
        using var cancel = await Server.Http.PostAsync($"/v1/projects/{Project}/locations/{Location}/pipelineJobs:batchCancel",
            new StringContent(new JsonObject { ["names"] = new JsonArray($"projects/{Project}/locations/{Location}/pipelineJobs/{id}") }.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await cancel.Content.ReadAsStringAsync();
        Assert.True(cancel.IsSuccessStatusCode, text);
        var name = JsonNode.Parse(text)!["name"]!.GetValue<string>();
        return (id, name[(name.LastIndexOf('/') + 1)..]);
    }
}

/// <summary>Raw calls to the AWS endpoint in development mode (no signature needed).</summary>
internal static class FuzzAws
{
    public const string Region = "us-east-1";
    public const string Account = "000000000000";
    public const string Role = "arn:aws:iam::000000000000:role/fuzz";

    public static async Task<(int Status, JsonNode? Body)> CallAsync(ServerProcess s, string op, JsonObject body)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8) };
        m.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        m.Headers.TryAddWithoutValidation("X-Amz-Target", "SageMaker." + op);
        using var r = await s.Http.SendAsync(m);
        var text = await r.Content.ReadAsStringAsync();
        return ((int)r.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
