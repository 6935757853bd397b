/*
 * Tests of the scaler: the shared filter tables (hal/scale/eb_scale_filter.c)
 * and the CPU fan-out that runs them (hal/software/eb_fanout_cpu.c). Each test
 * names the behaviour it guards. Images are generated here; the quality test
 * compares against libswscale built into the same libav the project links.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "eb_error.h"
#include "eb_fanout_cpu.h"
#include "eb_scale_filter.h"
#include "eb_test_frames.h"

/* ---- helpers ---- */

static uint32_t rng_state = 1;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int plane_w(const AVFrame *f, int p)
{
    return p ? (f->width + 1) / 2 : f->width;
}

static int plane_h(const AVFrame *f, int p)
{
    return p ? (f->height + 1) / 2 : f->height;
}

static AVFrame *frame_new(int w, int h)
{
    return eb_test_frame(w, h, AV_PIX_FMT_YUV420P);
}

static AVFrame *frame_random(int w, int h)
{
    AVFrame *f = frame_new(w, h);
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < plane_h(f, p); y++)
            for (int x = 0; x < plane_w(f, p); x++)
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(rng() >> 24);
    return f;
}

/* Zone plate (every frequency up to 0.38 cycles/sample), noise of +-10 and
 * blocks of hard 16/235 edges: the detail that tells resize filters apart. */
