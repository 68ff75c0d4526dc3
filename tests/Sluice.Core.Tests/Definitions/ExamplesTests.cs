using System.Text.RegularExpressions;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public partial class ExamplesTests
{
    internal static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sluice.slnx")) || Directory.Exists(Path.Combine(dir.FullName, "examples")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root not found");
    }

    public static TheoryData<string> ExampleFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(Root(), "examples"), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Compile_Example_Compiles(string file)
    {
        var r = NativeCompiler.Compile(File.ReadAllText(Path.Combine(Root(), "examples", file)));
        Assert.True(r.Ok, string.Join("\n", r.Problems));
    }

    [Fact]
    public void Compile_DocsFullExamples_Compile()
    {
        var doc = File.ReadAllText(Path.Combine(Root(), "docs", "pipelines.md"));
        var blocks = YamlBlock().Matches(doc).Select(m => m.Groups[1].Value).Where(b => b.StartsWith("name:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(blocks);
        foreach (var b in blocks)
        {
            var r = NativeCompiler.Compile(b);
            Assert.True(r.Ok, b + "\n" + string.Join("\n", r.Problems));
        }
    }

    [GeneratedRegex(@"```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
