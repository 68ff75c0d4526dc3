using System.Text.Json.Nodes;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public class NativeCompilerTests
{
    internal static Plan CompileOk(string source, string? format = null)
    {
        var r = NativeCompiler.Compile(source, format);
        Assert.True(r.Ok, string.Join("\n", r.Problems));
        Assert.Empty(r.Problems);
        return r.Plan!;
    }

    private const string TrainYaml = """
        name: train
        description: Trains a model when there is enough data.
        maxParallelSteps: 4
        parameters:
          epochs: { type: Integer, default: 3, description: passes over the data }
          dataset: { type: String }
          rate: { type: Float, default: 1 }
          dryRun: { type: Boolean, default: false }
        steps:
          - name: prep
            command: python3
            args: ["prep.py", "--dataset", "{{params.dataset}}", 3, true]
            env: { MODE: "{{params.dataset}}", RUN: "{{run.id}}" }
            workingDir: /tmp
            outputs: { path: String, count: Integer }
            timeout: 30s
            retries: { count: 2, backoff: 1s, multiplier: 2, maxBackoff: 1m }
            stopGracePeriod: 10s
          - name: check
            type: condition
            if: "steps.prep.outputs.count > 10 and params.dataset != 'tiny'"
            then:
              - name: train
                command: python3
                args: ["train.py", "--data", "{{steps.prep.outputs.path}}", "--epochs", "{{params.epochs}}"]
                outputs: { accuracy: Float }
            else:
              - name: stop-here
                type: fail
                message: "too few rows: {{steps.prep.outputs.count}}"
          - name: report
            type: process
            command: echo
            args: ["{{steps.train.outputs.accuracy}}"]
            dependsOn: [prep]
        """;

    private const string TrainJson = """
        {
          "name": "train",
          "description": "Trains a model when there is enough data.",
          "maxParallelSteps": 4,
          "parameters": {
            "epochs": { "type": "Integer", "default": 3, "description": "passes over the data" },
            "dataset": { "type": "String" },
            "rate": { "type": "Float", "default": 1 },
            "dryRun": { "type": "Boolean", "default": false }
          },
          "steps": [
            {
              "name": "prep",
              "command": "python3",
              "args": ["prep.py", "--dataset", "{{params.dataset}}", 3, true],
              "env": { "MODE": "{{params.dataset}}", "RUN": "{{run.id}}" },
              "workingDir": "/tmp",
              "outputs": { "path": "String", "count": "Integer" },
              "timeout": "30s",
              "retries": { "count": 2, "backoff": "1s", "multiplier": 2, "maxBackoff": "1m" },
              "stopGracePeriod": "10s"
            },
            {
              "name": "check",
              "type": "condition",
              "if": "steps.prep.outputs.count > 10 and params.dataset != 'tiny'",
              "then": [
                {
                  "name": "train",
                  "command": "python3",
                  "args": ["train.py", "--data", "{{steps.prep.outputs.path}}", "--epochs", "{{params.epochs}}"],
                  "outputs": { "accuracy": "Float" }
                }
              ],
              "else": [
                { "name": "stop-here", "type": "fail", "message": "too few rows: {{steps.prep.outputs.count}}" }
              ]
            },
            {
              "name": "report",
              "type": "process",
              "command": "echo",
              "args": ["{{steps.train.outputs.accuracy}}"],
              "dependsOn": ["prep"]
            }
          ]
        }
        """;

    [Fact]
    public void Compile_FullYaml_BuildsPlan()
    {
        var plan = CompileOk(TrainYaml);
        Assert.Equal("train", plan.Name);
        Assert.Equal("Trains a model when there is enough data.", plan.Description);
        Assert.Equal(4, plan.MaxParallelSteps);

        Assert.Equal(["epochs", "dataset", "rate", "dryRun"], plan.Parameters.Select(p => p.Name));
        var epochs = plan.Parameters[0];
        Assert.Equal(ParamType.Integer, epochs.Type);
        Assert.Equal(3L, epochs.Default!.GetValue<long>());
        Assert.Equal("passes over the data", epochs.Description);
        Assert.Null(plan.Parameters[1].Default);
        Assert.Equal(1.0, plan.Parameters[2].Default!.GetValue<double>());
        Assert.False(plan.Parameters[3].Default!.GetValue<bool>());

        Assert.Equal(["prep", "check", "train", "stop-here", "report"], plan.Steps.Select(s => s.Name));

        var prep = Assert.IsType<ProcessStepPlan>(plan.Steps[0]);
        Assert.Equal("python3", prep.Command.Source);
        Assert.Equal(["prep.py", "--dataset", "{{params.dataset}}", "3", "true"], prep.Args.Select(a => a.Source));
        Assert.Equal("{{params.dataset}}", prep.Env["MODE"].Source);
        Assert.Equal("/tmp", prep.WorkingDir!.Source);
        Assert.Equal([new OutputSpec("path", ParamType.String), new OutputSpec("count", ParamType.Integer)], prep.Outputs);
        Assert.Equal(TimeSpan.FromSeconds(30), prep.Timeout);
        Assert.Equal(new RetryPolicy(2, TimeSpan.FromSeconds(1), 2, TimeSpan.FromMinutes(1)), prep.Retry);
        Assert.Equal(TimeSpan.FromSeconds(10), prep.StopGracePeriod);
        Assert.Empty(prep.DependsOn);
        Assert.Null(prep.Guard);

        var check = Assert.IsType<ConditionStepPlan>(plan.Steps[1]);
        Assert.Equal(["prep"], check.DependsOn);
        Assert.Equal(["train"], check.Then);
        Assert.Equal(["stop-here"], check.Else);
        Assert.Equal("steps.prep.outputs.count > 10 and params.dataset != 'tiny'", check.Condition.ToString());

        var train = Assert.IsType<ProcessStepPlan>(plan.Steps[2]);
        Assert.Equal(new Guard("check", true), train.Guard);
        Assert.Equal(["prep", "check"], train.DependsOn);

        var stop = Assert.IsType<FailStepPlan>(plan.Steps[3]);
        Assert.Equal(new Guard("check", false), stop.Guard);
        Assert.Equal(["prep", "check"], stop.DependsOn);
        Assert.Equal("too few rows: {{steps.prep.outputs.count}}", stop.Message.Source);

        var report = plan.Steps[4];
        Assert.Equal(["prep", "train"], report.DependsOn);
        Assert.Null(report.Guard);
    }

    [Fact]
    public void Compile_SameDefinitionAsJson_GivesEqualPlan()
    {
        var fromYaml = PlanText.Describe(CompileOk(TrainYaml));
        Assert.Equal(fromYaml, PlanText.Describe(CompileOk(TrainJson)));
        Assert.Equal(fromYaml, PlanText.Describe(CompileOk(TrainJson, "json")));
        Assert.Equal(fromYaml, PlanText.Describe(CompileOk(TrainJson, "yaml")));
    }

    [Fact]
    public void Compile_YamlFlowMapWithoutFormat_FallsBackToYaml()
    {
        var plan = CompileOk("{name: flow, steps: [{name: a, command: echo}]}");
        Assert.Equal("flow", plan.Name);
        Assert.False(NativeCompiler.Compile("{name: flow, steps: [{name: a, command: echo}]}", "json").Ok);
    }

    [Fact]
    public void Compile_Minimal_Defaults()
    {
        var plan = CompileOk("name: hello\nsteps:\n  - name: say\n    command: echo\n");
        var step = Assert.IsType<ProcessStepPlan>(Assert.Single(plan.Steps));
        Assert.Empty(step.Args);
        Assert.Empty(step.Env);
        Assert.Null(step.WorkingDir);
        Assert.Null(step.Timeout);
        Assert.Null(step.Retry);
        Assert.Null(step.StopGracePeriod);
        Assert.Null(plan.MaxParallelSteps);
        Assert.Null(plan.Description);
        Assert.Empty(plan.Parameters);
    }

    [Fact]
    public void Compile_Dependencies_TopologicalOrderStableByDefinition()
    {
        var plan = CompileOk("""
            name: order
            steps:
              - { name: c, command: x, dependsOn: [b] }
              - { name: x, command: x }
              - { name: b, command: x, dependsOn: [a] }
              - { name: a, command: x }
              - { name: y, command: x }
            """);
        Assert.Equal(["x", "a", "b", "c", "y"], plan.Steps.Select(s => s.Name));
    }

    [Fact]
    public void Compile_IndependentSteps_KeepDefinitionOrder()
    {
        var plan = CompileOk("name: p\nsteps:\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"  - {{ name: s{49 - i}, command: x }}\n")));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"s{49 - i}"), plan.Steps.Select(s => s.Name));
    }

    [Fact]
    public void Compile_TemplateReferences_BecomeDependenciesOnce()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - name: a
                command: x
                outputs: { o: String, n: Integer }
              - name: b
                outputs: { o: String }
                command: "{{steps.a.outputs.o}}"
                args: ["{{steps.a.outputs.o}}-{{steps.a.outputs.n}}"]
                env: { X: "{{steps.a.outputs.n}}" }
                workingDir: "/w/{{steps.a.outputs.o}}"
                dependsOn: [a]
              - name: c
                command: x
                env: { X: "{{steps.b.outputs.o}}" }
                args: ["{{steps.a.outputs.n}}"]
            """);
        Assert.Equal(["a"], plan.Find("b")!.DependsOn);
        Assert.Equal(["a", "b"], plan.Find("c")!.DependsOn.Order());
    }

    [Fact]
    public void Compile_ReferenceIntoBranchFromOutside_IsImplicitDependency()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - { name: gate, type: condition, if: "true", then: [ { name: inner, command: x, outputs: { v: String } } ] }
              - { name: after, command: echo, args: ["{{steps.inner.outputs.v}}"] }
            """);
        Assert.Equal(["inner"], plan.Find("after")!.DependsOn);
        Assert.Null(plan.Find("after")!.Guard);
        Assert.Equal(["gate", "inner", "after"], plan.Steps.Select(s => s.Name));
    }

    [Fact]
    public void Compile_ReferenceToLaterStep_ReordersAndDepends()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - { name: use, command: echo, args: ["{{steps.make.outputs.v}}"] }
              - { name: make, command: x, outputs: { v: String } }
            """);
        Assert.Equal(["make", "use"], plan.Steps.Select(s => s.Name));
        Assert.Equal(["make"], plan.Find("use")!.DependsOn);
    }

    [Fact]
    public void Compile_NestedConditions_InnermostGuard()
    {
        var plan = CompileOk("""
            name: nested
            parameters:
              n: { type: Integer, default: 1 }
            steps:
              - name: outer
                type: condition
                if: params.n > 0
                then:
                  - name: inner
                    type: condition
                    if: params.n > 1
                    then:
                      - { name: leaf, command: x }
                    else:
                      - { name: other, command: x }
                  - { name: sibling, command: x }
                else:
                  - { name: low, type: fail }
              - { name: last, command: x, dependsOn: [leaf, low] }
            """);
        Assert.Equal(["outer", "inner", "leaf", "other", "sibling", "low", "last"], plan.Steps.Select(s => s.Name));
        var outer = Assert.IsType<ConditionStepPlan>(plan.Find("outer"));
        Assert.Equal(["inner", "sibling"], outer.Then);
        Assert.Equal(["low"], outer.Else);
        Assert.Null(outer.Guard);
        var inner = Assert.IsType<ConditionStepPlan>(plan.Find("inner"));
        Assert.Equal(new Guard("outer", true), inner.Guard);
        Assert.Equal(["outer"], inner.DependsOn);
        Assert.Equal(["leaf"], inner.Then);
        Assert.Equal(["other"], inner.Else);
        Assert.Equal(new Guard("inner", true), plan.Find("leaf")!.Guard);
        Assert.Equal(["inner"], plan.Find("leaf")!.DependsOn);
        Assert.Equal(new Guard("inner", false), plan.Find("other")!.Guard);
        Assert.Equal(new Guard("outer", true), plan.Find("sibling")!.Guard);
        Assert.Equal(new Guard("outer", false), plan.Find("low")!.Guard);
        Assert.Equal(["leaf", "low"], plan.Find("last")!.DependsOn);
        Assert.Null(plan.Find("last")!.Guard);
        Assert.Equal("step low failed the run", Assert.IsType<FailStepPlan>(plan.Find("low")).Message.Source);
    }

    [Fact]
    public void Compile_ConditionsNestedToLimit_Compiles()
    {
        var plan = CompileOk(NestedConditions(NativeCompiler.MaxConditionDepth));
        Assert.Equal(NativeCompiler.MaxConditionDepth + 1, plan.Steps.Count);
        Assert.Equal(new Guard($"c{NativeCompiler.MaxConditionDepth - 1}", true), plan.Find("leaf")!.Guard);
    }

    internal static string NestedConditions(int depth)
    {
        var sb = new System.Text.StringBuilder("name: deep\nsteps:\n");
        var indent = "  ";
        for (var i = 0; i < depth; i++)
        {
            sb.Append(indent).Append("- name: c").Append(i).Append('\n');
            sb.Append(indent).Append("  type: condition\n");
            sb.Append(indent).Append("  if: \"true\"\n");
            sb.Append(indent).Append("  then:\n");
            indent += "    ";
        }
        sb.Append(indent).Append("- { name: leaf, command: x }\n");
        return sb.ToString();
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1h30m15s", 5_415_000)]
    [InlineData("1m500ms", 60_500)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1d", 86_400_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("45", 45_000)]
    [InlineData("\"45\"", 45_000)]
    [InlineData("0.5", 500)]
    [InlineData("1", 1_000)]
    public void Compile_Durations_Parse(string text, long milliseconds)
    {
        var plan = CompileOk($"name: p\nsteps:\n  - name: a\n    command: x\n    timeout: {text}\n");
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), plan.Steps[0].Timeout);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    [InlineData("1h", 3_600_000)]
    [InlineData("250ms", 250)]
    public void Compile_StopGracePeriod_AllowsZeroToOneHour(string text, long milliseconds)
    {
        var plan = CompileOk($"name: p\nsteps:\n  - name: a\n    command: x\n    stopGracePeriod: {text}\n");
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), plan.Steps[0].StopGracePeriod);
    }

    [Fact]
    public void Compile_RetriesAsCount_UsesDefaults()
    {
        var plan = CompileOk("name: p\nsteps:\n  - name: a\n    command: x\n    retries: 3\n");
        Assert.Equal(new RetryPolicy(3, TimeSpan.FromSeconds(1), 2.0, null), plan.Steps[0].Retry);
    }

    [Fact]
    public void Compile_RetriesAsMap_ReadsEveryField()
    {
        var plan = CompileOk("name: p\nsteps:\n  - name: a\n    command: x\n    retries: { count: 5, backoff: 250ms, multiplier: 1.5, maxBackoff: 10s }\n");
        var r = plan.Steps[0].Retry!;
        Assert.Equal(new RetryPolicy(5, TimeSpan.FromMilliseconds(250), 1.5, TimeSpan.FromSeconds(10)), r);
        Assert.Equal(TimeSpan.FromMilliseconds(375), r.DelayBefore(3));
    }

    [Fact]
    public void Compile_RetriesZero_KeepsPolicyWithoutRetries()
    {
        var plan = CompileOk("name: p\nsteps:\n  - name: a\n    command: x\n    retries: { count: 0, backoff: 0s }\n");
        Assert.Equal(new RetryPolicy(0, TimeSpan.Zero), plan.Steps[0].Retry);
    }

    [Fact]
    public void Compile_YamlScalarForms_AreText()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - name: a
                command: 'echo'
                args: [1.50, 0x1F, ~x, "null", 'true', yes, 2024-01-01]
                env: { A: 3, B: false }
            """);
        var a = Assert.IsType<ProcessStepPlan>(plan.Steps[0]);
        Assert.Equal(["1.50", "0x1F", "~x", "null", "true", "yes", "2024-01-01"], a.Args.Select(x => x.Source));
        Assert.Equal("3", a.Env["A"].Source);
        Assert.Equal("false", a.Env["B"].Source);
    }

    [Fact]
    public void Compile_AnchorsAndAliases_AreExpanded()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - name: a
                command: x
                env: &common { A: "1", B: "2" }
              - name: b
                command: x
                env: *common
            """);
        Assert.Equal("2", Assert.IsType<ProcessStepPlan>(plan.Find("b")).Env["B"].Source);
    }

    [Fact]
    public void Compile_ParameterTypes_TypedDefaults()
    {
        var plan = CompileOk("""
            name: p
            parameters:
              s: { type: String, default: "3" }
              i: { type: Integer, default: -7 }
              f: { type: Float, default: 2.5 }
              b: { type: Boolean, default: true }
              e: { type: String, default: "" }
              _under-score: { type: String }
            steps:
              - { name: a, command: x }
            """);
        Assert.Equal("3", plan.Parameters[0].Default!.GetValue<string>());
        Assert.Equal(-7L, plan.Parameters[1].Default!.GetValue<long>());
        Assert.Equal(2.5, plan.Parameters[2].Default!.GetValue<double>());
        Assert.True(plan.Parameters[3].Default!.GetValue<bool>());
        Assert.Equal("", plan.Parameters[4].Default!.GetValue<string>());
        Assert.Null(plan.Parameters[5].Default);
    }

    [Fact]
    public void Compile_RunReferences_Allowed()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - { name: a, command: x, args: ["{{run.id}}", "{{run.pipeline}}", "{{ run.attempt }}"] }
              - { name: c, type: condition, if: "run.attempt > 1 and run.id != 'x'" }
            """);
        Assert.Empty(plan.Find("a")!.DependsOn);
        Assert.Empty(plan.Find("c")!.DependsOn);
    }

    [Fact]
    public void Compile_ConditionWithoutBranches_IsAllowed()
    {
        var plan = CompileOk("name: p\nsteps:\n  - { name: c, type: condition, if: \"true\" }\n");
        var c = Assert.IsType<ConditionStepPlan>(plan.Steps[0]);
        Assert.Empty(c.Then);
        Assert.Empty(c.Else);
    }

    [Fact]
    public void Compile_ConditionExpression_EvaluatesAgainstRunValues()
    {
        var plan = CompileOk(TrainYaml);
        var check = Assert.IsType<ConditionStepPlan>(plan.Find("check"));
        var resolver = new TestResolver().Set("steps.prep.outputs.count", 11).Set("params.dataset", "big");
        Assert.True(check.Condition.EvaluateBool(resolver));
        Assert.False(check.Condition.EvaluateBool(new TestResolver().Set("steps.prep.outputs.count", 11).Set("params.dataset", "tiny")));
    }

    [Fact]
    public void Compile_CommentsAndDocumentMarkers_AreFine()
    {
        CompileOk("# a pipeline\n---\nname: p # trailing\nsteps:\n  - name: a   # first\n    command: x\n...\n");
    }

    [Fact]
    public void Compile_ByteOrderMark_IsIgnored()
    {
        CompileOk("\uFEFFname: p\nsteps: [{name: a, command: x}]\n");
        CompileOk("\uFEFF{\"name\": \"p\", \"steps\": [{\"name\": \"a\", \"command\": \"x\"}]}");
    }

    [Fact]
    public void Compile_MaxParallelAndLimitsAtBoundary_Compile()
    {
        var plan = CompileOk($"name: {new string('n', 128)}\nmaxParallelSteps: 1000\nsteps:\n  - name: {new string('s', 128)}\n    command: x\n    args: [{string.Join(", ", Enumerable.Repeat("a", NativeCompiler.MaxArgs))}]\n    timeout: 7d\n");
        Assert.Equal(1000, plan.MaxParallelSteps);
        Assert.Equal(NativeCompiler.MaxArgs, Assert.IsType<ProcessStepPlan>(plan.Steps[0]).Args.Count);
        var many = "name: p\nsteps:\n" + string.Concat(Enumerable.Range(0, NativeCompiler.MaxSteps).Select(i => $"  - {{ name: s{i}, command: x, dependsOn: [{(i == 0 ? "" : $"s{i - 1}")}] }}\n"));
        Assert.Equal(NativeCompiler.MaxSteps, CompileOk(many).Steps.Count);
    }

    [Fact]
    public void Compile_LongChain_OrdersWithoutRecursion()
    {
        // Defined last-first, so the topological order is the reverse of the definition order.
        var steps = string.Concat(Enumerable.Range(0, NativeCompiler.MaxSteps).Reverse()
            .Select(i => $"  - {{ name: s{i}, command: x{(i == 0 ? "" : $", dependsOn: [s{i - 1}]")} }}\n"));
        var plan = CompileOk("name: p\nsteps:\n" + steps);
        Assert.Equal(Enumerable.Range(0, NativeCompiler.MaxSteps).Select(i => $"s{i}"), plan.Steps.Select(s => s.Name));
    }

    [Fact]
    public void DefinitionCompilers_NativeFormats_Compile()
    {
        var compilers = new DefinitionCompilers([new NativeDefinitionCompiler()]);
        Assert.True(compilers.Compile("name: p\nsteps: [{name: a, command: x}]", "native-yaml").Ok);
        Assert.True(compilers.Compile("{\"name\":\"p\",\"steps\":[{\"name\":\"a\",\"command\":\"x\"}]}", "native-json").Ok);
        Assert.False(compilers.Compile("name: p\nsteps: [{name: a, command: x}]", "native-json").Ok);
    }

    [Fact]
    public void Compile_FailMessage_ReferencesBecomeDependencies()
    {
        var plan = CompileOk("""
            name: p
            steps:
              - { name: a, command: x, outputs: { n: Integer } }
              - { name: stop, type: fail, message: "n was {{steps.a.outputs.n}}" }
            """);
        Assert.Equal(["a"], plan.Find("stop")!.DependsOn);
    }

    [Fact]
    public void Compile_ParameterValues_RenderIntoTemplates()
    {
        var plan = CompileOk(TrainYaml);
        var prep = Assert.IsType<ProcessStepPlan>(plan.Find("prep"));
        var resolver = new TestResolver().Set("params.dataset", JsonValue.Create("big")).Set("run.id", "r1");
        Assert.Equal("big", prep.Args[2].Render(resolver));
        Assert.Equal("r1", prep.Env["RUN"].Render(resolver));
    }
}
