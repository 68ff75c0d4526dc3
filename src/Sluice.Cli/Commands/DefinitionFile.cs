using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>A pipeline definition read from a file (or stdin, for "-").</summary>
internal sealed record DefinitionFile(string Text, string? Format, string Display)
{
    public static DefinitionFile Read(string path)
    {
        try
        {
            if (path == "-")
            {
                return new DefinitionFile(Console.In.ReadToEnd(), null, "<stdin>");
            }
            var format = Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".json" => "json",
                ".yaml" or ".yml" => "yaml",
                _ => null,
            };
            return new DefinitionFile(File.ReadAllText(path), format, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CliException(ExitCodes.Invalid, $"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>Every problem as FILE:LINE:COLUMN: PATH: MESSAGE (the form editors and CI annotate), then a summary line.</summary>
    public void WriteProblems(TextWriter w, IReadOnlyList<ProblemItem> problems)
    {
        foreach (var p in problems)
        {
            w.WriteLine(Problem(p));
        }
    }

    public string Problem(ProblemItem p)
    {
        var at = p.Line is { } l ? $"{Display}:{l}:{p.Column ?? 1}" : Display;
        return string.IsNullOrEmpty(p.Path) ? $"{at}: {p.Message}" : $"{at}: {p.Path}: {p.Message}";
    }

    public string Summary(int count) => $"{Display}: the definition has {count} problem{(count == 1 ? "" : "s")}";

    /// <summary>Reports the problems of a refused definition on stderr; returns the exit code.</summary>
    public int Refused(Terminal t, IReadOnlyList<ProblemItem> problems)
    {
        WriteProblems(t.Err, problems);
        t.Error(Summary(problems.Count));
        return ExitCodes.Invalid;
    }
}
