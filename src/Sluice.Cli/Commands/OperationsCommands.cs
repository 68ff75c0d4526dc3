using System.CommandLine;
using System.Text.Json;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>sluice operations get|list: long-running operations such as batch stops.</summary>
internal static class OperationsCommands
{
    public static Command Build(Terminal t)
    {
        var c = new Command("operations", "Show long-running operations (batch stops)");
        c.Subcommands.Add(Get(t));
        c.Subcommands.Add(List(t));
        return c;
    }

    private static Command Get(Terminal t)
    {
        var id = new Argument<string>("OPERATION") { Description = "The operation's id" };
        var c = new Command("get", "Show an operation and its result for each run") { id, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var op = await ctx.Client.GetOperationAsync(pr.GetValue(id)!, ct);
            ctx.Printer(pr).Value(op, () =>
            {
                t.Line($"Operation:  {op.Id}");
                t.Line($"Kind:       {op.Kind}");
                t.Line($"Done:       {(op.Done ? "yes" : "no")}");
                t.Line($"Created:    {Show.Time(op.CreatedAt)}");
                t.Line($"Updated:    {Show.Time(op.UpdatedAt)}");
                t.Line($"Progress:   {Finished(op)}/{Total(op)} runs finished, {op.PartialFailures} failure{(op.PartialFailures == 1 ? "" : "s")}");
                if (!string.IsNullOrEmpty(op.Error))
                {
                    t.Line($"Error:      {op.Error}");
                }
                var table = new TextTable("RUN", "RESULT");
                if (op.Request.TryGetProperty("runIds", out var ids) && ids.ValueKind == JsonValueKind.Array)
                {
                    foreach (var run in ids.EnumerateArray().Select(i => i.GetString()!))
                    {
                        table.Add(run, Result(op, run));
                    }
                }
                if (table.Count > 0)
                {
                    t.Line();
                    table.Write(t);
                }
            }, o => o.Id);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Cell Result(OperationInfo op, string run)
    {
        if (op.Results.ValueKind != JsonValueKind.Object || !op.Results.TryGetProperty(run, out var r))
        {
            return new Cell("pending", "grey");
        }
        if (r.TryGetProperty("error", out var e))
        {
            var code = e.TryGetProperty("code", out var c) ? c.GetString() : "Error";
            var message = e.TryGetProperty("message", out var m) ? m.GetString() : "";
            return new Cell($"{code}: {message}", "red");
        }
        var state = r.TryGetProperty("state", out var s) ? s.GetString() ?? "?" : "?";
        return r.TryGetProperty("note", out _) ? new Cell($"{state} (already finished)", Show.StateStyle(state)) : Show.State(state);
    }

    private static int Total(OperationInfo op) =>
        op.Request.TryGetProperty("runIds", out var ids) && ids.ValueKind == JsonValueKind.Array ? ids.GetArrayLength() : 0;

    private static int Finished(OperationInfo op) => op.Results.ValueKind == JsonValueKind.Object ? op.Results.EnumerateObject().Count() : 0;

    private static Command List(Terminal t)
    {
        var limit = PipelinesCommands.Limit(50);
        var c = new Command("list", "List operations, newest first") { limit, CliOptions.Output };
        c.Aliases.Add("ls");
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var max = pr.GetValue(limit);
            var all = new List<OperationInfo>();
            string? token = null;
            do
            {
                var page = await ctx.Client.ListOperationsAsync(Math.Clamp(max - all.Count, 1, 1000), token, ct);
                all.AddRange(page.Operations);
                token = page.NextPageToken;
            }
            while (token is not null && all.Count < max);
            var now = ctx.Now;
            ctx.Printer(pr).List(all, () =>
            {
                if (all.Count == 0)
                {
                    t.Note("no operations");
                    return;
                }
                var table = new TextTable("ID", "KIND", "DONE", "RUNS", "FAILURES", "AGE");
                foreach (var op in all)
                {
                    table.Add(op.Id, op.Kind, op.Done ? "yes" : "no", $"{Finished(op)}/{Total(op)}", op.PartialFailures.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Show.Age(op.CreatedAt, now));
                }
                table.Write(t);
            }, o => o.Id);
            return ExitCodes.Ok;
        });
        return c;
    }
}
