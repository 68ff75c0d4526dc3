using System.Collections.Concurrent;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions;

/// <summary>Compiles one definition format into a plan.</summary>
public interface IDefinitionCompiler
{
    /// <summary>The formats this compiler takes, e.g. "native-yaml", "native-json".</summary>
    IReadOnlyList<string> Formats { get; }

    /// <summary>Never throws on bad input: problems come back in the result.</summary>
    CompileResult Compile(string source, string format);
}

/// <summary>The compilers known to this server, and a cache of compiled plans by pipeline version.</summary>
public sealed class DefinitionCompilers
{
    private readonly Dictionary<string, IDefinitionCompiler> byFormat = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string PipelineId, int Version), Plan> cache = new();

    public DefinitionCompilers(IEnumerable<IDefinitionCompiler> compilers)
    {
        foreach (var c in compilers)
        {
            foreach (var f in c.Formats)
            {
                byFormat[f] = c;
            }
        }
    }

    public CompileResult Compile(string source, string format) =>
        byFormat.TryGetValue(format, out var c)
            ? c.Compile(source, format)
            : new CompileResult(null, [new Problem("format", $"unknown definition format '{format}'")]);

    /// <summary>The plan of a stored, already validated version (compiled once, then cached: versions are immutable).</summary>
    public Plan PlanOf(string pipelineId, int version, string source, string format) =>
        cache.GetOrAdd((pipelineId, version), _ =>
        {
            var r = Compile(source, format);
            return r.Ok ? r.Plan! : throw new SluiceException(ErrorKind.FailedPrecondition,
                $"stored definition of pipeline version {version} no longer compiles: {string.Join("; ", r.Problems)}");
        });
}
