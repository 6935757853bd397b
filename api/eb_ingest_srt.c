/*
 * The SRT ingest port: one libsrt listener for every live channel, and the
 * eb-srt-ingest thread that accepts and reads every publisher. See
 * eb_ingest_srt.h for the contract.
 *
 * DESIGN
 * - Admission happens in libsrt's listen callback (eb_srt_on_listen), on
 *   libsrt's receive thread, while the caller's conclusion handshake is
 *   being processed: the stream id is parsed, the channel looked up, and
 *   its passphrase set on the *accepted* socket handle libsrt passes in.
 *   libsrt then checks the publisher's key material against it in the same
 *   handshake (SRTO_ENFORCEDENCRYPTION stays on, its default), so a wrong
 *   passphrase is SRT_REJ_BADSECRET and a missing one SRT_REJ_UNSECURE at
 *   the publisher, and the socket never reaches srt_accept. A refusal of
 *   ours sets an SRT_REJX_* reason (HTTP-like, see srt/access_control.h)
 *   on that handle; the publisher reads it with srt_getrejectreason.
 * - One thread, no sleeping: srt_epoll_wait over the listener, every
 *   connection and an eventfd. libsrt's epoll can only be woken by SRT
 *   events, so drop and close write the eventfd (srt_epoll_wait checks
 *   system sockets alongside). The timeout is a backstop for shutdown only.
 * - Sockets are non-blocking (SRTO_RCVSYN off on the listener; accepted
 *   sockets inherit it); each wake reads a bounded number of messages per
 *   connection, so one busy publisher cannot starve the others (libsrt's
 *   epoll is level-triggered: what is left is reported again).
 * - The table of live connections is guarded by `lock`, which is never
 *   held across a callback, so callbacks may call eb_ingest_srt_stats and
 *   eb_ingest_srt_drop, nor across a libsrt call, so no lock order links
 *   ours with libsrt's (libsrt holds its own locks around our listen
 *   callback). Only the thread closes connections, so close() is
 *   called once, after the connection's last data(): drop from another
 *   thread marks the entry, wakes the thread and waits on `cond` until the
 *   thread has closed it and close() has returned.
 * - srt_startup/srt_cleanup are reference counted by libsrt, so each
 *   module holds one reference; libsrt's own log lines go to eb_log.
 */
#include "eb_ingest_srt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <srt/access_control.h>
#include <srt/srt.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_net.h"

#define EB_SRT_DEFAULT_LATENCY_MS 120
#define EB_SRT_BACKLOG 16
/* Backstop for noticing shutdown; drop and close wake the thread at once. */
#define EB_SRT_WAIT_MS 500
/* Messages read from one connection per wake (fairness between them). */
#define EB_SRT_READ_BURST 64
/* Ready sockets taken per wake; more are reported by the next wait. */
#define EB_SRT_READY_MAX 64
#define EB_SRT_MODE_MAX 16
/* SRT_LIVE_MAX_PLSIZE (a static const int in srt.h, so not a C constant
 * expression): the largest live-mode message, MTU 1500 - UDP - SRT headers. */
#define EB_SRT_MSG_MAX 1456

typedef struct EbSrtConn {
    uint64_t id;
    SRTSOCKET sock;
    int drop; /* eb_ingest_srt_drop asked for it */
    char channel[EB_SRT_CHANNEL_MAX + 1];
} EbSrtConn;

struct EbIngestSrt {
    EbIngestSrtConfig cfg; /* cfg.listen is not kept */
    SRTSOCKET listener;
    int eid;     /* srt_epoll id */
    int wake_fd; /* eventfd */
    int port;
    int srt_started;
    pthread_t thread;
    int thread_started;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* a connection was closed */
    EbSrtConn *conns;
    int nb_conns, cap_conns;
    uint64_t next_id;
    uint64_t closing; /* conn whose close() is running, 0: none */
    int stop;
};

/* The module whose eb-srt-ingest thread this is (NULL on other threads):
 * drop and close called from a callback must not wait for themselves. */
static _Thread_local const EbIngestSrt *eb_srt_self;

