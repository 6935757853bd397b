/*
 * The daemon's live runs: the ingest listeners (eb_ingest_srt.h,
 * eb_ingest_rtmp.h) on one side, one supervised `encbox live` worker per
 * channel on the other. SRT carries MPEG-TS, RTMP FLV: the worker is told
 * which (--format). Connection ids of the two listeners live in one space
 * here: an RTMP id has EB_RUNS_RTMP set.
 *
 * A channel that has a publisher, or a session still open, holds a slot.
 * Its worker is a process (a crash or a hang costs that channel a restart,
 * never the daemon or another channel):
 *   - a publisher connects: a pipe is made and a run worker spawned
 *     (`encbox live NAME --continue --no-end --events`) reading it; the
 *     listener's thread relays every received buffer into the pipe without
 *     ever blocking: a full pipe (a worker more than a megabyte behind)
 *     drops the buffer and counts it, so one stuck channel never stalls the
 *     others. If the previous worker of the channel is still draining, the
 *     pipe waits for it (its buffer holds the first second or so).
 *   - the publisher leaves: the pipe closes, the worker lists its last
 *     segments and exits, leaving the session open; the channel is
 *     `reconnecting` for reconnect_window_seconds. A publisher back in time
 *     gets a new run that continues the session (--continue: numbering on,
 *     a discontinuity, a new DASH Period). Past the window, or when the
 *     channel is deleted, a finish worker (`--finish`) closes the playlists
 *     and publishes the recording; the channel is idle (or ended) again.
 *   - a run worker that dies while its publisher is still connected (a
 *     crash), or prints nothing for hang_seconds (a hang: killed), is
 *     restarted on a new pipe with --continue: the stream goes on after a
 *     discontinuity. Three restarts within a minute drop the publisher.
 *   - admission: the run reports what the feed costs (the pixels per
 *     second its rungs encode) as soon as it has probed it; if the
 *     channels already running plus this one would pass the box's live
 *     capacity, the run is killed and the publisher dropped, the reason in
 *     the channel's stats ("refused") and the log, so a new channel never
 *     slows the running ones down. The cost is known only once media
 *     flows (the source's size decides the rungs), hence after the
 *     handshake; nothing of a refused run is listed (it is killed before
 *     its first segment).
 *   - workers print JSON lines (--events): progress twice a second (the
 *     channel's stats, with the SRT figures) and each recording they
 *     publish (listed in the channel's recordings).
 * When the daemon starts, sessions an earlier daemon left open are ended
 * (recorded) by finish workers.
 *
 * Threads: the listener's (its callbacks: open, data, close), one
 * supervisor thread eb-live-sup (spawns, reaps, reads the workers' lines,
 * timers), and whoever calls eb_channel_runs_end/metrics. One mutex guards
 * the slots; it is never held across a blocking call or a callback into the
 * listener, and only the listener's thread writes to a feed pipe.
 */
#include "eb_channel_runs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_ingest_rtmp.h"
#include "eb_keys.h"
#include "eb_ingest_srt.h"
#include "eb_layout.h"
#include "eb_live_log.h"
#include "eb_log.h"

#define EB_RUNS_MAX 64
#define EB_RUNS_PIPE_BYTES (1 << 20)
#define EB_RUNS_LINE_MAX 8192
#define EB_RUNS_RESTARTS 3        /* within EB_RUNS_RESTART_SPAN: then drop the publisher */
#define EB_RUNS_RESTART_SPAN 60.0 /* seconds */
#define EB_RUNS_HANG_SECONDS 20.0 /* default hang_seconds */
#define EB_RUNS_TICK_MS 200
#define EB_RUNS_RTMP (UINT64_C(1) << 63) /* an RTMP connection's id here */
/* An FLV feed's opening (header, metadata, codec configurations), kept to
 * start a restarted worker's pipe with: it cannot read FLV from the middle. */
#define EB_RUNS_FLV_HEAD_MAX 65536
/* The software backend's live capacity per core, megapixels/s of output
 * (x264 veryfast through the default ladder, decode included).
 * `encbox bench --live` sustained 70 per core (3 x 720p30 ladders on 2
 * cores at 85% CPU, benchmarks/README.md "Live"); 60 keeps about a
 * quarter of the CPU in hand for the origin, the relays and start-ups. */
#define EB_RUNS_MPIXELS_PER_CORE 60.0

typedef enum EbWorkerKind {
    EB_WORKER_NONE,
    EB_WORKER_RUN,    /* packages a publisher's feed */
    EB_WORKER_FINISH, /* ends the open session */
} EbWorkerKind;

typedef struct EbSlot {
    int used;
    EbChannelSpec spec;
    uint64_t conn;   /* the publisher's connection; 0: none */
    int feed_w;      /* write end of the feed pipe (listener thread); -1 */
    int feed_r;      /* read end, for a run worker not yet spawned; -1 */
    int feed_next_w; /* a restarted worker's pipe, for the listener to switch to; -1 */
    EbWorkerKind kind;
    pid_t pid;  /* the worker; 0: none */
    int out_fd; /* the worker's stdout (events); -1 */
    char line[EB_RUNS_LINE_MAX];
    size_t line_len;
    double last_heard;   /* monotonic seconds: spawn or last line */
    double reconnect_at; /* monotonic deadline while reconnecting; 0: none */
    int session_open;    /* a run has left the session open */
    int ending;          /* deleted: end the session at once, then ended */
    int restarts;        /* in the current span */
    double restart_span_start;
    int64_t restarts_total;
    int64_t bytes, dropped_bytes, conn_bytes;
    double cost;          /* pixels/s the run encodes (its plan); 0 until known */
    int refused;          /* admission refused the run: no reconnect wait */
    int release_on_close; /* done: free the slot when the publisher's close() comes */
    int lost;             /* another box carries the channel now: stop, write nothing */
    char refusal[256];
    json_t *progress;  /* the worker's last progress line */
    uint8_t *flv_head; /* RTMP: the feed's opening (listener thread only) */
    size_t flv_head_len;
    int flv_have; /* bits: 1 header, 2 video config, 4 audio config */
} EbSlot;

