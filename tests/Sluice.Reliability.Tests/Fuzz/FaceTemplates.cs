using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sluice.Reliability.Tests.Fuzz;

/// <summary>A valid request of one endpoint, which the fuzzer mutates: its body (most often), its path, or its headers.</summary>
public sealed record Template(string Name, Func<FuzzSeed, Mutator, FuzzRequest> Build);

/// <summary>The valid requests of every face, against the seeded resources.</summary>
public static class FaceTemplates
{
    public static string NativeYaml(string name) => $$$"""
        name: {{{name}}}
        description: seeded for the fuzzer
        parameters:
          who: { type: String, default: world }
          n: { type: Integer, default: 1 }
          rate: { type: Float, default: 0.5 }
          dry: { type: Boolean, default: false }
        steps:
          - name: a
            command: sh
            args: ["-c", "echo \"$0 $1\" > \"$SLUICE_OUTPUTS/o\"", "{{params.who}}", "{{params.n}}"]
            outputs: { o: String }
            timeout: 30s
            retries: { count: 1 }
          - name: b
            command: echo
            args: ["{{steps.a.outputs.o}}", "{{run.id}}"]
            dependsOn: [a]
        """;

    public static readonly string SmDefinition = new JsonObject
    {
        ["Version"] = "2020-12-01",
        ["Parameters"] = new JsonArray(
            new JsonObject { ["Name"] = "Threshold", ["Type"] = "Float", ["DefaultValue"] = 0.5 },
            new JsonObject { ["Name"] = "Who", ["Type"] = "String", ["DefaultValue"] = "world" }),
        ["Steps"] = new JsonArray(
            new JsonObject
            {
                ["Name"] = "Check", ["Type"] = "Condition",
                ["Arguments"] = new JsonObject
                {
                    ["Conditions"] = new JsonArray(new JsonObject { ["Type"] = "GreaterThan", ["LeftValue"] = new JsonObject { ["Get"] = "Parameters.Threshold" }, ["RightValue"] = 1 }),
                    ["IfSteps"] = new JsonArray(),
                    ["ElseSteps"] = new JsonArray(new JsonObject
                    {
                        ["Name"] = "Stop", ["Type"] = "Fail",
                        ["Arguments"] = new JsonObject { ["ErrorMessage"] = new JsonObject { ["Std:Join"] = new JsonObject { ["On"] = " ", ["Values"] = new JsonArray("low", new JsonObject { ["Get"] = "Parameters.Who" }) } } },
                    }),
                },
            }),
    }.ToJsonString();

    public static IReadOnlyList<Template> For(string face) => face switch
    {
        "native" => Native,
        "sagemaker" => SageMaker,
        "sqs-json" => SqsJson,
        "sqs-query" => SqsQuery,
        "vertex" => Vertex,
        _ => throw new ArgumentOutOfRangeException(nameof(face), face, null),
    };

    private static string Fresh(string prefix, Mutator m) => $"{prefix}-{m.Random.Next(1_000_000):x}";

    // ---- generic mutation of one request ----

    private static FuzzRequest Json(string face, HttpMethod method, string path, JsonNode? body, Mutator m, string contentType = "application/json",
        Dictionary<string, string>? headers = null)
    {
        headers ??= [];
        var roll = m.Random.Next(100);
        string? text = body is null ? null : Mutator.Text(body);
        if (roll < 70 || (roll < 85 && body is not null && IsAws(face)))
        {
            text = body is null ? m.MutateJson(new JsonObject()) : m.MutateJson(body);
        }
        else if (roll < 85)
        {
            path = MutatePath(path, m);
        }
        else
        {
            MutateHeaders(face, headers, ref contentType, ref path, m);
        }
        return new FuzzRequest(face, method, path, text, contentType, headers);
    }

    private static bool IsAws(string face) => face is "sagemaker" or "sqs-json" or "sqs-query";

