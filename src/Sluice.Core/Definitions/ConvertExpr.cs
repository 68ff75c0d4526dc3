using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions;

/// <summary>The type a <see cref="ConvertExpr"/> converts to.</summary>
public enum ConvertTo
{
    Integer,
    Float,
    String,
    Boolean,
}

/// <summary>Converts its operand: text to a number (<c>int('7')</c>), a number to text, a float to an integer (toward zero).</summary>
public sealed class ConvertExpr(ConvertTo to, Expr operand) : Expr
{
    public ConvertTo To { get; } = to;

    public Expr Operand { get; } = operand ?? throw new ArgumentNullException(nameof(operand));

    public override IReadOnlyList<Reference> References => Operand.References;

    public override JsonNode? Evaluate(IValueResolver resolver)
    {
        var v = Operand.Evaluate(resolver);
        var kind = ExprValues.Kind(v);
        switch (To)
        {
            case ConvertTo.String:
                return JsonValue.Create(Values.ToText(v));
            case ConvertTo.Boolean:
                if (kind is JsonValueKind.True or JsonValueKind.False)
                {
                    return JsonValue.Create(kind == JsonValueKind.True);
                }
                if (kind == JsonValueKind.String && bool.TryParse(ExprValues.Text((JsonValue)v!).Trim(), out var b))
                {
                    return JsonValue.Create(b);
                }
                break;
            case ConvertTo.Integer:
                if (kind == JsonValueKind.Number)
                {
                    var n = (JsonValue)v!;
                    return ExprValues.TryLong(n, out var l) ? JsonValue.Create(l) : JsonValue.Create((long)Math.Truncate(ExprValues.ToDouble(n)));
                }
                if (kind == JsonValueKind.String
                    && long.TryParse(ExprValues.Text((JsonValue)v!).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                {
                    return JsonValue.Create(parsed);
                }
                break;
            default:
                if (kind == JsonValueKind.Number)
                {
                    return JsonValue.Create(ExprValues.ToDouble((JsonValue)v!));
                }
                if (kind == JsonValueKind.String
                    && double.TryParse(ExprValues.Text((JsonValue)v!).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    return JsonValue.Create(d);
                }
                break;
        }
        throw new SluiceException(ErrorKind.InvalidArgument, $"{this}: cannot convert {ExprValues.Describe(v)} to {To}");
    }

    public override string ToString() => $"{To.ToString().ToLowerInvariant()}({Operand})";
}
