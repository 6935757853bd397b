/*
 * The scaling fan-out against ffmpeg's, in one process on the same frames:
 * the software backend's fan-out (what every software job runs on its
 * eb-fanout thread) against libavfilter's split + scale with the flags the
 * ffmpeg command line gives its scale filters by default (bicubic), which is
 * what `ffmpeg -filter_complex 'split=N...;scale=W:H...'` does for the same
 * rungs. Both run on this thread, one frame at a time, alternating which
 * goes first so that neither always finds the frame warm in cache; each call
 * is timed with the thread's CPU clock (what other load on the box disturbs
 * least) and the wall clock.
 *
 * Quality: every rung of both against the source scaled to the rung's size
 * with swscale's lanczos (`scale=W:H:flags=lanczos`, the reference of the
 * head-to-head too), as PSNR per plane over all frames and the 4:1:1
 * weighted average that ffmpeg's psnr filter prints as 'average'.
 *
 * Frames come from EbSource on the software device, so the fan-out sees
 * exactly what a job's fan-out sees (normalised 8-bit 4:2:0, the stream's
 * chroma siting). Rungs of the source's size are references in both and
 * are left out of the figures.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

#include "eb_bench.h"
#include "eb_clock.h"
#include "eb_error.h"
#include "eb_fanout_graph.h"
#include "eb_hal.h"
#include "eb_ladder.h"
#include "eb_source.h"

/* ffmpeg 5.1's command line sets flags=bicubic on every scale filter it
 * builds a graph with (its default sws_flags). */
static int ffmpeg_scale(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale=w=%d:h=%d:flags=bicubic", width, height);
}

static int lanczos_scale(char *buf, size_t size, int width, int height)
{
    return snprintf(buf, size, "scale=w=%d:h=%d:flags=lanczos", width, height);
}

static const EbFanoutFilters ffmpeg_filters = {
    .name = "bench-ffmpeg", .scale = ffmpeg_scale, .passthrough = 1};
static const EbFanoutFilters lanczos_filters = {
    .name = "bench-lanczos", .scale = lanczos_scale, .passthrough = 1};

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void unref_all(AVFrame **f, int n)
{
    for (int i = 0; i < n; i++)
        av_frame_free(&f[i]);
}

/* Sum of squared differences of plane p of two yuv420p frames of one size. */
static uint64_t sse_plane(const AVFrame *a, const AVFrame *b, int p)
{
    int w = p ? AV_CEIL_RSHIFT(a->width, 1) : a->width;
    int h = p ? AV_CEIL_RSHIFT(a->height, 1) : a->height;
    uint64_t sum = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *ra = a->data[p] + (ptrdiff_t)y * a->linesize[p];
        const uint8_t *rb = b->data[p] + (ptrdiff_t)y * b->linesize[p];
        for (int x = 0; x < w; x++) {
            int d = ra[x] - rb[x];
            sum += (uint64_t)(d * d);
        }
    }
    return sum;
}

static double psnr_of(double mse)
{
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99.0;
}

/* Per rung: [0] encbox, [1] ffmpeg; per plane. */
typedef struct SseAcc {
    uint64_t sse[2][3];
    uint64_t samples[3];
} SseAcc;

static int time_call(int which, const EbHalBackend *sw, EbFanout *mine, EbFanoutGraph *theirs,
                     const AVFrame *src, AVFrame **dst, double *cpu, double *wall)
{
    double c0 = thread_cpu_s(), w0 = eb_clock_seconds();
    int ret = which == 0 ? sw->fanout_run(mine, src, dst) : eb_fanout_graph_run(theirs, src, dst);
    *cpu += thread_cpu_s() - c0;
    *wall += eb_clock_seconds() - w0;
    return ret;
}

