/*
 * A live channel's run: a composition of the pipeline engine, like the VOD
 * job (eb_vod.h), with the live input and the window sink:
 *
 *   live input (feed bytes on an fd) -> engine -> window sink
 *        -> <storage>/live/<channel>/ cmaf/<r>/segment_<seq>.m4s, init.mp4
 *        -> on every sequence complete in every rendition: live HLS media
 *           playlists and master, a dynamic MPD (the last window_seconds,
 *           EXT-X-PROGRAM-DATE-TIME / availabilityStartTime from the wall
 *           clock at which the feed's first frame arrived), all replaced
 *           atomically; a segment is listed only after its file is whole
 *        -> segments that left the window are deleted after one more window
 *           (players still fetching them), unless the run is recorded
 *        -> at the end, when the run ends the channel: ENDLIST playlists and,
 *           when recorded, the whole run published as a normal video
 *           (<storage>/videos/<recording>/) whose segments are hard links to
 *           the channel's files: VOD HLS and a static MPD, no re-encode, no
 *           second copy of the media.
 *
 * One run is one engine run over one connection of a publisher (in its own
 * process). A channel's *session* is what players see as one stream: it
 * may span several runs (a publisher that dropped and came back, a worker
 * restarted after a crash), each continuing the numbering after an
 * EXT-X-DISCONTINUITY and in a new DASH Period, on one clock (a run's media
 * time 0 is placed where its first frame arrived). The session's state is
 * its log (eb_live_log.h), so the next run, in another process, continues
 * it. Sequence numbers never repeat on a channel, across sessions too (a
 * cache never holds an earlier session's bytes under a new playlist's
 * name). The session ends (ENDLIST, recording) when a run ends with
 * end_on_eof, or later with eb_live_finish.
 */
#ifndef EB_LIVE_H
#define EB_LIVE_H

#include <stdatomic.h>
#include <stdint.h>

#include "eb_input.h"
#include "eb_keys.h"
#include "eb_ladder.h"
#include "eb_pipeline.h"

/* The default part target of low-latency channels: a third of a second
 * (10 frames at 30 fps, 8 at 25: every part is at most the target). */
#define EB_LIVE_DEFAULT_PART_SECONDS 0.334

typedef struct EbLiveProgress {
    EbPipelineProgress engine; /* frames, fps, speed (x real time), per rung */
    int64_t dropped;           /* frames dropped to keep up with real time */
    double lag_seconds;        /* how late the input hands frames out */
    double av_offset_seconds;  /* audio minus video timestamps in the feed */
    int64_t timestamp_jumps;   /* repaired discontinuities in the feed */
    int64_t bytes;             /* feed bytes read */
    int64_t last_sequence;     /* newest sequence in the playlists; 0: none yet */
    double edge_age_seconds;   /* since that sequence was listed; -1: none yet */
} EbLiveProgress;

/* What a run encodes, once the feed is probed (EbLiveOptions.planned). */
typedef struct EbLivePlan {
    int width, height; /* the source */
    double fps;
    int nb_rungs;
    double pixel_rate; /* pixels per second the rungs encode: the run's cost */
} EbLivePlan;

/* A published recording (EbLiveOptions.recorded). */
typedef struct EbLiveRecording {
    char id[128];      /* its video id: <storage>/videos/<id>/ */
    double start_unix; /* UTC of its first and last frame's arrival */
    double end_unix;
    double duration; /* seconds of media (the time away between runs is not in it) */
    int64_t segments;
    int objects; /* put to the bucket (0: none, or the upload failed) */
    int64_t bytes;
} EbLiveRecording;

