using System.Text.Json.Nodes;

namespace Sluice.Cli.Tests;

public class PipelinesCommandTests(CliFixture f) : IClassFixture<CliFixture>
{
    private const string TwoSteps = """
        parameters:
          who: { type: String, default: world }
        steps:
          - name: greet
            command: sh
            args: ["-c", "echo hello $0", "{{params.who}}"]
          - name: shout
            command: echo
            dependsOn: [greet]
        """;

    [Fact]
    public async Task CreateGetListUpdateDelete_HappyPath_PrintsTablesAndJsonThatParsesBack()
    {
        var name = Names.Unique("pl");
        var file = f.Write($"{name}.yaml", $"name: {name}\ndescription: the first\n{TwoSteps}");

        var created = await f.RunAsync("pipelines", "create", "-f", file);
        Assert.Equal(0, created.ExitCode);
        Assert.Equal($"pipeline {name} created (version 1, 2 steps)\n", created.Out);

        var got = await f.RunAsync("pipelines", "get", name);
        Assert.Equal(0, got.ExitCode);
        Assert.Contains($"Name:         {name}", got.Out);
        Assert.Matches(@"who\s+String\s+world", got.Out);
        Assert.Matches(@"shout\s+process\s+greet", got.Out);
        Assert.DoesNotContain("\u001b", got.Out + got.Err);

        var json = (await f.RunAsync("pipelines", "get", name, "-o", "json")).Json();
        Assert.Equal(name, json.Str("name"));
        Assert.Equal(1, json["latestVersion"]!.GetValue<int>());
        Assert.Equal(["greet", "shout"], json["steps"]!.AsArray().Select(s => s.Str("name")));
        Assert.EndsWith("Z", json.Str("createdAt"));

        var definition = await f.RunAsync("pipelines", "get", name, "--definition");
        Assert.Equal(File.ReadAllText(file), definition.Out);

        var updatedFile = f.Write($"{name}-2.json", $$"""{"name": "{{name}}", "steps": [{"name": "only", "command": "true"}]}""");
        var updated = await f.RunAsync("pipelines", "update", "-f", updatedFile);
        Assert.Equal(0, updated.ExitCode);
        Assert.Equal($"pipeline {name} updated to version 2 (1 step)\n", updated.Out);
        var v1 = (await f.RunAsync("pipelines", "get", name, "--version", "1", "-o", "json")).Json();
        Assert.Equal(1, v1["version"]!["version"]!.GetValue<int>());
        Assert.Equal("native-json", (await f.RunAsync("pipelines", "get", name, "-o", "json")).Json()["version"]!.Str("format"));

        var list = await f.RunAsync("pipelines", "list", "-o", "json");
        var entry = Assert.Single(list.Json().AsArray(), p => p.Str("name") == name);
        Assert.Equal(2, entry!["latestVersion"]!.GetValue<int>());
        var names = await f.RunAsync("pipelines", "list", "-o", "name");
        Assert.Contains(name, names.Lines);
        var table = await f.RunAsync("pipelines", "list");
        Assert.Matches($@"(?m)^{name}\s+2\s+\d+s ago\s+the first$", table.Out);

        var deleted = await f.RunAsync("pipelines", "delete", name);
        Assert.Equal($"pipeline {name} deleted\n", deleted.Out);
        var gone = await f.RunAsync("pipelines", "get", name);
        Assert.Equal(5, gone.ExitCode);
        Assert.Equal($"error: pipeline {name} not found\n", gone.Err);
        Assert.Empty(gone.Out);
    }

