/*
 * The daemon's WebSocket hub (see eb_ws.h).
 *
 * DESIGN: libmicrohttpd does the HTTP upgrade and hands over a socket;
 * wslay (a small, well-kept framing library) does RFC 6455 on it; this
 * file owns the rest: one thread polls every connection, feeds wslay what
 * arrives and sends what wslay queued. Other threads never touch a
 * connection: they queue new connections and published events under the
 * mutex and write a byte to the wake pipe.
 */
#include "eb_ws.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <wslay/wslay.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_log.h"

#define EB_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define EB_WS_TICK_MS 500

typedef struct EbWs EbWs;

typedef struct EbWsConn {
    int used;
    EbWs *hub;
    int fd;
    wslay_event_context_ptr ctx;
    uint64_t id; /* the hub's name for it (eb_ws_send_to), never 0 */
    char topic[EB_WS_TOPIC_MAX];
    int open;                /* EB_WS_OPEN: a viewer without a token */
    int authed;              /* gets the topic's events */
    int moderator;           /* sent a valid token */
    double tokens, refilled; /* the message rate's bucket (open topics) */
    uint64_t since; /* the last event published before it signed in */
    double opened; /* monotonic seconds */
    uint8_t *extra;
    size_t extra_len, extra_off;
    void (*done)(void *opaque);
    void *done_opaque;
} EbWsConn;

typedef struct EbWsEvent {
    struct EbWsEvent *next;
    char topic[EB_WS_TOPIC_MAX];
    uint64_t to; /* one connection's id; 0: every one of topic */
    uint64_t seq;
    char *text;
} EbWsEvent;

struct EbWs {
    EbWsConfig cfg;
    pthread_mutex_t lock;
    pthread_t thread;
    int wake[2];
    int stop;
    /* queued for the thread (lock held) */
    EbWsConn pending[EB_WS_MAX_CONNECTIONS];
    int nb_pending;
    EbWsEvent *events, *events_tail;
    uint64_t seq;     /* of the last event queued */
    uint64_t next_id; /* of the next connection adopted */
    int count; /* open + pending */
    /* the thread's own */
    EbWsConn conns[EB_WS_MAX_CONNECTIONS];
};

int eb_ws_accept_key(const char *key, char out[29])
{
    gnutls_datum_t in, raw = {0}, b64 = {0};
    unsigned char sha[20];
    char buf[128];
    int ret;

    in.data = (unsigned char *)key;
    in.size = (unsigned)strlen(key);
    /* the key is 16 random bytes in base64: 24 characters */
    if (in.size != 24 || gnutls_base64_decode2(&in, &raw) < 0 || raw.size != 16) {
        gnutls_free(raw.data);
        return EB_ERR(EINVAL);
    }
    gnutls_free(raw.data);
    snprintf(buf, sizeof(buf), "%s%s", key, EB_WS_GUID);
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, strlen(buf), sha) < 0)
        return EB_ERR(EIO);
    raw.data = sha;
    raw.size = sizeof(sha);
    ret = gnutls_base64_encode2(&raw, &b64);
    if (ret < 0 || b64.size != 28) {
        gnutls_free(b64.data);
        return EB_ERR(EIO);
    }
    memcpy(out, b64.data, 28);
    out[28] = 0;
    gnutls_free(b64.data);
    return 0;
}

static void eb_ws_wake(EbWs *ws)
{
    char c = 1;
    if (write(ws->wake[1], &c, 1) < 0 && errno != EAGAIN)
        EB_LOGW("ws", "wake: %s", strerror(errno));
}

/* ---- wslay's callbacks (eb-ws only) ----------------------------------- */

