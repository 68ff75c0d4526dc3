using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.Core.Storage;
using Sluice.Executors.Process;

namespace Sluice.Executors.Function;

/// <summary>One call of a command function: a local process in its own session and process group, with the arguments on
/// stdin (a file) and stdout and stderr in files of the attempt's directory. It cannot be interrupted by a stop; at its
/// time limit the whole group is killed and the call fails.</summary>
internal sealed class CommandCall : IStepExecution
{
    public const string InputFile = "input.json";
    public const string StdoutFile = "stdout.log";
    public const string StderrFile = "stderr.log";

    /// <summary>"PID STARTTIME" of the call's process, so that after a server crash its leftovers can be killed.</summary>
    public const string PidFile = "function.pid";

    private const int MaxStderrTail = 64 * 1024;

    /// <summary>How long the group's members killed at the end may take to go.</summary>
    private const int GroupDrainPolls = 500;

    private static readonly TimeSpan GroupDrainPoll = TimeSpan.FromMilliseconds(10);

    private readonly Lock gate = new();
    private readonly string function;
    private readonly TimeSpan limit;
    private readonly string directory;
    private readonly IReadOnlyList<OutputSpec> outputs;
    private readonly TimeProvider time;
    private readonly int pgid;
    private readonly TaskCompletionSource<StepOutcome> outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int pidfd;
    private ITimer? timer;
    private bool exited;
    private bool timedOut;
    private bool interrupted;
    private bool disposed;

    private CommandCall(string function, TimeSpan limit, string directory, IReadOnlyList<OutputSpec> outputs, TimeProvider time,
        ProcessHandle handle, int pidfd)
    {
        this.function = function;
        this.limit = limit;
        this.directory = directory;
        this.outputs = outputs;
        this.time = time;
        this.pidfd = pidfd;
        pgid = handle.Pid;
        Process = handle;
        lock (gate)
        {
            timer = time.CreateTimer(static s => ((CommandCall)s!).OnTimeLimit(), this, limit, Timeout.InfiniteTimeSpan);
        }
        _ = RunAsync();
    }

    public ProcessHandle? Process { get; }

    public Task<StepOutcome> Completion => outcome.Task;

