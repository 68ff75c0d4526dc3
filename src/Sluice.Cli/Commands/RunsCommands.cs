using System.CommandLine;
using System.Globalization;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>sluice runs start|list|get|watch|logs|stop|delete.</summary>
internal static class RunsCommands
{
    public static readonly string[] RunStates = ["Queued", "Running", "Stopping", "Stopped", "Succeeded", "Failed"];

    public static Command Build(Terminal t)
    {
        var c = new Command("runs", "Start, list, inspect, watch, stop and delete runs");
        c.Subcommands.Add(Start(t));
        c.Subcommands.Add(List(t));
        c.Subcommands.Add(Get(t));
        c.Subcommands.Add(Watch(t));
        c.Subcommands.Add(Logs(t));
        c.Subcommands.Add(Stop(t));
        c.Subcommands.Add(Delete(t));
        return c;
    }

    private static Option<string[]> LabelOption(string description) => new("--label", "-l")
    {
        Description = description,
        HelpName = "KEY=VALUE",
    };

    private static Option<string[]> StateOption(string description)
    {
        var o = new Option<string[]>("--state") { Description = description, HelpName = "STATE[,STATE]" };
        o.CompletionSources.Add(RunStates);
        return o;
    }

    private static Command Start(Terminal t)
    {
        var pipeline = new Argument<string>("PIPELINE") { Description = "The pipeline to run (its latest version unless --version)" };
        var param = new Option<string[]>("--param", "-p") { Description = "A parameter value (repeatable)", HelpName = "NAME=VALUE" };
        var label = LabelOption("A label on the run (repeatable)");
        var version = new Option<int?>("--version") { Description = "Run this version of the pipeline", HelpName = "N" };
        var displayName = new Option<string?>("--display-name") { Description = "A name for people", HelpName = "TEXT" };
        var id = new Option<string?>("--id") { Description = "Choose the run id (12 lowercase letters and digits)", HelpName = "RUN" };
        var token = new Option<string?>("--idempotency-token") { Description = "Starting again with the same token returns the same run", HelpName = "TOKEN" };
        var watch = new Option<bool>("--watch", "-w") { Description = "Then watch the run until it ends; exit as 'runs watch' does" };
        var c = new Command("start", "Start a run of a pipeline") { pipeline, param, label, version, displayName, id, token, watch, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var parameters = CliOptions.Pairs(pr.GetValue(param), "--param");
            var labels = CliOptions.Pairs(pr.GetValue(label), "--label");
            var run = await ctx.Client.StartRunAsync(new StartRun(pr.GetValue(pipeline)!)
            {
                Version = pr.GetValue(version),
                Parameters = parameters.Count == 0 ? null : parameters.ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
                Labels = labels.Count == 0 ? null : labels,
                DisplayName = pr.GetValue(displayName),
                RunId = pr.GetValue(id),
                IdempotencyToken = pr.GetValue(token),
            }, ct);
            var printer = ctx.Printer(pr);
            if (!pr.GetValue(watch))
            {
                printer.Value(run, () => t.Line($"run {run.Id} started ({run.Pipeline} v{run.PipelineVersion}, {run.State})"), r => r.Id);
                return ExitCodes.Ok;
            }
            if (printer.Format is OutputFormat.Table)
            {
                t.Line($"run {run.Id} started ({run.Pipeline} v{run.PipelineVersion})");
            }
            return await RunWatcher.WatchAsync(ctx, run.Id, printer, ct);
        });
        return c;
    }

    private static Command List(Terminal t)
    {
        var pipeline = new Option<string?>("--pipeline") { Description = "Only runs of this pipeline", HelpName = "PIPELINE" };
        var state = StateOption("Only runs in these states (repeatable, or comma-separated)");
        var label = LabelOption("Only runs with this label (repeatable: all must match)");
        var limit = PipelinesCommands.Limit(50);
        var c = new Command("list", "List runs, newest first") { pipeline, state, label, limit, CliOptions.Output };
        c.Aliases.Add("ls");
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var runs = await ListAsync(ctx, pr.GetValue(pipeline), CliOptions.Split(pr.GetValue(state)),
                CliOptions.Pairs(pr.GetValue(label), "--label"), pr.GetValue(limit), ct);
            var now = ctx.Now;
            ctx.Printer(pr).List(runs, () => RunTable(t, runs, now), r => r.Id);
            return ExitCodes.Ok;
        });
        return c;
    }

    /// <summary>Runs matching the filter, newest first, following pages up to <paramref name="limit"/>.</summary>
    public static async Task<List<RunInfo>> ListAsync(CliContext ctx, string? pipeline, IReadOnlyList<string> states,
        IReadOnlyDictionary<string, string> labels, int limit, CancellationToken ct)
    {
        var all = new List<RunInfo>();
        string? token = null;
        do
        {
            var page = await ctx.Client.ListRunsAsync(new RunListQuery
            {
                Pipeline = pipeline, States = states.Count == 0 ? null : states, Labels = labels.Count == 0 ? null : labels,
                PageSize = Math.Clamp(limit - all.Count, 1, 1000), PageToken = token,
            }, ct);
            all.AddRange(page.Runs);
            token = page.NextPageToken;
        }
        while (token is not null && all.Count < limit);
        return all;
    }

    public static void RunTable(Terminal t, IReadOnlyList<RunInfo> runs, DateTimeOffset now)
    {
        if (runs.Count == 0)
        {
            t.Note("no runs");
            return;
        }
        var table = new TextTable("ID", "PIPELINE", "STATE", "AGE", "DURATION", "LABELS");
        foreach (var r in runs)
        {
            table.Add(r.Id, $"{r.Pipeline} v{r.PipelineVersion}", Show.State(r.State), Show.Age(r.CreatedAt, now),
                Show.Elapsed(r.StartedAt, r.EndedAt, now), Show.Labels(r.Labels));
        }
        table.Write(t);
    }

    private static Command Get(Terminal t)
    {
        var run = new Argument<string>("RUN") { Description = "The run's id" };
        var c = new Command("get", "Show a run: its state, parameters and its steps as a tree with states and durations") { run, CliOptions.Output };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var r = await ctx.Client.GetRunAsync(pr.GetValue(run)!, ct);
            var printer = ctx.Printer(pr);
            if (printer.IsTable)
            {
                RunTree.Describe(ctx, r);
            }
            else
            {
                printer.Value(r, () => { }, x => x.Id);
            }
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Watch(Terminal t)
    {
        var run = new Argument<string>("RUN") { Description = "The run's id" };
        var c = new Command("watch", "Follow a run live until it ends; exit 0 Succeeded, 1 Failed, 2 Stopped") { run, CliOptions.Output };
        Act.On(c, t, (ctx, pr, ct) => RunWatcher.WatchAsync(ctx, pr.GetValue(run)!, ctx.Printer(pr), ct));
        return c;
    }

    private static Command Logs(Terminal t)
    {
        var run = new Argument<string>("RUN") { Description = "The run's id" };
        var step = new Argument<string?>("STEP") { Description = "One step (default: every step, each line prefixed with its step)", Arity = ArgumentArity.ZeroOrOne };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing as the steps write, until they end" };
        var stderr = new Option<bool>("--stderr") { Description = "Show what the steps wrote to stderr instead of stdout" };
        var attempt = new Option<int?>("--attempt") { Description = "One attempt of the step (default: the last)", HelpName = "N" };
        var c = new Command("logs", "Print the logs of a run's steps") { run, step, follow, stderr, attempt };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var a = pr.GetValue(attempt);
            if (a is < 1)
            {
                throw CliException.Usage("--attempt must be 1 or more");
            }
            if (a is not null && pr.GetValue(step) is null)
            {
                throw CliException.Usage("--attempt needs a STEP");
            }
            await RunLogs.PrintAsync(ctx, pr.GetValue(run)!, pr.GetValue(step), pr.GetValue(follow), pr.GetValue(stderr) ? "stderr" : "stdout", a, ct);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Stop(Terminal t)
    {
        var runs = new Argument<string[]>("RUN") { Description = "Runs to stop", Arity = ArgumentArity.ZeroOrMore };
        var reason = new Option<string?>("--reason") { Description = "Why (kept in the run's history)", HelpName = "TEXT" };
        var grace = new Option<double?>("--grace") { Description = "Seconds between SIGTERM and SIGKILL for process steps (0-3600; default: each step's own)", HelpName = "SECONDS" };
        var all = new Option<bool>("--all") { Description = "Stop every run that matches --pipeline, --state and --label, as one batch operation" };
        var pipeline = new Option<string?>("--pipeline") { Description = "With --all: runs of this pipeline", HelpName = "PIPELINE" };
        var state = StateOption("With --all: runs in these states (default: Queued and Running)");
        var label = LabelOption("With --all: runs with this label (repeatable)");
        var dryRun = new Option<bool>("--dry-run") { Description = "With --all: list the runs that would be stopped, stop nothing" };
        var token = new Option<string?>("--idempotency-token") { Description = "One run: stopping again with the same token answers the same", HelpName = "TOKEN" };
        var c = new Command("stop", "Stop runs: each active step is ended (process steps: SIGTERM, grace, SIGKILL), nothing new starts")
        {
            runs, reason, grace, all, pipeline, state, label, dryRun, token, CliOptions.Output,
        };
        Act.On(c, t, async (ctx, pr, ct) =>
        {
            var ids = pr.GetValue(runs) ?? [];
            var printer = ctx.Printer(pr);
            if (pr.GetValue(grace) is { } g && (g < 0 || g > 3600 || !double.IsFinite(g)))
            {
                throw CliException.Usage("--grace must be between 0 and 3600 seconds");
            }
            if (pr.GetValue(all))
            {
                if (ids.Length > 0)
                {
                    throw CliException.Usage("give RUN ids or --all, not both");
                }
                if (pr.GetValue(token) is not null)
                {
                    throw CliException.Usage("--idempotency-token is for stopping one run, not --all");
                }
                var p = pr.GetValue(pipeline) ?? throw CliException.Usage("--all needs --pipeline: which pipeline's runs to stop");
                var filter = new RunFilterSpec(p, CliOptions.Split(pr.GetValue(state)), CliOptions.Pairs(pr.GetValue(label), "--label"));
                return await BatchStopper.RunAsync(ctx, filter, pr.GetValue(reason), pr.GetValue(grace), pr.GetValue(dryRun), printer, ct);
            }
            if (pr.GetValue(pipeline) is not null || pr.GetValue(state) is { Length: > 0 } || pr.GetValue(label) is { Length: > 0 } || pr.GetValue(dryRun))
            {
                throw CliException.Usage("--pipeline, --state, --label and --dry-run go with --all");
            }
            if (ids.Length == 0)
            {
                throw CliException.Usage("give the RUN ids to stop, or --all --pipeline PIPELINE");
            }
            if (ids.Length > 1 && pr.GetValue(token) is not null)
            {
                throw CliException.Usage("--idempotency-token is for stopping one run");
            }
            var answers = new List<RunInfo>();
            var code = await Act.EachAsync(ctx, ids, async id =>
            {
                var r = await ctx.Client.StopRunAsync(id, new StopRun
                {
                    Reason = pr.GetValue(reason), GraceSeconds = pr.GetValue(grace), IdempotencyToken = pr.GetValue(token),
                }, ct);
                answers.Add(r);
                if (printer.IsTable)
                {
                    var note = r.AnsweredState == "Stopping" ? "stop accepted; its steps are being stopped" : r.Replayed == true ? "the same stop as before" : "";
                    t.Write($"run {r.Id}: ", null);
                    t.Write(r.AnsweredState ?? r.State, Show.StateStyle(r.AnsweredState ?? r.State));
                    t.Line(note.Length > 0 ? $" ({note})" : "");
                }
            }, ct);
            if (!printer.IsTable)
            {
                printer.List(answers, () => { }, r => r.Id);
            }
            return code;
        });
        return c;
    }

    private static Command Delete(Terminal t)
    {
        var runs = new Argument<string[]>("RUN") { Description = "Finished runs to delete, with their history and logs", Arity = ArgumentArity.OneOrMore };
        var c = new Command("delete", "Delete finished runs (an active run must be stopped first)") { runs };
        c.Aliases.Add("rm");
        Act.On(c, t, (ctx, pr, ct) => Act.EachAsync(ctx, pr.GetValue(runs)!, async id =>
        {
            await ctx.Client.DeleteRunAsync(id, ct);
            t.Line($"run {id} deleted");
        }, ct));
        return c;
    }

    internal static string Count(int n, string what) => $"{n.ToString(CultureInfo.InvariantCulture)} {what}{(n == 1 ? "" : "s")}";
}
