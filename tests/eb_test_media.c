/* Integration-test helpers; see eb_test_media.h. */
#include "eb_test_media.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "eb_storage.h"

void eb_test_tmpdir(const char *tag, char *path, size_t size)
{
    const char *base = getenv("EB_TEST_TMP");
    if (!base || !*base)
        base = "/tmp/encbox-tests";
    snprintf(path, size, "%s/%s-%d", base, tag, (int)getpid());
    eb_storage_remove_tree(path);
    eb_storage_mkdirs(path);
}

int eb_test_ffmpeg(const char *fmt, ...)
{
    char args[4096], cmd[4400];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -y -v error %s", args);
    st = system(cmd);
    if (st != 0)
        fprintf(stderr, "command failed (%d): %s\n", st, cmd);
    return st;
}

int eb_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int eb_test_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int eb_test_leftovers(const char *root)
{
    char path[4200];
    int n;
    snprintf(path, sizeof(path), "%s/videos", root);
    n = eb_test_dir_entries(path);
    snprintf(path, sizeof(path), "%s/.staging", root);
    return n + eb_test_dir_entries(path);
}

int eb_test_count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "segment_", 8))
            n++;
    closedir(d);
    return n;
}

static int eb_append_file(FILE *out, const char *path)
{
    FILE *in = fopen(path, "rb");
    char buf[65536];
    size_t n;
    if (!in)
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return 0;
}

int eb_test_read_rendition(const char *dir, EbTestStream *out)
{
    char joined[4200], path[4200];
    int cmaf, nseg = eb_test_count_segments(dir);
    AVFormatContext *fmt = NULL;
    AVPacket *pkt;
    FILE *f;
    int vidx, aidx, ret;
    int64_t vfirst = AV_NOPTS_VALUE, afirst = AV_NOPTS_VALUE, last_duration = 0;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s/init.mp4", dir);
    cmaf = eb_test_exists(path);
    snprintf(joined, sizeof(joined), "%s/../.joined-%s", dir, strrchr(dir, '/') + 1);
    strcat(joined, cmaf ? ".mp4" : ".ts");
    f = fopen(joined, "wb");
    if (!f)
        return -1;
    if (cmaf)
        eb_append_file(f, path);
    for (int i = 1; i <= nseg; i++) {
        snprintf(path, sizeof(path), "%s/segment_%03d.%s", dir, i, cmaf ? "m4s" : "ts");
        if (eb_append_file(f, path) < 0) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    ret = avformat_open_input(&fmt, joined, NULL, NULL);
    if (ret < 0)
        return ret;
    avformat_find_stream_info(fmt, NULL);
    vidx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    aidx = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (vidx >= 0) {
        out->width = fmt->streams[vidx]->codecpar->width;
        out->height = fmt->streams[vidx]->codecpar->height;
        out->pix_fmt = fmt->streams[vidx]->codecpar->format;
        out->chroma_location = fmt->streams[vidx]->codecpar->chroma_location;
        out->codec_id = fmt->streams[vidx]->codecpar->codec_id;
        out->codec_tag = fmt->streams[vidx]->codecpar->codec_tag;
        out->level = fmt->streams[vidx]->codecpar->level;
    }
    out->cfr = 1;
    if (aidx >= 0) {
        out->has_audio = 1;
        out->audio_codec_aac = fmt->streams[aidx]->codecpar->codec_id == AV_CODEC_ID_AAC;
        out->audio_channels = fmt->streams[aidx]->codecpar->ch_layout.nb_channels;
    }
    pkt = av_packet_alloc();
    while (av_read_frame(fmt, pkt) >= 0) {
        AVStream *st = fmt->streams[pkt->stream_index];
        if (pkt->stream_index == vidx) {
            double t = pkt->pts * av_q2d(st->time_base);
            out->frames++;
            out->video_bytes += pkt->size;
            out->duration += pkt->duration * av_q2d(st->time_base);
            if (out->frames > 1 && pkt->duration != last_duration)
                out->cfr = 0;
            last_duration = pkt->duration;
            if (vfirst == AV_NOPTS_VALUE || pkt->pts < vfirst)
                vfirst = pkt->pts;
            if ((pkt->flags & AV_PKT_FLAG_KEY) && out->nb_keyframes < 256)
                out->keyframe_times[out->nb_keyframes++] = t;
        } else if (pkt->stream_index == aidx) {
            if (afirst == AV_NOPTS_VALUE || pkt->pts < afirst)
                afirst = pkt->pts;
        }
        av_packet_unref(pkt);
    }
    if (vidx >= 0 && vfirst != AV_NOPTS_VALUE)
        out->start = vfirst * av_q2d(fmt->streams[vidx]->time_base);
    if (aidx >= 0 && afirst != AV_NOPTS_VALUE)
        out->audio_start = afirst * av_q2d(fmt->streams[aidx]->time_base);
    if (vidx < 0 && aidx >= 0) {
        /* audio-only rendition: report its timing as "video" fields too */
        out->start = out->audio_start;
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    remove(joined);
    return 0;
}

int eb_test_playlist(const char *path, int *nb_segments, double *total)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    *nb_segments = 0;
    *total = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "#EXTINF:", 8)) {
            *total += strtod(line + 8, NULL);
        } else if (line[0] != '#' && line[0] != '\n' && line[0] != '\r') {
            (*nb_segments)++;
        }
    }
    fclose(f);
    return 0;
}

