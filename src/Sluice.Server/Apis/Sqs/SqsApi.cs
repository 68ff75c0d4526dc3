using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Storage;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Sqs;

/// <summary>An error in SQS's dialect: the JSON code (its __type) and the query protocol's code, which older clients match.</summary>
public sealed class SqsException(string code, string queryCode, string message) : Exception(message)
{
    public string Code { get; } = code;

    public string QueryCode { get; } = queryCode;

    public static SqsException Invalid(string message) => new("InvalidParameterValue", "InvalidParameterValue", message);

    public static SqsException Missing(string name) => new("MissingParameter", "MissingParameter", $"The request must contain the parameter {name}.");

    public static SqsException NoQueue() =>
        new("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
}

/// <summary>The request's parameters in either protocol: a JSON object (AmazonSQS.* targets) or a query form (Action=...).</summary>
internal sealed class SqsInput
{
    private readonly JsonObject? json;
    private readonly Dictionary<string, string>? form;

    private SqsInput(JsonObject? json, Dictionary<string, string>? form)
    {
        this.json = json;
        this.form = form;
    }

    public bool IsQuery => form is not null;

    public static SqsInput Json(byte[] body)
    {
        try
        {
            // A member given twice is refused here: a JsonObject that holds one throws when it is first read.
            var node = body.Length == 0 ? new JsonObject() : JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
            return new SqsInput(node as JsonObject ?? throw new SqsException("SerializationException", "MalformedQueryString", "The body must be a JSON object."), null);
        }
        catch (JsonException e)
        {
            throw new SqsException("SerializationException", "MalformedQueryString", $"The body is not valid JSON: {e.Message}");
        }
    }

    public static SqsInput Query(Dictionary<string, string> form) => new(null, form);

    public string? Str(string name)
    {
        if (form is not null)
        {
            return form.GetValueOrDefault(name);
        }
        return json![name] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            var other => throw SqsException.Invalid($"{name} must be a string, not {other.GetValueKind()}."),
        };
    }

    public int? Int(string name)
    {
        if (form is not null)
        {
            return form.TryGetValue(name, out var s)
                ? int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i : throw SqsException.Invalid($"{name} must be an integer; got '{Validation.Show(s)}'.")
                : null;
        }
        return json![name] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i) => i,
            var other => throw SqsException.Invalid($"{name} must be an integer, not {other.ToJsonString()}."),
        };
    }

    /// <summary>A list: JSON array <paramref name="jsonName"/> or query members <paramref name="queryPrefix"/>.1, .2, ...</summary>
    public List<string> List(string jsonName, string queryPrefix)
    {
        if (form is not null)
        {
            var list = new List<string>();
            for (var i = 1; form.TryGetValue($"{queryPrefix}.{i}", out var v); i++)
            {
                list.Add(v);
            }
            return list;
        }
        return json![jsonName] switch
        {
            null => [],
            JsonArray a => [.. a.Select(x => x is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                : throw SqsException.Invalid($"{jsonName} must be a list of strings."))],
            _ => throw SqsException.Invalid($"{jsonName} must be a list of strings."),
        };
    }

    /// <summary>A string map: JSON object <paramref name="jsonName"/> or query pairs <paramref name="queryPrefix"/>.N.Name / .N.Value.</summary>
    public Dictionary<string, string> Map(string jsonName, string queryPrefix)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (form is not null)
        {
            for (var i = 1; form.TryGetValue($"{queryPrefix}.{i}.Name", out var k); i++)
            {
                map[k] = form.GetValueOrDefault($"{queryPrefix}.{i}.Value") ?? "";
            }
            return map;
        }
        switch (json![jsonName])
        {
            case null:
                return map;
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    map[k] = v is JsonValue sv && sv.GetValueKind() == JsonValueKind.String ? sv.GetValue<string>()
                        : throw SqsException.Invalid($"{jsonName}.{k} must be a string.");
                }
                return map;
            default:
                throw SqsException.Invalid($"{jsonName} must be a map of strings.");
        }
    }

    public bool Has(string jsonName, string queryPrefix) =>
        form is not null ? form.Keys.Any(k => k.StartsWith(queryPrefix + ".", StringComparison.Ordinal)) : json![jsonName] is not null;
}

