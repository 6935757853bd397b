/*
 * Source stage of the file input: demux and decode here, normalise through
 * EbNormalize (shared by every input). See eb_source.h for the contract.
 *
 * Pull model: eb_source_next() returns a ready frame if one is queued, else
 * reads one packet, decodes it and hands the frames it yields to the
 * normaliser. Video and audio frames come out in demux order, so the
 * caller's downstream queues stay short.
 */
#include "eb_source.h"
#include "eb_clock.h"
#include "eb_memory.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

#include "eb_error.h"
#include "eb_hal_hw.h"
#include "eb_language.h"
#include "eb_log.h"
#include "eb_normalize.h"
#include "eb_storage.h"

#define EB_MAX_FPS 60
/* Files the demuxers may open for one input (an HLS VOD of 12 h in 2 s
 * segments is 21600), and how often the same one: a VOD playlist opens
 * each file once or twice; a self-including list would open it for ever. */
#define EB_SOURCE_MAX_OPENS 100000
#define EB_SOURCE_MAX_SAME_OPENS 16
#define EB_SOURCE_TRACKED_URLS 1024

struct EbSource {
    AVFormatContext *fmt;
    int vidx;
    AVCodecContext *vdec;
    AVCodecContext *adec[EB_MAX_AUDIO_TRACKS]; /* track k: info.audio[k] */
    EbSourceInfo info;
    EbSourceStats stats;
    int64_t t0; /* first video timestamp, vst time base */
    int want_audio;

    EbNormalize *norm; /* decoded frames -> what the engine takes */
    AVPacket *pkt;
    AVFrame *tmp;
    int demux_eof;
    int flushed;
    const char *const *input_roots; /* NULL: not confined */
    char refused[512];              /* first URL the confinement refused */
    /* Runaway inputs (a playlist or concat list that includes itself, a
     * playlist reloaded for ever): every file the demuxers open is counted. */
    int64_t nb_opens;
    struct {
        uint64_t hash;
        int count;
    } opened[EB_SOURCE_TRACKED_URLS];
    int nb_opened;
    char runaway[600]; /* why the opens were stopped, or "" */
    int read_error;    /* av_read_frame ended with an error, not EOF */
    int64_t stated_frames; /* the container's count of video frames (mp4); 0 unknown */
    int video_duration_stated; /* info.duration is the video stream's own (not the file's) */
    int64_t shown_packets;     /* video packets read from the first keyframe on that are to
                                * be shown (no discard flag) */
    int seen_key;
    /* Seconds of audio each track's decoder gave out: samples, not
     * timestamps, so a gap in the input is not counted. */
    double audio_decoded[EB_MAX_AUDIO_TRACKS];

    /* hardware path (see eb_source.h) */
    EbHalDevice *dev;          /* NULL or the job's device (not owned) */
    enum AVPixelFormat hw_fmt; /* AV_PIX_FMT_NONE: software path */
    int upload;                /* decoded in software for the device */
    char detail[256];          /* what the last failure was about */
};

static int eb_is_hdr(enum AVColorTransferCharacteristic trc)
{
    return trc == AVCOL_TRC_SMPTE2084 || trc == AVCOL_TRC_ARIB_STD_B67;
}

/* Picture buffers the video decoders of this process could not get. A
 * decoder that runs out of memory mid-stream (a worker at its
 * limits.worker_memory ceiling) mostly drops the frame without an error
 * (H.264 ignores a slice's failure unless told to explode), so the frames
 * missing at the end would read as damage: this says they were memory's.
 * Per process: a worker decodes one input. */
static atomic_int eb_picture_alloc_failures;

static int eb_video_get_buffer(AVCodecContext *dec, AVFrame *frame, int flags)
{
    int ret = avcodec_default_get_buffer2(dec, frame, flags);
    if (ret == AVERROR(ENOMEM))
        atomic_fetch_add(&eb_picture_alloc_failures, 1);
    return ret;
}

static int eb_open_decoder(EbHalDevice *dev, AVStream *st, AVCodecContext **out)
{
    int ret;
    if (dev && dev->backend->decoder_open)
        ret = dev->backend->decoder_open(dev, st, out);
    else
        ret = eb_hal_software.decoder_open(NULL, st, out);
    return ret;
}

/* The video decoder. On the hardware path: on the device where it can
 * decode the stream (decided before decoding, then the backend's hwaccel
 * decoder: ENOSYS when libavcodec has none for the codec), else in
 * software, and every frame handed out is uploaded once. */
