using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using static Sluice.Engine.Tests.Steps;

namespace Sluice.Engine.Tests;

/// <summary>Groups (with conditions), for-each groups whose width is known only at run time, finally steps and failure
/// policies, run by the real engine with real processes.</summary>
public sealed class GroupTests : IAsyncLifetime
{
    private EngineHarness h = null!;

    public async Task InitializeAsync() => h = await EngineHarness.StartAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly OutputSpec[] V = [new("v", ParamType.String)];

    private static Plan PlanOf(params StepPlan[] steps) => new() { Steps = steps };

    [Fact]
    public async Task ForEach_OverAListParameter_RunsTheBodyOncePerItemAndCollectsOutputs()
    {
        var loop = new GroupStepPlan
        {
            Name = "loop",
            ForEach = new ForEachSpec
            {
                Items = Template.Of(new ParamRef("names")),
                Body = [ShWith("greet", "printf 'hi %s' \"$0\" > $SLUICE_OUTPUTS/v", [new ItemRef("loop")], outputs: V)],
                Collect = new Dictionary<string, StepOutputRef> { ["all"] = new("greet", "v") },
            },
        };
        var after = Sh("after", "printf '%s' '{{steps.loop.outputs.all}}' > $SLUICE_OUTPUTS/v", ["loop"], outputs: V);
        var plan = PlanOf(loop, after) with { Parameters = [new ParameterSpec("names", ParamType.List, null)] };

        var id = await h.StartAsync(plan, new JsonObject { ["names"] = new JsonArray("ann", "bob", "cy") });
        var d = await h.EndAsync(id);

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal("hi bob", d.Of("loop[1].greet").Outputs!["v"]!.GetValue<string>());
        Assert.Equal(3, d.Steps.Count(s => s.Name.StartsWith("loop[", StringComparison.Ordinal)));
        Assert.Equal("""["hi ann","hi bob","hi cy"]""", d.Of("after").Outputs!["v"]!.GetValue<string>());
    }

    [Fact]
    public async Task ForEach_ItemsFromAnUpstreamOutput_WidthDecidedAtRunTime()
    {
        var make = Sh("make", "echo '[1, 2, 3, 4]' > $SLUICE_OUTPUTS/list", outputs: [new("list", ParamType.List)]);
        var loop = new GroupStepPlan
        {
            Name = "loop",
            DependsOn = ["make"],
            ForEach = new ForEachSpec
            {
                Items = Template.Of(new StepOutputRef("make", "list")),
                Body =
                [
                    ShWith("double", "echo $(( $0 * 2 )) > $SLUICE_OUTPUTS/v", [new ItemRef("loop")], outputs: [new("v", ParamType.Integer)]),
                    Sh("show", "echo {{steps.double.outputs.v}} > $SLUICE_OUTPUTS/v", ["double"], outputs: [new("v", ParamType.Integer)]),
                ],
                Collect = new Dictionary<string, StepOutputRef> { ["doubled"] = new("show", "v") },
            },
        };

        var d = await h.EndAsync(await h.StartAsync(PlanOf(make, loop)));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal("[2,4,6,8]", d.Of("loop").Outputs!["doubled"]!.ToJsonString());
        Assert.Equal(8, d.Of("loop[3].show").Outputs!["v"]!.GetValue<long>());
    }

