/*
 * The software backend: libavcodec decode (frame threads), encbox's CPU
 * scaling fan-out, and libx264 (libx265 for HEVC rungs) through libavcodec.
 * It is the fallback on every box and what CI runs.
 *
 * libx264 is driven through libavcodec rather than the x264 API: every
 * backend then hands the pipeline the same AVCodecContext/AVPacket, the
 * hardware encoders (h264_nvenc, h264_vaapi, h264_qsv) plug into the same
 * code path, and forced IDRs, rate control and global headers map to options
 * FFmpeg already maintains. The cost is one AVFrame->x264_picture_t wrap per
 * frame, which copies no pixels.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/opt.h>

#include "eb_error.h"
#include "eb_fanout_cpu.h"
#include "eb_hal.h"
#include "eb_log.h"

/* Most x264 slice threads on one rung; more threads use frame threads. */
#define EB_SW_MAX_SLICE_THREADS 4

static int sw_probe(EbHalProbe *out)
{
    memset(out, 0, sizeof(*out));
    if (!avcodec_find_encoder_by_name("libx264")) {
        snprintf(out->reason, sizeof(out->reason), "libavcodec was built without libx264");
        return 0;
    }
    out->usable = 1;
    out->nb_devices = 1;
    return 0;
}

static int sw_device_open(EbHalDevice *dev, const char *spec)
{
    (void)spec;
    snprintf(dev->name, sizeof(dev->name), "cpu");
    return 0;
}

static int sw_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec;
    AVCodecContext *ctx;
    int ret;

    (void)dev;
    *out = NULL;
    codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return EB_ERR_CODEC_UNSUPPORTED;
    ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return EB_ERR(ENOMEM);
    ret = avcodec_parameters_to_context(ctx, st->codecpar);
    if (ret < 0)
        goto error;
    ctx->pkt_timebase = st->time_base;
    /* One decoding thread. Decode is about a tenth of a ladder's CPU (2.9 s
     * for 20 s of 1080p30 H.264 at 9 Mb/s, about 200 fps on one core, four
     * times what the encoders take), and every stage already has a thread of
     * its own, so frame threads only add pictures in flight: measured on the
     * 1080p30 ladder, 2 threads -> 1 kept the same CPU time and took 12 MB
     * off peak RSS (3 -> 2 had saved 23 MB). */
    ctx->thread_count = 1;
    ret = avcodec_open2(ctx, codec, NULL);
    if (ret < 0)
        goto error;
    *out = ctx;
    return 0;
error:
    avcodec_free_context(&ctx);
    return ret;
}

struct EbFanout {
    EbFanoutCpu *cpu;
};

static int sw_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    EbFanout *f;
    int ret;

    (void)dev;
    *out = NULL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return EB_ERR(ENOMEM);
    ret = eb_fanout_cpu_create(cfg, &f->cpu);
    if (ret < 0) {
        free(f);
        return ret;
    }
    *out = f;
    return 0;
}

static int sw_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst)
{
    return eb_fanout_cpu_run(f->cpu, src, dst);
}

static void sw_fanout_close(EbFanout **fp)
{
    if (!*fp)
        return;
    eb_fanout_cpu_free(&(*fp)->cpu);
    free(*fp);
    *fp = NULL;
}

/* libx265's own settings, which its libavcodec wrapper does not map from the
 * context: no scene-cut keyframes, at most `threads` worker threads (its
 * pool would otherwise take every core for each rung), one frame thread as
 * for x264, its log at error (it warns about each small rung's lookahead
 * slices), and the chroma siting in the VUI. */
static int sw_x265_params(const EbEncodeParams *p, AVDictionary **opts)
{
    char params[160];
    int n = snprintf(params, sizeof(params),
                     "scenecut=0:open-gop=0:pools=%d:frame-threads=1:log-level=error",
                     p->threads > 0 ? p->threads : 1);

    if (p->chroma_location > AVCHROMA_LOC_UNSPECIFIED && p->chroma_location <= AVCHROMA_LOC_BOTTOM)
        n += snprintf(params + n, sizeof(params) - (size_t)n, ":chromaloc=%d",
                      (int)p->chroma_location - 1);
    return av_dict_set(opts, "x265-params", params, 0);
}

