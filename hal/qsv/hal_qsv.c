/*
 * The QSV backend (Intel Quick Sync through oneVPL): decode with
 * libavcodec's QSV decoders, encode with h264_qsv.
 *
 * Inventory: libvpl.so.2 (the oneVPL dispatcher) is dlopen()ed with
 * RTLD_LOCAL, then MFXLoad + MFXEnumImplementations list the
 * implementations with their device, codecs and VPP filters. RTLD_LOCAL
 * matters: Debian 12's libavcodec 59 reaches QSV through libmfx1 (the older
 * Media SDK dispatcher), and both dispatchers export the same MFX* symbols;
 * a global load of libvpl could bind libavcodec's calls to the wrong one.
 * The encode path (h264_qsv) goes through libavcodec and so libmfx; on
 * Debian 12 that runtime is intel-media-va-driver + libmfx-gen1.2 for Gen12
 * and newer, libmfxhw64 for older parts.
 *
 * Scaling fan-out: one libavfilter graph per job (eb_fanout_graph.c): the
 * source surface is split to one vpp_qsv (QSV VPP: scale to the rung, NV12
 * out) per rung, after a vpp_qsv=transpose=... when the fan-out rotates; a
 * rung of the source's size is the source surface itself. Each vpp_qsv
 * allocates its own output frames context (libavfilter 8 takes no external
 * pool), and h264_qsv only accepts surfaces of the frames context it was
 * opened with: eb_fanout_graph_hw_open() makes the scalers' contexts the
 * device's frames contexts of the rung sizes, so the rung encoders opened
 * after the fan-out use exactly them. The source-size rung's encoder uses
 * the device's source-size context, which is where uploaded source frames
 * come from; frames of a QSV decoder's own context would need that rung's
 * encoder opened with the decoder's hw_frames_ctx. fanout_open() is ENOSYS,
 * naming the filter, where libavfilter lacks vpp_qsv. The graph and its
 * device-frame plumbing are tested with software frames and on a software
 * Vulkan device (tests/test_fanout_graph.c); the QSV filter text is checked
 * as strings, and none of it has run on an Intel GPU.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpl/mfxdispatcher.h>

#include "eb_error.h"
#include "eb_fanout_graph.h"
#include "eb_hal_hw.h"
#include "eb_hal_status.h"
#include "eb_log.h"
#include "eb_qsv.h"

static struct {
    pthread_once_t once;
    int nb;
    EbHalDeviceInfo info[EB_HAL_MAX_DEVICES];
} eb_qsv_inv = {.once = PTHREAD_ONCE_INIT};

static void qsv_inventory(void)
{
    EbHalDeviceInfo *info = eb_qsv_inv.info;
    mfxLoader (*load)(void);
    void (*unload)(mfxLoader);
    mfxStatus (*enumerate)(mfxLoader, mfxU32, mfxImplCapsDeliveryFormat, mfxHDL *);
    mfxStatus (*release)(mfxLoader, mfxHDL);
    mfxLoader loader;
    const char *text;
    void *lib;
    int nb = 0;

    memset(info, 0, sizeof(eb_qsv_inv.info));
    eb_qsv_inv.nb = 1;
    lib = dlopen("libvpl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        eb_hal_info_unusable(&info[0], "qsv", "", "libvpl.so.2 not found (install libvpl2)");
        return;
    }
    *(void **)&load = dlsym(lib, "MFXLoad");
    *(void **)&unload = dlsym(lib, "MFXUnload");
    *(void **)&enumerate = dlsym(lib, "MFXEnumImplementations");
    *(void **)&release = dlsym(lib, "MFXDispReleaseImplDescription");
    if (!load || !unload || !enumerate || !release) {
        eb_hal_info_unusable(&info[0], "qsv", "", "libvpl.so.2 too old (no MFXLoad API 2.x)");
        dlclose(lib);
        return;
    }
    loader = load();
    if (!loader) {
        eb_hal_info_unusable(&info[0], "qsv", "", "MFXLoad failed");
        dlclose(lib);
        return;
    }
    for (mfxU32 i = 0; nb < EB_HAL_MAX_DEVICES; i++) {
        mfxHDL hdl = NULL;
        mfxStatus st = enumerate(loader, i, MFX_IMPLCAPS_IMPLDESCSTRUCTURE, &hdl);
        const mfxImplDescription *impl = hdl;
        EbHalDeviceInfo *d = &info[nb];

        if (st != MFX_ERR_NONE) {
            if (i == 0) {
                eb_qsv_status(st, &text);
                eb_hal_info_unusable(&info[0], "qsv", "", "oneVPL: %s", text);
            }
            break;
        }
        snprintf(d->backend, sizeof(d->backend), "qsv");
        snprintf(d->device, sizeof(d->device), "qsv:%u", i);
        eb_qsv_caps_fill(d, impl);
        eb_qsv_verdict(d, impl->Impl);
        release(loader, hdl);
        nb++;
    }
    if (nb > 0)
        eb_qsv_inv.nb = nb;
    unload(loader);
    /* libvpl stays loaded: runtimes it loaded may hold atexit handlers. */
}