static AVFrame *frame_detailed(int w, int h)
{
    AVFrame *f = frame_new(w, h);
    for (int p = 0; p < 3; p++) {
        int pw = plane_w(f, p), ph = plane_h(f, p);
        double k = M_PI / (1.3 * pw) / (p ? 1.0 : 2.0);
        int bw = p ? 24 : 48, bh = p ? 16 : 32;
        for (int y = 0; y < ph; y++) {
            for (int x = 0; x < pw; x++) {
                double cx = x - pw / 2.0, cy = y - ph / 2.0;
                double v = 128 + 80 * cos(k * (cx * cx + cy * cy) + p);
                v += (double)(rng() % 21) - 10;
                if ((x / bw + y / bh) % 7 == 0)
                    v = ((x + y) & 32) ? 235 : 16;
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    return f;
}

static void fill_constant(AVFrame *f, const uint8_t v[3])
{
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < plane_h(f, p); y++)
            memset(f->data[p] + y * f->linesize[p], v[p], plane_w(f, p));
}

/* H.264's "left" siting: co-sited horizontally, centred vertically. */
static EbFanoutConfig config(int sw, int sh, int n, const int (*sizes)[2])
{
    return eb_test_fanout_config(sw, sh, 0, n, sizes);
}

/* Runs one fan-out on src with the SIMD kernels on (simd = 1, where the CPU
 * has them) or forced off; dst[] receives the caller-owned frames. */
static void fanout_once(const EbFanoutConfig *cfg, const AVFrame *src, int simd, AVFrame **dst)
{
    EbFanoutCpu *f = NULL;
    if (simd)
        unsetenv("EB_SCALE_SIMD");
    else
        setenv("EB_SCALE_SIMD", "0", 1);
    assert_int_equal(eb_fanout_cpu_create(cfg, &f), 0);
    unsetenv("EB_SCALE_SIMD");
    assert_int_equal(eb_fanout_cpu_run(f, src, dst), 0);
    eb_fanout_cpu_free(&f);
    assert_null(f);
}

static void free_frames(AVFrame **dst, int n)
{
    for (int i = 0; i < n; i++)
        av_frame_free(&dst[i]);
}

static const int ladder[4][2] = {{1920, 1080}, {1280, 720}, {854, 480}, {640, 360}};

/* ---- tables ---- */

static void check_table(int src, int dst, EbScaleSiting siting)
{
    EbScaleFilter t;
    int rule = eb_scale_filter_taps(src, dst);

    assert_int_equal(eb_scale_filter_init(&t, src, dst, siting), 0);
    assert_int_equal(t.src_size, src);
    assert_int_equal(t.dst_size, dst);
    assert_int_equal(t.taps, rule < src ? rule : src);
    for (int o = 0; o < dst; o++) {
        int sum = 0, abs_sum = 0;
        assert_true(t.pos[o] >= 0);
        assert_true(t.pos[o] + t.taps <= src);
        for (int k = 0; k < t.taps; k++) {
            int c = t.coef[(size_t)o * t.taps + k];
            sum += c;
            abs_sum += abs(c);
        }
        if (sum != EB_SCALE_COEF_ONE)
            fail_msg("%d->%d output %d: taps sum to %d", src, dst, o, sum);
        assert_true(abs_sum < 2 * EB_SCALE_COEF_ONE);
    }
    eb_scale_filter_uninit(&t);
    assert_null(t.pos);
}

static void test_table_taps_sum_to_one_and_stay_in_bounds(void **state)
{
    static const int sizes[][2] = {
        {1920, 1280}, {1920, 854}, {1920, 640}, {1080, 720}, {1080, 480}, {1280, 854},
        {720, 480},   {854, 640},  {480, 360},  {960, 427},  {540, 240},  {17, 3},
        {3, 17},      {100, 100},  {101, 37},   {37, 101},   {640, 1280}, {1, 1},
        {1, 7},       {7, 1},      {2, 1},      {5, 4},      {999, 333},  {4096, 17},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        check_table(sizes[i][0], sizes[i][1], EB_SCALE_SITING_CENTER);
        check_table(sizes[i][0], sizes[i][1], EB_SCALE_SITING_COSITED);
    }
}

static void test_table_tap_rule(void **state)
{
    (void)state;
    assert_int_equal(eb_scale_filter_taps(1920, 1280), 9); /* 1.5x */
    assert_int_equal(eb_scale_filter_taps(1280, 640), 12); /* 2x */
    assert_int_equal(eb_scale_filter_taps(1920, 854), 14); /* 2.25x, rounded up */
    assert_int_equal(eb_scale_filter_taps(640, 1280), 6);  /* upscale: kernel width */
    assert_int_equal(eb_scale_filter_taps(100, 100), 6);
}

static void test_table_rejects_empty_sizes(void **state)
{
    EbScaleFilter t;
    (void)state;
    assert_int_equal(eb_scale_filter_init(&t, 0, 10, EB_SCALE_SITING_CENTER), EB_ERR(EINVAL));
    assert_int_equal(eb_scale_filter_init(&t, 10, 0, EB_SCALE_SITING_CENTER), EB_ERR(EINVAL));
}

/* Identity tables are a single unit tap at the sample itself. */
static void test_table_identity_is_exact(void **state)
{
    EbScaleFilter t;
    (void)state;
    assert_int_equal(eb_scale_filter_init(&t, 50, 50, EB_SCALE_SITING_COSITED), 0);
    for (int o = 0; o < 50; o++) {
        for (int k = 0; k < t.taps; k++) {
            int j = t.pos[o] + k;
            assert_int_equal(t.coef[o * t.taps + k], j == o ? EB_SCALE_COEF_ONE : 0);
        }
    }
    eb_scale_filter_uninit(&t);
}

/* The co-sited chroma table is the centred one shifted by (r - 1) / 4
 * samples: for 2:1, output 0 is centred on input 0.25 (not 0.5). */
static void test_table_chroma_siting(void **state)
{
    EbScaleFilter c, l;
    double mc = 0, ml = 0;
    (void)state;
    assert_int_equal(eb_scale_filter_init(&c, 64, 32, EB_SCALE_SITING_COSITED), 0);
    assert_int_equal(eb_scale_filter_init(&l, 64, 32, EB_SCALE_SITING_CENTER), 0);
    /* Centre of mass of output 10's taps. */
    for (int k = 0; k < c.taps; k++) {
        mc += (double)c.coef[10 * c.taps + k] * (c.pos[10] + k);
        ml += (double)l.coef[10 * l.taps + k] * (l.pos[10] + k);
    }
    mc /= EB_SCALE_COEF_ONE;
    ml /= EB_SCALE_COEF_ONE;
    assert_true(fabs(ml - 20.5) < 0.01);
    assert_true(fabs(mc - 20.25) < 0.01);
    eb_scale_filter_uninit(&c);
    eb_scale_filter_uninit(&l);
}

/* Which offsets each AVChromaLocation gets; unspecified follows swscale
 * (centred), and the odd (bottom) siting sits at 0.75. */
static void test_chroma_siting_from_location(void **state)
{
    static const struct {
        enum AVChromaLocation loc;
        double h, v;
    } t[] = {{AVCHROMA_LOC_UNSPECIFIED, 0.5, 0.5}, {AVCHROMA_LOC_LEFT, 0.25, 0.5},
             {AVCHROMA_LOC_CENTER, 0.5, 0.5},      {AVCHROMA_LOC_TOPLEFT, 0.25, 0.25},
             {AVCHROMA_LOC_TOP, 0.5, 0.25},        {AVCHROMA_LOC_BOTTOMLEFT, 0.25, 0.75},
             {AVCHROMA_LOC_BOTTOM, 0.5, 0.75},     {AVCHROMA_LOC_NB, 0.5, 0.5}};
    EbScaleFilter f;
    double m = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        EbScaleSiting h, v;
        eb_scale_chroma_siting(t[i].loc, &h, &v);
        assert_true(eb_scale_siting_offset(h) == t[i].h);
        assert_true(eb_scale_siting_offset(v) == t[i].v);
    }
    assert_int_equal(eb_scale_filter_init(&f, 64, 32, EB_SCALE_SITING_COSITED_ODD), 0);
    for (int k = 0; k < f.taps; k++)
        m += (double)f.coef[10 * f.taps + k] * (f.pos[10] + k);
    assert_true(fabs(m / EB_SCALE_COEF_ONE - 20.75) < 0.01);
    eb_scale_filter_uninit(&f);
}

/* ---- plan ---- */

static void test_plan_cascades_default_ladder(void **state)
{
    int w[4], h[4], order[4], parent[4], copy[4];
    (void)state;
    for (int i = 0; i < 4; i++) {
        /* Shortest first, to show the plan reorders. */
        w[i] = ladder[3 - i][0];
        h[i] = ladder[3 - i][1];
    }
    assert_int_equal(eb_scale_plan(1920, 1080, 4, w, h, order, parent, copy), 0);
    /* 1080p is the source, 720p from the source, 480p from 720p, 360p from
     * 480p. */
    assert_int_equal(order[0], 3);
    assert_int_equal(copy[3], 1);
    assert_int_equal(parent[3], -1);
    assert_int_equal(parent[2], -1);
    assert_int_equal(copy[2], 0);
    assert_int_equal(parent[1], 2);
    assert_int_equal(parent[0], 1);
}

/* The direct plan (the CUDA fan-out's): every resized rung from the
 * source; equal sizes still share; eb_scale_plan is the depth-3 cascade. */
static void test_plan_direct(void **state)
{
    int w[5] = {1920, 1280, 854, 640, 854}, h[5] = {1080, 720, 480, 360, 480};
    int order[5], parent[5], copy[5], o2[5], p2[5], c2[5];
    (void)state;
    assert_int_equal(eb_scale_plan_depth(1920, 1080, 5, w, h, 1, order, parent, copy), 0);
    assert_int_equal(copy[0], 1);
    assert_int_equal(parent[0], -1);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(parent[i], -1);
        assert_int_equal(copy[i], 0);
    }
    assert_int_equal(copy[4], 1);
    assert_int_equal(parent[4], 2);
    assert_int_equal(eb_scale_plan_depth(1920, 1080, 5, w, h, 0, order, parent, copy),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_scale_plan(1920, 1080, 5, w, h, order, parent, copy), 0);
    assert_int_equal(eb_scale_plan_depth(1920, 1080, 5, w, h, EB_SCALE_MAX_DEPTH, o2, p2, c2), 0);
    assert_memory_equal(order, o2, sizeof(order));
    assert_memory_equal(parent, p2, sizeof(parent));
    assert_memory_equal(copy, c2, sizeof(copy));
}

