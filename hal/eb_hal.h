/*
 * Hardware-abstraction layer: one interface, one const EbHalBackend per
 * backend (designated initialisers, like FFmpeg's HWContextType), a static
 * registry ordered by preference. A backend provides the three device stages
 * of a ladder job: decode, the scaling fan-out (one source frame in, every
 * rung's frame out), and encode. Decoders and encoders are libavcodec
 * contexts, so every backend hands the pipeline plain AVFrame/AVPacket;
 * device frames travel through hw_frames_ctx.
 *
 * A missing optional callback means ENOSYS. Probing never crashes and always
 * says why a backend is unusable.
 */
#ifndef EB_HAL_H
#define EB_HAL_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#include "eb_ladder.h"

#define EB_HAL_REASON_MAX 256

typedef struct EbHalBackend EbHalBackend;

/* What probing found. */
typedef struct EbHalProbe {
    int usable;                       /* 1 if a job could run on it now */
    char reason[EB_HAL_REASON_MAX];   /* why not, when usable == 0 */
    int nb_devices;
} EbHalProbe;

/* An opened device. Allocated by eb_hal_device_open(), which also allocates
 * the backend's private state at its declared size. */
typedef struct EbHalDevice {
    const EbHalBackend *backend;
    AVBufferRef *hw_device_ctx;       /* NULL for software */
    char name[64];                    /* "cpu", "/dev/dri/renderD128", "cuda:0" */
    void *priv;
} EbHalDevice;

/* Fan-out request: one source geometry in, up to EB_LADDER_MAX_RUNGS out. */
typedef struct EbFanoutConfig {
    int src_width, src_height;
    enum AVPixelFormat src_format;    /* software: AV_PIX_FMT_YUV420P */
    int rotation;                     /* clockwise degrees applied by the fan-out
                                       * (0 for software: the source normaliser
                                       * rotates before the fan-out) */
    int nb_outputs;
    struct {
        int width, height;
    } outputs[EB_LADDER_MAX_RUNGS];
} EbFanoutConfig;

typedef struct EbFanout EbFanout;     /* backend-private */

/* Everything an encoder needs to know about one rung. */
typedef struct EbEncodeParams {
    int width, height;
    AVRational time_base;             /* of the frames sent in */
    AVRational frame_rate;
    int64_t bitrate, maxrate, bufsize;
    int gop_frames;                   /* frames per segment (upper bound) */
    const char *preset;               /* x264 preset name: the speed scale */
    const char *profile;              /* NULL or "" = automatic */
    int threads;                      /* 0 = backend's choice */
    enum AVColorPrimaries color_primaries;
    enum AVColorTransferCharacteristic color_trc;
    enum AVColorSpace colorspace;
    enum AVColorRange color_range;
} EbEncodeParams;

struct EbHalBackend {
    const char *name;                 /* "software", "nvidia", "vaapi", "qsv" */
    const char *description;
    size_t priv_size;                 /* EbHalDevice.priv, zeroed */

    int (*probe)(EbHalProbe *out);
    int (*device_open)(EbHalDevice *dev, const char *spec);
    void (*device_close)(EbHalDevice *dev);

    /* Opens a decoder for the stream; *out is owned by the caller
     * (avcodec_free_context). */
    int (*decoder_open)(EbHalDevice *dev, const AVStream *st, AVCodecContext **out);

    int (*fanout_open)(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out);
    /* Writes cfg->nb_outputs new frames into dst[]; each is a new reference
     * owned by the caller. src is only read. Timestamps and frame properties
     * are copied from src. */
    int (*fanout_run)(EbFanout *f, const AVFrame *src, AVFrame **dst);
    void (*fanout_close)(EbFanout **f);

    /* Opens an encoder for one rung; *out is owned by the caller. The
     * encoder has AV_CODEC_FLAG_GLOBAL_HEADER set (fMP4 needs extradata). */
    int (*encoder_open)(EbHalDevice *dev, const EbEncodeParams *p, AVCodecContext **out);
};

/* Registry, ordered by preference; NULL-terminated. */
const EbHalBackend *const *eb_hal_backends(void);
const EbHalBackend *eb_hal_find(const char *name);

/* Opens a device of the backend; *out freed with eb_hal_device_close(). */
int eb_hal_device_open(const EbHalBackend *b, const char *spec, EbHalDevice **out);
void eb_hal_device_close(EbHalDevice **dev);

extern const EbHalBackend eb_hal_software;

#endif
