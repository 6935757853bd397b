/*
 * The CUDA fan-out's data layout, shared by the host code (C) and the kernel
 * (CUDA C++ compiled by clang): one descriptor per resize job (one plane of
 * one rung) and the per-frame table of picture pointers; and the per-sample
 * arithmetic, rotation included, compiled into both.
 *
 * Every job reads the source (the direct plan, eb_scale_plan_depth with
 * max_depth 1): the filter definition is hal/scale/eb_scale_filter.h's,
 * shared with the CPU fan-out; only the choice of the picture a rung is
 * made from differs (the CPU cascades).
 */
#ifndef EB_FANOUT_CUDA_SHARED_H
#define EB_FANOUT_CUDA_SHARED_H

#include "eb_scale_filter.h"

/* The source and up to 8 rungs (EB_HAL_MAX_OUTPUTS, checked on the host). */
#define EB_CUDA_MAX_PICS 9
#define EB_CUDA_BLOCK_W 32
#define EB_CUDA_BLOCK_H 8

/* One plane of one resize. Offsets index the shared pos (int32) and coef
 * (int16) tables, built on the host by eb_scale_filter_init().
 *
 * Rotation: src_w x src_h is the plane of the source *after* rotation (for
 * 90 and 270 the source plane is src_h wide and src_w high), and the tables
 * resize that rotated plane; rot tells how a rotated coordinate (rx, ry)
 * maps to the stored source sample (sx, sy), clockwise degrees:
 *     0: (rx, ry)   90: (ry, src_w-1-rx)   180: (src_w-1-rx, src_h-1-ry)
 *   270: (src_h-1-ry, rx)
 * so the result is exactly "rotate the plane losslessly, then resize". */
typedef struct EbCudaScaleJob {
    int src_pic, dst_pic;           /* 0: the source, 1 + i: rung i */
    int plane;                      /* 0: Y; 1: interleaved UV (NV12), both components */
    int rot;                        /* 0, 90, 180, 270: the remap above */
    int src_w, src_h, dst_w, dst_h; /* in samples of the plane (UV: pairs); src rotated */
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
 * fan-out can be checked against what the kernel computes (on the host
 * only: nothing here has run on a GPU).
 *
 * Taps walk the rotated plane: kx along its rows, ky down its columns, the
 * vertical pass first as the definition says; each rotated step is a byte
 * step in the stored source (dx for rx, dy for ry). With rotation 0 adjacent
 * threads (x) read adjacent bytes; with 90 or 270 they read bytes a pitch
 * apart, a gather that does not coalesce (each warp touches 32 rows). The
 * source sits in L2 and the taps of neighbouring threads overlap, so this is
 * left as it is until measured on a GPU; a transposing tile in shared memory
 * is the fix if it shows. */
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
    const long long pitch = sp;
    long long org, dx, dy; /* byte offset of rotated (0, 0); steps for rx, ry */

    switch (j->rot) {
    case 90:
        org = (long long)(j->src_w - 1) * pitch;
        dx = -pitch;
        dy = comps;
        break;
    case 180:
        org = (long long)(j->src_w - 1) * comps + (long long)(j->src_h - 1) * pitch;
        dx = -comps;
        dy = -pitch;
        break;
    case 270:
        org = (long long)(j->src_h - 1) * comps;
        dx = pitch;
        dy = -comps;
        break;
    default:
        org = 0;
        dx = comps;
        dy = pitch;
        break;
    }
    for (int c = 0; c < comps; c++) {
        int acc = 1 << (EB_SCALE_OUT_SHIFT - 1);
        for (int kx = 0; kx < htaps; kx++) {
            const unsigned char *col = src + org + (x0 + kx) * dx + y0 * dy + c;
            int m = 1 << (EB_SCALE_MID_SHIFT - 1);
            for (int ky = 0; ky < vtaps; ky++)
                m += vc[ky] * col[ky * dy];
            m >>= EB_SCALE_MID_SHIFT;
            m = m < -32768 ? -32768 : m > 32767 ? 32767 : m;
            acc += hc[kx] * m;
        }
        acc >>= EB_SCALE_OUT_SHIFT;
        dst[(long)y * dp + x * comps + c] = (unsigned char)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
    }
}

#endif
