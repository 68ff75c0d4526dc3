using System.Globalization;
using System.Text.Json;

namespace Sluice.Cli.Output;

/// <summary>How values read in tables and lines: durations, ages, states, labels.</summary>
internal static class Show
{
    public static string Duration(TimeSpan d)
    {
        if (d < TimeSpan.Zero)
        {
            d = TimeSpan.Zero;
        }
        return d.TotalSeconds switch
        {
            < 1 => $"{(int)d.TotalMilliseconds}ms",
            < 10 => d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s",
            < 60 => $"{(int)d.TotalSeconds}s",
            < 3600 => $"{(int)d.TotalMinutes}m{d.Seconds:00}s",
            < 86400 => $"{(int)d.TotalHours}h{d.Minutes:00}m",
            _ => $"{(int)d.TotalDays}d{d.Hours:00}h",
        };
    }

    /// <summary>How long ago, coarsely: 5s, 3m, 2h, 4d.</summary>
    public static string Age(DateTimeOffset at, DateTimeOffset now)
    {
        var d = now - at;
        return d.TotalSeconds switch
        {
            < 0 => "0s",
            < 60 => $"{(int)d.TotalSeconds}s",
            < 3600 => $"{(int)d.TotalMinutes}m",
            < 86400 => $"{(int)d.TotalHours}h",
            _ => $"{(int)d.TotalDays}d",
        };
    }

    /// <summary>How long something ran: to its end, or until now while it runs; empty before it started.</summary>
    public static string Elapsed(DateTimeOffset? started, DateTimeOffset? ended, DateTimeOffset now) =>
        started is { } s ? Duration((ended ?? now) - s) : "";

    public static string Time(DateTimeOffset? t) =>
        t is { } v ? v.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "";

    public static string Clock(DateTimeOffset t) => t.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>A Spectre style for a run or step state.</summary>
    public static string StateStyle(string? state) => state switch
    {
        "Succeeded" => "green",
        "Failed" => "red",
        "Running" or "Starting" => "blue",
        "Stopping" or "Stopped" => "yellow",
        _ => "grey",
    };

    public static Cell State(string state) => new(state, StateStyle(state));

    public static string Labels(IReadOnlyDictionary<string, string>? labels) =>
        labels is null ? "" : string.Join(",", labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>A JSON value as it reads in a table: strings bare, everything else as JSON.</summary>
    public static string Value(JsonElement? v) => v switch
    {
        null => "",
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => "",
        { } other => other.GetRawText(),
    };

    /// <summary>The members of a JSON object as name=value, in order.</summary>
    public static string Pairs(JsonElement? o) =>
        o is { ValueKind: JsonValueKind.Object } obj ? string.Join(", ", obj.EnumerateObject().Select(p => $"{p.Name}={Value(p.Value)}")) : "";

    /// <summary>At most <paramref name="max"/> characters on one line.</summary>
    public static string Clip(string? s, int max = 60)
    {
        if (string.IsNullOrEmpty(s))
        {
            return "";
        }
        s = s.ReplaceLineEndings(" ");
        return s.Length <= max ? s : s[..(max - 3)] + "...";
    }
}
