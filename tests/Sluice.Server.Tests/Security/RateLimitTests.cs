using System.Net;
using System.Text.Json.Nodes;
using Sluice.Server.Tests.SageMaker;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.Security;

/// <summary>A caller over its rate is told so in its face's own throttling error, which its client knows to retry.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task OverTheRate_EachFaceAnswersWithItsOwnThrottlingError()
    {
        // One request a second, two at once: a client in a hurry is over it by its third request.
        await using var s = await ServerProcess.StartAsync(null, "--rate-limit", "1", "--rate-burst", "2");

        var native = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            native.Add(await s.Http.GetAsync("/api/v1/runs"));
        }
        var limited = native.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.True(limited is not null, string.Join(", ", native.Select(r => (int)r.StatusCode)));
        Assert.Equal("1", limited!.Headers.GetValues("Retry-After").Single());
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ResourceExhausted", JsonNode.Parse(await limited.Content.ReadAsStringAsync())!["title"]!.GetValue<string>());
        native.ForEach(r => r.Dispose());

        var vertex = new List<(HttpStatusCode Status, JsonNode? Body)>();
        for (var i = 0; i < 6; i++)
        {
            vertex.Add(await Vertex.VertexSupport.CallAsync(s.Http, HttpMethod.Get, "/v1/projects/p/locations/us-central1/pipelineJobs"));
        }
        var exhausted = vertex.FirstOrDefault(v => v.Status == HttpStatusCode.TooManyRequests);
        Assert.True(exhausted.Body is not null, string.Join(", ", vertex.Select(v => (int)v.Status)));
        Assert.Equal("RESOURCE_EXHAUSTED", exhausted.Body!["error"]!["status"]!.GetValue<string>());
        Assert.Equal(429, exhausted.Body["error"]!["code"]!.GetValue<int>());

        // boto3 (retries off, so that the error shows) sees ThrottlingException, one of the codes its retry logic backs off on.
        var r = await new AwsClients(s).BotoAsync([.. Enumerable.Range(0, 6).Select(_ => Call("sagemaker.list_pipelines"))]);
        var codes = r.Select(e => e!["error"]?["code"]?.GetValue<string>()).ToList();
        Assert.Contains("ThrottlingException", codes);
        var throttled = r.First(e => e!["error"]?["code"]?.GetValue<string>() == "ThrottlingException")!;
        Assert.Equal(400, throttled["error"]!["status"]!.GetValue<int>());
        Assert.DoesNotContain(codes, c => c is not null && c != "ThrottlingException");

        // SQS (boto3 speaks its JSON protocol) sees RequestThrottled, which botocore's retry logic also backs off on.
        var q = await new AwsClients(s).BotoAsync([.. Enumerable.Range(0, 6).Select(_ => Call("sqs.list_queues"))]);
        var sqsCodes = q.Select(e => e!["error"]?["code"]?.GetValue<string>()).ToList();
        Assert.Contains("RequestThrottled", sqsCodes);
        Assert.DoesNotContain(sqsCodes, c => c is not null && c != "RequestThrottled");
        Assert.Equal(400, q.First(e => e!["error"] is not null)!["error"]!["status"]!.GetValue<int>());
    }
}
