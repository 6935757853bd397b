/*
 * The NVIDIA backend: NVDEC decode (libavcodec's hwaccel), encbox's CUDA
 * fan-out (eb_fanout_cuda.c) and NVENC encode (h264_nvenc), on CUDA device
 * memory end to end.
 *
 * Nothing here links against the driver. libcuda.so.1, libnvcuvid.so.1 and
 * libnvidia-encode.so.1 are loaded with ffnvcodec's dlopen loader, and
 * libnvidia-ml.so.1 (driver version only) with dlopen directly, so the
 * binary starts on any box and the inventory says what is missing.
 *
 * Inventory (devices()): per CUDA device its name, PCI bus id, memory,
 * compute capability and driver version, NVDEC capabilities per codec
 * (cuvidGetDecoderCaps) and NVENC's (nvEncGetEncodeCaps). NVENC answers
 * capability queries only inside an encode session, and consumer cards cap
 * the sessions a system may hold, so the inventory runs once per process
 * and is cached. The module load of the fan-out kernel is tried too, so a
 * driver that cannot JIT the PTX is reported here, not mid-job.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "eb_error.h"
#include "eb_hal_hw.h"
#include "eb_hal_status.h"
#include "eb_log.h"
#include "eb_nvidia.h"
#include "eb_nvidia_loader.h"

static pthread_once_t eb_nv_once = PTHREAD_ONCE_INIT;
static CudaFunctions *eb_nv_cu;
static int eb_nv_cu_err;
static char eb_nv_cu_reason[EB_HAL_REASON_MAX];

static void eb_nv_load_cuda(void)
{
    char msg[EB_HAL_REASON_MAX] = "";
    const char *text;
    CUresult r;

    if (cuda_load_functions(&eb_nv_cu, msg) < 0) {
        if (strncmp(msg, "Cannot load lib", 15) == 0)
            snprintf(eb_nv_cu_reason, sizeof(eb_nv_cu_reason),
                     "%.200s not found (no NVIDIA driver installed)", msg + 12);
        else
            snprintf(eb_nv_cu_reason, sizeof(eb_nv_cu_reason), "NVIDIA driver too old: %.200s",
                     msg[0] ? msg : "libcuda incomplete");
        eb_nv_cu_err = EB_ERR(ENOENT);
        return;
    }
    r = eb_nv_cu->cuInit(0);
    if (r != CUDA_SUCCESS) {
        eb_nv_cu_err = eb_nvidia_cuda_status(r, &text);
        snprintf(eb_nv_cu_reason, sizeof(eb_nv_cu_reason), "cuInit: %.200s", text);
        cuda_free_functions(&eb_nv_cu);
    }
}

int eb_nvidia_cuda(const CudaFunctions **cu, char *reason, size_t size)
{
    pthread_once(&eb_nv_once, eb_nv_load_cuda);
    *cu = eb_nv_cu;
    if (!eb_nv_cu) {
        snprintf(reason, size, "%s", eb_nv_cu_reason);
        return eb_nv_cu_err < 0 ? eb_nv_cu_err : EB_ERR(ENOENT);
    }
    return 0;
}

int eb_nvidia_have_kernel(void)
{
    return eb_fanout_cuda_ptx[0] != 0;
}

/* ---- inventory ---- */

typedef CUresult CUDAAPI EbCuDeviceTotalMem(size_t *bytes, CUdevice dev);
typedef CUresult CUDAAPI EbCuDriverGetVersion(int *version);

static struct {
    pthread_once_t once;
    int nb;
    EbHalDeviceInfo info[EB_HAL_MAX_DEVICES];
} eb_nv_inv = {.once = PTHREAD_ONCE_INIT};

static void eb_nv_driver_version(const CudaFunctions *cu, char *buf, size_t size)
{
    EbCuDriverGetVersion *get = (EbCuDriverGetVersion *)dlsym(cu->lib, "cuDriverGetVersion");
    void *nvml = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
    char drv[80] = "";
    int v = 0;

    if (nvml) {
        int (*init)(void) = (int (*)(void))dlsym(nvml, "nvmlInit_v2");
        int (*ver)(char *, unsigned) =
            (int (*)(char *, unsigned))dlsym(nvml, "nvmlSystemGetDriverVersion");
        int (*fini)(void) = (int (*)(void))dlsym(nvml, "nvmlShutdown");
        if (init && ver && fini && init() == 0) {
            if (ver(drv, sizeof(drv)) != 0)
                drv[0] = 0;
            fini();
        }
        dlclose(nvml);
    }
    if (get && get(&v) == CUDA_SUCCESS)
        snprintf(buf, size, "%s%sCUDA %d.%d", drv, drv[0] ? ", " : "", v / 1000, (v % 1000) / 10);
    else
        snprintf(buf, size, "%s", drv);
}

