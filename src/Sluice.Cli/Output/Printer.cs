using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sluice.Client;

namespace Sluice.Cli.Output;

/// <summary>The -o formats: a table for people, JSON and YAML for scripts, bare names or ids for pipes.</summary>
internal enum OutputFormat
{
    Table,
    Json,
    Yaml,
    Name,
}

/// <summary>Prints a value (or a list) in the chosen format; the table form is the command's own.</summary>
internal sealed class Printer(Terminal terminal, OutputFormat format)
{
    public static readonly JsonSerializerOptions Json = new(SluiceClient.Json)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new UtcTimeConverter() },
    };

    public OutputFormat Format => format;

    public bool IsTable => format == OutputFormat.Table;

    public void Value<T>(T value, Action table, Func<T, string>? name = null)
    {
        switch (format)
        {
            case OutputFormat.Table:
                table();
                break;
            case OutputFormat.Name when name is not null:
                terminal.Line(name(value));
                break;
            case OutputFormat.Name:
                table();
                break;
            default:
                Data(value);
                break;
        }
    }

    /// <summary>A list: JSON and YAML print an array of the items.</summary>
    public void List<T>(IReadOnlyList<T> items, Action table, Func<T, string>? name = null)
    {
        switch (format)
        {
            case OutputFormat.Table:
                table();
                break;
            case OutputFormat.Name when name is not null:
                foreach (var i in items)
                {
                    terminal.Line(name(i));
                }
                break;
            case OutputFormat.Name:
                table();
                break;
            default:
                Data(items);
                break;
        }
    }

    /// <summary>Writes <paramref name="value"/> as JSON or YAML (as JSON for the table and name formats).</summary>
    public void Data<T>(T value)
    {
        var element = JsonSerializer.SerializeToElement(value, Json);
        if (format == OutputFormat.Yaml)
        {
            terminal.Out.Write(YamlText.Write(element));
        }
        else
        {
            terminal.Line(JsonSerializer.Serialize(element, Json));
        }
    }
}

/// <summary>Times as the API writes them (RFC 3339, UTC, milliseconds, "Z"), not as "+00:00".</summary>
internal sealed class UtcTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
}
