using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Execution;

namespace Sluice.Executors.Function;

/// <summary>Turns what a function returned into the step's outcome, and words the reasons a call fails.</summary>
internal static class FunctionResult
{
    /// <summary>The most a function may return (stdout of a command, the body of a URL's answer).</summary>
    public const int MaxBytes = 1024 * 1024;

    private const int MaxExcerpt = 300;

    /// <summary>The result must be exactly one JSON object; each declared output is taken from it and converted to its type.</summary>
    public static StepOutcome Outcome(string function, string text, IReadOnlyList<OutputSpec> outputs, int? exitCode = null)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return StepOutcome.Failure($"function {function} returned nothing; it must return one JSON object", exitCode);
        }
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            return StepOutcome.Failure($"function {function} did not return one JSON object: {Clip(e.Message)}", exitCode);
        }
        if (node is not JsonObject result)
        {
            var kind = node is null ? "null" : node.GetValueKind() switch
            {
                JsonValueKind.Array => "an array",
                JsonValueKind.String => "a string",
                JsonValueKind.Number => "a number",
                JsonValueKind.True or JsonValueKind.False => "a boolean",
                _ => node.GetValueKind().ToString(),
            };
            return StepOutcome.Failure($"function {function} returned {kind}, not a JSON object", exitCode);
        }
        var values = new JsonObject();
        foreach (var o in outputs)
        {
            if (!result.TryGetPropertyValue(o.Name, out var v) || v is null)
            {
                return StepOutcome.Failure($"function {function} returned no output '{o.Name}'", exitCode);
            }
            if (!Values.TryCoerce(v, o.Type, out var typed, out var error))
            {
                return StepOutcome.Failure($"function {function}: output {o.Name}: {error}", exitCode);
            }
            values[o.Name] = typed;
        }
        return StepOutcome.Success(values, exitCode);
    }

    public static StepOutcome TimedOut(string function, TimeSpan limit) =>
        StepOutcome.Failure($"function {function} timed out after {Seconds(limit)}");

    /// <summary>"120s", "1.5s".</summary>
    public static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###}s");

    /// <summary>One line, at most a few hundred characters, for a reason.</summary>
    public static string Clip(string s)
    {
        var line = s.ReplaceLineEndings(" ").Trim();
        return line.Length > MaxExcerpt ? line[..MaxExcerpt] + "..." : line;
    }
}
