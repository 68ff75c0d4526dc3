using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Sluice.Bench.Infra;
using Sluice.Client;
using Sluice.Storage.Sqlite;

namespace Sluice.Bench.Suites;

/// <summary>Issue 9 item 7: a million stored runs; list with state and pipeline filters and paging through the API.</summary>
internal static class Scale
{
    private const int Samples = 200;

    /// <summary>A shape that is slow gets fewer samples, so that one bad list cannot make the benchmark run for an hour.</summary>
    private static readonly TimeSpan ShapeBudget = TimeSpan.FromSeconds(15);

    public static async Task<Section> RunAsync(BenchContext ctx)
    {
        var section = new Section("scale", "7. Scale: 1,000,000 stored runs");
        var n = ctx.ScaleRuns;
        var (dir, filled) = await DatasetAsync(ctx, n);
        var dbBytes = new FileInfo(Path.Combine(dir, "sluice.db")).Length;
        var startClock = Stopwatch.StartNew();
        await using var server = await ctx.StartServerAsync(dir);
        var startTook = startClock.Elapsed;
        var http = server.Http;

        async Task<(double Ms, string? Next, int Count)> GetAsync(string path)
        {
            var t0 = Stopwatch.GetTimestamp();
            var page = await http.GetFromJsonAsyncSafe(path);
            return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, page.NextPageToken, page.Runs.Count);
        }

        var shapes = new List<(string Name, string Path, bool Target)>
        {
            ("newest 50, no filter", "api/v1/runs?pageSize=50", true),
            ("pipeline", "api/v1/runs?pipeline=p07&pageSize=50", true),
            ("pipeline with 1 run in 10,000", "api/v1/runs?pipeline=rare&pageSize=50", true),
            ("pipeline with 1 run in 10,000 + state", "api/v1/runs?pipeline=rare&state=Succeeded&pageSize=50", true),
            ("state Failed", "api/v1/runs?state=Failed&pageSize=50", true),
            ("pipeline + state Stopped", "api/v1/runs?pipeline=p07&state=Stopped&pageSize=50", true),
            ("pipeline + states Failed,Stopped", "api/v1/runs?pipeline=p07&state=Failed,Stopped&pageSize=50", true),
            ("pipeline + state, 1,000 per page", "api/v1/runs?pipeline=p07&state=Failed&pageSize=1000", false),
            ("state Running (none match)", "api/v1/runs?state=Running&pageSize=50", true),
            ("label team=t3 (10% of runs)", "api/v1/runs?label=team%3Dt3&pageSize=50", false),
        };
        // Pages 1-20 of one list, along nextPageToken: the tokens are collected once, then each page is requested like a list.
        var basePath = "api/v1/runs?pipeline=p07&state=Succeeded&pageSize=50";
        var pages = new List<string> { basePath };
        while (pages.Count < 20 && (await GetAsync(pages[^1])).Next is { } next)
        {
            pages.Add(basePath + "&pageToken=" + Uri.EscapeDataString(next));
        }

        // Round robin over every shape, so that a noisy moment of a shared machine (or the server's warm-up, 10 s of the same
        // requests first) falls on all of them alike; a shape that is slow gets fewer samples within its budget.
        ctx.Log("scale: warm-up");
        var warm = Stopwatch.StartNew();
        for (var i = 0; warm.Elapsed < TimeSpan.FromSeconds(10); i++)
        {
            await GetAsync(i % 2 == 0 ? shapes[i / 2 % shapes.Count].Path : pages[i / 2 % pages.Count]);
        }
        ctx.Log("scale: lists");
        var profile = await ctx.ProfileAsync(server, "scale");
        var samples = shapes.Select(_ => new List<double>()).ToList();
        var counts = new int[shapes.Count];
        var spent = new TimeSpan[shapes.Count];
        var pageMs = new List<double>();
        for (var round = 0; round < Samples; round++)
        {
            for (var k = 0; k < shapes.Count; k++)
            {
                if (round >= 10 && spent[k] > ShapeBudget)
                {
                    continue;
                }
                var r = await GetAsync(shapes[k].Path);
                samples[k].Add(r.Ms);
                counts[k] = r.Count;
                spent[k] += TimeSpan.FromMilliseconds(r.Ms);
            }
            pageMs.Add((await GetAsync(pages[round % pages.Count])).Ms);
        }
        await profile.DisposeAsync();
        var rows = new List<IReadOnlyList<string>>();
        var all = new List<double>();
        for (var k = 0; k < shapes.Count; k++)
        {
            var st = new Stats(samples[k]);
            if (shapes[k].Target)
            {
                all.AddRange(samples[k]);
            }
            rows.Add([shapes[k].Name, $"`GET /{shapes[k].Path}`", counts[k].ToString(CultureInfo.InvariantCulture), st.Count.ToString(CultureInfo.InvariantCulture),
                Stats.Ms(st.P50), Stats.Ms(st.P99), Stats.Ms(st.Max)]);
        }
        var ps = new Stats(pageMs);
        all.AddRange(pageMs);
        rows.Add([$"pipeline + state, pages 1-{pages.Count} by nextPageToken", $"`GET /{basePath}&pageToken=...`", "50", ps.Count.ToString(CultureInfo.InvariantCulture),
            Stats.Ms(ps.P50), Stats.Ms(ps.P99), Stats.Ms(ps.Max)]);
        var total = new Stats(all);
        var rss = server.RssKb;

