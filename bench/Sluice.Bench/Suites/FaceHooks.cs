using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Bench.Load;

namespace Sluice.Bench.Suites;

/// <summary>The SageMaker and Vertex reads of item 6, set up the way their SDKs would: the same requests go to Sluice's faces
/// and to the moto reference. HOOK: Sluice's SageMaker face (DescribePipelineExecution) and Vertex face (GetPipelineJob) were
/// being written when this harness was; until a build has them, <see cref="SageMakerExecutionsAsync"/> and
/// <see cref="VertexJobPathsAsync"/> find no face and the report says so. Once they land, nothing here should need to change
/// unless their development-mode credentials or project alias differ from <see cref="AccessKey"/> and <see cref="Project"/>.</summary>
internal static class FaceHooks
{
    public const string AccessKey = "AKIDEXAMPLE";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    public const string Region = "us-east-1";
    public const string DescribeTarget = "SageMaker.DescribePipelineExecution";

    /// <summary>The project the Vertex reads name: in development mode every project alias is the one default tenant.</summary>
    public const string Project = "000000000000";

    public const string BearerToken = "bench-token";

    /// <summary>A SageMaker pipeline of one Fail step: valid for SageMaker, moto and Sluice alike, and ends at once.</summary>
    private const string Definition = """{"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": [{"Name": "F", "Type": "Fail", "Arguments": {"ErrorMessage": "bench"}}]}""";

    /// <summary>CreatePipeline, then StartPipelineExecution n times; the executions' ARNs, or null when the endpoint has no SageMaker face.</summary>
    public static async Task<List<string>?> SageMakerExecutionsAsync(Uri endpoint, int n, string pipelineName)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var signer = new SigV4(AccessKey, SecretKey, Region, "sagemaker");
        async Task<(HttpStatusCode Status, JsonObject? Body)> CallAsync(string op, JsonObject body)
        {
            using var req = signer.Sign(endpoint, "SageMaker." + op, body.ToJsonString(), TimeProvider.System.GetUtcNow());
            using var r = await http.SendAsync(req);
            var text = await r.Content.ReadAsStringAsync();
            JsonObject? json = null;
            try
            {
                json = text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null;
            }
            catch (JsonException)
            {
            }
            return (r.StatusCode, json);
        }
        var (status, created) = await CallAsync("CreatePipeline", new JsonObject
        {
            ["PipelineName"] = pipelineName, ["PipelineDefinition"] = Definition, ["RoleArn"] = "arn:aws:iam::123456789012:role/bench",
            ["ClientRequestToken"] = Guid.NewGuid().ToString(),
        });
        if (status != HttpStatusCode.OK || created?["PipelineArn"] is null)
        {
            return null;
        }
        var arns = new List<string>();
        for (var i = 0; i < n; i++)
        {
            var (s, started) = await CallAsync("StartPipelineExecution", new JsonObject
            {
                ["PipelineName"] = pipelineName, ["ClientRequestToken"] = Guid.NewGuid().ToString(),
            });
            if (s != HttpStatusCode.OK || started?["PipelineExecutionArn"]?.GetValue<string>() is not { } arn)
            {
                throw new InvalidOperationException($"StartPipelineExecution answered {(int)s}: {started?.ToJsonString()}");
            }
            arns.Add(arn);
        }
        // The first Describe must work too, or the face is not there yet.
        var (ds, _) = await CallAsync("DescribePipelineExecution", new JsonObject { ["PipelineExecutionArn"] = arns[0] });
        return ds == HttpStatusCode.OK ? arns : null;
    }

    /// <summary>Request bodies of DescribePipelineExecution for the load process.</summary>
    public static IEnumerable<string> DescribeBodies(IEnumerable<string> arns) =>
        arns.Select(a => new JsonObject { ["PipelineExecutionArn"] = a }.ToJsonString());

    /// <summary>GetPipelineJob paths of the same runs (one run, three names), or null when Sluice has no Vertex face yet.</summary>
    public static async Task<List<string>?> VertexJobPathsAsync(Uri server, IEnumerable<string> sageMakerArns)
    {
        var paths = sageMakerArns.Select(arn =>
        {
            var parts = arn.Split(':');
            var id = arn[(arn.LastIndexOf('/') + 1)..];
            return $"v1/projects/{Project}/locations/{parts[3]}/pipelineJobs/{id}";
        }).ToList();
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        using var req = new HttpRequestMessage(HttpMethod.Get, paths[0]);
        req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + BearerToken);
        using var r = await http.SendAsync(req);
        return r.StatusCode == HttpStatusCode.OK ? paths : null;
    }

    public static string[] LoadArgs(string target) =>
        ["--target", target, "--region", Region, "--access-key", AccessKey, "--secret-key", SecretKey];
}
