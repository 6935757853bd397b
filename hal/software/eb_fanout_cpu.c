/*
 * encbox's CPU scaling fan-out: one YUV420P source frame in, every rung's
 * frame out, with the filter of hal/scale/eb_scale_filter.h (Lanczos-3, Q14
 * polyphase tables; the CUDA kernel uses the same tables).
 *
 * DESIGN
 *
 * Work per frame. A Lanczos-3 downscale by r costs about 6 multiply-adds per
 * *source* sample in its first pass, whatever r is, because the kernel
 * widens with r. Three rungs made directly from 1080p would each pay that
 * over the full 1080p picture. So rungs cascade (eb_scale_plan): 720p is made
 * from the source, 480p from 720p, 360p from 480p; each stage reads a picture
 * 2.25x or less the size of the source. Measured against direct Lanczos-3
 * (swscale SWS_LANCZOS) on a zone plate with noise and hard edges, every
 * cascaded rung stays far above what swscale's default bicubic reaches
 * against the same reference (tests/test_scale.c checks it). A rung of the
 * source's own size is a new reference to the source frame: no copy.
 *
 * Pass order: vertical first, then horizontal (the order is part of the
 * definition: the int16 intermediate is rounded). A vertical tap weighs a
 * whole row, SIMD across x with no gathers; a horizontal tap is, row by
 * row, a dot product per output sample. Vertical first runs the cheap pass
 * over src_w * dst_h samples and the dear one over dst_w * dst_h only; the
 * opposite order would run the dear pass over dst_w * src_h. Each parent
 * picture is read once per child, a sliding window of rows, so the source
 * streams through the caches once.
 *
 * Kernels. The plain-C row functions of eb_scale_filter.c define the result
 * and are the path everywhere without AVX2 (one output row at a time). On
 * x86-64 with AVX2 (checked at run time) the path below gives the same bits
 * (tests/test_scale.c compares whole frames of both for many sizes and tap
 * counts, the checkasm idea from dav1d); EB_SCALE_SIMD=0 in the environment
 * at create time forces the C path. It works on strips of 16 output rows:
 *   vertical:   the taps are regrouped in pairs of rows with even starts
 *               (EbPairTable), so each row pair of the strip's window is
 *               widened to int16 pairs once per L1-sized column block and
 *               shared by all the strip's output rows; one pmaddwd then
 *               applies two taps to 8 columns, with no shuffles.
 *   transpose:  pairs of intermediate columns, as int32, are transposed
 *               8x8, so a "column pair" holds 16 rows.
 *   horizontal: like the vertical pass, on whole pair columns: one pmaddwd
 *               applies two taps to 8 rows; no per-output reductions.
 *   untranspose: 16x16 byte transposes write the strip's output rows.
 * Measured on a 2-core Zen 4 VM, one thread, 1080p -> 720p, 480p, 360p (and
 * the 1080p reference): 1.4 ms per frame (best of 300; median 1.8 ms),
 * against 4.7 ms (median 5.1 ms) for three swscale SWS_BICUBIC contexts. A
 * row-at-a-time AVX2 version (per-output dot products and reductions) took
 * 2.1 ms; the plain-C path takes about 9 ms.
 *
 * Frames. Each rung has an AVBufferPool of whole pictures (the three planes
 * in one buffer, rows 64-byte aligned); an output frame holds one pool
 * buffer, which goes back to the pool when the last reference (the encoder's)
 * is dropped. Properties (pts, duration, colour) are copied from the source;
 * the sample aspect ratio is 1:1 and crop fields are cleared on resized
 * rungs.
 *
 * Threads: an instance is used by one thread at a time (it owns scratch
 * buffers); separate instances are independent.
 */
#include "eb_fanout_cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/buffer.h>
#include <libavutil/mem.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_scale_filter.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define EB_FANOUT_X86 1
#include <immintrin.h>
#else
#define EB_FANOUT_X86 0
#endif

#define ROW_ALIGN 64
/* Output rows per strip of the AVX2 path. */
#define STRIP 16
/* Bytes of widened row pairs kept per strip and column block: L1-sized. */
#define WBUF_BYTES 16384

/* A table regrouped for pmaddwd: each output's window starts at an even
 * input (first * 2) and its taps go in pairs (inputs 2m, 2m + 1) packed as
 * the low and high int16 of an int32; the shift to an even start and the
 * padding to `pairs` pairs add zero taps only. Even starts let the AVX2
 * path prepare each input pair once and share it between outputs. */
