/*
 * Player analytics beacons (see eb_beacons.h).
 *
 * DESIGN: three bounded tables under one mutex, each searched by a 64-bit
 * FNV-1a hash of its key before the key itself, and each evicting its
 * least recently heard entry when full: the targets (a video or channel
 * with its per-rendition counters and a ring of per-minute buckets), the
 * sessions (the totals the player last reported, to turn totals into
 * increments) and the client addresses (a token bucket each). Sizes are
 * small enough for a linear scan of the hashes; a beacon costs
 * microseconds.
 */
#include "eb_beacons.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_error.h"

const char *const eb_beacon_event_names[EB_BEACON_NB_EVENTS] = {"start",  "heartbeat", "rebuffer",
                                                                "switch", "error",     "end"};

/* ---- parsing -------------------------------------------------------------- */

static void eb_bc_fail(char *field, size_t fsize, char *msg, size_t msize, const char *f,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void eb_bc_fail(char *field, size_t fsize, char *msg, size_t msize, const char *f,
                       const char *fmt, ...)
{
    va_list ap;
    int n;

    snprintf(field, fsize, "%s", f);
    n = snprintf(msg, msize, "%s%s", f, f[0] ? ": " : "");
    if (n < 0 || (size_t)n >= msize)
        return;
    va_start(ap, fmt);
    vsnprintf(msg + n, msize - (size_t)n, fmt, ap);
    va_end(ap);
}

/* 1 when s is 1..max characters of [A-Za-z0-9] and extra. */
static int eb_bc_token(const char *s, size_t min, size_t max, const char *extra)
{
    size_t n = strlen(s);

    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return 0;
    return 1;
}

/* A number field in [0, max]: 0 and *out, 1 when absent (*out -1), or -1
 * with the error filled. */
static int eb_bc_number(const json_t *o, const char *key, double max, double *out, char *field,
                        size_t fsize, char *msg, size_t msize)
{
    const json_t *v = json_object_get(o, key);
    double d;

    *out = -1;
    if (!v)
        return 1;
    d = json_number_value(v);
    if (!json_is_number(v) || !isfinite(d) || d < 0 || d > max) {
        eb_bc_fail(field, fsize, msg, msize, key, "must be a number from 0 to %g", max);
        return -1;
    }
    *out = d;
    return 0;
}

int eb_beacon_parse(const char *body, size_t len, EbBeacon *out, char *field, size_t fsize,
                    char *msg, size_t msize)
{
    static const char *const known[] = {"video_id",  "channel_id", "session_id", "event",
                                        "rendition", "startup_ms", "rebuffers",  "rebuffer_ms",
                                        "switches",  "watched_s",  "latency_s",  "error"};
    static const struct {
        const char *key;
        double max;
        size_t off;
    } numbers[] = {
        {"startup_ms", 600000, offsetof(EbBeacon, startup_ms)},
        {"rebuffers", 1e6, offsetof(EbBeacon, rebuffers)},
        {"rebuffer_ms", 7 * 86400e3, offsetof(EbBeacon, rebuffer_ms)},
        {"switches", 1e6, offsetof(EbBeacon, switches)},
        {"watched_s", 7 * 86400, offsetof(EbBeacon, watched_s)},
        {"latency_s", 3600, offsetof(EbBeacon, latency_s)},
    };
    json_error_t je;
    json_t *o;
    const char *key, *s;
    json_t *v;
    int ret = EB_ERR(EINVAL);

    memset(out, 0, sizeof(*out));
    if (len > EB_BEACON_MAX_BYTES) {
        eb_bc_fail(field, fsize, msg, msize, "", "a beacon is at most %d bytes",
                   EB_BEACON_MAX_BYTES);
        return ret;
    }
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        eb_bc_fail(field, fsize, msg, msize, "", "not a JSON object%s%s", o ? "" : ": ",
                   o ? "" : je.text);
        json_decref(o);
        return ret;
    }
    json_object_foreach(o, key, v)
    {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key))
            k++;
        if (k == sizeof(known) / sizeof(known[0])) {
            eb_bc_fail(field, fsize, msg, msize, key, "unknown field");
            goto done;
        }
    }
    if (!json_object_get(o, "video_id") == !json_object_get(o, "channel_id")) {
        eb_bc_fail(field, fsize, msg, msize, "video_id", "give video_id or channel_id (one)");
        goto done;
    }
    out->kind = json_object_get(o, "video_id") ? EB_BEACON_VIDEO : EB_BEACON_CHANNEL;
    key = out->kind == EB_BEACON_VIDEO ? "video_id" : "channel_id";
    s = json_string_value(json_object_get(o, key));
    if (!s || !eb_bc_token(s, 1, 128, "_-")) {
        eb_bc_fail(field, fsize, msg, msize, key, "must be an id (1 to 128 of A-Z a-z 0-9 _ -)");
        goto done;
    }
    snprintf(out->target, sizeof(out->target), "%s", s);
    s = json_string_value(json_object_get(o, "session_id"));
    if (!s || !eb_bc_token(s, 8, 64, "_-")) {
        eb_bc_fail(field, fsize, msg, msize, "session_id",
                   "must be 8 to 64 of A-Z a-z 0-9 _ - (the player's random id)");
        goto done;
    }
    snprintf(out->session, sizeof(out->session), "%s", s);
    s = json_string_value(json_object_get(o, "event"));
    for (out->event = 0; s && out->event < EB_BEACON_NB_EVENTS; out->event++)
        if (!strcmp(s, eb_beacon_event_names[out->event]))
            break;
    if (!s || out->event == EB_BEACON_NB_EVENTS) {
        eb_bc_fail(field, fsize, msg, msize, "event",
                   "must be start, heartbeat, rebuffer, switch, error or end");
        goto done;
    }
    if ((v = json_object_get(o, "rendition"))) {
        s = json_string_value(v);
        if (!s || !eb_bc_token(s, 1, 32, "_.-")) {
            eb_bc_fail(field, fsize, msg, msize, "rendition",
                       "must be a rung's name (1 to 32 of A-Z a-z 0-9 _ . -)");
            goto done;
        }
        snprintf(out->rendition, sizeof(out->rendition), "%s", s);
    }
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        if (eb_bc_number(o, numbers[i].key, numbers[i].max,
                         (double *)((char *)out + numbers[i].off), field, fsize, msg, msize) < 0)
            goto done;
    if ((v = json_object_get(o, "error"))) {
        s = json_string_value(v);
        if (!s || strlen(s) > 256) {
            eb_bc_fail(field, fsize, msg, msize, "error", "must be a text of at most 256 bytes");
            goto done;
        }
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                eb_bc_fail(field, fsize, msg, msize, "error", "must not hold control characters");
                goto done;
            }
        snprintf(out->error, sizeof(out->error), "%s", s);
    }
    ret = 0;
