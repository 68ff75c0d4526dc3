namespace Sluice.Client;

/// <summary>Typed client for the native API.</summary>
public sealed class SluiceClient;
