/*
 * The RTMP ingest port: one TCP listener for every live channel, and the
 * eb-rtmp-ingest thread that accepts and reads every publisher. The
 * protocol itself (handshake, chunks, AMF0, FLV out) is eb_rtmp_proto.c,
 * one state machine per connection; this file owns the sockets, the
 * clock and the callbacks. See eb_ingest_rtmp.h for the contract.
 *
 * DESIGN
 * - One thread, no sleeping: poll() over an eventfd, the listener and
 *   every connection (non-blocking sockets). The poll timeout is the
 *   nearest deadline (publish timeout, idle timeout, linger end), so
 *   nothing is polled for. drop and close write the eventfd.
 * - Bounded: cfg.max_conns sockets at once (lingering ones count), reads
 *   of EB_RTMP_READ bytes, at most EB_RTMP_READ_BURST per connection per
 *   wake so one busy publisher cannot starve the others, and the limits
 *   of eb_rtmp_proto.h on messages, buffers and replies. Bad bytes end
 *   their connection with the reason in the log; the listener goes on.
 * - A refused publisher (unknown key, busy channel, other application) is
 *   sent its RTMP status, then the socket lingers: our side is shut down
 *   once the reply is out and what the publisher still sends is read and
 *   discarded until it closes or EB_RTMP_LINGER_MS pass, so the reply is
 *   not lost to a reset. An unpublishing publisher (FCUnpublish,
 *   deleteStream) lingers the same way after close(), as ffmpeg sends
 *   both before closing.
 * - The table of connections is guarded by `lock`, which is never held
 *   across a callback, so callbacks may call eb_ingest_rtmp_stats and
 *   eb_ingest_rtmp_drop. Only the thread adds, ends and frees
 *   connections, so close() is called once, after the connection's last
 *   data(): drop from another thread marks the entry, wakes the thread
 *   and waits on `cond` until the thread has closed it and close() has
 *   returned. Ended connections leave the table only at the top of the
 *   loop, so a poll round's pointers stay valid through it.
 * - Stream keys are the daemon's business: this file never sees one
 *   (eb_rtmp_proto.c hands it to lookup and wipes it).
 */
#include "eb_ingest_rtmp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_net.h"
#include "eb_rtmp_proto.h"

#define EB_RTMP_DEFAULT_MAX_CONNS 64
#define EB_RTMP_DEFAULT_PUBLISH_TIMEOUT_MS 10000
#define EB_RTMP_DEFAULT_IDLE_TIMEOUT_MS 30000
#define EB_RTMP_BACKLOG 64
/* One read; at most this many per connection per wake (fairness). */
#define EB_RTMP_READ (64 << 10)
#define EB_RTMP_READ_BURST 4
/* Connections accepted per wake; more are reported by the next poll. */
#define EB_RTMP_ACCEPT_BURST 16
/* How long a refused or unpublished connection is drained before it is
 * closed regardless. */
#define EB_RTMP_LINGER_MS 2000
/* accept() out of descriptors: the listener is left out of poll this long
 * (it would stay readable and spin the loop). */
#define EB_RTMP_ACCEPT_PAUSE_MS 100

typedef enum EbRtmpConnState {
    EB_RTMP_CONN_LIVE,   /* in the protocol */
    EB_RTMP_CONN_LINGER, /* ended: reply going out, input drained */
    EB_RTMP_CONN_DEAD,   /* ended, socket closed: freed at the top of the loop */
} EbRtmpConnState;

typedef struct EbRtmpConn {
    struct EbIngestRtmp *s;
    uint64_t id;
    int fd;
    EbRtmpProto *proto;
    int64_t accepted_ms, last_rx_ms, linger_until_ms; /* monotonic */
    int shut_wr;                                      /* linger: our side was shut down */
    char peer[64];

    /* Under the module's lock (read by other threads). */
    EbRtmpConnState state;
    int opened; /* open() succeeded: close() is owed */
    int drop;   /* eb_ingest_rtmp_drop asked for it */
    char channel[EB_RTMP_CHANNEL_MAX + 1];
    int64_t bytes, messages, flv_bytes, publish_start_ms;
} EbRtmpConn;

