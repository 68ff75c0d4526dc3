using System.Globalization;
using Sluice.Server.Apis.Native;
using Sluice.Server.Apis.Vertex;

namespace Sluice.Server.Tests;

public sealed class TimeFormatTests
{
    public static TheoryData<string> Times => new()
    {
        "2026-12-02T06:23:31.6330000+00:00",
        "2026-12-02T06:23:31.0000000+00:00",
        "2026-12-02T06:23:31.1234567+00:00",
        "2030-01-01T00:00:00.0000001+05:30",
        "0001-01-01T00:00:00.0000000+00:00",
        "9999-12-31T23:59:59.9999999+00:00",
    };

    [Theory]
    [MemberData(nameof(Times))]
    public void VertexTime_IsRfc3339InUtcWithNineDigits_AndReadsBackTheSame(string text)
    {
        var t = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

        var shown = VertexMapper.Time(t)!;

        Assert.Equal(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "00Z", shown);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", shown);
        Assert.Equal(t, DateTimeOffset.Parse(shown, CultureInfo.InvariantCulture));
    }

    [Theory]
    [MemberData(nameof(Times))]
    public void NativeTime_IsIsoInUtcWithMilliseconds_Truncated(string text)
    {
        var t = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

        var shown = NativeJson.Time(t)!;

        Assert.Equal(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), shown);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", shown);
    }

    [Fact]
    public void Time_Null_IsNull()
    {
        Assert.Null(VertexMapper.Time(null));
        Assert.Null(NativeJson.Time(null));
    }
}
