using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sluice.TestKit;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temp directory), for tests that stop and restart
/// the database; the binaries are the ones ./build.sh test found (SLUICE_TEST_PG_BIN).</summary>
internal sealed class OwnPostgres : IAsyncDisposable
{
    private readonly TempDirectory dir = new("sluice-ownpg");
    private readonly string bin;
    private readonly int port;

    private OwnPostgres(string bin)
    {
        this.bin = bin;
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        port = ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public string ConnectionString => $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";

    private string Data => Path.Combine(dir.Path, "data");

    public static async Task<OwnPostgres> StartAsync()
    {
        TestDatabase.Require();
        var bin = Environment.GetEnvironmentVariable("SLUICE_TEST_PG_BIN");
        Skip.If(string.IsNullOrEmpty(bin), "SLUICE_TEST_PG_BIN names no PostgreSQL bin directory (./build.sh test sets it)");
        var pg = new OwnPostgres(bin!);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", "postgres", pg.dir.Path);
        }
        await pg.PgAsync("initdb", "-D", pg.Data, "-U", "postgres", "-A", "trust", "--no-sync");
        await pg.StartServerAsync();
        return pg;
    }

    public Task StartServerAsync() => PgAsync("pg_ctl", "-D", Data, "-l", Path.Combine(dir.Path, "log"), "-w", "-t", "60",
        "-o", $"-p {port} -c listen_addresses=127.0.0.1 -k {dir.Path} -c fsync=off", "start");

    /// <summary>A fast shutdown: open connections are ended, as when the database is restarted under the service.</summary>
    public Task StopServerAsync() => PgAsync("pg_ctl", "-D", Data, "-m", "fast", "-w", "stop");

    private Task PgAsync(string tool, params string[] args) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, tool), .. args])
            : RunAsync(Path.Combine(bin, tool), args);

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {await output}{await error}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await PgAsync("pg_ctl", "-D", Data, "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        dir.Dispose();
    }
}
