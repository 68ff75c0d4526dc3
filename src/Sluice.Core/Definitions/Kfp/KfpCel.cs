using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Sluice.Core.Definitions.Kfp;

/// <summary>The subset of CEL that compiled KFP pipelines use in <c>triggerPolicy.condition</c>, turned into a core
/// <see cref="Expr"/>: <c>inputs.parameter_values['x']</c> (and the 2.0.0 form <c>inputs.parameters['x'].string_value</c>),
/// string, number and boolean literals, <c>== != &lt; &lt;= &gt; &gt;=</c>, <c>&amp;&amp; || !</c>, parentheses, and the
/// conversions <c>int() double() string() bool()</c>.</summary>
internal sealed class KfpCel
{
    private readonly string text;
    private readonly Func<string, Expr?> input;
    private readonly List<Token> tokens = [];
    private int next;
    private int depth;

    private KfpCel(string text, Func<string, Expr?> input)
    {
        this.text = text;
        this.input = input;
    }

    private enum Kind
    {
        Ident,
        String,
        Number,
        Symbol,
        End,
    }

    private readonly record struct Token(Kind Kind, string Text, int Position, JsonValue? Value = null);

    private sealed class CelError(string message) : Exception(message);

    /// <summary>The expression, or null with a problem. <paramref name="input"/> gives the expression for a task input by name
    /// (null when the task has no such input).</summary>
    public static Expr? Compile(string text, Func<string, Expr?> input, List<string> problems)
    {
        try
        {
            var p = new KfpCel(text, input);
            p.Tokenize();
            var e = p.ParseOr();
            if (p.Peek().Kind != Kind.End)
            {
                throw new CelError($"unexpected '{p.Peek().Text}' at character {p.Peek().Position + 1}");
            }
            return e;
        }
        catch (CelError e)
        {
            problems.Add(e.Message);
            return null;
        }
    }

    private Token Peek() => tokens[next];

    private Token Take() => tokens[next++];

    private bool TakeSymbol(string s)
    {
        if (Peek() is { Kind: Kind.Symbol } t && t.Text == s)
        {
            next++;
            return true;
        }
        return false;
    }

    private void Expect(string s)
    {
        if (!TakeSymbol(s))
        {
            throw new CelError($"expected '{s}' at character {Peek().Position + 1}");
        }
    }

    private Expr ParseOr()
    {
        var first = ParseAnd();
        List<Expr>? all = null;
        while (TakeSymbol("||"))
        {
            (all ??= [first]).Add(ParseAnd());
        }
        return all is null ? first : new OrExpr(all);
    }

    private Expr ParseAnd()
    {
        var first = ParseUnary();
        List<Expr>? all = null;
        while (TakeSymbol("&&"))
        {
            (all ??= [first]).Add(ParseUnary());
        }
        return all is null ? first : new AndExpr(all);
    }

    private Expr ParseUnary()
    {
        if (TakeSymbol("!"))
        {
            Enter();
            var e = new NotExpr(ParseUnary());
            depth--;
            return e;
        }
        var left = ParsePrimary();
        var t = Peek();
        ComparisonOp? op = t is { Kind: Kind.Symbol } ? t.Text switch
        {
            "==" => ComparisonOp.Equal,
            "!=" => ComparisonOp.NotEqual,
            "<" => ComparisonOp.Less,
            "<=" => ComparisonOp.LessOrEqual,
            ">" => ComparisonOp.Greater,
            ">=" => ComparisonOp.GreaterOrEqual,
            _ => null,
        } : null;
        if (op is null)
        {
            return left;
        }
        next++;
        return new ComparisonExpr(op.Value, left, ParsePrimary());
    }

    private void Enter()
    {
        if (++depth > Expr.MaxDepth)
        {
            throw new CelError($"the condition is nested more than {Expr.MaxDepth} levels deep");
        }
    }

    private Expr ParsePrimary()
    {
        var t = Take();
        switch (t.Kind)
        {
            case Kind.String:
            case Kind.Number:
                return new LiteralExpr(t.Value!);
            case Kind.Symbol when t.Text == "(":
            {
                Enter();
                var e = ParseOr();
                Expect(")");
                depth--;
                return e;
            }
            case Kind.Ident when t.Text is "true" or "false":
                return new LiteralExpr(JsonValue.Create(t.Text == "true"));
            case Kind.Ident when t.Text is "int" or "double" or "string" or "bool":
            {
                Expect("(");
                Enter();
                var operand = ParseOr();
                Expect(")");
                depth--;
                return new ConvertExpr(t.Text switch
                {
                    "int" => ConvertTo.Integer,
                    "double" => ConvertTo.Float,
                    "string" => ConvertTo.String,
                    _ => ConvertTo.Boolean,
                }, operand);
            }
            case Kind.Ident when t.Text == "inputs":
            {
                Expect(".");
                var field = Take();
                if (field is not { Kind: Kind.Ident, Text: "parameter_values" or "parameters" })
                {
                    throw new CelError($"expected inputs.parameter_values[...] at character {t.Position + 1}");
                }
                Expect("[");
                var name = Take();
                if (name.Kind != Kind.String)
                {
                    throw new CelError($"expected a quoted input name at character {name.Position + 1}");
                }
                Expect("]");
                var key = name.Value!.GetValue<string>();
                var e = input(key) ?? throw new CelError($"the condition reads input '{key}', which the task does not have");
                if (field.Text == "parameters")
                {
                    // KFP 1.8 (schema 2.0.0): inputs.parameters['x'].string_value / int_value / double_value.
                    Expect(".");
                    var kind = Take();
                    return kind.Text switch
                    {
                        "string_value" => new ConvertExpr(ConvertTo.String, e),
                        "int_value" => new ConvertExpr(ConvertTo.Integer, e),
                        "double_value" => new ConvertExpr(ConvertTo.Float, e),
                        _ => throw new CelError($"expected string_value, int_value or double_value at character {kind.Position + 1}"),
                    };
                }
                return e;
            }
            case Kind.End:
                throw new CelError("the condition ends too early");
            default:
                throw new CelError($"'{t.Text}' at character {t.Position + 1} is not supported in a KFP condition");
        }
    }

