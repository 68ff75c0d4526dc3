using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Engine;

namespace Sluice.Core.Tests.Definitions;

public sealed class PlanShapesTests
{
    private static ProcessStepPlan P(string name, string[]? deps = null, string? group = null, Guard? guard = null) => new()
    {
        Name = name, Command = Template.Literal("true"), DependsOn = deps ?? [], Group = group, Guard = guard,
        Outputs = [new OutputSpec("v", ParamType.String)],
    };

    // before -> outer (for-each: prep -> inner (for-each: check -> then-step, plus a nested group g with m), wrap group) -> after
    private static Plan NestedPlan()
    {
        var inner = new GroupStepPlan
        {
            Name = "inner",
            DependsOn = ["prep"],
            ForEach = new ForEachSpec
            {
                Items = Template.Literal("[0, 1]"),
                Body =
                [
                    new ConditionStepPlan { Name = "check", Condition = new LiteralExpr(JsonValue.Create(true)), DependsOn = ["prep", "before"], Then = ["yes"] },
                    P("yes", ["check"], guard: new Guard("check", true)),
                    new GroupStepPlan { Name = "g", DependsOn = ["yes"] },
                    P("m", ["check"], group: "g"),
                ],
            },
        };
        var outer = new GroupStepPlan
        {
            Name = "outer",
            DependsOn = ["before"],
            ForEach = new ForEachSpec { Items = Template.Literal("[0, 1, 2]"), Body = [P("prep", ["before"]), inner, P("last", ["inner"])] },
        };
        return new Plan { Steps = [P("before"), outer, P("after", ["outer"])] };
    }

    [Fact]
    public void Describe_EveryStepTheEngineMakes_HasTheEnginesDependenciesAndGroup()
    {
        var plan = NestedPlan();
        var graph = new RunGraph(plan);
        // expand every for-each as the engine does when it starts (outer first, then each iteration's inner)
        for (var i = 0; i < graph.Order.Count; i++)
        {
            var n = graph.Order[i];
            if (n.Plan is GroupStepPlan { ForEach: not null } loop)
            {
                graph.Expand(n, loop.Name == "outer" ? [0, 1, 2] : [0, 1]);
            }
        }
        Assert.Equal(3 + 3 * (3 + 2 * 4), graph.Order.Count);
        var shapes = new PlanShapes(plan);

        foreach (var n in graph.Order)
        {
            var s = shapes.Describe(n.Name);
            Assert.NotNull(s);
            Assert.Same(n.Plan, s.Plan);
            Assert.Equal(n.DependsOn, s.DependsOn);
            Assert.Equal(n.Group, s.Group);
            Assert.Equal(n.Frame?.ForEach, s.ForEach);
            Assert.Equal(n.Frame?.Index, s.Iteration);
        }
    }

    [Fact]
    public void Describe_AnIterationsStep_NamesItsOwnIterationsSteps()
    {
        var shapes = new PlanShapes(NestedPlan());

        var yes = shapes.Describe("outer[2].inner[1].yes")!;
        var m = shapes.Describe("outer[2].inner[1].m")!;
        var check = shapes.Describe("outer[2].inner[1].check")!;

        Assert.Equal(["outer[2].inner[1].check"], yes.DependsOn);
        Assert.Equal(new Guard("outer[2].inner[1].check", true), yes.Guard);
        Assert.Equal("outer[2].inner", yes.Group);
        Assert.Equal(("outer[2].inner", 1), (yes.ForEach, yes.Iteration));
        Assert.Equal("outer[2].inner[1].g", m.Group);
        Assert.Equal(["outer[2].prep", "before"], check.DependsOn);
        Assert.Equal(["outer"], shapes.Describe("after")!.DependsOn);
        Assert.Null(shapes.Describe("after")!.ForEach);
    }

    [Fact]
    public void Outline_NamesEachBodyStepOnceForAllIterations_InTheSameWords()
    {
        var outline = new PlanShapes(NestedPlan()).Outline().ToList();

        Assert.Equal(
            ["before", "outer", "outer[*].prep", "outer[*].inner", "outer[*].inner[*].check", "outer[*].inner[*].yes", "outer[*].inner[*].g",
                "outer[*].inner[*].m", "outer[*].last", "after"],
            outline.Select(s => s.Name));
        var yes = outline.Single(s => s.Plan.Name == "yes");
        Assert.Equal(["outer[*].inner[*].check"], yes.DependsOn);
        Assert.Equal(new Guard("outer[*].inner[*].check", true), yes.Guard);
        Assert.Equal(("outer[*].inner", (int?)null), (yes.ForEach, yes.Iteration));
        Assert.Equal("outer[*].inner[*].g", outline.Single(s => s.Plan.Name == "m").Group);
        Assert.Equal(["outer[*].prep", "before"], outline.Single(s => s.Plan.Name == "check").DependsOn);
        Assert.Equal(["outer[*].inner"], outline.Single(s => s.Plan.Name == "last").DependsOn);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("outer[**].prep")]
    [InlineData("outer[*]")]
    [InlineData("outer[0]")]
    [InlineData("outer[0].")]
    [InlineData("outer[x].prep")]
    [InlineData("outer[-1].prep")]
    [InlineData("outer[ 1].prep")]
    [InlineData("outer[0].nope")]
    [InlineData("before[0].prep")]
    [InlineData("outer[0].prep[0].x")]
    [InlineData("outer[0].inner.check")]
    [InlineData("outer[0].inner[0]")]
    [InlineData("outer[99999999999].prep")]
    public void Describe_ANameThePlanCannotMake_IsNull(string name)
    {
        Assert.Null(new PlanShapes(NestedPlan()).Describe(name));
    }
}
