using System.Text.Json;
using Sluice.Cli.Output;
using Sluice.Client;
using Spectre.Console;

namespace Sluice.Cli.Commands;

/// <summary>`runs stop --all`: one batch-stop operation for every run the filter matches, followed until it is done
/// (every run finished or reported as a failure) with a progress bar on a terminal and plain progress lines otherwise.</summary>
internal static class BatchStopper
{
    /// <summary>The states a filter without --state stops: the same default as the server's batch stop.</summary>
    public static readonly string[] DefaultStates = ["Queued", "Running"];

    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(CliContext ctx, RunFilterSpec filter, string? reason, double? grace, bool dryRun, Printer printer,
        CancellationToken ct)
    {
        var t = ctx.Terminal;
        if (dryRun)
        {
            var states = filter.States is { Count: > 0 } s ? s : DefaultStates;
            var runs = await RunsCommands.ListAsync(ctx, filter.Pipeline, states, filter.Labels ?? new Dictionary<string, string>(), 10_000, ct);
            printer.List(runs, () =>
            {
                RunsCommands.RunTable(t, runs, ctx.Now);
                t.Line($"{RunsCommands.Count(runs.Count, "run")} would be stopped (dry run: nothing was stopped)");
            }, r => r.Id);
            return ExitCodes.Ok;
        }
        var op = await ctx.Client.BatchStopAsync(new BatchStop
        {
            Filter = filter with { States = filter.States is { Count: > 0 } ? filter.States : null, Labels = filter.Labels is { Count: > 0 } ? filter.Labels : null },
            Reason = reason,
            GraceSeconds = grace,
        }, ct);
        var total = RunIds(op).Count;
        if (printer.IsTable)
        {
            t.Line(total == 0 ? "no runs match: nothing to stop" : $"stopping {RunsCommands.Count(total, "run")} (operation {op.Id})");
        }
        if (total > 0)
        {
            // Also when it is done already: the progress shown then ends at once, at 100%.
            op = printer.IsTable && t.Interactive ? await ProgressBarAsync(ctx, op, total, ct) : await PollAsync(ctx, op, total, printer.IsTable, ct);
        }
        printer.Value(op, () => Report(t, op));
        return op.PartialFailures > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static List<string> RunIds(OperationInfo op) =>
        op.Request.TryGetProperty("runIds", out var ids) && ids.ValueKind == JsonValueKind.Array
            ? [.. ids.EnumerateArray().Select(i => i.GetString()!)]
            : [];

    private static int Finished(OperationInfo op) => op.Results.ValueKind == JsonValueKind.Object ? op.Results.EnumerateObject().Count() : 0;

    private static async Task<OperationInfo> PollAsync(CliContext ctx, OperationInfo op, int total, bool print, CancellationToken ct)
    {
        var shown = -1;
        while (true)
        {
            var done = Finished(op);
            if (print && done != shown)
            {
                ctx.Terminal.Line($"{done}/{total} runs finished");
                shown = done;
            }
            if (op.Done)
            {
                return op;
            }
            await Task.Delay(PollEvery, ctx.Time, ct);
            op = await ctx.Client.GetOperationAsync(op.Id, ct);
        }
    }

    private static async Task<OperationInfo> ProgressBarAsync(CliContext ctx, OperationInfo op, int total, CancellationToken ct)
    {
        await ctx.Terminal.Ansi.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async p =>
            {
                var task = p.AddTask($"stopping {RunsCommands.Count(total, "run")}", maxValue: Math.Max(1, total));
                while (true)
                {
                    task.Value = Finished(op);
                    if (op.Done)
                    {
                        task.Value = task.MaxValue;
                        return;
                    }
                    await Task.Delay(PollEvery, ctx.Time, ct);
                    op = await ctx.Client.GetOperationAsync(op.Id, ct);
                }
            });
        return op;
    }

    /// <summary>How each run ended, counted by state; failures listed one per line.</summary>
    private static void Report(Terminal t, OperationInfo op)
    {
        var byState = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<(string Run, string Message)>();
        if (op.Results.ValueKind == JsonValueKind.Object)
        {
            foreach (var r in op.Results.EnumerateObject())
            {
                if (r.Value.TryGetProperty("error", out var err))
                {
                    failures.Add((r.Name, err.TryGetProperty("message", out var m) ? m.GetString() ?? "" : err.GetRawText()));
                    continue;
                }
                var state = r.Value.TryGetProperty("state", out var s) ? s.GetString() ?? "?" : "?";
                if (r.Value.TryGetProperty("note", out _))
                {
                    state = $"already {state}";
                }
                byState[state] = byState.GetValueOrDefault(state) + 1;
            }
        }
        if (byState.Count > 0)
        {
            t.Line($"done: {string.Join(", ", byState.Select(kv => $"{kv.Value} {kv.Key}"))}");
        }
        foreach (var (run, message) in failures)
        {
            t.Error($"run {run}: {message}");
        }
    }
}
