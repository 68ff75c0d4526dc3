using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

public sealed partial class SqliteStore
{
    private const string RunColumns =
        "id, tenant, location, pipeline_id, pipeline_name, pipeline_version, state, version, created_at, started_at, " +
        "ended_at, updated_at, parameters, labels, display_name, error, stop, face, face_data, description, max_parallel_steps";

    private static readonly string[] ImmutableRunColumns =
        ["id", "tenant", "location", "pipeline_id", "pipeline_name", "pipeline_version", "created_at", "face"];

    private const string StepColumns =
        "run_id, name, kind, state, version, attempt, started_at, ended_at, not_before, reason, exit_code, inputs, outputs, " +
        "process_pid, process_start_time, executor_data";

    private const string EventColumns = "run_id, step, kind, from_state, to_state, at, message, caller, data";

    private const string IdempotencyColumns = "scope, token, request_hash, response, created_at";

    private const string RunsPage = "runs";

    /// <summary>Below this many runs a label filter reads its runs through the label index instead of scanning in order.</summary>
    private const int RareLabelRuns = 2000;

    private static readonly string InsertRunSql = Db.Insert("runs", RunColumns) + " ON CONFLICT (id) DO NOTHING";
    // A run's identity (id, scope, pipeline, creation time, face) is fixed when it is created. Leaving those columns
    // out of the SET list is also what keeps SQLite from rewriting the indexes built on them at every commit.
    private static readonly string UpdateRunSql =
        $"UPDATE runs SET {Db.Assign(RunColumns, ImmutableRunColumns)} WHERE id = @id AND version = @expected_version " +
        "AND (@owner IS NULL OR owner = @owner)";
    // Most commits of a run change its steps, not its state. SQLite rewrites the entry of every index that holds a column
    // named in SET, changed or not, and state is in five of the runs indexes: leaving it out when it stays the same
    // writes one page of the runs table instead of six (measured 20.9 KB of WAL per update -> 4.1 KB).
    private static readonly string UpdateRunSameStateSql =
        $"UPDATE runs SET {Db.Assign(RunColumns, [.. ImmutableRunColumns, "state"])} WHERE id = @id AND version = @expected_version " +
        "AND state = @state AND (@owner IS NULL OR owner = @owner)";
    private static readonly string InsertStepSql = Db.Insert("steps", StepColumns + ", ordinal");
    // A step made while the run goes (ExpectedVersion 0) reads back after every step the run has so far.
    private static readonly string AppendStepSql = Db.Insert("steps", StepColumns + ", ordinal").Replace("@ordinal",
        "(SELECT coalesce(max(ordinal), -1) + 1 FROM steps WHERE run_id = @run_id)", StringComparison.Ordinal) + " ON CONFLICT (run_id, name) DO NOTHING";
    private static readonly string UpdateStepSql =
        $"UPDATE steps SET {Db.Assign(StepColumns, "run_id", "name")} WHERE run_id = @run_id AND name = @name AND version = @expected_version";
    private static readonly string InsertEventSql = Db.Insert("events", EventColumns) + " RETURNING seq";
    private static readonly string InsertIdempotencySql = Db.Insert("idempotency", IdempotencyColumns) + " ON CONFLICT (scope, token) DO NOTHING";

    public async Task<IReadOnlyList<RunEvent>> CreateRunAsync(RunRecord run, IReadOnlyList<StepRecord> steps,
        IReadOnlyList<RunEvent> events, IdempotencyRecord? idempotency, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(events);
        Require(steps.All(s => s.RunId == run.Id), nameof(steps), "Every step must belong to the run.");
        Require(steps.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() == steps.Count, nameof(steps), "Step names must be unique.");
        RequireOwnEvents(run.Id, events);

        return await WriteAsync(s =>
        {
            if (s.Command(InsertRunSql).WithRun(run).ExecuteNonQuery() == 0)
            {
                throw new AlreadyExistsException($"A run with id '{run.Id}' exists already.");
            }
            for (var i = 0; i < steps.Count; i++)
            {
                s.Command(InsertStepSql).WithStep(steps[i]).With("@ordinal", i).ExecuteNonQuery();
            }
            if (idempotency is not null && !TryInsertIdempotency(s, idempotency))
            {
                throw new AlreadyExistsException($"Idempotency token '{idempotency.Token}' is taken in '{idempotency.Scope}'.");
            }
            return InsertEvents(s, events);
        }, ct);
    }

