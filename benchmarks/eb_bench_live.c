/*
 * `encbox bench --live`: how many simultaneous live ladders of one source
 * this box carries in real time, encbox live against the ffmpeg command
 * line packaging the same ladder from the same SRT feed, and how long a
 * frame waits from its arrival to its segment's listing in the playlist.
 *
 * Once: a testsrc2 + sine source of --live-seconds (H.264 high + AAC, 2 s
 * GOP, MPEG-TS) in a temporary folder that every way out removes. Then per
 * step k = 1, 2, ..., each side in turn (encbox, then ffmpeg, so drift in
 * the machine's speed reaches both), k channels at once, each fed by its
 * own publisher
 *
 *   ffmpeg -re -i SRC -c copy -f mpegts 'srt://127.0.0.1:P?mode=caller&pkt_size=1316'
 *
 * into, on encbox's side, a relay piped into encbox live (the CLI reads
 * its feed on stdin; the daemon takes SRT itself):
 *
 *   ffmpeg -i 'srt://127.0.0.1:P?mode=listener' -c copy -f mpegts - |
 *     encbox live chK -o TMP --segment 2 --window 30 --no-record --events -q
 *
 * and on ffmpeg's side eb_bench_ffmpeg_ladder()'s command (the VOD
 * head-to-head's ladder, rate control and GOP) with a live HLS output:
 * 2 s fMP4 segments, 15 listed, delete_segments+program_date_time.
 * Both listeners probe at most 1 s of the feed (-analyzeduration 1000000),
 * as encbox's live input does: with ffmpeg's default both sides would spend
 * their first seconds probing, and the delays would measure that.
 *
 * A side stops at its first step that does not keep real time (the rule is
 * eb_bench_live_sustained) or at --max-channels; the sweep ends when both
 * sides have stopped.
 *
 * Delay: the bench watches each channel's top-rung media playlist (stat
 * every 10 ms, read on change; both writers replace it by rename) and
 * notes the time each segment is first listed. A frame at media time t
 * arrived at T0 + t, T0 being when its publisher was started (-re paces
 * from there, the same reference for both sides), so it waited
 * listed - (T0 + t). Median and 95th percentile over every frame of every
 * channel of a step.
 *
 * CPU time and peak RSS come from wait4()'s rusage of each packager (the
 * encbox live process, or the ffmpeg process); the encbox side's relays
 * are counted apart. Never run by CI: only the pure parts are tested
 * (tests/test_bench.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <libavformat/avformat.h>

#include "eb_bench.h"
#include "eb_clock.h"
#include "eb_hal.h"

extern char **environ;

#define LIVE_SEGMENT_SECONDS 2.0
#define LIVE_WINDOW_SECONDS 30.0
#define LIVE_LIST_SIZE 15 /* ffmpeg's window: 15 x 2 s, as encbox's 30 s */
#define LIVE_POLL_MS 10   /* playlist stat period */
#define LIVE_MAX_SEGMENTS 1024
#define LIVE_GRACE_SECONDS 45.0 /* past the feed's length before a step is killed */

/* ---- pure parts (tested) ------------------------------------------------ */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

double eb_bench_percentile(double *v, int n, double p)
{
    double rank, frac;
    int lo;

    if (n < 1)
        return 0;
    qsort(v, n, sizeof(v[0]), cmp_double);
    p = p < 0 ? 0 : p > 100 ? 100 : p;
    rank = p / 100.0 * (n - 1);
    lo = (int)floor(rank);
    frac = rank - lo;
    return lo + 1 < n ? v[lo] + frac * (v[lo + 1] - v[lo]) : v[n - 1];
}

int64_t eb_bench_live_delays(const EbBenchLiveSegment *segs, int nb, double fps, double *median,
                             double *p95)
{
    int64_t count = 0, k = 0;
    double *v;

    *median = *p95 = 0;
    if (nb < 0 || !(fps > 0))
        return -EINVAL;
    /* A frame belongs to the segment whose span holds its start; a
     * thousandth of a frame of slack keeps EXTINF's rounding (6 decimals)
     * from adding one. */
    for (int i = 0; i < nb; i++) {
        double len = segs[i].end - segs[i].start;
        if (len > 0)
            count += (int64_t)ceil(len * fps - 1e-3);
    }
    if (count == 0)
        return 0;
    if (count > INT32_MAX || !(v = malloc(count * sizeof(*v))))
        return -ENOMEM;
    for (int i = 0; i < nb; i++) {
        double len = segs[i].end - segs[i].start;
        int64_t n = len > 0 ? (int64_t)ceil(len * fps - 1e-3) : 0;
        for (int64_t j = 0; j < n; j++)
            v[k++] = segs[i].listed - (segs[i].start + j / fps);
    }
    *median = eb_bench_percentile(v, (int)count, 50);
    *p95 = eb_bench_percentile(v, (int)count, 95);
    free(v);
    return count;
}

int eb_bench_live_sustained(const EbBenchLiveChannel *c, char *why, size_t why_size)
{
    char dummy[8];
    double sent = (double)c->frames_sent;

    if (!why || !why_size) {
        why = dummy;
        why_size = sizeof(dummy);
    }
    why[0] = 0;
    if (c->exit_status != 0) {
        snprintf(why, why_size, "%s exited with status %d", c->is_ffmpeg ? "ffmpeg" : "encbox",
                 c->exit_status);
        return 0;
    }
    if (!(sent > 0)) {
        snprintf(why, why_size, "no frames sent");
        return 0;
    }
    /* The side's own rule first: it says more than a frame count. */
    if (c->is_ffmpeg && !(c->speed >= 0.98)) {
        snprintf(why, why_size, "speed %.3fx (%.1f fps)", c->speed, c->fps);
        return 0;
    }
    if (!c->is_ffmpeg && (double)c->dropped >= 0.005 * sent) {
        snprintf(why, why_size, "dropped %lld frames (%.1f%%)", (long long)c->dropped,
                 100.0 * c->dropped / sent);
        return 0;
    }
    if (!c->is_ffmpeg && !(c->max_lag < 1.0)) {
        snprintf(why, why_size, "lag reached %.2f s", c->max_lag);
        return 0;
    }
    if (fabs((double)c->frames - sent) > 0.01 * sent) {
        snprintf(why, why_size, "%lld frames out of %lld sent", (long long)c->frames,
                 (long long)c->frames_sent);
        return 0;
    }
    return 1;
}