typedef struct EbPairTable {
    int pairs;      /* per output: max of ceil((taps + (pos & 1)) / 2) */
    int32_t *first; /* [outputs + 1] pos / 2 (one zero entry of padding) */
    int32_t *coef;  /* [(outputs + 1) * pairs] */
} EbPairTable;

/* One plane of one resize: the shared tables plus their pair form. */
typedef struct EbFanoutPlane {
    int src_w, src_h, dst_w, dst_h;
    EbScaleFilter hf, vf;
    EbPairTable hp, vp;
    int strip_pairs; /* most row pairs one strip of vertical windows spans */
} EbFanoutPlane;

typedef struct EbFanoutOut {
    int width, height;
    int parent; /* -1: the source; else an output index */
    int copy;   /* 1: a reference to the parent's frame */
    EbFanoutPlane plane[3];
    AVBufferPool *pool;
    int linesize[3];
    size_t offset[3];
} EbFanoutOut;

struct EbFanoutCpu {
    EbFanoutConfig cfg;
    int order[EB_HAL_MAX_OUTPUTS];
    EbFanoutOut out[EB_HAL_MAX_OUTPUTS];
    int simd; /* 1: AVX2 kernels */
    /* Scratch of run(), so one thread at a time: */
    const uint8_t **rows; /* row pointers of one vertical window (C) */
    int mid_stride;       /* int16 per strip row */
    int16_t *strip;       /* STRIP intermediate rows (C: the first one) */
    int32_t *pt;          /* the strip's column pairs transposed */
    uint8_t *tout;        /* output columns of a strip: [column][STRIP] */
    void *wbuf;           /* widened row pairs of a strip's column block */
    int *xs;              /* 32-column chunk offsets of a row */
};

/* ---- AVX2 kernels (x86-64; bit-identical to eb_scale_*row_c) ---- */
#if EB_FANOUT_X86

/* Bytes of W (widened row pairs) kept per strip and column block: L1-sized. */

/* Vertical pass of one strip, step 1: widen the row pairs (2m, 2m+1) of
 * the strip's window, m = m0..m0+np-1, once for all the strip's output rows.
 * w holds, per pair and 32-column chunk, four ymm of int16 pairs (row 2m,
 * row 2m+1) for columns [0-3|16-19], [4-7|20-23], [8-11|24-27],
 * [12-15|28-31]. */
__attribute__((target("avx2"))) static void widen_pairs_avx2(__m256i *w, const uint8_t *src,
                                                             ptrdiff_t stride, int src_h, int m0,
                                                             int np, const int *xs, int nch)
{
    const __m256i zero = _mm256_setzero_si256();

    for (int p = 0; p < np; p++) {
        /* Rows past the picture only meet zero taps: read the last one. */
        int ra = FFMIN(2 * (m0 + p), src_h - 1), rb = FFMIN(2 * (m0 + p) + 1, src_h - 1);
        const uint8_t *a = src + ra * stride, *b = src + rb * stride;
        for (int c = 0; c < nch; c++) {
            __m256i va = _mm256_loadu_si256((const __m256i *)(a + xs[c]));
            __m256i vb = _mm256_loadu_si256((const __m256i *)(b + xs[c]));
            __m256i lo = _mm256_unpacklo_epi8(va, vb), hi = _mm256_unpackhi_epi8(va, vb);
            __m256i *d = w + ((size_t)p * nch + c) * 4;
            d[0] = _mm256_unpacklo_epi8(lo, zero);
            d[1] = _mm256_unpackhi_epi8(lo, zero);
            d[2] = _mm256_unpacklo_epi8(hi, zero);
            d[3] = _mm256_unpackhi_epi8(hi, zero);
        }
    }
}

/* Step 2: one output row from the widened pairs w (starting at its first
 * pair), for nch chunks at columns xs[]. */
