/*
 * VOD ladder job. DESIGN
 *
 * Data flow and frame ownership:
 *   eb-demux: EbSource hands out a normalised AVFrame (decoder-owned buffer
 *     or graph buffer). Video frames are moved into a fresh AVFrame and
 *     pushed on src_q (the queue owns it until popped). Audio frames are
 *     encoded right there (AAC is ~1% of the work) and their packets go to
 *     the audio segmenter (CMAF) or, as new references, to every rung's
 *     audio queue (TS, where audio is muxed into each variant).
 *   eb-fanout: pops a source frame (now owns it), calls the backend's
 *     fan-out, which returns one new reference per rung (a same-size rung is
 *     a reference to the source itself: no copy), pushes each on its rung's
 *     queue and drops its own source reference. The decoded surface returns
 *     to its pool when the last rung's encoder has released it.
 *   eb-enc-<rung>: pops rung frames, encodes, muxes. libx264 keeps its own
 *     references for lookahead and releases them as it goes.
 *
 * Segment alignment: the fan-out marks frame eb_vod_boundary_frame(k) as a
 * forced IDR on every rung; each rung's thread cuts its segment when the
 * keyframe packet at or past the next boundary comes out of its encoder.
 * Audio segments (CMAF) end at the AAC frame nearest each video boundary.
 *
 * Errors and cancel: the first failing thread records its error and aborts
 * every queue; blocked threads wake with -EPIPE and exit; the caller joins
 * them all, removes the staging folder and returns the first error.
 *
 * Hardware backends (job.hw_fmt != AV_PIX_FMT_NONE): every frame between
 * the source and the encoders is a device frame. EbSource decodes on the
 * device, or decodes in software and uploads each frame once (eb-demux
 * thread; counted). The fan-out reads device frames (rotation is its job:
 * EbFanoutConfig.rotation) and writes each rung's frames from the rung's
 * frames context, the one the rung's encoder was opened with; a rung
 * thread refuses any frame that is not a device frame. The thumbnail sink
 * gets the smallest rung's frame downloaded (eb-fanout thread; counted) and
 * converted to yuv420p here. Before the encoders open, the job acquires its
 * encode/decode sessions and memory (eb_sessions), waiting up to
 * session_timeout_ms. A failure in a device stage, before or after the
 * threads started, re-runs the whole job once on the backend the fallback
 * policy names (eb_vod_fallback_decision): the first run's staging folder
 * is removed, nothing of it is published.
 */
#include "eb_vod.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/fifo.h>
#include <libavutil/avstring.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "eb_codec_string.h"
#include "eb_cpu.h"
#include "eb_error.h"
#include "eb_hal.h"
#include "eb_hal_hw.h"
#include "eb_sessions.h"
#include "eb_sessions_policy.h"
#include "eb_log.h"
#include "eb_queue.h"
#include "eb_segmenter.h"
#include "eb_source.h"
#include "eb_storage.h"

/* Two frames between stages keep every stage busy (the encoders' own
 * lookahead is the real buffer); deeper queues only held more pictures:
 * measured on the 1080p30 ladder, 4 -> 2 changed no wall time and saved
 * ~25 MB of peak RSS. */
#define EB_SRC_QUEUE 2
#define EB_RUNG_QUEUE 2
#define EB_VOD_CPU_NAMES 64 /* distinct thread names read for the CPU figures */
#define EB_AUDIO_QUEUE 8192 /* packets; TS only; ~170 s of AAC, a few MB */

typedef struct EbJob EbJob;

typedef struct EbRungCtx {
    EbJob *job;
    int index;
    EbRungPlan plan;
    char dir[4200];
    AVCodecContext *enc;
    EbSegmenter *seg;
    EbQueue *frames_q;          /* AVFrame* from the fan-out */
    EbQueue *audio_q;           /* AVPacket* from the demux thread (TS) */
    pthread_t thread;
    int started;
    atomic_llong frames_done;
    int nice;                   /* eb_vod_rung_nice() */
    int64_t next_boundary_k;
    int64_t next_boundary_pts;  /* encoder time base */
    uint64_t encode_ns, mux_ns;
    double thread_cpu;          /* the rung thread's own CPU, at its end */
    int64_t video_bytes;
    AVFifo *pending;            /* TS: video packets waiting for audio */
    AVPacket *audio_next;
    int audio_eof;
    int enc_error;              /* the rung's failure came from the encoder */
} EbRungCtx;

struct EbJob {
    const EbVodOptions *o;
    EbSource *src;
    const EbSourceInfo *info;
    EbHalDevice *dev;
    EbFanout *fanout;
    int nb_rungs;
    EbRungCtx rungs[EB_LADDER_MAX_RUNGS];
    EbQueue *src_q;
    EbThumbs *thumbs;               /* NULL: thumbnails off */
    AVCodecContext *aenc;
    EbSegmenter *aseg;
    char audio_dir[4200];
    int64_t audio_next_k;
    int64_t audio_next_frame;       /* video frame index of the next boundary */
    int64_t audio_next_sample;      /* same boundary in audio samples */
    AVFifo *audio_hold;             /* AVPacket*: CMAF audio waiting on video */
    AVFifo *audio_scratch;
    pthread_t demux_thread, fanout_thread;
    int demux_started, fanout_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int threads_running;
    atomic_int error;
    char error_detail[600];         /* written once, by the first failure */
    int hw_stage_failed;            /* the first failure was in a device stage */
    uint64_t fanout_ns, audio_ns;
    double demux_cpu, fanout_cpu;   /* each thread's own CPU, at its end */

    /* hardware path */
    enum AVPixelFormat hw_fmt;      /* device frames' format; NONE: software backend */
    AVFrame *thumb_dl;              /* eb-fanout: smallest rung downloaded (NV12) */
    struct SwsContext *thumb_sws;   /* eb-fanout: NV12 -> yuv420p for EbThumbs */
    int64_t downloads;              /* eb-fanout; read after the join */
    EbSessions *sessions;
    EbSessionLease *lease;
};

static uint64_t eb_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void eb_vod_options_default(EbVodOptions *o)
{
    memset(o, 0, sizeof(*o));
    eb_ladder_default(&o->ladder);
    o->segment_seconds = 6.0;
    o->format = EB_FORMAT_CMAF;
    o->preset = "veryfast";
    o->backend = "auto";
    o->fallback = "auto";
    o->check_space = 1;
    o->session_timeout_ms = EB_VOD_SESSION_TIMEOUT_MS;
    eb_thumbs_options_default(&o->thumbs);
}

int64_t eb_vod_boundary_frame(int64_t k, double segment_seconds, AVRational fr)
{
    /* Milliseconds keep the arithmetic exact for any sane segment length. */
    int64_t seg_ms = llround(segment_seconds * 1000.0);
    int64_t num = k * seg_ms * fr.num;
    int64_t den = 1000 * (int64_t)fr.den;
    return (num + den - 1) / den;
}

/* ---- job-wide error ---- */

/* Records the job's first error (with an optional detail line for the
 * user, and whether it happened in a device stage) and stops every stage. */
static void eb_job_fail_text(EbJob *job, int err, int hw, const char *text)
{
    int expected = 0;
    if (err >= 0)
        return;
    if (atomic_compare_exchange_strong(&job->error, &expected, err)) {
        job->hw_stage_failed = hw;
        if (text)
            snprintf(job->error_detail, sizeof(job->error_detail), "%s", text);
        EB_LOGD("vod", "job failed: %s%s%s", eb_strerror(err), text ? ": " : "",
                job->error_detail);
    }
    if (job->src_q)
        eb_queue_abort(job->src_q);
    for (int i = 0; i < job->nb_rungs; i++) {
        if (job->rungs[i].frames_q)
            eb_queue_abort(job->rungs[i].frames_q);
        if (job->rungs[i].audio_q)
            eb_queue_abort(job->rungs[i].audio_q);
    }
}

