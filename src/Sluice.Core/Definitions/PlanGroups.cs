using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Execution;

namespace Sluice.Core.Definitions;

/// <summary>What the steps a step depends on must have done before it may start.</summary>
public enum StartWhen
{
    /// <summary>Every one succeeded (one skipped skips this step; one that failed or never ran leaves it NotStarted).</summary>
    AllSucceeded,

    /// <summary>Every one ended, whatever its outcome: a "finally" step (an exit handler). It still never starts once the
    /// run is stopping.</summary>
    AllEnded,
}

/// <summary>What a failed step does to the steps that have not started yet.</summary>
public enum FailurePolicy
{
    /// <summary>No new step starts (except <see cref="StartWhen.AllEnded"/> steps); the steps running finish.</summary>
    FailFast,

    /// <summary>Steps that do not depend on the failed one still start; those that do never start.</summary>
    FailSlow,
}

/// <summary>A step that holds other steps (those whose <see cref="StepPlan.Group"/> names it): it starts when it is ready
/// (and its <see cref="StepPlan.When"/> holds), its members run, and it ends when they all have: Failed when one failed,
/// else Succeeded. With <see cref="ForEach"/>, its members are made when it starts, once for every item of a list.</summary>
public sealed record GroupStepPlan : StepPlan
{
    public override string Kind => "group";

    /// <summary>Repeats a body once per item of a list known only when the group starts.</summary>
    public ForEachSpec? ForEach { get; init; }
}

/// <summary>The repeated body of a for-each group.</summary>
public sealed record ForEachSpec
{
    /// <summary>Most iterations a for-each may have.</summary>
    public const int MaxItems = 10_000;

    /// <summary>Most steps the iterations of one for-each may have in all.</summary>
    public const int MaxSteps = 20_000;

    /// <summary>The list: a value that is a list, or text that holds a JSON list.</summary>
    public required Template Items { get; init; }

    /// <summary>The steps of one iteration, in a topological order. Their names, dependencies and groups are local to the
    /// body (an iteration's step <c>s</c> of for-each <c>f</c> is named <c>f[i].s</c>); a body step without a group belongs
    /// to the iteration. <see cref="ItemRef"/> reads the iteration's item.</summary>
    public required IReadOnlyList<StepPlan> Body { get; init; }

    /// <summary>Most iterations running at once; null for no limit.</summary>
    public int? MaxParallel { get; init; }

    /// <summary>Outputs of the group: the list of a body step's output over every iteration (null where it has none).</summary>
    public IReadOnlyDictionary<string, StepOutputRef> Collect { get; init; } = new Dictionary<string, StepOutputRef>();
}

/// <summary>The item of the current iteration of a for-each group (named by its plan name).</summary>
public sealed record ItemRef(string ForEach) : Reference
{
    public override string ToString() => $"item.{ForEach}";
}

/// <summary>How a step ended: <c>{"state": "Failed", "reason": "...", "step": "name"}</c>; available once it has ended.</summary>
public sealed record StepStatusRef(string StepName) : Reference
{
    public override string? Step => StepName;

    public override string ToString() => $"steps.{StepName}.status";
}

/// <summary>The first of several values that is available (e.g. the output of whichever branch ran).</summary>
public sealed record FirstOfRef(IReadOnlyList<Reference> Choices) : Reference
{
    public override string ToString() => "first(" + string.Join(", ", Choices) + ")";
}

/// <summary>A definition format's own way to run a process step: builds the command line when an attempt starts, and reads
/// the outputs once it exited with status 0.</summary>
public interface IProcessLayout
{
    /// <summary>The process to start: <c>{"command": string, "args": [string], "env": {string: string}, "workingDir": string?}</c>
    /// plus anything worth keeping with the attempt. May create files in <see cref="ProcessLaunch.Directory"/>. Throws
    /// <see cref="Api.SluiceException"/> when the values do not allow a start (the attempt then fails).</summary>
    JsonObject Prepare(ProcessLaunch launch);

    /// <summary>The outcome of an attempt whose process exited with status 0, from the files it left in its directory.</summary>
    StepOutcome ReadOutputs(string directory);
}

/// <summary>What a <see cref="IProcessLayout"/> knows when an attempt starts.</summary>
public sealed record ProcessLaunch
{
    /// <summary>The step's <see cref="ProcessStepPlan.Values"/>, resolved.</summary>
    public required JsonObject Values { get; init; }

    /// <summary>The attempt's own directory (it exists when Prepare is called).</summary>
    public required string Directory { get; init; }

    /// <summary>The server's data directory.</summary>
    public required string DataDirectory { get; init; }

    public required string RunId { get; init; }

    public required string StepName { get; init; }

    public required int Attempt { get; init; }

    public required string PipelineName { get; init; }

    public required DateTimeOffset RunCreatedAt { get; init; }

    public required Scope Scope { get; init; }

    /// <summary>What the face that started the run kept with it.</summary>
    public JsonObject? FaceData { get; init; }
}
