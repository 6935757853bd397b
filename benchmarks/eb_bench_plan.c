/*
 * Capacity planning: how many boxes like the measured one a workload needs.
 * Pure arithmetic on a report, kept apart from the runner so it is tested
 * without running a benchmark.
 *
 * Live streams are placed on boxes by the measured count of simultaneous
 * live ladders that all kept real time (`encbox bench --live`) when the
 * report holds it for the requested profile; otherwise by the VOD sweep's
 * count of concurrent ladders that all stayed at or above real time, an
 * estimate that the output calls one. VOD hours by the best measured
 * aggregate rate (media hours per wall hour). Live and VOD get
 * separate boxes: a live box's spare share is not handed to VOD, which
 * over-counts by at most one box and keeps live latency out of the VOD
 * queue's reach.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_bench.h"

static int plan_error(char *err, size_t size, const char *msg, const char *at)
{
    if (err && size)
        snprintf(err, size, "%s%s%s", msg, at ? ": " : "", at ? at : "");
    return -EINVAL;
}

/* "40x1080p30" */
static int parse_live(const char *v, EbBenchPlanRequest *out, char *err, size_t size)
{
    char *end;
    long n = strtol(v, &end, 10);
    long h;
    double fps;

    if (end == v || n < 0 || n > 1000000 || *end != 'x')
        return plan_error(err, size, "live wants COUNTxHEIGHTpFPS, e.g. 40x1080p30", v);
    v = end + 1;
    h = strtol(v, &end, 10);
    if (end == v || h < 16 || h > 8640 || *end != 'p')
        return plan_error(err, size, "live wants COUNTxHEIGHTpFPS, e.g. 40x1080p30", v);
    v = end + 1;
    fps = strtod(v, &end);
    if (end == v || *end || !(fps > 0 && fps <= 240))
        return plan_error(err, size, "live wants COUNTxHEIGHTpFPS, e.g. 40x1080p30", v);
    out->live_streams = (int)n;
    out->live_height = (int)h;
    out->live_fps = fps;
    return 0;
}

/* "500h/day" or "20h/hour" */
static int parse_vod(const char *v, EbBenchPlanRequest *out, char *err, size_t size)
{
    char *end;
    double hours = strtod(v, &end);

    if (end == v || !(hours >= 0 && hours <= 1e7) || *end != 'h')
        return plan_error(err, size, "vod wants HOURSh/day or HOURSh/hour, e.g. 500h/day", v);
    if (!strcmp(end, "h/day"))
        out->vod_hours_per_day = hours;
    else if (!strcmp(end, "h/hour") || !strcmp(end, "h/h"))
        out->vod_hours_per_day = hours * 24.0;
    else
        return plan_error(err, size, "vod wants HOURSh/day or HOURSh/hour, e.g. 500h/day", v);
    return 0;
}

int eb_bench_plan_parse(const char *spec, EbBenchPlanRequest *out, char *err, size_t err_size)
{
    char buf[256];
    char *save = NULL, *item;
    int ret = 0, seen = 0;

    memset(out, 0, sizeof(*out));
    if (!spec || strlen(spec) >= sizeof(buf))
        return plan_error(err, err_size, "plan spec missing or too long", NULL);
    strcpy(buf, spec);
    for (item = strtok_r(buf, ",", &save); item && !ret; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            return plan_error(err, err_size, "expected live=... or vod=...", item);
        *eq = 0;
        if (!strcmp(item, "live"))
            ret = parse_live(eq + 1, out, err, err_size);
        else if (!strcmp(item, "vod"))
            ret = parse_vod(eq + 1, out, err, err_size);
        else
            return plan_error(err, err_size, "unknown workload (live, vod)", item);
        seen++;
    }
    if (!ret && !seen)
        return plan_error(err, err_size, "empty plan; e.g. live=40x1080p30,vod=500h/day", NULL);
    return ret;
}

