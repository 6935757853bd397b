/*
 * The VOD pipeline's hardware path without a GPU:
 *   - the pure decisions: session request and limits, where a stream is
 *     decoded (device or software + upload), the re-run after a mid-job
 *     hardware failure;
 *   - host<->device copies and EbSource's "decode in software, upload once"
 *     path on real libavutil hardware frames: a Vulkan device on Mesa's
 *     lavapipe (a CPU Vulkan driver) where the machine has one, skipped
 *     otherwise. Vulkan is only the test's device: no backend of encbox
 *     uses it;
 *   - on this machine (no NVIDIA driver) --backend nvidia fails with the
 *     backend's reason under --fallback none, leaving nothing behind, and
 *     runs on software under --fallback auto, saying so; software jobs copy
 *     nothing to or from a device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "eb_error.h"
#include "eb_hal.h"
#include "eb_hal_hw.h"
#include "eb_log.h"
#include "eb_source.h"
#include "eb_test_frames.h"
#include "eb_test_media.h"
#include "eb_vod.h"

static char tmp[4096];
static char src_h264[4200], src_10bit[4200];
static int have_10bit;

/* One Vulkan device held until the process exits keeps the Vulkan driver
 * loaded: lavapipe leaves a few small blocks per instance behind when the
 * loader unloads it, which LeakSanitizer then reports from an unknown
 * module. Held, they stay reachable from the driver and nothing is
 * reported; encbox's own frames are still checked. */
static AVBufferRef *vk_keep;

static int group_setup(void **state)
{
    (void)state;
    if (av_hwdevice_ctx_create(&vk_keep, AV_HWDEVICE_TYPE_VULKAN, NULL, NULL, 0) < 0)
        vk_keep = NULL;
    eb_log_set_level(EB_LOG_WARN);
    eb_log_capture_libav();
    eb_test_tmpdir("hw_path", tmp, sizeof(tmp));
    snprintf(src_h264, sizeof(src_h264), "%s/src.mp4", tmp);
    snprintf(src_10bit, sizeof(src_10bit), "%s/src10.mp4", tmp);
    if (eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi "
                       "-i sine=frequency=440:sample_rate=48000 -ac 2 -t 2 -c:v libx264 "
                       "-preset ultrafast -pix_fmt yuv420p -c:a aac -shortest %s",
                       src_h264))
        return -1;
    /* libx264 builds without 10-bit support exist: then that case is skipped. */
    have_10bit = eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx264 "
                                "-preset ultrafast -pix_fmt yuv420p10le %s",
                                src_10bit) == 0;
    return 0;
}

/* ---- session request and limits ---- */

static void test_session_request(void **state)
{
    EbRungPlan plans[2];
    EbSourceInfo info;
    EbVodSessionRequest req;
    (void)state;

    memset(plans, 0, sizeof(plans));
    memset(&info, 0, sizeof(info));
    plans[0].width = 640;
    plans[0].height = 360;
    info.geometry.width = 1280;
    info.geometry.height = 720;
    info.device_decode = 1;

    /* Software acquires nothing. */
    assert_int_equal(eb_vod_session_request(plans, 1, &info, "software", "cpu", &req), 0);
    assert_int_equal(req.encode, 0);
    assert_int_equal(req.decode, 0);
    assert_true(req.memory == 0);
    assert_int_equal(eb_vod_session_request(plans, 0, &info, "nvidia", "cuda:0", &req),
                     EB_ERR(EINVAL));

    /* NVENC: one system-wide key; 1 encode per rung + 1 decode. Memory:
     * rung 13 x 640x384x1.5, source (25 + 3) x 1280x736x1.5 + 16 MB decoder,
     * + 32 MB per encoder. */
    assert_int_equal(eb_vod_session_request(plans, 1, &info, "nvidia", "cuda:1", &req), 1);
    assert_string_equal(req.device, "nvidia");
    assert_int_equal(req.encode, 1);
    assert_int_equal(req.decode, 1);
    assert_true(req.memory == 13LL * 368640 + 28LL * 1413120 + (16LL << 20) + (32LL << 20));

    /* Decoded in software and uploaded: no decode session, an upload pool. */
    info.device_decode = 0;
    assert_int_equal(eb_vod_session_request(plans, 1, &info, "nvidia", "cuda:0", &req), 1);
    assert_int_equal(req.decode, 0);
    assert_true(req.memory == 13LL * 368640 + 4LL * 1413120 + (32LL << 20));

    /* VA-API and QSV: per render node. */
    plans[1] = plans[0];
    assert_int_equal(eb_vod_session_request(plans, 2, &info, "vaapi", "/dev/dri/renderD129", &req),
                     1);
    assert_string_equal(req.device, "renderD129");
    assert_int_equal(req.encode, 2);
    assert_int_equal(eb_vod_session_request(plans, 2, &info, "qsv", "qsv:hw", &req), 1);
    assert_string_equal(req.device, "renderD128");
    assert_int_equal(eb_vod_session_request(plans, 2, &info, "qsv", "qsv:/dev/dri/renderD130",
                                            &req),
                     1);
    assert_string_equal(req.device, "renderD130");
}

