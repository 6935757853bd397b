/*
 * The SRT ingest port (api/eb_ingest_srt.h): the access-control stream id
 * parser, then the port on loopback with real publishers: ffmpeg's srt
 * protocol (a 3 s H.264/AAC MPEG-TS publish arrives whole, as TS packets,
 * and ends with one close()), and libsrt callers made here, which can read
 * the reject reason a refused publisher gets (unknown channel 1404, busy
 * 1409, wrong mode 1405, malformed 1400, wrong passphrase
 * SRT_REJ_BADSECRET, none SRT_REJ_UNSECURE) - in every refusal no byte
 * reaches data(). eb_ingest_srt_drop ends a live ffmpeg publish at once,
 * and eb_ingest_srt_close ends the live connections it finds.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <srt/access_control.h>
#include <srt/srt.h>

#include "eb_error.h"
#include "eb_ingest_srt.h"
#include "eb_test_media.h"

#define PASS "correct-horse-1"
#define MAX_LOOKUPS 16

extern char **environ;

/* What the callbacks saw; every field under lock. */
typedef struct Seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char lookups[MAX_LOOKUPS][EB_SRT_CHANNEL_MAX + 1];
    int nb_lookups;
    int opens, closes, refused_opens;
    char open_channel[EB_SRT_CHANNEL_MAX + 1];
    uint64_t conn;
    char why[64];
    int64_t bytes, messages;
    int bad_size, bad_sync; /* messages not whole TS packets / without 0x47 */
    int data_after_close;   /* data() for a conn after its close() */
    int stats_ret;          /* eb_ingest_srt_stats from inside data() */
    EbIngestSrtStats stats;
    EbIngestSrt *srt;
} Seen;

static Seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void seen_reset(void)
{
    pthread_mutex_lock(&seen.lock);
    memset(seen.lookups, 0, sizeof(seen.lookups));
    seen.nb_lookups = seen.opens = seen.closes = seen.refused_opens = 0;
    seen.open_channel[0] = seen.why[0] = 0;
    seen.conn = 0;
    seen.bytes = seen.messages = 0;
    seen.bad_size = seen.bad_sync = seen.data_after_close = 0;
    seen.stats_ret = 1; /* not asked yet */
    memset(&seen.stats, 0, sizeof(seen.stats));
    seen.srt = NULL;
    pthread_mutex_unlock(&seen.lock);
}

/* cam1 (passphrase PASS) is the one channel, busy while it has a publisher;
 * refuse-open passes lookup but open() refuses it. */
static int on_lookup(void *opaque, const char *channel, char *passphrase, size_t size)
{
    int ret = EB_ERR(ENOENT);

    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    if (seen.nb_lookups < MAX_LOOKUPS)
        snprintf(seen.lookups[seen.nb_lookups++], EB_SRT_CHANNEL_MAX + 1, "%s", channel);
    if (!strcmp(channel, "cam1"))
        ret = seen.opens > seen.closes ? EB_ERR(EBUSY) : 0;
    else if (!strcmp(channel, "refuse-open"))
        ret = 0;
    pthread_mutex_unlock(&seen.lock);
    if (ret == 0)
        snprintf(passphrase, size, "%s", PASS);
    return ret;
}

static int on_open(void *opaque, const char *channel, uint64_t conn)
{
    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    if (!strcmp(channel, "refuse-open")) {
        seen.refused_opens++;
        pthread_cond_broadcast(&seen.cond);
        pthread_mutex_unlock(&seen.lock);
        return EB_ERR(EPERM);
    }
    seen.opens++;
    snprintf(seen.open_channel, sizeof(seen.open_channel), "%s", channel);
    seen.conn = conn;
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
    return 0;
}

