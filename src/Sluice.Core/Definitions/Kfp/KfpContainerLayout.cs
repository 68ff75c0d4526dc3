using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sluice.Core.Api;
using Sluice.Core.Execution;

namespace Sluice.Core.Definitions.Kfp;

/// <summary>Where an input parameter's value comes from when the task starts.</summary>
internal enum KfpParamKind
{
    /// <summary>From the step's resolved values (key <c>p:NAME</c>).</summary>
    Value,
    Constant,
    /// <summary>Optional and not given.</summary>
    Absent,
}

/// <summary>An input parameter; <paramref name="Hidden"/>: given by the task but not declared by the component (KFP passes
/// such values only for placeholders inside runtime constants).</summary>
internal sealed record KfpParam(string Name, string Type, KfpParamKind Kind, JsonNode? Constant, KfpSelector? Selector, bool Hidden = false);

internal sealed record KfpArtifactInput(string Name, JsonObject? ArtifactType, bool Present);

internal sealed record KfpEnv(string Name, string Value);

/// <summary>One container task as compiled: what the layout needs to start it and read its outputs.</summary>
internal sealed record KfpTask
{
    public required string TaskKey { get; init; }
    public required string ComponentName { get; init; }
    public required string ExecutorLabel { get; init; }
    /// <summary>Recorded, not pulled: the command runs on the host.</summary>
    public required string Image { get; init; }
    public required IReadOnlyList<string> Command { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public required IReadOnlyList<KfpEnv> Env { get; init; }
    public required IReadOnlyList<KfpParam> Parameters { get; init; }
    public required IReadOnlyList<KfpArtifactInput> InputArtifacts { get; init; }
    /// <summary>Output parameter name to KFP type.</summary>
    public required IReadOnlyDictionary<string, string> OutputParameters { get; init; }
    public required IReadOnlyDictionary<string, JsonObject?> OutputArtifacts { get; init; }
    public string? DefaultPipelineRoot { get; init; }
    public required string PipelineName { get; init; }
}

/// <summary>Runs a KFP container executor as a host process, as KFP's own launcher does in a pod: builds the ExecutorInput
/// (input values, output parameter files, artifact URIs and local paths), resolves every <c>{{$...}}</c> placeholder and
/// structured placeholder in <c>command + args</c>, and afterwards reads the outputs (the executor output file first, then
/// the output parameter files). The image is recorded, not pulled. See docs/vertex.md.</summary>
internal sealed partial class KfpContainerLayout(KfpTask task) : IProcessLayout
{
    public const string ExecutorOutputFile = "executor_output.json";
    public const string ExecutorInputFile = "executor_input.json";
    public const string DefaultPipelineRoot = "gs://sluice/pipeline-root";

    public KfpTask Task { get; } = task;

    [GeneratedRegex(@"\{\{\$([^{}]*)\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^\.(inputs|outputs)\.(parameters|artifacts)\[(?:'([^']*)'|""([^""]*)"")\](.*)$")]
    private static partial Regex IoPlaceholder();

