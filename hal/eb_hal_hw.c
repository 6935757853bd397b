/*
 * Shared libavcodec plumbing of the hardware backends (see eb_hal_hw.h).
 * libavcodec already drives NVDEC, VA-API and QSV decoding (hwaccels) and
 * the h264_nvenc / h264_vaapi / h264_qsv encoders well; encbox's part is the
 * device and frames contexts, the options (eb_hal_options.c) and the checks
 * that turn a missing piece into a clear error instead of a silent software
 * path.
 */
#include "eb_hal_hw.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "eb_error.h"
#include "eb_log.h"

/* libavutil 57's Vulkan transfers submit to the device's queue with no
 * lock of their own, and Vulkan requires queue submissions to be
 * externally synchronized: an upload on the demuxer's thread beside a
 * download on another (the fan-out's, a thumbnail tap's) can leave
 * lavapipe with every thread waiting inside the driver (seen: a job that
 * never ended). Vulkan transfers are serialized here; other device types'
 * transfers (CUDA, VA-API, QSV) are thread-safe and are not. */
static pthread_mutex_t eb_vulkan_transfer_lock = PTHREAD_MUTEX_INITIALIZER;

/* av_hwframe_transfer_data, under the Vulkan lock when frames is Vulkan's. */
static int eb_hw_transfer(AVFrame *dst, const AVFrame *src, const AVBufferRef *frames)
{
    const AVHWFramesContext *fc = frames ? (const AVHWFramesContext *)frames->data : NULL;
    int vulkan = fc && fc->device_ctx->type == AV_HWDEVICE_TYPE_VULKAN, ret;

    if (vulkan)
        pthread_mutex_lock(&eb_vulkan_transfer_lock);
    ret = av_hwframe_transfer_data(dst, src, 0);
    if (vulkan)
        pthread_mutex_unlock(&eb_vulkan_transfer_lock);
    return ret;
}

int eb_hal_hw_open(EbHalDevice *dev, enum AVHWDeviceType type, const char *device,
                   enum AVPixelFormat hw_format, int pool_size)
{
    EbHalHwPriv *p = dev->priv;
    int ret;

    if (pthread_mutex_init(&p->lock, NULL) != 0)
        return EB_ERR(ENOMEM);
    p->lock_init = 1;
    p->hw_format = hw_format;
    p->pool_size = pool_size;
    ret = av_hwdevice_ctx_create(&dev->hw_device_ctx, type, device, NULL, 0);
    if (ret < 0) {
        EB_LOGE("hal", "%s device %s: %s", av_hwdevice_get_type_name(type),
                device ? device : "(default)", eb_strerror(ret));
        pthread_mutex_destroy(&p->lock);
        p->lock_init = 0;
        return ret;
    }
    return 0;
}

void eb_hal_hw_close(EbHalDevice *dev)
{
    EbHalHwPriv *p = dev->priv;
    if (!p)
        return;
    for (int i = 0; i < p->nb_frames; i++)
        av_buffer_unref(&p->frames[i].ref);
    p->nb_frames = 0;
    if (p->lock_init)
        pthread_mutex_destroy(&p->lock);
    p->lock_init = 0;
}

int eb_hal_hw_frames(EbHalDevice *dev, int width, int height, AVBufferRef **out)
{
    EbHalHwPriv *p = dev->priv;
    AVBufferRef *ref = NULL;
    AVHWFramesContext *fc;
    int ret = 0;

    *out = NULL;
    if (!dev->hw_device_ctx)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nb_frames; i++) {
        if (p->frames[i].width == width && p->frames[i].height == height) {
            *out = av_buffer_ref(p->frames[i].ref);
            ret = *out ? 0 : EB_ERR(ENOMEM);
            goto done;
        }
    }
    if (p->nb_frames >= EB_HAL_HW_MAX_FRAMES) {
        ret = EB_ERR(ENOSPC);
        goto done;
    }
    ref = av_hwframe_ctx_alloc(dev->hw_device_ctx);
    if (!ref) {
        ret = EB_ERR(ENOMEM);
        goto done;
    }
    fc = (AVHWFramesContext *)ref->data;
    fc->format = p->hw_format;
    fc->sw_format = AV_PIX_FMT_NV12;
    fc->width = width;
    fc->height = height;
    fc->initial_pool_size = p->pool_size;
    ret = av_hwframe_ctx_init(ref);
    if (ret < 0) {
        av_buffer_unref(&ref);
        goto done;
    }
    p->frames[p->nb_frames].width = width;
    p->frames[p->nb_frames].height = height;
    p->frames[p->nb_frames].ref = ref;
    p->nb_frames++;
    *out = av_buffer_ref(ref);
    ret = *out ? 0 : EB_ERR(ENOMEM);