static void eb_job_fail_detail(EbJob *job, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_job_fail_detail(EbJob *job, int err, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eb_job_fail_text(job, err, 0, text);
}

/* A failure in a device stage (decoder, upload/download, fan-out, encoder
 * of a hardware backend): the fallback policy may re-run the job. */
static void eb_job_fail_hw(EbJob *job, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_job_fail_hw(EbJob *job, int err, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eb_job_fail_text(job, err, 1, text);
}

static void eb_job_fail(EbJob *job, int err) { eb_job_fail_text(job, err, 0, NULL); }

static void eb_thread_done(EbJob *job)
{
    pthread_mutex_lock(&job->lock);
    job->threads_running--;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
}

static void eb_free_frame_item(void *item)
{
    AVFrame *f = item;
    av_frame_free(&f);
}

static void eb_free_packet_item(void *item)
{
    AVPacket *p = item;
    av_packet_free(&p);
}

/* ---- audio (demux thread) ---- */

static void eb_audio_next_boundary(EbJob *job)
{
    job->audio_next_k++;
    job->audio_next_frame =
        eb_vod_boundary_frame(job->audio_next_k, job->o->segment_seconds, job->info->frame_rate);
    job->audio_next_sample = av_rescale_q(job->audio_next_frame, av_inv_q(job->info->frame_rate),
                                          job->aenc->time_base);
}

/* CMAF audio: cut before the AAC frame nearest each video boundary, but
 * only at boundaries the video really reaches. Packets from the first one
 * that crosses a boundary are held until the demux thread has handed out
 * the boundary's video frame (then cut) or reached the end (then no cut:
 * audio and video end in the same segment). */
static int eb_audio_release(EbJob *job, int at_eof)
{
    AVPacket *pkt;
    int ret;

    if (av_fifo_can_read(job->audio_hold) == 0)
        return 0;
    if (!at_eof) {
        EbSourceStats ss;
        eb_source_get_stats(job->src, &ss);
        if (ss.frames_out <= job->audio_next_frame)
            return 0; /* video has not got there yet */
        ret = eb_segmenter_cut(job->aseg);
        if (ret < 0)
            return ret;
        eb_audio_next_boundary(job);
    }
    while (av_fifo_read(job->audio_hold, &pkt, 1) >= 0) {
        if (!at_eof && pkt->pts + pkt->duration / 2 >= job->audio_next_sample) {
            /* Crosses the next boundary too: hold it (and the rest) again. */
            AVFifo *rest = job->audio_hold;
            av_fifo_write(job->audio_scratch, &pkt, 1);
            while (av_fifo_read(rest, &pkt, 1) >= 0)
                av_fifo_write(job->audio_scratch, &pkt, 1);
            job->audio_hold = job->audio_scratch;
            job->audio_scratch = rest;
            return eb_audio_release(job, 0);
        }
        ret = eb_segmenter_write(job->aseg, 1, pkt);
        av_packet_free(&pkt);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int eb_audio_write(EbJob *job, AVPacket *pkt)
{
    if (job->o->format == EB_FORMAT_CMAF) {
        if (av_fifo_can_read(job->audio_hold) > 0 ||
            pkt->pts + pkt->duration / 2 >= job->audio_next_sample) {
            AVPacket *held = av_packet_alloc();
            int ret;
            if (!held)
                return EB_ERR(ENOMEM);
            av_packet_move_ref(held, pkt);
            ret = av_fifo_write(job->audio_hold, &held, 1);
            if (ret < 0) {
                av_packet_free(&held);
                return ret;
            }
            return eb_audio_release(job, 0);
        }
        return eb_segmenter_write(job->aseg, 1, pkt);
    }
    for (int i = 0; i < job->nb_rungs; i++) {
        AVPacket *ref = av_packet_clone(pkt);
        int ret;
        if (!ref)
            return EB_ERR(ENOMEM);
        ret = eb_queue_push(job->rungs[i].audio_q, ref);
        if (ret < 0) {
            av_packet_free(&ref);
            return ret;
        }
    }
    av_packet_unref(pkt);
    return 0;
}

static int eb_audio_encode(EbJob *job, AVFrame *frame, AVPacket *pkt)
{
    uint64_t t0 = eb_ns();
    int ret = avcodec_send_frame(job->aenc, frame);

    while (ret >= 0) {
        ret = avcodec_receive_packet(job->aenc, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0)
            break;
        ret = eb_audio_write(job, pkt);
    }
    job->audio_ns += eb_ns() - t0;
    return ret;
}

static void *eb_demux_main(void *arg)
{
    EbJob *job = arg;
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = 0, is_audio;

    pthread_setname_np(pthread_self(), "eb-demux");
    if (!frame || !pkt) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    for (;;) {
        if (job->o->cancel && atomic_load(job->o->cancel)) {
            ret = EB_ERR_CANCELED;
            break;
        }
        ret = eb_source_next(job->src, frame, &is_audio);
        if (ret == EB_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0) {
            const char *d = eb_source_error_detail(job->src);
            /* On a hardware backend the source stage decodes or uploads
             * for the device: its failures are device-stage failures
             * (eb_vod_fallback_decision leaves out the input's own
             * errors). */
            eb_job_fail_text(job, ret, job->hw_fmt != AV_PIX_FMT_NONE, d[0] ? d : NULL);
            break;
        }
        if (is_audio) {
            ret = job->aenc ? eb_audio_encode(job, frame, pkt) : 0;
            av_frame_unref(frame);
        } else {
            AVFrame *item = av_frame_alloc();
            if (!item) {
                ret = EB_ERR(ENOMEM);
                break;
            }
            av_frame_move_ref(item, frame);
            ret = eb_queue_push(job->src_q, item);
            if (ret < 0)
                av_frame_free(&item);
            else if (job->aseg)
                ret = eb_audio_release(job, 0);
        }
        if (ret < 0)
            break;
    }
    if (ret >= 0 && eb_source_truncated(job->src)) {
        EbSourceStats ss;
        eb_source_get_stats(job->src, &ss);
        eb_job_fail_detail(job, EB_ERR_TRUNCATED, "%.2f s of video decoded, the file states %.2f s",
                           ss.frames_out / av_q2d(job->info->frame_rate), job->info->duration);
        ret = EB_ERR_TRUNCATED;
    }
    if (ret >= 0 && job->aenc) {
        ret = eb_audio_encode(job, NULL, pkt);
        if (ret >= 0 && job->aseg)
            ret = eb_audio_release(job, 1);
        if (ret >= 0 && job->aseg)
            ret = eb_segmenter_finish(job->aseg);
    }
end:
    if (ret < 0)
        eb_job_fail(job, ret);
    eb_queue_close(job->src_q);
    for (int i = 0; i < job->nb_rungs; i++)
        if (job->rungs[i].audio_q)
            eb_queue_close(job->rungs[i].audio_q);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    job->demux_cpu = eb_cpu_thread_seconds();
    eb_thread_done(job);
    return NULL;
}

/* ---- fan-out ---- */

/* Hardware path: the smallest rung's device frame, downloaded (NV12) and
 * converted to the yuv420p EbThumbs reads. A new buffer per frame: the
 * sink may keep a reference to what it was given. */
static int eb_thumbs_push_device(EbJob *job, const AVFrame *hw)
{
    AVFrame *yuv = NULL;
    int ret;

    av_frame_unref(job->thumb_dl);
    ret = eb_hal_hw_download(hw, job->thumb_dl);
    if (ret < 0) {
        eb_job_fail_hw(job, ret, "thumbnail download from %s failed: %s", job->dev->name,
                       eb_strerror(ret));
        return ret;
    }
    job->downloads++;
    if (!job->thumb_sws) {
        job->thumb_sws = sws_getContext(hw->width, hw->height, AV_PIX_FMT_NV12, hw->width,
                                        hw->height, AV_PIX_FMT_YUV420P, SWS_POINT, NULL, NULL,
                                        NULL);
        if (!job->thumb_sws)
            return EB_ERR(ENOMEM);
    }
    yuv = av_frame_alloc();
    if (!yuv)
        return EB_ERR(ENOMEM);
    yuv->format = AV_PIX_FMT_YUV420P;
    yuv->width = hw->width;
    yuv->height = hw->height;
    ret = av_frame_get_buffer(yuv, 0);
    if (ret >= 0)
        ret = av_frame_copy_props(yuv, job->thumb_dl);
    if (ret >= 0)
        ret = sws_scale(job->thumb_sws, (const uint8_t *const *)job->thumb_dl->data,
                        job->thumb_dl->linesize, 0, hw->height, yuv->data, yuv->linesize);
    if (ret >= 0)
        ret = eb_thumbs_push(job->thumbs, yuv);
    av_frame_free(&yuv);
    return ret < 0 ? ret : 0;
}

static void *eb_fanout_main(void *arg)
{
    EbJob *job = arg;
    AVFrame *outs[EB_LADDER_MAX_RUNGS] = {0};
    int64_t k = 1;
    int64_t next = eb_vod_boundary_frame(k, job->o->segment_seconds, job->info->frame_rate);
    int hw = job->hw_fmt != AV_PIX_FMT_NONE;
    int ret = 0;

    pthread_setname_np(pthread_self(), "eb-fanout");
    for (;;) {
        void *item;
        AVFrame *src;
        uint64_t t0;
        int force;

        ret = eb_queue_pop(job->src_q, &item);
        if (ret == EB_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0)
            break;
        src = item;
        t0 = eb_ns();
        ret = job->dev->backend->fanout_run(job->fanout, src, outs);
        job->fanout_ns += eb_ns() - t0;
        if (ret < 0 && hw)
            eb_job_fail_hw(job, ret, "%s fan-out failed: %s", job->dev->backend->name,
                           eb_strerror(ret));
        /* Thumbnails come from the smallest rung: already scaled, and the
         * same frames the encoders get (never a second decode). */
        if (ret >= 0 && job->thumbs && !hw)
            ret = eb_thumbs_push(job->thumbs, outs[job->nb_rungs - 1]);
        /* On a device, download only the frames the sink will use. */
        else if (ret >= 0 && job->thumbs &&
                 eb_thumbs_wants(job->thumbs, outs[job->nb_rungs - 1]->pts))
            ret = eb_thumbs_push_device(job, outs[job->nb_rungs - 1]);
        force = src->pts == 0 || src->pts >= next;
        while (src->pts >= next)
            next = eb_vod_boundary_frame(++k, job->o->segment_seconds, job->info->frame_rate);
        av_frame_free(&src);
        if (ret < 0)
            break;
        for (int i = 0; i < job->nb_rungs; i++) {
            outs[i]->pict_type = force ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
            if (ret >= 0)
                ret = eb_queue_push(job->rungs[i].frames_q, outs[i]);
            if (ret < 0 || !outs[i])
                av_frame_free(&outs[i]);
            outs[i] = NULL;
        }
        if (ret < 0)
            break;
    }
    for (int i = 0; i < job->nb_rungs; i++)
        av_frame_free(&outs[i]);
    if (ret < 0)
        eb_job_fail(job, ret);
    for (int i = 0; i < job->nb_rungs; i++)
        eb_queue_close(job->rungs[i].frames_q);
    job->fanout_cpu = eb_cpu_thread_seconds();
    eb_thread_done(job);
    return NULL;
}

/* ---- rung encoder + mux ---- */

static int eb_rung_write_video(EbRungCtx *r, AVPacket *pkt)
{
    EbJob *job = r->job;
    int ret;

    if ((pkt->flags & AV_PKT_FLAG_KEY) && pkt->pts >= r->next_boundary_pts) {
        ret = eb_segmenter_cut(r->seg);
        if (ret < 0)
            return ret;
        while (pkt->pts >= r->next_boundary_pts)
            r->next_boundary_pts = eb_vod_boundary_frame(++r->next_boundary_k,
                                                         job->o->segment_seconds,
                                                         job->info->frame_rate);
    }
    r->video_bytes += pkt->size;
    return eb_segmenter_write(r->seg, 0, pkt);
}

/* TS: write pending video packets, interleaving audio up to each one's dts.
 * Without block, stop when audio has not caught up yet. */
static int eb_rung_drain(EbRungCtx *r, int block)
{
    AVPacket *v;
    int ret;

    for (;;) {
        if (!r->audio_next && !r->audio_eof) {
            void *item;
            ret = block ? eb_queue_pop(r->audio_q, &item) : eb_queue_try_pop(r->audio_q, &item);
            if (ret == EB_EOF)
                r->audio_eof = 1;
            else if (ret == EB_ERR(EAGAIN))
                return 0;
            else if (ret < 0)
                return ret;
            else
                r->audio_next = item;
        }
        if (av_fifo_peek(r->pending, &v, 1, 0) < 0) {
            if (!block || r->audio_eof)
                return 0;
            /* Video is done: flush the rest of the audio. */
            ret = eb_segmenter_write(r->seg, 1, r->audio_next);
            av_packet_free(&r->audio_next);
            if (ret < 0)
                return ret;
            continue;
        }
        if (r->audio_next && av_compare_ts(r->audio_next->dts, r->job->aenc->time_base, v->dts,
                                           r->enc->time_base) <= 0) {
            ret = eb_segmenter_write(r->seg, 1, r->audio_next);
            av_packet_free(&r->audio_next);
            if (ret < 0)
                return ret;
            continue;
        }
        av_fifo_drain2(r->pending, 1);
        ret = eb_rung_write_video(r, v);
        av_packet_free(&v);
        if (ret < 0)
            return ret;
    }
}

static int eb_rung_packets(EbRungCtx *r, AVPacket *pkt)
{
    int ret;

    for (;;) {
        uint64_t t0 = eb_ns();
        ret = avcodec_receive_packet(r->enc, pkt);
        r->encode_ns += eb_ns() - t0;
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            r->enc_error = 1;
            return ret;
        }
        if (pkt->duration <= 0)
            pkt->duration = 1; /* one frame: the encoder time base is 1/rate */
        t0 = eb_ns();
        if (r->audio_q) {
            AVPacket *held = av_packet_alloc();
            if (!held)
                return EB_ERR(ENOMEM);
            av_packet_move_ref(held, pkt);
            ret = av_fifo_write(r->pending, &held, 1);
            if (ret < 0) {
                av_packet_free(&held);
                return ret;
            }
            ret = eb_rung_drain(r, 0);
        } else {
            ret = eb_rung_write_video(r, pkt);
        }
        r->mux_ns += eb_ns() - t0;
        if (ret < 0)
            return ret;
    }
}

int eb_vod_rung_nice(const EbRungPlan *plans, int nb, int i)
{
    double largest = 0, mine;

    if (nb < 2 || i < 0 || i >= nb)
        return 0;
    for (int j = 0; j < nb; j++)
        largest = fmax(largest, (double)plans[j].width * plans[j].height);
    mine = (double)plans[i].width * plans[i].height;
    return largest > 0 ? (int)lround(EB_VOD_MAX_RUNG_NICE * (1.0 - mine / largest)) : 0;
}

static void *eb_rung_main(void *arg)
{
    EbRungCtx *r = arg;
    EbJob *job = r->job;
    AVPacket *pkt = av_packet_alloc();
    char name[32];
    int ret = 0;

    snprintf(name, sizeof(name), "eb-enc-%s", r->plan.rung.name);
    name[15] = '\0'; /* the kernel keeps 15 characters */
    pthread_setname_np(pthread_self(), name);
    /* The critical path first (eb_vod_rung_nice). Measured on 2 cores, 20 s
     * 1080p30 default ladder, 3 runs each: 13.81 s median wall with every
     * rung at the same priority, 13.17 s with 720p/480p/360p at +3/+6/+6
     * (+5/+10/+10: 13.33 s). Raising one's own nice needs no privilege; a
     * refusal is harmless. */
    if (r->nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(),
                                   getpriority(PRIO_PROCESS, (id_t)gettid()) + r->nice) < 0)
        EB_LOGD("vod", "rung %s: nice +%d refused", r->plan.rung.name, r->nice);
    if (!pkt) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    for (;;) {
        void *item;
        AVFrame *f = NULL;
        uint64_t t0;

        ret = eb_queue_pop(r->frames_q, &item);
        if (ret == EB_EOF)
            ret = 0;
        else if (ret < 0)
            break;
        else
            f = item;
        if (f && job->hw_fmt != AV_PIX_FMT_NONE &&
            (f->format != job->hw_fmt || !f->hw_frames_ctx)) {
            /* Copy accounting: on a hardware path nothing but device
             * frames reaches an encoder (no hidden upload inside it). */
            const char *name = av_get_pix_fmt_name(f->format);
            ret = EB_ERR(EPROTO);
            eb_job_fail_hw(job, ret,
                           "internal error: rung %s was handed a %s frame, not a %s device frame",
                           r->plan.rung.name, name ? name : "?",
                           av_get_pix_fmt_name(job->hw_fmt));
            av_frame_free(&f);
            break;
        }
        t0 = eb_ns();
        ret = avcodec_send_frame(r->enc, f); /* NULL flushes */
        r->encode_ns += eb_ns() - t0;
        av_frame_free(&f);
        if (ret < 0) {
            r->enc_error = 1;
            break;
        }
        ret = eb_rung_packets(r, pkt);
        if (ret < 0)
            break;
        if (!item)
            break;
        atomic_fetch_add(&r->frames_done, 1);
    }
    if (ret >= 0 && r->audio_q)
        ret = eb_rung_drain(r, 1);
    if (ret >= 0)
        ret = eb_segmenter_finish(r->seg);
end:
    if (ret < 0 && r->enc_error && job->hw_fmt != AV_PIX_FMT_NONE)
        eb_job_fail_hw(job, ret, "%s encoder of rung %s failed: %s", r->enc->codec->name,
                       r->plan.rung.name, eb_strerror(ret));
    if (ret < 0)
        eb_job_fail(job, ret);
    av_packet_free(&pkt);
    r->thread_cpu = eb_cpu_thread_seconds();
    eb_thread_done(job);
    return NULL;
}

/* ---- setup ---- */

/* RFC 6381 codec string of a rung's encoder, from its parameter sets. An
 * encoder that left none (none of ours do) gets the string of the most
 * capable profile the rung's codec allows at 1080p, so players still pick a
 * decoder, and the log says so. */
static void eb_rung_codec_string(const EbRungCtx *r, char *out, size_t size)
{
    const AVCodecContext *enc = r->enc;
    const int hevc = enc->codec_id == AV_CODEC_ID_HEVC;
    int ret = hevc ? eb_codec_string_hevc(enc->extradata, enc->extradata_size, out, size)
                   : eb_codec_string_avc(enc->extradata, enc->extradata_size, out, size);

    if (ret < 0) {
        snprintf(out, size, "%s", hevc ? "hvc1.1.6.L123.B0" : "avc1.640028");
        EB_LOGW("vod", "rung %s: no SPS in the encoder's extradata; CODECS says %s",
                r->plan.rung.name, out);
    }
}

static int eb_open_audio_encoder(EbJob *job)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *c;
    int ret;

    if (!codec)
        return EB_ERR_CODEC_UNSUPPORTED;
    c = avcodec_alloc_context3(codec);
    if (!c)
        return EB_ERR(ENOMEM);
    c->sample_rate = job->info->sample_rate;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&c->ch_layout, job->info->channels);
    c->bit_rate = job->o->ladder.audio_bitrate;
    c->time_base = (AVRational){1, c->sample_rate};
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = avcodec_open2(c, codec, NULL);
    if (ret < 0) {
        avcodec_free_context(&c);
        return ret;
    }
    job->aenc = c;
    return 0;
}

