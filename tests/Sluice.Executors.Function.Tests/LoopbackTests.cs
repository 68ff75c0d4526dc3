using System.Net;
using System.Net.Sockets;
using Sluice.TestKit;

namespace Sluice.Executors.Function.Tests;

/// <summary>The test kit's loopback listener, which every fake endpoint here stands on.</summary>
public sealed class LoopbackTests
{
    [Fact]
    public async Task StartHttpListener_PortTakenMeanwhile_TriesAnotherAndServes()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var probes = 0;

        var (listener, port) = Loopback.StartHttpListener("/", () => ++probes == 1 ? taken : Loopback.ProbeFreePort());
        try
        {
            Assert.Equal(2, probes);
            Assert.NotEqual(taken, port);
            var serve = Task.Run(async () =>
            {
                var ctx = await listener.GetContextAsync();
                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
            });
            using var http = new HttpClient();
            using var answer = await http.GetAsync($"http://127.0.0.1:{port}/").WaitAsync(Deadline.Default);
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
            await serve.WaitAsync(Deadline.Default);
        }
        finally
        {
            listener.Close();
        }
    }
}