static int on_data(void *opaque, uint64_t conn, const uint8_t *buf, size_t size)
{
    int ask_stats;

    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    if (seen.closes && conn == seen.conn)
        seen.data_after_close++;
    if (size % 188)
        seen.bad_size++;
    for (size_t i = 0; i < size; i += 188)
        if (buf[i] != 0x47)
            seen.bad_sync++;
    seen.bytes += (int64_t)size;
    seen.messages++;
    ask_stats = seen.stats_ret == 1 && seen.bytes > 20000 && seen.srt;
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
    if (ask_stats) {
        /* From a callback, on the module's thread: must not deadlock. */
        EbIngestSrtStats st;
        int ret = eb_ingest_srt_stats(seen.srt, conn, &st);
        pthread_mutex_lock(&seen.lock);
        seen.stats_ret = ret;
        seen.stats = st;
        pthread_mutex_unlock(&seen.lock);
    }
    return 0;
}

static void on_close(void *opaque, uint64_t conn, const char *why)
{
    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    if (conn == seen.conn)
        seen.closes++;
    snprintf(seen.why, sizeof(seen.why), "%s", why);
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
}

static EbIngestSrt *start(void)
{
    EbIngestSrtConfig cfg = {
        .listen = "127.0.0.1:0",
        .lookup = on_lookup,
        .open = on_open,
        .data = on_data,
        .close = on_close,
    };
    EbIngestSrt *s = NULL;
    char detail[256];

    seen_reset();
    assert_int_equal(eb_ingest_srt_open(&cfg, &s, detail, sizeof(detail)), 0);
    assert_non_null(s);
    assert_true(eb_ingest_srt_port(s) > 0);
    pthread_mutex_lock(&seen.lock);
    seen.srt = s;
    pthread_mutex_unlock(&seen.lock);
    return s;
}

static void stop(EbIngestSrt **s)
{
    eb_ingest_srt_close(s);
    assert_null(*s);
    pthread_mutex_lock(&seen.lock);
    seen.srt = NULL;
    pthread_mutex_unlock(&seen.lock);
}

/* Waits until *field >= value (under seen.lock); 1 when reached. */
static int wait_at_least(const void *field, int is64, int64_t value, double seconds)
{
    struct timespec until;
    int ok;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)seconds;
    until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&seen.lock);
    for (;;) {
        int64_t v = is64 ? *(const int64_t *)field : *(const int *)field;
        if (v >= value || pthread_cond_timedwait(&seen.cond, &seen.lock, &until) == ETIMEDOUT)
            break;
    }
    ok = (is64 ? *(const int64_t *)field : *(const int *)field) >= value;
    pthread_mutex_unlock(&seen.lock);
    return ok;
}

static int seen_int(const int *field)
{
    int v;
    pthread_mutex_lock(&seen.lock);
    v = *field;
    pthread_mutex_unlock(&seen.lock);
    return v;
}

static int was_looked_up(const char *channel)
{
    int found = 0;
    pthread_mutex_lock(&seen.lock);
    for (int i = 0; i < seen.nb_lookups; i++)
        found |= !strcmp(seen.lookups[i], channel);
    pthread_mutex_unlock(&seen.lock);
    return found;
}

/* A libsrt caller (the publisher's side). 0 and *out connected, or -1 and
 * *reject the reason libsrt gives the caller. */
static int srt_publish_connect(int port, const char *sid, const char *pass, int *reject,
                               SRTSOCKET *out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    SRTSOCKET sock = srt_create_socket();
    int timeo = 3000;

    *reject = 0;
    *out = SRT_INVALID_SOCK;
    assert_int_not_equal(sock, SRT_INVALID_SOCK);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(srt_setsockflag(sock, SRTO_STREAMID, sid, (int)strlen(sid)), 0);
    assert_int_equal(srt_setsockflag(sock, SRTO_CONNTIMEO, &timeo, sizeof(timeo)), 0);
    if (pass)
        assert_int_equal(srt_setsockflag(sock, SRTO_PASSPHRASE, pass, (int)strlen(pass)), 0);
    if (srt_connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
        *reject = srt_getrejectreason(sock);
        srt_close(sock);
        return -1;
    }
    *out = sock;
    return 0;
}

