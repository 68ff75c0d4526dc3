using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sluice.Server.Apis.Vertex;

/// <summary>A CreatePipelineJob body, read: what the core needs to define and start the run.</summary>
internal sealed record CreateJob
{
    /// <summary>The definition source to store (format "kfp"): the spec, wrapped with the failure policy when it fails fast.</summary>
    public required string Source { get; init; }
    public string? DisplayName { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public JsonObject? Parameters { get; init; }
    /// <summary>What the face keeps with the run and shows back (runtime config, service account, network...).</summary>
    public required JsonObject FaceData { get; init; }
}

/// <summary>Reads Vertex request bodies tolerantly, as the proto3 JSON mapping asks of a server: lowerCamelCase or snake_case
/// names, enums by name or number, int64 as a string or a number, empty maps, unknown fields ignored. Pure.</summary>
internal static partial class VertexRequests
{
    public const int MaxBatch = 32;

    /// <summary>Vertex's rule ([a-z][a-z0-9-]*), within Sluice's run ids (at most 63 characters, not ending with '-'), which
    /// the SageMaker face shares.</summary>
    [GeneratedRegex(@"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex JobId();

    /// <summary>A field by its lowerCamelCase name or its snake_case one.</summary>
    public static JsonNode? Field(JsonObject? o, string camel)
    {
        if (o is null)
        {
            return null;
        }
        if (o.TryGetPropertyValue(camel, out var v))
        {
            return v;
        }
        return o.TryGetPropertyValue(VertexFilter.Snake(camel), out v) ? v : null;
    }

    public static string? String(JsonObject? o, string camel, string path)
    {
        return Field(o, camel) switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw Invalid($"{path} must be a string"),
        };
    }

    public static VertexException Invalid(string message) => new(RpcCode.InvalidArgument, message);

    public static void CheckJobId(string? id)
    {
        if (id is not null && !JobId().IsMatch(id))
        {
            throw Invalid($"pipelineJobId '{Core.Api.Validation.Show(id)}' is not valid: use 1-63 characters of [a-z], [0-9] and '-', starting with a letter and not ending with '-'");
        }
    }

    public static CreateJob ParseCreate(JsonObject body, string project, string location)
    {
        if (Field(body, "pipelineSpec") is not JsonObject spec || spec.Count == 0)
        {
            throw Invalid(Field(body, "templateUri") is not null
                ? "templateUri is not supported by Sluice: send the compiled pipeline as pipelineSpec"
                : "pipelineJob.pipelineSpec is required (the compiled KFP pipeline spec)");
        }
        var displayName = String(body, "displayName", "pipelineJob.displayName");
        if (displayName is { Length: > 128 })
        {
            throw Invalid("pipelineJob.displayName is at most 128 characters");
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Field(body, "labels"))
        {
            case null:
                break;
            case JsonObject lo:
                foreach (var (k, v) in lo)
                {
                    labels[k] = v is JsonValue lv && lv.TryGetValue<string>(out var s) ? s : throw Invalid($"label {Core.Api.Validation.Show(k)} must be a string");
                }
                break;
            default:
                throw Invalid("pipelineJob.labels must be a map of strings");
        }

        var rc = Field(body, "runtimeConfig") switch
        {
            null => [],
            JsonObject o => o,
            _ => throw Invalid("pipelineJob.runtimeConfig must be an object"),
        };
        var parameters = new JsonObject();
        switch (Field(rc, "parameters"))
        {
            case null:
                break;
            case JsonObject legacy:
                foreach (var (k, v) in legacy)
                {
                    parameters[k] = v is JsonObject value ? Legacy(value, k) : throw Invalid($"runtimeConfig.parameters.{k} must be a Value object");
                }
                break;
            default:
                throw Invalid("runtimeConfig.parameters must be a map");
        }
        switch (Field(rc, "parameterValues"))
        {
            case null:
                break;
            case JsonObject values:
                foreach (var (k, v) in values)
                {
                    parameters[k] = v?.DeepClone();
                }
                break;
            default:
                throw Invalid("runtimeConfig.parameterValues must be a map");
        }
        if (Field(rc, "inputArtifacts") is JsonObject { Count: > 0 })
        {
            throw Invalid("runtimeConfig.inputArtifacts is not supported by Sluice");
        }
        var failFast = Field(rc, "failurePolicy") switch
        {
            null => false,
            JsonValue v when v.TryGetValue<string>(out var s) => s switch
            {
                "PIPELINE_FAILURE_POLICY_FAIL_FAST" => true,
                "PIPELINE_FAILURE_POLICY_FAIL_SLOW" or "PIPELINE_FAILURE_POLICY_UNSPECIFIED" => false,
                _ => throw Invalid($"unknown failurePolicy {Core.Api.Validation.Show(s)}"),
            },
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var n) => n switch
            {
                2 => true,
                0 or 1 => false,
                _ => throw Invalid($"unknown failurePolicy {n}"),
            },
            _ => throw Invalid("runtimeConfig.failurePolicy must be a PipelineFailurePolicy"),
        };
        var root = String(rc, "gcsOutputDirectory", "runtimeConfig.gcsOutputDirectory");
        if (string.IsNullOrEmpty(root))
        {
            root = spec["defaultPipelineRoot"] is JsonValue dr && dr.TryGetValue<string>(out var d) ? d : null;
        }
        if (string.IsNullOrEmpty(root))
        {
            throw Invalid("runtimeConfig.gcsOutputDirectory is required (the pipeline root, e.g. gs://bucket/root; Sluice keeps its objects under its data directory)");
        }

        // The runtime config as shown back: lowerCamelCase keys, the policy by name, empty maps left out.
        var shown = new JsonObject { ["gcsOutputDirectory"] = root };
        if (Field(rc, "parameterValues") is JsonObject { Count: > 0 } pv)
        {
            shown["parameterValues"] = pv.DeepClone();
        }
        if (Field(rc, "parameters") is JsonObject { Count: > 0 } lp)
        {
            shown["parameters"] = lp.DeepClone();
        }
        if (Field(rc, "failurePolicy") is not null)
        {
            shown["failurePolicy"] = failFast ? "PIPELINE_FAILURE_POLICY_FAIL_FAST" : "PIPELINE_FAILURE_POLICY_FAIL_SLOW";
        }

        var faceData = new JsonObject
        {
            ["project"] = project, ["location"] = location, ["pipelineRoot"] = root, ["runtimeConfig"] = shown,
            ["serviceAccount"] = String(body, "serviceAccount", "pipelineJob.serviceAccount"),
            ["network"] = String(body, "network", "pipelineJob.network"),
            ["encryptionSpec"] = Field(body, "encryptionSpec") is JsonObject { Count: > 0 } es ? es.DeepClone() : null,
            ["reservedIpRanges"] = Field(body, "reservedIpRanges") is JsonArray { Count: > 0 } ips ? ips.DeepClone() : null,
            ["preflightValidations"] = Field(body, "preflightValidations") is JsonValue pf && pf.GetValueKind() == JsonValueKind.True ? true : null,
        };
        var source = failFast
            ? new JsonObject { ["pipelineSpec"] = spec.DeepClone(), ["runtimeConfig"] = new JsonObject { ["failurePolicy"] = "PIPELINE_FAILURE_POLICY_FAIL_FAST" } }
            : spec;
        return new CreateJob
        {
            Source = source.ToJsonString(), DisplayName = displayName, Labels = labels.Count > 0 ? labels : null,
            Parameters = parameters.Count > 0 ? parameters : null, FaceData = faceData,
        };
    }

