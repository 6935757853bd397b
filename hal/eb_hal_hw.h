/*
 * What the three hardware backends share above their vendor APIs: the
 * device's private state (an ordinal and a cache of hardware frames
 * contexts, one per picture size, so the fan-out's output frames and the
 * encoder of the same rung use one pool), hwaccel decoders and hardware
 * encoders opened through libavcodec with the mapped options.
 */
#ifndef EB_HAL_HW_H
#define EB_HAL_HW_H

#include <pthread.h>

#include <libavutil/hwcontext.h>

#include "eb_hal.h"
#include "eb_hal_options.h"

#define EB_HAL_HW_MAX_FRAMES 16

/* EbHalDevice.priv of nvidia, vaapi and qsv. */
typedef struct EbHalHwPriv {
    pthread_mutex_t lock;
    int lock_init;
    enum AVPixelFormat hw_format; /* AV_PIX_FMT_CUDA / _VAAPI / _QSV */
    int pool_size;                /* initial_pool_size of new frames contexts (0: grows) */
    int nb_frames;
    struct {
        int width, height;
        AVBufferRef *ref;
    } frames[EB_HAL_HW_MAX_FRAMES];
} EbHalHwPriv;

/* Creates dev->hw_device_ctx of type at the given libav device string (NULL
 * for the default) and initialises dev->priv (an EbHalHwPriv). Undone by
 * eb_hal_hw_close(). */
int eb_hal_hw_open(EbHalDevice *dev, enum AVHWDeviceType type, const char *device,
                   enum AVPixelFormat hw_format, int pool_size);
void eb_hal_hw_close(EbHalDevice *dev);

/* The device's NV12 frames context of width x height, created on first use;
 * *out is a new reference owned by the caller (av_buffer_unref). */
int eb_hal_hw_frames(EbHalDevice *dev, int width, int height, AVBufferRef **out);

/* A decoder for st that decodes on the device (hwaccel, output frames in
 * hw_format); *out owned by the caller. -ENOSYS when libavcodec has no
 * hwaccel of that device type for the stream's codec. */
int eb_hal_hw_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out);

/* The kind's H.264 encoder for one rung, fed with frames of the rung's
 * frames context (eb_hal_hw_frames); *out owned by the caller. */
int eb_hal_hw_encoder_open(EbHalDevice *dev, EbHalEncoderKind kind, const EbEncodeParams *p,
                           AVCodecContext **out);

/* ---- hardware frames on the job's path ---- */

/* The pixel format of dev's device frames (AV_PIX_FMT_CUDA, _VAAPI, _QSV),
 * or AV_PIX_FMT_NONE for a device without hw_device_ctx (software). */
enum AVPixelFormat eb_hal_hw_format(const EbHalDevice *dev);

/* Host -> device: one new device frame from dev's NV12 frames context of
 * sw's size (eb_hal_hw_frames), holding sw's pixels (sw must be NV12) and
 * its properties (pts, colour, ...). dst: allocated by the caller, empty. */
int eb_hal_hw_upload(EbHalDevice *dev, const AVFrame *sw, AVFrame *dst);

/* Device -> host: dst (allocated by the caller, empty) receives hw's
 * pixels as NV12 in system memory, and its properties. */
int eb_hal_hw_download(const AVFrame *hw, AVFrame *dst);

/* Whether a stream can be decoded on the device for a ladder job, decided
 * before decoding from what the container says (pure; unit-tested):
 *   codec, profile (FF_PROFILE_*, FF_PROFILE_UNKNOWN) and pix_fmt
 *   (codecpar->format, AV_PIX_FMT_NONE when unknown) of the stream,
 *   width x height, and caps: the device's inventory entry (NULL: no
 *   capability data, only the format rules apply).
 * The device path carries 8-bit 4:2:0 (NV12 surfaces: what the fan-outs
 * read), so 10-bit, 4:2:2 and 4:4:4 streams (by pix_fmt or by profile, e.g.
 * H.264 High 4:2:2, HEVC Main 10) are not decoded on the device, and
 * neither is a codec the device's decoder lacks or a picture over its
 * limits. Returns 1 (decode on the device) or 0 (decode in software and
 * upload), with the reason in why. */
int eb_hal_hw_decode_decision(const EbHalDeviceInfo *caps, enum AVCodecID codec, int profile,
                              enum AVPixelFormat pix_fmt, int width, int height, char *why,
                              size_t why_size);

#endif
