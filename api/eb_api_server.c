/*
 * `encbox serve`: the control API and the origin on libmicrohttpd.
 *
 *   GET  /v1/health                 no token
 *   GET  /v1/time                   no token: the box's UTC clock (ISO 8601), the
 *                                   live MPDs' UTCTiming source (players sync to it)
 *   GET  /v1/devices                backends, HAL inventory, sessions and limits
 *   GET  /v1/boxes                  every box sharing the job database (eb_jobs_boxes)
 *   GET  /v1/webhooks[?limit=]      the webhook deliveries, latest first (eb_webhooks.h)
 *   POST /v1/jobs                   queue a job (validated here, run by eb_jobs)
 *   GET  /v1/jobs[?state=&limit=&offset=]
 *   GET  /v1/jobs/{id}
 *   DELETE /v1/jobs/{id}            cancel
 *   POST /v1/uploads                raw body streamed to the upload folder
 *   GET  /v1/uploads                the finished uploads (never a partial one)
 *   POST /v1/channels               create a live channel (eb_channels)
 *   GET  /v1/channels
 *   GET  /v1/channels/{id or name}
 *   DELETE /v1/channels/{id or name}  end it (its worker is stopped)
 *   GET  /metrics                   Prometheus text
 *   GET  /videos/...                the storage tree (Range, ETag, caching, CORS)
 *   GET  /s/<expiry>/<hmac>/videos/<id>/...   the same, signed
 *   POST /videos/<id>/license       ClearKey license (eb_license.h): the API
 *   GET  /videos/<id>/keys/<kid>    token, or the same through a signed link;
 *                                   never a file of the tree; audited in /metrics
 *   POST /live/<channel>/license     the same for a protected channel (token only)
 *   GET  /live/<channel>/keys/<kid>
 *   GET  /live/<channel>/...        a channel's window; LL-HLS blocking reload,
 *                                   delta updates and preload-hinted parts
 *                                   ("held requests" below), a segment being
 *                                   written streamed as it grows (LL-DASH)
 *
 * HTTP threads (MHD's pool) only validate, touch SQLite briefly and read
 * files; media work happens in worker processes (eb_jobs). Every /v1 call
 * but health needs `Authorization: Bearer <token>` when token files are
 * configured; tokens are compared in constant time and never logged.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>

#include <libavutil/bprint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eb_api.h"
#include "eb_api_devices.h"
#include "eb_license.h"
#include "eb_channel_runs.h"
#include "eb_net.h"
#include "eb_beacons.h"
#include "eb_ws.h"
#include "eb_chat.h"
#include "eb_channels.h"
#include "eb_clock.h"
#include "eb_config.h"
#include "eb_error.h"
#include "eb_hal.h"
#include "eb_job_request.h"
#include "eb_jobs.h"
#include "eb_layout.h"
#include "eb_llhls.h"
#include "eb_log.h"
#include "eb_s3.h"
#include "eb_sql.h"
#include "eb_storage.h"
#include "eb_webhooks.h"

/* The origin serves the layout's videos folder under the same name. */
#define EB_ORIGIN_VIDEOS "/" EB_LAYOUT_VIDEOS_DIR "/"
#define EB_ORIGIN_LIVE "/" EB_LAYOUT_LIVE_DIR "/"

#define EB_API_MAX_JSON (1 << 20) /* request bodies other than uploads */
#define EB_API_MAX_TOKENS 64
#define EB_API_MAX_ROOTS 64
/* Default of `encbox serve --upload-retention`: how long an upload no
 * queued or running job needs is kept (see eb_jobs.c, "Uploads"). */
#define EB_API_UPLOAD_RETENTION_S (24 * 3600)

/* ---- held requests (LL-HLS), the types ------------------------------------
 * See "held requests" below for how they work. */

/* A watched folder of the live tree and the requests waiting on it. */
typedef struct EbWatchDir {
    struct EbWatchDir *next;
    int wd;                 /* inotify watch descriptor */
    char *path;             /* absolute, resolved */
    struct EbHold *waiters; /* doubly linked through EbHold.prev/next */
    uint64_t idle_since_ns; /* when its last waiter left (eb_clock_ns) */
} EbWatchDir;

/* Why the watcher resumed a held request. */
enum { EB_WAKE_NONE = 0, EB_WAKE_CHANGED, EB_WAKE_TIMEOUT, EB_WAKE_GONE, EB_WAKE_STOP };

/* One held request: part of its EbReq (no allocation of its own), linked
 * in its folder's list while its connection is suspended. */
typedef struct EbHold {
    struct EbHold *prev, *next;
    EbWatchDir *dir; /* NULL: not held now */
    struct MHD_Connection *conn;
    int fd;               /* the client's socket: hang-ups are looked for */
    char name[64];        /* the file in dir it waits for */
    int prefix;           /* 1: any file whose name starts with name */
    EbLlhlsRequest rq;    /* a playlist's directives; rq.has_msn 0: a part file */
    uint64_t deadline_ns; /* set when first held: 3 target durations */
    int wake;             /* EB_WAKE_*: why it was resumed */
} EbHold;

/* The watcher: one thread, one inotify descriptor, every held request. */
typedef struct EbHolds {
    pthread_mutex_t lock; /* everything below; taken before libmicrohttpd's own locks */
    pthread_t thread;
    int started;
    int ifd; /* inotify */
    int efd; /* eventfd: a first waiter (timer on) or the stop */
    int stopping;
    int nb, max; /* held now, and the bound (503 beyond) */
    EbWatchDir *dirs;
    int64_t held_total, timeouts_total, refused_total;
} EbHolds;

typedef struct EbApi {
    EbConfig cfg;
    char storage[PATH_MAX]; /* realpath of the storage root */
    char videos[PATH_MAX];  /* realpath of <storage>/videos */
    char live[PATH_MAX];    /* <storage>/live: the channels' windows */
    char uploads[PATH_MAX];
    char work[PATH_MAX]; /* <storage>/.api: worker logs, inline ladders */
    char db[PATH_MAX];   /* jobs: a SQLite path or a PostgreSQL URL */
    char box_address[300];      /* where this box's API answers (GET /v1/boxes) */
    EbWebhooks *webhooks;       /* NULL: webhooks.url unset */
    char object_base[2048];     /* storage.s3: the bucket's URL for players (EbJobsConfig) */
    int nb_roots;
    char *roots[EB_API_MAX_ROOTS];          /* realpaths of the input roots */
    const char *backends[EB_API_MAX_ROOTS]; /* names of this build's backends, NULL-terminated */
    const char *worker_roots[EB_API_MAX_ROOTS + 2]; /* uploads + roots, NULL-terminated */
    /* Secrets, replaced whole on SIGHUP (a rotation is the point): handlers
     * read them under the read lock, the reload swaps them under the write
     * lock. */
    pthread_rwlock_t secrets_lock;
    int nb_tokens;
    char *tokens[EB_API_MAX_TOKENS];
    unsigned char sign_key[256];
    size_t sign_key_len;   /* 0: links are unsigned, /videos is open */
    int tokens_from_flags; /* --token-file given: reload re-reads those files */
    int nb_token_paths;
    char *token_paths[EB_API_MAX_TOKENS];
    int public_listen; /* some listening address is not loopback */
    EbJobs *jobs;
    EbChannels *channels;
    EbBeacons *beacons;              /* players' analytics (eb_beacons.h) */
    EbWs *ws;                        /* the WebSocket hub: GET /v1/events (eb_ws.h) */
    EbChat *chat;                    /* the channels' chat, on the hub (eb_chat.h) */
    EbS3 s3;                         /* storage.s3, when has_s3: other boxes' live windows */
    int has_s3;
    char console[PATH_MAX];          /* the web console's files (realpath); "": none */
    json_t *capacity;                /* limits.bench_report's figures; NULL: none */
    double live_mpixels;             /* the live capacity in force (see eb_api_box_info) */
    const char *live_mpixels_source; /* where it comes from */
    EbChannelRuns *runs;  /* NULL: SRT ingest off */
    char srt_public[300]; /* HOST:PORT publishers dial; "": SRT ingest off */
    char rtmp_public[300];
    EbApiDevices *devices;
    pthread_mutex_t stats_lock;
    int64_t requests[6]; /* by status class: 1xx..5xx (index 1..5) */
    int64_t by_code[600];
    int64_t upload_retention; /* seconds; 0: uploads are never removed */
    EbHolds holds;            /* LL-HLS blocking requests */
    char key_store[PATH_MAX]; /* "keys" beside the job database (eb_keys.h) */
    /* key endpoint requests (stats_lock): [license, key][EbKeyResult] */
    int64_t key_requests[2][4];
} EbApi;

enum { EB_KEY_GRANTED, EB_KEY_UNAUTHORIZED, EB_KEY_NOT_FOUND, EB_KEY_BAD_REQUEST };
static const char *const eb_key_result_names[] = {"granted", "unauthorized", "not_found",
                                                  "bad_request"};

/* Per-request state, from MHD's first call to the completion callback. */
typedef struct EbReq {
    int authed;
    char *body;
    size_t len, cap;
    int too_big;
    int upload_fd; /* POST /v1/uploads: the .part file */
    char upload_id[EB_UPLOAD_ID_LEN + 1];
    int64_t upload_size;
    gnutls_hash_hd_t sha;
    int sha_open;
    int upload_failed;
    EbHold hold; /* a live playlist or part request held for LL-HLS */
    char ws_topic[EB_WS_TOPIC_MAX]; /* a WebSocket's topic, for the upgrade handler */
    int ws_flags;
} EbReq;

/* ---- responses ------------------------------------------------------- */

/* CORS per api.cors_origins: a listed Origin (or any, with "*") is echoed.
 * With no list, only the media tree is open to every origin (see
 * eb_cors_media); the API then answers same-origin callers only. */
static void eb_cors(EbApi *api, struct MHD_Connection *c, struct MHD_Response *r)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const EbStrList *l = &api->cfg.api_cors_origins;
    for (int i = 0; origin && i < l->nb; i++)
        if (!strcmp(l->items[i], "*") || !strcmp(l->items[i], origin)) {
            MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
            MHD_add_response_header(r, "Vary", "Origin");
            return;
        }
}

static void eb_cors_media(EbApi *api, struct MHD_Response *r)
{
    if (api->cfg.api_cors_origins.nb == 0)
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
}

static enum MHD_Result eb_queue(EbApi *api, struct MHD_Connection *c, unsigned code,
                                struct MHD_Response *r)
{
    enum MHD_Result ret;
    eb_cors(api, c, r);
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    pthread_mutex_lock(&api->stats_lock);
    if (code < 600) {
        api->by_code[code]++;
        api->requests[code / 100]++;
    }
    pthread_mutex_unlock(&api->stats_lock);
    return ret;
}

/* o as an uncacheable JSON response (takes ownership of o); NULL when out
 * of memory. */
static struct MHD_Response *eb_json_response(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    struct MHD_Response *r;
    json_decref(o);
    if (!text)
        return NULL;
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return r;
}

/* Takes ownership of o. */
static enum MHD_Result eb_reply_json(EbApi *api, struct MHD_Connection *c, unsigned code, json_t *o)
{
    struct MHD_Response *r = eb_json_response(o);
    return r ? eb_queue(api, c, code, r) : MHD_NO;
}

/* An error answer: {"error": {"message", "status", "field"?}}. media: an
 * answer of the origin's media tree (/videos, /live, /s: the media CORS
 * header, so a player's script can read the status; a 503 says when to
 * try again). Called as eb_reply_error or eb_reply_media_error. */
static enum MHD_Result eb_reply_err(EbApi *api, struct MHD_Connection *c, unsigned code, int media,
                                    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result eb_reply_err(EbApi *api, struct MHD_Connection *c, unsigned code, int media,
                                    const char *field, const char *fmt, ...)
{
    char msg[512];
    struct MHD_Response *r;
    va_list ap;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o = json_pack("{s:{s:s, s:i}}", "error", "message", msg, "status", (int)code);
    if (field)
        json_object_set_new(json_object_get(o, "error"), "field", json_string(field));
    r = eb_json_response(o);
    if (!r)
        return MHD_NO;
    if (code == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"encbox\"");
    if (media) {
        eb_cors_media(api, r);
        if (code == 503 || code == 429)
            MHD_add_response_header(r, "Retry-After", "1");
    }
    return eb_queue(api, c, code, r);
}

#define eb_reply_error(api, c, code, ...) eb_reply_err(api, c, code, 0, __VA_ARGS__)
#define eb_reply_media_error(api, c, code, ...) eb_reply_err(api, c, code, 1, __VA_ARGS__)

static enum MHD_Result eb_reply_text(EbApi *api, struct MHD_Connection *c, unsigned code,
                                     const char *type, char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    return eb_queue(api, c, code, r);
}

/* ---- auth ----------------------------------------------------------- */

/* Constant time in the token's length: every byte of the longer of the two
 * is looked at whatever matches. */
static int eb_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
    return diff == 0;
}

/* 1 when token (NULL: none given) opens the API: one of the configured
 * tokens, or any when none is configured (a loopback-only daemon). */
static int eb_token_ok(EbApi *api, const char *token)
{
    int ok = 0;

    pthread_rwlock_rdlock(&api->secrets_lock);
    if (api->nb_tokens == 0) {
        ok = 1;
    } else if (token) {
        for (int i = 0; i < api->nb_tokens; i++)
            ok |= eb_token_equal(token, api->tokens[i]);
    }
    pthread_rwlock_unlock(&api->secrets_lock);
    return ok;
}

static int eb_auth_ok(EbApi *api, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return eb_token_ok(api, h && !strncasecmp(h, "Bearer ", 7) ? h + 7 : NULL);
}

/* EbWsConfig.token_ok: the first message of an events socket. */
static int eb_ws_token_ok(void *opaque, const char *token)
{
    return eb_token_ok(opaque, token);
}

/* A whole PEM file as a NUL-terminated string (what libmicrohttpd's TLS
 * options take); NULL if unreadable or over 1 MiB. */
static char *eb_read_pem(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    *len = 0;
    if (!f)
        return NULL;
    buf = malloc((1 << 20) + 1);
    if (buf) {
        n = fread(buf, 1, 1 << 20, f);
        if (n == 0 || n == (1 << 20)) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = n;
        }
    }
    fclose(f);
    return buf;
}

/* Appends the tokens of one file (one per line, '#' comments) to
 * tokens[*nb..]. -errno when it cannot be read (nothing appended). */
static int eb_read_tokens(const char *path, char **tokens, int *nb)
{
    char line[1024];
    FILE *f = fopen(path, "r");

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *s = line, *e;
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strcspn(s, "\r\n");
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        *e = 0;
        if (!*s || *s == '#')
            continue;
        if (*nb == EB_API_MAX_TOKENS)
            break;
        tokens[(*nb)++] = strdup(s);
    }
    explicit_bzero(line, sizeof(line));
    fclose(f);
    return 0;
}

static void eb_free_tokens(char **tokens, int nb)
{
    for (int i = 0; i < nb; i++) {
        if (tokens[i]) {
            explicit_bzero(tokens[i], strlen(tokens[i]));
            free(tokens[i]);
        }
        tokens[i] = NULL;
    }
}

/* The signing key file's bytes (trailing newline dropped) into key;
 * returns the length, or -1 when it cannot be read or is empty. */
static ssize_t eb_read_key(const char *path, unsigned char *key, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, key, size);

    if (fd >= 0)
        close(fd);
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--;
    return n > 0 ? n : -1;
}

/* The signing key as it is now (copied out under the lock); 0: none. */
static size_t eb_key_get(EbApi *api, unsigned char *key)
{
    size_t n;

    pthread_rwlock_rdlock(&api->secrets_lock);
    n = api->sign_key_len;
    memcpy(key, api->sign_key, n);
    pthread_rwlock_unlock(&api->secrets_lock);
    return n;
}

/* ---- jobs ------------------------------------------------------------- */

static void eb_hex(const unsigned char *in, size_t n, char *out);

/* With a signing key, the URLs of video vid in out (an object of URLs)
 * become signed links valid for api.link_lifetime:
 * /s/<expiry>/<hmac>/videos/<id>/... */
static void eb_sign_urls(EbApi *api, json_t *out, const char *vid)
{
    const char *key;
    json_t *v;
    char msg[128], hex[65], url[1024];
    unsigned char mac[32], skey[256];
    long long expiry = (long long)time(NULL) + api->cfg.api_link_lifetime;
    size_t klen = eb_key_get(api, skey);

    if (!klen || !json_is_object(out) || !vid)
        return;
    snprintf(msg, sizeof(msg), "%lld/%s", expiry, vid);
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, skey, klen, msg, strlen(msg), mac) < 0) {
        explicit_bzero(skey, sizeof(skey));
        return;
    }
    explicit_bzero(skey, sizeof(skey));
    eb_hex(mac, sizeof(mac), hex);
    json_object_foreach(out, key, v)
    {
        const char *u = json_string_value(v), *p = u ? strstr(u, EB_ORIGIN_VIDEOS) : NULL;
        if (!p)
            continue;
        snprintf(url, sizeof(url), "%.*s/s/%lld/%s%s", (int)(p - u), u, expiry, hex, p);
        json_object_set_new(out, key, json_string(url));
    }
}

/* A finished job's output URLs, signed as eb_sign_urls says. */
static void eb_sign_outputs(EbApi *api, json_t *job)
{
    eb_sign_urls(api, json_object_get(job, "encryption"),
                 json_string_value(json_object_get(job, "video_id")));
    eb_sign_urls(api, json_object_get(job, "outputs"),
                 json_string_value(json_object_get(job, "video_id")));
}

static enum MHD_Result eb_jobs_post(EbApi *api, struct MHD_Connection *c, EbReq *q)
{
    EbJobRequestContext ctx = {.cfg = &api->cfg,
                               .uploads = api->uploads,
                               .roots = (const char *const *)api->roots,
                               .nb_roots = api->nb_roots,
                               .backends = api->backends};
    EbJobRequestError err;
    EbJobSpec spec;
    json_t *job = NULL;
    int ret;

