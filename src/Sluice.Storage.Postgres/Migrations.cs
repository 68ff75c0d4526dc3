using Npgsql;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

/// <summary>Forward-only schema versions: the embedded Schema/NNN_name.sql scripts, applied in order, once, by one node.</summary>
internal static class Migrations
{
    /// <summary>Taken for the migrating transaction, so that nodes starting together apply each version once.</summary>
    private const long LockKey = 0x51_75_69_63_65_00_01;

    public static IReadOnlyList<SchemaScript> All { get; } = SchemaScripts.Load(typeof(Migrations).Assembly);

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
}