struct EbIngestRtmp {
    EbIngestRtmpConfig cfg; /* cfg.listen is not kept */
    int listen_fd;
    int wake_fd; /* eventfd */
    int port;
    pthread_t thread;
    int thread_started;
    uint8_t *rbuf; /* EB_RTMP_READ, the thread's */
    int64_t accept_paused_until_ms;

    pthread_mutex_t lock; /* guards the table and the fields marked above */
    pthread_cond_t cond;  /* a connection was closed */
    EbRtmpConn **conns;
    int nb_conns, cap_conns;
    uint64_t next_id;
    uint64_t closing; /* conn whose close() is running, 0: none */
    int stop;
};

/* The module whose eb-rtmp-ingest thread this is (NULL on other threads):
 * drop and close called from a callback must not wait for themselves. */
static _Thread_local const EbIngestRtmp *eb_rtmp_self;

static void eb_rtmp_conn_linger(EbIngestRtmp *s, EbRtmpConn *c, short revents);

static int64_t eb_rtmp_now_ms(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void eb_rtmp_detail(char *detail, size_t size, const char *fmt, const char *arg)
{
    if (detail && size)
        snprintf(detail, size, fmt, arg);
}

static void eb_rtmp_wake(EbIngestRtmp *s)
{
    uint64_t one = 1;
    ssize_t w;

    do
        w = write(s->wake_fd, &one, sizeof(one));
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the counter is already non-zero, the thread will wake. */
}

/* The live connection conn (under lock), or NULL. */
static EbRtmpConn *eb_rtmp_find(const EbIngestRtmp *s, uint64_t id)
{
    for (int i = 0; i < s->nb_conns; i++)
        if (s->conns[i]->id == id && s->conns[i]->state == EB_RTMP_CONN_LIVE)
            return s->conns[i];
    return NULL;
}

/* The thread only: state changes under lock, since other threads read
 * the state (eb_rtmp_find). */
static void eb_rtmp_set_state(EbIngestRtmp *s, EbRtmpConn *c, EbRtmpConnState state)
{
    pthread_mutex_lock(&s->lock);
    c->state = state;
    pthread_mutex_unlock(&s->lock);
}

/* ---- proto callbacks (the thread, no lock held) ---------------------------- */

static int eb_rtmp_cb_lookup(void *opaque, const char *app, const char *key, char *channel,
                             size_t size)
{
    EbRtmpConn *c = opaque;
    return c->s->cfg.lookup(c->s->cfg.opaque, app, key, channel, size);
}

static int eb_rtmp_cb_open(void *opaque, const char *channel)
{
    EbRtmpConn *c = opaque;
    EbIngestRtmp *s = c->s;
    int ret = s->cfg.open ? s->cfg.open(s->cfg.opaque, channel, c->id) : 0;

    if (ret < 0)
        return ret;
    pthread_mutex_lock(&s->lock);
    c->opened = 1;
    snprintf(c->channel, sizeof(c->channel), "%s", channel);
    c->publish_start_ms = eb_rtmp_now_ms(CLOCK_REALTIME);
    pthread_mutex_unlock(&s->lock);
    EB_LOGI("rtmp", "channel %s: publisher %s started publishing (connection %llu)", channel,
            c->peer, (unsigned long long)c->id);
    return 0;
}

static int eb_rtmp_cb_data(void *opaque, const uint8_t *buf, size_t size)
{
    EbRtmpConn *c = opaque;
    EbIngestRtmp *s = c->s;
    int drop;

    pthread_mutex_lock(&s->lock);
    c->messages = eb_rtmp_proto_messages(c->proto); /* stats from data() see it */
    pthread_mutex_unlock(&s->lock);
    s->cfg.data(s->cfg.opaque, c->id, buf, size);
    pthread_mutex_lock(&s->lock);
    c->flv_bytes += (int64_t)size;
    drop = c->drop;
    pthread_mutex_unlock(&s->lock);
    return drop ? -1 : 0;
}

/* ---- connections (the thread) ------------------------------------------------ */

/* Ends c: LINGER (keeps the socket to send what is pending and drain) or
 * DEAD; calls close() when open() had succeeded; wakes drop()'s waiters. */
static void eb_rtmp_conn_end(EbIngestRtmp *s, EbRtmpConn *c, const char *why, int linger)
{
    char text[200];
    int notify;

    if (c->state != EB_RTMP_CONN_LIVE)
        return;
    /* why may point into the proto's buffers: a copy stays put. */
    snprintf(text, sizeof(text), "%s", why);
    pthread_mutex_lock(&s->lock);
    c->state = linger ? EB_RTMP_CONN_LINGER : EB_RTMP_CONN_DEAD;
    notify = c->opened;
    s->closing = c->id;
    pthread_mutex_unlock(&s->lock);

    if (linger) {
        c->linger_until_ms = eb_rtmp_now_ms(CLOCK_MONOTONIC) + EB_RTMP_LINGER_MS;
        eb_rtmp_conn_linger(s, c, 0); /* the reply out, our side shut if it is */
    } else {
        close(c->fd);
        c->fd = -1;
    }
    if (notify) {
        EB_LOGI("rtmp", "channel %s: publisher connection %llu ended: %s", c->channel,
                (unsigned long long)c->id, text);
        if (s->cfg.close)
            s->cfg.close(s->cfg.opaque, c->id, text);
    } else {
        /* A port check (connect, close) is no incident; the rest is. */
        eb_log(strcmp(text, "publisher disconnected") ? EB_LOG_WARN : EB_LOG_INFO, "rtmp",
               "publisher %s (connection %llu) closed: %s", c->peer, (unsigned long long)c->id,
               text);
    }

    pthread_mutex_lock(&s->lock);
    s->closing = 0;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void eb_rtmp_conn_free(EbRtmpConn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    eb_rtmp_proto_free(&c->proto);
    free(c);
}

/* Sends what the proto has for the publisher; < 0 on a broken socket. */
static int eb_rtmp_conn_flush(EbRtmpConn *c)
{
    for (;;) {
        size_t n;
        const uint8_t *b = eb_rtmp_proto_output(c->proto, &n);
        ssize_t w;

        if (!n)
            return 0;
        w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : EB_ERR(errno);
        }
        eb_rtmp_proto_consumed(c->proto, (size_t)w);
    }
}

static void eb_rtmp_accept(EbIngestRtmp *s, int64_t now)
{
    for (int k = 0; k < EB_RTMP_ACCEPT_BURST; k++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        EbRtmpProtoCallbacks cb;
        EbRtmpConn *c;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int one = 1, full;
        char who[64];

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                EB_LOGW("rtmp", "accept: %s; pausing accepts for %d ms", strerror(errno),
                        EB_RTMP_ACCEPT_PAUSE_MS);
                s->accept_paused_until_ms = now + EB_RTMP_ACCEPT_PAUSE_MS;
            }
            return;
        }
        eb_net_addr_str((struct sockaddr *)&ss, who, sizeof(who));
        pthread_mutex_lock(&s->lock);
        full = s->nb_conns >= s->cfg.max_conns;
        pthread_mutex_unlock(&s->lock);
        if (full) {
            EB_LOGW("rtmp", "refused publisher %s: %d connections already (max_conns)", who,
                    s->cfg.max_conns);
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        c = calloc(1, sizeof(*c));
        if (!c) {
            EB_LOGW("rtmp", "out of memory for publisher %s; closing it", who);
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        c->accepted_ms = c->last_rx_ms = now;
        snprintf(c->peer, sizeof(c->peer), "%s", who);
        cb = (EbRtmpProtoCallbacks){
            .lookup = eb_rtmp_cb_lookup,
            .open = eb_rtmp_cb_open,
            .data = eb_rtmp_cb_data,
            .opaque = c,
        };
        if (eb_rtmp_proto_new(&cb, &c->proto) < 0) {
            EB_LOGW("rtmp", "out of memory for publisher %s; closing it", who);
            eb_rtmp_conn_free(c);
            continue;
        }

        pthread_mutex_lock(&s->lock);
        if (s->nb_conns == s->cap_conns) {
            int cap = s->cap_conns ? s->cap_conns * 2 : 8;
            EbRtmpConn **t = realloc(s->conns, (size_t)cap * sizeof(*t));
            if (!t) {
                pthread_mutex_unlock(&s->lock);
                EB_LOGW("rtmp", "out of memory for publisher %s; closing it", who);
                eb_rtmp_conn_free(c);
                continue;
            }
            s->conns = t;
            s->cap_conns = cap;
        }
        c->id = ++s->next_id;
        c->state = EB_RTMP_CONN_LIVE;
        s->conns[s->nb_conns++] = c;
        pthread_mutex_unlock(&s->lock);
        EB_LOGD("rtmp", "publisher %s connected (connection %llu)", who, (unsigned long long)c->id);
    }
}

/* Reads a live connection and runs its protocol. */
static void eb_rtmp_conn_read(EbIngestRtmp *s, EbRtmpConn *c, int64_t now)
{
    for (int k = 0; k < EB_RTMP_READ_BURST; k++) {
        ssize_t n = recv(c->fd, s->rbuf, EB_RTMP_READ, 0);
        int ret, drop, wret;
        char why[224];

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            snprintf(why, sizeof(why), "connection error: %s", strerror(errno));
            eb_rtmp_conn_end(s, c, why, 0);
            return;
        }
        if (n == 0) {
            eb_rtmp_conn_end(s, c, "publisher disconnected", 0);
            return;
        }
        c->last_rx_ms = now;
        pthread_mutex_lock(&s->lock);
        c->bytes += n;
        pthread_mutex_unlock(&s->lock);
        ret = eb_rtmp_proto_feed(c->proto, s->rbuf, (size_t)n, NULL);
        wret = eb_rtmp_conn_flush(c);
        pthread_mutex_lock(&s->lock);
        c->messages = eb_rtmp_proto_messages(c->proto);
        drop = c->drop;
        pthread_mutex_unlock(&s->lock);
        if (drop || ret == EB_RTMP_STOP) {
            eb_rtmp_conn_end(s, c, "dropped", 0);
            return;
        }
        if (ret == EB_RTMP_DONE) {
            eb_rtmp_conn_end(s, c, eb_rtmp_proto_why(c->proto), 1);
            return;
        }
        if (ret < 0) {
            snprintf(why, sizeof(why), "protocol error: %s", eb_rtmp_proto_why(c->proto));
            eb_rtmp_conn_end(s, c, why, 0);
            return;
        }
        if (wret < 0) {
            snprintf(why, sizeof(why), "connection error: %s", eb_strerror(wret));
            eb_rtmp_conn_end(s, c, why, 0);
            return;
        }
        if (n < EB_RTMP_READ)
            return;
    }
}