static int eb_open_video_decoder(EbSource *s, EbHalDevice *dev, const EbSourceOptions *so,
                                 AVStream *vst)
{
    const AVCodecParameters *par = vst->codecpar;
    char why[200] = "";
    int on_device, ret;

    s->hw_fmt = eb_hal_hw_format(dev);
    if (s->hw_fmt == AV_PIX_FMT_NONE)
        return eb_open_decoder(dev, vst, &s->vdec);
    s->dev = dev;
    s->info.device_frames = 1;
    on_device = eb_hal_hw_decode_decision(so ? so->device_caps : NULL, par->codec_id, par->profile,
                                          (enum AVPixelFormat)par->format, par->width, par->height,
                                          why, sizeof(why));
    if (on_device && par->field_order != AV_FIELD_UNKNOWN &&
        par->field_order != AV_FIELD_PROGRESSIVE) {
        /* The device path has no deinterlacer: bwdif in software. */
        on_device = 0;
        snprintf(why, sizeof(why), "interlaced %s: deinterlaced in software (bwdif)",
                 avcodec_get_name(par->codec_id));
    }
    if (on_device) {
        ret = dev->backend->decoder_open ? dev->backend->decoder_open(dev, vst, &s->vdec)
                                         : EB_ERR(ENOSYS);
        if (ret == EB_ERR(ENOSYS)) {
            on_device = 0;
            snprintf(why, sizeof(why), "libavcodec has no %s hwaccel for %s",
                     av_hwdevice_get_type_name(
                         ((const AVHWDeviceContext *)dev->hw_device_ctx->data)->type),
                     avcodec_get_name(par->codec_id));
        } else if (ret < 0) {
            snprintf(s->detail, sizeof(s->detail), "%s decoder for %s on %s did not open: %s",
                     dev->backend->name, avcodec_get_name(par->codec_id), dev->name,
                     eb_strerror(ret));
            return ret;
        }
    }
    if (!on_device) {
        ret = eb_hal_software.decoder_open(NULL, vst, &s->vdec);
        if (ret < 0)
            return ret;
        s->upload = 1;
    }
    s->info.device_decode = on_device;
    if (on_device)
        snprintf(s->info.decode_note, sizeof(s->info.decode_note), "%s decoded on %s",
                 avcodec_get_name(par->codec_id), dev->name);
    else
        snprintf(s->info.decode_note, sizeof(s->info.decode_note),
                 "decoded in software, each frame uploaded once to %.63s (%.130s)", dev->name, why);
    EB_LOGI("source", "video %s", s->info.decode_note);
    return 0;
}

static int eb_rotation_of(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    double ccw;

    if (!m)
        return 0;
    ccw = av_display_rotation_get((const int32_t *)m);
    if (isnan(ccw))
        return 0;
    return eb_rotation_normalize(-ccw);
}

/* Snaps a measured rate to the nearest broadcast rate within 1%, else to a
 * rational with a small denominator. */
AVRational eb_source_snap_rate(double fps)
{
    static const AVRational common[] = {{24000, 1001}, {24, 1}, {25, 1},       {30000, 1001},
                                        {30, 1},       {50, 1}, {60000, 1001}, {60, 1}};
    /* The nearest common rate within 1%: 30 and 30000/1001 are 0.1% apart,
     * so the first one within tolerance would turn a 30 fps feed into
     * 29.97 (and drop a frame in a thousand). */
    size_t best = 0;
    double best_diff = INFINITY;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        double diff = fabs(av_q2d(common[i]) - fps);
        if (diff <= 0.01 * fps && diff < best_diff) {
            best = i;
            best_diff = diff;
        }
    }
    if (best_diff < INFINITY)
        return common[best];
    if (fabs(fps - round(fps)) <= 0.01 * fps)
        return (AVRational){(int)lround(fps), 1};
    return av_d2q(fps, 1001);
}

/* Frame rate: constant-rate sources keep theirs exactly; variable ones get
 * their average (capped at 60). Containers disagree on what avg_frame_rate
 * means (Matroska and MPEG-TS often report the nominal rate), so the first
 * seconds of video timestamps are measured, and the demuxer rewound. */
