using System.Globalization;

namespace Sluice.Core.Engine;

/// <summary>Short human text for durations in messages: 250ms, 30s, 5m, 1h30m.</summary>
internal static class TimeText
{
    /// <summary>An instant as ISO 8601 UTC with milliseconds ("2024-05-01T10:00:00.000Z"): text that sorts as time does.</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Format(TimeSpan t)
    {
        if (t < TimeSpan.FromSeconds(1))
        {
            return $"{(long)t.TotalMilliseconds}ms";
        }
        if (t < TimeSpan.FromMinutes(1))
        {
            return t.TotalSeconds == Math.Floor(t.TotalSeconds)
                ? $"{(long)t.TotalSeconds}s"
                : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###}s");
        }
        var parts = new List<string>();
        if (t.Days > 0)
        {
            parts.Add($"{t.Days}d");
        }
        if (t.Hours > 0)
        {
            parts.Add($"{t.Hours}h");
        }
        if (t.Minutes > 0)
        {
            parts.Add($"{t.Minutes}m");
        }
        if (t.Seconds > 0)
        {
            parts.Add($"{t.Seconds}s");
        }
        return string.Concat(parts);
    }
}
