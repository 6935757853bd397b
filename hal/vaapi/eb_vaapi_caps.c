/*
 * VA-API backend, the parts that need no driver: VAStatus translation and
 * the reading of a driver's profile x entrypoint list into encbox's codec
 * capabilities.
 */
#include "eb_vaapi.h"

#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>

#include "eb_error.h"
#include "eb_hal_status.h"

static const EbHalStatus eb_va_status[] = {
    {VA_STATUS_SUCCESS, 0, "success"},
    {VA_STATUS_ERROR_OPERATION_FAILED, -EIO, "operation failed"},
    {VA_STATUS_ERROR_ALLOCATION_FAILED, -ENOMEM, "allocation failed"},
    {VA_STATUS_ERROR_INVALID_DISPLAY, -ENODEV, "invalid display"},
    {VA_STATUS_ERROR_INVALID_CONFIG, -EINVAL, "invalid config"},
    {VA_STATUS_ERROR_INVALID_CONTEXT, -EINVAL, "invalid context"},
    {VA_STATUS_ERROR_INVALID_SURFACE, -EINVAL, "invalid surface"},
    {VA_STATUS_ERROR_INVALID_BUFFER, -EINVAL, "invalid buffer"},
    {VA_STATUS_ERROR_ATTR_NOT_SUPPORTED, -ENOTSUP, "attribute not supported"},
    {VA_STATUS_ERROR_MAX_NUM_EXCEEDED, -E2BIG, "maximum number exceeded"},
    {VA_STATUS_ERROR_UNSUPPORTED_PROFILE, -ENOTSUP, "profile unsupported"},
    {VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT, -ENOTSUP, "entrypoint unsupported"},
    {VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT, -ENOTSUP, "surface format unsupported"},
    {VA_STATUS_ERROR_SURFACE_BUSY, -EBUSY, "surface busy"},
    {VA_STATUS_ERROR_INVALID_PARAMETER, -EINVAL, "invalid parameter"},
    {VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, -ENOTSUP, "resolution unsupported"},
    {VA_STATUS_ERROR_UNIMPLEMENTED, -ENOSYS, "unimplemented (no driver for this device?)"},
    {VA_STATUS_ERROR_DECODING_ERROR, -EIO, "decoding error"},
    {VA_STATUS_ERROR_ENCODING_ERROR, -EIO, "encoding error"},
    {VA_STATUS_ERROR_INVALID_VALUE, -EINVAL, "invalid value"},
    {VA_STATUS_ERROR_HW_BUSY, -EBUSY, "hardware busy"},
    {VA_STATUS_ERROR_TIMEDOUT, -ETIMEDOUT, "timed out"},
    {(int)VA_STATUS_ERROR_UNKNOWN, -EIO, "unknown VA-API error (driver not found or failed)"},
};

int eb_vaapi_status(VAStatus st, const char **text)
{
    return eb_hal_status(eb_va_status, (int)(sizeof(eb_va_status) / sizeof(eb_va_status[0])),
                         (int)st, text);
}

static enum AVCodecID profile_codec(VAProfile p)
{
    switch (p) {
    case VAProfileH264ConstrainedBaseline:
    case VAProfileH264Main:
    case VAProfileH264High:
        return AV_CODEC_ID_H264;
    case VAProfileHEVCMain:
        return AV_CODEC_ID_HEVC;
    case VAProfileVP9Profile0:
        return AV_CODEC_ID_VP9;
    case VAProfileAV1Profile0:
        return AV_CODEC_ID_AV1;
    default:
        return AV_CODEC_ID_NONE;
    }
}

void eb_vaapi_caps_fill(EbHalDeviceInfo *d, const EbVaConfigCaps *caps, int nb)
{
    for (int i = 0; i < nb; i++) {
        enum AVCodecID id = profile_codec(caps[i].profile);
        int enc = caps[i].entrypoint == VAEntrypointEncSlice ||
                  caps[i].entrypoint == VAEntrypointEncSliceLP;
        EbHalCodecCaps *c;

        if (caps[i].entrypoint == VAEntrypointVideoProc) {
            d->vpp = 1;
            continue;
        }
        if (id == AV_CODEC_ID_NONE || (!enc && caps[i].entrypoint != VAEntrypointVLD))
            continue;
        c = eb_hal_info_codec(d, id);
        if (!c)
            continue;
        if (enc) {
            c->encode = 1;
            if (caps[i].max_width > 0) {
                c->max_width = caps[i].max_width;
                c->max_height = caps[i].max_height;
            }
        } else {
            c->decode = 1;
            if (!c->encode && caps[i].max_width > 0 && caps[i].max_width > c->max_width) {
                c->max_width = caps[i].max_width;
                c->max_height = caps[i].max_height;
            }
        }
    }
}

void eb_vaapi_verdict(EbHalDeviceInfo *d)
{
    const EbHalCodecCaps *h264 = NULL;
    for (int i = 0; i < d->nb_codecs; i++)
        if (d->codecs[i].codec == AV_CODEC_ID_H264)
            h264 = &d->codecs[i];
    d->usable = 0;
    if (!h264 || !h264->decode)
        snprintf(d->reason, sizeof(d->reason), "codec unsupported: no H.264 decode (VLD)");
    else if (!h264->encode)
        snprintf(d->reason, sizeof(d->reason), "codec unsupported: no H.264 encode (EncSlice)");
    else if (!d->vpp)
        snprintf(d->reason, sizeof(d->reason), "no video processing entrypoint (scaling)");
    else if (!avcodec_find_encoder_by_name("h264_vaapi"))
        snprintf(d->reason, sizeof(d->reason), "libavcodec has no h264_vaapi encoder");
    else if (!avfilter_get_by_name("scale_vaapi"))
        snprintf(d->reason, sizeof(d->reason), "libavfilter has no scale_vaapi (fan-out)");
    else
        d->usable = 1; /* decode, scaling fan-out (scale_vaapi) and encode */
    if (d->usable)
        d->reason[0] = 0;
}