__attribute__((target("avx2"), always_inline)) static inline void
vrow_pairs_body(int16_t *dst, const __m256i *w, const int32_t *cpair, int npairs, const int *xs,
                int nch)
{
    const __m256i rnd = _mm256_set1_epi32(1 << (EB_SCALE_MID_SHIFT - 1));

    for (int c = 0; c < nch; c++) {
        __m256i a0 = rnd, a1 = rnd, a2 = rnd, a3 = rnd, p01, p23;
        for (int k = 0; k < npairs; k++) {
            const __m256i *q = w + ((size_t)k * nch + c) * 4;
            __m256i ck = _mm256_set1_epi32(cpair[k]);
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(q[0], ck));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(q[1], ck));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(q[2], ck));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(q[3], ck));
        }
        a0 = _mm256_srai_epi32(a0, EB_SCALE_MID_SHIFT);
        a1 = _mm256_srai_epi32(a1, EB_SCALE_MID_SHIFT);
        a2 = _mm256_srai_epi32(a2, EB_SCALE_MID_SHIFT);
        a3 = _mm256_srai_epi32(a3, EB_SCALE_MID_SHIFT);
        p01 = _mm256_packs_epi32(a0, a1); /* columns [0-7 | 16-23] */
        p23 = _mm256_packs_epi32(a2, a3); /* columns [8-15 | 24-31] */
        _mm256_storeu_si256((__m256i *)(dst + xs[c]), _mm256_permute2x128_si256(p01, p23, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + xs[c] + 16),
                            _mm256_permute2x128_si256(p01, p23, 0x31));
    }
}

/* In: m[r] = dwords 0-7 of row r (8 rows). Out: m[c] = dword column c. */
__attribute__((target("avx2"), always_inline)) static inline void transpose8_epi32(__m256i *m)
{
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(m[2 * i], m[2 * i + 1]);     /* cols [0,1|4,5] */
        t[2 * i + 1] = _mm256_unpackhi_epi32(m[2 * i], m[2 * i + 1]); /* cols [2,3|6,7] */
    }
    for (int g = 0; g < 2; g++) {
        /* rows 4g..4g+3 of column [q | q+4] in u[4g + q] */
        u[4 * g + 0] = _mm256_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm256_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm256_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm256_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    for (int q = 0; q < 4; q++) {
        m[q] = _mm256_permute2x128_si256(u[q], u[4 + q], 0x20);
        m[q + 4] = _mm256_permute2x128_si256(u[q], u[4 + q], 0x31);
    }
}

/* The strip's columns, taken two at a time as int32 (columns 2m, 2m+1 of
 * each row), transposed: pt[m] = 16 dwords, one per strip row. The
 * horizontal pass then reads whole pairs of columns for all 16 rows with no
 * shuffling. npairs is a multiple of 8. */
__attribute__((target("avx2"))) static void transpose_pairs_avx2(int32_t *pt, const int16_t *strip,
                                                                 int stride, int npairs)
{
    for (int m = 0; m < npairs; m += 8) {
        for (int h = 0; h < 2; h++) {
            __m256i v[8];
            for (int r = 0; r < 8; r++)
                v[r] = _mm256_loadu_si256(
                    (const __m256i *)(strip + (size_t)(8 * h + r) * stride + 2 * m));
            transpose8_epi32(v);
            for (int q = 0; q < 8; q++)
                _mm256_store_si256((__m256i *)(pt + (size_t)(m + q) * STRIP + 8 * h), v[q]);
        }
    }
}

/* Horizontal pass on the transposed pairs, two output columns per step:
 * every output column is a weighted sum of whole pair columns. tout gets
 * each output column's 16 row bytes. width is even (tables are padded). */
__attribute__((target("avx2"), always_inline)) static inline void
hcols_body(uint8_t *tout, const int32_t *pt, const int32_t *first, const int32_t *cpair, int npairs,
           int width)
{
    const __m256i rnd = _mm256_set1_epi32(1 << (EB_SCALE_OUT_SHIFT - 1));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);

    for (int x = 0; x < width; x += 2) {
        __m256i w[2];
        for (int j = 0; j < 2; j++) {
            const int32_t *t = pt + (size_t)first[x + j] * STRIP;
            const int32_t *c = cpair + (size_t)(x + j) * npairs;
            __m256i lo = rnd, hi = rnd;
            for (int k = 0; k < npairs; k++) {
                __m256i ck = _mm256_set1_epi32(c[k]);
                lo = _mm256_add_epi32(
                    lo, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(t + k * STRIP)), ck));
                hi = _mm256_add_epi32(
                    hi,
                    _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(t + k * STRIP + 8)), ck));
            }
            lo = _mm256_srai_epi32(lo, EB_SCALE_OUT_SHIFT);
            hi = _mm256_srai_epi32(hi, EB_SCALE_OUT_SHIFT);
            w[j] = _mm256_packs_epi32(lo, hi); /* rows [0-3, 8-11 | 4-7, 12-15] */
        }
        /* Clamp to bytes, then put rows 0-15 of column x, then of x + 1. */
        _mm256_store_si256((__m256i *)(tout + (size_t)x * STRIP),
                           _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w[0], w[1]), order));
    }
}