/// <summary>The SQS-compatible face of the built-in queue: enough of SQS for consumers written with boto3, the AWS CLI and
/// @aws-sdk/client-sqs, in the JSON protocol (current SDKs) and the query protocol (older botocore). Queues live in the
/// caller's scope; their URLs are http(s)://HOST/ACCOUNT/NAME on this server, and any URL ending in /ACCOUNT/NAME (such as
/// https://sqs.REGION.amazonaws.com/ACCOUNT/NAME in a pipeline definition) names the same queue.</summary>
internal sealed class SqsApi(QueueService queues, AwsAuthOptions auth)
{
    public static readonly IReadOnlySet<string> Operations = new HashSet<string>(StringComparer.Ordinal)
    {
        "CreateQueue", "GetQueueUrl", "ListQueues", "DeleteQueue", "PurgeQueue", "GetQueueAttributes", "SendMessage", "ReceiveMessage",
        "DeleteMessage", "ChangeMessageVisibility",
    };

    private static readonly string[] AllAttributes =
    [
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp",
        "LastModifiedTimestamp", "VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "DelaySeconds",
        "MaximumMessageSize", "QueueArn",
    ];

    /// <summary>Runs one operation; the result is in the JSON protocol's shape (the query protocol renders it as XML).</summary>
    public async Task<JsonObject> HandleAsync(string op, SqsInput input, AwsCaller caller, HttpRequest http, CancellationToken ct)
    {
        try
        {
            return op switch
            {
                "CreateQueue" => await CreateQueueAsync(input, caller, http, ct),
                "GetQueueUrl" => await GetQueueUrlAsync(input, caller, http, ct),
                "ListQueues" => await ListQueuesAsync(input, caller, http, ct),
                "DeleteQueue" => await DeleteQueueAsync(input, caller, ct),
                "PurgeQueue" => await PurgeQueueAsync(input, caller, ct),
                "GetQueueAttributes" => await GetAttributesAsync(input, caller, ct),
                "SendMessage" => await SendAsync(input, caller, ct),
                "ReceiveMessage" => await ReceiveAsync(input, caller, ct),
                "DeleteMessage" => await DeleteMessageAsync(input, caller, ct),
                "ChangeMessageVisibility" => await ChangeVisibilityAsync(input, caller, ct),
                _ => throw new SqsException(input.IsQuery ? "InvalidAction" : "UnsupportedOperation", "InvalidAction",
                    $"The action {Validation.Show(op)} is not valid for this endpoint."),
            };
        }
        catch (SluiceException e)
        {
            throw e.Kind switch
            {
                ErrorKind.NotFound => SqsException.NoQueue(),
                ErrorKind.AlreadyExists => new SqsException("QueueNameExists", "QueueAlreadyExists", e.Message),
                ErrorKind.FailedPrecondition => new SqsException("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", e.Message),
                ErrorKind.InvalidArgument when e.Problems.Any(p => p.Path == "receiptHandle") =>
                    new SqsException("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", e.Message),
                ErrorKind.InvalidArgument when e.Problems.Any(p => p.Path == "body") =>
                    new SqsException("InvalidMessageContents", "InvalidMessageContents", e.Message),
                ErrorKind.InvalidArgument => SqsException.Invalid(e.Message),
                ErrorKind.Unavailable => new SqsException("RequestThrottled", "RequestThrottled", e.Message),
                _ => new SqsException("InternalFailure", "InternalFailure", e.Message),
            };
        }
    }

    public static string QueueUrl(HttpRequest http, AwsCaller c, string name) => $"{http.Scheme}://{http.Host}/{c.Account}/{name}";

    /// <summary>The queue named by a URL: its last two path segments are the account (the caller's) and the name. In
    /// development mode every request acts for the one default account, so the account in the URL is not checked: a
    /// consumer may use the SqsQueueUrl of a definition written for another account as it is.</summary>
    private string QueueOf(SqsInput input, AwsCaller c)
    {
        var url = input.Str("QueueUrl") ?? throw SqsException.Missing("QueueUrl");
        var path = Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.AbsolutePath : url;
        var parts = path.Trim('/').Split('/');
        if (parts.Length < 2 || (parts[^2] != c.Account && auth.Mode != AwsAuthMode.Dev) || !QueueService.IsQueueName(parts[^1]))
        {
            throw SqsException.NoQueue();
        }
        return parts[^1];
    }

