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
 * encbox has no QSV scaling fan-out yet, so a capable device is reported
 * unusable with that reason, and fanout_open() says so.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpl/mfxdispatcher.h>

#include "eb_error.h"
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

static int qsv_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    (void)dev;
    (void)cfg;
    *out = NULL;
    EB_LOGE("qsv", "no QSV scaling fan-out in this build");
    return EB_ERR(ENOSYS);
}

static int qsv_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst)
{
    (void)f;
    (void)src;
    (void)dst;
    return EB_ERR(ENOSYS);
}

static void qsv_fanout_close(EbFanout **f)
{
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
    /* Present and saying ENOSYS: the pipeline calls these unchecked. */
    .fanout_open = qsv_fanout_open,
    .fanout_run = qsv_fanout_run,
    .fanout_close = qsv_fanout_close,
    .encoder_open = qsv_encoder_open,
    .devices = qsv_devices,
};
