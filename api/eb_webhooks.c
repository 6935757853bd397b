/*
 * Lifecycle webhooks: recorded in the job database, sent by eb-webhooks
 * with libcurl, signed with GnuTLS's HMAC-SHA256 (see eb_webhooks.h).
 *
 * A delivery is claimed before it is sent: its next_at moves past the
 * request's timeout (in a short transaction that skips rows other boxes
 * are claiming), and the POST runs outside any transaction. A box that
 * dies while sending leaves the row to be retried by any box once that
 * time has passed. Times are the database's clock (eb_sql_now), so the
 * boxes of a rack agree on them.
 */
#include "eb_webhooks.h"

#include <curl/curl.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "eb_clock.h"
#include "eb_log.h"
#include "eb_secret_file.h"
#include "eb_sql.h"

#define EB_WEBHOOK_BACKOFF_S 2.0
#define EB_WEBHOOK_BACKOFF_MAX_S 600.0
#define EB_WEBHOOK_CLAIM_S (EB_WEBHOOK_TIMEOUT_S + 5)

struct EbWebhooks {
    char url[2048];
    char box[64];
    char secret[EB_WEBHOOK_SECRET_MAX];
    EbSql *db;
    pthread_mutex_t lock; /* db, stop */
    pthread_cond_t cond;  /* an event was recorded, or stop */
    int stop, started;
    pthread_t thread;
};

int eb_webhooks_signature(const char *secret, long long t, const char *body, char *out, size_t size)
{
    unsigned char mac[32];
    char *msg;
    int n;
    size_t len;

    if (size < 96)
        return -EINVAL;
    len = strlen(body) + 32;
    if (!(msg = malloc(len)))
        return -ENOMEM;
    n = snprintf(msg, len, "%lld.%s", t, body);
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, strlen(secret), msg, (size_t)n, mac) < 0) {
        free(msg);
        return -EIO;
    }
    free(msg);
    n = snprintf(out, size, "t=%lld,v1=", t);
    for (int i = 0; i < 32; i++)
        n += snprintf(out + n, size - (size_t)n, "%02x", mac[i]);
    return 0;
}