/* A lingering connection: reply out, our side shut, input thrown away. */
static void eb_rtmp_conn_linger(EbIngestRtmp *s, EbRtmpConn *c, short revents)
{
    if (!c->shut_wr) {
        if (eb_rtmp_conn_flush(c) < 0) {
            eb_rtmp_set_state(s, c, EB_RTMP_CONN_DEAD);
            return;
        }
        if (!eb_rtmp_proto_output(c->proto, NULL)) {
            shutdown(c->fd, SHUT_WR);
            c->shut_wr = 1;
        }
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        for (int k = 0; k < EB_RTMP_READ_BURST; k++) {
            ssize_t n = recv(c->fd, s->rbuf, EB_RTMP_READ, 0);
            if (n > 0)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
            eb_rtmp_set_state(s, c, EB_RTMP_CONN_DEAD); /* the publisher closed: done */
            return;
        }
    }
}

/* Closes the connections drop() marked. */
static void eb_rtmp_process_drops(EbIngestRtmp *s)
{
    for (int i = 0; i < s->nb_conns; i++) {
        EbRtmpConn *c = s->conns[i];
        int drop;

        pthread_mutex_lock(&s->lock);
        drop = c->drop && c->state == EB_RTMP_CONN_LIVE;
        pthread_mutex_unlock(&s->lock);
        if (drop)
            eb_rtmp_conn_end(s, c, "dropped", 0);
    }
}

