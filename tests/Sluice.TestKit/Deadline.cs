namespace Sluice.TestKit;

/// <summary>Default deadlines for waiting on events in tests.</summary>
public static class Deadline
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);
}