static void test_session_limits(void **state)
{
    EbSessionLimits lim;
    const EbVodDeviceLimit limits[] = {
        {.backend = "vaapi", .device = "*", .max_sessions = 3},
        {.backend = "nvidia", .device = "*", .max_sessions = 12, .memory_budget = 1LL << 30},
        {.backend = "nvidia", .device = "cuda:1", .max_sessions = 2},
    };
    (void)state;

    /* No entries: the backends' defaults, memory not accounted. */
    eb_vod_session_limits(NULL, 0, "nvidia", "cuda:0", &lim);
    assert_int_equal(lim.max_encode, EB_VOD_NVENC_DEFAULT_SESSIONS);
    assert_int_equal(lim.max_decode, EB_VOD_DEFAULT_DECODE_SESSIONS);
    assert_true(lim.memory_bytes == 0);
    eb_vod_session_limits(NULL, 0, "qsv", "qsv:hw", &lim);
    assert_int_equal(lim.max_encode, EB_VOD_VA_DEFAULT_SESSIONS);

    /* "*" applies to every device of its backend; an exact device entry wins. */
    eb_vod_session_limits(limits, 3, "nvidia", "cuda:0", &lim);
    assert_int_equal(lim.max_encode, 12);
    assert_true(lim.memory_bytes == 1LL << 30);
    eb_vod_session_limits(limits, 3, "nvidia", "cuda:1", &lim);
    assert_int_equal(lim.max_encode, 2);
    assert_true(lim.memory_bytes == 0);
    eb_vod_session_limits(limits, 3, "vaapi", "/dev/dri/renderD128", &lim);
    assert_int_equal(lim.max_encode, 3);
    eb_vod_session_limits(limits, 3, "qsv", "qsv:hw", &lim); /* no qsv entry */
    assert_int_equal(lim.max_encode, EB_VOD_VA_DEFAULT_SESSIONS);
}

/* ---- where the video is decoded ---- */

static void test_decode_decision(void **state)
{
    EbHalDeviceInfo caps;
    char why[256];
    (void)state;

    memset(&caps, 0, sizeof(caps));
    snprintf(caps.backend, sizeof(caps.backend), "nvidia");
    snprintf(caps.device, sizeof(caps.device), "cuda:0");
    caps.nb_codecs = 2;
    caps.codecs[0] = (EbHalCodecCaps){.codec = AV_CODEC_ID_H264, .decode = 1, .encode = 1,
                                      .max_width = 4096, .max_height = 4096};
    caps.codecs[1] = (EbHalCodecCaps){.codec = AV_CODEC_ID_VP9, .decode = 1, .encode = 0,
                                      .max_width = 4096, .max_height = 2304};

    /* 8-bit 4:2:0 H.264 decodes on the device, with or without capability data. */
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264, FF_PROFILE_H264_HIGH,
                                               AV_PIX_FMT_YUV420P, 1920, 1080, why, sizeof(why)),
                     1);
    assert_string_equal(why, "");
    assert_int_equal(eb_hal_hw_decode_decision(NULL, AV_CODEC_ID_H264,
                                               FF_PROFILE_H264_CONSTRAINED_BASELINE,
                                               AV_PIX_FMT_NONE, 1920, 1080, why, sizeof(why)),
                     1);
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264, FF_PROFILE_UNKNOWN,
                                               AV_PIX_FMT_YUVJ420P, 640, 360, why, sizeof(why)),
                     1);
    /* H.264 encode limits are not decode limits: an 8K source still decodes. */
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264, FF_PROFILE_H264_HIGH,
                                               AV_PIX_FMT_YUV420P, 8192, 4320, why, sizeof(why)),
                     1);

    /* 4:2:2 and 10-bit: by pix_fmt, or by profile when the format is unknown. */
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264, FF_PROFILE_H264_HIGH_422,
                                               AV_PIX_FMT_YUV422P, 1920, 1080, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "yuv422p"));
    assert_non_null(strstr(why, "8-bit 4:2:0"));
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264, FF_PROFILE_H264_HIGH_422,
                                               AV_PIX_FMT_NONE, 1920, 1080, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "High 4:2:2"));
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264,
                                               FF_PROFILE_H264_HIGH_10_INTRA, AV_PIX_FMT_NONE,
                                               1920, 1080, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "High 10"));
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_H264, FF_PROFILE_H264_HIGH_10,
                                               AV_PIX_FMT_YUV420P10LE, 1920, 1080, why,
                                               sizeof(why)),
                     0);
    assert_int_equal(eb_hal_hw_decode_decision(NULL, AV_CODEC_ID_HEVC, FF_PROFILE_HEVC_MAIN_10,
                                               AV_PIX_FMT_NONE, 3840, 2160, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "Main 10"));

    /* A codec the device does not decode; a picture over a decode-only limit. */
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_AV1, FF_PROFILE_AV1_MAIN,
                                               AV_PIX_FMT_YUV420P, 1920, 1080, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "does not decode av1"));
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_VP9, FF_PROFILE_VP9_0,
                                               AV_PIX_FMT_YUV420P, 7680, 4320, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "7680x4320"));
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_VP9, FF_PROFILE_VP9_0,
                                               AV_PIX_FMT_YUV420P, 3840, 2160, why, sizeof(why)),
                     1);
    caps.codecs[1].decode = 0;
    assert_int_equal(eb_hal_hw_decode_decision(&caps, AV_CODEC_ID_VP9, FF_PROFILE_VP9_0,
                                               AV_PIX_FMT_YUV420P, 1280, 720, why, sizeof(why)),
                     0);
}

