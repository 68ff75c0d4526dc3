using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.TestKit;

namespace Sluice.Cli.Tests;

/// <summary>What one run of the real sluice CLI printed and how it exited.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public JsonNode Json() => JsonNode.Parse(Out) ?? throw new InvalidOperationException("stdout is JSON null");

    public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>Runs the built CLI (sluice.dll next to the tests) as a real process against a server.</summary>
public static class Cli
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "sluice.dll");

    public static async Task<CliResult> RunAsync(string? server, params string[] args) => await RunAsync(server, args, null, null);

    public static async Task<CliResult> RunAsync(string? server, string[] args, string? stdin, IReadOnlyDictionary<string, string?>? env,
        TimeSpan? timeout = null)
    {
        using var p = Process.Start(Info(server, args, env)) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
        }
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? Deadline.Default);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"sluice {string.Join(' ', args)} did not exit in time:\n{await stdout}\n{await stderr}");
        }
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts the CLI and returns at once (for watch and followed logs that run while a test acts).</summary>
    public static RunningCli Start(string? server, params string[] args) => new(Info(server, args, null), args);

    internal static ProcessStartInfo Info(string? server, string[] args, IReadOnlyDictionary<string, string?>? env)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove("SLUICE_SERVER");
        psi.Environment.Remove("SLUICE_DEBUG");
        psi.Environment.Remove("SLUICE_DATA_DIR");
        // The test servers' admin token (a test about finding the token removes it).
        psi.Environment["SLUICE_TOKEN"] = TestCredentials.AdminToken;
        if (server is not null)
        {
            psi.Environment["SLUICE_SERVER"] = server;
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null)
            {
                psi.Environment.Remove(k);
            }
            else
            {
                psi.Environment[k] = v;
            }
        }
        return psi;
    }
}

/// <summary>A CLI process running in the background: its output so far, a wait for a line, and its exit.</summary>
public sealed class RunningCli : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder error = new();
    private readonly string[] args;
    private readonly Task<string> stdoutDone;
    private readonly Task<string> stderrDone;
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RunningCli(ProcessStartInfo psi, string[] args)
    {
        this.args = args;
        process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the CLI");
        process.StandardInput.Close();
        stdoutDone = PumpAsync(process.StandardOutput, output);
        stderrDone = PumpAsync(process.StandardError, error);
    }

    public int Pid => process.Id;

    public string Out
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    private async Task<string> PumpAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, n);
            }
            Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
        Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        lock (into)
        {
            return into.ToString();
        }
    }

    /// <summary>Waits until stdout contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Deadline.Default);
        while (!Out.Contains(text, StringComparison.Ordinal))
        {
            var next = Volatile.Read(ref changed).Task;
            if (Out.Contains(text, StringComparison.Ordinal))
            {
                return;
            }
            if (process.HasExited && stdoutDone.IsCompleted)
            {
                throw new InvalidOperationException($"sluice {string.Join(' ', args)} exited before printing '{text}':\n{Out}\n{await stderrDone}");
            }
            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"sluice {string.Join(' ', args)} did not print '{text}':\n{Out}");
            }
        }
    }

    public async Task<CliResult> WaitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Deadline.Default);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sluice {string.Join(' ', args)} did not exit in time:\n{Out}");
        }
        return new CliResult(process.ExitCode, await stdoutDone, await stderrDone);
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.Dispose();
    }
}
