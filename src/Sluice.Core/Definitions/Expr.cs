using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions;

/// <summary>A parsed condition expression over parameters and step outputs.</summary>
/// <remarks>Grammar: or-expr := and-expr ('or' and-expr)*; and-expr := not-expr ('and' not-expr)*;
/// not-expr := 'not' not-expr | cmp; cmp := operand (('=='|'!='|'&lt;'|'&lt;='|'&gt;'|'&gt;='|'in') operand)?;
/// operand := reference | number | 'string' | "string" | true | false | '[' operand, ... ']' | '(' or-expr ')'.</remarks>
public abstract partial class Expr
{
    /// <summary>The deepest nesting of parentheses, lists and 'not' that <see cref="Parse"/> accepts.</summary>
    public const int MaxDepth = 64;

    /// <summary>Every reference in the expression (for implicit dependencies and validation).</summary>
    public abstract IReadOnlyList<Reference> References { get; }

    /// <summary>Evaluates to a value (a comparison or logic node gives a boolean).</summary>
    public abstract JsonNode? Evaluate(IValueResolver resolver);

    /// <summary>Parses an expression. Never throws: a syntax error goes to <paramref name="problems"/> (with its
    /// 1-based character position) and the result is then the literal <c>false</c>.</summary>
    public static Expr Parse(string text, List<string> problems) => new ExprParser(text ?? "", problems).ParseAll();

    /// <summary>Evaluates as a condition: the value must be a Boolean, else <see cref="SluiceException"/> (InvalidArgument).</summary>
    public bool EvaluateBool(IValueResolver resolver) => ExprValues.AsBool(Evaluate(resolver), this, "the condition");

    /// <summary>Checks operand types before any run, as far as <paramref name="typeOf"/> knows them (null: unknown);
    /// reports comparisons that would always fail and a result that is not a Boolean.</summary>
    public void CheckTypes(Func<Reference, ParamType?> typeOf, List<string> problems)
    {
        var t = ExprTypes.Infer(this, typeOf, problems);
        if (t.Type is not (StaticType.Boolean or StaticType.Unknown))
        {
            problems.Add($"a condition must be a Boolean expression, but {this} is {ExprTypes.Name(t.Type)}");
        }
    }

    /// <summary>Wraps an operand in parentheses when printing it inside a comparison or 'not'.</summary>
    internal static string Wrap(Expr e) => e is AndExpr or OrExpr or ComparisonExpr or NotExpr ? $"({e})" : e.ToString()!;
}

/// <summary>A string, number or boolean constant.</summary>
public sealed class LiteralExpr : Expr
{
    public LiteralExpr(JsonValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
    }

    public JsonValue Value { get; }

    public override IReadOnlyList<Reference> References => [];

    public override JsonNode? Evaluate(IValueResolver resolver) => Value.DeepClone();

    public override string ToString()
    {
        switch (Value.GetValueKind())
        {
            case JsonValueKind.String:
                return ExprValues.Quote(Value.GetValue<string>());
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            default:
                if (ExprValues.TryLong(Value, out var l))
                {
                    return l.ToString(CultureInfo.InvariantCulture);
                }
                var d = ExprValues.ToDouble(Value);
                var s = d.ToString("R", CultureInfo.InvariantCulture);
                return s.Contains('.', StringComparison.Ordinal) || s.Contains('E', StringComparison.Ordinal) || !double.IsFinite(d) ? s : s + ".0";
        }
    }
}

/// <summary>A reference to a parameter, a step output or a run field.</summary>
public sealed class ReferenceExpr(Reference reference) : Expr
{
    public Reference Reference { get; } = reference ?? throw new ArgumentNullException(nameof(reference));

    public override IReadOnlyList<Reference> References => [Reference];

    public override JsonNode? Evaluate(IValueResolver resolver) => resolver.Resolve(Reference);

    public override string ToString() => Reference.ToString();
}

/// <summary>A value computed by a template (text joined from parts, or one typed value); see <see cref="Template.RenderValue"/>.</summary>
public sealed class TemplateExpr(Template template) : Expr
{
    public Template Template { get; } = template ?? throw new ArgumentNullException(nameof(template));

