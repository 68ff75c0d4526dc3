using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.Core.Storage;

namespace Sluice.Executors.Function;

/// <summary>Runs function steps (SageMaker's Lambda steps): calls the registered function once, with its evaluated arguments,
/// and takes the declared outputs from the JSON object it returns. A call cannot be interrupted: a stop is ignored and
/// the run waits for the answer or for the time limit, which this executor enforces itself.</summary>
/// <param name="functions">Where functions are registered.</param>
/// <param name="time">Clock of the time limits.</param>
/// <param name="http">For URL functions; its own Timeout must not be shorter than 10 minutes (null: one of our own, without
/// a client-wide timeout).</param>
public sealed class FunctionExecutor(IFunctionStore functions, TimeProvider time, HttpClient? http = null, UrlAllowlist? allowedUrls = null) : IStepExecutor
{
    public const string LostReason = "lost: the function call was interrupted by a server restart";

    private readonly HttpClient client = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };

    public string Kind => "function";

    public async Task<IStepExecution> StartAsync(StepStart start, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(start);
        ct.ThrowIfCancellationRequested();
        if (!TryReadInputs(start.Inputs, out var name, out var arguments, out var stepLimit, out var problem))
        {
            return new EndedCall(StepOutcome.Failure($"invalid function step inputs: {problem}"));
        }
        // A function registered in its tenant's default location serves every location of the tenant (a SageMaker run in
        // us-east-1 calls the function registered through the native API), unless the location has its own of that name.
        var f = await functions.GetFunctionAsync(start.Scope, name, ct).ConfigureAwait(false)
            ?? (start.Scope.Location == Scope.Default.Location ? null
                : await functions.GetFunctionAsync(start.Scope with { Location = Scope.Default.Location }, name, ct).ConfigureAwait(false));
        if (f is null)
        {
            return new EndedCall(StepOutcome.Failure($"function {name} is not registered"));
        }
        var limit = stepLimit ?? f.TimeLimit;
        return f.Kind switch
        {
            FunctionRecord.CommandKind when f.Command is { Count: > 0 } => CommandCall.Start(f, name, arguments, limit, start, time),
            // Checked again at call time: the allowed URLs may have been narrowed since the function was registered.
            FunctionRecord.UrlKind when f.Url is { } url && !(allowedUrls ?? UrlAllowlist.LoopbackOnly).Allows(url) =>
                new EndedCall(StepOutcome.Failure((allowedUrls ?? UrlAllowlist.LoopbackOnly).Refusal(url))),
            FunctionRecord.UrlKind when f.Url is { } url => UrlCall.Start(client, url, name, arguments, limit, start.Plan.Outputs, time),
            _ => new EndedCall(StepOutcome.Failure($"function {name} is registered with neither a command nor a URL")),
        };
    }

    /// <summary>A call cannot be resumed after a restart (its answer went to the server that died): the attempt failed as
    /// lost. What is left of a command's process group is killed, so that nothing of it keeps running.</summary>
    public Task<IStepExecution> AdoptAsync(StepStart start, StepRecord record, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(record);
        CommandCall.KillLeftovers(record.Process, Path.GetFullPath(start.Directory));
        return Task.FromResult<IStepExecution>(new EndedCall(StepOutcome.Failure(LostReason)));
    }

    /// <summary>{"function": name, "arguments": {...}, "timeLimitSeconds": number or null}, as the engine resolves them.</summary>
    private static bool TryReadInputs(JsonObject json, out string name, out JsonObject arguments, out TimeSpan? limit, out string? problem)
    {
        name = "";
        arguments = [];
        limit = null;
        problem = null;
        if (json["function"] is not JsonValue fv || fv.GetValueKind() != JsonValueKind.String || fv.GetValue<string>() is not { Length: > 0 } n)
        {
            problem = "\"function\" must be a non-empty string";
            return false;
        }
        name = n;
        switch (json["arguments"])
        {
            case null:
                break;
            case JsonObject a:
                arguments = (JsonObject)a.DeepClone();
                break;
            default:
                problem = "\"arguments\" must be an object";
                return false;
        }
        switch (json["timeLimitSeconds"])
        {
            case null:
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var s)
                                  && TimeSpan.FromSeconds(s) is var t && t >= FunctionStepPlan.MinTimeLimit && t <= FunctionStepPlan.MaxTimeLimit:
                limit = t;
                break;
            default:
                problem = "\"timeLimitSeconds\" must be a number of seconds between 1 and 600";
                return false;
        }
        return true;
    }
}
