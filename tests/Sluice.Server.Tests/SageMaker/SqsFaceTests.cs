using System.Text.Json.Nodes;
using Sluice.TestKit;
using static Sluice.Server.Tests.SageMaker.Program;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>The SQS-compatible face with every client users have: boto3 (JSON protocol), Debian's boto3 (query protocol),
/// AWS CLI v1 (JSON) and v2 (Debian, query), and @aws-sdk/client-sqs.</summary>
public class SqsFaceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess S => fixture.Server;

    /// <summary>Every operation and the documented errors, as one program.</summary>
    private static JsonArray Lifecycle(string queue, string url) =>
    [
        Call("sqs.create_queue", new { QueueName = queue, Attributes = new { VisibilityTimeout = "5" } }),           // 0
        Call("sqs.create_queue", new { QueueName = queue, Attributes = new { VisibilityTimeout = "5" } }),           // 1 same: ok
        Call("sqs.create_queue", new { QueueName = queue, Attributes = new { VisibilityTimeout = "9" } }),           // 2 differs
        Call("sqs.get_queue_url", new { QueueName = queue }),                                                        // 3
        Call("sqs.list_queues", new { QueueNamePrefix = queue }),                                                    // 4
        Call("sqs.send_message", new { QueueUrl = url, MessageBody = "{\"a\": 1, \"t\": \"<&>\"}" }),                // 5
        Call("sqs.send_message", new { QueueUrl = url, MessageBody = "second" }),                                    // 6
        Call("sqs.receive_message", new { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 2, AttributeNames = new[] { "All" } }), // 7
        Call("sqs.get_queue_attributes", new { QueueUrl = url, AttributeNames = new[] { "All" } }),                  // 8
        Call("sqs.change_message_visibility", new { QueueUrl = url, ReceiptHandle = "${7.Messages.0.ReceiptHandle}", VisibilityTimeout = 0 }), // 9
        Call("sqs.receive_message", new { QueueUrl = url, WaitTimeSeconds = 2 }),                                    // 10 back at once
        Call("sqs.delete_message", new { QueueUrl = url, ReceiptHandle = "${10.Messages.0.ReceiptHandle}" }),        // 11
        Call("sqs.delete_message", new { QueueUrl = url, ReceiptHandle = "not-a-handle" }),                          // 12
        Call("sqs.purge_queue", new { QueueUrl = url }),                                                             // 13
        Call("sqs.get_queue_attributes", new { QueueUrl = url, AttributeNames = new[] { "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible" } }), // 14
        Call("sqs.receive_message", new { QueueUrl = url, WaitTimeSeconds = 1 }),                                    // 15 empty after 1 s
        Call("sqs.send_message", new { QueueUrl = url, MessageBody = "later", DelaySeconds = 1 }),                   // 16
        Call("sqs.receive_message", new { QueueUrl = url, WaitTimeSeconds = 10 }),                                   // 17 long poll gets it
        Call("sqs.receive_message", new { QueueUrl = url, MaxNumberOfMessages = 11 }),                               // 18
        Call("sqs.get_queue_url", new { QueueName = queue + "-nope" }),                                              // 19
        Call("sqs.send_message", new { QueueUrl = url + "-nope", MessageBody = "x" }),                               // 20
        Call("sqs.delete_queue", new { QueueUrl = url }),                                                            // 21
        Call("sqs.get_queue_url", new { QueueName = queue }),                                                        // 22
    ];

    private static void AssertLifecycle(JsonArray r, string url, bool query)
    {
        Assert.Equal(url, r.Ok(0)["QueueUrl"]!.GetValue<string>());
        Assert.Equal(url, r.Ok(1)["QueueUrl"]!.GetValue<string>());
        Assert.Equal(query ? "QueueAlreadyExists" : "QueueNameExists", r.Code(2));
        Assert.Equal(url, r.Ok(3)["QueueUrl"]!.GetValue<string>());
        Assert.Equal([url], r.Ok(4)["QueueUrls"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Equal(QueueMd5("{\"a\": 1, \"t\": \"<&>\"}"), r.Ok(5)["MD5OfMessageBody"]!.GetValue<string>());
        var got = r.Ok(7)["Messages"]!.AsArray();
        Assert.Equal(2, got.Count);
        Assert.Contains(got, m => m!["Body"]!.GetValue<string>() == "{\"a\": 1, \"t\": \"<&>\"}");
        Assert.Equal("1", got[0]!["Attributes"]!["ApproximateReceiveCount"]!.GetValue<string>());
        var attrs = r.Ok(8)["Attributes"]!;
        Assert.Equal("2", attrs["ApproximateNumberOfMessagesNotVisible"]!.GetValue<string>());
        Assert.Equal("5", attrs["VisibilityTimeout"]!.GetValue<string>());
        Assert.EndsWith(":000000000000:" + url.Split('/')[^1], attrs["QueueArn"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(r.Ok(9));
        Assert.Equal(got[0]!["MessageId"]!.GetValue<string>(), r.Ok(10)["Messages"]![0]!["MessageId"]!.GetValue<string>());
        Assert.NotNull(r.Ok(11));
        Assert.Equal("ReceiptHandleIsInvalid", r.Code(12));
        Assert.NotNull(r.Ok(13));
        Assert.Equal("0", r.Ok(14)["Attributes"]!["ApproximateNumberOfMessages"]!.GetValue<string>());
        Assert.Equal("0", r.Ok(14)["Attributes"]!["ApproximateNumberOfMessagesNotVisible"]!.GetValue<string>());
        Assert.Null(r.Ok(15)["Messages"]);
        Assert.Equal("later", r.Ok(17)["Messages"]![0]!["Body"]!.GetValue<string>());
        Assert.Equal("InvalidParameterValue", r.Code(18));
        var noQueue = query ? "AWS.SimpleQueueService.NonExistentQueue" : "QueueDoesNotExist";
        Assert.Equal(noQueue, r.Code(19));
        Assert.Equal(noQueue, r.Code(20));
        Assert.NotNull(r.Ok(21));
        Assert.Equal(noQueue, r.Code(22));
    }

    private static string QueueMd5(string s) => Core.Api.QueueService.Md5Hex(s);

    [Fact]
    public async Task Boto3JsonProtocol_EveryOperation()
    {
        var aws = new AwsClients(S);
        var queue = Json.UniqueName("sqsjson");
        var url = $"{aws.Endpoint}/000000000000/{queue}";
        AssertLifecycle(await aws.BotoAsync(Lifecycle(queue, url)), url, query: false);
    }

    [Fact]
    public async Task DebianBoto3QueryProtocol_EveryOperation()
    {
        Assert.True(File.Exists(AwsClients.DebianPython), "Debian's python3 with boto3 (package awscli) is needed");
        var aws = new AwsClients(S);
        var queue = Json.UniqueName("sqsquery");
        var url = $"{aws.Endpoint}/000000000000/{queue}";
        AssertLifecycle(await aws.BotoAsync(Lifecycle(queue, url), AwsClients.DebianPython), url, query: true);
    }

    [Fact]
    public async Task JsSdk_EveryOperation()
    {
        var aws = new AwsClients(S);
        var queue = Json.UniqueName("sqsjs");
        var url = $"{aws.Endpoint}/000000000000/{queue}";
        var r = await aws.NodeAsync([
            Call("sqs.CreateQueue", new { QueueName = queue }),                                                     // 0
            Call("sqs.GetQueueUrl", new { QueueName = queue }),                                                     // 1
            Call("sqs.SendMessage", new { QueueUrl = url, MessageBody = "from js" }),                               // 2
            Call("sqs.ReceiveMessage", new { QueueUrl = url, WaitTimeSeconds = 2, MessageSystemAttributeNames = new[] { "All" } }), // 3
            Call("sqs.ChangeMessageVisibility", new { QueueUrl = url, ReceiptHandle = "${3.Messages.0.ReceiptHandle}", VisibilityTimeout = 60 }), // 4
            Call("sqs.GetQueueAttributes", new { QueueUrl = url, AttributeNames = new[] { "All" } }),               // 5
            Call("sqs.DeleteMessage", new { QueueUrl = url, ReceiptHandle = "${3.Messages.0.ReceiptHandle}" }),     // 6
            Call("sqs.ListQueues", new { QueueNamePrefix = queue, MaxResults = 5 }),                                // 7
            Call("sqs.PurgeQueue", new { QueueUrl = url }),                                                         // 8
            Call("sqs.DeleteQueue", new { QueueUrl = url }),                                                        // 9
            Call("sqs.GetQueueUrl", new { QueueName = queue }),                                                     // 10
            Call("sqs.CreateQueue", new { QueueName = queue }),                                                     // 11
            // A definition's SqsQueueUrl in AWS's form names the same queue (the caller's account; another's is another tenant).
            Call("sqs.SendMessage", new { QueueUrl = $"https://sqs.us-east-1.amazonaws.com/000000000000/{queue}", MessageBody = "aws url" }), // 12
            Call("sqs.ReceiveMessage", new { QueueUrl = url, WaitTimeSeconds = 2 }),                                // 13
            Call("sqs.DeleteQueue", new { QueueUrl = url }),                                                        // 14
        ]);
        Assert.Equal(url, r.Ok(0)["QueueUrl"]!.GetValue<string>());
        Assert.Equal(url, r.Ok(1)["QueueUrl"]!.GetValue<string>());
        Assert.Equal(QueueMd5("from js"), r.Ok(2)["MD5OfMessageBody"]!.GetValue<string>());
        Assert.Equal("from js", r.Ok(3)["Messages"]![0]!["Body"]!.GetValue<string>());
        Assert.Equal("1", r.Ok(5)["Attributes"]!["ApproximateNumberOfMessagesNotVisible"]!.GetValue<string>());
        Assert.Equal([url], r.Ok(7)["QueueUrls"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Equal("QueueDoesNotExist", r.Code(10));
        Assert.Equal("aws url", r.Ok(13)["Messages"]![0]!["Body"]!.GetValue<string>());
    }

    [Fact]
    public async Task AwsCliV1AndV2_SendReceiveDelete()
    {
        var aws = new AwsClients(S);
        foreach (var v2 in new[] { false, true })
        {
            if (v2)
            {
                Assert.True(File.Exists(AwsClients.CliV2), "AWS CLI v2 (Debian package awscli) is needed");
            }
            var queue = Json.UniqueName(v2 ? "cliv2" : "cliv1");
            var url = (await aws.CliJsonAsync(v2, "sqs", "create-queue", "--queue-name", queue))["QueueUrl"]!.GetValue<string>();
            Assert.Equal($"{aws.Endpoint}/000000000000/{queue}", url);
            await aws.CliJsonAsync(v2, "sqs", "send-message", "--queue-url", url, "--message-body", "hello & <cli>");
            var got = await aws.CliJsonAsync(v2, "sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "5");
            var message = got["Messages"]![0]!;
            Assert.Equal("hello & <cli>", message["Body"]!.GetValue<string>());
            // The two versions share the rest between them, to keep the number of CLI launches down.
            if (!v2)
            {
                await aws.CliJsonAsync(v2, "sqs", "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"]!.GetValue<string>());
                continue;
            }
            var attrs = await aws.CliJsonAsync(v2, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All");
            Assert.Equal("1", attrs["Attributes"]!["ApproximateNumberOfMessagesNotVisible"]!.GetValue<string>());
            await aws.CliJsonAsync(v2, "sqs", "delete-queue", "--queue-url", url);
            var (code, _, stderr) = await aws.CliAsync(v2, "sqs", "get-queue-url", "--queue-name", queue);
            Assert.NotEqual(0, code);
            Assert.Contains("NonExistentQueue", stderr.Replace("QueueDoesNotExist", "NonExistentQueue", StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }
}