static void test_plan_never_cascades_from_near_sizes_or_too_deep(void **state)
{
    int w[5] = {1280, 1200, 960, 720, 540}, h[5] = {720, 676, 540, 404, 304};
    int order[5], parent[5], copy[5];
    (void)state;
    assert_int_equal(eb_scale_plan(1920, 1080, 5, w, h, order, parent, copy), 0);
    assert_int_equal(parent[0], -1);
    assert_int_equal(parent[1], -1); /* 1280x720 is less than 4/3 of it */
    assert_int_equal(parent[2], 0);  /* 1200x676 is only 1.25x of 960x540 */
    assert_int_equal(parent[3], 2);  /* smallest fit; 720x404 is then depth 3 */
    /* 720x404 is too deep to be a parent: 540x304 comes from 960x540. */
    assert_int_equal(parent[4], 2);
    assert_int_equal(eb_scale_plan(0, 1080, 1, w, h, order, parent, copy), EB_ERR(EINVAL));
}

/* ---- fan-out arithmetic ---- */

/* Double-precision resize of one plane with the same kernel, centre formula
 * and edge rule, rounded once at the end. */
static void reference_plane(const uint8_t *src, int ss, int sw, int sh, uint8_t *dst, int ds,
                            int dw, int dh, double hp, double vp)
{
    double *tmp = malloc(sizeof(double) * (size_t)sw * dh);
    double rv = (double)sh / dh, rh = (double)sw / dw;
    double sv = rv > 1 ? rv : 1, shh = rh > 1 ? rh : 1;

    assert_non_null(tmp);
    for (int y = 0; y < dh; y++) {
        double c = (y + vp) * rv - vp, wsum = 0;
        int j0 = (int)floor(c - 3 * sv), j1 = (int)ceil(c + 3 * sv);
        for (int x = 0; x < sw; x++)
            tmp[(size_t)y * sw + x] = 0;
        for (int j = j0; j <= j1; j++) {
            double wt = eb_scale_kernel((j - c) / sv);
            int jj = j < 0 ? 0 : j >= sh ? sh - 1 : j;
            wsum += wt;
            for (int x = 0; x < sw; x++)
                tmp[(size_t)y * sw + x] += wt * src[jj * ss + x];
        }
        for (int x = 0; x < sw; x++)
            tmp[(size_t)y * sw + x] /= wsum;
    }
    for (int x = 0; x < dw; x++) {
        double c = (x + hp) * rh - hp, wsum = 0;
        int j0 = (int)floor(c - 3 * shh), j1 = (int)ceil(c + 3 * shh);
        double acc[4096];
        assert_true(dh <= 4096);
        for (int y = 0; y < dh; y++)
            acc[y] = 0;
        for (int j = j0; j <= j1; j++) {
            double wt = eb_scale_kernel((j - c) / shh);
            int jj = j < 0 ? 0 : j >= sw ? sw - 1 : j;
            wsum += wt;
            for (int y = 0; y < dh; y++)
                acc[y] += wt * tmp[(size_t)y * sw + jj];
        }
        for (int y = 0; y < dh; y++) {
            double v = floor(acc[y] / wsum + 0.5);
            dst[y * ds + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(tmp);
}

/* Chroma offsets p of the left siting that config() asks for. */
static double ref_hp = 0.25, ref_vp = 0.5;

static int max_diff_vs_reference(const AVFrame *parent, const AVFrame *out)
{
    int worst = 0;
    for (int p = 0; p < 3; p++) {
        int dw = plane_w(out, p), dh = plane_h(out, p);
        uint8_t *ref = malloc((size_t)dw * dh);
        assert_non_null(ref);
        reference_plane(parent->data[p], parent->linesize[p], plane_w(parent, p),
                        plane_h(parent, p), ref, dw, dw, dh, p ? ref_hp : 0.5, p ? ref_vp : 0.5);
        for (int y = 0; y < dh; y++) {
            for (int x = 0; x < dw; x++) {
                int d = abs(ref[y * dw + x] - out->data[p][y * out->linesize[p] + x]);
                if (d > worst)
                    worst = d;
            }
        }
        free(ref);
    }
    return worst;
}

static void test_fixed_point_within_one_of_double_reference(void **state)
{
    static const int srcs[][2] = {{320, 180}, {333, 197}, {64, 48}};
    static const int outs[][2] = {{213, 120}, {142, 80},  {107, 60}, {31, 17},
                                  {640, 360}, {200, 100}, {17, 3},   {97, 181}};
    /* Every chroma offset the sitings give: 0.25, 0.5 and 0.75. */
    static const struct {
        enum AVChromaLocation loc;
        double h, v;
    } sitings[] = {{AVCHROMA_LOC_LEFT, 0.25, 0.5},
                   {AVCHROMA_LOC_UNSPECIFIED, 0.5, 0.5},
                   {AVCHROMA_LOC_TOP, 0.5, 0.25},
                   {AVCHROMA_LOC_BOTTOMLEFT, 0.25, 0.75}};
    (void)state;
    for (size_t l = 0; l < sizeof(sitings) / sizeof(sitings[0]); l++) {
        ref_hp = sitings[l].h;
        ref_vp = sitings[l].v;
        for (int simd = 0; simd < 2; simd++) {
            for (size_t s = 0; s < sizeof(srcs) / sizeof(srcs[0]); s++) {
                AVFrame *src = frame_random(srcs[s][0], srcs[s][1]);
                for (size_t o = 0; o < sizeof(outs) / sizeof(outs[0]); o++) {
                    EbFanoutConfig cfg = config(srcs[s][0], srcs[s][1], 1, &outs[o]);
                    AVFrame *dst[1];
                    int d;
                    cfg.chroma_location = sitings[l].loc;
                    fanout_once(&cfg, src, simd, dst);
                    d = max_diff_vs_reference(src, dst[0]);
                    if (d > 1)
                        fail_msg("%dx%d -> %dx%d (simd %d, chroma location %d): off by %d",
                                 srcs[s][0], srcs[s][1], outs[o][0], outs[o][1], simd,
                                 sitings[l].loc, d);
                    free_frames(dst, 1);
                }
                av_frame_free(&src);
            }
        }
    }
    ref_hp = 0.25;
    ref_vp = 0.5;
}

/* A cascaded rung is, within one step, the reference resize of its parent
 * rung (the frame the fan-out produced). */
static void test_cascaded_rungs_within_one_of_reference_of_parent(void **state)
{
    const int sizes[3][2] = {{640, 360}, {427, 240}, {320, 180}};
    EbFanoutConfig cfg = config(960, 540, 3, sizes);
    AVFrame *src = frame_random(960, 540), *dst[3];
    (void)state;
    fanout_once(&cfg, src, 1, dst);
    assert_true(max_diff_vs_reference(src, dst[0]) <= 1);
    assert_true(max_diff_vs_reference(dst[0], dst[1]) <= 1);
    assert_true(max_diff_vs_reference(dst[1], dst[2]) <= 1);
    free_frames(dst, 3);
    av_frame_free(&src);
}

static int frames_equal(const AVFrame *a, const AVFrame *b)
{
    if (a->width != b->width || a->height != b->height)
        return 0;
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < plane_h(a, p); y++)
            if (memcmp(a->data[p] + y * a->linesize[p], b->data[p] + y * b->linesize[p],
                       plane_w(a, p)))
                return 0;
    return 1;
}

/* checkasm idea: the SIMD row kernels give the bits of the C definition,
 * for tap counts 6 (upscale) through > 16 and widths with every tail. */
static void test_simd_kernels_match_c_bit_for_bit(void **state)
{
    static const int cases[][4] = {
        {1920, 1080, 1280, 720},  {1280, 720, 854, 480}, {854, 480, 640, 360},
        {1920, 1080, 640, 360},   {333, 197, 101, 67},   {100, 60, 250, 150},
        {40, 30, 33, 31},         {31, 17, 9, 5},        {500, 300, 29, 17},
        {161, 99, 160, 98},       {48, 48, 47, 13},      {1000, 20, 77, 19},
        {3840, 2160, 1920, 1080}, {720, 576, 1024, 576}, {64, 2000, 60, 33},
    };
    (void)state;
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx2"))
        skip();
#else
    skip();
#endif
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const int out[1][2] = {{cases[i][2], cases[i][3]}};
        EbFanoutConfig cfg = config(cases[i][0], cases[i][1], 1, out);
        AVFrame *src = frame_random(cases[i][0], cases[i][1]), *a[1], *b[1];
        fanout_once(&cfg, src, 1, a);
        fanout_once(&cfg, src, 0, b);
        if (!frames_equal(a[0], b[0]))
            fail_msg("SIMD and C differ for %dx%d -> %dx%d", cases[i][0], cases[i][1], cases[i][2],
                     cases[i][3]);
        free_frames(a, 1);
        free_frames(b, 1);
        av_frame_free(&src);
    }
    /* The whole default ladder, cascade included. */
    {
        EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
        AVFrame *src = frame_random(1920, 1080), *a[4], *b[4];
        fanout_once(&cfg, src, 1, a);
        fanout_once(&cfg, src, 0, b);
        for (int i = 0; i < 4; i++)
            if (!frames_equal(a[i], b[i]))
                fail_msg("SIMD and C differ on ladder rung %d", i);
        free_frames(a, 4);
        free_frames(b, 4);
        av_frame_free(&src);
    }
}

/* The CPU fan-out's direct option: each rung the same bits as a fan-out of
 * that rung alone (made from the source whatever the plan), SIMD and C;
 * explicit sitings equal to a chroma location's give its bits. */
static void test_cpu_direct_option(void **state)
{
    EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
    EbFanoutCpuOptions opt = {.direct = 1};
    AVFrame *src = frame_random(1920, 1080), *a[4], *b[1];
    (void)state;
    for (int simd = 0; simd < 2; simd++) {
        EbFanoutCpu *f = NULL;
        if (simd)
            unsetenv("EB_SCALE_SIMD");
        else
            setenv("EB_SCALE_SIMD", "0", 1);
        opt.chroma_set = simd; /* LEFT: h co-sited, v centred */
        opt.chroma_h = EB_SCALE_SITING_COSITED;
        opt.chroma_v = EB_SCALE_SITING_CENTER;
        assert_int_equal(eb_fanout_cpu_create_ex(&cfg, &opt, &f), 0);
        unsetenv("EB_SCALE_SIMD");
        assert_int_equal(eb_fanout_cpu_run(f, src, a), 0);
        eb_fanout_cpu_free(&f);
        for (int i = 0; i < 4; i++) {
            const int out[1][2] = {{ladder[i][0], ladder[i][1]}};
            EbFanoutConfig one = config(1920, 1080, 1, out);
            fanout_once(&one, src, simd, b);
            if (!frames_equal(a[i], b[0]))
                fail_msg("direct rung %d differs from a lone resize (simd %d)", i, simd);
            free_frames(b, 1);
        }
        free_frames(a, 4);
    }
    av_frame_free(&src);
}

/* Planes allocated to the byte (linesize == width, no padding): under ASan
 * any read past a source row or plane end is reported. */
static AVFrame *frame_tight(int w, int h)
{
    AVFrame *f = av_frame_alloc();
    assert_non_null(f);
    f->width = w;
    f->height = h;
    f->format = AV_PIX_FMT_YUV420P;
    for (int p = 0; p < 3; p++) {
        int pw = plane_w(f, p), ph = plane_h(f, p);
        f->buf[p] = av_buffer_alloc((size_t)pw * ph);
        assert_non_null(f->buf[p]);
        f->data[p] = f->buf[p]->data;
        f->linesize[p] = pw;
        for (int i = 0; i < pw * ph; i++)
            f->data[p][i] = (uint8_t)(rng() >> 24);
    }
    return f;
}

static void test_never_reads_outside_the_source_planes(void **state)
{
    static const int cases[][4] = {
        {1920, 1080, 1280, 720}, {333, 197, 101, 67}, {333, 197, 700, 400},
        {45, 33, 44, 32},        {31, 17, 7, 3},      {65, 63, 64, 64},
    };
    (void)state;
    for (int simd = 0; simd < 2; simd++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            const int out[1][2] = {{cases[i][2], cases[i][3]}};
            EbFanoutConfig cfg = config(cases[i][0], cases[i][1], 1, out);
            AVFrame *src = frame_tight(cases[i][0], cases[i][1]), *dst[1];
            fanout_once(&cfg, src, simd, dst);
            if (cases[i][0] < 1000) /* the double reference is slow at 1080p */
                assert_true(max_diff_vs_reference(src, dst[0]) <= 1);
            free_frames(dst, 1);
            av_frame_free(&src);
        }
    }
}

