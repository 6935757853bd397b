/* The libavfilter-graph fan-out (hal/eb_fanout_graph.c) without a device:
 * the graph is generic, so software frames (yuv420p) and the software scale
 * and transpose filters stand in for scale_vaapi / vpp_qsv. Also the VA-API
 * and QSV graph texts, checked as strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavfilter/avfilter.h>
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>

#include "eb_error.h"
#include "eb_fanout_graph.h"
#include "eb_hal.h"
#include "eb_hal_hw.h"
#include "eb_test_frames.h"
#ifdef EB_WITH_VAAPI
#include "eb_vaapi.h"
#endif
#ifdef EB_WITH_QSV
#include "eb_qsv.h"
#endif

static int sw_scale(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale=w=%d:h=%d:flags=bicubic", width, height);
}

static const EbFanoutFilters sw_filters = {
    .name = "test",
    .scale = sw_scale,
    .rotate90 = "transpose=dir=clock",
    .rotate180 = "hflip,vflip",
    .rotate270 = "transpose=dir=cclock",
    .passthrough = 1,
};

static EbFanoutConfig config(int sw, int sh, int rotation, int n, const int (*sizes)[2])
{
    return eb_test_fanout_config(sw, sh, rotation, n, sizes);
}

/* A black yuv420p picture (luma 16) with timestamps and colour set. */
static AVFrame *make_src(int w, int h, int64_t pts)
{
    AVFrame *f = eb_test_frame(w, h, AV_PIX_FMT_YUV420P);
    for (int y = 0; y < h; y++)
        memset(f->data[0] + y * f->linesize[0], 16, (size_t)w);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < h / 2; y++)
            memset(f->data[p] + y * f->linesize[p], 128, (size_t)(w / 2));
    f->pts = pts;
    f->pkt_dts = pts;
    f->pkt_duration = 3003;
    f->time_base = (AVRational){1, 90000};
    f->color_primaries = AVCOL_PRI_BT709;
    f->color_trc = AVCOL_TRC_BT709;
    f->colorspace = AVCOL_SPC_BT709;
    f->color_range = AVCOL_RANGE_MPEG;
    f->chroma_location = AVCHROMA_LOC_LEFT;
    f->sample_aspect_ratio = (AVRational){1, 1};
    return f;
}

static EbFanoutGraph *open_sw(const EbFanoutConfig *cfg, const EbFanoutFilters *flt)
{
    EbFanoutGraphParams p = {.cfg = cfg, .filters = flt};
    EbFanoutGraph *g = NULL;
    assert_int_equal(eb_fanout_graph_open(&p, &g), 0);
    assert_non_null(g);
    return g;
}

/* ---- graph text ---- */

static void test_desc_sw(void **state)
{
    static const int sizes[3][2] = {{1280, 720}, {854, 480}, {640, 360}};
    EbFanoutConfig cfg = config(1280, 720, 0, 3, sizes);
    char buf[1024];

    (void)state;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[in]split=2[s0][s1];"
                             "[s0]scale=w=854:h=480:flags=bicubic[out1];"
                             "[s1]scale=w=640:h=360:flags=bicubic[out2]");
    assert_int_equal(eb_fanout_graph_is_ref(&cfg, &sw_filters, 0), 1);
    assert_int_equal(eb_fanout_graph_is_ref(&cfg, &sw_filters, 1), 0);

    /* One scaled output: no split. */
    cfg.nb_outputs = 2;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[in]scale=w=854:h=480:flags=bicubic[out1]");

    /* Only the source: nothing to filter. */
    cfg.nb_outputs = 1;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");

    /* Rotation: every output is scaled, the rotation runs once. */
    {
        static const int rs[2][2] = {{720, 1280}, {360, 640}};
        EbFanoutConfig r = config(1280, 720, 180, 2, rs);
        r.outputs[0].width = 1280;
        r.outputs[0].height = 720;
        assert_int_equal(eb_fanout_graph_desc(&r, &sw_filters, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "[in]hflip,vflip,split=2[s0][s1];"
                                 "[s0]scale=w=1280:h=720:flags=bicubic[out0];"
                                 "[s1]scale=w=360:h=640:flags=bicubic[out1]");
    }
}

