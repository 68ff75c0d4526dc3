using System.Net;
using Sluice.TestKit;
using static Sluice.Server.Tests.Vertex.VertexSupport;

namespace Sluice.Server.Tests.Vertex;

/// <summary>A server with token auth: "t-proj" may use my-proj (and so its number), "t-all" any project.</summary>
public sealed class TokenServer : IAsyncLifetime
{
    private ServerProcess? server;

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        server = await ServerProcess.StartAsync(null,
        [
            "--auth", "tokens", .. ProjectArgs, "--Vertex:Tokens:0:Token", "t-proj", "--Vertex:Tokens:0:Projects", Project,
            "--Vertex:Tokens:1:Token", "t-all", "--Vertex:Tokens:1:Projects", "*",
        ]);
        Anonymous = server.NewClient(TimeSpan.FromSeconds(60), token: null);
    }

    public async Task DisposeAsync()
    {
        Anonymous?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>Bearer tokens map to the projects they may use (a project's id and number alike).</summary>
public sealed class VertexAuthTests(TokenServer fixture) : IClassFixture<TokenServer>
{
    // Sends only the tokens a test gives (the server's own client sends its admin token).
    private HttpClient Http => fixture.Anonymous;

    [Theory]
    [InlineData(null, Project, HttpStatusCode.Unauthorized, "UNAUTHENTICATED")]
    [InlineData("wrong", Project, HttpStatusCode.Unauthorized, "UNAUTHENTICATED")]
    [InlineData("t-proj", "other-proj", HttpStatusCode.Forbidden, "PERMISSION_DENIED")]
    [InlineData("t-proj", Project, HttpStatusCode.OK, null)]
    [InlineData("t-proj", ProjectNumber, HttpStatusCode.OK, null)]
    [InlineData("t-all", "other-proj", HttpStatusCode.OK, null)]
    public async Task List_Token_AllowedOnlyForItsProjects(string? token, string project, HttpStatusCode expected, string? status)
    {
        var (code, body) = await CallAsync(Http, HttpMethod.Get, $"/v1/projects/{project}/locations/{Location}/pipelineJobs", token: token);

        Assert.Equal(expected, code);
        if (status is not null)
        {
            Assert.Equal(status, Error(body));
        }
    }

    [Fact]
    public async Task Operations_UnderUi_NeedATokenToo()
    {
        var (code, body) = await CallAsync(Http, HttpMethod.Get, $"/ui/{Parent}/operations");

        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Equal("UNAUTHENTICATED", Error(body));
    }
}
