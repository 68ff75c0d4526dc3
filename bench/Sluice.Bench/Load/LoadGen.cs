using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Bench.Infra;

namespace Sluice.Bench.Load;

/// <summary>What one load run measured.</summary>
internal sealed record LoadResult(int Sent, int Ok, int Errors, double Seconds, double P50, double P90, double P99, double Max,
    double LagP99, string? FirstError)
{
    public double Rate => Sent / Seconds;
}

/// <summary>One measured request: when it was due (ms on the monotonic clock), its latency and how late it was sent (ms).</summary>
internal readonly record struct Sample(double Due, double Latency, double Lag, bool Ok, string? Error);

/// <summary>The load process: sends requests at a fixed rate (open loop: a slow answer does not slow the sender) for a
/// while and prints what it measured as one JSON line. Run as `Sluice.Bench load ...` in its own process, so that the
/// process that drives the benchmark does not share its threads with the load.</summary>
internal static class LoadGen
{
    /// <summary>Arguments: get|awsjson --base URL --rate N --seconds S --requests FILE [--target T --region R] [--bearer B]
    /// [--warmup S, 3] [--trace OUT]. FILE holds one request per line: a path for get, a JSON body for awsjson. OUT, when given,
    /// gets one line per measured request: when it was due (ms on the monotonic clock, which other processes' Stopwatch
    /// timestamps share), how late it was sent, its latency (ms), ok.</summary>
    public static async Task<int> MainAsync(string[] args)
    {
        var mode = args[1];
        string Arg(string name, string? fallback = null)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"load: {name} is required");
        }
        var baseUri = new Uri(Arg("--base"));
        var rate = double.Parse(Arg("--rate"), CultureInfo.InvariantCulture);
        var seconds = double.Parse(Arg("--seconds"), CultureInfo.InvariantCulture);
        var warmup = double.Parse(Arg("--warmup", "3"), CultureInfo.InvariantCulture);
        var requests = File.ReadAllLines(Arg("--requests")).Where(l => l.Length > 0).ToArray();
        var target = Arg("--target", "");
        var signer = mode == "awsjson" ? new SigV4(Arg("--access-key", "AKIDEXAMPLE"), Arg("--secret-key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            Arg("--region", "us-east-1"), "sagemaker") : null;
        var bearer = Arg("--bearer", "");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 128, UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        HttpRequestMessage Build(int i)
        {
            var line = requests[i % requests.Length];
            if (signer is not null)
            {
                return signer.Sign(baseUri, target, line, TimeProvider.System.GetUtcNow());
            }
            var req = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, line));
            if (bearer.Length > 0)
            {
                req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bearer);
            }
            return req;
        }

        await RunAsync(http, Build, rate, warmup, record: null);
        var samples = new ConcurrentBag<Sample>();
        var took = await RunAsync(http, Build, rate, seconds, samples);
        var ok = samples.Where(s => s.Ok).ToList();
        var lat = new Stats(ok.Select(s => s.Latency));
        var lag = new Stats(samples.Select(s => s.Lag));
        var result = new LoadResult(samples.Count, ok.Count, samples.Count - ok.Count, took, lat.P50, lat.P90, lat.P99, lat.Max, lag.P99,
            samples.FirstOrDefault(s => !s.Ok).Error);
        var trace = Arg("--trace", "");
        if (trace.Length > 0)
        {
            await File.WriteAllLinesAsync(trace, samples.OrderBy(s => s.Due).Select(s => string.Create(CultureInfo.InvariantCulture,
                $"{s.Due:0.000} {s.Lag:0.000} {s.Latency:0.000} {(s.Ok ? 1 : 0)}")));
        }
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static async Task<double> RunAsync(HttpClient http, Func<int, HttpRequestMessage> build, double rate, double seconds,
        ConcurrentBag<Sample>? record)
    {
        var total = (int)(rate * seconds);
        var inFlight = new List<Task>(total);
        var tickHz = Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i / rate * tickHz);
            var now = Stopwatch.GetTimestamp();
            if (due - now > tickHz / 1000)
            {
                // Sleep to about the due time; what the timer overshoots shows up as lag, reported separately.
                await Task.Delay(TimeSpan.FromTicks((due - now) * TimeSpan.TicksPerSecond / tickHz), TimeProvider.System);
            }
            inFlight.Add(SendAsync(http, build(i), due, record));
        }
        await Task.WhenAll(inFlight);
        return (Stopwatch.GetTimestamp() - start) / (double)tickHz;
    }

    private static async Task SendAsync(HttpClient http, HttpRequestMessage req, long due,
        ConcurrentBag<Sample>? record)
    {
        var sent = Stopwatch.GetTimestamp();
        bool ok;
        string? error = null;
        try
        {
            using var r = await http.SendAsync(req);
            await r.Content.ReadAsByteArrayAsync();
            ok = r.IsSuccessStatusCode;
            if (!ok)
            {
                error = $"HTTP {(int)r.StatusCode}";
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            ok = false;
            error = e.Message;
        }
        finally
        {
            req.Dispose();
        }
        var done = Stopwatch.GetTimestamp();
        record?.Add(new Sample(due * 1000.0 / Stopwatch.Frequency, (done - sent) * 1000.0 / Stopwatch.Frequency, (sent - due) * 1000.0 / Stopwatch.Frequency,
            ok, error));
    }

    /// <summary>Starts the load in a separate process (this same program) and returns what it measured.</summary>
    public static async Task<LoadResult> RunInProcessAsync(string workDir, string mode, Uri baseUri, double rate, double seconds,
        IEnumerable<string> requests, params string[] extra)
    {
        var file = Path.Combine(workDir, $"load-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(file, requests);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "Sluice.Bench.dll"), "load", mode, "--base", baseUri.ToString(),
            "--rate", rate.ToString(CultureInfo.InvariantCulture), "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--requests", file, .. extra])
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var text = (await stdout).Trim().Split('\n')[^1];
        if (p.ExitCode != 0 || !text.StartsWith('{'))
        {
            throw new InvalidOperationException($"the load process failed ({p.ExitCode}): {await stderr}");
        }
        return JsonSerializer.Deserialize<LoadResult>(text)!;
    }

    public static JsonObject ToJson(LoadResult r) => JsonSerializer.SerializeToNode(r)!.AsObject();
}
