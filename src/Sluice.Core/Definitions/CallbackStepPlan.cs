namespace Sluice.Core.Definitions;

/// <summary>Publishes a message with a token to a queue (or a webhook) and waits until the token is completed through the API.</summary>
public sealed record CallbackStepPlan : StepPlan
{
    public override string Kind => "callback";

    /// <summary>The queue that gets the messages (created on first use); null when <see cref="Webhook"/> is set.</summary>
    public Template? Queue { get; init; }

    /// <summary>A URL that gets each message as a JSON POST instead of a queue.</summary>
    public Template? Webhook { get; init; }

    /// <summary>Evaluated and sent in the message; a value that is one reference keeps its type.</summary>
    public IReadOnlyDictionary<string, Template> Arguments { get; init; } = new Dictionary<string, Template>();

    /// <summary>When set and passed without an answer, the step fails. No limit by default (as in SageMaker).</summary>
    public TimeSpan? AnswerDeadline { get; init; }
}