    private static string Name(SqsInput input)
    {
        var name = input.Str("QueueName") ?? throw SqsException.Missing("QueueName");
        return QueueService.IsQueueName(name) ? name
            : throw SqsException.Invalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
    }

    private async Task<JsonObject> CreateQueueAsync(SqsInput input, AwsCaller c, HttpRequest http, CancellationToken ct)
    {
        var name = Name(input);
        var attrs = input.Map("Attributes", "Attribute");
        var settings = new QueueSettings();
        foreach (var (k, v) in attrs)
        {
            settings = k switch
            {
                "VisibilityTimeout" => settings with { VisibilityTimeout = Seconds(k, v) },
                "MessageRetentionPeriod" => settings with { MessageRetentionPeriod = Seconds(k, v) },
                "ReceiveMessageWaitTimeSeconds" => settings with { ReceiveMessageWaitTime = Seconds(k, v) },
                "DelaySeconds" => settings with { Delay = Seconds(k, v) },
                "MaximumMessageSize" => settings with { MaximumMessageSize = (int)Seconds(k, v).TotalSeconds },
                // Accepted and without effect here: there is no encryption, dead-letter queue or policy.
                "Policy" or "RedrivePolicy" or "RedriveAllowPolicy" or "KmsMasterKeyId" or "KmsDataKeyReusePeriodSeconds" or "SqsManagedSseEnabled" => settings,
                "FifoQueue" or "ContentBasedDeduplication" or "DeduplicationScope" or "FifoThroughputLimit" =>
                    throw new SqsException("InvalidAttributeName", "InvalidAttributeName", $"FIFO queues are not supported: {k}."),
                _ => throw new SqsException("InvalidAttributeName", "InvalidAttributeName", $"Unknown Attribute {Validation.Show(k)}."),
            };
        }
        await queues.CreateAsync(c.Scope, name, settings, ct);
        return new JsonObject { ["QueueUrl"] = QueueUrl(http, c, name) };
    }

    private static TimeSpan Seconds(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? TimeSpan.FromSeconds(n)
            : throw new SqsException("InvalidAttributeValue", "InvalidAttributeValue", $"Invalid value for the parameter {name}.");

    private async Task<JsonObject> GetQueueUrlAsync(SqsInput input, AwsCaller c, HttpRequest http, CancellationToken ct)
    {
        var name = Name(input);
        if (input.Str("QueueOwnerAWSAccountId") is { } owner && owner != c.Account)
        {
            throw SqsException.NoQueue();
        }
        await queues.GetAsync(c.Scope, name, ct);
        return new JsonObject { ["QueueUrl"] = QueueUrl(http, c, name) };
    }

    private async Task<JsonObject> ListQueuesAsync(SqsInput input, AwsCaller c, HttpRequest http, CancellationToken ct)
    {
        var prefix = input.Str("QueueNamePrefix");
        var max = input.Int("MaxResults");
        if (max is < 1 or > 1000)
        {
            throw SqsException.Invalid("Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.");
        }
        var page = await queues.ListAsync(c.Scope, string.IsNullOrEmpty(prefix) ? null : prefix, max ?? 1000, input.Str("NextToken"), ct);
        var o = new JsonObject();
        if (page.Items.Count > 0)
        {
            o["QueueUrls"] = new JsonArray([.. page.Items.Select(q => (JsonNode?)QueueUrl(http, c, q.Name))]);
        }
        // SQS gives a NextToken only when MaxResults was asked for.
        if (max is not null && page.NextPageToken is { } next)
        {
            o["NextToken"] = next;
        }
        return o;
    }

    private async Task<JsonObject> DeleteQueueAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        await queues.DeleteAsync(c.Scope, QueueOf(input, c), ct);
        return [];
    }

