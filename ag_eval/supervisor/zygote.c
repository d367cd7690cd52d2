/*
 * libagzygote: lets a language runtime serve as a pre-started "zygote" in a jail.
 *
 * A runner's `zygote:` command starts its runtime (Python, R, ...) once, then calls
 * ag_zygote_serve() through its foreign-function interface. That call never returns in
 * the zygote: it waits for test requests from the supervisor and, for each, forks a
 * fresh process (twice, so that the test process is a child of the supervisor, which
 * reaps it and reads its resource usage). ag_zygote_serve() returns in that test
 * process only, with stdin/stdout/stderr connected to the test's files and its limits
 * set; the runtime then runs the program, from a clean copy of the loaded runtime.
 *
 * Channel: requests "<cpu_s> <fsize_bytes>\n" on fd 3; replies on fd 4: "ready\n" once,
 * then "<pid>\n" per test. End of fd 3 ends the zygote.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

static void redirect(const char *path, int flags, int target) {
    int fd = open(path, flags);
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
}

void ag_zygote_serve(void) {
    /* Not dumpable: no process of the jail (same uid) may read or write our memory. */
    prctl(PR_SET_DUMPABLE, 0);
    if (put("ready\n") < 0) _exit(0);
    char line[128];
    for (;;) {
        if (get_line(line, sizeof line) < 0) _exit(0);
        long cpu_s = 1, fsize = 1 << 20;
        if (sscanf(line, "%ld %ld", &cpu_s, &fsize) != 2) _exit(2);
        pid_t middle = fork();
        if (middle < 0) {
            put("0\n");
            continue;
        }
        if (middle == 0) {
            pid_t test = fork();
            if (test == 0) {
                become_test(cpu_s, fsize);
                return; /* into the runtime, which now runs the program */
            }
            char reply[32];
            snprintf(reply, sizeof reply, "%d\n", test > 0 ? (int)test : 0);
            put(reply);
            _exit(0);
        }
        while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {
        }
    }
}