#define PAIRS_FIXED(n)                                                                             \
    __attribute__((target("avx2"))) static void vrow_pairs##n(                                     \
        int16_t *dst, const __m256i *w, const int32_t *cpair, const int *xs, int nch)              \
    {                                                                                              \
        vrow_pairs_body(dst, w, cpair, n, xs, nch);                                                \
    }                                                                                              \
    __attribute__((target("avx2"))) static void hcols##n(                                          \
        uint8_t *tout, const int32_t *pt, const int32_t *first, const int32_t *cpair, int width)   \
    {                                                                                              \
        hcols_body(tout, pt, first, cpair, n, width);                                              \
    }
PAIRS_FIXED(3)
PAIRS_FIXED(4)
PAIRS_FIXED(5)
PAIRS_FIXED(6)
PAIRS_FIXED(7)

/* Pair counts 3-7 cover Lanczos-3 from upscales to 2.17x; others take the
 * generic loop. */
__attribute__((target("avx2"))) static void
vrow_pairs(int16_t *dst, const __m256i *w, const int32_t *cpair, int npairs, const int *xs, int nch)
{
    switch (npairs) {
    case 3:
        vrow_pairs3(dst, w, cpair, xs, nch);
        break;
    case 4:
        vrow_pairs4(dst, w, cpair, xs, nch);
        break;
    case 5:
        vrow_pairs5(dst, w, cpair, xs, nch);
        break;
    case 6:
        vrow_pairs6(dst, w, cpair, xs, nch);
        break;
    case 7:
        vrow_pairs7(dst, w, cpair, xs, nch);
        break;
    default:
        vrow_pairs_body(dst, w, cpair, npairs, xs, nch);
        break;
    }
}

__attribute__((target("avx2"))) static void hcols(uint8_t *tout, const int32_t *pt,
                                                  const int32_t *first, const int32_t *cpair,
                                                  int npairs, int width)
{
    switch (npairs) {
    case 3:
        hcols3(tout, pt, first, cpair, width);
        break;
    case 4:
        hcols4(tout, pt, first, cpair, width);
        break;
    case 5:
        hcols5(tout, pt, first, cpair, width);
        break;
    case 6:
        hcols6(tout, pt, first, cpair, width);
        break;
    case 7:
        hcols7(tout, pt, first, cpair, width);
        break;
    default:
        hcols_body(tout, pt, first, cpair, npairs, width);
        break;
    }
}

/* tout[column][STRIP] -> rows 0..nrows-1 of dst, columns 0..cols-1 (cols a
 * multiple of 16; the row padding takes the excess). */
__attribute__((target("avx2"))) static void
untranspose_avx2(uint8_t *dst, ptrdiff_t stride, const uint8_t *tout, int cols, int nrows)
{
    for (int x = 0; x < cols; x += 16) {
        __m256i y[8], a[8];
        /* y[i] = [column x+i | column x+8+i], 16 rows each. */
        for (int i = 0; i < 8; i++)
            y[i] = _mm256_inserti128_si256(
                _mm256_castsi128_si256(
                    _mm_load_si128((const __m128i *)(tout + (size_t)(x + i) * STRIP))),
                _mm_load_si128((const __m128i *)(tout + (size_t)(x + 8 + i) * STRIP)), 1);
        for (int i = 0; i < 4; i++) {
            a[2 * i] = _mm256_unpacklo_epi8(y[2 * i], y[2 * i + 1]);     /* rows 0-7 */
            a[2 * i + 1] = _mm256_unpackhi_epi8(y[2 * i], y[2 * i + 1]); /* rows 8-15 */
        }
        for (int i = 0; i < 2; i++) {
            /* columns 4i..4i+3 (per lane), rows 0-3, 4-7, 8-11, 12-15 */
            y[4 * i + 0] = _mm256_unpacklo_epi16(a[4 * i], a[4 * i + 2]);
            y[4 * i + 1] = _mm256_unpackhi_epi16(a[4 * i], a[4 * i + 2]);
            y[4 * i + 2] = _mm256_unpacklo_epi16(a[4 * i + 1], a[4 * i + 3]);
            y[4 * i + 3] = _mm256_unpackhi_epi16(a[4 * i + 1], a[4 * i + 3]);
        }
        for (int q = 0; q < 4; q++) {
            /* columns 0-7 (lane 0) / 8-15 (lane 1) of rows 4q, 4q+1 and
             * 4q+2, 4q+3 */
            a[2 * q] = _mm256_unpacklo_epi32(y[q], y[4 + q]);
            a[2 * q + 1] = _mm256_unpackhi_epi32(y[q], y[4 + q]);
        }
        for (int i = 0; i < 8; i++) {
            /* a[i] holds rows 2i, 2i+1: [r 0-7, r+1 0-7 | r 8-15, r+1 8-15] */
            __m256i z = _mm256_permute4x64_epi64(a[i], 0xD8);
            int r = 2 * i;
            if (r < nrows)
                _mm_storeu_si128((__m128i *)(dst + r * stride + x), _mm256_castsi256_si128(z));
            if (r + 1 < nrows)
                _mm_storeu_si128((__m128i *)(dst + (r + 1) * stride + x),
                                 _mm256_extracti128_si256(z, 1));
        }
    }
}