/* Ends what timed out; the nearest deadline still ahead, or -1. */
static int64_t eb_rtmp_timeouts(EbIngestRtmp *s, int64_t now)
{
    int64_t next = -1;

    for (int i = 0; i < s->nb_conns; i++) {
        EbRtmpConn *c = s->conns[i];
        int64_t at;

        if (c->state == EB_RTMP_CONN_DEAD)
            continue;
        if (c->state == EB_RTMP_CONN_LINGER) {
            at = c->linger_until_ms;
            if (now >= at) {
                eb_rtmp_set_state(s, c, EB_RTMP_CONN_DEAD);
                continue;
            }
        } else if (!eb_rtmp_proto_publishing(c->proto)) {
            at = c->accepted_ms + s->cfg.publish_timeout_ms;
            if (now >= at) {
                char why[96];
                snprintf(why, sizeof(why), "no publish within %d ms", s->cfg.publish_timeout_ms);
                eb_rtmp_conn_end(s, c, why, 0);
                continue;
            }
        } else {
            at = c->last_rx_ms + s->cfg.idle_timeout_ms;
            if (now >= at) {
                char why[96];
                snprintf(why, sizeof(why), "idle: nothing received for %d ms",
                         s->cfg.idle_timeout_ms);
                eb_rtmp_conn_end(s, c, why, 0);
                continue;
            }
        }
        if (next < 0 || at < next)
            next = at;
    }
    return next;
}

