using System.Text;

namespace Sluice.Core.Definitions;

/// <summary>Templates built by a compiler from parts rather than parsed from <c>{{ }}</c> text.</summary>
public sealed partial class Template
{
    /// <summary>A template that is exactly one reference: it renders to the referenced value, type kept.</summary>
    public static Template Of(Reference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return new Template("{{" + reference + "}}", [reference], [reference]);
    }

    /// <summary>A template of literal strings and references, in order.</summary>
    public static Template Of(IEnumerable<object> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = new List<object>();
        var refs = new List<Reference>();
        var source = new StringBuilder();
        foreach (var p in parts)
        {
            switch (p)
            {
                case string s:
                    list.Add(s);
                    source.Append(s);
                    break;
                case Reference r:
                    list.Add(r);
                    refs.Add(r);
                    source.Append("{{").Append(r).Append("}}");
                    break;
                default:
                    throw new ArgumentException("a template part is a string or a Reference", nameof(parts));
            }
        }
        return list.Count == 0 ? Literal("") : new Template(source.ToString(), [.. list], refs);
    }
}
