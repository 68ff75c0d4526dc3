using System.Globalization;
using Sluice.Cli.Output;
using Sluice.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sluice.Cli.Commands;

/// <summary>How `runs get` shows a run: its fields, then its steps as a tree (each step under the last of the steps it
/// waits for, as argo get shows a DAG), with states and durations.</summary>
internal static class RunTree
{
    public static void Describe(CliContext ctx, RunInfo r)
    {
        var t = ctx.Terminal;
        var now = ctx.Now;
        Field(t, "Run", r.Id);
        Field(t, "Pipeline", $"{r.Pipeline} v{r.PipelineVersion}");
        t.Write("State:        ", null);
        t.Write(r.State, Show.StateStyle(r.State));
        t.Line();
        if (!string.IsNullOrEmpty(r.DisplayName))
        {
            Field(t, "Display name", r.DisplayName);
        }
        Field(t, "Created", Show.Time(r.CreatedAt));
        if (r.StartedAt is not null)
        {
            Field(t, "Started", Show.Time(r.StartedAt));
        }
        if (r.EndedAt is not null)
        {
            Field(t, "Ended", Show.Time(r.EndedAt));
        }
        if (r.StartedAt is not null)
        {
            Field(t, "Duration", Show.Elapsed(r.StartedAt, r.EndedAt, now));
        }
        if (r.Parameters.ValueKind == System.Text.Json.JsonValueKind.Object && r.Parameters.EnumerateObject().Any())
        {
            Field(t, "Parameters", Show.Pairs(r.Parameters));
        }
        if (r.Labels.Count > 0)
        {
            Field(t, "Labels", Show.Labels(r.Labels));
        }
        if (r.Stop is { } s)
        {
            var grace = s.GraceSeconds is { } g ? $", grace {g.ToString(CultureInfo.InvariantCulture)}s" : "";
            Field(t, "Stop", $"requested {Show.Time(s.At)} by {s.Caller ?? "?"}{(string.IsNullOrEmpty(s.Reason) ? "" : $": {s.Reason}")}{grace}");
        }
        if (!string.IsNullOrEmpty(r.Error))
        {
            Field(t, "Error", r.Error);
        }
        t.Line();
        t.Ansi.Write(Tree(r, now));
    }

    private static void Field(Terminal t, string name, string? value) => t.Line($"{name + ":",-14}{value}");

    public static IRenderable Tree(RunInfo r, DateTimeOffset now)
    {
        var tree = new Tree(new Markup($"[bold]{Markup.Escape(r.Id)}[/]  [{Show.StateStyle(r.State)}]{r.State}[/]  {Show.Elapsed(r.StartedAt, r.EndedAt, now)}"));
        var steps = r.Steps ?? [];
        var byName = steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        // Steps come in the plan's order (every step after those it waits for).
        var order = steps.Select(s => s.Name).ToList();
        var position = order.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var deps = steps.ToDictionary(s => s.Name, s => s.DependsOn ?? [], StringComparer.Ordinal);
        var nodes = new Dictionary<string, TreeNode>(StringComparer.Ordinal);
        var ancestors = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var name in order)
        {
            var direct = deps[name].Where(x => position.TryGetValue(x, out var at) && at < position[name]).ToList();
            var mine = new HashSet<string>(direct, StringComparer.Ordinal);
            foreach (var x in direct)
            {
                mine.UnionWith(ancestors.GetValueOrDefault(x) ?? []);
            }
            ancestors[name] = mine;
            // A dependency that another one already waits for says nothing new (merge after split and its shards: the shards).
            var after = direct.Where(x => !direct.Any(o => o != x && (ancestors.GetValueOrDefault(o)?.Contains(x) ?? false))).ToList();
            // Under the dependency that comes last: the one that let this step start.
            var parent = after.OrderByDescending(x => position[x]).FirstOrDefault();
            var label = Label(byName[name], after, now);
            nodes[name] = parent is not null && nodes.TryGetValue(parent, out var p) ? p.AddNode(label) : tree.AddNode(label);
        }
        return tree;
    }

    private static Markup Label(StepInfo s, IReadOnlyList<string> after, DateTimeOffset now)
    {
        var notes = new List<string>();
        if (s.Attempt > 1)
        {
            notes.Add($"attempt {s.Attempt}");
        }
        if (s.ExitCode is { } code && code != 0)
        {
            notes.Add($"exit {code}");
        }
        if (!string.IsNullOrEmpty(s.Reason))
        {
            notes.Add(Show.Clip(s.Reason, 120));
        }
        if (s.RetryAt is { } at && s.State == "Pending")
        {
            notes.Add($"retry at {Show.Time(at)}");
        }
        if (Show.Pairs(s.Outputs) is { Length: > 0 } outputs)
        {
            notes.Add($"outputs: {Show.Clip(outputs, 120)}");
        }
        if (s.Callback is { Answered: false } cb && s.State is "Running" or "Stopping")
        {
            notes.Add($"waiting for an answer to token {cb.Token}");
        }
        if (after.Count > 1)
        {
            notes.Add($"after {string.Join(", ", after)}");
        }
        var kind = s.Kind == "process" ? "" : $" ({s.Kind})";
        var branch = s.Guard is { } g ? $"[grey]{(g.Branch ? "then" : "else")}:[/] " : "";
        var text = $"{branch}{Markup.Escape(s.Name)}[grey]{Markup.Escape(kind)}[/]  [{Show.StateStyle(s.State)}]{s.State}[/]";
        var elapsed = Show.Elapsed(s.StartedAt, s.EndedAt, now);
        if (elapsed.Length > 0)
        {
            text += $"  {elapsed}";
        }
        if (notes.Count > 0)
        {
            text += $"  [grey]{Markup.Escape(string.Join("; ", notes))}[/]";
        }
        return new Markup(text);
    }
}