static void test_constant_image_stays_constant(void **state)
{
    static const uint8_t values[][3] = {{77, 200, 3}, {0, 255, 128}, {255, 0, 16}};
    const int sizes[5][2] = {{1280, 720}, {854, 480}, {640, 360}, {17, 9}, {2000, 1200}};
    EbFanoutConfig cfg = config(1920, 1080, 5, sizes);
    (void)state;
    for (int simd = 0; simd < 2; simd++) {
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
            AVFrame *src = frame_new(1920, 1080), *dst[5];
            fill_constant(src, values[v]);
            fanout_once(&cfg, src, simd, dst);
            for (int i = 0; i < 5; i++)
                for (int p = 0; p < 3; p++)
                    for (int y = 0; y < plane_h(dst[i], p); y++)
                        for (int x = 0; x < plane_w(dst[i], p); x++)
                            if (dst[i]->data[p][y * dst[i]->linesize[p] + x] != values[v][p])
                                fail_msg("rung %d plane %d (%d,%d) = %d, not %d", i, p, x, y,
                                         dst[i]->data[p][y * dst[i]->linesize[p] + x],
                                         values[v][p]);
            free_frames(dst, 5);
            av_frame_free(&src);
        }
    }
}

static void test_same_size_output_is_a_reference_to_the_source(void **state)
{
    EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
    AVFrame *src = frame_random(1920, 1080), *dst[4];
    (void)state;
    fanout_once(&cfg, src, 1, dst);
    for (int p = 0; p < 3; p++) {
        assert_ptr_equal(dst[0]->data[p], src->data[p]);
        assert_int_equal(dst[0]->linesize[p], src->linesize[p]);
    }
    assert_ptr_equal(dst[0]->buf[0]->buffer, src->buf[0]->buffer);
    assert_int_equal(av_buffer_get_ref_count(src->buf[0]), 2);
    assert_ptr_not_equal(dst[1]->data[0], src->data[0]);
    free_frames(dst, 4);
    assert_int_equal(av_buffer_get_ref_count(src->buf[0]), 1);
    av_frame_free(&src);
}

