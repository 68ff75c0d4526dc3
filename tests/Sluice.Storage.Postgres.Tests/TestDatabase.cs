using Npgsql;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>The PostgreSQL the tests use (SLUICE_TEST_POSTGRES), and a fresh schema in it for each test that needs an empty database.</summary>
public static class TestDatabase
{
    public const string Variable = "SLUICE_TEST_POSTGRES";

    public const string SkipReason =
        "no PostgreSQL is configured: set SLUICE_TEST_POSTGRES to a connection string (./build.sh test starts a throwaway cluster and sets it)";

    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs ? cs : null;

    /// <summary>Skips the test when no PostgreSQL is configured.</summary>
    public static string Require()
    {
        Skip.If(ConnectionString is null, SkipReason);
        return ConnectionString!;
    }

    /// <summary>Creates an empty schema and returns a connection string whose search path is that schema.</summary>
    public static async Task<string> NewSchemaAsync()
    {
        var cs = Require();
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(cs))
        {
            await connection.OpenAsync();
            await using var c = new NpgsqlCommand($"CREATE SCHEMA {name}", connection);
            await c.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(cs) { SearchPath = name }.ConnectionString;
    }

    public static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var c = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await c.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