done:
    json_decref(o);
    return ret;
}

/* ---- the tables ----------------------------------------------------------- */

typedef struct EbBcRendition {
    char name[33];
    double watched_s, rebuffers, rebuffer_s;
} EbBcRendition;

typedef struct EbBcMinute {
    int64_t minute; /* Unix minutes; 0: empty */
    double watched_s[EB_BEACON_MAX_RENDITIONS + 1];
    double rebuffers, rebuffer_s;
} EbBcMinute;

/* The head every table entry starts with (eb_bc_slot). */
typedef struct EbBcHead {
    uint64_t hash; /* of the key; 0: a free entry */
    double heard;  /* when last heard: the least recent goes first */
} EbBcHead;

typedef struct EbBcTarget {
    uint64_t hash;
    double heard; /* Unix seconds */
    EbBeaconKind kind;
    char id[129];
    int64_t sessions, errors;
    double startup_ms_sum, switches, latency_sum, latency_last;
    int64_t startup_count, latency_count;
    char last_error[257];
    int nb_rend;
    EbBcRendition rend[EB_BEACON_MAX_RENDITIONS + 1]; /* the last: "other" */
    EbBcMinute minutes[EB_BEACON_MINUTES];
} EbBcTarget;

typedef struct EbBcSession {
    uint64_t hash;
    double heard;                                       /* Unix seconds */
    char key[200];                                      /* kind, target and session id */
    double rebuffers, rebuffer_ms, switches, watched_s; /* the totals last reported */
    int startup_seen;
    char rendition[33]; /* the last one the session named */
} EbBcSession;

