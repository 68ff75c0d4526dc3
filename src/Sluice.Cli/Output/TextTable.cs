namespace Sluice.Cli.Output;

/// <summary>One cell: its text and, on a terminal, a Spectre style.</summary>
internal readonly record struct Cell(string Text, string? Style = null)
{
    public static implicit operator Cell(string? text) => new(text ?? "");
}

/// <summary>kubectl-style columns: an upper-case header, cells padded with spaces, no borders, the last column not
/// padded. Alignment is computed on the plain text, so the styled and the plain forms line up alike.</summary>
internal sealed class TextTable(params string[] headers)
{
    private const string Gap = "   ";
    private readonly List<Cell[]> rows = [];

    public int Count => rows.Count;

    public void Add(params Cell[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }
        rows.Add(cells);
    }

    public void Write(Terminal t, string indent = "")
    {
        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var r in rows)
        {
            for (var i = 0; i < r.Length; i++)
            {
                widths[i] = Math.Max(widths[i], r[i].Text.Length);
            }
        }
        WriteRow(t, indent, widths, [.. headers.Select(h => new Cell(h, "bold"))]);
        foreach (var r in rows)
        {
            WriteRow(t, indent, widths, r);
        }
    }

    private static void WriteRow(Terminal t, string indent, int[] widths, Cell[] cells)
    {
        t.Out.Write(indent);
        var end = cells.Length - 1;
        while (end > 0 && cells[end].Text.Length == 0)
        {
            end--;
        }
        for (var i = 0; i <= end; i++)
        {
            var last = i == end;
            t.Write(cells[i].Text, cells[i].Style);
            if (!last)
            {
                t.Out.Write(new string(' ', widths[i] - cells[i].Text.Length) + Gap);
            }
        }
        t.Out.WriteLine();
    }
}
