#ifndef VOLUMED_CLINUX_SHIM_H
#define VOLUMED_CLINUX_SHIM_H
/* Linux and glibc calls that Swift's Glibc module lacks: declared only under _GNU_SOURCE, or in
   a header it does not include (malloc.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static inline int clinux_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Turns O_DIRECT on or off for an open file. */
static inline int clinux_set_direct(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT));
}

static inline int clinux_limit_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}

/* Bytes free inside the allocator's heaps: memory the process holds but does not use. */
static inline size_t clinux_heap_free_bytes(void) {
    return mallinfo2().fordblks;
}

static inline void clinux_trim_heaps(void) {
    malloc_trim(0);
}
/* Starts `path` with `argv` (NULL-terminated; the environment is inherited) in a child that
   the kernel sends `death_signal` when the calling thread exits: stdio on /dev/null, every
   other descriptor closed, default signal handling and an empty signal mask whatever this
   process blocks. Only async-signal-safe calls run between fork and exec. Returns the pid, or
   -1 with errno set. */
static inline pid_t clinux_spawn_tied(const char *path, char *const argv[], int death_signal) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (prctl(PR_SET_PDEATHSIG, death_signal) != 0 || getppid() != parent) _exit(127);
    struct sigaction standard = {0};
    standard.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) sigaction(signal, &standard, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(127);
    close_range(3, ~0U, 0);
    execv(path, argv);
    _exit(127);
}
#endif
