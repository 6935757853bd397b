/*
 * Segmenter: one per output rendition. Takes encoded packets, muxes them with
 * libavformat into an in-memory buffer and writes one file per segment
 * (CMAF: init.mp4 + segment_NNN.m4s; TS: segment_NNN.ts), recording what the
 * manifests need (segment start, duration, size).
 *
 * The caller decides where segments end (eb_segmenter_cut) so that every
 * rung cuts at the same frame; the segmenter only checks that a video
 * segment starts on a keyframe.
 *
 * Threading: one thread per segmenter. Ownership: write() does not take the
 * packet (it is unreferenced by the muxer path on success and failure).
 */
#ifndef EB_SEGMENTER_H
#define EB_SEGMENTER_H

#include <libavcodec/avcodec.h>

#include "eb_manifest.h"

typedef struct EbSegmenter EbSegmenter;

typedef struct EbSegmenterConfig {
    const char *dir;                 /* existing folder the files go to */
    EbOutputFormat format;
    const AVCodecContext *video;     /* NULL for an audio-only rendition */
    const AVCodecContext *audio;     /* NULL for a video-only rendition */
} EbSegmenterConfig;

int eb_segmenter_open(const EbSegmenterConfig *cfg, EbSegmenter **out);

/* Writes one packet. is_audio picks the stream; pkt timestamps are in the
 * encoder's time_base. The packet is consumed (unreferenced). */
int eb_segmenter_write(EbSegmenter *s, int is_audio, AVPacket *pkt);

/* Ends the current segment; the next packet written starts a new one. A cut
 * with nothing written since the last cut is ignored. */
int eb_segmenter_cut(EbSegmenter *s);

/* Flushes the last segment and closes the muxer. */
int eb_segmenter_finish(EbSegmenter *s);

/* Segment list and timescale of the rendition's primary stream (video if
 * any, else audio); valid until eb_segmenter_free(). */
void eb_segmenter_describe(const EbSegmenter *s, EbRendition *r);
int64_t eb_segmenter_bytes(const EbSegmenter *s);

void eb_segmenter_free(EbSegmenter **s);

#endif