static void test_desc_errors(void **state)
{
    static const int sizes[2][2] = {{640, 360}, {320, 180}};
    EbFanoutConfig cfg = config(1280, 720, 45, 2, sizes);
    EbFanoutFilters no_rot = sw_filters;
    char buf[1024], small[16];

    (void)state;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, buf, sizeof(buf)), EB_ERR(EINVAL));
    cfg.rotation = 90;
    no_rot.rotate90 = NULL;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &no_rot, buf, sizeof(buf)), EB_ERR(EINVAL));
    cfg.rotation = 0;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, small, sizeof(small)), EB_ERR(ENOSPC));
    assert_string_equal(small, "");
    cfg.nb_outputs = 0;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, buf, sizeof(buf)), EB_ERR(EINVAL));
    cfg.nb_outputs = 2;
    cfg.outputs[1].width = 0;
    assert_int_equal(eb_fanout_graph_desc(&cfg, &sw_filters, buf, sizeof(buf)), EB_ERR(EINVAL));
}

static void test_desc_vaapi(void **state)
{
    (void)state;
#ifdef EB_WITH_VAAPI
    static const int sizes[3][2] = {{1920, 1080}, {1280, 720}, {640, 360}};
    static const int rot[2][2] = {{1080, 1920}, {360, 640}};
    EbFanoutConfig cfg = config(1920, 1080, 0, 3, sizes);
    char buf[1024];

    cfg.src_format = AV_PIX_FMT_VAAPI;
    assert_int_equal(eb_vaapi_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[in]split=2[s0][s1];"
                             "[s0]scale_vaapi=w=1280:h=720:format=nv12[out1];"
                             "[s1]scale_vaapi=w=640:h=360:format=nv12[out2]");
    cfg = config(1920, 1080, 90, 2, rot);
    cfg.src_format = AV_PIX_FMT_VAAPI;
    assert_int_equal(eb_vaapi_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[in]transpose_vaapi=dir=clock,split=2[s0][s1];"
                             "[s0]scale_vaapi=w=1080:h=1920:format=nv12[out0];"
                             "[s1]scale_vaapi=w=360:h=640:format=nv12[out1]");
    cfg.rotation = 270;
    cfg.nb_outputs = 1;
    assert_int_equal(eb_vaapi_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_string_equal(
        buf, "[in]transpose_vaapi=dir=cclock,scale_vaapi=w=1080:h=1920:format=nv12[out0]");
    cfg.rotation = 180;
    assert_int_equal(eb_vaapi_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "transpose_vaapi=dir=reversal,"));
#else
    skip();
#endif
}

static void test_desc_qsv(void **state)
{
    (void)state;
#ifdef EB_WITH_QSV
    static const int sizes[3][2] = {{1920, 1080}, {1280, 720}, {640, 360}};
    static const int rot[2][2] = {{1080, 1920}, {360, 640}};
    EbFanoutConfig cfg = config(1920, 1080, 0, 3, sizes);
    char buf[1024];

    cfg.src_format = AV_PIX_FMT_QSV;
    assert_int_equal(eb_qsv_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[in]split=2[s0][s1];"
                             "[s0]vpp_qsv=w=1280:h=720:format=nv12[out1];"
                             "[s1]vpp_qsv=w=640:h=360:format=nv12[out2]");
    cfg = config(1920, 1080, 90, 2, rot);
    cfg.src_format = AV_PIX_FMT_QSV;
    assert_int_equal(eb_qsv_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[in]vpp_qsv=transpose=clock,split=2[s0][s1];"
                             "[s0]vpp_qsv=w=1080:h=1920:format=nv12[out0];"
                             "[s1]vpp_qsv=w=360:h=640:format=nv12[out1]");
    cfg.rotation = 270;
    assert_int_equal(eb_qsv_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "[in]vpp_qsv=transpose=cclock,split=2"));
    cfg.rotation = 180;
    assert_int_equal(eb_qsv_fanout_desc(&cfg, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "[in]vpp_qsv=transpose=reversal,split=2"));
