using Sluice.TestKit;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>The function store contract on SQLite.</summary>
public sealed class SqliteFunctionStoreTests : FunctionStoreContract, IDisposable
{
    private readonly TempDirectory directory = new("sluice-functions");

    protected override async Task<object> OpenAsync() =>
        await SqliteStore.OpenAsync(directory.File("sluice.db"), TimeProvider.System, CancellationToken.None);

    public void Dispose() => directory.Dispose();
}