static void test_repeated_rung_is_a_reference_to_the_first(void **state)
{
    const int sizes[2][2] = {{1280, 720}, {1280, 720}};
    EbFanoutConfig cfg = config(1920, 1080, 2, sizes);
    AVFrame *src = frame_random(1920, 1080), *dst[2];
    (void)state;
    fanout_once(&cfg, src, 1, dst);
    assert_ptr_equal(dst[1]->data[0], dst[0]->data[0]);
    assert_ptr_equal(dst[1]->data[2], dst[0]->data[2]);
    assert_int_equal(dst[1]->sample_aspect_ratio.num, 1);
    free_frames(dst, 2);
    av_frame_free(&src);
}

static void test_outputs_carry_source_pts_props_and_square_pixels(void **state)
{
    EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
    AVFrame *src = frame_random(1920, 1080), *dst[4];
    (void)state;
    src->pts = 123456;
    src->pkt_duration = 3003;
    src->sample_aspect_ratio = (AVRational){4, 3};
    src->color_primaries = AVCOL_PRI_BT709;
    src->color_trc = AVCOL_TRC_BT709;
    src->colorspace = AVCOL_SPC_BT709;
    src->color_range = AVCOL_RANGE_MPEG;
    fanout_once(&cfg, src, 1, dst);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(dst[i]->pts, 123456);
        assert_int_equal(dst[i]->pkt_duration, 3003);
        assert_int_equal(dst[i]->sample_aspect_ratio.num, 1);
        assert_int_equal(dst[i]->sample_aspect_ratio.den, 1);
        assert_int_equal(dst[i]->colorspace, AVCOL_SPC_BT709);
        assert_int_equal(dst[i]->color_primaries, AVCOL_PRI_BT709);
        assert_int_equal(dst[i]->color_trc, AVCOL_TRC_BT709);
        assert_int_equal(dst[i]->color_range, AVCOL_RANGE_MPEG);
        assert_int_equal(dst[i]->width, ladder[i][0]);
        assert_int_equal(dst[i]->height, ladder[i][1]);
        assert_int_equal(dst[i]->format, AV_PIX_FMT_YUV420P);
    }
    /* The source frame keeps its own aspect ratio. */
    assert_int_equal(src->sample_aspect_ratio.num, 4);
    free_frames(dst, 4);
    av_frame_free(&src);
}

