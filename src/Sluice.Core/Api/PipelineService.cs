using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Storage;

namespace Sluice.Core.Api;

/// <summary>A pipeline with the version asked for (or its latest).</summary>
public sealed record PipelineDetail(PipelineRecord Pipeline, PipelineVersionRecord Version, Plan Plan);

/// <summary>The core API for pipelines: create validates fully and stores nothing on any problem.</summary>
public sealed class PipelineService(RunEngine engine)
{
    public const int MaxSourceBytes = 4 * 1024 * 1024;

    private IPipelineStore Store => engine.Pipelines;

    /// <summary>Compiles without storing: every problem, or the plan.</summary>
    public CompileResult Validate(string source, string format) =>
        source.Length > MaxSourceBytes
            ? new CompileResult(null, [new Problem("", $"a definition is at most {MaxSourceBytes} bytes")])
            : engine.Compilers.Compile(source, format);

    /// <summary>Creates a pipeline; its name comes from <paramref name="name"/> or else from the definition.</summary>
    public async Task<PipelineDetail> CreateAsync(Scope scope, string source, string format, string? name, CancellationToken ct,
        string face = "native", string? description = null, JsonObject? faceData = null)
    {
        var (plan, pipelineName) = Compile(source, format, name);
        var now = engine.Time.GetUtcNow();
        var p = new PipelineRecord
        {
            Id = Ids.New(16), Scope = scope, Name = pipelineName, Description = description ?? plan.Description, LatestVersion = 1,
            CreatedAt = now, UpdatedAt = now, Face = face, FaceData = faceData,
        };
        var v = new PipelineVersionRecord { PipelineId = p.Id, Version = 1, Format = format, Source = source, CreatedAt = now };
        try
        {
            await Store.CreatePipelineAsync(p, v, ct);
        }
        catch (AlreadyExistsException)
        {
            throw new SluiceException(ErrorKind.AlreadyExists, $"pipeline {pipelineName} already exists; add a version instead");
        }
        return new PipelineDetail(p, v, plan);
    }

    /// <summary>Adds a version to an existing pipeline.</summary>
    /// <param name="faceData">Replaces the pipeline's face data when set; null keeps it.</param>
    public async Task<PipelineDetail> AddVersionAsync(Scope scope, string name, string source, string format, CancellationToken ct,
        string? description = null, JsonObject? faceData = null)
    {
        var (plan, _) = Compile(source, format, name);
        if (plan.Name is { } planName && planName != name)
        {
            throw SluiceException.Invalid($"the definition names pipeline {Validation.Show(planName)}, not {Validation.Show(name)}");
        }
        for (var tries = 0; ; tries++)
        {
            var p = await GetPipelineAsync(scope, name, ct);
            var now = engine.Time.GetUtcNow();
            var updated = p with
            {
                LatestVersion = p.LatestVersion + 1, UpdatedAt = now, Description = description ?? plan.Description ?? p.Description,
                FaceData = faceData ?? p.FaceData,
            };
            var v = new PipelineVersionRecord { PipelineId = p.Id, Version = updated.LatestVersion, Format = format, Source = source, CreatedAt = now };
            try
            {
                await Store.AddVersionAsync(updated, v, p.LatestVersion, ct);
                return new PipelineDetail(updated, v, plan);
            }
            catch (ConcurrencyException) when (tries < 5)
            {
                // Another version landed first: number this one after it.
            }
        }
    }

    /// <summary>The pipeline's latest version when it has this very source, else a new version; the pipeline is created on
    /// first use (a face that defines and runs in one call, such as Vertex's CreatePipelineJob).</summary>
    public async Task<PipelineDetail> EnsureVersionAsync(Scope scope, string source, string format, string? name, CancellationToken ct,
        string face = "native")
    {
        var (_, pipelineName) = Compile(source, format, name);
        for (var tries = 0; ; tries++)
        {
            var p = await Store.GetPipelineAsync(scope, pipelineName, ct);
            try
            {
                if (p is null)
                {
                    return await CreateAsync(scope, source, format, pipelineName, ct, face);
                }
                var latest = await Store.GetVersionAsync(p.Id, p.LatestVersion, ct);
                if (latest is not null && latest.Format == format && latest.Source == source)
                {
                    return new PipelineDetail(p, latest, engine.Compilers.PlanOf(p.Id, latest.Version, latest.Source, latest.Format));
                }
                return await AddVersionAsync(scope, pipelineName, source, format, ct);
            }
            catch (SluiceException e) when (tries < 5 && e.Kind is ErrorKind.AlreadyExists or ErrorKind.NotFound)
            {
                // Another caller created (or deleted) the pipeline meanwhile: look again.
            }
        }
    }

