using System.Globalization;
using System.Text;
using Sluice.Core.Api;
using Sluice.Core.Domain;

namespace Sluice.Server.Apis.Vertex;

/// <summary>The AIP-160 filter subset of ListPipelineJobs, turned into a core <see cref="RunCondition"/>. Fields (snake or
/// camel case): pipeline_name, display_name, pipeline_job_user_id, state, create_time, update_time, start_time, end_time,
/// labels.KEY, template_uri, template_metadata.version. Operators = != &lt; &lt;= &gt; &gt;= and : (wildcard match, or
/// presence with *). AND (or juxtaposition), OR, NOT / -, parentheses; OR binds tighter than AND.</summary>
internal sealed class VertexFilter
{
    private readonly List<Token> tokens = [];
    private int next;
    private int depth;

    private enum Kind
    {
        Word,
        String,
        Symbol,
        End,
    }

    private readonly record struct Token(Kind Kind, string Text, int Position);

    public static RunCondition? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (text.Length > 4096)
        {
            throw new VertexException(RpcCode.InvalidArgument, "the filter is longer than 4096 characters");
        }
        var f = new VertexFilter();
        f.Tokenize(text);
        var c = f.ParseSequence();
        if (f.Peek().Kind != Kind.End)
        {
            throw f.Error($"unexpected '{f.Peek().Text}'", f.Peek());
        }
        return c;
    }

    private Token Peek() => tokens[next];

    private Token Take() => tokens[next++];

    private VertexException Error(string message, Token at) =>
        new(RpcCode.InvalidArgument, $"Invalid filter: {message} at position {at.Position + 1}.");

    private static bool IsWord(Token t, string w) => t.Kind == Kind.Word && t.Text == w;

    private static bool StartsTerm(Token t) => t.Kind is Kind.Word or Kind.String || (t.Kind == Kind.Symbol && t.Text is "(" or "-");

    // sequence := factor (('AND' | juxtaposition) factor)*
    private RunCondition ParseSequence()
    {
        var all = new List<RunCondition> { ParseFactor() };
        while (true)
        {
            if (IsWord(Peek(), "AND"))
            {
                Take();
                all.Add(ParseFactor());
            }
            else if (StartsTerm(Peek()) && !IsWord(Peek(), "OR"))
            {
                all.Add(ParseFactor());
            }
            else
            {
                break;
            }
        }
        return all.Count == 1 ? all[0] : new RunAll(all);
    }

    // factor := term ('OR' term)*  -- OR binds tighter than AND (AIP-160)
    private RunCondition ParseFactor()
    {
        var any = new List<RunCondition> { ParseTerm() };
        while (IsWord(Peek(), "OR"))
        {
            Take();
            any.Add(ParseTerm());
        }
        return any.Count == 1 ? any[0] : new RunAny(any);
    }

    private RunCondition ParseTerm()
    {
        var t = Peek();
        if (IsWord(t, "NOT") || (t.Kind == Kind.Symbol && t.Text == "-"))
        {
            Take();
            return new RunNot(ParseTerm());
        }
        if (t.Kind == Kind.Symbol && t.Text == "(")
        {
            Take();
            if (++depth > 32)
            {
                throw Error("too deeply nested", t);
            }
            var inner = ParseSequence();
            var close = Take();
            if (close.Kind != Kind.Symbol || close.Text != ")")
            {
                throw Error("expected ')'", close);
            }
            depth--;
            return inner;
        }
        return ParseRestriction();
    }

    private RunCondition ParseRestriction()
    {
        var field = Take();
        if (field.Kind != Kind.Word)
        {
            throw Error("expected a field name", field);
        }
        var op = Take();
        if (op.Kind != Kind.Symbol || op.Text is not ("=" or "!=" or "<" or "<=" or ">" or ">=" or ":"))
        {
            throw Error($"expected a comparison after '{field.Text}'", op);
        }
        var value = Take();
        if (value.Kind is not (Kind.Word or Kind.String) && !(value.Kind == Kind.Symbol && value.Text == "*"))
        {
            throw Error($"expected a value after '{field.Text} {op.Text}'", value);
        }
        var v = value.Text;
        var o = op.Text switch
        {
            "=" => RunOp.Equal,
            "!=" => RunOp.NotEqual,
            "<" => RunOp.Less,
            "<=" => RunOp.LessOrEqual,
            ">" => RunOp.Greater,
            ">=" => RunOp.GreaterOrEqual,
            _ => RunOp.Matches,
        };
        var name = Snake(field.Text);
        if (name.StartsWith("labels.", StringComparison.Ordinal))
        {
            // Label keys are taken as written (camel-to-snake applies to field names only).
            var key = field.Text["labels.".Length..].Trim('"');
            return o switch
            {
                RunOp.Equal or RunOp.NotEqual or RunOp.Matches => new RunLabel(key, o, v),
                _ => throw Error($"labels support =, != and :, not '{op.Text}'", op),
            };
        }
        switch (name)
        {
            case "pipeline_name":
                return Text(RunField.Pipeline, o, v, op, allowMatch: false);
            case "display_name":
                return Text(RunField.DisplayName, o, v, op, allowMatch: true);
            case "pipeline_job_user_id":
                return Text(RunField.Id, o, v, op, allowMatch: true);
            case "template_uri":
            case "template_metadata.version":
                // Sluice runs pipeline specs sent inline: every job's template URI and version are empty.
                return Constant(o switch
                {
                    RunOp.Equal => v.Length == 0,
                    RunOp.NotEqual => v.Length != 0,
                    RunOp.Matches => v.Length == 0,
                    _ => throw Error($"{field.Text} supports =, != and :", op),
                });
            case "state":
                if (o is not (RunOp.Equal or RunOp.NotEqual))
                {
                    throw Error("state supports = and !=", op);
                }
                var state = State(v) ?? throw Error($"unknown state '{v}' (use a PipelineState name such as PIPELINE_STATE_RUNNING)", value);
                return state.Core is { } s ? new RunInState(o, s) : Constant(o == RunOp.NotEqual);
            case "create_time":
            case "update_time":
            case "start_time":
            case "end_time":
                if (o == RunOp.Matches)
                {
                    throw Error($"{field.Text} supports =, !=, <, <=, > and >=", op);
                }
                if (!DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) || !v.Contains('T', StringComparison.Ordinal))
                {
                    throw Error($"'{v}' is not an RFC 3339 time such as \"2024-05-01T10:00:00Z\"", value);
                }
                return new RunTime(name switch
                {
                    "create_time" => RunField.CreatedAt,
                    "update_time" => RunField.UpdatedAt,
                    "start_time" => RunField.StartedAt,
                    _ => RunField.EndedAt,
                }, o, time);
            default:
                throw Error($"unsupported field '{field.Text}'", field);
        }
    }

    private RunCondition Text(RunField f, RunOp o, string v, Token op, bool allowMatch) => o switch
    {
        RunOp.Equal or RunOp.NotEqual => new RunText(f, o, v),
        RunOp.Matches when allowMatch => new RunText(f, o, v),
        _ => throw Error($"this field supports ={(allowMatch ? ", != and :" : " and !=")}", op),
    };

    private static RunCondition Constant(bool value) => value ? new RunAll([]) : new RunAny([]);

    /// <summary>A PipelineState name, and the core state it is (null for states Sluice never shows: PENDING, PAUSED).</summary>
    private static (RunState? Core, bool Known)? State(string name) => name switch
    {
        "PIPELINE_STATE_QUEUED" => (RunState.Queued, true),
        "PIPELINE_STATE_RUNNING" => (RunState.Running, true),
        "PIPELINE_STATE_CANCELLING" => (RunState.Stopping, true),
        "PIPELINE_STATE_CANCELLED" => (RunState.Stopped, true),
        "PIPELINE_STATE_SUCCEEDED" => (RunState.Succeeded, true),
        "PIPELINE_STATE_FAILED" => (RunState.Failed, true),
        "PIPELINE_STATE_PENDING" or "PIPELINE_STATE_PAUSED" or "PIPELINE_STATE_UNSPECIFIED" => (null, true),
        _ => null,
    };

    /// <summary>camelCase to snake_case, segment by segment (displayName -> display_name).</summary>
    internal static string Snake(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                sb.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private void Tokenize(string text)
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
            if (c == '"' || c == '\'')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw Error("unclosed string", new Token(Kind.String, "", start));
                    }
                    var ch = text[i++];
                    if (ch == c)
                    {
                        break;
                    }
                    if (ch == '\\' && i < text.Length)
                    {
                        ch = text[i++];
                    }
                    sb.Append(ch);
                }
                tokens.Add(new Token(Kind.String, sb.ToString(), start));
                continue;
            }
            var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
            if (two is "!=" or "<=" or ">=")
            {
                tokens.Add(new Token(Kind.Symbol, two, start));
                i += 2;
                continue;
            }
            if (c is '=' or '<' or '>' or ':' or '(' or ')' or '*')
            {
                tokens.Add(new Token(Kind.Symbol, c.ToString(), start));
                i++;
                continue;
            }
            // A leading '-' negates a term, unless it follows a comparison (then it starts a value such as -5).
            if (c == '-' && !(tokens.Count > 0 && tokens[^1] is { Kind: Kind.Symbol, Text: "=" or "!=" or "<" or "<=" or ">" or ">=" or ":" }))
            {
                tokens.Add(new Token(Kind.Symbol, "-", start));
                i++;
                continue;
            }
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('=' or '!' or '<' or '>' or ':' or '(' or ')' or '"' or '\''))
            {
                i++;
            }
            if (i == start)
            {
                throw Error($"unexpected '{c}'", new Token(Kind.Symbol, c.ToString(), start));
            }
            tokens.Add(new Token(Kind.Word, text[start..i], start));
        }
        tokens.Add(new Token(Kind.End, "end of filter", text.Length));
    }
}