#else
    skip();
#endif
}

static void test_missing_filter(void **state)
{
    char name[64];

    (void)state;
    assert_int_equal(
        eb_fanout_graph_missing_filter("[in]hflip,vflip,split=2[s0][s1];[s0]scale=w=2:h=2[out0];"
                                       "[s1]scale=w=4:h=4:flags=bicubic[out1]",
                                       name, sizeof(name)),
        0);
    assert_string_equal(name, "");
    assert_int_equal(eb_fanout_graph_missing_filter(
                         "[in]split=2[s0][s1];[s0]scale=w=2:h=2[out0];[s1]nosuchfilter=w=4[out1]",
                         name, sizeof(name)),
                     1);
    assert_string_equal(name, "nosuchfilter");
    assert_int_equal(eb_fanout_graph_missing_filter("[in]hflip,nosuch2[out0]", name, sizeof(name)),
                     1);
    assert_string_equal(name, "nosuch2");
}

/* ---- the graph on software frames ---- */

static void test_outputs(void **state)
{
    static const int sizes[3][2] = {{320, 180}, {160, 90}, {96, 54}};
    EbFanoutConfig cfg = config(320, 180, 0, 3, sizes);
    EbFanoutGraph *g = open_sw(&cfg, &sw_filters);
    AVFrame *src = make_src(320, 180, 9009), *dst[3];

    (void)state;
    assert_int_equal(eb_fanout_graph_run(g, src, dst), 0);
    for (int i = 0; i < 3; i++) {
        AVBufferRef *fr = (AVBufferRef *)1;
        assert_non_null(dst[i]);
        assert_int_equal(dst[i]->width, sizes[i][0]);
        assert_int_equal(dst[i]->height, sizes[i][1]);
        assert_int_equal(dst[i]->format, AV_PIX_FMT_YUV420P);
        assert_int_equal(dst[i]->pts, 9009);
        assert_int_equal(dst[i]->pkt_dts, 9009);
        assert_int_equal(dst[i]->pkt_duration, 3003);
        assert_int_equal(dst[i]->time_base.num, 1);
        assert_int_equal(dst[i]->time_base.den, 90000);
        assert_int_equal(dst[i]->color_primaries, AVCOL_PRI_BT709);
        assert_int_equal(dst[i]->color_trc, AVCOL_TRC_BT709);
        assert_int_equal(dst[i]->colorspace, AVCOL_SPC_BT709);
        assert_int_equal(dst[i]->color_range, AVCOL_RANGE_MPEG);
        assert_int_equal(dst[i]->chroma_location, AVCHROMA_LOC_LEFT);
        assert_int_equal(dst[i]->sample_aspect_ratio.num, 1);
        assert_int_equal(dst[i]->sample_aspect_ratio.den, 1);
        /* Black in, black out. */
        assert_int_equal(dst[i]->data[0][dst[i]->linesize[0] * (sizes[i][1] / 2) + sizes[i][0] / 2],
                         16);
        /* Software frames: no frames context to hand the encoders. */
        assert_int_equal(eb_fanout_graph_frames(g, i, &fr), 0);
        assert_null(fr);
    }
    /* The source-size output is the source itself, not a copy. */
    assert_ptr_equal(dst[0]->data[0], src->data[0]);
    assert_ptr_equal(dst[0]->buf[0]->data, src->buf[0]->data);
    assert_ptr_not_equal(dst[1]->data[0], src->data[0]);
    /* src was only read: still the caller's, still intact. */
    assert_int_equal(src->pts, 9009);
    assert_int_equal(src->width, 320);
    for (int i = 0; i < 3; i++)
        av_frame_free(&dst[i]);
    av_frame_free(&src);
    eb_fanout_graph_free(&g);
    assert_null(g);
}

/* Where the marked source pixel (x, y) of a w x h picture lands after a
 * clockwise rotation. */