    public async Task<PipelineRecord> GetPipelineAsync(Scope scope, string name, CancellationToken ct) =>
        await Store.GetPipelineAsync(scope, name, ct) ?? throw SluiceException.NotFound($"pipeline {Validation.Show(name)} not found");

    public async Task<PipelineDetail> GetAsync(Scope scope, string name, int? version, CancellationToken ct)
    {
        var p = await GetPipelineAsync(scope, name, ct);
        var n = version ?? p.LatestVersion;
        var v = await Store.GetVersionAsync(p.Id, n, ct) ?? throw SluiceException.NotFound($"version {n} of pipeline {Validation.Show(name)} not found");
        return new PipelineDetail(p, v, engine.Compilers.PlanOf(p.Id, n, v.Source, v.Format));
    }

    /// <summary>The pipeline version a run froze, wherever the pipeline is kept (a run made through a face has its
    /// pipeline in that face's project and location, not in the caller's native one).</summary>
    public async Task<PipelineDetail> OfRunAsync(RunRecord run, CancellationToken ct)
    {
        var p = await Store.GetPipelineByIdAsync(run.PipelineId, ct)
            ?? throw SluiceException.NotFound($"pipeline {Validation.Show(run.PipelineName)} of run {Validation.Show(run.Id)} is no longer stored");
        var v = await VersionOfRunAsync(run, ct);
        return new PipelineDetail(p, v, engine.Compilers.PlanOf(p.Id, v.Version, v.Source, v.Format));
    }

    /// <summary>The version a run froze when it started (it outlives the pipeline's name), if it is still stored.</summary>
    public Task<PipelineVersionRecord?> VersionOfAsync(RunRecord run, CancellationToken ct) => Store.GetVersionAsync(run.PipelineId, run.PipelineVersion, ct);

    public async Task<IReadOnlyList<PipelineVersionRecord>> VersionsAsync(Scope scope, string name, CancellationToken ct) =>
        await Store.ListVersionsAsync((await GetPipelineAsync(scope, name, ct)).Id, ct);

    public async Task<Page<PipelineRecord>> ListAsync(Scope? scope, int pageSize, string? pageToken, CancellationToken ct)
    {
        if (pageSize is < 1 or > RunService.MaxPageSize)
        {
            throw SluiceException.Invalid($"pageSize must be between 1 and {RunService.MaxPageSize}");
        }
        try
        {
            return await Store.ListPipelinesAsync(scope, pageSize, pageToken, ct);
        }
        catch (ArgumentException)
        {
            throw SluiceException.Invalid("pageToken is not valid");
        }
    }

    /// <summary>The definition a run was started with (its pipeline may have been deleted or changed since).</summary>
    public async Task<PipelineVersionRecord> VersionOfRunAsync(RunRecord run, CancellationToken ct) =>
        await Store.GetVersionAsync(run.PipelineId, run.PipelineVersion, ct)
        ?? throw SluiceException.NotFound($"version {run.PipelineVersion} of pipeline {Validation.Show(run.PipelineName)} not found");

    /// <summary>Deletes a pipeline's name; runs already started keep the version they froze.</summary>
    /// <param name="refuseWhileRunsActive">A pipeline with a run not yet finished is a <see cref="ErrorKind.FailedPrecondition"/>
    /// (SageMaker: stop the executions first).</param>
    public async Task DeleteAsync(Scope scope, string name, CancellationToken ct, bool refuseWhileRunsActive = false)
    {
        var p = await GetPipelineAsync(scope, name, ct);
        if (refuseWhileRunsActive)
        {
            var active = await engine.Store.ListRunsAsync(new RunQuery
            {
                Scope = scope, PipelineName = p.Name, States = [RunState.Queued, RunState.Running, RunState.Stopping], PageSize = 10,
            }, ct);
            if (active.Items.FirstOrDefault(r => r.PipelineId == p.Id) is { } r)
            {
                throw new SluiceException(ErrorKind.FailedPrecondition,
                    $"pipeline {Validation.Show(name)} has a run that is {r.State} ({r.Id}); stop it first");
            }
        }
        if (!await Store.DeletePipelineAsync(p.Id, ct))
        {
            throw SluiceException.NotFound($"pipeline {Validation.Show(name)} not found");
        }
    }

    private (Plan Plan, string Name) Compile(string source, string format, string? name)
    {
        var r = Validate(source, format);
        var problems = r.Problems.ToList();
        var pipelineName = name ?? r.Plan?.Name;
        if (r.Plan is not null && pipelineName is null)
        {
            problems.Add(new Problem("name", "a pipeline needs a name"));
        }
        if (problems.Count > 0 || r.Plan is null)
        {
            throw new SluiceException(ErrorKind.InvalidArgument,
                $"the definition has {problems.Count} problem{(problems.Count == 1 ? "" : "s")}: {string.Join("; ", problems.Take(20))}", problems);
        }
        return (r.Plan, pipelineName!);
    }
}
