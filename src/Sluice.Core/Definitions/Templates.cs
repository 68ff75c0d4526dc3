using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sluice.Core.Definitions;

/// <summary>A value a template or an expression refers to.</summary>
public abstract record Reference
{
    /// <summary>The step this reference makes its owner depend on, if any.</summary>
    public virtual string? Step => null;
}

/// <summary><c>params.NAME</c></summary>
public sealed record ParamRef(string Name) : Reference
{
    public override string ToString() => $"params.{Name}";
}

/// <summary><c>steps.STEP.outputs.NAME</c></summary>
public sealed record StepOutputRef(string StepName, string Output) : Reference
{
    public override string? Step => StepName;

    public override string ToString() => $"steps.{StepName}.outputs.{Output}";
}

/// <summary><c>run.id</c>, <c>run.pipeline</c>, <c>run.attempt</c>... values of the run itself.</summary>
public sealed record RunRef(string Field) : Reference
{
    public override string ToString() => $"run.{Field}";
}

/// <summary>A path into another step's properties (a JSON document the step renders when it starts): members, list
/// indexes and keyed lookups, as in <c>ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri</c>.</summary>
public sealed record StepPropertyRef(string StepName, PropertyPath Path) : Reference
{
    public override string? Step => StepName;

    public override string ToString() => $"steps.{StepName}.properties.{Path}";
}

/// <summary>A value read from a JSON file in the object store: <paramref name="Uri"/> (an object URI such as
/// <c>s3://bucket/key</c>) is rendered when needed, the file parsed and <paramref name="Path"/> taken from it.</summary>
/// <param name="Producer">The step that writes the file, when known (an implicit dependency).</param>
public sealed record JsonFileRef(Template Uri, PropertyPath Path, string? Producer = null) : Reference
{
    public override string? Step => Producer;

    public override string ToString() => $"jsonGet({Uri}, {Path})";
}

/// <summary>The local path of an object URI (<c>s3://bucket/key</c> or <c>gs://bucket/key</c>) in the server's object
/// directory; see <see cref="ObjectStore"/>.</summary>
public sealed record ObjectPathRef(Template Uri) : Reference
{
    public override string ToString() => $"localPath({Uri})";
}

/// <summary>A JSON document rendered to its compact JSON text (a config file or an environment value made of values).</summary>
public sealed record JsonTextRef(JsonTemplate Document) : Reference
{
    public override string ToString() => "json(...)";
}

/// <summary>Supplies values for references when a step starts or a condition is evaluated.</summary>
public interface IValueResolver
{
    /// <summary>The value, or throws <see cref="Api.SluiceException"/> when it is not available.</summary>
    JsonNode? Resolve(Reference reference);
}

/// <summary>A string with <c>{{ reference }}</c> placeholders.</summary>
public sealed partial class Template
{
    private readonly object[] parts; // string literal, Reference, or JsonValue (a typed constant)

    private Template(string source, object[] parts, IReadOnlyList<Reference> references)
    {
        Source = source;
        this.parts = parts;
        References = references;
    }

    public string Source { get; }

    public IReadOnlyList<Reference> References { get; }

    public bool IsLiteral => References.Count == 0;

    /// <summary>The reference when the template is exactly one reference (its value keeps its type), else null.</summary>
    public Reference? OnlyReference => parts.Length == 1 && parts[0] is Reference r ? r : null;

    public static Template Literal(string text) => new(text, [text], []);

    /// <summary>A typed constant: renders as text, but <see cref="RenderValue"/> keeps its type (a number stays a number).</summary>
    public static Template Constant(JsonValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new Template(Values.ToText(value), [value], []);
    }

