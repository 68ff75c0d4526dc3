namespace Sluice.Core.Definitions;

/// <summary>Object URIs as local paths: <c>s3://BUCKET/KEY</c> (and <c>gs://BUCKET/KEY</c>) is the file or directory
/// <c>{objects}/BUCKET/KEY</c>, where {objects} is the server's object directory ({data dir}/objects). A key names a file,
/// or a directory when it is a prefix of other keys; nothing outside the object directory can be named.</summary>
public static class ObjectStore
{
    public static readonly string[] Schemes = ["s3", "gs"];

    /// <summary>Whether the text looks like an object URI at all (a scheme this store maps).</summary>
    public static bool IsObjectUri(string text) =>
        Schemes.Any(s => text.StartsWith(s + "://", StringComparison.Ordinal));

    /// <summary>The local path of <paramref name="uri"/> under <paramref name="objectsDirectory"/>; false with a reason when
    /// it is not an object URI or names something outside (".." segments, an empty bucket).</summary>
    public static bool TryLocalPath(string objectsDirectory, string uri, out string path, out string? error)
    {
        path = "";
        error = null;
        var scheme = Schemes.FirstOrDefault(s => uri.StartsWith(s + "://", StringComparison.Ordinal));
        if (scheme is null)
        {
            error = $"'{Clip(uri)}' is not an object URI (s3://BUCKET/KEY)";
            return false;
        }
        var rest = uri[(scheme.Length + 3)..];
        var parts = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || rest.StartsWith('/'))
        {
            error = $"'{Clip(uri)}' names no bucket";
            return false;
        }
        foreach (var p in parts)
        {
            if (p is "." or ".." || p.Contains('\0', StringComparison.Ordinal) || p.Contains('\\', StringComparison.Ordinal))
            {
                error = $"'{Clip(uri)}' has a key segment '{Clip(p)}' that cannot be a local path";
                return false;
            }
        }
        path = Path.Combine([objectsDirectory, .. parts]);
        return true;
    }

    private static string Clip(string s) => s.Length > 100 ? s[..100] + "..." : s;
}
