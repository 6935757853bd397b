/* encbox bench: the pure parts (plan parsing and arithmetic, capacity from
 * a report, JSON round trip, SVG writer; the live bench's delay
 * percentiles, real-time rule, playlist reading and capacity) and, with
 * --smoke, one 2 s run of `encbox bench` that must leave a parseable
 * bench.json and bench.svg. No timing is asserted anywhere: benchmarks are
 * not timed tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "eb_bench.h"

static const char *tmp_dir(void)
{
    const char *t = getenv("EB_TEST_TMP");
    t = t ? t : "/tmp";
    mkdir(t, 0755);
    return t;
}

static void test_plan_parse(void **state)
{
    EbBenchPlanRequest r;
    char err[256];
    (void)state;

    assert_int_equal(eb_bench_plan_parse("live=40x1080p30,vod=500h/day", &r, err, sizeof(err)), 0);
    assert_int_equal(r.live_streams, 40);
    assert_int_equal(r.live_height, 1080);
    assert_true(r.live_fps == 30.0);
    assert_true(r.vod_hours_per_day == 500.0);
    assert_int_equal(eb_bench_plan_parse("vod=10h/hour", &r, err, sizeof(err)), 0);
    assert_int_equal(r.live_streams, 0);
    assert_true(r.vod_hours_per_day == 240.0);
    assert_int_equal(eb_bench_plan_parse("live=3x720p29.97", &r, err, sizeof(err)), 0);
    assert_int_equal(r.live_height, 720);
    assert_true(r.live_fps > 29.96 && r.live_fps < 29.98);

    assert_int_equal(eb_bench_plan_parse("", &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(eb_bench_plan_parse("live=40", &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(eb_bench_plan_parse("live=40x1080", &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(eb_bench_plan_parse("vod=500h", &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(eb_bench_plan_parse("vod=500h/week", &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(eb_bench_plan_parse("batch=3", &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "batch"));
}

static EbBenchCapacity cap_1080p30(int live_jobs, double hph)
{
    EbBenchCapacity c = {.live_jobs = live_jobs,
                         .realtime_ratio_1 = 1.3,
                         .vod_hours_per_hour = hph,
                         .source_height = 1080,
                         .source_fps = 30};
    snprintf(c.backend, sizeof(c.backend), "software");
    return c;
}

static void test_plan_arithmetic(void **state)
{
    EbBenchPlanRequest req = {
        .live_streams = 40, .live_height = 1080, .live_fps = 30, .vod_hours_per_day = 500};
    EbBenchCapacity cap = cap_1080p30(2, 1.4);
    EbBenchPlan p;
    (void)state;

    /* 40 / 2 = 20 live boxes; 500 / (1.4 x 24 = 33.6) = 14.9 -> 15 */
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), 0);
    assert_true(p.live_possible);
    assert_int_equal(p.live_boxes, 20);
    assert_int_equal(p.vod_boxes, 15);
    assert_int_equal(p.total_boxes, 35);
    assert_true(p.vod_hours_per_box_day > 33.59 && p.vod_hours_per_box_day < 33.61);

    /* half kept free: floor(2 x 0.5) = 1 live per box; 16.8 h/day per box */
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.5, &p), 0);
    assert_int_equal(p.live_boxes, 40);
    assert_int_equal(p.vod_boxes, 30);
    assert_int_equal(p.total_boxes, 70);

    /* exact multiples do not round up */
    req.vod_hours_per_day = 33.6 * 3;
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), 0);
    assert_int_equal(p.vod_boxes, 3);

    /* one ladder below real time: live cannot be planned on this box */
    cap = cap_1080p30(0, 0.7);
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), 0);
    assert_false(p.live_possible);
    assert_int_equal(p.total_boxes, -1);

    /* a profile that was not measured is refused, not guessed */
    req.live_height = 720;
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), -EINVAL);
}

