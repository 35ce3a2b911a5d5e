#ifndef VOLUMED_CSOCKET_SHIM_H
#define VOLUMED_CSOCKET_SHIM_H
/* Descriptor passing over a Unix socket. Kept apart from CLinux, which defines _GNU_SOURCE:
   <sys/socket.h> brings in fd_set, whose member names change under _GNU_SOURCE, and two
   modules with different fd_set definitions break a clean build. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends `length` bytes with descriptor `fd` attached (SCM_RIGHTS): the CMSG_* helpers are
   macros Swift cannot call. Returns the bytes sent, or -1 with errno set. */
static inline ssize_t csocket_send_with_descriptor(int socket, const void *bytes, size_t length, int fd) {
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
static inline ssize_t csocket_receive_with_descriptors(int socket, void *bytes, size_t length, int *descriptors, int capacity, int *count) {
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