/* NVDEC capabilities for the codecs encbox decodes on the device. */
static void eb_nv_decode_caps(const CuvidFunctions *cv, EbNvDecodeCaps *dec, int *nb)
{
    static const struct {
        enum AVCodecID id;
        cudaVideoCodec cv;
    } codecs[] = {
        {AV_CODEC_ID_H264, cudaVideoCodec_H264},
        {AV_CODEC_ID_HEVC, cudaVideoCodec_HEVC},
        {AV_CODEC_ID_AV1, cudaVideoCodec_AV1},
        {AV_CODEC_ID_VP9, cudaVideoCodec_VP9},
    };
    *nb = 0;
    if (!cv || !cv->cuvidGetDecoderCaps)
        return;
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        CUVIDDECODECAPS caps;
        memset(&caps, 0, sizeof(caps));
        caps.eCodecType = codecs[i].cv;
        caps.eChromaFormat = cudaVideoChromaFormat_420;
        caps.nBitDepthMinus8 = 0;
        if (cv->cuvidGetDecoderCaps(&caps) != CUDA_SUCCESS)
            continue;
        dec[*nb].codec = codecs[i].id;
        dec[*nb].supported = caps.bIsSupported;
        dec[*nb].max_width = caps.nMaxWidth;
        dec[*nb].max_height = caps.nMaxHeight;
        (*nb)++;
    }
}

/* NVENC capabilities: one short encode session on ctx. Returns 0 or the
 * NVENC status translated, with the reason. */
static int eb_nv_encode_caps(const NvencFunctions *nv, CUcontext ctx, EbNvEncodeCaps *enc, int *nb,
                             char *reason, size_t size)
{
    NV_ENCODE_API_FUNCTION_LIST fl;
    NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS sp;
    GUID guids[16];
    uint32_t n = 0;
    void *encoder = NULL;
    const char *text;
    NVENCSTATUS st;
    static const struct {
        enum AVCodecID id;
        const GUID *guid;
    } codecs[] = {
        {AV_CODEC_ID_H264, &NV_ENC_CODEC_H264_GUID},
        {AV_CODEC_ID_HEVC, &NV_ENC_CODEC_HEVC_GUID},
    };

    *nb = 0;
    memset(&fl, 0, sizeof(fl));
    fl.version = NV_ENCODE_API_FUNCTION_LIST_VER;
    st = nv->NvEncodeAPICreateInstance(&fl);
    if (st != NV_ENC_SUCCESS)
        goto fail;
    memset(&sp, 0, sizeof(sp));
    sp.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
    sp.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
    sp.device = ctx;
    sp.apiVersion = NVENCAPI_VERSION;
    st = fl.nvEncOpenEncodeSessionEx(&sp, &encoder);
    if (st != NV_ENC_SUCCESS)
        goto fail;
    st = fl.nvEncGetEncodeGUIDs(encoder, guids, 16, &n);
    if (st != NV_ENC_SUCCESS)
        goto fail;
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        EbNvEncodeCaps *e = &enc[*nb];
        static const NV_ENC_CAPS query[3] = {NV_ENC_CAPS_WIDTH_MAX, NV_ENC_CAPS_HEIGHT_MAX,
                                             NV_ENC_CAPS_NUM_MAX_BFRAMES};
        int *vals[3] = {&e->width_max, &e->height_max, &e->num_max_bframes};

        memset(e, 0, sizeof(*e));
        e->codec = codecs[c].id;
        for (uint32_t g = 0; g < n; g++)
            if (memcmp(&guids[g], codecs[c].guid, sizeof(GUID)) == 0)
                e->supported = 1;
        for (int q = 0; q < 3 && e->supported; q++) {
            NV_ENC_CAPS_PARAM cp;
            memset(&cp, 0, sizeof(cp));
            cp.version = NV_ENC_CAPS_PARAM_VER;
            cp.capsToQuery = query[q];
            if (fl.nvEncGetEncodeCaps(encoder, *codecs[c].guid, &cp, vals[q]) != NV_ENC_SUCCESS)
                *vals[q] = 0;
        }
        (*nb)++;
    }
    fl.nvEncDestroyEncoder(encoder);
    return 0;
