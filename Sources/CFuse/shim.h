#ifndef VOLUMED_CFUSE_SHIM_H
#define VOLUMED_CFUSE_SHIM_H
// The low-level API at the 3.12 level: set before the first libfuse header.
#define FUSE_USE_VERSION 312
#include <stddef.h>
#include <fuse_lowlevel.h>

// `fuse_session_loop_mt` is a macro and the loop config is opaque: give Swift plain functions.
static inline int cfuse_session_loop_mt(struct fuse_session *se, unsigned int max_idle_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_max_threads(config, max_idle_threads * 4);
    fuse_loop_cfg_set_idle_threads(config, max_idle_threads);
    int result = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
    return result;
}

static inline int cfuse_version(void) { return fuse_version(); }
#endif
