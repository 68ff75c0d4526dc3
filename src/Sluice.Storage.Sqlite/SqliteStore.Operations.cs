using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

public sealed partial class SqliteStore
{
    private const string OperationColumns =
        "id, tenant, location, kind, version, created_at, updated_at, done, request, results, error, face";

    private const string OperationsPage = "operations";

    private static readonly string InsertOperationSql = Db.Insert("operations", OperationColumns) + " ON CONFLICT (id) DO NOTHING";

    // Scope and creation time are the operation's identity in lists; they do not change.
    private static readonly string UpdateOperationSql =
        $"UPDATE operations SET {Db.Assign(OperationColumns, "id", "tenant", "location", "created_at")} " +
        "WHERE id = @id AND version = @expected_version";

    public Task CreateOperationAsync(OperationRecord operation, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return WriteAsync(s => s.Command(InsertOperationSql).WithOperation(operation).ExecuteNonQuery() > 0
            ? true
            : throw new AlreadyExistsException($"An operation with id '{operation.Id}' exists already."), ct);
    }

    public Task UpdateOperationAsync(OperationRecord operation, long expectedVersion, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(operation);
        Require(operation.Version == expectedVersion + 1, nameof(operation), "Version must be expectedVersion + 1.");
        return WriteAsync(s => s.Command(UpdateOperationSql).WithOperation(operation).With("@expected_version", expectedVersion)
                .ExecuteNonQuery() > 0
            ? true
            : throw new ConcurrencyException($"Operation '{operation.Id}' is gone or not at version {expectedVersion}."), ct);
    }

    public Task<OperationRecord?> GetOperationAsync(string id, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {OperationColumns} FROM operations WHERE id = @id").With("@id", id).ReadOne(ReadOperation), ct);

    public async Task<Page<OperationRecord>> ListOperationsAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter().Bind(("@limit", pageSize + 1));
        if (scope is { } sc)
        {
            if (sc.IsTenantwide)
            {
                filter.Where("tenant = @tenant", ("@tenant", sc.Tenant));
            }
            else
            {
                filter.Where("tenant = @tenant AND location = @location", ("@tenant", sc.Tenant), ("@location", sc.Location));
            }
        }
        var order = TimeKeyset(filter, OperationsPage, pageToken, oldestFirst: false);
        var sql = $"SELECT {OperationColumns} FROM operations{filter.Clause()} ORDER BY {order} LIMIT @limit";
        return await ReadAsync(s => ToPage(filter.Command(s, sql).ReadAll(ReadOperation), pageSize,
            o => PageToken.Encode(OperationsPage, o.CreatedAt, o.Id)), ct);
    }

    /// <summary>Oldest first, so that work resumed on start-up is resumed in the order it was asked for.</summary>
    public async Task<IReadOnlyList<OperationRecord>> ListUnfinishedOperationsAsync(CancellationToken ct) =>
        await ReadAsync(s => s.Command($"SELECT {OperationColumns} FROM operations WHERE done = 0 ORDER BY created_at, id")
            .ReadAll(ReadOperation), ct);

    public Task<bool> DeleteOperationAsync(string id, CancellationToken ct) =>
        WriteAsync(s => s.Command("DELETE FROM operations WHERE id = @id").With("@id", id).ExecuteNonQuery() > 0, ct);

    private static OperationRecord ReadOperation(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return new OperationRecord
        {
            Id = row.Text(),
            Scope = new Scope(row.Text(), row.Text()),
            Kind = row.Text(),
            Version = row.Int64(),
            CreatedAt = row.Time(),
            UpdatedAt = row.Time(),
            Done = row.Bool(),
            Request = row.Json(),
            Results = row.Json(),
            Error = row.TextOrNull(),
            Face = row.Text(),
        };
    }
}

/// <summary>Parameters named after the columns of operations.</summary>
file static class OperationParameters
{
    public static SqliteCommand WithOperation(this SqliteCommand c, OperationRecord o) => c
        .With("@id", o.Id).With("@tenant", o.Scope.Tenant).With("@location", o.Scope.Location).With("@kind", o.Kind)
        .With("@version", o.Version).With("@created_at", Db.Ticks(o.CreatedAt)).With("@updated_at", Db.Ticks(o.UpdatedAt))
        .With("@done", o.Done).With("@request", StoredValues.Json(o.Request)).With("@results", StoredValues.Json(o.Results))
        .With("@error", o.Error).With("@face", o.Face);
}
