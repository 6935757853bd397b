/*
 * `encbox bench`: throughput of the default ladder per backend for capacity
 * planning, a head-to-head against the ffmpeg command line doing the same
 * ladder, and the box-count arithmetic (`--plan`).
 *
 * Split so the pure parts can be tested without running anything:
 *   eb_bench.c         the command: source, concurrency sweep (one child
 *                      process per job, rusage from wait4), ffmpeg runs,
 *                      PSNR/SSIM, targets
 *   eb_bench_live.c    `--live`: simultaneous live ladders fed over SRT,
 *                      encbox live against the ffmpeg command line, and the
 *                      delay from a frame's arrival to its segment's listing
 *   eb_bench_plan.c    plan spec parsing and the box arithmetic
 *   eb_bench_report.c  EbBenchReport <-> JSON (jansson), SVG plot, table,
 *                      and the per-job stats file `encbox transcode
 *                      --stats-json` writes
 * Every figure in a report was measured on the box that wrote it; nothing
 * is extrapolated except where a field says so (live capacity estimated
 * from the VOD sweep when the report holds no --live measurement).
 */
#ifndef EB_BENCH_H
#define EB_BENCH_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "eb_ladder.h"
#include "eb_job_stats.h"
#include "eb_vod.h"

#define EB_BENCH_MAX_STEPS 32
#define EB_BENCH_MAX_BACKENDS 8
#define EB_BENCH_MAX_RUNS 16
#define EB_BENCH_LIVE_MAX_CHANNELS 16

/* What the runner needs to know about a source (eb_bench_probe_source). */
typedef struct EbBenchSource {
    int width, height, has_audio;
    AVRational sar;
    double fps, seconds;
} EbBenchSource;

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

/* --- live (eb_bench_live.c) --- */

/* One segment of a channel's top-rung media playlist, as the bench saw it
 * appear. */
typedef struct EbBenchLiveSegment {
    double listed;     /* seconds after the channel's publisher started sending */
    double start, end; /* media seconds from the feed's first frame: [start, end) */
} EbBenchLiveSegment;

/* One channel of a step, on one side (encbox live, or the ffmpeg command
 * line), at the end of its run. */
typedef struct EbBenchLiveChannel {
    int is_ffmpeg;
    int exit_status;           /* the packager's; 128 + signal; -1: did not run */
    int64_t frames_sent;       /* video frames the publisher sent */
    int64_t frames;            /* frames through the top rung, as the packager last reported */
    int64_t dropped;           /* encbox: frames the live input dropped to keep up; ffmpeg: 0 */
    double max_lag;            /* encbox: highest lag_seconds it reported; ffmpeg: the bench's
                                * estimate from -progress (wall minus out_time, from its lowest) */
    double fps;                /* top-rung frames per second from the first segment's worth of
                                * frames to the feed's end (the start-up left out) */
    double speed;              /* fps over the source's rate: the pace it kept */
    double min_reported_speed; /* lowest `speed` the packager itself reported after the first
                                * segment: cumulative from its own start, so its start-up
                                * latency weighs on it for the whole run (not judged) */
    double cpu_seconds, peak_rss_mb;             /* the packager process */
    double relay_cpu_seconds, relay_peak_rss_mb; /* encbox side: its SRT relay (ffmpeg -c copy) */
    int segments;                                /* top-rung segments seen listed */
} EbBenchLiveChannel;

/* One step: k channels at once on one side. */
typedef struct EbBenchLiveStep {
    int channels;
    int sustained;             /* every channel kept real time (eb_bench_live_sustained) */
    char why[256];             /* the first channel that did not, and why */
    double wall_seconds;       /* first publisher's start to the last packager's exit */
    double aggregate_fps;      /* sum of the channels' fps */
    double min_speed;          /* lowest steady speed over the channels */
    double min_reported_speed; /* lowest the packagers reported */
    int64_t dropped;           /* sum */
    int64_t frames;            /* sum, top rung */
    int64_t frames_sent;       /* sum */
    double max_lag;            /* highest over the channels */
    double cpu_seconds;        /* packagers, user + system */
    double cpu_percent;        /* of all cores over the step's wall */
    double peak_rss_mb;        /* sum of the packagers' peaks */
    double relay_cpu_seconds;
    double delay_median, delay_p95; /* seconds, over every frame of every channel */
    int64_t delay_frames;
} EbBenchLiveStep;

