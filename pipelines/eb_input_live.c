/*
 * The live input: a feed's bytes (MPEG-TS from SRT, FLV from RTMP) on a
 * file descriptor the daemon writes, demuxed by libavformat through a
 * custom AVIOContext, decoded once, normalised like every input.
 *
 * What makes it live, and why each rule is here rather than in the engine:
 *   - nothing seeks and nothing waits for a duration: probing reads at most
 *     a second of the feed, the frame rate is the stream's nominal one (the
 *     normaliser's fps retiming absorbs jitter and fills a dropped frame);
 *   - timestamps are repaired per stream on the packets, before decoding: a
 *     jump of more than a second either way (a publisher restarting its
 *     encoder, a 33-bit MPEG-TS wrap libavformat did not unwrap, a splice)
 *     makes the stream continue where it was, so time never runs backwards
 *     and audio stays where the video is;
 *   - real time: a frame handed out later than max_lag behind the feed's
 *     own pace (the earliest arrival seen so far anchors it) is dropped one
 *     in two, later than 3 x max_lag three in four. Dropping after decoding
 *     keeps the reference chain intact and spares the fan-out and every
 *     encoder, which is where a box that cannot keep up spends its time;
 *   - a blocked read notices cancel within 200 ms (poll), so a channel
 *     whose publisher goes silent can still be stopped.
 * Decoding is in software this far (a hardware device gets each frame
 * uploaded once by the normaliser); hardware decode of live feeds goes
 * through EbSource's decoder choice when it is shared.
 */
#include "eb_input.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/common.h>
#include <libavutil/samplefmt.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_hal_hw.h"
#include "eb_log.h"
#include "eb_normalize.h"

#define EB_LIVE_IO_BUFFER 32768
#define EB_LIVE_JUMP_SECONDS 1.0

typedef struct EbLiveClock {
    int have;
    int64_t last;   /* last repaired dts, stream time base */
    int64_t dur;    /* last packet duration seen, stream time base */
    int64_t offset; /* added to every timestamp of the stream */
} EbLiveClock;

typedef struct EbLiveIn {
    EbLiveInputOptions o;
    EbHalDevice *dev;
    AVFormatContext *fmt;
    AVIOContext *pb;
    AVCodecContext *vdec, *adec;
    int vidx, aidx;
    AVPacket *pkt;
    AVFrame *tmp;
    EbNormalize *norm; /* opened on the first decoded video frame */
    EbSourceInfo info;
    EbSourceStats stats; /* demux thread only */
    int upload;          /* hardware device: upload each frame */
    int flushed;
    EbLiveClock clock[2]; /* video, audio */
    int64_t t0;           /* first decoded video timestamp (repaired) */
    uint64_t anchor_ns;   /* monotonic time of media time 0 at the feed's pace */
    int have_anchor;
    int64_t drop_run;      /* consecutive late frames */
    int64_t video_end;     /* end of the last video frame handed out, 1/frame_rate */
    int64_t audio_end;     /* end of the last audio frame handed out, samples; -1 none */
    double last_v, last_a; /* seconds, for the A/V offset */

    pthread_mutex_t lock; /* live: read from any thread */
    EbLiveInputStats live;
    char detail[256];
} EbLiveIn;

static int64_t eb_wallclock_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int eb_live_read(void *opaque, uint8_t *buf, int size)
{
    EbLiveIn *s = opaque;

    for (;;) {
        struct pollfd p = {.fd = s->o.fd, .events = POLLIN};
        ssize_t n;
        int r;

        if (s->o.cancel && atomic_load(s->o.cancel))
            return AVERROR_EXIT;
        r = poll(&p, 1, 200);
        if (r < 0 && errno != EINTR)
            return AVERROR(errno);
        if (r <= 0)
            continue;
        n = read(s->o.fd, buf, (size_t)size);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return AVERROR(errno);
        }
        if (n == 0)
            return AVERROR_EOF;
        pthread_mutex_lock(&s->lock);
        s->live.bytes += n;
        pthread_mutex_unlock(&s->lock);
        return (int)n;
    }
}

static int eb_live_interrupt(void *opaque)
{
    EbLiveIn *s = opaque;
    return s->o.cancel && atomic_load(s->o.cancel);
}

