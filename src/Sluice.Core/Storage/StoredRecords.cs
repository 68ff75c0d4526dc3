using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sluice.Core.Domain;

namespace Sluice.Core.Storage;

/// <summary>The columns of one stored row, read in the order they were selected. Each store reads its own column types
/// (SQLite integers, PostgreSQL typed columns); what a record is made of is decided once, in <see cref="StoredRecords"/>.</summary>
public interface IStoredRow
{
    string Text();

    string? TextOrNull();

    long Int64();

    long? Int64OrNull();

    int Int32();

    int? Int32OrNull();

    DateTimeOffset Time();

    DateTimeOffset? TimeOrNull();

    JsonObject Json();

    JsonObject? JsonOrNull();

    T Enum<T>() where T : struct, Enum;
}

/// <summary>Records from their stored rows, the same for every store; the columns come in the order of the stores'
/// column lists (runs, steps, events, idempotency).</summary>
public static class StoredRecords
{
    public static RunRecord Run<TRow>(ref TRow row) where TRow : IStoredRow, allows ref struct => new()
    {
        Id = row.Text(),
        Scope = new Scope(row.Text(), row.Text()),
        PipelineId = row.Text(),
        PipelineName = row.Text(),
        PipelineVersion = row.Int32(),
        State = row.Enum<RunState>(),
        Version = row.Int64(),
        CreatedAt = row.Time(),
        StartedAt = row.TimeOrNull(),
        EndedAt = row.TimeOrNull(),
        UpdatedAt = row.Time(),
        Parameters = row.Json(),
        Labels = StoredValues.ParseLabels(row.Text()),
        DisplayName = row.TextOrNull(),
        Error = row.TextOrNull(),
        Stop = StoredValues.ParseStop(row.TextOrNull()),
        Face = row.Text(),
        FaceData = row.JsonOrNull(),
        Description = row.TextOrNull(),
        MaxParallelSteps = row.Int32OrNull(),
    };

    public static StepRecord Step<TRow>(ref TRow row) where TRow : IStoredRow, allows ref struct => new()
    {
        RunId = row.Text(),
        Name = row.Text(),
        Kind = row.Text(),
        State = row.Enum<StepState>(),
        Version = row.Int64(),
        Attempt = row.Int32(),
        StartedAt = row.TimeOrNull(),
        EndedAt = row.TimeOrNull(),
        NotBefore = row.TimeOrNull(),
        Reason = row.TextOrNull(),
        ExitCode = row.Int32OrNull(),
        Inputs = row.JsonOrNull(),
        Outputs = row.JsonOrNull(),
        Process = (row.Int32OrNull(), row.Int64OrNull()) is ({ } pid, { } startTime) ? new ProcessHandle(pid, startTime) : null,
        ExecutorData = row.JsonOrNull(),
    };

    public static RunEvent Event<TRow>(ref TRow row) where TRow : IStoredRow, allows ref struct => new()
    {
        Seq = row.Int64(),
        RunId = row.Text(),
        Step = row.TextOrNull(),
        Kind = row.Text(),
        From = row.TextOrNull(),
        To = row.TextOrNull(),
        At = row.Time(),
        Message = row.TextOrNull(),
        Caller = row.TextOrNull(),
        Data = row.JsonOrNull(),
    };

    public static IdempotencyRecord Idempotency<TRow>(ref TRow row) where TRow : IStoredRow, allows ref struct => new()
    {
        Scope = row.Text(),
        Token = row.Text(),
        RequestHash = row.Text(),
        Response = row.Text(),
        CreatedAt = row.Time(),
    };
}

/// <summary>How the stores keep JSON-shaped values in text columns.</summary>
public static class StoredValues
{
    public static string? Json(JsonObject? value) => value?.ToJsonString();

    public static JsonObject ParseObject(string json) =>
        JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("Stored JSON is not an object.");

    public static string Labels(IReadOnlyDictionary<string, string> labels) =>
        JsonSerializer.Serialize(labels, StoredJson.Default.IReadOnlyDictionaryStringString);

    public static Dictionary<string, string> ParseLabels(string json) =>
        JsonSerializer.Deserialize(json, StoredJson.Default.DictionaryStringString) ?? [];

    public static string? Stop(StopInfo? stop) => stop is null ? null : JsonSerializer.Serialize(stop, StoredJson.Default.StopInfo);

    public static StopInfo? ParseStop(string? json) => json is null ? null : JsonSerializer.Deserialize(json, StoredJson.Default.StopInfo);

    public static string Strings(IEnumerable<string> values) => JsonSerializer.Serialize(values.ToArray(), StoredJson.Default.StringArray);

    public static string[]? ParseStrings(string json) => JsonSerializer.Deserialize(json, StoredJson.Default.StringArray);
}

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(StopInfo))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StoredJson : JsonSerializerContext;
