using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Sluice.Storage.Postgres;

/// <summary>Forward-only schema versions: the embedded Schema/NNN_name.sql scripts, applied in order, once, by one node.</summary>
internal static partial class Migrations
{
    /// <summary>Taken for the migrating transaction, so that nodes starting together apply each version once.</summary>
    private const long LockKey = 0x51_75_69_63_65_00_01;

    public sealed record Migration(int Version, string Name, string Sql);

    public static IReadOnlyList<Migration> All { get; } = Load();

    public static int Latest => All[^1].Version;

    public static async Task<IReadOnlyList<int>> ApplyAsync(PostgresStore.Session s, TimeProvider time, CancellationToken ct)
    {
        await s.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", c => c.Int64("key", LockKey), ct);
        await s.ExecuteAsync("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer NOT NULL PRIMARY KEY,
                applied_at bigint  NOT NULL
            )
            """, null, ct);
        var applied = (await s.AllAsync("SELECT version FROM schema_migrations", null, r => r.GetInt32(0), ct)).ToHashSet();
        if (applied.Count > 0 && applied.Max() > Latest)
        {
            throw new InvalidOperationException(
                $"The database has schema version {applied.Max()}; this build knows versions up to {Latest}.");
        }
        var done = new List<int>();
        foreach (var m in All.Where(m => !applied.Contains(m.Version)))
        {
            await s.ExecuteAsync(m.Sql, null, ct);
            await s.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @applied_at)",
                c => c.Int32("version", m.Version).Int64("applied_at", time.GetUtcNow().UtcTicks), ct);
            done.Add(m.Version);
        }
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
