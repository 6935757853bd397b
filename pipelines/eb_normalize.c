/*
 * Normalisation of decoded frames (see eb_normalize.h): the video path
 * decides on the first frame whether a libavfilter graph is needed at all,
 * and builds only the filters the source needs; the audio path is always a
 * graph (aresample with first_pts=0, aformat, 1024-sample frames).
 */
#include "eb_normalize.h"

#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/avstring.h>
#include <libavutil/fifo.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_hal_hw.h"
#include "eb_log.h"

/* Longest forward jump between two video frames the retiming fills; a
 * longer one is damage (eb_normalize_video). */
#define EB_NORMALIZE_MAX_GAP 60

struct EbNormalize {
    EbSourceInfo *info;           /* borrowed: the input's */
    AVRational video_tb;
    int64_t t0;
    EbHalDevice *dev;             /* NULL or the job's device (not owned) */
    enum AVPixelFormat hw_fmt;    /* AV_PIX_FMT_NONE: software path */

    /* video */
    int video_ready;              /* graph decision made (first frame seen) */
    AVFilterGraph *vgraph;
    AVFilterContext *vsrc, *vsink;
    int64_t next_index;           /* bypass path: frames are numbered */
    int64_t v_last_pts, v_last_dur; /* graph path: the last frame in, video_tb; dur 0: unknown */
    int v_have_last;
    char graph_desc[128]; /* the filters, for error messages */

    /* audio, one graph per track (info->audio[k]) */
    struct {
        AVRational tb;              /* of the decoded frames' timestamps */
        int64_t next_pts;           /* where the last frame in ended (relative, tb); NOPTS: none */
        int rate, format, channels; /* what the graph was built for */
        AVFilterGraph *graph;
        AVFilterContext *src, *sink;
    } audio[EB_MAX_AUDIO_TRACKS];

    AVFifo *ready; /* EbReadyFrame for the caller, in order */
    AVFrame *tmp;
    AVFrame *up;                  /* upload destination; NULL: no upload */
    int64_t frames_out, uploads;
    int64_t dropped;       /* damaged frames left out (another shape) */
    int size_change_fails; /* EbNormalizeConfig's */
    uint64_t filter_ns;
    char detail[256];
};

static int eb_is_hdr(enum AVColorTransferCharacteristic trc)
{
    return trc == AVCOL_TRC_SMPTE2084 || trc == AVCOL_TRC_ARIB_STD_B67;
}

/* A frame ready for the caller and what it is (eb_normalize_pop's *is_audio). */
typedef struct EbReadyFrame {
    AVFrame *frame;
    int kind; /* 0 video, 1 + audio track */
} EbReadyFrame;

static int eb_queue_ready(EbNormalize *s, AVFrame *f, int kind)
{
    EbReadyFrame r = {.frame = av_frame_alloc(), .kind = kind};
    int ret;
    if (!r.frame)
        return EB_ERR(ENOMEM);
    av_frame_move_ref(r.frame, f);
    ret = av_fifo_write(s->ready, &r, 1);
    if (ret < 0)
        av_frame_free(&r.frame);
    return ret;
}

/* ---- video ---- */

/* Source -> chain -> sink in graph; the chain's open ends are the default
 * "in"/"out" labels. */
static int eb_graph_build(AVFilterGraph *graph, const char *src_name, const char *src_args,
                          const char *sink_name, const char *chain, AVFilterContext **src,
                          AVFilterContext **sink)
{
    AVFilterInOut *in = NULL, *outp = NULL;
    int ret;

    ret = avfilter_graph_create_filter(src, avfilter_get_by_name(src_name), "in", src_args, NULL,
                                       graph);
    if (ret < 0)
        return ret;
    ret = avfilter_graph_create_filter(sink, avfilter_get_by_name(sink_name), "out", NULL, NULL,
                                       graph);
    if (ret < 0)
        return ret;
    in = avfilter_inout_alloc();
    outp = avfilter_inout_alloc();
    if (!in || !outp) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    outp->name = av_strdup("in");
    outp->filter_ctx = *src;
    in->name = av_strdup("out");
    in->filter_ctx = *sink;
    ret = avfilter_graph_parse_ptr(graph, chain, &in, &outp, NULL);
end:
    avfilter_inout_free(&in);
    avfilter_inout_free(&outp);
    return ret;
}