/* The reject reason a caller with this stream id and passphrase gets. */
static int srt_reject_of(int port, const char *sid, const char *pass)
{
    SRTSOCKET sock;
    int reject;

    if (srt_publish_connect(port, sid, pass, &reject, &sock) == 0) {
        srt_close(sock);
        return 0;
    }
    return reject;
}

/* ffmpeg publishing H.264/AAC MPEG-TS to the port for %d seconds. ffmpeg
 * 5.1 passes the streamid option to libsrt without percent-decoding it and
 * keeps a `#` in an srt:// URL; the listener takes both the `#` and the
 * "%23" of the ingest URLs the API hands out (test_streamid_parse). */
#define FFMPEG_PUBLISH                                                                             \
    "-hide_banner -re -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t %d "           \
    "-c:v libx264 -preset ultrafast -c:a aac -f mpegts "                                           \
    "'srt://127.0.0.1:%d?streamid=#!::r=%s,m=publish&passphrase=%s&pkt_size=1316'"

/* ---- stream id ------------------------------------------------------------ */

static void test_streamid_parse(void **state)
{
    char ch[EB_SRT_CHANNEL_MAX + 1], mode[16], small[4];
    char long_sid[128];
    (void)state;

    assert_int_equal(
        eb_srt_streamid_parse("#!::r=cam1,m=publish", ch, sizeof(ch), mode, sizeof(mode)), 0);
    assert_string_equal(ch, "cam1");
    assert_string_equal(mode, "publish");
    /* The percent-encoded "#" of an ingest URL, as ffmpeg 5.1 passes it. */
    assert_int_equal(
        eb_srt_streamid_parse("%23!::r=cam1,m=publish", ch, sizeof(ch), mode, sizeof(mode)), 0);
    assert_string_equal(ch, "cam1");
    assert_int_equal(
        eb_srt_streamid_parse("%24!::r=cam1,m=publish", ch, sizeof(ch), mode, sizeof(mode)),
        EB_ERR(EINVAL));
    /* Any key order, unknown keys ignored. */
    assert_int_equal(eb_srt_streamid_parse("#!::m=publish,u=alice,r=studio_2-b", ch, sizeof(ch),
                                           mode, sizeof(mode)),
                     0);
    assert_string_equal(ch, "studio_2-b");
    assert_string_equal(mode, "publish");
    /* m defaults to request (which the listener refuses). */
    assert_int_equal(eb_srt_streamid_parse("#!::r=cam1", ch, sizeof(ch), mode, sizeof(mode)), 0);
    assert_string_equal(mode, "request");
    assert_int_equal(
        eb_srt_streamid_parse("#!::r=cam1,m=request", ch, sizeof(ch), mode, sizeof(mode)), 0);
    assert_string_equal(mode, "request");

    /* Malformed. */
    static const char *const bad[] = {
        "cam1",                  /* plain name: not the #!:: form */
        "",                      /* empty */
        "#!:r=cam1,m=publish",   /* wrong prefix */
        "#!::m=publish",         /* no r */
        "#!::u=alice,m=publish", /* no r */
        "#!::r=,m=publish",      /* empty channel */
        "#!::r=Cam1,m=publish",  /* upper case */
        "#!::r=cam 1,m=publish", /* space */
        "#!::r=cam/1,m=publish", /* slash */
        "#!::r=cam1,m=",         /* empty mode */
        "#!::r=cam1,r=cam2",     /* repeated key */
        "#!::r=cam1,,m=publish", /* empty item */
        "#!::r=cam1,publish",    /* item without = */
        "#!::",                  /* nothing */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(ch, "x");
        assert_int_equal(eb_srt_streamid_parse(bad[i], ch, sizeof(ch), mode, sizeof(mode)),
                         EB_ERR(EINVAL));
        assert_string_equal(ch, ""); /* nothing half-filled */
    }
    assert_int_equal(eb_srt_streamid_parse(NULL, ch, sizeof(ch), mode, sizeof(mode)),
                     EB_ERR(EINVAL));

    /* 64 characters is the longest name, 65 too long. */
    snprintf(long_sid, sizeof(long_sid), "#!::r=%064d,m=publish", 7);
    assert_int_equal(eb_srt_streamid_parse(long_sid, ch, sizeof(ch), mode, sizeof(mode)), 0);
    assert_int_equal(strlen(ch), 64);
    snprintf(long_sid, sizeof(long_sid), "#!::r=%065d,m=publish", 7);
    assert_int_equal(eb_srt_streamid_parse(long_sid, ch, sizeof(ch), mode, sizeof(mode)),
                     EB_ERR(EINVAL));
    /* Buffers too small. */
    assert_int_equal(
        eb_srt_streamid_parse("#!::r=cam1,m=publish", small, sizeof(small), mode, sizeof(mode)),
        EB_ERR(ENOSPC));
    assert_int_equal(
        eb_srt_streamid_parse("#!::r=cam1,m=publish", ch, sizeof(ch), small, sizeof(small)),
        EB_ERR(ENOSPC));
    assert_string_equal(ch, "");
}