    /// <summary>A template of literal text, references and typed constants, concatenated when rendered.</summary>
    public static Template Compose(IEnumerable<object> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = new List<object>();
        var refs = new List<Reference>();
        var source = new StringBuilder();
        foreach (var p in parts)
        {
            switch (p)
            {
                case string text:
                    if (text.Length > 0)
                    {
                        list.Add(text);
                        source.Append(text);
                    }
                    break;
                case Reference r:
                    list.Add(r);
                    refs.Add(r);
                    source.Append("{{").Append(r).Append("}}");
                    break;
                case JsonValue v:
                    list.Add(v);
                    source.Append(Values.ToText(v));
                    break;
                case Template t:
                    list.AddRange(t.parts);
                    refs.AddRange(t.References);
                    source.Append(t.Source);
                    break;
                default:
                    throw new ArgumentException($"a template part is text, a reference, a JSON value or a template, not {p?.GetType().Name}");
            }
        }
        if (list.Count == 0)
        {
            list.Add("");
        }
        return new Template(source.ToString(), [.. list], refs);
    }

    /// <summary>Parses a template; unknown placeholder syntax goes to <paramref name="problems"/> as a message.</summary>
    public static Template Parse(string source, List<string> problems)
    {
        var parts = new List<object>();
        var refs = new List<Reference>();
        var last = 0;
        foreach (Match m in Placeholder().Matches(source))
        {
            if (m.Index > last)
            {
                parts.Add(source[last..m.Index]);
            }
            var r = ParseReference(m.Groups[1].Value.Trim());
            if (r is null)
            {
                problems.Add($"unknown reference '{m.Groups[1].Value.Trim()}' (use params.NAME, steps.STEP.outputs.NAME or run.FIELD)");
                parts.Add(m.Value);
            }
            else
            {
                parts.Add(r);
                refs.Add(r);
            }
            last = m.Index + m.Length;
        }
        if (last < source.Length)
        {
            parts.Add(source[last..]);
        }
        if (source.Contains("{{", StringComparison.Ordinal) && Unclosed().IsMatch(source))
        {
            problems.Add("unclosed '{{' in template");
        }
        return new Template(source, [.. parts], refs);
    }

    /// <summary>Parses <c>params.x</c>, <c>steps.s.outputs.o</c> or <c>run.f</c>; null when it is none of them.</summary>
    public static Reference? ParseReference(string text)
    {
        var m = RefPattern().Match(text);
        if (!m.Success)
        {
            return null;
        }
        return m.Groups["p"].Success ? new ParamRef(m.Groups["p"].Value)
            : m.Groups["s"].Success ? new StepOutputRef(m.Groups["s"].Value, m.Groups["o"].Value)
            : new RunRef(m.Groups["r"].Value);
    }

    public string Render(IValueResolver resolver)
    {
        if (parts.Length == 1 && parts[0] is string only)
        {
            return only;
        }
        ArgumentNullException.ThrowIfNull(resolver);
        var sb = new StringBuilder();
        foreach (var p in parts)
        {
            sb.Append(p switch
            {
                Reference r => Values.ToText(resolver.Resolve(r)),
                JsonValue v => Values.ToText(v),
                _ => (string)p,
            });
        }
        return sb.ToString();
    }

    /// <summary>The value as JSON: a template that is exactly one reference keeps the referenced value's type
    /// (a number stays a number); anything else renders to a string.</summary>
    public JsonNode? RenderValue(IValueResolver resolver) => parts.Length == 1 && parts[0] is Reference only
        ? resolver.Resolve(only)?.DeepClone()
        : parts.Length == 1 && parts[0] is JsonValue constant ? constant.DeepClone() : JsonValue.Create(Render(resolver));

    public override string ToString() => Source;

    [GeneratedRegex(@"\{\{([^{}]*)\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\{\{(?![^{}]*\}\})")]
    private static partial Regex Unclosed();

    [GeneratedRegex(@"^(?:params\.(?<p>[A-Za-z_][A-Za-z0-9_-]*)|steps\.(?<s>[A-Za-z0-9_][A-Za-z0-9_-]*)\.outputs\.(?<o>[A-Za-z_][A-Za-z0-9_-]*)|run\.(?<r>[A-Za-z_][A-Za-z0-9_]*))$")]
    private static partial Regex RefPattern();
}

