using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using static Sluice.Engine.Tests.Steps;

namespace Sluice.Engine.Tests;

/// <summary>The server-wide limit on running process steps (2 slots here), with more steps ready than slots: within one
/// run and across runs, every step runs, never more than two at once.</summary>
public sealed class SlotTests : IAsyncLifetime
{
    private EngineHarness h = null!;

    public async Task InitializeAsync() => h = await EngineHarness.StartAsync(slots: 2);

    public async Task DisposeAsync() => await h.DisposeAsync();

    /// <summary>A step that marks itself running, writes how many steps are running (itself included), holds its slot a
    /// moment and unmarks itself.</summary>
    private ProcessStepPlan Counted(string name, string[]? dependsOn = null) => Sh(name,
        $"d='{h.Scratch}'; touch \"$d/running.$$\"; ls \"$d\" | grep -c '^running' >> \"$d/seen\"; sleep 0.2; rm \"$d/running.$$\"",
        dependsOn);

    private Plan Fan(string prefix, int width) => new()
    {
        Steps = [Counted(prefix + "root"), .. Enumerable.Range(0, width).Select(i => Counted($"{prefix}s{i}", [prefix + "root"]))],
    };

    private int[] Seen() => File.ReadAllLines(Path.Combine(h.Scratch, "seen")).Select(int.Parse).ToArray();

    [Fact]
    public async Task Run_MoreReadyStepsThanSlots_RunsThemAllTwoAtATime()
    {
        var id = await h.StartAsync(Fan("", 6));

        var end = await h.EndAsync(id);

        Assert.True(end.Run.State == RunState.Succeeded, EngineHarness.Describe(end));
        var seen = Seen();
        Assert.Equal(7, seen.Length);
        Assert.All(seen, n => Assert.InRange(n, 1, 2));
        // The fan-out did use both slots (six steps of 0.2 s side by side).
        Assert.Contains(2, seen);
    }

    [Fact]
    public async Task TwoRuns_SharingTwoSlots_BothFinishNeverMoreThanTwoAtOnce()
    {
        var a = await h.StartAsync(Fan("a", 4));
        var b = await h.StartAsync(Fan("b", 4));

        var endA = await h.EndAsync(a);
        var endB = await h.EndAsync(b);

        Assert.True(endA.Run.State == RunState.Succeeded, EngineHarness.Describe(endA));
        Assert.True(endB.Run.State == RunState.Succeeded, EngineHarness.Describe(endB));
        var seen = Seen();
        Assert.Equal(10, seen.Length);
        Assert.All(seen, n => Assert.InRange(n, 1, 2));
    }
}
