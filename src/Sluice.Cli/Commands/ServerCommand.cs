using System.CommandLine;
using Sluice.Server.Hosting;

namespace Sluice.Cli.Commands;

/// <summary>sluice server: hosts the very server src/Sluice.Server builds (the same builder), in this process.</summary>
internal static class ServerCommand
{
    public static Command Instance { get; } = Create();

    public static Command Build() => Instance;

    private static Command Create()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Where the database, step logs and outputs are kept (default ./data)", HelpName = "DIR" };
        var urls = new Option<string?>("--urls") { Description = $"Where to listen (default {SluiceServer.DefaultUrls})", HelpName = "URL[;URL]" };
        var slots = new Option<int?>("--slots") { Description = "How many process steps may run at once on this node", HelpName = "N" };
        var c = new Command("server", "Start the Sluice server (as ./build.sh run does)") { dataDir, urls, slots };
        // Anything else (e.g. --Logging:LogLevel:Default=Warning) goes to the server's configuration as it is.
        c.TreatUnmatchedTokensAsErrors = false;
        c.SetAction(async (pr, ct) =>
        {
            var args = new List<string>();
            if (pr.GetValue(urls) is { } u)
            {
                args.AddRange(["--urls", u]);
            }
            if (pr.GetValue(dataDir) is { } d)
            {
                args.AddRange(["--data-dir", d]);
            }
            if (pr.GetValue(slots) is { } s)
            {
                args.AddRange(["--slots", s.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }
            args.AddRange(pr.UnmatchedTokens);
            try
            {
                var app = await SluiceServer.BuildAsync([.. args]);
                await app.RunAsync();
                return ExitCodes.Ok;
            }
            catch (Exception e)
            {
                // A port in use, a data directory that cannot be written, a bad --slots: one line, not a stack trace.
                Console.Error.WriteLine($"error: the server could not start: {e.Message}");
                return ExitCodes.Failed;
            }
        });
        return c;
    }
}
