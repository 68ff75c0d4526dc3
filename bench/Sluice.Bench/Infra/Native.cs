using System.Runtime.InteropServices;

namespace Sluice.Bench.Infra;

/// <summary>kill(2): .NET can only send SIGKILL by itself, and a peer orchestrator is stopped with SIGTERM or SIGINT.</summary>
internal static partial class Native
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int sig);

    public static bool Signal(int pid, int sig) => Kill(pid, sig) == 0;
}