int eb_bench_live_parse_playlist(const char *text, int64_t *first_seq, double *durations, int max)
{
    const char *p = text;
    int n = 0, pending = 0;
    double dur = 0;

    *first_seq = 0;
    if (!text || strncmp(text, "#EXTM3U", 7))
        return -EINVAL;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && p[len - 1] == '\r')
            len--;
        if (!strncmp(p, "#EXT-X-MEDIA-SEQUENCE:", 22)) {
            *first_seq = strtoll(p + 22, NULL, 10);
        } else if (!strncmp(p, "#EXTINF:", 8)) {
            dur = strtod(p + 8, NULL);
            pending = 1;
        } else if (!strncmp(p, "#EXT-X-STREAM-INF", 17)) {
            return -EINVAL; /* a master playlist */
        } else if (len && p[0] != '#' && pending) {
            if (n < max)
                durations[n] = dur;
            n++;
            pending = 0;
        }
        p = e ? e + 1 : p + len;
    }
    return n < max ? n : max;
}

int eb_bench_live_capacity(const EbBenchLive *l, int ffmpeg_side)
{
    const EbBenchLiveStep *s = ffmpeg_side ? l->ffmpeg : l->encbox;
    int n = ffmpeg_side ? l->nb_ffmpeg : l->nb_encbox, best = 0;

    for (int i = 0; i < n && s[i].channels == best + 1 && s[i].sustained; i++)
        best = s[i].channels;
    return best;
}

/* ---- the runner ------------------------------------------------------------ */

static atomic_int live_stop;

static void live_on_signal(int sig)
{
    (void)sig;
    atomic_store(&live_stop, 1);
}

/* Starts argv[0] (PATH search): stdin from in_fd (-1: /dev/null), stdout
 * to out_fd (-1: the log), stderr to log. The pid or a negative errno. */
static pid_t spawn_io(char *const argv[], int in_fd, int out_fd, const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int ret;

    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
    ret = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return ret ? -ret : pid;
}

static double rusage_cpu(const struct rusage *ru)
{
    return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + ru->ru_stime.tv_sec +
           ru->ru_stime.tv_usec / 1e6;
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs one child to its end (the source's encode). Its exit code, or a
 * negative errno; a stop request kills it. */
static int run_wait(char *const argv[], const char *log)
{
    pid_t pid = spawn_io(argv, -1, -1, log);
    int status;

    if (pid < 0)
        return pid;
    for (;;) {
        pid_t p = waitpid(pid, &status, WNOHANG);
        if (p == pid)
            break;
        if (p < 0 && errno != EINTR)
            return -errno;
        if (atomic_load(&live_stop)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -EINTR;
        }
        poll(NULL, 0, 50);
    }
    return exit_code(status);
}

/* The source: testsrc2 + a 440 Hz tone, H.264 high at a contribution
 * bitrate, AAC, a keyframe every 2 s, MPEG-TS as an SRT encoder sends. */
static int make_source(const char *path, const char *log, int w, int h, double fps, double seconds)
{
    char size[64], dur[32], gop[32], rate[32], buf[32];
    int mbps = h > 720 ? 8 : 4;
    char *argv[] = {"ffmpeg",
                    "-nostdin",
                    "-v",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    size,
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
                    "-profile:v",
                    "high",
                    "-b:v",
                    rate,
                    "-maxrate",
                    rate,
                    "-bufsize",
                    buf,
                    "-g",
                    gop,
                    "-keyint_min",
                    gop,
                    "-sc_threshold",
                    "0",
                    "-pix_fmt",
                    "yuv420p",
                    "-chroma_sample_location",
                    "center",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "128k",
                    "-shortest",
                    "-f",
                    "mpegts",
                    (char *)path,
                    NULL};

    eb_bench_bprintf(size, sizeof(size), "testsrc2=size=%dx%d:rate=%g", w, h, fps);
    eb_bench_bprintf(dur, sizeof(dur), "%g", seconds);
    eb_bench_bprintf(gop, sizeof(gop), "%d", (int)lround(2 * fps));
    eb_bench_bprintf(rate, sizeof(rate), "%dM", mbps);
    eb_bench_bprintf(buf, sizeof(buf), "%dM", 2 * mbps);
    return run_wait(argv, log);
}

/* Video packets in the file: the frames a publisher sends. */
static int64_t count_video_frames(const char *path)
{
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = av_packet_alloc();
    int64_t n = 0;
    int vi;

    if (!pkt || avformat_open_input(&fmt, path, NULL, NULL) < 0) {
        av_packet_free(&pkt);
        return -EIO;
    }
    if (avformat_find_stream_info(fmt, NULL) < 0 ||
        (vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0)) < 0) {
        n = -EIO;
    } else {
        while (av_read_frame(fmt, pkt) >= 0) {
            n += pkt->stream_index == vi;
            av_packet_unref(pkt);
        }
    }
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    return n;
}

/* A UDP port nothing holds now on the loopback (the kernel's choice). */
static int free_udp_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd < 0)
        return -errno;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* Whether some socket is bound to UDP port on 127.0.0.1 or any address:
 * the SRT listener is up and a caller can connect. */
