using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sluice.Core.Definitions.SageMaker;

/// <summary>Builds the plan of a job step (Processing, Training, Transform) as a process step that runs the job's command on
/// the host inside <see cref="StageScript"/>, and of Model and RegisterModel steps as record steps. The job's request,
/// rendered, plus what the Describe* call would add (names, ARNs, status, artifacts) are the step's properties.</summary>
internal sealed class JobBuilder(SageMakerCompiler.Compilation c, SageMakerCompiler.Draft d, JsonObject args)
{
    /// <summary>The container folder a job sees; on the host it is {attempt dir}/root/opt/ml.</summary>
    public const string ContainerRoot = "/opt/ml";

    private readonly List<Template> pre = [];
    private readonly List<Template> post = [];
    private readonly Dictionary<string, Template> env = new(StringComparer.Ordinal);
    private string Path => $"{d.Path}.Arguments";
    private string StepName => d.Name!;

    // ---- the job types ----

    public StepPlan Processing()
    {
        var app = Object(args, "AppSpecification", Path);
        var image = app is null ? null : Value(app, "ImageUri", $"{Path}.AppSpecification");
        var entrypoint = app is null ? null : StringList(app, "ContainerEntrypoint", $"{Path}.AppSpecification");
        var arguments = app is null ? null : StringList(app, "ContainerArguments", $"{Path}.AppSpecification") ?? [];
        if (app is null && args["AppSpecification"] is null)
        {
            c.Add($"{Path}.AppSpecification", "a Processing step needs AppSpecification: {\"ImageUri\": ..., \"ContainerEntrypoint\": [...]}");
        }
        if (args["ProcessingInputs"] is JsonArray inputs)
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                ProcessingInput(inputs[i], $"{Path}.ProcessingInputs[{i}]");
            }
        }
        else if (args["ProcessingInputs"] is { } bad)
        {
            c.Add($"{Path}.ProcessingInputs", $"ProcessingInputs must be a list, not {SageMakerCompiler.Describe(bad)}");
        }
        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        if (Object(args, "ProcessingOutputConfig", Path) is { } outputConfig)
        {
            if (outputConfig["Outputs"] is JsonArray outputs)
            {
                for (var i = 0; i < outputs.Count; i++)
                {
                    ProcessingOutput(outputs[i], $"{Path}.ProcessingOutputConfig.Outputs[{i}]", outputNames);
                }
            }
            else if (outputConfig["Outputs"] is { } bad)
            {
                c.Add($"{Path}.ProcessingOutputConfig.Outputs", $"Outputs must be a list, not {SageMakerCompiler.Describe(bad)}");
            }
        }
        foreach (var (name, (output, _)) in d.PropertyFiles)
        {
            if (!outputNames.Contains(output))
            {
                var i = FindPropertyFile(name);
                c.Add($"{d.Path}.PropertyFiles[{i}].OutputName", $"property file '{SageMakerCompiler.Clip(name)}' names output '{SageMakerCompiler.Clip(output)}', but the step's ProcessingOutputConfig has no output of that name");
            }
        }
        Environment(args, Path);
        env["SM_CURRENT_HOST"] = Template.Literal("algo-1");
        List<Template>? command = null;
        if (entrypoint is { Count: > 0 })
        {
            command = [.. entrypoint, .. arguments ?? []];
        }
        else
        {
            Fail(Template.Compose([$"Processing step {StepName} has no AppSpecification.ContainerEntrypoint: Sluice runs the job's command on the host and does not run images (", (object?)image ?? "no image", ")"]));
        }
        var jobName = SageMakerCompiler.Compilation.JobName(StepName);
        return Process(command, image, Timeout(), Properties(
            ("ProcessingJobName", JsonTemplate.Value(jobName)),
            ("ProcessingJobArn", JsonTemplate.Value(Arn("processing-job", jobName))),
            ("ProcessingJobStatus", JsonTemplate.Constant("Completed"))));
    }

    public StepPlan Training()
    {
        var alg = Object(args, "AlgorithmSpecification", Path);
        var algPath = $"{Path}.AlgorithmSpecification";
        var image = alg is null ? null : alg["TrainingImage"] is not null ? Value(alg, "TrainingImage", algPath) : alg["AlgorithmName"] is not null ? Value(alg, "AlgorithmName", algPath) : null;
        var entrypoint = alg is null ? null : StringList(alg, "ContainerEntrypoint", algPath);
        var arguments = alg is null ? null : StringList(alg, "ContainerArguments", algPath) ?? [];

        var channels = new List<string>();
        if (args["InputDataConfig"] is JsonArray inputs)
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                if (Channel(inputs[i], $"{Path}.InputDataConfig[{i}]") is { } ch)
                {
                    if (channels.Contains(ch))
                    {
                        c.Add($"{Path}.InputDataConfig[{i}].ChannelName", $"duplicate channel '{SageMakerCompiler.Clip(ch)}'");
                    }
                    channels.Add(ch);
                }
            }
        }
        else if (args["InputDataConfig"] is { } bad)
        {
            c.Add($"{Path}.InputDataConfig", $"InputDataConfig must be a list of channels, not {SageMakerCompiler.Describe(bad)}");
        }

        // Hyperparameters: as SageMaker passes them to a container (a JSON file of strings) and as the training toolkit
        // passes them to a script (SM_HPS, SM_HP_*, --name value arguments with JSON-encoded values decoded).
        var hyper = new List<KeyValuePair<string, JsonTemplate>>();
        var scriptArgs = new List<Template>();
        string? program = null;
        string? submitDirectory = null;
        if (Object(args, "HyperParameters", Path) is { } hps)
        {
            foreach (var (key, value) in hps)
            {
                var hpath = $"{Path}.HyperParameters.{SageMakerCompiler.Clip(key)}";
                if (c.Scalar(value, hpath, d, $"hyperparameter '{SageMakerCompiler.Clip(key)}'") is not { } t)
                {
                    continue;
                }
                hyper.Add(new(key, JsonTemplate.Value(t)));
                var decoded = t.IsLiteral && t.OnlyReference is null ? Decode(t.Render(NoValues.Instance)) : null;
                switch (key)
                {
                    case "sagemaker_program":
                        program = decoded ?? (t.IsLiteral ? t.Source : null);
                        break;
                    case "sagemaker_submit_directory":
                        submitDirectory = decoded ?? (t.IsLiteral ? t.Source : null);
                        break;
                    default:
                        if (!key.StartsWith("sagemaker_", StringComparison.Ordinal))
                        {
                            scriptArgs.Add(Template.Literal("--" + key));
                            scriptArgs.Add(decoded is not null ? Template.Literal(decoded) : t);
                            env["SM_HP_" + key.ToUpperInvariant()] = decoded is not null ? Template.Literal(decoded) : t;
                        }
                        break;
                }
            }
        }
        var hpDocument = JsonTemplate.Object(hyper);
        pre.AddRange(Op("mkdir", "/opt/ml/model", "", "the model directory"));
        pre.AddRange(Op("mkdir", "/opt/ml/output/data", "", "the output directory"));
        pre.AddRange(Op("file", "/opt/ml/input/config/hyperparameters.json", Template.Compose([new JsonTextRef(hpDocument)]), "hyperparameters"));
        pre.AddRange(Op("file", "/opt/ml/input/config/resourceconfig.json", """{"current_host":"algo-1","hosts":["algo-1"],"network_interface_name":"lo"}""", "the resource config"));
        var channelConfig = JsonTemplate.Object([.. channels.Select(ch => new KeyValuePair<string, JsonTemplate>(ch, JsonTemplate.Constant(new JsonObject { ["TrainingInputMode"] = "File" })))]);
        pre.AddRange(Op("file", "/opt/ml/input/config/inputdataconfig.json", Template.Compose([new JsonTextRef(channelConfig)]), "the input data config"));

        var jobName = SageMakerCompiler.Compilation.JobName(StepName);
        env["SM_MODEL_DIR"] = Template.Literal("/opt/ml/model");
        env["SM_OUTPUT_DATA_DIR"] = Template.Literal("/opt/ml/output/data");
        env["SM_OUTPUT_DIR"] = Template.Literal("/opt/ml/output");
        env["SM_INPUT_DIR"] = Template.Literal("/opt/ml/input");
        env["SM_INPUT_CONFIG_DIR"] = Template.Literal("/opt/ml/input/config");
        env["SM_INPUT_DATA_DIR"] = Template.Literal("/opt/ml/input/data");
        env["SM_CHANNELS"] = Template.Literal(JsonSerializer.Serialize(channels));
        env["SM_HPS"] = Template.Compose([new JsonTextRef(hpDocument)]);
        env["SM_CURRENT_HOST"] = Template.Literal("algo-1");
        env["SM_HOSTS"] = Template.Literal("[\"algo-1\"]");
        env["TRAINING_JOB_NAME"] = jobName;
        Environment(args, Path);

        List<Template>? command = null;
        if (entrypoint is { Count: > 0 })
        {
            command = [.. entrypoint, .. arguments ?? []];
        }
        else if (program is { Length: > 0 })
        {
            // Script mode (framework images): the program from the submitted source directory, run with the hyperparameters.
            var codeDir = "/opt/ml/code";
            if (submitDirectory is { } sd && ObjectStore.IsObjectUri(sd))
            {
                pre.AddRange(Op("untar", ObjectPath(Template.Literal(sd)), codeDir, $"the source directory {sd}"));
            }
            else if (submitDirectory is { Length: > 0 } local && !local.StartsWith("file://", StringComparison.Ordinal))
            {
                codeDir = local;
            }
            pre.AddRange(Op("cd", codeDir, "", "the code directory"));
            env["SM_MODULE_DIR"] = Template.Literal(codeDir);
            env["SM_USER_ENTRY_POINT"] = Template.Literal(program);
            var script = $"{codeDir}/{program}";
            command = program.EndsWith(".py", StringComparison.Ordinal) ? [Template.Literal("python3"), Template.Literal(script)]
                : program.EndsWith(".sh", StringComparison.Ordinal) ? [Template.Literal("sh"), Template.Literal(script)]
                : [Template.Literal(script)];
            command.AddRange(scriptArgs);
        }
        else
        {
            Fail(Template.Compose([$"Training step {StepName} has nothing Sluice can run: AlgorithmSpecification has no ContainerEntrypoint and the hyperparameters name no sagemaker_program (the image, ", (object?)image ?? "none", ", is recorded, not run)"]));
        }

        var extra = new List<(string, JsonTemplate)>
        {
            ("TrainingJobName", JsonTemplate.Value(jobName)),
            ("TrainingJobArn", JsonTemplate.Value(Arn("training-job", jobName))),
            ("TrainingJobStatus", JsonTemplate.Constant("Completed")),
            ("SecondaryStatus", JsonTemplate.Constant("Completed")),
        };
        post.AddRange(Op("onfail", "/opt/ml/output/failure", "", "the failure reason"));
        if (Object(args, "OutputDataConfig", Path) is { } odc && odc["S3OutputPath"] is { } op
            && c.Scalar(op, $"{Path}.OutputDataConfig.S3OutputPath", d, "S3OutputPath") is { } outputPath)
        {
            CheckUri(outputPath, $"{Path}.OutputDataConfig.S3OutputPath");
            var prefix = outputPath.IsLiteral && outputPath.OnlyReference is null ? Template.Literal(outputPath.Source.TrimEnd('/')) : outputPath;
            var artifacts = Template.Compose([prefix, "/", jobName, "/output/model.tar.gz"]);
            post.AddRange(Op("tarout", "/opt/ml/model", ObjectPath(artifacts), "the model artifacts"));
            extra.Add(("ModelArtifacts", JsonTemplate.Object([new("S3ModelArtifacts", JsonTemplate.Value(artifacts))])));
        }
        return Process(command, image, Timeout(), Properties([.. extra]));
    }

    public StepPlan Transform()
    {
        var jobName = SageMakerCompiler.Compilation.JobName(StepName);
        var model = ModelOf();
        if (model is { } m)
        {
            if (m.DataUrl is { } data)
            {
                pre.AddRange(Op("untar", ObjectPath(data), "/opt/ml/model", "the model data"));
            }
            foreach (var (k, v) in m.Environment)
            {
                env[k] = v;
            }
        }
        Template? contentType = null;
        Template? accept = null;
        if (Object(args, "TransformInput", Path) is { } input)
        {
            var ipath = $"{Path}.TransformInput";
            contentType = input["ContentType"] is { } ct ? c.Scalar(ct, $"{ipath}.ContentType", d, "ContentType") : null;
            if (Object(input, "DataSource", ipath) is { } ds && Object(ds, "S3DataSource", $"{ipath}.DataSource") is { } s3
                && Value(s3, "S3Uri", $"{ipath}.DataSource.S3DataSource") is { } uri)
            {
                CheckUri(uri, $"{ipath}.DataSource.S3DataSource.S3Uri");
                pre.AddRange(Op("in", ObjectPath(uri), "/opt/ml/transform/input", Template.Compose(["the transform input ", uri])));
            }
        }
        else if (args["TransformInput"] is null)
        {
            c.Add($"{Path}.TransformInput", "a Transform step needs TransformInput with DataSource.S3DataSource.S3Uri");
        }
        if (Object(args, "TransformOutput", Path) is { } output)
        {
            var opath = $"{Path}.TransformOutput";
            accept = output["Accept"] is { } a ? c.Scalar(a, $"{opath}.Accept", d, "Accept") : null;
            pre.AddRange(Op("mkdir", "/opt/ml/transform/output", "", "the transform output"));
            if (Value(output, "S3OutputPath", opath) is { } uri)
            {
                CheckUri(uri, $"{opath}.S3OutputPath");
                post.AddRange(Op("out", "/opt/ml/transform/output", ObjectPath(uri), "the transform output"));
            }
        }
        else if (args["TransformOutput"] is null)
        {
            c.Add($"{Path}.TransformOutput", "a Transform step needs TransformOutput with S3OutputPath");
        }
        Environment(args, Path);
        List<Template>? command = null;
        if (model is { Program: { Length: > 0 } program } mm)
        {
            var codeDir = mm.SubmitDirectory ?? "/opt/ml/model/code";
            if (ObjectStore.IsObjectUri(codeDir))
            {
                pre.AddRange(Op("untar", ObjectPath(Template.Literal(codeDir)), "/opt/ml/code", $"the source directory {codeDir}"));
                codeDir = "/opt/ml/code";
            }
            command =
            [
                Template.Literal("python3"), Template.Literal("-c"), Template.Literal(TransformShim), Template.Literal("/opt/ml/model"),
                Template.Literal(codeDir), Template.Literal(program), Template.Literal("/opt/ml/transform/input"),
                Template.Literal("/opt/ml/transform/output"), contentType ?? Template.Literal(""), accept ?? Template.Literal(""),
            ];
        }
        else
        {
            Fail(Template.Literal(model is null
                ? $"Transform step {StepName} uses a model that no Model step of this pipeline creates; Sluice runs a model's program only from a Model step of the same pipeline"
                : $"Transform step {StepName}: the model's container sets no SAGEMAKER_PROGRAM, so Sluice has no program to run on the host"));
        }
        return Process(command, model?.Image, Timeout(), Properties(
            ("TransformJobName", JsonTemplate.Value(jobName)),
            ("TransformJobArn", JsonTemplate.Value(Arn("transform-job", jobName))),
            ("TransformJobStatus", JsonTemplate.Constant("Completed"))));
    }

    public StepPlan Model()
    {
        var name = args["ModelName"] is { } n ? c.Scalar(n, $"{Path}.ModelName", d, "ModelName") ?? SageMakerCompiler.Compilation.JobName(StepName)
            : SageMakerCompiler.Compilation.JobName(StepName);
        if (args["PrimaryContainer"] is null && args["Containers"] is null)
        {
            c.Add(Path, "a Model step needs PrimaryContainer (or Containers) in its Arguments");
        }
        return new RecordStepPlan
        {
            Name = StepName,
            Properties = Properties(("ModelName", JsonTemplate.Value(name)), ("ModelArn", JsonTemplate.Value(Arn("model", name)))),
        };
    }

    public StepPlan RegisterModel()
    {
        var group = args["ModelPackageGroupName"] is { } g ? c.Scalar(g, $"{Path}.ModelPackageGroupName", d, "ModelPackageGroupName") : null;
        var packageName = group ?? SageMakerCompiler.Compilation.JobName(StepName);
        var arn = Template.Compose(["arn:aws:sagemaker:", new RunRef("location"), ":", new RunRef("account"), ":model-package/", packageName,
            group is null ? "" : "/", group is null ? "" : new RunRef("id")]);
        var extra = new List<(string, JsonTemplate)>
        {
            ("ModelPackageArn", JsonTemplate.Value(arn)),
            ("ModelPackageName", JsonTemplate.Value(packageName)),
            ("ModelPackageStatus", JsonTemplate.Constant("Completed")),
        };
        if (args["ModelApprovalStatus"] is null)
        {
            extra.Add(("ModelApprovalStatus", JsonTemplate.Constant("PendingManualApproval")));
        }
        return new RecordStepPlan { Name = StepName, Properties = Properties([.. extra]) };
    }

    // ---- inputs and outputs ----

    private void ProcessingInput(JsonNode? node, string path)
    {
        if (node is not JsonObject input)
        {
            c.Add(path, $"a processing input is an object with InputName and S3Input, not {SageMakerCompiler.Describe(node)}");
            return;
        }
        var name = c.StringOf(input["InputName"], $"{path}.InputName", "InputName") ?? "input";
        if (input["DatasetDefinition"] is not null)
        {
            c.Add($"{path}.DatasetDefinition", $"processing input '{SageMakerCompiler.Clip(name)}' reads a DatasetDefinition (Athena or Redshift), which Sluice cannot run; use an S3Input");
            return;
        }
        if (Object(input, "S3Input", path) is not { } s3)
        {
            if (input["S3Input"] is null)
            {
                c.Add($"{path}.S3Input", $"processing input '{SageMakerCompiler.Clip(name)}' needs an S3Input");
            }
            return;
        }
        var spath = $"{path}.S3Input";
        if (s3["S3DataType"] is { } dt && dt.GetValueKind() == JsonValueKind.String && dt.GetValue<string>() != "S3Prefix")
        {
            c.Add($"{spath}.S3DataType", $"S3DataType '{SageMakerCompiler.Clip(dt.GetValue<string>())}' is not supported: Sluice reads S3Prefix inputs");
        }
        if (s3["S3CompressionType"] is { } ct && ct.GetValueKind() == JsonValueKind.String && ct.GetValue<string>() != "None")
        {
            c.Add($"{spath}.S3CompressionType", $"S3CompressionType '{SageMakerCompiler.Clip(ct.GetValue<string>())}' is not supported: Sluice copies inputs as they are (None)");
        }
        var uri = Value(s3, "S3Uri", spath);
        var local = Value(s3, "LocalPath", spath);
        if (uri is null || local is null)
        {
            return;
        }
        CheckUri(uri, $"{spath}.S3Uri");
        CheckLocal(local, $"{spath}.LocalPath");
        pre.AddRange(Op("in", ObjectPath(uri), local, Template.Compose([$"input {name} (", uri, ")"])));
    }

    private void ProcessingOutput(JsonNode? node, string path, HashSet<string> names)
    {
        if (node is not JsonObject output)
        {
            c.Add(path, $"a processing output is an object with OutputName and S3Output, not {SageMakerCompiler.Describe(node)}");
            return;
        }
        var name = c.StringOf(output["OutputName"], $"{path}.OutputName", "OutputName");
        if (name is null)
        {
            if (output["OutputName"] is null)
            {
                c.Add($"{path}.OutputName", "a processing output needs an OutputName");
            }
            return;
        }
        if (!names.Add(name))
        {
            c.Add($"{path}.OutputName", $"duplicate processing output '{SageMakerCompiler.Clip(name)}'");
        }
        if (output["FeatureStoreOutput"] is not null)
        {
            c.Add($"{path}.FeatureStoreOutput", $"processing output '{SageMakerCompiler.Clip(name)}' writes to SageMaker Feature Store, which Sluice does not have; use an S3Output");
            return;
        }
        if (Object(output, "S3Output", path) is not { } s3)
        {
            if (output["S3Output"] is null)
            {
                c.Add($"{path}.S3Output", $"processing output '{SageMakerCompiler.Clip(name)}' needs an S3Output");
            }
            return;
        }
        var spath = $"{path}.S3Output";
        var uri = Value(s3, "S3Uri", spath);
        var local = Value(s3, "LocalPath", spath);
        if (uri is null || local is null)
        {
            return;
        }
        CheckUri(uri, $"{spath}.S3Uri");
        CheckLocal(local, $"{spath}.LocalPath");
        pre.AddRange(Op("mkdir", local, "", $"output {name}"));
        post.AddRange(Op("out", local, ObjectPath(uri), $"output {name}"));
    }

    private string? Channel(JsonNode? node, string path)
    {
        if (node is not JsonObject ch)
        {
            c.Add(path, $"a channel is an object with ChannelName and DataSource, not {SageMakerCompiler.Describe(node)}");
            return null;
        }
        var name = c.StringOf(ch["ChannelName"], $"{path}.ChannelName", "ChannelName");
        if (name is null)
        {
            if (ch["ChannelName"] is null)
            {
                c.Add($"{path}.ChannelName", "a channel needs a ChannelName");
            }
            return null;
        }
        if (name.Length is 0 or > 64 || name.Any(x => !(char.IsAsciiLetterOrDigit(x) || x is '-' or '_' or '.')))
        {
            c.Add($"{path}.ChannelName", $"invalid channel name '{SageMakerCompiler.Clip(name)}': 1-64 letters, digits, '.', '-' and '_'");
            return null;
        }
        if (Object(ch, "DataSource", path) is not { } ds)
        {
            return name;
        }
        if (ds["FileSystemDataSource"] is not null)
        {
            c.Add($"{path}.DataSource.FileSystemDataSource", $"channel '{name}' reads an EFS or FSx file system, which Sluice cannot reach; use an S3DataSource");
            return name;
        }
        if (Object(ds, "S3DataSource", $"{path}.DataSource") is { } s3 && Value(s3, "S3Uri", $"{path}.DataSource.S3DataSource") is { } uri)
        {
            CheckUri(uri, $"{path}.DataSource.S3DataSource.S3Uri");
            var dir = $"/opt/ml/input/data/{name}";
            pre.AddRange(Op("in", ObjectPath(uri), dir, Template.Compose([$"channel {name} (", uri, ")"])));
            env[$"SM_CHANNEL_{name.ToUpperInvariant().Replace('-', '_').Replace('.', '_')}"] = Template.Literal(dir);
        }
        return name;
    }

    /// <summary>The model a Transform step runs: the Model step its ModelName refers to.</summary>
    private ModelInfo? ModelOf()
    {
        var node = args["ModelName"];
        if (node is null)
        {
            c.Add($"{Path}.ModelName", "a Transform step needs a ModelName");
            return null;
        }
        if (c.Scalar(node, $"{Path}.ModelName", d, "ModelName") is null)
        {
            return null;
        }
        if (node is not JsonObject { Count: 1 } o || o["Get"] is not JsonValue g || !g.TryGetValue<string>(out var get)
            || !get.StartsWith("Steps.", StringComparison.Ordinal) || !get.EndsWith(".ModelName", StringComparison.Ordinal))
        {
            return null;
        }
        var step = get["Steps.".Length..^".ModelName".Length];
        var model = c.FindDraft(step);
        if (model is not { Type: "Model" } || model.Node["Arguments"] is not JsonObject margs)
        {
            return null;
        }
        var (container, containerPath) = margs["PrimaryContainer"] is JsonObject pc ? (pc, PropertyPath.Parse("PrimaryContainer", out _)!)
            : margs["Containers"] is JsonArray { Count: > 0 } cs && cs[0] is JsonObject c0 ? (c0, PropertyPath.Parse("Containers[0]", out _)!)
            : (null, null);
        if (container is null)
        {
            return new ModelInfo(null, null, null, new Dictionary<string, Template>(), null);
        }
        var environment = new Dictionary<string, Template>(StringComparer.Ordinal);
        string? program = null;
        string? submit = null;
        if (container["Environment"] is JsonObject e)
        {
            foreach (var (k, v) in e)
            {
                if (v is JsonValue jv && jv.TryGetValue<string>(out var text))
                {
                    environment[k] = Template.Literal(text);
                    if (k == "SAGEMAKER_PROGRAM")
                    {
                        program = text;
                    }
                    else if (k == "SAGEMAKER_SUBMIT_DIRECTORY")
                    {
                        submit = text;
                    }
                }
            }
        }
        if (program is { } p && !p.EndsWith(".py", StringComparison.Ordinal))
        {
            program = p + ".py";
        }
        Template? data = container["ModelDataUrl"] is null ? null
            : Template.Compose([new StepPropertyRef(step, containerPath!.Then(PropertyPath.Parse("ModelDataUrl", out _)!))]);
        var image = container["Image"] is JsonValue iv && iv.TryGetValue<string>(out var img) ? Template.Literal(img) : null;
        return new ModelInfo(data, program, submit, environment, image);
    }

    private sealed record ModelInfo(Template? DataUrl, string? Program, string? SubmitDirectory, Dictionary<string, Template> Environment, Template? Image);

    // ---- the process ----

    private ProcessStepPlan Process(List<Template>? command, Template? image, TimeSpan? timeout, JsonTemplate properties)
    {
        var argv = new List<Template> { Template.Literal("-c"), Template.Literal(StageScript.Text), Template.Literal(StageScript.Name) };
        argv.AddRange(pre);
        argv.Add(Template.Literal("--"));
        command ??= [Template.Literal("true")];
        argv.Add(Template.Literal(command.Count.ToString(CultureInfo.InvariantCulture)));
        argv.AddRange(command);
        argv.AddRange(post);
        if (image is not null)
        {
            env["SLUICE_IMAGE"] = image;
        }
        // Paths inside files are not rewritten: a script finds the job's folder here instead of /opt/ml.
        env["SLUICE_OPT_ML"] = Template.Literal(ContainerRoot);
        return new ProcessStepPlan
        {
            Name = StepName,
            Command = Template.Literal("/bin/sh"),
            Args = argv,
            Env = env,
            ContainerPaths = [ContainerRoot],
            Timeout = timeout,
            Properties = properties,
        };
    }

    private void Fail(Template message) => pre.AddRange(Op("fail", message, "", "the job"));

    private static IEnumerable<Template> Op(string op, object a, object b, object what) =>
        [Template.Literal(op), AsTemplate(a), AsTemplate(b), AsTemplate(what)];

    private static Template AsTemplate(object x) => x as Template ?? Template.Literal((string)x);

    private static Template ObjectPath(Template uri) => Template.Compose([new ObjectPathRef(uri)]);

    private Template Arn(string resource, Template name) =>
        Template.Compose(["arn:aws:sagemaker:", new RunRef("location"), ":", new RunRef("account"), $":{resource}/", name]);

    private TimeSpan? Timeout()
    {
        if (Object(args, "StoppingCondition", Path) is not { } sc || sc["MaxRuntimeInSeconds"] is not { } m)
        {
            return null;
        }
        if (m is JsonValue v && v.TryGetValue<double>(out var seconds) && seconds >= 1 && seconds <= 28 * 86400)
        {
            return TimeSpan.FromSeconds(seconds);
        }
        c.Add($"{Path}.StoppingCondition.MaxRuntimeInSeconds", $"MaxRuntimeInSeconds must be a number of seconds between 1 and 2419200 (28 days), not {SageMakerCompiler.Show(m)}");
        return null;
    }

    /// <summary>The rendered request plus the fields a Describe* call adds.</summary>
    private JsonTemplate Properties(params (string Name, JsonTemplate Value)[] extra)
    {
        var members = new List<KeyValuePair<string, JsonTemplate>>();
        foreach (var (key, value) in args)
        {
            if (extra.Any(e => e.Name == key))
            {
                continue;
            }
            if (Tree(value, $"{Path}.{SageMakerCompiler.Clip(key)}") is { } t)
            {
                members.Add(new(key, t));
            }
        }
        members.AddRange(extra.Select(e => new KeyValuePair<string, JsonTemplate>(e.Name, e.Value)));
        return JsonTemplate.Object(members);
    }

    /// <summary>A request value with expressions anywhere in it.</summary>
    private JsonTemplate? Tree(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o when SageMakerCompiler.Compilation.IsExpression(o):
                return c.Expression(o, path, d) is { } t ? JsonTemplate.Value(t) : null;
            case JsonObject o:
            {
                var members = new List<KeyValuePair<string, JsonTemplate>>();
                foreach (var (k, v) in o)
                {
                    if (Tree(v, $"{path}.{SageMakerCompiler.Clip(k)}") is { } member)
                    {
                        members.Add(new(k, member));
                    }
                }
                return JsonTemplate.Object(members);
            }
            case JsonArray a:
            {
                var items = new List<JsonTemplate>();
                for (var i = 0; i < a.Count; i++)
                {
                    items.Add(Tree(a[i], $"{path}[{i}]") ?? JsonTemplate.Constant(null));
                }
                return JsonTemplate.Array(items);
            }
            default:
                return JsonTemplate.Constant(node);
        }
    }

    private void Environment(JsonObject o, string path)
    {
        if (Object(o, "Environment", path) is not { } e)
        {
            return;
        }
        foreach (var (k, v) in e)
        {
            var epath = $"{path}.Environment.{SageMakerCompiler.Clip(k)}";
            if (k.Length == 0 || k.Length > 1024 || k.Any(ch => !(char.IsAsciiLetterOrDigit(ch) || ch == '_')) || char.IsAsciiDigit(k[0]))
            {
                c.Add(epath, $"invalid environment variable name '{SageMakerCompiler.Clip(k)}': letters, digits and '_', not starting with a digit");
                continue;
            }
            if (k.StartsWith("SLUICE_", StringComparison.Ordinal))
            {
                c.Add(epath, $"environment variable names starting with SLUICE_ are reserved ('{SageMakerCompiler.Clip(k)}')");
                continue;
            }
            if (c.Scalar(v, epath, d, $"environment variable '{SageMakerCompiler.Clip(k)}'") is { } t)
            {
                env[k] = t;
            }
        }
    }

    // ---- readers ----

    private JsonObject? Object(JsonObject o, string key, string path)
    {
        switch (o[key])
        {
            case null:
                return null;
            case JsonObject x:
                return x;
            default:
                c.Add($"{path}.{key}", $"{key} must be an object, not {SageMakerCompiler.Describe(o[key])}");
                return null;
        }
    }

    private Template? Value(JsonObject o, string key, string path)
    {
        if (o[key] is null)
        {
            c.Add($"{path}.{key}", $"{key} is required");
            return null;
        }
        return c.Scalar(o[key], $"{path}.{key}", d, key);
    }

    private List<Template>? StringList(JsonObject o, string key, string path)
    {
        if (o[key] is null)
        {
            return null;
        }
        if (o[key] is not JsonArray a)
        {
            c.Add($"{path}.{key}", $"{key} must be a list of strings, not {SageMakerCompiler.Describe(o[key])}");
            return null;
        }
        var result = new List<Template>();
        for (var i = 0; i < a.Count; i++)
        {
            if (c.Scalar(a[i], $"{path}.{key}[{i}]", d, $"an entry of {key}") is { } t)
            {
                result.Add(t);
            }
        }
        return result;
    }

    private void CheckUri(Template uri, string path)
    {
        if (uri.IsLiteral && uri.OnlyReference is null && !ObjectStore.TryLocalPath("/", uri.Render(NoValues.Instance), out _, out var error))
        {
            c.Add(path, error!);
        }
    }

    private void CheckLocal(Template local, string path)
    {
        if (local.IsLiteral && !local.Source.StartsWith(ContainerRoot + "/", StringComparison.Ordinal))
        {
            c.Add(path, $"LocalPath '{SageMakerCompiler.Clip(local.Source)}' must be under {ContainerRoot}/ (Sluice maps {ContainerRoot} to a folder of the step)");
        }
    }

    private int FindPropertyFile(string name)
    {
        var list = d.Node["PropertyFiles"]!.AsArray();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is JsonObject o && o["PropertyFileName"] is JsonValue v && v.TryGetValue<string>(out var s) && s == name)
            {
                return i;
            }
        }
        return 0;
    }

    /// <summary>The value a JSON-encoded hyperparameter stands for ("\"train.py\"" is train.py); null when it is not JSON text.</summary>
    private static string? Decode(string text)
    {
        try
        {
            return JsonNode.Parse(text) switch
            {
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                { } n => n.ToJsonString(),
                null => null,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Renders templates that have no references.</summary>
    private sealed class NoValues : IValueResolver
    {
        public static readonly NoValues Instance = new();

        public JsonNode? Resolve(Reference reference) => throw new InvalidOperationException("a literal has no references");
    }

    /// <summary>Batch transform on the host, after the SageMaker inference toolkit's handler functions: model_fn(model_dir)
    /// once, then for each input file transform_fn(model, body, content_type, accept), or input_fn, predict_fn and
    /// output_fn (each optional); the result goes to the output folder as FILE.out.</summary>
    private const string TransformShim = """
        import importlib, os, sys
        model_dir, code_dir, program, in_dir, out_dir, content_type, accept = sys.argv[1:8]
        sys.path.insert(0, code_dir)
        mod = importlib.import_module(program[:-3] if program.endswith('.py') else program)
        model = mod.model_fn(model_dir) if hasattr(mod, 'model_fn') else None
        count = 0
        for root, _, files in os.walk(in_dir):
            for name in sorted(files):
                src = os.path.join(root, name)
                with open(src, 'rb') as f:
                    body = f.read()
                if hasattr(mod, 'transform_fn'):
                    out = mod.transform_fn(model, body, content_type, accept)
                else:
                    data = mod.input_fn(body, content_type) if hasattr(mod, 'input_fn') else body.decode('utf-8')
                    prediction = mod.predict_fn(data, model) if hasattr(mod, 'predict_fn') else data
                    out = mod.output_fn(prediction, accept) if hasattr(mod, 'output_fn') else prediction
                if isinstance(out, tuple):
                    out = out[0]
                if isinstance(out, str):
                    out = out.encode('utf-8')
                elif not isinstance(out, (bytes, bytearray)):
                    out = str(out).encode('utf-8')
                dst = os.path.join(out_dir, os.path.relpath(src, in_dir) + '.out')
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst, 'wb') as f:
                    f.write(out)
                count += 1
        if count == 0:
            sys.exit('sluice: the transform input has no files')
        """;
}