static void test_open_errors(void **state)
{
    EbIngestSrtConfig cfg = {.lookup = on_lookup, .data = on_data};
    EbIngestSrt *s = (EbIngestSrt *)&cfg, *a = NULL;
    char detail[256];
    (void)state;

    static const char *const bad[] = {
        "",          "9000",      "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "host.example:9000",
        "[::1:9000", "1.2.3.4:9x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.listen = bad[i];
        detail[0] = 0;
        assert_int_equal(eb_ingest_srt_open(&cfg, &s, detail, sizeof(detail)), EB_ERR(EINVAL));
        assert_null(s);
        assert_non_null(strstr(detail, "HOST:PORT"));
    }
    cfg.listen = "127.0.0.1:0";
    cfg.lookup = NULL;
    assert_int_equal(eb_ingest_srt_open(&cfg, &s, detail, sizeof(detail)), EB_ERR(EINVAL));

    /* A port taken by another listener. */
    cfg.lookup = on_lookup;
    assert_int_equal(eb_ingest_srt_open(&cfg, &a, detail, sizeof(detail)), 0);
    {
        char listen[64], why[256];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", eb_ingest_srt_port(a));
        cfg.listen = listen;
        assert_true(eb_ingest_srt_open(&cfg, &s, why, sizeof(why)) < 0);
        assert_null(s);
        assert_true(why[0] != 0);
        fprintf(stderr, "a taken port: %s\n", why);
    }
    eb_ingest_srt_close(&a);
    assert_null(a);
    eb_ingest_srt_close(&a); /* NULL: nothing */
    eb_ingest_srt_close(NULL);
}

/* ---- publishers ----------------------------------------------------------- */

static void test_ffmpeg_publish(void **state)
{
    EbIngestSrt *s = start();
    int port = eb_ingest_srt_port(s);
    (void)state;

    assert_int_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, 3, port, "cam1", PASS), 0);
    assert_true(wait_at_least(&seen.closes, 0, 1, 5.0));

    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.opens, 1);
    assert_string_equal(seen.open_channel, "cam1");
    assert_true(seen.conn > 0);
    assert_true(seen.bytes > 10 * 1000);
    assert_true(seen.messages > 10);
    assert_int_equal(seen.bad_size, 0);
    assert_int_equal(seen.bad_sync, 0);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.data_after_close, 0);
    assert_string_equal(seen.why, "publisher disconnected");
    assert_int_equal(seen.stats_ret, 0);
    assert_true(seen.stats.bytes_received > 0);
    assert_true(seen.stats.mbps_recv > 0);
    assert_true(seen.stats.rtt_ms >= 0);
    fprintf(stderr,
            "publish: %lld bytes in %lld messages; stats: %lld bytes, %.3f Mb/s, rtt %.3f ms\n",
            (long long)seen.bytes, (long long)seen.messages, (long long)seen.stats.bytes_received,
            seen.stats.mbps_recv, seen.stats.rtt_ms);
    pthread_mutex_unlock(&seen.lock);
    assert_true(was_looked_up("cam1"));
    /* A closed connection has no stats and cannot be dropped. */
    {
        EbIngestSrtStats st;
        uint64_t conn;
        pthread_mutex_lock(&seen.lock);
        conn = seen.conn;
        pthread_mutex_unlock(&seen.lock);
        assert_int_equal(eb_ingest_srt_stats(s, conn, &st), EB_ERR(ENOENT));
        assert_int_equal(eb_ingest_srt_drop(s, conn), EB_ERR(ENOENT));
    }
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 1); /* not again at shutdown */
}

