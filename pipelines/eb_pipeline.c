/*
 * The pipeline engine. DESIGN
 *
 * Data flow and frame ownership:
 *   eb-demux: the input hands out a normalised AVFrame (decoder-owned
 *     buffer or graph buffer). Video frames are moved into a fresh AVFrame
 *     and pushed on src_q (the queue owns it until popped). Audio frames
 *     are encoded right there, by their track's encoder (AAC is ~1% of the
 *     work per track), and their packets go to that track's segmenter
 *     (CMAF: one audio rendition per track) or, as new references, to every
 *     rung's audio queue (TS, where the default track is muxed into each
 *     variant and the others are not encoded).
 *   eb-fanout: pops a source frame (now owns it), calls the backend's
 *     fan-out, which returns one new reference per rung (a same-size rung is
 *     a reference to the source itself: no copy), pushes each on its rung's
 *     queue and drops its own source reference. The decoded surface returns
 *     to its pool when the last rung's encoder has released it.
 *   eb-enc-<rung>: pops rung frames, encodes, muxes. libx264 keeps its own
 *     references for lookahead and releases them as it goes. Packets are
 *     moved into the segmenter, which reports segments to the sink.
 *
 * Segment alignment: one boundary policy on media time (eb_boundary.h).
 * The fan-out marks the first frame and the first frame at or past each
 * boundary as a forced IDR on every rung; each rung's thread cuts its
 * segment when the keyframe packet at or past its next boundary comes out
 * of its encoder; CMAF audio cuts before the AAC frame nearest each
 * boundary, and only at boundaries the video has reached.
 *
 * Errors and cancel: the first failing thread records its error (and a
 * detail line, and whether a device stage failed) and aborts every queue;
 * blocked threads wake with -EPIPE and exit; eb_pipeline_wait joins them
 * and returns the first error. Cancel takes the same path.
 *
 * Hardware backends (hw_fmt != AV_PIX_FMT_NONE): every frame between the
 * input and the encoders is a device frame; a rung thread refuses any
 * other (a copy that should not exist is a bug, caught). The tap gets the
 * smallest rung's frame downloaded (eb-fanout; counted) and converted to
 * yuv420p, only when it wants that frame.
 */
#include "eb_pipeline.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/fifo.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "eb_clock.h"
#include "eb_codec_string.h"
#include "eb_cpu.h"
#include "eb_error.h"
#include "eb_hal_hw.h"
#include "eb_log.h"
#include "eb_queue.h"
#include "eb_segmenter.h"

#define EB_PIPELINE_CPU_NAMES 64 /* distinct thread names read for the CPU figures */
#define EB_AUDIO_QUEUE 8192      /* packets; TS only; ~170 s of AAC, a few MB */
#define EB_AUDIO_CODECS "mp4a.40.2"

#define EB_SENT_PTS 64 /* frames a rung remembers for packet durations (> any reorder delay) */

/* Every rung is one output of the backend's fan-out. */
_Static_assert(EB_LADDER_MAX_RUNGS <= EB_HAL_MAX_OUTPUTS, "a ladder has more rungs than a fan-out");

/* One audio rendition (eb-demux thread): the input's audio track it
 * encodes (the same index: audio[k] is info->audio[k]) and, in CMAF, its
 * own segmenter and cut state. */
typedef struct EbAudioOut {
    AVCodecContext *enc;
    EbSegmenter *seg;     /* CMAF */
    EbBoundaryCursor cut; /* CMAF: the next boundary */
    int64_t next_sample;  /* the same boundary in audio samples */
    AVFifo *hold;         /* AVPacket*: CMAF audio waiting on video */
    AVFifo *scratch;
    char name[16]; /* rendition: "audio", or "audio_<lang>" of several */
} EbAudioOut;

typedef struct EbRungCtx {
    EbPipeline *p;
    int index;
    EbRungPlan plan;
    AVCodecContext *enc;
    EbSegmenter *seg;
    EbQueue *frames_q;          /* AVFrame* from the fan-out */
    EbQueue *audio_q;           /* AVPacket* from the demux thread (TS) */
    pthread_t thread;
    int started;
    atomic_llong frames_done;
    int nice;                   /* eb_pipeline_rung_nice() */
    EbBoundaryCursor cut;       /* where the next segment starts */
    uint64_t encode_ns, mux_ns;
    double thread_cpu;          /* the rung thread's own CPU, at its end */
    int64_t video_bytes;
    AVFifo *pending;            /* TS: video packets waiting for audio */
    AVPacket *audio_next;
    int audio_eof;
    int enc_error;              /* the rung's failure came from the encoder */

    /* Frame-rate cap (the rung's max_fps below the source's rate): the
     * fan-out keeps the first frame of each 1/cap slot and every forced
     * IDR, and drops the rest. Timestamps stay in the source's time base. */
    AVRational cap;             /* {0, 0}: every frame */
    int64_t last_slot;          /* eb-fanout: slot of the last kept frame */
    atomic_llong frames_skipped; /* eb-fanout: dropped by the cap (progress) */
    int64_t sent[EB_SENT_PTS];  /* eb-enc: pts of the frames sent to the encoder, ascending */
    int nb_sent;
} EbRungCtx;

struct EbPipeline {
    EbPipelineConfig cfg;
    EbInput *in;
    const EbSourceInfo *info;
    EbHalDevice *dev;
    EbBoundaryPolicy bounds;
    EbFanout *fanout;
    int nb_rungs;
    EbRungCtx rungs[EB_LADDER_MAX_RUNGS];
    EbQueue *src_q;
    EbSegmentSink *sink;
    EbPipelineTap tap;
    int has_tap;
    int nb_audio; /* audio renditions (TS: at most 1) */
    EbAudioOut audio[EB_MAX_AUDIO_TRACKS];
    int64_t last_video_pts; /* eb-demux: newest video frame handed out */
    pthread_t demux_thread, fanout_thread;
    int demux_started, fanout_started;
    int joined;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int threads_running;
    atomic_int error;
    char error_detail[600];         /* written once, by the first failure */
    int hw_stage_failed;            /* the first failure was in a device stage */
    uint64_t fanout_ns, audio_ns;
    double demux_cpu, fanout_cpu;   /* each thread's own CPU, at its end */
    uint64_t start_ns;

    /* hardware path */
    enum AVPixelFormat hw_fmt;      /* device frames' format; NONE: software backend */
    AVFrame *tap_dl;                /* eb-fanout: smallest rung downloaded (NV12) */
    struct SwsContext *tap_sws;     /* eb-fanout: NV12 -> yuv420p for the tap */
    int64_t downloads;              /* eb-fanout; read after the join */
};

/* ---- first error ---- */

