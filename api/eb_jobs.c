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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eb_clock.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_sql.h"
#include "eb_storage.h"

#define EB_JOB_ID_LEN 16
#define EB_CANCEL_GRACE_MS 10000
#define EB_WORKER_ARGS 9     /* eb_run_argv's, with the NULL */
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
    double stop_at; /* eb_clock_unix() of the cancel or shutdown's SIGTERM; 0: none */
    int64_t fence;  /* the claim's token: every write of the run carries it */
    int lost;       /* the lease is gone (another box may run the job): write nothing */
    double renewed; /* eb_clock_unix() of the last renewal the database took */
    int milestone;  /* the last progress quarter announced (job.progress) */
    double updated; /* monotonic seconds of the last job.updated */
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
    EbSql *db;
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
    double last_prune;        /* eb_clock_unix() of the last history clean-up */
    double last_upload_sweep; /* eb_clock_unix() of the last upload clean-up */
    int upload_sweep_due;     /* a job ended: its upload may go now */
    char waiting_id[EB_JOB_ID_LEN + 1]; /* queue head cfg.admit held back; "" none */
    char waiting_for[256];              /* what it waits for */
    /* The rack (see "Leases" at the top). */
    double last_lease;  /* eb_clock_unix() of the last lease pass */
    int lease_due;      /* a notification: run the lease pass now */
    EbSql *listen_db;   /* PostgreSQL: the LISTEN connection; NULL for SQLite */
    pthread_t listener; /* eb-listen, when listen_db */
    int listener_started;
    double started_at;   /* eb_clock_unix() when the store opened: the box's start */
    char input_expr[64]; /* the spec's "input" in SQL (JSON access differs) */
};

/* The channel boxes NOTIFY when the queue changes. */
#define EB_JOBS_CHANNEL "encbox_jobs"

static void eb_job_new_id(char *id)
{
    unsigned char r[EB_JOB_ID_LEN / 2];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = (uint64_t)(eb_clock_unix() * 1e6) ^ ((uint64_t)getpid() << 32);
        memcpy(r, &t, sizeof(r));
    }
    for (size_t i = 0; i < sizeof(r); i++)
        sprintf(id + 2 * i, "%02x", r[i]);
}

static const char *eb_col_text(EbSqlStmt *st, int col)
{
    return eb_sql_text(st, col);
}

#define EB_JOB_COLUMNS                                                                             \
    "id, state, priority, created, started, finished, spec, percent, fps, speed, eta, frames, "    \
    "backend_used, result, error, attempts, box"

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

/* The bucket's copy of a succeeded job (the worker's result.object_store):
 * what went up and the manifests' URLs there; null when none. New
 * reference. */
static json_t *eb_job_object_store(const EbJobs *j, const json_t *spec, const json_t *res,
                                   const char *vid)
{
    const json_t *s3 = json_object_get(res, "object_store");
    const char *fmt = json_string_value(json_object_get(spec, "format"));
    const char *enc =
        json_string_value(json_object_get(json_object_get(spec, "encryption"), "scheme"));
    json_t *o;

    if (!json_is_object(s3) || !vid)
        return json_null();
    o = json_deep_copy(s3);
    if (j->cfg.object_base_url && *j->cfg.object_base_url) {
        char path[512], url[1536];
        if (eb_layout_origin_path(vid, EB_LAYOUT_HLS_MASTER, path, sizeof(path)) >= 0 &&
            snprintf(url, sizeof(url), "%s%s", j->cfg.object_base_url, path + 1) < (int)sizeof(url))
            json_object_set_new(o, "hls", json_string(url));
        if ((!fmt || strcmp(fmt, "ts")) && !(enc && !strcmp(enc, "aes-128")) &&
            eb_layout_origin_path(vid, EB_LAYOUT_DASH_MPD, path, sizeof(path)) >= 0 &&
            snprintf(url, sizeof(url), "%s%s", j->cfg.object_base_url, path + 1) < (int)sizeof(url))
            json_object_set_new(o, "dash", json_string(url));
    }
    return o;
}

/* progress.rungs of a row (EB_JOB_COLUMNS; lock held): a running job's
 * per-rung frames from its last progress line, an ended job's from its
 * result; [] when there are none. New reference. */
static json_t *eb_job_progress_rungs(EbJobs *j, EbSqlStmt *st)
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
static json_t *eb_job_from_row(EbJobs *j, EbSqlStmt *st)
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
    json_object_set_new(o, "priority", json_integer((int)eb_sql_int64(st, 2)));
    json_object_set_new(o, "created_at", json_real(eb_sql_double(st, 3)));
    json_object_set_new(o, "started_at",
                        eb_sql_is_null(st, 4) ? json_null() : json_real(eb_sql_double(st, 4)));
    json_object_set_new(o, "finished_at",
                        eb_sql_is_null(st, 5) ? json_null() : json_real(eb_sql_double(st, 5)));
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
        double eta = eb_sql_double(st, 10);
        json_object_set_new(p, "percent", json_real(eb_sql_double(st, 7)));
        json_object_set_new(p, "fps", json_real(eb_sql_double(st, 8)));
        json_object_set_new(p, "speed", json_real(eb_sql_double(st, 9)));
        json_object_set_new(p, "eta_seconds", eta < 0 ? json_null() : json_real(eta));
        json_object_set_new(p, "frames", json_integer(eb_sql_int64(st, 11)));
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
        json_object_set_new(o, "object_store", eb_job_object_store(j, spec, res, vid));
        json_decref(res);
    }
    json_object_set_new(o, "error",
                        eb_col_text(st, 14) ? json_string(eb_col_text(st, 14)) : json_null());
    json_object_set_new(o, "attempts", json_integer((int)eb_sql_int64(st, 15)));
    /* The box that runs or ran it (its name); null while queued. */
    json_object_set_new(o, "box",
                        eb_col_text(st, 16) && state && strcmp(state, "queued")
                            ? json_string(eb_col_text(st, 16))
                            : json_null());
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
    EbSqlStmt *st = eb_sql_prepare(j->db, "SELECT " EB_JOB_COLUMNS " FROM jobs WHERE id = ?");
    json_t *o = NULL;
    if (!st)
        return NULL;
    eb_sql_bind_text(st, 1, id);
    if (eb_sql_step(st) == 1)
        o = eb_job_from_row(j, st);
    eb_sql_finalize(st);
    return o;
}