static uint64_t checksum(const AVFrame *f)
{
    uint64_t sum = 0;
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < plane_h(f, p); y++)
            for (int x = 0; x < plane_w(f, p); x++)
                sum = sum * 31 + f->data[p][y * f->linesize[p] + x];
    return sum;
}

static void test_pool_recycles_buffers(void **state)
{
    EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
    AVFrame *src = frame_random(1920, 1080), *dst[4], *held[3];
    EbFanoutCpu *f = NULL;
    uint8_t *first[4] = {0};
    uint64_t sum_before;
    (void)state;
    assert_int_equal(eb_fanout_cpu_create(&cfg, &f), 0);
    for (int n = 0; n < 50; n++) {
        assert_int_equal(eb_fanout_cpu_run(f, src, dst), 0);
        for (int i = 1; i < 4; i++) {
            if (!first[i])
                first[i] = dst[i]->data[0];
            /* Released every time, so the pool hands back the same one. */
            assert_ptr_equal(dst[i]->data[0], first[i]);
        }
        free_frames(dst, 4);
    }
    /* Held frames are not overwritten: a new frame gets another buffer. */
    assert_int_equal(eb_fanout_cpu_run(f, src, dst), 0);
    for (int i = 1; i < 4; i++)
        held[i - 1] = dst[i];
    av_frame_free(&dst[0]);
    assert_int_equal(eb_fanout_cpu_run(f, src, dst), 0);
    for (int i = 1; i < 4; i++)
        assert_ptr_not_equal(dst[i]->data[0], held[i - 1]->data[0]);
    free_frames(dst, 4);
    /* Frames may outlive the fan-out (ASan would see a use after free). */
    sum_before = checksum(held[2]);
    eb_fanout_cpu_free(&f);
    assert_int_equal(checksum(held[2]), sum_before);
    free_frames(held, 3);
    av_frame_free(&src);
}

