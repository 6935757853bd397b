/*
 * Thumbnails: catalog thumbnail, trick-play sprite sheets and their WebVTT,
 * all from the smallest rung's frames that the fan-out already made.
 *
 * DESIGN
 *
 * Frames arrive numbered 0,1,2… (constant rate). Only a few are kept:
 *   - sprite tile k comes from the first frame at or after k x interval; it
 *     is scaled to the tile size and copied into the current sheet (a
 *     YUV420P canvas of cols x rows tiles); a full sheet is written as JPEG
 *     and the canvas reused, so memory is one sheet whatever the length;
 *   - catalog candidates: one frame every max(1, expected frames / 64),
 *     scaled to at most 320 px wide and kept with its scores; reaching 64
 *     drops every other one and doubles the spacing, so at most 64
 *     candidates (about 64 x 86 kB at 320x180) are held for any length;
 *   - with --thumbnail-at, the first frame at or after that time (or the
 *     last frame of a shorter video) is the catalog thumbnail.
 * Scaling uses the CPU fan-out (the shared filter definition) from the
 * smallest rung: a catalog-size and a tile-size output in one call.
 *
 * Choosing the catalog frame (eb_thumbs_pick). For each candidate: luma
 * mean, standard deviation, mean absolute Laplacian (sharpness) and a
 * 32-bin luma histogram. A candidate is
 *   black    when its mean is below 24 (limited-range black is 16),
 *   flat     when its standard deviation is below 8 (fades, title cards),
 *   blurred  when its sharpness is under half the median sharpness of the
 *            candidates that are neither black nor flat;
 * among the rest, the one whose histogram is nearest (L1) the mean
 * histogram of those candidates is the most representative of the clip;
 * ties go to the sharper. If every candidate is rejected, the non-black one
 * with the most contrast wins; if all are black, the middle one.
 *
 * JPEGs are full-range 4:2:0 (what browsers and players expect), converted
 * from the video's limited range by swscale at write time (small pictures).
 *
 * File names come from the storage layout (eb_layout.h): the caller gives
 * the thumbnails folder, the layout names the files in it, and the VTT
 * points at the sheets by the layout's relative reference, so the tree is
 * spelled in one place.
 */
#include "eb_thumbs.h"

#include <libavutil/avstring.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/bprint.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "eb_error.h"
#include "eb_hal.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_storage.h"

#define EB_THUMB_CANDIDATES 64
#define EB_THUMB_CATALOG_MAX 320

struct EbThumbs {
    EbThumbsOptions o;
    char dir[4096];
    AVRational rate;
    int cw, ch;                 /* catalog size */
    int tw, th;                 /* tile size */
    EbFanout *scaler;               /* the software backend's fan-out (CPU frames) */

    AVFrame *sheet;             /* canvas of cols x rows tiles */
    int sheet_tiles;            /* tiles in the current sheet */
    int nb_sheets;
    int nb_tiles;
    int64_t next_tile_frame;
    int64_t max_sheet_bytes;

    AVFrame *cand[EB_THUMB_CANDIDATES];
    EbThumbScore score[EB_THUMB_CANDIDATES];
    int nb_cand;
    int64_t cand_step;
    int64_t next_cand_frame;

    int64_t at_frame;           /* -1: choose */
    AVFrame *catalog;           /* the --thumbnail-at frame once reached */
    AVFrame *last;              /* latest frame, in case the video ends before at */
};

void eb_thumbs_options_default(EbThumbsOptions *o)
{
    o->enabled = 1;
    o->interval = 5.0;
    o->tile_width = 160;
    o->cols = 10;
    o->rows = 10;
    o->at = -1.0;
    o->catalog_width = EB_THUMB_CATALOG_MAX;
}

static int eb_even(double v)
{
    int r = 2 * (int)lround(v / 2.0);
    return r < 2 ? 2 : r;
}

/* First frame index at or after t seconds. */
static int64_t eb_frame_at(double t, AVRational rate)
{
    return (int64_t)ceil(t * rate.num / rate.den - 1e-9);
}

/* The file of item (numbered n where it has a number) in t->dir: the layout's
 * name for it, without the folder the layout puts it in (t->dir is that
 * folder). */