/* ---- re-run after a hardware failure ---- */

static const char *const names[] = {"nvidia", "vaapi", "qsv", "software"};

static void probes_init(EbHalProbe *p, int nvidia_usable)
{
    memset(p, 0, sizeof(EbHalProbe) * 4);
    p[0].usable = nvidia_usable;
    snprintf(p[1].reason, sizeof(p[1].reason), "no render node");
    snprintf(p[2].reason, sizeof(p[2].reason), "no Intel device");
    p[3].usable = 1;
}

static void test_fallback_decision(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    const char *what = "h264_nvenc encoder for rung 720p (1280x720) did not open: No such device";
    (void)state;

    probes_init(p, 1);
    /* nvidia failed in a device stage: auto re-runs on software, saying why. */
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR(ENODEV), 1,
                                              what, 1, &c),
                     1);
    assert_int_equal(c.index, 3);
    assert_string_equal(c.name, "software");
    assert_true(c.fell_back);
    assert_non_null(strstr(c.note, "nvidia unusable (failed after the job started: h264_nvenc"));
    assert_non_null(strstr(c.note, "fell back to software"));
    assert_true(p[0].usable); /* probes only read */

    /* --backend auto that chose nvidia: the next usable one. */
    assert_int_equal(eb_vod_fallback_decision("auto", "none", names, p, 4, 0, AVERROR_EXTERNAL, 1,
                                              what, 1, &c),
                     1);
    assert_string_equal(c.name, "software");
    /* A named fallback. */
    assert_int_equal(eb_vod_fallback_decision("nvidia", "software", names, p, 4, 0,
                                              EB_ERR(ETIMEDOUT), 1, "waited 120 s", 1, &c),
                     1);
    assert_string_equal(c.name, "software");

    /* No re-run: policy none, an unusable named fallback, a second failure. */
    assert_int_equal(eb_vod_fallback_decision("nvidia", "none", names, p, 4, 0, EB_ERR(ENODEV), 1,
                                              what, 1, &c),
                     0);
    assert_int_equal(c.index, -1);
    assert_non_null(strstr(c.note, "fallback none"));
    assert_non_null(strstr(c.note, "h264_nvenc"));
    assert_int_equal(eb_vod_fallback_decision("nvidia", "vaapi", names, p, 4, 0, EB_ERR(ENODEV), 1,
                                              what, 1, &c),
                     0);
    assert_non_null(strstr(c.note, "vaapi unusable (no render node)"));
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR(ENODEV), 1,
                                              what, 2, &c),
                     0);

    /* Not a device failure, or one software would repeat: no re-run. */
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR(EIO), 0,
                                              "segment write failed", 1, &c),
                     0);
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR_CANCELED, 1,
                                              what, 1, &c),
                     0);
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR_TRUNCATED,
                                              1, what, 1, &c),
                     0);
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0,
                                              EB_ERR_HDR_UNSUPPORTED, 1, what, 1, &c),
                     0);
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR(ENOSPC), 1,
                                              what, 1, &c),
                     0);
    /* Software's own failures are final. */
    assert_int_equal(eb_vod_fallback_decision("software", "auto", names, p, 4, 3, EB_ERR(EIO), 1,
                                              what, 1, &c),
                     0);
    /* Only the failing backend is usable: nothing to re-run on. */
    p[3].usable = 0;
    snprintf(p[3].reason, sizeof(p[3].reason), "disabled");
    assert_int_equal(eb_vod_fallback_decision("nvidia", "auto", names, p, 4, 0, EB_ERR(ENODEV), 1,
                                              what, 1, &c),
                     0);
    assert_non_null(strstr(c.note, "no other backend is usable"));
}

/* ---- device frames on a CPU Vulkan device (lavapipe) ---- */

static int vk_open(EbHalDevice *dev, const char *spec)
{
    (void)spec;
    snprintf(dev->name, sizeof(dev->name), "vulkan:test");
    return eb_hal_hw_open(dev, AV_HWDEVICE_TYPE_VULKAN, NULL, AV_PIX_FMT_VULKAN, 0);
}

