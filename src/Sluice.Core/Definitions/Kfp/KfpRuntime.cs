using System.Security.Cryptography;
using System.Text;

namespace Sluice.Core.Definitions.Kfp;

/// <summary>What a KFP task needs on the host besides its command: Sluice's stand-in for the kfp package (its
/// <c>kfp.dsl.executor_main</c>, written with Python's standard library, on PYTHONPATH) and a <c>python</c> command where
/// the host only has <c>python3</c> (Python images have both).</summary>
internal static class KfpRuntime
{
    private const string ResourcePrefix = "kfpshim/";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string> Extracted = new(StringComparer.Ordinal);

    /// <summary>Sluice's kfp stand-in, as (relative path, content).</summary>
    private static readonly Lazy<IReadOnlyList<(string Path, string Text)>> Files = new(() =>
    {
        var asm = typeof(KfpRuntime).Assembly;
        var list = new List<(string, string)>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var s = asm.GetManifestResourceStream(name)!;
            using var r = new StreamReader(s, Encoding.UTF8);
            list.Add((name[ResourcePrefix.Length..].Replace('\\', '/'), r.ReadToEnd()));
        }
        return list;
    });

    /// <summary>Names the folder the stand-in is written to, so that a new build's files never mix with an old one's.</summary>
    private static readonly Lazy<string> FilesHash = new(() =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\0", Files.Value.Select(f => f.Path + "\0" + f.Text)))))[..16]
            .ToLowerInvariant());

    /// <summary>The host's python3 when it has no <c>python</c> (null otherwise): looked up once, not for every task.</summary>
    private static readonly Lazy<string?> Python3WithoutPython = new(() => Which("python") is null ? Which("python3") : null);

    /// <summary>The KFP SDK's preamble: <c>sh -c "...pip install ... kfp==X ... && \"$0\" \"$@\""</c> before the real command.</summary>
    public static bool IsPipBootstrap(IReadOnlyList<string> argv) =>
        argv.Count > 3 && argv[0] is "sh" or "bash" or "/bin/sh" or "/bin/bash" && argv[1] == "-c"
        && argv[2].Contains("pip install", StringComparison.Ordinal) && argv[2].Contains("kfp", StringComparison.Ordinal)
        && argv[2].TrimEnd().EndsWith("\"$0\" \"$@\"", StringComparison.Ordinal);

    /// <summary>Environment entries for a KFP task's process.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Environment(string dataDirectory, string objects)
    {
        var shim = ShimDirectory(dataDirectory);
        var existing = System.Environment.GetEnvironmentVariable("PYTHONPATH");
        yield return new("PYTHONPATH", string.IsNullOrEmpty(existing) ? shim : shim + ":" + existing);
        yield return new("SLUICE_KFP_OBJECTS", objects);
        if (PythonBin(dataDirectory) is { } bin)
        {
            yield return new("PATH", bin + ":" + (System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin"));
        }
    }

    /// <summary>The stand-in's files under the data directory, in a folder named after their content (written once).</summary>
    private static string ShimDirectory(string dataDirectory)
    {
        var dir = Path.Combine(dataDirectory, "kfp", "python-" + FilesHash.Value);
        lock (Gate)
        {
            if (Extracted.TryGetValue(dataDirectory, out var done) && done == dir)
            {
                return dir;
            }
            if (!Directory.Exists(dir))
            {
                var tmp = dir + ".tmp-" + Guid.NewGuid().ToString("N");
                foreach (var (rel, text) in Files.Value)
                {
                    var target = Path.Combine(tmp, rel);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.WriteAllText(target, text);
                }
                try
                {
                    Directory.Move(tmp, dir);
                }
                catch (IOException) when (Directory.Exists(dir))
                {
                    Directory.Delete(tmp, recursive: true);
                }
            }
            Extracted[dataDirectory] = dir;
            return dir;
        }
    }

    /// <summary>A folder with <c>python</c> linked to the host's python3, when the host has no <c>python</c>; else null.</summary>
    private static string? PythonBin(string dataDirectory)
    {
        if (Python3WithoutPython.Value is not { } python3)
        {
            return null;
        }
        var bin = Path.Combine(dataDirectory, "kfp", "bin");
        var link = Path.Combine(bin, "python");
        lock (Gate)
        {
            if (!File.Exists(link))
            {
                Directory.CreateDirectory(bin);
                try
                {
                    File.CreateSymbolicLink(link, python3);
                }
                catch (IOException) when (File.Exists(link))
                {
                    // Another server process made it first.
                }
            }
        }
        return bin;
    }

    private static string? Which(string name)
    {
        foreach (var dir in (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p))
            {
                return p;
            }
        }
        return null;
    }
}
