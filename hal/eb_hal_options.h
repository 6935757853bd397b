/*
 * Rung -> encoder options for the hardware encoders (h264_nvenc, h264_vaapi,
 * h264_qsv and their hevc_* siblings), as pure functions of EbEncodeParams.
 * Everything goes into one AVDictionary, so the mapping is unit-tested
 * without a device: capped VBR (bitrate, maxrate, bufsize), the speed scale
 * (x264 preset names) in each vendor's terms, the GOP with IDRs only where
 * the pipeline forces them (segment boundaries), B-frames, profile and level.
 *
 * The dictionary mixes generic AVCodecContext options ("b", "g", "bf", ...)
 * and the encoder's private ones ("preset", "profile", "level", ...).
 * Apply it with eb_hal_options_apply(), which gives the private ones to
 * priv_data first: several names ("profile", "level") exist in both places
 * and the private one is meant.
 */
#ifndef EB_HAL_OPTIONS_H
#define EB_HAL_OPTIONS_H

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>

#include "eb_hal.h"

typedef enum EbHalEncoderKind {
    EB_HAL_ENC_NVENC = 0,
    EB_HAL_ENC_VAAPI,
    EB_HAL_ENC_QSV,
} EbHalEncoderKind;

#define EB_HAL_SPEED_LEVELS 9

/* x264 preset name -> 0 (ultrafast) .. 8 (veryslow); NULL or "" -> 2
 * (veryfast, encbox's default); unknown -> -EINVAL. */
int eb_hal_speed_index(const char *preset);

/* The vendor's knob for each speed index (tables in eb_hal_options.c):
 * NVENC preset "p1".."p7" and tuning info, VA-API quality level (1 best ..
 * 7 fastest), QSV target usage (1 best .. 7 fastest). */
const char *eb_hal_nvenc_preset(int speed);
const char *eb_hal_nvenc_tune(int speed);
int eb_hal_vaapi_quality(int speed);
int eb_hal_qsv_target_usage(int speed);

/* "h264_nvenc", "hevc_vaapi", ...; NULL for a codec the kind lacks. */
const char *eb_hal_encoder_name(EbHalEncoderKind kind, enum AVCodecID codec);

/* Smallest level that holds the picture size, rate and maxrate: H.264
 * level_idc (10 * level: 31, 40, 41, 51...) or HEVC level (same scale, 10 *
 * level). Returns -ERANGE when no level fits. */
int eb_hal_h264_level(int width, int height, AVRational frame_rate, int64_t maxrate);
int eb_hal_hevc_level(int width, int height, AVRational frame_rate, int64_t maxrate);

/* Fills *opts (created or added to; the caller frees it with av_dict_free)
 * with the options for one rung. Returns 0, -EINVAL (bad preset, sizes or
 * bitrate) or -ENOSYS (codec not offered by the kind). */
int eb_hal_encoder_options(EbHalEncoderKind kind, enum AVCodecID codec, const EbEncodeParams *p,
                           AVDictionary **opts);

/* Applies opts to an allocated, unopened ctx: private options to
 * ctx->priv_data, the rest left in *opts for avcodec_open2(). */
int eb_hal_options_apply(AVCodecContext *ctx, AVDictionary **opts);

#endif
