/*
 * Job store (SQLite, WAL) and scheduler with supervised worker processes.
 * See eb_jobs.h for the model.
 *
 * DESIGN
 * - The database is the truth for every job; the in-memory table `runs`
 *   only maps running job ids to worker pids and monitor threads.
 * - A worker is `encbox transcode --spec-fd 4 -q --progress-fd 3`,
 *   forked by eb-sched (eb_run_argv). Its job arrives as the spec's JSON
 *   in a sealed memfd on fd 4 (eb_job_spec_to_memfd), not as flags: a
 *   command line is world-readable in /proc/<pid>/cmdline, and specs are
 *   to carry secrets. The stored spec is decoded with the codec, given
 *   the daemon's storage root, input roots and configuration file, and
 *   written out again for the worker. It gets PR_SET_PDEATHSIG(SIGKILL)
 *   so it dies with the daemon (a restarted daemon re-runs the job from
 *   the start; the transcode CLI publishes nothing before it completes, so
 *   nothing half-done is ever visible).
 * - The monitor thread of a job poll()s the progress pipe with the watchdog
 *   timeout; EOF means the worker exited, and waitpid() says how.
 * - Cancel (and shutdown): SIGTERM (the CLI cancels cleanly and removes
 *   its staging); SIGKILL once the grace period has passed, whatever the
 *   progress pipe does. The watchdog keeps running during a cancel, and
 *   measures progress (frames moving), not lines arriving.
 * - Housekeeping runs on eb-sched, woken by events and at least every
 *   EB_HOUSEKEEPING_S seconds (less when the upload retention is shorter):
 *   job history pruning (jobs.history_retention) and the upload clean-up.
 *
 * Uploads (cfg.uploads_dir, cfg.upload_retention_seconds): an upload is a
 * file <uploads>/<32 hex>; a job uses it when its resolved "input" is that
 * path. With the lock held (so no job can be queued on it meanwhile), an
 * upload is removed when no queued or running job uses it and either
 *   - a job that used it succeeded (its output is published; the source is
 *     no longer needed), or
 *   - nothing has happened to it for the retention period: counted from the
 *     upload (the file's mtime) or from the end of the last job that used
 *     it, whichever is later, so a failed or canceled job can be submitted
 *     again with the same upload for that long.
 * Never-completed uploads (<id>.part) are not ours: the HTTP side deletes
 * them when their request ends, and the daemon's start removes any left by
 * a crash. eb_jobs_submit() re-checks an upload input under the lock, so a
 * request checked just before a clean-up is refused rather than queued
 * without its input. When the job table cannot be read, nothing is removed.
 */
#include "eb_jobs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eb_db.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_storage.h"

#define EB_JOB_ID_LEN 16
#define EB_CANCEL_GRACE_MS 10000
#define EB_WORKER_ARGS 8     /* eb_run_argv's, with the NULL */
#define EB_SPEC_FD 4         /* the worker's spec; 3 is the progress pipe */
#define EB_HOUSEKEEPING_S 60 /* longest sleep of eb-sched between housekeeping runs */
#define EB_RUN_MAX_RUNGS 16  /* per-rung figures kept per running job */

typedef EbJobsRungFrames EbRungFrames;

const char *const eb_job_state_names[EB_JOB_NB_STATES] = {"queued", "running", "succeeded",
                                                          "failed", "canceled"};

typedef struct EbRun {
    char id[EB_JOB_ID_LEN + 1];
    pid_t pid;
    int fd;         /* read end of the progress pipe */
    int cancel;     /* DELETE asked for it */
    int shutdown;   /* the daemon is stopping: back to the queue */
    double stop_at; /* eb_now() of the cancel or shutdown's SIGTERM; 0: none */
    int64_t frames; /* last reported */
    double fps;
    int fell_back; /* the "done" line said so */
    int nb_rungs;  /* per-rung frames: the "done" line's, or the last
                    * progress line's when it carries them */
    EbRungFrames rungs[EB_RUN_MAX_RUNGS];
    pthread_t thread;
    EbJobs *jobs;
} EbRun;

struct EbJobs {
    EbJobsConfig cfg;
    sqlite3 *db;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* queue changed, a worker ended, or stop */
    int stop;
    pthread_t sched;
    int sched_started;
    EbRun **runs; /* cfg.max_jobs slots */
    int nb_running;
    int max_running; /* limit in force, <= cfg.max_jobs (SIGHUP can lower it) */
    EbRun **done; /* ended runs whose threads the scheduler joins */
    int nb_done;
    int64_t crashes, watchdog_kills, frames_finished, fallbacks, uploads_removed;
    int nb_rung_totals; /* frames of succeeded jobs per rung name */
    EbRungFrames rung_totals[EB_JOBS_MAX_RUNG_STATS];
    double last_prune;        /* eb_now() of the last history clean-up */
    double last_upload_sweep; /* eb_now() of the last upload clean-up */
    int upload_sweep_due;     /* a job ended: its upload may go now */
    char waiting_id[EB_JOB_ID_LEN + 1]; /* queue head cfg.admit held back; "" none */
    char waiting_for[256];              /* what it waits for */
};

static double eb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int eb_db_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        EB_LOGE("jobs", "sqlite: %s", err ? err : "?");
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

/* Prepares sql; on failure logs and returns NULL. */
static sqlite3_stmt *eb_db_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        EB_LOGE("jobs", "sqlite: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

static void eb_job_new_id(char *id)
{
    unsigned char r[EB_JOB_ID_LEN / 2];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = (uint64_t)(eb_now() * 1e6) ^ ((uint64_t)getpid() << 32);
        memcpy(r, &t, sizeof(r));
    }
    for (size_t i = 0; i < sizeof(r); i++)
        sprintf(id + 2 * i, "%02x", r[i]);
}

static const char *eb_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

#define EB_JOB_COLUMNS                                                                             \
    "id, state, priority, created, started, finished, spec, percent, fps, speed, eta, frames, "    \
    "backend_used, result, error, attempts"

/* An integer field of a result object, or null; new reference. */
static json_t *eb_result_integer(json_t *res, const char *key)
{
    json_t *v = res ? json_object_get(res, key) : NULL;
    return json_is_integer(v) ? json_integer(json_integer_value(v)) : json_null();
}

