using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>Several server processes on one PostgreSQL behave as one service: any node answers, the run's writer is the node
/// that holds its lease, and a node's death loses no run and runs no attempt twice.</summary>
public sealed class MultiNodeTests
{
    private static readonly string[] Terminal = ["Succeeded", "Failed", "Stopped"];

    /// <summary>A step that records when it got SIGTERM (ns since the epoch) and exits, and that otherwise waits for "go".</summary>
    private const string Waiter =
        "trap 'date +%s%N > $SLUICE_STEP_DIR/term; exit 0' TERM; touch $SLUICE_STEP_DIR/ready; " +
        "while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.02; done";

    private static async Task<string> PipelineAsync(ServerProcess s, string script, string extra = "")
    {
        var name = Json.UniqueName("multi");
        await s.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: work
                command: sh
                args: ["-c", {{Json.Quote(script)}}]
            {{extra}}
            """);
        return name;
    }

    private static string StepFile(Nodes n, string runId, string file, int attempt = 1) =>
        Path.Combine(n.DataDir, "runs", runId, "work", attempt.ToString(CultureInfo.InvariantCulture), file);

    private static async Task WaitForFileAsync(string path) =>
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(path), Deadline.Default), $"{path} did not appear");

    private static async Task<JsonObject> WaitTerminalAsync(ServerProcess s, string runId) =>
        await s.WaitForRunAsync(runId, st => Terminal.Contains(st));

    [SkippableFact]
    public async Task Stop_OnApiNode_ReachesTheStepOnTheWorkerNodeAndTheRunStops()
    {
        await using var n = await Nodes.StartAsync(await TestDatabase.NewSchemaAsync(), ["--role", "api"], ["--role", "worker"]);
        var (api, worker) = (n[0], n[1]);
        var name = await PipelineAsync(api, Waiter);
        var id = (await api.StartRunAsync(name)).Str("id");
        await WaitForFileAsync(StepFile(n, id, "ready"));
        await api.WaitForStepAsync(id, "work", "Running");

        var before = TimeProvider.System.GetUtcNow();
        var answer = await api.PostJsonAsync($"/api/v1/runs/{id}:stop", new { reason = "from the api node" }, HttpStatusCode.Accepted);

        Assert.Equal("Stopping", answer.Str("answeredState"));
        var done = await api.WaitForStateAsync(id, "Stopped");
        Assert.Equal("from the api node", done["stop"]!.Str("reason"));
        var term = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(File.ReadAllText(StepFile(n, id, "term")).Trim(), CultureInfo.InvariantCulture) / 1_000_000);
        // A loose bound for a loaded test machine; docs/benchmarks.md measures the latency.
        Assert.True(term - before < TimeSpan.FromSeconds(5), $"SIGTERM came {(term - before).TotalMilliseconds} ms after the stop");
        // The worker serves no public API (native, Vertex, SageMaker/SQS, console); the API node runs no steps.
        using (var onWorker = await worker.Http.GetAsync($"/api/v1/runs/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, onWorker.StatusCode);
        }
        using (var vertex = await worker.Http.GetAsync("/v1/projects/my-proj/locations/us-central1/pipelineJobs"))
        {
            Assert.Equal(HttpStatusCode.NotFound, vertex.StatusCode);
        }
        using (var aws = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/x-amz-json-1.1") })
        {
            aws.Headers.Add("X-Amz-Target", "SageMaker.ListPipelines");
            using var r = await worker.Http.SendAsync(aws);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        }
        using (var console = await worker.Http.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.NotFound, console.StatusCode);
        }
        using (var onApi = AwsSigner.Default.Sign(api.BaseAddress, "SageMaker.ListPipelines", "{}"))
        {
            using var r = await api.Http.SendAsync(onApi);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.Equal(0, (await api.GetJsonAsync("/healthz"))["activeRuns"]!.GetValue<int>());
    }

    [SkippableFact]
    public async Task Kill9_OwnerNode_SiblingOnTheSameMachineReadoptsTheStepAndTheRunFinishesOnce()
    {
        await using var n = await Nodes.StartAsync(await TestDatabase.NewSchemaAsync(), [], []);
        var (owner, sibling) = (n[0], n[1]);
        var name = await PipelineAsync(owner, "touch $SLUICE_STEP_DIR/ready; while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.02; done",
            "  - name: next\n    command: \"true\"\n    dependsOn: [work]\n");
        var id = (await owner.StartRunAsync(name)).Str("id");
        await owner.WaitForStepAsync(id, "work", "Running");
        var pid = (await owner.GetRunAsync(id)).StepOf("work")["pid"]!.GetValue<int>();

        await owner.KillAsync();
        Assert.True(Posix.IsAlive(pid), "the step died with its node");
        // The sibling finds the owner's process gone, takes the run and watches the same process again.
        var until = TimeProvider.System.GetUtcNow() + Deadline.Default;
        while ((await sibling.GetJsonAsync("/healthz"))["activeRuns"]!.GetValue<int>() != 1)
        {
            Assert.True(TimeProvider.System.GetUtcNow() < until, "the sibling did not take the run over");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
        await File.WriteAllTextAsync(StepFile(n, id, "go"), "");

        var done = await WaitTerminalAsync(sibling, id);
        Assert.Equal("Succeeded", done.Str("state"));
        Assert.Equal(1, done.StepOf("work")["attempt"]!.GetValue<int>());
        Assert.Equal("Succeeded", done.StepOf("next").Str("state"));
        Assert.False(Directory.Exists(Path.Combine(n.DataDir, "runs", id, "work", "2")), "an attempt ran twice");
    }

    [SkippableFact]
    public async Task Kill9_NodeOnAnotherMachine_AfterItsLeaseItsStepsAreLostRetriedOrStoppedAndNoRunIsLeftActive()
    {
        // a's lease is longer than b's, so that a loaded test machine stalling a's renewals for a moment does not end it.
        // b joins once a has claimed the runs: a new run goes to whichever node claims it first, and this test is about a's.
        await using var n = await Nodes.StartAsync(await TestDatabase.NewSchemaAsync(), ["--host-id", "machine-a", "--lease-seconds", "4"]);
        var a = n[0];
        var retried = await PipelineAsync(a,
            "touch $SLUICE_STEP_DIR/ready; [ \"$SLUICE_ATTEMPT\" = 2 ] && exit 0; while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.02; done",
            "    retries: { count: 1, backoff: 0 }\n");
        var stubborn = await PipelineAsync(a, "trap '' TERM; touch $SLUICE_STEP_DIR/ready; sleep 600");
        var run1 = (await a.StartRunAsync(retried)).Str("id");
        var run2 = (await a.StartRunAsync(stubborn)).Str("id");
        await a.WaitForStepAsync(run1, "work", "Running");
        await a.WaitForStepAsync(run2, "work", "Running");
        await WaitForFileAsync(StepFile(n, run2, "ready"));
        await a.PostJsonAsync($"/api/v1/runs/{run2}:stop", new { graceSeconds = 600 }, HttpStatusCode.Accepted);
        var pids = new List<int>();
        foreach (var id in new[] { run1, run2 })
        {
            pids.Add((await a.GetRunAsync(id)).StepOf("work")["pid"]!.GetValue<int>());
        }
        var b = await n.AddAsync("--host-id", "machine-b");

        // While a renews its lease, b leaves a's runs alone however long they run: wait until a has renewed past its lease.
        var runningSince = TimeProvider.System.GetUtcNow();
        var until = runningSince + Deadline.Default;
        while (await TestDatabase.ScalarAsync(n.ConnectionString, "SELECT max(heartbeat_at) FROM nodes WHERE host_id = 'machine-a'")
            < (runningSince + TimeSpan.FromSeconds(4.5)).UtcTicks)
        {
            Assert.True(TimeProvider.System.GetUtcNow() < until, "node a did not renew its lease");
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
        Assert.Equal(0, await TestDatabase.ScalarAsync(n.ConnectionString,
            "SELECT count(*) FROM runs AS r JOIN nodes AS o ON o.id = r.owner WHERE o.host_id <> 'machine-a'"));
        Assert.Equal(1, (await b.GetRunAsync(run1)).StepOf("work")["attempt"]!.GetValue<int>());

        await a.KillAsync();
        // On "machine b" the processes of "machine a" cannot be seen: b waits out a's lease, then takes the runs.
        var done1 = await WaitTerminalAsync(b, run1);
        var done2 = await WaitTerminalAsync(b, run2);

        Assert.Equal("Succeeded", done1.Str("state"));
        Assert.Equal(2, done1.StepOf("work")["attempt"]!.GetValue<int>());
        var events = await b.GetJsonAsync($"/api/v1/runs/{run1}/events");
        Assert.Contains(events["events"]!.AsArray(), e => e!["kind"]?.GetValue<string>() == "step-retry"
            && e["message"]!.GetValue<string>().Contains("lost", StringComparison.Ordinal));
        Assert.Equal("Stopped", done2.Str("state"));
        Assert.Contains("lost", done2.StepOf("work").Str("reason"), StringComparison.Ordinal);
        // What ran on "machine a" is still there (the stubborn step's supervisor died of the stop's SIGTERM; its shell and
        // sleep ignore it): a's node, started again, finds those attempts over and kills what is left of them.
        Assert.All(pids, pid => Assert.NotEmpty(Posix.GroupMembers(pid)));
        await a.RestartAsync();
        foreach (var pid in pids)
        {
            Assert.True(await Posix.EventuallyAsync(() => Posix.GroupMembers(pid).Count == 0, Deadline.Default), $"process group {pid} was left");
        }
    }

    [SkippableFact]
    public async Task StopsAndCompletionsRacingOnThreeNodes_TerminalStatesFinalEachAttemptOnceNoProcessLeft()
    {
        await using var n = await Nodes.StartAsync(await TestDatabase.NewSchemaAsync(), [], [], ["--role", "api"]);
        var name = await PipelineAsync(n[0], "sleep 0.$(( $$ % 4 ))", "  - name: after\n    command: \"true\"\n    dependsOn: [work]\n");
        var ids = new List<string>();
        for (var i = 0; i < 24; i++)
        {
            ids.Add((await n[i % 3].StartRunAsync(name)).Str("id"));
        }
        // Every run is stopped twice at once, through two different nodes, while its steps end on their own.
        await Task.WhenAll(ids.SelectMany((id, i) => new[] { n[i % 3], n[(i + 1) % 3] }.Select(async s =>
        {
            using var r = await s.Http.PostAsync($"/api/v1/runs/{id}:stop", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Conflict, $"{r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        })));

        foreach (var id in ids)
        {
            var done = await WaitTerminalAsync(n[2], id);
            Assert.Contains(done.Str("state"), (string[])["Succeeded", "Stopped"]);
            var events = (await n[1].GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
            var runStates = events.Where(e => e["step"] is null && e["to"] is not null).Select(e => e.Str("to")).ToList();
            Assert.Single(runStates, Terminal.Contains);
            Assert.True(Terminal.Contains(runStates[^1]), $"run {id} changed after it ended: {string.Join(", ", runStates)}");
            var starts = events.Where(e => e["to"]?.GetValue<string>() == "Starting").Select(e => e.Str("step")).ToList();
            Assert.Equal(starts.Count, starts.Distinct().Count());
            foreach (var step in done["steps"]!.AsArray())
            {
                Assert.True(step!["attempt"]!.GetValue<int>() <= 1);
                if (step["pid"]?.GetValue<int>() is { } pid)
                {
                    Assert.Empty(Posix.GroupMembers(pid));
                }
            }
        }
    }

    [SkippableFact]
    public async Task Callback_StepOnWorkerAnsweredThroughApiNode_QueueMessagesReachTheConsumerAndTheStopCompletes()
    {
        await using var n = await Nodes.StartAsync(await TestDatabase.NewSchemaAsync(), ["--role", "api"], ["--role", "worker"]);
        var api = n[0];
        var queue = Json.UniqueName("approvals");
        var name = Json.UniqueName("cbmulti");
        await api.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: approve
                type: callback
                queue: {{queue}}
            """);
        using (var put = await api.Http.PutAsync($"/api/v1/queues/{queue}", null))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        var id = (await api.StartRunAsync(name)).Str("id");