    public override IReadOnlyList<Reference> References => Template.References;

    public override JsonNode? Evaluate(IValueResolver resolver) => Template.RenderValue(resolver);

    public override string ToString() => ExprValues.Quote(Template.Source);
}

/// <summary>A list of operands; only the right side of <c>in</c>.</summary>
public sealed class ListExpr : Expr
{
    private readonly Reference[] references;

    public ListExpr(IReadOnlyList<Expr> items)
    {
        Items = items;
        references = [.. items.SelectMany(i => i.References)];
    }

    public IReadOnlyList<Expr> Items { get; }

    public override IReadOnlyList<Reference> References => references;

    public override JsonNode? Evaluate(IValueResolver resolver)
    {
        var a = new JsonArray();
        foreach (var i in Items)
        {
            var v = i.Evaluate(resolver);
            a.Add(v?.Parent is null ? v : v.DeepClone());
        }
        return a;
    }

    public override string ToString() => "[" + string.Join(", ", Items.Select(i => i.ToString())) + "]";
}

/// <summary>The operator of a <see cref="ComparisonExpr"/>.</summary>
public enum ComparisonOp
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    In,
}

/// <summary><c>left OP right</c>: numbers numerically, strings ordinally, booleans only with == and !=.</summary>
public sealed class ComparisonExpr : Expr
{
    private readonly Reference[] references;

    public ComparisonExpr(ComparisonOp op, Expr left, Expr right)
    {
        Op = op;
        Left = left;
        Right = right;
        references = [.. left.References, .. right.References];
    }

    public ComparisonOp Op { get; }

    public Expr Left { get; }

    public Expr Right { get; }

    public override IReadOnlyList<Reference> References => references;

    public static string Symbol(ComparisonOp op) => op switch
    {
        ComparisonOp.Equal => "==",
        ComparisonOp.NotEqual => "!=",
        ComparisonOp.Less => "<",
        ComparisonOp.LessOrEqual => "<=",
        ComparisonOp.Greater => ">",
        ComparisonOp.GreaterOrEqual => ">=",
        _ => "in",
    };

    public override JsonNode? Evaluate(IValueResolver resolver)
    {
        var l = Left.Evaluate(resolver);
        if (Op == ComparisonOp.In)
        {
            if (Right is ListExpr list)
            {
                foreach (var item in list.Items)
                {
                    if (ExprValues.Compare(l, Left, item.Evaluate(resolver), item, ComparisonOp.Equal) == 0)
                    {
                        return JsonValue.Create(true);
                    }
                }
                return JsonValue.Create(false);
            }
            var r = Right.Evaluate(resolver);
            if (r is not JsonArray array)
            {
                throw new SluiceException(ErrorKind.InvalidArgument, $"'in' needs a list on its right, but {Right} is {ExprValues.Describe(r)}");
            }
            foreach (var item in array)
            {
                if (ExprValues.Compare(l, Left, item, Right, ComparisonOp.Equal) == 0)
                {
                    return JsonValue.Create(true);
                }
            }
            return JsonValue.Create(false);
        }
        var c = ExprValues.Compare(l, Left, Right.Evaluate(resolver), Right, Op);
        return JsonValue.Create(Op switch
        {
            ComparisonOp.Equal => c == 0,
            ComparisonOp.NotEqual => c != 0,
            ComparisonOp.Less => c < 0,
            ComparisonOp.LessOrEqual => c <= 0,
            ComparisonOp.Greater => c > 0,
            _ => c >= 0,
        });
    }

    public override string ToString() => $"{Wrap(Left)} {Symbol(Op)} {Wrap(Right)}";
}

/// <summary>True when every operand is true; stops at the first false one.</summary>
public sealed class AndExpr : Expr
{
    private readonly Reference[] references;

    public AndExpr(IReadOnlyList<Expr> operands)
    {
        Operands = operands;
        references = [.. operands.SelectMany(o => o.References)];
    }

    public IReadOnlyList<Expr> Operands { get; }

    public override IReadOnlyList<Reference> References => references;

