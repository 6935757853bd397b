/*
 * The origin's LL-HLS delivery over real HTTP: `encbox serve` (EB_BINARY)
 * serves a fake live channel whose playlists and part files this test
 * writes over time, as the packager does (each file renamed into place).
 * A blocking reload is held until the playlist that answers it is renamed
 * in, then answered at once; too far ahead or _HLS_part alone is 400; a
 * request held three target durations is 503; the preload-hinted part is
 * held until it is written; _HLS_skip=YES gets a delta update; 200 held
 * requests leave the 4 HTTP threads free, and a client that hangs up is
 * let go. Plain sockets (not libcurl) so the test sees exactly when the
 * first byte of an answer comes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "eb_clock.h"
#include "eb_storage.h"
#include "eb_test_media.h"

#define CH "news"     /* the low-latency channel */
#define CLASSIC "old" /* a channel with low latency off */
#define NB_HELD 200

static char tmp[4096], storage[4200];
static pid_t daemon_pid;
static int port;

/* ---- the fake packager ---------------------------------------------------- */

static void write_atomic(const char *dir, const char *name, const char *text)
{
    char t[4400], path[4400];
    FILE *f;

    snprintf(t, sizeof(t), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(t, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(t, path), 0);
}

static void channel_dirs(const char *ch, char *hls, char *cmaf, size_t size)
{
    snprintf(hls, size, "%s/live/%s/hls/360p", storage, ch);
    snprintf(cmaf, size, "%s/live/%s/cmaf/360p", storage, ch);
    eb_storage_mkdirs(hls);
    eb_storage_mkdirs(cmaf);
}

/* Part `part` of segment seq, renamed into place. */
static void part_write(const char *ch, int seq, int part)
{
    char hls[4300], cmaf[4300], name[64], text[64];
    channel_dirs(ch, hls, cmaf, sizeof(hls));
    snprintf(name, sizeof(name), "segment_%03d.%d.m4s", seq, part);
    snprintf(text, sizeof(text), "part %d.%d", seq, part);
    write_atomic(cmaf, name, text);
}

/* The rendition playlist as the packager writes it: target 1 s, parts of
 * 0.25 s (four a segment), segments 1..last complete (the last two with
 * their parts listed), `parts` parts of segment last + 1 out and the next
 * one hinted; ll 0: a classic live playlist. */
static void playlist_write(const char *ch, int last, int parts, int ll)
{
    char hls[4300], cmaf[4300], text[16384];
    size_t n = 0;

    channel_dirs(ch, hls, cmaf, sizeof(hls));
#define ADD(...) n += (size_t)snprintf(text + n, sizeof(text) - n, __VA_ARGS__)
    ADD("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n");
    if (ll)
        ADD("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.750,CAN-SKIP-UNTIL=6\n"
            "#EXT-X-PART-INF:PART-TARGET=0.25000\n");
    ADD("#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MAP:URI=\"../../cmaf/360p/init.mp4\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:00:00.000Z\n");
    for (int s = 1; s <= last; s++) {
        for (int p = 0; ll && s > last - 2 && p < 4; p++)
            ADD("#EXT-X-PART:DURATION=0.25000,URI=\"../../cmaf/360p/segment_%03d.%d.m4s\"%s\n", s,
                p, p ? "" : ",INDEPENDENT=YES");
        ADD("#EXTINF:1.000000,\n../../cmaf/360p/segment_%03d.m4s\n", s);
    }
    if (ll) {
        for (int p = 0; p < parts; p++)
            ADD("#EXT-X-PART:DURATION=0.25000,URI=\"../../cmaf/360p/segment_%03d.%d.m4s\"%s\n",
                last + 1, p, p ? "" : ",INDEPENDENT=YES");
        ADD("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"../../cmaf/360p/segment_%03d.%d.m4s\"\n", last + 1,
            parts);
    }
#undef ADD
    assert_true(n < sizeof(text));
    write_atomic(hls, "index.m3u8", text);
}

/* ---- HTTP over plain sockets ---------------------------------------------- */

typedef struct Resp {
    int code;
    char buf[65536];
    size_t len;
    const char *body;
} Resp;

static int64_t now_ms(void)
{
    return (int64_t)(eb_clock_ns() / 1000000);
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Connects and sends GET path (the server closes after its answer). */
static int http_send(const char *path)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char req[1024];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 when an answer has begun to arrive on fd within ms. */
static int http_answered(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

/* Reads the whole answer (until the server closes) within ms; closes fd.
 * Returns the status code, or -1. */
static int http_read(int fd, int ms, Resp *r)
{
    int64_t end = now_ms() + ms;

    r->len = 0;
    r->code = -1;
    r->body = "";
    for (;;) {
        int64_t left = end - now_ms();
        ssize_t n;
        if (left <= 0 || !http_answered(fd, (int)left))
            break;
        n = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    close(fd);
    r->buf[r->len] = '\0';
    if (sscanf(r->buf, "HTTP/1.%*d %d", &r->code) != 1)
        return -1;
    r->body = strstr(r->buf, "\r\n\r\n");
    r->body = r->body ? r->body + 4 : "";
    return r->code;
}

static int http_get(const char *path, Resp *r)
{
    int fd = http_send(path);
    return fd < 0 ? -1 : http_read(fd, 10000, r);
}

/* The value of a response header (case as the server writes it). */
static const char *header(const Resp *r, const char *name, char *out, size_t size)
{
    char key[128];
    const char *p, *e;

    snprintf(key, sizeof(key), "\r\n%s: ", name);
    p = strstr(r->buf, key);
    if (!p || (r->body && p > r->body))
        return NULL;
    p += strlen(key);
    e = strstr(p, "\r\n");
    snprintf(out, size, "%.*s", (int)(e ? e - p : (ptrdiff_t)strlen(p)), p);
    return out;
}

/* A gauge or counter from /metrics. */
static double metric(const char *name)
{
    Resp r;
    char key[128];
    const char *p;

    assert_int_equal(http_get("/metrics", &r), 200);
    snprintf(key, sizeof(key), "\n%s ", name);
    p = strstr(r.body - 1, key);
    assert_non_null(p);
    return atof(p + strlen(key));
}

/* Until the gauge reads want (at most ms). */
static int metric_becomes(const char *name, double want, int ms)
{
    for (int64_t end = now_ms() + ms; now_ms() < end; nap_ms(50))
        if (metric(name) == want)
            return 1;
    return metric(name) == want;
}

/* ---- the daemon ------------------------------------------------------------ */

static void daemon_start(void)
{
    const char *bin = getenv("EB_BINARY");
    char conf[4300], log[4300];
    Resp r;

    assert_non_null(bin);
    snprintf(conf, sizeof(conf), "%s/encbox.yaml", tmp);
    snprintf(log, sizeof(log), "%s/daemon.log", tmp);
    assert_int_equal(eb_storage_write_file(conf, "thumbnails:\n  enabled: false\n", 29), 0);
    for (int attempt = 0; attempt < 20; attempt++) {
        char listen[32];
        int status;
        port = 20000 + (int)((unsigned)rand() % 40000);
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        daemon_pid = fork();
        assert_true(daemon_pid >= 0);
        if (daemon_pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (!freopen(log, "a", stderr) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                _exit(127);
            execl(bin, bin, "serve", "--listen", listen, "--storage", storage, "--config", conf,
                  (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 300; i++) {
            if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
                daemon_pid = 0;
                break; /* the port was taken: another one */
            }
            if (http_get("/v1/health", &r) == 200)
                return;
            nap_ms(100);
        }
        if (daemon_pid > 0) {
            kill(daemon_pid, SIGKILL);
            waitpid(daemon_pid, NULL, 0);
        }
    }
    fail_msg("encbox serve did not start");
}

static int group_setup(void **state)
{
    (void)state;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    signal(SIGPIPE, SIG_IGN);
    eb_test_tmpdir("llhls-origin", tmp, sizeof(tmp));
    snprintf(storage, sizeof(storage), "%s/storage", tmp);
    eb_storage_mkdirs(storage);
    playlist_write(CH, 10, 1, 1);
    part_write(CH, 11, 0);
    playlist_write(CLASSIC, 10, 0, 0);
    daemon_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
    }
    return 0;
}

/* ---- the tests --------------------------------------------------------------- */

#define PLAYLIST "/live/" CH "/hls/360p/index.m3u8"

/* Held until the part it names is listed, then answered within 100 ms of
 * the rename; _HLS_msn alone waits for the whole segment. */
static void test_blocking_reload(void **state)
{
    char v[256];
    int fd, fd_msn;
    int64_t t0, t1;
    Resp r;
    (void)state;

    playlist_write(CH, 10, 1, 1);
    fd = http_send(PLAYLIST "?_HLS_msn=11&_HLS_part=1");
    fd_msn = http_send(PLAYLIST "?_HLS_msn=11");
    assert_true(fd >= 0 && fd_msn >= 0);
    assert_false(http_answered(fd, 400));

    /* Another part of another segment (and a rewrite that lists nothing
     * new) does not answer it. */
    playlist_write(CH, 10, 1, 1);
    assert_false(http_answered(fd, 150));

    part_write(CH, 11, 1);
    playlist_write(CH, 10, 2, 1);
    t0 = now_ms();
    assert_true(http_answered(fd, 2000));
    t1 = now_ms();
    print_message("blocking reload answered %lld ms after the rename\n", (long long)(t1 - t0));
    assert_true(t1 - t0 < 100);
    assert_int_equal(http_read(fd, 2000, &r), 200);
    assert_non_null(strstr(r.body, "segment_011.1.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"../"
                                   "../cmaf/360p/segment_011.2.m4s\""));
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "public, max-age=2");
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), "application/vnd.apple.mpegurl");
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    assert_null(header(&r, "Vary", v, sizeof(v)));

    /* Segment 11 is not complete yet: still held. */
    assert_false(http_answered(fd_msn, 100));
    part_write(CH, 11, 2);
    part_write(CH, 11, 3);
    playlist_write(CH, 11, 0, 1);
    t0 = now_ms();
    assert_int_equal(http_read(fd_msn, 2000, &r), 200);
    t1 = now_ms();
    print_message("_HLS_msn alone answered %lld ms after the rename\n", (long long)(t1 - t0));
    assert_true(t1 - t0 < 100);
    assert_non_null(strstr(r.body, "#EXTINF:1.000000,\n../../cmaf/360p/segment_011.m4s\n"));

    /* What the playlist already holds is answered at once. */
    t0 = now_ms();
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=11&_HLS_part=3", &r), 200);
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=5", &r), 200);
    assert_true(now_ms() - t0 < 1000);
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "public, max-age=2");
    /* The plain playlist stays revalidated on every use. */
    assert_int_equal(http_get(PLAYLIST, &r), 200);
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-cache");
}

static void test_bad_requests(void **state)
{
    char v[256];
    Resp r;
    (void)state;

    playlist_write(CH, 11, 0, 1); /* last complete 11 */
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=14", &r), 400);
    assert_non_null(strstr(r.body, "_HLS_msn"));
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-store");
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=1000&_HLS_part=0", &r), 400);
    assert_int_equal(http_get(PLAYLIST "?_HLS_part=1", &r), 400);
    assert_non_null(strstr(r.body, "_HLS_part"));
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=abc", &r), 400);
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=12&_HLS_part=-1", &r), 400);
    /* The Advance Part Limit: 3 / 0.25 = 12 parts past the last. */
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=12&_HLS_part=12", &r), 400);
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=13&_HLS_part=9", &r), 400);

    /* Low latency off: the directives are ignored, the file is served. */
    assert_int_equal(http_get("/live/" CLASSIC "/hls/360p/index.m3u8?_HLS_msn=999", &r), 200);
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-cache");
    assert_int_equal(http_get("/live/" CLASSIC "/hls/360p/index.m3u8?_HLS_part=1", &r), 200);
    /* A missing playlist or part is still a 404. */
    assert_int_equal(http_get("/live/nothere/hls/360p/index.m3u8?_HLS_msn=1", &r), 404);
    assert_int_equal(http_get("/live/" CH "/cmaf/360p/segment_012.3.m4s", &r), 404);
}

/* Held three target durations (1 s each) and nothing came: 503, for a
 * blocking reload and for the preload-hinted part alike. */
static void test_timeouts(void **state)
{
    char v[64];
    int fd_pl, fd_part;
    int64_t t0 = now_ms(), t1;
    Resp r;
    (void)state;

    playlist_write(CH, 11, 0, 1); /* hints 12.0 */
    fd_pl = http_send(PLAYLIST "?_HLS_msn=12&_HLS_part=0");
    fd_part = http_send("/live/" CH "/cmaf/360p/segment_012.0.m4s");
    assert_int_equal(http_read(fd_pl, 6000, &r), 503);
    t1 = now_ms();
    assert_int_equal(http_read(fd_part, 6000, &r), 503);
    /* A player's script can read why (CORS) and when to come back. */
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    assert_string_equal(header(&r, "Retry-After", v, sizeof(v)), "1");
    print_message("timed out after %lld ms\n", (long long)(t1 - t0));
    assert_true(t1 - t0 >= 2900);
    assert_true(t1 - t0 < 4500);
    assert_true(metric("encbox_origin_hold_timeouts_total") >= 2);
}

/* The part the playlist hints at is held until it is renamed into place
 * and listed (the packager rewrites the playlist right after each part),
 * then served as an immutable segment; a hinted part that never comes
 * (its segment closed first) is a 404 as soon as the hint moves on. */
static void test_preload_hint(void **state)
{
    char v[256];
    int fd;
    int64_t t0, t1;
    Resp r;
    (void)state;

    part_write(CH, 12, 0);
    playlist_write(CH, 11, 1, 1); /* hints 12.1 */
    fd = http_send("/live/" CH "/cmaf/360p/segment_012.1.m4s");
    assert_true(fd >= 0);
    assert_false(http_answered(fd, 300));
    /* Not the hint: not held. */
    assert_int_equal(http_get("/live/" CH "/cmaf/360p/segment_012.2.m4s", &r), 404);
    part_write(CH, 12, 1);
    playlist_write(CH, 11, 2, 1); /* lists 12.1, hints 12.2 */
    t0 = now_ms();
    assert_true(http_answered(fd, 2000));
    t1 = now_ms();
    print_message("preload-hinted part served %lld ms after the rename\n", (long long)(t1 - t0));
    assert_true(t1 - t0 < 100);
    assert_int_equal(http_read(fd, 2000, &r), 200);
    assert_string_equal(r.body, "part 12.1");
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)),
                        "public, max-age=31536000, immutable");
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), "*");

    /* Hinted 12.2, but segment 12 closes with two parts: the hint moves on
     * to 13.0 and the request is answered 404 at once, not after 3 s. */
    fd = http_send("/live/" CH "/cmaf/360p/segment_012.2.m4s");
    assert_true(fd >= 0);
    assert_false(http_answered(fd, 300));
    playlist_write(CH, 12, 0, 1); /* segment 12 complete, hints 13.0 */
    t0 = now_ms();
    assert_true(http_answered(fd, 2000));
    t1 = now_ms();
    assert_true(t1 - t0 < 100);
    assert_int_equal(http_read(fd, 2000, &r), 404);
}