struct EbChannelRuns {
    char exe[4096];
    char storage[4096];
    char config[4096]; /* "": none (built-in defaults) */
    char utc[1024];    /* "": none */
    char key_store[4096];
    char base_url[1024];
    double hang_seconds;
    double capacity; /* pixels/s */
    double next_lease; /* monotonic seconds: the next lease pass (supervisor) */
    EbChannels *channels;
    EbIngestSrt *srt;
    EbIngestRtmp *rtmp;
    pthread_mutex_t lock;
    EbSlot slots[EB_RUNS_MAX];
    pthread_t sup;
    int sup_started;
    int stop;
    int wake[2]; /* the supervisor's wake-up pipe */
};

static double eb_now_mono(void)
{
    return eb_clock_ns() / 1e9;
}

static void eb_runs_wake(EbChannelRuns *r)
{
    char c = 1;
    if (write(r->wake[1], &c, 1) < 0 && errno != EAGAIN)
        EB_LOGW("live", "cannot wake the supervisor: %s", strerror(errno));
}

static EbSlot *eb_slot_by_conn(EbChannelRuns *r, uint64_t conn)
{
    for (int i = 0; i < EB_RUNS_MAX; i++)
        if (r->slots[i].used && r->slots[i].conn == conn)
            return &r->slots[i];
    return NULL;
}

static EbSlot *eb_slot_by_channel(EbChannelRuns *r, const char *id)
{
    for (int i = 0; i < EB_RUNS_MAX; i++)
        if (r->slots[i].used && !strcmp(r->slots[i].spec.id, id))
            return &r->slots[i];
    return NULL;
}

static EbSlot *eb_slot_new(EbChannelRuns *r, const EbChannelSpec *spec)
{
    for (int i = 0; i < EB_RUNS_MAX; i++) {
        EbSlot *s = &r->slots[i];
        if (s->used)
            continue;
        memset(s, 0, sizeof(*s));
        s->used = 1;
        s->spec = *spec;
        s->feed_w = s->feed_r = s->feed_next_w = s->out_fd = -1;
        return s;
    }
    return NULL;
}

static void eb_slot_free(EbSlot *s)
{
    if (s->feed_r >= 0)
        close(s->feed_r);
    if (s->feed_next_w >= 0)
        close(s->feed_next_w);
    if (s->out_fd >= 0)
        close(s->out_fd);
    json_decref(s->progress);
    free(s->flv_head);
    explicit_bzero(&s->spec, sizeof(s->spec));
    memset(s, 0, sizeof(*s));
    s->feed_w = s->feed_r = s->feed_next_w = s->out_fd = -1;
}

/* The slot's run is done (lock held): the channel's lease goes too (see
 * eb_channels.h), so any box may take its next publisher. */
static void eb_slot_release(EbChannelRuns *r, EbSlot *s)
{
    eb_channels_release(r->channels, s->spec.id);
    eb_slot_free(s);
}

/* ---- workers ---- */

/* Spawns the slot's worker (lock held): a run reading feed_r, or a finish.
 * Its stdout comes back on out_fd (non-blocking); stderr is the daemon's. */
static int eb_runs_spawn(EbChannelRuns *r, EbSlot *s, EbWorkerKind kind)
{
    const EbChannelSpec *spec = &s->spec;
    char seg[32], win[32], part[32];
    const char *argv[32];
    int n = 0, out[2], in_fd;
    pid_t pid;

    snprintf(seg, sizeof(seg), "%g", spec->segment_seconds);
    snprintf(win, sizeof(win), "%g", spec->window_seconds);
    snprintf(part, sizeof(part), "%g", spec->part_seconds);
    argv[n++] = r->exe;
    argv[n++] = "live";
    argv[n++] = spec->name;
    argv[n++] = "-o";
    argv[n++] = r->storage;
    argv[n++] = "-q";
    argv[n++] = "--events";
    argv[n++] = "--segment";
    argv[n++] = seg;
    argv[n++] = "--window";
    argv[n++] = win;
    if (r->config[0]) {
        argv[n++] = "--config";
        argv[n++] = r->config;
    }
    if (spec->ladder[0]) {
        argv[n++] = "--ladder";
        argv[n++] = spec->ladder;
    }
    if (spec->preset[0]) {
        argv[n++] = "--preset";
        argv[n++] = spec->preset;
    }
    if (!spec->record)
        argv[n++] = "--no-record";
    if (spec->part_seconds > 0) {
        argv[n++] = "--part";
        argv[n++] = part;
    } else {
        argv[n++] = "--no-low-latency";
    }
    if (r->utc[0]) {
        argv[n++] = "--utc-timing";
        argv[n++] = r->utc;
    }
    if (spec->encryption != EB_ENCRYPT_NONE) {
        argv[n++] = "--encrypt";
        argv[n++] = eb_encryption_scheme_name((EbEncryptionScheme)spec->encryption);
        if (r->key_store[0]) {
            argv[n++] = "--key-store";
            argv[n++] = r->key_store;
        }
        if (r->base_url[0]) {
            argv[n++] = "--public-base-url";
            argv[n++] = r->base_url;
        }
    }
    if (kind == EB_WORKER_FINISH) {
        argv[n++] = "--finish";
    } else {
        argv[n++] = "--continue";
        argv[n++] = "--no-end";
        argv[n++] = "--format";
        argv[n++] = s->conn & EB_RUNS_RTMP ? "flv" : "mpegts";
    }
    argv[n] = NULL;

    in_fd = kind == EB_WORKER_RUN ? s->feed_r : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0 || pipe2(out, O_CLOEXEC) < 0) {
        if (kind != EB_WORKER_RUN && in_fd >= 0)
            close(in_fd);
        return EB_ERR(errno);
    }
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
            _exit(127);
        execv(r->exe, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    if (kind == EB_WORKER_RUN) {
        close(s->feed_r);
        s->feed_r = -1;
    } else {
        close(in_fd);
    }
    if (pid < 0) {
        int e = errno;
        close(out[0]);
        return EB_ERR(e);
    }
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    s->pid = pid;
    s->kind = kind;
    s->out_fd = out[0];
    s->line_len = 0;
    s->last_heard = eb_now_mono();
    if (kind == EB_WORKER_RUN)
        s->session_open = 1;
    EB_LOGI("live", "channel %s: %s worker %d", spec->name,
            kind == EB_WORKER_RUN ? "run" : "finish", (int)pid);
    return 0;
}

/* A fresh feed pipe for the slot (lock held): the next run worker reads
 * feed_r; the listener writes the other end, which becomes feed_w (a new
 * connection: nobody writes yet) or feed_next_w (a restart: the listener's
 * thread switches to it at its next write, as only it touches feed_w). */
