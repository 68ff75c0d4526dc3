using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Sluice.Cli.Output;
using Sluice.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sluice.Cli.Commands;

/// <summary>How `runs get` shows a run: its fields, then its steps as a tree (each step under the last of the steps it
/// waits for, as argo get shows a DAG; a group's first members under the group), with states and durations. A wide
/// for-each is one line per body step with its iterations counted by state.</summary>
internal static partial class RunTree
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

    /// <summary>A for-each with more iterations than this is shown as one line per body step, its iterations counted.</summary>
    public const int FoldAbove = 8;

    /// <summary>How many failed iterations of a folded line are named.</summary>
    private const int NamedFailures = 5;

    public static IRenderable Tree(RunInfo r, DateTimeOffset now)
    {
        var tree = new Tree(new Markup($"[bold]{Markup.Escape(r.Id)}[/]  [{Show.StateStyle(r.State)}]{r.State}[/]  {Show.Elapsed(r.StartedAt, r.EndedAt, now)}"));
        var lines = Fold(r.Steps ?? []);
        // Steps come in the plan's order (every step after those it waits for); a folded line where its first step was.
        var position = lines.Select((l, i) => (l.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        var nodes = new Dictionary<string, TreeNode>(StringComparer.Ordinal);
        var ancestors = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var name = line.Name;
            var direct = line.DependsOn.Where(x => position.TryGetValue(x, out var at) && at < position[name]).ToList();
            var mine = new HashSet<string>(direct, StringComparer.Ordinal);
            foreach (var x in direct)
            {
                mine.UnionWith(ancestors.GetValueOrDefault(x) ?? []);
            }
            ancestors[name] = mine;
            // A dependency that another one already waits for says nothing new (merge after split and its shards: the shards).
            var after = direct.Where(x => !direct.Any(o => o != x && (ancestors.GetValueOrDefault(o)?.Contains(x) ?? false))).ToList();
            // Under the dependency that comes last: the one that let this step start; a group's first members under it.
            var parent = after.OrderByDescending(x => position[x]).FirstOrDefault()
                ?? (line.Group is { } g && position.TryGetValue(g, out var gat) && gat < position[name] ? g : null);
            var label = line.Single is { } step ? Label(step, after, now) : FoldedLabel(line, after);
            nodes[name] = parent is not null && nodes.TryGetValue(parent, out var p) ? p.AddNode(label) : tree.AddNode(label);
        }
        return tree;
    }

    /// <summary>One line of the tree: a step, or the same body step of every iteration of a wide for-each.</summary>
    internal sealed record Line(string Name, string Kind, List<string> DependsOn, StepGuard? Guard, string? Group, List<StepInfo> Steps)
    {
        /// <summary>The step, when the line is one step and not a folded body step.</summary>
        public StepInfo? Single => Steps is [var s] && s.Name == Name ? s : null;
    }

    /// <summary>The steps as lines: a for-each of more than <see cref="FoldAbove"/> iterations folded to one line per
    /// body step (<c>loop[*].t</c>), dependencies folded the same way and each kept once.</summary>
    internal static List<Line> Fold(IReadOnlyList<StepInfo> steps)
    {
        var iterations = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in steps)
        {
            if (s.Iteration is { } it)
            {
                iterations[it.ForEach] = Math.Max(iterations.GetValueOrDefault(it.ForEach), it.Index + 1);
            }
        }
        var wide = iterations.Where(kv => kv.Value > FoldAbove).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
        var lines = new Dictionary<string, Line>(StringComparer.Ordinal);
        var order = new List<Line>();
        foreach (var s in steps)
        {
            var name = FoldedName(s.Name, wide);
            if (!lines.TryGetValue(name, out var line))
            {
                var guard = s.Guard is { } g ? g with { Step = FoldedName(g.Step, wide) } : null;
                lines[name] = line = new Line(name, s.Kind, [], guard, s.Group is { } grp ? FoldedName(grp, wide) : null, []);
                order.Add(line);
            }
            line.Steps.Add(s);
            foreach (var d in s.DependsOn ?? [])
            {
                var fd = FoldedName(d, wide);
                if (fd != name && !line.DependsOn.Contains(fd, StringComparer.Ordinal))
                {
                    line.DependsOn.Add(fd);
                }
            }
        }
        return order;
    }

    /// <summary>A step's name with the iteration of every wide for-each it is in written <c>*</c>.</summary>
    private static string FoldedName(string name, HashSet<string> wide)
    {
        if (wide.Count == 0 || !name.Contains('[', StringComparison.Ordinal))
        {
            return name;
        }
        var sb = new StringBuilder();
        var from = 0;
        foreach (Match m in IterationIndex().Matches(name))
        {
            if (wide.Contains(name[..m.Index]))
            {
                sb.Append(name, from, m.Index - from).Append("[*].");
                from = m.Index + m.Length;
            }
        }
        return sb.Append(name, from, name.Length - from).ToString();
    }

    [GeneratedRegex(@"\[\d+\]\.")]
    private static partial Regex IterationIndex();

    /// <summary>A folded line's steps by state, most first, and the one state that stands for them all.</summary>
    internal static (List<(string State, int Count)> Counts, string State) Tally(Line line)
    {
        var counts = line.Steps.GroupBy(s => s.State, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Count())).ToList();
        return (counts, SummaryState(counts.Select(c => c.Item1).ToHashSet(StringComparer.Ordinal)));
    }

    private static Markup FoldedLabel(Line line, IReadOnlyList<string> after)
    {
        var (counts, state) = Tally(line);
        var kind = line.Kind == "process" ? "" : $" ({line.Kind})";
        var branch = line.Guard is { } g ? $"[grey]{(g.Branch ? "then" : "else")}:[/] " : "";
        var text = $"{branch}{Markup.Escape(line.Name)}[grey]{Markup.Escape(kind)} ×{line.Steps.Count.ToString("N0", CultureInfo.InvariantCulture)}[/]  "
            + $"[{Show.StateStyle(state)}]{state}[/]  "
            + string.Join(", ", counts.Select(c => $"{c.Count.ToString("N0", CultureInfo.InvariantCulture)} [{Show.StateStyle(c.State)}]{c.State}[/]"));
        var notes = new List<string>();
        var failed = line.Steps.Where(s => s.State == "Failed").Select(s => s.Name).ToList();
        if (failed.Count > 0)
        {
            notes.Add($"failed: {string.Join(", ", failed.Take(NamedFailures))}{(failed.Count > NamedFailures ? $" and {failed.Count - NamedFailures} more" : "")}");
        }
        if (after.Count > 1)
        {
            notes.Add($"after {string.Join(", ", after)}");
        }
        if (notes.Count > 0)
        {
            text += $"  [grey]{Markup.Escape(string.Join("; ", notes))}[/]";
        }
        return new Markup(text);
    }

    /// <summary>One state for many steps: the one they share, else what they are doing (stopping; running while some are
    /// active or wait), else how they ended, a failure first.</summary>
    private static string SummaryState(HashSet<string> present)
    {
        if (present.Count == 1)
        {
            return present.First();
        }
        if (present.Contains("Stopping"))
        {
            return "Stopping";
        }
        if (present.Contains("Running") || present.Contains("Starting") || present.Contains("Pending"))
        {
            return "Running";
        }
        return EndedByWeight.FirstOrDefault(present.Contains) ?? present.First();
    }

    private static readonly string[] EndedByWeight = ["Failed", "Stopped", "Succeeded", "Skipped", "NotStarted"];

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