static ssize_t eb_ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user)
{
    EbWsConn *c = user;
    ssize_t n;
    (void)flags;

    if (c->extra_off < c->extra_len) {
        /* what the client sent right after its request */
        n = (ssize_t)(c->extra_len - c->extra_off < len ? c->extra_len - c->extra_off : len);
        memcpy(buf, c->extra + c->extra_off, (size_t)n);
        c->extra_off += (size_t)n;
        return n;
    }
    do
        n = recv(c->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t eb_ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *user)
{
    EbWsConn *c = user;
    ssize_t n;

    do
        n = send(c->fd, data, len, MSG_NOSIGNAL | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static void eb_ws_send_text(EbWsConn *c, const char *text)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    wslay_event_queue_msg(c->ctx, &m);
}

static void eb_ws_close_with(EbWsConn *c, uint16_t code, const char *reason)
{
    wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
}

/* A message on an open topic: a token (the sender becomes a moderator), a
 * ping, or the rest, within the rate, for the hub's owner. */
static void eb_ws_open_msg(EbWsConn *c, json_t *o, const char *text, size_t len)
{
    const EbWsConfig *cfg = &c->hub->cfg;
    const char *token = json_string_value(json_object_get(o, "token"));
    const char *type = json_string_value(json_object_get(o, "type"));
    double now = eb_clock_seconds();
    char err[128];

    if (token) {
        if (cfg->token_ok(cfg->opaque, token)) {
            c->moderator = 1;
            eb_ws_send_text(c, "{\"type\":\"ready\",\"data\":{\"moderator\":true}}");
        } else {
            eb_ws_send_text(c, "{\"type\":\"error\",\"data\":{\"error\":\"that token does not "
                               "open this box's API: you are a viewer\"}}");
        }
        return;
    }
    if (type && !strcmp(type, "ping")) {
        eb_ws_send_text(c, "{\"type\":\"pong\"}");
        return;
    }
    if (!cfg->on_message)
        return;
    /* a token bucket: rate a second, burst at once */
    c->tokens += (now - c->refilled) * cfg->rate;
    if (c->tokens > cfg->burst)
        c->tokens = cfg->burst;
    c->refilled = now;
    if (c->tokens < 1) {
        snprintf(err, sizeof(err),
                 "{\"type\":\"error\",\"data\":{\"error\":\"too many messages: at most %g a "
                 "second\"}}",
                 cfg->rate);
        eb_ws_send_text(c, err);
        return;
    }
    c->tokens -= 1;
    cfg->on_message(cfg->opaque, c->id, c->topic, c->moderator, text, len);
}

static void eb_ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                         void *user)
{
    EbWsConn *c = user;
    const char *type;
    json_t *o;
    (void)ctx;

    if (arg->opcode != WSLAY_TEXT_FRAME)
        return; /* control frames are wslay's; binary ones mean nothing here */
    o = json_loadb((const char *)arg->msg, arg->msg_length, 0, NULL);
    if (c->open) {
        eb_ws_open_msg(c, o, (const char *)arg->msg, arg->msg_length);
    } else if (!c->authed) {
        const char *token = json_string_value(json_object_get(o, "token"));
        if (token && c->hub->cfg.token_ok(c->hub->cfg.opaque, token)) {
            /* events queue before the thread sees them: the ones already
             * published when the token arrived are not this client's */
            pthread_mutex_lock(&c->hub->lock);
            c->since = c->hub->seq;
            pthread_mutex_unlock(&c->hub->lock);
            c->authed = 1;
            eb_ws_send_text(c, "{\"type\":\"ready\"}");
        } else {
            eb_ws_close_with(c, 4401, "a valid bearer token is required");
        }
    } else if ((type = json_string_value(json_object_get(o, "type"))) && !strcmp(type, "ping")) {
        eb_ws_send_text(c, "{\"type\":\"pong\"}");
    }
    json_decref(o);
}

/* ---- the table ------------------------------------------------------------ */

/* Connections of topic, queued or open (lock held: the thread writes the
 * table's used and topic under it). */
static int eb_ws_topic_count_locked(EbWs *ws, const char *topic)
{
    int n = 0;
    for (int i = 0; i < ws->nb_pending; i++)
        n += !strcmp(ws->pending[i].topic, topic);
    for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++)
        n += ws->conns[i].used && !strcmp(ws->conns[i].topic, topic);
    return n;
}

/* The topic of the open connection id (eb-ws only); "" when gone. */
static const char *eb_ws_topic_of(EbWs *ws, uint64_t id)
{
    for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++)
        if (ws->conns[i].used && ws->conns[i].id == id)
            return ws->conns[i].topic;
    return "";
}

/* ---- the thread --------------------------------------------------------- */

/* Ends a connection of the thread's table: the socket given back, the
 * slot emptied under the lock (eb_ws_adopt reads the table's topics). */
static void eb_ws_finish(EbWs *ws, EbWsConn *c)
{
    if (c->ctx)
        wslay_event_context_free(c->ctx);
    free(c->extra);
    if (c->done)
        c->done(c->done_opaque);
    pthread_mutex_lock(&ws->lock);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    ws->count--;
    pthread_mutex_unlock(&ws->lock);
}

