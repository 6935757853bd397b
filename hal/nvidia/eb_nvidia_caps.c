/*
 * NVIDIA backend, the parts that need no driver: status tables for CUDA and
 * NVENC, capability parsing and the usability verdict. They are fed by the
 * real queries in hal_nvidia.c and by constructed data in the tests.
 */
#include "eb_nvidia.h"

#include <stdio.h>
#include <string.h>

#include "eb_error.h"
#include "eb_hal_status.h"

/* CUresult values of the CUDA driver API (cuda.h). */
static const EbHalStatus eb_cuda_status[] = {
    {0, 0, "success"},
    {1, -EINVAL, "invalid value"},
    {2, -ENOMEM, "out of device memory"},
    {3, -EAGAIN, "driver not initialised"},
    {4, -ESHUTDOWN, "driver shutting down"},
    {35, -ENOSYS, "driver too old for this CUDA runtime (CUDA_ERROR_INSUFFICIENT_DRIVER)"},
    {46, -EBUSY, "device busy or unavailable (exclusive compute mode)"},
    {100, -ENODEV, "no CUDA-capable device"},
    {101, -ENODEV, "invalid device ordinal"},
    {200, -EINVAL, "invalid kernel image"},
    {201, -EINVAL, "invalid context"},
    {209, -ENOEXEC, "no kernel image for this device"},
    {218, -ENOEXEC, "invalid PTX"},
    {221, -ENOSYS, "PTX JIT compiler library not found"},
    {222, -ENOSYS, "driver too old for the kernel's PTX version"},
    {304, -EIO, "operating system call failed"},
    {500, -ENOENT, "named symbol not found"},
    {600, -EAGAIN, "not ready"},
    {700, -EFAULT, "illegal memory access (context is unusable)"},
    {702, -ETIMEDOUT, "launch timed out"},
    {719, -EIO, "launch failed (context is unusable)"},
    {801, -ENOTSUP, "operation not supported"},
    {803, -ENOSYS, "kernel driver and libcuda versions differ"},
    {804, -ENOTSUP, "forward compatibility not supported on this device"},
    {999, -EIO, "unknown CUDA error"},
};

/* NVENCSTATUS values (nvEncodeAPI.h). */
static const EbHalStatus eb_nvenc_status[] = {
    {0, 0, "success"},
    {1, -ENODEV, "no encode capable device"},
    {2, -ENODEV, "device does not support NVENC"},
    {3, -EINVAL, "invalid encoder device"},
    {4, -EINVAL, "invalid device"},
    {5, -ENODEV, "device no longer exists"},
    {6, -EFAULT, "invalid pointer"},
    {7, -EINVAL, "invalid event"},
    {8, -EINVAL, "invalid parameter"},
    {9, -EINVAL, "invalid call"},
    {10, -ENOMEM, "out of memory or too many encode sessions"},
    {11, -EINVAL, "encoder not initialised"},
    {12, -ENOTSUP, "unsupported parameter"},
    {13, -EAGAIN, "lock busy"},
    {14, -ENOBUFS, "not enough buffer"},
    {15, -ENOSYS, "driver too old for this NVENC API version"},
    {16, -EIO, "map failed"},
    {17, -EAGAIN, "need more input"},
    {18, -EBUSY, "encoder busy"},
    {19, -EINVAL, "event not registered"},
    {20, -EIO, "generic NVENC error"},
    {21, -EPERM, "incompatible client key"},
    {22, -ENOSYS, "unimplemented"},
    {23, -EIO, "resource register failed"},
    {24, -EINVAL, "resource not registered"},
    {25, -EINVAL, "resource not mapped"},
};

#define EB_NB(t) ((int)(sizeof(t) / sizeof((t)[0])))

int eb_nvidia_cuda_status(int cu_result, const char **text)
{
    return eb_hal_status(eb_cuda_status, EB_NB(eb_cuda_status), cu_result, text);
}

int eb_nvidia_nvenc_status(int nvenc_status, const char **text)
{
    return eb_hal_status(eb_nvenc_status, EB_NB(eb_nvenc_status), nvenc_status, text);
}

void eb_nvidia_caps_fill(EbHalDeviceInfo *d, const EbNvDecodeCaps *dec, int nb_dec,
                         const EbNvEncodeCaps *enc, int nb_enc)
{
    for (int i = 0; i < nb_dec; i++) {
        EbHalCodecCaps *c;
        if (!dec[i].supported)
            continue;
        c = eb_hal_info_codec(d, dec[i].codec);
        if (!c)
            continue;
        c->decode = 1;
        if (!c->encode) {
            c->max_width = (int)dec[i].max_width;
            c->max_height = (int)dec[i].max_height;
        }
    }
    for (int i = 0; i < nb_enc; i++) {
        EbHalCodecCaps *c;
        if (!enc[i].supported)
            continue;
        c = eb_hal_info_codec(d, enc[i].codec);
        if (!c)
            continue;
        c->encode = 1;
        /* Encode limits win: a rung must be encodable. */
        c->max_width = enc[i].width_max;
        c->max_height = enc[i].height_max;
        c->max_bframes = enc[i].num_max_bframes;
    }
}

int eb_nvidia_nvenc_version_ok(uint32_t max_supported, char *reason, size_t size)
{
    unsigned major = max_supported >> 4, minor = max_supported & 0xf;
    if (major > EB_NVENC_API_MAJOR || (major == EB_NVENC_API_MAJOR && minor >= EB_NVENC_API_MINOR))
        return 1;
    snprintf(reason, size, "driver too old: NVENC API %u.%u, this build needs %d.%d (driver >= %s)",
             major, minor, EB_NVENC_API_MAJOR, EB_NVENC_API_MINOR, EB_NVIDIA_MIN_DRIVER);
    return 0;
}

void eb_nvidia_verdict(EbHalDeviceInfo *d, int cc_major, int cc_minor, int have_kernel)
{
    const EbHalCodecCaps *h264 = NULL;

    for (int i = 0; i < d->nb_codecs; i++)
        if (d->codecs[i].codec == AV_CODEC_ID_H264)
            h264 = &d->codecs[i];
    d->usable = 0;
    if (cc_major < EB_NVIDIA_MIN_CC_MAJOR ||
        (cc_major == EB_NVIDIA_MIN_CC_MAJOR && cc_minor < EB_NVIDIA_MIN_CC_MINOR))
        snprintf(d->reason, sizeof(d->reason),
                 "compute capability %d.%d: the fan-out kernel needs %d.%d (Turing) or newer",
                 cc_major, cc_minor, EB_NVIDIA_MIN_CC_MAJOR, EB_NVIDIA_MIN_CC_MINOR);
    else if (!h264 || !h264->encode)
        snprintf(d->reason, sizeof(d->reason), "codec unsupported: no H.264 encode (NVENC)");
    else if (!h264->decode)
        snprintf(d->reason, sizeof(d->reason), "codec unsupported: no H.264 decode (NVDEC)");
    else if (!have_kernel)
        snprintf(d->reason, sizeof(d->reason), "CUDA fan-out kernel missing (built without clang)");
    else {
        d->usable = 1;
        d->reason[0] = 0;
    }
}

void eb_nvidia_format_pci(char *buf, size_t size, int domain, int bus, int device)
{
    snprintf(buf, size, "%04x:%02x:%02x.0", (unsigned)domain & 0xffff, (unsigned)bus & 0xff,
             (unsigned)device & 0x1f);
}
