using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Core.Execution;
using Sluice.Executors.Process;
using Sluice.Storage.Sqlite;
using Sluice.TestKit;

namespace Sluice.Engine.Tests;

/// <summary>The real engine over a SQLite store in a temp directory with the real process executor; plans are built by the
/// tests themselves (a compiler for the format "test-plan" hands out registered plans), so that engine capabilities are
/// tested without any definition format in between.</summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<string, Plan> Plans = new(StringComparer.Ordinal);

    private readonly TempDirectory temp;
    private readonly SqliteStore store;

    private readonly TimeSpan lease;
    private readonly int slots;
    private readonly TimeSpan? runningRecordDelay;

    private EngineHarness(TempDirectory temp, SqliteStore store, TimeSpan lease, int slots, TimeSpan? runningRecordDelay)
    {
        this.slots = slots;
        this.runningRecordDelay = runningRecordDelay;
        this.temp = temp;
        this.store = store;
        this.lease = lease;
        Engine = NewEngine();
        Runs = new RunService(Engine);
        Pipelines = new PipelineService(Engine);
    }

    public RunEngine Engine { get; private set; }

    public RunService Runs { get; private set; }

    public PipelineService Pipelines { get; private set; }

    /// <summary>A scratch directory for files the steps write (shared between steps).</summary>
    public string Scratch => temp.File("scratch");

    /// <param name="lease">The node's lease. A restart here is a new engine in the same process, which the old node's
    /// lease holds off until it lapses (a restarted server is a new process and takes over at once): tests that restart
    /// use a short one.</param>
    /// <param name="slots">The server-wide limit on running process steps.</param>
    /// <param name="runningRecordDelay">How much later a step may be recorded Running (the engine's default when null).</param>
    public static async Task<EngineHarness> StartAsync(TimeSpan? lease = null, int slots = 16, TimeSpan? runningRecordDelay = null)
    {
        var temp = new TempDirectory("sluice-engine");
        Directory.CreateDirectory(temp.File("scratch"));
        var store = await SqliteStore.OpenAsync(temp.File("sluice.db"), TimeProvider.System, CancellationToken.None);
        var h = new EngineHarness(temp, store, lease ?? TimeSpan.FromSeconds(15), slots, runningRecordDelay);
        await h.Engine.StartAsync(CancellationToken.None);
        return h;
    }

    /// <summary>Lets a test hold process steps while they are being started.</summary>
    public SpawnGate Gate { get; } = new();

    private RunEngine NewEngine()
    {
        var options = new EngineOptions
        {
            DataDirectory = temp.File("data"), Slots = slots, DefaultStopGracePeriod = TimeSpan.FromSeconds(2), LeaseDuration = lease,
        };
        return new(store, store, new DefinitionCompilers([new TestPlans()]), [new GatedExecutor(new ProcessExecutor(TimeProvider.System), Gate)],
            runningRecordDelay is { } delay ? options with { RunningRecordDelay = delay } : options, TimeProvider.System, new EventHub());
    }

    /// <summary>Shuts the engine down (steps keep running) and starts a new one over the same store, as a server restart does.</summary>
    public async Task RestartAsync()
    {
        await ShutDownAsync();
        await StartAgainAsync();
    }

    /// <summary>The first half of <see cref="RestartAsync"/>: the engine shuts down, its steps keep running.</summary>
    public Task ShutDownAsync() => Engine.DisposeAsync().AsTask();

    /// <summary>The second half of <see cref="RestartAsync"/>: a new engine over the same store.</summary>
    public async Task StartAgainAsync()
    {
        Engine = NewEngine();
        Runs = new RunService(Engine);
        Pipelines = new PipelineService(Engine);
        await Engine.StartAsync(CancellationToken.None);
    }

    /// <summary>Stores the plan as a pipeline and starts a run of it.</summary>
    public async Task<string> StartAsync(Plan plan, JsonObject? parameters = null)
    {
        var key = Guid.NewGuid().ToString("N");
        Plans[key] = plan;
        await Pipelines.CreateAsync(Scope.Default, key, "test-plan", "p" + key[..12], CancellationToken.None);
        var d = await Runs.StartAsync(new StartRunRequest { Pipeline = "p" + key[..12], Parameters = parameters }, CancellationToken.None);
        return d.Run.Id;
    }

    public async Task<RunDetail> WaitAsync(string runId, Func<RunDetail, bool> done)
    {
        var until = TimeProvider.System.GetUtcNow() + Deadline.Default;
        while (true)
        {
            var d = await Runs.GetAsync(runId, null, CancellationToken.None);
            if (done(d))
            {
                return d;
            }
            Assert.True(TimeProvider.System.GetUtcNow() < until, $"run {runId} did not get there: {Describe(d)}");
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
    }

    public Task<RunDetail> EndAsync(string runId) => WaitAsync(runId, d => d.Run.State.IsTerminal());

    public static string Describe(RunDetail? d) => d is null ? "(none)"
        : $"{d.Run.State} ({d.Run.Error}): " + string.Join(", ", d.Steps.Select(s => $"{s.Name}={s.State}{(s.Reason is null ? "" : $"[{s.Reason}]")}"));

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        await store.DisposeAsync();
        Posix.KillStepsUnder(temp.File("data"));
        temp.Dispose();
    }

    private sealed class TestPlans : IDefinitionCompiler
    {
        public IReadOnlyList<string> Formats { get; } = ["test-plan"];

        public CompileResult Compile(string source, string format) =>
            Plans.TryGetValue(source, out var p) ? new CompileResult(p, []) : new CompileResult(null, [new Problem("", "no such test plan")]);
    }
}

