/*
 * `encbox bench`: the runner. For each backend the HAL lists (unusable ones
 * are reported with their reason and skipped) it runs the default ladder on
 * one source with 1, 2, ... concurrent jobs until the slowest job falls
 * below real time; then, on the software path, encbox against the ffmpeg
 * command line doing the same ladder, alternating, with per-rung PSNR/SSIM
 * of both against the source scaled with swscale's lanczos.
 *
 * Every job is a child process (`/proc/self/exe transcode ... -q
 * --stats-json FILE`), the shape the daemon's workers will have, so each
 * job's CPU time and peak RSS come from wait4()'s rusage and a crash in one
 * job is one failed job. A step's RSS is the sum of its children's peaks
 * (an upper bound: the peaks need not coincide). The child writes its
 * EbVodResult as JSON; that is where per-rung encode fps and the stage
 * breakdown come from.
 *
 * The benchmark is never run by CI (only its 2 s smoke mode, which checks
 * the outputs, not timings).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "eb_bench.h"
#include "eb_boundary.h"
#include "eb_clock.h"
#include "eb_hal.h"
#include "eb_version.h"

extern char **environ;

#define EB_BENCH_EXIT_USAGE 2
#define EB_BENCH_EXIT_FAILED 1

typedef struct EbBenchArgs {
    const char *out_dir;
    const char *input;
    const char *preset;
    const char *only_backend;
    const char *plan;
    const char *from[2]; /* --from, once or twice (a VOD report and a --live one) */
    int nb_from;
    double seconds;
    int max_concurrency;
    int runs;
    int no_ffmpeg;
    const char *encrypt; /* --encrypt SCHEME: every encbox job encrypts (its cost) */
    int scaler_frames; /* 0: no scaler comparison */
    double headroom;
    int live;        /* --live: the live bench instead of the VOD sweep */
    int live_height; /* 720 or 1080 */
    double live_seconds;
    int max_channels;
} EbBenchArgs;

int eb_bench_bprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    /* what was written, so that "len += eb_bench_bprintf(buf + len, size - len, ...)" stays in bounds */
    return size && (size_t)n >= size ? (int)(size - 1) : n;
}