    [GeneratedRegex(@"\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex EnvReference();

    private static readonly string[] RunFields =
    [
        ".pipeline_job_name", ".pipeline_job_resource_name", ".pipeline_job_uuid", ".pipeline_task_name", ".pipeline_task_uuid",
        ".pipeline_root", ".pipeline_job_create_time_utc", ".pipeline_job_schedule_time_utc", ".workspace_path", ".outputs.output_file",
        ".outputMetadataUri",
    ];

    /// <summary>Problems with the task's placeholders, found when the spec is compiled.</summary>
    public static IEnumerable<string> Check(KfpTask task)
    {
        var problems = new List<string>();
        foreach (var arg in task.Command.Concat(task.Args))
        {
            if (IsStructured(arg))
            {
                try
                {
                    CheckStructured(JsonNode.Parse(arg), task, problems, 0);
                }
                catch (JsonException e)
                {
                    problems.Add($"the structured placeholder {Validation.Show(arg)} is not JSON: {e.Message}");
                }
                continue;
            }
            CheckText(arg, task, problems);
        }
        return problems;
    }

    private static void CheckText(string text, KfpTask task, List<string> problems)
    {
        foreach (Match m in Placeholder().Matches(text))
        {
            var expr = m.Groups[1].Value;
            if (expr.Length == 0 || RunFields.Contains(expr))
            {
                continue;
            }
            var io = IoPlaceholder().Match(expr);
            if (!io.Success)
            {
                problems.Add($"unknown placeholder {m.Value}");
                continue;
            }
            var name = io.Groups[3].Success ? io.Groups[3].Value : io.Groups[4].Value;
            var known = (io.Groups[1].Value, io.Groups[2].Value) switch
            {
                ("inputs", "parameters") => task.Parameters.Any(p => p.Name == name && !p.Hidden),
                ("inputs", _) => task.InputArtifacts.Any(a => a.Name == name),
                (_, "parameters") => task.OutputParameters.ContainsKey(name),
                _ => task.OutputArtifacts.ContainsKey(name),
            };
            if (!known)
            {
                problems.Add($"placeholder {m.Value} names {io.Groups[1].Value} {io.Groups[2].Value} '{name}', which component {task.ComponentName} does not declare");
            }
        }
    }

    private static void CheckStructured(JsonNode? node, KfpTask task, List<string> problems, int depth)
    {
        if (depth > 20)
        {
            problems.Add("structured placeholders are nested too deep");
            return;
        }
        switch (node)
        {
            case JsonValue v when v.TryGetValue<string>(out var s):
                if (IsStructured(s))
                {
                    try
                    {
                        CheckStructured(JsonNode.Parse(s), task, problems, depth + 1);
                    }
                    catch (JsonException)
                    {
                        problems.Add($"the structured placeholder {Validation.Show(s)} is not JSON");
                    }
                }
                else
                {
                    CheckText(s, task, problems);
                }
                break;
            case JsonArray a:
                foreach (var x in a)
                {
                    CheckStructured(x, task, problems, depth + 1);
                }
                break;
            case JsonObject o when o["Concat"] is JsonArray parts:
                CheckStructured(parts, task, problems, depth + 1);
                break;
            case JsonObject o when o["IfPresent"] is JsonObject ip:
                var input = KfpCompiler.Str(ip["InputName"]);
                if (input is null || (!task.Parameters.Any(p => p.Name == input) && !task.InputArtifacts.Any(a => a.Name == input)))
                {
                    problems.Add($"IfPresent names input '{input}', which component {task.ComponentName} does not declare");
                }
                CheckStructured(ip["Then"], task, problems, depth + 1);
                CheckStructured(ip["Else"], task, problems, depth + 1);
                break;
            default:
                problems.Add($"unknown structured placeholder {Validation.Show(node?.ToJsonString())}");
                break;
        }
    }

    private static bool IsStructured(string s)
    {
        var t = s.TrimStart();
        return t.StartsWith("{\"Concat\"", StringComparison.Ordinal) || t.StartsWith("{\"IfPresent\"", StringComparison.Ordinal);
    }

    // ---- start ----

    public JsonObject Prepare(ProcessLaunch launch)
    {
        var root = PipelineRoot(launch);
        var objects = Path.Combine(launch.DataDirectory, "objects");
        var safeStep = launch.StepName.Replace('[', '-').Replace("]", "", StringComparison.Ordinal);
        var ctx = new Context(this, launch, root, objects);

        // Input parameters: typed as the component declares, selectors applied, constants' placeholders resolved last.
        var values = new JsonObject();
        foreach (var p in Task.Parameters)
        {
            switch (p.Kind)
            {
                case KfpParamKind.Value:
                    var v = launch.Values[$"p:{p.Name}"]?.DeepClone();
                    if (p.Selector is not null)
                    {
                        v = p.Selector.Apply(v);
                    }
                    values[p.Name] = p.Hidden ? v : p.Type == "TASK_FINAL_STATUS" ? FinalStatus(v, launch) : Coerce(v, p.Type, p.Name);
                    break;
                case KfpParamKind.Constant:
                    values[p.Name] = p.Constant?.DeepClone();
                    break;
            }
        }
        foreach (var p in Task.Parameters.Where(p => p.Kind == KfpParamKind.Constant && !p.Hidden))
        {
            var c = values[p.Name];
            if (c is JsonValue cv && cv.TryGetValue<string>(out var text) && text.Contains("{{$", StringComparison.Ordinal))
            {
                // KFP resolves input placeholders inside a runtime constant against the task's other inputs.
                c = JsonValue.Create(Placeholder().Replace(text, m =>
                    IoPlaceholder().Match(m.Groups[1].Value) is { Success: true } io && io.Groups[1].Value == "inputs" && io.Groups[2].Value == "parameters"
                        ? Format(values[io.Groups[3].Success ? io.Groups[3].Value : io.Groups[4].Value])
                        : m.Value));
            }
            values[p.Name] = Coerce(c, p.Type, p.Name);
        }
        foreach (var p in Task.Parameters.Where(p => p.Hidden))
        {
            values.Remove(p.Name);
        }
        ctx.Parameters = values;

        var inputArtifacts = new JsonObject();
        foreach (var a in Task.InputArtifacts.Where(a => a.Present))
        {
            var given = launch.Values[$"a:{a.Name}"];
            var list = given switch
            {
                JsonArray arr => arr,
                JsonObject o => [o.DeepClone()],
                _ => throw SluiceException.Invalid($"input artifact '{a.Name}' is not available"),
            };
            var artifacts = new JsonArray();
            foreach (var item in list)
            {
                artifacts.Add(item?.DeepClone());
            }
            inputArtifacts[a.Name] = new JsonObject { ["artifacts"] = artifacts };
        }
        ctx.InputArtifacts = inputArtifacts;

        var outputsDir = Path.Combine(launch.Directory, "outputs");
        Directory.CreateDirectory(outputsDir);
        var outParams = new JsonObject();
        foreach (var (name, _) in Task.OutputParameters)
        {
            outParams[name] = new JsonObject { ["outputFile"] = Path.Combine(outputsDir, name) };
        }
        var outArtifacts = new JsonObject();
        foreach (var (name, type) in Task.OutputArtifacts)
        {
            var uri = $"{root.TrimEnd('/')}/{launch.RunId}/{safeStep}/{name}";
            var local = LocalPath(uri, objects);
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            outArtifacts[name] = new JsonObject
            {
                ["artifacts"] = new JsonArray(new JsonObject
                {
                    ["name"] = name, ["type"] = type?.DeepClone() ?? new JsonObject { ["schemaTitle"] = "system.Artifact" }, ["uri"] = uri,
                    ["metadata"] = new JsonObject(),
                }),
            };
        }
        ctx.OutputArtifacts = outArtifacts;
        ctx.OutputParameters = outParams;
        var executorOutput = Path.Combine(launch.Directory, ExecutorOutputFile);
        File.Delete(executorOutput);
        var executorInput = new JsonObject
        {
            ["inputs"] = new JsonObject { ["parameterValues"] = values.DeepClone(), ["artifacts"] = inputArtifacts.DeepClone() },
            ["outputs"] = new JsonObject
            {
                ["parameters"] = outParams.DeepClone(), ["artifacts"] = outArtifacts.DeepClone(), ["outputFile"] = executorOutput,
            },
        };
        ctx.ExecutorInput = executorInput.ToJsonString();
        File.WriteAllText(Path.Combine(launch.Directory, ExecutorInputFile), ctx.ExecutorInput);

        var argv = new List<string>();
        foreach (var arg in Task.Command.Concat(Task.Args))
        {
            argv.AddRange(ctx.Expand(arg));
        }
        string? bootstrap = null;
        if (KfpRuntime.IsPipBootstrap(argv))
        {
            // The KFP SDK's preamble pip-installs kfp and then runs "$0" "$@": Sluice provides kfp.dsl.executor_main itself.
            argv = argv[3..];
            bootstrap = "skipped: kfp is provided by Sluice's stand-in (see docs/vertex.md)";
        }
        if (argv.Count == 0 || argv[0].Length == 0)
        {
            throw SluiceException.Invalid("the container has no command to run");
        }

        var env = new JsonObject();
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in Task.Env)
        {
            var value = EnvReference().Replace(e.Value, m => m.Value == "$$(" ? "$(" : known.TryGetValue(m.Groups[1].Value, out var x) ? x : m.Value);
            known[e.Name] = value;
            env[e.Name] = value;
        }
        foreach (var (k, v) in KfpRuntime.Environment(launch.DataDirectory, objects))
        {
            env[k] = v;
        }
        return new JsonObject
        {
            ["command"] = argv[0],
            ["args"] = new JsonArray([.. argv.Skip(1).Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["env"] = env,
            ["workingDir"] = null,
            ["image"] = Task.Image,
            ["kfpBootstrap"] = bootstrap,
        };
    }

    private string PipelineRoot(ProcessLaunch launch) =>
        KfpCompiler.Str(launch.FaceData?["pipelineRoot"]) is { Length: > 0 } r ? r : Task.DefaultPipelineRoot ?? DefaultPipelineRoot;

    /// <summary>The local path of an artifact URI: gs:// and s3:// as the object store maps them (<c>{objects}/BUCKET/KEY</c>, the
    /// directory SageMaker steps use too), minio:// the same way, and anything else (a pipeline root that is a plain word)
    /// under <c>{objects}/_local/</c>.</summary>
    internal static string LocalPath(string uri, string objects)
    {
        var i = uri.IndexOf("://", StringComparison.Ordinal);
        var scheme = i > 0 ? uri[..i] : null;
        if (scheme is "gs" or "s3" && ObjectStore.TryLocalPath(objects, uri, out var path, out _))
        {
            return path;
        }
        var rest = i > 0 ? uri[(i + 3)..] : uri;
        var parts = rest.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p is not ("." or "..")).ToArray();
        return scheme == "minio" && parts.Length > 0 ? Path.Combine([objects, .. parts]) : Path.Combine([objects, "_local", .. parts]);
    }

    internal static string JobResourceName(ProcessLaunch launch) =>
        $"projects/{KfpCompiler.Str(launch.FaceData?["project"]) ?? launch.Scope.Tenant}/locations/{launch.Scope.Location}/pipelineJobs/{launch.RunId}";

    /// <summary>KFP's PipelineTaskFinalStatus, from the engine's status of the task it names.</summary>
    private static JsonObject FinalStatus(JsonNode? status, ProcessLaunch launch)
    {
        var state = KfpCompiler.Str(status?["state"]) switch
        {
            "Succeeded" => "SUCCEEDED",
            "Failed" => "FAILED",
            "Stopped" or "NotStarted" => "CANCELLED",
            "Skipped" => "NOT_TRIGGERED",
            var s => s?.ToUpperInvariant() ?? "STATE_UNSPECIFIED",
        };
        var step = KfpCompiler.Str(status?["step"]) ?? "";
        var error = new JsonObject();
        if (state != "SUCCEEDED" && KfpCompiler.Str(status?["reason"]) is { } reason)
        {
            error["code"] = state == "CANCELLED" ? 1 : 9;
            error["message"] = reason;
        }
        return new JsonObject
        {
            ["state"] = state, ["error"] = error, ["pipelineJobResourceName"] = JobResourceName(launch),
            ["pipelineTaskName"] = step[(step.LastIndexOf('.') + 1)..],
        };
    }

    private static JsonNode? Coerce(JsonNode? v, string type, string name)
    {
        if (type == "STRING")
        {
            return v is JsonValue s && s.TryGetValue<string>(out var str) ? JsonValue.Create(str) : JsonValue.Create(v is null ? "" : Format(v));
        }
        var t = KfpCompiler.TypeOf(type) ?? ParamType.String;
        return Values.TryCoerce(v, t, out var typed, out var error) ? typed : throw SluiceException.Invalid($"input parameter '{name}': {error}");
    }

    /// <summary>A value as KFP puts it on a command line: strings raw, numbers plain, booleans true/false, the rest as JSON.</summary>
    internal static string Format(JsonNode? v) => v switch
    {
        null => "",
        JsonValue x when x.TryGetValue<string>(out var s) => s,
        JsonValue x when x.GetValueKind() is JsonValueKind.True or JsonValueKind.False => x.GetValueKind() == JsonValueKind.True ? "true" : "false",
        JsonValue x when x.GetValueKind() == JsonValueKind.Number => Values.ToText(x),
        _ => v.ToJsonString(),
    };

    /// <summary>Resolves placeholders for one start.</summary>
    private sealed class Context(KfpContainerLayout layout, ProcessLaunch launch, string root, string objects)
    {
        public JsonObject Parameters { get; set; } = [];
        public JsonObject InputArtifacts { get; set; } = [];
        public JsonObject OutputParameters { get; set; } = [];
        public JsonObject OutputArtifacts { get; set; } = [];
        public string ExecutorInput { get; set; } = "{}";

        public IEnumerable<string> Expand(string arg)
        {
            if (IsStructured(arg))
            {
                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(arg);
                }
                catch (JsonException)
                {
                    return [Substitute(arg)];
                }
                return Structured(node, 0);
            }
            return [Substitute(arg)];
        }

        private List<string> Structured(JsonNode? node, int depth)
        {
            switch (node)
            {
                case JsonValue v when v.TryGetValue<string>(out var s):
                    return IsStructured(s) && depth < 20 ? Structured(JsonNode.Parse(s), depth + 1) : [Substitute(s)];
                case JsonArray a:
                    return [.. a.SelectMany(x => Structured(x, depth + 1))];
                case JsonObject o when o["Concat"] is JsonArray parts:
                    return [string.Concat(parts.SelectMany(p => Structured(p, depth + 1)))];
                case JsonObject o when o["IfPresent"] is JsonObject ip:
                    var name = KfpCompiler.Str(ip["InputName"]) ?? "";
                    var present = Parameters.ContainsKey(name) || InputArtifacts.ContainsKey(name);
                    var branch = present ? ip["Then"] : ip["Else"];
                    return branch is null ? [] : Structured(branch, depth + 1);
                default:
                    return [node?.ToJsonString() ?? ""];
            }
        }

        private string Substitute(string text) => Placeholder().Replace(text, m => Resolve(m.Groups[1].Value, m.Value));

        private string Resolve(string expr, string whole)
        {
            switch (expr)
            {
                case "":
                    return ExecutorInput;
                case ".pipeline_job_name":
                case ".pipeline_job_uuid":
                    return launch.RunId;
                case ".pipeline_job_resource_name":
                    return JobResourceName(launch);
                case ".pipeline_task_name":
                    return launch.StepName;
                case ".pipeline_task_uuid":
                    return $"{launch.RunId}-{launch.StepName}";
                case ".pipeline_root":
                    return root;
                case ".pipeline_job_create_time_utc":
                case ".pipeline_job_schedule_time_utc":
                    return launch.RunCreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                case ".workspace_path":
                    return Path.Combine(launch.DataDirectory, "runs", launch.RunId, "workspace");
                case ".outputs.output_file":
                case ".outputMetadataUri":
                    return Path.Combine(launch.Directory, ExecutorOutputFile);
            }
            var io = IoPlaceholder().Match(expr);
            if (!io.Success)
            {
                return whole;
            }
            var name = io.Groups[3].Success ? io.Groups[3].Value : io.Groups[4].Value;
            var rest = io.Groups[5].Value;
            switch (io.Groups[1].Value, io.Groups[2].Value)
            {
                case ("inputs", "parameters"):
                    return Parameters.TryGetPropertyValue(name, out var v) ? Format(v)
                        : throw SluiceException.Invalid($"placeholder {whole}: optional input '{name}' was not given (use IfPresent)");
                case ("outputs", "parameters"):
                    return rest == ".output_file" ? KfpCompiler.Str(OutputParameters[name]?["outputFile"]) ?? "" : whole;
                case ("inputs", "artifacts"):
                    var list = InputArtifacts[name]?["artifacts"] as JsonArray
                        ?? throw SluiceException.Invalid($"placeholder {whole}: optional input artifact '{name}' was not given (use IfPresent)");
                    return Artifact(list.FirstOrDefault() as JsonObject, rest, whole);
                default:
                    return Artifact(OutputArtifacts[name]?["artifacts"]?[0] as JsonObject, rest, whole);
            }
        }

        private string Artifact(JsonObject? a, string rest, string whole)
        {
            var uri = KfpCompiler.Str(a?["uri"]) ?? "";
            if (rest == ".uri")
            {
                return uri;
            }
            if (rest == ".path")
            {
                return LocalPath(uri, objects);
            }
            if (rest == ".metadata")
            {
                return a?["metadata"]?.ToJsonString() ?? "{}";
            }
            if (rest.StartsWith(".metadata[", StringComparison.Ordinal) && rest.EndsWith(']'))
            {
                var key = rest[".metadata[".Length..^1].Trim('\'', '"');
                return Format(a?["metadata"]?[key]);
            }
            return whole;
        }

        public KfpContainerLayout Layout => layout;
    }

    // ---- end ----

    public StepOutcome ReadOutputs(string directory)
    {
        var outputs = new JsonObject();
        JsonObject? executorOutput = null;
        var path = Path.Combine(directory, ExecutorOutputFile);
        try
        {
            if (File.Exists(path))
            {
                executorOutput = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                    ?? throw new JsonException("it is not a JSON object");
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return StepOutcome.Failure($"the executor output file {ExecutorOutputFile} could not be read: {e.Message}", 0);
        }
        foreach (var (name, type) in Task.OutputParameters)
        {
            JsonNode? value;
            // As KFP's launcher: the executor output file first, then the output parameter file.
            if (executorOutput?["parameterValues"] is JsonObject pv && pv.TryGetPropertyValue(name, out var given))
            {
                if (!Values.TryCoerce(type == "STRING" && given is not JsonValue ? JsonValue.Create(given?.ToJsonString()) : given,
                        KfpCompiler.TypeOf(type)!.Value, out value, out var error))
                {
                    return StepOutcome.Failure($"output parameter '{name}' is not a valid {type}: {error}", 0);
                }
            }
            else
            {
                var file = Path.Combine(directory, "outputs", name);
                string text;
                try
                {
                    text = File.ReadAllText(file);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    return StepOutcome.Failure($"output parameter '{name}' was not written (expected the file {file})", 0);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return StepOutcome.Failure($"output parameter '{name}' could not be read: {e.Message}", 0);
                }
                if (!TryParse(text, type, out value, out var error))
                {
                    return StepOutcome.Failure($"output parameter '{name}' is not a valid {type}: {error}", 0);
                }
            }
            outputs[name] = value;
        }
        foreach (var (name, type) in Task.OutputArtifacts)
        {
            var written = executorOutput?["artifacts"]?[name]?["artifacts"]?[0] as JsonObject;
            outputs[name] = new JsonObject
            {
                ["name"] = name,
                ["type"] = type?.DeepClone() ?? new JsonObject { ["schemaTitle"] = "system.Artifact" },
                ["uri"] = KfpCompiler.Str(written?["uri"]) ?? ReadInputUri(directory, name),
                ["metadata"] = written?["metadata"]?.DeepClone() ?? new JsonObject(),
            };
        }
        return StepOutcome.Success(outputs, 0);
    }

    /// <summary>The URI the attempt was given for an output artifact (kept in its executor input file).</summary>
    private static string ReadInputUri(string directory, string name)
    {
        try
        {
            var input = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, ExecutorInputFile)));
            return KfpCompiler.Str(input?["outputs"]?["artifacts"]?[name]?["artifacts"]?[0]?["uri"]) ?? "";
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>An output parameter file's text as a value of its type, as KFP's launcher reads it: STRING as is, BOOLEAN
    /// lowercased, everything else as JSON.</summary>
    private static bool TryParse(string text, string type, out JsonNode? value, out string? error)
    {
        value = null;
        error = null;
        if (type == "STRING")
        {
            value = JsonValue.Create(text);
            return true;
        }
        var t = KfpCompiler.TypeOf(type)!.Value;
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(type == "BOOLEAN" ? text.Trim().ToLowerInvariant() : text);
        }
        catch (JsonException)
        {
            error = $"it is not JSON: {Validation.Show(text.Trim())}";
            return false;
        }
        return Values.TryCoerce(parsed, t, out value, out error);
    }
}