static void vk_close(EbHalDevice *dev) { eb_hal_hw_close(dev); }

/* A test backend: no hwaccel decoder (NULL decoder_open means ENOSYS), so
 * EbSource decodes in software and uploads. */
static const EbHalBackend vk_backend = {
    .name = "vulkan-test",
    .priv_size = sizeof(EbHalHwPriv),
    .device_open = vk_open,
    .device_close = vk_close,
};

static int vk_hw_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out)
{
    return eb_hal_hw_decoder_open(dev, st, out);
}

/* Same device, with the shared hwaccel decoder open: libavcodec 59 has no
 * Vulkan hwaccel, so it answers ENOSYS and EbSource decodes in software. */
static const EbHalBackend vk_backend_hwaccel = {
    .name = "vulkan-test",
    .priv_size = sizeof(EbHalHwPriv),
    .device_open = vk_open,
    .device_close = vk_close,
    .decoder_open = vk_hw_decoder_open,
};

static EbHalDevice *vk_device(const EbHalBackend *b)
{
    EbHalDevice *dev = NULL;
    AVBufferRef *frames = NULL;
    if (eb_hal_device_open(b, NULL, &dev) < 0)
        return NULL;
    /* A Vulkan driver without NV12 images cannot stand in for a device. */
    if (eb_hal_hw_frames(dev, 64, 64, &frames) < 0) {
        eb_hal_device_close(&dev);
        return NULL;
    }
    av_buffer_unref(&frames);
    return dev;
}

static void test_upload_download(void **state)
{
    EbHalDevice *dev = vk_device(&vk_backend);
    AVFrame *sw, *hw, *back, *yuv;
    (void)state;

    if (!dev) {
        skip(); /* no Vulkan driver here (lavapipe: mesa-vulkan-drivers) */
        return;
    }
    assert_int_equal(eb_hal_hw_format(dev), AV_PIX_FMT_VULKAN);
    assert_int_equal(eb_hal_hw_format(NULL), AV_PIX_FMT_NONE);
    sw = av_frame_alloc();
    hw = av_frame_alloc();
    back = av_frame_alloc();
    yuv = av_frame_alloc();
    sw->format = AV_PIX_FMT_NV12;
    sw->width = 100; /* not a multiple of the pool's alignment */
    sw->height = 50;
    assert_int_equal(av_frame_get_buffer(sw, 0), 0);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 100; x++)
            sw->data[0][y * sw->linesize[0] + x] = (uint8_t)(x * 2 + y);
    for (int y = 0; y < 25; y++)
        for (int x = 0; x < 100; x++)
            sw->data[1][y * sw->linesize[1] + x] = (uint8_t)(255 - x - y);
    sw->pts = 42;
    sw->color_range = AVCOL_RANGE_MPEG;

    assert_int_equal(eb_hal_hw_upload(dev, sw, hw), 0);
    assert_int_equal(hw->format, AV_PIX_FMT_VULKAN);
    assert_non_null(hw->hw_frames_ctx);
    assert_int_equal(hw->width, 100);
    assert_int_equal(hw->height, 50);
    assert_true(hw->pts == 42);
    assert_int_equal(((AVHWFramesContext *)hw->hw_frames_ctx->data)->sw_format, AV_PIX_FMT_NV12);

    assert_int_equal(eb_hal_hw_download(hw, back), 0);
    assert_int_equal(back->format, AV_PIX_FMT_NV12);
    assert_int_equal(back->width, 100);
    assert_int_equal(back->height, 50);
    assert_true(back->pts == 42);
    for (int y = 0; y < 50; y++)
        assert_memory_equal(back->data[0] + y * back->linesize[0], sw->data[0] + y * sw->linesize[0],
                            100);
    for (int y = 0; y < 25; y++)
        assert_memory_equal(back->data[1] + y * back->linesize[1], sw->data[1] + y * sw->linesize[1],
                            100);

    /* Only NV12 system frames go up; only device frames come down. */
    yuv->format = AV_PIX_FMT_YUV420P;
    yuv->width = 64;
    yuv->height = 64;
    assert_int_equal(av_frame_get_buffer(yuv, 0), 0);
    av_frame_unref(back);
    assert_int_equal(eb_hal_hw_upload(dev, yuv, back), EB_ERR(EINVAL));
    assert_int_equal(eb_hal_hw_upload(dev, hw, back), EB_ERR(EINVAL));
    assert_int_equal(eb_hal_hw_download(sw, back), EB_ERR(EINVAL));

    av_frame_free(&sw);
    av_frame_free(&hw);
    av_frame_free(&back);
    av_frame_free(&yuv);
    eb_hal_device_close(&dev);
}

/* Reads every video frame of path through EbSource on dev; checks each
 * against the software path's frame (downloaded NV12 vs yuv420p: the same
 * samples). Returns the source's stats and info. */