    public async Task<IReadOnlyList<RunEvent>> CommitAsync(RunChange change, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(change);
        var run = change.Run;
        Require(run.Version == change.ExpectedVersion + 1, nameof(change), "Run.Version must be ExpectedVersion + 1.");
        foreach (var step in change.Steps)
        {
            Require(step.Step.RunId == run.Id, nameof(change), "Every step must belong to the run.");
            Require(step.Step.Version == step.ExpectedVersion + 1, nameof(change), $"Step '{step.Step.Name}': Version must be ExpectedVersion + 1.");
        }
        Require(change.Steps.Select(s => s.Step.Name).Distinct(StringComparer.Ordinal).Count() == change.Steps.Count,
            nameof(change), "A step may change only once in a commit.");
        RequireOwnEvents(run.Id, change.Events);

        return await WriteAsync(s =>
        {
            if (s.Command(UpdateRunSameStateSql).WithRun(run).With("@expected_version", change.ExpectedVersion).With("@owner", change.Owner)
                    .ExecuteNonQuery() == 0
                && s.Command(UpdateRunSql).WithRun(run).With("@expected_version", change.ExpectedVersion).With("@owner", change.Owner)
                    .ExecuteNonQuery() == 0)
            {
                var owner = s.Command("SELECT owner FROM runs WHERE id = @id AND version = @expected_version")
                    .With("@id", run.Id).With("@expected_version", change.ExpectedVersion).ReadAll(r => r.IsDBNull(0) ? "" : r.GetString(0));
                if (owner is [var other])
                {
                    throw new LeaseLostException($"Run '{run.Id}' is owned by node '{other}', not '{change.Owner}'.");
                }
                throw new ConcurrencyException($"Run '{run.Id}' is gone or not at version {change.ExpectedVersion}.");
            }
            foreach (var (step, expected) in change.Steps)
            {
                var rows = expected == 0
                    ? s.Command(AppendStepSql).WithStep(step).ExecuteNonQuery()
                    : s.Command(UpdateStepSql).WithStep(step).With("@expected_version", expected).ExecuteNonQuery();
                if (rows == 0)
                {
                    throw new ConcurrencyException(expected == 0
                        ? $"Step '{step.Name}' of run '{run.Id}' exists already."
                        : $"Step '{step.Name}' of run '{run.Id}' is gone or not at version {expected}.");
                }
            }
            if (change.Idempotency is { } idempotency && !TryInsertIdempotency(s, idempotency))
            {
                throw new ConcurrencyException($"Idempotency token '{idempotency.Token}' is taken in '{idempotency.Scope}'.");
            }
            return InsertEvents(s, change.Events);
        }, ct);
    }

    public Task<RunRecord?> GetRunAsync(string runId, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {RunColumns} FROM runs WHERE id = @id").With("@id", runId).ReadOne(ReadRun), ct);

    public async Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken ct) =>
        await ReadAsync(s => s.Command($"SELECT {StepColumns} FROM steps WHERE run_id = @run_id ORDER BY ordinal")
            .With("@run_id", runId).ReadAll(ReadStep), ct);

    public async Task<Page<RunRecord>> ListRunsAsync(RunQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1, nameof(query));
        var filter = new Filter().Bind(("@limit", query.PageSize + 1));
        if (query.Scope is { } scope)
        {
            if (scope.IsTenantwide)
            {
                filter.Where("tenant = @tenant", ("@tenant", scope.Tenant));
            }
            else
            {
                filter.Where("tenant = @tenant AND location = @location", ("@tenant", scope.Tenant), ("@location", scope.Location));
            }
        }
        if (query.PipelineName is { } pipeline)
        {
            filter.Where("pipeline_name = @pipeline_name", ("@pipeline_name", pipeline));
        }
        if (query.CreatedAfter is { } after)
        {
            filter.Where("created_at > @created_after", ("@created_after", Db.Ticks(after)));
        }
        if (query.CreatedBefore is { } before)
        {
            filter.Where("created_at < @created_before", ("@created_before", Db.Ticks(before)));
        }
        var order = TimeKeyset(filter, RunsPage, query.PageToken, query.OldestFirst);
        var states = (query.States ?? []).Distinct().ToList();
        for (var i = 0; i < states.Count; i++)
        {
            filter.Bind(($"@state{i}", states[i].ToString()));
        }
        var labels = (query.Labels ?? new Dictionary<string, string>()).ToList();