    [Fact]
    public async Task ForEach_ItemsThatAreNotAList_FailsTheGroupAndTheRun()
    {
        var loop = new GroupStepPlan
        {
            Name = "loop",
            ForEach = new ForEachSpec { Items = Template.Literal("not a list"), Body = [Sh("x", "true")] },
        };

        var d = await h.EndAsync(await h.StartAsync(PlanOf(loop)));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Failed, d.Of("loop").State);
        Assert.Contains("not a JSON list", d.Of("loop").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForEach_EmptyList_SucceedsWithNoIterations()
    {
        var loop = new GroupStepPlan { Name = "loop", ForEach = new ForEachSpec { Items = Template.Literal("[]"), Body = [Sh("x", "true")] } };

        var d = await h.EndAsync(await h.StartAsync(PlanOf(loop, Sh("after", "true", ["loop"]))));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal(2, d.Steps.Count);
    }

    [Fact]
    public async Task ForEach_MaxParallel_NeverRunsMoreIterationsAtOnce()
    {
        var log = Path.Combine(h.Scratch, "parallel.log");
        var loop = new GroupStepPlan
        {
            Name = "loop",
            ForEach = new ForEachSpec
            {
                Items = Template.Literal("[1, 2, 3, 4, 5]"),
                MaxParallel = 2,
                // Two steps per iteration: an iteration that has begun keeps its place until its last step ends.
                Body =
                [
                    ShWith("a", $"echo start >> {log}; sleep 0.2", [new ItemRef("loop")]),
                    Sh("b", $"sleep 0.1; echo end >> {log}", ["a"]),
                ],
            },
        };

        var d = await h.EndAsync(await h.StartAsync(PlanOf(loop)));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        var running = 0;
        var most = 0;
        foreach (var line in await File.ReadAllLinesAsync(log))
        {
            running += line == "start" ? 1 : -1;
            most = Math.Max(most, running);
        }
        Assert.Equal(2, most);
    }

    [Fact]
    public async Task ForEach_Nested_InnerItemsAndOuterItemsAreBothVisible()
    {
        var inner = new GroupStepPlan
        {
            Name = "inner",
            ForEach = new ForEachSpec
            {
                Items = Template.Literal("""["x", "y"]"""),
                Body = [ShWith("pair", "printf '%s' \"$0\" > $SLUICE_OUTPUTS/v", [new ItemRef("outer"), "-", new ItemRef("inner")], outputs: V)],
            },
        };
        var outer = new GroupStepPlan { Name = "outer", ForEach = new ForEachSpec { Items = Template.Literal("[1, 2]"), Body = [inner] } };

        var d = await h.EndAsync(await h.StartAsync(PlanOf(outer)));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal("2-x", d.Of("outer[1].inner[0].pair").Outputs!["v"]!.GetValue<string>());
        Assert.Equal("1-y", d.Of("outer[0].inner[1].pair").Outputs!["v"]!.GetValue<string>());
        Assert.Equal(StepState.Succeeded, d.Of("outer[1].inner").State);
    }

    [Fact]
    public async Task Group_WhenFalse_SkipsItAndEverythingInIt()
    {
        var coin = Sh("coin", "echo tails > $SLUICE_OUTPUTS/v", outputs: V);
        var heads = new GroupStepPlan { Name = "heads", DependsOn = ["coin"], When = Expr("steps.coin.outputs.v == 'heads'") };
        var inner = new GroupStepPlan { Name = "heads.deeper", Group = "heads" };
        var tails = new GroupStepPlan { Name = "tails", DependsOn = ["coin"], When = Expr("steps.coin.outputs.v == 'tails'") };
        var plan = PlanOf(coin, heads, inner,
            Sh("heads.say", "echo heads", group: "heads"), Sh("heads.deeper.say", "echo deeper", group: "heads.deeper"),
            tails, Sh("tails.say", "echo tails > $SLUICE_OUTPUTS/v", group: "tails", outputs: V),
            ShWith("end", "echo \"$0\"", [new StepOutputRef("tails.say", "v")], ["heads", "tails"]));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal(StepState.Skipped, d.Of("heads").State);
        Assert.Equal(StepState.Skipped, d.Of("heads.say").State);
        Assert.Equal(StepState.Skipped, d.Of("heads.deeper.say").State);
        Assert.Equal(StepState.Succeeded, d.Of("tails").State);
        Assert.Equal(StepState.Succeeded, d.Of("tails.say").State);
        // A step after a skipped group is skipped with it (the same rule as after a skipped step).
        Assert.Equal(StepState.Skipped, d.Of("end").State);
    }

    [Fact]
    public async Task FirstOf_TakesTheOutputOfTheBranchThatRan()
    {
        var coin = Sh("coin", "echo tails > $SLUICE_OUTPUTS/v", outputs: V);
        var branches = new GroupStepPlan { Name = "branches", DependsOn = ["coin"] };
        var plan = PlanOf(coin, branches,
            new GroupStepPlan { Name = "branches.h", Group = "branches", When = Expr("steps.coin.outputs.v == 'heads'") },
            Sh("branches.h.say", "echo H > $SLUICE_OUTPUTS/v", group: "branches.h", outputs: V),
            new GroupStepPlan { Name = "branches.t", Group = "branches", When = Expr("steps.coin.outputs.v == 'tails'") },
            Sh("branches.t.say", "echo T > $SLUICE_OUTPUTS/v", group: "branches.t", outputs: V),
            ShWith("after", "printf '%s' \"$0\" > $SLUICE_OUTPUTS/v",
                [new FirstOfRef([new StepOutputRef("branches.h.say", "v"), new StepOutputRef("branches.t.say", "v")])], ["branches"], outputs: V));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal(StepState.Succeeded, d.Of("branches").State);
        Assert.Equal("T", d.Of("after").Outputs!["v"]!.GetValue<string>());
    }

    [Fact]
    public async Task Finally_RunsAfterTheGroupItGuardsFails_SeesItsStatus_RunStillFails()
    {
        var body = new GroupStepPlan { Name = "body" };
        var plan = PlanOf(body,
            Sh("body.ok", "true", group: "body"),
            Sh("body.bad", "echo broken >&2; exit 3", group: "body"),
            Sh("body.later", "true", ["body.bad"], group: "body"),
            ShWith("cleanup", "printf '%s' \"$0\" > $SLUICE_OUTPUTS/v", [new StepStatusRef("body")], ["body"], outputs: V,
                startWhen: StartWhen.AllEnded));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Failed, d.Of("body").State);
        Assert.Equal(StepState.NotStarted, d.Of("body.later").State);
        Assert.Equal(StepState.Succeeded, d.Of("cleanup").State);
        var status = JsonNode.Parse(d.Of("cleanup").Outputs!["v"]!.GetValue<string>())!;
        Assert.Equal("Failed", status["state"]!.GetValue<string>());
        Assert.Contains("body.bad failed", status["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Finally_AfterSuccess_Runs()
    {
        var plan = PlanOf(new GroupStepPlan { Name = "body" }, Sh("body.ok", "true", group: "body"),
            Sh("cleanup", "true", ["body"], startWhen: StartWhen.AllEnded));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal(StepState.Succeeded, d.Of("cleanup").State);
    }

    [Fact]
    public async Task Finally_NeverStartsOnceTheRunIsStopping()
    {
        var started = Path.Combine(h.Scratch, "slow.started");
        var plan = PlanOf(new GroupStepPlan { Name = "body" }, Sh("body.slow", $"touch {started}; sleep 30", group: "body"),
            Sh("cleanup", $"touch {h.Scratch}/cleanup.ran", ["body"], startWhen: StartWhen.AllEnded));
        var id = await h.StartAsync(plan);
        await h.WaitAsync(id, _ => File.Exists(started));

        await h.Runs.StopAsync(new StopRunRequest { RunId = id }, CancellationToken.None);
        var d = await h.EndAsync(id);

        Assert.Equal(RunState.Stopped, d.Run.State);
        Assert.Equal(StepState.Stopped, d.Of("body").State);
        Assert.Equal(StepState.Stopped, d.Of("body.slow").State);
        Assert.Equal(StepState.NotStarted, d.Of("cleanup").State);
        Assert.False(File.Exists(Path.Combine(h.Scratch, "cleanup.ran")));
    }

    [Fact]
    public async Task Stop_DuringAForEach_StopsItsIterationsAndStartsNoMore()
    {
        var log = Path.Combine(h.Scratch, "it.log");
        var loop = new GroupStepPlan
        {
            Name = "loop",
            ForEach = new ForEachSpec
            {
                Items = Template.Literal("[1, 2, 3, 4]"),
                MaxParallel = 2,
                Body = [ShWith("work", $"echo \"$0\" >> {log}; sleep 30", [new ItemRef("loop")])],
            },
        };
        var id = await h.StartAsync(PlanOf(loop));
        await h.WaitAsync(id, d => d.Steps.Count(s => s.State == StepState.Running && s.Name.EndsWith(".work", StringComparison.Ordinal)) == 2);

        await h.Runs.StopAsync(new StopRunRequest { RunId = id, Grace = TimeSpan.FromSeconds(1) }, CancellationToken.None);
        var d = await h.EndAsync(id);

        Assert.Equal(RunState.Stopped, d.Run.State);
        Assert.Equal(StepState.Stopped, d.Of("loop").State);
        Assert.Equal(2, d.Steps.Count(s => s.State == StepState.Stopped && s.Name.EndsWith(".work", StringComparison.Ordinal)));
        Assert.Equal(2, d.Steps.Count(s => s.State == StepState.NotStarted));
        Assert.Equal(2, (await File.ReadAllLinesAsync(log)).Length);
    }

    [Fact]
    public async Task FailSlow_IndependentStepsGoOn_DependentOnesNeverStart()
    {
        var plan = PlanOf(Sh("bad", "exit 1"), Sh("after-bad", "true", ["bad"]), Sh("slow", "sleep 0.3"), Sh("after-slow", "true", ["slow"]))
            with { FailurePolicy = FailurePolicy.FailSlow };

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.NotStarted, d.Of("after-bad").State);
        Assert.Equal(StepState.Succeeded, d.Of("after-slow").State);
    }

    [Fact]
    public async Task FailSlow_AStepWaitingForItsRetry_IsRetriedBeforeTheRunFails()
    {
        var marker = Path.Combine(h.Scratch, "flaky.once");
        var flaky = Sh("flaky", $"if [ ! -e {marker} ]; then touch {marker}; sleep 0.2; exit 1; fi") with
        {
            Retry = new RetryPolicy(1, TimeSpan.FromMilliseconds(300)),
        };
        var plan = PlanOf(Sh("bad", "exit 1"), flaky) with { FailurePolicy = FailurePolicy.FailSlow };

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Succeeded, d.Of("flaky").State);
        Assert.Equal(2, d.Of("flaky").Attempt);
    }

    [Fact]
    public async Task FailFast_NothingNewStartsAfterAFailure()
    {
        var plan = PlanOf(new GroupStepPlan { Name = "g" }, Sh("g.bad", "exit 1", group: "g"), Sh("slow", "sleep 0.3"),
            Sh("after-slow", "true", ["slow"]), Sh("cleanup", "true", ["g", "after-slow"], startWhen: StartWhen.AllEnded));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Succeeded, d.Of("slow").State);
        Assert.Equal(StepState.NotStarted, d.Of("after-slow").State);
        Assert.Equal(StepState.Failed, d.Of("g").State);
        Assert.Equal(StepState.Succeeded, d.Of("cleanup").State);
    }