static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#else
static int cpu_has_avx2(void)
{
    return 0;
}
#endif

/* ---- tables ---- */

static void pairs_uninit(EbPairTable *t)
{
    av_freep(&t->first);
    av_freep(&t->coef);
}

static int pairs_init(EbPairTable *t, const EbScaleFilter *f)
{
    t->pairs = 1;
    for (int o = 0; o < f->dst_size; o++) {
        int need = (f->taps + (f->pos[o] & 1) + 1) / 2;
        if (need > t->pairs)
            t->pairs = need;
    }
    t->first = av_calloc((size_t)f->dst_size + 1, sizeof(*t->first));
    t->coef = av_calloc(((size_t)f->dst_size + 1) * t->pairs, sizeof(*t->coef));
    if (!t->first || !t->coef)
        return EB_ERR(ENOMEM);
    for (int o = 0; o < f->dst_size; o++) {
        const int16_t *c = f->coef + (size_t)o * f->taps;
        int odd = f->pos[o] & 1;
        t->first[o] = f->pos[o] >> 1;
        for (int k = 0; k < f->taps; k++) {
            int j = k + odd;
            t->coef[(size_t)o * t->pairs + j / 2] |=
                (int32_t)((uint32_t)(uint16_t)c[k] << (16 * (j & 1)));
        }
    }
    return 0;
}

static void plane_uninit(EbFanoutPlane *pl)
{
    eb_scale_filter_uninit(&pl->hf);
    eb_scale_filter_uninit(&pl->vf);
    pairs_uninit(&pl->hp);
    pairs_uninit(&pl->vp);
}

static int plane_init(EbFanoutPlane *pl, int sw, int sh, int dw, int dh, EbScaleSiting hsiting,
                      EbScaleSiting vsiting)
{
    int ret;

    pl->src_w = sw;
    pl->src_h = sh;
    pl->dst_w = dw;
    pl->dst_h = dh;
    ret = eb_scale_filter_init(&pl->hf, sw, dw, hsiting);
    if (ret < 0)
        return ret;
    ret = eb_scale_filter_init(&pl->vf, sh, dh, vsiting);
    if (ret < 0)
        return ret;
    ret = pairs_init(&pl->hp, &pl->hf);
    if (ret < 0)
        return ret;
    ret = pairs_init(&pl->vp, &pl->vf);
    if (ret < 0)
        return ret;
    /* Windows move forward with the output row, so a strip spans from its
     * first row's first pair to its last row's last pair. */
    for (int y0 = 0; y0 < dh; y0 += STRIP) {
        int last = (y0 + STRIP < dh ? y0 + STRIP : dh) - 1;
        int np = pl->vp.first[last] + pl->vp.pairs - pl->vp.first[y0];
        if (np > pl->strip_pairs)
            pl->strip_pairs = np;
    }
    return 0;
}

