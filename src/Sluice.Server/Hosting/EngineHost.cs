using Sluice.Core.Api;
using Sluice.Core.Engine;

namespace Sluice.Server.Hosting;

/// <summary>Starts the engine (resuming unfinished runs) with the server, and on shutdown stops claiming work while
/// leaving step processes running for the next start to re-adopt.</summary>
internal sealed partial class EngineHost(RunEngine engine, OperationService operations, QueueService queues, TimeProvider time,
    ILogger<EngineHost> logger) : IHostedService
{
    private ITimer? housekeeping;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // A queue shared by several nodes: a change on one wakes the receives waiting on the others.
        queues.Changed = engine.Cluster.WakeQueue;
        engine.Cluster.QueueChanged = queues.PulseHere;
        await operations.StartAsync(cancellationToken);
        await engine.StartAsync(cancellationToken);
        // Queue messages past their retention period are dropped, as SQS does.
        housekeeping = time.CreateTimer(_ => _ = ExpireAsync(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        Started(logger, engine.Options.DataDirectory, engine.Options.Slots);
    }

    private async Task ExpireAsync()
    {
        try
        {
            await queues.ExpireAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            ExpireFailed(logger, e);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (housekeeping is not null)
        {
            await housekeeping.DisposeAsync();
        }
        await engine.DisposeAsync();
        await operations.DisposeAsync();
        Stopped(logger);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sluice engine started: data in {DataDirectory}, {Slots} slots")]
    private static partial void Started(ILogger logger, string dataDirectory, int slots);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not drop expired queue messages")]
    private static partial void ExpireFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "sluice engine stopped; running steps keep running and are re-adopted on the next start")]
    private static partial void Stopped(ILogger logger);
}
