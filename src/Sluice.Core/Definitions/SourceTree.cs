using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sluice.Core.Api;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Sluice.Core.Definitions;

/// <summary>The resolved type of a scalar (YAML 1.2 core schema; JSON values map onto it directly).</summary>
internal enum ScalarKind
{
    Null,
    String,
    Integer,
    Float,
    Boolean,
}

/// <summary>A node of a parsed definition, with the 1-based position where it starts.</summary>
internal abstract class SNode
{
    public int Line { get; init; }

    public int Column { get; init; }

    /// <summary>Nodes in this subtree once aliases are expanded (bounds the work of walking a shared tree).</summary>
    public long Size { get; set; } = 1;

    public string Describe() => this switch
    {
        SMap => "a map",
        SSeq => "a list",
        SScalar { Kind: ScalarKind.Null } => "null",
        SScalar { Kind: ScalarKind.Integer or ScalarKind.Float } => "a number",
        SScalar { Kind: ScalarKind.Boolean } => "a boolean",
        _ => "a string",
    };
}

internal sealed class SScalar : SNode
{
    public required string Text { get; init; }

    public required ScalarKind Kind { get; init; }

    /// <summary>long, double, bool, string or null, by <see cref="Kind"/>.</summary>
    public object? Value { get; init; }
}

internal sealed class SSeq : SNode
{
    public List<SNode> Items { get; } = [];
}

internal sealed class SMap : SNode
{
    public List<KeyValuePair<SScalar, SNode>> Entries { get; } = [];
}

/// <summary>Reads YAML (or strict JSON) into <see cref="SNode"/>s without recursion, with limits on depth and size.</summary>
internal static partial class SourceTree
{
    /// <summary>Deepest nesting of maps and lists; deep enough for 32 nested conditions.</summary>
    public const int MaxDepth = 100;

    /// <summary>Most nodes a document may hold, counting every alias expansion.</summary>
    public const long MaxNodes = 2_000_000;

    public static SNode? Read(string source, bool json, List<Problem> problems) =>
        json ? ReadJson(source, problems) : ReadYaml(source, problems);

    private sealed class Frame(SNode node, string? anchor)
    {
        public SNode Node { get; } = node;
        public string? Anchor { get; } = anchor;
        public SScalar? Key { get; set; }
        public bool HaveKey { get; set; }
        public bool KeyValid { get; set; }
    }

    private sealed class Stop : Exception;

