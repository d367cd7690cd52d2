/*
 * The in-jail test supervisor.
 *
 * nsjail starts this program once per judged program, as PID 1 of the jail's PID
 * namespace; it then runs every test of that program as a fresh child, so a test
 * costs a fork+exec instead of a new jail. Between tests it kills every other process
 * in the jail, reaps them and empties /tmp, so no test sees what an earlier one left.
 *
 * Protocol (host <-> supervisor), on the supervisor's stdin/stdout:
 *   request:  "R <cpu_s> <wall_ms> <out_cap> <err_cap> <input_len> <halt>\n" + input bytes
 *             "G\n"  go on after a halt (no reply)
 *             "Q\n"  quit
 *   replies:  'O' <u32 len> <bytes>   a chunk of the test's stdout
 *             'E' <u32 len> <bytes>   a chunk of the test's stderr (capped)
 *             "X <wait_status> <utime_us> <stime_us> <wall_us> <flags> <maxrss_kb>\n"  end of test
 *             flags: 1 = wall limit reached, 2 = stdout cap reached, 4 = could not start,
 *                    8 = skipped (not run: the supervisor was halted),
 *                    16 = jail poisoned: after the test the jail could not be made clean
 *                         again (the host replaces the jail; the test is judged as usual)
 *
 * The host may send many requests without waiting for their replies (a pipeline); they
 * run one after another, in order. A test ends in a halt when its request's <halt> says
 * so: bit 1 after a death by a signal or a failed start (the host then reads the jail's
 * cgroup counters, which nothing else is moving), bit 2 after any failure it can see
 * (a non-zero exit or any flag; the host stops on the first failure). Halted, the
 * supervisor answers every request with a skipped reply until "G". A poisoned jail halts
 * too, for good: the host ends it and starts a fresh one.
 *
 * After every test the jail is checked, not trusted: every other process is killed and
 * reaped, /tmp is emptied with descriptor-relative calls (no path length limit) and must
 * be empty, and the supervisor's own limits, priority and CPUs must be what they were at
 * start (the seccomp policy already refuses changing another process's; this is the
 * backstop). A zygote that was stopped, has a signal pending (it blocks them all while it
 * waits) or had its limits, priority or CPUs changed is killed and started again before
 * the next test, outside any test's time.
 *
 * Usage: supervisor [--zygote] -- PROGRAM [ARGS...]
 *
 * With --zygote, PROGRAM is a pre-started runtime that calls ag_zygote_serve() from
 * libagzygote (zygote.c): each test is then a fresh fork of the loaded runtime instead
 * of a new exec, its stdio are files in /tmp, and its output cap is RLIMIT_FSIZE. The
 * supervisor creates those files itself and reads the output back through its own
 * descriptors, so a program that replaces them (a FIFO, a folder) changes nothing. When a
 * test leaves any other process behind, the whole jail is cleared, the zygote included,
 * and the zygote is started again for the next test.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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
static int zygote_mode = 0;
static pid_t zygote_pid = 0;
static int zy_ctl_w = -1, zy_ctl_r = -1;

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

/* The request stream (stdin), read through a buffer: a pipeline of requests arrives in
   a few reads instead of one read per byte. */
static char req_buf[CHUNK];
static size_t req_pos = 0, req_len = 0;

