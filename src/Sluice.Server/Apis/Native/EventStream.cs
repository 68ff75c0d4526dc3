using System.Text.Json;
using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.Native;

/// <summary>GET /api/v1/events: a Server-Sent Events stream of committed state changes, replayed from a sequence number and then live.</summary>
internal static class EventStream
{
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(15);

    public static async Task StreamAsync(HttpContext http, NativeCaller caller, EventHub hub, IRunStore store, RunService runs, TimeProvider time,
        IHostApplicationLifetime lifetime)
    {
        // A stream never ends by itself: end it when the server stops, or shutting down waits for every open console.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        var runId = NativeApi.Query(http.Request, "run");
        var after = NativeApi.Query(http.Request, "after") is { } a ? NativeApi.ParseLong(a, "after")
            : http.Request.Headers["Last-Event-ID"].FirstOrDefault() is { Length: > 0 } last ? NativeApi.ParseLong(last, "Last-Event-ID")
            : -1;
        if (runId is not null)
        {
            await runs.FindAsync(runId, caller.Sees, ct);
        }
        // A caller bound to a tenant sees the events of its tenant's runs only; which tenant a run is in never changes.
        var visible = new Dictionary<string, bool>(StringComparer.Ordinal);
        async ValueTask<bool> VisibleAsync(RunEvent e)
        {
            if (caller.Sees is not { } sees || runId is not null)
            {
                return true;
            }
            if (!visible.TryGetValue(e.RunId, out var v))
            {
                v = await store.GetRunAsync(e.RunId, ct) is { } run && sees.Covers(run.Scope);
                if (visible.Count > 100_000)
                {
                    visible.Clear();
                }
                visible[e.RunId] = v;
            }
            return v;
        }
        // Subscribe before replaying so that nothing committed in between is missed; duplicates are dropped by sequence.
        using var sub = hub.Subscribe(runId);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        await http.Response.WriteAsync(": sluice events\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        var seen = after;
        if (after >= 0)
        {
            while (true)
            {
                var batch = await store.GetEventsAsync(runId, seen, 1000, ct);
                foreach (var e in batch)
                {
                    if (await VisibleAsync(e))
                    {
                        await WriteAsync(http, e, ct);
                    }
                    seen = e.Seq;
                }
                if (batch.Count < 1000)
                {
                    break;
                }
            }
            await http.Response.Body.FlushAsync(ct);
        }
        var replayed = seen;
        try
        {
            Task<bool>? wait = null;
            while (!ct.IsCancellationRequested)
            {
                // One wait for events at a time, kept across keep-alives; the keep-alive's timer ends with each wait (a
                // timer left for every batch of events would pile up for 15 s on a busy stream).
                wait ??= sub.Reader.WaitToReadAsync(ct).AsTask();
                bool more;
                try
                {
                    more = await wait.WaitAsync(KeepAliveEvery, time, ct);
                }
                catch (TimeoutException)
                {
                    // A quiet stream still says something now and then, so that proxies and clients keep it open.
                    await http.Response.WriteAsync(": keep-alive\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    continue;
                }
                wait = null;
                if (!more)
                {
                    break;
                }
                while (sub.Reader.TryRead(out var e))
                {
                    // Only what the replay already sent is skipped. Runs commit one after another but publish on their own
                    // threads, so live events may come a little out of sequence order: each is sent once all the same.
                    if (e.Seq > replayed)
                    {
                        if (await VisibleAsync(e))
                        {
                            await WriteAsync(http, e, ct);
                        }
                    }
                }
                await http.Response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static async Task WriteAsync(HttpContext http, RunEvent e, CancellationToken ct)
    {
        var json = NativeJson.Event(e).ToJsonString(NativeJson.Options);
        await http.Response.WriteAsync($"id: {e.Seq}\nevent: {e.Kind}\ndata: {json}\n\n", ct);
    }
}
