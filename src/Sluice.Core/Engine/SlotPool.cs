namespace Sluice.Core.Engine;

/// <summary>The server-wide limit on running process steps. Waiters are called back in arrival order when a slot frees.</summary>
public sealed class SlotPool(int capacity)
{
    private readonly Lock gate = new();
    private readonly LinkedList<Action> waiters = new();
    private int used;

    public int Capacity => capacity;

    public int InUse
    {
        get
        {
            lock (gate)
            {
                return used;
            }
        }
    }

    /// <summary>Takes a slot if one is free; otherwise queues <paramref name="onFree"/> (once) to be called when one frees.</summary>
    public bool TryAcquire(Action? onFree = null)
    {
        Action? wakeNext = null;
        lock (gate)
        {
            if (used < capacity && (waiters.Count == 0 || onFree is null || waiters.First?.Value == onFree))
            {
                if (onFree is not null && waiters.First?.Value == onFree)
                {
                    waiters.RemoveFirst();
                }
                used++;
                // Several slots may have freed at once: the next waiter gets its turn now, not at the next release.
                wakeNext = used < capacity ? waiters.First?.Value : null;
            }
            else
            {
                if (onFree is not null && !waiters.Contains(onFree))
                {
                    waiters.AddLast(onFree);
                }
                return false;
            }
        }
        wakeNext?.Invoke();
        return true;
    }

    public void Release()
    {
        Action? wake;
        lock (gate)
        {
            used = Math.Max(0, used - 1);
            wake = waiters.First?.Value;
        }
        wake?.Invoke();
    }

    /// <summary>Forgets a waiter (its run ended or stopped).</summary>
    public void Forget(Action onFree)
    {
        Action? wake = null;
        lock (gate)
        {
            var wasFirst = waiters.First?.Value == onFree;
            waiters.Remove(onFree);
            if (wasFirst && used < capacity)
            {
                wake = waiters.First?.Value;
            }
        }
        wake?.Invoke();
    }
}