    private static SNode? ReadYaml(string source, List<Problem> problems)
    {
        var stack = new Stack<Frame>();
        var anchors = new Dictionary<string, SNode>(StringComparer.Ordinal);
        SNode? root = null;
        var documents = 0;
        long total = 0;

        void Fail(Mark at, string message)
        {
            problems.Add(new Problem("", message, (int)at.Line, (int)at.Column));
            throw new Stop();
        }

        void Count(long n, Mark at)
        {
            total += n;
            if (total > MaxNodes)
            {
                Fail(at, $"the definition holds more than {MaxNodes} values (counting every alias expansion)");
            }
        }

        void Attach(SNode node, Mark at)
        {
            if (stack.Count == 0)
            {
                root = node;
                return;
            }
            var top = stack.Peek();
            if (top.Node is SSeq seq)
            {
                seq.Items.Add(node);
                return;
            }
            var map = (SMap)top.Node;
            if (!top.HaveKey)
            {
                top.HaveKey = true;
                top.KeyValid = node is SScalar;
                top.Key = node as SScalar;
                if (node is not SScalar)
                {
                    problems.Add(new Problem("", "map keys must be plain values, not lists or maps", (int)at.Line, (int)at.Column));
                }
                return;
            }
            if (top.KeyValid)
            {
                map.Entries.Add(new(top.Key!, node));
            }
            top.HaveKey = false;
            top.Key = null;
        }

        void AddSize(SNode child)
        {
            if (stack.Count > 0)
            {
                stack.Peek().Node.Size += child.Size;
            }
        }

        try
        {
            var parser = new Parser(new StringReader(source));
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                switch (ev)
                {
                    case DocumentStart:
                        if (++documents > 1)
                        {
                            Fail(ev.Start, "a definition is a single YAML document: remove the second '---'");
                        }
                        break;
                    case Scalar s:
                    {
                        var node = ToScalar(s, problems);
                        Count(1, ev.Start);
                        Attach(node, ev.Start);
                        AddSize(node);
                        if (!s.Anchor.IsEmpty)
                        {
                            anchors[s.Anchor.Value] = node;
                        }
                        break;
                    }
                    case AnchorAlias a:
                    {
                        if (!anchors.TryGetValue(a.Value.Value, out var target))
                        {
                            Fail(ev.Start, $"unknown alias '*{Clip(a.Value.Value)}' (an alias must follow its complete anchor)");
                        }
                        Count(target!.Size, ev.Start);
                        Attach(target, ev.Start);
                        AddSize(target);
                        break;
                    }
                    case SequenceStart or MappingStart:
                    {
                        if (stack.Count >= MaxDepth)
                        {
                            Fail(ev.Start, $"the definition is nested more than {MaxDepth} levels deep");
                        }
                        var ns = (NodeEvent)ev;
                        CheckTag(ns.Tag, ev is SequenceStart ? "seq" : "map", ev.Start, problems);
                        SNode node = ev is SequenceStart
                            ? new SSeq { Line = (int)ev.Start.Line, Column = (int)ev.Start.Column }
                            : new SMap { Line = (int)ev.Start.Line, Column = (int)ev.Start.Column };
                        Count(1, ev.Start);
                        Attach(node, ev.Start);
                        stack.Push(new Frame(node, ns.Anchor.IsEmpty ? null : ns.Anchor.Value));
                        break;
                    }
                    case SequenceEnd or MappingEnd:
                    {
                        var frame = stack.Pop();
                        AddSize(frame.Node);
                        if (frame.Anchor is not null)
                        {
                            anchors[frame.Anchor] = frame.Node;
                        }
                        break;
                    }
                }
            }
        }
        catch (Stop)
        {
            return null;
        }
        catch (YamlException e)
        {
            problems.Add(new Problem("", "invalid YAML: " + e.Message, (int)e.Start.Line, (int)e.Start.Column));
            return null;
        }
        catch (Exception e)
        {
            problems.Add(new Problem("", "invalid YAML: " + e.Message));
            return null;
        }
        if (root is null)
        {
            problems.Add(new Problem("", "the definition is empty"));
        }
        return root;
    }

    private static void CheckTag(TagName tag, string expected, Mark at, List<Problem> problems)
    {
        if (tag.IsEmpty || tag.IsNonSpecific || tag.Value == "tag:yaml.org,2002:" + expected)
        {
            return;
        }
        problems.Add(new Problem("", $"unsupported tag '{Clip(tag.Value)}'", (int)at.Line, (int)at.Column));
    }

    private static SScalar ToScalar(Scalar s, List<Problem> problems)
    {
        var line = (int)s.Start.Line;
        var col = (int)s.Start.Column;
        var text = s.Value;
        string? tag = s.Tag.IsEmpty || s.Tag.IsNonSpecific ? null : s.Tag.Value;
        if (tag is null)
        {
            return s.Style == ScalarStyle.Plain ? Resolve(text, line, col) : Str(text, line, col);
        }
        const string prefix = "tag:yaml.org,2002:";
        var resolved = Resolve(text, line, col);
        switch (tag)
        {
            case prefix + "str":
                return Str(text, line, col);
            case prefix + "null" when resolved.Kind == ScalarKind.Null:
            case prefix + "bool" when resolved.Kind == ScalarKind.Boolean:
            case prefix + "int" when resolved.Kind == ScalarKind.Integer:
            case prefix + "float" when resolved.Kind is ScalarKind.Float:
                return resolved;
            case prefix + "float" when resolved.Kind is ScalarKind.Integer:
                return new SScalar { Text = text, Kind = ScalarKind.Float, Value = (double)(long)resolved.Value!, Line = line, Column = col };
            case prefix + "null" or prefix + "bool" or prefix + "int" or prefix + "float":
                problems.Add(new Problem("", $"'{Clip(text)}' is not a valid {tag[prefix.Length..]}", line, col));
                return Str(text, line, col);
            default:
                problems.Add(new Problem("", $"unsupported tag '{Clip(tag)}'", line, col));
                return Str(text, line, col);
        }
    }

    private static SScalar Str(string text, int line, int col) =>
        new() { Text = text, Kind = ScalarKind.String, Value = text, Line = line, Column = col };

    /// <summary>Resolves a plain scalar by the YAML 1.2 core schema.</summary>
    private static SScalar Resolve(string text, int line, int col)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return new SScalar { Text = text, Kind = ScalarKind.Null, Line = line, Column = col };
            case "true" or "True" or "TRUE":
                return new SScalar { Text = text, Kind = ScalarKind.Boolean, Value = true, Line = line, Column = col };
            case "false" or "False" or "FALSE":
                return new SScalar { Text = text, Kind = ScalarKind.Boolean, Value = false, Line = line, Column = col };
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return new SScalar { Text = text, Kind = ScalarKind.Float, Value = double.PositiveInfinity, Line = line, Column = col };
            case "-.inf" or "-.Inf" or "-.INF":
                return new SScalar { Text = text, Kind = ScalarKind.Float, Value = double.NegativeInfinity, Line = line, Column = col };
            case ".nan" or ".NaN" or ".NAN":
                return new SScalar { Text = text, Kind = ScalarKind.Float, Value = double.NaN, Line = line, Column = col };
        }
        if (IntPattern().IsMatch(text))
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                ? new SScalar { Text = text, Kind = ScalarKind.Integer, Value = l, Line = line, Column = col }
                : new SScalar { Text = text, Kind = ScalarKind.Float, Value = double.Parse(text, CultureInfo.InvariantCulture), Line = line, Column = col };
        }
        if (text.Length > 2 && text[0] == '0' && text[1] is 'x' or 'o')
        {
            try
            {
                var v = text[1] == 'x'
                    ? (HexPattern().IsMatch(text) ? Convert.ToInt64(text[2..], 16) : (long?)null)
                    : (OctPattern().IsMatch(text) ? Convert.ToInt64(text[2..], 8) : null);
                if (v is { } n)
                {
                    return new SScalar { Text = text, Kind = ScalarKind.Integer, Value = n, Line = line, Column = col };
                }
            }
            catch (OverflowException)
            {
                // Too large for a 64-bit integer: taken as a string.
            }
        }
        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return new SScalar { Text = text, Kind = ScalarKind.Float, Value = d, Line = line, Column = col };
        }
        return Str(text, line, col);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^0x[0-9a-fA-F]+$")]
    private static partial Regex HexPattern();

    [GeneratedRegex(@"^0o[0-7]+$")]
    private static partial Regex OctPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    /// <summary>Strict JSON (no comments, no trailing commas) with positions, read token by token.</summary>
    private static SNode? ReadJson(string source, List<Problem> problems)
    {
        var bytes = Encoding.UTF8.GetBytes(source);
        // Tokens come in order, so the position advances incrementally: one pass over the bytes in all.
        var at = 0;
        var atLine = 1;
        var atColumn = 1;
        (int Line, int Column) Position(long offset)
        {
            for (; at < offset && at < bytes.Length; at++)
            {
                if (bytes[at] == (byte)'\n')
                {
                    atLine++;
                    atColumn = 1;
                }
                else if ((bytes[at] & 0xC0) != 0x80)
                {
                    atColumn++;
                }
            }
            return (atLine, atColumn);
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = MaxDepth + 2 });
        var stack = new Stack<SNode>();
        var keys = new Stack<SScalar?>();
        SNode? root = null;
        long total = 0;
        try
        {
            while (reader.Read())
            {
                var (line, col) = Position(reader.TokenStartIndex);
                SNode? node = null;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (stack.Count >= MaxDepth)
                        {
                            problems.Add(new Problem("", $"the definition is nested more than {MaxDepth} levels deep", line, col));
                            return null;
                        }
                        node = reader.TokenType == JsonTokenType.StartObject
                            ? new SMap { Line = line, Column = col }
                            : new SSeq { Line = line, Column = col };
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    {
                        var done = stack.Pop();
                        keys.Pop();
                        if (stack.Count > 0)
                        {
                            stack.Peek().Size += done.Size;
                        }
                        continue;
                    }
                    case JsonTokenType.PropertyName:
                        keys.Pop();
                        keys.Push(Str(reader.GetString()!, line, col));
                        continue;
                    case JsonTokenType.String:
                        node = Str(reader.GetString()!, line, col);
                        break;
                    case JsonTokenType.Number:
                    {
                        var text = Encoding.UTF8.GetString(reader.ValueSpan);
                        node = reader.TryGetInt64(out var l)
                            ? new SScalar { Text = text, Kind = ScalarKind.Integer, Value = l, Line = line, Column = col }
                            : new SScalar
                            {
                                Text = text, Kind = ScalarKind.Float, Line = line, Column = col,
                                Value = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.PositiveInfinity,
                            };
                        break;
                    }
                    case JsonTokenType.True or JsonTokenType.False:
                        node = new SScalar
                        {
                            Text = reader.TokenType == JsonTokenType.True ? "true" : "false", Kind = ScalarKind.Boolean,
                            Value = reader.TokenType == JsonTokenType.True, Line = line, Column = col,
                        };
                        break;
                    case JsonTokenType.Null:
                        node = new SScalar { Text = "null", Kind = ScalarKind.Null, Line = line, Column = col };
                        break;
                    default:
                        continue;
                }
                if (++total > MaxNodes)
                {
                    problems.Add(new Problem("", $"the definition holds more than {MaxNodes} values", line, col));
                    return null;
                }
                if (stack.Count == 0)
                {
                    root = node;
                }
                else if (stack.Peek() is SSeq seq)
                {
                    seq.Items.Add(node);
                    seq.Size += node.Size;
                }
                else
                {
                    var map = (SMap)stack.Peek();
                    map.Entries.Add(new(keys.Peek()!, node));
                    map.Size += node.Size;
                }
                if (node is SMap or SSeq)
                {
                    stack.Push(node);
                    keys.Push(null);
                }
            }
        }
        catch (JsonException e)
        {
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut].TrimEnd();
            }
            problems.Add(new Problem("", "invalid JSON: " + message,
                e.LineNumber is { } l ? (int)l + 1 : null, e.BytePositionInLine is { } b ? (int)b + 1 : null));
            return null;
        }
        if (root is null)
        {
            problems.Add(new Problem("", "the definition is empty"));
        }
        return root;
    }

    internal static string Clip(string s) => s.Length > 60 ? s[..60] + "..." : s;
}