static int eb_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int eb_source_pick_rate(EbSource *s, AVStream *vst)
{
    enum { EB_PROBE_PACKETS = 600 };
    AVRational nominal = vst->r_frame_rate;
    int64_t pts[EB_PROBE_PACKETS], deltas[EB_PROBE_PACKETS];
    int count = 0, nd = 0;
    double measured = 0;
    int ret;

    if (nominal.num <= 0 || nominal.den <= 0)
        nominal = vst->avg_frame_rate;
    while (count < EB_PROBE_PACKETS) {
        ret = av_read_frame(s->fmt, s->pkt);
        if (ret < 0)
            break;
        if (s->pkt->stream_index == s->vidx && s->pkt->pts != AV_NOPTS_VALUE) {
            pts[count++] = s->pkt->pts;
            if ((s->pkt->pts - pts[0]) * av_q2d(vst->time_base) > 10.0)
                break;
        }
        av_packet_unref(s->pkt);
    }
    av_packet_unref(s->pkt);
    ret = -1;
    if ((s->fmt->iformat->flags & AVFMT_TS_DISCONT) && s->fmt->pb &&
        (s->fmt->pb->seekable & AVIO_SEEKABLE_NORMAL) && strcmp(s->fmt->iformat->name, "hls")) {
        /* A stream of packets (MPEG-TS, PS, FLV) goes back to its first
         * byte: a timestamp seek to its start can land on the second
         * keyframe when the first GOP is open (its leading pictures come
         * before the stated start), losing a GOP. */
        ret = av_seek_frame(s->fmt, -1, 0, AVSEEK_FLAG_BYTE);
        if (ret >= 0)
            avformat_flush(s->fmt);
    }
    if (ret < 0)
        ret = avformat_seek_file(s->fmt, -1, INT64_MIN,
                                 s->fmt->start_time != AV_NOPTS_VALUE ? s->fmt->start_time : 0,
                                 INT64_MAX, 0);
    if (ret < 0)
        ret = av_seek_frame(s->fmt, s->vidx, count ? pts[0] : 0, AVSEEK_FLAG_BACKWARD);
    if (ret < 0 && s->fmt->pb && (s->fmt->pb->seekable & AVIO_SEEKABLE_NORMAL)) {
        /* Raw elementary streams (.h264, .hevc) have no timestamps to seek
         * by: back to the first byte, where the probe started. */
        ret = av_seek_frame(s->fmt, -1, 0, AVSEEK_FLAG_BYTE);
        if (ret >= 0)
            avformat_flush(s->fmt);
    }
    if (ret < 0) {
        snprintf(s->detail, sizeof(s->detail),
                 "it cannot be read again from its start after its frame rate was measured (%s)",
                 eb_strerror(ret));
        EB_LOGD("source", "%s", s->detail);
        return EB_ERR_DAMAGED;
    }
    /* Frames per second over the probed span, in presentation order, with
     * timestamp jumps (damage, discontinuities: over 8x the median frame
     * interval) left out. */
    if (count >= 3) {
        int64_t span = 0, median;
        int frames = 0;
        qsort(pts, (size_t)count, sizeof(pts[0]), eb_cmp_i64);
        for (int i = 1; i < count; i++)
            if (pts[i] > pts[i - 1])
                deltas[nd++] = pts[i] - pts[i - 1];
        if (nd > 0) {
            int64_t sorted[EB_PROBE_PACKETS];
            memcpy(sorted, deltas, (size_t)nd * sizeof(deltas[0]));
            qsort(sorted, (size_t)nd, sizeof(sorted[0]), eb_cmp_i64);
            median = sorted[nd / 2];
            for (int i = 0; i < nd; i++) {
                if (deltas[i] <= 8 * median) {
                    span += deltas[i];
                    frames++;
                }
            }
            if (span > 0)
                measured = frames / (span * av_q2d(vst->time_base));
        }
    }

    if (nominal.num > 0 && nominal.den > 0 &&
        (measured == 0 || fabs(measured - av_q2d(nominal)) <= 0.01 * av_q2d(nominal))) {
        s->info.frame_rate = nominal;
    } else if (measured > 0) {
        s->info.frame_rate = eb_source_snap_rate(measured);
        s->info.variable_rate = 1;
        EB_LOGI("source", "variable frame rate: %.3f fps on average (nominal %d/%d), output %d/%d",
                measured, nominal.num, nominal.den, s->info.frame_rate.num, s->info.frame_rate.den);
    } else {
        s->info.frame_rate = (AVRational){25, 1};
        s->info.variable_rate = 1;
    }
    if (av_q2d(s->info.frame_rate) > EB_MAX_FPS) {
        s->info.frame_rate = (AVRational){EB_MAX_FPS, 1};
        s->info.variable_rate = 1;
    }
    av_reduce(&s->info.frame_rate.num, &s->info.frame_rate.den, s->info.frame_rate.num,
              s->info.frame_rate.den, 1 << 30);
    return 0;
}

/* Every file libavformat opens for this input goes through here: the input
 * itself, and what a playlist or concat list names. With input roots set,
 * only local files inside them are opened. */
static uint64_t eb_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Counts an open of url; 0, or -1 (with s->runaway said) past the limits. */
static int eb_io_count(EbSource *s, const char *url)
{
    uint64_t h = eb_fnv1a(url);
    int i;

    if (++s->nb_opens > EB_SOURCE_MAX_OPENS) {
        snprintf(s->runaway, sizeof(s->runaway),
                 "the input made the demuxer open more than %d files", EB_SOURCE_MAX_OPENS);
        return -1;
    }
    for (i = 0; i < s->nb_opened && s->opened[i].hash != h; i++)
        ;
    if (i == s->nb_opened) {
        if (s->nb_opened == EB_SOURCE_TRACKED_URLS)
            return 0;
        s->opened[s->nb_opened].hash = h;
        s->opened[s->nb_opened++].count = 0;
    }
    if (++s->opened[i].count > EB_SOURCE_MAX_SAME_OPENS) {
        snprintf(s->runaway, sizeof(s->runaway),
                 "the input opens %.400s again and again (more than %d times): a playlist or "
                 "list that includes itself, or a playlist without an end",
                 url, EB_SOURCE_MAX_SAME_OPENS);
        return -1;
    }
    return 0;
}

