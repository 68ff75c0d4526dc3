using Microsoft.Data.Sqlite;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

/// <summary>Forward-only schema versions: the embedded Schema/NNN_name.sql scripts, applied in order.</summary>
internal static class Migrations
{
    /// <summary>Every script in this build, in version order.</summary>
    public static IReadOnlyList<SchemaScript> All { get; } = SchemaScripts.Load(typeof(Migrations).Assembly);

    public static int Latest => All[^1].Version;

    /// <summary>Applies every missing version in one transaction; returns the versions it applied.</summary>
    public static async Task<IReadOnlyList<int>> ApplyAsync(SqliteConnection connection, TimeProvider time, CancellationToken ct)
    {
        // IMMEDIATE, so two processes opening one new file cannot both apply version 1.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER NOT NULL PRIMARY KEY,
                applied_at INTEGER NOT NULL
            );
            SELECT version FROM schema_migrations;
            """;
        var applied = new HashSet<int>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetInt32(0));
            }
        }
        if (applied.Count > 0 && applied.Max() > Latest)
        {
            throw new InvalidOperationException(
                $"The database has schema version {applied.Max()}; this build knows versions up to {Latest}.");
        }

        var done = new List<int>();
        foreach (var migration in All.Where(m => !applied.Contains(m.Version)))
        {
            command.CommandText = migration.Sql;
            await command.ExecuteNonQueryAsync(ct);
            command.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @applied_at)";
            command.Parameters.Clear();
            command.With("@version", migration.Version).With("@applied_at", Db.Ticks(time.GetUtcNow()));
            await command.ExecuteNonQueryAsync(ct);
            command.Parameters.Clear();
            done.Add(migration.Version);
        }
        await transaction.CommitAsync(ct);
        return done;
    }
}
