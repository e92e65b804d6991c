// What Swift cannot import from libfuse3 directly: macros (FUSE_ARGS_INIT, the versioned
// fuse_session_loop_mt) and the variadic logger, wrapped as plain inline functions.
#ifndef CFUSE3_SHIM_H
#define CFUSE3_SHIM_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline struct fuse_args cfuse_args_init(void) {
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    return args;
}

/// Runs the multi-threaded session loop with at most `max_threads` workers.
static inline int cfuse_session_loop_mt(struct fuse_session *se, unsigned int max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) {
        return -1;
    }
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_max_threads(config, max_threads);
    int result = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
    return result;
}

typedef void (*cfuse_log_sink)(int level, const char *message);
static cfuse_log_sink cfuse_current_log_sink = NULL;

static inline void cfuse_log_trampoline(enum fuse_log_level level, const char *fmt, va_list ap) {
    char message[1024];
    vsnprintf(message, sizeof message, fmt, ap);
    size_t length = strlen(message);
    if (length > 0 && message[length - 1] == '\n') {
        message[length - 1] = '\0';
    }
    if (cfuse_current_log_sink != NULL) {
        cfuse_current_log_sink((int)level, message);
    }
}

/// Sends libfuse's own log lines to `sink`, formatted.
static inline void cfuse_set_log_sink(cfuse_log_sink sink) {
    cfuse_current_log_sink = sink;
    fuse_set_log_func(cfuse_log_trampoline);
}

/// The bitfields of fuse_file_info that a reply to open/create sets.
static inline void cfuse_file_info_set(struct fuse_file_info *fi, uint64_t fh, int direct_io, int keep_cache,
                                       int nonseekable) {
    fi->fh = fh;
    fi->direct_io = direct_io ? 1 : 0;
    fi->keep_cache = keep_cache ? 1 : 0;
    fi->nonseekable = nonseekable ? 1 : 0;
}

/// Answers a read with up to `size` bytes of file `fd` at `offset`: libfuse splices them from
/// the page cache into the kernel when it can (no copy through this process), else copies.
static inline int cfuse_reply_file(fuse_req_t req, int fd, off_t offset, size_t size) {
    struct fuse_bufvec data = FUSE_BUFVEC_INIT(size);
    data.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    data.buf[0].fd = fd;
    data.buf[0].pos = offset;
    return fuse_reply_data(req, &data, FUSE_BUF_SPLICE_MOVE);
}

#endif
