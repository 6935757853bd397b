/* The CUDA fan-out without a GPU: its host plan (the direct plan, per-plane
 * jobs, tables, rotation remap, one launch) run through the kernel's own
 * per-sample code (eb_cuda_scale_sample, compiled here as C) on NV12
 * pictures must give what the CPU fan-out gives on the same YUV420P picture
 * with the same (direct) plan, for the default ladder and awkward sizes; and
 * with rotation, what the CPU fan-out gives on the picture rotated in plain
 * C. The spec allows +-1; the design gives 0. Nothing here runs on a GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eb_fanout_cpu.h"
#include "eb_test_frames.h"

#ifdef EB_WITH_NVIDIA
#include "eb_fanout_cuda_plan.h"
#include "eb_hal.h"
#include "eb_hal_hw.h"

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
    AVFrame *f = eb_test_frame(w, h, AV_PIX_FMT_YUV420P);
    uint32_t seed = 12345;
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

/* Random planes: every sample independent, so a wrong tap, phase or
 * remapped read shows. */
static AVFrame *make_random(int w, int h, uint32_t seed)
{
    AVFrame *f = eb_test_frame(w, h, AV_PIX_FMT_YUV420P);
    for (int p = 0; p < 3; p++) {
        int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                seed = seed * 1103515245u + 12345u;
                f->data[p][y * f->linesize[p] + x] = (uint8_t)(seed >> 16);
            }
    }
    return f;
}

/* The picture rotated clockwise by rot degrees, each plane losslessly on
 * its own grid: R(x, y) = S(y, H-1-x) at 90, S(W-1-x, H-1-y) at 180,
 * S(W-1-y, x) at 270 (W x H the plane's size in the source). */
static AVFrame *rotate_c(const AVFrame *s, int rot)
{
    AVFrame *r = av_frame_alloc();
    int swap = rot == 90 || rot == 270;
    assert_non_null(r);
    r->format = s->format;
    r->width = swap ? s->height : s->width;
    r->height = swap ? s->width : s->height;
    assert_int_equal(av_frame_get_buffer(r, 0), 0);
    for (int p = 0; p < 3; p++) {
        int W = p ? (s->width + 1) / 2 : s->width, H = p ? (s->height + 1) / 2 : s->height;
        int rw = swap ? H : W, rh = swap ? W : H;
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++) {
                int sx = x, sy = y;
                if (rot == 90) {
                    sx = y;
                    sy = H - 1 - x;
                } else if (rot == 180) {
                    sx = W - 1 - x;
                    sy = H - 1 - y;
                } else if (rot == 270) {
                    sx = W - 1 - y;
                    sy = x;
                }
                r->data[p][y * r->linesize[p] + x] = s->data[p][sy * s->linesize[p] + sx];
            }
    }
    return r;
}

/* CUDA plan (rotation rot, source sw x sh before rotation, outputs after)
 * emulated on src as NV12, against the CPU fan-out's direct plan on src
 * rotated in plain C, with the rotated picture's chroma sitings. Returns
 * the plan's job count (its one launch's blockIdx.z extent). */
