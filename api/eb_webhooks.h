/*
 * Lifecycle webhooks (webhooks.url, webhooks.secret_file): the daemon POSTs
 * each job and channel event to the integrator as JSON, so nobody polls.
 *
 *   POST <webhooks.url>
 *   Content-Type: application/json
 *   Encbox-Event: job.succeeded
 *   Encbox-Delivery: <event id>            the same on every retry of it
 *   Encbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 *   {"id", "event", "created_at", "box", "data": {...}}
 *
 * Events: job.queued, job.started, job.progress (25, 50 and 75 %),
 * job.succeeded (data: the job object, with its output URLs), job.failed
 * (with the error), job.canceled; channel.live, channel.idle,
 * channel.ended, recording.published. data is the job or channel object
 * as the API shows it (never a secret: no stream key, no key bytes).
 *
 * Every event is recorded before it is sent (table webhook_deliveries, in
 * the job database: SQLite, or the rack's PostgreSQL), so one that cannot
 * be delivered now is not lost by a restart. A delivery succeeds on a 2xx
 * answer within EB_WEBHOOK_TIMEOUT_S; anything else is retried with
 * exponential back-off (2 s doubling, at most 10 min between tries) up to
 * EB_WEBHOOK_MAX_ATTEMPTS, then marked failed. In a rack each event is
 * recorded once by the box where it happened, and any box's sender may
 * deliver it (the row is claimed with FOR UPDATE SKIP LOCKED), so a box
 * that dies leaves nothing undelivered. GET /v1/webhooks lists the
 * deliveries with their attempts, last status and error.
 *
 * The receiver checks the signature over the timestamp and the raw body
 * with its copy of the secret, and refuses old timestamps (replays).
 *
 * Threads: eb-webhooks (one per daemon) sends; eb_webhooks_emit is called
 * from any thread (the job scheduler and monitors, the channel store, HTTP
 * threads) and only records the event. Its own database connection and
 * lock: callers may hold their own locks (never one the sender takes).
 */
#ifndef EB_WEBHOOKS_H
#define EB_WEBHOOKS_H

#include <jansson.h>
#include <stdint.h>

#define EB_WEBHOOK_TIMEOUT_S 10
#define EB_WEBHOOK_MAX_ATTEMPTS 12
#define EB_WEBHOOK_SECRET_MAX 256

typedef struct EbWebhooks EbWebhooks;

typedef struct EbWebhooksConfig {
    const char *url;         /* "" or NULL: events are not sent (nor recorded) */
    const char *secret_file; /* its first line is the secret; "" or NULL: unsigned */
    const char *db_path;     /* the job database (SQLite path or PostgreSQL URL) */
    const char *box;         /* this box's name, in every event */
} EbWebhooksConfig;

/* Opens the delivery table and reads the secret. A missing or unreadable
 * secret file, or one that others may read (mode & 077), is refused: the
 * daemon does not start. Returns 0 (with *out NULL when no URL is set) or
 * a negative errno with a message in err. */
int eb_webhooks_open(const EbWebhooksConfig *cfg, EbWebhooks **out, char *err, size_t size);

/* Starts the sender; 0 or -EAGAIN. */
int eb_webhooks_start(EbWebhooks *w);

/* Stops the sender (a delivery in flight is given up to its timeout; it
 * stays pending for the next start) and closes; NULLs *w. */
void eb_webhooks_close(EbWebhooks **w);

/* Records event with data (borrowed) for delivery. w may be NULL (no
 * webhooks): nothing happens. */
void eb_webhooks_emit(EbWebhooks *w, const char *event, const json_t *data);

/* {"deliveries": [{id, event, created_at, box, state, attempts, last_status,
 * last_error, next_attempt_at, delivered_at}], "url"}: the latest first. */
int eb_webhooks_list(EbWebhooks *w, int limit, json_t **out);

/* Deliveries recorded, by state: pending, delivered, failed (in the whole
 * rack's table). 0, or -EIO; all 0 when w is NULL. */
int eb_webhooks_counts(EbWebhooks *w, int64_t counts[3]);

/* The header value for body signed with secret at time t (exposed for
 * tests and for documentation of the scheme). out holds at least 96. */
int eb_webhooks_signature(const char *secret, long long t, const char *body, char *out,
                          size_t size);

#endif
