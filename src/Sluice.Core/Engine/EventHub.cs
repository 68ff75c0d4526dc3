using System.Threading.Channels;
using Sluice.Core.Domain;

namespace Sluice.Core.Engine;

/// <summary>Publishes committed events to live subscribers (SSE streams, waiters). Only committed events are published.</summary>
public sealed class EventHub
{
    private readonly Lock gate = new();
    private ImmutableSubscribers subscribers = new([]);

    /// <summary>Subscribes to every event, or one run's; dispose the subscription to stop.</summary>
    public Subscription Subscribe(string? runId = null, int capacity = 10_000)
    {
        var sub = new Subscription(this, runId, Channel.CreateBounded<RunEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }));
        lock (gate)
        {
            subscribers = new([.. subscribers.Items, sub]);
        }
        return sub;
    }

    public void Publish(IReadOnlyList<RunEvent> events)
    {
        var subs = subscribers.Items;
        if (subs.Length == 0)
        {
            return;
        }
        foreach (var e in events)
        {
            foreach (var s in subs)
            {
                if (s.RunId is null || s.RunId == e.RunId)
                {
                    s.Channel.Writer.TryWrite(e);
                }
            }
        }
    }

    private void Remove(Subscription sub)
    {
        lock (gate)
        {
            subscribers = new([.. subscribers.Items.Where(s => s != sub)]);
        }
    }

    private sealed record ImmutableSubscribers(Subscription[] Items);

    /// <summary>A live feed of events; read <see cref="Reader"/>.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly EventHub hub;

        internal Subscription(EventHub hub, string? runId, Channel<RunEvent> channel)
        {
            this.hub = hub;
            RunId = runId;
            Channel = channel;
        }

        public string? RunId { get; }

        internal Channel<RunEvent> Channel { get; }

        public ChannelReader<RunEvent> Reader => Channel.Reader;

        public void Dispose()
        {
            hub.Remove(this);
            Channel.Writer.TryComplete();
        }
    }
}
