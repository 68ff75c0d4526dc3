using System.CommandLine;
using Sluice.Cli.Output;

namespace Sluice.Cli;

/// <summary>Options shared by many commands.</summary>
internal static class CliOptions
{
    /// <summary>On every command: where the server is.</summary>
    public static readonly Option<string?> Server = new("--server")
    {
        Description = "The Sluice server (default: $SLUICE_SERVER, else http://127.0.0.1:9400)",
        HelpName = "URL",
        Recursive = true,
    };

    /// <summary>On every command: the API token to send.</summary>
    public static readonly Option<string?> Token = new("--token")
    {
        Description = "The API token (default: $SLUICE_TOKEN, else the local admin token of a server on this machine: "
            + "$SLUICE_DATA_DIR/admin.token or ./data/admin.token)",
        HelpName = "TOKEN",
        Recursive = true,
    };

    /// <summary>-o on the commands that print resources (not on callbacks succeed, where -o names an output).</summary>
    public static readonly Option<OutputFormat> Output = OutputOption("--output", "-o");

    /// <summary>The same, without -o, for commands where -o means something else.</summary>
    public static readonly Option<OutputFormat> Format = OutputOption("--format");

    private static Option<OutputFormat> OutputOption(string name, params string[] aliases)
    {
        var o = new Option<OutputFormat>(name, aliases)
        {
            Description = "Output format: table, json, yaml or name",
            HelpName = "table|json|yaml|name",
            DefaultValueFactory = _ => OutputFormat.Table,
            CustomParser = r =>
            {
                var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
                if (Enum.TryParse<OutputFormat>(text, ignoreCase: true, out var f) && !int.TryParse(text, out _))
                {
                    return f;
                }
                r.AddError($"{name} must be table, json, yaml or name, not '{text}'");
                return OutputFormat.Table;
            },
        };
        // The enum would offer its member names (Table, Json, ...); the values are written in lower case.
        o.CompletionSources.Clear();
        o.CompletionSources.Add("table", "json", "yaml", "name");
        return o;
    }

    /// <summary>NAME=VALUE pairs from a repeatable option; the first '=' splits, so a value may hold '='.</summary>
    public static Dictionary<string, string> Pairs(IEnumerable<string>? items, string option, bool allowEmptyValue = true)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items ?? [])
        {
            var i = item.IndexOf('=', StringComparison.Ordinal);
            if (i <= 0 || (!allowEmptyValue && i == item.Length - 1))
            {
                throw CliException.Usage($"{option} takes NAME=VALUE, not '{item}'");
            }
            var key = item[..i];
            if (!map.TryAdd(key, item[(i + 1)..]))
            {
                throw CliException.Usage($"{option} {key} is given twice");
            }
        }
        return map;
    }

    /// <summary>Comma-separated and repeated values as one list: --state Running,Queued --state Stopping.</summary>
    public static List<string> Split(IEnumerable<string>? items) =>
        [.. (items ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
}