static int eb_rung_threads(const EbJob *job, int i)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double total = 0, share;
    int t;

    if (job->o->encoder_threads > 0)
        return job->o->encoder_threads;
    for (int j = 0; j < job->nb_rungs; j++)
        total += (double)job->rungs[j].plan.width * job->rungs[j].plan.height;
    share = (double)job->rungs[i].plan.width * job->rungs[i].plan.height / total;
    /* Threads in proportion to the rung's share of the pixels, and one more
     * for the largest rung of a ladder: it is the critical path, and with
     * more runnable threads it gets a bigger share of the cores while the
     * small rungs fill the gaps. Measured (2 cores, 20 s 1080p30 default
     * ladder, sliced threads): 1080p with 2 threads 13.6-14.0 s wall, with
     * 3 threads 13.2-13.3 s, same CPU time and PSNR (4 threads: 13.0-13.2 s
     * but -0.04 dB from the fourth slice). */
    t = (int)lround(share * (double)(cpus < 1 ? 1 : cpus) * 1.5);
    if (job->nb_rungs > 1) {
        int largest = 1;
        for (int j = 0; j < job->nb_rungs; j++)
            if ((double)job->rungs[j].plan.width * job->rungs[j].plan.height >
                (double)job->rungs[i].plan.width * job->rungs[i].plan.height)
                largest = 0;
        t += largest;
    }
    return t < 1 ? 1 : t;
}

