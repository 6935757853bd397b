/*
 * The VOD ladder job: one source file in, one published HLS (+ DASH) tree
 * out. A composition of the pipeline engine (eb_pipeline.h): the file input
 * feeds the engine (demux once, decode once, one scaling fan-out per frame
 * for every rung, one encoder per rung running concurrently), the file
 * sink writes every segment into a staging tree, the thumbnail sink taps
 * the smallest rung, and when the engine has finished the job writes the
 * manifests once and publishes the tree atomically.
 *
 * Threads: the engine's (eb-demux, eb-fanout, eb-enc-<r>; see
 * eb_pipeline.h); the caller's thread does the setup, waits (reporting
 * progress), writes the manifests and publishes.
 *
 * Hardware backends: device frames end to end (see eb_pipeline.h),
 * encode/decode sessions acquired through eb_sessions before the encoders
 * open, and one re-run of the whole job on the fallback backend when the
 * hardware fails after the job started (fallback policy permitting).
 */
#ifndef EB_VOD_H
#define EB_VOD_H

#include <stdatomic.h>
#include <stdint.h>

#include "eb_hal.h"
#include "eb_ladder.h"
#include "eb_keys.h"
#include "eb_manifest.h"
#include "eb_pipeline.h"
#include "eb_sessions.h"
#include "eb_sessions_policy.h"
#include "eb_source.h"
#include "eb_thumbs.h"

/* Progress and per-rung figures are the engine's. */
typedef EbPipelineProgress EbVodProgress;
typedef EbPipelineRungStats EbVodRungStats;

/* Session limits of one device (the configuration's `devices` entries):
 * the HAL's one type and matching rule (eb_sessions_limits_for). */
typedef EbSessionsDeviceLimit EbVodDeviceLimit;

/* Sessions a device takes without a `devices` entry: the HAL's defaults
 * (hal/eb_sessions_policy.h, eb_sessions_default_limits): NVIDIA's consumer
 * NVENC cap of the 535 driver series (system-wide; data-centre cards have
 * none: raise it with max_sessions), a sane bound for VA-API/QSV, which
 * have no driver cap, and a decode bound that only keeps the lock files
 * small. */
#define EB_VOD_NVENC_DEFAULT_SESSIONS EB_SESSIONS_NVENC_DEFAULT_ENCODE
#define EB_VOD_VA_DEFAULT_SESSIONS EB_SESSIONS_VA_DEFAULT_ENCODE
#define EB_VOD_DEFAULT_DECODE_SESSIONS EB_SESSIONS_DEFAULT_DECODE
#define EB_VOD_SESSION_TIMEOUT_MS 120000

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
    /* Input limits (the configuration's limits.*), checked once the input
     * is open, before any work: a longer or larger input fails with
     * EB_ERR_INPUT_LIMIT naming the limit. 0: no limit. */
    double max_duration;           /* seconds */
    int64_t max_input_size;        /* bytes of the input file, checked before it opens */
    int max_width, max_height;     /* picture size; a portrait input is compared
                                    * turned on its side */
    /* Hardware jobs: session accounting (eb_sessions). Software jobs take
     * no sessions. */
    const EbVodDeviceLimit *device_limits; /* nb_device_limits entries; NULL: defaults */
    int nb_device_limits;
    int session_timeout_ms;        /* wait for sessions at most this long; default
                                    * EB_VOD_SESSION_TIMEOUT_MS; then the fallback applies */
    const char *sessions_dir;      /* NULL: $EB_SESSIONS_DIR or /run/encbox/sessions */
    /* NULL-terminated registry the backend is chosen from, in preference
     * order; NULL: eb_hal_backends(). Tests pass their own. */
    const EbHalBackend *const *backends;
    void (*progress)(const EbVodProgress *p, void *opaque);
    void *opaque;
    /* Optional: asked once everything is written, just before the publish
     * (with opaque); 0 publishes, a negative error leaves the video
     * unpublished and fails the job with why. encbox serve's workers ask
     * their box whether it still holds the job's lease (eb_jobs.h). */
    int (*before_publish)(void *opaque, char *why, size_t size);
    /* Optional object-storage output (eb_s3.h): once the publish is
     * allowed, the tree goes to the bucket (manifests last) before the
     * local publish; a failed upload fails the job. */
    const struct EbS3 *s3;
    atomic_int *cancel;            /* optional: set non-zero to cancel */
    /* Content protection (eb_keys.h): a fresh key from the key store for
     * this video, every segment encrypted by the encrypting sink, the
     * manifests' key and license URIs. aes-128 is HLS only (no MPD). */
    EbEncryptionScheme encryption; /* default EB_ENCRYPT_NONE */
    const char *key_store;         /* the key store's folder; NULL: <storage_root>/keys */
    const char *public_base_url;   /* prefix of the license URL in the manifests
                                    * ("https://box.example"); NULL/"": root-relative */
} EbVodOptions;