static void rotated(int rot, int w, int h, int x, int y, int *rx, int *ry)
{
    switch (rot) {
    case 90:
        *rx = h - 1 - y;
        *ry = x;
        break;
    case 180:
        *rx = w - 1 - x;
        *ry = h - 1 - y;
        break;
    case 270:
        *rx = y;
        *ry = w - 1 - x;
        break;
    default:
        *rx = x;
        *ry = y;
    }
}

static void test_rotation(void **state)
{
    static const int rots[] = {90, 180, 270};
    const int w = 64, h = 48, mx = 10, my = 5;

    (void)state;
    for (size_t r = 0; r < sizeof(rots) / sizeof(rots[0]); r++) {
        int rw = rots[r] == 180 ? w : h, rh = rots[r] == 180 ? h : w;
        const int sizes[2][2] = {{rw, rh}, {rw / 2, rh / 2}};
        EbFanoutConfig cfg = config(w, h, rots[r], 2, sizes);
        EbFanoutGraph *g = open_sw(&cfg, &sw_filters);
        AVFrame *src = make_src(w, h, 0), *dst[2];
        int rx, ry, marked = 0;

        src->data[0][my * src->linesize[0] + mx] = 235;
        assert_int_equal(eb_fanout_graph_run(g, src, dst), 0);
        assert_int_equal(dst[0]->width, rw);
        assert_int_equal(dst[0]->height, rh);
        assert_int_equal(dst[1]->width, rw / 2);
        assert_int_equal(dst[1]->height, rh / 2);
        /* Rotated at full size: the mark moved exactly, and only it. */
        rotated(rots[r], w, h, mx, my, &rx, &ry);
        assert_int_equal(dst[0]->data[0][ry * dst[0]->linesize[0] + rx], 235);
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++)
                marked += dst[0]->data[0][y * dst[0]->linesize[0] + x] != 16;
        assert_int_equal(marked, 1);
        /* Half size: the brightest luma is near the mark's half position. */
        {
            int best = 0, bx = -1, by = -1;
            for (int y = 0; y < rh / 2; y++)
                for (int x = 0; x < rw / 2; x++) {
                    int v = dst[1]->data[0][y * dst[1]->linesize[0] + x];
                    if (v > best) {
                        best = v;
                        bx = x;
                        by = y;
                    }
                }
            assert_true(best > 16);
            assert_true(bx >= rx / 2 - 1 && bx <= rx / 2 + 1);
            assert_true(by >= ry / 2 - 1 && by <= ry / 2 + 1);
        }
        av_frame_free(&dst[0]);
        av_frame_free(&dst[1]);
        av_frame_free(&src);
        eb_fanout_graph_free(&g);
    }
}

/* 100 frames through (a reference output and two scaled ones): every output
 * every time, in order; ASan/LSan builds check that nothing leaks. */
static void test_many_frames(void **state)
{
    static const int sizes[3][2] = {{192, 108}, {128, 72}, {64, 36}};
    EbFanoutConfig cfg = config(192, 108, 0, 3, sizes);
    EbFanoutGraph *g = open_sw(&cfg, &sw_filters);

    (void)state;
    for (int n = 0; n < 100; n++) {
        AVFrame *src = make_src(192, 108, n * 3003), *dst[3];
        assert_int_equal(eb_fanout_graph_run(g, src, dst), 0);
        /* The caller drops its source first: the outputs keep what they use. */
        av_frame_free(&src);
        for (int i = 0; i < 3; i++) {
            assert_non_null(dst[i]);
            assert_int_equal(dst[i]->pts, (int64_t)n * 3003);
            assert_int_equal(dst[i]->width, sizes[i][0]);
            assert_int_equal(dst[i]->data[0][0], 16);
            av_frame_free(&dst[i]);
        }
    }
    eb_fanout_graph_free(&g);
}

static int bad_name(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scalez=w=%d:h=%d", width, height);
}

static int bad_option(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale=w=%d:h=%d:nosuchoption=1", width, height);
}

static int bad_syntax(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale=w=%d:h=%d[", width, height);
}

static int wrong_size(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale=w=%d:h=%d", height, width);
}

/* A scaler that swallows the first frame: its sink yields none. */
static int drops_first(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "trim=start_frame=1,scale=w=%d:h=%d", width, height);
}