int eb_bench_scaler_run(const char *input, int max_frames, EbBenchScaler *out)
{
    const EbHalBackend *sw = &eb_hal_software;
    EbHalDevice *dev = NULL;
    EbSource *src = NULL;
    EbFanout *mine = NULL;
    EbFanoutGraph *theirs = NULL, *ref = NULL;
    EbFanoutConfig cfg = {0};
    EbLadder ladder;
    EbRungPlan plan[EB_LADDER_MAX_RUNGS];
    EbSourceOptions so = {.want_audio = 0};
    const EbSourceInfo *info;
    SseAcc acc[EB_LADDER_MAX_RUNGS];
    int scaled[EB_LADDER_MAX_RUNGS], nb_scaled = 0, nb, ret;
    double cpu[2] = {0, 0}, wall[2] = {0, 0};
    char detail[512] = "";
    AVFrame *frame = av_frame_alloc();

    memset(out, 0, sizeof(*out));
    memset(acc, 0, sizeof(acc));
    snprintf(out->ffmpeg_filters, sizeof(out->ffmpeg_filters),
             "split + scale=W:H:flags=bicubic (the ffmpeg CLI's default sws_flags)");
    if (!frame)
        return EB_ERR(ENOMEM);
    ret = eb_hal_device_open(sw, NULL, &dev);
    if (ret >= 0)
        ret = eb_source_open(input, dev, &so, &src, detail, sizeof(detail));
    if (ret < 0) {
        snprintf(out->skipped, sizeof(out->skipped), "cannot open %.96s: %.48s%s%.80s", input,
                 eb_strerror(ret), detail[0] ? ": " : "", detail);
        goto end;
    }
    info = eb_source_info(src);
    eb_ladder_default(&ladder);
    nb = eb_ladder_plan(&ladder, &info->geometry, plan);
    if (nb < 0) {
        ret = nb;
        snprintf(out->skipped, sizeof(out->skipped), "cannot plan the ladder for this source");
        goto end;
    }
    /* the software source rotates before the fan-out: its frames are upright */
    {
        int rot = info->geometry.rotation, swap = rot == 90 || rot == 270;
        cfg.src_width = swap ? info->geometry.height : info->geometry.width;
        cfg.src_height = swap ? info->geometry.width : info->geometry.height;
    }
    cfg.src_format = AV_PIX_FMT_YUV420P;
    cfg.chroma_location = info->chroma_location;
    cfg.nb_outputs = nb;
    for (int i = 0; i < nb; i++) {
        cfg.outputs[i].width = plan[i].width;
        cfg.outputs[i].height = plan[i].height;
        if (plan[i].width != cfg.src_width || plan[i].height != cfg.src_height)
            scaled[nb_scaled++] = i;
    }
    if (nb_scaled == 0) {
        ret = EB_ERR(EINVAL);
        snprintf(out->skipped, sizeof(out->skipped),
                 "every rung is the source's size: nothing to scale");
        goto end;
    }
    ret = sw->fanout_open(dev, &cfg, &mine);
    if (ret >= 0) {
        EbFanoutGraphParams p = {.cfg = &cfg, .filters = &ffmpeg_filters};
        ret = eb_fanout_graph_open(&p, &theirs);
    }
    if (ret >= 0) {
        EbFanoutGraphParams p = {.cfg = &cfg, .filters = &lanczos_filters};
        ret = eb_fanout_graph_open(&p, &ref);
    }
    if (ret < 0) {
        snprintf(out->skipped, sizeof(out->skipped), "cannot open the scalers: %s",
                 eb_strerror(ret));
        goto end;
    }

    while (out->frames < max_frames) {
        AVFrame *d[2][EB_LADDER_MAX_RUNGS] = {{0}}, *r[EB_LADDER_MAX_RUNGS] = {0};
        int is_audio = 0, first = out->frames & 1;

        av_frame_unref(frame);
        ret = eb_source_next(src, frame, &is_audio);
        if (ret == EB_EOF)
            break;
        if (ret < 0) {
            snprintf(out->skipped, sizeof(out->skipped), "decoding %s failed: %s", input,
                     eb_strerror(ret));
            goto end;
        }
        if (is_audio)
            continue;
        if (frame->format != AV_PIX_FMT_YUV420P && frame->format != AV_PIX_FMT_YUVJ420P) {
            ret = EB_ERR(EINVAL);
            snprintf(out->skipped, sizeof(out->skipped), "source frames are %s, not yuv420p",
                     av_get_pix_fmt_name(frame->format));
            goto end;
        }
        ret = time_call(first, sw, mine, theirs, frame, d[first], &cpu[first], &wall[first]);
        if (ret >= 0)
            ret =
                time_call(!first, sw, mine, theirs, frame, d[!first], &cpu[!first], &wall[!first]);
        if (ret >= 0)
            ret = eb_fanout_graph_run(ref, frame, r);
        if (ret < 0) {
            unref_all(d[0], nb);
            unref_all(d[1], nb);
            unref_all(r, nb);
            snprintf(out->skipped, sizeof(out->skipped), "scaling failed: %s", eb_strerror(ret));
            goto end;
        }
        for (int k = 0; k < nb_scaled; k++) {
            int i = scaled[k];
            for (int p = 0; p < 3; p++) {
                acc[k].sse[0][p] += sse_plane(d[0][i], r[i], p);
                acc[k].sse[1][p] += sse_plane(d[1][i], r[i], p);
                acc[k].samples[p] += (uint64_t)(p ? AV_CEIL_RSHIFT(r[i]->width, 1) : r[i]->width) *
                                     (p ? AV_CEIL_RSHIFT(r[i]->height, 1) : r[i]->height);
            }
        }
        unref_all(d[0], nb);
        unref_all(d[1], nb);
        unref_all(r, nb);
        out->frames++;
    }
    if (out->frames == 0) {
        ret = EB_ERR(EINVAL);
        snprintf(out->skipped, sizeof(out->skipped), "%s has no video frames", input);
        goto end;
    }

    out->encbox_cpu_ms = cpu[0] * 1000 / out->frames;
    out->ffmpeg_cpu_ms = cpu[1] * 1000 / out->frames;
    out->encbox_wall_ms = wall[0] * 1000 / out->frames;
    out->ffmpeg_wall_ms = wall[1] * 1000 / out->frames;
    out->nb_rungs = nb_scaled;
    for (int k = 0; k < nb_scaled; k++) {
        EbBenchScalerRung *q = &out->rungs[k];
        const EbRungPlan *pl = &plan[scaled[k]];
        snprintf(q->name, sizeof(q->name), "%s", pl->rung.name);
        q->width = pl->width;
        q->height = pl->height;
        for (int t = 0; t < 2; t++) {
            double *psnr = t ? q->psnr_ffmpeg : q->psnr_encbox;
            double mse_avg = 0;
            for (int p = 0; p < 3; p++) {
                double mse = (double)acc[k].sse[t][p] / (double)acc[k].samples[p];
                psnr[p] = psnr_of(mse);
                mse_avg += mse * (p ? 1 : 4);
            }
            if (t)
                q->psnr_avg_ffmpeg = psnr_of(mse_avg / 6);
            else
                q->psnr_avg_encbox = psnr_of(mse_avg / 6);
        }
    }
    out->ran = 1;
    ret = 0;
end:
    av_frame_free(&frame);
    eb_fanout_graph_free(&ref);
    eb_fanout_graph_free(&theirs);
    if (mine)
        sw->fanout_close(&mine);
    eb_source_close(&src);
    eb_hal_device_close(&dev);
    return ret;
}