        return await ReadAsync(s =>
        {
            var driver = RareLabel(s, labels);
            for (var i = 0; i < labels.Count; i++)
            {
                filter.Bind(($"@label_key{i}", labels[i].Key), ($"@label_value{i}", labels[i].Value));
                filter.Where(i == driver
                    ? $"driver.key = @label_key{i} AND driver.value = @label_value{i}"
                    : $"EXISTS (SELECT 1 FROM run_labels AS l WHERE l.run_id = runs.id AND l.key = @label_key{i} AND l.value = @label_value{i})");
            }
            // CROSS JOIN fixes the join order in SQLite: read the few runs with the rare label, then sort them.
            var from = driver >= 0 ? "run_labels AS driver CROSS JOIN runs ON runs.id = driver.run_id" : "runs";
            var sql = ListRunsSql(from, filter, states.Count, order);
            return ToPage(filter.Command(s, sql).ReadAll(ReadRun), query.PageSize, r => PageToken.Encode(RunsPage, r.CreatedAt, r.Id));
        }, ct);
    }

    public string PageTokenAfter(RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return PageToken.Encode(RunsPage, run.CreatedAt, run.Id);
    }

    /// <summary>One branch per state, each a range scan of a (..., state, created_at, id) index, merged: an IN list
    /// over the state column would have to sort every matching run to find the newest.</summary>
    private static string ListRunsSql(string from, Filter filter, int states, string order) => states switch
    {
        0 => $"SELECT {RunColumns} FROM {from}{filter.Clause()} ORDER BY {order} LIMIT @limit",
        1 => $"SELECT {RunColumns} FROM {from}{filter.Clause("state = @state0")} ORDER BY {order} LIMIT @limit",
        _ => string.Join(" UNION ALL ", Enumerable.Range(0, states).Select(i =>
                 $"SELECT * FROM (SELECT {RunColumns} FROM {from}{filter.Clause($"state = @state{i}")} ORDER BY {order} LIMIT @limit)"))
             + $" ORDER BY {order} LIMIT @limit",
    };

    /// <summary>The label carried by the fewest runs, if they are few enough to read them all and sort; else -1.</summary>
    /// <remarks>A common label is best checked run by run while the list's index is scanned in order; a rare one would
    /// make that scan read most of the scope. SQLite cannot tell the two apart, so the store counts (up to a cap).</remarks>
    private static int RareLabel(Session s, List<KeyValuePair<string, string>> labels)
    {
        var rarest = -1;
        long fewest = RareLabelRuns;
        for (var i = 0; i < labels.Count; i++)
        {
            var runs = (long)s.Command(
                    "SELECT count(*) FROM (SELECT 1 FROM run_labels WHERE key = @key AND value = @value LIMIT @cap)")
                .With("@key", labels[i].Key).With("@value", labels[i].Value).With("@cap", RareLabelRuns)
                .ExecuteScalar()!;
            if (runs < fewest)
            {
                (rarest, fewest) = (i, runs);
            }
        }
        return rarest;
    }

    public async Task<IReadOnlyList<string>> ListRunIdsInStatesAsync(IReadOnlyList<RunState> states, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0)
        {
            return [];
        }
        return await ReadAsync(s => s.Command(
                "SELECT id FROM runs WHERE state IN (SELECT value FROM json_each(@states)) ORDER BY created_at, id")
            .With("@states", StatesJson(states)).ReadAll(r => r.GetString(0)), ct);
    }

    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(string? runId, long afterSeq, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var filter = new Filter().Where("seq > @after", ("@after", afterSeq)).Bind(("@limit", limit));
        if (runId is not null)
        {
            filter.Where("run_id = @run_id", ("@run_id", runId));
        }
        var sql = $"SELECT seq, {EventColumns} FROM events{filter.Clause()} ORDER BY seq LIMIT @limit";
        return await ReadAsync(s => filter.Command(s, sql).ReadAll(ReadEvent), ct);
    }

    public Task<bool> DeleteRunAsync(string runId, long expectedVersion, CancellationToken ct) =>
        // Steps, events and labels go with the run (ON DELETE CASCADE).
        WriteAsync(s => s.Command("DELETE FROM runs WHERE id = @id AND version = @expected_version")
            .With("@id", runId).With("@expected_version", expectedVersion).ExecuteNonQuery() > 0, ct);

    public Task<IdempotencyRecord?> GetIdempotencyAsync(string scope, string token, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {IdempotencyColumns} FROM idempotency WHERE scope = @scope AND token = @token")
            .With("@scope", scope).With("@token", token).ReadOne(ReadIdempotency), ct);

    public Task<IdempotencyRecord> PutIdempotencyAsync(IdempotencyRecord record, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        return WriteAsync(s => TryInsertIdempotency(s, record)
            ? record
            : s.Command($"SELECT {IdempotencyColumns} FROM idempotency WHERE scope = @scope AND token = @token")
                .With("@scope", record.Scope).With("@token", record.Token).ReadOne(ReadIdempotency)!, ct);
    }

    public Task<(string RunId, string Step)?> FindCallbackAsync(string token, CancellationToken ct) =>
        ReadAsync<(string, string)?>(s =>
        {
            // The expression and the condition match the index steps_callback_token exactly, so that it is used.
            using var r = s.Command("SELECT run_id, name FROM steps WHERE json_extract(executor_data, '$.token') = @token AND executor_data IS NOT NULL")
                .With("@token", token).ExecuteReader();
            return r.Read() ? (r.GetString(0), r.GetString(1)) : null;
        }, ct);

    /// <summary>Forgets idempotency answers created before the time; returns how many.</summary>
    public Task<int> PurgeIdempotencyAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(s => s.Command("DELETE FROM idempotency WHERE created_at < @older_than")
            .With("@older_than", Db.Ticks(olderThan)).ExecuteNonQuery(), ct);

    private static bool TryInsertIdempotency(Session s, IdempotencyRecord record) =>
        s.Command(InsertIdempotencySql)
            .With("@scope", record.Scope).With("@token", record.Token).With("@request_hash", record.RequestHash)
            .With("@response", record.Response).With("@created_at", Db.Ticks(record.CreatedAt))
            .ExecuteNonQuery() > 0;

    private static List<RunEvent> InsertEvents(Session s, IReadOnlyList<RunEvent> events)
    {
        var stored = new List<RunEvent>(events.Count);
        foreach (var e in events)
        {
            var seq = (long)s.Command(InsertEventSql)
                .With("@run_id", e.RunId).With("@step", e.Step).With("@kind", e.Kind).With("@from_state", e.From)
                .With("@to_state", e.To).With("@at", Db.Ticks(e.At)).With("@message", e.Message).With("@caller", e.Caller)
                .With("@data", StoredValues.Json(e.Data))
                .ExecuteScalar()!;
            stored.Add(e with { Seq = seq });
        }
        return stored;
    }

    private static void RequireOwnEvents(string runId, IReadOnlyList<RunEvent> events) =>
        Require(events.All(e => e.RunId == runId), nameof(events), "Every event must belong to the run.");

    private static string StatesJson(IEnumerable<RunState> states) =>
        StoredValues.Strings(states.Select(s => s.ToString()));

    private static RunRecord ReadRun(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Run(ref row);
    }

    private static StepRecord ReadStep(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Step(ref row);
    }

    private static RunEvent ReadEvent(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Event(ref row);
    }

    private static IdempotencyRecord ReadIdempotency(SqliteDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Idempotency(ref row);
    }
}

