/*
 * The CUDA fan-out's plan, built on the host without CUDA: the direct plan
 * (eb_scale_plan_depth, max_depth 1: every resized rung made from the
 * source, in the geometry after rotation), one resize job per plane of every
 * resized rung with its tables (eb_scale_filter_init, the CPU fan-out's
 * definition) and its rotation remap, all run by one launch per frame.
 * eb_cuda_plan_emulate() runs that launch on host memory with the kernel's
 * own per-sample code (eb_cuda_scale_sample), which lets the tests compare
 * the GPU path's arithmetic, planning and rotation with the CPU fan-out on a
 * box without a GPU.
 */
#ifndef EB_FANOUT_CUDA_PLAN_H
#define EB_FANOUT_CUDA_PLAN_H

#include <stdint.h>

#include "eb_fanout_cuda_shared.h"
#include "eb_hal.h"
#include "eb_scale_filter.h"

typedef struct EbCudaPlan {
    int nb_outputs;
    int order[EB_HAL_MAX_OUTPUTS], parent[EB_HAL_MAX_OUTPUTS], copy[EB_HAL_MAX_OUTPUTS];
    /* The one launch: blockIdx.z over jobs[0..nb_jobs-1] (none when every
     * rung is a reference), x/y over max_w x max_h. */
    int nb_jobs;
    EbCudaScaleJob jobs[2 * EB_HAL_MAX_OUTPUTS];
    int max_w, max_h;
    int32_t *pos;  /* all jobs' position tables */
    int16_t *coef; /* all jobs' coefficient tables */
    int nb_pos, nb_coef;
} EbCudaPlan;

/* Builds the plan for cfg (outputs' sizes, after rotation; the source size,
 * before; rotation 0, 90, 180 or 270; the chroma location). parent[] is -1
 * (the source) for every resized rung; copy[i] marks a reference to
 * parent[i]'s frame, never to a rotated source. The tables are freed by
 * eb_cuda_plan_uninit(). Returns 0, -EINVAL or -ENOMEM. */
int eb_cuda_plan_init(EbCudaPlan *p, const EbFanoutConfig *cfg);
void eb_cuda_plan_uninit(EbCudaPlan *p);

/* Runs the plan's launch on host pictures (pics.data holds host addresses)
 * exactly as the kernel would: every job, every sample. */
void eb_cuda_plan_emulate(const EbCudaPlan *p, const EbCudaPics *pics);

#endif