/* The first line of path: the secret. The file must be the owner's only. */
static int eb_wh_read_secret(const char *path, char *out, size_t size, char *err, size_t esize)
{
    int ret;
    FILE *f = eb_secret_fopen(path, "webhooks.secret_file", &ret, err, esize);

    if (!f)
        return ret;
    if (!fgets(out, (int)size, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    if (!out[0]) {
        snprintf(err, esize, "webhooks.secret_file %s holds no secret", path);
        return -EINVAL;
    }
    return 0;
}

int eb_webhooks_open(const EbWebhooksConfig *cfg, EbWebhooks **out, char *err, size_t size)
{
    EbWebhooks *w;
    int ret;

    *out = NULL;
    err[0] = 0;
    if (!cfg->url || !*cfg->url)
        return 0;
    if (!(w = calloc(1, sizeof(*w))))
        return -ENOMEM;
    snprintf(w->url, sizeof(w->url), "%s", cfg->url);
    snprintf(w->box, sizeof(w->box), "%s", cfg->box ? cfg->box : "");
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (cfg->secret_file && *cfg->secret_file &&
        (ret = eb_wh_read_secret(cfg->secret_file, w->secret, sizeof(w->secret), err, size)) < 0)
        goto fail;
    if ((ret = eb_sql_open(cfg->db_path, "webhooks", &w->db)) < 0) {
        snprintf(err, size, "cannot open the job database for the webhook deliveries");
        goto fail;
    }
    /* DOUBLE PRECISION is REAL to SQLite; boxes starting together make the
     * table once (PostgreSQL's advisory lock). */
    ret = eb_sql_is_pg(w->db) ? eb_sql_exec(w->db, "SELECT pg_advisory_lock(7361627)") : 0;
    if (ret == 0)
        ret = eb_sql_exec(
            w->db, "CREATE TABLE IF NOT EXISTS webhook_deliveries (id TEXT PRIMARY KEY,"
                   " event TEXT NOT NULL, body TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,"
                   " box TEXT, state TEXT NOT NULL DEFAULT 'pending',"
                   " attempts INTEGER NOT NULL DEFAULT 0, next_at DOUBLE PRECISION NOT NULL,"
                   " last_status INTEGER, last_error TEXT, delivered DOUBLE PRECISION);"
                   "CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries(state, next_at);");
    if (eb_sql_is_pg(w->db))
        eb_sql_exec(w->db, "SELECT pg_advisory_unlock(7361627)");
    if (ret < 0) {
        snprintf(err, size, "cannot make the webhook_deliveries table");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    eb_webhooks_close(&w);
    return ret;
}

void eb_webhooks_emit(EbWebhooks *w, const char *event, const json_t *data)
{
    unsigned char r[8];
    char id[17], sql[256], *text;
    double now = eb_clock_unix();
    json_t *o;
    EbSqlStmt *st;

    if (!w)
        return;
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        memset(r, 0, sizeof(r));
    for (size_t i = 0; i < sizeof(r); i++)
        sprintf(id + 2 * i, "%02x", r[i]);
    o = json_pack("{s:s, s:s, s:f, s:s, s:O}", "id", id, "event", event, "created_at", now, "box",
                  w->box, "data", data ? data : json_null());
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        EB_LOGE("webhooks", "%s: out of memory, the event is lost", event);
        return;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO webhook_deliveries (id, event, body, created, box, next_at) "
             "VALUES (?, ?, ?, ?, ?, %s)",
             eb_sql_now(w->db));
    pthread_mutex_lock(&w->lock);
    if ((st = eb_sql_prepare(w->db, sql))) {
        eb_sql_bind_text(st, 1, id);
        eb_sql_bind_text(st, 2, event);
        eb_sql_bind_text(st, 3, text);
        eb_sql_bind_double(st, 4, now);
        eb_sql_bind_text(st, 5, w->box);
        if (eb_sql_step(st) < 0)
            EB_LOGE("webhooks", "%s: cannot record the event, it is lost", event);
    }
    eb_sql_finalize(st);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    free(text);
}

typedef struct EbDelivery {
    char id[40], event[64];
    char *body;
    int attempts;
} EbDelivery;

/* Claims the oldest due delivery (lock held): 1 with d filled (d->body
 * the caller's), 0 when none is due, -EIO. */
static int eb_wh_claim(EbWebhooks *w, EbDelivery *d)
{
    char sql[320];
    EbSqlStmt *st;
    int pg = eb_sql_is_pg(w->db), rc;

    if (eb_sql_exec(w->db, pg ? "BEGIN" : "BEGIN IMMEDIATE") < 0)
        return -EIO;
    snprintf(sql, sizeof(sql),
             "SELECT id, event, body, attempts FROM webhook_deliveries WHERE state = 'pending' "
             "AND next_at <= %s ORDER BY created LIMIT 1%s",
             eb_sql_now(w->db), pg ? " FOR UPDATE SKIP LOCKED" : "");
    st = eb_sql_prepare(w->db, sql);
    rc = st ? eb_sql_step(st) : -EIO;
    if (rc == 1) {
        snprintf(d->id, sizeof(d->id), "%s", eb_sql_text(st, 0));
        snprintf(d->event, sizeof(d->event), "%s", eb_sql_text(st, 1));
        d->body = strdup(eb_sql_text(st, 2));
        d->attempts = (int)eb_sql_int64(st, 3);
    }
    eb_sql_finalize(st);
    if (rc == 1) {
        snprintf(sql, sizeof(sql), "UPDATE webhook_deliveries SET next_at = %s + ? WHERE id = ?",
                 eb_sql_now(w->db));
        st = eb_sql_prepare(w->db, sql);
        eb_sql_bind_double(st, 1, EB_WEBHOOK_CLAIM_S);
        eb_sql_bind_text(st, 2, d->id);
        if (!st || eb_sql_step(st) < 0 || !d->body)
            rc = -EIO;
        eb_sql_finalize(st);
    }
    if (rc == 1 && eb_sql_exec(w->db, "COMMIT") == 0)
        return 1;
    eb_sql_exec(w->db, "ROLLBACK");
    free(d->body);
    d->body = NULL;
    return rc < 0 ? rc : 0;
}

static size_t eb_wh_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* POSTs d; the HTTP status (0 when none came) and an error text. */
static long eb_wh_post(EbWebhooks *w, const EbDelivery *d, char *err, size_t size)
{
    char sig[160], h[5][256], curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    CURL *c = curl_easy_init();
    long status = 0;
    CURLcode rc;

    err[0] = 0;
    if (!c) {
        snprintf(err, size, "out of memory");
        return 0;
    }
    snprintf(h[0], sizeof(h[0]), "Content-Type: application/json");
    snprintf(h[1], sizeof(h[1]), "Encbox-Event: %s", d->event);
    snprintf(h[2], sizeof(h[2]), "Encbox-Delivery: %s", d->id);
    snprintf(h[3], sizeof(h[3]), "User-Agent: encbox-webhooks/1");
    h[4][0] = 0;
    if (w->secret[0] &&
        eb_webhooks_signature(w->secret, (long long)time(NULL), d->body, sig, sizeof(sig)) == 0)
        snprintf(h[4], sizeof(h[4]), "Encbox-Signature: %s", sig);
    for (int i = 0; i < 5; i++)
        if (h[i][0])
            headers = curl_slist_append(headers, h[i]);
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)EB_WEBHOOK_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, eb_wh_discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status > 299)
            snprintf(err, size, "HTTP %ld", status);
    } else {
        snprintf(err, size, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return status;
}

/* Records how the delivery went (lock held). */
static void eb_wh_record(EbWebhooks *w, const EbDelivery *d, long status, const char *err)
{
    char sql[400];
    int ok = status >= 200 && status <= 299, attempts = d->attempts + 1;
    int last = !ok && attempts >= EB_WEBHOOK_MAX_ATTEMPTS;
    double delay = EB_WEBHOOK_BACKOFF_S;
    EbSqlStmt *st;

    for (int i = 1; i < attempts && delay < EB_WEBHOOK_BACKOFF_MAX_S; i++)
        delay *= 2;
    if (delay > EB_WEBHOOK_BACKOFF_MAX_S)
        delay = EB_WEBHOOK_BACKOFF_MAX_S;
    snprintf(sql, sizeof(sql),
             "UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, "
             "last_error = ?, next_at = %s + ?, delivered = CASE WHEN ?1 = 'delivered' THEN %s "
             "ELSE NULL END WHERE id = ?",
             eb_sql_now(w->db), eb_sql_now(w->db));
    if ((st = eb_sql_prepare(w->db, sql))) {
        eb_sql_bind_text(st, 1, ok ? "delivered" : last ? "failed" : "pending");
        eb_sql_bind_int64(st, 2, attempts);
        if (status)
            eb_sql_bind_int64(st, 3, status);
        else
            eb_sql_bind_null(st, 3);
        eb_sql_bind_text(st, 4, ok ? NULL : err);
        eb_sql_bind_double(st, 5, ok ? 0 : delay);
        eb_sql_bind_text(st, 6, d->id);
        eb_sql_step(st);
    }
    eb_sql_finalize(st);
    if (ok)
        EB_LOGD("webhooks", "%s %s delivered (HTTP %ld)", d->event, d->id, status);
    else if (last)
        EB_LOGW("webhooks", "%s %s: %s; given up after %d attempts", d->event, d->id, err,
                attempts);
    else
        EB_LOGW("webhooks", "%s %s: %s; attempt %d, next in %.0f s", d->event, d->id, err, attempts,
                delay);
}

static void *eb_wh_thread(void *arg)
{
    EbWebhooks *w = arg;

    pthread_setname_np(pthread_self(), "eb-webhooks");
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        EbDelivery d = {{0}};
        int rc = eb_wh_claim(w, &d);
        if (rc == 1) {
            char err[CURL_ERROR_SIZE + 32];
            long status;
            pthread_mutex_unlock(&w->lock);
            status = eb_wh_post(w, &d, err, sizeof(err));
            pthread_mutex_lock(&w->lock);
            eb_wh_record(w, &d, status, err);
            free(d.body);
            continue;
        }
        {
            /* Due ones of other boxes, and retries, come due with time. */
            double until = eb_clock_unix() + (rc < 0 ? 2.0 : 1.0);
            struct timespec ts = {.tv_sec = (time_t)until,
                                  .tv_nsec = (long)((until - (double)(time_t)until) * 1e9)};
            pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int eb_webhooks_start(EbWebhooks *w)
{
    if (!w || w->started)
        return 0;
    if (pthread_create(&w->thread, NULL, eb_wh_thread, w) != 0)
        return -EAGAIN;
    w->started = 1;
    return 0;
}

void eb_webhooks_close(EbWebhooks **pw)
{
    EbWebhooks *w = *pw;

    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (w->started)
        pthread_join(w->thread, NULL);
    eb_sql_close(&w->db);
    explicit_bzero(w->secret, sizeof(w->secret));
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
    *pw = NULL;
}

int eb_webhooks_list(EbWebhooks *w, int limit, json_t **out)
{
    EbSqlStmt *st;
    json_t *arr = json_array();

    *out = NULL;
    if (!arr)
        return -ENOMEM;
    if (w) {
        pthread_mutex_lock(&w->lock);
        st = eb_sql_prepare(w->db, "SELECT id, event, created, box, state, attempts, last_status, "
                                   "last_error, next_at, delivered FROM webhook_deliveries "
                                   "ORDER BY created DESC LIMIT ?");
        eb_sql_bind_int64(st, 1, limit);
        while (st && eb_sql_step(st) == 1) {
            const char *state = eb_sql_text(st, 4);
            json_t *o = json_pack("{s:s, s:s, s:f, s:s, s:s, s:I}", "id", eb_sql_text(st, 0),
                                  "event", eb_sql_text(st, 1), "created_at", eb_sql_double(st, 2),
                                  "box", eb_sql_text(st, 3) ? eb_sql_text(st, 3) : "", "state",
                                  state ? state : "?", "attempts", (json_int_t)eb_sql_int64(st, 5));
            if (!o)
                continue;
            json_object_set_new(o, "last_status",
                                eb_sql_is_null(st, 6) ? json_null()
                                                      : json_integer(eb_sql_int64(st, 6)));
            json_object_set_new(o, "last_error",
                                eb_sql_text(st, 7) ? json_string(eb_sql_text(st, 7)) : json_null());
            json_object_set_new(o, "next_attempt_at",
                                state && !strcmp(state, "pending") ? json_real(eb_sql_double(st, 8))
                                                                   : json_null());
            json_object_set_new(o, "delivered_at",
                                eb_sql_is_null(st, 9) ? json_null()
                                                      : json_real(eb_sql_double(st, 9)));
            json_array_append_new(arr, o);
        }
        eb_sql_finalize(st);
        pthread_mutex_unlock(&w->lock);
    }
    *out = json_pack("{s:o, s:s?}", "deliveries", arr, "url", w ? w->url : NULL);
    return *out ? 0 : -ENOMEM;
}

int eb_webhooks_counts(EbWebhooks *w, int64_t counts[3])
{
    static const char *const names[3] = {"pending", "delivered", "failed"};
    EbSqlStmt *st;
    int ret = 0;

    counts[0] = counts[1] = counts[2] = 0;
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    st = eb_sql_prepare(w->db, "SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state");
    if (!st)
        ret = -EIO;
    while (st && eb_sql_step(st) == 1)
        for (int i = 0; i < 3; i++)
            if (eb_sql_text(st, 0) && !strcmp(eb_sql_text(st, 0), names[i]))
                counts[i] = eb_sql_int64(st, 1);
    eb_sql_finalize(st);
    pthread_mutex_unlock(&w->lock);
    return ret;
}
