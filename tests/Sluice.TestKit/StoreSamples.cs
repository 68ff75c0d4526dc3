using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Xunit;

namespace Sluice.TestKit;

/// <summary>The stores of one backend over one database, and what closes them.</summary>
public sealed class StoreSet(IRunStore runs, IPipelineStore pipelines, IOperationStore operations, IAsyncDisposable owner)
    : IAsyncDisposable
{
    public IRunStore Runs { get; } = runs;
    public IPipelineStore Pipelines { get; } = pipelines;
    public IOperationStore Operations { get; } = operations;

    public ValueTask DisposeAsync() => owner.DisposeAsync();
}

/// <summary>Records for store tests, complete enough to be valid, with times at millisecond precision.</summary>
public static class StoreSamples
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);

    public static DateTimeOffset At(int seconds) => T0.AddSeconds(seconds);

    public static RunRecord Run(string id, Scope? scope = null, string pipeline = "train", RunState state = RunState.Queued,
        DateTimeOffset? createdAt = null, IReadOnlyDictionary<string, string>? labels = null, long version = 1) => new()
        {
            Id = id,
            Scope = scope ?? Scope.Default,
            PipelineId = "p-" + pipeline,
            PipelineName = pipeline,
            PipelineVersion = 1,
            State = state,
            Version = version,
            CreatedAt = createdAt ?? T0,
            UpdatedAt = createdAt ?? T0,
            Parameters = new JsonObject { ["epochs"] = 3 },
            Labels = labels ?? new Dictionary<string, string>(),
        };

    public static StepRecord Step(string runId, string name, StepState state = StepState.Pending, long version = 1) => new()
    {
        RunId = runId,
        Name = name,
        Kind = "process",
        State = state,
        Version = version,
    };

    public static RunEvent Event(string runId, string kind = "run-created", string? step = null, string? to = null,
        DateTimeOffset? at = null, string? message = null) => new()
        {
            RunId = runId,
            Kind = kind,
            Step = step,
            To = to,
            At = at ?? T0,
            Message = message,
        };

    public static IdempotencyRecord Idempotency(string scope, string token, string response = "{\"ok\":true}",
        DateTimeOffset? createdAt = null) => new()
        {
            Scope = scope,
            Token = token,
            RequestHash = "hash-" + token,
            Response = response,
            CreatedAt = createdAt ?? T0,
        };

    public static PipelineRecord Pipeline(string id, string name, Scope? scope = null, int latestVersion = 1) => new()
    {
        Id = id,
        Scope = scope ?? Scope.Default,
        Name = name,
        LatestVersion = latestVersion,
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    public static PipelineVersionRecord Version(string pipelineId, int version, string source = "steps: []") => new()
    {
        PipelineId = pipelineId,
        Version = version,
        Format = "native-yaml",
        Source = source,
        CreatedAt = T0.AddMinutes(version),
    };

    public static OperationRecord Operation(string id, Scope? scope = null, DateTimeOffset? createdAt = null, bool done = false,
        long version = 1) => new()
        {
            Id = id,
            Scope = scope ?? Scope.Default,
            Kind = "batch-stop",
            Version = version,
            CreatedAt = createdAt ?? T0,
            UpdatedAt = createdAt ?? T0,
            Done = done,
            Request = new JsonObject { ["runs"] = new JsonArray("a", "b") },
            Results = new JsonObject(),
        };
}

/// <summary>Compares stored records by value: JSON documents by content, times as UTC instants.</summary>
public static class StoreAssert
{
    private static readonly JsonSerializerOptions Options = new() { Converters = { new UtcInstantConverter() } };

    public static void Equivalent<T>(T expected, T actual) => Assert.Equal(Canonical(expected), Canonical(actual));

    public static void Equivalent<T>(IEnumerable<T> expected, IEnumerable<T> actual) =>
        Assert.Equal(expected.Select(e => Canonical(e)), actual.Select(a => Canonical(a)));

    /// <summary>JSON with object keys sorted (a database may reorder them) and every time in UTC.</summary>
    public static string Canonical<T>(T value) => Sort(JsonSerializer.SerializeToNode(value, Options))?.ToJsonString() ?? "null";

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sort).ToArray()),
        _ => node?.DeepClone(),
    };

    private sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
    }
}
