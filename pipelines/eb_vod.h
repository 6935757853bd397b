/*
 * The VOD ladder job: one source file in, one published HLS (+ DASH) tree
 * out. Demux once, decode once, one scaling fan-out per frame for every
 * rung, one encoder per rung running concurrently, segments and manifests
 * built in staging and published atomically.
 *
 * Threads (all named, all joined before eb_vod_run returns):
 *   eb-demux     demux + decode + normalise (EbSource), audio encode,
 *                audio segments (CMAF)
 *   eb-fanout    backend fan-out: one source frame -> every rung's frame;
 *                marks segment-boundary frames as forced IDRs; feeds the
 *                smallest rung's frames to the thumbnail sink (EbThumbs)
 *   eb-enc-<r>   one per rung: encoder + that rung's segmenter (TS: merges
 *                the audio packets into the rung's segments)
 *   caller       waits, reports progress, writes manifests, publishes
 * Frames move through bounded EbQueues, so memory is bounded by queue
 * depth x rungs + encoder lookahead.
 */
#ifndef EB_VOD_H
#define EB_VOD_H

#include <stdatomic.h>
#include <stdint.h>

#include "eb_ladder.h"
#include "eb_manifest.h"
#include "eb_thumbs.h"

typedef struct EbVodProgress {
    int64_t frames_done;       /* frames every rung has encoded */
    int64_t frames_total;      /* expected, from the source duration */
    double percent;
    double fps;                /* source frames per second so far */
    double speed;              /* x realtime */
    double eta_seconds;        /* -1 when unknown */
} EbVodProgress;

typedef struct EbVodOptions {
    const char *input;
    const char *storage_root;      /* -o OUTDIR */
    const char *video_id;          /* NULL: derived from the input name */
    int overwrite;
    EbLadder ladder;               /* eb_ladder_default() unless given */
    double segment_seconds;        /* default 6 */
    EbOutputFormat format;         /* default CMAF */
    const char *preset;            /* x264 preset names; default "veryfast" */
    const char *backend;           /* "auto" or a backend name; default "auto" */
    const char *fallback;          /* "auto", "none" or a backend name; default "auto" */
    int encoder_threads;           /* 0: share the cores by rung size */
    int check_space;               /* 1: refuse when the estimate exceeds free space */
    EbThumbsOptions thumbs;        /* catalog thumbnail + sprites; on by default */
    const char *const *input_roots; /* NULL-terminated; NULL: input not confined */
    void (*progress)(const EbVodProgress *p, void *opaque);
    void *opaque;
    atomic_int *cancel;            /* optional: set non-zero to cancel */
} EbVodOptions;

typedef struct EbVodRungStats {
    char name[16];
    int width, height;
    int64_t bitrate;               /* target */
    int64_t frames;                /* frames encoded */
    int64_t video_bytes;           /* video elementary stream bytes */
    int nb_segments;
    double encode_seconds;         /* wall time inside the encoder calls */
    double mux_seconds;
} EbVodRungStats;

typedef struct EbVodResult {
    char video_id[65];
    char output_dir[4096];         /* <root>/videos/<id> */
    const char *backend;           /* backend actually used */
    int fell_back;                 /* 1 if it is not the one asked for */
    char backend_note[512];        /* why this backend (eb_hal_choose's note) */
    int nb_rungs;
    EbVodRungStats rungs[EB_LADDER_MAX_RUNGS];
    int has_audio;
    int64_t source_packets;
    int64_t frames_decoded;        /* decoder output: once per source frame */
    int64_t frames_out;            /* after normalisation */
    int64_t damaged;               /* damaged packets/frames concealed */
    double duration;               /* output seconds */
    double wall_seconds;
    double decode_seconds, filter_seconds, fanout_seconds, audio_seconds;
    double fanout_wait_seconds;    /* fan-out blocked on full rung queues */
    char error_detail[600];        /* on failure: what exactly went wrong, or "" */
    int thumbnail_sheets;          /* sprite sheets written (0: thumbnails off) */
    int thumbnail_tiles;
} EbVodResult;

/* Fills the defaults listed in the struct. */
void eb_vod_options_default(EbVodOptions *o);

/* Runs the job to completion. On failure nothing is left under
 * <root>/videos and the staging folder is removed; the return value says
 * why (see eb_strerror). */
int eb_vod_run(const EbVodOptions *o, EbVodResult *res);

/* Frame index at which segment k (k >= 1) starts: the first frame at or
 * after k x segment_seconds. */
int64_t eb_vod_boundary_frame(int64_t k, double segment_seconds, AVRational frame_rate);

#endif
