using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Execution;
using Sluice.Server.Tests.SageMaker;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.Security;

/// <summary>Hostile parameters stay one argv entry through the SageMaker face too (the native face's test is in
/// BadInputTests); the server calls only allowed URLs.</summary>
public sealed class AllowlistAndArgvTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    [Fact]
    public async Task SageMakerParameter_HostileString_OneArgvEntryNeverRunByAShell()
    {
        using var canaries = new TempDirectory("sluice-canary");
        var touched = canaries.File("x");
        var value = $"$(touch {touched}); rm -rf {canaries.Path}; `touch {touched}` && touch {touched} | sh -c 'touch {touched}'";
        var name = Json.UniqueName("hostile-sm");
        var definition = new JsonObject
        {
            ["Version"] = "2020-12-01",
            ["Parameters"] = new JsonArray(new JsonObject { ["Name"] = "V", ["Type"] = "String", ["DefaultValue"] = "plain" }),
            ["Steps"] = new JsonArray(new JsonObject
            {
                ["Name"] = "Echo", ["Type"] = "Processing",
                ["Arguments"] = new JsonObject
                {
                    ["AppSpecification"] = new JsonObject
                    {
                        ["ImageUri"] = "registry.example/echo:1", ["ContainerEntrypoint"] = new JsonArray("printf", "%s"),
                        ["ContainerArguments"] = new JsonArray(new JsonObject { ["Get"] = "Parameters.V" }),
                    },
                },
            }),
        };
        var r = await new AwsClients(S, "us-east-1").BotoAsync([
            Call("sagemaker.create_pipeline", new { PipelineName = name, PipelineDefinition = definition.ToJsonString(), RoleArn = "arn:aws:iam::000000000000:role/sluice",
                ClientRequestToken = Guid.NewGuid().ToString("D") }),
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name, PipelineParameters = new[] { new { Name = "V", Value = value } } }),
            Wait("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = "${1.PipelineExecutionArn}" }, "PipelineExecutionStatus",
                "Succeeded", "Failed", "Stopped"),
        ]);
        Assert.Equal("Succeeded", r.Ok(2)["PipelineExecutionStatus"]!.GetValue<string>());
        var arn = r.Ok(1)["PipelineExecutionArn"]!.GetValue<string>();
        using var log = await S.Http.GetAsync($"/api/v1/runs/{arn[(arn.LastIndexOf('/') + 1)..]}/steps/Echo/logs?stream=stdout");
        Assert.Equal(value, await log.Content.ReadAsStringAsync());
        Assert.False(File.Exists(touched), "a hostile parameter was run by a shell");
        Assert.True(Directory.Exists(canaries.Path));
    }

    [Fact]
    public async Task UrlFunction_NotOnTheAllowedUrls_RefusedWithTheReason_LoopbackAllowedByDefault()
    {
        var name = Json.UniqueName("fn");
        using var outside = await S.Http.PutAsJsonAsync($"/api/v1/functions/{name}", new { url = "http://169.254.169.254/latest/meta-data/?token=secret" });
        Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
        var text = await outside.Content.ReadAsStringAsync();
        Assert.Contains("not on the allowed URLs", text, StringComparison.Ordinal);
        Assert.DoesNotContain("token=secret", text, StringComparison.Ordinal);
        using var local = await S.Http.PutAsJsonAsync($"/api/v1/functions/{name}", new { url = "http://127.0.0.1:9/fn" });
        Assert.Equal(HttpStatusCode.Created, local.StatusCode);
    }

    [Theory]
    [InlineData("https://hooks.example.com/sluice/", "https://hooks.example.com/sluice/a?x=1", true)]
    [InlineData("https://hooks.example.com/sluice/", "https://hooks.example.com/other", false)]
    [InlineData("https://hooks.example.com/sluice/", "http://hooks.example.com/sluice/a", false)]
    [InlineData("https://hooks.example.com/sluice/", "https://hooks.example.com:8443/sluice/a", false)]
    [InlineData("https://hooks.example.com/", "https://hooks.example.com.evil.net/", false)]
    [InlineData("https://hooks.example.com/", "https://user:pw@hooks.example.com/", false)]
    [InlineData("https://*.example.com/", "https://a.b.example.com/x", true)]
    [InlineData("https://*.example.com/", "https://example.com.evil.net/x", false)]
    [InlineData("http://127.0.0.1:*/", "http://127.0.0.1:8080/x", true)]
    [InlineData("http://127.0.0.1:*/", "http://127.0.0.2:8080/x", false)]
    [InlineData("*", "https://anything.example/", true)]
    [InlineData("*", "file:///etc/passwd", false)]
    public void UrlAllowlist_Prefixes_AllowOnlyWhatTheyName(string list, string url, bool allowed) =>
        Assert.Equal(allowed, UrlAllowlist.Parse(list).Allows(url));
}