/* Makes one stream's timestamps continuous (see the top of the file). */
static void eb_live_repair(EbLiveIn *s, int k, const AVStream *st, AVPacket *pkt)
{
    EbLiveClock *c = &s->clock[k];
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    int64_t jump =
        av_rescale_q(1000, (AVRational){1, 1000}, st->time_base) * (int64_t)EB_LIVE_JUMP_SECONDS;

    if (ts == AV_NOPTS_VALUE)
        return;
    if (c->have) {
        int64_t expect = c->last + c->dur;
        int64_t d = ts + c->offset - expect;
        if (d > jump || d < -jump) {
            EB_LOGW("live", "%s timestamps jumped by %.3f s: continuing from where they were",
                    k ? "audio" : "video", d * av_q2d(st->time_base));
            c->offset = expect - ts;
            pthread_mutex_lock(&s->lock);
            s->live.timestamp_jumps++;
            pthread_mutex_unlock(&s->lock);
        }
    }
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += c->offset;
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += c->offset;
    ts += c->offset;
    if (pkt->duration > 0 && pkt->duration < jump)
        c->dur = pkt->duration;
    else if (c->have && ts > c->last && ts - c->last < jump)
        c->dur = ts - c->last;
    c->last = ts;
    c->have = 1;
    {
        double sec = ts * av_q2d(st->time_base);
        pthread_mutex_lock(&s->lock);
        if (k)
            s->last_a = sec;
        else
            s->last_v = sec;
        if (s->aidx >= 0 && s->clock[0].have && s->clock[1].have)
            s->live.av_offset_seconds = s->last_a - s->last_v;
        pthread_mutex_unlock(&s->lock);
    }
}

static int eb_live_open_decoder(const AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec;
    int ret;

    if (!codec)
        return EB_ERR_CODEC_UNSUPPORTED;
    dec = avcodec_alloc_context3(codec);
    if (!dec)
        return EB_ERR(ENOMEM);
    ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret >= 0) {
        dec->pkt_timebase = st->time_base;
        ret = avcodec_open2(dec, codec, NULL);
    }
    if (ret < 0) {
        avcodec_free_context(&dec);
        return ret;
    }
    *out = dec;
    return 0;
}

/* The normaliser opens on the first decoded video frame: its time zero. */
static int eb_live_normalize_open(EbLiveIn *s, const AVFrame *f)
{
    EbNormalizeConfig nc = {
        .info = &s->info,
        .video_time_base = s->fmt->streams[s->vidx]->time_base,
        .audio_time_base = {s->aidx >= 0 ? s->fmt->streams[s->aidx]->time_base
                                         : (AVRational){1, 1}},
        .t0 = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : 0,
        .dev = s->upload ? s->dev : NULL,
        .upload = s->upload,
        .size_change_fails = 1,
    };
    s->t0 = nc.t0;
    pthread_mutex_lock(&s->lock);
    s->live.first_frame_wallclock_us = eb_wallclock_us();
    pthread_mutex_unlock(&s->lock);
    return eb_normalize_open(&nc, &s->norm);
}

static int eb_live_drain(EbLiveIn *s, AVCodecContext *dec, int is_audio)
{
    int ret;

    while ((ret = eb_decode_receive(dec, s->tmp, &s->stats, is_audio)) > 0) {
        if (!is_audio) {
            if (!s->norm) {
                ret = eb_live_normalize_open(s, s->tmp);
                if (ret < 0) {
                    av_frame_unref(s->tmp);
                    return ret;
                }
            }
            ret = eb_normalize_video(s->norm, s->tmp);
        } else if (s->norm) {
            ret = eb_normalize_audio(s->norm, 0, s->tmp);
        } else {
            ret = 0; /* audio before the first picture: before time zero */
        }
        av_frame_unref(s->tmp);
        if (ret < 0)
            return ret;
    }
    return ret;
}

static int eb_live_send(EbLiveIn *s, AVCodecContext *dec, const AVPacket *pkt, int is_audio)
{
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF && pkt) {
        s->stats.damaged += !is_audio; /* a damaged packet: conceal and go on */
        ret = 0;
    }
    if (ret < 0 && ret != AVERROR_EOF)
        return ret;
    return eb_live_drain(s, dec, is_audio);
}

