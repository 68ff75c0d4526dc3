using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public class HostileInputTests
{
    private static CompileResult CompileBoth(string source, out CompileResult asJson)
    {
        asJson = NativeCompiler.Compile(source, "json");
        return NativeCompiler.Compile(source, "yaml");
    }

    [Fact]
    public void Compile_RandomBytes_NeverThrows()
    {
        var random = new Random(1234);
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[random.Next(0, 2000)];
            random.NextBytes(bytes);
            var text = i % 2 == 0 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
            var yaml = CompileBoth(text, out var json);
            Assert.False(yaml.Ok);
            Assert.False(json.Ok);
            Assert.False(NativeCompiler.Compile(text).Ok);
        }
    }

    [Fact]
    public void Compile_MutatedValidDefinition_NeverThrows()
    {
        var valid = File.ReadAllText(Path.Combine(ExamplesTests.Root(), "examples", "train-with-condition.yaml"));
        var random = new Random(42);
        const string alphabet = "{}[]:,-'\"&*!|>#%@`\n\t {{}}.";
        for (var i = 0; i < 500; i++)
        {
            var chars = valid.ToCharArray();
            for (var k = 0; k < 1 + random.Next(5); k++)
            {
                chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            }
            var r = NativeCompiler.Compile(new string(chars));
            Assert.True(r.Ok || r.Problems.Count > 0);
            Assert.True(r.Ok == (r.Plan is not null));
        }
    }

    [Fact]
    public void Compile_TenMegabyteString_ReportsSize()
    {
        var source = "name: p\nsteps: [{name: a, command: x, args: [\"" + new string('a', 10 * 1024 * 1024) + "\"]}]";
        var p = Assert.Single(NativeCompiler.Compile(source).Problems);
        Assert.Contains("at most", p.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("yaml")]
    [InlineData("json")]
    public void Compile_TenThousandDeepBrackets_ReportsDepth(string? format)
    {
        var r = NativeCompiler.Compile(new string('[', 10_000), format);
        var p = Assert.Single(r.Problems);
        Assert.Contains(format == "json" ? "nested more than 100" : "nested more than 100", p.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yaml")]
    [InlineData("json")]
    public void Compile_DeeplyNestedValidBrackets_ReportsDepth(string format)
    {
        var source = "{\"name\": \"p\", \"steps\": " + new string('[', 10_000) + new string(']', 10_000) + "}";
        Assert.Contains("nested more than", Assert.Single(NativeCompiler.Compile(source, format).Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_DeepBlockMaps_ReportsDepth()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 500; i++)
        {
            sb.Append(' ', i).Append("a:\n");
        }
        Assert.Contains("nested more than", Assert.Single(NativeCompiler.Compile(sb.ToString()).Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_DeepFlowMaps_ReportsDepth()
    {
        var source = string.Concat(Enumerable.Repeat("{a: ", 10_000)) + "1" + new string('}', 10_000);
        Assert.Contains("nested more than", Assert.Single(NativeCompiler.Compile(source, "yaml").Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_AliasBomb_Reported()
    {
        var sb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 12; i++)
        {
            sb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }
        var p = Assert.Single(NativeCompiler.Compile(sb.ToString()).Problems);
        Assert.Contains("alias", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_DeepExpressionInCondition_ReportsDepth()
    {
        var cond = new string('(', 50_000) + "true" + new string(')', 50_000);
        var r = NativeCompiler.Compile($"name: p\nsteps:\n  - name: c\n    type: condition\n    if: \"{cond}\"\n");
        var p = Assert.Single(r.Problems);
        Assert.Equal("steps[0].if", p.Path);
        Assert.Contains("nested more than 64", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_ControlCharactersAndNulls_NeverThrow()
    {
        foreach (var s in new[] { "\0", "name: \0\n", "name: p\nsteps: [{name: a, command: \"\\0\"}]", "\u0001\u0002: :", "{\"\\ud800\": 1}", "\"\\ud800\"", "&a [*a]", "*a", "!<!> x", "%YAML 9.9\n--- x", "%TAG ! tag:x:\n--- !a b" })
        {
            var r = NativeCompiler.Compile(s);
            Assert.True(r.Ok || r.Problems.Count > 0);
            NativeCompiler.Compile(s, "json");
        }
    }

    [Fact]
    public void Compile_LargeSingleLineJson_PositionsStayLinear()
    {
        var steps = Enumerable.Range(0, 1000).Select(i => new JsonObject
        {
            ["name"] = $"s{i}",
            ["command"] = "x",
            ["args"] = new JsonArray([.. Enumerable.Range(0, 30).Select(j => (JsonNode)$"arg-{j}-{{{{run.id}}}}")]),
        });
        var doc = new JsonObject { ["name"] = "big", ["steps"] = new JsonArray([.. steps]) }.ToJsonString();
        Assert.True(NativeCompiler.Compile(doc).Ok);
        var broken = doc[..^3] + ",\"colour\":1}]}";
        var p = Assert.Single(NativeCompiler.Compile(broken).Problems);
        Assert.Equal("steps[999].colour", p.Path);
        Assert.Equal((1, broken.IndexOf("\"colour\"", StringComparison.Ordinal) + 1), (p.Line!.Value, p.Column!.Value));
    }

    [Fact]
    public void Compile_NullSource_ReportsEmpty()
    {
        Assert.False(NativeCompiler.Compile(null!).Ok);
    }

    [Fact]
    public void Compile_ManyUnknownFields_ReportsEachOnce()
    {
        var source = "name: p\nsteps: [{name: a, command: x}]\n" + string.Concat(Enumerable.Range(0, 2000).Select(i => $"f{i}: 1\n"));
        Assert.Equal(2000, NativeCompiler.Compile(source).Problems.Count);
    }
}
