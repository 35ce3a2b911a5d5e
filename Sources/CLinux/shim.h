#ifndef VOLUMED_CLINUX_SHIM_H
#define VOLUMED_CLINUX_SHIM_H
/* Linux and glibc calls that Swift's Glibc module lacks: declared only under _GNU_SOURCE, or in
   a header it does not include (malloc.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>

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
#endif