static int eb_video_graph_init(EbNormalize *s, const AVFrame *f)
{
    char args[512], chain[512] = "";
    int rot = s->info->geometry.rotation;
    int hw = s->hw_fmt != AV_PIX_FMT_NONE;
    size_t len;
    int ret;

    /* Hardware path: frames stay unrotated (the fan-out rotates); device
     * frames only go through fps, software frames end as NV12 for the
     * upload. */
    if (s->info->interlaced)
        av_strlcat(chain, "bwdif=mode=send_frame:parity=auto:deint=all,", sizeof(chain));
    if (!hw && rot == 90)
        av_strlcat(chain, "transpose=clock,", sizeof(chain));
    else if (!hw && rot == 180)
        av_strlcat(chain, "hflip,vflip,", sizeof(chain));
    else if (!hw && rot == 270)
        av_strlcat(chain, "transpose=cclock,", sizeof(chain));
    if (s->info->variable_rate) {
        snprintf(args, sizeof(args), "fps=fps=%d/%d:round=near:start_time=0,",
                 s->info->frame_rate.num, s->info->frame_rate.den);
        av_strlcat(chain, args, sizeof(chain));
    }
    if (!hw)
        av_strlcat(chain, "format=yuv420p", sizeof(chain));
    else if (!s->info->device_decode)
        av_strlcat(chain, "format=nv12", sizeof(chain));
    len = strlen(chain);
    if (len > 0 && chain[len - 1] == ',')
        chain[len - 1] = '\0';
    if (!chain[0])
        av_strlcpy(chain, "null", sizeof(chain));
    av_strlcpy(s->graph_desc, chain, sizeof(s->graph_desc));

    s->vgraph = avfilter_graph_alloc();
    if (!s->vgraph)
        return EB_ERR(ENOMEM);
    s->vgraph->nb_threads = 1;
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d:frame_rate=%d/%d",
             f->width, f->height, f->format, s->video_tb.num, s->video_tb.den,
             s->info->geometry.sar.num ? s->info->geometry.sar.num : 1,
             s->info->geometry.sar.den ? s->info->geometry.sar.den : 1, s->info->frame_rate.num,
             s->info->frame_rate.den);
    ret = eb_graph_build(s->vgraph, "buffer", args, "buffersink", chain, &s->vsrc, &s->vsink);
    if (ret < 0)
        return ret;
    if (f->hw_frames_ctx) {
        /* Device frames: buffersrc needs their frames context. */
        AVBufferSrcParameters *par = av_buffersrc_parameters_alloc();
        if (!par)
            return EB_ERR(ENOMEM);
        par->format = f->format;
        par->width = f->width;
        par->height = f->height;
        par->time_base = s->video_tb;
        par->frame_rate = s->info->frame_rate;
        par->sample_aspect_ratio = (AVRational){
            s->info->geometry.sar.num ? s->info->geometry.sar.num : 1,
            s->info->geometry.sar.den ? s->info->geometry.sar.den : 1};
        par->hw_frames_ctx = f->hw_frames_ctx; /* buffersrc takes its own reference */
        ret = av_buffersrc_parameters_set(s->vsrc, par);
        av_free(par);
        if (ret < 0)
            return ret;
    }
    ret = avfilter_graph_config(s->vgraph, NULL);
    if (ret < 0)
        return ret;
    EB_LOGI("source", "normalising video%s: %s",
            !hw                      ? ""
            : s->info->device_decode ? " on the device"
                                     : " in software before the upload",
            chain);
    return 0;
}

