namespace Sluice.Storage.Sqlite;

/// <summary>How hard SQLite pushes a commit to the disk (PRAGMA synchronous) in WAL mode.</summary>
public enum SqliteSynchronous
{
    /// <summary>A commit is in the OS before it returns: survives a crash of the process, not a power loss.</summary>
    Normal,
    /// <summary>A commit is fsynced before it returns: survives a power loss too, at about ten times the cost.</summary>
    Full,
}

/// <summary>Settings of <see cref="SqliteStore"/>; see docs/storage.md for the durability trade-off.</summary>
public sealed record SqliteStoreOptions
{
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Normal;

    /// <summary>Read connections kept open; reads never wait for the writer, only for a free reader.</summary>
    public int ReadConnections { get; init; } = 4;

    /// <summary>How long a statement waits for a lock held by another process before it fails.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public void Validate()
    {
        if (!Enum.IsDefined(Synchronous))
        {
            throw new ArgumentOutOfRangeException(nameof(Synchronous), Synchronous, "Unknown synchronous mode.");
        }
        if (ReadConnections is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(ReadConnections), ReadConnections, "Must be 1 to 64.");
        }
        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "Must be 0 to 10 minutes.");
        }
    }
}
