using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.TestKit;

namespace Sluice.Executors.Function.Tests;

public sealed class CommandFunctionTests : IAsyncLifetime
{
    private FunctionHarness h = null!;

    public async Task InitializeAsync() => h = await FunctionHarness.CreateAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private static async Task<int> ReadPidAsync(string path)
    {
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(path) && File.ReadAllText(path).Trim().Length > 0, Deadline.Default),
            $"{path} was not written");
        return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Call_ReturnsObject_ArgumentsOnStdinAndTypedOutputs()
    {
        await h.RegisterShellAsync("score", """
            cat > "$SLUICE_STEP_DIR/seen.json"
            echo '{"count": "7", "ratio": 0.25, "ok": "true", "label": "cat", "extra": [1, 2]}'
            """);
        var args = new JsonObject { ["n"] = 3, ["name"] = "model-a", ["flag"] = true };
        var start = h.Step("score", args, [new("count", ParamType.Integer), new("ratio", ParamType.Float), new("ok", ParamType.Boolean),
            new("label", ParamType.String)]);
        await using var call = await h.StartAsync(start);
        Assert.NotNull(call.Process);

        var o = await FunctionHarness.Outcome(call);

        Assert.Equal(OutcomeKind.Succeeded, o.Kind);
        Assert.Equal(7L, o.Outputs!["count"]!.GetValue<long>());
        Assert.Equal(0.25, o.Outputs["ratio"]!.GetValue<double>());
        Assert.True(o.Outputs["ok"]!.GetValue<bool>());
        Assert.Equal("cat", o.Outputs["label"]!.GetValue<string>());
        Assert.False(o.Outputs.ContainsKey("extra"));
        Assert.Equal(0, o.ExitCode);
        Assert.True(JsonNode.DeepEquals(args, JsonNode.Parse(File.ReadAllText(Path.Combine(start.Directory, "seen.json")))));
    }

    [Fact]
    public async Task Call_RegisteredEnvAndSluiceVariables_Visible()
    {
        await h.RegisterShellAsync("env", """printf '{"g": "%s", "f": "%s", "s": "%s"}' "$GREETING" "$SLUICE_FUNCTION" "$SLUICE_STEP" """,
            env: new Dictionary<string, string> { ["GREETING"] = "hello there" });
        await using var call = await h.StartAsync(h.Step("env", outputs: [new("g", ParamType.String), new("f", ParamType.String),
            new("s", ParamType.String)]));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Succeeded, o.Kind);
        Assert.Equal("hello there", o.Outputs!["g"]!.GetValue<string>());
        Assert.Equal("env", o.Outputs["f"]!.GetValue<string>());
        Assert.Equal("call", o.Outputs["s"]!.GetValue<string>());
    }

    [Fact]
    public async Task Call_NonzeroExit_FailedWithStderrsLastLineAndCode()
    {
        await h.RegisterShellAsync("broken", "echo '{}'; echo 'first' >&2; echo 'boom: bad input' >&2; echo >&2; exit 3");
        await using var call = await h.StartAsync(h.Step("broken"));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.Equal("function broken exited with code 3: boom: bad input", o.Reason);
        Assert.Equal(3, o.ExitCode);
    }

    [Theory]
    [InlineData("echo '[1, 2]'", "function bad returned an array, not a JSON object")]
    [InlineData("echo '\"text\"'", "function bad returned a string, not a JSON object")]
    [InlineData("echo 'hello'", "function bad did not return one JSON object")]
    [InlineData("echo '{}{}'", "function bad did not return one JSON object")]
    [InlineData("true", "function bad returned nothing; it must return one JSON object")]
    [InlineData("echo '{\"a\": 1}'", "function bad returned no output 'b'")]
    [InlineData("echo '{\"b\": null}'", "function bad returned no output 'b'")]
    [InlineData("echo '{\"b\": \"x\"}'", "function bad: output b: expected an Integer")]
    public async Task Call_ResultNotUsable_FailedWithAClearReason(string script, string reason)
    {
        await h.RegisterShellAsync("bad", script);
        await using var call = await h.StartAsync(h.Step("bad", outputs: [new("b", ParamType.Integer)]));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.StartsWith(reason, o.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_StdoutOverOneMiB_Failed()
    {
        await h.RegisterShellAsync("big", "head -c 1100000 /dev/zero | tr '\\000' ' '; echo '{}'");
        await using var call = await h.StartAsync(h.Step("big"));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal("function big wrote more than 1 MiB to stdout", o.Reason);
    }

    [Fact]
    public async Task Call_NotRegistered_Failed()
    {
        await using var call = await h.StartAsync(h.Step("nope"));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.Equal("function nope is not registered", o.Reason);
    }

    [Fact]
    public async Task Call_ProgramMissing_FailedSayingSo()
    {
        await h.Service.PutAsync(Scope.Default, "ghost", new() { Command = ["/nonexistent/program", "x"] }, CancellationToken.None);
        await using var call = await h.StartAsync(h.Step("ghost"));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.Contains("could not start /nonexistent/program", o.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_PastItsTimeLimit_FailedAndNothingOfItLeft()
    {
        await h.RegisterShellAsync("slow", """sleep 600 & echo $! > "$SLUICE_STEP_DIR/child.pid"; sleep 600""", TimeSpan.FromSeconds(1));
        var start = h.Step("slow");
        var clock = Stopwatch.StartNew();
        await using var call = await h.StartAsync(start);
        var child = await ReadPidAsync(Path.Combine(start.Directory, "child.pid"));
        var pgid = call.Process!.Pid;

        var o = await FunctionHarness.Outcome(call);

        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.Equal("function slow timed out after 1s", o.Reason);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"ended after {clock.Elapsed}, before its time limit");
        Assert.False(Posix.IsAlive(pgid), "the function's process outlived its time limit");
        Assert.False(Posix.IsAlive(child), "the function's child outlived its time limit");
        Assert.Empty(Posix.GroupMembers(pgid));
    }

    [Fact]
    public async Task Call_StepTimeLimit_OverridesTheFunctions()
    {
        await h.RegisterShellAsync("long", "sleep 600", TimeSpan.FromMinutes(10));
        await using var call = await h.StartAsync(h.Step("long", stepLimit: TimeSpan.FromSeconds(1)));
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal("function long timed out after 1s", o.Reason);
    }

    [Fact]
    public async Task RequestStop_WhileRunning_IgnoredAndTheRealResultComesBack()
    {
        await h.RegisterShellAsync("gated", """
            echo started > "$SLUICE_STEP_DIR/started"
            while [ ! -e "$SLUICE_STEP_DIR/gate" ]; do sleep 0.02; done
            echo '{"v": 5}'
            """);
        var start = h.Step("gated", outputs: [new("v", ParamType.Integer)]);
        await using var call = await h.StartAsync(start);
        await FunctionHarness.WaitForFileAsync(Path.Combine(start.Directory, "started"));

        call.RequestStop(TimeSpan.Zero);
        call.RequestStop(TimeSpan.FromSeconds(5));
        Assert.True(Posix.IsAlive(call.Process!.Pid), "a stop interrupted the function");
        await File.WriteAllTextAsync(Path.Combine(start.Directory, "gate"), "go");

        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Succeeded, o.Kind);
        Assert.Equal(5L, o.Outputs!["v"]!.GetValue<long>());
    }

    [Fact]
    public async Task Call_BackgroundChildAfterReturning_Killed()
    {
        await h.RegisterShellAsync("leaky", """sleep 600 & echo $! > "$SLUICE_STEP_DIR/child.pid"; echo '{}'""");
        var start = h.Step("leaky");
        await using var call = await h.StartAsync(start);
        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Succeeded, o.Kind);
        Assert.False(Posix.IsAlive(await ReadPidAsync(Path.Combine(start.Directory, "child.pid"))));
        Assert.Empty(Posix.GroupMembers(call.Process!.Pid));
    }

    [Fact]
    public async Task Dispose_WhileRunning_KillsTheGroup()
    {
        await h.RegisterShellAsync("abandoned", """echo started > "$SLUICE_STEP_DIR/started"; sleep 600""");
        var start = h.Step("abandoned");
        var call = await h.StartAsync(start);
        await FunctionHarness.WaitForFileAsync(Path.Combine(start.Directory, "started"));
        var pgid = call.Process!.Pid;

        await call.DisposeAsync();

        var o = await FunctionHarness.Outcome(call);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.Empty(Posix.GroupMembers(pgid));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Adopt_AfterRestart_LostAndLeftoversKilled(bool processRecorded)
    {
        await h.RegisterShellAsync("orphan", """echo started > "$SLUICE_STEP_DIR/started"; sleep 600""");
        var start = h.Step("orphan");
        await using var call = await h.StartAsync(start);
        await FunctionHarness.WaitForFileAsync(Path.Combine(start.Directory, "started"));
        var pgid = call.Process!.Pid;
        var record = new StepRecord
        {
            RunId = start.RunId, Name = start.StepName, Kind = "function", State = StepState.Running, Version = 3, Attempt = start.Attempt,
            Inputs = start.Inputs, Process = processRecorded ? call.Process : null,
        };

        await using var adopted = await h.Executor.AdoptAsync(start, record, CancellationToken.None);

        var o = await FunctionHarness.Outcome(adopted);
        Assert.Equal(OutcomeKind.Failed, o.Kind);
        Assert.Equal(FunctionExecutor.LostReason, o.Reason);
        Assert.True(await Posix.EventuallyAsync(() => Posix.GroupMembers(pgid).Count == 0, Deadline.Default), "the orphaned call was not killed");
    }

    [Fact]
    public async Task Adopt_NothingLeft_Lost()
    {
        var start = h.Step("gone");
        var record = new StepRecord
        {
            RunId = start.RunId, Name = start.StepName, Kind = "function", State = StepState.Stopping, Version = 3, Attempt = 1,
            Process = new ProcessHandle(int.MaxValue - 7, 1),
        };
        await using var adopted = await h.Executor.AdoptAsync(start, record, CancellationToken.None);
        Assert.Equal(FunctionExecutor.LostReason, (await FunctionHarness.Outcome(adopted)).Reason);
    }

    [Fact]
    public async Task Start_InvalidInputs_Failed()
    {
        var start = h.Step("x") with { Inputs = new JsonObject { ["function"] = "x", ["arguments"] = "not an object" } };
        await using var call = await h.StartAsync(start);
        Assert.StartsWith("invalid function step inputs", (await FunctionHarness.Outcome(call)).Reason, StringComparison.Ordinal);
    }
}