    /// <summary>A deprecated aiplatform Value: {intValue: "3"} | {doubleValue: 1.5} | {stringValue: "x"}.</summary>
    private static JsonNode? Legacy(JsonObject v, string name)
    {
        if (Field(v, "stringValue") is { } s)
        {
            return s.DeepClone();
        }
        if (Field(v, "intValue") is JsonValue i)
        {
            var text = i.GetValueKind() == JsonValueKind.String ? i.GetValue<string>() : i.ToJsonString();
            return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l)
                ? JsonValue.Create(l)
                : throw Invalid($"runtimeConfig.parameters.{name}.intValue is not an integer");
        }
        if (Field(v, "doubleValue") is { } d)
        {
            return d.DeepClone();
        }
        throw Invalid($"runtimeConfig.parameters.{name} needs intValue, doubleValue or stringValue");
    }

    /// <summary>The names of a batch request: 1 to 32 PipelineJob names.</summary>
    public static List<(string Project, string Location, string Id)> BatchNames(JsonObject body)
    {
        if (Field(body, "names") is not JsonArray names || names.Count == 0)
        {
            throw Invalid("names is required: 1 to 32 PipelineJob resource names");
        }
        if (names.Count > MaxBatch)
        {
            throw Invalid($"at most {MaxBatch} names per request, not {names.Count}");
        }
        var result = new List<(string, string, string)>();
        foreach (var n in names)
        {
            var s = n is JsonValue v && v.TryGetValue<string>(out var str) ? str : null;
            result.Add(VertexMapper.ParseJobName(s)
                ?? throw Invalid($"'{Core.Api.Validation.Show(s)}' is not a PipelineJob name (projects/PROJECT/locations/LOCATION/pipelineJobs/ID)"));
        }
        return result;
    }
}