static uint32_t eb_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Finds the box at path (e.g. {"moov","trak","mdia","mdhd"}) in buf. */
static const uint8_t *eb_find_box(const uint8_t *buf, size_t size, const char *const *path,
                                  int depth, size_t *box_size)
{
    size_t off = 0;
    while (off + 8 <= size) {
        uint32_t len = eb_rd32(buf + off);
        if (len < 8 || off + len > size)
            return NULL;
        if (!memcmp(buf + off + 4, path[0], 4)) {
            if (depth == 1) {
                *box_size = len;
                return buf + off;
            }
            return eb_find_box(buf + off + 8, len - 8, path + 1, depth - 1, box_size);
        }
        off += len;
    }
    return NULL;
}

uint8_t *eb_test_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = 0;
    fclose(f);
    *size = (size_t)n;
    return buf;
}

int eb_test_cmaf_start(const char *dir, double *seconds)
{
    EbTestTimeline tl;

    if (eb_test_cmaf_timeline(dir, &tl) < 0)
        return -1;
    *seconds = tl.start[0];
    return 0;
}

/* A full box's 32- or 64-bit field (version 1: 64-bit) at p. */
static int64_t eb_rd_versioned(const uint8_t *p, int v1)
{
    return v1 ? (int64_t)((uint64_t)eb_rd32(p) << 32 | eb_rd32(p + 4)) : (int64_t)eb_rd32(p);
}

