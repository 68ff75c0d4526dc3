using System.Text.Json;
using Npgsql;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresStore
{
    private const string FunctionColumns = "tenant, location, name, kind, command, url, time_limit, env, created_at, updated_at";

    private const string FunctionsPage = "functions";

    private const string FunctionKey = "tenant = @tenant AND location = @location AND name = @name";

    // One statement, so that two nodes replacing the same function cannot both insert; xmax = 0 only on a fresh row.
    private static readonly string UpsertFunctionSql =
        Pg.Insert("functions", FunctionColumns) +
        $" ON CONFLICT (tenant, location, name) DO UPDATE SET {string.Join(", ", "kind, command, url, time_limit, env, updated_at".Split(", ").Select(c => $"{c} = excluded.{c}"))}" +
        $" RETURNING {FunctionColumns}, (xmax = 0) AS created";

    public Task<(FunctionRecord Function, bool Created)> PutFunctionAsync(FunctionRecord function, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(function);
        Require(function.Kind == FunctionRecord.CommandKind ? function.Command is { Count: > 0 } && function.Url is null
            : function.Kind == FunctionRecord.UrlKind && function.Url is not null && function.Command is null,
            nameof(function), "A command function has a command and no URL; a URL function has a URL and no command.");
        return WriteAsync(async s =>
        {
            var rows = await s.AllAsync(UpsertFunctionSql, c => c.WithFunction(function), r => (ReadFunction(r), r.GetBoolean(10)), ct);
            return rows[0];
        }, ct);
    }

    public Task<FunctionRecord?> GetFunctionAsync(Scope scope, string name, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {FunctionColumns} FROM functions WHERE {FunctionKey}", c => c.WithFunctionName(scope, name),
            ReadFunction, ct), ct);

    public async Task<Page<FunctionRecord>> ListFunctionsAsync(Scope scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter()
            .Where("tenant = @tenant AND location = @location", c => c.Text("tenant", scope.Tenant).Text("location", scope.Location))
            .Bind(c => c.Int32("limit", pageSize + 1));
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (name, _) = PageToken.Decode(FunctionsPage, pageToken);
            filter.Where("name > @cursor_key", c => c.Text("cursor_key", name));
        }
        var sql = $"SELECT {FunctionColumns} FROM functions{filter.Clause()} ORDER BY name LIMIT @limit";
        return await ReadAsync(async s =>
        {
            await using var c = filter.Apply(s.Command(sql));
            return ToPage(await c.ReadAllAsync(ReadFunction, ct), pageSize, f => PageToken.Encode(FunctionsPage, f.Name, ""));
        }, ct);
    }

    public Task<bool> DeleteFunctionAsync(Scope scope, string name, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync($"DELETE FROM functions WHERE {FunctionKey}", c => c.WithFunctionName(scope, name), ct) > 0, ct);

    private static FunctionRecord ReadFunction(NpgsqlDataReader reader)
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
    public static NpgsqlCommand WithFunctionName(this NpgsqlCommand c, Scope scope, string name) => c
        .Text("tenant", scope.Tenant).Text("location", scope.Location).Text("name", name);

    public static NpgsqlCommand WithFunction(this NpgsqlCommand c, FunctionRecord f) => c
        .WithFunctionName(f.Scope, f.Name).Text("kind", f.Kind)
        .Text("command", f.Command is null ? null : StoredValues.Strings(f.Command))
        .Text("url", f.Url).Int64("time_limit", f.TimeLimit.Ticks).Text("env", f.Env is null ? null : StoredValues.Labels(f.Env))
        .Time("created_at", f.CreatedAt).Time("updated_at", f.UpdatedAt);
}