typedef struct EbBenchLiveBackend {
    char name[32];
    char reason[256]; /* why it was not measured */
} EbBenchLiveBackend;

typedef struct EbBenchLive {
    int ran;
    char skipped[256]; /* why not, when !ran */
    char backend[32];  /* the backend measured (encbox live runs "software") */
    int nb_not_measured;
    EbBenchLiveBackend not_measured[EB_BENCH_MAX_BACKENDS];
    int width, height; /* the source */
    double fps;
    double seconds;         /* per step (the source's length) */
    double segment_seconds; /* 2 */
    char preset[16];
    int nb_rungs;
    char rung_names[EB_LADDER_MAX_RUNGS][EB_RUNG_NAME_MAX];
    int rung_width[EB_LADDER_MAX_RUNGS], rung_height[EB_LADDER_MAX_RUNGS];
    double pixel_rate; /* pixels per second one channel encodes: sum of w x h x fps */
    int nb_encbox, nb_ffmpeg;
    EbBenchLiveStep encbox[EB_BENCH_LIVE_MAX_CHANNELS], ffmpeg[EB_BENCH_LIVE_MAX_CHANNELS];
    char ffmpeg_version[128];  /* `ffmpeg -version`'s first line */
    char encbox_command[1024]; /* one channel's, with its relay */
    char ffmpeg_command[4096]; /* one channel's */
} EbBenchLive;

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
    EbBenchLive live;
} EbBenchReport;

/* Capacity of one box, as the plan uses it. */
typedef struct EbBenchCapacity {
    char backend[32];
    int live_jobs;             /* most concurrent ladders that all ran >= 1x */
    double realtime_ratio_1;   /* one ladder alone */
    double vod_hours_per_hour; /* best aggregate: media hours per wall hour */
    int source_height;
    double source_fps;
    /* From `encbox bench --live`, when the report holds it: */
    int live_measured; /* 1: the fields below are measured */
    int live_channels; /* most simultaneous live ladders that all kept real time */
    int live_height;   /* of the live source */
    double live_fps;
    double live_pixel_rate; /* one channel's pixels per second (all rungs) */
} EbBenchCapacity;

typedef struct EbBenchPlanRequest {
    int live_streams;         /* 0: none */
    int live_height;          /* 1080 in "40x1080p30" */
    double live_fps;          /* 30 */
    double vod_hours_per_day; /* 0: none */
} EbBenchPlanRequest;

typedef struct EbBenchPlan {
    int live_possible; /* 0: one ladder does not reach real time */
    int live_measured; /* 1: from --live; 0: estimated from the VOD sweep */
    int live_per_box;
    int live_boxes;
    int vod_boxes;
    int total_boxes; /* -1 when live is impossible on this box */
    double vod_hours_per_box_day;
} EbBenchPlan;

/* The command: encbox bench [options]. Returns a process exit code. */
int eb_bench_cli(int argc, char **argv);

/* Helpers the runner files share (eb_bench.c). */
/* snprintf whose truncation is accepted: paths and messages that do not
 * fit are cut, never overflowed (keeps -Wformat-truncation quiet where the
 * bound is a choice, not an accident). Returns the length written, so that
 * "len += eb_bench_bprintf(buf + len, size - len, ...)" stays in bounds. */
int eb_bench_bprintf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int eb_bench_mkdirs(const char *path);     /* mkdir -p; 0 or a negative errno */
void eb_bench_rmtree(const char *path);    /* rm -rf; a missing path is fine */
void eb_bench_log_tail(const char *log);   /* its last lines, to stderr */
double eb_bench_loadavg(void);             /* 1-minute load average; -1 unknown */
void eb_bench_fill_host(EbBenchReport *r); /* date, host, CPU, cores, memory, load_start */
/* Opens path with libavformat: size, rate, length, audio. 0 or an AVERROR. */
int eb_bench_probe_source(const char *path, EbBenchSource *src);

/* The default ladder on the ffmpeg command line, as encbox builds it: one
 * decode, split + scale, libx264 with encbox's bitrates, maxrate/bufsize and
 * GOP, keyframes forced at every segment start, fMP4 HLS with a playlist per
 * rung (<out>/<i>/index.m3u8 for rung i) and the audio. The VOD head-to-head
 * and the live one run this same command. */
