using System.Text.Json.Nodes;

namespace Sluice.Core.Definitions;

/// <summary>A parsed condition expression over parameters and step outputs.</summary>
/// <remarks>Grammar: or-expr := and-expr ('or' and-expr)*; and-expr := not-expr ('and' not-expr)*;
/// not-expr := 'not' not-expr | cmp; cmp := operand (('=='|'!='|'&lt;'|'&lt;='|'&gt;'|'&gt;='|'in') operand)?;
/// operand := reference | number | 'string' | "string" | true | false | '[' operand, ... ']' | '(' or-expr ')'.</remarks>
public abstract partial class Expr
{
    /// <summary>Every reference in the expression (for implicit dependencies and validation).</summary>
    public abstract IReadOnlyList<Reference> References { get; }

    /// <summary>Evaluates to a value (a comparison or logic node gives a boolean).</summary>
    public abstract JsonNode? Evaluate(IValueResolver resolver);
}
