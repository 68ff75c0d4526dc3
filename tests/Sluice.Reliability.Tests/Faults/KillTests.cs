using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Reliability.Tests.Fuzz;
using Sluice.TestKit;

namespace Sluice.Reliability.Tests.Faults;

/// <summary>kill -9 of the server at random points of many runs with random stops, then restart, again and again; at the
/// end: every accepted stop carried out, terminal states final, no orphan process, no step attempt run twice (each attempt
/// appends to a ledger file), and each run's events a gap-free chain of states that ends where the run and its steps are.
/// The store is a server option: a PostgreSQL variant is a row of <see cref="Stores"/> with its arguments.</summary>
public class KillTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string> Stores => ["sqlite", "postgres"];

    /// <summary>The PostgreSQL that ./build.sh test starts (SLUICE_TEST_POSTGRES); without it the PostgreSQL row is skipped.</summary>
    private static string? Postgres => Environment.GetEnvironmentVariable("SLUICE_TEST_POSTGRES") is { Length: > 0 } cs ? cs : null;

    private static async Task<string[]> StoreArgsAsync(string store)
    {
        switch (store)
        {
            case "sqlite":
                return [];
            case "postgres":
                Skip.If(Postgres is null, "no PostgreSQL is configured: set SLUICE_TEST_POSTGRES (./build.sh test starts a throwaway cluster)");
                // A schema of its own, so that nothing of another test's is in the way; short leases, so that the node that
                // starts after a kill takes over the killed one's runs soon.
                var schema = "kill_" + Guid.NewGuid().ToString("N")[..12];
                await using (var connection = new Npgsql.NpgsqlConnection(Postgres))
                {
                    await connection.OpenAsync();
                    await using var c = new Npgsql.NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
                    await c.ExecuteNonQueryAsync();
                }
                var cs = new Npgsql.NpgsqlConnectionStringBuilder(Postgres) { SearchPath = schema }.ConnectionString;
                return ["--store", cs, "--lease-seconds", "2", "--poll-seconds", "0.2"];
            default:
                throw new ArgumentOutOfRangeException(nameof(store), store, null);
        }
    }

    private static string Definition(string name, string ledger) => $$$"""
        name: {{{name}}}
        parameters:
          ms: { type: Integer, default: 300 }
        steps:
          - name: a
            command: sh
            args: ["-c", {{{JsonSerializer.Serialize(Script)}}}, "a", {{{JsonSerializer.Serialize(ledger)}}}, "{{params.ms}}"]
          - name: b
            command: sh
            args: ["-c", {{{JsonSerializer.Serialize(Script)}}}, "b", {{{JsonSerializer.Serialize(ledger)}}}, "{{params.ms}}"]
            dependsOn: [a]
          - name: c
            command: sh
            args: ["-c", {{{JsonSerializer.Serialize(Script)}}}, "c", {{{JsonSerializer.Serialize(ledger)}}}, "{{params.ms}}"]
            dependsOn: [a]
          - name: d
            command: sh
            args: ["-c", {{{JsonSerializer.Serialize(Script)}}}, "d", {{{JsonSerializer.Serialize(ledger)}}}, "{{params.ms}}"]
            dependsOn: [b, c]
        """;

    /// <summary>One line when an attempt begins (with the shell's pid, for the orphan check) and one when it ends; a line
    /// shorter than PIPE_BUF appended with O_APPEND is never torn.</summary>
    private const string Script =
        "echo \"start $SLUICE_RUN_ID $SLUICE_STEP $SLUICE_ATTEMPT $$\" >> \"$1\"; "
        + "t=$2; while [ $t -gt 0 ]; do sleep 0.05; t=$((t - 50)); done; "
        + "echo \"end $SLUICE_RUN_ID $SLUICE_STEP $SLUICE_ATTEMPT $$\" >> \"$1\"";

    [SkippableTheory]
    [MemberData(nameof(Stores))]
    public async Task Kill9_AtRandomPoints_InvariantsHoldAfterRestart(string store)
    {
        var seed = FuzzSettings.Seed;
        var random = new Random(seed);
        var killAt = new Random(seed + 1);
        using var dir = new TempDirectory("sluice-kill");
        var ledger = dir.File("ledger.txt");
        File.WriteAllText(ledger, "");
        var data = Path.Combine(dir.Path, "data");
        await using var s = await ServerProcess.StartAsync(data, ["--auth", "dev", .. await StoreArgsAsync(store)]);
        await s.CreatePipelineAsync(Definition("kill-chain", ledger));

        var runs = new List<string>();
        var stops = new Dictionary<string, string>(StringComparer.Ordinal);
        var terminal = new Dictionary<string, string>(StringComparer.Ordinal);
        var context = $"seed {seed} (SLUICE_FUZZ_SEED={seed} ./build.sh test --filter Kill9)";
        const int Rounds = 6;
        for (var round = 0; round < Rounds; round++)
        {
            // A wave of runs and, while they go, stops at random moments; the kill comes at a random point of it all.
            var firstOfRound = runs.Count;
            var load = Task.Run(async () =>
            {
                for (var k = 0; k < 3; k++)
                {
                    try
                    {
                        var id = (await s.StartRunAsync("kill-chain", new { ms = 100 + random.Next(500) }))["id"]!.GetValue<string>();
                        lock (runs)
                        {
                            runs.Add(id);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        // The server died under the request: it may or may not have been accepted (found by the list below).
                    }
                }
                string[] known;
                lock (runs)
                {
                    known = [.. runs.Skip(firstOfRound)];
                }
                foreach (var id in known.Where(_ => random.Next(2) == 0))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300)), TimeProvider.System);
                    try
                    {
                        using var r = await s.Http.PostAsJsonAsync($"/api/v1/runs/{id}:stop", new { reason = "chaos", graceSeconds = 1 });
                        if (r.StatusCode == HttpStatusCode.Accepted)
                        {
                            var answer = await r.Content.ReadAsStringAsync();
                            lock (stops)
                            {
                                stops[id] = answer;
                            }
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                    }
                }
            });
            // The moment of the kill is the random fault point, not a wait for a state.
            await Task.Delay(TimeSpan.FromMilliseconds(150 + killAt.Next(1200)), TimeProvider.System);
            await s.KillAsync();
            await load;
            await s.RestartAsync();
            // What the store holds now: runs accepted just before the kill are in it even if their answer was lost.
            foreach (var r in (await s.GetJsonAsync("/api/v1/runs?pageSize=1000"))["runs"]!.AsArray())
            {
                var id = r!["id"]!.GetValue<string>();
                if (!runs.Contains(id))
                {
                    runs.Add(id);
                }
                var state = r["state"]!.GetValue<string>();
                if (terminal.TryGetValue(id, out var was))
                {
                    Assert.True(was == state, $"{context}: run {id} was {was}, after a restart it is {state}");
                }
                else if (state is "Succeeded" or "Failed" or "Stopped")
                {
                    terminal[id] = state;
                }
            }
        }

        var final = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var id in runs)
        {
            final[id] = await s.WaitForRunAsync(id, st => st is "Succeeded" or "Failed" or "Stopped", TimeSpan.FromSeconds(60));
        }
        Assert.True(runs.Count >= Rounds * 2, $"{context}: only {runs.Count} runs were started");

        var stoppedSteps = final.Values.Sum(r => r["steps"]!.AsArray().Count(x => x!["state"]!.GetValue<string>() == "Stopped"));
        output.WriteLine($"{context}: {runs.Count} runs, {stops.Count} accepted stops, {stoppedSteps} steps stopped, {Rounds} kills; final states: "
            + string.Join(", ", final.Values.GroupBy(r => r["state"]!.GetValue<string>()).Select(g => $"{g.Key} {g.Count()}")));
        foreach (var r in final.Values.Where(r => r["state"]!.GetValue<string>() == "Failed"))
        {
            output.WriteLine($"failed: {r["id"]} {r["error"]}: " + string.Join("; ", r["steps"]!.AsArray().Select(x => $"{x!["name"]} {x["state"]} {x["reason"]}")));
        }
        // Every step of this pipeline succeeds: a Failed run means a step was lost or run wrongly across a crash.
        var failed = final.Values.Where(r => r["state"]!.GetValue<string>() == "Failed").Select(r => r.ToJsonString()).ToList();
        Assert.True(failed.Count == 0, $"{context}: runs failed across the crashes:\n{string.Join('\n', failed)}");
        Assert.True(stops.Count > 0, $"{context}: no stop was accepted; the test checks nothing about stops");
        foreach (var (id, answer) in stops)
        {
            var run = final[id];
            Assert.True(run["state"]!.GetValue<string>() == "Stopped", $"{context}: the stop of {id} was accepted ({answer}) but the run is {run.ToJsonString()}");
            Assert.NotNull(run["stop"]);
        }
        foreach (var (id, state) in terminal)
        {
            Assert.True(final[id]["state"]!.GetValue<string>() == state, $"{context}: run {id} was {state}, later {final[id]["state"]}");
        }

        // The ledger: no attempt began twice; every attempt's process is gone.
        var lines = File.ReadAllLines(ledger).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToList();
        var starts = lines.Where(l => l[0] == "start").ToList();
        var twice = starts.GroupBy(l => $"{l[1]}/{l[2]}/{l[3]}", StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"{context}: step attempts that ran twice: {string.Join(", ", twice)}");
        foreach (var l in starts)
        {
            var pid = int.Parse(l[4], CultureInfo.InvariantCulture);
            Assert.True(await Posix.EventuallyAsync(() => !Posix.IsAlive(pid) || !IsOurs(pid, ledger), TimeSpan.FromSeconds(10)),
                $"{context}: the process of {l[1]}/{l[2]} attempt {l[3]} (pid {pid}) outlives its run ({final[l[1]]["state"]})");
        }

        foreach (var (id, run) in final)
        {
            var events = (await s.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
            AssertChain(context, id, null, events.Where(e => e["kind"]!.GetValue<string>() is "run-created" or "run-state" or "stop-requested").ToList(), run["state"]!.GetValue<string>());
            foreach (var step in run["steps"]!.AsArray())
            {
                var name = step!["name"]!.GetValue<string>();
                var stepState = step["state"]!.GetValue<string>();
                AssertChain(context, id, name, events.Where(e => e["kind"]!.GetValue<string>() == "step-state" && e["step"]?.GetValue<string>() == name).ToList(), stepState);
                var attempt = step["attempt"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture);
                if (stepState == "Succeeded")
                {
                    Assert.True(lines.Any(l => l[0] == "end" && l[1] == id && l[2] == name && l[3] == attempt),
                        $"{context}: {id}/{name} Succeeded without its attempt {attempt} having ended in the ledger");
                }
                if (stepState is "NotStarted" or "Skipped")
                {
                    Assert.DoesNotContain(starts, l => l[1] == id && l[2] == name);
                }
            }
            var seqs = events.Select(e => e["seq"]!.GetValue<long>()).ToList();
            Assert.True(seqs.SequenceEqual(seqs.Order()), $"{context}: events of {id} out of order");
        }
    }

    /// <summary>The pid may have been reused by the time we look: it is ours only while it runs our ledger script.</summary>
    private static bool IsOurs(int pid, string ledger)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(ledger, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Each state change starts where the previous one ended, and the last one ends in the state the run shows.</summary>
    private static void AssertChain(string context, string run, string? step, List<JsonObject> events, string state)
    {
        var what = step is null ? $"run {run}" : $"step {run}/{step}";
        if (events.Count == 0)
        {
            Assert.True(state is "Queued" or "Pending" or "NotStarted", $"{context}: {what} is {state} without a state event");
            return;
        }
        if (step is null)
        {
            Assert.True(events[0]["kind"]!.GetValue<string>() == "run-created", $"{context}: {what}: the first event is {events[0].ToJsonString()}");
        }
        for (var i = 1; i < events.Count; i++)
        {
            var prev = events[i - 1]["to"]!.GetValue<string>();
            var from = events[i]["from"]?.GetValue<string>();
            Assert.True(prev == from, $"{context}: {what}: an event is missing between {prev} and {from} -> {events[i]["to"]}: {string.Join(", ", events.Select(e => $"{e["from"]}->{e["to"]}"))}");
        }
        Assert.True(events[^1]["to"]!.GetValue<string>() == state, $"{context}: {what} is {state} but its last event says {events[^1]["to"]}");
    }
}
