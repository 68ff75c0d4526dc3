namespace Sluice.Core.Engine;

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
    }

    public string StepDirectory(string runId, string step, int attempt) =>
        Path.Combine(DataDirectory, "runs", runId, step, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public string RunDirectory(string runId) => Path.Combine(DataDirectory, "runs", runId);

    /// <summary>Where object URIs (s3://BUCKET/KEY) live on this node: {DataDirectory}/objects/BUCKET/KEY.</summary>
    public string ObjectsDirectory => Path.Combine(DataDirectory, "objects");
}
