using System.Diagnostics;

namespace Sluice.Bench.Infra;

/// <summary>The workflow shapes every orchestrator runs: bench/peers/{sluice,snakemake,cwl}.</summary>
internal enum Shape
{
    Chain1,
    Chain100,
    Fan200,
    Stop8,
}

/// <summary>An orchestrator that runs on this machine beside Sluice (Debian packages), and how to run each shape with it.</summary>
internal sealed class Peer
{
    private Peer(string name, string exe, Func<Peer, Shape, string, string, string?, List<string>> args)
    {
        Name = name;
        Exe = exe;
        argsFor = args;
    }

    private readonly Func<Peer, Shape, string, string, string?, List<string>> argsFor;

    public string Name { get; }

    public string Exe { get; }

    public string? Version { get; private set; }

    public bool Installed => Version is not null;

    /// <summary>Snakemake: `--cores 2` is its slot limit (8 for the stop workflow, whose steps must all run at once).</summary>
    public static Peer Snakemake(string peersDir) => new("Snakemake", "snakemake", (_, shape, work, tmp, marker) =>
    {
        var a = new List<string> { "-s", Path.Combine(peersDir, "snakemake", "Snakefile"), "-d", work };
        switch (shape)
        {
            case Shape.Chain1:
                a.AddRange(["--cores", "2", "--config", "n=1", "--", "chain_all"]);
                break;
            case Shape.Chain100:
                a.AddRange(["--cores", "2", "--config", "n=100", "--", "chain_all"]);
                break;
            case Shape.Fan200:
                a.AddRange(["--cores", "2", "--", "fan_all"]);
                break;
            case Shape.Stop8:
                a.AddRange(["--cores", "8", "--config", $"marker={marker}", "--", "stop_all"]);
                break;
        }
        return a;
    });

    /// <summary>cwltool with --parallel: it runs as many steps at once as the machine's cores allow (2 here), its only limit.</summary>
    public static Peer Cwltool(string peersDir) => new("cwltool", "cwltool", (_, shape, work, tmp, marker) =>
    {
        var a = new List<string> { "--parallel", "--outdir", Path.Combine(work, "out"), "--tmpdir-prefix", tmp + "/", "--tmp-outdir-prefix", tmp + "/" };
        a.AddRange(CwlFile(peersDir, shape, marker));
        return a;
    });

    /// <summary>Toil's CWL runner on its single-machine batch system, `--maxCores 2`; the job store and work dir in the bench directory.</summary>
    public static Peer Toil(string peersDir) => new("Toil", "toil-cwl-runner", (_, shape, work, tmp, marker) =>
    {
        var a = new List<string> { "--jobStore", Path.Combine(work, "jobstore"), "--workDir", tmp, "--outdir", Path.Combine(work, "out"), "--maxCores", "2" };
        a.AddRange(CwlFile(peersDir, shape, marker));
        return a;
    });

    private static string[] CwlFile(string peersDir, Shape shape, string? marker) => shape switch
    {
        Shape.Chain1 => [Path.Combine(peersDir, "cwl", "chain1.cwl")],
        Shape.Chain100 => [Path.Combine(peersDir, "cwl", "chain100.cwl")],
        Shape.Fan200 => [Path.Combine(peersDir, "cwl", "fan200.cwl")],
        _ => [Path.Combine(peersDir, "cwl", "stop8.cwl"), "--marker", marker!],
    };

    public static List<Peer> All(string peersDir)
    {
        List<Peer> peers = [Snakemake(peersDir), Cwltool(peersDir), Toil(peersDir)];
        foreach (var p in peers)
        {
            p.Version = p.Name == "Toil" ? Machine.VersionOf("toil", "--version") : Machine.VersionOf(p.Exe);
        }
        return peers;
    }

    /// <summary>Starts the peer on a shape in its own session (as a service manager would), output to a log file,
    /// temp files in the bench directory like Sluice's. The pid is the orchestrator's: sh and setsid exec into it.</summary>
    public Process Start(Shape shape, string work, string? marker = null)
    {
        Directory.CreateDirectory(work);
        var tmp = Path.Combine(work, "tmp");
        Directory.CreateDirectory(tmp);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = work };
        foreach (var a in (string[])["-c", "exec setsid \"$@\" >\"$LOG\" 2>&1", "sh", Exe, .. argsFor(this, shape, work, tmp, marker)])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["LOG"] = Path.Combine(work, "peer.log");
        psi.Environment["TMPDIR"] = tmp;
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Exe}");
    }

    /// <summary>Runs a shape to the end; returns the wall time from start to exit, or null when it ran past the limit (it is
    /// then killed, with everything in its session).</summary>
    public async Task<TimeSpan?> RunAsync(Shape shape, string work, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        using var p = Start(shape, work);
        using (var cts = new CancellationTokenSource(limit))
        {
            try
            {
                await p.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Native.Signal(p.Id, Native.SIGKILL);
                Procs.KillAll(Procs.Snapshot().Where(x => x.Sid == p.Id));
                await p.WaitForExitAsync();
                return null;
            }
        }
        var took = clock.Elapsed;
        if (p.ExitCode != 0)
        {
            var log = Path.Combine(work, "peer.log");
            var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(15)) : "";
            throw new InvalidOperationException($"{Name} {shape} exited with {p.ExitCode}:\n{tail}");
        }
        return took;
    }
}
