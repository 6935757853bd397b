/*
 * The bench's outputs: the report as JSON (jansson does the escaping and
 * the parsing, so `--plan --from FILE` reads exactly what a run wrote), the
 * SVG plot, the terminal table, and the per-job stats file that each
 * `encbox transcode --stats-json` child leaves for the bench to read.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eb_bench.h"
#include "eb_json_file.h"

/* ---- medians of the head-to-head -------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

double eb_bench_median(double *v, int n)
{
    if (n < 1)
        return 0;
    qsort(v, n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double eb_bench_paired_speedup(const EbBenchToolRun *encbox, const EbBenchToolRun *ffmpeg, int n)
{
    double r[EB_BENCH_MAX_RUNS];

    if (n < 1 || n > EB_BENCH_MAX_RUNS)
        return 0;
    for (int i = 0; i < n; i++) {
        if (!(encbox[i].wall_seconds > 0) || !(ffmpeg[i].wall_seconds > 0))
            return 0;
        r[i] = ffmpeg[i].wall_seconds / encbox[i].wall_seconds;
    }
    return eb_bench_median(r, n);
}

/* ---- per-job stats: api/eb_job_stats.c ---------------------------------- */

static json_t *stats_to_json(const EbBenchJobStats *s)
{
    return eb_job_stats_to_json(s);
}

static void stats_from_json(const json_t *o, EbBenchJobStats *s)
{
    eb_job_stats_from_json(o, s);
}

/* ---- report JSON ------------------------------------------------------ */

static json_t *run_to_json(const EbBenchToolRun *r)
{
    return json_pack("{s:f, s:f, s:f}", "wall_seconds", r->wall_seconds, "cpu_seconds",
                     r->cpu_seconds, "peak_rss_mb", r->peak_rss_mb);
}

static void run_from_json(const json_t *o, EbBenchToolRun *r)
{
    r->wall_seconds = eb_json_num(o, "wall_seconds");
    r->cpu_seconds = eb_json_num(o, "cpu_seconds");
    r->peak_rss_mb = eb_json_num(o, "peak_rss_mb");
}

static json_t *quality_to_json(const EbBenchQuality *q)
{
    return json_pack("{s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:f}", "name", q->name, "width", q->width,
                     "height", q->height, "psnr_y", q->psnr_y, "psnr_avg", q->psnr_avg, "ssim_y",
                     q->ssim_y, "ssim_all", q->ssim_all, "psnr_avg_left_chroma_ref",
                     q->psnr_avg_left);
}

static void quality_from_json(const json_t *o, EbBenchQuality *q)
{
    eb_json_str(o, "name", q->name, sizeof(q->name));
    q->width = (int)eb_json_num(o, "width");
    q->height = (int)eb_json_num(o, "height");
    q->psnr_y = eb_json_num(o, "psnr_y");
    q->psnr_avg = eb_json_num(o, "psnr_avg");
    q->ssim_y = eb_json_num(o, "ssim_y");
    q->ssim_all = eb_json_num(o, "ssim_all");
    q->psnr_avg_left = eb_json_num(o, "psnr_avg_left_chroma_ref");
}