/* The URL of item of published video vid: the configured base and the path
 * the origin serves it at (the storage layout's), or null when it does not
 * fit; new reference. */
static json_t *eb_job_output_url(const EbJobs *j, const char *vid, EbLayoutItem item)
{
    char path[512], url[1024];
    int ret = eb_layout_origin_path(vid, item, path, sizeof(path));

    if (ret < 0)
        return json_null();
    ret = snprintf(url, sizeof(url), "%s%s", j->cfg.base_url, path);
    if (ret < 0 || (size_t)ret >= sizeof(url))
        return json_null();
    return json_string(url);
}

/* The job's protection (spec.encryption, and the worker's result): the
 * scheme, the key ids and where players get the key (the license service
 * for cenc/cbcs, the key for aes-128), never a key; null when clear. The
 * URL is the origin's, like the outputs (and signed with them). New
 * reference. */
static json_t *eb_job_encryption(const EbJobs *j, const json_t *spec, const json_t *res,
                                 const char *vid)
{
    const char *scheme =
        json_string_value(json_object_get(json_object_get(spec, "encryption"), "scheme"));
    const json_t *r = json_object_get(res, "encryption");
    const json_t *ids = json_object_get(r, "key_ids");
    char url[1024];
    json_t *o;

    if (!scheme || !strcmp(scheme, "none"))
        return json_null();
    o = json_pack("{s:s, s:o, s:n}", "scheme", scheme, "key_ids",
                  json_is_array(ids) ? json_incref((json_t *)ids) : json_array(), "license_url");
    if (!o || !vid || !json_is_array(ids) || !json_array_size(ids))
        return o ? o : json_null();
    if (!strcmp(scheme, "aes-128"))
        snprintf(url, sizeof(url), "%s/%s/%s/%s/%s", j->cfg.base_url, EB_LAYOUT_VIDEOS_DIR, vid,
                 EB_LAYOUT_KEYS_NAME, json_string_value(json_array_get(ids, 0)));
    else
        snprintf(url, sizeof(url), "%s/%s/%s/%s", j->cfg.base_url, EB_LAYOUT_VIDEOS_DIR, vid,
                 EB_LAYOUT_LICENSE_NAME);
    json_object_set_new(o, "license_url", json_string(url));
    return o;
}

/* progress.rungs of a row (EB_JOB_COLUMNS; lock held): a running job's
 * per-rung frames from its last progress line, an ended job's from its
 * result; [] when there are none. New reference. */
static json_t *eb_job_progress_rungs(EbJobs *j, sqlite3_stmt *st)
{
    const char *id = eb_col_text(st, 0), *state = eb_col_text(st, 1), *r;
    json_t *arr = json_array();

    if (id && state && !strcmp(state, "running")) {
        for (int i = 0; i < j->nb_running; i++) {
            const EbRun *run = j->runs[i];
            if (strcmp(run->id, id))
                continue;
            for (int k = 0; k < run->nb_rungs; k++)
                json_array_append_new(arr, json_pack("{s:s, s:I}", "name", run->rungs[k].name,
                                                     "frames", (json_int_t)run->rungs[k].frames));
            break;
        }
    } else if ((r = eb_col_text(st, 13))) {
        json_error_t e;
        json_t *res = json_loads(r, 0, &e), *v;
        size_t i;
        json_array_foreach(json_object_get(res, "rungs"), i, v)
        {
            const char *name = json_string_value(json_object_get(v, "name"));
            json_t *frames = json_object_get(v, "frames");
            if (name && json_is_integer(frames))
                json_array_append_new(arr, json_pack("{s:s, s:I}", "name", name, "frames",
                                                     json_integer_value(frames)));
        }
        json_decref(res);
    }
    return arr;
}