/* One packet through, or the end of the feed. */
static int eb_live_pump(EbLiveIn *s)
{
    uint64_t t0 = eb_clock_ns();
    int ret = av_read_frame(s->fmt, s->pkt);

    if (ret < 0) {
        if (s->o.cancel && atomic_load(s->o.cancel))
            return EB_ERR_CANCELED;
        if (ret != AVERROR_EOF)
            EB_LOGW("live", "the feed ended with a read error: %s", eb_strerror(ret));
        ret = eb_live_send(s, s->vdec, NULL, 0);
        if (ret >= 0 && s->adec)
            ret = eb_live_send(s, s->adec, NULL, 1);
        if (ret >= 0 && s->norm)
            ret = eb_normalize_flush(s->norm);
        s->flushed = 1;
        s->stats.decode_ns += eb_clock_ns() - t0;
        return ret;
    }
    if (s->pkt->stream_index == s->vidx) {
        s->stats.packets++;
        eb_live_repair(s, 0, s->fmt->streams[s->vidx], s->pkt);
        ret = eb_live_send(s, s->vdec, s->pkt, 0);
    } else if (s->pkt->stream_index == s->aidx) {
        eb_live_repair(s, 1, s->fmt->streams[s->aidx], s->pkt);
        ret = eb_live_send(s, s->adec, s->pkt, 1);
    }
    av_packet_unref(s->pkt);
    s->stats.decode_ns += eb_clock_ns() - t0;
    return ret;
}

/* The drop policy (top of the file): 1 to drop this video frame. */
static int eb_live_late(EbLiveIn *s, const AVFrame *f)
{
    double t = f->pts * av_q2d(av_inv_q(s->info.frame_rate));
    uint64_t now = eb_clock_ns();
    uint64_t due = (uint64_t)(t * 1e9);
    double lag, max_lag = s->o.max_lag_seconds > 0 ? s->o.max_lag_seconds : 1.0;
    int drop = 0;

    if (!s->have_anchor || now - s->anchor_ns < due) {
        s->anchor_ns = now > due ? now - due : 0;
        s->have_anchor = 1;
    }
    lag = (double)(now - s->anchor_ns) / 1e9 - t;
    if (lag > max_lag) {
        s->drop_run++;
        drop = lag > 3 * max_lag ? s->drop_run % 4 != 0 : s->drop_run % 2 == 0;
    } else {
        s->drop_run = 0;
    }
    pthread_mutex_lock(&s->lock);
    s->live.lag_seconds = lag;
    s->live.dropped += drop;
    pthread_mutex_unlock(&s->lock);
    return drop;
}

/* At the feed's end, audio that stops before the pictures is completed
 * with silence up to the last picture's end (to within one AAC frame): a
 * live session's next run follows this one's video, and a hole left in
 * the audio there keeps players (hls.js) from ever ending the stream. 1: a
 * silent frame in frame; 0: nothing to add. */
static int eb_live_pad_audio(EbLiveIn *s, AVFrame *frame)
{
    int64_t want;
    int ret;

    const EbAudioTrackInfo *t = &s->info.audio[0];

    if (s->audio_end < 0 || s->info.nb_audio < 1)
        return 0;
    want =
        av_rescale_q(s->video_end, av_inv_q(s->info.frame_rate), (AVRational){1, t->sample_rate});
    if (s->audio_end >= want)
        return 0;
    frame->format = AV_SAMPLE_FMT_FLTP;
    frame->sample_rate = t->sample_rate;
    frame->nb_samples = 1024;
    av_channel_layout_default(&frame->ch_layout, t->channels); /* as normalised */
    if ((ret = av_frame_get_buffer(frame, 0)) < 0)
        return ret;
    av_samples_set_silence(frame->extended_data, 0, frame->nb_samples, frame->ch_layout.nb_channels,
                           AV_SAMPLE_FMT_FLTP);
    frame->pts = s->audio_end;
    frame->time_base = (AVRational){1, t->sample_rate};
    s->audio_end += frame->nb_samples;
    return 1;
}

static int eb_live_next(EbInput *in, AVFrame *frame, int *is_audio)
{
    EbLiveIn *s = in->priv;
    int ret;

    for (;;) {
        ret = s->norm ? eb_normalize_pop(s->norm, frame, is_audio) : EB_ERR(EAGAIN);
        if (ret == 0 && *is_audio) {
            s->audio_end = FFMAX(s->audio_end, frame->pts + frame->nb_samples);
            return 0;
        }
        if (ret == 0) {
            if (!eb_live_late(s, frame)) {
                s->video_end = FFMAX(s->video_end, frame->pts + 1);
                return 0;
            }
            av_frame_unref(frame);
            continue;
        }
        if (ret != EB_ERR(EAGAIN))
            return ret;
        if (s->flushed && (ret = eb_live_pad_audio(s, frame)) != 0) {
            *is_audio = 1;
            return ret < 0 ? ret : 0;
        }
        if (s->flushed) {
            EbSourceStats st;
            in->ops->stats(in, &st);
            return st.frames_out ? EB_EOF : EB_ERR_NO_FRAMES;
        }
        ret = eb_live_pump(s);
        if (ret < 0)
            return ret;
    }
}

