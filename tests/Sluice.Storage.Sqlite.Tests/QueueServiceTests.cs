using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Sluice.TestKit;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>The queue's core API over the SQLite store, on a manual clock: validation, visibility, long polling.</summary>
public sealed class QueueServiceTests : IAsyncLifetime, IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Scope Here = Scope.Default;
    private static readonly TimeSpan NoWait = TimeSpan.Zero;
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(20);

    private readonly TempDirectory directory = new("sluice-queue-service");
    private readonly ManualTime time = new();
    private SqliteStore store = null!;
    private QueueService queues = null!;

    public async Task InitializeAsync()
    {
        store = await SqliteStore.OpenAsync(directory.File("sluice.db"), time, None);
        queues = new QueueService(store, time);
    }

    public async Task DisposeAsync() => await store.DisposeAsync();

    public void Dispose() => directory.Dispose();

    private Task<QueueRecord> QueueAsync(string name = "jobs") => queues.EnsureQueueAsync(Here, name, None);

    private Task<IReadOnlyList<QueueMessage>> ReceiveAsync(string name = "jobs", int max = 10, TimeSpan? visibility = null, TimeSpan? wait = null,
        CancellationToken ct = default) =>
        queues.ReceiveAsync(Here, name, max, visibility, wait ?? NoWait, ct);

    private static async Task<T> Within<T>(Task<T> task) => await task.WaitAsync(Deadline.Default);

    private static async Task<SluiceException> FailsAsync(ErrorKind kind, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<SluiceException>(call);
        Assert.Equal(kind, e.Kind);
        return e;
    }

    // ---- queues ----

    [Fact]
    public async Task EnsureQueue_FirstUse_CreatesWithDefaultsThenReturnsTheSameQueue()
    {
        var created = await QueueAsync();
        time.Advance(TimeSpan.FromMinutes(1));
        var again = await QueueAsync();

        Assert.Equal(new QueueAttributes(), created.Attributes);
        Assert.Equal(TimeSpan.FromSeconds(30), created.Attributes.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromDays(4), created.Attributes.MessageRetentionPeriod);
        Assert.Equal(created, again);
    }

    [Fact]
    public async Task Create_ExistingQueue_AnsweredWhenGivenAttributesMatchRefusedWhenNot()
    {
        var settings = new QueueSettings { VisibilityTimeout = TimeSpan.FromMinutes(1), Delay = TimeSpan.FromSeconds(5) };
        var (q, created) = await queues.CreateAsync(Here, "jobs", settings, None);

        var (same, sameCreated) = await queues.CreateAsync(Here, "jobs", settings, None);
        var (partial, _) = await queues.CreateAsync(Here, "jobs", new QueueSettings { Delay = TimeSpan.FromSeconds(5) }, None);
        var (none, _) = await queues.CreateAsync(Here, "jobs", null, None);
        var e = await FailsAsync(ErrorKind.AlreadyExists,
            () => queues.CreateAsync(Here, "jobs", new QueueSettings { VisibilityTimeout = TimeSpan.FromMinutes(2) }, None));

        Assert.True(created);
        Assert.False(sameCreated);
        Assert.Equal(q, same);
        Assert.Equal(q, partial);
        Assert.Equal(q, none);
        Assert.Contains("visibilityTimeoutSeconds is 60", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queue_Missing_EveryCallIsNotFound()
    {
        var handle = QueueReceipts.New(Guid.NewGuid().ToString("D"));

        await FailsAsync(ErrorKind.NotFound, () => queues.GetAsync(Here, "missing", None));
        await FailsAsync(ErrorKind.NotFound, () => queues.CountAsync(Here, "missing", None));
        await FailsAsync(ErrorKind.NotFound, () => queues.DeleteAsync(Here, "missing", None));
        await FailsAsync(ErrorKind.NotFound, () => queues.PurgeAsync(Here, "missing", None));
        await FailsAsync(ErrorKind.NotFound, () => queues.SendAsync(Here, "missing", "x", null, None));
        await FailsAsync(ErrorKind.NotFound, () => ReceiveAsync("missing"));
        await FailsAsync(ErrorKind.NotFound, () => queues.DeleteMessageAsync(Here, "missing", handle, None));
        await FailsAsync(ErrorKind.NotFound, () => queues.ChangeVisibilityAsync(Here, "missing", handle, TimeSpan.Zero, None));
    }

    [Fact]
    public async Task List_PrefixAndPaging_ReturnsNamesInOrder()
    {
        foreach (var n in new[] { "c", "a1", "a2", "a3", "b" })
        {
            await QueueAsync(n);
        }

        var first = await queues.ListAsync(Here, "a", 2, null, None);
        var second = await queues.ListAsync(Here, "a", 2, first.NextPageToken, None);

        Assert.Equal(["a1", "a2"], first.Items.Select(q => q.Name));
        Assert.Equal(["a3"], second.Items.Select(q => q.Name));
        Assert.Null(second.NextPageToken);
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.ListAsync(Here, null, 2, "bogus", None));
    }

    // ---- send and receive ----

    [Fact]
    public async Task Send_Body_ReturnsGuidIdAndHexMd5OfTheBody()
    {
        await QueueAsync();

        var sent = await queues.SendAsync(Here, "jobs", "hello", null, None);
        var got = Assert.Single(await ReceiveAsync());

        Assert.True(Guid.TryParseExact(sent.Id, "D", out _));
        Assert.Equal("5d41402abc4b2a76b9719d911017c592", sent.Md5);
        Assert.Equal(sent.Id, got.Id);
        Assert.Equal(sent.Md5, got.Md5);
        Assert.Equal("hello", got.Body);
        Assert.Equal(1, got.ReceiveCount);
        Assert.Equal(time.GetUtcNow(), got.SentAt);
    }

    [Fact]
    public async Task Receive_AfterVisibilityTimeout_RedeliversAndOnlyTheNewHandleDeletes()
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "work", null, None);
        var first = Assert.Single(await ReceiveAsync());

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(await ReceiveAsync());
        time.Advance(TimeSpan.FromSeconds(1));
        var second = Assert.Single(await ReceiveAsync(visibility: TimeSpan.FromMinutes(5)));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.ReceiveCount);
        Assert.False(await queues.DeleteMessageAsync(Here, "jobs", first.ReceiptHandle!, None));
        Assert.Equal(new QueueCounts(0, 1, 0), await queues.CountAsync(Here, "jobs", None));
        Assert.True(await queues.DeleteMessageAsync(Here, "jobs", second.ReceiptHandle!, None));
        Assert.False(await queues.DeleteMessageAsync(Here, "jobs", second.ReceiptHandle!, None));
        time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await ReceiveAsync());
    }

    [Fact]
    public async Task ChangeVisibility_ZeroThenStaleOrGone_VisibleAtOnceThenRefused()
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "work", null, None);
        var first = Assert.Single(await ReceiveAsync());

        await queues.ChangeVisibilityAsync(Here, "jobs", first.ReceiptHandle!, TimeSpan.Zero, None);
        var second = Assert.Single(await ReceiveAsync());
        var stale = await FailsAsync(ErrorKind.FailedPrecondition,
            () => queues.ChangeVisibilityAsync(Here, "jobs", first.ReceiptHandle!, TimeSpan.Zero, None));
        await queues.DeleteMessageAsync(Here, "jobs", second.ReceiptHandle!, None);
        await FailsAsync(ErrorKind.FailedPrecondition, () => queues.ChangeVisibilityAsync(Here, "jobs", second.ReceiptHandle!, TimeSpan.Zero, None));

        Assert.Equal("receiptHandle", Assert.Single(stale.Problems).Path);
    }

    [Fact]
    public async Task Send_Delays_QueueDefaultAndPerMessageHideTheMessage()
    {
        await queues.CreateAsync(Here, "jobs", new QueueSettings { Delay = TimeSpan.FromSeconds(10) }, None);
        await queues.SendAsync(Here, "jobs", "queue delay", null, None);
        await queues.SendAsync(Here, "jobs", "no delay", TimeSpan.Zero, None);
        await queues.SendAsync(Here, "jobs", "long delay", TimeSpan.FromSeconds(60), None);

        Assert.Equal(["no delay"], (await ReceiveAsync()).Select(m => m.Body));
        Assert.Equal(new QueueCounts(0, 1, 2), await queues.CountAsync(Here, "jobs", None));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(["queue delay"], (await ReceiveAsync()).Select(m => m.Body));
        time.Advance(TimeSpan.FromSeconds(50));
        // In the order they became visible: "no delay" at 30 s (its visibility timeout), "queue delay" at 40 s, "long delay" at 60 s.
        Assert.Equal(["no delay", "queue delay", "long delay"], (await ReceiveAsync()).Select(m => m.Body));
    }

    [Fact]
    public async Task Receive_MessagesPastRetention_AreNotDeliveredAndExpireDeletesThem()
    {
        await queues.CreateAsync(Here, "jobs", new QueueSettings { MessageRetentionPeriod = TimeSpan.FromMinutes(1) }, None);
        await queues.SendAsync(Here, "jobs", "old", null, None);

        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(await ReceiveAsync());
        Assert.Equal(1, await queues.ExpireAsync(None));
        Assert.Equal(0, await queues.ExpireAsync(None));
    }

    [Fact]
    public async Task Purge_QueueWithMessages_EmptiesIt()
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "a", null, None);
        await queues.SendAsync(Here, "jobs", "b", null, None);
        await ReceiveAsync(max: 1);

        Assert.Equal(2, await queues.PurgeAsync(Here, "jobs", None));
        Assert.Equal(new QueueCounts(0, 0, 0), await queues.CountAsync(Here, "jobs", None));
    }

    // ---- long polling (the clock never moves unless a test moves it, so a wait can only end early) ----

    [Fact]
    public async Task Receive_LongPollThenSend_ReturnsTheMessageBeforeTheWaitEnds()
    {
        await QueueAsync();
        var started = time.GetUtcNow();

        var receive = ReceiveAsync(wait: LongPoll);
        Assert.False(receive.IsCompleted);
        Assert.Equal(1, time.ActiveTimers);
        var sent = await Task.Run(() => queues.SendAsync(Here, "jobs", "arrived", null, None));
        var got = await Within(receive);

        Assert.Equal(sent.Id, Assert.Single(got).Id);
        Assert.Equal(started, time.GetUtcNow());
        Assert.Equal(0, time.ActiveTimers);
    }

    [Fact]
    public async Task Receive_LongPollNothingSent_ReturnsEmptyExactlyWhenTheWaitEnds()
    {
        await QueueAsync();

        var receive = ReceiveAsync(wait: LongPoll);
        time.Advance(LongPoll - TimeSpan.FromTicks(1));
        Assert.False(receive.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));

        Assert.Empty(await Within(receive));
    }

    [Fact]
    public async Task Receive_QueueDefaultWait_UsedWhenTheCallGivesNone()
    {
        await queues.CreateAsync(Here, "jobs", new QueueSettings { ReceiveMessageWaitTime = TimeSpan.FromSeconds(5) }, None);

        var receive = queues.ReceiveAsync(Here, "jobs", 1, null, null, None);
        Assert.False(receive.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Empty(await Within(receive));
    }

    [Fact]
    public async Task Receive_LongPollWhileAMessageIsHidden_ReturnsItWhenItsVisibilityEnds()
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "retry me", null, None);
        Assert.Single(await ReceiveAsync(visibility: TimeSpan.FromSeconds(8)));

        var receive = ReceiveAsync(wait: LongPoll);
        time.Advance(TimeSpan.FromSeconds(7));
        Assert.False(receive.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        var again = Assert.Single(await Within(receive));
        Assert.Equal(2, again.ReceiveCount);
    }

    [Fact]
    public async Task Receive_LongPollThenDelayedSend_ReturnsWhenTheDelayEnds()
    {
        await QueueAsync();
        var receive = ReceiveAsync(wait: LongPoll);

        var due = time.GetUtcNow() + TimeSpan.FromSeconds(3);

        await queues.SendAsync(Here, "jobs", "later", TimeSpan.FromSeconds(3), None);
        // The send woke the wait, which found nothing visible and now waits for the delayed message only.
        Assert.True(await Posix.EventuallyAsync(() => time.DueTimes.SequenceEqual([due]), Deadline.Default));
        Assert.False(receive.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal("later", Assert.Single(await Within(receive)).Body);
    }

    [Fact]
    public async Task Receive_LongPollThenVisibilityMadeZero_ReturnsTheMessage()
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "give back", null, None);
        var held = Assert.Single(await ReceiveAsync());
        var receive = ReceiveAsync(wait: LongPoll);

        await queues.ChangeVisibilityAsync(Here, "jobs", held.ReceiptHandle!, TimeSpan.Zero, None);

        Assert.Equal(held.Id, Assert.Single(await Within(receive)).Id);
    }

    [Fact]
    public async Task Receive_TwoWaitersOneMessageEach_EachMessageGoesToOneWaiter()
    {
        await QueueAsync();
        var a = ReceiveAsync(wait: LongPoll);
        var b = ReceiveAsync(wait: LongPoll);

        await queues.SendAsync(Here, "jobs", "one", null, None);
        var first = await Within(Task.WhenAny(a, b));
        var firstGot = Assert.Single(await first);
        var other = first == a ? b : a;
        Assert.False(other.IsCompleted && other.Result.Count > 0);
        await queues.SendAsync(Here, "jobs", "two", null, None);
        var secondGot = Assert.Single(await Within(other));

        Assert.Equal(["one", "two"], new[] { firstGot.Body, secondGot.Body });
    }

    [Fact]
    public async Task Receive_LongPollCancelled_StopsWaiting()
    {
        await QueueAsync();
        using var cts = new CancellationTokenSource();
        var receive = ReceiveAsync(wait: LongPoll, ct: cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(receive));
        Assert.Equal(0, time.ActiveTimers);
    }

    [Fact]
    public async Task Receive_LongPollQueueDeleted_EndsWithNotFound()
    {
        await QueueAsync();
        var receive = ReceiveAsync(wait: LongPoll);

        await queues.DeleteAsync(Here, "jobs", None);

        await FailsAsync(ErrorKind.NotFound, () => Within(receive));
    }

    // ---- bad input ----

    public static TheoryData<string?> BadNames => new() { null, "", new string('a', 81), "a.b", "a b", "a/b", "a:b", "é", "jobs.fifo" };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task Name_Invalid_EveryCallRefusesIt(string? name)
    {
        var handle = QueueReceipts.New(Guid.NewGuid().ToString("D"));

        await FailsAsync(ErrorKind.InvalidArgument, () => queues.CreateAsync(Here, name!, null, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.EnsureQueueAsync(Here, name!, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.GetAsync(Here, name!, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.SendAsync(Here, name!, "x", null, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.ReceiveAsync(Here, name!, 1, null, null, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.DeleteMessageAsync(Here, name!, handle, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.DeleteAsync(Here, name!, None));
    }

    [Fact]
    public async Task Name_Longest_Accepted()
    {
        var name = "A-z_0" + new string('x', 75);

        Assert.Equal(name, (await QueueAsync(name)).Name);
    }

    // By name: a lone surrogate would not survive the trip through the test runner's serialised theory data.
    private static readonly Dictionary<string, string> BadBodyTable = new()
    {
        ["empty"] = "",
        ["nul"] = "nul\0",
        ["control"] = "bell\u0007",
        ["lone high surrogate"] = "lone \uD800 surrogate",
        ["high surrogate at the end"] = "end \uD800",
        ["lone low surrogate"] = "reversed \uDC00\uD800",
        ["noncharacter FFFE"] = "\uFFFE",
        ["one byte too many"] = new string('x', 256 * 1024 + 1),
        ["two-byte characters, one byte too many"] = new string('\u00e9', 128 * 1024) + "x",
    };

    public static TheoryData<string> BadBodies => [.. BadBodyTable.Keys];

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Send_BadBody_RefusedAndNothingStored(string name)
    {
        await QueueAsync();

        var e = await FailsAsync(ErrorKind.InvalidArgument, () => queues.SendAsync(Here, "jobs", BadBodyTable[name], null, None));

        Assert.Equal("body", Assert.Single(e.Problems).Path);
        Assert.Equal(new QueueCounts(0, 0, 0), await queues.CountAsync(Here, "jobs", None));
    }

    [Fact]
    public async Task Send_LargestAndUnusualBodies_Accepted()
    {
        await QueueAsync();
        string[] bodies = [new string('x', 256 * 1024), new string('é', 128 * 1024), "tab\tnl\ncr\r \U0001F600 \uE000 \uFFFD"];

        foreach (var body in bodies)
        {
            await queues.SendAsync(Here, "jobs", body, null, None);
        }

        Assert.Equal(bodies.Order(StringComparer.Ordinal), (await ReceiveAsync()).Select(m => m.Body).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Send_BodyOverTheQueuesOwnLimit_Refused()
    {
        await queues.CreateAsync(Here, "small", new QueueSettings { MaximumMessageSize = 1024 }, None);

        await queues.SendAsync(Here, "small", new string('x', 1024), null, None);
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.SendAsync(Here, "small", new string('x', 1025), null, None));
    }

    public static TheoryData<string, int, double?, double?> BadReceives => new()
    {
        { "maxMessages", 0, null, null },
        { "maxMessages", 11, null, null },
        { "visibilityTimeoutSeconds", 1, -1, null },
        { "visibilityTimeoutSeconds", 1, 12 * 3600 + 1, null },
        { "waitSeconds", 1, null, -1 },
        { "waitSeconds", 1, null, 21 },
    };

    [Theory]
    [MemberData(nameof(BadReceives))]
    public async Task Receive_OutOfRange_Refused(string path, int max, double? visibility, double? wait)
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "x", null, None);

        var e = await FailsAsync(ErrorKind.InvalidArgument, () => queues.ReceiveAsync(Here, "jobs", max,
            visibility is { } v ? TimeSpan.FromSeconds(v) : null, wait is { } w ? TimeSpan.FromSeconds(w) : null, None));

        Assert.Equal(path, Assert.Single(e.Problems).Path);
        Assert.Equal(new QueueCounts(1, 0, 0), await queues.CountAsync(Here, "jobs", None));
    }

    [Fact]
    public async Task Settings_OutOfRange_EveryProblemReported()
    {
        var e = await FailsAsync(ErrorKind.InvalidArgument, () => queues.CreateAsync(Here, "jobs", new QueueSettings
        {
            VisibilityTimeout = TimeSpan.FromHours(13),
            MessageRetentionPeriod = TimeSpan.FromSeconds(59),
            ReceiveMessageWaitTime = TimeSpan.FromSeconds(21),
            Delay = TimeSpan.FromMinutes(16),
            MaximumMessageSize = 1023,
        }, None));

        Assert.Equal(5, e.Problems.Count);
        await FailsAsync(ErrorKind.NotFound, () => queues.GetAsync(Here, "jobs", None));
        await FailsAsync(ErrorKind.InvalidArgument,
            () => queues.CreateAsync(Here, "jobs", new QueueSettings { MessageRetentionPeriod = TimeSpan.FromDays(15) }, None));
        await FailsAsync(ErrorKind.InvalidArgument,
            () => queues.CreateAsync(Here, "jobs", new QueueSettings { MaximumMessageSize = 256 * 1024 + 1 }, None));
    }

    [Fact]
    public async Task Send_DelayOutOfRange_Refused()
    {
        await QueueAsync();

        await FailsAsync(ErrorKind.InvalidArgument, () => queues.SendAsync(Here, "jobs", "x", TimeSpan.FromSeconds(901), None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.SendAsync(Here, "jobs", "x", TimeSpan.FromSeconds(-1), None));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-handle")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    public async Task ReceiptHandle_Malformed_RefusedAsInvalid(string? handle)
    {
        await QueueAsync();

        var e = await FailsAsync(ErrorKind.InvalidArgument, () => queues.DeleteMessageAsync(Here, "jobs", handle!, None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.ChangeVisibilityAsync(Here, "jobs", handle!, TimeSpan.Zero, None));

        Assert.Equal("receiptHandle", Assert.Single(e.Problems).Path);
    }

    [Fact]
    public async Task ChangeVisibility_OutOfRange_Refused()
    {
        await QueueAsync();
        await queues.SendAsync(Here, "jobs", "x", null, None);
        var m = Assert.Single(await ReceiveAsync());

        await FailsAsync(ErrorKind.InvalidArgument, () => queues.ChangeVisibilityAsync(Here, "jobs", m.ReceiptHandle!, TimeSpan.FromHours(12.01), None));
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.ChangeVisibilityAsync(Here, "jobs", m.ReceiptHandle!, TimeSpan.FromSeconds(-1), None));
    }

    [Theory]
    [InlineData("a.b", 10)]
    [InlineData("ok", 0)]
    [InlineData("ok", 1001)]
    public async Task List_BadPrefixOrPageSize_Refused(string prefix, int pageSize) =>
        await FailsAsync(ErrorKind.InvalidArgument, () => queues.ListAsync(Here, prefix, pageSize, null, None));
}
