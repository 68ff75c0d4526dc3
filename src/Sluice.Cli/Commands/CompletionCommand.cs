using System.CommandLine;

namespace Sluice.Cli.Commands;

/// <summary>sluice completion bash|zsh: a script that wires the shell's completion to System.CommandLine's [suggest]
/// directive (what dotnet-suggest does, without needing it installed).</summary>
internal static class CompletionCommand
{
    public const string Bash = """
        # sluice completion for bash: source this file, or add `source <(sluice completion bash)` to ~/.bashrc
        _sluice_complete() {
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$(sluice "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _sluice_complete sluice

        """;

    public const string Zsh = """
        # sluice completion for zsh: add `source <(sluice completion zsh)` to ~/.zshrc
        _sluice_complete() {
            local -a candidates
            candidates=("${(@f)$(sluice "[suggest:${#BUFFER[1,CURSOR]}]" "$BUFFER" 2>/dev/null)}")
            compadd -a candidates
        }
        compdef _sluice_complete sluice

        """;

    public static Command Build()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var c = new Command("completion", "Print the shell completion script for bash or zsh") { shell };
        c.SetAction(pr =>
        {
            Console.Out.Write(pr.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return c;
    }
}
