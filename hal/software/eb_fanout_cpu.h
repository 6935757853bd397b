/*
 * encbox's CPU scaling fan-out: one call reads a source frame once and
 * writes every rung's frame. It uses the shared filter definition of
 * hal/scale/eb_scale_filter.h (the CUDA kernel consumes the same tables).
 *
 * Ownership: eb_fanout_cpu_run() returns new frame references in dst[]
 * (from per-rung AVBufferPools); the caller unrefs them. An output the same
 * size as the source is a reference to the source, not a copy.
 */
#ifndef EB_FANOUT_CPU_H
#define EB_FANOUT_CPU_H

#include <libavutil/frame.h>

#include "eb_hal.h"

typedef struct EbFanoutCpu EbFanoutCpu;

/* cfg->src_format must be AV_PIX_FMT_YUV420P (or YUVJ420P); rotation 0. */
int eb_fanout_cpu_create(const EbFanoutConfig *cfg, EbFanoutCpu **out);

/* Options the software backend does not use, for checking other backends
 * against this one (tests/test_hal_cuda_plan.c). Zeroed: the defaults. */
typedef struct EbFanoutCpuOptions {
    int direct;     /* 1: the CUDA fan-out's plan, every rung resized from the
                     * source (eb_scale_plan_depth, max_depth 1); 0: the cascade */
    int chroma_set; /* 1: chroma_h / chroma_v (EbScaleSiting values) replace the
                     * sitings of cfg->chroma_location (a rotated picture's
                     * sitings may have no AVChromaLocation) */
    int chroma_h, chroma_v;
} EbFanoutCpuOptions;

/* eb_fanout_cpu_create() with options; opt may be NULL (the defaults). */
int eb_fanout_cpu_create_ex(const EbFanoutConfig *cfg, const EbFanoutCpuOptions *opt,
                            EbFanoutCpu **out);
int eb_fanout_cpu_run(EbFanoutCpu *f, const AVFrame *src, AVFrame **dst);
void eb_fanout_cpu_free(EbFanoutCpu **f);

#endif
