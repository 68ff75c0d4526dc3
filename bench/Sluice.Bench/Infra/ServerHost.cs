using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sluice.Client;

namespace Sluice.Bench.Infra;

/// <summary>A real sluice-server process (as `./build.sh run` starts it) on a loopback port, with its own data directory.</summary>
internal sealed class ServerHost : IAsyncDisposable
{
    private readonly Process process;

    private ServerHost(Process process, string dataDir, int port)
    {
        this.process = process;
        DataDir = dataDir;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        Http = NewHttpClient(BaseAddress);
        Client = new SluiceClient(Http);
    }

    public string DataDir { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public SluiceClient Client { get; }

    public int Pid => process.Id;

    public string LogPath => Path.Combine(DataDir, "server.log");

    public static HttpClient NewHttpClient(Uri baseAddress) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 256,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        UseProxy = false,
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(120),
    };

    /// <summary>Starts the server on the shipped defaults plus the given arguments and waits until /healthz answers.</summary>
    public static async Task<ServerHost> StartAsync(string dataDir, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        Directory.CreateDirectory(dataDir);
        // ./build.sh bench names the published server (what ./build.sh run starts); otherwise the build next to the bench.
        var dll = Environment.GetEnvironmentVariable("SLUICE_BENCH_SERVER") is { Length: > 0 } published
            ? published
            : Path.Combine(AppContext.BaseDirectory, "sluice-server.dll");
        var port = FreePort();
        // The server's output goes to a file, as a service manager would have it; the shell only redirects, then execs.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        // Benchmarks measure the engine and the faces, not credentials or the rate limiter: development mode, no rate limit
        // (loopback only, as every benchmark server is).
        foreach (var a in (string[])["-c", "exec \"$@\" >>\"$LOG\" 2>&1", "sh", "dotnet", dll, "--urls", $"http://127.0.0.1:{port}", "--data-dir", dataDir,
            "--auth", "dev", "--rate-limit", "0", .. args])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["LOG"] = Path.Combine(dataDir, "server.log");
        // SLUICE_BENCH_SERVER_ENV="K=V K2=V2": extra environment for every server (runtime knobs compared side by side).
        foreach (var kv in (Environment.GetEnvironmentVariable("SLUICE_BENCH_SERVER_ENV") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                psi.Environment[kv[..eq]] = kv[(eq + 1)..];
            }
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start sluice-server");
        var host = new ServerHost(p, dataDir, port);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (p.HasExited)
            {
                throw new InvalidOperationException($"sluice-server exited with {p.ExitCode}: {File.ReadAllText(host.LogPath)}");
            }
            try
            {
                using var r = await host.Http.GetAsync("healthz");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException("sluice-server did not answer /healthz within 120 s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
    }

    public async Task<string> CreatePipelineAsync(string file)
    {
        var text = await File.ReadAllTextAsync(file);
        var p = await Client.CreatePipelineAsync(text);
        return p.Name;
    }

    public long RssKb => Procs.RssKb(process.Id);

    public TimeSpan CpuTime => Procs.CpuTime(process.Id);

    /// <summary>The server's own CPU time and that of the step processes it reaped.</summary>
    public (TimeSpan Own, TimeSpan Children) CpuTimes => Procs.CpuTimes(process.Id);

    /// <summary>SIGTERM (a node shutdown), then whatever step process of this data directory is still alive is killed and reported.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!process.HasExited)
        {
            Native.Signal(process.Id, Native.SIGTERM);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
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
        // A node shutdown leaves step processes running on purpose (the next start re-adopts them); the benchmark does not
        // start again, so it ends them. Their command lines name the data directory.
        var left = Procs.WithMarker(DataDir);
        if (left.Count > 0)
        {
            Console.Error.WriteLine($"bench: {left.Count} step processes of {DataDir} outlived the server; killed");
            Procs.KillAll(left);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
