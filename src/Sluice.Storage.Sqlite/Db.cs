using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Sqlite;

/// <summary>Conversions between records and column values, and small SQL helpers.</summary>
internal static class Db
{
    /// <summary>Times are stored as UTC ticks: exact round trip of any DateTimeOffset instant.</summary>
    public static long Ticks(DateTimeOffset time) => time.UtcTicks;

    public static long? Ticks(DateTimeOffset? time) => time?.UtcTicks;

    public static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    /// <summary>Adds a parameter; null becomes SQL NULL.</summary>
    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static List<T> ReadAll<T>(this SqliteCommand command, Func<SqliteDataReader, T> map)
    {
        using var reader = command.ExecuteReader();
        var items = new List<T>();
        while (reader.Read())
        {
            items.Add(map(reader));
        }
        return items;
    }

    public static T? ReadOne<T>(this SqliteCommand command, Func<SqliteDataReader, T> map) where T : class
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    /// <summary>"INSERT INTO t (a, b) VALUES (@a, @b)": parameters are named after their columns.</summary>
    public static string Insert(string table, string columns) =>
        $"INSERT INTO {table} ({columns}) VALUES ({string.Join(", ", Split(columns).Select(c => "@" + c))})";

    /// <summary>"a = @a, b = @b" for every column but the keys.</summary>
    public static string Assign(string columns, params string[] except) =>
        string.Join(", ", Split(columns).Except(except).Select(c => $"{c} = @{c}"));

    private static string[] Split(string columns) =>
        columns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Reads the columns of one row in the order they were selected.</summary>
internal ref struct Row(SqliteDataReader reader) : IStoredRow
{
    private int _next;

    public string Text() => reader.GetString(_next++);

    public string? TextOrNull()
    {
        var i = _next++;
        return reader.IsDBNull(i) ? null : reader.GetString(i);
    }

    public long Int64() => reader.GetInt64(_next++);

    public long? Int64OrNull()
    {
        var i = _next++;
        return reader.IsDBNull(i) ? null : reader.GetInt64(i);
    }

    public int Int32() => checked((int)Int64());

    public int? Int32OrNull() => Int64OrNull() is { } v ? checked((int)v) : null;

    public bool Bool() => Int64() != 0;

    public DateTimeOffset Time() => Db.Time(Int64());

    public DateTimeOffset? TimeOrNull() => Int64OrNull() is { } t ? Db.Time(t) : null;

    public JsonObject Json() => StoredValues.ParseObject(Text());

    public JsonObject? JsonOrNull() => TextOrNull() is { } json ? StoredValues.ParseObject(json) : null;

    public T Enum<T>() where T : struct, Enum => System.Enum.Parse<T>(Text());
}

/// <summary>The WHERE clause of a list query and its parameters.</summary>
internal sealed class Filter
{
    private readonly List<string> _conditions = [];
    private readonly List<(string Name, object? Value)> _parameters = [];

    public Filter Where(string condition, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        _conditions.Add(condition);
        Bind(parameters);
        return this;
    }

    /// <summary>Adds parameters used elsewhere in the statement.</summary>
    public Filter Bind(params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        foreach (var p in parameters)
        {
            _parameters.Add(p);
        }
        return this;
    }

    /// <summary>" WHERE a AND b" (empty when there is no condition), with extra conditions for this use only.</summary>
    public string Clause(params string[] extra)
    {
        var all = _conditions.Concat(extra).ToList();
        return all.Count == 0 ? "" : " WHERE " + string.Join(" AND ", all);
    }

    public SqliteCommand Command(Session session, string sql)
    {
        var command = session.Command(sql);
        foreach (var (name, value) in _parameters)
        {
            command.With(name, value);
        }
        return command;
    }
}