static void test_wrong_passphrase(void **state)
{
    EbIngestSrt *s = start();
    int port = eb_ingest_srt_port(s);
    (void)state;

    /* ffmpeg: the handshake fails, the command fails. */
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, 1, port, "cam1", "wrong-horse-22"), 0);
    assert_true(was_looked_up("cam1"));
    /* libsrt callers: what the publisher is told. */
    assert_int_equal(srt_reject_of(port, "#!::r=cam1,m=publish", "wrong-horse-22"),
                     SRT_REJ_BADSECRET);
    assert_int_equal(srt_reject_of(port, "#!::r=cam1,m=publish", NULL), SRT_REJ_UNSECURE);

    pthread_mutex_lock(&seen.lock);
    assert_true(seen.nb_lookups >= 3);
    assert_int_equal(seen.opens, 0);
    assert_int_equal(seen.bytes, 0);
    assert_int_equal(seen.messages, 0);
    pthread_mutex_unlock(&seen.lock);
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 0);
}

static void test_refusals(void **state)
{
    EbIngestSrt *s = start();
    int port = eb_ingest_srt_port(s);
    (void)state;

    /* Unknown channel: lookup asked with that name, 404-like reason. */
    assert_int_equal(srt_reject_of(port, "#!::r=nosuch,m=publish", PASS), SRT_REJX_NOTFOUND);
    assert_true(was_looked_up("nosuch"));
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, 1, port, "nosuch2", PASS), 0);
    assert_true(was_looked_up("nosuch2"));

    /* Refused before any lookup: bad mode, plain name, bad characters. */
    pthread_mutex_lock(&seen.lock);
    seen.nb_lookups = 0;
    pthread_mutex_unlock(&seen.lock);
    assert_int_equal(srt_reject_of(port, "#!::r=cam1,m=request", PASS), SRT_REJX_BAD_MODE);
    assert_int_equal(srt_reject_of(port, "#!::r=cam1", PASS), SRT_REJX_BAD_MODE);
    assert_int_equal(srt_reject_of(port, "cam1", PASS), SRT_REJX_BAD_REQUEST);
    assert_int_equal(srt_reject_of(port, "#!::r=../etc,m=publish", PASS), SRT_REJX_BAD_REQUEST);
    assert_int_equal(seen_int(&seen.nb_lookups), 0);

    /* open() refusing after the handshake: closed, no close() for it.
     * The handshake itself is accepted (no reject reason), but the
     * listener may close the socket before the caller's srt_connect()
     * returns (seen under ThreadSanitizer): then it fails with the
     * connection lost, not refused. */
    {
        SRTSOCKET sock;
        int reject;
        if (srt_publish_connect(port, "#!::r=refuse-open,m=publish", PASS, &reject, &sock) == 0)
            srt_close(sock);
        else
            assert_true(reject < SRT_REJC_PREDEFINED && reject != SRT_REJ_BADSECRET &&
                        reject != SRT_REJ_UNSECURE);
        assert_true(wait_at_least(&seen.refused_opens, 0, 1, 5.0));
    }

    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.opens, 0);
    assert_int_equal(seen.bytes, 0);
    pthread_mutex_unlock(&seen.lock);
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 0);
}