static int eb_thumbs_file(const EbThumbs *t, EbLayoutItem item, int64_t n, char *out, size_t size)
{
    char rel[1024];
    const char *name;
    int ret = eb_layout_path(item, NULL, n, rel, sizeof(rel));

    if (ret < 0)
        return ret;
    name = strrchr(rel, '/');
    ret = snprintf(out, size, "%s/%s", t->dir, name ? name + 1 : rel);
    if (ret < 0 || (size_t)ret >= size)
        return EB_ERR(ENAMETOOLONG);
    return 0;
}

static void eb_fill_black(AVFrame *f)
{
    for (int y = 0; y < f->height; y++)
        memset(f->data[0] + (size_t)y * f->linesize[0], 16, (size_t)f->width);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < f->height / 2; y++)
            memset(f->data[p] + (size_t)y * f->linesize[p], 128, (size_t)f->width / 2);
}

int eb_thumbs_open(const EbThumbsOptions *o, const char *dir, int width, int height,
                   AVRational frame_rate, double expected_duration, EbThumbs **out)
{
    EbThumbs *t;
    EbFanoutConfig fc = {0};
    int64_t expected_frames;
    int ret;

    *out = NULL;
    if (width < 2 || height < 2 || o->interval <= 0 || o->tile_width < 2 || o->cols < 1 ||
        o->rows < 1 || frame_rate.num <= 0 || frame_rate.den <= 0)
        return EB_ERR(EINVAL);
    t = calloc(1, sizeof(*t));
    if (!t)
        return EB_ERR(ENOMEM);
    t->o = *o;
    snprintf(t->dir, sizeof(t->dir), "%s", dir);
    t->rate = frame_rate;
    t->cw = eb_even(fmin(o->catalog_width > 0 ? o->catalog_width : EB_THUMB_CATALOG_MAX, width));
    if (t->cw > width)
        t->cw = width & ~1;
    t->ch = eb_even((double)t->cw * height / width);
    t->tw = eb_even(o->tile_width);
    t->th = eb_even((double)t->tw * height / width);
    t->at_frame = o->at >= 0 ? eb_frame_at(o->at, frame_rate) : -1;
    expected_frames = (int64_t)(expected_duration * av_q2d(frame_rate));
    t->cand_step = expected_frames / EB_THUMB_CANDIDATES;
    if (t->cand_step < 1)
        t->cand_step = 1;

    fc.src_width = width;
    fc.src_height = height;
    fc.src_format = AV_PIX_FMT_YUV420P;
    fc.nb_outputs = 2;
    fc.outputs[0].width = t->cw;
    fc.outputs[0].height = t->ch;
    fc.outputs[1].width = t->tw;
    fc.outputs[1].height = t->th;
    /* Through the HAL's fan-out interface, like the rungs: the software
     * backend's, because the sink gets CPU frames (downloaded from a
     * device when the job runs on one). */
    ret = eb_hal_software.fanout_open(NULL, &fc, &t->scaler);
    if (ret < 0)
        goto error;

    t->sheet = av_frame_alloc();
    if (!t->sheet) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    t->sheet->format = AV_PIX_FMT_YUV420P;
    t->sheet->width = t->tw * o->cols;
    t->sheet->height = t->th * o->rows;
    t->sheet->color_range = AVCOL_RANGE_MPEG;
    ret = av_frame_get_buffer(t->sheet, 0);
    if (ret < 0)
        goto error;
    eb_fill_black(t->sheet);
    *out = t;
    return 0;
error:
    eb_thumbs_free(&t);
    return ret;
}

/* ---- JPEG ---- */

static int eb_jpeg_write(const char *path, const AVFrame *src, int64_t *bytes)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    struct SwsContext *sws = NULL;
    AVFrame *full = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret;

    if (!codec) {
        ret = EB_ERR_CODEC_UNSUPPORTED;
        goto end;
    }
    if (!full || !pkt) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    /* Limited-range video to the full range JPEG viewers assume. */
    full->format = AV_PIX_FMT_YUVJ420P;
    full->width = src->width;
    full->height = src->height;
    ret = av_frame_get_buffer(full, 0);
    if (ret < 0)
        goto end;
    sws = sws_getContext(src->width, src->height, AV_PIX_FMT_YUV420P, src->width, src->height,
                         AV_PIX_FMT_YUVJ420P, SWS_POINT, NULL, NULL, NULL);
    if (!sws) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    {
        const int *coefs = sws_getCoefficients(SWS_CS_ITU709);
        sws_setColorspaceDetails(sws, coefs, src->color_range == AVCOL_RANGE_JPEG, coefs, 1, 0,
                                 1 << 16, 1 << 16);
    }
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, full->data,
              full->linesize);

    enc = avcodec_alloc_context3(codec);
    if (!enc) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    enc->width = src->width;
    enc->height = src->height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 3; /* visually clean at thumbnail sizes */
    ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0)
        goto end;
    full->quality = enc->global_quality;
    full->pts = 0;
    ret = avcodec_send_frame(enc, full);
    if (ret >= 0)
        ret = avcodec_send_frame(enc, NULL);
    if (ret >= 0)
        ret = avcodec_receive_packet(enc, pkt);
    if (ret >= 0)
        ret = eb_storage_write_file(path, pkt->data, (size_t)pkt->size);
    if (ret >= 0 && bytes)
        *bytes = pkt->size;
