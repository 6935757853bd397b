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
 * Pass order: vertical first, then horizontal, one output row at a time.
 * The vertical pass is a weighted sum of whole rows (SIMD across x, no
 * gathers) and runs over src_w * dst_h samples; the horizontal pass is a
 * dot product per output sample and runs only over dst_w * dst_h. The
 * opposite order would put the dear pass over dst_w * src_h samples.
 * The intermediate row is int16 (6 fraction bits, eb_scale_filter.h), one
 * source width long, so it stays in L1 while the horizontal pass reads it.
 * Each parent picture is read once per child, a window of `taps` rows at a
 * time, so the source is streamed through the caches once.
 *
 * Kernels. The plain-C row functions of eb_scale_filter.c define the result;
 * on x86-64 with AVX2 (checked at run time) the row functions below are used
 * instead and give the same bits (tests/test_scale.c compares whole frames of
 * both for many sizes, the checkasm idea from dav1d). EB_SCALE_SIMD=0 in the
 * environment at create time forces the C path.
 *   vertical:   32 columns per step; two rows' bytes are interleaved and
 *               widened to int16 pairs, one pmaddwd applies two taps.
 *   horizontal: 8 outputs per step; each output's window is one unaligned
 *               load and one pmaddwd against its zero-padded taps (8 taps:
 *               two outputs share a register), and the partial sums of 8
 *               outputs are reduced together.
 *
 * Frames. Each rung has an AVBufferPool of whole pictures (the three planes
 * in one buffer, rows 64-byte aligned); an output frame holds one pool
 * buffer, which goes back to the pool when the last reference (the encoder's)
 * is dropped. Properties (pts, duration, colour) are copied from the source;
 * the sample aspect ratio is 1:1 and crop fields are cleared on resized
 * rungs.
 *
 * Threads: an instance is used by one thread at a time (it owns scratch
 * rows); separate instances are independent.
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
/* Output rows per strip of the transposed AVX2 path. */
#define STRIP 16

/* One plane of one resize: the shared tables plus the tap pairs the SIMD
 * kernels read. */
typedef struct EbFanoutPlane {
    int src_w, src_h, dst_w, dst_h;
    EbScaleFilter hf, vf;
    int vpairs;      /* ceil(vf.taps / 2): AVX2 takes taps in pairs */
    int32_t *vpair;  /* [dst_h * vpairs] taps 2i, 2i + 1 as int16 halves */
    int hpairs;      /* ceil(hf.taps / 2) */
    int32_t *hpair;  /* [dst_w * hpairs] taps 2i, 2i + 1 as int16 halves */
} EbFanoutPlane;

typedef struct EbFanoutOut {
    int width, height;
    int parent;      /* -1: the source; else an output index */
    int copy;        /* 1: a reference to the parent's frame */
    EbFanoutPlane plane[3];
    AVBufferPool *pool;
    int linesize[3];
    size_t offset[3];
} EbFanoutOut;

struct EbFanoutCpu {
    EbFanoutConfig cfg;
    int order[EB_LADDER_MAX_RUNGS];
    EbFanoutOut out[EB_LADDER_MAX_RUNGS];
    const uint8_t **rows;   /* row pointers of one vertical window */
    int mid_stride;         /* int16 per row of strip */
    int16_t *strip;         /* STRIP intermediate rows */
    int16_t *tstrip;        /* the strip transposed: [column][STRIP] */
    uint8_t *tout;          /* output columns of a strip: [column][STRIP] */
    int simd;               /* 1: AVX2 row kernels */
};

/* ---- AVX2 row kernels (x86-64; bit-identical to eb_scale_*row_c) ---- */
#if EB_FANOUT_X86

/* Two taps per pmaddwd: cpair[i] holds taps 2i (low half) and 2i + 1. The
 * inline body is instantiated for the common pair counts so that the tap
 * loop unrolls and the broadcast taps stay in registers. */
__attribute__((target("avx2"), always_inline)) static inline void
vrow_avx2_body(int16_t *dst, const uint8_t *const *rows, const int32_t *cpair, int npairs,
               int width)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i rnd = _mm256_set1_epi32(1 << (EB_SCALE_MID_SHIFT - 1));

    for (int x = 0;; x += 32) {
        __m256i a0 = rnd, a1 = rnd, a2 = rnd, a3 = rnd, p01, p23;

        /* The last step overlaps the one before instead of reading past
         * the row: the overlapped columns get the same values again. */
        if (x > width - 32)
            x = width - 32;
        for (int k = 0; k < npairs; k++) {
            __m256i ra = _mm256_loadu_si256((const __m256i *)(rows[2 * k] + x));
            __m256i rb = _mm256_loadu_si256((const __m256i *)(rows[2 * k + 1] + x));
            __m256i c = _mm256_set1_epi32(cpair[k]);
            /* Bytes of the two rows interleaved, then widened: int16 pairs
             * (row 2k, row 2k+1) of columns [0-3|16-19], [4-7|20-23], ... */
            __m256i lo = _mm256_unpacklo_epi8(ra, rb);
            __m256i hi = _mm256_unpackhi_epi8(ra, rb);
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, zero), c));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, zero), c));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_unpacklo_epi8(hi, zero), c));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_unpackhi_epi8(hi, zero), c));
        }
        a0 = _mm256_srai_epi32(a0, EB_SCALE_MID_SHIFT);
        a1 = _mm256_srai_epi32(a1, EB_SCALE_MID_SHIFT);
        a2 = _mm256_srai_epi32(a2, EB_SCALE_MID_SHIFT);
        a3 = _mm256_srai_epi32(a3, EB_SCALE_MID_SHIFT);
        p01 = _mm256_packs_epi32(a0, a1); /* columns [0-7 | 16-23] */
        p23 = _mm256_packs_epi32(a2, a3); /* columns [8-15 | 24-31] */
        _mm256_storeu_si256((__m256i *)(dst + x), _mm256_permute2x128_si256(p01, p23, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + x + 16), _mm256_permute2x128_si256(p01, p23, 0x31));
        if (x == width - 32)
            break;
    }
}

