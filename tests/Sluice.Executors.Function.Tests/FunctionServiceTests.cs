using Sluice.Core.Api;
using Sluice.Core.Domain;
using Sluice.Core.Storage;

namespace Sluice.Executors.Function.Tests;

/// <summary>Registering functions: validation in the service, storage in SQLite.</summary>
public sealed class FunctionServiceTests : IAsyncLifetime
{
    private FunctionHarness h = null!;

    private FunctionService S => h.Service;

    public async Task InitializeAsync() => h = await FunctionHarness.CreateAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    [Fact]
    public async Task Put_NewThenAgain_CreatedThenReplacedKeepingCreationTime()
    {
        var (first, created) = await S.PutAsync(Scope.Default, "f", new() { Command = ["python3", "/srv/fn.py"] }, CancellationToken.None);
        Assert.True(created);
        Assert.Equal(FunctionRecord.CommandKind, first.Kind);
        Assert.Equal(["python3", "/srv/fn.py"], first.Command);
        Assert.Equal(TimeSpan.FromSeconds(120), first.TimeLimit);
        Assert.Null(first.Url);

        var (second, createdAgain) = await S.PutAsync(Scope.Default, "f",
            new() { Url = "http://127.0.0.1:8080/fn", TimeLimit = TimeSpan.FromMinutes(10) }, CancellationToken.None);
        Assert.False(createdAgain);
        Assert.Equal(FunctionRecord.UrlKind, second.Kind);
        Assert.Null(second.Command);
        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.True(second.UpdatedAt >= first.UpdatedAt);

        var stored = await S.GetAsync(Scope.Default, "f", CancellationToken.None);
        Assert.Equal("http://127.0.0.1:8080/fn", stored.Url);
        Assert.Equal(TimeSpan.FromMinutes(10), stored.TimeLimit);
    }

    [Fact]
    public async Task Put_Env_StoredAndReadBack()
    {
        await S.PutAsync(Scope.Default, "e", new() { Command = ["env"], Env = new Dictionary<string, string> { ["A"] = "1", ["B_2"] = "x y" } },
            CancellationToken.None);
        var f = await S.GetAsync(Scope.Default, "e", CancellationToken.None);
        Assert.Equal("x y", f.Env!["B_2"]);
        Assert.Equal(2, f.Env.Count);
    }

    [Theory]
    [InlineData("bad name", "name")]
    [InlineData("", "name")]
    [InlineData("this-name-is-far-too-long-for-a-function-this-name-is-far-too-long", "name")]
    public async Task Put_BadName_InvalidArgument(string name, string path)
    {
        var e = await Assert.ThrowsAsync<SluiceException>(() => S.PutAsync(Scope.Default, name, new() { Command = ["true"] }, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(e.Problems, p => p.Path == path);
    }

    public static TheoryData<PutFunctionRequest, string, string> BadRequests() => new()
    {
        { new PutFunctionRequest(), "command", "needs a command" },
        { new PutFunctionRequest { Command = ["true"], Url = "http://x/" }, "url", "not both" },
        { new PutFunctionRequest { Command = [] }, "command", "non-empty" },
        { new PutFunctionRequest { Command = [" "] }, "command", "non-empty" },
        { new PutFunctionRequest { Command = ["a\0b"] }, "command[0]", "without NUL" },
        { new PutFunctionRequest { Url = "ftp://example.test/x" }, "url", "http(s)" },
        { new PutFunctionRequest { Url = "/relative" }, "url", "http(s)" },
        { new PutFunctionRequest { Command = ["true"], TimeLimit = TimeSpan.FromMilliseconds(500) }, "timeLimitSeconds", "between 1 and 600" },
        { new PutFunctionRequest { Command = ["true"], TimeLimit = TimeSpan.FromSeconds(601) }, "timeLimitSeconds", "between 1 and 600" },
        { new PutFunctionRequest { Url = "http://x/", Env = new Dictionary<string, string> { ["A"] = "b" } }, "env", "only for command" },
        { new PutFunctionRequest { Command = ["true"], Env = new Dictionary<string, string> { ["1A"] = "b" } }, "env.1A", "variable name" },
        { new PutFunctionRequest { Command = ["true"], Env = new Dictionary<string, string> { ["SLUICE_X"] = "b" } }, "env.SLUICE_X", "reserved" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Put_InvalidRequest_ProblemAtItsPath(PutFunctionRequest request, string path, string fragment)
    {
        var e = await Assert.ThrowsAsync<SluiceException>(() => S.PutAsync(Scope.Default, "f", request, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(e.Problems, p => p.Path == path && p.Message.Contains(fragment, StringComparison.Ordinal));
        Assert.Null(await h.Store.GetFunctionAsync(Scope.Default, "f", CancellationToken.None));
    }

    [Fact]
    public async Task List_InPages_ByName()
    {
        foreach (var n in new[] { "c", "a", "b" })
        {
            await S.PutAsync(Scope.Default, n, new() { Command = ["true"] }, CancellationToken.None);
        }
        await S.PutAsync(new Scope("other", "local"), "a0", new() { Command = ["true"] }, CancellationToken.None);

        var first = await S.ListAsync(Scope.Default, 2, null, CancellationToken.None);
        Assert.Equal(["a", "b"], first.Items.Select(f => f.Name));
        Assert.NotNull(first.NextPageToken);
        var second = await S.ListAsync(Scope.Default, 2, first.NextPageToken, CancellationToken.None);
        Assert.Equal(["c"], second.Items.Select(f => f.Name));
        Assert.Null(second.NextPageToken);

        var e = await Assert.ThrowsAsync<SluiceException>(() => S.ListAsync(Scope.Default, 2, "garbage", CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public async Task Delete_ThenGet_NotFound()
    {
        await S.PutAsync(Scope.Default, "gone", new() { Command = ["true"] }, CancellationToken.None);
        await S.DeleteAsync(Scope.Default, "gone", CancellationToken.None);

        var get = await Assert.ThrowsAsync<SluiceException>(() => S.GetAsync(Scope.Default, "gone", CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, get.Kind);
        Assert.Equal("function gone not found", get.Message);
        var again = await Assert.ThrowsAsync<SluiceException>(() => S.DeleteAsync(Scope.Default, "gone", CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, again.Kind);
    }

    [Fact]
    public async Task Get_OtherScope_NotFound()
    {
        await S.PutAsync(new Scope("t2", "eu"), "mine", new() { Command = ["true"] }, CancellationToken.None);
        var e = await Assert.ThrowsAsync<SluiceException>(() => S.GetAsync(Scope.Default, "mine", CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }
}
