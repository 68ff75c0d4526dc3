using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class ServerCommandTests
{
    [Fact]
    public async Task Server_HostsTheServerOnTheGivenAddressAndDataDir_ShutsDownOnSigterm()
    {
        using var data = new TempDirectory("sluice-cli-server");
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var url = $"http://127.0.0.1:{port}";
        using var server = Cli.Start(null, "server", "--urls", url, "--data-dir", data.Path, "--slots", "2");
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(2) };
        Assert.True(await Posix.EventuallyAsync(() => Healthy(http), Deadline.Default), "sluice server did not answer /healthz:\n" + server.Out);

        var file = Path.Combine(data.Path, "p.yaml");
        await File.WriteAllTextAsync(file, "name: p\nsteps:\n  - name: a\n    command: \"true\"\n");
        Assert.Equal(0, (await Cli.RunAsync(url, "pipelines", "create", "-f", file)).ExitCode);
        Assert.Equal(0, (await Cli.RunAsync(url, "runs", "start", "p", "--watch")).ExitCode);
        Assert.True(File.Exists(Path.Combine(data.Path, "sluice.db")));

        Assert.Equal(0, Posix.Kill(server.Pid, 15));
        var r = await server.WaitAsync();
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("sluice engine started", r.Out);
        Assert.Contains("2 slots", r.Out);
    }

    [Fact]
    public async Task Server_PortInUse_OneLineAndExit1()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        using var data = new TempDirectory("sluice-cli-server");
        var r = await Cli.RunAsync(null, "server", "--urls", $"http://127.0.0.1:{((IPEndPoint)l.LocalEndpoint).Port}", "--data-dir", data.Path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error: the server could not start: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    private static bool Healthy(HttpClient http)
    {
        try
        {
            using var r = http.GetAsync("/healthz").GetAwaiter().GetResult();
            return r.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }
}
