/*
 * A job's figures as JSON: what `encbox transcode --stats-json` writes and
 * `encbox bench` reads back for its per-stage tables. The transcode command
 * needs nothing of the benchmark library for it, and the benchmark reads
 * exactly what the job wrote.
 */
#ifndef EB_JOB_STATS_H
#define EB_JOB_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "eb_ladder.h"
#include "eb_vod.h"

/* One rung's figures from one job (or the mean over a step's jobs). */
typedef struct EbJobStatsRung {
    char name[EB_RUNG_NAME_MAX];
    int width, height;
    int64_t frames;
    double encode_seconds; /* wall time inside the encoder calls */
    double mux_seconds;
    double encode_fps;      /* frames / encode_seconds */
    double kbps;            /* actual video bitrate */
    double cpu_seconds;     /* the rung's thread and its encoder's threads */
    double starved_seconds; /* rung thread waiting for frames */
} EbJobStatsRung;

/* What one `encbox transcode --stats-json` child reported (EbVodResult). */
typedef struct EbJobStats {
    double duration; /* media seconds */
    double wall_seconds;
    int64_t frames; /* source frames out of normalisation */
    double decode_seconds, filter_seconds, fanout_seconds, fanout_wait_seconds, audio_seconds;
    double cpu_seconds;            /* the job's process CPU while it ran */
    double demux_cpu_seconds;      /* eb-demux thread: demux, decode, normalise, audio */
    double fanout_cpu_seconds;     /* eb-fanout thread */
    double fanout_blocked_seconds; /* fan-out blocked on full rung queues */
    double demux_blocked_seconds;  /* decoder blocked on the full source queue */
    double encrypt_seconds;        /* the encrypting sink (0: a clear job) */
    int nb_rungs;
    EbJobStatsRung rungs[EB_LADDER_MAX_RUNGS];
} EbJobStats;

/* The figures of a finished job. */
void eb_job_stats_from_result(const EbVodResult *res, EbJobStats *out);

/* A new JSON object (caller owns; NULL on ENOMEM), and back (missing
 * fields read as 0). */
json_t *eb_job_stats_to_json(const EbJobStats *s);
void eb_job_stats_from_json(const json_t *o, EbJobStats *s);

/* Writes res's figures to path; reads a file written so. 0 or -errno. */
int eb_job_stats_write(const char *path, const EbVodResult *res);
int eb_job_stats_read(const char *path, EbJobStats *out);

#endif