/* Every file a demuxer opens for the input comes here: confined to the
 * input roots (when set), and counted against runaway inputs. */
static int eb_io_open_checked(AVFormatContext *fmt, AVIOContext **pb, const char *url, int flags,
                              AVDictionary **options)
{
    EbSource *s = fmt->opaque;
    const char *path = url;

    if (!strncmp(path, "file:", 5))
        path += 5;
    if (s->input_roots &&
        ((flags & AVIO_FLAG_WRITE) || (strstr(url, "://") && strncmp(url, "file:", 5)) ||
         !eb_storage_path_confined(path, s->input_roots))) {
        snprintf(s->refused, sizeof(s->refused), "%s", url);
        EB_LOGD("source", "refused to open %s: outside the input roots", url);
        return AVERROR(EACCES);
    }
    if (s->runaway[0] || eb_io_count(s, url) < 0) {
        EB_LOGD("source", "refused to open %s: %s", url, s->runaway);
        return AVERROR(ELOOP);
    }
    return avio_open2(pb, url, flags, &fmt->interrupt_callback, options);
}

AVRational eb_source_sample_aspect(AVFormatContext *fmt, AVStream *st)
{
    AVRational sar = av_guess_sample_aspect_ratio(fmt, st, NULL);

    /* Real anamorphic video stays within 1:4..4:1 (DV widescreen is 64:45
     * at most 1.5); a pixel aspect past 1:8 or 8:1 is a damaged header,
     * which would make a rung millions of pixels wide. */
    if (sar.num > 0 && sar.den > 0 &&
        (av_cmp_q(sar, (AVRational){1, EB_SOURCE_MAX_SAR}) < 0 ||
         av_cmp_q(sar, (AVRational){EB_SOURCE_MAX_SAR, 1}) > 0)) {
        EB_LOGW("source", "pixel aspect ratio %d:%d is not credible: square pixels assumed",
                sar.num, sar.den);
        return (AVRational){0, 1};
    }
    return sar;
}

/* ---- audio tracks ---- */

void eb_source_describe_audio(const AVStream *st, EbAudioTrackInfo *t)
{
    const AVDictionaryEntry *lang = av_dict_get(st->metadata, "language", NULL, 0);
    EbLanguage l;
    int rate = st->codecpar->sample_rate;

    memset(t, 0, sizeof(*t));
    t->stream_index = st->index;
    /* AAC at the two rates every player takes; anything else is resampled. */
    t->sample_rate = rate == 44100 || rate == 48000 ? rate : 48000;
    t->source_channels = st->codecpar->ch_layout.nb_channels;
    t->channels = t->source_channels >= 2 ? 2 : 1;
    if (eb_language_from_tag(lang ? lang->value : NULL, &l)) {
        snprintf(t->language, sizeof(t->language), "%s", l.tag);
        snprintf(t->label, sizeof(t->label), "%s", l.name);
    }
    t->is_default = !!(st->disposition & AV_DISPOSITION_DEFAULT);
}

void eb_source_label_audio(EbSourceInfo *info)
{
    int first = 0;

    /* The track the container marks default leads (players start with
     * audio[0]); the others keep their order. */
    for (int k = 0; k < info->nb_audio; k++)
        if (info->audio[k].is_default) {
            first = k;
            break;
        }
    if (first > 0) {
        EbAudioTrackInfo t = info->audio[first];
        memmove(&info->audio[1], &info->audio[0], first * sizeof(info->audio[0]));
        info->audio[0] = t;
    }
    /* The language's name (HLS NAME, a player's menu) or "Audio" for an
     * undetermined one, numbered where several tracks share it ("French 1",
     * "French 2"): NAME must be unique in its group. */
    char base[EB_MAX_AUDIO_TRACKS][64];
    for (int k = 0; k < info->nb_audio; k++) {
        EbAudioTrackInfo *t = &info->audio[k];
        t->is_default = k == 0;
        snprintf(base[k], sizeof(base[k]), "%s",
                 t->language[0] && t->label[0] ? t->label : "Audio");
    }
    for (int k = 0; k < info->nb_audio; k++) {
        int same = 0, nth = 0;
        for (int j = 0; j < info->nb_audio; j++) {
            same += !strcmp(base[j], base[k]);
            nth += j <= k && !strcmp(base[j], base[k]);
        }
        if (same > 1)
            snprintf(info->audio[k].label, sizeof(info->audio[k].label), "%.50s %d", base[k], nth);
        else
            snprintf(info->audio[k].label, sizeof(info->audio[k].label), "%.63s", base[k]);
    }
}

/* The audio track (index into info.audio) stream i is, or -1. */
static int eb_source_audio_track(const EbSource *s, int i)
{
    for (int k = 0; k < s->info.nb_audio; k++)
        if (s->info.audio[k].stream_index == i)
            return k;
    return -1;
}

