using System.Globalization;
using System.Text.RegularExpressions;
using Sluice.Core.Api;

namespace Sluice.Server.Apis.SageMaker;

/// <summary>An error in SageMaker's dialect: a code (the body's __type) and a message; always HTTP 400.</summary>
public sealed class SageMakerException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;

    public static SageMakerException Validation(string message) => new("ValidationException", message);

    public static SageMakerException NotFound(string message) => new("ResourceNotFound", message);

    public static SageMakerException Conflict(string message) => new("ConflictException", message);
}

/// <summary>Maps core errors to SageMaker codes. Some operations give a kind their own meaning (see the callers).</summary>
internal static class SageMakerErrors
{
    public static SageMakerException From(SluiceException e) => e.Kind switch
    {
        ErrorKind.InvalidArgument => SageMakerException.Validation(e.Message),
        ErrorKind.NotFound => SageMakerException.NotFound(e.Message),
        ErrorKind.AlreadyExists => SageMakerException.Conflict(e.Message),
        ErrorKind.FailedPrecondition => SageMakerException.Conflict(e.Message),
        ErrorKind.ResourceExhausted => new SageMakerException("ResourceLimitExceeded", e.Message),
        // Transient: clients retry throttling codes, which is what a busy or restarting server wants.
        ErrorKind.Unavailable => new SageMakerException("ThrottlingException", e.Message),
        _ => new SageMakerException("InternalFailure", e.Message),
    };
}

/// <summary>Checks the constraints of the service model server-side (clients check almost none) and reports every failure
/// in the Coral form: "N validation errors detected: Value 'v' at 'member' failed to satisfy constraint: Member must ...".</summary>
internal sealed class ModelValidator
{
    private readonly List<string> failures = [];

    public ModelValidator Required(object? value, string member)
    {
        if (value is null)
        {
            failures.Add($"Value null at '{Camel(member)}' failed to satisfy constraint: Member must not be null");
        }
        return this;
    }

    public ModelValidator Length(string? value, string member, int min, int max)
    {
        if (value is not null && (value.Length < min || value.Length > max))
        {
            failures.Add($"Value '{Show(value)}' at '{Camel(member)}' failed to satisfy constraint: Member must have length " +
                (value.Length < min ? $"greater than or equal to {min}" : $"less than or equal to {max}"));
        }
        return this;
    }

    public ModelValidator Pattern(string? value, string member, Regex pattern)
    {
        if (value is not null && !pattern.IsMatch(value))
        {
            failures.Add($"Value '{Show(value)}' at '{Camel(member)}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}");
        }
        return this;
    }

    public ModelValidator Enum(string? value, string member, params string[] allowed)
    {
        if (value is not null && !allowed.Contains(value, StringComparer.Ordinal))
        {
            failures.Add($"Value '{Show(value)}' at '{Camel(member)}' failed to satisfy constraint: Member must satisfy enum value set: [{string.Join(", ", allowed)}]");
        }
        return this;
    }

    public ModelValidator Range(long? value, string member, long min, long max)
    {
        if (value is { } v && (v < min || v > max))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"Value '{v}' at '{Camel(member)}' failed to satisfy constraint: Member must have value {(v < min ? $"greater than or equal to {min}" : $"less than or equal to {max}")}"));
        }
        return this;
    }

    public ModelValidator Count<T>(IReadOnlyCollection<T>? list, string member, int min, int max)
    {
        if (list is not null && (list.Count < min || list.Count > max))
        {
            failures.Add($"Value at '{Camel(member)}' failed to satisfy constraint: Member must have length " +
                (list.Count < min ? $"greater than or equal to {min}" : $"less than or equal to {max}"));
        }
        return this;
    }

    public ModelValidator Fail(string message)
    {
        failures.Add(message);
        return this;
    }

    public void ThrowIfAny()
    {
        if (failures.Count > 0)
        {
            throw SageMakerException.Validation(
                $"{failures.Count} validation error{(failures.Count == 1 ? "" : "s")} detected: {string.Join("; ", failures)}");
        }
    }

    /// <summary>Coral names members in lower camel case, with list indexes in the path ("pipelineParameters.1.member.name").</summary>
    private static string Camel(string member) =>
        string.Join('.', member.Split('.').Select(p => p.Length > 0 && char.IsAsciiLetterUpper(p[0]) ? char.ToLowerInvariant(p[0]) + p[1..] : p));

    private static string Show(string s) => Validation.Show(s);
}