static void source_compare(const char *path, const EbHalBackend *b, int same_samples,
                           EbSourceStats *stats, EbSourceInfo *info_out)
{
    EbHalDevice *dev = vk_device(b);
    EbSourceOptions so = {.want_audio = 1};
    EbSource *hs = NULL, *ss = NULL;
    AVFrame *hf = av_frame_alloc(), *sf = av_frame_alloc(), *dl = av_frame_alloc();
    char detail[256] = "";
    int64_t frames = 0;
    int is_audio, ret;

    assert_non_null(dev);
    assert_int_equal(eb_source_open(path, dev, &so, &hs, detail, sizeof(detail)), 0);
    assert_int_equal(eb_source_open(path, NULL, &so, &ss, detail, sizeof(detail)), 0);
    assert_true(eb_source_info(hs)->device_frames);
    assert_false(eb_source_info(ss)->device_frames);
    for (;;) {
        /* next video frame from each */
        do {
            ret = eb_source_next(hs, hf, &is_audio);
            if (ret == 0 && is_audio)
                av_frame_unref(hf);
        } while (ret == 0 && is_audio);
        if (ret == EB_EOF)
            break;
        assert_int_equal(ret, 0);
        do {
            ret = eb_source_next(ss, sf, &is_audio);
            if (ret == 0 && is_audio)
                av_frame_unref(sf);
        } while (ret == 0 && is_audio);
        assert_int_equal(ret, 0);
        assert_int_equal(hf->format, AV_PIX_FMT_VULKAN);
        assert_non_null(hf->hw_frames_ctx);
        assert_true(hf->pts == sf->pts);
        assert_int_equal(eb_hal_hw_download(hf, dl), 0);
        assert_int_equal(dl->width, sf->width);
        assert_int_equal(dl->height, sf->height);
        /* (10-bit sources: swscale may dither yuv420p and nv12 differently) */
        if (same_samples) {
            assert_int_equal(sf->format, AV_PIX_FMT_YUV420P);
            for (int y = 0; y < sf->height; y++)
                assert_memory_equal(dl->data[0] + y * dl->linesize[0],
                                    sf->data[0] + y * sf->linesize[0], (size_t)sf->width);
            for (int y = 0; y < sf->height / 2; y++)
                for (int x = 0; x < sf->width / 2; x++) {
                    assert_int_equal(dl->data[1][y * dl->linesize[1] + 2 * x],
                                     sf->data[1][y * sf->linesize[1] + x]);
                    assert_int_equal(dl->data[1][y * dl->linesize[1] + 2 * x + 1],
                                     sf->data[2][y * sf->linesize[2] + x]);
                }
        }
        av_frame_unref(dl);
        av_frame_unref(hf);
        av_frame_unref(sf);
        frames++;
    }
    eb_source_get_stats(hs, stats);
    *info_out = *eb_source_info(hs);
    info_out->video_codec = NULL;
    assert_true(stats->frames_out == frames);
    eb_source_get_stats(ss, stats + 1);
    assert_true(stats[1].uploads == 0); /* software path: no device copies */
    av_frame_free(&hf);
    av_frame_free(&sf);
    av_frame_free(&dl);
    eb_source_close(&hs);
    eb_source_close(&ss);
    eb_hal_device_close(&dev);
}

static void test_source_upload_once(void **state)
{
    EbHalDevice *probe = vk_device(&vk_backend);
    EbSourceStats st[2];
    EbSourceInfo info;
    (void)state;

    if (!probe) {
        skip();
        return;
    }
    eb_hal_device_close(&probe);

    /* No hwaccel decoder: software decode, one upload per frame, the very
     * samples the software path hands out. */
    source_compare(src_h264, &vk_backend, 1, st, &info);
    assert_false(info.device_decode);
    assert_non_null(strstr(info.decode_note, "uploaded once"));
    assert_true(st[0].frames_out == 50);
    assert_true(st[0].uploads == st[0].frames_out);

    /* The shared hwaccel open says ENOSYS (no Vulkan hwaccel in libavcodec
     * 59): the same path, with the reason. */
    source_compare(src_h264, &vk_backend_hwaccel, 1, st, &info);
    assert_false(info.device_decode);
    assert_non_null(strstr(info.decode_note, "no vulkan hwaccel for h264"));
    assert_true(st[0].uploads == 50);
}

static void test_source_10bit_uploads_nv12(void **state)
{
    EbHalDevice *probe = vk_device(&vk_backend_hwaccel);
    EbSourceStats st[2];
    EbSourceInfo info;
    (void)state;

    if (!probe || !have_10bit) {
        eb_hal_device_close(&probe);
        skip();
        return;
    }
    eb_hal_device_close(&probe);
    /* Decided before decoding: 10-bit never reaches the device's decoder;
     * software converts to NV12, then one upload per frame. */
    source_compare(src_10bit, &vk_backend_hwaccel, 0, st, &info);
    assert_false(info.device_decode);
    assert_non_null(strstr(info.decode_note, "8-bit 4:2:0"));
    assert_true(st[0].frames_out == 25);
    assert_true(st[0].uploads == 25);
}