static int eb_open_rung(EbJob *job, int i, const char *staging)
{
    EbRungCtx *r = &job->rungs[i];
    EbEncodeParams p = {0};
    EbSegmenterConfig sc = {0};
    int ret;

    r->job = job;
    r->index = i;
    atomic_init(&r->frames_done, 0);
    r->next_boundary_k = 1;
    r->next_boundary_pts = eb_vod_boundary_frame(1, job->o->segment_seconds, job->info->frame_rate);
    /* Rung folders: cmaf/<rung> (CMAF) or hls/<rung> (TS, next to the playlist). */
    snprintf(r->dir, sizeof(r->dir), "%s/%s/", staging,
             job->o->format == EB_FORMAT_CMAF ? "cmaf" : "hls");
    av_strlcat(r->dir, r->plan.rung.name, sizeof(r->dir));
    ret = eb_storage_mkdirs(r->dir);
    if (ret < 0)
        return ret;

    p.codec = eb_rung_codec_id(&r->plan.rung);
    p.width = r->plan.width;
    p.height = r->plan.height;
    p.frame_rate = job->info->frame_rate;
    p.time_base = av_inv_q(job->info->frame_rate);
    p.bitrate = r->plan.rung.bitrate;
    p.maxrate = eb_rung_maxrate(&r->plan.rung);
    p.bufsize = eb_rung_bufsize(&r->plan.rung);
    /* Longest distance between two boundaries, plus one so the encoder's own
     * keyframe interval never fires before the forced IDR. */
    p.gop_frames = (int)(eb_vod_boundary_frame(1, job->o->segment_seconds, job->info->frame_rate) + 1);
    p.preset = job->o->preset;
    p.profile = r->plan.rung.profile;
    p.threads = eb_rung_threads(job, i);
    {
        EbRungPlan plans[EB_LADDER_MAX_RUNGS];
        for (int j = 0; j < job->nb_rungs; j++)
            plans[j] = job->rungs[j].plan;
        r->nice = eb_vod_rung_nice(plans, job->nb_rungs, i);
    }
    p.color_primaries = job->info->color_primaries;
    p.color_trc = job->info->color_trc;
    p.colorspace = job->info->colorspace;
    p.color_range = job->info->color_range;
    p.chroma_location = job->info->chroma_location;
    {
        /* Threads the encoder starts (x264's slice and lookahead threads)
         * inherit the name of the thread that opens it: give them the rung's,
         * so `top -H` and the per-stage CPU figures put them where they
         * belong. */
        char self[16] = "", name[32];
        pthread_getname_np(pthread_self(), self, sizeof(self));
        snprintf(name, sizeof(name), "eb-enc-%s", r->plan.rung.name);
        name[15] = '\0';
        pthread_setname_np(pthread_self(), name);
        ret = job->dev->backend->encoder_open(job->dev, &p, &r->enc);
        pthread_setname_np(pthread_self(), self);
    }
    if (ret < 0) {
        if (job->hw_fmt != AV_PIX_FMT_NONE) {
            /* Single-threaded setup: the attempt reports it. */
            job->hw_stage_failed = 1;
            snprintf(job->error_detail, sizeof(job->error_detail),
                     "%s encoder for rung %s (%dx%d) did not open: %s", job->dev->backend->name,
                     r->plan.rung.name, p.width, p.height, eb_strerror(ret));
        }
        return ret;
    }

    sc.dir = r->dir;
    sc.format = job->o->format;
    sc.video = r->enc;
    sc.audio = job->o->format == EB_FORMAT_TS ? job->aenc : NULL;
    ret = eb_segmenter_open(&sc, &r->seg);
    if (ret < 0)
        return ret;
    ret = eb_queue_create(&r->frames_q, EB_RUNG_QUEUE, eb_free_frame_item);
    if (ret < 0)
        return ret;
    if (sc.audio) {
        ret = eb_queue_create(&r->audio_q, EB_AUDIO_QUEUE, eb_free_packet_item);
        if (ret < 0)
            return ret;
        r->pending = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
        if (!r->pending)
            return EB_ERR(ENOMEM);
    }
    return 0;
}

static void eb_free_packet_fifo(AVFifo **fifo)
{
    AVPacket *p;

    if (!*fifo)
        return;
    while (av_fifo_read(*fifo, &p, 1) >= 0)
        av_packet_free(&p);
    av_fifo_freep2(fifo);
}

static void eb_close_rung(EbRungCtx *r)
{
    avcodec_free_context(&r->enc);
    eb_segmenter_free(&r->seg);
    eb_queue_free(&r->frames_q);
    eb_queue_free(&r->audio_q);
    eb_free_packet_fifo(&r->pending);
    av_packet_free(&r->audio_next);
}

static int eb_write_text(const char *path, const AVBPrint *bp)
{
    return eb_storage_write_file(path, bp->str, bp->len);
}

