using System.Globalization;
using Microsoft.Data.Sqlite;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

/// <summary>The embedded store: one SQLite file in WAL mode, one writer connection and a few readers.</summary>
/// <remarks>Microsoft.Data.Sqlite's async methods run synchronously, so the work inside a lease calls the
/// synchronous API and says so; only waiting for a connection is asynchronous.</remarks>
public sealed partial class SqliteStore : IRunStore, IPipelineStore, IOperationStore, IAsyncDisposable
{
    private readonly SessionPool _writer;
    private readonly SessionPool _readers;
    private readonly GroupCommit _commits;

    private SqliteStore(string path, SessionPool writer, SessionPool readers)
    {
        DatabasePath = path;
        _writer = writer;
        _readers = readers;
        _commits = new GroupCommit(writer);
    }

    public string DatabasePath { get; }

    public static Task<SqliteStore> OpenAsync(string databasePath, TimeProvider time, CancellationToken ct) =>
        OpenAsync(databasePath, time, new SqliteStoreOptions(), ct);

    /// <summary>Opens (creating if needed) the database file and its directory and brings its schema up to date.</summary>
    public static async Task<SqliteStore> OpenAsync(string databasePath, TimeProvider time, SqliteStoreOptions options, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var path = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var opened = new List<Session>();
        try
        {
            var writer = await ConnectAsync(path, SqliteOpenMode.ReadWriteCreate, options, ct);
            opened.Add(new Session(writer));
            // WAL is a property of the file; the other settings are per connection.
            var journal = await ScalarAsync(writer, "PRAGMA journal_mode = WAL", ct);
            if (!string.Equals(journal, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite refused WAL mode for {path} (journal mode is {journal}).");
            }
            await ScalarAsync(writer, $"PRAGMA synchronous = {options.Synchronous.ToString().ToUpperInvariant()}", ct);
            await ScalarAsync(writer, "PRAGMA foreign_keys = ON", ct);
            await Migrations.ApplyAsync(writer, time, ct);
            // Refresh the planner's statistics where they are stale (cheap: limited sampling).
            await ScalarAsync(writer, "PRAGMA analysis_limit = 400", ct);
            await ScalarAsync(writer, "PRAGMA optimize = 0x10002", ct);

            var readers = new List<Session>();
            for (var i = 0; i < options.ReadConnections; i++)
            {
                readers.Add(new Session(await ConnectAsync(path, SqliteOpenMode.ReadOnly, options, ct)));
                opened.Add(readers[^1]);
            }
            return new SqliteStore(path, new SessionPool([opened[0]]), new SessionPool(readers));
        }
        catch
        {
            foreach (var session in opened)
            {
                session.Dispose();
            }
            throw;
        }
    }

    /// <summary>Waits for running calls, refreshes the planner's statistics and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _readers.DisposeAsync();
        await _writer.DisposeAsync(session =>
        {
            try
            {
                using var command = session.Connection.CreateCommand();
                command.CommandText = "PRAGMA optimize";
                command.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // Statistics are an optimisation; closing must not fail for them.
            }
        });
    }

    private Task<T> ReadAsync<T>(Func<Session, T> read, CancellationToken ct) => _readers.UseAsync(read, ct);

    private async Task<T> WriteAsync<T>(Func<Session, T> write, CancellationToken ct)
    {
        try
        {
            return await _commits.WriteAsync(write, ct);
        }
        catch (SqliteException e) when (IsOutOfSpace(e))
        {
            // The transaction rolled back: nothing was written. Callers (and through them the faces) get a retryable error
            // that says what to do, not an internal failure.
            throw new Core.Api.SluiceException(Core.Api.ErrorKind.Unavailable,
                "the data directory is full (no space left on its device); nothing was changed; free space and try again");
        }
    }

    /// <summary>SQLITE_FULL, or a failed write of the database or its WAL (what ENOSPC becomes in SQLite).</summary>
    internal static bool IsOutOfSpace(SqliteException e) =>
        e.SqliteErrorCode == 13 || e.SqliteExtendedErrorCode is 778 or 4874;

    private static async Task<SqliteConnection> ConnectAsync(string path, SqliteOpenMode mode, SqliteStoreOptions options, CancellationToken ct)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            // The store keeps its connections open for its lifetime; pooling would only keep the file open after dispose.
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString());
        try
        {
            await connection.OpenAsync(ct);
            await ScalarAsync(connection,
                "PRAGMA busy_timeout = " + ((long)options.BusyTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<string?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    /// <summary>Adds the condition for a (created_at, id) cursor and returns the matching ORDER BY.</summary>
    private static string TimeKeyset(Filter filter, string kind, string? pageToken, bool oldestFirst)
    {
        // An empty token means the first page, as Vertex clients send it.
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (ticks, id) = PageToken.DecodeTime(kind, pageToken);
            filter.Where(oldestFirst ? "(created_at, id) > (@cursor_key, @cursor_id)" : "(created_at, id) < (@cursor_key, @cursor_id)",
                ("@cursor_key", ticks), ("@cursor_id", id));
        }
        return oldestFirst ? "created_at, id" : "created_at DESC, id DESC";
    }

    /// <summary>Rows were read with one extra: its presence says there is a next page, after the last row kept.</summary>
    private static Page<T> ToPage<T>(List<T> rows, int pageSize, Func<T, string> tokenAfter)
    {
        if (rows.Count <= pageSize)
        {
            return new Page<T>(rows, null);
        }
        rows.RemoveRange(pageSize, rows.Count - pageSize);
        return new Page<T>(rows, tokenAfter(rows[^1]));
    }

    private static void Require(bool condition, string paramName, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, paramName);
        }
    }
}