static int eb_runs_feed(EbSlot *s, int restart)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return EB_ERR(errno);
    fcntl(p[1], F_SETPIPE_SZ, EB_RUNS_PIPE_BYTES);
    fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
    if (s->feed_r >= 0)
        close(s->feed_r);
    s->feed_r = p[0];
    if (restart) {
        if (s->feed_next_w >= 0)
            close(s->feed_next_w);
        s->feed_next_w = p[1];
    } else {
        s->feed_w = p[1];
    }
    return 0;
}

/* ---- the listener's callbacks ---- */

static int eb_runs_lookup(void *opaque, const char *channel, char *passphrase, size_t size)
{
    EbChannelRuns *r = opaque;
    EbChannelSpec spec;
    EbSlot *s;
    int ret = eb_channels_spec(r->channels, channel, &spec);

    if (ret < 0)
        return EB_ERR(ENOENT);
    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_channel(r, spec.id);
    if (s && (s->conn || s->ending || s->refusal[0]))
        ret = EB_ERR(EBUSY);
    pthread_mutex_unlock(&r->lock);
    if (ret >= 0)
        snprintf(passphrase, size, "%s", spec.srt_passphrase);
    explicit_bzero(&spec, sizeof(spec));
    return ret;
}

/* A publisher's connection (SRT or RTMP id space) for channel. */
static int eb_runs_attach(EbChannelRuns *r, const char *channel, uint64_t conn)
{
    EbChannelSpec spec;
    EbSlot *s;
    char holder[80];
    int ret = 0;

    if (eb_channels_spec(r->channels, channel, &spec) < 0)
        return EB_ERR(ENOENT);
    /* This box carries the channel from now on, unless another one does
     * (its publisher reached that box first, and its lease runs). */
    if ((ret = eb_channels_claim(r->channels, spec.id, holder, sizeof(holder))) < 0) {
        if (ret == EB_ERR(EBUSY))
            EB_LOGW("live", "channel %s refused: box %s carries it", channel, holder);
        else
            EB_LOGW("live", "channel %s refused: %s", channel, eb_strerror(ret));
        explicit_bzero(&spec, sizeof(spec));
        return ret;
    }
    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_channel(r, spec.id);
    if (s && (s->conn || s->ending || s->refusal[0])) {
        ret = EB_ERR(EBUSY);
    } else {
        if (!s)
            s = eb_slot_new(r, &spec);
        else
            s->spec = spec; /* the latest settings for the next run */
        if (!s)
            ret = EB_ERR(EBUSY);
    }
    if (ret >= 0 && (ret = eb_runs_feed(s, 0)) >= 0) {
        s->conn = conn;
        s->reconnect_at = 0;
        s->conn_bytes = 0;
        s->restarts = 0;
        /* The previous worker (draining, or ending the session) goes first:
         * the supervisor spawns this run when it has exited. */
        if (!s->pid && (ret = eb_runs_spawn(r, s, EB_WORKER_RUN)) < 0) {
            close(s->feed_w);
            s->feed_w = -1;
            s->conn = 0;
        }
    }
    if (ret < 0 && s && !s->pid && !s->session_open)
        eb_slot_release(r, s);
    else if (ret < 0 && !s)
        eb_channels_release(r->channels, spec.id);
    pthread_mutex_unlock(&r->lock);
    if (ret < 0) {
        EB_LOGW("live", "channel %s refused: %s", channel, eb_strerror(ret));
        explicit_bzero(&spec, sizeof(spec));
        return ret;
    }
    eb_channels_set_state(r->channels, spec.id, EB_CHANNEL_LIVE);
    EB_LOGI("live", "channel %s is live", channel);
    explicit_bzero(&spec, sizeof(spec));
    eb_runs_wake(r);
    return 0;
}

static int eb_runs_open(void *opaque, const char *channel, uint64_t conn)
{
    return eb_runs_attach(opaque, channel, conn);
}

/* Keeps the opening of an FLV feed (listener thread, lock held): the
 * header, script tags, and the first video and audio tags that carry a
 * codec configuration (AVC/HEVC sequence header, AAC AudioSpecificConfig).
 * data() hands whole tags. */
static void eb_runs_flv_head(EbSlot *s, const uint8_t *buf, size_t size)
{
    size_t off = 0;

    if (s->flv_have == 7 || s->flv_head_len >= EB_RUNS_FLV_HEAD_MAX)
        return;
    if (!s->flv_head && !(s->flv_head = malloc(EB_RUNS_FLV_HEAD_MAX)))
        return;
    if (!(s->flv_have & 1)) {
        if (size < 13 || memcmp(buf, "FLV", 3))
            return;
        memcpy(s->flv_head, buf, 13);
        s->flv_head_len = 13;
        s->flv_have |= 1;
        off = 13;
    }
    while (off + 11 <= size) {
        const uint8_t *t = buf + off;
        size_t len = ((size_t)t[1] << 16 | (size_t)t[2] << 8 | t[3]) + 11 + 4;
        int keep = 0;
        if (off + len > size)
            break;
        if (t[0] == 18)
            keep = 1;
        else if (t[0] == 9 && len > 17 && !(s->flv_have & 2) && t[12] == 0)
            keep = 2; /* AVCPacketType 0: the decoder configuration */
        else if (t[0] == 8 && len > 17 && !(s->flv_have & 4) && (t[11] >> 4) == 10 && t[12] == 0)
            keep = 4; /* AAC packet type 0: AudioSpecificConfig */
        if (keep && s->flv_head_len + len <= EB_RUNS_FLV_HEAD_MAX) {
            memcpy(s->flv_head + s->flv_head_len, t, len);
            s->flv_head_len += len;
            s->flv_have |= keep & 6;
        }
        off += len;
    }
}