#define VROW_FIXED(n)                                                                          \
    __attribute__((target("avx2"))) static void vrow##n##_avx2(                                \
        int16_t *dst, const uint8_t *const *rows, const int32_t *cpair, int width)             \
    {                                                                                          \
        vrow_avx2_body(dst, rows, cpair, n, width);                                            \
    }
VROW_FIXED(3)
VROW_FIXED(4)
VROW_FIXED(5)
VROW_FIXED(6)

/* rows[] and cpair[] hold an even number of taps; width >= 32. */
__attribute__((target("avx2"))) static void vrow_avx2(int16_t *dst, const uint8_t *const *rows,
                                                      const int32_t *cpair, int npairs, int width)
{
    switch (npairs) {
    case 3: vrow3_avx2(dst, rows, cpair, width); break;
    case 4: vrow4_avx2(dst, rows, cpair, width); break;
    case 5: vrow5_avx2(dst, rows, cpair, width); break;
    case 6: vrow6_avx2(dst, rows, cpair, width); break;
    default: vrow_avx2_body(dst, rows, cpair, npairs, width); break;
    }
}

/* In: m[r] = row r of a 16x16 int16 block. Out: m[c] = column c. */
__attribute__((target("avx2"), always_inline)) static inline void transpose16_epi16(__m256i *m)
{
    __m256i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm256_unpacklo_epi16(m[2 * i], m[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi16(m[2 * i], m[2 * i + 1]);
    }
    /* t[2i]: rows 2i,2i+1 of columns [0-3|8-11]; t[2i+1]: [4-7|12-15]. */
    for (int g = 0; g < 4; g++) {
        __m256i *a = t + 4 * g;
        u[4 * g + 0] = _mm256_unpacklo_epi32(a[0], a[2]); /* cols [0,1|8,9], rows 4g..4g+3 */
        u[4 * g + 1] = _mm256_unpackhi_epi32(a[0], a[2]); /* [2,3|10,11] */
        u[4 * g + 2] = _mm256_unpacklo_epi32(a[1], a[3]); /* [4,5|12,13] */
        u[4 * g + 3] = _mm256_unpackhi_epi32(a[1], a[3]); /* [6,7|14,15] */
    }
    for (int h = 0; h < 2; h++) {
        /* Rows 8h..8h+7 of column c | column c + 8, in t[8h + c]. */
        __m256i *a = u + 8 * h, *b = u + 8 * h + 4;
        for (int q = 0; q < 4; q++) {
            t[8 * h + 2 * q] = _mm256_unpacklo_epi64(a[q], b[q]);
            t[8 * h + 2 * q + 1] = _mm256_unpackhi_epi64(a[q], b[q]);
        }
    }
    for (int c = 0; c < 8; c++) {
        m[c] = _mm256_permute2x128_si256(t[c], t[8 + c], 0x20);
        m[c + 8] = _mm256_permute2x128_si256(t[c], t[8 + c], 0x31);
    }
}

/* strip (STRIP rows of stride `stride`) -> tstrip[column][STRIP], for
 * columns 0..cols-1 (cols a multiple of 16). */
__attribute__((target("avx2"))) static void transpose_strip_avx2(int16_t *tstrip,
                                                                 const int16_t *strip,
                                                                 int stride, int cols)
{
    for (int j = 0; j < cols; j += 16) {
        __m256i m[16];
        for (int r = 0; r < 16; r++)
            m[r] = _mm256_loadu_si256((const __m256i *)(strip + (size_t)r * stride + j));
        transpose16_epi16(m);
        for (int c = 0; c < 16; c++)
            _mm256_store_si256((__m256i *)(tstrip + (size_t)(j + c) * STRIP), m[c]);
    }
}

/* The horizontal pass on a transposed strip: every output column is a
 * weighted sum of whole columns (16 rows at once), like the vertical pass. */
__attribute__((target("avx2"))) static void hcols_avx2(uint8_t *tout, const int16_t *tstrip,
                                                       const int32_t *pos, const int32_t *cpair,
                                                       int npairs, int width)
{
    const __m256i rnd = _mm256_set1_epi32(1 << (EB_SCALE_OUT_SHIFT - 1));

    for (int x = 0; x < width; x++) {
        const int16_t *t = tstrip + (size_t)pos[x] * STRIP;
        const int32_t *c = cpair + (size_t)x * npairs;
        __m256i lo = rnd, hi = rnd, w;
        for (int k = 0; k < npairs; k++) {
            __m256i a = _mm256_load_si256((const __m256i *)(t + 2 * k * STRIP));
            __m256i b = _mm256_load_si256((const __m256i *)(t + (2 * k + 1) * STRIP));
            __m256i ck = _mm256_set1_epi32(c[k]);
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), ck));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), ck));
        }
        lo = _mm256_srai_epi32(lo, EB_SCALE_OUT_SHIFT);
        hi = _mm256_srai_epi32(hi, EB_SCALE_OUT_SHIFT);
        w = _mm256_packs_epi32(lo, hi);          /* rows 0-15 in order */
        w = _mm256_packus_epi16(w, w);           /* clamps to 0..255 */
        w = _mm256_permute4x64_epi64(w, 0x08);
        _mm_store_si128((__m128i *)(tout + (size_t)x * STRIP), _mm256_castsi256_si128(w));
    }
}

