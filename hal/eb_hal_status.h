/*
 * Vendor status codes -> errno + text, one table per vendor ({native, errno,
 * text}, like FFmpeg's nvenc_errors), and the small helpers the hardware
 * backends share for their probe reasons and dlopen() reports.
 */
#ifndef EB_HAL_STATUS_H
#define EB_HAL_STATUS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "eb_hal.h"

typedef struct EbHalStatus {
    int native; /* the vendor's status value */
    int err;    /* negative errno */
    const char *text;
} EbHalStatus;

/* Looks native up in table[0..n-1]; unknown codes give -EIO and "unknown
 * error". *text (optional) gets a static string. Returns the errno. */
static inline int eb_hal_status(const EbHalStatus *table, int n, int native, const char **text)
{
    for (int i = 0; i < n; i++) {
        if (table[i].native == native) {
            if (text)
                *text = table[i].text;
            return table[i].err;
        }
    }
    if (text)
        *text = "unknown error";
    return -EIO;
}

/* Fills an inventory entry with backend, device and an unusable reason. */
static inline void eb_hal_info_unusable(EbHalDeviceInfo *d, const char *backend, const char *device,
                                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline void eb_hal_info_unusable(EbHalDeviceInfo *d, const char *backend, const char *device,
                                        const char *fmt, ...)
{
    va_list ap;
    snprintf(d->backend, sizeof(d->backend), "%s", backend);
    snprintf(d->device, sizeof(d->device), "%s", device ? device : "");
    d->usable = 0;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
}

/* Adds (or finds) the codec's entry in d->codecs; NULL when full. */
static inline EbHalCodecCaps *eb_hal_info_codec(EbHalDeviceInfo *d, enum AVCodecID codec)
{
    for (int i = 0; i < d->nb_codecs; i++)
        if (d->codecs[i].codec == codec)
            return &d->codecs[i];
    if (d->nb_codecs >= EB_HAL_MAX_CODECS)
        return NULL;
    d->codecs[d->nb_codecs] = (EbHalCodecCaps){.codec = codec, .max_bframes = -1};
    return &d->codecs[d->nb_codecs++];
}

/* The probe summary of an inventory: usable if any device is, else the
 * first device's reason. */
static inline void eb_hal_probe_from_info(EbHalProbe *out, const EbHalDeviceInfo *d, int nb)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < nb; i++) {
        if (d[i].usable) {
            out->usable = 1;
            out->nb_devices++;
        }
    }
    if (!out->usable && nb > 0)
        snprintf(out->reason, sizeof(out->reason), "%s", d[0].reason);
}

#endif