static int udp_port_bound(int port)
{
    char want_lo[32], want_any[32], line[512];
    FILE *f = fopen("/proc/net/udp", "r");
    int found = 0;

    if (!f)
        return 0;
    eb_bench_bprintf(want_lo, sizeof(want_lo), "0100007F:%04X ", port);
    eb_bench_bprintf(want_any, sizeof(want_any), "00000000:%04X ", port);
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, want_lo) || strstr(line, want_any);
    fclose(f);
    return found;
}

/* One channel while its step runs. */
typedef struct LiveProc {
    int index;
    int port;
    pid_t pub, relay, pkg;
    int out_fd; /* the packager's stdout: encbox events or ffmpeg -progress */
    char line[8192];
    size_t line_len;
    double t0;   /* the publisher's start (monotonic seconds) */
    double exit; /* the packager's exit */
    char playlist[4200];
    struct stat seen;
    int have_seen;
    int64_t first_seq;
    int nb_seq;
    double listed[LIVE_MAX_SEGMENTS], dur[LIVE_MAX_SEGMENTS];
    double out_fps; /* encbox: the plan's rate (its live input snaps the feed's) */
    /* throughput between the first segment's worth of frames and the feed's end */
    double fps_t1, fps_t2;
    int64_t fps_f1, fps_f2;
    /* ffmpeg -progress: the block being read, and the lag anchor */
    int64_t ff_frame;
    double ff_out_time, ff_speed, ff_anchor;
    EbBenchLiveChannel c;
    char log[4200], relay_log[4200], pub_log[4200];
} LiveProc;

typedef struct LiveCtx {
    const EbBenchLiveArgs *a;
    const char *tmp;
    const char *source;
    char log_dir[4200];
    EbBenchSource src;
    int64_t frames_sent;
    EbRungPlan plan[EB_LADDER_MAX_RUNGS];
    int nb_rungs;
    EbBenchLive *out;
} LiveCtx;

/* A segment count of frames is through: the start-up (probe, burst,
 * encoder delay) is behind. */
static int warmed_up(const LiveCtx *x, double frames, double fps)
{
    return frames >= LIVE_SEGMENT_SECONDS * (fps > 0 ? fps : x->src.fps);
}

static void note_progress(const LiveCtx *x, LiveProc *p, int64_t frames, double speed, double now)
{
    p->c.frames = frames;
    if (!warmed_up(x, (double)frames, p->out_fps))
        return;
    if (speed > 0 && (p->c.min_reported_speed == 0 || speed < p->c.min_reported_speed))
        p->c.min_reported_speed = speed;
    if (!p->fps_t1) {
        p->fps_t1 = now;
        p->fps_f1 = frames;
    }
    if (now - p->t0 <= x->src.seconds + 0.25) { /* the feed still coming */
        p->fps_t2 = now;
        p->fps_f2 = frames;
    }
}

/* One line of `encbox live --events`. */
static void encbox_line(const LiveCtx *x, LiveProc *p, const char *line, double now)
{
    json_t *o = json_loads(line, 0, NULL);
    const char *ev = json_string_value(json_object_get(o, "event"));

    if (ev && !strcmp(ev, "plan")) {
        p->out_fps = json_number_value(json_object_get(o, "fps"));
    } else if (ev && !strcmp(ev, "progress")) {
        json_t *r0 = json_array_get(json_object_get(o, "rungs"), 0);
        double lag = json_number_value(json_object_get(o, "lag_seconds"));
        p->c.dropped = json_integer_value(json_object_get(o, "dropped"));
        if (lag > p->c.max_lag)
            p->c.max_lag = lag;
        note_progress(x, p, json_integer_value(json_object_get(r0, "frames")),
                      json_number_value(json_object_get(o, "speed")), now);
    }
    json_decref(o);
}

/* One line of ffmpeg's -progress: key=value, a block ends at progress=. */
static void ffmpeg_line(const LiveCtx *x, LiveProc *p, const char *line, double now)
{
    if (!strncmp(line, "frame=", 6)) {
        p->ff_frame = strtoll(line + 6, NULL, 10);
    } else if (!strncmp(line, "out_time_us=", 12)) {
        p->ff_out_time = strtoll(line + 12, NULL, 10) / 1e6;
    } else if (!strncmp(line, "speed=", 6)) {
        p->ff_speed = strtod(line + 6, NULL); /* "N/A" reads as 0 */
    } else if (!strncmp(line, "progress=", 9)) {
        /* ffmpeg does not report a lag; this estimate is wall time less
         * output time, from its lowest (the encoder's fixed delay out). */
        if (warmed_up(x, (double)p->ff_frame, 0) && p->ff_out_time > 0) {
            double behind = now - p->t0 - p->ff_out_time;
            if (!p->ff_anchor || behind < p->ff_anchor)
                p->ff_anchor = behind;
            if (behind - p->ff_anchor > p->c.max_lag)
                p->c.max_lag = behind - p->ff_anchor;
        }
        note_progress(x, p, p->ff_frame, p->ff_speed, now);
    }
}

/* Reads what the packager wrote; 1 at its end of file. */
static int read_lines(const LiveCtx *x, LiveProc *p, double now)
{
    char buf[4096];
    ssize_t n = read(p->out_fd, buf, sizeof(buf));

    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : 1;
    if (n == 0)
        return 1;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (p->line_len < sizeof(p->line) - 1)
                p->line[p->line_len++] = buf[i];
            continue;
        }
        p->line[p->line_len] = 0;
        if (p->c.is_ffmpeg)
            ffmpeg_line(x, p, p->line, now);
        else
            encbox_line(x, p, p->line, now);
        p->line_len = 0;
    }
    return 0;
}

