using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

public class EventStreamTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    [Fact]
    public async Task Events_ManyRunsCommittingAtOnce_EveryCommittedEventReachesTheLiveStream()
    {
        var name = Json.UniqueName("burst");
        await S.CreatePipelineAsync($"name: {name}\nsteps:\n  - name: a\n    command: \"true\"\n  - name: b\n    command: \"true\"\n");
        using var cts = new CancellationTokenSource(Deadline.Default);
        using var stream = S.NewClient(Timeout.InfiniteTimeSpan);
        using var resp = await stream.GetAsync("/api/v1/events", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        resp.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
        Assert.StartsWith(":", await reader.ReadLineAsync(cts.Token));

        // Many runs at once: their writers commit one after another and publish concurrently.
        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ => (await S.StartRunAsync(name)).Str("id")));
        var expected = new HashSet<long>();
        foreach (var id in ids)
        {
            await S.WaitForStateAsync(id, "Succeeded");
            foreach (var e in (await S.GetJsonAsync($"/api/v1/runs/{id}/events"))["events"]!.AsArray())
            {
                expected.Add(e!["seq"]!.GetValue<long>());
            }
        }
        var mine = ids.ToHashSet(StringComparer.Ordinal);
        var received = new HashSet<long>();
        try
        {
            while (!expected.IsSubsetOf(received) && await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonNode.Parse(line[6..]) is JsonObject e
                    && mine.Contains(e.Str("runId")))
                {
                    Assert.True(received.Add(e["seq"]!.GetValue<long>()), $"event {e["seq"]} arrived twice");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.Empty(expected.Except(received));
    }

    [Fact]
    public async Task Events_QuietStream_SaysKeepAliveThenStillDeliversTheRunsEvents()
    {
        var name = Json.UniqueName("quiet");
        var go = Path.Combine(S.DataDir, name + ".go");
        await S.CreatePipelineAsync($"name: {name}\nsteps:\n  - name: wait\n    command: sh\n    args: [\"-c\", \"while [ ! -e '{go}' ]; do sleep 0.1; done\"]\n");
        var id = (await S.StartRunAsync(name)).Str("id");
        await S.WaitForStateAsync(id, "Running");
        // The keep-alive comes after 15 s without an event: well within this deadline.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        using var stream = S.NewClient(Timeout.InfiniteTimeSpan);
        using var resp = await stream.GetAsync($"/api/v1/events?run={id}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        resp.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
        Assert.Equal(": sluice events", await reader.ReadLineAsync(cts.Token));

        // Its step's own start may still come first; then nothing happens until the file exists.
        while (await reader.ReadLineAsync(cts.Token) is { } line && line != ": keep-alive")
        {
        }
        await File.WriteAllTextAsync(go, "");

        // The events after a keep-alive still arrive, up to the run's end.
        string? last = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonNode.Parse(line[6..]) is JsonObject e && e["step"] is null
                && e.Str("kind") == "run-state")
            {
                last = e.Str("to");
                if (last == "Succeeded")
                {
                    break;
                }
            }
        }
        Assert.Equal("Succeeded", last);
    }
}