/* tout[column][STRIP] -> rows 0..nrows-1 of dst, columns 0..cols-1 (cols a
 * multiple of 16; the row padding takes the excess). */
__attribute__((target("avx2"))) static void untranspose_avx2(uint8_t *dst, ptrdiff_t stride,
                                                             const uint8_t *tout, int cols,
                                                             int nrows)
{
    for (int x = 0; x < cols; x += 16) {
        __m256i y[8], a[8];
        /* y[i] = [column x+i | column x+8+i], 16 rows each. */
        for (int i = 0; i < 8; i++)
            y[i] = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_load_si128((const __m128i *)(tout + (size_t)(x + i) * STRIP))),
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
            /* columns 0-7 (lane 0) / 8-15 (lane 1) of rows 4q..4q+1, 4q+2..4q+3 */
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

static void plane_uninit(EbFanoutPlane *pl)
{
    eb_scale_filter_uninit(&pl->hf);
    eb_scale_filter_uninit(&pl->vf);
    av_freep(&pl->vpair);
    av_freep(&pl->hpair);
}

static int plane_init(EbFanoutPlane *pl, int sw, int sh, int dw, int dh, EbScaleSiting hsiting)
{
    int ret;

    pl->src_w = sw;
    pl->src_h = sh;
    pl->dst_w = dw;
    pl->dst_h = dh;
    ret = eb_scale_filter_init(&pl->hf, sw, dw, hsiting);
    if (ret < 0)
        return ret;
    ret = eb_scale_filter_init(&pl->vf, sh, dh, EB_SCALE_SITING_CENTER);
    if (ret < 0)
        return ret;

    pl->vpairs = (pl->vf.taps + 1) / 2;
    pl->vpair = av_calloc((size_t)dh * pl->vpairs, sizeof(*pl->vpair));
    if (!pl->vpair)
        return EB_ERR(ENOMEM);
    for (int y = 0; y < dh; y++) {
        const int16_t *c = pl->vf.coef + (size_t)y * pl->vf.taps;
        for (int k = 0; k < pl->vf.taps; k++)
            pl->vpair[(size_t)y * pl->vpairs + k / 2] |=
                (int32_t)((uint32_t)(uint16_t)c[k] << (16 * (k & 1)));
    }

    pl->hpairs = (pl->hf.taps + 1) / 2;
    pl->hpair = av_calloc((size_t)dw * pl->hpairs, sizeof(*pl->hpair));
    if (!pl->hpair)
        return EB_ERR(ENOMEM);
    for (int x = 0; x < dw; x++) {
        const int16_t *c = pl->hf.coef + (size_t)x * pl->hf.taps;
        for (int k = 0; k < pl->hf.taps; k++)
            pl->hpair[(size_t)x * pl->hpairs + k / 2] |=
                (int32_t)((uint32_t)(uint16_t)c[k] << (16 * (k & 1)));
    }

    return 0;
}

static int out_init(EbFanoutOut *o, int pw, int ph)
{
    int cw = (o->width + 1) / 2, ch = (o->height + 1) / 2;
    size_t size;
    int ret;

    ret = plane_init(&o->plane[0], pw, ph, o->width, o->height, EB_SCALE_SITING_CENTER);
    if (ret < 0)
        return ret;
    for (int p = 1; p < 3; p++) {
        ret = plane_init(&o->plane[p], (pw + 1) / 2, (ph + 1) / 2, cw, ch,
                         EB_SCALE_SITING_COSITED);
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
    for (int i = 0; i < EB_LADDER_MAX_RUNGS; i++) {
        for (int p = 0; p < 3; p++)
            plane_uninit(&f->out[i].plane[p]);
        /* Frames still held by encoders keep their buffers; the pool is
         * freed when the last one comes back. */
        av_buffer_pool_uninit(&f->out[i].pool);
    }
    av_freep(&f->strip);
    av_freep(&f->tstrip);
    av_freep(&f->tout);
    av_freep(&f->rows);
    av_freep(fp);
}

int eb_fanout_cpu_create(const EbFanoutConfig *cfg, EbFanoutCpu **out)
{
    int w[EB_LADDER_MAX_RUNGS], h[EB_LADDER_MAX_RUNGS], parent[EB_LADDER_MAX_RUNGS],
        copy[EB_LADDER_MAX_RUNGS];
    int max_w = 0, max_taps = 0, max_dw = 0;
    const char *env;
    EbFanoutCpu *f;
    int ret;

    *out = NULL;
    if (cfg->rotation != 0)
        return cfg->rotation % 90 ? EB_ERR(EINVAL) : EB_ERR(ENOSYS);
    if (cfg->src_format != AV_PIX_FMT_YUV420P && cfg->src_format != AV_PIX_FMT_YUVJ420P)
        return EB_ERR(ENOSYS);
    if (cfg->nb_outputs < 1 || cfg->nb_outputs > EB_LADDER_MAX_RUNGS || cfg->src_width < 1 ||
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
    ret = eb_scale_plan(cfg->src_width, cfg->src_height, cfg->nb_outputs, w, h, f->order, parent,
                        copy);
    if (ret < 0)
        goto error;

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
        ret = out_init(o, pw, ph);
        if (ret < 0)
            goto error;
        if (pw > max_w)
            max_w = pw;
        if (w[i] > max_dw)
            max_dw = w[i];
        for (int p = 0; p < 3; p++)
            if (2 * o->plane[p].vpairs > max_taps)
                max_taps = 2 * o->plane[p].vpairs;
        EB_LOGD("fanout-cpu", "%dx%d from %s %dx%d, taps h%d v%d", w[i], h[i],
                parent[i] < 0 ? "source" : "rung", pw, ph, o->plane[0].hf.taps,
                o->plane[0].vf.taps);
    }
    f->rows = av_calloc((size_t)max_taps + 2, sizeof(*f->rows));
    /* A strip row covers the widest parent plus the one column a zero tap
     * of an odd tap count reads, rounded up to whole 16x16 blocks. */
    f->mid_stride = FFALIGN(max_w + 1, STRIP);
    f->strip = av_calloc((size_t)STRIP * f->mid_stride, sizeof(*f->strip));
    f->tstrip = av_calloc((size_t)STRIP * f->mid_stride, sizeof(*f->tstrip));
    f->tout = av_calloc((size_t)STRIP * FFALIGN(max_dw, STRIP), 1);
    if (!f->rows || !f->strip || !f->tstrip || !f->tout) {
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
/* AVX2: STRIP output rows at a time. The vertical pass fills STRIP
 * intermediate rows, a transpose turns the strip's columns into rows, the
 * horizontal pass then weighs whole columns like the vertical one weighs
 * rows, and a byte transpose writes the result back as rows. */
static void scale_plane_avx2(EbFanoutCpu *f, const EbFanoutPlane *pl, const uint8_t *src,
                             int src_stride, uint8_t *dst, int dst_stride)
{
    const EbScaleFilter *vf = &pl->vf;
    int cols = FFALIGN(pl->src_w + 1, STRIP);

    for (int y0 = 0; y0 < pl->dst_h; y0 += STRIP) {
        int n = pl->dst_h - y0 < STRIP ? pl->dst_h - y0 : STRIP;
        for (int r = 0; r < n; r++) {
            int y = y0 + r;
            const uint8_t *first = src + (ptrdiff_t)vf->pos[y] * src_stride;
            int16_t *m = f->strip + (size_t)r * f->mid_stride;
            for (int k = 0; k < vf->taps; k++)
                f->rows[k] = first + (ptrdiff_t)k * src_stride;
            /* An odd tap count ends on a zero tap that rereads the last row. */
            f->rows[vf->taps] = f->rows[vf->taps - 1];
            if (pl->src_w >= 32)
                vrow_avx2(m, f->rows, pl->vpair + (size_t)y * pl->vpairs, pl->vpairs, pl->src_w);
            else
                eb_scale_vrow_c(m, f->rows, vf->coef + (size_t)y * vf->taps, vf->taps, pl->src_w);
        }
        /* Rows n..STRIP-1 of a last, short strip hold stale values: their
         * lanes are computed and never stored. */
        transpose_strip_avx2(f->tstrip, f->strip, f->mid_stride, cols);
        hcols_avx2(f->tout, f->tstrip, pl->hf.pos, pl->hpair, pl->hpairs, pl->dst_w);
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

static void scale_plane(EbFanoutCpu *f, const EbFanoutPlane *pl, const uint8_t *src,
                        int src_stride, uint8_t *dst, int dst_stride)
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