static int eb_write_manifests(EbJob *job, const char *staging, const EbThumbnailTrack *thumbs)
{
    EbRendition video[EB_LADDER_MAX_RUNGS], audio;
    EbPresentation pres = {0};
    AVBPrint bp;
    char path[4300];
    int ret = 0;
    char acodec[16] = "mp4a.40.2";

    memset(video, 0, sizeof(video));
    memset(&audio, 0, sizeof(audio));
    pres.format = job->o->format;
    pres.segment_seconds = job->o->segment_seconds;
    pres.nb_video = job->nb_rungs;
    pres.video = video;
    for (int i = 0; i < job->nb_rungs; i++) {
        EbRungCtx *r = &job->rungs[i];
        EbRendition *v = &video[i];
        snprintf(v->name, sizeof(v->name), "%s", r->plan.rung.name);
        v->width = r->plan.width;
        v->height = r->plan.height;
        v->frame_rate = job->info->frame_rate;
        v->bitrate = r->plan.rung.bitrate;
        eb_rung_codec_string(r, v->codecs, sizeof(v->codecs));
        if (job->o->format == EB_FORMAT_TS && job->aenc)
            av_strlcatf(v->codecs, sizeof(v->codecs), ",%s", acodec);
        eb_segmenter_describe(r->seg, v);
    }
    if (job->aseg) {
        snprintf(audio.name, sizeof(audio.name), "audio");
        audio.is_audio = 1;
        audio.sample_rate = job->aenc->sample_rate;
        audio.channels = job->aenc->ch_layout.nb_channels;
        audio.bitrate = job->aenc->bit_rate;
        snprintf(audio.codecs, sizeof(audio.codecs), "%s", acodec);
        eb_segmenter_describe(job->aseg, &audio);
        pres.audio = &audio;
    }

    pres.thumbnails = thumbs;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    snprintf(path, sizeof(path), "%s/hls", staging);
    ret = eb_storage_mkdirs(path);
    if (ret >= 0)
        ret = eb_manifest_hls_master(&pres, &bp);
    if (ret >= 0) {
        snprintf(path, sizeof(path), "%s/hls/master.m3u8", staging);
        ret = eb_write_text(path, &bp);
    }
    for (int i = 0; ret >= 0 && i < job->nb_rungs + (pres.audio ? 1 : 0); i++) {
        const EbRendition *r = i < job->nb_rungs ? &video[i] : pres.audio;
        av_bprint_clear(&bp);
        snprintf(path, sizeof(path), "%s/hls/%s", staging, r->name);
        ret = eb_storage_mkdirs(path);
        if (ret >= 0)
            ret = eb_manifest_hls_media(&pres, r, &bp);
        if (ret >= 0) {
            snprintf(path, sizeof(path), "%s/hls/%s/index.m3u8", staging, r->name);
            ret = eb_write_text(path, &bp);
        }
    }
    if (ret >= 0 && thumbs) {
        av_bprint_clear(&bp);
        snprintf(path, sizeof(path), "%s/hls/thumbnails", staging);
        ret = eb_storage_mkdirs(path);
        if (ret >= 0)
            ret = eb_manifest_hls_images(&pres, &bp);
        if (ret >= 0) {
            snprintf(path, sizeof(path), "%s/hls/thumbnails/index.m3u8", staging);
            ret = eb_write_text(path, &bp);
        }
    }
    if (ret >= 0 && job->o->format == EB_FORMAT_CMAF) {
        av_bprint_clear(&bp);
        snprintf(path, sizeof(path), "%s/dash", staging);
        ret = eb_storage_mkdirs(path);
        if (ret >= 0)
            ret = eb_manifest_dash_mpd(&pres, &bp);
        if (ret >= 0) {
            snprintf(path, sizeof(path), "%s/dash/manifest.mpd", staging);
            ret = eb_write_text(path, &bp);
        }
    }
    av_bprint_finalize(&bp, NULL);
    if (ret < 0)
        EB_LOGD("vod", "writing manifests failed: %s", eb_strerror(ret));
    return ret;
}

/* ---- hardware jobs: sessions and fallback (pure parts public) ---- */

/* Device memory estimate: NV12 surfaces as the drivers lay them out
 * (pitch in 64-byte steps, height in 32-line steps); per encode session,
 * NVENC/VA-API's input surface pool and bitstream buffers; per decoder, the
 * largest H.264 DPB plus libavcodec's extra_hw_frames (eb_hal_hw.c: 8). */
#define EB_VOD_ENC_SURFACES 8
#define EB_VOD_DEC_SURFACES (16 + 8 + 1)
#define EB_VOD_ENC_OVERHEAD ((int64_t)32 << 20)
#define EB_VOD_DEC_OVERHEAD ((int64_t)16 << 20)

static int64_t eb_nv12_bytes(int w, int h)
{
    return (int64_t)FFALIGN(w, 64) * FFALIGN(h, 32) * 3 / 2;
}

static int eb_backend_is_hw(const char *backend)
{
    return backend && strcmp(backend, "software") != 0;
}

int eb_vod_session_request(const EbRungPlan *plans, int nb, const EbSourceInfo *info,
                           const char *backend, const char *device, EbVodSessionRequest *req)
{
    int64_t mem = 0;
    int sw, sh, ret;

    memset(req, 0, sizeof(*req));
    if (!backend || !info || nb < 1 || nb > EB_LADDER_MAX_RUNGS)
        return EB_ERR(EINVAL);
    if (!eb_backend_is_hw(backend))
        return 0;
    /* The HAL's one key rule (hal/eb_sessions_policy.h): "nvidia" for every
     * CUDA device (NVENC's cap is per system), the render node for VA-API
     * and QSV. */
    ret = eb_sessions_key(backend, device, req->device, sizeof(req->device));
    if (ret < 0)
        return ret;
    req->encode = nb;
    req->decode = info->device_decode ? 1 : 0;
    for (int i = 0; i < nb; i++)
        mem += (EB_SRC_QUEUE + EB_RUNG_QUEUE + 1 + EB_VOD_ENC_SURFACES) *
               eb_nv12_bytes(plans[i].width, plans[i].height);
    sw = info->geometry.width;
    sh = info->geometry.height;
    if (info->device_decode)
        mem += (EB_VOD_DEC_SURFACES + EB_SRC_QUEUE + 1) * eb_nv12_bytes(sw, sh) +
               EB_VOD_DEC_OVERHEAD;
    else /* upload pool: the queue, one being filled, one in the fan-out */
        mem += (EB_SRC_QUEUE + 2) * eb_nv12_bytes(sw, sh);
    mem += nb * EB_VOD_ENC_OVERHEAD;
    req->memory = mem;
    return 1;
}

void eb_vod_session_limits(const EbVodDeviceLimit *limits, int nb, const char *backend,
                           const char *device, EbSessionLimits *out)
{
    const EbVodDeviceLimit *any = NULL, *exact = NULL, *use;

    for (int i = 0; limits && i < nb; i++) {
        const EbVodDeviceLimit *l = &limits[i];
        if (!l->backend || !backend || strcmp(l->backend, backend))
            continue;
        if (!l->device || !*l->device || !strcmp(l->device, "*"))
            any = any ? any : l;
        else if (device && !strcmp(l->device, device))
            exact = exact ? exact : l;
    }
    use = exact ? exact : any;
    eb_sessions_default_limits(backend, out); /* the HAL's defaults */
    if (use && use->max_sessions > 0)
        out->max_encode = use->max_sessions;
    if (use && use->memory_budget > 0)
        out->memory_bytes = use->memory_budget;
}

/* Errors a run on another backend would meet again (the input, the disk,
 * the request itself) or that end the job by request. */
static int eb_error_is_final(int err)
{
    switch (err) {
    case EB_ERR_CANCELED:
    case EB_ERR_EXISTS:
    case EB_ERR_BAD_ID:
    case EB_ERR_NO_SPACE_ESTIMATE:
    case EB_ERR_INPUT_CONFINED:
    case EB_ERR_NOT_MEDIA:
    case EB_ERR_EMPTY_INPUT:
    case EB_ERR_NO_VIDEO:
    case EB_ERR_HDR_UNSUPPORTED:
    case EB_ERR_TRUNCATED:
    case EB_ERR_NO_FRAMES:
    case EB_ERR(ENOSPC):
    case EB_ERR(EDQUOT):
        return 1;
    default:
        return 0;
    }
}

int eb_vod_fallback_decision(const char *requested, const char *fallback,
                             const char *const *names, const EbHalProbe *probes, int nb,
                             int failed, int err, int hw_stage, const char *what, int attempt,
                             EbHalChoice *out)
{
    EbHalProbe p[EB_HAL_MAX_DEVICES];
    int ret;

    memset(out, 0, sizeof(*out));
    out->index = -1;
    if (nb < 1 || nb > EB_HAL_MAX_DEVICES || failed < 0 || failed >= nb) {
        snprintf(out->note, sizeof(out->note), "no backend to fall back from");
        return 0;
    }
    if (err >= 0) {
        snprintf(out->note, sizeof(out->note), "%s did not fail", names[failed]);
        return 0;
    }
    if (!eb_backend_is_hw(names[failed]) || !hw_stage) {
        snprintf(out->note, sizeof(out->note), "%s failed outside the device stages: no re-run",
                 names[failed]);
        return 0;
    }
    if (eb_error_is_final(err)) {
        snprintf(out->note, sizeof(out->note), "%s: another backend would fail the same way",
                 eb_strerror(err));
        return 0;
    }
    if (attempt > 1) {
        snprintf(out->note, sizeof(out->note), "%s failed on the re-run: no further re-run",
                 names[failed]);
        return 0;
    }
    memcpy(p, probes, sizeof(p[0]) * (size_t)nb);
    p[failed].usable = 0;
    snprintf(p[failed].reason, sizeof(p[failed].reason), "failed after the job started: %s",
             what && *what ? what : eb_strerror(err));
    ret = eb_hal_choose(requested, fallback, names, p, nb, out);
    if (ret < 0 || out->index < 0 || out->index == failed) {
        out->index = -1;
        out->name = NULL;
        return 0;
    }
    out->fell_back = 1;
    return 1;
}

/* The backends and their probes, as the job chose from them. */
typedef struct EbVodBackends {
    const EbHalBackend *const *reg;
    const char *names[EB_HAL_MAX_DEVICES];
    EbHalProbe probes[EB_HAL_MAX_DEVICES];
    int nb;
} EbVodBackends;

