using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>`runs logs`: one step's log as it is, or every step's with each line prefixed by "[step] "; with
/// --follow, new lines as they are written (every attempt, steps that start later too) until the steps end.</summary>
internal static class RunLogs
{
    private static readonly HashSet<string> NotStarted = new(StringComparer.Ordinal) { "Pending", "NotStarted", "Skipped" };

    public static async Task PrintAsync(CliContext ctx, string runId, string? step, bool follow, string stream, int? attempt, CancellationToken ct)
    {
        var run = await ctx.Client.GetRunAsync(runId, ct);
        var steps = run.Steps ?? [];
        var output = new LineWriter(ctx.Terminal.Out);
        if (step is null && steps.Count == 1)
        {
            step = steps[0].Name;
        }
        if (step is not null)
        {
            if (!steps.Any(s => s.Name == step))
            {
                throw new CliException(ExitCodes.NotFound, $"run {run.Id} has no step '{step}' (its steps: {string.Join(", ", steps.Select(s => s.Name))})");
            }
            if (!follow || attempt is not null)
            {
                await CopyAsync(follow ? ctx.StreamingClient() : ctx.Client, run.Id, step, stream, attempt, follow, output, null, ct);
                return;
            }
            await FollowStepAsync(ctx, ctx.StreamingClient(), run.Id, step, stream, output, null, ct);
            return;
        }
        if (!follow)
        {
            foreach (var s in steps.Where(s => s.StartedAt is not null).OrderBy(s => s.StartedAt))
            {
                await CopyAsync(ctx.Client, run.Id, s.Name, stream, null, false, output, $"[{s.Name}] ", ct);
            }
            return;
        }
        await FollowRunAsync(ctx, run, stream, output, ct);
    }

    /// <summary>Every step of the run, each followed from when it starts; done when the run has ended and every log is drained.</summary>
    private static async Task FollowRunAsync(CliContext ctx, RunInfo run, string stream, LineWriter output, CancellationToken ct)
    {
        var client = ctx.StreamingClient();
        var followers = new List<Task>();
        var followed = new HashSet<string>(StringComparer.Ordinal);
        void Follow(string step)
        {
            if (followed.Add(step))
            {
                followers.Add(FollowStepAsync(ctx, client, run.Id, step, stream, output, $"[{step}] ", ct));
            }
        }
        foreach (var s in run.Steps ?? [])
        {
            if (!NotStarted.Contains(s.State))
            {
                Follow(s.Name);
            }
        }
        if (!RunWatcher.IsTerminal(run.State))
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // The stream replays the run's history first, so a step that started just now is not missed.
            await foreach (var e in client.EventsAsync(run.Id, after: 0, cts.Token))
            {
                if (e.Step is { } step && e.To is "Starting" or "Running")
                {
                    Follow(step);
                }
                if (e.Step is null && RunWatcher.IsTerminal(e.To))
                {
                    break;
                }
            }
            await cts.CancelAsync();
        }
        await Task.WhenAll(followers);
    }

    /// <summary>Follows every attempt of one step, from the one running now, until the step has ended.</summary>
    private static async Task FollowStepAsync(CliContext ctx, SluiceClient client, string runId, string step, string stream, LineWriter output,
        string? prefix, CancellationToken ct)
    {
        var current = (await ctx.Client.GetRunAsync(runId, ct)).Steps!.First(s => s.Name == step);
        var attempt = Math.Max(1, current.Attempt);
        while (true)
        {
            await CopyAsync(client, runId, step, stream, attempt, true, output, prefix, ct);
            current = (await ctx.Client.GetRunAsync(runId, ct)).Steps!.First(s => s.Name == step);
            if (current.Attempt <= attempt)
            {
                return;
            }
            attempt++;
            output.Line($"{prefix}--- attempt {attempt} ---");
        }
    }

    private static async Task CopyAsync(SluiceClient client, string runId, string step, string stream, int? attempt, bool follow,
        LineWriter output, string? prefix, CancellationToken ct)
    {
        await using var s = await client.GetLogsAsync(runId, step, stream, attempt, follow, ct);
        if (prefix is null)
        {
            // One step: the bytes as written, flushed as they come.
            var buffer = new char[8192];
            using var raw = new StreamReader(s);
            int n;
            while ((n = await raw.ReadAsync(buffer, ct)) > 0)
            {
                output.Raw(buffer.AsSpan(0, n));
            }
            return;
        }
        using var reader = new StreamReader(s);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            output.Line(prefix + line);
        }
    }

    /// <summary>Whole lines from several followers at once, never interleaved within a line.</summary>
    private sealed class LineWriter(TextWriter w)
    {
        private readonly Lock gate = new();

        public void Line(string line)
        {
            lock (gate)
            {
                w.WriteLine(line);
                w.Flush();
            }
        }

        public void Raw(ReadOnlySpan<char> text)
        {
            lock (gate)
            {
                w.Write(text);
                w.Flush();
            }
        }
    }
}