static void fill_report(EbBenchReport *r)
{
    EbBenchBackend *b;
    memset(r, 0, sizeof(*r));
    snprintf(r->date, sizeof(r->date), "2026-11-25T00:00:00Z");
    snprintf(r->host, sizeof(r->host), "host \"with\" <odd> & chars");
    snprintf(r->preset, sizeof(r->preset), "veryfast");
    r->cores = 2;
    r->source_width = 1920;
    r->source_height = 1080;
    r->source_fps = 30;
    r->source_seconds = 20;
    r->nb_backends = 2;
    b = &r->backends[0];
    snprintf(b->name, sizeof(b->name), "nvidia");
    snprintf(b->reason, sizeof(b->reason), "no libcuda.so.1");
    b = &r->backends[1];
    snprintf(b->name, sizeof(b->name), "software");
    b->usable = 1;
    b->nb_steps = 2;
    b->steps[0] = (EbBenchStep){.concurrency = 1,
                                .wall_seconds = 14,
                                .realtime_ratio = 1.42,
                                .aggregate_fps = 42.6,
                                .peak_rss_mb = 480};
    b->steps[0].stages.nb_rungs = 1;
    snprintf(b->steps[0].stages.rungs[0].name, EB_RUNG_NAME_MAX, "1080p");
    b->steps[0].stages.rungs[0].encode_fps = 55.5;
    b->steps[1] = (EbBenchStep){.concurrency = 2,
                                .wall_seconds = 26,
                                .realtime_ratio = 0.77,
                                .aggregate_fps = 46.2,
                                .peak_rss_mb = 960};
    r->versus.ran = 1;
    r->versus.runs = 1;
    r->versus.encbox[0].wall_seconds = 14.1;
    r->versus.ffmpeg[0].wall_seconds = 15.2;
    r->versus.nb_rungs = 1;
    r->versus.encbox_q[0].psnr_avg = 45.25;
    r->versus.ffmpeg_q[0].psnr_avg = 45.5;
    r->scaler.ran = 1;
    r->scaler.frames = 150;
    r->scaler.encbox_cpu_ms = 1.5;
    r->scaler.ffmpeg_cpu_ms = 4.5;
    r->scaler.nb_rungs = 1;
    snprintf(r->scaler.rungs[0].name, EB_RUNG_NAME_MAX, "720p");
    r->scaler.rungs[0].width = 1280;
    r->scaler.rungs[0].psnr_encbox[2] = 66.25;
    r->scaler.rungs[0].psnr_avg_ffmpeg = 54.5;
}

static void test_capacity_from_report(void **state)
{
    EbBenchReport *r = calloc(1, sizeof(*r));
    EbBenchCapacity c;
    (void)state;

    fill_report(r);
    assert_int_equal(eb_bench_capacity(r, &c), 0);
    assert_string_equal(c.backend, "software");
    assert_int_equal(c.live_jobs, 1);
    assert_true(c.realtime_ratio_1 == 1.42);
    assert_true(c.vod_hours_per_hour > 1.539 && c.vod_hours_per_hour < 1.541); /* 46.2 / 30 */
    r->backends[1].steps[0].failed = r->backends[1].steps[1].failed = 1;
    assert_int_equal(eb_bench_capacity(r, &c), -ENOENT);
    free(r);
}

static int file_has(const char *path, const char *needle)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

/* Every element opened is closed (self-closing counts as both). */
static void assert_svg_balanced(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    size_t n;
    int open = 0, elements = 0;
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    assert_non_null(strstr(buf, "<svg "));
    for (char *p = buf; (p = strchr(p, '<')); p++) {
        char *e = strchr(p, '>');
        assert_non_null(e);
        if (p[1] == '?')
            continue;
        if (p[1] == '/')
            open--;
        else if (e[-1] != '/')
            open++, elements++;
        else
            elements++;
        assert_true(open >= 0);
    }
    assert_int_equal(open, 0);
    assert_true(elements > 10);
}