int eb_bench_mkdirs(const char *path)
{
    char buf[4096];
    eb_bench_bprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void eb_bench_rmtree(const char *path)
{
    if (access(path, F_OK) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Starts argv[0] (PATH search) with stdin from /dev/null and stdout+stderr
 * into log. Returns the pid or a negative errno. */
static pid_t spawn(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int ret;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return ret ? -ret : pid;
}

/* Runs one child to the end; fills run with its wall, CPU and peak RSS.
 * Returns its exit status (or 128 + signal), or a negative errno. */
static int run_one(char *const argv[], const char *log, EbBenchToolRun *run)
{
    struct rusage ru;
    int status;
    double t0 = eb_clock_seconds();
    pid_t pid = spawn(argv, log);

    if (pid < 0)
        return pid;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -errno;
    if (run) {
        run->wall_seconds = eb_clock_seconds() - t0;
        run->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                           ru.ru_stime.tv_usec / 1e6;
        run->peak_rss_mb = ru.ru_maxrss / 1024.0;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void eb_bench_log_tail(const char *log)
{
    char line[512], last[4][512] = {{0}};
    int n = 0;
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        eb_bench_bprintf(last[n++ % 4], sizeof(last[0]), "%s", line);
    fclose(f);
    for (int i = n > 4 ? n - 4 : 0; i < n; i++)
        fprintf(stderr, "    | %s", last[i % 4]);
}

int eb_bench_probe_source(const char *path, EbBenchSource *src)
{
    AVFormatContext *fmt = NULL;
    int ret, vi;

    memset(src, 0, sizeof(*src));
    ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret < 0)
        return ret;
    ret = avformat_find_stream_info(fmt, NULL);
    if (ret >= 0)
        ret = vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret >= 0) {
        AVStream *st = fmt->streams[vi];
        AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
        src->width = st->codecpar->width;
        src->height = st->codecpar->height;
        src->sar = st->codecpar->sample_aspect_ratio;
        src->fps = fr.den ? av_q2d(fr) : 0;
        src->seconds = fmt->duration > 0 ? fmt->duration / (double)AV_TIME_BASE : 0;
        src->has_audio = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
        ret = 0;
    }
    avformat_close_input(&fmt);
    return ret;
}

/* The standard source: testsrc2 1080p30 + a 440 Hz tone, cached by length.
 * lavfi draws 4:2:0 with centred chroma (as swscale converts), so the file
 * says so (-chroma_sample_location center): an H.264 stream without the flag
 * reads as left-sited (the spec's default), and a scaler that follows the
 * flag, as encbox does, would then be half a chroma sample off the content
 * and off the swscale reference. */
static int make_source(const EbBenchArgs *a, char *path, size_t size)
{
    char dur[32], log[4200];
    EbBenchToolRun run;
    int ret;

    eb_bench_bprintf(path, size, "%s/src-1080p30-%gs-c.mp4", a->out_dir, a->seconds);
    if (access(path, R_OK) == 0)
        return 0;
    eb_bench_bprintf(dur, sizeof(dur), "%g", a->seconds);
    eb_bench_bprintf(log, sizeof(log), "%s/work/source.log", a->out_dir);
    {
        char *argv[] = {"ffmpeg",
                        "-nostdin",
                        "-v",
                        "error",
                        "-y",
                        "-f",
                        "lavfi",
                        "-i",
                        "testsrc2=size=1920x1080:rate=30",
                        "-f",
                        "lavfi",
                        "-i",
                        "sine=frequency=440:sample_rate=48000",
                        "-ac",
                        "2",
                        "-t",
                        dur,
                        "-c:v",
                        "libx264",
                        "-preset",
                        "veryfast",
                        "-crf",
                        "18",
                        "-pix_fmt",
                        "yuv420p",
                        "-chroma_sample_location",
                        "center",
                        "-c:a",
                        "aac",
                        "-b:a",
                        "192k",
                        "-shortest",
                        path,
                        NULL};
        fprintf(stderr, "bench: generating the %s s 1080p30 source (testsrc2 + sine) ...\n", dur);
        ret = run_one(argv, log, &run);
    }
    if (ret != 0) {
        fprintf(stderr,
                "bench: could not generate the source with the ffmpeg command line "
                "(exit %d); log %s\n",
                ret, log);
        eb_bench_log_tail(log);
        unlink(path);
        return -EIO;
    }
    return 0;
}

/* ---- the concurrency sweep --------------------------------------------- */

static void encbox_argv(char **argv, const EbBenchArgs *a, const char *input, const char *out,
                        const char *backend, const char *stats)
{
    int n = 0;
    argv[n++] = "/proc/self/exe";
    argv[n++] = "transcode";
    argv[n++] = (char *)input;
    argv[n++] = "-o";
    argv[n++] = (char *)out;
    argv[n++] = "--id";
    argv[n++] = "bench";
    argv[n++] = "--overwrite";
    argv[n++] = "--preset";
    argv[n++] = (char *)a->preset;
    argv[n++] = "--backend";
    argv[n++] = (char *)backend;
    argv[n++] = "--fallback"; /* a refused backend fails its step, never measures another */
    argv[n++] = "none";
    argv[n++] = "-q";
    argv[n++] = "--no-thumbnails"; /* the ffmpeg ladder makes none either */
    argv[n++] = "--stats-json";
    argv[n++] = (char *)stats;
    if (a->encrypt) {
        argv[n++] = "--encrypt";
        argv[n++] = (char *)a->encrypt;
    }
    argv[n] = NULL;
}

static void stages_add(EbBenchJobStats *sum, const EbBenchJobStats *s, double w)
{
    sum->duration += s->duration * w;
    sum->wall_seconds += s->wall_seconds * w;
    sum->frames += (int64_t)llround(s->frames * w);
    sum->decode_seconds += s->decode_seconds * w;
    sum->filter_seconds += s->filter_seconds * w;
    sum->fanout_seconds += s->fanout_seconds * w;
    sum->fanout_wait_seconds += s->fanout_wait_seconds * w;
    sum->audio_seconds += s->audio_seconds * w;
    sum->cpu_seconds += s->cpu_seconds * w;
    sum->demux_cpu_seconds += s->demux_cpu_seconds * w;
    sum->fanout_cpu_seconds += s->fanout_cpu_seconds * w;
    sum->fanout_blocked_seconds += s->fanout_blocked_seconds * w;
    sum->demux_blocked_seconds += s->demux_blocked_seconds * w;
    sum->encrypt_seconds += s->encrypt_seconds * w;
    sum->nb_rungs = s->nb_rungs;
    for (int i = 0; i < s->nb_rungs; i++) {
        EbBenchRung *d = &sum->rungs[i];
        const EbBenchRung *r = &s->rungs[i];
        memcpy(d->name, r->name, sizeof(d->name));
        d->width = r->width;
        d->height = r->height;
        d->frames += (int64_t)llround(r->frames * w);
        d->encode_seconds += r->encode_seconds * w;
        d->mux_seconds += r->mux_seconds * w;
        d->encode_fps += r->encode_fps * w;
        d->kbps += r->kbps * w;
        d->cpu_seconds += r->cpu_seconds * w;
        d->starved_seconds += r->starved_seconds * w;
    }
}

static int run_step(const EbBenchArgs *a, const char *input, const EbHalBackend *be, int n,
                    EbBenchStep *st)
{
    pid_t pids[64];
    double start[64], end[64];
    int status[64];
    struct rusage ru[64];
    char out[64][4200], stats[64][4200], log[64][4200];
    EbBenchJobStats js[64];
    double t0, t_end, pixels = 0, frames = 0;
    int left = 0;

    memset(st, 0, sizeof(*st));
    st->concurrency = n;
    st->job_fps_min = 1e30;
    st->realtime_ratio = 1e30;
    for (int i = 0; i < n; i++) {
        char *argv[24];
        eb_bench_bprintf(out[i], sizeof(out[i]), "%s/work/job%d", a->out_dir, i);
        eb_bench_bprintf(stats[i], sizeof(stats[i]), "%s/work/job%d.json", a->out_dir, i);
        eb_bench_bprintf(log[i], sizeof(log[i]), "%s/work/job%d.log", a->out_dir, i);
        eb_bench_rmtree(out[i]);
        unlink(stats[i]);
        encbox_argv(argv, a, input, out[i], be->name, stats[i]);
        start[i] = eb_clock_seconds();
        pids[i] = spawn(argv, log[i]);
        if (pids[i] < 0) {
            fprintf(stderr, "bench: cannot start a job: %s\n", strerror(-pids[i]));
            status[i] = -1;
            st->failed++;
        } else {
            left++;
        }
    }
    t0 = start[0];
    while (left > 0) {
        struct rusage r;
        int s;
        pid_t p = wait4(-1, &s, 0, &r);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < n; i++)
            if (pids[i] == p) {
                end[i] = eb_clock_seconds();
                status[i] = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
                ru[i] = r;
                left--;
            }
    }
    t_end = eb_clock_seconds();
    st->wall_seconds = t_end - t0;
    for (int i = 0; i < n; i++) {
        double wall, fps, rt;
        if (pids[i] < 0)
            continue;
        if (status[i] != 0 || eb_job_stats_read(stats[i], &js[i]) < 0) {
            fprintf(stderr, "bench: %s job %d of %d failed (exit %d); log %s\n", be->name, i + 1, n,
                    status[i], log[i]);
            eb_bench_log_tail(log[i]);
            st->failed++;
            continue;
        }
        wall = end[i] - start[i];
        fps = wall > 0 ? js[i].frames / wall : 0;
        rt = wall > 0 ? js[i].duration / wall : 0;
        st->job_fps += fps / n;
        st->job_fps_min = fmin(st->job_fps_min, fps);
        st->realtime_ratio = fmin(st->realtime_ratio, rt);
        st->cpu_seconds += ru[i].ru_utime.tv_sec + ru[i].ru_utime.tv_usec / 1e6 +
                           ru[i].ru_stime.tv_sec + ru[i].ru_stime.tv_usec / 1e6;
        st->peak_rss_mb += ru[i].ru_maxrss / 1024.0;
        frames += js[i].frames;
        for (int k = 0; k < js[i].nb_rungs; k++)
            pixels += (double)js[i].rungs[k].width * js[i].rungs[k].height * js[i].rungs[k].frames;
        stages_add(&st->stages, &js[i], 1.0 / n);
        eb_bench_rmtree(out[i]);
    }
    if (st->failed) {
        st->job_fps_min = st->realtime_ratio = 0;
        return -EIO;
    }
    st->aggregate_fps = frames / st->wall_seconds;
    st->pixels_per_second = pixels / st->wall_seconds;
    st->cpu_percent = 100.0 * st->cpu_seconds / (st->wall_seconds * sysconf(_SC_NPROCESSORS_ONLN));
    /* Sessions the jobs hold on the device: one decoder and one encoder
     * per rung each, as the pipeline opens them; none on the CPU path. */
    st->device_sessions = strcmp(be->name, "software") ? n * (1 + st->stages.nb_rungs) : 0;
    return 0;
}

static void sweep(const EbBenchArgs *a, const char *input, const EbHalBackend *be,
                  EbBenchBackend *out)
{
    for (int n = 1; n <= a->max_concurrency && out->nb_steps < EB_BENCH_MAX_STEPS; n++) {
        EbBenchStep *st = &out->steps[out->nb_steps];
        int ret;
        fprintf(stderr, "bench: %s: %d concurrent job%s ...\n", be->name, n, n > 1 ? "s" : "");
        ret = run_step(a, input, be, n, st);
        out->nb_steps++;
        if (ret < 0)
            break;
        fprintf(stderr,
                "bench: %s: %d jobs: %.2f s wall, %.1f fps per job, %.2fx real time "
                "(slowest), %.0f%% CPU, %.0f MB RSS\n",
                be->name, n, st->wall_seconds, st->job_fps, st->realtime_ratio, st->cpu_percent,
                st->peak_rss_mb);
        if (st->realtime_ratio < 1.0)
            break;
    }
}

/* ---- encbox vs the ffmpeg command line ---------------------------------- */

int eb_bench_ffmpeg_ladder(EbBenchFfmpegCommand *cmd, const EbBenchFfmpegLadder *l)
{
    char **argv = cmd->argv;
    const EbBenchSource *src = l->src;
    const EbRungPlan *plan = l->plan;
    int n = 0, k = 0, nb = l->nb_rungs;
    size_t gl;
    AVRational fr = av_d2q(src->fps, 1001000);
    EbBoundaryPolicy bp;
    int64_t gop;

    if (nb < 1 || nb > EB_LADDER_MAX_RUNGS || !(l->segment_seconds >= 1) || !(src->fps > 0))
        return -EINVAL;
    /* The GOP encbox's rungs use: longer than the longest segment. */
    eb_boundary_init(&bp, l->segment_seconds, av_inv_q(fr), 0);
    gop = eb_boundary_max_distance(&bp) + 1;
#define ARG(s) (argv[n++] = (char *)(s))
#define FMT(...)                                                                                   \
    (eb_bench_bprintf(cmd->store[k], sizeof(cmd->store[k]), __VA_ARGS__), argv[n++] = cmd->store[k++])
    ARG("ffmpeg");
    ARG("-nostdin");
    ARG("-v");
    ARG("error");
    ARG("-y");
    for (int i = 0; l->input_options && l->input_options[i]; i++)
        ARG(l->input_options[i]);
    ARG("-i");
    ARG(l->input);
    gl = eb_bench_bprintf(cmd->graph, sizeof(cmd->graph), "[0:v]split=%d", nb);
    for (int i = 0; i < nb; i++)
        gl += eb_bench_bprintf(cmd->graph + gl, sizeof(cmd->graph) - gl, "[s%d]", i);
    for (int i = 0; i < nb; i++)
        if (plan[i].width != src->width || plan[i].height != src->height)
            gl += eb_bench_bprintf(cmd->graph + gl, sizeof(cmd->graph) - gl, ";[s%d]scale=%d:%d[o%d]", i,
                          plan[i].width, plan[i].height, i);
    ARG("-filter_complex");
    ARG(cmd->graph);
    for (int i = 0; i < nb; i++) {
        ARG("-map");
        if (plan[i].width != src->width || plan[i].height != src->height)
            FMT("[o%d]", i);
        else
            FMT("[s%d]", i);
    }
    if (src->has_audio) {
        ARG("-map");
        ARG("0:a:0");
    }
    ARG("-c:v");
    ARG("libx264");
    ARG("-preset");
    ARG(l->preset);
    ARG("-pix_fmt");
    ARG("yuv420p");
    for (int i = 0; i < nb; i++) {
        FMT("-b:v:%d", i);
        FMT("%lldk", (long long)(plan[i].rung.bitrate / 1000));
        FMT("-maxrate:v:%d", i);
        FMT("%lldk", (long long)(eb_rung_maxrate(&plan[i].rung) / 1000));
        FMT("-bufsize:v:%d", i);
        FMT("%lldk", (long long)(eb_rung_bufsize(&plan[i].rung) / 1000));
    }
    ARG("-g");
    FMT("%lld", (long long)gop);
    ARG("-keyint_min");
    FMT("%lld", (long long)gop);
    ARG("-sc_threshold");
    ARG("0");
    ARG("-force_key_frames");
    FMT("expr:gte(t,n_forced*%g)", l->segment_seconds);
    if (src->has_audio) {
        ARG("-c:a");
        ARG("aac");
        ARG("-b:a");
        ARG("128k");
    }
    ARG("-f");
    ARG("hls");
    ARG("-hls_time");
    FMT("%g", l->segment_seconds);
    if (l->live_list_size > 0) {
        /* A sliding live playlist, as encbox live publishes it. */
        ARG("-hls_list_size");
        FMT("%d", l->live_list_size);
        ARG("-hls_segment_type");
        ARG("fmp4");
        ARG("-hls_flags");
        ARG("delete_segments+program_date_time");
    } else {
        ARG("-hls_playlist_type");
        ARG("vod");
        ARG("-hls_segment_type");
        ARG("fmp4");
    }
    gl = 0;
    cmd->vmap[0] = 0;
    for (int i = 0; i < nb; i++)
        gl += eb_bench_bprintf(cmd->vmap + gl, sizeof(cmd->vmap) - gl, "%sv:%d%s", i ? " " : "", i,
                      src->has_audio ? ",agroup:aud" : "");
    if (src->has_audio)
        eb_bench_bprintf(cmd->vmap + gl, sizeof(cmd->vmap) - gl, " a:0,agroup:aud");
    ARG("-var_stream_map");
    ARG(cmd->vmap);
    ARG("-master_pl_name");
    ARG("master.m3u8");
    eb_bench_bprintf(cmd->segs, sizeof(cmd->segs), "%s/%%v/segment_%%03d.m4s", l->out);
    eb_bench_bprintf(cmd->index, sizeof(cmd->index), "%s/%%v/index.m3u8", l->out);
    ARG("-hls_segment_filename");
    ARG(cmd->segs);
    ARG(cmd->index);
    argv[n] = NULL;
#undef ARG
#undef FMT
    return n;
}

void eb_bench_command_line(char *const argv[], char *out, size_t size)
{
    size_t l = 0;
    out[0] = 0;
    for (int i = 0; argv[i] && l < size - 1; i++) {
        int q = strchr(argv[i], ' ') || strchr(argv[i], ';') || strchr(argv[i], '(') ||
                strchr(argv[i], '?') || strchr(argv[i], '&') || strchr(argv[i], '[') ||
                strchr(argv[i], '%');
        l += eb_bench_bprintf(out + l, size - l, "%s%s%s%s", i ? " " : "", q ? "'" : "", argv[i],
                     q ? "'" : "");
    }
}

/* PSNR and SSIM of one rung against the source scaled to the rung's size
 * with swscale's lanczos, both timelines started at 0. swscale assumes
 * centre-sited chroma unless told; H.264's default (and encbox's scaler) is
 * left-sited, so a second PSNR against a left-sited reference
 * (in/out_h_chr_pos=0) is kept as a diagnostic. The first psnr filter in
 * the graph (lower Parsed_ index) is the specified reference. */
static int measure_quality(const char *dist, const char *source, const char *log, int w, int h,
                           EbBenchQuality *q)
{
    char graph[768], line[1024];
    FILE *f;
    int ret, got = 0, first_psnr = -1;

    eb_bench_bprintf(graph, sizeof(graph),
            "[0:v]setpts=PTS-STARTPTS,split=3[d0][d1][d2];[1:v]setpts=PTS-STARTPTS,split[s0][s1];"
            "[s0]scale=%d:%d:flags=lanczos,split[r0][r1];"
            "[s1]scale=%d:%d:flags=lanczos:in_h_chr_pos=0:out_h_chr_pos=0[l0];"
            "[d0][r0]psnr;[d1][r1]ssim;[d2][l0]psnr",
            w, h, w, h);
    {
        char *argv[] = {"ffmpeg",     "-nostdin", "-hide_banner", "-nostats", "-v",  "info", "-i",
                        (char *)dist, "-i",       (char *)source, "-lavfi",   graph, "-f",   "null",
                        "-",          NULL};
        ret = run_one(argv, log, NULL);
    }
    if (ret != 0)
        return -EIO;
    f = fopen(log, "r");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *p, *tag;
        double y, u, v, avg;
        int idx;
        if ((p = strstr(line, "PSNR y:")) &&
            sscanf(p, "PSNR y:%lf u:%lf v:%lf average:%lf", &y, &u, &v, &avg) == 4 &&
            (tag = strstr(line, "Parsed_psnr_")) && sscanf(tag, "Parsed_psnr_%d", &idx) == 1) {
            if (first_psnr < 0 || idx < first_psnr) {
                if (first_psnr >= 0)
                    q->psnr_avg_left = q->psnr_avg;
                first_psnr = idx;
                q->psnr_y = y;
                q->psnr_avg = avg;
            } else {
                q->psnr_avg_left = avg;
            }
            got |= 1;
        }
        if ((p = strstr(line, "SSIM Y:")) && sscanf(p, "SSIM Y:%lf", &y) == 1) {
            char *all = strstr(p, "All:");
            q->ssim_y = y;
            if (all && sscanf(all, "All:%lf", &avg) == 1) {
                q->ssim_all = avg;
                got |= 2;
            }
        }
    }
    fclose(f);
    return got == 3 ? 0 : -EINVAL;
}

static double median(const EbBenchToolRun *runs, int n, size_t off)
{
    double v[EB_BENCH_MAX_RUNS];
    for (int i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&runs[i] + off);
    return eb_bench_median(v, n);
}

static void versus(const EbBenchArgs *a, const char *input, const EbBenchSource *src,
                   EbBenchVersus *vs)
{
    EbLadder ladder;
    EbSourceGeometry geo = {src->width, src->height, src->sar, 0};
    EbRungPlan plan[EB_LADDER_MAX_RUNGS];
    EbBenchFfmpegCommand *fcmd;
    char eout[4200], fout[4200], stats[4200], elog[4200], flog[4200];
    char *eargv[24], **fargv;
    int nb, ret;

    eb_ladder_default(&ladder);
    nb = eb_ladder_plan(&ladder, &geo, plan);
    if (nb < 0) {
        eb_bench_bprintf(vs->skipped, sizeof(vs->skipped), "cannot plan the ladder for this source");
        return;
    }
    eb_bench_bprintf(eout, sizeof(eout), "%s/work/versus-encbox", a->out_dir);
    eb_bench_bprintf(fout, sizeof(fout), "%s/work/versus-ffmpeg", a->out_dir);
    eb_bench_bprintf(stats, sizeof(stats), "%s/work/versus-encbox.json", a->out_dir);
    eb_bench_bprintf(elog, sizeof(elog), "%s/work/versus-encbox.log", a->out_dir);
    eb_bench_bprintf(flog, sizeof(flog), "%s/work/versus-ffmpeg.log", a->out_dir);
    encbox_argv(eargv, a, input, eout, "software", stats);
    fcmd = calloc(1, sizeof(*fcmd));
    if (!fcmd) {
        eb_bench_bprintf(vs->skipped, sizeof(vs->skipped), "out of memory");
        return;
    }
    {
        EbBenchFfmpegLadder fl = {.input = input,
                                  .preset = a->preset,
                                  .src = src,
                                  .plan = plan,
                                  .nb_rungs = nb,
                                  .segment_seconds = 6.0,
                                  .out = fout};
        eb_bench_ffmpeg_ladder(fcmd, &fl);
    }
    fargv = fcmd->argv;
    eb_bench_command_line(fargv, vs->ffmpeg_command, sizeof(vs->ffmpeg_command));
    vs->runs = a->runs;
    for (int i = 0; i < a->runs; i++) {
        /* Alternate, so drift in the machine's load hits both alike. */
        fprintf(stderr, "bench: versus run %d/%d: encbox ...\n", i + 1, a->runs);
        eb_bench_rmtree(eout);
        ret = run_one(eargv, elog, &vs->encbox[i]);
        if (ret != 0 || eb_job_stats_read(stats, &vs->encbox_stages) < 0) {
            eb_bench_bprintf(vs->skipped, sizeof(vs->skipped), "encbox run failed (exit %d), log %s", ret,
                    elog);
            eb_bench_log_tail(elog);
            goto out;
        }
        fprintf(stderr, "bench: versus run %d/%d: ffmpeg ...\n", i + 1, a->runs);
        eb_bench_rmtree(fout);
        eb_bench_mkdirs(fout);
        ret = run_one(fargv, flog, &vs->ffmpeg[i]);
        if (ret != 0) {
            eb_bench_bprintf(vs->skipped, sizeof(vs->skipped), "ffmpeg run failed (exit %d), log %s", ret,
                    flog);
            eb_bench_log_tail(flog);
            goto out;
        }
    }
    vs->encbox_median.wall_seconds =
        median(vs->encbox, vs->runs, offsetof(EbBenchToolRun, wall_seconds));
    vs->encbox_median.cpu_seconds =
        median(vs->encbox, vs->runs, offsetof(EbBenchToolRun, cpu_seconds));
    vs->encbox_median.peak_rss_mb =
        median(vs->encbox, vs->runs, offsetof(EbBenchToolRun, peak_rss_mb));
    vs->ffmpeg_median.wall_seconds =
        median(vs->ffmpeg, vs->runs, offsetof(EbBenchToolRun, wall_seconds));
    vs->ffmpeg_median.cpu_seconds =
        median(vs->ffmpeg, vs->runs, offsetof(EbBenchToolRun, cpu_seconds));
    vs->ffmpeg_median.peak_rss_mb =
        median(vs->ffmpeg, vs->runs, offsetof(EbBenchToolRun, peak_rss_mb));

    /* Quality of the last run of each, rung by rung. */
    vs->nb_rungs = nb;
    for (int i = 0; i < nb; i++) {
        char dist[4400], log[4200];
        EbBenchQuality *eq = &vs->encbox_q[i], *fq = &vs->ffmpeg_q[i];
        fprintf(stderr, "bench: PSNR/SSIM of %s (%dx%d) ...\n", plan[i].rung.name, plan[i].width,
                plan[i].height);
        eb_bench_bprintf(eq->name, sizeof(eq->name), "%s", plan[i].rung.name);
        eb_bench_bprintf(fq->name, sizeof(fq->name), "%s", plan[i].rung.name);
        eq->width = fq->width = plan[i].width;
        eq->height = fq->height = plan[i].height;
        eb_bench_bprintf(dist, sizeof(dist), "%s/videos/bench/hls/%s/index.m3u8", eout, plan[i].rung.name);
        eb_bench_bprintf(log, sizeof(log), "%s/work/quality-encbox-%s.log", a->out_dir, plan[i].rung.name);
        if (measure_quality(dist, input, log, plan[i].width, plan[i].height, eq) < 0)
            fprintf(stderr, "bench: PSNR/SSIM of encbox %s failed; log %s\n", eq->name, log);
        eb_bench_bprintf(dist, sizeof(dist), "%s/%d/index.m3u8", fout, i);
        eb_bench_bprintf(log, sizeof(log), "%s/work/quality-ffmpeg-%s.log", a->out_dir, plan[i].rung.name);
        if (measure_quality(dist, input, log, plan[i].width, plan[i].height, fq) < 0)
            fprintf(stderr, "bench: PSNR/SSIM of ffmpeg %s failed; log %s\n", fq->name, log);
    }
    eb_bench_rmtree(eout);
    eb_bench_rmtree(fout);
    vs->ran = 1;
out:
    free(fcmd);
}

/* ---- printing ------------------------------------------------------------ */

static void print_stages(FILE *f, const char *what, const EbBenchJobStats *s)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double wall = s->wall_seconds > 0 ? s->wall_seconds : 1, cpu = s->cpu_seconds, other = cpu;

    if (cores < 1)
        cores = 1;
    fprintf(f, "where the time went (%s):\n", what);
    fprintf(
        f,
        "  job wall %.2f s for %.2f s of media (%lld frames); CPU %.2f s = %.0f%% of %ld cores\n",
        s->wall_seconds, s->duration, (long long)s->frames, cpu, 100 * cpu / (wall * (double)cores),
        cores);
    fprintf(f, "  %-16s %7s %6s  %s\n", "stage (thread)", "CPU s", "of CPU", "inside it; waiting");
    fprintf(f,
            "  %-16s %7.2f %5.0f%%  decode %.2f s, normalise %.2f s, audio %.2f s (wall); "
            "blocked on a full source queue %.2f s\n",
            "eb-demux", s->demux_cpu_seconds, cpu > 0 ? 100 * s->demux_cpu_seconds / cpu : 0,
            s->decode_seconds, s->filter_seconds, s->audio_seconds, s->demux_blocked_seconds);
    fprintf(f,
            "  %-16s %7.2f %5.0f%%  scaling %.2f s (wall); waiting for frames %.2f s, blocked on "
            "full rung queues %.2f s\n",
            "eb-fanout", s->fanout_cpu_seconds, cpu > 0 ? 100 * s->fanout_cpu_seconds / cpu : 0,
            s->fanout_seconds, s->fanout_wait_seconds, s->fanout_blocked_seconds);
    other -= s->demux_cpu_seconds + s->fanout_cpu_seconds;
    for (int i = 0; i < s->nb_rungs; i++) {
        const EbBenchRung *r = &s->rungs[i];
        char name[48];
        eb_bench_bprintf(name, sizeof(name), "eb-enc-%s", r->name);
        fprintf(f,
                "  %-16s %7.2f %5.0f%%  encoder calls %.2f s (%.1f fps), mux %.2f s, %.0f kb/s; "
                "waiting for frames %.2f s\n",
                name, r->cpu_seconds, cpu > 0 ? 100 * r->cpu_seconds / cpu : 0, r->encode_seconds,
                r->encode_fps, r->mux_seconds, r->kbps, r->starved_seconds);
        other -= r->cpu_seconds;
    }
    fprintf(f, "  %-16s %7.2f %5.0f%%  setup, manifests, publishing, library threads\n", "other",
            other > 0 ? other : 0, cpu > 0 && other > 0 ? 100 * other / cpu : 0);
    if (s->encrypt_seconds > 0)
        fprintf(f,
                "  encryption       %7.3f %5.2f%%  the encrypting sink, inside the encoder and "
                "audio threads (counted there too)\n",
                s->encrypt_seconds, cpu > 0 ? 100 * s->encrypt_seconds / cpu : 0);
}