    if (q->too_big)
        return eb_reply_error(api, c, 413, NULL, "body larger than %d bytes", EB_API_MAX_JSON);
    eb_job_spec_init(&spec);
    if (eb_job_request_parse(&ctx, q->body, q->len, &spec, &err) < 0) {
        eb_job_spec_clear(&spec);
        return eb_reply_error(api, c, err.status ? err.status : 500,
                              err.field[0] ? err.field : NULL, "%s", err.message);
    }
    ret = eb_jobs_submit(api->jobs, &spec, &job);
    eb_job_spec_clear(&spec);
    if (ret == -EEXIST)
        return eb_reply_error(api, c, 409, "video_id",
                              "video_id: already published or in use by a job "
                              "(set overwrite to replace a published video)");
    if (ret == -ENOENT) /* the upload clean-up removed it since the check */
        return eb_reply_error(api, c, 400, "input", "input: no such upload");
    if (ret < 0 || !job)
        return eb_reply_error(api, c, 500, NULL, "cannot queue the job");
    return eb_reply_json(api, c, 201, job);
}

static int eb_parse_int(const char *s, int def, int min, int max, int *out)
{
    char *end;
    long v;
    if (!s) {
        *out = def;
        return 0;
    }
    v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static enum MHD_Result eb_jobs_route(EbApi *api, struct MHD_Connection *c, const char *method,
                                     const char *rest, EbReq *q)
{
    json_t *o = NULL;
    int ret;

    if (!*rest) {
        if (!strcmp(method, "POST"))
            return eb_jobs_post(api, c, q);
        if (!strcmp(method, "GET")) {
            const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
            int limit, offset, ok = 0;
            if (state) {
                for (int i = 0; i < EB_JOB_NB_STATES; i++)
                    ok |= !strcmp(state, eb_job_state_names[i]);
                if (!ok)
                    return eb_reply_error(api, c, 400, "state",
                                          "state: one of queued, running, succeeded, failed, "
                                          "canceled");
            }
            if (eb_parse_int(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), 50, 1,
                             1000, &limit) < 0)
                return eb_reply_error(api, c, 400, "limit", "limit: an integer, 1 to 1000");
            if (eb_parse_int(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset"), 0, 0,
                             INT_MAX, &offset) < 0)
                return eb_reply_error(api, c, 400, "offset", "offset: an integer, 0 or more");
            if (eb_jobs_list(api->jobs, state, limit, offset, &o) < 0)
                return eb_reply_error(api, c, 500, NULL, "cannot list jobs");
            for (size_t i = 0; i < json_array_size(json_object_get(o, "jobs")); i++)
                eb_sign_outputs(api, json_array_get(json_object_get(o, "jobs"), i));
            return eb_reply_json(api, c, 200, o);
        }
        return eb_reply_error(api, c, 405, NULL, "method not allowed");
    }
    if (rest[0] != '/' || strchr(rest + 1, '/') || strlen(rest + 1) > 64)
        return eb_reply_error(api, c, 404, NULL, "no such job");
    rest++;
    if (!strcmp(method, "GET")) {
        if (eb_jobs_get(api->jobs, rest, &o) < 0)
            return eb_reply_error(api, c, 404, NULL, "no such job");
        eb_sign_outputs(api, o);
        return eb_reply_json(api, c, 200, o);
    }
    if (!strcmp(method, "DELETE")) {
        ret = eb_jobs_cancel(api->jobs, rest, &o);
        if (ret == -ENOENT)
            return eb_reply_error(api, c, 404, NULL, "no such job");
        if (ret == -EALREADY) {
            json_decref(o);
            return eb_reply_error(api, c, 409, NULL, "the job has already ended");
        }
        return eb_reply_json(api, c, 202, o);
    }
    return eb_reply_error(api, c, 405, NULL, "method not allowed");
}

/* ---- channels ----------------------------------------------------------- */

/* 405 naming the methods the resource has (Allow). */
static enum MHD_Result eb_reply_not_allowed(EbApi *api, struct MHD_Connection *c, const char *allow)
{
    json_t *o =
        json_pack("{s:{s:s, s:i}}", "error", "message", "method not allowed", "status", 405);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    struct MHD_Response *r;

    json_decref(o);
    if (!text)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Allow", allow);
    return eb_queue(api, c, 405, r);
}

/* A channel's recordings are published videos: with a signing key their
 * links come signed like a job's outputs. */
static void eb_sign_channel(EbApi *api, json_t *view)
{
    json_t *rec;
    size_t i;

    json_array_foreach(json_object_get(view, "recordings"), i, rec)
    {
        eb_sign_urls(api, json_object_get(rec, "outputs"),
                     json_string_value(json_object_get(rec, "id")));
    }
}

static enum MHD_Result eb_channels_post(EbApi *api, struct MHD_Connection *c, EbReq *q)
{
    EbChannelSpec spec;
    EbJobRequestError err;
    json_t *view = NULL;
    int ret;

    if (q->too_big)
        return eb_reply_error(api, c, 413, NULL, "body larger than %d bytes", EB_API_MAX_JSON);
    if (eb_channel_request_parse(&api->cfg, q->body, q->len, &spec, &err) < 0)
        return eb_reply_error(api, c, err.status ? err.status : 500,
                              err.field[0] ? err.field : NULL, "%s", err.message);
    ret = eb_channels_create(api->channels, &spec, &view);
    explicit_bzero(&spec, sizeof(spec));
    if (ret == -EEXIST)
        return eb_reply_error(api, c, 409, "name",
                              "name: a channel that has not ended has this name (end it with "
                              "DELETE, or choose another)");
    if (ret < 0 || !view)
        return eb_reply_error(api, c, 500, NULL, "cannot create the channel");
    return eb_reply_json(api, c, 201, view);
}

static enum MHD_Result eb_chat_route(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                     const char *method, const char *channel, const char *item);

static enum MHD_Result eb_channels_route(EbApi *api, struct MHD_Connection *c, const char *method,
                                         const char *rest, EbReq *q)
{
    char id[sizeof(((EbChannelSpec *)0)->id)];
    json_t *o = NULL, *v;
    size_t i;
    int ret;

    if (!*rest) {
        if (!strcmp(method, "POST"))
            return eb_channels_post(api, c, q);
        if (!strcmp(method, "GET")) {
            if (eb_channels_list(api->channels, &o) < 0)
                return eb_reply_error(api, c, 500, NULL, "cannot list channels");
            json_array_foreach(o, i, v)
            {
                eb_sign_channel(api, v);
            }
            return eb_reply_json(api, c, 200, json_pack("{s:o}", "channels", o));
        }
        return eb_reply_not_allowed(api, c, "GET, POST");
    }
    {
        /* /{channel}/chat and /{channel}/chat/{item} */
        const char *slash = rest[0] == '/' ? strchr(rest + 1, '/') : NULL;
        char channel[EB_CHANNEL_NAME_MAX + 1];
        if (slash && slash > rest + 1 && (size_t)(slash - rest - 1) <= EB_CHANNEL_NAME_MAX &&
            !strncmp(slash, "/chat", 5) && (!slash[5] || slash[5] == '/')) {
            memcpy(channel, rest + 1, (size_t)(slash - rest - 1));
            channel[slash - rest - 1] = '\0';
            return eb_chat_route(api, c, q, method, channel, slash[5] ? slash + 6 : NULL);
        }
    }
    if (rest[0] != '/' || !rest[1] || strchr(rest + 1, '/') ||
        strlen(rest + 1) > EB_CHANNEL_NAME_MAX)
        return eb_reply_error(api, c, 404, NULL, "no such channel");
    rest++;
    if (!strcmp(method, "GET")) {
        if (eb_channels_get(api->channels, rest, &o) < 0)
            return eb_reply_error(api, c, 404, NULL, "no such channel");
        eb_sign_channel(api, o);
        return eb_reply_json(api, c, 200, o);
    }
    if (!strcmp(method, "DELETE")) {
        /* By id, or by name as GET finds it; an ended channel stays ended
         * (200 again: the client's intent holds). */
        if (eb_channels_get(api->channels, rest, &o) < 0)
            return eb_reply_error(api, c, 404, NULL, "no such channel");
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "id")));
        json_decref(o);
        o = NULL;
        ret = eb_channels_end(api->channels, id);
        if (ret == 0 || ret == -EALREADY)
            ret = eb_channels_get(api->channels, id, &o);
        if (ret < 0)
            return eb_reply_error(api, c, 500, NULL, "cannot end the channel");
        eb_sign_channel(api, o);
        return eb_reply_json(api, c, 200, o);
    }
    return eb_reply_not_allowed(api, c, "GET, DELETE");
}

EbChannels *eb_api_channels(EbApi *api)
{
    return api->channels;
}

/* ---- devices, health, metrics --------------------------------------- */

/* EbJobsConfig.box_info: what GET /v1/boxes says of this box beside its
 * heartbeat (backends, devices with their sessions, the job limit). */
static json_t *eb_api_box_info(void *opaque)
{
    EbApi *api = opaque;
    json_t *o = json_object(), *b = json_array();

    for (int i = 0; api->backends[i]; i++)
        json_array_append_new(b, json_string(api->backends[i]));
    json_object_set_new(o, "backends", b);
    json_object_set_new(o, "devices", eb_api_devices_json(api->devices));
    json_object_set_new(o, "max_jobs", json_integer(api->cfg.limits_max_jobs));
    /* What `encbox bench` measured on the box (limits.bench_report) */
    json_object_set_new(o, "capacity", api->capacity ? json_incref(api->capacity) : json_null());
    /* What the box carries live: live.capacity_mpixels, else what the
     * report measured (`encbox bench --live`), else the estimate. */
    json_object_set_new(o, "live_capacity",
                        json_pack("{s:f, s:s}", "mpixels_per_second", api->live_mpixels, "source",
                                  api->live_mpixels_source));
    /* The channels this box carries (their leases). */
    {
        json_t *list = NULL, *mine = json_array(), *v;
        size_t i;
        if (api->channels && eb_channels_list(api->channels, &list) == 0)
            json_array_foreach(list, i, v)
            {
                const char *st = json_string_value(json_object_get(v, "state"));
                const char *box = json_string_value(json_object_get(v, "box"));
                if (st && strcmp(st, "ended") && box && !strcmp(box, api->cfg.name))
                    json_array_append_new(mine, json_pack("{s:O, s:O, s:s}", "id",
                                                          json_object_get(v, "id"), "name",
                                                          json_object_get(v, "name"), "state", st));
            }
        json_decref(list);
        json_object_set_new(o, "channels", mine);
    }
    return o;
}

/* EbJobsConfig.on_event and EbChannelsConfig.on_event: to the webhooks. */
static void eb_api_event(void *opaque, const char *event, const json_t *data)
{
    EbApi *api = opaque;
    /* a running job's progress is for the console, not for integrators */
    if (strcmp(event, "job.updated"))
        eb_webhooks_emit(api->webhooks, event, data);
    if (api->ws && eb_ws_count(api->ws) > 0) {
        char *text = json_dumps(data, JSON_COMPACT);
        if (text)
            eb_ws_publish(api->ws, "events", event, text);
        free(text);
    }
}

static enum MHD_Result eb_webhooks_route(EbApi *api, struct MHD_Connection *c)
{
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    int limit = l ? atoi(l) : 50;
    json_t *o = NULL;
    if (limit < 1 || limit > 1000)
        return eb_reply_error(api, c, 400, "limit", "limit must be between 1 and 1000");
    if (eb_webhooks_list(api->webhooks, limit, &o) < 0)
        return eb_reply_error(api, c, 503, NULL, "the delivery record cannot be read");
    return eb_reply_json(api, c, 200, o);
}

static enum MHD_Result eb_boxes(EbApi *api, struct MHD_Connection *c)
{
    json_t *o = NULL;
    if (eb_jobs_boxes(api->jobs, &o) < 0)
        return eb_reply_error(api, c, 503, NULL, "the job database cannot be read");
    return eb_reply_json(api, c, 200, o);
}

static enum MHD_Result eb_devices(EbApi *api, struct MHD_Connection *c)
{
    json_t *o = eb_api_devices_json(api->devices);
    if (!o)
        return eb_reply_error(api, c, 500, NULL, "cannot list the devices");
    return eb_reply_json(api, c, 200, o);
}

/* EbJobsConfig.admit: device sessions for the job's ladder on the backend
 * it would run on (eb_api_devices_admit). The rung count is the ladder's;
 * rungs taller than the source are dropped by the worker, so this may ask
 * for a little more than the job takes, never less. */
static int eb_api_admit(void *opaque, const EbJobSpec *spec, char *why, size_t size)
{
    EbApi *api = opaque;
    const char *backend = spec->backend[0] ? spec->backend : api->cfg.jobs_backend;
    int rungs = 0;

    if (spec->ladder_inline) {
        rungs = spec->ladder.nb_rungs;
    } else {
        const EbLadder *l = eb_config_find_ladder(
            &api->cfg, spec->ladder_name[0] ? spec->ladder_name : api->cfg.jobs_ladder);
        rungs = l ? l->nb_rungs : 0;
    }
    if (rungs < 1)
        return 1; /* the worker reports what is wrong with the ladder */
    return eb_api_devices_admit(api->devices, backend, rungs, why, size);
}

/* DELETE ended a channel (EbChannelsConfig.on_end): its run stops and its
 * session is recorded at once. */
static void eb_api_channel_ended(void *opaque, const char *channel_id)
{
    EbApi *api = opaque;
    eb_channel_runs_end(api->runs, channel_id);
}

/* Chat viewers on this box, per channel that has some. */
static void eb_chat_viewers_metrics(EbApi *api, FILE *f)
{
    json_t *list = NULL, *v;
    size_t i;

    if (!api->ws || eb_ws_count(api->ws) == 0 || eb_channels_list(api->channels, &list) < 0)
        return;
    fprintf(f, "# HELP encbox_chat_viewers Chat sockets open on this box, per channel.\n"
               "# TYPE encbox_chat_viewers gauge\n");
    json_array_foreach(list, i, v)
    {
        char topic[EB_WS_TOPIC_MAX];
        int n;
        snprintf(topic, sizeof(topic), EB_CHAT_TOPIC_PREFIX "%s",
                 json_string_value(json_object_get(v, "id")));
        if ((n = eb_ws_topic_count(api->ws, topic)) > 0)
            fprintf(f, "encbox_chat_viewers{channel=\"%s\"} %d\n",
                    json_string_value(json_object_get(v, "name")), n);
    }
    json_decref(list);
}

static enum MHD_Result eb_metrics(EbApi *api, struct MHD_Connection *c)
{
    EbJobsStats s;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    if (!f)
        return MHD_NO;
    eb_jobs_stats(api->jobs, &s);
    fprintf(f, "# HELP encbox_jobs Jobs by state.\n# TYPE encbox_jobs gauge\n");
    for (int i = 0; i < EB_JOB_NB_STATES; i++)
        fprintf(f, "encbox_jobs{state=\"%s\"} %lld\n", eb_job_state_names[i],
                (long long)s.by_state[i]);
    fprintf(f,
            "# HELP encbox_frames_encoded_total Source frames encoded by jobs of this daemon.\n"
            "# TYPE encbox_frames_encoded_total counter\nencbox_frames_encoded_total %lld\n",
            (long long)s.frames_encoded);
    fprintf(f,
            "# HELP encbox_encode_fps Sum of the running jobs' frames per second.\n"
            "# TYPE encbox_encode_fps gauge\nencbox_encode_fps %.2f\n",
            s.encode_fps);
    fprintf(f,
            "# HELP encbox_worker_crashes_total Workers that died of a signal.\n"
            "# TYPE encbox_worker_crashes_total counter\nencbox_worker_crashes_total %lld\n",
            (long long)s.worker_crashes);
    fprintf(f,
            "# HELP encbox_watchdog_kills_total Workers killed for not reporting.\n"
            "# TYPE encbox_watchdog_kills_total counter\nencbox_watchdog_kills_total %lld\n",
            (long long)s.watchdog_kills);
    fprintf(f,
            "# HELP encbox_queue_depth Jobs queued, waiting for a worker.\n"
            "# TYPE encbox_queue_depth gauge\nencbox_queue_depth %lld\n",
            (long long)s.by_state[EB_JOB_QUEUED]);
    fprintf(f,
            "# HELP encbox_fallbacks_total Succeeded jobs that ran on another backend than the "
            "one asked for.\n"
            "# TYPE encbox_fallbacks_total counter\nencbox_fallbacks_total %lld\n",
            (long long)s.fallbacks);
    fprintf(f, "# HELP encbox_rung_frames_encoded_total Frames encoded per rung by the jobs "
               "of this daemon, running or ended.\n"
               "# TYPE encbox_rung_frames_encoded_total counter\n");
    for (int i = 0; i < s.nb_rungs; i++)
        fprintf(f, "encbox_rung_frames_encoded_total{rung=\"%s\"} %lld\n", s.rungs[i].name,
                (long long)s.rungs[i].frames);
    fprintf(f,
            "# HELP encbox_uploads_removed_total Uploads deleted by the clean-up.\n"
            "# TYPE encbox_uploads_removed_total counter\nencbox_uploads_removed_total %lld\n",
            (long long)s.uploads_removed);
    eb_api_devices_metrics(api->devices, f);
    eb_channel_runs_metrics(api->runs, f);
    eb_beacons_metrics(api->beacons, f);
    eb_chat_metrics(api->chat, f);
    eb_chat_viewers_metrics(api, f);
    if (api->webhooks) {
        int64_t n[3];
        if (eb_webhooks_counts(api->webhooks, n) == 0)
            fprintf(f,
                    "# HELP encbox_webhook_deliveries Webhook events recorded, by delivery "
                    "state.\n# TYPE encbox_webhook_deliveries gauge\n"
                    "encbox_webhook_deliveries{state=\"pending\"} %lld\n"
                    "encbox_webhook_deliveries{state=\"delivered\"} %lld\n"
                    "encbox_webhook_deliveries{state=\"failed\"} %lld\n",
                    (long long)n[0], (long long)n[1], (long long)n[2]);
    }
    fprintf(f, "# HELP encbox_api_requests_total API responses by status code.\n"
               "# TYPE encbox_api_requests_total counter\n");
    pthread_mutex_lock(&api->stats_lock);
    fprintf(f, "# HELP encbox_key_requests_total Key and license requests by endpoint and "
               "result (granted, unauthorized, not_found, bad_request).\n"
               "# TYPE encbox_key_requests_total counter\n");
    for (int e = 0; e < 2; e++)
        for (int r = 0; r < 4; r++)
            fprintf(f, "encbox_key_requests_total{endpoint=\"%s\",result=\"%s\"} %lld\n",
                    e ? "key" : "license", eb_key_result_names[r],
                    (long long)api->key_requests[e][r]);
    for (int i = 100; i < 600; i++)
        if (api->by_code[i])
            fprintf(f, "encbox_api_requests_total{code=\"%d\"} %lld\n", i,
                    (long long)api->by_code[i]);
    pthread_mutex_unlock(&api->stats_lock);
    if (api->holds.started) {
        EbHolds *hs = &api->holds;
        pthread_mutex_lock(&hs->lock);
        fprintf(f,
                "# HELP encbox_origin_held_requests Live requests held now (blocking reload, "
                "preload hint, a segment being written).\n# TYPE encbox_origin_held_requests gauge\n"
                "encbox_origin_held_requests %d\n"
                "# HELP encbox_origin_held_total LL-HLS requests that were held.\n"
                "# TYPE encbox_origin_held_total counter\nencbox_origin_held_total %lld\n"
                "# HELP encbox_origin_hold_timeouts_total Held requests answered 503 after "
                "three target durations.\n# TYPE encbox_origin_hold_timeouts_total counter\n"
                "encbox_origin_hold_timeouts_total %lld\n"
                "# HELP encbox_origin_hold_refused_total Requests answered 503 because as "
                "many as can be were held already.\n"
                "# TYPE encbox_origin_hold_refused_total counter\n"
                "encbox_origin_hold_refused_total %lld\n",
                hs->nb, (long long)hs->held_total, (long long)hs->timeouts_total,
                (long long)hs->refused_total);
        pthread_mutex_unlock(&hs->lock);
    }
    fclose(f);
    return eb_reply_text(api, c, 200, "text/plain; version=0.0.4", buf);
}

