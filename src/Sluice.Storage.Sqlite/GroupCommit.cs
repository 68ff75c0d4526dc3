using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Sluice.Storage.Sqlite;

/// <summary>Group commit for the one writer connection: writes that arrive while another group is being written wait,
/// then run together in one transaction, each inside its own savepoint, and are durable with one commit. A write that
/// throws is rolled back to its savepoint alone and its caller gets the exception; every other caller is answered only
/// after the commit that made its write durable. When the transaction itself fails (a commit that cannot be written, a
/// disk full that makes SQLite roll everything back) every write of the group fails, and none of them happened.</summary>
/// <remarks>With one writer at a time there is one write per transaction, as without grouping. Many runs committing at
/// once (a busy server, a batch stop) share the per-transaction cost: the WAL frames of pages several writes touch (the
/// events table's last page, index pages) are written once.</remarks>
internal sealed class GroupCommit(SessionPool writer)
{
    /// <summary>Writes per transaction at most: bounds what one failed commit takes with it and how long a group holds
    /// the writer.</summary>
    private const int MaxGroup = 64;

    private readonly ConcurrentQueue<Write> _queue = new();
    private int _leading;

    public async Task<T> WriteAsync<T>(Func<Session, T> work, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var write = new Write<T>(work);
        _queue.Enqueue(write);
        await LeadAsync(write);
        if (!write.Task.IsCompleted && ct.CanBeCanceled)
        {
            // Cancelled while still queued: it never runs. Once taken into a group, it completes with that group.
            await using var registration = ct.Register(static w => ((Write)w!).TryCancel(), write);
            return await write.Task;
        }
        return await write.Task;
    }

    /// <summary>Runs queued writes unless another caller is already doing it. A caller leads until its own write is
    /// done (so that a steady stream of others' writes never holds it up), then hands what is left to a pool thread,
    /// which leads until the queue is empty (<paramref name="mine"/> null).</summary>
    private async Task LeadAsync(Write? mine)
    {
        while (!_queue.IsEmpty && (mine is null || !mine.IsDone) && Interlocked.CompareExchange(ref _leading, 1, 0) == 0)
        {
            try
            {
                await writer.UseAsync(s => Drain(s, mine), CancellationToken.None);
            }
            catch (Exception e)
            {
                // The store is closing (the pool is disposed): everything still queued fails with that.
                while (_queue.TryDequeue(out var w))
                {
                    if (w.TryTake())
                    {
                        w.Fail(e);
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _leading, 0);
            }
            if (mine is not null && mine.IsDone && !_queue.IsEmpty)
            {
                _ = Task.Run(() => LeadAsync(null));
                return;
            }
            // Otherwise a write queued after the last look but before the lead was given up is picked up here.
        }
    }

    private bool Drain(Session session, Write? mine)
    {
        var group = new List<Write>(MaxGroup);
        while (mine is null || !mine.IsDone)
        {
            group.Clear();
            while (group.Count < MaxGroup && _queue.TryDequeue(out var w))
            {
                if (w.TryTake())
                {
                    group.Add(w);
                }
            }
            if (group.Count == 0)
            {
                break;
            }
            Run(session, group);
        }
        return true;
    }

    private static void Run(Session session, List<Write> group)
    {
        if (group.Count == 1)
        {
            var only = group[0];
            try
            {
                session.InTransaction(only.Run);
                only.Complete();
            }
            catch (Exception e)
            {
                only.Fail(e);
            }
            return;
        }
        try
        {
            session.InTransaction(s =>
            {
                foreach (var w in group)
                {
                    s.Command("SAVEPOINT w").ExecuteNonQuery();
                    try
                    {
                        w.Run(s);
                        s.Command("RELEASE w").ExecuteNonQuery();
                    }
                    // A SQLite error after which SQLite rolled the whole transaction back (disk full, I/O error) fails
                    // the group; any other error is this write's alone.
                    catch (Exception e) when (e is not SqliteException || s.TransactionOpen)
                    {
                        // Undone alone; should the ROLLBACK TO fail, so does the group (this write with its own error).
                        w.Failed = e;
                        s.Command("ROLLBACK TO w").ExecuteNonQuery();
                        s.Command("RELEASE w").ExecuteNonQuery();
                    }
                }
                return true;
            });
        }
        catch (Exception e)
        {
            // Nothing of the group was written.
            foreach (var w in group)
            {
                w.Fail(w.Failed ?? e);
            }
            return;
        }
        foreach (var w in group)
        {
            if (w.Failed is { } own)
            {
                w.Fail(own);
            }
            else
            {
                w.Complete();
            }
        }
    }

    private abstract class Write
    {
        private const int Queued = 0;
        private const int Taken = 1;
        private const int Cancelled = 2;
        private int _state;

        /// <summary>The write's own exception, rolled back to its savepoint while the group went on.</summary>
        public Exception? Failed { get; set; }

        /// <summary>Answered (or cancelled).</summary>
        public abstract bool IsDone { get; }

        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        public void TryCancel()
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                Cancel();
            }
        }

        public abstract bool Run(Session session);

        public abstract void Complete();

        public abstract void Fail(Exception e);

        protected abstract void Cancel();
    }

    private sealed class Write<T>(Func<Session, T> work) : Write
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _done.Task;

        public override bool IsDone => _done.Task.IsCompleted;

        public override bool Run(Session session)
        {
            _result = work(session);
            return true;
        }

        public override void Complete() => _done.TrySetResult(_result);

        public override void Fail(Exception e) => _done.TrySetException(e);

        protected override void Cancel() => _done.TrySetCanceled();
    }
}