/* Records the first error (with an optional detail line for the user, and
 * whether it happened in a device stage) and stops every stage. */
static void eb_pipe_fail_text(EbPipeline *p, int err, int hw, const char *text)
{
    int expected = 0;

    if (err >= 0)
        return;
    if (atomic_compare_exchange_strong(&p->error, &expected, err)) {
        p->hw_stage_failed = hw;
        if (text)
            snprintf(p->error_detail, sizeof(p->error_detail), "%s", text);
        EB_LOGD("pipeline", "failed: %s%s%s", eb_strerror(err), text ? ": " : "",
                p->error_detail);
    }
    if (p->src_q)
        eb_queue_abort(p->src_q);
    for (int i = 0; i < p->nb_rungs; i++) {
        if (p->rungs[i].frames_q)
            eb_queue_abort(p->rungs[i].frames_q);
        if (p->rungs[i].audio_q)
            eb_queue_abort(p->rungs[i].audio_q);
    }
}

/* A failure in a device stage (decoder, upload/download, fan-out, encoder
 * of a hardware backend): the fallback policy may re-run the job. */
static void eb_pipe_fail_hw(EbPipeline *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_pipe_fail_hw(EbPipeline *p, int err, const char *fmt, ...)
{
    char text[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eb_pipe_fail_text(p, err, 1, text);
}

static void eb_pipe_fail(EbPipeline *p, int err) { eb_pipe_fail_text(p, err, 0, NULL); }

/* A rendition's packaging failed (its segmenter or the sink behind it):
 * "rung 720p: the mp4 muxer refused a video packet at 4.120 s (...)". */
static void eb_pipe_fail_stage(EbPipeline *p, int err, const char *what, const char *name,
                               const EbSegmenter *seg)
{
    char text[600];
    const char *d = eb_segmenter_error_detail(seg);

    snprintf(text, sizeof(text), "%s %s: %s", what, name, d ? d : "writing its segments failed");
    eb_pipe_fail_text(p, err, 0, text);
}

static void eb_thread_done(EbPipeline *p)
{
    pthread_mutex_lock(&p->lock);
    p->threads_running--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void eb_free_frame_item(void *item)
{
    AVFrame *f = item;
    av_frame_free(&f);
}

static void eb_free_packet_item(void *item)
{
    AVPacket *pkt = item;
    av_packet_free(&pkt);
}

static void eb_free_packet_fifo(AVFifo **fifo)
{
    AVPacket *pkt;

    if (!*fifo)
        return;
    while (av_fifo_read(*fifo, &pkt, 1) >= 0)
        av_packet_free(&pkt);
    av_fifo_freep2(fifo);
}

/* ---- audio (demux thread) ---- */

static void eb_audio_set_next(EbPipeline *p, EbAudioOut *a)
{
    a->next_sample = eb_boundary_pts_in(&p->bounds, a->cut.k, a->enc->time_base);
}

/* CMAF audio: cut before the AAC frame nearest each video boundary, but
 * only at boundaries the video really reaches. Packets from the first one
 * that crosses a boundary are held until the demux thread has handed out
 * a video frame at or past the boundary (then cut) or reached the end (then
 * no cut: audio and video end in the same segment). */
static int eb_audio_release(EbPipeline *p, EbAudioOut *a, int at_eof)
{
    AVPacket *pkt;
    int ret;

    if (av_fifo_can_read(a->hold) == 0)
        return 0;
    if (!at_eof) {
        AVPacket *first = NULL;
        if (!eb_boundary_reached(&a->cut, p->last_video_pts))
            return 0; /* video has not got there yet */
        av_fifo_peek(a->hold, &first, 1, 0);
        ret = eb_segmenter_cut(a->seg, first->pts);
        if (ret < 0)
            return ret;
        /* One boundary at a time: audio cuts where it crosses each. */
        a->cut.k++;
        a->cut.next = eb_boundary_pts(&p->bounds, a->cut.k);
        eb_audio_set_next(p, a);
    }
    while (av_fifo_read(a->hold, &pkt, 1) >= 0) {
        if (!at_eof && pkt->pts + pkt->duration / 2 >= a->next_sample) {
            /* Crosses the next boundary too: hold it (and the rest) again. */
            AVFifo *rest = a->hold;
            av_fifo_write(a->scratch, &pkt, 1);
            while (av_fifo_read(rest, &pkt, 1) >= 0)
                av_fifo_write(a->scratch, &pkt, 1);
            a->hold = a->scratch;
            a->scratch = rest;
            return eb_audio_release(p, a, 0);
        }
        ret = eb_segmenter_write(a->seg, 1, pkt);
        av_packet_free(&pkt);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int eb_audio_write(EbPipeline *p, EbAudioOut *a, AVPacket *pkt)
{
    if (p->cfg.format == EB_FORMAT_CMAF) {
        if (av_fifo_can_read(a->hold) > 0 || pkt->pts + pkt->duration / 2 >= a->next_sample) {
            AVPacket *held = av_packet_alloc();
            int ret;
            if (!held)
                return EB_ERR(ENOMEM);
            av_packet_move_ref(held, pkt);
            ret = av_fifo_write(a->hold, &held, 1);
            if (ret < 0) {
                av_packet_free(&held);
                return ret;
            }
            return eb_audio_release(p, a, 0);
        }
        return eb_segmenter_write(a->seg, 1, pkt);
    }
    for (int i = 0; i < p->nb_rungs; i++) {
        AVPacket *ref = av_packet_clone(pkt);
        int ret;
        if (!ref)
            return EB_ERR(ENOMEM);
        ret = eb_queue_push(p->rungs[i].audio_q, ref);
        if (ret < 0) {
            av_packet_free(&ref);
            return ret;
        }
    }
    av_packet_unref(pkt);
    return 0;
}

static int eb_audio_encode(EbPipeline *p, EbAudioOut *a, AVFrame *frame, AVPacket *pkt)
{
    uint64_t t0 = eb_clock_ns();
    int ret = avcodec_send_frame(a->enc, frame);

    while (ret >= 0) {
        ret = avcodec_receive_packet(a->enc, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0)
            break;
        ret = eb_audio_write(p, a, pkt);
    }
    p->audio_ns += eb_clock_ns() - t0;
    return ret;
}

/* An audio rendition failed: what failed, for the job's error line. */
static void eb_audio_fail(EbPipeline *p, int err, const EbAudioOut *a)
{
    if (err == EB_ERR(EPIPE))
        return; /* a queue aborted after another stage failed first */
    if (eb_segmenter_error_detail(a->seg) || p->cfg.format == EB_FORMAT_CMAF)
        eb_pipe_fail_stage(p, err, "audio rendition", a->name, a->seg);
    else
        eb_pipe_fail_text(p, err, 0, "the AAC encoder failed");
}

/* CMAF: every audio rendition's held packets, after a new video frame. */
static int eb_audio_release_all(EbPipeline *p)
{
    int ret = 0;
    for (int k = 0; k < p->nb_audio && ret >= 0; k++)
        if (p->audio[k].seg && (ret = eb_audio_release(p, &p->audio[k], 0)) < 0)
            eb_audio_fail(p, ret, &p->audio[k]);
    return ret;
}

/* End of input: drains each encoder and ends its segmenter (CMAF). */
static int eb_audio_finish(EbPipeline *p, AVPacket *pkt)
{
    int ret = 0;
    for (int k = 0; k < p->nb_audio && ret >= 0; k++) {
        EbAudioOut *a = &p->audio[k];
        ret = eb_audio_encode(p, a, NULL, pkt);
        if (ret >= 0 && a->seg)
            ret = eb_audio_release(p, a, 1);
        if (ret >= 0 && a->seg)
            ret = eb_segmenter_finish(a->seg);
        if (ret < 0)
            eb_audio_fail(p, ret, a);
    }
    return ret;
}

/* ---- demux stage ---- */

static void *eb_demux_main(void *arg)
{
    EbPipeline *p = arg;
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = 0, is_audio;

    pthread_setname_np(pthread_self(), "eb-demux");
    if (!frame || !pkt) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    for (;;) {
        if (p->cfg.cancel && atomic_load(p->cfg.cancel)) {
            ret = EB_ERR_CANCELED;
            break;
        }
        ret = p->in->ops->next(p->in, frame, &is_audio);
        if (ret == EB_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0) {
            const char *d = p->in->ops->error_detail(p->in);
            /* On a hardware backend the input decodes or uploads for the
             * device: its failures are device-stage failures (the fallback
             * decision leaves out the input's own errors). */
            eb_pipe_fail_text(p, ret, p->hw_fmt != AV_PIX_FMT_NONE, d[0] ? d : NULL);
            break;
        }
        if (is_audio) {
            /* A track without a rendition (TS keeps the default one) is dropped. */
            ret = is_audio <= p->nb_audio ? eb_audio_encode(p, &p->audio[is_audio - 1], frame, pkt)
                                          : 0;
            av_frame_unref(frame);
            if (ret < 0)
                eb_audio_fail(p, ret, &p->audio[is_audio - 1]);
        } else {
            AVFrame *item = av_frame_alloc();
            int64_t pts = frame->pts;
            if (!item) {
                ret = EB_ERR(ENOMEM);
                break;
            }
            av_frame_move_ref(item, frame);
            ret = eb_queue_push(p->src_q, item);
            if (ret < 0) {
                av_frame_free(&item);
            } else {
                p->last_video_pts = pts;
                ret = eb_audio_release_all(p);
            }
        }
        if (ret < 0)
            break;
    }
    if (ret >= 0 && p->in->ops->finish) {
        char detail[600] = "";
        ret = p->in->ops->finish(p->in, detail, sizeof(detail));
        if (ret < 0)
            eb_pipe_fail_text(p, ret, 0, detail[0] ? detail : NULL);
    }
    if (ret >= 0)
        ret = eb_audio_finish(p, pkt);
end:
    if (ret < 0)
        eb_pipe_fail(p, ret);
    eb_queue_close(p->src_q);
    for (int i = 0; i < p->nb_rungs; i++)
        if (p->rungs[i].audio_q)
            eb_queue_close(p->rungs[i].audio_q);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    p->demux_cpu = eb_cpu_thread_seconds();
    eb_thread_done(p);
    return NULL;
}

/* ---- fan-out stage ---- */

/* Hardware path: the smallest rung's device frame, downloaded (NV12) and
 * converted to the yuv420p a tap reads. A new buffer per frame: the tap
 * may keep a reference to what it was given. */
static int eb_tap_device(EbPipeline *p, const AVFrame *hw)
{
    AVFrame *yuv = NULL;
    int ret;

    av_frame_unref(p->tap_dl);
    ret = eb_hal_hw_download(hw, p->tap_dl);
    if (ret < 0) {
        eb_pipe_fail_hw(p, ret, "thumbnail download from %s failed: %s", p->dev->name,
                        eb_strerror(ret));
        return ret;
    }
    p->downloads++;
    if (!p->tap_sws) {
        p->tap_sws = sws_getContext(hw->width, hw->height, AV_PIX_FMT_NV12, hw->width,
                                    hw->height, AV_PIX_FMT_YUV420P, SWS_POINT, NULL, NULL, NULL);
        if (!p->tap_sws)
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
        ret = av_frame_copy_props(yuv, p->tap_dl);
    if (ret >= 0)
        ret = sws_scale(p->tap_sws, (const uint8_t *const *)p->tap_dl->data, p->tap_dl->linesize,
                        0, hw->height, yuv->data, yuv->linesize);
    if (ret >= 0)
        ret = p->tap.frame(p->tap.opaque, yuv);
    av_frame_free(&yuv);
    return ret < 0 ? ret : 0;
}

static int eb_tap_run(EbPipeline *p, const AVFrame *smallest)
{
    if (!p->has_tap || !p->tap.frame)
        return 0;
    if (p->hw_fmt == AV_PIX_FMT_NONE)
        return p->tap.frame(p->tap.opaque, smallest);
    /* On a device, download only the frames the tap will use. */
    if (p->tap.wants && !p->tap.wants(p->tap.opaque, smallest->pts))
        return 0;
    return eb_tap_device(p, smallest);
}

/* The 1/cap slot a frame falls in (frames are timed in 1/frame_rate from 0). */
static int64_t eb_rung_slot(const EbRungCtx *r, int64_t pts)
{
    AVRational fr = r->p->info->frame_rate;
    return av_rescale_rnd(pts, (int64_t)r->cap.num * fr.den, (int64_t)r->cap.den * fr.num,
                          AV_ROUND_DOWN);
}

/* Frame-rate cap: keep a forced IDR (every rung cuts there) and the first
 * frame of each new slot. */
static int eb_rung_keeps(EbRungCtx *r, int64_t pts, int force)
{
    int64_t slot;

    if (!r->cap.num)
        return 1;
    slot = eb_rung_slot(r, pts);
    if (!force && slot <= r->last_slot)
        return 0;
    r->last_slot = slot;
    return 1;
}

static void *eb_fanout_main(void *arg)
{
    EbPipeline *p = arg;
    AVFrame *outs[EB_LADDER_MAX_RUNGS] = {0};
    EbBoundaryCursor idr;
    int hw = p->hw_fmt != AV_PIX_FMT_NONE, first = 1;
    int ret = 0;

    pthread_setname_np(pthread_self(), "eb-fanout");
    eb_boundary_cursor_init(&idr, &p->bounds);
    for (;;) {
        void *item;
        AVFrame *src;
        uint64_t t0;
        int force;

        ret = eb_queue_pop(p->src_q, &item);
        if (ret == EB_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0)
            break;
        src = item;
        t0 = eb_clock_ns();
        ret = p->dev->backend->fanout_run(p->fanout, src, outs);
        p->fanout_ns += eb_clock_ns() - t0;
        if (ret < 0 && hw)
            eb_pipe_fail_hw(p, ret, "%s fan-out failed: %s", p->dev->backend->name,
                            eb_strerror(ret));
        /* The tap sees the smallest rung: already scaled, and the same
         * frames the encoders get (never a second decode). */
        if (ret >= 0)
            ret = eb_tap_run(p, outs[p->nb_rungs - 1]);
        force = first || eb_boundary_reached(&idr, src->pts);
        eb_boundary_advance(&idr, src->pts);
        first = 0;
        av_frame_free(&src);
        if (ret < 0)
            break;
        for (int i = 0; i < p->nb_rungs; i++) {
            if (!eb_rung_keeps(&p->rungs[i], outs[i]->pts, force)) {
                atomic_fetch_add(&p->rungs[i].frames_skipped, 1);
                av_frame_free(&outs[i]);
                continue;
            }
            outs[i]->pict_type = force ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
            if (ret >= 0)
                ret = eb_queue_push(p->rungs[i].frames_q, outs[i]);
            if (ret < 0 || !outs[i])
                av_frame_free(&outs[i]);
            outs[i] = NULL;
        }
        if (ret < 0)
            break;
    }
    for (int i = 0; i < p->nb_rungs; i++)
        av_frame_free(&outs[i]);
    if (ret < 0)
        eb_pipe_fail(p, ret);
    for (int i = 0; i < p->nb_rungs; i++)
        eb_queue_close(p->rungs[i].frames_q);
    p->fanout_cpu = eb_cpu_thread_seconds();
    eb_thread_done(p);
    return NULL;
}

/* ---- rung encoder + mux stage ---- */

static int eb_rung_write_video(EbRungCtx *r, AVPacket *pkt)
{
    int ret;

    if ((pkt->flags & AV_PKT_FLAG_KEY) && eb_boundary_reached(&r->cut, pkt->pts)) {
        ret = eb_segmenter_cut(r->seg, pkt->pts);
        if (ret < 0)
            return ret;
        eb_boundary_advance(&r->cut, pkt->pts);
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
        if (r->audio_next && av_compare_ts(r->audio_next->dts, r->p->audio[0].enc->time_base,
                                           v->dts, r->enc->time_base) <= 0) {
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

/* Remembers the pts of a frame sent to the encoder. */
static void eb_rung_sent(EbRungCtx *r, int64_t pts)
{
    if (r->nb_sent == EB_SENT_PTS) {
        memmove(r->sent, r->sent + 1, sizeof(r->sent[0]) * (EB_SENT_PTS - 1));
        r->nb_sent--;
    }
    r->sent[r->nb_sent++] = pts;
}

/* A packet's duration: up to the next frame sent after it (a capped rung
 * or a gap in the input has frames farther apart than one tick), else the
 * rung's nominal frame interval. */
static int64_t eb_rung_duration(const EbRungCtx *r, int64_t pts)
{
    for (int i = 0; i + 1 < r->nb_sent; i++)
        if (r->sent[i] == pts)
            return r->sent[i + 1] - pts;
    if (r->cap.num) {
        AVRational fr = r->p->info->frame_rate;
        return FFMAX(1, av_rescale_rnd(1, (int64_t)fr.num * r->cap.den,
                                       (int64_t)fr.den * r->cap.num, AV_ROUND_UP));
    }
    return 1; /* one frame: the encoder time base is 1/rate */
}

static int eb_rung_packets(EbRungCtx *r, AVPacket *pkt)
{
    int ret;

    for (;;) {
        uint64_t t0 = eb_clock_ns();
        ret = avcodec_receive_packet(r->enc, pkt);
        r->encode_ns += eb_clock_ns() - t0;
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0) {
            r->enc_error = 1;
            return ret;
        }
        if (pkt->duration <= 0)
            pkt->duration = eb_rung_duration(r, pkt->pts);
        t0 = eb_clock_ns();
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
        r->mux_ns += eb_clock_ns() - t0;
        if (ret < 0)
            return ret;
    }
}

int eb_pipeline_rung_nice(const EbRungPlan *plans, int nb, int i)
{
    double largest = 0, mine;

    if (nb < 2 || i < 0 || i >= nb)
        return 0;
    for (int j = 0; j < nb; j++)
        largest = fmax(largest, (double)plans[j].width * plans[j].height);
    mine = (double)plans[i].width * plans[i].height;
    return largest > 0 ? (int)lround(EB_PIPELINE_MAX_RUNG_NICE * (1.0 - mine / largest)) : 0;
}

/* The kernel keeps 15 characters of a thread's name. */
static void eb_rung_thread_name(const EbRungCtx *r, char *name, size_t size)
{
    snprintf(name, size, "eb-enc-%s", r->plan.rung.name);
    if (size > 15)
        name[15] = '\0';
}

static void *eb_rung_main(void *arg)
{
    EbRungCtx *r = arg;
    EbPipeline *p = r->p;
    AVPacket *pkt = av_packet_alloc();
    char name[32];
    int ret = 0;

    eb_rung_thread_name(r, name, sizeof(name));
    pthread_setname_np(pthread_self(), name);
    /* The critical path first (eb_pipeline_rung_nice). Measured on 2 cores,
     * 20 s 1080p30 default ladder, 3 runs each: 13.81 s median wall with
     * every rung at the same priority, 13.17 s with 720p/480p/360p at
     * +3/+6/+6 (+5/+10/+10: 13.33 s). Raising one's own nice needs no
     * privilege; a refusal is harmless. */
    if (r->nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(),
                                   getpriority(PRIO_PROCESS, (id_t)gettid()) + r->nice) < 0)
        EB_LOGD("pipeline", "rung %s: nice +%d refused", r->plan.rung.name, r->nice);
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
        if (f && p->hw_fmt != AV_PIX_FMT_NONE &&
            (f->format != p->hw_fmt || !f->hw_frames_ctx)) {
            /* Copy accounting: on a hardware path nothing but device
             * frames reaches an encoder (no hidden upload inside it). */
            const char *fmt = av_get_pix_fmt_name(f->format);
            ret = EB_ERR(EPROTO);
            eb_pipe_fail_hw(p, ret,
                            "internal error: rung %s was handed a %s frame, not a %s device frame",
                            r->plan.rung.name, fmt ? fmt : "?", av_get_pix_fmt_name(p->hw_fmt));
            av_frame_free(&f);
            break;
        }
        if (f)
            eb_rung_sent(r, f->pts);
        t0 = eb_clock_ns();
        ret = avcodec_send_frame(r->enc, f); /* NULL flushes */
        r->encode_ns += eb_clock_ns() - t0;
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
    if (ret < 0 && r->enc_error && p->hw_fmt != AV_PIX_FMT_NONE)
        eb_pipe_fail_hw(p, ret, "%s encoder of rung %s failed: %s", r->enc->codec->name,
                        r->plan.rung.name, eb_strerror(ret));
    else if (ret < 0 && r->enc_error)
        eb_pipe_fail_hw(p, ret, "the %s encoder of rung %s failed (%s)", r->enc->codec->name,
                        r->plan.rung.name, eb_strerror(ret));
    else if (ret < 0 && ret != EB_ERR(EPIPE))
        /* EPIPE: a queue aborted after another stage failed first. */
        eb_pipe_fail_stage(p, ret, "rung", r->plan.rung.name, r->seg);
    if (ret < 0)
        eb_pipe_fail(p, ret);
    av_packet_free(&pkt);
    r->thread_cpu = eb_cpu_thread_seconds();
    eb_thread_done(p);
    return NULL;
}

/* ---- setup ---- */

static int eb_open_audio_encoder(EbPipeline *p, EbAudioOut *a, const EbAudioTrackInfo *t)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *c;
    int ret;

    if (!codec)
        return EB_ERR_CODEC_UNSUPPORTED;
    c = avcodec_alloc_context3(codec);
    if (!c)
        return EB_ERR(ENOMEM);
    c->sample_rate = t->sample_rate;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&c->ch_layout, t->channels);
    c->bit_rate = p->cfg.audio_bitrate;
    c->time_base = (AVRational){1, c->sample_rate};
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = avcodec_open2(c, codec, NULL);
    if (ret < 0) {
        avcodec_free_context(&c);
        return ret;
    }
    a->enc = c;
    return 0;
}

/* "audio" when there is one audio rendition; of several, "audio_<language>"
 * ("audio_en", "audio_pt-BR"), "audio_<n>" (from 1) where the language is
 * undetermined or taken by an earlier track. Folder and Representation id. */
static void eb_audio_rendition_name(const EbPipeline *p, int k, char *out, size_t size)
{
    const char *lang = p->info->audio[k].language;
    int taken = !lang[0] || strlen(lang) > 9;

    if (p->nb_audio == 1) {
        snprintf(out, size, "audio");
        return;
    }
    for (int j = 0; j < k && !taken; j++)
        taken = !strcmp(p->info->audio[j].language, lang);
    if (taken)
        snprintf(out, size, "audio_%d", k + 1);
    else
        snprintf(out, size, "audio_%s", lang);
}

static double eb_plan_pixels(const EbRungPlan *plan)
{
    return (double)plan->width * plan->height;
}

static int eb_rung_threads(const EbPipeline *p, int i)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double total = 0, share;
    int t;

    if (p->cfg.encoder_threads > 0)
        return p->cfg.encoder_threads;
    for (int j = 0; j < p->nb_rungs; j++)
        total += eb_plan_pixels(&p->rungs[j].plan);
    share = eb_plan_pixels(&p->rungs[i].plan) / total;
    /* Threads in proportion to the rung's share of the pixels, and one more
     * for the largest rung of a ladder: it is the critical path, and with
     * more runnable threads it gets a bigger share of the cores while the
     * small rungs fill the gaps. Measured (2 cores, 20 s 1080p30 default
     * ladder, sliced threads): 1080p with 2 threads 13.6-14.0 s wall, with
     * 3 threads 13.2-13.3 s, same CPU time and PSNR (4 threads: 13.0-13.2 s
     * but -0.04 dB from the fourth slice). */
    t = (int)lround(share * (double)(cpus < 1 ? 1 : cpus) * 1.5);
    if (p->nb_rungs > 1) {
        int largest = 1;
        for (int j = 0; j < p->nb_rungs; j++)
            if (eb_plan_pixels(&p->rungs[j].plan) > eb_plan_pixels(&p->rungs[i].plan))
                largest = 0;
        t += largest;
    }
    return t < 1 ? 1 : t;
}

/* Opens the encoder under the rung's thread name: the threads it starts
 * (x264's slice and lookahead threads) inherit the name of the thread that
 * opens it, so `top -H` and the per-stage CPU figures put them where they
 * belong. */
static int eb_open_rung_encoder(EbPipeline *p, EbRungCtx *r, const EbEncodeParams *ep)
{
    char self[16] = "", name[32];
    int ret;

    pthread_getname_np(pthread_self(), self, sizeof(self));
    eb_rung_thread_name(r, name, sizeof(name));
    pthread_setname_np(pthread_self(), name);
    ret = p->dev->backend->encoder_open(p->dev, ep, &r->enc);
    pthread_setname_np(pthread_self(), self);
    return ret;
}

/* A part's length in whole ticks of tb (video frames at the source's rate,
 * audio samples), at most part_seconds: every part <= the target. */
static int64_t eb_part_ticks(double part_seconds, AVRational tb)
{
    int64_t n;
    if (!(part_seconds > 0) || tb.num <= 0 || tb.den <= 0)
        return 0;
    n = (int64_t)floor(part_seconds * tb.den / tb.num + 1e-6);
    return n > 0 ? n : 1;
}

static int eb_open_rung(EbPipeline *p, int i)
{
    EbRungCtx *r = &p->rungs[i];
    EbEncodeParams ep = {0};
    EbSegmenterConfig sc = {0};
    EbRungPlan plans[EB_LADDER_MAX_RUNGS];
    int ret;

    ep.codec = eb_rung_codec_id(&r->plan.rung);
    ep.width = r->plan.width;
    ep.height = r->plan.height;
    /* A capped rung keeps the source's time base (its frames are a subset
     * of the source's, at their own timestamps) and states its own rate. */
    ep.frame_rate = r->cap.num ? r->cap : p->info->frame_rate;
    ep.time_base = p->bounds.time_base;
    ep.bitrate = r->plan.rung.bitrate;
    ep.maxrate = eb_rung_maxrate(&r->plan.rung);
    ep.bufsize = eb_rung_bufsize(&r->plan.rung);
    /* The longest distance between two boundaries, plus one, so the
     * encoder's own keyframe interval never fires before the forced IDR. */
    ep.gop_frames = (int)(eb_boundary_max_distance(&p->bounds) + 1);
    ep.preset = p->cfg.preset;
    ep.profile = r->plan.rung.profile;
    ep.threads = eb_rung_threads(p, i);
    for (int j = 0; j < p->nb_rungs; j++)
        plans[j] = p->rungs[j].plan;
    r->nice = eb_pipeline_rung_nice(plans, p->nb_rungs, i);
    ep.color_primaries = p->info->color_primaries;
    ep.color_trc = p->info->color_trc;
    ep.colorspace = p->info->colorspace;
    ep.color_range = p->info->color_range;
    ep.chroma_location = p->info->chroma_location;
    ret = eb_open_rung_encoder(p, r, &ep);
    if (ret < 0) {
        if (p->hw_fmt != AV_PIX_FMT_NONE) {
            /* Single-threaded setup: the caller reports it. */
            p->hw_stage_failed = 1;
            snprintf(p->error_detail, sizeof(p->error_detail),
                     "%s encoder for rung %s (%dx%d) did not open: %s", p->dev->backend->name,
                     r->plan.rung.name, ep.width, ep.height, eb_strerror(ret));
        }
        return ret;
    }

    sc.sink = p->sink;
    sc.rendition = i;
    sc.format = p->cfg.format;
    sc.video = r->enc;
    sc.audio = p->cfg.format == EB_FORMAT_TS && p->nb_audio ? p->audio[0].enc : NULL;
    sc.part_duration = eb_part_ticks(p->cfg.part_seconds, p->bounds.time_base);
    ret = eb_segmenter_open(&sc, &r->seg);
    if (ret < 0)
        return ret;
    ret = eb_queue_create(&r->frames_q, EB_PIPELINE_RUNG_QUEUE, eb_free_frame_item);
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
    EB_LOGI("pipeline", "rung %s: %dx%d %lld kb/s (%d encoder threads)", r->plan.rung.name,
            r->plan.width, r->plan.height, (long long)(r->plan.rung.bitrate / 1000),
            r->enc->thread_count);
    return 0;
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

/* The fan-out's configuration. Software: source frames are handed out
 * upright; the fan-out sees them after rotation. Hardware: device frames
 * as stored, and the fan-out rotates (outputs are the upright rungs). */
static void eb_fanout_config(const EbPipeline *p, EbFanoutConfig *fc)
{
    const EbSourceGeometry *g = &p->info->geometry;
    int swap = g->rotation == 90 || g->rotation == 270;

    memset(fc, 0, sizeof(*fc));
    if (p->hw_fmt != AV_PIX_FMT_NONE) {
        fc->src_width = g->width;
        fc->src_height = g->height;
        fc->rotation = g->rotation;
    } else {
        fc->src_width = swap ? g->height : g->width;
        fc->src_height = swap ? g->width : g->height;
    }
    fc->src_format = p->hw_fmt != AV_PIX_FMT_NONE ? p->hw_fmt : AV_PIX_FMT_YUV420P;
    fc->chroma_location = p->info->chroma_location;
    fc->nb_outputs = p->nb_rungs;
    for (int i = 0; i < p->nb_rungs; i++) {
        fc->outputs[i].width = p->rungs[i].plan.width;
        fc->outputs[i].height = p->rungs[i].plan.height;
    }
}

int eb_pipeline_open(const EbPipelineConfig *cfg, EbPipeline **out, char *detail,
                     size_t detail_size, int *hw_stage)
{
    EbPipeline *p;
    EbFanoutConfig fc;
    int hw, ret;

    *out = NULL;
    *hw_stage = 0;
    if (!cfg->input || !cfg->dev || !cfg->plans || cfg->nb_rungs < 1 ||
        cfg->nb_rungs > EB_LADDER_MAX_RUNGS)
        return EB_ERR(EINVAL);
    p = calloc(1, sizeof(*p));
    if (!p)
        return EB_ERR(ENOMEM);
    p->cfg = *cfg;
    p->in = cfg->input;
    p->info = eb_input_info(cfg->input);
    p->dev = cfg->dev;
    p->hw_fmt = eb_hal_hw_format(cfg->dev);
    p->nb_rungs = cfg->nb_rungs;
    p->last_video_pts = INT64_MIN;
    atomic_init(&p->error, 0);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    hw = p->hw_fmt != AV_PIX_FMT_NONE;
    for (int i = 0; i < p->nb_rungs; i++) {
        p->rungs[i].p = p;
        p->rungs[i].index = i;
        p->rungs[i].plan = cfg->plans[i];
        atomic_init(&p->rungs[i].frames_done, 0);
        atomic_init(&p->rungs[i].frames_skipped, 0);
        p->rungs[i].last_slot = INT64_MIN;
        if (cfg->plans[i].rung.max_fps > 0) {
            AVRational cap = av_d2q(cfg->plans[i].rung.max_fps, 1001000);
            /* A cap at or above the source's rate changes nothing. */
            if (av_cmp_q(cap, p->info->frame_rate) < 0)
                p->rungs[i].cap = cap;
        }
    }
    /* Frames are timed in 1/frame_rate from 0 (eb_input.h). */
    ret = eb_boundary_init(&p->bounds, cfg->segment_seconds, av_inv_q(p->info->frame_rate), 0);
    if (ret < 0) {
        snprintf(detail, detail_size, "segment length %.3f s or frame rate %d/%d not usable",
                 cfg->segment_seconds, p->info->frame_rate.num, p->info->frame_rate.den);
        goto error;
    }
    for (int i = 0; i < p->nb_rungs; i++)
        eb_boundary_cursor_init(&p->rungs[i].cut, &p->bounds);

    if (cfg->audio_bitrate > 0) {
        /* CMAF: a rendition per track; TS muxes one track, the default. */
        p->nb_audio =
            cfg->format == EB_FORMAT_CMAF ? p->info->nb_audio : FFMIN(p->info->nb_audio, 1);
        for (int k = 0; k < p->nb_audio; k++) {
            EbAudioOut *a = &p->audio[k];
            const EbAudioTrackInfo *t = &p->info->audio[k];
            ret = eb_open_audio_encoder(p, a, t);
            if (ret < 0)
                goto error;
            eb_audio_rendition_name(p, k, a->name, sizeof(a->name));
            if (cfg->format == EB_FORMAT_CMAF) {
                a->hold = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
                a->scratch = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
                if (!a->hold || !a->scratch) {
                    ret = EB_ERR(ENOMEM);
                    goto error;
                }
                eb_boundary_cursor_init(&a->cut, &p->bounds);
                eb_audio_set_next(p, a);
            }
        }
    }
    ret = eb_queue_create(&p->src_q, EB_PIPELINE_SRC_QUEUE, eb_free_frame_item);
    if (ret < 0)
        goto error;

    eb_fanout_config(p, &fc);
    ret = p->dev->backend->fanout_open(p->dev, &fc, &p->fanout);
    if (ret < 0) {
        *hw_stage = hw;
        if (hw && fc.rotation)
            /* The policy then falls back (e.g. to software, which rotates
             * in the source graph). */
            snprintf(detail, detail_size,
                     "the %s fan-out did not open for a source rotated %d degrees (%s): this "
                     "backend's fan-out cannot rotate",
                     p->dev->backend->name, fc.rotation, eb_strerror(ret));
        else if (hw)
            snprintf(detail, detail_size, "the %s fan-out did not open (%dx%d %s, %d rungs): %s",
                     p->dev->backend->name, fc.src_width, fc.src_height,
                     av_get_pix_fmt_name(fc.src_format), p->nb_rungs, eb_strerror(ret));
        goto error;
    }
    *out = p;
    return 0;
error:
    eb_pipeline_free(&p);
    return ret;
}

int eb_pipeline_renditions(const EbPipeline *p, EbSinkRendition *out, int max)
{
    int n = 0;

    for (int i = 0; i < p->nb_rungs && n < max; i++, n++) {
        memset(&out[n], 0, sizeof(out[n]));
        snprintf(out[n].name, sizeof(out[n].name), "%s", p->rungs[i].plan.rung.name);
        out[n].format = p->cfg.format;
    }
    for (int k = 0; p->cfg.format == EB_FORMAT_CMAF && k < p->nb_audio && n < max; k++, n++) {
        memset(&out[n], 0, sizeof(out[n]));
        snprintf(out[n].name, sizeof(out[n].name), "%s", p->audio[k].name);
        out[n].is_audio = 1;
        out[n].format = p->cfg.format;
    }
    return n;
}

static int eb_start_thread(EbPipeline *p, pthread_t *t, void *(*fn)(void *), void *arg)
{
    int ret;

    pthread_mutex_lock(&p->lock);
    p->threads_running++;
    pthread_mutex_unlock(&p->lock);
    ret = pthread_create(t, NULL, fn, arg);
    if (ret != 0) {
        eb_thread_done(p);
        return EB_ERR(ret);
    }
    return 0;
}

int eb_pipeline_start(EbPipeline *p, EbSegmentSink *sink, const EbPipelineTap *tap)
{
    int ret = 0;

    if (!sink)
        return EB_ERR(EINVAL);
    p->sink = sink;
    if (tap) {
        p->tap = *tap;
        p->has_tap = 1;
        if (p->hw_fmt != AV_PIX_FMT_NONE) {
            p->tap_dl = av_frame_alloc();
            if (!p->tap_dl)
                return EB_ERR(ENOMEM);
        }
    }
    for (int k = 0; k < p->nb_audio && p->cfg.format == EB_FORMAT_CMAF; k++) {
        EbAudioOut *a = &p->audio[k];
        /* Whole AAC frames, so an audio part ends on a frame. */
        int frame_size = a->enc->frame_size > 0 ? a->enc->frame_size : 1024;
        int64_t frames = eb_part_ticks(p->cfg.part_seconds, a->enc->time_base) / frame_size;
        EbSegmenterConfig sc = {.sink = sink,
                                .rendition = p->nb_rungs + k,
                                .format = p->cfg.format,
                                .audio = a->enc,
                                .part_duration =
                                    p->cfg.part_seconds > 0 ? FFMAX(frames, 1) * frame_size : 0};
        ret = eb_segmenter_open(&sc, &a->seg);
        if (ret < 0)
            return ret;
    }
    for (int i = 0; i < p->nb_rungs; i++) {
        ret = eb_open_rung(p, i);
        if (ret < 0)
            return ret;
    }
    p->start_ns = eb_clock_ns();
    for (int i = 0; i < p->nb_rungs && ret >= 0; i++) {
        ret = eb_start_thread(p, &p->rungs[i].thread, eb_rung_main, &p->rungs[i]);
        p->rungs[i].started = ret >= 0;
    }
    if (ret >= 0) {
        ret = eb_start_thread(p, &p->fanout_thread, eb_fanout_main, p);
        p->fanout_started = ret >= 0;
    }
    if (ret >= 0) {
        ret = eb_start_thread(p, &p->demux_thread, eb_demux_main, p);
        p->demux_started = ret >= 0;
    }
    if (ret < 0) {
        /* Whatever started stops: every queue is aborted. */
        eb_pipe_fail(p, ret);
        eb_pipeline_wait(p, NULL, NULL);
    }
    return ret;
}

static void eb_progress(EbPipeline *p, EbPipelineProgress *pr)
{
    double elapsed = (eb_clock_ns() - p->start_ns) / 1e9;
    int64_t done = INT64_MAX;

    memset(pr, 0, sizeof(*pr));
    for (int i = 0; i < p->nb_rungs; i++) {
        /* source frames the rung is through: encoded or dropped by its cap */
        int64_t d = atomic_load(&p->rungs[i].frames_done) +
                    atomic_load(&p->rungs[i].frames_skipped);
        if (d < done)
            done = d;
        snprintf(pr->rung_names[i], sizeof(pr->rung_names[i]), "%s", p->rungs[i].plan.rung.name);
        pr->rung_frames[i] = d;
    }
    pr->nb_rungs = p->nb_rungs;
    pr->frames_done = done;
    pr->frames_total = p->info->expected_frames;
    pr->percent = pr->frames_total > 0 ? fmin(100.0, 100.0 * done / pr->frames_total) : 0;
    pr->fps = elapsed > 0 ? done / elapsed : 0;
    pr->speed = pr->fps / av_q2d(p->info->frame_rate);
    pr->eta_seconds =
        pr->fps > 0 && pr->frames_total > done ? (pr->frames_total - done) / pr->fps : -1;
}

int eb_pipeline_wait(EbPipeline *p, void (*progress)(const EbPipelineProgress *, void *),
                     void *opaque)
{
    EbPipelineProgress pr;

    if (p->joined)
        return atomic_load(&p->error);
    /* Wait for every thread, reporting progress twice a second. */
    pthread_mutex_lock(&p->lock);
    while (p->threads_running > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        pthread_mutex_unlock(&p->lock);
        /* Cancel reaches threads blocked on a queue, not just the demuxer. */
        if (p->cfg.cancel && atomic_load(p->cfg.cancel))
            eb_pipe_fail(p, EB_ERR_CANCELED);
        if (progress) {
            eb_progress(p, &pr);
            progress(&pr, opaque);
        }
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    if (p->demux_started)
        pthread_join(p->demux_thread, NULL);
    if (p->fanout_started)
        pthread_join(p->fanout_thread, NULL);
    for (int i = 0; i < p->nb_rungs; i++)
        if (p->rungs[i].started)
            pthread_join(p->rungs[i].thread, NULL);
    p->joined = 1;
    if (atomic_load(&p->error) >= 0 && progress) {
        eb_progress(p, &pr);
        progress(&pr, opaque);
    }
    return atomic_load(&p->error);
}

const char *eb_pipeline_error_detail(const EbPipeline *p) { return p->error_detail; }

int eb_pipeline_hw_failed(const EbPipeline *p) { return p->hw_stage_failed; }

const EbBoundaryPolicy *eb_pipeline_boundaries(const EbPipeline *p) { return &p->bounds; }

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
        EB_LOGW("pipeline", "rung %s: no SPS in the encoder's extradata; CODECS says %s",
                r->plan.rung.name, out);
    }
}

int eb_pipeline_describe(const EbPipeline *p, int rendition, EbRendition *v)
{
    memset(v, 0, sizeof(*v));
    if (rendition >= 0 && rendition < p->nb_rungs && p->rungs[rendition].enc) {
        const EbRungCtx *r = &p->rungs[rendition];
        snprintf(v->name, sizeof(v->name), "%s", r->plan.rung.name);
        v->width = r->plan.width;
        v->height = r->plan.height;
        v->frame_rate = r->cap.num ? r->cap : p->info->frame_rate;
        v->bitrate = r->plan.rung.bitrate;
        eb_rung_codec_string(r, v->codecs, sizeof(v->codecs));
        /* TS variants carry the audio. */
        if (p->cfg.format == EB_FORMAT_TS && p->nb_audio)
            av_strlcatf(v->codecs, sizeof(v->codecs), ",%s", EB_AUDIO_CODECS);
        return 0;
    }
    if (rendition >= p->nb_rungs && rendition < p->nb_rungs + p->nb_audio &&
        p->cfg.format == EB_FORMAT_CMAF) {
        const EbAudioOut *a = &p->audio[rendition - p->nb_rungs];
        const EbAudioTrackInfo *t = &p->info->audio[rendition - p->nb_rungs];
        snprintf(v->name, sizeof(v->name), "%s", a->name);
        v->is_audio = 1;
        v->sample_rate = a->enc->sample_rate;
        v->channels = a->enc->ch_layout.nb_channels;
        v->bitrate = a->enc->bit_rate;
        snprintf(v->codecs, sizeof(v->codecs), "%s", EB_AUDIO_CODECS);
        snprintf(v->language, sizeof(v->language), "%s", t->language);
        snprintf(v->label, sizeof(v->label), "%s", t->label);
        v->is_default = t->is_default;
        return 0;
    }
    return EB_ERR(EINVAL);
}

void eb_pipeline_stats(EbPipeline *p, EbPipelineStats *st)
{
    EbCpuUse use[EB_PIPELINE_CPU_NAMES];
    EbSourceStats ss;
    int nb_use;

    memset(st, 0, sizeof(*st));
    p->in->ops->stats(p->in, &ss);
    st->source_packets = ss.packets;
    st->frames_decoded = ss.frames_decoded;
    st->frames_out = ss.frames_out;
    st->damaged = ss.damaged;
    st->decode_seconds = ss.decode_ns / 1e9;
    st->filter_seconds = ss.filter_ns / 1e9;
    st->duration = ss.frames_out / av_q2d(p->info->frame_rate);
    st->device_uploads = ss.uploads;
    st->device_downloads = p->downloads;
    st->nb_audio = p->nb_audio;
    st->nb_rungs = p->nb_rungs;
    /* The encoders' own threads still live (until eb_pipeline_free): count
     * them under their rung's name now. */
    nb_use = eb_cpu_by_thread_name(use, EB_PIPELINE_CPU_NAMES);
    for (int i = 0; i < p->nb_rungs; i++) {
        EbRungCtx *r = &p->rungs[i];
        EbPipelineRungStats *rs = &st->rungs[i];
        char name[32];

        eb_rung_thread_name(r, name, sizeof(name));
        rs->cpu_seconds = r->thread_cpu;
        for (int u = 0; u < nb_use; u++)
            if (!strcmp(use[u].name, name))
                rs->cpu_seconds += use[u].seconds;
        if (r->frames_q) {
            EbQueueStats qs;
            eb_queue_get_stats(r->frames_q, &qs);
            rs->starved_seconds = qs.pop_wait_ns / 1e9;
            st->fanout_blocked_seconds += qs.push_wait_ns / 1e9;
        }
        snprintf(rs->name, sizeof(rs->name), "%s", r->plan.rung.name);
        rs->width = r->plan.width;
        rs->height = r->plan.height;
        rs->bitrate = r->plan.rung.bitrate;
        rs->frames = atomic_load(&r->frames_done);
        rs->video_bytes = r->video_bytes;
        rs->nb_segments = r->seg ? eb_segmenter_count(r->seg) : 0;
        rs->encode_seconds = r->encode_ns / 1e9;
        rs->mux_seconds = r->mux_ns / 1e9;
    }
    st->fanout_seconds = p->fanout_ns / 1e9;
    st->audio_seconds = p->audio_ns / 1e9;
    if (p->src_q) {
        EbQueueStats qs;
        eb_queue_get_stats(p->src_q, &qs);
        st->fanout_wait_seconds = qs.pop_wait_ns / 1e9;
        st->demux_blocked_seconds = qs.push_wait_ns / 1e9;
    }
    st->demux_cpu_seconds = p->demux_cpu;
    st->fanout_cpu_seconds = p->fanout_cpu;
}

void eb_pipeline_free(EbPipeline **pp)
{
    EbPipeline *p = *pp;

    if (!p)
        return;
    if (p->threads_running > 0 && !p->joined) {
        eb_pipe_fail(p, EB_ERR_CANCELED);
        eb_pipeline_wait(p, NULL, NULL);
    }
    for (int i = 0; i < p->nb_rungs; i++)
        eb_close_rung(&p->rungs[i]);
    eb_queue_free(&p->src_q);
    if (p->fanout)
        p->dev->backend->fanout_close(&p->fanout);
    for (int k = 0; k < EB_MAX_AUDIO_TRACKS; k++) {
        eb_segmenter_free(&p->audio[k].seg);
        eb_free_packet_fifo(&p->audio[k].hold);
        eb_free_packet_fifo(&p->audio[k].scratch);
        avcodec_free_context(&p->audio[k].enc);
    }
    av_frame_free(&p->tap_dl);
    sws_freeContext(p->tap_sws);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}
