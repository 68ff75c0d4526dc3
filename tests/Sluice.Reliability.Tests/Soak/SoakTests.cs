using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Reliability.Tests.Fuzz;
using Sluice.TestKit;
using Xunit.Abstractions;

namespace Sluice.Reliability.Tests.Soak;

/// <summary>A mixed load at a fixed rate against one real server on loopback: starts, stops, lists and gets through the
/// native, SageMaker and Vertex faces, callback steps answered after a queue receive, SQS sends and receives. Zero errors,
/// every run ends, and the server's resident memory stays flat. 30 s in the test command; <c>./build.sh soak</c> runs it
/// for 10 minutes (SLUICE_SOAK_SECONDS, SLUICE_SOAK_RATE).</summary>
public class SoakTests(ITestOutputHelper output)
{
    private static int Setting(string name, int quick) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : quick;

    [Fact]
    public async Task Soak_MixedLoadAtFixedRate_NoErrorsMemoryFlat()
    {
        var duration = TimeSpan.FromSeconds(Setting("SLUICE_SOAK_SECONDS", 30));
        var rate = Setting("SLUICE_SOAK_RATE", 12);
        await using var s = await ServerProcess.StartAsync(null, "--auth", "dev");
        using var go = new TempDirectory("sluice-soak");
        await s.CreatePipelineAsync("name: soak-quick\nsteps:\n  - name: a\n    command: \"true\"\n  - name: b\n    command: \"true\"\n    dependsOn: [a]\n");
        await s.CreatePipelineAsync("name: soak-held\nsteps:\n  - name: wait\n    command: sleep\n    args: [\"300\"]\n");
        await s.CreatePipelineAsync("name: soak-cb\nsteps:\n  - name: approve\n    type: callback\n    queue: soak-approvals\n    outputs: { verdict: String }\n");
        var (created, body) = await FuzzAws.CallAsync(s, "CreatePipeline", new JsonObject
        {
            ["PipelineName"] = "soak-sm", ["PipelineDefinition"] = FaceTemplates.SmDefinition, ["RoleArn"] = FuzzAws.Role,
        });
        Assert.True(created == 200, body?.ToJsonString());
        Assert.Equal(200, (await Sqs(s, "CreateQueue", new JsonObject { ["QueueName"] = "soak-sqs" })).Status);

        var errors = new List<string>();
        var runs = new List<string>();
        var held = new Queue<string>();
        var rss = new List<(TimeSpan At, long Kb)>();
        var ops = 0;
        var clock = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / rate), TimeProvider.System);
        var lastSample = TimeSpan.Zero;
        while (clock.Elapsed < duration && await tick.WaitForNextTickAsync())
        {
            var op = ops++ % 12;
            try
            {
                await OneAsync(s, op, runs, held, errors);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or HttpExpectationException)
            {
                errors.Add($"op {op}: {e.Message}");
            }
            if (clock.Elapsed - lastSample >= TimeSpan.FromSeconds(1))
            {
                lastSample = clock.Elapsed;
                rss.Add((clock.Elapsed, Rss(s.Pid)));
            }
            Assert.True(s.ExitCode is null, $"the server died: {FaceFuzzTests.Tail(s.Output)}");
        }
        var achieved = ops / clock.Elapsed.TotalSeconds;

        // Wind down: every held run is stopped, every run ends.
        while (held.TryDequeue(out var id))
        {
            await StopAsync(s, id, errors);
        }
        // A callback run started in the last moments still waits for its answer: drain the queue before waiting for the ends.
        await AnswerCallbacksAsync(s, errors, drain: true);
        // Every run on this server is the soak's. One stream and one list per pass: a stream or a GET per run would run into
        // the server's own rate limit after a 10-minute soak (thousands of runs).
        await WaitUntilNoneUnfinishedAsync(s, TimeSpan.FromSeconds(120), errors);
        foreach (var id in await RunIdsAsync(s, "Failed", 30))
        {
            errors.Add($"run {id} failed");
        }

        output.WriteLine($"{ops} operations in {clock.Elapsed.TotalSeconds:F0} s ({achieved:F1}/s, asked {rate}/s), {runs.Count} runs");
        output.WriteLine("RSS (MiB): " + string.Join(' ', rss.Select(r => (r.Kb / 1024).ToString(CultureInfo.InvariantCulture))));
        Assert.True(errors.Count == 0, $"{errors.Count} errors:\n{string.Join('\n', errors.Take(30))}");
        Assert.True(achieved >= rate * 0.8, $"the load fell behind: {achieved:F1}/s of {rate}/s");

        // Flat: after a warm-up fifth, the median of the last fifth is within 15 % (at least 24 MiB) of the second fifth's.
        var fifth = Math.Max(1, rss.Count / 5);
        var early = Median(rss.Skip(fifth).Take(fifth).Select(r => r.Kb));
        var late = Median(rss.TakeLast(fifth).Select(r => r.Kb));
        var allowed = Math.Max(24 * 1024, early * 0.15);
        Assert.True(late - early <= allowed, $"memory grows: {early / 1024} MiB early, {late / 1024} MiB late (allowed +{allowed / 1024:F0} MiB)");
    }

    private static async Task OneAsync(ServerProcess s, int op, List<string> runs, Queue<string> held, List<string> errors)
    {
        switch (op)
        {
            case 0:
            case 6:
                runs.Add((await s.StartRunAsync("soak-quick"))["id"]!.GetValue<string>());
                break;
            case 1:
                Expect(await s.Http.GetAsync("/api/v1/runs?pageSize=20"), HttpStatusCode.OK, "list runs", errors);
                break;
            case 2:
                if (runs.Count > 0)
                {
                    Expect(await s.Http.GetAsync($"/api/v1/runs/{runs[^1]}"), HttpStatusCode.OK, "get run", errors);
                }
                break;
            case 3:
            {
                var id = (await s.StartRunAsync("soak-held"))["id"]!.GetValue<string>();
                runs.Add(id);
                held.Enqueue(id);
                break;
            }
            case 4:
                if (held.Count > 1)
                {
                    await StopAsync(s, held.Dequeue(), errors);
                }
                break;
            case 5:
            {
                var (status, body) = await FuzzAws.CallAsync(s, "StartPipelineExecution", new JsonObject
                {
                    // Above the condition's bound: the run takes the empty branch and succeeds.
                    ["PipelineName"] = "soak-sm", ["PipelineParameters"] = new JsonArray(new JsonObject { ["Name"] = "Threshold", ["Value"] = "2" }),
                });
                if (status != 200)
                {
                    errors.Add($"StartPipelineExecution: {status} {body}");
                    break;
                }
                var arn = body!["PipelineExecutionArn"]!.GetValue<string>();
                runs.Add(arn[(arn.LastIndexOf('/') + 1)..]);
                var (d, db) = await FuzzAws.CallAsync(s, "DescribePipelineExecution", new JsonObject { ["PipelineExecutionArn"] = arn });
                if (d != 200)
                {
                    errors.Add($"DescribePipelineExecution: {d} {db}");
                }
                break;
            }
            case 7:
                runs.Add((await s.StartRunAsync("soak-cb"))["id"]!.GetValue<string>());
                break;
            case 8:
                await AnswerCallbacksAsync(s, errors, drain: false);
                break;
            case 9:
                Expect(await s.Http.GetAsync("/v1/projects/soak/locations/local/pipelineJobs?pageSize=10"), HttpStatusCode.OK, "Vertex list", errors);
                if (runs.Count > 0)
                {
                    Expect(await s.Http.GetAsync($"/v1/projects/soak/locations/local/pipelineJobs/{runs[^1]}"), HttpStatusCode.OK, "Vertex get", errors);
                }
                break;
            case 10:
            {
                var url = $"http://127.0.0.1/{FuzzAws.Account}/soak-sqs";
                var (sent, sb) = await Sqs(s, "SendMessage", new JsonObject { ["QueueUrl"] = url, ["MessageBody"] = "m" });
                var (got, gb) = await Sqs(s, "ReceiveMessage", new JsonObject { ["QueueUrl"] = url, ["MaxNumberOfMessages"] = 10, ["WaitTimeSeconds"] = 0 });
                if (sent != 200 || got != 200)
                {
                    errors.Add($"SQS: {sent} {sb} / {got} {gb}");
                    break;
                }
                foreach (var m in JsonNode.Parse(gb)?["Messages"]?.AsArray() ?? [])
                {
                    var (del, db) = await Sqs(s, "DeleteMessage", new JsonObject { ["QueueUrl"] = url, ["ReceiptHandle"] = m!["ReceiptHandle"]!.GetValue<string>() });
                    if (del != 200)
                    {
                        errors.Add($"SQS DeleteMessage: {del} {db}");
                    }
                }
                break;
            }
            default:
                Expect(await s.Http.GetAsync("/api/v1/pipelines?pageSize=10"), HttpStatusCode.OK, "list pipelines", errors);
                break;
        }
    }

    /// <summary>Lists the unfinished runs again after each run-state event on one live stream (or after a second without
    /// one), until there are none or <paramref name="limit"/> has passed.</summary>
    private static async Task WaitUntilNoneUnfinishedAsync(ServerProcess s, TimeSpan limit, List<string> errors)
    {
        using var cts = new CancellationTokenSource(limit);
        using var client = s.NewClient(Timeout.InfiniteTimeSpan);
        using var changed = new SemaphoreSlim(0);
        using var resp = await client.GetAsync("/api/v1/events", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        resp.EnsureSuccessStatusCode();
        var reading = Task.Run(async () =>
        {
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("event: run-state", StringComparison.Ordinal))
                {
                    changed.Release();
                }
            }
        });
        try
        {
            while (true)
            {
                var unfinished = await RunIdsAsync(s, "Queued,Running,Stopping", 30);
                if (unfinished.Count == 0)
                {
                    return;
                }
                if (cts.IsCancellationRequested)
                {
                    errors.Add($"runs still unfinished after {limit.TotalSeconds:F0} s: {string.Join(' ', unfinished)}");
                    return;
                }
                try
                {
                    await changed.WaitAsync(TimeSpan.FromSeconds(1), cts.Token);
                }
                catch (OperationCanceledException)
                {
                    // The limit: one more look above, then the error.
                }
            }
        }
        finally
        {
            await cts.CancelAsync();
            await Task.WhenAny(reading);
        }
    }

    private static async Task<List<string>> RunIdsAsync(ServerProcess s, string states, int most)
    {
        using var r = await s.Http.GetAsync($"/api/v1/runs?state={states}&pageSize={most}");
        var page = await ServerProcess.ExpectAsync(r, HttpStatusCode.OK);
        return [.. page["runs"]!.AsArray().Select(run => run!["id"]!.GetValue<string>())];
    }

    private static async Task StopAsync(ServerProcess s, string id, List<string> errors)
    {
        using var r = await s.Http.PostAsJsonAsync($"/api/v1/runs/{id}:stop", new { reason = "soak", graceSeconds = 1 });
        if (r.StatusCode != HttpStatusCode.Accepted)
        {
            errors.Add($"stop {id}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Receives the callback messages of the queue and answers each Executing one (success), deleting it.</summary>
    private static async Task AnswerCallbacksAsync(ServerProcess s, List<string> errors, bool drain)
    {
        do
        {
            var got = await s.PostJsonAsync("/api/v1/queues/soak-approvals/messages:receive", new { maxMessages = 10, waitSeconds = drain ? 1 : 0 }, HttpStatusCode.OK);
            var messages = got["messages"]!.AsArray();
            if (messages.Count == 0)
            {
                return;
            }
            foreach (var m in messages)
            {
                var msg = JsonNode.Parse(m!["body"]!.GetValue<string>())!;
                if (msg["status"]?.GetValue<string>() == "Executing")
                {
                    using var r = await s.Http.PostAsJsonAsync($"/api/v1/callbacks/{msg["token"]!.GetValue<string>()}:succeed", new { outputs = new { verdict = "ok" } });
                    if (!r.IsSuccessStatusCode)
                    {
                        errors.Add($"callback: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
                    }
                }
                using var d = await s.Http.PostAsJsonAsync("/api/v1/queues/soak-approvals/messages:delete", new { receiptHandle = m["receiptHandle"]!.GetValue<string>() });
                if (!d.IsSuccessStatusCode)
                {
                    errors.Add($"delete message: {(int)d.StatusCode} {await d.Content.ReadAsStringAsync()}");
                }
            }
        }
        while (drain);
    }

    private static void Expect(HttpResponseMessage r, HttpStatusCode status, string what, List<string> errors)
    {
        using (r)
        {
            if (r.StatusCode != status)
            {
                errors.Add($"{what}: {(int)r.StatusCode} {r.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
            }
        }
    }

    private static async Task<(int Status, string Body)> Sqs(ServerProcess s, string op, JsonObject body)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8) };
        m.Content.Headers.ContentType = new("application/x-amz-json-1.0");
        m.Headers.Add("X-Amz-Target", "AmazonSQS." + op);
        using var r = await s.Http.SendAsync(m);
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    private static double Median(IEnumerable<long> values)
    {
        var v = values.Order().ToList();
        return v.Count == 0 ? 0 : v[v.Count / 2];
    }
}
