using System.CommandLine;
using System.Net.Http.Headers;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli;

/// <summary>What one invocation works with: the server's address, a client for it, and the terminal.</summary>
internal sealed class CliContext
{
    public const string DefaultServer = "http://127.0.0.1:9400";

    private readonly Lazy<SluiceClient> client;

    private CliContext(Uri server, Terminal terminal, TimeProvider time)
    {
        Server = server;
        Terminal = terminal;
        Time = time;
        client = new Lazy<SluiceClient>(() => new SluiceClient(NewHttp(server, TimeSpan.FromSeconds(100))));
    }

    public Uri Server { get; }

    public Terminal Terminal { get; }

    public TimeProvider Time { get; }

    public SluiceClient Client => client.Value;

    /// <summary>A client whose requests may stay open for as long as they need (event streams, followed logs).</summary>
    public SluiceClient StreamingClient() => new(NewHttp(Server, Timeout.InfiniteTimeSpan));

    public DateTimeOffset Now => Time.GetUtcNow();

    public Printer Printer(ParseResult pr) => new(Terminal, pr.GetValue(CliOptions.Output));

    /// <summary>The server is --server, else $SLUICE_SERVER, else http://127.0.0.1:9400.</summary>
    public static CliContext Create(ParseResult pr, Terminal terminal)
    {
        var given = pr.GetValue(CliOptions.Server);
        var env = Environment.GetEnvironmentVariable("SLUICE_SERVER");
        var text = !string.IsNullOrWhiteSpace(given) ? given : !string.IsNullOrWhiteSpace(env) ? env : DefaultServer;
        var source = !string.IsNullOrWhiteSpace(given) ? "--server" : !string.IsNullOrWhiteSpace(env) ? "SLUICE_SERVER" : "the default";
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query))
        {
            throw CliException.Usage($"the server address from {source} must be an http:// or https:// URL, not '{text}'");
        }
        // A base address without a trailing slash would drop its last path segment from every request.
        if (!uri.AbsolutePath.EndsWith('/'))
        {
            uri = new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
        }
        return new CliContext(uri, terminal, TimeProvider.System);
    }

    private static HttpClient NewHttp(Uri server, TimeSpan timeout)
    {
        var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = server,
            Timeout = timeout,
        };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("sluice-cli", "1.0"));
        // Recorded in a run's history as who stopped it (until authentication names the caller).
        http.DefaultRequestHeaders.Add("X-Sluice-Caller", Caller());
        return http;
    }

    private static string Caller()
    {
        var user = Environment.UserName;
        return string.IsNullOrWhiteSpace(user) || user.Length > 100 || user.Any(char.IsControl) ? "cli" : $"cli:{user}";
    }
}