/* One row (EB_JOB_COLUMNS) as the API's job object; new reference. */
static json_t *eb_job_from_row(EbJobs *j, sqlite3_stmt *st)
{
    json_error_t e;
    const char *spec_text = eb_col_text(st, 6), *state = eb_col_text(st, 1);
    json_t *spec = spec_text ? json_loads(spec_text, 0, &e) : NULL;
    json_t *o = json_object();
    const char *vid = spec ? json_string_value(json_object_get(spec, "video_id")) : NULL;

    json_object_set_new(o, "id", json_string(eb_col_text(st, 0)));
    json_object_set_new(o, "state", json_string(state ? state : "?"));
    /* A queued job the scheduler holds back says why (device sessions). */
    json_object_set_new(o, "waiting_for",
                        state && !strcmp(state, "queued") && j->waiting_id[0] &&
                                eb_col_text(st, 0) && !strcmp(eb_col_text(st, 0), j->waiting_id)
                            ? json_string(j->waiting_for)
                            : json_null());
    json_object_set_new(o, "priority", json_integer(sqlite3_column_int(st, 2)));
    json_object_set_new(o, "created_at", json_real(sqlite3_column_double(st, 3)));
    json_object_set_new(o, "started_at",
                        sqlite3_column_type(st, 4) == SQLITE_NULL
                            ? json_null()
                            : json_real(sqlite3_column_double(st, 4)));
    json_object_set_new(o, "finished_at",
                        sqlite3_column_type(st, 5) == SQLITE_NULL
                            ? json_null()
                            : json_real(sqlite3_column_double(st, 5)));
    if (spec) {
        const char *keys[] = {"input",           "video_id", "overwrite", "ladder",  "format",
                              "segment_seconds", "preset",   "backend",   "fallback"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            json_t *v = json_object_get(spec, keys[i]);
            if (v)
                json_object_set(o, keys[i], v);
        }
    }
    {
        json_t *p = json_object();
        double eta = sqlite3_column_double(st, 10);
        json_object_set_new(p, "percent", json_real(sqlite3_column_double(st, 7)));
        json_object_set_new(p, "fps", json_real(sqlite3_column_double(st, 8)));
        json_object_set_new(p, "speed", json_real(sqlite3_column_double(st, 9)));
        json_object_set_new(p, "eta_seconds", eta < 0 ? json_null() : json_real(eta));
        json_object_set_new(p, "frames", json_integer(sqlite3_column_int64(st, 11)));
        json_object_set_new(p, "rungs", eb_job_progress_rungs(j, st));
        json_object_set_new(o, "progress", p);
    }
    json_object_set_new(o, "backend_used",
                        eb_col_text(st, 12) ? json_string(eb_col_text(st, 12)) : json_null());
    {
        const char *r = eb_col_text(st, 13);
        json_t *res = r ? json_loads(r, 0, &e) : NULL;
        json_t *rungs = res ? json_object_get(res, "rungs") : NULL;
        const char *note = res ? json_string_value(json_object_get(res, "backend_note")) : NULL;
        const char *dnote;
        json_object_set_new(o, "rungs", rungs ? json_incref(rungs) : json_array());
        /* Results of workers older than the fell_back field have none: null. */
        json_object_set_new(o, "fell_back",
                            json_is_boolean(json_object_get(res, "fell_back"))
                                ? json_incref(json_object_get(res, "fell_back"))
                                : json_null());
        json_object_set_new(o, "backend_note", note && *note ? json_string(note) : json_null());
        /* Results of workers older than these fields have none: null. */
        json_object_set_new(o, "device_uploads", eb_result_integer(res, "device_uploads"));
        json_object_set_new(o, "device_downloads", eb_result_integer(res, "device_downloads"));
        dnote = res ? json_string_value(json_object_get(res, "decode_note")) : NULL;
        json_object_set_new(o, "decode_note", dnote && *dnote ? json_string(dnote) : json_null());
        /* The output's audio renditions, default first, and the input's
         * tracks left out (results of older workers: null). */
        json_object_set_new(o, "audio",
                            json_is_array(json_object_get(res, "audio"))
                                ? json_incref(json_object_get(res, "audio"))
                                : json_null());
        dnote = res ? json_string_value(json_object_get(res, "audio_note")) : NULL;
        json_object_set_new(o, "audio_note", dnote && *dnote ? json_string(dnote) : json_null());
        json_object_set_new(o, "encryption", eb_job_encryption(j, spec, res, vid));
        json_decref(res);
    }
    json_object_set_new(o, "error",
                        eb_col_text(st, 14) ? json_string(eb_col_text(st, 14)) : json_null());
    json_object_set_new(o, "attempts", json_integer(sqlite3_column_int(st, 15)));
    if (vid && state && !strcmp(state, "succeeded")) {
        json_t *out = json_object();
        const char *fmt = json_string_value(json_object_get(spec, "format"));
        const char *enc =
            json_string_value(json_object_get(json_object_get(spec, "encryption"), "scheme"));
        json_object_set_new(out, "hls", eb_job_output_url(j, vid, EB_LAYOUT_HLS_MASTER));
        /* whole-segment AES-128 is HLS only: no MPD was written */
        if ((!fmt || strcmp(fmt, "ts")) && !(enc && !strcmp(enc, "aes-128")))
            json_object_set_new(out, "dash", eb_job_output_url(j, vid, EB_LAYOUT_DASH_MPD));
        json_object_set_new(o, "outputs", out);
    } else {
        json_object_set_new(o, "outputs", json_null());
    }
    json_decref(spec);
    return o;
}

/* The job object by id, with the lock held; NULL when missing. */
static json_t *eb_job_load(EbJobs *j, const char *id)
{
    sqlite3_stmt *st = eb_db_prepare(j->db, "SELECT " EB_JOB_COLUMNS " FROM jobs WHERE id = ?");
    json_t *o = NULL;
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        o = eb_job_from_row(j, st);
    sqlite3_finalize(st);
    return o;
}

static void eb_job_set_state(EbJobs *j, const char *id, int state, const char *error)
{
    sqlite3_stmt *st = eb_db_prepare(
        j->db, "UPDATE jobs SET state = ?, error = ?, finished = ?, pid = 0 WHERE id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, eb_job_state_names[state], -1, SQLITE_STATIC);
    if (error)
        sqlite3_bind_text(st, 2, error, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 2);
    if (state >= EB_JOB_SUCCEEDED)
        sqlite3_bind_double(st, 3, eb_now());
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        EB_LOGE("jobs", "sqlite: %s", sqlite3_errmsg(j->db));
    sqlite3_finalize(st);
}

/* ---- the worker side of a run --------------------------------------- */

static void eb_run_path(EbJobs *j, const char *id, const char *ext, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.%s", j->cfg.work_dir, id, ext);
}

/* Last "encbox: ..." line of a worker's log that is no warning or note:
 * the CLI's one error line. */
static void eb_run_error_text(EbJobs *j, const char *id, char *out, size_t size)
{
    char path[4200], line[1024];
    FILE *f;

    out[0] = 0;
    eb_run_path(j, id, "log", path, sizeof(path));
    f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "encbox: ", 8) && strncmp(line + 8, "warning:", 8) &&
            strncmp(line + 8, "note:", 5)) {
            size_t n = strlen(line + 8);
            if (n >= size)
                n = size - 1;
            memcpy(out, line + 8, n);
            out[n] = 0;
        }
    }
    fclose(f);
}

/* Per-rung frames from a line's "rungs":[{"name","frames"},...]; a line
 * without them leaves r's as they were. Names that are not plain
 * (letters, digits, '_', '-', '.') are skipped: they become metric labels. */
static void eb_run_rungs(EbRun *r, json_t *rungs)
{
    size_t i;
    json_t *v;

    if (!json_is_array(rungs))
        return;
    r->nb_rungs = 0;
    json_array_foreach(rungs, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        json_t *frames = json_object_get(v, "frames");
        if (r->nb_rungs == EB_RUN_MAX_RUNGS || !name || !*name ||
            strlen(name) >= sizeof(r->rungs[0].name) ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                strlen(name) ||
            !json_is_integer(frames) || json_integer_value(frames) < 0)
            continue;
        snprintf(r->rungs[r->nb_rungs].name, sizeof(r->rungs[0].name), "%s", name);
        r->rungs[r->nb_rungs++].frames = json_integer_value(frames);
    }
}

/* Adds frames to the counter of rung name (lock held); names past
 * EB_JOBS_MAX_RUNG_STATS distinct ones are not counted. */
