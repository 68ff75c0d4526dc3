using Sluice.Core.Domain;

namespace Sluice.Core.Storage;

/// <summary>A function that function steps call by name: a local command or an HTTP URL.</summary>
public sealed record FunctionRecord
{
    public const string CommandKind = "command";
    public const string UrlKind = "url";

    public required Scope Scope { get; init; }
    public required string Name { get; init; }
    /// <summary><see cref="CommandKind"/> or <see cref="UrlKind"/>.</summary>
    public required string Kind { get; init; }
    /// <summary>argv of a command function (the first entry is the program, looked up in PATH); null for a URL.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>The http(s) URL a URL function is POSTed to; null for a command.</summary>
    public string? Url { get; init; }
    /// <summary>How long one call may take; a step may set its own.</summary>
    public required TimeSpan TimeLimit { get; init; }
    /// <summary>Extra environment variables of a command function.</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Registered functions, by name in a scope.</summary>
/// <remarks>The store takes every time from its caller; it reads no clock.</remarks>
public interface IFunctionStore
{
    /// <summary>Creates the function, or replaces the one of that name (keeping its creation time). Returns what is stored
    /// and whether it was created.</summary>
    Task<(FunctionRecord Function, bool Created)> PutFunctionAsync(FunctionRecord function, CancellationToken ct);

    Task<FunctionRecord?> GetFunctionAsync(Scope scope, string name, CancellationToken ct);

    /// <summary>Functions of a scope by name.</summary>
    Task<Page<FunctionRecord>> ListFunctionsAsync(Scope scope, int pageSize, string? pageToken, CancellationToken ct);

    /// <summary>False if there was no such function.</summary>
    Task<bool> DeleteFunctionAsync(Scope scope, string name, CancellationToken ct);
}