    [Fact]
    public async Task Create_InvalidDefinition_EveryProblemWithFileLineAndColumn_Exit4()
    {
        var name = Names.Unique("bad");
        var file = f.Write($"{name}.yaml", $"name: {name}\nsteps:\n  - name: a\n    command: x\n    dependsOn: [nope]\n  - name: b\n    comand: y\n");

        var r = await f.RunAsync("pipelines", "create", "-f", file);

        Assert.Equal(4, r.ExitCode);
        Assert.Contains($"{file}:5:17: steps[0].dependsOn[0]: ", r.Err);
        Assert.Contains($"{file}:7:5: steps[1].comand: ", r.Err);
        Assert.EndsWith($"error: {file}: the definition has 3 problems\n", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Equal(5, (await f.RunAsync("pipelines", "get", name)).ExitCode);
    }

    [Fact]
    public async Task Validate_Offline_NeedsNoServer_ShowsProblemsWithPositions()
    {
        // A server address where nothing listens: validate must not call it.
        const string nowhere = "http://127.0.0.1:9";
        var bad = f.Write("invalid.yaml", "name: v\nsteps:\n  - name: a\n    command: x\n    retries: many\n  - name: a\n    command: y\n");
        var good = f.Write("valid.yaml", $"name: v\n{TwoSteps}");

        var invalid = await Cli.RunAsync(nowhere, "pipelines", "validate", "-f", bad);
        Assert.Equal(4, invalid.ExitCode);
        Assert.Contains($"{bad}:5:14: steps[0].retries: ", invalid.Out);
        Assert.Contains($"{bad}:6:11: steps[1].name: ", invalid.Out);
        Assert.EndsWith($"{bad}: the definition has 2 problems\n", invalid.Out);

        var json = await Cli.RunAsync(nowhere, "pipelines", "validate", "-f", bad, "-o", "json");
        Assert.Equal(4, json.ExitCode);
        var problems = json.Json()["problems"]!.AsArray();
        Assert.Equal(2, problems.Count);
        Assert.Equal(5, problems[0]!["line"]!.GetValue<int>());
        Assert.Equal(14, problems[0]!["column"]!.GetValue<int>());
        Assert.False(json.Json()["valid"]!.GetValue<bool>());

        var valid = await Cli.RunAsync(nowhere, "pipelines", "validate", "-f", good);
        Assert.Equal(0, valid.ExitCode);
        Assert.Equal($"{good}: valid: pipeline v with 2 steps (greet, shout)\n", valid.Out);

        var yaml = await Cli.RunAsync(nowhere, "pipelines", "validate", "-f", good, "-o", "yaml");
        Assert.Equal(0, yaml.ExitCode);
        var doc = Yaml.Parse(yaml.Out);
        Assert.Equal("true", Yaml.Get(doc, "valid"));
        Assert.Equal("shout", Yaml.Get(doc, "steps", 1, "name"));
        Assert.Equal("greet", Yaml.Get(doc, "steps", 1, "dependsOn", 0));

        var stdin = await Cli.RunAsync(nowhere, ["pipelines", "validate", "-f", "-"], "{\"name\": \"j\", \"steps\": [{\"name\": \"a\"}]}", null);
        Assert.Equal(4, stdin.ExitCode);
        Assert.Contains("<stdin>:1:", stdin.Out);
    }

    [Fact]
    public async Task Create_NameTaken_Exit6WithHint_MissingFile_Exit4()
    {
        var name = await f.PipelineAsync("taken", TwoSteps);
        var file = f.Files.File($"{name}.yaml");

        var again = await f.RunAsync("pipelines", "create", "-f", file);
        Assert.Equal(6, again.ExitCode);
        Assert.Equal($"error: pipeline {name} already exists; add a version instead: sluice pipelines update -f {file}\n", again.Err);

        var missing = await f.RunAsync("pipelines", "create", "-f", f.Files.File("nope.yaml"));
        Assert.Equal(4, missing.ExitCode);
        Assert.StartsWith($"error: cannot read {f.Files.File("nope.yaml")}: ", missing.Err);

        var noFile = await f.RunAsync("pipelines", "create");
        Assert.Equal(3, noFile.ExitCode);
        Assert.Contains("--file", noFile.Err);

        var notMine = await f.RunAsync("pipelines", "update", "-f", f.Write("other.yaml", $"name: {Names.Unique("other")}\n{TwoSteps}"));
        Assert.Equal(5, notMine.ExitCode);
    }

    [Fact]
    public async Task Delete_SeveralOneMissing_DeletesTheOthersAndExitsWithTheFailure()
    {
        var a = await f.PipelineAsync("del", TwoSteps);
        var b = await f.PipelineAsync("del", TwoSteps);

        var r = await f.RunAsync("pipelines", "delete", a, "missing-pipeline-x", b);

        Assert.Equal(5, r.ExitCode);
        Assert.Equal($"pipeline {a} deleted\npipeline {b} deleted\n", r.Out);
        Assert.Equal("error: pipeline missing-pipeline-x not found\n", r.Err);
        var left = (await f.RunAsync("pipelines", "list", "-o", "json")).Json().AsArray().Select(p => p.Str("name")).ToList();
        Assert.DoesNotContain(a, left);
        Assert.DoesNotContain(b, left);
    }
}

/// <summary>Reads YAML the CLI printed back into nodes, with a YAML parser that is not the one that wrote it.</summary>
internal static class Yaml
{
    public static YamlDotNet.RepresentationModel.YamlNode Parse(string text)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Single().RootNode;
    }

    /// <summary>The scalar at a path of keys (strings) and indexes (ints).</summary>
    public static string? Get(YamlDotNet.RepresentationModel.YamlNode node, params object[] path)
    {
        foreach (var p in path)
        {
            node = p switch
            {
                string key => ((YamlDotNet.RepresentationModel.YamlMappingNode)node).Children[new YamlDotNet.RepresentationModel.YamlScalarNode(key)],
                int i => ((YamlDotNet.RepresentationModel.YamlSequenceNode)node).Children[i],
                _ => throw new ArgumentException("keys are strings or ints", nameof(path)),
            };
        }
        return ((YamlDotNet.RepresentationModel.YamlScalarNode)node).Value;
    }

    /// <summary>The YAML scalar style, to check that typed-looking strings are quoted.</summary>
    public static YamlDotNet.Core.ScalarStyle Style(YamlDotNet.RepresentationModel.YamlNode node, params object[] path)
    {
        foreach (var p in path)
        {
            node = p switch
            {
                string key => ((YamlDotNet.RepresentationModel.YamlMappingNode)node).Children[new YamlDotNet.RepresentationModel.YamlScalarNode(key)],
                int i => ((YamlDotNet.RepresentationModel.YamlSequenceNode)node).Children[i],
                _ => throw new ArgumentException("keys are strings or ints", nameof(path)),
            };
        }
        return ((YamlDotNet.RepresentationModel.YamlScalarNode)node).Style;
    }
}