static int eb_video_first_frame(EbNormalize *s, const AVFrame *f)
{
    int need_graph;

    if (eb_is_hdr(f->color_trc))
        return EB_ERR_HDR_UNSUPPORTED;
    s->info->interlaced = f->interlaced_frame;
    s->info->color_primaries = f->color_primaries;
    s->info->color_trc = f->color_trc;
    s->info->colorspace = f->colorspace;
    s->info->color_range = f->color_range;
    if (f->format == AV_PIX_FMT_YUVJ420P)
        s->info->color_range = AVCOL_RANGE_JPEG;
    /* The fan-out and the encoders were set up for the size the stream
     * states: pictures of another size are damage past concealing. */
    if (s->info->geometry.width > 0 &&
        (f->width != s->info->geometry.width || f->height != s->info->geometry.height)) {
        snprintf(s->detail, sizeof(s->detail),
                 "its video stream states %dx%d pictures, it holds %dx%d", s->info->geometry.width,
                 s->info->geometry.height, f->width, f->height);
        return EB_ERR_DAMAGED;
    }
    s->info->geometry.width = f->width;
    s->info->geometry.height = f->height;
    if (s->hw_fmt != AV_PIX_FMT_NONE && s->info->device_decode) {
        /* Decoded on the device: the frames must be the device's NV12
         * surfaces the fan-out reads, and progressive (no deinterlacer on
         * the device path). The decision before decoding catches what the
         * container declares; this catches the rest. */
        const AVHWFramesContext *fc =
            f->hw_frames_ctx ? (const AVHWFramesContext *)f->hw_frames_ctx->data : NULL;
        if (f->format != s->hw_fmt || !fc) {
            snprintf(s->detail, sizeof(s->detail),
                     "the %s decoder handed out %s frames, not %s device frames",
                     s->dev->backend->name, av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "?",
                     av_get_pix_fmt_name(s->hw_fmt));
            return EB_ERR(EPROTO);
        }
        if (fc->sw_format != AV_PIX_FMT_NV12) {
            snprintf(s->detail, sizeof(s->detail),
                     "%s decodes this stream to %s surfaces; the device path carries NV12 only",
                     s->dev->backend->name, av_get_pix_fmt_name(fc->sw_format));
            return EB_ERR(ENOTSUP);
        }
        if (s->info->interlaced) {
            snprintf(s->detail, sizeof(s->detail),
                     "interlaced frames the container did not declare, decoded on %s: the "
                     "device path has no deinterlacer",
                     s->dev->name);
            return EB_ERR(ENOTSUP);
        }
        need_graph = s->info->variable_rate;
    } else if (s->hw_fmt != AV_PIX_FMT_NONE) {
        /* Decoded in software for the device: normalise, then upload. */
        need_graph = s->info->interlaced || s->info->variable_rate || f->format != AV_PIX_FMT_NV12;
    } else {
        need_graph = s->info->interlaced || s->info->geometry.rotation || s->info->variable_rate ||
                     (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P);
    }
    if (s->info->geometry.rotation == 90 || s->info->geometry.rotation == 270) {
        s->info->out_width = f->height;
        s->info->out_height = f->width;
    } else {
        s->info->out_width = f->width;
        s->info->out_height = f->height;
    }
    s->video_ready = 1;
    return need_graph ? eb_video_graph_init(s, f) : 0;
}

static int eb_video_emit(EbNormalize *s, AVFrame *f)
{
    /* Clean the properties the encoders must not inherit. */
    f->pict_type = AV_PICTURE_TYPE_NONE;
    f->interlaced_frame = 0;
    f->sample_aspect_ratio = (AVRational){1, 1};
    if (f->format == AV_PIX_FMT_YUVJ420P)
        f->format = AV_PIX_FMT_YUV420P; /* range travels in color_range */
    f->pkt_duration = 1;
    if (s->up) {
        /* Decoded in software for the device: the one upload of this frame.
         * A frame decoded on the device must never come here. */
        int ret;
        if (s->info->device_decode || f->hw_frames_ctx) {
            snprintf(s->detail, sizeof(s->detail),
                     "internal error: upload of a frame that is already on %s", s->dev->name);
            av_frame_unref(f);
            return EB_ERR(EPROTO);
        }
        ret = eb_hal_hw_upload(s->dev, f, s->up);
        av_frame_unref(f);
        if (ret < 0) {
            snprintf(s->detail, sizeof(s->detail), "upload to %s failed: %s", s->dev->name,
                     eb_strerror(ret));
            return ret;
        }
        s->uploads++;
        s->frames_out++;
        return eb_queue_ready(s, s->up, 0);
    }
    s->frames_out++;
    return eb_queue_ready(s, f, 0);
}

