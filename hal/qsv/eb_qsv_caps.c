/*
 * QSV backend, the parts that need no runtime: mfxStatus translation and
 * the reading of oneVPL's implementation descriptions into encbox's device
 * inventory.
 */
#include "eb_qsv.h"

#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>

#include "eb_error.h"
#include "eb_hal_status.h"

static const EbHalStatus eb_mfx_status[] = {
    {MFX_ERR_NONE, 0, "success"},
    {MFX_ERR_UNKNOWN, -EIO, "unknown error"},
    {MFX_ERR_NULL_PTR, -EFAULT, "null pointer"},
    {MFX_ERR_UNSUPPORTED, -ENOTSUP, "unsupported"},
    {MFX_ERR_MEMORY_ALLOC, -ENOMEM, "memory allocation failed"},
    {MFX_ERR_NOT_ENOUGH_BUFFER, -ENOBUFS, "not enough buffer"},
    {MFX_ERR_INVALID_HANDLE, -EINVAL, "invalid handle"},
    {MFX_ERR_LOCK_MEMORY, -EIO, "memory lock failed"},
    {MFX_ERR_NOT_INITIALIZED, -EINVAL, "not initialised"},
    {MFX_ERR_NOT_FOUND, -ENODEV, "no implementation found (no Intel GPU runtime)"},
    {MFX_ERR_MORE_DATA, -EAGAIN, "more data needed"},
    {MFX_ERR_ABORTED, -ECANCELED, "aborted"},
    {MFX_ERR_DEVICE_LOST, -ENODEV, "device lost"},
    {MFX_ERR_INCOMPATIBLE_VIDEO_PARAM, -EINVAL, "incompatible video parameters"},
    {MFX_ERR_INVALID_VIDEO_PARAM, -EINVAL, "invalid video parameters"},
    {MFX_ERR_UNDEFINED_BEHAVIOR, -EIO, "undefined behaviour"},
    {MFX_ERR_DEVICE_FAILED, -EIO, "device failed"},
    {MFX_ERR_GPU_HANG, -EIO, "GPU hang"},
    {MFX_ERR_NOT_IMPLEMENTED, -ENOSYS, "not implemented"},
};

int eb_qsv_status(mfxStatus st, const char **text)
{
    return eb_hal_status(eb_mfx_status, (int)(sizeof(eb_mfx_status) / sizeof(eb_mfx_status[0])),
                         (int)st, text);
}

static enum AVCodecID mfx_codec(mfxU32 id)
{
    switch (id) {
    case MFX_CODEC_AVC:
        return AV_CODEC_ID_H264;
    case MFX_CODEC_HEVC:
        return AV_CODEC_ID_HEVC;
    case MFX_CODEC_VP9:
        return AV_CODEC_ID_VP9;
    case MFX_CODEC_AV1:
        return AV_CODEC_ID_AV1;
    default:
        return AV_CODEC_ID_NONE;
    }
}

void eb_qsv_caps_fill(EbHalDeviceInfo *d, const mfxImplDescription *impl)
{
    snprintf(d->name, sizeof(d->name), "%.32s%s%.60s", impl->ImplName,
             impl->Dev.DeviceID[0] ? " device " : "", impl->Dev.DeviceID);
    snprintf(d->driver_version, sizeof(d->driver_version), "oneVPL API %u.%u",
             impl->ApiVersion.Major, impl->ApiVersion.Minor);
    for (mfxU16 i = 0; i < impl->Dec.NumCodecs && impl->Dec.Codecs; i++) {
        const struct decoder *c = &impl->Dec.Codecs[i];
        EbHalCodecCaps *cc;
        if (mfx_codec(c->CodecID) == AV_CODEC_ID_NONE ||
            !(cc = eb_hal_info_codec(d, mfx_codec(c->CodecID))))
            continue;
        cc->decode = 1;
        for (mfxU16 p = 0; p < c->NumProfiles && c->Profiles && !cc->encode; p++)
            for (mfxU16 m = 0; m < c->Profiles[p].NumMemTypes && c->Profiles[p].MemDesc; m++) {
                const struct decmemdesc *md = &c->Profiles[p].MemDesc[m];
                if ((int)md->Width.Max > cc->max_width) {
                    cc->max_width = (int)md->Width.Max;
                    cc->max_height = (int)md->Height.Max;
                }
            }
    }
    for (mfxU16 i = 0; i < impl->Enc.NumCodecs && impl->Enc.Codecs; i++) {
        const struct encoder *c = &impl->Enc.Codecs[i];
        EbHalCodecCaps *cc;
        int mw = 0, mh = 0;
        if (mfx_codec(c->CodecID) == AV_CODEC_ID_NONE ||
            !(cc = eb_hal_info_codec(d, mfx_codec(c->CodecID))))
            continue;
        cc->encode = 1;
        cc->max_bframes = c->BiDirectionalPrediction ? -1 : 0;
        for (mfxU16 p = 0; p < c->NumProfiles && c->Profiles; p++)
            for (mfxU16 m = 0; m < c->Profiles[p].NumMemTypes && c->Profiles[p].MemDesc; m++) {
                const struct encmemdesc *md = &c->Profiles[p].MemDesc[m];
                if ((int)md->Width.Max > mw) {
                    mw = (int)md->Width.Max;
                    mh = (int)md->Height.Max;
                }
            }
        if (mw > 0) {
            cc->max_width = mw;
            cc->max_height = mh;
        }
    }
    d->vpp = impl->VPP.NumFilters > 0;
}

void eb_qsv_verdict(EbHalDeviceInfo *d, mfxImplType impl)
{
    const EbHalCodecCaps *h264 = NULL;
    for (int i = 0; i < d->nb_codecs; i++)
        if (d->codecs[i].codec == AV_CODEC_ID_H264)
            h264 = &d->codecs[i];
    d->usable = 0;
    if (impl != MFX_IMPL_TYPE_HARDWARE)
        snprintf(d->reason, sizeof(d->reason), "software implementation, not a GPU");
    else if (!h264 || !h264->decode)
        snprintf(d->reason, sizeof(d->reason), "codec unsupported: no H.264 decode");
    else if (!h264->encode)
        snprintf(d->reason, sizeof(d->reason), "codec unsupported: no H.264 encode");
    else if (!d->vpp)
        snprintf(d->reason, sizeof(d->reason), "no video processing (scaling)");
    else if (!avcodec_find_encoder_by_name("h264_qsv"))
        snprintf(d->reason, sizeof(d->reason), "libavcodec has no h264_qsv encoder");
    else if (!avfilter_get_by_name("vpp_qsv"))
        snprintf(d->reason, sizeof(d->reason), "libavfilter has no vpp_qsv (fan-out)");
    else
        d->usable = 1; /* decode, scaling fan-out (vpp_qsv) and encode */
    if (d->usable)
        d->reason[0] = 0;
}
