using System.Net;
using System.Net.Sockets;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class ErrorTests(CliFixture f) : IClassFixture<CliFixture>
{
    private static string Nowhere()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return $"http://127.0.0.1:{((IPEndPoint)l.LocalEndpoint).Port}";
    }

    [Fact]
    public async Task ServerNotReachable_OneLineNamingTheAddress_Exit7()
    {
        var nowhere = Nowhere();
        foreach (var args in new[] { new[] { "runs", "list" }, ["runs", "watch", "abcdefabcdef"], ["pipelines", "get", "x"] })
        {
            var r = await Cli.RunAsync(nowhere, args);
            Assert.Equal(7, r.ExitCode);
            Assert.Empty(r.Out);
            Assert.StartsWith($"error: cannot reach the Sluice server at {nowhere}: Connection refused", r.Err);
            Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    [Fact]
    public async Task ServerAddress_FlagBeatsEnvironment_EnvironmentBeatsDefault()
    {
        var nowhere = Nowhere();

        var flag = await Cli.RunAsync(nowhere, "runs", "list", "--server", f.Url);
        Assert.True(flag.ExitCode == 0, flag.ToString());

        var env = await Cli.RunAsync(f.Url, "runs", "list");
        Assert.Equal(0, env.ExitCode);

        var envDead = await Cli.RunAsync(nowhere, "runs", "list");
        Assert.Equal(7, envDead.ExitCode);
        Assert.Contains(nowhere, envDead.Err);

        var withPath = await Cli.RunAsync(null, "runs", "list", "--server", f.Url + "/");
        Assert.Equal(0, withPath.ExitCode);

        var bad = await Cli.RunAsync("ftp://example", "runs", "list");
        Assert.Equal(3, bad.ExitCode);
        Assert.Equal("error: the server address from SLUICE_SERVER must be an http:// or https:// URL, not 'ftp://example'\n", bad.Err);
    }

    [Fact]
    public async Task CommandLineMistakes_Exit3WithAHint_BareNounPrintsHelp()
    {
        var unknown = await Cli.RunAsync(null, "runs", "strat");
        Assert.Equal(3, unknown.ExitCode);
        Assert.Contains("error: Unrecognized command or argument 'strat'", unknown.Err);
        Assert.EndsWith("see 'sluice runs --help'\n", unknown.Err);

        var option = await Cli.RunAsync(null, "runs", "list", "--colour", "red");
        Assert.Equal(3, option.ExitCode);

        var format = await Cli.RunAsync(null, "runs", "list", "-o", "xml");
        Assert.Equal(3, format.ExitCode);
        Assert.Contains("--output must be table, json, yaml or name, not 'xml'", format.Err);

        var bare = await Cli.RunAsync(null, "runs");
        Assert.Equal(0, bare.ExitCode);
        Assert.Contains("start", bare.Out);
        Assert.Contains("watch", bare.Out);

        var help = await Cli.RunAsync(null, "runs", "stop", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--dry-run", help.Out);
    }

    [Fact]
    public async Task ServerDiesDuringWatch_Exit7NoStackTrace()
    {
        await using var server = await ServerProcess.StartAsync();
        var url = server.Http.BaseAddress!.ToString().TrimEnd('/');
        var file = f.Write("dies.yaml", "name: dies\nsteps:\n  - name: work\n    command: sleep\n    args: [\"600\"]\n");
        Assert.Equal(0, (await Cli.RunAsync(url, "pipelines", "create", "-f", file)).ExitCode);
        var id = (await Cli.RunAsync(url, "runs", "start", "dies", "-o", "name")).Out.Trim();
        using var watch = Cli.Start(url, "runs", "watch", id);
        await watch.WaitForOutputAsync("work  Starting -> Running");

        await server.KillAsync();

        var r = await watch.WaitAsync();
        Assert.Equal(7, r.ExitCode);
        Assert.StartsWith("error: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // The step outlived its server, as steps do; the server adopts it again on restart, and the stop ends it.
        await server.RestartAsync();
        Assert.Equal(0, (await Cli.RunAsync(url, "runs", "stop", id, "--grace", "0")).ExitCode);
        await server.WaitForStateAsync(id, "Stopped");
    }
}