    private async Task<JsonObject> PurgeQueueAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        await queues.PurgeAsync(c.Scope, QueueOf(input, c), ct);
        return [];
    }

    private async Task<JsonObject> GetAttributesAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        var name = QueueOf(input, c);
        var asked = input.List("AttributeNames", "AttributeName");
        foreach (var a in asked.Where(a => a != "All" && !AllAttributes.Contains(a, StringComparer.Ordinal)))
        {
            throw new SqsException("InvalidAttributeName", "InvalidAttributeName", $"Unknown Attribute {Validation.Show(a)}.");
        }
        var q = await queues.GetAsync(c.Scope, name, ct);
        var counts = await queues.CountAsync(c.Scope, name, ct);
        var created = q.CreatedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var all = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ApproximateNumberOfMessages"] = Text(counts.Visible),
            ["ApproximateNumberOfMessagesNotVisible"] = Text(counts.NotVisible),
            ["ApproximateNumberOfMessagesDelayed"] = Text(counts.Delayed),
            ["CreatedTimestamp"] = created,
            ["LastModifiedTimestamp"] = created,
            ["VisibilityTimeout"] = Text((long)q.Attributes.VisibilityTimeout.TotalSeconds),
            ["MessageRetentionPeriod"] = Text((long)q.Attributes.MessageRetentionPeriod.TotalSeconds),
            ["ReceiveMessageWaitTimeSeconds"] = Text((long)q.Attributes.ReceiveMessageWaitTime.TotalSeconds),
            ["DelaySeconds"] = Text((long)q.Attributes.Delay.TotalSeconds),
            ["MaximumMessageSize"] = Text(q.Attributes.MaximumMessageSize),
            ["QueueArn"] = $"arn:aws:sqs:{c.Region}:{c.Account}:{name}",
        };
        var wanted = asked.Contains("All") ? all.Keys.ToList() : asked;
        var o = new JsonObject();
        if (wanted.Count > 0)
        {
            o["Attributes"] = new JsonObject(wanted.Distinct().Select(k => KeyValuePair.Create(k, (JsonNode?)all[k])));
        }
        return o;
    }

    private static string Text(long n) => n.ToString(CultureInfo.InvariantCulture);

    private async Task<JsonObject> SendAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        var name = QueueOf(input, c);
        var body = input.Str("MessageBody") ?? throw SqsException.Missing("MessageBody");
        if (input.Has("MessageAttributes", "MessageAttribute") || input.Has("MessageSystemAttributes", "MessageSystemAttribute"))
        {
            throw new SqsException("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
                "Message attributes are not supported by this server; put everything in the body.");
        }
        if (input.Str("MessageGroupId") is not null || input.Str("MessageDeduplicationId") is not null)
        {
            throw SqsException.Invalid("The request include parameter that is not valid for this queue type (FIFO queues are not supported).");
        }
        var delay = input.Int("DelaySeconds");
        var sent = await queues.SendAsync(c.Scope, name, body, delay is { } d ? TimeSpan.FromSeconds(d) : null, ct);
        return new JsonObject { ["MD5OfMessageBody"] = sent.Md5, ["MessageId"] = sent.Id };
    }

    private async Task<JsonObject> ReceiveAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        var name = QueueOf(input, c);
        var max = input.Int("MaxNumberOfMessages") ?? 1;
        if (max is < 1 or > 10)
        {
            throw SqsException.Invalid(
                "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.");
        }
        var visibility = input.Int("VisibilityTimeout");
        var wait = input.Int("WaitTimeSeconds");
        if (wait is < 0 or > 20)
        {
            throw SqsException.Invalid("Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.");
        }
        var names = input.List("AttributeNames", "AttributeName").Concat(input.List("MessageSystemAttributeNames", "MessageSystemAttributeName")).ToHashSet(StringComparer.Ordinal);
        var messages = await queues.ReceiveAsync(c.Scope, name, max, visibility is { } v ? TimeSpan.FromSeconds(v) : null,
            wait is { } w ? TimeSpan.FromSeconds(w) : null, ct);
        var o = new JsonObject();
        if (messages.Count > 0)
        {
            o["Messages"] = new JsonArray([.. messages.Select(m => (JsonNode)Message(m, names))]);
        }
        return o;
    }

    private static JsonObject Message(QueueMessage m, HashSet<string> names)
    {
        var o = new JsonObject { ["MessageId"] = m.Id, ["ReceiptHandle"] = m.ReceiptHandle, ["MD5OfBody"] = m.Md5, ["Body"] = m.Body };
        var all = names.Contains("All");
        var attrs = new JsonObject();
        if (all || names.Contains("SentTimestamp"))
        {
            attrs["SentTimestamp"] = Text(m.SentAt.ToUnixTimeMilliseconds());
        }
        if (all || names.Contains("ApproximateReceiveCount"))
        {
            attrs["ApproximateReceiveCount"] = Text(m.ReceiveCount);
        }
        if ((all || names.Contains("ApproximateFirstReceiveTimestamp")) && m.FirstReceivedAt is { } first)
        {
            attrs["ApproximateFirstReceiveTimestamp"] = Text(first.ToUnixTimeMilliseconds());
        }
        if (attrs.Count > 0)
        {
            o["Attributes"] = attrs;
        }
        return o;
    }

    private async Task<JsonObject> DeleteMessageAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        var name = QueueOf(input, c);
        await queues.DeleteMessageAsync(c.Scope, name, input.Str("ReceiptHandle") ?? throw SqsException.Missing("ReceiptHandle"), ct);
        return [];
    }

    private async Task<JsonObject> ChangeVisibilityAsync(SqsInput input, AwsCaller c, CancellationToken ct)
    {
        var name = QueueOf(input, c);
        var handle = input.Str("ReceiptHandle") ?? throw SqsException.Missing("ReceiptHandle");
        var timeout = input.Int("VisibilityTimeout") ?? throw SqsException.Missing("VisibilityTimeout");
        await queues.ChangeVisibilityAsync(c.Scope, name, handle, TimeSpan.FromSeconds(timeout), ct);
        return [];
    }

    // ---- query protocol rendering ----

    private const string Ns = "http://queue.amazonaws.com/doc/2012-11-05/";

    /// <summary>The XML of a query-protocol answer, from the JSON shape: lists and maps flattened as SQS writes them.</summary>
    public static string Xml(string op, JsonObject result, string requestId)
    {
        var sb = new StringBuilder();
        sb.Append("<?xml version=\"1.0\"?>").Append('<').Append(op).Append("Response xmlns=\"").Append(Ns).Append("\">");
        if (result.Count > 0 || op is "CreateQueue" or "GetQueueUrl" or "ListQueues" or "GetQueueAttributes" or "SendMessage" or "ReceiveMessage")
        {
            sb.Append('<').Append(op).Append("Result>");
            Members(sb, result);
            sb.Append("</").Append(op).Append("Result>");
        }
        sb.Append("<ResponseMetadata><RequestId>").Append(requestId).Append("</RequestId></ResponseMetadata>");
        sb.Append("</").Append(op).Append("Response>");
        return sb.ToString();
    }

    private static void Members(StringBuilder sb, JsonObject o)
    {
        foreach (var (k, v) in o)
        {
            switch (v)
            {
                case JsonArray a:
                    var element = k switch { "QueueUrls" => "QueueUrl", "Messages" => "Message", _ => k };
                    foreach (var item in a)
                    {
                        sb.Append('<').Append(element).Append('>');
                        if (item is JsonObject io)
                        {
                            Members(sb, io);
                        }
                        else
                        {
                            sb.Append(Escape(item?.ToString()));
                        }
                        sb.Append("</").Append(element).Append('>');
                    }
                    break;
                case JsonObject map when k == "Attributes":
                    foreach (var (mk, mv) in map)
                    {
                        sb.Append("<Attribute><Name>").Append(Escape(mk)).Append("</Name><Value>").Append(Escape(mv?.ToString()))
                            .Append("</Value></Attribute>");
                    }
                    break;
                case null:
                    break;
                default:
                    sb.Append('<').Append(k).Append('>').Append(Escape(v.ToString())).Append("</").Append(k).Append('>');
                    break;
            }
        }
    }

    public static string ErrorXml(SqsException e, string requestId) =>
        $"<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{Ns}\"><Error><Type>Sender</Type><Code>{Escape(e.QueryCode)}</Code><Message>{Escape(e.Message)}</Message><Detail/></Error><RequestId>{requestId}</RequestId></ErrorResponse>";

    private static string Escape(string? s) => SecurityElement.Escape(s ?? "");
}
