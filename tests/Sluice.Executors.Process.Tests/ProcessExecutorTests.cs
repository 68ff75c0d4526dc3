using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Execution;
using Sluice.TestKit;
using static Sluice.Executors.Process.Tests.StepHarness;

namespace Sluice.Executors.Process.Tests;

/// <summary>The process executor as the server runs it: steps supervised by the native supervisor. Every test here runs
/// again under the shell supervisor (<see cref="ShellSupervisorTests"/>), the fallback when no C compiler built it.</summary>
public class ProcessExecutorTests : IDisposable
{
    private readonly TempDirectory temp = new("sluice-proc");
    private readonly ProcessExecutor executor;

    public ProcessExecutorTests()
        : this(new ProcessExecutor(TimeProvider.System))
    {
    }

    protected ProcessExecutorTests(ProcessExecutor executor) => this.executor = executor;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        Posix.KillStepsUnder(temp.Path);
        temp.Dispose();
    }

    [Fact]
    public void Kind_IsProcess() => Assert.Equal("process", executor.Kind);

    [Fact]
    public void NativeSupervisor_IsBuiltAndCopiedNextToTheAssemblies()
    {
        // build.sh test installs a C compiler, so the native supervisor must be there: a build that stopped producing it
        // (or copying it) would silently fall back to the slower shell.
        var path = Spawner.NativeSupervisor;
        Assert.NotNull(path);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "sluice-step"), path);
    }

    [Fact]
    public async Task StartAsync_Supervisor_IsTheGroupLeaderNamedForAdoption()
    {
        var start = Shell(temp, "sleep 600");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);

        // posix_spawn returns once the exec has begun, which is before the kernel sets up the new argv: wait for it.
        string[] argv = [];
        Assert.True(await Posix.EventuallyAsync(() => (argv = ProcFs.ReadCommandLine(execution.Process!.Pid) ?? []) is not ([] or [""]),
            Deadline.Default));
        var supervisor = this is ShellSupervisorTests
            ? ["/bin/sh", "-c", Spawner.Script, "sluice-step", Path.GetFullPath(start.Directory)]
            : new[] { "sluice-step", Path.GetFullPath(start.Directory) };
        Assert.Equal(supervisor, argv.Take(supervisor.Length));
        execution.RequestStop(TimeSpan.Zero);
        Assert.Equal(OutcomeKind.Stopped, (await Outcome(execution)).Kind);
    }

    [Fact]
    public async Task StartAsync_StepWritesTypedOutputs_SucceedsWithCoercedValues()
    {
        var start = Shell(temp, """
            echo to-stdout; echo to-stderr >&2
            printf 42 > "$SLUICE_OUTPUTS/count"
            echo 0.25 > "$SLUICE_OUTPUTS/ratio"
            echo true > "$SLUICE_OUTPUTS/ok"
            printf 'hello world\n' > "$SLUICE_OUTPUTS/name"
            """,
            [new("count", ParamType.Integer), new("ratio", ParamType.Float), new("ok", ParamType.Boolean), new("name", ParamType.String)]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(42L, outcome.Outputs!["count"]!.GetValue<long>());
        Assert.Equal(0.25, outcome.Outputs["ratio"]!.GetValue<double>());
        Assert.True(outcome.Outputs["ok"]!.GetValue<bool>());
        Assert.Equal("hello world", outcome.Outputs["name"]!.GetValue<string>());
        Assert.Equal("to-stdout\n", await File.ReadAllTextAsync(Path.Combine(start.Directory, "stdout.log")));
        Assert.Equal("to-stderr\n", await File.ReadAllTextAsync(Path.Combine(start.Directory, "stderr.log")));
        Assert.Equal("0", (await File.ReadAllTextAsync(Path.Combine(start.Directory, "exit"))).Trim());
    }

    [Fact]
    public async Task StartAsync_ProcessHandle_IsTheGroupLeaderWithItsStartTime()
    {
        var start = Shell(temp, "sleep 600");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);

        var handle = Assert.IsType<Core.Domain.ProcessHandle>(execution.Process);
        var stat = ProcFs.ReadStat(handle.Pid);
        Assert.NotNull(stat);
        Assert.Equal(handle.StartTime, stat.Value.StartTime);
        Assert.Equal(handle.Pid, stat.Value.ProcessGroup);
        Assert.Equal(handle.Pid, stat.Value.Session);
        Assert.Equal(handle.Pid, await WaitForPidAsync(Path.Combine(start.Directory, "pid")));

        execution.RequestStop(TimeSpan.Zero);
        Assert.Equal(OutcomeKind.Stopped, (await Outcome(execution)).Kind);
    }

    [Fact]
    public async Task StartAsync_NonzeroExit_FailsWithCodeAndLastStderrLine()
    {
        var start = Shell(temp, "echo first >&2; echo 'CUDA out of memory' >&2; echo >&2; exit 3");

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Equal("exited with code 3: CUDA out of memory", outcome.Reason);
    }

    [Theory]
    [InlineData(3, OutcomeKind.Failed)]
    [InlineData(0, OutcomeKind.Succeeded)]
    public async Task StartAsync_ExitFileCannotBeWritten_StatusComesFromTheSupervisorsEnd(int code, OutcomeKind kind)
    {
        // As on a full disk: the supervisor cannot record the status (a directory stands where the file goes), so the
        // server, which reaps it, takes the status it exited with.
        var start = Shell(temp, $"mkdir \"$SLUICE_OUTPUTS/../exit\"; exit {code}");

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.True(Directory.Exists(Path.Combine(start.Directory, "exit")));
        Assert.Equal(kind, outcome.Kind);
        Assert.Equal(code, outcome.ExitCode);
        if (code != 0)
        {
            Assert.StartsWith($"exited with code {code}", outcome.Reason);
        }
    }

    [Fact]
    public async Task StartAsync_LongStderrLine_ReasonIsTruncated()
    {
        var start = Shell(temp, "head -c 5000 /dev/zero | tr '\\0' x >&2; exit 1");

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.StartsWith("exited with code 1: xxx", outcome.Reason);
        Assert.InRange(outcome.Reason!.Length, 300, 340);
    }

    [Fact]
    public async Task StartAsync_CommandNotFound_FailsSayingSo()
    {
        var start = Start(temp, "no-such-command-sluice");

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Equal(127, outcome.ExitCode);
        Assert.Contains("not found", outcome.Reason);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task StartAsync_ExecutableFileWithoutShebang_RunByTheShell()
    {
        // As exec does it: a file the kernel cannot run itself is a shell script, by full path or found on PATH.
        var bin = temp.File("bin");
        Directory.CreateDirectory(bin);
        var script = Path.Combine(bin, "no-shebang");
        await File.WriteAllTextAsync(script, "echo \"ran with $#: $*\" > \"$SLUICE_OUTPUTS/said\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}";
        OutputSpec[] said = [new("said", ParamType.String)];

        foreach (var start in new[]
        {
            Start(temp, script, ["a b", "c"], outputs: said, attemptDir: "by-path"),
            Start(temp, "no-shebang", ["a b", "c"], env: new Dictionary<string, string> { ["PATH"] = path }, outputs: said, attemptDir: "on-path"),
        })
        {
            await using var execution = await executor.StartAsync(start, CancellationToken.None);
            var outcome = await Outcome(execution);

            Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
            Assert.Equal("ran with 2: a b c", outcome.Outputs!["said"]!.GetValue<string>());
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task StartAsync_FirstMatchOnPathNotExecutable_SearchGoesOnThenCannotRunFails()
    {
        // tool in the first PATH entry cannot be run (no execute bit: refused even to root), the second one can.
        var first = temp.File("first");
        var second = temp.File("second");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        await File.WriteAllTextAsync(Path.Combine(first, "tool"), "#!/bin/sh\necho first > \"$SLUICE_OUTPUTS/which\"\n");
        await File.WriteAllTextAsync(Path.Combine(second, "tool"), "#!/bin/sh\necho second > \"$SLUICE_OUTPUTS/which\"\n");
        File.SetUnixFileMode(Path.Combine(second, "tool"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        OutputSpec[] which = [new("which", ParamType.String)];

        var found = Start(temp, "tool", env: new Dictionary<string, string> { ["PATH"] = $"{first}:{second}:/usr/bin:/bin" }, outputs: which,
            attemptDir: "found");
        await using (var execution = await executor.StartAsync(found, CancellationToken.None))
        {
            var outcome = await Outcome(execution);
            Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
            Assert.Equal("second", outcome.Outputs!["which"]!.GetValue<string>());
        }

        var denied = Start(temp, "tool", env: new Dictionary<string, string> { ["PATH"] = $"{first}:/usr/bin:/bin" }, attemptDir: "denied");
        await using (var execution = await executor.StartAsync(denied, CancellationToken.None))
        {
            var outcome = await Outcome(execution);
            Assert.Equal(OutcomeKind.Failed, outcome.Kind);
            Assert.Equal(126, outcome.ExitCode);
            Assert.Contains("Permission denied", outcome.Reason);
        }
    }

    [Fact]
    public async Task StartAsync_DeclaredOutputMissing_FailsNamingIt()
    {
        var start = Shell(temp, "echo 1 > \"$SLUICE_OUTPUTS/present\"", [new("present", ParamType.Integer), new("model_uri", ParamType.String)]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Contains("'model_uri'", outcome.Reason);
        Assert.Contains("not written", outcome.Reason);
    }

    [Fact]
    public async Task StartAsync_OutputOfWrongType_FailsNamingIt()
    {
        var start = Shell(temp, "echo lots > \"$SLUICE_OUTPUTS/epochs\"", [new("epochs", ParamType.Integer)]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Contains("'epochs'", outcome.Reason);
        Assert.Contains("Integer", outcome.Reason);
    }

    [Fact]
    public async Task StartAsync_ArgumentsWithShellSyntax_PassedVerbatimAsSeparateEntries()
    {
        var sentinel = temp.File("pwned");
        string[] tricky =
        [
            "two words", "it's \"quoted\"", "$(rm -rf /)", $"$(touch {sentinel})", $"; touch {sentinel}", "`id`", "*", "", "back\\slash",
            "line\nbreak", "$HOME", "-n",
        ];
        // The step prints its own argv (NUL-separated) from /proc: exactly what the kernel passed it.
        var start = Start(temp, "sh", ["-c", "cat /proc/$$/cmdline", "argv0", .. tricky]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        var argv = (await File.ReadAllTextAsync(Path.Combine(start.Directory, "stdout.log"), Encoding.UTF8)).Split('\0');
        Assert.Equal(["sh", "-c", "cat /proc/$$/cmdline", "argv0", .. tricky, ""], argv);
        Assert.False(File.Exists(sentinel));
    }

    [Fact]
    public async Task StartAsync_LargeArgumentsAndManyVariables_PassedIntact()
    {
        // Past the size the spawner copies strings in (16 KiB blocks): a long argument, many short ones, many variables.
        var big = string.Concat(Enumerable.Range(0, 3000).Select(i => $"{i % 10}é"));
        var many = Enumerable.Range(0, 2000).Select(i => $"a{i}").ToList();
        var env = Enumerable.Range(0, 500).ToDictionary(i => $"SLUICE_TEST_VAR_{i}", i => new string('v', i % 50) + i);
        var start = Start(temp, "sh", ["-c", """
            printf %s "$1" > "$SLUICE_OUTPUTS/big"
            echo $# > "$SLUICE_OUTPUTS/count"
            shift $(($# - 1)); echo "$1" > "$SLUICE_OUTPUTS/last"
            echo "$SLUICE_TEST_VAR_499" > "$SLUICE_OUTPUTS/var"
            """, "argv0", big, .. many],
            env: env, outputs: [new("big", ParamType.String), new("count", ParamType.Integer), new("last", ParamType.String), new("var", ParamType.String)]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(big, outcome.Outputs!["big"]!.GetValue<string>());
        Assert.Equal(2001, outcome.Outputs["count"]!.GetValue<long>());
        Assert.Equal("a1999", outcome.Outputs["last"]!.GetValue<string>());
        Assert.Equal(env["SLUICE_TEST_VAR_499"], outcome.Outputs["var"]!.GetValue<string>());
    }

    [Fact]
    public async Task StartAsync_AttemptDirectoryCannotBeCreated_ThrowsSayingWhyAndStartsNothing()
    {
        // Its parent is a file: the engine turns the exception into the attempt's failure ("could not start: ...").
        await File.WriteAllTextAsync(temp.File("a-file"), "");
        var start = Start(temp, "sh", ["-c", $"touch '{temp.File("ran")}'"], attemptDir: Path.Combine("a-file", "attempt-1"));

        var e = await Assert.ThrowsAnyAsync<IOException>(() => executor.StartAsync(start, CancellationToken.None));

        Assert.Contains(Path.Combine(temp.Path, "a-file"), e.Message);
        Assert.False(File.Exists(temp.File("ran")));
    }

    [Fact]
    public async Task StartAsync_EnvAndWorkingDir_AreApplied()
    {
        var work = temp.File("work dir");
        Directory.CreateDirectory(work);
        var start = Shell(temp, """
            echo "$GREETING" > "$SLUICE_OUTPUTS/greeting"
            pwd > "$SLUICE_OUTPUTS/cwd"
            echo "$SLUICE_RUN_ID/$SLUICE_STEP/$SLUICE_ATTEMPT" > "$SLUICE_OUTPUTS/ids"
            echo "$SLUICE_STEP_DIR" > "$SLUICE_OUTPUTS/dir"
            test -n "$PATH" && echo yes > "$SLUICE_OUTPUTS/inherited"
            """,
            [new("greeting", ParamType.String), new("cwd", ParamType.String), new("ids", ParamType.String), new("dir", ParamType.String),
                new("inherited", ParamType.String)],
            env: new Dictionary<string, string> { ["GREETING"] = "hi there; $(nope)" }, workingDir: work);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal("hi there; $(nope)", outcome.Outputs!["greeting"]!.GetValue<string>());
        Assert.Equal(work, outcome.Outputs["cwd"]!.GetValue<string>());
        Assert.Equal("r0000000test1/train/1", outcome.Outputs["ids"]!.GetValue<string>());
        Assert.Equal(Path.GetFullPath(start.Directory), outcome.Outputs["dir"]!.GetValue<string>());
        Assert.Equal("yes", outcome.Outputs["inherited"]!.GetValue<string>());
    }

    [Fact]
    public async Task StartAsync_NoWorkingDir_RunsInAttemptDirectory()
    {
        var start = Shell(temp, "pwd > \"$SLUICE_OUTPUTS/cwd\"", [new("cwd", ParamType.String)]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(Path.GetFullPath(start.Directory), outcome.Outputs!["cwd"]!.GetValue<string>());
    }

    [Fact]
    public async Task StartAsync_Step_IsIsolatedFromTheServer()
    {
        // Own session, stdin from /dev/null, no signal ignored or blocked (the runtime ignores SIGPIPE).
        var start = Shell(temp, """
            set -- $(cut -d')' -f2 /proc/$$/stat); echo "$3 $4" > "$SLUICE_OUTPUTS/pgrp_sid"
            readlink /proc/$$/fd/0 > "$SLUICE_OUTPUTS/stdin"
            grep SigIgn /proc/$$/status | tr -d ' \t' > "$SLUICE_OUTPUTS/ignored"
            grep SigBlk /proc/$$/status | tr -d ' \t' > "$SLUICE_OUTPUTS/blocked"
            """,
            [new("pgrp_sid", ParamType.String), new("stdin", ParamType.String), new("ignored", ParamType.String),
                new("blocked", ParamType.String)]);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        var leader = execution.Process!.Pid.ToString(CultureInfo.InvariantCulture);
        Assert.Equal($"{leader} {leader}", outcome.Outputs!["pgrp_sid"]!.GetValue<string>());
        Assert.Equal("/dev/null", outcome.Outputs["stdin"]!.GetValue<string>());
        Assert.Equal("SigIgn:0000000000000000", outcome.Outputs["ignored"]!.GetValue<string>());
        Assert.Equal("SigBlk:0000000000000000", outcome.Outputs["blocked"]!.GetValue<string>());
    }

    [Fact]
    public async Task StartAsync_Step_HoldsNoDescriptorOfTheServer()
    {
        var start = Start(temp, "sleep", ["600"]);
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var leader = execution.Process!.Pid;
        await WaitForPidAsync(Path.Combine(start.Directory, "pid"));
        await WaitUntilAsync(() => ProcFs.GroupMembers(leader).Any(m => ProcFs.ReadCommandLine(m.Pid) is ["sleep", ..]),
            "the supervisor has started sleep");

        foreach (var member in ProcFs.GroupMembers(leader))
        {
            var fdDir = $"/proc/{member.Pid}/fd";
            var fds = Directory.GetFileSystemEntries(fdDir).Select(p => int.Parse(Path.GetFileName(p), CultureInfo.InvariantCulture)).Order();
            Assert.Equal([0, 1, 2], fds);
            Assert.Equal("/dev/null", new FileInfo($"{fdDir}/0").LinkTarget);
            Assert.Equal(Path.Combine(start.Directory, "stdout.log"), new FileInfo($"{fdDir}/1").LinkTarget);
            Assert.Equal(Path.Combine(start.Directory, "stderr.log"), new FileInfo($"{fdDir}/2").LinkTarget);
        }
        execution.RequestStop(TimeSpan.Zero);
        await Outcome(execution);
    }

    [Fact]
    public async Task StartAsync_MissingWorkingDir_FailsWithClearReason()
    {
        var missing = temp.File("does-not-exist");
        var start = Start(temp, "true", workingDir: missing);

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Equal($"working directory {missing} does not exist", outcome.Reason);
        Assert.Null(execution.Process);
    }

    [Fact]
    public async Task StartAsync_InvalidInputs_Fails()
    {
        var start = Start(temp, "true");
        start.Inputs["args"] = "not-an-array";

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Contains("\"args\"", outcome.Reason);
    }

    [Fact]
    public async Task StartAsync_CancelledToken_Throws()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => executor.StartAsync(Start(temp, "true"), cts.Token));
    }

    [Fact]
    public async Task StartAsync_SameDirectoryAgain_IgnoresStaleExitStatus()
    {
        var first = Shell(temp, "exit 9");
        await using (var e1 = await executor.StartAsync(first, CancellationToken.None))
        {
            Assert.Equal(9, (await Outcome(e1)).ExitCode);
        }
        // The second attempt leaves no exit status (its supervisor is killed): the old "9" must not be read as its own.
        var second = Shell(temp, "sleep 600");
        await using var e2 = await executor.StartAsync(second, CancellationToken.None);
        await WaitForPidAsync(Path.Combine(second.Directory, "pid"));
        Assert.Equal(0, Native.kill(e2.Process!.Pid, Native.SIGKILL));
        var outcome = await Outcome(e2);
        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Null(outcome.ExitCode);
        Assert.DoesNotContain("code 9", outcome.Reason);
    }

    [Fact]
    public async Task Completion_StepExitsLeavingBackgroundChild_ChildIsKilled()
    {
        var start = Shell(temp, "sleep 600 & echo $! > \"$SLUICE_OUTPUTS/bg\"; exit 0");

        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        var bg = int.Parse((await File.ReadAllTextAsync(Path.Combine(start.Directory, "outputs", "bg"))).Trim(), CultureInfo.InvariantCulture);
        // Completion means nothing of the step is alive any more: no waiting here.
        Assert.False(IsAlive(bg));
    }

    [Fact]
    public async Task Completion_SupervisorKilledBySignal_FailsWithoutExitStatus()
    {
        var start = Shell(temp, "sleep 600");
        await using var execution = await executor.StartAsync(start, CancellationToken.None);
        await WaitForPidAsync(Path.Combine(start.Directory, "pid"));

        Assert.Equal(0, Native.kill(execution.Process!.Pid, Native.SIGKILL));
        var outcome = await Outcome(execution);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Contains("signal 9", outcome.Reason);
    }
}

/// <summary>The same tests with steps supervised by the shell, as on a machine where the native supervisor was not built.</summary>
public sealed class ShellSupervisorTests : ProcessExecutorTests
{
    public ShellSupervisorTests()
        : base(new ProcessExecutor(TimeProvider.System, nativeSupervisor: null))
    {
    }
}
