/*
 * The control API's entry points: `encbox serve` (the daemon: HTTP API,
 * origin, job scheduler and worker supervision), and the two helpers the
 * transcode worker uses to report back to it over a pipe (`encbox transcode
 * --progress-fd N`): one JSON object per line, progress lines while the job
 * runs and one "done" line with the result.
 */
#ifndef EB_API_H
#define EB_API_H

#include <jansson.h>

#include "eb_vod.h"

/* `encbox serve [options]`; returns a process exit code. */
int eb_api_serve_cli(int argc, char **argv);

/* Reads an `encbox bench` report into the capacity GET /v1/boxes shows
 * (limits.bench_report): a new JSON object, or NULL with err filled. The
 * binary gives the daemon benchmarks/'s reader (eb_bench_capacity_json)
 * before `serve`: the API library does not link the benchmarks. */
typedef json_t *(*EbApiCapacityReader)(const char *path, char *err, size_t size);
void eb_api_set_capacity_reader(EbApiCapacityReader reader);

typedef struct EbApi EbApi;
typedef struct EbChannels EbChannels;

/* The daemon's channel store (eb_channels.h), for the live supervisor:
 * open from before the daemon serves until after it has stopped serving;
 * the daemon owns it. */
EbChannels *eb_api_channels(EbApi *api);

/* EbVodOptions.progress callback; opaque points at the int fd to write to.
 * Writes {"percent","fps","speed","eta","frames","frames_total",
 * "rungs":[{"name","frames"},...]} (frames each rung has encoded so far) as
 * one line (one write(), under PIPE_BUF, so lines never interleave). */
void eb_api_progress_report(const EbVodProgress *p, void *opaque);

/* Writes the final {"done":true,"backend","fell_back","backend_note",
 * "device_uploads","device_downloads","decode_note",...,
 * "rungs":[{"name","frames",...}]} line (only after a successful job). The
 * daemon parses it in eb_jobs.c: the job's result, and the per-rung and
 * fallback counters of /metrics. */
void eb_api_progress_result(int fd, const EbVodResult *res);

/* EbVodOptions.before_publish of a worker (opaque: the int fd, a socket to
 * its box): writes {"publish":"ready"} and waits for the box's one-line
 * answer, "go" or "stop" (the box no longer holds the job's lease: another
 * box runs it and publishes it). 0 for go; EB_ERR(EPERM) with why for
 * anything else, or EB_ERR(ETIMEDOUT) without an answer in
 * EB_API_PUBLISH_WAIT_S. */
int eb_api_publish_gate(void *opaque, char *why, size_t size);
#define EB_API_PUBLISH_WAIT_S 120

#endif
