namespace Sluice.Cli;

/// <summary>The exit codes of sluice; docs/cli.md lists them and scripts rely on them.</summary>
internal static class ExitCodes
{
    /// <summary>Success; for watch, the run Succeeded.</summary>
    public const int Ok = 0;

    /// <summary>For watch, the run Failed; otherwise an error not listed below (a server error, a batch with failures).</summary>
    public const int Failed = 1;

    /// <summary>For watch, the run was Stopped.</summary>
    public const int Stopped = 2;

    /// <summary>The command line is wrong: unknown command or option, a missing or malformed value.</summary>
    public const int Usage = 3;

    /// <summary>The input was refused: an invalid definition, parameter or value (HTTP 400), a file that cannot be read.</summary>
    public const int Invalid = 4;

    public const int NotFound = 5;

    /// <summary>The request conflicts with the current state: a name taken, a finished run stopped, an active run deleted.</summary>
    public const int Conflict = 6;

    /// <summary>The server cannot be reached, did not answer in time, or is shutting down.</summary>
    public const int Unreachable = 7;

    /// <summary>Interrupted by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>What watch exits with once the run is in <paramref name="state"/>.</summary>
    public static int ForRunState(string state) => state switch
    {
        "Succeeded" => Ok,
        "Stopped" => Stopped,
        _ => Failed,
    };
}

/// <summary>An error the CLI reports as one line, with the exit code it means.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);
}
