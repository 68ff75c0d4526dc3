using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public partial class FunctionCompilerTests
{
    private const string Valid = """
        name: scoring
        parameters:
          n: { type: Integer, default: 3 }
        steps:
          - name: score
            type: function
            function: score-model
            arguments: { count: "{{params.n}}", label: "run {{run.id}}", flag: true }
            timeLimit: 30s
            outputs: { accuracy: Float, model: String }
            retries: 1
          - name: after
            command: echo
            args: ["{{steps.score.outputs.accuracy}}"]
          - name: check
            type: condition
            if: "steps.score.outputs.accuracy > 0.5"
            then:
              - { name: good, command: "true" }
        """;

    private static void HasProblem(string source, string path, string fragment)
    {
        var r = NativeCompiler.Compile(source);
        Assert.False(r.Ok);
        Assert.True(r.Problems.Any(p => p.Path == path && p.Message.Contains(fragment, StringComparison.Ordinal)),
            $"no problem at '{path}' with '{fragment}' among:\n{string.Join("\n", r.Problems)}");
    }

    private static string Step(string fields) => $"name: p\nsteps:\n  - name: fn\n    type: function\n{fields}";

    [Fact]
    public void Compile_FunctionStep_PlanWithFunctionArgumentsLimitOutputsAndRetries()
    {
        var plan = NativeCompilerTests.CompileOk(Valid);
        var f = Assert.IsType<FunctionStepPlan>(plan.Find("score"));
        Assert.Equal("function", f.Kind);
        Assert.Equal("score-model", f.Function);
        Assert.Equal(["count", "label", "flag"], f.Arguments.Keys);
        Assert.Equal("{{params.n}}", f.Arguments["count"].Source);
        Assert.Equal("true", f.Arguments["flag"].Source);
        Assert.Equal(TimeSpan.FromSeconds(30), f.TimeLimit);
        Assert.Equal([new OutputSpec("accuracy", ParamType.Float), new OutputSpec("model", ParamType.String)], f.Outputs);
        Assert.Equal(1, f.Retry!.Count);
        Assert.Null(f.Timeout);
        Assert.Equal(["score"], plan.Find("after")!.DependsOn);
        Assert.Equal(["score"], plan.Find("check")!.DependsOn);
    }

    [Fact]
    public void Compile_FunctionStepWithOnlyAName_NoArgumentsAndTheFunctionsOwnLimit()
    {
        var plan = NativeCompilerTests.CompileOk(Step("    function: f\n"));
        var f = Assert.IsType<FunctionStepPlan>(plan.Steps.Single());
        Assert.Empty(f.Arguments);
        Assert.Null(f.TimeLimit);
        Assert.Empty(f.Outputs);
        Assert.Null(f.Retry);
    }

    [Fact]
    public void Compile_FunctionStepInJson_SamePlanAsYaml()
    {
        const string json = """
            {"name": "p", "steps": [{"name": "fn", "type": "function", "function": "f", "arguments": {"a": "{{params.x}}"},
              "timeLimit": 90, "outputs": {"y": "Integer"}}],
             "parameters": {"x": {"type": "Float", "default": 1.5}}}
            """;
        var f = Assert.IsType<FunctionStepPlan>(NativeCompilerTests.CompileOk(json).Steps.Single());
        Assert.Equal(TimeSpan.FromSeconds(90), f.TimeLimit);
        Assert.Equal("{{params.x}}", f.Arguments["a"].Source);
    }

    [Fact]
    public void RenderValue_WholeReferenceKeepsItsType_AnythingElseIsText()
    {
        var f = Assert.IsType<FunctionStepPlan>(NativeCompilerTests.CompileOk(Valid).Find("score"));
        var r = new TestResolver().Set("params.n", JsonValue.Create(3L)).Set("run.id", JsonValue.Create("abc"));
        Assert.Equal(3L, f.Arguments["count"].RenderValue(r)!.GetValue<long>());
        Assert.Equal("run abc", f.Arguments["label"].RenderValue(r)!.GetValue<string>());
        Assert.Equal("true", f.Arguments["flag"].RenderValue(r)!.GetValue<string>());
    }

    [Theory]
    [InlineData("    arguments: {}\n", "steps[0].function", "needs a function")]
    [InlineData("    function: 'bad name!'\n", "steps[0].function", "invalid function name")]
    [InlineData("    function: 42\n", "steps[0].function", "must be a string")]
    [InlineData("    function: f\n    timeLimit: 11m\n", "steps[0].timeLimit", "at most 10 minutes")]
    [InlineData("    function: f\n    timeLimit: 500ms\n", "steps[0].timeLimit", "at least 1s")]
    [InlineData("    function: f\n    timeLimit: soon\n", "steps[0].timeLimit", "must be a duration")]
    [InlineData("    function: f\n    arguments: [a, b]\n", "steps[0].arguments", "a map of name: value")]
    [InlineData("    function: f\n    arguments: { a: { nested: 1 } }\n", "steps[0].arguments.a", "must be a string")]
    [InlineData("    function: f\n    arguments: { a: \"{{params.nope}}\" }\n", "steps[0].arguments.a", "unknown parameter 'nope'")]
    [InlineData("    function: f\n    outputs: { x: Number }\n", "steps[0].outputs.x", "unknown type 'Number'")]
    [InlineData("    function: f\n    command: echo\n", "steps[0].command", "only for process steps")]
    [InlineData("    function: f\n    timeout: 5s\n", "steps[0].timeout", "a function step has timeLimit")]
    [InlineData("    function: f\n    stopGracePeriod: 5s\n", "steps[0].stopGracePeriod", "only for process steps")]
    [InlineData("    function: f\n    queue: q\n", "steps[0].queue", "only for callback steps")]
    [InlineData("    function: f\n    fucntion: g\n", "steps[0].fucntion", "did you mean 'function'")]
    public void Compile_InvalidFunctionStep_ReportsTheProblemAtItsPath(string fields, string path, string message) =>
        HasProblem(Step(fields), path, message);

    [Theory]
    [InlineData("    command: echo\n    function: f\n", "steps[0].function", "'function' is only for function steps, not for a process step")]
    [InlineData("    command: echo\n    timeLimit: 5s\n", "steps[0].timeLimit", "'timeLimit' is only for function steps")]
    [InlineData("    command: echo\n    arguments: { a: b }\n", "steps[0].arguments", "only for callback and function steps")]
    [InlineData("    type: fail\n    function: f\n", "steps[0].function", "not for a fail step")]
    public void Compile_FunctionFieldOnAnotherKind_IsAProblem(string fields, string path, string message) =>
        HasProblem($"name: p\nsteps:\n  - name: a\n{fields}", path, message);

    [Fact]
    public void Compile_ReferenceToAnUndeclaredFunctionOutput_IsAProblem() =>
        HasProblem("""
            name: p
            steps:
              - { name: fn, type: function, function: f, outputs: { x: Integer } }
              - { name: b, command: echo, args: ["{{steps.fn.outputs.y}}"] }
            """, "steps[1].args[0]", "has no output 'y'");

    [Fact]
    public void Compile_ConditionOnFunctionOutput_TypeChecked() =>
        HasProblem("""
            name: p
            steps:
              - { name: fn, type: function, function: f, outputs: { x: Integer } }
              - { name: c, type: condition, if: "steps.fn.outputs.x == 'a'" }
            """, "steps[1].if", "");

    [Fact]
    public void Compile_UnknownStepType_ListsFunction() =>
        HasProblem("name: p\nsteps:\n  - name: a\n    type: functoin\n", "steps[0].type", "did you mean 'function'");

    [Fact]
    public void Compile_FunctionStepsDocExamples_Compile()
    {
        var doc = File.ReadAllText(Path.Combine(ExamplesTests.Root(), "docs", "function-steps.md"));
        var blocks = YamlBlock().Matches(doc).Select(m => m.Groups[1].Value).Where(b => b.StartsWith("name:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(blocks);
        foreach (var b in blocks)
        {
            var r = NativeCompiler.Compile(b);
            Assert.True(r.Ok, b + "\n" + string.Join("\n", r.Problems));
        }
    }

    [GeneratedRegex(@"```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
