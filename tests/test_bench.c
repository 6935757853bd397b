/* encbox bench: the pure parts (plan parsing and arithmetic, capacity from
 * a report, JSON round trip, SVG writer) and, with --smoke, one 2 s run of
 * `encbox bench` that must leave a parseable bench.json and bench.svg.
 * No timing is asserted anywhere: benchmarks are not timed tests. */
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
        cmocka_unit_test(test_versus_verdict),
    };
    const struct CMUnitTest smoke[] = {
        cmocka_unit_test(test_smoke),
    };
    if (argc > 1 && !strcmp(argv[1], "--smoke"))
        return cmocka_run_group_tests(smoke, NULL, NULL);
    return cmocka_run_group_tests(unit, NULL, NULL);
}
