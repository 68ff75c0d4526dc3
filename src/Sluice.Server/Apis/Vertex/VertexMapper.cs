using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Domain;

namespace Sluice.Server.Apis.Vertex;

/// <summary>Pure translations between core records and Vertex resources: names, states, times, jobs, task details and
/// operations. No I/O and no rules of its own.</summary>
internal static class VertexMapper
{
    public const string TypePrefix = "type.googleapis.com/";
    public const string BatchCancelMetadata = TypePrefix + "google.cloud.aiplatform.v1.BatchCancelPipelineJobsOperationMetadata";
    public const string BatchCancelResponse = TypePrefix + "google.cloud.aiplatform.v1.BatchCancelPipelineJobsResponse";
    public const string BatchDeleteResponse = TypePrefix + "google.cloud.aiplatform.v1.BatchDeletePipelineJobsResponse";
    public const string DeleteMetadata = TypePrefix + "google.cloud.aiplatform.v1.DeleteOperationMetadata";
    public const string GenericMetadata = TypePrefix + "google.cloud.aiplatform.v1.GenericOperationMetadata";
    public const string Empty = TypePrefix + "google.protobuf.Empty";

    // ---- names ----

    public static string Parent(string project, string location) => $"projects/{project}/locations/{location}";

    public static string JobName(string project, string location, string id) => $"{Parent(project, location)}/pipelineJobs/{id}";

    public static string OperationName(string project, string location, string id) => $"{Parent(project, location)}/operations/{id}";

    /// <summary>Splits <c>projects/P/locations/L/pipelineJobs/ID</c>; null when the name is not one.</summary>
    public static (string Project, string Location, string Id)? ParseJobName(string? name)
    {
        var parts = (name ?? "").Split('/');
        return parts is ["projects", { Length: > 0 } p, "locations", { Length: > 0 } l, "pipelineJobs", { Length: > 0 } id] ? (p, l, id) : null;
    }

    // ---- states ----

    public static PipelineState State(RunState s) => s switch
    {
        RunState.Queued => PipelineState.Queued,
        RunState.Running => PipelineState.Running,
        RunState.Stopping => PipelineState.Cancelling,
        RunState.Stopped => PipelineState.Cancelled,
        RunState.Succeeded => PipelineState.Succeeded,
        RunState.Failed => PipelineState.Failed,
        _ => PipelineState.Unspecified,
    };

    /// <summary>A step's state as a task's; a step still pending in a run being cancelled is CANCEL_PENDING.</summary>
    public static TaskState TaskStateOf(StepState s, RunState run) => s switch
    {
        StepState.Pending => run == RunState.Stopping ? TaskState.CancelPending : TaskState.Pending,
        StepState.Starting => run == RunState.Stopping ? TaskState.CancelPending : TaskState.Running,
        StepState.Running => TaskState.Running,
        StepState.Stopping => TaskState.Cancelling,
        StepState.Stopped => TaskState.Cancelled,
        StepState.Succeeded => TaskState.Succeeded,
        StepState.Failed => TaskState.Failed,
        StepState.Skipped => TaskState.NotTriggered,
        StepState.NotStarted => TaskState.Cancelled,
        _ => TaskState.Unspecified,
    };

    public static TaskState TaskStateOf(RunState s) => s switch
    {
        RunState.Queued => TaskState.Pending,
        RunState.Running => TaskState.Running,
        RunState.Stopping => TaskState.Cancelling,
        RunState.Stopped => TaskState.Cancelled,
        RunState.Succeeded => TaskState.Succeeded,
        RunState.Failed => TaskState.Failed,
        _ => TaskState.Unspecified,
    };

    public static ExecutionState ExecutionOf(TaskState s) => s switch
    {
        TaskState.Pending or TaskState.NotTriggered => ExecutionState.New,
        TaskState.Running or TaskState.CancelPending or TaskState.Cancelling => ExecutionState.Running,
        TaskState.Succeeded => ExecutionState.Complete,
        TaskState.Failed => ExecutionState.Failed,
        TaskState.Cancelled => ExecutionState.Cancelled,
        TaskState.Skipped => ExecutionState.Cached,
        _ => ExecutionState.Unspecified,
    };

    // ---- times and ids ----

