using System.Net;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>Each test owns a server it kills (-9) or terminates, then starts again on the same data directory.</summary>
public class RestartTests
{
    private static async Task<(ServerProcess Server, string RunId)> StartAsync(string script, string extraSteps = "", params string[] args)
    {
        var s = await ServerProcess.StartAsync(null, args);
        var name = Json.UniqueName("restart");
        await s.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: work
                command: sh
                args: ["-c", {{System.Text.Json.JsonSerializer.Serialize(script)}}]
            {{extraSteps}}
            """);
        var id = (await s.StartRunAsync(name)).Str("id");
        await s.WaitForStepAsync(id, "work", "Running");
        return (s, id);
    }

    private static string StepFile(ServerProcess s, string runId, string file) => Path.Combine(s.DataDir, "runs", runId, "work", "1", file);

    private static async Task<int> PidOfAsync(ServerProcess s, string runId) =>
        (await s.GetRunAsync(runId)).StepOf("work")["pid"]!.GetValue<int>();

    [Fact]
    public async Task Kill9_MidRun_StepReadoptedAndRunFinishes()
    {
        var (s, id) = await StartAsync("while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.05; done; echo done > $SLUICE_OUTPUTS/out",
            "  - name: next\n    command: \"true\"\n    dependsOn: [work]\n");
        await using var _ = s;
        var pid = await PidOfAsync(s, id);
        await s.KillAsync();
        Assert.True(Posix.IsAlive(pid), "the step died with the server");
        await s.RestartAsync();
        Assert.Equal("Running", (await s.GetRunAsync(id)).Str("state"));
        await File.WriteAllTextAsync(StepFile(s, id, "go"), "");
        var done = await s.WaitForRunAsync(id, st => st is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal("Succeeded", done.StepOf("next").Str("state"));
        Assert.Equal(1, done.StepOf("work")["attempt"]!.GetValue<int>());
    }

    [Fact]
    public async Task Kill9_WhileStopping_StopCarriedOutAfterRestart()
    {
        var (s, id) = await StartAsync("trap '' TERM; echo ready > $SLUICE_STEP_DIR/ready; sleep 600");
        await using var _ = s;
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(StepFile(s, id, "ready")), Deadline.Default));
        var pid = await PidOfAsync(s, id);
        var answer = await s.PostJsonAsync($"/api/v1/runs/{id}:stop", new { graceSeconds = 2, reason = "crash test" }, HttpStatusCode.Accepted);
        Assert.Equal("Stopping", answer.Str("answeredState"));
        await s.KillAsync();
        await s.RestartAsync();
        var done = await s.WaitForStateAsync(id, "Stopped");
        Assert.Equal("crash test", done["stop"]!.Str("reason"));
        Assert.Empty(Posix.GroupMembers(pid));
    }

    [Fact]
    public async Task Kill9_StepVanishesWhileServerDown_StepFailedAsLost()
    {
        var (s, id) = await StartAsync("sleep 600");
        await using var _ = s;
        var pid = await PidOfAsync(s, id);
        await s.KillAsync();
        Posix.Kill(-pid, 9);
        Assert.True(await Posix.EventuallyAsync(() => Posix.GroupMembers(pid).Count == 0, Deadline.Default));
        await s.RestartAsync();
        var done = await s.WaitForRunAsync(id, st => st is "Failed" or "Succeeded" or "Stopped");
        Assert.Equal("Failed", done.Str("state"));
        Assert.Contains("lost", done.StepOf("work").Str("reason"));
    }

    [Fact]
    public async Task Kill9_StepFinishesWhileServerDown_RecordedExitStatusTaken()
    {
        var (s, id) = await StartAsync("while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.05; done; echo 42 > $SLUICE_OUTPUTS/n",
            "    outputs: { n: Integer }\n");
        await using var _ = s;
        var pid = await PidOfAsync(s, id);
        await s.KillAsync();
        await File.WriteAllTextAsync(StepFile(s, id, "go"), "");
        Assert.True(await Posix.EventuallyAsync(() => !Posix.IsAlive(pid), Deadline.Default));
        await s.RestartAsync();
        var done = await s.WaitForRunAsync(id, st => st is "Failed" or "Succeeded" or "Stopped");
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal(42, done.StepOf("work")["outputs"]!["n"]!.GetValue<long>());
    }

    [Fact]
    public async Task Sigterm_GracefulShutdown_StepKeepsRunningAndRunResumes()
    {
        var (s, id) = await StartAsync("while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.05; done");
        await using var _ = s;
        var pid = await PidOfAsync(s, id);
        await s.TerminateAsync();
        Assert.True(Posix.IsAlive(pid), "a graceful shutdown must leave the step running");
        Assert.True(s.ExitCode == 0, $"the server exited with {s.ExitCode}:\n{s.Output}");
        Assert.DoesNotContain("Unhandled exception", s.Output, StringComparison.Ordinal);
        await s.RestartAsync();
        await File.WriteAllTextAsync(StepFile(s, id, "go"), "");
        Assert.Equal("Succeeded", (await s.WaitForRunAsync(id, st => st is "Failed" or "Succeeded")).Str("state"));
    }

    [Fact]
    public async Task Stop_QueuedRun_StoppedAtOnceAndNoStepEverStarts()
    {
        var (s, busy) = await StartAsync("sleep 600", "", "--slots", "1");
        await using var _ = s;
        var name = (await s.GetRunAsync(busy)).Str("pipeline");
        var queued = (await s.StartRunAsync(name)).Str("id");
        Assert.Equal("Queued", (await s.GetRunAsync(queued)).Str("state"));
        var answer = await s.PostJsonAsync($"/api/v1/runs/{queued}:stop", new { }, HttpStatusCode.Accepted);
        Assert.Equal("Stopped", answer.Str("answeredState"));
        var run = await s.GetRunAsync(queued);
        Assert.Equal("NotStarted", run.StepOf("work").Str("state"));
        Assert.Null(run.StepOf("work")["pid"]);
        await s.PostJsonAsync($"/api/v1/runs/{busy}:stop", new { graceSeconds = 0 }, HttpStatusCode.Accepted);
        await s.WaitForStateAsync(busy, "Stopped");
        Assert.False(Directory.Exists(Path.Combine(s.DataDir, "runs", queued)));
        Assert.Equal("Stopped", (await s.GetRunAsync(queued)).Str("state"));
    }
}