/* ---- origin ----------------------------------------------------------- */

static const char *eb_mime(const char *path, int *segment)
{
    static const struct {
        const char *ext, *type;
        int segment;
    } t[] = {{".m3u8", "application/vnd.apple.mpegurl", 0},
             {".mpd", "application/dash+xml", 0},
             {".mp4", "video/mp4", 1},
             {".m4s", "video/iso.segment", 1},
             {".ts", "video/mp2t", 1},
             {".jpg", "image/jpeg", 1},
             {".vtt", "text/vtt", 0},
             {".json", "application/json", 0},
             /* the web console */
             {".html", "text/html; charset=utf-8", 0},
             {".js", "text/javascript; charset=utf-8", 0},
             {".css", "text/css; charset=utf-8", 0}};
    const char *dot = strrchr(path, '.'), *base = strrchr(path, '/');
    char poster[64];
    *segment = 0;
    /* The catalog thumbnail is an entry point like the manifests (its URL
     * is handed out, never versioned): short-cached, not immutable. */
    eb_layout_path(EB_LAYOUT_THUMB_POSTER, NULL, 1, poster, sizeof(poster));
    base = base ? base + 1 : path;
    for (size_t i = 0; dot && i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(dot, t[i].ext)) {
            *segment = t[i].segment && strcmp(base, strrchr(poster, '/') + 1);
            return t[i].type;
        }
    return "application/octet-stream";
}

/* Parses a single "bytes=" range against size. 0: whole file; 1: range in
 * off and len; -1: unsatisfiable. Multi-range requests get the whole file. */
static int eb_parse_range(const char *h, int64_t size, int64_t *off, int64_t *len)
{
    char *end;
    long long a, b;
    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 0;
    h += 6;
    if (*h == '-') {
        b = strtoll(h + 1, &end, 10);
        if (end == h + 1 || *end || b <= 0)
            return b == 0 && !*end && end != h + 1 ? -1 : 0;
        if (size == 0)
            return -1;
        *off = b >= size ? 0 : size - b;
        *len = size - *off;
        return 1;
    }
    a = strtoll(h, &end, 10);
    if (end == h || *end != '-' || a < 0)
        return 0;
    h = end + 1;
    if (!*h) {
        b = size - 1;
    } else {
        b = strtoll(h, &end, 10);
        if (*end || b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *off = a;
    *len = b - a + 1;
    return 1;
}

/* The realpath of <root>/<rel> into real (PATH_MAX): 0, or EB_ERR(ENOENT)
 * when it does not exist or is not under root. No "..", no hidden names,
 * no empty components: then realpath, so a symlink cannot lead out of the
 * tree either. */
static int eb_origin_path(const char *root, const char *rel, char *real)
{
    char path[PATH_MAX * 2];
    size_t vl = strlen(root);

    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || p[0] == '.')
            return EB_ERR(ENOENT);
        p += n;
        if (*p == '/')
            p++;
    }
    if (!*rel)
        return EB_ERR(ENOENT);
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (!realpath(path, real) || strncmp(real, root, vl) || real[vl] != '/')
        return EB_ERR(ENOENT);
    return 0;
}

/* Serves the file real (resolved by eb_origin_path) of a published video
 * or of a live channel's window (live = 1). */
static enum MHD_Result eb_origin_serve(EbApi *api, struct MHD_Connection *c, const char *real,
                                       int live)
{
    char etag[96], lm[64], cr[128];
    const char *type;
    struct stat sb;
    struct tm tm;
    struct MHD_Response *r;
    int fd, segment, rg;
    int64_t off = 0, len;

    fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)sb.st_ino,
             (unsigned long long)sb.st_size,
             (long)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000);
    gmtime_r(&sb.st_mtim.tv_sec, &tm);
    strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    type = eb_mime(real, &segment);
    {
        const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
        if (inm && (strstr(inm, etag) || !strcmp(inm, "*"))) {
            close(fd);
            r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(r, "ETag", etag);
            eb_cors_media(api, r);
            return eb_queue(api, c, 304, r);
        }
    }
    len = sb.st_size;
    rg = eb_parse_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range"), sb.st_size, &off,
                        &len);
    {
        /* A Range with a stale If-Range gets the whole file. */
        const char *ir = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range");
        if (rg != 0 && ir && strcmp(ir, etag) && strcmp(ir, lm)) {
            rg = 0;
            off = 0;
            len = sb.st_size;
        }
    }
    if (rg < 0) {
        close(fd);
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        snprintf(cr, sizeof(cr), "bytes */%lld", (long long)sb.st_size);
        MHD_add_response_header(r, "Content-Range", cr);
        eb_cors_media(api, r);
        return eb_queue(api, c, 416, r);
    }
    r = MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)off);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "Last-Modified", lm);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    eb_cors_media(api, r);
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "Content-Length, Content-Range, ETag");
    /* Published trees are replaced whole (atomic swap); media keep their
     * names with new bytes after an overwrite, but the new manifests then
     * ask for them as "?v=N" (a URL no cache has seen), so media are long +
     * immutable. Manifests and the catalog thumbnail: short. */
    if (live)
        /* Live playlists change every segment: revalidated on every use
         * (ETag). A channel's sequence numbers never repeat (eb_live.h),
         * so its segments are immutable; its init sections keep their
         * name across runs and sessions (a feed of another size writes a
         * new one): revalidated like the playlists. */
        MHD_add_response_header(r, "Cache-Control",
                                segment && strcmp(type, "video/mp4")
                                    ? "public, max-age=31536000, immutable"
                                    : "no-cache");
    else
        MHD_add_response_header(r, "Cache-Control",
                                segment ? "public, max-age=31536000, immutable"
                                        : "public, max-age=10");
    if (rg > 0) {
        snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)off, (long long)(off + len - 1),
                 (long long)sb.st_size);
        MHD_add_response_header(r, "Content-Range", cr);
        return eb_queue(api, c, 206, r);
    }
    return eb_queue(api, c, 200, r);
}

/* A file of a published video (root api->videos; rel is the part after
 * "/videos/") or of a live channel's window (api->live, live = 1). */
static enum MHD_Result eb_origin_file(EbApi *api, struct MHD_Connection *c, const char *root,
                                      const char *rel, int live)
{
    char real[PATH_MAX];

    if (eb_origin_path(root, rel, real) < 0)
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    return eb_origin_serve(api, c, real, live);
}

/* ---- held requests (LL-HLS) ---------------------------------------------
 *
 * A blocking playlist reload (_HLS_msn, _HLS_part) that the playlist on
 * disk cannot answer yet, and a request for the part file the playlist
 * names as its preload hint before that file exists, are *held*: the HTTP
 * thread links the request's EbHold into the list of the folder whose
 * change it waits for, suspends the connection (MHD_suspend_connection)
 * and returns, so it serves other connections at once. A held request
 * costs its socket and its EbReq, never a thread.
 *
 * One watcher thread (`eb-origin-hold`) owns the folders' inotify watches
 * (IN_MOVED_TO and IN_CLOSE_WRITE: the packager renames every file into
 * place). On an event for the file a request waits for it re-reads the
 * playlist once for all the requests on it, and resumes
 * (MHD_resume_connection) those it now answers; libmicrohttpd then calls
 * the handler again, which reads the files again and answers, or holds
 * again. Every 250 ms while something is held it resumes what has waited
 * 3 target durations (answered 503) and what its client has hung up on
 * (closed: libmicrohttpd does not look at a suspended socket).
 *
 * Ownership: a connection is suspended exactly while its EbHold is linked,
 * and both change under holds.lock only: the HTTP thread links and
 * suspends, the watcher unlinks and resumes (eb_completed unlinks a
 * request libmicrohttpd ends itself). holds.lock is taken before
 * libmicrohttpd's own locks, never inside one of its callbacks that holds
 * them. At shutdown every held request is resumed (and answered 503, or
 * closed) before MHD_stop_daemon, which must find none suspended.
 *
 * A change between the handler's read and the watch is not missed: once
 * the folder is watched the handler compares the file's identity (inode,
 * size, time: every rewrite is a new inode) with what it read, and reads
 * again when it differs.
 */
#define EB_HOLD_MAX 8192               /* held requests at once (the fd limit may lower it) */
#define EB_HOLD_TICK_MS 250            /* timeouts and hang-ups are looked at this often */
#define EB_HOLD_IDLE_NS 30000000000ULL /* a folder no request waited on for 30 s is unwatched */
#define EB_ORIGIN_MAX_PLAYLIST (8 << 20)

/* What a file was when read: every rewrite renames a new inode into place. */
typedef struct EbFileId {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
} EbFileId;

static void eb_file_id_of(const struct stat *sb, EbFileId *id)
{
    *id = (EbFileId){.exists = 1,
                     .dev = sb->st_dev,
                     .ino = sb->st_ino,
                     .size = sb->st_size,
                     .mtim = sb->st_mtim};
}

static void eb_file_id(const char *path, EbFileId *id)
{
    struct stat sb;
    memset(id, 0, sizeof(*id));
    if (stat(path, &sb) == 0)
        eb_file_id_of(&sb, id);
}

static int eb_file_id_same(const EbFileId *a, const EbFileId *b)
{
    return a->exists == b->exists &&
           (!a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                           a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec));
}

/* A whole playlist, NUL-terminated, malloc'ed into *text (the caller frees
 * it), and what the file was (id). */
static int eb_read_playlist(const char *path, char **text, size_t *len, EbFileId *id)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    size_t done = 0;
    char *buf;

    *text = NULL;
    if (fd < 0)
        return EB_ERR(ENOENT);
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > EB_ORIGIN_MAX_PLAYLIST ||
        !(buf = malloc((size_t)sb.st_size + 1))) {
        close(fd);
        return EB_ERR(EIO);
    }
    while (done < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)sb.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    buf[done] = '\0';
    *text = buf;
    *len = done;
    eb_file_id_of(&sb, id);
    return 0;
}

/* Takes h out of its folder's list; holds.lock held. */
static void eb_hold_unlink(EbHolds *hs, EbHold *h)
{
    EbWatchDir *d = h->dir;

    if (h->prev)
        h->prev->next = h->next;
    else
        d->waiters = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
    h->dir = NULL;
    if (!d->waiters)
        d->idle_since_ns = eb_clock_ns();
    hs->nb--;
}

/* Unlinks h and resumes its connection; holds.lock held. */
static void eb_hold_wake(EbHolds *hs, EbHold *h, int why)
{
    eb_hold_unlink(hs, h);
    h->wake = why;
    if (why == EB_WAKE_TIMEOUT)
        hs->timeouts_total++;
    MHD_resume_connection(h->conn);
}

/* The watched folder at path (added if new); holds.lock held. NULL when
 * it cannot be watched. */