    public override JsonNode? Evaluate(IValueResolver resolver)
    {
        foreach (var o in Operands)
        {
            if (!ExprValues.AsBool(o.Evaluate(resolver), o, "an operand of 'and'"))
            {
                return JsonValue.Create(false);
            }
        }
        return JsonValue.Create(true);
    }

    public override string ToString() => string.Join(" and ", Operands.Select(o => o is OrExpr or AndExpr ? $"({o})" : o.ToString()));
}

/// <summary>True when any operand is true; stops at the first true one.</summary>
public sealed class OrExpr : Expr
{
    private readonly Reference[] references;

    public OrExpr(IReadOnlyList<Expr> operands)
    {
        Operands = operands;
        references = [.. operands.SelectMany(o => o.References)];
    }

    public IReadOnlyList<Expr> Operands { get; }

    public override IReadOnlyList<Reference> References => references;

    public override JsonNode? Evaluate(IValueResolver resolver)
    {
        foreach (var o in Operands)
        {
            if (ExprValues.AsBool(o.Evaluate(resolver), o, "an operand of 'or'"))
            {
                return JsonValue.Create(true);
            }
        }
        return JsonValue.Create(false);
    }

    public override string ToString() => string.Join(" or ", Operands.Select(o => o is OrExpr ? $"({o})" : o.ToString()));
}

/// <summary>The negation of a Boolean operand.</summary>
public sealed class NotExpr(Expr operand) : Expr
{
    public Expr Operand { get; } = operand ?? throw new ArgumentNullException(nameof(operand));

    public override IReadOnlyList<Reference> References => Operand.References;

    public override JsonNode? Evaluate(IValueResolver resolver) =>
        JsonValue.Create(!ExprValues.AsBool(Operand.Evaluate(resolver), Operand, "the operand of 'not'"));

    public override string ToString() => "not " + (Operand is AndExpr or OrExpr ? $"({Operand})" : Operand.ToString());
}

/// <summary>Run-time value handling shared by the expression nodes.</summary>
internal static class ExprValues
{
    private const int MaxShown = 60;

    public static bool AsBool(JsonNode? value, Expr source, string role)
    {
        if (value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetValueKind() == JsonValueKind.True;
        }
        throw new SluiceException(ErrorKind.InvalidArgument, $"{role} must be a Boolean, but {Clip(source.ToString())} is {Describe(value)}");
    }

    /// <summary>Orders two values of the same type; throws when the types cannot be compared with <paramref name="op"/>.</summary>
    public static int Compare(JsonNode? left, Expr leftExpr, JsonNode? right, Expr rightExpr, ComparisonOp op)
    {
        var lk = Kind(left);
        var rk = Kind(right);
        if (lk == JsonValueKind.Number && rk == JsonValueKind.Number)
        {
            var a = (JsonValue)left!;
            var b = (JsonValue)right!;
            return TryLong(a, out var la) && TryLong(b, out var lb) ? la.CompareTo(lb) : ToDouble(a).CompareTo(ToDouble(b));
        }
        if (lk == JsonValueKind.String && rk == JsonValueKind.String)
        {
            return string.CompareOrdinal(Text((JsonValue)left!), Text((JsonValue)right!));
        }
        if (lk is (JsonValueKind.True or JsonValueKind.False) && rk is (JsonValueKind.True or JsonValueKind.False))
        {
            if (op is ComparisonOp.Equal or ComparisonOp.NotEqual)
            {
                return lk == rk ? 0 : 1;
            }
            throw new SluiceException(ErrorKind.InvalidArgument,
                $"Booleans can only be compared with == and !=, not '{ComparisonExpr.Symbol(op)}' ({Clip(leftExpr.ToString())} {ComparisonExpr.Symbol(op)} {Clip(rightExpr.ToString())})");
        }
        throw new SluiceException(ErrorKind.InvalidArgument,
            $"cannot compare {Clip(leftExpr.ToString())} ({Describe(left)}) with {Clip(rightExpr.ToString())} ({Describe(right)}) using '{ComparisonExpr.Symbol(op == ComparisonOp.In ? ComparisonOp.Equal : op)}'");
    }

