/*
 * Segmenter: libavformat muxes into a dynamic buffer; at every cut the buffer
 * is flushed and reported to the segment sink as one segment. For CMAF the mp4 muxer runs with
 * frag_custom (a fragment only when we ask for one) and delay_moov (the moov
 * is written with the first fragment, once the first timestamps are known, so
 * an audio track's edit list carries the AAC priming); the bytes
 * before the first moof of that first flush are the init segment. For TS the
 * muxer re-emits PAT/PMT at every segment so each one decodes on its own.
 *
 * Parts: the dynamic buffer keeps growing over a segment's fragments; a
 * part is the bytes written since the previous part (peeked, not taken),
 * and the segment is the whole buffer after the init section at the cut.
 *
 * The sink decides where the bytes go (eb_sink.h); a sink error (a full
 * disk) fails the job.
 */
#include "eb_segmenter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "eb_error.h"
#include "eb_log.h"

struct EbSegmenter {
    EbSegmentSink *sink;
    int rendition;
    EbOutputFormat format;
    AVFormatContext *mux;
    int video_index, audio_index;    /* -1 when absent */
    int primary;                     /* stream whose timeline the segments follow */
    AVRational enc_tb[2];            /* encoder time bases, by stream index */
    int header_written;
    int init_written;
    int nb_segments;
    int seg_open;                    /* packets written since the last cut */
    int64_t seg_start;               /* primary-stream pts of the open segment */
    int64_t seg_end;                 /* primary-stream pts + duration, max seen */
    int64_t total_bytes;
    /* parts (CMAF with part_duration > 0) */
    int64_t part_duration;           /* primary-stream time base */
    size_t data_off;                 /* where this buffer's segment bytes start (after
                                      * an init section written into it) */
    size_t part_off;                 /* end of the bytes already reported as parts */
    int part_index;                  /* of the open part within the segment */
    int part_open;                   /* primary packets written since the last part */
    int part_key;                    /* the open part starts with a keyframe */
    int64_t part_start;              /* primary-stream pts of the open part's first packet */
    int64_t part_dts;                /* its dts: parts are measured in decode time */
    int64_t part_end;                /* decode end of its last packet (dts + duration) */
    int64_t parts_time;              /* duration reported in the segment's parts so far */
    char detail[256];                /* the first failure, in words; "" */
};

