using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace Sluice.Storage.Sqlite;

/// <summary>An open connection with its prepared commands, used by one caller at a time.</summary>
internal sealed class Session(SqliteConnection connection) : IDisposable
{
    // Filter shapes of list queries make the set of statements open-ended; past this many the cache starts over.
    private const int MaxCachedCommands = 128;

    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private SqliteTransaction? _transaction;

    public SqliteConnection Connection => connection;

    /// <summary>Inside <see cref="InTransaction{T}"/>, and SQLite has not rolled the transaction back on its own.</summary>
    public bool TransactionOpen => _transaction is not null && SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0;

    /// <summary>The command for this SQL, prepared once per connection, with no parameters yet.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }
        command.Parameters.Clear();
        command.Transaction = _transaction;
        return command;
    }

    /// <summary>Runs the work in one IMMEDIATE transaction; commits if it returns, rolls back if it throws.</summary>
    public T InTransaction<T>(Func<Session, T> work)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        _transaction = transaction;
        try
        {
            var result = work(this);
            transaction.Commit();
            return result;
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <summary>Called between leases, so no command handed out is in use when the cache is cleared.</summary>
    public void Trim()
    {
        if (_commands.Count > MaxCachedCommands)
        {
            DisposeCommands();
        }
    }

    public void Dispose()
    {
        DisposeCommands();
        connection.Dispose();
    }

    private void DisposeCommands()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
        _commands.Clear();
    }
}

/// <summary>A fixed set of sessions handed out one caller at a time; a pool of one is the writer's lock.</summary>
[SuppressMessage("Design", "CA1001", Justification =
    "The semaphore never creates its wait handle, and callers arriving after the close must still wait on it to be told.")]
internal sealed class SessionPool(IReadOnlyList<Session> sessions)
{
    private readonly SemaphoreSlim _available = new(sessions.Count, sessions.Count);
    private readonly Stack<Session> _idle = new(sessions);
    private bool _disposed;

    public async Task<T> UseAsync<T>(Func<Session, T> work, CancellationToken ct)
    {
        await _available.WaitAsync(ct);
        Session session;
        lock (_idle)
        {
            if (_disposed)
            {
                _available.Release();
                throw new ObjectDisposedException(nameof(SqliteStore));
            }
            session = _idle.Pop();
        }
        try
        {
            return work(session);
        }
        finally
        {
            session.Trim();
            lock (_idle)
            {
                _idle.Push(session);
            }
            _available.Release();
        }
    }

    /// <summary>Waits for every session to come back, closes them, and fails later callers.</summary>
    public async Task DisposeAsync(Action<Session>? beforeClose = null)
    {
        for (var i = 0; i < sessions.Count; i++)
        {
            await _available.WaitAsync();
        }
        lock (_idle)
        {
            if (_disposed)
            {
                _available.Release(sessions.Count);
                return;
            }
            _disposed = true;
        }
        foreach (var session in sessions)
        {
            beforeClose?.Invoke(session);
            session.Dispose();
        }
        // Wake any caller queued behind the close; each sees the pool disposed.
        _available.Release(sessions.Count);
    }
}