static void test_json_round_trip_and_svg(void **state)
{
    EbBenchReport *r = calloc(1, sizeof(*r)), *back = calloc(1, sizeof(*back));
    char json[1024], svg[1024], err[256];
    (void)state;

    fill_report(r);
    snprintf(json, sizeof(json), "%s/bench-unit.json", tmp_dir());
    snprintf(svg, sizeof(svg), "%s/bench-unit.svg", tmp_dir());
    assert_int_equal(eb_bench_report_write_json(r, json), 0);
    assert_int_equal(eb_bench_report_read_json(json, back, err, sizeof(err)), 0);
    assert_string_equal(back->host, r->host);
    assert_int_equal(back->nb_backends, 2);
    assert_false(back->backends[0].usable);
    assert_string_equal(back->backends[0].reason, "no libcuda.so.1");
    assert_int_equal(back->backends[1].nb_steps, 2);
    assert_true(back->backends[1].steps[1].realtime_ratio == 0.77);
    assert_string_equal(back->backends[1].steps[0].stages.rungs[0].name, "1080p");
    assert_true(back->backends[1].steps[0].stages.rungs[0].encode_fps == 55.5);
    assert_int_equal(back->versus.runs, 1);
    assert_true(back->versus.ffmpeg[0].wall_seconds == 15.2);
    assert_true(back->versus.encbox_q[0].psnr_avg == 45.25);
    assert_true(file_has(json, "\"realtime_ladders\": 1"));
    assert_true(file_has(json, "\"throughput_paired\": 1.078")); /* 15.2 / 14.1 */
    assert_true(back->scaler.ran);
    assert_int_equal(back->scaler.frames, 150);
    assert_true(back->scaler.ffmpeg_cpu_ms == 4.5);
    assert_int_equal(back->scaler.nb_rungs, 1);
    assert_string_equal(back->scaler.rungs[0].name, "720p");
    assert_int_equal(back->scaler.rungs[0].width, 1280);
    assert_true(back->scaler.rungs[0].psnr_encbox[2] == 66.25);
    assert_true(back->scaler.rungs[0].psnr_avg_ffmpeg == 54.5);

    /* not a report */
    assert_int_equal(eb_bench_report_write_svg(r, svg), 0);
    assert_int_equal(eb_bench_report_read_json(svg, back, err, sizeof(err)), -EINVAL);

    assert_svg_balanced(svg);
    assert_true(file_has(svg, "&lt;odd&gt; &amp; chars"));
    assert_true(file_has(svg, "<polyline"));
    free(r);
    free(back);
}

/* The scaler comparison's verdicts: cost above half of ffmpeg's, or a rung
 * whose PSNR is below ffmpeg's, is a MISS each. */
static int scaler_misses(const EbBenchScaler *s, char *text, size_t size)
{
    int misses = 0;
    FILE *f = fmemopen(text, size, "w");
    assert_non_null(f);
    eb_bench_scaler_print(f, s, 1, &misses);
    fclose(f);
    return misses;
}

static void test_scaler_targets(void **state)
{
    EbBenchScaler s = {
        .ran = 1, .frames = 10, .encbox_cpu_ms = 2.0, .ffmpeg_cpu_ms = 4.0, .nb_rungs = 2};
    char text[4096];
    (void)state;

    s.rungs[0].psnr_avg_encbox = 60, s.rungs[0].psnr_avg_ffmpeg = 55;
    s.rungs[1].psnr_avg_encbox = 55, s.rungs[1].psnr_avg_ffmpeg = 55;
    assert_int_equal(scaler_misses(&s, text, sizeof(text)), 0);
    assert_non_null(strstr(text, "PASS fan-out costs <= 0.5x"));
    s.encbox_cpu_ms = 2.1;
    assert_int_equal(scaler_misses(&s, text, sizeof(text)), 1);
    assert_non_null(strstr(text, "MISS fan-out costs <= 0.5x"));
    s.rungs[1].psnr_avg_encbox = 54.9;
    assert_int_equal(scaler_misses(&s, text, sizeof(text)), 2);
    /* not run: no verdict, the reason instead */
    s.ran = 0;
    snprintf(s.skipped, sizeof(s.skipped), "--scaler-frames 0");
    assert_int_equal(scaler_misses(&s, text, sizeof(text)), 0);
    assert_non_null(strstr(text, "not run (--scaler-frames 0)"));
}

/* The head-to-head's verdict statistic: the median of the pairs' ratios. */
static void test_paired_speedup(void **state)
{
    /* Walls of a measured run (2026-12-04, run 1): the second encbox run was
     * hit by something else on the VM, so the two medians come from
     * different pairs (16.25 / 14.19 = 1.145) while the pairs say 1.169. */
    const EbBenchToolRun enc[5] = {
        {14.19, 0, 0}, {17.09, 0, 0}, {12.86, 0, 0}, {13.35, 0, 0}, {14.50, 0, 0}};
    const EbBenchToolRun ff[5] = {
        {19.06, 0, 0}, {16.25, 0, 0}, {15.13, 0, 0}, {15.60, 0, 0}, {16.56, 0, 0}};
    EbBenchToolRun bad[2] = {{10, 0, 0}, {0, 0, 0}};
    double v[4] = {4, 1, 3, 2};
    (void)state;

    assert_float_equal(eb_bench_paired_speedup(enc, ff, 5), 15.60 / 13.35, 1e-12);
    /* even count: the mean of the middle two of 1.343, 0.951, 1.177, 1.169 */
    assert_float_equal(eb_bench_paired_speedup(enc, ff, 4), (15.13 / 12.86 + 15.60 / 13.35) / 2,
                       1e-12);
    assert_float_equal(eb_bench_paired_speedup(&enc[1], &ff[1], 1), 16.25 / 17.09, 1e-12);
    /* nothing to compare, or a run without a time: no figure */
    assert_float_equal(eb_bench_paired_speedup(enc, ff, 0), 0, 0);
    assert_float_equal(eb_bench_paired_speedup(bad, ff, 2), 0, 0);
    assert_float_equal(eb_bench_paired_speedup(enc, ff, EB_BENCH_MAX_RUNS + 1), 0, 0);
    assert_float_equal(eb_bench_median(v, 4), 2.5, 0);
    assert_float_equal(eb_bench_median(v, 3), 2, 0); /* v is sorted now: 1 2 3 */
    assert_float_equal(eb_bench_median(v, 0), 0, 0);
}