/* Picks the audio tracks: the one the container marks default (else the
 * first), then the others in order, up to max; opens their decoders. A
 * track that cannot be decoded is left out with a warning: it loses that
 * track, not the job. */
static int eb_source_open_audio(EbSource *s, int max)
{
    EbSourceInfo *info = &s->info;
    int nb_candidates = 0, first = -1;

    if (max > EB_MAX_AUDIO_TRACKS)
        max = EB_MAX_AUDIO_TRACKS;
    for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
        const AVStream *st = s->fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO || st->codecpar->sample_rate <= 0)
            continue;
        nb_candidates++;
        if (first < 0 || (st->disposition & AV_DISPOSITION_DEFAULT &&
                          !(s->fmt->streams[first]->disposition & AV_DISPOSITION_DEFAULT)))
            first = (int)i;
    }
    for (int pass = 0; pass < 2 && first >= 0; pass++) {
        for (unsigned i = 0; i < s->fmt->nb_streams && info->nb_audio < max; i++) {
            AVStream *st = s->fmt->streams[i];
            EbAudioTrackInfo *t = &info->audio[info->nb_audio];
            if (pass == 0 ? (int)i != first
                          : (int)i == first || st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO ||
                                st->codecpar->sample_rate <= 0)
                continue;
            if (eb_open_decoder(NULL, st, &s->adec[info->nb_audio]) < 0) {
                EB_LOGW("source", "audio track %u (%s) not decodable: left out", i,
                        avcodec_get_name(st->codecpar->codec_id));
                continue;
            }
            eb_source_describe_audio(st, t);
            /* The first kept is the default: the decoders stay in this order. */
            t->is_default = info->nb_audio == 0;
            info->nb_audio++;
        }
    }
    info->audio_skipped = nb_candidates - info->nb_audio;
    if (info->audio_skipped > 0)
        EB_LOGW("source", "%d of %d audio tracks left out (not decodable, or over the %d kept)",
                info->audio_skipped, nb_candidates, max);
    eb_source_label_audio(info);
    return 0;
}

/* avformat_open_input's failure as the job states it: what is about the
 * file system stays as it is (no such file, no permission, a folder, too
 * many files open, no memory, an I/O error); libavformat finding no format
 * is not media; anything else (an end of file inside a header, a field it
 * cannot handle) is a damaged file. */
static int eb_source_open_error(int err, char *detail, size_t size)
{
    switch (err) {
    case EB_ERR(ENOENT):
    case EB_ERR(EACCES):
    case EB_ERR(EPERM):
    case EB_ERR(EISDIR):
    case EB_ERR(ELOOP):
    case EB_ERR(EMFILE):
    case EB_ERR(ENFILE):
    case EB_ERR(ENOMEM):
    case EB_ERR(EIO):
        return err;
    case AVERROR_INVALIDDATA:
        return EB_ERR_NOT_MEDIA;
    default:
        if (detail)
            snprintf(detail, size, "its header cannot be read (%s)", eb_strerror(err));
        return EB_ERR_DAMAGED;
    }
}