static int eb_runs_data(void *opaque, uint64_t conn, const uint8_t *buf, size_t size)
{
    EbChannelRuns *r = opaque;
    EbSlot *s;
    ssize_t n;
    int fd;

    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_conn(r, conn);
    if (s && (conn & EB_RUNS_RTMP))
        eb_runs_flv_head(s, buf, size);
    if (s && s->feed_next_w >= 0) {
        /* The worker was restarted on a new pipe; an FLV feed starts over
         * from its opening there (a pipe holds a megabyte: it fits). */
        if (s->feed_w >= 0)
            close(s->feed_w);
        s->feed_w = s->feed_next_w;
        s->feed_next_w = -1;
        if ((conn & EB_RUNS_RTMP) && s->flv_head_len &&
            write(s->feed_w, s->flv_head, s->flv_head_len) != (ssize_t)s->flv_head_len)
            EB_LOGW("live", "channel %s: the restarted worker missed the feed's opening",
                    s->spec.name);
    }
    fd = s ? s->feed_w : -1;
    pthread_mutex_unlock(&r->lock);
    if (fd < 0)
        return EB_ERR(ENOENT);
    /* Only this thread writes, replaces and closes feed_w: no lock across
     * write(); the slot stays this conn's until close(). */
    n = write(fd, buf, size);
    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_conn(r, conn);
    if (!s) {
        /* let go of meanwhile (a refused run): close() follows */
    } else if (n == (ssize_t)size) {
        s->bytes += n;
        s->conn_bytes += n;
    } else if (n < 0 && errno == EPIPE) {
        /* The worker died: the supervisor restarts it on a new pipe. */
        s->dropped_bytes += (int64_t)size;
    } else {
        s->dropped_bytes += (int64_t)size - (n > 0 ? n : 0);
        s->bytes += n > 0 ? n : 0;
    }
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void eb_runs_close_conn(void *opaque, uint64_t conn, const char *why)
{
    EbChannelRuns *r = opaque;
    EbSlot *s;

    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_conn(r, conn);
    if (s) {
        EB_LOGI("live", "channel %s: publisher gone (%s), %lld bytes relayed, %lld dropped",
                s->spec.name, why, (long long)s->conn_bytes, (long long)s->dropped_bytes);
        if (s->feed_w >= 0)
            close(s->feed_w);
        if (s->feed_next_w >= 0)
            close(s->feed_next_w);
        s->feed_w = s->feed_next_w = -1;
        if (s->feed_r >= 0 && !s->pid) { /* its run never started: nothing of it to keep */
            close(s->feed_r);
            s->feed_r = -1;
        }
        s->conn = 0;
        if (s->release_on_close)
            eb_slot_release(r, s);
    }
    pthread_mutex_unlock(&r->lock);
    eb_runs_wake(r);
}

static int eb_runs_rtmp_lookup(void *opaque, const char *app, const char *key, char *channel,
                               size_t size)
{
    EbChannelRuns *r = opaque;
    EbChannelSpec spec;
    EbSlot *s;
    int ret;

    (void)app; /* the module admits "live" only */
    if (eb_channels_find_by_key(r->channels, key, &spec) < 0)
        return EB_ERR(ENOENT);
    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_channel(r, spec.id);
    ret = s && (s->conn || s->ending || s->refusal[0]) ? EB_ERR(EBUSY) : 0;
    pthread_mutex_unlock(&r->lock);
    if (ret >= 0)
        snprintf(channel, size, "%s", spec.name);
    explicit_bzero(&spec, sizeof(spec));
    return ret;
}

static int eb_runs_rtmp_open(void *opaque, const char *channel, uint64_t conn)
{
    return eb_runs_attach(opaque, channel, conn | EB_RUNS_RTMP);
}

static int eb_runs_rtmp_data(void *opaque, uint64_t conn, const uint8_t *buf, size_t size)
{
    return eb_runs_data(opaque, conn | EB_RUNS_RTMP, buf, size);
}

static void eb_runs_rtmp_close(void *opaque, uint64_t conn, const char *why)
{
    eb_runs_close_conn(opaque, conn | EB_RUNS_RTMP, why);
}

/* Ends a publisher's connection, whichever listener holds it (not with
 * the lock held: the listener calls close()). */
static void eb_runs_drop(EbChannelRuns *r, uint64_t conn)
{
    if (conn & EB_RUNS_RTMP) {
        if (r->rtmp)
            eb_ingest_rtmp_drop(r->rtmp, conn & ~EB_RUNS_RTMP);
    } else if (r->srt) {
        eb_ingest_srt_drop(r->srt, conn);
    }
}

/* ---- the supervisor ---- */

/* The channel's figures from the worker's last progress line and the
 * transport's (lock held). A new reference. */
static json_t *eb_runs_stats(EbChannelRuns *r, EbSlot *s)
{
    json_t *st = json_object(), *ingest = json_object();

    if (s->progress) {
        json_t *p = s->progress;
        json_object_set(st, "sequence", json_object_get(p, "sequence"));
        json_object_set(st, "fps", json_object_get(p, "fps"));
        json_object_set(st, "speed", json_object_get(p, "speed"));
        json_object_set(st, "dropped_frames", json_object_get(p, "dropped"));
        json_object_set(st, "lag_seconds", json_object_get(p, "lag_seconds"));
        json_object_set(st, "av_offset_seconds", json_object_get(p, "av_offset_seconds"));
        json_object_set(st, "timestamp_jumps", json_object_get(p, "timestamp_jumps"));
        json_object_set(st, "edge_age_seconds", json_object_get(p, "edge_age_seconds"));
        json_object_set(st, "rungs", json_object_get(p, "rungs"));
    }
    json_object_set_new(st, "restarts", json_integer(s->restarts_total));
    if (s->cost > 0)
        json_object_set_new(st, "pixel_rate", json_real(s->cost));
    if (s->refused)
        json_object_set_new(st, "refused", json_string(s->refusal));
    json_object_set_new(ingest, "transport", json_string(s->conn & EB_RUNS_RTMP ? "rtmp" : "srt"));
    json_object_set_new(ingest, "bytes_relayed", json_integer(s->bytes));
    json_object_set_new(ingest, "bytes_dropped", json_integer(s->dropped_bytes));
    if ((s->conn & EB_RUNS_RTMP) && r->rtmp) {
        EbIngestRtmpStats rs;
        if (eb_ingest_rtmp_stats(r->rtmp, s->conn & ~EB_RUNS_RTMP, &rs) == 0) {
            json_object_set_new(ingest, "mbps", json_real(rs.mbps_recv));
            json_object_set_new(ingest, "peer", json_string(rs.peer));
        }
    } else if (s->conn && r->srt) {
        EbIngestSrtStats ss;
        if (eb_ingest_srt_stats(r->srt, s->conn, &ss) == 0) {
            json_object_set_new(ingest, "rtt_ms", json_real(ss.rtt_ms));
            json_object_set_new(ingest, "packets_lost", json_integer(ss.pkts_lost));
            json_object_set_new(ingest, "packets_retransmitted",
                                json_integer(ss.pkts_retransmitted));
            json_object_set_new(ingest, "packets_dropped", json_integer(ss.pkts_dropped));
            json_object_set_new(ingest, "mbps", json_real(ss.mbps_recv));
        }
    }
    json_object_set_new(st, "ingest", ingest);
    return st;
}

/* One line of a worker (lock held; channel store calls are safe under it:
 * the store never calls back). */
static void eb_runs_event(EbChannelRuns *r, EbSlot *s, const char *line)
{
    json_t *ev = json_loads(line, 0, NULL);
    const char *kind = json_string_value(json_object_get(ev, "event"));

    s->last_heard = eb_now_mono();
    if (!kind) {
        json_decref(ev);
        return;
    }
    if (!strcmp(kind, "progress")) {
        json_decref(s->progress);
        s->progress = ev;
        eb_channels_set_stats(r->channels, s->spec.id, eb_runs_stats(r, s));
        return;
    }
    if (!strcmp(kind, "plan")) {
        double cost = json_number_value(json_object_get(ev, "pixel_rate")), used = 0;
        for (int i = 0; i < EB_RUNS_MAX; i++)
            if (r->slots[i].used && &r->slots[i] != s && r->slots[i].kind == EB_WORKER_RUN)
                used += r->slots[i].cost;
        s->cost = cost;
        if (used + cost > r->capacity && s->pid && s->kind == EB_WORKER_RUN) {
            snprintf(s->refusal, sizeof(s->refusal),
                     "the box carries %.1f Mpixel/s of live encoding (live.capacity_mpixels); "
                     "%.1f are in use and this feed (%dx%d at %.4g fps) needs %.1f",
                     r->capacity / 1e6, used / 1e6,
                     (int)json_integer_value(json_object_get(ev, "width")),
                     (int)json_integer_value(json_object_get(ev, "height")),
                     json_number_value(json_object_get(ev, "fps")), cost / 1e6);
            EB_LOGW("live", "channel %s refused: %s", s->spec.name, s->refusal);
            s->refused = 1;
            kill(s->pid, SIGKILL);
            eb_channels_set_stats(r->channels, s->spec.id, eb_runs_stats(r, s));
        }
        json_decref(ev);
        return;
    }
    if (!strcmp(kind, "recording")) {
        const char *id = json_string_value(json_object_get(ev, "id"));
        int ret = id ? eb_channels_add_recording(r->channels, s->spec.id, id,
                                                 json_number_value(json_object_get(ev, "start")),
                                                 json_number_value(json_object_get(ev, "end")),
                                                 json_number_value(json_object_get(ev, "duration")))
                     : EB_ERR(EINVAL);
        if (ret < 0)
            EB_LOGW("live", "channel %s: recording %s not listed: %s", s->spec.name, id ? id : "?",
                    eb_strerror(ret));
        else
            EB_LOGI("live", "channel %s: recording %s published", s->spec.name, id);
    }
    json_decref(ev);
}

/* Reads what the worker printed (lock held). */
static void eb_runs_read(EbChannelRuns *r, EbSlot *s)
{
    for (;;) {
        ssize_t n;
        char *nl;
        if (s->out_fd < 0)
            return;
        n = read(s->out_fd, s->line + s->line_len, sizeof(s->line) - 1 - s->line_len);
        if (n <= 0)
            return;
        s->line_len += (size_t)n;
        s->line[s->line_len] = '\0';
        while ((nl = strchr(s->line, '\n'))) {
            *nl = '\0';
            eb_runs_event(r, s, s->line);
            s->line_len -= (size_t)(nl + 1 - s->line);
            memmove(s->line, nl + 1, s->line_len + 1);
        }
        if (s->line_len == sizeof(s->line) - 1)
            s->line_len = 0; /* a line too long to be ours */
    }
}

/* The slot's worker exited with status (lock held): what comes next. */
static void eb_runs_exited(EbChannelRuns *r, EbSlot *s, int status, uint64_t *drop)
{
    EbWorkerKind kind = s->kind;
    double now = eb_now_mono();
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

    eb_runs_read(r, s);
    close(s->out_fd);
    s->out_fd = -1;
    s->pid = 0;
    s->kind = EB_WORKER_NONE;
    if (!ok)
        EB_LOGW("live", "channel %s: the %s worker ended badly (%s %d)", s->spec.name,
                kind == EB_WORKER_RUN ? "run" : "finish", WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));

    if (s->lost) {
        /* Another box carries the channel now (eb_runs_lost killed this
         * worker): no restart, no state, nothing more of it here. */
        if (s->conn) {
            *drop = s->conn;
            s->release_on_close = 1;
        } else {
            eb_slot_free(s);
        }
        return;
    }
    if (kind == EB_WORKER_FINISH) {
        s->session_open = !ok && s->session_open;
        if (s->conn && !s->ending && !s->refusal[0]) {
            /* A publisher came while the session ended: a new session. */
            if (eb_runs_spawn(r, s, EB_WORKER_RUN) < 0)
                *drop = s->conn;
            return;
        }
        if (!s->ending)
            eb_channels_set_state(r->channels, s->spec.id, EB_CHANNEL_IDLE);
        if (!s->refusal[0]) /* a refusal's reason stays in the view */
            eb_channels_set_stats(r->channels, s->spec.id, json_object());
        if (s->conn) /* a refused publisher's drop is on its way: close() frees */
            s->release_on_close = 1;
        else
            eb_slot_release(r, s);
        return;
    }
    if (s->refused) {
        /* Admission said no: drop the publisher, end what is open. */
        json_t *why = eb_runs_stats(r, s);
        *drop = s->conn;
        s->refused = 0;
        s->cost = 0;
        if (s->feed_r >= 0) {
            close(s->feed_r);
            s->feed_r = -1;
        }
        eb_channels_set_stats(r->channels, s->spec.id, why);
        if (eb_runs_spawn(r, s, EB_WORKER_FINISH) < 0) {
            if (s->conn)
                s->release_on_close = 1;
            else
                eb_slot_release(r, s);
        }
        return;
    }
    if (s->conn && s->feed_r >= 0) {
        /* A new publisher arrived while this run drained: it continues. */
        if (eb_runs_spawn(r, s, EB_WORKER_RUN) < 0)
            *drop = s->conn;
        return;
    }
    if (s->conn && !s->ending) {
        /* The publisher is still there: a crash. Restart on a new pipe
         * (the listener's thread switches to it at its next write). */
        if (now - s->restart_span_start > EB_RUNS_RESTART_SPAN) {
            s->restart_span_start = now;
            s->restarts = 0;
        }
        if (++s->restarts > EB_RUNS_RESTARTS) {
            EB_LOGW("live", "channel %s: %d restarts within %.0f s; dropping the publisher",
                    s->spec.name, EB_RUNS_RESTARTS, EB_RUNS_RESTART_SPAN);
            *drop = s->conn;
            return;
        }
        s->restarts_total++;
        EB_LOGW("live", "channel %s: restarting its worker", s->spec.name);
        if (eb_runs_feed(s, 1) < 0 || eb_runs_spawn(r, s, EB_WORKER_RUN) < 0)
            *drop = s->conn;
        return;
    }
    /* The publisher left: wait for it, or end the session now. */
    if (s->ending || s->spec.reconnect_window_seconds <= 0) {
        if (eb_runs_spawn(r, s, EB_WORKER_FINISH) < 0) {
            EB_LOGE("live", "channel %s: its session could not be ended", s->spec.name);
            eb_slot_release(r, s);
        }
        return;
    }
    s->reconnect_at = now + s->spec.reconnect_window_seconds;
    eb_channels_set_state(r->channels, s->spec.id, EB_CHANNEL_RECONNECTING);
    EB_LOGI("live", "channel %s: waiting %.0f s for the publisher", s->spec.name,
            s->spec.reconnect_window_seconds);
}