static int req_fill(void) {
    if (req_pos < req_len) return 0;
    for (;;) {
        ssize_t n = read(0, req_buf, sizeof req_buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        req_pos = 0;
        req_len = (size_t)n;
        return 0;
    }
}

static int req_read(void *dst, size_t len) {
    char *p = dst;
    while (len > 0) {
        if (req_fill() < 0) return -1;
        size_t n = req_len - req_pos < len ? req_len - req_pos : len;
        memcpy(p, req_buf + req_pos, n);
        req_pos += n;
        p += n;
        len -= n;
    }
    return 0;
}

static int req_line(char *buf, size_t cap) {
    size_t i = 0;
    while (i + 1 < cap) {
        if (req_fill() < 0) return -1;
        char c = req_buf[req_pos++];
        if (c == '\n') {
            buf[i] = 0;
            return 0;
        }
        buf[i++] = c;
    }
    return -1;
}

/* Read a request's input and drop it (a skipped test). */
static void req_skip(long len) {
    while (len > 0) {
        if (req_fill() < 0) _exit(5);
        size_t n = req_len - req_pos < (size_t)len ? req_len - req_pos : (size_t)len;
        req_pos += n;
        len -= (long)n;
    }
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

/* ---- the state of the jail, checked after every test ---------------------------------- */

#define N_LIMITS 16 /* RLIMIT_CPU .. RLIMIT_RTTIME */

struct proc_state {
    struct rlimit limits[N_LIMITS];
    int priority;
    cpu_set_t cpus;
};

static int read_state(pid_t pid, struct proc_state *st) {
    memset(st, 0, sizeof *st);
    for (int r = 0; r < N_LIMITS; r++)
        if (prlimit(pid, (enum __rlimit_resource)r, NULL, &st->limits[r]) < 0) return -1;
    errno = 0;
    st->priority = getpriority(PRIO_PROCESS, (id_t)pid);
    if (errno) return -1;
    if (sched_getaffinity(pid, sizeof st->cpus, &st->cpus) < 0) return -1;
    return 0;
}

static int same_state(pid_t pid, const struct proc_state *want) {
    struct proc_state now;
    if (read_state(pid, &now) < 0) return 0;
    for (int r = 0; r < N_LIMITS; r++)
        if (now.limits[r].rlim_cur != want->limits[r].rlim_cur || now.limits[r].rlim_max != want->limits[r].rlim_max)
            return 0;
    return now.priority == want->priority && CPU_EQUAL(&now.cpus, &want->cpus);
}

static struct proc_state self_state, zygote_state;
static int tmp_fd = -1;

static int is_dot(const char *name) {
    return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
}

/* Empty the folder open at `top` with descriptor-relative calls only: no path is ever
   built, so a tree deeper than PATH_MAX goes too, and nothing is followed (a symbolic
   link is removed, never entered). One descriptor is held at a time: the walk goes down
   into the first folder it cannot remove and back up through "..". Gives up after a
   time budget. Returns 0 when the folder is empty afterwards. */
static int empty_folder(int top, int64_t budget_us) {
    int64_t give_up = now_us() + budget_us;
    int cur = fcntl(top, F_DUPFD_CLOEXEC, 0);
    if (cur < 0) return -1;
    int depth = 0;
    long steps = 0;
    for (;;) {
        int scan = fcntl(cur, F_DUPFD_CLOEXEC, 0);
        DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
        if (!d) {
            if (scan >= 0) close(scan);
            close(cur);
            return -1;
        }
        rewinddir(d);
        char sub[256] = "";
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (is_dot(e->d_name)) continue;
            if ((++steps & 1023) == 0 && now_us() > give_up) break;
            if (unlinkat(cur, e->d_name, 0) == 0) continue;
            if (errno == EACCES) {  /* the folder itself was made read-only */
                fchmod(cur, 0700);
                if (unlinkat(cur, e->d_name, 0) == 0) continue;
            }
            if (errno != EISDIR && errno != EPERM) continue;
            if (unlinkat(cur, e->d_name, AT_REMOVEDIR) == 0) continue;
            snprintf(sub, sizeof sub, "%s", e->d_name);
            break;
        }
        closedir(d);
        if (now_us() > give_up) break;
        if (sub[0]) {  /* a folder that is not empty: go down into it */
            int next = openat(cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0 && errno == EACCES) {
                fchmod(cur, 0700);
                fchmodat(cur, sub, 0700, 0);
                next = openat(cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
            if (next < 0) break;
            fchmod(next, 0700);
            close(cur);
            cur = next;
            depth++;
            continue;
        }
        if (depth == 0) break;
        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(cur);
        if (up < 0) return -1;
        cur = up;
        depth--;
    }
    close(cur);
    /* Empty now? */
    int scan = fcntl(top, F_DUPFD_CLOEXEC, 0);
    DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
    if (!d) {
        if (scan >= 0) close(scan);
        return -1;
    }
    rewinddir(d);
    int empty = 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (!is_dot(e->d_name)) empty = 0;
    closedir(d);
    return empty ? 0 : -1;
}

/* How long emptying /tmp may take before the jail is given up instead. */
#define CLEAN_BUDGET_US 500000

static void stop_zygote(void) {
    if (zy_ctl_w >= 0) close(zy_ctl_w);
    if (zy_ctl_r >= 0) close(zy_ctl_r);
    zy_ctl_w = zy_ctl_r = -1;
    zygote_pid = 0;
}

/* Is any process other than this one and the zygote alive in the jail? */
static int strays_alive(void) {
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid != 1 && pid != zygote_pid) {
            found = 1;
            break;
        }
    }
    closedir(d);
    return found;
}

/* Is the zygote as it was when it said ready: running or waiting, no signal pending
   (it blocks them all while it waits), same limits, priority and CPUs? */
static int zygote_clean(void) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)zygote_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *state = strstr(buf, "\nState:\t"), *sig = strstr(buf, "\nSigPnd:\t"), *shd = strstr(buf, "\nShdPnd:\t");
    if (!state || !sig || !shd) return 0;
    if (state[8] != 'S' && state[8] != 'R') return 0;  /* stopped, traced, a zombie... */
    if (strtoull(sig + 9, NULL, 16) != 0 || strtoull(shd + 9, NULL, 16) != 0) return 0;
    return same_state(zygote_pid, &zygote_state);
}

