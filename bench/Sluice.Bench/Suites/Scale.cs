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

    public static async Task<Section> RunAsync(BenchContext ctx)
    {
        var section = new Section("scale", "7. Scale: 1,000,000 stored runs");
        var n = ctx.ScaleRuns;
        var (dir, filled) = await DatasetAsync(ctx, n);
        var dbBytes = new FileInfo(Path.Combine(dir, "sluice.db")).Length;
        var startClock = Stopwatch.StartNew();
        await using var server = await ServerHost.StartAsync(dir);
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
            ("state Failed", "api/v1/runs?state=Failed&pageSize=50", true),
            ("pipeline + state Stopped", "api/v1/runs?pipeline=p07&state=Stopped&pageSize=50", true),
            ("pipeline + states Failed,Stopped", "api/v1/runs?pipeline=p07&state=Failed,Stopped&pageSize=50", true),
            ("pipeline + state, 1,000 per page", "api/v1/runs?pipeline=p07&state=Failed&pageSize=1000", false),
            ("state Running (none match)", "api/v1/runs?state=Running&pageSize=50", true),
            ("label team=t3 (10% of runs)", "api/v1/runs?label=team%3Dt3&pageSize=50", false),
        };
        var rows = new List<IReadOnlyList<string>>();
        var all = new List<double>();
        foreach (var (name, path, target) in shapes)
        {
            ctx.Log($"scale: {name}");
            for (var i = 0; i < 20; i++)
            {
                await GetAsync(path);
            }
            var ms = new List<double>();
            var count = 0;
            for (var i = 0; i < Samples; i++)
            {
                var r = await GetAsync(path);
                ms.Add(r.Ms);
                count = r.Count;
            }
            var s = new Stats(ms);
            if (target)
            {
                all.AddRange(ms);
            }
            rows.Add([name, $"`GET /{path}`", count.ToString(CultureInfo.InvariantCulture), Stats.Ms(s.P50), Stats.Ms(s.P99), Stats.Ms(s.Max)]);
        }
        // Paging: 20 pages deep along nextPageToken, 10 times over.
        ctx.Log("scale: paging");
        var pageMs = new List<double>();
        var basePath = "api/v1/runs?pipeline=p07&state=Succeeded&pageSize=50";
        for (var rep = 0; rep < 10; rep++)
        {
            string? token = null;
            for (var page = 0; page < 20; page++)
            {
                var r = await GetAsync(basePath + (token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token)));
                pageMs.Add(r.Ms);
                // A small --scale-runs may have fewer pages: start over.
                token = r.Next;
            }
        }
        var ps = new Stats(pageMs);
        all.AddRange(pageMs);
        rows.Add(["pipeline + state, pages 1-20 by nextPageToken", $"`GET /{basePath}&pageToken=...`", "50", Stats.Ms(ps.P50), Stats.Ms(ps.P99), Stats.Ms(ps.Max)]);
        var total = new Stats(all);
        var rss = server.RssKb;

        section.Line($"{n:N0} finished runs (one step and two events each; 20 pipelines, 85% Succeeded, 10% Failed, 5% Stopped, a `team` label of 10")
            .Line($"values) are written through the SQLite store ({(filled ? "filled in this run" : "reused from the cache in bench/.work/cache, same schema")};")
            .Line(Stats.F("the database is {0:0.0} GiB). The server then starts on it (answering /healthz after {1:0.0} s) and each list is requested", dbBytes / 1073741824.0, startTook.TotalSeconds))
            .Line($"{Samples} times in a row after 20 warm-ups, from send to the last byte. Server RSS afterwards: {rss / 1024.0:0} MiB.")
            .Line();
        section.Table(["list", "request", "runs in the page", "p50", "p99", "max"], rows);
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
        return "filler-v1 " + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
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