/* The job's backend by the --backend/--fallback policy (eb_hal_choose). */
static int eb_vod_choose_backend(const EbVodOptions *o, EbVodBackends *bk, int *index,
                                 EbVodResult *res)
{
    EbHalChoice choice;
    int ret;

    bk->reg = o->backends ? o->backends : eb_hal_backends();
    for (bk->nb = 0; bk->reg[bk->nb] && bk->nb < EB_HAL_MAX_DEVICES; bk->nb++) {
        EbHalProbe *pr = &bk->probes[bk->nb];
        bk->names[bk->nb] = bk->reg[bk->nb]->name;
        memset(pr, 0, sizeof(*pr));
        if (!bk->reg[bk->nb]->probe || bk->reg[bk->nb]->probe(pr) < 0) {
            if (!pr->reason[0])
                snprintf(pr->reason, sizeof(pr->reason), "probe failed");
            pr->usable = 0;
        }
    }
    ret = eb_hal_choose(o->backend ? o->backend : "auto", o->fallback, bk->names, bk->probes,
                        bk->nb, &choice);
    snprintf(res->backend_note, sizeof(res->backend_note), "%s", choice.note);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail), "%s", choice.note);
        return ret;
    }
    *index = choice.index;
    res->backend = bk->reg[choice.index]->name;
    res->fell_back = choice.fell_back;
    if (choice.fell_back)
        EB_LOGI("vod", "%s", choice.note);
    return 0;
}

/* The inventory entry of dev (for the decode decision), into *out;
 * returns 1 if found. */
static int eb_vod_device_caps(const EbHalDevice *dev, EbHalDeviceInfo *out)
{
    EbHalDeviceInfo *info;
    int nb = 0, found = 0;

    if (!dev->backend->devices)
        return 0;
    info = calloc(EB_HAL_MAX_DEVICES, sizeof(*info));
    if (!info)
        return 0;
    if (dev->backend->devices(info, EB_HAL_MAX_DEVICES, &nb) == 0) {
        for (int i = 0; i < nb && !found; i++) {
            if (!strcmp(info[i].device, dev->name)) {
                *out = info[i];
                found = 1;
            }
        }
    }
    free(info);
    return found;
}

/* Acquires the job's sessions on its device, waiting (cancellable) up to
 * the options' timeout. Fills detail on failure. */
static int eb_vod_acquire_sessions(EbJob *job, const EbRungPlan *plans, int nb, char *detail,
                                   size_t detail_size)
{
    const EbVodOptions *o = job->o;
    EbVodSessionRequest vr;
    EbSessionRequest req;
    EbSessionLimits lim;
    int timeout = o->session_timeout_ms > 0 ? o->session_timeout_ms : EB_VOD_SESSION_TIMEOUT_MS;
    uint64_t deadline;
    int ret, logged = 0;

    ret = eb_vod_session_request(plans, nb, job->info, job->dev->backend->name, job->dev->name,
                                 &vr);
    if (ret <= 0)
        return ret;
    eb_vod_session_limits(o->device_limits, o->nb_device_limits, job->dev->backend->name,
                          job->dev->name, &lim);
    req.device = vr.device;
    req.encode = vr.encode;
    req.decode = vr.decode;
    req.memory = vr.memory;
    ret = eb_sessions_open(o->sessions_dir, &job->sessions);
    if (ret < 0) {
        snprintf(detail, detail_size, "session accounting unavailable (%s): %s",
                 o->sessions_dir ? o->sessions_dir : "$EB_SESSIONS_DIR or " EB_SESSIONS_DIR_DEFAULT,
                 eb_strerror(ret));
        return ret;
    }
    deadline = eb_ns() + (uint64_t)timeout * 1000000u;
    for (;;) {
        uint64_t now = eb_ns();
        int slice = 0;
        if (o->cancel && atomic_load(o->cancel))
            return EB_ERR_CANCELED;
        if (logged)
            slice = now >= deadline ? 0 : (int)((deadline - now) / 1000000u);
        if (slice > 250)
            slice = 250; /* wake up to see a cancel */
        ret = eb_sessions_acquire(job->sessions, &req, &lim, slice, &job->lease);
        if (ret != EB_ERR(ETIMEDOUT))
            break;
        if (eb_ns() >= deadline)
            break;
        if (!logged) {
            EB_LOGI("vod", "waiting for %d encode session%s%s on %s (limit %d)", req.encode,
                    req.encode == 1 ? "" : "s", req.decode ? " and 1 decode session" : "",
                    req.device, lim.max_encode);
            logged = 1;
        }
    }
    if (ret == EB_ERR(E2BIG))
        snprintf(detail, detail_size,
                 "the job needs %d encode and %d decode sessions and %.0f MB on %s; the limits "
                 "are %d, %d and %.0f MB (0: not accounted)",
                 req.encode, req.decode, (double)req.memory / (1 << 20), req.device,
                 lim.max_encode, lim.max_decode, (double)lim.memory_bytes / (1 << 20));
    else if (ret == EB_ERR(ETIMEDOUT))
        snprintf(detail, detail_size, "waited %.0f s for %d encode sessions on %s", timeout / 1000.0,
                 req.encode, req.device);
    else if (ret < 0 && ret != EB_ERR_CANCELED)
        snprintf(detail, detail_size, "session accounting on %s failed: %s", req.device,
                 eb_strerror(ret));
    if (ret >= 0)
        EB_LOGI("vod", "sessions on %s: %d encode, %d decode, %.0f MB", req.device, req.encode,
                req.decode, (double)req.memory / (1 << 20));
    return ret;
}

static int eb_start_thread(EbJob *job, pthread_t *t, void *(*fn)(void *), void *arg)
{
    int ret;
    pthread_mutex_lock(&job->lock);
    job->threads_running++;
    pthread_mutex_unlock(&job->lock);
    ret = pthread_create(t, NULL, fn, arg);
    if (ret != 0) {
        eb_thread_done(job);
        return EB_ERR(ret);
    }
    return 0;
}

static void eb_report(EbJob *job, uint64_t start_ns)
{
    EbVodProgress p = {0};
    double elapsed = (eb_ns() - start_ns) / 1e9;
    int64_t done = INT64_MAX;

    if (!job->o->progress)
        return;
    for (int i = 0; i < job->nb_rungs; i++) {
        int64_t d = atomic_load(&job->rungs[i].frames_done);
        if (d < done)
            done = d;
        snprintf(p.rung_names[i], sizeof(p.rung_names[i]), "%s", job->rungs[i].plan.rung.name);
        p.rung_frames[i] = d;
    }
    p.nb_rungs = job->nb_rungs;
    p.frames_done = done;
    p.frames_total = job->info->expected_frames;
    p.percent = p.frames_total > 0 ? fmin(100.0, 100.0 * done / p.frames_total) : 0;
    p.fps = elapsed > 0 ? done / elapsed : 0;
    p.speed = p.fps / av_q2d(job->info->frame_rate);
    p.eta_seconds = p.fps > 0 && p.frames_total > done ? (p.frames_total - done) / p.fps : -1;
    job->o->progress(&p, job->o->opaque);
}

/* 1 where the device's inventory lists an encoder for codec. */
static int eb_vod_device_encodes(const EbHalDeviceInfo *caps, enum AVCodecID codec)
{
    for (int i = 0; i < caps->nb_codecs; i++)
        if (caps->codecs[i].codec == codec && caps->codecs[i].encode)
            return 1;
    return 0;
}

/* One run of the job on backend. res->video_id is set by the caller;
 * *hw_stage says whether a failure was in a device stage. */