    private static string MutatePath(string path, Mutator m)
    {
        var q = path.IndexOf('?', StringComparison.Ordinal);
        var query = q < 0 ? "" : path[q..];
        var segs = (q < 0 ? path : path[..q]).Split('/').ToList();
        var i = 3 + m.Random.Next(Math.Max(1, segs.Count - 3));
        i = Math.Min(i, segs.Count - 1);
        switch (m.Random.Next(5))
        {
            case 0:
                segs[i] = Uri.EscapeDataString(m.HostileString());
                break;
            case 1:
                segs[i] += ":" + Uri.EscapeDataString(m.HostileString());
                break;
            case 2:
                segs.Add(Uri.EscapeDataString(m.HostileString()));
                break;
            case 3:
                segs[i] = new string('a', 300 + m.Random.Next(5000));
                break;
            default:
                segs[i] = Uri.EscapeDataString(m.MutateString(Uri.UnescapeDataString(segs[i])));
                break;
        }
        return string.Join('/', segs) + query;
    }

    private static void MutateHeaders(string face, Dictionary<string, string> headers, ref string contentType, ref string path, Mutator m)
    {
        switch (m.Random.Next(4))
        {
            case 0:
                contentType = m.Random.Next(2) == 0 ? "image/png" : m.HostileString();
                break;
            case 1 when headers.ContainsKey("X-Amz-Target"):
                headers["X-Amz-Target"] = m.Random.Next(2) == 0 ? headers["X-Amz-Target"].Split('.')[0] + "." + m.HostileString() : m.MutateString(headers["X-Amz-Target"]);
                break;
            case 2 when IsAws(face):
                headers["Authorization"] = m.Random.Next(2) == 0 ? "AWS4-HMAC-SHA256 " + m.HostileString() : m.HostileString();
                break;
            default:
            {
                var sep = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
                var key = m.Random.Next(5) switch { 0 => "pageSize", 1 => "pageToken", 2 => "filter", 3 => "orderBy", _ => "$alt" };
                path += sep + key + "=" + Uri.EscapeDataString(m.Random.Next(2) == 0 ? m.HostileString() : m.MutateString("1"));
                break;
            }
        }
    }

    private static FuzzRequest Yaml(HttpMethod method, string path, string yaml, Mutator m)
    {
        var roll = m.Random.Next(100);
        var type = "application/yaml";
        if (roll < 75)
        {
            yaml = m.MutateYaml(yaml);
        }
        else if (roll < 88)
        {
            path = MutatePath(path, m);
        }
        else
        {
            type = m.Random.Next(2) == 0 ? "application/json" : m.HostileString();
        }
        return new FuzzRequest("native", method, path, yaml, type, []);
    }

    private static FuzzRequest Bare(string face, HttpMethod method, string path, Mutator m)
    {
        var type = "application/json";
        Dictionary<string, string> headers = [];
        if (m.Random.Next(3) > 0)
        {
            path = MutatePath(path, m);
        }
        else
        {
            MutateHeaders(face, headers, ref type, ref path, m);
        }
        return new FuzzRequest(face, method, path, null, null, headers);
    }

    // ---- native ----

