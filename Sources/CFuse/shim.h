#ifndef VOLUMED_CFUSE_SHIM_H
#define VOLUMED_CFUSE_SHIM_H
// The low-level API at the 3.12 level: set before the first libfuse header.
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <fuse_lowlevel.h>
// The kernel's wire structures, for the requests and replies `FuseBridge.KernelChannel` reads.
#include <linux/fuse.h>
#include <sys/uio.h>

// One request loop on the calling thread; several threads may serve one session this way.
// Used instead of `fuse_session_loop_mt`, which stops its workers with `pthread_cancel`: a
// worker cancelled inside `perror` leaves stderr's lock held and every later message hangs.
static inline int cfuse_session_worker(struct fuse_session *se) {
    struct fuse_buf buffer = { .mem = NULL };
    int result = 0;
    while (!fuse_session_exited(se)) {
        int received = fuse_session_receive_buf(se, &buffer);
        if (received == -EINTR) continue;
        if (received <= 0) {
            result = received;
            fuse_session_exit(se);
            break;
        }
        fuse_session_process_buf(se, &buffer);
    }
    free(buffer.mem);
    return result;
}

static inline int cfuse_version(void) { return fuse_version(); }
#endif
