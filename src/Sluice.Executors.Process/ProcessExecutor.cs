using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;

namespace Sluice.Executors.Process;

/// <summary>Runs process steps as local processes, each in its own session and process group, supervised by a tiny
/// program (native/sluice-step.c, or a shell when that was not built) that records pid and exit status in the attempt's
/// directory so that the step survives a server crash.</summary>
public sealed class ProcessExecutor : IStepExecutor, IOrphanReaper
{
    private readonly TimeProvider time;
    private readonly string? nativeSupervisor;

    // The server's environment, which every step inherits: read once, since the server never changes its own.
    private readonly KeyValuePair<string, string>[] inherited;

    public ProcessExecutor(TimeProvider time)
        : this(time, Spawner.NativeSupervisor)
    {
    }

    /// <param name="nativeSupervisor">The native supervisor's path; null: the shell supervisor.</param>
    internal ProcessExecutor(TimeProvider time, string? nativeSupervisor)
    {
        this.time = time;
        this.nativeSupervisor = nativeSupervisor;
        inherited = [.. Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Select(e => KeyValuePair.Create((string)e.Key, (string?)e.Value ?? ""))];
        Reaper.Enable(time);
    }

    public string Kind => "process";

    public Task<IStepExecution> StartAsync(StepStart start, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var dir = Path.GetFullPath(start.Directory);
        var outputsDir = Path.Combine(dir, StepFiles.Outputs);
        if (!CreatedNow(dir))
        {
            // A status left by an earlier use of the directory must not be mistaken for this attempt's.
            File.Delete(Path.Combine(dir, StepFiles.Exit));
            File.Delete(Path.Combine(dir, StepFiles.Pid));
        }
        Directory.CreateDirectory(outputsDir);

        if (!TryReadInputs(start.Inputs, out var inputs, out var problem))
        {
            return Ended(StepOutcome.Failure($"invalid process step inputs: {problem}"));
        }
        var workingDir = dir;
        if (inputs.WorkingDir is { } wd)
        {
            workingDir = Path.GetFullPath(wd, dir);
            if (!Directory.Exists(workingDir))
            {
                return Ended(StepOutcome.Failure($"working directory {workingDir} does not exist"));
            }
        }

        var env = new Dictionary<string, string>(inherited.Length + inputs.Env.Count + 5, StringComparer.Ordinal);
        foreach (var (k, v) in inherited)
        {
            env[k] = v;
        }
        foreach (var (k, v) in inputs.Env)
        {
            env[k] = v;
        }
        env["SLUICE_OUTPUTS"] = outputsDir;
        env["SLUICE_STEP_DIR"] = dir;
        env["SLUICE_RUN_ID"] = start.RunId;
        env["SLUICE_STEP"] = start.StepName;
        env["SLUICE_ATTEMPT"] = start.Attempt.ToString(CultureInfo.InvariantCulture);
        var envList = env.Select(kv => $"{kv.Key}={kv.Value}").ToList();

        int pid;
        try
        {
            pid = Spawner.SpawnSupervised(nativeSupervisor, dir, Path.Combine(dir, StepFiles.Stdout), Path.Combine(dir, StepFiles.Stderr), workingDir,
                inputs.Command, inputs.Args, envList);
        }
        catch (SpawnException e)
        {
            return Ended(StepOutcome.Failure($"could not start the process: {e.Message}"));
        }

        // Our child is not reaped before we do it, so pid is exact here and its /proc entry stays readable, unless the
        // server runs with SIGCHLD ignored (children then vanish on their own): that is a step that already ended.
        var pidfd = Native.pidfd_open(pid, 0);
        if (pidfd < 0)
        {
            var errno = Native.LastError;
            if (errno == Native.ESRCH)
            {
                IStepExecution ended = new ProcessExecution(time, dir, start.Plan, null, pid, LeftoversAreOurs(pid, dir),
                    noExitReason: ProcessExecution.NoExitStatus);
                return Task.FromResult(ended);
            }
            Native.kill(-pid, Native.SIGKILL);
            throw new InvalidOperationException($"pidfd_open({pid}) failed: {Native.Describe(errno)}");
        }
        var startTime = ProcFs.ReadStat(pid)?.StartTime ?? 0;
        try
        {
            IStepExecution execution = new ProcessExecution(time, dir, start.Plan, new ProcessHandle(pid, startTime), pidfd);
            return Task.FromResult(execution);
        }
        catch (InvalidOperationException)
        {
            // It cannot be watched, so it must not run unwatched.
            Native.kill(-pid, Native.SIGKILL);
            Native.close(pidfd);
            throw;
        }
    }