int eb_source_open(const char *path, EbHalDevice *dev, const EbSourceOptions *so, EbSource **out,
                   char *detail, size_t detail_size)
{
    int want_audio = so ? so->want_audio : 1;
    EbSource *s;
    AVDictionary *opts = NULL;
    struct stat stt;
    AVStream *vst;
    int ret;

    *out = NULL;
    if (stat(path, &stt) < 0)
        return EB_ERR(errno);
    if (S_ISDIR(stt.st_mode))
        return EB_ERR(EISDIR);
    if (stt.st_size == 0)
        return EB_ERR_EMPTY_INPUT;

    {
        /* An ffconcat list is refused: libavformat 59's concat demuxer opens
         * the files it names without the io_open callback, so neither the
         * input roots nor the runaway limits would see them (a list that
         * names itself opens files until the process runs out). */
        char head[17] = "";
        FILE *f = fopen(path, "rb");
        if (f) {
            size_t n = fread(head, 1, sizeof(head) - 1, f);
            head[n] = '\0';
            fclose(f);
        }
        if (!strncmp(head, "ffconcat version", 16)) {
            if (detail)
                snprintf(detail, detail_size,
                         "it is an ffconcat list (join the files into one "
                         "first)");
            return EB_ERR_NOT_MEDIA;
        }
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return EB_ERR(ENOMEM);
    s->vidx = -1;
    s->hw_fmt = AV_PIX_FMT_NONE;
    s->want_audio = want_audio;
    s->pkt = av_packet_alloc();
    s->tmp = av_frame_alloc();
    if (!s->pkt || !s->tmp) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }

    /* Local files only: a playlist or concat list inside the input must not
     * reach the network. */
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    s->fmt = avformat_alloc_context();
    if (!s->fmt) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    s->input_roots = so ? so->input_roots : NULL;
    s->fmt->opaque = s;
    s->fmt->io_open = eb_io_open_checked;
    ret = avformat_open_input(&s->fmt, path, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        EB_LOGD("source", "avformat_open_input(%s): %s", path, eb_strerror(ret));
        ret = eb_source_open_error(ret, detail, detail_size);
        goto error;
    }
    ret = avformat_find_stream_info(s->fmt, NULL);
    if (ret < 0) {
        ret = EB_ERR_NOT_MEDIA;
        goto error;
    }
    for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
        AVCodecParameters *par = s->fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO && s->vidx < 0 &&
            !(s->fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
            s->vidx = (int)i;
    }
    if (s->vidx < 0) {
        ret = EB_ERR_NO_VIDEO;
        goto error;
    }
    vst = s->fmt->streams[s->vidx];
    /* Known before the fan-out and the encoders open (they are set up before
     * the first frame is decoded): stream probing has read the SPS/VUI. */
    s->info.chroma_location = vst->codecpar->chroma_location;
    if (eb_is_hdr(vst->codecpar->color_trc)) {
        if (detail)
            snprintf(detail, detail_size, "transfer characteristic %s",
                     av_color_transfer_name(vst->codecpar->color_trc));
        ret = EB_ERR_HDR_UNSUPPORTED;
        goto error;
    }
    if (vst->codecpar->width <= 0 || vst->codecpar->height <= 0) {
        ret = EB_ERR_NOT_MEDIA;
        goto error;
    }
    if (av_image_check_size2(vst->codecpar->width, vst->codecpar->height, INT64_MAX,
                             AV_PIX_FMT_NONE, 0, NULL) < 0) {
        if (detail)
            snprintf(detail, detail_size, "its video stream states a %dx%d picture",
                     vst->codecpar->width, vst->codecpar->height);
        ret = EB_ERR_DAMAGED;
        goto error;
    }
    ret = eb_open_video_decoder(s, dev, so, vst);
    if (ret >= 0)
        s->vdec->get_buffer2 = eb_video_get_buffer; /* frame threads copy it per packet */
    if (ret < 0 && s->detail[0]) {
        if (detail)
            snprintf(detail, detail_size, "%s", s->detail);
        goto error;
    }
    if (ret < 0) {
        if (detail) {
            char tag[AV_FOURCC_MAX_STRING_SIZE] = "";
            av_fourcc_make_string(tag, vst->codecpar->codec_tag);
            snprintf(detail, detail_size, "video codec '%s' (tag %s)",
                     avcodec_get_name(vst->codecpar->codec_id), tag);
        }
        goto error;
    }
    if (want_audio) {
        ret = eb_source_open_audio(s, so && so->max_audio_tracks > 0 ? so->max_audio_tracks
                                                                     : EB_MAX_AUDIO_TRACKS);
        if (ret < 0)
            goto error;
    }
    /* Streams the job does not use are neither decoded nor buffered. */
    for (unsigned i = 0; i < s->fmt->nb_streams; i++)
        if ((int)i != s->vidx && eb_source_audio_track(s, (int)i) < 0)
            s->fmt->streams[i]->discard = AVDISCARD_ALL;

    ret = eb_source_pick_rate(s, vst);
    if (ret < 0) {
        if (detail && s->detail[0])
            snprintf(detail, detail_size, "%s", s->detail);
        goto error;
    }

    s->info.geometry.width = vst->codecpar->width;
    s->info.geometry.height = vst->codecpar->height;
    s->info.geometry.sar = eb_source_sample_aspect(s->fmt, vst);
    s->info.geometry.rotation = eb_rotation_of(vst);
    s->info.video_codec = avcodec_get_name(vst->codecpar->codec_id);
    if (s->fmt->duration > 0)
        s->info.duration = s->fmt->duration / (double)AV_TIME_BASE;
    else if (vst->duration > 0)
        s->info.duration = vst->duration * av_q2d(vst->time_base);
    if (vst->duration > 0 && vst->duration != AV_NOPTS_VALUE) {
        s->info.duration = vst->duration * av_q2d(vst->time_base);
        s->video_duration_stated = 1;
    }
    s->info.expected_frames = (int64_t)llround(s->info.duration * av_q2d(s->info.frame_rate));
    if (!s->info.variable_rate && vst->nb_frames > 0)
        s->info.expected_frames = vst->nb_frames;
    s->stated_frames = vst->nb_frames > 0 ? vst->nb_frames : 0;
    s->t0 = vst->start_time != AV_NOPTS_VALUE ? vst->start_time : 0;

    {
        /* Normalisation is the same for every input (eb_normalize.h). */
        EbNormalizeConfig nc = {
            .info = &s->info,
            .video_time_base = vst->time_base,
            .t0 = s->t0,
            .dev = s->hw_fmt != AV_PIX_FMT_NONE ? s->dev : NULL,
            .upload = s->upload,
        };
        for (int k = 0; k < s->info.nb_audio; k++)
            nc.audio_time_base[k] = s->fmt->streams[s->info.audio[k].stream_index]->time_base;
        ret = eb_normalize_open(&nc, &s->norm);
        if (ret < 0)
            goto error;
    }
    *out = s;
    return 0;
error:
    av_dict_free(&opts);
    if (s->refused[0]) {
        /* Whatever libavformat made of the refusal, it was the roots. */
        ret = EB_ERR_INPUT_CONFINED;
        if (detail)
            snprintf(detail, detail_size, "%s", s->refused);
    } else if (s->runaway[0]) {
        ret = EB_ERR_INPUT_LIMIT;
        if (detail)
            snprintf(detail, detail_size, "%s", s->runaway);
    }
    eb_source_close(&s);
    return ret;
}