static json_t *scaler_to_json(const EbBenchScaler *s)
{
    json_t *o = json_pack("{s:b, s:s, s:i, s:f, s:f, s:f, s:f, s:s}", "ran", s->ran, "skipped",
                          s->skipped, "frames", s->frames, "encbox_cpu_ms", s->encbox_cpu_ms,
                          "ffmpeg_cpu_ms", s->ffmpeg_cpu_ms, "encbox_wall_ms", s->encbox_wall_ms,
                          "ffmpeg_wall_ms", s->ffmpeg_wall_ms, "ffmpeg_filters", s->ffmpeg_filters);
    json_t *rungs = json_array();
    for (int i = 0; rungs && i < s->nb_rungs; i++) {
        const EbBenchScalerRung *q = &s->rungs[i];
        json_array_append_new(rungs,
                              json_pack("{s:s, s:i, s:i, s:[f,f,f], s:[f,f,f], s:f, s:f}", "name",
                                        q->name, "width", q->width, "height", q->height,
                                        "psnr_encbox", q->psnr_encbox[0], q->psnr_encbox[1],
                                        q->psnr_encbox[2], "psnr_ffmpeg", q->psnr_ffmpeg[0],
                                        q->psnr_ffmpeg[1], q->psnr_ffmpeg[2], "psnr_avg_encbox",
                                        q->psnr_avg_encbox, "psnr_avg_ffmpeg", q->psnr_avg_ffmpeg));
    }
    if (o)
        json_object_set_new(o, "rungs", rungs);
    else
        json_decref(rungs);
    return o;
}

static void scaler_from_json(const json_t *o, EbBenchScaler *s)
{
    const json_t *rungs = json_object_get(o, "rungs");
    memset(s, 0, sizeof(*s));
    s->ran = json_is_true(json_object_get(o, "ran"));
    eb_json_str(o, "skipped", s->skipped, sizeof(s->skipped));
    eb_json_str(o, "ffmpeg_filters", s->ffmpeg_filters, sizeof(s->ffmpeg_filters));
    s->frames = (int)eb_json_num(o, "frames");
    s->encbox_cpu_ms = eb_json_num(o, "encbox_cpu_ms");
    s->ffmpeg_cpu_ms = eb_json_num(o, "ffmpeg_cpu_ms");
    s->encbox_wall_ms = eb_json_num(o, "encbox_wall_ms");
    s->ffmpeg_wall_ms = eb_json_num(o, "ffmpeg_wall_ms");
    for (size_t i = 0; i < json_array_size(rungs) && i < EB_LADDER_MAX_RUNGS; i++) {
        const json_t *r = json_array_get(rungs, i);
        const json_t *pe = json_object_get(r, "psnr_encbox"),
                     *pf = json_object_get(r, "psnr_ffmpeg");
        EbBenchScalerRung *q = &s->rungs[s->nb_rungs++];
        eb_json_str(r, "name", q->name, sizeof(q->name));
        q->width = (int)eb_json_num(r, "width");
        q->height = (int)eb_json_num(r, "height");
        for (size_t p = 0; p < 3; p++) {
            const json_t *a = json_array_get(pe, p), *b = json_array_get(pf, p);
            q->psnr_encbox[p] = json_is_number(a) ? json_number_value(a) : 0;
            q->psnr_ffmpeg[p] = json_is_number(b) ? json_number_value(b) : 0;
        }
        q->psnr_avg_encbox = eb_json_num(r, "psnr_avg_encbox");
        q->psnr_avg_ffmpeg = eb_json_num(r, "psnr_avg_ffmpeg");
    }
}

static json_t *step_to_json(const EbBenchStep *s)
{
    json_t *o =
        json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:f}", "concurrency",
                  s->concurrency, "failed", s->failed, "wall_seconds", s->wall_seconds, "job_fps",
                  s->job_fps, "job_fps_min", s->job_fps_min, "aggregate_fps", s->aggregate_fps,
                  "realtime_ratio", s->realtime_ratio, "cpu_seconds", s->cpu_seconds, "cpu_percent",
                  s->cpu_percent, "peak_rss_mb", s->peak_rss_mb, "device_sessions",
                  s->device_sessions, "pixels_per_second", s->pixels_per_second);
    if (o)
        json_object_set_new(o, "stages", stats_to_json(&s->stages));
    return o;
}