    /// <summary>Creates the attempt's directory (and its parents); true when this call created it, so that nothing of an
    /// earlier use can be in it. One mkdir in the usual case (the step's directory exists, or only the attempt is new).</summary>
    private static bool CreatedNow(string dir)
    {
        if (Native.mkdir(dir, 0x1FF /* 0777, less the umask */) == 0)
        {
            return true;
        }
        var errno = Native.LastError;
        if (errno == Native.ENOENT)
        {
            // A new step: its parent is missing too (it was not there, so neither was this directory).
            Directory.CreateDirectory(dir);
            return true;
        }
        if (errno == Native.EEXIST)
        {
            return false;
        }
        throw new IOException($"cannot create {dir}: {Native.Describe(errno)}");
    }

    public Task<IStepExecution> AdoptAsync(StepStart start, StepRecord record, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var dir = Path.GetFullPath(start.Directory);
        var plan = start.Plan;
        // The step was being stopped when the server went down: however it ends (or ended), it was stopped. (The
        // engine asks for the stop again once adopted; a supervisor killed by the first SIGTERM left no exit status.)
        var stopping = record.State == StepState.Stopping;

        // Identity: the recorded pid and start time, or (when the server died before recording them) the pid the
        // supervisor wrote, checked against the supervisor's command line.
        // A supervisor spawned just before the server went down may not have written its pid yet: it is found by its argv.
        var pid = record.Process?.Pid ?? StepFiles.ReadPid(dir) ?? FindSupervisor(dir);
        if (pid is null && !stopping && StepFiles.ReadExitCode(dir) is null)
        {
            // No recorded pid, no pid file, no live supervisor of this directory and no exit status: the server went down
            // after recording the step as starting and before it spawned it. The attempt never ran, so it runs now (found by
            // the kill -9 test: such a step used to fail as lost).
            return StartAsync(start, ct);
        }
        if (pid is not { } p || p <= 1)
        {
            return Ended(stopping ? StepOutcome.Stopped() : StepFiles.ReadExitCode(dir) is null
                ? StepOutcome.Failure(StepFiles.LostReason)
                : StepFiles.ReadOutcome(dir, plan, StepFiles.LostReason));
        }

        var pidfd = Native.pidfd_open(p, 0);
        if (pidfd >= 0)
        {
            // Opened first, checked second: if the check passes, the pidfd is that very process. It must also look like
            // our supervisor (a start time counts clock ticks since boot, and could repeat after a reboot).
            var stat = ProcFs.ReadStat(p);
            var sameStart = stat is { } st && (record.Process is not { } h || st.StartTime == h.StartTime);
            if (sameStart && stat!.Value.Alive && IsSupervisorOf(stat.Value, dir, record.Process is not null))
            {
                IStepExecution alive = new ProcessExecution(time, dir, plan, new ProcessHandle(p, stat.Value.StartTime), pidfd, stopping);
                return Task.FromResult(alive);
            }
            if (sameStart && !stat!.Value.Alive && record.Process is not null)
            {
                // A zombie: it ended while the server was down and waits for a slow reaper. Reap it if it is ours
                // (only when this very process started it); otherwise its parent or pid 1 will.
                ProcessExecution.TryReap(pidfd);
            }
            Native.close(pidfd);
        }
        IStepExecution gone = new ProcessExecution(time, dir, plan, record.Process, p, LeftoversAreOurs(p, dir), stopping);
        return Task.FromResult(gone);
    }

    /// <summary>Only an attempt's own processes count (no exit status yet, and a live supervisor whose argv names the
    /// directory, or group members that carry its SLUICE_STEP_DIR when the supervisor is gone): a pid file alone may name
    /// a pid reused since.</summary>
    public async Task<int> ReapOrphansAsync(string runsDirectory, Func<string, string, int, Task<bool>> attemptIsActive, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(attemptIsActive);
        if (!Directory.Exists(runsDirectory))
        {
            return 0;
        }
        var killed = 0;
        foreach (var runDir in Directory.EnumerateDirectories(runsDirectory))
        {
            foreach (var stepDir in Directory.EnumerateDirectories(runDir))
            {
                foreach (var attemptDir in Directory.EnumerateDirectories(stepDir))
                {
                    ct.ThrowIfCancellationRequested();
                    if (!int.TryParse(Path.GetFileName(attemptDir), NumberStyles.None, CultureInfo.InvariantCulture, out var attempt)
                        || File.Exists(Path.Combine(attemptDir, StepFiles.Exit)) || StepFiles.ReadPid(attemptDir) is not { } pid
                        || !(ProcFs.ReadStat(pid) is { Alive: true } stat
                            ? IsSupervisorOf(stat, Path.GetFullPath(attemptDir), false)
                            : LeftoversAreOurs(pid, Path.GetFullPath(attemptDir)))
                        || await attemptIsActive(Path.GetFileName(runDir), Path.GetFileName(stepDir), attempt))
                    {
                        continue;
                    }
                    Native.kill(-pid, Native.SIGKILL);
                    killed++;
                }
            }
        }
        return killed;
    }

    /// <summary>The live supervisor whose argv names <paramref name="dir"/>, if any (one scan of /proc).</summary>
    private static int? FindSupervisor(string dir)
    {
        foreach (var p in ProcFs.AllProcesses())
        {
            if (p.Alive && IsSupervisorOf(p, dir, false))
            {
                return p.Pid;
            }
        }
        return null;
    }