        // The worker publishes; the receive waits on the API node and is woken across nodes, well before its 20 s end.
        async Task<JsonObject> ReceiveAsync()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var got = await api.PostJsonAsync($"/api/v1/queues/{queue}/messages:receive", new { waitSeconds = 20, maxMessages = 1 }, HttpStatusCode.OK);
            var m = Assert.Single(got["messages"]!.AsArray())!.AsObject();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the receive waited {clock.Elapsed.TotalSeconds} s");
            await api.PostJsonAsync($"/api/v1/queues/{queue}/messages:delete", new { receiptHandle = m.Str("receiptHandle") }, HttpStatusCode.OK);
            return JsonNode.Parse(m.Str("body"))!.AsObject();
        }

        var first = await ReceiveAsync();
        Assert.Equal("Executing", first.Str("status"));
        await api.PostJsonAsync($"/api/v1/runs/{id}:stop", new { }, HttpStatusCode.Accepted);
        var second = await ReceiveAsync();
        Assert.Equal("Stopping", second.Str("status"));
        await api.PostJsonAsync($"/api/v1/callbacks/{second.Str("token")}:fail", new { reason = "cleaned up" }, HttpStatusCode.OK);
        Assert.Equal("Stopped", (await api.WaitForStateAsync(id, "Stopped")).StepOf("approve").Str("state"));
        await api.PostJsonAsync($"/api/v1/callbacks/{second.Str("token")}:succeed", new { }, HttpStatusCode.Conflict);
    }

    [SkippableFact]
    public async Task StopRequest_WhoseWakeUpNeverCame_IsFoundByTheOwnersPollAndTheRunStops()
    {
        await using var n = await Nodes.StartAsync(await TestDatabase.NewSchemaAsync(), Array.Empty<string>());
        var node = n[0];
        var name = await PipelineAsync(node, Waiter);
        var id = (await node.StartRunAsync(name)).Str("id");
        await WaitForFileAsync(StepFile(n, id, "ready"));
        await node.WaitForStepAsync(id, "work", "Running");

        // Filed straight in the database, as a node would file it but without its NOTIFY: only the poll can find it.
        var payload = $$"""{"runId":"{{id}}","reason":"found by polling"}""";
        await TestDatabase.ScalarAsync(n.ConnectionString,
            $"INSERT INTO run_requests (run_id, kind, payload, from_node, created_at) VALUES ('{id}', 'stop', '{payload}', 'nobody', 0) RETURNING id");

        var done = await node.WaitForStateAsync(id, "Stopped");
        Assert.Equal("found by polling", done["stop"]!.Str("reason"));
        Assert.True(File.Exists(StepFile(n, id, "term")), "the step got no SIGTERM");
        Assert.Equal(0, await TestDatabase.ScalarAsync(n.ConnectionString, "SELECT count(*) FROM run_requests WHERE answered_at IS NULL"));
    }
}