/* Adds one traf's samples to *dur and, for its first, *tfdt and *cts. */
static int eb_traf_samples(const uint8_t *traf, size_t size, int first, int64_t *tfdt,
                           int64_t *cts, int64_t *dur)
{
    static const char *const tfhd_path[] = {"tfhd"}, *const tfdt_path[] = {"tfdt"},
                             *const trun_path[] = {"trun"};
    const uint8_t *b;
    size_t bsize;
    uint32_t flags, n, def_dur = 0;
    const uint8_t *e;

    b = eb_find_box(traf, size, tfhd_path, 1, &bsize);
    if (!b)
        return -1;
    flags = eb_rd32(b + 8) & 0xffffff;
    e = b + 16 + ((flags & 1) ? 8 : 0) + ((flags & 2) ? 4 : 0);
    if (flags & 8)
        def_dur = eb_rd32(e);
    b = eb_find_box(traf, size, tfdt_path, 1, &bsize);
    if (!b)
        return -1;
    if (first)
        *tfdt = eb_rd_versioned(b + 12, b[8] == 1);
    b = eb_find_box(traf, size, trun_path, 1, &bsize);
    if (!b)
        return -1;
    flags = eb_rd32(b + 8) & 0xffffff;
    n = eb_rd32(b + 12);
    e = b + 16 + ((flags & 1) ? 4 : 0) + ((flags & 4) ? 4 : 0);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d = def_dur;
        if (e > b + bsize)
            return -1;
        if (flags & 0x100) {
            d = eb_rd32(e);
            e += 4;
        }
        if (flags & 0x200)
            e += 4;
        if (flags & 0x400)
            e += 4;
        if (flags & 0x800) {
            if (i == 0 && first)
                *cts = b[8] == 1 ? (int32_t)eb_rd32(e) : (int64_t)eb_rd32(e);
            e += 4;
        }
        if (!d)
            return -1; /* no duration anywhere (trex defaults are not read) */
        *dur += d;
    }
    return 0;
}

int eb_test_cmaf_timeline(const char *dir, EbTestTimeline *out)
{
    static const char *const mdhd_path[] = {"moov", "trak", "mdia", "mdhd"};
    static const char *const elst_path[] = {"moov", "trak", "edts", "elst"};
    static const char *const traf_path[] = {"traf"};
    char path[4200];
    uint8_t *init;
    size_t isize, bsize;
    const uint8_t *b;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s/init.mp4", dir);
    init = eb_test_slurp(path, &isize);
    if (!init)
        return -1;
    b = eb_find_box(init, isize, mdhd_path, 4, &bsize);
    if (!b)
        goto end;
    out->timescale = (int)(b[8] == 1 ? eb_rd32(b + 28) : eb_rd32(b + 20));
    b = eb_find_box(init, isize, elst_path, 4, &bsize);
    if (b) {
        int v1 = b[8] == 1;
        uint32_t n = eb_rd32(b + 12);
        const uint8_t *e = b + 16;
        for (uint32_t i = 0; i < n; i++, e += v1 ? 20 : 12) {
            int64_t mt = v1 ? eb_rd_versioned(e + 8, 1) : (int32_t)eb_rd32(e + 4);
            if (mt >= 0) {
                out->edit_media_time = mt;
                break;
            }
        }
    }
    for (int k = 0; k < EB_TEST_MAX_SEGMENTS; k++) {
        size_t ssize, off = 0;
        uint8_t *seg;
        int64_t tfdt = 0, cts = 0, dur = 0;
        int first = 1;
        snprintf(path, sizeof(path), "%s/segment_%03d.m4s", dir, k + 1);
        seg = eb_test_slurp(path, &ssize);
        if (!seg)
            break;
        while (off + 8 <= ssize) {
            uint32_t len = eb_rd32(seg + off);
            if (len < 8 || off + len > ssize)
                break;
            if (!memcmp(seg + off + 4, "moof", 4)) {
                const uint8_t *t = eb_find_box(seg + off + 8, len - 8, traf_path, 1, &bsize);
                if (!t || eb_traf_samples(t + 8, bsize - 8, first, &tfdt, &cts, &dur) < 0) {
                    free(seg);
                    goto end;
                }
                first = 0;
            }
            off += len;
        }
        free(seg);
        if (first)
            goto end; /* no moof */
        out->tfdt[k] = tfdt;
        out->start[k] = (double)(tfdt + cts - out->edit_media_time) / out->timescale;
        out->duration[k] = (double)dur / out->timescale;
        out->nb = k + 1;
    }
    ret = out->nb > 0 ? 0 : -1;
end:
    free(init);
    return ret;
}