    private static Task<IStepExecution> Ended(StepOutcome outcome) => Task.FromResult<IStepExecution>(new EndedExecution(outcome));

    /// <summary>A supervisor leads its own session and group, and its argv names the attempt directory. With a recorded
    /// start time, an empty argv is accepted too: it is one a process has between fork and the end of its exec.</summary>
    private static bool IsSupervisorOf(ProcStat stat, string dir, bool startTimeMatched)
    {
        if (stat.Session != stat.Pid || stat.ProcessGroup != stat.Pid)
        {
            return false;
        }
        return ProcFs.ReadCommandLine(stat.Pid) switch
        {
            [Spawner.Marker, var d, ..] => d == dir,
            [_, _, _, Spawner.Marker, var d, ..] => d == dir,
            [] or [""] => startTimeMatched,
            _ => false,
        };
    }

    /// <summary>The leader is gone; its pid may since have been reused as another group's id. A member that carries this
    /// attempt's SLUICE_STEP_DIR proves the group is still ours (while it lives, its group id cannot be reused).</summary>
    private static bool LeftoversAreOurs(int pgid, string dir)
    {
        var marker = Encoding.UTF8.GetBytes($"SLUICE_STEP_DIR={dir}\0");
        var answer = false;
        // A process caught between fork and the end of exec shows an empty environment for a moment: look again then.
        SpinWait.SpinUntil(() => Check(out answer), TimeSpan.FromMilliseconds(100));
        return answer;

        bool Check(out bool ours)
        {
            ours = false;
            if (Native.kill(-pgid, 0) != 0 && Native.LastError == Native.ESRCH)
            {
                return true;
            }
            var undecided = false;
            foreach (var m in ProcFs.GroupMembers(pgid))
            {
                if (!m.Alive)
                {
                    continue;
                }
                byte[] environ;
                try
                {
                    environ = File.ReadAllBytes($"/proc/{m.Pid.ToString(CultureInfo.InvariantCulture)}/environ");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                if (environ.AsSpan().IndexOf(marker) >= 0)
                {
                    ours = true;
                    return true;
                }
                undecided |= environ.Length == 0;
            }
            return !undecided;
        }
    }

    private sealed record Inputs(string Command, List<string> Args, Dictionary<string, string> Env, string? WorkingDir);

    private static bool TryReadInputs(JsonObject json, out Inputs inputs, out string? problem)
    {
        inputs = null!;
        problem = null;
        if (!TryText(json["command"], out var command) || string.IsNullOrEmpty(command))
        {
            problem = "\"command\" must be a non-empty string";
            return false;
        }
        var args = new List<string>();
        switch (json["args"])
        {
            case null:
                break;
            case JsonArray arr:
                foreach (var a in arr)
                {
                    if (!TryText(a, out var s))
                    {
                        problem = "every entry of \"args\" must be a string, a number or a boolean";
                        return false;
                    }
                    args.Add(s);
                }
                break;
            default:
                problem = "\"args\" must be an array";
                return false;
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (json["env"])
        {
            case null:
                break;
            case JsonObject obj:
                foreach (var (k, v) in obj)
                {
                    if (k.Length == 0 || k.Contains('=', StringComparison.Ordinal) || k.Contains('\0', StringComparison.Ordinal))
                    {
                        problem = $"environment variable name '{k}' is not valid";
                        return false;
                    }
                    if (!TryText(v, out var s))
                    {
                        problem = $"environment variable {k} must be a string";
                        return false;
                    }
                    env[k] = s;
                }
                break;
            default:
                problem = "\"env\" must be an object";
                return false;
        }
        string? workingDir = null;
        if (json["workingDir"] is { } w)
        {
            if (!TryText(w, out var s) || (w is JsonValue v && v.GetValueKind() != JsonValueKind.String))
            {
                problem = "\"workingDir\" must be a string or null";
                return false;
            }
            workingDir = s.Length == 0 ? null : s;
        }
        if (command.Contains('\0', StringComparison.Ordinal) || args.Exists(a => a.Contains('\0', StringComparison.Ordinal))
            || env.Values.Any(v => v.Contains('\0', StringComparison.Ordinal)) || (workingDir?.Contains('\0', StringComparison.Ordinal) ?? false))
        {
            problem = "a command, argument, environment value or directory cannot contain a NUL character";
            return false;
        }
        inputs = new Inputs(command, args, env, workingDir);
        return true;
    }

    private static bool TryText(JsonNode? node, out string text)
    {
        text = "";
        if (node is not JsonValue v)
        {
            return false;
        }
        switch (v.GetValueKind())
        {
            case JsonValueKind.String:
            case JsonValueKind.Number:
            case JsonValueKind.True:
            case JsonValueKind.False:
                text = Values.ToText(v);
                return true;
            default:
                return false;
        }
    }
}
