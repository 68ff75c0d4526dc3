using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;
using static Sluice.Server.Tests.Vertex.VertexSupport;

namespace Sluice.Server.Tests.Vertex;

/// <summary>A server with the project id and number as aliases of one tenant.</summary>
public sealed class VertexServer : IAsyncLifetime
{
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    // default-proj names the default tenant, where native runs live.
    public async Task InitializeAsync() => server = await ServerProcess.StartAsync(null,
        [.. ProjectArgs, "--Vertex:Projects:1:Id", "default-proj", "--Vertex:Projects:1:Tenant", "default"]);

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>The Vertex face over raw HTTP: Google's JSON and error conventions, the rules of each method, operations, and
/// the same run seen through the native API.</summary>
public sealed class VertexRestTests(VertexServer fixture) : IClassFixture<VertexServer>
{
    private HttpClient Http => fixture.Server.Http;

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static JsonObject Quick() => Spec("pipeline_with_after.yaml");

    private static JsonObject LongRunning() => Spec("long-running.json");

    /// <summary>A long run whose task ignores the first SIGTERM for a second, so that CANCELLING lasts while its process lives.</summary>
    private static JsonObject SlowToStop()
    {
        var spec = LongRunning();
        spec["deploymentSpec"]!["executors"]!["exec-wait"]!["container"]!["command"] = new JsonArray("sh", "-c",
            "trap 'sleep 1; exit 0' TERM; echo $$ > \"$1\"; sleep \"$0\" & wait; wait", "{{$.inputs.parameters['seconds']}}",
            "{{$.inputs.parameters['marker']}}");
        return spec;
    }

    private Task<(HttpStatusCode Status, JsonNode? Body)> Call(HttpMethod m, string path, JsonNode? body = null) => CallAsync(Http, m, path, body);

    private static JsonObject Body(JsonObject spec, string root = "gs://b/r") =>
        new() { ["pipelineSpec"] = spec, ["runtimeConfig"] = new JsonObject { ["gcsOutputDirectory"] = root } };

    // ---- create ----

