using Sluice.Core.Engine;

namespace Sluice.Core.Tests.Engine;

public class SlotPoolTests
{
    [Fact]
    public void TryAcquire_UpToCapacity_ThenQueuesTheWaiter()
    {
        var pool = new SlotPool(2);
        var woken = 0;
        void Wake() => woken++;
        Assert.True(pool.TryAcquire(Wake));
        Assert.True(pool.TryAcquire(Wake));
        Assert.False(pool.TryAcquire(Wake));
        Assert.Equal(2, pool.InUse);
        pool.Release();
        Assert.Equal(1, woken);
        Assert.True(pool.TryAcquire(Wake));
    }

    [Fact]
    public void Release_WakesWaitersInArrivalOrder_AndOthersCannotJumpTheQueue()
    {
        var pool = new SlotPool(1);
        var order = new List<string>();
        void A() => order.Add("a");
        void B() => order.Add("b");
        Assert.True(pool.TryAcquire());
        Assert.False(pool.TryAcquire(A));
        Assert.False(pool.TryAcquire(B));
        pool.Release();
        Assert.Equal(["a"], order);
        Assert.False(pool.TryAcquire(B));
        Assert.True(pool.TryAcquire(A));
    }

    [Fact]
    public void TryAcquire_SeveralSlotsFreedAtOnce_NextWaiterWokenWithoutAnotherRelease()
    {
        var pool = new SlotPool(2);
        var woken = new List<string>();
        void A() => woken.Add("a");
        void B() => woken.Add("b");
        Assert.True(pool.TryAcquire());
        Assert.True(pool.TryAcquire());
        Assert.False(pool.TryAcquire(A));
        Assert.False(pool.TryAcquire(B));
        pool.Release();
        pool.Release();
        Assert.True(pool.TryAcquire(A));
        Assert.Contains("b", woken);
        Assert.True(pool.TryAcquire(B));
        Assert.Equal(2, pool.InUse);
    }

    [Fact]
    public void Forget_FirstWaiterLeaves_NextOneIsWokenWhenASlotIsFree()
    {
        var pool = new SlotPool(1);
        var woken = new List<string>();
        void A() => woken.Add("a");
        void B() => woken.Add("b");
        Assert.True(pool.TryAcquire());
        Assert.False(pool.TryAcquire(A));
        Assert.False(pool.TryAcquire(B));
        pool.Release();
        pool.Forget(A);
        Assert.Equal(["a", "b"], woken);
        Assert.True(pool.TryAcquire(B));
    }
}
