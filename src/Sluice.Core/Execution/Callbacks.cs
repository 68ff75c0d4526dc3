using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;

namespace Sluice.Core.Execution;

/// <summary>Delivers callback messages: the built-in queue (default) or a webhook.</summary>
public interface ICallbackTransport
{
    /// <summary>"queue" or "webhook": the input key of a callback step that names the address.</summary>
    string Kind { get; }

    /// <summary>Delivers one message durably (queue) or with retries (webhook); throws when it cannot.</summary>
    Task PublishAsync(Scope scope, string address, JsonObject body, CancellationToken ct);
}

/// <summary>Callback steps: publish {"token", "pipelineExecutionArn", "arguments", "status": "Executing"} and wait until the
/// token is completed through the API (the engine applies the answer). A stop publishes the same message with
/// "status": "Stopping" and keeps waiting: only the answer ends the step (SageMaker seed).</summary>
public sealed class CallbackExecutor(IEnumerable<ICallbackTransport> transports, TimeProvider time) : IStepExecutor
{
    private readonly Dictionary<string, ICallbackTransport> byKind = transports.ToDictionary(t => t.Kind, StringComparer.Ordinal);

    public string Kind => "callback";

    private TimeProvider Time => time;

    /// <summary>The message body for a status, exactly as SageMaker sends it (spec 4.1).</summary>
    public static JsonObject Message(string token, JsonObject inputs, string status) => new()
    {
        ["token"] = token,
        ["pipelineExecutionArn"] = inputs["executionArn"]?.DeepClone(),
        ["arguments"] = inputs["arguments"]?.DeepClone() ?? new JsonObject(),
        ["status"] = status,
    };

    /// <summary>Returns at once; the message is delivered in the background (a webhook may retry for a while), and a
    /// message that cannot be delivered fails the step. The run's writer is never held up by a transport.</summary>
    public Task<IStepExecution> StartAsync(StepStart start, CancellationToken ct)
    {
        var execution = Create(start, start.Attempt);
        if (!execution.Completion.IsCompleted)
        {
            execution.PublishInBackground("Executing", failStep: true);
        }
        return Task.FromResult<IStepExecution>(execution);
    }

    /// <summary>After a restart the step simply waits again: its token is in the store and still works.</summary>
    public Task<IStepExecution> AdoptAsync(StepStart start, StepRecord record, CancellationToken ct) =>
        Task.FromResult<IStepExecution>(Create(start, record.Attempt, record.StartedAt));

    private CallbackExecution Create(StepStart start, int attempt, DateTimeOffset? startedAt = null)
    {
        var token = start.ExecutorData?["token"]?.GetValue<string>();
        var (kind, address) = start.Inputs["webhook"]?.GetValue<string>() is { } url ? ("webhook", url)
            : ("queue", start.Inputs["queue"]?.GetValue<string>());
        string? problem = token is null ? "the step has no callback token"
            : address is null ? "the step names no queue or webhook"
            : !byKind.ContainsKey(kind) ? $"no {kind} transport is configured"
            : null;
        var deadline = (start.Plan as CallbackStepPlan)?.AnswerDeadline;
        return new CallbackExecution(this, start, token ?? "", kind, address ?? "", problem, deadline, startedAt ?? time.GetUtcNow());
    }

    private sealed class CallbackExecution : IStepExecution
    {
        private readonly CallbackExecutor owner;
        private readonly StepStart start;
        private readonly string token;
        private readonly string kind;
        private readonly string address;
        private readonly TaskCompletionSource<StepOutcome> outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ITimer? deadlineTimer;
        private int stopping;
        private readonly Lock publishGate = new();
        private Task previous = Task.CompletedTask;

        public CallbackExecution(CallbackExecutor owner, StepStart start, string token, string kind, string address, string? problem,
            TimeSpan? deadline, DateTimeOffset startedAt)
        {
            this.owner = owner;
            this.start = start;
            this.token = token;
            this.kind = kind;
            this.address = address;
            if (problem is not null)
            {
                outcome.SetResult(StepOutcome.Failure(problem));
            }
            else if (deadline is { } d)
            {
                var due = startedAt + d - owner.Time.GetUtcNow();
                deadlineTimer = owner.Time.CreateTimer(_ => outcome.TrySetResult(StepOutcome.Failure(
                        $"no answer to callback token {token} within {d.TotalSeconds:0.###} s")),
                    null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
            }
        }

        public ProcessHandle? Process => null;

        /// <summary>Ends only by the answer deadline; an answer is applied by the engine directly.</summary>
        public Task<StepOutcome> Completion => outcome.Task;

        /// <summary>Messages leave in order: "Stopping" never overtakes "Executing".</summary>
        public void PublishInBackground(string status, bool failStep)
        {
            lock (publishGate)
            {
                previous = previous.ContinueWith(_ => PublishAsync(status, failStep), CancellationToken.None,
                    TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            }
        }

        private async Task PublishAsync(string status, bool failStep)
        {
            try
            {
                await owner.byKind[kind].PublishAsync(start.Scope, address, Message(token, start.Inputs, status), CancellationToken.None);
            }
            catch (Exception e)
            {
                // A lost "Stopping" message cannot fail the step: it still ends when the token is answered.
                if (failStep)
                {
                    outcome.TrySetResult(StepOutcome.Failure($"could not publish the callback message: {e.Message}"));
                }
            }
        }

        /// <summary>Publishes the "Stopping" message once; the step keeps waiting for its answer.</summary>
        public void RequestStop(TimeSpan grace)
        {
            if (Interlocked.Exchange(ref stopping, 1) == 0 && !outcome.Task.IsCompleted)
            {
                PublishInBackground("Stopping", failStep: false);
            }
        }

        public ValueTask DisposeAsync()
        {
            deadlineTimer?.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