static void test_rejects_what_it_cannot_do(void **state)
{
    EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
    EbFanoutCpu *f = (EbFanoutCpu *)&cfg;
    AVFrame *src, *dst[4];
    (void)state;
    cfg.rotation = 90;
    assert_int_equal(eb_fanout_cpu_create(&cfg, &f), EB_ERR(ENOSYS));
    assert_null(f);
    cfg.rotation = 45;
    assert_int_equal(eb_fanout_cpu_create(&cfg, &f), EB_ERR(EINVAL));
    cfg.rotation = 0;
    cfg.src_format = AV_PIX_FMT_NV12;
    assert_int_equal(eb_fanout_cpu_create(&cfg, &f), EB_ERR(ENOSYS));
    cfg.src_format = AV_PIX_FMT_YUV420P;
    cfg.nb_outputs = 0;
    assert_int_equal(eb_fanout_cpu_create(&cfg, &f), EB_ERR(EINVAL));
    cfg.nb_outputs = 4;
    assert_int_equal(eb_fanout_cpu_create(&cfg, &f), 0);
    src = frame_random(1280, 720);
    assert_int_equal(eb_fanout_cpu_run(f, src, dst), EB_ERR(EINVAL));
    for (int i = 0; i < 4; i++)
        assert_null(dst[i]);
    av_frame_free(&src);
    eb_fanout_cpu_free(&f);
    eb_fanout_cpu_free(&f); /* nulls the pointer, so twice is harmless */
}