void eb_bench_scaler_print(FILE *f, const EbBenchScaler *s, int standard, int *misses)
{
    double ratio;
    int quality_ok = 1;

    if (!s->ran) {
        fprintf(f, "scaling fan-out vs ffmpeg's split + scale: not run (%s)\n", s->skipped);
        return;
    }
    ratio = s->ffmpeg_cpu_ms > 0 ? s->encbox_cpu_ms / s->ffmpeg_cpu_ms : 0;
    fprintf(f,
            "scaling fan-out vs ffmpeg's %s\n"
            "(one thread, the same %d decoded frames, alternating; the source-size rung is a\n"
            " reference in both and not counted; PSNR against scale=W:H:flags=lanczos)\n",
            s->ffmpeg_filters, s->frames);
    fprintf(f,
            "  per source frame, every scaled rung: encbox %.2f ms CPU (%.2f wall), ffmpeg "
            "%.2f ms CPU (%.2f wall)\n",
            s->encbox_cpu_ms, s->encbox_wall_ms, s->ffmpeg_cpu_ms, s->ffmpeg_wall_ms);
    fprintf(f, "  %-6s %9s | %8s %8s %7s | %-20s | %-20s\n", "rung", "size", "enc PSNR", "ff PSNR",
            "delta", "enc Y / U / V", "ff Y / U / V");
    for (int i = 0; i < s->nb_rungs; i++) {
        const EbBenchScalerRung *q = &s->rungs[i];
        char size[24];
        snprintf(size, sizeof(size), "%dx%d", q->width, q->height);
        fprintf(f, "  %-6s %9s | %8.2f %8.2f %+7.2f | %6.2f %6.2f %6.2f | %6.2f %6.2f %6.2f\n",
                q->name, size, q->psnr_avg_encbox, q->psnr_avg_ffmpeg,
                q->psnr_avg_encbox - q->psnr_avg_ffmpeg, q->psnr_encbox[0], q->psnr_encbox[1],
                q->psnr_encbox[2], q->psnr_ffmpeg[0], q->psnr_ffmpeg[1], q->psnr_ffmpeg[2]);
        quality_ok &= q->psnr_avg_encbox >= q->psnr_avg_ffmpeg;
    }
    fprintf(f, "  target%s:\n",
            standard ? "" : " (NOTE: this run's conditions differ from the targets')");
    fprintf(f, "  %-4s fan-out costs <= 0.5x ffmpeg's split + scale: %.3fx (on CPU time)\n",
            ratio > 0 && ratio <= 0.5 ? "PASS" : "MISS", ratio);
    *misses += !(ratio > 0 && ratio <= 0.5);
    fprintf(f, "  %-4s fan-out PSNR >= ffmpeg's on every rung, against the lanczos reference\n",
            quality_ok ? "PASS" : "MISS");
    *misses += !quality_ok;
}
