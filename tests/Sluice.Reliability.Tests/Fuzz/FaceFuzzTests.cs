using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Reliability.Tests.Fuzz;

/// <summary>Mutated requests against every face of one real server process: the native API, SageMaker (JSON 1.1, all 16
/// operations), SQS (JSON and query protocol) and Vertex (pipeline jobs and operations). Every answer comes within a
/// deadline, is never a 5xx, an error is in the face's own dialect, the server stays up, and a rejected request changes
/// nothing (the store's tables and the data directory are compared before and after).</summary>
public class FaceFuzzTests(FuzzServer fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<FuzzServer>
{
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(25);

    public static TheoryData<string> Faces => ["native", "sagemaker", "sqs-json", "sqs-query", "vertex"];

    [Theory]
    [MemberData(nameof(Faces))]
    public async Task Fuzz_MutatedRequests_NoServerErrorNoStateChange(string face)
    {
        var s = fixture.Server;
        var seed = await fixture.SeedAsync();
        var templates = FaceTemplates.For(face);
        var target = $"Fuzz_{face}";
        var before = await fixture.SnapshotAsync();
        var accepted = 0;
        var spent = new Dictionary<string, (int Count, TimeSpan Time)>(StringComparer.Ordinal);
        foreach (var i in FuzzSettings.Cases(quick: 160))
        {
            var random = FuzzSettings.RandomFor(target, i);
            var m = new Mutator(random);
            var t = templates[random.Next(templates.Count)];
            var clock = Stopwatch.StartNew();
            var req = t.Build(seed, m);
            var built = clock.Elapsed;
            var what = $"case {i} ({t.Name}): {req.Method} {CompilerFuzzTests.Cut(req.Path)} Content-Type={req.ContentType} {string.Join(' ', req.Headers.Select(h => $"{h.Key}={h.Value}"))}\nbody: {CompilerFuzzTests.Cut(req.Body ?? "")}\n{FuzzSettings.Replay(target, i)}";
            var (status, type, text) = await SendAsync(s, req, what);
            Assert.True(status < 500, $"{what}\nanswered {status}: {CompilerFuzzTests.Cut(text)}\nserver log tail:\n{Tail(s.Output)}");
            Assert.True(s.ExitCode is null, $"{what}\nthe server exited with {s.ExitCode}:\n{Tail(s.Output)}");
            // A NUL in the path is refused by Kestrel itself (an empty 400 and Connection: close) before any face runs.
            if (status >= 400 && !(status == 400 && text.Length == 0 && req.Path.Contains("%00", StringComparison.Ordinal)))
            {
                Dialects.AssertError(req.Face, status, type, text, what);
                var after = await fixture.SnapshotAsync();
                if (after != before)
                {
                    Assert.Fail($"{what}\nrejected with {status} ({CompilerFuzzTests.Cut(text)}) but the state changed:\n{Snapshot.Diff(before, after)}");
                }
            }
            else if (req.Method != HttpMethod.Get)
            {
                accepted++;
                // An accepted mutation may start runs, delete a seeded resource or receive messages: let the runs end,
                // put back what the templates need, and take the new state as the reference.
                var settle = Stopwatch.StartNew();
                seed = await fixture.SettleAsync();
                before = await fixture.SnapshotAsync();
                output.WriteLine($"accepted {status}, settled in {settle.ElapsedMilliseconds} ms: {what.Split('\n')[0]}");
            }
            else
            {
                accepted++;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(2))
            {
                output.WriteLine($"slow case ({clock.ElapsedMilliseconds} ms, {built.TotalMilliseconds:F0} ms of them to build it; answered {status}): {what}");
            }
            var (n, time) = spent.GetValueOrDefault(t.Name);
            spent[t.Name] = (n + 1, time + clock.Elapsed);
        }
        foreach (var (name, (n, time)) in spent.OrderByDescending(kv => kv.Value.Time))
        {
            output.WriteLine($"{name}: {n} cases, {time.TotalMilliseconds:F0} ms");
        }
        Assert.True(accepted < FuzzSettings.Count(160), $"every mutated {face} request was accepted: the mutations are too weak");
    }

    // ---- regressions: what the fuzzer found, one request each ----

    [Theory]
    [InlineData("GET", "/v1/projects/p/locations/local/")]
    [InlineData("POST", "/v1/projects/p/locations/local/")]
    [InlineData("GET", "/ui/projects/p/locations/local/")]
    public async Task Vertex_PathEndingAtTheLocation_NotFoundInVertexDialect(string method, string path)
    {
        var req = new FuzzRequest("vertex", new HttpMethod(method), path, method == "POST" ? "{}" : null, "application/json", []);
        var (status, type, text) = await SendAsync(fixture.Server, req, path);
        Assert.Equal(404, status);
        Dialects.AssertError("vertex", status, type, text, path);
    }

    [Theory]
    [InlineData("application/x-amz-json-1.1", "sagemaker")]
    [InlineData("application/x-amz-json-1.0", "sqs-json")]
    public async Task Aws_EmptyTarget_UnknownOperationInJson(string contentType, string face)
    {
        var req = new FuzzRequest(face, HttpMethod.Post, "/", "{\"PipelineName\": \"x\"}", contentType, new() { ["X-Amz-Target"] = "" });
        var (status, type, text) = await SendAsync(fixture.Server, req, "empty X-Amz-Target");
        Dialects.AssertError(face == "sqs-json" ? "sagemaker" : face, status, type, text, "empty X-Amz-Target");
        Assert.Contains("UnknownOperationException", text, StringComparison.Ordinal);
    }

    private static async Task<(int Status, string? Type, string Text)> SendAsync(ServerProcess s, FuzzRequest req, string what)
    {
        using var m = new HttpRequestMessage(req.Method, req.Path);
        if (req.Body is not null)
        {
            m.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(req.Body));
            if (req.ContentType is not null)
            {
                m.Content.Headers.TryAddWithoutValidation("Content-Type", HeaderValue(req.ContentType));
            }
            if (req.Body.Length > 1024 * 1024)
            {
                m.Headers.ExpectContinue = true;
            }
        }
        foreach (var (k, v) in req.Headers)
        {
            m.Headers.TryAddWithoutValidation(k, HeaderValue(v));
        }
        using var cts = new CancellationTokenSource(PerRequest);
        var clock = Stopwatch.StartNew();
        try
        {
            using var r = await s.Http.SendAsync(m, HttpCompletionOption.ResponseContentRead, cts.Token);
            return ((int)r.StatusCode, r.Content.Headers.ContentType?.MediaType, await r.Content.ReadAsStringAsync(cts.Token));
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new Xunit.Sdk.XunitException($"{what}\nno answer within {PerRequest.TotalSeconds} s (a hang)\n{Tail(s.Output)}");
        }
        catch (HttpRequestException e)
        {
            throw new Xunit.Sdk.XunitException($"{what}\nthe connection failed after {clock.Elapsed}: {e.Message}\n{Tail(s.Output)}");
        }
    }

    /// <summary>What can travel in a header: HttpClient refuses non-ASCII, and CR or LF would inject another header (which
    /// Kestrel refuses as a malformed request before any face sees it), so those are percent-escaped.</summary>
    private static string HeaderValue(string v) =>
        string.Concat(v.Select(c => c is >= ' ' and <= '~' ? c.ToString() : Uri.EscapeDataString(c.ToString())));

    internal static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;
}

