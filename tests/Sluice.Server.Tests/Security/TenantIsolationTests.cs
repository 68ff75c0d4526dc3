using System.Net;
using System.Text.Json.Nodes;
using Sluice.Server.Tests.SageMaker;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.Security;

/// <summary>Two tenants in one credentials file: acme (AWS account 111111111111, Google project proj-a) and globex (account
/// 222222222222, project proj-b), each with API tokens, an AWS key, and for globex a Vertex token.</summary>
public sealed class TwoTenantServer : IAsyncLifetime, IDisposable
{
    public const string AcmeAdmin = "slu_acme-admin-token-0000000000000001";
    public const string AcmeRead = "slu_acme-read-token-00000000000000002";
    public const string GlobexAdmin = "slu_globex-admin-token-000000000000003";
    public const string GlobexVertex = "ya29.globex-vertex-token-00000000000004";
    public const string KeyA = "AKIAACMEACMEACME0001";
    public const string SecretA = "acme/secret+key=0000000000000000000000A";
    public const string KeyB = "AKIAGLOBEXGLOBEX0002";
    public const string SecretB = "globex/secret+key=000000000000000000000B";

    /// <summary>Every secret of the file: none may ever show in the server's output.</summary>
    public static readonly string[] Secrets = [AcmeAdmin, AcmeRead, GlobexAdmin, GlobexVertex, SecretA, SecretB, TestCredentials.AdminToken];

    private readonly TempDirectory dir = new("sluice-tenants");
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var file = dir.File("credentials.yaml");
        TestCredentials.Write(file, $"""
            tenants:
              acme:
                awsAccounts: ["111111111111"]
                gcpProjects: [proj-a, "1111111111"]
              globex:
                awsAccounts: ["222222222222"]
                gcpProjects: [proj-b]
            apiTokens:
              - {"{"} name: admin, tenant: "*", scope: admin, token: {TestCredentials.AdminToken} {"}"}
              - {"{"} name: acme-admin, tenant: acme, scope: admin, token: {AcmeAdmin} {"}"}
              - {"{"} name: acme-read, tenant: acme, scope: read, token: {AcmeRead} {"}"}
              - {"{"} name: globex-admin, tenant: globex, scope: admin, token: {GlobexAdmin} {"}"}
            awsKeys:
              - {"{"} accessKeyId: {KeyA}, secretAccessKey: "{SecretA}", account: "111111111111" {"}"}
              - {"{"} accessKeyId: {KeyB}, secretAccessKey: "{SecretB}", account: "222222222222" {"}"}
            vertexTokens:
              - {"{"} name: globex-vertex, projects: [proj-b], token: {GlobexVertex} {"}"}
            """);
        server = await ServerProcess.StartAsync(null, "--credentials", file);
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

/// <summary>An account, project or token never sees, stops, deletes or completes the callback of another tenant's runs, through
/// any face; the same tenant reaches its runs through every face.</summary>
public sealed class TenantIsolationTests(TwoTenantServer fixture) : IClassFixture<TwoTenantServer>
{
    private const string Local = "local";

    private ServerProcess S => fixture.Server;

    private async Task<(HttpStatusCode Status, JsonNode? Body)> As(string token, HttpMethod method, string path, JsonNode? body = null)
    {
        using var http = S.NewClient(TimeSpan.FromSeconds(60), token);
        return await Vertex.VertexSupport.CallAsync(http, method, path, body);
    }

    [Fact]
    public async Task AcmeRun_GlobexThroughEveryFace_NeitherSeesStopsDeletesNorAnswersIt_AcmeDoesThroughEveryFace()
    {
        var name = Json.UniqueName("iso");
        var queue = Json.UniqueName("isoq");
        using (var acme = S.NewClient(TimeSpan.FromSeconds(60), TwoTenantServer.AcmeAdmin))
        using (var content = new StringContent($$$"""
            name: {{{name}}}
            steps:
              - name: work
                command: sleep
                args: ["120"]
                stopGracePeriod: 0s
              - name: approve
                type: callback
                queue: "https://sqs.local.amazonaws.com/111111111111/{{{queue}}}"
            """, System.Text.Encoding.UTF8, "application/yaml"))
        {
            var created = await acme.PostAsync("/api/v1/pipelines", content);
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }
        var a = new AwsClients(S, Local, TwoTenantServer.KeyA, TwoTenantServer.SecretA);
        var b = new AwsClients(S, Local, TwoTenantServer.KeyB, TwoTenantServer.SecretB);
        var queueUrl = $"{a.Endpoint}/111111111111/{queue}";
        var started = await a.BotoAsync([
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name }),                             // 0
            WaitExists("sqs.receive_message", new { QueueUrl = queueUrl, WaitTimeSeconds = 5 }, "Messages.0.Body"), // 1
        ]);
        var arn = started.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();
        var id = arn[(arn.LastIndexOf('/') + 1)..];
        var token = JsonNode.Parse(started.Ok(1)["Messages"]![0]!["Body"]!.GetValue<string>())!["token"]!.GetValue<string>();
        await S.WaitForStepAsync(id, "work", "Running");