    public static JsonValueKind Kind(JsonNode? v) => v switch
    {
        null => JsonValueKind.Null,
        JsonValue jv => jv.GetValueKind(),
        JsonArray => JsonValueKind.Array,
        _ => JsonValueKind.Object,
    };

    public static string Describe(JsonNode? v)
    {
        var kind = Kind(v);
        return kind switch
        {
            JsonValueKind.Null => "null",
            JsonValueKind.String => "the string " + Clip(Quote(Text((JsonValue)v!))),
            JsonValueKind.Number => "the number " + Clip(v!.ToJsonString()),
            JsonValueKind.True => "the Boolean true",
            JsonValueKind.False => "the Boolean false",
            JsonValueKind.Array => "a list",
            _ => "an object",
        };
    }

    public static bool TryLong(JsonValue v, out long l)
    {
        if (v.TryGetValue(out l))
        {
            return true;
        }
        if (v.TryGetValue(out int i))
        {
            l = i;
            return true;
        }
        if (v.TryGetValue(out double _) || v.TryGetValue(out float _) || v.TryGetValue(out decimal _))
        {
            return false;
        }
        return long.TryParse(v.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l);
    }

    public static double ToDouble(JsonValue v)
    {
        if (v.TryGetValue(out double d))
        {
            return d;
        }
        if (TryLong(v, out var l))
        {
            return l;
        }
        if (v.TryGetValue(out float f))
        {
            return f;
        }
        if (v.TryGetValue(out decimal m))
        {
            return (double)m;
        }
        return double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) ? d : double.NaN;
    }

    public static string Text(JsonValue v)
    {
        if (v.TryGetValue(out string? s))
        {
            return s;
        }
        using var doc = JsonDocument.Parse(v.ToJsonString());
        return doc.RootElement.GetString() ?? "";
    }

    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('\'');
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '\'' => "\\'",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }
        return sb.Append('\'').ToString();
    }

    public static string Clip(string? s) => s is null ? "" : s.Length > MaxShown ? s[..MaxShown] + "..." : s;
}

/// <summary>The type of an expression as far as it is known before a run.</summary>
internal enum StaticType
{
    Unknown,
    String,
    Number,
    Boolean,
    List,
}

/// <summary>Static type checks: a comparison whose types are known to differ always fails at run time.</summary>
internal static class ExprTypes
{
    public static string Name(StaticType t) => t switch
    {
        StaticType.String => "a String",
        StaticType.Number => "a number",
        StaticType.Boolean => "a Boolean",
        StaticType.List => "a list",
        _ => "of unknown type",
    };