static int eb_video_drain_graph(EbNormalize *s)
{
    int ret;
    for (;;) {
        ret = av_buffersink_get_frame(s->vsink, s->tmp);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return ret;
        /* fps outputs 1/rate ticks; other chains keep the source clock. */
        if (!s->info->variable_rate)
            s->tmp->pts = s->next_index++;
        ret = eb_video_emit(s, s->tmp);
        if (ret < 0)
            return ret;
    }
}

int eb_normalize_video(EbNormalize *s, AVFrame *f)
{
    int ret;
    uint64_t t0;

    if (!s->video_ready) {
        ret = eb_video_first_frame(s, f);
        if (ret < 0)
            return ret;
    }
    if (f->width != s->info->geometry.width || f->height != s->info->geometry.height) {
        /* Another size than the first frame's, which the fan-out is built
         * for: in a file, a damaged frame, left out as damage is
         * concealed; in a live feed, a new picture size the run ends on
         * (the next run starts with it). */
        if (s->size_change_fails) {
            snprintf(s->detail, sizeof(s->detail), "its picture size changed from %dx%d to %dx%d",
                     s->info->geometry.width, s->info->geometry.height, f->width, f->height);
            av_frame_unref(f);
            return EB_ERR(EINVAL);
        }
        av_frame_unref(f);
        s->dropped++;
        return 0;
    }
    if (!s->vgraph) {
        /* Constant-rate source: frames are numbered, exact count kept. */
        f->pts = s->next_index++;
        return eb_video_emit(s, f);
    }
    t0 = eb_clock_ns();
    f->pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp - s->t0 : 0;
    /* The retiming would fill a forward jump with copies of one picture:
     * hours of them for a damaged timestamp. */
    if (s->v_have_last && av_compare_ts(f->pts - s->v_last_pts, s->video_tb, EB_NORMALIZE_MAX_GAP,
                                        (AVRational){1, 1}) > 0) {
        snprintf(s->detail, sizeof(s->detail),
                 "its video timestamps jump from %.3f s to %.3f s (more than %d s)",
                 s->v_last_pts * av_q2d(s->video_tb), f->pts * av_q2d(s->video_tb),
                 EB_NORMALIZE_MAX_GAP);
        av_frame_unref(f);
        return EB_ERR_DAMAGED;
    }
    /* Where the last frame ends, for the end of stream (eb_normalize_flush):
     * its own duration, else the step from the frame before. */
    if (f->pkt_duration > 0)
        s->v_last_dur = f->pkt_duration;
    else if (s->v_have_last && f->pts > s->v_last_pts)
        s->v_last_dur = f->pts - s->v_last_pts;
    s->v_last_pts = f->pts;
    s->v_have_last = 1;
    ret = av_buffersrc_add_frame_flags(s->vsrc, f, AV_BUFFERSRC_FLAG_KEEP_REF);
    av_frame_unref(f);
    if (ret >= 0)
        ret = eb_video_drain_graph(s);
    if (ret < 0 && !s->detail[0])
        snprintf(s->detail, sizeof(s->detail), "normalising its video (%s) failed at %.3f s (%s)",
                 s->graph_desc, s->v_last_pts * av_q2d(s->video_tb), eb_strerror(ret));
    s->filter_ns += eb_clock_ns() - t0;
    return ret;
}

/* ---- audio ---- */

static int eb_audio_graph_init(EbNormalize *s, int k, const AVFrame *f)
{
    const EbAudioTrackInfo *t = &s->info->audio[k];
    char args[512], layout[64], chain[256];
    int ret;

    s->audio[k].graph = avfilter_graph_alloc();
    if (!s->audio[k].graph)
        return EB_ERR(ENOMEM);
    av_channel_layout_describe(&f->ch_layout, layout, sizeof(layout));
    snprintf(args, sizeof(args), "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             s->audio[k].tb.num, s->audio[k].tb.den, f->sample_rate,
             av_get_sample_fmt_name(f->format), layout);
    /* first_pts=0 with hard compensation above 10 ms: the audio timeline
     * starts exactly with the first video frame (silence in front of a
     * late track, trimmed samples from an early one). */
    snprintf(chain, sizeof(chain),
             "aresample=%d:async=1:min_hard_comp=0.01:first_pts=0,"
             "aformat=sample_fmts=fltp:channel_layouts=%s",
             t->sample_rate, t->channels == 2 ? "stereo" : "mono");
    ret = eb_graph_build(s->audio[k].graph, "abuffer", args, "abuffersink", chain, &s->audio[k].src,
                         &s->audio[k].sink);
    if (ret < 0)
        return ret;
    ret = avfilter_graph_config(s->audio[k].graph, NULL);
    if (ret < 0)
        return ret;
    av_buffersink_set_frame_size(s->audio[k].sink, 1024);
    return 0;
}