/* eb_channels_renew's report (supervisor thread, lock not held): this box
 * no longer carries the channel. Ended through another box's API: as a
 * DELETE here. Taken by another box (this one lost its lease): its worker
 * is killed at once and its publisher dropped, before it writes more of a
 * window that box now writes. */
static void eb_runs_lost(void *opaque, const char *id, int ended)
{
    EbChannelRuns *r = opaque;
    uint64_t conn = 0;
    EbSlot *s;

    if (ended) {
        eb_channel_runs_end(r, id);
        return;
    }
    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_channel(r, id);
    if (s) {
        EB_LOGW("live", "channel %s: another box carries it now; stopping here", s->spec.name);
        s->lost = 1;
        s->reconnect_at = 0;
        conn = s->conn;
        if (s->pid)
            kill(s->pid, SIGKILL); /* reaped by the supervisor: eb_runs_exited */
        else if (conn)
            s->release_on_close = 1;
        else
            eb_slot_free(s);
    }
    pthread_mutex_unlock(&r->lock);
    if (conn)
        eb_runs_drop(r, conn);
}

/* Takes over a channel whose box's lease ran out (that box died or
 * stopped; supervisor thread, lock not held). Its session, if one is
 * open, waits for the publisher here (it may come back to any box) for
 * reconnect_window_seconds, then ends with its recording, as if this box
 * had carried it all along; otherwise the channel is idle again. */
