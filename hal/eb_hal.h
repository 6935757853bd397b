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

#define EB_HAL_REASON_MAX 256

/* Outputs of one scaling fan-out. The HAL knows nothing of ladders
 * (pipelines/ sits above it); a ladder's rung limit must not exceed this
 * (checked where pipelines/ hands a ladder to the HAL). */
#define EB_HAL_MAX_OUTPUTS 8

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

/* Fan-out request: one source geometry in, up to EB_HAL_MAX_OUTPUTS out. */
typedef struct EbFanoutConfig {
    int src_width, src_height;
    enum AVPixelFormat src_format;    /* software: AV_PIX_FMT_YUV420P */
    enum AVChromaLocation chroma_location; /* source chroma siting (UNSPECIFIED:
                                            * centre, as swscale assumes) */
    int rotation;                     /* clockwise degrees applied by the fan-out
                                       * (0 for software: the source normaliser
                                       * rotates before the fan-out) */
    int nb_outputs;
    struct {
        int width, height;
    } outputs[EB_HAL_MAX_OUTPUTS];
} EbFanoutConfig;

typedef struct EbFanout EbFanout;     /* backend-private */

/* Device inventory (`encbox devices`, the API): one entry per device a
 * backend found, or one entry with usable = 0 and the reason when it found
 * none. Plain data, filled by the backend's devices() callback. */
#define EB_HAL_MAX_CODECS 8
#define EB_HAL_MAX_DEVICES 16

typedef struct EbHalCodecCaps {
    enum AVCodecID codec;             /* AV_CODEC_ID_H264, _HEVC, _AV1, ... */
    int decode, encode;               /* 1 where the device does it */
    int max_width, max_height;        /* encode limits where known, else decode; 0: unknown */
    int max_bframes;                  /* encode; -1: unknown */
} EbHalCodecCaps;

typedef struct EbHalDeviceInfo {
    char backend[16];                 /* "nvidia", "vaapi", "qsv", "software" */
    char device[64];                  /* "cuda:0", "/dev/dri/renderD128", "cpu"; "" if none */
    char name[128];                   /* marketing name / vendor string; "" unknown */
    char pci_bus_id[32];              /* "0000:01:00.0"; "" unknown */
    int64_t memory;                   /* bytes of device memory; 0 unknown */
    char driver_version[64];          /* "" unknown */
    int vpp;                          /* 1: hardware scaling/video processing */
    int nb_codecs;
    EbHalCodecCaps codecs[EB_HAL_MAX_CODECS];
    int usable;                       /* 1 if a job could run on it now */
    char reason[EB_HAL_REASON_MAX];   /* why not, when usable == 0 */
} EbHalDeviceInfo;

/* Everything an encoder needs to know about one rung. */
typedef struct EbEncodeParams {
    enum AVCodecID codec;             /* AV_CODEC_ID_H264 or _HEVC; NONE means H.264 */
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
    enum AVChromaLocation chroma_location; /* written to the VUI unless unspecified */
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

    /* Device inventory: fills out[0..max-1], sets *nb (>= 1: a backend with
     * no device reports one entry saying why). Never crashes; vendor
     * libraries are dlopen()ed. Results may be cached per process (NVENC
     * capability queries open an encode session). Optional (ENOSYS). */
    int (*devices)(EbHalDeviceInfo *out, int max, int *nb);
};

/* Registry, ordered by preference; NULL-terminated. */
const EbHalBackend *const *eb_hal_backends(void);
const EbHalBackend *eb_hal_find(const char *name);

/* The registry as the configuration's backends.enabled allows it: the
 * backends named in names[0..nb-1] that this build has, in that order (the
 * operator's preference), into out[], NULL-terminated (out holds
 * EB_HAL_MAX_DEVICES + 1 entries). Names this build lacks are skipped.
 * nb 0 (or names NULL): the whole registry. Returns how many. */
int eb_hal_backends_enabled(const char *const *names, int nb, const EbHalBackend **out);

/* Opens a device of the backend; *out freed with eb_hal_device_close(). */
int eb_hal_device_open(const EbHalBackend *b, const char *spec, EbHalDevice **out);
void eb_hal_device_close(EbHalDevice **dev);

extern const EbHalBackend eb_hal_software;
#ifdef EB_WITH_NVIDIA
extern const EbHalBackend eb_hal_nvidia;
#endif
#ifdef EB_WITH_VAAPI
extern const EbHalBackend eb_hal_vaapi;
#endif
#ifdef EB_WITH_QSV
extern const EbHalBackend eb_hal_qsv;
#endif

/* Inventory of one backend: its devices() callback, or, without one, one
 * entry built from probe() and the device name device_open() gives. out is
 * caller storage of max entries; returns 0 (with *nb >= 1) or -EINVAL. */
int eb_hal_inventory(const EbHalBackend *b, EbHalDeviceInfo *out, int max, int *nb);

/* `encbox devices [--json]`: prints every backend's inventory on stdout, a
 * table or a JSON list of one object per device (backend, device, usable,
 * reason, name, pci_bus_id, memory, driver_version, codecs). Returns the
 * process exit code. argv[0] is "devices". */
int eb_hal_cli_devices(int argc, char **argv);

/* ---- Backend choice: --backend and --fallback ----
 *
 * eb_hal_choose() is the pure decision; eb_hal_select() probes the registry
 * and calls it. The VOD pipeline is to call eb_hal_select() with the job's
 * backend and fallback settings and report out->note in the job's status.
 *
 * requested: "auto" or a backend name. fallback: "auto", "none" or a backend
 * name (NULL means "auto").
 *   requested "auto": the first usable backend in registry (preference)
 *     order; fallback is not consulted (auto is already "any").
 *   requested NAME, usable: NAME.
 *   requested NAME, unusable: fallback "none": -ENODEV; "auto": the first
 *     usable other backend in registry order; BACKEND: that one if usable,
 *     else -ENODEV.
 * Unknown names (not in names[]) give -EINVAL. out->note is always set: what
 * was chosen and why, e.g. "nvidia unusable (libcuda.so.1 not found): fell
 * back to software", or the error's explanation. */
#define EB_HAL_NOTE_MAX 512

typedef struct EbHalChoice {
    int index;                        /* into names[] / the registry; -1 on error */
    const char *name;                 /* names[index], or NULL */
    int fell_back;                    /* 1 if not the requested backend */
    char note[EB_HAL_NOTE_MAX];
} EbHalChoice;

/* names[i] and probes[i] for i < nb, in registry order; all caller storage,
 * only read. Returns 0, -EINVAL or -ENODEV; out is always filled. */
int eb_hal_choose(const char *requested, const char *fallback, const char *const *names,
                  const EbHalProbe *probes, int nb, EbHalChoice *out);

/* Probes every backend of reg (NULL-terminated; NULL: eb_hal_backends()),
 * filling names[] and probes[] (EB_HAL_MAX_DEVICES entries each) in
 * registry order; a probe that fails is unusable with its reason. Returns
 * how many. What eb_hal_select() decides from, for a caller (the VOD job)
 * that keeps the probes for a later fallback decision. */
int eb_hal_probe_all(const EbHalBackend *const *reg, const char **names, EbHalProbe *probes);

/* Probes every registered backend and decides; *backend is a registry
 * entry (static, not owned) or NULL on error. */
int eb_hal_select(const char *requested, const char *fallback, const EbHalBackend **backend,
                  EbHalChoice *out);

#endif
