using System.CommandLine;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>sluice callbacks succeed|fail: answer the token a callback step waits on.</summary>
internal static class CallbacksCommands
{
    public static Command Build(Terminal t)
    {
        var c = new Command("callbacks", "Answer the token of a waiting callback step");
        c.Subcommands.Add(Succeed(t));
        c.Subcommands.Add(Fail(t));
        return c;
    }

    private static Argument<string> TokenArgument() => new("TOKEN") { Description = "The token from the step's message" };

    private static Option<string?> IdempotencyOption() => new("--idempotency-token")
    {
        Description = "Answering again with the same token and answer is not a conflict",
        HelpName = "TOKEN",
    };

    private static Command Succeed(Terminal t)
    {
        var token = TokenArgument();
        var output = new Option<string[]>("--output", "-o")
        {
            Description = "An output of the step (repeatable); converted to the type the step declares",
            HelpName = "NAME=VALUE",
        };
        var idempotency = IdempotencyOption();
        // -o names an output here, so the output format is --format.
        var c = new Command("succeed", "The step succeeds with these outputs") { token, output, idempotency, CliOptions.Format };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var outputs = CliOptions.Pairs(pr.GetValue(output), "--output");
            var a = await ctx.Client.SucceedCallbackAsync(pr.GetValue(token)!, outputs.Count == 0 ? null : outputs, pr.GetValue(idempotency), ct);
            Print(ctx, pr, CliOptions.Format, a, "succeeded");
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Fail(Terminal t)
    {
        var token = TokenArgument();
        var reason = new Option<string?>("--reason") { Description = "Why: the step fails with this reason", HelpName = "TEXT" };
        var idempotency = IdempotencyOption();
        var c = new Command("fail", "The step fails (and with it the run)") { token, reason, idempotency, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var a = await ctx.Client.FailCallbackAsync(pr.GetValue(token)!, pr.GetValue(reason), pr.GetValue(idempotency), ct);
            Print(ctx, pr, CliOptions.Output, a, "failed");
            return ExitCodes.Ok;
        });
        return c;
    }

    private static void Print(CliContext ctx, ParseResult pr, Option<OutputFormat> format, CallbackAnswer a, string verb)
    {
        new Printer(ctx.Terminal, pr.GetValue(format)).Value(a, () =>
        {
            ctx.Terminal.Write($"callback {verb}: run {a.RunId} is ", null);
            ctx.Terminal.Write(a.State, Show.StateStyle(a.State));
            ctx.Terminal.Line();
        }, x => x.RunId);
    }
}
