using Npgsql;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresStore
{
    private const string PipelineColumns =
        "id, tenant, location, name, description, latest_version, created_at, updated_at, face, face_data";

    private const string VersionColumns = "pipeline_id, version, format, source, created_at";

    private const string PipelinesPage = "pipelines";

    // No conflict target: a taken id and a name taken by a live pipeline of the scope both leave the row out.
    private static readonly string InsertPipelineSql = Pg.Insert("pipelines", PipelineColumns) + " ON CONFLICT DO NOTHING";
    private static readonly string InsertVersionSql = Pg.Insert("pipeline_versions", VersionColumns);

    public Task CreatePipelineAsync(PipelineRecord pipeline, PipelineVersionRecord firstVersion, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(firstVersion);
        Require(firstVersion.PipelineId == pipeline.Id, nameof(firstVersion), "The version must belong to the pipeline.");
        Require(firstVersion.Version == pipeline.LatestVersion, nameof(firstVersion), "The first version must be the pipeline's latest.");
        return WriteAsync(async s =>
        {
            if (await s.ExecuteAsync(InsertPipelineSql, c => c.WithPipeline(pipeline), ct) == 0)
            {
                throw new AlreadyExistsException(
                    $"A pipeline named '{pipeline.Name}' exists already in {pipeline.Scope.Tenant}/{pipeline.Scope.Location} (or the id '{pipeline.Id}' is taken).");
            }
            return await s.ExecuteAsync(InsertVersionSql, c => c.WithVersion(firstVersion), ct);
        }, ct);
    }

    public Task AddVersionAsync(PipelineRecord updated, PipelineVersionRecord version, int expectedLatest, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(version);
        Require(version.PipelineId == updated.Id, nameof(version), "The version must belong to the pipeline.");
        Require(version.Version == expectedLatest + 1, nameof(version), "The new version must be expectedLatest + 1.");
        Require(updated.LatestVersion == version.Version, nameof(updated), "LatestVersion must be the new version.");
        return WriteAsync(async s =>
        {
            var changed = await s.ExecuteAsync("""
                    UPDATE pipelines SET latest_version = @latest_version, description = @description, updated_at = @updated_at,
                                         face_data = @face_data
                    WHERE id = @id AND latest_version = @expected_latest AND NOT deleted
                    """, c => c
                .Text("id", updated.Id).Int32("latest_version", updated.LatestVersion).Text("description", updated.Description)
                .Time("updated_at", updated.UpdatedAt).Text("face_data", StoredValues.Json(updated.FaceData)).Int32("expected_latest", expectedLatest), ct);
            if (changed == 0)
            {
                throw new ConcurrencyException($"Pipeline '{updated.Id}' is gone or its latest version is not {expectedLatest}.");
            }
            return await s.ExecuteAsync(InsertVersionSql, c => c.WithVersion(version), ct);
        }, ct);
    }

    public Task<PipelineRecord?> GetPipelineAsync(Scope scope, string name, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync(
            $"SELECT {PipelineColumns} FROM pipelines WHERE tenant = @tenant AND location = @location AND name = @name AND NOT deleted",
            c => c.Text("tenant", scope.Tenant).Text("location", scope.Location).Text("name", name), ReadPipeline, ct), ct);

    public Task<PipelineRecord?> GetPipelineByIdAsync(string pipelineId, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {PipelineColumns} FROM pipelines WHERE id = @id AND NOT deleted",
            c => c.Text("id", pipelineId), ReadPipeline, ct), ct);

    public async Task<Page<PipelineRecord>> ListPipelinesAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter().Where("NOT deleted").Bind(c => c.Int32("limit", pageSize + 1));
        if (scope is { } sc)
        {
            filter.Where("tenant = @tenant AND location = @location", c => c.Text("tenant", sc.Tenant).Text("location", sc.Location));
        }
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (name, id) = PageToken.Decode(PipelinesPage, pageToken);
            filter.Where("(name, id) > (@cursor_key, @cursor_id)", c => c.Text("cursor_key", name).Text("cursor_id", id));
        }
        var sql = $"SELECT {PipelineColumns} FROM pipelines{filter.Clause()} ORDER BY name, id LIMIT @limit";
        return await ReadAsync(async s =>
        {
            await using var c = filter.Apply(s.Command(sql));
            return ToPage(await c.ReadAllAsync(ReadPipeline, ct), pageSize, p => PageToken.Encode(PipelinesPage, p.Name, p.Id));
        }, ct);
    }

    public Task<PipelineVersionRecord?> GetVersionAsync(string pipelineId, int version, CancellationToken ct) =>
        ReadAsync(s => s.OneAsync($"SELECT {VersionColumns} FROM pipeline_versions WHERE pipeline_id = @pipeline_id AND version = @version",
            c => c.Text("pipeline_id", pipelineId).Int32("version", version), ReadVersion, ct), ct);

    public async Task<IReadOnlyList<PipelineVersionRecord>> ListVersionsAsync(string pipelineId, CancellationToken ct) =>
        await ReadAsync(s => s.AllAsync($"SELECT {VersionColumns} FROM pipeline_versions WHERE pipeline_id = @pipeline_id ORDER BY version",
            c => c.Text("pipeline_id", pipelineId), ReadVersion, ct), ct);

    public Task<bool> DeletePipelineAsync(string pipelineId, CancellationToken ct) =>
        WriteAsync(async s => await s.ExecuteAsync("UPDATE pipelines SET deleted = true WHERE id = @id AND NOT deleted",
            c => c.Text("id", pipelineId), ct) > 0, ct);

    private static PipelineRecord ReadPipeline(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return new PipelineRecord
        {
            Id = row.Text(),
            Scope = new Scope(row.Text(), row.Text()),
            Name = row.Text(),
            Description = row.TextOrNull(),
            LatestVersion = row.Int32(),
            CreatedAt = row.Time(),
            UpdatedAt = row.Time(),
            Face = row.Text(),
            FaceData = row.JsonOrNull(),
        };
    }

    private static PipelineVersionRecord ReadVersion(NpgsqlDataReader reader)
    {
        var row = new Row(reader);
        return new PipelineVersionRecord
        {
            PipelineId = row.Text(),
            Version = row.Int32(),
            Format = row.Text(),
            Source = row.Text(),
            CreatedAt = row.Time(),
        };
    }
}

/// <summary>Parameters named after the columns of pipelines and their versions.</summary>
file static class PipelineParameters
{
    public static NpgsqlCommand WithPipeline(this NpgsqlCommand c, PipelineRecord p) => c
        .Text("id", p.Id).Text("tenant", p.Scope.Tenant).Text("location", p.Scope.Location).Text("name", p.Name)
        .Text("description", p.Description).Int32("latest_version", p.LatestVersion).Time("created_at", p.CreatedAt)
        .Time("updated_at", p.UpdatedAt).Text("face", p.Face).Text("face_data", StoredValues.Json(p.FaceData));

    public static NpgsqlCommand WithVersion(this NpgsqlCommand c, PipelineVersionRecord v) => c
        .Text("pipeline_id", v.PipelineId).Int32("version", v.Version).Text("format", v.Format).Text("source", v.Source)
        .Time("created_at", v.CreatedAt);
}