int eb_bench_capacity(const EbBenchReport *r, EbBenchCapacity *out)
{
    int found = 0;

    memset(out, 0, sizeof(*out));
    if (r->live.ran) {
        out->live_measured = 1;
        out->live_channels = eb_bench_live_capacity(&r->live, 0);
        out->live_height = r->live.height < r->live.width ? r->live.height : r->live.width;
        out->live_fps = r->live.fps;
        out->live_pixel_rate = r->live.pixel_rate;
        snprintf(out->backend, sizeof(out->backend), "%s", r->live.backend);
    }
    for (int b = 0; b < r->nb_backends; b++) {
        const EbBenchBackend *be = &r->backends[b];
        EbBenchCapacity c = {0};
        int ok = 0;
        for (int s = 0; s < be->nb_steps; s++) {
            const EbBenchStep *st = &be->steps[s];
            double hph;
            if (st->failed || st->wall_seconds <= 0)
                continue;
            ok = 1;
            if (st->concurrency == 1)
                c.realtime_ratio_1 = st->realtime_ratio;
            if (st->realtime_ratio >= 1.0 && st->concurrency > c.live_jobs)
                c.live_jobs = st->concurrency;
            hph = r->source_fps > 0 ? st->aggregate_fps / r->source_fps : 0;
            if (hph > c.vod_hours_per_hour)
                c.vod_hours_per_hour = hph;
        }
        if (!ok || (found && c.vod_hours_per_hour <= out->vod_hours_per_hour))
            continue;
        snprintf(out->backend, sizeof(out->backend), "%s", be->name);
        out->live_jobs = c.live_jobs;
        out->realtime_ratio_1 = c.realtime_ratio_1;
        out->vod_hours_per_hour = c.vod_hours_per_hour;
        out->source_height =
            r->source_height < r->source_width ? r->source_height : r->source_width;
        out->source_fps = r->source_fps;
        found = 1;
    }
    return found || out->live_measured ? 0 : -ENOENT;
}

json_t *eb_bench_capacity_json(const char *path, char *err, size_t size)
{
    EbBenchReport *r = calloc(1, sizeof(*r));
    EbBenchCapacity cap;
    json_t *o = NULL, *live = json_null();

    if (!r) {
        snprintf(err, size, "out of memory");
        return NULL;
    }
    if (eb_bench_report_read_json(path, r, err, size) < 0)
        goto done;
    if (eb_bench_capacity(r, &cap) < 0) {
        snprintf(err, size, "%s: the report has no successful measurement", path);
        goto done;
    }
    if (cap.live_measured)
        live = json_pack("{s:i, s:i, s:f, s:f}", "channels", cap.live_channels, "height",
                         cap.live_height, "fps", cap.live_fps, "mpixels_per_second",
                         cap.live_channels * cap.live_pixel_rate / 1e6);
    o = json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:o, s:o}", "report", path, "measured_at",
        r->date, "host", r->host, "cpu", r->cpu_model, "cores", r->cores, "backend", cap.backend,
        /* the VOD sweep's figures; null for a --live report alone */
        "vod_hours_per_hour",
        cap.vod_hours_per_hour > 0 ? json_real(cap.vod_hours_per_hour) : json_null(),
        "ladders_at_real_time",
        cap.vod_hours_per_hour > 0 ? json_integer(cap.live_jobs) : json_null(), "realtime_ratio_1",
        cap.vod_hours_per_hour > 0 ? json_real(cap.realtime_ratio_1) : json_null(), "source",
        cap.source_height > 0
            ? json_pack("{s:i, s:f}", "height", cap.source_height, "fps", cap.source_fps)
            : json_null(),
        "live", live);
    live = NULL;
    if (!o)
        snprintf(err, size, "out of memory");
done:
    json_decref(live);
    free(r);
    return o;
}

