using Microsoft.Data.Sqlite;
using Sluice.Core.Storage;
using Sluice.TestKit;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>The queue store contract on SQLite: a new database file per test.</summary>
public sealed class SqliteQueueStoreTests : QueueStoreContract, IDisposable
{
    private readonly TempDirectory directory = new("sluice-queues");

    private string DatabasePath => directory.File("sluice.db");

    protected override async Task<IQueueStore> OpenAsync() => await SqliteStore.OpenAsync(DatabasePath, TimeProvider.System, CancellationToken.None);

    protected override Task<long> CountMessageRowsAsync()
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM queue_messages";
        return Task.FromResult((long)command.ExecuteScalar()!);
    }

    public void Dispose() => directory.Dispose();
}
