using System.Runtime.InteropServices;

namespace Sluice.Executors.Process;

/// <summary>The few libc calls .NET has no managed form of (glibc 2.34+ on Linux).</summary>
internal static unsafe partial class Native
{
    private const string Libc = "libc";

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public const int EPERM = 1;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int ECHILD = 10;
    public const int ENOENT = 2;
    public const int EEXIST = 17;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;
    public const int O_CLOEXEC = 0x80000;

    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLONESHOT = 1u << 30;

    public const int CLOCK_MONOTONIC = 1;
    public const int TFD_NONBLOCK = 0x800;
    public const int TFD_CLOEXEC = O_CLOEXEC;

    public const int P_PIDFD = 3;
    public const int P_PID = 1;
    public const int P_PGID = 2;
    public const int PR_SET_CHILD_SUBREAPER = 36;
    public const int WEXITED = 4;
    public const int WNOHANG = 1;
    public const int WNOWAIT = 0x01000000;

    // Opaque glibc structures, over-allocated so that no layout is assumed (x64: 80, 336 and 128 bytes).
    public const int SpawnFileActionsSize = 256;
    public const int SpawnAttrSize = 1024;
    public const int SigSetSize = 256;

    // siginfo_t is 128 bytes; for CLD_* si_status is the int at offset 24 and si_code the int at offset 8 (64-bit Linux).
    public const int SigInfoSize = 128;
    public const int CLD_EXITED = 1;

    /// <summary>struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes).</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    public static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    public static int LastError => Marshal.GetLastSystemError();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pidfd_open(int pid, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pidfd_send_signal(int pidfd, int sig, void* info, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitid(int idtype, int id, void* infop, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdir(string path, uint mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int getsid(int pid);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, void* ev);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_wait(int epfd, void* events, int maxevents, int timeout);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_create(int clockid, int flags);

    /// <summary><paramref name="newValue"/> is a struct itimerspec: interval (seconds, nanoseconds), then value
    /// (seconds, nanoseconds), four 64-bit fields on 64-bit Linux.</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_settime(int fd, int flags, long* newValue, long* oldValue);

    [LibraryImport(Libc)]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int oflag, uint mode);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addchdir_np(void* fileActions, byte* path);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addclosefrom_np(void* fileActions, int from);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport(Libc)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Libc)]
    public static partial int sigfillset(void* set);

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