static void step_from_json(const json_t *o, EbBenchStep *s)
{
    s->concurrency = (int)eb_json_num(o, "concurrency");
    s->failed = (int)eb_json_num(o, "failed");
    s->wall_seconds = eb_json_num(o, "wall_seconds");
    s->job_fps = eb_json_num(o, "job_fps");
    s->job_fps_min = eb_json_num(o, "job_fps_min");
    s->aggregate_fps = eb_json_num(o, "aggregate_fps");
    s->realtime_ratio = eb_json_num(o, "realtime_ratio");
    s->cpu_seconds = eb_json_num(o, "cpu_seconds");
    s->cpu_percent = eb_json_num(o, "cpu_percent");
    s->peak_rss_mb = eb_json_num(o, "peak_rss_mb");
    s->device_sessions = (int)eb_json_num(o, "device_sessions");
    s->pixels_per_second = eb_json_num(o, "pixels_per_second");
    stats_from_json(json_object_get(o, "stages"), &s->stages);
}

static json_t *live_step_to_json(const EbBenchLiveStep *s)
{
    json_t *o =
        json_pack("{s:i, s:b, s:s, s:f, s:f, s:f, s:I, s:I, s:I, s:f}", "channels", s->channels,
                  "sustained", s->sustained, "why", s->why, "wall_seconds", s->wall_seconds,
                  "aggregate_fps", s->aggregate_fps, "min_speed", s->min_speed, "dropped",
                  (json_int_t)s->dropped, "frames", (json_int_t)s->frames, "frames_sent",
                  (json_int_t)s->frames_sent, "max_lag_seconds", s->max_lag);
    json_t *more = json_pack(
        "{s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:f}", "cpu_seconds", s->cpu_seconds, "cpu_percent",
        s->cpu_percent, "peak_rss_mb", s->peak_rss_mb, "relay_cpu_seconds", s->relay_cpu_seconds,
        "delay_median_seconds", s->delay_median, "delay_p95_seconds", s->delay_p95, "delay_frames",
        (json_int_t)s->delay_frames, "min_reported_speed", s->min_reported_speed);
    if (o && more)
        json_object_update(o, more);
    json_decref(more);
    return o;
}

static void live_step_from_json(const json_t *o, EbBenchLiveStep *s)
{
    s->channels = (int)eb_json_num(o, "channels");
    s->sustained = json_is_true(json_object_get(o, "sustained"));
    eb_json_str(o, "why", s->why, sizeof(s->why));
    s->wall_seconds = eb_json_num(o, "wall_seconds");
    s->aggregate_fps = eb_json_num(o, "aggregate_fps");
    s->min_speed = eb_json_num(o, "min_speed");
    s->min_reported_speed = eb_json_num(o, "min_reported_speed");
    s->dropped = (int64_t)eb_json_num(o, "dropped");
    s->frames = (int64_t)eb_json_num(o, "frames");
    s->frames_sent = (int64_t)eb_json_num(o, "frames_sent");
    s->max_lag = eb_json_num(o, "max_lag_seconds");
    s->cpu_seconds = eb_json_num(o, "cpu_seconds");
    s->cpu_percent = eb_json_num(o, "cpu_percent");
    s->peak_rss_mb = eb_json_num(o, "peak_rss_mb");
    s->relay_cpu_seconds = eb_json_num(o, "relay_cpu_seconds");
    s->delay_median = eb_json_num(o, "delay_median_seconds");
    s->delay_p95 = eb_json_num(o, "delay_p95_seconds");
    s->delay_frames = (int64_t)eb_json_num(o, "delay_frames");
}

/* The live bench's section; derived figures (capacities) are written for
 * readers of the file and recomputed on reading. */