/* Records what failed first (the caller's one error line), returns err. */
static int eb_segmenter_fail(EbSegmenter *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int eb_segmenter_fail(EbSegmenter *s, int err, const char *fmt, ...)
{
    va_list ap;

    if (err < 0 && !s->detail[0]) {
        va_start(ap, fmt);
        vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
        va_end(ap);
    }
    return err;
}

const char *eb_segmenter_error_detail(const EbSegmenter *s)
{
    return s && s->detail[0] ? s->detail : NULL;
}

static int eb_segmenter_open_buffer(EbSegmenter *s)
{
    return avio_open_dyn_buf(&s->mux->pb);
}

static int eb_add_stream(EbSegmenter *s, const AVCodecContext *enc)
{
    AVStream *st = avformat_new_stream(s->mux, NULL);
    int ret;

    if (!st)
        return EB_ERR(ENOMEM);
    ret = avcodec_parameters_from_context(st->codecpar, enc);
    if (ret < 0)
        return ret;
    /* HEVC in CMAF as 'hvc1' (parameter sets in the sample entry only), the
     * sample entry Apple's HLS requires; the mp4 muxer's default is 'hev1'.
     * Our encoders put the parameter sets in extradata, not in band. */
    if (s->format == EB_FORMAT_CMAF && enc->codec_id == AV_CODEC_ID_HEVC)
        st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    st->time_base = enc->time_base;
    if (enc->codec_type == AVMEDIA_TYPE_VIDEO)
        st->avg_frame_rate = enc->framerate;
    s->enc_tb[st->index] = enc->time_base;
    return st->index;
}

int eb_segmenter_open(const EbSegmenterConfig *cfg, EbSegmenter **out)
{
    EbSegmenter *s;
    AVDictionary *opts = NULL;
    const char *fmt = cfg->format == EB_FORMAT_CMAF ? "mp4" : "mpegts";
    int ret;

    *out = NULL;
    if ((!cfg->video && !cfg->audio) || !cfg->sink)
        return EB_ERR(EINVAL);
    s = calloc(1, sizeof(*s));
    if (!s)
        return EB_ERR(ENOMEM);
    s->sink = cfg->sink;
    s->rendition = cfg->rendition;
    s->format = cfg->format;
    s->video_index = s->audio_index = -1;
    if (cfg->part_duration > 0 && cfg->format == EB_FORMAT_CMAF)
        s->part_duration = cfg->part_duration;

    ret = avformat_alloc_output_context2(&s->mux, NULL, fmt, NULL);
    if (ret < 0)
        goto error;
    if (cfg->video) {
        ret = eb_add_stream(s, cfg->video);
        if (ret < 0)
            goto error;
        s->video_index = ret;
    }
    if (cfg->audio) {
        ret = eb_add_stream(s, cfg->audio);
        if (ret < 0)
            goto error;
        s->audio_index = ret;
    }
    s->primary = s->video_index >= 0 ? s->video_index : s->audio_index;

    ret = eb_segmenter_open_buffer(s);
    if (ret < 0)
        goto error;
    if (s->format == EB_FORMAT_CMAF) {
        av_dict_set(&opts, "movflags", "+cmaf+frag_custom+delay_moov+skip_trailer+negative_cts_offsets", 0);
        /* An audio track's encoder priming (AAC: 1024 samples, its first
         * packet's negative pts) is cut by an edit list (elst media_time
         * = the priming), as the CMAF and DASH-IF guidelines describe; the
         * cmaf flag alone leaves it out and presents the priming at 0,
         * every sound 21 ms late. Chromium's MSE applies it. Video keeps
         * negative composition offsets and no edit list. */
        if (s->video_index < 0 && s->audio_index >= 0)
            av_dict_set(&opts, "use_editlist", "1", 0);
        /* Low latency: a prft box before each fragment ties its media time
         * to the wall clock when it was written (LL-DASH; players can read
         * their latency from it). */
        if (s->part_duration > 0)
            av_dict_set(&opts, "write_prft", "wallclock", 0);
    } else {
        /* Shift both streams together so the AAC priming (negative pts)
         * never pushes timestamps below zero. */
        s->mux->avoid_negative_ts = AVFMT_AVOID_NEG_TS_MAKE_ZERO;
        av_dict_set(&opts, "mpegts_flags", "+resend_headers", 0);
    }
    ret = avformat_write_header(s->mux, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        goto error;
    s->header_written = 1;
    *out = s;
    return 0;
error:
    av_dict_free(&opts);
    EB_LOGE("segmenter", "cannot open the %s muxer of rendition %d: %s", fmt, cfg->rendition,
            eb_strerror(ret));
    eb_segmenter_free(&s);
    return ret;
}

static int eb_segmenter_close_part(EbSegmenter *s, int flushed);

int eb_segmenter_write(EbSegmenter *s, int is_audio, AVPacket *pkt)
{
    int idx = is_audio ? s->audio_index : s->video_index;
    AVStream *st;
    int ret;

    if (idx < 0) {
        av_packet_unref(pkt);
        return EB_ERR(EINVAL);
    }
    st = s->mux->streams[idx];
    pkt->stream_index = idx;
    av_packet_rescale_ts(pkt, s->enc_tb[idx], st->time_base);
    if (idx == s->primary) {
        if (!s->seg_open) {
            if (idx == s->video_index && !(pkt->flags & AV_PKT_FLAG_KEY))
                EB_LOGW("segmenter", "rendition %d: segment %d does not start on a keyframe",
                        s->rendition, s->nb_segments + 1);
            /* The presentation starts at 0: AAC priming (negative pts) is
             * cut by the edit list, so it never counts as media time. */
            s->seg_start = pkt->pts < 0 ? 0 : pkt->pts;
            s->seg_end = s->seg_start;
            s->seg_open = 1;
        }
        if (pkt->pts + pkt->duration > s->seg_end)
            s->seg_end = pkt->pts + pkt->duration;
    }
    if (idx == s->primary && s->part_duration > 0 && !s->part_open) {
        s->part_open = 1;
        s->part_key = !!(pkt->flags & AV_PKT_FLAG_KEY) || idx == s->audio_index;
        s->part_start = pkt->pts;
        s->part_dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
        s->part_end = s->part_dts;
    }
    {
        int64_t end = (pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts) + pkt->duration;
        int close_part;
        if (idx == s->primary && end > s->part_end)
            s->part_end = end;
        close_part = idx == s->primary && s->part_duration > 0 &&
                         av_rescale_q(end - s->part_dts, st->time_base, s->enc_tb[idx]) >=
                             s->part_duration;
        ret = av_write_frame(s->mux, pkt);
        if (ret < 0)
            /* Timestamps that go backwards or jump (a damaged input the
             * decoder let through) are what a muxer refuses. */
            eb_segmenter_fail(s, ret, "the %s muxer refused %s packet at %.3f s (%s)",
                              s->mux->oformat->name, idx == s->audio_index ? "an audio" : "a video",
                              pkt->pts * av_q2d(st->time_base), eb_strerror(ret));
        av_packet_unref(pkt);
        if (ret >= 0 && close_part)
            ret = eb_segmenter_close_part(s, 0);
    }
    return ret;
}

/* Offset of the first top-level box that belongs to a fragment. */
static size_t eb_find_fragment_start(const uint8_t *buf, size_t size)
{
    size_t pos = 0;

    while (pos + 8 <= size) {
        uint64_t len = ((uint64_t)buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) |
                       buf[pos + 3];
        const uint8_t *type = buf + pos + 4;
        if (!memcmp(type, "moof", 4) || !memcmp(type, "styp", 4) || !memcmp(type, "sidx", 4) ||
            !memcmp(type, "prft", 4))
            return pos;
        if (len == 1 && pos + 16 <= size) {
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | buf[pos + 8 + i];
        }
        if (len < 8)
            break;
        pos += len;
    }
    return size;
}

/* With delay_moov the first flush writes only ftyp+moov and keeps the
 * samples; a second one writes them as the first fragment. Then the init
 * section (the bytes before the first fragment) goes to the sink. */
static int eb_segmenter_first_fragment(EbSegmenter *s)
{
    uint8_t *peek;
    int n, ret;

    if (s->format != EB_FORMAT_CMAF || s->init_written || !s->seg_open)
        return 0;
    avio_flush(s->mux->pb);
    n = avio_get_dyn_buf(s->mux->pb, &peek);
    if (eb_find_fragment_start(peek, (size_t)n) == (size_t)n) {
        ret = av_write_frame(s->mux, NULL);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int eb_segmenter_report_init(EbSegmenter *s, const uint8_t *buf, size_t size)
{
    size_t off;
    int ret;

    if (s->format != EB_FORMAT_CMAF || s->init_written)
        return 0;
    off = eb_find_fragment_start(buf, size);
    ret = eb_sink_init(s->sink, s->rendition, buf, off);
    if (ret < 0)
        return eb_segmenter_fail(s, ret, "storing the init section failed (%s)", eb_strerror(ret));
    s->init_written = 1;
    s->data_off = s->part_off = off;
    return 0;
}

/* Reports the bytes written since the last part as the next part. With
 * flushed, the fragment is already closed (the segment's cut). */
static int eb_segmenter_close_part(EbSegmenter *s, int flushed)
{
    AVStream *st = s->mux->streams[s->primary];
    uint8_t *peek;
    int n, ret;

    if (!s->part_open)
        return 0;
    if (!flushed) {
        ret = av_write_frame(s->mux, NULL);
        if (ret >= 0)
            ret = eb_segmenter_first_fragment(s);
        if (ret < 0)
            return ret;
    }
    avio_flush(s->mux->pb);
    n = avio_get_dyn_buf(s->mux->pb, &peek);
    if (n < 0)
        return n;
    if ((ret = eb_segmenter_report_init(s, peek, (size_t)n)) < 0)
        return ret;
    if ((size_t)n > s->part_off) {
        /* Its length: decode time up to the last packet's end; the
         * segment's last part takes the rest of the segment, so the parts
         * sum to it exactly. */
        int64_t dur = flushed ? s->seg_end - s->seg_start - s->parts_time
                              : s->part_end - s->part_dts;
        EbSegmentReport rep = {
            .rendition = s->rendition,
            .sequence = s->nb_segments + 1,
            .part = s->part_index,
            .start = s->part_start < 0 ? 0 : s->part_start,
            .duration = dur > 0 ? dur : 0,
            .timescale = st->time_base.den / (st->time_base.num ? st->time_base.num : 1),
            .independent = s->part_key,
            .data = peek + s->part_off,
            .size = (size_t)n - s->part_off,
        };
        ret = eb_sink_part(s->sink, &rep);
        if (ret < 0)
            eb_segmenter_fail(s, ret, "storing a part failed (%s)", eb_strerror(ret));
        if (ret < 0)
            return ret;
        s->parts_time += rep.duration;
        s->part_index++;
        s->part_off = (size_t)n;
    }
    s->part_open = 0;
    return 0;
}

#define EB_TS_PACKET 188

static int eb_ts_pid(const uint8_t *p) { return (p[1] & 0x1f) << 8 | p[2]; }

/* RFC 8216 wants each TS segment to start with the PAT and the PMT; the
 * mpegts muxer writes the SDT before them. A segment that starts SDT, PAT,
 * then the PMT the PAT names gets its SDT moved after the PMT (packets of
 * different PIDs: each keeps its own continuity counter). */
static void eb_ts_tables_first(uint8_t *data, size_t size)
{
    uint8_t sdt[EB_TS_PACKET];
    const uint8_t *pat = data + EB_TS_PACKET;
    int pmt_pid;

    if (size < 3 * EB_TS_PACKET || data[0] != 0x47 || pat[0] != 0x47 ||
        data[2 * EB_TS_PACKET] != 0x47 || eb_ts_pid(data) != 0x11 || eb_ts_pid(pat) != 0 ||
        !(pat[1] & 0x40) || (pat[3] & 0x30) != 0x10 || pat[4] != 0)
        return; /* not SDT then a PAT section starting right after the header */
    /* pointer_field 0; table at 5; the first program's PMT PID at 15-16 */
    pmt_pid = (pat[15] & 0x1f) << 8 | pat[16];
    if (eb_ts_pid(data + 2 * EB_TS_PACKET) != pmt_pid)
        return;
    memcpy(sdt, data, EB_TS_PACKET);
    memmove(data, data + EB_TS_PACKET, 2 * EB_TS_PACKET);
    memcpy(data + 2 * EB_TS_PACKET, sdt, EB_TS_PACKET);
}

static int eb_segmenter_flush(EbSegmenter *s, int final)
{
    uint8_t *buf = NULL;
    int size, ret;
    size_t off = 0;

    if (s->format == EB_FORMAT_CMAF || !final) {
        ret = av_write_frame(s->mux, NULL); /* close the fragment / flush PES */
        if (ret < 0)
            return ret;
    }
    if ((ret = eb_segmenter_first_fragment(s)) < 0)
        return ret;
    if (s->part_duration > 0 && s->seg_open) {
        /* The segment's last part: whatever the fragment closed above holds. */
        if (!s->part_open && s->part_off < (size_t)avio_tell(s->mux->pb))
            s->part_open = 1;
        if ((ret = eb_segmenter_close_part(s, 1)) < 0)
            return ret;
    }
    if (final) {
        ret = av_write_trailer(s->mux);
        s->header_written = 0;
        if (ret < 0)
            return ret;
    }
    avio_flush(s->mux->pb);
    size = avio_close_dyn_buf(s->mux->pb, &buf);
    s->mux->pb = NULL;
    if (size < 0)
        return size;

    if (s->format == EB_FORMAT_CMAF && !s->init_written) {
        if ((ret = eb_segmenter_report_init(s, buf, (size_t)size)) < 0)
            goto done;
    }
    off = s->data_off;
    if (s->format == EB_FORMAT_TS && (size_t)size > off)
        eb_ts_tables_first(buf + off, (size_t)size - off);
    if (s->seg_open) {
        AVStream *st = s->mux->streams[s->primary];
        EbSegmentReport rep = {
            .rendition = s->rendition,
            .sequence = s->nb_segments + 1,
            .part = -1,
            .start = s->seg_start,
            .duration = s->seg_end - s->seg_start,
            .timescale = st->time_base.den / (st->time_base.num ? st->time_base.num : 1),
            .independent = 1, /* the caller cuts at keyframes only (checked above) */
            .data = buf + off,
            .size = (size_t)size - off,
        };
        ret = eb_sink_segment(s->sink, &rep);
        if (ret < 0)
            eb_segmenter_fail(s, ret, "storing segment %d failed (%s)", s->nb_segments + 1,
                              eb_strerror(ret));
        if (ret < 0)
            goto done;
        s->nb_segments++;
        s->total_bytes += (int64_t)rep.size;
        s->seg_open = 0;
    }
    s->data_off = s->part_off = 0;
    s->part_index = 0;
    s->part_open = 0;
    s->parts_time = 0;
    ret = final ? 0 : eb_segmenter_open_buffer(s);
done:
    av_free(buf);
    return ret;
}

int eb_segmenter_cut(EbSegmenter *s, int64_t next_start)
{
    int ret;

    if (!s->seg_open)
        return 0;
    if (next_start != AV_NOPTS_VALUE) {
        AVStream *st = s->mux->streams[s->primary];
        int64_t t = av_rescale_q(next_start, s->enc_tb[s->primary], st->time_base);
        if (t > s->seg_end)
            s->seg_end = t;
    }
    ret = eb_segmenter_flush(s, 0);
    if (ret >= 0 && s->format == EB_FORMAT_TS)
        av_opt_set(s->mux->priv_data, "mpegts_flags", "+resend_headers", 0);
    return ret;
}

int eb_segmenter_finish(EbSegmenter *s)
{
    int ret;

    if (!s->header_written)
        return 0;
    ret = eb_segmenter_flush(s, 1);
    return ret < 0 ? ret : eb_sink_end(s->sink, s->rendition);
}

int eb_segmenter_count(const EbSegmenter *s) { return s->nb_segments; }

int64_t eb_segmenter_bytes(const EbSegmenter *s) { return s->total_bytes; }

void eb_segmenter_free(EbSegmenter **sp)
{
    EbSegmenter *s = *sp;

    if (!s)
        return;
    if (s->mux) {
        if (s->mux->pb) {
            uint8_t *buf = NULL;
            avio_close_dyn_buf(s->mux->pb, &buf);
            av_free(buf);
            s->mux->pb = NULL;
        }
        avformat_free_context(s->mux);
    }
    free(s);
    *sp = NULL;
}