static const EbSourceInfo *eb_live_info(EbInput *in)
{
    return &((EbLiveIn *)in->priv)->info;
}

static void eb_live_source_stats(EbInput *in, EbSourceStats *out)
{
    EbLiveIn *s = in->priv;
    *out = s->stats;
    if (s->norm) {
        int64_t dropped;
        eb_normalize_stats(s->norm, &out->frames_out, &out->uploads, &out->filter_ns, &dropped);
        out->damaged += dropped;
    }
}

static const char *eb_live_error_detail(EbInput *in)
{
    EbLiveIn *s = in->priv;
    return s->detail[0] || !s->norm ? s->detail : eb_normalize_detail(s->norm);
}

static void eb_live_free(EbLiveIn *s)
{
    eb_normalize_free(&s->norm);
    avcodec_free_context(&s->vdec);
    avcodec_free_context(&s->adec);
    if (s->fmt)
        avformat_close_input(&s->fmt);
    if (s->pb) {
        av_freep(&s->pb->buffer);
        avio_context_free(&s->pb);
    }
    av_packet_free(&s->pkt);
    av_frame_free(&s->tmp);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void eb_live_close(EbInput *in)
{
    eb_live_free(in->priv);
}

static const EbInputOps eb_input_live_ops = {
    .name = "live",
    .info = eb_live_info,
    .next = eb_live_next,
    .finish = NULL, /* a feed promises no duration */
    .stats = eb_live_source_stats,
    .error_detail = eb_live_error_detail,
    .close = eb_live_close,
};

void eb_input_live_stats(EbInput *in, EbLiveInputStats *out)
{
    EbLiveIn *s = in->priv;
    pthread_mutex_lock(&s->lock);
    *out = s->live;
    pthread_mutex_unlock(&s->lock);
}

static AVRational eb_live_rate(const AVStream *st)
{
    AVRational r = st->avg_frame_rate;
    if (r.num <= 0 || r.den <= 0 || av_q2d(r) > 120)
        r = st->r_frame_rate;
    if (r.num <= 0 || r.den <= 0 || av_q2d(r) > 120)
        return (AVRational){0, 1};
    return eb_source_snap_rate(av_q2d(r));
}

int eb_input_live_open(const EbLiveInputOptions *o, EbHalDevice *dev, EbInput **out, char *detail,
                       size_t detail_size)
{
    EbLiveIn *s;
    EbInput *in;
    AVDictionary *opts = NULL;
    const AVInputFormat *ifmt = NULL;
    uint8_t *buf;
    AVStream *vst;
    int ret;

    *out = NULL;
    if (o->format && !(ifmt = av_find_input_format(o->format)))
        return EB_ERR(EINVAL);
    s = calloc(1, sizeof(*s));
    in = calloc(1, sizeof(*in));
    if (!s || !in) {
        free(s);
        free(in);
        return EB_ERR(ENOMEM);
    }
    pthread_mutex_init(&s->lock, NULL);
    s->o = *o;
    s->dev = dev;
    s->vidx = s->aidx = -1;
    s->audio_end = -1;
    s->upload = dev && eb_hal_hw_format(dev) != AV_PIX_FMT_NONE;
    s->pkt = av_packet_alloc();
    s->tmp = av_frame_alloc();
    s->fmt = avformat_alloc_context();
    buf = av_malloc(EB_LIVE_IO_BUFFER);
    if (buf)
        s->pb = avio_alloc_context(buf, EB_LIVE_IO_BUFFER, 0, s, eb_live_read, NULL, NULL);
    if (!s->pkt || !s->tmp || !s->fmt || !s->pb) {
        if (!s->pb)
            av_free(buf);
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    s->pb->seekable = 0;
    s->fmt->pb = s->pb;
    s->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    s->fmt->interrupt_callback = (AVIOInterruptCB){eb_live_interrupt, s};
    /* Start within about a second of the feed. */
    av_dict_set(&opts, "probesize", "1000000", 0);
    av_dict_set(&opts, "analyzeduration", "1000000", 0);
    ret = avformat_open_input(&s->fmt, NULL, ifmt, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        snprintf(s->detail, sizeof(s->detail), "the feed is not %s media: %s",
                 o->format ? o->format : "recognisable", eb_strerror(ret));
        ret = ret == AVERROR_EXIT ? EB_ERR_CANCELED : EB_ERR_NOT_MEDIA;
        goto error;
    }
    ret = avformat_find_stream_info(s->fmt, NULL);
    if (ret < 0) {
        snprintf(s->detail, sizeof(s->detail), "no stream could be read from the feed: %s",
                 eb_strerror(ret));
        ret = EB_ERR_NOT_MEDIA;
        goto error;
    }
    for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
        const AVCodecParameters *par = s->fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && s->vidx < 0)
            s->vidx = (int)i;
        else if (par->codec_type == AVMEDIA_TYPE_AUDIO && s->aidx < 0 && o->want_audio &&
                 par->sample_rate > 0)
            s->aidx = (int)i;
    }
    if (s->vidx < 0) {
        snprintf(s->detail, sizeof(s->detail), "the feed carries no video");
        ret = EB_ERR_NO_VIDEO;
        goto error;
    }
    vst = s->fmt->streams[s->vidx];
    if (vst->codecpar->width <= 0 || vst->codecpar->height <= 0) {
        snprintf(s->detail, sizeof(s->detail), "the feed's video has no picture size");
        ret = EB_ERR_NOT_MEDIA;
        goto error;
    }
    s->info.frame_rate = eb_live_rate(vst);
    if (!s->info.frame_rate.num) {
        snprintf(s->detail, sizeof(s->detail),
                 "the feed's video states no frame rate and none could be measured");
        ret = EB_ERR_NOT_MEDIA;
        goto error;
    }
    ret = eb_live_open_decoder(vst, &s->vdec);
    if (ret < 0) {
        snprintf(s->detail, sizeof(s->detail), "video codec '%s' cannot be decoded",
                 avcodec_get_name(vst->codecpar->codec_id));
        goto error;
    }
    for (unsigned i = 0; i < s->fmt->nb_streams; i++)
        if ((int)i != s->vidx && (int)i != s->aidx)
            s->fmt->streams[i]->discard = AVDISCARD_ALL;
    /* Always retimed: a feed's rate is only ever nominal. */
    s->info.variable_rate = 1;
    s->info.geometry.width = vst->codecpar->width;
    s->info.geometry.height = vst->codecpar->height;
    s->info.geometry.sar = eb_source_sample_aspect(s->fmt, vst);
    s->info.out_width = vst->codecpar->width;
    s->info.out_height = vst->codecpar->height;
    s->info.chroma_location = vst->codecpar->chroma_location;
    s->info.video_codec = avcodec_get_name(vst->codecpar->codec_id);
    s->info.device_frames = s->upload;
    if (s->upload)
        snprintf(s->info.decode_note, sizeof(s->info.decode_note),
                 "live feed: decoded in software, uploaded to %s", dev->name);
    if (s->aidx >= 0) {
        const AVStream *ast = s->fmt->streams[s->aidx];
        if (eb_live_open_decoder(ast, &s->adec) < 0) {
            EB_LOGW("live", "the feed's audio (%s) cannot be decoded: video only",
                    avcodec_get_name(ast->codecpar->codec_id));
            s->aidx = -1;
        } else {
            /* One track, without its language: the session log (and so a
             * channel's recording) keeps none yet. */
            eb_source_describe_audio(ast, &s->info.audio[0]);
            s->info.audio[0].language[0] = 0;
            s->info.nb_audio = 1;
            eb_source_label_audio(&s->info);
        }
    }
    EB_LOGI("live", "feed: %s %dx%d at %d/%d fps%s%s", s->fmt->iformat->name,
            s->info.geometry.width, s->info.geometry.height, s->info.frame_rate.num,
            s->info.frame_rate.den, s->aidx >= 0 ? ", audio " : ", no audio",
            s->aidx >= 0 ? avcodec_get_name(s->fmt->streams[s->aidx]->codecpar->codec_id) : "");
    in->ops = &eb_input_live_ops;
    in->priv = s;
    *out = in;
    return 0;
error:
    if (detail)
        snprintf(detail, detail_size, "%s", s->detail[0] ? s->detail : eb_strerror(ret));
    eb_live_free(s);
    free(in);
    return ret;
}
