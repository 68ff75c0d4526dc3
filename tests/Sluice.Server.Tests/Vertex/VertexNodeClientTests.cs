using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests.Vertex;

/// <summary>A server with two slots (so a third job stays queued), the project id and number configured as one tenant, and a
/// credentials file whose Vertex token the Node client sends for that project.</summary>
public sealed class NodeClientServer : IAsyncLifetime, IDisposable
{
    public const string VertexToken = "ya29.vertex-token-of-my-proj-for-the-node-client";

    private readonly TempDirectory dir = new("sluice-vertex-node");
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var credentials = dir.File("credentials.yaml");
        TestCredentials.Write(credentials, TestCredentials.File + $"""
            vertexTokens:
              - name: node-client
                projects: ["{VertexSupport.Project}"]
                token: {VertexToken}

            """);
        server = await ServerProcess.StartAsync(null, ["--slots", "2", "--credentials", credentials, .. VertexSupport.ProjectArgs]);
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
        Dispose();
    }

    public void Dispose() => dir.Dispose();
}

/// <summary>Google's Vertex AI Node client (@google-cloud/aiplatform, REST fallback), unchanged, against a real server: one Node
/// process runs the whole scenario (scenario.js) and reports what it saw.</summary>
public sealed class VertexNodeClientTests(NodeClientServer fixture) : IClassFixture<NodeClientServer>
{
    private static readonly string[] Specs =
        ["producer_consumer_param_pipeline.yaml", "kfp1.8_pipelinejob_pipeline_with_condition.json", "kfp1.8_experimental_pipeline_with_exit_handler.json",
         "long-running.json"];

