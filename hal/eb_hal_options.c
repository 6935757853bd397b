/*
 * Rung -> hardware encoder options (see eb_hal_options.h). Pure functions
 * and tables, so they are tested without a device.
 *
 * Speed scale. encbox speaks x264's preset names everywhere; each vendor has
 * its own scale, and the tables below line them up by the relative cost of
 * the tools each step enables rather than by name: NVENC's P1..P7 (with
 * multipass on the slowest steps and the "hq" tuning for VOD), VA-API's
 * quality level (driver-defined; 1 best, 7 fastest on Intel's iHD and
 * Mesa), QSV's target usage (1 best .. 7 fastest).
 *
 * Rate control is capped VBR: the ladder's bitrate, maxrate and bufsize.
 * IDRs come only from the pipeline (pict_type I at segment boundaries, the
 * encoders' forced-IDR option), with scene-cut detection off where the
 * encoder has the switch, and a GOP longer than a segment so that no
 * periodic keyframe lands inside one.
 */
#include "eb_hal_options.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/opt.h>

#include "eb_error.h"

static const char *const eb_speed_names[EB_HAL_SPEED_LEVELS] = {
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
};

/* One row per speed index. */
static const struct {
    const char *nvenc_preset;
    const char *nvenc_tune;
    const char *nvenc_multipass; /* "disabled", "qres", "fullres" */
    int nvenc_lookahead;         /* frames; 0 off */
    int vaapi_quality;
    int qsv_tu;
    int bframes; /* 0 on the fastest step: B-frames cost a reorder */
} eb_speed_table[EB_HAL_SPEED_LEVELS] = {
    /* ultrafast */ {"p1", "ll", "disabled", 0, 7, 7, 0},
    /* superfast */ {"p2", "hq", "disabled", 0, 6, 7, 2},
    /* veryfast  */ {"p3", "hq", "disabled", 0, 5, 6, 3},
    /* faster    */ {"p4", "hq", "disabled", 0, 4, 5, 3},
    /* fast      */ {"p4", "hq", "qres", 8, 4, 5, 3},
    /* medium    */ {"p5", "hq", "qres", 16, 3, 4, 3},
    /* slow      */ {"p6", "hq", "qres", 20, 2, 3, 3},
    /* slower    */ {"p7", "hq", "fullres", 24, 1, 2, 3},
    /* veryslow  */ {"p7", "hq", "fullres", 32, 1, 1, 3},
};

/* QSV's preset names for target usage 1..7. */
static const char *const eb_qsv_presets[8] = {
    NULL, "veryslow", "slower", "slow", "medium", "fast", "faster", "veryfast",
};

int eb_hal_speed_index(const char *preset)
{
    if (!preset || !*preset)
        return 2;
    for (int i = 0; i < EB_HAL_SPEED_LEVELS; i++)
        if (strcmp(preset, eb_speed_names[i]) == 0)
            return i;
    return EB_ERR(EINVAL);
}

static int speed_ok(int s)
{
    return s >= 0 && s < EB_HAL_SPEED_LEVELS;
}

const char *eb_hal_nvenc_preset(int speed)
{
    return speed_ok(speed) ? eb_speed_table[speed].nvenc_preset : NULL;
}

const char *eb_hal_nvenc_tune(int speed)
{
    return speed_ok(speed) ? eb_speed_table[speed].nvenc_tune : NULL;
}

int eb_hal_vaapi_quality(int speed)
{
    return speed_ok(speed) ? eb_speed_table[speed].vaapi_quality : EB_ERR(EINVAL);
}

int eb_hal_qsv_target_usage(int speed)
{
    return speed_ok(speed) ? eb_speed_table[speed].qsv_tu : EB_ERR(EINVAL);
}

const char *eb_hal_encoder_name(EbHalEncoderKind kind, enum AVCodecID codec)
{
    static const char *const names[3][2] = {
        {"h264_nvenc", "hevc_nvenc"},
        {"h264_vaapi", "hevc_vaapi"},
        {"h264_qsv", "hevc_qsv"},
    };
    if ((int)kind < 0 || kind > EB_HAL_ENC_QSV)
        return NULL;
    if (codec == AV_CODEC_ID_H264)
        return names[kind][0];
    if (codec == AV_CODEC_ID_HEVC)
        return names[kind][1];
    return NULL;
}

