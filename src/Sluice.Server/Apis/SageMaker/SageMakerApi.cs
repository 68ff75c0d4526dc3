using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Sluice.Server.Auth;

namespace Sluice.Server.Apis.SageMaker;

/// <summary>The SageMaker Pipelines face: the 16 operations of AWS JSON 1.1 (X-Amz-Target: SageMaker.OP), each translated to
/// the core API. Pipelines live in the caller's scope (account -> tenant, region -> location) under their name lowercased,
/// because SageMaker names are case-insensitive; the name as given is kept in the pipeline's face data.</summary>
internal sealed class SageMakerApi(RunService runs, PipelineService pipelines, IdempotencyService idempotency, TimeProvider time)
{
    /// <summary>The definition format the SageMaker PipelineDefinition compiler registers.</summary>
    public const string Format = "sagemaker";

    public const string Face = "sagemaker";

    private const int DefaultPageSize = 50;

    private static readonly SageMakerJson Json = SageMakerJson.Default;

    public static readonly IReadOnlySet<string> Operations = new HashSet<string>(StringComparer.Ordinal)
    {
        "CreatePipeline", "DescribePipeline", "UpdatePipeline", "DeletePipeline", "ListPipelines", "StartPipelineExecution",
        "StopPipelineExecution", "DescribePipelineExecution", "ListPipelineExecutions", "ListPipelineExecutionSteps",
        "SendPipelineExecutionStepSuccess", "SendPipelineExecutionStepFailure", "RetryPipelineExecution",
        "DescribePipelineDefinitionForExecution", "ListPipelineParametersForExecution", "UpdatePipelineExecution",
    };

    /// <summary>Runs one operation and returns the response body (JSON).</summary>
    public async Task<string> HandleAsync(string op, byte[] body, AwsCaller caller, CancellationToken ct)
    {
        try
        {
            return op switch
            {
                "CreatePipeline" => await CreatePipelineAsync(Read(body, Json.CreatePipelineRequest), caller, ct),
                "DescribePipeline" => await DescribePipelineAsync(Read(body, Json.DescribePipelineRequest), caller, ct),
                "UpdatePipeline" => await UpdatePipelineAsync(Read(body, Json.UpdatePipelineRequest), caller, ct),
                "DeletePipeline" => await DeletePipelineAsync(Read(body, Json.DeletePipelineRequest), caller, ct),
                "ListPipelines" => await ListPipelinesAsync(Read(body, Json.ListPipelinesRequest), caller, ct),
                "StartPipelineExecution" => await StartAsync(Read(body, Json.StartPipelineExecutionRequest), caller, ct),
                "StopPipelineExecution" => await StopAsync(Read(body, Json.ExecutionRequest), caller, ct),
                "DescribePipelineExecution" => await DescribeExecutionAsync(Read(body, Json.ExecutionRequest), caller, ct),
                "ListPipelineExecutions" => await ListExecutionsAsync(Read(body, Json.ListPipelineExecutionsRequest), caller, ct),
                "ListPipelineExecutionSteps" => await ListStepsAsync(Read(body, Json.ExecutionRequest), caller, ct),
                "SendPipelineExecutionStepSuccess" => await SendStepAsync(Read(body, Json.SendStepRequest), true, caller, ct),
                "SendPipelineExecutionStepFailure" => await SendStepAsync(Read(body, Json.SendStepRequest), false, caller, ct),
                "RetryPipelineExecution" => await RetryAsync(Read(body, Json.ExecutionRequest), caller, ct),
                "DescribePipelineDefinitionForExecution" => await DefinitionForExecutionAsync(Read(body, Json.ExecutionRequest), caller, ct),
                "ListPipelineParametersForExecution" => await ParametersAsync(Read(body, Json.ExecutionRequest), caller, ct),
                "UpdatePipelineExecution" => await UpdateExecutionAsync(Read(body, Json.ExecutionRequest), caller, ct),
                _ => throw new SageMakerException("UnknownOperationException", $"Unknown operation {Validation.Show(op)}."),
            };
        }
        catch (SluiceException e)
        {
            throw SageMakerErrors.From(e);
        }
    }