static int sw_encoder_open(EbHalDevice *dev, const EbEncodeParams *p, AVCodecContext **out)
{
    const int hevc = p->codec == AV_CODEC_ID_HEVC;
    const char *name = hevc ? "libx265" : "libx264";
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    AVCodecContext *ctx;
    AVDictionary *opts = NULL;
    int ret;

    (void)dev;
    *out = NULL;
    if (!codec) {
        EB_LOGE("software", "libavcodec was built without %s", name);
        return EB_ERR_CODEC_UNSUPPORTED;
    }
    ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return EB_ERR(ENOMEM);
    ctx->width = p->width;
    ctx->height = p->height;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = p->time_base;
    ctx->framerate = p->frame_rate;
    ctx->sample_aspect_ratio = (AVRational){1, 1};
    ctx->bit_rate = p->bitrate;
    ctx->rc_max_rate = p->maxrate;
    ctx->rc_buffer_size = (int)p->bufsize;
    ctx->gop_size = p->gop_frames;
    ctx->keyint_min = p->gop_frames;
    ctx->thread_count = p->threads;
    /* Several threads on one rung split each frame into slices (x264's
     * sliced threads) rather than encode several frames at once: frame
     * threads hold a picture and its lookahead state per thread (about 37 MB
     * more peak RSS per 1080p thread), and x264 paid ~0.7 s more CPU for
     * them on the 20 s 1080p30 ladder. Measured PSNR of the 1080p rung at
     * 5 Mb/s: 43.84 dB sliced, 43.83 dB frame-threaded. The ladder runs
     * several encoders side by side, so the cores stay busy without frame
     * parallelism inside one of them. Beyond a few slices per picture the
     * quality loss grows (4 slices: -0.04 dB at 1080p), so big boxes that
     * give one rung more threads get frame threads instead. x265 threads
     * inside a frame (wavefront rows) by itself; see sw_x265_params. */
    if (hevc)
        ctx->thread_count = 1; /* the wrapper maps this to frame threads */
    else if (p->threads > 1 && p->threads <= EB_SW_MAX_SLICE_THREADS)
        ctx->thread_type = FF_THREAD_SLICE;
    else if (p->threads > 1)
        ctx->thread_type = FF_THREAD_FRAME; /* many slices would cost quality */
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER | AV_CODEC_FLAG_CLOSED_GOP;
    ctx->color_primaries = p->color_primaries;
    ctx->color_trc = p->color_trc;
    ctx->colorspace = p->colorspace;
    ctx->color_range = p->color_range;
    ctx->chroma_sample_location = p->chroma_location;
    av_dict_set(&opts, "preset", p->preset && *p->preset ? p->preset : "veryfast", 0);
    if (p->profile && *p->profile)
        av_dict_set(&opts, "profile", p->profile, 0);
    /* Keyframes only where the pipeline forces them (segment boundaries):
     * scene-cut IDRs would be harmless but waste bits the ladder budgets. */
    if (hevc)
        sw_x265_params(p, &opts);
    else
        av_dict_set(&opts, "sc_threshold", "0", 0);
    av_dict_set(&opts, "forced-idr", "1", 0);
    ret = avcodec_open2(ctx, codec, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        EB_LOGE("software", "%s open failed for %dx%d: %s", name, p->width, p->height,
                eb_strerror(ret));
        avcodec_free_context(&ctx);
        return ret;
    }
    *out = ctx;
    return 0;
}

const EbHalBackend eb_hal_software = {
    .name = "software",
    .description = "libavcodec decode, encbox CPU fan-out, libx264",
    .priv_size = 0,
    .probe = sw_probe,
    .device_open = sw_device_open,
    .decoder_open = sw_decoder_open,
    .fanout_open = sw_fanout_open,
    .fanout_run = sw_fanout_run,
    .fanout_close = sw_fanout_close,
    .encoder_open = sw_encoder_open,
};