typedef struct EbBcClient {
    uint64_t hash;
    double heard; /* monotonic seconds: when the bucket was last filled */
    char addr[64];
    double tokens;
} EbBcClient;

struct EbBeacons {
    pthread_mutex_t lock;
    EbBcTarget *targets;
    EbBcSession *sessions;
    EbBcClient *clients;
    int64_t accepted, refused[4];
};

static const char *const eb_bc_refusals[4] = {"invalid", "unknown", "limited", "too_large"};

static uint64_t eb_bc_hash(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = a; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = b ? b : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h ? h : 1;
}

int eb_beacons_open(EbBeacons **out)
{
    EbBeacons *b = calloc(1, sizeof(*b));

    *out = NULL;
    if (!b)
        return EB_ERR(ENOMEM);
    b->targets = calloc(EB_BEACON_MAX_TARGETS, sizeof(*b->targets));
    b->sessions = calloc(EB_BEACON_MAX_SESSIONS, sizeof(*b->sessions));
    b->clients = calloc(EB_BEACON_MAX_CLIENTS, sizeof(*b->clients));
    if (!b->targets || !b->sessions || !b->clients) {
        eb_beacons_close(&b);
        return EB_ERR(ENOMEM);
    }
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return 0;
}

void eb_beacons_close(EbBeacons **pb)
{
    EbBeacons *b = pb ? *pb : NULL;

    if (!b)
        return;
    if (b->targets && b->sessions && b->clients)
        pthread_mutex_destroy(&b->lock);
    free(b->targets);
    free(b->sessions);
    free(b->clients);
    free(b);
    *pb = NULL;
}

/* The index in arr (n entries of stride bytes, each starting with an
 * EbBcHead) of the entry whose hash is h and for which same(entry, key),
 * with *found 1; else of a free entry, else of the least recently heard
 * (the caller clears it), with *found 0. Lock held. */
static int eb_bc_slot(void *arr, size_t stride, int n, uint64_t h,
                      int (*same)(const void *entry, const void *key), const void *key, int *found)
{
    int free_ = -1, oldest = 0;

#define EB_BC_AT(k) ((const EbBcHead *)((const char *)arr + (size_t)(k)*stride))
    for (int i = 0; i < n; i++) {
        const EbBcHead *e = EB_BC_AT(i);
        if (e->hash == h && same(e, key)) {
            *found = 1;
            return i;
        }
        if (!e->hash) {
            if (free_ < 0)
                free_ = i;
        } else if (e->heard < EB_BC_AT(oldest)->heard) {
            oldest = i;
        }
    }
#undef EB_BC_AT
    *found = 0;
    return free_ >= 0 ? free_ : oldest;
}

static int eb_bc_same_client(const void *e, const void *key)
{
    return !strcmp(((const EbBcClient *)e)->addr, key);
}

static int eb_bc_same_session(const void *e, const void *key)
{
    return !strcmp(((const EbBcSession *)e)->key, key);
}

static int eb_bc_same_target(const void *e, const void *key)
{
    const EbBcTarget *t = e;
    const EbBeacon *bc = key;
    return t->kind == bc->kind && !strcmp(t->id, bc->target);
}