/* cfg.on_event with job id's object (lock held); extra (borrowed, may be
 * NULL) is merged into it. */
static void eb_job_event(EbJobs *j, const char *event, const char *id, const json_t *extra)
{
    json_t *o;
    if (!j->cfg.on_event || !(o = eb_job_load(j, id)))
        return;
    if (extra)
        json_object_update(o, (json_t *)extra);
    j->cfg.on_event(j->cfg.on_event_opaque, event, o);
    json_decref(o);
}

/* Tells the other boxes that the queue changed (PostgreSQL; the message is
 * sent when the statement commits). */
static void eb_jobs_notify(EbJobs *j)
{
    if (eb_sql_is_pg(j->db))
        eb_sql_exec(j->db, "NOTIFY " EB_JOBS_CHANNEL);
}

/* Records how the run with token fence ended (lock held): queued again
 * (a new token, so the old one can write nothing more), or an end state.
 * Returns 1, or 0 when the token is no longer the job's (its lease was
 * lost: another box has the job) and nothing was written. */
static int eb_job_set_state(EbJobs *j, const char *id, int64_t fence, int state, const char *error)
{
    EbSqlStmt *st = eb_sql_prepare(
        j->db, "UPDATE jobs SET state = ?, error = ?, finished = ?, pid = 0, lease_until = NULL, "
               "box = CASE WHEN ?5 = 'queued' THEN NULL ELSE box END, "
               "fence = CASE WHEN ?5 = 'queued' THEN fence + 1 ELSE fence END "
               "WHERE id = ?4 AND fence = ?6");
    int done;

    if (!st)
        return 0;
    eb_sql_bind_text(st, 1, eb_job_state_names[state]);
    if (error)
        eb_sql_bind_text(st, 2, error);
    else
        eb_sql_bind_null(st, 2);
    if (state >= EB_JOB_SUCCEEDED)
        eb_sql_bind_double(st, 3, eb_clock_unix());
    else
        eb_sql_bind_null(st, 3);
    eb_sql_bind_text(st, 4, id);
    eb_sql_bind_text(st, 5, eb_job_state_names[state]);
    eb_sql_bind_int64(st, 6, fence);
    done = eb_sql_step(st) == 0 && eb_sql_changes(st) > 0;
    eb_sql_finalize(st);
    if (done && state == EB_JOB_QUEUED)
        eb_jobs_notify(j);
    return done;
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

/* A running job's cancel asked on another box (lock held). */
static void eb_run_cancel(EbRun *r)
{
    if (r->cancel)
        return;
    r->cancel = 1;
    r->stop_at = eb_clock_unix();
    kill(r->pid, SIGTERM);
}

/* The lease of run r is gone (lock held): stop its worker at once, so that
 * it publishes nothing, and write nothing more of it. */
static void eb_run_lose(EbRun *r, const char *why)
{
    EB_LOGW("jobs", "job %s: %s; stopping worker %d (another box may run the job)", r->id, why,
            (int)r->pid);
    r->lost = 1;
    kill(r->pid, SIGKILL);
}

/* The worker asks before it publishes (eb_api_publish_gate; lock not
 * held): "go" only when this box still holds the job's lease, proved by
 * renewing it under the run's token right now, so a box that lost the job
 * to another never publishes it. The lease is fresh for lease_seconds
 * after this answer; publishing is one rename. */
static void eb_run_publish_gate(EbJobs *j, EbRun *r)
{
    char sql[256];
    EbSqlStmt *st;
    int go = 0;

    snprintf(sql, sizeof(sql),
             "UPDATE jobs SET lease_until = %s + ? WHERE id = ? AND fence = ? AND "
             "state = 'running'",
             eb_sql_now(j->db));
    pthread_mutex_lock(&j->lock);
    if (!r->lost && !r->shutdown && (st = eb_sql_prepare(j->db, sql))) {
        eb_sql_bind_double(st, 1, (double)j->cfg.lease_seconds);
        eb_sql_bind_text(st, 2, r->id);
        eb_sql_bind_int64(st, 3, r->fence);
        go = eb_sql_step(st) == 0 && eb_sql_changes(st) == 1;
        eb_sql_finalize(st);
        if (go)
            r->renewed = eb_clock_unix();
    }
    if (!go && !r->shutdown && !r->lost)
        eb_run_lose(r, "publish refused: the job's lease is no longer this box's");
    pthread_mutex_unlock(&j->lock);
    if (send(r->fd, go ? "go\n" : "stop\n", go ? 3 : 5, MSG_NOSIGNAL) < 0)
        EB_LOGW("jobs", "job %s: cannot answer the worker: %s", r->id, strerror(errno));
}

static void eb_run_progress(EbJobs *j, EbRun *r, const char *line)
{
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    EbSqlStmt *st;

    if (!o)
        return;
    if (json_object_get(o, "publish")) {
        eb_run_publish_gate(j, r);
        json_decref(o);
        return;
    }
    pthread_mutex_lock(&j->lock);
    if (r->lost) {
        /* another box runs the job now: its row is not ours to write */
    } else if (json_is_true(json_object_get(o, "done"))) {
        char *text = json_dumps(o, JSON_COMPACT);
        r->fell_back = json_is_true(json_object_get(o, "fell_back"));
        eb_run_rungs(r, json_object_get(o, "rungs"));
        st = eb_sql_prepare(j->db, "UPDATE jobs SET result = ?, backend_used = ?, percent = 100, "
                                   "eta = 0 WHERE id = ? AND fence = ?");
        if (st && text) {
            eb_sql_bind_text(st, 1, text);
            eb_sql_bind_text(st, 2, json_string_value(json_object_get(o, "backend")));
            eb_sql_bind_text(st, 3, r->id);
            eb_sql_bind_int64(st, 4, r->fence);
            eb_sql_step(st);
        }
        eb_sql_finalize(st);
        free(text);
    } else {
        r->frames = json_integer_value(json_object_get(o, "frames"));
        r->fps = json_number_value(json_object_get(o, "fps"));
        eb_run_rungs(r, json_object_get(o, "rungs")); /* optional in progress lines */
        st = eb_sql_prepare(j->db, "UPDATE jobs SET percent = ?, fps = ?, speed = ?, eta = ?, "
                                   "frames = ? WHERE id = ? AND fence = ?");
        if (st) {
            eb_sql_bind_double(st, 1, json_number_value(json_object_get(o, "percent")));
            eb_sql_bind_double(st, 2, r->fps);
            eb_sql_bind_double(st, 3, json_number_value(json_object_get(o, "speed")));
            eb_sql_bind_double(st, 4, json_number_value(json_object_get(o, "eta")));
            eb_sql_bind_int64(st, 5, r->frames);
            eb_sql_bind_text(st, 6, r->id);
            eb_sql_bind_int64(st, 7, r->fence);
            eb_sql_step(st);
        }
        eb_sql_finalize(st);
        if (eb_clock_seconds() - r->updated >= EB_JOBS_UPDATE_S) {
            /* the console's progress bars: at most twice a second a job */
            r->updated = eb_clock_seconds();
            eb_job_event(j, "job.updated", r->id, NULL);
        }
        {
            int q = (int)(json_number_value(json_object_get(o, "percent")) / 25.0);
            if (q > r->milestone && q >= 1 && q <= 3) {
                json_t *m = json_pack("{s:i}", "milestone_percent", q * 25);
                r->milestone = q;
                eb_job_event(j, "job.progress", r->id, m);
                json_decref(m);
            }
        }
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
    double last = eb_clock_unix();
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
            last = eb_clock_unix();
        }
        /* Cancel and shutdown always win: SIGTERM first, SIGKILL after the
         * grace period whatever the pipe does (a demuxer blocked in a read
         * never sees the SIGTERM). The watchdog stays on meanwhile. */
        if (stop_at > 0 && !killed && eb_clock_unix() - stop_at > EB_CANCEL_GRACE_MS / 1000.0) {
            EB_LOGW("jobs", "job %s: worker %d still running %d s after SIGTERM, killing it",
                    r->id, (int)r->pid, EB_CANCEL_GRACE_MS / 1000);
            killed = 1;
            kill(r->pid, SIGKILL);
        }
        if (!killed && eb_clock_unix() - last > j->cfg.watchdog_seconds) {
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
    if (r->lost) {
        /* The lease went (see "Leases"): the job is another box's now. */
        state = EB_JOB_QUEUED;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !hung) {
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
    if (r->lost)
        EB_LOGW("jobs",
                "job %s: its lease was lost, the worker was stopped and nothing of "
                "its end is recorded (another box runs the job)",
                r->id);
    else if (!eb_job_set_state(j, r->id, r->fence, state, err[0] ? err : NULL))
        EB_LOGW("jobs", "job %s %s, but its lease had gone: the end is not recorded", r->id,
                eb_job_state_names[state]);
    else {
        char event[32];
        EB_LOGI("jobs", "job %s %s%s%s", r->id, eb_job_state_names[state], err[0] ? ": " : "", err);
        snprintf(event, sizeof(event), "job.%s", eb_job_state_names[state]);
        if (state != EB_JOB_QUEUED)
            eb_job_event(j, event, r->id, NULL);
    }
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
    argv[n++] = "--publish-gate";
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

/* Forks the worker of job id, claimed with token fence, with the lock
 * held; spec is the job's, the daemon's own settings are put into it. */
static int eb_run_start(EbJobs *j, const char *id, int64_t fence, EbJobSpec *spec)
{
    char logp[4200];
    const char *argv[EB_WORKER_ARGS];
    int pfd[2] = {-1, -1}, logfd = -1, devnull = -1, specfd = -1, ret;
    EbRun *r = NULL;
    pid_t pid;
    EbSqlStmt *st;

    if ((ret = eb_run_spec_fd(j, spec, &specfd)) < 0)
        goto fail;
    eb_run_path(j, id, "log", logp, sizeof(logp));
    eb_run_argv(j, argv);
    /* Records, not a byte stream: each progress line arrives whole, and
     * the worker reads the answer to its publish question on it. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pfd) < 0) {
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
    r->fence = fence;
    r->renewed = eb_clock_unix();
    st = eb_sql_prepare(j->db, "UPDATE jobs SET pid = ? WHERE id = ? AND fence = ?");
    if (st) {
        eb_sql_bind_int64(st, 1, pid);
        eb_sql_bind_text(st, 2, id);
        eb_sql_bind_int64(st, 3, fence);
        eb_sql_step(st);
        eb_sql_finalize(st);
    }
    j->runs[j->nb_running++] = r;
    if (pthread_create(&r->thread, NULL, eb_run_thread, r) != 0) {
        /* Without a monitor nobody would reap it: stop it now. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(r->fd);
        j->nb_running--;
        eb_job_set_state(j, id, fence, EB_JOB_FAILED, "cannot start a monitor thread");
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
    EbSqlStmt *st;
    double now = eb_clock_unix();

    if (j->cfg.history_seconds <= 0 || now - j->last_prune < 60)
        return;
    j->last_prune = now;
    st = eb_sql_prepare(j->db, "SELECT id FROM jobs WHERE finished IS NOT NULL AND finished < ?");
    if (!st)
        return;
    eb_sql_bind_double(st, 1, now - (double)j->cfg.history_seconds);
    while (eb_sql_step(st) == 1) {
        /* The ladder and stats files are older daemons' leftovers. */
        static const char *const ext[] = {"log", "ladder.json", "stats.json"};
        char path[4200];
        for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
            eb_run_path(j, eb_col_text(st, 0), ext[i], path, sizeof(path));
            unlink(path);
        }
    }
    eb_sql_finalize(st);
    st = eb_sql_prepare(j->db, "DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ?");
    if (!st)
        return;
    eb_sql_bind_double(st, 1, now - (double)j->cfg.history_seconds);
    eb_sql_step(st);
    eb_sql_finalize(st);
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
    EbSqlStmt *st;
    DIR *dir;
    struct dirent *e;
    double now = eb_clock_unix();
    int removed = 0, ret = 0;

    j->last_upload_sweep = now;
    j->upload_sweep_due = 0;
    if (!j->cfg.uploads_dir || j->cfg.upload_retention_seconds <= 0)
        return 0;
    dir = opendir(j->cfg.uploads_dir);
    if (!dir)
        return 0;
    /* Every job that names the upload, kept or ended. */
    {
        char sql[320];
        snprintf(sql, sizeof(sql),
                 "SELECT MAX(CASE WHEN state IN ('queued', 'running') THEN 1 ELSE 0 END), "
                 "MAX(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END), MAX(finished) FROM jobs "
                 "WHERE %s = ?",
                 j->input_expr);
        st = eb_sql_prepare(j->db, sql);
    }
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
        eb_sql_reset(st);
        eb_sql_bind_text(st, 1, path);
        if (eb_sql_step(st) != 1) {
            EB_LOGE("jobs", "upload clean-up: the job table cannot be read");
            ret = -EIO;
            break;
        }
        active = (int)eb_sql_int64(st, 0);
        succeeded = (int)eb_sql_int64(st, 1);
        last = sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9;
        if (!eb_sql_is_null(st, 2) && eb_sql_double(st, 2) > last)
            last = eb_sql_double(st, 2);
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
    eb_sql_finalize(st);
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

/* This box's row in boxes (lock held): its address, the database's time
 * and what cfg.box_info says of it. */
static void eb_jobs_heartbeat(EbJobs *j)
{
    char sql[512];
    json_t *info = j->cfg.box_info ? j->cfg.box_info(j->cfg.box_info_opaque) : NULL;
    char *text = info ? json_dumps(info, JSON_COMPACT) : NULL;
    EbSqlStmt *st;

    json_decref(info);
    snprintf(sql, sizeof(sql),
             "INSERT INTO boxes (name, address, heartbeat, started, info) VALUES (?, ?, %s, ?, ?) "
             "ON CONFLICT (name) DO UPDATE SET address = excluded.address, heartbeat = "
             "excluded.heartbeat, started = excluded.started, info = excluded.info",
             eb_sql_now(j->db));
    if ((st = eb_sql_prepare(j->db, sql))) {
        eb_sql_bind_text(st, 1, j->cfg.box);
        eb_sql_bind_text(st, 2, j->cfg.box_address ? j->cfg.box_address : "");
        eb_sql_bind_double(st, 3, j->started_at);
        eb_sql_bind_text(st, 4, text ? text : "{}");
        eb_sql_step(st);
    }
    eb_sql_finalize(st);
    free(text);
    /* A box gone for a week (renamed, retired) leaves the list. */
    snprintf(sql, sizeof(sql), "DELETE FROM boxes WHERE heartbeat < %s - 604800",
             eb_sql_now(j->db));
    eb_sql_exec(j->db, sql);
}

/* The lease pass (see "Leases"; lock held): renews this box's leases,
 * stops the runs whose lease is gone, takes cancels asked on other
 * boxes, beats the box's heartbeat and puts back in the queue the jobs of
 * boxes whose lease ran out. */
static void eb_jobs_leases(EbJobs *j)
{
    double now = eb_clock_unix();
    char sql[512];
    EbSqlStmt *st;

    if (!j->lease_due && now - j->last_lease < j->cfg.lease_seconds / 3.0)
        return;
    j->lease_due = 0;
    j->last_lease = now;
    snprintf(sql, sizeof(sql),
             "UPDATE jobs SET lease_until = %s + ? WHERE id = ? AND fence = ? AND "
             "state = 'running' RETURNING cancel_requested",
             eb_sql_now(j->db));
    for (int i = 0; i < j->nb_running; i++) {
        EbRun *r = j->runs[i];
        int rc;
        if (r->lost || !(st = eb_sql_prepare(j->db, sql)))
            continue;
        eb_sql_bind_double(st, 1, (double)j->cfg.lease_seconds);
        eb_sql_bind_text(st, 2, r->id);
        eb_sql_bind_int64(st, 3, r->fence);
        rc = eb_sql_step(st);
        if (rc == 1) {
            r->renewed = now;
            if (eb_sql_int64(st, 0) && !r->cancel && !r->shutdown) {
                EB_LOGI("jobs", "job %s: canceled through another box", r->id);
                eb_run_cancel(r);
            }
        } else if (rc == 0) {
            eb_run_lose(r, "its lease is no longer this box's");
        } else if (now - r->renewed > j->cfg.lease_seconds) {
            /* Without the database this box cannot show it still holds
             * the lease; another box may have the job by now. */
            eb_run_lose(r, "the lease could not be renewed in time");
        }
        eb_sql_finalize(st);
    }
    eb_jobs_heartbeat(j);
    snprintf(sql, sizeof(sql),
             "UPDATE jobs SET state = 'queued', box = NULL, pid = 0, fence = fence + 1, "
             "lease_until = NULL, percent = 0, fps = 0, speed = 0, eta = -1, frames = 0 "
             "WHERE state = 'running' AND lease_until < %s",
             eb_sql_now(j->db));
    if ((st = eb_sql_prepare(j->db, sql)) && eb_sql_step(st) == 0 && eb_sql_changes(st) > 0) {
        EB_LOGW("jobs", "%" PRId64 " job%s of a box that stopped renewing its lease queued again",
                eb_sql_changes(st), eb_sql_changes(st) == 1 ? "" : "s");
        eb_jobs_notify(j);
    }
    eb_sql_finalize(st);
}

/* Takes the head of the queue this box can run (lock held): claims it under
 * a new token and a lease, in one transaction that skips the rows other
 * boxes are claiming, and starts its worker. Returns 1 when a job was taken
 * (started, or failed to start), 0 when there is none, 2 when cfg.admit
 * held the head back (ask again soon). */
static int eb_jobs_claim(EbJobs *j)
{
    char sql[640], id[EB_JOB_ID_LEN + 1], why[sizeof(j->waiting_for)] = "";
    EbSqlStmt *st;
    EbJobSpec spec;
    EbJobSpecError serr = {{0}};
    int64_t fence = 0;
    int ok, ret, pg = eb_sql_is_pg(j->db);
    const char *text;

    if (eb_sql_exec(j->db, pg ? "BEGIN" : "BEGIN IMMEDIATE") < 0)
        return 0;
    st = eb_sql_prepare(j->db, pg ? "SELECT id, spec, fence FROM jobs WHERE state = 'queued' "
                                    "ORDER BY priority DESC, rowid ASC LIMIT 1 "
                                    "FOR UPDATE SKIP LOCKED"
                                  : "SELECT id, spec, fence FROM jobs WHERE state = 'queued' "
                                    "ORDER BY priority DESC, rowid ASC LIMIT 1");
    if (!st || eb_sql_step(st) != 1) {
        eb_sql_finalize(st);
        eb_sql_exec(j->db, "ROLLBACK");
        j->waiting_id[0] = 0;
        return 0;
    }
    snprintf(id, sizeof(id), "%s", eb_sql_text(st, 0) ? eb_sql_text(st, 0) : "");
    fence = eb_sql_int64(st, 2);
    text = eb_sql_text(st, 1);
    eb_job_spec_init(&spec);
    ok = text && eb_job_spec_parse(text, strlen(text), NULL, &spec, &serr) == 0;
    eb_sql_finalize(st);
    if (ok && j->cfg.admit && !j->cfg.admit(j->cfg.admit_opaque, &spec, why, sizeof(why))) {
        /* The head waits here (on this box nothing overtakes it; another
         * box may take it meanwhile); device sessions are freed by other
         * processes too, so ask again soon rather than only on events. */
        eb_sql_exec(j->db, "ROLLBACK");
        if (strcmp(j->waiting_id, id) || strcmp(j->waiting_for, why))
            EB_LOGI("jobs", "job %s waits for %s", id, why);
        snprintf(j->waiting_id, sizeof(j->waiting_id), "%s", id);
        snprintf(j->waiting_for, sizeof(j->waiting_for), "%s", why);
        eb_job_spec_clear(&spec);
        return 2;
    }
    j->waiting_id[0] = 0;
    if (!ok) {
        char msg[600];
        eb_sql_exec(j->db, "COMMIT");
        snprintf(msg, sizeof(msg), "invalid job spec: %s", serr.message);
        EB_LOGE("jobs", "job %s: %s", id, msg);
        if (eb_job_set_state(j, id, fence, EB_JOB_FAILED, msg))
            eb_job_event(j, "job.failed", id, NULL);
        eb_job_spec_clear(&spec);
        return 1;
    }
    snprintf(sql, sizeof(sql),
             "UPDATE jobs SET state = 'running', box = ?, fence = fence + 1, lease_until = %s + ?, "
             "cancel_requested = 0, started = ?, pid = 0, attempts = attempts + 1, percent = 0, "
             "fps = 0, speed = 0, eta = -1, frames = 0, error = NULL "
             "WHERE id = ? AND fence = ? RETURNING fence",
             eb_sql_now(j->db));
    st = eb_sql_prepare(j->db, sql);
    eb_sql_bind_text(st, 1, j->cfg.box);
    eb_sql_bind_double(st, 2, (double)j->cfg.lease_seconds);
    eb_sql_bind_double(st, 3, eb_clock_unix());
    eb_sql_bind_text(st, 4, id);
    eb_sql_bind_int64(st, 5, fence);
    ok = eb_sql_step(st) == 1;
    fence = ok ? eb_sql_int64(st, 0) : 0;
    eb_sql_finalize(st);
    if (!ok || eb_sql_exec(j->db, "COMMIT") < 0) {
        eb_sql_exec(j->db, "ROLLBACK");
        eb_job_spec_clear(&spec);
        return 0;
    }
    EB_LOGI("jobs", "job %s claimed by box %s (token %" PRId64 ")", id, j->cfg.box, fence);
    ret = eb_run_start(j, id, fence, &spec);
    if (ret < 0) {
        EB_LOGE("jobs", "job %s: cannot start its worker (%s)", id, strerror(-ret));
        if (eb_job_set_state(j, id, fence, EB_JOB_FAILED, "cannot start the worker"))
            eb_job_event(j, "job.failed", id, NULL);
    } else {
        eb_job_event(j, "job.started", id, NULL);
    }
    eb_job_spec_clear(&spec);
    return 1;
}

static void *eb_sched_thread(void *arg)
{
    EbJobs *j = arg;

    pthread_setname_np(pthread_self(), "eb-sched");
    pthread_mutex_lock(&j->lock);
    while (!j->stop) {
        int taken = 0;
        double until;

        eb_jobs_reap(j);
        eb_jobs_leases(j);
        eb_jobs_prune(j);
        if (j->upload_sweep_due ||
            eb_clock_unix() - j->last_upload_sweep >= eb_housekeeping_interval(j))
            eb_jobs_sweep_uploads(j);
        if (j->nb_running < j->max_running)
            taken = eb_jobs_claim(j);
        else
            j->waiting_id[0] = 0;
        if (taken == 1)
            continue;
        /* Woken by the queue (here or, through LISTEN, on another box), a
         * worker's end or stop; else at the next lease pass or
         * housekeeping time. */
        until =
            eb_clock_unix() + (taken == 2 ? EB_JOBS_ADMIT_RETRY_S : eb_housekeeping_interval(j));
        if (until > j->last_lease + j->cfg.lease_seconds / 3.0)
            until = j->last_lease + j->cfg.lease_seconds / 3.0;
        {
            struct timespec ts = {.tv_sec = (time_t)until,
                                  .tv_nsec = (long)((until - (double)(time_t)until) * 1e9)};
            pthread_cond_timedwait(&j->cond, &j->lock, &ts);
        }
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* eb-listen (PostgreSQL): waits for the other boxes' NOTIFY and wakes
 * eb-sched, so an idle box takes a new job at once instead of polling. */
static void *eb_listen_thread(void *arg)
{
    EbJobs *j = arg;

    pthread_setname_np(pthread_self(), "eb-listen");
    for (;;) {
        int fd, n = 0, stop;
        pthread_mutex_lock(&j->lock);
        stop = j->stop;
        pthread_mutex_unlock(&j->lock);
        if (stop)
            break;
        fd = eb_sql_socket(j->listen_db);
        if (fd >= 0) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            n = poll(&p, 1, 500);
        } else {
            sleep(1); /* the server is gone: eb_sql_notifications reconnects */
        }
        if (n < 0 && errno != EINTR)
            sleep(1);
        if (fd < 0 || n > 0) {
            n = eb_sql_notifications(j->listen_db);
            if (n > 0) {
                pthread_mutex_lock(&j->lock);
                j->lease_due = 1;
                pthread_cond_broadcast(&j->cond);
                pthread_mutex_unlock(&j->lock);
            }
        }
    }
    return NULL;
}

/* The tables, made or brought up to date (columns of older daemons'). */
static int eb_jobs_schema(EbJobs *j)
{
    static const char *const added[][2] = {
        {"box", "TEXT"},
        {"fence", "INTEGER NOT NULL DEFAULT 0"},
        {"lease_until", "REAL"},
        {"cancel_requested", "INTEGER NOT NULL DEFAULT 0"},
    };

    if (eb_sql_is_pg(j->db))
        /* Boxes starting together make the tables once (the advisory lock
         * is the database's, held for this statement's session). */
        return eb_sql_exec(
            j->db, "SELECT pg_advisory_lock(7361626);"
                   "CREATE TABLE IF NOT EXISTS jobs ("
                   " rowid BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,"
                   " priority INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL,"
                   " started DOUBLE PRECISION, finished DOUBLE PRECISION, spec TEXT NOT NULL,"
                   " video_id TEXT NOT NULL, percent DOUBLE PRECISION DEFAULT 0,"
                   " fps DOUBLE PRECISION DEFAULT 0, speed DOUBLE PRECISION DEFAULT 0,"
                   " eta DOUBLE PRECISION DEFAULT -1, frames BIGINT DEFAULT 0,"
                   " backend_used TEXT, result TEXT, error TEXT, attempts INTEGER DEFAULT 0,"
                   " pid INTEGER DEFAULT 0, box TEXT, fence BIGINT NOT NULL DEFAULT 0,"
                   " lease_until DOUBLE PRECISION, cancel_requested INTEGER NOT NULL DEFAULT 0);"
                   "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, priority, rowid);"
            /* the claim's order, queued rows only: no sort of the queue */
            "CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(priority DESC, rowid)"
            " WHERE state = 'queued';"
                   "CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_video ON jobs(video_id)"
                   " WHERE state IN ('queued', 'running');"
                   "CREATE TABLE IF NOT EXISTS boxes (name TEXT PRIMARY KEY, address TEXT,"
                   " heartbeat DOUBLE PRECISION, started DOUBLE PRECISION, info TEXT);"
                   "SELECT pg_advisory_unlock(7361626);");
    if (eb_sql_exec(j->db, "CREATE TABLE IF NOT EXISTS jobs ("
                           " id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,"
                           " priority INTEGER NOT NULL, created REAL NOT NULL,"
                           " started REAL, finished REAL, spec TEXT NOT NULL,"
                           " video_id TEXT NOT NULL, percent REAL DEFAULT 0, fps REAL DEFAULT 0,"
                           " speed REAL DEFAULT 0, eta REAL DEFAULT -1, frames INTEGER DEFAULT 0,"
                           " backend_used TEXT, result TEXT, error TEXT,"
                           " attempts INTEGER DEFAULT 0, pid INTEGER DEFAULT 0);"
                           "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, priority);"
                           /* the claim's order (an index ends in the rowid) */
                           "CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(priority DESC)"
                           " WHERE state = 'queued';"
                           "CREATE TABLE IF NOT EXISTS boxes (name TEXT PRIMARY KEY, address TEXT,"
                           " heartbeat REAL, started REAL, info TEXT);") < 0)
        return -EIO;
    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
        EbSqlStmt *st =
            eb_sql_prepare(j->db, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = ?");
        int have;
        char sql[128];
        if (!st)
            return -EIO;
        eb_sql_bind_text(st, 1, added[i][0]);
        have = eb_sql_step(st) == 1 && eb_sql_int64(st, 0) > 0;
        eb_sql_finalize(st);
        snprintf(sql, sizeof(sql), "ALTER TABLE jobs ADD COLUMN %s %s", added[i][0], added[i][1]);
        if (!have && eb_sql_exec(j->db, sql) < 0)
            return -EIO;
    }
    return 0;
}

int eb_jobs_open(const EbJobsConfig *cfg, EbJobs **out)
{
    EbJobs *j = calloc(1, sizeof(*j));
    EbSqlStmt *st;
    int ret = -EIO;

    *out = NULL;
    if (!j)
        return -ENOMEM;
    j->cfg = *cfg;
    if (!j->cfg.box || !*j->cfg.box)
        j->cfg.box = "local";
    if (j->cfg.lease_seconds < 3)
        j->cfg.lease_seconds = EB_JOBS_LEASE_S;
    j->started_at = eb_clock_unix();
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
    /* SQLite: owner-only (job secrets, and the channels' in the same
     * file), WAL. PostgreSQL: the rack's queue, and a second connection
     * that only LISTENs. */
    if (eb_sql_open(cfg->db_path, "jobs", &j->db) < 0 || eb_jobs_schema(j) < 0)
        goto fail;
    snprintf(j->input_expr, sizeof(j->input_expr), "%s",
             eb_sql_is_pg(j->db) ? "(spec::json->>'input')" : "json_extract(spec, '$.input')");
    if (eb_sql_is_pg(j->db) && (eb_sql_open(cfg->db_path, "jobs", &j->listen_db) < 0 ||
                                eb_sql_listen(j->listen_db, EB_JOBS_CHANNEL) < 0))
        goto fail;
    /* Workers of this box's earlier daemon died with it (PDEATHSIG): their
     * jobs run again from the start, now, without waiting for the lease
     * (a new token, so nothing of the old runs can write). */
    st = eb_sql_prepare(j->db, "UPDATE jobs SET state = 'queued', box = NULL, pid = 0, "
                               "fence = fence + 1, lease_until = NULL, percent = 0, fps = 0, "
                               "speed = 0, eta = -1, frames = 0 WHERE state = 'running' AND "
                               "(box = ? OR box IS NULL OR ? = 0)");
    eb_sql_bind_text(st, 1, j->cfg.box);
    eb_sql_bind_int64(st, 2, eb_sql_is_pg(j->db));
    if (!st || eb_sql_step(st) < 0) {
        eb_sql_finalize(st);
        goto fail;
    }
    eb_sql_finalize(st);
    eb_jobs_heartbeat(j);
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
    if (j->listen_db) {
        if (pthread_create(&j->listener, NULL, eb_listen_thread, j) != 0)
            EB_LOGW("jobs", "cannot start the LISTEN thread: other boxes' jobs are seen "
                            "at the lease pass only");
        else
            j->listener_started = 1;
    }
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
        j->runs[i]->stop_at = eb_clock_unix();
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
    if (j->listener_started)
        pthread_join(j->listener, NULL);
    eb_sql_close(&j->listen_db);
    eb_sql_close(&j->db);
    free(j->runs);
    free(j->done);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
    *pj = NULL;
}

static int eb_jobs_video_busy_locked(EbJobs *j, const char *vid)
{
    EbSqlStmt *st = eb_sql_prepare(j->db, "SELECT 1 FROM jobs WHERE video_id = ? AND state IN "
                                          "('queued', 'running') LIMIT 1");
    int busy = 0;
    if (!st)
        return 0;
    eb_sql_bind_text(st, 1, vid);
    busy = eb_sql_step(st) == 1;
    eb_sql_finalize(st);
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
    EbSqlStmt *st;
    int busy = 0;

    char sql[160];

    snprintf(sql, sizeof(sql),
             "SELECT 1 FROM jobs WHERE state IN ('queued', 'running') AND %s = ? LIMIT 1",
             j->input_expr);
    pthread_mutex_lock(&j->lock);
    st = eb_sql_prepare(j->db, sql);
    if (st) {
        eb_sql_bind_text(st, 1, path);
        busy = eb_sql_step(st) == 1;
        eb_sql_finalize(st);
    }
    pthread_mutex_unlock(&j->lock);
    return busy;
}

int eb_jobs_submit(EbJobs *j, EbJobSpec *spec, json_t **job)
{
    char id[EB_JOB_ID_LEN + 1];
    char *text = NULL;
    json_t *o = NULL;
    EbSqlStmt *st;
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
    st = eb_sql_prepare(j->db, "INSERT INTO jobs (id, state, priority, created, spec, video_id) "
                               "VALUES (?, 'queued', ?, ?, ?, ?)");
    if (!st) {
        ret = -EIO;
        goto done;
    }
    eb_sql_bind_text(st, 1, id);
    eb_sql_bind_int64(st, 2, spec->priority);
    eb_sql_bind_double(st, 3, eb_clock_unix());
    eb_sql_bind_text(st, 4, text);
    eb_sql_bind_text(st, 5, spec->video_id);
    if (eb_sql_step(st) != 0)
        /* Another box may have queued the same video meanwhile (the
         * database keeps one queued or running job per video). */
        ret = eb_jobs_video_busy_locked(j, spec->video_id) ? -EEXIST : -EIO;
    eb_sql_finalize(st);
    if (ret == 0) {
        *job = eb_job_load(j, id);
        pthread_cond_broadcast(&j->cond);
        eb_jobs_notify(j);
        if (*job && j->cfg.on_event)
            j->cfg.on_event(j->cfg.on_event_opaque, "job.queued", *job);
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
    EbSqlStmt *st;
    json_t *arr = json_array();
    int64_t total = 0;

    *out = NULL;
    pthread_mutex_lock(&j->lock);
    st = eb_sql_prepare(j->db, "SELECT " EB_JOB_COLUMNS
                               " FROM jobs WHERE CAST(?1 AS TEXT) IS NULL OR state = ?1 "
                               "ORDER BY rowid DESC LIMIT ?2 OFFSET ?3");
    if (st) {
        if (state)
            eb_sql_bind_text(st, 1, state);
        else
            eb_sql_bind_null(st, 1);
        eb_sql_bind_int64(st, 2, limit);
        eb_sql_bind_int64(st, 3, offset);
        while (eb_sql_step(st) == 1)
            json_array_append_new(arr, eb_job_from_row(j, st));
        eb_sql_finalize(st);
    }
    st = eb_sql_prepare(j->db,
                        "SELECT COUNT(*) FROM jobs WHERE CAST(?1 AS TEXT) IS NULL OR state = ?1");
    if (st) {
        if (state)
            eb_sql_bind_text(st, 1, state);
        else
            eb_sql_bind_null(st, 1);
        if (eb_sql_step(st) == 1)
            total = eb_sql_int64(st, 0);
        eb_sql_finalize(st);
    }
    pthread_mutex_unlock(&j->lock);
    *out = json_pack("{s:o, s:I, s:i, s:i}", "jobs", arr, "total", (json_int_t)total, "limit",
                     limit, "offset", offset);
    return *out ? 0 : -ENOMEM;
}

/* Runs sql with a double (?1) and the job id (?2), lock held; the rows it
 * changed, or -EIO. */
static int64_t eb_jobs_update_one(EbJobs *j, const char *sql, double v, const char *id)
{
    EbSqlStmt *st = eb_sql_prepare(j->db, sql);
    int64_t n = -EIO;
    if (!st)
        return n;
    eb_sql_bind_double(st, 1, v);
    eb_sql_bind_text(st, 2, id);
    if (eb_sql_step(st) == 0)
        n = eb_sql_changes(st);
    eb_sql_finalize(st);
    return n;
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
    if (!strcmp(state, "queued") &&
        eb_jobs_update_one(j,
                           "UPDATE jobs SET state = 'canceled', finished = ?, lease_until = "
                           "NULL WHERE id = ? AND state = 'queued'",
                           eb_clock_unix(), id) == 0) {
        /* a box claimed it meanwhile: it is running now */
        state = "running";
    } else if (!strcmp(state, "queued")) {
        eb_job_event(j, "job.canceled", id, NULL);
    }
    if (!strcmp(state, "running")) {
        int here = 0;
        for (int i = 0; i < j->nb_running; i++)
            if (!strcmp(j->runs[i]->id, id)) {
                eb_run_cancel(j->runs[i]);
                here = 1;
            }
        /* Another box's worker: that box stops it at its next lease pass,
         * which the notification brings forward. */
        if (!here && eb_jobs_update_one(j,
                                        "UPDATE jobs SET cancel_requested = ?1 WHERE id = ?2 "
                                        "AND state = 'running'",
                                        1, id) > 0)
            eb_jobs_notify(j);
    } else if (strcmp(state, "queued")) {
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
    EbSqlStmt *st;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    st = eb_sql_prepare(j->db, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (st && eb_sql_step(st) == 1)
        for (int i = 0; i < EB_JOB_NB_STATES; i++)
            if (eb_col_text(st, 0) && !strcmp(eb_col_text(st, 0), eb_job_state_names[i]))
                out->by_state[i] = eb_sql_int64(st, 1);
    eb_sql_finalize(st);
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

int eb_jobs_boxes(EbJobs *j, json_t **out)
{
    char sql[256];
    EbSqlStmt *st, *run;
    json_t *arr = json_array();
    int ret = 0;

    *out = NULL;
    if (!arr)
        return -ENOMEM;
    snprintf(sql, sizeof(sql),
             "SELECT name, address, heartbeat, started, info, %s FROM boxes ORDER BY name",
             eb_sql_now(j->db));
    pthread_mutex_lock(&j->lock);
    st = eb_sql_prepare(j->db, sql);
    run = eb_sql_prepare(j->db, "SELECT id FROM jobs WHERE state = 'running' AND box = ? "
                                "ORDER BY rowid");
    if (!st || !run)
        ret = -EIO;
    while (ret == 0 && eb_sql_step(st) == 1) {
        json_error_t e;
        const char *info = eb_sql_text(st, 4);
        json_t *o = info ? json_loads(info, 0, &e) : NULL, *ids = json_array();
        double age = eb_sql_double(st, 5) - eb_sql_double(st, 2);
        if (!json_is_object(o)) {
            json_decref(o);
            o = json_object();
        }
        eb_sql_reset(run);
        eb_sql_bind_text(run, 1, eb_sql_text(st, 0));
        while (eb_sql_step(run) == 1)
            json_array_append_new(ids, json_string(eb_sql_text(run, 0)));
        json_object_set_new(o, "name", json_string(eb_sql_text(st, 0) ? eb_sql_text(st, 0) : ""));
        json_object_set_new(o, "address",
                            json_string(eb_sql_text(st, 1) ? eb_sql_text(st, 1) : ""));
        json_object_set_new(o, "last_heartbeat", json_real(eb_sql_double(st, 2)));
        json_object_set_new(o, "heartbeat_age_seconds", json_real(age < 0 ? 0 : age));
        /* A box that missed its lease renewals has lost its jobs' leases. */
        json_object_set_new(o, "alive", json_boolean(age < j->cfg.lease_seconds));
        json_object_set_new(
            o, "this_box",
            json_boolean(eb_sql_text(st, 0) && !strcmp(eb_sql_text(st, 0), j->cfg.box)));
        json_object_set_new(o, "started_at", json_real(eb_sql_double(st, 3)));
        json_object_set_new(o, "running_jobs", ids);
        json_array_append_new(arr, o);
    }
    eb_sql_finalize(st);
    eb_sql_finalize(run);
    pthread_mutex_unlock(&j->lock);
    if (ret < 0) {
        json_decref(arr);
        return ret;
    }
    *out = json_pack("{s:o, s:s, s:i}", "boxes", arr, "this_box", j->cfg.box, "lease_seconds",
                     j->cfg.lease_seconds);
    return *out ? 0 : -ENOMEM;
}
