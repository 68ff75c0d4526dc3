using System.Text.Json;
using Npgsql;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresStore
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

    private static readonly string InsertRunSql = Pg.Insert("runs", RunColumns) + " ON CONFLICT (id) DO NOTHING";
    private static readonly string UpdateRunSql =
        $"UPDATE runs SET {Pg.Assign(RunColumns, ImmutableRunColumns)} WHERE id = @id AND version = @expected_version " +
        "AND (@owner IS NULL OR owner = @owner)";
    private static readonly string InsertStepSql = Pg.Insert("steps", StepColumns + ", ordinal");
    // A step made while the run goes (ExpectedVersion 0) reads back after every step the run has so far.
    private static readonly string AppendStepSql = Pg.Insert("steps", StepColumns + ", ordinal").Replace("@ordinal",
        "(SELECT coalesce(max(ordinal), -1) + 1 FROM steps WHERE run_id = @run_id)", StringComparison.Ordinal) + " ON CONFLICT (run_id, name) DO NOTHING";
    private static readonly string UpdateStepSql =
        $"UPDATE steps SET {Pg.Assign(StepColumns, "run_id", "name")} WHERE run_id = @run_id AND name = @name AND version = @expected_version";
    private static readonly string InsertIdempotencySql = Pg.Insert("idempotency", IdempotencyColumns) + " ON CONFLICT (scope, token) DO NOTHING";

    public async Task<IReadOnlyList<RunEvent>> CreateRunAsync(RunRecord run, IReadOnlyList<StepRecord> steps,
        IReadOnlyList<RunEvent> events, IdempotencyRecord? idempotency, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(events);
        Require(steps.All(s => s.RunId == run.Id), nameof(steps), "Every step must belong to the run.");
        Require(steps.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() == steps.Count, nameof(steps), "Step names must be unique.");
        RequireOwnEvents(run.Id, events);

        return await WriteAsync(async s =>
        {
            if (await s.ExecuteAsync(InsertRunSql, c => c.WithRun(run), ct) == 0)
            {
                throw new AlreadyExistsException($"A run with id '{run.Id}' exists already.");
            }
            if (steps.Count > 0)
            {
                await using var batch = new NpgsqlBatch();
                for (var i = 0; i < steps.Count; i++)
                {
                    var step = steps[i];
                    var ordinal = i;
                    batch.BatchCommands.Add(BatchCommand(InsertStepSql, c => c.WithStep(step).Int32("ordinal", ordinal)));
                }
                await ExecuteBatchAsync(s, batch, ct);
            }
            if (idempotency is not null && !await TryInsertIdempotencyAsync(s, idempotency, ct))
            {
                throw new AlreadyExistsException($"Idempotency token '{idempotency.Token}' is taken in '{idempotency.Scope}'.");
            }
            return await InsertEventsAsync(s, events, ct);
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

        return await WriteAsync(async s =>
        {
            if (await s.ExecuteAsync(UpdateRunSql, c => c.WithRun(run).Int64("expected_version", change.ExpectedVersion).Text("owner", change.Owner), ct) == 0)
            {
                var owner = await s.AllAsync("SELECT owner FROM runs WHERE id = @id AND version = @expected_version",
                    c => c.Text("id", run.Id).Int64("expected_version", change.ExpectedVersion), r => r.IsDBNull(0) ? "" : r.GetString(0), ct);
                if (owner is [var other])
                {
                    throw new LeaseLostException($"Run '{run.Id}' is owned by node '{other}', not '{change.Owner}'.");
                }
                throw new ConcurrencyException($"Run '{run.Id}' is gone or not at version {change.ExpectedVersion}.");
            }
            if (change.Steps.Count > 0)
            {
                await using var batch = new NpgsqlBatch();
                foreach (var (step, expected) in change.Steps)
                {
                    batch.BatchCommands.Add(expected == 0
                        ? BatchCommand(AppendStepSql, c => c.WithStep(step))
                        : BatchCommand(UpdateStepSql, c => c.WithStep(step).Int64("expected_version", expected)));
                }
                var counts = await ExecuteBatchAsync(s, batch, ct);
                for (var i = 0; i < counts.Count; i++)
                {
                    if (counts[i] == 0)
                    {
                        throw new ConcurrencyException(change.Steps[i].ExpectedVersion == 0
                            ? $"Step '{change.Steps[i].Step.Name}' of run '{run.Id}' exists already."
                            : $"Step '{change.Steps[i].Step.Name}' of run '{run.Id}' is gone or not at version {change.Steps[i].ExpectedVersion}.");
                    }
                }
            }
            if (change.Idempotency is { } idempotency && !await TryInsertIdempotencyAsync(s, idempotency, ct))
            {
                throw new ConcurrencyException($"Idempotency token '{idempotency.Token}' is taken in '{idempotency.Scope}'.");
            }
            return await InsertEventsAsync(s, change.Events, ct);
        }, ct);
    }

    public Task<RunRecord?> GetRunAsync(string runId, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {RunColumns} FROM runs WHERE id = @id", c => c.Text("id", runId), ReadRun, ct), ct);

    public async Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken ct) =>
        await ReadAsync(s => s.AllAsync($"SELECT {StepColumns} FROM steps WHERE run_id = @run_id ORDER BY ordinal",
            c => c.Text("run_id", runId), ReadStep, ct), ct);

    public async Task<Page<RunRecord>> ListRunsAsync(RunQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1, nameof(query));
        var filter = new Filter().Bind(c => c.Int32("limit", query.PageSize + 1));
        if (query.Scope is { } scope)
        {
            // A tenant-wide scope (the native API's callers) lists the tenant's every location.
            if (scope.IsTenantwide)
            {
                filter.Where("tenant = @tenant", c => c.Text("tenant", scope.Tenant));
            }
            else
            {
                filter.Where("tenant = @tenant AND location = @location", c => c.Text("tenant", scope.Tenant).Text("location", scope.Location));
            }
        }
        if (query.PipelineName is { } pipeline)
        {
            filter.Where("pipeline_name = @pipeline_name", c => c.Text("pipeline_name", pipeline));
        }
        if (query.CreatedAfter is { } after)
        {
            filter.Where("created_at > @created_after", c => c.Time("created_after", after));
        }
        if (query.CreatedBefore is { } before)
        {
            filter.Where("created_at < @created_before", c => c.Time("created_before", before));
        }
        if (query.States is { Count: > 0 } states)
        {
            var names = states.Distinct().Select(x => x.ToString()).ToArray();
            filter.Where("state = ANY (@states)", c => c.TextArray("states", names));
        }
        if (query.Labels is { Count: > 0 } labels)
        {
            var doc = StoredValues.Labels(labels);
            filter.Where("labels_doc @> @labels::jsonb", c => c.Text("labels", doc));
        }
        var order = TimeKeyset(filter, RunsPage, query.PageToken, query.OldestFirst);
        var sql = $"SELECT {RunColumns} FROM runs{filter.Clause()} ORDER BY {order} LIMIT @limit";
        return await ReadAsync(async s =>
        {
            await using var c = filter.Apply(s.Command(sql));
            return ToPage(await c.ReadAllAsync(ReadRun, ct), query.PageSize, r => PageToken.Encode(RunsPage, r.CreatedAt, r.Id));
        }, ct);
    }

    public string PageTokenAfter(RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return PageToken.Encode(RunsPage, run.CreatedAt, run.Id);
    }

    public async Task<IReadOnlyList<string>> ListRunIdsInStatesAsync(IReadOnlyList<RunState> states, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0)
        {
            return [];
        }
        var names = states.Select(x => x.ToString()).ToArray();
        return await ReadAsync(s => s.AllAsync("SELECT id FROM runs WHERE state = ANY (@states) ORDER BY created_at, id",
            c => c.TextArray("states", names), r => r.GetString(0), ct), ct);
    }

    public async Task<IReadOnlyList<RunEvent>> GetEventsAsync(string? runId, long afterSeq, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var filter = new Filter().Where("seq > @after", c => c.Int64("after", afterSeq)).Bind(c => c.Int32("limit", limit));
        if (runId is not null)
        {
            filter.Where("run_id = @run_id", c => c.Text("run_id", runId));
        }
        var sql = $"SELECT seq, {EventColumns} FROM events{filter.Clause()} ORDER BY seq LIMIT @limit";
        return await ReadAsync(async s =>
        {
            await using var c = filter.Apply(s.Command(sql));
            return await c.ReadAllAsync(ReadEvent, ct);
        }, ct);
    }

    public Task<bool> DeleteRunAsync(string runId, long expectedVersion, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync("DELETE FROM runs WHERE id = @id AND version = @expected_version",
            c => c.Text("id", runId).Int64("expected_version", expectedVersion), ct) > 0, ct);

    public Task<IdempotencyRecord?> GetIdempotencyAsync(string scope, string token, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {IdempotencyColumns} FROM idempotency WHERE scope = @scope AND token = @token",
            c => c.Text("scope", scope).Text("token", token), ReadIdempotency, ct), ct);

    public Task<IdempotencyRecord> PutIdempotencyAsync(IdempotencyRecord record, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        return WriteAsync(async s => await TryInsertIdempotencyAsync(s, record, ct)
            ? record
            : (await s.OneAsync($"SELECT {IdempotencyColumns} FROM idempotency WHERE scope = @scope AND token = @token",
                c => c.Text("scope", record.Scope).Text("token", record.Token), ReadIdempotency, ct))!, ct);
    }

    public Task<(string RunId, string Step)?> FindCallbackAsync(string token, CancellationToken ct) =>
        ReadAsync<(string, string)?>(async s =>
        {
            // The expression and the condition match the index steps_callback_token, so that it is used.
            var found = await s.AllAsync(
                "SELECT run_id, name FROM steps WHERE ((executor_data::jsonb) ->> 'token') = @token AND executor_data IS NOT NULL LIMIT 1",
                c => c.Text("token", token), r => (r.GetString(0), r.GetString(1)), ct);
            return found is [var f] ? f : null;
        }, ct);

    public Task<int> PurgeIdempotencyAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(s => s.ExecuteAsync("DELETE FROM idempotency WHERE created_at < @older_than", c => c.Time("older_than", olderThan), ct), ct);

    private static async Task<bool> TryInsertIdempotencyAsync(Session s, IdempotencyRecord record, CancellationToken ct) =>
        await s.ExecuteAsync(InsertIdempotencySql, c => c
            .Text("scope", record.Scope).Text("token", record.Token).Text("request_hash", record.RequestHash)
            .Text("response", record.Response).Time("created_at", record.CreatedAt), ct) > 0;

    private static async Task<List<RunEvent>> InsertEventsAsync(Session s, IReadOnlyList<RunEvent> events, CancellationToken ct)
    {
        if (events.Count == 0)
        {
            return [];
        }
        // One statement for every event; WITH ORDINALITY keeps their order, so sequence numbers follow it.
        var seqs = await s.AllAsync($"""
                INSERT INTO events ({EventColumns})
                SELECT run_id, step, kind, from_state, to_state, at, message, caller, data
                FROM unnest(@run_id, @step, @kind, @from_state, @to_state, @at, @message, @caller, @data)
                     WITH ORDINALITY AS e(run_id, step, kind, from_state, to_state, at, message, caller, data, n)
                ORDER BY n
                RETURNING seq
                """, c => c
                .TextArray("run_id", [.. events.Select(e => e.RunId)]).TextArray("step", [.. events.Select(e => e.Step!)])
                .TextArray("kind", [.. events.Select(e => e.Kind)]).TextArray("from_state", [.. events.Select(e => e.From!)])
                .TextArray("to_state", [.. events.Select(e => e.To!)]).Int64Array("at", [.. events.Select(e => Pg.Ticks(e.At))])
                .TextArray("message", [.. events.Select(e => e.Message!)]).TextArray("caller", [.. events.Select(e => e.Caller!)])
                .TextArray("data", [.. events.Select(e => StoredValues.Json(e.Data)!)]),
            r => r.GetInt64(0), ct);
        // RETURNING gives no order; the sequence was drawn in insertion order, so sorted numbers match the events.
        seqs.Sort();
        return [.. events.Select((e, i) => e with { Seq = seqs[i] })];
    }

    private static NpgsqlBatchCommand BatchCommand(string sql, Action<NpgsqlCommand> bind)
    {
        // Parameters are built on a throwaway command, so that the typed helpers serve batches too.
        using var c = new NpgsqlCommand();
        bind(c);
        var command = new NpgsqlBatchCommand(ToPositional(sql, c.Parameters, out var ordered));
        foreach (var p in ordered)
        {
            command.Parameters.Add(p);
        }
        return command;
    }

    /// <summary>Batch commands take only positional parameters ($1...): rewrites @name in order of first use.</summary>
    private static string ToPositional(string sql, NpgsqlParameterCollection parameters, out List<NpgsqlParameter> ordered)
    {
        var byName = parameters.ToDictionary(p => p.ParameterName, StringComparer.Ordinal);
        var list = new List<NpgsqlParameter>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = NamedParameter().Replace(sql, m =>
        {
            var name = m.Groups[1].Value;
            if (!index.TryGetValue(name, out var i))
            {
                var p = byName[name];
                list.Add(new NpgsqlParameter { NpgsqlDbType = p.NpgsqlDbType, Value = p.Value });
                i = index[name] = list.Count;
            }
            return "$" + Invariant(i);
        });
        ordered = list;
        return result;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![:@\w])@(\w+)")]
    private static partial System.Text.RegularExpressions.Regex NamedParameter();

    private static async Task<List<int>> ExecuteBatchAsync(Session s, NpgsqlBatch batch, CancellationToken ct)
    {
        s.Prepare(batch);
        await batch.ExecuteNonQueryAsync(ct);
        return [.. batch.BatchCommands.Cast<NpgsqlBatchCommand>().Select(c => checked((int)c.RecordsAffected))];
    }

    private static void RequireOwnEvents(string runId, IReadOnlyList<RunEvent> events) =>
        Require(events.All(e => e.RunId == runId), nameof(events), "Every event must belong to the run.");

    private static RunRecord ReadRun(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Run(ref row);
    }

    private static StepRecord ReadStep(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Step(ref row);
    }

    private static RunEvent ReadEvent(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Event(ref row);
    }

    private static IdempotencyRecord ReadIdempotency(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return StoredRecords.Idempotency(ref row);
    }
}