    /// <summary>Starts the call; a function that cannot be started is an attempt that has already failed.</summary>
    public static IStepExecution Start(FunctionRecord f, string name, JsonObject arguments, TimeSpan limit, StepStart start, TimeProvider time)
    {
        Reaper.Enable(time);
        var dir = Path.GetFullPath(start.Directory);
        Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, PidFile));
        var input = Path.Combine(dir, InputFile);
        File.WriteAllText(input, arguments.ToJsonString(), new UTF8Encoding(false));

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? "";
        }
        foreach (var (k, v) in f.Env ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }
        env["SLUICE_FUNCTION"] = name;
        env["SLUICE_STEP_DIR"] = dir;
        env["SLUICE_RUN_ID"] = start.RunId;
        env["SLUICE_STEP"] = start.StepName;
        env["SLUICE_ATTEMPT"] = start.Attempt.ToString(CultureInfo.InvariantCulture);

        int pid;
        try
        {
            pid = Spawner.Spawn(f.Command!, [.. env.Select(kv => $"{kv.Key}={kv.Value}")], dir, input, Path.Combine(dir, StdoutFile),
                Path.Combine(dir, StderrFile));
        }
        catch (SpawnException e)
        {
            return new EndedCall(StepOutcome.Failure($"function {name}: {e.Message}"));
        }
        // Our child is not reaped before we do it, so pid is exact here.
        var fd = Native.pidfd_open(pid, 0);
        if (fd < 0)
        {
            var errno = Native.LastError;
            // It cannot be watched, so it must not run unwatched.
            Native.kill(-pid, Native.SIGKILL);
            throw new InvalidOperationException($"pidfd_open({pid}) failed: {Native.Describe(errno)}");
        }
        var handle = new ProcessHandle(pid, ProcFs.ReadStat(pid)?.StartTime ?? 0);
        File.WriteAllText(Path.Combine(dir, PidFile), string.Create(CultureInfo.InvariantCulture, $"{handle.Pid} {handle.StartTime}\n"));
        return new CommandCall(name, limit, dir, start.Plan.Outputs, time, handle, fd);
    }

    /// <summary>After a server restart: kills what is left of the call's process group, if its leader is still the very
    /// process the call started (same pid, same start time, still leading its own session).</summary>
    public static void KillLeftovers(ProcessHandle? recorded, string directory)
    {
        var handle = recorded ?? ReadPidFile(directory);
        if (handle is not { Pid: > 1 } h || ProcFs.ReadStat(h.Pid) is not { } stat)
        {
            return;
        }
        if (stat.StartTime == h.StartTime && stat.Session == h.Pid && stat.ProcessGroup == h.Pid)
        {
            Native.kill(-h.Pid, Native.SIGKILL);
        }
    }

    /// <summary>A function step cannot be interrupted (SageMaker's Lambda step): a stop waits for it to return or to reach
    /// its time limit.</summary>
    public void RequestStop(TimeSpan grace)
    {
    }

    /// <summary>Stops watching. Nobody could take the result of a call still running (it cannot be resumed after a
    /// restart), so its process group is killed.</summary>
    public ValueTask DisposeAsync()
    {
        lock (gate)
        {
            if (disposed)
            {
                return ValueTask.CompletedTask;
            }
            disposed = true;
            timer?.Dispose();
            timer = null;
            if (!exited)
            {
                interrupted = true;
                KillLocked();
            }
        }
        return ValueTask.CompletedTask;
    }

    private void OnTimeLimit()
    {
        lock (gate)
        {
            if (exited || disposed)
            {
                return;
            }
            timedOut = true;
            KillLocked();
        }
    }

    private unsafe void KillLocked()
    {
        if (pidfd >= 0)
        {
            // The leader through its pidfd: exact, and immune to pid reuse.
            Native.pidfd_send_signal(pidfd, Native.SIGKILL, null, 0);
        }
        Native.kill(-pgid, Native.SIGKILL);
    }

    private async Task RunAsync()
    {
        try
        {
            var status = await Task.Factory.StartNew(WaitForExit, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
            await WaitGroupGoneAsync().ConfigureAwait(false);
            bool limitReached;
            bool wasInterrupted;
            lock (gate)
            {
                limitReached = timedOut;
                wasInterrupted = interrupted;
            }
            outcome.TrySetResult(limitReached ? FunctionResult.TimedOut(function, limit)
                : wasInterrupted ? StepOutcome.Failure($"function {function} was interrupted: the server stopped watching it")
                : Evaluate(status));
        }
        catch (Exception e)
        {
            outcome.TrySetException(e);
        }
    }

    /// <summary>Blocks until the leader has ended; kills what is left of its group; reaps it. Null: the exit status was lost.</summary>
    private unsafe (int Code, int Status)? WaitForExit()
    {
        var info = stackalloc byte[Native.SigInfoSize];
        new Span<byte>(info, Native.SigInfoSize).Clear();
        // WNOWAIT: ended but not reaped, so its pid (the group's id) cannot be reused while the leftovers are killed.
        var ok = Wait(info, Native.WEXITED | Native.WNOWAIT);
        lock (gate)
        {
            exited = true;
            timer?.Dispose();
            timer = null;
            // The call is over: background children must not outlive it.
            Native.kill(-pgid, Native.SIGKILL);
        }
        new Span<byte>(info, Native.SigInfoSize).Clear();
        ok = ok && Wait(info, Native.WEXITED);
        Reaper.Release(pgid);
        lock (gate)
        {
            Native.close(pidfd);
            pidfd = -1;
        }
        return ok && *(int*)(info + 16) != 0 ? (*(int*)(info + 8), *(int*)(info + 24)) : null;

        bool Wait(byte* buffer, int options)
        {
            while (Native.waitid(Native.P_PIDFD, pidfd, buffer, options) != 0)
            {
                if (Native.LastError != Native.EINTR)
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>Waits (briefly) until no live process of the group remains: the members were killed when the leader ended.</summary>
    private async Task WaitGroupGoneAsync()
    {
        for (var i = 0; i < GroupDrainPolls && ProcFs.GroupAlive(pgid); i++)
        {
            await Task.Delay(GroupDrainPoll, time).ConfigureAwait(false);
        }
    }

    private StepOutcome Evaluate((int Code, int Status)? status)
    {
        if (status is not { } s)
        {
            return StepOutcome.Failure($"function {function} ended, but its exit status was lost");
        }
        var stderr = LastStderrLine();
        var detail = stderr is null ? "" : ": " + stderr;
        if (s.Code != Native.CLD_EXITED)
        {
            return StepOutcome.Failure($"function {function} was killed by signal {s.Status}{detail}");
        }
        if (s.Status != 0)
        {
            return StepOutcome.Failure($"function {function} exited with code {s.Status}{detail}", s.Status);
        }
        var path = Path.Combine(directory, StdoutFile);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return StepOutcome.Failure($"function {function} returned nothing; it must return one JSON object", 0);
        }
        if (info.Length > FunctionResult.MaxBytes)
        {
            return StepOutcome.Failure($"function {function} wrote more than 1 MiB to stdout", 0);
        }
        return FunctionResult.Outcome(function, File.ReadAllText(path, Encoding.UTF8), outputs, 0);
    }

    /// <summary>The last non-empty line of stderr, clipped; null when there is none.</summary>
    private string? LastStderrLine()
    {
        try
        {
            using var f = new FileStream(Path.Combine(directory, StderrFile), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(0, f.Length - MaxStderrTail);
            f.Seek(start, SeekOrigin.Begin);
            var buffer = new byte[f.Length - start];
            f.ReadExactly(buffer);
            var line = Encoding.UTF8.GetString(buffer).Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0);
            return line is null ? null : FunctionResult.Clip(line);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static ProcessHandle? ReadPidFile(string directory)
    {
        try
        {
            var parts = File.ReadAllText(Path.Combine(directory, PidFile)).Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
                ? new ProcessHandle(pid, startTime)
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>A call that ended before it began (not registered, bad inputs, could not start), or that was lost.</summary>
internal sealed class EndedCall(StepOutcome outcome) : IStepExecution
{
    public ProcessHandle? Process => null;

    public Task<StepOutcome> Completion { get; } = Task.FromResult(outcome);

    public void RequestStop(TimeSpan grace)
    {
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