const EbSourceInfo *eb_source_info(const EbSource *s)
{
    return &s->info;
}

/* ---- decode loop ---- */

int eb_decode_receive(AVCodecContext *dec, AVFrame *frame, EbSourceStats *stats, int is_audio)
{
    for (;;) {
        int ret = avcodec_receive_frame(dec, frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        /* Damage is concealed: a video frame the decoder rejects, and any
         * audio decoder error but memory (a damaged AAC frame can give
         * EPERM or ENOSYS as well). A video decoder's other errors end the
         * job: on a device they are the device's (the fallback re-runs). */
        if (ret == AVERROR_INVALIDDATA || (is_audio && ret < 0 && ret != AVERROR(ENOMEM))) {
            stats->damaged += !is_audio;
            continue;
        }
        if (ret < 0)
            return ret;
        if (!is_audio) {
            if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT))
                stats->damaged++;
            stats->frames_decoded++;
        }
        return 1;
    }
}

/* track: the audio track dec decodes, or -1 for the video. */
static int eb_decode_drain(EbSource *s, AVCodecContext *dec, int track)
{
    int ret;
    while ((ret = eb_decode_receive(dec, s->tmp, &s->stats, track >= 0)) > 0) {
        if (track >= 0 && s->tmp->sample_rate > 0)
            s->audio_decoded[track] += (double)s->tmp->nb_samples / s->tmp->sample_rate;
        ret = track >= 0 ? eb_normalize_audio(s->norm, track, s->tmp)
                         : eb_normalize_video(s->norm, s->tmp);
        av_frame_unref(s->tmp);
        if (ret < 0)
            return ret;
    }
    if (ret < 0 && !s->detail[0]) {
        char what[32] = "video";
        if (track >= 0)
            snprintf(what, sizeof(what), "audio track %d", track + 1);
        snprintf(s->detail, sizeof(s->detail), "the %s decoder of its %s failed (%s)",
                 dec->codec->name, what, eb_strerror(ret));
    }
    return ret;
}

static int eb_send(EbSource *s, AVCodecContext *dec, const AVPacket *pkt, int track)
{
    int ret = avcodec_send_packet(dec, pkt);
    if (ret == AVERROR_INVALIDDATA ||
        (ret < 0 && ret != AVERROR_EOF && ret != AVERROR(ENOMEM) && pkt)) {
        /* A damaged packet: conceal and go on (memory running out is no
         * damage: the job fails, saying so). */
        if (track < 0)
            s->stats.damaged++;
        ret = 0;
    }
    if (ret < 0 && ret != AVERROR_EOF)
        return ret;
    return eb_decode_drain(s, dec, track);
}

static int eb_source_flush(EbSource *s)
{
    int ret = eb_send(s, s->vdec, NULL, -1);

    for (int k = 0; k < s->info.nb_audio && ret >= 0; k++)
        ret = eb_send(s, s->adec[k], NULL, k);
    if (ret >= 0)
        ret = eb_normalize_flush(s->norm);
    return ret;
}

static int eb_source_pump(EbSource *s)
{
    uint64_t t0 = eb_clock_ns();
    int ret = av_read_frame(s->fmt, s->pkt);

    if (s->runaway[0]) {
        /* A demuxer may take a refused open as the end of its input: the
         * job fails instead of publishing what came before. */
        snprintf(s->detail, sizeof(s->detail), "%.250s", s->runaway);
        return EB_ERR_INPUT_LIMIT;
    }
    if (ret < 0) {
        if (ret != AVERROR_EOF) {
            EB_LOGW("source", "read error: %s", eb_strerror(ret));
            s->read_error = 1;
        }
        s->demux_eof = 1;
        ret = eb_source_flush(s);
        s->flushed = 1;
        s->stats.decode_ns += eb_clock_ns() - t0;
        return ret;
    }
    if (s->pkt->stream_index == s->vidx) {
        s->stats.packets++;
        /* Counted from the first keyframe (a capture that starts inside a
         * GOP has frames before it nothing can decode); frames an edit
         * list cuts are decoded but never handed out. */
        s->seen_key |= !!(s->pkt->flags & AV_PKT_FLAG_KEY);
        s->shown_packets += s->seen_key && !(s->pkt->flags & AV_PKT_FLAG_DISCARD);
        if (s->pkt->flags & AV_PKT_FLAG_CORRUPT)
            s->stats.damaged++;
        ret = eb_send(s, s->vdec, s->pkt, -1);
    } else {
        int k = eb_source_audio_track(s, s->pkt->stream_index);
        if (k >= 0)
            ret = eb_send(s, s->adec[k], s->pkt, k);
    }
    av_packet_unref(s->pkt);
    s->stats.decode_ns += eb_clock_ns() - t0;
    return ret;
}

