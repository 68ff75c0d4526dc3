using System.Text.Json.Nodes;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions;

/// <summary>The type of a parameter or an output value.</summary>
public enum ParamType
{
    String,
    Integer,
    Float,
    Boolean,
    /// <summary>A JSON list (given as a list, or as text that holds one).</summary>
    List,
    /// <summary>A JSON object (given as an object, or as text that holds one).</summary>
    Struct,
}

/// <summary>A pipeline parameter; a null <see cref="Default"/> makes it required.</summary>
public sealed record ParameterSpec(string Name, ParamType Type, JsonNode? Default, string? Description = null);

/// <summary>An output parameter a step declares.</summary>
public sealed record OutputSpec(string Name, ParamType Type);

/// <summary>How often and how soon a failed attempt is tried again.</summary>
/// <param name="Count">Retries after the first attempt.</param>
/// <param name="Within">When set, no retry begins later than this after the step's first attempt began.</param>
public sealed record RetryPolicy(int Count, TimeSpan Backoff, double Multiplier = 2.0, TimeSpan? MaxBackoff = null, TimeSpan? Within = null)
{
    /// <summary>The wait before attempt number <paramref name="nextAttempt"/> (2 for the first retry).</summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        var d = Backoff.TotalMilliseconds * Math.Pow(Multiplier, Math.Max(0, nextAttempt - 2));
        var max = (MaxBackoff ?? TimeSpan.FromHours(1)).TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Min(d, max));
    }
}

/// <summary>A step runs only when its condition step took this branch.</summary>
public sealed record Guard(string ConditionStep, bool Branch);

/// <summary>A step of a compiled plan.</summary>
public abstract record StepPlan
{
    public required string Name { get; init; }

    /// <summary>process, condition, fail, callback, function or record.</summary>
    public abstract string Kind { get; }

    /// <summary>Every step this one waits for: explicit dependsOn, implicit references, and its guard's condition step.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    public Guard? Guard { get; init; }

    /// <summary>The group step this step belongs to (it runs only while that group runs); null at the top level.</summary>
    public string? Group { get; init; }

    /// <summary>Evaluated when the step is ready; false skips it (and, for a group, everything in it).</summary>
    public Expr? When { get; init; }

    /// <summary>What the steps it depends on must have done before it may start.</summary>
    public StartWhen StartWhen { get; init; } = StartWhen.AllSucceeded;

    public TimeSpan? Timeout { get; init; }

    public RetryPolicy? Retry { get; init; }

    /// <summary>Time between SIGTERM and SIGKILL on stop; null means the server default (10 s).</summary>
    public TimeSpan? StopGracePeriod { get; init; }

    public IReadOnlyList<OutputSpec> Outputs { get; init; } = [];

    /// <summary>The step's properties: rendered when it starts and kept with its inputs (<c>inputs.properties</c>), so that
    /// later steps can read into them (<see cref="StepPropertyRef"/>) once it has succeeded. Null: none.</summary>
    public JsonTemplate? Properties { get; init; }
}

/// <summary>Runs a command as a local process in its own process group.</summary>
public sealed record ProcessStepPlan : StepPlan
{
    public override string Kind => "process";

    public required Template Command { get; init; }

    /// <summary>Each entry is one argv entry: a substituted value is never re-split or re-parsed.</summary>
    public IReadOnlyList<Template> Args { get; init; } = [];

    public IReadOnlyDictionary<string, Template> Env { get; init; } = new Dictionary<string, Template>();

    public Template? WorkingDir { get; init; }

    /// <summary>Container paths (such as <c>/opt/ml</c>) that the process finds under its attempt directory instead:
    /// wherever one starts the command, an argument, an environment value or the working directory, or follows a space,
    /// '=', ':', ',' or a quote in one, it is rewritten to <c>{attempt dir}/root{path}</c> when the step starts.</summary>
    public IReadOnlyList<string> ContainerPaths { get; init; } = [];

    /// <summary>Values resolved when the step starts and handed to <see cref="Layout"/> (a value that is one reference keeps its type).</summary>
    public IReadOnlyDictionary<string, Template> Values { get; init; } = new Dictionary<string, Template>();

    /// <summary>When set, builds the command line from <see cref="Values"/> and reads the outputs instead of the defaults.</summary>
    public IProcessLayout? Layout { get; init; }
}

/// <summary>Succeeds at once, recording its rendered <see cref="StepPlan.Properties"/> (e.g. a model entry); runs no process.</summary>
public sealed record RecordStepPlan : StepPlan
{
    public override string Kind => "record";
}

/// <summary>Evaluates an expression; steps guarded by the branch not taken are Skipped.</summary>
public sealed record ConditionStepPlan : StepPlan
{
    public override string Kind => "condition";

    public required Expr Condition { get; init; }

    public IReadOnlyList<string> Then { get; init; } = [];

    public IReadOnlyList<string> Else { get; init; } = [];
}

/// <summary>Fails the run with a message.</summary>
public sealed record FailStepPlan : StepPlan
{
    public override string Kind => "fail";

    public required Template Message { get; init; }
}

/// <summary>Calls a registered function once with its evaluated arguments and takes its declared outputs from the JSON
/// object it returns. It cannot be interrupted: a stop waits for it to return or to reach its time limit (SageMaker seed).</summary>
public sealed record FunctionStepPlan : StepPlan
{
    /// <summary>The time limit of a function that does not set one.</summary>
    public static readonly TimeSpan DefaultTimeLimit = TimeSpan.FromSeconds(120);

    public static readonly TimeSpan MinTimeLimit = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxTimeLimit = TimeSpan.FromMinutes(10);

    public override string Kind => "function";

    /// <summary>The name the function is registered under (looked up when the step starts).</summary>
    public required string Function { get; init; }

    /// <summary>Evaluated and sent as one JSON object; a value that is exactly one reference keeps its type.</summary>
    public IReadOnlyDictionary<string, Template> Arguments { get; init; } = new Dictionary<string, Template>();

    /// <summary>Overrides the function's own time limit for this step; null keeps the function's.</summary>
    public TimeSpan? TimeLimit { get; init; }
}

/// <summary>A compiled, validated pipeline: steps in a topological order.</summary>
public sealed record Plan
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<ParameterSpec> Parameters { get; init; } = [];

    public required IReadOnlyList<StepPlan> Steps { get; init; }

    public int? MaxParallelSteps { get; init; }

    /// <summary>What a failed step does to the steps not yet started.</summary>
    public FailurePolicy FailurePolicy { get; init; } = FailurePolicy.FailFast;

    public StepPlan? Find(string name)
    {
        foreach (var s in Steps)
        {
            if (s.Name == name)
            {
                return s;
            }
        }
        return null;
    }
}

/// <summary>The result of compiling a definition: a plan, or every problem found.</summary>
public sealed record CompileResult(Plan? Plan, IReadOnlyList<Problem> Problems)
{
    public bool Ok => Plan is not null && Problems.Count == 0;
}
