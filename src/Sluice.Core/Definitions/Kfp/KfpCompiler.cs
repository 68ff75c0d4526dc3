using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions.Kfp;

/// <summary>Compiles a KFP v2 PipelineSpec into a <see cref="Plan"/>: the root DAG's tasks become steps; a task whose
/// component is a DAG becomes a group (its tasks are qualified with the group's name, <c>group.task</c>); a
/// <c>parameterIterator</c> makes it a for-each group; <c>triggerPolicy.condition</c> becomes the step's condition;
/// <c>ALL_UPSTREAM_TASKS_COMPLETED</c> makes it a finally step; container executors become process steps laid out by
/// <see cref="KfpContainerLayout"/>. See docs/vertex.md.</summary>
public static partial class KfpCompiler
{
    public const int MaxSteps = 2000;
    public const int MaxDepth = 50;
    public const int MaxNameLength = 200;

    private static readonly string[] SupportedSchemas = ["2.0.0", "2.1.0"];

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$")]
    private static partial Regex TaskKey();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex PipelineName();

    /// <summary>Never throws: every problem found comes back in the result.</summary>
    public static CompileResult Compile(string source)
    {
        try
        {
            return new Compilation().Run(source ?? "");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CompileResult(null, [new Problem("", "internal error while compiling the pipeline spec: " + e.Message)]);
        }
    }

    /// <summary>Reads JSON or YAML (the first document only: a KFP file may carry a platform spec as a second) into JSON.</summary>
    internal static JsonNode? ReadDocument(string source, List<Problem> problems)
    {
        if (source.Length > 0 && source[0] == '\uFEFF')
        {
            source = source[1..];
        }
        var json = source.TrimStart().StartsWith('{');
        if (!json)
        {
            source = FirstYamlDocument(source);
        }
        var tree = SourceTree.Read(source, json, problems);
        return tree is null || problems.Count > 0 ? null : ToJson(tree, "", problems);
    }

