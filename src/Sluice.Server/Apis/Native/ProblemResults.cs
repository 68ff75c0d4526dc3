using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Api;
using Sluice.Core.Storage;

namespace Sluice.Server.Apis.Native;

/// <summary>Turns core errors into RFC 7807 problem details for the native API.</summary>
internal static class ProblemResults
{
    public static int Status(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.AlreadyExists => StatusCodes.Status409Conflict,
        ErrorKind.FailedPrecondition => StatusCodes.Status409Conflict,
        ErrorKind.ResourceExhausted => StatusCodes.Status413PayloadTooLarge,
        ErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static async Task WriteAsync(HttpContext http, int status, string title, string detail, IReadOnlyList<Problem>? problems = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        if (http.Response.HasStarted)
        {
            return;
        }
        http.Response.Clear();
        foreach (var (k, v) in headers ?? new Dictionary<string, string>())
        {
            http.Response.Headers[k] = v;
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/problem+json";
        var o = new JsonObject
        {
            ["type"] = "about:blank",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
            ["instance"] = http.Request.Path.Value,
        };
        if (problems is { Count: > 0 })
        {
            o["problems"] = NativeJson.Problems(problems)["problems"]!.DeepClone();
        }
        await http.Response.WriteAsync(o.ToJsonString(NativeJson.Options));
    }

    /// <summary>Middleware for /api: core errors and bad requests become problems; nothing else leaks.</summary>
    public static async Task HandleAsync(HttpContext http, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (SluiceException e)
        {
            await WriteAsync(http, Status(e.Kind), e.Kind.ToString(), e.Message, e.Problems);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(http, e.StatusCode, "BadRequest", e.Message);
        }
        catch (ConcurrencyException)
        {
            await WriteAsync(http, StatusCodes.Status409Conflict, "Conflict", "the resource changed while the request ran; try again");
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e)
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Sluice.Api").LogError(e, "unhandled error");
            await WriteAsync(http, StatusCodes.Status500InternalServerError, "Internal", "an internal error occurred; see the server log");
        }
    }

    public static void DisableBodyLimitFor(HttpContext http, long limit)
    {
        var f = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (f is { IsReadOnly: false })
        {
            f.MaxRequestBodySize = limit;
        }
    }
}
