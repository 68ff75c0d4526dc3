using System.Net;
using Sluice.TestKit;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>The database goes away under running nodes and comes back: calls answer ServiceUnavailable meanwhile, no accepted
/// change is lost, and runs carry on.</summary>
public sealed class DatabaseRestartTests
{
    [SkippableFact]
    public async Task DatabaseRestart_MidRun_ApiAnswers503WhileDownAndEveryRunFinishesOnce()
    {
        await using var pg = await OwnPostgres.StartAsync();
        await using var n = await Nodes.StartAsync(pg.ConnectionString, ["--store-retry-seconds", "1"], ["--store-retry-seconds", "1"]);
        var name = Json.UniqueName("dbrestart");
        await n[0].CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: work
                command: sh
                args: ["-c", "while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.02; done"]
              - name: next
                command: "true"
                dependsOn: [work]
            """);
        var ids = new[] { (await n[0].StartRunAsync(name)).Str("id"), (await n[1].StartRunAsync(name)).Str("id") };
        foreach (var id in ids)
        {
            await n[0].WaitForStepAsync(id, "work", "Running");
        }

        await pg.StopServerAsync();
        var started = TimeProvider.System.GetUtcNow();
        using (var r = await n[1].Http.GetAsync($"/api/v1/runs/{ids[0]}"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("Unavailable", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.True(TimeProvider.System.GetUtcNow() - started < TimeSpan.FromSeconds(10), "the call hung instead of failing");
        // The steps end while the database is away: their writers keep the outcome and commit it when it is back.
        foreach (var id in ids)
        {
            await File.WriteAllTextAsync(Path.Combine(n.DataDir, "runs", id, "work", "1", "go"), "");
        }
        foreach (var id in ids)
        {
            var exit = Path.Combine(n.DataDir, "runs", id, "work", "1", "exit");
            Assert.True(await Posix.EventuallyAsync(() => File.Exists(exit), Deadline.Default), "the step did not end");
        }
        await pg.StartServerAsync();

        foreach (var id in ids)
        {
            var done = await n[1].WaitForRunAsync(id, st => st is "Succeeded" or "Failed" or "Stopped");
            Assert.Equal("Succeeded", done.Str("state"));
            Assert.Equal(1, done.StepOf("work")["attempt"]!.GetValue<int>());
            Assert.Equal("Succeeded", done.StepOf("next").Str("state"));
        }
    }
}