static EbWatchDir *eb_holds_watch(EbHolds *hs, const char *path)
{
    int wd = inotify_add_watch(hs->ifd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    EbWatchDir *d;

    if (wd < 0)
        return NULL;
    for (d = hs->dirs; d; d = d->next)
        if (d->wd == wd)
            return d;
    d = calloc(1, sizeof(*d));
    if (d && !(d->path = strdup(path))) {
        free(d);
        d = NULL;
    }
    if (!d) {
        inotify_rm_watch(hs->ifd, wd);
        return NULL;
    }
    d->wd = wd;
    d->idle_since_ns = eb_clock_ns();
    d->next = hs->dirs;
    hs->dirs = d;
    return d;
}

static void eb_holds_forget(EbHolds *hs, EbWatchDir *d)
{
    for (EbWatchDir **p = &hs->dirs; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    free(d->path);
    free(d);
}

/* Holds the request on c until the file dir/name is replaced (the
 * watcher resumes it and the handler runs again), at most 3 target
 * durations from its first hold (from the last eb_hold_progress of a
 * stream). prefix: any file whose name starts with name wakes it.
 * check[i] (nb_check names in dir) are the files the caller read, seen[i]
 * what it read of each (exists 0: missing). Returns 1 when held, 0 when
 * one of them has changed since (read again), EB_ERR(ETIMEDOUT) when the
 * time is up, EB_ERR(EBUSY) when no more can be held (or the daemon
 * stops). */
static int eb_hold_any(EbApi *api, struct MHD_Connection *c, EbReq *q, const char *dir,
                       const char *name, int prefix, const EbLlhlsRequest *rq, double target,
                       const char *const *check, const EbFileId *seen, int nb_check)
{
    EbHolds *hs = &api->holds;
    EbHold *h = &q->hold;
    const union MHD_ConnectionInfo *ci;
    char path[PATH_MAX + 80];
    uint64_t now = eb_clock_ns();
    EbWatchDir *d;
    EbFileId id;

    if (h->deadline_ns && now >= h->deadline_ns)
        return EB_ERR(ETIMEDOUT);
    if (strlen(name) >= sizeof(h->name) || !hs->started)
        return EB_ERR(EBUSY);
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    pthread_mutex_lock(&hs->lock);
    if (hs->stopping || hs->nb >= hs->max || !(d = eb_holds_watch(hs, dir))) {
        hs->refused_total++;
        pthread_mutex_unlock(&hs->lock);
        return EB_ERR(EBUSY);
    }
    for (int i = 0; i < nb_check; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, check[i]);
        eb_file_id(path, &id);
        if (!eb_file_id_same(&id, &seen[i])) {
            pthread_mutex_unlock(&hs->lock);
            return 0;
        }
    }
    if (!h->deadline_ns) {
        h->deadline_ns = now + (uint64_t)(3.0 * (target > 0 ? target : 1.0) * 1e9);
        hs->held_total++;
    }
    h->conn = c;
    h->fd = ci ? ci->connect_fd : -1;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->prefix = prefix;
    h->rq = *rq;
    h->wake = EB_WAKE_NONE;
    h->dir = d;
    h->prev = NULL;
    h->next = d->waiters;
    if (d->waiters)
        d->waiters->prev = h;
    d->waiters = h;
    /* Suspended before the lock is let go: the watcher only resumes what
     * is linked, so it never resumes a connection not yet suspended. */
    MHD_suspend_connection(c);
    if (hs->nb++ == 0)
        eventfd_write(hs->efd, 1); /* the watcher's timer goes on */
    pthread_mutex_unlock(&hs->lock);
    return 1;
}

/* eb_hold_any for one file, the one waited for. */
static int eb_hold(EbApi *api, struct MHD_Connection *c, EbReq *q, const char *dir,
                   const char *name, const EbLlhlsRequest *rq, double target, const EbFileId *seen)
{
    return eb_hold_any(api, c, q, dir, name, 0, rq, target, &name, seen, 1);
}

/* A request libmicrohttpd ends while held (shutdown): unlinked. */
static void eb_hold_drop(EbApi *api, EbReq *q)
{
    EbHolds *hs = &api->holds;
    EbHold *h = &q->hold;

    if (!hs->started)
        return;
    pthread_mutex_lock(&hs->lock);
    if (h->dir)
        eb_hold_unlink(hs, h);
    pthread_mutex_unlock(&hs->lock);
}

/* dir/name was replaced: the requests waiting for it that can be answered
 * now are resumed (a playlist is read once for all of them). holds.lock
 * held. */
static void eb_holds_changed(EbHolds *hs, EbWatchDir *d, const char *name)
{
    EbLlhlsPlaylist pl;
    char path[PATH_MAX + 80], *text = NULL;
    size_t len;
    int read_done = 0, readable = 0;
    EbFileId id;

    for (EbHold *h = d->waiters, *next; h; h = next) {
        next = h->next;
        if (h->prefix ? strncmp(h->name, name, strlen(h->name)) : strcmp(h->name, name))
            continue;
        if (h->rq.has_msn) {
            if (!read_done) {
                snprintf(path, sizeof(path), "%s/%s", d->path, name);
                readable = eb_read_playlist(path, &text, &len, &id) == 0 &&
                           eb_llhls_parse(text, len, &pl) == 0;
                read_done = 1;
            }
            /* Unreadable, or no longer low-latency: the handler says so. */
            if (readable && pl.low_latency && eb_llhls_decide(&pl, &h->rq) == EB_LLHLS_WAIT)
                continue;
        }
        eb_hold_wake(hs, h, EB_WAKE_CHANGED);
    }
    free(text);
}

/* Timeouts, hang-ups and idle folders; holds.lock held. */
static void eb_holds_sweep(EbHolds *hs, uint64_t now)
{
    struct pollfd *pf = hs->nb > 0 ? calloc((size_t)hs->nb, sizeof(*pf)) : NULL;
    EbHold **who = hs->nb > 0 ? calloc((size_t)hs->nb, sizeof(*who)) : NULL;
    int n = 0;

    for (EbWatchDir *d = hs->dirs; d; d = d->next)
        for (EbHold *h = d->waiters, *next; h; h = next) {
            next = h->next;
            if (now >= h->deadline_ns) {
                eb_hold_wake(hs, h, EB_WAKE_TIMEOUT);
            } else if (pf && who && h->fd >= 0) {
                pf[n] = (struct pollfd){.fd = h->fd, .events = POLLRDHUP};
                who[n++] = h;
            }
        }
    if (n > 0 && poll(pf, (nfds_t)n, 0) > 0)
        for (int i = 0; i < n; i++)
            if (pf[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
                eb_hold_wake(hs, who[i], EB_WAKE_GONE);
    free(pf);
    free(who);
    for (EbWatchDir *d = hs->dirs, *next; d; d = next) {
        next = d->next;
        if (!d->waiters && now - d->idle_since_ns >= EB_HOLD_IDLE_NS) {
            inotify_rm_watch(hs->ifd, d->wd);
            eb_holds_forget(hs, d);
        }
    }
}

static void *eb_holds_main(void *arg)
{
    EbHolds *hs = arg;
    union {
        struct inotify_event e;
        char bytes[16384];
    } buf;
    uint64_t last_sweep = eb_clock_ns();

    pthread_setname_np(pthread_self(), "eb-origin-hold");
    for (;;) {
        struct pollfd pf[2] = {{.fd = hs->ifd, .events = POLLIN},
                               {.fd = hs->efd, .events = POLLIN}};
        int timeout;
        uint64_t now;

        pthread_mutex_lock(&hs->lock);
        if (hs->stopping) {
            pthread_mutex_unlock(&hs->lock);
            break;
        }
        /* The timer runs while something is held (or a folder may go idle). */
        timeout = hs->nb > 0 ? EB_HOLD_TICK_MS : hs->dirs ? 5000 : -1;
        pthread_mutex_unlock(&hs->lock);
        if (poll(pf, 2, timeout) < 0 && errno != EINTR)
            break;
        if (pf[1].revents & POLLIN) {
            eventfd_t v;
            eventfd_read(hs->efd, &v);
        }
        if (pf[0].revents & POLLIN) {
            ssize_t n = read(hs->ifd, buf.bytes, sizeof(buf.bytes));
            pthread_mutex_lock(&hs->lock);
            for (ssize_t off = 0; n > 0 && off < n;) {
                const struct inotify_event *e = (const struct inotify_event *)(buf.bytes + off);
                EbWatchDir *d = hs->dirs;
                off += (ssize_t)(sizeof(*e) + e->len);
                if (e->mask & IN_Q_OVERFLOW) {
                    /* Events were lost: every request looks again. */
                    for (d = hs->dirs; d; d = d->next)
                        while (d->waiters)
                            eb_hold_wake(hs, d->waiters, EB_WAKE_CHANGED);
                    continue;
                }
                while (d && d->wd != e->wd)
                    d = d->next;
                if (!d)
                    continue; /* unwatched meanwhile */
                if (e->mask & IN_IGNORED) {
                    /* The folder went away (a new session clears the
                     * channel): its requests are answered from what is
                     * there now. */
                    while (d->waiters)
                        eb_hold_wake(hs, d->waiters, EB_WAKE_CHANGED);
                    eb_holds_forget(hs, d);
                } else if (e->len > 0 && (e->mask & (IN_MOVED_TO | IN_CLOSE_WRITE))) {
                    eb_holds_changed(hs, d, e->name);
                }
            }
            pthread_mutex_unlock(&hs->lock);
        }
        now = eb_clock_ns();
        if (now - last_sweep >= EB_HOLD_TICK_MS * 1000000ULL) {
            pthread_mutex_lock(&hs->lock);
            eb_holds_sweep(hs, now);
            pthread_mutex_unlock(&hs->lock);
            last_sweep = now;
        }
    }
    return NULL;
}

/* Starts the watcher; max: how many requests may be held at once. */
static int eb_holds_start(EbHolds *hs, int max)
{
    hs->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    hs->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    hs->max = max;
    if (hs->ifd < 0 || hs->efd < 0 || pthread_mutex_init(&hs->lock, NULL)) {
        if (hs->ifd >= 0)
            close(hs->ifd);
        if (hs->efd >= 0)
            close(hs->efd);
        return EB_ERR(EMFILE);
    }
    if (pthread_create(&hs->thread, NULL, eb_holds_main, hs)) {
        pthread_mutex_destroy(&hs->lock);
        close(hs->ifd);
        close(hs->efd);
        return EB_ERR(EAGAIN);
    }
    hs->started = 1;
    return 0;
}

/* Before MHD_stop_daemon: every held request is resumed (the handler
 * answers 503), none is held from now on, and the watcher ends. */
static void eb_holds_stop(EbHolds *hs)
{
    if (!hs->started)
        return;
    pthread_mutex_lock(&hs->lock);
    hs->stopping = 1;
    for (EbWatchDir *d = hs->dirs; d; d = d->next)
        while (d->waiters)
            eb_hold_wake(hs, d->waiters, EB_WAKE_STOP);
    pthread_mutex_unlock(&hs->lock);
    eventfd_write(hs->efd, 1);
    pthread_join(hs->thread, NULL);
}

/* After MHD_stop_daemon: nothing can be held any more. */
static void eb_holds_close(EbHolds *hs)
{
    if (!hs->started)
        return;
    while (hs->dirs)
        eb_holds_forget(hs, hs->dirs);
    close(hs->ifd);
    close(hs->efd);
    pthread_mutex_destroy(&hs->lock);
    hs->started = 0;
}

/* ---- the live origin (LL-HLS delivery) ----------------------------------- */

/* A playlist as a blocking or delta response: cacheable for about six
 * part targets, since its URL (with the directives) names one answer, so
 * a CDN coalesces the players waiting for the same part. */
static enum MHD_Result eb_reply_playlist(EbApi *api, struct MHD_Connection *c, const char *text,
                                         size_t len, int max_age)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    char cc[64];

    if (!r)
        return MHD_NO;
    snprintf(cc, sizeof(cc), "public, max-age=%d", max_age);
    MHD_add_response_header(r, "Content-Type", "application/vnd.apple.mpegurl");
    MHD_add_response_header(r, "Cache-Control", cc);
    eb_cors_media(api, r);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Content-Length");
    return eb_queue(api, c, 200, r);
}

/* A live media playlist asked for with delivery directives (_HLS_msn,
 * _HLS_part, _HLS_skip). A playlist that is not low-latency ignores them. */
static enum MHD_Result eb_origin_playlist(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                          const char *rel, const char *msn, const char *part,
                                          const char *skip)
{
    char real[PATH_MAX], *text = NULL, *delta = NULL, *slash;
    EbLlhlsPlaylist pl;
    EbLlhlsRequest rq;
    EbFileId id;
    size_t len, dlen = 0;
    enum MHD_Result ret;
    int held;

    for (;;) {
        if (eb_origin_path(api->live, rel, real) < 0)
            return eb_reply_media_error(api, c, 404, NULL, "not found");
        /* Not a low-latency playlist: served as it is, directives ignored. */
        if (eb_read_playlist(real, &text, &len, &id) < 0)
            return eb_origin_serve(api, c, real, 1);
        if (eb_llhls_parse(text, len, &pl) < 0 || !pl.low_latency) {
            free(text);
            return eb_origin_serve(api, c, real, 1);
        }
        if (eb_llhls_request_parse(msn, part, skip, &rq) < 0) {
            free(text);
            return eb_reply_media_error(api, c, 400, part && !msn ? "_HLS_part" : "_HLS_msn",
                                  part && !msn ? "_HLS_part needs _HLS_msn"
                                               : "_HLS_msn and _HLS_part: decimal integers");
        }
        switch (eb_llhls_decide(&pl, &rq)) {
        case EB_LLHLS_READY:
            break;
        case EB_LLHLS_BAD:
            free(text);
            return eb_reply_media_error(api, c, 400, rq.part >= 0 ? "_HLS_part" : "_HLS_msn",
                                  "_HLS_msn=%lld%s: too far past the playlist's last segment "
                                  "(%lld)",
                                  (long long)rq.msn, rq.part >= 0 ? " with _HLS_part" : "",
                                  (long long)pl.last_msn);
        case EB_LLHLS_WAIT:
            free(text);
            text = NULL;
            slash = strrchr(real, '/');
            *slash = '\0';
            held = eb_hold(api, c, q, real, slash + 1, &rq, pl.target_duration, &id);
            if (held > 0)
                return MHD_YES;
            if (held == EB_ERR(ETIMEDOUT))
                return eb_reply_media_error(api, c, 503, NULL,
                                      "the playlist did not reach _HLS_msn/_HLS_part within "
                                      "three target durations");
            if (held < 0)
                return eb_reply_media_error(api, c, 503, NULL, "too many requests are held");
            continue; /* it changed meanwhile: read it again */
        }
        break;
    }
    if (eb_llhls_delta(text, len, &pl, rq.skip, &delta, &dlen) > 0)
        ret = eb_reply_playlist(api, c, delta, dlen, eb_llhls_max_age(&pl));
    else
        ret = eb_reply_playlist(api, c, text, len, eb_llhls_max_age(&pl));
    av_free(delta);
    free(text);
    return ret;
}

/* rel names a part file, <channel>/cmaf/<r>/segment_NNN.P.m4s, or a
 * segment, <channel>/cmaf/<r>/segment_NNN.m4s (the layout's names): its
 * rendition's playlist into playlist, NNN into *seq and P into *part (-1
 * for a segment). */
static int eb_origin_media_ref(const char *rel, char *playlist, size_t size, int64_t *seq,
                               int *part)
{
    const char *ch_end = strchr(rel, '/'), *file = strrchr(rel, '/'), *r;
    char rend[128], want[PATH_MAX], media[PATH_MAX];
    long long n;
    int end = 0;

    if (!ch_end || ch_end == file)
        return EB_ERR(EINVAL);
    for (r = file - 1; r > ch_end && *r != '/'; r--)
        ;
    if (r <= ch_end || file - r - 1 <= 0 || (size_t)(file - r - 1) >= sizeof(rend))
        return EB_ERR(EINVAL);
    memcpy(rend, r + 1, (size_t)(file - r - 1));
    rend[file - r - 1] = '\0';
    if (sscanf(file + 1, "segment_%lld.%d.m4s%n", &n, part, &end) == 2 && !file[1 + end] &&
        n >= 1 && *part >= 0) {
        if (eb_layout_part_path(rend, n, *part, want, sizeof(want)) < 0)
            return EB_ERR(EINVAL);
    } else if (sscanf(file + 1, "segment_%lld.m4s%n", &n, &end) == 1 && !file[1 + end] && n >= 1) {
        *part = -1;
        if (eb_layout_path(EB_LAYOUT_CMAF_SEGMENT, rend, n, want, sizeof(want)) < 0)
            return EB_ERR(EINVAL);
    } else {
        return EB_ERR(EINVAL);
    }
    if (strcmp(want, ch_end + 1) ||
        eb_layout_path(EB_LAYOUT_HLS_MEDIA, rend, 0, media, sizeof(media)) < 0)
        return EB_ERR(EINVAL);
    if (snprintf(playlist, size, "%.*s/%s", (int)(ch_end - rel), rel, media) >= (int)size)
        return EB_ERR(ENAMETOOLONG);
    *seq = n;
    return 0;
}

/* A part file that is not there yet: held while it is the playlist's
 * preload hint (the packager is writing it), else 404. The hold is on the
 * playlist, which the packager rewrites right after each part it writes:
 * woken then, the request gets the part, or 404 at once when the segment
 * closed without it (the hint moved on to the next segment). */
static enum MHD_Result eb_origin_part(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                      const char *rel, const char *playlist)
{
    char real[PATH_MAX], folder[PATH_MAX], preal[PATH_MAX], hint[PATH_MAX], *text;
    const char *file = strrchr(playlist, '/');
    EbLlhlsPlaylist pl;
    EbLlhlsRequest none = {.part = -1};
    EbFileId id;
    size_t len;
    int hinted, held;

    if (!file)
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    snprintf(folder, sizeof(folder), "%.*s", (int)(file - playlist), playlist);
    for (;;) {
        if (eb_origin_path(api->live, folder, real) < 0)
            break;
        if (eb_origin_path(api->live, rel, preal) == 0) /* it is there now */
            return eb_origin_serve(api, c, preal, 1);
        if (eb_origin_path(api->live, playlist, preal) < 0 ||
            eb_read_playlist(preal, &text, &len, &id) < 0)
            break;
        hinted = eb_llhls_parse(text, len, &pl) == 0 && pl.low_latency && pl.preload_hint[0] &&
                 eb_llhls_resolve(playlist, pl.preload_hint, hint, sizeof(hint)) > 0 &&
                 !strcmp(hint, rel);
        free(text);
        if (!hinted)
            break;
        held = eb_hold(api, c, q, real, file + 1, &none, pl.target_duration, &id);
        if (held > 0)
            return MHD_YES;
        if (held == EB_ERR(ETIMEDOUT))
            return eb_reply_media_error(api, c, 503, NULL,
                                  "the part was not written within three target durations");
        if (held < 0)
            return eb_reply_media_error(api, c, 503, NULL, "too many requests are held");
    }
    return eb_reply_media_error(api, c, 404, NULL, "not found");
}

/* ---- a segment being written (LL-DASH) ----------------------------------
 *
 * A low-latency channel's MPD offers each segment one part after it starts
 * (availabilityTimeOffset, availabilityTimeComplete="false"). A request for
 * a segment that is not complete yet is answered 200 with chunked transfer
 * encoding: its part files as they are written (the segment is their
 * concatenation, byte for byte), then whatever the finished segment file
 * holds past them (nothing, unless part files were already pruned). A
 * request for the next segment, whose first part is not written yet, is
 * held like a blocking reload until it is. While the stream waits for its
 * next part its connection is suspended on the rendition's folder (any
 * file named "segment_NNN." wakes it), so it costs no thread; 3 target
 * durations without a new byte end it with an error (the connection closes
 * without the last chunk, which clients and caches see as incomplete).
 * Other players, and any request once the segment is complete, get the
 * file itself (eb_origin_serve: Range, ETag). */
typedef struct EbSegStream {
    EbApi *api;
    struct MHD_Connection *c;
    EbReq *q;
    char dir[PATH_MAX]; /* the rendition's folder, resolved */
    char part_fmt[64];  /* the part file's name for part %d */
    char seg_name[64];  /* the finished segment's file name */
    char prefix[64];    /* what every file of this segment's name starts with */
    int part;           /* the part file open or looked for next */
    int fd;             /* -1: none open */
    int whole;          /* fd is the finished segment */
    uint64_t sent;
    double target; /* the playlist's target duration, seconds */
} EbSegStream;

/* The file names of segment seq of rendition folder rel_dir's files. */
static int eb_segstream_names(const char *rend, int64_t seq, EbSegStream *st)
{
    char path[PATH_MAX];
    const char *b;
    int n;

    if (eb_layout_path(EB_LAYOUT_CMAF_SEGMENT, rend, seq, path, sizeof(path)) < 0 ||
        !(b = strrchr(path, '/')) || strlen(b + 1) >= sizeof(st->seg_name) ||
        strlen(b + 1) < 5 || strcmp(b + strlen(b) - 4, ".m4s"))
        return EB_ERR(EINVAL);
    snprintf(st->seg_name, sizeof(st->seg_name), "%s", b + 1);
    n = (int)strlen(st->seg_name) - 3; /* "segment_NNN." */
    snprintf(st->prefix, sizeof(st->prefix), "%.*s", n, st->seg_name);
    return 0;
}

static void eb_segstream_part_name(const EbSegStream *st, int part, char *out, size_t size)
{
    snprintf(out, size, "%s%d.m4s", st->prefix, part);
}

/* Opens the next file of the stream: part st->part, else the finished
 * segment at the offset already sent. 1: open, 0: neither exists yet,
 * <0: the finished file is shorter than what was sent. */
static int eb_segstream_open(EbSegStream *st)
{
    char name[80], path[PATH_MAX + 100];
    struct stat sb;

    eb_segstream_part_name(st, st->part, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", st->dir, name);
    st->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->fd >= 0)
        return 1;
    snprintf(path, sizeof(path), "%s/%s", st->dir, st->seg_name);
    st->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->fd < 0)
        return 0;
    st->whole = 1;
    if (fstat(st->fd, &sb) < 0 || (uint64_t)sb.st_size < st->sent ||
        lseek(st->fd, (off_t)st->sent, SEEK_SET) < 0)
        return EB_ERR(EIO);
    return 1;
}

/* libmicrohttpd's content reader (its thread for the connection). */
static ssize_t eb_segstream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    EbSegStream *st = cls;
    EbHold *h = &st->q->hold;
    static const EbLlhlsRequest none = {.part = -1};
    (void)pos;

    if (h->wake == EB_WAKE_TIMEOUT || h->wake == EB_WAKE_GONE || h->wake == EB_WAKE_STOP)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    h->wake = EB_WAKE_NONE;
    for (;;) {
        char next[80];
        const char *check[2] = {next, st->seg_name};
        EbFileId missing[2] = {{0}, {0}};
        int ret;

        if (st->fd >= 0) {
            ssize_t n = read(st->fd, buf, max);
            if (n > 0) {
                st->sent += (uint64_t)n;
                h->deadline_ns = 0; /* progress: the next wait has its own time */
                return n;
            }
            if (n < 0 && errno == EINTR)
                continue;
            close(st->fd);
            st->fd = -1;
            if (n < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            if (st->whole)
                return MHD_CONTENT_READER_END_OF_STREAM;
            st->part++;
            continue;
        }
        ret = eb_segstream_open(st);
        if (ret > 0)
            continue;
        if (ret < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        /* Nothing new yet: wait for this segment's next file. */
        eb_segstream_part_name(st, st->part, next, sizeof(next));
        ret = eb_hold_any(st->api, st->c, st->q, st->dir, st->prefix, 1, &none, st->target, check,
                          missing, 2);
        if (ret > 0)
            return 0; /* suspended: called again once resumed */
        if (ret < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void eb_segstream_free(void *cls)
{
    EbSegStream *st = cls;

    if (st->fd >= 0)
        close(st->fd);
    free(st);
}

/* rel: a segment of rendition playlist's that is not complete. Streamed
 * when its first part is written, held while it is the next one of a
 * low-latency playlist, else 404. */
static enum MHD_Result eb_origin_segment(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                         const char *rel, const char *playlist, int64_t seq)
{
    static const EbLlhlsRequest none = {.part = -1};
    const char *file = strrchr(rel, '/'), *pfile = strrchr(playlist, '/'), *rend;
    char folder[PATH_MAX], preal[PATH_MAX], ppath[PATH_MAX + 100], part0[80], *text;
    const char *check[2];
    EbFileId missing[2] = {{0}, {0}}, pid;
    EbLlhlsPlaylist pl;
    EbSegStream *st;
    struct MHD_Response *r;
    size_t len;
    int ok, held;

    st = calloc(1, sizeof(*st));
    if (!st)
        return MHD_NO;
    st->fd = -1;
    snprintf(folder, sizeof(folder), "%.*s", (int)(file - rel), rel);
    for (rend = file - 1; rend > rel && rend[-1] != '/'; rend--)
        ;
    {
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(file - rend), rend);
        ok = pfile && eb_segstream_names(name, seq, st) == 0 &&
             eb_origin_path(api->live, folder, st->dir) == 0;
    }
    for (; ok;) {
        if (eb_origin_path(api->live, rel, preal) == 0) { /* complete now */
            free(st);
            return eb_origin_serve(api, c, preal, 1);
        }
        if (eb_origin_path(api->live, playlist, preal) < 0 ||
            eb_read_playlist(preal, &text, &len, &pid) < 0)
            break;
        ok = eb_llhls_parse(text, len, &pl) == 0 && pl.low_latency && !pl.ended;
        free(text);
        if (!ok)
            break;
        st->target = pl.target_duration;
        eb_segstream_part_name(st, 0, part0, sizeof(part0));
        snprintf(ppath, sizeof(ppath), "%s/%s", st->dir, part0);
        if (access(ppath, F_OK) == 0) {
            st->api = api;
            st->c = c;
            st->q = q;
            q->hold.deadline_ns = 0;
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, eb_segstream_read,
                                                  st, eb_segstream_free);
            if (!r) {
                free(st);
                return MHD_NO;
            }
            {
                int segment;
                MHD_add_response_header(r, "Content-Type", eb_mime(st->seg_name, &segment));
            }
            /* The same bytes as the finished file: as immutable. A stream
             * cut short ends without its last chunk, which no cache keeps. */
            MHD_add_response_header(r, "Cache-Control", "public, max-age=31536000, immutable");
            eb_cors_media(api, r);
            return eb_queue(api, c, 200, r);
        }
        if (seq != pl.last_msn + 1)
            break; /* not the segment being written next */
        check[0] = part0;
        check[1] = st->seg_name;
        held = eb_hold_any(api, c, q, st->dir, st->prefix, 1, &none, pl.target_duration, check,
                           missing, 2);
        if (held > 0) {
            free(st);
            return MHD_YES;
        }
        if (held == EB_ERR(ETIMEDOUT)) {
            free(st);
            return eb_reply_media_error(api, c, 503, NULL,
                                  "the segment was not started within three target durations");
        }
        if (held < 0) {
            free(st);
            return eb_reply_media_error(api, c, 503, NULL, "too many requests are held");
        }
    }
    free(st);
    return eb_reply_media_error(api, c, 404, NULL, "not found");
}

/* /live/<rel>: a channel's window. */
static enum MHD_Result eb_origin_live(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                      const char *rel)
{
    const char *msn = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "_HLS_msn");
    const char *part = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "_HLS_part");
    const char *skip = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "_HLS_skip");
    size_t n = strlen(rel);
    char playlist[PATH_MAX], real[PATH_MAX];
    int64_t seq;
    int pnum;

    switch (q->hold.wake) {
    case EB_WAKE_GONE: { /* the client hung up while held: nothing to count */
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret;
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Connection", "close");
        ret = MHD_queue_response(c, 503, r);
        MHD_destroy_response(r);
        return ret;
    }
    case EB_WAKE_STOP:
        return eb_reply_media_error(api, c, 503, NULL, "the server is stopping");
    default:
        q->hold.wake = EB_WAKE_NONE;
    }
    if (n > 5 && !strcmp(rel + n - 5, ".m3u8") && (msn || part || skip))
        return eb_origin_playlist(api, c, q, rel, msn, part, skip);
    if (eb_origin_media_ref(rel, playlist, sizeof(playlist), &seq, &pnum) < 0)
        return eb_origin_file(api, c, api->live, rel, 1);
    if (eb_origin_path(api->live, rel, real) == 0)
        return eb_origin_serve(api, c, real, 1);
    if (pnum < 0)
        return eb_origin_segment(api, c, q, rel, playlist, seq);
    return eb_origin_part(api, c, q, rel, playlist);
}

