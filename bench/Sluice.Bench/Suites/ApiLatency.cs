using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sluice.Bench.Infra;
using Sluice.Bench.Load;
using Sluice.Client;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 item 6: a fixed rate of run reads from a separate load process; p50/p99; the same SageMaker call against
/// moto's server as a reference.</summary>
internal static class ApiLatency
{
    private sealed record Line(string What, string Server, double Rate, LoadResult? Result, string? Note = null);

    public static async Task<Section> RunAsync(BenchContext ctx, int runs = 200)
    {
        var section = new Section("api", "6. API latency under load");
        var lines = new List<Line>();
        var work = ctx.NewDir("api-load");

        CpuSteadiness? machine = null;
        await using (var server = await ctx.StartServerAsync(ctx.NewDir("api")))
        {
            await server.CreatePipelineAsync(ctx.Sluice("reads.yaml"));
            await using var feed = await EventFeed.OpenAsync(server.BaseAddress);
            ctx.Log($"api: {runs} runs to read");
            var ids = new List<string>();
            for (var i = 0; i < runs; i++)
            {
                ids.Add((await server.Client.StartRunAsync(new StartRun("reads"))).Id);
            }
            foreach (var id in ids)
            {
                await feed.WaitTerminalAsync(id, TimeSpan.FromMinutes(2));
            }
            ctx.Log("api: how steadily the machine gives its cores, 10 s (the server idle)");
            machine = CpuSteadiness.Measure(10);
            ctx.Log($"api: {machine.Describe()}");
            ctx.Log($"api: native GET /api/v1/runs/{{id}} at {ctx.ApiRate}/s");
            await using (await ctx.ProfileAsync(server, "api"))
            {
                lines.Add(new Line("`GET /api/v1/runs/{id}` (native; run with 4 steps)", "Sluice", ctx.ApiRate,
                    await LoadGen.RunInProcessAsync(work, "get", server.BaseAddress, ctx.ApiRate, ctx.ApiSeconds, ids.Select(id => $"api/v1/runs/{id}"))));
            }

            // HOOK (faces): the same reads through the SageMaker and Vertex faces, measured as soon as a build has them.
            var arns = await FaceHooks.SageMakerExecutionsAsync(server.BaseAddress, runs, "bench-reads");
            if (arns is null)
            {
                lines.Add(new Line("`DescribePipelineExecution` (SageMaker face)", "Sluice", ctx.ApiRate, null, "not measured: this build has no SageMaker face yet"));
                lines.Add(new Line("`GetPipelineJob` (Vertex face)", "Sluice", ctx.ApiRate, null, "not measured: needs runs created through the SageMaker face"));
            }
            else
            {
                await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System);
                ctx.Log($"api: SageMaker DescribePipelineExecution at {ctx.ApiRate}/s");
                lines.Add(new Line("`DescribePipelineExecution` (SageMaker face, SigV4)", "Sluice", ctx.ApiRate,
                    await LoadGen.RunInProcessAsync(work, "awsjson", server.BaseAddress, ctx.ApiRate, ctx.ApiSeconds, FaceHooks.DescribeBodies(arns),
                        FaceHooks.LoadArgs(FaceHooks.DescribeTarget))));
                var paths = await FaceHooks.VertexJobPathsAsync(server.BaseAddress, arns);
                lines.Add(paths is null
                    ? new Line("`GetPipelineJob` (Vertex face)", "Sluice", ctx.ApiRate, null, "not measured: this build has no Vertex face yet")
                    : new Line("`GetPipelineJob` (Vertex face, bearer token)", "Sluice", ctx.ApiRate,
                        await LoadGen.RunInProcessAsync(work, "get", server.BaseAddress, ctx.ApiRate, ctx.ApiSeconds, paths, "--bearer", FaceHooks.BearerToken)));
            }
        }

        await using (var moto = await MotoServer.StartAsync(ctx.NewDir("moto")))
        {
            if (moto is null)
            {
                lines.Add(new Line("`DescribePipelineExecution`", "moto", ctx.ApiRate, null, "not measured: `python3 -m moto.server` is not available"));
            }
            else
            {
                var arns = await FaceHooks.SageMakerExecutionsAsync(moto.Endpoint, 20, "bench-reads")
                    ?? throw new InvalidOperationException("moto did not accept CreatePipeline/StartPipelineExecution");
                foreach (var rate in new[] { ctx.ApiRate, 100 }.Distinct())
                {
                    ctx.Log($"api: moto DescribePipelineExecution at {rate}/s");
                    lines.Add(new Line("`DescribePipelineExecution` (SigV4)", $"moto {moto.Version}", rate,
                        await LoadGen.RunInProcessAsync(work, "awsjson", moto.Endpoint, rate, ctx.ApiSeconds, FaceHooks.DescribeBodies(arns),
                            FaceHooks.LoadArgs(FaceHooks.DescribeTarget))));
                }
            }
        }

