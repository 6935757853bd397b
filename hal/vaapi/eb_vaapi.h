/*
 * Inside the VA-API backend: the status table and the capability parsing
 * (pure: profiles x entrypoints -> codecs), tested from constructed data.
 */
#ifndef EB_VAAPI_H
#define EB_VAAPI_H

#include <va/va.h>

#include "eb_hal.h"

/* VAStatus -> negative errno and text. */
int eb_vaapi_status(VAStatus st, const char **text);

/* One (profile, entrypoint) pair the driver lists, with the surface size
 * limits of that config where queried (0: unknown). */
typedef struct EbVaConfigCaps {
    VAProfile profile;
    VAEntrypoint entrypoint;
    int max_width, max_height;
} EbVaConfigCaps;

/* Adds the codecs (decode: VLD; encode: EncSlice/EncSliceLP) and video
 * processing (VideoProc) of the pairs to d. Unknown profiles are skipped. */
void eb_vaapi_caps_fill(EbHalDeviceInfo *d, const EbVaConfigCaps *caps, int nb);

/* The usability verdict of a filled device. */
void eb_vaapi_verdict(EbHalDeviceInfo *d);

#endif
