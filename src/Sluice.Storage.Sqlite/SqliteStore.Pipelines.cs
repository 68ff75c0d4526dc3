using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

public sealed partial class SqliteStore
{
    private const string PipelineColumns =
        "id, tenant, location, name, description, latest_version, created_at, updated_at, face, face_data";

    private const string VersionColumns = "pipeline_id, version, format, source, created_at";

    private const string PipelinesPage = "pipelines";

    // No conflict target: a taken id and a name taken by a live pipeline of the scope both leave the row out.
    private static readonly string InsertPipelineSql = Db.Insert("pipelines", PipelineColumns) + " ON CONFLICT DO NOTHING";
    private static readonly string InsertVersionSql = Db.Insert("pipeline_versions", VersionColumns);

    public Task CreatePipelineAsync(PipelineRecord pipeline, PipelineVersionRecord firstVersion, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(firstVersion);
        Require(firstVersion.PipelineId == pipeline.Id, nameof(firstVersion), "The version must belong to the pipeline.");
        Require(firstVersion.Version == pipeline.LatestVersion, nameof(firstVersion), "The first version must be the pipeline's latest.");
        return WriteAsync(s =>
        {
            if (s.Command(InsertPipelineSql).WithPipeline(pipeline).ExecuteNonQuery() == 0)
            {
                throw new AlreadyExistsException(
                    $"A pipeline named '{pipeline.Name}' exists already in {pipeline.Scope.Tenant}/{pipeline.Scope.Location} (or the id '{pipeline.Id}' is taken).");
            }
            return s.Command(InsertVersionSql).WithVersion(firstVersion).ExecuteNonQuery();
        }, ct);
    }

    public Task AddVersionAsync(PipelineRecord updated, PipelineVersionRecord version, int expectedLatest, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(version);
        Require(version.PipelineId == updated.Id, nameof(version), "The version must belong to the pipeline.");
        Require(version.Version == expectedLatest + 1, nameof(version), "The new version must be expectedLatest + 1.");
        Require(updated.LatestVersion == version.Version, nameof(updated), "LatestVersion must be the new version.");
        return WriteAsync(s =>
        {
            var changed = s.Command("""
                    UPDATE pipelines SET latest_version = @latest_version, description = @description, updated_at = @updated_at,
                                         face_data = @face_data
                    WHERE id = @id AND latest_version = @expected_latest AND deleted = 0
                    """)
                .With("@id", updated.Id).With("@latest_version", updated.LatestVersion).With("@description", updated.Description)
                .With("@updated_at", Db.Ticks(updated.UpdatedAt)).With("@face_data", StoredValues.Json(updated.FaceData))
                .With("@expected_latest", expectedLatest)
                .ExecuteNonQuery();
            if (changed == 0)
            {
                throw new ConcurrencyException($"Pipeline '{updated.Id}' is gone or its latest version is not {expectedLatest}.");
            }
            return s.Command(InsertVersionSql).WithVersion(version).ExecuteNonQuery();
        }, ct);
    }

    public Task<PipelineRecord?> GetPipelineAsync(Scope scope, string name, CancellationToken ct) =>
        ReadAsync(s => s.Command(
                $"SELECT {PipelineColumns} FROM pipelines WHERE tenant = @tenant AND location = @location AND name = @name AND deleted = 0")
            .With("@tenant", scope.Tenant).With("@location", scope.Location).With("@name", name).ReadOne(ReadPipeline), ct);

    /// <summary>A deleted pipeline is not found here; its versions still are, through <see cref="GetVersionAsync"/>.</summary>
    public Task<PipelineRecord?> GetPipelineByIdAsync(string pipelineId, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {PipelineColumns} FROM pipelines WHERE id = @id AND deleted = 0")
            .With("@id", pipelineId).ReadOne(ReadPipeline), ct);

    public async Task<Page<PipelineRecord>> ListPipelinesAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var filter = new Filter().Where("deleted = 0").Bind(("@limit", pageSize + 1));
        if (scope is { } sc)
        {
            filter.Where("tenant = @tenant AND location = @location", ("@tenant", sc.Tenant), ("@location", sc.Location));
        }
        if (!string.IsNullOrEmpty(pageToken))
        {
            var (name, id) = PageToken.Decode(PipelinesPage, pageToken);
            filter.Where("(name, id) > (@cursor_key, @cursor_id)", ("@cursor_key", name), ("@cursor_id", id));
        }
        var sql = $"SELECT {PipelineColumns} FROM pipelines{filter.Clause()} ORDER BY name, id LIMIT @limit";
        return await ReadAsync(s => ToPage(filter.Command(s, sql).ReadAll(ReadPipeline), pageSize,
            p => PageToken.Encode(PipelinesPage, p.Name, p.Id)), ct);
    }

    public Task<PipelineVersionRecord?> GetVersionAsync(string pipelineId, int version, CancellationToken ct) =>
        ReadAsync(s => s.Command($"SELECT {VersionColumns} FROM pipeline_versions WHERE pipeline_id = @pipeline_id AND version = @version")
            .With("@pipeline_id", pipelineId).With("@version", version).ReadOne(ReadVersion), ct);

    public async Task<IReadOnlyList<PipelineVersionRecord>> ListVersionsAsync(string pipelineId, CancellationToken ct) =>
        await ReadAsync(s => s.Command($"SELECT {VersionColumns} FROM pipeline_versions WHERE pipeline_id = @pipeline_id ORDER BY version")
            .With("@pipeline_id", pipelineId).ReadAll(ReadVersion), ct);

    public Task<bool> DeletePipelineAsync(string pipelineId, CancellationToken ct) =>
        WriteAsync(s => s.Command("UPDATE pipelines SET deleted = 1 WHERE id = @id AND deleted = 0")
            .With("@id", pipelineId).ExecuteNonQuery() > 0, ct);

    private static PipelineRecord ReadPipeline(SqliteDataReader reader)
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

    private static PipelineVersionRecord ReadVersion(SqliteDataReader reader)
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
    public static SqliteCommand WithPipeline(this SqliteCommand c, PipelineRecord p) => c
        .With("@id", p.Id).With("@tenant", p.Scope.Tenant).With("@location", p.Scope.Location).With("@name", p.Name)
        .With("@description", p.Description).With("@latest_version", p.LatestVersion).With("@created_at", Db.Ticks(p.CreatedAt))
        .With("@updated_at", Db.Ticks(p.UpdatedAt)).With("@face", p.Face).With("@face_data", StoredValues.Json(p.FaceData));

    public static SqliteCommand WithVersion(this SqliteCommand c, PipelineVersionRecord v) => c
        .With("@pipeline_id", v.PipelineId).With("@version", v.Version).With("@format", v.Format).With("@source", v.Source)
        .With("@created_at", Db.Ticks(v.CreatedAt));
}