        // SageMaker and SQS, account B: nothing of A's exists.
        var other = await b.BotoAsync([
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = arn }),                   // 0
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = arn }),                       // 1
            Call("sagemaker.list_pipeline_executions", new { PipelineName = name }),                             // 2
            Call("sagemaker.describe_pipeline", new { PipelineName = name }),                                    // 3
            Call("sagemaker.send_pipeline_execution_step_success", new { CallbackToken = token }),               // 4
            Call("sagemaker.send_pipeline_execution_step_failure", new { CallbackToken = token, FailureReason = "x" }), // 5
            Call("sqs.receive_message", new { QueueUrl = queueUrl }),                                            // 6
            Call("sagemaker.delete_pipeline", new { PipelineName = name, ClientRequestToken = Guid.NewGuid().ToString("D") }), // 7
            Call("sagemaker.list_pipelines"),                                                                    // 8
        ]);
        Assert.Equal("ResourceNotFound", other.Code(0));
        Assert.Equal("ResourceNotFound", other.Code(1));
        Assert.Equal("ResourceNotFound", other.Code(2));
        Assert.Equal("ResourceNotFound", other.Code(3));
        Assert.NotNull(other[4]!["error"]);
        Assert.NotNull(other[5]!["error"]);
        Assert.Equal("QueueDoesNotExist", other.Code(6));
        Assert.Equal("ResourceNotFound", other.Code(7));
        Assert.DoesNotContain(name, other.Ok(8).ToJsonString(), StringComparison.Ordinal);

        // Native API, globex's admin token: 404 for everything of acme's, as if it did not exist.
        foreach (var (method, path) in new (HttpMethod, string)[]
        {
            (HttpMethod.Get, $"/api/v1/runs/{id}"), (HttpMethod.Post, $"/api/v1/runs/{id}:stop"), (HttpMethod.Delete, $"/api/v1/runs/{id}"),
            (HttpMethod.Post, $"/api/v1/runs/{id}:retry"), (HttpMethod.Get, $"/api/v1/runs/{id}/events"), (HttpMethod.Get, $"/api/v1/runs/{id}/steps"),
            (HttpMethod.Get, $"/api/v1/runs/{id}/steps/work/logs"), (HttpMethod.Get, $"/api/v1/events?run={id}"),
            (HttpMethod.Post, $"/api/v1/callbacks/{token}:succeed"), (HttpMethod.Post, $"/api/v1/callbacks/{token}:fail"),
            (HttpMethod.Get, $"/api/v1/pipelines/{name}"), (HttpMethod.Delete, $"/api/v1/pipelines/{name}"), (HttpMethod.Get, $"/api/v1/queues/{queue}"),
        })
        {
            var (status, body) = await As(TwoTenantServer.GlobexAdmin, method, path, method == HttpMethod.Post ? new JsonObject() : null);
            Assert.True(status == HttpStatusCode.NotFound, $"globex {method} {path}: {(int)status} {body}");
        }
        var (_, listed) = await As(TwoTenantServer.GlobexAdmin, HttpMethod.Get, "/api/v1/runs?pageSize=1000");
        Assert.DoesNotContain(id, listed!.ToJsonString(), StringComparison.Ordinal);
        var (_, batch) = await As(TwoTenantServer.GlobexAdmin, HttpMethod.Post, "/api/v1/runs:stop", new JsonObject { ["runIds"] = new JsonArray(id) });
        Assert.DoesNotContain("\"Stopping\"", batch!.ToJsonString(), StringComparison.Ordinal);

        // Vertex, globex's token and globex's API token: not under its own project, and not allowed in acme's.
        foreach (var t in new[] { TwoTenantServer.GlobexVertex, TwoTenantServer.GlobexAdmin })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await As(t, HttpMethod.Get, $"/v1/projects/proj-b/locations/{Local}/pipelineJobs/{id}")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await As(t, HttpMethod.Post, $"/v1/projects/proj-b/locations/{Local}/pipelineJobs/{id}:cancel", new JsonObject())).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await As(t, HttpMethod.Delete, $"/v1/projects/proj-b/locations/{Local}/pipelineJobs/{id}")).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await As(t, HttpMethod.Get, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs/{id}")).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await As(t, HttpMethod.Post, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs/{id}:cancel", new JsonObject())).Status);
        }

        // acme's read token reads but cannot stop, through the native API or Vertex.
        Assert.Equal(HttpStatusCode.OK, (await As(TwoTenantServer.AcmeRead, HttpMethod.Get, $"/api/v1/runs/{id}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await As(TwoTenantServer.AcmeRead, HttpMethod.Post, $"/api/v1/runs/{id}:stop", new JsonObject())).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await As(TwoTenantServer.AcmeRead, HttpMethod.Post, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs/{id}:cancel", new JsonObject())).Status);
        Assert.Equal("Running", (await S.GetRunAsync(id)).Str("state"));
        Assert.Equal("Running", (await S.GetRunAsync(id)).StepOf("approve").Str("state"));

        // acme reaches the same run through every face: its Vertex name under its project number, its native id.
        var (vs, job) = await As(TwoTenantServer.AcmeAdmin, HttpMethod.Get, $"/v1/projects/1111111111/locations/{Local}/pipelineJobs/{id}");
        Assert.True(vs == HttpStatusCode.OK, $"{vs} {job}");
        var answered = await a.BotoAsync([Call("sagemaker.send_pipeline_execution_step_success", new { CallbackToken = token })]);
        answered.Ok(0);
        var (ss, _) = await As(TwoTenantServer.AcmeAdmin, HttpMethod.Post, $"/api/v1/runs/{id}:stop", new JsonObject());
        Assert.Equal(HttpStatusCode.Accepted, ss);
        var done = await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal("Succeeded", done.StepOf("approve").Str("state"));
        Assert.Equal("token:acme-admin", (await S.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray()
            .Single(e => e.Str("kind") == "stop-requested").Str("caller"));
        AssertNoSecretInOutput();
    }

    [Fact]
    public async Task GlobexVertexJob_AcmeThroughEveryFace_NeitherSeesNorStopsIt_GlobexEventsStreamShowsOnlyItsOwn()
    {
        var id = "gx" + Guid.NewGuid().ToString("N")[..10];
        var spec = new JsonObject
        {
            ["pipelineInfo"] = new JsonObject { ["name"] = "globex-job" }, ["schemaVersion"] = "2.1.0", ["sdkVersion"] = "kfp-2.14.6",
            ["components"] = new JsonObject { ["comp-work"] = new JsonObject { ["executorLabel"] = "exec-work" } },
            ["deploymentSpec"] = new JsonObject
            {
                ["executors"] = new JsonObject
                {
                    ["exec-work"] = new JsonObject { ["container"] = new JsonObject { ["image"] = "alpine", ["command"] = new JsonArray("sleep", "120") } },
                },
            },
            ["root"] = new JsonObject
            {
                ["dag"] = new JsonObject
                {
                    ["tasks"] = new JsonObject { ["work"] = new JsonObject { ["componentRef"] = new JsonObject { ["name"] = "comp-work" }, ["taskInfo"] = new JsonObject { ["name"] = "work" } } },
                },
            },
        };
        using var globex = S.NewClient(TimeSpan.FromSeconds(60), TwoTenantServer.GlobexVertex);
        await Vertex.VertexSupport.CreateAsync(globex, id, spec, parent: $"projects/proj-b/locations/{Local}");
        await S.WaitForStepAsync(id, "work", "Running");

        // globex's own event stream (native API, globex's token) carries its run and nothing of acme's: an acme run started
        // now, before globex's next change, must not show between them.
        var acmeRun = await StartAcmeRunAsync();
        using var stream = S.NewClient(Timeout.InfiniteTimeSpan, TwoTenantServer.GlobexAdmin);
        using var cts = new CancellationTokenSource(Deadline.Default);
        using var resp = await stream.GetAsync("/api/v1/events?after=0", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);

        var a = new AwsClients(S, Local, TwoTenantServer.KeyA, TwoTenantServer.SecretA);
        var arn = $"arn:aws:sagemaker:{Local}:111111111111:pipeline/globex-job/execution/{id}";
        var r = await a.BotoAsync([
            Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = arn }),
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = arn }),
            Call("sagemaker.list_pipeline_execution_steps", new { PipelineExecutionArn = arn }),
        ]);
        Assert.Equal("ResourceNotFound", r.Code(0));
        Assert.Equal("ResourceNotFound", r.Code(1));
        Assert.Equal("ResourceNotFound", r.Code(2));
        Assert.Equal(HttpStatusCode.NotFound, (await As(TwoTenantServer.AcmeAdmin, HttpMethod.Get, $"/api/v1/runs/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await As(TwoTenantServer.AcmeAdmin, HttpMethod.Post, $"/api/v1/runs/{id}:stop", new JsonObject())).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await As(TwoTenantServer.AcmeAdmin, HttpMethod.Get, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound,
            (await As(TwoTenantServer.AcmeAdmin, HttpMethod.Post, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs/{id}:cancel", new JsonObject())).Status);
        var (_, list) = await As(TwoTenantServer.AcmeAdmin, HttpMethod.Get, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs");
        Assert.DoesNotContain(id, list?.ToJsonString() ?? "", StringComparison.Ordinal);
        Assert.Equal("Running", (await S.GetRunAsync(id)).Str("state"));

        // globex cancels its own job; its stream shows that and never acme's run.
        var (cs, cb) = await As(TwoTenantServer.GlobexVertex, HttpMethod.Post, $"/v1/projects/proj-b/locations/{Local}/pipelineJobs/{id}:cancel", new JsonObject());
        Assert.True(cs == HttpStatusCode.OK, $"{cs} {cb}");
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonNode.Parse(line[6..]) is JsonObject e)
            {
                seen.Add(e.Str("runId"));
                if (e.Str("runId") == id && e["step"] is null && e["to"]?.GetValue<string>() == "Stopped")
                {
                    break;
                }
            }
        }
        Assert.Contains(id, seen);
        Assert.DoesNotContain(acmeRun, seen);
        await S.PostJsonAsync($"/api/v1/runs/{acmeRun}:stop", new { graceSeconds = 0 }, HttpStatusCode.Accepted);
        AssertNoSecretInOutput();
    }

    [Fact]
    public async Task Tokens_WrongOrTooLowScope_RefusedInEachFacesWords_WithoutEchoingTheSecret()
    {
        var wrong = "slu_wrong-token-that-must-not-be-echoed-99";
        var (s1, b1) = await As(wrong, HttpMethod.Get, "/api/v1/runs");
        Assert.Equal(HttpStatusCode.Unauthorized, s1);
        Assert.DoesNotContain(wrong, b1!.ToJsonString(), StringComparison.Ordinal);
        var (s2, b2) = await As(wrong, HttpMethod.Get, $"/v1/projects/proj-a/locations/{Local}/pipelineJobs");
        Assert.Equal(HttpStatusCode.Unauthorized, s2);
        Assert.Equal("UNAUTHENTICATED", b2!["error"]!["status"]!.GetValue<string>());
        Assert.DoesNotContain(wrong, b2.ToJsonString(), StringComparison.Ordinal);
        var badSecret = await new AwsClients(S, Local, TwoTenantServer.KeyA, TwoTenantServer.SecretB).BotoAsync([Call("sagemaker.list_pipelines")]);
        Assert.Equal("InvalidSignatureException", badSecret.Code(0));
        Assert.DoesNotContain(TwoTenantServer.SecretB, badSecret.ToJsonString(), StringComparison.Ordinal);

        // Scopes: read cannot start or define; admin of one tenant defines pipelines in its own tenant only.
        Assert.Equal(HttpStatusCode.Forbidden, (await As(TwoTenantServer.AcmeRead, HttpMethod.Post, "/api/v1/runs", new JsonObject { ["pipeline"] = "x" })).Status);
        using var define = S.NewClient(TimeSpan.FromSeconds(60), TwoTenantServer.AcmeRead);
        using var content = new StringContent("name: nope\nsteps:\n  - name: a\n    command: \"true\"\n", System.Text.Encoding.UTF8, "application/yaml");
        Assert.Equal(HttpStatusCode.Forbidden, (await define.PostAsync("/api/v1/pipelines", content)).StatusCode);
        var (who, whoBody) = await As(TwoTenantServer.AcmeRead, HttpMethod.Get, "/api/v1/session");
        Assert.Equal(HttpStatusCode.OK, who);
        Assert.Equal("acme", whoBody!["tenant"]!.GetValue<string>());
        Assert.Equal("read", whoBody["scope"]!.GetValue<string>());
        AssertNoSecretInOutput();
    }

    private async Task<string> StartAcmeRunAsync()
    {
        var name = Json.UniqueName("iso-acme");
        using var acme = S.NewClient(TimeSpan.FromSeconds(60), TwoTenantServer.AcmeAdmin);
        using var content = new StringContent($"name: {name}\nsteps:\n  - name: a\n    command: sleep\n    args: [\"60\"]\n    stopGracePeriod: 0s\n",
            System.Text.Encoding.UTF8, "application/yaml");
        Assert.Equal(HttpStatusCode.Created, (await acme.PostAsync("/api/v1/pipelines", content)).StatusCode);
        var (status, run) = await As(TwoTenantServer.AcmeAdmin, HttpMethod.Post, "/api/v1/runs", new JsonObject { ["pipeline"] = name });
        Assert.Equal(HttpStatusCode.Created, status);
        var id = run!["id"]!.GetValue<string>();
        await S.WaitForStepAsync(id, "a", "Running");
        return id;
    }

    private void AssertNoSecretInOutput()
    {
        var output = S.Output;
        foreach (var secret in TwoTenantServer.Secrets)
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }
    }
}
