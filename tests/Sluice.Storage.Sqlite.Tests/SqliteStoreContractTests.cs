using Sluice.TestKit;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>The store contract on SQLite: each test gets a new database file in a temp directory.</summary>
public sealed class SqliteStoreContractTests : StoreContract, IDisposable
{
    private readonly TempDirectory _directory = new("sluice-sqlite");

    protected override async Task<StoreSet> CreateStoresAsync()
    {
        var store = await SqliteStore.OpenAsync(_directory.File($"{Guid.NewGuid():N}.db"), TimeProvider.System, CancellationToken.None);
        return new StoreSet(store, store, store, store);
    }

    public void Dispose() => _directory.Dispose();
}
