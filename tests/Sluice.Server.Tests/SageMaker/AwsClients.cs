using System.Diagnostics;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>The real AWS clients, run as child processes against a test server: boto3 (the image's pip botocore, JSON
/// protocols), Debian's boto3 (/usr/bin/python3, SQS query protocol), AWS CLI v1 (pip, `python3 -m awscli`), AWS CLI v2
/// (Debian, /usr/bin/aws) and the AWS JS SDK v3 (@aws-sdk/client-sagemaker, @aws-sdk/client-sqs from SageMaker/node).</summary>
internal sealed class AwsClients(ServerProcess server, string region = "us-east-1", string accessKey = TestCredentials.AwsAccessKey,
    string secret = TestCredentials.AwsSecretKey)
{
    public const string DebianPython = "/usr/bin/python3";
    public const string CliV2 = "/usr/bin/aws";

    public string Endpoint => $"http://127.0.0.1:{server.Port}";

    public string Region => region;

    private static string Scripts => Path.Combine(AppContext.BaseDirectory, "SageMaker", "scripts");

    /// <summary>SageMaker/node in the source tree, where ./build.sh test ran npm ci.</summary>
    public static string NodeDir
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "SageMaker", "node");
                if (File.Exists(Path.Combine(candidate, "package.json")))
                {
                    return candidate;
                }
            }
            throw new DirectoryNotFoundException("tests/Sluice.Server.Tests/SageMaker/node not found above the test binaries");
        }
    }

    /// <summary>Runs aws_program.py (see its docstring) with boto3 and returns one result per entry.</summary>
    public async Task<JsonArray> BotoAsync(JsonArray program, string python = "python3")
    {
        var (code, stdout, stderr) = await RunAsync(python, [Path.Combine(Scripts, "aws_program.py")], program.ToJsonString());
        Assert.True(code == 0, $"{python} aws_program.py exited {code}: {stderr}\n{stdout}");
        return JsonNode.Parse(stdout)!.AsArray();
    }

    /// <summary>Runs aws_program.mjs with the JS SDK.</summary>
    public async Task<JsonArray> NodeAsync(JsonArray program)
    {
        var dir = NodeDir;
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "@aws-sdk")), $"run npm ci in {dir} (./build.sh test does)");
        var (code, stdout, stderr) = await RunAsync("node", [Path.Combine(dir, "aws_program.mjs")], program.ToJsonString(), dir);
        Assert.True(code == 0, $"node aws_program.mjs exited {code}: {stderr}\n{stdout}");
        return JsonNode.Parse(stdout)!.AsArray();
    }

    /// <summary>One AWS CLI command: v2 is Debian's /usr/bin/aws, v1 is pip's awscli module.</summary>
    public Task<(int Code, string Stdout, string Stderr)> CliAsync(bool v2, params string[] args) =>
        v2 ? RunAsync(CliV2, ["--endpoint-url", Endpoint, "--output", "json", .. args], null)
            : RunAsync("python3", ["-m", "awscli", "--endpoint-url", Endpoint, "--output", "json", .. args], null);

    public async Task<JsonObject> CliJsonAsync(bool v2, params string[] args)
    {
        var (code, stdout, stderr) = await CliAsync(v2, args);
        Assert.True(code == 0, $"aws {(v2 ? "v2" : "v1")} {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout.Trim().Length == 0 ? [] : JsonNode.Parse(stdout)!.AsObject();
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, string[] args, string? stdin, string? cwd = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = cwd ?? AppContext.BaseDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["SLUICE_ENDPOINT"] = Endpoint;
        psi.Environment["AWS_ACCESS_KEY_ID"] = accessKey;
        psi.Environment["AWS_SECRET_ACCESS_KEY"] = secret;
        psi.Environment["AWS_DEFAULT_REGION"] = region;
        psi.Environment["AWS_REGION"] = region;
        psi.Environment["AWS_PAGER"] = "";
        psi.Environment["AWS_CONFIG_FILE"] = "/dev/null";
        psi.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null";
        psi.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        psi.Environment["NODE_NO_WARNINGS"] = "1";
        psi.Environment.Remove("AWS_SESSION_TOKEN");
        psi.Environment.Remove("AWS_PROFILE");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
        }
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 120 s: {await errTask}");
        }
        return (p.ExitCode, await outTask, await errTask);
    }
}

/// <summary>Builds aws_program entries.</summary>
internal static class Program
{
    public static JsonObject Call(string op, object? args = null) => new() { ["call"] = op, ["args"] = Node(args) };

    public static JsonObject Wait(string op, object? args, string path, params string[] values) => new()
    {
        ["wait"] = op, ["args"] = Node(args), ["until"] = new JsonObject { ["path"] = path, ["in"] = new JsonArray([.. values.Select(v => (JsonNode?)v)]) },
        ["timeout"] = 30,
    };

    public static JsonObject WaitExists(string op, object? args, string path, int timeout = 30) => new()
    {
        ["wait"] = op, ["args"] = Node(args), ["until"] = new JsonObject { ["path"] = path, ["exists"] = true }, ["timeout"] = timeout,
    };

    public static JsonObject Paginate(string op, object? args, string key) => new() { ["paginate"] = op, ["args"] = Node(args), ["key"] = key };

    public static JsonNode? Node(object? o) => o switch
    {
        null => new JsonObject(),
        JsonNode n => n,
        _ => JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(o)),
    };

    public static JsonNode Ok(this JsonArray results, int i) =>
        results[i]!["ok"] ?? throw new Xunit.Sdk.XunitException($"entry {i} failed: {results[i]!.ToJsonString()}");

    public static string Code(this JsonArray results, int i) =>
        results[i]!["error"]?["code"]?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException($"entry {i} did not fail: {results[i]!.ToJsonString()}");

    public static string Message(this JsonArray results, int i) => results[i]!["error"]!["message"]!.GetValue<string>();
}