    private static readonly Template[] Native =
    [
        new("create pipeline", (s, m) => Yaml(HttpMethod.Post, "/api/v1/pipelines", NativeYaml(Fresh("fz", m)), m)),
        new("create pipeline as JSON", (s, m) => Json("native", HttpMethod.Post, "/api/v1/pipelines", NativeJson(Fresh("fz", m)), m)),
        new("validate", (s, m) => Yaml(HttpMethod.Post, "/api/v1/pipelines:validate", NativeYaml("fz-validate"), m)),
        new("add version", (s, m) => Yaml(HttpMethod.Post, $"/api/v1/pipelines/{s.Pipeline}/versions", NativeYaml(s.Pipeline), m)),
        new("list pipelines", (s, m) => Bare("native", HttpMethod.Get, "/api/v1/pipelines?pageSize=5", m)),
        new("get pipeline", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/pipelines/{s.Pipeline}", m)),
        new("versions", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/pipelines/{s.Pipeline}/versions/1", m)),
        new("delete pipeline", (s, m) => Bare("native", HttpMethod.Delete, $"/api/v1/pipelines/{s.VictimPipeline}", m)),
        new("start run", (s, m) => Json("native", HttpMethod.Post, "/api/v1/runs", new JsonObject
        {
            ["pipeline"] = s.Pipeline, ["version"] = 1, ["parameters"] = new JsonObject { ["who"] = "x", ["n"] = 2, ["rate"] = 0.25, ["dry"] = true },
            ["labels"] = new JsonObject { ["team"] = "red" }, ["idempotencyToken"] = Guid.NewGuid().ToString("N"),
        }, m)),
        new("list runs", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/runs?pipeline={s.Pipeline}&state=Succeeded&pageSize=3", m)),
        new("get run", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/runs/{s.RunId}", m)),
        new("run steps", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/runs/{s.RunId}/steps", m)),
        new("run events", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/runs/{s.RunId}/events?after=0", m)),
        new("step logs", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/runs/{s.RunId}/steps/a/logs?stream=stdout", m)),
        new("stop run", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/runs/{s.RunId}:stop", new JsonObject { ["reason"] = "fuzz", ["graceSeconds"] = 2, ["idempotencyToken"] = "t1" }, m)),
        new("batch stop", (s, m) => Json("native", HttpMethod.Post, "/api/v1/runs:stop", new JsonObject { ["runIds"] = new JsonArray(s.RunId, s.VictimRunId), ["reason"] = "fuzz" }, m)),
        new("retry run", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/runs/{s.RunId}:retry", new JsonObject(), m)),
        new("delete run", (s, m) => Bare("native", HttpMethod.Delete, $"/api/v1/runs/{s.VictimRunId}", m)),
        new("operations", (s, m) => Bare("native", HttpMethod.Get, "/api/v1/operations?pageSize=2", m)),
        new("operation", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/operations/{s.OperationId}", m)),
        new("callback succeed", (s, m) => Json("native", HttpMethod.Post, "/api/v1/callbacks/cb-token-1:succeed", new JsonObject { ["outputs"] = new JsonObject { ["o"] = "x" } }, m)),
        new("callback fail", (s, m) => Json("native", HttpMethod.Post, "/api/v1/callbacks/cb-token-1:fail", new JsonObject { ["reason"] = "no" }, m)),
        new("put queue", (s, m) => Json("native", HttpMethod.Put, $"/api/v1/queues/{Fresh("fzq", m)}", new JsonObject { ["visibilityTimeoutSeconds"] = 30, ["delaySeconds"] = 0, ["maximumMessageSize"] = 1024 }, m)),
        new("get queue", (s, m) => Bare("native", HttpMethod.Get, $"/api/v1/queues/{s.Queue}", m)),
        new("delete queue", (s, m) => Bare("native", HttpMethod.Delete, $"/api/v1/queues/{s.VictimQueue}", m)),
        new("purge queue", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/queues/{s.VictimQueue}:purge", null, m)),
        new("send message", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/queues/{s.Queue}/messages", new JsonObject { ["body"] = "{\"a\": 1}", ["delaySeconds"] = 0 }, m)),
        new("receive", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/queues/{s.Queue}/messages:receive", new JsonObject { ["maxMessages"] = 2, ["waitSeconds"] = 0, ["visibilityTimeoutSeconds"] = 0 }, m)),
        new("delete message", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/queues/{s.Queue}/messages:delete", new JsonObject { ["receiptHandle"] = "bogus-handle" }, m)),
        new("change visibility", (s, m) => Json("native", HttpMethod.Post, $"/api/v1/queues/{s.Queue}/messages:changeVisibility", new JsonObject { ["receiptHandle"] = "bogus-handle", ["visibilityTimeoutSeconds"] = 5 }, m)),
        new("put function", (s, m) => Json("native", HttpMethod.Put, $"/api/v1/functions/{Fresh("fzf", m)}", new JsonObject { ["command"] = new JsonArray("sh", "-c", "cat"), ["timeLimitSeconds"] = 10, ["env"] = new JsonObject { ["A"] = "b" } }, m)),
        new("get function", (s, m) => Bare("native", HttpMethod.Get, "/api/v1/functions?pageSize=5", m)),
    ];

    private static JsonObject NativeJson(string name) => new()
    {
        ["name"] = name,
        ["parameters"] = new JsonObject { ["who"] = new JsonObject { ["type"] = "String", ["default"] = "world" } },
        ["steps"] = new JsonArray(
            new JsonObject { ["name"] = "a", ["command"] = "echo", ["args"] = new JsonArray("{{params.who}}"), ["timeout"] = "10s" },
            new JsonObject { ["name"] = "b", ["command"] = "true", ["dependsOn"] = new JsonArray("a") }),
    };

    // ---- SageMaker ----

    private static FuzzRequest Sm(string op, JsonObject body, Mutator m) =>
        Json("sagemaker", HttpMethod.Post, "/", body, m, "application/x-amz-json-1.1", new() { ["X-Amz-Target"] = "SageMaker." + op });

    private static readonly Template[] SageMaker =
    [
        new("CreatePipeline", (s, m) => Sm("CreatePipeline", new JsonObject
        {
            ["PipelineName"] = Fresh("fz-sm", m), ["PipelineDefinition"] = SmDefinition, ["RoleArn"] = FuzzAws.Role,
            ["PipelineDisplayName"] = "Fuzz", ["PipelineDescription"] = "d", ["ClientRequestToken"] = Guid.NewGuid().ToString("N"),
            ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "k", ["Value"] = "v" }),
        }, m)),
        new("DescribePipeline", (s, m) => Sm("DescribePipeline", new JsonObject { ["PipelineName"] = s.SmPipeline }, m)),
        new("UpdatePipeline", (s, m) => Sm("UpdatePipeline", new JsonObject { ["PipelineName"] = s.SmPipeline, ["PipelineDefinition"] = SmDefinition, ["PipelineDescription"] = "u" }, m)),
        new("DeletePipeline", (s, m) => Sm("DeletePipeline", new JsonObject { ["PipelineName"] = s.SmVictimPipeline, ["ClientRequestToken"] = Guid.NewGuid().ToString("N") }, m)),
        new("ListPipelines", (s, m) => Sm("ListPipelines", new JsonObject { ["PipelineNamePrefix"] = "fz", ["MaxResults"] = 5, ["SortBy"] = "Name", ["SortOrder"] = "Ascending" }, m)),
        new("StartPipelineExecution", (s, m) => Sm("StartPipelineExecution", new JsonObject
        {
            ["PipelineName"] = s.SmPipeline, ["ClientRequestToken"] = Guid.NewGuid().ToString("N"), ["PipelineExecutionDisplayName"] = "fz",
            ["PipelineParameters"] = new JsonArray(new JsonObject { ["Name"] = "Threshold", ["Value"] = "0.25" }, new JsonObject { ["Name"] = "Who", ["Value"] = "me" }),
            ["ParallelismConfiguration"] = new JsonObject { ["MaxParallelExecutionSteps"] = 2 },
        }, m)),
        new("StopPipelineExecution", (s, m) => Sm("StopPipelineExecution", new JsonObject { ["PipelineExecutionArn"] = s.SmExecutionArn, ["ClientRequestToken"] = "stop-1" }, m)),
        new("DescribePipelineExecution", (s, m) => Sm("DescribePipelineExecution", new JsonObject { ["PipelineExecutionArn"] = s.SmExecutionArn }, m)),
        new("ListPipelineExecutions", (s, m) => Sm("ListPipelineExecutions", new JsonObject { ["PipelineName"] = s.SmPipeline, ["MaxResults"] = 3, ["SortBy"] = "CreationTime", ["SortOrder"] = "Descending" }, m)),
        new("ListPipelineExecutionSteps", (s, m) => Sm("ListPipelineExecutionSteps", new JsonObject { ["PipelineExecutionArn"] = s.SmExecutionArn, ["MaxResults"] = 10, ["SortOrder"] = "Ascending" }, m)),
        new("SendPipelineExecutionStepSuccess", (s, m) => Sm("SendPipelineExecutionStepSuccess", new JsonObject
        {
            ["CallbackToken"] = "abcdefghij", ["OutputParameters"] = new JsonArray(new JsonObject { ["Name"] = "o", ["Value"] = "v" }), ["ClientRequestToken"] = "cb-1",
        }, m)),
        new("SendPipelineExecutionStepFailure", (s, m) => Sm("SendPipelineExecutionStepFailure", new JsonObject { ["CallbackToken"] = "abcdefghij", ["FailureReason"] = "no" }, m)),
        new("RetryPipelineExecution", (s, m) => Sm("RetryPipelineExecution", new JsonObject { ["PipelineExecutionArn"] = s.SmExecutionArn, ["ClientRequestToken"] = Guid.NewGuid().ToString("N") }, m)),
        new("DescribePipelineDefinitionForExecution", (s, m) => Sm("DescribePipelineDefinitionForExecution", new JsonObject { ["PipelineExecutionArn"] = s.SmExecutionArn }, m)),
        new("ListPipelineParametersForExecution", (s, m) => Sm("ListPipelineParametersForExecution", new JsonObject { ["PipelineExecutionArn"] = s.SmExecutionArn, ["MaxResults"] = 5 }, m)),
        new("UpdatePipelineExecution", (s, m) => Sm("UpdatePipelineExecution", new JsonObject
        {
            ["PipelineExecutionArn"] = s.SmExecutionArn, ["PipelineExecutionDescription"] = "d", ["PipelineExecutionDisplayName"] = "n",
            ["ParallelismConfiguration"] = new JsonObject { ["MaxParallelExecutionSteps"] = 3 },
        }, m)),
    ];

    // ---- SQS ----

    private static string QueueUrl(string name) => $"http://127.0.0.1/{FuzzAws.Account}/{name}";

    private static FuzzRequest SqsJ(string op, JsonObject body, Mutator m) =>
        Json("sqs-json", HttpMethod.Post, "/", body, m, "application/x-amz-json-1.0", new() { ["X-Amz-Target"] = "AmazonSQS." + op });

    private static readonly Template[] SqsJson =
    [
        new("CreateQueue", (s, m) => SqsJ("CreateQueue", new JsonObject { ["QueueName"] = Fresh("fzsq", m), ["Attributes"] = new JsonObject { ["VisibilityTimeout"] = "30", ["DelaySeconds"] = "0" } }, m)),
        new("GetQueueUrl", (s, m) => SqsJ("GetQueueUrl", new JsonObject { ["QueueName"] = s.Queue }, m)),
        new("ListQueues", (s, m) => SqsJ("ListQueues", new JsonObject { ["QueueNamePrefix"] = "fz", ["MaxResults"] = 5 }, m)),
        new("DeleteQueue", (s, m) => SqsJ("DeleteQueue", new JsonObject { ["QueueUrl"] = QueueUrl(s.VictimQueue) }, m)),
        new("PurgeQueue", (s, m) => SqsJ("PurgeQueue", new JsonObject { ["QueueUrl"] = QueueUrl(s.VictimQueue) }, m)),
        new("GetQueueAttributes", (s, m) => SqsJ("GetQueueAttributes", new JsonObject { ["QueueUrl"] = QueueUrl(s.Queue), ["AttributeNames"] = new JsonArray("All") }, m)),
        new("SendMessage", (s, m) => SqsJ("SendMessage", new JsonObject
        {
            ["QueueUrl"] = QueueUrl(s.Queue), ["MessageBody"] = "{\"token\": \"t\"}", ["DelaySeconds"] = 0,
            ["MessageAttributes"] = new JsonObject { ["a"] = new JsonObject { ["DataType"] = "String", ["StringValue"] = "x" } },
        }, m)),
        new("ReceiveMessage", (s, m) => SqsJ("ReceiveMessage", new JsonObject
        {
            ["QueueUrl"] = QueueUrl(s.Queue), ["MaxNumberOfMessages"] = 2, ["WaitTimeSeconds"] = 0, ["VisibilityTimeout"] = 0,
            ["AttributeNames"] = new JsonArray("All"), ["MessageAttributeNames"] = new JsonArray("All"),
        }, m)),
        new("DeleteMessage", (s, m) => SqsJ("DeleteMessage", new JsonObject { ["QueueUrl"] = QueueUrl(s.Queue), ["ReceiptHandle"] = "bogus" }, m)),
        new("ChangeMessageVisibility", (s, m) => SqsJ("ChangeMessageVisibility", new JsonObject { ["QueueUrl"] = QueueUrl(s.Queue), ["ReceiptHandle"] = "bogus", ["VisibilityTimeout"] = 3 }, m)),
    ];

    private static FuzzRequest SqsQ(string op, Mutator m, params (string Key, string Value)[] form)
    {
        var list = new List<KeyValuePair<string, string>> { new("Action", op), new("Version", "2012-11-05") };
        list.AddRange(form.Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value)));
        Dictionary<string, string> headers = [];
        var path = "/";
        var type = "application/x-www-form-urlencoded";
        string body;
        if (m.Random.Next(100) < 85)
        {
            body = m.MutateForm(list);
        }
        else
        {
            body = string.Join('&', list.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
            if (m.Random.Next(2) == 0)
            {
                headers["Authorization"] = m.HostileString();
            }
            else
            {
                path = $"/{FuzzAws.Account}/{Uri.EscapeDataString(m.HostileString())}";
            }
        }
        return new FuzzRequest("sqs-query", HttpMethod.Post, path, body, type, headers);
    }

    private static readonly Template[] SqsQuery =
    [
        new("CreateQueue", (s, m) => SqsQ("CreateQueue", m, ("QueueName", Fresh("fzsq", m)), ("Attribute.1.Name", "VisibilityTimeout"), ("Attribute.1.Value", "30"))),
        new("GetQueueUrl", (s, m) => SqsQ("GetQueueUrl", m, ("QueueName", s.Queue))),
        new("ListQueues", (s, m) => SqsQ("ListQueues", m, ("QueueNamePrefix", "fz"))),
        new("DeleteQueue", (s, m) => SqsQ("DeleteQueue", m, ("QueueUrl", QueueUrl(s.VictimQueue)))),
        new("PurgeQueue", (s, m) => SqsQ("PurgeQueue", m, ("QueueUrl", QueueUrl(s.VictimQueue)))),
        new("GetQueueAttributes", (s, m) => SqsQ("GetQueueAttributes", m, ("QueueUrl", QueueUrl(s.Queue)), ("AttributeName.1", "All"))),
        new("SendMessage", (s, m) => SqsQ("SendMessage", m, ("QueueUrl", QueueUrl(s.Queue)), ("MessageBody", "hello"),
            ("MessageAttribute.1.Name", "a"), ("MessageAttribute.1.Value.DataType", "String"), ("MessageAttribute.1.Value.StringValue", "x"))),
        new("ReceiveMessage", (s, m) => SqsQ("ReceiveMessage", m, ("QueueUrl", QueueUrl(s.Queue)), ("MaxNumberOfMessages", "2"), ("WaitTimeSeconds", "0"), ("VisibilityTimeout", "0"))),
        new("DeleteMessage", (s, m) => SqsQ("DeleteMessage", m, ("QueueUrl", QueueUrl(s.Queue)), ("ReceiptHandle", "bogus"))),
        new("ChangeMessageVisibility", (s, m) => SqsQ("ChangeMessageVisibility", m, ("QueueUrl", QueueUrl(s.Queue)), ("ReceiptHandle", "bogus"), ("VisibilityTimeout", "3"))),
    ];

    // ---- Vertex ----

    private const string Parent = $"projects/{FuzzServer.Project}/locations/{FuzzServer.Location}";

    private static readonly Template[] Vertex =
    [
        new("create job", (s, m) => Json("vertex", HttpMethod.Post, $"/v1/{Parent}/pipelineJobs?pipelineJobId={Fresh("fz-j", m)}", new JsonObject
        {
            ["displayName"] = "fz", ["pipelineSpec"] = JsonNode.Parse(s.KfpSpec),
            ["runtimeConfig"] = new JsonObject { ["gcsOutputDirectory"] = "gs://fz/root", ["parameterValues"] = new JsonObject() },
            ["labels"] = new JsonObject { ["team"] = "red" },
        }, m)),
        new("list jobs", (s, m) => Bare("vertex", HttpMethod.Get, $"/v1/{Parent}/pipelineJobs?pageSize=3&filter={Uri.EscapeDataString("state=\"PIPELINE_STATE_SUCCEEDED\"")}&orderBy=create_time%20desc", m)),
        new("get job", (s, m) => Bare("vertex", HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{s.VertexJobId}", m)),
        new("cancel job", (s, m) => Json("vertex", HttpMethod.Post, $"/v1/{Parent}/pipelineJobs/{s.VertexJobId}:cancel", new JsonObject(), m)),
        new("delete job", (s, m) => Bare("vertex", HttpMethod.Delete, $"/v1/{Parent}/pipelineJobs/{s.VictimRunId}", m)),
        new("batch cancel", (s, m) => Json("vertex", HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchCancel", new JsonObject { ["names"] = new JsonArray($"{Parent}/pipelineJobs/{s.VertexJobId}", $"{Parent}/pipelineJobs/{s.RunId}") }, m)),
        new("batch delete", (s, m) => Json("vertex", HttpMethod.Post, $"/v1/{Parent}/pipelineJobs:batchDelete", new JsonObject { ["names"] = new JsonArray($"{Parent}/pipelineJobs/{s.VictimRunId}") }, m)),
        new("list operations", (s, m) => Bare("vertex", HttpMethod.Get, $"/v1/{Parent}/operations?pageSize=2", m)),
        new("get operation", (s, m) => Bare("vertex", HttpMethod.Get, $"/v1/{Parent}/operations/{s.VertexOperation}", m)),
        new("ui operation", (s, m) => Bare("vertex", HttpMethod.Get, $"/ui/{Parent}/operations/{s.VertexOperation}", m)),
        new("wait operation", (s, m) => Json("vertex", HttpMethod.Post, $"/v1/{Parent}/operations/{s.VertexOperation}:wait", new JsonObject { ["timeout"] = "1s" }, m)),
        new("cancel operation", (s, m) => Json("vertex", HttpMethod.Post, $"/v1/{Parent}/operations/{s.VertexOperation}:cancel", new JsonObject(), m)),
        new("job operations", (s, m) => Bare("vertex", HttpMethod.Get, $"/v1/{Parent}/pipelineJobs/{s.VertexJobId}/operations", m)),
    ];

    /// <summary>A JSON string literal (for building YAML by hand).</summary>
    public static string Quote(string s) => JsonSerializer.Serialize(s);
}
