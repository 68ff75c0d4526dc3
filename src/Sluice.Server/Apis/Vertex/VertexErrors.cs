using System.Text.Json.Nodes;
using Sluice.Core.Api;

namespace Sluice.Server.Apis.Vertex;

/// <summary>A google.rpc.Code, with the HTTP status Google's REST APIs answer it with.</summary>
internal readonly record struct RpcCode(int Number, string Name, int Http)
{
    public static readonly RpcCode Cancelled = new(1, "CANCELLED", 499);
    public static readonly RpcCode InvalidArgument = new(3, "INVALID_ARGUMENT", 400);
    public static readonly RpcCode NotFound = new(5, "NOT_FOUND", 404);
    public static readonly RpcCode AlreadyExists = new(6, "ALREADY_EXISTS", 409);
    public static readonly RpcCode PermissionDenied = new(7, "PERMISSION_DENIED", 403);
    public static readonly RpcCode ResourceExhausted = new(8, "RESOURCE_EXHAUSTED", 429);
    public static readonly RpcCode FailedPrecondition = new(9, "FAILED_PRECONDITION", 400);
    public static readonly RpcCode Unimplemented = new(12, "UNIMPLEMENTED", 501);
    public static readonly RpcCode Internal = new(13, "INTERNAL", 500);
    public static readonly RpcCode Unavailable = new(14, "UNAVAILABLE", 503);
    public static readonly RpcCode Unauthenticated = new(16, "UNAUTHENTICATED", 401);

    /// <summary>The code of a core error kind (every kind, exhaustively).</summary>
    public static RpcCode Of(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => InvalidArgument,
        ErrorKind.NotFound => NotFound,
        ErrorKind.AlreadyExists => AlreadyExists,
        ErrorKind.FailedPrecondition => FailedPrecondition,
        ErrorKind.ResourceExhausted => ResourceExhausted,
        ErrorKind.Unavailable => Unavailable,
        _ => Internal,
    };
}

/// <summary>An error this face raises itself (auth, routes, request shape), in Google's terms.</summary>
internal sealed class VertexException(RpcCode code, string message, string? reason = null) : Exception(message)
{
    public RpcCode Code { get; } = code;

    /// <summary>An ErrorInfo reason, e.g. RESOURCE_NOT_FOUND.</summary>
    public string? Reason { get; } = reason;
}

/// <summary>Writes errors as <c>{"error": {code, message, status, details}}</c> with the HTTP status of the gRPC code; details
/// use only google.rpc types the clients know (ErrorInfo, BadRequest).</summary>
internal static class VertexErrors
{
    public const string Domain = "aiplatform.googleapis.com";

    public static async Task HandleAsync(HttpContext http, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (SluiceException e)
        {
            await WriteAsync(http, RpcCode.Of(e.Kind), e.Message, Reason(e.Kind), e.Problems);
        }
        catch (VertexException e)
        {
            await WriteAsync(http, e.Code, e.Message, e.Reason, []);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(http, RpcCode.InvalidArgument, e.Message, null, []);
        }
    }

    private static string? Reason(ErrorKind kind) => kind switch
    {
        ErrorKind.NotFound => "RESOURCE_NOT_FOUND",
        ErrorKind.AlreadyExists => "RESOURCE_ALREADY_EXISTS",
        _ => null,
    };

    public static async Task WriteAsync(HttpContext http, RpcCode code, string message, string? reason, IReadOnlyList<Problem> problems)
    {
        if (http.Response.HasStarted)
        {
            return;
        }
        var details = new List<JsonObject>();
        if (reason is not null)
        {
            details.Add(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", ["reason"] = reason, ["domain"] = Domain,
            });
        }
        if (problems.Count > 0)
        {
            details.Add(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.BadRequest",
                ["fieldViolations"] = new JsonArray([.. problems.Take(50).Select(p => (JsonNode)new JsonObject
                {
                    ["field"] = p.Path, ["description"] = p.Line is { } l ? $"{p.Message} (line {l})" : p.Message,
                })]),
            });
        }
        http.Response.Clear();
        http.Response.StatusCode = code.Http;
        http.Response.ContentType = "application/json; charset=UTF-8";
        var body = new ErrorEnvelope(new ErrorBody { Code = code.Http, Message = message, Status = code.Name, Details = details });
        await http.Response.WriteAsync(VertexJson.Write(body, intEnums: false));
    }
}