/* ---- stream id ---------------------------------------------------------- */

static int eb_srt_channel_valid(const char *s, size_t n)
{
    if (n < 1 || n > EB_SRT_CHANNEL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int eb_srt_copy(char *dst, size_t size, const char *src, size_t n)
{
    if (!dst || n >= size)
        return EB_ERR(ENOSPC);
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

int eb_srt_streamid_parse(const char *sid, char *channel, size_t size, char *mode, size_t msize)
{
    static const char prefix[] = "#!::";
    const char *p, *r = NULL, *m = NULL;
    size_t rn = 0, mn = 0;
    int ret;

    if (channel && size)
        channel[0] = 0;
    if (mode && msize)
        mode[0] = 0;
    /* ffmpeg 5.1 passes a URL's streamid without percent-decoding it, so
     * the "%23" a publisher pasted from an ingest URL arrives as is. */
    if (sid && !strncmp(sid, "%23!::", 6))
        p = sid + 6;
    else if (sid && !strncmp(sid, prefix, sizeof(prefix) - 1))
        p = sid + sizeof(prefix) - 1;
    else
        return EB_ERR(EINVAL);
    for (;;) {
        const char *end = strchr(p, ',');
        const char *eq;
        size_t len = end ? (size_t)(end - p) : strlen(p);

        eq = memchr(p, '=', len);
        if (!eq || eq == p)
            return EB_ERR(EINVAL); /* "key=value" is the only item form */
        if (eq - p == 1 && p[0] == 'r') {
            if (r)
                return EB_ERR(EINVAL);
            r = eq + 1;
            rn = len - 2;
        } else if (eq - p == 1 && p[0] == 'm') {
            if (m)
                return EB_ERR(EINVAL);
            m = eq + 1;
            mn = len - 2;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (!r || !eb_srt_channel_valid(r, rn))
        return EB_ERR(EINVAL);
    if (m && mn == 0)
        return EB_ERR(EINVAL);
    ret = eb_srt_copy(channel, size, r, rn);
    if (ret == 0)
        ret = m ? eb_srt_copy(mode, msize, m, mn) : eb_srt_copy(mode, msize, "request", 7);
    if (ret < 0 && channel && size)
        channel[0] = 0;
    return ret;
}

/* ---- helpers -------------------------------------------------------------- */

/* The last libsrt error as a negative errno (the system one when libsrt has
 * it, EIO otherwise), with "what: text" in detail. */
static int eb_srt_fail(const char *what, char *detail, size_t size)
{
    int sys = 0;

    srt_getlasterror(&sys);
    if (detail && size)
        snprintf(detail, size, "%s: %s", what, srt_getlasterror_str());
    return sys > 0 ? EB_ERR(sys) : EB_ERR(EIO);
}

static void eb_srt_detail(char *detail, size_t size, const char *fmt, const char *arg)
{
    if (detail && size)
        snprintf(detail, size, fmt, arg);
}

/* Outside text made safe for one log line: printable ASCII, bounded. */
static void eb_srt_printable(const char *in, char *out, size_t size)
{
    size_t i = 0;

    for (; in && *in && i + 1 < size; in++)
        out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[i] = 0;
}

/* libsrt's log lines, through the one logger. Its warnings stay warnings:
 * a wrong or missing passphrase (BADSECRET, UNSECURE) is decided inside
 * libsrt after our callback, and its log is the only place that says so. */
static void eb_srt_log(void *opaque, int level, const char *file, int line, const char *area,
                       const char *message)
{
    char text[512];
    const char *m = message ? message : "";
    size_t n;

    (void)opaque;
    (void)file;
    (void)line;
    (void)area;
    while (*m == ':' || *m == ' ')
        m++;
    snprintf(text, sizeof(text), "%s", m);
    n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = 0;
    if (level <= LOG_WARNING)
        EB_LOGW("srt", "libsrt: %s", text);
    else
        EB_LOGD("srt", "libsrt: %s", text);
}

static pthread_once_t eb_srt_log_once = PTHREAD_ONCE_INIT;

static void eb_srt_log_init(void)
{
    srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME |
                    SRT_LOGF_DISABLE_SEVERITY | SRT_LOGF_DISABLE_EOL);
    srt_setloghandler(NULL, eb_srt_log);
}

/* ---- admission (libsrt's thread) ------------------------------------------ */

static int eb_srt_refuse(SRTSOCKET ns, int reason, const char *peer, const char *sid,
                         const char *why)
{
    char safe[160];

    eb_srt_printable(sid, safe, sizeof(safe));
    EB_LOGW("srt", "refused publisher %s (streamid \"%s\"): %s (reject %d)", peer, safe, why,
            reason);
    srt_setrejectreason(ns, reason);
    return -1;
}

static int eb_srt_on_listen(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer,
                            const char *streamid)
{
    EbIngestSrt *s = opaque;
    char channel[EB_SRT_CHANNEL_MAX + 1], mode[EB_SRT_MODE_MAX], who[INET6_ADDRSTRLEN + 8];
    char pass[EB_SRT_PASSPHRASE_MAX + 2], why[160];
    size_t plen;
    int ret;

    (void)hsversion;
    eb_net_addr_str(peer, who, sizeof(who));
    ret = eb_srt_streamid_parse(streamid, channel, sizeof(channel), mode, sizeof(mode));
    if (ret < 0)
        return eb_srt_refuse(ns, SRT_REJX_BAD_REQUEST, who, streamid,
                             "streamid is not #!::r=<channel>,m=publish with a channel of "
                             "[a-z0-9_-]{1,64}");
    if (strcmp(mode, "publish") != 0) {
        snprintf(why, sizeof(why), "mode \"%.*s\" for channel %s: only m=publish is served",
                 EB_SRT_MODE_MAX, mode, channel);
        return eb_srt_refuse(ns, SRT_REJX_BAD_MODE, who, streamid, why);
    }
    memset(pass, 0, sizeof(pass));
    ret = s->cfg.lookup(s->cfg.opaque, channel, pass, sizeof(pass));
    if (ret < 0) {
        int reason = ret == EB_ERR(ENOENT)                           ? SRT_REJX_NOTFOUND
                     : ret == EB_ERR(EBUSY)                          ? SRT_REJX_CONFLICT
                     : ret == EB_ERR(EACCES) || ret == EB_ERR(EPERM) ? SRT_REJX_FORBIDDEN
                                                                     : SRT_REJX_ISE;
        snprintf(why, sizeof(why), "channel %s: %s", channel,
                 ret == EB_ERR(ENOENT)  ? "unknown channel"
                 : ret == EB_ERR(EBUSY) ? "already has a publisher"
                                        : "lookup failed");
        if (reason == SRT_REJX_ISE || reason == SRT_REJX_FORBIDDEN)
            snprintf(why + strlen(why), sizeof(why) - strlen(why), " (%s)", eb_strerror(ret));
        return eb_srt_refuse(ns, reason, who, streamid, why);
    }
    pass[sizeof(pass) - 1] = 0;
    plen = strlen(pass);
    if (plen < EB_SRT_PASSPHRASE_MIN || plen > EB_SRT_PASSPHRASE_MAX) {
        explicit_bzero(pass, sizeof(pass));
        snprintf(why, sizeof(why),
                 "channel %s: its passphrase has %zu characters, SRT needs 10..79", channel, plen);
        return eb_srt_refuse(ns, SRT_REJX_ISE, who, streamid, why);
    }
    ret = srt_setsockflag(ns, SRTO_PASSPHRASE, pass, (int)plen);
    explicit_bzero(pass, sizeof(pass));
    if (ret < 0) {
        snprintf(why, sizeof(why), "channel %s: setting its passphrase: %s", channel,
                 srt_getlasterror_str());
        return eb_srt_refuse(ns, SRT_REJX_ISE, who, streamid, why);
    }
    EB_LOGD("srt", "publisher %s for channel %s passed lookup; handshake goes on", who, channel);
    return 0;
}

/* ---- the thread ------------------------------------------------------------ */

static void eb_srt_wake(EbIngestSrt *s)
{
    uint64_t one = 1;
    ssize_t w;

    do
        w = write(s->wake_fd, &one, sizeof(one));
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the counter is already non-zero, the thread will wake. */
}

static int eb_srt_find(const EbIngestSrt *s, uint64_t id)
{
    for (int i = 0; i < s->nb_conns; i++)
        if (s->conns[i].id == id)
            return i;
    return -1;
}

/* Closes conn (the thread only) and calls close(); wakes drop()'s waiters. */
static void eb_srt_conn_end(EbIngestSrt *s, uint64_t id, const char *why, int notify)
{
    SRTSOCKET sock;
    char channel[EB_SRT_CHANNEL_MAX + 1], text[128];
    int i;

    /* why may be libsrt's last-error text, which the calls below replace. */
    snprintf(text, sizeof(text), "%s", why);
    why = text;
    pthread_mutex_lock(&s->lock);
    i = eb_srt_find(s, id);
    if (i < 0) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    sock = s->conns[i].sock;
    memcpy(channel, s->conns[i].channel, sizeof(channel));
    s->conns[i] = s->conns[--s->nb_conns];
    s->closing = id;
    pthread_mutex_unlock(&s->lock);

    srt_epoll_remove_usock(s->eid, sock);
    srt_close(sock);
    if (notify) {
        EB_LOGI("srt", "channel %s: publisher connection %llu ended: %s", channel,
                (unsigned long long)id, why);
        if (s->cfg.close)
            s->cfg.close(s->cfg.opaque, id, why);
    }

    pthread_mutex_lock(&s->lock);
    s->closing = 0;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Accepts one pending connection. One per wake: the listener stays ready
 * while more are pending, and an srt_accept on an empty queue makes libsrt
 * log a warning. */
static void eb_srt_accept(EbIngestSrt *s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss), no = 0, events = SRT_EPOLL_IN | SRT_EPOLL_ERR, ret;
    char sid[600], channel[EB_SRT_CHANNEL_MAX + 1], mode[EB_SRT_MODE_MAX], who[64];
    SRTSOCKET sock = srt_accept(s->listener, (struct sockaddr *)&ss, &len);
    EbSrtConn *c;
    uint64_t id;

    if (sock == SRT_INVALID_SOCK) {
        if (srt_getlasterror(NULL) != SRT_EASYNCRCV)
            EB_LOGW("srt", "accept: %s", srt_getlasterror_str());
        return;
    }
    eb_net_addr_str((struct sockaddr *)&ss, who, sizeof(who));
    len = (int)sizeof(sid) - 1;
    memset(sid, 0, sizeof(sid));
    /* The listen callback admitted this very stream id; parsing it again
     * is cheaper than a side table keyed by socket. */
    if (srt_getsockflag(sock, SRTO_STREAMID, sid, &len) < 0 ||
        eb_srt_streamid_parse(sid, channel, sizeof(channel), mode, sizeof(mode)) < 0) {
        EB_LOGW("srt", "accepted %s without a usable streamid; closing it", who);
        srt_close(sock);
        return;
    }
    srt_setsockflag(sock, SRTO_RCVSYN, &no, sizeof(no));

    pthread_mutex_lock(&s->lock);
    if (s->nb_conns == s->cap_conns) {
        int cap = s->cap_conns ? s->cap_conns * 2 : 8;
        EbSrtConn *t = realloc(s->conns, (size_t)cap * sizeof(*t));
        if (!t) {
            pthread_mutex_unlock(&s->lock);
            EB_LOGW("srt", "channel %s: out of memory for publisher %s; closing it", channel, who);
            srt_close(sock);
            return;
        }
        s->conns = t;
        s->cap_conns = cap;
    }
    id = ++s->next_id;
    c = &s->conns[s->nb_conns++];
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->sock = sock;
    memcpy(c->channel, channel, sizeof(channel));
    pthread_mutex_unlock(&s->lock);

    if (srt_epoll_add_usock(s->eid, sock, &events) < 0) {
        EB_LOGW("srt", "channel %s: epoll add: %s; closing publisher %s", channel,
                srt_getlasterror_str(), who);
        eb_srt_conn_end(s, id, "epoll", 0);
        return;
    }
    ret = s->cfg.open ? s->cfg.open(s->cfg.opaque, channel, id) : 0;
    if (ret < 0) {
        EB_LOGW("srt", "channel %s: publisher %s refused after the handshake: %s", channel, who,
                eb_strerror(ret));
        eb_srt_conn_end(s, id, "refused by open", 0);
        return;
    }
    EB_LOGI("srt", "channel %s: publisher %s connected (connection %llu)", channel, who,
            (unsigned long long)id);
}

/* Drains up to a burst of messages from sock; ends the connection on error. */
static void eb_srt_read(EbIngestSrt *s, SRTSOCKET sock)
{
    uint8_t buf[EB_SRT_MSG_MAX];
    uint64_t id = 0;
    int i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->nb_conns; i++)
        if (s->conns[i].sock == sock)
            id = s->conns[i].id;
    pthread_mutex_unlock(&s->lock);
    if (!id)
        return; /* closed since epoll reported it */

    for (i = 0; i < EB_SRT_READ_BURST; i++) {
        int n = srt_recvmsg(sock, (char *)buf, sizeof(buf)), drop;

        if (n < 0) {
            int err = srt_getlasterror(NULL);
            if (err == SRT_EASYNCRCV)
                return;
            eb_srt_conn_end(s, id,
                            err == SRT_ECONNLOST || err == SRT_ENOCONN || err == SRT_EINVSOCK
                                ? "publisher disconnected"
                                : srt_getlasterror_str(),
                            1);
            return;
        }
        if (n > 0)
            s->cfg.data(s->cfg.opaque, id, buf, (size_t)n);
        pthread_mutex_lock(&s->lock);
        drop = eb_srt_find(s, id);
        drop = drop < 0 || s->conns[drop].drop;
        pthread_mutex_unlock(&s->lock);
        if (drop)
            return; /* the loop closes it next */
    }
}

/* Closes the connections drop() marked. */
static void eb_srt_process_drops(EbIngestSrt *s)
{
    for (;;) {
        uint64_t id = 0;

        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < s->nb_conns && !id; i++)
            if (s->conns[i].drop)
                id = s->conns[i].id;
        pthread_mutex_unlock(&s->lock);
        if (!id)
            return;
        eb_srt_conn_end(s, id, "dropped", 1);
    }
}

static void *eb_srt_thread(void *arg)
{
    EbIngestSrt *s = arg;

    pthread_setname_np(pthread_self(), "eb-srt-ingest");
    eb_srt_self = s;
    for (;;) {
        SRTSOCKET ready[EB_SRT_READY_MAX];
        SYSSOCKET sys[1];
        int nready = EB_SRT_READY_MAX, nsys = 1, n, stop;

        pthread_mutex_lock(&s->lock);
        stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            break;
        eb_srt_process_drops(s);

        n = srt_epoll_wait(s->eid, ready, &nready, NULL, NULL, EB_SRT_WAIT_MS, sys, &nsys, NULL,
                           NULL);
        if (n <= 0) {
            if (srt_getlasterror(NULL) == SRT_ETIMEOUT)
                continue;
            /* Nothing of ours can fix a failing epoll, and retrying would
             * spin: end every connection and stop serving. */
            EB_LOGE("srt", "epoll wait: %s; SRT ingest stops", srt_getlasterror_str());
            break;
        }
        if (nsys > 0) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                EB_LOGW("srt", "wake read: %s", strerror(errno));
        }
        for (int i = 0; i < nready; i++) {
            if (ready[i] == s->listener)
                eb_srt_accept(s);
            else
                eb_srt_read(s, ready[i]);
        }
    }

    /* Shutdown: no admission or accept any more, then every connection. */
    srt_close(s->listener);
    s->listener = SRT_INVALID_SOCK;
    for (;;) {
        uint64_t id = 0;

        pthread_mutex_lock(&s->lock);
        if (s->nb_conns)
            id = s->conns[0].id;
        pthread_mutex_unlock(&s->lock);
        if (!id)
            break;
        eb_srt_conn_end(s, id, "shutdown", 1);
    }
    return NULL;
}

/* ---- public ----------------------------------------------------------------- */

static void eb_srt_free(EbIngestSrt *s)
{
    if (s->listener != SRT_INVALID_SOCK)
        srt_close(s->listener);
    if (s->eid >= 0)
        srt_epoll_release(s->eid);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->srt_started)
        srt_cleanup();
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->conns);
    free(s);
}

