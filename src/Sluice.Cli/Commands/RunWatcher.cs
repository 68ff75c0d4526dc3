using System.Globalization;
using System.Threading.Channels;
using Sluice.Cli.Output;
using Sluice.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sluice.Cli.Commands;

/// <summary>`runs watch`: follows a run on the server's event stream until it ends. On a terminal, a live table of the
/// steps; redirected, one plain line per state change; with -o json|yaml, only the run as it ended (-o name: its id). The exit code says
/// how it ended: 0 Succeeded, 1 Failed, 2 Stopped.</summary>
internal static class RunWatcher
{
    private static readonly HashSet<string> Terminal = new(StringComparer.Ordinal) { "Succeeded", "Failed", "Stopped" };

    public static bool IsTerminal(string? state) => state is not null && Terminal.Contains(state);

    public static async Task<int> WatchAsync(CliContext ctx, string runId, Printer printer, CancellationToken ct)
    {
        var run = await ctx.Client.GetRunAsync(runId, ct);
        if (!IsTerminal(run.State))
        {
            if (printer.IsTable && ctx.Terminal.Interactive)
            {
                run = await LiveAsync(ctx, run, ct);
            }
            else
            {
                run = await FollowAsync(ctx, run, printer.IsTable, ct);
            }
        }
        else if (printer.IsTable && !ctx.Terminal.Interactive)
        {
            // Finished already: the history is what there is to watch.
            run = await FollowAsync(ctx, run, true, ct);
        }
        if (printer.IsTable)
        {
            Summary(ctx, run);
        }
        else
        {
            printer.Value(run, () => { }, r => r.Id);
        }
        return ExitCodes.ForRunState(run.State);
    }

