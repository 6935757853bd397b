/*
 * The daemon's job store and scheduler. Jobs live in SQLite (WAL) so a
 * restart loses none: queued jobs stay queued, jobs that were running go
 * back to the queue and re-run from the start. A scheduler thread starts the
 * next queued job (priority, then age) while fewer than max_jobs run; each
 * running job is a separate worker process (`encbox transcode --spec-fd 4
 * -q --progress-fd 3`: its job spec in a sealed memfd, nothing of it on
 * the command line) watched by its own monitor thread, which reads progress
 * lines from the pipe, kills the worker when it stops reporting (watchdog),
 * and records how it ended. A worker that crashes ends its job only.
 *
 * Leases (a rack: jobs.database is a PostgreSQL URL shared by every box;
 * SQLite is the same with one box). A box claims the head of the queue it
 * can admit in one transaction (SELECT ... FOR UPDATE SKIP LOCKED, so two
 * boxes never take the same row and neither waits for the other): the row
 * gets the box's name, a lease (the database's clock + lease_seconds) and
 * a new fencing token (fence + 1). Every later write of that run (progress,
 * result, end) names the token, and one that matches no row changes
 * nothing. eb-sched renews its leases every lease_seconds / 3; a renewal
 * that finds the token gone, or none that succeeds for lease_seconds,
 * means another box may have the job: the worker is killed at once. Any
 * box puts a job whose lease ran out back in the queue with a new token,
 * so a box that died loses its jobs to the others within the lease. The
 * same pass beats the box's heartbeat (table boxes) and takes cancels
 * asked through other boxes' APIs. PostgreSQL's LISTEN/NOTIFY wakes idle
 * boxes when the queue changes.
 *
 * Threads: eb-sched (claims jobs, starts workers, the lease pass), eb-listen
 * (PostgreSQL only: notifications), eb-job-<id> (one per running job).
 * One mutex guards the database handle and the table of running workers,
 * and is never held across anything slow (the HTTP threads take it too).
 */
#ifndef EB_JOBS_H
#define EB_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "eb_job_spec.h"

typedef struct EbJobs EbJobs;

typedef struct EbJobsConfig {
    const char *exe;                /* the encbox binary the workers run */
    const char *storage_root;       /* every worker's spec: storage_root */
    const char *config_path;        /* every worker's spec: config; NULL: none */
    const char *db_path;            /* SQLite file, or a postgresql:// URL (a rack) */
    const char *work_dir;           /* worker logs */
    const char *base_url;           /* prefix of output URLs; "" for relative */
    /* storage.s3: where players reach the bucket's copy ("<base>/<prefix>"
     * to which the layout's paths are added); NULL or "": no object store */
    const char *object_base_url;
    int max_jobs;                   /* concurrent workers, >= 1 */
    int watchdog_seconds;           /* no report for this long: the worker is killed */
    int64_t history_seconds;        /* ended jobs older than this are forgotten; 0: never */
    const char *const *input_roots; /* NULL-terminated; every worker's spec: input_roots */
    /* The upload folder (realpath) and how long an upload no queued or
     * running job needs is kept; NULL or 0: uploads are never removed. See
     * eb_jobs.c, "Uploads", for the rules. */
    const char *uploads_dir;
    int64_t upload_retention_seconds;
    /* Optional: asked before the head of the queue starts; 1 starts it, 0
     * leaves it queued (why, shown as the job's "waiting_for", says for
     * what) and asks again within EB_JOBS_ADMIT_RETRY_S. The daemon checks
     * device sessions with it (eb_api_devices_admit). Called with the jobs
     * lock held: it must not call back into eb_jobs. */
    int (*admit)(void *opaque, const EbJobSpec *spec, char *why, size_t size);
    void *admit_opaque;
    /* The box (see "Leases" above): its name (jobs.box, unique in the
     * rack; NULL: "local"), the address its API answers at, how long a
     * claim lasts unrenewed (< 3: EB_JOBS_LEASE_S), and what its heartbeat
     * says of it (a JSON object, new reference, merged into its entry of
     * eb_jobs_boxes; called on eb-sched with the jobs lock held, so it
     * must not call back into eb_jobs). */
    const char *box;
    const char *box_address;
    int lease_seconds;
    json_t *(*box_info)(void *opaque);
    void *box_info_opaque;
    /* Optional: each event of a job's life on this box, with the job
     * object (borrowed): "job.queued" (submitted here), "job.started"
     * (claimed here), "job.progress" (25, 50, 75 %), "job.updated" (a
     * running job's progress, at most every EB_JOBS_UPDATE_S: for the
     * console, not the webhooks), "job.succeeded", "job.failed",
     * "job.canceled" (recorded here). Called with the jobs lock held: it
     * must not call back into eb_jobs (eb_webhooks_emit, eb_ws_publish). */
    void (*on_event)(void *opaque, const char *event, const json_t *job);
    void *on_event_opaque;
} EbJobsConfig;

