namespace Sluice.Core.Engine;

/// <summary>What a node does: serve the API, run steps, or both (the default).</summary>
public enum NodeRole
{
    Both,
    /// <summary>Serves the API; runs no steps and owns no run.</summary>
    Api,
    /// <summary>Runs steps; serves no public API.</summary>
    Worker,
}

/// <summary>Settings of the run engine; validated on start.</summary>
public sealed record EngineOptions
{
    /// <summary>Where step directories (logs, outputs, exit status) live: {DataDirectory}/runs/{run}/{step}/{attempt}.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Server-wide limit on process steps running at once.</summary>
    public int Slots { get; init; } = Math.Max(4, Environment.ProcessorCount * 4);

    /// <summary>Time between SIGTERM and SIGKILL when neither the step nor the stop request says.</summary>
    public TimeSpan DefaultStopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idempotency answers are remembered at least this long.</summary>
    public TimeSpan IdempotencyRetention { get; init; } = TimeSpan.FromHours(24);

    public NodeRole Role { get; init; } = NodeRole.Both;

    /// <summary>How long a node owns its runs without renewing; renewed every third of it. Another node takes its runs
    /// over once it has lapsed.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The safety net under the wake-ups between nodes: how often a node looks for work and requests anyway.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a call waits for the node that owns a run (or for the store) before it answers Unavailable.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How much later than its process's start a step may be recorded Running, so that a short step's Running
    /// shares a commit with its end (or another step's change) instead of taking one of its own; zero records it at once.
    /// Durability does not need it: until then the step is Starting, and a restart finds its process all the same.</summary>
    public TimeSpan RunningRecordDelay { get; init; } = TimeSpan.FromMilliseconds(3);

    /// <summary>Overrides the machine's boot id as the node's host id (tests make one machine look like several).</summary>
    public string? HostId { get; init; }

    public bool RunsSteps => Role != NodeRole.Api;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("the data directory must be set");
        }
        if (Slots is < 1 or > 100_000)
        {
            throw new ArgumentException("slots must be between 1 and 100000");
        }
        if (DefaultStopGracePeriod < TimeSpan.Zero || DefaultStopGracePeriod > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("the default stop grace period must be between 0 and 1 hour");
        }
        if (!Enum.IsDefined(Role))
        {
            throw new ArgumentException("unknown node role");
        }
        if (LeaseDuration < TimeSpan.FromSeconds(1) || LeaseDuration > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("the lease duration must be between 1 second and 1 hour");
        }
        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > LeaseDuration)
        {
            throw new ArgumentException("the poll interval must be between 10 ms and the lease duration");
        }
        if (RunningRecordDelay < TimeSpan.Zero || RunningRecordDelay > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException("the delay before a step is recorded Running must be between 0 and 10 minutes");
        }
        if (RequestTimeout < TimeSpan.FromMilliseconds(100) || RequestTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException("the request timeout must be between 100 ms and 10 minutes");
        }
    }

    public string StepDirectory(string runId, string step, int attempt) =>
        Path.Combine(DataDirectory, "runs", runId, step, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public string RunDirectory(string runId) => Path.Combine(DataDirectory, "runs", runId);

    /// <summary>Where object URIs (s3://BUCKET/KEY) live on this node: {DataDirectory}/objects/BUCKET/KEY.</summary>
    public string ObjectsDirectory => Path.Combine(DataDirectory, "objects");
}