static int versus_misses(const EbBenchReport *r, char *text, size_t size)
{
    int misses = 0;
    FILE *f = fmemopen(text, size, "w");
    assert_non_null(f);
    eb_bench_versus_print(f, r, &misses);
    fclose(f);
    return misses;
}

/* The head-to-head's throughput verdict is on the pairs, not on the ratio
 * of the medians: run 1's walls (above) pass at 1.169x where the medians
 * alone would say 1.145x. */
static void test_versus_verdict(void **state)
{
    static const double enc[5] = {14.19, 17.09, 12.86, 13.35, 14.50};
    static const double ff[5] = {19.06, 16.25, 15.13, 15.60, 16.56};
    EbBenchReport *r = calloc(1, sizeof(*r));
    char text[8192];
    (void)state;

    fill_report(r);
    r->versus.runs = 5;
    for (int i = 0; i < 5; i++) {
        r->versus.encbox[i] = (EbBenchToolRun){enc[i], 2 * enc[i], 380};
        r->versus.ffmpeg[i] = (EbBenchToolRun){ff[i], 2 * ff[i], 540};
    }
    r->versus.encbox_median = (EbBenchToolRun){14.19, 28.38, 380};
    r->versus.ffmpeg_median = (EbBenchToolRun){16.25, 32.5, 540};
    r->versus.encbox_q[0].psnr_avg = 45.5;
    assert_int_equal(versus_misses(r, text, sizeof(text)), 0);
    assert_non_null(strstr(text, "PASS throughput >= 1.15x the ffmpeg command line: 1.1685x"));
    assert_non_null(strstr(text, "ratio of the two medians above: 1.145x"));
    assert_non_null(strstr(text, "1.343x")); /* pair 1's own speed-up */

    /* pairs 3-5 slower on encbox's side: the pairs' median drops below 1.15 */
    r->versus.encbox[2].wall_seconds = r->versus.encbox[3].wall_seconds = 14.0;
    r->versus.encbox[4].wall_seconds = 14.6;
    assert_int_equal(versus_misses(r, text, sizeof(text)), 1);
    assert_non_null(strstr(text, "MISS throughput"));
    free(r);
}

/* ---- live (eb_bench_live.c) ---- */

static void test_live_percentile(void **state)
{
    double v[5] = {5, 1, 4, 2, 3}, w[4] = {10, 40, 20, 30}, one[1] = {7};
    (void)state;

    assert_float_equal(eb_bench_percentile(v, 5, 50), 3, 1e-12);
    assert_float_equal(eb_bench_percentile(v, 5, 0), 1, 1e-12);
    assert_float_equal(eb_bench_percentile(v, 5, 100), 5, 1e-12);
    assert_float_equal(eb_bench_percentile(v, 5, 95), 4.8, 1e-12); /* rank 3.8 */
    /* linear between the closest ranks: the median of an even count as
     * eb_bench_median has it */
    assert_float_equal(eb_bench_percentile(w, 4, 50), 25, 1e-12);
    assert_float_equal(eb_bench_percentile(w, 4, 95), 38.5, 1e-12); /* rank 2.85 */
    assert_float_equal(eb_bench_percentile(one, 1, 95), 7, 0);
    assert_float_equal(eb_bench_percentile(v, 0, 50), 0, 0);
}