static void *eb_ws_thread(void *arg)
{
    static const struct wslay_event_callbacks cbs = {
        .recv_callback = eb_ws_recv_cb,
        .send_callback = eb_ws_send_cb,
        .on_msg_recv_callback = eb_ws_msg_cb,
    };
    EbWs *ws = arg;
    double stop_at = 0;

    pthread_setname_np(pthread_self(), "eb-ws");
    for (;;) {
        struct pollfd pfd[EB_WS_MAX_CONNECTIONS + 1];
        int map[EB_WS_MAX_CONNECTIONS + 1], n = 0, stop, open = 0;
        EbWsEvent *ev, *next;
        double now = eb_clock_seconds();
        uint64_t joined[EB_WS_MAX_CONNECTIONS];
        int nb_joined = 0;
        char buf[64];

        pthread_mutex_lock(&ws->lock);
        stop = ws->stop;
        for (int p = 0; p < ws->nb_pending; p++) {
            EbWsConn *c = NULL;
            for (int i = 0; i < EB_WS_MAX_CONNECTIONS && !c; i++)
                if (!ws->conns[i].used)
                    c = &ws->conns[i];
            *c = ws->pending[p]; /* count keeps them within the table */
            if (wslay_event_context_server_init(&c->ctx, &cbs, c) != 0) {
                c->ctx = NULL;
                free(c->extra);
                if (c->done)
                    c->done(c->done_opaque);
                memset(c, 0, sizeof(*c));
                c->fd = -1;
                ws->count--;
                continue;
            }
            wslay_event_config_set_max_recv_msg_length(c->ctx, EB_WS_MAX_IN);
            if (c->open) {
                /* a viewer: the topic's events from now on */
                c->authed = 1;
                c->since = ws->seq;
                c->tokens = ws->cfg.burst;
                c->refilled = now;
                joined[nb_joined++] = c->id;
                eb_ws_send_text(c, "{\"type\":\"ready\",\"data\":{\"moderator\":false}}");
            }
        }
        ws->nb_pending = 0;
        ev = ws->events;
        ws->events = ws->events_tail = NULL;
        pthread_mutex_unlock(&ws->lock);
        for (int k = 0; k < nb_joined; k++)
            if (ws->cfg.on_join)
                ws->cfg.on_join(ws->cfg.opaque, joined[k], eb_ws_topic_of(ws, joined[k]));

        for (; ev; ev = next) {
            next = ev->next;
            for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++) {
                EbWsConn *c = &ws->conns[i];
                if (!c->used || !c->authed || wslay_event_get_close_sent(c->ctx) ||
                    (ev->to ? ev->to != c->id : ev->seq <= c->since || strcmp(c->topic, ev->topic)))
                    continue;
                if (wslay_event_get_queued_msg_length(c->ctx) > EB_WS_MAX_QUEUED)
                    eb_ws_close_with(c, 1008, "too slow: events were waiting unsent");
                else
                    eb_ws_send_text(c, ev->text);
            }
            free(ev->text);
            free(ev);
        }
        if (stop && !stop_at) {
            stop_at = now + 1.0;
            for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++)
                if (ws->conns[i].used && !wslay_event_get_close_sent(ws->conns[i].ctx))
                    eb_ws_close_with(&ws->conns[i], 1001, "the daemon is stopping");
        }

        pfd[n] = (struct pollfd){.fd = ws->wake[0], .events = POLLIN};
        map[n++] = -1;
        for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++) {
            EbWsConn *c = &ws->conns[i];
            short events = 0;
            if (!c->used)
                continue;
            if (!c->authed && now - c->opened > EB_WS_AUTH_SECONDS &&
                !wslay_event_get_close_sent(c->ctx))
                eb_ws_close_with(c, 4401, "a valid bearer token is required");
            if (wslay_event_want_read(c->ctx))
                events |= POLLIN;
            if (wslay_event_want_write(c->ctx))
                events |= POLLOUT;
            if (!events || (stop_at && now > stop_at)) {
                eb_ws_finish(ws, c);
                continue;
            }
            open++;
            /* bytes that came with the request are read first: poll at
             * once (the socket is writable) */
            if (c->extra_off < c->extra_len)
                events |= POLLOUT;
            pfd[n] = (struct pollfd){.fd = c->fd, .events = events};
            map[n++] = i;
        }
        if (stop && !open)
            break;
        if (poll(pfd, (nfds_t)n, EB_WS_TICK_MS) < 0 && errno != EINTR)
            EB_LOGW("ws", "poll: %s", strerror(errno));
        if (pfd[0].revents & POLLIN)
            while (read(ws->wake[0], buf, sizeof(buf)) > 0)
                ;
        for (int k = 1; k < n; k++) {
            EbWsConn *c = &ws->conns[map[k]];
            int bad = 0;
            if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) || c->extra_off < c->extra_len)
                bad |= wslay_event_recv(c->ctx) != 0;
            if (!bad && (pfd[k].revents & POLLOUT))
                bad |= wslay_event_send(c->ctx) != 0;
            if (bad)
                eb_ws_finish(ws, c);
        }
    }
    return NULL;
}

/* ---- the API ------------------------------------------------------------- */

