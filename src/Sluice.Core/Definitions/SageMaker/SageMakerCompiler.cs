using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions.SageMaker;

/// <summary>Compiles a SageMaker <c>PipelineDefinition</c> (spec section 3) into a <see cref="Plan"/>. Never throws: every
/// problem comes back with the JSON path it was found at (e.g. <c>Steps[2].Arguments.Conditions[0].LeftValue</c>).</summary>
public static partial class SageMakerCompiler
{
    public const int MaxSourceBytes = 4 * 1024 * 1024;

    /// <summary>Deep enough for the 31 nested condition steps of the Airflow example, and then some.</summary>
    public const int MaxJsonDepth = 256;

    public const int MaxSteps = 1000;
    public const int MaxParameters = 200;
    public const int MaxConditionDepth = 64;

    /// <summary>Step types Sluice runs.</summary>
    public static IReadOnlyList<string> SupportedTypes { get; } =
        ["Processing", "Training", "Transform", "Model", "RegisterModel", "Condition", "Fail", "Lambda", "Callback"];

    /// <summary>Step types of SageMaker that need a cloud service Sluice does not have, with what they need.</summary>
    public static IReadOnlyDictionary<string, string> UnsupportedTypes { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Tuning"] = "hyperparameter tuning jobs",
        ["AutoML"] = "SageMaker Autopilot",
        ["QualityCheck"] = "SageMaker Model Monitor",
        ["ClarifyCheck"] = "SageMaker Clarify",
        ["EMR"] = "an Amazon EMR cluster",
        ["EndpointConfig"] = "SageMaker hosting",
        ["Endpoint"] = "SageMaker hosting",
        ["InferenceComponent"] = "SageMaker hosting",
        ["BedrockCustomModel"] = "Amazon Bedrock",
        ["BedrockCustomModelDeployment"] = "Amazon Bedrock",
        ["BedrockModelImport"] = "Amazon Bedrock",
        ["BedrockProvisionedModelThroughput"] = "Amazon Bedrock",
        ["Lineage"] = "SageMaker ML Lineage Tracking",
    };

    internal static readonly string[] ExceptionTypes =
        ["Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT", "Emr.RESOURCE_LIMIT"];

    /// <summary>The exception type a failed attempt of a job step counts as: Sluice cannot tell a job's own error from an
    /// internal one (both are a process that failed), and has no service faults, throttling or capacity errors.</summary>
    public const string RetriedExceptionType = "SageMaker.JOB_INTERNAL_ERROR";

    private static readonly string[] TopFields = ["Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps", "ParallelismConfiguration"];
    private static readonly string[] CommonStepFields = ["Name", "Type", "Arguments", "DependsOn", "DisplayName", "Description", "CacheConfig", "RetryPolicies"];
    private static readonly string[] ParameterTypes = ["String", "Integer", "Float", "Boolean"];
    private static readonly string[] JobTypes = ["Processing", "Training", "Transform", "Model", "RegisterModel"];

    /// <summary>Execution variables and the run field each one is.</summary>
    private static readonly Dictionary<string, string> ExecutionVariables = new(StringComparer.Ordinal)
    {
        ["StartDateTime"] = "startedAt",
        ["CurrentDateTime"] = "now",
        ["PipelineName"] = "pipeline",
        ["PipelineArn"] = "pipelineArn",
        ["PipelineExecutionId"] = "id",
        ["PipelineExecutionArn"] = "arn",
    };

