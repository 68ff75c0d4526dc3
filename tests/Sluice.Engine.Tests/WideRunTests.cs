using System.Globalization;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using static Sluice.Engine.Tests.Steps;

namespace Sluice.Engine.Tests;

/// <summary>Runs with many more ready steps than slots (2 here), where the scheduling pass looks only at the steps that a
/// change concerns: every step still starts once, in order, and retries, failures and skips still reach the steps waiting.</summary>
public sealed class WideRunTests : IAsyncLifetime
{
    private EngineHarness h = null!;

    public async Task InitializeAsync() => h = await EngineHarness.StartAsync(slots: 2);

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static readonly OutputSpec[] V = [new("v", ParamType.String)];

    private static Plan PlanOf(params StepPlan[] steps) => new() { Steps = steps };

    private static ProcessStepPlan[] Fan(int width, Func<int, ProcessStepPlan>? step = null) =>
        [Sh("root", "true"), .. Enumerable.Range(0, width).Select(i => step?.Invoke(i) ?? Sh($"s{i}", "true", ["root"]))];

    [Fact]
    public async Task ForEach_FiveHundredIterationsOnTwoSlots_EachStartsOnceInItemOrder()
    {
        const int n = 500;
        var loop = new GroupStepPlan
        {
            Name = "loop",
            ForEach = new ForEachSpec
            {
                Items = Template.Of(new ParamRef("items")),
                Body = [ShWith("t", "printf %s \"$0\" > $SLUICE_OUTPUTS/v", [new ItemRef("loop")], outputs: V)],
                Collect = new Dictionary<string, StepOutputRef> { ["all"] = new("t", "v") },
            },
        };
        var after = Sh("after", "true", ["loop"]);
        var plan = PlanOf(loop, after) with { Parameters = [new ParameterSpec("items", ParamType.List, null)] };
        using var events = h.Engine.Hub.Subscribe(capacity: 100_000);

        var id = await h.StartAsync(plan, new JsonObject { ["items"] = new JsonArray([.. Enumerable.Range(0, n).Select(i => (JsonNode)i)]) });
        var d = await h.EndAsync(id);

        Assert.True(d.Run.State == RunState.Succeeded, EngineHarness.Describe(d));
        var iterations = d.Steps.Where(s => s.Name.StartsWith("loop[", StringComparison.Ordinal)).ToList();
        Assert.Equal(n, iterations.Count);
        Assert.All(iterations, s => Assert.Equal((StepState.Succeeded, 1), (s.State, s.Attempt)));
        Assert.Equal(StepState.Succeeded, d.Of("after").State);
        var all = d.Of("loop").Outputs!["all"]!.AsArray().Select(v => v!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture)), all);
        // The steps waiting for a slot got one in the order of their items.
        var starts = new List<int>();
        while (events.Reader.TryRead(out var e))
        {
            if (e.RunId == id && e.To == nameof(StepState.Starting) && e.Step!.StartsWith("loop[", StringComparison.Ordinal))
            {
                starts.Add(int.Parse(e.Step["loop[".Length..e.Step.IndexOf(']', StringComparison.Ordinal)], CultureInfo.InvariantCulture));
            }
        }
        Assert.Equal(Enumerable.Range(0, n), starts);
    }

    [Fact]
    public async Task FanOut_AStepRetriedWhileOthersWaitForSlots_RunsItsNextAttempt()
    {
        var marker = Path.Combine(h.Scratch, "flaky.once");
        var plan = PlanOf(Fan(12, i => i == 2
            ? Sh("s2", $"if [ ! -e {marker} ]; then touch {marker}; exit 1; fi", ["root"]) with { Retry = new RetryPolicy(1, TimeSpan.FromMilliseconds(100)) }
            : Sh($"s{i}", "sleep 0.02", ["root"])));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.True(d.Run.State == RunState.Succeeded, EngineHarness.Describe(d));
        Assert.Equal((StepState.Succeeded, 2), (d.Of("s2").State, d.Of("s2").Attempt));
        Assert.All(d.Steps.Where(s => s.Name != "s2"), s => Assert.Equal((StepState.Succeeded, 1), (s.State, s.Attempt)));
    }

    [Fact]
    public async Task FanOut_FailFastWhileStepsWaitForSlots_NoneOfThemStartsAndTheFinallyStepRuns()
    {
        var fan = Fan(20, i => Sh($"s{i}", i == 0 ? "exit 1" : "sleep 0.05", ["root"]));
        var cleanup = Sh("cleanup", "true", [.. fan.Skip(1).Select(s => s.Name)], startWhen: StartWhen.AllEnded);
        var plan = PlanOf([.. fan, cleanup]);

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Failed, d.Of("s0").State);
        // s0 shared the two slots with s1 at most; every later step was waiting when the failure came.
        for (var i = 2; i < 20; i++)
        {
            Assert.Equal((StepState.NotStarted, 0), (d.Of($"s{i}").State, d.Of($"s{i}").Attempt));
        }
        Assert.Equal(StepState.Succeeded, d.Of("cleanup").State);
    }

    [Fact]
    public async Task Dependencies_OneSkippedLongBeforeTheOtherEnds_TheDependentIsSkippedAllTheSame()
    {
        var skipped = Sh("skipped", "true") with { When = Expr("1 == 2") };
        var slow = Sh("slow", "sleep 0.3");
        var plan = PlanOf(skipped, slow, Sh("after", "true", ["skipped", "slow"]), Sh("after-reversed", "true", ["slow", "skipped"]),
            Sh("after-slow", "true", ["slow"]));

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.True(d.Run.State == RunState.Succeeded, EngineHarness.Describe(d));
        Assert.Equal(StepState.Skipped, d.Of("skipped").State);
        Assert.Equal(StepState.Skipped, d.Of("after").State);
        Assert.Equal(StepState.Skipped, d.Of("after-reversed").State);
        Assert.Equal(StepState.Succeeded, d.Of("after-slow").State);
    }

    [Fact]
    public async Task Dependencies_OneFailedLongBeforeTheOtherEnds_TheDependentNeverStarts()
    {
        var plan = PlanOf(Sh("bad", "exit 1"), Sh("slow", "sleep 0.3"), Sh("after", "true", ["bad", "slow"]),
            Sh("after-reversed", "true", ["slow", "bad"])) with { FailurePolicy = FailurePolicy.FailSlow };

        var d = await h.EndAsync(await h.StartAsync(plan));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Succeeded, d.Of("slow").State);
        Assert.Equal(StepState.NotStarted, d.Of("after").State);
        Assert.Equal(StepState.NotStarted, d.Of("after-reversed").State);
    }

    /// <summary>A for-each over 0..n-1 with a parallelism limit; the body's steps log "begin I" and "end I" around their work.</summary>
    private GroupStepPlan Limited(int n, int limit, Func<string, StepPlan[]> body) => new()
    {
        Name = "loop",
        ForEach = new ForEachSpec
        {
            Items = Template.Literal("[" + string.Join(", ", Enumerable.Range(0, n)) + "]"),
            MaxParallel = limit,
            Body = body(Path.Combine(h.Scratch, "iterations.log")),
        },
    };

    private static ProcessStepPlan Logged(string name, string log, string work = "true", string[]? dependsOn = null) =>
        ShWith(name, $"echo \"begin $0\" >> {log}; {work}; rc=$?; echo \"end $0\" >> {log}; exit $rc", [new ItemRef("loop")], dependsOn);

    /// <summary>The most iterations that had begun and not ended at once, from the log (an iteration of k steps ends with its k-th end).</summary>
    private async Task<int> MostIterationsAtOnceAsync(int stepsPerIteration)
    {
        var ends = new Dictionary<string, int>();
        var open = new HashSet<string>();
        var most = 0;
        foreach (var line in await File.ReadAllLinesAsync(Path.Combine(h.Scratch, "iterations.log")))
        {
            var (what, item) = (line.Split(' ')[0], line.Split(' ')[1]);
            if (what == "begin")
            {
                open.Add(item);
            }
            else if ((ends[item] = ends.GetValueOrDefault(item) + 1) == stepsPerIteration)
            {
                open.Remove(item);
            }
            most = Math.Max(most, open.Count);
        }
        return most;
    }

    [Fact]
    public async Task ForEach_LimitBelowTheSlots_NeverMoreIterationsAtOnce_TheStepsOfAnOpenIterationStillStart()
    {
        // Two steps with no dependency in each iteration: once one has begun, the other needs no room of its own.
        var loop = Limited(40, 1, log => [Logged("a", log), Logged("b", log), Logged("c", log, dependsOn: ["a", "b"])]);

        var d = await h.EndAsync(await h.StartAsync(PlanOf(loop)));

        Assert.True(d.Run.State == RunState.Succeeded, EngineHarness.Describe(d));
        Assert.Equal(120, d.Steps.Count(s => s.Name.StartsWith("loop[", StringComparison.Ordinal) && s.State == StepState.Succeeded));
        Assert.Equal(1, await MostIterationsAtOnceAsync(3));
    }

    [Fact]
    public async Task ForEach_NestedLimitedLoops_RunEveryInnerIteration_OneAtATime()
    {
        var log = Path.Combine(h.Scratch, "iterations.log");
        var inner = new GroupStepPlan
        {
            Name = "inner",
            ForEach = new ForEachSpec
            {
                Items = Template.Literal("[0, 1, 2, 3]"),
                MaxParallel = 1,
                Body = [ShWith("t", $"echo \"begin $0\" >> {log}; sleep 0.01; echo \"end $0\" >> {log}", [new ItemRef("outer"), "-", new ItemRef("inner")])],
            },
        };
        var outer = new GroupStepPlan { Name = "outer", ForEach = new ForEachSpec { Items = Template.Literal("[0, 1, 2]"), MaxParallel = 1, Body = [inner] } };

        var d = await h.EndAsync(await h.StartAsync(PlanOf(outer)));

        Assert.True(d.Run.State == RunState.Succeeded, EngineHarness.Describe(d));
        Assert.Equal(12, d.Steps.Count(s => s.Name.EndsWith("].t", StringComparison.Ordinal) && s.State == StepState.Succeeded));
        Assert.Equal(1, await MostIterationsAtOnceAsync(1));
    }

    [Fact]
    public async Task ForEach_LimitedLoop_FailFast_TheIterationsWaitingForRoomNeverStartAndTheRunEnds()
    {
        var loop = Limited(10, 1, log => [ShWith("t", $"echo \"begin $0\" >> {log}; [ \"$0\" != 2 ]", [new ItemRef("loop")])]);

        var d = await h.EndAsync(await h.StartAsync(PlanOf(loop)));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Failed, d.Of("loop[2].t").State);
        for (var i = 3; i < 10; i++)
        {
            Assert.Equal((StepState.NotStarted, 0), (d.Of($"loop[{i}].t").State, d.Of($"loop[{i}].t").Attempt));
        }
    }

    [Fact]
    public async Task ForEach_LimitedLoop_FailSlow_TheOtherIterationsStillRunOneAtATime()
    {
        var loop = Limited(10, 1, log => [Logged("t", log, work: "[ \"$0\" != 2 ]")]);

        var d = await h.EndAsync(await h.StartAsync(PlanOf(loop) with { FailurePolicy = FailurePolicy.FailSlow }));

        Assert.Equal(RunState.Failed, d.Run.State);
        Assert.Equal(StepState.Failed, d.Of("loop[2].t").State);
        Assert.Equal(9, d.Steps.Count(s => s.Name.StartsWith("loop[", StringComparison.Ordinal) && s.State == StepState.Succeeded));
        Assert.Equal(1, await MostIterationsAtOnceAsync(1));
    }
}