/* The conditions the targets are stated for. */
static int standard_conditions(const EbBenchReport *r)
{
    return r->cores == 2 && !strcmp(r->preset, "veryfast") && r->source_width == 1920 &&
           r->source_height == 1080 && fabs(r->source_fps - 30) < 0.1;
}

void eb_bench_versus_print(FILE *f, const EbBenchReport *r, int *misses)
{
    const EbBenchVersus *v = &r->versus;
    double tput, paired, rss;
    int standard = standard_conditions(r);

    if (!v->ran) {
        fprintf(f, "encbox vs ffmpeg: not run (%s)\n", v->skipped);
        return;
    }
    fprintf(f, "encbox vs the ffmpeg command line (same ladder, %d alternating runs each)\n",
            v->runs);
    fprintf(f, "%-8s %4s %8s %8s %10s   %s\n", "tool", "run", "wall_s", "cpu_s", "peak_MB",
            "pair: ffmpeg/encbox wall");
    for (int i = 0; i < v->runs; i++) {
        fprintf(f, "%-8s %4d %8.2f %8.2f %10.1f\n", "encbox", i + 1, v->encbox[i].wall_seconds,
                v->encbox[i].cpu_seconds, v->encbox[i].peak_rss_mb);
        fprintf(f, "%-8s %4d %8.2f %8.2f %10.1f   %.3fx\n", "ffmpeg", i + 1,
                v->ffmpeg[i].wall_seconds, v->ffmpeg[i].cpu_seconds, v->ffmpeg[i].peak_rss_mb,
                eb_bench_paired_speedup(&v->encbox[i], &v->ffmpeg[i], 1));
    }
    tput = v->ffmpeg_median.wall_seconds / v->encbox_median.wall_seconds;
    paired = eb_bench_paired_speedup(v->encbox, v->ffmpeg, v->runs);
    rss = v->encbox_median.peak_rss_mb / v->ffmpeg_median.peak_rss_mb;
    fprintf(f,
            "median wall     encbox %7.2f s   ffmpeg %7.2f s   encbox/ffmpeg %.3f "
            "(throughput %.3fx, fps %.1f vs %.1f)\n",
            v->encbox_median.wall_seconds, v->ffmpeg_median.wall_seconds, 1 / tput, tput,
            r->source_seconds * r->source_fps / v->encbox_median.wall_seconds,
            r->source_seconds * r->source_fps / v->ffmpeg_median.wall_seconds);
    fprintf(f, "median CPU      encbox %7.2f s   ffmpeg %7.2f s   encbox/ffmpeg %.3f\n",
            v->encbox_median.cpu_seconds, v->ffmpeg_median.cpu_seconds,
            v->encbox_median.cpu_seconds / v->ffmpeg_median.cpu_seconds);
    fprintf(f, "median peak RSS encbox %7.1f MB  ffmpeg %7.1f MB  encbox/ffmpeg %.3f\n",
            v->encbox_median.peak_rss_mb, v->ffmpeg_median.peak_rss_mb, rss);
    fprintf(f, "quality against the source scaled to each rung with scale=W:H:flags=lanczos:\n");
    fprintf(
        f, "(PSNR: ffmpeg psnr 'average' of Y,U,V in dB; SSIM: 'All'; Y: luma PSNR only;\n"
           " left-ref: PSNR 'average' against a reference with left-sited chroma, a diagnostic)\n");
    fprintf(f, "%-6s %9s | %8s %8s %7s | %7s %7s %8s | %6s %6s | %8s %8s\n", "rung", "size",
            "enc PSNR", "ff PSNR", "delta", "enc SSIM", "ff SSIM", "delta", "enc Y", "ff Y",
            "enc left", "ff left");
    for (int i = 0; i < v->nb_rungs; i++) {
        const EbBenchQuality *e = &v->encbox_q[i], *q = &v->ffmpeg_q[i];
        char size[24];
        eb_bench_bprintf(size, sizeof(size), "%dx%d", e->width, e->height);
        fprintf(f,
                "%-6s %9s | %8.3f %8.3f %+7.3f | %7.5f %7.5f %+8.5f | %6.2f %6.2f | %8.3f %8.3f\n",
                e->name, size, e->psnr_avg, q->psnr_avg, e->psnr_avg - q->psnr_avg, e->ssim_all,
                q->ssim_all, e->ssim_all - q->ssim_all, e->psnr_y, q->psnr_y, e->psnr_avg_left,
                q->psnr_avg_left);
    }
    fprintf(f,
            "targets for the software path (2 cores, default ladder, --preset veryfast, "
            "1080p30)%s:\n",
            standard ? "" : " -- NOTE: this run's conditions differ from the targets'");
    /* The verdict is on the paired ratio: alternating runs are there so
     * that each pair shares the machine's state (see eb_bench.h). */
    fprintf(f,
            "  %-4s throughput >= 1.15x the ffmpeg command line: %.4fx "
            "(median of the %d pairs' ratios)\n",
            paired >= 1.15 ? "PASS" : "MISS", paired, v->runs);
    *misses += paired < 1.15;
    fprintf(f, "       (ratio of the two medians above: %.3fx)\n", tput);
    fprintf(f, "       (on CPU seconds, which other load on the machine disturbs less: %.3fx)\n",
            v->ffmpeg_median.cpu_seconds / v->encbox_median.cpu_seconds);
    fprintf(f, "  %-4s peak RSS <= 0.75x ffmpeg's: %.3fx\n", rss <= 0.75 ? "PASS" : "MISS", rss);
    *misses += rss > 0.75;
    for (int i = 0; i < v->nb_rungs; i++) {
        double d = v->encbox_q[i].psnr_avg - v->ffmpeg_q[i].psnr_avg;
        int ok = v->encbox_q[i].psnr_avg > 0 && d >= -0.1;
        fprintf(f, "  %-4s PSNR %s no more than 0.1 dB below ffmpeg's: %.3f vs %.3f dB (%+.3f)\n",
                ok ? "PASS" : "MISS", v->encbox_q[i].name, v->encbox_q[i].psnr_avg,
                v->ffmpeg_q[i].psnr_avg, d);
        *misses += !ok;
    }
    {
        /* Say so when the PSNR verdict hangs on the reference's chroma
         * siting rather than on the encode. */
        int miss = 0, left_ok = 0;
        for (int i = 0; i < v->nb_rungs; i++) {
            if (v->encbox_q[i].psnr_avg - v->ffmpeg_q[i].psnr_avg >= -0.1)
                continue;
            miss++;
            left_ok += v->encbox_q[i].psnr_avg_left - v->ffmpeg_q[i].psnr_avg_left >= -0.1;
        }
        if (miss && left_ok == miss)
            fprintf(
                f,
                "  note: every PSNR miss turns into a pass against a left-sited-chroma reference\n"
                "        (H.264's default siting; swscale's default reference is centre-sited):\n"
                "        the gap is in chroma placement, not in the encode (Y PSNR column)\n");
    }
}

