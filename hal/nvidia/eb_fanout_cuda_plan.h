/*
 * The CUDA fan-out's plan, built on the host without CUDA: the cascade
 * (eb_scale_plan), one resize job per plane of every resized rung with its
 * tables (eb_scale_filter_init), grouped into one launch per cascade level.
 * eb_cuda_plan_emulate() runs a level on host memory with the kernel's own
 * per-sample code (eb_cuda_scale_sample), which lets the tests compare the
 * GPU path's arithmetic and planning with the CPU fan-out on a box without
 * a GPU.
 */
#ifndef EB_FANOUT_CUDA_PLAN_H
#define EB_FANOUT_CUDA_PLAN_H

#include <stdint.h>

#include "eb_fanout_cuda_shared.h"
#include "eb_hal.h"
#include "eb_scale_filter.h"

typedef struct EbCudaPlan {
    int nb_outputs;
    int order[EB_LADDER_MAX_RUNGS], parent[EB_LADDER_MAX_RUNGS], copy[EB_LADDER_MAX_RUNGS];
    int nb_jobs;
    EbCudaScaleJob jobs[2 * EB_LADDER_MAX_RUNGS]; /* grouped by level */
    int nb_levels;
    struct {
        int first, nb, max_w, max_h;
    } level[EB_SCALE_MAX_DEPTH + 1];
    int32_t *pos;  /* all jobs' position tables */
    int16_t *coef; /* all jobs' coefficient tables */
    int nb_pos, nb_coef;
} EbCudaPlan;

/* Builds the plan for cfg (outputs' sizes; the source size). The tables are
 * freed by eb_cuda_plan_uninit(). Returns 0, -EINVAL or -ENOMEM. */
int eb_cuda_plan_init(EbCudaPlan *p, const EbFanoutConfig *cfg);
void eb_cuda_plan_uninit(EbCudaPlan *p);

/* Runs level lv of the plan on host pictures (pics.data holds host
 * addresses) exactly as the kernel's launch would. */
void eb_cuda_plan_emulate(const EbCudaPlan *p, int lv, const EbCudaPics *pics);

#endif
