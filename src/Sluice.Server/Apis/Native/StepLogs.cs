using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>GET /api/v1/runs/{id}/steps/{step}/logs: a step's stdout or stderr, optionally followed until the step ends.</summary>
internal static class StepLogs
{
    public static async Task StreamAsync(string id, string step, HttpContext http, NativeCaller caller, RunService runs, TimeProvider time,
        IHostApplicationLifetime lifetime)
    {
        // A followed log of a long step would otherwise hold up the server's shutdown.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        var q = http.Request;
        var attempt = NativeApi.Query(q, "attempt") is { } a ? NativeApi.ParseInt(a, "attempt", 1, 1000) : (int?)null;
        var stream = NativeApi.Query(q, "stream") ?? "stdout";
        var follow = NativeApi.Query(q, "follow") switch
        {
            null or "false" or "0" => false,
            "true" or "1" => true,
            _ => throw SluiceException.Invalid("follow must be true or false"),
        };
        var (s, path) = await runs.LogPathAsync(id, caller.Sees, step, attempt, stream, ct);
        http.Response.ContentType = "text/plain; charset=utf-8";
        long offset = 0;
        var buffer = new byte[64 * 1024];
        var last = !follow || s.State.IsTerminal();
        var fixedAttempt = attempt ?? s.Attempt;
        while (true)
        {
            if (File.Exists(path))
            {
                await using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                f.Seek(offset, SeekOrigin.Begin);
                int n;
                while ((n = await f.ReadAsync(buffer, ct)) > 0)
                {
                    await http.Response.Body.WriteAsync(buffer.AsMemory(0, n), ct);
                    offset += n;
                }
                await http.Response.Body.FlushAsync(ct);
            }
            if (last)
            {
                break;
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            // Once the attempt has ended, one more read drains what it wrote last.
            var (now, _) = await runs.LogPathAsync(id, caller.Sees, step, fixedAttempt, stream, ct);
            last = now.State.IsTerminal() || now.Attempt != fixedAttempt;
        }
    }
}
