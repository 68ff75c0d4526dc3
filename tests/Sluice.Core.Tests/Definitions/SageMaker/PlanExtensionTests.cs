using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Engine;

namespace Sluice.Core.Tests.Definitions.SageMaker;

/// <summary>The generic pieces the SageMaker compiler builds on: property paths, object URIs, container paths, templates.</summary>
public class PlanExtensionTests
{
    private sealed class Values(Dictionary<Reference, JsonNode?> values) : IValueResolver
    {
        public JsonNode? Resolve(Reference reference) =>
            values.TryGetValue(reference, out var v) ? v : throw SluiceException.Invalid($"no value for {reference}");
    }

    [Fact]
    public void PropertyPath_KeyedLookupOnList_PicksElementByItsNameField()
    {
        var doc = JsonNode.Parse("""
            {"ProcessingOutputConfig": {"Outputs": [
              {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}},
              {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}}]},
             "Summaries": [{"TrainingJobName": "j0"}, {"TrainingJobName": "j1"}],
             "Env": {"A-B": "x"}}
            """);

        Assert.True(PropertyPath.Parse("ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri", out _)!.TryFind(doc, out var uri));
        Assert.Equal("s3://b/train", uri!.GetValue<string>());
        Assert.True(PropertyPath.Parse("Summaries[1].TrainingJobName", out _)!.TryFind(doc, out var name));
        Assert.Equal("j1", name!.GetValue<string>());
        Assert.True(PropertyPath.Parse("Env[\"A-B\"]", out _)!.TryFind(doc, out var env));
        Assert.Equal("x", env!.GetValue<string>());
        Assert.False(PropertyPath.Parse("ProcessingOutputConfig.Outputs['validation']", out _)!.TryFind(doc, out _));
        Assert.False(PropertyPath.Parse("Summaries[5]", out _)!.TryFind(doc, out _));
    }

    [Theory]
    [InlineData("a.", "ends with '.'")]
    [InlineData(".a", "unexpected '.'")]
    [InlineData("a[b]", "neither a list index")]
    [InlineData("a[0", "is not closed")]
    [InlineData("a[0]b", "expected '.' or '['")]
    public void PropertyPath_Malformed_Reason(string text, string fragment)
    {
        Assert.Null(PropertyPath.Parse(text, out var error));
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://bucket/a/b.csv", "/objects/bucket/a/b.csv")]
    [InlineData("s3://bucket/prefix/", "/objects/bucket/prefix")]
    [InlineData("s3://bucket//x//y", "/objects/bucket/x/y")]
    [InlineData("gs://bucket/k", "/objects/bucket/k")]
    public void ObjectStore_Uri_MapsUnderTheObjectDirectory(string uri, string expected)
    {
        Assert.True(ObjectStore.TryLocalPath("/objects", uri, out var path, out _));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("s3://bucket/../other")]
    [InlineData("s3://bucket/./x")]
    [InlineData("s3://")]
    [InlineData("s3:///key")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/etc/passwd")]
    public void ObjectStore_UriOutsideOrNotAnObject_Refused(string uri) =>
        Assert.False(ObjectStore.TryLocalPath("/objects", uri, out _, out _));

    [Theory]
    [InlineData("/opt/ml/processing/input", "/r/opt/ml/processing/input")]
    [InlineData("/opt/ml", "/r/opt/ml")]
    [InlineData("--model-dir=/opt/ml/model", "--model-dir=/r/opt/ml/model")]
    [InlineData("python3 /opt/ml/code/x.py > '/opt/ml/out'", "python3 /r/opt/ml/code/x.py > '/r/opt/ml/out'")]
    [InlineData("a:/opt/ml/b,/opt/ml/c", "a:/r/opt/ml/b,/r/opt/ml/c")]
    [InlineData("/opt/mlx", "/opt/mlx")]
    [InlineData("/data/opt/ml/x", "/data/opt/ml/x")]
    [InlineData("s3://bucket/opt/ml/x", "s3://bucket/opt/ml/x")]
    public void ContainerPaths_Rewrite_OnlyWholePathsAtWordStarts(string value, string expected) =>
        Assert.Equal(expected, new ContainerPaths(["/opt/ml"], "/r").Rewrite(value));

    [Fact]
    public void Template_ComposedOfTextReferencesAndConstants_RendersTextAndKeepsTypes()
    {
        var p = new ParamRef("n");
        var values = new Values(new() { [p] = JsonValue.Create(4) });
        var joined = Template.Compose(["s3://b/", p, "/", JsonValue.Create(2.5), Template.Literal("/x")]);
        var constant = Template.Constant(JsonValue.Create(true));
        var single = Template.Compose([p]);

        Assert.Equal("s3://b/4/2.5/x", joined.Render(values));
        Assert.Equal(System.Text.Json.JsonValueKind.True, JsonValueKindOf(constant.RenderValue(values)));
        Assert.Equal(4, single.RenderValue(values)!.GetValue<int>());
        Assert.Equal(p, single.OnlyReference);
        Assert.Null(joined.OnlyReference);
        Assert.Equal([p], joined.References);
    }

    [Fact]
    public void JsonTemplate_RendersNestedValuesWithTypes()
    {
        var p = new ParamRef("n");
        var values = new Values(new() { [p] = JsonValue.Create(7) });
        var t = JsonTemplate.Object(
        [
            new("a", JsonTemplate.Value(Template.Compose([p]))),
            new("b", JsonTemplate.Array([JsonTemplate.Constant(JsonValue.Create("x")), JsonTemplate.Value(Template.Compose(["n=", p]))])),
        ]);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"a": 7, "b": ["x", "n=7"]}"""), t.Render(values)));
        Assert.Equal([p, p], t.References);
    }

    private static System.Text.Json.JsonValueKind JsonValueKindOf(JsonNode? n) => n!.GetValueKind();
}
