using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;
using Sluice.Core.Api;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

/// <summary>Settings of <see cref="PostgresStore"/>; see docs/storage.md.</summary>
public sealed record PostgresStoreOptions
{
    /// <summary>How long a call keeps retrying while the database cannot be reached before it fails as Unavailable.</summary>
    public TimeSpan UnavailableAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Connections in the pool, at most.</summary>
    public int MaxConnections { get; init; } = 32;

    public void Validate()
    {
        if (UnavailableAfter < TimeSpan.Zero || UnavailableAfter > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(UnavailableAfter), UnavailableAfter, "Must be 0 to 10 minutes.");
        }
        if (MaxConnections is < 2 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "Must be 2 to 1000.");
        }
    }
}

/// <summary>The shared store: PostgreSQL, used by several nodes at once (leases with SKIP LOCKED, wake-ups with
/// LISTEN/NOTIFY). Every call retries with backoff while the database is unreachable, then fails with
/// <see cref="ErrorKind.Unavailable"/>; a write is only retried when it cannot have committed.</summary>
public sealed partial class PostgresStore : IRunStore, IPipelineStore, IOperationStore, IQueueStore, IFunctionStore, IClusterStore,
    IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;
    private readonly TimeProvider _time;
    private readonly PostgresStoreOptions _options;
    private readonly PgBus _bus;

    private PostgresStore(NpgsqlDataSource source, TimeProvider time, PostgresStoreOptions options)
    {
        _source = source;
        _time = time;
        _options = options;
        _bus = new PgBus(source, time);
    }

    /// <summary>Whether a --store value names PostgreSQL (a postgres:// or postgresql:// URI, or a key=value connection string).</summary>
    public static bool IsConnectionString(string value) =>
        value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || KeyValue().IsMatch(value);

    public static Task<PostgresStore> OpenAsync(string connectionString, TimeProvider time, CancellationToken ct) =>
        OpenAsync(connectionString, time, new PostgresStoreOptions(), ct);

    /// <summary>Connects (retrying for <see cref="PostgresStoreOptions.UnavailableAfter"/>) and brings the schema up to date.</summary>
    public static async Task<PostgresStore> OpenAsync(string connectionString, TimeProvider time, PostgresStoreOptions options, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = new NpgsqlConnectionStringBuilder(ToConnectionString(connectionString))
        {
            MaxPoolSize = options.MaxConnections,
            // Fail fast and retry here, rather than let a call hang on a dead socket.
            Timeout = 5,
            CommandTimeout = 30,
            KeepAlive = 10,
            ApplicationName = "sluice",
        };
        var source = NpgsqlDataSource.Create(builder.ConnectionString);
        var store = new PostgresStore(source, time, options);
        try
        {
            await store.WriteAsync(async s =>
            {
                await Migrations.ApplyAsync(s, time, ct);
                return true;
            }, ct);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>A postgres:// URI as a key=value connection string (Npgsql takes only the latter); others unchanged.</summary>
    public static string ToConnectionString(string value)
    {
        if (!IsUri(value))
        {
            return value;
        }
        var uri = new Uri(value);
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port };
        if (uri.UserInfo is { Length: > 0 } info)
        {
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            b.Username = Uri.UnescapeDataString(colon < 0 ? info : info[..colon]);
            if (colon >= 0)
            {
                b.Password = Uri.UnescapeDataString(info[(colon + 1)..]);
            }
        }
        if (uri.AbsolutePath.Trim('/') is { Length: > 0 } db)
        {
            b.Database = Uri.UnescapeDataString(db);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var val = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            b[key switch { "sslmode" => "SSL Mode", "options" => "Options", "search_path" => "Search Path", _ => key }] = val;
        }
        return b.ConnectionString;
    }

    private static bool IsUri(string value) =>
        value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _source.DisposeAsync();
    }

    private Task<T> ReadAsync<T>(Func<Session, Task<T>> read, CancellationToken ct) => RunAsync(write: false, read, ct);

    private Task<T> WriteAsync<T>(Func<Session, Task<T>> write, CancellationToken ct) => RunAsync(write: true, write, ct);

    /// <summary>Runs the work on a pooled connection (in one transaction when it writes), retrying transient failures with
    /// backoff until <see cref="PostgresStoreOptions.UnavailableAfter"/>. A failure while committing is not retried: the
    /// change may have landed, and a compare-and-set retry would then fail anyway.</summary>
    private async Task<T> RunAsync<T>(bool write, Func<Session, Task<T>> work, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + _options.UnavailableAfter;
        var wait = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var committing = false;
            try
            {
                await using var connection = await _source.OpenConnectionAsync(ct);
                if (!write)
                {
                    return await work(new Session(connection, null));
                }
                await using var transaction = await connection.BeginTransactionAsync(ct);
                var result = await work(new Session(connection, transaction));
                committing = true;
                await transaction.CommitAsync(ct);
                return result;
            }
            catch (Exception e) when (IsTransient(e) && !ct.IsCancellationRequested)
            {
                if (committing)
                {
                    throw new SluiceException(ErrorKind.Unavailable,
                        $"the database connection failed while a change was committed (it may or may not be stored): {e.Message}");
                }
                if (e is not PostgresException)
                {
                    // The pool may hold more connections the database has since dropped (a restart): start afresh.
                    _source.Clear();
                }
                if (_time.GetUtcNow() + wait > deadline)
                {
                    throw new SluiceException(ErrorKind.Unavailable, $"the database is unavailable: {e.Message}");
                }
                await Task.Delay(wait, _time, ct);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
    }

    /// <summary>Failures that a new connection or a new transaction can get past.</summary>
    internal static bool IsTransient(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState is "57P01" or "57P02" or "57P03" or "53300" or "40001" or "40P01",
        NpgsqlException n => n.IsTransient || n.InnerException is IOException or SocketException or TimeoutException,
        IOException or SocketException or TimeoutException => true,
        InvalidOperationException when e.Message.Contains("connection", StringComparison.OrdinalIgnoreCase)
            && e.Message.Contains("broken", StringComparison.OrdinalIgnoreCase) => true,
        _ => false,
    };

    /// <summary>Adds the condition for a (created_at, id) cursor and returns the matching ORDER BY.</summary>
    private static string TimeKeyset(Filter filter, string kind, string? pageToken, bool oldestFirst)
    {
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (ticks, id) = PageToken.DecodeTime(kind, pageToken);
            filter.Where(oldestFirst ? "(created_at, id) > (@cursor_key, @cursor_id)" : "(created_at, id) < (@cursor_key, @cursor_id)",
                c => c.Int64("cursor_key", ticks).Text("cursor_id", id));
        }
        return oldestFirst ? "created_at, id" : "created_at DESC, id DESC";
    }

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

    [GeneratedRegex(@"^\s*[A-Za-z ]+=", RegexOptions.CultureInvariant)]
    private static partial Regex KeyValue();

    /// <summary>One connection (and transaction, when writing) for the work of one call.</summary>
    internal sealed class Session(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        public NpgsqlCommand Command(string sql) => new(sql, connection, transaction);

        public void Prepare(NpgsqlBatch batch)
        {
            batch.Connection = connection;
            batch.Transaction = transaction;
        }

        public async Task<int> ExecuteAsync(string sql, Action<NpgsqlCommand>? bind, CancellationToken ct)
        {
            await using var c = Command(sql);
            bind?.Invoke(c);
            return await c.ExecuteNonQueryAsync(ct);
        }

        public async Task<object?> ScalarAsync(string sql, Action<NpgsqlCommand>? bind, CancellationToken ct)
        {
            await using var c = Command(sql);
            bind?.Invoke(c);
            var v = await c.ExecuteScalarAsync(ct);
            return v is DBNull ? null : v;
        }

        public async Task<List<T>> AllAsync<T>(string sql, Action<NpgsqlCommand>? bind, Func<NpgsqlDataReader, T> map, CancellationToken ct)
        {
            await using var c = Command(sql);
            bind?.Invoke(c);
            return await c.ReadAllAsync(map, ct);
        }

        public async Task<T?> OneAsync<T>(string sql, Action<NpgsqlCommand>? bind, Func<NpgsqlDataReader, T> map, CancellationToken ct)
            where T : class
        {
            await using var c = Command(sql);
            bind?.Invoke(c);
            return await c.ReadOneAsync(map, ct);
        }
    }

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