static int compare_rot(const AVFrame *src, int rot, int chroma_location, int nb, const int *w,
                       const int *h)
{
    const int sw = src->width, sh = src->height;
    EbFanoutConfig cfg = {.src_format = AV_PIX_FMT_YUV420P,
                          .chroma_location = (enum AVChromaLocation)chroma_location,
                          .nb_outputs = nb};
    EbFanoutCpuOptions opt = {.direct = 1, .chroma_set = 1};
    AVFrame *rsrc = rotate_c(src, rot), *cpu_out[EB_HAL_MAX_OUTPUTS] = {0};
    EbScaleSiting hs, vs;
    EbFanoutCpu *cpu = NULL;
    EbCudaPlan plan;
    EbCudaPics pics;
    Nv12 pic[EB_CUDA_MAX_PICS];
    int nb_jobs;

    for (int i = 0; i < nb; i++) {
        cfg.outputs[i].width = w[i];
        cfg.outputs[i].height = h[i];
    }
    /* The reference: rotate first, then the direct plan without rotation. */
    eb_scale_chroma_siting_rotated(chroma_location, rot, &hs, &vs);
    opt.chroma_h = hs;
    opt.chroma_v = vs;
    cfg.src_width = rsrc->width;
    cfg.src_height = rsrc->height;
    assert_int_equal(eb_fanout_cpu_create_ex(&cfg, &opt, &cpu), 0);
    assert_int_equal(eb_fanout_cpu_run(cpu, rsrc, cpu_out), 0);

    cfg.src_width = sw;
    cfg.src_height = sh;
    cfg.rotation = rot;
    cfg.src_format = AV_PIX_FMT_CUDA;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), 0);
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
    /* One launch: every job reads the source. */
    for (int z = 0; z < plan.nb_jobs; z++)
        assert_int_equal(plan.jobs[z].src_pic, 0);
    eb_cuda_plan_emulate(&plan, &pics);
    for (int n = 0; n < nb; n++) {
        int i = plan.order[n], p = plan.parent[i];
        if (plan.copy[i]) {
            /* A reference on the GPU too: compare with its parent, never a
             * rotated source. */
            assert_true(p >= 0 || rot == 0);
            assert_int_equal(max_diff(cpu_out[i], &pic[p < 0 ? 0 : 1 + p]), 0);
            continue;
        }
        assert_int_equal(p, -1);
        assert_in_range(max_diff(cpu_out[i], &pic[1 + i]), 0, 1);
        assert_int_equal(max_diff(cpu_out[i], &pic[1 + i]), 0);
    }
    nb_jobs = plan.nb_jobs;
    for (int i = 0; i < 1 + nb; i++)
        nv12_free(&pic[i]);
    for (int i = 0; i < nb; i++)
        av_frame_free(&cpu_out[i]);
    eb_cuda_plan_uninit(&plan);
    eb_fanout_cpu_free(&cpu);
    av_frame_free(&rsrc);
    return nb_jobs;
}

static void compare(int sw, int sh, int nb, const int *w, const int *h, int expect_jobs)
{
    AVFrame *src = make_source(sw, sh);
    assert_int_equal(compare_rot(src, 0, AVCHROMA_LOC_LEFT, nb, w, h), expect_jobs);
    av_frame_free(&src);
}

static void test_default_ladder(void **state)
{
    const int w[] = {1920, 1280, 854, 640}, h[] = {1080, 720, 480, 360};
    (void)state;
    /* 1080p is a reference; 720p, 480p and 360p all from the source, Y and
     * UV each: six jobs, one launch. */
    compare(1920, 1080, 4, w, h, 6);
}

static void test_odd_sizes_and_upscale(void **state)
{
    const int w[] = {1000, 333, 1500, 333}, h[] = {563, 187, 845, 187};
    (void)state;
    /* The second 333x187 shares the first's frame. */
    compare(1001, 563, 4, w, h, 6);
}

/* The software backend keeps its cascade: the direct plan is an option. */
static void test_cpu_keeps_cascade(void **state)
{
    const int w[] = {1280, 854, 640}, h[] = {720, 480, 360};
    int order[3], parent[3], copy[3];
    (void)state;
    assert_int_equal(eb_scale_plan(1920, 1080, 3, w, h, order, parent, copy), 0);
    assert_int_equal(parent[0], -1);
    assert_int_equal(parent[1], 0);
    assert_int_equal(parent[2], 1);
    assert_int_equal(eb_scale_plan_depth(1920, 1080, 3, w, h, 1, order, parent, copy), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(parent[i], -1);
        assert_int_equal(copy[i], 0);
    }
    assert_int_equal(eb_scale_plan_depth(1920, 1080, 3, w, h, 0, order, parent, copy), -EINVAL);
}

static void test_rotated_sitings(void **state)
{
    EbScaleSiting hs, vs;
    (void)state;
    /* LEFT (h co-sited, v centred): TOP at 90, "right" at 180, BOTTOM at 270. */
    eb_scale_chroma_siting_rotated(AVCHROMA_LOC_LEFT, 90, &hs, &vs);
    assert_int_equal(hs, EB_SCALE_SITING_CENTER);
    assert_int_equal(vs, EB_SCALE_SITING_COSITED);
    eb_scale_chroma_siting_rotated(AVCHROMA_LOC_LEFT, 180, &hs, &vs);
    assert_int_equal(hs, EB_SCALE_SITING_COSITED_ODD);
    assert_int_equal(vs, EB_SCALE_SITING_CENTER);
    eb_scale_chroma_siting_rotated(AVCHROMA_LOC_LEFT, 270, &hs, &vs);
    assert_int_equal(hs, EB_SCALE_SITING_CENTER);
    assert_int_equal(vs, EB_SCALE_SITING_COSITED_ODD);
    eb_scale_chroma_siting_rotated(AVCHROMA_LOC_TOPLEFT, 90, &hs, &vs);
    assert_int_equal(hs, EB_SCALE_SITING_COSITED_ODD);
    assert_int_equal(vs, EB_SCALE_SITING_COSITED);
    eb_scale_chroma_siting_rotated(AVCHROMA_LOC_CENTER, 270, &hs, &vs);
    assert_int_equal(hs, EB_SCALE_SITING_CENTER);
    assert_int_equal(vs, EB_SCALE_SITING_CENTER);
}

