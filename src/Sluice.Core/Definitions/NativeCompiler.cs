using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions;

/// <summary>Compiles the native pipeline definition (YAML, or JSON) into a <see cref="Plan"/>; see docs/pipelines.md.</summary>
public static partial class NativeCompiler
{
    public const int MaxSourceBytes = 4 * 1024 * 1024;
    public const int MaxSteps = 1000;
    public const int MaxArgs = 1000;
    public const int MaxStringLength = 100 * 1024;
    public const int MaxConditionDepth = 32;
    public const int MaxNameLength = 128;
    public const int MaxDescriptionLength = 4096;
    public const int MaxParallelStepsLimit = 1000;
    public const int MaxParameters = 1000;
    public const int MaxEnv = 1000;
    public const int MaxOutputs = 1000;
    public const int MaxRetries = 100;
    public const int MaxArguments = 1000;

    /// <summary>A function name: as the functions API accepts it.</summary>
    public const int MaxFunctionNameLength = 64;

    /// <summary>The fields a <c>run.FIELD</c> reference may name.</summary>
    public static IReadOnlyList<string> RunFields { get; } = ["id", "pipeline", "attempt"];

    /// <summary>Compiles <paramref name="source"/>; <paramref name="format"/> is "yaml", "json" or null (JSON when the
    /// text starts with '{', else YAML). Never throws: every problem found comes back in the result.</summary>
    public static CompileResult Compile(string source, string? format = null)
    {
        try
        {
            return new Compilation().Run(source ?? "", format);
        }
        catch (Exception e)
        {
            // A bug must not take the caller down with it; report it like any other problem.
            return new CompileResult(null, [new Problem("", "internal error while compiling the definition: " + e.Message)]);
        }
    }

    private static readonly string[] TopFields = ["name", "description", "maxParallelSteps", "parameters", "steps"];
    private static readonly string[] ParameterFields = ["type", "default", "description"];
    private static readonly string[] CommonStepFields = ["name", "type", "dependsOn"];
    private static readonly string[] ProcessFields = ["command", "args", "env", "workingDir", "outputs", "timeout", "retries", "stopGracePeriod"];
    private static readonly string[] ConditionFields = ["if", "then", "else"];
    private static readonly string[] FailFields = ["message"];
    private static readonly string[] CallbackFields = ["queue", "webhook", "arguments", "answerDeadline"];
    private static readonly string[] FunctionFields = ["function", "timeLimit"];
    private static readonly string[] AllStepFields =
        [.. CommonStepFields, .. ProcessFields, .. ConditionFields, .. FailFields, .. CallbackFields, .. FunctionFields];
    private static readonly string[] RetryFields = ["count", "backoff", "multiplier", "maxBackoff"];
    private static readonly string[] StepTypes = ["process", "condition", "fail", "callback", "function"];