end:
    sws_freeContext(sws);
    avcodec_free_context(&enc);
    av_frame_free(&full);
    av_packet_free(&pkt);
    return ret;
}

static int eb_write_sheet(EbThumbs *t)
{
    char path[4200];
    int64_t bytes = 0;
    int ret;

    ret = eb_thumbs_file(t, EB_LAYOUT_THUMB_SPRITE, t->nb_sheets + 1, path, sizeof(path));
    if (ret < 0)
        return ret;
    ret = eb_jpeg_write(path, t->sheet, &bytes);
    if (ret < 0)
        return ret;
    t->nb_sheets++;
    if (bytes > t->max_sheet_bytes)
        t->max_sheet_bytes = bytes;
    t->sheet_tiles = 0;
    eb_fill_black(t->sheet);
    return 0;
}

/* ---- scoring ---- */

void eb_thumbs_score(const AVFrame *f, EbThumbScore *s)
{
    const uint8_t *y = f->data[0];
    int stride = f->linesize[0];
    double sum = 0, sum2 = 0, lap = 0;
    int64_t n = (int64_t)f->width * f->height, nlap = 0;
    uint32_t hist[32] = {0};

    for (int r = 0; r < f->height; r++) {
        for (int c = 0; c < f->width; c++) {
            int v = y[(size_t)r * stride + c];
            sum += v;
            sum2 += (double)v * v;
            hist[v >> 3]++;
            if (r > 0 && c > 0 && r < f->height - 1 && c < f->width - 1) {
                int l = 4 * v - y[(size_t)(r - 1) * stride + c] - y[(size_t)(r + 1) * stride + c] -
                        y[(size_t)r * stride + c - 1] - y[(size_t)r * stride + c + 1];
                lap += abs(l);
                nlap++;
            }
        }
    }
    s->mean = sum / (double)n;
    s->stddev = sqrt(fmax(0.0, sum2 / (double)n - s->mean * s->mean));
    s->sharpness = nlap ? lap / (double)nlap : 0;
    for (int i = 0; i < 32; i++)
        s->hist[i] = (float)((double)hist[i] / (double)n);
}

static int eb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int eb_thumbs_pick(const EbThumbScore *sc, int n)
{
    double sharp[EB_THUMB_CANDIDATES], mean_hist[32] = {0}, median, best_d = INFINITY;
    int ok[EB_THUMB_CANDIDATES], nok = 0, ns = 0, best = -1;

    if (n <= 0)
        return -1;
    for (int i = 0; i < n; i++) {
        ok[i] = sc[i].mean >= 24.0 && sc[i].stddev >= 8.0;
        if (ok[i])
            sharp[ns++] = sc[i].sharpness;
    }
    if (ns > 0) {
        qsort(sharp, (size_t)ns, sizeof(sharp[0]), eb_cmp_double);
        median = sharp[ns / 2];
        for (int i = 0; i < n; i++)
            if (ok[i] && sc[i].sharpness < 0.5 * median)
                ok[i] = 0;
    }
    for (int i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        nok++;
        for (int b = 0; b < 32; b++)
            mean_hist[b] += sc[i].hist[b];
    }
    if (nok > 0) {
        for (int b = 0; b < 32; b++)
            mean_hist[b] /= nok;
        for (int i = 0; i < n; i++) {
            double d = 0;
            if (!ok[i])
                continue;
            for (int b = 0; b < 32; b++)
                d += fabs(sc[i].hist[b] - mean_hist[b]);
            if (d < best_d - 1e-9 ||
                (fabs(d - best_d) <= 1e-9 && sc[i].sharpness > sc[best].sharpness)) {
                best_d = d;
                best = i;
            }
        }
        return best;
    }
    for (int i = 0; i < n; i++)
        if (sc[i].mean >= 24.0 && (best < 0 || sc[i].stddev > sc[best].stddev))
            best = i;
    return best >= 0 ? best : n / 2;
}

