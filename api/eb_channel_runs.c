/*
 * The daemon's live runs: the SRT listener (eb_ingest_srt.h) on one side,
 * one `encbox live` worker process per connected publisher on the other.
 * A publisher's connection spawns the worker with a pipe on its standard
 * input and the channel's settings on its command line (no secret goes
 * there: the passphrase stays in the daemon); the listener's thread relays
 * every received buffer into the pipe without ever blocking: a full pipe
 * (a worker more than a megabyte behind) drops the buffer and counts it,
 * so one stuck channel never stalls the others. When the connection ends
 * the pipe closes, the worker lists its last segments, closes the
 * playlists and publishes the recording; a reaper thread per run waits for
 * it and records how it ended in the channel store.
 *
 * First increment: a publisher's departure ends the run (reconnects that
 * continue the numbering come next).
 * Threads: the listener's (callbacks), one eb-run-<n> per ended run.
 */
#include "eb_channel_runs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_ingest_srt.h"
#include "eb_layout.h"
#include "eb_log.h"

#define EB_RUNS_MAX 64
#define EB_RUNS_PIPE_BYTES (1 << 20)

typedef struct EbRun {
    int used;
    uint64_t conn;
    EbChannelSpec spec;
    pid_t pid;
    int fd; /* write end of the worker's stdin; -1 once closed */
    int64_t bytes, dropped_bytes;
    double started;
    char recording[128];
    pthread_t reaper;
    int reaping;
    EbChannelRuns *owner;
} EbRun;

struct EbChannelRuns {
    char exe[4096];
    char storage[4096];
    char config[4096]; /* "": none (built-in defaults) */
    EbChannels *channels;
    EbIngestSrt *srt;
    pthread_mutex_t lock;
    EbRun runs[EB_RUNS_MAX];
};

static double eb_now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static EbRun *eb_run_by_conn(EbChannelRuns *r, uint64_t conn)
{
    for (int i = 0; i < EB_RUNS_MAX; i++)
        if (r->runs[i].used && r->runs[i].conn == conn)
            return &r->runs[i];
    return NULL;
}

static int eb_runs_lookup(void *opaque, const char *channel, char *passphrase, size_t size)
{
    EbChannelRuns *r = opaque;
    EbChannelSpec spec;
    int ret = eb_channels_spec(r->channels, channel, &spec);

    if (ret < 0)
        return EB_ERR(ENOENT);
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < EB_RUNS_MAX; i++)
        if (r->runs[i].used && !strcmp(r->runs[i].spec.id, spec.id))
            ret = EB_ERR(EBUSY);
    pthread_mutex_unlock(&r->lock);
    if (ret < 0)
        return ret;
    snprintf(passphrase, size, "%s", spec.srt_passphrase);
    return 0;
}

static pid_t eb_runs_spawn(EbChannelRuns *r, const EbChannelSpec *spec, const char *rid, int *wfd)
{
    char seg[32], win[32];
    const char *argv[20];
    int n = 0, p[2];
    pid_t pid;

    snprintf(seg, sizeof(seg), "%g", spec->segment_seconds);
    snprintf(win, sizeof(win), "%g", spec->window_seconds);
    argv[n++] = r->exe;
    argv[n++] = "live";
    argv[n++] = spec->name;
    argv[n++] = "-o";
    argv[n++] = r->storage;
    argv[n++] = "-q";
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
    if (spec->record) {
        argv[n++] = "--recording-id";
        argv[n++] = rid;
    } else {
        argv[n++] = "--no-record";
    }
    argv[n] = NULL;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(p[0], STDIN_FILENO) < 0)
            _exit(127);
        execv(r->exe, (char *const *)argv);
        _exit(127);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return -1;
    }
    fcntl(p[1], F_SETPIPE_SZ, EB_RUNS_PIPE_BYTES);
    fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
    *wfd = p[1];
    return pid;
}

static int eb_runs_open(void *opaque, const char *channel, uint64_t conn)
{
    EbChannelRuns *r = opaque;
    EbRun *run = NULL;
    EbChannelSpec spec;
    char rid[128], stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    if (eb_channels_spec(r->channels, channel, &spec) < 0)
        return EB_ERR(ENOENT);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(rid, sizeof(rid), "%s-%s", spec.name, stamp);
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < EB_RUNS_MAX && !run; i++) {
        if (r->runs[i].used)
            continue;
        run = &r->runs[i];
        if (run->reaping) /* its reaper has let go of the slot: it is past the lock */
            pthread_join(run->reaper, NULL);
    }
    if (!run) {
        pthread_mutex_unlock(&r->lock);
        EB_LOGW("live", "channel %s refused: %d runs already", channel, EB_RUNS_MAX);
        return EB_ERR(EBUSY);
    }
    memset(run, 0, sizeof(*run));
    run->used = 1;
    run->conn = conn;
    run->spec = spec;
    run->owner = r;
    run->started = eb_now_unix();
    snprintf(run->recording, sizeof(run->recording), "%s", spec.record ? rid : "");
    run->pid = eb_runs_spawn(r, &spec, rid, &run->fd);
    if (run->pid < 0) {
        run->used = 0;
        pthread_mutex_unlock(&r->lock);
        EB_LOGW("live", "channel %s: the worker did not start: %s", channel, strerror(errno));
        return EB_ERR(EAGAIN);
    }
    pthread_mutex_unlock(&r->lock);
    eb_channels_set_state(r->channels, spec.id, EB_CHANNEL_LIVE);
    EB_LOGI("live", "channel %s is live (worker %d)", channel, (int)run->pid);
    return 0;
}

