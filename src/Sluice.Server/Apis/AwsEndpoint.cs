using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Sluice.Server.Apis.SageMaker;
using Sluice.Server.Apis.Sqs;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis;

/// <summary>The one door of the AWS faces: a POST to any path outside /api that carries X-Amz-Target (SageMaker.* in JSON
/// 1.1, AmazonSQS.* in JSON 1.0) or a query-protocol form (Action=..., SQS). The body is buffered (it is signed), the caller
/// authenticated (SigV4 or development mode), and the operation dispatched; every client error is HTTP 400 in the caller's
/// dialect, never a 5xx (clients retry those).</summary>
internal static partial class AwsEndpoint
{
    /// <summary>A SageMaker definition is at most 1 MiB of characters; JSON escaping can double that.</summary>
    private const int MaxBody = 3 * 1024 * 1024;

    private enum Dialect
    {
        SageMaker,
        SqsJson,
        SqsQuery,
        UnknownJson,
    }

    public static bool Matches(HttpRequest req)
    {
        // The native and Vertex faces own their prefixes, whatever a request there carries.
        if (!HttpMethods.IsPost(req.Method) || req.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            || req.Path.StartsWithSegments("/v1", StringComparison.Ordinal) || req.Path.StartsWithSegments("/ui", StringComparison.Ordinal))
        {
            return false;
        }
        return req.Headers.ContainsKey("X-Amz-Target")
            || (req.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) ?? false);
    }

    public static async Task HandleAsync(HttpContext http)
    {
        var req = http.Request;
        var requestId = Guid.NewGuid().ToString("D");
        var target = req.Headers["X-Amz-Target"].ToString();
        var dialect = target.StartsWith("SageMaker.", StringComparison.Ordinal) ? Dialect.SageMaker
            : target.StartsWith("AmazonSQS.", StringComparison.Ordinal) ? Dialect.SqsJson
            // An X-Amz-Target that is there but names nothing known (even an empty one) is a JSON request all the same: only a
            // form without the header is the query protocol.
            : req.Headers.ContainsKey("X-Amz-Target") ? Dialect.UnknownJson
            : Dialect.SqsQuery;
        var op = dialect == Dialect.SqsQuery ? "" : target[(target.IndexOf('.', StringComparison.Ordinal) + 1)..];
        try
        {
            var body = await ReadBodyAsync(req, http.RequestAborted);
            var options = http.RequestServices.GetRequiredService<AwsAuthOptions>();
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            switch (dialect)
            {
                case Dialect.SageMaker:
                {
                    var caller = SigV4.Authenticate(req, body, "sagemaker", options, time.GetUtcNow());
                    if (!SageMakerApi.Operations.Contains(op))
                    {
                        throw new SageMakerException("UnknownOperationException", $"Unknown operation {Core.Api.Validation.Show(target)}.");
                    }
                    var api = http.RequestServices.GetRequiredService<SageMakerApi>();
                    await WriteAsync(http, requestId, 200, "application/x-amz-json-1.1", await api.HandleAsync(op, body, caller, http.RequestAborted));
                    break;
                }
                case Dialect.SqsJson:
                {
                    var caller = SigV4.Authenticate(req, body, "sqs", options, time.GetUtcNow());
                    var input = SqsInput.Json(body);
                    var result = await http.RequestServices.GetRequiredService<SqsApi>().HandleAsync(op, input, caller, req, http.RequestAborted);
                    await WriteAsync(http, requestId, 200, "application/x-amz-json-1.0", result.ToJsonString());
                    break;
                }
                case Dialect.SqsQuery:
                {
                    var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)).ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal);
                    op = form.GetValueOrDefault("Action") ?? "";
                    var caller = SigV4.Authenticate(req, body, "sqs", options, time.GetUtcNow());
                    if (op.Length == 0)
                    {
                        throw new SqsException("MissingAction", "MissingAction", "The request must contain the parameter Action.");
                    }
                    // Older botocore sends an operation on a queue to the queue's URL; the form still carries QueueUrl.
                    if (!form.ContainsKey("QueueUrl") && req.Path.Value is { Length: > 1 } path && op is not ("CreateQueue" or "GetQueueUrl" or "ListQueues"))
                    {
                        form["QueueUrl"] = $"{req.Scheme}://{req.Host}{path}";
                    }
                    var result = await http.RequestServices.GetRequiredService<SqsApi>().HandleAsync(op, SqsInput.Query(form), caller, req, http.RequestAborted);
                    await WriteAsync(http, requestId, 200, "text/xml", SqsApi.Xml(op, result, requestId));
                    break;
                }
                default:
                    SigV4.Authenticate(req, body, Service(target), options, time.GetUtcNow());
                    throw new SageMakerException("UnknownOperationException", $"Unknown operation {Core.Api.Validation.Show(target)}.");
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away (a long poll it gave up on).
        }
        catch (Exception e) when (Error(e, dialect) is var (code, queryCode, message, status))
        {
            if (dialect == Dialect.SqsQuery)
            {
                await WriteAsync(http, requestId, status, "text/xml", SqsApi.ErrorXml(new SqsException(code, queryCode, message), requestId));
            }
            else
            {
                http.Response.Headers["x-amzn-ErrorType"] = code;
                var type = dialect == Dialect.SqsJson ? $"com.amazonaws.sqs#{code}" : code;
                await WriteAsync(http, requestId, status, dialect == Dialect.SqsJson ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
                    JsonSerializer.Serialize(new ErrorResponse(type, message), SageMakerJson.Default.ErrorResponse));
            }
            if (status >= 500)
            {
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Sluice.Aws").LogError(e, "unhandled error in {Target}", target);
            }
        }
    }

    /// <summary>Answers a request the rate limiter turned away, in its dialect: ThrottlingException (SageMaker; the SQS query
    /// protocol's common error), RequestThrottled (SQS JSON), each an HTTP 400 that every AWS client retries with backoff.</summary>
    public static async Task WriteThrottledAsync(HttpContext http)
    {
        var req = http.Request;
        var requestId = Guid.NewGuid().ToString("D");
        var target = req.Headers["X-Amz-Target"].ToString();
        const string message = "Rate exceeded";
        if (target.Length == 0)
        {
            await WriteAsync(http, requestId, 400, "text/xml", SqsApi.ErrorXml(new SqsException("RequestThrottled", "ThrottlingException", message), requestId));
            return;
        }
        var sqs = target.StartsWith("AmazonSQS.", StringComparison.Ordinal);
        var code = sqs ? "RequestThrottled" : "ThrottlingException";
        http.Response.Headers["x-amzn-ErrorType"] = code;
        await WriteAsync(http, requestId, 400, sqs ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
            JsonSerializer.Serialize(new ErrorResponse(sqs ? $"com.amazonaws.sqs#{code}" : code, message), SageMakerJson.Default.ErrorResponse));
    }

    /// <summary>Every known failure is a 400 with its code; anything else is a genuine internal failure.</summary>
    private static (string Code, string QueryCode, string Message, int Status) Error(Exception e, Dialect dialect) => e switch
    {
        SageMakerException s => (s.Code, s.Code, s.Message, 400),
        SqsException q => (q.Code, q.QueryCode, q.Message, 400),
        AwsAuthException a => (a.Code, a.Code, a.Message, a.Code == "MissingAuthenticationTokenException" && dialect == Dialect.SqsQuery ? 403 : 400),
        BadHttpRequestException b => ("SerializationException", "MalformedQueryString", b.Message, 400),
        Core.Api.SluiceException c => (c.Kind.ToString(), c.Kind.ToString(), c.Message, 400),
        _ => ("InternalFailure", "InternalError", "An internal error occurred; see the server log.", 500),
    };

    private static string Service(string target) => target.StartsWith("AmazonSQS", StringComparison.Ordinal) ? "sqs" : "sagemaker";

    private static async Task<byte[]> ReadBodyAsync(HttpRequest req, CancellationToken ct)
    {
        if (req.ContentLength > MaxBody)
        {
            throw new SageMakerException("SerializationException", $"The request body is larger than {MaxBody} bytes.");
        }
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = await req.Body.ReadAsync(buffer, ct)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > MaxBody)
            {
                throw new SageMakerException("SerializationException", $"The request body is larger than {MaxBody} bytes.");
            }
        }
        return ms.ToArray();
    }

    private static async Task WriteAsync(HttpContext http, string requestId, int status, string contentType, string body)
    {
        if (http.Response.HasStarted)
        {
            return;
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = contentType;
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        await http.Response.WriteAsync(body, http.RequestAborted);
    }
}