done:
    pthread_mutex_unlock(&p->lock);
    return ret;
}

static enum AVPixelFormat eb_hw_get_format(AVCodecContext *ctx, const enum AVPixelFormat *fmts)
{
    enum AVPixelFormat want = (enum AVPixelFormat)(intptr_t)ctx->opaque;
    for (; *fmts != AV_PIX_FMT_NONE; fmts++)
        if (*fmts == want)
            return want;
    /* No software fallback behind the caller's back: the job asked for
     * this device. */
    EB_LOGE("hal", "decoder offers no %s output for this stream", av_get_pix_fmt_name(want));
    return AV_PIX_FMT_NONE;
}

/* 1 if codec decodes to hw_format frames on a device of type. */
static int eb_hw_config_found(const AVCodec *codec, enum AVHWDeviceType type,
                              enum AVPixelFormat hw_format)
{
    for (int i = 0;; i++) {
        const AVCodecHWConfig *cfg = avcodec_get_hw_config(codec, i);
        if (!cfg)
            return 0;
        if ((cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
            cfg->device_type == type && cfg->pix_fmt == hw_format)
            return 1;
    }
}

int eb_hal_hw_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out)
{
    EbHalHwPriv *p = dev->priv;
    AVHWDeviceContext *hdc = (AVHWDeviceContext *)dev->hw_device_ctx->data;
    const AVCodec *codec;
    AVCodecContext *ctx;
    int ret, found = 0;

    *out = NULL;
    codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return EB_ERR_CODEC_UNSUPPORTED;
    found = eb_hw_config_found(codec, hdc->type, p->hw_format);
    if (!found && hdc->type == AV_HWDEVICE_TYPE_QSV) {
        /* QSV decodes through its own decoders (h264_qsv, hevc_qsv, ...),
         * not a hwaccel of the native one. */
        char name[64];
        const AVCodec *q;
        snprintf(name, sizeof(name), "%s_qsv", avcodec_get_name(st->codecpar->codec_id));
        q = avcodec_find_decoder_by_name(name);
        if (q && eb_hw_config_found(q, hdc->type, p->hw_format)) {
            codec = q;
            found = 1;
        }
    }
    if (!found)
        return EB_ERR(ENOSYS);
    ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return EB_ERR(ENOMEM);
    ret = avcodec_parameters_to_context(ctx, st->codecpar);
    if (ret < 0)
        goto error;
    ctx->pkt_timebase = st->time_base;
    ctx->opaque = (void *)(intptr_t)p->hw_format;
    ctx->get_format = eb_hw_get_format;
    ctx->hw_device_ctx = av_buffer_ref(dev->hw_device_ctx);
    if (!ctx->hw_device_ctx) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    /* Surfaces stay referenced by the queues (4 source frames) and by the
     * rungs until the fan-out has read them. */
    ctx->extra_hw_frames = 8;
    ret = avcodec_open2(ctx, codec, NULL);
    if (ret < 0)
        goto error;
    *out = ctx;
    return 0;
error:
    avcodec_free_context(&ctx);
    return ret;
}

