/*
 * The in-jail test supervisor.
 *
 * nsjail starts this program once per judged program, as PID 1 of the jail's PID
 * namespace; it then runs every test of that program as a fresh child, so a test
 * costs a fork+exec instead of a new jail. Between tests it kills every other process
 * in the jail, reaps them and empties /tmp, so no test sees what an earlier one left.
 *
 * Protocol (host <-> supervisor), on the supervisor's stdin/stdout:
 *   request:  "R <cpu_s> <wall_ms> <out_cap> <err_cap> <input_len>\n" + input bytes
 *             "Q\n" to quit
 *   replies:  'O' <u32 len> <bytes>   a chunk of the test's stdout
 *             'E' <u32 len> <bytes>   a chunk of the test's stderr (capped)
 *             "X <wait_status> <utime_us> <stime_us> <wall_us> <flags> <maxrss_kb>\n"  end of test
 *             flags: 1 = wall limit reached, 2 = stdout cap reached, 4 = could not start
 *
 * Usage: supervisor -- PROGRAM [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static char **prog_argv;

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_line(int fd, char *buf, size_t cap) {
    size_t i = 0;
    while (i + 1 < cap) {
        ssize_t n = read(fd, buf + i, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        if (buf[i] == '\n') {
            buf[i] = 0;
            return 0;
        }
        i++;
    }
    return -1;
}

static void send_frame(char tag, const char *data, uint32_t len) {
    char head[5];
    head[0] = tag;
    memcpy(head + 1, &len, 4); /* little-endian on every platform nsjail runs on */
    if (write_all(1, head, 5) < 0 || write_all(1, data, len) < 0) _exit(3);
}

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    if (ftw->level == 0) return 0; /* keep /tmp itself */
    if (flag == FTW_DP) rmdir(path); else unlink(path);
    return 0;
}

static int fix_perm(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DNR) chmod(path, (sb->st_mode & 07777) | 0700);
    return 0;
}

