/*
 * The CUDA fan-out's data layout, shared by the host code (C) and the kernel
 * (CUDA C++ compiled by clang): one descriptor per resize job (one plane of
 * one rung) and the per-frame table of picture pointers.
 */
#ifndef EB_FANOUT_CUDA_SHARED_H
#define EB_FANOUT_CUDA_SHARED_H

/* The source and up to 8 rungs (EB_LADDER_MAX_RUNGS, checked on the host). */
#define EB_CUDA_MAX_PICS 9
#define EB_CUDA_BLOCK_W 32
#define EB_CUDA_BLOCK_H 8

/* One plane of one resize. Offsets index the shared pos (int32) and coef
 * (int16) tables, built on the host by eb_scale_filter_init(). */
typedef struct EbCudaScaleJob {
    int src_pic, dst_pic; /* 0: the source, 1 + i: rung i */
    int plane;            /* 0: Y; 1: interleaved UV (NV12), both components */
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

#endif
