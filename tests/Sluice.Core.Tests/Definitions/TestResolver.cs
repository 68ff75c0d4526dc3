using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;

namespace Sluice.Core.Tests.Definitions;

/// <summary>Values by reference text ("params.n", "steps.s.outputs.o"); records what was asked for.</summary>
internal sealed class TestResolver : IValueResolver
{
    private readonly Dictionary<string, JsonNode?> values = new(StringComparer.Ordinal);

    public List<string> Asked { get; } = [];

    public TestResolver Set(string reference, JsonNode? value)
    {
        values[reference] = value;
        return this;
    }

    public JsonNode? Resolve(Reference reference)
    {
        var key = reference.ToString();
        Asked.Add(key);
        return values.TryGetValue(key, out var v)
            ? v?.DeepClone()
            : throw new SluiceException(ErrorKind.InvalidArgument, $"{key} is not available");
    }
}
