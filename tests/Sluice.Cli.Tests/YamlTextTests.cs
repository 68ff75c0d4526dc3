using System.Text.Json;
using Sluice.Cli.Output;

namespace Sluice.Cli.Tests;

public class YamlTextTests
{
    [Theory]
    [InlineData("true")]
    [InlineData("No")]
    [InlineData("off")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData("123")]
    [InlineData("-1.5e3")]
    [InlineData(".inf")]
    [InlineData("0x1F")]
    [InlineData("2026-01-02T03:04:05.000Z")]
    [InlineData("1:20")]
    [InlineData(" padded ")]
    [InlineData("a: b")]
    [InlineData("# not a comment")]
    [InlineData("- not a list")]
    [InlineData("{not: a map}")]
    [InlineData("*alias")]
    [InlineData("line one\nline two\n")]
    [InlineData("tab\there")]
    [InlineData("plain words")]
    public void Write_String_ReadsBackAsTheSameString(string text)
    {
        var yaml = YamlText.Write(JsonSerializer.SerializeToElement(new { value = text, list = new[] { text } }));

        var doc = Yaml.Parse(yaml);
        Assert.Equal(text, Yaml.Get(doc, "value"));
        Assert.Equal(text, Yaml.Get(doc, "list", 0));
        if (YamlText.LooksTyped(text))
        {
            Assert.NotEqual(YamlDotNet.Core.ScalarStyle.Plain, Yaml.Style(doc, "value"));
        }
    }

    [Fact]
    public void Write_Values_KeepTheirTypesAndEmptyCollectionsAreFlow()
    {
        var yaml = YamlText.Write(JsonSerializer.SerializeToElement(new { n = 3, f = 0.5, b = false, z = (string?)null, o = new { }, a = Array.Empty<int>() }));

        Assert.Equal("n: 3\nf: 0.5\nb: false\nz: null\no: {}\na: []\n", yaml.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Write_MultiLineText_IsALiteralBlock()
    {
        var yaml = YamlText.Write(JsonSerializer.SerializeToElement(new { definition = "name: x\nsteps: []\n" }));

        Assert.Equal("definition: |\n  name: x\n  steps: []\n", yaml.ReplaceLineEndings("\n"));
    }
}