/* ---- frames in ---- */

static int eb_add_tile(EbThumbs *t, const AVFrame *tile)
{
    int col = t->sheet_tiles % t->o.cols, row = t->sheet_tiles / t->o.cols;

    for (int p = 0; p < 3; p++) {
        int sh = p ? 1 : 0;
        uint8_t *dst = t->sheet->data[p] + (size_t)(row * t->th >> sh) * t->sheet->linesize[p] +
                       (col * t->tw >> sh);
        av_image_copy_plane(dst, t->sheet->linesize[p], tile->data[p], tile->linesize[p],
                            t->tw >> sh, t->th >> sh);
    }
    t->sheet_tiles++;
    t->nb_tiles++;
    if (t->sheet_tiles == t->o.cols * t->o.rows)
        return eb_write_sheet(t);
    return 0;
}

static void eb_decimate_candidates(EbThumbs *t)
{
    int n = 0;
    for (int i = 0; i < t->nb_cand; i++) {
        if (i % 2 == 0) {
            t->cand[n] = t->cand[i];
            t->score[n] = t->score[i];
            n++;
        } else {
            av_frame_free(&t->cand[i]);
        }
    }
    for (int i = n; i < t->nb_cand; i++)
        t->cand[i] = NULL;
    t->nb_cand = n;
    t->cand_step *= 2;
}

int eb_thumbs_wants(const EbThumbs *t, int64_t pts)
{
    return pts >= t->next_tile_frame || (t->at_frame < 0 && pts >= t->next_cand_frame) ||
           (t->at_frame >= 0 && !t->catalog);
}

int eb_thumbs_push(EbThumbs *t, const AVFrame *frame)
{
    int64_t i = frame->pts;
    int want_tile = i >= t->next_tile_frame;
    int want_cand = t->at_frame < 0 && i >= t->next_cand_frame;
    int want_at = t->at_frame >= 0 && !t->catalog && i >= t->at_frame;
    AVFrame *outs[2] = {NULL, NULL};
    int ret = 0;

    if (t->at_frame >= 0 && !t->catalog) {
        av_frame_free(&t->last);
        t->last = av_frame_clone(frame);
        if (!t->last)
            return EB_ERR(ENOMEM);
    }
    if (!want_tile && !want_cand && !want_at)
        return 0;
    ret = eb_hal_software.fanout_run(t->scaler, frame, outs);
    if (ret < 0)
        return ret;
    if (want_tile) {
        ret = eb_add_tile(t, outs[1]);
        /* Tile k is the first frame at or after k x interval. */
        t->next_tile_frame = eb_frame_at(t->nb_tiles * t->o.interval, t->rate);
        if (t->next_tile_frame <= i)
            t->next_tile_frame = i + 1;
    }
    if (ret >= 0 && want_cand) {
        if (t->nb_cand == EB_THUMB_CANDIDATES)
            eb_decimate_candidates(t);
        eb_thumbs_score(outs[0], &t->score[t->nb_cand]);
        t->cand[t->nb_cand++] = outs[0];
        outs[0] = NULL;
        t->next_cand_frame = i + t->cand_step;
    }
    if (ret >= 0 && want_at) {
        t->catalog = outs[0];
        outs[0] = NULL;
        av_frame_free(&t->last);
    }
    av_frame_free(&outs[0]);
    av_frame_free(&outs[1]);
    return ret;
}

/* ---- finish ---- */

static void eb_vtt_time(AVBPrint *bp, double seconds)
{
    int64_t ms = llround(seconds * 1000.0);
    av_bprintf(bp, "%02d:%02d:%02d.%03d", (int)(ms / 3600000), (int)(ms / 60000 % 60),
               (int)(ms / 1000 % 60), (int)(ms % 1000));
}

