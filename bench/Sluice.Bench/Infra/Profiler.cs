using System.Diagnostics;

namespace Sluice.Bench.Infra;

/// <summary>`--profile`: perf samples the server (with call graphs) during a suite's measured phase, into
/// {work}/profiles/{name}.perf.data; `perf report -i FILE` reads it. The server then runs with the JIT's perf map on and
/// W^X off, so that managed frames have names.</summary>
internal sealed class Profiler : IAsyncDisposable
{
    private readonly Process? perf;

    private Profiler(Process? perf, string file)
    {
        this.perf = perf;
        File = file;
    }

    public string File { get; }

    public static readonly Dictionary<string, string> ServerEnvironment = new(StringComparer.Ordinal)
    {
        ["DOTNET_PerfMapEnabled"] = "1",
        ["DOTNET_EnableWriteXorExecute"] = "0",
    };

    public static async Task<Profiler> StartAsync(BenchContext ctx, int pid, string name)
    {
        var dir = Path.Combine(ctx.WorkRoot, "profiles");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{name}.perf.data");
        if (!ctx.Profile)
        {
            return new Profiler(null, file);
        }
        var psi = new ProcessStartInfo("perf", ["record", "-F", "999", "-g", "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", file])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start perf");
        // perf needs a moment to attach; samples before it are simply missing.
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        ctx.Log($"profiling {name} into {file}");
        return new Profiler(p, file);
    }

    public async ValueTask DisposeAsync()
    {
        if (perf is null)
        {
            return;
        }
        Native.Signal(perf.Id, Native.SIGINT);
        await perf.WaitForExitAsync();
        perf.Dispose();
    }
}
