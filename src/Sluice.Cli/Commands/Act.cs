using System.CommandLine;
using System.Net.Http;
using System.Text.Json;
using Sluice.Cli.Output;
using Sluice.Client;

namespace Sluice.Cli.Commands;

/// <summary>Runs a command's body and turns every failure into one line on stderr and an exit code; never a stack trace.</summary>
internal static class Act
{
    public delegate Task<int> Body(CliContext ctx, ParseResult pr, CancellationToken ct);

    public static void On(Command command, Terminal t, Body body) =>
        command.SetAction(async (pr, ct) =>
        {
            Uri? server = null;
            try
            {
                var ctx = CliContext.Create(pr, t);
                server = ctx.Server;
                return await body(ctx, pr, ct);
            }
            catch (Exception e)
            {
                return Report(t, e, server, ct);
            }
        });

    /// <summary>Reports <paramref name="e"/> as one line; returns its exit code.</summary>
    public static int Report(Terminal t, Exception e, Uri? server, CancellationToken ct)
    {
        var (code, message) = Describe(e, server, ct);
        if (code == ExitCodes.Interrupted)
        {
            return code;
        }
        t.Error(message);
        if (Environment.GetEnvironmentVariable("SLUICE_DEBUG") is { Length: > 0 })
        {
            t.Note(e.ToString());
        }
        return code;
    }

    public static (int Code, string Message) Describe(Exception e, Uri? server, CancellationToken ct)
    {
        var at = server is null ? "the server" : $"the Sluice server at {server.ToString().TrimEnd('/')}";
        return e switch
        {
            CliException c => (c.ExitCode, c.Message),
            SluiceApiException a => (ForStatus(a.Status), Message(a)),
            OperationCanceledException when ct.IsCancellationRequested => (ExitCodes.Interrupted, "interrupted"),
            OperationCanceledException => (ExitCodes.Unreachable, $"{at} did not answer in time"),
            HttpRequestException { StatusCode: null } h => (ExitCodes.Unreachable,
                $"cannot reach {at}: {Innermost(h).Message} (is it running? start one with 'sluice server')"),
            HttpRequestException h => (ExitCodes.Failed, $"{at} answered {(int)h.StatusCode!}: {h.Message}"),
            IOException io => (ExitCodes.Unreachable, $"the connection to {at} broke: {io.Message}"),
            JsonException j => (ExitCodes.Failed, $"the answer of {at} could not be read: {j.Message}"),
            _ => (ExitCodes.Failed, $"unexpected error: {e.Message}"),
        };
    }

    public static int ForStatus(int status) => status switch
    {
        400 or 413 or 415 => ExitCodes.Invalid,
        404 => ExitCodes.NotFound,
        409 => ExitCodes.Conflict,
        502 or 503 or 504 => ExitCodes.Unreachable,
        _ => ExitCodes.Failed,
    };

    private static string Message(SluiceApiException a) =>
        a.Status == 503 ? $"the server is unavailable: {a.Message}" : string.IsNullOrWhiteSpace(a.Message) ? $"{a.Title} (HTTP {a.Status})" : a.Message;

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    /// <summary>Runs <paramref name="each"/> for every item, reporting a failure and going on with the next; the exit
    /// code is the first failure's (0 when none failed).</summary>
    public static async Task<int> EachAsync(CliContext ctx, IEnumerable<string> items, Func<string, Task> each, CancellationToken ct)
    {
        var code = ExitCodes.Ok;
        foreach (var item in items)
        {
            try
            {
                await each(item);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var c = Report(ctx.Terminal, e, ctx.Server, ct);
                if (code == ExitCodes.Ok)
                {
                    code = c;
                }
            }
        }
        return code;
    }
}