/// <summary>Parameters named after the columns of runs and steps, shared by their INSERT and UPDATE.</summary>
file static class RunParameters
{
    public static SqliteCommand WithRun(this SqliteCommand c, RunRecord r) => c
        .With("@id", r.Id).With("@tenant", r.Scope.Tenant).With("@location", r.Scope.Location)
        .With("@pipeline_id", r.PipelineId).With("@pipeline_name", r.PipelineName).With("@pipeline_version", r.PipelineVersion)
        .With("@state", r.State.ToString()).With("@version", r.Version).With("@created_at", Db.Ticks(r.CreatedAt))
        .With("@started_at", Db.Ticks(r.StartedAt)).With("@ended_at", Db.Ticks(r.EndedAt)).With("@updated_at", Db.Ticks(r.UpdatedAt))
        .With("@parameters", StoredValues.Json(r.Parameters)).With("@labels", StoredValues.Labels(r.Labels)).With("@display_name", r.DisplayName)
        .With("@error", r.Error).With("@stop", StoredValues.Stop(r.Stop)).With("@face", r.Face).With("@face_data", StoredValues.Json(r.FaceData))
        .With("@description", r.Description).With("@max_parallel_steps", r.MaxParallelSteps);

    public static SqliteCommand WithStep(this SqliteCommand c, StepRecord s) => c
        .With("@run_id", s.RunId).With("@name", s.Name).With("@kind", s.Kind).With("@state", s.State.ToString())
        .With("@version", s.Version).With("@attempt", s.Attempt).With("@started_at", Db.Ticks(s.StartedAt))
        .With("@ended_at", Db.Ticks(s.EndedAt)).With("@not_before", Db.Ticks(s.NotBefore)).With("@reason", s.Reason)
        .With("@exit_code", s.ExitCode).With("@inputs", StoredValues.Json(s.Inputs)).With("@outputs", StoredValues.Json(s.Outputs))
        .With("@process_pid", s.Process?.Pid).With("@process_start_time", s.Process?.StartTime)
        .With("@executor_data", StoredValues.Json(s.ExecutorData));
}
