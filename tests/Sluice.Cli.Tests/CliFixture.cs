using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

/// <summary>One real server shared by the tests of a class, and a folder for the files they write; each test uses
/// pipelines of its own names.</summary>
public sealed class CliFixture : IAsyncLifetime
{
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public string Url => Server.Http.BaseAddress!.ToString().TrimEnd('/');

    public TempDirectory Files { get; } = new("sluice-cli");

    public async Task InitializeAsync() => server = await ServerProcess.StartAsync();

    public Task<CliResult> RunAsync(params string[] args) => Cli.RunAsync(Url, args);

    /// <summary>Writes a file in the fixture's folder; returns its path.</summary>
    public string Write(string name, string text)
    {
        var path = Files.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Creates a pipeline through the CLI from YAML; returns its name.</summary>
    public async Task<string> PipelineAsync(string prefix, string yamlAfterName)
    {
        var name = Names.Unique(prefix);
        var file = Write($"{name}.yaml", $"name: {name}\n{yamlAfterName}");
        var r = await RunAsync("pipelines", "create", "-f", file);
        Assert.True(r.ExitCode == 0, r.ToString());
        return name;
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
        Files.Dispose();
    }
}

internal static class Names
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];
}

internal static class JsonExtensions
{
    public static string Str(this JsonNode? n, string key) => n?[key]?.GetValue<string>() ?? throw new KeyNotFoundException(key);

    /// <summary>The state of a step of a run (as the native API answers it).</summary>
    public static string StepOf(this JsonObject run, string step) =>
        run["steps"]!.AsArray().Single(s => s.Str("name") == step).Str("state");
}
