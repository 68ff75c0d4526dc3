using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

public sealed partial class SqliteStore : IFunctionStore
{
    private const string FunctionColumns = "tenant, location, name, kind, command, url, time_limit, env, created_at, updated_at";

    private const string FunctionsPage = "functions";

    private const string FunctionKey = "tenant = @tenant AND location = @location AND name = @name";

    private static readonly string InsertFunctionSql = Db.Insert("functions", FunctionColumns);

    // The scope, the name and the creation time are the function's identity; a replace keeps them.
    private static readonly string UpdateFunctionSql =
        $"UPDATE functions SET {Db.Assign(FunctionColumns, "tenant", "location", "name", "created_at")} WHERE {FunctionKey}";

    private static readonly string SelectFunctionSql = $"SELECT {FunctionColumns} FROM functions WHERE {FunctionKey}";

    public Task<(FunctionRecord Function, bool Created)> PutFunctionAsync(FunctionRecord function, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(function);
        Require(function.Kind == FunctionRecord.CommandKind ? function.Command is { Count: > 0 } && function.Url is null
            : function.Kind == FunctionRecord.UrlKind && function.Url is not null && function.Command is null,
            nameof(function), "A command function has a command and no URL; a URL function has a URL and no command.");
        return WriteAsync(s =>
        {
            var created = s.Command(UpdateFunctionSql).WithFunction(function).ExecuteNonQuery() == 0;
            if (created)
            {
                s.Command(InsertFunctionSql).WithFunction(function).ExecuteNonQuery();
            }
            var stored = s.Command(SelectFunctionSql).WithFunctionName(function.Scope, function.Name).ReadOne(ReadFunction)!;
            return (stored, created);
        }, ct);
    }

    public Task<FunctionRecord?> GetFunctionAsync(Scope scope, string name, CancellationToken ct) =>
        ReadAsync(s => s.Command(SelectFunctionSql).WithFunctionName(scope, name).ReadOne(ReadFunction), ct);

    public async Task<Page<FunctionRecord>> ListFunctionsAsync(Scope scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter()
            .Where("tenant = @tenant AND location = @location", ("@tenant", scope.Tenant), ("@location", scope.Location))
            .Bind(("@limit", pageSize + 1));
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (name, _) = PageToken.Decode(FunctionsPage, pageToken);
            filter.Where("name > @cursor_key", ("@cursor_key", name));
        }
        var sql = $"SELECT {FunctionColumns} FROM functions{filter.Clause()} ORDER BY name LIMIT @limit";
        return await ReadAsync(s => ToPage(filter.Command(s, sql).ReadAll(ReadFunction), pageSize,
            f => PageToken.Encode(FunctionsPage, f.Name, "")), ct);
    }

    public Task<bool> DeleteFunctionAsync(Scope scope, string name, CancellationToken ct) =>
        WriteAsync(s => s.Command($"DELETE FROM functions WHERE {FunctionKey}").WithFunctionName(scope, name).ExecuteNonQuery() > 0, ct);

    private static FunctionRecord ReadFunction(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return new FunctionRecord
        {
            Scope = new Scope(row.Text(), row.Text()),
            Name = row.Text(),
            Kind = row.Text(),
            Command = row.TextOrNull() is { } argv ? StoredValues.ParseStrings(argv) : null,
            Url = row.TextOrNull(),
            TimeLimit = TimeSpan.FromTicks(row.Int64()),
            Env = row.TextOrNull() is { } env ? StoredValues.ParseLabels(env) : null,
            CreatedAt = row.Time(),
            UpdatedAt = row.Time(),
        };
    }
}

/// <summary>Parameters named after the columns of functions.</summary>
file static class FunctionParameters
{
    public static SqliteCommand WithFunctionName(this SqliteCommand c, Scope scope, string name) => c
        .With("@tenant", scope.Tenant).With("@location", scope.Location).With("@name", name);

    public static SqliteCommand WithFunction(this SqliteCommand c, FunctionRecord f) => c
        .WithFunctionName(f.Scope, f.Name).With("@kind", f.Kind)
        .With("@command", f.Command is null ? null : StoredValues.Strings(f.Command))
        .With("@url", f.Url).With("@time_limit", f.TimeLimit.Ticks).With("@env", f.Env is null ? null : StoredValues.Labels(f.Env))
        .With("@created_at", Db.Ticks(f.CreatedAt)).With("@updated_at", Db.Ticks(f.UpdatedAt));
}