static void eb_runs_adopt(EbChannelRuns *r, const char *id)
{
    char holder[80], dir[4300];
    EbChannelSpec spec;
    EbLiveLog log;
    EbSlot *s = NULL;
    int open = 0;

    if (eb_channels_claim(r->channels, id, holder, sizeof(holder)) < 0)
        return; /* another box was quicker, or it ended */
    if (eb_channels_spec(r->channels, id, &spec) < 0) {
        eb_channels_release(r->channels, id);
        return;
    }
    if (eb_layout_live_dir(r->storage, spec.name, dir, sizeof(dir)) >= 0 &&
        eb_live_log_load(dir, &log) == 0) {
        open = log.open && log.nb_seq > 0;
        eb_live_log_free(&log);
    }
    EB_LOGI("live", "channel %s: taken over from a box whose lease ran out%s", spec.name,
            open ? "; waiting for its publisher" : "");
    pthread_mutex_lock(&r->lock);
    if (eb_slot_by_channel(r, id)) {
        open = 1; /* a publisher reached this box meanwhile: its run goes on */
    } else if (open && (s = eb_slot_new(r, &spec))) {
        s->session_open = 1;
        if (spec.reconnect_window_seconds > 0) {
            s->reconnect_at = eb_now_mono() + spec.reconnect_window_seconds;
            eb_channels_set_state(r->channels, id, EB_CHANNEL_RECONNECTING);
        } else if (eb_runs_spawn(r, s, EB_WORKER_FINISH) < 0) {
            eb_slot_release(r, s);
        }
    } else if (open) {
        open = 0; /* no free slot: let it go, idle */
    }
    if (!open) {
        eb_channels_set_state(r->channels, id, EB_CHANNEL_IDLE);
        eb_channels_set_stats(r->channels, id, json_object());
        eb_channels_release(r->channels, id);
    }
    pthread_mutex_unlock(&r->lock);
    explicit_bzero(&spec, sizeof(spec));
    eb_runs_wake(r);
}

/* The lease pass (supervisor thread, lock not held), every lease / 3:
 * renews what this box carries, and takes over what dead boxes left. */
static void eb_runs_leases(EbChannelRuns *r)
{
    char ids[8][40];
    int n;

    eb_channels_renew(r->channels, eb_runs_lost, r);
    n = eb_channels_orphans(r->channels, ids, 8);
    for (int i = 0; i < n; i++)
        eb_runs_adopt(r, ids[i]);
}

