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

#endif