/* ---- quality ---- */

static AVFrame *swscale(const AVFrame *src, int w, int h, int flags)
{
    struct SwsContext *c = sws_alloc_context();
    AVFrame *d = frame_new(w, h);
    assert_non_null(c);
    av_opt_set_int(c, "srcw", src->width, 0);
    av_opt_set_int(c, "srch", src->height, 0);
    av_opt_set_int(c, "src_format", AV_PIX_FMT_YUV420P, 0);
    av_opt_set_int(c, "dstw", w, 0);
    av_opt_set_int(c, "dsth", h, 0);
    av_opt_set_int(c, "dst_format", AV_PIX_FMT_YUV420P, 0);
    av_opt_set_int(c, "sws_flags", flags, 0);
    /* The same chroma siting as encbox's tables (MPEG-2: co-sited with even
     * luma horizontally, centred vertically), for source and destination,
     * so that both references differ from encbox by filtering only. */
    av_opt_set_int(c, "src_h_chr_pos", 0, 0);
    av_opt_set_int(c, "dst_h_chr_pos", 0, 0);
    av_opt_set_int(c, "src_v_chr_pos", 128, 0);
    av_opt_set_int(c, "dst_v_chr_pos", 128, 0);
    assert_true(sws_init_context(c, NULL, NULL) >= 0);
    sws_scale(c, (const uint8_t *const *)src->data, src->linesize, 0, src->height, d->data,
              d->linesize);
    sws_freeContext(c);
    return d;
}

static double psnr(const AVFrame *a, const AVFrame *b, int p)
{
    double err = 0;
    int w = plane_w(a, p), h = plane_h(a, p);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double d = a->data[p][y * a->linesize[p] + x] - b->data[p][y * b->linesize[p] + x];
            err += d * d;
        }
    }
    err /= (double)w * h;
    return err == 0 ? 99.0 : 10 * log10(255.0 * 255.0 / err);
}

static void test_rungs_closer_to_lanczos_than_swscale_bicubic(void **state)
{
    EbFanoutConfig cfg = config(1920, 1080, 4, ladder);
    AVFrame *src = frame_detailed(1920, 1080), *dst[4];
    (void)state;
    fanout_once(&cfg, src, 1, dst);
    for (int i = 1; i < 4; i++) {
        AVFrame *ref = swscale(src, ladder[i][0], ladder[i][1], SWS_LANCZOS | SWS_ACCURATE_RND);
        AVFrame *bic = swscale(src, ladder[i][0], ladder[i][1], SWS_BICUBIC);
        for (int p = 0; p < 3; p++) {
            double mine = psnr(dst[i], ref, p), theirs = psnr(bic, ref, p);
            print_message("%dp plane %d vs lanczos: encbox %.2f dB, swscale bicubic %.2f dB\n",
                          ladder[i][1], p, mine, theirs);
            if (mine < theirs)
                fail_msg("%dp plane %d: %.2f dB < bicubic's %.2f dB", ladder[i][1], p, mine,
                         theirs);
        }
        av_frame_free(&ref);
        av_frame_free(&bic);
    }
    free_frames(dst, 4);
    av_frame_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_taps_sum_to_one_and_stay_in_bounds),
        cmocka_unit_test(test_table_tap_rule),
        cmocka_unit_test(test_table_rejects_empty_sizes),
        cmocka_unit_test(test_table_identity_is_exact),
        cmocka_unit_test(test_table_chroma_siting),
        cmocka_unit_test(test_chroma_siting_from_location),
        cmocka_unit_test(test_plan_cascades_default_ladder),
        cmocka_unit_test(test_plan_direct),
        cmocka_unit_test(test_plan_never_cascades_from_near_sizes_or_too_deep),
        cmocka_unit_test(test_cpu_direct_option),
        cmocka_unit_test(test_fixed_point_within_one_of_double_reference),
        cmocka_unit_test(test_cascaded_rungs_within_one_of_reference_of_parent),
        cmocka_unit_test(test_simd_kernels_match_c_bit_for_bit),
        cmocka_unit_test(test_never_reads_outside_the_source_planes),
        cmocka_unit_test(test_constant_image_stays_constant),
        cmocka_unit_test(test_same_size_output_is_a_reference_to_the_source),
        cmocka_unit_test(test_repeated_rung_is_a_reference_to_the_first),
        cmocka_unit_test(test_outputs_carry_source_pts_props_and_square_pixels),
        cmocka_unit_test(test_pool_recycles_buffers),
        cmocka_unit_test(test_rejects_what_it_cannot_do),
        cmocka_unit_test(test_rungs_closer_to_lanczos_than_swscale_bicubic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
