using Sluice.Core.Execution;
using System.Text.RegularExpressions;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Core.Api;

/// <summary>What registering a function asks for: exactly one of <see cref="Command"/> and <see cref="Url"/>.</summary>
public sealed record PutFunctionRequest
{
    /// <summary>argv of a local command: it gets the arguments as one JSON object on stdin and writes one to stdout.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>An http(s) URL: it gets the arguments as a JSON POST body and answers a JSON object.</summary>
    public string? Url { get; init; }

    /// <summary>Null: the default, 120 s.</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>Extra environment variables of a command.</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }
}

/// <summary>The core API for functions, which function steps call by name.</summary>
public sealed partial class FunctionService(IFunctionStore store, TimeProvider time, UrlAllowlist? allowedUrls = null)
{
    public const int MaxNameLength = NativeCompiler.MaxFunctionNameLength;
    public const int MaxArgs = 1000;
    public const int MaxArgLength = 100 * 1024;
    public const int MaxUrlLength = 2048;
    public const int MaxEnv = 1000;
    public const int MaxPageSize = 1000;

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    public static bool IsName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Registers a function, or replaces the one of that name. Steps that start later call the new definition.</summary>
    public async Task<(FunctionRecord Function, bool Created)> PutAsync(Scope scope, string name, PutFunctionRequest request,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<Problem>();
        if (!IsName(name))
        {
            problems.Add(new Problem("name", $"a function name is 1-{MaxNameLength} characters of letters, digits, '_' and '-'; got {Validation.Show(name)}"));
        }
        var kind = Kind(request, problems);
        var limit = request.TimeLimit ?? FunctionStepPlan.DefaultTimeLimit;
        if (limit < FunctionStepPlan.MinTimeLimit || limit > FunctionStepPlan.MaxTimeLimit)
        {
            problems.Add(new Problem("timeLimitSeconds", "a time limit is between 1 and 600 seconds (10 minutes)"));
        }
        Env(request, problems);
        if (problems.Count == 0 && request.Url is { } target && !(allowedUrls ?? UrlAllowlist.LoopbackOnly).Allows(target))
        {
            problems.Add(new Problem("url", (allowedUrls ?? UrlAllowlist.LoopbackOnly).Refusal(target)));
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var now = time.GetUtcNow();
        return await store.PutFunctionAsync(new FunctionRecord
        {
            Scope = scope, Name = name, Kind = kind!, Command = request.Command is { } c ? [.. c] : null, Url = request.Url,
            TimeLimit = limit, Env = request.Env is { Count: > 0 } e ? new Dictionary<string, string>(e, StringComparer.Ordinal) : null,
            CreatedAt = now, UpdatedAt = now,
        }, ct);
    }

    public async Task<FunctionRecord> GetAsync(Scope scope, string name, CancellationToken ct) =>
        (IsName(name) ? await store.GetFunctionAsync(scope, name, ct) : null) ?? throw NotFound(name);

    public async Task<Page<FunctionRecord>> ListAsync(Scope scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw SluiceException.Invalid($"pageSize must be between 1 and {MaxPageSize}");
        }
        try
        {
            return await store.ListFunctionsAsync(scope, pageSize, pageToken, ct);
        }
        catch (ArgumentException)
        {
            throw SluiceException.Invalid("pageToken is not valid");
        }
    }

    /// <summary>Steps already calling the function are not affected; steps that start later fail as not registered.</summary>
    public async Task DeleteAsync(Scope scope, string name, CancellationToken ct)
    {
        if (!IsName(name) || !await store.DeleteFunctionAsync(scope, name, ct))
        {
            throw NotFound(name);
        }
    }

    private static SluiceException NotFound(string name) => SluiceException.NotFound($"function {Validation.Show(name)} not found");

    private static string? Kind(PutFunctionRequest request, List<Problem> problems)
    {
        switch (request)
        {
            case { Command: not null, Url: not null }:
                problems.Add(new Problem("url", "a function is either a command or a url, not both"));
                return null;
            case { Command: { } argv }:
                if (argv.Count == 0 || string.IsNullOrWhiteSpace(argv[0]))
                {
                    problems.Add(new Problem("command", "a command is a non-empty list whose first entry names the program"));
                }
                if (argv.Count > MaxArgs)
                {
                    problems.Add(new Problem("command", $"at most {MaxArgs} entries"));
                }
                for (var i = 0; i < argv.Count && i < MaxArgs; i++)
                {
                    if (argv[i] is null || argv[i].Length > MaxArgLength || argv[i].Contains('\0', StringComparison.Ordinal))
                    {
                        problems.Add(new Problem($"command[{i}]", $"an entry is a string of at most {MaxArgLength} characters without NUL"));
                    }
                }
                return FunctionRecord.CommandKind;
            case { Url: { } url }:
                if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                {
                    problems.Add(new Problem("url", $"must be an absolute http(s) URL of at most {MaxUrlLength} characters; got {Validation.Show(url)}"));
                }
                return FunctionRecord.UrlKind;
            default:
                problems.Add(new Problem("command", "a function needs a command (argv list) or a url"));
                return null;
        }
    }

    private static void Env(PutFunctionRequest request, List<Problem> problems)
    {
        if (request.Env is not { Count: > 0 } env)
        {
            return;
        }
        if (request.Url is not null)
        {
            problems.Add(new Problem("env", "env is only for command functions"));
            return;
        }
        if (env.Count > MaxEnv)
        {
            problems.Add(new Problem("env", $"at most {MaxEnv} variables"));
        }
        foreach (var (k, v) in env)
        {
            var path = $"env.{Validation.Show(k)}";
            if (k.Length > NativeCompiler.MaxNameLength || !EnvName().IsMatch(k))
            {
                problems.Add(new Problem(path, "a variable name is letters, digits and '_', not starting with a digit"));
            }
            else if (k.StartsWith("SLUICE_", StringComparison.Ordinal))
            {
                problems.Add(new Problem(path, "names starting with SLUICE_ are reserved"));
            }
            if (v is null || v.Length > MaxArgLength || v.Contains('\0', StringComparison.Ordinal))
            {
                problems.Add(new Problem(path, $"a value is a string of at most {MaxArgLength} characters without NUL"));
            }
        }
    }
}