static void test_live_delays(void **state)
{
    /* 2 fps: segment [0, 2) listed 3.0 s after the publisher started holds
     * frames 0, 0.5, 1, 1.5 (waits 3, 2.5, 2, 1.5); [2, 4) listed at 5.5
     * holds 2 .. 3.5 (waits 3.5, 3, 2.5, 2). Sorted: 1.5 2 2 2.5 2.5 3 3 3.5 */
    const EbBenchLiveSegment segs[2] = {{3.0, 0, 2}, {5.5, 2, 4}};
    /* encbox's 29.97 fps segments: EXTINF 2.002000 is 60 frames, not 61 */
    const EbBenchLiveSegment ntsc[2] = {{2.5, 0, 2.002}, {4.5, 2.002, 3.903900}};
    /* ffmpeg's: 2.000000 at 30 fps, 60 frames each */
    const EbBenchLiveSegment ff[3] = {{2.8, 0, 2}, {4.8, 2, 4}, {6.9, 4, 6}};
    double med, p95;
    (void)state;

    assert_int_equal(eb_bench_live_delays(segs, 2, 2.0, &med, &p95), 8);
    assert_float_equal(med, 2.5, 1e-12);
    assert_float_equal(p95, 3.325, 1e-12); /* rank 6.65: 3 + 0.65 x 0.5 */
    assert_int_equal(eb_bench_live_delays(ntsc, 2, 30000.0 / 1001, &med, &p95), 60 + 57);
    assert_int_equal(eb_bench_live_delays(ff, 3, 30, &med, &p95), 180);
    /* every segment waits 0.8 s past its end (the third 0.9 s): the frames'
     * waits run from 0.8 + 1/30 to 2.8, and half of them are under 1.8 */
    assert_true(med > 1.78 && med < 1.86);
    assert_true(p95 > 2.6 && p95 <= 2.9);
    /* nothing listed: no figure; a bad rate is refused */
    assert_int_equal(eb_bench_live_delays(segs, 0, 30, &med, &p95), 0);
    assert_float_equal(med, 0, 0);
    assert_int_equal(eb_bench_live_delays(segs, 2, 0, &med, &p95), -EINVAL);
}

static EbBenchLiveChannel live_channel(int is_ffmpeg)
{
    EbBenchLiveChannel c = {.is_ffmpeg = is_ffmpeg,
                            .exit_status = 0,
                            .frames_sent = 600,
                            .frames = 597,
                            .max_lag = 0.08,
                            .fps = 30.3,
                            .speed = 1.01};
    return c;
}

static void test_live_sustained(void **state)
{
    EbBenchLiveChannel c = live_channel(0);
    char why[256];
    (void)state;

    assert_true(eb_bench_live_sustained(&c, why, sizeof(why)));
    assert_string_equal(why, "");
    /* encbox: drops under 0.5% of the frames sent, lag under 1 s */
    c.dropped = 2;
    assert_true(eb_bench_live_sustained(&c, why, sizeof(why)));
    c.dropped = 3;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    assert_non_null(strstr(why, "dropped 3 frames"));
    c.dropped = 0;
    c.max_lag = 1.0;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    assert_non_null(strstr(why, "lag"));
    c.max_lag = 0.99;
    /* encbox's speed is reported, not judged */
    c.speed = 0.5;
    assert_true(eb_bench_live_sustained(&c, NULL, 0));
    /* both: the top rung carries the frames sent, to 1% */
    c.frames = 594;
    assert_true(eb_bench_live_sustained(&c, why, sizeof(why)));
    c.frames = 593;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    assert_non_null(strstr(why, "593 frames out of 600"));
    c.frames = 607;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    c.frames = 600;
    c.exit_status = 1;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    assert_non_null(strstr(why, "exited"));

    /* ffmpeg: steady speed >= 0.98, whatever it printed itself (cumulative
     * from its start); its lag estimate and (absent) drops are not judged */
    c = live_channel(1);
    c.speed = 0.98;
    c.min_reported_speed = 0.819;
    c.max_lag = 3;
    assert_true(eb_bench_live_sustained(&c, why, sizeof(why)));
    c.speed = 0.979;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    assert_non_null(strstr(why, "speed 0.979x"));
    c.speed = 1.2;
    c.frames = 500;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
    /* nothing sent: nothing to judge on, not a pass */
    c = live_channel(1);
    c.frames_sent = c.frames = 0;
    assert_false(eb_bench_live_sustained(&c, why, sizeof(why)));
}

