using System.Net;
using System.Text.Json.Nodes;
using Sluice.Server.Tests.SageMaker;
using Sluice.Server.Tests.Vertex;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests;

/// <summary>One run, three names (ARCHITECTURE): a run created through one face is stopped through another and observed
/// through the third, with each face showing the state in its own words.</summary>
public class CrossFaceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    private const string Region = VertexSupport.Location;

    [Fact]
    public async Task StartedThroughBoto3_CancelledThroughVertex_StoppedEverywhere()
    {
        var name = Json.UniqueName("xface");
        var definition = """
            {"Version": "2020-12-01", "Steps": [{"Name": "Work", "Type": "Processing", "Arguments": {
              "AppSpecification": {"ImageUri": "registry.example/work:1", "ContainerEntrypoint": ["sh", "-c", "sleep 600 & sleep 600"]}}}]}
            """;
        var aws = new AwsClients(S, region: Region);
        var started = await aws.BotoAsync([
            Call("sagemaker.create_pipeline", new { PipelineName = name, PipelineDefinition = definition, RoleArn = "arn:aws:iam::000000000000:role/sluice",
                ClientRequestToken = Guid.NewGuid().ToString("D") }),
            Call("sagemaker.start_pipeline_execution", new { PipelineName = name, ClientRequestToken = Guid.NewGuid().ToString("D") }),
        ]);
        var arn = started.Ok(1)["PipelineExecutionArn"]!.GetValue<string>();
        Assert.StartsWith($"arn:aws:sagemaker:{Region}:000000000000:pipeline/{name}/execution/", arn, StringComparison.Ordinal);
        var id = arn[(arn.LastIndexOf('/') + 1)..];
        await S.WaitForStepAsync(id, "Work", "Running");

        // The same run under its Vertex name, through a project alias (the fixture names it the default tenant's).
        var (status, body) = await VertexSupport.CallAsync(S.Http, HttpMethod.Post,
            $"/v1/projects/{VertexSupport.ProjectNumber}/locations/{Region}/pipelineJobs/{id}:cancel", new JsonObject());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("{}", body?.ToJsonString());

        var native = await S.WaitForStateAsync(id, "Stopped");
        Assert.Equal("Stopped", native.StepOf("Work").Str("state"));
        var job = await VertexSupport.GetAsync(S.Http, id, $"projects/{VertexSupport.Project}/locations/{Region}");
        Assert.Equal("PIPELINE_STATE_CANCELLED", job["state"]!.GetValue<string>());
        var described = await aws.BotoAsync([Call("sagemaker.describe_pipeline_execution", new { PipelineExecutionArn = arn })]);
        Assert.Equal("Stopped", described.Ok(0)["PipelineExecutionStatus"]!.GetValue<string>());
    }
}