    private static string FirstYamlDocument(string source)
    {
        var lines = source.Split('\n');
        var sb = new StringBuilder();
        var content = false;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("---", StringComparison.Ordinal) && line.Trim() == "---")
            {
                if (content)
                {
                    break;
                }
                continue;
            }
            if (line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'))
            {
                content = true;
            }
            sb.Append(raw).Append('\n');
        }
        return sb.ToString();
    }

    private static JsonNode? ToJson(SNode node, string path, List<Problem> problems)
    {
        switch (node)
        {
            case SMap m:
            {
                var o = new JsonObject();
                foreach (var (k, v) in m.Entries)
                {
                    if (o.ContainsKey(k.Text))
                    {
                        problems.Add(new Problem($"{path}.{k.Text}", "duplicate key", k.Line, k.Column));
                        continue;
                    }
                    o[k.Text] = ToJson(v, $"{path}.{k.Text}", problems);
                }
                return o;
            }
            case SSeq s:
            {
                var a = new JsonArray();
                var i = 0;
                foreach (var item in s.Items)
                {
                    a.Add(ToJson(item, $"{path}[{i++}]", problems));
                }
                return a;
            }
            case SScalar { Kind: ScalarKind.Null }:
                return null;
            case SScalar { Kind: ScalarKind.Integer, Value: long l }:
                return JsonValue.Create(l);
            case SScalar { Kind: ScalarKind.Float, Value: double d }:
                return JsonValue.Create(d);
            case SScalar { Kind: ScalarKind.Boolean, Value: bool b }:
                return JsonValue.Create(b);
            case SScalar s:
                return JsonValue.Create(s.Text);
            default:
                return null;
        }
    }

    /// <summary>The plan parameter type of a KFP parameter type (parameterType, or the 2.0.0 <c>type</c>).</summary>
    internal static ParamType? TypeOf(string? kfpType) => kfpType switch
    {
        "STRING" => ParamType.String,
        "NUMBER_INTEGER" or "INT" => ParamType.Integer,
        "NUMBER_DOUBLE" or "DOUBLE" => ParamType.Float,
        "BOOLEAN" => ParamType.Boolean,
        "LIST" => ParamType.List,
        "STRUCT" or "TASK_FINAL_STATUS" or "TASK_CONFIG" => ParamType.Struct,
        _ => null,
    };

    /// <summary>Where a value comes from while a DAG is compiled.</summary>
    private abstract record Src;

    /// <summary>A value known when the step starts; with a selector applied to it then.</summary>
    private sealed record RefSrc(Reference Ref, KfpSelector? Selector = null) : Src;

    /// <summary>A value fixed in the spec (a runtime constant or a default).</summary>
    private sealed record ConstSrc(JsonNode? Value) : Src;

    /// <summary>The outputs a task offers to the tasks after it.</summary>
    private sealed class Offered
    {
        public Dictionary<string, Src> Parameters { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Src> Artifacts { get; } = new(StringComparer.Ordinal);

        /// <summary>A container task's step: any declared output is a reference to it.</summary>
        public string? Step { get; init; }
    }

    /// <summary>One DAG being compiled: where its steps go and what its component's inputs are.</summary>
    private sealed class Dag
    {
        public required string Prefix { get; init; }

        public required string? Group { get; init; }

        public required List<StepPlan> Out { get; init; }

        public required Dictionary<string, Src> Parameters { get; init; }

        public required Dictionary<string, Src> Artifacts { get; init; }

        public required string Path { get; init; }

        public required int Depth { get; init; }

        /// <summary>The steps of the for-each body this DAG is in (body-local names), or null outside any body.</summary>
        public HashSet<string>? BodyLocals { get; init; }
    }

    private sealed class Compilation
    {
        private readonly List<Problem> problems = [];
        private JsonObject components = [];
        private JsonObject executors = [];
        private string pipelineName = "";
        private string? defaultRoot;
        private int stepCount;

        public CompileResult Run(string source)
        {
            if (Encoding.UTF8.GetByteCount(source) > PipelineService.MaxSourceBytes)
            {
                return Fail(new Problem("", $"a pipeline spec is at most {PipelineService.MaxSourceBytes} bytes"));
            }
            var doc = ReadDocument(source, problems);
            if (doc is not JsonObject top)
            {
                return problems.Count > 0 ? new CompileResult(null, problems) : Fail(new Problem("", "a pipeline spec is a JSON or YAML object"));
            }
            JsonObject? runtimeConfig = null;
            var spec = top;
            if (top["pipelineSpec"] is JsonObject wrapped)
            {
                // A Vertex PipelineJob body (or file): the spec, with run settings that serve as defaults.
                spec = wrapped;
                runtimeConfig = top["runtimeConfig"] as JsonObject;
            }
            var schema = Str(spec["schemaVersion"]);
            if (schema is not null && !SupportedSchemas.Contains(schema))
            {
                problems.Add(new Problem("schemaVersion", $"schema version {schema} is not supported (2.0.0 and 2.1.0 are)"));
            }
            pipelineName = Str(spec["pipelineInfo"]?["name"]) ?? "";
            if (!PipelineName().IsMatch(pipelineName))
            {
                problems.Add(new Problem("pipelineInfo.name", pipelineName.Length == 0
                    ? "a pipeline spec needs pipelineInfo.name"
                    : "a pipeline name is 1-128 letters, digits, '.', '_' and '-', starting with a letter or digit"));
            }
            defaultRoot = Str(spec["defaultPipelineRoot"]);
            components = spec["components"] as JsonObject ?? [];
            executors = spec["deploymentSpec"]?["executors"] as JsonObject ?? [];
            if (spec["root"] is not JsonObject root || root["dag"] is not JsonObject)
            {
                problems.Add(new Problem("root", "a pipeline spec needs root.dag"));
                return new CompileResult(null, problems);
            }

            var parameters = new List<ParameterSpec>();
            var env = new Dictionary<string, Src>(StringComparer.Ordinal);
            foreach (var (name, def) in Obj(root["inputDefinitions"]?["parameters"]))
            {
                var type = TypeOf(Str(def?["parameterType"]) ?? Str(def?["type"]));
                if (type is null)
                {
                    problems.Add(new Problem($"root.inputDefinitions.parameters.{name}", "unknown parameter type"));
                    continue;
                }
                var dflt = RunValue(runtimeConfig, name) ?? def?["defaultValue"]?.DeepClone();
                parameters.Add(new ParameterSpec(name, type.Value, dflt, Str(def?["description"])));
                env[name] = new RefSrc(new ParamRef(name));
            }
            if (Obj(root["inputDefinitions"]?["artifacts"]).Any())
            {
                problems.Add(new Problem("root.inputDefinitions.artifacts", "pipeline input artifacts are not supported"));
            }

            var steps = new List<StepPlan>();
            CompileDag(root, new Dag
            {
                Prefix = "", Group = null, Out = steps, Parameters = env, Artifacts = new(StringComparer.Ordinal), Path = "root", Depth = 0,
            });
            if (problems.Count > 0)
            {
                return new CompileResult(null, problems);
            }
            var policy = Str(runtimeConfig?["failurePolicy"]) ?? runtimeConfig?["failurePolicy"]?.ToJsonString();
            return new CompileResult(new Plan
            {
                Name = pipelineName,
                Description = Str(spec["pipelineInfo"]?["description"]),
                Parameters = parameters,
                Steps = steps,
                FailurePolicy = policy is "PIPELINE_FAILURE_POLICY_FAIL_FAST" or "2" ? FailurePolicy.FailFast : FailurePolicy.FailSlow,
            }, []);
        }

        /// <summary>A run value in a PipelineJob-shaped document: parameterValues (plain JSON) or the 2.0.0 parameters.</summary>
        private static JsonNode? RunValue(JsonObject? runtimeConfig, string name)
        {
            if (runtimeConfig?["parameterValues"]?[name] is { } v)
            {
                return v.DeepClone();
            }
            return runtimeConfig?["parameters"]?[name] is JsonObject legacy ? LegacyValue(legacy) : null;
        }

        /// <summary>An aiplatform Value: {stringValue} | {intValue} (int64 as text) | {doubleValue}.</summary>
        internal static JsonNode? LegacyValue(JsonObject v)
        {
            if (v["stringValue"] is { } s)
            {
                return s.DeepClone();
            }
            if (v["intValue"] is JsonValue i)
            {
                return long.TryParse(Values.ToText(i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? JsonValue.Create(l) : i.DeepClone();
            }
            return v["doubleValue"]?.DeepClone() ?? v["numberValue"]?.DeepClone() ?? v["boolValue"]?.DeepClone();
        }

        private CompileResult Fail(Problem p)
        {
            problems.Add(p);
            return new CompileResult(null, problems);
        }

        private void Problem(string path, string message) => problems.Add(new Problem(path, message));

        // ---- DAGs ----

        /// <summary>Compiles the tasks of a DAG component into <see cref="Dag.Out"/>; returns what its tasks offer, by task key.</summary>
        private Dictionary<string, Offered> CompileDag(JsonObject component, Dag dag)
        {
            var offered = new Dictionary<string, Offered>(StringComparer.Ordinal);
            if (dag.Depth > MaxDepth)
            {
                Problem(dag.Path, $"DAGs are nested more than {MaxDepth} deep");
                return offered;
            }
            var tasks = Obj(component["dag"]?["tasks"]).ToDictionary(kv => kv.Key, kv => kv.Value as JsonObject, StringComparer.Ordinal);
            foreach (var key in TopologicalOrder(tasks, dag.Path))
            {
                var path = $"{dag.Path}.dag.tasks.{key}";
                if (tasks[key] is not { } task)
                {
                    Problem(path, "a task is an object");
                    continue;
                }
                if (!TaskKey().IsMatch(key))
                {
                    Problem(path, "a task name is letters, digits, '_' and '-' (Sluice qualifies names with '.' and '[i]')");
                    continue;
                }
                if (++stepCount > MaxSteps)
                {
                    Problem(path, $"a pipeline has at most {MaxSteps} tasks");
                    return offered;
                }
                var o = CompileTask(dag, key, task, path, offered);
                if (o is not null)
                {
                    offered[key] = o;
                }
            }
            return offered;
        }

        private List<string> TopologicalOrder(Dictionary<string, JsonObject?> tasks, string path)
        {
            var deps = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var (key, task) in tasks)
            {
                var set = new HashSet<string>(StringComparer.Ordinal);
                foreach (var d in Arr(task?["dependentTasks"]))
                {
                    if (Str(d) is { } name)
                    {
                        set.Add(name);
                    }
                }
                foreach (var (_, input) in Obj(task?["inputs"]?["parameters"]).Concat(Obj(task?["inputs"]?["artifacts"])))
                {
                    if (Producer(input) is { } p)
                    {
                        set.Add(p);
                    }
                }
                foreach (var d in set.Where(d => !tasks.ContainsKey(d)).ToList())
                {
                    Problem($"{path}.dag.tasks.{key}", $"depends on task '{d}', which is not in the same DAG");
                    set.Remove(d);
                }
                deps[key] = set;
            }
            var order = new List<string>();
            var state = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var key in tasks.Keys.Order(StringComparer.Ordinal))
            {
                Visit(key);
            }
            return order;

            void Visit(string key)
            {
                // Iterative DFS would be safer for huge graphs; task counts are bounded by MaxSteps.
                switch (state.GetValueOrDefault(key))
                {
                    case 2:
                        return;
                    case 1:
                        Problem($"{path}.dag.tasks.{key}", "the tasks depend on each other in a cycle");
                        return;
                }
                state[key] = 1;
                foreach (var d in deps[key].Order(StringComparer.Ordinal))
                {
                    Visit(d);
                }
                state[key] = 2;
                order.Add(key);
            }
        }

        private static string? Producer(JsonNode? input) =>
            Str(input?["taskOutputParameter"]?["producerTask"]) ?? Str(input?["taskOutputArtifact"]?["producerTask"])
            ?? Str(input?["taskFinalStatus"]?["producerTask"]);

        private Offered? CompileTask(Dag dag, string key, JsonObject task, string path, Dictionary<string, Offered> siblings)
        {
            var name = dag.Prefix + key;
            if (name.Length > MaxNameLength)
            {
                Problem(path, $"the task's qualified name {name} is longer than {MaxNameLength} characters");
                return null;
            }
            var compName = Str(task["componentRef"]?["name"]);
            if (compName is null || components[compName] is not JsonObject comp)
            {
                Problem($"{path}.componentRef.name", compName is null ? "a task needs componentRef.name" : $"component '{compName}' is not defined");
                return null;
            }

            // Inputs of the task, each resolved to where its value comes from.
            var inParams = new Dictionary<string, Src>(StringComparer.Ordinal);
            foreach (var (n, spec) in Obj(task["inputs"]?["parameters"]))
            {
                if (ParamSource(dag, spec, $"{path}.inputs.parameters.{n}", siblings) is { } src)
                {
                    inParams[n] = src;
                }
            }
            var inArtifacts = new Dictionary<string, Src>(StringComparer.Ordinal);
            foreach (var (n, spec) in Obj(task["inputs"]?["artifacts"]))
            {
                if (ArtifactSource(dag, spec, $"{path}.inputs.artifacts.{n}", siblings) is { } src)
                {
                    inArtifacts[n] = src;
                }
            }

            var deps = new List<string>();
            foreach (var d in Arr(task["dependentTasks"]).Select(Str).Where(d => d is not null))
            {
                deps.Add(dag.Prefix + d);
            }
            foreach (var (_, spec) in Obj(task["inputs"]?["parameters"]).Concat(Obj(task["inputs"]?["artifacts"])))
            {
                if (Producer(spec) is { } p)
                {
                    deps.Add(dag.Prefix + p);
                }
            }
            deps = [.. deps.Distinct(StringComparer.Ordinal)];

            Expr? when = null;
            if (Str(task["triggerPolicy"]?["condition"]) is { Length: > 0 } condition)
            {
                var condProblems = new List<string>();
                when = KfpCel.Compile(condition, n => ConditionInput(inParams, n, condProblems), condProblems);
                foreach (var p in condProblems)
                {
                    Problem($"{path}.triggerPolicy.condition", p);
                }
            }
            var startWhen = Str(task["triggerPolicy"]?["strategy"]) switch
            {
                null or "TRIGGER_STRATEGY_UNSPECIFIED" or "ALL_UPSTREAM_TASKS_SUCCEEDED" => StartWhen.AllSucceeded,
                "ALL_UPSTREAM_TASKS_COMPLETED" => StartWhen.AllEnded,
                var other => Unknown(other),
            };
            StartWhen Unknown(string s)
            {
                Problem($"{path}.triggerPolicy.strategy", $"unknown trigger strategy {s}");
                return StartWhen.AllSucceeded;
            }
            var retry = Retry(task["retryPolicy"] as JsonObject, $"{path}.retryPolicy");
            if (task["artifactIterator"] is not null)
            {
                Problem($"{path}.artifactIterator", "ParallelFor over artifacts is not supported");
                return null;
            }

            if (comp["dag"] is JsonObject)
            {
                return CompileDagTask(dag, key, name, task, comp, inParams, inArtifacts, deps, when, startWhen, path);
            }
            return CompileContainerTask(dag, key, name, compName, comp, inParams, inArtifacts, deps, when, startWhen, retry, path);
        }

        private Expr? ConditionInput(Dictionary<string, Src> inputs, string name, List<string> problems)
        {
            switch (inputs.GetValueOrDefault(name))
            {
                case RefSrc { Selector: null } r:
                    return new ReferenceExpr(r.Ref);
                case RefSrc:
                    problems.Add($"input '{name}' has a parameter selector, which a condition cannot read");
                    return new LiteralExpr(JsonValue.Create(false));
                case ConstSrc { Value: JsonValue v }:
                    return new LiteralExpr((JsonValue)v.DeepClone());
                case ConstSrc:
                    problems.Add($"input '{name}' is a list or an object, which a condition cannot compare");
                    return new LiteralExpr(JsonValue.Create(false));
                default:
                    return null;
            }
        }

        private RetryPolicy? Retry(JsonObject? p, string path)
        {
            if (p is null)
            {
                return null;
            }
            var count = Num(p["maxRetryCount"]) ?? 0;
            if (count is < 0 or > 100)
            {
                Problem($"{path}.maxRetryCount", "must be between 0 and 100");
                return null;
            }
            if (count == 0)
            {
                return null;
            }
            return new RetryPolicy((int)count, Duration(p["backoffDuration"], path) ?? TimeSpan.Zero, Num(p["backoffFactor"]) is { } f and > 0 ? f : 2,
                Duration(p["backoffMaxDuration"], path) ?? TimeSpan.FromHours(1));
        }

        private TimeSpan? Duration(JsonNode? n, string path)
        {
            if (Str(n) is not { } s)
            {
                return null;
            }
            if (s.EndsWith('s') && double.TryParse(s[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && secs is >= 0 and <= 86400)
            {
                return TimeSpan.FromSeconds(secs);
            }
            Problem(path, $"'{s}' is not a duration such as \"30s\"");
            return null;
        }

        private Src? ParamSource(Dag dag, JsonNode? spec, string path, Dictionary<string, Offered> siblings)
        {
            Src? src;
            if (Str(spec?["componentInputParameter"]) is { } input)
            {
                if (!dag.Parameters.TryGetValue(input, out src))
                {
                    Problem(path, $"the enclosing component has no input parameter '{input}'");
                    return null;
                }
            }
            else if (spec?["taskOutputParameter"] is JsonObject top)
            {
                var producer = Str(top["producerTask"]) ?? "";
                var key = Str(top["outputParameterKey"]) ?? "";
                if (!siblings.TryGetValue(producer, out var o))
                {
                    Problem(path, $"task '{producer}' is not an earlier task of the same DAG");
                    return null;
                }
                if (!o.Parameters.TryGetValue(key, out src))
                {
                    Problem(path, $"task '{producer}' has no output parameter '{key}'");
                    return null;
                }
            }
            else if (spec?["runtimeValue"] is JsonObject rv)
            {
                src = new ConstSrc(rv["constant"]?.DeepClone()
                    ?? (rv["constantValue"] is JsonObject legacy ? LegacyValue(legacy) : null));
            }
            else if (spec?["taskFinalStatus"] is JsonObject tfs)
            {
                var producer = Str(tfs["producerTask"]) ?? "";
                if (!siblings.ContainsKey(producer))
                {
                    Problem(path, $"task '{producer}' is not an earlier task of the same DAG");
                    return null;
                }
                src = new RefSrc(new StepStatusRef(dag.Prefix + producer));
            }
            else
            {
                Problem(path, "a parameter comes from componentInputParameter, taskOutputParameter, runtimeValue or taskFinalStatus");
                return null;
            }
            if (Str(spec?["parameterExpressionSelector"]) is { Length: > 0 } selector)
            {
                var sp = new List<string>();
                var sel = KfpSelector.Parse(selector, sp);
                foreach (var p in sp)
                {
                    Problem($"{path}.parameterExpressionSelector", p);
                }
                if (sel is null)
                {
                    return null;
                }
                if (src is not RefSrc { Selector: null } r)
                {
                    Problem($"{path}.parameterExpressionSelector", "a selector applies to a value known at run time only, once");
                    return null;
                }
                src = r with { Selector = sel };
            }
            return src;
        }

        private Src? ArtifactSource(Dag dag, JsonNode? spec, string path, Dictionary<string, Offered> siblings)
        {
            if (Str(spec?["componentInputArtifact"]) is { } input)
            {
                if (dag.Artifacts.TryGetValue(input, out var src))
                {
                    return src;
                }
                Problem(path, $"the enclosing component has no input artifact '{input}'");
                return null;
            }
            if (spec?["taskOutputArtifact"] is JsonObject toa)
            {
                var producer = Str(toa["producerTask"]) ?? "";
                var key = Str(toa["outputArtifactKey"]) ?? "";
                if (!siblings.TryGetValue(producer, out var o))
                {
                    Problem(path, $"task '{producer}' is not an earlier task of the same DAG");
                    return null;
                }
                if (o.Artifacts.TryGetValue(key, out var src))
                {
                    return src;
                }
                Problem(path, $"task '{producer}' has no output artifact '{key}'");
                return null;
            }
            Problem(path, "an artifact comes from taskOutputArtifact or componentInputArtifact (importers are not supported)");
            return null;
        }

        // ---- DAG tasks: groups and for-each ----

        private Offered? CompileDagTask(Dag dag, string key, string name, JsonObject task, JsonObject comp, Dictionary<string, Src> inParams,
            Dictionary<string, Src> inArtifacts, List<string> deps, Expr? when, StartWhen startWhen, string path)
        {
            var env = new Dictionary<string, Src>(StringComparer.Ordinal);
            foreach (var (n, def) in Obj(comp["inputDefinitions"]?["parameters"]))
            {
                if (inParams.TryGetValue(n, out var s))
                {
                    env[n] = s;
                }
                else if (def?["defaultValue"] is { } d)
                {
                    env[n] = new ConstSrc(d.DeepClone());
                }
            }
            var artEnv = new Dictionary<string, Src>(inArtifacts, StringComparer.Ordinal);

            if (task["parameterIterator"] is JsonObject iterator)
            {
                var itemInput = Str(iterator["itemInput"]);
                Template? items = null;
                if (Str(iterator["items"]?["raw"]) is { } raw)
                {
                    items = Template.Literal(raw);
                }
                else if (Str(iterator["items"]?["inputParameter"]) is { } from)
                {
                    items = env.GetValueOrDefault(from) switch
                    {
                        RefSrc { Selector: null } r => Template.Of(r.Ref),
                        ConstSrc c => Template.Literal(c.Value is JsonValue v && v.TryGetValue<string>(out var text) ? text : c.Value?.ToJsonString() ?? "null"),
                        _ => null,
                    };
                    if (items is null)
                    {
                        Problem($"{path}.parameterIterator.items.inputParameter", $"input '{from}' has no value to iterate over");
                    }
                }
                else
                {
                    Problem($"{path}.parameterIterator.items", "give raw or inputParameter");
                }
                if (itemInput is null)
                {
                    Problem($"{path}.parameterIterator.itemInput", "is required");
                }
                if (items is null || itemInput is null)
                {
                    return null;
                }
                var limit = Num(task["iteratorPolicy"]?["parallelismLimit"]);
                // Items are read by the loop's plan name (inside a body that name is body-local, as the engine's frames are).
                env[itemInput] = new RefSrc(new ItemRef(name));
                var body = new List<StepPlan>();
                var locals = new HashSet<string>(StringComparer.Ordinal);
                var inner = CompileDag(comp, new Dag
                {
                    Prefix = "", Group = null, Out = body, Parameters = env, Artifacts = artEnv, Path = $"{path}(body)", Depth = dag.Depth + 1,
                    BodyLocals = locals,
                });
                foreach (var b in body)
                {
                    locals.Add(b.Name);
                }
                CheckShadowing(env, artEnv, locals, path);
                var loop = new GroupStepPlan
                {
                    Name = name, Group = dag.Group, DependsOn = deps, When = when, StartWhen = startWhen,
                    ForEach = new ForEachSpec
                    {
                        Items = items, Body = body, MaxParallel = limit is > 0 ? (int)limit : null,
                        Collect = LoopOutputs(comp, inner, path),
                    },
                };
                dag.Out.Add(loop);
                var offered = new Offered();
                foreach (var (k, _) in loop.ForEach.Collect)
                {
                    offered.Parameters[k] = new RefSrc(new StepOutputRef(name, k));
                }
                return offered;
            }

            var group = new GroupStepPlan { Name = name, Group = dag.Group, DependsOn = deps, When = when, StartWhen = startWhen };
            dag.Out.Add(group);
            var members = CompileDag(comp, new Dag
            {
                Prefix = name + ".", Group = name, Out = dag.Out, Parameters = env, Artifacts = artEnv, Path = path, Depth = dag.Depth + 1,
                BodyLocals = dag.BodyLocals,
            });
            return DagOutputs(comp, members, path);
        }

        /// <summary>References from a for-each body to steps outside it must not name a step of the body itself.</summary>
        private void CheckShadowing(Dictionary<string, Src> env, Dictionary<string, Src> artEnv, HashSet<string> locals, string path)
        {
            foreach (var src in env.Values.Concat(artEnv.Values))
            {
                if (src is RefSrc r && StepsOf(r.Ref).FirstOrDefault(locals.Contains) is { } clash)
                {
                    Problem(path, $"a task inside this ParallelFor is named like task '{clash}' outside it, which it reads; rename one of them");
                }
            }
        }

        private static IEnumerable<string> StepsOf(Reference r) => r switch
        {
            StepOutputRef o => [o.StepName],
            StepStatusRef s => [s.StepName],
            FirstOfRef f => f.Choices.SelectMany(StepsOf),
            _ => [],
        };

        /// <summary>What a DAG task offers: its dag.outputs, resolved to its inner tasks' outputs.</summary>
        private Offered DagOutputs(JsonObject comp, Dictionary<string, Offered> inner, string path)
        {
            var o = new Offered();
            foreach (var (k, spec) in Obj(comp["dag"]?["outputs"]?["parameters"]))
            {
                Src? src = null;
                if (spec?["valueFromParameter"] is JsonObject vfp)
                {
                    src = InnerParam(inner, Str(vfp["producerSubtask"]), Str(vfp["outputParameterKey"]), $"{path}.outputs.parameters.{k}");
                }
                else if (spec?["valueFromOneof"]?["parameterSelectors"] is JsonArray selectors)
                {
                    var choices = new List<Reference>();
                    foreach (var s in selectors)
                    {
                        if (InnerParam(inner, Str(s?["producerSubtask"]), Str(s?["outputParameterKey"]), $"{path}.outputs.parameters.{k}")
                            is RefSrc { Selector: null } r)
                        {
                            choices.Add(r.Ref);
                        }
                    }
                    src = new RefSrc(new FirstOfRef(choices));
                }
                if (src is not null)
                {
                    o.Parameters[k] = src;
                }
            }
            foreach (var (k, spec) in Obj(comp["dag"]?["outputs"]?["artifacts"]))
            {
                var choices = new List<Reference>();
                foreach (var s in Arr(spec?["artifactSelectors"]))
                {
                    var producer = Str(s?["producerSubtask"]) ?? "";
                    var key = Str(s?["outputArtifactKey"]) ?? "";
                    if (inner.TryGetValue(producer, out var p) && p.Artifacts.TryGetValue(key, out var a) && a is RefSrc { Selector: null } r)
                    {
                        choices.Add(r.Ref);
                    }
                    else
                    {
                        Problem($"{path}.outputs.artifacts.{k}", $"task '{producer}' has no output artifact '{key}'");
                    }
                }
                if (choices.Count > 0)
                {
                    o.Artifacts[k] = new RefSrc(choices.Count == 1 ? choices[0] : new FirstOfRef(choices));
                }
            }
            return o;
        }

        private Src? InnerParam(Dictionary<string, Offered> inner, string? producer, string? key, string path)
        {
            if (producer is not null && key is not null && inner.TryGetValue(producer, out var p) && p.Parameters.TryGetValue(key, out var s))
            {
                return s;
            }
            Problem(path, $"task '{producer}' has no output parameter '{key}'");
            return null;
        }

        /// <summary>A for-each offers, for each of its dag.outputs parameters, the list of that output over its iterations.</summary>
        private Dictionary<string, StepOutputRef> LoopOutputs(JsonObject comp, Dictionary<string, Offered> inner, string path)
        {
            var collect = new Dictionary<string, StepOutputRef>(StringComparer.Ordinal);
            foreach (var (k, src) in DagOutputs(comp, inner, path).Parameters)
            {
                if (src is RefSrc { Ref: StepOutputRef o, Selector: null })
                {
                    collect[k] = o;
                }
                else
                {
                    Problem($"{path}.outputs.parameters.{k}", "a ParallelFor output must come straight from one task of its body");
                }
            }
            return collect;
        }

        // ---- container tasks ----

        private Offered? CompileContainerTask(Dag dag, string key, string name, string compName, JsonObject comp, Dictionary<string, Src> inParams,
            Dictionary<string, Src> inArtifacts, List<string> deps, Expr? when, StartWhen startWhen, RetryPolicy? retry, string path)
        {
            var label = Str(comp["executorLabel"]);
            if (label is null || executors[label] is not JsonObject exec)
            {
                Problem($"components.{compName}.executorLabel", label is null ? "a component needs a dag or an executorLabel" : $"executor '{label}' is not defined");
                return null;
            }
            if (exec["container"] is not JsonObject container)
            {
                var kind = exec.Select(kv => kv.Key).FirstOrDefault() ?? "(none)";
                Problem($"deploymentSpec.executors.{label}", $"only container executors run on Sluice, not '{kind}'");
                return null;
            }
            var command = Arr(container["command"]).Select(Str).ToList();
            var args = Arr(container["args"]).Select(Str).ToList();
            if (command.Any(c => c is null) || args.Any(a => a is null))
            {
                Problem($"deploymentSpec.executors.{label}.container", "command and args are lists of strings");
                return null;
            }
            if (command.Count + args.Count == 0)
            {
                Problem($"deploymentSpec.executors.{label}.container", "a container without command and args uses its image's entrypoint, which Sluice cannot run (no image is pulled)");
                return null;
            }
            var envList = new List<KfpEnv>();
            foreach (var e in Arr(container["env"]))
            {
                if (Str(e?["name"]) is { } en)
                {
                    envList.Add(new KfpEnv(en, Str(e?["value"]) ?? ""));
                }
            }

            var values = new Dictionary<string, Template>(StringComparer.Ordinal);
            var parameters = new List<KfpParam>();
            foreach (var (n, def) in Obj(comp["inputDefinitions"]?["parameters"]))
            {
                var type = Str(def?["parameterType"]) ?? Str(def?["type"]) ?? "STRING";
                if (TypeOf(type) is null)
                {
                    Problem($"components.{compName}.inputDefinitions.parameters.{n}", $"unknown parameter type {type}");
                    continue;
                }
                switch (inParams.GetValueOrDefault(n))
                {
                    case RefSrc r:
                        values["p:" + n] = Template.Of(r.Ref);
                        parameters.Add(new KfpParam(n, type, KfpParamKind.Value, null, r.Selector));
                        break;
                    case ConstSrc c:
                        parameters.Add(new KfpParam(n, type, KfpParamKind.Constant, c.Value, null));
                        break;
                    default:
                        if (def?["defaultValue"] is { } d)
                        {
                            parameters.Add(new KfpParam(n, type, KfpParamKind.Constant, d.DeepClone(), null));
                        }
                        else if (def?["isOptional"]?.GetValueKind() == JsonValueKind.True || type == "TASK_FINAL_STATUS")
                        {
                            parameters.Add(new KfpParam(n, type, KfpParamKind.Absent, null, null));
                        }
                        else
                        {
                            Problem($"{path}.inputs.parameters.{n}", $"input parameter '{n}' of {compName} has no value");
                        }
                        break;
                }
            }
            foreach (var (n, src) in inParams.Where(kv => !parameters.Any(p => p.Name == kv.Key)))
            {
                switch (src)
                {
                    case RefSrc r:
                        values["p:" + n] = Template.Of(r.Ref);
                        parameters.Add(new KfpParam(n, "STRING", KfpParamKind.Value, null, r.Selector, Hidden: true));
                        break;
                    case ConstSrc c:
                        parameters.Add(new KfpParam(n, "STRING", KfpParamKind.Constant, c.Value, null, Hidden: true));
                        break;
                }
            }
            var inputArtifacts = new List<KfpArtifactInput>();
            foreach (var (n, def) in Obj(comp["inputDefinitions"]?["artifacts"]))
            {
                if (inArtifacts.GetValueOrDefault(n) is RefSrc r)
                {
                    values["a:" + n] = Template.Of(r.Ref);
                    inputArtifacts.Add(new KfpArtifactInput(n, def?["artifactType"]?.DeepClone() as JsonObject, Present: true));
                }
                else if (def?["isOptional"]?.GetValueKind() == JsonValueKind.True)
                {
                    inputArtifacts.Add(new KfpArtifactInput(n, def?["artifactType"]?.DeepClone() as JsonObject, Present: false));
                }
                else
                {
                    Problem($"{path}.inputs.artifacts.{n}", $"input artifact '{n}' of {compName} has no value");
                }
            }
            var outParams = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (n, def) in Obj(comp["outputDefinitions"]?["parameters"]))
            {
                var type = Str(def?["parameterType"]) ?? Str(def?["type"]) ?? "STRING";
                if (TypeOf(type) is null || n.Contains('/', StringComparison.Ordinal) || n is "." or "..")
                {
                    Problem($"components.{compName}.outputDefinitions.parameters.{n}", "an output parameter needs a known type and a plain name");
                    continue;
                }
                outParams[n] = type;
            }
            var outArtifacts = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
            foreach (var (n, def) in Obj(comp["outputDefinitions"]?["artifacts"]))
            {
                outArtifacts[n] = def?["artifactType"]?.DeepClone() as JsonObject;
            }

            var task = new KfpTask
            {
                TaskKey = key, ComponentName = compName, ExecutorLabel = label, Image = Str(container["image"]) ?? "",
                Command = command!, Args = args!, Env = envList, Parameters = parameters, InputArtifacts = inputArtifacts,
                OutputParameters = outParams, OutputArtifacts = outArtifacts, DefaultPipelineRoot = defaultRoot, PipelineName = pipelineName,
            };
            foreach (var p in KfpContainerLayout.Check(task))
            {
                Problem($"deploymentSpec.executors.{label}.container", p);
            }
            var step = new ProcessStepPlan
            {
                Name = name, Group = dag.Group, DependsOn = deps, When = when, StartWhen = startWhen, Retry = retry,
                Command = Template.Literal(command.Count > 0 ? command[0]! : args[0]!),
                Values = values, Layout = new KfpContainerLayout(task),
                Outputs = [.. outParams.Select(kv => new OutputSpec(kv.Key, TypeOf(kv.Value)!.Value))],
            };
            dag.Out.Add(step);
            var offered = new Offered { Step = name };
            foreach (var n in outParams.Keys)
            {
                offered.Parameters[n] = new RefSrc(new StepOutputRef(name, n));
            }
            foreach (var n in outArtifacts.Keys)
            {
                offered.Artifacts[n] = new RefSrc(new StepOutputRef(name, n));
            }
            return offered;
        }
    }

    // ---- JSON helpers ----

    internal static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    internal static double? Num(JsonNode? n)
    {
        var text = n is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.ToJsonString() : Str(n);
        return text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    internal static IEnumerable<KeyValuePair<string, JsonNode?>> Obj(JsonNode? n) => n as JsonObject ?? [];

    internal static IEnumerable<JsonNode?> Arr(JsonNode? n) => n as JsonArray ?? [];
}
