using Sluice.Core.Domain;
using Sluice.Core.Storage;
using Xunit;
using static Sluice.TestKit.StoreSamples;

namespace Sluice.TestKit;

/// <summary>What every store must do with registered functions (function steps call them by name).</summary>
public abstract class FunctionStoreContract : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Scope Acme = new("acme", "eu-west-1");

    private IAsyncDisposable owner = null!;

    protected IFunctionStore Functions { get; private set; } = null!;

    /// <summary>A store over a new, empty database.</summary>
    protected abstract Task<object> OpenAsync();

    public async Task InitializeAsync()
    {
        var store = await OpenAsync();
        (Functions, owner) = ((IFunctionStore)store, (IAsyncDisposable)store);
    }

    public async Task DisposeAsync() => await owner.DisposeAsync();

    private static FunctionRecord Command(string name, Scope? scope = null, DateTimeOffset? at = null) => new()
    {
        Scope = scope ?? Scope.Default, Name = name, Kind = FunctionRecord.CommandKind, Command = ["python3", "-c", "print('héllo \"x\"')"],
        TimeLimit = TimeSpan.FromSeconds(90), Env = new Dictionary<string, string> { ["A"] = "1", ["B"] = "two words" },
        CreatedAt = at ?? T0, UpdatedAt = at ?? T0,
    };

    [SkippableFact]
    public async Task PutFunction_NewThenReplaced_KeepsCreationTimeAndEveryField()
    {
        var (created, isNew) = await Functions.PutFunctionAsync(Command("train"), None);

        Assert.True(isNew);
        Assert.Equal(T0, created.CreatedAt);
        var url = new FunctionRecord
        {
            Scope = Scope.Default, Name = "train", Kind = FunctionRecord.UrlKind, Url = "https://fn.example/train?x=1",
            TimeLimit = TimeSpan.FromMilliseconds(1500), CreatedAt = T0 + TimeSpan.FromHours(1), UpdatedAt = T0 + TimeSpan.FromHours(1),
        };
        var (replaced, again) = await Functions.PutFunctionAsync(url, None);

        Assert.False(again);
        Assert.Equal(T0, replaced.CreatedAt);
        var got = await Functions.GetFunctionAsync(Scope.Default, "train", None);
        Assert.NotNull(got);
        Assert.Equal(FunctionRecord.UrlKind, got.Kind);
        Assert.Equal("https://fn.example/train?x=1", got.Url);
        Assert.Null(got.Command);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), got.TimeLimit);
        Assert.Equal(T0, got.CreatedAt);
        Assert.Equal(T0 + TimeSpan.FromHours(1), got.UpdatedAt);
    }

    [SkippableFact]
    public async Task GetFunction_Command_RoundTripsArgvAndEnvironmentVerbatim()
    {
        await Functions.PutFunctionAsync(Command("echo"), None);

        var got = await Functions.GetFunctionAsync(Scope.Default, "echo", None);

        Assert.NotNull(got);
        Assert.Equal(["python3", "-c", "print('héllo \"x\"')"], got.Command);
        Assert.Equal("two words", got.Env!["B"]);
        Assert.Equal(2, got.Env.Count);
        Assert.Equal(TimeSpan.FromSeconds(90), got.TimeLimit);
    }

    [SkippableFact]
    public async Task Functions_SameNameInTwoScopes_AreSeparate()
    {
        await Functions.PutFunctionAsync(Command("f"), None);
        await Functions.PutFunctionAsync(Command("f", Acme) with { TimeLimit = TimeSpan.FromSeconds(5) }, None);

        Assert.Equal(TimeSpan.FromSeconds(90), (await Functions.GetFunctionAsync(Scope.Default, "f", None))!.TimeLimit);
        Assert.Equal(TimeSpan.FromSeconds(5), (await Functions.GetFunctionAsync(Acme, "f", None))!.TimeLimit);
        Assert.True(await Functions.DeleteFunctionAsync(Acme, "f", None));
        Assert.Null(await Functions.GetFunctionAsync(Acme, "f", None));
        Assert.NotNull(await Functions.GetFunctionAsync(Scope.Default, "f", None));
        Assert.False(await Functions.DeleteFunctionAsync(Acme, "f", None));
    }

    [SkippableFact]
    public async Task ListFunctions_ManyFunctions_SortedByNameAndPagedWithoutGaps()
    {
        var names = Enumerable.Range(0, 11).Select(i => $"fn-{(i * 7) % 11:00}").ToList();
        foreach (var n in names)
        {
            await Functions.PutFunctionAsync(Command(n), None);
        }
        await Functions.PutFunctionAsync(Command("other-scope", Acme), None);

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await Functions.ListFunctionsAsync(Scope.Default, 4, token, None);
            Assert.True(page.Items.Count <= 4);
            seen.AddRange(page.Items.Select(f => f.Name));
            token = page.NextPageToken;
        }
        while (token is not null);

        Assert.Equal(names.Order(StringComparer.Ordinal), seen);
    }
}
