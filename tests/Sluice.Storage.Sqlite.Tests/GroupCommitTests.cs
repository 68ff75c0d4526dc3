using Microsoft.Data.Sqlite;
using Sluice.TestKit;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>Writes that queue up behind one another are committed together, each in its own savepoint.</summary>
public sealed class GroupCommitTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new("sluice-group");
    private SessionPool _pool = null!;
    private GroupCommit _commits = null!;
    private int _commitCount;

    public async Task InitializeAsync()
    {
        var connection = new SqliteConnection($"Data Source={_directory.File("g.db")};Pooling=False");
        await connection.OpenAsync();
        using (var c = connection.CreateCommand())
        {
            c.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY);";
            await c.ExecuteNonQueryAsync();
        }
        SQLitePCL.raw.sqlite3_commit_hook(connection.Handle, _ =>
        {
            Interlocked.Increment(ref _commitCount);
            return 0;
        }, null);
        _pool = new SessionPool([new Session(connection)]);
        _commits = new GroupCommit(_pool);
    }

    public async Task DisposeAsync()
    {
        await _pool.DisposeAsync();
        Dispose();
    }

    public void Dispose() => _directory.Dispose();

    private static int Insert(Session s, string key) => s.Command("INSERT INTO t (k) VALUES (@k)").With("@k", key).ExecuteNonQuery();

    private List<string> Keys()
    {
        using var c = new SqliteConnection($"Data Source={_directory.File("g.db")};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT k FROM t ORDER BY k";
        using var r = cmd.ExecuteReader();
        var keys = new List<string>();
        while (r.Read())
        {
            keys.Add(r.GetString(0));
        }
        return keys;
    }

    /// <summary>Starts a write that holds the writer (inside its transaction) until released, and waits until it does.</summary>
    private async Task<(Task<int> Write, SemaphoreSlim Release)> HoldWriterAsync()
    {
        var inside = new SemaphoreSlim(0);
        var release = new SemaphoreSlim(0);
        var write = Task.Run(() => _commits.WriteAsync(s =>
        {
            inside.Release();
            release.Wait();
            return Insert(s, "first");
        }, CancellationToken.None));
        Assert.True(await inside.WaitAsync(Deadline.Default));
        return (write, release);
    }

    [Fact]
    public async Task WriteAsync_OneAtATime_OneCommitEach()
    {
        for (var i = 0; i < 3; i++)
        {
            await _commits.WriteAsync(s => Insert(s, $"k{i}"), CancellationToken.None);
        }

        Assert.Equal(3, _commitCount);
        Assert.Equal(["k0", "k1", "k2"], Keys());
    }

    [Fact]
    public async Task WriteAsync_WritesQueuedBehindOne_CommittedTogetherAndAnsweredAfterTheCommit()
    {
        var (first, release) = await HoldWriterAsync();
        var queued = Enumerable.Range(0, 10).Select(i => _commits.WriteAsync(s => Insert(s, $"q{i}"), CancellationToken.None)).ToList();
        Assert.All(queued, q => Assert.False(q.IsCompleted));

        release.Release();
        await first.WaitAsync(Deadline.Default);
        var answers = await Task.WhenAll(queued).WaitAsync(Deadline.Default);

        Assert.All(answers, n => Assert.Equal(1, n));
        Assert.Equal(2, _commitCount);
        Assert.Equal(11, Keys().Count);
    }

    [Fact]
    public async Task WriteAsync_OneOfAGroupThrows_OnlyItIsUndoneAndItsCallerToldWhy()
    {
        var (first, release) = await HoldWriterAsync();
        var good1 = _commits.WriteAsync(s => Insert(s, "a"), CancellationToken.None);
        var bad = _commits.WriteAsync<int>(s =>
        {
            Insert(s, "b");
            throw new InvalidOperationException("no, not b");
        }, CancellationToken.None);
        var duplicate = _commits.WriteAsync(s => Insert(s, "a"), CancellationToken.None);
        var good2 = _commits.WriteAsync(s => Insert(s, "c"), CancellationToken.None);

        release.Release();
        await first.WaitAsync(Deadline.Default);

        Assert.Equal(1, await good1.WaitAsync(Deadline.Default));
        Assert.Equal(1, await good2.WaitAsync(Deadline.Default));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => bad.WaitAsync(Deadline.Default));
        Assert.Equal("no, not b", e.Message);
        var unique = await Assert.ThrowsAsync<SqliteException>(() => duplicate.WaitAsync(Deadline.Default));
        Assert.Equal(19, unique.SqliteErrorCode);
        Assert.Equal(["a", "c", "first"], Keys());
        Assert.Equal(2, _commitCount);
    }

    [Fact]
    public async Task WriteAsync_CancelledWhileQueued_NeverRuns()
    {
        var (first, release) = await HoldWriterAsync();
        using var cts = new CancellationTokenSource();
        var ran = false;
        var cancelled = _commits.WriteAsync(s =>
        {
            ran = true;
            return Insert(s, "x");
        }, cts.Token);
        var other = _commits.WriteAsync(s => Insert(s, "y"), CancellationToken.None);

        await cts.CancelAsync();
        release.Release();
        await first.WaitAsync(Deadline.Default);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Deadline.Default));
        Assert.Equal(1, await other.WaitAsync(Deadline.Default));
        Assert.False(ran);
        Assert.Equal(["first", "y"], Keys());
    }

    [Fact]
    public async Task WriteAsync_ManyConcurrentWriters_EveryWriteDurable()
    {
        var writes = Enumerable.Range(0, 500).Select(i => Task.Run(() => _commits.WriteAsync(s => Insert(s, $"w{i:000}"), CancellationToken.None)));

        await Task.WhenAll(writes).WaitAsync(Deadline.Default);

        Assert.Equal(500, Keys().Count);
    }

    [Fact]
    public async Task WriteAsync_StoreClosing_QueuedWritesFail()
    {
        await _pool.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => _commits.WriteAsync(s => Insert(s, "late"), CancellationToken.None));
    }
}
