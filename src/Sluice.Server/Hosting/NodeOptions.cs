using System.Globalization;
using Sluice.Core.Engine;
using Sluice.Storage.Postgres;
using Sluice.Storage.Sqlite;

namespace Sluice.Server.Hosting;

/// <summary>The command-line settings of a node: which store (--store), which role (--role) and its lease timings.</summary>
internal static class NodeOptions
{
    /// <summary>--store postgres://... (or a key=value connection string, or SLUICE_STORE) opens PostgreSQL; otherwise the
    /// embedded SQLite file: --store PATH, sqlite://PATH, or {data-dir}/sluice.db.</summary>
    public static async Task<object> OpenStoreAsync(IConfiguration config, string dataDir, TimeProvider time)
    {
        var store = config["store"] ?? Environment.GetEnvironmentVariable("SLUICE_STORE");
        if (store is { Length: > 0 } && PostgresStore.IsConnectionString(store))
        {
            return await PostgresStore.OpenAsync(store, time, new PostgresStoreOptions
            {
                UnavailableAfter = Seconds(config, "store-retry-seconds") ?? new PostgresStoreOptions().UnavailableAfter,
            }, CancellationToken.None);
        }
        var path = store is { Length: > 0 }
            ? Path.GetFullPath(store.StartsWith("sqlite://", StringComparison.OrdinalIgnoreCase) ? store["sqlite://".Length..] : store)
            : Path.Combine(dataDir, "sluice.db");
        return await SqliteStore.OpenAsync(path, time, CancellationToken.None);
    }

    public static NodeRole Role(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "both" => NodeRole.Both,
        "api" => NodeRole.Api,
        "worker" => NodeRole.Worker,
        _ => throw new ArgumentException($"--role must be both, api or worker, not '{value}'"),
    };

    public static TimeSpan? Seconds(IConfiguration config, string key) =>
        config[key] is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && s < 86_400
                ? TimeSpan.FromSeconds(s)
                : throw new ArgumentException($"--{key} must be a number of seconds, not '{text}'")
            : null;
}
