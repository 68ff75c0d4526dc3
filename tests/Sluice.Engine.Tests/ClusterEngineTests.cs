using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Engine;
using Sluice.Executors.Process;
using Sluice.Storage.Sqlite;
using Sluice.TestKit;

namespace Sluice.Engine.Tests;

/// <summary>Two engines (nodes) over one store: the run's writer is the node that claimed it; the other forwards to it.</summary>
public sealed class ClusterEngineTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory temp = new("sluice-cluster-engine");
    private SqliteStore store = null!;
    private readonly List<RunEngine> engines = [];

    public async Task InitializeAsync() => store = await SqliteStore.OpenAsync(temp.File("sluice.db"), TimeProvider.System, CancellationToken.None);

    public async Task DisposeAsync()
    {
        foreach (var e in engines)
        {
            await e.DisposeAsync();
        }
        await store.DisposeAsync();
    }

    public void Dispose() => temp.Dispose();

    private async Task<RunEngine> NodeAsync(string name, NodeRole role = NodeRole.Both)
    {
        var engine = new RunEngine(store, store, new DefinitionCompilers([new NativeDefinitionCompiler()]), [new ProcessExecutor(TimeProvider.System)],
            new EngineOptions { DataDirectory = temp.File(name), Role = role, PollInterval = TimeSpan.FromMilliseconds(50) },
            TimeProvider.System, new EventHub());
        engines.Add(engine);
        await engine.StartAsync(CancellationToken.None);
        return engine;
    }

    private static async Task<RunDetail> WaitAsync(RunService runs, string id, Func<RunDetail, bool> done)
    {
        var until = TimeProvider.System.GetUtcNow() + Deadline.Default;
        while (true)
        {
            var d = await runs.GetAsync(id, null, CancellationToken.None);
            if (done(d))
            {
                return d;
            }
            Assert.True(TimeProvider.System.GetUtcNow() < until, $"run {id} is {d.Run.State}");
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
    }

    [Theory]
    [InlineData(NodeRole.Both)]
    [InlineData(NodeRole.Api)]
    public async Task Stop_OnTheNodeThatDoesNotOwnTheRun_ForwardedToTheOwnerWhichStopsTheStep(NodeRole otherRole)
    {
        var owner = await NodeAsync("a");
        var other = await NodeAsync("b", otherRole);
        var ownerRuns = new RunService(owner);
        var otherRuns = new RunService(other);
        await new PipelineService(owner).CreateAsync(Scope.Default,
            "name: sleeper\nsteps:\n  - name: work\n    command: sleep\n    args: [\"600\"]\n", "native-yaml", null, CancellationToken.None);
        var id = (await ownerRuns.StartAsync(new StartRunRequest { Pipeline = "sleeper" }, CancellationToken.None)).Run.Id;
        var running = await WaitAsync(ownerRuns, id, d => d.Steps.Single().State == StepState.Running);
        Assert.Equal(owner.NodeId, await store.GetRunOwnerAsync(id, CancellationToken.None));

        var answer = await otherRuns.StopAsync(new StopRunRequest { RunId = id, Reason = "elsewhere", Grace = TimeSpan.Zero }, CancellationToken.None);

        Assert.Equal(RunState.Stopping, answer.AnsweredState);
        var done = await WaitAsync(otherRuns, id, d => d.Run.State.IsTerminal());
        Assert.Equal(RunState.Stopped, done.Run.State);
        Assert.Equal("elsewhere", done.Run.Stop!.Reason);
        Assert.Equal(owner.NodeId, await store.GetRunOwnerAsync(id, CancellationToken.None));
        Assert.Empty(Posix.GroupMembers(running.Steps.Single().Process!.Pid));
        Assert.Equal(0, other.ActiveRuns);
        await Assert.ThrowsAsync<SluiceException>(() => otherRuns.StopAsync(new StopRunRequest { RunId = id }, CancellationToken.None));
    }

    [Theory]
    [InlineData(NodeRole.Both)]
    [InlineData(NodeRole.Api)]
    public async Task UpdateAndRetry_OnTheNodeThatDoesNotOwnTheRun_CarriedOutByTheOwnersWriter(NodeRole otherRole)
    {
        var owner = await NodeAsync("a");
        var other = await NodeAsync("b", otherRole);
        var ownerRuns = new RunService(owner);
        var otherRuns = new RunService(other);
        // Fails until the run directory holds "pass"; waits for "go" first so that the update lands while it runs.
        const string Script = "[ -f $SLUICE_STEP_DIR/../../pass ] && exit 0; while [ ! -f $SLUICE_STEP_DIR/go ]; do sleep 0.02; done; exit 1";
        await new PipelineService(owner).CreateAsync(Scope.Default,
            $"name: flaky\nsteps:\n  - name: work\n    command: sh\n    args: [\"-c\", \"{Script}\"]\n", "native-yaml", null, CancellationToken.None);
        var id = (await ownerRuns.StartAsync(new StartRunRequest { Pipeline = "flaky" }, CancellationToken.None)).Run.Id;
        await WaitAsync(ownerRuns, id, d => d.Steps.Single().State == StepState.Running);

        var updated = await otherRuns.UpdateAsync(new UpdateRunRequest { RunId = id, Description = "from b", MaxParallelSteps = 3 }, CancellationToken.None);

        Assert.Equal("from b", updated.Description);
        Assert.Equal(3, updated.MaxParallelSteps);
        Assert.Equal(RunState.Running, updated.State);
        Assert.Equal(owner.NodeId, await store.GetRunOwnerAsync(id, CancellationToken.None));
        await File.WriteAllTextAsync(Path.Combine(owner.Options.StepDirectory(id, "work", 1), "go"), "");
        Assert.Equal(RunState.Failed, (await WaitAsync(ownerRuns, id, d => d.Run.State.IsTerminal())).Run.State);

        await File.WriteAllTextAsync(Path.Combine(owner.Options.RunDirectory(id), "pass"), "");
        var retried = await otherRuns.RetryAsync(new RetryRunRequest { RunId = id }, CancellationToken.None);

        Assert.Equal(RunState.Running, retried.State);
        var done = await WaitAsync(otherRuns, id, d => d.Run.State.IsTerminal());
        Assert.Equal(RunState.Succeeded, done.Run.State);
        Assert.Equal("from b", done.Run.Description);
        Assert.Equal(owner.NodeId, await store.GetRunOwnerAsync(id, CancellationToken.None));
        Assert.Equal(0, other.ActiveRuns);
        // A terminal run has no writer: the update is a commit of the node that is asked.
        Assert.Equal("after", (await otherRuns.UpdateAsync(new UpdateRunRequest { RunId = id, Description = "after" }, CancellationToken.None)).Description);
    }
}
