/*
 * The VA-API backend (Intel iHD/i965, AMD and others through Mesa): decode
 * with libavcodec's VA-API hwaccel, encode with h264_vaapi. Inventory per
 * render node (/dev/dri/renderD*): the driver's vendor string, and its
 * profiles x entrypoints for decode (VLD), encode (EncSlice, EncSliceLP)
 * and video processing, with the surface size limits of the H.264 configs.
 *
 * libva.so.2 and libva-drm.so.2 are dlopen()ed (RTLD_LOCAL), never linked,
 * so the binary starts without them and says which is missing. libva's own
 * messages are silenced during the inventory (they would go to stderr).
 *
 * Scaling fan-out: one libavfilter graph per job (eb_fanout_graph.c): the
 * source surface is split to one scale_vaapi (VA-API video processing,
 * NV12 out) per rung, after transpose_vaapi when the fan-out rotates; a rung
 * of the source's size is the source surface itself. Each scale_vaapi
 * allocates its own output frames context (libavfilter 8 takes no external
 * pool); eb_fanout_graph_hw_open() makes those the device's frames contexts
 * of the rung sizes, so the rung encoders (h264_vaapi) opened after the
 * fan-out read the scalers' pools. fanout_open() is ENOSYS, naming the
 * filter, where libavfilter lacks scale_vaapi or transpose_vaapi. The graph
 * and its device-frame plumbing are tested with software frames and on a
 * software Vulkan device (tests/test_fanout_graph.c); the VA-API filter
 * text is checked as strings, and none of it has run on a VA-API device.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_fanout_graph.h"
#include "eb_hal_hw.h"
#include "eb_hal_status.h"
#include "eb_log.h"
#include "eb_vaapi.h"

/* The libva entry points used, loaded by name. */
typedef struct EbVaLib {
    void *va, *drm;
    VADisplay (*GetDisplayDRM)(int fd);
    VAStatus (*Initialize)(VADisplay, int *, int *);
    VAStatus (*Terminate)(VADisplay);
    const char *(*QueryVendorString)(VADisplay);
    int (*MaxNumProfiles)(VADisplay);
    int (*MaxNumEntrypoints)(VADisplay);
    VAStatus (*QueryConfigProfiles)(VADisplay, VAProfile *, int *);
    VAStatus (*QueryConfigEntrypoints)(VADisplay, VAProfile, VAEntrypoint *, int *);
    VAStatus (*CreateConfig)(VADisplay, VAProfile, VAEntrypoint, VAConfigAttrib *, int,
                             VAConfigID *);
    VAStatus (*DestroyConfig)(VADisplay, VAConfigID);
    VAStatus (*QuerySurfaceAttributes)(VADisplay, VAConfigID, VASurfaceAttrib *, unsigned *);
    VAMessageCallback (*SetErrorCallback)(VADisplay, VAMessageCallback, void *);
    VAMessageCallback (*SetInfoCallback)(VADisplay, VAMessageCallback, void *);
} EbVaLib;

static int va_load(EbVaLib *l, char *reason, size_t size)
{
    static const char *const names[] = {
        "vaInitialize",
        "vaTerminate",
        "vaQueryVendorString",
        "vaMaxNumProfiles",
        "vaMaxNumEntrypoints",
        "vaQueryConfigProfiles",
        "vaQueryConfigEntrypoints",
        "vaCreateConfig",
        "vaDestroyConfig",
        "vaQuerySurfaceAttributes",
        "vaSetErrorCallback",
        "vaSetInfoCallback",
    };
    void **slots[] = {
        (void **)&l->Initialize,
        (void **)&l->Terminate,
        (void **)&l->QueryVendorString,
        (void **)&l->MaxNumProfiles,
        (void **)&l->MaxNumEntrypoints,
        (void **)&l->QueryConfigProfiles,
        (void **)&l->QueryConfigEntrypoints,
        (void **)&l->CreateConfig,
        (void **)&l->DestroyConfig,
        (void **)&l->QuerySurfaceAttributes,
        (void **)&l->SetErrorCallback,
        (void **)&l->SetInfoCallback,
    };

    memset(l, 0, sizeof(*l));
    l->va = dlopen("libva.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!l->va) {
        snprintf(reason, size, "libva.so.2 not found (install libva2 and a VA-API driver)");
        return EB_ERR(ENOENT);
    }
    l->drm = dlopen("libva-drm.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!l->drm) {
        snprintf(reason, size, "libva-drm.so.2 not found");
        goto error;
    }
    *(void **)&l->GetDisplayDRM = dlsym(l->drm, "vaGetDisplayDRM");
    if (!l->GetDisplayDRM) {
        snprintf(reason, size, "libva-drm.so.2 has no vaGetDisplayDRM");
        goto error;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *slots[i] = dlsym(l->va, names[i]);
        if (!*slots[i]) {
            snprintf(reason, size, "libva too old: no %s (needs libva >= 2.0)", names[i]);
            goto error;
        }
    }
    return 0;
error:
    if (l->drm)
        dlclose(l->drm);
    dlclose(l->va);
    memset(l, 0, sizeof(*l));
    return EB_ERR(ENOENT);
}