static void test_live_playlist(void **state)
{
    /* what encbox live writes */
    static const char encbox[] = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n"
                                 "#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                                 "#EXT-X-MAP:URI=\"../../cmaf/720p/init.mp4\"\n"
                                 "#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:54:03.865Z\n"
                                 "#EXTINF:2.002000,\n../../cmaf/720p/segment_004.m4s\n"
                                 "#EXTINF:1.901900,\r\n../../cmaf/720p/segment_005.m4s\r\n"
                                 "#EXT-X-ENDLIST\n";
    /* what ffmpeg's hls muxer writes (date-time between EXTINF and URI) */
    static const char ffmpeg[] = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n"
                                 "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init_0.mp4\"\n"
                                 "#EXTINF:2.000000,\n"
                                 "#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:52:19.561+0000\n"
                                 "segment_000.m4s\n#EXTINF:2.000000,\n"
                                 "#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:52:21.561+0000\n"
                                 "segment_001.m4s\n#EXTINF:1.5,\n"
                                 "#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:52:23.561+0000\n"
                                 "segment_002.m4s";
    double d[8];
    int64_t first;
    (void)state;

    assert_int_equal(eb_bench_live_parse_playlist(encbox, &first, d, 8), 2);
    assert_int_equal(first, 4);
    assert_float_equal(d[0], 2.002, 1e-12);
    assert_float_equal(d[1], 1.9019, 1e-12);
    assert_int_equal(eb_bench_live_parse_playlist(ffmpeg, &first, d, 8), 3);
    assert_int_equal(first, 0);
    assert_float_equal(d[2], 1.5, 1e-12);
    /* at most max are returned */
    assert_int_equal(eb_bench_live_parse_playlist(ffmpeg, &first, d, 2), 2);
    /* a playlist caught half-written, a master, anything else */
    assert_int_equal(eb_bench_live_parse_playlist("", &first, d, 8), -EINVAL);
    assert_int_equal(eb_bench_live_parse_playlist(
                         "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nx.m3u8\n", &first, d, 8),
                     -EINVAL);
    assert_int_equal(
        eb_bench_live_parse_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n", &first, d, 8), 0);
}

static void fill_live(EbBenchLive *l)
{
    static const int sustained_e[3] = {1, 1, 0}, sustained_f[2] = {1, 0};
    memset(l, 0, sizeof(*l));
    l->ran = 1;
    snprintf(l->backend, sizeof(l->backend), "software");
    l->width = 1280;
    l->height = 720;
    l->fps = 30;
    l->seconds = 20;
    l->segment_seconds = 2;
    l->nb_rungs = 3;
    snprintf(l->rung_names[0], EB_RUNG_NAME_MAX, "720p");
    l->rung_width[0] = 1280;
    l->rung_height[0] = 720;
    l->pixel_rate = 46857600; /* (1280x720 + 854x480 + 640x360) x 30 */
    l->nb_encbox = 3;
    l->nb_ffmpeg = 2;
    for (int i = 0; i < 3; i++)
        l->encbox[i] = (EbBenchLiveStep){.channels = i + 1,
                                         .sustained = sustained_e[i],
                                         .aggregate_fps = 30.0 * (i + 1),
                                         .delay_median = 1.75,
                                         .delay_p95 = 2.5,
                                         .frames_sent = 600 * (i + 1),
                                         .peak_rss_mb = 210.5 * (i + 1)};
    for (int i = 0; i < 2; i++)
        l->ffmpeg[i] = (EbBenchLiveStep){.channels = i + 1, .sustained = sustained_f[i]};
    snprintf(l->encbox[2].why, sizeof(l->encbox[2].why), "channel 2: dropped 40 frames (6.7%%)");
    snprintf(l->not_measured[0].name, sizeof(l->not_measured[0].name), "nvidia");
    snprintf(l->not_measured[0].reason, sizeof(l->not_measured[0].reason), "unusable: no driver");
    l->nb_not_measured = 1;
}

static void test_live_capacity_and_plan(void **state)
{
    EbBenchReport *r = calloc(1, sizeof(*r));
    EbBenchPlanRequest req = {.live_streams = 10, .live_height = 720, .live_fps = 30};
    EbBenchCapacity cap;
    EbBenchPlan p;
    char text[4096];
    FILE *f;
    (void)state;

    fill_live(&r->live);
    assert_int_equal(eb_bench_live_capacity(&r->live, 0), 2);
    assert_int_equal(eb_bench_live_capacity(&r->live, 1), 1);
    /* counting stops at the first step out of real time */
    r->live.encbox[0].sustained = 0;
    assert_int_equal(eb_bench_live_capacity(&r->live, 0), 0);
    r->live.encbox[0].sustained = 1;

    /* a --live report alone: live measured, no VOD figures */
    assert_int_equal(eb_bench_capacity(r, &cap), 0);
    assert_true(cap.live_measured);
    assert_int_equal(cap.live_channels, 2);
    assert_int_equal(cap.live_height, 720);
    assert_true(cap.vod_hours_per_hour == 0);
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), 0);
    assert_true(p.live_measured);
    assert_int_equal(p.live_per_box, 2);
    assert_int_equal(p.live_boxes, 5);
    f = fmemopen(text, sizeof(text), "w");
    assert_non_null(f);
    eb_bench_plan_print(f, &req, &cap, 0.0, &p);
    fclose(f);
    assert_non_null(strstr(text, "measured with `encbox bench --live`"));
    assert_null(strstr(text, "ESTIMATE"));
    /* VOD wanted but not measured; another live profile: refused */
    req.vod_hours_per_day = 10;
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), -EINVAL);
    req.vod_hours_per_day = 0;
    req.live_height = 1080;
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), -EINVAL);

    /* with the VOD sweep too (1080p30): 1080p live is the VOD estimate and
     * says so, 720p live the measurement */
    fill_report(r);
    fill_live(&r->live);
    assert_int_equal(eb_bench_capacity(r, &cap), 0);
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.0, &p), 0);
    assert_false(p.live_measured);
    assert_int_equal(p.live_boxes, 10); /* 1 per box from the VOD sweep */
    f = fmemopen(text, sizeof(text), "w");
    assert_non_null(f);
    eb_bench_plan_print(f, &req, &cap, 0.0, &p);
    fclose(f);
    assert_non_null(strstr(text, "ESTIMATE"));
    assert_non_null(strstr(text, "--live --live-height 1080"));
    req.live_height = 720;
    assert_int_equal(eb_bench_plan_compute(&req, &cap, 0.5, &p), 0);
    assert_true(p.live_measured);
    assert_int_equal(p.live_per_box, 1); /* floor(2 x 0.5) */
    assert_int_equal(p.live_boxes, 10);
    free(r);
}