int eb_beacons_admit(EbBeacons *b, const char *client, double now, double *retry_after)
{
    uint64_t h = eb_bc_hash(client, NULL);
    EbBcClient *c;
    int found, i, ok;

    pthread_mutex_lock(&b->lock);
    i = eb_bc_slot(b->clients, sizeof(*b->clients), EB_BEACON_MAX_CLIENTS, h, eb_bc_same_client,
                   client, &found);
    c = &b->clients[i];
    if (!found) {
        memset(c, 0, sizeof(*c));
        c->hash = h;
        snprintf(c->addr, sizeof(c->addr), "%s", client);
        c->tokens = EB_BEACON_BURST;
        c->heard = now;
    }
    c->tokens += (now - c->heard) * EB_BEACON_RATE;
    if (c->tokens > EB_BEACON_BURST)
        c->tokens = EB_BEACON_BURST;
    c->heard = now;
    ok = c->tokens >= 1.0;
    if (ok)
        c->tokens -= 1.0;
    else if (retry_after)
        *retry_after = (1.0 - c->tokens) / EB_BEACON_RATE;
    if (!ok)
        b->refused[2]++;
    pthread_mutex_unlock(&b->lock);
    return ok;
}

void eb_beacons_refused(EbBeacons *b, const char *why)
{
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < 4; i++)
        if (!strcmp(why, eb_bc_refusals[i]))
            b->refused[i]++;
    pthread_mutex_unlock(&b->lock);
}

/* What grew of a session total: the increase, or the whole new value when
 * it went down (the player started counting again). */
static double eb_bc_delta(double now_total, double *last)
{
    double d;

    if (now_total < 0)
        return 0;
    d = now_total >= *last ? now_total - *last : now_total;
    *last = now_total;
    return d;
}

/* The rendition's counters in t, made when new ("other" past the limit). */
static int eb_bc_rendition(EbBcTarget *t, const char *name)
{
    if (!name[0])
        name = "unknown";
    for (int i = 0; i < t->nb_rend; i++)
        if (!strcmp(t->rend[i].name, name))
            return i;
    if (t->nb_rend < EB_BEACON_MAX_RENDITIONS) {
        snprintf(t->rend[t->nb_rend].name, sizeof(t->rend[0].name), "%s", name);
        return t->nb_rend++;
    }
    snprintf(t->rend[EB_BEACON_MAX_RENDITIONS].name, sizeof(t->rend[0].name), "other");
    return EB_BEACON_MAX_RENDITIONS;
}

void eb_beacons_add(EbBeacons *b, const EbBeacon *bc, double now)
{
    char skey[200];
    uint64_t th = eb_bc_hash(bc->kind == EB_BEACON_VIDEO ? "v" : "c", bc->target), sh;
    EbBcTarget *t;
    EbBcSession *s;
    EbBcMinute *m;
    int found, i, r;
    int64_t minute = (int64_t)floor(now / 60);
    double watched, rebuffers, rebuffer_s;

    snprintf(skey, sizeof(skey), "%c/%s/%s", bc->kind == EB_BEACON_VIDEO ? 'v' : 'c', bc->target,
             bc->session);
    sh = eb_bc_hash(skey, NULL);
    pthread_mutex_lock(&b->lock);
    b->accepted++;
    i = eb_bc_slot(b->targets, sizeof(*b->targets), EB_BEACON_MAX_TARGETS, th, eb_bc_same_target,
                   bc, &found);
    t = &b->targets[i];
    if (!found) {
        memset(t, 0, sizeof(*t));
        t->hash = th;
        t->kind = bc->kind;
        snprintf(t->id, sizeof(t->id), "%s", bc->target);
    }
    t->heard = now;
    i = eb_bc_slot(b->sessions, sizeof(*b->sessions), EB_BEACON_MAX_SESSIONS, sh,
                   eb_bc_same_session, skey, &found);
    s = &b->sessions[i];
    if (!found) {
        memset(s, 0, sizeof(*s));
        s->hash = sh;
        snprintf(s->key, sizeof(s->key), "%s", skey);
        t->sessions++;
    }
    s->heard = now;
    if (bc->startup_ms >= 0 && !s->startup_seen) {
        s->startup_seen = 1;
        t->startup_ms_sum += bc->startup_ms;
        t->startup_count++;
    }
    watched = eb_bc_delta(bc->watched_s, &s->watched_s);
    rebuffers = eb_bc_delta(bc->rebuffers, &s->rebuffers);
    rebuffer_s = eb_bc_delta(bc->rebuffer_ms, &s->rebuffer_ms) / 1000.0;
    t->switches += eb_bc_delta(bc->switches, &s->switches);
    /* a beacon that names no rendition is of the one the session named last */
    if (bc->rendition[0])
        snprintf(s->rendition, sizeof(s->rendition), "%s", bc->rendition);
    r = -1;
    if (s->rendition[0] || watched > 0 || rebuffers > 0 || rebuffer_s > 0) {
        r = eb_bc_rendition(t, s->rendition);
        t->rend[r].watched_s += watched;
        t->rend[r].rebuffers += rebuffers;
        t->rend[r].rebuffer_s += rebuffer_s;
    }
    if (bc->event == EB_BEACON_ERROR) {
        t->errors++;
        snprintf(t->last_error, sizeof(t->last_error), "%s", bc->error);
    }
    if (bc->latency_s >= 0) {
        t->latency_sum += bc->latency_s;
        t->latency_count++;
        t->latency_last = bc->latency_s;
    }
    m = &t->minutes[minute % EB_BEACON_MINUTES];
    if (m->minute != minute) {
        memset(m, 0, sizeof(*m));
        m->minute = minute;
    }
    if (r >= 0)
        m->watched_s[r] += watched;
    m->rebuffers += rebuffers;
    m->rebuffer_s += rebuffer_s;
    pthread_mutex_unlock(&b->lock);
}

