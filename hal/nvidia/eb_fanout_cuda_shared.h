/*
 * The CUDA fan-out's data layout, shared by the host code (C) and the kernel
 * (CUDA C++ compiled by clang): one descriptor per resize job (one plane of
 * one rung) and the per-frame table of picture pointers.
 */
#ifndef EB_FANOUT_CUDA_SHARED_H
#define EB_FANOUT_CUDA_SHARED_H

#include "eb_scale_filter.h"

/* The source and up to 8 rungs (EB_LADDER_MAX_RUNGS, checked on the host). */
#define EB_CUDA_MAX_PICS 9
#define EB_CUDA_BLOCK_W 32
#define EB_CUDA_BLOCK_H 8

/* One plane of one resize. Offsets index the shared pos (int32) and coef
 * (int16) tables, built on the host by eb_scale_filter_init(). */
typedef struct EbCudaScaleJob {
    int src_pic, dst_pic;           /* 0: the source, 1 + i: rung i */
    int plane;                      /* 0: Y; 1: interleaved UV (NV12), both components */
    int src_w, src_h, dst_w, dst_h; /* in samples of the plane (UV: pairs) */
    int htaps, vtaps;
    int hpos, hcoef, vpos, vcoef;
} EbCudaScaleJob;

/* Device addresses and pitches of every picture of one frame, passed by
 * value as a kernel parameter. */
typedef struct EbCudaPics {
    unsigned long long data[EB_CUDA_MAX_PICS][2];
    int pitch[EB_CUDA_MAX_PICS][2];
} EbCudaPics;

/* The arithmetic of one output sample (both components of a UV pair), the
 * normative one of hal/scale/eb_scale_filter.h: the kernel runs it on the
 * GPU, and the host compiles the same text as C for the tests, so the CPU
 * fan-out can be checked against what the kernel computes. */
#ifdef __CUDA__
#define EB_CUDA_FN static __device__ __attribute__((always_inline)) inline
#else
#define EB_CUDA_FN static inline
#endif

EB_CUDA_FN void eb_cuda_scale_sample(const EbCudaScaleJob *j, const int *pos, const short *coef,
                                     const unsigned char *src, int sp, unsigned char *dst, int dp,
                                     int x, int y)
{
    const int comps = j->plane ? 2 : 1;
    const int htaps = j->htaps, vtaps = j->vtaps;
    const int x0 = pos[j->hpos + x], y0 = pos[j->vpos + y];
    const short *hc = coef + j->hcoef + x * htaps;
    const short *vc = coef + j->vcoef + y * vtaps;

    for (int c = 0; c < comps; c++) {
        int acc = 1 << (EB_SCALE_OUT_SHIFT - 1);
        for (int kx = 0; kx < htaps; kx++) {
            const unsigned char *col = src + (long)y0 * sp + (x0 + kx) * comps + c;
            int m = 1 << (EB_SCALE_MID_SHIFT - 1);
            for (int ky = 0; ky < vtaps; ky++)
                m += vc[ky] * col[(long)ky * sp];
            m >>= EB_SCALE_MID_SHIFT;
            m = m < -32768 ? -32768 : m > 32767 ? 32767 : m;
            acc += hc[kx] * m;
        }
        acc >>= EB_SCALE_OUT_SHIFT;
        dst[(long)y * dp + x * comps + c] = (unsigned char)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
    }
}

#endif