static void eb_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

/* ---- keys and licenses ------------------------------------------------ */

static enum MHD_Result eb_key_reply(EbApi *api, struct MHD_Connection *c, int endpoint, int result,
                                    unsigned code, const char *msg)
{
    pthread_mutex_lock(&api->stats_lock);
    api->key_requests[endpoint][result]++;
    pthread_mutex_unlock(&api->stats_lock);
    return eb_reply_media_error(api, c, code, NULL, "%s", msg);
}

/* A key endpoint (eb_license.h) of video id, for a caller already
 * authorised (token or signed link): the ClearKey license (POST) or the
 * key's bytes (GET). Each answer is counted and logged (never the key). */
static enum MHD_Result eb_key_serve(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                    const char *method, EbKeyEndpoint ep, int valid, const char *id,
                                    const uint8_t kid[16], const char *how)
{
    int e = ep == EB_KEY_ENDPOINT_KEY;
    EbKeyProvider *kp = NULL;
    struct MHD_Response *r;
    char *text = NULL;
    int n;

    if (strcmp(method, e ? "GET" : "POST") && !(e && !strcmp(method, "HEAD")))
        return eb_reply_media_error(api, c, 405, NULL, "method not allowed (%s)",
                                    e ? "GET" : "POST");
    if (!valid)
        return eb_key_reply(api, c, e, EB_KEY_NOT_FOUND, 404, "no such key");
    if (eb_key_store_open(api->key_store, &kp) < 0)
        return eb_reply_media_error(api, c, 500, NULL, "the key store cannot be opened");
    if (e) {
        EbContentKey key;
        int ret = kp->ops->get(kp, id, kid, &key);
        eb_key_provider_free(&kp);
        if (ret < 0) {
            EB_LOGW("keys", "key request for video %s: no such key (%s)", id, how);
            return eb_key_reply(api, c, e, EB_KEY_NOT_FOUND, 404, "no such key");
        }
        text = malloc(16);
        if (!text)
            return MHD_NO;
        memcpy(text, key.k.key, 16);
        explicit_bzero(&key, sizeof(key));
        r = MHD_create_response_from_buffer(16, text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "application/octet-stream");
        n = 1;
    } else {
        if (q->too_big) {
            eb_key_provider_free(&kp);
            return eb_key_reply(api, c, e, EB_KEY_BAD_REQUEST, 413, "license request too large");
        }
        n = eb_clearkey_license(kp, id, q->body, q->len, &text);
        eb_key_provider_free(&kp);
        if (n < 0) {
            free(text);
            return eb_key_reply(api, c, e, EB_KEY_BAD_REQUEST, 400,
                                "not a ClearKey license request: {\"kids\": [base64url key "
                                "ids], \"type\": \"temporary\"}");
        }
        if (n == 0) {
            free(text);
            EB_LOGW("keys", "license request for video %s: none of its keys (%s)", id, how);
            return eb_key_reply(api, c, e, EB_KEY_NOT_FOUND, 404,
                                "none of those key ids is this video's");
        }
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Cache-Control", "no-store");
    eb_cors_media(api, r);
    pthread_mutex_lock(&api->stats_lock);
    api->key_requests[e][EB_KEY_GRANTED]++;
    pthread_mutex_unlock(&api->stats_lock);
    EB_LOGI("keys", "%s for video %s: %d key%s granted (%s)", e ? "key" : "license", id, n,
            n > 1 ? "s" : "", how);
    return eb_queue(api, c, 200, r);
}

/* When rel (a path after /videos/ or /live/) is a key endpoint: answers
 * it for a holder of the API token (401 with why401 otherwise), returns 1
 * with *r set; 0 when it is not one. */
static int eb_key_route(EbApi *api, struct MHD_Connection *c, EbReq *q, const char *method,
                        const char *rel, const char *why401, enum MHD_Result *r)
{
    char id[EB_VIDEO_ID_MAX + 2];
    uint8_t kid[16];
    int valid;
    EbKeyEndpoint ep = eb_key_endpoint(rel, id, sizeof(id), kid, &valid);

    if (ep == EB_KEY_ENDPOINT_NONE)
        return 0;
    if (!eb_auth_ok(api, c))
        *r = eb_key_reply(api, c, ep == EB_KEY_ENDPOINT_KEY, EB_KEY_UNAUTHORIZED, 401, why401);
    else
        *r = eb_key_serve(api, c, q, method, ep, valid, id, kid, "token");
    return 1;
}

/* /s/<expiry>/<hmac>/videos/<id>/...: HMAC-SHA256(key, "<expiry>/<id>"). */
static enum MHD_Result eb_origin_signed(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                        const char *method, const char *url)
{
    char exp_s[24], mac_s[80], msg[128], want[65];
    unsigned char mac[32], skey[256];
    const char *p = url, *id, *slash;
    char *end;
    long long expiry;
    size_t n, klen = eb_key_get(api, skey);
    int ret;

    if (!klen)
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    n = strcspn(p, "/");
    if (n == 0 || n >= sizeof(exp_s))
        return eb_reply_media_error(api, c, 403, NULL, "bad signature");
    memcpy(exp_s, p, n);
    exp_s[n] = 0;
    p += n;
    if (*p++ != '/')
        return eb_reply_media_error(api, c, 403, NULL, "bad signature");
    n = strcspn(p, "/");
    if (n != 64)
        return eb_reply_media_error(api, c, 403, NULL, "bad signature");
    memcpy(mac_s, p, n);
    mac_s[n] = 0;
    p += n;
    if (strncmp(p, EB_ORIGIN_VIDEOS, sizeof(EB_ORIGIN_VIDEOS) - 1))
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    id = p + sizeof(EB_ORIGIN_VIDEOS) - 1;
    slash = strchr(id, '/');
    if (!slash || slash - id > EB_VIDEO_ID_MAX)
        return eb_reply_media_error(api, c, 404, NULL, "not found");
    expiry = strtoll(exp_s, &end, 10);
    if (*end || expiry <= 0)
        return eb_reply_media_error(api, c, 403, NULL, "bad signature");
    snprintf(msg, sizeof(msg), "%s/%.*s", exp_s, (int)(slash - id), id);
    ret = gnutls_hmac_fast(GNUTLS_MAC_SHA256, skey, klen, msg, strlen(msg), mac);
    explicit_bzero(skey, sizeof(skey));
    if (ret < 0)
        return eb_reply_media_error(api, c, 500, NULL, "cannot sign");
    eb_hex(mac, sizeof(mac), want);
    if (!eb_token_equal(want, mac_s))
        return eb_reply_media_error(api, c, 403, NULL, "bad signature");
    if (expiry < (long long)time(NULL))
        return eb_reply_media_error(api, c, 403, NULL, "link expired");
    {
        char kid_video[EB_VIDEO_ID_MAX + 2];
        uint8_t kid[16];
        int valid;
        EbKeyEndpoint ep = eb_key_endpoint(id, kid_video, sizeof(kid_video), kid, &valid);
        if (ep != EB_KEY_ENDPOINT_NONE)
            return eb_key_serve(api, c, q, method, ep, valid, kid_video, kid, "signed link");
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return eb_reply_error(api, c, 405, NULL, "method not allowed");
    return eb_origin_file(api, c, api->videos, id, 0);
}

/* ---- uploads ---------------------------------------------------------- */

static void eb_upload_abort(EbApi *api, EbReq *q)
{
    char path[PATH_MAX + 64];
    if (q->upload_fd >= 0) {
        close(q->upload_fd);
        q->upload_fd = -1;
        snprintf(path, sizeof(path), "%s/%s.part", api->uploads, q->upload_id);
        unlink(path);
    }
    if (q->sha_open) {
        unsigned char d[32];
        gnutls_hash_deinit(q->sha, d);
        q->sha_open = 0;
    }
}

static int eb_upload_begin(EbApi *api, EbReq *q)
{
    unsigned char r[EB_UPLOAD_ID_LEN / 2];
    char path[PATH_MAX + 64];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -EIO;
    eb_hex(r, sizeof(r), q->upload_id);
    snprintf(path, sizeof(path), "%s/%s.part", api->uploads, q->upload_id);
    q->upload_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (q->upload_fd < 0)
        return -errno;
    if (gnutls_hash_init(&q->sha, GNUTLS_DIG_SHA256) < 0) {
        eb_upload_abort(api, q);
        return -EIO;
    }
    q->sha_open = 1;
    return 0;
}

static void eb_upload_chunk(EbApi *api, EbReq *q, const char *data, size_t size)
{
    if (q->upload_failed || q->too_big)
        return;
    if (q->upload_size + (int64_t)size > api->cfg.limits_max_input_size) {
        q->too_big = 1;
        eb_upload_abort(api, q);
        return;
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = write(q->upload_fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            q->upload_failed = 1;
            eb_upload_abort(api, q);
            return;
        }
        done += (size_t)n;
    }
    gnutls_hash(q->sha, data, size);
    q->upload_size += (int64_t)size;
}

static enum MHD_Result eb_upload_finish(EbApi *api, struct MHD_Connection *c, EbReq *q)
{
    unsigned char d[32];
    char hex[65], from[PATH_MAX + 64], to[PATH_MAX + 64];

    if (q->too_big)
        return eb_reply_error(api, c, 413, NULL, "upload larger than limits.max_input_size (%lld)",
                              (long long)api->cfg.limits_max_input_size);
    if (q->upload_failed || q->upload_fd < 0)
        return eb_reply_error(api, c, 507, NULL, "cannot store the upload");
    if (q->upload_size == 0) {
        eb_upload_abort(api, q);
        return eb_reply_error(api, c, 400, NULL, "empty upload");
    }
    gnutls_hash_deinit(q->sha, d);
    q->sha_open = 0;
    eb_hex(d, sizeof(d), hex);
    snprintf(from, sizeof(from), "%s/%s.part", api->uploads, q->upload_id);
    snprintf(to, sizeof(to), "%s/%s", api->uploads, q->upload_id);
    if (fsync(q->upload_fd) < 0 || close(q->upload_fd) < 0 || rename(from, to) < 0) {
        q->upload_fd = -1;
        unlink(from);
        return eb_reply_error(api, c, 507, NULL, "cannot store the upload");
    }
    q->upload_fd = -1;
    return eb_reply_json(api, c, 201,
                         json_pack("{s:s, s:I, s:s, s:s+}", "id", q->upload_id, "size",
                                   (json_int_t)q->upload_size, "sha256", hex, "input",
                                   "upload:", q->upload_id));
}

/* GET /v1/uploads: finished uploads only (a partial one is <id>.part and
 * never listed), oldest first, each with whether a queued or running job
 * needs it. */
static enum MHD_Result eb_uploads_list(EbApi *api, struct MHD_Connection *c)
{
    DIR *dir = opendir(api->uploads);
    struct dirent *e;
    json_t *arr = json_array();

    if (!dir) {
        json_decref(arr);
        return eb_reply_error(api, c, 500, NULL, "cannot read the upload folder");
    }
    while ((e = readdir(dir))) {
        char path[PATH_MAX + 320]; /* + "/" + any d_name */
        struct stat sb;
        if (strlen(e->d_name) != EB_UPLOAD_ID_LEN ||
            strspn(e->d_name, "0123456789abcdef") != EB_UPLOAD_ID_LEN)
            continue;
        snprintf(path, sizeof(path), "%s/%s", api->uploads, e->d_name);
        if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
            continue;
        json_array_append_new(arr, json_pack("{s:s, s:I, s:f, s:s+, s:b}", "id", e->d_name, "size",
                                             (json_int_t)sb.st_size, "created_at",
                                             sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9, "input",
                                             "upload:", e->d_name, "in_use",
                                             eb_jobs_input_busy(api->jobs, path)));
    }
    closedir(dir);
    /* readdir order is the file system's: sort by time, then id. */
    for (size_t i = 1; i < json_array_size(arr); i++)
        for (size_t k = i; k > 0; k--) {
            json_t *a = json_array_get(arr, k - 1), *b = json_array_get(arr, k);
            double ta = json_real_value(json_object_get(a, "created_at")),
                   tb = json_real_value(json_object_get(b, "created_at"));
            if (ta < tb || (ta == tb && strcmp(json_string_value(json_object_get(a, "id")),
                                               json_string_value(json_object_get(b, "id"))) <= 0))
                break;
            json_incref(a);
            json_array_set(arr, k - 1, b);
            json_array_set_new(arr, k, a);
        }
    return eb_reply_json(api, c, 200,
                         json_pack("{s:o, s:I}", "uploads", arr, "retention_seconds",
                                   (json_int_t)api->upload_retention));
}

/* Removes <id>.part files: called before the daemon serves, when none can
 * be in progress (they are what a crash mid-upload leaves). */
static void eb_uploads_remove_partial(EbApi *api)
{
    DIR *dir = opendir(api->uploads);
    struct dirent *e;

    if (!dir)
        return;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        char path[PATH_MAX + 320];
        if (n != EB_UPLOAD_ID_LEN + 5 || strcmp(e->d_name + EB_UPLOAD_ID_LEN, ".part"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", api->uploads, e->d_name);
        if (unlink(path) == 0)
            EB_LOGI("api", "removed the partial upload %s", e->d_name);
    }
    closedir(dir);
}

/* ---- dispatch ----------------------------------------------------------- */

/* ---- GET /v1/events: the WebSocket of the console (eb_ws.h) ------------- */

/* EbWs's done: the hub is through with the socket. */
static void eb_ws_done(void *opaque)
{
    MHD_upgrade_action(opaque, MHD_UPGRADE_ACTION_CLOSE);
}

static void eb_ws_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                           size_t extra_in_size, MHD_socket sock,
                           struct MHD_UpgradeResponseHandle *urh)
{
    EbApi *api = cls;
    EbReq *q = con_cls;
    (void)c;
    eb_ws_adopt(api->ws, sock, extra_in, extra_in_size, q->ws_topic, q->ws_flags, eb_ws_done, urh);
}

/* The WebSocket handshake (RFC 6455 4.2) onto topic (flags: eb_ws_adopt's);
 * the token, where one is needed, comes in the first message (eb_ws.h). */
static enum MHD_Result eb_ws_handshake(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                       const char *method, const char *topic, int flags)
{
    const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    struct MHD_Response *r;
    char accept[29];

    if (strcmp(method, "GET"))
        return eb_reply_error(api, c, 405, NULL, "method not allowed");
    if (!up || strcasecmp(up, "websocket") || !ver || strcmp(ver, "13")) {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Upgrade", "websocket");
        MHD_add_response_header(r, "Sec-WebSocket-Version", "13");
        return eb_queue(api, c, 426, r);
    }
    if (!key || eb_ws_accept_key(key, accept) < 0)
        return eb_reply_error(api, c, 400, NULL, "Sec-WebSocket-Key is not a WebSocket key");
    if (!api->ws || eb_ws_count(api->ws) >= EB_WS_MAX_CONNECTIONS)
        return eb_reply_error(api, c, 503, NULL, "too many WebSockets are open on this box");
    if ((flags & EB_WS_OPEN) && eb_ws_topic_count(api->ws, topic) >= api->cfg.chat_viewers)
        return eb_reply_error(api, c, 503, NULL,
                              "this channel's chat has %d viewers on this box "
                              "(chat.viewers_per_channel)",
                              api->cfg.chat_viewers);
    snprintf(q->ws_topic, sizeof(q->ws_topic), "%s", topic);
    q->ws_flags = flags;
    r = MHD_create_response_for_upgrade(eb_ws_upgraded, api);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    return eb_queue(api, c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
}

/* ---- a channel's chat (eb_chat.h) --------------------------------------- */

typedef struct EbWindowRead {
    EbApi *api;
    int s3; /* from the bucket's copy (a window another box carries) */
} EbWindowRead;

/* eb_chat_window_edge's read: a file of the live tree, here or in the
 * bucket. */
static int eb_api_window_read(void *opaque, const char *path, char **text)
{
    EbWindowRead *w = opaque;
    char full[PATH_MAX], err[256];
    uint8_t *data = NULL;
    size_t len;
    int ret;

    *text = NULL;
    if (w->s3) {
        if (snprintf(full, sizeof(full), EB_LAYOUT_LIVE_DIR "/%s", path) >= (int)sizeof(full))
            return EB_ERR(ENAMETOOLONG);
        ret = eb_s3_get(&w->api->s3, full, text, &len, NULL, NULL, 0, err, sizeof(err));
        if (ret < 0 && ret != EB_ERR(ENOENT))
            EB_LOGW("chat", "the bucket's %s: %s", full, err);
        return ret;
    }
    if (snprintf(full, sizeof(full), "%s/%s", w->api->live, path) >= (int)sizeof(full))
        return EB_ERR(ENAMETOOLONG);
    ret = eb_storage_read_file(full, 1 << 20, &data, &len);
    *text = (char *)data;
    return ret;
}

/* EbChatConfig.edge: the channel's live window here, else (a rack) the
 * bucket's copy of it. */
static int eb_api_chat_edge(void *opaque, const char *channel_id, double *date)
{
    EbApi *api = opaque;
    EbWindowRead local = {api, 0}, bucket = {api, 1};
    EbChannelSpec spec;
    char item[128], master[256];
    int ret;

    if (eb_channels_spec(api->channels, channel_id, &spec) < 0)
        return EB_ERR(ENOENT);
    ret = eb_layout_path(EB_LAYOUT_HLS_MASTER, NULL, 1, item, sizeof(item));
    explicit_bzero(spec.srt_passphrase, sizeof(spec.srt_passphrase));
    if (ret < 0 ||
        snprintf(master, sizeof(master), "%s/%s", spec.name, item) >= (int)sizeof(master))
        return EB_ERR(ENAMETOOLONG);
    ret = eb_chat_window_edge(eb_api_window_read, &local, master, date);
    if (ret == EB_ERR(ENOENT) && api->has_s3)
        ret = eb_chat_window_edge(eb_api_window_read, &bucket, master, date);
    return ret;
}

/* The hub's hooks: the chat, once it is open. */
static void eb_api_ws_message(void *opaque, uint64_t conn, const char *topic, int moderator,
                              const char *text, size_t len)
{
    EbApi *api = opaque;
    if (api->chat)
        eb_chat_ws_message(api->chat, conn, topic, moderator, text, len);
}

static void eb_api_ws_join(void *opaque, uint64_t conn, const char *topic)
{
    EbApi *api = opaque;
    if (api->chat)
        eb_chat_ws_join(api->chat, conn, topic);
}

/* GET .../chat: the WebSocket (an open topic: viewers need no token), or
 * without an upgrade the stored items (?from=&to=&limit=, for a
 * recording's replay); DELETE .../chat/{item}: a moderator's removal. */
static enum MHD_Result eb_chat_route(EbApi *api, struct MHD_Connection *c, EbReq *q,
                                     const char *method, const char *channel, const char *item)
{
    char id[sizeof(((EbChannelSpec *)0)->id)], topic[EB_WS_TOPIC_MAX];
    json_t *o = NULL;
    int ret;

    if (!api->chat)
        return eb_reply_error(api, c, 503, NULL, "the chat is not running");
    if (eb_channels_get(api->channels, channel, &o) < 0)
        return eb_reply_media_error(api, c, 404, NULL, "no such channel");
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    if (item) {
        char *end;
        long long n = strtoll(item, &end, 10);
        if (strcmp(method, "DELETE"))
            return eb_reply_not_allowed(api, c, "DELETE");
        if (!*item || *end || n <= 0)
            return eb_reply_error(api, c, 404, NULL, "no such chat item");
        ret = eb_chat_delete(api->chat, id, n);
        if (ret == EB_ERR(ENOENT))
            return eb_reply_error(api, c, 404, NULL, "no such chat item in this channel");
        if (ret < 0)
            return eb_reply_error(api, c, 500, NULL, "the chat store failed");
        return eb_queue(api, c, 204,
                        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
    }
    if (strcmp(method, "GET"))
        return eb_reply_not_allowed(api, c, "GET");
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade")) {
        snprintf(topic, sizeof(topic), EB_CHAT_TOPIC_PREFIX "%s", id);
        return eb_ws_handshake(api, c, q, method, topic, EB_WS_OPEN);
    }
    {
        const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
        const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
        const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
        double f = 0, t = 1e12;
        int limit = EB_CHAT_REPLAY_MAX;
        char *end;
        if (from && (f = strtod(from, &end), !*from || *end || !isfinite(f)))
            return eb_reply_media_error(api, c, 400, NULL, "from is unix seconds");
        if (to && (t = strtod(to, &end), !*to || *end || !isfinite(t)))
            return eb_reply_media_error(api, c, 400, NULL, "to is unix seconds");
        if (eb_parse_int(lim, EB_CHAT_REPLAY_MAX, 1, EB_CHAT_REPLAY_MAX, &limit) < 0)
            return eb_reply_media_error(api, c, 400, NULL, "limit is 1 to %d", EB_CHAT_REPLAY_MAX);
        if (eb_chat_history(api->chat, id, f, t, limit, &o) < 0)
            return eb_reply_media_error(api, c, 500, NULL, "the chat store failed");
        {
            struct MHD_Response *r = eb_json_response(o); /* takes o */
            if (!r)
                return MHD_NO;
            MHD_add_response_header(r, "Cache-Control", "no-store");
            eb_cors_media(api, r);
            return eb_queue(api, c, 200, r);
        }
    }
}

/* ---- player beacons (eb_beacons.h) ------------------------------------- */

/* The connection's peer address as text ("?" when unknown). */
static void eb_client_addr(struct MHD_Connection *c, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, size, "?");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

/* The target a beacon or an analytics request names exists: a published
 * video (its folder under /videos), or a channel by id or name (its id
 * written back into target). 0 or EB_ERR(ENOENT). */
static int eb_beacon_target(EbApi *api, EbBeaconKind kind, char *target, size_t size)
{
    json_t *view = NULL;
    char dir[PATH_MAX];
    struct stat st;

    if (kind == EB_BEACON_VIDEO)
        return eb_storage_id_valid(target) &&
                       snprintf(dir, sizeof(dir), "%s/%s", api->videos, target) <
                           (int)sizeof(dir) &&
                       stat(dir, &st) == 0 && S_ISDIR(st.st_mode)
                   ? 0
                   : EB_ERR(ENOENT);
    if (!api->channels || eb_channels_get(api->channels, target, &view) < 0)
        return EB_ERR(ENOENT);
    snprintf(target, size, "%s", json_string_value(json_object_get(view, "id")));
    json_decref(view);
    return 0;
}

static enum MHD_Result eb_beacon_post(EbApi *api, struct MHD_Connection *c, EbReq *q)
{
    char client[INET6_ADDRSTRLEN + 1], field[64], msg[400];
    struct MHD_Response *r;
    double retry = 1;
    EbBeacon bc;

    eb_client_addr(c, client, sizeof(client));
    if (!eb_beacons_admit(api->beacons, client, eb_clock_seconds(), &retry))
        return eb_reply_media_error(api, c, 429, NULL,
                                    "too many beacons from %s (at most %.0f a second)", client,
                                    EB_BEACON_RATE);
    if (q->too_big || q->len > EB_BEACON_MAX_BYTES) {
        eb_beacons_refused(api->beacons, "too_large");
        return eb_reply_media_error(api, c, 413, NULL, "a beacon is at most %d bytes",
                                    EB_BEACON_MAX_BYTES);
    }
    if (eb_beacon_parse(q->body ? q->body : "", q->len, &bc, field, sizeof(field), msg,
                        sizeof(msg)) < 0) {
        eb_beacons_refused(api->beacons, "invalid");
        return eb_reply_media_error(api, c, 400, field, "%s", msg);
    }
    if (eb_beacon_target(api, bc.kind, bc.target, sizeof(bc.target)) < 0) {
        eb_beacons_refused(api->beacons, "unknown");
        return eb_reply_media_error(
            api, c, 404, bc.kind == EB_BEACON_VIDEO ? "video_id" : "channel_id", "no such %s: %s",
            bc.kind == EB_BEACON_VIDEO ? "published video" : "channel", bc.target);
    }
    eb_beacons_add(api->beacons, &bc, (double)time(NULL));
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    eb_cors_media(api, r);
    return eb_queue(api, c, 204, r);
}

/* GET /v1/analytics?video_id=X or ?channel_id=X: what the players said. */
static enum MHD_Result eb_analytics(EbApi *api, struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "video_id");
    const char *ch = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "channel_id");
    EbBeaconKind kind = v ? EB_BEACON_VIDEO : EB_BEACON_CHANNEL;
    char target[129];
    json_t *o;

    if (!v == !ch)
        return eb_reply_error(api, c, 400, "video_id", "give video_id or channel_id (one)");
    if (snprintf(target, sizeof(target), "%s", v ? v : ch) >= (int)sizeof(target) ||
        eb_beacon_target(api, kind, target, sizeof(target)) < 0)
        return eb_reply_error(api, c, 404, v ? "video_id" : "channel_id", "no such %s",
                              v ? "published video" : "channel");
    o = eb_beacons_analytics(api->beacons, kind, target, (double)time(NULL));
    return o ? eb_reply_json(api, c, 200, o) : MHD_NO;
}

/* ---- the web console: static files at / and /console/ ------------------ */

/* The console's folder: console/ beside the binary (a build tree), else
 * ../share/encbox/console (installed); "" when neither holds index.html. */
static void eb_console_dir(const char *exe, char *out, size_t size)
{
    char dir[PATH_MAX], try[PATH_MAX + 64], real[PATH_MAX];
    const char *slash = strrchr(exe, '/');

    out[0] = 0;
    if (!slash)
        return;
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - exe), exe);
    for (int i = 0; i < 2; i++) {
        snprintf(try, sizeof(try),
                 i ? "%s/../share/encbox/console/index.html" : "%s/console/index.html", dir);
        if (realpath(try, real)) {
            *strrchr(real, '/') = 0;
            snprintf(out, size, "%s", real);
            return;
        }
    }
}