/* ---- the pipeline on this machine ---- */

static void test_nvidia_none_fails_cleanly(void **state)
{
    char out[4200];
    EbVodResult res;
    EbVodOptions o;
    (void)state;

    if (!eb_hal_find("nvidia") || eb_test_backend_usable("nvidia")) {
        skip(); /* built without the NVIDIA backend, or it works here */
        return;
    }
    snprintf(out, sizeof(out), "%s/none", tmp);
    eb_vod_options_default(&o);
    o.input = src_h264;
    o.storage_root = out;
    o.video_id = "hw";
    o.backend = "nvidia";
    o.fallback = "none";
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR(ENODEV));
    /* The backend's own reason (no driver here), not a generic one. */
    assert_non_null(strstr(res.error_detail, "nvidia unusable ("));
    assert_non_null(strstr(res.error_detail, "fallback none, job fails"));
    assert_null(strstr(res.error_detail, "not wired"));
    assert_false(res.fell_back);
    assert_int_equal(eb_test_leftovers(out), 0);
}

static void test_nvidia_auto_falls_back(void **state)
{
    char out[4200];
    EbVodResult res;
    EbVodOptions o;
    (void)state;

    if (!eb_hal_find("nvidia") || eb_test_backend_usable("nvidia")) {
        skip();
        return;
    }
    snprintf(out, sizeof(out), "%s/auto", tmp);
    eb_vod_options_default(&o);
    o.input = src_h264;
    o.storage_root = out;
    o.video_id = "hw";
    o.backend = "nvidia";
    o.fallback = "auto";
    assert_int_equal(eb_vod_run(&o, &res), 0);
    assert_string_equal(res.backend, "software");
    assert_true(res.fell_back);
    assert_non_null(strstr(res.backend_note, "nvidia unusable ("));
    assert_non_null(strstr(res.backend_note, "fell back to software"));
    /* Software: nothing crossed to or from a device. */
    assert_true(res.device_uploads == 0);
    assert_true(res.device_downloads == 0);
    assert_string_equal(res.decode_note, "");
    assert_true(res.frames_decoded == 50);
    assert_true(res.thumbnail_tiles > 0);
}

/* ---- a whole job on a device: a Vulkan test backend ----
 *
 * eb_vod with a registry of {vulkan-test, software}: the test backend
 * decodes nothing itself (software decode + one upload per frame), scales
 * with a test fan-out (download, swscale, upload) and opens libx264 as its
 * "encoder". No encoder of libavcodec 59 takes Vulkan frames, so no job can
 * succeed on it; what is tested is everything up to that point and every
 * way a device stage fails: each must end in one re-run on software
 * (published, fell_back, the reason in the note) or, under --fallback none,
 * in the failure with that reason and nothing left behind. */

enum { VK_ENC_FAILS, VK_SW_FRAMES, VK_RUN_FAILS, VK_NO_ROTATION };
static int vk_mode;
static int vk_fanout_runs;

struct EbFanout {
    EbHalDevice *dev;
    EbFanoutConfig cfg;
    struct SwsContext *sws[EB_LADDER_MAX_RUNGS];
};

static int vkt_probe(EbHalProbe *out)
{
    memset(out, 0, sizeof(*out));
    out->usable = vk_keep != NULL;
    out->nb_devices = out->usable;
    snprintf(out->reason, sizeof(out->reason), "%s", out->usable ? "" : "no Vulkan device");
    return 0;
}

static int vkt_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    EbFanout *f;
    if (cfg->src_format != AV_PIX_FMT_VULKAN)
        return EB_ERR(EINVAL);
    if (cfg->rotation != 0 && vk_mode == VK_NO_ROTATION)
        return EB_ERR(EINVAL); /* a fan-out that cannot rotate */
    f = calloc(1, sizeof(*f));
    if (!f)
        return EB_ERR(ENOMEM);
    f->dev = dev;
    f->cfg = *cfg;
    for (int i = 0; i < cfg->nb_outputs; i++)
        f->sws[i] = sws_getContext(cfg->src_width, cfg->src_height, AV_PIX_FMT_NV12,
                                   cfg->outputs[i].width, cfg->outputs[i].height, AV_PIX_FMT_NV12,
                                   SWS_BILINEAR, NULL, NULL, NULL);
    *out = f;
    return 0;
}