static void kill_all(void) {
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
}

/* Kill every process of the jail but this one (and a clean zygote), reap them all, empty
   /tmp, and check the jail. Returns 1 when it could not be made clean (poisoned). */
static int reset_jail(void) {
    pid_t gone;
    while ((gone = waitpid(-1, NULL, WNOHANG)) > 0) {  /* a zygote killed by its test is restarted */
        if (gone == zygote_pid) stop_zygote();
    }
    if (!zygote_pid || strays_alive()) {
        kill_all();
        if (zygote_pid) stop_zygote();
    } else if (!zygote_clean()) {  /* started again, lazily, before the next test */
        kill_all();
        stop_zygote();
    }
    int poisoned = empty_folder(tmp_fd, CLEAN_BUDGET_US) < 0 || !same_state(0, &self_state);
    if (poisoned && zygote_pid) {
        kill_all();
        stop_zygote();
    }
    return poisoned;
}

static int read_reply(int fd, char *buf, size_t cap, int64_t deadline) {
    size_t i = 0;
    while (i + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t remaining = deadline - now_us();
        if (remaining <= 0) return -1;
        int r = poll(&p, 1, (int)(remaining / 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t n = read(fd, buf + i, 1);
        if (n <= 0) return -1;
        if (buf[i] == '\n') {
            buf[i] = 0;
            return 0;
        }
        i++;
    }
    return -1;
}

/* Start the runtime and wait until it says it is ready. */
static int start_zygote(void) {
    int to[2], from[2];
    if (pipe(to) < 0 || pipe(from) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int a = fcntl(to[0], F_DUPFD, 10), b = fcntl(from[1], F_DUPFD, 10);
        dup2(a, 3);
        dup2(b, 4);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        for (int fd = 5; fd < 1024; fd++) close(fd);
        execv(prog_argv[0], prog_argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    zy_ctl_w = to[1];
    zy_ctl_r = from[0];
    fcntl(zy_ctl_w, F_SETFD, FD_CLOEXEC);
    fcntl(zy_ctl_r, F_SETFD, FD_CLOEXEC);
    zygote_pid = pid;
    char line[32];
    if (read_reply(zy_ctl_r, line, sizeof line, now_us() + 60 * 1000000LL) < 0 || strcmp(line, "ready") != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        stop_zygote();
        return -1;
    }
    if (read_state(pid, &zygote_state) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        stop_zygote();
        return -1;
    }
    return 0;
}

/* Send what the test wrote to a capture file, through the supervisor's own descriptor. */
static void send_fd(char tag, int fd, long cap, long *total) {
    char *buf = malloc(CHUNK);
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, CHUNK, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        at += n;
        long keep = n;
        if (*total + n > cap) keep = cap - *total;
        if (keep > 0) send_frame(tag, buf, (uint32_t)keep);
        *total += n;
        if (*total > cap) break;
    }
    free(buf);
}

/* Create a fresh capture file in /tmp (emptied after the last test, so the name is free)
   and write the next len bytes of the request stream to it. The stream is consumed
   whatever happens, so it stays in step. Returns the supervisor's descriptor, or -1. */
static int capture_file(const char *name, long len, char *buf) {
    int fd = openat(tmp_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    long left = len;
    int failed = fd < 0;
    while (left > 0) {
        size_t n = left > CHUNK ? CHUNK : (size_t)left;
        if (req_read(buf, n) < 0) _exit(5);
        if (!failed && write_all(fd, buf, n) < 0) failed = 1;
        left -= (long)n;
    }
    if (failed && fd >= 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int halt_on = 0, halted = 0;

static void report(int status, struct rusage *ru, int64_t wall, int flags) {
    if (flags & 16) halted = 2;  /* poisoned: for good */
    if (halted != 2 && (((halt_on & 1) && (WIFSIGNALED(status) || (flags & 4))) || ((halt_on & 2) && (status != 0 || flags))))
        halted = 1;
    char line[160];
    int len = snprintf(line, sizeof line, "X %d %lld %lld %lld %d %ld\n", status,
                       (long long)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec,
                       (long long)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec,
                       (long long)wall, flags, (long)ru->ru_maxrss);
    if (write_all(1, line, (size_t)len) < 0) _exit(3);
}

/* One test as a fork of the zygote. */
static void run_test_zygote(long cpu_s, long wall_ms, long out_cap, long err_cap, long input_len) {
    char *buf = malloc(CHUNK);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int status = 0, flags = 0;
    int in_fd = capture_file(".ag-stdin", input_len, buf);
    int out_fd = capture_file(".ag-stdout", 0, buf);
    int err_fd = capture_file(".ag-stderr", 0, buf);
    free(buf);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0 || (!zygote_pid && start_zygote() < 0)) {
        if (in_fd >= 0) close(in_fd);
        if (out_fd >= 0) close(out_fd);
        if (err_fd >= 0) close(err_fd);
        report(0, &ru, 0, 4 | (reset_jail() ? 16 : 0));
        return;
    }
    close(in_fd);
    int64_t start = now_us();
    int64_t deadline = start + wall_ms * 1000;
    char req[64], line[32];
    snprintf(req, sizeof req, "%ld %ld\n", cpu_s, out_cap + 1);
    pid_t pid = 0;
    int asked = 0;
    for (int attempt = 0; attempt < 2 && !asked; attempt++) {
        if (attempt == 1) {  /* the zygote was dying (a test killed it): start a new one once */
            kill(zygote_pid, SIGKILL);
            waitpid(zygote_pid, NULL, 0);
            stop_zygote();
            if (start_zygote() < 0) break;
        }
        asked = write_all(zy_ctl_w, req, strlen(req)) == 0 &&
                read_reply(zy_ctl_r, line, sizeof line, deadline) == 0 && (pid = (pid_t)atoi(line)) > 0;
        if (!asked && now_us() >= deadline) break;
    }
    if (!asked) {
        /* No answer in time: the runtime is stuck preparing the program (a timeout);
           no answer at all: it died (the verifier's fault, unless a test killed it). */
        int late = now_us() >= deadline;
        kill_all();
        stop_zygote();
        close(out_fd);
        close(err_fd);
        int poisoned = reset_jail();
        report(late ? SIGKILL : 0, &ru, now_us() - start, (late ? 1 : 4) | (poisoned ? 16 : 0));
        return;
    }
    /* The test process becomes our child once its short-lived parent is gone. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, &ru);
        if (r == pid) break;
        int64_t remaining = deadline - now_us();
        if (remaining <= 0) {
            flags |= 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
            }
            break;
        }
        if (r < 0 && errno == ECHILD) {  /* not reparented yet */
            usleep(50);
            continue;
        }
        if (pidfd >= 0) {
            struct pollfd p = {pidfd, POLLIN, 0};
            poll(&p, 1, (int)(remaining / 1000) + 1);
        } else {
            usleep(200);
        }
    }
    int64_t wall = now_us() - start;
    if (pidfd >= 0) close(pidfd);
    if (reset_jail()) flags |= 16;  /* first: nothing may write to the files while they are read */
    long out_total = 0, err_total = 0;
    send_fd('O', out_fd, out_cap, &out_total);
    if (out_total > out_cap) flags |= 2;
    send_fd('E', err_fd, err_cap, &err_total);
    close(out_fd);
    close(err_fd);
    report(status, &ru, wall, flags);
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
        if (req_read(buf, n) < 0) _exit(5);
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
    if (reset_jail()) flags |= 16;
    free(buf);
    report(status, &ru, wall, flags);
}

int main(int argc, char **argv) {
    int i = 1;
    if (i < argc && strcmp(argv[i], "--zygote") == 0) {
        zygote_mode = 1;
        i++;
    }
    if (i < argc && strcmp(argv[i], "--") == 0) i++;
    if (i >= argc) {
        dprintf(2, "usage: supervisor -- PROGRAM [ARGS...]\n");
        return 2;
    }
    prog_argv = argv + i;
    /* Not dumpable: the programs (same uid) cannot read or write our memory via /proc. */
    prctl(PR_SET_DUMPABLE, 0);
    signal(SIGPIPE, SIG_IGN);
    tmp_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp_fd < 0 || read_state(0, &self_state) < 0) {
        dprintf(2, "supervisor: cannot open /tmp or read its own limits: %s\n", strerror(errno));
        return 4;
    }
    char line[256];
    while (req_line(line, sizeof line) == 0) {
        if (line[0] == 'Q') break;
        if (line[0] == 'G') {
            if (halted == 1) halted = 0;
            continue;
        }
        long cpu_s, wall_ms, out_cap, err_cap, input_len;
        int halt;
        if (sscanf(line, "R %ld %ld %ld %ld %ld %d", &cpu_s, &wall_ms, &out_cap, &err_cap, &input_len, &halt) != 6)
            return 9;
        if (halted) {
            struct rusage none;
            memset(&none, 0, sizeof none);
            req_skip(input_len);
            report(0, &none, 0, 8);
            continue;
        }
        halt_on = halt;
        if (zygote_mode)
            run_test_zygote(cpu_s, wall_ms, out_cap, err_cap, input_len);
        else
            run_test(cpu_s, wall_ms, out_cap, err_cap, input_len);
    }
    /* Leave nothing behind, the zygote included, so that the jail's cgroup is empty when
       nsjail removes it. */
    kill_all();
    return 0;
}
