using Sluice.Core.Domain;

namespace Sluice.Core.Tests.Domain;

public class TransitionsTests
{
    // The whole run table, written out: every (state, trigger) pair not listed here must be illegal.
    private static readonly Dictionary<(RunState, RunTrigger), RunState> ExpectedRun = new()
    {
        [(RunState.Queued, RunTrigger.Begin)] = RunState.Running,
        [(RunState.Queued, RunTrigger.Stop)] = RunState.Stopped,
        [(RunState.Queued, RunTrigger.Fail)] = RunState.Failed,
        [(RunState.Running, RunTrigger.Stop)] = RunState.Stopping,
        [(RunState.Running, RunTrigger.Succeed)] = RunState.Succeeded,
        [(RunState.Running, RunTrigger.Fail)] = RunState.Failed,
        [(RunState.Stopping, RunTrigger.Stop)] = RunState.Stopping,
        [(RunState.Stopping, RunTrigger.Drained)] = RunState.Stopped,
        [(RunState.Stopping, RunTrigger.Fail)] = RunState.Failed,
        [(RunState.Failed, RunTrigger.Retry)] = RunState.Running,
        [(RunState.Stopped, RunTrigger.Retry)] = RunState.Running,
    };

    private static readonly Dictionary<(StepState, StepTrigger), StepState> ExpectedStep = new()
    {
        [(StepState.Pending, StepTrigger.Start)] = StepState.Starting,
        [(StepState.Pending, StepTrigger.Skip)] = StepState.Skipped,
        [(StepState.Pending, StepTrigger.Cancel)] = StepState.NotStarted,
        [(StepState.Pending, StepTrigger.Stop)] = StepState.Stopped,
        [(StepState.Starting, StepTrigger.Started)] = StepState.Running,
        [(StepState.Starting, StepTrigger.Succeed)] = StepState.Succeeded,
        [(StepState.Starting, StepTrigger.Fail)] = StepState.Failed,
        [(StepState.Starting, StepTrigger.Retry)] = StepState.Pending,
        [(StepState.Starting, StepTrigger.Stop)] = StepState.Stopping,
        [(StepState.Running, StepTrigger.Succeed)] = StepState.Succeeded,
        [(StepState.Running, StepTrigger.Fail)] = StepState.Failed,
        [(StepState.Running, StepTrigger.Retry)] = StepState.Pending,
        [(StepState.Running, StepTrigger.Stop)] = StepState.Stopping,
        [(StepState.Stopping, StepTrigger.Stop)] = StepState.Stopping,
        [(StepState.Stopping, StepTrigger.Stopped)] = StepState.Stopped,
        [(StepState.Stopping, StepTrigger.Succeed)] = StepState.Succeeded,
        [(StepState.Stopping, StepTrigger.Fail)] = StepState.Failed,
        [(StepState.Failed, StepTrigger.Retry)] = StepState.Pending,
        [(StepState.Stopped, StepTrigger.Retry)] = StepState.Pending,
        [(StepState.NotStarted, StepTrigger.Retry)] = StepState.Pending,
    };

    public static TheoryData<RunState, RunTrigger> AllRunPairs()
    {
        var d = new TheoryData<RunState, RunTrigger>();
        foreach (var s in Enum.GetValues<RunState>())
        {
            foreach (var t in Enum.GetValues<RunTrigger>())
            {
                d.Add(s, t);
            }
        }
        return d;
    }

    public static TheoryData<StepState, StepTrigger> AllStepPairs()
    {
        var d = new TheoryData<StepState, StepTrigger>();
        foreach (var s in Enum.GetValues<StepState>())
        {
            foreach (var t in Enum.GetValues<StepTrigger>())
            {
                d.Add(s, t);
            }
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(AllRunPairs))]
    public void RunTable_EveryPair_MatchesTheSpecifiedTable(RunState from, RunTrigger trigger)
    {
        var legal = Transitions.TryNext(from, trigger, out var to);
        Assert.Equal(ExpectedRun.ContainsKey((from, trigger)), legal);
        if (legal)
        {
            Assert.Equal(ExpectedRun[(from, trigger)], to);
        }
        else
        {
            Assert.Throws<IllegalTransitionException>(() => Transitions.Next(from, trigger));
        }
    }

    [Theory]
    [MemberData(nameof(AllStepPairs))]
    public void StepTable_EveryPair_MatchesTheSpecifiedTable(StepState from, StepTrigger trigger)
    {
        var legal = Transitions.TryNext(from, trigger, out var to);
        Assert.Equal(ExpectedStep.ContainsKey((from, trigger)), legal);
        if (legal)
        {
            Assert.Equal(ExpectedStep[(from, trigger)], to);
        }
        else
        {
            Assert.Throws<IllegalTransitionException>(() => Transitions.Next(from, trigger));
        }
    }

    [Theory]
    [InlineData(RunState.Stopped)]
    [InlineData(RunState.Succeeded)]
    [InlineData(RunState.Failed)]
    public void TerminalRunState_AnyTriggerButRetry_IsIllegal(RunState terminal)
    {
        Assert.True(terminal.IsTerminal());
        Assert.All(Enum.GetValues<RunTrigger>().Where(t => t != RunTrigger.Retry), t => Assert.False(Transitions.TryNext(terminal, t, out _)));
    }

    [Fact]
    public void SucceededRun_Retry_IsIllegal() => Assert.False(Transitions.TryNext(RunState.Succeeded, RunTrigger.Retry, out _));

    [Fact]
    public void TerminalStepStates_AnyTriggerButRetry_AreIllegal()
    {
        foreach (var s in Enum.GetValues<StepState>().Where(s => s.IsTerminal()))
        {
            Assert.All(Enum.GetValues<StepTrigger>().Where(t => t != StepTrigger.Retry), t => Assert.False(Transitions.TryNext(s, t, out _)));
        }
        Assert.False(Transitions.TryNext(StepState.Succeeded, StepTrigger.Retry, out _));
        Assert.False(Transitions.TryNext(StepState.Skipped, StepTrigger.Retry, out _));
    }

    [Fact]
    public void ActiveStepStates_AreExactlyStartingRunningStopping()
    {
        var active = Enum.GetValues<StepState>().Where(s => s.IsActive()).ToArray();
        Assert.Equal([StepState.Starting, StepState.Running, StepState.Stopping], active);
    }
}
