using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Sluice.Core.Api;
using Sluice.Core.Definitions;
using Sluice.Core.Domain;
using Sluice.Core.Execution;
using Sluice.Storage.Sqlite;
using Sluice.TestKit;

namespace Sluice.Executors.Function.Tests;

/// <summary>A temp directory, a real SQLite store with functions registered through the service, and the executor.</summary>
internal sealed class FunctionHarness : IAsyncDisposable
{
    private int attempts;

    private FunctionHarness(TempDirectory temp, SqliteStore store)
    {
        Temp = temp;
        Store = store;
        Service = new FunctionService(store, TimeProvider.System);
        Executor = new FunctionExecutor(store, TimeProvider.System);
    }

    public TempDirectory Temp { get; }

    public SqliteStore Store { get; }

    public FunctionService Service { get; }

    public FunctionExecutor Executor { get; }

    public static async Task<FunctionHarness> CreateAsync()
    {
        var temp = new TempDirectory("sluice-fn");
        return new FunctionHarness(temp, await SqliteStore.OpenAsync(temp.File("sluice.db"), TimeProvider.System, CancellationToken.None));
    }

    /// <summary>Registers <c>sh -c script NAME</c> (so $0 is the function's name).</summary>
    public Task RegisterShellAsync(string name, string script, TimeSpan? limit = null, IReadOnlyDictionary<string, string>? env = null) =>
        Service.PutAsync(Scope.Default, name, new PutFunctionRequest { Command = ["sh", "-c", script, name], TimeLimit = limit, Env = env },
            CancellationToken.None);

    public Task RegisterUrlAsync(string name, string url, TimeSpan? limit = null) =>
        Service.PutAsync(Scope.Default, name, new PutFunctionRequest { Url = url, TimeLimit = limit }, CancellationToken.None);

    /// <summary>A start as the engine makes it: resolved inputs, the plan's outputs, a fresh attempt directory.</summary>
    public StepStart Step(string function, JsonObject? arguments = null, IReadOnlyList<OutputSpec>? outputs = null, TimeSpan? stepLimit = null)
    {
        var attempt = Interlocked.Increment(ref attempts);
        return new StepStart
        {
            RunId = "r0000000test1",
            StepName = "call",
            Attempt = attempt,
            Directory = Temp.File($"attempt-{attempt}"),
            Plan = new FunctionStepPlan { Name = "call", Function = function, Outputs = outputs ?? [], TimeLimit = stepLimit },
            Inputs = new JsonObject
            {
                ["function"] = function,
                ["arguments"] = arguments ?? [],
                ["timeLimitSeconds"] = stepLimit?.TotalSeconds,
            },
        };
    }

    public Task<IStepExecution> StartAsync(StepStart start) => Executor.StartAsync(start, CancellationToken.None);

    public static Task<StepOutcome> Outcome(IStepExecution execution) => execution.Completion.WaitAsync(Deadline.Default);

    public static async Task WaitForFileAsync(string path) =>
        Assert.True(await Posix.EventuallyAsync(() => File.Exists(path), Deadline.Default), $"{path} was not written");

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Temp.Dispose();
    }
}

/// <summary>A loopback HTTP server whose answers a test writes: handler(body) -> (status, body).</summary>
internal sealed class TinyHttpServer : IAsyncDisposable
{
    private readonly HttpListener listener;
    private readonly Func<string, Task<(int Status, string Body)>> handler;
    private readonly Task loop;

    public TinyHttpServer(Func<string, Task<(int Status, string Body)>> handler)
    {
        this.handler = handler;
        (listener, var port) = Loopback.StartHttpListener();
        Url = $"http://127.0.0.1:{port}/fn";
        loop = LoopAsync();
    }

    public string Url { get; }

    /// <summary>Each request: its content type and body.</summary>
    public List<(string? ContentType, string Body)> Requests { get; } = [];

    private async Task LoopAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = HandleAsync(ctx);
        }
    }

    private async Task HandleAsync(HttpListenerContext ctx)
    {
        try
        {
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            lock (Requests)
            {
                Requests.Add((ctx.Request.ContentType, body));
            }
            var (status, answer) = await handler(body);
            var bytes = Encoding.UTF8.GetBytes(answer);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The client went away (a time limit): nothing to answer.
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Close alone: Stop then Close would remove the prefixes twice, and the second removal binds the freed port
        // again (managed HttpListener), failing with "Address already in use" when another test has taken it.
        listener.Close();
        await loop;
    }
}