static void test_bad_filters(void **state)
{
    static const int sizes[2][2] = {{160, 90}, {80, 46}};
    int (*const bad[])(char *, size_t, int, int) = {bad_option, bad_syntax, wrong_size};
    EbFanoutConfig cfg = config(320, 180, 0, 2, sizes);
    EbFanoutFilters flt = sw_filters;
    EbFanoutGraphParams p = {.cfg = &cfg, .filters = &flt};
    EbFanoutGraph *g = (EbFanoutGraph *)1;

    (void)state;
    /* A filter libavfilter lacks: ENOSYS, nothing built. */
    flt.scale = bad_name;
    assert_int_equal(eb_fanout_graph_open(&p, &g), EB_ERR(ENOSYS));
    assert_null(g);
    /* Bad option, bad syntax, a scaler giving the wrong size: an error. */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g = (EbFanoutGraph *)1;
        flt.scale = bad[i];
        assert_true(eb_fanout_graph_open(&p, &g) < 0);
        assert_null(g);
    }
    /* Device frames without a frames context. */
    flt = sw_filters;
    cfg.src_format = AV_PIX_FMT_VAAPI;
    g = (EbFanoutGraph *)1;
    assert_int_equal(eb_fanout_graph_open(&p, &g), EB_ERR(EINVAL));
    assert_null(g);
    cfg.src_format = AV_PIX_FMT_YUV420P;
    /* Rotation the table cannot do. */
    flt.rotate90 = NULL;
    cfg.rotation = 90;
    assert_int_equal(eb_fanout_graph_open(&p, &g), EB_ERR(EINVAL));
    assert_null(g);
}

static void test_run_errors(void **state)
{
    static const int sizes[2][2] = {{160, 90}, {80, 46}};
    EbFanoutConfig cfg = config(160, 90, 0, 2, sizes);
    EbFanoutFilters flt = sw_filters;
    EbFanoutGraph *g = open_sw(&cfg, &sw_filters);
    AVFrame *src = make_src(160, 90, 0), *other = make_src(320, 180, 0);
    AVFrame *dst[2] = {(AVFrame *)1, (AVFrame *)1};

    (void)state;
    /* A frame of another size: refused, nothing out, the graph still works. */
    assert_int_equal(eb_fanout_graph_run(g, other, dst), EB_ERR(EINVAL));
    assert_null(dst[0]);
    assert_null(dst[1]);
    assert_int_equal(eb_fanout_graph_run(g, src, dst), 0);
    av_frame_free(&dst[0]);
    av_frame_free(&dst[1]);
    eb_fanout_graph_free(&g);

    /* A sink with no frame: an error, nothing out, and the graph refuses
     * further frames. */
    flt.scale = drops_first;
    g = open_sw(&cfg, &flt);
    assert_true(eb_fanout_graph_run(g, src, dst) < 0);
    assert_null(dst[0]);
    assert_null(dst[1]);
    assert_true(eb_fanout_graph_run(g, src, dst) < 0);
    assert_null(dst[0]);
    eb_fanout_graph_free(&g);
    av_frame_free(&src);
    av_frame_free(&other);
}

/* ---- the device path, on a device every CI box has ----
 *
 * No VA-API or QSV device here, but Mesa's lavapipe is a Vulkan device in
 * software, and libavfilter has scale_vulkan / transpose_vulkan: the same
 * plumbing as the VA-API and QSV fan-outs (device frames through
 * hw_frames_ctx, the source declared with the device's frames context of
 * its size, hw_device_ctx and extra_hw_frames on the filters, each rung's
 * pool installed as the device's frames context of that size) runs for
 * real. Skipped where no Vulkan device can be created. */

static int vk_scale(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale_vulkan=w=%d:h=%d:format=nv12", width, height);
}

static const EbFanoutFilters vk_filters = {
    .name = "test-vulkan",
    .scale = vk_scale,
    .rotate90 = "transpose_vulkan=dir=clock",
    .rotate180 = "flip_vulkan",
    .rotate270 = "transpose_vulkan=dir=cclock",
    .passthrough = 1,
    .extra_hw_frames = 4,
};

