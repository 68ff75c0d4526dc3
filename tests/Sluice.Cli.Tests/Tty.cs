using System.Diagnostics;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

/// <summary>Runs the CLI on a pseudo-terminal through script(1) (util-linux), as a person at a terminal would.</summary>
internal static class Tty
{
    public static async Task<CliResult> RunAsync(string server, params string[] args)
    {
        var command = string.Join(' ', new[] { "dotnet", Cli.Dll }.Concat(args).Select(Quote));
        var psi = new ProcessStartInfo("script")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-q", "-e", "-c", command, "/dev/null"])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["SLUICE_SERVER"] = server;
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment["COLUMNS"] = "120";
        psi.Environment["LINES"] = "40";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start script");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Deadline.Default);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"script {command} did not exit in time:\n{await stdout}");
        }
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