    /// <summary>RFC 3339 in UTC with 9 fractional digits (the store keeps 100 ns ticks: nothing is rounded away, so a time
    /// read back in a filter compares equal).</summary>
    public static string? Time(DateTimeOffset? t)
    {
        if (t is not { } x)
        {
            return null;
        }
        // The round-trip format of a UTC time is "yyyy-MM-ddTHH:mm:ss.fffffffZ", and a fast path (a custom format string is
        // parsed at every call: that was 7% of a GetPipelineJob of 10,000 tasks); two zeros make its 7 digits 9.
        Span<char> text = stackalloc char[32];
        x.UtcDateTime.TryFormat(text, out var n, "O", CultureInfo.InvariantCulture);
        text[n - 1] = '0';
        text[n] = '0';
        text[n + 1] = 'Z';
        return new string(text[..(n + 2)]);
    }

    /// <summary>A stable int64 id (as a string) for a task of a run: a hash of the run id and the step name.</summary>
    public static string TaskId(string runId, string step)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(runId + "/" + step))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return (hash & 0x7FFF_FFFF_FFFF_FFFFUL).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The group a step belongs to, from its name: <c>a.b</c> is in <c>a</c>, <c>f[2].b</c> in <c>f</c>.</summary>
    public static string? ParentStep(string step)
    {
        var dot = step.LastIndexOf('.');
        if (dot < 0)
        {
            return null;
        }
        var parent = step[..dot];
        if (parent.EndsWith(']'))
        {
            var open = parent.LastIndexOf('[');
            parent = open > 0 ? parent[..open] : parent;
        }
        return parent;
    }

    public static string TaskName(string step) => step[(step.LastIndexOf('.') + 1)..];

    // ---- jobs ----

    /// <summary>A run as a PipelineJob named in the caller's project; <paramref name="spec"/> is the KFP spec it runs (if any).</summary>
    public static PipelineJob Job(RunRecord run, IReadOnlyList<StepRecord>? steps, string project, string location, JsonObject? spec)
    {
        var face = run.FaceData;
        return new PipelineJob
        {
            Name = JobName(project, location, run.Id),
            DisplayName = run.DisplayName ?? run.Id,
            CreateTime = Time(run.CreatedAt),
            StartTime = Time(run.StartedAt),
            EndTime = Time(run.EndedAt),
            UpdateTime = Time(run.UpdatedAt),
            PipelineSpec = spec,
            State = State(run.State),
            Error = ErrorOf(run.State, run.Error),
            Labels = run.Labels.Count > 0 ? run.Labels.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) : null,
            RuntimeConfig = face?["runtimeConfig"]?.DeepClone() as JsonObject
                ?? (run.Parameters.Count > 0 ? new JsonObject { ["parameterValues"] = run.Parameters.DeepClone() } : null),
            ServiceAccount = Str(face?["serviceAccount"]),
            Network = Str(face?["network"]),
            EncryptionSpec = face?["encryptionSpec"]?.DeepClone() as JsonObject,
            ReservedIpRanges = face?["reservedIpRanges"] is JsonArray ips ? [.. ips.Select(Str).OfType<string>()] : null,
            PreflightValidations = face?["preflightValidations"]?.GetValueKind() == JsonValueKind.True,
            JobDetail = steps is null ? null : Detail(run, steps, project, location),
        };
    }

    /// <summary>A deleted run, from the summary its delete operation kept.</summary>
    public static PipelineJob Job(JsonObject summary, string project, string location)
    {
        var state = Enum.TryParse<RunState>(Str(summary["state"]), out var s) ? s : RunState.Stopped;
        return new PipelineJob
        {
            Name = JobName(project, location, Str(summary["id"]) ?? ""),
            DisplayName = Str(summary["displayName"]) ?? Str(summary["id"]),
            CreateTime = Time(ParseTime(summary["createdAt"])),
            StartTime = Time(ParseTime(summary["startedAt"])),
            EndTime = Time(ParseTime(summary["endedAt"])),
            UpdateTime = Time(ParseTime(summary["updatedAt"])),
            State = State(state),
            Error = ErrorOf(state, Str(summary["error"])),
            Labels = summary["labels"] is JsonObject l && l.Count > 0
                ? l.ToDictionary(kv => kv.Key, kv => Str(kv.Value) ?? "", StringComparer.Ordinal)
                : null,
        };
    }

    private static DateTimeOffset? ParseTime(JsonNode? n) =>
        Str(n) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;

    /// <summary>error is set only when the job failed (code 9) or was cancelled (code 1, CANCELLED).</summary>
    public static RpcStatus? ErrorOf(RunState s, string? error) => s switch
    {
        RunState.Stopped => new RpcStatus { Code = RpcCode.Cancelled.Number, Message = "The PipelineJob was cancelled." },
        RunState.Failed => new RpcStatus { Code = RpcCode.FailedPrecondition.Number, Message = error ?? "The PipelineJob failed." },
        _ => null,
    };

    public static PipelineJobDetail Detail(RunRecord run, IReadOnlyList<StepRecord> steps, string project, string location)
    {
        var rootId = TaskId(run.Id, "");
        var names = steps.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var tasks = new List<PipelineTaskDetail>
        {
            new()
            {
                TaskId = rootId, TaskName = run.PipelineName, TaskUniqueName = run.PipelineName, CreateTime = Time(run.CreatedAt),
                StartTime = Time(run.StartedAt), EndTime = Time(run.EndedAt), State = TaskStateOf(run.State),
                Execution = new TaskExecution
                {
                    DisplayName = run.PipelineName, State = ExecutionOf(TaskStateOf(run.State)), SchemaTitle = "system.DAGExecution",
                },
                Error = ErrorOf(run.State, run.Error),
            },
        };
        foreach (var s in steps)
        {
            var parent = ParentStep(s.Name);
            var state = TaskStateOf(s.State, run.State);
            var (metadata, artifacts) = Outputs(s.Outputs);
            tasks.Add(new PipelineTaskDetail
            {
                TaskId = TaskId(run.Id, s.Name),
                ParentTaskId = parent is not null && names.Contains(parent) ? TaskId(run.Id, parent) : rootId,
                TaskName = TaskName(s.Name),
                TaskUniqueName = s.Name,
                CreateTime = Time(run.CreatedAt),
                StartTime = Time(s.StartedAt),
                EndTime = Time(s.EndedAt),
                State = state,
                Execution = new TaskExecution
                {
                    DisplayName = TaskName(s.Name), State = ExecutionOf(state),
                    SchemaTitle = s.Kind == "group" ? "system.DAGExecution" : "system.ContainerExecution", Metadata = metadata,
                },
                Error = state switch
                {
                    TaskState.Failed => new RpcStatus { Code = RpcCode.FailedPrecondition.Number, Message = s.Reason ?? "The task failed." },
                    TaskState.Cancelled => new RpcStatus { Code = RpcCode.Cancelled.Number, Message = s.Reason ?? "The task was cancelled." },
                    _ => null,
                },
                Outputs = artifacts,
            });
        }
        return new PipelineJobDetail
        {
            PipelineContext = new MlmdContext
            {
                Name = $"projects/{project}/locations/{location}/metadataStores/default/contexts/{run.PipelineName}",
                DisplayName = run.PipelineName, SchemaTitle = "system.Pipeline", CreateTime = Time(run.CreatedAt), UpdateTime = Time(run.CreatedAt),
            },
            PipelineRunContext = new MlmdContext
            {
                Name = $"projects/{project}/locations/{location}/metadataStores/default/contexts/{run.Id}",
                DisplayName = run.Id, SchemaTitle = "system.PipelineRun", CreateTime = Time(run.CreatedAt), UpdateTime = Time(run.UpdatedAt),
            },
            TaskDetails = tasks,
        };
    }

    /// <summary>A step's outputs: parameter values as execution metadata ("output:NAME"), artifacts (objects with a uri) apart.</summary>
    private static (JsonObject? Metadata, Dictionary<string, ArtifactList>? Artifacts) Outputs(JsonObject? outputs)
    {
        if (outputs is null || outputs.Count == 0)
        {
            return (null, null);
        }
        var metadata = new JsonObject();
        var artifacts = new Dictionary<string, ArtifactList>(StringComparer.Ordinal);
        foreach (var (k, v) in outputs)
        {
            if (v is JsonObject o && o["uri"] is JsonValue && o.ContainsKey("type"))
            {
                artifacts[k] = new ArtifactList
                {
                    Artifacts =
                    [
                        new MlmdArtifact
                        {
                            DisplayName = k, Uri = Str(o["uri"]), SchemaTitle = Str(o["type"]?["schemaTitle"]), SchemaVersion = Str(o["type"]?["schemaVersion"]),
                            Metadata = o["metadata"]?.DeepClone() as JsonObject,
                        },
                    ],
                };
            }
            else
            {
                metadata["output:" + k] = v?.DeepClone();
            }
        }
        return (metadata.Count > 0 ? metadata : null, artifacts.Count > 0 ? artifacts : null);
    }

    // ---- read masks ----

    /// <summary>Keeps only the masked paths of a job (camel or snake case, dotted for nested fields).</summary>
    public static JsonObject Mask(JsonObject job, IReadOnlyList<string> paths)
    {
        var result = new JsonObject();
        foreach (var path in paths)
        {
            var segments = path.Split('.').Select(Camel).ToArray();
            Copy(job, result, segments, 0);
        }
        return result;
    }

    private static void Copy(JsonObject from, JsonObject to, string[] segments, int i)
    {
        if (!from.TryGetPropertyValue(segments[i], out var v) || v is null)
        {
            return;
        }
        if (i == segments.Length - 1 || v is not JsonObject child)
        {
            to[segments[i]] = v.DeepClone();
            return;
        }
        if (to[segments[i]] is not JsonObject target)
        {
            to[segments[i]] = target = [];
        }
        Copy(child, target, segments, i + 1);
    }

    /// <summary>snake_case to lowerCamelCase (display_name -> displayName); camel stays as it is.</summary>
    public static string Camel(string name)
    {
        if (!name.Contains('_', StringComparison.Ordinal))
        {
            return name;
        }
        var sb = new StringBuilder(name.Length);
        var up = false;
        foreach (var c in name)
        {
            if (c == '_')
            {
                up = sb.Length > 0;
                continue;
            }
            sb.Append(up ? char.ToUpperInvariant(c) : c);
            up = false;
        }
        return sb.ToString();
    }

    // ---- operations ----

    /// <summary>An operation in Vertex form; <paramref name="jobs"/> has the current PipelineJob of each run it names that exists.</summary>
    public static Operation Operation(OperationRecord op, string project, string location, IReadOnlyDictionary<string, PipelineJob> jobs)
    {
        var generic = new JsonObject { ["createTime"] = Time(op.CreatedAt), ["updateTime"] = Time(op.UpdatedAt) };
        var ids = op.Request["runIds"] is JsonArray a ? a.Select(Str).OfType<string>().ToList() : [];
        JsonObject metadata;
        JsonObject? response = null;
        switch (op.Kind)
        {
            case "batch-stop":
                var failures = new JsonArray();
                foreach (var (id, result) in op.Results)
                {
                    if (Str(result?["note"]) is { } note && Str(result?["state"]) is { } st && Enum.TryParse<RunState>(st, out var rs))
                    {
                        failures.Add(new JsonObject
                        {
                            ["code"] = RpcCode.FailedPrecondition.Number,
                            ["message"] = $"{JobName(project, location, id)} was already in state {JsonStateName(State(rs))} ({note}) and was not cancelled.",
                        });
                    }
                    else if (result?["error"] is JsonObject e)
                    {
                        failures.Add(new JsonObject { ["code"] = RpcCode.FailedPrecondition.Number, ["message"] = Str(e["message"]) });
                    }
                }
                if (failures.Count > 0)
                {
                    generic["partialFailures"] = new JsonArray([.. failures.Take(20).Select(f => f!.DeepClone())]);
                }
                metadata = new JsonObject { ["@type"] = BatchCancelMetadata, ["genericMetadata"] = generic };
                if (op.Done)
                {
                    var cancelled = ids.Where(id => op.Results[id]?["note"] is null && jobs.ContainsKey(id)).Select(id => jobs[id]).ToList();
                    response = new JsonObject
                    {
                        ["@type"] = BatchCancelResponse,
                        ["pipelineJobs"] = new JsonArray([.. cancelled.Select(j => VertexJson.ToNode(j, intEnums: false))]),
                    };
                }
                break;
            case "delete-runs":
                metadata = new JsonObject { ["@type"] = DeleteMetadata, ["genericMetadata"] = generic };
                response = op.Request["batch"]?.GetValueKind() == JsonValueKind.True
                    ? new JsonObject
                    {
                        ["@type"] = BatchDeleteResponse,
                        ["pipelineJobs"] = new JsonArray([.. ids.Where(op.Results.ContainsKey)
                            .Select(id => VertexJson.ToNode(Job((JsonObject)op.Results[id]!, project, location), intEnums: false))]),
                    }
                    : new JsonObject { ["@type"] = Empty };
                break;
            default:
                metadata = new JsonObject { ["@type"] = GenericMetadata, ["createTime"] = Time(op.CreatedAt), ["updateTime"] = Time(op.UpdatedAt) };
                if (op.Done)
                {
                    response = new JsonObject { ["@type"] = Empty };
                }
                break;
        }
        return new Operation
        {
            Name = OperationName(project, location, op.Id),
            Metadata = metadata,
            Done = op.Done,
            Error = op.Done && op.Error is { } err ? new RpcStatus { Code = RpcCode.Internal.Number, Message = err } : null,
            Response = op.Done && op.Error is null ? response : null,
        };
    }

    private static string JsonStateName(PipelineState s) => VertexJson.ToNode(new PipelineJob { State = s }, intEnums: false)["state"]?.GetValue<string>() ?? s.ToString();

    internal static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