static void va_quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

/* Surface size limits of one config, 0 where not reported. */
static void va_surface_limits(const EbVaLib *l, VADisplay dpy, VAProfile p, VAEntrypoint e, int *mw,
                              int *mh)
{
    VAConfigID cfg;
    VASurfaceAttrib *attrs;
    unsigned n = 0;

    *mw = *mh = 0;
    if (l->CreateConfig(dpy, p, e, NULL, 0, &cfg) != VA_STATUS_SUCCESS)
        return;
    if (l->QuerySurfaceAttributes(dpy, cfg, NULL, &n) == VA_STATUS_SUCCESS && n > 0 &&
        (attrs = calloc(n, sizeof(*attrs)))) {
        if (l->QuerySurfaceAttributes(dpy, cfg, attrs, &n) == VA_STATUS_SUCCESS) {
            for (unsigned i = 0; i < n; i++) {
                if (attrs[i].type == VASurfaceAttribMaxWidth)
                    *mw = attrs[i].value.value.i;
                else if (attrs[i].type == VASurfaceAttribMaxHeight)
                    *mh = attrs[i].value.value.i;
            }
        }
        free(attrs);
    }
    l->DestroyConfig(dpy, cfg);
}

/* One render node's inventory. */
static void va_node(const EbVaLib *l, const char *path, EbHalDeviceInfo *d)
{
    int fd = open(path, O_RDWR | O_CLOEXEC), major = 0, minor = 0, np = 0;
    VAProfile *profiles = NULL;
    VAEntrypoint *eps = NULL;
    EbVaConfigCaps *caps = NULL;
    int nb_caps = 0, max_caps;
    const char *text, *vendor;
    VADisplay dpy;
    VAStatus st;

    snprintf(d->backend, sizeof(d->backend), "vaapi");
    snprintf(d->device, sizeof(d->device), "%s", path);
    if (fd < 0) {
        snprintf(d->reason, sizeof(d->reason), "cannot open %s: %s", path, strerror(errno));
        return;
    }
    dpy = l->GetDisplayDRM(fd);
    if (!dpy) {
        snprintf(d->reason, sizeof(d->reason), "vaGetDisplayDRM failed");
        close(fd);
        return;
    }
    l->SetErrorCallback(dpy, va_quiet, NULL);
    l->SetInfoCallback(dpy, va_quiet, NULL);
    st = l->Initialize(dpy, &major, &minor);
    if (st != VA_STATUS_SUCCESS) {
        eb_vaapi_status(st, &text);
        snprintf(d->reason, sizeof(d->reason), "vaInitialize: %s", text);
        close(fd);
        return;
    }
    vendor = l->QueryVendorString(dpy);
    snprintf(d->name, sizeof(d->name), "%s", vendor ? vendor : "");
    snprintf(d->driver_version, sizeof(d->driver_version), "VA-API %d.%d", major, minor);
    np = l->MaxNumProfiles(dpy);
    max_caps = np * l->MaxNumEntrypoints(dpy);
    profiles = calloc((size_t)(np > 0 ? np : 1), sizeof(*profiles));
    eps = calloc((size_t)(l->MaxNumEntrypoints(dpy) + 1), sizeof(*eps));
    caps = calloc((size_t)(max_caps > 0 ? max_caps : 1), sizeof(*caps));
    if (!profiles || !eps || !caps) {
        snprintf(d->reason, sizeof(d->reason), "out of memory");
        goto done;
    }
    if (l->QueryConfigProfiles(dpy, profiles, &np) != VA_STATUS_SUCCESS)
        np = 0;
    for (int p = 0; p < np; p++) {
        int ne = 0;
        if (l->QueryConfigEntrypoints(dpy, profiles[p], eps, &ne) != VA_STATUS_SUCCESS)
            continue;
        for (int e = 0; e < ne && nb_caps < max_caps; e++) {
            EbVaConfigCaps *c = &caps[nb_caps++];
            c->profile = profiles[p];
            c->entrypoint = eps[e];
            if (profiles[p] == VAProfileH264High || profiles[p] == VAProfileHEVCMain)
                va_surface_limits(l, dpy, profiles[p], eps[e], &c->max_width, &c->max_height);
        }
    }
    eb_vaapi_caps_fill(d, caps, nb_caps);
    eb_vaapi_verdict(d);
done:
    free(profiles);
    free(eps);
    free(caps);
    l->Terminate(dpy);
    close(fd);
}

