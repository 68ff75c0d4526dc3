using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Xunit;

namespace Sluice.TestKit;

/// <summary>What every queue store must do: at-least-once delivery, receipt handles, ordering, durability. Each backend
/// derives from this and says how to open a store over the test's database (a new database per test).</summary>
public abstract class QueueStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Scope Here = Scope.Default;
    private static readonly Scope Elsewhere = new("000000000000", "us-east-1");

    private IQueueStore store = null!;

    /// <summary>Opens a store over this test's database; each call opens another one over the same database.</summary>
    protected abstract Task<IQueueStore> OpenAsync();

    /// <summary>Rows left in the message table, however the backend stores them.</summary>
    protected abstract Task<long> CountMessageRowsAsync();

    public virtual async Task InitializeAsync() => store = await OpenAsync();

    public virtual async Task DisposeAsync() => await ((IAsyncDisposable)store).DisposeAsync();

    private static QueueRecord Queue(string name, Scope? scope = null, QueueAttributes? attributes = null) => new()
    {
        Scope = scope ?? Here, Name = name, Attributes = attributes ?? new QueueAttributes(), CreatedAt = T0,
    };

    private static QueueMessage Message(string body, DateTimeOffset? at = null, TimeSpan? delay = null, TimeSpan? retention = null)
    {
        var sent = at ?? T0;
        return new QueueMessage
        {
            Id = Guid.NewGuid().ToString("D"), Body = body, Md5 = "0123456789abcdef0123456789abcdef", SentAt = sent,
            VisibleAt = sent + (delay ?? TimeSpan.Zero), ExpiresAt = sent + (retention ?? TimeSpan.FromDays(4)),
        };
    }

    private async Task<QueueMessage> SendAsync(string queue, string body, DateTimeOffset? at = null, TimeSpan? delay = null,
        TimeSpan? retention = null)
    {
        var m = Message(body, at, delay, retention);
        Assert.True(await store.SendMessageAsync(Here, queue, m, None));
        return m;
    }

    private async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(string queue, int max, DateTimeOffset now, TimeSpan? hide = null) =>
        (await store.ReceiveMessagesAsync(Here, queue, max, now, now + (hide ?? TimeSpan.FromSeconds(30)), None))!.Messages;

    // ---- queues ----

    [SkippableFact]
    public async Task CreateQueue_New_ReturnsItCreatedAndGetFindsIt()
    {
        var q = Queue("jobs", attributes: new QueueAttributes { VisibilityTimeout = TimeSpan.FromMinutes(5), MaximumMessageSize = 2048 });

        var (created, isNew) = await store.CreateQueueAsync(q, None);

        Assert.True(isNew);
        Assert.Equal(q, created);
        Assert.Equal(q, await store.GetQueueAsync(Here, "jobs", None));
    }

    [SkippableFact]
    public async Task CreateQueue_SameNameSameAttributes_ReturnsExistingNotCreated()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);

        var (again, isNew) = await store.CreateQueueAsync(Queue("jobs") with { CreatedAt = T0.AddHours(1) }, None);

        Assert.False(isNew);
        Assert.Equal(T0, again.CreatedAt);
    }

    [SkippableFact]
    public async Task CreateQueue_SameNameOtherAttributes_ThrowsAlreadyExists()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);

        await Assert.ThrowsAsync<AlreadyExistsException>(() =>
            store.CreateQueueAsync(Queue("jobs", attributes: new QueueAttributes { Delay = TimeSpan.FromSeconds(5) }), None));
    }

    [SkippableFact]
    public async Task Queues_SameNameInTwoScopes_AreSeparate()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await store.CreateQueueAsync(Queue("jobs", Elsewhere), None);
        await SendAsync("jobs", "here");

        Assert.Empty((await store.ReceiveMessagesAsync(Elsewhere, "jobs", 10, T0, T0, None))!.Messages);
        Assert.Null(await store.GetQueueAsync(new Scope("other", "local"), "jobs", None));
        Assert.Equal("here", Assert.Single(await ReceiveAsync("jobs", 10, T0)).Body);
    }

    [SkippableFact]
    public async Task ListQueues_PrefixAndPages_ReturnsMatchingNamesInOrder()
    {
        foreach (var n in new[] { "b-1", "a-3", "a-1", "A-2", "a-2", "ab" })
        {
            await store.CreateQueueAsync(Queue(n), None);
        }
        await store.CreateQueueAsync(Queue("a-0", Elsewhere), None);

        var first = await store.ListQueuesAsync(Here, "a-", 2, null, None);
        var second = await store.ListQueuesAsync(Here, "a-", 2, first.NextPageToken, None);
        var all = await store.ListQueuesAsync(Here, null, 100, null, None);

        Assert.Equal(["a-1", "a-2"], first.Items.Select(q => q.Name));
        Assert.NotNull(first.NextPageToken);
        Assert.Equal(["a-3"], second.Items.Select(q => q.Name));
        Assert.Null(second.NextPageToken);
        Assert.Equal(["A-2", "a-1", "a-2", "a-3", "ab", "b-1"], all.Items.Select(q => q.Name));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ListQueuesAsync(Here, null, 2, "not-a-token", None));
    }

    [SkippableFact]
    public async Task DeleteQueue_WithMessages_RemovesThemAndANewQueueOfTheNameStartsEmpty()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "one");
        var received = Assert.Single(await ReceiveAsync("jobs", 1, T0));
        await SendAsync("jobs", "two");

        Assert.True(await store.DeleteQueueAsync(Here, "jobs", None));
        Assert.False(await store.DeleteQueueAsync(Here, "jobs", None));
        Assert.Null(await store.GetQueueAsync(Here, "jobs", None));
        await store.CreateQueueAsync(Queue("jobs"), None);

        Assert.Equal(new QueueCounts(0, 0, 0), await store.CountMessagesAsync(Here, "jobs", T0, None));
        Assert.Equal(ReceiptResult.MessageGone, await store.DeleteMessageAsync(Here, "jobs", received.ReceiptHandle!, None));
        Assert.Equal(0L, await CountMessageRowsAsync());
    }

    [SkippableFact]
    public async Task PurgeQueue_VisibleAndInFlight_RemovesAllAndCounts()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "one");
        await SendAsync("jobs", "two");
        await ReceiveAsync("jobs", 1, T0);

        Assert.Equal(2, await store.PurgeQueueAsync(Here, "jobs", None));
        Assert.Null(await store.PurgeQueueAsync(Here, "missing", None));
        Assert.Empty(await ReceiveAsync("jobs", 10, T0.AddDays(1)));
    }

    [SkippableFact]
    public async Task MissingQueue_EveryMessageOperation_SaysSo()
    {
        var handle = QueueReceipts.New(Guid.NewGuid().ToString("D"));

        Assert.False(await store.SendMessageAsync(Here, "missing", Message("x"), None));
        Assert.Null(await store.ReceiveMessagesAsync(Here, "missing", 1, T0, T0, None));
        Assert.Null(await store.CountMessagesAsync(Here, "missing", T0, None));
        Assert.Equal(ReceiptResult.QueueGone, await store.DeleteMessageAsync(Here, "missing", handle, None));
        Assert.Equal(ReceiptResult.QueueGone, await store.ChangeVisibilityAsync(Here, "missing", handle, T0, None));
    }

    // ---- messages ----

    [SkippableFact]
    public async Task Send_TakenId_ThrowsAlreadyExists()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        var m = await SendAsync("jobs", "one");

        await Assert.ThrowsAsync<AlreadyExistsException>(() => store.SendMessageAsync(Here, "jobs", m with { Body = "two" }, None));
    }

    [SkippableFact]
    public async Task Receive_SeveralMessages_OldestFirstHiddenWithNewHandlesAndCounted()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        var sent = new List<QueueMessage>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add(await SendAsync("jobs", $"m{i}", T0.AddTicks(i)));
        }
        var now = T0.AddSeconds(1);

        var first = await ReceiveAsync("jobs", 2, now, TimeSpan.FromSeconds(30));
        var second = await ReceiveAsync("jobs", 2, now, TimeSpan.FromSeconds(30));
        var none = await store.ReceiveMessagesAsync(Here, "jobs", 2, now, now, None);

        Assert.Equal(["m0", "m1"], first.Select(m => m.Body));
        Assert.Equal(["m2"], second.Select(m => m.Body));
        Assert.Empty(none!.Messages);
        Assert.Equal(now.AddSeconds(30), none.NextVisibleAt);
        foreach (var m in first.Concat(second))
        {
            var original = sent.Single(s => s.Id == m.Id);
            Assert.Equal(original with { ReceiveCount = 1, FirstReceivedAt = now, VisibleAt = now.AddSeconds(30), ReceiptHandle = m.ReceiptHandle }, m);
            Assert.True(QueueReceipts.TryParse(m.ReceiptHandle, out var id));
            Assert.Equal(m.Id, id);
        }
        Assert.Equal(3, first.Concat(second).Select(m => m.ReceiptHandle).Distinct().Count());
    }

    [SkippableFact]
    public async Task Receive_AfterVisibilityTimeout_RedeliversWithANewHandleAndOnlyThatHandleActs()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "one");
        var first = Assert.Single(await ReceiveAsync("jobs", 1, T0, TimeSpan.FromSeconds(30)));

        Assert.Empty(await ReceiveAsync("jobs", 1, T0.AddSeconds(29)));
        var second = Assert.Single(await ReceiveAsync("jobs", 1, T0.AddSeconds(30)));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.ReceiveCount);
        Assert.Equal(T0, second.FirstReceivedAt);
        Assert.NotEqual(first.ReceiptHandle, second.ReceiptHandle);
        Assert.Equal(ReceiptResult.Stale, await store.ChangeVisibilityAsync(Here, "jobs", first.ReceiptHandle!, T0, None));
        Assert.Equal(ReceiptResult.Stale, await store.DeleteMessageAsync(Here, "jobs", first.ReceiptHandle!, None));
        Assert.Equal(new QueueCounts(0, 1, 0), await store.CountMessagesAsync(Here, "jobs", T0.AddSeconds(31), None));
        Assert.Equal(ReceiptResult.Applied, await store.DeleteMessageAsync(Here, "jobs", second.ReceiptHandle!, None));
        Assert.Equal(ReceiptResult.MessageGone, await store.DeleteMessageAsync(Here, "jobs", second.ReceiptHandle!, None));
        Assert.Empty(await ReceiveAsync("jobs", 1, T0.AddHours(1)));
    }

    [SkippableFact]
    public async Task Receive_RedeliveredMessage_ComesInTheOrderItBecameVisible()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "early", T0);
        Assert.Single(await ReceiveAsync("jobs", 1, T0, TimeSpan.FromSeconds(10)));
        await SendAsync("jobs", "late", T0.AddSeconds(5));

        var both = await ReceiveAsync("jobs", 10, T0.AddSeconds(20));

        Assert.Equal(["late", "early"], both.Select(m => m.Body));
    }

    [SkippableFact]
    public async Task ChangeVisibility_LatestHandle_MovesTheTimeItIsVisibleAgain()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "one");
        var m = Assert.Single(await ReceiveAsync("jobs", 1, T0, TimeSpan.FromHours(1)));

        Assert.Equal(ReceiptResult.Applied, await store.ChangeVisibilityAsync(Here, "jobs", m.ReceiptHandle!, T0.AddSeconds(5), None));

        Assert.Empty(await ReceiveAsync("jobs", 1, T0.AddSeconds(4)));
        var again = Assert.Single(await ReceiveAsync("jobs", 1, T0.AddSeconds(5)));
        Assert.Equal(2, again.ReceiveCount);
    }

    [SkippableFact]
    public async Task Receive_DelayedMessage_HiddenUntilItsDelayEndsAndCountedAsDelayed()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "later", delay: TimeSpan.FromSeconds(10));
        await SendAsync("jobs", "now");

        Assert.Equal(new QueueCounts(1, 0, 1), await store.CountMessagesAsync(Here, "jobs", T0, None));
        Assert.Equal("now", Assert.Single(await ReceiveAsync("jobs", 10, T0)).Body);
        var none = await store.ReceiveMessagesAsync(Here, "jobs", 10, T0.AddSeconds(1), T0.AddSeconds(1), None);
        Assert.Empty(none!.Messages);
        Assert.Equal(T0.AddSeconds(10), none.NextVisibleAt);
        Assert.Equal(new QueueCounts(0, 1, 1), await store.CountMessagesAsync(Here, "jobs", T0.AddSeconds(1), None));
        Assert.Equal("later", Assert.Single(await ReceiveAsync("jobs", 10, T0.AddSeconds(10))).Body);
    }

    [SkippableFact]
    public async Task Expiry_PastRetention_NotReceivedNotCountedThenDeleted()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        await SendAsync("jobs", "short", retention: TimeSpan.FromMinutes(1));
        await SendAsync("jobs", "long");
        var later = T0.AddMinutes(1);

        Assert.Equal(new QueueCounts(1, 0, 0), await store.CountMessagesAsync(Here, "jobs", later, None));
        Assert.Equal(0, await store.ExpireMessagesAsync(T0, 10, None));
        Assert.Equal(1, await store.ExpireMessagesAsync(later, 10, None));
        Assert.Equal("long", Assert.Single(await ReceiveAsync("jobs", 10, later)).Body);
    }

    [SkippableFact]
    public async Task Expiry_ManyMessages_DeletesAtMostTheLimitPerCall()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        for (var i = 0; i < 5; i++)
        {
            await SendAsync("jobs", $"m{i}", retention: TimeSpan.FromMinutes(1));
        }

        Assert.Equal(3, await store.ExpireMessagesAsync(T0.AddHours(1), 3, None));
        Assert.Equal(2, await store.ExpireMessagesAsync(T0.AddHours(1), 3, None));
    }

    // ---- concurrency and durability ----

    [SkippableFact]
    public async Task Receive_ManyConcurrentReceivers_NoMessageHandedOutTwice()
    {
        await store.CreateQueueAsync(Queue("jobs"), None);
        const int Count = 300;
        for (var i = 0; i < Count; i++)
        {
            await SendAsync("jobs", $"m{i}");
        }
        // A second store on the same database stands for a second process.
        var other = await OpenAsync();
        await using var _ = (IAsyncDisposable)other;

        var receivers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            var s = i % 2 == 0 ? store : other;
            var got = new List<string>();
            while (true)
            {
                var batch = (await s.ReceiveMessagesAsync(Here, "jobs", 1 + i % 10, T0, T0.AddHours(1), None))!.Messages;
                if (batch.Count == 0)
                {
                    return got;
                }
                got.AddRange(batch.Select(m => m.Id));
            }
        })).ToList();
        var all = (await Task.WhenAll(receivers).WaitAsync(Deadline.Default)).SelectMany(g => g).ToList();

        Assert.Equal(Count, all.Count);
        Assert.Equal(Count, all.Distinct().Count());
        Assert.Equal(new QueueCounts(0, Count, 0), await store.CountMessagesAsync(Here, "jobs", T0, None));
    }

    [SkippableFact]
    public async Task Reopen_QueuesMessagesAndDeliveries_Survive()
    {
        await store.CreateQueueAsync(Queue("jobs", attributes: new QueueAttributes { VisibilityTimeout = TimeSpan.FromMinutes(2) }), None);
        var first = await SendAsync("jobs", "first");
        var inFlight = Assert.Single(await ReceiveAsync("jobs", 1, T0, TimeSpan.FromMinutes(1)));
        Assert.Equal(first.Id, inFlight.Id);
        await SendAsync("jobs", "second");

        await ((IAsyncDisposable)store).DisposeAsync();
        store = await OpenAsync();

        Assert.Equal(TimeSpan.FromMinutes(2), (await store.GetQueueAsync(Here, "jobs", None))!.Attributes.VisibilityTimeout);
        Assert.Equal(new QueueCounts(1, 1, 0), await store.CountMessagesAsync(Here, "jobs", T0, None));
        Assert.Equal(["second"], (await ReceiveAsync("jobs", 10, T0)).Select(m => m.Body));
        Assert.Equal(ReceiptResult.Applied, await store.DeleteMessageAsync(Here, "jobs", inFlight.ReceiptHandle!, None));
        Assert.Equal(new QueueCounts(0, 1, 0), await store.CountMessagesAsync(Here, "jobs", T0, None));
    }
}
