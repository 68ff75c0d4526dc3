using Sluice.Core.Api;
using Sluice.Core.Engine;

namespace Sluice.Server.Hosting;

/// <summary>Starts the engine (resuming unfinished runs) with the server, and on shutdown stops claiming work while
/// leaving step processes running for the next start to re-adopt.</summary>
internal sealed partial class EngineHost(RunEngine engine, OperationService operations, ILogger<EngineHost> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await operations.StartAsync(cancellationToken);
        await engine.StartAsync(cancellationToken);
        Started(logger, engine.Options.DataDirectory, engine.Options.Slots);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await engine.DisposeAsync();
        await operations.DisposeAsync();
        Stopped(logger);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sluice engine started: data in {DataDirectory}, {Slots} slots")]
    private static partial void Started(ILogger logger, string dataDirectory, int slots);

    [LoggerMessage(Level = LogLevel.Information, Message = "sluice engine stopped; running steps keep running and are re-adopted on the next start")]
    private static partial void Stopped(ILogger logger);
}