static void eb_rung_total_add(EbRungFrames *t, int *nb, const char *name, int64_t frames)
{
    for (int i = 0; i < *nb; i++)
        if (!strcmp(t[i].name, name)) {
            t[i].frames += frames;
            return;
        }
    if (*nb == EB_JOBS_MAX_RUNG_STATS)
        return;
    snprintf(t[*nb].name, sizeof(t[0].name), "%s", name);
    t[(*nb)++].frames = frames;
}

static void eb_run_progress(EbJobs *j, EbRun *r, const char *line)
{
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    sqlite3_stmt *st;

    if (!o)
        return;
    pthread_mutex_lock(&j->lock);
    if (json_is_true(json_object_get(o, "done"))) {
        char *text = json_dumps(o, JSON_COMPACT);
        r->fell_back = json_is_true(json_object_get(o, "fell_back"));
        eb_run_rungs(r, json_object_get(o, "rungs"));
        st = eb_db_prepare(j->db, "UPDATE jobs SET result = ?, backend_used = ?, percent = 100, "
                                  "eta = 0 WHERE id = ?");
        if (st && text) {
            sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, json_string_value(json_object_get(o, "backend")), -1,
                              SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, r->id, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
        }
        sqlite3_finalize(st);
        free(text);
    } else {
        r->frames = json_integer_value(json_object_get(o, "frames"));
        r->fps = json_number_value(json_object_get(o, "fps"));
        eb_run_rungs(r, json_object_get(o, "rungs")); /* optional in progress lines */
        st = eb_db_prepare(j->db, "UPDATE jobs SET percent = ?, fps = ?, speed = ?, eta = ?, "
                                  "frames = ? WHERE id = ?");
        if (st) {
            sqlite3_bind_double(st, 1, json_number_value(json_object_get(o, "percent")));
            sqlite3_bind_double(st, 2, r->fps);
            sqlite3_bind_double(st, 3, json_number_value(json_object_get(o, "speed")));
            sqlite3_bind_double(st, 4, json_number_value(json_object_get(o, "eta")));
            sqlite3_bind_int64(st, 5, r->frames);
            sqlite3_bind_text(st, 6, r->id, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&j->lock);
    json_decref(o);
}

/* Waits up to ms for the worker to exit; 1 when it has (status filled). */
static int eb_run_wait(pid_t pid, int *status, int ms)
{
    /* The pipe closes when the worker exits, or when it closed fd 3 itself:
     * a pidfd says when it has really gone, without polling waitpid. */
    int fd = pidfd_open(pid, 0);
    pid_t w;

    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n;
        do
            n = poll(&p, 1, ms);
        while (n < 0 && errno == EINTR);
        close(fd);
        if (n == 0)
            return 0;
    }
    do
        w = waitpid(pid, status, 0);
    while (w < 0 && errno == EINTR);
    return w == pid || w < 0;
}

/* Removes the staging folders no live job holds (eb_storage.h). */
static void eb_jobs_sweep_staging(EbJobs *j)
{
    int n = 0;

    if (j->cfg.storage_root && eb_storage_sweep_staging(j->cfg.storage_root, &n) == 0 && n > 0)
        EB_LOGI("jobs", "removed %d staging folder%s left by jobs that did not finish", n,
                n == 1 ? "" : "s");
}

static void *eb_run_thread(void *arg)
{
    EbRun *r = arg;
    EbJobs *j = r->jobs;
    char buf[8192], name[16], err[512];
    size_t used = 0;
    int status = 0, hung = 0, killed = 0, state;
    double last = eb_now();
    int64_t last_frames = 0;

    snprintf(name, sizeof(name), "eb-job-%.8s", r->id);
    pthread_setname_np(pthread_self(), name);
    for (;;) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        int n = poll(&p, 1, 1000);
        ssize_t got;
        double stop_at;
        int64_t frames;

        if (n < 0 && errno == EINTR)
            continue;
        pthread_mutex_lock(&j->lock);
        stop_at = r->stop_at;
        frames = r->frames;
        pthread_mutex_unlock(&j->lock);
        /* Progress is frames moving, not lines arriving: a worker that
         * reports without getting anywhere is as hung as a silent one. */
        if (frames != last_frames) {
            last_frames = frames;
            last = eb_now();
        }
        /* Cancel and shutdown always win: SIGTERM first, SIGKILL after the
         * grace period whatever the pipe does (a demuxer blocked in a read
         * never sees the SIGTERM). The watchdog stays on meanwhile. */
        if (stop_at > 0 && !killed && eb_now() - stop_at > EB_CANCEL_GRACE_MS / 1000.0) {
            EB_LOGW("jobs", "job %s: worker %d still running %d s after SIGTERM, killing it",
                    r->id, (int)r->pid, EB_CANCEL_GRACE_MS / 1000);
            killed = 1;
            kill(r->pid, SIGKILL);
        }
        if (!killed && eb_now() - last > j->cfg.watchdog_seconds) {
            EB_LOGW("jobs", "job %s: no progress for %d s, killing worker %d", r->id,
                    j->cfg.watchdog_seconds, (int)r->pid);
            hung = killed = 1;
            kill(r->pid, SIGKILL);
        }
        if (n == 0)
            continue;
        got = read(r->fd, buf + used, sizeof(buf) - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        used += (size_t)got;
        buf[used] = 0;
        for (char *nl; (nl = strchr(buf, '\n'));) {
            *nl = 0;
            eb_run_progress(j, r, buf);
            used -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, used + 1);
        }
        if (used >= sizeof(buf) - 1)
            used = 0; /* a line longer than the buffer is not ours */
    }
    close(r->fd);
    if (!eb_run_wait(r->pid, &status, EB_CANCEL_GRACE_MS)) {
        kill(r->pid, SIGKILL);
        eb_run_wait(r->pid, &status, 60000);
    }

    err[0] = 0;
    pthread_mutex_lock(&j->lock);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !hung) {
        /* It published before the cancel or shutdown reached it. */
        state = EB_JOB_SUCCEEDED;
    } else if (r->shutdown) {
        state = EB_JOB_QUEUED;
    } else if (r->cancel) {
        state = EB_JOB_CANCELED;
    } else if (hung) {
        state = EB_JOB_FAILED;
        snprintf(err, sizeof(err), "worker hung: no progress for %d s, killed",
                 j->cfg.watchdog_seconds);
        j->watchdog_kills++;
    } else if (WIFSIGNALED(status)) {
        state = EB_JOB_FAILED;
        snprintf(err, sizeof(err), "worker crashed (signal %d)", WTERMSIG(status));
        j->crashes++;
    } else {
        state = EB_JOB_FAILED;
        eb_run_error_text(j, r->id, err, sizeof(err));
        if (!err[0])
            snprintf(err, sizeof(err), "worker exited with status %d", WEXITSTATUS(status));
    }
    /* Frames are counted whatever the job's end, so the counters (which
     * include running jobs' figures) never go down when a job fails or is
     * canceled. */
    j->frames_finished += r->frames;
    for (int i = 0; i < r->nb_rungs; i++)
        eb_rung_total_add(j->rung_totals, &j->nb_rung_totals, r->rungs[i].name,
                          r->rungs[i].frames);
    if (state == EB_JOB_SUCCEEDED)
        j->fallbacks += r->fell_back;
    j->upload_sweep_due = 1;
    eb_job_set_state(j, r->id, state, err[0] ? err : NULL);
    EB_LOGI("jobs", "job %s %s%s%s", r->id, eb_job_state_names[state], err[0] ? ": " : "", err);
    for (int i = 0; i < j->nb_running; i++)
        if (j->runs[i] == r) {
            j->runs[i] = j->runs[--j->nb_running];
            break;
        }
    j->done[j->nb_done++] = r;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    /* A worker that ended any other way than by itself (killed, crashed)
     * may have left its staging folder behind. */
    if (!WIFEXITED(status))
        eb_jobs_sweep_staging(j);
    return NULL;
}

