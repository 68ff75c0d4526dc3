using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>Real sluice-server processes on loopback ports sharing one PostgreSQL schema (and, as nodes of one machine, one
/// data directory), with short leases so that takeovers happen within a test's patience.</summary>
internal sealed class Nodes : IAsyncDisposable
{
    private readonly TempDirectory data = new("sluice-nodes");
    private readonly List<ServerProcess> servers = [];

    private Nodes(string connectionString) => ConnectionString = connectionString;

    public string ConnectionString { get; }

    public string DataDir => data.Path;

    public ServerProcess this[int i] => servers[i];

    /// <summary>Starts one node per argument list (each on the shared store), in order.</summary>
    public static async Task<Nodes> StartAsync(string connectionString, params string[][] nodes)
    {
        var set = new Nodes(connectionString);
        try
        {
            foreach (var args in nodes)
            {
                await set.AddAsync(args);
            }
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    public async Task<ServerProcess> AddAsync(params string[] args)
    {
        var s = await ServerProcess.StartAsync(data.Path,
            ["--store", ConnectionString, "--lease-seconds", "2", "--poll-seconds", "0.2", "--request-timeout-seconds", "20", .. args]);
        servers.Add(s);
        return s;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in servers)
        {
            await s.DisposeAsync();
        }
        data.Dispose();
    }
}

internal static class Json
{
    public static string Str(this JsonNode? n, string key) => n?[key]?.GetValue<string>() ?? throw new KeyNotFoundException(key);

    public static JsonObject StepOf(this JsonObject run, string name) =>
        run["steps"]!.AsArray().Select(s => s!.AsObject()).First(s => s.Str("name") == name);

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];

    public static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
