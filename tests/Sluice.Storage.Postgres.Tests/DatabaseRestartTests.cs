using System.Net;
using System.Text.Json.Nodes;
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
        // Each face answers in its own dialect, at once rather than when the database is back.
        using (var r = await n[1].Http.GetAsync($"/api/v1/runs/{ids[0]}"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
            Assert.Equal(503, problem["status"]!.GetValue<int>());
        }
        Assert.True(TimeProvider.System.GetUtcNow() - started < TimeSpan.FromSeconds(10), "the call hung instead of failing");
        using (var r = await n[0].Http.GetAsync("/v1/projects/my-proj/locations/us-central1/pipelineJobs"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            var error = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("UNAVAILABLE", error["status"]!.GetValue<string>());
            Assert.Equal(503, error["code"]!.GetValue<int>());
        }
        // boto3 (standard retry mode, 2 attempts) retries the SageMaker face's answer, then reports it.
        var boto = await BotoListPipelinesAsync(n[0]);
        Assert.Equal(1, boto["attempts"]!.GetValue<int>());
        Assert.Contains(boto["code"]!.GetValue<string>(), (string[])["ThrottlingException", "ServiceUnavailable"]);
        Assert.True(TimeProvider.System.GetUtcNow() - started < TimeSpan.FromSeconds(60), "the calls hung instead of failing");
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

    /// <summary>boto3's ListPipelines against a node: the error code, HTTP status and how often botocore retried it.</summary>
    private static async Task<JsonNode> BotoListPipelinesAsync(ServerProcess node)
    {
        // The test servers' key of the default account (authentication is on).
        const string Script = $$"""
            import json, sys, boto3, botocore
            from botocore.config import Config
            c = boto3.client("sagemaker", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="{{TestCredentials.AwsAccessKey}}",
                             aws_secret_access_key="{{TestCredentials.AwsSecretKey}}", config=Config(retries={"total_max_attempts": 2, "mode": "standard"}, read_timeout=30))
            try:
                c.list_pipelines()
                print(json.dumps({"code": None, "attempts": 0}))
            except botocore.exceptions.ClientError as e:
                meta = e.response["ResponseMetadata"]
                print(json.dumps({"code": e.response["Error"]["Code"], "status": meta["HTTPStatusCode"], "attempts": meta.get("RetryAttempts", 0)}))
            """;
        var psi = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", Script, $"http://127.0.0.1:{node.Port}" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"boto3 exited {p.ExitCode}: {await stderr}");
        return JsonNode.Parse(await stdout)!;
    }
}
