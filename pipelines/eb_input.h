/*
 * Inputs of the pipeline engine: where a job's decoded, normalised frames
 * come from. The engine's demux stage calls next() in a loop on its own
 * thread and never asks how the frames were obtained, so a file, an upload
 * or a live feed is one more implementation of this interface:
 *
 *   file input (eb_input_file.c)  EbSource over a local file: demux once,
 *                                 decode once, then EbNormalize
 *   live input (eb_input_live.c)  a live feed's bytes (MPEG-TS or FLV) on a
 *                                 file descriptor: timestamps sanitised,
 *                                 frames dropped evenly when the engine
 *                                 falls behind real time, then EbNormalize
 *
 * Normalisation (eb_normalize.h) is not an input's own: every input feeds
 * its decoded frames through an EbNormalize, so deinterlacing, rotation,
 * frame-rate conversion, pixel format, the device upload and the audio
 * alignment are the same whatever the frames came from.
 *
 * What every input hands out (the engine relies on it):
 *   - video as progressive, upright (software path) 8-bit 4:2:0 frames, or
 *     device frames on a hardware backend, with timestamps in 1/frame_rate
 *     (info()->frame_rate) that only increase; gaps are allowed (a live
 *     feed drops frames) and the segment-boundary policy copes with them;
 *   - audio, per track (info()->audio[], the default track first), as
 *     1024-sample frames (AAC's frame size) in 1/sample_rate whose time zero
 *     is the first video frame's. The file input hands out every audio
 *     track up to EB_MAX_AUDIO_TRACKS; the live input its first one.
 * Nothing in the interface seeks, needs a file on disk or a known
 * duration: info()->duration and expected_frames may be 0 (then progress
 * has no percentage), and finish() is where an input that promised a
 * duration says whether it kept the promise.
 *
 * Threading: one thread (the engine's demux thread) calls next() and
 * finish(); stats() may be called from any thread after the engine's
 * threads have ended, or from the demux thread. Ownership: the caller owns
 * the input (eb_input_close) and must keep it open while an engine uses it.
 */
#ifndef EB_INPUT_H
#define EB_INPUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "eb_hal.h"
#include "eb_source.h"

typedef struct EbInput EbInput;

typedef struct EbInputOps {
    const char *name;
    /* What the input carries; valid for the input's life. */
    const EbSourceInfo *(*info)(EbInput *in);
    /* Next frame into frame (empty, caller-allocated); *is_audio says which:
     * 0 video, n >= 1 audio track n - 1 (info()->audio[n - 1]).
     * 0, EB_EOF at the end of the input, or an error. */
    int (*next)(EbInput *in, AVFrame *frame, int *is_audio);
    /* After EB_EOF: 0 if the input delivered what it stated, else an error
     * (EB_ERR_TRUNCATED) with detail filled. NULL: nothing to check. */
    int (*finish)(EbInput *in, char *detail, size_t size);
    void (*stats)(EbInput *in, EbSourceStats *out);
    /* After next() failed: what exactly went wrong, or "". */
    const char *(*error_detail)(EbInput *in);
    void (*close)(EbInput *in);
} EbInputOps;

struct EbInput {
    const EbInputOps *ops;
    void *priv;
};

static inline const EbSourceInfo *eb_input_info(EbInput *in) { return in->ops->info(in); }

/* Closes the input and nulls the caller's pointer. */
void eb_input_close(EbInput **in);

/* The file input: opens path with EbSource (see eb_source.h for the
 * errors and the confinement rules) on dev. detail receives what exactly
 * failed. The caller owns *out. */
int eb_input_file_open(const char *path, EbHalDevice *dev, const EbSourceOptions *so,
                       EbInput **out, char *detail, size_t detail_size);

/* ---- the live input ---- */

typedef struct EbLiveInputOptions {
    int fd;                    /* the feed's bytes, read until EOF (not closed) */
    const char *format;        /* "mpegts" or "flv"; NULL: probe */
    int want_audio;            /* 0: ignore audio */
    /* A frame handed out later than this after real time (its timestamp
     * against the feed's own pace) starts the drop policy; 0: 1 s. */
    double max_lag_seconds;
    atomic_int *cancel;        /* optional: non-zero ends a blocked read */
} EbLiveInputOptions;

/* Live statistics beyond EbSourceStats (eb_input_live_stats). */
typedef struct EbLiveInputStats {
    int64_t bytes;             /* feed bytes read */
    int64_t dropped;           /* decoded frames not handed out (behind real time) */
    int64_t timestamp_jumps;   /* discontinuities repaired (jumps, wraps) */
    double lag_seconds;        /* how late the last frame was handed out */
    double av_offset_seconds;  /* last audio minus last video timestamp read */
    int64_t first_frame_wallclock_us; /* UTC arrival of media time 0; 0 before it */
} EbLiveInputStats;

/* The live input: probes the feed (a few hundred milliseconds of it),
 * decodes in software (uploaded once per frame on a hardware device), and
 * hands out frames at the feed's nominal rate (the normaliser's fps
 * retiming fills a dropped frame and absorbs jitter). Timestamps: each
 * stream's are made continuous (a jump of more than a second either way,
 * a 33-bit wrap, a restarted encoder: the stream continues where it was),
 * so a feed can never move time backwards. Drop policy: frames later than
 * max_lag are dropped one in two, later than 3 x max_lag three in four,
 * counted in dropped, so a box that cannot keep up loses frames evenly
 * instead of growing latency or memory. The caller owns *out. */
int eb_input_live_open(const EbLiveInputOptions *o, EbHalDevice *dev, EbInput **out,
                       char *detail, size_t detail_size);

/* Live figures of an input opened by eb_input_live_open (any thread). */
void eb_input_live_stats(EbInput *in, EbLiveInputStats *out);

#endif