/* Frees DEAD connections (the top of the loop: no poll round holds them). */
static void eb_rtmp_sweep(EbIngestRtmp *s)
{
    for (int i = 0; i < s->nb_conns;) {
        EbRtmpConn *c = s->conns[i];

        if (c->state != EB_RTMP_CONN_DEAD) {
            i++;
            continue;
        }
        pthread_mutex_lock(&s->lock);
        s->conns[i] = s->conns[--s->nb_conns];
        pthread_mutex_unlock(&s->lock);
        eb_rtmp_conn_free(c);
    }
}

static void *eb_rtmp_thread(void *arg)
{
    EbIngestRtmp *s = arg;
    struct pollfd *pfd = NULL;
    EbRtmpConn **polled = NULL;
    int cap = 0;

    pthread_setname_np(pthread_self(), "eb-rtmp-ingest");
    eb_rtmp_self = s;
    for (;;) {
        int64_t now, next;
        int n = 0, first_conn, stop, timeout, ret;

        pthread_mutex_lock(&s->lock);
        stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            break;
        eb_rtmp_process_drops(s);
        now = eb_rtmp_now_ms(CLOCK_MONOTONIC);
        next = eb_rtmp_timeouts(s, now);
        eb_rtmp_sweep(s);

        if (cap < s->nb_conns + 2) {
            int ncap = s->nb_conns + 2 + 16;
            struct pollfd *t1 = realloc(pfd, (size_t)ncap * sizeof(*pfd));
            EbRtmpConn **t2;
            if (t1)
                pfd = t1;
            t2 = t1 ? realloc(polled, (size_t)ncap * sizeof(*polled)) : NULL;
            if (t2)
                polled = t2;
            if (!t1 || !t2) {
                EB_LOGE("rtmp", "out of memory for the poll set; RTMP ingest stops");
                break;
            }
            cap = ncap;
        }
        pfd[n++] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
        if (now >= s->accept_paused_until_ms) {
            pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        } else if (next < 0 || s->accept_paused_until_ms < next) {
            next = s->accept_paused_until_ms;
        }
        first_conn = n;
        for (int i = 0; i < s->nb_conns; i++) {
            EbRtmpConn *c = s->conns[i];
            short ev = POLLIN;

            if (eb_rtmp_proto_output(c->proto, NULL))
                ev |= POLLOUT;
            polled[n] = c;
            pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        timeout = next < 0 ? -1 : next - now > 60000 ? 60000 : (int)(next - now);

        ret = poll(pfd, (nfds_t)n, timeout);
        if (ret < 0) {
            if (errno == EINTR)
                continue;
            EB_LOGE("rtmp", "poll: %s; RTMP ingest stops", strerror(errno));
            break;
        }
        now = eb_rtmp_now_ms(CLOCK_MONOTONIC);
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                EB_LOGW("rtmp", "wake read: %s", strerror(errno));
        }
        if (first_conn == 2 && pfd[1].revents & POLLIN)
            eb_rtmp_accept(s, now);
        for (int i = first_conn; i < n; i++) {
            EbRtmpConn *c = polled[i];
            short re = pfd[i].revents;

            if (!re)
                continue;
            if (c->state == EB_RTMP_CONN_LINGER) {
                eb_rtmp_conn_linger(s, c, re);
                continue;
            }
            if (c->state != EB_RTMP_CONN_LIVE)
                continue;
            if (re & POLLOUT) {
                int w = eb_rtmp_conn_flush(c);
                if (w < 0) {
                    char why[96];
                    snprintf(why, sizeof(why), "connection error: %s", eb_strerror(w));
                    eb_rtmp_conn_end(s, c, why, 0);
                    continue;
                }
            }
            if (re & (POLLIN | POLLHUP | POLLERR))
                eb_rtmp_conn_read(s, c, now);
        }
    }

    /* Shutdown: no accept any more, then every connection. */
    close(s->listen_fd);
    s->listen_fd = -1;
    for (int i = 0; i < s->nb_conns; i++)
        eb_rtmp_conn_end(s, s->conns[i], "shutdown", 0);
    for (int i = 0; i < s->nb_conns; i++)
        eb_rtmp_set_state(s, s->conns[i], EB_RTMP_CONN_DEAD);
    eb_rtmp_sweep(s);
    free(pfd);
    free(polled);
    return NULL;
}