static int eb_audio_drain_graph(EbNormalize *s, int k)
{
    AVRational tb = {1, s->info->audio[k].sample_rate};
    int ret;

    for (;;) {
        ret = av_buffersink_get_frame(s->audio[k].sink, s->tmp);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return ret;
        /* Rescale to 1/sample_rate for the AAC encoder. */
        s->tmp->pts = av_rescale_q(s->tmp->pts, av_buffersink_get_time_base(s->audio[k].sink), tb);
        s->tmp->time_base = tb;
        ret = eb_queue_ready(s, s->tmp, 1 + k);
        if (ret < 0)
            return ret;
    }
}

int eb_normalize_audio(EbNormalize *s, int k, AVFrame *f)
{
    int ret;

    if (k < 0 || k >= s->info->nb_audio) {
        av_frame_unref(f);
        return EB_ERR(EINVAL);
    }
    if (!s->audio[k].graph) {
        ret = eb_audio_graph_init(s, k, f);
        if (ret < 0)
            return ret;
        s->audio[k].rate = f->sample_rate;
        s->audio[k].format = f->format;
        s->audio[k].channels = f->ch_layout.nb_channels;
    }
    if (f->sample_rate != s->audio[k].rate || f->format != s->audio[k].format ||
        f->ch_layout.nb_channels != s->audio[k].channels || f->nb_samples <= 0) {
        /* A damaged frame the decoder gave another shape: left out (the
         * resampler fills the gap), as a damaged video frame is concealed. */
        av_frame_unref(f);
        s->dropped++;
        return 0;
    }
    /* Audio time relative to the first video frame. A frame without a
     * timestamp, or one more than EB_NORMALIZE_MAX_GAP from where the last
     * ended (or, the first, from the first video frame) (damage: the
     * resampler would fill the jump with hours of silence), follows the one
     * before. */
    if (f->best_effort_timestamp != AV_NOPTS_VALUE)
        f->pts = f->best_effort_timestamp - av_rescale_q(s->t0, s->video_tb, s->audio[k].tb);
    if (f->best_effort_timestamp == AV_NOPTS_VALUE ||
        av_compare_ts(
            FFABS(f->pts - (s->audio[k].next_pts != AV_NOPTS_VALUE ? s->audio[k].next_pts : 0)),
            s->audio[k].tb, EB_NORMALIZE_MAX_GAP, (AVRational){1, 1}) > 0) {
        if (f->best_effort_timestamp != AV_NOPTS_VALUE)
            s->dropped++; /* counted as damage: the frame stays, its time does not */
        f->pts = s->audio[k].next_pts != AV_NOPTS_VALUE ? s->audio[k].next_pts : 0;
    }
    if (f->sample_rate > 0)
        s->audio[k].next_pts =
            f->pts + av_rescale_q(f->nb_samples, (AVRational){1, f->sample_rate}, s->audio[k].tb);
    ret = av_buffersrc_add_frame_flags(s->audio[k].src, f, 0);
    av_frame_unref(f);
    if (ret >= 0)
        ret = eb_audio_drain_graph(s, k);
    if (ret < 0 && !s->detail[0])
        snprintf(s->detail, sizeof(s->detail), "normalising audio track %d failed at %.3f s (%s)",
                 k + 1, s->audio[k].next_pts * av_q2d(s->audio[k].tb), eb_strerror(ret));
    /* Audio is resampled in software from what the decoder gave: short of
     * memory, a failure there is the input's (libavfilter's ENOSPC is its
     * buffers, not a disk). */
    return ret < 0 && ret != EB_ERR(ENOMEM) ? EB_ERR_DAMAGED : ret;
}