typedef struct EbLiveOptions {
    const char *storage_root; /* required */
    const char *channel;      /* required: the channel's name ([a-z0-9_-]{1,64}) */
    EbLiveInputOptions input; /* the feed (fd, format) */
    EbLadder ladder;          /* eb_ladder_default() unless given; rungs capped at the
                               * source, never upscaled */
    const char *preset;       /* x264 preset; default "veryfast" */
    const char *backend;      /* backend name; default "software" */
    double segment_seconds;   /* default 2; 1..10 */
    double window_seconds;    /* default 60; at least 3 segments */
    double part_seconds;      /* low latency (LL-HLS): parts of at most this long
                               * (0.1..segment/2); 0: classic playlists only */
    int record;               /* keep every segment; publish the run when it ends */
    const char *recording_id; /* the recording's video id; NULL: <channel>-<UTC time> */
    int end_on_eof;           /* the feed's end ends the session (ENDLIST, recording);
                               * 0: the playlists stay live for a reconnect */
    int continue_session;     /* continue the session the channel's log has open (a
                               * reconnect, a restart): numbering and window go on
                               * after a discontinuity. A feed whose renditions differ
                               * (another size, frame or sample rate) cannot: the open
                               * session ends and a new one starts. 0: an open session
                               * is ended first (its recording published) */
    void (*recorded)(const EbLiveRecording *rec, void *opaque); /* optional */
    void (*planned)(const EbLivePlan *plan, void *opaque);      /* optional */
    const char *utc_timing_url; /* the live MPD's UTCTiming source; NULL: none */
    int encoder_threads;        /* 0: share the cores by rung size */
    atomic_int *cancel;         /* optional: non-zero ends the run (as a feed end) */
    void (*progress)(const EbLiveProgress *p, void *opaque); /* about twice a second */
    void *opaque;
    /* Content protection (eb_keys.h): every segment and part encrypted by
     * the encrypting sink over the window sink, with the channel's key
     * (content id = the channel's name: the newest key of that scheme in
     * the key store, made on first use, kept across runs and restarts so
     * players keep their license); the recording gets the same key under
     * its own video id. aes-128 cannot have parts (part_seconds 0). */
    EbEncryptionScheme encryption; /* default EB_ENCRYPT_NONE */
    const char *key_store;         /* NULL: <storage_root>/keys */
    const char *public_base_url;   /* absolute license URLs in the MPDs; NULL: none */
    /* Optional object-storage output (eb_s3.h): the window goes to the
     * bucket under <prefix>live/<channel>/ as it is written, by a thread
     * of its own (eb_s3_mirror.h: segments before the manifests that list
     * them, removals after; a failure is counted and logged, never stops
     * the channel); a recording's tree goes under <prefix>videos/<id>/
     * (manifests last) before it is published here. A failed upload is
     * logged and the recording stays on this box: a recording is never
     * lost for the bucket's sake. */
    const struct EbS3 *s3;
} EbLiveOptions;

typedef struct EbLiveResult {
    char error_detail[512];
    int64_t segments; /* sequences published */
    int64_t first_sequence, last_sequence;
    double duration; /* seconds of media published */
    int64_t dropped;
    char recording_id[128]; /* published recording, "" for none */
    char output_dir[4096];  /* <storage>/live/<channel> */
    char key_id[33];        /* encrypted: the channel's key id (hex); "" when clear */
} EbLiveResult;

void eb_live_options_default(EbLiveOptions *o);

/* Runs the channel until the feed ends (or cancel). Returns 0 when the run
 * ended cleanly (a feed that ends is a normal end of a run), or an error
 * with res->error_detail filled. The channel's tree is created if missing;
 * a new session starts a new tree (see the top of the file). */
int eb_live_run(const EbLiveOptions *o, EbLiveResult *res);

/* Ends the session the channel's log has open, without a feed (the
 * publisher stayed away past the reconnect window, the channel was
 * deleted, the daemon restarted): ENDLIST playlists and the recording, as
 * its last run would have. 0 with nothing done when no session is open.
 * Uses storage_root, channel, record, recording_id, recorded. */
int eb_live_finish(const EbLiveOptions *o, EbLiveResult *res);

/* The window of a live rendition: given the durations of its segments
 * (in any unit, nb of them) and the window length in the same unit,
 * the index of the first segment listed: as many of the newest segments
 * as fit in the window, never fewer than min_segments (or all there are). */
int eb_live_window_start(const int64_t *durations, int nb, int64_t window, int min_segments);

#endif
