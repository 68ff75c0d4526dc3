using System.Threading.Channels;
using Sluice.Core.Domain;

namespace Sluice.Core.Engine;

/// <summary>Publishes committed events to live subscribers (SSE streams, waiters). Only committed events are published.</summary>
public sealed class EventHub
{
    private readonly Lock gate = new();
    private readonly HashSet<long> local = [];
    private ImmutableSubscribers subscribers = new([]);

    /// <summary>Remember what this process published, so that <see cref="PublishRemote"/> skips it when the shared feed
    /// brings it back (set when other nodes share the store).</summary>
    public bool TrackLocal { get; set; }

    /// <summary>Called after events committed here were published (to wake the other nodes).</summary>
    public Action? LocalPublished { get; set; }

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
        if (TrackLocal && events.Count > 0)
        {
            lock (local)
            {
                foreach (var e in events)
                {
                    local.Add(e.Seq);
                }
                // Events the feed never brings back (committed before this node read its start) must not pile up.
                if (local.Count > 100_000)
                {
                    local.Clear();
                }
            }
            LocalPublished?.Invoke();
        }
        Deliver(events);
    }

    /// <summary>Publishes events other nodes committed: those this process published itself are skipped.</summary>
    public void PublishRemote(IReadOnlyList<RunEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }
        List<RunEvent> remote;
        lock (local)
        {
            remote = [.. events.Where(e => !local.Remove(e.Seq))];
        }
        Deliver(remote);
    }

    private void Deliver(IReadOnlyList<RunEvent> events)
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
