/*
 * Inside the QSV backend: the oneVPL status table and the reading of an
 * mfxImplDescription (pure, tested from constructed descriptions).
 */
#ifndef EB_QSV_H
#define EB_QSV_H

#include <vpl/mfx.h>

#include "eb_hal.h"

/* mfxStatus -> negative errno and text. */
int eb_qsv_status(mfxStatus st, const char **text);

/* Fills d from one implementation: name, device id, API version, codecs
 * (decode and encode with their largest surface) and video processing. */
void eb_qsv_caps_fill(EbHalDeviceInfo *d, const mfxImplDescription *impl);

/* The usability verdict of a filled device (impl: its Impl type). */
void eb_qsv_verdict(EbHalDeviceInfo *d, mfxImplType impl);

#endif