typedef struct VkDev {
    EbHalDevice dev;
    EbHalHwPriv priv;
} VkDev;

static int vk_open(VkDev *d)
{
    memset(d, 0, sizeof(*d));
    d->dev.priv = &d->priv;
#ifdef __SANITIZE_ADDRESS__
    /* Creating a Vulkan device leaks 128 bytes inside the Vulkan driver, in
     * a module unloaded by exit, which LeakSanitizer can neither name nor be
     * told to ignore: under ASan these run only on request. */
    {
        const char *e = getenv("EB_TEST_VULKAN");
        if (!e || strcmp(e, "1") != 0)
            return -1;
    }
#endif
    if (!avfilter_get_by_name("scale_vulkan") || !avfilter_get_by_name("transpose_vulkan"))
        return -1;
    if (eb_hal_hw_open(&d->dev, AV_HWDEVICE_TYPE_VULKAN, NULL, AV_PIX_FMT_VULKAN, 0) < 0)
        return -1;
    return 0;
}

static void vk_close(VkDev *d)
{
    eb_hal_hw_close(&d->dev);
    av_buffer_unref(&d->dev.hw_device_ctx);
}

/* sw (nv12) -> a device frame of the device's pool of that size. */
static AVFrame *vk_upload(VkDev *d, const AVFrame *sw)
{
    AVBufferRef *frames = NULL;
    AVFrame *hw = av_frame_alloc();
    assert_non_null(hw);
    assert_int_equal(eb_hal_hw_frames(&d->dev, sw->width, sw->height, &frames), 0);
    assert_int_equal(av_hwframe_get_buffer(frames, hw, 0), 0);
    av_buffer_unref(&frames);
    assert_int_equal(av_hwframe_transfer_data(hw, sw, 0), 0);
    assert_int_equal(av_frame_copy_props(hw, sw), 0);
    return hw;
}

static AVFrame *vk_download(const AVFrame *hw)
{
    AVFrame *sw = av_frame_alloc();
    assert_non_null(sw);
    sw->format = AV_PIX_FMT_NV12;
    assert_int_equal(av_hwframe_transfer_data(sw, hw, 0), 0);
    return sw;
}

static AVFrame *make_nv12(int w, int h, int64_t pts, int mx, int my)
{
    AVFrame *f = eb_test_frame(w, h, AV_PIX_FMT_NV12);
    for (int y = 0; y < h; y++)
        memset(f->data[0] + y * f->linesize[0], 16, (size_t)w);
    for (int y = 0; y < h / 2; y++)
        memset(f->data[1] + y * f->linesize[1], 128, (size_t)w);
    if (mx >= 0)
        f->data[0][my * f->linesize[0] + mx] = 235;
    f->pts = pts;
    f->pkt_duration = 3003;
    f->color_primaries = AVCOL_PRI_BT709;
    f->colorspace = AVCOL_SPC_BT709;
    f->color_range = AVCOL_RANGE_MPEG;
    return f;
}

static void brightest(const AVFrame *f, int *bx, int *by)
{
    int best = -1;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++)
            if (f->data[0][y * f->linesize[0] + x] > best) {
                best = f->data[0][y * f->linesize[0] + x];
                *bx = x;
                *by = y;
            }
}