typedef struct EbBenchFfmpegLadder {
    const char *input;                /* file or URL */
    const char *const *input_options; /* before -i, NULL-terminated; NULL: none */
    const char *preset;
    const EbBenchSource *src;
    const EbRungPlan *plan;
    int nb_rungs;
    double segment_seconds;
    int live_list_size; /* 0: a VOD playlist; N: a live one of N segments (older ones
                         * deleted, EXT-X-PROGRAM-DATE-TIME) */
    const char *out;    /* output folder */
} EbBenchFfmpegLadder;

/* One command line; argv points into the struct. */
typedef struct EbBenchFfmpegCommand {
    char *argv[192];
    char store[112][64];
    char graph[1024], vmap[512], segs[4200], index[4200];
} EbBenchFfmpegCommand;

/* Fills cmd (caller-owned) from l. The argument count, or -EINVAL. */
int eb_bench_ffmpeg_ladder(EbBenchFfmpegCommand *cmd, const EbBenchFfmpegLadder *l);

/* argv as one line, arguments with shell-special characters in quotes. */
void eb_bench_command_line(char *const argv[], char *out, size_t size);

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

/* The capacity the report at path measured, as GET /v1/boxes shows it
 * (limits.bench_report): {report, measured_at, host, cpu, cores, backend,
 * vod_hours_per_hour, ladders_at_real_time, realtime_ratio_1, source
 * {height, fps}, live {channels, height, fps, mpixels_per_second}}, the
 * VOD or live fields null when the report has none. A new reference, or
 * NULL with err filled (unreadable, not a report, nothing measured). */
json_t *eb_bench_capacity_json(const char *path, char *err, size_t size);

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

/* --- eb_bench_live.c ------------------------------------------------- */

typedef struct EbBenchLiveArgs {
    const char *out_dir;      /* the children's logs go to out_dir/work/live/ */
    const char *only_backend; /* NULL: every backend in the build */
    const char *preset;       /* x264 preset of both sides */
    int height;               /* 720 or 1080: testsrc2 16:9 at this height */
    double fps;               /* 30 */
    double seconds;           /* per step: the source's length */
    int max_channels;         /* 1..EB_BENCH_LIVE_MAX_CHANNELS */
} EbBenchLiveArgs;

/* Runs the live bench (top of eb_bench_live.c) into out. The media lives
 * in a temporary folder, removed on every return (SIGINT and SIGTERM
 * included: they end the run early with -EINTR). 0 or a negative errno
 * (out->skipped says why). */
int eb_bench_live_run(const EbBenchLiveArgs *a, EbBenchLive *out);

/* Prints the steps of both sides, their ratios and the capacity. */
void eb_bench_live_print(FILE *f, const EbBenchLive *l, int cores);

/* The delay from each frame's arrival to its segment's listing: a frame at
 * media time t arrived t seconds after its publisher started sending
 * (-re paces from there), and waits listed - t; every frame of every
 * segment counts, at t = start, start + 1/fps, ... < end. Writes the median
 * and the 95th percentile (linear between closest ranks). Returns the
 * number of frames (0: none, both figures 0) or -EINVAL / -ENOMEM. */
int64_t eb_bench_live_delays(const EbBenchLiveSegment *segs, int nb, double fps, double *median,
                             double *p95);

/* The p-th percentile (0..100) of n values, linear between the closest
 * ranks; sorts v in place. 0 when n < 1. */
double eb_bench_percentile(double *v, int n, double p);

/* Whether a channel kept real time. Both sides: the packager exited 0 and
 * the top rung carries the frames sent to within 1%. encbox: fewer than
 * 0.5% of them dropped and its lag stayed under 1 s. ffmpeg: its steady
 * speed (c->speed: output frames per second from the first segment to the
 * feed's end, over the source's rate) >= 0.98; the speed ffmpeg prints is
 * cumulative from its start, and its start-up latency alone holds it under
 * 0.98 for tens of seconds once the box is busy. 1 or 0; why (may be NULL)
 * says what failed. */
int eb_bench_live_sustained(const EbBenchLiveChannel *c, char *why, size_t why_size);

/* Reads an HLS media playlist: the media sequence of its first segment and
 * each listed segment's EXTINF duration (at most max). The number of
 * segments listed, or -EINVAL when text is not a media playlist. */
int eb_bench_live_parse_playlist(const char *text, int64_t *first_seq, double *durations, int max);

/* Most channels of one side that kept real time, counting up from one
 * until the first step that did not. */
int eb_bench_live_capacity(const EbBenchLive *l, int ffmpeg_side);

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