static int vkt_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst)
{
    AVFrame *dl = av_frame_alloc(), *sw = NULL;
    int ret;

    vk_fanout_runs++;
    for (int i = 0; i < f->cfg.nb_outputs; i++)
        dst[i] = NULL;
    if (vk_mode == VK_RUN_FAILS) {
        av_frame_free(&dl);
        return AVERROR_EXTERNAL; /* the device failed mid-job */
    }
    ret = eb_hal_hw_download(src, dl);
    for (int i = 0; ret >= 0 && i < f->cfg.nb_outputs; i++) {
        sw = av_frame_alloc();
        sw->format = AV_PIX_FMT_NV12;
        sw->width = f->cfg.outputs[i].width;
        sw->height = f->cfg.outputs[i].height;
        ret = av_frame_get_buffer(sw, 0);
        if (ret >= 0)
            ret = av_frame_copy_props(sw, src);
        if (ret >= 0)
            sws_scale(f->sws[i], (const uint8_t *const *)dl->data, dl->linesize, 0, dl->height,
                      sw->data, sw->linesize);
        if (ret >= 0 && vk_mode == VK_SW_FRAMES) {
            dst[i] = sw; /* a software frame on a device path: the rungs must refuse it */
            sw = NULL;
        } else if (ret >= 0) {
            dst[i] = av_frame_alloc();
            ret = eb_hal_hw_upload(f->dev, sw, dst[i]);
        }
        av_frame_free(&sw);
    }
    av_frame_free(&dl);
    if (ret < 0)
        for (int i = 0; i < f->cfg.nb_outputs; i++)
            av_frame_free(&dst[i]);
    return ret;
}

static void vkt_fanout_close(EbFanout **fp)
{
    if (!*fp)
        return;
    for (int i = 0; i < EB_LADDER_MAX_RUNGS; i++)
        sws_freeContext((*fp)->sws[i]);
    free(*fp);
    *fp = NULL;
}

static int vkt_encoder_open(EbHalDevice *dev, const EbEncodeParams *p, AVCodecContext **out)
{
    if (vk_mode == VK_ENC_FAILS) {
        *out = NULL;
        return EB_ERR(ENODEV);
    }
    return eb_hal_software.encoder_open(dev, p, out);
}

static const EbHalBackend vk_job_backend = {
    .name = "vulkan-test",
    .priv_size = sizeof(EbHalHwPriv),
    .probe = vkt_probe,
    .device_open = vk_open,
    .device_close = vk_close,
    .fanout_open = vkt_fanout_open,
    .fanout_run = vkt_fanout_run,
    .fanout_close = vkt_fanout_close,
    .encoder_open = vkt_encoder_open,
};

static const EbHalBackend *const vk_registry[] = {&vk_job_backend, &eb_hal_software, NULL};

static void vk_job_options(EbVodOptions *o, const char *out, const char *input)
{
    static char sessions[4200];
    eb_vod_options_default(o);
    snprintf(sessions, sizeof(sessions), "%s/sessions", tmp);
    o->input = input;
    o->storage_root = out;
    o->video_id = "vk";
    o->backend = "vulkan-test";
    o->fallback = "auto";
    o->backends = vk_registry;
    o->sessions_dir = sessions;
    o->session_timeout_ms = 1000;
}

/* Runs the job with fallback none (must fail with the reason, nothing left)
 * then auto (must re-run on software once and say why). */
static void vk_job_both(const char *tag, const EbVodOptions *base,
                        const char *reason, int thumbs)
{
    char out[4200];
    EbVodResult res;
    EbVodOptions o = *base;
    int ret;

    snprintf(out, sizeof(out), "%s/%s_none", tmp, tag);
    o.storage_root = out;
    o.fallback = "none";
    o.thumbs.enabled = thumbs;
    ret = eb_vod_run(&o, &res);
    fprintf(stderr, "%s none: %s: %s | %s\n", tag, eb_strerror(ret), res.error_detail,
            res.backend_note);
    assert_true(ret < 0);
    assert_non_null(strstr(res.error_detail, reason));
    assert_false(res.fell_back);
    assert_non_null(strstr(res.backend_note, "fallback none, job fails"));
    assert_int_equal(eb_test_leftovers(out), 0);

    snprintf(out, sizeof(out), "%s/%s_auto", tmp, tag);
    o.storage_root = out;
    o.fallback = "auto";
    ret = eb_vod_run(&o, &res);
    fprintf(stderr, "%s auto: %s | %s\n", tag, eb_strerror(ret), res.backend_note);
    assert_int_equal(ret, 0);
    assert_string_equal(res.backend, "software");
    assert_true(res.fell_back);
    assert_non_null(strstr(res.backend_note, "vulkan-test unusable (failed after the job started: "));
    assert_non_null(strstr(res.backend_note, reason));
    assert_non_null(strstr(res.backend_note, "fell back to software"));
    /* The published run is the software one: no device copies. */
    assert_true(res.device_uploads == 0);
    assert_true(res.device_downloads == 0);
    assert_true(res.frames_decoded == 50);
    /* The software run's tree is published, nothing else is left. */
    assert_int_equal(eb_test_leftovers(out), 1);
    snprintf(out, sizeof(out), "%s/%s_auto/videos/vk/hls/master.m3u8", tmp, tag);
    assert_true(eb_test_exists(out));
}

