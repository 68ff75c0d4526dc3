using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Execution;

namespace Sluice.Server.Transports;

/// <summary>Delivers callback messages as a JSON POST to a URL, retried with exponential backoff until a 2xx answer.</summary>
public sealed class WebhookTransport(HttpClient http, TimeProvider time, WebhookOptions? options = null, UrlAllowlist? allowedUrls = null) : ICallbackTransport
{
    private readonly WebhookOptions options = options ?? new WebhookOptions();

    public string Kind => "webhook";

    public async Task PublishAsync(Scope scope, string address, JsonObject body, CancellationToken ct)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"webhook address must be an http(s) URL: {address}");
        }
        var allowed = allowedUrls ?? UrlAllowlist.LoopbackOnly;
        if (!allowed.Allows(address))
        {
            throw new ArgumentException(allowed.Refusal(address));
        }
        var delay = options.FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(options.RequestTimeout);
                using var response = await http.PostAsJsonAsync(url, body, cts.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                failure = $"HTTP {(int)response.StatusCode}";
                if ((int)response.StatusCode is >= 400 and < 500 and not 408 and not 429)
                {
                    throw new HttpRequestException($"the webhook refused the message: {failure}");
                }
            }
            catch (HttpRequestException e) when (e.Message.StartsWith("the webhook refused", StringComparison.Ordinal))
            {
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                failure = e.Message;
            }
            if (attempt >= options.Attempts)
            {
                throw new HttpRequestException($"the webhook did not accept the message after {attempt} attempts: {failure}");
            }
            await Task.Delay(delay, time, ct);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxDelay.Ticks));
        }
    }
}

/// <summary>Retry settings of the webhook transport.</summary>
public sealed record WebhookOptions
{
    public int Attempts { get; init; } = 8;
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(250);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