static void *eb_runs_supervise(void *arg)
{
    EbChannelRuns *r = arg;

    pthread_setname_np(pthread_self(), "eb-live-sup");
    for (;;) {
        struct pollfd pfd[EB_RUNS_MAX + 1];
        uint64_t drop[EB_RUNS_MAX];
        int n = 0, nb_drop = 0, stop;
        double now;
        char buf[64];

        pthread_mutex_lock(&r->lock);
        stop = r->stop;
        pfd[n++] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
        for (int i = 0; i < EB_RUNS_MAX; i++)
            if (r->slots[i].used && r->slots[i].out_fd >= 0)
                pfd[n++] = (struct pollfd){.fd = r->slots[i].out_fd, .events = POLLIN};
        pthread_mutex_unlock(&r->lock);
        if (stop)
            break;
        if (poll(pfd, (nfds_t)n, EB_RUNS_TICK_MS) > 0 && (pfd[0].revents & POLLIN))
            while (read(r->wake[0], buf, sizeof(buf)) > 0)
                ;

        pthread_mutex_lock(&r->lock);
        now = eb_now_mono();
        for (int i = 0; i < EB_RUNS_MAX; i++) {
            EbSlot *s = &r->slots[i];
            int status;
            uint64_t d = 0;
            if (!s->used)
                continue;
            eb_runs_read(r, s);
            if (s->pid && waitpid(s->pid, &status, WNOHANG) == s->pid) {
                eb_runs_exited(r, s, status, &d);
            } else if (s->pid && s->kind == EB_WORKER_RUN && s->conn &&
                       now - s->last_heard > r->hang_seconds) {
                EB_LOGW("live", "channel %s: its worker said nothing for %.0f s; killing it",
                        s->spec.name, r->hang_seconds);
                kill(s->pid, SIGKILL);
                s->last_heard = now; /* reaped next tick */
            } else if (!s->pid && !s->conn && s->reconnect_at && now >= s->reconnect_at) {
                s->reconnect_at = 0;
                EB_LOGI("live", "channel %s: the publisher did not come back", s->spec.name);
                if (eb_runs_spawn(r, s, EB_WORKER_FINISH) < 0)
                    eb_slot_release(r, s);
            } else if (!s->pid && s->conn && s->feed_r >= 0) {
                if (eb_runs_spawn(r, s, EB_WORKER_RUN) < 0)
                    d = s->conn;
            }
            if (d)
                drop[nb_drop++] = d;
        }
        pthread_mutex_unlock(&r->lock);
        /* Outside the lock: the listener's close callback takes it. */
        for (int i = 0; i < nb_drop; i++)
            eb_runs_drop(r, drop[i]);
        if (now >= r->next_lease) {
            int lease = eb_channels_lease_seconds(r->channels);
            r->next_lease = now + (lease >= 3 ? lease / 3.0 : 1.0);
            eb_runs_leases(r);
        }
    }
    return NULL;
}

void eb_channel_runs_end(EbChannelRuns *r, const char *channel_id)
{
    uint64_t conn = 0;
    EbSlot *s;

    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    s = eb_slot_by_channel(r, channel_id);
    if (s) {
        s->ending = 1;
        conn = s->conn;
        if (!s->pid && !s->conn && s->reconnect_at)
            s->reconnect_at = 1e-9; /* due now */
    }
    pthread_mutex_unlock(&r->lock);
    if (conn)
        eb_runs_drop(r, conn);
    eb_runs_wake(r);
}

void eb_channel_runs_metrics(EbChannelRuns *r, FILE *f)
{
    if (!r)
        return;
    fprintf(f, "# HELP encbox_live_channels Channels with a publisher or an open session.\n"
               "# TYPE encbox_live_channels gauge\n");
    pthread_mutex_lock(&r->lock);
    {
        int live = 0, waiting = 0;
        for (int i = 0; i < EB_RUNS_MAX; i++) {
            live += r->slots[i].used && r->slots[i].conn;
            waiting += r->slots[i].used && !r->slots[i].conn;
        }
        fprintf(f, "encbox_live_channels{state=\"live\"} %d\n", live);
        fprintf(f, "encbox_live_channels{state=\"reconnecting\"} %d\n", waiting);
    }
    fprintf(f,
            "# HELP encbox_live_ingest_bytes_total Feed bytes relayed to a channel's worker.\n"
            "# TYPE encbox_live_ingest_bytes_total counter\n"
            "# HELP encbox_live_ingest_dropped_bytes_total Feed bytes dropped (worker behind).\n"
            "# TYPE encbox_live_ingest_dropped_bytes_total counter\n"
            "# HELP encbox_live_dropped_frames Frames the channel's run dropped to keep up.\n"
            "# TYPE encbox_live_dropped_frames gauge\n"
            "# HELP encbox_live_speed Encode speed of the channel's run (x real time).\n"
            "# TYPE encbox_live_speed gauge\n"
            "# HELP encbox_live_edge_age_seconds Since the newest segment was listed.\n"
            "# TYPE encbox_live_edge_age_seconds gauge\n"
            "# HELP encbox_live_worker_restarts_total Workers restarted after a crash or hang.\n"
            "# TYPE encbox_live_worker_restarts_total counter\n"
            "# HELP encbox_live_srt_rtt_ms SRT round-trip time of the channel's publisher.\n"
            "# TYPE encbox_live_srt_rtt_ms gauge\n"
            "# HELP encbox_live_srt_packets_lost_total SRT packets lost (before retransmission).\n"
            "# TYPE encbox_live_srt_packets_lost_total counter\n"
            "# HELP encbox_live_srt_packets_retransmitted_total SRT packets retransmitted.\n"
            "# TYPE encbox_live_srt_packets_retransmitted_total counter\n");
    for (int i = 0; i < EB_RUNS_MAX; i++) {
        EbSlot *s = &r->slots[i];
        const char *c = s->spec.name;
        if (!s->used)
            continue;
        fprintf(f, "encbox_live_ingest_bytes_total{channel=\"%s\"} %lld\n", c, (long long)s->bytes);
        fprintf(f, "encbox_live_ingest_dropped_bytes_total{channel=\"%s\"} %lld\n", c,
                (long long)s->dropped_bytes);
        fprintf(f, "encbox_live_worker_restarts_total{channel=\"%s\"} %lld\n", c,
                (long long)s->restarts_total);
        if (s->progress) {
            fprintf(f, "encbox_live_dropped_frames{channel=\"%s\"} %lld\n", c,
                    (long long)json_integer_value(json_object_get(s->progress, "dropped")));
            fprintf(f, "encbox_live_speed{channel=\"%s\"} %.3f\n", c,
                    json_number_value(json_object_get(s->progress, "speed")));
            fprintf(f, "encbox_live_edge_age_seconds{channel=\"%s\"} %.3f\n", c,
                    json_number_value(json_object_get(s->progress, "edge_age_seconds")));
        }
        if (s->conn && !(s->conn & EB_RUNS_RTMP) && r->srt) {
            EbIngestSrtStats ss;
            if (eb_ingest_srt_stats(r->srt, s->conn, &ss) == 0) {
                fprintf(f, "encbox_live_srt_rtt_ms{channel=\"%s\"} %.3f\n", c, ss.rtt_ms);
                fprintf(f, "encbox_live_srt_packets_lost_total{channel=\"%s\"} %lld\n", c,
                        (long long)ss.pkts_lost);
                fprintf(f, "encbox_live_srt_packets_retransmitted_total{channel=\"%s\"} %lld\n", c,
                        (long long)ss.pkts_retransmitted);
            }
        }
    }
    pthread_mutex_unlock(&r->lock);
}

/* Sessions an earlier daemon left open (it died with its workers): ended
 * now by finish workers, so their recordings are published (lock held). */
