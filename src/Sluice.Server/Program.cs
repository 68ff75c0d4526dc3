using Sluice.Server.Auth;
using Sluice.Server.Hosting;

WebApplication app;
try
{
    app = await SluiceServer.BuildAsync(args);
}
catch (Exception e) when (e is ArgumentException or CredentialsException or FormatException)
{
    // A setting that cannot work is said plainly, without a stack trace, and the server does not start.
    await Console.Error.WriteLineAsync($"sluice-server: {e.Message}");
    return 2;
}
await app.RunAsync();
return 0;