void eb_beacons_metrics(EbBeacons *b, FILE *f)
{
    static const char *const help[][3] = {
        {"encbox_player_sessions_total", "counter", "Viewing sessions players reported."},
        {"encbox_player_watched_seconds_total", "counter", "Seconds watched, by rendition."},
        {"encbox_player_rebuffers_total", "counter", "Stalls, by rendition."},
        {"encbox_player_rebuffer_seconds_total", "counter", "Seconds stalled, by rendition."},
        {"encbox_player_switches_total", "counter", "Rendition switches."},
        {"encbox_player_startup_seconds", "summary", "Load to first frame."},
        {"encbox_player_errors_total", "counter", "Playback errors players reported."},
        {"encbox_player_latency_seconds", "summary", "Live: behind the live edge."},
    };

    pthread_mutex_lock(&b->lock);
    fprintf(f, "# HELP encbox_beacons_total Player beacons, by what became of them.\n"
               "# TYPE encbox_beacons_total counter\n");
    fprintf(f, "encbox_beacons_total{result=\"accepted\"} %lld\n", (long long)b->accepted);
    for (int i = 0; i < 4; i++)
        fprintf(f, "encbox_beacons_total{result=\"%s\"} %lld\n", eb_bc_refusals[i],
                (long long)b->refused[i]);
    for (size_t k = 0; k < sizeof(help) / sizeof(help[0]); k++)
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", help[k][0], help[k][2], help[k][0], help[k][1]);
    for (int i = 0; i < EB_BEACON_MAX_TARGETS; i++) {
        const EbBcTarget *t = &b->targets[i];
        char l[160];
        if (!t->hash)
            continue;
        /* ids are [A-Za-z0-9_-]: nothing to escape in a label */
        snprintf(l, sizeof(l), "%s=\"%s\"", t->kind == EB_BEACON_VIDEO ? "video" : "channel",
                 t->id);
        fprintf(f, "encbox_player_sessions_total{%s} %lld\n", l, (long long)t->sessions);
        for (int r = 0; r <= EB_BEACON_MAX_RENDITIONS; r++) {
            const EbBcRendition *x = &t->rend[r];
            if (!x->name[0])
                continue;
            fprintf(f, "encbox_player_watched_seconds_total{%s,rendition=\"%s\"} %.3f\n", l,
                    x->name, x->watched_s);
            fprintf(f, "encbox_player_rebuffers_total{%s,rendition=\"%s\"} %.0f\n", l, x->name,
                    x->rebuffers);
            fprintf(f, "encbox_player_rebuffer_seconds_total{%s,rendition=\"%s\"} %.3f\n", l,
                    x->name, x->rebuffer_s);
        }
        fprintf(f, "encbox_player_switches_total{%s} %.0f\n", l, t->switches);
        fprintf(f, "encbox_player_startup_seconds_sum{%s} %.3f\n", l, t->startup_ms_sum / 1000);
        fprintf(f, "encbox_player_startup_seconds_count{%s} %lld\n", l,
                (long long)t->startup_count);
        fprintf(f, "encbox_player_errors_total{%s} %lld\n", l, (long long)t->errors);
        if (t->kind == EB_BEACON_CHANNEL) {
            fprintf(f, "encbox_player_latency_seconds_sum{%s} %.3f\n", l, t->latency_sum);
            fprintf(f, "encbox_player_latency_seconds_count{%s} %lld\n", l,
                    (long long)t->latency_count);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

json_t *eb_beacons_analytics(EbBeacons *b, EbBeaconKind kind, const char *target, double now)
{
    uint64_t h = eb_bc_hash(kind == EB_BEACON_VIDEO ? "v" : "c", target);
    json_t *o = json_object(), *rends = json_array(), *mins = json_array();
    const EbBcTarget *t = NULL;
    int64_t minute = (int64_t)floor(now / 60);

    if (!o || !rends || !mins) {
        json_decref(o);
        json_decref(rends);
        json_decref(mins);
        return NULL;
    }
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < EB_BEACON_MAX_TARGETS && !t; i++)
        if (b->targets[i].hash == h && b->targets[i].kind == kind &&
            !strcmp(b->targets[i].id, target))
            t = &b->targets[i];
    json_object_set_new(o, kind == EB_BEACON_VIDEO ? "video_id" : "channel_id",
                        json_string(target));
    json_object_set_new(o, "sessions", json_integer(t ? t->sessions : 0));
    json_object_set_new(o, "startup_ms_avg",
                        t && t->startup_count ? json_real(t->startup_ms_sum / t->startup_count)
                                              : json_null());
    json_object_set_new(o, "errors", json_integer(t ? t->errors : 0));
    json_object_set_new(o, "last_error",
                        t && t->last_error[0] ? json_string(t->last_error) : json_null());
    json_object_set_new(o, "switches", json_integer(t ? (json_int_t)t->switches : 0));
    json_object_set_new(o, "latency_s_avg",
                        t && t->latency_count ? json_real(t->latency_sum / t->latency_count)
                                              : json_null());
    json_object_set_new(o, "latency_s_last",
                        t && t->latency_count ? json_real(t->latency_last) : json_null());
    for (int r = 0; t && r <= EB_BEACON_MAX_RENDITIONS; r++)
        if (t->rend[r].name[0])
            json_array_append_new(rends, json_pack("{s:s, s:f, s:f, s:f}", "name", t->rend[r].name,
                                                   "watched_s", t->rend[r].watched_s, "rebuffers",
                                                   t->rend[r].rebuffers, "rebuffer_s",
                                                   t->rend[r].rebuffer_s));
    /* the last EB_BEACON_MINUTES minutes, oldest first, the empty ones left out */
    for (int64_t k = minute - EB_BEACON_MINUTES + 1; t && k <= minute; k++) {
        const EbBcMinute *m = &t->minutes[k % EB_BEACON_MINUTES];
        json_t *w;
        if (m->minute != k)
            continue;
        w = json_object();
        for (int r = 0; r <= EB_BEACON_MAX_RENDITIONS; r++)
            if (t->rend[r].name[0] && m->watched_s[r] > 0)
                json_object_set_new(w, t->rend[r].name, json_real(m->watched_s[r]));
        json_array_append_new(mins, json_pack("{s:I, s:o, s:f, s:f}", "t", (json_int_t)(k * 60),
                                              "watched_s", w, "rebuffers", m->rebuffers,
                                              "rebuffer_s", m->rebuffer_s));
    }
    pthread_mutex_unlock(&b->lock);
    json_object_set_new(o, "renditions", rends);
    json_object_set_new(o, "minutes", mins);
    return o;
}