/// <summary>Short ways to write plan steps in tests.</summary>
internal static class Steps
{
    /// <summary><c>sh -c script</c>, with <c>{{ }}</c> references in the script.</summary>
    public static ProcessStepPlan Sh(string name, string script, string[]? dependsOn = null, string? group = null, OutputSpec[]? outputs = null,
        StartWhen startWhen = StartWhen.AllSucceeded) =>
        new()
        {
            Name = name, Command = Template.Literal("sh"), Args = [Template.Literal("-c"), Parse(script)], DependsOn = dependsOn ?? [], Group = group,
            Outputs = outputs ?? [], StartWhen = startWhen,
        };

    /// <summary><c>sh -c script arg</c> where the argument is built of parts (strings and references), as $0 in the script.</summary>
    public static ProcessStepPlan ShWith(string name, string script, object[] arg, string[]? dependsOn = null, string? group = null,
        OutputSpec[]? outputs = null, StartWhen startWhen = StartWhen.AllSucceeded) =>
        Sh(name, script, dependsOn, group, outputs, startWhen) with { Args = [Template.Literal("-c"), Parse(script), Template.Of(arg)] };

    public static Template Parse(string text)
    {
        var problems = new List<string>();
        var t = Template.Parse(text, problems);
        Assert.Empty(problems);
        return t;
    }

    public static Expr Expr(string text)
    {
        var problems = new List<string>();
        var e = Core.Definitions.Expr.Parse(text, problems);
        Assert.Empty(problems);
        return e;
    }

    public static StepRecord Of(this RunDetail d, string name) =>
        d.Steps.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no step {name}: {EngineHarness.Describe(d)}");
}

/// <summary>Where a held <see cref="GatedExecutor"/> waits: before the process is spawned, or after (spawned, not yet
/// handed to the engine).</summary>
public enum GatePoint
{
    BeforeSpawn,
    AfterSpawn,
}

/// <summary>Holds the starts of process steps until released, to look at the engine while a step is being started.</summary>
internal sealed class SpawnGate
{
    private readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? held;

    public GatePoint Point { get; private set; }

    /// <summary>The step whose start is held (null: every step).</summary>
    public string? Step { get; private set; }

    /// <summary>Completes when a start waits at the gate.</summary>
    public Task Entered => entered.Task.WaitAsync(Deadline.Default);

    public void Hold(GatePoint point, string? step = null)
    {
        Point = point;
        Step = step;
        Volatile.Write(ref held, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    public void Release() => Interlocked.Exchange(ref held, null)?.TrySetResult();

    public async Task PassAsync(GatePoint point, string step)
    {
        if (Volatile.Read(ref held) is { } h && Point == point && (Step is null || Step == step))
        {
            entered.TrySetResult();
            await h.Task;
        }
    }
}

/// <summary>The process executor with a <see cref="SpawnGate"/> in front of (or behind) its start.</summary>
internal sealed class GatedExecutor(ProcessExecutor inner, SpawnGate gate) : IStepExecutor, IOrphanReaper
{
    public string Kind => inner.Kind;

    public async Task<IStepExecution> StartAsync(StepStart start, CancellationToken ct)
    {
        await gate.PassAsync(GatePoint.BeforeSpawn, start.StepName);
        var execution = await inner.StartAsync(start, ct);
        await gate.PassAsync(GatePoint.AfterSpawn, start.StepName);
        return execution;
    }

    public Task<IStepExecution> AdoptAsync(StepStart start, StepRecord record, CancellationToken ct) => inner.AdoptAsync(start, record, ct);

    public Task<int> ReapOrphansAsync(string runsDirectory, Func<string, string, int, Task<bool>> attemptIsActive, CancellationToken ct) =>
        inner.ReapOrphansAsync(runsDirectory, attemptIsActive, ct);
}