/* 20 one-second segments, CAN-SKIP-UNTIL=6: the 14 that end by 14 s are
 * skipped. */
static void test_delta_update(void **state)
{
    char v[256];
    Resp r;
    (void)state;

    playlist_write(CH, 20, 1, 1);
    assert_int_equal(http_get(PLAYLIST "?_HLS_skip=YES", &r), 200);
    assert_non_null(strstr(r.body, "#EXT-X-SKIP:SKIPPED-SEGMENTS=14\n"
                                   "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:00:14.000Z\n"
                                   "#EXTINF:1.000000,\n../../cmaf/360p/segment_015.m4s\n"));
    assert_null(strstr(r.body, "segment_014.m4s"));
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "public, max-age=2");
    /* With a blocking reload, and v2. */
    assert_int_equal(http_get(PLAYLIST "?_HLS_msn=20&_HLS_skip=v2", &r), 200);
    assert_non_null(
        strstr(r.body, "#EXT-X-SKIP:SKIPPED-SEGMENTS=14,RECENTLY-REMOVED-DATERANGES=\"\"\n"));
    assert_non_null(strstr(r.body, "#EXT-X-VERSION:10\n"));
    /* An unknown value: the full playlist. */
    assert_int_equal(http_get(PLAYLIST "?_HLS_skip=maybe", &r), 200);
    assert_null(strstr(r.body, "EXT-X-SKIP"));
    assert_non_null(strstr(r.body, "segment_001.m4s"));
}