    public static (StaticType Type, StaticType Element) Infer(Expr e, Func<Reference, ParamType?> typeOf, List<string> problems)
    {
        switch (e)
        {
            case LiteralExpr l:
                return (l.Value.GetValueKind() switch
                {
                    JsonValueKind.String => StaticType.String,
                    JsonValueKind.Number => StaticType.Number,
                    JsonValueKind.True or JsonValueKind.False => StaticType.Boolean,
                    _ => StaticType.Unknown,
                }, StaticType.Unknown);
            case ReferenceExpr r:
                return (typeOf(r.Reference) switch
                {
                    ParamType.String => StaticType.String,
                    ParamType.Integer or ParamType.Float => StaticType.Number,
                    ParamType.Boolean => StaticType.Boolean,
                    _ => StaticType.Unknown,
                }, StaticType.Unknown);
            case ListExpr list:
            {
                var element = StaticType.Unknown;
                foreach (var item in list.Items)
                {
                    var t = Infer(item, typeOf, problems).Type;
                    if (t == StaticType.Unknown)
                    {
                        continue;
                    }
                    if (element != StaticType.Unknown && t != element)
                    {
                        problems.Add($"the list {ExprValues.Clip(list.ToString())} mixes {Name(element)} and {Name(t)}");
                        break;
                    }
                    element = t;
                }
                return (StaticType.List, element);
            }
            case ComparisonExpr c:
            {
                var (lt, _) = Infer(c.Left, typeOf, problems);
                var (rt, re) = Infer(c.Right, typeOf, problems);
                if (c.Op == ComparisonOp.In)
                {
                    if (rt is not (StaticType.List or StaticType.Unknown))
                    {
                        problems.Add($"'in' needs a list on its right, but {ExprValues.Clip(c.Right.ToString())} is {Name(rt)}");
                    }
                    else if (lt != StaticType.Unknown && re != StaticType.Unknown && lt != re)
                    {
                        problems.Add($"{ExprValues.Clip(c.Left.ToString())} is {Name(lt)} and can never be in a list of {Name(re)} values");
                    }
                }
                else if (lt != StaticType.Unknown && rt != StaticType.Unknown)
                {
                    var sym = ComparisonExpr.Symbol(c.Op);
                    if (lt != rt || lt == StaticType.List)
                    {
                        problems.Add($"cannot compare {ExprValues.Clip(c.Left.ToString())} ({Name(lt)}) with {ExprValues.Clip(c.Right.ToString())} ({Name(rt)}) using '{sym}'");
                    }
                    else if (lt == StaticType.Boolean && c.Op is not (ComparisonOp.Equal or ComparisonOp.NotEqual))
                    {
                        problems.Add($"Booleans can only be compared with == and !=, not '{sym}'");
                    }
                }
                return (StaticType.Boolean, StaticType.Unknown);
            }
            case AndExpr a:
                foreach (var o in a.Operands)
                {
                    RequireBool(o, "and", typeOf, problems);
                }
                return (StaticType.Boolean, StaticType.Unknown);
            case OrExpr o:
                foreach (var x in o.Operands)
                {
                    RequireBool(x, "or", typeOf, problems);
                }
                return (StaticType.Boolean, StaticType.Unknown);
            case NotExpr n:
                RequireBool(n.Operand, "not", typeOf, problems);
                return (StaticType.Boolean, StaticType.Unknown);
            default:
                return (StaticType.Unknown, StaticType.Unknown);
        }
    }

    private static void RequireBool(Expr e, string op, Func<Reference, ParamType?> typeOf, List<string> problems)
    {
        var t = Infer(e, typeOf, problems).Type;
        if (t is not (StaticType.Boolean or StaticType.Unknown))
        {
            problems.Add($"'{op}' needs Boolean operands, but {ExprValues.Clip(e.ToString())} is {Name(t)}");
        }
    }
}

/// <summary>Recursive descent over a token list; depth-limited so that hostile input cannot exhaust the stack.</summary>
internal sealed class ExprParser(string text, List<string> problems)
{
    private readonly List<Token> tokens = [];
    private int next;
    private int depth;

    private enum TokenKind
    {
        Number,
        String,
        Word,
        Symbol,
        End,
    }

    private readonly record struct Token(TokenKind Kind, string Text, int Position, JsonValue? Value = null);

    private sealed class SyntaxError(string message) : Exception(message);

    public Expr ParseAll()
    {
        try
        {
            Tokenize();
            if (tokens.Count == 1)
            {
                throw new SyntaxError("the expression is empty");
            }
            var e = ParseOr();
            var t = Peek();
            if (t.Kind != TokenKind.End)
            {
                throw (t.Kind == TokenKind.Symbol && IsComparison(t.Text)) || t is { Kind: TokenKind.Word, Text: "in" }
                    ? new SyntaxError($"comparisons cannot be chained: combine them with 'and' (at character {t.Position + 1})")
                    : new SyntaxError($"unexpected {Show(t)} at character {t.Position + 1}");
            }
            return e;
        }
        catch (SyntaxError e)
        {
            problems.Add(e.Message);
            return new LiteralExpr(JsonValue.Create(false));
        }
    }

    private Token Peek() => tokens[next];

    private Token Take() => tokens[next++];

    private static bool IsComparison(string s) => s is "==" or "!=" or "<" or "<=" or ">" or ">=";

    private static string Show(Token t) => t.Kind switch
    {
        TokenKind.End => "end of expression",
        TokenKind.String => "string " + ExprValues.Clip(t.Text),
        _ => "'" + ExprValues.Clip(t.Text) + "'",
    };