static int eb_write_vtt(EbThumbs *t, double duration)
{
    AVBPrint bp;
    char path[4200], ref[1024], num[24];
    int per_sheet = t->o.cols * t->o.rows, ret = 0;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&bp, "WEBVTT\n");
    for (int k = 0; k < t->nb_tiles && ret >= 0; k++) {
        double start = k * t->o.interval;
        double end = k + 1 == t->nb_tiles ? duration : fmin((k + 1) * t->o.interval, duration);
        int slot = k % per_sheet;
        if (start >= duration)
            break;
        /* The sheet as the VTT file reaches it (numbers as the layout
         * writes them: at least three digits). */
        snprintf(num, sizeof(num), "%03d", k / per_sheet + 1);
        ret = eb_layout_uri(EB_LAYOUT_THUMB_VTT, NULL, EB_LAYOUT_THUMB_SPRITE, NULL, num, ref,
                            sizeof(ref));
        av_bprintf(&bp, "\n");
        eb_vtt_time(&bp, start);
        av_bprintf(&bp, " --> ");
        eb_vtt_time(&bp, end);
        if (t->o.media_version >= 2)
            av_strlcatf(ref, sizeof(ref), "?v=%lld", (long long)t->o.media_version);
        av_bprintf(&bp, "\n%s#xywh=%d,%d,%d,%d\n", ref, (slot % t->o.cols) * t->tw,
                   (slot / t->o.cols) * t->th, t->tw, t->th);
    }
    if (ret >= 0 && !av_bprint_is_complete(&bp))
        ret = EB_ERR(ENOMEM);
    if (ret >= 0)
        ret = eb_thumbs_file(t, EB_LAYOUT_THUMB_VTT, 1, path, sizeof(path));
    if (ret < 0) {
        av_bprint_finalize(&bp, NULL);
        return ret;
    }
    ret = eb_storage_write_file(path, bp.str, bp.len);
    av_bprint_finalize(&bp, NULL);
    return ret;
}

int eb_thumbs_finish(EbThumbs *t, double duration, EbThumbnailTrack *track)
{
    char path[4200];
    const AVFrame *catalog;
    int ret;

    if (t->nb_tiles == 0)
        return EB_ERR_NO_FRAMES;
    if (t->sheet_tiles > 0) {
        ret = eb_write_sheet(t);
        if (ret < 0)
            return ret;
    }
    ret = eb_write_vtt(t, duration);
    if (ret < 0)
        return ret;
    if (t->at_frame >= 0) {
        catalog = t->catalog;
        if (!catalog && t->last) {
            /* The video ends before the requested time: its last frame. */
            AVFrame *outs[2] = {NULL, NULL};
            ret = eb_hal_software.fanout_run(t->scaler, t->last, outs);
            if (ret < 0)
                return ret;
            t->catalog = outs[0];
            av_frame_free(&outs[1]);
            catalog = t->catalog;
        }
    } else {
        int k = eb_thumbs_pick(t->score, t->nb_cand);
        catalog = k >= 0 ? t->cand[k] : NULL;
        if (catalog)
            EB_LOGD("thumbs", "catalog thumbnail: candidate %d of %d (frame %lld)", k,
                    t->nb_cand, (long long)catalog->pts);
    }
    if (!catalog)
        return EB_ERR_NO_FRAMES;
    ret = eb_thumbs_file(t, EB_LAYOUT_THUMB_POSTER, 1, path, sizeof(path));
    if (ret < 0)
        return ret;
    ret = eb_jpeg_write(path, catalog, NULL);
    if (ret < 0)
        return ret;
    memset(track, 0, sizeof(*track));
    track->nb_sheets = t->nb_sheets;
    track->nb_tiles = t->nb_tiles;
    track->tile_width = t->tw;
    track->tile_height = t->th;
    track->cols = t->o.cols;
    track->rows = t->o.rows;
    track->interval = t->o.interval;
    track->duration = duration;
    track->max_sheet_bytes = t->max_sheet_bytes;
    return 0;
}

void eb_thumbs_free(EbThumbs **tp)
{
    EbThumbs *t = *tp;
    if (!t)
        return;
    if (t->scaler)
        eb_hal_software.fanout_close(&t->scaler);
    av_frame_free(&t->sheet);
    for (int i = 0; i < t->nb_cand; i++)
        av_frame_free(&t->cand[i]);
    av_frame_free(&t->catalog);
    av_frame_free(&t->last);
    free(t);
    *tp = NULL;
}
