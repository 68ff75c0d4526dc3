using System.CommandLine;
using Sluice.Cli.Output;
using Sluice.Client;
using Sluice.Core.Definitions;

namespace Sluice.Cli.Commands;

/// <summary>sluice pipelines create|update|get|list|delete|validate.</summary>
internal static class PipelinesCommands
{
    public static Command Build(Terminal t)
    {
        var c = new Command("pipelines", "Create, update, inspect, delete and validate pipelines");
        c.Subcommands.Add(Create(t));
        c.Subcommands.Add(Update(t));
        c.Subcommands.Add(Get(t));
        c.Subcommands.Add(List(t));
        c.Subcommands.Add(Delete(t));
        c.Subcommands.Add(Validate(t));
        return c;
    }

    private static Option<string> FileOption() => new("--file", "-f")
    {
        Description = "The definition (YAML or JSON; '-' reads stdin)",
        HelpName = "FILE",
        Required = true,
    };

    private static Command Create(Terminal t)
    {
        var file = FileOption();
        var c = new Command("create", "Create a pipeline from a definition (version 1)") { file, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var def = DefinitionFile.Read(pr.GetValue(file)!);
            PipelineInfo p;
            try
            {
                p = await ctx.Client.CreatePipelineAsync(def.Text, def.Format, ct);
            }
            catch (SluiceApiException e) when (e.Status == 400 && e.Problems.Count > 0)
            {
                return def.Refused(t, e.Problems);
            }
            catch (SluiceApiException e) when (e.Status == 409)
            {
                throw new CliException(ExitCodes.Conflict, $"{e.Message}: sluice pipelines update -f {(def.Display == "<stdin>" ? "-" : def.Display)}");
            }
            ctx.Printer(pr).Value(p, () => t.Line($"pipeline {p.Name} created (version {p.LatestVersion}, {Steps(p)})"), x => x.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Update(Terminal t)
    {
        var file = FileOption();
        var c = new Command("update", "Add a new version to the pipeline the definition names") { file, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var def = DefinitionFile.Read(pr.GetValue(file)!);
            // The definition names its pipeline; the offline compiler reads the name (and catches problems early).
            var compiled = NativeCompiler.Compile(def.Text, def.Format);
            if (!compiled.Ok)
            {
                return def.Refused(t, [.. compiled.Problems.Select(ToItem)]);
            }
            var name = compiled.Plan!.Name!;
            PipelineInfo p;
            try
            {
                p = await ctx.Client.AddVersionAsync(name, def.Text, def.Format, ct);
            }
            catch (SluiceApiException e) when (e.Status == 400 && e.Problems.Count > 0)
            {
                return def.Refused(t, e.Problems);
            }
            ctx.Printer(pr).Value(p, () => t.Line($"pipeline {p.Name} updated to version {p.LatestVersion} ({Steps(p)})"), x => x.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Get(Terminal t)
    {
        var name = new Argument<string>("PIPELINE") { Description = "The pipeline's name" };
        var version = new Option<int?>("--version") { Description = "A version (default: the latest)", HelpName = "N" };
        var definition = new Option<bool>("--definition") { Description = "Print only the definition, as it was submitted" };
        var c = new Command("get", "Show a pipeline: its parameters, steps and definition") { name, version, definition, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            if (pr.GetValue(version) is < 1)
            {
                throw CliException.Usage("--version must be 1 or more");
            }
            var p = await ctx.Client.GetPipelineAsync(pr.GetValue(name)!, pr.GetValue(version), ct);
            if (pr.GetValue(definition))
            {
                // Byte for byte as submitted, so that `> file` gives the file back.
                t.Out.Write(p.Version?.Definition ?? "");
                return ExitCodes.Ok;
            }
            ctx.Printer(pr).Value(p, () => Describe(t, p), x => x.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static void Describe(Terminal t, PipelineInfo p)
    {
        t.Line($"Name:         {p.Name}");
        t.Line($"Version:      {p.Version?.Version} (latest {p.LatestVersion})");
        if (!string.IsNullOrEmpty(p.Description))
        {
            t.Line($"Description:  {p.Description}");
        }
        t.Line($"Created:      {Show.Time(p.CreatedAt)}");
        t.Line($"Updated:      {Show.Time(p.UpdatedAt)}");
        if (p.Parameters is { Count: > 0 } ps)
        {
            t.Line();
            t.Line("Parameters:");
            var table = new TextTable("NAME", "TYPE", "DEFAULT", "DESCRIPTION");
            foreach (var x in ps)
            {
                table.Add(x.Name, x.Type, x.Default is null ? "(required)" : Show.Value(x.Default), Show.Clip(x.Description));
            }
            table.Write(t, "  ");
        }
        if (p.Steps is { Count: > 0 } steps)
        {
            t.Line();
            t.Line("Steps:");
            var table = new TextTable("NAME", "KIND", "AFTER");
            foreach (var s in steps)
            {
                table.Add(s.Name, s.Kind, string.Join(", ", s.DependsOn));
            }
            table.Write(t, "  ");
        }
    }

    private static Command List(Terminal t)
    {
        var limit = Limit();
        var c = new Command("list", "List pipelines by name") { limit, CliOptions.Output };
        c.Aliases.Add("ls");
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var max = pr.GetValue(limit);
            var all = new List<PipelineInfo>();
            string? token = null;
            do
            {
                var page = await ctx.Client.ListPipelinesAsync(Math.Clamp(max - all.Count, 1, 1000), token, ct);
                all.AddRange(page.Pipelines);
                token = page.NextPageToken;
            }
            while (token is not null && all.Count < max);
            var now = ctx.Now;
            ctx.Printer(pr).List(all, () =>
            {
                if (all.Count == 0)
                {
                    t.Note("no pipelines");
                    return;
                }
                var table = new TextTable("NAME", "VERSION", "UPDATED", "DESCRIPTION");
                foreach (var p in all)
                {
                    table.Add(p.Name, p.LatestVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Show.Age(p.UpdatedAt, now) + " ago",
                        Show.Clip(p.Description));
                }
                table.Write(t);
            }, p => p.Name);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Delete(Terminal t)
    {
        var names = new Argument<string[]>("PIPELINE") { Description = "Pipelines to delete (their runs are kept)", Arity = ArgumentArity.OneOrMore };
        var c = new Command("delete", "Delete pipelines (runs keep the version they ran)") { names };
        c.Aliases.Add("rm");
        Act.On(c, t, (ctx, pr, ct) => Act.EachAsync(ctx, pr.GetValue(names)!, async n =>
        {
            await ctx.Client.DeletePipelineAsync(n, ct);
            t.Line($"pipeline {n} deleted");
        }, ct));
        return c;
    }

    private static Command Validate(Terminal t)
    {
        var file = FileOption();
        var c = new Command("validate", "Check a definition without a server; every problem with its line and column") { file, CliOptions.Output };
        Act.On(c, t, (ctx, pr, ct) =>
        {
            var def = DefinitionFile.Read(pr.GetValue(file)!);
            var r = NativeCompiler.Compile(def.Text, def.Format);
            var result = new ValidationResult(r.Ok, r.Plan?.Name, [.. r.Problems.Select(ToItem)],
                r.Plan is { } plan ? [.. plan.Steps.Select(s => new StepSummary(s.Name, s.Kind, s.DependsOn))] : null);
            ctx.Printer(pr).Value(result, () =>
            {
                if (result.Valid)
                {
                    var steps = result.Steps!;
                    t.Line($"{def.Display}: valid: pipeline {result.Name} with {steps.Count} step{(steps.Count == 1 ? "" : "s")} "
                        + $"({string.Join(", ", steps.Select(s => s.Name))})");
                }
                else
                {
                    def.WriteProblems(t.Out, result.Problems);
                    t.Line(def.Summary(result.Problems.Count));
                }
            });
            return Task.FromResult(result.Valid ? ExitCodes.Ok : ExitCodes.Invalid);
        });
        return c;
    }

    internal static ProblemItem ToItem(Sluice.Core.Api.Problem p) => new(p.Path, p.Message, p.Line, p.Column);

    internal static Option<int> Limit(int defaultLimit = 100) => new("--limit")
    {
        Description = $"At most this many (default {defaultLimit})",
        HelpName = "N",
        DefaultValueFactory = _ => defaultLimit,
        Validators =
        {
            r =>
            {
                if (r.GetValueOrDefault<int>() < 1)
                {
                    r.AddError("--limit must be 1 or more");
                }
            },
        },
    };

    private static string Steps(PipelineInfo p) => p.Steps is { } s ? $"{s.Count} step{(s.Count == 1 ? "" : "s")}" : "";
}