/* 200 requests held at once cost no thread: the API and the origin still
 * answer meanwhile; those whose client hangs up are let go; one rename
 * answers the rest. */
static void test_many_held(void **state)
{
    int fds[NB_HELD], answered = 0;
    int64_t t0;
    Resp r;
    (void)state;

    playlist_write(CH, 20, 1, 1);
    for (int i = 0; i < NB_HELD; i++) {
        fds[i] = http_send(PLAYLIST "?_HLS_msn=21&_HLS_part=1");
        assert_true(fds[i] >= 0);
    }
    assert_true(metric_becomes("encbox_origin_held_requests", NB_HELD, 5000));
    t0 = now_ms();
    assert_int_equal(http_get("/v1/health", &r), 200);
    assert_int_equal(http_get(PLAYLIST, &r), 200);
    assert_int_equal(http_get("/live/" CH "/cmaf/360p/segment_021.0.m4s", &r), 404);
    print_message("plain requests with %d held: %lld ms\n", NB_HELD, (long long)(now_ms() - t0));
    assert_true(now_ms() - t0 < 2000);
    for (int i = 0; i < NB_HELD; i++)
        assert_false(http_answered(fds[i], 0));

    /* Half the players go away: their requests are freed within a tick or
     * two, not at the timeout. */
    for (int i = 0; i < NB_HELD / 2; i++)
        close(fds[i]);
    assert_true(metric_becomes("encbox_origin_held_requests", NB_HELD / 2, 1500));

    part_write(CH, 21, 1);
    playlist_write(CH, 20, 2, 1);
    t0 = now_ms();
    for (int i = NB_HELD / 2; i < NB_HELD; i++)
        answered += http_read(fds[i], 3000, &r) == 200;
    print_message("%d held requests answered %lld ms after the rename\n", answered,
                  (long long)(now_ms() - t0));
    assert_int_equal(answered, NB_HELD - NB_HELD / 2);
    assert_true(now_ms() - t0 < 1000); /* woken by the rename, not by their timeouts */
    assert_true(metric_becomes("encbox_origin_held_requests", 0, 1000));
}