typedef struct EbVodResult {
    char video_id[65];
    char output_dir[4096];         /* <root>/videos/<id> */
    const char *backend;           /* backend actually used */
    int fell_back;                 /* 1 if it is not the one asked for (chosen so at
                                    * the start, or re-run after a hardware failure) */
    char backend_note[512];        /* why this backend (eb_hal_choose's note; after a
                                    * re-run: what failed on the first backend) */
    int64_t device_uploads;        /* host -> device frame copies (software decode on a
                                    * hardware backend: one per frame) */
    int64_t device_downloads;      /* device -> host frame copies (thumbnails) */
    char decode_note[256];         /* hardware backends: where the video was decoded */
    int nb_rungs;
    EbVodRungStats rungs[EB_LADDER_MAX_RUNGS];
    int nb_audio;                                /* audio tracks in the output (TS: at most 1) */
    EbAudioTrackInfo audio[EB_MAX_AUDIO_TRACKS]; /* those tracks, the default first */
    char audio_note[256]; /* audio tracks of the input left out, and why; or "" */
    int64_t source_packets;
    int64_t frames_decoded;        /* decoder output: once per source frame */
    int64_t frames_out;            /* after normalisation */
    int64_t damaged;               /* damaged packets/frames concealed */
    double duration;               /* output seconds */
    double wall_seconds;
    double decode_seconds, filter_seconds, fanout_seconds, audio_seconds;
    double fanout_wait_seconds;    /* fan-out waiting for decoded frames */
    double fanout_blocked_seconds; /* fan-out blocked on full rung queues */
    double demux_blocked_seconds;  /* decoder blocked on a full source queue */
    double demux_cpu_seconds;      /* eb-demux: demux, decode, normalise, audio */
    double fanout_cpu_seconds;     /* eb-fanout: scaling (+ thumbnails) */
    double cpu_seconds;            /* whole job (process CPU while it ran) */
    char error_detail[600];        /* on failure: what exactly went wrong, or "" */
    int thumbnail_sheets;          /* sprite sheets written (0: thumbnails off) */
    int thumbnail_tiles;
    /* Content protection: the scheme, the key id (never the key), the
     * license URL as the manifests give it, and the time spent encrypting. */
    EbEncryptionScheme encryption;
    char key_id[33];           /* hex */
    char license_url[512];     /* cenc/cbcs: ClearKey license; aes-128: the key's URI */
    char protection_note[256]; /* what protection changed in the output, or "" */
    double encrypt_seconds;
    /* Object-storage output: what went to the bucket (objects 0: none). */
    struct {
        int objects, multipart_objects, retries;
        int64_t bytes;
        double seconds;
        char key_prefix[1100]; /* <prefix>videos/<id> */
    } s3;
} EbVodResult;

/* Fills the defaults listed in the struct. */
void eb_vod_options_default(EbVodOptions *o);

/* Runs the job to completion. On failure nothing is left under
 * <root>/videos and the staging folder is removed; the return value says
 * why (see eb_strerror). */
int eb_vod_run(const EbVodOptions *o, EbVodResult *res);

/* ---- hardware jobs: pure decisions, unit-tested ---- */

/* What a hardware job asks eb_sessions for. */
typedef struct EbVodSessionRequest {
    char device[64];               /* accounting key: "nvidia" (NVENC's cap is
                                    * system-wide), "renderD128" (VA-API and QSV on
                                    * that render node) */
    int encode, decode;
    int64_t memory;                /* bytes, estimated (see eb_vod.c) */
} EbVodSessionRequest;

/* The request of a job with nb rungs (plans) on a source (info: geometry,
 * device_decode) on backend (name) and device (dev->name): one encode
 * session per rung, one decode session when the video decodes on the
 * device, and the device memory of the surfaces the job keeps: per rung
 * (queue + in flight + encoder input surfaces) NV12 pictures of its size,
 * the source's pictures (decoder DPB + extra surfaces + queue, or upload
 * pool), and a fixed amount per session. Returns 1 (req filled), 0 for the
 * software backend (nothing to acquire) or EB_ERR(EINVAL). */
int eb_vod_session_request(const EbRungPlan *plans, int nb, const EbSourceInfo *info,
                           const char *backend, const char *device, EbVodSessionRequest *req);

/* The limits for backend/device from limits[0..nb-1] (an exact device
 * entry before a "*" one; none: the defaults above). */
void eb_vod_session_limits(const EbVodDeviceLimit *limits, int nb, const char *backend,
                           const char *device, EbSessionLimits *out);

/* After a run on names[failed] ended with err: re-run the whole job once on
 * another backend? Only a failure in a device stage (hw_stage) of a
 * hardware backend, on the first run (attempt 1), for an error that a
 * software run would not repeat (input, disk, cancel and naming errors are
 * final), and only where the job's --backend/--fallback policy names a
 * usable backend once names[failed] is taken as unusable for reason what
 * (eb_hal_choose). Returns 1 with out->index/name/note (the backend to re-run
 * on), or 0 with out->note saying why not. probes: as the job chose from;
 * only read. */
int eb_vod_fallback_decision(const char *requested, const char *fallback,
                             const char *const *names, const EbHalProbe *probes, int nb,
                             int failed, int err, int hw_stage, const char *what, int attempt,
                             EbHalChoice *out);

#endif
