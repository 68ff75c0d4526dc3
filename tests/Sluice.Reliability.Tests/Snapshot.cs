using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Sluice.Reliability.Tests;

/// <summary>Everything a request could change, as text: every row of every table of the server's SQLite store (read through
/// a read-only connection while the server runs, WAL gives a consistent view) and the files of the data directory.</summary>
public static class Snapshot
{
    public static string Of(string dataDir)
    {
        var sb = new StringBuilder();
        using (var c = new SqliteConnection($"Data Source={Path.Combine(dataDir, "sluice.db")};Mode=ReadOnly;Pooling=False"))
        {
            c.Open();
            var tables = new List<string>();
            using (var cmd = c.CreateCommand())
            {
                // nodes holds this node's heartbeat, renewed on a timer: not state a request changes.
                cmd.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'nodes' ORDER BY name";
                using var rd = cmd.ExecuteReader();
                while (rd.Read())
                {
                    tables.Add(rd.GetString(0));
                }
            }
            foreach (var t in tables)
            {
                sb.Append("## ").AppendLine(t);
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"SELECT * FROM \"{t}\" ORDER BY 1";
                using var rd = cmd.ExecuteReader();
                while (rd.Read())
                {
                    for (var i = 0; i < rd.FieldCount; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append(" | ");
                        }
                        var v = rd.IsDBNull(i) ? "NULL"
                            : rd.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes)
                            : Convert.ToString(rd.GetValue(i), CultureInfo.InvariantCulture) ?? "";
                        // Long values (definitions, bodies) by a hash: equal within this process is all that is asked.
                        sb.Append(v.Length > 200 ? $"{v[..80]}...#{v.Length}:{v.GetHashCode(StringComparison.Ordinal)}" : v);
                    }
                    sb.AppendLine();
                }
            }
        }
        sb.AppendLine("## files");
        foreach (var f in Directory.EnumerateFileSystemEntries(dataDir, "*", SearchOption.AllDirectories)
                     .Where(f => !Path.GetFileName(f).StartsWith("sluice.db", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            sb.Append(Path.GetRelativePath(dataDir, f)).Append(' ')
                .AppendLine(File.Exists(f) ? new FileInfo(f).Length.ToString(CultureInfo.InvariantCulture) : "dir");
        }
        return sb.ToString();
    }

    /// <summary>The lines that differ (for a failure message).</summary>
    public static string Diff(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        var gone = a.Except(b, StringComparer.Ordinal).Take(20).Select(l => "- " + l);
        var came = b.Except(a, StringComparer.Ordinal).Take(20).Select(l => "+ " + l);
        return string.Join('\n', gone.Concat(came));
    }
}
