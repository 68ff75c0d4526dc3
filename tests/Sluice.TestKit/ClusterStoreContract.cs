using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Xunit;
using static Sluice.TestKit.StoreSamples;

namespace Sluice.TestKit;

/// <summary>What every store must do for nodes to share it: leases, fenced commits, requests between nodes, the event feed.</summary>
public abstract class ClusterStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);

    private IAsyncDisposable owner = null!;

    protected IRunStore Runs { get; private set; } = null!;

    protected IClusterStore Cluster { get; private set; } = null!;

    protected IOperationStore Operations { get; private set; } = null!;

    /// <summary>A store (run, operation and cluster store in one) over a new, empty database.</summary>
    protected abstract Task<object> OpenAsync();

    public async Task InitializeAsync()
    {
        var store = await OpenAsync();
        (Runs, Cluster, Operations, owner) = ((IRunStore)store, (IClusterStore)store, (IOperationStore)store, (IAsyncDisposable)store);
    }

    public async Task DisposeAsync() => await owner.DisposeAsync();

    private static NodeRecord Node(string id, DateTimeOffset? at = null) => new()
    {
        Id = id, Host = "host", HostId = "boot-1", DataDirectory = "/var/lib/sluice", Pid = 4242, PidStartTime = 7, Role = "both",
        StartedAt = at ?? T0, HeartbeatAt = at ?? T0, ExpiresAt = (at ?? T0) + Lease,
    };

    private async Task RegisterAsync(params string[] ids)
    {
        foreach (var id in ids)
        {
            await Cluster.RegisterNodeAsync(Node(id), None);
        }
    }

    [SkippableFact]
    public async Task RegisterNode_ThenRenew_ListShowsTheNewLease()
    {
        await RegisterAsync("na");

        Assert.True(await Cluster.RenewNodeAsync("na", At(5), At(20), None));
        Assert.False(await Cluster.RenewNodeAsync("nobody", At(5), At(20), None));
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Cluster.RegisterNodeAsync(Node("na"), None));

        var node = Assert.Single(await Cluster.ListNodesAsync(None));
        StoreAssert.Equivalent(Node("na") with { HeartbeatAt = At(5), ExpiresAt = At(20) }, node);
    }

    [SkippableFact]
    public async Task ClaimRuns_LiveOwner_OthersCannotTakeUntilItsLeaseEnds()
    {
        await RegisterAsync("na", "nb");
        await CreateRuns(Runs, Run("r1", createdAt: At(1)), Run("r2", createdAt: At(2)), Run("done", state: RunState.Succeeded));

        Assert.Equal(["r1", "r2"], (await Cluster.ClaimRunsAsync("na", At(0), 10, None)).Order());
        Assert.Empty(await Cluster.ClaimRunsAsync("nb", At(0), 10, None));
        Assert.False(await Cluster.ClaimRunAsync("r1", "nb", At(0), None));
        Assert.True(await Cluster.ClaimRunAsync("r1", "na", At(0), None));
        Assert.Equal("na", await Cluster.GetRunOwnerAsync("r1", None));

        // na's lease ended at T0 + 15 s: past that, nb may take its runs.
        Assert.Equal(["r1", "r2"], (await Cluster.ClaimRunsAsync("nb", T0 + Lease + TimeSpan.FromSeconds(1), 10, None)).Order());
        Assert.Equal(["r1", "r2"], await Cluster.ListOwnedRunsAsync("nb", None));
        Assert.Empty(await Cluster.ListOwnedRunsAsync("na", None));
        Assert.False(await Cluster.ClaimRunAsync("done", "nb", At(0), None));
    }

    [SkippableFact]
    public async Task ClaimRuns_ManyNodesAtOnce_EachRunTakenByExactlyOne()
    {
        var nodes = Enumerable.Range(0, 6).Select(i => $"n{i}").ToArray();
        await RegisterAsync(nodes);
        await CreateRuns(Runs, [.. Enumerable.Range(0, 120).Select(i => Run($"r{i:000}", createdAt: At(i)))]);

        var claimed = await Task.WhenAll(nodes.Select(n => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (await Cluster.ClaimRunsAsync(n, At(0), 7, None) is { Count: > 0 } got)
            {
                mine.AddRange(got);
            }
            return (Node: n, Runs: mine);
        })));

        var all = claimed.SelectMany(c => c.Runs).ToList();
        Assert.Equal(120, all.Count);
        Assert.Equal(120, all.Distinct().Count());
        foreach (var (node, runs) in claimed)
        {
            Assert.Equal(runs.Order(), await Cluster.ListOwnedRunsAsync(node, None));
        }
    }

    [SkippableFact]
    public async Task ClaimRun_ManyNodesAtOnceForOneRun_ExactlyOneOwnsIt()
    {
        var nodes = Enumerable.Range(0, 6).Select(i => $"n{i}").ToArray();
        await RegisterAsync(nodes);
        var ids = Enumerable.Range(0, 20).Select(i => $"r{i:000}").ToArray();
        await CreateRuns(Runs, [.. ids.Select((id, i) => Run(id, createdAt: At(i)))]);

        foreach (var id in ids)
        {
            var won = await Task.WhenAll(nodes.Select(n => Task.Run(() => Cluster.ClaimRunAsync(id, n, At(0), None))));

            Assert.Single(won, w => w);
            Assert.Equal(nodes[Array.IndexOf(won, true)], await Cluster.GetRunOwnerAsync(id, None));
        }
    }

    [SkippableFact]
    public async Task Commit_ByANodeThatIsNotTheOwner_RefusedAsLeaseLostAndNothingWritten()
    {
        await RegisterAsync("na", "nb");
        await CreateRuns(Runs, Run("r1"));
        Assert.True(await Cluster.ClaimRunAsync("r1", "na", At(0), None));
        var change = new RunChange
        {
            Run = Run("r1", state: RunState.Running, version: 2), ExpectedVersion = 1, Owner = "nb",
            Events = [Event("r1", "run-state", to: "Running")],
        };

        await Assert.ThrowsAsync<LeaseLostException>(() => Runs.CommitAsync(change, None));
        Assert.Equal(RunState.Queued, (await Runs.GetRunAsync("r1", None))!.State);

        await Runs.CommitAsync(change with { Owner = "na" }, None);
        Assert.Equal(RunState.Running, (await Runs.GetRunAsync("r1", None))!.State);
        await Assert.ThrowsAsync<ConcurrencyException>(() => Runs.CommitAsync(change with { Owner = "na" }, None));
    }

    [SkippableFact]
    public async Task Leave_ReleasesRunsAndOperationsForOthersAtOnce()
    {
        await RegisterAsync("na", "nb");
        await CreateRuns(Runs, Run("r1"));
        await Operations.CreateOperationAsync(Operation("op1"), None);
        Assert.True(await Cluster.ClaimRunAsync("r1", "na", At(0), None));
        Assert.True(await Cluster.ClaimOperationAsync("op1", "na", At(0), None));
        Assert.Empty(await Cluster.ClaimOperationsAsync("nb", At(0), 10, None));

        Assert.False(await Cluster.LeaveAsync("na", At(99), None));
        Assert.True(await Cluster.LeaveAsync("na", T0, None));

        Assert.True((await Cluster.ListNodesAsync(None)).Single(n => n.Id == "na").Left);
        Assert.False(await Cluster.RenewNodeAsync("na", At(1), At(30), None));
        Assert.Equal(["r1"], await Cluster.ClaimRunsAsync("nb", At(0), 10, None));
        Assert.Equal(["op1"], (await Cluster.ClaimOperationsAsync("nb", At(0), 10, None)).Select(o => o.Id));
    }

    [SkippableFact]
    public async Task Requests_AnsweredOnceByTheOwner_WithdrawOnlyWhileUnanswered()
    {
        await RegisterAsync("na", "nb");
        await CreateRuns(Runs, Run("r1"), Run("r2"));
        Assert.True(await Cluster.ClaimRunAsync("r1", "na", At(0), None));
        var asked = new RunRequest { RunId = "r1", Kind = "stop", Payload = new JsonObject { ["reason"] = "x" }, From = "nb", CreatedAt = At(1) };

        var first = (await Cluster.AddRequestAsync(asked, None))!;
        var second = (await Cluster.AddRequestAsync(asked with { RunId = "r2" }, None))!;
        Assert.Null(await Cluster.AddRequestAsync(asked with { RunId = "nope" }, None));

        var pending = Assert.Single(await Cluster.PendingRequestsAsync("na", None));
        StoreAssert.Equivalent(asked with { Id = first.Id }, pending);
        Assert.Empty(await Cluster.PendingRequestsAsync("nb", None));
        Assert.True(await Cluster.AnswerRequestAsync(first.Id, new JsonObject { ["ok"] = true }, At(2), None));
        Assert.False(await Cluster.AnswerRequestAsync(first.Id, new JsonObject { ["ok"] = false }, At(3), None));
        Assert.False(await Cluster.WithdrawRequestAsync(first.Id, None));
        Assert.Empty(await Cluster.PendingRequestsAsync("na", None));
        var answered = (await Cluster.GetRequestAsync(first.Id, None))!;
        Assert.Equal("""{"ok":true}""", answered.Answer!.ToJsonString());
        Assert.Equal(At(2), answered.AnsweredAt);

        Assert.True(await Cluster.WithdrawRequestAsync(second.Id, None));
        Assert.Null(await Cluster.GetRequestAsync(second.Id, None));
        Assert.Equal(1, await Cluster.PurgeRequestsAsync(At(10), None));
    }

    [SkippableFact]
    public async Task ReadFeed_FromTheEnd_ReturnsLaterEventsOnceInCommitOrder()
    {
        await CreateRuns(Runs, Run("old"));
        var start = await Cluster.ReadFeedAsync(null, 100, None);
        Assert.Empty(start.Events);

        await Runs.CreateRunAsync(Run("r1"), [], [Event("r1", "a"), Event("r1", "b")], null, None);
        await Runs.CreateRunAsync(Run("r2"), [], [Event("r2", "c")], null, None);

        // A shared store may hold events back while older transactions (other clients', other tests') are still open:
        // read pages of 2 until all three came, then nothing more.
        var got = new List<RunEvent>();
        var cursor = start.Cursor;
        var until = TimeProvider.System.GetUtcNow() + Deadline.Default;
        while (got.Count < 3)
        {
            var page = await Cluster.ReadFeedAsync(cursor, 2, None);
            Assert.True(page.Events.Count <= 2, $"a page of 2 held {page.Events.Count}");
            got.AddRange(page.Events);
            cursor = page.Cursor;
            if (page.Events.Count == 0)
            {
                Assert.True(TimeProvider.System.GetUtcNow() < until, $"the feed gave only {got.Count} of 3 events");
                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
            }
        }
        Assert.Equal(["a", "b", "c"], got.Select(e => e.Kind));
        Assert.Empty((await Cluster.ReadFeedAsync(cursor, 100, None)).Events);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Cluster.ReadFeedAsync("not a cursor", 10, None));
    }

    private static async Task CreateRuns(IRunStore runs, params RunRecord[] records)
    {
        foreach (var r in records)
        {
            await runs.CreateRunAsync(r, [], [], null, None);
        }
    }
}
