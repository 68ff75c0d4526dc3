using System.Text.RegularExpressions;

namespace Sluice.Core.Engine;

/// <summary>Rewrites container paths (such as /opt/ml) in a process step's command line to a folder of its attempt
/// directory, so that a job written for a container finds its files on the host.</summary>
internal sealed partial class ContainerPaths
{
    private readonly Regex? pattern;
    private readonly string root;

    public ContainerPaths(IReadOnlyList<string> prefixes, string root)
    {
        this.root = root;
        if (prefixes.Count > 0)
        {
            var alternatives = string.Join("|", prefixes.Select(p => Regex.Escape(p.TrimEnd('/'))));
            // A path starts a value or follows a separator, and ends at '/' or at the end of a word.
            pattern = new Regex($"(?<=^|[\\s=:,'\"(])(?:{alternatives})(?=/|$|[\\s'\":;,)])", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
    }

    public string Rewrite(string value) => pattern is null ? value : pattern.Replace(value, m => root + m.Value);
}
