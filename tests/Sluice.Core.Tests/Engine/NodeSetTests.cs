using Sluice.Core.Engine;

namespace Sluice.Core.Tests.Engine;

public sealed class NodeSetTests
{
    private static NodeSet Of(params int[] items)
    {
        var set = new NodeSet();
        foreach (var i in items)
        {
            set.Add(i);
        }
        return set;
    }

    private static List<int> Forward(NodeSet set)
    {
        var seen = new List<int>();
        for (var i = set.Next(0); i >= 0; i = set.Next(i + 1))
        {
            seen.Add(i);
        }
        return seen;
    }

    [Fact]
    public void Next_WalksPositionsInOrder_AcrossWordsAndGrowth()
    {
        int[] items = [1000, 0, 63, 64, 127, 128, 5000, 65];

        Assert.Equal(items.Order(), Forward(Of(items)));
    }

    [Fact]
    public void Previous_WalksPositionsBackwards_FromAnyPoint()
    {
        var set = Of(0, 63, 64, 130, 4095);

        Assert.Equal(4095, set.Previous(int.MaxValue));
        Assert.Equal(130, set.Previous(4094));
        Assert.Equal(64, set.Previous(129));
        Assert.Equal(64, set.Previous(64));
        Assert.Equal(63, set.Previous(63));
        Assert.Equal(0, set.Previous(62));
        Assert.Equal(-1, set.Previous(-1));
        Assert.Equal(-1, new NodeSet().Previous(int.MaxValue));
    }

    [Fact]
    public void Next_PastTheEndOrEmpty_IsMinusOne()
    {
        Assert.Equal(-1, new NodeSet().Next(0));
        Assert.Equal(-1, Of(3).Next(4));
        Assert.Equal(-1, Of(3).Next(1_000_000));
        Assert.Equal(3, Of(3).Next(-5));
    }

    [Fact]
    public void RemoveAndClear_TakePositionsOut_AndUnknownOnesAreIgnored()
    {
        var set = Of(1, 2, 70);

        set.Remove(2);
        set.Remove(99_999);

        Assert.Equal([1, 70], Forward(set));
        Assert.True(set.Contains(70));
        Assert.False(set.Contains(2));
        Assert.False(set.Contains(99_999));
        set.Clear();
        Assert.Empty(Forward(set));
    }

    [Fact]
    public void Walk_AddingAheadIsMet_AddingBehindWaitsForTheNextWalk()
    {
        var set = Of(10);
        var seen = new List<int>();

        for (var i = set.Next(0); i >= 0; i = set.Next(i + 1))
        {
            seen.Add(i);
            set.Remove(i);
            if (i == 10)
            {
                set.Add(200);
                set.Add(5);
            }
        }

        Assert.Equal([10, 200], seen);
        Assert.Equal([5], Forward(set));
    }
}
