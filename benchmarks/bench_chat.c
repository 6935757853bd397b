/*
 * The chat's fan-out (api/eb_chat.h), measured in process: the daemon's own
 * WebSocket hub and chat on a job database (a SQLite file, or the
 * PostgreSQL URL given), N viewers on socketpairs read by one thread, and
 * one sender. For each message: the time from its send until the last of
 * the N viewers has it whole (the path a real message takes: the hub's
 * thread, the chat thread's stamp and INSERT, the tail read, the fan-out
 * to every socket). Then a flood: as fast as the sender can, how many
 * messages a second reach every viewer.
 *
 *   bench_chat DATABASE VIEWERS MESSAGES
 *
 * Prints one line of figures per run (benchmarks/chat.sh runs it over a
 * few viewer counts, on SQLite and PostgreSQL). Not a test: it asserts
 * nothing beyond every message arriving.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "eb_chat.h"
#include "eb_ws.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int token_ok(void *opaque, const char *token)
{
    (void)opaque;
    (void)token;
    return 1;
}

static EbChat *chat_of;

static void on_message(void *opaque, uint64_t conn, const char *topic, int moderator,
                       const char *text, size_t len)
{
    (void)opaque;
    eb_chat_ws_message(chat_of, conn, topic, moderator, text, len);
}

static void on_join(void *opaque, uint64_t conn, const char *topic)
{
    (void)opaque;
    eb_chat_ws_join(chat_of, conn, topic);
}

static int edge(void *opaque, const char *channel, double *date)
{
    (void)opaque;
    (void)channel;
    *date = 1.8e9;
    return 0;
}

static void on_done(void *opaque)
{
    close((int)(intptr_t)opaque);
}

/* ---- the viewers: one thread reads every socket's frames ---------------- */

#define MAX_VIEWERS 1000
#define MAX_MESSAGES 100000

typedef struct Viewer {
    int fd;
    int sender; /* the sender's own socket: read, not counted */
    uint8_t buf[1 << 16];
    size_t len;
} Viewer;

static Viewer *viewers;
static int nb_viewers;
static atomic_int got[MAX_MESSAGES]; /* viewers that have message k */
static double last_at[MAX_MESSAGES]; /* when the last of them got it */
static atomic_int stop_reader;

/* Frames the server sends are unmasked (RFC 6455 5.1): a 2-byte head, a
 * 16- or 64-bit length. Counts the chat messages "m<k>" each carries. */
static void viewer_frames(Viewer *v)
{
    size_t off = 0;
    while (v->len - off >= 2) {
        const uint8_t *p = v->buf + off;
        size_t head = 2, n = p[1] & 0x7f;
        if (n == 126) {
            if (v->len - off < 4)
                break;
            n = (size_t)p[2] << 8 | p[3];
            head = 4;
        } else if (n == 127) {
            if (v->len - off < 10)
                break;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | p[2 + i];
            head = 10;
        }
        if (v->len - off < head + n)
            break;
        {
            const char *m = memmem(p + head, n, "\"text\":\"m", 9);
            if (m && !v->sender && memmem(p + head, n, "chat.message", 12)) {
                int k = atoi(m + 9);
                if (k >= 0 && k < MAX_MESSAGES &&
                    atomic_fetch_add(&got[k], 1) + 1 == nb_viewers)
                    last_at[k] = now_s();
            }
        }
        off += head + n;
    }
    memmove(v->buf, v->buf + off, v->len - off);
    v->len -= off;
}

static void *reader(void *arg)
{
    int all = nb_viewers + 1;
    struct pollfd *pfd = calloc((size_t)all, sizeof(*pfd));
    (void)arg;
    for (int i = 0; i < all; i++)
        pfd[i] = (struct pollfd){.fd = viewers[i].fd, .events = POLLIN};
    while (!atomic_load(&stop_reader)) {
        if (poll(pfd, (nfds_t)all, 100) <= 0)
            continue;
        for (int i = 0; i < all; i++) {
            Viewer *v = &viewers[i];
            ssize_t n;
            if (!(pfd[i].revents & POLLIN))
                continue;
            n = recv(v->fd, v->buf + v->len, sizeof(v->buf) - v->len, MSG_DONTWAIT);
            if (n > 0) {
                v->len += (size_t)n;
                viewer_frames(v);
            }
        }
    }
    free(pfd);
    return NULL;
}

/* A client frame: masked with a zero key (RFC 6455 5.3), so the payload
 * goes as it is. */
