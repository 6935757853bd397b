/*
 * Live channels: the daemon's channel store (issue 14). A channel is a
 * named live stream: publishers send it to the SRT or RTMP ingest with the
 * channel's secrets, a live worker packages it into a sliding HLS/DASH
 * window under /live/<name>/, and each stretch it was on air can be kept as
 * a recording, published like a video under /videos/<recording id>/.
 *
 * This module is the store and the API's view of it; the ingest listeners
 * and the live workers (their supervisor) plug into it:
 *   - POST /v1/channels: eb_channel_request_parse (pure, fuzzed) then
 *     eb_channels_create, which draws the id and the secrets;
 *   - the ingest finds a channel by name (SRT stream id) with
 *     eb_channels_spec or by stream key (RTMP) with eb_channels_find_by_key,
 *     both with the secrets, to check the publisher's;
 *   - the supervisor moves it between idle, live and reconnecting
 *     (eb_channels_set_state), reports figures (eb_channels_set_stats) and
 *     recordings (eb_channels_add_recording), and is told through
 *     EbChannelsConfig.on_end when DELETE ends a channel, to stop its
 *     worker.
 *
 * Channels and recordings live in the job database (tables `channels` and
 * `recordings`), on a connection of their own (eb_sql.h): the SQLite file
 * of a box (WAL, owner-only since it holds the secrets), or a rack's
 * shared PostgreSQL, where every box's API lists every channel. Ended is
 * final, and an ended channel's name is free for a new channel. When the
 * store opens, every channel this box carried that has not ended is idle:
 * the workers of an earlier daemon died with it.
 *
 * Which box carries a channel is a lease, as for jobs (eb_jobs.h): the box
 * whose ingest a publisher reached claims the channel (eb_channels_claim:
 * the box's name, the database's clock + lease_seconds, a new fencing
 * token) and holds it while it has a publisher, waits for one to come back
 * or ends the session; its supervisor renews the leases (eb_channels_renew)
 * and releases the channel when done. A claim succeeds when nobody holds
 * the channel, this box did, or the holder's lease ran out; otherwise the
 * publisher is refused, naming the box that carries it. The state writes
 * of a run name the token, so a box that lost the channel changes nothing;
 * another box takes over a channel whose lease ran out
 * (eb_channels_orphans). The view says which box carries the channel
 * ("box"). Stats live in the carrying box's memory; its renewals copy them
 * to the row, for the other boxes' views.
 *
 * Threads: every function may be called from any thread. One mutex guards
 * the connection, the stats and the held leases, held only for short
 * queries, never across a callback.
 */
#ifndef EB_CHANNELS_H
#define EB_CHANNELS_H

#include <jansson.h>
#include <stddef.h>

#include "eb_config.h"
#include "eb_job_request.h"

#define EB_CHANNEL_ID_PREFIX "ch_"
#define EB_CHANNEL_NAME_MAX 64      /* [a-z0-9_-]{1,64} */
#define EB_CHANNEL_SECRET_LEN 32    /* url-safe characters of a passphrase or stream key */
#define EB_CHANNEL_MAX_WINDOW 21600 /* seconds: 6 h */
#define EB_CHANNEL_MAX_RECONNECT 600
#define EB_CHANNEL_LEASE_S 30 /* default lease_seconds, as jobs.lease */

typedef enum EbChannelState {
    EB_CHANNEL_IDLE,         /* no publisher (a new channel; after a restart) */
    EB_CHANNEL_LIVE,         /* a publisher is sending and the worker packages it */
    EB_CHANNEL_RECONNECTING, /* the publisher dropped; waiting reconnect_window_seconds */
    EB_CHANNEL_ENDED,        /* DELETE: final */
    EB_CHANNEL_NB_STATES
} EbChannelState;

/* "idle", "live", "reconnecting", "ended". */
extern const char *const eb_channel_state_names[EB_CHANNEL_NB_STATES];

