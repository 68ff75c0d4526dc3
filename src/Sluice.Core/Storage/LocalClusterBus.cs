using System.Threading.Channels;

namespace Sluice.Core.Storage;

/// <summary>The wake-ups of a store only this process uses: a wake-up for this node (or for every node) is delivered in
/// the process; there is nobody else to wake.</summary>
public sealed class LocalClusterBus : IClusterBus
{
    private readonly Channel<ClusterWake> wakes = Channel.CreateBounded<ClusterWake>(new BoundedChannelOptions(1024)
    {
        FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
    });
    private string? node;

    public ChannelReader<ClusterWake> Wakes => wakes.Reader;

    public Task StartAsync(string nodeId, CancellationToken ct)
    {
        node = nodeId;
        return Task.CompletedTask;
    }

    public void Wake(string? nodeId, WakeKind kind, string? payload = null)
    {
        if (node is not null && (nodeId is null || nodeId == node))
        {
            wakes.Writer.TryWrite(new ClusterWake(kind, payload));
        }
    }

    public ValueTask DisposeAsync()
    {
        wakes.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
