using System.Net;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>A console directory with an index page and one hashed asset, served by a real server.</summary>
public sealed class ConsoleServerFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory dir = new("sluice-console");
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(dir.Path, "assets"));
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "index.html"), "<!doctype html><title>Sluice console</title>");
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "assets", "app-1a2b3c.js"), "console.log('app')");
        server = await ServerProcess.StartAsync(null, "--console-dir", dir.Path);
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    public void Dispose() => dir.Dispose();
}

public class ConsoleHostingTests(ConsoleServerFixture fixture) : IClassFixture<ConsoleServerFixture>
{
    private ServerProcess S => fixture.Server;

    [Theory]
    [InlineData("/")]
    [InlineData("/runs/k3x9q2m1a0bc")]
    [InlineData("/pipelines/train/versions/2")]
    [InlineData("/pipelines/model.v2")]
    public async Task Get_ClientRoute_ServesIndexPage(string path)
    {
        using var r = await S.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Sluice console", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("no-cache", r.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_HashedAsset_ServedImmutable()
    {
        using var r = await S.Http.GetAsync("/assets/app-1a2b3c.js");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("console.log('app')", await r.Content.ReadAsStringAsync());
        Assert.Contains("immutable", r.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/assets/missing-000000.js")]
    [InlineData("/favicon.ico")]
    [InlineData("/v1/projects/p/locations/l/pipelineJobs/x")]
    [InlineData("/ui/projects/p/locations/l/operations/x")]
    public async Task Get_MissingFileOrFacePath_IsNotTheIndexPage(string path)
    {
        using var r = await S.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.DoesNotContain("Sluice console", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_UnknownApiPath_StaysAProblem()
    {
        using var r = await S.Http.GetAsync("/api/v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Post_ToClientRoute_IsNotServedThePage()
    {
        using var r = await S.Http.PostAsync("/runs/abc", new StringContent("{}"));
        Assert.NotEqual(HttpStatusCode.OK, r.StatusCode);
        Assert.DoesNotContain("Sluice console", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_StillAnswers()
    {
        var h = await S.GetJsonAsync("/healthz");
        Assert.Equal("ok", h["status"]?.GetValue<string>());
    }
}

public class ConsoleNotBuiltTests
{
    [Fact]
    public async Task Get_Root_WithoutABuiltConsole_SaysHowToBuildIt()
    {
        // A server looks for the console next to its binary, where a build may have put one: point it at an empty directory.
        using var empty = new TempDirectory("sluice-noconsole");
        await using var s = await ServerProcess.StartAsync(null, "--console-dir", empty.Path);
        using var r = await s.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("npm run build", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

/// <summary>What the console reads about a run's graph and callbacks from GET /api/v1/runs/{id}.</summary>
public class RunGraphFieldsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    [Fact]
    public async Task GetRun_Steps_CarryEdgesGuardsAndDeclaredOutputs()
    {
        var name = Json.UniqueName("graph");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: prep
                command: sh
                args: ["-c", "echo 3 > $SLUICE_OUTPUTS/count"]
                outputs: { count: Integer }
              - name: check
                type: condition
                if: "steps.prep.outputs.count > 1"
                then:
                  - name: train
                    command: "true"
                else:
                  - name: small
                    type: fail
                    message: too small
            """);
        var run = await S.StartRunAsync(name);
        var got = await S.WaitForStateAsync(run.Str("id"), "Succeeded");
        Assert.Equal(["prep"], got.StepOf("check")["dependsOn"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal("Integer", got.StepOf("prep")["declaredOutputs"]!["count"]!.GetValue<string>());
        var guard = got.StepOf("small")["guard"]!.AsObject();
        Assert.Equal("check", guard.Str("step"));
        Assert.False(guard["branch"]!.GetValue<bool>());
        Assert.True(got.StepOf("train")["guard"]!["branch"]!.GetValue<bool>());
        Assert.Null(got.StepOf("prep")["callback"]);

        var steps = await S.GetJsonAsync($"/api/v1/runs/{run.Str("id")}/steps");
        Assert.Contains(steps["steps"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "train"
            && s["dependsOn"]!.AsArray().Any(d => d!.GetValue<string>() == "check"));
    }

    [Fact]
    public async Task GetRun_WaitingCallbackStep_ShowsTokenUntilAnswered()
    {
        var name = Json.UniqueName("cbtok");
        await S.CreatePipelineAsync($"""
            name: {name}
            steps:
              - name: approve
                type: callback
                queue: {name}
                outputs: {"{"} verdict: String {"}"}
            """);
        var run = await S.StartRunAsync(name);
        var id = run.Str("id");
        await S.WaitForStepAsync(id, "approve", "Running");
        var cb = (await S.GetRunAsync(id)).StepOf("approve")["callback"]!.AsObject();
        Assert.Equal(10, cb.Str("token").Length);
        Assert.False(cb["answered"]!.GetValue<bool>());

        await S.PostJsonAsync($"/api/v1/callbacks/{cb.Str("token")}:succeed", new { outputs = new { verdict = "ship" } }, HttpStatusCode.OK);
        var done = await S.WaitForStateAsync(id, "Succeeded");
        var step = done.StepOf("approve");
        Assert.True(step["callback"]!["answered"]!.GetValue<bool>());
        Assert.Equal("ship", step["outputs"]!["verdict"]!.GetValue<string>());
    }
}

/// <summary>A console keeps an event stream (and maybe a followed log) open all the time; a shutdown must not wait for them.</summary>
public class OpenStreamShutdownTests
{
    [Fact]
    public async Task Terminate_WithOpenEventStreamAndFollowedLog_ExitsWithoutWaitingForThem()
    {
        await using var s = await ServerProcess.StartAsync();
        var name = Json.UniqueName("shutdown");
        await s.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: talk
                command: sh
                args: ["-c", "echo hi; sleep 30"]
            """);
        var run = await s.StartRunAsync(name);
        var id = run.Str("id");
        await s.WaitForStepAsync(id, "talk", "Running");
        using var client = s.NewClient(Timeout.InfiniteTimeSpan);
        using var events = await client.GetAsync("/api/v1/events", HttpCompletionOption.ResponseHeadersRead);
        using var log = await client.GetAsync($"/api/v1/runs/{id}/steps/talk/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        Assert.Equal(HttpStatusCode.OK, log.StatusCode);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await s.TerminateAsync();
        // The host's shutdown timeout is 30 s: a stream that held the shutdown up would take that long.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"shutdown took {clock.Elapsed}");
        Assert.Equal(0, s.ExitCode);

        // the step process outlives the server by design (it is re-adopted on restart); end it with the run
        await s.RestartAsync();
        await s.PostJsonAsync($"/api/v1/runs/{id}:stop", new { graceSeconds = 0 }, HttpStatusCode.Accepted);
        await s.WaitForStateAsync(id, "Stopped");
    }
}