static json_t *live_to_json(const EbBenchLive *l)
{
    json_t *o = json_pack("{s:b, s:s}", "ran", l->ran, "skipped", l->skipped);
    json_t *rungs, *enc, *ff, *nm;
    int ce, cf;

    if (!o || !l->ran)
        return o;
    rungs = json_array();
    enc = json_array();
    ff = json_array();
    nm = json_array();
    for (int i = 0; i < l->nb_rungs; i++)
        json_array_append_new(rungs, json_pack("{s:s, s:i, s:i}", "name", l->rung_names[i], "width",
                                               l->rung_width[i], "height", l->rung_height[i]));
    for (int i = 0; i < l->nb_encbox; i++)
        json_array_append_new(enc, live_step_to_json(&l->encbox[i]));
    for (int i = 0; i < l->nb_ffmpeg; i++)
        json_array_append_new(ff, live_step_to_json(&l->ffmpeg[i]));
    for (int i = 0; i < l->nb_not_measured; i++)
        json_array_append_new(nm, json_pack("{s:s, s:s}", "name", l->not_measured[i].name, "reason",
                                            l->not_measured[i].reason));
    ce = eb_bench_live_capacity(l, 0);
    cf = eb_bench_live_capacity(l, 1);
    json_object_set_new(o, "backend", json_string(l->backend));
    json_object_set_new(o, "not_measured", nm);
    json_object_set_new(o, "width", json_integer(l->width));
    json_object_set_new(o, "height", json_integer(l->height));
    json_object_set_new(o, "fps", json_real(l->fps));
    json_object_set_new(o, "seconds", json_real(l->seconds));
    json_object_set_new(o, "segment_seconds", json_real(l->segment_seconds));
    json_object_set_new(o, "preset", json_string(l->preset));
    json_object_set_new(o, "rungs", rungs);
    json_object_set_new(o, "pixel_rate", json_real(l->pixel_rate));
    json_object_set_new(o, "encbox_steps", enc);
    json_object_set_new(o, "ffmpeg_steps", ff);
    json_object_set_new(o, "encbox_channels", json_integer(ce));
    json_object_set_new(o, "ffmpeg_channels", json_integer(cf));
    json_object_set_new(o, "encbox_capacity_mpixels", json_real(ce * l->pixel_rate / 1e6));
    json_object_set_new(o, "ffmpeg_capacity_mpixels", json_real(cf * l->pixel_rate / 1e6));
    json_object_set_new(o, "ffmpeg_version", json_string(l->ffmpeg_version));
    json_object_set_new(o, "encbox_command", json_string(l->encbox_command));
    json_object_set_new(o, "ffmpeg_command", json_string(l->ffmpeg_command));
    return o;
}

static void live_from_json(const json_t *o, EbBenchLive *l)
{
    const json_t *rungs = json_object_get(o, "rungs"), *nm = json_object_get(o, "not_measured");
    const json_t *enc = json_object_get(o, "encbox_steps"),
                 *ff = json_object_get(o, "ffmpeg_steps");

    memset(l, 0, sizeof(*l));
    l->ran = json_is_true(json_object_get(o, "ran"));
    eb_json_str(o, "skipped", l->skipped, sizeof(l->skipped));
    if (!l->ran)
        return;
    eb_json_str(o, "backend", l->backend, sizeof(l->backend));
    eb_json_str(o, "preset", l->preset, sizeof(l->preset));
    eb_json_str(o, "ffmpeg_version", l->ffmpeg_version, sizeof(l->ffmpeg_version));
    eb_json_str(o, "encbox_command", l->encbox_command, sizeof(l->encbox_command));
    eb_json_str(o, "ffmpeg_command", l->ffmpeg_command, sizeof(l->ffmpeg_command));
    l->width = (int)eb_json_num(o, "width");
    l->height = (int)eb_json_num(o, "height");
    l->fps = eb_json_num(o, "fps");
    l->seconds = eb_json_num(o, "seconds");
    l->segment_seconds = eb_json_num(o, "segment_seconds");
    l->pixel_rate = eb_json_num(o, "pixel_rate");
    for (size_t i = 0; i < json_array_size(rungs) && i < EB_LADDER_MAX_RUNGS; i++) {
        const json_t *r = json_array_get(rungs, i);
        eb_json_str(r, "name", l->rung_names[i], sizeof(l->rung_names[i]));
        l->rung_width[i] = (int)eb_json_num(r, "width");
        l->rung_height[i] = (int)eb_json_num(r, "height");
        l->nb_rungs++;
    }
    for (size_t i = 0; i < json_array_size(nm) && i < EB_BENCH_MAX_BACKENDS; i++) {
        EbBenchLiveBackend *b = &l->not_measured[l->nb_not_measured++];
        eb_json_str(json_array_get(nm, i), "name", b->name, sizeof(b->name));
        eb_json_str(json_array_get(nm, i), "reason", b->reason, sizeof(b->reason));
    }
    for (size_t i = 0; i < json_array_size(enc) && i < EB_BENCH_LIVE_MAX_CHANNELS; i++)
        live_step_from_json(json_array_get(enc, i), &l->encbox[l->nb_encbox++]);
    for (size_t i = 0; i < json_array_size(ff) && i < EB_BENCH_LIVE_MAX_CHANNELS; i++)
        live_step_from_json(json_array_get(ff, i), &l->ffmpeg[l->nb_ffmpeg++]);
}

