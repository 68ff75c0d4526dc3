using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;

namespace Sluice.Executors.Function;

/// <summary>One call of a URL function: the arguments as a JSON POST body, a JSON object back, all within the time limit.
/// A stop does not cancel the request; the time limit does.</summary>
internal sealed class UrlCall : IStepExecution
{
    private const int MaxExcerpt = 200;

    private readonly CancellationTokenSource abort = new();

    private UrlCall(HttpClient http, Uri url, string function, JsonObject arguments, TimeSpan limit, IReadOnlyList<OutputSpec> outputs,
        TimeProvider time) =>
        Completion = CallAsync(http, url, function, arguments, limit, outputs, time);

    public ProcessHandle? Process => null;

    public Task<StepOutcome> Completion { get; }

    public static IStepExecution Start(HttpClient http, string url, string function, JsonObject arguments, TimeSpan limit,
        IReadOnlyList<OutputSpec> outputs, TimeProvider time) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? new UrlCall(http, u, function, arguments, limit, outputs, time)
            : new EndedCall(StepOutcome.Failure($"function {function} has no valid http(s) URL"));

    /// <summary>A function step cannot be interrupted: a stop waits for the answer or the time limit.</summary>
    public void RequestStop(TimeSpan grace)
    {
    }

    /// <summary>Nobody can take the answer any more (the run's writer is gone): the request is abandoned.</summary>
    public async ValueTask DisposeAsync() =>
        // Not disposed: the call may still be linking to its token; a source without a timer holds nothing to free.
        await abort.CancelAsync().ConfigureAwait(false);

    private async Task<StepOutcome> CallAsync(HttpClient http, Uri url, string function, JsonObject arguments, TimeSpan limit,
        IReadOnlyList<OutputSpec> outputs, TimeProvider time)
    {
        // Not on the caller's thread: the engine must not wait for the connection.
        await Task.Yield();
        using var deadline = new CancellationTokenSource(limit, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, abort.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(arguments.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var (body, tooLarge) = await ReadCappedAsync(response.Content, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var excerpt = FunctionResult.Clip(body.Length > MaxExcerpt ? body[..MaxExcerpt] + "..." : body);
                return StepOutcome.Failure(
                    $"function {function} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(excerpt.Length > 0 ? ": " + excerpt : "")}");
            }
            return tooLarge
                ? StepOutcome.Failure($"function {function} answered more than 1 MiB")
                : FunctionResult.Outcome(function, body, outputs);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return FunctionResult.TimedOut(function, limit);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            return StepOutcome.Failure($"function {function} was interrupted: the server stopped waiting for its answer");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return StepOutcome.Failure($"function {function} could not be called at {url}: {FunctionResult.Clip(e.Message)}");
        }
    }

    /// <summary>The body as text, reading at most 1 MiB (and one byte more, to know that there was more).</summary>
    private static async Task<(string Text, bool TooLarge)> ReadCappedAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[FunctionResult.MaxBytes + 1];
        var n = 0;
        int read;
        while (n < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(n), ct).ConfigureAwait(false)) > 0)
        {
            n += read;
        }
        var tooLarge = n > FunctionResult.MaxBytes;
        return (Encoding.UTF8.GetString(buffer, 0, Math.Min(n, FunctionResult.MaxBytes)), tooLarge);
    }
}