int eb_hal_hw_encoder_open(EbHalDevice *dev, EbHalEncoderKind kind, const EbEncodeParams *p,
                           AVCodecContext **out)
{
    EbHalHwPriv *priv = dev->priv;
    const enum AVCodecID id = p->codec != AV_CODEC_ID_NONE ? p->codec : AV_CODEC_ID_H264;
    const char *name = eb_hal_encoder_name(kind, id);
    const AVCodec *codec = name ? avcodec_find_encoder_by_name(name) : NULL;
    AVDictionary *opts = NULL;
    AVCodecContext *ctx;
    int ret;

    *out = NULL;
    if (!codec) {
        EB_LOGE("hal", "libavcodec has no %s encoder", name ? name : "(none)");
        return EB_ERR_CODEC_UNSUPPORTED;
    }
    ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return EB_ERR(ENOMEM);
    ctx->width = p->width;
    ctx->height = p->height;
    ctx->pix_fmt = priv->hw_format;
    ctx->sw_pix_fmt = AV_PIX_FMT_NV12;
    ctx->time_base = p->time_base;
    ctx->framerate = p->frame_rate;
    ctx->sample_aspect_ratio = (AVRational){1, 1};
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER | AV_CODEC_FLAG_CLOSED_GOP;
    ctx->color_primaries = p->color_primaries;
    ctx->color_trc = p->color_trc;
    ctx->colorspace = p->colorspace;
    ctx->color_range = p->color_range;
    ctx->chroma_sample_location = p->chroma_location;
    ret = eb_hal_hw_frames(dev, p->width, p->height, &ctx->hw_frames_ctx);
    if (ret < 0)
        goto error;
    ret = eb_hal_encoder_options(kind, id, p, &opts);
    if (ret < 0)
        goto error;
    ret = eb_hal_options_apply(ctx, &opts);
    if (ret < 0)
        goto error;
    ret = avcodec_open2(ctx, codec, &opts);
    if (ret < 0) {
        EB_LOGE("hal", "%s open failed for %dx%d: %s", name, p->width, p->height, eb_strerror(ret));
        goto error;
    }
    av_dict_free(&opts);
    *out = ctx;
    return 0;
error:
    av_dict_free(&opts);
    avcodec_free_context(&ctx);
    return ret;
}

/* ---- hardware frames on the job's path ---- */

enum AVPixelFormat eb_hal_hw_format(const EbHalDevice *dev)
{
    const EbHalHwPriv *p;
    if (!dev || !dev->hw_device_ctx || !dev->priv)
        return AV_PIX_FMT_NONE;
    p = dev->priv;
    return p->hw_format;
}

int eb_hal_hw_upload(EbHalDevice *dev, const AVFrame *sw, AVFrame *dst)
{
    AVBufferRef *frames = NULL;
    int ret;

    if (sw->format != AV_PIX_FMT_NV12 || sw->hw_frames_ctx)
        return EB_ERR(EINVAL);
    ret = eb_hal_hw_frames(dev, sw->width, sw->height, &frames);
    if (ret < 0)
        return ret;
    ret = av_hwframe_get_buffer(frames, dst, 0);
    av_buffer_unref(&frames);
    if (ret < 0) {
        EB_LOGE("hal", "no device frame for the upload (%dx%d): %s", sw->width, sw->height,
                eb_strerror(ret));
        return ret;
    }
    /* The pool's surfaces may be larger (alignment): the picture is sw's. */
    dst->width = sw->width;
    dst->height = sw->height;
    ret = eb_hw_transfer(dst, sw, dst->hw_frames_ctx);
    if (ret < 0) {
        EB_LOGE("hal", "upload to the device failed: %s", eb_strerror(ret));
        av_frame_unref(dst);
        return ret;
    }
    if (((AVHWDeviceContext *)dev->hw_device_ctx->data)->type == AV_HWDEVICE_TYPE_VULKAN) {
        /* libavutil 57's Vulkan upload reads sw's planes (imported host
         * memory) on the device after it returns, and keeps no reference
         * to them: sw may be freed before the copy has run (AddressSanitizer
         * caught lavapipe's queue thread reading a freed plane). A download
         * is synchronous and waits on the frame's semaphore, which the
         * upload signals, so once it returns sw is no longer read. */
        AVFrame *probe = av_frame_alloc();
        ret = probe ? eb_hw_transfer(probe, dst, dst->hw_frames_ctx) : AVERROR(ENOMEM);
        av_frame_free(&probe);
        if (ret < 0) {
            EB_LOGE("hal", "waiting for the upload to the device failed: %s", eb_strerror(ret));
            av_frame_unref(dst);
            return ret;
        }
    }
    ret = av_frame_copy_props(dst, sw);
    if (ret < 0)
        av_frame_unref(dst);
    return ret;
}