/// <summary>Parameters named after the columns of runs and steps, shared by their INSERT and UPDATE.</summary>
file static class RunParameters
{
    public static NpgsqlCommand WithRun(this NpgsqlCommand c, RunRecord r) => c
        .Text("id", r.Id).Text("tenant", r.Scope.Tenant).Text("location", r.Scope.Location)
        .Text("pipeline_id", r.PipelineId).Text("pipeline_name", r.PipelineName).Int32("pipeline_version", r.PipelineVersion)
        .Text("state", r.State.ToString()).Int64("version", r.Version).Time("created_at", r.CreatedAt)
        .Time("started_at", r.StartedAt).Time("ended_at", r.EndedAt).Time("updated_at", r.UpdatedAt)
        .Text("parameters", StoredValues.Json(r.Parameters)).Text("labels", StoredValues.Labels(r.Labels)).Text("display_name", r.DisplayName)
        .Text("error", r.Error).Text("stop", StoredValues.Stop(r.Stop)).Text("face", r.Face).Text("face_data", StoredValues.Json(r.FaceData))
        .Text("description", r.Description).Int32("max_parallel_steps", r.MaxParallelSteps);

    public static NpgsqlCommand WithStep(this NpgsqlCommand c, StepRecord s) => c
        .Text("run_id", s.RunId).Text("name", s.Name).Text("kind", s.Kind).Text("state", s.State.ToString())
        .Int64("version", s.Version).Int32("attempt", s.Attempt).Time("started_at", s.StartedAt)
        .Time("ended_at", s.EndedAt).Time("not_before", s.NotBefore).Text("reason", s.Reason)
        .Int32("exit_code", s.ExitCode).Text("inputs", StoredValues.Json(s.Inputs)).Text("outputs", StoredValues.Json(s.Outputs))
        .Int32("process_pid", s.Process?.Pid).Int64("process_start_time", s.Process?.StartTime)
        .Text("executor_data", StoredValues.Json(s.ExecutorData));
}