int eb_bench_plan_compute(const EbBenchPlanRequest *req, const EbBenchCapacity *cap,
                          double headroom, EbBenchPlan *out)
{
    double keep;

    memset(out, 0, sizeof(*out));
    if (!(headroom >= 0 && headroom <= 0.9))
        return -EINVAL;
    keep = 1.0 - headroom;
    out->live_possible = 1;
    if (req->live_streams > 0) {
        int per_box, channels;
        if (cap->live_measured && req->live_height == cap->live_height &&
            fabs(req->live_fps - cap->live_fps) <= 0.5) {
            out->live_measured = 1;
            channels = cap->live_channels;
        } else if (cap->vod_hours_per_hour > 0 && req->live_height == cap->source_height &&
                   fabs(req->live_fps - cap->source_fps) <= 0.5) {
            channels = cap->live_jobs;
        } else {
            return -EINVAL;
        }
        per_box = (int)floor(channels * keep + 1e-9);
        out->live_per_box = per_box;
        if (per_box < 1)
            out->live_possible = 0;
        else
            out->live_boxes = (req->live_streams + per_box - 1) / per_box;
    }
    out->vod_hours_per_box_day = cap->vod_hours_per_hour * 24.0 * keep;
    if (req->vod_hours_per_day > 0) {
        if (out->vod_hours_per_box_day <= 0)
            return -EINVAL;
        out->vod_boxes = (int)ceil(req->vod_hours_per_day / out->vod_hours_per_box_day - 1e-9);
    }
    out->total_boxes = out->live_possible ? out->live_boxes + out->vod_boxes : -1;
    return 0;
}

void eb_bench_plan_print(FILE *f, const EbBenchPlanRequest *req, const EbBenchCapacity *cap,
                         double headroom, const EbBenchPlan *plan)
{
    fprintf(f, "capacity plan, from the %s backend's measured figures on this box\n", cap->backend);
    if (req->live_streams > 0) {
        int channels = plan->live_measured ? cap->live_channels : cap->live_jobs;
        fprintf(f, "  live %d x %dp%g:\n", req->live_streams, req->live_height, req->live_fps);
        if (plan->live_measured) {
            fprintf(f,
                    "    measured with `encbox bench --live`: at most %d simultaneous live\n"
                    "    %dp%g ladders (SRT in, live HLS/DASH out) all kept real time\n"
                    "    (%.1f Mpixel/s of output each)\n",
                    cap->live_channels, cap->live_height, cap->live_fps,
                    cap->live_pixel_rate / 1e6);
        } else {
            fprintf(f,
                    "    ESTIMATE: live capacity is taken from the VOD pipeline's measured\n"
                    "    real-time ratio on a %dp%g source (measure live with `encbox bench\n"
                    "    --live --live-height %d`).\n",
                    cap->source_height, cap->source_fps, req->live_height);
            fprintf(f,
                    "    measured: one ladder alone runs at %.2fx real time; at most %d "
                    "concurrent\n"
                    "    ladders all stayed >= 1.00x\n",
                    cap->realtime_ratio_1, cap->live_jobs);
        }
        if (!plan->live_possible) {
            fprintf(
                f,
                "    per box = floor(%d x (1 - %.2f headroom)) = 0: a box like this one cannot\n"
                "    carry one live %dp%g ladder in real time, so no number of them will do\n",
                channels, headroom, req->live_height, req->live_fps);
        } else {
            fprintf(f, "    per box = floor(%d x (1 - %.2f headroom)) = %d\n", channels, headroom,
                    plan->live_per_box);
            fprintf(f, "    boxes   = ceil(%d / %d) = %d\n", req->live_streams, plan->live_per_box,
                    plan->live_boxes);
        }
    }
    if (req->vod_hours_per_day > 0) {
        fprintf(f, "  vod %g h/day:\n", req->vod_hours_per_day);
        fprintf(f, "    measured: %.3f h of media transcoded per wall hour (best aggregate step)\n",
                cap->vod_hours_per_hour);
        fprintf(f, "    per box = %.3f x 24 h x (1 - %.2f headroom) = %.1f h/day\n",
                cap->vod_hours_per_hour, headroom, plan->vod_hours_per_box_day);
        fprintf(f, "    boxes   = ceil(%g / %.1f) = %d\n", req->vod_hours_per_day,
                plan->vod_hours_per_box_day, plan->vod_boxes);
    }
    if (plan->total_boxes < 0)
        fprintf(f,
                "  total: not possible with boxes like this one (live does not reach real time)\n");
    else
        fprintf(f, "  total: %d + %d = %d boxes like this one (live and VOD on separate boxes)\n",
                plan->live_boxes, plan->vod_boxes, plan->total_boxes);
}
