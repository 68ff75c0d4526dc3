using Sluice.Core.Storage;
using Sluice.TestKit;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>The store contract on PostgreSQL: each test gets a new, empty schema.</summary>
public sealed class PostgresStoreContractTests : StoreContract
{
    protected override async Task<StoreSet> CreateStoresAsync()
    {
        var store = await PostgresStore.OpenAsync(await TestDatabase.NewSchemaAsync(), TimeProvider.System, CancellationToken.None);
        return new StoreSet(store, store, store, store);
    }
}

/// <summary>The queue store contract on PostgreSQL.</summary>
public sealed class PostgresQueueStoreTests : QueueStoreContract
{
    private string? connectionString;

    protected override async Task<IQueueStore> OpenAsync() =>
        await PostgresStore.OpenAsync(connectionString ??= await TestDatabase.NewSchemaAsync(), TimeProvider.System, CancellationToken.None);

    protected override Task<long> CountMessageRowsAsync() => TestDatabase.ScalarAsync(connectionString!, "SELECT count(*) FROM queue_messages");
}

/// <summary>Leases, fenced commits, requests and the event feed on PostgreSQL.</summary>
public sealed class PostgresClusterStoreTests : ClusterStoreContract
{
    protected override async Task<object> OpenAsync() =>
        await PostgresStore.OpenAsync(await TestDatabase.NewSchemaAsync(), TimeProvider.System, CancellationToken.None);
}

/// <summary>The function store contract on PostgreSQL.</summary>
public sealed class PostgresFunctionStoreTests : FunctionStoreContract
{
    protected override async Task<object> OpenAsync() =>
        await PostgresStore.OpenAsync(await TestDatabase.NewSchemaAsync(), TimeProvider.System, CancellationToken.None);
}