    [GeneratedRegex(@"^[A-Za-z0-9\-_]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?<name>[A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]{1,128})?$")]
    private static partial Regex FunctionArnPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex FunctionNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,80}$")]
    private static partial Regex QueueNamePattern();

    /// <summary>Compiles a definition; never throws.</summary>
    public static CompileResult Compile(string source)
    {
        try
        {
            return new Compilation().Run(source ?? "");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug must not take the caller down with it; report it like any other problem.
            return new CompileResult(null, [new Problem("", "internal error while compiling the definition: " + e.Message)]);
        }
    }

    /// <summary>A step as read in the first pass: enough to check references to it from anywhere in the definition.</summary>
    internal sealed class Draft
    {
        public required string Path { get; init; }
        public required JsonObject Node { get; init; }
        public required int Index { get; init; }
        public string? Name { get; set; }
        public string? Type { get; set; }

        /// <summary>Sluice runs this type (false also for an unknown or missing type: references to it are not checked).</summary>
        public bool Runnable { get; set; }
        public Guard? Guard { get; set; }
        public List<(string Name, string Path)> ExplicitDeps { get; } = [];
        public List<string> Deps { get; } = [];
        public List<OutputSpec> Outputs { get; } = [];

        /// <summary>PropertyFileName -> (OutputName, FilePath).</summary>
        public Dictionary<string, (string OutputName, string FilePath)> PropertyFiles { get; } = new(StringComparer.Ordinal);
        public List<Draft> Then { get; } = [];
        public List<Draft> Else { get; } = [];
        public StepPlan? Plan { get; set; }

        public void Depend(string step)
        {
            if (!Deps.Contains(step))
            {
                Deps.Add(step);
            }
        }
    }

    internal sealed partial class Compilation
    {
        private readonly List<Problem> problems = [];
        private readonly List<ParameterSpec> parameters = [];
        private readonly HashSet<string> brokenParameters = new(StringComparer.Ordinal);
        private readonly List<Draft> drafts = [];
        private readonly Dictionary<string, Draft> byName = new(StringComparer.Ordinal);
        private Template? experimentName;
        private Template? trialName;
        private bool experimentConfigSet;
        private int? maxParallel;

        public CompileResult Run(string source)
        {
            if (source.Length > MaxSourceBytes || Encoding.UTF8.GetByteCount(source) > MaxSourceBytes)
            {
                return new CompileResult(null, [new Problem("", $"a pipeline definition is at most {MaxSourceBytes} bytes (4 MB)")]);
            }
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(source, documentOptions: new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
            }
            catch (JsonException e)
            {
                var where = e.LineNumber is { } l ? $" (line {l + 1}, character {(e.BytePositionInLine ?? 0) + 1})" : "";
                return new CompileResult(null, [new Problem("", $"the pipeline definition is not valid JSON{where}: {FirstSentence(e.Message)}",
                    e.LineNumber is { } ln ? (int)ln + 1 : null, e.BytePositionInLine is { } bp ? (int)bp + 1 : null)]);
            }
            if (root is not JsonObject top)
            {
                return new CompileResult(null, [new Problem("", $"a pipeline definition is a JSON object with Version, Parameters and Steps, not {Describe(root)}")]);
            }
            ReadTop(top);
            // On: a problem in one step must not hide those of others (references to a broken step are not checked).
            BuildSteps();
            List<Draft>? order = null;
            if (problems.Count == 0)
            {
                order = Order();
            }
            if (problems.Count > 0 || order is null)
            {
                return new CompileResult(null, problems);
            }
            var plan = new Plan
            {
                Parameters = parameters,
                MaxParallelSteps = maxParallel,
                Steps = [.. order.Select(d => d.Plan! with { DependsOn = d.Deps, Guard = d.Guard })],
            };
            return new CompileResult(plan, []);
        }

        internal void Add(string path, string message) => problems.Add(new Problem(path, message));

        internal Draft? FindDraft(string name) => byName.GetValueOrDefault(name);

        // ---- top level ----

        private void ReadTop(JsonObject top)
        {
            foreach (var (key, _) in top)
            {
                if (!TopFields.Contains(key))
                {
                    Add(Clip(key), $"unknown top-level field '{Clip(key)}' (a definition has {string.Join(", ", TopFields[..5])}){Suggest(key, TopFields)}");
                }
            }
            if (top["Version"] is { } version && !(version is JsonValue vv && vv.TryGetValue<string>(out var vs) && vs == "2020-12-01"))
            {
                Add("Version", $"Version must be \"2020-12-01\", not {Show(version)}");
            }
            if (top["Metadata"] is { } metadata and not JsonObject)
            {
                Add("Metadata", $"Metadata must be an object, not {Describe(metadata)}");
            }
            if (top["Parameters"] is { } ps)
            {
                ReadParameters(ps);
            }
            if (top["ParallelismConfiguration"] is { } pc)
            {
                ReadParallelism(pc);
            }
            if (!top.TryGetPropertyValue("Steps", out var steps) || steps is null)
            {
                Add("Steps", "a pipeline definition needs Steps: a list of steps");
                return;
            }
            if (steps is not JsonArray list)
            {
                Add("Steps", $"Steps must be a list of steps, not {Describe(steps)}");
                return;
            }
            if (list.Count == 0)
            {
                Add("Steps", "a pipeline needs at least one step");
            }
            CollectSteps(list, "Steps", null, true, 0);
            // After the steps are known, so that a reference to one is reported as what it is.
            if (top["PipelineExperimentConfig"] is JsonObject ec)
            {
                ReadExperimentConfig(ec);
            }
            else if (top["PipelineExperimentConfig"] is { } other)
            {
                Add("PipelineExperimentConfig", $"PipelineExperimentConfig must be an object or null, not {Describe(other)}");
            }
            if (drafts.Count > MaxSteps)
            {
                Add("Steps", $"a pipeline has at most {MaxSteps} steps (counting those inside IfSteps and ElseSteps); this one has {drafts.Count}");
            }
        }

        private void ReadParameters(JsonNode node)
        {
            if (node is not JsonArray list)
            {
                Add("Parameters", $"Parameters must be a list of {{Name, Type, DefaultValue}}, not {Describe(node)}");
                return;
            }
            if (list.Count > MaxParameters)
            {
                Add("Parameters", $"a pipeline has at most {MaxParameters} parameters");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < list.Count; i++)
            {
                var path = $"Parameters[{i}]";
                if (list[i] is not JsonObject p)
                {
                    Add(path, $"a parameter is an object {{Name, Type, DefaultValue}}, not {Describe(list[i])}");
                    continue;
                }
                foreach (var (key, _) in p)
                {
                    if (key is not ("Name" or "Type" or "DefaultValue" or "Description" or "EnumValues"))
                    {
                        Add($"{path}.{Clip(key)}", $"unknown parameter field '{Clip(key)}' (use Name, Type, DefaultValue, Description)");
                    }
                }
                var name = StringOf(p["Name"], $"{path}.Name", "a parameter's Name");
                if (name is null)
                {
                    continue;
                }
                if (!NamePattern().IsMatch(name))
                {
                    Add($"{path}.Name", $"invalid parameter name '{Clip(name)}': 1-64 letters, digits, '-' and '_'");
                    brokenParameters.Add(name);
                    continue;
                }
                if (!seen.Add(name))
                {
                    Add($"{path}.Name", $"duplicate parameter '{name}'");
                    continue;
                }
                var typeText = p["Type"] is null ? "String" : StringOf(p["Type"], $"{path}.Type", "a parameter's Type");
                var typeIndex = typeText is null ? -1 : Array.IndexOf(ParameterTypes, typeText);
                if (typeText is not null && typeIndex < 0)
                {
                    Add($"{path}.Type", $"unknown parameter type '{Clip(typeText)}' (use String, Integer, Float or Boolean){Suggest(typeText, ParameterTypes)}");
                }
                if (typeIndex < 0)
                {
                    brokenParameters.Add(name);
                    continue;
                }
                var type = (ParamType)typeIndex;
                JsonNode? def = null;
                if (p["DefaultValue"] is { } dv)
                {
                    def = DefaultOf(dv, type, $"{path}.DefaultValue");
                    if (def is null)
                    {
                        brokenParameters.Add(name);
                        continue;
                    }
                }
                var description = p["Description"] is { } d ? StringOf(d, $"{path}.Description", "a Description") : null;
                parameters.Add(new ParameterSpec(name, type, def, description));
            }
        }

        private JsonNode? DefaultOf(JsonNode value, ParamType type, string path)
        {
            if (value is JsonValue v)
            {
                switch (type, v.GetValueKind())
                {
                    case (ParamType.String, JsonValueKind.String):
                        var s = v.GetValue<string>();
                        if (s.Length <= 4096)
                        {
                            return JsonValue.Create(s);
                        }
                        Add(path, $"a String default is at most 4096 characters; this one has {s.Length}");
                        return null;
                    case (ParamType.Integer, JsonValueKind.Number) when v.TryGetValue<long>(out var l):
                        return JsonValue.Create(l);
                    case (ParamType.Integer, JsonValueKind.Number) when v.TryGetValue<double>(out var dl) && dl == Math.Floor(dl) && Math.Abs(dl) < 9e15:
                        return JsonValue.Create((long)dl);
                    case (ParamType.Float, JsonValueKind.Number) when v.TryGetValue<double>(out var d) && double.IsFinite(d):
                        return JsonValue.Create(d);
                    case (ParamType.Boolean, JsonValueKind.True or JsonValueKind.False):
                        return JsonValue.Create(v.GetValueKind() == JsonValueKind.True);
                }
            }
            Add(path, $"the DefaultValue of {(type == ParamType.Integer ? "an" : "a")} {type} parameter must be {TypeExample(type)}, not {Show(value)}");
            return null;
        }

        private static string TypeExample(ParamType t) => t switch
        {
            ParamType.String => "a string",
            ParamType.Integer => "a whole number",
            ParamType.Float => "a number",
            _ => "true or false",
        };

        private void ReadParallelism(JsonNode node)
        {
            if (node is not JsonObject o || o["MaxParallelExecutionSteps"] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number
                || !v.TryGetValue<double>(out var d) || d != Math.Floor(d))
            {
                Add("ParallelismConfiguration", "ParallelismConfiguration must be {\"MaxParallelExecutionSteps\": N} with N a whole number");
                return;
            }
            if (d is < 1 or > 1000)
            {
                Add("ParallelismConfiguration.MaxParallelExecutionSteps", "MaxParallelExecutionSteps must be between 1 and 1000");
                return;
            }
            maxParallel = (int)d;
        }

        private void ReadExperimentConfig(JsonObject ec)
        {
            experimentConfigSet = true;
            var context = new Draft { Path = "PipelineExperimentConfig", Node = ec, Index = -1, Name = null };
            foreach (var (key, value) in ec)
            {
                var path = $"PipelineExperimentConfig.{Clip(key)}";
                switch (key)
                {
                    case "ExperimentName":
                        experimentName = Scalar(value, path, context, "ExperimentName");
                        break;
                    case "TrialName":
                        trialName = Scalar(value, path, context, "TrialName");
                        break;
                    default:
                        Add(path, $"unknown field '{Clip(key)}' in PipelineExperimentConfig (use ExperimentName and TrialName)");
                        break;
                }
            }
        }

        // ---- first pass: names, types, declared outputs and property files ----

        private void CollectSteps(JsonArray list, string path, Draft? parent, bool branch, int depth)
        {
            for (var i = 0; i < list.Count; i++)
            {
                var spath = $"{path}[{i}]";
                if (list[i] is not JsonObject node)
                {
                    Add(spath, $"a step is an object with Name, Type and Arguments, not {Describe(list[i])}");
                    continue;
                }
                var d = new Draft { Path = spath, Node = node, Index = drafts.Count };
                drafts.Add(d);
                if (parent is not null)
                {
                    (branch ? parent.Then : parent.Else).Add(d);
                    d.Guard = parent.Name is { } pn ? new Guard(pn, branch) : null;
                }
                Collect(d, depth);
            }
        }

        private void Collect(Draft d, int depth)
        {
            var node = d.Node;
            d.Name = StringOf(node["Name"], $"{d.Path}.Name", "a step's Name");
            if (node["Name"] is null)
            {
                Add($"{d.Path}.Name", "a step needs a Name");
            }
            if (d.Name is not null)
            {
                if (!NamePattern().IsMatch(d.Name))
                {
                    Add($"{d.Path}.Name", $"invalid step name '{Clip(d.Name)}': 1-64 letters, digits, '-' and '_'");
                }
                if (!byName.TryAdd(d.Name, d))
                {
                    Add($"{d.Path}.Name", $"duplicate step name '{Clip(d.Name)}' (first used at {byName[d.Name].Path}); names are unique across the whole definition, IfSteps and ElseSteps included");
                }
            }
            var where = d.Name is null ? $"the step at {d.Path}" : $"step '{Clip(d.Name)}'";
            if (node["Type"] is null)
            {
                Add($"{d.Path}.Type", $"{where} needs a Type");
            }
            else if (StringOf(node["Type"], $"{d.Path}.Type", "a step's Type") is { } type)
            {
                d.Type = type;
                if (SupportedTypes.Contains(type))
                {
                    d.Runnable = true;
                }
                else if (UnsupportedTypes.TryGetValue(type, out var needs))
                {
                    Add($"{d.Path}.Type", $"{where} has type '{type}', which Sluice cannot run (it needs {needs})");
                }
                else
                {
                    Add($"{d.Path}.Type", $"{where} has an unknown step type '{Clip(type)}' (Sluice runs {string.Join(", ", SupportedTypes)}){Suggest(type, SupportedTypes.Concat(UnsupportedTypes.Keys))}");
                }
            }
            var allowed = d.Type switch
            {
                "Lambda" => [.. CommonStepFields, "FunctionArn", "OutputParameters", "Timeout"],
                "Callback" => [.. CommonStepFields, "SqsQueueUrl", "OutputParameters"],
                "Processing" => [.. CommonStepFields, "PropertyFiles"],
                _ => CommonStepFields,
            };
            if (d.Runnable)
            {
                foreach (var (key, _) in node)
                {
                    if (!allowed.Contains(key))
                    {
                        Add($"{d.Path}.{Clip(key)}", $"unknown field '{Clip(key)}' in {where} of type {d.Type}{Suggest(key, allowed)}");
                    }
                }
            }
            if (node["DependsOn"] is { } deps)
            {
                if (deps is not JsonArray depList)
                {
                    Add($"{d.Path}.DependsOn", $"DependsOn must be a list of step names, not {Describe(deps)}");
                }
                else
                {
                    for (var i = 0; i < depList.Count; i++)
                    {
                        if (StringOf(depList[i], $"{d.Path}.DependsOn[{i}]", "a step name in DependsOn") is { } dn)
                        {
                            d.ExplicitDeps.Add((dn, $"{d.Path}.DependsOn[{i}]"));
                        }
                    }
                }
            }
            if (d.Type is "Lambda" or "Callback")
            {
                CollectOutputParameters(d);
            }
            if (d.Type == "Processing" && node["PropertyFiles"] is { } pf)
            {
                CollectPropertyFiles(d, pf);
            }
            if (d.Type == "Condition" && node["Arguments"] is JsonObject args)
            {
                foreach (var (key, branch) in new[] { ("IfSteps", true), ("ElseSteps", false) })
                {
                    if (args[key] is null)
                    {
                        continue;
                    }
                    if (args[key] is not JsonArray list)
                    {
                        Add($"{d.Path}.Arguments.{key}", $"{key} must be a list of steps, not {Describe(args[key])}");
                        continue;
                    }
                    if (depth + 1 > MaxConditionDepth)
                    {
                        Add($"{d.Path}.Arguments.{key}", $"condition steps are nested more than {MaxConditionDepth} deep");
                        continue;
                    }
                    CollectSteps(list, $"{d.Path}.Arguments.{key}", d, branch, depth + 1);
                }
            }
        }

        private void CollectOutputParameters(Draft d)
        {
            if (d.Node["OutputParameters"] is not { } node)
            {
                return;
            }
            var path = $"{d.Path}.OutputParameters";
            if (node is not JsonArray list)
            {
                Add(path, $"OutputParameters must be a list of {{OutputName, OutputType}}, not {Describe(node)}");
                return;
            }
            for (var i = 0; i < list.Count; i++)
            {
                var opath = $"{path}[{i}]";
                if (list[i] is not JsonObject o)
                {
                    Add(opath, $"an output parameter is {{OutputName, OutputType}}, not {Describe(list[i])}");
                    continue;
                }
                var name = StringOf(o["OutputName"], $"{opath}.OutputName", "an OutputName");
                if (name is null)
                {
                    if (o["OutputName"] is null)
                    {
                        Add($"{opath}.OutputName", "an output parameter needs an OutputName");
                    }
                    continue;
                }
                if (name.Length is 0 or > 256)
                {
                    Add($"{opath}.OutputName", "an OutputName is 1-256 characters");
                    continue;
                }
                var typeText = o["OutputType"] is null ? "String" : StringOf(o["OutputType"], $"{opath}.OutputType", "an OutputType");
                var t = typeText is null ? -1 : Array.IndexOf(ParameterTypes, typeText);
                if (typeText is not null && t < 0)
                {
                    Add($"{opath}.OutputType", $"unknown OutputType '{Clip(typeText)}' (use String, Integer, Float or Boolean)");
                }
                if (d.Outputs.Any(x => x.Name == name))
                {
                    Add($"{opath}.OutputName", $"duplicate output parameter '{Clip(name)}'");
                    continue;
                }
                // A broken type still declares the name, so that references to it are not reported twice.
                d.Outputs.Add(new OutputSpec(name, t < 0 ? ParamType.String : (ParamType)t));
            }
        }

        private void CollectPropertyFiles(Draft d, JsonNode node)
        {
            var path = $"{d.Path}.PropertyFiles";
            if (node is not JsonArray list)
            {
                Add(path, $"PropertyFiles must be a list of {{PropertyFileName, OutputName, FilePath}}, not {Describe(node)}");
                return;
            }
            for (var i = 0; i < list.Count; i++)
            {
                var fpath = $"{path}[{i}]";
                if (list[i] is not JsonObject o)
                {
                    Add(fpath, $"a property file is {{PropertyFileName, OutputName, FilePath}}, not {Describe(list[i])}");
                    continue;
                }
                var name = RequiredString(o, "PropertyFileName", fpath);
                var output = RequiredString(o, "OutputName", fpath);
                var file = RequiredString(o, "FilePath", fpath);
                if (name is null || output is null || file is null)
                {
                    continue;
                }
                if (!d.PropertyFiles.TryAdd(name, (output, file)))
                {
                    Add($"{fpath}.PropertyFileName", $"duplicate property file '{Clip(name)}'");
                }
            }
        }

        // ---- second pass: each step's plan ----

        private void BuildSteps()
        {
            foreach (var d in drafts)
            {
                if (d.Name is null)
                {
                    continue;
                }
                var where = $"step '{Clip(d.Name)}'";
                var args = d.Node["Arguments"];
                if (args is not null and not JsonObject)
                {
                    Add($"{d.Path}.Arguments", $"the Arguments of {where} must be an object, not {Describe(args)}");
                    continue;
                }
                var a = (JsonObject?)args ?? [];
                var retry = ReadRetryPolicies(d);
                ReadCacheConfig(d);
                d.Plan = d.Type switch
                {
                    "Condition" => BuildCondition(d, a),
                    "Fail" => BuildFail(d, a),
                    "Lambda" => BuildLambda(d, a),
                    "Callback" => BuildCallback(d, a),
                    "Processing" => new JobBuilder(this, d, a).Processing(),
                    "Training" => new JobBuilder(this, d, a).Training(),
                    "Transform" => new JobBuilder(this, d, a).Transform(),
                    "Model" => new JobBuilder(this, d, a).Model(),
                    "RegisterModel" => new JobBuilder(this, d, a).RegisterModel(),
                    _ => null,
                };
                if (d.Plan is not null && retry is not null)
                {
                    d.Plan = d.Plan with { Retry = retry };
                }
            }
            Link();
        }

        private StepPlan BuildCondition(Draft d, JsonObject args)
        {
            var path = $"{d.Path}.Arguments";
            foreach (var (key, _) in args)
            {
                if (key is not ("Conditions" or "IfSteps" or "ElseSteps"))
                {
                    Add($"{path}.{Clip(key)}", $"unknown field '{Clip(key)}' in the Arguments of a Condition step (use Conditions, IfSteps, ElseSteps)");
                }
            }
            Expr condition = new LiteralExpr(JsonValue.Create(true));
            if (args["Conditions"] is not JsonArray list)
            {
                Add($"{path}.Conditions", args["Conditions"] is null
                    ? "a Condition step needs Conditions: a list of conditions, all of which must hold"
                    : $"Conditions must be a list of conditions, not {Describe(args["Conditions"])}");
            }
            else
            {
                var items = new List<Expr>();
                for (var i = 0; i < list.Count; i++)
                {
                    if (Condition(list[i], $"{path}.Conditions[{i}]", d, 0) is { } e)
                    {
                        items.Add(e);
                    }
                }
                condition = items.Count switch
                {
                    0 => condition,
                    1 => items[0],
                    _ => new AndExpr(items),
                };
                var messages = new List<string>();
                condition.CheckTypes(r => TypeOf(r), messages);
                foreach (var m in messages)
                {
                    Add($"{path}.Conditions", m);
                }
            }
            return new ConditionStepPlan
            {
                Name = d.Name!,
                Condition = condition,
                Then = [.. d.Then.Where(x => x.Name is not null).Select(x => x.Name!)],
                Else = [.. d.Else.Where(x => x.Name is not null).Select(x => x.Name!)],
            };
        }

        private ParamType? TypeOf(Reference r) => r switch
        {
            ParamRef p => parameters.FirstOrDefault(x => x.Name == p.Name)?.Type,
            RunRef => ParamType.String,
            StepOutputRef o when byName.TryGetValue(o.StepName, out var s) && s.Type == "Condition" => ParamType.Boolean,
            StepOutputRef o when byName.TryGetValue(o.StepName, out var s) => s.Outputs.FirstOrDefault(x => x.Name == o.Output)?.Type,
            _ => null,
        };

        private Expr? Condition(JsonNode? node, string path, Draft owner, int depth)
        {
            if (node is not JsonObject c)
            {
                Add(path, $"a condition is an object with a Type, not {Describe(node)}");
                return null;
            }
            if (depth > 32)
            {
                Add(path, "conditions are nested more than 32 deep");
                return null;
            }
            var type = StringOf(c["Type"], $"{path}.Type", "a condition's Type");
            if (type is null)
            {
                if (c["Type"] is null)
                {
                    Add($"{path}.Type", "a condition needs a Type: Equals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, In, Not or Or");
                }
                return null;
            }
            string[] fields;
            Expr? result;
            switch (type)
            {
                case "Equals" or "NotEquals" or "GreaterThan" or "GreaterThanOrEqualTo" or "LessThan" or "LessThanOrEqualTo":
                {
                    fields = ["Type", "LeftValue", "RightValue"];
                    var left = Operand(c, "LeftValue", path, owner);
                    var right = Operand(c, "RightValue", path, owner);
                    var op = type switch
                    {
                        "Equals" => ComparisonOp.Equal,
                        "NotEquals" => ComparisonOp.NotEqual,
                        "GreaterThan" => ComparisonOp.Greater,
                        "GreaterThanOrEqualTo" => ComparisonOp.GreaterOrEqual,
                        "LessThan" => ComparisonOp.Less,
                        _ => ComparisonOp.LessOrEqual,
                    };
                    result = left is null || right is null ? null : new ComparisonExpr(op, left, right);
                    break;
                }
                case "In" or "NotIn":
                {
                    // The SDK writes QueryValue and Values; the public schema writes Value and In.
                    var schemaForm = c["QueryValue"] is null && c["Value"] is not null;
                    var queryKey = schemaForm ? "Value" : "QueryValue";
                    var valuesKey = schemaForm ? "In" : "Values";
                    fields = ["Type", queryKey, valuesKey];
                    var query = Operand(c, queryKey, path, owner);
                    ListExpr? values = null;
                    if (c[valuesKey] is JsonArray vs)
                    {
                        var items = new List<Expr>();
                        var ok = true;
                        for (var i = 0; i < vs.Count; i++)
                        {
                            if (OperandOf(vs[i], $"{path}.{valuesKey}[{i}]", owner) is { } e)
                            {
                                items.Add(e);
                            }
                            else
                            {
                                ok = false;
                            }
                        }
                        values = ok ? new ListExpr(items) : null;
                    }
                    else
                    {
                        Add($"{path}.{valuesKey}", c[valuesKey] is null
                            ? $"an In condition needs {valuesKey}: the list to look in"
                            : $"{valuesKey} must be a list, not {Describe(c[valuesKey])}");
                    }
                    result = query is null || values is null ? null : new ComparisonExpr(ComparisonOp.In, query, values);
                    if (result is not null && type == "NotIn")
                    {
                        result = new NotExpr(result);
                    }
                    break;
                }
                case "Not":
                    fields = ["Type", "Condition", "Expression"];
                    var inner = c["Condition"] ?? c["Expression"];
                    if (inner is null)
                    {
                        Add($"{path}.Condition", "a Not condition needs a Condition to negate");
                        result = null;
                        break;
                    }
                    var e2 = Condition(inner, $"{path}.{(c["Condition"] is null ? "Expression" : "Condition")}", owner, depth + 1);
                    result = e2 is null ? null : new NotExpr(e2);
                    break;
                case "Or":
                {
                    fields = ["Type", "Conditions"];
                    if (c["Conditions"] is not JsonArray list || list.Count == 0)
                    {
                        Add($"{path}.Conditions", "an Or condition needs Conditions: a list of at least one condition");
                        result = null;
                        break;
                    }
                    var items = new List<Expr>();
                    var ok = true;
                    for (var i = 0; i < list.Count; i++)
                    {
                        if (Condition(list[i], $"{path}.Conditions[{i}]", owner, depth + 1) is { } e)
                        {
                            items.Add(e);
                        }
                        else
                        {
                            ok = false;
                        }
                    }
                    result = ok ? (items.Count == 1 ? items[0] : new OrExpr(items)) : null;
                    break;
                }
                default:
                    Add($"{path}.Type", $"unknown condition type '{Clip(type)}' (use Equals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, In, Not or Or){Suggest(type, ["Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo", "In", "Not", "Or"])}");
                    return null;
            }
            foreach (var (key, _) in c)
            {
                if (!fields.Contains(key))
                {
                    Add($"{path}.{Clip(key)}", $"unknown field '{Clip(key)}' in a {type} condition (use {string.Join(", ", fields.Skip(1))})");
                }
            }
            return result;
        }

        private Expr? Operand(JsonObject c, string key, string path, Draft owner)
        {
            if (!c.TryGetPropertyValue(key, out var v) || v is null)
            {
                Add($"{path}.{key}", $"the condition needs a {key}");
                return null;
            }
            return OperandOf(v, $"{path}.{key}", owner);
        }

        private Expr? OperandOf(JsonNode? node, string path, Draft owner)
        {
            if (node is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
            {
                return new LiteralExpr((JsonValue)v.DeepClone());
            }
            if (node is JsonObject o && IsExpression(o))
            {
                var t = Expression(o, path, owner);
                return t is null ? null : t.OnlyReference is { } only ? new ReferenceExpr(only) : new TemplateExpr(t);
            }
            Add(path, $"a condition operand is a string, a number, a boolean or an expression ({{\"Get\": ...}}, Std:Join, Std:JsonGet), not {Describe(node)}");
            return null;
        }

        private StepPlan BuildFail(Draft d, JsonObject args)
        {
            foreach (var (key, _) in args)
            {
                if (key != "ErrorMessage")
                {
                    Add($"{d.Path}.Arguments.{Clip(key)}", $"unknown field '{Clip(key)}' in the Arguments of a Fail step (use ErrorMessage)");
                }
            }
            var message = args["ErrorMessage"] is { } m ? Scalar(m, $"{d.Path}.Arguments.ErrorMessage", d, "ErrorMessage") : null;
            if (message is null || (message.IsLiteral && message.Source.Length == 0))
            {
                message = Template.Literal($"Fail step {d.Name} failed the pipeline");
            }
            return new FailStepPlan { Name = d.Name!, Message = message };
        }

        private StepPlan BuildLambda(Draft d, JsonObject args)
        {
            string? function = null;
            var path = $"{d.Path}.FunctionArn";
            var arn = d.Node["FunctionArn"];
            if (arn is null)
            {
                Add(path, "a Lambda step needs a FunctionArn (arn:aws:lambda:REGION:ACCOUNT:function:NAME, or the name of a function registered with Sluice)");
            }
            else if (StringOf(arn, path, "FunctionArn") is { } text)
            {
                if (FunctionArnPattern().Match(text) is { Success: true } m)
                {
                    function = m.Groups["name"].Value;
                }
                else if (FunctionNamePattern().IsMatch(text))
                {
                    function = text;
                }
                else
                {
                    Add(path, $"FunctionArn '{Clip(text)}' is neither arn:aws:lambda:REGION:ACCOUNT:function:NAME nor a function name (1-64 letters, digits, '-' and '_')");
                }
            }
            TimeSpan? limit = null;
            if (d.Node["Timeout"] is { } to)
            {
                if (to is JsonValue tv && tv.TryGetValue<double>(out var seconds) && seconds >= 1 && seconds <= FunctionStepPlan.MaxTimeLimit.TotalSeconds)
                {
                    limit = TimeSpan.FromSeconds(seconds);
                }
                else
                {
                    Add($"{d.Path}.Timeout", $"Timeout is a number of seconds between 1 and {FunctionStepPlan.MaxTimeLimit.TotalSeconds:0}, not {Show(to)}");
                }
            }
            return new FunctionStepPlan
            {
                Name = d.Name!,
                Function = function ?? "",
                Arguments = FlatArguments(d, args),
                Outputs = d.Outputs,
                TimeLimit = limit,
            };
        }

        private StepPlan BuildCallback(Draft d, JsonObject args)
        {
            var path = $"{d.Path}.SqsQueueUrl";
            Template? queue = null;
            if (d.Node["SqsQueueUrl"] is not { } url)
            {
                Add(path, "a Callback step needs an SqsQueueUrl (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, a Sluice queue URL, or a queue name)");
            }
            else if ((queue = Scalar(url, path, d, "SqsQueueUrl")) is { IsLiteral: true } q)
            {
                var name = Execution.QueueCallbackTransport.QueueName(q.Source);
                if (!QueueNamePattern().IsMatch(name))
                {
                    Add(path, $"SqsQueueUrl '{Clip(q.Source)}' does not name a queue Sluice can hold: the name at its end ('{Clip(name)}') must be 1-80 letters, digits, '-' and '_'");
                }
            }
            return new CallbackStepPlan
            {
                Name = d.Name!,
                Queue = queue,
                Arguments = FlatArguments(d, args),
                Outputs = d.Outputs,
            };
        }

        /// <summary>Lambda and Callback arguments: a flat object of primitives and expressions, sent with their JSON types.</summary>
        private Dictionary<string, Template> FlatArguments(Draft d, JsonObject args)
        {
            var result = new Dictionary<string, Template>(StringComparer.Ordinal);
            foreach (var (key, value) in args)
            {
                var path = $"{d.Path}.Arguments.{Clip(key)}";
                if (value is JsonObject o && !IsExpression(o) || value is JsonArray)
                {
                    Add(path, $"argument '{Clip(key)}' of a {d.Type} step must be a string, number, boolean or expression: nested objects and lists are not supported (as in SageMaker)");
                    continue;
                }
                if (value is null)
                {
                    result[key] = Template.Compose([]);
                    continue;
                }
                if (Scalar(value, path, d, $"argument '{Clip(key)}'") is { } t)
                {
                    result[key] = t;
                }
            }
            return result;
        }

        private RetryPolicy? ReadRetryPolicies(Draft d)
        {
            if (d.Node["RetryPolicies"] is not { } node)
            {
                return null;
            }
            var path = $"{d.Path}.RetryPolicies";
            if (d.Type is not null && !JobTypes.Contains(d.Type))
            {
                Add(path, $"RetryPolicies apply to job steps ({string.Join(", ", JobTypes)}), not to a {d.Type} step");
                return null;
            }
            if (node is not JsonArray list)
            {
                Add(path, $"RetryPolicies must be a list of policies, not {Describe(node)}");
                return null;
            }
            RetryPolicy? chosen = null;
            for (var i = 0; i < list.Count; i++)
            {
                var ppath = $"{path}[{i}]";
                if (list[i] is not JsonObject p)
                {
                    Add(ppath, $"a retry policy is an object with ExceptionType, IntervalSeconds, BackoffRate and MaxAttempts or ExpireAfterMin, not {Describe(list[i])}");
                    continue;
                }
                foreach (var (key, _) in p)
                {
                    if (key is not ("ExceptionType" or "IntervalSeconds" or "BackoffRate" or "MaxAttempts" or "ExpireAfterMin"))
                    {
                        Add($"{ppath}.{Clip(key)}", $"unknown field '{Clip(key)}' in a retry policy (use ExceptionType, IntervalSeconds, BackoffRate, MaxAttempts, ExpireAfterMin)");
                    }
                }
                var types = new List<string>();
                switch (p["ExceptionType"])
                {
                    case JsonArray ts:
                        for (var j = 0; j < ts.Count; j++)
                        {
                            if (StringOf(ts[j], $"{ppath}.ExceptionType[{j}]", "an exception type") is { } t)
                            {
                                types.Add(t);
                            }
                        }
                        break;
                    case JsonValue tv when tv.TryGetValue<string>(out var single):
                        types.Add(single);
                        break;
                    case null:
                        Add($"{ppath}.ExceptionType", "a retry policy needs ExceptionType: a list such as [\"SageMaker.JOB_INTERNAL_ERROR\"]");
                        break;
                    default:
                        Add($"{ppath}.ExceptionType", $"ExceptionType must be a list of exception types, not {Describe(p["ExceptionType"])}");
                        break;
                }
                foreach (var t in types.Where(t => !ExceptionTypes.Contains(t)))
                {
                    Add($"{ppath}.ExceptionType", $"unknown exception type '{Clip(t)}' (use {string.Join(", ", ExceptionTypes)}){Suggest(t, ExceptionTypes)}");
                }
                var interval = Number(p, "IntervalSeconds", ppath, 0, 43200) ?? 1;
                var rate = Number(p, "BackoffRate", ppath, 1, 100) ?? 2.0;
                var attempts = Number(p, "MaxAttempts", ppath, 0, 20);
                var expire = Number(p, "ExpireAfterMin", ppath, 0, 14400);
                if (p["MaxAttempts"] is not null && p["ExpireAfterMin"] is not null)
                {
                    Add(ppath, "a retry policy has MaxAttempts or ExpireAfterMin, not both");
                }
                if (attempts is { } a && a != Math.Floor(a))
                {
                    Add($"{ppath}.MaxAttempts", "MaxAttempts must be a whole number");
                }
                if (chosen is null && types.Contains(RetriedExceptionType))
                {
                    chosen = new RetryPolicy(expire is not null && attempts is null ? 1000 : (int)(attempts ?? 5), TimeSpan.FromSeconds(interval), rate,
                        TimeSpan.FromHours(12), expire is { } m ? TimeSpan.FromMinutes(m) : null);
                }
            }
            return chosen;
        }

        private double? Number(JsonObject o, string key, string path, double min, double max)
        {
            if (o[key] is not { } node)
            {
                return null;
            }
            if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && d >= min && d <= max)
            {
                return d;
            }
            Add($"{path}.{key}", $"{key} must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, not {Show(node)}");
            return null;
        }

        private void ReadCacheConfig(Draft d)
        {
            // Accepted and checked, but Sluice runs every step of every execution (no step cache).
            if (d.Node["CacheConfig"] is not { } node)
            {
                return;
            }
            var path = $"{d.Path}.CacheConfig";
            if (node is not JsonObject c)
            {
                Add(path, $"CacheConfig must be {{\"Enabled\": true|false, \"ExpireAfter\": \"PT1H\"}}, not {Describe(node)}");
                return;
            }
            if (c["Enabled"] is { } e && e.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                Add($"{path}.Enabled", $"CacheConfig.Enabled must be true or false, not {Show(e)}");
            }
            if (c["ExpireAfter"] is { } x && x.GetValueKind() != JsonValueKind.String)
            {
                Add($"{path}.ExpireAfter", $"CacheConfig.ExpireAfter must be a duration string such as \"PT1H\", not {Show(x)}");
            }
        }

        // ---- expressions ----

        internal static bool IsExpression(JsonObject o) =>
            o.Count >= 1 && (o.ContainsKey("Get") || o.ContainsKey("Std:Join") || o.ContainsKey("Std:JsonGet"));

        /// <summary>One value as a template: a literal string, a typed constant, or an expression. Null (with a problem)
        /// for anything else.</summary>
        internal Template? Scalar(JsonNode? node, string path, Draft owner, string what)
        {
            switch (node)
            {
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    return Template.Literal(v.GetValue<string>());
                case JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    return Template.Constant((JsonValue)v.DeepClone());
                case JsonObject o when IsExpression(o):
                    return Expression(o, path, owner);
                default:
                    Add(path, $"{what} must be a string, a number, a boolean or an expression, not {Describe(node)}");
                    return null;
            }
        }

        /// <summary>An expression object: Get, Std:Join or Std:JsonGet.</summary>
        internal Template? Expression(JsonObject o, string path, Draft owner)
        {
            if (o.Count != 1)
            {
                Add(path, $"an expression object has exactly one key (Get, Std:Join or Std:JsonGet), not {string.Join(", ", o.Select(kv => Clip(kv.Key)))}");
                return null;
            }
            var (key, value) = o.First();
            return key switch
            {
                "Get" => StringOf(value, $"{path}.Get", "a Get reference") is { } text ? Get(text, $"{path}.Get", owner) : null,
                "Std:Join" => Join(value, $"{path}.Std:Join", owner),
                _ => JsonGet(value, $"{path}.Std:JsonGet", owner),
            };
        }

        private Template? Join(JsonNode? node, string path, Draft owner)
        {
            if (node is not JsonObject j)
            {
                Add(path, $"Std:Join takes {{\"On\": separator, \"Values\": [...]}}, not {Describe(node)}");
                return null;
            }
            foreach (var (key, _) in j)
            {
                if (key is not ("On" or "Values"))
                {
                    Add($"{path}.{Clip(key)}", $"unknown field '{Clip(key)}' in Std:Join (use On and Values)");
                }
            }
            var on = j["On"] is null ? "" : StringOf(j["On"], $"{path}.On", "the separator On");
            if (j["Values"] is not JsonArray values)
            {
                Add($"{path}.Values", j["Values"] is null ? "Std:Join needs Values: a list" : $"Std:Join Values must be a list, not {Describe(j["Values"])}");
                return null;
            }
            var parts = new List<object>();
            var ok = on is not null;
            for (var i = 0; i < values.Count; i++)
            {
                if (i > 0 && on is not null)
                {
                    parts.Add(on);
                }
                var t = Scalar(values[i], $"{path}.Values[{i}]", owner, "a Std:Join value");
                if (t is null)
                {
                    ok = false;
                    continue;
                }
                // A join is text: a constant joins as its text.
                parts.Add(t);
            }
            return ok ? Template.Compose(parts) : null;
        }

        private Template? JsonGet(JsonNode? node, string path, Draft owner)
        {
            if (node is not JsonObject j)
            {
                Add(path, $"Std:JsonGet takes {{\"PropertyFile\": ..., \"Path\": ...}} or {{\"S3Uri\": ..., \"Path\": ...}}, not {Describe(node)}");
                return null;
            }
            foreach (var (key, _) in j)
            {
                if (key is not ("PropertyFile" or "S3Uri" or "Path"))
                {
                    Add($"{path}.{Clip(key)}", $"unknown field '{Clip(key)}' in Std:JsonGet (use PropertyFile or S3Uri, and Path)");
                }
            }
            PropertyPath? jsonPath = null;
            if (StringOf(j["Path"], $"{path}.Path", "the JSON path") is { } pathText)
            {
                jsonPath = PropertyPath.Parse(pathText, out var error);
                if (jsonPath is null)
                {
                    Add($"{path}.Path", $"invalid JSON path '{Clip(pathText)}': {error}");
                }
            }
            else if (j["Path"] is null)
            {
                Add($"{path}.Path", "Std:JsonGet needs a Path into the JSON file, such as \"metrics.accuracy.value\"");
            }
            Template? uri = null;
            string? producer = null;
            if (j["PropertyFile"] is { } pf)
            {
                (uri, producer) = PropertyFileUri(pf, $"{path}.PropertyFile", owner);
            }
            else if (j["S3Uri"] is { } s3)
            {
                uri = Scalar(s3, $"{path}.S3Uri", owner, "S3Uri");
                if (uri is { IsLiteral: true } u && !ObjectStore.IsObjectUri(u.Source))
                {
                    Add($"{path}.S3Uri", $"S3Uri must be an s3:// URI, not '{Clip(u.Source)}'");
                    uri = null;
                }
            }
            else
            {
                Add(path, "Std:JsonGet needs a PropertyFile ({\"Get\": \"Steps.STEP.PropertyFiles.NAME\"}) or an S3Uri");
            }
            return uri is null || jsonPath is null ? null : Template.Compose([new JsonFileRef(uri, jsonPath, producer)]);
        }

        /// <summary>A property file's object URI: the Processing step's output S3 URI of its OutputName, '/', its FilePath.</summary>
        private (Template? Uri, string? Producer) PropertyFileUri(JsonNode node, string path, Draft owner)
        {
            string? get = node switch
            {
                JsonObject { Count: 1 } o when o["Get"] is JsonValue g && g.TryGetValue<string>(out var s) => s,
                _ => null,
            };
            if (get is null || !get.StartsWith("Steps.", StringComparison.Ordinal))
            {
                Add(path, $"PropertyFile must be {{\"Get\": \"Steps.STEP.PropertyFiles.NAME\"}}, not {Show(node)}");
                return (null, null);
            }
            var rest = get["Steps.".Length..];
            var marker = rest.IndexOf(".PropertyFiles.", StringComparison.Ordinal);
            if (marker <= 0)
            {
                Add($"{path}.Get", $"'{Clip(get)}' is not Steps.STEP.PropertyFiles.NAME");
                return (null, null);
            }
            var step = rest[..marker];
            var name = rest[(marker + ".PropertyFiles.".Length)..];
            if (!byName.TryGetValue(step, out var target))
            {
                Add($"{path}.Get", $"unknown step '{Clip(step)}' in {Clip(get)}{Suggest(step, byName.Keys)}");
                return (null, null);
            }
            if (!target.Runnable)
            {
                return (null, null);
            }
            if (target.Type != "Processing")
            {
                Add($"{path}.Get", $"step '{Clip(step)}' is a {target.Type} step; only Processing steps have property files");
                return (null, null);
            }
            if (!target.PropertyFiles.TryGetValue(name, out var file))
            {
                Add($"{path}.Get", target.PropertyFiles.Count == 0
                    ? $"step '{Clip(step)}' declares no PropertyFiles, so there is no property file '{Clip(name)}'"
                    : $"step '{Clip(step)}' has no property file '{Clip(name)}' (it declares {string.Join(", ", target.PropertyFiles.Keys)})");
                return (null, null);
            }
            if (!Reachable(owner, target, path))
            {
                return (null, null);
            }
            var outputUri = new StepPropertyRef(step, PropertyPath.Of(
                new PathSegment("ProcessingOutputConfig", null, null), new PathSegment("Outputs", null, null), new PathSegment(null, null, file.OutputName),
                new PathSegment("S3Output", null, null), new PathSegment("S3Uri", null, null)));
            owner.Depend(step);
            return (Template.Compose([outputUri, "/" + file.FilePath.TrimStart('/')]), step);
        }

        /// <summary>A Get reference (spec 3.4).</summary>
        internal Template? Get(string text, string path, Draft owner)
        {
            var dot = text.IndexOf('.', StringComparison.Ordinal);
            var head = dot < 0 ? text : text[..dot];
            var rest = dot < 0 ? "" : text[(dot + 1)..];
            switch (head)
            {
                case "Parameters":
                    if (parameters.Any(p => p.Name == rest))
                    {
                        return Template.Compose([new ParamRef(rest)]);
                    }
                    if (!brokenParameters.Contains(rest))
                    {
                        Add(path, $"unknown parameter '{Clip(rest)}' in {Clip(text)}{(parameters.Count == 0 ? " (the pipeline declares no parameters)" : Suggest(rest, parameters.Select(p => p.Name)))}");
                    }
                    return null;
                case "Execution":
                    if (ExecutionVariables.TryGetValue(rest, out var field))
                    {
                        return Template.Compose([new RunRef(field)]);
                    }
                    if (rest is "TrainingJobName" or "ProcessingJobName")
                    {
                        var kind = rest == "TrainingJobName" ? "Training" : "Processing";
                        if (owner.Type != kind)
                        {
                            Add(path, $"Execution.{rest} is the name of the job a {kind} step runs; it cannot be used in {(owner.Name is null ? "the experiment config" : $"a {owner.Type} step")}");
                            return null;
                        }
                        return JobName(owner.Name!);
                    }
                    Add(path, $"unknown execution variable '{Clip(rest)}' (use {string.Join(", ", ExecutionVariables.Keys)}, TrainingJobName or ProcessingJobName){Suggest(rest, ExecutionVariables.Keys)}");
                    return null;
                case "PipelineExperimentConfig":
                    if (owner.Index < 0)
                    {
                        Add(path, "PipelineExperimentConfig cannot refer to itself");
                        return null;
                    }
                    if (rest is not ("ExperimentName" or "TrialName"))
                    {
                        Add(path, $"unknown PipelineExperimentConfig field '{Clip(rest)}' (use ExperimentName or TrialName)");
                        return null;
                    }
                    if (!experimentConfigSet)
                    {
                        Add(path, $"{Clip(text)} is used, but the definition has no PipelineExperimentConfig");
                        return null;
                    }
                    var t = rest == "ExperimentName" ? experimentName : trialName;
                    if (t is null)
                    {
                        Add(path, $"{Clip(text)} is used, but PipelineExperimentConfig has no {rest}");
                    }
                    return t;
                case "Steps":
                    return StepReference(text, rest, path, owner);
                default:
                    Add(path, $"unknown reference '{Clip(text)}': a Get names Parameters.NAME, Execution.VARIABLE, PipelineExperimentConfig.FIELD or Steps.STEP.PROPERTY");
                    return null;
            }
        }

        private Template? StepReference(string text, string rest, string path, Draft owner)
        {
            var dot = rest.IndexOf('.', StringComparison.Ordinal);
            var step = dot < 0 ? rest : rest[..dot];
            var propertyText = dot < 0 ? "" : rest[(dot + 1)..];
            if (!byName.TryGetValue(step, out var target))
            {
                Add(path, $"unknown step '{Clip(step)}' in {Clip(text)}{Suggest(step, byName.Keys)}");
                return null;
            }
            if (target == owner)
            {
                Add(path, $"a step cannot refer to its own properties ({Clip(text)})");
                return null;
            }
            if (propertyText.Length == 0)
            {
                Add(path, $"{Clip(text)} names a step but no property (such as Steps.{Clip(step)}.{ExampleProperty(target.Type)})");
                return null;
            }
            var property = PropertyPath.Parse(propertyText, out var error);
            if (property is null)
            {
                Add(path, $"invalid property path '{Clip(propertyText)}' in {Clip(text)}: {error}");
                return null;
            }
            if (!target.Runnable)
            {
                // Its type was reported already.
                return null;
            }
            Reference? r = null;
            var first = property.Segments[0].Member;
            switch (target.Type)
            {
                case "Condition":
                    if (propertyText == "Outcome")
                    {
                        r = new StepOutputRef(step, "result");
                    }
                    else
                    {
                        Add(path, $"a Condition step has one property, Outcome, not {Clip(propertyText)}");
                    }
                    break;
                case "Fail":
                    Add(path, $"step '{Clip(step)}' is a Fail step and has no properties");
                    break;
                case "Lambda" or "Callback":
                    if (first == "OutputParameters" && property.Segments.Count == 2 && property.Segments[1].Key is { } name)
                    {
                        if (target.Outputs.Any(o => o.Name == name))
                        {
                            r = new StepOutputRef(step, name);
                        }
                        else
                        {
                            Add(path, target.Outputs.Count == 0
                                ? $"step '{Clip(step)}' declares no OutputParameters, so {Clip(text)} does not exist"
                                : $"step '{Clip(step)}' has no output parameter '{Clip(name)}' (it declares {string.Join(", ", target.Outputs.Select(o => o.Name))}){Suggest(name, target.Outputs.Select(o => o.Name))}");
                        }
                    }
                    else
                    {
                        Add(path, $"a {target.Type} step's properties are OutputParameters['NAME'], not {Clip(propertyText)}");
                    }
                    break;
                default:
                    if (first == "PropertyFiles")
                    {
                        Add(path, $"a property file is read with Std:JsonGet ({{\"Std:JsonGet\": {{\"PropertyFile\": {{\"Get\": \"{Clip(text)}\"}}, \"Path\": ...}}}}), not with Get alone");
                    }
                    else
                    {
                        r = new StepPropertyRef(step, property);
                    }
                    break;
            }
            if (r is null || !Reachable(owner, target, path))
            {
                return null;
            }
            owner.Depend(step);
            return Template.Compose([r]);
        }

        private static string ExampleProperty(string? type) => type switch
        {
            "Condition" => "Outcome",
            "Lambda" or "Callback" => "OutputParameters['NAME']",
            "Training" => "ModelArtifacts.S3ModelArtifacts",
            "Processing" => "ProcessingOutputConfig.Outputs['NAME'].S3Output.S3Uri",
            "Model" => "ModelName",
            _ => "PROPERTY",
        };

        /// <summary>The experiment config is evaluated before any step: it cannot refer to steps.</summary>
        private bool Reachable(Draft owner, Draft target, string path)
        {
            if (owner.Index < 0)
            {
                Add(path, $"PipelineExperimentConfig cannot refer to step '{Clip(target.Name)}': it holds for the whole execution");
                return false;
            }
            return true;
        }

        /// <summary>The name of the job a step runs: pipelines-{execution id}-{step}, at most 63 characters of [A-Za-z0-9-].</summary>
        internal static Template JobName(string step)
        {
            var clean = new string([.. step.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
            if (clean.Length > 40)
            {
                clean = clean[..40].TrimEnd('-');
            }
            return Template.Compose(["pipelines-", new RunRef("id"), clean.Length > 0 ? "-" + clean : ""]);
        }

        // ---- linking ----

        private void Link()
        {
            foreach (var d in drafts)
            {
                // DependsOn first, then the steps its references read from, in the order they appear.
                var implicitDeps = d.Deps.ToList();
                d.Deps.Clear();
                foreach (var (dep, path) in d.ExplicitDeps)
                {
                    if (dep == d.Name)
                    {
                        Add(path, "a step cannot depend on itself");
                    }
                    else if (!byName.ContainsKey(dep))
                    {
                        Add(path, $"unknown step '{Clip(dep)}' in DependsOn{Suggest(dep, byName.Keys)}");
                    }
                    else
                    {
                        d.Depend(dep);
                    }
                }
                foreach (var dep in implicitDeps)
                {
                    d.Depend(dep);
                }
                if (d.Guard is { } g)
                {
                    d.Depend(g.ConditionStep);
                }
            }
        }

        /// <summary>Steps in a topological order (definition order among those ready); null with a problem on a cycle.</summary>
        private List<Draft>? Order()
        {
            var nodes = drafts.Where(d => d.Name is not null && byName[d.Name] == d).ToList();
            var waiting = nodes.ToDictionary(d => d, d => d.Deps.Count);
            var dependants = nodes.ToDictionary(d => d, _ => new List<Draft>());
            foreach (var d in nodes)
            {
                foreach (var dep in d.Deps)
                {
                    dependants[byName[dep]].Add(d);
                }
            }
            var ready = new PriorityQueue<Draft, int>();
            foreach (var d in nodes.Where(d => waiting[d] == 0))
            {
                ready.Enqueue(d, d.Index);
            }
            var order = new List<Draft>(nodes.Count);
            while (ready.TryDequeue(out var d, out _))
            {
                order.Add(d);
                foreach (var x in dependants[d])
                {
                    if (--waiting[x] == 0)
                    {
                        ready.Enqueue(x, x.Index);
                    }
                }
            }
            if (order.Count == nodes.Count)
            {
                return order;
            }
            // Every step left waits for another one left: walk back along dependencies until a step repeats.
            var left = nodes.Where(d => waiting[d] > 0).ToHashSet();
            var start = left.MinBy(d => d.Index)!;
            var seen = new List<Draft>();
            var at = start;
            while (!seen.Contains(at))
            {
                seen.Add(at);
                at = at.Deps.Select(x => byName[x]).First(left.Contains);
            }
            var cycle = seen.Skip(seen.IndexOf(at)).Select(x => x.Name!).ToList();
            cycle.Add(cycle[0]);
            Add(at.Path, $"dependency cycle: {string.Join(" -> ", cycle)} (each waits for the next, through DependsOn and Get references)");
            return null;
        }

        // ---- small readers ----

        internal string? StringOf(JsonNode? node, string path, string what)
        {
            if (node is JsonValue v && v.TryGetValue<string>(out var s))
            {
                return s;
            }
            if (node is not null)
            {
                Add(path, $"{what} must be a string, not {Show(node)}");
            }
            return null;
        }

        internal string? RequiredString(JsonObject o, string key, string path)
        {
            if (o[key] is null)
            {
                Add($"{path}.{key}", $"{key} is required");
                return null;
            }
            return StringOf(o[key], $"{path}.{key}", key);
        }
    }

    // ---- messages ----

    internal static string Clip(string? s) => s is null ? "" : s.Length > 60 ? s[..60] + "..." : s;

    internal static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            _ => "a boolean",
        },
        _ => "a value",
    };

    internal static string Show(JsonNode? node) => node is JsonValue ? $"{Describe(node)} ({Clip(node.ToJsonString())})" : Describe(node);

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..(i + 1)] : message;
    }

    private static string Suggest(string given, IEnumerable<string> candidates) => NativeCompiler.Suggest(given, candidates);
}
