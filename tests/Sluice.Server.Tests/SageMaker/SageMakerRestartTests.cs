using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>ClientRequestToken answers are durable: an SDK retry after the server died gets the first answer.</summary>
public sealed class SageMakerRestartTests : IAsyncLifetime
{
    private ServerProcess? server;

    private ServerProcess S => server!;

    public async Task InitializeAsync() => server = await ServerProcess.StartAsync();

    public async Task DisposeAsync() => await S.DisposeAsync();

    [Fact]
    public async Task Tokens_SurviveAServerKill_RetriesGetTheFirstAnswers()
    {
        var name = Json.UniqueName("smrestart");
        var definition = """{"Version": "2020-12-01", "Steps": [{"Name": "W", "Type": "Callback", "SqsQueueUrl": "restartq", "Arguments": {}}]}""";
        var create = new { PipelineName = name, PipelineDefinition = definition, RoleArn = "arn:aws:iam::123456789012:role/R",
            ClientRequestToken = Guid.NewGuid().ToString("D") };
        var start = new { PipelineName = name, ClientRequestToken = Guid.NewGuid().ToString("D") };
        var stop = new { PipelineExecutionArn = "${1.PipelineExecutionArn}", ClientRequestToken = Guid.NewGuid().ToString("D") };
        var aws = new AwsClients(S);
        var before = await aws.BotoAsync([
            Call("sagemaker.create_pipeline", create),
            Call("sagemaker.start_pipeline_execution", start),
            Call("sagemaker.stop_pipeline_execution", stop),
        ]);
        var arn = before.Ok(1)["PipelineExecutionArn"]!.GetValue<string>();

        await S.KillAsync();
        await S.RestartAsync();

        var after = await aws.BotoAsync([
            Call("sagemaker.create_pipeline", create),                                                                // 0 replay
            Call("sagemaker.start_pipeline_execution", start),                                                        // 1 replay
            Call("sagemaker.stop_pipeline_execution", stop),                                                          // 2 replay
            Call("sagemaker.stop_pipeline_execution", new { PipelineExecutionArn = arn }),                            // 3 a new stop
            Call("sagemaker.list_pipeline_executions", new { PipelineName = name }),                                  // 4
        ]);
        Assert.Equal(before.Ok(0)["PipelineArn"]!.GetValue<string>(), after.Ok(0)["PipelineArn"]!.GetValue<string>());
        Assert.Equal(arn, after.Ok(1)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal(arn, after.Ok(2)["PipelineExecutionArn"]!.GetValue<string>());
        Assert.Equal("ValidationException", after.Code(3));
        var only = Assert.Single(after.Ok(4)["PipelineExecutionSummaries"]!.AsArray());
        Assert.Equal("Stopping", only!["PipelineExecutionStatus"]!.GetValue<string>());
    }
}
