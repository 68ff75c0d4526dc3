using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace Sluice.Server.Hosting;

/// <summary>Serves the web console (built from console/ into wwwroot): its files, and index.html for every client-side
/// route. Only GET and HEAD, and never under the API and faces' prefixes, so POST / (SageMaker) and /v1 (Vertex) stay theirs.</summary>
internal static class ConsoleFiles
{
    /// <summary>Path prefixes that belong to an API or a face: never answered with the console's page.</summary>
    private static readonly string[] Reserved = ["/api", "/v1", "/ui", "/healthz"];

    /// <summary>The directory holding index.html: --console-dir, else wwwroot next to the server binary.</summary>
    public static string Directory(IConfiguration config) =>
        Path.GetFullPath(config["console-dir"] ?? Path.Combine(AppContext.BaseDirectory, "wwwroot"));

    /// <summary>Adds the static-file middleware; must run before routing so that an asset never reaches the fallback.</summary>
    public static void UseConsoleFiles(this WebApplication app, string dir)
    {
        if (!System.IO.Directory.Exists(dir))
        {
            return;
        }
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(dir),
            OnPrepareResponse = c =>
            {
                // Vite names every asset by a hash of its content, so an asset never changes; index.html must be revalidated.
                c.Context.Response.Headers.CacheControl = c.Context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal)
                    ? "public, max-age=31536000, immutable"
                    : "no-cache";
            },
        });
    }

    /// <summary>A missing asset or top-level file (/assets/x.js, /favicon.ico) is a 404, not the page; a client route may
    /// hold a dot (/pipelines/model.v2).</summary>
    private static bool IsMissingFile(PathString path) =>
        path.StartsWithSegments("/assets", StringComparison.Ordinal)
        || (path.Value is { } v && v.LastIndexOf('/') == 0 && Path.HasExtension(v));

    /// <summary>GET fallback: index.html for client-side routes (/runs/abc), 404 for missing files and reserved prefixes.</summary>
    public static void MapConsoleFallback(this WebApplication app, string dir)
    {
        var index = Path.Combine(dir, "index.html");
        // "{**path}" rather than MapFallback's default "{*path:nonfile}", which would skip a route with a dot in it.
        app.MapFallback("{**path}", async (HttpContext http) =>
        {
            var path = http.Request.Path;
            if (Reserved.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)) || IsMissingFile(path))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (!File.Exists(index))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                http.Response.ContentType = "text/plain; charset=utf-8";
                await http.Response.WriteAsync(
                    "The web console is not built. ./build.sh run builds it, or run `npm ci && npm run build` in console/.\n" +
                    "The native API is at /api/v1 (see docs/api.md).\n", http.RequestAborted);
                return;
            }
            http.Response.ContentType = "text/html; charset=utf-8";
            http.Response.Headers.CacheControl = "no-cache";
            http.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
            await http.Response.SendFileAsync(index, http.RequestAborted);
        }).WithMetadata(new HttpMethodMetadata(["GET", "HEAD"]));
    }
}
