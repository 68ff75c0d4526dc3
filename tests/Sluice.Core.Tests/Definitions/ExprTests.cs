using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public class ExprTests
{
    private static Expr ParseOk(string text)
    {
        var problems = new List<string>();
        var e = Expr.Parse(text, problems);
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        return e;
    }

    private static string ParseError(string text)
    {
        var problems = new List<string>();
        var e = Expr.Parse(text, problems);
        Assert.Single(problems);
        Assert.NotNull(e);
        return problems[0];
    }

    private static TestResolver Values() => new TestResolver()
        .Set("params.n", 11)
        .Set("params.rate", 0.5)
        .Set("params.name", "tiny")
        .Set("params.flag", true)
        .Set("steps.prep.outputs.count", 12)
        .Set("steps.prep.outputs.path", "/data/x")
        .Set("run.attempt", 1)
        .Set("run.id", "r-1");

    [Theory]
    [InlineData("1 == 1", true)]
    [InlineData("1 == 2", false)]
    [InlineData("1 != 2", true)]
    [InlineData("1 != 1", false)]
    [InlineData("2 < 3", true)]
    [InlineData("3 < 3", false)]
    [InlineData("3 <= 3", true)]
    [InlineData("4 <= 3", false)]
    [InlineData("4 > 3", true)]
    [InlineData("3 > 3", false)]
    [InlineData("3 >= 3", true)]
    [InlineData("3 >= 4", false)]
    [InlineData("3 == 3.0", true)]
    [InlineData("2.5 < 3", true)]
    [InlineData("-1 < 0", true)]
    [InlineData("1e3 == 1000", true)]
    [InlineData("9007199254740993 > 9007199254740992", true)]
    [InlineData("'a' < 'b'", true)]
    [InlineData("'B' < 'a'", true)]
    [InlineData("'abc' == 'abc'", true)]
    [InlineData("\"x\" == 'x'", true)]
    [InlineData("'it\\'s' == \"it's\"", true)]
    [InlineData("'' < 'a'", true)]
    [InlineData("true == true", true)]
    [InlineData("true != false", true)]
    [InlineData("true == false", false)]
    [InlineData("not true", false)]
    [InlineData("not not true", true)]
    [InlineData("true and false", false)]
    [InlineData("true and true and true", true)]
    [InlineData("true or false", true)]
    [InlineData("false or false", false)]
    [InlineData("true or false and false", true)]
    [InlineData("(true or false) and false", false)]
    [InlineData("not false and false", false)]
    [InlineData("not (false and false)", true)]
    [InlineData("not 1 == 2", true)]
    [InlineData("false and false or true", true)]
    [InlineData("false and (false or true)", false)]
    [InlineData("2 in [1, 2, 3]", true)]
    [InlineData("4 in [1, 2, 3]", false)]
    [InlineData("2.0 in [1, 2]", true)]
    [InlineData("'x' in ['a', 'b']", false)]
    [InlineData("'b' in ['a', 'b']", true)]
    [InlineData("'a' in []", false)]
    [InlineData("true in [false, true]", true)]
    [InlineData("(1 < 2) == true", true)]
    [InlineData("params.n > 10", true)]
    [InlineData("params.n > 10 and params.name != 'tiny'", false)]
    [InlineData("steps.prep.outputs.count > 10 and params.name == 'tiny'", true)]
    [InlineData("steps.prep.outputs.count >= params.n", true)]
    [InlineData("params.rate < 1", true)]
    [InlineData("params.flag", true)]
    [InlineData("not params.flag or params.n == 11", true)]
    [InlineData("params.name in ['tiny', 'small']", true)]
    [InlineData("params.n in [params.n]", true)]
    [InlineData("run.attempt == 1", true)]
    [InlineData("run.id == 'r-1'", true)]
    [InlineData("steps.prep.outputs.path < 'z'", true)]
    public void Evaluate_Expression_GivesBoolean(string text, bool expected)
    {
        var e = ParseOk(text);
        Assert.Equal(expected, e.EvaluateBool(Values()));
        var v = e.Evaluate(Values());
        Assert.Equal(expected, Assert.IsAssignableFrom<JsonValue>(v).GetValue<bool>());
    }

    [Theory]
    [InlineData("'a' < 3", "cannot compare")]
    [InlineData("1 == 'a'", "cannot compare")]
    [InlineData("'1' == 1", "cannot compare")]
    [InlineData("true < false", "only be compared with == and !=")]
    [InlineData("true == 1", "cannot compare")]
    [InlineData("params.name > 3", "params.name")]
    [InlineData("params.n and true", "'and'")]
    [InlineData("true or 3 == 3 or params.n", "true")]
    [InlineData("false or params.name", "'or'")]
    [InlineData("not 3", "'not'")]
    [InlineData("'a' in [1]", "cannot compare")]
    [InlineData("steps.prep.outputs.path >= 1.5", "cannot compare")]
    public void Evaluate_IncompatibleTypes_ThrowsInvalidArgument(string text, string fragment)
    {
        var e = ParseOk(text);
        if (text.StartsWith("true or", StringComparison.Ordinal))
        {
            // 'or' stops at the first true operand: the bad one is never looked at.
            Assert.True(e.EvaluateBool(Values()));
            return;
        }
        var ex = Assert.Throws<SluiceException>(() => e.Evaluate(Values()));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("params.n")]
    [InlineData("params.name")]
    [InlineData("3")]
    [InlineData("'true'")]
    public void EvaluateBool_NonBoolean_Throws(string text)
    {
        var e = ParseOk(text);
        var ex = Assert.Throws<SluiceException>(() => e.EvaluateBool(Values()));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("must be a Boolean", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateBool_NullValue_Throws()
    {
        var e = ParseOk("params.x == 1");
        var ex = Assert.Throws<SluiceException>(() => e.EvaluateBool(new TestResolver().Set("params.x", null)));
        Assert.Contains("null", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("false and steps.missing.outputs.x == 1", false)]
    [InlineData("true or steps.missing.outputs.x == 1", true)]
    [InlineData("params.n < 0 and steps.missing.outputs.x", false)]
    [InlineData("params.n > 0 or steps.missing.outputs.x", true)]
    public void Evaluate_ShortCircuit_DoesNotResolveRightSide(string text, bool expected)
    {
        var resolver = new TestResolver().Set("params.n", 5);
        Assert.Equal(expected, ParseOk(text).EvaluateBool(resolver));
        Assert.DoesNotContain("steps.missing.outputs.x", resolver.Asked);
    }

    [Fact]
    public void Evaluate_UnavailableReference_PropagatesResolverError()
    {
        var ex = Assert.Throws<SluiceException>(() => ParseOk("steps.a.outputs.b == 1").Evaluate(new TestResolver()));
        Assert.Contains("not available", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_InShortCircuit_StopsAtFirstMatch()
    {
        var resolver = new TestResolver().Set("params.a", 1);
        Assert.True(ParseOk("1 in [params.a, params.b]").EvaluateBool(resolver));
        Assert.DoesNotContain("params.b", resolver.Asked);
    }

    [Fact]
    public void Evaluate_MixedNumberRepresentations_CompareNumerically()
    {
        var resolver = new TestResolver()
            .Set("params.i", JsonValue.Create(3))
            .Set("params.l", JsonValue.Create(3L))
            .Set("params.d", JsonValue.Create(3.0))
            .Set("params.e", JsonNode.Parse("3"))
            .Set("params.f", JsonNode.Parse("3.5"));
        Assert.True(ParseOk("params.i == params.l and params.l == params.d and params.d == params.e and params.e < params.f").EvaluateBool(resolver));
    }

    [Fact]
    public void Evaluate_StringFromParsedJson_ComparesOrdinally()
    {
        var resolver = new TestResolver().Set("params.s", JsonNode.Parse("\"b\""));
        Assert.True(ParseOk("params.s > 'a' and params.s == 'b'").EvaluateBool(resolver));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("1 ==", "character 5")]
    [InlineData("a == 1", "'a' at character 1 is not a value")]
    [InlineData("True", "'True' at character 1 is not a value")]
    [InlineData("params.n AND true", "'AND'")]
    [InlineData("1 = 1", "use '=='")]
    [InlineData("1 && 2", "use 'and'")]
    [InlineData("1 || 2", "use 'or'")]
    [InlineData("!true", "use 'not'")]
    [InlineData("(1 == 1", "expected ')'")]
    [InlineData("1 == 1)", "unexpected ')' at character 7")]
    [InlineData("1 == 1 == 1", "chained")]
    [InlineData("1 < 2 in [true]", "chained")]
    [InlineData("'abc", "not closed")]
    [InlineData("'a\\qb'", "unknown escape")]
    [InlineData("1 in 2", "'in' must be followed by a list")]
    [InlineData("1 in params.list", "'in' must be followed by a list")]
    [InlineData("[1] == [1]", "a list can only follow 'in'")]
    [InlineData("1 == [1]", "a list can only follow 'in'")]
    [InlineData("[1, 2]", "a list can only follow 'in'")]
    [InlineData("1 in [1, [2]]", "nested")]
    [InlineData("1 in [1 2]", "expected ',' or ']'")]
    [InlineData("1 in [1,", "character 9")]
    [InlineData("and", "found 'and'")]
    [InlineData("true and", "end of the expression")]
    [InlineData("12abc == 1", "malformed number")]
    [InlineData("steps.x == 1", "not a value")]
    [InlineData("params. == 1", "not a value")]
    [InlineData("{{params.x}} == 1", "without {{ }}")]
    [InlineData("1 == 1 # comment", "unexpected character '#' at character 8")]
    [InlineData("1e999 == 1", "out of range")]
    public void Parse_BadSyntax_ReportsOneProblemWithPosition(string text, string fragment)
    {
        var message = ParseError(text);
        Assert.Contains(fragment, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadSyntax_ReturnsFalseLiteral()
    {
        var e = Expr.Parse("1 ==", []);
        Assert.False(e.EvaluateBool(new TestResolver()));
    }

    [Theory]
    [InlineData("(", 10_000)]
    [InlineData("not ", 10_000)]
    [InlineData("1 in [", 1)]
    public void Parse_DeepNesting_ReportsDepthWithoutOverflow(string unit, int times)
    {
        var text = string.Concat(Enumerable.Repeat(unit, times)) + (unit == "1 in [" ? new string('[', 10_000) : "true");
        var message = ParseError(text);
        Assert.Contains(unit == "1 in [" ? "nested" : $"more than {Expr.MaxDepth} levels", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingAtLimit_Parses()
    {
        var text = new string('(', Expr.MaxDepth) + "true" + new string(')', Expr.MaxDepth);
        Assert.True(ParseOk(text).EvaluateBool(new TestResolver()));
        ParseError(new string('(', Expr.MaxDepth + 1) + "true" + new string(')', Expr.MaxDepth + 1));
    }

    [Fact]
    public void Parse_LongFlatChain_EvaluatesWithoutDeepRecursion()
    {
        var text = string.Join(" and ", Enumerable.Repeat("1 < 2", 20_000)) + " or false";
        var e = ParseOk(text);
        Assert.True(e.EvaluateBool(new TestResolver()));
        Assert.Equal(text, e.ToString());
    }

    [Theory]
    [InlineData("steps.prep.outputs.count > 10 and params.dataset != 'tiny'")]
    [InlineData("not (params.a or params.b) and params.c")]
    [InlineData("(params.a or params.b) and (params.c or params.d)")]
    [InlineData("params.a or (params.b or params.c)")]
    [InlineData("params.a and (params.b and params.c)")]
    [InlineData("not not params.a")]
    [InlineData("(1 == 1) == (2 == 2)")]
    [InlineData("(not params.a) == false")]
    [InlineData("params.x in ['a', 'it\\'s', 'b\\\\c', 'new\\nline']")]
    [InlineData("1.5 < 2.0 and -3 < 1e10 and 3.0 == 3")]
    [InlineData("run.attempt <= 3")]
    public void ToString_Parsed_RoundTrips(string text)
    {
        var once = ParseOk(text).ToString()!;
        var twice = ParseOk(once).ToString();
        Assert.Equal(once, twice);
    }

    [Fact]
    public void ToString_Canonical_NormalizesSpacingAndQuotes()
    {
        Assert.Equal("params.a == 'x' and (params.b or not params.c)", ParseOk("params.a=='x'and(params.b or not params.c)").ToString());
        Assert.Equal("3.0 == 3", ParseOk("3.0==3").ToString());
    }

    [Fact]
    public void References_AllInOrder()
    {
        var e = ParseOk("steps.prep.outputs.count > params.n and run.id in ['a', params.m] or not params.flag");
        Assert.Equal(
            ["steps.prep.outputs.count", "params.n", "run.id", "params.m", "params.flag"],
            e.References.Select(r => r.ToString()));
        Assert.Equal("prep", e.References[0].Step);
    }

    [Fact]
    public void Parse_Keywords_AreCaseSensitiveAndWholeWords()
    {
        // 'android' and 'order' are not keywords; without a prefix they are unknown names.
        ParseError("android == 1");
        var e = ParseOk("params.order == 1 and params.notes == 2 or params.index in [1]");
        Assert.Equal(["params.order", "params.notes", "params.index"], e.References.Select(r => r.ToString()));
    }

    [Fact]
    public void Parse_ReferenceWithHyphen_IsOneReference()
    {
        var e = ParseOk("steps.prep-data.outputs.row-count > 1");
        var r = Assert.IsType<StepOutputRef>(e.References.Single());
        Assert.Equal(("prep-data", "row-count"), (r.StepName, r.Output));
    }

    private static ParamType? Types(Reference r) => r.ToString() switch
    {
        "params.n" => ParamType.Integer,
        "params.rate" => ParamType.Float,
        "params.name" => ParamType.String,
        "params.flag" => ParamType.Boolean,
        _ => null,
    };

    [Theory]
    [InlineData("params.n > 'a'", "cannot compare")]
    [InlineData("params.name == 3", "cannot compare")]
    [InlineData("params.flag < true", "only be compared")]
    [InlineData("params.n", "must be a Boolean expression")]
    [InlineData("'yes'", "must be a Boolean expression")]
    [InlineData("params.n and params.flag", "'and' needs Boolean operands")]
    [InlineData("params.flag or params.name", "'or' needs Boolean operands")]
    [InlineData("not params.rate", "'not' needs Boolean operands")]
    [InlineData("params.name in [1, 2]", "can never be in a list")]
    [InlineData("params.n in [1, 'a']", "mixes")]
    public void CheckTypes_KnownMismatch_Reports(string text, string fragment)
    {
        var problems = new List<string>();
        ParseOk(text).CheckTypes(Types, problems);
        Assert.Contains(problems, p => p.Contains(fragment, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("params.n > 3.5 and params.rate < params.n")]
    [InlineData("params.flag")]
    [InlineData("params.flag == false or params.name in ['a', 'b']")]
    [InlineData("steps.s.outputs.unknown > 3")]
    [InlineData("steps.s.outputs.unknown")]
    [InlineData("params.unknown == 'x' and params.unknown")]
    public void CheckTypes_Consistent_NoProblems(string text)
    {
        var problems = new List<string>();
        ParseOk(text).CheckTypes(Types, problems);
        Assert.Empty(problems);
    }

    [Fact]
    public void Nodes_BuiltDirectly_Evaluate()
    {
        var e = new AndExpr([
            new ComparisonExpr(ComparisonOp.GreaterOrEqual, new ReferenceExpr(new ParamRef("n")), new LiteralExpr(JsonValue.Create(3))),
            new NotExpr(new ComparisonExpr(ComparisonOp.In, new LiteralExpr(JsonValue.Create("x")), new ListExpr([new LiteralExpr(JsonValue.Create("y"))]))),
        ]);
        Assert.True(e.EvaluateBool(new TestResolver().Set("params.n", 3)));
        Assert.Equal("params.n >= 3 and not 'x' in ['y']", e.ToString());
    }
}