/* A worker's command line: nothing of its job, which it reads from
 * EB_SPEC_FD (see DESIGN). argv holds EB_WORKER_ARGS entries. */
static void eb_run_argv(const EbJobs *j, const char **argv)
{
    int n = 0;
    argv[n++] = j->cfg.exe;
    argv[n++] = "transcode";
    argv[n++] = "--spec-fd";
    argv[n++] = "4"; /* EB_SPEC_FD */
    argv[n++] = "-q";
    argv[n++] = "--progress-fd";
    argv[n++] = "3";
    argv[n] = NULL;
}

/* fd moved above EB_SPEC_FD (closed on failure; -1), so that setting up
 * fds 0 to EB_SPEC_FD in the child overwrites none of those it copies. */
static int eb_fd_above_spec(int fd)
{
    int high;
    if (fd < 0 || fd > EB_SPEC_FD)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, EB_SPEC_FD + 1);
    close(fd);
    return high;
}

/* The worker's copy of a job's spec: the daemon's storage root, input
 * roots and configuration file over the stored ones, in a sealed memfd. */
static int eb_run_spec_fd(EbJobs *j, EbJobSpec *spec, int *fd)
{
    int ret;

    *fd = -1;
    if ((ret = eb_job_spec_set_string(&spec->storage_root, j->cfg.storage_root)) < 0 ||
        (ret = eb_job_spec_set_string(&spec->config_path, j->cfg.config_path)) < 0)
        return ret;
    /* The worker confines the input and whatever it refers to (playlists,
     * concat lists) to the same roots inside the demuxer. */
    eb_job_spec_clear_input_roots(spec);
    for (int i = 0; j->cfg.input_roots && j->cfg.input_roots[i]; i++)
        if ((ret = eb_job_spec_add_input_root(spec, j->cfg.input_roots[i])) < 0)
            return ret;
    if ((ret = eb_job_spec_to_memfd(spec, fd)) < 0)
        return ret;
    *fd = eb_fd_above_spec(*fd);
    return *fd < 0 ? -errno : 0;
}

/* Forks the worker of job id with the lock held; spec is the job's, the
 * daemon's own settings are put into it. */
