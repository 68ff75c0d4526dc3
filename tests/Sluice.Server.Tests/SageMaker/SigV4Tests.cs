using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>A server with --auth sigv4 and a credentials file of three keys: two accounts of their own and one of the
/// default account (the default tenant, which sees the pipelines created through the native API).</summary>
public sealed class SigV4Fixture : IAsyncLifetime, IDisposable
{
    public const string KeyA = "AKIAAAAAAAAAAAAAAAAA";
    public const string KeyB = "AKIABBBBBBBBBBBBBBBB";
    public const string KeyDefault = "AKIADDDDDDDDDDDDDDDD";
    public const string Secret = "secret/with+signs=";

    private readonly TempDirectory dir = new("sluice-sigv4");
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var creds = dir.File("credentials");
        await File.WriteAllTextAsync(creds, $"""
            # access key, secret, account
            {KeyA} {Secret}A 111111111111
            {KeyB} {Secret}B 222222222222
            {KeyDefault} {Secret}D 000000000000
            """);
        server = await ServerProcess.StartAsync(null, "--auth", "sigv4", "--aws-credentials", creds);
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
        Dispose();
    }

    public void Dispose() => dir.Dispose();
}

public class SigV4Tests(SigV4Fixture fixture) : IClassFixture<SigV4Fixture>
{
    private ServerProcess S => fixture.Server;

    private AwsClients As(string key, string secretSuffix, string region = "us-east-1") => new(S, region, key, SigV4Fixture.Secret + secretSuffix);

    [Fact]
    public async Task Boto3_ValidSignaturesAccepted_BadOnesRejected_AccountsIsolated()
    {
        var queue = Json.UniqueName("sigq");
        var a = await As(SigV4Fixture.KeyA, "A").BotoAsync([
            Call("sqs.create_queue", new { QueueName = queue }),                                                   // 0
            Call("sagemaker.list_pipelines"),                                                                       // 1
            Call("sagemaker.describe_pipeline_execution", new {
                PipelineExecutionArn = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/p/execution/abcdefabcdef" }), // 2
        ]);
        Assert.Equal($"{As(SigV4Fixture.KeyA, "A").Endpoint}/111111111111/{queue}", a.Ok(0)["QueueUrl"]!.GetValue<string>());
        Assert.NotNull(a.Ok(1)["PipelineSummaries"]);
        Assert.Equal("ResourceNotFound", a.Code(2));

        var wrong = await As(SigV4Fixture.KeyA, "B").BotoAsync([Call("sagemaker.list_pipelines"), Call("sqs.list_queues")]);
        Assert.Equal("InvalidSignatureException", wrong.Code(0));
        Assert.Equal(400, wrong[0]!["error"]!["status"]!.GetValue<int>());
        Assert.Equal("InvalidSignatureException", wrong.Code(1));
        var unknown = await As("AKIAUNKNOWNUNKNOWN00", "A").BotoAsync([Call("sagemaker.list_pipelines")]);
        Assert.Equal("UnrecognizedClientException", unknown.Code(0));

        // Another account, and the same account in another region, do not see the queue.
        var b = await As(SigV4Fixture.KeyB, "B").BotoAsync([
            Call("sqs.get_queue_url", new { QueueName = queue }),
            Call("sqs.send_message", new { QueueUrl = a.Ok(0)["QueueUrl"]!.GetValue<string>(), MessageBody = "x" }),
        ]);
        Assert.Equal("QueueDoesNotExist", b.Code(0));
        Assert.Equal("QueueDoesNotExist", b.Code(1));
        var otherRegion = await As(SigV4Fixture.KeyA, "A", "eu-west-1").BotoAsync([Call("sqs.get_queue_url", new { QueueName = queue })]);
        Assert.Equal("QueueDoesNotExist", otherRegion.Code(0));
    }

    [Fact]
    public async Task UnsignedOrMalformedRequests_AreRejectedWithAuthCodes()
    {
        async Task<JsonObject> PostAsync(string? authorization)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent("{}", Encoding.UTF8) };
            req.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
            req.Headers.TryAddWithoutValidation("X-Amz-Target", "SageMaker.ListPipelines");
            if (authorization is not null)
            {
                req.Headers.TryAddWithoutValidation("Authorization", authorization);
            }
            // Not S.Http, which sends the native admin token.
            using var anonymous = S.NewClient(TimeSpan.FromSeconds(30), token: null);
            using var resp = await anonymous.SendAsync(req);
            Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
            return JsonNode.Parse(await resp.Content.ReadAsStringAsync())!.AsObject();
        }
        Assert.Equal("MissingAuthenticationTokenException", (await PostAsync(null)).Str("__type"));
        Assert.Equal("IncompleteSignature", (await PostAsync("Basic dXNlcjpwYXNz")).Str("__type"));
        Assert.Equal("IncompleteSignature", (await PostAsync("AWS4-HMAC-SHA256 Credential=x")).Str("__type"));
        var now = TimeProvider.System.GetUtcNow();
        var stale = $"AWS4-HMAC-SHA256 Credential={SigV4Fixture.KeyA}/{now:yyyyMMdd}/us-east-1/sagemaker/aws4_request, " +
            $"SignedHeaders=host;x-amz-date, Signature={new string('0', 64)}";
        // No X-Amz-Date at all.
        Assert.Equal("IncompleteSignature", (await PostAsync(stale)).Str("__type"));
        var wrongService = stale.Replace("/sagemaker/", "/sqs/", StringComparison.Ordinal);
        Assert.Equal("InvalidSignatureException", (await PostAsync(wrongService)).Str("__type"));
    }

