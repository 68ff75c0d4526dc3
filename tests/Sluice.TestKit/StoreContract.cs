using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Xunit;
using static Sluice.TestKit.StoreSamples;

namespace Sluice.TestKit;

/// <summary>What every store must do; each backend's tests derive from this and say how to open its stores.</summary>
public abstract class StoreContract
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Strings that must be stored verbatim and never change a query's meaning.</summary>
    public static TheoryData<string> HostileStrings => new()
    {
        "'; DROP TABLE runs; --",
        "Robert'); DELETE FROM runs WHERE ('1' = '1",
        "\"double\" 'single' `back` [bracket] $dollar @at :colon ?question",
        "% _ * \\ /* comment */ -- dash",
        "ünïcödé 漢字 🚀 \u202eevil\u202c \t\r\n",
        "{\"looks\": \"like json\"}",
        Long(10 * 1024),
    };

    /// <summary>Opens the three stores over an empty database; the set is disposed by the test.</summary>
    protected abstract Task<StoreSet> CreateStoresAsync();

    // ---- runs: create and read ----

    [SkippableFact]
    public async Task CreateRunAsync_FullRecord_RoundTripsEveryField()
    {
        await using var stores = await CreateStoresAsync();
        var run = Run("r1", new Scope("acme", "eu-west-1"), labels: new Dictionary<string, string> { ["team"] = "ml", ["env"] = "prod" }) with
        {
            State = RunState.Stopping,
            StartedAt = At(1),
            EndedAt = At(9),
            UpdatedAt = At(9),
            Parameters = new JsonObject { ["lr"] = 0.01, ["layers"] = new JsonArray(1, 2, 3), ["name"] = "x", ["flag"] = true },
            DisplayName = "nightly",
            Error = "boom",
            Stop = new StopInfo { At = At(5), Reason = "user", Caller = "alice", Grace = TimeSpan.FromSeconds(30) },
            Face = "sagemaker",
            FaceData = new JsonObject { ["arn"] = "arn:aws:sagemaker:x", ["nested"] = new JsonObject { ["n"] = 1 } },
        };
        var step = Step("r1", "prepare", StepState.Failed) with
        {
            Attempt = 2,
            StartedAt = At(2),
            EndedAt = At(3),
            NotBefore = At(4),
            Reason = "exit 3",
            ExitCode = 3,
            Inputs = new JsonObject { ["in"] = "a" },
            Outputs = new JsonObject { ["out"] = new JsonArray("b") },
            Process = new ProcessHandle(4242, 987654321),
            ExecutorData = new JsonObject { ["token"] = "t" },
        };

        await stores.Runs.CreateRunAsync(run, [step], [], null, None);

        StoreAssert.Equivalent(run, await stores.Runs.GetRunAsync("r1", None));
        StoreAssert.Equivalent([step], await stores.Runs.GetStepsAsync("r1", None));
    }

    [SkippableFact]
    public async Task CreateRunAsync_MinimalRecord_RoundTripsNulls()
    {
        await using var stores = await CreateStoresAsync();
        var run = Run("r1");
        var step = Step("r1", "only");

        await stores.Runs.CreateRunAsync(run, [step], [], null, None);

        var stored = await stores.Runs.GetRunAsync("r1", None);
        StoreAssert.Equivalent(run, stored);
        Assert.Null(stored!.Stop);
        Assert.Null(stored.FaceData);
        Assert.Empty(stored.Labels);
        var storedStep = Assert.Single(await stores.Runs.GetStepsAsync("r1", None));
        StoreAssert.Equivalent(step, storedStep);
        Assert.Null(storedStep.Process);
    }

    [SkippableFact]
    public async Task CreateRunAsync_TimesWithOffset_RoundTripAsSameInstantInUtc()
    {
        await using var stores = await CreateStoresAsync();
        var local = new DateTimeOffset(2025, 6, 7, 8, 9, 10, 123, TimeSpan.FromHours(5.5));
        var run = Run("r1", createdAt: local) with { StartedAt = local.AddMilliseconds(1) };

        await stores.Runs.CreateRunAsync(run, [], [Event("r1", at: local)], null, None);

        var stored = (await stores.Runs.GetRunAsync("r1", None))!;
        Assert.Equal(local, stored.CreatedAt);
        Assert.Equal(TimeSpan.Zero, stored.CreatedAt.Offset);
        Assert.Equal(local.AddMilliseconds(1), stored.StartedAt);
        Assert.Equal(local, Assert.Single(await stores.Runs.GetEventsAsync("r1", 0, 10, None)).At);
    }

    [SkippableFact]
    public async Task CreateRunAsync_Events_ReturnedWithIncreasingSeqInOrder()
    {
        await using var stores = await CreateStoresAsync();
        RunEvent[] events = [Event("r1", "run-created"), Event("r1", "step-state", "a", "Pending"), Event("r1", "log", message: "hi")];

        var stored = await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a")], events, null, None);

        Assert.Equal(events.Select(e => e.Kind), stored.Select(e => e.Kind));
        Assert.All(stored, e => Assert.True(e.Seq > 0));
        Assert.Equal(stored.Select(e => e.Seq).Order(), stored.Select(e => e.Seq));
        Assert.Equal(stored.Count, stored.Select(e => e.Seq).Distinct().Count());
        StoreAssert.Equivalent(stored, await stores.Runs.GetEventsAsync("r1", 0, 100, None));
    }

    [SkippableFact]
    public async Task CreateRunAsync_DuplicateId_ThrowsAlreadyExistsAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1", pipeline: "first"), [Step("r1", "a")], [Event("r1")], null, None);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => stores.Runs.CreateRunAsync(
            Run("r1", pipeline: "second"), [Step("r1", "b")], [Event("r1", "other")], Idempotency("start", "tok"), None));

        Assert.Equal("first", (await stores.Runs.GetRunAsync("r1", None))!.PipelineName);
        Assert.Equal(["a"], (await stores.Runs.GetStepsAsync("r1", None)).Select(s => s.Name));
        Assert.Equal(["run-created"], (await stores.Runs.GetEventsAsync(null, 0, 100, None)).Select(e => e.Kind));
        Assert.Null(await stores.Runs.GetIdempotencyAsync("start", "tok", None));
    }

    [SkippableFact]
    public async Task CreateRunAsync_TakenIdempotencyToken_ThrowsAlreadyExistsAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        var first = Idempotency("start", "tok", "first");
        await stores.Runs.CreateRunAsync(Run("r1"), [], [], first, None);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => stores.Runs.CreateRunAsync(
            Run("r2"), [Step("r2", "a")], [Event("r2")], Idempotency("start", "tok", "second"), None));

        Assert.Null(await stores.Runs.GetRunAsync("r2", None));
        Assert.Empty(await stores.Runs.GetStepsAsync("r2", None));
        Assert.Empty(await stores.Runs.GetEventsAsync("r2", 0, 100, None));
        StoreAssert.Equivalent(first, await stores.Runs.GetIdempotencyAsync("start", "tok", None));
    }

    [SkippableFact]
    public async Task CreateRunAsync_WithIdempotency_StoresRecord()
    {
        await using var stores = await CreateStoresAsync();
        var record = Idempotency("start:acme", "tok");

        await stores.Runs.CreateRunAsync(Run("r1"), [], [], record, None);

        StoreAssert.Equivalent(record, await stores.Runs.GetIdempotencyAsync("start:acme", "tok", None));
    }

    [SkippableFact]
    public async Task CreateRunAsync_StepOfAnotherRun_ThrowsArgument()
    {
        await using var stores = await CreateStoresAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => stores.Runs.CreateRunAsync(Run("r1"), [Step("r2", "a")], [], null, None));

        Assert.Null(await stores.Runs.GetRunAsync("r1", None));
    }

    [SkippableFact]
    public async Task GetRunAsync_UnknownId_ReturnsNull()
    {
        await using var stores = await CreateStoresAsync();

        Assert.Null(await stores.Runs.GetRunAsync("nope", None));
    }

    [SkippableFact]
    public async Task GetStepsAsync_ManySteps_ReturnsCreationOrder()
    {
        await using var stores = await CreateStoresAsync();
        string[] names = ["zeta", "alpha", "mid", "beta"];

        await stores.Runs.CreateRunAsync(Run("r1"), names.Select(n => Step("r1", n)).ToList(), [], null, None);

        Assert.Equal(names, (await stores.Runs.GetStepsAsync("r1", None)).Select(s => s.Name));
    }

    [SkippableFact]
    public async Task GetStepsAsync_UnknownRun_ReturnsEmpty()
    {
        await using var stores = await CreateStoresAsync();

        Assert.Empty(await stores.Runs.GetStepsAsync("nope", None));
    }

    // ---- runs: compare-and-set ----

    [SkippableFact]
    public async Task CommitAsync_MatchingVersions_UpdatesRunAndStepsAndAppendsEvents()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a"), Step("r1", "b")], [Event("r1")], null, None);
        var run = Run("r1", state: RunState.Running, version: 2) with { StartedAt = At(1), UpdatedAt = At(1) };
        var stepA = Step("r1", "a", StepState.Running, version: 2) with { Attempt = 1, StartedAt = At(1), Process = new ProcessHandle(7, 8) };

        var events = await stores.Runs.CommitAsync(new RunChange
        {
            Run = run,
            ExpectedVersion = 1,
            Steps = [new StepChange(stepA, 1)],
            Events = [Event("r1", "run-state", to: "Running"), Event("r1", "step-state", "a", "Running")],
        }, None);

        StoreAssert.Equivalent(run, await stores.Runs.GetRunAsync("r1", None));
        StoreAssert.Equivalent([stepA, Step("r1", "b")], await stores.Runs.GetStepsAsync("r1", None));
        Assert.Equal(["run-state", "step-state"], events.Select(e => e.Kind));
        var all = await stores.Runs.GetEventsAsync("r1", 0, 100, None);
        Assert.Equal(["run-created", "run-state", "step-state"], all.Select(e => e.Kind));
        Assert.Equal(events.Select(e => e.Seq), all.Skip(1).Select(e => e.Seq));
    }

    [SkippableFact]
    public async Task CommitAsync_StaleRunVersion_ThrowsConcurrencyAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        var created = Run("r1");
        await stores.Runs.CreateRunAsync(created, [Step("r1", "a")], [Event("r1")], null, None);
        await stores.Runs.CommitAsync(new RunChange { Run = created with { Version = 2 }, ExpectedVersion = 1 }, None);

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Runs.CommitAsync(new RunChange
        {
            Run = created with { Version = 2, State = RunState.Failed },
            ExpectedVersion = 1,
            Steps = [new StepChange(Step("r1", "a", StepState.Failed, 2), 1)],
            Events = [Event("r1", "run-state", to: "Failed")],
            Idempotency = Idempotency("stop", "tok"),
        }, None));

        StoreAssert.Equivalent(created with { Version = 2 }, await stores.Runs.GetRunAsync("r1", None));
        StoreAssert.Equivalent([Step("r1", "a")], await stores.Runs.GetStepsAsync("r1", None));
        Assert.Single(await stores.Runs.GetEventsAsync("r1", 0, 100, None));
        Assert.Null(await stores.Runs.GetIdempotencyAsync("stop", "tok", None));
    }

    [SkippableFact]
    public async Task CommitAsync_StaleStepVersion_ThrowsConcurrencyAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        var created = Run("r1");
        await stores.Runs.CreateRunAsync(created, [Step("r1", "a"), Step("r1", "b")], [Event("r1")], null, None);

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Runs.CommitAsync(new RunChange
        {
            Run = created with { Version = 2, State = RunState.Running },
            ExpectedVersion = 1,
            // "a" would apply; "b" is stale: neither may stick, nor the run row.
            Steps = [new StepChange(Step("r1", "a", StepState.Running, 2), 1), new StepChange(Step("r1", "b", StepState.Running, 6), 5)],
            Events = [Event("r1", "run-state", to: "Running")],
        }, None));

        StoreAssert.Equivalent(created, await stores.Runs.GetRunAsync("r1", None));
        StoreAssert.Equivalent([Step("r1", "a"), Step("r1", "b")], await stores.Runs.GetStepsAsync("r1", None));
        Assert.Single(await stores.Runs.GetEventsAsync("r1", 0, 100, None));
    }

    [SkippableFact]
    public async Task CommitAsync_NewStep_IsInsertedAfterTheOthers()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "b"), Step("r1", "a")], [], null, None);
        var added = Step("r1", "loop[0].x", version: 1);

        await stores.Runs.CommitAsync(new RunChange
        {
            Run = Run("r1", version: 2), ExpectedVersion = 1, Steps = [new StepChange(Step("r1", "a", StepState.Running, 2), 1), new StepChange(added, 0)],
        }, None);

        StoreAssert.Equivalent([Step("r1", "b"), Step("r1", "a", StepState.Running, 2), added], await stores.Runs.GetStepsAsync("r1", None));
    }

    [SkippableFact]
    public async Task CommitAsync_NewStepWithATakenName_ThrowsConcurrencyAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a")], [], null, None);

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Runs.CommitAsync(new RunChange
        {
            Run = Run("r1", version: 2), ExpectedVersion = 1, Steps = [new StepChange(Step("r1", "a", StepState.Running, 1), 0)],
        }, None));

        StoreAssert.Equivalent([Step("r1", "a")], await stores.Runs.GetStepsAsync("r1", None));
        Assert.Equal(1, (await stores.Runs.GetRunAsync("r1", None))!.Version);
    }

    [SkippableFact]
    public async Task CommitAsync_UnknownStep_ThrowsConcurrency()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a")], [], null, None);

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Runs.CommitAsync(new RunChange
        {
            Run = Run("r1", version: 2),
            ExpectedVersion = 1,
            Steps = [new StepChange(Step("r1", "ghost", version: 2), 1)],
        }, None));

        Assert.Equal(1, (await stores.Runs.GetRunAsync("r1", None))!.Version);
    }

    [SkippableFact]
    public async Task CommitAsync_UnknownRun_ThrowsConcurrency()
    {
        await using var stores = await CreateStoresAsync();

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Runs.CommitAsync(
            new RunChange { Run = Run("ghost", version: 2), ExpectedVersion = 1, Events = [Event("ghost")] }, None));

        Assert.Empty(await stores.Runs.GetEventsAsync(null, 0, 100, None));
    }

    [SkippableFact]
    public async Task CommitAsync_TakenIdempotencyToken_ThrowsConcurrencyAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        var created = Run("r1");
        await stores.Runs.CreateRunAsync(created, [Step("r1", "a")], [], null, None);
        var first = await stores.Runs.PutIdempotencyAsync(Idempotency("stop", "tok", "first"), None);

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Runs.CommitAsync(new RunChange
        {
            Run = created with { Version = 2, State = RunState.Stopping },
            ExpectedVersion = 1,
            Steps = [new StepChange(Step("r1", "a", StepState.Stopping, 2), 1)],
            Events = [Event("r1", "stop-requested")],
            Idempotency = Idempotency("stop", "tok", "second"),
        }, None));

        StoreAssert.Equivalent(created, await stores.Runs.GetRunAsync("r1", None));
        StoreAssert.Equivalent([Step("r1", "a")], await stores.Runs.GetStepsAsync("r1", None));
        Assert.Empty(await stores.Runs.GetEventsAsync("r1", 0, 100, None));
        StoreAssert.Equivalent(first, await stores.Runs.GetIdempotencyAsync("stop", "tok", None));
    }

    [SkippableFact]
    public async Task CommitAsync_WithIdempotency_StoresRecord()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [], [], null, None);
        var record = Idempotency("stop", "tok");

        await stores.Runs.CommitAsync(new RunChange { Run = Run("r1", state: RunState.Stopping, version: 2), ExpectedVersion = 1, Idempotency = record }, None);

        StoreAssert.Equivalent(record, await stores.Runs.GetIdempotencyAsync("stop", "tok", None));
    }

    [SkippableFact]
    public async Task CommitAsync_RunVersionNotExpectedPlusOne_ThrowsArgument()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [], [], null, None);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => stores.Runs.CommitAsync(
            new RunChange { Run = Run("r1", version: 3), ExpectedVersion = 1 }, None));

        Assert.Equal(1, (await stores.Runs.GetRunAsync("r1", None))!.Version);
    }

    [SkippableFact]
    public async Task CommitAsync_StepVersionNotExpectedPlusOne_ThrowsArgument()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a")], [], null, None);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => stores.Runs.CommitAsync(new RunChange
        {
            Run = Run("r1", version: 2),
            ExpectedVersion = 1,
            Steps = [new StepChange(Step("r1", "a", version: 1), 1)],
        }, None));

        Assert.Equal(1, (await stores.Runs.GetRunAsync("r1", None))!.Version);
    }

    [SkippableFact]
    public async Task CommitAsync_ManyCommitsInARow_EachAdvancesVersionAndSeq()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a")], [Event("r1")], null, None);
        var seqs = new List<long>();

        for (var v = 1; v < 20; v++)
        {
            var stored = await stores.Runs.CommitAsync(new RunChange
            {
                Run = Run("r1", version: v + 1) with { UpdatedAt = At(v) },
                ExpectedVersion = v,
                Steps = [new StepChange(Step("r1", "a", version: v + 1) with { Attempt = v }, v)],
                Events = [Event("r1", "log", message: $"commit {v}")],
            }, None);
            seqs.Add(Assert.Single(stored).Seq);
        }

        Assert.Equal(20, (await stores.Runs.GetRunAsync("r1", None))!.Version);
        Assert.Equal(19, Assert.Single(await stores.Runs.GetStepsAsync("r1", None)).Attempt);
        Assert.Equal(seqs.Order(), seqs);
        Assert.Equal(seqs.Count, seqs.Distinct().Count());
    }

    [SkippableFact]
    public async Task CommitAsync_ConcurrentCommitsOnOneVersion_ExactlyOneWins()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [], [], null, None);

        var attempts = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await stores.Runs.CommitAsync(new RunChange
                {
                    Run = Run("r1", version: 2) with { DisplayName = $"writer {i}" },
                    ExpectedVersion = 1,
                    Events = [Event("r1", "log", message: $"writer {i}")],
                }, None);
                return $"writer {i}";
            }
            catch (ConcurrencyException)
            {
                return null;
            }
        })).ToList();
        var results = await Task.WhenAll(attempts);

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(winner, (await stores.Runs.GetRunAsync("r1", None))!.DisplayName);
        Assert.Equal(winner, Assert.Single(await stores.Runs.GetEventsAsync("r1", 0, 100, None)).Message);
    }

    [SkippableFact]
    public async Task CommitAsync_ChangedLabels_ListFiltersOnNewLabels()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1", labels: Labels(("team", "ml"), ("env", "dev"))), [], [], null, None);

        await stores.Runs.CommitAsync(new RunChange
        {
            Run = Run("r1", labels: Labels(("team", "data"), ("tier", "gold")), version: 2),
            ExpectedVersion = 1,
        }, None);

        Assert.Empty(await ListIds(stores, new RunQuery { Labels = Labels(("team", "ml")) }));
        Assert.Empty(await ListIds(stores, new RunQuery { Labels = Labels(("env", "dev")) }));
        Assert.Equal(["r1"], await ListIds(stores, new RunQuery { Labels = Labels(("team", "data"), ("tier", "gold")) }));
        Assert.Equal(Labels(("team", "data"), ("tier", "gold")), (await stores.Runs.GetRunAsync("r1", None))!.Labels);
    }

    // ---- runs: events, delete, resume ----

    [SkippableFact]
    public async Task GetEventsAsync_ForOneRun_ReturnsOnlyItsEventsOldestFirst()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [], [Event("r1", "one")], null, None);
        await stores.Runs.CreateRunAsync(Run("r2"), [], [Event("r2", "other")], null, None);
        await stores.Runs.CommitAsync(new RunChange { Run = Run("r1", version: 2), ExpectedVersion = 1, Events = [Event("r1", "two")] }, None);

        var events = await stores.Runs.GetEventsAsync("r1", 0, 100, None);

        Assert.Equal(["one", "two"], events.Select(e => e.Kind));
        Assert.All(events, e => Assert.Equal("r1", e.RunId));
    }

    [SkippableFact]
    public async Task GetEventsAsync_AfterSeqWithLimit_PagesThroughEveryRunInSeqOrder()
    {
        await using var stores = await CreateStoresAsync();
        var all = new List<RunEvent>();
        for (var i = 0; i < 4; i++)
        {
            all.AddRange(await stores.Runs.CreateRunAsync(Run($"r{i}"), [], [Event($"r{i}", "a"), Event($"r{i}", "b")], null, None));
        }

        var paged = new List<RunEvent>();
        long after = 0;
        while (await stores.Runs.GetEventsAsync(null, after, 3, None) is { Count: > 0 } page)
        {
            Assert.True(page.Count <= 3);
            paged.AddRange(page);
            after = page[^1].Seq;
        }

        StoreAssert.Equivalent(all, paged);
        Assert.Equal(all.Select(e => e.Seq).Order(), paged.Select(e => e.Seq));
        Assert.Empty(await stores.Runs.GetEventsAsync("r1", all.Max(e => e.Seq), 10, None));
    }

    [SkippableFact]
    public async Task DeleteRunAsync_MatchingVersion_RemovesRunStepsEventsAndLabels()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1", labels: Labels(("k", "v"))), [Step("r1", "a")], [Event("r1")], null, None);
        await stores.Runs.CreateRunAsync(Run("r2"), [Step("r2", "a")], [Event("r2")], null, None);

        Assert.True(await stores.Runs.DeleteRunAsync("r1", 1, None));

        Assert.Null(await stores.Runs.GetRunAsync("r1", None));
        Assert.Empty(await stores.Runs.GetStepsAsync("r1", None));
        Assert.Empty(await stores.Runs.GetEventsAsync("r1", 0, 100, None));
        Assert.Empty(await ListIds(stores, new RunQuery { Labels = Labels(("k", "v")) }));
        Assert.Equal(["r2"], await ListIds(stores, new RunQuery()));
        Assert.Single(await stores.Runs.GetStepsAsync("r2", None));
        Assert.Single(await stores.Runs.GetEventsAsync(null, 0, 100, None));
    }

    [SkippableFact]
    public async Task DeleteRunAsync_StaleVersion_ReturnsFalseAndKeepsRun()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [Step("r1", "a")], [Event("r1")], null, None);

        Assert.False(await stores.Runs.DeleteRunAsync("r1", 7, None));

        Assert.NotNull(await stores.Runs.GetRunAsync("r1", None));
        Assert.Single(await stores.Runs.GetStepsAsync("r1", None));
        Assert.Single(await stores.Runs.GetEventsAsync("r1", 0, 100, None));
    }

    [SkippableFact]
    public async Task DeleteRunAsync_UnknownOrDeletedRun_ReturnsFalse()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1"), [], [], null, None);
        await stores.Runs.DeleteRunAsync("r1", 1, None);

        Assert.False(await stores.Runs.DeleteRunAsync("r1", 1, None));
        Assert.False(await stores.Runs.DeleteRunAsync("never", 1, None));
    }

    [SkippableFact]
    public async Task DeleteRunAsync_ThenCreateSameId_StartsClean()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.CreateRunAsync(Run("r1", labels: Labels(("old", "1"))), [Step("r1", "a")], [Event("r1")], null, None);
        await stores.Runs.DeleteRunAsync("r1", 1, None);

        await stores.Runs.CreateRunAsync(Run("r1", labels: Labels(("new", "1"))), [Step("r1", "b")], [], null, None);

        Assert.Equal(["b"], (await stores.Runs.GetStepsAsync("r1", None)).Select(s => s.Name));
        Assert.Empty(await stores.Runs.GetEventsAsync("r1", 0, 100, None));
        Assert.Empty(await ListIds(stores, new RunQuery { Labels = Labels(("old", "1")) }));
        Assert.Equal(["r1"], await ListIds(stores, new RunQuery { Labels = Labels(("new", "1")) }));
    }

    [SkippableFact]
    public async Task ListRunIdsInStatesAsync_SomeStates_ReturnsMatchingIdsOldestFirst()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", state: RunState.Running, createdAt: At(3)),
            Run("r2", state: RunState.Succeeded, createdAt: At(1)),
            Run("r3", state: RunState.Stopping, createdAt: At(2)),
            Run("r4", state: RunState.Queued, createdAt: At(4)),
            Run("r5", state: RunState.Running, createdAt: At(0)));

        var ids = await stores.Runs.ListRunIdsInStatesAsync([RunState.Running, RunState.Stopping, RunState.Queued], None);

        Assert.Equal(["r5", "r3", "r1", "r4"], ids);
        Assert.Empty(await stores.Runs.ListRunIdsInStatesAsync([], None));
        Assert.Empty(await stores.Runs.ListRunIdsInStatesAsync([RunState.Failed], None));
    }

    // ---- runs: listing ----

    [SkippableFact]
    public async Task ListRunsAsync_EmptyStore_ReturnsEmptyPageWithoutToken()
    {
        await using var stores = await CreateStoresAsync();

        var page = await stores.Runs.ListRunsAsync(new RunQuery(), None);

        Assert.Empty(page.Items);
        Assert.Null(page.NextPageToken);
    }

    [SkippableFact]
    public async Task ListRunsAsync_NoFilter_ReturnsNewestFirst()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Run("r1", createdAt: At(1)), Run("r3", createdAt: At(3)), Run("r2", createdAt: At(2)));

        Assert.Equal(["r3", "r2", "r1"], await ListIds(stores, new RunQuery()));
    }

    [SkippableFact]
    public async Task ListRunsAsync_OldestFirst_ReturnsOldestFirst()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Run("r1", createdAt: At(1)), Run("r3", createdAt: At(3)), Run("r2", createdAt: At(2)));

        Assert.Equal(["r1", "r2", "r3"], await ListIds(stores, new RunQuery { OldestFirst = true }));
    }

    [SkippableFact]
    public async Task PageTokenAfter_ContinuesRightAfterThatRunInEitherOrder()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Run("r1", createdAt: At(1)), Run("r3", createdAt: At(3)), Run("r2", createdAt: At(2)));
        var r2 = (await stores.Runs.GetRunAsync("r2", None))!;

        var newer = await stores.Runs.ListRunsAsync(new RunQuery { PageToken = stores.Runs.PageTokenAfter(r2) }, None);
        var older = await stores.Runs.ListRunsAsync(new RunQuery { PageToken = stores.Runs.PageTokenAfter(r2), OldestFirst = true }, None);

        Assert.Equal(["r1"], newer.Items.Select(r => r.Id));
        Assert.Equal(["r3"], older.Items.Select(r => r.Id));
    }

    [SkippableFact]
    public async Task ListRunsAsync_SameCreatedTime_OrdersById()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Run("rb"), Run("rc"), Run("ra"));

        Assert.Equal(["rc", "rb", "ra"], await ListIds(stores, new RunQuery()));
        Assert.Equal(["ra", "rb", "rc"], await ListIds(stores, new RunQuery { OldestFirst = true }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_ByScope_ReturnsOnlyThatTenantAndLocation()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", new Scope("acme", "us-east-1")),
            Run("r2", new Scope("acme", "eu-west-1")),
            Run("r3", new Scope("other", "us-east-1")),
            Run("r4", new Scope("acme", "us-east-1"), createdAt: At(1)));

        Assert.Equal(["r4", "r1"], await ListIds(stores, new RunQuery { Scope = new Scope("acme", "us-east-1") }));
        Assert.Empty(await ListIds(stores, new RunQuery { Scope = new Scope("nobody", "us-east-1") }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_TenantwideScope_ReturnsEveryLocationOfThatTenantOnly()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", new Scope("acme", "us-east-1")),
            Run("r2", new Scope("acme", "eu-west-1"), createdAt: At(1)),
            Run("r3", new Scope("other", "us-east-1"), createdAt: At(2)),
            Run("r4", new Scope("acmex", "us-east-1"), createdAt: At(3)));

        Assert.Equal(["r2", "r1"], await ListIds(stores, new RunQuery { Scope = Scope.Tenantwide("acme") }));
        Assert.Empty(await ListIds(stores, new RunQuery { Scope = Scope.Tenantwide("nobody") }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_ByPipelineName_ReturnsOnlyThatPipeline()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", pipeline: "train", createdAt: At(1)),
            Run("r2", pipeline: "eval", createdAt: At(2)),
            Run("r3", pipeline: "train", createdAt: At(3)),
            Run("r4", new Scope("acme", "x"), pipeline: "train", createdAt: At(4)));

        Assert.Equal(["r3", "r1"], await ListIds(stores, new RunQuery { Scope = Scope.Default, PipelineName = "train" }));
        Assert.Equal(["r4", "r3", "r1"], await ListIds(stores, new RunQuery { PipelineName = "train" }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_ByOneState_ReturnsOnlyThatState()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", state: RunState.Running, createdAt: At(1)),
            Run("r2", state: RunState.Succeeded, createdAt: At(2)),
            Run("r3", state: RunState.Running, createdAt: At(3)));

        Assert.Equal(["r3", "r1"], await ListIds(stores, new RunQuery { States = [RunState.Running] }));
        Assert.Equal(["r3", "r1"], await ListIds(stores, new RunQuery { Scope = Scope.Default, States = [RunState.Running] }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_BySeveralStates_MergesThemInOrder()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", state: RunState.Running, createdAt: At(1)),
            Run("r2", state: RunState.Failed, createdAt: At(2)),
            Run("r3", state: RunState.Stopped, createdAt: At(3)),
            Run("r4", state: RunState.Running, createdAt: At(4)),
            Run("r5", state: RunState.Succeeded, createdAt: At(5)));

        Assert.Equal(["r4", "r2", "r1"], await ListIds(stores, new RunQuery { States = [RunState.Running, RunState.Failed] }));
        Assert.Equal(["r1", "r2", "r4"],
            await ListIds(stores, new RunQuery { States = [RunState.Failed, RunState.Running, RunState.Running], OldestFirst = true }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_ByLabels_RequiresEveryLabelWithItsValue()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores,
            Run("r1", labels: Labels(("team", "ml"), ("env", "prod")), createdAt: At(1)),
            Run("r2", labels: Labels(("team", "ml"), ("env", "dev")), createdAt: At(2)),
            Run("r3", labels: Labels(("team", "data"), ("env", "prod")), createdAt: At(3)),
            Run("r4", labels: Labels(("team", "ml")), createdAt: At(4)));

        Assert.Equal(["r4", "r2", "r1"], await ListIds(stores, new RunQuery { Labels = Labels(("team", "ml")) }));
        Assert.Equal(["r1"], await ListIds(stores, new RunQuery { Labels = Labels(("team", "ml"), ("env", "prod")) }));
        Assert.Empty(await ListIds(stores, new RunQuery { Labels = Labels(("team", "prod")) }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_ByCreatedRange_ExcludesBothBounds()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Enumerable.Range(0, 6).Select(i => Run($"r{i}", createdAt: At(i))).ToArray());

        Assert.Equal(["r4", "r3", "r2"], await ListIds(stores, new RunQuery { CreatedAfter = At(1), CreatedBefore = At(5) }));
        Assert.Equal(["r5"], await ListIds(stores, new RunQuery { CreatedAfter = At(4) }));
        Assert.Equal(["r0"], await ListIds(stores, new RunQuery { CreatedBefore = At(1) }));
    }

    [SkippableFact]
    public async Task ListRunsAsync_AllFiltersTogether_ReturnsOnlyRunsMatchingEvery()
    {
        await using var stores = await CreateStoresAsync();
        var acme = new Scope("acme", "us-east-1");
        var ml = Labels(("team", "ml"));
        await CreateRuns(stores,
            Run("hit1", acme, "train", RunState.Running, At(2), ml),
            Run("hit2", acme, "train", RunState.Failed, At(3), ml),
            Run("scope", Scope.Default, "train", RunState.Running, At(2), ml),
            Run("pipe", acme, "eval", RunState.Running, At(2), ml),
            Run("state", acme, "train", RunState.Succeeded, At(2), ml),
            Run("label", acme, "train", RunState.Running, At(2), Labels(("team", "x"))),
            Run("early", acme, "train", RunState.Running, At(0), ml),
            Run("late", acme, "train", RunState.Running, At(9), ml));

        var query = new RunQuery
        {
            Scope = acme,
            PipelineName = "train",
            States = [RunState.Running, RunState.Failed],
            Labels = ml,
            CreatedAfter = At(1),
            CreatedBefore = At(5),
        };

        Assert.Equal(["hit2", "hit1"], await ListIds(stores, query));
        Assert.Equal(["hit1", "hit2"], await ListIds(stores, query with { OldestFirst = true, PageSize = 1 }));
    }

    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(4, false)]
    [InlineData(7, true)]
    [InlineData(25, false)]
    [InlineData(100, true)]
    public async Task ListRunsAsync_Paging_ChainsWithoutDuplicatesOrGaps(int pageSize, bool oldestFirst)
    {
        await using var stores = await CreateStoresAsync();
        // Several runs per instant, so the id must break ties across page boundaries.
        var runs = Enumerable.Range(0, 25).Select(i => Run($"r{i:d2}", createdAt: At(i / 3))).ToArray();
        await CreateRuns(stores, runs);
        var expected = oldestFirst
            ? runs.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal).Select(r => r.Id)
            : runs.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal).Select(r => r.Id);

        var pages = await ListPages(stores, new RunQuery { PageSize = pageSize, OldestFirst = oldestFirst });

        Assert.Equal(expected, pages.SelectMany(p => p));
        Assert.All(pages, p => Assert.InRange(p.Count, 1, pageSize));
        Assert.Equal((25 + pageSize - 1) / pageSize, pages.Count);
    }

    [SkippableFact]
    public async Task ListRunsAsync_PagingWithSeveralStates_ChainsWithoutDuplicatesOrGaps()
    {
        await using var stores = await CreateStoresAsync();
        RunState[] cycle = [RunState.Running, RunState.Failed, RunState.Succeeded];
        var runs = Enumerable.Range(0, 30).Select(i => Run($"r{i:d2}", state: cycle[i % 3], createdAt: At(i / 4))).ToArray();
        await CreateRuns(stores, runs);
        var expected = runs.Where(r => r.State != RunState.Succeeded)
            .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal).Select(r => r.Id);

        var pages = await ListPages(stores, new RunQuery { PageSize = 3, States = [RunState.Failed, RunState.Running] });

        Assert.Equal(expected, pages.SelectMany(p => p));
    }

    [SkippableFact]
    public async Task ListRunsAsync_PageEndsExactlyAtLastRun_HasNoNextToken()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Enumerable.Range(0, 4).Select(i => Run($"r{i}", createdAt: At(i))).ToArray());

        var first = await stores.Runs.ListRunsAsync(new RunQuery { PageSize = 2 }, None);
        var second = await stores.Runs.ListRunsAsync(new RunQuery { PageSize = 2, PageToken = first.NextPageToken }, None);
        var all = await stores.Runs.ListRunsAsync(new RunQuery { PageSize = 4 }, None);

        Assert.NotNull(first.NextPageToken);
        Assert.Equal(2, second.Items.Count);
        Assert.Null(second.NextPageToken);
        Assert.Null(all.NextPageToken);
    }

    [SkippableTheory]
    [InlineData("!!!not base64!!!")]
    [InlineData("bm90IGpzb24")]
    [InlineData("WyJydW5zIl0")]
    [InlineData("WyJydW5zIiwibm90LWEtbnVtYmVyIiwiaWQiXQ")]
    [InlineData("WyJwaXBlbGluZXMiLCJhIiwiYiJd")]
    [InlineData("WyJydW5zIiwiLTUiLCJpZCJd")]
    [InlineData("WyJydW5zIiwiOTk5OTk5OTk5OTk5OTk5OTk5OTkiLCJpZCJd")]
    [InlineData("WyJydW5zIiwiMSIsbnVsbF0")]
    public async Task ListRunsAsync_MalformedToken_ThrowsArgument(string token)
    {
        await using var stores = await CreateStoresAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => stores.Runs.ListRunsAsync(new RunQuery { PageToken = token }, None));
    }

    [SkippableFact]
    public async Task ListRunsAsync_EmptyToken_StartsAtFirstPage()
    {
        await using var stores = await CreateStoresAsync();
        await CreateRuns(stores, Run("r1"));

        var page = await stores.Runs.ListRunsAsync(new RunQuery { PageToken = "" }, None);

        Assert.Equal(["r1"], page.Items.Select(r => r.Id));
    }

    [SkippableFact]
    public async Task ListRunsAsync_PageSizeBelowOne_ThrowsArgument()
    {
        await using var stores = await CreateStoresAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => stores.Runs.ListRunsAsync(new RunQuery { PageSize = 0 }, None));
    }

    // ---- idempotency ----

    [SkippableFact]
    public async Task PutIdempotencyAsync_NewToken_StoresAndReturnsRecord()
    {
        await using var stores = await CreateStoresAsync();
        var record = Idempotency("stop:acme", "tok");

        var returned = await stores.Runs.PutIdempotencyAsync(record, None);

        StoreAssert.Equivalent(record, returned);
        StoreAssert.Equivalent(record, await stores.Runs.GetIdempotencyAsync("stop:acme", "tok", None));
    }

    [SkippableFact]
    public async Task PutIdempotencyAsync_TakenToken_ReturnsFirstRecord()
    {
        await using var stores = await CreateStoresAsync();
        var first = Idempotency("stop", "tok", "first");
        await stores.Runs.PutIdempotencyAsync(first, None);

        var returned = await stores.Runs.PutIdempotencyAsync(Idempotency("stop", "tok", "second", At(60)) with { RequestHash = "other" }, None);

        StoreAssert.Equivalent(first, returned);
        StoreAssert.Equivalent(first, await stores.Runs.GetIdempotencyAsync("stop", "tok", None));
    }

    [SkippableFact]
    public async Task PutIdempotencyAsync_ConcurrentPuts_AllReturnOneWinner()
    {
        await using var stores = await CreateStoresAsync();

        var returned = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => stores.Runs.PutIdempotencyAsync(Idempotency("stop", "tok", $"answer {i}"), None))));

        var winner = returned[0].Response;
        Assert.All(returned, r => Assert.Equal(winner, r.Response));
        Assert.Equal(winner, (await stores.Runs.GetIdempotencyAsync("stop", "tok", None))!.Response);
    }

    [SkippableFact]
    public async Task GetIdempotencyAsync_SameTokenInAnotherScope_ReturnsNull()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Runs.PutIdempotencyAsync(Idempotency("stop:acme", "tok"), None);

        Assert.Null(await stores.Runs.GetIdempotencyAsync("stop:other", "tok", None));
        Assert.Null(await stores.Runs.GetIdempotencyAsync("stop:acme", "TOK", None));
    }

    // ---- pipelines ----

    [SkippableFact]
    public async Task CreatePipelineAsync_New_FoundByNameIdAndVersion()
    {
        await using var stores = await CreateStoresAsync();
        var pipeline = Pipeline("p1", "train", new Scope("acme", "eu")) with
        {
            Description = "trains",
            Face = "vertex",
            FaceData = new JsonObject { ["displayName"] = "Train" },
        };
        var version = Version("p1", 1);

        await stores.Pipelines.CreatePipelineAsync(pipeline, version, None);

        StoreAssert.Equivalent(pipeline, await stores.Pipelines.GetPipelineAsync(new Scope("acme", "eu"), "train", None));
        StoreAssert.Equivalent(pipeline, await stores.Pipelines.GetPipelineByIdAsync("p1", None));
        StoreAssert.Equivalent(version, await stores.Pipelines.GetVersionAsync("p1", 1, None));
        StoreAssert.Equivalent([version], await stores.Pipelines.ListVersionsAsync("p1", None));
        Assert.Null(await stores.Pipelines.GetPipelineAsync(new Scope("acme", "us"), "train", None));
        Assert.Null(await stores.Pipelines.GetVersionAsync("p1", 2, None));
    }

    [SkippableFact]
    public async Task CreatePipelineAsync_NameTakenInScope_ThrowsAlreadyExistsAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "train"), Version("p1", 1), None);

        await Assert.ThrowsAsync<AlreadyExistsException>(() =>
            stores.Pipelines.CreatePipelineAsync(Pipeline("p2", "train"), Version("p2", 1), None));

        Assert.Null(await stores.Pipelines.GetPipelineByIdAsync("p2", None));
        Assert.Empty(await stores.Pipelines.ListVersionsAsync("p2", None));
        Assert.Equal("p1", (await stores.Pipelines.GetPipelineAsync(Scope.Default, "train", None))!.Id);
    }

    [SkippableFact]
    public async Task CreatePipelineAsync_IdTaken_ThrowsAlreadyExists()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "train"), Version("p1", 1), None);

        await Assert.ThrowsAsync<AlreadyExistsException>(() =>
            stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "other"), Version("p1", 1), None));

        Assert.Null(await stores.Pipelines.GetPipelineAsync(Scope.Default, "other", None));
    }

    [SkippableFact]
    public async Task CreatePipelineAsync_SameNameInAnotherScope_Succeeds()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "train", new Scope("a", "x")), Version("p1", 1), None);

        await stores.Pipelines.CreatePipelineAsync(Pipeline("p2", "train", new Scope("a", "y")), Version("p2", 1), None);
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p3", "train", new Scope("b", "x")), Version("p3", 1), None);

        Assert.Equal("p2", (await stores.Pipelines.GetPipelineAsync(new Scope("a", "y"), "train", None))!.Id);
        Assert.Equal("p3", (await stores.Pipelines.GetPipelineAsync(new Scope("b", "x"), "train", None))!.Id);
    }

    [SkippableFact]
    public async Task AddVersionAsync_MatchingLatest_AddsVersionAndUpdatesPipeline()
    {
        await using var stores = await CreateStoresAsync();
        var pipeline = Pipeline("p1", "train");
        await stores.Pipelines.CreatePipelineAsync(pipeline, Version("p1", 1), None);
        var updated = pipeline with { LatestVersion = 2, Description = "v2", UpdatedAt = At(60) };

        await stores.Pipelines.AddVersionAsync(updated, Version("p1", 2, "steps: [a]"), 1, None);

        StoreAssert.Equivalent(updated, await stores.Pipelines.GetPipelineByIdAsync("p1", None));
        Assert.Equal([1, 2], (await stores.Pipelines.ListVersionsAsync("p1", None)).Select(v => v.Version));
        Assert.Equal("steps: [a]", (await stores.Pipelines.GetVersionAsync("p1", 2, None))!.Source);
    }

    [SkippableFact]
    public async Task AddVersionAsync_StaleLatest_ThrowsConcurrencyAndWritesNothing()
    {
        await using var stores = await CreateStoresAsync();
        var pipeline = Pipeline("p1", "train");
        await stores.Pipelines.CreatePipelineAsync(pipeline, Version("p1", 1), None);
        await stores.Pipelines.AddVersionAsync(pipeline with { LatestVersion = 2 }, Version("p1", 2, "winner"), 1, None);

        await Assert.ThrowsAsync<ConcurrencyException>(() => stores.Pipelines.AddVersionAsync(
            pipeline with { LatestVersion = 2, Description = "loser" }, Version("p1", 2, "loser"), 1, None));

        var stored = (await stores.Pipelines.GetPipelineByIdAsync("p1", None))!;
        Assert.Equal(2, stored.LatestVersion);
        Assert.Null(stored.Description);
        Assert.Equal("winner", (await stores.Pipelines.GetVersionAsync("p1", 2, None))!.Source);
    }

    [SkippableFact]
    public async Task AddVersionAsync_DeletedPipeline_ThrowsConcurrency()
    {
        await using var stores = await CreateStoresAsync();
        var pipeline = Pipeline("p1", "train");
        await stores.Pipelines.CreatePipelineAsync(pipeline, Version("p1", 1), None);
        await stores.Pipelines.DeletePipelineAsync("p1", None);

        await Assert.ThrowsAsync<ConcurrencyException>(() =>
            stores.Pipelines.AddVersionAsync(pipeline with { LatestVersion = 2 }, Version("p1", 2), 1, None));

        Assert.Single(await stores.Pipelines.ListVersionsAsync("p1", None));
    }

    [SkippableFact]
    public async Task DeletePipelineAsync_Existing_HidesPipelineAndKeepsVersions()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "train"), Version("p1", 1), None);

        Assert.True(await stores.Pipelines.DeletePipelineAsync("p1", None));

        Assert.Null(await stores.Pipelines.GetPipelineAsync(Scope.Default, "train", None));
        Assert.Null(await stores.Pipelines.GetPipelineByIdAsync("p1", None));
        Assert.Empty((await stores.Pipelines.ListPipelinesAsync(null, 10, null, None)).Items);
        Assert.NotNull(await stores.Pipelines.GetVersionAsync("p1", 1, None));
        Assert.Single(await stores.Pipelines.ListVersionsAsync("p1", None));
    }

    [SkippableFact]
    public async Task DeletePipelineAsync_UnknownOrDeleted_ReturnsFalse()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "train"), Version("p1", 1), None);
        await stores.Pipelines.DeletePipelineAsync("p1", None);

        Assert.False(await stores.Pipelines.DeletePipelineAsync("p1", None));
        Assert.False(await stores.Pipelines.DeletePipelineAsync("never", None));
    }

    [SkippableFact]
    public async Task CreatePipelineAsync_NameOfDeletedPipeline_SucceedsAndOldVersionsStay()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p1", "train"), Version("p1", 1, "old"), None);
        await stores.Pipelines.DeletePipelineAsync("p1", None);

        await stores.Pipelines.CreatePipelineAsync(Pipeline("p2", "train"), Version("p2", 1, "new"), None);

        Assert.Equal("p2", (await stores.Pipelines.GetPipelineAsync(Scope.Default, "train", None))!.Id);
        Assert.Equal("old", (await stores.Pipelines.GetVersionAsync("p1", 1, None))!.Source);
        Assert.Equal("new", (await stores.Pipelines.GetVersionAsync("p2", 1, None))!.Source);
        Assert.Equal(["p2"], (await stores.Pipelines.ListPipelinesAsync(null, 10, null, None)).Items.Select(p => p.Id));
    }

    [SkippableFact]
    public async Task ListPipelinesAsync_ManyPipelines_SortedByNameAndPaged()
    {
        await using var stores = await CreateStoresAsync();
        var a = new Scope("a", "x");
        var b = new Scope("b", "x");
        string[] names = ["delta", "alpha", "echo", "charlie", "bravo"];
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            await stores.Pipelines.CreatePipelineAsync(Pipeline($"pa{i}", name, a), Version($"pa{i}", 1), None);
        }
        await stores.Pipelines.CreatePipelineAsync(Pipeline("pb0", "bravo", b), Version("pb0", 1), None);

        var scoped = await ListPipelinePages(stores, a, 2);
        var everywhere = await ListPipelinePages(stores, null, 2);

        Assert.Equal(["alpha", "bravo", "charlie", "delta", "echo"], scoped.SelectMany(p => p).Select(p => p.Name));
        Assert.Equal(3, scoped.Count);
        Assert.Equal(["pa1", "pa4", "pb0", "pa3", "pa0", "pa2"], everywhere.SelectMany(p => p).Select(p => p.Id));
        Assert.Equal(3, everywhere.Count);
    }

    [SkippableFact]
    public async Task ListPipelinesAsync_MalformedToken_ThrowsArgument()
    {
        await using var stores = await CreateStoresAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => stores.Pipelines.ListPipelinesAsync(null, 10, "%%%", None));
    }

    // ---- operations ----

    [SkippableFact]
    public async Task CreateOperationAsync_New_RoundTrips()
    {
        await using var stores = await CreateStoresAsync();
        var operation = Operation("op1", new Scope("acme", "eu")) with { Error = "partial", Face = "vertex" };

        await stores.Operations.CreateOperationAsync(operation, None);

        StoreAssert.Equivalent(operation, await stores.Operations.GetOperationAsync("op1", None));
        Assert.Null(await stores.Operations.GetOperationAsync("op2", None));
    }

    [SkippableFact]
    public async Task CreateOperationAsync_DuplicateId_ThrowsAlreadyExists()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Operations.CreateOperationAsync(Operation("op1"), None);

        await Assert.ThrowsAsync<AlreadyExistsException>(() =>
            stores.Operations.CreateOperationAsync(Operation("op1") with { Kind = "other" }, None));

        Assert.Equal("batch-stop", (await stores.Operations.GetOperationAsync("op1", None))!.Kind);
    }

    [SkippableFact]
    public async Task UpdateOperationAsync_MatchingVersion_ReplacesOperation()
    {
        await using var stores = await CreateStoresAsync();
        var operation = Operation("op1");
        await stores.Operations.CreateOperationAsync(operation, None);
        var updated = operation with
        {
            Version = 2,
            UpdatedAt = At(30),
            Done = true,
            Results = new JsonObject { ["a"] = new JsonObject { ["state"] = "Stopped" } },
            Error = "b: not found",
        };

        await stores.Operations.UpdateOperationAsync(updated, 1, None);

        StoreAssert.Equivalent(updated, await stores.Operations.GetOperationAsync("op1", None));
    }

    [SkippableFact]
    public async Task UpdateOperationAsync_StaleVersion_ThrowsConcurrencyAndKeepsRow()
    {
        await using var stores = await CreateStoresAsync();
        var operation = Operation("op1");
        await stores.Operations.CreateOperationAsync(operation, None);

        await Assert.ThrowsAsync<ConcurrencyException>(() =>
            stores.Operations.UpdateOperationAsync(operation with { Version = 4, Done = true }, 3, None));
        await Assert.ThrowsAsync<ConcurrencyException>(() =>
            stores.Operations.UpdateOperationAsync(Operation("ghost", version: 2), 1, None));

        StoreAssert.Equivalent(operation, await stores.Operations.GetOperationAsync("op1", None));
    }

    [SkippableFact]
    public async Task ListOperationsAsync_ManyOperations_NewestFirstPagedAndScoped()
    {
        await using var stores = await CreateStoresAsync();
        var acme = new Scope("acme", "x");
        for (var i = 0; i < 7; i++)
        {
            await stores.Operations.CreateOperationAsync(Operation($"op{i}", i % 2 == 0 ? acme : Scope.Default, At(i / 2)), None);
        }

        var all = await ListOperationPages(stores, null, 3);
        var scoped = await ListOperationPages(stores, acme, 2);

        Assert.Equal(["op6", "op5", "op4", "op3", "op2", "op1", "op0"], all.SelectMany(p => p).Select(o => o.Id));
        Assert.Equal(3, all.Count);
        Assert.Equal(["op6", "op4", "op2", "op0"], scoped.SelectMany(p => p).Select(o => o.Id));
        await Assert.ThrowsAsync<ArgumentException>(() => stores.Operations.ListOperationsAsync(null, 3, "nope", None));
    }

    [SkippableFact]
    public async Task ListOperationsAsync_TenantwideScope_ReturnsEveryLocationOfThatTenantOnly()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Operations.CreateOperationAsync(Operation("op1", new Scope("acme", "x"), At(0)), None);
        await stores.Operations.CreateOperationAsync(Operation("op2", new Scope("acme", "y"), At(1)), None);
        await stores.Operations.CreateOperationAsync(Operation("op3", new Scope("other", "x"), At(2)), None);

        var page = await stores.Operations.ListOperationsAsync(Scope.Tenantwide("acme"), 10, null, None);

        Assert.Equal(["op2", "op1"], page.Items.Select(o => o.Id));
    }

    [SkippableFact]
    public async Task ListUnfinishedOperationsAsync_MixedOperations_ReturnsOnlyNotDone()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Operations.CreateOperationAsync(Operation("op1", createdAt: At(1)), None);
        await stores.Operations.CreateOperationAsync(Operation("op2", createdAt: At(2), done: true), None);
        await stores.Operations.CreateOperationAsync(Operation("op3", createdAt: At(3)), None);
        await stores.Operations.UpdateOperationAsync(Operation("op3", createdAt: At(3), done: true, version: 2), 1, None);
        await stores.Operations.CreateOperationAsync(Operation("op4", createdAt: At(0)), None);

        var unfinished = await stores.Operations.ListUnfinishedOperationsAsync(None);

        Assert.Equal(["op1", "op4"], unfinished.Select(o => o.Id).Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public async Task DeleteOperationAsync_ExistingThenAgain_ReturnsTrueThenFalse()
    {
        await using var stores = await CreateStoresAsync();
        await stores.Operations.CreateOperationAsync(Operation("op1"), None);

        Assert.True(await stores.Operations.DeleteOperationAsync("op1", None));
        Assert.False(await stores.Operations.DeleteOperationAsync("op1", None));
        Assert.Null(await stores.Operations.GetOperationAsync("op1", None));
    }

    // ---- hostile strings ----

    [SkippableTheory]
    [MemberData(nameof(HostileStrings))]
    public async Task CreateRunAsync_HostileStrings_StoredVerbatimAndFoundByFilters(string text)
    {
        await using var stores = await CreateStoresAsync();
        var scope = new Scope(text, text);
        var run = Run("r-" + text, scope, text, labels: Labels((text, text), ("plain", text))) with
        {
            DisplayName = text,
            Error = text,
            Parameters = new JsonObject { [text] = text },
            Stop = new StopInfo { At = T0, Reason = text, Caller = text },
        };
        var step = Step(run.Id, text) with { Reason = text, Outputs = new JsonObject { [text] = text } };
        await stores.Runs.CreateRunAsync(run, [step], [Event(run.Id, text, text, text, message: text)], Idempotency(text, text, text), None);
        await stores.Runs.CreateRunAsync(Run("bystander"), [], [], null, None);

        StoreAssert.Equivalent(run, await stores.Runs.GetRunAsync(run.Id, None));
        StoreAssert.Equivalent([step], await stores.Runs.GetStepsAsync(run.Id, None));
        var stored = Assert.Single(await stores.Runs.GetEventsAsync(run.Id, 0, 10, None));
        Assert.Equal((text, text, text, text), (stored.Kind, stored.Step, stored.To, stored.Message));
        Assert.Equal(text, (await stores.Runs.GetIdempotencyAsync(text, text, None))!.Response);
        Assert.Equal([run.Id], await ListIds(stores, new RunQuery { Scope = scope, PipelineName = text, Labels = Labels((text, text)) }));
        Assert.Equal([run.Id], await ListIds(stores, new RunQuery { Labels = Labels(("plain", text)) }));
        Assert.Equal(2, (await ListIds(stores, new RunQuery())).Count);
    }

    [SkippableTheory]
    [MemberData(nameof(HostileStrings))]
    public async Task CreatePipelineAsync_HostileStrings_StoredVerbatimWithOperations(string text)
    {
        await using var stores = await CreateStoresAsync();
        var scope = new Scope(text, text);
        var pipeline = Pipeline("p-" + text, text, scope) with { Description = text };
        var version = Version(pipeline.Id, 1, text) with { Format = text };
        var operation = Operation("op-" + text, scope) with { Kind = text, Error = text, Request = new JsonObject { [text] = text } };

        await stores.Pipelines.CreatePipelineAsync(pipeline, version, None);
        await stores.Pipelines.CreatePipelineAsync(Pipeline("p-z", text + " 2", scope), Version("p-z", 1), None);
        await stores.Operations.CreateOperationAsync(operation, None);

        StoreAssert.Equivalent(pipeline, await stores.Pipelines.GetPipelineAsync(scope, text, None));
        StoreAssert.Equivalent(version, await stores.Pipelines.GetVersionAsync(pipeline.Id, 1, None));
        StoreAssert.Equivalent(operation, await stores.Operations.GetOperationAsync(operation.Id, None));
        // The cursor carries the hostile name across pages.
        var pages = await ListPipelinePages(stores, scope, 1);
        Assert.Equal([pipeline.Id, "p-z"], pages.SelectMany(p => p).Select(p => p.Id));
        Assert.Equal([operation.Id], (await ListOperationPages(stores, scope, 1)).SelectMany(p => p).Select(o => o.Id));
    }

    // ---- helpers ----

    protected static Dictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        labels.ToDictionary(l => l.Key, l => l.Value);

    protected static async Task CreateRuns(StoreSet stores, params RunRecord[] runs)
    {
        foreach (var run in runs)
        {
            await stores.Runs.CreateRunAsync(run, [], [], null, None);
        }
    }

    protected static async Task<List<string>> ListIds(StoreSet stores, RunQuery query) =>
        (await ListPages(stores, query)).SelectMany(p => p).ToList();

    /// <summary>Follows the page tokens to the end; fails if a page repeats a run or the chain does not end.</summary>
    protected static async Task<List<List<string>>> ListPages(StoreSet stores, RunQuery query)
    {
        var pages = new List<List<string>>();
        string? token = null;
        do
        {
            var page = await stores.Runs.ListRunsAsync(query with { PageToken = token }, None);
            pages.Add(page.Items.Select(r => r.Id).ToList());
            token = page.NextPageToken;
            Assert.True(pages.Count < 1000, "The page chain does not end.");
        }
        while (token is not null);
        var ids = pages.SelectMany(p => p).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        return pages.Count == 1 && pages[0].Count == 0 ? [] : pages;
    }

    private static async Task<List<IReadOnlyList<PipelineRecord>>> ListPipelinePages(StoreSet stores, Scope? scope, int pageSize)
    {
        var pages = new List<IReadOnlyList<PipelineRecord>>();
        string? token = null;
        do
        {
            var page = await stores.Pipelines.ListPipelinesAsync(scope, pageSize, token, None);
            pages.Add(page.Items);
            token = page.NextPageToken;
        }
        while (token is not null && pages.Count < 1000);
        return pages;
    }

    private static async Task<List<IReadOnlyList<OperationRecord>>> ListOperationPages(StoreSet stores, Scope? scope, int pageSize)
    {
        var pages = new List<IReadOnlyList<OperationRecord>>();
        string? token = null;
        do
        {
            var page = await stores.Operations.ListOperationsAsync(scope, pageSize, token, None);
            pages.Add(page.Items);
            token = page.NextPageToken;
        }
        while (token is not null && pages.Count < 1000);
        return pages;
    }

    private static string Long(int length)
    {
        var text = new StringBuilder(length);
        const string pattern = "ab'\";-- é漢🚀\\%_ ";
        while (text.Length < length)
        {
            text.Append(pattern);
        }
        return text.ToString(0, length - (char.IsHighSurrogate(text[length - 1]) ? 1 : 0));
    }
}