    /// <summary>Fields a function step shares with other kinds (arguments is also a callback field).</summary>
    private static readonly string[] FunctionSharedFields = ["outputs", "retries", "arguments"];
    private static readonly string[] TypeNames = ["String", "Integer", "Float", "Boolean"];

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex PipelineName();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_-]*$")]
    private static partial Regex StepName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_-]*$")]
    private static partial Regex ValueName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,80}$")]
    private static partial Regex QueueName();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();

    [GeneratedRegex(@"\{\{[^{}]*\}\}")]
    private static partial Regex ClosedPlaceholder();

    /// <summary>A step as read, before the dependency graph is known.</summary>
    private sealed class Draft
    {
        public required string Path { get; init; }
        public required SMap Node { get; init; }
        public int Index { get; init; }
        public string? Name { get; set; }
        public SNode? NameNode { get; set; }
        public string Kind { get; set; } = "process";
        public bool KindValid { get; set; } = true;
        public Guard? Guard { get; set; }
        public List<(string Name, SNode Node, string Path)> ExplicitDeps { get; } = [];
        public List<(Reference Ref, SNode Node, string Path)> Refs { get; } = [];
        public bool OutputsKnown { get; set; } = true;
        public List<OutputSpec> Outputs { get; } = [];
        public Template? Command { get; set; }
        public List<Template> Args { get; } = [];
        public Dictionary<string, Template> Env { get; } = new(StringComparer.Ordinal);
        public Template? WorkingDir { get; set; }
        public TimeSpan? Timeout { get; set; }
        public TimeSpan? StopGrace { get; set; }
        public RetryPolicy? Retry { get; set; }
        public Expr? Condition { get; set; }
        public SNode? ConditionNode { get; set; }
        public bool ConditionOk { get; set; }
        public List<Draft> Then { get; } = [];
        public List<Draft> Else { get; } = [];
        public Template? Message { get; set; }
        public Template? Queue { get; set; }
        public Template? Webhook { get; set; }
        public Dictionary<string, Template> Arguments { get; } = new(StringComparer.Ordinal);
        public TimeSpan? AnswerDeadline { get; set; }
        public string? Function { get; set; }
        public TimeSpan? TimeLimit { get; set; }
        public List<string> Deps { get; } = [];
    }

    private sealed class Compilation
    {
        private readonly List<Problem> problems = [];
        private readonly Dictionary<string, ParameterSpec> parameters = new(StringComparer.Ordinal);
        private readonly List<ParameterSpec> parameterList = [];
        private readonly List<Draft> drafts = [];
        private string? name;
        private string? description;
        private int? maxParallel;

        public CompileResult Run(string source, string? format)
        {
            if (source.Length > MaxSourceBytes || Encoding.UTF8.GetByteCount(source) > MaxSourceBytes)
            {
                return Fail(new Problem("", $"a definition is at most {MaxSourceBytes} bytes (4 MB)"));
            }
            if (source.Length > 0 && source[0] == '\uFEFF')
            {
                source = source[1..];
            }
            bool json;
            var auto = false;
            switch (format?.ToLowerInvariant())
            {
                case null or "" or "native":
                    json = source.AsSpan().TrimStart().StartsWith("{", StringComparison.Ordinal);
                    auto = json;
                    break;
                case "yaml" or "yml" or "native-yaml":
                    json = false;
                    break;
                case "json" or "native-json":
                    json = true;
                    break;
                default:
                    return Fail(new Problem("format", $"unknown definition format '{Clip(format)}' (use yaml or json)"));
            }
            var root = SourceTree.Read(source, json, problems);
            if (root is null && auto)
            {
                // Not JSON after all: a YAML flow map also starts with '{'. Keep the JSON problems if it is not YAML either.
                var yamlProblems = new List<Problem>();
                if (SourceTree.Read(source, false, yamlProblems) is { } yamlRoot && yamlProblems.Count == 0)
                {
                    problems.Clear();
                    root = yamlRoot;
                }
            }
            if (root is null)
            {
                return new CompileResult(null, problems);
            }
            if (root is not SMap map)
            {
                Add("", root, $"a pipeline definition must be a map with name and steps, not {root.Describe()}");
                return new CompileResult(null, problems);
            }
            ReadPipeline(map);
            var byName = Link();
            var order = Order(byName);
            if (problems.Count > 0 || order is null)
            {
                // In source order, so that a reader can walk down the file; the sort is stable.
                return new CompileResult(null, [.. problems.OrderBy(p => p.Line ?? int.MaxValue).ThenBy(p => p.Column ?? 0)]);
            }
            var plan = new Plan
            {
                Name = name,
                Description = description,
                MaxParallelSteps = maxParallel,
                Parameters = parameterList,
                Steps = [.. order.Select(Build)],
            };
            return new CompileResult(plan, []);
        }

        private static CompileResult Fail(Problem p) => new(null, [p]);

        private void Add(string path, SNode? at, string message) => problems.Add(new Problem(path, message, at?.Line, at?.Column));

        private static string Join(string path, string key) => path.Length == 0 ? Clip(key) : $"{path}.{Clip(key)}";

        // ---- reading ----

        /// <summary>The entries of a map by key, reporting duplicate and unknown keys.</summary>
        private Dictionary<string, (SScalar Key, SNode Value)> Fields(SMap map, string path, string where, IReadOnlyCollection<string> allowed)
        {
            var fields = new Dictionary<string, (SScalar, SNode)>(StringComparer.Ordinal);
            foreach (var (key, value) in map.Entries)
            {
                if (!allowed.Contains(key.Text))
                {
                    Add(Join(path, key.Text), key, $"unknown field '{Clip(key.Text)}' in {where}{Suggest(key.Text, allowed)}");
                    continue;
                }
                if (!fields.TryAdd(key.Text, (key, value)))
                {
                    Add(Join(path, key.Text), key, $"duplicate field '{key.Text}' in {where}");
                }
            }
            return fields;
        }

        /// <summary>A field's value; null when absent or written as null.</summary>
        private static SNode? Get(Dictionary<string, (SScalar Key, SNode Value)> fields, string key) =>
            fields.TryGetValue(key, out var e) && e.Value is not SScalar { Kind: ScalarKind.Null } ? e.Value : null;

        private string? Text(SNode node, string path, string what, int max = MaxStringLength)
        {
            if (node is not SScalar s || s.Kind == ScalarKind.Null)
            {
                Add(path, node, $"{what} must be a string, not {node.Describe()}");
                return null;
            }
            if (s.Text.Length > max)
            {
                Add(path, node, $"{what} is {s.Text.Length} characters long; at most {max} are allowed");
                return null;
            }
            return s.Text;
        }

        /// <summary>Like <see cref="Text"/>, but a number or boolean is a problem: names and types are strings.</summary>
        private string? Name(SNode node, string path, string what)
        {
            if (node is SScalar { Kind: ScalarKind.Integer or ScalarKind.Float or ScalarKind.Boolean } s)
            {
                Add(path, node, $"{what} must be a string, not {Shown(node)} (quote it: \"{Clip(s.Text)}\")");
                return null;
            }
            return Text(node, path, what);
        }

        private long? Integer(SNode node, string path, string what)
        {
            switch (node)
            {
                case SScalar { Kind: ScalarKind.Integer, Value: long l }:
                    return l;
                case SScalar { Kind: ScalarKind.Float, Value: double d } when double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 9e15:
                    return (long)d;
                default:
                    Add(path, node, $"{what} must be an integer, not {Shown(node)}");
                    return null;
            }
        }

        private double? Number(SNode node, string path, string what)
        {
            switch (node)
            {
                case SScalar { Kind: ScalarKind.Integer, Value: long l }:
                    return l;
                case SScalar { Kind: ScalarKind.Float, Value: double d } when double.IsFinite(d):
                    return d;
                default:
                    Add(path, node, $"{what} must be a finite number, not {Shown(node)}");
                    return null;
            }
        }

        private TimeSpan? Duration(SNode node, string path, string what, bool zeroAllowed, TimeSpan max, string maxText)
        {
            double seconds;
            switch (node)
            {
                case SScalar { Kind: ScalarKind.Integer, Value: long l }:
                    seconds = l;
                    break;
                case SScalar { Kind: ScalarKind.Float, Value: double d } when double.IsFinite(d):
                    seconds = d;
                    break;
                case SScalar { Kind: ScalarKind.String } s when Durations.TryParseSeconds(s.Text, out var parsed):
                    seconds = parsed;
                    break;
                default:
                    Add(path, node, $"{what} must be a duration such as 250ms, 30s, 5m, 2h or 1h30m, or a number of seconds, not {Shown(node)}");
                    return null;
            }
            if (seconds < 0 || (seconds == 0 && !zeroAllowed) || seconds > max.TotalSeconds)
            {
                Add(path, node, zeroAllowed
                    ? $"{what} must be between 0 and {maxText}"
                    : $"{what} must be more than 0 and at most {maxText}");
                return null;
            }
            return TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));
        }

        private T? Expect<T>(SNode node, string path, string what, string example)
            where T : SNode
        {
            if (node is T t)
            {
                return t;
            }
            Add(path, node, $"{what} must be {example}, not {Shown(node)}");
            return null;
        }

        private Template? TemplateOf(SNode node, string path, string what, Draft owner)
        {
            var text = Text(node, path, what);
            if (text is null)
            {
                return null;
            }
            var messages = new List<string>();
            var t = Template.Parse(text, messages);
            foreach (var m in messages)
            {
                Add(path, node, m);
            }
            if (messages.Count == 0 && ClosedPlaceholder().Replace(text, "").Contains("{{", StringComparison.Ordinal))
            {
                messages.Add("unclosed '{{' in template");
                Add(path, node, messages[0]);
            }
            foreach (var r in t.References)
            {
                owner.Refs.Add((r, node, path));
            }
            return messages.Count == 0 ? t : null;
        }

        private void ReadPipeline(SMap map)
        {
            var f = Fields(map, "", "the pipeline", TopFields);
            if (Get(f, "name") is { } n)
            {
                name = Name(n, "name", "the pipeline name");
                if (name is not null && (name.Length > MaxNameLength || !PipelineName().IsMatch(name)))
                {
                    Add("name", n, $"invalid pipeline name '{Clip(name)}': 1-{MaxNameLength} characters of letters, digits, '.', '_' and '-', starting with a letter or digit");
                }
            }
            else
            {
                Add("name", map, "the pipeline needs a name");
            }
            if (Get(f, "description") is { } d)
            {
                description = Text(d, "description", "the description", MaxDescriptionLength);
            }
            if (Get(f, "maxParallelSteps") is { } mp && Integer(mp, "maxParallelSteps", "maxParallelSteps") is { } m)
            {
                if (m is < 1 or > MaxParallelStepsLimit)
                {
                    Add("maxParallelSteps", mp, $"maxParallelSteps must be between 1 and {MaxParallelStepsLimit}");
                }
                else
                {
                    maxParallel = (int)m;
                }
            }
            if (Get(f, "parameters") is { } ps && Expect<SMap>(ps, "parameters", "parameters", "a map of name: { type, default, description }") is { } pm)
            {
                ReadParameters(pm);
            }
            var steps = Get(f, "steps");
            if (steps is null)
            {
                Add("steps", map, "the pipeline needs steps: a list with at least one step");
            }
            else if (Expect<SSeq>(steps, "steps", "steps", "a list of steps") is { } seq)
            {
                if (seq.Items.Count == 0)
                {
                    Add("steps", seq, "the pipeline needs at least one step");
                }
                ReadSteps(seq, "steps", null, true, 0);
                if (drafts.Count > MaxSteps)
                {
                    Add("steps", seq, $"a pipeline has at most {MaxSteps} steps (counting those inside then and else); this one has {drafts.Count}");
                }
            }
        }

        private void ReadParameters(SMap map)
        {
            if (map.Entries.Count > MaxParameters)
            {
                Add("parameters", map, $"a pipeline has at most {MaxParameters} parameters");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in map.Entries)
            {
                var pname = key.Text;
                var path = Join("parameters", pname);
                if (!seen.Add(pname))
                {
                    Add(path, key, $"duplicate parameter '{Clip(pname)}'");
                    continue;
                }
                var nameOk = pname.Length <= MaxNameLength && ValueName().IsMatch(pname);
                if (!nameOk)
                {
                    Add(path, key, $"invalid parameter name '{Clip(pname)}': 1-{MaxNameLength} characters of letters, digits, '_' and '-', starting with a letter or '_'");
                }
                if (Expect<SMap>(value, path, $"parameter '{Clip(pname)}'", "a map such as { type: String, default: ... }") is not { } spec)
                {
                    continue;
                }
                var f = Fields(spec, path, $"parameter '{Clip(pname)}'", ParameterFields);
                ParamType? type = null;
                if (Get(f, "type") is { } tn)
                {
                    type = TypeOf(tn, Join(path, "type"));
                }
                else
                {
                    Add(Join(path, "type"), spec, $"parameter '{Clip(pname)}' needs a type: String, Integer, Float or Boolean");
                }
                JsonNode? def = null;
                var defOk = true;
                if (Get(f, "default") is { } dn && type is { } t)
                {
                    def = DefaultOf(dn, t, Join(path, "default"));
                    defOk = def is not null;
                }
                string? desc = null;
                if (Get(f, "description") is { } dd)
                {
                    desc = Text(dd, Join(path, "description"), "the description", MaxDescriptionLength);
                }
                if (nameOk && type is { } ty && defOk)
                {
                    var p = new ParameterSpec(pname, ty, def, desc);
                    parameters[pname] = p;
                    parameterList.Add(p);
                }
                else if (nameOk)
                {
                    // Known but broken: references to it are not reported again as unknown.
                    parameters[pname] = new ParameterSpec(pname, type ?? ParamType.String, null);
                }
            }
        }

        private ParamType? TypeOf(SNode node, string path)
        {
            var text = Name(node, path, "a type");
            if (text is null)
            {
                return null;
            }
            if (Array.IndexOf(TypeNames, text) is var i and >= 0)
            {
                return (ParamType)i;
            }
            Add(path, node, $"unknown type '{Clip(text)}' (use String, Integer, Float or Boolean){Suggest(text, TypeNames)}");
            return null;
        }

        private JsonNode? DefaultOf(SNode node, ParamType type, string path)
        {
            if (node is SScalar s)
            {
                switch (type)
                {
                    case ParamType.String when s.Kind == ScalarKind.String:
                        return s.Text.Length <= MaxStringLength ? JsonValue.Create(s.Text) : TooLong(s, path);
                    case ParamType.Integer when s.Kind == ScalarKind.Integer:
                        return JsonValue.Create((long)s.Value!);
                    case ParamType.Float when s.Kind == ScalarKind.Integer:
                        return JsonValue.Create((double)(long)s.Value!);
                    case ParamType.Float when s.Kind == ScalarKind.Float && double.IsFinite((double)s.Value!):
                        return JsonValue.Create((double)s.Value!);
                    case ParamType.Boolean when s.Kind == ScalarKind.Boolean:
                        return JsonValue.Create((bool)s.Value!);
                }
            }
            var hint = type == ParamType.String && node is SScalar { Kind: not ScalarKind.String } q ? $" (quote it: '{Clip(q.Text)}')" : "";
            Add(path, node, $"the default must be {(type == ParamType.Integer ? "an" : "a")} {type}, not {Shown(node)}{hint}");
            return null;
        }

        private JsonNode? TooLong(SScalar s, string path)
        {
            Add(path, s, $"the default is {s.Text.Length} characters long; at most {MaxStringLength} are allowed");
            return null;
        }

        private void ReadSteps(SSeq seq, string path, Draft? parent, bool branch, int depth)
        {
            for (var i = 0; i < seq.Items.Count; i++)
            {
                ReadStep(seq.Items[i], $"{path}[{i}]", parent, branch, depth, out var d);
                if (d is not null && parent is not null)
                {
                    (branch ? parent.Then : parent.Else).Add(d);
                }
            }
        }

        private void ReadStep(SNode node, string path, Draft? parent, bool branch, int depth, out Draft? draft)
        {
            draft = null;
            if (Expect<SMap>(node, path, "a step", "a map with at least a name") is not { } map)
            {
                return;
            }
            var d = new Draft { Path = path, Node = map, Index = drafts.Count };
            drafts.Add(d);
            draft = d;
            if (parent is not null)
            {
                d.Guard = new Guard(parent.Name ?? "", branch);
            }
            var nameEntry = map.Entries.FirstOrDefault(e => e.Key.Text == "name");
            var where = nameEntry.Value is SScalar { Kind: not ScalarKind.Null } ns ? $"step '{Clip(ns.Text)}'" : $"step {path}";
            var f = Fields(map, path, where, AllStepFields);

            if (Get(f, "name") is { } n)
            {
                d.NameNode = n;
                d.Name = Name(n, Join(path, "name"), "a step name");
                if (d.Name is not null && (d.Name.Length > MaxNameLength || !StepName().IsMatch(d.Name)))
                {
                    Add(Join(path, "name"), n, $"invalid step name '{Clip(d.Name)}': 1-{MaxNameLength} characters of letters, digits, '_' and '-', starting with a letter, digit or '_'");
                }
            }
            else
            {
                Add(Join(path, "name"), map, "a step needs a name");
            }

            if (Get(f, "type") is { } tn && Name(tn, Join(path, "type"), "the step type") is { } type)
            {
                if (StepTypes.Contains(type))
                {
                    d.Kind = type;
                }
                else
                {
                    d.KindValid = false;
                    d.OutputsKnown = false;
                    Add(Join(path, "type"), tn, $"unknown step type '{Clip(type)}' (use process, condition, fail, callback or function){Suggest(type, StepTypes)}");
                }
            }
            else if (f.ContainsKey("type") && Get(f, "type") is not null)
            {
                d.KindValid = false;
                d.OutputsKnown = false;
            }

            if (Get(f, "dependsOn") is { } deps && Expect<SSeq>(deps, Join(path, "dependsOn"), "dependsOn", "a list of step names") is { } depList)
            {
                for (var i = 0; i < depList.Items.Count; i++)
                {
                    var dpath = $"{Join(path, "dependsOn")}[{i}]";
                    if (Name(depList.Items[i], dpath, "a step name") is { } dn)
                    {
                        d.ExplicitDeps.Add((dn, depList.Items[i], dpath));
                    }
                }
            }

            if (!d.KindValid)
            {
                return;
            }
            foreach (var (key, (keyNode, _)) in f)
            {
                if (d.Kind == "function" && FunctionSharedFields.Contains(key))
                {
                    continue;
                }
                if (d.Kind != "process" && ProcessFields.Contains(key) && !(key == "outputs" && d.Kind == "callback"))
                {
                    Add(Join(path, key), keyNode, key == "outputs"
                        ? $"a {d.Kind} step has no outputs"
                        : key == "timeout" && d.Kind == "function"
                            ? "'timeout' is only for process steps; a function step has timeLimit"
                            : $"'{key}' is only for process steps, not for a {d.Kind} step");
                }
                else if (d.Kind != "condition" && ConditionFields.Contains(key))
                {
                    Add(Join(path, key), keyNode, $"'{key}' is only for condition steps, not for a {d.Kind} step");
                }
                else if (d.Kind != "fail" && FailFields.Contains(key))
                {
                    Add(Join(path, key), keyNode, $"'{key}' is only for fail steps, not for a {d.Kind} step");
                }
                else if (d.Kind != "callback" && CallbackFields.Contains(key))
                {
                    Add(Join(path, key), keyNode, key == "arguments"
                        ? $"'arguments' is only for callback and function steps, not for a {d.Kind} step"
                        : $"'{key}' is only for callback steps, not for a {d.Kind} step");
                }
                else if (d.Kind != "function" && FunctionFields.Contains(key))
                {
                    Add(Join(path, key), keyNode, $"'{key}' is only for function steps, not for a {d.Kind} step");
                }
            }
            switch (d.Kind)
            {
                case "process":
                    ReadProcess(d, f, map, path);
                    break;
                case "condition":
                    ReadCondition(d, f, map, path, depth);
                    break;
                case "callback":
                    ReadCallback(d, f, map, path);
                    break;
                case "function":
                    ReadFunction(d, f, map, path);
                    break;
                default:
                    d.Message = Get(f, "message") is { } msg
                        ? TemplateOf(msg, Join(path, "message"), "the message", d)
                        : Template.Literal($"step {d.Name} failed the run");
                    break;
            }
        }

        private void ReadProcess(Draft d, Dictionary<string, (SScalar Key, SNode Value)> f, SMap map, string path)
        {
            if (Get(f, "command") is { } c)
            {
                d.Command = TemplateOf(c, Join(path, "command"), "the command", d);
                if (d.Command is not null && d.Command.Source.Trim().Length == 0)
                {
                    Add(Join(path, "command"), c, "the command must not be empty");
                }
            }
            else
            {
                Add(Join(path, "command"), map, "a process step needs a command");
            }
            if (Get(f, "args") is { } a && Expect<SSeq>(a, Join(path, "args"), "args", "a list of strings") is { } args)
            {
                if (args.Items.Count > MaxArgs)
                {
                    Add(Join(path, "args"), args, $"a step has at most {MaxArgs} args; this one has {args.Items.Count}");
                }
                for (var i = 0; i < args.Items.Count && i <= MaxArgs; i++)
                {
                    var apath = $"{Join(path, "args")}[{i}]";
                    if (TemplateOf(args.Items[i], apath, "an argument", d) is { } t)
                    {
                        d.Args.Add(t);
                    }
                }
            }
            if (Get(f, "env") is { } e && Expect<SMap>(e, Join(path, "env"), "env", "a map of NAME: value") is { } env)
            {
                if (env.Entries.Count > MaxEnv)
                {
                    Add(Join(path, "env"), env, $"a step has at most {MaxEnv} environment variables");
                }
                foreach (var (key, value) in env.Entries)
                {
                    var epath = Join(Join(path, "env"), key.Text);
                    if (!EnvName().IsMatch(key.Text) || key.Text.Length > MaxNameLength)
                    {
                        Add(epath, key, $"invalid environment variable name '{Clip(key.Text)}': letters, digits and '_', not starting with a digit");
                    }
                    else if (key.Text.StartsWith("SLUICE_", StringComparison.Ordinal))
                    {
                        Add(epath, key, $"environment variable names starting with SLUICE_ are reserved ('{Clip(key.Text)}')");
                    }
                    else if (d.Env.ContainsKey(key.Text))
                    {
                        Add(epath, key, $"duplicate environment variable '{key.Text}'");
                    }
                    else if (value is SScalar { Kind: ScalarKind.Null })
                    {
                        Add(epath, value, $"environment variable '{key.Text}' needs a value (use \"\" for an empty one)");
                    }
                    else if (TemplateOf(value, epath, "an environment variable value", d) is { } t)
                    {
                        d.Env[key.Text] = t;
                    }
                }
            }
            if (Get(f, "workingDir") is { } w)
            {
                d.WorkingDir = TemplateOf(w, Join(path, "workingDir"), "workingDir", d);
            }
            ReadOutputs(d, f, path);
            if (Get(f, "timeout") is { } to)
            {
                d.Timeout = Duration(to, Join(path, "timeout"), "timeout", false, TimeSpan.FromDays(7), "7 days");
            }
            if (Get(f, "stopGracePeriod") is { } g)
            {
                d.StopGrace = Duration(g, Join(path, "stopGracePeriod"), "stopGracePeriod", true, TimeSpan.FromHours(1), "1 hour");
            }
            if (Get(f, "retries") is { } r)
            {
                d.Retry = Retries(r, Join(path, "retries"));
            }
        }

        private void ReadOutputs(Draft d, Dictionary<string, (SScalar Key, SNode Value)> f, string path)
        {
            if (Get(f, "outputs") is { } o && Expect<SMap>(o, Join(path, "outputs"), "outputs", "a map of name: type") is { } outs)
            {
                if (outs.Entries.Count > MaxOutputs)
                {
                    Add(Join(path, "outputs"), outs, $"a step has at most {MaxOutputs} outputs");
                }
                foreach (var (key, value) in outs.Entries)
                {
                    var opath = Join(Join(path, "outputs"), key.Text);
                    if (key.Text.Length > MaxNameLength || !ValueName().IsMatch(key.Text))
                    {
                        Add(opath, key, $"invalid output name '{Clip(key.Text)}': 1-{MaxNameLength} characters of letters, digits, '_' and '-', starting with a letter or '_'");
                        d.OutputsKnown = false;
                    }
                    else if (d.Outputs.Any(x => x.Name == key.Text))
                    {
                        Add(opath, key, $"duplicate output '{key.Text}'");
                    }
                    else if (TypeOf(value, opath) is { } ot)
                    {
                        d.Outputs.Add(new OutputSpec(key.Text, ot));
                    }
                    else
                    {
                        d.OutputsKnown = false;
                    }
                }
            }
        }

        private void ReadCallback(Draft d, Dictionary<string, (SScalar Key, SNode Value)> f, SMap map, string path)
        {
            var queue = Get(f, "queue");
            var webhook = Get(f, "webhook");
            if (queue is not null && webhook is not null)
            {
                Add(Join(path, "webhook"), webhook, "a callback step has either a queue or a webhook, not both");
            }
            else if (queue is null && webhook is null)
            {
                Add(Join(path, "queue"), map, "a callback step needs a queue (or a webhook URL)");
            }
            if (queue is not null)
            {
                d.Queue = TemplateOf(queue, Join(path, "queue"), "the queue", d);
                if (d.Queue is { IsLiteral: true } q && !QueueName().IsMatch(q.Source) && !q.Source.StartsWith("https://", StringComparison.Ordinal)
                    && !q.Source.StartsWith("http://", StringComparison.Ordinal))
                {
                    Add(Join(path, "queue"), queue, $"invalid queue name '{Clip(q.Source)}': 1-80 characters of letters, digits, '-' and '_' (or a queue URL)");
                }
            }
            if (webhook is not null)
            {
                d.Webhook = TemplateOf(webhook, Join(path, "webhook"), "the webhook URL", d);
                if (d.Webhook is { IsLiteral: true } w && !(Uri.TryCreate(w.Source, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                {
                    Add(Join(path, "webhook"), webhook, $"the webhook must be an http(s) URL, not '{Clip(w.Source)}'");
                }
            }
            ReadArguments(d, f, path);
            if (Get(f, "answerDeadline") is { } dl)
            {
                d.AnswerDeadline = Duration(dl, Join(path, "answerDeadline"), "answerDeadline", false, TimeSpan.FromDays(365), "365 days");
            }
            ReadOutputs(d, f, path);
        }

        /// <summary>A map of name: template; a value that is exactly one reference is sent with its type.</summary>
        private void ReadArguments(Draft d, Dictionary<string, (SScalar Key, SNode Value)> f, string path)
        {
            if (Get(f, "arguments") is not { } a || Expect<SMap>(a, Join(path, "arguments"), "arguments", "a map of name: value") is not { } args)
            {
                return;
            }
            if (args.Entries.Count > MaxArguments)
            {
                Add(Join(path, "arguments"), args, $"a step has at most {MaxArguments} arguments");
            }
            foreach (var (key, value) in args.Entries)
            {
                var apath = Join(Join(path, "arguments"), key.Text);
                if (key.Text.Length is 0 or > MaxNameLength)
                {
                    Add(apath, key, $"an argument name is 1-{MaxNameLength} characters");
                }
                else if (d.Arguments.ContainsKey(key.Text))
                {
                    Add(apath, key, $"duplicate argument '{Clip(key.Text)}'");
                }
                else if (TemplateOf(value, apath, "an argument value", d) is { } t)
                {
                    d.Arguments[key.Text] = t;
                }
            }
        }

        private void ReadFunction(Draft d, Dictionary<string, (SScalar Key, SNode Value)> f, SMap map, string path)
        {
            if (Get(f, "function") is { } fn)
            {
                d.Function = Name(fn, Join(path, "function"), "the function name");
                if (d.Function is not null && !FunctionName().IsMatch(d.Function))
                {
                    Add(Join(path, "function"), fn,
                        $"invalid function name '{Clip(d.Function)}': 1-{MaxFunctionNameLength} characters of letters, digits, '_' and '-'");
                    d.Function = null;
                }
            }
            else
            {
                Add(Join(path, "function"), map, "a function step needs a function: the name it is registered under");
            }
            ReadArguments(d, f, path);
            if (Get(f, "timeLimit") is { } tl)
            {
                d.TimeLimit = Duration(tl, Join(path, "timeLimit"), "timeLimit", false, FunctionStepPlan.MaxTimeLimit, "10 minutes");
                if (d.TimeLimit < FunctionStepPlan.MinTimeLimit)
                {
                    Add(Join(path, "timeLimit"), tl, "timeLimit must be at least 1s and at most 10 minutes");
                    d.TimeLimit = null;
                }
            }
            ReadOutputs(d, f, path);
            if (Get(f, "retries") is { } r)
            {
                d.Retry = Retries(r, Join(path, "retries"));
            }
        }

        private RetryPolicy? Retries(SNode node, string path)
        {
            long? count;
            var countNode = node;
            var countPath = path;
            TimeSpan? backoff = TimeSpan.FromSeconds(1);
            double? multiplier = 2.0;
            TimeSpan? maxBackoff = null;
            var ok = true;
            switch (node)
            {
                case SScalar { Kind: ScalarKind.Integer or ScalarKind.Float }:
                    count = Integer(node, path, "retries");
                    break;
                case SMap map:
                {
                    var f = Fields(map, path, "retries", RetryFields);
                    if (Get(f, "count") is { } c)
                    {
                        countNode = c;
                        countPath = Join(path, "count");
                        count = Integer(c, countPath, "the retry count");
                    }
                    else
                    {
                        Add(Join(path, "count"), map, "retries needs a count");
                        count = null;
                    }
                    if (Get(f, "backoff") is { } b)
                    {
                        backoff = Duration(b, Join(path, "backoff"), "backoff", true, TimeSpan.FromDays(1), "1 day");
                        ok &= backoff is not null;
                    }
                    if (Get(f, "multiplier") is { } m)
                    {
                        multiplier = Number(m, Join(path, "multiplier"), "the multiplier");
                        if (multiplier is < 1 or > 100)
                        {
                            Add(Join(path, "multiplier"), m, "the multiplier must be between 1 and 100");
                            multiplier = null;
                        }
                        ok &= multiplier is not null;
                    }
                    if (Get(f, "maxBackoff") is { } mb)
                    {
                        maxBackoff = Duration(mb, Join(path, "maxBackoff"), "maxBackoff", false, TimeSpan.FromDays(1), "1 day");
                        ok &= maxBackoff is not null;
                        if (maxBackoff is { } x && backoff is { } y && x < y)
                        {
                            Add(Join(path, "maxBackoff"), mb, "maxBackoff must not be shorter than backoff");
                            ok = false;
                        }
                    }
                    break;
                }
                default:
                    Add(path, node, $"retries must be a count or a map {{ count, backoff, multiplier, maxBackoff }}, not {Shown(node)}");
                    return null;
            }
            if (count is < 0 or > MaxRetries)
            {
                Add(countPath, countNode, $"the retry count must be between 0 and {MaxRetries}");
                return null;
            }
            return count is { } n && ok ? new RetryPolicy((int)n, backoff!.Value, multiplier!.Value, maxBackoff) : null;
        }

        private void ReadCondition(Draft d, Dictionary<string, (SScalar Key, SNode Value)> f, SMap map, string path, int depth)
        {
            if (Get(f, "if") is { } c)
            {
                d.ConditionNode = c;
                var text = Text(c, Join(path, "if"), "the condition");
                if (text is not null)
                {
                    var messages = new List<string>();
                    d.Condition = Expr.Parse(text, messages);
                    foreach (var m in messages)
                    {
                        Add(Join(path, "if"), c, "invalid condition: " + m);
                    }
                    d.ConditionOk = messages.Count == 0;
                    if (d.ConditionOk)
                    {
                        foreach (var r in d.Condition.References)
                        {
                            d.Refs.Add((r, c, Join(path, "if")));
                        }
                    }
                }
            }
            else
            {
                Add(Join(path, "if"), map, "a condition step needs an if expression");
            }
            foreach (var (key, branch) in new[] { ("then", true), ("else", false) })
            {
                if (Get(f, key) is not { } b || Expect<SSeq>(b, Join(path, key), key, "a list of steps") is not { } seq)
                {
                    continue;
                }
                if (depth + 1 > MaxConditionDepth)
                {
                    Add(Join(path, key), seq, $"conditions are nested more than {MaxConditionDepth} levels deep");
                    continue;
                }
                ReadSteps(seq, Join(path, key), d, branch, depth + 1);
            }
        }

        // ---- linking ----

        private Dictionary<string, Draft> Link()
        {
            var byName = new Dictionary<string, Draft>(StringComparer.Ordinal);
            foreach (var d in drafts)
            {
                if (d.Name is null)
                {
                    continue;
                }
                if (!byName.TryAdd(d.Name, d))
                {
                    Add(Join(d.Path, "name"), d.NameNode, $"duplicate step name '{Clip(d.Name)}' (first used at {byName[d.Name].Path})");
                }
            }
            foreach (var d in drafts)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                void Depend(string n)
                {
                    if (seen.Add(n))
                    {
                        d.Deps.Add(n);
                    }
                }
                foreach (var (dep, node, path) in d.ExplicitDeps)
                {
                    if (dep == d.Name)
                    {
                        Add(path, node, "a step cannot depend on itself");
                    }
                    else if (!byName.ContainsKey(dep))
                    {
                        Add(path, node, $"unknown step '{Clip(dep)}' in dependsOn{Suggest(dep, byName.Keys)}");
                    }
                    else
                    {
                        Depend(dep);
                    }
                }
                foreach (var (r, node, path) in d.Refs)
                {
                    switch (r)
                    {
                        case ParamRef p when !parameters.ContainsKey(p.Name):
                            Add(path, node, $"unknown parameter '{p.Name}' in {r}{Suggest(p.Name, parameters.Keys)}");
                            break;
                        case RunRef rr when !RunFields.Contains(rr.Field):
                            Add(path, node, $"unknown run field '{rr.Field}' in {r} (use run.id, run.pipeline or run.attempt)");
                            break;
                        case StepOutputRef o:
                            if (!byName.TryGetValue(o.StepName, out var target))
                            {
                                Add(path, node, $"unknown step '{o.StepName}' in {r}{Suggest(o.StepName, byName.Keys)}");
                            }
                            else if (target == d)
                            {
                                Add(path, node, $"a step cannot use its own outputs ({r})");
                            }
                            else
                            {
                                if (target.KindValid && target.Kind is "condition" or "fail")
                                {
                                    Add(path, node, $"step '{o.StepName}' is a {target.Kind} step and has no outputs ({r})");
                                }
                                else if (target.OutputsKnown && target.Outputs.All(x => x.Name != o.Output))
                                {
                                    Add(path, node, target.Outputs.Count == 0
                                        ? $"step '{o.StepName}' declares no outputs, so {r} does not exist"
                                        : $"step '{o.StepName}' has no output '{o.Output}' (it declares {string.Join(", ", target.Outputs.Select(x => x.Name))}){Suggest(o.Output, target.Outputs.Select(x => x.Name))}");
                                }
                                Depend(o.StepName);
                            }
                            break;
                    }
                }
                if (d.Guard is { ConditionStep.Length: > 0 } g)
                {
                    Depend(g.ConditionStep);
                }
                if (d.Condition is not null && d.ConditionOk)
                {
                    var messages = new List<string>();
                    d.Condition.CheckTypes(r => TypeOf(r, byName), messages);
                    foreach (var m in messages)
                    {
                        Add(Join(d.Path, "if"), d.ConditionNode, m);
                    }
                }
            }
            return byName;
        }

        private ParamType? TypeOf(Reference r, Dictionary<string, Draft> byName) => r switch
        {
            ParamRef p when parameters.TryGetValue(p.Name, out var spec) && parameterList.Contains(spec) => spec.Type,
            StepOutputRef o when byName.TryGetValue(o.StepName, out var s) => s.Outputs.FirstOrDefault(x => x.Name == o.Output)?.Type,
            RunRef { Field: "id" or "pipeline" } => ParamType.String,
            RunRef { Field: "attempt" } => ParamType.Integer,
            _ => null,
        };

        /// <summary>Steps in a topological order, by definition order among those ready; null (with problems) on a cycle.</summary>
        private List<Draft>? Order(Dictionary<string, Draft> byName)
        {
            var nodes = byName.Values.OrderBy(d => d.Index).ToList();
            var edges = nodes.ToDictionary(d => d, d => d.Deps.Select(x => byName.GetValueOrDefault(x)).OfType<Draft>().Where(x => x != d).ToList());
            var cycles = false;
            foreach (var scc in StronglyConnected(nodes, edges))
            {
                if (scc.Count < 2)
                {
                    continue;
                }
                cycles = true;
                var members = scc.ToHashSet();
                var start = scc.MinBy(x => x.Index)!;
                var cycle = FindCycle(start, members, edges);
                Add(start.Path, start.NameNode ?? start.Node, $"dependency cycle: {string.Join(" -> ", cycle.Select(x => x.Name))}");
            }
            if (cycles)
            {
                return null;
            }
            var waiting = nodes.ToDictionary(d => d, d => edges[d].Count);
            var dependants = nodes.ToDictionary(d => d, _ => new List<Draft>());
            foreach (var d in nodes)
            {
                foreach (var dep in edges[d])
                {
                    dependants[dep].Add(d);
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
            return order;
        }

        /// <summary>Tarjan's algorithm without recursion (a long dependency chain must not exhaust the stack).</summary>
        private static List<List<Draft>> StronglyConnected(List<Draft> nodes, Dictionary<Draft, List<Draft>> edges)
        {
            var index = new Dictionary<Draft, int>();
            var low = new Dictionary<Draft, int>();
            var onStack = new HashSet<Draft>();
            var stack = new Stack<Draft>();
            var result = new List<List<Draft>>();
            var counter = 0;
            foreach (var root in nodes)
            {
                if (index.ContainsKey(root))
                {
                    continue;
                }
                var work = new Stack<(Draft Node, int Next)>();
                work.Push((root, 0));
                index[root] = low[root] = counter++;
                stack.Push(root);
                onStack.Add(root);
                while (work.Count > 0)
                {
                    var (v, i) = work.Pop();
                    var successors = edges[v];
                    if (i < successors.Count)
                    {
                        work.Push((v, i + 1));
                        var w = successors[i];
                        if (index.TryAdd(w, counter))
                        {
                            low[w] = counter++;
                            stack.Push(w);
                            onStack.Add(w);
                            work.Push((w, 0));
                        }
                        else if (onStack.Contains(w))
                        {
                            low[v] = Math.Min(low[v], index[w]);
                        }
                        continue;
                    }
                    if (low[v] == index[v])
                    {
                        var scc = new List<Draft>();
                        Draft x;
                        do
                        {
                            x = stack.Pop();
                            onStack.Remove(x);
                            scc.Add(x);
                        }
                        while (x != v);
                        result.Add(scc);
                    }
                    if (work.Count > 0)
                    {
                        var parent = work.Peek().Node;
                        low[parent] = Math.Min(low[parent], low[v]);
                    }
                }
            }
            return result;
        }

        /// <summary>A shortest cycle through <paramref name="start"/> inside one strongly connected component.</summary>
        private static List<Draft> FindCycle(Draft start, HashSet<Draft> members, Dictionary<Draft, List<Draft>> edges)
        {
            var from = new Dictionary<Draft, Draft>();
            var queue = new Queue<Draft>();
            queue.Enqueue(start);
            while (queue.Count > 0)
            {
                var v = queue.Dequeue();
                foreach (var w in edges[v])
                {
                    if (!members.Contains(w))
                    {
                        continue;
                    }
                    if (w == start)
                    {
                        var path = new List<Draft> { start };
                        for (var x = v; x != start; x = from[x])
                        {
                            path.Add(x);
                        }
                        path.Add(start);
                        path.Reverse(1, path.Count - 2);
                        return path;
                    }
                    if (w != start && from.TryAdd(w, v))
                    {
                        queue.Enqueue(w);
                    }
                }
            }
            return [start, start];
        }

        // ---- building ----

        private StepPlan Build(Draft d) => d.Kind switch
        {
            "condition" => new ConditionStepPlan
            {
                Name = d.Name!,
                DependsOn = d.Deps,
                Guard = d.Guard,
                Condition = d.Condition!,
                Then = [.. d.Then.Select(x => x.Name!)],
                Else = [.. d.Else.Select(x => x.Name!)],
            },
            "callback" => new CallbackStepPlan
            {
                Name = d.Name!,
                DependsOn = d.Deps,
                Guard = d.Guard,
                Queue = d.Queue,
                Webhook = d.Webhook,
                Arguments = d.Arguments,
                AnswerDeadline = d.AnswerDeadline,
                Outputs = d.Outputs,
            },
            "function" => new FunctionStepPlan
            {
                Name = d.Name!,
                DependsOn = d.Deps,
                Guard = d.Guard,
                Function = d.Function!,
                Arguments = d.Arguments,
                TimeLimit = d.TimeLimit,
                Outputs = d.Outputs,
                Retry = d.Retry,
            },
            "fail" => new FailStepPlan
            {
                Name = d.Name!,
                DependsOn = d.Deps,
                Guard = d.Guard,
                Message = d.Message!,
            },
            _ => new ProcessStepPlan
            {
                Name = d.Name!,
                DependsOn = d.Deps,
                Guard = d.Guard,
                Command = d.Command!,
                Args = d.Args,
                Env = d.Env,
                WorkingDir = d.WorkingDir,
                Outputs = d.Outputs,
                Timeout = d.Timeout,
                Retry = d.Retry,
                StopGracePeriod = d.StopGrace,
            },
        };
    }

    // ---- messages ----

    private static string Clip(string? s) => s is null ? "" : s.Length > 60 ? s[..60] + "..." : s;

    private static string Shown(SNode node) => node is SScalar { Kind: ScalarKind.String } s
        ? $"the string '{Clip(s.Text)}'"
        : node is SScalar { Kind: ScalarKind.Integer or ScalarKind.Float or ScalarKind.Boolean } v ? $"{node.Describe()} ({Clip(v.Text)})" : node.Describe();

    /// <summary>" (did you mean 'x'?)" for the closest candidate within two edits, or "".</summary>
    internal static string Suggest(string given, IEnumerable<string> candidates)
    {
        if (given.Length > 64)
        {
            return "";
        }
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var dist = Distance(given.ToLowerInvariant(), c.ToLowerInvariant());
            if (dist < bestDistance && dist <= (c.Length <= 3 ? 1 : 2))
            {
                best = c;
                bestDistance = dist;
            }
        }
        return best is null || best == given ? "" : $" (did you mean '{best}'?)";
    }

    /// <summary>Edit distance counting a swap of two neighbours as one edit (optimal string alignment).</summary>
    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2 || b.Length > 200)
        {
            return int.MaxValue;
        }
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }
}

/// <summary>Durations as written in definitions: "250ms", "30s", "5m", "2h", "1h30m", "1d", or a number of seconds.</summary>
internal static class Durations
{
    private static readonly (string Unit, double Seconds)[] Units = [("d", 86400), ("h", 3600), ("ms", 0.001), ("m", 60), ("s", 1)];

    private static readonly string[] Order = ["d", "h", "m", "s", "ms"];

    public static bool TryParseSeconds(string text, out double seconds)
    {
        seconds = 0;
        text = text.Trim();
        if (text.Length == 0 || text.Length > 64)
        {
            return false;
        }
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var plain))
        {
            seconds = plain;
            return double.IsFinite(plain);
        }
        var i = 0;
        var lastUnit = -1;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }
            var unit = Units.FirstOrDefault(u => string.CompareOrdinal(text, i, u.Unit, 0, u.Unit.Length) == 0);
            if (unit.Unit is null)
            {
                return false;
            }
            var rank = Array.IndexOf(Order, unit.Unit);
            if (rank <= lastUnit)
            {
                return false;
            }
            lastUnit = rank;
            i += unit.Unit.Length;
            seconds += n * unit.Seconds;
        }
        return double.IsFinite(seconds);
    }
}
