/*
 * sluice-step: the supervisor of one process step (docs/process-steps.md).
 *
 *   sluice-step DIR COMMAND [ARG...]
 *
 * The server starts it as the leader of a new session and process group. It records its pid in DIR/pid, runs COMMAND
 * (looked up in PATH like exec(1p) in a shell, so a command named like a shell builtin is the program, not the builtin)
 * as its child with the same descriptors and environment, waits for it, and records its exit status in DIR/exit
 * (128+N when signal N ended it). Exactly what the shell supervisor in Spawner.cs does, without a shell's start-up:
 * the server falls back to that shell when this program was not built (no C compiler at build time).
 *
 * Signals keep their default actions, as the server set them: a SIGTERM to the group ends this supervisor at once,
 * with no exit status written, as it ends the shell. The server knows it stopped the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
        return record(dir, "exit", 126L) == 0 ? 0 : 2;
    }
    if (child == 0) {
        execvp(argv[2], argv + 2);
        int e = errno;
        if (e == ENOENT) {
            dprintf(2, "sluice-step: %s: not found\n", argv[2]);
        } else {
            dprintf(2, "sluice-step: %s: %s\n", argv[2], strerror(e));
        }
        _exit(e == ENOENT ? 127 : 126);
    }

    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            dprintf(2, "sluice-step: cannot wait for %s: %s\n", argv[2], strerror(errno));
            return 2;
        }
    }
    long code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128L + WTERMSIG(status) : 126L;
    return record(dir, "exit", code) == 0 ? 0 : 2;
}