/* Kill every process of the jail but this one, reap them all, empty /tmp. */
static void reset_jail(void) {
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    nftw("/tmp", fix_perm, 16, FTW_PHYS);
    nftw("/tmp", rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Forward a chunk of the test's stdout ('O') or stderr ('E') within its cap.
   Returns 1 when stdout went over its cap (the test is then stopped). */
static int forward(char tag, const char *data, ssize_t n, long *total, long cap) {
    long keep = n;
    if (*total + n > cap) keep = cap - *total;
    if (keep > 0) send_frame(tag, data, (uint32_t)keep);
    *total += n;
    return tag == 'O' && *total > cap;
}

static void run_test(long cpu_s, long wall_ms, long out_cap, long err_cap, long input_len) {
    int flags = 0;
    int in_fd = (int)syscall(SYS_memfd_create, "stdin", 0);
    if (in_fd < 0) _exit(4);
    char *buf = malloc(CHUNK);
    long left = input_len;
    while (left > 0) {
        size_t n = left > CHUNK ? CHUNK : (size_t)left;
        if (read_all(0, buf, n) < 0) _exit(5);
        if (write_all(in_fd, buf, n) < 0) _exit(6);
        left -= (long)n;
    }
    lseek(in_fd, 0, SEEK_SET);

    int out_p[2], err_p[2];
    if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) _exit(7);
    int64_t start = now_us();
    pid_t child = fork();
    if (child < 0) _exit(8);
    if (child == 0) {
        setpgid(0, 0);
        int adj = open("/proc/self/oom_score_adj", O_WRONLY);
        if (adj >= 0) {
            write_all(adj, "1000", 4);
            close(adj);
        }
        struct rlimit rl = {(rlim_t)cpu_s, (rlim_t)cpu_s + 1};
        setrlimit(RLIMIT_CPU, &rl);
        dup2(in_fd, 0);
        dup2(out_p[1], 1);
        dup2(err_p[1], 2);
        for (int fd = 3; fd < 1024; fd++) close(fd);
        signal(SIGPIPE, SIG_DFL);
        execv(prog_argv[0], prog_argv);
        dprintf(2, "cannot execute %s: %s\n", prog_argv[0], strerror(errno));
        _exit(127);
    }
    close(in_fd);
    close(out_p[1]);
    close(err_p[1]);
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);

    long out_total = 0, err_total = 0;
    int out_open = 1, err_open = 1, child_done = 0;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int64_t deadline = start + wall_ms * 1000;
    while (out_open || err_open || (pidfd >= 0 && !child_done)) {
        struct pollfd fds[3];
        int nfds = 0, i_out = -1, i_err = -1, i_pid = -1;
        if (out_open) { fds[nfds].fd = out_p[0]; fds[nfds].events = POLLIN; i_out = nfds++; }
        if (err_open) { fds[nfds].fd = err_p[0]; fds[nfds].events = POLLIN; i_err = nfds++; }
        if (pidfd >= 0 && !child_done) { fds[nfds].fd = pidfd; fds[nfds].events = POLLIN; i_pid = nfds++; }
        if (nfds == 0) break;
        int64_t remaining = deadline - now_us();
        if (remaining <= 0) {
            flags |= 1;
            break;
        }
        int r = poll(fds, (nfds_t)nfds, (int)(remaining / 1000) + 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (i_out >= 0 && fds[i_out].revents) {
            ssize_t n = read(out_p[0], buf, CHUNK);
            if (n <= 0) {
                out_open = 0;
            } else if (forward('O', buf, n, &out_total, out_cap)) {
                flags |= 2;
                break;
            }
        }
        if (i_err >= 0 && fds[i_err].revents) {
            ssize_t n = read(err_p[0], buf, CHUNK);
            if (n <= 0) {
                err_open = 0;
            } else {
                forward('E', buf, n, &err_total, err_cap);
            }
        }
        if (i_pid >= 0 && fds[i_pid].revents) {
            /* The program ended; a background child may still hold the pipes open:
               take what is already buffered, then stop waiting for it. */
            child_done = 1;
            if (wait4(child, &status, 0, &ru) == child) child = 0;
            for (int k = 0; k < 2; k++) {
                int fd = k == 0 ? out_p[0] : err_p[0];
                int *open_flag = k == 0 ? &out_open : &err_open;
                if (!*open_flag) continue;
                fcntl(fd, F_SETFL, O_NONBLOCK);
                for (;;) {
                    ssize_t n = read(fd, buf, CHUNK);
                    if (n <= 0) break;
                    if (k == 0 ? forward('O', buf, n, &out_total, out_cap)
                               : forward('E', buf, n, &err_total, err_cap)) {
                        flags |= 2;
                        break;
                    }
                }
            }
            break;
        }
    }
    if (child > 0) {
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
        wait4(child, &status, 0, &ru);
    }
    int64_t wall = now_us() - start;
    close(out_p[0]);
    close(err_p[0]);
    if (pidfd >= 0) close(pidfd);
    reset_jail();
    free(buf);
    char line[160];
    int len = snprintf(line, sizeof line, "X %d %lld %lld %lld %d %ld\n", status,
                       (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
                       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
                       (long long)wall, flags, (long)ru.ru_maxrss);
    if (write_all(1, line, (size_t)len) < 0) _exit(3);
}

int main(int argc, char **argv) {
    int i = 1;
    if (i < argc && strcmp(argv[i], "--") == 0) i++;
    if (i >= argc) {
        dprintf(2, "usage: supervisor -- PROGRAM [ARGS...]\n");
        return 2;
    }
    prog_argv = argv + i;
    /* Not dumpable: the programs (same uid) cannot read or write our memory via /proc. */
    prctl(PR_SET_DUMPABLE, 0);
    signal(SIGPIPE, SIG_IGN);
    char line[256];
    while (read_line(0, line, sizeof line) == 0) {
        if (line[0] == 'Q') break;
        long cpu_s, wall_ms, out_cap, err_cap, input_len;
        if (sscanf(line, "R %ld %ld %ld %ld %ld", &cpu_s, &wall_ms, &out_cap, &err_cap, &input_len) != 5) return 9;
        run_test(cpu_s, wall_ms, out_cap, err_cap, input_len);
    }
    reset_jail();
    return 0;
}
