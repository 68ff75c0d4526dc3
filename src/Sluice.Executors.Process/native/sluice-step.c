/*
 * sluice-step: the supervisor of one process step (docs/process-steps.md).
 *
 *   sluice-step DIR COMMAND [ARG...]
 *
 * The server starts it as the leader of a new session and process group. It records its pid in DIR/pid, runs COMMAND
 * (looked up in PATH like exec(1p) in a shell, so a command named like a shell builtin is the program, not the builtin)
 * as its child with the same descriptors and environment, waits for it, records its exit status in DIR/exit
 * (128+N when signal N ended it) and exits with that status too: the server that started it reads the status from
 * the supervisor's own end when the file could not be written (a full disk), and a server that adopted it after a
 * restart (not its parent) from the file. Exactly what the shell supervisor in Spawner.cs does, without a shell's
 * start-up: the server falls back to that shell when this program was not built (no C compiler at build time).
 *
 * Signals keep their default actions, as the server set them: a SIGTERM to the group ends this supervisor at once,
 * with no exit status written, as it ends the shell. The server knows it stopped the step.
 *
 * The build links it statically with musl when musl-gcc is installed, else statically with glibc: it starts ~0.3 ms
 * sooner with musl on a virtual machine, where glibc's start-up asks the CPU about its caches with dozens of cpuid
 * instructions that each trap to the hypervisor. So the PATH search is its own, like glibc's execvp: the same
 * behaviour under either C library (musl's execvp would not run a file without "#!" with /bin/sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes "VALUE\n" to DIR/NAME (created or truncated); on failure says so on stderr, as the shell's redirection does. */
static int record(const char *dir, const char *name, long value)
{
    char path[4096];
    char text[24];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        dprintf(2, "sluice-step: cannot create %s/%s: File name too long\n", dir, name);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        dprintf(2, "sluice-step: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    int len = snprintf(text, sizeof text, "%ld\n", value);
    ssize_t w = write(fd, text, (size_t)len);
    int e = errno;
    if (close(fd) != 0 || w != len) {
        dprintf(2, "sluice-step: cannot write %s: %s\n", path, strerror(w < 0 ? e : EIO));
        return -1;
    }
    return 0;
}

extern char **environ;

/* execve, and when the kernel cannot run the file (ENOEXEC: no "#!", not a binary), /bin/sh with the file as its
 * script, as execvp does. Returns only on failure, with the errno to report. */
static int try_exec(const char *path, char **argv, int argc)
{
    execve(path, argv, environ);
    int e = errno;
    if (e == ENOEXEC) {
        char *script[argc + 2];
        script[0] = "/bin/sh";
        script[1] = (char *)path;
        for (int i = 1; i <= argc; i++) {
            script[i + 1] = argv[i];
        }
        execve("/bin/sh", script, environ);
        e = errno;
    }
    return e;
}

/* Runs argv[0] found like execvp(3) does it (PATH, or /bin:/usr/bin without one; an empty entry is the working
 * directory); never returns: exits 127 when it is not found, 126 when it cannot be run, saying why on stderr. */
static void run(char **argv, int argc)
{
    const char *file = argv[0];
    int e = ENOENT;
    if (strchr(file, '/') != NULL) {
        e = try_exec(file, argv, argc);
    } else if (*file != '\0') {
        const char *path = getenv("PATH");
        if (path == NULL) {
            path = "/bin:/usr/bin";
        }
        size_t flen = strlen(file);
        int denied = 0;
        for (const char *p = path;; p++) {
            const char *end = strchrnul(p, ':');
            size_t dlen = (size_t)(end - p);
            char full[PATH_MAX];
            if (dlen + 1 + flen < sizeof full) {
                memcpy(full, p, dlen);
                if (dlen > 0) {
                    full[dlen++] = '/';
                }
                memcpy(full + dlen, file, flen + 1);
                e = try_exec(full, argv, argc);
                if (e == EACCES) {
                    denied = 1;
                } else if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV && e != ETIMEDOUT && e != ENAMETOOLONG) {
                    break;
                }
            }
            if (*end == '\0') {
                e = denied ? EACCES : ENOENT;
                break;
            }
            p = end;
        }
    }
    if (e == ENOENT) {
        dprintf(2, "sluice-step: %s: not found\n", file);
    } else {
        dprintf(2, "sluice-step: %s: %s\n", file, strerror(e));
    }
    _exit(e == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        dprintf(2, "usage: sluice-step DIR COMMAND [ARG...]\n");
        return 2;
    }
    const char *dir = argv[1];
    record(dir, "pid", (long)getpid());

    pid_t child = fork();
    if (child < 0) {
        dprintf(2, "sluice-step: cannot start %s: %s\n", argv[2], strerror(errno));
        record(dir, "exit", 126L);
        return 126;
    }
    if (child == 0) {
        run(argv + 2, argc - 2);
    }

    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            dprintf(2, "sluice-step: cannot wait for %s: %s\n", argv[2], strerror(errno));
            return 2;
        }
    }
    long code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128L + WTERMSIG(status) : 126L;
    record(dir, "exit", code);
    return (int)code;
}