    [Theory]
    [InlineData("Upper")]
    [InlineData("9starts-with-a-digit")]
    [InlineData("under_score")]
    [InlineData("x123456789012345678901234567890123456789012345678901234567890123")]
    [InlineData("ends-with-")]
    public async Task Create_InvalidPipelineJobId_InvalidArgumentAndNothingCreated(string id)
    {
        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs?pipelineJobId={id}", Body(Quick()));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_ARGUMENT", Error(body));
        Assert.Equal(400, body!["error"]!["code"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{id.ToLowerInvariant()}")).Status);
    }

    [Fact]
    public async Task Create_DuplicateId_AlreadyExists409()
    {
        var id = Id("dup");
        await CreateAsync(Http, id, Quick());

        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs?pipelineJobId={id}", Body(Quick()));

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("ALREADY_EXISTS", Error(body));
    }

    [Fact]
    public async Task Create_WithoutId_GeneratesOne()
    {
        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs", Body(Quick()));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Matches("^projects/my-proj/locations/us-central1/pipelineJobs/[a-z][a-z0-9]{11}$", body!["name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"runtimeConfig": {"gcsOutputDirectory": "gs://b"}}""", "pipelineSpec is required")]
    [InlineData("""{"templateUri": "https://us-central1-kfp.pkg.dev/p/r/t/v1"}""", "templateUri is not supported")]
    [InlineData("""{"pipelineSpec": {"pipelineInfo": {"name": "x"}}}""", "gcsOutputDirectory is required")]
    [InlineData("""{"pipelineSpec": {"pipelineInfo": {"name": "x"}}, "runtimeConfig": {"gcsOutputDirectory": "gs://b", "failurePolicy": "NOPE"}}""", "failurePolicy")]
    [InlineData("""{"pipelineSpec": {"pipelineInfo": {"name": "x"}}, "runtimeConfig": {"gcsOutputDirectory": "gs://b", "inputArtifacts": {"a": {"artifactId": "1"}}}}""", "inputArtifacts")]
    [InlineData("""[1]""", "JSON object")]
    [InlineData("""{"pipelineSpec": """, "Invalid JSON")]
    [InlineData("""{"displayName": false, "displayName": "twice", "pipelineSpec": {"pipelineInfo": {"name": "x"}}}""", "Invalid JSON")]
    public async Task Create_BadBody_InvalidArgumentWithAMessage(string json, string expected)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs?pipelineJobId={Id("bad")}")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        using var resp = await Http.SendAsync(req);
        var body = JsonNode.Parse(await resp.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", Error(body));
        Assert.Contains(expected, body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_SpecWithProblems_InvalidArgumentWithFieldViolations()
    {
        var spec = Quick();
        spec["root"]!["dag"]!["tasks"]!["print-text"]!["componentRef"]!["name"] = "comp-missing";

        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs?pipelineJobId={Id("prob")}", Body(spec));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var violations = body!["error"]!["details"]!.AsArray().Single(d => d!["@type"]!.GetValue<string>() == "type.googleapis.com/google.rpc.BadRequest");
        Assert.Contains(violations!["fieldViolations"]!.AsArray(), v => v!["description"]!.GetValue<string>().Contains("comp-missing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_SnakeCaseNamesAndEnumNumbers_Accepted()
    {
        var id = Id("snake");
        var body = new JsonObject
        {
            ["display_name"] = "snake job",
            ["pipeline_spec"] = Spec("producer_consumer_param_pipeline.yaml"),
            ["runtime_config"] = new JsonObject
            {
                ["gcs_output_directory"] = "gs://b/r", ["parameter_values"] = new JsonObject { ["text"] = "snake" }, ["failure_policy"] = 2,
                ["parameters"] = new JsonObject(), ["input_artifacts"] = new JsonObject(),
            },
            ["labels"] = new JsonObject { ["team"] = "ml" },
            ["unknownField"] = "ignored",
        };

        var (status, created) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs?pipeline_job_id={id}", body);
        var job = await WaitAsync(Http, id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("snake job", created!["displayName"]!.GetValue<string>());
        Assert.Equal("PIPELINE_STATE_SUCCEEDED", job["state"]!.GetValue<string>());
        Assert.Equal("PIPELINE_FAILURE_POLICY_FAIL_FAST", job["runtimeConfig"]!["failurePolicy"]!.GetValue<string>());
        Assert.Equal("snake", job["runtimeConfig"]!["parameterValues"]!["text"]!.GetValue<string>());
        Assert.Equal("ml", job["labels"]!["team"]!.GetValue<string>());
        Assert.Contains("snake, this is an output parameter", await LogAsync(Http, id, "consumer"), StringComparison.Ordinal);
    }

    // ---- get: JSON conventions ----

    [Fact]
    public async Task Get_GoogleJsonConventions_EnumsByNameOrNumberInt64AsStringsUtcTimesDefaultsOmitted()
    {
        var id = Id("conv");
        await CreateAsync(Http, id, Quick());
        await WaitAsync(Http, id);

        var (_, byName) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{id}?");
        var (_, byNumber) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{id}?$alt=json%3Benum-encoding=int");

        Assert.Equal("PIPELINE_STATE_SUCCEEDED", byName!["state"]!.GetValue<string>());
        Assert.Equal(4, byNumber!["state"]!.GetValue<int>());
        var task = byName["jobDetail"]!["taskDetails"]!.AsArray().First(t => t!["taskName"]!.GetValue<string>() == "print-text-3")!;
        Assert.Equal(JsonValueKind.String, task["taskId"]!.GetValueKind());
        Assert.True(long.TryParse(task["taskId"]!.GetValue<string>(), CultureInfo.InvariantCulture, out _));
        Assert.Equal(byName["jobDetail"]!["taskDetails"]![0]!["taskId"]!.GetValue<string>(), task["parentTaskId"]!.GetValue<string>());
        Assert.Equal("SUCCEEDED", task["state"]!.GetValue<string>());
        Assert.Equal(3, byNumber["jobDetail"]!["taskDetails"]!.AsArray().First(t => t!["taskName"]!.GetValue<string>() == "print-text-3")!["state"]!.GetValue<int>());
        Assert.EndsWith("Z", byName["createTime"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(DateTimeOffset.Parse(byName["endTime"]!.GetValue<string>(), CultureInfo.InvariantCulture) >= DateTimeOffset.Parse(byName["startTime"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        Assert.Null(byName["error"]);
        Assert.Null(byName["preflightValidations"]);
        Assert.Equal("pipeline-with-after", byName["pipelineSpec"]!["pipelineInfo"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Get_ProjectNumberIsAnAliasOfTheProjectId_OtherProjectsAndLocationsDoNotSeeIt()
    {
        var id = Id("alias");
        await CreateAsync(Http, id, Quick());

        var byNumber = await GetAsync(Http, id, $"projects/{ProjectNumber}/locations/{Location}");

        Assert.Equal($"projects/{ProjectNumber}/locations/{Location}/pipelineJobs/{id}", byNumber["name"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, $"/v1/projects/other-proj/locations/{Location}/pipelineJobs/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, $"/v1/{Parent.Replace(Location, "europe-west4", StringComparison.Ordinal)}/pipelineJobs/{id}")).Status);
    }

    [Fact]
    public async Task Get_Unknown_NotFoundWithErrorInfo()
    {
        var (status, body) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/nope-nope");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("NOT_FOUND", Error(body));
        Assert.Equal("RESOURCE_NOT_FOUND", body!["error"]!["details"]![0]!["reason"]!.GetValue<string>());
    }

    // ---- cancel ----

    [Fact]
    public async Task Cancel_Running_CancellingUntilEveryProcessIsGoneThenCancelledWithCode1()
    {
        var id = Id("slowstop");
        var marker = Path.Combine(fixture.Server.DataDir, id + ".pid");
        await CreateAsync(Http, id, SlowToStop(), new JsonObject { ["seconds"] = 300, ["marker"] = marker });
        await WaitAsync(Http, id, j => TaskState(j, "first") == "RUNNING" && File.Exists(marker) && File.ReadAllText(marker).Trim().Length > 0);
        var pid = int.Parse(File.ReadAllText(marker).Trim(), CultureInfo.InvariantCulture);

        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/{id}:cancel", new JsonObject());
        var cancelling = await GetAsync(Http, id);
        var again = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/{id}:cancel", new JsonObject());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("{}", body!.ToJsonString());
        Assert.Equal("PIPELINE_STATE_CANCELLING", cancelling["state"]!.GetValue<string>());
        Assert.Equal("CANCELLING", TaskState(cancelling, "first"));
        Assert.True(Posix.IsAlive(pid), "the task's process ends after the state says CANCELLING");
        Assert.Equal(HttpStatusCode.OK, again.Status);
        var done = await WaitAsync(Http, id);
        Assert.Equal("PIPELINE_STATE_CANCELLED", done["state"]!.GetValue<string>());
        Assert.False(Posix.IsAlive(pid));
        Assert.Equal(1, done["error"]!["code"]!.GetValue<int>());
        Assert.Equal("CANCELLED", TaskState(done, "exit-task"));
        Assert.NotNull(done["endTime"]);
    }

    [Fact]
    public async Task Cancel_TerminalJob_FailedPrecondition400NamingTheState()
    {
        var id = Id("term");
        await CreateAsync(Http, id, Quick());
        await WaitAsync(Http, id);

        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/{id}:cancel", new JsonObject());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("FAILED_PRECONDITION", Error(body));
        Assert.Equal($"PipelineJob \"{Parent}/pipelineJobs/{id}\" is in state PIPELINE_STATE_SUCCEEDED and cannot be cancelled.",
            body!["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancel_Unknown_NotFound()
    {
        var (status, body) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/ghost-job:cancel", new JsonObject());

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("NOT_FOUND", Error(body));
    }

    // ---- batch cancel ----

    [Fact]
    public async Task BatchCancel_BadRequests_InvalidArgumentOrNotFoundAndNothingIsCancelled()
    {
        var id = Id("keep");
        await CreateAsync(Http, id, LongRunning());
        var mine = $"{Parent}/pipelineJobs/{id}";

        var tooMany = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel",
            new JsonObject { ["names"] = new JsonArray([.. Enumerable.Range(0, 33).Select(i => (JsonNode?)$"{Parent}/pipelineJobs/x{i}")]) });
        var none = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel", new JsonObject { ["names"] = new JsonArray() });
        var notAName = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel", new JsonObject { ["names"] = new JsonArray(mine, "jobs/x") });
        var otherParent = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel",
            new JsonObject { ["names"] = new JsonArray(mine, $"projects/{Project}/locations/europe-west4/pipelineJobs/x") });
        var unknown = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel",
            new JsonObject { ["names"] = new JsonArray(mine, $"{Parent}/pipelineJobs/ghost") });

        Assert.Equal("INVALID_ARGUMENT", Error(tooMany.Body));
        Assert.Equal("INVALID_ARGUMENT", Error(none.Body));
        Assert.Equal("INVALID_ARGUMENT", Error(notAName.Body));
        Assert.Equal("INVALID_ARGUMENT", Error(otherParent.Body));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.DoesNotContain((await GetAsync(Http, id))["state"]!.GetValue<string>(), new[] { "PIPELINE_STATE_CANCELLING", "PIPELINE_STATE_CANCELLED" });
        await Call(HttpMethod.Post, $"/v1/{mine}:cancel", new JsonObject());
    }

    [Fact]
    public async Task BatchCancel_OperationUnderV1AndUi_FlatAndNested_DoneWhenAllAreTerminal()
    {
        var id = Id("bc");
        var marker = Path.Combine(fixture.Server.DataDir, id + ".pid");
        await CreateAsync(Http, id, SlowToStop(), new JsonObject { ["seconds"] = 300, ["marker"] = marker });
        await WaitAsync(Http, id, j => File.Exists(marker) && File.ReadAllText(marker).Trim().Length > 0);

        var (status, op) = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel",
            new JsonObject { ["names"] = new JsonArray($"projects/{ProjectNumber}/locations/{Location}/pipelineJobs/{id}") });
        var name = op!["name"]!.GetValue<string>();
        var opId = name[(name.LastIndexOf('/') + 1)..];
        JsonNode? done = null;
        var until = TimeProvider.System.GetUtcNow() + Deadline.Default;
        while (done is null)
        {
            var (_, o) = await Call(HttpMethod.Get, $"/ui/{name}?");
            if (o!["done"]?.GetValue<bool>() == true)
            {
                done = o;
            }
            Assert.True(TimeProvider.System.GetUtcNow() < until, "the operation did not finish");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
        var v1 = await Call(HttpMethod.Get, $"/v1/{name}");
        var nested = await Call(HttpMethod.Get, $"/ui/{Parent}/pipelineJobs/{id}/operations/{opId}");
        var nestedList = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{id}/operations");
        var waited = await Call(HttpMethod.Post, $"/v1/{name}:wait?timeout=5s", new JsonObject());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("type.googleapis.com/google.cloud.aiplatform.v1.BatchCancelPipelineJobsOperationMetadata", op["metadata"]!["@type"]!.GetValue<string>());
        Assert.NotNull(op["metadata"]!["genericMetadata"]!["createTime"]);
        Assert.Null(op["done"]);
        Assert.Equal("type.googleapis.com/google.cloud.aiplatform.v1.BatchCancelPipelineJobsResponse", done["response"]!["@type"]!.GetValue<string>());
        var job = Assert.Single(done["response"]!["pipelineJobs"]!.AsArray())!;
        Assert.Equal("PIPELINE_STATE_CANCELLED", job["state"]!.GetValue<string>());
        Assert.True(done["done"]!.GetValue<bool>());
        Assert.Equal(done.ToJsonString(), v1.Body!.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, nested.Status);
        Assert.Contains(nestedList.Body!["operations"]!.AsArray(), o => o!["name"]!.GetValue<string>() == name);
        Assert.True(waited.Body!["done"]!.GetValue<bool>());

        var cancelOp = await Call(HttpMethod.Post, $"/ui/{name}:cancel", new JsonObject());
        Assert.Equal("FAILED_PRECONDITION", Error(cancelOp.Body));
        Assert.Equal("{}", (await Call(HttpMethod.Delete, $"/ui/{name}")).Body!.ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, $"/ui/{name}")).Status);
    }

    // ---- delete ----

    [Fact]
    public async Task Delete_OnlyFinishedJobs_BatchDeleteAllOrNone()
    {
        var running = Id("delrun");
        var finished = Id("delfin");
        await CreateAsync(Http, running, LongRunning());
        await CreateAsync(Http, finished, Quick());
        await WaitAsync(Http, finished);

        var notYet = await Call(HttpMethod.Delete, $"/v1/{Parent}/pipelineJobs/{running}");
        var batch = await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchDelete",
            new JsonObject { ["names"] = new JsonArray($"{Parent}/pipelineJobs/{finished}", $"{Parent}/pipelineJobs/{running}") });
        var stillThere = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{finished}");
        var (status, op) = await Call(HttpMethod.Delete, $"/v1/{Parent}/pipelineJobs/{finished}");
        var gone = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{finished}");
        var unknown = await Call(HttpMethod.Delete, $"/v1/{Parent}/pipelineJobs/{finished}");

        Assert.Equal(HttpStatusCode.BadRequest, notYet.Status);
        Assert.Equal("FAILED_PRECONDITION", Error(notYet.Body));
        Assert.Equal("FAILED_PRECONDITION", Error(batch.Body));
        Assert.Equal(HttpStatusCode.OK, stillThere.Status);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(op!["done"]!.GetValue<bool>());
        Assert.Equal("type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata", op["metadata"]!["@type"]!.GetValue<string>());
        Assert.Equal("type.googleapis.com/google.protobuf.Empty", op["response"]!["@type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, $"/api/v1/runs/{finished}")).Status);
        await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/{running}:cancel", new JsonObject());
    }

    // ---- list ----

    [Fact]
    public async Task List_Filters_AndOrPrecedenceWildcardsTimesNegationOrderAndMask()
    {
        var g = Guid.NewGuid().ToString("N")[..8];
        var a = Id("lista");
        var b = Id("listb");
        var c = Id("listc");
        await CreateAsync(Http, a, Quick(), labels: new JsonObject { ["g"] = g, ["kind"] = "x" });
        await WaitAsync(Http, a);
        var between = DateTimeOffset.Parse((await GetAsync(Http, a))["createTime"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        await CreateAsync(Http, b, Quick(), labels: new JsonObject { ["g"] = g, ["kind"] = "y" });
        await WaitAsync(Http, b);
        await CreateAsync(Http, c, LongRunning(), labels: new JsonObject { ["g"] = g });
        await WaitAsync(Http, c, j => j["state"]!.GetValue<string>() == "PIPELINE_STATE_RUNNING");

        async Task<List<string>> Ids(string filter, string extra = "")
        {
            var (status, body) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?filter={Uri.EscapeDataString(filter)}{extra}");
            Assert.True(status == HttpStatusCode.OK, $"{filter}: {body}");
            return body!["pipelineJobs"]?.AsArray().Select(j => j!["name"]!.GetValue<string>().Split('/')[^1]).ToList() ?? [];
        }

        var all = $"labels.g=\"{g}\"";
        Assert.Equal([c, b, a], await Ids(all));
        Assert.Equal([a, b, c], await Ids(all, "&orderBy=create_time%20asc"));
        Assert.Equal([b, a], await Ids($"{all} AND state=\"PIPELINE_STATE_SUCCEEDED\""));
        Assert.Equal([c], await Ids($"{all} AND state!=PIPELINE_STATE_SUCCEEDED"));
        // OR binds tighter than AND: this is g AND (kind=x OR kind=y), which leaves c out.
        Assert.Equal([b, a], await Ids($"{all} AND labels.kind=\"x\" OR labels.kind=\"y\""));
        Assert.Equal([c], await Ids($"{all} AND NOT labels.kind:*"));
        Assert.Equal([c], await Ids($"{all} -labels.kind:*"));
        Assert.Equal([b], await Ids($"{all} AND display_name:\"listb*\""));
        Assert.Equal([a], await Ids($"{all} AND pipelineJobUserId=\"{a}\""));
        Assert.Equal([c, b], await Ids($"{all} AND create_time>\"{between:O}\""));
        Assert.Equal([a], await Ids($"{all} AND (create_time<=\"{between:O}\" OR labels.kind=\"nope\")"));
        Assert.Equal([c], await Ids($"{all} AND end_time!=\"{between:O}\" AND state=\"PIPELINE_STATE_RUNNING\""));
        Assert.Equal([b, a, c], (await Ids(all, "&orderBy=end_time%20desc")));
        Assert.Equal([c, b, a], await Ids($"{all} AND pipeline_name!=\"nope\""));

        var (_, masked) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?filter={Uri.EscapeDataString(all)}&readMask=name,display_name,pipeline_spec.pipeline_info");
        var first = masked!["pipelineJobs"]![0]!.AsObject();
        Assert.Equal(["name", "displayName", "pipelineSpec"], first.Select(kv => kv.Key));
        Assert.Equal(["pipelineInfo"], first["pipelineSpec"]!.AsObject().Select(kv => kv.Key));
        var (_, full) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?filter={Uri.EscapeDataString(all)}");
        Assert.All(full!["pipelineJobs"]!.AsArray(), j => Assert.Null(j!["jobDetail"]));

        var (_, p1) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?filter={Uri.EscapeDataString(all)}&pageSize=2");
        var (_, p2) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?filter={Uri.EscapeDataString(all)}&pageSize=2&pageToken={Uri.EscapeDataString(p1!["nextPageToken"]!.GetValue<string>())}");
        Assert.Equal(2, p1["pipelineJobs"]!.AsArray().Count);
        Assert.Single(p2!["pipelineJobs"]!.AsArray());
        Assert.Null(p2["nextPageToken"]);
        await Call(HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/{c}:cancel", new JsonObject());
    }

    [Theory]
    [InlineData("filter=nope%3D%22x%22", "unsupported field")]
    [InlineData("filter=state%3D%22PIPELINE_STATE_NOPE%22", "unknown state")]
    [InlineData("filter=create_time%3E%22yesterday%22", "RFC 3339")]
    [InlineData("filter=display_name%3D", "expected a value")]
    [InlineData("filter=%28state%3DX", "unknown state")]
    [InlineData("orderBy=display_name", "orderBy")]
    [InlineData("orderBy=create_time%20sideways", "orderBy")]
    [InlineData("pageToken=garbage", "pageToken")]
    [InlineData("pageSize=-1", "pageSize")]
    public async Task List_BadQuery_InvalidArgument(string query, string expected)
    {
        var (status, body) = await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_ARGUMENT", Error(body));
        Assert.Contains(expected, body!["error"]!["message"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    // ---- routes ----

    [Theory]
    [InlineData("GET", "/v1/projects/p/locations/l/nothingHere")]
    [InlineData("PUT", "/v1/projects/p/locations/l/pipelineJobs")]
    [InlineData("POST", "/v1/projects/p/locations/l/pipelineJobs/x:explode")]
    [InlineData("GET", "/ui/projects/p/locations/l/pipelineJobs")]
    [InlineData("GET", "/v1/elsewhere")]
    public async Task UnknownRoute_NotFoundInGoogleForm(string method, string path)
    {
        var (status, body) = await Call(new HttpMethod(method), path);

        Assert.True(status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"{status}");
        if (status == HttpStatusCode.NotFound)
        {
            Assert.Equal("NOT_FOUND", Error(body));
        }
    }

    [Fact]
    public async Task TrainingPipelines_Unimplemented501()
    {
        var (status, body) = await Call(HttpMethod.Get, $"/v1/{Parent}/trainingPipelines");

        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Equal("UNIMPLEMENTED", Error(body));
    }

    // ---- the same run through every face ----

    [Fact]
    public async Task CrossFace_StartThroughVertex_ObserveAndStopThroughTheNativeApi()
    {
        var id = Id("cross");
        await CreateAsync(Http, id, LongRunning());
        await WaitAsync(Http, id, j => TaskState(j, "first") == "RUNNING");

        var (_, native) = await Call(HttpMethod.Get, $"/api/v1/runs/{id}");
        var stop = await Call(HttpMethod.Post, $"/api/v1/runs/{id}:stop", new JsonObject { ["reason"] = "from the native API" });
        var job = await WaitAsync(Http, id);
        var (_, after) = await Call(HttpMethod.Get, $"/api/v1/runs/{id}");

        Assert.Equal("Running", native!["state"]!.GetValue<string>());
        Assert.Equal("vertex", native["face"]!.GetValue<string>());
        Assert.Equal(Location, native["location"]!.GetValue<string>());
        Assert.Equal("long-running", native["pipeline"]!.GetValue<string>());
        // The task shows RUNNING from the moment its process is being started.
        Assert.Contains(native.AsObject().StepOf("first").Str("state"), new[] { "Starting", "Running" });
        Assert.Equal(HttpStatusCode.Accepted, stop.Status);
        Assert.Equal("PIPELINE_STATE_CANCELLED", job["state"]!.GetValue<string>());
        Assert.Equal("Stopped", after!["state"]!.GetValue<string>());
        Assert.Equal("from the native API", after["stop"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task CrossFace_NativeRun_VisibleAsAPipelineJobInItsLocation()
    {
        var name = Json.UniqueName("native-vx");
        using var define = new HttpRequestMessage(HttpMethod.Post, "/api/v1/pipelines")
        {
            Content = new StringContent($"name: {name}\nsteps:\n  - name: hello\n    command: echo\n    args: [hi]\n", System.Text.Encoding.UTF8, "application/yaml"),
        };
        Assert.Equal(HttpStatusCode.Created, (await Http.SendAsync(define)).StatusCode);
        var (_, run) = await Call(HttpMethod.Post, "/api/v1/runs", new JsonObject { ["pipeline"] = name });
        var id = run!["id"]!.GetValue<string>();

        // Native runs live in the default tenant's "local" location; a project that names that tenant sees them.
        var job = await WaitAsync(Http, id, within: null, parent: "projects/default-proj/locations/local");

        Assert.Equal("PIPELINE_STATE_SUCCEEDED", job["state"]!.GetValue<string>());
        Assert.Null(job["pipelineSpec"]);
        Assert.Equal("SUCCEEDED", TaskState(job, "hello"));
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{id}")).Status);
    }
}
