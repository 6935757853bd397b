/*
 * Segmenter: one per output rendition. Takes encoded packets, muxes them with
 * libavformat into an in-memory buffer and reports the init section (CMAF)
 * and each closed segment, with its sequence number, start, duration and
 * bytes, to the job's segment sink (eb_sink.h). It muxes only: file names,
 * folders and manifests are the sinks' business.
 *
 * The caller decides where segments end (eb_segmenter_cut) so that every
 * rung cuts at the same frame; the segmenter only checks that a video
 * segment starts on a keyframe.
 *
 * Parts (CMAF, low-latency outputs): with part_duration set, each segment
 * is written as a series of fragments (moof+mdat) and each complete one is
 * reported to the sink as a part as soon as it is closed: a part closes
 * once the primary stream's packets in it span part_duration (decode
 * time), and the segment's last part at the cut. A segment's bytes are
 * exactly its parts' bytes, in order; the segment is still reported whole
 * after them. Every rung's parts start at the same frames (same timestamps,
 * same part length), so parts are aligned across renditions.
 *
 * Threading: one thread per segmenter. Ownership: write() does not take the
 * packet (it is unreferenced by the muxer path on success and failure).
 */
#ifndef EB_SEGMENTER_H
#define EB_SEGMENTER_H

#include <libavcodec/avcodec.h>

#include "eb_manifest.h"
#include "eb_sink.h"

typedef struct EbSegmenter EbSegmenter;

typedef struct EbSegmenterConfig {
    EbSegmentSink *sink;             /* borrowed: told of every init section and segment */
    int rendition;                   /* this rendition's number in the sink */
    EbOutputFormat format;
    const AVCodecContext *video;     /* NULL for an audio-only rendition */
    const AVCodecContext *audio;     /* NULL for a video-only rendition */
    int64_t part_duration;           /* CMAF: part length in the primary stream's encoder
                                      * time base (video frames, audio samples); 0: no parts */
} EbSegmenterConfig;

int eb_segmenter_open(const EbSegmenterConfig *cfg, EbSegmenter **out);

/* Writes one packet. is_audio picks the stream; pkt timestamps are in the
 * encoder's time_base. The packet is consumed (unreferenced). */
int eb_segmenter_write(EbSegmenter *s, int is_audio, AVPacket *pkt);

/* Ends the current segment; the next packet written starts a new one, at
 * next_start (the primary stream's encoder time base; AV_NOPTS_VALUE:
 * unknown). The segment then lasts up to next_start, so consecutive
 * segments tile the timeline even where frames are farther apart than
 * their stated duration. A cut with nothing written since the last cut is
 * ignored. */
int eb_segmenter_cut(EbSegmenter *s, int64_t next_start);

/* Flushes the last segment, closes the muxer and tells the sink the
 * rendition has ended. */
int eb_segmenter_finish(EbSegmenter *s);

/* Segments reported so far, and their bytes. */
int eb_segmenter_count(const EbSegmenter *s);
int64_t eb_segmenter_bytes(const EbSegmenter *s);

void eb_segmenter_free(EbSegmenter **s);

/* After a failure: what failed, in words ("the mp4 muxer refused a video
 * packet at 4.120 s (Invalid argument)"), or NULL. */
const char *eb_segmenter_error_detail(const EbSegmenter *s);

#endif
