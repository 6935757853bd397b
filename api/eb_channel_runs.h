/*
 * Live runs in the daemon: the SRT listener and one `encbox live` worker
 * per connected publisher (see eb_channel_runs.c for the rules).
 */
#ifndef EB_CHANNEL_RUNS_H
#define EB_CHANNEL_RUNS_H

#include <stddef.h>

#include "eb_channels.h"

typedef struct EbChannelRuns EbChannelRuns;

typedef struct EbChannelRunsConfig {
    const char *exe;          /* the encbox binary the workers run */
    const char *storage_root; /* the workers' storage root */
    const char *config_path;  /* the daemon's configuration (ladders); NULL: none */
    const char *srt_listen;   /* "HOST:PORT" of the SRT listener */
    EbChannels *channels;     /* borrowed: must outlive the runs */
} EbChannelRunsConfig;

/* Starts the SRT listener. detail says why it could not. The caller owns
 * *out (eb_channel_runs_close). */
int eb_channel_runs_open(const EbChannelRunsConfig *cfg, EbChannelRuns **out, char *detail,
                         size_t size);

/* The listener's bound port. */
int eb_channel_runs_srt_port(const EbChannelRuns *r);

/* Ends every connection, waits for the workers to finish their runs,
 * nulls the caller's pointer. */
void eb_channel_runs_close(EbChannelRuns **r);

#endif
