/*
 * `encbox bench`: throughput of the default ladder per backend for capacity
 * planning, a head-to-head against the ffmpeg command line doing the same
 * ladder, and the box-count arithmetic (`--plan`).
 *
 * Split in three so the pure parts can be tested without running anything:
 *   eb_bench.c         the command: source, concurrency sweep (one child
 *                      process per job, rusage from wait4), ffmpeg runs,
 *                      PSNR/SSIM, targets
 *   eb_bench_plan.c    plan spec parsing and the box arithmetic
 *   eb_bench_report.c  EbBenchReport <-> JSON (jansson), SVG plot, table,
 *                      and the per-job stats file `encbox transcode
 *                      --stats-json` writes
 * Every figure in a report was measured on the box that wrote it; nothing
 * is extrapolated except where a field says so (live capacity).
 */
#ifndef EB_BENCH_H
#define EB_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "eb_ladder.h"
#include "eb_job_stats.h"
#include "eb_vod.h"

#define EB_BENCH_MAX_STEPS 32
#define EB_BENCH_MAX_BACKENDS 8
#define EB_BENCH_MAX_RUNS 16

/* One job's figures (what `encbox transcode --stats-json` writes; api/). */
typedef EbJobStatsRung EbBenchRung;
typedef EbJobStats EbBenchJobStats;

/* One concurrency step of the sweep. */
typedef struct EbBenchStep {
    int concurrency;
    int failed;               /* jobs that did not exit 0 */
    double wall_seconds;      /* first start to last exit */
    double job_fps;           /* source fps per job, mean */
    double job_fps_min;       /* slowest job */
    double aggregate_fps;     /* all jobs' source frames / wall */
    double realtime_ratio;    /* slowest job: media seconds / its wall */
    double cpu_seconds;       /* children's user + system */
    double cpu_percent;       /* of all cores over the step's wall */
    double peak_rss_mb;       /* sum of the children's peaks */
    int device_sessions;      /* 0 on the CPU path */
    double pixels_per_second; /* every rung's encoded pixels, all jobs */
    EbBenchJobStats stages;   /* mean over the step's jobs */
} EbBenchStep;

typedef struct EbBenchBackend {
    char name[32];
    int usable;
    char reason[256]; /* why not, when !usable */
    int nb_steps;
    EbBenchStep steps[EB_BENCH_MAX_STEPS];
} EbBenchBackend;

typedef struct EbBenchToolRun {
    double wall_seconds, cpu_seconds, peak_rss_mb;
} EbBenchToolRun;

typedef struct EbBenchQuality {
    char name[EB_RUNG_NAME_MAX];
    int width, height;
    double psnr_y, psnr_avg; /* dB; avg is ffmpeg's psnr "average" (Y,U,V weighted) */
    double ssim_y, ssim_all;
    double psnr_avg_left; /* diagnostic: against a reference with left-sited chroma
                           * (H.264's default), swscale in/out_h_chr_pos=0 */
} EbBenchQuality;

/* encbox against the ffmpeg command line, same ladder, alternating runs. */
typedef struct EbBenchVersus {
    int ran;
    char skipped[256]; /* why not, when !ran */
    int runs;
    EbBenchToolRun encbox[EB_BENCH_MAX_RUNS], ffmpeg[EB_BENCH_MAX_RUNS];
    EbBenchToolRun encbox_median, ffmpeg_median;
    EbBenchJobStats encbox_stages; /* from the last encbox run */
    int nb_rungs;
    EbBenchQuality encbox_q[EB_LADDER_MAX_RUNGS], ffmpeg_q[EB_LADDER_MAX_RUNGS];
    char ffmpeg_command[4096];
} EbBenchVersus;

/* The scaling fan-out against ffmpeg's split + scale (eb_bench_scaler.c). */
typedef struct EbBenchScalerRung {
    char name[EB_RUNG_NAME_MAX];
    int width, height;
    double psnr_encbox[3], psnr_ffmpeg[3];   /* Y, U, V in dB against the lanczos reference */
    double psnr_avg_encbox, psnr_avg_ffmpeg; /* planes weighted 4:1:1, as ffmpeg's psnr 'average' */
} EbBenchScalerRung;

typedef struct EbBenchScaler {
    int ran;
    char skipped[256];                     /* why not, when !ran */
    int frames;                            /* source frames both scaled */
    double encbox_cpu_ms, ffmpeg_cpu_ms;   /* per source frame, all scaled rungs: thread CPU */
    double encbox_wall_ms, ffmpeg_wall_ms; /* the same, wall clock */
    char ffmpeg_filters[128];              /* what "ffmpeg's" means here */
    int nb_rungs;                          /* scaled rungs (not the source-size reference) */
    EbBenchScalerRung rungs[EB_LADDER_MAX_RUNGS];
} EbBenchScaler;

