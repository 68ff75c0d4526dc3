using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests;

/// <summary>One real server shared by the tests of a class (each test uses pipelines of its own names).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    /// <summary>The Vertex test project, by id and number, names the default tenant here (the cross-face tests reach runs
    /// started through the other faces by it).</summary>
    public async Task InitializeAsync() => server = await ServerProcess.StartAsync(null,
        "--Vertex:Projects:0:Id", Vertex.VertexSupport.Project, "--Vertex:Projects:0:Number", Vertex.VertexSupport.ProjectNumber,
        "--Vertex:Projects:0:Tenant", "default");

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

internal static class Json
{
    public static string Str(this JsonNode? n, string key) => n?[key]?.GetValue<string>() ?? throw new KeyNotFoundException(key);

    public static JsonObject StepOf(this JsonObject run, string name) =>
        run["steps"]!.AsArray().Select(s => s!.AsObject()).First(s => s.Str("name") == name);

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];
}