static void test_live_json_and_table(void **state)
{
    EbBenchReport *r = calloc(1, sizeof(*r)), *back = calloc(1, sizeof(*back));
    char json[1024], err[256], text[8192];
    FILE *f;
    (void)state;

    fill_live(&r->live);
    snprintf(r->date, sizeof(r->date), "2026-12-05T00:00:00Z");
    snprintf(json, sizeof(json), "%s/bench-live-unit.json", tmp_dir());
    assert_int_equal(eb_bench_report_write_json(r, json), 0);
    assert_true(file_has(json, "\"live\""));
    assert_true(file_has(json, "\"encbox_channels\": 2"));
    assert_false(file_has(json, "\"summary\"")); /* no VOD sweep in it */
    assert_int_equal(eb_bench_report_read_json(json, back, err, sizeof(err)), 0);
    assert_true(back->live.ran);
    assert_string_equal(back->live.backend, "software");
    assert_int_equal(back->live.height, 720);
    assert_int_equal(back->live.nb_rungs, 3);
    assert_string_equal(back->live.rung_names[0], "720p");
    assert_int_equal(back->live.rung_width[0], 1280);
    assert_true(back->live.pixel_rate == 46857600);
    assert_int_equal(back->live.nb_encbox, 3);
    assert_int_equal(back->live.nb_ffmpeg, 2);
    assert_true(back->live.encbox[1].sustained);
    assert_false(back->live.encbox[2].sustained);
    assert_string_equal(back->live.encbox[2].why, "channel 2: dropped 40 frames (6.7%)");
    assert_true(back->live.encbox[1].delay_p95 == 2.5);
    assert_true(back->live.encbox[1].peak_rss_mb == 421);
    assert_int_equal(back->live.encbox[2].frames_sent, 1800);
    assert_int_equal(back->live.nb_not_measured, 1);
    assert_string_equal(back->live.not_measured[0].reason, "unusable: no driver");
    assert_int_equal(eb_bench_live_capacity(&back->live, 0), 2);

    f = fmemopen(text, sizeof(text), "w");
    assert_non_null(f);
    eb_bench_live_print(f, &back->live, 2);
    fclose(f);
    assert_non_null(strstr(text, "2 simultaneous live 720p30 ladders in real time with encbox, 1 "
                                 "with the ffmpeg command line"));
    assert_non_null(strstr(text, "2 x 46.9 = 93.7 Mpixel/s of output (46.9 per core)"));
    assert_non_null(strstr(text, "encbox at 3: channel 2: dropped 40 frames"));

    /* a run that did not happen says why, and reads back as not run */
    memset(&r->live, 0, sizeof(r->live));
    snprintf(r->live.skipped, sizeof(r->live.skipped), "interrupted");
    assert_int_equal(eb_bench_report_write_json(r, json), 0);
    assert_int_equal(eb_bench_report_read_json(json, back, err, sizeof(err)), 0);
    assert_false(back->live.ran);
    assert_string_equal(back->live.skipped, "interrupted");
    assert_int_equal(eb_bench_capacity(back, &(EbBenchCapacity){0}), -ENOENT);
    free(r);
    free(back);
}

