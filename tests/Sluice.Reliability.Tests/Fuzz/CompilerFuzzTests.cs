using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Definitions.Kfp;
using Sluice.Core.Definitions.SageMaker;

namespace Sluice.Reliability.Tests.Fuzz;

/// <summary>The three definition compilers, in process, on mutations of the valid definitions of the corpus and the examples:
/// a compiler never throws, never hangs, and answers either a plan or at least one problem with a message.</summary>
public class CompilerFuzzTests
{
    private static readonly TimeSpan PerCase = TimeSpan.FromSeconds(10);

    private static string Dir(string sub) => Path.Combine(AppContext.BaseDirectory, sub);

    public static TheoryData<string> Targets => ["native-yaml", "native-json", "sagemaker", "kfp"];

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Compile_MutatedDefinitions_ProblemsNotExceptions(string format)
    {
        var seeds = Seeds(format);
        Assert.NotEmpty(seeds);
        foreach (var (name, source) in seeds)
        {
            var r = Compile(format, source);
            Assert.True(r.Ok, $"seed {name} does not compile: {string.Join("; ", r.Problems)}");
        }
        var target = $"Compile_{format}";
        foreach (var i in FuzzSettings.Cases(quick: format == "kfp" ? 250 : 400))
        {
            var random = FuzzSettings.RandomFor(target, i);
            var m = new Mutator(random);
            var (_, seed) = seeds[random.Next(seeds.Count)];
            var input = format == "native-yaml" ? m.MutateYaml(seed) : m.MutateJson(Parse(format, seed));
            var clock = Stopwatch.StartNew();
            CompileResult result;
            try
            {
                result = await Task.Run(() => Compile(format, input)).WaitAsync(PerCase);
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"case {i}: compiling took over {PerCase.TotalSeconds} s; {FuzzSettings.Replay(target, i)}\ninput: {Cut(input)}");
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"case {i}: the compiler threw {e}; {FuzzSettings.Replay(target, i)}\ninput: {Cut(input)}");
            }
            Assert.True(result.Ok == result.Plan is not null, $"case {i}: Ok={result.Ok} but plan {(result.Plan is null ? "missing" : "present")}; {FuzzSettings.Replay(target, i)}");
            if (!result.Ok)
            {
                Assert.True(result.Problems.Count > 0 && result.Problems.All(p => !string.IsNullOrWhiteSpace(p.Message)),
                    $"case {i}: rejected without a problem that says why; {FuzzSettings.Replay(target, i)}\ninput: {Cut(input)}");
                Assert.True(result.Problems.All(p => !p.Message.Contains("Exception", StringComparison.Ordinal)),
                    $"case {i}: a problem leaks an exception: {string.Join("; ", result.Problems)}; {FuzzSettings.Replay(target, i)}");
            }
            Assert.True(clock.Elapsed < PerCase, $"case {i}: {clock.Elapsed}");
        }
    }

    internal static CompileResult Compile(string format, string source) => format switch
    {
        "native-yaml" => NativeCompiler.Compile(source, "yaml"),
        "native-json" => NativeCompiler.Compile(source, "json"),
        "sagemaker" => SageMakerCompiler.Compile(source),
        _ => KfpCompiler.Compile(source),
    };

    private static JsonNode Parse(string format, string source) => format == "kfp"
        ? KfpCompiler.ReadDocument(source, []) ?? throw new InvalidOperationException("unreadable seed")
        : JsonNode.Parse(source, documentOptions: new JsonDocumentOptions { MaxDepth = 1000 })!;

    /// <summary>Valid definitions to mutate: the examples (YAML, and as JSON), the SageMaker corpus (fragments of a Steps
    /// list wrapped into a definition) and the KFP corpus (YAML read as JSON).</summary>
    internal static List<(string Name, string Source)> Seeds(string format)
    {
        var list = new List<(string, string)>();
        switch (format)
        {
            case "native-yaml":
            case "native-json":
                foreach (var f in Directory.GetFiles(Dir("examples"), "*.yaml").Order(StringComparer.Ordinal))
                {
                    var yaml = File.ReadAllText(f);
                    list.Add((Path.GetFileName(f), format == "native-yaml" ? yaml : YamlToJson(yaml)));
                }
                break;
            case "sagemaker":
                foreach (var f in Directory.GetFiles(Dir("corpus/sagemaker"), "*.json").Order(StringComparer.Ordinal))
                {
                    var node = JsonNode.Parse(File.ReadAllText(f), documentOptions: new JsonDocumentOptions { MaxDepth = 1000 })!;
                    var def = node is JsonArray steps ? new JsonObject { ["Version"] = "2020-12-01", ["Parameters"] = FragmentParameters(), ["Steps"] = steps.DeepClone() } : node;
                    var text = def.ToJsonString();
                    if (SageMakerCompiler.Compile(text).Ok)
                    {
                        list.Add((Path.GetFileName(f), text));
                    }
                }
                break;
            default:
                foreach (var f in Directory.GetFiles(Dir("corpus/kfp")).Order(StringComparer.Ordinal))
                {
                    var text = File.ReadAllText(f);
                    var node = KfpCompiler.ReadDocument(text, []);
                    if (node is not null && KfpCompiler.Compile(node.ToJsonString()).Ok)
                    {
                        list.Add((Path.GetFileName(f), node.ToJsonString()));
                    }
                }
                break;
        }
        return list;
    }

    private static JsonArray FragmentParameters() =>
    [
        new JsonObject { ["Name"] = "MyInt", ["Type"] = "Integer", ["DefaultValue"] = 1 },
    ];

    private static string YamlToJson(string yaml)
    {
        var problems = new List<Problem>();
        var node = KfpCompiler.ReadDocument(yaml, problems);
        return node?.ToJsonString() ?? throw new InvalidOperationException(string.Join("; ", problems));
    }

    internal static string Cut(string s) => s.Length > 600 ? s[..600] + $"... ({s.Length} chars)" : s;
}
