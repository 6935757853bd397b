/*
 * Player analytics beacons (issue 18): POST /v1/beacons takes what a
 * player reports of one viewing session (no token: players on any page
 * send them, keyed to a published video or a live channel), and the box
 * aggregates them per video or channel and rendition for /metrics and
 * GET /v1/analytics.
 *
 * A beacon is one JSON object:
 *   video_id | channel_id   which (exactly one)
 *   session_id              the player's random id for this viewing
 *                           ([A-Za-z0-9_-]{8,64})
 *   event                   start | heartbeat | rebuffer | switch | error | end
 *   rendition               the rung being played now (optional)
 *   startup_ms              load to first frame (counted once per session)
 *   rebuffers, rebuffer_ms, switches, watched_s
 *                           the session's totals so far: the box adds what
 *                           grew since the session's previous beacon (to
 *                           the rendition this beacon names), so a beacon
 *                           sent twice, or lost, costs nothing
 *   latency_s               live: behind the live edge now
 *   error                   a short text (event "error")
 * Unknown fields are refused (a typo would silently count nothing).
 *
 * Bounds: EB_BEACON_MAX_BYTES a beacon; per client address a token bucket
 * of EB_BEACON_RATE a second, bursts of EB_BEACON_BURST; at most
 * EB_BEACON_MAX_TARGETS videos and channels, EB_BEACON_MAX_SESSIONS
 * sessions and EB_BEACON_MAX_CLIENTS addresses are tracked (the least
 * recently heard is forgotten first), so no client can grow the box's
 * memory or the /metrics page without bound.
 *
 * Figures are in memory, since the daemon started (Prometheus counters);
 * each box of a rack counts what reached it (sum them across boxes).
 *
 * Threads: eb_beacon_parse is pure; every other function may be called
 * from any thread (one mutex).
 */
#ifndef EB_BEACONS_H
#define EB_BEACONS_H

#include <jansson.h>
#include <stdio.h>

#define EB_BEACON_MAX_BYTES 4096
#define EB_BEACON_RATE 5.0 /* beacons a second per client address */
#define EB_BEACON_BURST 20.0
#define EB_BEACON_MAX_TARGETS 1024
#define EB_BEACON_MAX_SESSIONS 16384
#define EB_BEACON_MAX_CLIENTS 4096
#define EB_BEACON_MAX_RENDITIONS 16 /* per target; more are counted as "other" */
#define EB_BEACON_MINUTES 60        /* per-minute history kept for GET /v1/analytics */

typedef enum EbBeaconKind { EB_BEACON_VIDEO, EB_BEACON_CHANNEL } EbBeaconKind;

typedef enum EbBeaconEvent {
    EB_BEACON_START,
    EB_BEACON_HEARTBEAT,
    EB_BEACON_REBUFFER,
    EB_BEACON_SWITCH,
    EB_BEACON_ERROR,
    EB_BEACON_END,
    EB_BEACON_NB_EVENTS
} EbBeaconEvent;

extern const char *const eb_beacon_event_names[EB_BEACON_NB_EVENTS];

typedef struct EbBeacon {
    EbBeaconKind kind;
    char target[129]; /* the video id or channel id */
    char session[65];
    EbBeaconEvent event;
    char rendition[33]; /* "": not said */
    /* < 0: not in the beacon */
    double startup_ms;
    double rebuffers, rebuffer_ms, switches, watched_s; /* the session's totals */
    double latency_s;
    char error[257];
} EbBeacon;

/* Parses a beacon (len bytes, not necessarily NUL-terminated). Pure: any
 * bytes. 0, or EB_ERR(EINVAL) with field ("" for the body) and a message
 * that starts with it. Whether the video or channel exists is the
 * caller's to check. */
int eb_beacon_parse(const char *body, size_t len, EbBeacon *out, char *field, size_t fsize,
                    char *msg, size_t msize);

typedef struct EbBeacons EbBeacons;

int eb_beacons_open(EbBeacons **out);
void eb_beacons_close(EbBeacons **b);

/* The rate limit of client (an address): 1 and a token taken, or 0 with
 * *retry_after (seconds) when it sends too fast. now: monotonic seconds. */
int eb_beacons_admit(EbBeacons *b, const char *client, double now, double *retry_after);

/* Counts a parsed beacon at now (Unix seconds: the history's minutes). */
void eb_beacons_add(EbBeacons *b, const EbBeacon *beacon, double now);

/* Counts a refused beacon for /metrics: "invalid", "unknown" (no such
 * video or channel), "limited" (rate), "too_large". */
void eb_beacons_refused(EbBeacons *b, const char *why);

/* The /metrics lines (encbox_player_* and encbox_beacons_total). */
void eb_beacons_metrics(EbBeacons *b, FILE *f);

/* What the box has of a video or channel: {"video_id"|"channel_id",
 * "sessions", "startup_ms_avg", "errors", "last_error", "switches",
 * "latency_s_avg", "latency_s_last", "renditions": [{"name", "watched_s",
 * "rebuffers", "rebuffer_s"}], "minutes": [{"t" (Unix seconds, the
 * minute's start), "watched_s": {rendition: seconds}, "rebuffers",
 * "rebuffer_s"}] oldest first}; a new reference. An empty one (zeros) when
 * no beacon came. NULL when out of memory. */
json_t *eb_beacons_analytics(EbBeacons *b, EbBeaconKind kind, const char *target, double now);

#endif
