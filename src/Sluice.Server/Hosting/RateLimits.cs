using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Sluice.Server.Apis;
using Sluice.Server.Apis.Native;
using Sluice.Server.Apis.Vertex;
using Sluice.Server.Auth;

namespace Sluice.Server.Hosting;

/// <summary>Rate limits of the API faces (ASP.NET Core's rate limiter): a token bucket per caller (the credential a request
/// names, else its address), inside one bucket for the whole server, so that one caller cannot starve the others and many
/// made-up callers cannot starve the server. A request turned away is answered in its face's own throttling error.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests per second one caller may make (sustained); 0 turns rate limiting off.</summary>
    public int PerSecond { get; init; } = 1000;

    /// <summary>Requests one caller may make at once after a quiet time.</summary>
    public int Burst { get; init; } = 2000;

    /// <summary>Requests per second of every caller together.</summary>
    public int ServerPerSecond => PerSecond * 5;

    /// <summary>Reads <c>--rate-limit N</c> (per caller per second; 0: off) and <c>--rate-burst N</c> (default 2N).</summary>
    public static RateLimitOptions From(IConfiguration config)
    {
        var perSecond = config["rate-limit"] is { } r ? Parse(r, "--rate-limit", 0) : 1000;
        var burst = config["rate-burst"] is { } b ? Parse(b, "--rate-burst", 1) : Math.Max(1, perSecond * 2);
        return new RateLimitOptions { PerSecond = perSecond, Burst = burst };
    }

    private static int Parse(string s, string name, int min) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= 1_000_000
            ? n
            : throw new ArgumentException($"{name} must be a whole number between {min} and 1000000, not '{s}'");
}

internal static class RateLimits
{
    public static void AddSluiceRateLimits(this IServiceCollection services, RateLimitOptions options)
    {
        if (options.PerSecond == 0)
        {
            return;
        }
        services.AddRateLimiter(o =>
        {
            var perCaller = PartitionedRateLimiter.Create<HttpContext, string>(http => Caller(http) is { } key
                ? RateLimitPartition.GetTokenBucketLimiter(key, _ => Bucket(options.PerSecond, options.Burst))
                : RateLimitPartition.GetNoLimiter(""));
            var server = PartitionedRateLimiter.Create<HttpContext, string>(http => Caller(http) is not null
                ? RateLimitPartition.GetTokenBucketLimiter("server", _ => Bucket(options.ServerPerSecond, options.ServerPerSecond * 2))
                : RateLimitPartition.GetNoLimiter(""));
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(perCaller, server);
            o.OnRejected = (ctx, _) => new ValueTask(RejectAsync(ctx));
        });
    }

    private static TokenBucketRateLimiterOptions Bucket(int perSecond, int burst) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = perSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    /// <summary>The key a request is counted under, or null for what is not an API (the console's files, /healthz). The
    /// credential is not verified here (that costs more than counting): a made-up one only gets a bucket of its own.</summary>
    private static string? Caller(HttpContext http)
    {
        var req = http.Request;
        var path = req.Path;
        var api = path.StartsWithSegments("/api", StringComparison.Ordinal) || VertexApi.Owns(path) || AwsEndpoint.Matches(req);
        if (!api)
        {
            return null;
        }
        var auth = req.Headers.Authorization.ToString();
        if (auth.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal))
        {
            var i = auth.IndexOf("Credential=", StringComparison.Ordinal);
            var end = i < 0 ? -1 : auth.IndexOf('/', i);
            if (i >= 0 && end > i + 11 && end - i < 160)
            {
                return "aws:" + auth[(i + 11)..end];
            }
        }
        else if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return "bearer:" + Digest(auth[7..].Trim());
        }
        else if (req.Cookies.TryGetValue(NativeAuth.CookieName, out var cookie) && cookie is { Length: > 0 })
        {
            return "bearer:" + Digest(cookie);
        }
        return "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    // A digest, so that the limiter's keys never hold a secret.
    private static string Digest(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)), 0, 12);

    private static Task RejectAsync(OnRejectedContext ctx)
    {
        var http = ctx.HttpContext;
        if (AwsEndpoint.Matches(http.Request))
        {
            return AwsEndpoint.WriteThrottledAsync(http);
        }
        if (VertexApi.Owns(http.Request.Path))
        {
            return VertexErrors.WriteAsync(http, RpcCode.ResourceExhausted, "Quota exceeded: too many requests from this caller; retry after a second.",
                "RATE_LIMIT_EXCEEDED", []);
        }
        return ProblemResults.WriteAsync(http, StatusCodes.Status429TooManyRequests, "ResourceExhausted",
            "too many requests from this caller; retry after a second (Retry-After)", null,
            new Dictionary<string, string> { ["Retry-After"] = "1" });
    }
}