    private void Tokenize()
    {
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            var start = i;
            if (char.IsAsciiLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }
                tokens.Add(new Token(Kind.Ident, text[start..i], start));
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] is '.' or 'e' or 'E'))
                {
                    i++;
                }
                var s = text[start..i];
                JsonValue value = long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? JsonValue.Create(l)
                    : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d)
                    : throw new CelError($"malformed number at character {start + 1}");
                tokens.Add(new Token(Kind.Number, s, start, value));
                continue;
            }
            if (c is '\'' or '"')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new CelError($"the string at character {start + 1} is not closed");
                    }
                    var ch = text[i++];
                    if (ch == c)
                    {
                        break;
                    }
                    if (ch == '\\' && i < text.Length)
                    {
                        var e = text[i++];
                        sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => e });
                        continue;
                    }
                    sb.Append(ch);
                }
                tokens.Add(new Token(Kind.String, sb.ToString(), start, JsonValue.Create(sb.ToString())));
                continue;
            }
            var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
            if (two is "==" or "!=" or "<=" or ">=" or "&&" or "||")
            {
                tokens.Add(new Token(Kind.Symbol, two, start));
                i += 2;
                continue;
            }
            if (c is '<' or '>' or '!' or '(' or ')' or '[' or ']' or '.')
            {
                tokens.Add(new Token(Kind.Symbol, c.ToString(), start));
                i++;
                continue;
            }
            throw new CelError($"unexpected character '{c}' at character {start + 1}");
        }
        tokens.Add(new Token(Kind.End, "end of the condition", text.Length));
    }
}

/// <summary>A KFP <c>parameterExpressionSelector</c>: <c>parseJson(string_value)["key"]...</c>, <c>string_value</c>, or a
/// <c>struct_value</c> / <c>list_value</c> with indexes, applied to an input's value when the task starts.</summary>
internal sealed record KfpSelector(bool ParseJson, IReadOnlyList<JsonNode> Path, string Source)
{
    public static KfpSelector? Parse(string text, List<string> problems)
    {
        var s = text.Trim();
        bool parse;
        if (s.StartsWith("parseJson(string_value)", StringComparison.Ordinal))
        {
            parse = true;
            s = s["parseJson(string_value)".Length..];
        }
        else if (s.StartsWith("string_value", StringComparison.Ordinal) || s.StartsWith("struct_value", StringComparison.Ordinal)
            || s.StartsWith("list_value", StringComparison.Ordinal))
        {
            parse = false;
            s = s[(s.IndexOf('_', StringComparison.Ordinal) + "_value".Length)..];
        }
        else
        {
            problems.Add($"the parameter selector '{text}' is not supported (use parseJson(string_value)[\"key\"])");
            return null;
        }
        var path = new List<JsonNode>();
        while (s.Length > 0)
        {
            var close = s.IndexOf(']', StringComparison.Ordinal);
            if (s[0] != '[' || close < 0)
            {
                problems.Add($"the parameter selector '{text}' is not supported");
                return null;
            }
            var inner = s[1..close].Trim();
            if (inner.Length >= 2 && inner[0] is '"' or '\'' && inner[^1] == inner[0])
            {
                path.Add(JsonValue.Create(inner[1..^1]));
            }
            else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                path.Add(JsonValue.Create(index));
            }
            else
            {
                problems.Add($"the parameter selector '{text}' has an index that is neither a quoted key nor a number");
                return null;
            }
            s = s[(close + 1)..].TrimStart();
        }
        return new KfpSelector(parse, path, text);
    }

    /// <summary>Applies the selector; throws <see cref="Api.SluiceException"/> when the value does not have what it selects.</summary>
    public JsonNode? Apply(JsonNode? value)
    {
        var v = value;
        if (ParseJson && v is JsonValue sv && sv.TryGetValue<string>(out var str))
        {
            try
            {
                v = JsonNode.Parse(str);
            }
            catch (System.Text.Json.JsonException)
            {
                throw Api.SluiceException.Invalid($"selector {Source}: the value is not JSON: {Api.Validation.Show(str)}");
            }
        }
        foreach (var step in Path)
        {
            v = (step, v) switch
            {
                (JsonValue k, JsonObject o) when k.TryGetValue<string>(out var key) =>
                    o.TryGetPropertyValue(key, out var x) ? x : throw Api.SluiceException.Invalid($"selector {Source}: no key '{key}'"),
                (JsonValue k, JsonArray a) when k.TryGetValue<int>(out var idx) =>
                    idx < a.Count ? a[idx] : throw Api.SluiceException.Invalid($"selector {Source}: no item {idx}"),
                _ => throw Api.SluiceException.Invalid($"selector {Source}: cannot index {(v is null ? "null" : v.GetValueKind().ToString())}"),
            };
        }
        return v?.DeepClone();
    }
}