/* One channel as it was asked for, with the fields the store fills. */
typedef struct EbChannelSpec {
    char id[40];            /* "ch_" + 16 hex, drawn by eb_channels_create */
    char name[65];          /* [a-z0-9_-]{1,64}, not of an id's form; unique among
                             * channels that have not ended */
    char ladder[64];        /* a ladder preset of the configuration; default jobs.ladder */
    char preset[32];        /* encoder preset (jobs.preset's values); default jobs.preset */
    double segment_seconds; /* 1..10; default live.segment_seconds */
    double window_seconds;  /* 3 segments .. 6 h; default live.window_seconds */
    double reconnect_window_seconds; /* 0..600; default 30 */
    int record;                      /* keep each stretch on air as a recording; default 1 */
    double part_seconds;             /* low latency (LL-HLS parts): the part target, 0.1 s..
                                      * half a segment; default live.part_seconds. 0: off
                                      * (request "low_latency": false) */
    char srt_passphrase[48];         /* EB_CHANNEL_SECRET_LEN url-safe random characters (SRT
                                      * takes 10 to 79), drawn by eb_channels_create */
    char stream_key[48];             /* the same, the RTMP stream key */
    int encryption;                  /* EbEncryptionScheme: "encryption": {"scheme"}; aes-128
                                      * needs "low_latency": false; default clear */
} EbChannelSpec;

typedef struct EbChannelsConfig {
    const char *db_path;      /* the job database: a SQLite file or a postgresql:// URL */
    const char *box;          /* this box's name (jobs.box); NULL or "": "local" */
    int lease_seconds;        /* how long a claim lasts unrenewed; < 3: EB_CHANNEL_LEASE_S */
    const char *storage_root; /* the storage tree the live workers write to; kept for the
                               * supervisor (eb_channels_config), the store reads none */
    const char *base_url;     /* prefix of output URLs; "" for relative ones */
    const char *key_store;    /* the key store (eb_keys.h) the live workers use; the view
                               * reads a protected channel's key id from it */
    const char *srt_public;   /* "HOST:PORT" publishers dial for SRT; "" or NULL: SRT off */
    const char *rtmp_public;  /* the same for RTMP */
    /* Optional: called by eb_channels_end after it has ended a channel
     * (not for one that had already ended), on the caller's thread and
     * outside the store's lock, so it may call back into the store. */
    void (*on_end)(void *opaque, const char *channel_id);
    void *on_end_opaque;
    /* Optional: each change of a channel's life, with the channel's view
     * (borrowed; for a recording, the recording merged in as
     * "recording"): "channel.idle", "channel.live",
     * "channel.reconnecting", "channel.ended", "recording.published".
     * Called outside the store's lock (eb_webhooks_emit). */
    void (*on_event)(void *opaque, const char *event, const json_t *channel);
    void *on_event_opaque;
} EbChannelsConfig;

typedef struct EbChannels EbChannels;

/* Opens (creates) the tables in cfg->db_path (mode 0600, see eb_db.h) and
 * moves every channel that has not ended to idle. cfg's strings must
 * outlive the store. *out is freed with eb_channels_close(). 0, or a
 * negative errno (logged). */
int eb_channels_open(const EbChannelsConfig *cfg, EbChannels **out);

/* Closes the database and frees the stats; NULLs *channels. NULL is fine. */
void eb_channels_close(EbChannels **channels);

/* The configuration the store was opened with (its strings are the
 * caller's, as given to eb_channels_open). */
const EbChannelsConfig *eb_channels_config(const EbChannels *channels);

/* Parses a POST /v1/channels body (len bytes, not necessarily
 * NUL-terminated) into *out, defaults from cfg: every field but id and the
 * secrets ("" here) is set on success. Unknown fields are refused with the
 * rule of job requests (eb_job_spec_unknown_field). Pure: no store, no
 * I/O, any bytes. Returns 0, or EB_ERR(EINVAL) with *err filled (status
 * 400, the field, a message starting with it; field "" for the body as a
 * whole), or EB_ERR(ENOMEM). */
int eb_channel_request_parse(const EbConfig *cfg, const char *body, size_t len, EbChannelSpec *out,
                             EbJobRequestError *err);

/* Stores a new idle channel from spec (checked by eb_channel_request_parse):
 * draws spec->id, spec->srt_passphrase and spec->stream_key (written into
 * the caller's spec). Returns 0 and the channel's view in *view (caller
 * owns it), EB_ERR(EEXIST) when a channel that has not ended has that
 * name, EB_ERR(EINVAL) for a spec whose name is not valid, EB_ERR(EIO). */
int eb_channels_create(EbChannels *channels, EbChannelSpec *spec, json_t **view);

/* The view of a channel by id, or by name (the one that has not ended, else
 * the last one that did): caller owns *view. 0 or EB_ERR(ENOENT). */
int eb_channels_get(EbChannels *channels, const char *id_or_name, json_t **view);

