return await Sluice.Cli.CliApp.RunAsync(args);