fail:
    if (encoder)
        fl.nvEncDestroyEncoder(encoder);
    eb_nvidia_nvenc_status(st, &text);
    snprintf(reason, size, "NVENC: %s", text);
    return eb_nvidia_nvenc_status(st, NULL);
}

/* Loads the fan-out module once on ctx: the driver JITs the PTX here. */
static int eb_nv_try_kernel(const CudaFunctions *cu, char *reason, size_t size)
{
    CUmodule mod = NULL;
    const char *text;
    CUresult r = cu->cuModuleLoadData(&mod, eb_fanout_cuda_ptx);
    if (r != CUDA_SUCCESS) {
        eb_nvidia_cuda_status(r, &text);
        snprintf(reason, size, "fan-out kernel does not load: %s", text);
        return 0;
    }
    cu->cuModuleUnload(mod);
    return 1;
}

static void eb_nv_inventory(void)
{
    EbHalDeviceInfo *info = eb_nv_inv.info;
    const CudaFunctions *cu;
    static CuvidFunctions *cv;
    static NvencFunctions *nv;
    char reason[EB_HAL_REASON_MAX] = "", cv_msg[EB_HAL_REASON_MAX] = "",
         nv_msg[EB_HAL_REASON_MAX] = "", driver[64] = "", nvenc_reason[EB_HAL_REASON_MAX] = "";
    uint32_t nvenc_max = 0;
    int count = 0, nvenc_ok = 0;
    const char *text;
    CUresult r;

    memset(info, 0, sizeof(eb_nv_inv.info));
    eb_nv_inv.nb = 1;
    if (eb_nvidia_cuda(&cu, reason, sizeof(reason)) < 0) {
        eb_hal_info_unusable(&info[0], "nvidia", "", "%s", reason);
        return;
    }
    r = cu->cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS || count < 1) {
        eb_nvidia_cuda_status(r, &text);
        eb_hal_info_unusable(&info[0], "nvidia", "", "no NVIDIA device (%s)",
                             r != CUDA_SUCCESS ? text : "0 devices");
        return;
    }
    eb_nv_driver_version(cu, driver, sizeof(driver));
    if (cuvid_load_functions(&cv, cv_msg) < 0)
        cv = NULL;
    if (nvenc_load_functions(&nv, nv_msg) < 0)
        nv = NULL;
    else if (nv->NvEncodeAPIGetMaxSupportedVersion(&nvenc_max) == NV_ENC_SUCCESS)
        nvenc_ok = eb_nvidia_nvenc_version_ok(nvenc_max, nvenc_reason, sizeof(nvenc_reason));
    else
        snprintf(nvenc_reason, sizeof(nvenc_reason), "NVENC version query failed");

    if (count > EB_HAL_MAX_DEVICES)
        count = EB_HAL_MAX_DEVICES;
    eb_nv_inv.nb = count;
    for (int i = 0; i < count; i++) {
        EbHalDeviceInfo *d = &info[i];
        EbNvDecodeCaps dec[8];
        EbNvEncodeCaps enc[4];
        int nb_dec = 0, nb_enc = 0, major = 0, minor = 0, dom = 0, bus = 0, slot = 0;
        char why[EB_HAL_REASON_MAX] = "";
        CUdevice cdev;
        CUcontext ctx = NULL, dummy;
        size_t mem = 0;
        EbCuDeviceTotalMem *total = (EbCuDeviceTotalMem *)dlsym(cu->lib, "cuDeviceTotalMem_v2");

        snprintf(d->backend, sizeof(d->backend), "nvidia");
        snprintf(d->device, sizeof(d->device), "cuda:%d", i);
        snprintf(d->driver_version, sizeof(d->driver_version), "%s", driver);
        if (cu->cuDeviceGet(&cdev, i) != CUDA_SUCCESS) {
            snprintf(d->reason, sizeof(d->reason), "cuDeviceGet failed");
            continue;
        }
        cu->cuDeviceGetName(d->name, sizeof(d->name), cdev);
        cu->cuDeviceComputeCapability(&major, &minor, cdev);
        cu->cuDeviceGetAttribute(&dom, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, cdev);
        cu->cuDeviceGetAttribute(&bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, cdev);
        cu->cuDeviceGetAttribute(&slot, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, cdev);
        eb_nvidia_format_pci(d->pci_bus_id, sizeof(d->pci_bus_id), dom, bus, slot);
        if (total && total(&mem, cdev) == CUDA_SUCCESS)
            d->memory = (int64_t)mem;
        d->vpp = eb_nvidia_have_kernel();
        r = cu->cuCtxCreate(&ctx, 0, cdev);
        if (r != CUDA_SUCCESS) {
            eb_nvidia_cuda_status(r, &text);
            snprintf(d->reason, sizeof(d->reason), "cuCtxCreate: %s", text);
            continue;
        }
        eb_nv_decode_caps(cv, dec, &nb_dec);
        if (nv && nvenc_ok)
            eb_nv_encode_caps(nv, ctx, enc, &nb_enc, why, sizeof(why));
        if (eb_nvidia_have_kernel())
            eb_nv_try_kernel(cu, why, sizeof(why));
        cu->cuCtxPopCurrent(&dummy);
        cu->cuCtxDestroy(ctx);
        eb_nvidia_caps_fill(d, dec, nb_dec, enc, nb_enc);
        eb_nvidia_verdict(d, major, minor, eb_nvidia_have_kernel());
        /* The more specific reasons first. */
        if (!cv)
            snprintf(d->reason, sizeof(d->reason), "%s",
                     cv_msg[0] ? cv_msg : "libnvcuvid.so.1 not found");
        else if (!nv)
            snprintf(d->reason, sizeof(d->reason), "%s",
                     nv_msg[0] ? nv_msg : "libnvidia-encode.so.1 not found");
        else if (!nvenc_ok)
            snprintf(d->reason, sizeof(d->reason), "%s", nvenc_reason);
        else if (why[0]) /* NVENC session or module load failure: the most specific */
            snprintf(d->reason, sizeof(d->reason), "%s", why);
        else
            continue;
        d->usable = 0;
    }
    /* cv and nv stay loaded (static) with libcuda: the jobs need the
     * libraries again. */
}

