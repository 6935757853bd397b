/*
 * Inside the QSV backend: the oneVPL status table, the reading of an
 * mfxImplDescription and the fan-out's graph text (pure, tested from
 * constructed data).
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

/* The QSV fan-out's filter graph for cfg (pure; eb_fanout_graph_desc()
 * with vpp_qsv=w=W:h=H:format=nv12 per scaled rung and
 * vpp_qsv=transpose=... for rotation). Returns 0 or a negative error. */
int eb_qsv_fanout_desc(const EbFanoutConfig *cfg, char *buf, size_t size);

#endif