/* One real 2 s run of `encbox bench`: outputs exist and parse. */
static void test_smoke(void **state)
{
    const char *bin = getenv("EB_BINARY");
    char out[1024], json[1100], svg[1100], err[256];
    EbBenchReport *r = calloc(1, sizeof(*r));
    const EbBenchBackend *sw = NULL;
    pid_t pid;
    int status;
    (void)state;

    assert_non_null(bin);
    snprintf(out, sizeof(out), "%s/bench-smoke", tmp_dir());
    snprintf(json, sizeof(json), "%s/bench.json", out);
    snprintf(svg, sizeof(svg), "%s/bench.svg", out);
    unlink(json);
    unlink(svg);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(bin, bin, "bench", "-o", out, "--seconds", "2", "--max-concurrency", "1",
              "--no-ffmpeg", "--scaler-frames", "1000", "--plan", "live=4x1080p30,vod=100h/day",
              (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_int_equal(eb_bench_report_read_json(json, r, err, sizeof(err)), 0);
    assert_true(r->nb_backends >= 1);
    /* every backend in the build is listed: measured, or skipped with its reason */
    for (int i = 0; i < r->nb_backends; i++) {
        const EbBenchBackend *b = &r->backends[i];
        if (!strcmp(b->name, "software"))
            sw = b;
        else if (!b->usable)
            assert_true(b->reason[0] != 0 && b->nb_steps == 0);
    }
    assert_non_null(sw);
    assert_int_equal(sw->nb_steps, 1);
    assert_int_equal(sw->steps[0].concurrency, 1);
    assert_int_equal(sw->steps[0].failed, 0);
    assert_int_equal(sw->steps[0].stages.frames, 60);
    assert_int_equal(sw->steps[0].stages.nb_rungs, 4);
    assert_true(sw->steps[0].peak_rss_mb > 0);
    assert_int_equal(r->source_width, 1920);
    assert_false(r->versus.ran);
    /* the scaler comparison read the whole 2 s source (60 frames < 1000)
     * and measured the three scaled rungs of both scalers */
    assert_true(r->scaler.ran);
    assert_int_equal(r->scaler.frames, 60);
    assert_int_equal(r->scaler.nb_rungs, 3);
    assert_true(r->scaler.encbox_cpu_ms > 0 && r->scaler.ffmpeg_cpu_ms > 0);
    for (int i = 0; i < r->scaler.nb_rungs; i++) {
        assert_true(r->scaler.rungs[i].psnr_avg_encbox > 30);
        assert_true(r->scaler.rungs[i].psnr_avg_ffmpeg > 30);
    }
    assert_string_equal(r->scaler.rungs[0].name, "720p");
    assert_svg_balanced(svg);
    free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_plan_parse),           cmocka_unit_test(test_plan_arithmetic),
        cmocka_unit_test(test_capacity_from_report), cmocka_unit_test(test_json_round_trip_and_svg),
        cmocka_unit_test(test_scaler_targets),       cmocka_unit_test(test_paired_speedup),
        cmocka_unit_test(test_versus_verdict),       cmocka_unit_test(test_live_percentile),
        cmocka_unit_test(test_live_delays),          cmocka_unit_test(test_live_sustained),
        cmocka_unit_test(test_live_playlist),        cmocka_unit_test(test_live_capacity_and_plan),
        cmocka_unit_test(test_live_json_and_table),
    };
    const struct CMUnitTest smoke[] = {
        cmocka_unit_test(test_smoke),
    };
    if (argc > 1 && !strcmp(argv[1], "--smoke"))
        return cmocka_run_group_tests(smoke, NULL, NULL);
    return cmocka_run_group_tests(unit, NULL, NULL);
}
