using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sluice.Client;

/// <summary>Typed client for the native API (/api/v1).</summary>
public sealed class SluiceClient(HttpClient http)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public SluiceClient(Uri server)
        : this(new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(100) })
    {
    }

    public HttpClient Http => http;

    // ---- pipelines ----

    /// <summary>Creates a pipeline from a YAML or JSON definition; <paramref name="format"/> ("yaml" or "json") is
    /// guessed from the text when not given (JSON when it starts with '{').</summary>
    public Task<PipelineInfo> CreatePipelineAsync(string definition, string? format = null, CancellationToken ct = default) =>
        SendAsync<PipelineInfo>(HttpMethod.Post, "api/v1/pipelines", Definition(definition, format), ct);

    /// <summary>Adds a version to a pipeline (the definition carries the same name).</summary>
    public Task<PipelineInfo> AddVersionAsync(string name, string definition, string? format = null, CancellationToken ct = default) =>
        SendAsync<PipelineInfo>(HttpMethod.Post, $"api/v1/pipelines/{Uri.EscapeDataString(name)}/versions", Definition(definition, format), ct);

    public Task<ValidationResult> ValidateAsync(string definition, string? format = null, CancellationToken ct = default) =>
        SendAsync<ValidationResult>(HttpMethod.Post, "api/v1/pipelines:validate", Definition(definition, format), ct);

    public Task<PipelineInfo> GetPipelineAsync(string name, int? version = null, CancellationToken ct = default) =>
        SendAsync<PipelineInfo>(HttpMethod.Get, $"api/v1/pipelines/{Uri.EscapeDataString(name)}{(version is { } v ? $"?version={v}" : "")}", null, ct);

    public Task<PipelinePage> ListPipelinesAsync(int pageSize = 50, string? pageToken = null, CancellationToken ct = default) =>
        SendAsync<PipelinePage>(HttpMethod.Get, $"api/v1/pipelines?pageSize={pageSize}{Token(pageToken)}", null, ct);

    public Task DeletePipelineAsync(string name, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Delete, $"api/v1/pipelines/{Uri.EscapeDataString(name)}", null, ct);

    // ---- runs ----

    public Task<RunInfo> StartRunAsync(StartRun request, CancellationToken ct = default) =>
        SendAsync<RunInfo>(HttpMethod.Post, "api/v1/runs", JsonContent.Create(request, options: Json), ct);

    public Task<RunInfo> GetRunAsync(string id, CancellationToken ct = default) =>
        SendAsync<RunInfo>(HttpMethod.Get, $"api/v1/runs/{Uri.EscapeDataString(id)}", null, ct);

    public Task<RunPage> ListRunsAsync(RunListQuery query, CancellationToken ct = default)
    {
        var q = new StringBuilder($"api/v1/runs?pageSize={query.PageSize}");
        if (query.Pipeline is not null)
        {
            q.Append("&pipeline=").Append(Uri.EscapeDataString(query.Pipeline));
        }
        if (query.States is { Count: > 0 })
        {
            q.Append("&state=").Append(Uri.EscapeDataString(string.Join(',', query.States)));
        }
        foreach (var (k, v) in query.Labels ?? new Dictionary<string, string>())
        {
            q.Append("&label=").Append(Uri.EscapeDataString($"{k}={v}"));
        }
        q.Append(Token(query.PageToken));
        return SendAsync<RunPage>(HttpMethod.Get, q.ToString(), null, ct);
    }

    public Task<RunInfo> StopRunAsync(string id, StopRun? request = null, CancellationToken ct = default) =>
        SendAsync<RunInfo>(HttpMethod.Post, $"api/v1/runs/{Uri.EscapeDataString(id)}:stop", JsonContent.Create(request ?? new StopRun(), options: Json), ct);

    public Task<OperationInfo> BatchStopAsync(BatchStop request, CancellationToken ct = default) =>
        SendAsync<OperationInfo>(HttpMethod.Post, "api/v1/runs:stop", JsonContent.Create(request, options: Json), ct);

    public Task DeleteRunAsync(string id, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Delete, $"api/v1/runs/{Uri.EscapeDataString(id)}", null, ct);

    public Task<EventList> GetRunEventsAsync(string id, long after = 0, CancellationToken ct = default) =>
        SendAsync<EventList>(HttpMethod.Get, $"api/v1/runs/{Uri.EscapeDataString(id)}/events?after={after}", null, ct);

    /// <summary>A step's log; with <paramref name="follow"/>, the stream stays open until the attempt ends.</summary>
    public async Task<Stream> GetLogsAsync(string id, string step, string stream = "stdout", int? attempt = null, bool follow = false,
        CancellationToken ct = default)
    {
        var path = $"api/v1/runs/{Uri.EscapeDataString(id)}/steps/{Uri.EscapeDataString(step)}/logs?stream={stream}&follow={(follow ? "true" : "false")}"
            + (attempt is { } a ? $"&attempt={a}" : "");
        var r = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, ct);
        await ThrowIfFailedAsync(r, ct);
        return await r.Content.ReadAsStreamAsync(ct);
    }

    // ---- operations ----

    public Task<OperationInfo> GetOperationAsync(string id, CancellationToken ct = default) =>
        SendAsync<OperationInfo>(HttpMethod.Get, $"api/v1/operations/{Uri.EscapeDataString(id)}", null, ct);

    public Task<OperationPage> ListOperationsAsync(int pageSize = 50, string? pageToken = null, CancellationToken ct = default) =>
        SendAsync<OperationPage>(HttpMethod.Get, $"api/v1/operations?pageSize={pageSize}{Token(pageToken)}", null, ct);

    // ---- callbacks ----

    /// <summary>Answers a callback token with success and string outputs (converted to the step's declared types).</summary>
    public Task<CallbackAnswer> SucceedCallbackAsync(string token, IReadOnlyDictionary<string, string>? outputs = null, string? idempotencyToken = null,
        CancellationToken ct = default) =>
        SendAsync<CallbackAnswer>(HttpMethod.Post, $"api/v1/callbacks/{Uri.EscapeDataString(token)}:succeed",
            JsonContent.Create(new { outputs, idempotencyToken }, options: Json), ct);

    /// <summary>Answers a callback token with failure: the step fails with <paramref name="reason"/>.</summary>
    public Task<CallbackAnswer> FailCallbackAsync(string token, string? reason = null, string? idempotencyToken = null, CancellationToken ct = default) =>
        SendAsync<CallbackAnswer>(HttpMethod.Post, $"api/v1/callbacks/{Uri.EscapeDataString(token)}:fail",
            JsonContent.Create(new { reason, idempotencyToken }, options: Json), ct);

    // ---- functions ----

    /// <summary>Registers a function, or replaces the one of that name.</summary>
    public async Task<FunctionPutResult> PutFunctionAsync(string name, PutFunction request, CancellationToken ct = default)
    {
        using var req = new HttpRequestMessage(HttpMethod.Put, $"api/v1/functions/{Uri.EscapeDataString(name)}")
        {
            Content = JsonContent.Create(request, options: Json),
        };
        using var r = await http.SendAsync(req, ct);
        await ThrowIfFailedAsync(r, ct);
        var f = await r.Content.ReadFromJsonAsync<FunctionInfo>(Json, ct) ?? throw Empty();
        return new FunctionPutResult(f, r.StatusCode == HttpStatusCode.Created);
    }

    public Task<FunctionInfo> GetFunctionAsync(string name, CancellationToken ct = default) =>
        SendAsync<FunctionInfo>(HttpMethod.Get, $"api/v1/functions/{Uri.EscapeDataString(name)}", null, ct);

    public Task<FunctionPage> ListFunctionsAsync(int pageSize = 100, string? pageToken = null, CancellationToken ct = default) =>
        SendAsync<FunctionPage>(HttpMethod.Get, $"api/v1/functions?pageSize={pageSize}{Token(pageToken)}", null, ct);

    public Task DeleteFunctionAsync(string name, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Delete, $"api/v1/functions/{Uri.EscapeDataString(name)}", null, ct);

    // ---- queues ----

    /// <summary>Creates a queue with default attributes, or finds it.</summary>
    public Task<QueueInfo> CreateQueueAsync(string name, CancellationToken ct = default) =>
        SendAsync<QueueInfo>(HttpMethod.Put, $"api/v1/queues/{Uri.EscapeDataString(name)}", null, ct);

    public Task<QueueInfo> GetQueueAsync(string name, CancellationToken ct = default) =>
        SendAsync<QueueInfo>(HttpMethod.Get, $"api/v1/queues/{Uri.EscapeDataString(name)}", null, ct);

    public Task<QueuePage> ListQueuesAsync(int pageSize = 100, string? pageToken = null, CancellationToken ct = default) =>
        SendAsync<QueuePage>(HttpMethod.Get, $"api/v1/queues?pageSize={pageSize}{Token(pageToken)}", null, ct);

    public Task<SentMessageInfo> SendMessageAsync(string queue, string body, CancellationToken ct = default) =>
        SendAsync<SentMessageInfo>(HttpMethod.Post, $"api/v1/queues/{Uri.EscapeDataString(queue)}/messages",
            JsonContent.Create(new { body }, options: Json), ct);

    /// <summary>Receives messages (long polling when the request sets a wait); an empty list when none came.</summary>
    public async Task<IReadOnlyList<QueueMessageInfo>> ReceiveMessagesAsync(string queue, ReceiveMessages? request = null, CancellationToken ct = default)
    {
        var r = await SendAsync<ReceivedMessages>(HttpMethod.Post, $"api/v1/queues/{Uri.EscapeDataString(queue)}/messages:receive",
            JsonContent.Create(request ?? new ReceiveMessages(), options: Json), ct);
        return r.Messages;
    }

    /// <summary>Deletes a received message by its receipt handle; false when it was gone already or the handle is an old one.</summary>
    public async Task<bool> DeleteMessageAsync(string queue, string receiptHandle, CancellationToken ct = default)
    {
        var r = await SendAsync<DeletedMessage>(HttpMethod.Post, $"api/v1/queues/{Uri.EscapeDataString(queue)}/messages:delete",
            JsonContent.Create(new { receiptHandle }, options: Json), ct);
        return r.Deleted;
    }

    private sealed record ReceivedMessages(IReadOnlyList<QueueMessageInfo> Messages);

    private sealed record DeletedMessage(bool Deleted);

    // ---- events ----

    /// <summary>The server's event stream (replayed after <paramref name="after"/> when given, then live) until cancelled.</summary>
    public async IAsyncEnumerable<EventInfo> EventsAsync(string? runId = null, long? after = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var path = "api/v1/events?" + (runId is null ? "" : $"run={Uri.EscapeDataString(runId)}&") + (after is { } a ? $"after={a}" : "");
        using var req = new HttpRequestMessage(HttpMethod.Get, path);
        using var r = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
        await ThrowIfFailedAsync(r, ct);
        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonSerializer.Deserialize<EventInfo>(line.AsSpan(6), Json) is { } e)
            {
                yield return e;
            }
        }
    }

    // ---- plumbing ----

    private static StringContent Definition(string text, string? format) =>
        new(text, Encoding.UTF8, (format ?? (text.TrimStart().StartsWith('{') ? "json" : "yaml")) switch
        {
            "json" => "application/json",
            "yaml" => "application/yaml",
            var other => throw new ArgumentException($"unknown definition format '{other}' (use yaml or json)", nameof(format)),
        });

    private static SluiceApiException Empty() => new(0, "Empty", "the server sent an empty answer", []);

    private static string Token(string? pageToken) => pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path) { Content = body };
        using var r = await http.SendAsync(req, ct);
        await ThrowIfFailedAsync(r, ct);
        if (r.StatusCode == HttpStatusCode.NoContent || typeof(T) == typeof(object))
        {
            return default!;
        }
        return await r.Content.ReadFromJsonAsync<T>(Json, ct) ?? throw Empty();
    }

    private static async Task ThrowIfFailedAsync(HttpResponseMessage r, CancellationToken ct)
    {
        if (r.IsSuccessStatusCode)
        {
            return;
        }
        ProblemInfo? p = null;
        try
        {
            p = await r.Content.ReadFromJsonAsync<ProblemInfo>(Json, ct);
        }
        catch (JsonException)
        {
        }
        throw new SluiceApiException((int)r.StatusCode, p?.Title ?? r.StatusCode.ToString(), p?.Detail ?? r.ReasonPhrase ?? "", p?.Problems ?? []);
    }
}

/// <summary>An error answer of the server: its status, title (the error kind), message and problems.</summary>
public sealed class SluiceApiException(int status, string title, string detail, IReadOnlyList<ProblemItem> problems) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public IReadOnlyList<ProblemItem> Problems { get; } = problems;
}