static void send_text(int fd, const char *text)
{
    uint8_t frame[512];
    size_t n = strlen(text);
    frame[0] = 0x81;
    frame[1] = 0x80 | (uint8_t)n;
    memset(frame + 2, 0, 4);
    memcpy(frame + 6, text, n);
    if (send(fd, frame, 6 + n, MSG_NOSIGNAL) != (ssize_t)(6 + n))
        perror("send");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Waits until every viewer has message k (30 s at most): 0, or -1. */
static int wait_all(int k)
{
    for (double end = now_s() + 30; now_s() < end;) {
        if (atomic_load(&got[k]) >= nb_viewers)
            return 0;
        usleep(200);
    }
    return -1;
}

int main(int argc, char **argv)
{
    EbWsConfig wc = {.token_ok = token_ok,
                     .on_message = on_message,
                     .on_join = on_join,
                     .rate = 1e6,
                     .burst = 1e6};
    EbChatConfig cc = {.box = "bench", .edge = edge, .max_chars = 500, .history = 0};
    EbWs *ws = NULL;
    int sender[2], messages;
    double *lat, t0, flood_s;
    struct rusage ru0, ru1;
    pthread_t th;
    char text[128];

    if (argc != 4 || (nb_viewers = atoi(argv[2])) < 1 || nb_viewers > MAX_VIEWERS ||
        (messages = atoi(argv[3])) < 2 || messages * 2 > MAX_MESSAGES) {
        fprintf(stderr, "usage: bench_chat DATABASE VIEWERS(1-%d) MESSAGES\n", MAX_VIEWERS);
        return 2;
    }
    cc.db = argv[1];
    if (eb_ws_open(&wc, &ws) < 0)
        return 1;
    cc.ws = ws;
    if (eb_chat_open(&cc, &chat_of) < 0) {
        fprintf(stderr, "bench_chat: cannot open the chat on %s\n", argv[1]);
        return 1;
    }
    viewers = calloc((size_t)nb_viewers + 1, sizeof(*viewers));
    for (int i = 0; i < nb_viewers; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
            eb_ws_adopt(ws, sv[0], NULL, 0, EB_CHAT_TOPIC_PREFIX "bench", EB_WS_OPEN, on_done,
                        (void *)(intptr_t)sv[0]) < 0) {
            fprintf(stderr, "bench_chat: viewer %d: %s\n", i, strerror(errno));
            return 1;
        }
        viewers[i].fd = sv[1];
    }
    /* the sender is a viewer too (it gets its own messages: not counted) */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sender) < 0 ||
        eb_ws_adopt(ws, sender[0], NULL, 0, EB_CHAT_TOPIC_PREFIX "bench", EB_WS_OPEN, on_done,
                    (void *)(intptr_t)sender[0]) < 0)
        return 1;
    viewers[nb_viewers].fd = sender[1];
    viewers[nb_viewers].sender = 1;
    pthread_create(&th, NULL, reader, NULL);
    usleep(300 * 1000); /* every viewer joined */

    /* 1. one at a time: send -> the last viewer has it */
    lat = calloc((size_t)messages, sizeof(*lat));
    for (int k = 0; k < messages; k++) {
        double sent = now_s();
        snprintf(text, sizeof(text), "{\"type\":\"message\",\"name\":\"b\",\"text\":\"m%d\"}", k);
        send_text(sender[1], text);
        if (wait_all(k) < 0) {
            fprintf(stderr, "bench_chat: message %d reached %d of %d viewers\n", k,
                    atomic_load(&got[k]), nb_viewers);
            return 1;
        }
        lat[k] = (last_at[k] - sent) * 1000;
    }
    qsort(lat, (size_t)messages, sizeof(*lat), cmp_double);

    /* 2. a flood: messages back to back, until every viewer has them all */
    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_s();
    for (int k = messages; k < 2 * messages; k++) {
        snprintf(text, sizeof(text), "{\"type\":\"message\",\"name\":\"b\",\"text\":\"m%d\"}", k);
        send_text(sender[1], text);
    }
    for (int k = messages; k < 2 * messages; k++)
        if (wait_all(k) < 0) {
            fprintf(stderr, "bench_chat: flood message %d reached %d of %d viewers\n", k,
                    atomic_load(&got[k]), nb_viewers);
            return 1;
        }
    flood_s = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru1);

    printf("viewers %4d  one message: median %6.2f ms, p95 %6.2f ms, max %6.2f ms   "
           "flood: %6.0f messages/s, %8.0f deliveries/s, %5.1f us CPU a delivery (viewers' "
           "reading included)\n",
           nb_viewers, lat[messages / 2], lat[messages * 95 / 100], lat[messages - 1],
           messages / flood_s, (double)messages * nb_viewers / flood_s,
           ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
             ru0.ru_stime.tv_sec) * 1e6 +
            (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
             ru0.ru_stime.tv_usec)) /
               ((double)messages * nb_viewers));
    atomic_store(&stop_reader, 1);
    pthread_join(th, NULL);
    eb_chat_stop(chat_of);
    eb_ws_close(&ws);
    eb_chat_close(&chat_of);
    for (int i = 0; i < nb_viewers; i++)
        close(viewers[i].fd);
    close(sender[1]);
    free(viewers);
    free(lat);
    return 0;
}