static void test_device_frames(void **state)
{
    static const int sizes[3][2] = {{128, 72}, {64, 36}, {32, 18}};
    EbFanoutConfig cfg = config(128, 72, 0, 3, sizes);
    EbFanoutGraph *g = NULL;
    VkDev d;

    (void)state;
    if (vk_open(&d) < 0) {
        skip();
        return;
    }
    cfg.src_format = AV_PIX_FMT_VULKAN;
    assert_int_equal(eb_fanout_graph_hw_open(&d.dev, &cfg, &vk_filters, &g), 0);
    for (int i = 0; i < 3; i++) {
        AVBufferRef *fr = NULL, *pool = NULL;
        assert_int_equal(eb_fanout_graph_frames(g, i, &fr), 0);
        assert_int_equal(eb_hal_hw_frames(&d.dev, sizes[i][0], sizes[i][1], &pool), 0);
        if (i == 0) {
            /* The source itself: no pool of its own. */
            assert_null(fr);
        } else {
            /* The rung's encoder, opened on the device's frames context
             * of its size, gets exactly the scaler's pool. */
            assert_non_null(fr);
            assert_ptr_equal(fr->data, pool->data);
        }
        av_buffer_unref(&fr);
        av_buffer_unref(&pool);
    }
    for (int n = 0; n < 20; n++) {
        AVFrame *sw = make_nv12(128, 72, n * 3003, 64, 36), *src = vk_upload(&d, sw), *dst[3];
        AVFrame *out;
        assert_int_equal(eb_fanout_graph_run(g, src, dst), 0);
        assert_ptr_equal(dst[0]->data[3], src->data[3]);
        av_frame_free(&src);
        /* FFmpeg 5.1's Vulkan upload may still read sw after returning
         * (host memory import, no wait); a download waits for the queue. */
        out = vk_download(dst[2]);
        av_frame_free(&out);
        av_frame_free(&sw);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(dst[i]->format, AV_PIX_FMT_VULKAN);
            assert_non_null(dst[i]->hw_frames_ctx);
            assert_int_equal(dst[i]->width, sizes[i][0]);
            assert_int_equal(dst[i]->height, sizes[i][1]);
            assert_int_equal(dst[i]->pts, (int64_t)n * 3003);
            assert_int_equal(dst[i]->pkt_duration, 3003);
            assert_int_equal(dst[i]->colorspace, AVCOL_SPC_BT709);
        }
        if (n == 0) {
            /* Pixels: the mark is where it should be in the smaller rung. */
            AVFrame *out = vk_download(dst[1]);
            int bx = -1, by = -1;
            brightest(out, &bx, &by);
            assert_true(bx >= 31 && bx <= 33);
            assert_true(by >= 17 && by <= 19);
            av_frame_free(&out);
        }
        for (int i = 0; i < 3; i++)
            av_frame_free(&dst[i]);
    }
    eb_fanout_graph_free(&g);
    vk_close(&d);
}

static void test_device_rotation(void **state)
{
    static const int sizes[2][2] = {{48, 64}, {24, 32}};
    EbFanoutConfig cfg = config(64, 48, 90, 2, sizes);
    EbFanoutGraph *g = NULL;
    AVFrame *sw, *src, *dst[2], *out;
    int bx = -1, by = -1;
    VkDev d;

    (void)state;
    if (vk_open(&d) < 0) {
        skip();
        return;
    }
    cfg.src_format = AV_PIX_FMT_VULKAN;
    assert_int_equal(eb_fanout_graph_hw_open(&d.dev, &cfg, &vk_filters, &g), 0);
    sw = make_nv12(64, 48, 0, 10, 6);
    src = vk_upload(&d, sw);
    assert_int_equal(eb_fanout_graph_run(g, src, dst), 0);
    assert_int_equal(dst[0]->width, 48);
    assert_int_equal(dst[0]->height, 64);
    out = vk_download(dst[0]);
    brightest(out, &bx, &by);
    /* (10, 6) in 64x48 turned clockwise: (48 - 1 - 6, 10). */
    assert_int_equal(bx, 41);
    assert_int_equal(by, 10);
    av_frame_free(&out);
    av_frame_free(&dst[0]);
    av_frame_free(&dst[1]);
    av_frame_free(&src);
    av_frame_free(&sw);
    eb_fanout_graph_free(&g);
    vk_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desc_sw),        cmocka_unit_test(test_desc_errors),
        cmocka_unit_test(test_desc_vaapi),     cmocka_unit_test(test_desc_qsv),
        cmocka_unit_test(test_missing_filter), cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_rotation),       cmocka_unit_test(test_many_frames),
        cmocka_unit_test(test_bad_filters),    cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_device_frames),  cmocka_unit_test(test_device_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