static struct {
    pthread_once_t once;
    int nb;
    EbHalDeviceInfo info[EB_HAL_MAX_DEVICES];
} eb_va_inv = {.once = PTHREAD_ONCE_INIT};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void va_inventory(void)
{
    EbHalDeviceInfo *info = eb_va_inv.info;
    char reason[EB_HAL_REASON_MAX] = "";
    char *nodes[EB_HAL_MAX_DEVICES];
    int nb_nodes = 0;
    struct dirent *e;
    EbVaLib lib;
    DIR *dir;

    memset(info, 0, sizeof(eb_va_inv.info));
    eb_va_inv.nb = 1;
    dir = opendir("/dev/dri");
    while (dir && (e = readdir(dir)) && nb_nodes < EB_HAL_MAX_DEVICES) {
        char path[280];
        if (strncmp(e->d_name, "renderD", 7) != 0)
            continue;
        snprintf(path, sizeof(path), "/dev/dri/%s", e->d_name);
        nodes[nb_nodes] = strdup(path);
        if (nodes[nb_nodes])
            nb_nodes++;
    }
    if (dir)
        closedir(dir);
    if (nb_nodes == 0) {
        eb_hal_info_unusable(&info[0], "vaapi", "", "no device node (/dev/dri/renderD*)");
        return;
    }
    qsort(nodes, (size_t)nb_nodes, sizeof(nodes[0]), cmp_str);
    if (va_load(&lib, reason, sizeof(reason)) < 0) {
        eb_hal_info_unusable(&info[0], "vaapi", nodes[0], "%s", reason);
    } else {
        for (int i = 0; i < nb_nodes; i++)
            va_node(&lib, nodes[i], &info[i]);
        eb_va_inv.nb = nb_nodes;
        /* libva stays loaded: drivers it loaded may have registered
         * atexit handlers. */
    }
    for (int i = 0; i < nb_nodes; i++)
        free(nodes[i]);
}

static int va_devices(EbHalDeviceInfo *out, int max, int *nb)
{
    pthread_once(&eb_va_inv.once, va_inventory);
    *nb = eb_va_inv.nb < max ? eb_va_inv.nb : max;
    memcpy(out, eb_va_inv.info, sizeof(*out) * (size_t)*nb);
    return 0;
}

static int va_probe(EbHalProbe *out)
{
    EbHalDeviceInfo *info = calloc(EB_HAL_MAX_DEVICES, sizeof(*info));
    int nb = 0;
    if (!info)
        return EB_ERR(ENOMEM);
    va_devices(info, EB_HAL_MAX_DEVICES, &nb);
    eb_hal_probe_from_info(out, info, nb);
    free(info);
    return 0;
}

/* spec: NULL (the first render node) or a node path. */
static int va_device_open(EbHalDevice *dev, const char *spec)
{
    const char *node = spec && *spec ? spec : "/dev/dri/renderD128";
    int ret = eb_hal_hw_open(dev, AV_HWDEVICE_TYPE_VAAPI, node, AV_PIX_FMT_VAAPI, 0);
    if (ret < 0)
        return ret;
    snprintf(dev->name, sizeof(dev->name), "%s", node);
    return 0;
}

static void va_device_close(EbHalDevice *dev)
{
    eb_hal_hw_close(dev);
}

static int va_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out)
{
    return eb_hal_hw_decoder_open(dev, st, out);
}

static int va_encoder_open(EbHalDevice *dev, const EbEncodeParams *p, AVCodecContext **out)
{
    return eb_hal_hw_encoder_open(dev, EB_HAL_ENC_VAAPI, p, out);
}

static int va_scale_filter(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale_vaapi=w=%d:h=%d:format=nv12", width, height);
}

/* scale_vaapi's output pool is 4 surfaces unless told more: the rung queue
 * (2 frames) and h264_vaapi's references and async depth hold more. */
static const EbFanoutFilters eb_va_filters = {
    .name = "vaapi",
    .scale = va_scale_filter,
    .rotate90 = "transpose_vaapi=dir=clock",
    .rotate180 = "transpose_vaapi=dir=reversal",
    .rotate270 = "transpose_vaapi=dir=cclock",
    .passthrough = 1,
    .extra_hw_frames = 16,
};

int eb_vaapi_fanout_desc(const EbFanoutConfig *cfg, char *buf, size_t size)
{
    return eb_fanout_graph_desc(cfg, &eb_va_filters, buf, size);
}

/* EbFanout is the graph itself. */
static int va_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out)
{
    EbFanoutGraph *g = NULL;
    int ret = eb_fanout_graph_hw_open(dev, cfg, &eb_va_filters, &g);
    *out = (EbFanout *)g;
    return ret;
}

static int va_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst)
{
    return eb_fanout_graph_run((EbFanoutGraph *)f, src, dst);
}

static void va_fanout_close(EbFanout **f)
{
    EbFanoutGraph *g = (EbFanoutGraph *)*f;
    eb_fanout_graph_free(&g);
    *f = NULL;
}

const EbHalBackend eb_hal_vaapi = {
    .name = "vaapi",
    .description = "VA-API decode and encode (h264_vaapi)",
    .priv_size = sizeof(EbHalHwPriv),
    .probe = va_probe,
    .device_open = va_device_open,
    .device_close = va_device_close,
    .decoder_open = va_decoder_open,
    .fanout_open = va_fanout_open,
    .fanout_run = va_fanout_run,
    .fanout_close = va_fanout_close,
    .encoder_open = va_encoder_open,
    .devices = va_devices,
};