/* Notes the segments the top rung's playlist lists for the first time. */
static void check_playlist(LiveProc *p, double now)
{
    static char text[1 << 18];
    double dur[LIVE_MAX_SEGMENTS];
    struct stat st;
    int64_t first;
    size_t len;
    FILE *f;
    int n;

    if (stat(p->playlist, &st) < 0)
        return;
    if (p->have_seen && st.st_ino == p->seen.st_ino && st.st_size == p->seen.st_size &&
        st.st_mtim.tv_sec == p->seen.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == p->seen.st_mtim.tv_nsec)
        return;
    if (!(f = fopen(p->playlist, "r")))
        return;
    len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = 0;
    n = eb_bench_live_parse_playlist(text, &first, dur, LIVE_MAX_SEGMENTS);
    if (n < 0)
        return; /* caught mid-write: read again next time */
    p->seen = st;
    p->have_seen = 1;
    if (p->nb_seq == 0 && n > 0)
        p->first_seq = first;
    for (int i = 0; i < n; i++) {
        int64_t k = first + i - p->first_seq;
        if (k < 0 || k >= LIVE_MAX_SEGMENTS)
            continue;
        /* first sighting only; a window that slid keeps older entries */
        for (; p->nb_seq <= k; p->nb_seq++)
            p->listed[p->nb_seq] = -1;
        if (p->listed[k] < 0) {
            p->listed[k] = now - p->t0;
            p->dur[k] = dur[i];
        }
    }
}

/* ---- one step --------------------------------------------------------------- */

static void kill_all(LiveProc *ps, int k, int sig)
{
    for (int i = 0; i < k; i++) {
        if (ps[i].pub > 0)
            kill(ps[i].pub, sig);
        if (ps[i].relay > 0)
            kill(ps[i].relay, sig);
        if (ps[i].pkg > 0)
            kill(ps[i].pkg, sig);
    }
}

static int children_left(const LiveProc *ps, int k)
{
    int n = 0;
    for (int i = 0; i < k; i++)
        n += (ps[i].pub > 0) + (ps[i].relay > 0) + (ps[i].pkg > 0) + (ps[i].out_fd >= 0);
    return n;
}

static void reap(LiveProc *ps, int k, double now)
{
    struct rusage ru;
    int status;
    pid_t pid;

    while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
        for (int i = 0; i < k; i++) {
            LiveProc *p = &ps[i];
            if (pid == p->pkg) {
                p->pkg = 0;
                p->exit = now;
                p->c.exit_status = exit_code(status);
                p->c.cpu_seconds = rusage_cpu(&ru);
                p->c.peak_rss_mb = ru.ru_maxrss / 1024.0;
            } else if (pid == p->relay) {
                p->relay = 0;
                p->c.relay_cpu_seconds = rusage_cpu(&ru);
                p->c.relay_peak_rss_mb = ru.ru_maxrss / 1024.0;
            } else if (pid == p->pub) {
                p->pub = 0;
            }
        }
    }
}

/* Starts channel i's listener side: the relay and encbox live, or the
 * ffmpeg ladder. 0 or a negative errno. */
