using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class ServerCommandTests
{
    /// <summary>As on a user's machine: no token given anywhere; the CLI finds the one the server created on first start.</summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Server_HostsTheServerOnTheGivenAddressAndDataDir_CliFindsItsLocalToken_ShutsDownOnSigterm()
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

        var tokenFile = Path.Combine(data.Path, "admin.token");
        Assert.True(File.Exists(tokenFile), "no local admin token:\n" + server.Out);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data.Path, "credentials.yaml")));
        var token = (await File.ReadAllTextAsync(tokenFile)).Trim();
        var local = new Dictionary<string, string?> { ["SLUICE_TOKEN"] = null, ["SLUICE_DATA_DIR"] = data.Path };
        var file = Path.Combine(data.Path, "p.yaml");
        await File.WriteAllTextAsync(file, "name: p\nsteps:\n  - name: a\n    command: \"true\"\n");
        var created = await Cli.RunAsync(url, ["pipelines", "create", "-f", file], null, local);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal(0, (await Cli.RunAsync(url, ["runs", "start", "p", "--watch"], null, local)).ExitCode);
        Assert.True(File.Exists(Path.Combine(data.Path, "sluice.db")));
        var explicitToken = await Cli.RunAsync(url, ["pipelines", "list", "--token", token], null, new Dictionary<string, string?> { ["SLUICE_TOKEN"] = null });
        Assert.True(explicitToken.ExitCode == 0, explicitToken.ToString());

        // Without a token the server says how to give one; a wrong one is refused; neither answer repeats a secret.
        var none = await Cli.RunAsync(url, ["pipelines", "list"], null, new Dictionary<string, string?> { ["SLUICE_TOKEN"] = null });
        Assert.NotEqual(0, none.ExitCode);
        Assert.Contains("SLUICE_TOKEN", none.Err, StringComparison.Ordinal);
        var wrong = await Cli.RunAsync(url, ["pipelines", "list"], null, new Dictionary<string, string?> { ["SLUICE_TOKEN"] = "slu_not-the-token-0000000000" });
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("not valid", wrong.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("slu_not-the-token", wrong.Err + wrong.Out, StringComparison.Ordinal);

        Assert.Equal(0, Posix.Kill(server.Pid, 15));
        var r = await server.WaitAsync();
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("sluice engine started", r.Out);
        Assert.Contains("2 slots", r.Out);
        // The token was shown once, on first start, and never logged otherwise.
        Assert.Equal(1, CountOf(r.Out, token));
    }

    private static int CountOf(string text, string part)
    {
        var n = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            n++;
        }
        return n;
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
