using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Sluice.TestKit;

/// <summary>A real sluice-server process on a loopback port with its own data directory; can be killed (-9) and started again.
/// Authentication is on, as by default: the data directory gets <see cref="TestCredentials"/> (unless it has credentials
/// already, or the test names its own), and <see cref="Http"/> sends the admin token.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly TempDirectory? ownedData;
    private readonly string[] extraArgs;
    private Process? process;
    private readonly StringBuilder output = new();

    private ServerProcess(string dataDir, TempDirectory? owned, string[] extraArgs)
    {
        DataDir = dataDir;
        ownedData = owned;
        this.extraArgs = extraArgs;
        scheme = extraArgs.Contains("--tls-cert") ? "https" : "http";
        Port = Loopback.ProbeFreePort();
        Http = NewClient(TimeSpan.FromSeconds(60));
    }

    public string DataDir { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"{scheme}://127.0.0.1:{Port}");

    // https when the test gives the server a certificate (--tls-cert); the test's clients then trust a self-signed one too.
    private readonly string scheme;

    private static SocketsHttpHandler TestHandler() => new()
    {
        SslOptions = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            errors == System.Net.Security.SslPolicyErrors.None || (cert is not null && cert.Subject == cert.Issuer && cert.Subject == "CN=127.0.0.1") },
    };

    /// <summary>A client that sends <see cref="Token"/>.</summary>
    public HttpClient Http { get; }

    /// <summary>The native API token the test client sends: the server's own local admin token when it created one (see
    /// <see cref="StartFreshAsync"/>), else <see cref="TestCredentials.AdminToken"/>.</summary>
    public string Token { get; private set; } = TestCredentials.AdminToken;

    /// <summary>A client of this server with the given token (null: none at all).</summary>
    public HttpClient NewClient(TimeSpan timeout, string? token = "")
    {
        var http = new AuthenticatingClient(this, token) { BaseAddress = BaseAddress, Timeout = timeout };
        return http;
    }

    /// <summary>Sends the server's current token (it is known only once the server has started) or a fixed one.</summary>
    private sealed class AuthenticatingClient(ServerProcess server, string? token) : HttpClient(new Handler(server, token))
    {
        private sealed class Handler(ServerProcess server, string? token) : DelegatingHandler(TestHandler())
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var t = token == "" ? server.Token : token;
                // The AWS faces (POST /) take SigV4 signatures, never a bearer token: their requests go as the test made them.
                var aws = request.RequestUri is { } u && (u.IsAbsoluteUri ? u.AbsolutePath : u.OriginalString.Split('?')[0]) == "/";
                if (t is not null && !aws && !request.Headers.Contains("Authorization"))
                {
                    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", t);
                }
                return base.SendAsync(request, cancellationToken);
            }
        }
    }

    public int Pid => process?.Id ?? 0;

    /// <summary>The exit code once the process has exited.</summary>
    public int? ExitCode => process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>What the server printed (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static Task<ServerProcess> StartAsync(string? dataDir = null, params string[] extraArgs) => StartAsync(dataDir, true, extraArgs);

    /// <summary>A server on a new data directory left as it is: no credentials file, so the server creates its local admin
    /// token on first start, as on a user's machine; <see cref="Token"/> is then that token.</summary>
    public static Task<ServerProcess> StartFreshAsync(params string[] extraArgs) => StartAsync(null, false, extraArgs);

    private static async Task<ServerProcess> StartAsync(string? dataDir, bool testCredentials, string[] extraArgs)
    {
        // The port is probed free, then bound by the server: another process on the machine may take it in between, so
        // a bind failure is tried again on a fresh port.
        for (var attempt = 1; ; attempt++)
        {
            var owned = dataDir is null ? new TempDirectory("sluice-server") : null;
            var s = new ServerProcess(dataDir ?? owned!.Path, owned, extraArgs);
            var credentials = Path.Combine(s.DataDir, "credentials.yaml");
            if (testCredentials && !extraArgs.Contains("--credentials") && !File.Exists(credentials))
            {
                Directory.CreateDirectory(s.DataDir);
                TestCredentials.Write(credentials, TestCredentials.File);
            }
            try
            {
                await s.LaunchAsync();
                return s;
            }
            catch (InvalidOperationException) when (attempt < 5 && s.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await s.DisposeAsync();
            }
        }
    }

    private async Task LaunchAsync()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sluice-server.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("sluice-server.dll is not next to the tests; reference src/Sluice.Server", dll);
        }
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[dll, "--urls", $"{scheme}://127.0.0.1:{Port}", "--data-dir", DataDir, .. extraArgs])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";
        process = Process.Start(psi) ?? throw new InvalidOperationException("could not start sluice-server");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(60);
        using var probe = new HttpClient(TestHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            if (process.HasExited)
            {
                // The exit can be seen before the last of its output has been read: that output is the error to show.
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                throw new InvalidOperationException($"sluice-server exited with {process.ExitCode}:\n{Output}");
            }
            try
            {
                using var r = await probe.GetAsync("/healthz");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    var local = Path.Combine(DataDir, "admin.token");
                    if (File.Exists(local))
                    {
                        Token = (await File.ReadAllTextAsync(local)).Trim();
                    }
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"sluice-server did not answer /healthz within 60 s:\n{Output}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (output)
        {
            output.AppendLine(line);
        }
    }

    /// <summary>SIGKILL: the server gets no chance to clean up.</summary>
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM: a graceful shutdown.</summary>
    public async Task TerminateAsync()
    {
        if (process is { HasExited: false })
        {
            _ = Posix.Kill(process.Id, 15);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>Starts the server again on the same port and data directory.</summary>
    public Task RestartAsync() => LaunchAsync();

    // ---- API helpers ----

    public async Task<JsonObject> PostJsonAsync(string path, object? body, HttpStatusCode expect)
    {
        using var r = await Http.PostAsJsonAsync(path, body);
        return await ExpectAsync(r, expect);
    }

    public async Task<JsonObject> GetJsonAsync(string path, HttpStatusCode expect = HttpStatusCode.OK)
    {
        using var r = await Http.GetAsync(path);
        return await ExpectAsync(r, expect);
    }

    public async Task<JsonObject> CreatePipelineAsync(string yaml)
    {
        using var content = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        using var r = await Http.PostAsync("/api/v1/pipelines", content);
        return await ExpectAsync(r, HttpStatusCode.Created);
    }

    public Task<JsonObject> StartRunAsync(string pipeline, object? parameters = null, object? labels = null) =>
        PostJsonAsync("/api/v1/runs", new { pipeline, parameters, labels }, HttpStatusCode.Created);

    public Task<JsonObject> GetRunAsync(string id) => GetJsonAsync($"/api/v1/runs/{id}");

    public static async Task<JsonObject> ExpectAsync(HttpResponseMessage r, HttpStatusCode expect)
    {
        var text = await r.Content.ReadAsStringAsync();
        if (r.StatusCode != expect)
        {
            throw new HttpExpectationException($"expected {(int)expect} {expect}, got {(int)r.StatusCode} {r.StatusCode}: {text}");
        }
        return text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [];
    }

    /// <summary>Waits, on the server's event stream, until the run's state satisfies <paramref name="done"/>; returns the run.</summary>
    public async Task<JsonObject> WaitForRunAsync(string runId, Func<string, bool> done, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Deadline.Default);
        using var stream = NewClient(Timeout.InfiniteTimeSpan);
        using var req = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/events?run={runId}&after=0");
        try
        {
            using var resp = await stream.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            resp.EnsureSuccessStatusCode();
            // The stream replays history first, so a state reached before we subscribed is seen too.
            var run = await GetRunAsync(runId);
            if (done(run["state"]!.GetValue<string>()))
            {
                return run;
            }
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal)
                    && JsonNode.Parse(line[6..]) is JsonObject e && e["step"] is null && e["to"]?.GetValue<string>() is { } to && done(to))
                {
                    return await GetRunAsync(runId);
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        var last = await GetRunAsync(runId);
        throw new TimeoutException($"run {runId} did not reach the expected state; it is {last["state"]}: {last.ToJsonString()}");
    }

    public Task<JsonObject> WaitForStateAsync(string runId, string state, TimeSpan? timeout = null) =>
        WaitForRunAsync(runId, s => s == state, timeout);

    /// <summary>Waits until a step of the run reaches a state (on the event stream).</summary>
    public async Task WaitForStepAsync(string runId, string step, string state, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Deadline.Default);
        using var stream = NewClient(Timeout.InfiniteTimeSpan);
        using var req = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/events?run={runId}&after=0");
        try
        {
            using var resp = await stream.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonNode.Parse(line[6..]) is JsonObject e
                    && e["step"]?.GetValue<string>() == step && e["to"]?.GetValue<string>() == state)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        var last = await GetRunAsync(runId);
        throw new TimeoutException($"step {step} of run {runId} did not reach {state}: {last.ToJsonString()}");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process?.Dispose();
        Http.Dispose();
        ownedData?.Dispose();
    }
}

/// <summary>An HTTP answer other than the one a test expected.</summary>
public sealed class HttpExpectationException(string message) : Exception(message);