static void test_job_device_failures_rerun_on_software(void **state)
{
    char rotated[4200];
    EbVodOptions o;
    (void)state;

    if (!vk_keep) {
        skip();
        return;
    }
    vk_job_options(&o, NULL, src_h264);

    /* The encoders do not open. */
    vk_mode = VK_ENC_FAILS;
    vk_job_both("enc", &o, "vulkan-test encoder for rung 240p (320x240) did not open", 1);

    /* The device fails on the first frame, with every thread running. */
    vk_mode = VK_RUN_FAILS;
    vk_fanout_runs = 0;
    vk_job_both("run", &o, "vulkan-test fan-out failed: Generic error in an external library", 1);
    assert_true(vk_fanout_runs >= 2);

    /* A software frame reaches an encoder on the device path: refused. */
    vk_mode = VK_SW_FRAMES;
    vk_job_both("swframe", &o, "was handed a nv12 frame, not a vulkan device frame", 0);

    /* Sessions: a memory budget the job can never fit in (E2BIG)... */
    {
        EbVodDeviceLimit lim = {.backend = "vulkan-test", .device = "*", .memory_budget = 16 << 20};
        EbVodOptions so = o;
        so.device_limits = &lim;
        so.nb_device_limits = 1;
        vk_mode = VK_RUN_FAILS; /* never reached */
        vk_fanout_runs = 0;
        vk_job_both("budget", &so, "the job needs 1 encode and 0 decode sessions", 1);
        assert_int_equal(vk_fanout_runs, 0);
    }
    /* ... and every session held by another job: wait, time out, fall back. */
    {
        EbVodDeviceLimit lim = {.backend = "vulkan-test", .device = "*", .max_sessions = 1};
        EbSessionLimits sl = {.max_encode = 1, .max_decode = EB_VOD_DEFAULT_DECODE_SESSIONS};
        EbSessionRequest req = {.device = "renderD128", .encode = 1};
        EbSessions *sess = NULL;
        EbSessionLease *held = NULL;
        EbVodOptions so = o;
        so.device_limits = &lim;
        so.nb_device_limits = 1;
        assert_int_equal(eb_sessions_open(o.sessions_dir, &sess), 0);
        assert_int_equal(eb_sessions_acquire(sess, &req, &sl, 0, &held), 0);
        vk_mode = VK_RUN_FAILS;
        vk_fanout_runs = 0;
        vk_job_both("busy", &so, "waited 1 s for 1 encode sessions on renderD128", 1);
        assert_int_equal(vk_fanout_runs, 0);
        eb_sessions_release(&held);
        eb_sessions_close(&sess);
    }

    /* A rotated source on a fan-out that cannot rotate. */
    snprintf(rotated, sizeof(rotated), "%s/rotated.mp4", tmp);
    assert_int_equal(eb_test_ffmpeg("-i %s -c copy %s", src_h264, rotated), 0);
    assert_int_equal(eb_test_rotate_mp4(rotated), 0);
    vk_job_options(&o, NULL, rotated);
    vk_mode = VK_NO_ROTATION;
    vk_job_both("rot", &o, "cannot rotate", 1);
}

static int run_cli(const char *args, const char *out, char *text, size_t size)
{
    char cmd[40000], path[8300];
    const char *bin = getenv("EB_BINARY");
    FILE *f;
    size_t n;
    int st;

    assert_non_null(bin);
    snprintf(path, sizeof(path), "%s/cli.txt", tmp);
    snprintf(cmd, sizeof(cmd), "'%s' transcode '%s' -o '%s' --id cli %s > '%s' 2>&1", bin,
             src_h264, out, args, path);
    st = system(cmd);
    f = fopen(path, "r");
    n = f ? fread(text, 1, size - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_reports(void **state)
{
    char out[4200], text[16384];
    (void)state;

    if (!eb_hal_find("nvidia")) {
        skip();
        return;
    }
    snprintf(out, sizeof(out), "%s/cli_none", tmp);
    assert_int_not_equal(run_cli("--backend nvidia --fallback none", out, text, sizeof(text)), 0);
    fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, "nvidia unusable ("));
    assert_int_equal(eb_test_leftovers(out), 0);

    snprintf(out, sizeof(out), "%s/cli_auto", tmp);
    assert_int_equal(run_cli("--backend nvidia --fallback auto", out, text, sizeof(text)), 0);
    fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, "fell back to software"));
    assert_non_null(strstr(text, "device copies: 0 uploads (host to device), 0 downloads"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_request),
        cmocka_unit_test(test_session_limits),
        cmocka_unit_test(test_decode_decision),
        cmocka_unit_test(test_fallback_decision),
        cmocka_unit_test(test_upload_download),
        cmocka_unit_test(test_source_upload_once),
        cmocka_unit_test(test_source_10bit_uploads_nv12),
        cmocka_unit_test(test_nvidia_none_fails_cleanly),
        cmocka_unit_test(test_nvidia_auto_falls_back),
        cmocka_unit_test(test_cli_reports),
        cmocka_unit_test(test_job_device_failures_rerun_on_software),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