        section.Line($"A separate load process (`Sluice.Bench load`) sends requests at a fixed rate for {ctx.ApiSeconds:0} s after a 3 s warm-up, open loop")
            .Line("(a slow answer does not slow the sender; up to 128 connections; an answer later than 10 s is an error), and measures each from send to\nthe last byte of the answer.")
            .Line("\"lag p99\" is how late the sender itself was against the schedule. The server is idle otherwise and holds the runs it reads.")
            .Line("The moto reference answers the same signed SageMaker call; it is measured at the same rate and at a rate it can sustain.")
            .Line()
            .Line($"The machine, just before the loads (one busy thread per core doing fixed arithmetic for 10 s, the server idle): {machine?.Describe()}.")
            .Line("A request that falls in such a window waits for the machine, whatever the server does: when those windows add up to more than 1% of the")
            .Line("time, they set the p99 (compare p90). See bench/README.md, \"A shared machine\".")
            .Line();
        section.Table(["request", "server", "rate asked", "rate sent", "ok", "errors", "p50", "p90", "p99", "max", "lag p99"],
            lines.Select(l => l.Result is { } r
                ? (IReadOnlyList<string>)[l.What, l.Server, Stats.F("{0:0}/s", l.Rate), Stats.F("{0:0}/s", r.Rate), r.Ok.ToString(CultureInfo.InvariantCulture),
                    r.Errors.ToString(CultureInfo.InvariantCulture) + (r.FirstError is { } fe ? $" ({fe})" : ""), Stats.Ms(r.P50), Stats.Ms(r.P90), Stats.Ms(r.P99),
                    Stats.Ms(r.Max), Stats.Ms(r.LagP99)]
                : [l.What, l.Server, Stats.F("{0:0}/s", l.Rate), l.Note ?? "", "", "", "", "", "", "", ""]));

        var motoAtRate = lines.FirstOrDefault(l => l.Server.StartsWith("moto", StringComparison.Ordinal) && l.Rate == ctx.ApiRate && l.Result is not null);
        var motoNote = motoAtRate?.Result is { } m ? Stats.F("moto DescribePipelineExecution: p50 {0} / p99 {1}, {2:0}/s sent, {3} errors", Stats.Ms(m.P50), Stats.Ms(m.P99), m.Rate, m.Errors) : "";
        var machineNote = machine is { SlowWindows: > 0 } ? Stats.F("machine: all cores below half speed {0:0.0}% of the time", machine.SlowShare * 100) : "";
        foreach (var l in lines.Where(l => l.Server == "Sluice"))
        {
            var name = $"6. {l.What[..(l.What.IndexOf('`', 1) + 1)]} at {l.Rate:0}/s (p50 / p99)";
            section.Add(l.Result is { } r
                ? new Figure(name, $"{Stats.Ms(r.P50)} / {Stats.Ms(r.P99)}", "p99 <= 5 ms", r.P99 <= 5 && r.Errors == 0 && r.Rate >= l.Rate * 0.95,
                    string.Join("; ", new[] { l.What.Contains("native", StringComparison.Ordinal) ? "" : motoNote, machineNote }.Where(n => n.Length > 0)))
                : new Figure(name, l.Note ?? "", "p99 <= 5 ms", null, l.What.Contains("SageMaker", StringComparison.Ordinal) ? motoNote : ""));
        }
        return section;
    }
}

/// <summary>moto's standalone server (`python3 -m moto.server`), the reference SageMaker endpoint of item 6.</summary>
internal sealed class MotoServer : IAsyncDisposable
{
    private readonly Process process;

    private MotoServer(Process process, Uri endpoint, string version)
    {
        this.process = process;
        Endpoint = endpoint;
        Version = version;
    }

    public Uri Endpoint { get; }

    public string Version { get; }

    /// <summary>Starts moto on a free port; null when python3 has no moto.</summary>
    public static async Task<MotoServer?> StartAsync(string dir)
    {
        var version = VersionOfMoto();
        if (version is null)
        {
            return null;
        }
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = dir };
        foreach (var a in (string[])["-c", "exec python3 -m moto.server -H 127.0.0.1 -p \"$0\" >moto.log 2>&1", port.ToString(CultureInfo.InvariantCulture)])
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return new MotoServer(p, new Uri($"http://127.0.0.1:{port}/"), version);
            }
            catch (SocketException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
        }
        p.Kill();
        throw new TimeoutException("moto.server did not listen within 60 s");
    }

    private static string? VersionOfMoto()
    {
        try
        {
            var psi = new ProcessStartInfo("python3", ["-c", "import moto; print(moto.__version__)"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var v = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && v.Length > 0 ? v : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            Native.Signal(process.Id, Native.SIGTERM);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }
        }
        process.Dispose();
    }
}
