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

    private readonly string? token;

    private CliContext(Uri server, string? token, Terminal terminal, TimeProvider time)
    {
        Server = server;
        this.token = token;
        Terminal = terminal;
        Time = time;
        client = new Lazy<SluiceClient>(() => new SluiceClient(NewHttp(server, token, TimeSpan.FromSeconds(100))));
    }

    public Uri Server { get; }

    public Terminal Terminal { get; }

    public TimeProvider Time { get; }

    public SluiceClient Client => client.Value;

    /// <summary>A client whose requests may stay open for as long as they need (event streams, followed logs).</summary>
    public SluiceClient StreamingClient() => new(NewHttp(Server, token, Timeout.InfiniteTimeSpan));

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
        return new CliContext(uri, Token(pr, uri), terminal, TimeProvider.System);
    }

    /// <summary>--token, else $SLUICE_TOKEN, else, for a server on this machine, the local admin token it created on first
    /// start: $SLUICE_DATA_DIR/admin.token, else ./data/admin.token (the embedded default's data directory); else none.</summary>
    private static string? Token(ParseResult pr, Uri server)
    {
        if (pr.GetValue(CliOptions.Token) is { } given)
        {
            return Checked(given, "--token");
        }
        if (Environment.GetEnvironmentVariable("SLUICE_TOKEN") is { Length: > 0 } env)
        {
            return Checked(env, "SLUICE_TOKEN");
        }
        if (!server.IsLoopback)
        {
            return null;
        }
        var dirs = new[] { Environment.GetEnvironmentVariable("SLUICE_DATA_DIR"), "data" };
        foreach (var dir in dirs.Where(d => !string.IsNullOrEmpty(d)))
        {
            var file = Path.Combine(dir!, "admin.token");
            try
            {
                if (File.Exists(file) && new FileInfo(file).Length < 4096)
                {
                    return Checked(File.ReadAllText(file).Trim(), file);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's server: its token is not ours to read; go on without it.
            }
        }
        return null;
    }

    private static string Checked(string token, string source)
    {
        var t = token.Trim();
        // Never echo the token itself.
        return t.Length is > 0 and < 4096 && t.All(c => c > ' ' && c < 127)
            ? t
            : throw CliException.Usage($"the token from {source} must be printable ASCII without spaces");
    }

    private static HttpClient NewHttp(Uri server, string? token, TimeSpan timeout)
    {
        var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = server,
            Timeout = timeout,
        };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("sluice-cli", "1.0"));
        // Recorded in a run's history next to the token's name, as who stopped it.
        http.DefaultRequestHeaders.Add("X-Sluice-Caller", Caller());
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return http;
    }

    private static string Caller()
    {
        var user = Environment.UserName;
        return string.IsNullOrWhiteSpace(user) || user.Length > 100 || user.Any(char.IsControl) ? "cli" : $"cli:{user}";
    }
}
