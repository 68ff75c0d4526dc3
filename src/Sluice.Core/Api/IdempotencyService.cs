using Sluice.Core.Domain;
using Sluice.Core.Engine;

namespace Sluice.Core.Api;

/// <summary>Makes any operation idempotent under a caller's token: the same token with the same request answers the first
/// answer again without a second effect; the same token with another request is <see cref="ErrorKind.AlreadyExists"/>.
/// Answers are durable and kept for the engine's idempotency retention (24 h by default).</summary>
/// <remarks>The operation runs before its answer is stored: an operation that can be repeated only once must carry the
/// token into its own commit as well (runs do); this helper then only adds the whole-request check and the replay.</remarks>
public sealed class IdempotencyService(RunEngine engine)
{
    /// <summary>Runs <paramref name="action"/> once per (<paramref name="operation"/>, scope, token).</summary>
    /// <param name="operation">Names the operation, so that one token may serve different operations.</param>
    /// <param name="request">A canonical text of the whole request (it is hashed).</param>
    /// <param name="action">Performs the operation and returns its answer, serialized; errors are not remembered.</param>
    public async Task<string> OnceAsync(string operation, Scope scope, string? token, string request, Func<Task<string>> action,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (token is null)
        {
            return await action();
        }
        var problems = new List<Problem>();
        Validation.Token(token, "idempotencyToken", problems);
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var key = $"{operation}:{scope.Tenant}:{scope.Location}";
        var hash = RunEngine.Hash(request);
        var prior = await engine.Store.GetIdempotencyAsync(key, token, ct);
        if (prior is not null)
        {
            return prior.RequestHash == hash ? prior.Response : throw Mismatch();
        }
        var answer = await action();
        var stored = await engine.Store.PutIdempotencyAsync(new IdempotencyRecord
        {
            Scope = key, Token = token, RequestHash = hash, Response = answer, CreatedAt = engine.Time.GetUtcNow(),
        }, ct);
        // Two calls with one token raced: the answer stored first is the answer.
        return stored.RequestHash == hash ? stored.Response : throw Mismatch();
    }

    private static SluiceException Mismatch() =>
        new(ErrorKind.AlreadyExists, "the idempotency token was already used for a different request");
}
