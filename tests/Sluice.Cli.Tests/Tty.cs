using System.Diagnostics;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

/// <summary>Runs the CLI on a pseudo-terminal through script(1) (util-linux), as a person at a terminal would.</summary>
internal static class Tty
{
    public static async Task<CliResult> RunAsync(string server, params string[] args)
    {
        using var running = Start(server, args);
        return await running.WaitAsync();
    }

    /// <summary>Starts the CLI on a pseudo-terminal; its output can be waited on while it runs.</summary>
    public static RunningCli Start(string server, params string[] args)
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
        psi.Environment["SLUICE_TOKEN"] = TestCredentials.AdminToken;
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment["COLUMNS"] = "120";
        psi.Environment["LINES"] = "40";
        return new RunningCli(psi, args);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
