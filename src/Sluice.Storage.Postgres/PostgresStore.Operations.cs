using Npgsql;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresStore
{
    private const string OperationColumns =
        "id, tenant, location, kind, version, created_at, updated_at, done, request, results, error, face";

    private const string OperationsPage = "operations";

    private static readonly string InsertOperationSql = Pg.Insert("operations", OperationColumns) + " ON CONFLICT (id) DO NOTHING";

    private static readonly string UpdateOperationSql =
        $"UPDATE operations SET {Pg.Assign(OperationColumns, "id", "tenant", "location", "created_at")} " +
        "WHERE id = @id AND version = @expected_version";

    public Task CreateOperationAsync(OperationRecord operation, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return WriteAsync(async s => await s.ExecuteAsync(InsertOperationSql, c => c.WithOperation(operation), ct) > 0
            ? true
            : throw new AlreadyExistsException($"An operation with id '{operation.Id}' exists already."), ct);
    }

    public Task UpdateOperationAsync(OperationRecord operation, long expectedVersion, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(operation);
        Require(operation.Version == expectedVersion + 1, nameof(operation), "Version must be expectedVersion + 1.");
        return WriteAsync(async s => await s.ExecuteAsync(UpdateOperationSql,
                c => c.WithOperation(operation).Int64("expected_version", expectedVersion), ct) > 0
            ? true
            : throw new ConcurrencyException($"Operation '{operation.Id}' is gone or not at version {expectedVersion}."), ct);
    }

    public Task<OperationRecord?> GetOperationAsync(string id, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {OperationColumns} FROM operations WHERE id = @id", c => c.Text("id", id), ReadOperation, ct), ct);

    public async Task<Page<OperationRecord>> ListOperationsAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter().Bind(c => c.Int32("limit", pageSize + 1));
        if (scope is { } sc)
        {
            // A tenant-wide scope (the native API's callers) lists the tenant's every location.
            if (sc.IsTenantwide)
            {
                filter.Where("tenant = @tenant", c => c.Text("tenant", sc.Tenant));
            }
            else
            {
                filter.Where("tenant = @tenant AND location = @location", c => c.Text("tenant", sc.Tenant).Text("location", sc.Location));
            }
        }
        var order = TimeKeyset(filter, OperationsPage, pageToken, oldestFirst: false);
        var sql = $"SELECT {OperationColumns} FROM operations{filter.Clause()} ORDER BY {order} LIMIT @limit";
        return await ReadAsync(async s =>
        {
            await using var c = filter.Apply(s.Command(sql));
            return ToPage(await c.ReadAllAsync(ReadOperation, ct), pageSize, o => PageToken.Encode(OperationsPage, o.CreatedAt, o.Id));
        }, ct);
    }

    public async Task<IReadOnlyList<OperationRecord>> ListUnfinishedOperationsAsync(CancellationToken ct) =>
        await ReadAsync(s => s.AllAsync($"SELECT {OperationColumns} FROM operations WHERE NOT done ORDER BY created_at, id", null,
            ReadOperation, ct), ct);

    public Task<bool> DeleteOperationAsync(string id, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync("DELETE FROM operations WHERE id = @id", c => c.Text("id", id), ct) > 0, ct);

    private static OperationRecord ReadOperation(NpgsqlDataReader reader)
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
    public static NpgsqlCommand WithOperation(this NpgsqlCommand c, OperationRecord o) => c
        .Text("id", o.Id).Text("tenant", o.Scope.Tenant).Text("location", o.Scope.Location).Text("kind", o.Kind)
        .Int64("version", o.Version).Time("created_at", o.CreatedAt).Time("updated_at", o.UpdatedAt)
        .Bool("done", o.Done).Text("request", StoredValues.Json(o.Request)).Text("results", StoredValues.Json(o.Results))
        .Text("error", o.Error).Text("face", o.Face);
}