/* The test's own rotation: a known 3x2 picture, corner by corner. */
static void test_rotate_c(void **state)
{
    AVFrame *s = make_random(3, 2, 7), *r;
    const uint8_t *S = s->data[0];
    int ls = s->linesize[0];
    (void)state;
    r = rotate_c(s, 90); /* 2x3: top-left is the source's bottom-left */
    assert_int_equal(r->width, 2);
    assert_int_equal(r->height, 3);
    assert_int_equal(r->data[0][0], S[1 * ls + 0]);
    assert_int_equal(r->data[0][1], S[0 * ls + 0]);
    assert_int_equal(r->data[0][2 * r->linesize[0] + 0], S[1 * ls + 2]);
    av_frame_free(&r);
    r = rotate_c(s, 270); /* top-left is the source's top-right */
    assert_int_equal(r->data[0][0], S[0 * ls + 2]);
    assert_int_equal(r->data[0][2 * r->linesize[0] + 1], S[1 * ls + 0]);
    av_frame_free(&r);
    r = rotate_c(s, 180);
    assert_int_equal(r->data[0][0], S[1 * ls + 2]);
    av_frame_free(&r);
    av_frame_free(&s);
}

/* Rotation in the kernel: for 90, 180 and 270, several sources (odd sizes
 * included), landscape and portrait rungs, a rung of the rotated source's
 * size (a pure rotation job), and chroma locations whose rotated sitings
 * differ, each bit for bit against rotate-then-resize on the CPU. */
static void test_rotation(void **state)
{
    static const struct {
        int sw, sh, nb, w[4], h[4];
    } cases[] = {
        /* A landscape phone clip: rotated 90/270 it is 1080x1920 portrait. */
        {1920, 1080, 4, {1080, 720, 480, 360}, {1920, 1280, 854, 640}},
        /* Odd sizes both ways, an upscale, a rung equal to the rotated size
         * (90/270: 75x101) and one shared. */
        {101, 75, 4, {75, 40, 161, 40}, {101, 53, 97, 53}},
        /* Odd everything, portrait and landscape rungs from one source. */
        {333, 187, 3, {187, 99, 250}, {333, 45, 117}},
        /* Tiny: windows clamp at both edges. */
        {7, 5, 2, {5, 3}, {7, 9}},
    };
    static const int rots[] = {90, 180, 270};
    static const int locs[] = {AVCHROMA_LOC_LEFT, AVCHROMA_LOC_TOPLEFT, AVCHROMA_LOC_CENTER,
                               AVCHROMA_LOC_BOTTOM};
    uint32_t seed = 1;
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        for (size_t r = 0; r < sizeof(rots) / sizeof(rots[0]); r++) {
            int swap = rots[r] != 180;
            int w[4], h[4], nb = cases[c].nb;
            AVFrame *src;
            /* The cases' outputs are for 90/270 (portrait from landscape);
             * at 180 the same rungs transposed keep the aspect. */
            for (int i = 0; i < nb; i++) {
                w[i] = swap ? cases[c].w[i] : cases[c].h[i];
                h[i] = swap ? cases[c].h[i] : cases[c].w[i];
            }
            /* The 1080p case costs the most: one chroma location there. */
            for (size_t l = 0; l < (c ? 4u : 1u); l++) {
                src = make_random(cases[c].sw, cases[c].sh, seed++);
                compare_rot(src, rots[r], locs[(l + r) % 4], nb, w, h);
                av_frame_free(&src);
            }
        }
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
    cfg.outputs[0].width = 10;
    cfg.rotation = 45;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), -EINVAL);
    cfg.rotation = -90;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), -EINVAL);
    cfg.rotation = 90;
    assert_int_equal(eb_cuda_plan_init(&plan, &cfg), 0);
    eb_cuda_plan_uninit(&plan);
}

/* ---- on a GPU, when there is one ----
 *
 * The real kernel on a CUDA device against the CPU fan-out on the same
 * (direct) plan: the issue allows +-1 per sample, the design gives 0. Runs
 * only where the NVIDIA backend probes usable (driver, device, the PTX
 * JITs); elsewhere it is skipped, saying why. */