static int eb_run_start(EbJobs *j, const char *id, EbJobSpec *spec)
{
    char logp[4200];
    const char *argv[EB_WORKER_ARGS];
    int pfd[2] = {-1, -1}, logfd = -1, devnull = -1, specfd = -1, ret;
    EbRun *r = NULL;
    pid_t pid;
    sqlite3_stmt *st;

    if ((ret = eb_run_spec_fd(j, spec, &specfd)) < 0)
        goto fail;
    eb_run_path(j, id, "log", logp, sizeof(logp));
    eb_run_argv(j, argv);
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        ret = -errno;
        goto fail;
    }
    pfd[1] = eb_fd_above_spec(pfd[1]);
    logfd = eb_fd_above_spec(open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    devnull = eb_fd_above_spec(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (pfd[1] < 0 || logfd < 0 || devnull < 0) {
        ret = -errno;
        goto fail;
    }
    if (!(r = calloc(1, sizeof(*r)))) {
        ret = -ENOMEM;
        goto fail;
    }
    pid = fork();
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(pfd[1], 3) < 0 || dup2(specfd, EB_SPEC_FD) < 0 || dup2(devnull, 0) < 0 ||
            dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(127);
        close_range(EB_SPEC_FD + 1, ~0U, 0); /* nothing of the daemon's: sockets, the database */
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0) {
        ret = -errno;
        goto fail;
    }
    close(pfd[1]);
    close(specfd);
    close(logfd);
    close(devnull);
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->pid = pid;
    r->fd = pfd[0];
    r->jobs = j;
    st = eb_db_prepare(j->db, "UPDATE jobs SET state = 'running', started = ?, pid = ?, "
                              "attempts = attempts + 1, percent = 0, fps = 0, speed = 0, "
                              "eta = -1, frames = 0, error = NULL WHERE id = ?");
    if (st) {
        sqlite3_bind_double(st, 1, eb_now());
        sqlite3_bind_int(st, 2, pid);
        sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    j->runs[j->nb_running++] = r;
    if (pthread_create(&r->thread, NULL, eb_run_thread, r) != 0) {
        /* Without a monitor nobody would reap it: stop it now. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(r->fd);
        j->nb_running--;
        eb_job_set_state(j, id, EB_JOB_FAILED, "cannot start a monitor thread");
        free(r);
        return -EAGAIN;
    }
    EB_LOGI("jobs", "job %s started: worker %d", id, (int)pid);
    return 0;
fail:
    free(r);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (logfd >= 0)
        close(logfd);
    if (devnull >= 0)
        close(devnull);
    if (specfd >= 0)
        close(specfd);
    return ret;
}

static void eb_jobs_reap(EbJobs *j)
{
    while (j->nb_done > 0) {
        EbRun *r = j->done[--j->nb_done];
        pthread_mutex_unlock(&j->lock);
        pthread_join(r->thread, NULL);
        free(r);
        pthread_mutex_lock(&j->lock);
    }
}

/* jobs.history_retention: forget ended jobs (and their worker files). */
static void eb_jobs_prune(EbJobs *j)
{
    sqlite3_stmt *st;
    double now = eb_now();

    if (j->cfg.history_seconds <= 0 || now - j->last_prune < 60)
        return;
    j->last_prune = now;
    st = eb_db_prepare(j->db, "SELECT id FROM jobs WHERE finished IS NOT NULL AND finished < ?");
    if (!st)
        return;
    sqlite3_bind_double(st, 1, now - (double)j->cfg.history_seconds);
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* The ladder and stats files are older daemons' leftovers. */
        static const char *const ext[] = {"log", "ladder.json", "stats.json"};
        char path[4200];
        for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
            eb_run_path(j, eb_col_text(st, 0), ext[i], path, sizeof(path));
            unlink(path);
        }
    }
    sqlite3_finalize(st);
    st = eb_db_prepare(j->db, "DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ?");
    if (!st)
        return;
    sqlite3_bind_double(st, 1, now - (double)j->cfg.history_seconds);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* 1 for a finished upload's name: exactly 32 lowercase hex digits. */
static int eb_upload_name(const char *name)
{
    return strlen(name) == 32 && strspn(name, "0123456789abcdef") == 32;
}

/* The upload clean-up (see "Uploads" at the top), lock held. Returns the
 * number of uploads removed, or -EIO when the job table could not be read
 * (then nothing is removed). */
static int eb_jobs_sweep_uploads(EbJobs *j)
{
    sqlite3_stmt *st;
    DIR *dir;
    struct dirent *e;
    double now = eb_now();
    int removed = 0, ret = 0;

    j->last_upload_sweep = now;
    j->upload_sweep_due = 0;
    if (!j->cfg.uploads_dir || j->cfg.upload_retention_seconds <= 0)
        return 0;
    dir = opendir(j->cfg.uploads_dir);
    if (!dir)
        return 0;
    /* Every job that names the upload, kept or ended. */
    st = eb_db_prepare(j->db, "SELECT MAX(state IN ('queued', 'running')), "
                              "MAX(state = 'succeeded'), MAX(finished) FROM jobs "
                              "WHERE json_extract(spec, '$.input') = ?");
    if (!st) {
        closedir(dir);
        return -EIO;
    }
    while ((e = readdir(dir))) {
        char path[4200];
        struct stat sb;
        int active, succeeded;
        double last;
        if (!eb_upload_name(e->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", j->cfg.uploads_dir, e->d_name);
        if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_ROW) {
            EB_LOGE("jobs", "upload clean-up: sqlite: %s", sqlite3_errmsg(j->db));
            ret = -EIO;
            break;
        }
        active = sqlite3_column_int(st, 0);
        succeeded = sqlite3_column_int(st, 1);
        last = sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL && sqlite3_column_double(st, 2) > last)
            last = sqlite3_column_double(st, 2);
        if (active)
            continue;
        if (!succeeded && now - last < (double)j->cfg.upload_retention_seconds)
            continue;
        if (unlink(path) == 0) {
            removed++;
            j->uploads_removed++;
            EB_LOGI("jobs", "upload %s removed (%s)", e->d_name,
                    succeeded ? "its job succeeded" : "retention expired, no job needs it");
        } else if (errno != ENOENT) {
            EB_LOGW("jobs", "upload %s: cannot remove it: %s", e->d_name, strerror(errno));
        }
    }
    sqlite3_finalize(st);
    closedir(dir);
    return ret < 0 ? ret : removed;
}

/* How long eb-sched may sleep before the next housekeeping run. */
static double eb_housekeeping_interval(const EbJobs *j)
{
    double t = EB_HOUSEKEEPING_S;
    if (j->cfg.upload_retention_seconds > 0 && j->cfg.upload_retention_seconds / 4.0 < t)
        t = j->cfg.upload_retention_seconds / 4.0;
    return t < 0.5 ? 0.5 : t;
}

static void *eb_sched_thread(void *arg)
{
    EbJobs *j = arg;

    pthread_setname_np(pthread_self(), "eb-sched");
    pthread_mutex_lock(&j->lock);
    while (!j->stop) {
        sqlite3_stmt *st = NULL;
        int started = 0, retry = 0;

        eb_jobs_reap(j);
        eb_jobs_prune(j);
        if (j->upload_sweep_due || eb_now() - j->last_upload_sweep >= eb_housekeeping_interval(j))
            eb_jobs_sweep_uploads(j);
        if (j->nb_running < j->max_running)
            st = eb_db_prepare(j->db, "SELECT id, spec FROM jobs WHERE state = 'queued' "
                                      "ORDER BY priority DESC, rowid ASC LIMIT 1");
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            char id[EB_JOB_ID_LEN + 1];
            const char *text = eb_col_text(st, 1);
            EbJobSpec spec;
            EbJobSpecError serr = {{0}};
            int ret, ok;
            char why[sizeof(j->waiting_for)] = "";
            eb_job_spec_init(&spec);
            ok = text && eb_job_spec_parse(text, strlen(text), NULL, &spec, &serr) == 0;
            snprintf(id, sizeof(id), "%s", eb_col_text(st, 0));
            sqlite3_finalize(st);
            st = NULL;
            if (ok && j->cfg.admit && !j->cfg.admit(j->cfg.admit_opaque, &spec, why, sizeof(why))) {
                /* The head waits (priority order holds: nothing overtakes
                 * it); device sessions are freed by other processes too, so
                 * ask again soon rather than only on our own events. */
                if (strcmp(j->waiting_id, id) || strcmp(j->waiting_for, why))
                    EB_LOGI("jobs", "job %s waits for %s", id, why);
                snprintf(j->waiting_id, sizeof(j->waiting_id), "%s", id);
                snprintf(j->waiting_for, sizeof(j->waiting_for), "%s", why);
                retry = 1;
            } else {
                j->waiting_id[0] = 0;
                ret = ok ? eb_run_start(j, id, &spec) : -EINVAL;
                if (!ok) {
                    char msg[600];
                    snprintf(msg, sizeof(msg), "invalid job spec: %s", serr.message);
                    EB_LOGE("jobs", "job %s: %s", id, msg);
                    eb_job_set_state(j, id, EB_JOB_FAILED, msg);
                } else if (ret < 0) {
                    EB_LOGE("jobs", "job %s: cannot start its worker (%s)", id, strerror(-ret));
                    eb_job_set_state(j, id, EB_JOB_FAILED, "cannot start the worker");
                }
                started = 1;
            }
            eb_job_spec_clear(&spec);
        } else {
            j->waiting_id[0] = 0;
        }
        sqlite3_finalize(st);
        if (!started) {
            /* Woken by the queue, a worker's end or stop; else at the next
             * housekeeping time. */
            double until = eb_now() + (retry ? EB_JOBS_ADMIT_RETRY_S : eb_housekeeping_interval(j));
            struct timespec ts = {.tv_sec = (time_t)until,
                                  .tv_nsec = (long)((until - (double)(time_t)until) * 1e9)};
            pthread_cond_timedwait(&j->cond, &j->lock, &ts);
        }
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int eb_jobs_open(const EbJobsConfig *cfg, EbJobs **out)
{
    EbJobs *j = calloc(1, sizeof(*j));
    int ret = -EIO;

    *out = NULL;
    if (!j)
        return -ENOMEM;
    j->cfg = *cfg;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    j->max_running = cfg->max_jobs;
    j->runs = calloc((size_t)cfg->max_jobs, sizeof(*j->runs));
    j->done = calloc((size_t)cfg->max_jobs, sizeof(*j->done));
    if (!j->runs || !j->done) {
        ret = -ENOMEM;
        goto fail;
    }
    if (eb_storage_mkdirs(cfg->work_dir) < 0) {
        EB_LOGE("jobs", "cannot create %s", cfg->work_dir);
        goto fail;
    }
    /* Owner-only (job secrets, and the channels' in the same file), WAL. */
    if (eb_db_open(cfg->db_path, "jobs", &j->db) < 0)
        goto fail;
    if (eb_db_exec(j->db, "CREATE TABLE IF NOT EXISTS jobs ("
                          " id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,"
                          " priority INTEGER NOT NULL, created REAL NOT NULL,"
                          " started REAL, finished REAL, spec TEXT NOT NULL,"
                          " video_id TEXT NOT NULL, percent REAL DEFAULT 0, fps REAL DEFAULT 0,"
                          " speed REAL DEFAULT 0, eta REAL DEFAULT -1, frames INTEGER DEFAULT 0,"
                          " backend_used TEXT, result TEXT, error TEXT,"
                          " attempts INTEGER DEFAULT 0, pid INTEGER DEFAULT 0);"
                          "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, priority);"
                          /* Workers of an earlier daemon died with it (PDEATHSIG):
                           * their jobs run again from the start. */
                          "UPDATE jobs SET state = 'queued', pid = 0, percent = 0, fps = 0,"
                          " speed = 0, eta = -1, frames = 0 WHERE state = 'running';") < 0)
        goto fail;
    *out = j;
    return 0;
fail:
    eb_jobs_close(&j);
    return ret;
}

int eb_jobs_set_max_jobs(EbJobs *j, int max_jobs)
{
    int now;

    pthread_mutex_lock(&j->lock);
    j->max_running = max_jobs < 1 ? 1 : max_jobs > j->cfg.max_jobs ? j->cfg.max_jobs : max_jobs;
    now = j->max_running;
    pthread_cond_broadcast(&j->cond); /* a higher limit may start a queued job */
    pthread_mutex_unlock(&j->lock);
    return now;
}

int eb_jobs_start(EbJobs *j)
{
    if (j->sched_started)
        return 0;
    /* Staging folders of jobs that died with a previous daemon (kill -9, a
     * power cut): no live job holds them. */
    eb_jobs_sweep_staging(j);
    if (pthread_create(&j->sched, NULL, eb_sched_thread, j) != 0)
        return -EAGAIN;
    j->sched_started = 1;
    return 0;
}

void eb_jobs_close(EbJobs **pj)
{
    EbJobs *j = *pj;
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    j->stop = 1;
    for (int i = 0; i < j->nb_running; i++) {
        j->runs[i]->shutdown = 1;
        j->runs[i]->stop_at = eb_now();
        kill(j->runs[i]->pid, SIGTERM);
    }
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (j->sched_started)
        pthread_join(j->sched, NULL);
    pthread_mutex_lock(&j->lock);
    while (j->nb_running > 0 || j->nb_done > 0) {
        if (j->nb_done > 0)
            eb_jobs_reap(j);
        else
            pthread_cond_wait(&j->cond, &j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    if (j->db)
        sqlite3_close(j->db);
    free(j->runs);
    free(j->done);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
    *pj = NULL;
}

static int eb_jobs_video_busy_locked(EbJobs *j, const char *vid)
{
    sqlite3_stmt *st = eb_db_prepare(j->db, "SELECT 1 FROM jobs WHERE video_id = ? AND state IN "
                                            "('queued', 'running') LIMIT 1");
    int busy = 0;
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, vid, -1, SQLITE_TRANSIENT);
    busy = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return busy;
}

int eb_jobs_video_busy(EbJobs *j, const char *vid)
{
    int busy;
    pthread_mutex_lock(&j->lock);
    busy = eb_jobs_video_busy_locked(j, vid);
    pthread_mutex_unlock(&j->lock);
    return busy;
}

int eb_jobs_input_busy(EbJobs *j, const char *path)
{
    sqlite3_stmt *st;
    int busy = 0;

    pthread_mutex_lock(&j->lock);
    st = eb_db_prepare(j->db, "SELECT 1 FROM jobs WHERE state IN ('queued', 'running') AND "
                              "json_extract(spec, '$.input') = ? LIMIT 1");
    if (st) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
        busy = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&j->lock);
    return busy;
}

int eb_jobs_submit(EbJobs *j, EbJobSpec *spec, json_t **job)
{
    char id[EB_JOB_ID_LEN + 1];
    char *text = NULL;
    json_t *o = NULL;
    sqlite3_stmt *st;
    int ret = 0;

    *job = NULL;
    if (!spec->input)
        return -EINVAL;
    eb_job_new_id(id);
    if (!spec->video_id && (ret = eb_job_spec_set_string(&spec->video_id, id)) < 0)
        return ret;
    /* Secrets included: the job runs again from this after a restart. */
    if ((ret = eb_job_spec_to_json(spec, EB_JOB_SPEC_JSON_SECRETS, &o)) < 0)
        return ret;
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return -ENOMEM;
    pthread_mutex_lock(&j->lock);
    if (eb_jobs_video_busy_locked(j, spec->video_id) ||
        (!spec->overwrite && eb_storage_exists(j->cfg.storage_root, spec->video_id))) {
        ret = -EEXIST;
        goto done;
    }
    if (j->cfg.uploads_dir) {
        /* The clean-up runs under this lock: an upload still here now stays
         * until the job has run. */
        const char *in = spec->input;
        size_t ul = strlen(j->cfg.uploads_dir);
        if (!strncmp(in, j->cfg.uploads_dir, ul) && in[ul] == '/' && access(in, R_OK) != 0) {
            ret = -ENOENT;
            goto done;
        }
    }
    st = eb_db_prepare(j->db, "INSERT INTO jobs (id, state, priority, created, spec, video_id) "
                              "VALUES (?, 'queued', ?, ?, ?, ?)");
    if (!st) {
        ret = -EIO;
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, spec->priority);
    sqlite3_bind_double(st, 3, eb_now());
    sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, spec->video_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        EB_LOGE("jobs", "sqlite: %s", sqlite3_errmsg(j->db));
        ret = -EIO;
    }
    sqlite3_finalize(st);
    if (ret == 0) {
        *job = eb_job_load(j, id);
        pthread_cond_broadcast(&j->cond);
        EB_LOGI("jobs", "job %s queued (video %s)", id, spec->video_id);
    }
done:
    pthread_mutex_unlock(&j->lock);
    explicit_bzero(text, strlen(text));
    free(text);
    return ret;
}

int eb_jobs_get(EbJobs *j, const char *id, json_t **job)
{
    pthread_mutex_lock(&j->lock);
    *job = eb_job_load(j, id);
    pthread_mutex_unlock(&j->lock);
    return *job ? 0 : -ENOENT;
}

int eb_jobs_list(EbJobs *j, const char *state, int limit, int offset, json_t **out)
{
    sqlite3_stmt *st;
    json_t *arr = json_array();
    int64_t total = 0;

    *out = NULL;
    pthread_mutex_lock(&j->lock);
    st = eb_db_prepare(j->db, "SELECT " EB_JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL OR state = ?1 "
                              "ORDER BY rowid DESC LIMIT ?2 OFFSET ?3");
    if (st) {
        if (state)
            sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 1);
        sqlite3_bind_int(st, 2, limit);
        sqlite3_bind_int(st, 3, offset);
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(arr, eb_job_from_row(j, st));
        sqlite3_finalize(st);
    }
    st = eb_db_prepare(j->db, "SELECT COUNT(*) FROM jobs WHERE ?1 IS NULL OR state = ?1");
    if (st) {
        if (state)
            sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 1);
        if (sqlite3_step(st) == SQLITE_ROW)
            total = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&j->lock);
    *out = json_pack("{s:o, s:I, s:i, s:i}", "jobs", arr, "total", (json_int_t)total, "limit",
                     limit, "offset", offset);
    return *out ? 0 : -ENOMEM;
}