static int start_packager(LiveCtx *x, LiveProc *p, int ffmpeg_side, const char *media)
{
    int out[2], feed[2] = {-1, -1};
    char url[128], chan[32];

    eb_bench_bprintf(url, sizeof(url), "srt://127.0.0.1:%d?mode=listener", p->port);
    eb_bench_bprintf(chan, sizeof(chan), "ch%d", p->index + 1);
    eb_bench_bprintf(p->log, sizeof(p->log), "%s/%s-%d-%s.log", x->log_dir,
            ffmpeg_side ? "ffmpeg" : "encbox", p->index + 1, chan);
    if (pipe2(out, O_CLOEXEC) < 0)
        return -errno;
    if (ffmpeg_side) {
        static const char *const in_opts[] = {"-nostats",  "-analyzeduration", "1000000",
                                              "-progress", "pipe:1",           NULL};
        EbBenchFfmpegCommand *cmd = calloc(1, sizeof(*cmd));
        char dir[4300];
        EbBenchFfmpegLadder fl = {.input = url,
                                  .input_options = in_opts,
                                  .preset = x->a->preset,
                                  .src = &x->src,
                                  .plan = x->plan,
                                  .nb_rungs = x->nb_rungs,
                                  .segment_seconds = LIVE_SEGMENT_SECONDS,
                                  .live_list_size = LIVE_LIST_SIZE,
                                  .out = dir};
        if (!cmd) {
            close(out[0]);
            close(out[1]);
            return -ENOMEM;
        }
        eb_bench_bprintf(dir, sizeof(dir), "%s/%s", media, chan);
        eb_bench_mkdirs(dir);
        eb_bench_ffmpeg_ladder(cmd, &fl);
        if (p->index == 0)
            eb_bench_command_line(cmd->argv, x->out->ffmpeg_command,
                                  sizeof(x->out->ffmpeg_command));
        eb_bench_bprintf(p->playlist, sizeof(p->playlist), "%s/0/index.m3u8", dir);
        p->pkg = spawn_io(cmd->argv, -1, out[1], p->log);
        free(cmd);
    } else {
        char *relay[] = {"ffmpeg",  "-nostdin", "-nostats", "-v", "error", "-analyzeduration",
                         "1000000", "-i",       url,        "-c", "copy",  "-f",
                         "mpegts",  "-",        NULL};
        char *enc[] = {"/proc/self/exe",     "live",        chan,       "-o", (char *)media,
                       "--segment",          "2",           "--window", "30", "--preset",
                       (char *)x->a->preset, "--no-record", "--events", "-q", NULL};
        if (pipe2(feed, O_CLOEXEC) < 0) {
            close(out[0]);
            close(out[1]);
            return -errno;
        }
        eb_bench_bprintf(p->relay_log, sizeof(p->relay_log), "%s/relay-%d.log", x->log_dir, p->index + 1);
        eb_bench_bprintf(p->playlist, sizeof(p->playlist), "%s/live/%s/hls/%s/index.m3u8", media, chan,
                x->plan[0].rung.name);
        if (p->index == 0) {
            char a[512], b[512];
            eb_bench_command_line(relay, a, sizeof(a));
            enc[0] = "encbox";
            eb_bench_command_line(enc, b, sizeof(b));
            enc[0] = "/proc/self/exe";
            eb_bench_bprintf(x->out->encbox_command, sizeof(x->out->encbox_command), "%s | %s", a, b);
        }
        p->relay = spawn_io(relay, -1, feed[1], p->relay_log);
        p->pkg = spawn_io(enc, feed[0], out[1], p->log);
        close(feed[0]);
        close(feed[1]);
        if (p->relay < 0) {
            close(out[0]);
            close(out[1]);
            return p->relay;
        }
    }
    close(out[1]);
    if (p->pkg < 0) {
        close(out[0]);
        return p->pkg;
    }
    p->out_fd = out[0];
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

static void finish_step(LiveCtx *x, LiveProc *ps, int k, double start, double end,
                        EbBenchLiveStep *st)
{
    EbBenchLiveSegment *segs = calloc((size_t)k * LIVE_MAX_SEGMENTS, sizeof(*segs));
    double fps = ps[0].c.is_ffmpeg || !(ps[0].out_fps > 0) ? x->src.fps : ps[0].out_fps;
    int nb = 0;

    st->channels = k;
    st->sustained = 1;
    st->wall_seconds = end - start;
    st->min_speed = st->min_reported_speed = 1e30;
    for (int i = 0; i < k; i++) {
        LiveProc *p = &ps[i];
        double t = 0;
        char why[200];
        p->c.fps = p->fps_t2 > p->fps_t1 ? (p->fps_f2 - p->fps_f1) / (p->fps_t2 - p->fps_t1) : 0;
        p->c.speed = p->c.fps / x->src.fps;
        for (int s = 0; s < p->nb_seq; s++) {
            if (p->listed[s] < 0) {
                /* never seen listed (it cannot happen at a 10 ms poll and a
                 * 30 s window): no delay, its nominal span kept */
                t += LIVE_SEGMENT_SECONDS;
                continue;
            }
            p->c.segments++;
            if (segs)
                segs[nb++] = (EbBenchLiveSegment){p->listed[s], t, t + p->dur[s]};
            t += p->dur[s];
        }
        if (st->sustained && !eb_bench_live_sustained(&p->c, why, sizeof(why))) {
            st->sustained = 0;
            eb_bench_bprintf(st->why, sizeof(st->why), "channel %d: %s", i + 1, why);
        }
        st->aggregate_fps += p->c.fps;
        st->min_speed = fmin(st->min_speed, p->c.speed);
        st->min_reported_speed = fmin(st->min_reported_speed, p->c.min_reported_speed);
        st->dropped += p->c.dropped;
        st->frames += p->c.frames;
        st->frames_sent += p->c.frames_sent;
        st->max_lag = fmax(st->max_lag, p->c.max_lag);
        st->cpu_seconds += p->c.cpu_seconds;
        st->peak_rss_mb += p->c.peak_rss_mb;
        st->relay_cpu_seconds += p->c.relay_cpu_seconds;
        fprintf(stderr,
                "bench: live %s ch%d: %lld/%lld frames, %lld dropped, lag %.2f s, speed "
                "%.3f (reported >= %.3f), %.1f fps, %d segments, %.2f s CPU, %.0f MB%s%s\n",
                p->c.is_ffmpeg ? "ffmpeg" : "encbox", i + 1, (long long)p->c.frames,
                (long long)p->c.frames_sent, (long long)p->c.dropped, p->c.max_lag, p->c.speed,
                p->c.min_reported_speed, p->c.fps, p->c.segments, p->c.cpu_seconds,
                p->c.peak_rss_mb, p->c.exit_status ? "; log " : "", p->c.exit_status ? p->log : "");
        if (p->c.exit_status)
            eb_bench_log_tail(p->log);
    }
    if (st->min_speed > 1e29)
        st->min_speed = 0;
    if (st->min_reported_speed > 1e29)
        st->min_reported_speed = 0;
    st->cpu_percent = st->wall_seconds > 0 ? 100.0 * st->cpu_seconds /
                                                 (st->wall_seconds * sysconf(_SC_NPROCESSORS_ONLN))
                                           : 0;
    st->delay_frames =
        segs ? eb_bench_live_delays(segs, nb, fps, &st->delay_median, &st->delay_p95) : 0;
    if (st->delay_frames < 0)
        st->delay_frames = 0;
    free(segs);
}

/* k channels at once on one side. 0, or -EINTR when asked to stop, or
 * another negative errno when the step could not start. */
static int run_step(LiveCtx *x, int k, int ffmpeg_side, EbBenchLiveStep *st)
{
    LiveProc *ps = calloc(k, sizeof(*ps));
    char media[4200];
    double start, deadline, killed_at = 0;
    int ret = 0;

    memset(st, 0, sizeof(*st));
    if (!ps)
        return -ENOMEM;
    eb_bench_bprintf(media, sizeof(media), "%s/%s", x->tmp, ffmpeg_side ? "ffmpeg" : "encbox");
    eb_bench_rmtree(media);
    eb_bench_mkdirs(media);
    for (int i = 0; i < k; i++) {
        LiveProc *p = &ps[i];
        p->index = i;
        p->out_fd = -1;
        p->c.is_ffmpeg = ffmpeg_side;
        p->c.exit_status = -1;
        p->c.frames_sent = x->frames_sent;
        /* a port no other channel of this step holds */
        do {
            p->port = free_udp_port();
            for (int j = 0; j < i; j++)
                if (ps[j].port == p->port)
                    p->port = 0;
        } while (p->port == 0);
        if (p->port < 0 || (ret = start_packager(x, p, ffmpeg_side, media)) < 0) {
            ret = ret < 0 ? ret : p->port;
            fprintf(stderr, "bench: live: cannot start channel %d: %s\n", i + 1, strerror(-ret));
            break;
        }
    }
    /* Publishers only once every listener is up (a caller gives up after
     * a few seconds without an answer). */
    start = eb_clock_seconds();
    for (int i = 0; ret == 0 && i < k; i++) {
        while (!udp_port_bound(ps[i].port) && eb_clock_seconds() - start < 10 &&
               !atomic_load(&live_stop))
            poll(NULL, 0, 5);
        if (!udp_port_bound(ps[i].port)) {
            fprintf(stderr, "bench: live: channel %d's listener never bound port %d; log %s\n",
                    i + 1, ps[i].port, ps[i].c.is_ffmpeg ? ps[i].log : ps[i].relay_log);
            ret = atomic_load(&live_stop) ? -EINTR : -ETIMEDOUT;
        }
    }
    start = eb_clock_seconds();
    for (int i = 0; ret == 0 && i < k; i++) {
        LiveProc *p = &ps[i];
        char url[128],
            *pub[] = {"ffmpeg", "-nostdin", "-v", "error",  "-re", "-i", (char *)x->source,
                      "-c",     "copy",     "-f", "mpegts", url,   NULL};
        eb_bench_bprintf(url, sizeof(url), "srt://127.0.0.1:%d?mode=caller&pkt_size=1316", p->port);
        eb_bench_bprintf(p->pub_log, sizeof(p->pub_log), "%s/publisher-%d.log", x->log_dir, i + 1);
        p->t0 = eb_clock_seconds();
        p->pub = spawn_io(pub, -1, -1, p->pub_log);
        if (p->pub < 0) {
            ret = p->pub;
            p->pub = 0;
        }
    }
    if (ret < 0)
        kill_all(ps, k, SIGKILL);
    deadline = start + x->src.seconds + LIVE_GRACE_SECONDS;
    while (children_left(ps, k) > 0) {
        struct pollfd pfd[EB_BENCH_LIVE_MAX_CHANNELS];
        int map[EB_BENCH_LIVE_MAX_CHANNELS], n = 0;
        double now;
        for (int i = 0; i < k; i++)
            if (ps[i].out_fd >= 0) {
                pfd[n] = (struct pollfd){.fd = ps[i].out_fd, .events = POLLIN};
                map[n++] = i;
            }
        poll(pfd, n, LIVE_POLL_MS);
        now = eb_clock_seconds();
        for (int j = 0; j < n; j++)
            if (pfd[j].revents && read_lines(x, &ps[map[j]], now)) {
                close(ps[map[j]].out_fd);
                ps[map[j]].out_fd = -1;
            }
        for (int i = 0; i < k; i++)
            if (ps[i].t0 > 0)
                check_playlist(&ps[i], now);
        reap(ps, k, now);
        if (atomic_load(&live_stop) && !killed_at) {
            ret = -EINTR;
            kill_all(ps, k, SIGTERM);
            killed_at = now;
        } else if (now > deadline && !killed_at) {
            fprintf(stderr, "bench: live: the step ran %.0f s past its feed; stopping it\n",
                    LIVE_GRACE_SECONDS);
            kill_all(ps, k, SIGTERM);
            killed_at = now;
        } else if (killed_at && now - killed_at > 5) {
            kill_all(ps, k, SIGKILL);
            for (int i = 0; i < k; i++)
                if (ps[i].out_fd >= 0) {
                    close(ps[i].out_fd);
                    ps[i].out_fd = -1;
                }
        }
    }
    if (ret == 0) {
        double end = start;
        for (int i = 0; i < k; i++) {
            check_playlist(&ps[i], ps[i].exit);
            end = fmax(end, ps[i].exit);
        }
        finish_step(x, ps, k, start, end, st);
    }
    free(ps);
    eb_bench_rmtree(media);
    return ret;
}

/* ---- the sweep -------------------------------------------------------------- */

static void print_step(const char *side, const EbBenchLiveStep *st)
{
    fprintf(stderr,
            "bench: live %s, %d channel%s: %s; %.1f fps, %lld dropped, delay median %.2f s "
            "p95 %.2f s, %.0f%% CPU, %.0f MB%s%s\n",
            side, st->channels, st->channels > 1 ? "s" : "",
            st->sustained ? "real time" : "NOT real time", st->aggregate_fps,
            (long long)st->dropped, st->delay_median, st->delay_p95, st->cpu_percent,
            st->peak_rss_mb, st->sustained ? "" : ": ", st->why);
}

static int plan_ladder(LiveCtx *x)
{
    EbLadder ladder;
    EbSourceGeometry geo = {x->src.width, x->src.height, x->src.sar, 0};
    EbBenchLive *l = x->out;

    eb_ladder_default(&ladder);
    x->nb_rungs = eb_ladder_plan(&ladder, &geo, x->plan);
    if (x->nb_rungs <= 0)
        return -EINVAL;
    l->nb_rungs = x->nb_rungs;
    l->pixel_rate = 0;
    for (int i = 0; i < x->nb_rungs; i++) {
        eb_bench_bprintf(l->rung_names[i], sizeof(l->rung_names[i]), "%s", x->plan[i].rung.name);
        l->rung_width[i] = x->plan[i].width;
        l->rung_height[i] = x->plan[i].height;
        l->pixel_rate += (double)x->plan[i].width * x->plan[i].height * x->src.fps;
    }
    return 0;
}

/* Which backend the live bench measures: encbox live runs the software
 * backend (EbLiveOptions.backend; the CLI has no choice), so the others
 * are listed with the reason, as the VOD sweep lists unusable ones. */
static int pick_backend(const EbBenchLiveArgs *a, EbBenchLive *l)
{
    const EbHalBackend *const *be = eb_hal_backends();
    int found = 0;

    for (int i = 0; be[i]; i++) {
        EbHalProbe p;
        EbBenchLiveBackend *nm;
        if (a->only_backend && strcmp(a->only_backend, be[i]->name))
            continue;
        memset(&p, 0, sizeof(p));
        be[i]->probe(&p);
        if (p.usable && !strcmp(be[i]->name, "software")) {
            eb_bench_bprintf(l->backend, sizeof(l->backend), "%s", be[i]->name);
            found = 1;
            continue;
        }
        if (l->nb_not_measured >= EB_BENCH_MAX_BACKENDS)
            continue;
        nm = &l->not_measured[l->nb_not_measured++];
        eb_bench_bprintf(nm->name, sizeof(nm->name), "%s", be[i]->name);
        if (!p.usable)
            eb_bench_bprintf(nm->reason, sizeof(nm->reason), "unusable: %s", p.reason);
        else
            eb_bench_bprintf(nm->reason, sizeof(nm->reason),
                    "encbox live runs the software backend only (no backend choice yet)");
        fprintf(stderr, "bench: live: %s: not measured: %s\n", nm->name, nm->reason);
    }
    return found ? 0 : -ENOENT;
}

int eb_bench_live_run(const EbBenchLiveArgs *a, EbBenchLive *l)
{
    struct sigaction sa = {.sa_handler = live_on_signal}, old_int, old_term;
    char tmpl[4096], source[4200], log[4300];
    const char *tdir = getenv("TMPDIR");
    LiveCtx *x = calloc(1, sizeof(*x));
    int ret = 0, w = (a->height * 16 / 9 + 1) & ~1, enc_open = 1, ff_open = 1;

    memset(l, 0, sizeof(*l));
    if (!x)
        return -ENOMEM;
    x->a = a;
    x->out = l;
    l->height = a->height;
    l->width = w;
    l->fps = a->fps;
    l->seconds = a->seconds;
    l->segment_seconds = LIVE_SEGMENT_SECONDS;
    eb_bench_bprintf(l->preset, sizeof(l->preset), "%s", a->preset);
    if (pick_backend(a, l) < 0) {
        eb_bench_bprintf(l->skipped, sizeof(l->skipped), "no backend that encbox live runs is usable");
        free(x);
        return -ENOENT;
    }
    eb_bench_bprintf(x->log_dir, sizeof(x->log_dir), "%s/work/live", a->out_dir);
    if ((ret = eb_bench_mkdirs(x->log_dir)) < 0) {
        eb_bench_bprintf(l->skipped, sizeof(l->skipped), "cannot create %s", x->log_dir);
        free(x);
        return ret;
    }
    eb_bench_bprintf(tmpl, sizeof(tmpl), "%s/encbox-bench-live-XXXXXX", tdir && *tdir ? tdir : "/tmp");
    if (!mkdtemp(tmpl)) {
        ret = -errno;
        eb_bench_bprintf(l->skipped, sizeof(l->skipped), "cannot create a temporary folder: %s",
                strerror(errno));
        free(x);
        return ret;
    }
    x->tmp = tmpl;
    atomic_store(&live_stop, 0);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    eb_bench_bprintf(source, sizeof(source), "%s/source-%dp.ts", tmpl, a->height);
    eb_bench_bprintf(log, sizeof(log), "%s/source.log", x->log_dir);
    x->source = source;
    fprintf(stderr, "bench: live: generating the %g s %dx%d %g fps source (testsrc2 + sine) ...\n",
            a->seconds, w, a->height, a->fps);
    ret = make_source(source, log, w, a->height, a->fps, a->seconds);
    if (ret != 0) {
        eb_bench_bprintf(l->skipped, sizeof(l->skipped), "the source could not be made (%d); log %s", ret,
                log);
        eb_bench_log_tail(log);
        ret = ret < 0 ? ret : -EIO;
        goto out;
    }
    if (eb_bench_probe_source(source, &x->src) < 0 || x->src.fps <= 0 ||
        (x->frames_sent = count_video_frames(source)) <= 0 || plan_ladder(x) < 0) {
        eb_bench_bprintf(l->skipped, sizeof(l->skipped), "the generated source does not read back");
        ret = -EIO;
        goto out;
    }
    x->src.seconds = x->frames_sent / x->src.fps;
    l->fps = x->src.fps;
    fprintf(stderr,
            "bench: live: %lld frames; ladder %s..%s, %.1f Mpixel/s per channel; up to %d "
            "channels, %g s each step\n",
            (long long)x->frames_sent, l->rung_names[0], l->rung_names[l->nb_rungs - 1],
            l->pixel_rate / 1e6, a->max_channels, a->seconds);
    for (int k = 1; k <= a->max_channels && (enc_open || ff_open); k++) {
        if (enc_open) {
            EbBenchLiveStep *st = &l->encbox[l->nb_encbox];
            fprintf(stderr, "bench: live: encbox, %d channel%s ...\n", k, k > 1 ? "s" : "");
            if ((ret = run_step(x, k, 0, st)) < 0)
                break;
            l->nb_encbox++;
            print_step("encbox", st);
            enc_open = st->sustained;
        }
        if (ff_open) {
            EbBenchLiveStep *st = &l->ffmpeg[l->nb_ffmpeg];
            fprintf(stderr, "bench: live: ffmpeg, %d channel%s ...\n", k, k > 1 ? "s" : "");
            if ((ret = run_step(x, k, 1, st)) < 0)
                break;
            l->nb_ffmpeg++;
            print_step("ffmpeg", st);
            ff_open = st->sustained;
        }
    }
    if (ret < 0)
        eb_bench_bprintf(l->skipped, sizeof(l->skipped), "%s",
                ret == -EINTR ? "interrupted" : "a step could not start");
    else
        l->ran = 1;
out:
    eb_bench_rmtree(tmpl);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(x);
    return ret;
}

/* ---- the table ------------------------------------------------------------- */

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void print_side_row(FILE *f, const char *side, const EbBenchLiveStep *s)
{
    fprintf(f, "%-7s %3d %4s %8.1f %7.3f %7lld %6.2f %7.1f %5.0f %7.0f %7.2f %7.2f\n", side,
            s->channels, s->sustained ? "yes" : "NO", s->aggregate_fps, s->min_speed,
            (long long)s->dropped, s->max_lag, s->cpu_seconds, s->cpu_percent, s->peak_rss_mb,
            s->delay_median, s->delay_p95);
}

void eb_bench_live_print(FILE *f, const EbBenchLive *l, int cores)
{
    int ce, cf, n;

    if (!l->ran) {
        fprintf(f, "live: not run (%s)\n", l->skipped);
        return;
    }
    fprintf(
        f,
        "live ladders, %s backend: a %dx%d %.4g fps testsrc2 + sine feed over SRT (ffmpeg -re)\n"
        "  rungs",
        l->backend, l->width, l->height, l->fps);
    for (int i = 0; i < l->nb_rungs; i++)
        fprintf(f, " %s", l->rung_names[i]);
    fprintf(f,
            " + audio: %.1f Mpixel/s of output per channel; %g s segments; %g s per step;\n"
            "  x264 preset %s on both sides\n",
            l->pixel_rate / 1e6, l->segment_seconds, l->seconds, l->preset);
    for (int i = 0; i < l->nb_not_measured; i++)
        fprintf(f, "backend %s: not measured: %s\n", l->not_measured[i].name,
                l->not_measured[i].reason);
    fprintf(f, "%-7s %3s %4s %8s %7s %7s %6s %7s %5s %7s %7s %7s\n", "side", "ch", "rt", "agg_fps",
            "speed", "dropped", "lag_s", "cpu_s", "cpu%", "rss_MB", "dly_med", "dly_p95");
    n = l->nb_encbox > l->nb_ffmpeg ? l->nb_encbox : l->nb_ffmpeg;
    for (int i = 0; i < n; i++) {
        const EbBenchLiveStep *e = i < l->nb_encbox ? &l->encbox[i] : NULL;
        const EbBenchLiveStep *g = i < l->nb_ffmpeg ? &l->ffmpeg[i] : NULL;
        if (e)
            print_side_row(f, "encbox", e);
        if (g)
            print_side_row(f, "ffmpeg", g);
        if (e && g)
            fprintf(f, "  encbox/ffmpeg at %d: CPU %.3f, RSS %.3f, delay median %.3f, p95 %.3f\n",
                    e->channels, ratio(e->cpu_seconds, g->cpu_seconds),
                    ratio(e->peak_rss_mb, g->peak_rss_mb), ratio(e->delay_median, g->delay_median),
                    ratio(e->delay_p95, g->delay_p95));
        if (e && !e->sustained)
            fprintf(f, "  encbox at %d: %s\n", e->channels, e->why);
        if (g && !g->sustained)
            fprintf(f, "  ffmpeg at %d: %s\n", g->channels, g->why);
    }
    fprintf(f,
            "(rt: every channel kept real time; agg_fps: top-rung frames per second, summed,\n"
            " from the first segment to the feed's end; speed: the slowest channel's fps over\n"
            " the source's (the rule for ffmpeg: >= 0.98); lag_s: encbox's input lag, ffmpeg's\n"
            " estimated from -progress; cpu_s, cpu%% (of %d cores), rss_MB (sum of peaks): the\n"
            " packagers only; the encbox side's relays (ffmpeg -c copy from SRT to encbox\n"
            " live's stdin) took %.2f s CPU at the last step; dly: seconds from a frame's\n"
            " arrival to its segment's listing, all frames)\n",
            cores, l->nb_encbox ? l->encbox[l->nb_encbox - 1].relay_cpu_seconds : 0);
    ce = eb_bench_live_capacity(l, 0);
    cf = eb_bench_live_capacity(l, 1);
    fprintf(f,
            "result: %d simultaneous live %dp%.0f ladders in real time with encbox, %d with "
            "the ffmpeg command line\n",
            ce, l->height, l->fps, cf);
    fprintf(f,
            "  live capacity: %d x %.1f = %.1f Mpixel/s of output (%.1f per core) with encbox; "
            "%.1f with ffmpeg\n",
            ce, l->pixel_rate / 1e6, ce * l->pixel_rate / 1e6,
            cores > 0 ? ce * l->pixel_rate / 1e6 / cores : 0, cf * l->pixel_rate / 1e6);
    fprintf(f, "encbox command (one channel): %s\n", l->encbox_command);
    fprintf(f, "ffmpeg command (one channel): %s\n", l->ffmpeg_command);
}
