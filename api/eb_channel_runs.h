/*
 * Live runs in the daemon: the ingest listeners on one side, one supervised
 * `encbox live` worker per channel on the other (see eb_channel_runs.c for
 * the rules).
 */
#ifndef EB_CHANNEL_RUNS_H
#define EB_CHANNEL_RUNS_H

#include <stddef.h>
#include <stdio.h>

#include "eb_channels.h"

typedef struct EbChannelRuns EbChannelRuns;

typedef struct EbChannelRunsConfig {
    const char *exe;            /* the encbox binary the workers run */
    const char *storage_root;   /* the workers' storage root */
    const char *config_path;    /* the daemon's configuration (ladders); NULL: none */
    const char *srt_listen;     /* "HOST:PORT" of the SRT listener; NULL or "": none */
    const char *rtmp_listen;    /* "HOST:PORT" of the RTMP listener; NULL or "": none */
    EbChannels *channels;       /* borrowed: must outlive the runs */
    const char *utc_timing_url; /* the live MPDs' UTCTiming (the daemon's /v1/time) */
    const char *key_store;      /* the workers' key store (protected channels) */
    const char *public_base_url; /* absolute license URLs in the MPDs; "": none */
    /* Admission: pixels per second of live encoding the box carries in
     * real time (live.capacity_mpixels x 1e6); 0: the estimate,
     * eb_channel_runs_estimate(). */
    double capacity_pixel_rate;
    /* A worker that has printed nothing for this long while its publisher
     * sends is hung: killed and restarted (live.worker_timeout_seconds).
     * 0: 20 s. */
    double hang_seconds;
} EbChannelRunsConfig;

/* Starts the listeners and the supervisor, and ends the sessions an
 * earlier daemon left open (their recordings are published). detail says
 * why it could not. The caller owns *out (eb_channel_runs_close). */
int eb_channel_runs_open(const EbChannelRunsConfig *cfg, EbChannelRuns **out, char *detail,
                         size_t size);

/* The software backend's documented live capacity on this machine:
 * EB_RUNS_MPIXELS_PER_CORE megapixels per second per online core (see
 * benchmarks/README.md, "live"). */
double eb_channel_runs_estimate(void);

/* The listeners' bound ports (0: none). */
int eb_channel_runs_srt_port(const EbChannelRuns *r);
int eb_channel_runs_rtmp_port(const EbChannelRuns *r);

/* A channel was deleted (EbChannelsConfig.on_end): its publisher is
 * dropped and its session ended (recorded) at once, without waiting for a
 * reconnect. Any thread; returns without waiting for the worker. */
void eb_channel_runs_end(EbChannelRuns *r, const char *channel_id);

/* Prometheus lines for the running channels (ingest transport figures,
 * encode speed, dropped frames, restarts). */
void eb_channel_runs_metrics(EbChannelRuns *r, FILE *f);

/* Ends every connection, waits for the workers to finish their runs,
 * nulls the caller's pointer. */
void eb_channel_runs_close(EbChannelRuns **r);

#endif
