using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Definitions.Kfp;
using Sluice.Core.Engine;
using Sluice.Core.Execution;
using Sluice.Core.Storage;
using Sluice.Executors.Function;
using Sluice.Executors.Process;
using Sluice.Server.Apis;
using Sluice.Server.Apis.Native;
using Sluice.Server.Apis.SageMaker;
using Sluice.Server.Apis.Sqs;
using Sluice.Server.Apis.Vertex;
using Sluice.Server.Auth;
using Sluice.Server.Transports;
using Sluice.Storage.Sqlite;

namespace Sluice.Server.Hosting;

/// <summary>Builds the server: the store (embedded SQLite, or PostgreSQL shared with other nodes), local process executor,
/// the engine, and the faces.</summary>
public static class SluiceServer
{
    public const string DefaultUrls = "http://127.0.0.1:9400";

    public static async Task<WebApplication> BuildAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var config = builder.Configuration;
        var urls = config["urls"] is { Length: > 0 } u ? u : Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } e ? e : DefaultUrls;
        builder.WebHost.UseUrls(urls);
        var dataDir = Path.GetFullPath(config["data-dir"] ?? Environment.GetEnvironmentVariable("SLUICE_DATA_DIR") ?? "data");
        Directory.CreateDirectory(dataDir);
        var auth = AuthSettings.Load(config, dataDir);
        var listening = Listening.Check(urls, auth, config);
        Listening.ConfigureTls(builder.WebHost, config);
        var rateLimits = RateLimitOptions.From(config);
        // URL functions and callback webhooks: what the server itself may call (default: this machine only).
        var allowedUrls = (config["allowed-urls"] ?? Environment.GetEnvironmentVariable("SLUICE_ALLOWED_URLS")) is { } allow
            ? UrlAllowlist.Parse(allow)
            : UrlAllowlist.LoopbackOnly;
        var defaults = new EngineOptions { DataDirectory = dataDir };
        var options = defaults with
        {
            Slots = config["slots"] is { } slots ? int.Parse(slots, System.Globalization.CultureInfo.InvariantCulture) : defaults.Slots,
            Role = NodeOptions.Role(config["role"] ?? Environment.GetEnvironmentVariable("SLUICE_ROLE")),
            LeaseDuration = NodeOptions.Seconds(config, "lease-seconds") ?? defaults.LeaseDuration,
            PollInterval = NodeOptions.Seconds(config, "poll-seconds") ?? defaults.PollInterval,
            RequestTimeout = NodeOptions.Seconds(config, "request-timeout-seconds") ?? defaults.RequestTimeout,
            HostId = config["host-id"],
        };
        options.Validate();

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = PipelineService.MaxSourceBytes + 64 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            k.Limits.MaxRequestLineSize = 16 * 1024;
            k.Limits.MaxRequestHeaderCount = 100;
        });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        var time = TimeProvider.System;
        var store = await NodeOptions.OpenStoreAsync(config, dataDir, time);
        var services = builder.Services;
        services.AddSingleton(time);
        services.AddSingleton(options);
        if (store is SqliteStore sqlite)
        {
            services.AddSingleton(sqlite);
        }
        services.AddSingleton((IRunStore)store);
        services.AddSingleton((IPipelineStore)store);
        services.AddSingleton((IOperationStore)store);
        services.AddSingleton((IClusterStore)store);
        services.AddSingleton<EventHub>();
        services.AddSingleton<IDefinitionCompiler, NativeDefinitionCompiler>();
        services.AddSingleton<IDefinitionCompiler, Sluice.Core.Definitions.SageMaker.SageMakerDefinitionCompiler>();
        services.AddSingleton<IDefinitionCompiler, KfpDefinitionCompiler>();
        services.AddSingleton(auth);
        services.AddSingleton(VertexAccess.From(auth));
        services.AddSingleton(sp => new DefinitionCompilers(sp.GetServices<IDefinitionCompiler>()));
        services.AddSingleton((IQueueStore)store);
        services.AddSingleton((IFunctionStore)store);
        services.AddSingleton<QueueService>();
        services.AddSingleton<FunctionService>();
        services.AddSingleton<IStepExecutor>(sp => new ProcessExecutor(time));
        services.AddSingleton(allowedUrls);
        services.AddSingleton<IStepExecutor>(sp => new FunctionExecutor((IFunctionStore)store, time, allowedUrls: allowedUrls));
        services.AddSingleton<ICallbackTransport>(sp => new QueueCallbackTransport(sp.GetRequiredService<QueueService>()));
        services.AddSingleton<ICallbackTransport>(sp => new WebhookTransport(new HttpClient(), time, allowedUrls: allowedUrls));
        services.AddSingleton<IStepExecutor>(sp => new CallbackExecutor(sp.GetServices<ICallbackTransport>(), time));
        services.AddSingleton<RunEngine>();
        services.AddSingleton<RunService>();
        services.AddSingleton<PipelineService>();
        services.AddSingleton<OperationService>();
        services.AddSingleton<IdempotencyService>();
        services.AddSingleton(AwsAuthOptions.FromConfiguration(config, auth));
        services.AddSluiceRateLimits(rateLimits);
        services.AddSingleton<SageMakerApi>();
        services.AddSingleton<SqsApi>();
        services.AddHostedService<EngineHost>();
        services.AddOpenApi("v1");

        var app = builder.Build();
        Announce(app, auth, listening);
        var consoleDir = ConsoleFiles.Directory(config);
        if (rateLimits.PerSecond > 0)
        {
            app.UseRateLimiter();
        }
        app.Use((http, next) => http.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            ? ProblemResults.HandleAsync(http, () => next(http))
            : next(http));
        app.Use((http, next) => VertexApi.Owns(http.Request.Path) ? VertexErrors.HandleAsync(http, () => next(http)) : next(http));
        // A worker runs steps and serves no public API (no face, no console): only its health answers.
        var worker = options.Role == NodeRole.Worker;
        if (!worker)
        {
            // SageMaker and SQS clients POST to the endpoint URL itself (and older SQS clients to a queue's URL).
            app.Use((http, next) => AwsEndpoint.Matches(http.Request) ? AwsEndpoint.HandleAsync(http) : next(http));
            app.UseConsoleFiles(consoleDir);
        }
        app.UseRouting();
        app.Use((http, next) => http.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal) ? NativeAuth.HandleAsync(http, () => next(http)) : next(http));
        app.MapGet("/healthz", (RunEngine engine) => Results.Json(new { status = "ok", activeRuns = engine.ActiveRuns }));
        if (worker)
        {
            return app;
        }
        app.MapOpenApi("/api/{documentName}/openapi.json");
        NativeApi.Map(app);
        VertexApi.Map(app);
        app.MapFallback("/api/{**rest}", (HttpContext http) =>
            ProblemResults.WriteAsync(http, StatusCodes.Status404NotFound, "NotFound", $"no such endpoint: {http.Request.Method} {http.Request.Path}"));
        app.MapConsoleFallback(consoleDir);
        return app;
    }

    /// <summary>Says how the server is protected: development mode loudly, a token created on this start once (on the
    /// console itself, not in the log), and whatever the start-up found worth a warning.</summary>
    private static void Announce(WebApplication app, AuthSettings auth, IReadOnlyList<string> warnings)
    {
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sluice.Auth");
        if (auth.Dev)
        {
            const string bar = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!";
            log.LogWarning("{Bar}", bar);
            log.LogWarning("DEVELOPMENT MODE (--auth dev): AUTHENTICATION IS OFF. Any caller, with any credentials or none, may read, start, stop and delete everything, as every tenant. Never use it on a shared machine.");
            log.LogWarning("{Bar}", bar);
        }
        foreach (var (level, message) in auth.Notices)
        {
            log.Log(level, "{Notice}", message);
        }
        foreach (var w in warnings)
        {
            log.LogWarning("{Warning}", w);
        }
        if (auth.CreatedAdminToken is { } token)
        {
            // Shown once, here; afterwards only the file holds it.
            Console.Out.WriteLine($"""

                  Sluice created its local admin token (shown only this once; it is also in {auth.AdminTokenPath}, mode 0600):

                      {token}

                  The sluice CLI on this machine finds it by itself; the console asks for it once per browser session.
                  Other callers send it as: Authorization: Bearer <token>

                """);
            Console.Out.Flush();
        }
        else if (!auth.Dev && auth.AdminTokenPath is { } path)
        {
            log.LogInformation("authentication on; the local admin token is in {Path}", path);
        }
        else if (!auth.Dev)
        {
            log.LogInformation("authentication on; credentials from {Path}", auth.CredentialsPath);
        }
    }
}