/// <summary>Conversions between typed values (JSON nodes) and text.</summary>
public static class Values
{
    /// <summary>Text form of a value, as substituted into arguments.</summary>
    public static string ToText(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        JsonValue v when v.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString("R", CultureInfo.InvariantCulture),
        _ => value.ToJsonString(),
    };

    /// <summary>Converts a value (JSON of any kind, or text) to the type; false with a reason when it cannot.</summary>
    public static bool TryCoerce(JsonNode? value, ParamType type, out JsonNode? result, out string? error)
    {
        result = null;
        error = null;
        if (type is ParamType.List or ParamType.Struct)
        {
            return TryCoerceJson(value, type, out result, out error);
        }
        if (value is not JsonValue v)
        {
            error = value is null ? "a value is required" : $"expected {type}, got {value.GetValueKind()}";
            return false;
        }
        var kind = v.GetValueKind();
        switch (type)
        {
            case ParamType.String:
                if (kind == JsonValueKind.String)
                {
                    result = JsonValue.Create(v.GetValue<string>());
                    return true;
                }
                error = $"expected a String, got {Describe(kind)}";
                return false;
            case ParamType.Integer:
                if (kind == JsonValueKind.Number && v.TryGetValue<long>(out var l))
                {
                    result = JsonValue.Create(l);
                    return true;
                }
                if (kind == JsonValueKind.Number && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var dl)
                    && dl == Math.Floor(dl) && Math.Abs(dl) < 9e15)
                {
                    result = JsonValue.Create((long)dl);
                    return true;
                }
                if (kind == JsonValueKind.String && long.TryParse(v.GetValue<string>().Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out l))
                {
                    result = JsonValue.Create(l);
                    return true;
                }
                error = $"expected an Integer, got {Show(v)}";
                return false;
            case ParamType.Float:
                if (kind == JsonValueKind.Number && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                    && double.IsFinite(d))
                {
                    result = JsonValue.Create(d);
                    return true;
                }
                if (kind == JsonValueKind.String && double.TryParse(v.GetValue<string>().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out d)
                    && double.IsFinite(d))
                {
                    result = JsonValue.Create(d);
                    return true;
                }
                error = $"expected a Float, got {Show(v)}";
                return false;
            case ParamType.Boolean:
                if (kind is JsonValueKind.True or JsonValueKind.False)
                {
                    result = JsonValue.Create(kind == JsonValueKind.True);
                    return true;
                }
                if (kind == JsonValueKind.String)
                {
                    var s = v.GetValue<string>().Trim();
                    if (s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("false", StringComparison.OrdinalIgnoreCase))
                    {
                        result = JsonValue.Create(s.Equals("true", StringComparison.OrdinalIgnoreCase));
                        return true;
                    }
                }
                error = $"expected a Boolean, got {Show(v)}";
                return false;
            default:
                error = $"unknown type {type}";
                return false;
        }
    }

    /// <summary>A list or an object, given as such or as text that holds one (as KFP passes them).</summary>
    private static bool TryCoerceJson(JsonNode? value, ParamType type, out JsonNode? result, out string? error)
    {
        result = null;
        error = null;
        var node = value;
        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                node = JsonNode.Parse(v.GetValue<string>());
            }
            catch (JsonException)
            {
                error = $"expected a {type} as JSON, got text that is not JSON: {Show(v)}";
                return false;
            }
        }
        if ((type == ParamType.List && node is JsonArray) || (type == ParamType.Struct && node is JsonObject))
        {
            result = node!.Parent is null && !ReferenceEquals(node, value) ? node : node!.DeepClone();
            return true;
        }
        error = value is null ? "a value is required" : $"expected a {type}, got {(node is null ? "null" : Describe(node.GetValueKind()))}";
        return false;
    }

    private static string Describe(JsonValueKind k) => k switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => k.ToString(),
    };

    private static string Show(JsonValue v)
    {
        var s = v.ToJsonString();
        return s.Length > 40 ? s[..40] + "..." : s;
    }
}