static int out_init(EbFanoutOut *o, int pw, int ph, EbScaleSiting hs, EbScaleSiting vs)
{
    int cw = (o->width + 1) / 2, ch = (o->height + 1) / 2;
    size_t size;
    int ret;

    ret = plane_init(&o->plane[0], pw, ph, o->width, o->height, EB_SCALE_SITING_CENTER,
                     EB_SCALE_SITING_CENTER);
    if (ret < 0)
        return ret;
    for (int p = 1; p < 3; p++) {
        ret = plane_init(&o->plane[p], (pw + 1) / 2, (ph + 1) / 2, cw, ch, hs, vs);
        if (ret < 0)
            return ret;
    }
    o->linesize[0] = FFALIGN(o->width, ROW_ALIGN);
    o->linesize[1] = o->linesize[2] = FFALIGN(cw, ROW_ALIGN);
    o->offset[0] = 0;
    o->offset[1] = (size_t)o->linesize[0] * o->height;
    o->offset[2] = o->offset[1] + (size_t)o->linesize[1] * ch;
    size = o->offset[2] + (size_t)o->linesize[2] * ch + ROW_ALIGN;
    o->pool = av_buffer_pool_init(size, av_buffer_alloc);
    if (!o->pool)
        return EB_ERR(ENOMEM);
    return 0;
}

void eb_fanout_cpu_free(EbFanoutCpu **fp)
{
    EbFanoutCpu *f = *fp;

    if (!f)
        return;
    for (int i = 0; i < EB_HAL_MAX_OUTPUTS; i++) {
        for (int p = 0; p < 3; p++)
            plane_uninit(&f->out[i].plane[p]);
        /* Frames still held by encoders keep their buffers; the pool is
         * freed when the last one comes back. */
        av_buffer_pool_uninit(&f->out[i].pool);
    }
    av_freep(&f->strip);
    av_freep(&f->pt);
    av_freep(&f->tout);
    av_freep(&f->wbuf);
    av_freep(&f->xs);
    av_freep(&f->rows);
    av_freep(fp);
}

int eb_fanout_cpu_create(const EbFanoutConfig *cfg, EbFanoutCpu **out)
{
    return eb_fanout_cpu_create_ex(cfg, NULL, out);
}

int eb_fanout_cpu_create_ex(const EbFanoutConfig *cfg, const EbFanoutCpuOptions *opt,
                            EbFanoutCpu **out)
{
    EbScaleSiting hs, vs;
    int w[EB_HAL_MAX_OUTPUTS], h[EB_HAL_MAX_OUTPUTS], parent[EB_HAL_MAX_OUTPUTS],
        copy[EB_HAL_MAX_OUTPUTS];
    int max_w = 0, max_taps = 0, max_dw = 0, max_np = 0;
    const char *env;
    EbFanoutCpu *f;
    int ret;

    *out = NULL;
    if (cfg->rotation != 0)
        return cfg->rotation % 90 ? EB_ERR(EINVAL) : EB_ERR(ENOSYS);
    if (cfg->src_format != AV_PIX_FMT_YUV420P && cfg->src_format != AV_PIX_FMT_YUVJ420P)
        return EB_ERR(ENOSYS);
    if (cfg->nb_outputs < 1 || cfg->nb_outputs > EB_HAL_MAX_OUTPUTS || cfg->src_width < 1 ||
        cfg->src_height < 1)
        return EB_ERR(EINVAL);
    for (int i = 0; i < cfg->nb_outputs; i++) {
        w[i] = cfg->outputs[i].width;
        h[i] = cfg->outputs[i].height;
    }

    f = av_mallocz(sizeof(*f));
    if (!f)
        return EB_ERR(ENOMEM);
    f->cfg = *cfg;
    /* The software backend cascades; the direct plan is the CUDA fan-out's
     * (see hal/scale/eb_scale_filter.h), here so the tests can compare. */
    ret = eb_scale_plan_depth(cfg->src_width, cfg->src_height, cfg->nb_outputs, w, h,
                              opt && opt->direct ? 1 : EB_SCALE_MAX_DEPTH, f->order, parent, copy);
    if (ret < 0)
        goto error;
    eb_scale_chroma_siting(cfg->chroma_location, &hs, &vs);
    if (opt && opt->chroma_set) {
        hs = (EbScaleSiting)opt->chroma_h;
        vs = (EbScaleSiting)opt->chroma_v;
    }

    for (int n = 0; n < cfg->nb_outputs; n++) {
        int i = f->order[n];
        EbFanoutOut *o = &f->out[i];
        int pw = parent[i] < 0 ? cfg->src_width : w[parent[i]];
        int ph = parent[i] < 0 ? cfg->src_height : h[parent[i]];

        o->width = w[i];
        o->height = h[i];
        o->parent = parent[i];
        o->copy = copy[i];
        if (o->copy)
            continue;
        ret = out_init(o, pw, ph, hs, vs);
        if (ret < 0)
            goto error;
        if (pw > max_w)
            max_w = pw;
        if (w[i] > max_dw)
            max_dw = w[i];
        for (int p = 0; p < 3; p++) {
            if (o->plane[p].vf.taps > max_taps)
                max_taps = o->plane[p].vf.taps;
            if (o->plane[p].strip_pairs > max_np)
                max_np = o->plane[p].strip_pairs;
        }
        EB_LOGD("fanout-cpu", "%dx%d from %s %dx%d, taps h%d v%d", w[i], h[i],
                parent[i] < 0 ? "source" : "rung", pw, ph, o->plane[0].hf.taps,
                o->plane[0].vf.taps);
    }
    f->rows = av_calloc((size_t)max_taps + 2, sizeof(*f->rows));
    /* A strip row covers the widest parent plus the two columns that the
     * zero taps of an even-aligned window may reach, in whole 16-column
     * blocks; the transposed pairs take the same bytes. */
    f->mid_stride = FFALIGN(max_w + 2, STRIP);
    f->strip = av_calloc((size_t)STRIP * f->mid_stride, sizeof(*f->strip));
    f->pt = av_calloc((size_t)STRIP * f->mid_stride / 2, sizeof(*f->pt));
    f->tout = av_calloc((size_t)STRIP * FFALIGN(max_dw, STRIP), 1);
    f->wbuf = av_malloc(FFMAX(WBUF_BYTES, (size_t)max_np * 128));
    f->xs = av_calloc((size_t)max_w / 32 + 1, sizeof(*f->xs));
    if (!f->rows || !f->strip || !f->pt || !f->tout || !f->wbuf || !f->xs) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    env = getenv("EB_SCALE_SIMD");
    f->simd = cpu_has_avx2() && !(env && !strcmp(env, "0"));
    *out = f;
    return 0;
error:
    eb_fanout_cpu_free(&f);
    return ret;
}