    private static T Read<T>(byte[] body, JsonTypeInfo<T> info)
    {
        if (body.Length == 0)
        {
            body = "{}"u8.ToArray();
        }
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { AllowDuplicateProperties = false });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new SageMakerException("SerializationException", "The request body must be a JSON object.");
            }
            return doc.RootElement.Deserialize(info) ?? throw new SageMakerException("SerializationException", "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw new SageMakerException("SerializationException", $"The request body could not be read: {e.Message}");
        }
    }

    private static string Write<T>(T value, JsonTypeInfo<T> info) => JsonSerializer.Serialize(value, info);

    // ---- shared checks ----

    private static void Token(ModelValidator v, string? token, string member = "ClientRequestToken") => v.Length(token, member, 32, 128);

    private static void Parallelism(ModelValidator v, ParallelismConfiguration? p)
    {
        if (p is not null)
        {
            v.Required(p.MaxParallelExecutionSteps, "ParallelismConfiguration.MaxParallelExecutionSteps")
                .Range(p.MaxParallelExecutionSteps, "ParallelismConfiguration.MaxParallelExecutionSteps", 1, 100_000);
        }
    }

    private static void ExecutionArn(ModelValidator v, string? arn) =>
        v.Required(arn, "PipelineExecutionArn").Length(arn, "PipelineExecutionArn", 0, 2048).Pattern(arn, "PipelineExecutionArn", Shapes.PipelineExecutionArn());

    private static void Page(ModelValidator v, string? nextToken, int? maxResults) =>
        v.Length(nextToken, "NextToken", 0, 8192).Range(maxResults, "MaxResults", 1, 100);

    private static void Definition(ModelValidator v, string? definition, PipelineDefinitionS3Location? s3, bool required)
    {
        v.Length(definition, "PipelineDefinition", 1, 1_048_576);
        if (s3 is not null)
        {
            v.Required(s3.Bucket, "PipelineDefinitionS3Location.Bucket").Length(s3.Bucket, "PipelineDefinitionS3Location.Bucket", 3, 63)
                .Pattern(s3.Bucket, "PipelineDefinitionS3Location.Bucket", Shapes.BucketName())
                .Required(s3.ObjectKey, "PipelineDefinitionS3Location.ObjectKey").Length(s3.ObjectKey, "PipelineDefinitionS3Location.ObjectKey", 1, 1024)
                .Length(s3.VersionId, "PipelineDefinitionS3Location.VersionId", 1, 1024);
        }
        if (definition is not null && s3 is not null)
        {
            v.Fail("Exactly one of PipelineDefinition and PipelineDefinitionS3Location may be given.");
        }
        else if (required && definition is null && s3 is null)
        {
            v.Fail("Either PipelineDefinition or PipelineDefinitionS3Location must be given.");
        }
    }

    private static void RefuseS3(PipelineDefinitionS3Location? s3)
    {
        if (s3 is not null)
        {
            throw SageMakerException.Validation(
                "PipelineDefinitionS3Location is not supported by this server (it has no S3): send the definition as PipelineDefinition.");
        }
    }

    /// <summary>A name or pipeline ARN to the pipeline in the caller's scope; an ARN of another account or region is not found.</summary>
    private async Task<PipelineRecord> PipelineAsync(AwsCaller c, string nameOrArn, CancellationToken ct)
    {
        var name = nameOrArn;
        if (nameOrArn.StartsWith("arn:", StringComparison.Ordinal))
        {
            var m = Shapes.PipelineArn().Match(nameOrArn);
            if (!m.Success || m.Groups["region"].Value != c.Region || m.Groups["account"].Value != c.Account)
            {
                throw SageMakerException.NotFound($"Pipeline '{Validation.Show(nameOrArn)}' does not exist.");
            }
            name = m.Groups["name"].Value;
        }
        var found = await FindPipelineAsync(c, name, ct);
        return found ?? throw SageMakerException.NotFound(
            $"Pipeline '{Core.Engine.Ids.PipelineArn(c.Region, c.Account, name)}' does not exist.");
    }

    private async Task<PipelineRecord?> FindPipelineAsync(AwsCaller c, string name, CancellationToken ct)
    {
        var lower = name.ToLowerInvariant();
        foreach (var candidate in string.Equals(name, lower, StringComparison.Ordinal) ? [name] : (string[])[lower, name])
        {
            try
            {
                return await pipelines.GetPipelineAsync(c.Scope, candidate, ct);
            }
            catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
            {
            }
        }
        return null;
    }

    /// <summary>An execution ARN to its run; the account, region and pipeline name in the ARN must all match.</summary>
    private async Task<RunRecord> RunAsync(AwsCaller c, string arn, CancellationToken ct)
    {
        var m = Shapes.ExecutionArnParts().Match(arn);
        RunRecord? run = null;
        if (m.Success && m.Groups["region"].Value == c.Region && m.Groups["account"].Value == c.Account)
        {
            try
            {
                run = await runs.FindAsync(m.Groups["id"].Value, c.Scope, ct);
            }
            catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
            {
            }
        }
        return run is not null && string.Equals(run.PipelineName, m.Groups["name"].Value, StringComparison.OrdinalIgnoreCase)
            ? run
            : throw SageMakerException.NotFound($"Pipeline execution '{Validation.Show(arn)}' does not exist.");
    }

    private static JsonObject PipelineFaceData(AwsCaller c, string name, string? displayName, string? roleArn, List<Tag>? tags, int? parallelism) => new()
    {
        ["name"] = name,
        ["displayName"] = displayName,
        ["roleArn"] = roleArn,
        ["account"] = c.Account,
        ["parallelism"] = parallelism,
        ["tags"] = tags is null ? null : new JsonArray([.. tags.Select(t => (JsonNode)new JsonObject { ["Key"] = t.Key, ["Value"] = t.Value })]),
    };

    // ---- pipelines ----

    private async Task<string> CreatePipelineAsync(CreatePipelineRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Required(r.PipelineName, "PipelineName").Length(r.PipelineName, "PipelineName", 1, 256).Pattern(r.PipelineName, "PipelineName", Shapes.PipelineName())
            .Length(r.PipelineDisplayName, "PipelineDisplayName", 1, 256).Pattern(r.PipelineDisplayName, "PipelineDisplayName", Shapes.PipelineName())
            .Length(r.PipelineDescription, "PipelineDescription", 0, 3072)
            .Required(r.RoleArn, "RoleArn").Length(r.RoleArn, "RoleArn", 20, 2048).Pattern(r.RoleArn, "RoleArn", Shapes.RoleArn())
            .Count(r.Tags, "Tags", 0, 50);
        Token(v, r.ClientRequestToken);
        Definition(v, r.PipelineDefinition, r.PipelineDefinitionS3Location, required: true);
        Parallelism(v, r.ParallelismConfiguration);
        for (var i = 0; r.Tags is not null && i < r.Tags.Count; i++)
        {
            var t = r.Tags[i];
            if (t is null)
            {
                v.Required(t, $"Tags.{i + 1}.member");
                continue;
            }
            v.Required(t.Key, $"Tags.{i + 1}.member.Key").Length(t.Key, $"Tags.{i + 1}.member.Key", 1, 128).Pattern(t.Key, $"Tags.{i + 1}.member.Key", Shapes.TagText())
                .Required(t.Value, $"Tags.{i + 1}.member.Value").Length(t.Value, $"Tags.{i + 1}.member.Value", 0, 256)
                .Pattern(t.Value, $"Tags.{i + 1}.member.Value", Shapes.TagText());
        }
        v.ThrowIfAny();
        RefuseS3(r.PipelineDefinitionS3Location);
        var name = r.PipelineName!;
        return await idempotency.OnceAsync("sagemaker-create-pipeline", c.Scope, r.ClientRequestToken,
            Write(r with { ClientRequestToken = null }, Json.CreatePipelineRequest), async () =>
            {
                if (await FindPipelineAsync(c, name, ct) is not null)
                {
                    throw Duplicate(name);
                }
                PipelineDetail d;
                try
                {
                    d = await pipelines.CreateAsync(c.Scope, r.PipelineDefinition!, Format, name.ToLowerInvariant(), ct, Face, r.PipelineDescription,
                        PipelineFaceData(c, name, r.PipelineDisplayName, r.RoleArn, r.Tags, r.ParallelismConfiguration?.MaxParallelExecutionSteps));
                }
                catch (SluiceException e) when (e.Kind == ErrorKind.AlreadyExists)
                {
                    throw Duplicate(name);
                }
                return Write(new PipelineArnResponse(SageMakerMapper.PipelineArn(c, d.Pipeline)), Json.PipelineArnResponse);
            }, ct);
    }

    private static SageMakerException Duplicate(string name) => SageMakerException.Validation(
        $"Pipeline names must be unique within an AWS account and region. Pipeline with name ({name}) already exists.");

    private async Task<string> DescribePipelineAsync(DescribePipelineRequest r, AwsCaller c, CancellationToken ct)
    {
        new ModelValidator().Required(r.PipelineName, "PipelineName").Length(r.PipelineName, "PipelineName", 1, 2048)
            .Pattern(r.PipelineName, "PipelineName", Shapes.PipelineNameOrArn()).Range(r.PipelineVersionId, "PipelineVersionId", 1, long.MaxValue)
            .ThrowIfAny();
        var p = await PipelineAsync(c, r.PipelineName!, ct);
        if (r.PipelineVersionId is > int.MaxValue)
        {
            throw SageMakerException.NotFound($"Version {r.PipelineVersionId} of pipeline {SageMakerMapper.NameOf(p)} does not exist.");
        }
        var d = await pipelines.GetAsync(c.Scope, p.Name, r.PipelineVersionId is { } n ? (int)n : null, ct);
        var last = await runs.ListAsync(new RunQuery { Scope = c.Scope, PipelineName = p.Name, PageSize = 1 }, ct);
        var fd = p.FaceData;
        return Write(new DescribePipelineResponse
        {
            PipelineArn = SageMakerMapper.PipelineArn(c, p),
            PipelineName = SageMakerMapper.NameOf(p),
            PipelineDisplayName = fd?["displayName"]?.GetValue<string>() ?? SageMakerMapper.NameOf(p),
            PipelineDefinition = d.Version.Source,
            PipelineDescription = p.Description,
            RoleArn = fd?["roleArn"]?.GetValue<string>(),
            CreationTime = SageMakerMapper.Epoch(p.CreatedAt),
            LastModifiedTime = SageMakerMapper.Epoch(p.UpdatedAt),
            LastRunTime = last.Items.Count > 0 && last.Items[0] is { } lr ? SageMakerMapper.Epoch(lr.CreatedAt) : null,
            CreatedBy = SageMakerMapper.User(c),
            LastModifiedBy = SageMakerMapper.User(c),
            ParallelismConfiguration = SageMakerMapper.Parallelism(fd?["parallelism"]?.GetValue<int>()),
            PipelineVersionId = d.Version.Version,
        }, Json.DescribePipelineResponse);
    }

    private async Task<string> UpdatePipelineAsync(UpdatePipelineRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Required(r.PipelineName, "PipelineName").Length(r.PipelineName, "PipelineName", 1, 256).Pattern(r.PipelineName, "PipelineName", Shapes.PipelineName())
            .Length(r.PipelineDisplayName, "PipelineDisplayName", 1, 256).Pattern(r.PipelineDisplayName, "PipelineDisplayName", Shapes.PipelineName())
            .Length(r.PipelineDescription, "PipelineDescription", 0, 3072)
            .Length(r.RoleArn, "RoleArn", 20, 2048).Pattern(r.RoleArn, "RoleArn", Shapes.RoleArn());
        Definition(v, r.PipelineDefinition, r.PipelineDefinitionS3Location, required: false);
        Parallelism(v, r.ParallelismConfiguration);
        v.ThrowIfAny();
        RefuseS3(r.PipelineDefinitionS3Location);
        var p = await PipelineAsync(c, r.PipelineName!, ct);
        var current = await pipelines.GetAsync(c.Scope, p.Name, null, ct);
        var fd = (JsonObject?)p.FaceData?.DeepClone() ?? new JsonObject { ["name"] = p.Name, ["account"] = c.Account };
        if (r.PipelineDisplayName is { } dn)
        {
            fd["displayName"] = dn;
        }
        if (r.RoleArn is { } role)
        {
            fd["roleArn"] = role;
        }
        if (r.ParallelismConfiguration?.MaxParallelExecutionSteps is { } par)
        {
            fd["parallelism"] = par;
        }
        // Every update is a new version (as SageMaker's pipeline versions): running executions keep the one they started with.
        var d = await pipelines.AddVersionAsync(c.Scope, p.Name, r.PipelineDefinition ?? current.Version.Source,
            r.PipelineDefinition is null ? current.Version.Format : Format, ct, r.PipelineDescription ?? p.Description, fd);
        return Write(new PipelineArnResponse(SageMakerMapper.PipelineArn(c, d.Pipeline), d.Version.Version), Json.PipelineArnResponse);
    }

    private async Task<string> DeletePipelineAsync(DeletePipelineRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Required(r.PipelineName, "PipelineName").Length(r.PipelineName, "PipelineName", 1, 256).Pattern(r.PipelineName, "PipelineName", Shapes.PipelineName());
        Token(v, r.ClientRequestToken);
        v.ThrowIfAny();
        return await idempotency.OnceAsync("sagemaker-delete-pipeline", c.Scope, r.ClientRequestToken,
            Write(r with { ClientRequestToken = null }, Json.DeletePipelineRequest), async () =>
            {
                var p = await PipelineAsync(c, r.PipelineName!, ct);
                try
                {
                    await pipelines.DeleteAsync(c.Scope, p.Name, ct, refuseWhileRunsActive: true);
                }
                catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
                {
                    throw SageMakerException.Conflict($"Pipeline {SageMakerMapper.NameOf(p)} has executions that are not finished; stop them first. ({e.Message})");
                }
                return Write(new PipelineArnResponse(SageMakerMapper.PipelineArn(c, p)), Json.PipelineArnResponse);
            }, ct);
    }

    private async Task<string> ListPipelinesAsync(ListPipelinesRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Length(r.PipelineNamePrefix, "PipelineNamePrefix", 1, 256).Pattern(r.PipelineNamePrefix, "PipelineNamePrefix", Shapes.PipelineName())
            .Enum(r.SortBy, "SortBy", "Name", "CreationTime").Enum(r.SortOrder, "SortOrder", "Ascending", "Descending");
        Page(v, r.NextToken, r.MaxResults);
        v.ThrowIfAny();
        var all = new List<PipelineRecord>();
        string? token = null;
        do
        {
            var page = await pipelines.ListAsync(c.Scope, RunService.MaxPageSize, token, ct);
            all.AddRange(page.Items);
            token = page.NextPageToken;
        }
        while (token is not null);
        IEnumerable<PipelineRecord> q = all.Where(p =>
            (r.PipelineNamePrefix is null || SageMakerMapper.NameOf(p).StartsWith(r.PipelineNamePrefix, StringComparison.OrdinalIgnoreCase))
            && (r.CreatedAfter is null || p.CreatedAt > r.CreatedAfter) && (r.CreatedBefore is null || p.CreatedAt < r.CreatedBefore));
        var descending = r.SortOrder != "Ascending";
        q = (r.SortBy ?? "CreationTime") == "Name"
            ? (descending ? q.OrderByDescending(p => p.Name, StringComparer.Ordinal) : q.OrderBy(p => p.Name, StringComparer.Ordinal))
            : (descending ? q.OrderByDescending(p => p.CreatedAt).ThenByDescending(p => p.Id, StringComparer.Ordinal)
                : q.OrderBy(p => p.CreatedAt).ThenBy(p => p.Id, StringComparer.Ordinal));
        var query = Write(r with { NextToken = null, MaxResults = null }, Json.ListPipelinesRequest);
        var sorted = q.ToList();
        var offset = SageMakerMapper.ParseOffsetToken(r.NextToken, query);
        var size = r.MaxResults ?? DefaultPageSize;
        var items = new List<PipelineSummary>();
        foreach (var p in sorted.Skip(offset).Take(size))
        {
            var last = await runs.ListAsync(new RunQuery { Scope = c.Scope, PipelineName = p.Name, PageSize = 1 }, ct);
            items.Add(new PipelineSummary
            {
                PipelineArn = SageMakerMapper.PipelineArn(c, p),
                PipelineName = SageMakerMapper.NameOf(p),
                PipelineDisplayName = p.FaceData?["displayName"]?.GetValue<string>() ?? SageMakerMapper.NameOf(p),
                PipelineDescription = p.Description,
                RoleArn = p.FaceData?["roleArn"]?.GetValue<string>(),
                CreationTime = SageMakerMapper.Epoch(p.CreatedAt),
                LastModifiedTime = SageMakerMapper.Epoch(p.UpdatedAt),
                LastExecutionTime = last.Items.Count > 0 && last.Items[0] is { } lr ? SageMakerMapper.Epoch(lr.CreatedAt) : null,
            });
        }
        var next = offset + size < sorted.Count ? SageMakerMapper.OffsetToken(offset + size, query) : null;
        return Write(new ListPipelinesResponse(items, next), Json.ListPipelinesResponse);
    }

    // ---- executions ----

    private async Task<string> StartAsync(StartPipelineExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Required(r.PipelineName, "PipelineName").Length(r.PipelineName, "PipelineName", 1, 2048).Pattern(r.PipelineName, "PipelineName", Shapes.PipelineNameOrArn())
            .Length(r.PipelineExecutionDisplayName, "PipelineExecutionDisplayName", 1, 82)
            .Pattern(r.PipelineExecutionDisplayName, "PipelineExecutionDisplayName", Shapes.ExecutionName())
            .Length(r.PipelineExecutionDescription, "PipelineExecutionDescription", 0, 3072)
            .Count(r.PipelineParameters, "PipelineParameters", 0, 200)
            .Range(r.PipelineVersionId, "PipelineVersionId", 1, long.MaxValue)
            .Length(r.MlflowExperimentName, "MlflowExperimentName", 1, 256);
        Token(v, r.ClientRequestToken);
        Parallelism(v, r.ParallelismConfiguration);
        for (var i = 0; r.PipelineParameters is not null && i < r.PipelineParameters.Count; i++)
        {
            var p = r.PipelineParameters[i];
            var at = $"PipelineParameters.{i + 1}.member";
            if (p is null)
            {
                v.Required(p, at);
                continue;
            }
            v.Required(p.Name, $"{at}.Name").Length(p.Name, $"{at}.Name", 1, 256).Pattern(p.Name, $"{at}.Name", Shapes.ParameterName())
                .Required(p.Value, $"{at}.Value").Length(p.Value, $"{at}.Value", 0, 1024);
        }
        if (r.PipelineParameters?.Where(p => p?.Name is not null).GroupBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } dup)
        {
            v.Fail($"Parameter '{Validation.Show(dup.Key)}' is given more than once.");
        }
        v.ThrowIfAny();
        if (r.SelectiveExecutionConfig is not null)
        {
            throw SageMakerException.Validation("SelectiveExecutionConfig is not supported by this server; start a full execution or retry a failed one.");
        }
        return await idempotency.OnceAsync("sagemaker-start", c.Scope, r.ClientRequestToken,
            Write(r with { ClientRequestToken = null }, Json.StartPipelineExecutionRequest), async () =>
            {
                var p = await PipelineAsync(c, r.PipelineName!, ct);
                if (r.PipelineVersionId is > int.MaxValue)
                {
                    throw SageMakerException.NotFound($"Version {r.PipelineVersionId} of pipeline {SageMakerMapper.NameOf(p)} does not exist.");
                }
                var parameters = new JsonObject();
                foreach (var prm in r.PipelineParameters ?? [])
                {
                    parameters[prm.Name!] = prm.Value;
                }
                var d = await runs.StartAsync(new StartRunRequest
                {
                    Scope = c.Scope, Pipeline = p.Name, Version = r.PipelineVersionId is { } n ? (int)n : null, Parameters = parameters,
                    DisplayName = r.PipelineExecutionDisplayName
                        ?? string.Create(CultureInfo.InvariantCulture, $"execution-{time.GetUtcNow().ToUnixTimeMilliseconds()}"),
                    Description = r.PipelineExecutionDescription,
                    MaxParallelSteps = r.ParallelismConfiguration?.MaxParallelExecutionSteps ?? p.FaceData?["parallelism"]?.GetValue<int>(),
                    IdempotencyToken = r.ClientRequestToken, Caller = c.Name, Face = Face,
                    FaceData = new JsonObject { ["account"] = c.Account },
                }, ct);
                return Write(new ExecutionArnResponse(SageMakerMapper.ExecutionArn(c, d.Run)), Json.ExecutionArnResponse);
            }, ct);
    }

    private async Task<string> StopAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator();
        ExecutionArn(v, r.PipelineExecutionArn);
        Token(v, r.ClientRequestToken);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        try
        {
            var a = await runs.StopAsync(new StopRunRequest
            {
                RunId = run.Id, Scope = c.Scope, IdempotencyToken = r.ClientRequestToken, Caller = c.Name, RefuseIfStopping = true,
                Reason = "StopPipelineExecution",
            }, ct);
            return Write(new ExecutionArnResponse(SageMakerMapper.ExecutionArn(c, a.Run)), Json.ExecutionArnResponse);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
        {
            var now = await runs.FindAsync(run.Id, c.Scope, ct);
            throw SageMakerException.Validation(
                $"Only pipelines with 'Executing' status can be stopped. Pipeline execution {SageMakerMapper.ExecutionArn(c, now)} is {SageMakerMapper.ExecutionStatus(now.State)}.");
        }
    }

    private async Task<string> DescribeExecutionAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator();
        ExecutionArn(v, r.PipelineExecutionArn);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        var d = await runs.GetAsync(run.Id, c.Scope, ct);
        var definition = await pipelines.VersionOfRunAsync(d.Run, ct);
        return Write(new DescribePipelineExecutionResponse
        {
            PipelineArn = Core.Engine.Ids.PipelineArn(d.Run.Scope.Location, c.Account, d.Run.PipelineName),
            PipelineExecutionArn = SageMakerMapper.ExecutionArn(c, d.Run),
            PipelineExecutionDisplayName = d.Run.DisplayName,
            PipelineExecutionStatus = SageMakerMapper.ExecutionStatus(d.Run.State),
            PipelineExecutionDescription = d.Run.Description,
            PipelineExperimentConfig = SageMakerMapper.ExperimentConfig(definition.Source, d.Run),
            FailureReason = SageMakerMapper.FailureReason(d.Run, d.Steps),
            CreationTime = SageMakerMapper.Epoch(d.Run.CreatedAt),
            LastModifiedTime = SageMakerMapper.Epoch(d.Run.UpdatedAt),
            CreatedBy = SageMakerMapper.User(c),
            LastModifiedBy = SageMakerMapper.User(c),
            ParallelismConfiguration = SageMakerMapper.Parallelism(d.Run.MaxParallelSteps),
            PipelineVersionId = d.Run.PipelineVersion,
        }, Json.DescribePipelineExecutionResponse);
    }

    private async Task<string> ListExecutionsAsync(ListPipelineExecutionsRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Required(r.PipelineName, "PipelineName").Length(r.PipelineName, "PipelineName", 1, 2048).Pattern(r.PipelineName, "PipelineName", Shapes.PipelineNameOrArn())
            .Enum(r.SortBy, "SortBy", "CreationTime", "PipelineExecutionArn").Enum(r.SortOrder, "SortOrder", "Ascending", "Descending");
        Page(v, r.NextToken, r.MaxResults);
        v.ThrowIfAny();
        var p = await PipelineAsync(c, r.PipelineName!, ct);
        var size = r.MaxResults ?? DefaultPageSize;
        var ascending = r.SortOrder == "Ascending";
        var baseQuery = new RunQuery
        {
            Scope = c.Scope, PipelineName = p.Name, CreatedAfter = r.CreatedAfter, CreatedBefore = r.CreatedBefore, OldestFirst = ascending,
        };
        if (r.SortBy == "PipelineExecutionArn")
        {
            // Every ARN of one pipeline shares its prefix: ARN order is id order, over the whole (filtered) list.
            var all = new List<RunRecord>();
            string? t = null;
            do
            {
                var page = await runs.ListAsync(baseQuery with { PageSize = RunService.MaxPageSize, PageToken = t }, ct);
                all.AddRange(page.Items.Where(x => x.PipelineId == p.Id));
                t = page.NextPageToken;
            }
            while (t is not null);
            var sorted = ascending ? all.OrderBy(x => x.Id, StringComparer.Ordinal).ToList() : all.OrderByDescending(x => x.Id, StringComparer.Ordinal).ToList();
            var query = Write(r with { NextToken = null, MaxResults = null }, Json.ListPipelineExecutionsRequest);
            var offset = SageMakerMapper.ParseOffsetToken(r.NextToken, query);
            var items = sorted.Skip(offset).Take(size).Select(x => SageMakerMapper.Summary(c, x)).ToList();
            return Write(new ListPipelineExecutionsResponse(items,
                offset + size < sorted.Count ? SageMakerMapper.OffsetToken(offset + size, query) : null), Json.ListPipelineExecutionsResponse);
        }
        var result = await runs.ListAsync(baseQuery with { PageSize = size, PageToken = r.NextToken }, ct);
        return Write(new ListPipelineExecutionsResponse(
            [.. result.Items.Where(x => x.PipelineId == p.Id).Select(x => SageMakerMapper.Summary(c, x))], result.NextPageToken),
            Json.ListPipelineExecutionsResponse);
    }

    private async Task<string> ListStepsAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator().Enum(r.SortOrder, "SortOrder", "Ascending", "Descending");
        // Not marked required in the model, but there is nothing to list without it.
        ExecutionArn(v, r.PipelineExecutionArn);
        Page(v, r.NextToken, r.MaxResults);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        var d = await runs.GetAsync(run.Id, c.Scope, ct);
        var listed = d.Steps.Select(s => (Step: s, Status: SageMakerMapper.StepStatus(s))).Where(x => x.Status is not null).ToList();
        // Newest first unless asked: the SDK's own integration tests read [0] as the last step that ran.
        var ordered = r.SortOrder == "Ascending"
            ? listed.OrderBy(x => x.Step.StartedAt).ThenBy(x => x.Step.Name, StringComparer.Ordinal)
            : listed.OrderByDescending(x => x.Step.StartedAt).ThenByDescending(x => x.Step.Name, StringComparer.Ordinal);
        var query = $"{run.Id}\n{r.SortOrder}";
        var offset = SageMakerMapper.ParseOffsetToken(r.NextToken, query);
        var size = r.MaxResults ?? DefaultPageSize;
        var all = ordered.ToList();
        var items = all.Skip(offset).Take(size).Select(x => SageMakerMapper.Step(c, x.Step, x.Status!)).ToList();
        return Write(new ListStepsResponse(items, offset + size < all.Count ? SageMakerMapper.OffsetToken(offset + size, query) : null),
            Json.ListStepsResponse);
    }

    private async Task<string> SendStepAsync(SendStepRequest r, bool success, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Required(r.CallbackToken, "CallbackToken").Length(r.CallbackToken, "CallbackToken", 10, 10)
            .Pattern(r.CallbackToken, "CallbackToken", Shapes.CallbackToken())
            .Count(r.OutputParameters, "OutputParameters", 0, 50).Length(r.FailureReason, "FailureReason", 0, 256);
        Token(v, r.ClientRequestToken);
        for (var i = 0; r.OutputParameters is not null && i < r.OutputParameters.Count; i++)
        {
            var o = r.OutputParameters[i];
            var at = $"OutputParameters.{i + 1}.member";
            if (o is null)
            {
                v.Required(o, at);
                continue;
            }
            v.Required(o.Name, $"{at}.Name").Length(o.Name, $"{at}.Name", 1, 256).Required(o.Value, $"{at}.Value").Length(o.Value, $"{at}.Value", 0, 1024);
        }
        v.ThrowIfAny();
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in r.OutputParameters ?? [])
        {
            outputs[o.Name!] = o.Value!;
        }
        var request = success ? r with { ClientRequestToken = null, FailureReason = null } : r with { ClientRequestToken = null, OutputParameters = null };
        return await idempotency.OnceAsync(success ? "sagemaker-step-success" : "sagemaker-step-failure", c.Scope, r.ClientRequestToken,
            Write(request, Json.SendStepRequest), async () =>
            {
                RunRecord run;
                try
                {
                    run = await runs.AnswerCallbackAsync(new CallbackAnswerRequest
                    {
                        Token = r.CallbackToken!, Success = success, Outputs = success ? outputs : null, Reason = success ? null : r.FailureReason,
                        IdempotencyToken = r.ClientRequestToken, Scope = c.Scope, Caller = c.Name,
                    }, ct);
                }
                catch (SluiceException e) when (e.Kind == ErrorKind.NotFound)
                {
                    throw SageMakerException.NotFound($"Callback token '{r.CallbackToken}' does not exist.");
                }
                return Write(new ExecutionArnResponse(SageMakerMapper.ExecutionArn(c, run)), Json.ExecutionArnResponse);
            }, ct);
    }

    private async Task<string> RetryAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator();
        ExecutionArn(v, r.PipelineExecutionArn);
        Token(v, r.ClientRequestToken);
        Parallelism(v, r.ParallelismConfiguration);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        try
        {
            var retried = await runs.RetryAsync(new RetryRunRequest
            {
                RunId = run.Id, Scope = c.Scope, MaxParallelSteps = r.ParallelismConfiguration?.MaxParallelExecutionSteps,
                IdempotencyToken = r.ClientRequestToken, Caller = c.Name,
            }, ct);
            return Write(new ExecutionArnResponse(SageMakerMapper.ExecutionArn(c, retried)), Json.ExecutionArnResponse);
        }
        catch (SluiceException e) when (e.Kind == ErrorKind.FailedPrecondition)
        {
            throw SageMakerException.Conflict(
                $"Only pipeline executions with 'Failed' or 'Stopped' status can be retried. Pipeline execution {SageMakerMapper.ExecutionArn(c, run)} is {SageMakerMapper.ExecutionStatus((await runs.FindAsync(run.Id, c.Scope, ct)).State)}.");
        }
    }

    private async Task<string> DefinitionForExecutionAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator();
        ExecutionArn(v, r.PipelineExecutionArn);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        var version = await pipelines.VersionOfRunAsync(run, ct);
        return Write(new DefinitionForExecutionResponse(version.Source, SageMakerMapper.Epoch(version.CreatedAt)), Json.DefinitionForExecutionResponse);
    }

    private async Task<string> ParametersAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator();
        ExecutionArn(v, r.PipelineExecutionArn);
        Page(v, r.NextToken, r.MaxResults);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        var all = run.Parameters.Select(kv => new Parameter(kv.Key, SageMakerMapper.ParameterText(kv.Value))).ToList();
        var query = run.Id;
        var offset = SageMakerMapper.ParseOffsetToken(r.NextToken, query);
        var size = r.MaxResults ?? DefaultPageSize;
        return Write(new ListParametersResponse([.. all.Skip(offset).Take(size)],
            offset + size < all.Count ? SageMakerMapper.OffsetToken(offset + size, query) : null), Json.ListParametersResponse);
    }

    private async Task<string> UpdateExecutionAsync(ExecutionRequest r, AwsCaller c, CancellationToken ct)
    {
        var v = new ModelValidator()
            .Length(r.PipelineExecutionDescription, "PipelineExecutionDescription", 0, 3072)
            .Length(r.PipelineExecutionDisplayName, "PipelineExecutionDisplayName", 1, 82)
            .Pattern(r.PipelineExecutionDisplayName, "PipelineExecutionDisplayName", Shapes.ExecutionName());
        ExecutionArn(v, r.PipelineExecutionArn);
        Parallelism(v, r.ParallelismConfiguration);
        v.ThrowIfAny();
        var run = await RunAsync(c, r.PipelineExecutionArn!, ct);
        var updated = await runs.UpdateAsync(new UpdateRunRequest
        {
            RunId = run.Id, Scope = c.Scope, DisplayName = r.PipelineExecutionDisplayName, Description = r.PipelineExecutionDescription,
            MaxParallelSteps = r.ParallelismConfiguration?.MaxParallelExecutionSteps, Caller = c.Name,
        }, ct);
        return Write(new ExecutionArnResponse(SageMakerMapper.ExecutionArn(c, updated)), Json.ExecutionArnResponse);
    }
}
