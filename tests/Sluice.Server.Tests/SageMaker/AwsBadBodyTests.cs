using System.Text;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>Bodies no SDK sends (its own validation stops them) but a hand-made client can: a member given twice, a null
/// in a list. Each gets a 400 in the face's dialect, not an internal error.</summary>
public sealed class AwsBadBodyTests : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async Task InitializeAsync() => server = await ServerProcess.StartAsync(null, "--auth", "dev");

    public async Task DisposeAsync() => await server.DisposeAsync();

    private const string Role = "arn:aws:iam::000000000000:role/sluice";

    [Theory]
    [InlineData("CreatePipeline", $$"""{"PipelineName": "bad-tags", "PipelineDefinition": "{}", "RoleArn": "{{Role}}", "Tags": [null]}""", "tags.1.member")]
    [InlineData("StartPipelineExecution", """{"PipelineName": "nope", "PipelineParameters": [{"Name": "a", "Value": "1"}, null]}""", "pipelineParameters.2.member")]
    [InlineData("SendPipelineExecutionStepSuccess", """{"CallbackToken": "abcdefghij", "OutputParameters": [null]}""", "outputParameters.1.member")]
    public async Task NullListMember_ValidationException(string op, string body, string member)
    {
        var (status, reply) = await SageMakerAsync(op, body);

        Assert.Equal(400, status);
        Assert.Equal("ValidationException", reply?["__type"]?.GetValue<string>());
        Assert.Contains($"'{member}'", reply!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("must not be null", reply["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MemberGivenTwice_SerializationException_NothingCreated()
    {
        var (status, reply) = await SageMakerAsync("CreatePipeline",
            $$"""{"PipelineName": 1, "PipelineName": "twice", "PipelineDefinition": "{}", "RoleArn": "{{Role}}"}""");

        Assert.Equal(400, status);
        Assert.Equal("SerializationException", reply?["__type"]?.GetValue<string>());
        var (found, _) = await SageMakerAsync("DescribePipeline", """{"PipelineName": "twice"}""");
        Assert.Equal(400, found);
    }

    [Fact]
    public async Task SqsMemberGivenTwice_ClearErrorNoQueue()
    {
        var (status, text) = await SqsAsync("CreateQueue", """{"QueueName": 1e-308, "QueueName": "twice-q"}""");

        Assert.Equal(400, status);
        Assert.Contains("SerializationException", text, StringComparison.Ordinal);
        Assert.Contains("QueueName", text, StringComparison.Ordinal); // the message names the member
        var (_, listed) = await SqsAsync("ListQueues", "{}");
        Assert.DoesNotContain("twice-q", listed, StringComparison.Ordinal);
    }

    private async Task<(int Status, JsonNode? Body)> SageMakerAsync(string op, string body)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
        m.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        m.Headers.TryAddWithoutValidation("X-Amz-Target", "SageMaker." + op);
        using var r = await server.Http.SendAsync(m);
        var text = await r.Content.ReadAsStringAsync();
        return ((int)r.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private async Task<(int Status, string Text)> SqsAsync(string op, string body)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
        m.Content.Headers.ContentType = new("application/x-amz-json-1.0");
        m.Headers.TryAddWithoutValidation("X-Amz-Target", "AmazonSQS." + op);
        using var r = await server.Http.SendAsync(m);
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }
}
