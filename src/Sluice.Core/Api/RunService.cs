using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;

namespace Sluice.Core.Api;

/// <summary>The core API for runs: every face calls this, and nothing below it knows about HTTP.</summary>
public sealed class RunService(RunEngine engine)
{
    public const int MaxPageSize = 1000;
    public const int MaxLabels = 64;
    public const int MaxDescription = 3072;

    private IRunStore Store => engine.Store;

    public async Task<RunDetail> StartAsync(StartRunRequest req, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Validation.Labels(req.Labels, problems);
        Validation.Text(req.DisplayName, "displayName", 256, problems);
        Validation.Text(req.Description, "description", MaxDescription, problems);
        Validation.Token(req.IdempotencyToken, "idempotencyToken", problems);
        MaxParallel(req.MaxParallelSteps, problems);
        if (req.RunId is not null && !Ids.IsValidRunId(req.RunId))
        {
            problems.Add(new Problem("runId", "must be 1-63 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"));
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var pipeline = await engine.Pipelines.GetPipelineAsync(req.Scope, req.Pipeline, ct)
            ?? throw SluiceException.NotFound($"pipeline {req.Pipeline} not found");
        var version = req.Version ?? pipeline.LatestVersion;
        var source = await engine.Pipelines.GetVersionAsync(pipeline.Id, version, ct)
            ?? throw SluiceException.NotFound($"version {version} of pipeline {req.Pipeline} not found");
        var plan = engine.Compilers.PlanOf(pipeline.Id, version, source.Source, source.Format);
        var parameters = ParameterBinder.Bind(plan, req.Parameters, problems);
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }

        IdempotencyRecord? idem = null;
        var scope = $"start:{req.Scope.Tenant}";
        if (req.IdempotencyToken is { } token)
        {
            var hash = RunEngine.Hash(JsonSerializer.Serialize(new JsonObject
            {
                ["pipeline"] = pipeline.Id, ["version"] = version, ["parameters"] = parameters.DeepClone(), ["runId"] = req.RunId,
                ["labels"] = new JsonObject((req.Labels ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            }));
            if (await ReplayAsync(scope, token, hash, ct) is { } replay)
            {
                return replay;
            }
            idem = new IdempotencyRecord { Scope = scope, Token = token, RequestHash = hash, Response = "", CreatedAt = engine.Time.GetUtcNow() };
        }

        var now = engine.Time.GetUtcNow();
        var run = new RunRecord
        {
            Id = req.RunId ?? Ids.New(), Scope = req.Scope, PipelineId = pipeline.Id, PipelineName = pipeline.Name, PipelineVersion = version,
            State = RunState.Queued, Version = 1, CreatedAt = now, UpdatedAt = now, Parameters = parameters,
            Labels = req.Labels ?? new Dictionary<string, string>(), DisplayName = req.DisplayName, Face = req.Face, FaceData = req.FaceData,
            Description = req.Description, MaxParallelSteps = req.MaxParallelSteps,
        };
        var steps = plan.Steps.Select(s => new StepRecord { RunId = run.Id, Name = s.Name, Kind = s.Kind, State = StepState.Pending, Version = 1 })
            .ToList();
        var events = new List<RunEvent>
        {
            new() { RunId = run.Id, Kind = "run-created", To = nameof(RunState.Queued), At = now, Caller = req.Caller,
                Message = $"{pipeline.Name} version {version}" },
        };
        try
        {
            var stored = await Store.CreateRunAsync(run, steps, events, idem is null ? null : idem with { Response = run.Id }, ct);
            engine.Hub.Publish(stored);
        }
        catch (AlreadyExistsException)
        {
            if (idem is not null && await ReplayAsync(scope, idem.Token, idem.RequestHash, ct) is { } replay)
            {
                return replay;
            }
            throw new SluiceException(ErrorKind.AlreadyExists, $"run {run.Id} already exists");
        }
        await engine.ActivateAsync(run, steps, ct);
        return new RunDetail(run, steps);
    }

    private async Task<RunDetail?> ReplayAsync(string scope, string token, string hash, CancellationToken ct)
    {
        var prior = await Store.GetIdempotencyAsync(scope, token, ct);
        if (prior is null)
        {
            return null;
        }
        if (prior.RequestHash != hash)
        {
            throw new SluiceException(ErrorKind.AlreadyExists, "the idempotency token was already used for a different request");
        }
        return await GetAsync(prior.Response, null, ct);
    }

    public async Task<RunDetail> GetAsync(string runId, Scope? scope, CancellationToken ct)
    {
        var run = await FindAsync(runId, scope, ct);
        return new RunDetail(run, await Store.GetStepsAsync(run.Id, ct));
    }

    /// <summary>The compiled plan a run froze (its pipeline version), e.g. to show its graph; null when that version no
    /// longer compiles or is gone, which must not make the run itself unreadable.</summary>
    public async Task<Plan?> PlanAsync(RunRecord run, CancellationToken ct)
    {
        try
        {
            return await engine.PlanForAsync(run, ct);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
        {
            return null;
        }
    }

    public async Task<RunRecord> FindAsync(string runId, Scope? scope, CancellationToken ct)
    {
        var run = Validation.IsId(runId) ? await Store.GetRunAsync(runId, ct) : null;
        return run is null || (scope is { } s && !s.Covers(run.Scope)) ? throw SluiceException.NotFound($"run {Validation.Show(runId)} not found") : run;
    }

    public async Task<Page<RunRecord>> ListAsync(RunQuery query, CancellationToken ct)
    {
        if (query.PageSize is < 1 or > MaxPageSize)
        {
            throw SluiceException.Invalid($"pageSize must be between 1 and {MaxPageSize}");
        }
        try
        {
            return await Store.ListRunsAsync(query, ct);
        }
        catch (ArgumentException)
        {
            throw SluiceException.Invalid("pageToken is not valid");
        }
    }

    /// <summary>Most runs a filtered list reads from the store for one page (it may then answer with fewer runs and a token).</summary>
    public const int MaxScanned = 20_000;

    /// <summary>Most runs a list in an order other than creation time sorts.</summary>
    public const int MaxSorted = 10_000;

    private const string SortedTokenPrefix = "sorted.";

    /// <summary>Runs matching <paramref name="where"/> in <paramref name="order"/> (creation time, newest first, by default). The
    /// store pages by creation time; a filter is applied while reading (a page may hold fewer runs than asked, with a token
    /// to go on); another order sorts every matching run (at most <see cref="MaxSorted"/>) and pages by position.</summary>
    public async Task<Page<RunRecord>> ListAsync(RunQuery query, RunCondition? where, RunOrder? order, CancellationToken ct)
    {
        order ??= RunOrder.Default;
        if (order.Field is not (RunField.CreatedAt or RunField.UpdatedAt or RunField.StartedAt or RunField.EndedAt))
        {
            throw SluiceException.Invalid($"runs cannot be ordered by {order.Field}");
        }
        if (order.Field == RunField.CreatedAt)
        {
            var q = query with { OldestFirst = !order.Descending };
            if (where is null)
            {
                return await ListAsync(q, ct);
            }
            var found = new List<RunRecord>();
            var token = q.PageToken;
            var scanned = 0;
            do
            {
                var page = await ListAsync(q with { PageSize = Math.Min(MaxPageSize, Math.Max(q.PageSize, 100)), PageToken = token }, ct);
                token = page.NextPageToken;
                foreach (var r in page.Items)
                {
                    scanned++;
                    if (!where.Test(r))
                    {
                        continue;
                    }
                    found.Add(r);
                    if (found.Count == q.PageSize)
                    {
                        // Full in the middle of the store's page: the next page starts right after this run.
                        return new Page<RunRecord>(found, ReferenceEquals(r, page.Items[^1]) ? token : Store.PageTokenAfter(r));
                    }
                }
            }
            while (token is not null && scanned < MaxScanned);
            return new Page<RunRecord>(found, token);
        }

        if (query.PageSize is < 1 or > MaxPageSize)
        {
            throw SluiceException.Invalid($"pageSize must be between 1 and {MaxPageSize}");
        }
        var offset = 0;
        if (query.PageToken is { } t && (!t.StartsWith(SortedTokenPrefix, StringComparison.Ordinal)
            || !int.TryParse(t[SortedTokenPrefix.Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset)))
        {
            throw SluiceException.Invalid("pageToken is not valid");
        }
        var all = new List<RunRecord>();
        string? next = null;
        do
        {
            var page = await ListAsync(query with { PageSize = MaxPageSize, PageToken = next, OldestFirst = false }, ct);
            all.AddRange(where is null ? page.Items : page.Items.Where(where.Test));
            next = page.NextPageToken;
            if (all.Count > MaxSorted)
            {
                throw new SluiceException(ErrorKind.InvalidArgument,
                    $"more than {MaxSorted} runs match: narrow the filter, or order them by creation time");
            }
        }
        while (next is not null);
        Func<RunRecord, DateTimeOffset?> key = order.Field switch
        {
            RunField.UpdatedAt => r => r.UpdatedAt,
            RunField.StartedAt => r => r.StartedAt,
            _ => r => r.EndedAt,
        };
        // Runs without the time (not started or not ended) come last either way.
        var sorted = order.Descending
            ? all.OrderBy(r => key(r) is null).ThenByDescending(key).ThenByDescending(r => r.Id, StringComparer.Ordinal)
            : all.OrderBy(r => key(r) is null).ThenBy(key).ThenBy(r => r.Id, StringComparer.Ordinal);
        var items = sorted.Skip(offset).Take(query.PageSize).ToList();
        var more = offset + items.Count < all.Count;
        return new Page<RunRecord>(items, more ? SortedTokenPrefix + (offset + items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    /// <summary>Stops a run: Running -> Stopping is durable when this returns; see ARCHITECTURE "How a stop flows".</summary>
    public async Task<StopAnswer> StopAsync(StopRunRequest req, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Validation.Text(req.Reason, "reason", 1024, problems);
        Validation.Token(req.IdempotencyToken, "idempotencyToken", problems);
        if (req.Grace is { } g && (g < TimeSpan.Zero || g > TimeSpan.FromHours(1)))
        {
            problems.Add(new Problem("grace", "must be between 0 and 3600 seconds"));
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var run = await FindAsync(req.RunId, req.Scope, ct);
        if (req.IdempotencyToken is { } token && await StopReplayAsync(run, req, token, ct) is { } replay)
        {
            return replay;
        }
        StopAnswer answer;
        try
        {
            answer = await engine.StopAsync(req, ct);
        }
        catch (ConcurrencyException) when (req.IdempotencyToken is { } t)
        {
            // The same token raced in twice; the one that won answers for both.
            return await StopReplayAsync(run, req, t, ct)
                ?? throw new SluiceException(ErrorKind.Unavailable, "the stop could not be recorded; try again");
        }
        if (req.IdempotencyToken is { } tok && answer.Run.State == RunState.Stopping && !answer.Replayed)
        {
            // A stop of a run that was Stopping already made no commit: remember the answer now.
            var rec = await Store.PutIdempotencyAsync(engine.RememberStop(req, answer.Run), ct);
            if (rec.RequestHash != RunEngine.StopHash(req))
            {
                throw new SluiceException(ErrorKind.AlreadyExists, "the idempotency token was already used for a different request");
            }
        }
        return answer;
    }

    private async Task<StopAnswer?> StopReplayAsync(RunRecord run, StopRunRequest req, string token, CancellationToken ct)
    {
        var prior = await Store.GetIdempotencyAsync(RunEngine.StopScope(run.Scope), token, ct);
        if (prior is null)
        {
            return null;
        }
        if (prior.RequestHash != RunEngine.StopHash(req))
        {
            throw new SluiceException(ErrorKind.AlreadyExists, "the idempotency token was already used for a different request");
        }
        var first = JsonNode.Parse(prior.Response)?["state"]?.GetValue<string>();
        var current = await Store.GetRunAsync(run.Id, ct) ?? run;
        return new StopAnswer(current, Replayed: true)
        {
            AnsweredState = Enum.TryParse<RunState>(first, out var st) ? st : current.State,
        };
    }

    /// <summary>Changes a run's display name, description or parallelism, in any state; through its writer while it is active.</summary>
    public async Task<RunRecord> UpdateAsync(UpdateRunRequest req, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Validation.Text(req.DisplayName, "displayName", 256, problems);
        Validation.Text(req.Description, "description", MaxDescription, problems);
        MaxParallel(req.MaxParallelSteps, problems);
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var run = await FindAsync(req.RunId, req.Scope, ct);
        return await engine.UpdateAsync(run.Id, req, ct);
    }

    /// <summary>Runs a Failed or Stopped run again under the same id: succeeded steps keep their outputs, the others are
    /// Pending again and the run is Running. Any other state is a <see cref="ErrorKind.FailedPrecondition"/>.</summary>
    public async Task<RunRecord> RetryAsync(RetryRunRequest req, CancellationToken ct)
    {
        var problems = new List<Problem>();
        Validation.Token(req.IdempotencyToken, "idempotencyToken", problems);
        MaxParallel(req.MaxParallelSteps, problems);
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var run = await FindAsync(req.RunId, req.Scope, ct);
        IdempotencyRecord? idem = null;
        if (req.IdempotencyToken is { } token)
        {
            var scope = $"retry:{run.Scope.Tenant}";
            var hash = RunEngine.Hash($"{run.Id}\n{req.MaxParallelSteps}");
            var prior = await Store.GetIdempotencyAsync(scope, token, ct);
            if (prior is not null)
            {
                return prior.RequestHash == hash ? await FindAsync(run.Id, req.Scope, ct)
                    : throw new SluiceException(ErrorKind.AlreadyExists, "the idempotency token was already used for a different request");
            }
            idem = new IdempotencyRecord { Scope = scope, Token = token, RequestHash = hash, Response = run.Id, CreatedAt = engine.Time.GetUtcNow() };
        }
        try
        {
            return await engine.RetryAsync(run.Id, req, idem, ct);
        }
        catch (ConcurrencyException) when (idem is not null)
        {
            // The same token raced in twice: the retry that won answers for both.
            var prior = await Store.GetIdempotencyAsync(idem.Scope, idem.Token, ct);
            return prior?.RequestHash == idem.RequestHash ? await FindAsync(run.Id, req.Scope, ct)
                : throw new SluiceException(ErrorKind.AlreadyExists, "the idempotency token was already used for a different request");
        }
    }

    private static void MaxParallel(int? value, List<Problem> problems)
    {
        if (value is < 1 or > 100_000)
        {
            problems.Add(new Problem("maxParallelSteps", "must be between 1 and 100000"));
        }
    }

    /// <summary>Completes a callback step's token (success with outputs, or failure); returns the run after the answer.</summary>
    public async Task<RunRecord> AnswerCallbackAsync(CallbackAnswerRequest req, CancellationToken ct)
    {
        var problems = new List<Problem>();
        if (req.Token.Length is < 1 or > 64 || !req.Token.All(char.IsAsciiLetterOrDigit))
        {
            problems.Add(new Problem("token", "a callback token is letters and digits"));
        }
        Validation.Text(req.Reason, "reason", 1024, problems);
        Validation.Token(req.IdempotencyToken, "idempotencyToken", problems);
        if (req.Outputs is { } outs)
        {
            if (outs.Count > 50)
            {
                problems.Add(new Problem("outputs", "at most 50 outputs"));
            }
            foreach (var (k, v) in outs)
            {
                if (k.Length is < 1 or > 256 || v is null || v.Length > 1024)
                {
                    problems.Add(new Problem($"outputs.{Validation.Show(k)}", "a name is 1-256 characters and a value at most 1024"));
                }
            }
        }
        if (problems.Count > 0)
        {
            throw new SluiceException(ErrorKind.InvalidArgument, string.Join("; ", problems), problems);
        }
        var found = await Store.FindCallbackAsync(req.Token, ct) ?? throw SluiceException.NotFound($"callback token {req.Token} not found");
        await FindAsync(found.RunId, req.Scope, ct);
        return await engine.AnswerCallbackAsync(found.RunId, found.Step, req, ct);
    }

    /// <summary>Deletes a terminal run with its steps, events and logs.</summary>
    public async Task DeleteAsync(string runId, Scope? scope, CancellationToken ct)
    {
        var run = await FindAsync(runId, scope, ct);
        if (!run.State.IsTerminal())
        {
            throw new SluiceException(ErrorKind.FailedPrecondition, $"run {run.Id} is {run.State}; only a finished run can be deleted (stop it first)");
        }
        if (!await Store.DeleteRunAsync(run.Id, run.Version, ct))
        {
            throw SluiceException.NotFound($"run {run.Id} not found");
        }
        var dir = engine.Options.RunDirectory(run.Id);
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
            // The run is gone from the store; a leftover log directory is harmless and is not worth failing the call.
        }
    }

    public async Task<IReadOnlyList<RunEvent>> EventsAsync(string runId, Scope? scope, long afterSeq, int limit, CancellationToken ct)
    {
        var run = await FindAsync(runId, scope, ct);
        return await Store.GetEventsAsync(run.Id, afterSeq, Math.Clamp(limit, 1, 10_000), ct);
    }

    /// <summary>The log file of one attempt of a step (stdout or stderr); the attempt defaults to the last.</summary>
    public async Task<(StepRecord Step, string Path)> LogPathAsync(string runId, Scope? scope, string step, int? attempt, string stream,
        CancellationToken ct)
    {
        var detail = await GetAsync(runId, scope, ct);
        var s = detail.Steps.FirstOrDefault(x => x.Name == step) ?? throw SluiceException.NotFound($"step {Validation.Show(step)} not found in run {runId}");
        if (stream is not ("stdout" or "stderr"))
        {
            throw SluiceException.Invalid("stream must be stdout or stderr");
        }
        var a = attempt ?? s.Attempt;
        if (a < 1 || a > Math.Max(1, s.Attempt))
        {
            throw SluiceException.NotFound($"attempt {a} of step {step} not found");
        }
        return (s, Path.Combine(engine.Options.StepDirectory(runId, step, a), stream + ".log"));
    }
}
