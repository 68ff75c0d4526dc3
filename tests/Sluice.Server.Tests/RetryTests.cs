using System.Net;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>Retrying a failed or stopped run (core RunService.RetryAsync through the native API).</summary>
public class RetryTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    /// <summary>first succeeds once; flaky fails until the marker exists; last needs flaky.</summary>
    private async Task<(string Name, TempDirectory Dir)> FlakyPipelineAsync()
    {
        var dir = new TempDirectory("sluice-retry");
        var name = Json.UniqueName("retry");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            steps:
              - name: first
                command: sh
                args: ["-c", "echo run >> {{{dir.Path}}}/first.log; echo 41 > $SLUICE_OUTPUTS/n"]
                outputs: { n: Integer }
              - name: flaky
                command: sh
                args: ["-c", "test -f {{{dir.Path}}}/ok || exit 3; echo \"$0\" > $SLUICE_OUTPUTS/seen", "{{steps.first.outputs.n}}"]
                outputs: { seen: String }
              - name: last
                command: "true"
                dependsOn: [flaky]
            """);
        return (name, dir);
    }

    [Fact]
    public async Task Retry_FailedRun_RerunsOnlyStepsThatDidNotSucceedAndKeepsOutputs()
    {
        var (name, dir) = await FlakyPipelineAsync();
        using var _ = dir;
        var id = (await S.StartRunAsync(name)).Str("id");
        var failed = await S.WaitForRunAsync(id, s => s is "Succeeded" or "Failed");
        Assert.Equal("Failed", failed.Str("state"));
        Assert.Equal("NotStarted", failed.StepOf("last").Str("state"));

        File.WriteAllText(Path.Combine(dir.Path, "ok"), "");
        var retried = await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { idempotencyToken = "retry-token-1" }, HttpStatusCode.Accepted);
        Assert.Equal(id, retried.Str("id"));
        Assert.Equal("Running", retried.Str("state"));
        // The event history holds the first Failed: wait for the one state a retry can newly reach.
        var done = await S.WaitForStateAsync(id, "Succeeded");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal(1, done.StepOf("first")["attempt"]!.GetValue<int>());
        Assert.Equal(2, done.StepOf("flaky")["attempt"]!.GetValue<int>());
        Assert.Equal("41", done.StepOf("flaky")["outputs"]!["seen"]!.GetValue<string>().Trim());
        Assert.Equal("Succeeded", done.StepOf("last").Str("state"));
        Assert.Single(File.ReadAllLines(Path.Combine(dir.Path, "first.log")));
        Assert.Null(done["error"]);

        // The same token again answers the first retry; another request under it is a conflict; a new retry of a
        // succeeded run is refused.
        var replay = await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { idempotencyToken = "retry-token-1" }, HttpStatusCode.Accepted);
        Assert.Equal("Succeeded", replay.Str("state"));
        await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { idempotencyToken = "retry-token-1", maxParallelSteps = 2 }, HttpStatusCode.Conflict);
        await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { }, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Retry_StoppedRun_RunsTheStoppedAndNotStartedStepsAgain()
    {
        var dir = new TempDirectory("sluice-retry");
        using var _ = dir;
        var name = Json.UniqueName("retry-stop");
        await S.CreatePipelineAsync($$$"""
            name: {{{name}}}
            steps:
              - name: wait
                command: sh
                args: ["-c", "test -f {{{dir.Path}}}/go && exit 0; sleep 60"]
              - name: after
                command: "true"
                dependsOn: [wait]
            """);
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.WaitForStepAsync(id, "wait", "Running");
        await S.PostJsonAsync($"/api/v1/runs/{id}:stop", new { graceSeconds = 0 }, HttpStatusCode.Accepted);
        var stopped = await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal("NotStarted", stopped.StepOf("after").Str("state"));

        File.WriteAllText(Path.Combine(dir.Path, "go"), "");
        await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { maxParallelSteps = 1 }, HttpStatusCode.Accepted);
        var done = await S.WaitForStateAsync(id, "Succeeded");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal(2, done.StepOf("wait")["attempt"]!.GetValue<int>());
        Assert.Equal(1, done["maxParallelSteps"]!.GetValue<int>());
        Assert.Null(done["stop"]);
    }

    [Fact]
    public async Task Retry_RunningRunOrUnknownRun_IsRefused()
    {
        var name = Json.UniqueName("retry-busy");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: wait
                command: sleep
                args: ["30"]
            """);
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { }, HttpStatusCode.Conflict);
        await S.PostJsonAsync("/api/v1/runs/nosuchrun000:retry", new { }, HttpStatusCode.NotFound);
        await S.PostJsonAsync($"/api/v1/runs/{id}:retry", new { maxParallelSteps = 0 }, HttpStatusCode.BadRequest);
        await S.PostJsonAsync($"/api/v1/runs/{id}:stop", new { graceSeconds = 0 }, HttpStatusCode.Accepted);
        await S.WaitForStateAsync(id, "Stopped");
    }
}