static Nv12 nv12_view(const AVFrame *f)
{
    Nv12 n = {.w = f->width, .h = f->height, .pitch = f->linesize[0], .y = f->data[0],
              .uv = f->data[1]};
    assert_int_equal(f->linesize[0], f->linesize[1]);
    return n;
}

static void test_gpu_matches_cpu(void **state)
{
    const int w[] = {1920, 1280, 854, 640}, h[] = {1080, 720, 480, 360};
    EbHalProbe probe = {0};
    EbHalDevice *dev = NULL;
    (void)state;

    eb_hal_nvidia.probe(&probe);
    if (!probe.usable) {
        print_message("no usable NVIDIA device (%s): GPU comparison skipped\n", probe.reason);
        skip();
        return;
    }
    assert_int_equal(eb_hal_device_open(&eb_hal_nvidia, NULL, &dev), 0);
    for (int rot = 0; rot < 360; rot += 90) {
        const int sw = 1920, sh = 1080;
        EbFanoutConfig cfg = {.src_format = AV_PIX_FMT_YUV420P,
                              .chroma_location = AVCHROMA_LOC_LEFT,
                              .nb_outputs = 4};
        EbFanoutCpuOptions opt = {.direct = 1, .chroma_set = 1};
        AVFrame *src = make_random(sw, sh, 777u + (uint32_t)rot), *rsrc = rotate_c(src, rot);
        AVFrame *nv = av_frame_alloc(), *hw = av_frame_alloc();
        AVFrame *cpu_out[4] = {0}, *gpu_out[4] = {0};
        EbScaleSiting hs, vs;
        EbFanoutCpu *cpu = NULL;
        EbFanout *gpu = NULL;
        Nv12 n;

        for (int i = 0; i < 4; i++) {
            /* Portrait rungs when the picture turns. */
            cfg.outputs[i].width = rot % 180 ? h[i] : w[i];
            cfg.outputs[i].height = rot % 180 ? w[i] : h[i];
        }
        eb_scale_chroma_siting_rotated(AVCHROMA_LOC_LEFT, rot, &hs, &vs);
        opt.chroma_h = hs;
        opt.chroma_v = vs;
        cfg.src_width = rsrc->width;
        cfg.src_height = rsrc->height;
        assert_int_equal(eb_fanout_cpu_create_ex(&cfg, &opt, &cpu), 0);
        assert_int_equal(eb_fanout_cpu_run(cpu, rsrc, cpu_out), 0);

        /* The source, as NV12, onto the device. */
        nv->format = AV_PIX_FMT_NV12;
        nv->width = sw;
        nv->height = sh;
        assert_int_equal(av_frame_get_buffer(nv, 0), 0);
        n = nv12_view(nv);
        to_nv12(src, &n);
        assert_int_equal(eb_hal_hw_upload(dev, nv, hw), 0);

        cfg.src_width = sw;
        cfg.src_height = sh;
        cfg.rotation = rot;
        cfg.src_format = AV_PIX_FMT_CUDA;
        assert_int_equal(dev->backend->fanout_open(dev, &cfg, &gpu), 0);
        assert_int_equal(dev->backend->fanout_run(gpu, hw, gpu_out), 0);
        for (int i = 0; i < 4; i++) {
            AVFrame *dl = av_frame_alloc();
            Nv12 view;
            int d;
            assert_int_equal(gpu_out[i]->format, AV_PIX_FMT_CUDA);
            assert_int_equal(eb_hal_hw_download(gpu_out[i], dl), 0);
            view = nv12_view(dl);
            d = max_diff(cpu_out[i], &view);
            print_message("rotation %d, rung %dx%d: GPU vs CPU max difference %d\n", rot,
                          cfg.outputs[i].width, cfg.outputs[i].height, d);
            assert_in_range(d, 0, 1);
            av_frame_free(&dl);
        }
        dev->backend->fanout_close(&gpu);
        for (int i = 0; i < 4; i++) {
            av_frame_free(&cpu_out[i]);
            av_frame_free(&gpu_out[i]);
        }
        eb_fanout_cpu_free(&cpu);
        av_frame_free(&hw);
        av_frame_free(&nv);
        av_frame_free(&rsrc);
        av_frame_free(&src);
    }
    eb_hal_device_close(&dev);
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
        cmocka_unit_test(test_cpu_keeps_cascade),
        cmocka_unit_test(test_rotated_sitings),
        cmocka_unit_test(test_rotate_c),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_plan_rejects_bad_config),
        cmocka_unit_test(test_gpu_matches_cpu),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
