/*
 * Inside the NVIDIA backend: the process-wide driver loader (ffnvcodec's
 * dlopen loader for libcuda / libnvcuvid / libnvidia-encode), the CUDA and
 * NVENC status tables, the capability parsing (pure, tested from
 * constructed data) and the CUDA fan-out. Not for use outside hal/nvidia/
 * and its tests: the ffnvcodec types appear only in the loader part.
 */
#ifndef EB_NVIDIA_H
#define EB_NVIDIA_H

#include <stddef.h>
#include <stdint.h>

#include "eb_hal.h"

/* ---- pure parts (eb_nvidia_caps.c) ---- */

/* NVENC API version this build speaks (ffnvcodec's header): 11.1, which
 * drivers >= 470.57 on Linux provide. */
#define EB_NVENC_API_MAJOR 11
#define EB_NVENC_API_MINOR 1
#define EB_NVIDIA_MIN_DRIVER "470.57"
/* The fan-out PTX targets sm_75 (Turing). */
#define EB_NVIDIA_MIN_CC_MAJOR 7
#define EB_NVIDIA_MIN_CC_MINOR 5

/* CUresult / NVENCSTATUS -> negative errno and text. */
int eb_nvidia_cuda_status(int cu_result, const char **text);
int eb_nvidia_nvenc_status(int nvenc_status, const char **text);

/* One NVDEC capability answer (cuvidGetDecoderCaps, 8-bit 4:2:0). */
typedef struct EbNvDecodeCaps {
    enum AVCodecID codec;
    int supported;
    unsigned max_width, max_height;
} EbNvDecodeCaps;

/* One NVENC codec's answers (nvEncGetEncodeCaps). */
typedef struct EbNvEncodeCaps {
    enum AVCodecID codec;
    int supported; /* its GUID was among nvEncGetEncodeGUIDs */
    int width_max, height_max, num_max_bframes;
} EbNvEncodeCaps;

/* Adds the codec capabilities to d->codecs. */
void eb_nvidia_caps_fill(EbHalDeviceInfo *d, const EbNvDecodeCaps *dec, int nb_dec,
                         const EbNvEncodeCaps *enc, int nb_enc);

/* NvEncodeAPIGetMaxSupportedVersion's value ((major << 4) | minor): 1 if
 * the driver speaks this build's NVENC API, else 0 with the reason. */
int eb_nvidia_nvenc_version_ok(uint32_t max_supported, char *reason, size_t size);

/* The usability verdict of a device whose capabilities are filled: needs
 * H.264 decode and encode, compute capability >= 7.5 and the kernel.
 * Sets d->usable and d->reason. */
void eb_nvidia_verdict(EbHalDeviceInfo *d, int cc_major, int cc_minor, int have_kernel);

/* "0000:01:00.0" */
void eb_nvidia_format_pci(char *buf, size_t size, int domain, int bus, int device);

/* ---- driver access (hal_nvidia.c) ---- */

/* The embedded PTX (generated; "" when built without clang). */
extern const char eb_fanout_cuda_ptx[];

/* 1 if the fan-out kernel is in this build. */
int eb_nvidia_have_kernel(void);

/* ---- CUDA fan-out (eb_fanout_cuda.c) ---- */
int eb_nvidia_fanout_open(EbHalDevice *dev, const EbFanoutConfig *cfg, EbFanout **out);
int eb_nvidia_fanout_run(EbFanout *f, const AVFrame *src, AVFrame **dst);
void eb_nvidia_fanout_close(EbFanout **f);

#endif
