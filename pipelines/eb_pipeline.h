/*
 * The pipeline engine: one input in, every rung of a ladder encoded
 * concurrently, every rendition's segments out to a segment sink. The VOD
 * job (eb_vod.c) and, next, live channels are compositions of it: they
 * choose the input and the sink, the engine runs the stages.
 *
 *   input (EbInput) ─ eb-demux ─ src_q ─ eb-fanout ─ rung queues ─ eb-enc-<r> × N
 *        next() frames     │ audio: AAC encode;     │ backend fan-out, forced IDRs
 *                          │ CMAF: audio segmenter  │ at the boundary policy's
 *                          │ TS: packets to every   │ boundaries; optional tap of
 *                          │ rung's audio queue     │ the smallest rung (thumbnails)
 *                          ▼                        ▼
 *                      segmenters (mux only) ──▶ EbSegmentSink (init, parts, segments, end)
 *
 * The engine owns no file name and no publishing policy: what the sink does
 * with the bytes, and what happens after eb_pipeline_wait() (manifests, an
 * atomic publish, a sliding window), is the composition's. It owns the
 * stage threads, the bounded queues between them (back-pressure), the
 * first-error abort, cancel, per-stage CPU and progress, the audio
 * encoder, the rung encoders and the segmenters.
 *
 * Sink renditions: 0..nb_rungs-1 are the rungs (in plan order), nb_rungs
 * the audio rendition when audio is separate (CMAF with audio); see
 * eb_pipeline_renditions().
 *
 * Life cycle, all on the caller's thread:
 *   eb_pipeline_open()   audio encoder, queues, the backend's fan-out
 *   (the caller acquires device sessions, opens its sink and taps)
 *   eb_pipeline_start()  rung encoders and segmenters, then the threads
 *   eb_pipeline_wait()   progress until every thread has ended; first error
 *   eb_pipeline_stats()  figures (also after a failure)
 *   eb_pipeline_free()
 * Frame ownership is written in eb_pipeline.c's DESIGN comment.
 */
#ifndef EB_PIPELINE_H
#define EB_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "eb_boundary.h"
#include "eb_hal.h"
#include "eb_input.h"
#include "eb_ladder.h"
#include "eb_manifest.h"
#include "eb_sink.h"

typedef struct EbPipeline EbPipeline;

typedef struct EbPipelineConfig {
    EbInput *input;                /* borrowed, open */
    EbHalDevice *dev;              /* borrowed, open; a hardware device means
                                    * device frames end to end */
    const EbRungPlan *plans;       /* copied; tallest first */
    int nb_rungs;
    EbOutputFormat format;
    double segment_seconds;        /* the boundary policy's length */
    double part_seconds;           /* CMAF low latency: each segment also reported as parts
                                    * of at most this long (eb_segmenter.h); 0: none */
    const char *preset;            /* x264 preset name (mapped for hardware encoders) */
    int encoder_threads;           /* 0: share the cores by rung size */
    int64_t audio_bitrate;         /* 0: drop the input's audio */
    atomic_int *cancel;            /* optional: non-zero cancels */
} EbPipelineConfig;

/* A read-only look at the smallest rung's frames on the fan-out thread
 * (thumbnails). wants(pts) says whether frame pts will be used (on a
 * device, only those are downloaded); frame() gets a yuv420p frame it may
 * reference. Either may be NULL. Errors fail the job. */
typedef struct EbPipelineTap {
    int (*wants)(void *opaque, int64_t pts);
    int (*frame)(void *opaque, const AVFrame *f);
    void *opaque;
} EbPipelineTap;

typedef struct EbPipelineProgress {
    int64_t frames_done;       /* frames every rung has encoded */
    int64_t frames_total;      /* expected, from the input's duration; 0 unknown */
    double percent;
    double fps;                /* source frames per second so far */
    double speed;              /* x realtime */
    double eta_seconds;        /* -1 when unknown */
    int nb_rungs;
    char rung_names[EB_LADDER_MAX_RUNGS][16];
    int64_t rung_frames[EB_LADDER_MAX_RUNGS]; /* frames each rung has encoded */
} EbPipelineProgress;

typedef struct EbPipelineRungStats {
    char name[16];
    int width, height;
    int64_t bitrate;               /* target */
    int64_t frames;                /* frames encoded */
    int64_t video_bytes;           /* video elementary stream bytes */
    int nb_segments;
    double encode_seconds;         /* wall time inside the encoder calls */
    double cpu_seconds;            /* CPU of the rung's thread and its encoder's
                                    * own threads (x264 slices, lookahead) */
    double starved_seconds;        /* rung thread waiting for frames */
    double mux_seconds;
} EbPipelineRungStats;

