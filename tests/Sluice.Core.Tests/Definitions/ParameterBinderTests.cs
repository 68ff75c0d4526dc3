using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

public class ParameterBinderTests
{
    private static readonly Plan Plan = NativeCompilerTests.CompileOk("""
        name: p
        parameters:
          epochs: { type: Integer, default: 3 }
          rate: { type: Float, default: 0.5 }
          dataset: { type: String }
          dry: { type: Boolean, default: false }
        steps:
          - { name: a, command: x }
        """);

    [Fact]
    public void Bind_OnlyRequired_AppliesDefaults()
    {
        var problems = new List<Problem>();
        var values = ParameterBinder.Bind(Plan, new JsonObject { ["dataset"] = "big" }, problems);
        Assert.Empty(problems);
        Assert.Equal(3L, values["epochs"]!.GetValue<long>());
        Assert.Equal(0.5, values["rate"]!.GetValue<double>());
        Assert.Equal("big", values["dataset"]!.GetValue<string>());
        Assert.False(values["dry"]!.GetValue<bool>());
        Assert.Equal(["epochs", "rate", "dataset", "dry"], values.Select(kv => kv.Key));
    }

    [Fact]
    public void Bind_TextFromCommandLine_Converts()
    {
        var problems = new List<Problem>();
        var values = ParameterBinder.Bind(Plan, new JsonObject { ["epochs"] = "10", ["rate"] = "1e-3", ["dataset"] = "d", ["dry"] = "TRUE" }, problems);
        Assert.Empty(problems);
        Assert.Equal(10L, values["epochs"]!.GetValue<long>());
        Assert.Equal(0.001, values["rate"]!.GetValue<double>());
        Assert.True(values["dry"]!.GetValue<bool>());
    }

    [Fact]
    public void Bind_JsonNumbers_Convert()
    {
        var problems = new List<Problem>();
        var given = JsonNode.Parse("""{"epochs": 7, "rate": 2, "dataset": "d", "dry": true}""")!.AsObject();
        var values = ParameterBinder.Bind(Plan, given, problems);
        Assert.Empty(problems);
        Assert.Equal(7L, values["epochs"]!.GetValue<long>());
        Assert.Equal(2.0, values["rate"]!.GetValue<double>());
    }

    [Fact]
    public void Bind_MissingRequired_Reported()
    {
        var problems = new List<Problem>();
        ParameterBinder.Bind(Plan, null, problems);
        var p = Assert.Single(problems);
        Assert.Equal("parameters.dataset", p.Path);
        Assert.Contains("required", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_NullValue_CountsAsNotGiven()
    {
        var problems = new List<Problem>();
        var values = ParameterBinder.Bind(Plan, new JsonObject { ["epochs"] = null, ["dataset"] = null }, problems);
        Assert.Equal(3L, values["epochs"]!.GetValue<long>());
        Assert.Equal("parameters.dataset", Assert.Single(problems).Path);
    }

    [Theory]
    [InlineData("epochs", "abc", "expected an Integer")]
    [InlineData("epochs", "2.5", "expected an Integer")]
    [InlineData("rate", "fast", "expected a Float")]
    [InlineData("dry", "yes", "expected a Boolean")]
    public void Bind_WrongType_Reported(string name, string value, string fragment)
    {
        var problems = new List<Problem>();
        ParameterBinder.Bind(Plan, new JsonObject { ["dataset"] = "d", [name] = value }, problems);
        var p = Assert.Single(problems);
        Assert.Equal($"parameters.{name}", p.Path);
        Assert.Contains(fragment, p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_StringParameterGivenNumber_Reported()
    {
        var problems = new List<Problem>();
        ParameterBinder.Bind(Plan, new JsonObject { ["dataset"] = 3 }, problems);
        Assert.Equal("parameters.dataset", Assert.Single(problems).Path);
    }

    [Fact]
    public void Bind_UnknownParameter_ReportedWithSuggestion()
    {
        var problems = new List<Problem>();
        ParameterBinder.Bind(Plan, new JsonObject { ["dataset"] = "d", ["epoch"] = 3, ["zzz"] = 1 }, problems);
        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Path == "parameters.epoch" && p.Message.Contains("did you mean 'epochs'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "parameters.zzz" && p.Message.Contains("unknown parameter", StringComparison.Ordinal));
    }

    [Fact]
    public void Bind_AllProblemsTogether()
    {
        var problems = new List<Problem>();
        ParameterBinder.Bind(Plan, new JsonObject { ["epochs"] = "x", ["other"] = 1 }, problems);
        Assert.Equal(["parameters.epochs", "parameters.dataset", "parameters.other"], problems.Select(p => p.Path));
    }

    [Fact]
    public void Bind_DefaultsAreCopies()
    {
        var values = ParameterBinder.Bind(Plan, new JsonObject { ["dataset"] = "d" }, []);
        values["epochs"] = 99;
        Assert.Equal(3L, Plan.Parameters[0].Default!.GetValue<long>());
    }
}