int eb_hal_hw_download(const AVFrame *hw, AVFrame *dst)
{
    int ret;

    if (!hw->hw_frames_ctx)
        return EB_ERR(EINVAL);
    dst->format = AV_PIX_FMT_NV12;
    ret = eb_hw_transfer(dst, hw, hw->hw_frames_ctx);
    if (ret < 0) {
        EB_LOGE("hal", "download from the device failed: %s", eb_strerror(ret));
        av_frame_unref(dst);
        return ret;
    }
    ret = av_frame_copy_props(dst, hw);
    if (ret < 0)
        av_frame_unref(dst);
    return ret;
}

/* 8-bit 4:2:0 in system memory (yuv420p, yuvj420p, nv12, nv21). */
static int eb_is_8bit_420(enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    return d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL) && d->nb_components >= 3 &&
           d->log2_chroma_w == 1 && d->log2_chroma_h == 1 && d->comp[0].depth == 8;
}

/* Profiles that are not 8-bit 4:2:0 whatever the container's pix_fmt says
 * (or when it says nothing). */
static const char *eb_profile_not_420_8(enum AVCodecID codec, int profile)
{
    if (profile == FF_PROFILE_UNKNOWN)
        return NULL;
    switch (codec) {
    case AV_CODEC_ID_H264:
        switch (profile & ~(FF_PROFILE_H264_CONSTRAINED | FF_PROFILE_H264_INTRA)) {
        case FF_PROFILE_H264_HIGH_10: return "High 10";
        case FF_PROFILE_H264_HIGH_422: return "High 4:2:2";
        case FF_PROFILE_H264_HIGH_444_PREDICTIVE: return "High 4:4:4";
        case FF_PROFILE_H264_CAVLC_444: return "CAVLC 4:4:4";
        default: return NULL;
        }
    case AV_CODEC_ID_HEVC:
        if (profile == FF_PROFILE_HEVC_MAIN_10)
            return "Main 10";
        if (profile == FF_PROFILE_HEVC_REXT)
            return "Range Extensions";
        return NULL;
    case AV_CODEC_ID_VP9:
        return profile != FF_PROFILE_VP9_0 ? "profile 1-3 (4:4:4 or 10/12-bit)" : NULL;
    case AV_CODEC_ID_AV1:
        return profile != FF_PROFILE_AV1_MAIN ? "High/Professional" : NULL;
    default:
        return NULL;
    }
}

int eb_hal_hw_decode_decision(const EbHalDeviceInfo *caps, enum AVCodecID codec, int profile,
                              enum AVPixelFormat pix_fmt, int width, int height, char *why,
                              size_t why_size)
{
    const char *name = avcodec_get_name(codec);
    const char *prof;

    if (why_size)
        why[0] = '\0';
    if (pix_fmt != AV_PIX_FMT_NONE && !eb_is_8bit_420(pix_fmt)) {
        snprintf(why, why_size, "%s %s: the device path carries 8-bit 4:2:0 only", name,
                 av_get_pix_fmt_name(pix_fmt) ? av_get_pix_fmt_name(pix_fmt) : "?");
        return 0;
    }
    prof = eb_profile_not_420_8(codec, profile);
    if (prof) {
        snprintf(why, why_size, "%s %s profile: the device path carries 8-bit 4:2:0 only", name,
                 prof);
        return 0;
    }
    if (caps) {
        const EbHalCodecCaps *c = NULL;
        for (int i = 0; i < caps->nb_codecs && i < EB_HAL_MAX_CODECS; i++)
            if (caps->codecs[i].codec == codec)
                c = &caps->codecs[i];
        if (!c || !c->decode) {
            snprintf(why, why_size, "%s %s does not decode %s", caps->backend,
                     caps->device[0] ? caps->device : "device", name);
            return 0;
        }
        /* The inventory's sizes are the encoder's where it encodes the
         * codec too: only a decode-only entry's sizes are decode limits. */
        if (!c->encode && ((c->max_width > 0 && width > c->max_width) ||
                           (c->max_height > 0 && height > c->max_height))) {
            snprintf(why, why_size, "%s %dx%d is over the %s decoder's %dx%d", name, width, height,
                     caps->backend, c->max_width, c->max_height);
            return 0;
        }
    }
    return 1;
}