static void print_results(FILE *f, const EbBenchReport *r)
{
    EbBenchCapacity cap;
    if (eb_bench_capacity(r, &cap) < 0) {
        fprintf(f, "result: no backend completed a job\n");
        return;
    }
    fprintf(f, "result (%s backend):\n", cap.backend);
    fprintf(f, "  %d concurrent %dp%.0f ladders in real time on this box", cap.live_jobs,
            cap.source_height, cap.source_fps);
    if (cap.live_jobs == 0)
        fprintf(f, " (one ladder alone runs at %.2fx real time)", cap.realtime_ratio_1);
    fprintf(f, "\n  %.2f hours of VOD transcoded per hour\n", cap.vod_hours_per_hour);
}

/* ---- the command ----------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: encbox bench [options]\n"
            "  -o, --output DIR        results, cached source and scratch (default out/bench)\n"
            "      --input FILE        source (default: generated testsrc2 1080p30 + sine)\n"
            "      --seconds S         length of the generated source (default 20)\n"
            "      --max-concurrency N stop the sweep at N jobs (default 8; it stops earlier\n"
            "                          when the slowest job falls below real time)\n"
            "      --preset NAME       x264 preset / speed (default veryfast)\n"
            "      --backend NAME      sweep only this backend (default: every one in the build)\n"
            "      --runs N            alternating encbox/ffmpeg runs (default 2)\n"
            "      --no-ffmpeg         skip the head-to-head against the ffmpeg command line\n"
            "      --encrypt SCHEME    every encbox job encrypts (aes-128, cenc, cbcs): run\n"
            "                          with and without to see encryption's share\n"
            "      --scaler-frames N   frames for the scaling fan-out vs ffmpeg's split + scale\n"
            "                          (in process, one thread; default 150, 0 skips it)\n"
            "      --plan SPEC         capacity plan, e.g. 'live=40x1080p30,vod=500h/day'\n"
            "      --from FILE         plan from an earlier result (bench.json) without running;\n"
            "                          twice: a VOD result and a --live one (bench-live.json)\n"
            "      --headroom PCT      share of each box kept free in the plan (default 0)\n"
            "      --live              the live bench instead: 1, 2, ... simultaneous live\n"
            "                          ladders fed over SRT, encbox live and the ffmpeg command\n"
            "                          line side by side, frame-to-playlist delay\n"
            "      --live-height H     its source: 720 (default) or 1080, 30 fps\n"
            "      --live-seconds S    its feed's length, each step (default 20)\n"
            "      --max-channels N    its last step (default 8; each side stops earlier at\n"
            "                          its first step out of real time)\n"
            "Writes DIR/bench.json and DIR/bench.svg (--live: DIR/bench-live.json). Timings\n"
            "depend on what else the machine runs; compare figures from the same run only.\n");
}

/* 1-minute load average: how busy the machine was around a timing. */
double eb_bench_loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