        section.Line($"{n:N0} finished runs (one step and two events each; 20 pipelines and a `rare` one holding 1 run in 10,000; 85% Succeeded,")
            .Line("10% Failed, 5% Stopped; a `team` label of 10 values) are stored before the server starts: 10,000 through the SQLite store, the rest")
            .Line($"copies of those made in SQL with new ids and earlier times ({(filled ? "filled in this run" : "reused from bench/.work/cache: same schema")}; the database")
            .Line(Stats.F("is {0:0.0} GiB). The server then starts on it (answering /healthz after {1:0.0} s); after 10 s of the same requests as a warm-up,", dbBytes / 1073741824.0, startTook.TotalSeconds))
            .Line($"each list is requested {Samples} times, round robin with the others, one at a time, from send to the last byte (a shape that has")
            .Line($"taken {ShapeBudget.TotalSeconds:0} s stops early). Server RSS afterwards: {rss / 1024.0:0} MiB.")
            .Line();
        section.Table(["list", "request", "runs in the page", "requests", "p50", "p99", "max"], rows);
        section.Line(Stats.F("All state/pipeline lists and pages together: p50 {0}, p99 {1} (target p99 <= 20 ms). The label list and the 1,000-run page are shown for", Stats.Ms(total.P50), Stats.Ms(total.P99)))
            .Line("information and not counted.");
        section.Add(new Figure($"7. list {n:N0} stored runs by state/pipeline, with paging (p99)", Stats.Ms(total.P99), "<= 20 ms", total.P99 <= 20));
        return section;
    }

    /// <summary>The database with n stored runs: from the cache when its schema is the current one, else filled now.</summary>
    private static async Task<(string Dir, bool Filled)> DatasetAsync(BenchContext ctx, int n)
    {
        var dir = Path.Combine(ctx.WorkRoot, "cache", $"scale-{n}");
        var db = Path.Combine(dir, "sluice.db");
        var stamp = Path.Combine(dir, "complete");
        var schema = await CurrentSchemaAsync(ctx);
        if (File.Exists(stamp) && await File.ReadAllTextAsync(stamp) == schema && File.Exists(db))
        {
            ctx.Log($"scale: reusing {n:N0} stored runs from {dir}");
            return (dir, false);
        }
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        ctx.Log($"scale: storing {n:N0} runs (cached for later runs)");
        await StoreFiller.FillAsync(db, n, ctx.Log);
        await File.WriteAllTextAsync(stamp, schema);
        return (dir, true);
    }

    /// <summary>A hash of the schema the current store creates, so a cached database is used only while it matches.</summary>
    private static async Task<string> CurrentSchemaAsync(BenchContext ctx)
    {
        var db = Path.Combine(ctx.NewDir("schema"), "sluice.db");
        await (await SqliteStore.OpenAsync(db, TimeProvider.System, CancellationToken.None)).DisposeAsync();
        await using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name)";
        var sql = (string)(await cmd.ExecuteScalarAsync())!;
        return "filler-v2 " + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
    }

    private static async Task<RunPage> GetFromJsonAsyncSafe(this HttpClient http, string path)
    {
        using var r = await http.GetAsync(path);
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path}: {(int)r.StatusCode} {body}");
        }
        return System.Text.Json.JsonSerializer.Deserialize<RunPage>(body, SluiceClient.Json)!;
    }
}
