/* The CUDA fan-out without a GPU: its host plan (cascade, per-plane jobs,
 * tables, launch levels) run through the kernel's own per-sample code
 * (eb_cuda_scale_sample, compiled here as C) on NV12 pictures must give
 * what the CPU fan-out gives on the same YUV420P picture, for the default
 * ladder and awkward sizes. The spec allows +-1; the design gives 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eb_fanout_cpu.h"

#ifdef EB_WITH_NVIDIA
#include "eb_fanout_cuda_plan.h"

typedef struct Nv12 {
    int w, h, pitch;
    uint8_t *y, *uv;
} Nv12;

static void nv12_alloc(Nv12 *p, int w, int h)
{
    p->w = w;
    p->h = h;
    p->pitch = (w + 1) / 2 * 2 + 64; /* a pitch wider than the picture, like the driver's */
    p->y = calloc((size_t)p->pitch * h, 1);
    p->uv = calloc((size_t)p->pitch * ((h + 1) / 2), 1);
    assert_non_null(p->y);
    assert_non_null(p->uv);
}

static void nv12_free(Nv12 *p)
{
    free(p->y);
    free(p->uv);
}

/* Deterministic texture: gradients, hard edges and noise. */
static AVFrame *make_source(int w, int h)
{
    AVFrame *f = av_frame_alloc();
    uint32_t seed = 12345;
    assert_non_null(f);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    for (int p = 0; p < 3; p++) {
        int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                int v = (x * 7 + y * 3 + p * 50) & 255;
                seed = seed * 1103515245u + 12345u;
                if (((x / 13) ^ (y / 11)) & 1)
                    v = 255 - v;
                v += (int)((seed >> 16) % 21) - 10;
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    }
    return f;
}

static void to_nv12(const AVFrame *f, Nv12 *n)
{
    int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
    for (int y = 0; y < f->height; y++)
        memcpy(n->y + y * n->pitch, f->data[0] + y * f->linesize[0], (size_t)f->width);
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            n->uv[y * n->pitch + 2 * x] = f->data[1][y * f->linesize[1] + x];
            n->uv[y * n->pitch + 2 * x + 1] = f->data[2][y * f->linesize[2] + x];
        }
}

/* Largest |difference| between a CPU output and the emulated NV12 one. */
static int max_diff(const AVFrame *cpu, const Nv12 *n)
{
    int cw = (cpu->width + 1) / 2, ch = (cpu->height + 1) / 2, worst = 0;
    for (int y = 0; y < cpu->height; y++)
        for (int x = 0; x < cpu->width; x++) {
            int d = abs(cpu->data[0][y * cpu->linesize[0] + x] - n->y[y * n->pitch + x]);
            worst = d > worst ? d : worst;
        }
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++)
            for (int c = 0; c < 2; c++) {
                int d = abs(cpu->data[1 + c][y * cpu->linesize[1 + c] + x] -
                            n->uv[y * n->pitch + 2 * x + c]);
                worst = d > worst ? d : worst;
            }
    return worst;
}

static void compare(int sw, int sh, int nb, const int *w, const int *h, int expect_levels)
{
    EbFanoutConfig cfg = {
        .src_width = sw, .src_height = sh, .src_format = AV_PIX_FMT_YUV420P, .nb_outputs = nb};
    AVFrame *src = make_source(sw, sh), *cpu_out[EB_LADDER_MAX_RUNGS] = {0};
    EbFanoutCpu *cpu = NULL;
    EbCudaPlan plan;
    EbCudaPics pics;
    Nv12 pic[EB_CUDA_MAX_PICS];

    for (int i = 0; i < nb; i++) {
        cfg.outputs[i].width = w[i];
        cfg.outputs[i].height = h[i];
    }
    assert_int_equal(eb_fanout_cpu_create(&cfg, &cpu), 0);
    assert_int_equal(eb_fanout_cpu_run(cpu, src, cpu_out), 0);

    cfg.src_format = AV_PIX_FMT_CUDA;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), 0);
    assert_int_equal(plan.nb_levels, expect_levels);
    memset(&pics, 0, sizeof(pics));
    nv12_alloc(&pic[0], sw, sh);
    to_nv12(src, &pic[0]);
    for (int i = 0; i < nb; i++)
        nv12_alloc(&pic[1 + i], w[i], h[i]);
    for (int i = 0; i < 1 + nb; i++) {
        pics.data[i][0] = (uintptr_t)pic[i].y;
        pics.data[i][1] = (uintptr_t)pic[i].uv;
        pics.pitch[i][0] = pics.pitch[i][1] = pic[i].pitch;
    }
    for (int lv = 0; lv < plan.nb_levels; lv++)
        eb_cuda_plan_emulate(&plan, lv, &pics);
    for (int n = 0; n < nb; n++) {
        int i = plan.order[n], p = plan.parent[i];
        if (plan.copy[i]) {
            /* A reference on the GPU too: compare with its parent. */
            const Nv12 *par = &pic[p < 0 ? 0 : 1 + p];
            assert_int_equal(max_diff(cpu_out[i], par), 0);
            continue;
        }
        assert_in_range(max_diff(cpu_out[i], &pic[1 + i]), 0, 1);
        assert_int_equal(max_diff(cpu_out[i], &pic[1 + i]), 0);
    }
    for (int i = 0; i < 1 + nb; i++)
        nv12_free(&pic[i]);
    for (int i = 0; i < nb; i++)
        av_frame_free(&cpu_out[i]);
    eb_cuda_plan_uninit(&plan);
    eb_fanout_cpu_free(&cpu);
    av_frame_free(&src);
}

static void test_default_ladder(void **state)
{
    const int w[] = {1920, 1280, 854, 640}, h[] = {1080, 720, 480, 360};
    (void)state;
    /* 1080p is a reference; 720p from the source, 480p from 720p, 360p
     * from 480p: three launches. */
    compare(1920, 1080, 4, w, h, 3);
}

static void test_odd_sizes_and_upscale(void **state)
{
    const int w[] = {1000, 333, 1500}, h[] = {563, 187, 845};
    (void)state;
    compare(1001, 563, 3, w, h, 2);
}

static void test_plan_rejects_bad_config(void **state)
{
    EbFanoutConfig cfg = {.src_width = 64, .src_height = 64, .nb_outputs = 0};
    EbCudaPlan plan;
    (void)state;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), -EINVAL);
    cfg.nb_outputs = 1;
    cfg.outputs[0].width = 0;
    cfg.outputs[0].height = 10;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), -EINVAL);
}

#else
static void test_default_ladder(void **state)
{
    (void)state;
    skip(); /* NVIDIA backend not built */
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_ladder),
#ifdef EB_WITH_NVIDIA
        cmocka_unit_test(test_odd_sizes_and_upscale),
        cmocka_unit_test(test_plan_rejects_bad_config),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