int eb_ingest_srt_open(const EbIngestSrtConfig *cfg, EbIngestSrt **out, char *detail, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    EbIngestSrt *s;
    int no = 0, yes = 1, live = SRTT_LIVE, latency, ret, ev_in = SRT_EPOLL_IN, len;

    if (detail && size)
        detail[0] = 0;
    if (!out)
        return EB_ERR(EINVAL);
    *out = NULL;
    if (!cfg || !cfg->lookup || !cfg->data) {
        eb_srt_detail(detail, size, "%s", "lookup and data callbacks are required");
        return EB_ERR(EINVAL);
    }
    if (cfg->latency_ms < 0) {
        eb_srt_detail(detail, size, "%s", "latency_ms must be >= 0");
        return EB_ERR(EINVAL);
    }
    if (eb_net_parse_listen(cfg->listen, &ss, &sslen) < 0) {
        eb_srt_detail(detail, size, "bad SRT listen address \"%s\" (want HOST:PORT)",
                      cfg->listen ? cfg->listen : "(null)");
        return EB_ERR(EINVAL);
    }
    latency = cfg->latency_ms ? cfg->latency_ms : EB_SRT_DEFAULT_LATENCY_MS;

    s = calloc(1, sizeof(*s));
    if (!s)
        return EB_ERR(ENOMEM);
    s->cfg = *cfg;
    s->cfg.listen = NULL;
    s->listener = SRT_INVALID_SOCK;
    s->eid = -1;
    s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);

    pthread_once(&eb_srt_log_once, eb_srt_log_init);
    if (srt_startup() < 0) {
        ret = eb_srt_fail("srt_startup", detail, size);
        goto error;
    }
    s->srt_started = 1;

    s->listener = srt_create_socket();
    if (s->listener == SRT_INVALID_SOCK) {
        ret = eb_srt_fail("srt_create_socket", detail, size);
        goto error;
    }
    /* Pre-bind options; accepted sockets inherit them. */
    if (srt_setsockflag(s->listener, SRTO_TRANSTYPE, &live, sizeof(live)) < 0 ||
        srt_setsockflag(s->listener, SRTO_RCVLATENCY, &latency, sizeof(latency)) < 0 ||
        srt_setsockflag(s->listener, SRTO_RCVSYN, &no, sizeof(no)) < 0) {
        ret = eb_srt_fail("srt_setsockflag", detail, size);
        goto error;
    }
    if (ss.ss_family == AF_INET6) {
        /* libsrt wants IPV6ONLY said explicitly for an IPv6 bind; the
         * wildcard serves IPv4 publishers too. */
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        int v6only = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) ? no : yes;
        if (srt_setsockflag(s->listener, SRTO_IPV6ONLY, &v6only, sizeof(v6only)) < 0) {
            ret = eb_srt_fail("srt_setsockflag(SRTO_IPV6ONLY)", detail, size);
            goto error;
        }
    }
    if (srt_bind(s->listener, (struct sockaddr *)&ss, (int)sslen) < 0) {
        char what[160];
        snprintf(what, sizeof(what), "SRT bind %s", cfg->listen);
        ret = eb_srt_fail(what, detail, size);
        goto error;
    }
    len = sizeof(ss);
    if (srt_getsockname(s->listener, (struct sockaddr *)&ss, &len) < 0) {
        ret = eb_srt_fail("srt_getsockname", detail, size);
        goto error;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    /* The callback must be in place before listen: no publisher may slip
     * in unchecked. */
    if (srt_listen_callback(s->listener, eb_srt_on_listen, s) < 0 ||
        srt_listen(s->listener, EB_SRT_BACKLOG) < 0) {
        ret = eb_srt_fail("SRT listen", detail, size);
        goto error;
    }

    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        ret = EB_ERR(errno);
        eb_srt_detail(detail, size, "eventfd: %s", strerror(errno));
        goto error;
    }
    s->eid = srt_epoll_create();
    if (s->eid < 0 || srt_epoll_add_usock(s->eid, s->listener, &ev_in) < 0 ||
        srt_epoll_add_ssock(s->eid, s->wake_fd, &ev_in) < 0) {
        ret = eb_srt_fail("srt_epoll", detail, size);
        goto error;
    }

    ret = pthread_create(&s->thread, NULL, eb_srt_thread, s);
    if (ret) {
        eb_srt_detail(detail, size, "thread: %s", strerror(ret));
        ret = EB_ERR(ret);
        goto error;
    }
    s->thread_started = 1;
    EB_LOGI("srt", "SRT ingest listening on %s (port %d, latency %d ms)", cfg->listen, s->port,
            latency);
    *out = s;
    return 0;