/* GET / and /console/<file>: no token (the pages hold nothing; every
 * call they make needs it). */
static enum MHD_Result eb_console_route(EbApi *api, struct MHD_Connection *c, const char *method,
                                        const char *url)
{
    char real[PATH_MAX];

    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return eb_reply_error(api, c, 405, NULL, "method not allowed");
    if (!api->console[0])
        return eb_reply_error(api, c, 404, NULL,
                              "the web console is not installed beside this encbox binary "
                              "(console/ or ../share/encbox/console)");
    if (eb_origin_path(api->console, !strcmp(url, "/") ? "index.html" : url + 9, real) < 0)
        return eb_reply_error(api, c, 404, NULL, "no such file of the web console");
    return eb_origin_serve(api, c, real, 0);
}

/* /v1/channels/{id or name}/chat */
static int eb_is_chat_url(const char *url)
{
    const char *slash;
    if (strncmp(url, "/v1/channels/", 13))
        return 0;
    slash = strchr(url + 13, '/');
    return slash && slash > url + 13 && !strcmp(slash, "/chat");
}

static enum MHD_Result eb_handle(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *data_size, void **con_cls)
{
    EbApi *api = cls;
    EbReq *q = *con_cls;
    int is_v1 = !strncmp(url, "/v1/", 4);
    int is_upload = !strcmp(url, "/v1/uploads") && !strcmp(method, "POST");
    /* players on any page send beacons: no token, keyed to a video or channel */
    int is_beacon = !strcmp(url, "/v1/beacons") && !strcmp(method, "POST");
    /* a browser's WebSocket cannot send a token header: it comes in the
     * socket's first message (eb_ws.h) */
    int is_events = !strcmp(url, "/v1/events");
    /* a channel's chat and its replay are the viewers': no token (a
     * moderator sends one on the socket; DELETE needs it) */
    int is_chat = !strcmp(method, "GET") && eb_is_chat_url(url);
    enum MHD_Result r;
    (void)version;

    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q)
            return MHD_NO;
        q->upload_fd = -1;
        *con_cls = q;
        if (!strcmp(method, "OPTIONS"))
            return MHD_YES;
        if ((is_v1 && strcmp(url, "/v1/health") && strcmp(url, "/v1/time") && !is_beacon &&
             !is_events && !is_chat) ||
            (api->cfg.api_metrics_auth && !strcmp(url, "/metrics"))) {
            if (!eb_auth_ok(api, c))
                return eb_reply_error(api, c, 401, NULL, "a valid bearer token is required");
            q->authed = 1;
        }
        if (is_upload) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoll(cl, NULL, 10) > api->cfg.limits_max_input_size)
                return eb_reply_error(api, c, 413, NULL,
                                      "upload larger than limits.max_input_size (%lld)",
                                      (long long)api->cfg.limits_max_input_size);
            if (eb_upload_begin(api, q) < 0)
                return eb_reply_error(api, c, 507, NULL, "cannot store the upload");
        }
        return MHD_YES;
    }
    if (*data_size) {
        if (is_upload) {
            eb_upload_chunk(api, q, data, *data_size);
        } else if (!q->too_big) {
            if (q->len + *data_size > EB_API_MAX_JSON) {
                q->too_big = 1;
            } else {
                if (q->len + *data_size + 1 > q->cap) {
                    size_t cap = (q->len + *data_size + 1) * 2;
                    char *b = realloc(q->body, cap);
                    if (!b)
                        return MHD_NO;
                    q->body = b;
                    q->cap = cap;
                }
                memcpy(q->body + q->len, data, *data_size);
                q->len += *data_size;
                q->body[q->len] = 0;
            }
        }
        *data_size = 0;
        return MHD_YES;
    }

    if (!strcmp(method, "OPTIONS")) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Access-Control-Allow-Methods",
                                "GET, HEAD, POST, DELETE, OPTIONS");
        MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Range");
        MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
        if (!strncmp(url, EB_ORIGIN_VIDEOS, sizeof(EB_ORIGIN_VIDEOS) - 1) ||
            !strncmp(url, EB_ORIGIN_LIVE, sizeof(EB_ORIGIN_LIVE) - 1) || !strncmp(url, "/s/", 3) ||
            !strcmp(url, "/v1/beacons") || eb_is_chat_url(url))
            eb_cors_media(api, r);
        return eb_queue(api, c, 204, r);
    }
    if (!strcmp(url, "/v1/health")) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        return eb_reply_json(api, c, 200, json_pack("{s:s}", "status", "ok"));
    }
    if (!strcmp(url, "/v1/time")) {
        /* urn:mpeg:dash:utc:http-iso:2014: the time, to the millisecond,
         * never cached, open to every origin (players on other pages). */
        struct timespec ts;
        struct tm tm;
        char *text = malloc(64);
        struct MHD_Response *r;
        if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
            free(text);
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        }
        if (!text)
            return MHD_NO;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(text, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain");
        MHD_add_response_header(r, "Cache-Control", "no-store");
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        return eb_queue(api, c, 200, r);
    }
    if (is_upload)
        return eb_upload_finish(api, c, q);
    if (!strcmp(url, "/v1/beacons")) {
        if (!is_beacon)
            return eb_reply_media_error(api, c, 405, NULL, "method not allowed");
        return eb_beacon_post(api, c, q);
    }
    if (is_events)
        return eb_ws_handshake(api, c, q, method, "events", 0);
    if (!strcmp(url, "/v1/analytics")) {
        if (strcmp(method, "GET"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        return eb_analytics(api, c);
    }
    if (!strcmp(url, "/v1/uploads")) {
        if (strcmp(method, "GET"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        return eb_uploads_list(api, c);
    }
    if (!strcmp(url, "/v1/jobs") || !strncmp(url, "/v1/jobs/", 9))
        return eb_jobs_route(api, c, method, url + 8, q);
    if (!strcmp(url, "/v1/channels") || !strncmp(url, "/v1/channels/", 13))
        return eb_channels_route(api, c, method, url + 12, q);
    if (!strcmp(url, "/v1/devices")) {
        if (strcmp(method, "GET"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        return eb_devices(api, c);
    }
    if (!strcmp(url, "/v1/boxes")) {
        if (strcmp(method, "GET"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        return eb_boxes(api, c);
    }
    if (!strcmp(url, "/v1/webhooks")) {
        if (strcmp(method, "GET"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        return eb_webhooks_route(api, c);
    }
    if (!strcmp(url, "/metrics") && !strcmp(method, "GET"))
        return eb_metrics(api, c);
    if (!strcmp(url, "/") || !strncmp(url, "/console/", 9))
        return eb_console_route(api, c, method, url);
    if (!strncmp(url, EB_ORIGIN_VIDEOS, sizeof(EB_ORIGIN_VIDEOS) - 1) || !strncmp(url, "/s/", 3)) {
        int signed_only;
        if (url[1] == 's')
            return eb_origin_signed(api, c, q, method, url + 3);
        /* keys and licenses: the API token (a signed link is the other way) */
        if (eb_key_route(api, c, q, method, url + sizeof(EB_ORIGIN_VIDEOS) - 1,
                         "a valid bearer token or a signed link is required", &r))
            return r;
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        pthread_rwlock_rdlock(&api->secrets_lock);
        signed_only = api->sign_key_len > 0;
        pthread_rwlock_unlock(&api->secrets_lock);
        if (signed_only)
            return eb_reply_error(api, c, 403, NULL, "this origin serves signed links only");
        return eb_origin_file(api, c, api->videos, url + sizeof(EB_ORIGIN_VIDEOS) - 1, 0);
    }
    if (!strncmp(url, EB_ORIGIN_LIVE, sizeof(EB_ORIGIN_LIVE) - 1)) {
        int signed_only;
        /* a protected channel's license and key: the API token (there are
         * no signed live links) */
        if (eb_key_route(api, c, q, method, url + sizeof(EB_ORIGIN_LIVE) - 1,
                         "a valid bearer token is required", &r))
            return r;
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return eb_reply_error(api, c, 405, NULL, "method not allowed");
        pthread_rwlock_rdlock(&api->secrets_lock);
        signed_only = api->sign_key_len > 0;
        pthread_rwlock_unlock(&api->secrets_lock);
        if (signed_only) /* no signed live links yet: never serve a window openly */
            return eb_reply_error(api, c, 403, NULL, "this origin serves signed links only");
        return eb_origin_live(api, c, q, url + sizeof(EB_ORIGIN_LIVE) - 1);
    }
    return eb_reply_error(api, c, 404, NULL, "no such endpoint");
}

static void eb_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    EbApi *api = cls;
    EbReq *q = *con_cls;
    (void)c;
    (void)toe;
    if (!q)
        return;
    eb_hold_drop(api, q);    /* no-op unless it ends while held */
    eb_upload_abort(api, q); /* no-op once the upload was kept */
    free(q->body);
    free(q);
    *con_cls = NULL;
}

/* ---- the command ------------------------------------------------------ */

/* Held requests keep their sockets open, so the soft limit on open files is
 * raised toward the hard one (at most 65536; the workers inherit it), and
 * both bounds follow from what it allows: *max_held requests held at once
 * (at most EB_HOLD_MAX), *conn_limit connections per listening daemon. */
static void eb_origin_limits(int nb_daemons, int *max_held, unsigned *conn_limit)
{
    struct rlimit rl;
    rlim_t avail = 1024, usable;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
            rl.rlim_cur = want;
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                getrlimit(RLIMIT_NOFILE, &rl);
        }
        avail = rl.rlim_cur == RLIM_INFINITY ? 65536 : rl.rlim_cur;
    }
    /* 256 kept for the rest of the daemon: the database, workers' pipes,
     * the ingest listeners, files being served. */
    usable = avail > 512 ? avail - 256 : avail / 2;
    *max_held = (int)(usable * 3 / 4 < EB_HOLD_MAX ? usable * 3 / 4 : EB_HOLD_MAX);
    usable /= (rlim_t)(nb_daemons > 0 ? nb_daemons : 1);
    *conn_limit = (unsigned)(usable < EB_HOLD_MAX + 1024 ? usable : EB_HOLD_MAX + 1024);
}

#define EB_API_MAX_LISTEN 8 /* addresses one daemon serves */

/* The API's listen addresses: eb_net's form, with a fixed port. */
static int eb_parse_listen(const char *s, struct sockaddr_storage *ss)
{
    if (eb_net_parse_listen(s, ss, NULL) < 0 || eb_net_port(ss) < 1)
        return -EINVAL;
    return 0;
}

static int eb_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static char *eb_under_root(const char *root, const char *p)
{
    char *out = NULL;
    if (p[0] == '/')
        return strdup(p);
    if (asprintf(&out, "%s/%s", root, p) < 0)
        return NULL;
    return out;
}

static void eb_serve_usage(FILE *f)
{
    fprintf(f, "usage: encbox serve [--config FILE] [--listen HOST:PORT] [--storage DIR]\n"
               "                    [--input-root DIR]... [--token-file FILE]... [--db FILE]\n"
               "                    [--max-jobs N] [--upload-retention DURATION]\n"
               "                    [--srt-listen HOST:PORT] [--rtmp-listen HOST:PORT] [-v]\n");
}

/* Sets a string setting from a flag: eb_config_set reads YAML, in which
 * "[::]:9000" would be a list, so the value goes in as one quoted scalar. */
static void eb_serve_set_string(EbConfig *cfg, const char *name, const char *value,
                                EbConfigErrors *errs)
{
    char yaml[600];
    size_t n = 0;

    yaml[n++] = '"';
    for (const char *p = value; *p && n < sizeof(yaml) - 3; p++) {
        if (*p == '"' || *p == '\\')
            yaml[n++] = '\\';
        yaml[n++] = *p;
    }
    yaml[n++] = '"';
    yaml[n] = '\0';
    eb_config_set(cfg, name, yaml, errs);
}

/* "90", "90s", "15m", "24h", "7d" -> seconds; 0 is allowed (never). */
static int eb_parse_duration(const char *s, int64_t *out)
{
    char *end;
    long long v;
    int64_t mul = 1;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || v < 0 || errno)
        return -EINVAL;
    if (*end) {
        switch (*end) {
        case 's':
            mul = 1;
            break;
        case 'm':
            mul = 60;
            break;
        case 'h':
            mul = 3600;
            break;
        case 'd':
            mul = 86400;
            break;
        default:
            return -EINVAL;
        }
        if (end[1])
            return -EINVAL;
    }
    if (v > (long long)(INT64_MAX / 86400))
        return -EINVAL;
    *out = (int64_t)v * mul;
    return 0;
}

/* SIGHUP: reads the configuration again. A file with errors changes
 * nothing (every error is logged as FILE:LINE: message). Otherwise the
 * settings that changed are applied when the daemon can apply them live
 * (log level and format, limits.max_jobs up to the start-up value) and
 * listed as needing a restart when it cannot. Workers read the file when
 * they start, so job settings (jobs.*, ladders, thumbnails) reach new jobs'
 * encodes; the daemon's own request checks keep the start-up values until
 * a restart, and are listed so. */
/* SIGHUP: the token files and the signing key are read again (a rotation
 * is the point of a reload) and swapped in whole. A file that cannot be
 * read, token files that hold no token, or no token left on a public
 * address keep the running secrets, with the reason logged. Returns 1 when
 * something was swapped. */
static int eb_api_reload_secrets(EbApi *api, const EbConfig *cfg)
{
    char *tokens[EB_API_MAX_TOKENS] = {0};
    char *paths[EB_API_MAX_TOKENS] = {0};
    unsigned char key[256];
    ssize_t klen = 0;
    int nb = 0, nb_paths = 0, changed;

    if (api->tokens_from_flags) {
        for (int i = 0; i < api->nb_token_paths; i++)
            paths[nb_paths++] = strdup(api->token_paths[i]);
    } else {
        for (int i = 0; i < cfg->api_token_files.nb && nb_paths < EB_API_MAX_TOKENS; i++)
            paths[nb_paths++] = strdup(cfg->api_token_files.items[i]);
    }
    for (int i = 0; i < nb_paths; i++)
        if (!paths[i] || eb_read_tokens(paths[i], tokens, &nb) < 0) {
            EB_LOGE("api", "SIGHUP: cannot read token file %s: keeping the running tokens",
                    paths[i] ? paths[i] : "?");
            goto keep;
        }
    if (nb_paths > 0 && nb == 0) {
        EB_LOGE("api", "SIGHUP: the token files hold no token: keeping the running tokens");
        goto keep;
    }
    if (nb == 0 && api->public_listen) {
        EB_LOGE("api", "SIGHUP: no token left on a non-loopback address: keeping the running "
                       "tokens");
        goto keep;
    }
    if (cfg->api_signing_key_file[0]) {
        klen = eb_read_key(cfg->api_signing_key_file, key, sizeof(key));
        if (klen <= 0) {
            EB_LOGE("api", "SIGHUP: cannot read the signing key %s: keeping the running secrets",
                    cfg->api_signing_key_file);
            goto keep;
        }
    }
    pthread_rwlock_wrlock(&api->secrets_lock);
    changed = nb != api->nb_tokens || (size_t)klen != api->sign_key_len ||
              memcmp(key, api->sign_key, (size_t)klen);
    for (int i = 0; !changed && i < nb; i++)
        changed = strcmp(tokens[i], api->tokens[i]) != 0;
    eb_free_tokens(api->tokens, api->nb_tokens);
    memcpy(api->tokens, tokens, sizeof(tokens[0]) * (size_t)nb);
    api->nb_tokens = nb;
    explicit_bzero(api->sign_key, sizeof(api->sign_key));
    memcpy(api->sign_key, key, (size_t)klen);
    api->sign_key_len = (size_t)klen;
    for (int i = 0; i < api->nb_token_paths; i++)
        free(api->token_paths[i]);
    memcpy(api->token_paths, paths, sizeof(paths[0]) * (size_t)nb_paths);
    api->nb_token_paths = nb_paths;
    pthread_rwlock_unlock(&api->secrets_lock);
    explicit_bzero(key, sizeof(key));
    EB_LOGI("api", "SIGHUP: %d token%s and %s signing key loaded", nb, nb == 1 ? "" : "s",
            klen > 0 ? "the" : "no");
    return changed;
keep:
    eb_free_tokens(tokens, nb);
    for (int i = 0; i < nb_paths; i++)
        free(paths[i]);
    explicit_bzero(key, sizeof(key));
    return 0;
}

static void eb_api_reload(EbApi *api, const char *config_path, int verbose)
{
    EbConfig cfg = {0};
    EbConfigErrors errs = {0};
    EbConfigDiff diff;
    AVBPrint applied, restart;
    EbLogLevel level;

    eb_config_load(config_path, &cfg, &errs);
    if (eb_config_errors_count(&errs) > 0) {
        for (int i = 0; i < errs.nb; i++)
            EB_LOGE("config", "%s:%d: %s", errs.items[i].file, errs.items[i].line,
                    errs.items[i].message);
        EB_LOGE("api", "SIGHUP: the configuration has errors; keeping the running one");
        goto end;
    }
    eb_config_diff(&api->cfg, &cfg, &diff);
    av_bprint_init(&applied, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&restart, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (int i = 0; i < diff.nb_runtime; i++) {
        const char *name = diff.runtime[i];
        if (!strcmp(name, "log.level") && eb_log_level_parse(cfg.log_level, &level) == 0) {
            eb_log_set_level(level);
            for (int v = 0; v < verbose; v++)
                if (eb_log_get_level() < EB_LOG_TRACE)
                    eb_log_set_level(eb_log_get_level() + 1);
            snprintf(api->cfg.log_level, sizeof(api->cfg.log_level), "%s", cfg.log_level);
        } else if (!strcmp(name, "log.format")) {
            eb_log_set_format(strcmp(cfg.log_format, "json") == 0 ? EB_LOG_JSON : EB_LOG_TEXT);
            snprintf(api->cfg.log_format, sizeof(api->cfg.log_format), "%s", cfg.log_format);
        } else if (!strcmp(name, "api.token_files") || !strcmp(name, "api.signing_key_file")) {
            /* read again below, changed or not */
        } else if (!strcmp(name, "limits.max_input_size")) {
            api->cfg.limits_max_input_size = cfg.limits_max_input_size;
        } else if (!strcmp(name, "limits.max_jobs")) {
            int now = eb_jobs_set_max_jobs(api->jobs, cfg.limits_max_jobs);
            api->cfg.limits_max_jobs = cfg.limits_max_jobs;
            if (now != cfg.limits_max_jobs) {
                av_bprintf(&applied, "%slimits.max_jobs=%d", applied.len ? ", " : "", now);
                av_bprintf(&restart, "%slimits.max_jobs above %d", restart.len ? ", " : "", now);
                continue;
            }
        } else {
            av_bprintf(&restart, "%s%s", restart.len ? ", " : "", name);
            continue;
        }
        av_bprintf(&applied, "%s%s", applied.len ? ", " : "", name);
    }
    for (int i = 0; i < diff.nb_restart; i++) {
        if (!strcmp(diff.restart[i], "api.token_files") ||
            !strcmp(diff.restart[i], "api.signing_key_file")) {
            av_bprintf(&applied, "%s%s", applied.len ? ", " : "", diff.restart[i]);
            continue;
        }
        av_bprintf(&restart, "%s%s", restart.len ? ", " : "", diff.restart[i]);
    }
    if (eb_api_reload_secrets(api, &cfg)) {
        char *key_file = strdup(cfg.api_signing_key_file);
        av_bprintf(&applied, "%stokens and signing key", applied.len ? ", " : "");
        if (key_file) {
            free(api->cfg.api_signing_key_file);
            api->cfg.api_signing_key_file = key_file;
        }
    }
    EB_LOGI("api", "SIGHUP: configuration reloaded; applied now: %s; needs a restart: %s",
            applied.len ? applied.str : "none", restart.len ? restart.str : "none");
    av_bprint_finalize(&applied, NULL);
    av_bprint_finalize(&restart, NULL);
end:
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
}

static EbApiCapacityReader eb_api_capacity_reader;

void eb_api_set_capacity_reader(EbApiCapacityReader reader)
{
    eb_api_capacity_reader = reader;
}

/* The box's measured capacity (limits.bench_report) and the live capacity
 * in force: live.capacity_mpixels, else the report's live figure, else the
 * estimate. 0, or -1 with the reason printed (the daemon does not start). */
static int eb_api_capacity(EbApi *api)
{
    const char *path = api->cfg.limits_bench_report;
    json_t *live;
    char err[600] = "";

    if (path && path[0]) {
        if (!eb_api_capacity_reader)
            snprintf(err, sizeof(err), "this binary cannot read bench reports");
        else
            api->capacity = eb_api_capacity_reader(path, err, sizeof(err));
        if (!api->capacity) {
            fprintf(stderr, "encbox: limits.bench_report: %s\n", err);
            return -1;
        }
    }
    live = json_object_get(api->capacity, "live");
    if (api->cfg.live_capacity_mpixels > 0) {
        api->live_mpixels = api->cfg.live_capacity_mpixels;
        api->live_mpixels_source = "live.capacity_mpixels";
    } else if (json_number_value(json_object_get(live, "mpixels_per_second")) > 0) {
        api->live_mpixels = json_number_value(json_object_get(live, "mpixels_per_second"));
        api->live_mpixels_source = "limits.bench_report";
    } else {
        api->live_mpixels = eb_channel_runs_estimate() / 1e6;
        api->live_mpixels_source = "estimate (60 per online core)";
    }
    return 0;
}

int eb_api_serve_cli(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"storage", required_argument, NULL, 's'},
                                         {"input-root", required_argument, NULL, 'i'},
                                         {"token-file", required_argument, NULL, 't'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"max-jobs", required_argument, NULL, 'm'},
                                         {"watchdog", required_argument, NULL, 'w'},
                                         {"upload-retention", required_argument, NULL, 'u'},
                                         {"srt-listen", required_argument, NULL, 'S'},
                                         {"rtmp-listen", required_argument, NULL, 'R'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL, *listen = NULL, *storage = NULL, *db = NULL;
    const char *srt_listen = NULL, *rtmp_listen = NULL; /* override live.*_listen */
    const char *roots[EB_API_MAX_ROOTS], *tokens[EB_API_MAX_TOKENS];
    int nb_roots = 0, nb_tok = 0, max_jobs = 0, watchdog = 600, verbose = 0, c, code = 1, sig;
    struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}};
    char *tls_cert = NULL, *tls_key = NULL;
    size_t tls_cert_len = 0, tls_key_len = 0;
    EbApi *api = calloc(1, sizeof(*api));
    EbConfigErrors errs = {0};
    EbJobsConfig jc = {0};
    EbChannelsConfig chc = {0};
    /* One listening daemon per address: --listen, or every api.listen entry. */
    struct sockaddr_storage ss[EB_API_MAX_LISTEN];
    const char *addrs[EB_API_MAX_LISTEN];
    struct MHD_Daemon *d[EB_API_MAX_LISTEN] = {0};
    int nb_addrs = 0, max_held = 0;
    unsigned conn_limit = 0;
    char exe[PATH_MAX], *tmp;
    sigset_t set;
    ssize_t n;
    EbLogLevel level;

    if (!api)
        return 1;
    pthread_mutex_init(&api->stats_lock, NULL);
    pthread_rwlock_init(&api->secrets_lock, NULL);
    api->upload_retention = EB_API_UPLOAD_RETENTION_S;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 's':
            storage = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'i':
            if (nb_roots < EB_API_MAX_ROOTS)
                roots[nb_roots++] = optarg;
            break;
        case 't':
            if (nb_tok < EB_API_MAX_TOKENS)
                tokens[nb_tok++] = optarg;
            break;
        case 'm':
            max_jobs = atoi(optarg);
            break;
        case 'w':
            watchdog = atoi(optarg);
            break;
        case 'u':
            if (eb_parse_duration(optarg, &api->upload_retention) < 0) {
                fprintf(stderr,
                        "encbox: --upload-retention %s: expected a duration like 90s, "
                        "30m, 24h or 7d (0: keep uploads)\n",
                        optarg);
                code = 2;
                goto done;
            }
            break;
        case 'S':
            srt_listen = optarg;
            break;
        case 'R':
            rtmp_listen = optarg;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            eb_serve_usage(stdout);
            code = 0;
            goto done;
        default:
            eb_serve_usage(stderr);
            code = 2;
            goto done;
        }
    }
    if (optind != argc || watchdog < 1 || max_jobs < 0 || max_jobs > 256) {
        eb_serve_usage(stderr);
        code = 2;
        goto done;
    }
    eb_config_load(config_path, &api->cfg, &errs);
    /* The ingest flags go through the settings table, so a bad one gets
     * the message a bad file line gets; then the cross-field checks again
     * (RTMP against api.listen), unless --listen replaced those addresses:
     * a clash with it fails the listener's bind, with its own message. */
    if (eb_config_errors_count(&errs) == 0 && (srt_listen || rtmp_listen)) {
        if (srt_listen)
            eb_serve_set_string(&api->cfg, "live.srt_listen", srt_listen, &errs);
        if (rtmp_listen)
            eb_serve_set_string(&api->cfg, "live.rtmp_listen", rtmp_listen, &errs);
        if (eb_config_errors_count(&errs) == 0 && !listen)
            eb_config_validate(&api->cfg, &errs);
    }
    if (eb_config_errors_count(&errs) > 0) {
        eb_config_errors_print(&errs, stderr);
        code = 2;
        goto done;
    }
    eb_log_set_level(EB_LOG_INFO);
    if (eb_log_level_parse(api->cfg.log_level, &level) == 0)
        eb_log_set_level(level);
    for (int i = 0; i < verbose; i++)
        if (eb_log_get_level() < EB_LOG_TRACE)
            eb_log_set_level(eb_log_get_level() + 1);
    eb_log_set_format(strcmp(api->cfg.log_format, "json") == 0 ? EB_LOG_JSON : EB_LOG_TEXT);
    if (!storage)
        storage = api->cfg.storage_root;
    if (listen)
        addrs[nb_addrs++] = listen;
    for (int i = 0; !listen && i < api->cfg.api_listen.nb && nb_addrs < EB_API_MAX_LISTEN; i++)
        addrs[nb_addrs++] = api->cfg.api_listen.items[i];
    if (nb_addrs == 0)
        addrs[nb_addrs++] = "127.0.0.1:8080";
    if (!listen && api->cfg.api_listen.nb > EB_API_MAX_LISTEN) {
        fprintf(stderr, "encbox: api.listen has %d addresses; at most %d are served\n",
                api->cfg.api_listen.nb, EB_API_MAX_LISTEN);
        code = 2;
        goto done;
    }
    if (max_jobs == 0)
        max_jobs = api->cfg.limits_max_jobs;
    for (int i = 0; i < nb_addrs; i++)
        if (eb_parse_listen(addrs[i], &ss[i]) < 0) {
            fprintf(stderr,
                    "encbox: listen address %s: expected HOST:PORT (IPv4, or [IPv6]:PORT)\n",
                    addrs[i]);
            code = 2;
            goto done;
        }
    if (eb_storage_prepare(storage) < 0 || !realpath(storage, api->storage)) {
        fprintf(stderr, "encbox: storage %s: cannot create or open it\n", storage);
        goto done;
    }
    if (snprintf(api->videos, sizeof(api->videos), "%s/" EB_LAYOUT_VIDEOS_DIR, api->storage) >=
            (int)sizeof(api->videos) ||
        snprintf(api->live, sizeof(api->live), "%s/" EB_LAYOUT_LIVE_DIR, api->storage) >=
            (int)sizeof(api->live) ||
        eb_storage_mkdirs(api->live) < 0)
        goto done;
    tmp = eb_under_root(api->storage, api->cfg.storage_uploads);
    snprintf(api->uploads, sizeof(api->uploads), "%s", tmp ? tmp : "");
    free(tmp);
    if (snprintf(api->work, sizeof(api->work), "%s/.api", api->storage) >= (int)sizeof(api->work))
        goto done;
    if (!db)
        db = api->cfg.jobs_database;
    if (eb_sql_target_is_pg(db)) {
        /* A rack: jobs and channels are in the shared PostgreSQL. */
        snprintf(api->db, sizeof(api->db), "%s", db);
    } else {
        tmp = eb_under_root(api->storage, db);
        snprintf(api->db, sizeof(api->db), "%s", tmp ? tmp : "");
        free(tmp);
    }
    /* the workers' key store: their rule (eb_job_spec_vod.c) */
    if (eb_job_key_store(api->storage, db, api->key_store, sizeof(api->key_store)) < 0)
        goto done;
    if (eb_storage_mkdirs(api->uploads) < 0 || eb_storage_mkdirs(api->work) < 0) {
        fprintf(stderr, "encbox: cannot create %s or %s\n", api->uploads, api->work);
        goto done;
    }
    if (nb_roots == 0)
        for (int i = 0; i < api->cfg.input_roots.nb && nb_roots < EB_API_MAX_ROOTS; i++)
            roots[nb_roots++] = api->cfg.input_roots.items[i];
    for (int i = 0; i < nb_roots; i++) {
        char real[PATH_MAX];
        if (!realpath(roots[i], real)) {
            fprintf(stderr, "encbox: input root %s: %s\n", roots[i], strerror(errno));
            code = 2;
            goto done;
        }
        api->roots[api->nb_roots++] = strdup(real);
    }
    api->tokens_from_flags = nb_tok > 0;
    if (nb_tok == 0)
        for (int i = 0; i < api->cfg.api_token_files.nb && nb_tok < EB_API_MAX_TOKENS; i++)
            tokens[nb_tok++] = api->cfg.api_token_files.items[i];
    for (int i = 0; i < nb_tok; i++) {
        api->token_paths[api->nb_token_paths++] = strdup(tokens[i]);
        if (eb_read_tokens(tokens[i], api->tokens, &api->nb_tokens) < 0) {
            fprintf(stderr, "encbox: cannot read token file %s: %s\n", tokens[i], strerror(errno));
            code = 2;
            goto done;
        }
    }
    if (nb_tok > 0 && api->nb_tokens == 0) {
        fprintf(stderr, "encbox: the token files hold no token\n");
        code = 2;
        goto done;
    }
    for (int i = 0; i < nb_addrs; i++) {
        api->public_listen |= !eb_is_loopback(&ss[i]);
        if (api->nb_tokens == 0 && !eb_is_loopback(&ss[i])) {
            fprintf(stderr, "encbox: refusing to serve %s without a token (--token-file)\n",
                    addrs[i]);
            code = 2;
            goto done;
        }
    }
    if (api->cfg.api_signing_key_file[0]) {
        n = eb_read_key(api->cfg.api_signing_key_file, api->sign_key, sizeof(api->sign_key));
        if (n <= 0) {
            fprintf(stderr, "encbox: cannot read the signing key %s\n",
                    api->cfg.api_signing_key_file);
            code = 2;
            goto done;
        }
        api->sign_key_len = (size_t)n;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "encbox: cannot find its own binary\n");
        goto done;
    }
    exe[n] = 0;
    eb_console_dir(exe, api->console, sizeof(api->console));

    /* Signals: the main thread waits for them; every other thread (MHD's,
     * the scheduler, the monitors) inherits the blocked mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: the webhooks' sender */

    {
        const EbHalBackend *const *b = eb_hal_backends();
        for (int i = 0; b[i] && i < EB_API_MAX_ROOTS - 1; i++)
            api->backends[i] = b[i]->name;
    }
    if (api->cfg.api_public_base_url[0])
        snprintf(api->box_address, sizeof(api->box_address), "%s", api->cfg.api_public_base_url);
    else if (nb_addrs > 0)
        snprintf(api->box_address, sizeof(api->box_address), "%s://%s",
                 api->cfg.api_tls_cert[0] ? "https" : "http", addrs[0]);
    jc.exe = exe;
    jc.storage_root = api->storage;
    jc.config_path = api->cfg.path;
    jc.db_path = api->db;
    jc.work_dir = api->work;
    jc.base_url = api->cfg.api_public_base_url;
    if (api->cfg.s3_endpoint[0]) {
        /* players reach the bucket at its public base (a CDN), else the
         * endpoint's path-style URL; the layout's paths follow the prefix */
        const char *pfx = api->cfg.s3_prefix;
        const char *sep = *pfx && pfx[strlen(pfx) - 1] != '/' ? "/" : "";
        if (api->cfg.s3_public_base_url[0])
            snprintf(api->object_base, sizeof(api->object_base), "%s/%s%s",
                     api->cfg.s3_public_base_url, pfx, sep);
        else
            snprintf(api->object_base, sizeof(api->object_base), "%s/%s/%s%s", api->cfg.s3_endpoint,
                     api->cfg.s3_bucket, pfx, sep);
        jc.object_base_url = api->object_base;
    }
    jc.max_jobs = max_jobs;
    jc.watchdog_seconds = watchdog;
    jc.history_seconds = api->cfg.jobs_history;
    api->worker_roots[0] = api->uploads;
    for (int i = 0; i < api->nb_roots; i++)
        api->worker_roots[i + 1] = api->roots[i];
    jc.input_roots = (const char *const *)api->worker_roots;
    jc.uploads_dir = api->uploads;
    jc.upload_retention_seconds = api->upload_retention;
    jc.admit = eb_api_admit;
    jc.admit_opaque = api;
    jc.box = api->cfg.name;
    jc.box_address = api->box_address;
    jc.lease_seconds = (int)api->cfg.jobs_lease;
    jc.box_info = eb_api_box_info;
    jc.box_info_opaque = api;
    jc.on_event = eb_api_event;
    jc.on_event_opaque = api;
    {
        char err[512];
        EbWebhooksConfig wc = {.url = api->cfg.webhooks_url,
                               .secret_file = api->cfg.webhooks_secret_file,
                               .db_path = api->db,
                               .box = api->cfg.name};
        if (eb_webhooks_open(&wc, &api->webhooks, err, sizeof(err)) < 0) {
            fprintf(stderr, "encbox: webhooks: %s\n", err);
            code = 2;
            goto done;
        }
    }
    if (api->cfg.s3_endpoint[0]) {
        /* Every worker reads the credentials when it uploads: a box whose
         * credentials cannot be read says so now, not with every job. */
        char err[512];
        int ret = eb_s3_init(&api->s3, api->cfg.s3_endpoint, api->cfg.s3_bucket, api->cfg.s3_region,
                             api->cfg.s3_prefix, api->cfg.s3_path_style, api->cfg.s3_part_size,
                             api->cfg.s3_credentials_file, err, sizeof(err));
        /* kept: the chat reads other boxes' live windows from the bucket */
        api->has_s3 = ret == 0;
        if (ret < 0) {
            fprintf(stderr, "encbox: storage.s3: %s\n", err);
            code = 2;
            goto done;
        }
    }
    eb_uploads_remove_partial(api);
    if (eb_api_capacity(api) < 0) {
        code = 2;
        goto done;
    }
    if (eb_beacons_open(&api->beacons) < 0) {
        fprintf(stderr, "encbox: out of memory\n");
        goto done;
    }
    {
        EbWsConfig wc = {.token_ok = eb_ws_token_ok,
                         .opaque = api,
                         .on_message = eb_api_ws_message,
                         .on_join = eb_api_ws_join,
                         .rate = api->cfg.chat_rate,
                         .burst = api->cfg.chat_rate > 5 ? api->cfg.chat_rate : 5,
                         .max_per_topic = api->cfg.chat_viewers};
        if (eb_ws_open(&wc, &api->ws) < 0) {
            fprintf(stderr, "encbox: cannot start the WebSocket hub\n");
            goto done;
        }
    }
    if (eb_api_devices_open(&api->cfg, NULL, &api->devices) < 0) {
        fprintf(stderr, "encbox: out of memory\n");
        goto done;
    }
    if (eb_jobs_open(&jc, &api->jobs) < 0) {
        /* never a URL's password */
        fprintf(stderr, "encbox: cannot open the job database %s\n",
                eb_sql_target_is_pg(api->db) ? "(jobs.database, the PostgreSQL URL)" : api->db);
        goto done;
    }
    /* The channels share the job database (their own tables and
     * connection; a rack's PostgreSQL, where they are placed by leases). The ingest addresses are
     * what their URLs print. */
    if (eb_channels_public_addr(api->cfg.live_srt_listen, api->cfg.live_public_host,
                                api->srt_public, sizeof(api->srt_public)) < 0 ||
        eb_channels_public_addr(api->cfg.live_rtmp_listen, api->cfg.live_public_host,
                                api->rtmp_public, sizeof(api->rtmp_public)) < 0) {
        fprintf(stderr, "encbox: cannot name the address publishers dial (live.public_host)\n");
        goto done;
    }
    chc.db_path = api->db;
    chc.box = api->cfg.name;
    chc.lease_seconds = (int)api->cfg.jobs_lease;
    chc.storage_root = api->storage;
    chc.base_url = api->cfg.api_public_base_url;
    chc.key_store = api->key_store;
    chc.srt_public = api->srt_public;
    chc.rtmp_public = api->rtmp_public;
    chc.on_end = eb_api_channel_ended;
    chc.on_end_opaque = api;
    chc.on_event = eb_api_event;
    chc.on_event_opaque = api;
    if (eb_channels_open(&chc, &api->channels) < 0) {
        fprintf(stderr, "encbox: cannot open the channel store in %s\n",
                eb_sql_target_is_pg(api->db) ? "(jobs.database, the PostgreSQL URL)" : api->db);
        goto done;
    }
    {
        EbChatConfig cc = {.db = api->db,
                           .box = api->cfg.name,
                           .ws = api->ws,
                           .edge = eb_api_chat_edge,
                           .opaque = api,
                           .max_chars = api->cfg.chat_max_chars,
                           .history = api->cfg.chat_history,
                           .keep_days = api->cfg.chat_keep_days,
                           .channel_rate = api->cfg.chat_channel_rate};
        if (eb_chat_open(&cc, &api->chat) < 0) {
            fprintf(stderr, "encbox: cannot open the chat store in %s\n",
                    eb_sql_target_is_pg(api->db) ? "(jobs.database, the PostgreSQL URL)" : api->db);
            goto done;
        }
    }
    if (api->cfg.live_srt_listen[0] || api->cfg.live_rtmp_listen[0]) {
        char utc[600];
        /* The clock players sync to: absolute with a public base URL, else
         * a path on the origin that served the MPD's page. */
        snprintf(utc, sizeof(utc), "%s/v1/time", api->cfg.api_public_base_url);
        EbChannelRunsConfig rc = {.exe = exe,
                                  .utc_timing_url = utc,
                                  .capacity_pixel_rate = api->live_mpixels * 1e6,
                                  .hang_seconds = api->cfg.live_worker_timeout,
                                  .storage_root = api->storage,
                                  .config_path = api->cfg.path,
                                  .srt_listen = api->cfg.live_srt_listen,
                                  .rtmp_listen = api->cfg.live_rtmp_listen,
                                  .channels = api->channels,
                                  .key_store = api->key_store,
                                  .public_base_url = api->cfg.api_public_base_url};
        char why[256] = "";
        if (eb_channel_runs_open(&rc, &api->runs, why, sizeof(why)) < 0) {
            fprintf(stderr, "encbox: cannot listen for live ingest (SRT %s, RTMP %s): %s\n",
                    api->cfg.live_srt_listen[0] ? api->cfg.live_srt_listen : "off",
                    api->cfg.live_rtmp_listen[0] ? api->cfg.live_rtmp_listen : "off", why);
            goto done;
        }
        if (api->cfg.live_srt_listen[0])
            fprintf(stderr, "encbox: SRT ingest on %s\n", api->cfg.live_srt_listen);
        if (api->cfg.live_rtmp_listen[0])
            fprintf(stderr, "encbox: RTMP ingest on %s\n", api->cfg.live_rtmp_listen);
    }
    /* HTTPS when the configuration names a certificate and key (both or
     * neither: firmware-config checks that). */
    if (api->cfg.api_tls_cert[0]) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "encbox: api.tls_cert is set but libmicrohttpd has no TLS support\n");
            code = 2;
            goto done;
        }
        tls_cert = eb_read_pem(api->cfg.api_tls_cert, &tls_cert_len);
        tls_key = eb_read_pem(api->cfg.api_tls_key, &tls_key_len);
        if (!tls_cert || !tls_key) {
            fprintf(stderr, "encbox: cannot read %s\n",
                    !tls_cert ? api->cfg.api_tls_cert : api->cfg.api_tls_key);
            code = 2;
            goto done;
        }
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    eb_origin_limits(nb_addrs, &max_held, &conn_limit);
    if (eb_holds_start(&api->holds, max_held) < 0) {
        fprintf(stderr, "encbox: cannot start the origin's watcher (inotify)\n");
        goto done;
    }
    /* MHD_USE_AUTO: epoll on Linux, so sockets past FD_SETSIZE (held
     * requests) are served; suspend/resume for the held requests. */
    for (int i = 0; i < nb_addrs; i++) {
        d[i] = MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
                MHD_USE_ERROR_LOG | (ss[i].ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                (tls_cert ? MHD_USE_TLS : 0),
            0, NULL, NULL, eb_handle, api, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss[i],
            MHD_OPTION_THREAD_POOL_SIZE, 4U, MHD_OPTION_NOTIFY_COMPLETED, eb_completed, api,
            MHD_OPTION_CONNECTION_TIMEOUT, 120U, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
            MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
        if (!d[i]) {
            fprintf(stderr, "encbox: cannot listen on %s: %s\n", addrs[i], strerror(errno));
            code = errno == EADDRINUSE ? 98 : 1;
            goto done;
        }
    }
    if (eb_jobs_start(api->jobs) < 0 || eb_webhooks_start(api->webhooks) < 0) {
        fprintf(stderr, "encbox: cannot start the scheduler\n");
        goto done;
    }
    for (int i = 0; i < nb_addrs; i++) {
        EB_LOGI("api", "listening on %s://%s (storage %s, %d input roots, %s)",
                tls_cert ? "https" : "http", addrs[i], api->storage, api->nb_roots,
                api->nb_tokens ? "token required" : "open: loopback only, no token");
        fprintf(stderr, "encbox: serving on %s\n", addrs[i]);
    }
    while (sigwait(&set, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
        if (sig == SIGHUP)
            eb_api_reload(api, config_path, verbose);
    EB_LOGI("api", "stopping");
    code = 0;
done:
    eb_holds_stop(&api->holds); /* libmicrohttpd stops only with nothing suspended */
    eb_chat_stop(api->chat);    /* it publishes to the hub */
    eb_ws_close(&api->ws);      /* and with its upgraded sockets given back */
    eb_chat_close(&api->chat);  /* the hub called into it */
    for (int i = 0; i < nb_addrs; i++)
        if (d[i])
            MHD_stop_daemon(d[i]);
    eb_holds_close(&api->holds);
    eb_jobs_close(&api->jobs);
    eb_channel_runs_close(&api->runs); /* before the store its runs write to */
    eb_channels_close(&api->channels);
    eb_webhooks_close(&api->webhooks); /* after every store that emits */
    json_decref(api->capacity);
    eb_beacons_close(&api->beacons);
    eb_api_devices_close(&api->devices);
    eb_config_errors_free(&errs);
    eb_config_free(&api->cfg);
    for (int i = 0; i < api->nb_roots; i++)
        free(api->roots[i]);
    eb_free_tokens(api->tokens, api->nb_tokens);
    for (int i = 0; i < api->nb_token_paths; i++)
        free(api->token_paths[i]);
    explicit_bzero(api->sign_key, sizeof(api->sign_key));
    explicit_bzero(&api->s3, sizeof(api->s3));
    if (tls_key)
        explicit_bzero(tls_key, tls_key_len);
    free(tls_key);
    free(tls_cert);
    pthread_mutex_destroy(&api->stats_lock);
    pthread_rwlock_destroy(&api->secrets_lock);
    free(api);
    return code;
}