    [Fact]
    public async Task NodeClient_CreateGetListCancelBatchCancelDelete_BehavesAsVertex()
    {
        using var specs = new TempDirectory("sluice-vertex-specs");
        foreach (var f in Specs)
        {
            await File.WriteAllTextAsync(specs.File(Path.GetFileNameWithoutExtension(f) + ".json"), VertexSupport.Spec(f).ToJsonString());
        }
        var s = Guid.NewGuid().ToString("N")[..8];
        var parent = VertexSupport.Parent;

        var o = await VertexSupport.NodeAsync("scenario.js", TimeSpan.FromMinutes(4),
            new Dictionary<string, string> { ["SLUICE_VERTEX_TOKEN"] = NodeClientServer.VertexToken }, fixture.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            specs.Path, s);

        // Create and get, from the corpus.
        Assert.Equal($"{parent}/pipelineJobs/pc-{s}", o["createdName"]!.GetValue<string>());
        Assert.Equal("PIPELINE_STATE_QUEUED", o["createdState"]!.GetValue<string>());
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", o["pc"]!["state"]!.GetValue<string>());
        Assert.Equal("SUCCEEDED", o["pc"]!["tasks"]!["consumer"]!.GetValue<string>());
        Assert.Equal("from node", o["pc"]!["text"]!.GetValue<string>());
        Assert.True(o["pc"]!["hasSpec"]!.GetValue<bool>());
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", o["cond"]!["state"]!.GetValue<string>());
        Assert.Equal("SUCCEEDED", o["cond"]!["tasks"]!["print-msg"]!.GetValue<string>());
        Assert.Contains(o["cond"]!["tasks"]!["condition-1"]!.GetValue<string>(), new[] { "SUCCEEDED", "NOT_TRIGGERED" });
        Assert.Equal("PIPELINE_STATE_FAILED", o["failed"]!["state"]!.GetValue<string>());
        Assert.Equal(9, o["failed"]!["errorCode"]!.GetValue<int>());
        Assert.Equal("FAILED", o["failed"]!["tasks"]!["exit-handler-1.fail-op"]!.GetValue<string>());
        Assert.Equal("SUCCEEDED", o["failed"]!["tasks"]!["print-op"]!.GetValue<string>());

        // A third job waits for a slot: QUEUED.
        Assert.Equal("PIPELINE_STATE_QUEUED", o["queued"]!.GetValue<string>());

        // List: a filter, OR binding tighter than AND, paging by hand, readMask (no spec, no jobDetail in lists).
        Assert.Equal([$"{parent}/pipelineJobs/l1-{s}", $"{parent}/pipelineJobs/l2-{s}"], o["listRunning"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(3, o["listQueuedOrRunning"]!.GetValue<int>());
        var pages = o["pages"]!.AsArray();
        Assert.Equal([$"{parent}/pipelineJobs/l1-{s}", $"{parent}/pipelineJobs/l2-{s}"], pages[0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal([$"{parent}/pipelineJobs/l3-{s}"], pages[1]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(pages[2]!.GetValue<bool>());
        Assert.Equal("", pages[3]!.GetValue<string>());
        foreach (var m in o["masked"]!.AsArray())
        {
            Assert.False(m!["hasSpec"]!.GetValue<bool>());
            Assert.False(m["hasDetail"]!.GetValue<bool>());
            Assert.False(m["hasCreateTime"]!.GetValue<bool>());
            Assert.StartsWith("l", m["displayName"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        // Cancel: queued -> CANCELLED; running -> CANCELLING -> CANCELLED with error code 1; terminal -> 400 FAILED_PRECONDITION; unknown -> 404.
        Assert.Equal("PIPELINE_STATE_CANCELLED", o["cancelQueued"]!.GetValue<string>());
        var running = o["cancelRunning"]!;
        Assert.Equal("PIPELINE_STATE_CANCELLED", running["state"]!.GetValue<string>());
        Assert.Equal(1, running["error"]!["code"]!.GetValue<int>());
        Assert.True(running["endTime"]!.GetValue<bool>());
        Assert.Equal("CANCELLED", running["tasks"]!["first"]!.GetValue<string>());
        // The exit task (ALL_UPSTREAM_TASKS_COMPLETED) never starts once the job is cancelling.
        Assert.Equal("CANCELLED", running["tasks"]!["exit-task"]!.GetValue<string>());
        Assert.DoesNotContain("PIPELINE_STATE_SUCCEEDED", running["seen"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(400, o["cancelTerminal"]!["code"]!.GetValue<int>());
        Assert.Equal("FAILED_PRECONDITION", o["cancelTerminal"]!["status"]!.GetValue<string>());
        Assert.Equal(404, o["cancelUnknown"]!["code"]!.GetValue<int>());

        // Batch cancel through its operation: the running job cancelled, the two terminal ones skipped (partial failures).
        var batch = o["batchCancel"]!;
        Assert.StartsWith($"{parent}/operations/", batch["operation"]!.GetValue<string>(), StringComparison.Ordinal);
        var cancelled = Assert.Single(batch["cancelled"]!.AsArray());
        Assert.Equal($"{parent}/pipelineJobs/l2-{s}", cancelled![0]!.GetValue<string>());
        Assert.Equal(2, batch["partialFailures"]!.GetValue<int>());
        Assert.True(batch["hasCreateTime"]!.GetValue<bool>());
        Assert.Equal("PIPELINE_STATE_CANCELLED", o["afterBatch"]!.GetValue<string>());
        Assert.Equal(400, o["batchTooMany"]!["code"]!.GetValue<int>());
        Assert.Equal("INVALID_ARGUMENT", o["batchOtherParent"]!["status"]!.GetValue<string>());
        Assert.Equal(404, o["batchUnknown"]!["code"]!.GetValue<int>());
        Assert.True(o["getOperation"]!["done"]!.GetValue<bool>());
        Assert.True(o["listOperations"]!.GetValue<bool>());

        // Delete: only finished jobs; a batch is all or none.
        Assert.Equal("FAILED_PRECONDITION", o["deleteRunning"]!["status"]!.GetValue<string>());
        Assert.Equal("FAILED_PRECONDITION", o["batchDeleteWithRunning"]!["status"]!.GetValue<string>());
        Assert.Equal("PIPELINE_STATE_CANCELLED", o["l1StillThere"]!.GetValue<string>());
        Assert.Equal(404, o["deleted"]!["code"]!.GetValue<int>());
        Assert.Equal(4, o["batchDeleted"]!.AsArray().Count);
        Assert.Equal(404, o["batchDeletedGone"]!["code"]!.GetValue<int>());
    }
}