void eb_bench_fill_host(EbBenchReport *r)
{
    char line[512];
    FILE *f;
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(r->date, sizeof(r->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    gethostname(r->host, sizeof(r->host) - 1);
    r->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->memory_gb = (double)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1 << 30);
    r->load_start = eb_bench_loadavg();
    if ((f = fopen("/proc/cpuinfo", "r"))) {
        while (fgets(line, sizeof(line), f)) {
            char *c = strchr(line, ':');
            if (!strncmp(line, "model name", 10) && c) {
                eb_bench_bprintf(r->cpu_model, sizeof(r->cpu_model), "%s", c + 2);
                r->cpu_model[strcspn(r->cpu_model, "\n")] = 0;
                break;
            }
        }
        fclose(f);
    }
}

static int plan_from(const EbBenchArgs *a, const EbBenchReport *r)
{
    EbBenchPlanRequest req;
    EbBenchCapacity cap;
    EbBenchPlan plan;
    char err[256];

    if (eb_bench_plan_parse(a->plan, &req, err, sizeof(err)) < 0) {
        fprintf(stderr, "encbox: --plan: %s\n", err);
        return EB_BENCH_EXIT_USAGE;
    }
    if (eb_bench_capacity(r, &cap) < 0) {
        fprintf(stderr, "encbox: --plan: the result holds no successful measurement\n");
        return EB_BENCH_EXIT_FAILED;
    }
    if (eb_bench_plan_compute(&req, &cap, a->headroom, &plan) < 0) {
        if (req.vod_hours_per_day > 0 && cap.vod_hours_per_hour <= 0)
            fprintf(stderr, "encbox: --plan: the result holds no VOD measurement; give a VOD "
                            "result too (--from twice)\n");
        else if (cap.live_measured)
            fprintf(stderr,
                    "encbox: --plan: live was measured at %dp%g only%s; measure %dp%g with "
                    "--live --live-height %d\n",
                    cap.live_height, cap.live_fps,
                    cap.vod_hours_per_hour > 0 ? " (and VOD ladders)" : "", req.live_height,
                    req.live_fps, req.live_height);
        else
            fprintf(stderr,
                    "encbox: --plan: only %dp%g ladders were measured (result of %s); "
                    "measure that profile with --input, or live with --live\n",
                    cap.source_height, cap.source_fps, r->date);
        return EB_BENCH_EXIT_USAGE;
    }
    printf("measured on %s (%s, %d cores), %s\n", r->host, r->cpu_model, r->cores, r->date);
    eb_bench_plan_print(stdout, &req, &cap, a->headroom, &plan);
    return 0;
}

/* --from once or twice: the second report adds what the first lacks (the
 * VOD sweep, or the --live measurement). */
static int plan_from_files(const EbBenchArgs *a, EbBenchReport *r)
{
    EbBenchReport *r2 = NULL;
    char err[512];

    if (eb_bench_report_read_json(a->from[0], r, err, sizeof(err)) < 0) {
        fprintf(stderr, "encbox: --from: %s\n", err);
        return EB_BENCH_EXIT_FAILED;
    }
    if (a->nb_from > 1) {
        r2 = calloc(1, sizeof(*r2));
        if (!r2 || eb_bench_report_read_json(a->from[1], r2, err, sizeof(err)) < 0) {
            fprintf(stderr, "encbox: --from: %s\n", r2 ? err : "out of memory");
            free(r2);
            return EB_BENCH_EXIT_FAILED;
        }
        if (!r->live.ran && r2->live.ran) {
            r->live = r2->live;
            printf("live measured on %s (%s, %d cores), %s\n", r2->host, r2->cpu_model, r2->cores,
                   r2->date);
        }
        if (r->nb_backends == 0 && r2->nb_backends > 0) {
            r->nb_backends = r2->nb_backends;
            memcpy(r->backends, r2->backends, sizeof(r->backends));
            r->source_width = r2->source_width;
            r->source_height = r2->source_height;
            r->source_fps = r2->source_fps;
            r->source_seconds = r2->source_seconds;
        }
        free(r2);
    }
    return plan_from(a, r);
}

/* The ffmpeg command line's version line, for the live report. */
static void ffmpeg_cli_version(char *out, size_t size)
{
    char line[256] = "";
    FILE *p = popen("ffmpeg -version 2>/dev/null", "r");

    if (p) {
        if (!fgets(line, sizeof(line), p))
            line[0] = 0;
        while (fgetc(p) != EOF)
            ;
        pclose(p);
    }
    line[strcspn(line, "\n")] = 0;
    eb_bench_bprintf(out, size, "%s", line[0] ? line : "unknown");
}

/* encbox bench --live: the live bench alone, its report in
 * DIR/bench-live.json (a VOD bench.json in the same folder is kept). */
static int run_live(const EbBenchArgs *a, EbBenchReport *r)
{
    EbBenchLiveArgs la = {.out_dir = a->out_dir,
                          .only_backend = a->only_backend,
                          .preset = a->preset,
                          .height = a->live_height,
                          .fps = 30,
                          .seconds = a->live_seconds,
                          .max_channels = a->max_channels};
    char path[1200];
    int ret, code = 0;

    ret = eb_bench_live_run(&la, &r->live); /* fills all of r->live */
    ffmpeg_cli_version(r->live.ffmpeg_version, sizeof(r->live.ffmpeg_version));
    r->load_end = eb_bench_loadavg();
    printf("\nencbox %s live bench, %s, %s (%s, %d cores, %.0f GB)\n", EB_VERSION, r->date, r->host,
           r->cpu_model, r->cores, r->memory_gb);
    printf("FFmpeg libraries %s; %s\n", av_version_info(), r->live.ffmpeg_version);
    printf("load average (1 min) %.2f at the start, %.2f at the end\n", r->load_start, r->load_end);
    printf("command: %s\n", r->command);
    printf("NOTE: wall-clock figures are noisy on a shared machine; compare within one run.\n\n");
    eb_bench_live_print(stdout, &r->live, r->cores);
    eb_bench_bprintf(path, sizeof(path), "%s/bench-live.json", a->out_dir);
    if (eb_bench_report_write_json(r, path) < 0) {
        fprintf(stderr, "encbox: bench: cannot write %s\n", path);
        code = EB_BENCH_EXIT_FAILED;
    } else {
        printf("\nwrote %s\n", path);
    }
    if (ret == -EINTR)
        return 130;
    if (ret < 0 || !r->live.ran)
        code = EB_BENCH_EXIT_FAILED;
    if (a->plan && r->live.ran) {
        int pc;
        printf("\n");
        pc = plan_from(a, r);
        if (!code)
            code = pc;
    }
    return code;
}

int eb_bench_cli(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"seconds", required_argument, NULL, 's'},
                                         {"max-concurrency", required_argument, NULL, 'm'},
                                         {"preset", required_argument, NULL, 'p'},
                                         {"backend", required_argument, NULL, 'b'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {"no-ffmpeg", no_argument, NULL, 'n'},
                                         {"plan", required_argument, NULL, 'P'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"headroom", required_argument, NULL, 'H'},
                                         {"scaler-frames", required_argument, NULL, 'S'},
                                         {"live", no_argument, NULL, 'L'},
                                         {"live-height", required_argument, NULL, 'Y'},
                                         {"live-seconds", required_argument, NULL, 'T'},
                                         {"max-channels", required_argument, NULL, 'C'},
                                         {"encrypt", required_argument, NULL, 'E'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    EbBenchArgs a = {.out_dir = "out/bench",
                     .preset = "veryfast",
                     .seconds = 20,
                     .max_concurrency = 8,
                     .runs = 2,
                     .scaler_frames = 150,
                     .live_height = 720,
                     .live_seconds = 20,
                     .max_channels = 8};
    EbBenchReport *r;
    EbBenchSource src;
    const EbHalBackend *const *be = eb_hal_backends();
    char source[1024], path[1200];
    int c, code = 0, misses = 0;
    size_t cl = 0;

    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the table in order with the progress lines */
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            a.out_dir = optarg;
            break;
        case 'i':
            a.input = optarg;
            break;
        case 's':
            a.seconds = atof(optarg);
            break;
        case 'm':
            a.max_concurrency = atoi(optarg);
            break;
        case 'p':
            a.preset = optarg;
            break;
        case 'b':
            a.only_backend = optarg;
            break;
        case 'r':
            a.runs = atoi(optarg);
            break;
        case 'n':
            a.no_ffmpeg = 1;
            break;
        case 'E':
            a.encrypt = optarg;
            break;
        case 'P':
            a.plan = optarg;
            break;
        case 'f':
            if (a.nb_from < 2)
                a.from[a.nb_from] = optarg;
            a.nb_from++;
            break;
        case 'H':
            a.headroom = atof(optarg) / 100.0;
            break;
        case 'S':
            a.scaler_frames = atoi(optarg);
            break;
        case 'L':
            a.live = 1;
            break;
        case 'Y':
            a.live_height = atoi(optarg);
            break;
        case 'T':
            a.live_seconds = atof(optarg);
            break;
        case 'C':
            a.max_channels = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EB_BENCH_EXIT_USAGE;
        }
    }
    if (optind != argc || !(a.seconds >= 1 && a.seconds <= 3600) || a.max_concurrency < 1 ||
        a.max_concurrency > 64 || a.runs < 1 || a.runs > EB_BENCH_MAX_RUNS || a.scaler_frames < 0 ||
        a.scaler_frames > 100000 || !(a.headroom >= 0 && a.headroom <= 0.9) ||
        (a.nb_from && !a.plan) || a.nb_from > 2 ||
        (a.live_height != 720 && a.live_height != 1080) ||
        !(a.live_seconds >= 6 && a.live_seconds <= 600) || a.max_channels < 1 ||
        a.max_channels > EB_BENCH_LIVE_MAX_CHANNELS) {
        fprintf(stderr,
                "encbox: bench: bad arguments (--seconds 1..3600, --max-concurrency "
                "1..64, --runs 1..%d, --headroom 0..90, --scaler-frames 0..100000, --from "
                "needs --plan and is given at most twice, --live-height 720 or 1080, "
                "--live-seconds 6..600, --max-channels 1..%d)\n",
                EB_BENCH_MAX_RUNS, EB_BENCH_LIVE_MAX_CHANNELS);
        usage(stderr);
        return EB_BENCH_EXIT_USAGE;
    }
    if (a.only_backend && !eb_hal_find(a.only_backend)) {
        fprintf(stderr, "encbox: bench: backend '%s' is not in this build\n", a.only_backend);
        return EB_BENCH_EXIT_USAGE;
    }
    r = calloc(1, sizeof(*r));
    if (!r)
        return EB_BENCH_EXIT_FAILED;
    if (a.nb_from) {
        code = plan_from_files(&a, r);
        free(r);
        return code;
    }

    eb_bench_fill_host(r);
    cl = eb_bench_bprintf(r->command, sizeof(r->command), "encbox");
    for (int i = 0; i < argc && cl < sizeof(r->command); i++)
        cl += eb_bench_bprintf(r->command + cl, sizeof(r->command) - cl, " %s", argv[i]);
    eb_bench_bprintf(r->preset, sizeof(r->preset), "%s", a.preset);
    eb_bench_bprintf(path, sizeof(path), "%s/work", a.out_dir);
    if (eb_bench_mkdirs(path) < 0) {
        fprintf(stderr, "encbox: bench: cannot create %s: %s\n", path, strerror(errno));
        free(r);
        return EB_BENCH_EXIT_FAILED;
    }
    if (a.live) {
        code = run_live(&a, r);
        free(r);
        return code;
    }
    if (a.input)
        eb_bench_bprintf(source, sizeof(source), "%s", a.input);
    else if (make_source(&a, source, sizeof(source)) < 0) {
        free(r);
        return EB_BENCH_EXIT_FAILED;
    }
    if (eb_bench_probe_source(source, &src) < 0 || src.width <= 0 || src.fps <= 0) {
        fprintf(stderr, "encbox: bench: %s: not a video file this build can read\n", source);
        free(r);
        return EB_BENCH_EXIT_FAILED;
    }
    eb_bench_bprintf(r->source, sizeof(r->source), "%s", source);
    r->source_generated = !a.input;
    r->source_seconds = src.seconds;
    r->source_width = src.width;
    r->source_height = src.height;
    r->source_fps = src.fps;
    fprintf(stderr,
            "bench: %s: %dx%d %.3f fps, %.2f s; %s, %d cores; timings are noisy when "
            "the machine is shared\n",
            source, src.width, src.height, src.fps, src.seconds, r->host, r->cores);

    for (int i = 0; be[i] && r->nb_backends < EB_BENCH_MAX_BACKENDS; i++) {
        EbBenchBackend *b = &r->backends[r->nb_backends];
        EbHalProbe p;
        if (a.only_backend && strcmp(a.only_backend, be[i]->name))
            continue;
        r->nb_backends++;
        eb_bench_bprintf(b->name, sizeof(b->name), "%s", be[i]->name);
        memset(&p, 0, sizeof(p));
        be[i]->probe(&p);
        b->usable = p.usable;
        if (!p.usable) {
            eb_bench_bprintf(b->reason, sizeof(b->reason), "%s", p.reason);
            fprintf(stderr, "bench: %s: skipped: %s\n", b->name, b->reason);
            continue;
        }
        sweep(&a, source, be[i], b);
    }

    if (a.scaler_frames > 0) {
        fprintf(stderr, "bench: scaling fan-out vs ffmpeg's split + scale, %d frames ...\n",
                a.scaler_frames);
        eb_bench_scaler_run(source, a.scaler_frames, &r->scaler);
    } else {
        eb_bench_bprintf(r->scaler.skipped, sizeof(r->scaler.skipped), "--scaler-frames 0");
    }
    if (a.no_ffmpeg) {
        eb_bench_bprintf(r->versus.skipped, sizeof(r->versus.skipped), "--no-ffmpeg");
    } else if (a.only_backend && strcmp(a.only_backend, "software")) {
        eb_bench_bprintf(r->versus.skipped, sizeof(r->versus.skipped),
                "the ffmpeg head-to-head is on the software path only");
    } else {
        versus(&a, source, &src, &r->versus);
    }

    r->load_end = eb_bench_loadavg();
    printf("\nencbox %s bench, %s, %s (%s, %d cores, %.0f GB)\n", EB_VERSION, r->date, r->host,
           r->cpu_model, r->cores, r->memory_gb);
    printf("load average (1 min) %.2f at the start, %.2f at the end\n", r->load_start, r->load_end);
    printf("command: %s\n", r->command);
    printf("source: %s (%dx%d, %.3f fps, %.2f s%s), preset %s\n", r->source, r->source_width,
           r->source_height, r->source_fps, r->source_seconds,
           r->source_generated ? ", generated testsrc2 + sine" : "", r->preset);
    printf("NOTE: wall-clock figures are noisy on a shared machine; compare within one run.\n\n");
    eb_bench_report_print_sweep(stdout, r);
    printf("(fps/job: source frames per second per job, mean; rt: slowest job's media seconds "
           "per wall second;\n cpu%%: of all %d cores; rss_MB: sum of the jobs' peaks; sess: "
           "device sessions; Mpix/s: pixels encoded, all rungs)\n\n",
           r->cores);
    print_results(stdout, r);
    printf("\n");
    for (int b = 0; b < r->nb_backends; b++)
        if (r->backends[b].nb_steps > 0 && !r->backends[b].steps[0].failed) {
            char what[96];
            eb_bench_bprintf(what, sizeof(what), "%s backend, one job alone", r->backends[b].name);
            print_stages(stdout, what, &r->backends[b].steps[0].stages);
            printf("\n");
        }
    eb_bench_versus_print(stdout, r, &misses);
    if (r->versus.ran) {
        printf("\n");
        print_stages(stdout, "encbox in the head-to-head, last run", &r->versus.encbox_stages);
        printf("ffmpeg command: %s\n", r->versus.ffmpeg_command);
    }
    printf("\n");
    eb_bench_scaler_print(stdout, &r->scaler, standard_conditions(r), &misses);

    eb_bench_bprintf(path, sizeof(path), "%s/bench.json", a.out_dir);
    if (eb_bench_report_write_json(r, path) < 0) {
        fprintf(stderr, "encbox: bench: cannot write %s\n", path);
        code = EB_BENCH_EXIT_FAILED;
    } else {
        printf("\nwrote %s\n", path);
    }
    eb_bench_bprintf(path, sizeof(path), "%s/bench.svg", a.out_dir);
    if (eb_bench_report_write_svg(r, path) < 0) {
        fprintf(stderr, "encbox: bench: cannot write %s\n", path);
        code = EB_BENCH_EXIT_FAILED;
    } else {
        printf("wrote %s\n", path);
    }
    if (a.plan) {
        int pc;
        printf("\n");
        pc = plan_from(&a, r);
        if (!code)
            code = pc;
    }
    if (!code) {
        EbBenchCapacity cap;
        if (eb_bench_capacity(r, &cap) < 0)
            code = EB_BENCH_EXIT_FAILED;
    }
    (void)misses; /* a MISS is a finding, not a failure of the bench */
    free(r);
    return code;
}