typedef struct EbBenchReport {
    char date[32]; /* UTC, ISO 8601 */
    char host[64];
    char cpu_model[128];
    int cores;
    double memory_gb;
    double load_start, load_end; /* 1-minute load average when the run began and ended */
    char command[1024];          /* how this report was made */
    char source[1024];
    int source_generated; /* 1: testsrc2 + sine made by the bench */
    double source_seconds;
    int source_width, source_height;
    double source_fps;
    char preset[16];
    int nb_backends;
    EbBenchBackend backends[EB_BENCH_MAX_BACKENDS];
    EbBenchVersus versus;
    EbBenchScaler scaler;
} EbBenchReport;

/* Capacity of one box, as the plan uses it. */
typedef struct EbBenchCapacity {
    char backend[32];
    int live_jobs;             /* most concurrent ladders that all ran >= 1x */
    double realtime_ratio_1;   /* one ladder alone */
    double vod_hours_per_hour; /* best aggregate: media hours per wall hour */
    int source_height;
    double source_fps;
} EbBenchCapacity;

typedef struct EbBenchPlanRequest {
    int live_streams;         /* 0: none */
    int live_height;          /* 1080 in "40x1080p30" */
    double live_fps;          /* 30 */
    double vod_hours_per_day; /* 0: none */
} EbBenchPlanRequest;

typedef struct EbBenchPlan {
    int live_possible; /* 0: one ladder does not reach real time */
    int live_boxes;
    int vod_boxes;
    int total_boxes; /* -1 when live is impossible on this box */
    double vod_hours_per_box_day;
} EbBenchPlan;

/* The command: encbox bench [options]. Returns a process exit code. */
int eb_bench_cli(int argc, char **argv);

/* Prints the head-to-head (runs, medians, per-rung quality) and its targets:
 * throughput on eb_bench_paired_speedup, peak RSS and PSNR on the medians
 * and the last runs. Adds the number of MISSes to *misses. */
void eb_bench_versus_print(FILE *f, const EbBenchReport *r, int *misses);

/* --- eb_bench_plan.c ------------------------------------------------- */

/* Parses "live=40x1080p30,vod=500h/day" (either part may be left out;
 * vod also takes h/hour). Returns 0 or -EINVAL with a message in err. */
int eb_bench_plan_parse(const char *spec, EbBenchPlanRequest *out, char *err, size_t err_size);

/* Capacity of the best usable backend in a report. Returns 0, or -ENOENT
 * when the report has no successful step. */
int eb_bench_capacity(const EbBenchReport *r, EbBenchCapacity *out);

/* The box counts; headroom is the share of each box kept free (0..0.9).
 * Returns 0 or -EINVAL (request not measured: another live resolution). */
int eb_bench_plan_compute(const EbBenchPlanRequest *req, const EbBenchCapacity *cap,
                          double headroom, EbBenchPlan *out);

/* Prints the answer with its arithmetic. */
void eb_bench_plan_print(FILE *f, const EbBenchPlanRequest *req, const EbBenchCapacity *cap,
                         double headroom, const EbBenchPlan *plan);

/* --- eb_bench_scaler.c ----------------------------------------------- */

/* Runs the software backend's fan-out and ffmpeg's split + scale (bicubic)
 * on the first max_frames video frames of input, on the calling thread, and
 * measures both against a lanczos reference. Fills out (out->skipped says
 * why when it returns an error). 0 or a negative errno. */
int eb_bench_scaler_run(const char *input, int max_frames, EbBenchScaler *out);

/* Prints the comparison and its two targets (cost <= 0.5x ffmpeg's, PSNR
 * >= ffmpeg's per rung); standard: the run meets the targets' conditions.
 * Adds the number of MISSes to *misses. */
void eb_bench_scaler_print(FILE *f, const EbBenchScaler *s, int standard, int *misses);

/* --- eb_bench_report.c ----------------------------------------------- */

/* Writes / reads the report as JSON. Read fills what the file holds and
 * zeroes the rest. 0 or a negative errno (-EINVAL: not a bench report). */
int eb_bench_report_write_json(const EbBenchReport *r, const char *path);
int eb_bench_report_read_json(const char *path, EbBenchReport *r, char *err, size_t err_size);

/* Throughput and real-time ratio against concurrency, one line pair per
 * backend. 0 or a negative errno. */
int eb_bench_report_write_svg(const EbBenchReport *r, const char *path);

/* The median of n values; sorts v in place. 0 when n < 1. */
double eb_bench_median(double *v, int n);

/* The head-to-head's speed-up: the median over the alternating pairs of
 * ffmpeg's wall time over encbox's in the same pair (run i of each). Drift
 * in the machine's speed during a run (another VM on the host, thermal
 * limits) moves both runs of a pair alike and cancels in their ratio, where
 * the ratio of the two medians can pair a fast run of one with a slow run of
 * the other. 0 when n < 1 or a pair has a non-positive time. */
double eb_bench_paired_speedup(const EbBenchToolRun *encbox, const EbBenchToolRun *ffmpeg, int n);

/* The terminal table of the sweep. */
void eb_bench_report_print_sweep(FILE *f, const EbBenchReport *r);

/* Per-job stats: what `encbox transcode --stats-json FILE` writes after a
 * successful job, and what the bench reads back from each child. */

#endif
