using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Sluice.TestKit;
using static Sluice.TestKit.StoreSamples;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>What only the SQLite store promises: its file, schema versions, WAL and connections.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly TempDirectory _directory = new("sluice-sqlite");

    public void Dispose() => _directory.Dispose();

    private string DatabasePath => _directory.File("data/sluice.db");

    private Task<SqliteStore> OpenAsync(SqliteStoreOptions? options = null) =>
        SqliteStore.OpenAsync(DatabasePath, TimeProvider.System, options ?? new SqliteStoreOptions(), None);

    [Fact]
    public async Task OpenAsync_NewPath_CreatesDirectoryAndAppliesEveryMigrationOnce()
    {
        await using (await OpenAsync())
        {
            Assert.True(File.Exists(DatabasePath));
        }

        var scripts = typeof(SqliteStore).Assembly.GetManifestResourceNames().Count(n => n.EndsWith(".sql", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(1, scripts).Select(v => (long)v), Query<long>(DatabasePath, "SELECT version FROM schema_migrations ORDER BY version"));
    }

    [Fact]
    public async Task Steps_NextOrdinalAndRunOrder_ReadByIndex_NotByWalkingEveryStepOfTheRun()
    {
        await (await OpenAsync()).DisposeAsync();

        // What a step made while the run goes (an iteration of a for-each) asks for its ordinal, and how steps are listed.
        var next = Plan("SELECT coalesce(max(ordinal), -1) + 1 FROM steps WHERE run_id = 'r'");
        var list = Plan("SELECT name FROM steps WHERE run_id = 'r' ORDER BY ordinal");

        Assert.Contains("steps_run_ordinal", next, StringComparison.Ordinal);
        Assert.Contains("steps_run_ordinal", list, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_ExistingDatabase_DoesNotApplyMigrationsAgain()
    {
        await (await OpenAsync()).DisposeAsync();
        var first = Query<string>(DatabasePath, "SELECT version || ':' || applied_at FROM schema_migrations ORDER BY version");

        await (await OpenAsync()).DisposeAsync();
        await (await OpenAsync()).DisposeAsync();

        Assert.Equal(first, Query<string>(DatabasePath, "SELECT version || ':' || applied_at FROM schema_migrations ORDER BY version"));
    }

    [Fact]
    public async Task OpenAsync_SchemaNewerThanBuild_ThrowsAndLeavesFileAlone()
    {
        await (await OpenAsync()).DisposeAsync();
        Execute(DatabasePath, "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");

        await Assert.ThrowsAsync<InvalidOperationException>(() => OpenAsync());

        Assert.Contains(9999L, Query<long>(DatabasePath, "SELECT version FROM schema_migrations"));
    }

    [Fact]
    public async Task OpenAsync_InvalidOptions_ThrowsArgument()
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => OpenAsync(new SqliteStoreOptions { ReadConnections = 0 }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => OpenAsync(new SqliteStoreOptions { Synchronous = (SqliteSynchronous)7 }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => OpenAsync(new SqliteStoreOptions { BusyTimeout = TimeSpan.FromSeconds(-1) }));
    }

    [Fact]
    public async Task OpenAsync_Default_TurnsOnWalMode()
    {
        await using var store = await OpenAsync();
        await store.CreateRunAsync(Run("r1"), [], [], null, None);

        Assert.Equal(["wal"], Query<string>(DatabasePath, "PRAGMA journal_mode"));
        Assert.True(File.Exists(DatabasePath + "-wal"));
    }

    [Fact]
    public async Task CommitAsync_RunStateUnchanged_LeavesTheStateIndexesAlone()
    {
        // Most commits change a step, not the run's state: they must not rewrite the five indexes that hold the state
        // (SQLite rewrites an index's entry whenever its column is named in SET, even with the same value).
        await using var store = await OpenAsync();
        await store.CreateRunAsync(Run("same"), [], [], null, None);
        await store.CreateRunAsync(Run("moved"), [], [], null, None);
        var walFrame = 24 + (long)Query<long>(DatabasePath, "PRAGMA page_size").Single();
        long Wal() => new FileInfo(DatabasePath + "-wal").Length;

        var before = Wal();
        await store.CommitAsync(new RunChange { Run = Run("same") with { Version = 2, DisplayName = "renamed" }, ExpectedVersion = 1 }, None);
        var sameState = (Wal() - before) / walFrame;
        before = Wal();
        await store.CommitAsync(new RunChange { Run = Run("moved") with { Version = 2, State = RunState.Running }, ExpectedVersion = 1 }, None);
        var newState = (Wal() - before) / walFrame;

        Assert.True(newState - sameState >= 5, $"a commit that kept the state wrote {sameState} pages, one that changed it {newState}");
        StoreAssert.Equivalent(Run("same") with { Version = 2, DisplayName = "renamed" }, await store.GetRunAsync("same", None));
        StoreAssert.Equivalent(Run("moved") with { Version = 2, State = RunState.Running }, await store.GetRunAsync("moved", None));
        Assert.Equal(["moved"], (await store.ListRunsAsync(new RunQuery { States = [RunState.Running] }, None)).Items.Select(r => r.Id));
    }

    [Theory]
    [InlineData(SqliteSynchronous.Normal)]
    [InlineData(SqliteSynchronous.Full)]
    public async Task OpenAsync_Reopened_KeepsEveryRecord(SqliteSynchronous synchronous)
    {
        var options = new SqliteStoreOptions { Synchronous = synchronous };
        var run = Run("r1", labels: new Dictionary<string, string> { ["k"] = "v" });
        await using (var store = await OpenAsync(options))
        {
            await store.CreateRunAsync(run, [Step("r1", "a")], [Event("r1")], Idempotency("start", "tok"), None);
            await store.CommitAsync(new RunChange { Run = run with { Version = 2, State = RunState.Running }, ExpectedVersion = 1 }, None);
            await store.CreatePipelineAsync(Pipeline("p1", "train"), Version("p1", 1), None);
            await store.CreateOperationAsync(Operation("op1"), None);
        }

        await using var reopened = await OpenAsync(options);

        StoreAssert.Equivalent(run with { Version = 2, State = RunState.Running }, await reopened.GetRunAsync("r1", None));
        Assert.Single(await reopened.GetStepsAsync("r1", None));
        Assert.Single(await reopened.GetEventsAsync("r1", 0, 10, None));
        Assert.NotNull(await reopened.GetIdempotencyAsync("start", "tok", None));
        Assert.NotNull(await reopened.GetPipelineAsync(Scope.Default, "train", None));
        Assert.NotNull(await reopened.GetOperationAsync("op1", None));
        Assert.Equal(["r1"], (await reopened.ListRunsAsync(new RunQuery { Labels = run.Labels }, None)).Items.Select(r => r.Id));
    }

    [Fact]
    public async Task GetRunAsync_WhileAnotherConnectionHoldsTheWriteLock_ReturnsLastCommittedState()
    {
        await using var store = await OpenAsync();
        await store.CreateRunAsync(Run("r1") with { DisplayName = "committed" }, [Step("r1", "a")], [], null, None);
        using var other = Connect(DatabasePath);
        using var transaction = other.BeginTransaction(deferred: false);
        using (var update = other.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE runs SET display_name = 'uncommitted', version = 2";
            update.ExecuteNonQuery();
        }

        var run = await store.GetRunAsync("r1", None).WaitAsync(Deadline.Default);
        var page = await store.ListRunsAsync(new RunQuery(), None).WaitAsync(Deadline.Default);
        var steps = await store.GetStepsAsync("r1", None).WaitAsync(Deadline.Default);

        Assert.Equal("committed", run!.DisplayName);
        Assert.Equal(1, Assert.Single(page.Items).Version);
        Assert.Single(steps);
        transaction.Rollback();
    }

    [Fact]
    public async Task GetRunAsync_DuringManyCommits_NeverSeesAVersionGoBack()
    {
        await using var store = await OpenAsync();
        var run = Run("r1");
        await store.CreateRunAsync(run, [Step("r1", "a")], [], null, None);
        using var writerDone = new CancellationTokenSource();
        const int Readers = 4;
        var readersStarted = 0;
        var allReading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var writer = Task.Run(async () =>
        {
            await allReading.Task;
            for (var v = 1; v <= 300; v++)
            {
                await store.CommitAsync(new RunChange
                {
                    Run = run with { Version = v + 1 },
                    ExpectedVersion = v,
                    Steps = [new StepChange(Step("r1", "a", version: v + 1), v)],
                    Events = [Event("r1", "log")],
                }, None);
            }
            await writerDone.CancelAsync();
        });
        var readers = Enumerable.Range(0, Readers).Select(_ => Task.Run(async () =>
        {
            long lastRun = 0;
            long reads = 0;
            do
            {
                var version = (await store.GetRunAsync("r1", None))!.Version;
                var events = await store.GetEventsAsync("r1", 0, 1000, None);
                Assert.True(version >= lastRun, $"version went back from {lastRun} to {version}");
                // Events are committed with the version they record: a later read sees at least as many.
                Assert.True(events.Count >= version - 1, $"{events.Count} events at version {version}");
                lastRun = version;
                if (++reads == 1 && Interlocked.Increment(ref readersStarted) == Readers)
                {
                    allReading.SetResult();
                }
            }
            while (!writerDone.IsCancellationRequested);
            return reads;
        })).ToList();

        await writer.WaitAsync(Deadline.Default);
        await Task.WhenAll(readers).WaitAsync(Deadline.Default);

        Assert.Equal(301, (await store.GetRunAsync("r1", None))!.Version);
    }

    [Fact]
    public async Task OpenAsync_SecondStoreOnSameFile_SeesTheFirstStoresCommits()
    {
        await using var first = await OpenAsync();
        await using var second = await OpenAsync();

        await first.CreateRunAsync(Run("r1"), [], [], null, None);
        await second.CommitAsync(new RunChange { Run = Run("r1", version: 2), ExpectedVersion = 1 }, None);

        Assert.Equal(2, (await first.GetRunAsync("r1", None))!.Version);
    }

    [Fact]
    public async Task PurgeIdempotencyAsync_MixedAges_RemovesOnlyOlderRecords()
    {
        await using var store = await OpenAsync();
        await store.PutIdempotencyAsync(Idempotency("s", "old", createdAt: At(0)), None);
        await store.PutIdempotencyAsync(Idempotency("s", "edge", createdAt: At(10)), None);
        await store.PutIdempotencyAsync(Idempotency("s", "new", createdAt: At(20)), None);

        var purged = await store.PurgeIdempotencyAsync(At(10), None);

        Assert.Equal(1, purged);
        Assert.Null(await store.GetIdempotencyAsync("s", "old", None));
        Assert.NotNull(await store.GetIdempotencyAsync("s", "edge", None));
        Assert.NotNull(await store.GetIdempotencyAsync("s", "new", None));
    }

    [Fact]
    public async Task DisposeAsync_ThenAnyCall_ThrowsObjectDisposed()
    {
        var store = await OpenAsync();
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetRunAsync("r1", None));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CreateRunAsync(Run("r1"), [], [], null, None));
    }

    [Fact]
    public async Task CommitAsync_ChangedLabels_SideTableHoldsExactlyTheNewLabels()
    {
        await using var store = await OpenAsync();
        var run = Run("r1", labels: new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        await store.CreateRunAsync(run, [], [], null, None);

        await store.CommitAsync(new RunChange
        {
            Run = run with { Version = 2, Labels = new Dictionary<string, string> { ["b"] = "3", ["c'; --"] = "4" } },
            ExpectedVersion = 1,
        }, None);

        Assert.Equal(["b=3", "c'; --=4"], Query<string>(DatabasePath, "SELECT key || '=' || value FROM run_labels ORDER BY key"));
    }

    [Fact]
    public async Task ListRunsAsync_LabelOnThousandsOfRuns_FiltersAndPagesLikeARareLabel()
    {
        // Past a couple of thousand runs a label is checked while scanning in order instead of driving the query.
        await using var store = await OpenAsync();
        RunState[] cycle = [RunState.Succeeded, RunState.Failed, RunState.Running];
        // 3,500 runs with team=ml, about 2,300 of them with env=prod: both labels are common.
        var runs = Enumerable.Range(0, 4000).Select(i => Run($"r{i:d4}", state: cycle[i % 3], createdAt: At(i / 5), labels: i % 8 == 7
            ? new Dictionary<string, string> { ["team"] = "other" }
            : new Dictionary<string, string> { ["team"] = "ml", ["env"] = i % 3 != 1 ? "prod" : "dev" })).ToList();
        foreach (var run in runs)
        {
            await store.CreateRunAsync(run, [], [], null, None);
        }
        var query = new RunQuery
        {
            Labels = new Dictionary<string, string> { ["team"] = "ml", ["env"] = "prod" },
            States = [RunState.Failed, RunState.Running],
            PageSize = 97,
        };
        var expected = runs
            .Where(r => r.Labels.GetValueOrDefault("team") == "ml" && r.Labels.GetValueOrDefault("env") == "prod" && r.State != RunState.Succeeded)
            .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal).Select(r => r.Id).ToList();

        var ids = new List<string>();
        string? token = null;
        do
        {
            var page = await store.ListRunsAsync(query with { PageToken = token }, None);
            ids.AddRange(page.Items.Select(r => r.Id));
            token = page.NextPageToken;
        }
        while (token is not null);

        Assert.True(expected.Count > 1000);
        Assert.Equal(expected, ids);
    }

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        return connection;
    }

    [Theory]
    [InlineData("pipeline_name = 'p'", "runs_pipeline_created")]
    [InlineData("pipeline_name = 'p' AND state = 'Failed'", "runs_pipeline_state_created")]
    [InlineData("state = 'Failed'", "runs_state_created")]
    public async Task Schema_ListAcrossScopes_SearchesAnIndexInListOrder(string where, string index)
    {
        // The native API lists every scope: a filter must find its runs through an index that is already in list
        // order, or a rare pipeline makes each page read every stored run.
        await (await OpenAsync()).DisposeAsync();

        using var connection = Connect(DatabasePath);
        using var command = connection.CreateCommand();
        command.CommandText = $"EXPLAIN QUERY PLAN SELECT * FROM runs WHERE {where} ORDER BY created_at DESC, id DESC LIMIT 51";
        using var reader = command.ExecuteReader();
        var details = new List<string>();
        while (reader.Read())
        {
            details.Add(reader.GetString(reader.GetOrdinal("detail")));
        }
        var plan = string.Join("\n", details);

        Assert.Contains($"SEARCH runs USING INDEX {index}", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
    }

    /// <summary>SQLite's plan for a query, its lines joined.</summary>
    private string Plan(string sql)
    {
        using var connection = Connect(DatabasePath);
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(3));
        }
        return string.Join(" | ", lines);
    }

    private static List<T> Query<T>(string path, string sql)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<T>();
        while (reader.Read())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }
        return values;
    }

    private static void Execute(string path, string sql)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