#define EB_JOBS_ADMIT_RETRY_S 1.0
#define EB_JOBS_LEASE_S 30
#define EB_JOBS_UPDATE_S 0.5 /* job.updated: at most this often a job */

enum {
    EB_JOB_QUEUED,
    EB_JOB_RUNNING,
    EB_JOB_SUCCEEDED,
    EB_JOB_FAILED,
    EB_JOB_CANCELED,
    EB_JOB_NB_STATES
};

extern const char *const eb_job_state_names[EB_JOB_NB_STATES];

/* Rung names /metrics keeps counters for (the first ones seen). */
#define EB_JOBS_MAX_RUNG_STATS 64

typedef struct EbJobsRungFrames {
    char name[16];
    int64_t frames;
} EbJobsRungFrames;

/* Figures for /metrics. Counters count since the daemon started. */
typedef struct EbJobsStats {
    int64_t by_state[EB_JOB_NB_STATES];
    int64_t frames_encoded; /* sum over finished and running jobs */
    double encode_fps;      /* sum of the running jobs' fps */
    int64_t worker_crashes; /* since the daemon started */
    int64_t watchdog_kills;
    int64_t fallbacks;       /* succeeded jobs whose result says fell_back */
    int64_t uploads_removed; /* uploads deleted by the clean-up */
    /* Frames encoded per rung name: succeeded jobs (from their results),
     * plus running jobs whose progress lines carry per-rung figures. */
    int nb_rungs;
    EbJobsRungFrames rungs[EB_JOBS_MAX_RUNG_STATS];
} EbJobsStats;

/* Opens (creates) the database and moves jobs left running by an earlier
 * daemon back to the queue. cfg's strings must outlive the store. *out is
 * freed with eb_jobs_close(). */
int eb_jobs_open(const EbJobsConfig *cfg, EbJobs **out);

/* Starts the scheduler (call once the daemon is sure to serve, so a daemon
 * that fails to listen never starts a worker). 0 or -EAGAIN. */
int eb_jobs_start(EbJobs *jobs);

/* Changes the concurrent-job limit at run time (SIGHUP reload), between 1
 * and the max_jobs the store was opened with (its worker slots); running
 * jobs are never stopped by a lower limit. Returns the limit now in force. */
int eb_jobs_set_max_jobs(EbJobs *jobs, int max_jobs);

/* Stops the scheduler, stops running workers (their jobs go back to the
 * queue, to re-run on the next start), closes the database; NULLs *jobs. */
void eb_jobs_close(EbJobs **jobs);

/* Queues a job. spec is a checked job (eb_job_request_parse; the caller
 * keeps it): its input resolved, and every field it should run with, for
 * the store keeps it as eb_job_spec_to_json writes it, secrets included,
 * and replaces storage_root, input_roots and config with the daemon's
 * when the job starts. A spec without a video_id gets the job id as one
 * (spec->video_id is set). Returns 0 and the job object in *job (caller
 * owns it), -EEXIST when the video id is taken by a published video
 * (without overwrite) or by a queued/running job, -ENOENT when the input is
 * an upload that the clean-up removed since the request was checked, or
 * -EINVAL for a spec without input. */
int eb_jobs_submit(EbJobs *jobs, EbJobSpec *spec, json_t **job);

/* The job object (caller owns it), or -ENOENT. */
int eb_jobs_get(EbJobs *jobs, const char *id, json_t **job);

/* {"jobs":[...], "total":N, "limit", "offset"}; state NULL for all. */
int eb_jobs_list(EbJobs *jobs, const char *state, int limit, int offset, json_t **out);

/* Cancels a queued or running job (a running worker gets SIGTERM, then
 * SIGKILL if it does not stop). Returns 0 with the job object, -ENOENT, or
 * -EALREADY when the job has already ended (*job is still filled). */
int eb_jobs_cancel(EbJobs *jobs, const char *id, json_t **job);

/* 1 when a queued or running job publishes that video id. */
int eb_jobs_video_busy(EbJobs *jobs, const char *video_id);

/* 1 when a queued or running job reads the file at path (its resolved
 * "input"): an upload that must not be removed. */
int eb_jobs_input_busy(EbJobs *jobs, const char *path);

void eb_jobs_stats(EbJobs *jobs, EbJobsStats *out);

/* {"boxes":[{name, address, last_heartbeat, heartbeat_age_seconds, alive,
 * this_box, started_at, running_jobs, ...box_info}], "this_box",
 * "lease_seconds"}: every box that has used the database. 0, -EIO or
 * -ENOMEM. */
int eb_jobs_boxes(EbJobs *jobs, json_t **out);

#endif
