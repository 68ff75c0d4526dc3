using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Sluice.Cli.Commands;
using Sluice.Cli.Output;

namespace Sluice.Cli;

/// <summary>The sluice command line: nouns (pipelines, runs, ...) with verbs, over the native API.</summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var terminal = Terminal.FromConsole();
        var root = Build(terminal);
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            foreach (var e in parsed.Errors)
            {
                terminal.Error(e.Message);
            }
            terminal.Note($"see '{CommandPath(parsed.CommandResult.Command, parsed)} --help'");
            return ExitCodes.Usage;
        }
        var config = new InvocationConfiguration();
        if (parsed.CommandResult.Command == ServerCommand.Instance)
        {
            // The server's host handles SIGTERM and Ctrl+C itself and shuts down gracefully, however long that takes.
            config.ProcessTerminationTimeout = null;
        }
        return await parsed.InvokeAsync(config);
    }

    public static RootCommand Build(Terminal terminal)
    {
        var root = new RootCommand("sluice: start, watch and stop pipeline runs on a Sluice server.");
        root.Options.Add(CliOptions.Server);
        root.Options.Add(CliOptions.Token);
        root.Subcommands.Add(ServerCommand.Build());
        root.Subcommands.Add(PipelinesCommands.Build(terminal));
        root.Subcommands.Add(RunsCommands.Build(terminal));
        root.Subcommands.Add(CallbacksCommands.Build(terminal));
        root.Subcommands.Add(FunctionsCommands.Build(terminal));
        root.Subcommands.Add(QueuesCommands.Build(terminal));
        root.Subcommands.Add(OperationsCommands.Build(terminal));
        root.Subcommands.Add(CompletionCommand.Build());
        ShowHelpWhenBare(root);
        return root;
    }

    /// <summary>A noun without a verb (sluice runs) prints its help, as kubectl and gh do.</summary>
    private static void ShowHelpWhenBare(Command c)
    {
        if (c.Action is null)
        {
            c.SetAction(pr => new HelpAction().Invoke(pr));
        }
        foreach (var sub in c.Subcommands)
        {
            ShowHelpWhenBare(sub);
        }
    }

    private static string CommandPath(Command c, ParseResult pr)
    {
        var names = new List<string>();
        for (var r = pr.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(r.Command is RootCommand ? "sluice" : r.Command.Name);
        }
        names.Reverse();
        return names.Count > 0 ? string.Join(' ', names) : c.Name;
    }
}