typedef struct EbPipelineStats {
    int nb_rungs;
    EbPipelineRungStats rungs[EB_LADDER_MAX_RUNGS];
    int nb_audio; /* audio renditions encoded (TS: the default
                   * track only, muxed into every rung) */
    int64_t source_packets;
    int64_t frames_decoded;        /* decoder output: once per source frame */
    int64_t frames_out;            /* after normalisation */
    int64_t damaged;
    double duration;               /* seconds of video handed out */
    int64_t device_uploads;        /* host -> device frame copies */
    int64_t device_downloads;      /* device -> host frame copies (the tap) */
    double decode_seconds, filter_seconds, fanout_seconds, audio_seconds;
    double fanout_wait_seconds;    /* fan-out waiting for decoded frames */
    double fanout_blocked_seconds; /* fan-out blocked on full rung queues */
    double demux_blocked_seconds;  /* decoder blocked on a full source queue */
    double demux_cpu_seconds;      /* eb-demux: input, audio */
    double fanout_cpu_seconds;     /* eb-fanout: scaling (+ tap) */
} EbPipelineStats;

/* Queue depths (frames): two between stages keep every stage busy (the
 * encoders' lookahead is the real buffer); measured on the 1080p30 ladder,
 * 4 -> 2 changed no wall time and saved ~25 MB of peak RSS. Public because
 * a hardware job's device-memory estimate counts the surfaces they hold. */
#define EB_PIPELINE_SRC_QUEUE 2
#define EB_PIPELINE_RUNG_QUEUE 2

/* Opens the engine on cfg: checks it, opens the audio encoder (when the
 * input has audio and cfg->audio_bitrate > 0) and the backend's fan-out.
 * On failure returns the error with detail filled (when there is more to
 * say) and *hw_stage = 1 when the failure was the device's (the fallback
 * policy may re-run the job elsewhere). The caller owns *out. */
int eb_pipeline_open(const EbPipelineConfig *cfg, EbPipeline **out, char *detail,
                     size_t detail_size, int *hw_stage);

/* The renditions the engine will report to its sink, for opening one:
 * fills out[0..] and returns how many. */
int eb_pipeline_renditions(const EbPipeline *p, EbSinkRendition *out, int max);

/* Opens every rung's encoder and the segmenters reporting to sink
 * (borrowed; must outlive the engine), then starts the threads. tap may be
 * NULL. On failure nothing is running; the error says why, with
 * eb_pipeline_error_detail() and eb_pipeline_hw_failed() as for open. */
int eb_pipeline_start(EbPipeline *p, EbSegmentSink *sink, const EbPipelineTap *tap);

/* Waits for every thread on the caller's thread, calling progress (may be
 * NULL) about twice a second and once at the end, and watching
 * cfg->cancel. Returns 0 or the job's first error. */
int eb_pipeline_wait(EbPipeline *p, void (*progress)(const EbPipelineProgress *, void *),
                     void *opaque);

/* After a failure: what exactly went wrong ("" if nothing more), and
 * whether it happened in a device stage. */
const char *eb_pipeline_error_detail(const EbPipeline *p);
int eb_pipeline_hw_failed(const EbPipeline *p);

/* Rendition i as the manifests describe it (name, geometry, frame rate,
 * bit rate, codec string from the encoder's parameter sets; audio: sample
 * rate, channels); the segment list is the sink's. After start. */
int eb_pipeline_describe(const EbPipeline *p, int rendition, EbRendition *out);

/* The boundary policy the engine cuts by. */
const EbBoundaryPolicy *eb_pipeline_boundaries(const EbPipeline *p);

/* Figures so far; call before eb_pipeline_free (the encoders' threads are
 * counted while they live). */
void eb_pipeline_stats(EbPipeline *p, EbPipelineStats *out);

/* Stops and joins anything still running, frees everything the engine
 * opened (not the input, device or sink) and nulls the caller's pointer. */
void eb_pipeline_free(EbPipeline **p);

/* Scheduling niceness of rung i's thread (0..EB_PIPELINE_MAX_RUNG_NICE,
 * added to the process's): the rung with the most pixels is the ladder's
 * critical path and keeps 0; the others get round(6 x (1 - pixels /
 * largest's)), so when the cores are short the largest rung runs first and
 * the small ones, which have slack, fill the gaps. 0 for a one-rung ladder. */
#define EB_PIPELINE_MAX_RUNG_NICE 6
int eb_pipeline_rung_nice(const EbRungPlan *plans, int nb, int i);

#endif
