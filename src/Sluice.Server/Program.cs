using Sluice.Server.Hosting;

var app = await SluiceServer.BuildAsync(args);
await app.RunAsync();
