using Sluice.Core.Api;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public class NativeCompilerValidationTests
{
    private static IReadOnlyList<Problem> Problems(string source, string? format = null)
    {
        var r = NativeCompiler.Compile(source, format);
        Assert.False(r.Ok);
        Assert.Null(r.Plan);
        Assert.NotEmpty(r.Problems);
        return r.Problems;
    }

    /// <summary>Asserts a problem at <paramref name="path"/> whose message has <paramref name="fragment"/>, on <paramref name="line"/> when given.</summary>
    private static Problem Has(string source, string path, string fragment, int? line = null, string? format = null)
    {
        var problems = Problems(source, format);
        var match = problems.FirstOrDefault(p => p.Path == path && p.Message.Contains(fragment, StringComparison.Ordinal));
        Assert.True(match is not null, $"no problem at '{path}' with '{fragment}' among:\n{string.Join("\n", problems)}");
        if (line is not null)
        {
            Assert.Equal(line, match.Line);
            Assert.NotNull(match.Column);
        }
        return match;
    }

    private static string Step(string body) => "name: p\nsteps:\n  - name: a\n" + string.Concat(body.Split('\n').Select(l => "    " + l + "\n"));

    // ---- unknown and misplaced fields ----

    [Fact]
    public void Compile_UnknownTopField_ReportsWithSuggestion()
    {
        var p = Has("nmae: p\nname: p\nsteps: [{name: a, command: x}]\n", "nmae", "unknown field 'nmae' in the pipeline", 1);
        Assert.Contains("did you mean 'name'", p.Message, StringComparison.Ordinal);
        Assert.Equal(1, p.Column);
    }

    [Fact]
    public void Compile_UnknownStepField_SaysWhichStep()
    {
        var p = Has(Step("command: x\ncomand: y"), "steps[0].comand", "unknown field 'comand' in step 'a'", 5);
        Assert.Contains("did you mean 'command'", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_UnknownFieldsAtEveryLevel_AllReported()
    {
        var problems = Problems("""
            name: p
            parameters:
              n: { type: Integer, colour: red }
            steps:
              - name: a
                command: x
                retries: { count: 1, jitter: 2 }
              - name: c
                type: condition
                if: "true"
                then:
                  - { name: b, command: x, extra: 1 }
            """);
        Assert.Contains(problems, p => p is { Path: "parameters.n.colour", Line: 3 } && p.Message.Contains("in parameter 'n'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p is { Path: "steps[0].retries.jitter", Line: 7 });
        Assert.Contains(problems, p => p is { Path: "steps[1].then[0].extra", Line: 12 } && p.Message.Contains("in step 'b'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("type: condition\nif: \"true\"\ncommand: x", "steps[0].command", "only for process steps")]
    [InlineData("type: condition\nif: \"true\"\nargs: [x]", "steps[0].args", "only for process steps")]
    [InlineData("type: condition\nif: \"true\"\ntimeout: 5s", "steps[0].timeout", "only for process steps")]
    [InlineData("type: condition\nif: \"true\"\nretries: 1", "steps[0].retries", "only for process steps")]
    [InlineData("type: condition\nif: \"true\"\nstopGracePeriod: 1s", "steps[0].stopGracePeriod", "only for process steps")]
    [InlineData("type: condition\nif: \"true\"\noutputs: { x: String }", "steps[0].outputs", "a condition step has no outputs")]
    [InlineData("type: condition\nif: \"true\"\nmessage: hi", "steps[0].message", "only for fail steps")]
    [InlineData("type: fail\nenv: { A: b }", "steps[0].env", "only for process steps")]
    [InlineData("type: fail\noutputs: { x: String }", "steps[0].outputs", "a fail step has no outputs")]
    [InlineData("type: fail\nthen: []", "steps[0].then", "only for condition steps")]
    [InlineData("command: x\nif: \"true\"", "steps[0].if", "only for condition steps")]
    [InlineData("command: x\nelse: []", "steps[0].else", "only for condition steps")]
    [InlineData("command: x\nmessage: m", "steps[0].message", "only for fail steps")]
    public void Compile_FieldOfAnotherStepType_Reported(string body, string path, string fragment) => Has(Step(body), path, fragment);

    [Fact]
    public void Compile_DuplicateField_Reported()
    {
        Has(Step("command: x\ncommand: y"), "steps[0].command", "duplicate field 'command'", 5);
    }

    // ---- required fields ----

    [Theory]
    [InlineData("steps: [{name: a, command: x}]", "name", "needs a name")]
    [InlineData("name: p", "steps", "needs steps")]
    [InlineData("name: p\nsteps: []", "steps", "at least one step")]
    [InlineData("name: p\nsteps:", "steps", "needs steps")]
    [InlineData("name: p\nsteps: [{command: x}]", "steps[0].name", "a step needs a name")]
    [InlineData("name: p\nsteps: [{name: a}]", "steps[0].command", "needs a command")]
    [InlineData("name: p\nsteps: [{name: a, command: \"  \"}]", "steps[0].command", "must not be empty")]
    [InlineData("name: p\nsteps: [{name: a, type: condition}]", "steps[0].if", "needs an if expression")]
    [InlineData("name: p\nparameters: { n: { default: 1 } }\nsteps: [{name: a, command: x}]", "parameters.n.type", "needs a type")]
    [InlineData("name: p\nsteps: [{name: a, command: x, retries: { backoff: 1s }}]", "steps[0].retries.count", "needs a count")]
    [InlineData("name: p\nsteps: [{name: a, command: x, env: { A: }}]", "steps[0].env.A", "needs a value")]
    public void Compile_MissingRequired_Reported(string source, string path, string fragment) => Has(source, path, fragment);

    // ---- wrong types ----

    [Theory]
    [InlineData("args: prep.py", "steps[0].args", "args must be a list of strings, not the string 'prep.py'")]
    [InlineData("args: [a, [b]]", "steps[0].args[1]", "must be a string, not a list")]
    [InlineData("args: [a, {b: c}]", "steps[0].args[1]", "must be a string, not a map")]
    [InlineData("args: [a, null]", "steps[0].args[1]", "must be a string, not null")]
    [InlineData("env: [A]", "steps[0].env", "must be a map")]
    [InlineData("env: { A: [1] }", "steps[0].env.A", "must be a string")]
    [InlineData("dependsOn: b", "steps[0].dependsOn", "must be a list of step names")]
    [InlineData("outputs: [a]", "steps[0].outputs", "must be a map of name: type")]
    [InlineData("outputs: { a: int }", "steps[0].outputs.a", "unknown type 'int'")]
    [InlineData("workingDir: { a: 1 }", "steps[0].workingDir", "must be a string")]
    [InlineData("timeout: abc", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: 5x", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: 1m1h", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: 1s1s", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: -5s", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: true", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: [1]", "steps[0].timeout", "must be a duration")]
    [InlineData("timeout: 0", "steps[0].timeout", "more than 0")]
    [InlineData("timeout: 0s", "steps[0].timeout", "more than 0")]
    [InlineData("timeout: -1", "steps[0].timeout", "more than 0")]
    [InlineData("timeout: 8d", "steps[0].timeout", "at most 7 days")]
    [InlineData("timeout: 169h", "steps[0].timeout", "at most 7 days")]
    [InlineData("stopGracePeriod: 2h", "steps[0].stopGracePeriod", "between 0 and 1 hour")]
    [InlineData("stopGracePeriod: -1", "steps[0].stopGracePeriod", "between 0 and 1 hour")]
    [InlineData("retries: abc", "steps[0].retries", "retries must be a count or a map")]
    [InlineData("retries: [1]", "steps[0].retries", "retries must be a count or a map")]
    [InlineData("retries: 1.5", "steps[0].retries", "must be an integer")]
    [InlineData("retries: 101", "steps[0].retries", "between 0 and 100")]
    [InlineData("retries: -1", "steps[0].retries", "between 0 and 100")]
    [InlineData("retries: { count: x }", "steps[0].retries.count", "must be an integer")]
    [InlineData("retries: { count: 200 }", "steps[0].retries.count", "between 0 and 100")]
    [InlineData("retries: { count: 1, backoff: soon }", "steps[0].retries.backoff", "must be a duration")]
    [InlineData("retries: { count: 1, multiplier: 0.5 }", "steps[0].retries.multiplier", "between 1 and 100")]
    [InlineData("retries: { count: 1, multiplier: fast }", "steps[0].retries.multiplier", "must be a finite number")]
    [InlineData("retries: { count: 1, maxBackoff: 0s }", "steps[0].retries.maxBackoff", "more than 0")]
    [InlineData("retries: { count: 1, backoff: 10s, maxBackoff: 5s }", "steps[0].retries.maxBackoff", "not be shorter than backoff")]
    [InlineData("type: [process]", "steps[0].type", "must be a string")]
    public void Compile_WrongType_Reported(string body, string path, string fragment) => Has(Step("command: x\n" + body), path, fragment, 5);

    [Theory]
    [InlineData("name: [p]\nsteps: [{name: a, command: x}]", "name", "must be a string")]
    [InlineData("name: p\ndescription: [x]\nsteps: [{name: a, command: x}]", "description", "must be a string")]
    [InlineData("name: p\nmaxParallelSteps: many\nsteps: [{name: a, command: x}]", "maxParallelSteps", "must be an integer")]
    [InlineData("name: p\nmaxParallelSteps: 0\nsteps: [{name: a, command: x}]", "maxParallelSteps", "between 1 and 1000")]
    [InlineData("name: p\nmaxParallelSteps: 1001\nsteps: [{name: a, command: x}]", "maxParallelSteps", "between 1 and 1000")]
    [InlineData("name: p\nmaxParallelSteps: 2.5\nsteps: [{name: a, command: x}]", "maxParallelSteps", "must be an integer")]
    [InlineData("name: p\nparameters: [a]\nsteps: [{name: a, command: x}]", "parameters", "must be a map")]
    [InlineData("name: p\nparameters: { a: String }\nsteps: [{name: a, command: x}]", "parameters.a", "must be a map")]
    [InlineData("name: p\nsteps: { a: { command: x } }", "steps", "must be a list of steps")]
    [InlineData("name: p\nsteps: [a]", "steps[0]", "a step must be a map")]
    [InlineData("name: p\nsteps: [{name: a, command: [x]}]", "steps[0].command", "must be a string, not a list")]
    [InlineData("name: p\nsteps: [{name: a, type: condition, if: \"true\", then: x}]", "steps[0].then", "must be a list of steps")]
    [InlineData("name: p\nsteps: [{name: a, type: condition, if: [x]}]", "steps[0].if", "must be a string")]
    [InlineData("name: p\nsteps: [{name: a, type: proces, command: x}]", "steps[0].type", "unknown step type 'proces'")]
    [InlineData("- a\n- b", "", "must be a map with name and steps, not a list")]
    [InlineData("just text", "", "must be a map with name and steps, not a string")]
    public void Compile_WrongTypeElsewhere_Reported(string source, string path, string fragment) => Has(source, path, fragment);

    [Fact]
    public void Compile_JsonOfWrongTypes_OneProblemEach()
    {
        var problems = Problems("{\"name\": 5, \"steps\": \"all of them\"}");
        Assert.Equal(["name", "steps"], problems.Select(p => p.Path));
        Assert.Contains("must be a string, not a number (5)", problems[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name: p\nsteps: [{name: 1, command: x}]", "steps[0].name", "quote it: \"1\"")]
    [InlineData("name: p\nsteps: [{name: a, type: true, command: x}]", "steps[0].type", "must be a string, not a boolean")]
    [InlineData("name: p\nsteps: [{name: a, command: x}, {name: b, command: x, dependsOn: [1]}]", "steps[1].dependsOn[0]", "must be a string")]
    [InlineData("name: 2024\nsteps: [{name: a, command: x}]", "name", "quote it")]
    [InlineData("name: p\nparameters: { n: { type: 1 } }\nsteps: [{name: a, command: x}]", "parameters.n.type", "must be a string")]
    public void Compile_NameGivenAsNumber_Reported(string source, string path, string fragment) => Has(source, path, fragment);

    [Fact]
    public void Compile_QuotedNumericNames_Compile()
    {
        var plan = NativeCompilerTests.CompileOk("name: \"2024\"\nsteps: [{name: \"1\", command: x}, {name: \"2\", command: x, dependsOn: [\"1\"]}]");
        Assert.Equal(["1"], plan.Find("2")!.DependsOn);
    }

    [Fact]
    public void Compile_UnknownStepType_SuggestsAndDoesNotCascade()
    {
        var problems = Problems("name: p\nsteps:\n  - { name: a, type: proces, command: x, outputs: { o: String } }\n  - { name: b, command: \"{{steps.a.outputs.zzz}}\" }\n");
        var p = Assert.Single(problems);
        Assert.Contains("did you mean 'process'", p.Message, StringComparison.Ordinal);
    }

    // ---- parameters ----

    [Theory]
    [InlineData("Integer", "abc", "the default must be an Integer, not the string 'abc'")]
    [InlineData("Integer", "\"3\"", "the default must be an Integer, not the string '3'")]
    [InlineData("Integer", "2.5", "the default must be an Integer")]
    [InlineData("String", "3", "quote it")]
    [InlineData("String", "true", "quote it")]
    [InlineData("Boolean", "yes", "the default must be a Boolean")]
    [InlineData("Boolean", "1", "the default must be a Boolean")]
    [InlineData("Float", "abc", "the default must be a Float")]
    [InlineData("Float", ".inf", "the default must be a Float")]
    [InlineData("String", "[a]", "the default must be a String, not a list")]
    public void Compile_DefaultOfWrongType_Reported(string type, string value, string fragment) =>
        Has($"name: p\nparameters:\n  x: {{ type: {type}, default: {value} }}\nsteps: [{{name: a, command: x}}]\n", "parameters.x.default", fragment, 3);

    [Theory]
    [InlineData("integer", "did you mean 'Integer'")]
    [InlineData("Int", "unknown type 'Int'")]
    [InlineData("List", "unknown type 'List'")]
    public void Compile_UnknownParameterType_Reported(string type, string fragment) =>
        Has($"name: p\nparameters:\n  x: {{ type: {type} }}\nsteps: [{{name: a, command: x}}]\n", "parameters.x.type", fragment, 3);

    [Fact]
    public void Compile_DuplicateParameter_Reported()
    {
        Has("name: p\nparameters:\n  x: { type: String }\n  x: { type: Integer }\nsteps: [{name: a, command: x}]\n", "parameters.x", "duplicate parameter 'x'", 4);
    }

    [Fact]
    public void Compile_DuplicateParameterInJson_ReportedWithLine()
    {
        Has("{\n\"name\": \"p\",\n\"parameters\": {\"x\": {\"type\": \"String\"},\n \"x\": {\"type\": \"String\"}},\n\"steps\": [{\"name\": \"a\", \"command\": \"x\"}]}",
            "parameters.x", "duplicate parameter 'x'", 4);
    }

    // ---- names ----

    [Theory]
    [InlineData("name: -bad\nsteps: [{name: a, command: x}]", "name", "invalid pipeline name")]
    [InlineData("name: \"has space\"\nsteps: [{name: a, command: x}]", "name", "invalid pipeline name")]
    [InlineData("name: p\nsteps: [{name: \"bad name\", command: x}]", "steps[0].name", "invalid step name 'bad name'")]
    [InlineData("name: p\nsteps: [{name: a.b, command: x}]", "steps[0].name", "invalid step name")]
    [InlineData("name: p\nsteps: [{name: -a, command: x}]", "steps[0].name", "invalid step name")]
    [InlineData("name: p\nparameters: { 1x: { type: String } }\nsteps: [{name: a, command: x}]", "parameters.1x", "invalid parameter name")]
    [InlineData("name: p\nparameters: { a.b: { type: String } }\nsteps: [{name: a, command: x}]", "parameters.a.b", "invalid parameter name")]
    [InlineData("name: p\nsteps: [{name: a, command: x, env: { 1X: y }}]", "steps[0].env.1X", "invalid environment variable name")]
    [InlineData("name: p\nsteps: [{name: a, command: x, env: { A-B: y }}]", "steps[0].env.A-B", "invalid environment variable name")]
    [InlineData("name: p\nsteps: [{name: a, command: x, env: { SLUICE_OUTPUTS: y }}]", "steps[0].env.SLUICE_OUTPUTS", "reserved")]
    [InlineData("name: p\nsteps: [{name: a, command: x, outputs: { a.b: String }}]", "steps[0].outputs.a.b", "invalid output name")]
    [InlineData("name: p\nsteps: [{name: a, command: x, outputs: { 1a: String }}]", "steps[0].outputs.1a", "invalid output name")]
    public void Compile_InvalidName_Reported(string source, string path, string fragment) => Has(source, path, fragment);

    [Fact]
    public void Compile_NamesTooLong_Reported()
    {
        var n = new string('a', 129);
        Has($"name: {n}\nsteps: [{{name: a, command: x}}]", "name", "invalid pipeline name");
        Has($"name: p\nsteps: [{{name: {n}, command: x}}]", "steps[0].name", "invalid step name");
        Has($"name: p\nparameters: {{ {n}: {{ type: String }} }}\nsteps: [{{name: a, command: x}}]", "parameters." + n[..60] + "...", "invalid parameter name");
    }

    [Fact]
    public void Compile_DuplicateStepNames_IncludingBranches_Reported()
    {
        var problems = Problems("""
            name: p
            steps:
              - { name: a, command: x }
              - name: c
                type: condition
                if: "true"
                then:
                  - { name: a, command: y }
                else:
                  - { name: c, command: y }
            """);
        Assert.Contains(problems, p => p is { Path: "steps[1].then[0].name", Line: 8 } && p.Message.Contains("duplicate step name 'a' (first used at steps[0])", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "steps[1].else[0].name" && p.Message.Contains("duplicate step name 'c'", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_DuplicateOutputAndEnv_Reported()
    {
        Has("name: p\nsteps: [{name: a, command: x, outputs: { o: String, o: Integer }}]", "steps[0].outputs.o", "duplicate output 'o'");
        Has("name: p\nsteps: [{name: a, command: x, env: { A: x, A: y }}]", "steps[0].env.A", "duplicate environment variable 'A'");
    }

    // ---- references ----

    [Theory]
    [InlineData("args: [\"{{params.nope}}\"]", "steps[0].args[0]", "unknown parameter 'nope'")]
    [InlineData("args: [\"{{params.epoch}}\"]", "steps[0].args[0]", "did you mean 'epochs'")]
    [InlineData("env: { A: \"{{steps.zzz.outputs.o}}\" }", "steps[0].env.A", "unknown step 'zzz'")]
    [InlineData("workingDir: \"{{steps.b.outputs.nope}}\"", "steps[0].workingDir", "step 'b' has no output 'nope' (it declares out)")]
    [InlineData("args: [\"{{steps.c.outputs.x}}\"]", "steps[0].args[0]", "step 'c' is a condition step and has no outputs")]
    [InlineData("args: [\"{{steps.d.outputs.x}}\"]", "steps[0].args[0]", "step 'd' declares no outputs")]
    [InlineData("args: [\"{{steps.a.outputs.own}}\"]", "steps[0].args[0]", "cannot use its own outputs")]
    [InlineData("args: [\"{{run.user}}\"]", "steps[0].args[0]", "unknown run field 'user'")]
    [InlineData("args: [\"{{ nonsense }}\"]", "steps[0].args[0]", "unknown reference 'nonsense'")]
    [InlineData("args: [\"{{params.epochs\"]", "steps[0].args[0]", "unclosed '{{'")]
    [InlineData("command: \"{{params.x}\"", "steps[0].command", "unclosed '{{'")]
    [InlineData("args: [\"{{params.epochs}} {{params.epochs\"]", "steps[0].args[0]", "unclosed '{{'")]
    [InlineData("dependsOn: [zzz]", "steps[0].dependsOn[0]", "unknown step 'zzz' in dependsOn")]
    [InlineData("dependsOn: [bb]", "steps[0].dependsOn[0]", "did you mean 'b'")]
    [InlineData("dependsOn: [a]", "steps[0].dependsOn[0]", "cannot depend on itself")]
    public void Compile_BadReference_Reported(string body, string path, string fragment)
    {
        var source = $"""
            name: p
            parameters:
              epochs: {"{"} type: Integer, default: 1 {"}"}
            steps:
              - name: a
                outputs: {"{"} own: String {"}"}
                {body}{(body.StartsWith("command", StringComparison.Ordinal) ? "" : "\n    command: x")}
              - {"{"} name: b, command: x, outputs: {"{"} out: String {"}"} {"}"}
              - {"{"} name: c, type: condition, if: "true" {"}"}
              - {"{"} name: d, command: x {"}"}
            """;
        Has(source, path, fragment, 7);
    }

    [Theory]
    [InlineData("steps.x.outputs.y > 1", "unknown step 'x'")]
    [InlineData("params.nope == 1", "unknown parameter 'nope'")]
    [InlineData("steps.a.outputs.nope == 1", "step 'a' has no output 'nope'")]
    [InlineData("run.nope == 1", "unknown run field 'nope'")]
    [InlineData("steps.a.outputs.n > 'x'", "cannot compare")]
    [InlineData("params.n", "must be a Boolean expression")]
    [InlineData("params.flag and params.n", "'and' needs Boolean operands")]
    [InlineData("run.attempt == 'first'", "cannot compare")]
    [InlineData("steps.a.outputs.n >", "invalid condition: expected a value")]
    [InlineData("steps.a.outputs.n => 1", "invalid condition: ")]
    [InlineData("{{params.n}} > 1", "without {{ }}")]
    public void Compile_BadCondition_Reported(string condition, string fragment)
    {
        var source = $"""
            name: p
            parameters:
              n: {"{"} type: Integer, default: 1 {"}"}
              flag: {"{"} type: Boolean, default: true {"}"}
            steps:
              - {"{"} name: a, command: x, outputs: {"{"} n: Integer {"}"} {"}"}
              - name: c
                type: condition
                if: "{condition.Replace("\"", "\\\"", StringComparison.Ordinal)}"
            """;
        Has(source, "steps[1].if", fragment, 9);
    }

    [Fact]
    public void Compile_ConditionSyntaxError_MessageHasCharacterPosition()
    {
        var p = Has("name: p\nsteps:\n  - { name: c, type: condition, if: \"true and\" }\n", "steps[0].if", "character 9", 3);
        Assert.StartsWith("invalid condition:", p.Message, StringComparison.Ordinal);
    }

    // ---- cycles ----

    [Fact]
    public void Compile_TwoStepCycle_NamesCycle()
    {
        Has("name: p\nsteps:\n  - { name: a, command: x, dependsOn: [b] }\n  - { name: b, command: x, dependsOn: [a] }\n",
            "steps[0]", "dependency cycle: a -> b -> a", 3);
    }

    [Fact]
    public void Compile_ImplicitCycle_NamesCycle()
    {
        var p = Has("""
            name: p
            steps:
              - { name: s1, command: x, outputs: { o: String }, args: ["{{steps.s3.outputs.o}}"] }
              - { name: s2, command: x, outputs: { o: String }, args: ["{{steps.s1.outputs.o}}"] }
              - { name: s3, command: x, outputs: { o: String }, env: { A: "{{steps.s2.outputs.o}}" } }
              - { name: free, command: x, dependsOn: [s1] }
            """, "steps[0]", "dependency cycle: s1 -> s3 -> s2 -> s1");
        Assert.Equal(3, p.Line);
    }

    [Fact]
    public void Compile_ConditionDependingOnOwnBranch_IsCycle()
    {
        Has("""
            name: p
            steps:
              - name: c
                type: condition
                if: "steps.inner.outputs.ok == true"
                then:
                  - { name: inner, command: x, outputs: { ok: Boolean } }
            """, "steps[0]", "dependency cycle: c -> inner -> c");
    }

    [Fact]
    public void Compile_TwoSeparateCycles_BothReported()
    {
        var problems = Problems("""
            name: p
            steps:
              - { name: a, command: x, dependsOn: [b] }
              - { name: b, command: x, dependsOn: [a] }
              - { name: c, command: x, dependsOn: [d] }
              - { name: d, command: x, dependsOn: [c] }
            """);
        Assert.Equal(2, problems.Count(p => p.Message.StartsWith("dependency cycle", StringComparison.Ordinal)));
    }

    // ---- limits ----

    [Fact]
    public void Compile_TooManySteps_Reported()
    {
        var source = "name: p\nsteps:\n" + string.Concat(Enumerable.Range(0, NativeCompiler.MaxSteps + 1).Select(i => $"  - {{ name: s{i}, command: x }}\n"));
        Has(source, "steps", "at most 1000 steps");
    }

    [Fact]
    public void Compile_TooManyStepsCountingBranches_Reported()
    {
        var inner = string.Concat(Enumerable.Range(0, NativeCompiler.MaxSteps).Select(i => $"      - {{ name: s{i}, command: x }}\n"));
        Has("name: p\nsteps:\n  - name: c\n    type: condition\n    if: \"true\"\n    then:\n" + inner, "steps", "this one has 1001");
    }

    [Fact]
    public void Compile_TooManyArgs_Reported()
    {
        Has(Step("command: x\nargs: [" + string.Join(",", Enumerable.Repeat("a", NativeCompiler.MaxArgs + 1)) + "]"), "steps[0].args", "at most 1000 args");
    }

    [Fact]
    public void Compile_StringTooLong_Reported()
    {
        var big = new string('x', NativeCompiler.MaxStringLength + 1);
        Has(Step($"command: x\nargs: [\"{big}\"]"), "steps[0].args[0]", "at most 102400");
        Has(Step($"command: {big}"), "steps[0].command", "at most 102400");
        Has($"name: p\nparameters:\n  s: {{ type: String, default: {big} }}\nsteps: [{{name: a, command: x}}]", "parameters.s.default", "at most 102400");
    }

    [Fact]
    public void Compile_DescriptionTooLong_Reported()
    {
        Has($"name: p\ndescription: {new string('d', 4097)}\nsteps: [{{name: a, command: x}}]", "description", "at most 4096");
    }

    [Fact]
    public void Compile_ConditionsNestedTooDeep_Reported()
    {
        var p = Has(NativeCompilerTests.NestedConditions(NativeCompiler.MaxConditionDepth + 1), $"steps[0]{string.Concat(Enumerable.Repeat(".then[0]", NativeCompiler.MaxConditionDepth))}.then", "nested more than 32 levels");
        Assert.NotNull(p.Line);
    }

    [Fact]
    public void Compile_SourceOverFourMegabytes_Reported()
    {
        var source = "name: p\nsteps: [{name: a, command: x}]\n#" + new string('x', NativeCompiler.MaxSourceBytes);
        var p = Assert.Single(Problems(source));
        Assert.Contains("at most 4194304 bytes", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_MultibyteSourceOverLimit_CountsBytes()
    {
        var source = "name: p\nsteps: [{name: a, command: x}]\n#" + new string('\u00e9', NativeCompiler.MaxSourceBytes / 2 + 10);
        Assert.Contains("bytes", Assert.Single(Problems(source)).Message, StringComparison.Ordinal);
    }

    // ---- everything at once ----

    [Fact]
    public void Compile_ManyProblems_AllReportedTogether()
    {
        var problems = Problems("""
            name: bad name
            colour: blue
            parameters:
              n: { type: Integer, default: x }
            steps:
              - name: a
                command: x
                args: oops
                timeout: soon
              - name: a
                command: "{{params.missing}}"
              - name: c
                type: condition
                if: "params.n >"
                command: x
              - name: d
                dependsOn: [ghost]
            """);
        string[] expected =
        [
            "name", "colour", "parameters.n.default", "steps[0].args", "steps[0].timeout", "steps[1].name",
            "steps[1].command", "steps[2].if", "steps[2].command", "steps[3].command", "steps[3].dependsOn[0]",
        ];
        foreach (var path in expected)
        {
            Assert.True(problems.Any(p => p.Path == path), $"no problem at {path} among:\n{string.Join("\n", problems)}");
        }
        Assert.All(problems, p => Assert.NotNull(p.Line));
    }

    [Fact]
    public void Compile_Problems_InSourceOrder()
    {
        var problems = Problems("name: p\nsteps:\n  - { name: a, command: x, dependsOn: [zzz] }\n  - { name: a, command: x }\n  - { name: b, colour: x }\n");
        Assert.Equal(["steps[0].dependsOn[0]", "steps[1].name", "steps[2].command", "steps[2].colour"], problems.Select(p => p.Path));
        Assert.Equal(problems.OrderBy(p => p.Line).ThenBy(p => p.Column), problems);
    }

    [Fact]
    public void Compile_JsonProblems_HaveLines()
    {
        var problems = Problems("""
            {
              "name": "p",
              "steps": [
                { "name": "a", "command": "x", "args": "oops" },
                { "name": "b", "comand": "x" }
              ]
            }
            """);
        Assert.Contains(problems, p => p is { Path: "steps[0].args", Line: 4, Column: 44 });
        Assert.Contains(problems, p => p is { Path: "steps[1].comand", Line: 5 });
        Assert.Contains(problems, p => p is { Path: "steps[1].command", Line: 5 });
    }

    // ---- syntax ----

    [Fact]
    public void Compile_YamlSyntaxError_HasLineAndColumn()
    {
        var p = Assert.Single(Problems("name: p\nsteps:\n  - name: a\n   command: [x\n"));
        Assert.StartsWith("invalid YAML", p.Message, StringComparison.Ordinal);
        Assert.NotNull(p.Line);
        Assert.Equal("", p.Path);
    }

    [Theory]
    [InlineData("{\"name\": \"p\",}", 1)]
    [InlineData("{\"name\": \"p\"\n\"steps\": []}", 2)]
    [InlineData("{\"name\": 'p'}", 1)]
    [InlineData("{\"name\": \"p\"} // comment", 1)]
    [InlineData("{\"name\": \"p\"", 1)]
    public void Compile_JsonSyntaxError_HasLine(string source, int line)
    {
        var p = Assert.Single(Problems(source, "json"));
        Assert.StartsWith("invalid JSON", p.Message, StringComparison.Ordinal);
        Assert.Equal(line, p.Line);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n# only a comment\n")]
    [InlineData("~")]
    public void Compile_Empty_Reported(string source)
    {
        var p = Assert.Single(Problems(source));
        Assert.Contains(p.Message, new[] { "the definition is empty", "a pipeline definition must be a map with name and steps, not null" });
    }

    [Fact]
    public void Compile_TwoDocuments_Reported()
    {
        Has("name: p\nsteps: [{name: a, command: x}]\n---\nname: q\n", "", "single YAML document", 3);
    }

    [Fact]
    public void Compile_UnsupportedTag_Reported()
    {
        Has("name: !!python/object:os.system p\nsteps: [{name: a, command: x}]\n", "", "unsupported tag");
        Has("name: p\nsteps: !custom [{name: a, command: x}]\n", "", "unsupported tag");
    }

    [Fact]
    public void Compile_StandardTags_Resolve()
    {
        var plan = NativeCompilerTests.CompileOk("name: !!str p\nparameters:\n  n: { type: String, default: !!str 3 }\nsteps: !!seq [{name: a, command: x}]\n");
        Assert.Equal("3", plan.Parameters[0].Default!.GetValue<string>());
        Has("name: p\nmaxParallelSteps: !!int abc\nsteps: [{name: a, command: x}]\n", "", "not a valid int");
    }

    [Fact]
    public void Compile_ComplexKey_Reported()
    {
        Has("name: p\n? [a, b]\n: c\nsteps: [{name: a, command: x}]\n", "", "map keys must be plain values");
    }

    [Fact]
    public void Compile_UnknownAlias_Reported()
    {
        Has("name: *nothing\nsteps: [{name: a, command: x}]\n", "", "unknown alias");
    }

    [Fact]
    public void Compile_UnknownFormat_Reported()
    {
        var p = Assert.Single(Problems("name: p", "toml"));
        Assert.Equal("format", p.Path);
    }
}
