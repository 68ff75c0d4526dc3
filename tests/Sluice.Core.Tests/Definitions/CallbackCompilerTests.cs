using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public class CallbackCompilerTests
{
    private const string Valid = """
        name: approve
        parameters:
          n: { type: Integer, default: 3 }
        steps:
          - name: wait
            type: callback
            queue: approvals
            arguments: { number: "{{params.n}}", label: "run {{run.id}}" }
            answerDeadline: 2h
            outputs: { verdict: String, score: Float }
          - name: after
            command: echo
            args: ["{{steps.wait.outputs.score}}"]
        """;

    [Fact]
    public void Compile_CallbackStep_PlanWithQueueArgumentsDeadlineAndOutputs()
    {
        var r = NativeCompiler.Compile(Valid);
        Assert.True(r.Ok, string.Join("; ", r.Problems));
        var c = Assert.IsType<CallbackStepPlan>(r.Plan!.Find("wait"));
        Assert.Equal("approvals", c.Queue!.Source);
        Assert.Null(c.Webhook);
        Assert.Equal(["number", "label"], c.Arguments.Keys);
        Assert.Equal(TimeSpan.FromHours(2), c.AnswerDeadline);
        Assert.Equal(["verdict", "score"], c.Outputs.Select(o => o.Name));
        Assert.Equal(["wait"], r.Plan.Find("after")!.DependsOn);
    }

    [Theory]
    [InlineData("    queue: q\n    webhook: http://127.0.0.1:1/x\n", "steps[0].webhook", "either a queue or a webhook")]
    [InlineData("    arguments: {}\n", "steps[0].queue", "needs a queue")]
    [InlineData("    queue: 'bad name!'\n", "steps[0].queue", "invalid queue name")]
    [InlineData("    webhook: ftp://x/y\n", "steps[0].webhook", "http(s) URL")]
    [InlineData("    queue: q\n    answerDeadline: soon\n", "steps[0].answerDeadline", "")]
    [InlineData("    queue: q\n    command: echo\n", "steps[0].command", "only for process steps")]
    [InlineData("    queue: q\n    retries: 2\n", "steps[0].retries", "only for process steps")]
    public void Compile_InvalidCallbackStep_ReportsTheProblemAtItsPath(string fields, string path, string message)
    {
        var r = NativeCompiler.Compile($"name: p\nsteps:\n  - name: wait\n    type: callback\n{fields}");
        Assert.False(r.Ok);
        Assert.Contains(r.Problems, p => p.Path == path && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_QueueFieldOnProcessStep_IsAProblem()
    {
        var r = NativeCompiler.Compile("name: p\nsteps:\n  - name: a\n    command: echo\n    queue: q\n");
        Assert.Contains(r.Problems, p => p.Path == "steps[0].queue" && p.Message.Contains("only for callback steps", StringComparison.Ordinal));
    }
}