    [Fact]
    public async Task JsSdkAndCli_SignedRequests_DriveNativePipelineInDefaultTenant()
    {
        var name = Json.UniqueName("sigpipe");
        await S.CreatePipelineAsync($$"""
            name: {{name}}
            steps:
              - name: long
                command: sleep
                args: ["60"]
                stopGracePeriod: 0s
            """);
        var js = As(SigV4Fixture.KeyDefault, "D", "local");
        var r = await js.NodeAsync([
            Call("sagemaker.StartPipelineExecution", new { PipelineName = name, ClientRequestToken = Guid.NewGuid().ToString("D") }), // 0
            WaitExists("sagemaker.ListPipelineExecutionSteps", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" },
                "PipelineExecutionSteps.0.StepStatus"),                                                                 // 1
            Call("sagemaker.DescribePipelineExecution", new { PipelineExecutionArn = "${0.PipelineExecutionArn}" }),    // 2
            Call("sagemaker.ListPipelineExecutions", new { PipelineName = name }),                                      // 3
            Call("sagemaker.DescribePipeline", new { PipelineName = "no-such-pipeline" }),                              // 4
            Call("sqs.CreateQueue", new { QueueName = name }),                                                          // 5
        ]);
        var arn = r.Ok(0)["PipelineExecutionArn"]!.GetValue<string>();
        Assert.StartsWith($"arn:aws:sagemaker:local:000000000000:pipeline/{name}/execution/", arn, StringComparison.Ordinal);
        Assert.Equal("Executing", r.Ok(2)["PipelineExecutionStatus"]!.GetValue<string>());
        // The JS SDK reads epoch-second timestamps as dates.
        Assert.Matches(@"^\d{4}-\d\d-\d\dT", r.Ok(2)["CreationTime"]!.GetValue<string>());
        Assert.Single(r.Ok(3)["PipelineExecutionSummaries"]!.AsArray());
        Assert.Equal("ResourceNotFound", r.Code(4));
        Assert.EndsWith($"/000000000000/{name}", r.Ok(5)["QueueUrl"]!.GetValue<string>(), StringComparison.Ordinal);
        var bad = await As(SigV4Fixture.KeyDefault, "X", "local").NodeAsync([Call("sagemaker.ListPipelines")]);
        Assert.Equal("InvalidSignatureException", bad.Code(0));

        // AWS CLI v2 (Debian) stops it; v1 (pip) sees it Stopping or Stopped; a second stop is refused with the seed's text.
        var cli = As(SigV4Fixture.KeyDefault, "D", "local");
        Assert.Equal(arn, (await cli.CliJsonAsync(true, "sagemaker", "stop-pipeline-execution", "--pipeline-execution-arn", arn))
            ["PipelineExecutionArn"]!.GetValue<string>());
        var described = await cli.CliJsonAsync(false, "sagemaker", "describe-pipeline-execution", "--pipeline-execution-arn", arn);
        Assert.Contains(described["PipelineExecutionStatus"]!.GetValue<string>(), new[] { "Stopping", "Stopped" });
        await S.WaitForStateAsync(arn.Split('/')[^1], "Stopped");
        var (code, _, stderr) = await cli.CliAsync(true, "sagemaker", "stop-pipeline-execution", "--pipeline-execution-arn", arn);
        Assert.Equal(254, code);
        Assert.Contains("(ValidationException)", stderr, StringComparison.Ordinal);
        Assert.Contains("Only pipelines with 'Executing' status can be stopped", stderr, StringComparison.Ordinal);
        var listed = await cli.CliJsonAsync(true, "sagemaker", "list-pipeline-execution-steps", "--pipeline-execution-arn", arn);
        Assert.Equal("Stopped", listed["PipelineExecutionSteps"]![0]!["StepStatus"]!.GetValue<string>());
    }
}