static int qsv_devices(EbHalDeviceInfo *out, int max, int *nb)
{
    pthread_once(&eb_qsv_inv.once, qsv_inventory);
    *nb = eb_qsv_inv.nb < max ? eb_qsv_inv.nb : max;
    memcpy(out, eb_qsv_inv.info, sizeof(*out) * (size_t)*nb);
    return 0;
}

static int qsv_probe(EbHalProbe *out)
{
    EbHalDeviceInfo *info = calloc(EB_HAL_MAX_DEVICES, sizeof(*info));
    int nb = 0;
    if (!info)
        return EB_ERR(ENOMEM);
    qsv_devices(info, EB_HAL_MAX_DEVICES, &nb);
    eb_hal_probe_from_info(out, info, nb);
    free(info);
    return 0;
}

/* spec: NULL ("hw": libavutil's choice of the Intel device) or a libav QSV
 * device string. QSV frames contexts need a fixed pool. */
static int qsv_device_open(EbHalDevice *dev, const char *spec)
{
    const char *s = spec && *spec ? spec : "hw";
    int ret = eb_hal_hw_open(dev, AV_HWDEVICE_TYPE_QSV, s, AV_PIX_FMT_QSV, 32);
    if (ret < 0)
        return ret;
    snprintf(dev->name, sizeof(dev->name), "qsv:%s", s);
    return 0;
}

static void qsv_device_close(EbHalDevice *dev)
{
    eb_hal_hw_close(dev);
}

static int qsv_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out)
{
    return eb_hal_hw_decoder_open(dev, st, out);
}

static int qsv_encoder_open(EbHalDevice *dev, const EbEncodeParams *p, AVCodecContext **out)
{
    return eb_hal_hw_encoder_open(dev, EB_HAL_ENC_QSV, p, out);
}

/* vpp_qsv rather than scale_qsv: the same VPP does the rotation
 * (transpose=, whose 90/270 modes swap the output size), and FFmpeg 5.1's
 * vpp_qsv takes w, h and format like scale_qsv. */
static int qsv_scale_filter(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "vpp_qsv=w=%d:h=%d:format=nv12", width, height);
}

/* QSV frames contexts are fixed pools: a margin over what qsvvpp sizes its
 * output pools for, for the rung queue and h264_qsv's async depth. */
static const EbFanoutFilters eb_qsv_filters = {
    .name = "qsv",
    .scale = qsv_scale_filter,
    .rotate90 = "vpp_qsv=transpose=clock",
    .rotate180 = "vpp_qsv=transpose=reversal",
    .rotate270 = "vpp_qsv=transpose=cclock",
    .passthrough = 1,
    .extra_hw_frames = 8,
};

int eb_qsv_fanout_desc(const EbFanoutConfig *cfg, char *buf, size_t size)
{
    return eb_fanout_graph_desc(cfg, &eb_qsv_filters, buf, size);
}

/* EbFanout is the graph itself. */
static int qsv_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    EbFanoutGraph *g = NULL;
    int ret = eb_fanout_graph_hw_open(dev, cfg, &eb_qsv_filters, &g);
    *out = (EbFanout *)g;
    return ret;
}

static int qsv_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst)
{
    return eb_fanout_graph_run((EbFanoutGraph *)f, src, dst);
}

static void qsv_fanout_close(EbFanout **f)
{
    EbFanoutGraph *g = (EbFanoutGraph *)*f;
    eb_fanout_graph_free(&g);
    *f = NULL;
}

const EbHalBackend eb_hal_qsv = {
    .name = "qsv",
    .description = "Intel Quick Sync (oneVPL inventory; h264_qsv through libavcodec)",
    .priv_size = sizeof(EbHalHwPriv),
    .probe = qsv_probe,
    .device_open = qsv_device_open,
    .device_close = qsv_device_close,
    .decoder_open = qsv_decoder_open,
    .fanout_open = qsv_fanout_open,
    .fanout_run = qsv_fanout_run,
    .fanout_close = qsv_fanout_close,
    .encoder_open = qsv_encoder_open,
    .devices = qsv_devices,
};
