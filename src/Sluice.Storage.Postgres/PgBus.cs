using System.Threading.Channels;
using Npgsql;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

/// <summary>Wake-ups between nodes over LISTEN/NOTIFY: one channel every node listens to, and one per node.</summary>
/// <remarks>A dedicated connection listens and reconnects with backoff; after a reconnect it wakes every pump of its own
/// node, since notifications sent meanwhile are lost. Outgoing wake-ups are queued and sent by one loop, several per
/// round trip, with repeats of the same wake-up merged: a burst of commits sends a few notifications, not thousands.</remarks>
internal sealed class PgBus(NpgsqlDataSource source, TimeProvider time) : IClusterBus
{
    public const string All = "sluice_all";

    private readonly Channel<ClusterWake> wakes = System.Threading.Channels.Channel.CreateBounded<ClusterWake>(new BoundedChannelOptions(4096)
    {
        FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
    });
    private readonly Channel<(string Channel, string Payload)> outgoing = System.Threading.Channels.Channel.CreateBounded<(string, string)>(
        new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource stopping = new();
    private Task listening = Task.CompletedTask;
    private Task sending = Task.CompletedTask;
    private string node = "";

    public ChannelReader<ClusterWake> Wakes => wakes.Reader;

    /// <summary>Node ids are lowercase letters and digits, so the channel is a plain identifier.</summary>
    public static string Channel(string nodeId) => "sluice_" + nodeId;

    public async Task StartAsync(string nodeId, CancellationToken ct)
    {
        node = nodeId;
        var connection = await ListenAsync(ct);
        listening = Task.Run(() => ListenLoopAsync(connection, stopping.Token), CancellationToken.None);
        sending = Task.Run(() => SendLoopAsync(stopping.Token), CancellationToken.None);
    }

    public void Wake(string? nodeId, WakeKind kind, string? payload = null)
    {
        // The sender is named in wake-ups for everyone, so that a node ignores its own.
        var text = kind switch
        {
            WakeKind.Work => "work",
            WakeKind.Request => "request " + payload,
            WakeKind.Answer => "answer " + payload,
            WakeKind.Events => "events " + node,
            WakeKind.Queue => "queue " + payload,
            _ => null,
        };
        if (text is not null)
        {
            outgoing.Writer.TryWrite((nodeId is null ? All : Channel(nodeId), text));
        }
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken ct)
    {
        var connection = await source.OpenConnectionAsync(ct);
        try
        {
            connection.Notification += (_, e) => OnNotification(e.Payload);
            await using var c = new NpgsqlCommand($"LISTEN {All}; LISTEN {Channel(node)}", connection);
            await c.ExecuteNonQueryAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private void OnNotification(string payload)
    {
        var space = payload.IndexOf(' ', StringComparison.Ordinal);
        var verb = space < 0 ? payload : payload[..space];
        var rest = space < 0 ? null : payload[(space + 1)..];
        ClusterWake? wake = verb switch
        {
            "work" => new ClusterWake(WakeKind.Work, null),
            "request" => new ClusterWake(WakeKind.Request, rest),
            "answer" => new ClusterWake(WakeKind.Answer, rest),
            "events" when rest != node => new ClusterWake(WakeKind.Events, rest),
            "queue" => new ClusterWake(WakeKind.Queue, rest),
            _ => null,
        };
        if (wake is not null)
        {
            wakes.Writer.TryWrite(wake);
        }
    }

    private async Task ListenLoopAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var wait = TimeSpan.FromMilliseconds(50);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                while (true)
                {
                    await connection.WaitAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (PostgresStore.IsTransient(e) || e is NpgsqlException or InvalidOperationException)
            {
                await connection.DisposeAsync();
            }
            // Reconnect; meanwhile the pumps poll at their interval.
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(wait, time, ct);
                    connection = await ListenAsync(ct);
                    wait = TimeSpan.FromMilliseconds(50);
                    foreach (var kind in (WakeKind[])[WakeKind.Work, WakeKind.Request, WakeKind.Events])
                    {
                        wakes.Writer.TryWrite(new ClusterWake(kind, null));
                    }
                    break;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (PostgresStore.IsTransient(e) || e is NpgsqlException)
                {
                    wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
                }
            }
        }
        await connection.DisposeAsync();
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        var batch = new HashSet<(string, string)>();
        try
        {
            while (await outgoing.Reader.WaitToReadAsync(ct))
            {
                batch.Clear();
                while (batch.Count < 256 && outgoing.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                try
                {
                    await using var connection = await source.OpenConnectionAsync(ct);
                    await using var c = new NpgsqlCommand("SELECT pg_notify(c, p) FROM unnest(@c, @p) AS t(c, p)", connection);
                    c.TextArray("c", [.. batch.Select(b => b.Item1)]).TextArray("p", [.. batch.Select(b => b.Item2)]);
                    await c.ExecuteNonQueryAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException && (PostgresStore.IsTransient(e) || e is NpgsqlException))
                {
                    // Best effort: receivers poll as well.
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        outgoing.Writer.TryComplete();
        try
        {
            await Task.WhenAll(listening, sending);
        }
        catch (OperationCanceledException)
        {
        }
        wakes.Writer.TryComplete();
        stopping.Dispose();
    }
}