/* ---- public ----------------------------------------------------------------- */

static void eb_rtmp_free(EbIngestRtmp *s)
{
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    for (int i = 0; i < s->nb_conns; i++)
        eb_rtmp_conn_free(s->conns[i]);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->conns);
    free(s->rbuf);
    free(s);
}

int eb_ingest_rtmp_open(const EbIngestRtmpConfig *cfg, EbIngestRtmp **out, char *detail,
                        size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    EbIngestRtmp *s;
    int yes = 1, ret;

    if (detail && size)
        detail[0] = 0;
    if (!out)
        return EB_ERR(EINVAL);
    *out = NULL;
    if (!cfg || !cfg->lookup || !cfg->data) {
        eb_rtmp_detail(detail, size, "%s", "lookup and data callbacks are required");
        return EB_ERR(EINVAL);
    }
    if (cfg->max_conns < 0 || cfg->publish_timeout_ms < 0 || cfg->idle_timeout_ms < 0) {
        eb_rtmp_detail(detail, size, "%s",
                       "max_conns, publish_timeout_ms and idle_timeout_ms must be >= 0");
        return EB_ERR(EINVAL);
    }
    if (eb_net_parse_listen(cfg->listen, &ss, &sslen) < 0) {
        eb_rtmp_detail(detail, size, "bad RTMP listen address \"%s\" (want HOST:PORT)",
                       cfg->listen ? cfg->listen : "(null)");
        return EB_ERR(EINVAL);
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return EB_ERR(ENOMEM);
    s->cfg = *cfg;
    s->cfg.listen = NULL;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = EB_RTMP_DEFAULT_MAX_CONNS;
    if (!s->cfg.publish_timeout_ms)
        s->cfg.publish_timeout_ms = EB_RTMP_DEFAULT_PUBLISH_TIMEOUT_MS;
    if (!s->cfg.idle_timeout_ms)
        s->cfg.idle_timeout_ms = EB_RTMP_DEFAULT_IDLE_TIMEOUT_MS;
    s->listen_fd = -1;
    s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);

    s->rbuf = malloc(EB_RTMP_READ);
    if (!s->rbuf) {
        ret = EB_ERR(ENOMEM);
        goto error;
    }
    s->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        ret = EB_ERR(errno);
        eb_rtmp_detail(detail, size, "socket: %s", strerror(errno));
        goto error;
    }
    /* A restarted daemon rebinds while old connections sit in TIME_WAIT. */
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (ss.ss_family == AF_INET6) {
        /* The wildcard serves IPv4 publishers too; a literal only itself. */
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        int v6only = !IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
        setsockopt(s->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    if (bind(s->listen_fd, (struct sockaddr *)&ss, sslen) < 0 ||
        listen(s->listen_fd, EB_RTMP_BACKLOG) < 0) {
        ret = EB_ERR(errno);
        if (detail && size)
            snprintf(detail, size, "RTMP bind %s: %s", cfg->listen, strerror(errno));
        goto error;
    }
    sslen = sizeof(ss);
    if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sslen) < 0) {
        ret = EB_ERR(errno);
        eb_rtmp_detail(detail, size, "getsockname: %s", strerror(errno));
        goto error;
    }
    s->port = eb_net_port(&ss);

    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        ret = EB_ERR(errno);
        eb_rtmp_detail(detail, size, "eventfd: %s", strerror(errno));
        goto error;
    }
    ret = pthread_create(&s->thread, NULL, eb_rtmp_thread, s);
    if (ret) {
        eb_rtmp_detail(detail, size, "thread: %s", strerror(ret));
        ret = EB_ERR(ret);
        goto error;
    }
    s->thread_started = 1;
    EB_LOGI("rtmp", "RTMP ingest listening on %s (port %d, rtmp://HOST:%d/live/<stream key>)",
            cfg->listen, s->port, s->port);
    *out = s;
    return 0;

