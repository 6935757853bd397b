/*
 * Segment sinks: where a rendition's muxed media goes. The segmenter only
 * muxes; each time it has an init section, a closed segment (or, for low
 * latency, a part of one) it reports it to the job's sink with its bytes
 * and timing. What happens next is the sink's business:
 *
 *   file sink (eb_sink_file.c)  writes the layout's files into a folder (a
 *                               VOD job's staging tree) and keeps each
 *                               rendition's segment list for the manifests
 *   a wrapping sink             transforms and passes on to `next` (an
 *                               encrypting sink over the file sink; a live
 *                               window sink that also rewrites playlists)
 *
 * Renditions are numbered by the job: 0..nb_rungs-1 the video rungs
 * (tallest first), then the audio rendition when it is separate (CMAF).
 *
 * Threading: every callback for one rendition comes from one thread (its
 * encoder's, or the demux thread for audio), in order: init (CMAF), then
 * parts and segments, then end. Callbacks of different renditions run
 * concurrently: a sink that shares state between renditions locks it.
 * Ownership: the bytes in a report belong to the caller and are valid only
 * during the call; a sink copies what it keeps.
 */
#ifndef EB_SINK_H
#define EB_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "eb_keys.h"
#include "eb_manifest.h"

#define EB_SINK_MAX_RENDITIONS 16

/* What a sink is told about each rendition when it opens. */
typedef struct EbSinkRendition {
    char name[16];             /* folder and manifest name: "720p", "audio" */
    int is_audio;
    EbOutputFormat format;
} EbSinkRendition;

/* A closed segment (or a part of the open one). */
typedef struct EbSegmentReport {
    int rendition;
    int64_t sequence;          /* 1-based, per rendition; parts carry their segment's */
    int part;                  /* parts: 0-based index within the segment; -1 for a segment */
    int64_t start;             /* presentation start, in timescale units */
    int64_t duration;          /* in timescale units */
    int timescale;             /* of start and duration */
    int independent;           /* starts with a keyframe (an IDR for video) */
    const uint8_t *data;       /* the segment's bytes (CMAF: moof+mdat…; TS: packets) */
    size_t size;
    const uint8_t *iv; /* whole-segment AES-128: the segment's IV (16 bytes);
                        * NULL: clear or sample-encrypted */
} EbSegmentReport;

typedef struct EbSegmentSink EbSegmentSink;

typedef struct EbSegmentSinkOps {
    const char *name;
    /* CMAF only: the rendition's initialization section (ftyp+moov). */
    int (*init)(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size);
    /* Optional (NULL: ignored): a complete part of the open segment, for
     * low-latency outputs. The segment is still reported whole when it
     * closes, byte-identical to the concatenation of its parts. */
    int (*part)(EbSegmentSink *s, const EbSegmentReport *part);
    int (*segment)(EbSegmentSink *s, const EbSegmentReport *seg);
    /* The rendition is complete: nothing more comes for it. */
    int (*end)(EbSegmentSink *s, int rendition);
    void (*free)(EbSegmentSink *s);
} EbSegmentSinkOps;

struct EbSegmentSink {
    const EbSegmentSinkOps *ops;
    void *priv;                /* the implementation's state */
};

/* Dispatch. Each returns 0 or a negative error, which fails the job. */
int eb_sink_init(EbSegmentSink *s, int rendition, const uint8_t *data, size_t size);
int eb_sink_part(EbSegmentSink *s, const EbSegmentReport *part);
int eb_sink_segment(EbSegmentSink *s, const EbSegmentReport *seg);
int eb_sink_end(EbSegmentSink *s, int rendition);

/* Frees a sink (not the sinks it wraps: their owner frees them) and nulls
 * the caller's pointer. */
void eb_sink_free(EbSegmentSink **s);

/* ---- the file sink ---- */

/* Writes each rendition's init section and segments under dir with the
 * layout's names (eb_layout: cmaf/<r>/init.mp4, cmaf/<r>/segment_NNN.m4s,
 * hls/<r>/segment_NNN.ts), creating the folders now. Every write is
 * checked and atomic (eb_storage_write_file): a full disk fails the job,
 * no short file is left. Keeps every rendition's segment list. The caller
 * owns the returned sink (eb_sink_free). */
int eb_sink_file_open(const char *dir, const EbSinkRendition *renditions, int nb,
                      EbSegmentSink **out);

/* Rendition i's segments so far (timescale, nb_segments, segments; the
 * list stays owned by the sink, valid until the next segment of that
 * rendition or eb_sink_free) and its byte total. Only for a sink made by
 * eb_sink_file_open. */
void eb_sink_file_describe(const EbSegmentSink *s, int rendition, EbRendition *r);

/* ---- the encrypting sink (eb_sink_encrypt.c) ---- */

/* Wraps next (borrowed; must outlive it): every init section, part and
 * segment is protected under scheme with key (copied) before it goes on
 * (eb_sink_encrypt.c says how). cenc and cbcs need CMAF renditions
 * (EB_ERR_BAD_OPTION, with the reason in detail). The caller owns *out. */
int eb_sink_encrypt_open(EbSegmentSink *next, const EbSinkRendition *renditions, int nb,
                         EbEncryptionScheme scheme, const EbCencKey *key, EbSegmentSink **out,
                         char *detail, size_t detail_size);

/* aes-128: each segment's IV is its media sequence number (128-bit big
 * endian, RFC 8216's default) instead of a random one, for a window whose
 * numbering outlives the process (a live channel's). */
void eb_sink_encrypt_sequence_ivs(EbSegmentSink *s);

/* Seconds spent encrypting so far, all renditions together (0 for any
 * other sink). */
double eb_sink_encrypt_seconds(const EbSegmentSink *s);

/* Why the sink failed, when it knows more than the error code ("" if not). */
const char *eb_sink_encrypt_detail(const EbSegmentSink *s);

#endif