    private void Enter(Token at)
    {
        if (++depth > Expr.MaxDepth)
        {
            throw new SyntaxError($"the expression is nested more than {Expr.MaxDepth} levels deep (at character {at.Position + 1})");
        }
    }

    private Expr ParseOr()
    {
        var first = ParseAnd();
        List<Expr>? all = null;
        while (Peek() is { Kind: TokenKind.Word, Text: "or" })
        {
            Take();
            (all ??= [first]).Add(ParseAnd());
        }
        return all is null ? first : new OrExpr(all);
    }

    private Expr ParseAnd()
    {
        var first = ParseNot();
        List<Expr>? all = null;
        while (Peek() is { Kind: TokenKind.Word, Text: "and" })
        {
            Take();
            (all ??= [first]).Add(ParseNot());
        }
        return all is null ? first : new AndExpr(all);
    }

    private Expr ParseNot()
    {
        if (Peek() is { Kind: TokenKind.Word, Text: "not" } t)
        {
            Take();
            Enter(t);
            var operand = ParseNot();
            depth--;
            return new NotExpr(operand);
        }
        return ParseComparison();
    }

    private Expr ParseComparison()
    {
        var left = ParseOperand();
        var t = Peek();
        ComparisonOp op;
        if (t.Kind == TokenKind.Symbol && IsComparison(t.Text))
        {
            op = t.Text switch
            {
                "==" => ComparisonOp.Equal,
                "!=" => ComparisonOp.NotEqual,
                "<" => ComparisonOp.Less,
                "<=" => ComparisonOp.LessOrEqual,
                ">" => ComparisonOp.Greater,
                _ => ComparisonOp.GreaterOrEqual,
            };
        }
        else if (t is { Kind: TokenKind.Word, Text: "in" })
        {
            op = ComparisonOp.In;
        }
        else
        {
            if (left is ListExpr)
            {
                throw new SyntaxError($"a list can only follow 'in' (the list ends before character {t.Position + 1})");
            }
            return left;
        }
        Take();
        var rightToken = Peek();
        var right = ParseOperand();
        if (op == ComparisonOp.In && right is not ListExpr)
        {
            throw new SyntaxError($"'in' must be followed by a list such as ['a', 'b'] (at character {rightToken.Position + 1})");
        }
        if (left is ListExpr || (op != ComparisonOp.In && right is ListExpr))
        {
            throw new SyntaxError($"a list can only follow 'in' (at character {(left is ListExpr ? t.Position : rightToken.Position) + 1})");
        }
        return new ComparisonExpr(op, left, right);
    }

