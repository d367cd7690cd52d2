/*
 * libagzygote: lets a language runtime serve as a pre-started "zygote" in a jail.
 *
 * A runner's `zygote:` command starts its runtime (Python, R, ...) once, then calls
 * ag_zygote_serve() (or the ready/wait/fork steps below) through its foreign-function
 * interface. In the zygote, that call never returns: it waits for test requests from
 * the supervisor and, for each, forks a fresh process with CLONE_PARENT, so that the
 * test process is a child of the supervisor, which reaps it and reads its resource
 * usage. (The runtime is single-threaded when it calls in, so a raw clone is as safe
 * as fork here.) The call returns in that test process only, with stdin/stdout/stderr
 * connected to the test's files and its limits set; the runtime then runs the program,
 * from a clean copy of the loaded runtime.
 *
 * Channel: requests "<cpu_s> <fsize_bytes>\n" on fd 3; replies on fd 4: "ready\n" once,
 * then "<pid>\n" per test. End of fd 3 ends the zygote.
 *
 * From "ready" on, the zygote blocks every signal it can: a signal a program sends it
 * stays pending, where the supervisor sees it (and starts a fresh zygote) instead of
 * reaching the runtime's handlers. Each test process starts with the runtime's own mask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CTL_IN 3
#define CTL_OUT 4

static int put(const char *s) {
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(CTL_OUT, s, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int get_line(char *buf, size_t cap) {
    size_t i = 0;
    while (i + 1 < cap) {
        ssize_t n = read(CTL_IN, buf + i, 1);
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

static sigset_t runtime_mask;

static void redirect(const char *path, int flags, int target) {
    int fd = open(path, flags | O_NOFOLLOW);
    if (fd < 0) _exit(120);
    if (fd != target) {
        dup2(fd, target);
        close(fd);
    }
}

/* Set up the test process: own process group, first to go on OOM, limits, stdio. */
static void become_test(long cpu_s, long fsize) {
    setpgid(0, 0);
    int adj = open("/proc/self/oom_score_adj", O_WRONLY);
    if (adj >= 0) {
        if (write(adj, "1000", 4) < 0) {
        }
        close(adj);
    }
    struct rlimit cpu = {(rlim_t)cpu_s, (rlim_t)cpu_s + 1};
    setrlimit(RLIMIT_CPU, &cpu);
    struct rlimit fs = {(rlim_t)fsize, (rlim_t)fsize};
    setrlimit(RLIMIT_FSIZE, &fs);
    redirect("/tmp/.ag-stdin", O_RDONLY, 0);
    redirect("/tmp/.ag-stdout", O_WRONLY | O_APPEND, 1);
    redirect("/tmp/.ag-stderr", O_WRONLY | O_APPEND, 2);
    close(CTL_IN);
    close(CTL_OUT);
    sigprocmask(SIG_SETMASK, &runtime_mask, NULL);
}

static long req_cpu_s = 1, req_fsize = 1 << 20;

/* Say "ready" to the supervisor (once) and stop being dumpable: no process of the jail
   (same uid) may then read or write this runtime's memory. */
void ag_zygote_ready(void) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &runtime_mask);
    prctl(PR_SET_DUMPABLE, 0);
    if (put("ready\n") < 0) _exit(0);
}

/* Wait for the next test request. Returns 1 (the runtime may now prepare, e.g. compile
   the program once for all the tests that fork from it); ends the zygote when the
   supervisor closes the channel. */
int ag_zygote_wait(void) {
    char line[128];
    if (get_line(line, sizeof line) < 0) _exit(0);
    if (sscanf(line, "%ld %ld", &req_cpu_s, &req_fsize) != 2) _exit(2);
    return 1;
}

/* Fork the test process for the request just read. Returns 0 in the test process (set
   up: stdio, limits, process group), the test's pid in the zygote. */
long ag_zygote_fork(void) {
    /* The test waits until its pid has been reported: a program that kills the zygote
       at once must not leave the supervisor without an answer. */
    int go[2];
    if (pipe(go) < 0) _exit(3);
    long test = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (test == 0) {
        char c;
        close(go[1]);
        while (read(go[0], &c, 1) < 0 && errno == EINTR) {
        }
        close(go[0]);
        become_test(req_cpu_s, req_fsize);
        return 0;
    }
    close(go[0]);
    char reply[32];
    snprintf(reply, sizeof reply, "%ld\n", test > 0 ? test : 0L);
    put(reply);
    close(go[1]);
    return test > 0 ? test : -1;
}

/* The whole loop, for runtimes that need no preparation between requests: returns only
   in a test process. */
void ag_zygote_serve(void) {
    ag_zygote_ready();
    for (;;) {
        ag_zygote_wait();
        if (ag_zygote_fork() == 0) return; /* into the runtime, which now runs the program */
    }
}

/* The same loop as a Lua C function (int f(lua_State *L)), for package.loadlib: the
   lua_State is not touched and nothing is returned to Lua. */
int ag_zygote_serve_lua(void *lua_state) {
    (void)lua_state;
    ag_zygote_serve();
    return 0;
}