/// <summary>One request a template built (and mutated).</summary>
public sealed record FuzzRequest(string Face, HttpMethod Method, string Path, string? Body, string? ContentType, Dictionary<string, string> Headers);

/// <summary>What an error looks like in each face's dialect.</summary>
internal static class Dialects
{
    public static void AssertError(string face, int status, string? type, string text, string what)
    {
        var show = $"{what}\nanswered {status} {type}: {CompilerFuzzTests.Cut(text)}";
        Assert.False(text.Contains("   at ", StringComparison.Ordinal) && text.Contains("Exception", StringComparison.Ordinal), $"a stack trace leaks: {show}");
        switch (face)
        {
            case "native":
            {
                Assert.True(type == "application/problem+json", $"not a problem: {show}");
                var o = Parse(text, show);
                Assert.True(o["status"]?.GetValueKind() == JsonValueKind.Number && o["status"]!.GetValue<int>() == status, $"problem status: {show}");
                Assert.False(string.IsNullOrWhiteSpace(o["detail"]?.GetValue<string>()), $"problem without detail: {show}");
                break;
            }
            case "sagemaker" or "sqs-json":
            {
                Assert.True(status == 400, $"AWS JSON errors are 400: {show}");
                Assert.True(type is "application/x-amz-json-1.1" or "application/x-amz-json-1.0", $"content type: {show}");
                var o = Parse(text, show);
                var t = o["__type"]?.GetValue<string>();
                Assert.False(string.IsNullOrWhiteSpace(t), $"no __type: {show}");
                Assert.False(string.IsNullOrWhiteSpace(o["message"]?.GetValue<string>()), $"no message: {show}");
                if (face == "sqs-json")
                {
                    Assert.True(t!.StartsWith("com.amazonaws.sqs#", StringComparison.Ordinal) || t is "UnknownOperationException", $"SQS __type: {show}");
                }
                break;
            }
            case "sqs-query":
                Assert.True(status is 400 or 403, $"SQS query errors are 400 (403 unauthenticated): {show}");
                Assert.True(type == "text/xml", $"content type: {show}");
                Assert.Contains("<ErrorResponse", text, StringComparison.Ordinal);
                Assert.Contains("<Code>", text, StringComparison.Ordinal);
                break;
            case "vertex":
            {
                var o = Parse(text, show);
                var e = o["error"] as JsonObject;
                Assert.True(e is not null, $"no error object: {show}");
                Assert.True(e!["code"]?.GetValueKind() == JsonValueKind.Number && e["code"]!.GetValue<int>() == status, $"error.code: {show}");
                Assert.False(string.IsNullOrWhiteSpace(e["message"]?.GetValue<string>()), $"error.message: {show}");
                Assert.False(string.IsNullOrWhiteSpace(e["status"]?.GetValue<string>()), $"error.status: {show}");
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(face), face, null);
        }
    }

    private static JsonObject Parse(string text, string show)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new Xunit.Sdk.XunitException($"not a JSON object: {show}");
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"not JSON: {show}");
        }
    }
}