    [Fact]
    public async Task ForEach_SurvivesARestartOfTheEngine()
    {
        var gate = Path.Combine(h.Scratch, "gate");
        var loop = new GroupStepPlan
        {
            Name = "loop",
            ForEach = new ForEachSpec
            {
                Items = Template.Literal("""["a", "b", "c"]"""),
                MaxParallel = 1,
                Body = [ShWith("wait", $"while [ ! -e {gate} ]; do sleep 0.05; done; printf '%s' \"$0\" > $SLUICE_OUTPUTS/v", [new ItemRef("loop")],
                    outputs: V)],
            },
        };
        var id = await h.StartAsync(PlanOf(loop));
        await h.WaitAsync(id, d => d.Steps.Any(s => s.Name == "loop[0].wait" && s.State == StepState.Running));

        await h.RestartAsync();
        await File.WriteAllTextAsync(gate, "");
        var d = await h.EndAsync(id);

        Assert.Equal(RunState.Succeeded, d.Run.State);
        Assert.Equal("c", d.Of("loop[2].wait").Outputs!["v"]!.GetValue<string>());
        Assert.Equal(4, d.Steps.Count);
        // The restarted engine knew iteration 0 was open: the others still ran one at a time.
        Assert.True(d.Of("loop[1].wait").StartedAt >= d.Of("loop[0].wait").EndedAt, EngineHarness.Describe(d));
        Assert.True(d.Of("loop[2].wait").StartedAt >= d.Of("loop[1].wait").EndedAt, EngineHarness.Describe(d));
    }
}
