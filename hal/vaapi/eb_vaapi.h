/*
 * Inside the VA-API backend: the status table, the capability parsing
 * (pure: profiles x entrypoints -> codecs) and the fan-out's graph text,
 * tested from constructed data.
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

/* The VA-API fan-out's filter graph for cfg (pure; eb_fanout_graph_desc()
 * with scale_vaapi=w=W:h=H:format=nv12 per scaled rung and transpose_vaapi
 * for rotation). Returns 0 or a negative error. */
int eb_vaapi_fanout_desc(const EbFanoutConfig *cfg, char *buf, size_t size);

#endif
