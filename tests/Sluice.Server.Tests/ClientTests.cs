using Sluice.Client;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

public class ClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private SluiceClient Client => new(fixture.Server.Http);

    [Fact]
    public async Task Client_CreateStartWatchStop_RoundTripsTypedRecords()
    {
        var name = Json.UniqueName("client");
        var p = await Client.CreatePipelineAsync($"name: {name}\nparameters:\n  n: {{ type: Integer, default: 1 }}\nsteps:\n  - name: work\n    command: sleep\n    args: [\"600\"]\n");
        Assert.Equal(1, p.LatestVersion);
        Assert.Equal("Integer", Assert.Single(p.Parameters!).Type);

        var run = await Client.StartRunAsync(new StartRun(name) { Parameters = new Dictionary<string, object?> { ["n"] = 5 }, Labels = new Dictionary<string, string> { ["who"] = "client" } });
        Assert.Equal("Queued", run.State);
        using var cts = new CancellationTokenSource(Deadline.Default);
        await foreach (var e in Client.EventsAsync(run.Id, after: 0, ct: cts.Token))
        {
            if (e.Step == "work" && e.To == "Running")
            {
                break;
            }
        }
        var stopped = await Client.StopRunAsync(run.Id, new StopRun { Reason = "typed", GraceSeconds = 0 });
        Assert.Equal("Stopping", stopped.AnsweredState);
        await foreach (var e in Client.EventsAsync(run.Id, after: 0, ct: cts.Token))
        {
            if (e.Step is null && e.To == "Stopped")
            {
                break;
            }
        }
        var final = await Client.GetRunAsync(run.Id);
        Assert.Equal("Stopped", final.State);
        Assert.Equal("typed", final.Stop!.Reason);
        Assert.Equal("Stopped", Assert.Single(final.Steps!).State);
        Assert.Equal(5, final.Parameters.GetProperty("n").GetInt64());

        var err = await Assert.ThrowsAsync<SluiceApiException>(() => Client.StopRunAsync(run.Id));
        Assert.Equal(409, err.Status);
        Assert.Contains("Stopped", err.Message);

        var bad = await Assert.ThrowsAsync<SluiceApiException>(() => Client.CreatePipelineAsync("name: x\nsteps:\n  - name: a\n    dependsOn: [b]\n  - name: b\n    dependsOn: [a]\n"));
        Assert.Equal(400, bad.Status);
        Assert.NotEmpty(bad.Problems);
    }
}