error:
    EB_LOGW("rtmp", "RTMP ingest on %s not started: %s", cfg->listen,
            detail && size && detail[0] ? detail : eb_strerror(ret));
    eb_rtmp_free(s);
    return ret;
}

int eb_ingest_rtmp_port(const EbIngestRtmp *s)
{
    return s ? s->port : EB_ERR(EINVAL);
}

int eb_ingest_rtmp_stats(EbIngestRtmp *s, uint64_t conn, EbIngestRtmpStats *out)
{
    EbRtmpConn *c;
    int64_t elapsed;

    if (!s || !out)
        return EB_ERR(EINVAL);
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    c = eb_rtmp_find(s, conn);
    if (!c) {
        pthread_mutex_unlock(&s->lock);
        return EB_ERR(ENOENT);
    }
    out->bytes_received = c->bytes;
    out->messages = c->messages;
    out->flv_bytes = c->flv_bytes;
    out->publish_start_ms = c->publish_start_ms;
    /* accepted_ms and peer are set before the conn enters the table. */
    elapsed = eb_rtmp_now_ms(CLOCK_MONOTONIC) - c->accepted_ms;
    out->mbps_recv = elapsed > 0 ? (double)c->bytes * 8.0 / ((double)elapsed * 1000.0) : 0.0;
    snprintf(out->peer, sizeof(out->peer), "%s", c->peer);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int eb_ingest_rtmp_drop(EbIngestRtmp *s, uint64_t conn)
{
    EbRtmpConn *c;

    if (!s)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&s->lock);
    c = eb_rtmp_find(s, conn);
    if (!c) {
        pthread_mutex_unlock(&s->lock);
        return EB_ERR(ENOENT);
    }
    c->drop = 1;
    if (eb_rtmp_self == s) {
        /* From a callback: the thread closes it once the callback returns. */
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    eb_rtmp_wake(s);
    while (eb_rtmp_find(s, conn) || s->closing == conn)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void eb_ingest_rtmp_close(EbIngestRtmp **ps)
{
    EbIngestRtmp *s = ps ? *ps : NULL;

    if (!s)
        return;
    if (eb_rtmp_self == s) {
        EB_LOGE("rtmp", "eb_ingest_rtmp_close called from an RTMP ingest callback; ignored");
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_mutex_unlock(&s->lock);
    eb_rtmp_wake(s);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    eb_rtmp_free(s);
    *ps = NULL;
    EB_LOGI("rtmp", "RTMP ingest closed");
}