int eb_ws_open(const EbWsConfig *cfg, EbWs **out)
{
    EbWs *ws = calloc(1, sizeof(*ws));

    *out = NULL;
    if (!ws)
        return EB_ERR(ENOMEM);
    ws->cfg = *cfg;
    pthread_mutex_init(&ws->lock, NULL);
    if (pipe2(ws->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        int e = errno;
        pthread_mutex_destroy(&ws->lock);
        free(ws);
        return EB_ERR(e);
    }
    if (pthread_create(&ws->thread, NULL, eb_ws_thread, ws) != 0) {
        close(ws->wake[0]);
        close(ws->wake[1]);
        pthread_mutex_destroy(&ws->lock);
        free(ws);
        return EB_ERR(EAGAIN);
    }
    *out = ws;
    return 0;
}

void eb_ws_close(EbWs **pws)
{
    EbWs *ws = pws ? *pws : NULL;
    EbWsEvent *ev, *next;

    if (!ws)
        return;
    pthread_mutex_lock(&ws->lock);
    ws->stop = 1;
    pthread_mutex_unlock(&ws->lock);
    eb_ws_wake(ws);
    pthread_join(ws->thread, NULL);
    for (int p = 0; p < ws->nb_pending; p++) {
        free(ws->pending[p].extra);
        if (ws->pending[p].done)
            ws->pending[p].done(ws->pending[p].done_opaque);
    }
    for (ev = ws->events; ev; ev = next) {
        next = ev->next;
        free(ev->text);
        free(ev);
    }
    close(ws->wake[0]);
    close(ws->wake[1]);
    pthread_mutex_destroy(&ws->lock);
    free(ws);
    *pws = NULL;
}

int eb_ws_adopt(EbWs *ws, int sock, const void *extra, size_t extra_size, const char *topic,
                int flags, void (*done)(void *opaque), void *done_opaque)
{
    EbWsConn c = {.used = 1,
                  .hub = ws,
                  .fd = sock,
                  .open = !!(flags & EB_WS_OPEN),
                  .done = done,
                  .done_opaque = done_opaque};
    int busy;

    snprintf(c.topic, sizeof(c.topic), "%s", topic);
    c.opened = eb_clock_seconds();
    if (extra_size && (c.extra = malloc(extra_size))) {
        memcpy(c.extra, extra, extra_size);
        c.extra_len = extra_size;
    }
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    pthread_mutex_lock(&ws->lock);
    busy = ws->stop || ws->count >= EB_WS_MAX_CONNECTIONS ||
           (ws->cfg.max_per_topic && c.open &&
            eb_ws_topic_count_locked(ws, c.topic) >= ws->cfg.max_per_topic);
    if (busy) {
        pthread_mutex_unlock(&ws->lock);
        free(c.extra);
        if (done)
            done(done_opaque);
        return EB_ERR(EBUSY);
    }
    c.id = ++ws->next_id;
    ws->pending[ws->nb_pending++] = c;
    ws->count++;
    pthread_mutex_unlock(&ws->lock);
    eb_ws_wake(ws);
    return 0;
}

/* Queues {"type": type, "data": data} for topic's connections, or for the
 * one named to (not 0). */
static void eb_ws_queue(EbWs *ws, const char *topic, uint64_t to, const char *type,
                        const char *data)
{
    EbWsEvent *ev;

    if (!ws)
        return;
    pthread_mutex_lock(&ws->lock);
    if (ws->count == 0) { /* nobody listens: nothing to make */
        pthread_mutex_unlock(&ws->lock);
        return;
    }
    pthread_mutex_unlock(&ws->lock);
    ev = calloc(1, sizeof(*ev));
    if (!ev ||
        asprintf(&ev->text, "{\"type\":\"%s\",\"data\":%s}", type, data ? data : "null") < 0) {
        free(ev);
        return;
    }
    snprintf(ev->topic, sizeof(ev->topic), "%s", topic ? topic : "");
    ev->to = to;
    pthread_mutex_lock(&ws->lock);
    ev->seq = ++ws->seq;
    if (ws->events_tail)
        ws->events_tail->next = ev;
    else
        ws->events = ev;
    ws->events_tail = ev;
    pthread_mutex_unlock(&ws->lock);
    eb_ws_wake(ws);
}

void eb_ws_publish(EbWs *ws, const char *topic, const char *type, const char *data)
{
    eb_ws_queue(ws, topic, 0, type, data);
}

void eb_ws_send_to(EbWs *ws, uint64_t conn, const char *type, const char *data)
{
    eb_ws_queue(ws, "", conn, type, data);
}

int eb_ws_topic_count(EbWs *ws, const char *topic)
{
    int n;
    pthread_mutex_lock(&ws->lock);
    n = eb_ws_topic_count_locked(ws, topic);
    pthread_mutex_unlock(&ws->lock);
    return n;
}

int eb_ws_count(EbWs *ws)
{
    int n;
    pthread_mutex_lock(&ws->lock);
    n = ws->count;
    pthread_mutex_unlock(&ws->lock);
    return n;
}
