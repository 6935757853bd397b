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
int eb_fanout_cpu_run(EbFanoutCpu *f, const AVFrame *src, AVFrame **dst);
void eb_fanout_cpu_free(EbFanoutCpu **f);

#endif
