#ifndef VOLUMED_CLINUX_SHIM_H
#define VOLUMED_CLINUX_SHIM_H
/* Linux and glibc calls that Swift's Glibc module lacks: declared only under _GNU_SOURCE, or in
   a header it does not include (malloc.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

/* Sends `length` bytes with descriptor `fd` attached (SCM_RIGHTS): the CMSG_* helpers are
   macros Swift cannot call. Returns the bytes sent, or -1 with errno set. */
static inline ssize_t clinux_send_with_descriptor(int socket, const void *bytes, size_t length, int fd) {
    struct iovec io = { (void *)bytes, length };
    union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    return sendmsg(socket, &message, MSG_NOSIGNAL);
}

/* Receives up to `length` bytes and the descriptors passed with them, each close-on-exec:
   up to `capacity` go to `descriptors` (their number to `*count`), any others are closed.
   Returns the bytes received, or -1 with errno set. */
static inline ssize_t clinux_receive_with_descriptors(int socket, void *bytes, size_t length, int *descriptors, int capacity, int *count) {
    struct iovec io = { bytes, length };
    union { char buffer[CMSG_SPACE(sizeof(int) * 16)]; struct cmsghdr align; } control;
    struct msghdr message = {0};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    *count = 0;
    ssize_t received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received < 0) return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t passed = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t index = 0; index < passed; index++) {
            int fd;
            memcpy(&fd, CMSG_DATA(header) + index * sizeof(int), sizeof(int));
            if (*count < capacity) descriptors[(*count)++] = fd; else close(fd);
        }
    }
    return received;
}
#endif