int eb_bench_report_write_json(const EbBenchReport *r, const char *path)
{
    json_t *o = json_object(), *backends = json_array(), *v;
    EbBenchCapacity cap;

    if (!o || !backends) {
        json_decref(o);
        json_decref(backends);
        return -ENOMEM;
    }
    json_object_set_new(o, "encbox_bench", json_integer(1));
    json_object_set_new(o, "date", json_string(r->date));
    json_object_set_new(o, "host", json_string(r->host));
    json_object_set_new(o, "cpu_model", json_string(r->cpu_model));
    json_object_set_new(o, "cores", json_integer(r->cores));
    json_object_set_new(o, "memory_gb", json_real(r->memory_gb));
    json_object_set_new(o, "load_start", json_real(r->load_start));
    json_object_set_new(o, "load_end", json_real(r->load_end));
    json_object_set_new(o, "command", json_string(r->command));
    json_object_set_new(o, "preset", json_string(r->preset));
    json_object_set_new(o, "source",
                        json_pack("{s:s, s:b, s:f, s:i, s:i, s:f}", "path", r->source, "generated",
                                  r->source_generated, "seconds", r->source_seconds, "width",
                                  r->source_width, "height", r->source_height, "fps",
                                  r->source_fps));
    for (int b = 0; b < r->nb_backends; b++) {
        const EbBenchBackend *be = &r->backends[b];
        json_t *steps = json_array();
        for (int s = 0; s < be->nb_steps; s++)
            json_array_append_new(steps, step_to_json(&be->steps[s]));
        json_array_append_new(backends,
                              json_pack("{s:s, s:b, s:s, s:o}", "name", be->name, "usable",
                                        be->usable, "reason", be->reason, "steps", steps));
    }
    json_object_set_new(o, "backends", backends);
    if (eb_bench_capacity(r, &cap) == 0 && cap.vod_hours_per_hour > 0)
        json_object_set_new(o, "summary",
                            json_pack("{s:s, s:i, s:f, s:f}", "backend", cap.backend,
                                      "realtime_ladders", cap.live_jobs, "realtime_ratio_1",
                                      cap.realtime_ratio_1, "vod_hours_per_hour",
                                      cap.vod_hours_per_hour));
    v = json_pack("{s:b, s:s}", "ran", r->versus.ran, "skipped", r->versus.skipped);
    if (v && r->versus.ran) {
        json_t *e = json_array(), *f = json_array(), *eq = json_array(), *fq = json_array();
        for (int i = 0; i < r->versus.runs; i++) {
            json_array_append_new(e, run_to_json(&r->versus.encbox[i]));
            json_array_append_new(f, run_to_json(&r->versus.ffmpeg[i]));
        }
        for (int i = 0; i < r->versus.nb_rungs; i++) {
            json_array_append_new(eq, quality_to_json(&r->versus.encbox_q[i]));
            json_array_append_new(fq, quality_to_json(&r->versus.ffmpeg_q[i]));
        }
        json_object_set_new(v, "runs", json_integer(r->versus.runs));
        json_object_set_new(v, "encbox_runs", e);
        json_object_set_new(v, "ffmpeg_runs", f);
        /* Derived (not read back): the speed-up the verdict uses. */
        json_object_set_new(
            v, "throughput_paired",
            json_real(eb_bench_paired_speedup(r->versus.encbox, r->versus.ffmpeg, r->versus.runs)));
        json_object_set_new(v, "encbox_median", run_to_json(&r->versus.encbox_median));
        json_object_set_new(v, "ffmpeg_median", run_to_json(&r->versus.ffmpeg_median));
        json_object_set_new(v, "encbox_stages", stats_to_json(&r->versus.encbox_stages));
        json_object_set_new(v, "encbox_quality", eq);
        json_object_set_new(v, "ffmpeg_quality", fq);
        json_object_set_new(v, "ffmpeg_command", json_string(r->versus.ffmpeg_command));
    }
    json_object_set_new(o, "versus", v);
    json_object_set_new(o, "scaler", scaler_to_json(&r->scaler));
    json_object_set_new(o, "live", live_to_json(&r->live));
    return eb_json_dump(o, path);
}

