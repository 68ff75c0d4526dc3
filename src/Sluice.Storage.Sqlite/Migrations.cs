using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Sluice.Storage.Sqlite;

/// <summary>Forward-only schema versions: the embedded Schema/NNN_name.sql scripts, applied in order.</summary>
internal static partial class Migrations
{
    public sealed record Migration(int Version, string Name, string Sql);

    /// <summary>Every script in this build, in version order.</summary>
    public static IReadOnlyList<Migration> All { get; } = Load();

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

    private static List<Migration> Load()
    {
        var assembly = typeof(Migrations).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ScriptName().Match(resource);
            if (!match.Success)
            {
                continue;
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var text = new StreamReader(stream);
            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture), match.Groups["name"].Value, text.ReadToEnd()));
        }
        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Schema scripts must be numbered 1, 2, 3...; found {migrations[i].Version} at {i + 1}.");
            }
        }
        return migrations.Count > 0 ? migrations : throw new InvalidOperationException("No schema scripts are embedded.");
    }

    [GeneratedRegex(@"\.Schema\.(?<version>\d+)_(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex ScriptName();
}