    private Expr ParseOperand()
    {
        var t = Take();
        switch (t.Kind)
        {
            case TokenKind.Number:
            case TokenKind.String:
                return new LiteralExpr(t.Value!);
            case TokenKind.Word:
                switch (t.Text)
                {
                    case "true":
                        return new LiteralExpr(JsonValue.Create(true));
                    case "false":
                        return new LiteralExpr(JsonValue.Create(false));
                    case "and" or "or" or "not" or "in":
                        throw new SyntaxError($"expected a value but found '{t.Text}' at character {t.Position + 1}");
                    default:
                        var r = Template.ParseReference(t.Text);
                        if (r is null)
                        {
                            throw new SyntaxError(
                                $"'{ExprValues.Clip(t.Text)}' at character {t.Position + 1} is not a value: use params.NAME, steps.STEP.outputs.NAME, run.FIELD, true, false, a number or a quoted string");
                        }
                        return new ReferenceExpr(r);
                }
            case TokenKind.Symbol when t.Text == "(":
            {
                Enter(t);
                var inner = ParseOr();
                var close = Take();
                if (close is not { Kind: TokenKind.Symbol, Text: ")" })
                {
                    throw new SyntaxError($"expected ')' to close the '(' at character {t.Position + 1}, found {Show(close)} at character {close.Position + 1}");
                }
                depth--;
                return inner;
            }
            case TokenKind.Symbol when t.Text == "[":
            {
                Enter(t);
                var items = new List<Expr>();
                if (Peek() is { Kind: TokenKind.Symbol, Text: "]" })
                {
                    Take();
                }
                else
                {
                    while (true)
                    {
                        var itemToken = Peek();
                        var item = ParseOperand();
                        if (item is ListExpr)
                        {
                            throw new SyntaxError($"lists cannot be nested (at character {itemToken.Position + 1})");
                        }
                        items.Add(item);
                        var sep = Take();
                        if (sep is { Kind: TokenKind.Symbol, Text: "]" })
                        {
                            break;
                        }
                        if (sep is not { Kind: TokenKind.Symbol, Text: "," })
                        {
                            throw new SyntaxError($"expected ',' or ']' in the list opened at character {t.Position + 1}, found {Show(sep)} at character {sep.Position + 1}");
                        }
                    }
                }
                depth--;
                return new ListExpr(items);
            }
            case TokenKind.End:
                throw new SyntaxError($"expected a value at the end of the expression (character {t.Position + 1})");
            default:
                throw new SyntaxError($"expected a value but found {Show(t)} at character {t.Position + 1}");
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
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-'))
                {
                    i++;
                }
                tokens.Add(new Token(TokenKind.Word, text[start..i], start));
                continue;
            }
            if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                tokens.Add(ReadNumber(ref i));
                continue;
            }
            if (c is '\'' or '"')
            {
                tokens.Add(ReadString(ref i));
                continue;
            }
            var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
            if (two is "==" or "!=" or "<=" or ">=")
            {
                tokens.Add(new Token(TokenKind.Symbol, two, start));
                i += 2;
                continue;
            }
            if (c is '<' or '>' or '(' or ')' or '[' or ']' or ',')
            {
                tokens.Add(new Token(TokenKind.Symbol, c.ToString(), start));
                i++;
                continue;
            }
            var hint = c switch
            {
                '=' => ": use '==' to compare",
                '!' => ": use 'not' or '!='",
                '&' => ": use 'and'",
                '|' => ": use 'or'",
                '{' or '}' => ": write references without {{ }} in a condition",
                _ => "",
            };
            var shown = char.IsControl(c) ? $"U+{(int)c:X4}" : c.ToString();
            throw new SyntaxError($"unexpected character '{shown}' at character {start + 1}{hint}");
        }
        tokens.Add(new Token(TokenKind.End, "", text.Length));
    }

    private Token ReadNumber(ref int i)
    {
        var start = i;
        if (text[i] == '-')
        {
            i++;
        }
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }
        var integral = true;
        if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
        {
            integral = false;
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }
        if (i < text.Length && text[i] is 'e' or 'E')
        {
            var j = i + 1;
            if (j < text.Length && text[j] is '+' or '-')
            {
                j++;
            }
            if (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                integral = false;
                i = j;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }
            }
        }
        if (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '.'))
        {
            throw new SyntaxError($"malformed number at character {start + 1}");
        }
        var s = text[start..i];
        if (integral && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return new Token(TokenKind.Number, s, start, JsonValue.Create(l));
        }
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return new Token(TokenKind.Number, s, start, JsonValue.Create(d));
        }
        throw new SyntaxError($"number out of range at character {start + 1}");
    }

    private Token ReadString(ref int i)
    {
        var start = i;
        var quote = text[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length)
            {
                throw new SyntaxError($"the string starting at character {start + 1} is not closed");
            }
            var c = text[i++];
            if (c == quote)
            {
                break;
            }
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (i >= text.Length)
            {
                throw new SyntaxError($"the string starting at character {start + 1} is not closed");
            }
            var e = text[i++];
            sb.Append(e switch
            {
                '\\' => '\\',
                '\'' => '\'',
                '"' => '"',
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                _ => throw new SyntaxError($"unknown escape '\\{e}' at character {i - 1} (use \\\\, \\', \\\", \\n, \\t or \\r)"),
            });
        }
        var value = sb.ToString();
        return new Token(TokenKind.String, ExprValues.Quote(value), start, JsonValue.Create(value));
    }
}
