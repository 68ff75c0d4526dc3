using System.Text;

namespace Sluice.Bench.Infra;

/// <summary>One headline figure: what was measured, Sluice's value, its target, whether it was met, the peers' values.</summary>
internal sealed record Figure(string Name, string Value, string Target, bool? Met, string Peers = "");

/// <summary>What one suite measured: headline figures for the summary and a Markdown section with the details.</summary>
internal sealed class Section(string suite, string title)
{
    public string Suite { get; } = suite;

    public string Title { get; } = title;

    public List<Figure> Figures { get; } = [];

    public StringBuilder Body { get; } = new();

    public Section Line(string text = "")
    {
        Body.AppendLine(text);
        return this;
    }

    public Section Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        Body.AppendLine("| " + string.Join(" | ", header) + " |");
        Body.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var r in rows)
        {
            Body.AppendLine("| " + string.Join(" | ", r) + " |");
        }
        Body.AppendLine();
        return this;
    }

    public Section Add(Figure f)
    {
        Figures.Add(f);
        return this;
    }
}

/// <summary>Writes the sections as docs/benchmarks.md: the command, the machine, a summary of every figure against its target.</summary>
internal static class Report
{
    public static string Render(IReadOnlyList<Section> sections, string command, Machine machine, DateTimeOffset started, TimeSpan took)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Benchmarks");
        sb.AppendLine();
        sb.AppendLine("Issue 9 asks Sluice to beat every orchestrator that can run beside it and to come close to the machine's floor.");
        sb.AppendLine("Everything on this page comes from one run of one command; peers were measured in the same run, on the same");
        sb.AppendLine("machine, on equivalent workflows (bench/peers/). How each figure is taken is described under its section and in");
        sb.AppendLine("[bench/README.md](../bench/README.md).");
        sb.AppendLine();
        sb.AppendLine($"    {command}");
        sb.AppendLine();
        sb.AppendLine(Stats.F("Run {0:yyyy-MM-dd HH:mm} UTC, {1:0.0} min. {2}", started.UtcDateTime, took.TotalMinutes, machine.Describe()));
        sb.AppendLine();
        sb.AppendLine("## Summary");
        sb.AppendLine();
        sb.AppendLine("| figure | Sluice | target | met | peers, same run |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var s in sections)
        {
            foreach (var f in s.Figures)
            {
                var met = f.Met switch { true => "yes", false => "**no**", null => "-" };
                sb.AppendLine($"| {f.Name} | {f.Value} | {f.Target} | {met} | {f.Peers} |");
            }
        }
        sb.AppendLine();
        foreach (var s in sections)
        {
            sb.AppendLine($"## {s.Title}");
            sb.AppendLine();
            sb.Append(s.Body);
            sb.AppendLine();
        }
        return sb.ToString().TrimEnd() + "\n";
    }
}
