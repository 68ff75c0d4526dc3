using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

/// <summary>Conversions between records and column values, and typed parameters (a NULL needs its type in PostgreSQL).</summary>
internal static class Pg
{
    public static long Ticks(DateTimeOffset time) => time.UtcTicks;

    public static long? Ticks(DateTimeOffset? time) => time?.UtcTicks;

    public static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    public static NpgsqlCommand Text(this NpgsqlCommand c, string name, string? value) => c.Add(name, NpgsqlDbType.Text, value);

    public static NpgsqlCommand Int64(this NpgsqlCommand c, string name, long? value) => c.Add(name, NpgsqlDbType.Bigint, value);

    public static NpgsqlCommand Int32(this NpgsqlCommand c, string name, int? value) => c.Add(name, NpgsqlDbType.Integer, value);

    public static NpgsqlCommand Bool(this NpgsqlCommand c, string name, bool value) => c.Add(name, NpgsqlDbType.Boolean, value);

    public static NpgsqlCommand Time(this NpgsqlCommand c, string name, DateTimeOffset? value) => c.Int64(name, Ticks(value));

    public static NpgsqlCommand TextArray(this NpgsqlCommand c, string name, string[] value) =>
        c.Add(name, NpgsqlDbType.Array | NpgsqlDbType.Text, value);

    public static NpgsqlCommand Int64Array(this NpgsqlCommand c, string name, long[] value) =>
        c.Add(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint, value);

    private static NpgsqlCommand Add(this NpgsqlCommand c, string name, NpgsqlDbType type, object? value)
    {
        c.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        return c;
    }

    public static async Task<List<T>> ReadAllAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var items = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            items.Add(map(reader));
        }
        return items;
    }

    public static async Task<T?> ReadOneAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken ct) where T : class
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? map(reader) : null;
    }

    /// <summary>"INSERT INTO t (a, b) VALUES (@a, @b)": parameters are named after their columns.</summary>
    public static string Insert(string table, string columns) =>
        $"INSERT INTO {table} ({columns}) VALUES ({string.Join(", ", Split(columns).Select(c => "@" + c))})";

    /// <summary>"a = @a, b = @b" for every column but the keys.</summary>
    public static string Assign(string columns, params string[] except) =>
        string.Join(", ", Split(columns).Except(except).Select(c => $"{c} = @{c}"));

    public static string Prefixed(string columns, string alias) => string.Join(", ", Split(columns).Select(c => alias + "." + c));

    private static string[] Split(string columns) =>
        columns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Reads the columns of one row in the order they were selected.</summary>
internal ref struct Row(NpgsqlDataReader reader) : IStoredRow
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

    public int Int32() => reader.GetInt32(_next++);

    public int? Int32OrNull()
    {
        var i = _next++;
        return reader.IsDBNull(i) ? null : reader.GetInt32(i);
    }

    public bool Bool() => reader.GetBoolean(_next++);

    public DateTimeOffset Time() => Pg.Time(Int64());

    public DateTimeOffset? TimeOrNull() => Int64OrNull() is { } t ? Pg.Time(t) : null;

    public JsonObject Json() => StoredValues.ParseObject(Text());

    public JsonObject? JsonOrNull() => TextOrNull() is { } json ? StoredValues.ParseObject(json) : null;

    public T Enum<T>() where T : struct, Enum => System.Enum.Parse<T>(Text());
}

/// <summary>The WHERE clause of a list query and its parameters.</summary>
internal sealed class Filter
{
    private readonly List<string> _conditions = [];
    private readonly List<Action<NpgsqlCommand>> _parameters = [];

    public Filter Where(string condition, Action<NpgsqlCommand>? bind = null)
    {
        _conditions.Add(condition);
        return bind is null ? this : Bind(bind);
    }

    public Filter Bind(Action<NpgsqlCommand> bind)
    {
        _parameters.Add(bind);
        return this;
    }

    public string Clause() => _conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", _conditions);

    public NpgsqlCommand Apply(NpgsqlCommand command)
    {
        foreach (var bind in _parameters)
        {
            bind(command);
        }
        return command;
    }
}
