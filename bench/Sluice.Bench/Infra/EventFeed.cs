using System.Diagnostics;
using System.Text.Json;

namespace Sluice.Bench.Infra;

/// <summary>One committed event as the server streamed it, with the moment it reached the benchmark.</summary>
internal sealed record Ev(long Seq, string RunId, string? Step, string Kind, string? To, long ReceivedTicks)
{
    public bool IsRunTerminal => Step is null && Kind == "run-state" && To is "Succeeded" or "Failed" or "Stopped";

    public bool IsTransition => Kind is "run-state" or "step-state";
}

/// <summary>The server's live event stream (GET /api/v1/events), read once for a whole suite: waiters ask for a run's
/// event by predicate and get it even if it arrived before they asked.</summary>
internal sealed class EventFeed : IAsyncDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<Ev>> byRun = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(Func<Ev, bool> Match, TaskCompletionSource<Ev> Done)>> waiters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource cts = new();
    private readonly HttpClient http;
    private Task loop = Task.CompletedTask;
    private Exception? ended;
    private long transitions;
    private long terminalRuns;

    private EventFeed(Uri server)
    {
        http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
    }

    private long received;
    private long minSeq = long.MaxValue;
    private long maxSeq;

    /// <summary>Events the server committed (by sequence number) while the stream was open that never arrived: the server
    /// drops the oldest events of a subscriber that falls too far behind.</summary>
    public long Missed
    {
        get
        {
            lock (gate)
            {
                return received == 0 ? 0 : maxSeq - minSeq + 1 - received;
            }
        }
    }

    /// <summary>Run-state and step-state events seen so far.</summary>
    public long Transitions => Interlocked.Read(ref transitions);

    /// <summary>Runs seen reaching a terminal state so far.</summary>
    public long TerminalRuns => Interlocked.Read(ref terminalRuns);

    /// <summary>When false, events are counted but not kept (long throughput runs).</summary>
    public bool Keep { get; set; } = true;

    public static async Task<EventFeed> OpenAsync(Uri server)
    {
        var feed = new EventFeed(server);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        feed.loop = Task.Run(() => feed.ReadAsync(ready));
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return feed;
    }

    private async Task ReadAsync(TaskCompletionSource ready)
    {
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "api/v1/events");
            using var r = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            r.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync(cts.Token));
            ready.TrySetResult();
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }
                var now = Stopwatch.GetTimestamp();
                using var doc = JsonDocument.Parse(line.AsMemory(6));
                var o = doc.RootElement;
                var e = new Ev(o.GetProperty("seq").GetInt64(), o.GetProperty("runId").GetString()!, Str(o, "step"), o.GetProperty("kind").GetString()!,
                    Str(o, "to"), now);
                Deliver(e);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            ready.TrySetException(e);
            End(e);
            return;
        }
        End(new InvalidOperationException("the server closed the event stream"));
    }

    private void End(Exception e)
    {
        lock (gate)
        {
            ended ??= e;
            foreach (var w in waiters.Values.SelectMany(l => l))
            {
                w.Done.TrySetException(new InvalidOperationException("the event stream ended: " + e.Message, e));
            }
            waiters.Clear();
        }
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private void Deliver(Ev e)
    {
        if (e.IsTransition)
        {
            Interlocked.Increment(ref transitions);
        }
        if (e.IsRunTerminal)
        {
            Interlocked.Increment(ref terminalRuns);
        }
        List<TaskCompletionSource<Ev>>? fire = null;
        lock (gate)
        {
            received++;
            minSeq = Math.Min(minSeq, e.Seq);
            maxSeq = Math.Max(maxSeq, e.Seq);
            if (Keep)
            {
                if (!byRun.TryGetValue(e.RunId, out var list))
                {
                    byRun[e.RunId] = list = [];
                }
                list.Add(e);
            }
            if (waiters.TryGetValue(e.RunId, out var ws))
            {
                for (var i = ws.Count - 1; i >= 0; i--)
                {
                    if (ws[i].Match(e))
                    {
                        (fire ??= []).Add(ws[i].Done);
                        ws.RemoveAt(i);
                    }
                }
                if (ws.Count == 0)
                {
                    waiters.Remove(e.RunId);
                }
            }
        }
        foreach (var f in fire ?? [])
        {
            f.TrySetResult(e);
        }
    }

    /// <summary>The first event of the run that matches, whether it came already or comes later.</summary>
    public Task<Ev> WaitAsync(string runId, Func<Ev, bool> match, TimeSpan timeout)
    {
        var tcs = new TaskCompletionSource<Ev>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (byRun.TryGetValue(runId, out var seen) && seen.FirstOrDefault(match) is { } hit)
            {
                return Task.FromResult(hit);
            }
            if (ended is not null && !cts.IsCancellationRequested)
            {
                return Task.FromException<Ev>(new InvalidOperationException("the event stream ended: " + ended.Message, ended));
            }
            if (!waiters.TryGetValue(runId, out var ws))
            {
                waiters[runId] = ws = [];
            }
            ws.Add((match, tcs));
        }
        return tcs.Task.WaitAsync(timeout);
    }

    public Task<Ev> WaitTerminalAsync(string runId, TimeSpan timeout) => WaitAsync(runId, e => e.IsRunTerminal, timeout);

    /// <summary>The events of a run seen so far.</summary>
    public List<Ev> Of(string runId)
    {
        lock (gate)
        {
            return byRun.TryGetValue(runId, out var l) ? [.. l] : [];
        }
    }

    /// <summary>Drops what was kept for a run.</summary>
    public void Forget(string runId)
    {
        lock (gate)
        {
            byRun.Remove(runId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await cts.CancelAsync();
        try
        {
            await loop;
        }
        catch (Exception)
        {
        }
        http.Dispose();
        cts.Dispose();
    }
}