/* Starts `sh -c cmd`; its pid. */
static pid_t spawn_sh(const char *cmd)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;

    assert_int_equal(posix_spawnp(&pid, "sh", NULL, NULL, argv, environ), 0);
    return pid;
}

/* Waits up to seconds for pid to exit (pidfd, no polling loop); its wait
 * status, or -1 after killing it when it did not exit in time. */
static int wait_exit(pid_t pid, int seconds)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0), st = 0, timed_out = 0;

    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        timed_out = poll(&p, 1, seconds * 1000) == 0;
        close(pfd);
    }
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return timed_out ? -1 : st;
}

static void test_drop_live_publish(void **state)
{
    EbIngestSrt *s = start();
    int port = eb_ingest_srt_port(s), st;
    char args[1024], cmd[1200];
    int64_t bytes_at_drop;
    uint64_t conn;
    pid_t pid;
    (void)state;

    snprintf(args, sizeof(args), FFMPEG_PUBLISH, 30, port, "cam1", PASS);
    snprintf(cmd, sizeof(cmd), "exec ffmpeg -nostdin -y -v error %s", args);
    pid = spawn_sh(cmd);
    if (!wait_at_least(&seen.bytes, 1, 20000, 15.0)) {
        wait_exit(pid, 0);
        fail_msg("no publish arrived");
    }
    pthread_mutex_lock(&seen.lock);
    conn = seen.conn;
    pthread_mutex_unlock(&seen.lock);

    /* A second publisher of the live channel: busy, 409-like. */
    assert_int_equal(srt_reject_of(port, "#!::r=cam1,m=publish", PASS), SRT_REJX_CONFLICT);

    /* Drop returns once close() has been called: nothing follows it. */
    assert_int_equal(eb_ingest_srt_drop(s, conn), 0);
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "dropped");
    bytes_at_drop = seen.bytes;
    pthread_mutex_unlock(&seen.lock);
    assert_int_equal(eb_ingest_srt_drop(s, conn), EB_ERR(ENOENT));

    /* ffmpeg notices the broken connection and gives up well before its
     * 30 s. */
    st = wait_exit(pid, 10);
    assert_int_not_equal(st, -1);
    fprintf(stderr, "ffmpeg after drop: exit status %d\n",
            WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.bytes, bytes_at_drop);
    assert_int_equal(seen.data_after_close, 0);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.opens, 1);
    pthread_mutex_unlock(&seen.lock);
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 1);
}

static void test_close_with_live_publisher(void **state)
{
    EbIngestSrt *s = start();
    int port = eb_ingest_srt_port(s), reject;
    uint8_t msg[1316];
    SRTSOCKET sock;
    (void)state;

    assert_int_equal(srt_publish_connect(port, "#!::r=cam1,m=publish", PASS, &reject, &sock), 0);
    assert_true(wait_at_least(&seen.opens, 0, 1, 5.0));
    memset(msg, 0xff, sizeof(msg));
    for (size_t i = 0; i < sizeof(msg); i += 188)
        msg[i] = 0x47;
    for (int i = 0; i < 20; i++)
        assert_int_equal(srt_sendmsg(sock, (const char *)msg, sizeof(msg), -1, 0),
                         (int)sizeof(msg));
    assert_true(wait_at_least(&seen.bytes, 1, 20 * 1316, 5.0));

    stop(&s);
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "shutdown");
    assert_int_equal(seen.bytes, 20 * 1316);
    assert_int_equal(seen.bad_sync, 0);
    pthread_mutex_unlock(&seen.lock);
    srt_close(sock);
}

static int group_setup(void **state)
{
    (void)state;
    return srt_startup() < 0;
}

static int group_teardown(void **state)
{
    (void)state;
    srt_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamid_parse),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_ffmpeg_publish),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_drop_live_publish),
        cmocka_unit_test(test_close_with_live_publisher),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
