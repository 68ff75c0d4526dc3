using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sluice.Core.Storage;

/// <summary>Opaque keyset cursors of list pages: base64url of a JSON array [kind, key, id]; the same form in every store.</summary>
public static class PageToken
{
    public static string Encode(string kind, string key, string id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(JsonSerializer.Serialize([kind, key, id], StoredJson.Default.StringArray)));

    public static string Encode(string kind, DateTimeOffset time, string id) =>
        Encode(kind, time.UtcTicks.ToString(CultureInfo.InvariantCulture), id);

    public static (string Key, string Id) Decode(string kind, string token)
    {
        string[]? parts;
        try
        {
            parts = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(token), StoredJson.Default.StringArray);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw Malformed(nameof(token), e);
        }
        if (parts is not [var k, { } key, { } id] || k != kind)
        {
            throw Malformed(nameof(token), null);
        }
        return (key, id);
    }

    public static (long Ticks, string Id) DecodeTime(string kind, string token)
    {
        var (key, id) = Decode(kind, token);
        return long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
               && ticks <= DateTimeOffset.MaxValue.UtcTicks
            ? (ticks, id)
            : throw Malformed(nameof(token), null);
    }

    private static ArgumentException Malformed(string paramName, Exception? inner) => new("The page token is malformed.", paramName, inner);
}