static void eb_runs_recover(EbChannelRuns *r)
{
    json_t *all = NULL, *v;
    size_t i;

    if (eb_channels_list(r->channels, &all) < 0)
        return;
    json_array_foreach(all, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        char dir[4300];
        EbChannelSpec spec;
        EbLiveLog log;
        EbSlot *s;
        if (!name || eb_channels_spec(r->channels, name, &spec) < 0)
            continue;
        if (eb_layout_live_dir(r->storage, name, dir, sizeof(dir)) >= 0 &&
            eb_live_log_load(dir, &log) == 0) {
            char holder[80];
            /* Claimed first: in a rack, another box may carry it now. */
            if (log.open && log.nb_seq > 0 &&
                eb_channels_claim(r->channels, spec.id, holder, sizeof(holder)) == 0) {
                if ((s = eb_slot_new(r, &spec))) {
                    EB_LOGI("live", "channel %s: ending the session an earlier daemon left open",
                            name);
                    s->session_open = 1;
                    if (eb_runs_spawn(r, s, EB_WORKER_FINISH) < 0)
                        eb_slot_release(r, s);
                } else {
                    eb_channels_release(r->channels, spec.id);
                }
            }
            eb_live_log_free(&log);
        }
        explicit_bzero(&spec, sizeof(spec));
    }
    json_decref(all);
}

int eb_channel_runs_open(const EbChannelRunsConfig *cfg, EbChannelRuns **out, char *detail,
                         size_t size)
{
    EbChannelRuns *r = calloc(1, sizeof(*r));
    int ret = 0;

    *out = NULL;
    if (!r)
        return EB_ERR(ENOMEM);
    pthread_mutex_init(&r->lock, NULL);
    snprintf(r->exe, sizeof(r->exe), "%s", cfg->exe);
    snprintf(r->storage, sizeof(r->storage), "%s", cfg->storage_root);
    snprintf(r->config, sizeof(r->config), "%s", cfg->config_path ? cfg->config_path : "");
    snprintf(r->utc, sizeof(r->utc), "%s", cfg->utc_timing_url ? cfg->utc_timing_url : "");
    snprintf(r->key_store, sizeof(r->key_store), "%s", cfg->key_store ? cfg->key_store : "");
    snprintf(r->base_url, sizeof(r->base_url), "%s",
             cfg->public_base_url ? cfg->public_base_url : "");
    r->channels = cfg->channels;
    r->hang_seconds = cfg->hang_seconds > 0 ? cfg->hang_seconds : EB_RUNS_HANG_SECONDS;
    r->capacity =
        cfg->capacity_pixel_rate > 0 ? cfg->capacity_pixel_rate : eb_channel_runs_estimate();
    for (int i = 0; i < EB_RUNS_MAX; i++)
        r->slots[i].feed_w = r->slots[i].feed_r = r->slots[i].feed_next_w = r->slots[i].out_fd = -1;
    if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        ret = EB_ERR(errno);
        snprintf(detail, size, "no pipe: %s", strerror(errno));
        pthread_mutex_destroy(&r->lock);
        free(r);
        return ret;
    }
    if (cfg->srt_listen && cfg->srt_listen[0]) {
        EbIngestSrtConfig sc = {
            .listen = cfg->srt_listen,
            .lookup = eb_runs_lookup,
            .open = eb_runs_open,
            .data = eb_runs_data,
            .close = eb_runs_close_conn,
            .opaque = r,
        };
        ret = eb_ingest_srt_open(&sc, &r->srt, detail, size);
    }
    if (ret >= 0 && cfg->rtmp_listen && cfg->rtmp_listen[0]) {
        EbIngestRtmpConfig rc = {
            .listen = cfg->rtmp_listen,
            .lookup = eb_runs_rtmp_lookup,
            .open = eb_runs_rtmp_open,
            .data = eb_runs_rtmp_data,
            .close = eb_runs_rtmp_close,
            .opaque = r,
        };
        ret = eb_ingest_rtmp_open(&rc, &r->rtmp, detail, size);
    }
    if (ret >= 0) {
        pthread_mutex_lock(&r->lock);
        eb_runs_recover(r);
        pthread_mutex_unlock(&r->lock);
        ret = pthread_create(&r->sup, NULL, eb_runs_supervise, r) == 0 ? 0 : EB_ERR(EAGAIN);
        r->sup_started = ret == 0;
    }
    if (ret < 0) {
        eb_channel_runs_close(&r);
        return ret;
    }
    *out = r;
    return 0;
}

double eb_channel_runs_estimate(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return (cores > 0 ? (double)cores : 1.0) * EB_RUNS_MPIXELS_PER_CORE * 1e6;
}

int eb_channel_runs_srt_port(const EbChannelRuns *r)
{
    return r && r->srt ? eb_ingest_srt_port(r->srt) : 0;
}

int eb_channel_runs_rtmp_port(const EbChannelRuns *r)
{
    return r && r->rtmp ? eb_ingest_rtmp_port(r->rtmp) : 0;
}

void eb_channel_runs_close(EbChannelRuns **rp)
{
    EbChannelRuns *r = *rp;

    if (!r)
        return;
    /* Ends every connection (the close callbacks close the feeds), then
     * lets the workers finish their runs: each lists what it has and
     * leaves its session open, for the next daemon to end. */
    eb_ingest_srt_close(&r->srt);
    eb_ingest_rtmp_close(&r->rtmp);
    for (int tries = 0; tries < 100; tries++) {
        int busy = 0;
        pthread_mutex_lock(&r->lock);
        for (int i = 0; i < EB_RUNS_MAX; i++)
            busy |= r->slots[i].used && r->slots[i].pid;
        pthread_mutex_unlock(&r->lock);
        if (!busy || !r->sup_started)
            break;
        usleep(100 * 1000);
    }
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_mutex_unlock(&r->lock);
    if (r->sup_started) {
        eb_runs_wake(r);
        pthread_join(r->sup, NULL);
    }
    for (int i = 0; i < EB_RUNS_MAX; i++) {
        EbSlot *s = &r->slots[i];
        if (s->used && s->pid) {
            int status;
            kill(s->pid, SIGTERM);
            while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
        if (s->used)
            eb_slot_free(s); /* its lease runs out: this box, back first, or another
                              * box ends the sessions left open */
    }
    close(r->wake[0]);
    close(r->wake[1]);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *rp = NULL;
}