error:
    EB_LOGW("srt", "SRT ingest on %s not started: %s", cfg->listen,
            detail && size ? detail : eb_strerror(ret));
    eb_srt_free(s);
    return ret;
}

int eb_ingest_srt_port(const EbIngestSrt *s)
{
    return s ? s->port : EB_ERR(EINVAL);
}

int eb_ingest_srt_stats(EbIngestSrt *s, uint64_t conn, EbIngestSrtStats *out)
{
    SRT_TRACEBSTATS perf;
    SRTSOCKET sock;
    int i;

    if (!s || !out)
        return EB_ERR(EINVAL);
    memset(out, 0, sizeof(*out));
    memset(&perf, 0, sizeof(perf));
    pthread_mutex_lock(&s->lock);
    i = eb_srt_find(s, conn);
    sock = i < 0 ? SRT_INVALID_SOCK : s->conns[i].sock;
    pthread_mutex_unlock(&s->lock);
    if (sock == SRT_INVALID_SOCK)
        return EB_ERR(ENOENT);
    /* Outside the lock (see DESIGN); a socket closed meanwhile is gone. */
    if (srt_bstats(sock, &perf, 0) < 0)
        return srt_getlasterror(NULL) == SRT_EINVSOCK ? EB_ERR(ENOENT) : EB_ERR(EIO);
    out->rtt_ms = perf.msRTT;
    out->pkts_lost = perf.pktRcvLossTotal;
    out->pkts_retransmitted = perf.pktRcvRetrans; /* never cleared: a total */
    out->pkts_dropped = perf.pktRcvDropTotal;
    out->bytes_received = (int64_t)perf.byteRecvTotal;
    out->mbps_recv = perf.msTimeStamp > 0
                         ? (double)perf.byteRecvTotal * 8.0 / ((double)perf.msTimeStamp * 1000.0)
                         : 0.0;
    return 0;
}

int eb_ingest_srt_drop(EbIngestSrt *s, uint64_t conn)
{
    int i;

    if (!s)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&s->lock);
    i = eb_srt_find(s, conn);
    if (i < 0) {
        pthread_mutex_unlock(&s->lock);
        return EB_ERR(ENOENT);
    }
    s->conns[i].drop = 1;
    if (eb_srt_self == s) {
        /* From a callback: the thread closes it once the callback returns. */
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    eb_srt_wake(s);
    while (eb_srt_find(s, conn) >= 0 || s->closing == conn)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void eb_ingest_srt_close(EbIngestSrt **ps)
{
    EbIngestSrt *s = ps ? *ps : NULL;

    if (!s)
        return;
    if (eb_srt_self == s) {
        EB_LOGE("srt", "eb_ingest_srt_close called from an SRT ingest callback; ignored");
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_mutex_unlock(&s->lock);
    eb_srt_wake(s);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    eb_srt_free(s);
    *ps = NULL;
    EB_LOGI("srt", "SRT ingest closed");
}