/* ---- per frame ---- */

#if EB_FANOUT_X86
/* AVX2: STRIP output rows at a time. The vertical pass widens each row pair
 * of the strip's window once per column block and weighs it into every
 * output row that uses it; a transpose turns pairs of intermediate columns
 * into rows, so that the horizontal pass weighs whole pair columns like the
 * vertical one; a byte transpose writes the result back as rows. */
static void scale_plane_avx2(EbFanoutCpu *f, const EbFanoutPlane *pl, const uint8_t *src,
                             int src_stride, uint8_t *dst, int dst_stride)
{
    const EbScaleFilter *vf = &pl->vf;
    const EbPairTable *vp = &pl->vp, *hp = &pl->hp;
    int cols = FFALIGN(pl->src_w + 2, STRIP);
    int nch = (pl->src_w + 31) / 32;

    /* The last chunk overlaps the one before instead of reading past the
     * row: the overlapped columns get the same values again. */
    for (int c = 0; c < nch; c++)
        f->xs[c] = FFMIN(32 * c, pl->src_w - 32);
    for (int y0 = 0; y0 < pl->dst_h; y0 += STRIP) {
        int n = FFMIN(STRIP, pl->dst_h - y0);
        if (pl->src_w >= 32) {
            int m0 = vp->first[y0];
            int np = vp->first[y0 + n - 1] + vp->pairs - m0;
            int cb = FFMAX(1, WBUF_BYTES / (np * 128));
            for (int c0 = 0; c0 < nch; c0 += cb) {
                int nc = FFMIN(cb, nch - c0);
                widen_pairs_avx2(f->wbuf, src, src_stride, pl->src_h, m0, np, f->xs + c0, nc);
                for (int r = 0; r < n; r++) {
                    int y = y0 + r;
                    vrow_pairs(f->strip + (size_t)r * f->mid_stride,
                               (const __m256i *)f->wbuf + (size_t)(vp->first[y] - m0) * nc * 4,
                               vp->coef + (size_t)y * vp->pairs, vp->pairs, f->xs + c0, nc);
                }
            }
        } else {
            for (int r = 0; r < n; r++) {
                int y = y0 + r;
                const uint8_t *first = src + (ptrdiff_t)vf->pos[y] * src_stride;
                for (int k = 0; k < vf->taps; k++)
                    f->rows[k] = first + (ptrdiff_t)k * src_stride;
                eb_scale_vrow_c(f->strip + (size_t)r * f->mid_stride, f->rows,
                                vf->coef + (size_t)y * vf->taps, vf->taps, pl->src_w);
            }
        }
        /* Rows n..STRIP-1 of a last, short strip hold stale values: their
         * lanes are computed and never stored. */
        transpose_pairs_avx2(f->pt, f->strip, f->mid_stride, cols / 2);
        hcols(f->tout, f->pt, hp->first, hp->coef, hp->pairs, FFALIGN(pl->dst_w, 2));
        untranspose_avx2(dst + (ptrdiff_t)y0 * dst_stride, dst_stride, f->tout,
                         FFALIGN(pl->dst_w, STRIP), n);
    }
}
#endif