int eb_jobs_cancel(EbJobs *j, const char *id, json_t **job)
{
    int ret = 0;
    json_t *o;
    const char *state;

    pthread_mutex_lock(&j->lock);
    o = eb_job_load(j, id);
    if (!o) {
        ret = -ENOENT;
        goto done;
    }
    state = json_string_value(json_object_get(o, "state"));
    if (!strcmp(state, "queued")) {
        eb_job_set_state(j, id, EB_JOB_CANCELED, NULL);
    } else if (!strcmp(state, "running")) {
        for (int i = 0; i < j->nb_running; i++)
            if (!strcmp(j->runs[i]->id, id) && !j->runs[i]->cancel) {
                j->runs[i]->cancel = 1;
                j->runs[i]->stop_at = eb_now();
                kill(j->runs[i]->pid, SIGTERM);
            }
    } else {
        ret = -EALREADY;
    }
    json_decref(o);
    o = eb_job_load(j, id);
done:
    pthread_mutex_unlock(&j->lock);
    *job = o;
    return ret;
}

void eb_jobs_stats(EbJobs *j, EbJobsStats *out)
{
    sqlite3_stmt *st;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    st = eb_db_prepare(j->db, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (st && sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < EB_JOB_NB_STATES; i++)
            if (eb_col_text(st, 0) && !strcmp(eb_col_text(st, 0), eb_job_state_names[i]))
                out->by_state[i] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    out->frames_encoded = j->frames_finished;
    for (int i = 0; i < j->nb_running; i++) {
        out->frames_encoded += j->runs[i]->frames;
        out->encode_fps += j->runs[i]->fps;
    }
    out->worker_crashes = j->crashes;
    out->watchdog_kills = j->watchdog_kills;
    out->fallbacks = j->fallbacks;
    out->uploads_removed = j->uploads_removed;
    {
        EbRungFrames *t = out->rungs;
        memcpy(t, j->rung_totals, sizeof(j->rung_totals[0]) * (size_t)j->nb_rung_totals);
        out->nb_rungs = j->nb_rung_totals;
        for (int i = 0; i < j->nb_running; i++)
            for (int k = 0; k < j->runs[i]->nb_rungs; k++)
                eb_rung_total_add(t, &out->nb_rungs, j->runs[i]->rungs[k].name,
                                  j->runs[i]->rungs[k].frames);
    }
    pthread_mutex_unlock(&j->lock);
}
