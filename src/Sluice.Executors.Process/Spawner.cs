using System.Runtime.InteropServices;
using System.Text;

namespace Sluice.Executors.Process;

/// <summary>Starts processes with posix_spawn: a new session (so a crash or SIGTERM of the server does not reach them, and
/// the whole group can be signalled), default signal dispositions and an empty mask (the runtime ignores SIGPIPE; that
/// must not leak into steps), stdin and stdout/stderr from and into files, no inherited descriptors, argv passed as is.
/// Process steps and command functions both start this way.</summary>
internal static unsafe class Spawner
{
    public const string Shell = "/bin/sh";

    /// <summary>The native supervisor's file and argv[0], and the shell supervisor's $0: how an adopter recognises a supervisor
    /// in /proc/&lt;pid&gt;/cmdline.</summary>
    public const string Marker = "sluice-step";

    /// <summary>The shell supervisor, used when the native one (native/sluice-step.c) was not built: records its pid (it
    /// is the session and group leader), runs the command as an external program (<c>exec</c> in a subshell, so that a
    /// command named like a shell builtin is not run by the shell), and records the exit status when it ends and exits with
    /// it (read from its end when the file could not be written, see native/sluice-step.c). "$@" keeps
    /// every argument one argv entry; nothing is re-parsed.</summary>
    public const string Script = "d=$1; shift; echo $$ >\"$d/pid\"; (exec \"$@\"); c=$?; echo $c >\"$d/exit\"; exit $c";

    private static int closeFromMissing;

    /// <summary>The native supervisor next to the server's assemblies (built from native/sluice-step.c with the build
    /// machine's C compiler), or null when it was not built: steps are then supervised by <see cref="Script"/>. Both do
    /// the same; the native one starts ~0.5 ms sooner (no shell to load and parse).</summary>
    public static string? NativeSupervisor { get; } = FindNativeSupervisor();