/* The plain-C path, one output row at a time: the definition itself. */
static void scale_plane_c(EbFanoutCpu *f, const EbFanoutPlane *pl, const uint8_t *src,
                          int src_stride, uint8_t *dst, int dst_stride)
{
    const EbScaleFilter *vf = &pl->vf;
    const EbScaleFilter *hf = &pl->hf;

    for (int y = 0; y < pl->dst_h; y++) {
        const uint8_t *first = src + (ptrdiff_t)vf->pos[y] * src_stride;
        for (int k = 0; k < vf->taps; k++)
            f->rows[k] = first + (ptrdiff_t)k * src_stride;
        eb_scale_vrow_c(f->strip, f->rows, vf->coef + (size_t)y * vf->taps, vf->taps, pl->src_w);
        eb_scale_hrow_c(dst + (ptrdiff_t)y * dst_stride, f->strip, hf->pos, hf->coef, hf->taps,
                        pl->dst_w);
    }
}

static void scale_plane(EbFanoutCpu *f, const EbFanoutPlane *pl, const uint8_t *src, int src_stride,
                        uint8_t *dst, int dst_stride)
{
#if EB_FANOUT_X86
    if (f->simd) {
        scale_plane_avx2(f, pl, src, src_stride, dst, dst_stride);
        return;
    }
#endif
    scale_plane_c(f, pl, src, src_stride, dst, dst_stride);
}

static int new_frame(const EbFanoutCpu *f, const EbFanoutOut *o, const AVFrame *src, AVFrame **out)
{
    AVFrame *fr = av_frame_alloc();
    int ret;

    *out = NULL;
    if (!fr)
        return EB_ERR(ENOMEM);
    fr->buf[0] = av_buffer_pool_get(o->pool);
    if (!fr->buf[0]) {
        av_frame_free(&fr);
        return EB_ERR(ENOMEM);
    }
    for (int p = 0; p < 3; p++) {
        fr->data[p] = fr->buf[0]->data + o->offset[p];
        fr->linesize[p] = o->linesize[p];
    }
    fr->width = o->width;
    fr->height = o->height;
    fr->format = f->cfg.src_format;
    ret = av_frame_copy_props(fr, src);
    if (ret < 0) {
        av_frame_free(&fr);
        return ret;
    }
    fr->crop_top = fr->crop_bottom = fr->crop_left = fr->crop_right = 0;
    *out = fr;
    return 0;
}

int eb_fanout_cpu_run(EbFanoutCpu *f, const AVFrame *src, AVFrame **dst)
{
    const int nb = f->cfg.nb_outputs;
    int ret;

    for (int i = 0; i < nb; i++)
        dst[i] = NULL;
    if (src->width != f->cfg.src_width || src->height != f->cfg.src_height ||
        src->format != f->cfg.src_format || !src->data[0] || !src->data[1] || !src->data[2])
        return EB_ERR(EINVAL);

    for (int n = 0; n < nb; n++) {
        int i = f->order[n];
        const EbFanoutOut *o = &f->out[i];
        const AVFrame *par = o->parent < 0 ? src : dst[o->parent];

        if (o->copy) {
            dst[i] = av_frame_alloc();
            if (!dst[i]) {
                ret = EB_ERR(ENOMEM);
                goto error;
            }
            ret = av_frame_ref(dst[i], par);
            if (ret < 0)
                goto error;
        } else {
            ret = new_frame(f, o, src, &dst[i]);
            if (ret < 0)
                goto error;
            for (int p = 0; p < 3; p++)
                scale_plane(f, &o->plane[p], par->data[p], par->linesize[p], dst[i]->data[p],
                            dst[i]->linesize[p]);
        }
        dst[i]->sample_aspect_ratio = (AVRational){1, 1};
    }
    return 0;
error:
    for (int i = 0; i < nb; i++)
        av_frame_free(&dst[i]);
    return ret;
}