int eb_normalize_open(const EbNormalizeConfig *cfg, EbNormalize **out)
{
    EbNormalize *n = calloc(1, sizeof(*n));

    *out = NULL;
    if (!n)
        return EB_ERR(ENOMEM);
    n->info = cfg->info;
    n->video_tb = cfg->video_time_base;
    for (int k = 0; k < EB_MAX_AUDIO_TRACKS; k++) {
        n->audio[k].tb = cfg->audio_time_base[k];
        n->audio[k].next_pts = AV_NOPTS_VALUE;
    }
    n->t0 = cfg->t0;
    n->size_change_fails = cfg->size_change_fails;
    n->dev = cfg->dev;
    n->hw_fmt = cfg->dev ? eb_hal_hw_format(cfg->dev) : AV_PIX_FMT_NONE;
    n->ready = av_fifo_alloc2(16, sizeof(EbReadyFrame), AV_FIFO_FLAG_AUTO_GROW);
    n->tmp = av_frame_alloc();
    if (cfg->upload && n->hw_fmt != AV_PIX_FMT_NONE)
        n->up = av_frame_alloc();
    if (!n->ready || !n->tmp || (cfg->upload && n->hw_fmt != AV_PIX_FMT_NONE && !n->up)) {
        eb_normalize_free(&n);
        return EB_ERR(ENOMEM);
    }
    *out = n;
    return 0;
}

int eb_normalize_flush(EbNormalize *s)
{
    int ret = 0;

    if (s->vgraph) {
        /* The stream ends where its last frame ends, not where it starts:
         * closed at its start, the fps filter would leave that frame out
         * (as the ffmpeg command line, which closes at the next pts). */
        int64_t end = AV_NOPTS_VALUE;
        if (s->v_have_last) {
            int64_t dur = s->v_last_dur;
            if (dur <= 0)
                dur = av_rescale_q(1, av_inv_q(s->info->frame_rate), s->video_tb);
            end = s->v_last_pts + (dur > 0 ? dur : 1);
        }
        ret = av_buffersrc_close(s->vsrc, end, AV_BUFFERSRC_FLAG_PUSH);
        if (ret >= 0)
            ret = eb_video_drain_graph(s);
        if (ret < 0)
            return ret;
    }
    for (int k = 0; k < s->info->nb_audio && ret >= 0; k++) {
        if (!s->audio[k].graph)
            continue;
        ret = av_buffersrc_add_frame(s->audio[k].src, NULL);
        if (ret >= 0)
            ret = eb_audio_drain_graph(s, k);
    }
    return ret;
}

int eb_normalize_pop(EbNormalize *n, AVFrame *out, int *is_audio)
{
    EbReadyFrame r;

    if (av_fifo_read(n->ready, &r, 1) < 0)
        return EB_ERR(EAGAIN);
    *is_audio = r.kind;
    av_frame_move_ref(out, r.frame);
    av_frame_free(&r.frame);
    return 0;
}

void eb_normalize_stats(const EbNormalize *n, int64_t *frames_out, int64_t *uploads,
                        uint64_t *filter_ns, int64_t *dropped)
{
    *dropped = n->dropped;
    *frames_out = n->frames_out;
    *uploads = n->uploads;
    *filter_ns = n->filter_ns;
}

const char *eb_normalize_detail(const EbNormalize *n) { return n->detail; }

void eb_normalize_free(EbNormalize **np)
{
    EbNormalize *n = *np;
    EbReadyFrame r;

    if (!n)
        return;
    if (n->ready) {
        while (av_fifo_read(n->ready, &r, 1) >= 0)
            av_frame_free(&r.frame);
        av_fifo_freep2(&n->ready);
    }
    avfilter_graph_free(&n->vgraph);
    for (int k = 0; k < EB_MAX_AUDIO_TRACKS; k++)
        avfilter_graph_free(&n->audio[k].graph);
    av_frame_free(&n->tmp);
    av_frame_free(&n->up);
    free(n);
    *np = NULL;
}
