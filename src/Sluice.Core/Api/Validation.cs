namespace Sluice.Core.Api;

/// <summary>Shared input rules of the core API (names, labels, tokens, free text).</summary>
public static class Validation
{
    /// <summary>Whether a string may be an id at all (cheap guard before a lookup).</summary>
    public static bool IsId(string? id) =>
        id is { Length: >= 1 and <= 128 } && id.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.');

    public static void Labels(IReadOnlyDictionary<string, string>? labels, List<Problem> problems)
    {
        if (labels is null)
        {
            return;
        }
        if (labels.Count > RunService.MaxLabels)
        {
            problems.Add(new Problem("labels", $"at most {RunService.MaxLabels} labels"));
        }
        foreach (var (k, v) in labels)
        {
            if (k.Length is < 1 or > 63 || !k.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.' or '/'))
            {
                problems.Add(new Problem($"labels.{Show(k)}", "a label key is 1-63 characters of letters, digits, '-', '_', '.' and '/'"));
            }
            if (v is null || v.Length > 256 || v.Any(char.IsControl))
            {
                problems.Add(new Problem($"labels.{Show(k)}", "a label value is at most 256 characters without control characters"));
            }
        }
    }

    public static void Text(string? value, string path, int max, List<Problem> problems)
    {
        if (value is not null && (value.Length > max || value.Any(c => char.IsControl(c) && c is not ('\n' or '\t'))))
        {
            problems.Add(new Problem(path, $"at most {max} characters without control characters"));
        }
    }

    public static void Token(string? token, string path, List<Problem> problems)
    {
        if (token is not null && (token.Length is < 1 or > 128 || token.Any(char.IsControl)))
        {
            problems.Add(new Problem(path, "an idempotency token is 1-128 characters without control characters"));
        }
    }

    /// <summary>A caller's string, shortened and made printable, for an error message.</summary>
    public static string Show(string? s)
    {
        if (s is null)
        {
            return "(null)";
        }
        var t = new string([.. s.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);
        return s.Length > 80 ? t + "..." : t;
    }
}