int eb_bench_report_read_json(const char *path, EbBenchReport *r, char *err, size_t err_size)
{
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e), *src, *backends, *v;

    memset(r, 0, sizeof(*r));
    if (!o) {
        snprintf(err, err_size, "%s:%d: %s", path, e.line, e.text);
        return -EINVAL;
    }
    if (!json_is_object(o) || eb_json_num(o, "encbox_bench") != 1) {
        snprintf(err, err_size, "%s: not an encbox bench report", path);
        json_decref(o);
        return -EINVAL;
    }
    eb_json_str(o, "date", r->date, sizeof(r->date));
    eb_json_str(o, "host", r->host, sizeof(r->host));
    eb_json_str(o, "cpu_model", r->cpu_model, sizeof(r->cpu_model));
    eb_json_str(o, "command", r->command, sizeof(r->command));
    eb_json_str(o, "preset", r->preset, sizeof(r->preset));
    r->cores = (int)eb_json_num(o, "cores");
    r->memory_gb = eb_json_num(o, "memory_gb");
    r->load_start = eb_json_num(o, "load_start");
    r->load_end = eb_json_num(o, "load_end");
    src = json_object_get(o, "source");
    eb_json_str(src, "path", r->source, sizeof(r->source));
    r->source_generated = json_is_true(json_object_get(src, "generated"));
    r->source_seconds = eb_json_num(src, "seconds");
    r->source_width = (int)eb_json_num(src, "width");
    r->source_height = (int)eb_json_num(src, "height");
    r->source_fps = eb_json_num(src, "fps");
    backends = json_object_get(o, "backends");
    for (size_t b = 0; b < json_array_size(backends) && b < EB_BENCH_MAX_BACKENDS; b++) {
        const json_t *jb = json_array_get(backends, b), *steps = json_object_get(jb, "steps");
        EbBenchBackend *be = &r->backends[r->nb_backends++];
        eb_json_str(jb, "name", be->name, sizeof(be->name));
        eb_json_str(jb, "reason", be->reason, sizeof(be->reason));
        be->usable = json_is_true(json_object_get(jb, "usable"));
        for (size_t s = 0; s < json_array_size(steps) && s < EB_BENCH_MAX_STEPS; s++)
            step_from_json(json_array_get(steps, s), &be->steps[be->nb_steps++]);
    }
    v = json_object_get(o, "versus");
    r->versus.ran = json_is_true(json_object_get(v, "ran"));
    eb_json_str(v, "skipped", r->versus.skipped, sizeof(r->versus.skipped));
    if (r->versus.ran) {
        const json_t *e = json_object_get(v, "encbox_runs"), *f = json_object_get(v, "ffmpeg_runs");
        const json_t *eq = json_object_get(v, "encbox_quality");
        const json_t *fq = json_object_get(v, "ffmpeg_quality");
        for (size_t i = 0;
             i < json_array_size(e) && i < json_array_size(f) && i < EB_BENCH_MAX_RUNS; i++) {
            run_from_json(json_array_get(e, i), &r->versus.encbox[i]);
            run_from_json(json_array_get(f, i), &r->versus.ffmpeg[i]);
            r->versus.runs++;
        }
        run_from_json(json_object_get(v, "encbox_median"), &r->versus.encbox_median);
        run_from_json(json_object_get(v, "ffmpeg_median"), &r->versus.ffmpeg_median);
        stats_from_json(json_object_get(v, "encbox_stages"), &r->versus.encbox_stages);
        for (size_t i = 0;
             i < json_array_size(eq) && i < json_array_size(fq) && i < EB_LADDER_MAX_RUNGS; i++) {
            quality_from_json(json_array_get(eq, i), &r->versus.encbox_q[i]);
            quality_from_json(json_array_get(fq, i), &r->versus.ffmpeg_q[i]);
            r->versus.nb_rungs++;
        }
        eb_json_str(v, "ffmpeg_command", r->versus.ffmpeg_command,
                    sizeof(r->versus.ffmpeg_command));
    }
    scaler_from_json(json_object_get(o, "scaler"), &r->scaler);
    live_from_json(json_object_get(o, "live"), &r->live);
    json_decref(o);
    return 0;
}

