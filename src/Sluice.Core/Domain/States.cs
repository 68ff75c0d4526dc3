namespace Sluice.Core.Domain;

/// <summary>The canonical run states; every face maps these.</summary>
public enum RunState
{
    Queued,
    Running,
    Stopping,
    Stopped,
    Succeeded,
    Failed,
}

/// <summary>The canonical step states.</summary>
public enum StepState
{
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
    Succeeded,
    Failed,
    Skipped,
    NotStarted,
}

/// <summary>What happened to a run.</summary>
public enum RunTrigger
{
    /// <summary>The first step began.</summary>
    Begin,
    /// <summary>A stop was accepted.</summary>
    Stop,
    /// <summary>Every step ended well.</summary>
    Succeed,
    /// <summary>A step failed (or the run could not go on).</summary>
    Fail,
    /// <summary>A stopping run has no active step left.</summary>
    Drained,
    /// <summary>A failed or stopped run is run again from the steps that did not succeed (SageMaker RetryPipelineExecution).</summary>
    Retry,
}

/// <summary>What happened to a step.</summary>
public enum StepTrigger
{
    Start,
    Started,
    Succeed,
    Fail,
    /// <summary>An attempt failed and the retry policy allows another; or the run is retried and the step runs again.</summary>
    Retry,
    Stop,
    /// <summary>The stop of an active step completed (no process of it is left).</summary>
    Stopped,
    /// <summary>A condition branch was not taken, or an upstream step was skipped.</summary>
    Skip,
    /// <summary>The run stopped or failed before the step began.</summary>
    Cancel,
}
