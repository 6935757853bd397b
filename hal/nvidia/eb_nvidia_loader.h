/*
 * ffnvcodec's run-time loader (libffmpeg-nvenc-dev), configured for encbox:
 * the loader's messages are captured as text (they become probe reasons)
 * instead of going to stderr. Only the NVIDIA backend's files include this.
 */
#ifndef EB_NVIDIA_LOADER_H
#define EB_NVIDIA_LOADER_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "eb_hal.h"

/* logctx is a char[EB_HAL_REASON_MAX] that receives the last message. */
static inline void eb_nv_loader_msg(void *logctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void eb_nv_loader_msg(void *logctx, const char *fmt, ...)
{
    char *buf = logctx;
    size_t len;
    va_list ap;

    if (!buf)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, EB_HAL_REASON_MAX, fmt, ap);
    va_end(ap);
    len = strlen(buf);
    while (len && buf[len - 1] == '\n')
        buf[--len] = 0;
}

#define FFNV_LOG_FUNC(logctx, msg, ...) eb_nv_loader_msg((logctx), (msg), __VA_ARGS__)
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#include <ffnvcodec/dynlink_loader.h>

/* The process-wide CUDA function table, loaded once (never unloaded).
 * Returns 0 and *cu, or a negative errno with the reason
 * ("libcuda.so.1 not found (no NVIDIA driver)", cuInit's failure). */
int eb_nvidia_cuda(const CudaFunctions **cu, char *reason, size_t size);

#endif