/* ---- SVG plot --------------------------------------------------------- */

static void svg_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A round axis maximum: 1, 2 or 5 times a power of ten, at least v. */
static double nice_max(double v)
{
    double p;
    if (!(v > 0))
        return 1;
    p = pow(10, floor(log10(v)));
    if (v <= p)
        return p;
    if (v <= 2 * p)
        return 2 * p;
    if (v <= 5 * p)
        return 5 * p;
    return 10 * p;
}

int eb_bench_report_write_svg(const EbBenchReport *r, const char *path)
{
    static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
    const double W = 760, H = 420, L = 70, R = 70, T = 50, B = 60;
    const double pw = W - L - R, ph = H - T - B;
    double max_fps = 0, max_rt = 1.0;
    int max_n = 1;
    FILE *f;
    char title[512];

    for (int b = 0; b < r->nb_backends; b++)
        for (int s = 0; s < r->backends[b].nb_steps; s++) {
            const EbBenchStep *st = &r->backends[b].steps[s];
            max_fps = fmax(max_fps, st->aggregate_fps);
            max_rt = fmax(max_rt, st->realtime_ratio);
            if (st->concurrency > max_n)
                max_n = st->concurrency;
        }
    max_fps = nice_max(max_fps * 1.05);
    max_rt = nice_max(max_rt * 1.05);
    f = fopen(path, "w");
    if (!f)
        return -errno;
#define X(n) (L + (max_n > 1 ? ((n)-1) * pw / (max_n - 1) : pw / 2))
#define YF(v) (T + ph - (v) / max_fps * ph)
#define YR(v) (T + ph - (v) / max_rt * ph)
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    snprintf(title, sizeof(title),
             "encbox bench: default ladder, %dx%d %.4g fps source, preset %s, %s", r->source_width,
             r->source_height, r->source_fps, r->preset, r->date);
    fprintf(f, "<text x=\"%.0f\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">", W / 2);
    svg_text(f, title);
    fprintf(f, "</text>\n<text x=\"%.0f\" y=\"36\" text-anchor=\"middle\">", W / 2);
    svg_text(f, r->host);
    fprintf(f,
            ", %d cores (solid: aggregate source fps, left; dashed: real-time ratio of the "
            "slowest job, right)</text>\n",
            r->cores);
    /* axes and grid */
    fprintf(f,
            "<g stroke=\"#888\" fill=\"none\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/>\n",
            L, T, pw, ph);
    for (int i = 1; i < 5; i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L,
                T + ph * i / 5, L + pw, T + ph * i / 5);
    fprintf(f, "</g>\n");
    for (int i = 0; i <= 5; i++) {
        double y = T + ph - ph * i / 5;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", L - 6, y + 4,
                max_fps * i / 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%.3g</text>\n", L + pw + 6, y + 4, max_rt * i / 5);
    }
    for (int n = 1; n <= max_n; n++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", X(n),
                T + ph + 16, n);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">concurrent jobs</text>\n",
            L + pw / 2, H - 18);
    fprintf(f,
            "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">"
            "aggregate source frames per second</text>\n",
            T + ph / 2);
    fprintf(f,
            "<text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\">"
            "real-time ratio (slowest job)</text>\n",
            W - 16, T + ph / 2);
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
            "stroke-dasharray=\"2 4\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#999\" "
            "text-anchor=\"end\">real time (1.0x)</text>\n",
            L, YR(1.0), L + pw, YR(1.0), L + pw - 4, YR(1.0) - 4);
    for (int b = 0; b < r->nb_backends; b++) {
        const EbBenchBackend *be = &r->backends[b];
        const char *c = colors[b % 4];
        if (!be->nb_steps)
            continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
        for (int s = 0; s < be->nb_steps; s++)
            fprintf(f, "%s%.1f,%.1f", s ? " " : "", X(be->steps[s].concurrency),
                    YF(be->steps[s].aggregate_fps));
        fprintf(f,
                "\"/>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "stroke-dasharray=\"6 4\" points=\"",
                c);
        for (int s = 0; s < be->nb_steps; s++)
            fprintf(f, "%s%.1f,%.1f", s ? " " : "", X(be->steps[s].concurrency),
                    YR(be->steps[s].realtime_ratio));
        fprintf(f, "\"/>\n");
        for (int s = 0; s < be->nb_steps; s++) {
            const EbBenchStep *st = &be->steps[s];
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    X(st->concurrency), YF(st->aggregate_fps), c);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"white\" stroke=\"%s\"/>\n",
                    X(st->concurrency), YR(st->realtime_ratio), c);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">", L + 8, T + 16 + 14.0 * b, c);
        svg_text(f, be->name);
        fprintf(f, "</text>\n");
    }
