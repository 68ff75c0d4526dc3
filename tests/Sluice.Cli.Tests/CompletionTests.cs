using System.Diagnostics;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

public class CompletionTests
{
    [Fact]
    public async Task SuggestDirective_CompletesVerbsAndOptionValues()
    {
        var verbs = await Cli.RunAsync(null, "[suggest:13]", "sluice runs s");
        Assert.Equal(0, verbs.ExitCode);
        // Those that start with the word come first; then those that contain it.
        Assert.Equal(["start", "stop"], verbs.Lines[..2]);
        Assert.DoesNotContain("watch", verbs.Lines);

        var formats = await Cli.RunAsync(null, "[suggest:20]", "sluice runs list -o ");
        Assert.Equal(["json", "name", "table", "yaml"], formats.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task BashScript_SourcedInBash_CompletesThroughTheCli()
    {
        using var dir = new TempDirectory("sluice-completion");
        // `sluice` on PATH, as an installed CLI would be.
        var shim = dir.File("sluice");
        await File.WriteAllTextAsync(shim, $"#!/bin/sh\nexec dotnet '{Cli.Dll}' \"$@\"\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var script = await Cli.RunAsync(null, "completion", "bash");
        Assert.Equal(0, script.ExitCode);
        await File.WriteAllTextAsync(dir.File("completion.bash"), script.Out);

        var result = await BashAsync(dir.Path, """
            source ./completion.bash
            COMP_LINE="sluice pipelines va"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(sluice pipelines va); COMP_CWORD=2
            _sluice_complete
            printf '%s\n' "${COMPREPLY[@]}"
            echo ---
            COMP_LINE="sluice ru"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(sluice ru); COMP_CWORD=1
            _sluice_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """);

        Assert.Equal("validate\n---\nruns\n", result);
    }

    [Fact]
    public async Task ZshScript_IsPrintedAndUnknownShellIsAUsageError()
    {
        var zsh = await Cli.RunAsync(null, "completion", "zsh");
        Assert.Equal(0, zsh.ExitCode);
        Assert.Contains("compdef _sluice_complete sluice", zsh.Out);
        var fish = await Cli.RunAsync(null, "completion", "fish");
        Assert.Equal(3, fish.ExitCode);
    }

    private static async Task<string> BashAsync(string dir, string script)
    {
        var psi = new ProcessStartInfo("bash")
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["PATH"] = dir + ":" + Environment.GetEnvironmentVariable("PATH");
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(script);
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Deadline.Default);
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, await error);
        return await output;
    }
}
