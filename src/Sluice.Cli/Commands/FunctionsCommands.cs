using System.CommandLine;
using System.Globalization;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>sluice functions put|get|list|delete: the functions that function steps call.</summary>
internal static class FunctionsCommands
{
    public static Command Build(Terminal t)
    {
        var c = new Command("functions", "Register, list and delete the functions that function steps call");
        c.Subcommands.Add(Put(t));
        c.Subcommands.Add(Get(t));
        c.Subcommands.Add(List(t));
        c.Subcommands.Add(Delete(t));
        return c;
    }

    private static Command Put(Terminal t)
    {
        var name = new Argument<string>("NAME") { Description = "The function's name (letters, digits, _ and -)" };
        var command = new Option<string[]>("--command")
        {
            Description = "A local command: the program and its arguments, as separate words, never split by a shell "
                + "(arguments that start with '-' go after '--')",
            HelpName = "PROGRAM [ARG...]",
            AllowMultipleArgumentsPerToken = true,
        };
        var rest = new Argument<string[]>("ARG") { Description = "More arguments of --command (after '--')", Arity = ArgumentArity.ZeroOrMore };
        var url = new Option<string?>("--url") { Description = "An HTTP endpoint that takes the arguments as a JSON POST", HelpName = "URL" };
        var limit = new Option<double?>("--time-limit") { Description = "Seconds a call may take (1-600; default 120)", HelpName = "SECONDS" };
        var env = new Option<string[]>("--env", "-e") { Description = "An environment variable for the command (repeatable)", HelpName = "NAME=VALUE" };
        var c = new Command("put", "Register a function, or replace the one of that name") { name, rest, command, url, limit, env, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var argv = (pr.GetValue(command) ?? []).Concat(pr.GetValue(rest) ?? []).ToList();
            var u = pr.GetValue(url);
            if (argv.Count > 0 == u is not null)
            {
                throw CliException.Usage(u is null ? "give --command PROGRAM [ARG...] or --url URL" : "give --command or --url, not both");
            }
            if (pr.GetValue(command) is not { Length: > 0 } && argv.Count > 0)
            {
                throw CliException.Usage($"unexpected argument '{argv[0]}': arguments after '--' belong to --command");
            }
            var variables = CliOptions.Pairs(pr.GetValue(env), "--env");
            var r = await ctx.Client.PutFunctionAsync(pr.GetValue(name)!, new PutFunction
            {
                Command = argv.Count > 0 ? argv : null, Url = u, TimeLimitSeconds = pr.GetValue(limit), Env = variables.Count > 0 ? variables : null,
            }, ct);
            ctx.Printer(pr).Value(r.Function, () => t.Line($"function {r.Function.Name} {(r.Created ? "created" : "replaced")} ({Target(r.Function)})"), f => f.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Get(Terminal t)
    {
        var name = new Argument<string>("NAME") { Description = "The function's name" };
        var c = new Command("get", "Show a function") { name, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var f = await ctx.Client.GetFunctionAsync(pr.GetValue(name)!, ct);
            ctx.Printer(pr).Value(f, () =>
            {
                t.Line($"Name:        {f.Name}");
                t.Line($"Kind:        {f.Kind}");
                t.Line($"{(f.Url is null ? "Command:" : "URL:"),-13}{Target(f)}");
                t.Line($"Time limit:  {f.TimeLimitSeconds.ToString(CultureInfo.InvariantCulture)}s");
                if (f.Env is { Count: > 0 })
                {
                    t.Line($"Env:         {Show.Labels(f.Env)}");
                }
                t.Line($"Updated:     {Show.Time(f.UpdatedAt)}");
            }, x => x.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command List(Terminal t)
    {
        var c = new Command("list", "List functions by name") { CliOptions.Output };
        c.Aliases.Add("ls");
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var all = new List<FunctionInfo>();
            string? token = null;
            do
            {
                var page = await ctx.Client.ListFunctionsAsync(1000, token, ct);
                all.AddRange(page.Functions);
                token = page.NextPageToken;
            }
            while (token is not null);
            ctx.Printer(pr).List(all, () =>
            {
                if (all.Count == 0)
                {
                    t.Note("no functions");
                    return;
                }
                var table = new TextTable("NAME", "KIND", "TIME LIMIT", "TARGET");
                foreach (var f in all)
                {
                    table.Add(f.Name, f.Kind, f.TimeLimitSeconds.ToString(CultureInfo.InvariantCulture) + "s", Show.Clip(Target(f), 80));
                }
                table.Write(t);
            }, f => f.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Delete(Terminal t)
    {
        var names = new Argument<string[]>("NAME") { Description = "Functions to delete", Arity = ArgumentArity.OneOrMore };
        var c = new Command("delete", "Delete functions (steps that start later and name one fail)") { names };
        c.Aliases.Add("rm");
        Act.On(c, t, (ctx, pr, ct) => Act.EachAsync(ctx, pr.GetValue(names)!, async n =>
        {
            await ctx.Client.DeleteFunctionAsync(n, ct);
            t.Line($"function {n} deleted");
        }, ct));
        return c;
    }

    private static string Target(FunctionInfo f) =>
        f.Url ?? string.Join(' ', (f.Command ?? []).Select(a => a.Length == 0 || a.Any(ch => char.IsWhiteSpace(ch) || ch is '\'' or '"') ? $"'{a.Replace("'", "'\\''", StringComparison.Ordinal)}'" : a));
}