#undef X
#undef YF
#undef YR
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0)
        return -EIO;
    return 0;
}

/* ---- terminal table ----------------------------------------------------- */

void eb_bench_report_print_sweep(FILE *f, const EbBenchReport *r)
{
    for (int b = 0; b < r->nb_backends; b++) {
        const EbBenchBackend *be = &r->backends[b];
        if (!be->usable) {
            fprintf(f, "backend %s: skipped: %s\n", be->name, be->reason);
            continue;
        }
        fprintf(f, "backend %s\n", be->name);
        fprintf(f, "%4s %8s %8s %8s %7s %6s %8s %6s %6s %9s  %s\n", "jobs", "wall_s", "fps/job",
                "agg_fps", "rt", "cpu%", "rss_MB", "fail", "sess", "Mpix/s", "encode fps per rung");
        for (int s = 0; s < be->nb_steps; s++) {
            const EbBenchStep *st = &be->steps[s];
            fprintf(f, "%4d %8.2f %8.1f %8.1f %6.2fx %6.0f %8.0f %6d %6d %9.1f ", st->concurrency,
                    st->wall_seconds, st->job_fps, st->aggregate_fps, st->realtime_ratio,
                    st->cpu_percent, st->peak_rss_mb, st->failed, st->device_sessions,
                    st->pixels_per_second / 1e6);
            for (int i = 0; i < st->stages.nb_rungs; i++)
                fprintf(f, " %s:%.0f", st->stages.rungs[i].name, st->stages.rungs[i].encode_fps);
            fputc('\n', f);
        }
    }
}
