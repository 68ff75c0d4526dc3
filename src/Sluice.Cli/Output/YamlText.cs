using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Sluice.Cli.Output;

/// <summary>Writes a JSON value as block YAML that reads back as the same value under YAML 1.2 (and 1.1) parsers:
/// a string that a parser would take for a number, a boolean, null or a date is quoted; text with line breaks is a
/// literal block.</summary>
internal static partial class YamlText
{
    public static string Write(JsonElement value)
    {
        var w = new StringWriter();
        var e = new Emitter(w, new EmitterSettings(2, int.MaxValue, false, 1024));
        e.Emit(new StreamStart());
        e.Emit(new DocumentStart(null, null, true));
        Node(e, value);
        e.Emit(new DocumentEnd(true));
        e.Emit(new StreamEnd());
        return w.ToString();
    }

    private static void Node(Emitter e, JsonElement v)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Object:
                e.Emit(new MappingStart(null, null, true, v.EnumerateObject().Any() ? MappingStyle.Block : MappingStyle.Flow));
                foreach (var p in v.EnumerateObject())
                {
                    String(e, p.Name);
                    Node(e, p.Value);
                }
                e.Emit(new MappingEnd());
                break;
            case JsonValueKind.Array:
                e.Emit(new SequenceStart(null, null, true, v.GetArrayLength() > 0 ? SequenceStyle.Block : SequenceStyle.Flow));
                foreach (var item in v.EnumerateArray())
                {
                    Node(e, item);
                }
                e.Emit(new SequenceEnd());
                break;
            case JsonValueKind.String:
                String(e, v.GetString()!);
                break;
            case JsonValueKind.Number:
                e.Emit(new Scalar(null, null, v.GetRawText(), ScalarStyle.Plain, true, false));
                break;
            case JsonValueKind.True:
                e.Emit(new Scalar(null, null, "true", ScalarStyle.Plain, true, false));
                break;
            case JsonValueKind.False:
                e.Emit(new Scalar(null, null, "false", ScalarStyle.Plain, true, false));
                break;
            default:
                e.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
        }
    }

    private static void String(Emitter e, string s)
    {
        // The emitter itself falls back to a quoted style when the chosen one cannot hold the text.
        var style = s.Contains('\n', StringComparison.Ordinal) && !s.Contains('\r', StringComparison.Ordinal) ? ScalarStyle.Literal
            : LooksTyped(s) ? ScalarStyle.DoubleQuoted
            : ScalarStyle.Plain;
        e.Emit(new Scalar(null, null, s, style, style == ScalarStyle.Plain, style != ScalarStyle.Plain));
    }

    /// <summary>True when a plain scalar with this text would not read back as this string.</summary>
    internal static bool LooksTyped(string s) => s.Length == 0 || Typed().IsMatch(s) || s.Trim() != s;

    // YAML 1.2 core null/bool/int/float, YAML 1.1 booleans (yes/no/on/off) and anything starting like a number or a
    // date (1.1 timestamps, sexagesimals, 1_000).
    [GeneratedRegex(@"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|[-+]?\.?[0-9].*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|<<|=)$", RegexOptions.Singleline)]
    private static partial Regex Typed();
}