static int eb_vod_attempt(const EbVodOptions *o, const EbHalBackend *backend, EbVodResult *res,
                          int *hw_stage)
{
    EbJob job;
    EbFanoutConfig fc = {0};
    EbRungPlan plans[EB_LADDER_MAX_RUNGS];
    EbThumbnailTrack thumb_track;
    EbHalDeviceInfo caps;
    int have_caps = 0, hw = eb_backend_is_hw(backend->name);
    char staging[4096] = "";
    uint64_t start = eb_ns();
    double cpu_start = eb_cpu_process_seconds();
    EbCpuUse use[EB_VOD_CPU_NAMES];
    int ret, nb = 0, nb_use;

    *hw_stage = 0;
    memset(&job, 0, sizeof(job));
    job.o = o;
    job.hw_fmt = AV_PIX_FMT_NONE;
    atomic_init(&job.error, 0);
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.cond, NULL);

    ret = eb_storage_prepare(o->storage_root);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail), "cannot create the storage tree under %s",
                 o->storage_root);
        goto end;
    }
    if (!o->overwrite && eb_storage_exists(o->storage_root, res->video_id)) {
        ret = EB_ERR_EXISTS;
        goto end;
    }
    ret = eb_hal_device_open(backend, NULL, &job.dev);
    if (ret < 0) {
        *hw_stage = hw;
        snprintf(res->error_detail, sizeof(res->error_detail), "%s device did not open: %s",
                 backend->name, eb_strerror(ret));
        goto end;
    }
    if (hw) {
        job.hw_fmt = eb_hal_hw_format(job.dev);
        if (job.hw_fmt == AV_PIX_FMT_NONE) {
            ret = EB_ERR(EINVAL);
            *hw_stage = 1;
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "%s device %s has no hardware frames", backend->name, job.dev->name);
            goto end;
        }
        have_caps = eb_vod_device_caps(job.dev, &caps);
        if (!have_caps)
            EB_LOGI("vod", "no inventory entry for %s: deciding where to decode from the stream "
                    "alone", job.dev->name);
        if (have_caps && o->ladder.nb_rungs > 0 &&
            !eb_vod_device_encodes(&caps, eb_rung_codec_id(&o->ladder.rungs[0]))) {
            ret = EB_ERR_CODEC_UNSUPPORTED;
            *hw_stage = 1; /* the policy may move the job to a backend that has it */
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "%s device %s (%s) has no %s encoder", backend->name, job.dev->name,
                     caps.name[0] ? caps.name : "unnamed", o->ladder.rungs[0].codec);
            goto end;
        }
    }
    {
        EbSourceOptions so = {.want_audio = o->ladder.audio_bitrate > 0,
                              .input_roots = o->input_roots,
                              .device_caps = have_caps ? &caps : NULL};
        ret = eb_source_open(o->input, job.dev, &so, &job.src, res->error_detail,
                             sizeof(res->error_detail));
    }
    if (ret < 0) {
        /* The input's own errors are final (eb_vod_fallback_decision);
         * the rest happened opening the device's decoder. */
        *hw_stage = hw && ret != EB_ERR_CODEC_UNSUPPORTED && ret != EB_ERR(ENOENT) &&
                    ret != EB_ERR(EISDIR) && ret != EB_ERR(EACCES);
        goto end;
    }
    job.info = eb_source_info(job.src);
    if (hw)
        snprintf(res->decode_note, sizeof(res->decode_note), "%s", job.info->decode_note);

    {
        EbSourceGeometry g = job.info->geometry;
        nb = eb_ladder_plan(&o->ladder, &g, plans);
        if (nb < 0) {
            ret = nb;
            goto end;
        }
    }
    if (o->check_space) {
        uint64_t free_bytes = 0;
        double rate = (double)o->ladder.audio_bitrate * (job.info->has_audio ? 1 : 0);
        for (int i = 0; i < nb; i++)
            rate += (double)eb_rung_maxrate(&plans[i].rung);
        if (eb_storage_free_bytes(o->storage_root, &free_bytes) == 0) {
            double need = job.info->duration * rate / 8.0 * 1.1 + (1 << 20);
            if (need > (double)free_bytes) {
                snprintf(res->error_detail, sizeof(res->error_detail),
                         "need about %.1f MB for the output, %.1f MB free under %s", need / 1e6,
                         (double)free_bytes / 1e6, o->storage_root);
                ret = EB_ERR_NO_SPACE_ESTIMATE;
                goto end;
            }
        }
    }
    ret = eb_storage_stage(o->storage_root, res->video_id, staging, sizeof(staging));
    if (ret < 0)
        goto end;

    if (job.info->has_audio) {
        ret = eb_open_audio_encoder(&job);
        if (ret < 0)
            goto end;
        res->has_audio = 1;
        if (o->format == EB_FORMAT_CMAF) {
            EbSegmenterConfig sc = {.format = o->format, .audio = job.aenc};
            snprintf(job.audio_dir, sizeof(job.audio_dir), "%s/cmaf/audio", staging);
            ret = eb_storage_mkdirs(job.audio_dir);
            if (ret < 0)
                goto end;
            sc.dir = job.audio_dir;
            ret = eb_segmenter_open(&sc, &job.aseg);
            if (ret < 0)
                goto end;
            job.audio_hold = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
            job.audio_scratch = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
            if (!job.audio_hold || !job.audio_scratch) {
                ret = EB_ERR(ENOMEM);
                goto end;
            }
            job.audio_next_k = 0;
            eb_audio_next_boundary(&job);
        }
    }
    ret = eb_queue_create(&job.src_q, EB_SRC_QUEUE, eb_free_frame_item);
    if (ret < 0)
        goto end;
    job.nb_rungs = nb;
    for (int i = 0; i < nb; i++)
        job.rungs[i].plan = plans[i];

    /* Software: source frames are handed out upright; the fan-out sees
     * them after rotation. Hardware: device frames as stored, and the
     * fan-out rotates (outputs are the upright rungs). */
    if (hw) {
        fc.src_width = job.info->geometry.width;
        fc.src_height = job.info->geometry.height;
        fc.rotation = job.info->geometry.rotation;
    } else {
        int rot = job.info->geometry.rotation;
        fc.src_width = (rot == 90 || rot == 270) ? job.info->geometry.height : job.info->geometry.width;
        fc.src_height = (rot == 90 || rot == 270) ? job.info->geometry.width : job.info->geometry.height;
    }
    fc.src_format = hw ? job.hw_fmt : AV_PIX_FMT_YUV420P;
    fc.chroma_location = job.info->chroma_location;
    fc.nb_outputs = nb;
    for (int i = 0; i < nb; i++) {
        fc.outputs[i].width = plans[i].width;
        fc.outputs[i].height = plans[i].height;
    }
    ret = backend->fanout_open(job.dev, &fc, &job.fanout);
    if (ret < 0) {
        *hw_stage = hw;
        if (hw && fc.rotation)
            /* The policy then falls back (e.g. to software, which rotates
             * in the source graph). */
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "the %s fan-out did not open for a source rotated %d degrees (%s): this "
                     "backend's fan-out cannot rotate",
                     backend->name, fc.rotation, eb_strerror(ret));
        else if (hw)
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "the %s fan-out did not open (%dx%d %s, %d rungs): %s", backend->name,
                     fc.src_width, fc.src_height, av_get_pix_fmt_name(fc.src_format), nb,
                     eb_strerror(ret));
        goto end;
    }
    if (hw && o->thumbs.enabled) {
        job.thumb_dl = av_frame_alloc();
        if (!job.thumb_dl) {
            ret = EB_ERR(ENOMEM);
            goto end;
        }
    }
    if (hw) {
        /* Sessions before any encoder opens (NVENC counts open encoders). */
        ret = eb_vod_acquire_sessions(&job, plans, nb, res->error_detail,
                                      sizeof(res->error_detail));
        if (ret < 0) {
            *hw_stage = ret != EB_ERR_CANCELED;
            goto end;
        }
    }
    if (o->thumbs.enabled) {
        char dir[4200];
        snprintf(dir, sizeof(dir), "%s/thumbnails", staging);
        ret = eb_storage_mkdirs(dir);
        if (ret >= 0)
            ret = eb_thumbs_open(&o->thumbs, dir, plans[nb - 1].width, plans[nb - 1].height,
                                 job.info->frame_rate, job.info->duration, &job.thumbs);
        if (ret < 0) {
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "thumbnail settings not usable for this source");
            goto end;
        }
    }
    for (int i = 0; i < nb; i++) {
        ret = eb_open_rung(&job, i, staging);
        if (ret < 0) {
            if (job.hw_stage_failed) {
                *hw_stage = 1;
                snprintf(res->error_detail, sizeof(res->error_detail), "%s", job.error_detail);
            }
            goto end;
        }
        EB_LOGI("vod", "rung %s: %dx%d %lld kb/s (%d encoder threads)", plans[i].rung.name,
                plans[i].width, plans[i].height, (long long)(plans[i].rung.bitrate / 1000),
                job.rungs[i].enc->thread_count);
    }

    for (int i = 0; i < nb && ret >= 0; i++) {
        ret = eb_start_thread(&job, &job.rungs[i].thread, eb_rung_main, &job.rungs[i]);
        job.rungs[i].started = ret >= 0;
    }
    if (ret >= 0) {
        ret = eb_start_thread(&job, &job.fanout_thread, eb_fanout_main, &job);
        job.fanout_started = ret >= 0;
    }
    if (ret >= 0) {
        ret = eb_start_thread(&job, &job.demux_thread, eb_demux_main, &job);
        job.demux_started = ret >= 0;
    }
    if (ret < 0)
        eb_job_fail(&job, ret);

    /* Wait for every thread, reporting progress twice a second. */
    pthread_mutex_lock(&job.lock);
    while (job.threads_running > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&job.cond, &job.lock, &ts);
        pthread_mutex_unlock(&job.lock);
        /* Cancel reaches threads blocked on a queue, not just the demuxer. */
        if (o->cancel && atomic_load(o->cancel))
            eb_job_fail(&job, EB_ERR_CANCELED);
        eb_report(&job, start);
        pthread_mutex_lock(&job.lock);
    }
    pthread_mutex_unlock(&job.lock);
    if (job.demux_started)
        pthread_join(job.demux_thread, NULL);
    if (job.fanout_started)
        pthread_join(job.fanout_thread, NULL);
    for (int i = 0; i < nb; i++)
        if (job.rungs[i].started)
            pthread_join(job.rungs[i].thread, NULL);
    ret = atomic_load(&job.error);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail), "%s", job.error_detail);
        *hw_stage = job.hw_stage_failed;
        goto end;
    }
    eb_report(&job, start);

    if (job.thumbs) {
        EbSourceStats ss;
        eb_source_get_stats(job.src, &ss);
        ret = eb_thumbs_finish(job.thumbs, ss.frames_out / av_q2d(job.info->frame_rate),
                               &thumb_track);
        if (ret < 0) {
            snprintf(res->error_detail, sizeof(res->error_detail), "writing thumbnails failed");
            goto end;
        }
        res->thumbnail_sheets = thumb_track.nb_sheets;
        res->thumbnail_tiles = thumb_track.nb_tiles;
    }
    ret = eb_write_manifests(&job, staging, job.thumbs ? &thumb_track : NULL);
    if (ret < 0)
        goto end;
    ret = eb_storage_publish(o->storage_root, res->video_id, staging, o->overwrite);
    if (ret < 0)
        goto end;
    staging[0] = '\0';
    snprintf(res->output_dir, sizeof(res->output_dir), "%s/videos/%s", o->storage_root,
             res->video_id);

