using System.Text.Json.Nodes;
using Sluice.Core.Api;

namespace Sluice.Core.Definitions;

/// <summary>Turns the parameter values given for a run into typed values: defaults applied, text converted.</summary>
public static class ParameterBinder
{
    /// <summary>Every parameter of <paramref name="plan"/> with its value; problems (path <c>parameters.NAME</c>) for
    /// unknown names, missing required values and values that do not convert to the parameter's type.
    /// A null given value counts as not given.</summary>
    public static JsonObject Bind(Plan plan, JsonObject? given, List<Problem> problems)
    {
        var result = new JsonObject();
        foreach (var p in plan.Parameters)
        {
            JsonNode? value = null;
            if (given is null || !given.TryGetPropertyValue(p.Name, out value) || value is null)
            {
                if (p.Default is null)
                {
                    problems.Add(new Problem($"parameters.{p.Name}", $"parameter '{p.Name}' ({p.Type}) is required"));
                    continue;
                }
                value = p.Default;
            }
            if (Values.TryCoerce(value, p.Type, out var typed, out var error))
            {
                result[p.Name] = typed;
            }
            else
            {
                problems.Add(new Problem($"parameters.{p.Name}", $"parameter '{p.Name}': {error}"));
            }
        }
        if (given is not null)
        {
            foreach (var (key, _) in given)
            {
                if (!plan.Parameters.Any(p => p.Name == key))
                {
                    var shown = key.Length > 60 ? key[..60] + "..." : key;
                    var known = plan.Parameters.Count == 0
                        ? " (the pipeline has no parameters)"
                        : NativeCompiler.Suggest(key, plan.Parameters.Select(p => p.Name));
                    problems.Add(new Problem($"parameters.{shown}", $"unknown parameter '{shown}'{known}"));
                }
            }
        }
        return result;
    }
}