/* H.264 Table A-1: level_idc, MaxMBPS, MaxFS (macroblocks), MaxBR (1000
 * bit/s, Baseline/Main; High is 1.25x). */
static const struct {
    int level;
    int64_t max_mbps, max_fs, max_br;
} eb_h264_levels[] = {
    {10, 1485, 99, 64},
    {11, 3000, 396, 192},
    {12, 6000, 396, 384},
    {13, 11880, 396, 768},
    {20, 11880, 396, 2000},
    {21, 19800, 792, 4000},
    {22, 20250, 1620, 4000},
    {30, 40500, 1620, 10000},
    {31, 108000, 3600, 14000},
    {32, 216000, 5120, 20000},
    {40, 245760, 8192, 20000},
    {41, 245760, 8192, 50000},
    {42, 522240, 8704, 50000},
    {50, 589824, 22080, 135000},
    {51, 983040, 36864, 240000},
    {52, 2073600, 36864, 240000},
    {60, 4177920, 139264, 240000},
    {61, 8355840, 139264, 480000},
    {62, 16711680, 139264, 800000},
};

/* HEVC Table A.8 (Main tier): level * 10 (general_level_idc / 3), MaxLumaPs,
 * MaxLumaSr, MaxBR (1000 bit/s, Main profile). */
static const struct {
    int level;
    int64_t max_ps, max_sr, max_br;
} eb_hevc_levels[] = {
    {10, 36864, 552960, 128},
    {20, 122880, 3686400, 1500},
    {21, 245760, 7372800, 3000},
    {30, 552960, 16588800, 6000},
    {31, 983040, 33177600, 10000},
    {40, 2228224, 66846720, 12000},
    {41, 2228224, 133693440, 20000},
    {50, 8912896, 267386880, 25000},
    {51, 8912896, 534773760, 40000},
    {52, 8912896, 1069547520, 60000},
    {60, 35651584, 1069547520, 60000},
    {61, 35651584, 2139095040, 120000},
    {62, 35651584, 4278190080LL, 240000},
};

static int64_t ceil_rate(int64_t per_frame, AVRational fr)
{
    /* per_frame * fps, rounded up; an unknown rate counts as 60. */
    if (fr.num <= 0 || fr.den <= 0)
        fr = (AVRational){60, 1};
    return (per_frame * fr.num + fr.den - 1) / fr.den;
}

int eb_hal_h264_level(int width, int height, AVRational frame_rate, int64_t maxrate)
{
    int64_t mbs = (int64_t)((width + 15) / 16) * ((height + 15) / 16);
    int64_t mbps = ceil_rate(mbs, frame_rate);

    if (width < 1 || height < 1)
        return EB_ERR(EINVAL);
    for (size_t i = 0; i < sizeof(eb_h264_levels) / sizeof(eb_h264_levels[0]); i++) {
        /* MaxFS also bounds each dimension: sqrt(8 * MaxFS) macroblocks. */
        int64_t side = 8 * eb_h264_levels[i].max_fs;
        int64_t wmb = (width + 15) / 16, hmb = (height + 15) / 16;
        if (mbs <= eb_h264_levels[i].max_fs && mbps <= eb_h264_levels[i].max_mbps &&
            wmb * wmb <= side && hmb * hmb <= side &&
            maxrate <= eb_h264_levels[i].max_br * 1250) /* High profile: 1.25x */
            return eb_h264_levels[i].level;
    }
    return EB_ERR(ERANGE);
}

int eb_hal_hevc_level(int width, int height, AVRational frame_rate, int64_t maxrate)
{
    int64_t ps = (int64_t)width * height;
    int64_t sr = ceil_rate(ps, frame_rate);

    if (width < 1 || height < 1)
        return EB_ERR(EINVAL);
    for (size_t i = 0; i < sizeof(eb_hevc_levels) / sizeof(eb_hevc_levels[0]); i++) {
        int64_t side = 8 * eb_hevc_levels[i].max_ps;
        if (ps <= eb_hevc_levels[i].max_ps && sr <= eb_hevc_levels[i].max_sr &&
            (int64_t)width * width <= side && (int64_t)height * height <= side &&
            maxrate <= eb_hevc_levels[i].max_br * 1000)
            return eb_hevc_levels[i].level;
    }
    return EB_ERR(ERANGE);
}

static int set_int(AVDictionary **d, const char *key, int64_t v)
{
    return av_dict_set_int(d, key, v, 0);
}

