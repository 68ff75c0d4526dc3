using System.Diagnostics;
using System.Globalization;

namespace Sluice.Bench.Infra;

/// <summary>Settings and shared state of one benchmark run.</summary>
internal sealed class BenchContext
{
    private int dirs;

    /// <summary>Work directory: data dirs of the servers, peers' work, the cached scale database.</summary>
    public required string WorkRoot { get; init; }

    /// <summary>This run's directories (removed at the end; the scale cache stays).</summary>
    public required string RunDir { get; init; }

    /// <summary>bench/peers: every orchestrator's version of the workflows.</summary>
    public required string PeersDir { get; init; }

    public required Machine Machine { get; init; }

    public int StopRuns { get; init; } = 100;

    public int GraceRuns { get; init; } = 100;

    public int ThroughputSeconds { get; init; } = 60;

    public double ApiRate { get; init; } = 1000;

    public double ApiSeconds { get; init; } = 10;

    public int ScaleRuns { get; init; } = 1_000_000;

    public bool WithPeers { get; init; } = true;

    /// <summary>The PostgreSQL of the multinode suite (`--postgres`, SLUICE_BENCH_POSTGRES); null skips its PostgreSQL rows.</summary>
    public string? Postgres { get; init; }

    /// <summary>`--profile`: perf records the server during each measured phase (see <see cref="Profiler"/>).</summary>
    public bool Profile { get; init; }

    /// <summary>Arguments and environment for a server of this run.</summary>
    public Task<ServerHost> StartServerAsync(string dataDir, params string[] args) =>
        ServerHost.StartAsync(dataDir, Profile ? Profiler.ServerEnvironment : null, args);

    public Task<Profiler> ProfileAsync(ServerHost server, string name) => Profiler.StartAsync(this, server.Pid, name);

    public List<Peer> Peers { get; set; } = [];

    public IEnumerable<Peer> InstalledPeers => WithPeers ? Peers.Where(p => p.Installed) : [];

    public string Sluice(string file) => Path.Combine(PeersDir, "sluice", file);

    /// <summary>A fresh directory for one server or peer invocation.</summary>
    public string NewDir(string name)
    {
        var d = Path.Combine(RunDir, $"{Interlocked.Increment(ref dirs):000}-{name}");
        Directory.CreateDirectory(d);
        return d;
    }

    private readonly Stopwatch clock = Stopwatch.StartNew();

    public void Log(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed:mm\\:ss}] {message}"));
}
