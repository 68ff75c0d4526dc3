using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sluice.Reliability.Tests.Fuzz;
using Sluice.TestKit;

namespace Sluice.Reliability.Tests.Faults;

/// <summary>The data directory on a small tmpfs that is then filled up: writes through every face get a clear, retryable
/// error in the face's dialect and change nothing, reads go on, a run whose step ends meanwhile is finished once space is
/// back, and the database passes PRAGMA integrity_check.</summary>
public class DiskFullTests
{
    [SmallDiskFact]
    public async Task DiskFull_DataDirectory_ClearErrorsThenContinuesIntact()
    {
        using var disk = SmallDisk.Mount(48);
        using var outside = new TempDirectory("sluice-full-go");
        var go = outside.File("go");
        var data = Path.Combine(disk.Path, "data");
        await using var s = await ServerProcess.StartAsync(data, "--auth", "dev");
        await s.CreatePipelineAsync($$"""
            name: held
            steps:
              - name: wait
                command: sh
                args: ["-c", "while [ ! -f \"$0\" ]; do sleep 0.05; done", "{{go}}"]
              - name: after
                command: "true"
                dependsOn: [wait]
            """);
        Assert.Equal(200, (await SqsAsync(s, "CreateQueue", "{\"QueueName\": \"full-q\"}")).Status);
        var held = (await s.StartRunAsync("held"))["id"]!.GetValue<string>();
        // Not stopped: its step ends on its own while the disk is full.
        var unstopped = (await s.StartRunAsync("held"))["id"]!.GetValue<string>();
        await s.WaitForStepAsync(held, "wait", "Running");
        await s.WaitForStepAsync(unstopped, "wait", "Running");

        var filler = disk.Fill();
        var before = Snapshot.Of(data);

        // Writes: each face answers in its own dialect, with a message that says the disk is full.
        using (var r = await s.Http.PostAsync("/api/v1/pipelines", new StringContent(FaceTemplates.NativeYaml("while-full"), Encoding.UTF8, "application/yaml")))
        {
            await AssertFullAsync(r, HttpStatusCode.ServiceUnavailable, "native create pipeline");
        }
        using (var r = await s.Http.PostAsJsonAsync("/api/v1/runs", new { pipeline = "held" }))
        {
            await AssertFullAsync(r, HttpStatusCode.ServiceUnavailable, "native start run");
        }
        using (var r = await s.Http.PostAsJsonAsync($"/api/v1/runs/{held}:stop", new { reason = "full" }))
        {
            // A stop goes through the run's writer, which keeps trying its commit: the caller gets the writer's timeout,
            // which says that the stop is kept (it is carried out once there is space, below).
            await AssertFullAsync(r, HttpStatusCode.ServiceUnavailable, "native stop", sayFull: false);
            Assert.Contains("takes effect once it can be recorded", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var (smStatus, smBody) = await FuzzAws.CallAsync(s, "CreatePipeline", new JsonObject
        {
            ["PipelineName"] = "sm-while-full", ["PipelineDefinition"] = FaceTemplates.SmDefinition, ["RoleArn"] = FuzzAws.Role,
        });
        Assert.True(smStatus == 400 && smBody?["__type"]?.GetValue<string>() == "ThrottlingException"
            && smBody["message"]!.GetValue<string>().Contains("full", StringComparison.Ordinal), $"SageMaker: {smStatus} {smBody}");
        var (sqsStatus, sqsText) = await SqsAsync(s, "SendMessage", "{\"QueueUrl\": \"http://x/000000000000/full-q\", \"MessageBody\": \"m\"}");
        Assert.True(sqsStatus == 400 && sqsText.Contains("RequestThrottled", StringComparison.Ordinal) && sqsText.Contains("full", StringComparison.Ordinal), $"SQS: {sqsStatus} {sqsText}");
        using (var r = await s.Http.PostAsync($"/v1/projects/p/locations/local/pipelineJobs/{held}:cancel", new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            var text = await r.Content.ReadAsStringAsync();
            // A cancel is a stop through the run's writer: the writer's timeout, as for the native stop.
            Assert.True(r.StatusCode == HttpStatusCode.ServiceUnavailable && JsonNode.Parse(text)?["error"]?["status"]?.GetValue<string>() == "UNAVAILABLE",
                $"Vertex: {r.StatusCode} {text}");
        }
        // Reads still work, and nothing of the refused writes is there.
        Assert.Equal("Running", (await s.GetRunAsync(held))["state"]!.GetValue<string>());
        Assert.Equal(before, Snapshot.Of(data));

        // The held steps end while the disk is full (their processes gone, so their supervisors tried to write their exit
        // status there): their outcomes cannot be recorded yet.
        await File.WriteAllTextAsync(go, "");
        Assert.True(await Posix.EventuallyAsync(() => Posix.WithCommandLine(go).Count == 0, TimeSpan.FromSeconds(30)),
            $"the held steps still run: {string.Join(", ", Posix.WithCommandLine(go))}");
        Assert.True(s.ExitCode is null, s.Output);

        File.Delete(filler);
        JsonObject done;
        try
        {
            done = await s.WaitForRunAsync(held, st => st is "Succeeded" or "Failed" or "Stopped", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nserver log:\n{FaceFuzzTests.Tail(s.Output)}");
        }
        // The writer keeps the stop it could not commit in time and commits it once there is space: the run may end Stopped
        // although the stop was answered 503 (see docs/reliability.md); either way it ends, and nothing is lost.
        Assert.True(done["state"]!.GetValue<string>() is "Succeeded" or "Stopped", done.ToJsonString());
        // Its step could not write its exit status on the full disk: the server took it from the supervisor's end, so the
        // run is not Failed for want of one ("ended without recording an exit status").
        var other = await s.WaitForRunAsync(unstopped, st => st is "Succeeded" or "Failed" or "Stopped", TimeSpan.FromSeconds(60));
        Assert.True(other["state"]!.GetValue<string>() == "Succeeded", other.ToJsonString());
        await s.CreatePipelineAsync(FaceTemplates.NativeYaml("after-full"));
        var next = (await s.StartRunAsync("after-full"))["id"]!.GetValue<string>();
        Assert.Equal("Succeeded", (await s.WaitForRunAsync(next, st => st is "Succeeded" or "Failed" or "Stopped"))["state"]!.GetValue<string>());
        Assert.True(s.ExitCode is null, s.Output);

        await s.TerminateAsync();
        using var c = new SqliteConnection($"Data Source={Path.Combine(data, "sluice.db")};Pooling=False");
        c.Open();
        using var check = c.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", check.ExecuteScalar() as string);
        check.CommandText = "SELECT count(*) FROM pipelines WHERE name IN ('while-full', 'sm-while-full')";
        Assert.Equal(0L, check.ExecuteScalar());
    }

    private static async Task<(int Status, string Text)> SqsAsync(ServerProcess s, string op, string body)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
        m.Content.Headers.ContentType = new("application/x-amz-json-1.0");
        m.Headers.Add("X-Amz-Target", "AmazonSQS." + op);
        using var r = await s.Http.SendAsync(m);
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    private static async Task AssertFullAsync(HttpResponseMessage r, HttpStatusCode status, string what, bool sayFull = true)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == status, $"{what}: expected {(int)status}, got {(int)r.StatusCode}: {text}");
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var detail = JsonNode.Parse(text)!["detail"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(detail), text);
        if (sayFull)
        {
            Assert.Contains("full", detail, StringComparison.Ordinal);
        }
    }
}
