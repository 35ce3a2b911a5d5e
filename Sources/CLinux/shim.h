#ifndef VOLUMED_CLINUX_SHIM_H
#define VOLUMED_CLINUX_SHIM_H
/* Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module lacks. */
#define _GNU_SOURCE
#include <fcntl.h>

static inline int clinux_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
#endif
