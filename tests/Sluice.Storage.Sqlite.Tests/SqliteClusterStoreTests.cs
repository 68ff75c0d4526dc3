using Sluice.TestKit;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>Leases, fenced commits, requests and the event feed on SQLite (one node at a time, the same contract).</summary>
public sealed class SqliteClusterStoreTests : ClusterStoreContract, IDisposable
{
    private readonly TempDirectory directory = new("sluice-cluster");

    protected override async Task<object> OpenAsync() =>
        await SqliteStore.OpenAsync(directory.File("sluice.db"), TimeProvider.System, CancellationToken.None);

    public void Dispose() => directory.Dispose();
}