int eb_hal_encoder_options(EbHalEncoderKind kind, enum AVCodecID codec, const EbEncodeParams *p,
                           AVDictionary **opts)
{
    int speed = eb_hal_speed_index(p->preset);
    int hevc = codec == AV_CODEC_ID_HEVC, level, ret = 0;
    int64_t maxrate = p->maxrate > 0 ? p->maxrate : p->bitrate;
    int64_t bufsize = p->bufsize > 0 ? p->bufsize : 2 * maxrate;
    char lvl[16];
    const char *profile;

    if (speed < 0)
        return speed;
    if (!eb_hal_encoder_name(kind, codec))
        return EB_ERR(ENOSYS);
    if (p->width < 1 || p->height < 1 || p->bitrate < 1 || p->gop_frames < 1 ||
        maxrate < p->bitrate)
        return EB_ERR(EINVAL);
    level = hevc ? eb_hal_hevc_level(p->width, p->height, p->frame_rate, maxrate)
                 : eb_hal_h264_level(p->width, p->height, p->frame_rate, maxrate);
    if (level < 0)
        return EB_ERR(EINVAL);
    profile = p->profile && *p->profile ? p->profile : hevc ? "main" : "high";

    /* Generic: capped VBR and the GOP. A GOP one frame longer than the
     * longest segment: every keyframe is a forced one. */
    ret |= set_int(opts, "b", p->bitrate);
    ret |= set_int(opts, "maxrate", maxrate);
    ret |= set_int(opts, "bufsize", bufsize);
    ret |= set_int(opts, "g", p->gop_frames + 1);
    ret |= set_int(opts, "keyint_min", p->gop_frames);
    ret |= set_int(opts, "bf", eb_speed_table[speed].bframes);

    switch (kind) {
    case EB_HAL_ENC_NVENC:
        ret |= av_dict_set(opts, "preset", eb_speed_table[speed].nvenc_preset, 0);
        ret |= av_dict_set(opts, "tune", eb_speed_table[speed].nvenc_tune, 0);
        ret |= av_dict_set(opts, "multipass", eb_speed_table[speed].nvenc_multipass, 0);
        ret |= set_int(opts, "rc-lookahead", eb_speed_table[speed].nvenc_lookahead);
        ret |= av_dict_set(opts, "rc", "vbr", 0);
        ret |= av_dict_set(opts, "forced-idr", "1", 0);
        ret |= av_dict_set(opts, "no-scenecut", "1", 0);
        ret |= av_dict_set(opts, "strict_gop", "1", 0);
        ret |= av_dict_set(opts, "profile", profile, 0);
        snprintf(lvl, sizeof(lvl), "%d.%d", level / 10, level % 10);
        ret |= av_dict_set(opts, "level", lvl, 0);
        break;
    case EB_HAL_ENC_VAAPI:
        ret |= av_dict_set(opts, "rc_mode", "VBR", 0);
        ret |= set_int(opts, "quality", eb_speed_table[speed].vaapi_quality);
        /* Every I frame the pipeline forces is an IDR; no periodic IDR. */
        ret |= set_int(opts, "idr_interval", 0);
        ret |= av_dict_set(opts, "profile", profile, 0);
        /* hevc_vaapi's level is general_level_idc (30 x level). */
        snprintf(lvl, sizeof(lvl), "%d", hevc ? level * 3 : level);
        ret |= av_dict_set(opts, "level", lvl, 0);
        break;
    case EB_HAL_ENC_QSV:
        ret |= av_dict_set(opts, "preset", eb_qsv_presets[eb_speed_table[speed].qsv_tu], 0);
        ret |= av_dict_set(opts, "forced_idr", "1", 0);
        ret |= set_int(opts, "idr_interval", 0);
        ret |= av_dict_set(opts, "profile", profile, 0);
        /* QSV takes the generic level: level_idc (H.264) or 10 x level. */
        ret |= set_int(opts, "level", level);
        break;
    }
    return ret < 0 ? EB_ERR(ENOMEM) : 0;
}

int eb_hal_options_apply(AVCodecContext *ctx, AVDictionary **opts)
{
    int ret = 0;
    if (ctx->priv_data && ctx->codec && ctx->codec->priv_class)
        ret = av_opt_set_dict2(ctx->priv_data, opts, 0);
    return ret;
}