end:
    if (job.src) {
        EbSourceStats ss;
        eb_source_get_stats(job.src, &ss);
        res->source_packets = ss.packets;
        res->frames_decoded = ss.frames_decoded;
        res->frames_out = ss.frames_out;
        res->damaged = ss.damaged;
        res->decode_seconds = ss.decode_ns / 1e9;
        res->filter_seconds = ss.filter_ns / 1e9;
        res->duration = ss.frames_out / av_q2d(job.info->frame_rate);
        res->device_uploads = ss.uploads;
    }
    res->device_downloads = job.downloads;
    res->nb_rungs = job.nb_rungs;
    /* The encoders' own threads still live (until eb_close_rung): count
     * them under their rung's name now. */
    nb_use = eb_cpu_by_thread_name(use, EB_VOD_CPU_NAMES);
    for (int i = 0; i < job.nb_rungs; i++) {
        EbRungCtx *r = &job.rungs[i];
        EbVodRungStats *rs = &res->rungs[i];
        char name[32];

        snprintf(name, sizeof(name), "eb-enc-%s", r->plan.rung.name);
        name[15] = '\0';
        rs->cpu_seconds = r->thread_cpu;
        for (int u = 0; u < nb_use; u++)
            if (!strcmp(use[u].name, name))
                rs->cpu_seconds += use[u].seconds;
        if (r->frames_q) {
            EbQueueStats qs;
            eb_queue_get_stats(r->frames_q, &qs);
            rs->starved_seconds = qs.pop_wait_ns / 1e9;
            res->fanout_blocked_seconds += qs.push_wait_ns / 1e9;
        }
        snprintf(rs->name, sizeof(rs->name), "%s", r->plan.rung.name);
        rs->width = r->plan.width;
        rs->height = r->plan.height;
        rs->bitrate = r->plan.rung.bitrate;
        rs->frames = atomic_load(&r->frames_done);
        rs->video_bytes = r->video_bytes;
        if (r->seg) {
            EbRendition rd = {0};
            eb_segmenter_describe(r->seg, &rd);
            rs->nb_segments = rd.nb_segments;
        }
        rs->encode_seconds = r->encode_ns / 1e9;
        rs->mux_seconds = r->mux_ns / 1e9;
        eb_close_rung(r);
    }
    res->fanout_seconds = job.fanout_ns / 1e9;
    res->audio_seconds = job.audio_ns / 1e9;
    if (job.src_q) {
        EbQueueStats qs;
        eb_queue_get_stats(job.src_q, &qs);
        res->fanout_wait_seconds = qs.pop_wait_ns / 1e9;
        res->demux_blocked_seconds = qs.push_wait_ns / 1e9;
    }
    res->demux_cpu_seconds = job.demux_cpu;
    res->fanout_cpu_seconds = job.fanout_cpu;
    res->cpu_seconds = eb_cpu_process_seconds() - cpu_start;
    eb_queue_free(&job.src_q);
    eb_thumbs_free(&job.thumbs);
    if (job.fanout)
        job.dev->backend->fanout_close(&job.fanout);
    eb_segmenter_free(&job.aseg);
    eb_free_packet_fifo(&job.audio_hold);
    eb_free_packet_fifo(&job.audio_scratch);
    avcodec_free_context(&job.aenc);
    eb_source_close(&job.src);
    av_frame_free(&job.thumb_dl);
    sws_freeContext(job.thumb_sws);
    /* Every encoder and the decoder are closed: give the sessions back. */
    eb_sessions_release(&job.lease);
    eb_sessions_close(&job.sessions);
    eb_hal_device_close(&job.dev);
    if (staging[0])
        eb_storage_remove_tree(staging);
    res->wall_seconds = (eb_ns() - start) / 1e9;
    pthread_cond_destroy(&job.cond);
    pthread_mutex_destroy(&job.lock);
    return ret;
}

int eb_vod_run(const EbVodOptions *o, EbVodResult *res)
{
    EbVodBackends bk;
    char video_id[sizeof(res->video_id)];
    uint64_t start = eb_ns();
    int ret, index = -1, hw_stage = 0;

    memset(res, 0, sizeof(*res));
    if (o->video_id)
        snprintf(res->video_id, sizeof(res->video_id), "%s", o->video_id);
    else
        eb_storage_id_from_path(o->input, res->video_id, sizeof(res->video_id));
    if (!eb_storage_id_valid(res->video_id)) {
        ret = EB_ERR_BAD_ID;
        goto end;
    }
    if (o->segment_seconds < 1.0 || o->segment_seconds > 60.0) {
        ret = EB_ERR(EINVAL);
        snprintf(res->error_detail, sizeof(res->error_detail), "segment length %.3f s is outside 1..60 s",
                 o->segment_seconds);
        goto end;
    }
    if (o->format == EB_FORMAT_TS && o->ladder.nb_rungs > 0 &&
        eb_rung_codec_id(&o->ladder.rungs[0]) == AV_CODEC_ID_HEVC) {
        ret = EB_ERR(EINVAL);
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "ladder '%s' is HEVC, which encbox packages in CMAF only (HLS players such as "
                 "Safari and hls.js play HEVC from fMP4 segments): use format cmaf",
                 o->ladder.name);
        goto end;
    }
    ret = eb_vod_choose_backend(o, &bk, &index, res);
    if (ret < 0)
        goto end;
    ret = eb_vod_attempt(o, bk.reg[index], res, &hw_stage);
    if (ret < 0) {
        EbHalChoice c;
        char what[600], first_note[sizeof(res->backend_note)];
        int again;

        snprintf(what, sizeof(what), "%s", res->error_detail[0] ? res->error_detail : eb_strerror(ret));
        again = eb_vod_fallback_decision(o->backend ? o->backend : "auto", o->fallback, bk.names,
                                         bk.probes, bk.nb, index, ret, hw_stage, what, 1, &c);
        if (!again) {
            if (hw_stage && eb_backend_is_hw(bk.names[index])) {
                EB_LOGI("vod", "%s failed (%s); no re-run: %s", bk.names[index], what, c.note);
                /* The policy's verdict (e.g. "...: fallback none, job
                 * fails"); an input error keeps the choice's note. */
                if (!eb_error_is_final(ret))
                    snprintf(res->backend_note, sizeof(res->backend_note), "%s", c.note);
            }
            goto end;
        }
        /* Re-run the whole job on the fallback backend; the first run's
         * staging is gone and nothing of it was published. */
        EB_LOGW("vod", "%s failed after the job started (%s): re-running the job on %s",
                bk.names[index], what, c.name);
        snprintf(video_id, sizeof(video_id), "%s", res->video_id);
        snprintf(first_note, sizeof(first_note), "%s", c.note);
        memset(res, 0, sizeof(*res));
        snprintf(res->video_id, sizeof(res->video_id), "%s", video_id);
        index = c.index;
        ret = eb_vod_attempt(o, bk.reg[index], res, &hw_stage);
        res->backend = bk.reg[index]->name;
        res->fell_back = 1;
        snprintf(res->backend_note, sizeof(res->backend_note), "%s", first_note);
    }
end:
    res->wall_seconds = (eb_ns() - start) / 1e9;
    return ret;
}
