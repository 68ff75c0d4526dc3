using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class BatchStopTests(CliFixture f) : IClassFixture<CliFixture>
{
    private const string Sleeper = """
        steps:
          - name: work
            command: sleep
            args: ["600"]
        """;

    private async Task<List<string>> StartAsync(string pipeline, int count, string label)
    {
        // Set-up through the API: these tests are about stopping.
        var (key, value) = (label.Split('=')[0], label.Split('=')[1]);
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await f.Server.StartRunAsync(pipeline, labels: new Dictionary<string, string> { [key] = value })).Str("id"));
        }
        foreach (var id in ids)
        {
            await f.Server.WaitForStepAsync(id, "work", "Running");
        }
        return ids;
    }

    [Fact]
    public async Task StopAll_DryRun_ListsTheMatchingRunsAndStopsNothing()
    {
        var name = await f.PipelineAsync("dry", Sleeper);
        var red = await StartAsync(name, 2, "team=red");
        var blue = await StartAsync(name, 1, "team=blue");

        var r = await f.RunAsync("runs", "stop", "--all", "--pipeline", name, "--label", "team=red", "--dry-run");

        Assert.Equal(0, r.ExitCode);
        Assert.Equal("2 runs would be stopped (dry run: nothing was stopped)", r.Lines[^1]);
        Assert.Contains(red[0], r.Out);
        Assert.Contains(red[1], r.Out);
        Assert.DoesNotContain(blue[0], r.Out);
        var json = await f.RunAsync("runs", "stop", "--all", "--pipeline", name, "--dry-run", "-o", "json");
        Assert.Equal(3, json.Json().AsArray().Count);
        foreach (var id in red.Concat(blue))
        {
            Assert.Equal("Running", (await f.Server.GetRunAsync(id)).Str("state"));
        }
        await f.RunAsync(["runs", "stop", .. red, .. blue, "--grace", "0"]);
    }

    [Fact]
    public async Task StopAll_ProgressRunsToTheEnd_EveryMatchingRunStopped()
    {
        var name = await f.PipelineAsync("batch", Sleeper);
        var red = await StartAsync(name, 4, "team=red");
        var blue = await StartAsync(name, 1, "team=blue");

        var r = await f.RunAsync("runs", "stop", "--all", "--pipeline", name, "--label", "team=red", "--reason", "batch", "--grace", "0");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("\u001b", r.Out + r.Err);
        Assert.Matches(@"^stopping 4 runs \(operation [a-z0-9]{12}\)$", r.Lines[0]);
        // Progress lines count up and finish at 4/4.
        var progress = r.Lines.Where(l => l.EndsWith(" runs finished", StringComparison.Ordinal)).ToList();
        Assert.Equal("4/4 runs finished", progress[^1]);
        var counts = progress.Select(l => int.Parse(l.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(counts.Order(), counts);
        Assert.Equal("done: 4 Stopped", r.Lines[^1]);
        foreach (var id in red)
        {
            var run = await f.Server.GetRunAsync(id);
            Assert.Equal("Stopped", run.Str("state"));
            Assert.Equal("batch", run["stop"]!.Str("reason"));
        }
        Assert.Equal("Running", (await f.Server.GetRunAsync(blue[0])).Str("state"));

        var opId = System.Text.RegularExpressions.Regex.Match(r.Lines[0], "operation ([a-z0-9]{12})").Groups[1].Value;
        var op = (await f.RunAsync("operations", "get", opId, "-o", "json")).Json();
        Assert.True(op["done"]!.GetValue<bool>());
        Assert.Equal(0, op["partialFailures"]!.GetValue<int>());
        Assert.Equal(4, op["results"]!.AsObject().Count);
        var table = await f.RunAsync("operations", "get", opId);
        Assert.Contains("Progress:   4/4 runs finished, 0 failures", table.Out);
        Assert.Matches($@"(?m)^{red[0]}\s+Stopped$", table.Out);
        var list = await f.RunAsync("operations", "list", "-o", "name");
        Assert.Contains(opId, list.Lines);

        // Nothing left to match: an empty batch is done at once.
        var again = await f.RunAsync("runs", "stop", "--all", "--pipeline", name, "--label", "team=red", "-o", "json");
        Assert.Equal(0, again.ExitCode);
        Assert.True(again.Json()["done"]!.GetValue<bool>());

        await f.RunAsync("runs", "stop", blue[0], "--grace", "0");
    }

    [Fact]
    public async Task StopAll_OnTerminal_ProgressBarFinishes()
    {
        var name = await f.PipelineAsync("bar", Sleeper);
        var ids = await StartAsync(name, 2, "bar=yes");

        var r = await Tty.RunAsync(f.Url, "runs", "stop", "--all", "--pipeline", name, "--grace", "0");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("100%", r.Out);
        Assert.Contains("done: 2 Stopped", r.Out);
        foreach (var id in ids)
        {
            Assert.Equal("Stopped", (await f.Server.GetRunAsync(id)).Str("state"));
        }
    }

    [Fact]
    public async Task StopAll_Misuse_Exit3()
    {
        var noPipeline = await f.RunAsync("runs", "stop", "--all");
        Assert.Equal(3, noPipeline.ExitCode);
        Assert.Equal("error: --all needs --pipeline: which pipeline's runs to stop\n", noPipeline.Err);

        var both = await f.RunAsync("runs", "stop", "--all", "--pipeline", "p", "abcdefabcdef");
        Assert.Equal(3, both.ExitCode);

        var filterWithoutAll = await f.RunAsync("runs", "stop", "abcdefabcdef", "--pipeline", "p");
        Assert.Equal(3, filterWithoutAll.ExitCode);
        Assert.Equal("error: --pipeline, --state, --label and --dry-run go with --all\n", filterWithoutAll.Err);

        var badState = await f.RunAsync("runs", "stop", "--all", "--pipeline", "p", "--state", "Sleeping");
        Assert.Equal(4, badState.ExitCode);
    }
}