/* Every channel's view, newest first: *array is a new array the caller
 * owns. 0 or EB_ERR(ENOMEM) / EB_ERR(EIO). */
int eb_channels_list(EbChannels *channels, json_t **array);

/* The channel that has not ended, by id or name, with its secrets, into
 * *out, for the ingest (an SRT stream id names the channel) and the
 * worker. The caller wipes it when done (explicit_bzero). 0 or
 * EB_ERR(ENOENT) (none, or it has ended: an ended channel's secrets open
 * nothing). */
int eb_channels_spec(EbChannels *channels, const char *id_or_name, EbChannelSpec *out);

/* The channel that has not ended whose RTMP stream key is stream_key,
 * with its secrets, as eb_channels_spec. 0 or EB_ERR(ENOENT) (an ended
 * channel's key opens nothing). */
int eb_channels_find_by_key(EbChannels *channels, const char *stream_key, EbChannelSpec *out);

/* Moves a channel this box carries (eb_channels_claim) between idle, live
 * and reconnecting, under its token. 0, EB_ERR(ENOENT), EB_ERR(EALREADY)
 * when it has ended (ended is final), EB_ERR(EPERM) when this box does not
 * carry it (never claimed, released, or lost to another box: nothing
 * changes), EB_ERR(EINVAL) for EB_CHANNEL_ENDED (that is eb_channels_end)
 * or a state out of range. */
int eb_channels_set_state(EbChannels *channels, const char *id, EbChannelState st);

/* Replaces the figures the view shows as "stats" (in memory only). Takes
 * over stats (a JSON object; stolen whatever the outcome). 0,
 * EB_ERR(ENOENT), EB_ERR(EINVAL) when stats is not an object. */
int eb_channels_set_stats(EbChannels *channels, const char *id, json_t *stats);

/* Records a recording of the channel published as video recording_id
 * (a valid video id, unique), from start_unix to end_unix (Unix seconds),
 * duration seconds of media. 0, EB_ERR(ENOENT) (no such channel),
 * EB_ERR(EEXIST) (that recording id is taken), EB_ERR(EINVAL), EB_ERR(EIO). */
int eb_channels_add_recording(EbChannels *channels, const char *channel_id,
                              const char *recording_id, double start_unix, double end_unix,
                              double duration);

/* Ends a channel (by id): state ended, the time stamped, its name free
 * again; then cfg.on_end. 0, EB_ERR(EALREADY) when it had already ended
 * (nothing changes, no callback), EB_ERR(ENOENT). */
int eb_channels_end(EbChannels *channels, const char *id);

/* Claims channel id for this box (see the top): 0 when this box carries
 * it now (a new token); EB_ERR(EBUSY) when another box does, its name in
 * holder; EB_ERR(ENOENT) when there is no such channel or it has ended;
 * EB_ERR(EIO). */
int eb_channels_claim(EbChannels *channels, const char *id, char *holder, size_t size);

/* Gives up a channel this box carries (its run is done): nobody carries
 * it. Nothing when this box does not. */
void eb_channels_release(EbChannels *channels, const char *id);

/* Renews the lease of every channel this box carries, copying its stats to
 * the row. For each one it no longer carries, calls lost (outside the
 * store's lock) with ended 1 when the channel was ended (DELETE through
 * any box), 0 when another box took it or no renewal took for a whole
 * lease; the channel is then forgotten (writes under its token are
 * refused). Returns how many were renewed. */
int eb_channels_renew(EbChannels *channels, void (*lost)(void *opaque, const char *id, int ended),
                      void *opaque);

/* Up to max channels that have not ended whose box's lease ran out (a box
 * that died, or stopped): their ids into ids, for this box to claim.
 * Returns how many, or EB_ERR(EIO). */
int eb_channels_orphans(EbChannels *channels, char (*ids)[40], int max);

/* The lease the store was opened with, in seconds. */
int eb_channels_lease_seconds(const EbChannels *channels);

/* The "HOST:PORT" publishers dial for an ingest listening on listen
 * ("HOST:PORT" or "[V6]:PORT", as live.srt_listen; "" for off): host is
 * public_host when set, else the listen host, or this machine's host name
 * when that is 0.0.0.0 or [::]; an IPv6 host is bracketed. "" when listen
 * is "". 0, EB_ERR(EINVAL) for a listen address without a port, or
 * EB_ERR(ENAMETOOLONG). */
int eb_channels_public_addr(const char *listen, const char *public_host, char *out, size_t size);

#endif