static int nv_devices(EbHalDeviceInfo *out, int max, int *nb)
{
    pthread_once(&eb_nv_inv.once, eb_nv_inventory);
    *nb = eb_nv_inv.nb < max ? eb_nv_inv.nb : max;
    memcpy(out, eb_nv_inv.info, sizeof(*out) * (size_t)*nb);
    return 0;
}

static int nv_probe(EbHalProbe *out)
{
    EbHalDeviceInfo *info = calloc(EB_HAL_MAX_DEVICES, sizeof(*info));
    int nb = 0;
    if (!info)
        return EB_ERR(ENOMEM);
    nv_devices(info, EB_HAL_MAX_DEVICES, &nb);
    eb_hal_probe_from_info(out, info, nb);
    free(info);
    return 0;
}

/* spec: NULL, "N" or "cuda:N". */
static int nv_device_open(EbHalDevice *dev, const char *spec)
{
    char ordinal[16];
    const char *n = spec && !strncmp(spec, "cuda:", 5) ? spec + 5 : spec;
    int ret;

    snprintf(ordinal, sizeof(ordinal), "%s", n && *n ? n : "0");
    ret = eb_hal_hw_open(dev, AV_HWDEVICE_TYPE_CUDA, ordinal, AV_PIX_FMT_CUDA, 0);
    if (ret < 0)
        return ret;
    snprintf(dev->name, sizeof(dev->name), "cuda:%s", ordinal);
    return 0;
}

static void nv_device_close(EbHalDevice *dev)
{
    eb_hal_hw_close(dev);
}

static int nv_decoder_open(EbHalDevice *dev, const AVStream *st, AVCodecContext **out)
{
    return eb_hal_hw_decoder_open(dev, st, out);
}

static int nv_encoder_open(EbHalDevice *dev, const EbEncodeParams *p, AVCodecContext **out)
{
    return eb_hal_hw_encoder_open(dev, EB_HAL_ENC_NVENC, p, out);
}

const EbHalBackend eb_hal_nvidia = {
    .name = "nvidia",
    .description = "NVDEC decode, encbox CUDA fan-out, NVENC encode",
    .priv_size = sizeof(EbHalHwPriv),
    .probe = nv_probe,
    .device_open = nv_device_open,
    .device_close = nv_device_close,
    .decoder_open = nv_decoder_open,
    .fanout_open = eb_nvidia_fanout_open,
    .fanout_run = eb_nvidia_fanout_run,
    .fanout_close = eb_nvidia_fanout_close,
    .encoder_open = nv_encoder_open,
    .devices = nv_devices,
};