    /// <summary>The events of the run, replayed from its start and then live, in a channel (completed with the stream's error).</summary>
    private static (Channel<EventInfo> Events, Task Pump) Subscribe(CliContext ctx, string runId, CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<EventInfo>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var client = ctx.StreamingClient();
        var pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in client.EventsAsync(runId, after: 0, ct))
                {
                    await channel.Writer.WriteAsync(e, ct);
                }
                channel.Writer.TryComplete(new CliException(ExitCodes.Unreachable,
                    $"the server closed the event stream before run {runId} finished (is it shutting down?)"));
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None);
        return (channel, pump);
    }

    private static async Task<RunInfo> FollowAsync(CliContext ctx, RunInfo run, bool print, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var (events, pump) = Subscribe(ctx, run.Id, cts.Token);
        var width = Math.Max(3, (run.Steps ?? []).Select(s => s.Name.Length).DefaultIfEmpty(0).Max());
        try
        {
            await foreach (var e in events.Reader.ReadAllAsync(ct))
            {
                if (print)
                {
                    ctx.Terminal.Line(Line(e, width));
                }
                if (e.Step is null && IsTerminal(e.To))
                {
                    break;
                }
            }
        }
        finally
        {
            await cts.CancelAsync();
            await pump;
        }
        return await ctx.Client.GetRunAsync(run.Id, ct);
    }

    /// <summary>One event as one plain line: time, subject (the run or a step), the change and its message.</summary>
    public static string Line(EventInfo e, int width)
    {
        var subject = (e.Step ?? "run").PadRight(width);
        var message = e.Message?.ReplaceLineEndings(" ") ?? "";
        var change = e.Kind switch
        {
            "stop-requested" => (message.Length > 0 ? message : "stop requested") + (e.Caller is { } c ? $" (by {c})" : ""),
            "step-retry" => message.Length > 0 ? $"retry: {message}" : "retry",
            _ when e.From is { } f && e.To is { } to => $"{f} -> {to}{Detail(message, to)}",
            _ when e.To is { } to => $"{to}{Detail(message, to)}",
            _ => $"{e.Kind}{Detail(message, null)}",
        };
        return $"{Show.Clock(e.At)}  {subject}  {change}";
    }

    /// <summary>The event's message, unless it only repeats the new state.</summary>
    private static string Detail(string message, string? state) =>
        message.Length == 0 || string.Equals(message, state, StringComparison.OrdinalIgnoreCase) ? "" : $"  {message}";

    private static async Task<RunInfo> LiveAsync(CliContext ctx, RunInfo run, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var (events, pump) = Subscribe(ctx, run.Id, cts.Token);
        try
        {
            var stale = false;
            var took = TimeSpan.Zero;
            var fetchedAt = ctx.Time.GetTimestamp();
            await ctx.Terminal.Ansi.Live(View(run, ctx.Now)).AutoClear(false).StartAsync(async live =>
            {
                while (!IsTerminal(run.State))
                {
                    // Redraw on a change, and every second for the durations.
                    var ended = false;
                    var next = events.Reader.WaitToReadAsync(ct).AsTask();
                    var tick = Task.Delay(TimeSpan.FromSeconds(1), ctx.Time, ct);
                    if (await Task.WhenAny(next, tick) == next)
                    {
                        if (!await next)
                        {
                            await events.Reader.Completion;
                        }
                        while (events.Reader.TryRead(out var e))
                        {
                            stale = true;
                            ended |= e.Step is null && IsTerminal(e.To);
                        }
                    }
                    // A run of thousands of steps is megabytes: fetch it again no sooner than 4 times the last fetch took
                    // (at once when it has ended).
                    if (stale && (ended || ctx.Time.GetElapsedTime(fetchedAt) >= took * 4))
                    {
                        (run, took) = await FetchAsync(ctx, run.Id, ct);
                        stale = ended && !IsTerminal(run.State);
                        fetchedAt = ctx.Time.GetTimestamp();
                    }
                    live.UpdateTarget(View(run, ctx.Now));
                }
            });
        }
        finally
        {
            await cts.CancelAsync();
            await pump;
        }
        return run;
    }

    private static async Task<(RunInfo Run, TimeSpan Took)> FetchAsync(CliContext ctx, string id, CancellationToken ct)
    {
        var t0 = ctx.Time.GetTimestamp();
        var run = await ctx.Client.GetRunAsync(id, ct);
        return (run, ctx.Time.GetElapsedTime(t0));
    }

    private static IRenderable View(RunInfo r, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.Title = new TableTitle($"run {Markup.Escape(r.Id)} · {Markup.Escape(r.Pipeline)} v{r.PipelineVersion} · [{Show.StateStyle(r.State)}]{r.State}[/] · "
            + Show.Elapsed(r.StartedAt, r.EndedAt, now));
        table.AddColumn("STEP");
        table.AddColumn("KIND");
        table.AddColumn("STATE");
        table.AddColumn("DURATION");
        table.AddColumn("NOTE");
        // a wide for-each is one row per body step, its iterations counted (as runs get shows it)
        foreach (var line in RunTree.Fold(r.Steps ?? []))
        {
            if (line.Single is { } s)
            {
                var note = s.Reason ?? (Show.Pairs(s.Outputs) is { Length: > 0 } o ? o : "");
                table.AddRow(new Text(s.Name), new Text(s.Kind), new Markup($"[{Show.StateStyle(s.State)}]{s.State}[/]"),
                    new Text(Show.Elapsed(s.StartedAt, s.EndedAt, now)), new Text(Show.Clip(note, 80)));
                continue;
            }
            var (counts, state) = RunTree.Tally(line);
            table.AddRow(new Text($"{line.Name} ×{line.Steps.Count.ToString("N0", CultureInfo.InvariantCulture)}"), new Text(line.Kind),
                new Markup($"[{Show.StateStyle(state)}]{state}[/]"), new Text(""),
                new Text(string.Join(", ", counts.Select(c => $"{c.Count.ToString("N0", CultureInfo.InvariantCulture)} {c.State}"))));
        }
        return table;
    }

    public static void Summary(CliContext ctx, RunInfo r)
    {
        var t = ctx.Terminal;
        t.Write($"run {r.Id} ", null);
        t.Write(r.State, Show.StateStyle(r.State));
        var took = Show.Elapsed(r.StartedAt ?? r.CreatedAt, r.EndedAt, ctx.Now);
        var detail = r.State switch
        {
            "Failed" when !string.IsNullOrEmpty(r.Error) => $": {r.Error}",
            "Stopped" when r.Stop is { } s => $" (stop requested by {s.Caller ?? "?"}{(string.IsNullOrEmpty(s.Reason) ? "" : $": {s.Reason}")})",
            _ => "",
        };
        t.Line($" in {took}{detail}");
    }
}