/* SIGTERM with requests held: they are answered (503) or closed, and the
 * daemon exits cleanly. */
static void test_stop_while_held(void **state)
{
    int fd, status = 0, code;
    Resp r;
    (void)state;

    playlist_write(CH, 20, 2, 1);
    fd = http_send(PLAYLIST "?_HLS_msn=21&_HLS_part=2");
    assert_true(metric_becomes("encbox_origin_held_requests", 1, 2000));
    kill(daemon_pid, SIGTERM);
    code = http_read(fd, 5000, &r);
    assert_true(code == 503 || code == -1);
    assert_int_equal(waitpid(daemon_pid, &status, 0), daemon_pid);
    daemon_pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Reads what has come on fd within ms, appended to r (the answer so far). */
static void http_more(int fd, int ms, Resp *r)
{
    int64_t end = now_ms() + ms;
    for (int64_t left; (left = end - now_ms()) > 0 && http_answered(fd, (int)left);) {
        ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
        if (n <= 0)
            break;
        r->len += (size_t)n;
        r->buf[r->len] = '\0';
        if (ms == 0)
            break;
    }
    r->buf[r->len] = '\0';
}

/* The body of a chunked answer in r into out; 1 when it ends with the
 * last chunk (a complete answer), 0 when it was cut short. */
static int dechunk(const Resp *r, char *out, size_t size)
{
    const char *p = strstr(r->buf, "\r\n\r\n");
    size_t n = 0;

    out[0] = '\0';
    if (!p)
        return 0;
    for (p += 4;;) {
        char *e;
        unsigned long len = strtoul(p, &e, 16);
        if (e == p || strncmp(e, "\r\n", 2))
            return 0;
        if (len == 0)
            return 1;
        p = e + 2;
        if (strlen(p) < len + 2 || n + len >= size)
            return 0;
        memcpy(out + n, p, len);
        out[n += len] = '\0';
        p += len + 2;
    }
}

#define DASH_SEG "/live/dash/cmaf/360p/segment_"

/* LL-DASH: a segment being written is streamed (chunked) as its parts are
 * renamed in and ends with the finished file; the next segment is held
 * until its first part exists; a stream with no new part for 3 target
 * durations is cut without its last chunk; others are 404. */
static void test_segment_stream(void **state)
{
    char v[256], body[1024], hls[4300], cmaf[4300];
    int fd;
    int64_t t0, t1;
    Resp r = {0}, r2;
    (void)state;

    channel_dirs("dash", hls, cmaf, sizeof(hls));
    part_write("dash", 11, 0);
    playlist_write("dash", 10, 1, 1);
    fd = http_send(DASH_SEG "011.m4s");
    assert_true(fd >= 0);
    http_more(fd, 500, &r);
    assert_int_equal(sscanf(r.buf, "HTTP/1.1 %d", &r.code), 1);
    assert_int_equal(r.code, 200);
    assert_string_equal(header(&r, "Transfer-Encoding", v, sizeof(v)), "chunked");
    assert_string_equal(header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    assert_int_equal(dechunk(&r, body, sizeof(body)), 0);
    assert_string_equal(body, "part 11.0");

    part_write("dash", 11, 1);
    t0 = now_ms();
    while (!strstr(r.buf, "part 11.1") && now_ms() - t0 < 2000)
        http_more(fd, 50, &r);
    t1 = now_ms();
    print_message("the next part streamed %lld ms after its rename\n", (long long)(t1 - t0));
    assert_true(t1 - t0 < 500); /* woken by the rename (typically 50 ms; CI boxes are loaded) */
    assert_int_equal(dechunk(&r, body, sizeof(body)), 0);
    assert_string_equal(body, "part 11.0part 11.1");

    /* The segment completes: the answer ends, the same bytes as the file. */
    write_atomic(cmaf, "segment_011.m4s", "part 11.0part 11.1");
    http_more(fd, 2000, &r);
    close(fd);
    assert_int_equal(dechunk(&r, body, sizeof(body)), 1);
    assert_string_equal(body, "part 11.0part 11.1");
    assert_int_equal(http_get(DASH_SEG "011.m4s", &r2), 200);
    assert_string_equal(r2.body, "part 11.0part 11.1");
    assert_non_null(header(&r2, "ETag", v, sizeof(v)));

    /* The next segment: held until its first part is written. */
    playlist_write("dash", 11, 0, 1);
    fd = http_send(DASH_SEG "012.m4s");
    assert_true(fd >= 0);
    assert_false(http_answered(fd, 300));
    part_write("dash", 12, 0);
    t0 = now_ms();
    memset(&r, 0, sizeof(r));
    while (!strstr(r.buf, "part 12.0") && now_ms() - t0 < 2000)
        http_more(fd, 50, &r);
    t1 = now_ms();
    assert_true(t1 - t0 < 500); /* woken by the rename (typically 50 ms; CI boxes are loaded) */
    assert_int_equal(sscanf(r.buf, "HTTP/1.1 %d", &r.code), 1);
    assert_int_equal(r.code, 200);
    /* No new part for 3 target durations (3 s): cut short. */
    t0 = now_ms();
    http_more(fd, 6000, &r);
    t1 = now_ms();
    close(fd);
    print_message("a stalled stream was cut after %lld ms\n", (long long)(t1 - t0));
    assert_true(t1 - t0 >= 2500 && t1 - t0 < 5000);
    assert_int_equal(dechunk(&r, body, sizeof(body)), 0);
    assert_string_equal(body, "part 12.0");

    /* A client that hangs up while its stream waits is let go. */
    fd = http_send(DASH_SEG "012.m4s");
    assert_true(fd >= 0);
    assert_true(http_answered(fd, 1000));
    assert_true(metric_becomes("encbox_origin_held_requests", 1, 2000));
    close(fd);
    assert_true(metric_becomes("encbox_origin_held_requests", 0, 2000));

    /* Not the next segment, not low-latency: 404 at once (readable). */
    assert_int_equal(http_get(DASH_SEG "020.m4s", &r2), 404);
    assert_string_equal(header(&r2, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    assert_int_equal(http_get("/live/" CLASSIC "/cmaf/360p/segment_011.m4s", &r2), 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocking_reload), cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_timeouts),        cmocka_unit_test(test_preload_hint),
        cmocka_unit_test(test_delta_update),    cmocka_unit_test(test_many_held),
        cmocka_unit_test(test_segment_stream),  cmocka_unit_test(test_stop_while_held),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