    private static string? FindNativeSupervisor()
    {
        var path = Path.Combine(AppContext.BaseDirectory, Marker);
        try
        {
            return !OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0 ? path : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Starts a step's supervisor: <paramref name="nativeSupervisor"/> when given, else the shell supervisor.
    /// Returns its pid, which is also its process group and session id. Its argv (what /proc shows, and how an adopter
    /// recognises it): <c>sluice-step DIR COMMAND ARGS...</c>, or <c>/bin/sh -c SCRIPT sluice-step DIR COMMAND ARGS...</c>.</summary>
    public static int SpawnSupervised(string? nativeSupervisor, string directory, string stdoutPath, string stderrPath, string workingDir,
        string command, IReadOnlyList<string> args, IReadOnlyList<string> environment)
    {
        var argv = new List<string>(6 + args.Count);
        if (nativeSupervisor is null)
        {
            argv.AddRange([Shell, "-c", Script]);
        }
        argv.AddRange([Marker, directory, command]);
        argv.AddRange(args);
        return Spawn(argv, environment, workingDir, "/dev/null", stdoutPath, stderrPath, searchPath: false, file: nativeSupervisor ?? Shell);
    }

    /// <summary>Starts argv[0] (looked up in PATH when <paramref name="searchPath"/>); returns the pid, which is also the
    /// process group and session id. The caller owns the child: it reaps it and then calls <see cref="Reaper.Release"/>.
    /// <paramref name="file"/> is the program to run when it is not argv[0].</summary>
    public static int Spawn(IReadOnlyList<string> argv, IReadOnlyList<string> environment, string workingDir, string stdinPath,
        string stdoutPath, string stderrPath, bool searchPath = true, string? file = null)
    {
        using var strings = new NativeStrings();
        var argvPtr = strings.Array(argv);
        var envPtr = strings.Array(environment);
        var program = strings.Add(file ?? argv[0]);
        var inPath = strings.Add(stdinPath);
        var outPath = strings.Add(stdoutPath);
        var errPath = strings.Add(stderrPath);
        var cwd = strings.Add(workingDir);

        var fa = NativeMemory.AllocZeroed(Native.SpawnFileActionsSize);
        var attr = NativeMemory.AllocZeroed(Native.SpawnAttrSize);
        var sigDefault = NativeMemory.AllocZeroed(Native.SigSetSize);
        var sigMask = NativeMemory.AllocZeroed(Native.SigSetSize);
        try
        {
            Check(Native.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init");
            Check(Native.posix_spawnattr_init(attr), "posix_spawnattr_init");
            try
            {
                const int logFlags = Native.O_WRONLY | Native.O_CREAT | Native.O_TRUNC;
                Check(Native.posix_spawn_file_actions_addopen(fa, 0, inPath, Native.O_RDONLY, 0), "addopen stdin");
                Check(Native.posix_spawn_file_actions_addopen(fa, 1, outPath, logFlags, 0x1A4 /* 0644 */), "addopen stdout");
                Check(Native.posix_spawn_file_actions_addopen(fa, 2, errPath, logFlags, 0x1A4), "addopen stderr");
                Check(Native.posix_spawn_file_actions_addchdir_np(fa, cwd), "addchdir");
                AddCloseFrom(fa);

                _ = Native.sigfillset(sigDefault);
                // sigfillset leaves out glibc's internal signals 32 and 33, and posix_spawn then sets them to SIG_IGN
                // in the child, which exec keeps: add them by hand (sigset_t is a little-endian bit array here).
                if (BitConverter.IsLittleEndian)
                {
                    ((byte*)sigDefault)[3] |= 0x80;
                    ((byte*)sigDefault)[4] |= 0x01;
                }
                _ = Native.sigemptyset(sigMask);
                Check(Native.posix_spawnattr_setsigdefault(attr, sigDefault), "setsigdefault");
                Check(Native.posix_spawnattr_setsigmask(attr, sigMask), "setsigmask");
                Check(Native.posix_spawnattr_setflags(attr,
                    Native.POSIX_SPAWN_SETSID | Native.POSIX_SPAWN_SETSIGDEF | Native.POSIX_SPAWN_SETSIGMASK), "setflags");

                var pid = 0;
                var rc = -1;
                Reaper.BeginSpawn();
                try
                {
                    rc = searchPath
                        ? Native.posix_spawnp(&pid, program, fa, attr, argvPtr, envPtr)
                        : Native.posix_spawn(&pid, program, fa, attr, argvPtr, envPtr);
                }
                finally
                {
                    Reaper.EndSpawn(rc == 0 ? pid : null);
                }
                if (rc != 0)
                {
                    throw new SpawnException($"could not start {argv[0]}: {Native.Describe(rc)}");
                }
                return pid;
            }
            finally
            {
                _ = Native.posix_spawnattr_destroy(attr);
                _ = Native.posix_spawn_file_actions_destroy(fa);
            }
        }
        finally
        {
            NativeMemory.Free(fa);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigDefault);
            NativeMemory.Free(sigMask);
        }
    }

    private static void AddCloseFrom(void* fa)
    {
        // glibc 2.34+; .NET opens its descriptors close-on-exec, so without it little leaks, but native libraries may not.
        if (Volatile.Read(ref closeFromMissing) != 0)
        {
            return;
        }
        try
        {
            Check(Native.posix_spawn_file_actions_addclosefrom_np(fa, 3), "addclosefrom");
        }
        catch (EntryPointNotFoundException)
        {
            Volatile.Write(ref closeFromMissing, 1);
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
        {
            throw new SpawnException($"{what} failed: {Native.Describe(rc)}");
        }
    }

    /// <summary>NUL-terminated UTF-8 copies of managed strings and the arrays that point at them, freed together: carved out
    /// of a few large blocks rather than one allocation each (a step's environment alone is dozens of strings).</summary>
    private sealed class NativeStrings : IDisposable
    {
        private const int BlockSize = 16 * 1024;
        private readonly List<nint> blocks = [];
        private byte* next;
        private nuint left;

        public byte* Add(string s)
        {
            var n = Encoding.UTF8.GetByteCount(s);
            var p = Take((nuint)n + 1, 1);
            Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
            p[n] = 0;
            return p;
        }

        public byte** Array(IReadOnlyList<string> items)
        {
            var arr = (byte**)Take((nuint)(items.Count + 1) * (nuint)sizeof(byte*), (nuint)sizeof(byte*));
            for (var i = 0; i < items.Count; i++)
            {
                arr[i] = Add(items[i]);
            }
            arr[items.Count] = null;
            return arr;
        }

        private byte* Take(nuint size, nuint align)
        {
            var pad = (align - ((nuint)next % align)) % align;
            if (next == null || pad + size > left)
            {
                if (size > BlockSize / 4)
                {
                    // A large one gets a block of its own; the current block stays in use for the small ones.
                    var own = (byte*)NativeMemory.AlignedAlloc(size, (nuint)sizeof(byte*));
                    blocks.Add((nint)own);
                    return own;
                }
                next = (byte*)NativeMemory.AlignedAlloc(BlockSize, (nuint)sizeof(byte*));
                blocks.Add((nint)next);
                left = BlockSize;
                pad = 0;
            }
            var p = next + pad;
            next = p + size;
            left -= pad + size;
            return p;
        }

        public void Dispose()
        {
            foreach (var b in blocks)
            {
                NativeMemory.AlignedFree((void*)b);
            }
        }
    }
}

/// <summary>The process could not be started.</summary>
internal sealed class SpawnException(string message) : Exception(message);