int eb_source_next(EbSource *s, AVFrame *frame, int *is_audio)
{
    int ret;

    while ((ret = eb_normalize_pop(s->norm, frame, is_audio)) == EB_ERR(EAGAIN)) {
        if (s->flushed) {
            EbSourceStats st;
            eb_source_get_stats(s, &st);
            return st.frames_out ? EB_EOF : EB_ERR_NO_FRAMES;
        }
        ret = eb_source_pump(s);
        if (ret < 0)
            return ret;
    }
    return ret;
}

int eb_source_short(const EbSource *s, char *why, size_t size)
{
    EbSourceStats st;
    double video, got, want = s->info.duration, tolerance;
    int64_t ceiling;

    eb_source_get_stats(s, &st);
    /* Packets, not decoded frames: an edit list may hide decoded frames. */
    if (s->stated_frames > 0 && st.packets < s->stated_frames - EB_SOURCE_SHORT_FRAMES) {
        snprintf(why, size, "%lld of the %lld video frames the file states could be read",
                 (long long)st.packets, (long long)s->stated_frames);
        return EB_ERR_TRUNCATED;
    }
    /* Frames the decoder could not make at all (not concealed: missing),
     * beyond EB_SOURCE_UNDECODABLE_FRAMES or 1%: the output would lack
     * that much of the video. */
    if (s->shown_packets - st.frames_decoded >
            FFMAX(EB_SOURCE_UNDECODABLE_FRAMES, s->shown_packets / 100) &&
        (atomic_load(&eb_picture_alloc_failures) ||
         eb_memory_ceiling_hit(AVERROR_EXTERNAL, &ceiling))) {
        /* A decoder's other allocations fail without a word as well: with
         * the worker at its ceiling (eb_memory.h's measure), the missing
         * frames are memory's, not the file's. */
        snprintf(why, size,
                 "%lld of its %lld video frames were lost: the decoder ran out of memory",
                 (long long)(s->shown_packets - st.frames_decoded), (long long)s->shown_packets);
        return EB_ERR(ENOMEM);
    }
    if (s->shown_packets - st.frames_decoded >
        FFMAX(EB_SOURCE_UNDECODABLE_FRAMES, s->shown_packets / 100)) {
        snprintf(why, size, "%lld of its %lld video frames could not be decoded",
                 (long long)(s->shown_packets - st.frames_decoded), (long long)s->shown_packets);
        return EB_ERR_DAMAGED;
    }
    if (!(want > 0))
        return 0;
    video = st.frames_out / av_q2d(s->info.frame_rate);
    got = video;
    /* The file's duration may be its audio's, which can run on after the
     * video: then an audio track that reaches it covers it. A duration the
     * video stream states is the video's to reach. */
    for (int k = 0; k < s->info.nb_audio && !s->video_duration_stated; k++)
        got = fmax(got, s->audio_decoded[k]);
    tolerance = fmax(EB_SOURCE_SHORT_SECONDS, EB_SOURCE_SHORT_FRAMES / av_q2d(s->info.frame_rate));
    if (!strcmp(s->fmt->iformat->name, "hls"))
        tolerance += 0.01 * want;
    if (got < want - tolerance || (s->read_error && got < want - EB_SOURCE_SHORT_SECONDS)) {
        char audio[64] = "";
        if (got > video)
            snprintf(audio, sizeof(audio), " and %.2f s of audio", got);
        snprintf(why, size, "%.2f s of video%s decoded, the file states %.2f s%s", video, audio,
                 want, s->read_error ? " (reading it failed)" : "");
        return EB_ERR_TRUNCATED;
    }
    return 0;
}

void eb_source_get_stats(const EbSource *s, EbSourceStats *out)
{
    *out = s->stats;
    if (s->norm) {
        int64_t dropped;
        eb_normalize_stats(s->norm, &out->frames_out, &out->uploads, &out->filter_ns, &dropped);
        out->damaged += dropped;
    }
}

const char *eb_source_error_detail(const EbSource *s)
{
    return s->detail[0] || !s->norm ? s->detail : eb_normalize_detail(s->norm);
}

void eb_source_close(EbSource **sp)
{
    EbSource *s = *sp;

    if (!s)
        return;
    eb_normalize_free(&s->norm);
    avcodec_free_context(&s->vdec);
    for (int k = 0; k < EB_MAX_AUDIO_TRACKS; k++)
        avcodec_free_context(&s->adec[k]);
    avformat_close_input(&s->fmt);
    av_packet_free(&s->pkt);
    av_frame_free(&s->tmp);
    free(s);
    *sp = NULL;
}