int eb_test_ts_timeline(const char *dir, double *start, double *duration, int max)
{
    double end = 0;
    int nb = 0;

    for (int k = 0; k < max; k++) {
        char path[4200];
        AVFormatContext *fc = NULL;
        AVPacket *pkt;
        int v;
        double first = INFINITY, last = -INFINITY, frame = 0;
        snprintf(path, sizeof(path), "%s/segment_%03d.ts", dir, k + 1);
        if (avformat_open_input(&fc, path, NULL, NULL) < 0)
            break;
        if (avformat_find_stream_info(fc, NULL) < 0 ||
            (v = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0) {
            avformat_close_input(&fc);
            return -1;
        }
        pkt = av_packet_alloc();
        while (pkt && av_read_frame(fc, pkt) >= 0) {
            if (pkt->stream_index == v && pkt->pts != AV_NOPTS_VALUE) {
                double t = pkt->pts * av_q2d(fc->streams[v]->time_base);
                first = fmin(first, t);
                last = fmax(last, t);
                if (pkt->duration > 0)
                    frame = pkt->duration * av_q2d(fc->streams[v]->time_base);
            }
            av_packet_unref(pkt);
        }
        if (!frame && fc->streams[v]->avg_frame_rate.num)
            frame = av_q2d(av_inv_q(fc->streams[v]->avg_frame_rate));
        av_packet_free(&pkt);
        avformat_close_input(&fc);
        if (!isfinite(first))
            return -1;
        start[k] = first;
        if (k > 0)
            duration[k - 1] = first - start[k - 1];
        end = last + frame;
        nb = k + 1;
    }
    if (nb > 0)
        duration[nb - 1] = end - start[nb - 1];
    return nb > 0 ? nb : -1;
}

int eb_test_playlist_durations(const char *path, double *out, int max)
{
    size_t n;
    char *text = (char *)eb_test_slurp(path, &n), *p;
    int nb = 0;

    if (!text)
        return -1;
    for (p = text; (p = strstr(p, "#EXTINF:")) != NULL && nb < max; p += 8)
        out[nb++] = atof(p + 8);
    free(text);
    return nb;
}

/* The value of attribute name in the tag starting at tag (up to its '>'). */
static const char *eb_xml_attr(const char *tag, const char *name, char *out, size_t size)
{
    const char *end = strchr(tag, '>'), *p = tag;
    size_t len = strlen(name);
    while ((p = strstr(p, name)) != NULL && p < end) {
        if (p[-1] == ' ' && p[len] == '=' && p[len + 1] == '"') {
            const char *q = strchr(p + len + 2, '"');
            snprintf(out, size, "%.*s", (int)(q - (p + len + 2)), p + len + 2);
            return out;
        }
        p += len;
    }
    return NULL;
}

int eb_test_mpd_timeline(const char *path, const char *type, double *start, double *duration,
                         int max)
{
    size_t n;
    char *text = (char *)eb_test_slurp(path, &n), want[64], v[64];
    const char *set, *tpl, *s, *set_end;
    double ts, pto = 0;
    int64_t t = 0;
    int nb = 0;

    if (!text)
        return -1;
    if (strchr(type, '='))
        snprintf(want, sizeof(want), "%s", type); /* an attribute, as written */
    else
        snprintf(want, sizeof(want), "contentType=\"%s\"", type);
    set = strstr(text, want);
    tpl = set ? strstr(set, "<SegmentTemplate") : NULL;
    set_end = set ? strstr(set, "</AdaptationSet>") : NULL;
    if (!tpl || !set_end || tpl > set_end || !eb_xml_attr(tpl, "timescale", v, sizeof(v))) {
        free(text);
        return -1;
    }
    ts = atof(v);
    if (eb_xml_attr(tpl, "presentationTimeOffset", v, sizeof(v)))
        pto = atof(v);
    for (s = tpl; (s = strstr(s, "<S ")) != NULL && s < set_end; s += 3) {
        int64_t d;
        int r = 0;
        if (eb_xml_attr(s, "t", v, sizeof(v)))
            t = atoll(v);
        if (!eb_xml_attr(s, "d", v, sizeof(v)))
            break;
        d = atoll(v);
        if (eb_xml_attr(s, "r", v, sizeof(v)))
            r = atoi(v);
        for (int i = 0; i <= r && nb < max; i++, t += d) {
            start[nb] = ((double)t - pto) / ts;
            duration[nb++] = (double)d / ts;
        }
    }
    free(text);
    return nb;
}

int eb_test_check_timeline(const char *video_dir, const char *r, const char *type, char *why,
                           size_t size)
{
    EbTestTimeline tl;
    double extinf[EB_TEST_MAX_SEGMENTS], t[EB_TEST_MAX_SEGMENTS], d[EB_TEST_MAX_SEGMENTS];
    char dir[4600], path[4600];
    int n;

    snprintf(dir, sizeof(dir), "%s/cmaf/%s", video_dir, r);
    if (eb_test_cmaf_timeline(dir, &tl) < 0) {
        snprintf(why, size, "%s: cannot read the timeline of its segments", dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/hls/%s/index.m3u8", video_dir, r);
    if ((n = eb_test_playlist_durations(path, extinf, EB_TEST_MAX_SEGMENTS)) != tl.nb) {
        snprintf(why, size, "%s: %d EXTINF for %d segments", path, n, tl.nb);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/dash/manifest.mpd", video_dir);
    if ((n = eb_test_mpd_timeline(path, type, t, d, EB_TEST_MAX_SEGMENTS)) != tl.nb) {
        snprintf(why, size, "%s: %d %s timeline entries for %d segments", path, n, type, tl.nb);
        return -1;
    }
    for (int k = 0; k < tl.nb; k++) {
        double from = fmax(tl.start[k], 0), to = tl.start[k] + tl.duration[k];
        fprintf(stderr,
                "%s segment %d: media %.6f-%.6f s (tfdt %lld, edit %lld), EXTINF %.6f, MPD "
                "%.6f+%.6f\n",
                r, k + 1, tl.start[k], to, (long long)tl.tfdt[k], (long long)tl.edit_media_time,
                extinf[k], t[k], d[k]);
        if (fabs(extinf[k] - (to - from)) >= 2e-6 || fabs(t[k] - from) >= 1e-6 ||
            fabs(d[k] - (to - from)) >= 1e-6) {
            snprintf(why, size,
                     "%s segment %d holds %.6f-%.6f s, EXTINF says %.6f s, the MPD %.6f+%.6f s",
                     r, k + 1, from, to, extinf[k], t[k], d[k]);
            return -1;
        }
    }
    return 0;
}

int eb_test_rotate_mp4(const char *path)
{
    static const char *const tkhd_path[] = {"moov", "trak", "tkhd"};
    /* 16.16 fixed point a b u / c d v / x y w: display = rotate 90 cw. */
    static const int32_t matrix[9] = {0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000};
    size_t size, bsize;
    uint8_t *buf = eb_test_slurp(path, &size);
    const uint8_t *b;
    size_t off;
    FILE *f;

    if (!buf)
        return -1;
    b = eb_find_box(buf, size, tkhd_path, 3, &bsize);
    if (!b) {
        free(buf);
        return -1;
    }
    /* version 0: 8 header + 4 ver/flags + 20 + 8 reserved + 8 = 48; v1 adds 12 */
    off = (size_t)(b - buf) + (b[8] == 1 ? 60 : 48);
    for (int i = 0; i < 9; i++) {
        uint32_t v = (uint32_t)matrix[i];
        buf[off + 4 * i] = (uint8_t)(v >> 24);
        buf[off + 4 * i + 1] = (uint8_t)(v >> 16);
        buf[off + 4 * i + 2] = (uint8_t)(v >> 8);
        buf[off + 4 * i + 3] = (uint8_t)v;
    }
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, size, f) != size) {
        if (f)
            fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    free(buf);
    return 0;
}
