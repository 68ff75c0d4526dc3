using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Sluice.Core.Storage;

/// <summary>One forward-only schema version: an embedded Schema/NNN_name.sql script of a store.</summary>
public sealed record SchemaScript(int Version, string Name, string Sql);

/// <summary>Loads a store's embedded schema scripts (resources named *.Schema.NNN_name.sql), in version order, and checks
/// that they are numbered 1, 2, 3... with no gap: every store migrates by the same rule.</summary>
public static partial class SchemaScripts
{
    public static IReadOnlyList<SchemaScript> Load(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var scripts = new List<SchemaScript>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ScriptName().Match(resource);
            if (!match.Success)
            {
                continue;
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var text = new StreamReader(stream);
            scripts.Add(new SchemaScript(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture), match.Groups["name"].Value, text.ReadToEnd()));
        }
        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < scripts.Count; i++)
        {
            if (scripts[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Schema scripts must be numbered 1, 2, 3...; found {scripts[i].Version} at {i + 1}.");
            }
        }
        return scripts.Count > 0 ? scripts : throw new InvalidOperationException("No schema scripts are embedded.");
    }

    [GeneratedRegex(@"\.Schema\.(?<version>\d+)_(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex ScriptName();
}
