namespace Sluice.Core.Api;

/// <summary>The closed set of errors the core API raises; each face maps them to its dialect.</summary>
public enum ErrorKind
{
    /// <summary>The request is malformed or a value is out of range.</summary>
    InvalidArgument,
    NotFound,
    /// <summary>The resource exists already, or an idempotency token was reused for another request.</summary>
    AlreadyExists,
    /// <summary>The resource's state does not allow it (stop of a terminal run, delete of an active run).</summary>
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
}

/// <summary>An error of the core API, with the kind every face maps and a message fit for the caller.</summary>
public sealed class SluiceException(ErrorKind kind, string message, IReadOnlyList<Problem>? problems = null) : Exception(message)
{
    public ErrorKind Kind { get; } = kind;

    /// <summary>Every problem found, for a validation error that has several.</summary>
    public IReadOnlyList<Problem> Problems { get; } = problems ?? [];

    public static SluiceException NotFound(string what) => new(ErrorKind.NotFound, what);

    public static SluiceException Invalid(string what) => new(ErrorKind.InvalidArgument, what);
}

/// <summary>One problem in an input: where (a path such as steps[2].args[0], and a line when known) and what.</summary>
public sealed record Problem(string Path, string Message, int? Line = null, int? Column = null)
{
    public override string ToString() => Line is { } l ? $"{Path} (line {l}): {Message}" : $"{Path}: {Message}";
}