static int eb_runs_data(void *opaque, uint64_t conn, const uint8_t *buf, size_t size)
{
    EbChannelRuns *r = opaque;
    EbRun *run;
    int fd;

    pthread_mutex_lock(&r->lock);
    run = eb_run_by_conn(r, conn);
    fd = run ? run->fd : -1;
    pthread_mutex_unlock(&r->lock);
    if (fd < 0)
        return EB_ERR(ENOENT);
    /* Only this thread writes and closes the fd: no lock across write(). */
    ssize_t n = write(fd, buf, size);
    pthread_mutex_lock(&r->lock);
    if (n == (ssize_t)size) {
        run->bytes += n;
    } else if (n < 0 && errno == EPIPE) {
        pthread_mutex_unlock(&r->lock);
        return EB_ERR(EPIPE); /* the worker is gone: drop the publisher */
    } else {
        run->dropped_bytes += (int64_t)size - (n > 0 ? n : 0);
    }
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void *eb_runs_reap(void *arg)
{
    EbRun *run = arg;
    EbChannelRuns *r = run->owner;
    int status = 0;
    double ended;

    pthread_setname_np(pthread_self(), "eb-run");
    while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR)
        ;
    ended = eb_now_unix();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        EB_LOGW("live", "channel %s: the worker ended badly (status %d)", run->spec.name, status);
    if (run->recording[0]) {
        char dir[4300];
        struct stat st;
        if (eb_layout_video_dir(r->storage, run->recording, dir, sizeof(dir)) >= 0 &&
            stat(dir, &st) == 0)
            eb_channels_add_recording(r->channels, run->spec.id, run->recording, run->started,
                                      ended, ended - run->started);
    }
    eb_channels_set_state(r->channels, run->spec.id, EB_CHANNEL_IDLE);
    pthread_mutex_lock(&r->lock);
    run->used = 0;
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void eb_runs_close_conn(void *opaque, uint64_t conn, const char *why)
{
    EbChannelRuns *r = opaque;
    EbRun *run;

    pthread_mutex_lock(&r->lock);
    run = eb_run_by_conn(r, conn);
    if (run) {
        EB_LOGI("live", "channel %s: publisher gone (%s), %lld bytes relayed, %lld dropped",
                run->spec.name, why, (long long)run->bytes, (long long)run->dropped_bytes);
        if (run->fd >= 0)
            close(run->fd);
        run->fd = -1;
        run->conn = 0;
        run->reaping = pthread_create(&run->reaper, NULL, eb_runs_reap, run) == 0;
        if (!run->reaping)
            run->used = 0;
    }
    pthread_mutex_unlock(&r->lock);
}

int eb_channel_runs_open(const EbChannelRunsConfig *cfg, EbChannelRuns **out, char *detail,
                         size_t size)
{
    EbChannelRuns *r = calloc(1, sizeof(*r));
    EbIngestSrtConfig sc = {
        .listen = cfg->srt_listen,
        .lookup = eb_runs_lookup,
        .open = eb_runs_open,
        .data = eb_runs_data,
        .close = eb_runs_close_conn,
    };
    int ret;

    *out = NULL;
    if (!r)
        return EB_ERR(ENOMEM);
    pthread_mutex_init(&r->lock, NULL);
    snprintf(r->exe, sizeof(r->exe), "%s", cfg->exe);
    snprintf(r->storage, sizeof(r->storage), "%s", cfg->storage_root);
    snprintf(r->config, sizeof(r->config), "%s", cfg->config_path ? cfg->config_path : "");
    r->channels = cfg->channels;
    sc.opaque = r;
    ret = eb_ingest_srt_open(&sc, &r->srt, detail, size);
    if (ret < 0) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return ret;
    }
    *out = r;
    return 0;
}

int eb_channel_runs_srt_port(const EbChannelRuns *r)
{
    return eb_ingest_srt_port(r->srt);
}

void eb_channel_runs_close(EbChannelRuns **rp)
{
    EbChannelRuns *r = *rp;

    if (!r)
        return;
    /* Ends every connection (close callbacks start the reapers). */
    eb_ingest_srt_close(&r->srt);
    for (int i = 0; i < EB_RUNS_MAX; i++) {
        EbRun *run = &r->runs[i];
        if (run->reaping)
            pthread_join(run->reaper, NULL);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
    *rp = NULL;
}
