using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Sluice.Core.Definitions;

/// <summary>One step of a <see cref="PropertyPath"/>: a member (<c>.Name</c>), a list index (<c>[0]</c>) or a keyed
/// lookup (<c>['train']</c>).</summary>
public readonly record struct PathSegment(string? Member, int? Index, string? Key)
{
    public override string ToString() =>
        Member is not null ? Member : Index is { } i ? $"[{i.ToString(CultureInfo.InvariantCulture)}]" : $"['{Key}']";
}

/// <summary>A path into a JSON document, written <c>A.B[0]['key'].C</c> (SageMaker property paths; JsonGet paths).</summary>
public sealed class PropertyPath
{
    /// <summary>Most segments a path may have.</summary>
    public const int MaxSegments = 64;

    private PropertyPath(IReadOnlyList<PathSegment> segments) => Segments = segments;

    public IReadOnlyList<PathSegment> Segments { get; }

    public static PropertyPath Of(params PathSegment[] segments) => new(segments);

    /// <summary>Parses a path; null with a reason when it is malformed. An empty path is the whole document.</summary>
    public static PropertyPath? Parse(string text, out string? error)
    {
        error = null;
        var segments = new List<PathSegment>();
        var i = 0;
        var expectMember = true;
        while (i < text.Length)
        {
            if (segments.Count >= MaxSegments)
            {
                error = $"a path has at most {MaxSegments} segments";
                return null;
            }
            var c = text[i];
            if (c == '[')
            {
                var close = text.IndexOf(']', i);
                if (close < 0)
                {
                    error = $"'[' at character {i + 1} is not closed";
                    return null;
                }
                var inner = text[(i + 1)..close].Trim();
                if (inner.Length >= 2 && inner[0] is '\'' or '"' && inner[^1] == inner[0])
                {
                    segments.Add(new PathSegment(null, null, inner[1..^1]));
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(new PathSegment(null, index, null));
                }
                else
                {
                    error = $"'[{inner}]' at character {i + 1} is neither a list index such as [0] nor a key such as ['name']";
                    return null;
                }
                i = close + 1;
                expectMember = false;
                continue;
            }
            if (c == '.')
            {
                if (expectMember)
                {
                    error = $"unexpected '.' at character {i + 1}";
                    return null;
                }
                i++;
                expectMember = true;
                if (i == text.Length)
                {
                    error = "the path ends with '.'";
                    return null;
                }
                continue;
            }
            if (!expectMember)
            {
                error = $"expected '.' or '[' at character {i + 1}";
                return null;
            }
            var start = i;
            while (i < text.Length && text[i] is not ('.' or '['))
            {
                i++;
            }
            segments.Add(new PathSegment(text[start..i], null, null));
            expectMember = false;
        }
        return new PropertyPath(segments);
    }

    /// <summary>This path with <paramref name="more"/> appended.</summary>
    public PropertyPath Then(PropertyPath more) => new([.. Segments, .. more.Segments]);

    /// <summary>Follows the path through <paramref name="root"/>. A key on a list picks the element that has a field whose
    /// name ends in "Name" with that value (<c>Outputs['train']</c> is the output whose OutputName is train); a key on an
    /// object is a member. False when some segment is not there.</summary>
    public bool TryFind(JsonNode? root, out JsonNode? value)
    {
        value = null;
        var node = root;
        foreach (var s in Segments)
        {
            switch (node)
            {
                case JsonObject o when s.Member is { } m || s.Key is not null:
                    if (!o.TryGetPropertyValue(s.Member ?? s.Key!, out node))
                    {
                        return false;
                    }
                    break;
                case JsonArray a when s.Index is { } i:
                    if (i >= a.Count)
                    {
                        return false;
                    }
                    node = a[i];
                    break;
                case JsonArray a when s.Key is { } k:
                    node = a.FirstOrDefault(e => e is JsonObject eo && eo.Any(kv => kv.Key.EndsWith("Name", StringComparison.Ordinal)
                        && kv.Value is JsonValue v && v.TryGetValue<string>(out var name) && name == k));
                    if (node is null)
                    {
                        return false;
                    }
                    break;
                default:
                    return false;
            }
        }
        value = node;
        return true;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var s in Segments)
        {
            if (s.Member is not null && sb.Length > 0)
            {
                sb.Append('.');
            }
            sb.Append(s);
        }
        return sb.ToString();
    }

    public override bool Equals(object? obj) => obj is PropertyPath p && p.Segments.SequenceEqual(Segments);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
