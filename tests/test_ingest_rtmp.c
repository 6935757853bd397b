/*
 * The RTMP ingest port (api/eb_ingest_rtmp.h) and its protocol machine
 * (api/eb_rtmp_proto.h). First without sockets: the shared listen address
 * parser, the AMF0 value walker on hand-built bytes, and whole sessions
 * fed to the state machine as a publisher would send them (handshake,
 * connect, createStream, publish, media in every chunk header form with
 * extended timestamps and interleaved chunk streams), split at every byte
 * as well as whole, checked against the FLV stream and the replies they
 * must give; refusals (other application, unknown key, busy channel,
 * open() saying no) and broken input (bad version, oversized messages,
 * nesting bombs). Then the port on loopback with real ffmpeg 5.1
 * publishers: a 3 s H.264/AAC publish arrives as an FLV stream that
 * libavformat reads back (320x240 H.264, AAC, about 3 s), a wrong key and
 * another application are refused with no byte reaching data(), garbage,
 * a truncated handshake and a silent client are closed while the next
 * publisher still works, max_conns holds, eb_ingest_rtmp_drop ends a live
 * publish at once, and eb_ingest_rtmp_close ends the live connections.
 */
#include <dlfcn.h>
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <libavformat/avformat.h>

#include "eb_error.h"
#include "eb_ingest_rtmp.h"
#include "eb_net.h"
#include "eb_rtmp_proto.h"
#include "eb_test_media.h"

#define KEY "sk_live_0123456789abcdef"

extern char **environ;

/* ---- byte builders (the publisher's side, written here independently of
 * the module's own writer) ------------------------------------------------- */

typedef struct Bytes {
    uint8_t *b;
    size_t len, cap;
} Bytes;

static void put(Bytes *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        o->b = realloc(o->b, o->cap);
        assert_non_null(o->b);
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

static void put8(Bytes *o, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(o, &b, 1);
}

static void put16(Bytes *o, unsigned v)
{
    put8(o, v >> 8);
    put8(o, v);
}

static void put24(Bytes *o, uint32_t v)
{
    put8(o, v >> 16);
    put8(o, v >> 8);
    put8(o, v);
}

static void put32(Bytes *o, uint32_t v)
{
    put16(o, v >> 16);
    put16(o, v & 0xffff);
}

static void amf_str(Bytes *o, const char *s)
{
    put8(o, 2);
    put16(o, (unsigned)strlen(s));
    put(o, s, strlen(s));
}

static void amf_key(Bytes *o, const char *s)
{
    put16(o, (unsigned)strlen(s));
    put(o, s, strlen(s));
}

static void amf_num(Bytes *o, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put8(o, 0);
    put32(o, (uint32_t)(bits >> 32));
    put32(o, (uint32_t)bits);
}

static void amf_end(Bytes *o)
{
    put16(o, 0);
    put8(o, 9);
}

/* A message as a type 0 chunk and type 3 continuations at chunk size cs
 * (csid < 64), with the extended timestamp on every chunk when ts needs
 * it, as ffmpeg writes. */
static void msg(Bytes *o, unsigned csid, uint32_t ts, unsigned type, uint32_t msid,
                const uint8_t *pl, size_t len, size_t cs)
{
    int ext = ts >= 0xffffff;
    size_t off = 0;

    put8(o, csid);
    put24(o, ext ? 0xffffff : ts);
    put24(o, (uint32_t)len);
    put8(o, type);
    put8(o, msid & 0xff); /* little-endian */
    put8(o, (msid >> 8) & 0xff);
    put8(o, (msid >> 16) & 0xff);
    put8(o, msid >> 24);
    if (ext)
        put32(o, ts);
    for (;;) {
        size_t n = len - off < cs ? len - off : cs;
        put(o, pl + off, n);
        off += n;
        if (off >= len)
            break;
        put8(o, 0xc0 | csid);
        if (ext)
            put32(o, ts);
    }
}

static void command(Bytes *o, unsigned csid, uint32_t msid, const Bytes *amf)
{
    msg(o, csid, 0, 20, msid, amf->b, amf->len, 128);
}

static void handshake(Bytes *o)
{
    put8(o, 3);
    for (int i = 0; i < 1536; i++)
        put8(o, i * 7 + 1);
}

static void c2(Bytes *o)
{
    for (int i = 0; i < 1536; i++)
        put8(o, 0x55);
}

static void cmd_connect(Bytes *o, const char *app)
{
    Bytes a = {0};
    amf_str(&a, "connect");
    amf_num(&a, 1);
    put8(&a, 3);
    amf_key(&a, "app");
    amf_str(&a, app);
    amf_key(&a, "type");
    amf_str(&a, "nonprivate");
    amf_key(&a, "tcUrl");
    amf_str(&a, "rtmp://127.0.0.1/live");
    amf_end(&a);
    command(o, 3, 0, &a);
    free(a.b);
}

static void cmd_simple(Bytes *o, const char *name, double txn, const char *arg)
{
    Bytes a = {0};
    amf_str(&a, name);
    amf_num(&a, txn);
    put8(&a, 5);
    if (arg)
        amf_str(&a, arg);
    command(o, 3, 0, &a);
    free(a.b);
}

static void cmd_publish(Bytes *o, const char *key)
{
    Bytes a = {0};
    amf_str(&a, "publish");
    amf_num(&a, 5);
    put8(&a, 5);
    amf_str(&a, key);
    amf_str(&a, "live");
    command(o, 8, 1, &a);
    free(a.b);
}

/* Everything up to an admitted publish (app, key). */
static void preamble(Bytes *o, const char *app, const char *key)
{
    handshake(o);
    c2(o);
    cmd_connect(o, app);
    cmd_simple(o, "releaseStream", 2, key);
    cmd_simple(o, "FCPublish", 3, key);
    cmd_simple(o, "createStream", 4, NULL);
    cmd_publish(o, key);
}

/* ---- a session without sockets --------------------------------------------- */

typedef struct Sess {
    EbRtmpProto *p;
    Bytes flv, out;
    int lookups, opens, data_calls;
    char app[64], key[300];
    int lookup_ret, open_ret, stop_data, no_channel;
    char channel[EB_RTMP_CHANNEL_MAX + 8];
} Sess;

static int s_lookup(void *opaque, const char *app, const char *key, char *channel, size_t size)
{
    Sess *s = opaque;
    s->lookups++;
    snprintf(s->app, sizeof(s->app), "%s", app);
    snprintf(s->key, sizeof(s->key), "%s", key);
    if (s->lookup_ret == 0 && !s->no_channel)
        snprintf(channel, size, "%s", s->channel[0] ? s->channel : "cam1");
    return s->lookup_ret;
}

static int s_open(void *opaque, const char *channel)
{
    Sess *s = opaque;
    s->opens++;
    assert_string_equal(channel, s->channel[0] ? s->channel : "cam1");
    return s->open_ret;
}

static int s_data(void *opaque, const uint8_t *buf, size_t size)
{
    Sess *s = opaque;
    s->data_calls++;
    put(&s->flv, buf, size);
    return s->stop_data ? -1 : 0;
}

static void sess_init(Sess *s)
{
    EbRtmpProtoCallbacks cb = {.lookup = s_lookup, .open = s_open, .data = s_data, .opaque = s};
    memset(s, 0, sizeof(*s));
    assert_int_equal(eb_rtmp_proto_new(&cb, &s->p), 0);
}

static void sess_free(Sess *s)
{
    eb_rtmp_proto_free(&s->p);
    assert_null(s->p);
    free(s->flv.b);
    free(s->out.b);
}

/* Feeds in pieces of step bytes (0: all at once), draining the replies;
 * the first non-zero result. */
static int sess_feed(Sess *s, const Bytes *in, size_t step)
{
    size_t off = 0;
    int ret = 0;

    while (off < in->len && ret == 0) {
        size_t n = step && in->len - off > step ? step : in->len - off, used = 0, olen;
        const uint8_t *ob;

        ret = eb_rtmp_proto_feed(s->p, in->b + off, n, &used);
        if (ret == 0)
            assert_int_equal(used, n);
        off += used;
        ob = eb_rtmp_proto_output(s->p, &olen);
        if (olen) {
            put(&s->out, ob, olen);
            eb_rtmp_proto_consumed(s->p, olen);
        }
    }
    return ret;
}

/* The server's messages after S0 S1 S2 (fmt 0 + fmt 3 chunks, csid < 64,
 * as ours are): calls fn for each. */
typedef struct SrvMsg {
    unsigned type;
    uint32_t msid;
    const uint8_t *pl;
    size_t len;
} SrvMsg;

static int srv_messages(const Bytes *out, SrvMsg *msgs, int max)
{
    size_t off = 1 + 2 * 1536, chunk = 128;
    int n = 0;
    static uint8_t bufs[64][2048];

    assert_true(max <= 64);
    assert_true(out->len >= off);
    while (off < out->len && n < max) {
        const uint8_t *h = out->b + off;
        size_t len, got = 0;
        assert_int_equal(h[0] >> 6, 0);
        assert_true(out->len - off >= 12);
        len = (size_t)h[4] << 16 | (size_t)h[5] << 8 | h[6];
        assert_true(len <= sizeof(bufs[0]));
        msgs[n].type = h[7];
        msgs[n].msid = h[8] | (uint32_t)h[9] << 8;
        off += 12;
        for (;;) {
            size_t k = len - got < chunk ? len - got : chunk;
            assert_true(out->len - off >= k);
            memcpy(bufs[n] + got, out->b + off, k);
            got += k;
            off += k;
            if (got == len)
                break;
            assert_int_equal(out->b[off], 0xc0 | (h[0] & 0x3f));
            off++;
        }
        msgs[n].pl = bufs[n];
        msgs[n].len = len;
        if (msgs[n].type == 1)
            chunk = (size_t)msgs[n].pl[0] << 24 | (size_t)msgs[n].pl[1] << 16 |
                    (size_t)msgs[n].pl[2] << 8 | msgs[n].pl[3];
        n++;
    }
    return n;
}

/* 1 if a command reply holding these bytes was sent. */
static int srv_has(const Bytes *out, const void *bytes, size_t n)
{
    SrvMsg m[64];
    int nm = srv_messages(out, m, 64);
    for (int i = 0; i < nm; i++)
        if (m[i].type == 20 && memmem(m[i].pl, m[i].len, bytes, n))
            return 1;
    return 0;
}

static int srv_said(const Bytes *out, const char *text)
{
    return srv_has(out, text, strlen(text));
}

/* 1 if an onStatus with this code was sent (onFCPublish carries codes too). */
static int srv_status(const Bytes *out, const char *code)
{
    SrvMsg m[64];
    int nm = srv_messages(out, m, 64);
    for (int i = 0; i < nm; i++)
        if (m[i].type == 20 && m[i].len > 11 && !memcmp(m[i].pl, "\x02\x00\x08onStatus", 11) &&
            memmem(m[i].pl, m[i].len, code, strlen(code)))
            return 1;
    return 0;
}

/* One FLV tag of the collected stream. */
typedef struct Tag {
    unsigned type;
    uint32_t ts;
    const uint8_t *data;
    size_t size;
} Tag;

/* Walks the FLV stream: header, then tags with matching PreviousTagSize. */
static int flv_tags(const Bytes *flv, Tag *tags, int max, uint8_t *flags)
{
    size_t off = 13;
    int n = 0;

    assert_true(flv->len >= 13);
    assert_memory_equal(flv->b, "FLV\x01", 4);
    assert_memory_equal(flv->b + 5, "\0\0\0\x09\0\0\0\0", 8);
    if (flags)
        *flags = flv->b[4];
    while (off < flv->len) {
        const uint8_t *t = flv->b + off;
        size_t size;
        assert_true(flv->len - off >= 15);
        size = (size_t)t[1] << 16 | (size_t)t[2] << 8 | t[3];
        assert_true(flv->len - off >= 15 + size);
        assert_int_equal((uint32_t)t[11 + size] << 24 | (uint32_t)t[12 + size] << 16 |
                             (uint32_t)t[13 + size] << 8 | t[14 + size],
                         11 + size);
        assert_memory_equal(t + 8, "\0\0\0", 3);
        if (n < max) {
            tags[n].type = t[0];
            tags[n].ts = (uint32_t)t[4] << 16 | (uint32_t)t[5] << 8 | t[6] | (uint32_t)t[7] << 24;
            tags[n].data = t + 11;
            tags[n].size = size;
        }
        n++;
        off += 15 + size;
    }
    return n;
}

/* ---- pure parts --------------------------------------------------------------- */

static void test_net_parse(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char text[64];
    (void)state;

    /* Everything the API's listen flag takes (eb_api_server.c), and port 0. */
    static const char *const good[] = {"0.0.0.0:1935",  "127.0.0.1:0",  "localhost:8080",
                                       "[::]:1935",     "[::1]:65535",  "10.1.2.3:1",
                                       "127.0.0.1:+80", "127.0.0.1: 80"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(eb_net_parse_listen(good[i], &ss, &len), 0);
    assert_int_equal(eb_net_parse_listen("localhost:8080", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(eb_net_port(&ss), 8080);
    eb_net_addr_str((struct sockaddr *)&ss, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1:8080");
    assert_int_equal(eb_net_parse_listen("[::1]:9", &ss, NULL), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    eb_net_addr_str((struct sockaddr *)&ss, text, sizeof(text));
    assert_string_equal(text, "[::1]:9");

    static const char *const bad[] = {
        "",       "9000",        "127.0.0.1",  "127.0.0.1:", "127.0.0.1:70000",
        ":80",    "[::1:9000",   "1.2.3.4:9x", "[]:80",      "host.example:9000",
        "::1:80", "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(eb_net_parse_listen(bad[i], &ss, &len), EB_ERR(EINVAL));
    assert_int_equal(eb_net_parse_listen(NULL, &ss, &len), EB_ERR(EINVAL));
}

static void test_amf0(void **state)
{
    size_t used;
    Bytes b = {0};
    (void)state;

    /* Each type alone. */
    static const struct {
        uint8_t bytes[16];
        size_t len, used;
    } ok[] = {
        {{0, 0x40, 0x59, 0, 0, 0, 0, 0, 0}, 9, 9},    /* number 100 */
        {{1, 1}, 2, 2},                               /* true */
        {{2, 0, 3, 'a', 'b', 'c', 0xee}, 7, 6},       /* "abc" + a trailing byte */
        {{12, 0, 0, 0, 2, 'h', 'i'}, 7, 7},           /* long string "hi" */
        {{5}, 1, 1},                                  /* null */
        {{6}, 1, 1},                                  /* undefined */
        {{11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11, 11}, /* date */
        {{3, 0, 0, 9}, 4, 4},                         /* {} */
        {{8, 0, 0, 0, 0, 0, 0, 9}, 8, 8},             /* ECMA [] */
        {{10, 0, 0, 0, 2, 5, 1, 0}, 8, 8},            /* [null, false] */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        used = 0;
        assert_int_equal(eb_rtmp_amf0_skip(ok[i].bytes, ok[i].len, &used), 0);
        assert_int_equal(used, ok[i].used);
    }
    /* Truncations of each fail, never read past the end. */
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        for (size_t n = 0; n < ok[i].used; n++) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, ok[i].bytes, n);
            assert_int_equal(eb_rtmp_amf0_skip(copy, n, &used), EB_ERR(EINVAL));
            free(copy);
        }

    /* A nested object: {a: 1, b: {c: "x", d: [1]}, e: null} */
    put8(&b, 3);
    amf_key(&b, "a");
    amf_num(&b, 1);
    amf_key(&b, "b");
    put8(&b, 3);
    amf_key(&b, "c");
    amf_str(&b, "x");
    amf_key(&b, "d");
    put8(&b, 10);
    put32(&b, 1);
    amf_num(&b, 1);
    amf_end(&b);
    amf_key(&b, "e");
    put8(&b, 5);
    amf_end(&b);
    assert_int_equal(eb_rtmp_amf0_skip(b.b, b.len, &used), 0);
    assert_int_equal(used, b.len);
    /* Without its end marker, or with a stray one. */
    assert_int_equal(eb_rtmp_amf0_skip(b.b, b.len - 1, &used), EB_ERR(EINVAL));
    {
        static const uint8_t stray[] = {9};
        static const uint8_t end_not_end[] = {3, 0, 0, 5};
        assert_int_equal(eb_rtmp_amf0_skip(stray, 1, &used), EB_ERR(EINVAL));
        assert_int_equal(eb_rtmp_amf0_skip(end_not_end, 4, &used), EB_ERR(EINVAL));
    }
    /* Unsupported types. */
    {
        static const uint8_t ref[] = {7, 0, 1}, amf3[] = {0x11, 1}, clip[] = {4};
        assert_int_equal(eb_rtmp_amf0_skip(ref, sizeof(ref), &used), EB_ERR(ENOTSUP));
        assert_int_equal(eb_rtmp_amf0_skip(amf3, sizeof(amf3), &used), EB_ERR(ENOTSUP));
        assert_int_equal(eb_rtmp_amf0_skip(clip, sizeof(clip), &used), EB_ERR(ENOTSUP));
    }
    /* Lengths that claim more than there is. */
    {
        static const uint8_t s[] = {2, 0xff, 0xff, 'a'}, ls[] = {12, 0xff, 0xff, 0xff, 0xff, 0};
        static const uint8_t arr[] = {10, 0xff, 0xff, 0xff, 0xff, 5, 5};
        assert_int_equal(eb_rtmp_amf0_skip(s, sizeof(s), &used), EB_ERR(EINVAL));
        assert_int_equal(eb_rtmp_amf0_skip(ls, sizeof(ls), &used), EB_ERR(EINVAL));
        assert_int_equal(eb_rtmp_amf0_skip(arr, sizeof(arr), &used), EB_ERR(EINVAL));
    }
    /* Nesting: 16 levels pass, 17 are refused; a deep bomb does not blow
     * the stack. */
    for (int depth = 1; depth <= 4000; depth = depth < 20 ? depth + 1 : depth * 2) {
        Bytes d = {0};
        for (int i = 0; i < depth; i++) {
            put8(&d, 3);
            if (i + 1 < depth)
                amf_key(&d, "k");
        }
        for (int i = 0; i < depth; i++)
            amf_end(&d);
        assert_int_equal(eb_rtmp_amf0_skip(d.b, d.len, &used),
                         depth <= EB_RTMP_AMF_DEPTH_MAX ? 0 : EB_ERR(ELOOP));
        free(d.b);
    }
    free(b.b);
}

/* A publish with media in every header form; ts of each tag checked. */
static void build_media(Bytes *in)
{
    static uint8_t big[300], seq[8], meta_pl[512];
    Bytes meta = {0};
    uint32_t big_ts = 0x1000000 + 5; /* past 24 bits: extended timestamps */

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13);
    /* Media before Set Chunk Size, at the default 128. The metadata, as
     * ffmpeg sends it: @setDataFrame onMetaData ECMA[...]. */
    amf_str(&meta, "@setDataFrame");
    amf_str(&meta, "onMetaData");
    put8(&meta, 8);
    put32(&meta, 3);
    amf_key(&meta, "width");
    amf_num(&meta, 320);
    amf_key(&meta, "videocodecid");
    amf_num(&meta, 7);
    amf_key(&meta, "encoder");
    amf_str(&meta, "test");
    amf_end(&meta);
    assert_true(meta.len < sizeof(meta_pl));
    msg(in, 4, 0, 18, 1, meta.b, meta.len, 128); /* tag 0: script, ts 0 */
    seq[0] = 0x17;
    msg(in, 6, 0, 9, 1, seq, sizeof(seq), 128); /* tag 1: video ts 0 */
    /* Type 1 header (delta 40, new length), interleaved with audio on
     * another chunk stream in the middle of it. */
    put8(in, 0x40 | 6);
    put24(in, 40);
    put24(in, sizeof(big));
    put8(in, 9);
    put(in, big, 128);
    {
        static const uint8_t aud[4] = {0xaf, 1, 2, 3};
        msg(in, 4, 10, 8, 1, aud, sizeof(aud), 128); /* tag 2: audio ts 10 */
    }
    put8(in, 0xc0 | 6);
    put(in, big + 128, 128);
    put8(in, 0xc0 | 6);
    put(in, big + 256, sizeof(big) - 256); /* tag 3: video ts 40 */
    /* Type 2 (delta 40 again), then type 3 starting a message (adds 40). */
    put8(in, 0x80 | 6);
    put24(in, 40);
    put(in, big, 128);
    put8(in, 0xc0 | 6);
    put(in, big + 128, 128);
    put8(in, 0xc0 | 6);
    put(in, big + 256, sizeof(big) - 256); /* tag 4: ts 80 */
    put8(in, 0xc0 | 6);
    put(in, big, 128);
    put8(in, 0xc0 | 6);
    put(in, big + 128, 128);
    put8(in, 0xc0 | 6);
    put(in, big + 256, sizeof(big) - 256); /* tag 5: ts 120 */
    /* Set Chunk Size 64 (on csid 2), then a message chunked at 64. */
    {
        uint8_t v[4] = {0, 0, 0, 64};
        msg(in, 2, 0, 1, 0, v, 4, 128);
    }
    msg(in, 6, 200, 9, 1, big, sizeof(big), 64); /* tag 6: ts 200 */
    /* A timestamp past 24 bits: extended on the type 0 header and on each
     * continuation. */
    msg(in, 6, big_ts, 9, 1, big, sizeof(big), 64); /* tag 7 */
    /* A 2-byte basic header (csid 64 + 10) for audio. */
    put8(in, 0);
    put8(in, 10);
    put24(in, 500);
    put24(in, 4);
    put8(in, 8);
    put32(in, 0x01000000);          /* msid 1, little-endian */
    put(in, "\xaf\x01\x09\x09", 4); /* tag 8: audio ts 500 */
    /* Abort: a message begun on csid 7 and abandoned leaves nothing. */
    put8(in, 7);
    put24(in, 600);
    put24(in, 100);
    put8(in, 9);
    put32(in, 0x01000000);
    put(in, big, 64);
    {
        uint8_t v[4] = {0, 0, 0, 7};
        msg(in, 2, 0, 2, 0, v, 4, 64);
    }
    free(meta.b);
}

static void check_media(Sess *s)
{
    Tag t[16];
    uint8_t flags = 0;
    int n = flv_tags(&s->flv, t, 16, &flags);
    static const uint32_t ts[] = {0, 0, 10, 40, 80, 120, 200, 0x1000005, 500};
    static const unsigned type[] = {18, 9, 8, 9, 9, 9, 9, 9, 8};

    assert_int_equal(n, 9);
    assert_int_equal(flags, 1); /* onMetaData named video only */
    for (int i = 0; i < n; i++) {
        assert_int_equal(t[i].type, type[i]);
        assert_int_equal(t[i].ts, ts[i]);
    }
    /* The script tag: "onMetaData" + the ECMA array, @setDataFrame gone. */
    assert_memory_equal(t[0].data, "\x02\x00\x0aonMetaData\x08", 14);
    {
        size_t used;
        assert_int_equal(eb_rtmp_amf0_skip(t[0].data + 13, t[0].size - 13, &used), 0);
        assert_int_equal(13 + used, t[0].size);
    }
    assert_int_equal(t[3].size, 300);
    for (int i = 3; i <= 7; i++)
        for (size_t k = 0; k < 300; k++)
            if (t[i].data[k] != (uint8_t)(k * 13))
                fail_msg("tag %d byte %zu", i, k);
    assert_memory_equal(t[2].data, "\xaf\x01\x02\x03", 4);
    assert_memory_equal(t[8].data, "\xaf\x01\x09\x09", 4);
}

static void test_proto_session(void **state)
{
    Bytes in = {0};
    size_t steps[] = {0, 1, 7, 1000};
    (void)state;

    preamble(&in, "live", KEY);
    build_media(&in);
    cmd_simple(&in, "FCUnpublish", 6, KEY);

    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        Sess s;
        SrvMsg m[16];
        int nm;

        sess_init(&s);
        assert_int_equal(sess_feed(&s, &in, steps[k]), EB_RTMP_DONE);
        assert_string_equal(eb_rtmp_proto_why(s.p), "unpublished");
        assert_int_equal(s.lookups, 1);
        assert_int_equal(s.opens, 1);
        assert_string_equal(s.app, "live");
        assert_string_equal(s.key, KEY);
        assert_true(eb_rtmp_proto_publishing(s.p));
        assert_true(eb_rtmp_proto_messages(s.p) >= 15);
        check_media(&s);

        /* S0 S1 S2: version 3, S1's version field zero (the plain
         * handshake), S2 the echo of C1. */
        assert_true(s.out.len > 3073);
        assert_int_equal(s.out.b[0], 3);
        assert_memory_equal(s.out.b + 5, "\0\0\0\0", 4);
        assert_memory_equal(s.out.b + 1 + 1536, in.b + 1, 1536);
        /* Then: Window Ack Size, Set Peer Bandwidth, Set Chunk Size 4096,
         * connect's _result, releaseStream's, onFCPublish, createStream's
         * _result (stream 1), Stream Begin 1, onStatus Publish.Start. */
        nm = srv_messages(&s.out, m, 16);
        assert_int_equal(nm, 9);
        assert_int_equal(m[0].type, 5);
        assert_int_equal(m[1].type, 6);
        assert_int_equal(m[2].type, 1);
        assert_memory_equal(m[2].pl, "\0\0\x10\0", 4);
        assert_non_null(memmem(m[3].pl, m[3].len, "NetConnection.Connect.Success", 29));
        assert_memory_equal(m[3].pl, "\x02\x00\x07_result\x00\x3f\xf0", 13); /* txn 1 */
        assert_memory_equal(m[4].pl, "\x02\x00\x07_result\x00\x40\x00", 13); /* txn 2 */
        assert_non_null(memmem(m[5].pl, m[5].len, "onFCPublish", 11));
        assert_memory_equal(m[6].pl, "\x02\x00\x07_result\x00\x40\x10", 13); /* txn 4 */
        assert_memory_equal(m[6].pl + m[6].len - 10, "\x05\x00\x3f\xf0\0\0\0\0\0\0", 10);
        assert_int_equal(m[7].type, 4);
        assert_memory_equal(m[7].pl, "\0\0\0\0\0\x01", 6);
        assert_non_null(memmem(m[8].pl, m[8].len, "NetStream.Publish.Start", 23));
        assert_int_equal(m[8].msid, 1);
        /* Nothing more is taken after the end. */
        assert_int_equal(eb_rtmp_proto_feed(s.p, in.b, 10, NULL), EB_RTMP_DONE);
        sess_free(&s);
    }
    free(in.b);
}

/* Refusals: each gets its status and ends, with no data() call. */
static void test_proto_refusals(void **state)
{
    (void)state;

    /* Another application: _error Rejected at connect, no lookup. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        preamble(&in, "other", KEY);
        assert_int_equal(sess_feed(&s, &in, 0), EB_RTMP_DONE);
        assert_true(srv_said(&s.out, "NetConnection.Connect.Rejected"));
        assert_true(srv_said(&s.out, "_error"));
        assert_int_equal(s.lookups, 0);
        assert_non_null(strstr(eb_rtmp_proto_why(s.p), "other"));
        sess_free(&s);
        free(in.b);
    }
    /* "live/" and "live?x=1" are live. */
    {
        static const char *const apps[] = {"live/", "live?x=1"};
        for (int i = 0; i < 2; i++) {
            Sess s;
            Bytes in = {0};
            sess_init(&s);
            preamble(&in, apps[i], KEY);
            assert_int_equal(sess_feed(&s, &in, 0), 0);
            assert_true(eb_rtmp_proto_publishing(s.p));
            sess_free(&s);
            free(in.b);
        }
    }
    /* Unknown key: BadName; busy: Denied; other lookup errors: BadName;
     * open() refusing: Denied. */
    {
        static const struct {
            int lookup_ret, open_ret, opens;
            const char *code;
        } cases[] = {
            {EB_ERR(ENOENT), 0, 0, "NetStream.Publish.BadName"},
            {EB_ERR(EBUSY), 0, 0, "NetStream.Publish.Denied"},
            {EB_ERR(EIO), 0, 0, "NetStream.Publish.BadName"},
            {0, EB_ERR(EPERM), 1, "NetStream.Publish.Denied"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            Sess s;
            Bytes in = {0};
            sess_init(&s);
            s.lookup_ret = cases[i].lookup_ret;
            s.open_ret = cases[i].open_ret;
            preamble(&in, "live", KEY);
            build_media(&in);
            assert_int_equal(sess_feed(&s, &in, 0), EB_RTMP_DONE);
            assert_true(srv_status(&s.out, cases[i].code));
            assert_true(srv_has(&s.out,
                                "\x00\x05level\x02\x00\x05"
                                "error",
                                13));
            assert_false(srv_status(&s.out, "NetStream.Publish.Start"));
            assert_int_equal(s.lookups, 1);
            assert_int_equal(s.opens, cases[i].opens);
            assert_int_equal(s.data_calls, 0);
            assert_false(eb_rtmp_proto_publishing(s.p));
            sess_free(&s);
            free(in.b);
        }
    }
    /* An empty key, or one too long: refused without a lookup. */
    {
        char longkey[EB_RTMP_KEY_MAX + 2];
        memset(longkey, 'k', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = 0;
        const char *keys[] = {"", longkey};
        for (int i = 0; i < 2; i++) {
            Sess s;
            Bytes in = {0};
            sess_init(&s);
            preamble(&in, "live", keys[i]);
            assert_int_equal(sess_feed(&s, &in, 0), EB_RTMP_DONE);
            assert_true(srv_said(&s.out, "NetStream.Publish.BadName"));
            assert_int_equal(s.lookups, 0);
            sess_free(&s);
            free(in.b);
        }
    }
    /* A lookup that says yes but fills no channel is the daemon's slip:
     * refused all the same. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        s.no_channel = 1;
        preamble(&in, "live", KEY);
        assert_int_equal(sess_feed(&s, &in, 0), EB_RTMP_DONE);
        assert_true(srv_said(&s.out, "NetStream.Publish.BadName"));
        assert_int_equal(s.opens, 0);
        sess_free(&s);
        free(in.b);
    }
    /* Media before publish is dropped; a publish before connect breaks the
     * protocol. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        handshake(&in);
        c2(&in);
        cmd_connect(&in, "live");
        build_media(&in);
        assert_int_equal(sess_feed(&s, &in, 0), 0);
        assert_int_equal(s.data_calls, 0);
        sess_free(&s);
        free(in.b);

        sess_init(&s);
        in = (Bytes){0};
        handshake(&in);
        c2(&in);
        cmd_publish(&in, KEY);
        assert_true(sess_feed(&s, &in, 0) < 0);
        assert_int_equal(s.lookups, 0);
        sess_free(&s);
        free(in.b);
    }
}

/* Broken input closes the session with a reason, never crashes. */
static void test_proto_bad_input(void **state)
{
    (void)state;

    /* Not RTMP: refused at the first byte. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        put(&in, "GET / HTTP/1.1\r\n", 16);
        assert_int_equal(sess_feed(&s, &in, 0), EB_ERR(EPROTO));
        assert_non_null(strstr(eb_rtmp_proto_why(s.p), "version 71"));
        assert_int_equal(s.out.len, 0);
        sess_free(&s);
        free(in.b);
    }
    /* A message over the early limit before publish. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        handshake(&in);
        c2(&in);
        put8(&in, 3);
        put24(&in, 0);
        put24(&in, EB_RTMP_MSG_MAX_EARLY + 1);
        put8(&in, 20);
        put32(&in, 0);
        assert_int_equal(sess_feed(&s, &in, 0), EB_ERR(EPROTO));
        assert_non_null(strstr(eb_rtmp_proto_why(s.p), "before publish"));
        sess_free(&s);
        free(in.b);
    }
    /* Over the limit once publishing. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        preamble(&in, "live", KEY);
        put8(&in, 6);
        put24(&in, 0);
        put24(&in, EB_RTMP_MSG_MAX + 1);
        put8(&in, 9);
        put32(&in, 0x01000000);
        assert_int_equal(sess_feed(&s, &in, 0), EB_ERR(EPROTO));
        sess_free(&s);
        free(in.b);
    }
    /* Too many chunk streams. */
    {
        Sess s;
        Bytes in = {0};
        sess_init(&s);
        handshake(&in);
        c2(&in);
        for (unsigned c = 3; c < 3 + EB_RTMP_CHUNK_STREAMS_MAX + 1; c++) {
            uint8_t v[4] = {0, 0, 0, 1};
            msg(&in, c, 0, 3, 0, v, 4, 128); /* Acknowledgements */
        }
        assert_int_equal(sess_feed(&s, &in, 0), EB_ERR(EPROTO));
        assert_non_null(strstr(eb_rtmp_proto_why(s.p), "chunk streams"));
        sess_free(&s);
        free(in.b);
    }
    /* A command nested too deep, a command without a name, Set Chunk
     * Size 0, a type 1 header in the middle of a message. */
    for (int k = 0; k < 4; k++) {
        Sess s;
        Bytes in = {0}, a = {0};
        sess_init(&s);
        handshake(&in);
        c2(&in);
        if (k == 0) {
            amf_str(&a, "connect");
            amf_num(&a, 1);
            for (int i = 0; i < 100; i++) {
                put8(&a, 3);
                amf_key(&a, "x");
            }
            command(&in, 3, 0, &a);
        } else if (k == 1) {
            amf_num(&a, 1);
            command(&in, 3, 0, &a);
        } else if (k == 2) {
            uint8_t v[4] = {0x80, 0, 0, 0};
            msg(&in, 2, 0, 1, 0, v, 4, 128);
        } else {
            uint8_t pl[200] = {0};
            put8(&in, 6);
            put24(&in, 0);
            put24(&in, 200);
            put8(&in, 9);
            put32(&in, 0);
            put(&in, pl, 128);
            put8(&in, 0x40 | 6);
            put24(&in, 0);
            put24(&in, 200);
            put8(&in, 9);
        }
        assert_int_equal(sess_feed(&s, &in, 0), EB_ERR(EPROTO));
        assert_true(eb_rtmp_proto_why(s.p)[0] != 0);
        sess_free(&s);
        free(in.b);
        free(a.b);
    }
    /* Random bytes after a good handshake: some result, no crash. */
    {
        unsigned seed = 12345;
        for (int round = 0; round < 200; round++) {
            Sess s;
            Bytes in = {0};
            sess_init(&s);
            s.lookup_ret = 0;
            preamble(&in, "live", KEY);
            for (int i = 0; i < 2000; i++) {
                seed = seed * 1103515245u + 12345u;
                put8(&in, seed >> 16);
            }
            (void)sess_feed(&s, &in, round % 3 ? 0 : 13);
            sess_free(&s);
            free(in.b);
        }
    }
}

/* Acknowledgements every window the publisher asked for; a ping answered. */
static void test_proto_ack(void **state)
{
    Sess s;
    Bytes in = {0};
    uint8_t v[4] = {0, 0, 0x13, 0x88}, big[4000] = {0};
    uint8_t ping[6] = {0, 6, 0, 0, 0x30, 0x39};
    SrvMsg m[32];
    int n, acks = 0, pongs = 0;
    (void)state;

    sess_init(&s);
    preamble(&in, "live", KEY);
    msg(&in, 2, 0, 5, 0, v, 4, 128); /* Window Ack Size 5000 */
    for (int i = 0; i < 5; i++)
        msg(&in, 6, (uint32_t)i * 40, 9, 1, big, sizeof(big), 128);
    msg(&in, 2, 0, 4, 0, ping, 6, 128);
    assert_int_equal(sess_feed(&s, &in, 3000), 0);
    n = srv_messages(&s.out, m, 32);
    for (int i = 0; i < n; i++) {
        if (m[i].type == 3)
            acks++;
        if (m[i].type == 4 && m[i].pl[1] == 7) {
            assert_memory_equal(m[i].pl + 2, "\0\0\x30\x39", 4);
            pongs++;
        }
    }
    assert_true(acks >= 3);
    assert_int_equal(pongs, 1);
    sess_free(&s);
    free(in.b);
}

/* data() < 0 stops the session at once. */
static void test_proto_stop(void **state)
{
    Sess s;
    Bytes in = {0};
    (void)state;

    sess_init(&s);
    s.stop_data = 1;
    preamble(&in, "live", KEY);
    build_media(&in);
    assert_int_equal(sess_feed(&s, &in, 0), EB_RTMP_STOP);
    assert_int_equal(s.data_calls, 1);
    assert_int_equal(eb_rtmp_proto_feed(s.p, in.b, 1, NULL), EB_RTMP_STOP);
    sess_free(&s);
    free(in.b);
}

/* ---- the port, with ffmpeg ------------------------------------------------------ */

/* What the callbacks saw; every field under lock. */
typedef struct Seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int lookups, opens, closes, refuse_open, drop_in_data, drop_ret;
    char app[32], key[EB_RTMP_KEY_MAX + 1], why[128];
    char open_channel[EB_RTMP_CHANNEL_MAX + 1];
    uint64_t conn;
    int64_t bytes;
    int data_calls, data_after_close, bad_conn;
    int stats_ret;
    EbIngestRtmpStats stats;
    EbIngestRtmp *rtmp;
    FILE *file; /* the current publish's FLV */
} Seen;

static Seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void seen_reset(void)
{
    pthread_mutex_lock(&seen.lock);
    seen.lookups = seen.opens = seen.closes = seen.refuse_open = 0;
    seen.drop_in_data = seen.drop_ret = 0;
    seen.app[0] = seen.key[0] = seen.why[0] = seen.open_channel[0] = 0;
    seen.conn = 0;
    seen.bytes = 0;
    seen.data_calls = seen.data_after_close = seen.bad_conn = 0;
    seen.stats_ret = 1;
    memset(&seen.stats, 0, sizeof(seen.stats));
    seen.rtmp = NULL;
    seen.file = NULL;
    pthread_mutex_unlock(&seen.lock);
}

/* KEY opens cam1, busy while it has a publisher. */
static int on_lookup(void *opaque, const char *app, const char *key, char *channel, size_t size)
{
    int ret = EB_ERR(ENOENT);

    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    seen.lookups++;
    snprintf(seen.app, sizeof(seen.app), "%s", app);
    snprintf(seen.key, sizeof(seen.key), "%s", key);
    if (!strcmp(key, KEY))
        ret = seen.opens > seen.closes ? EB_ERR(EBUSY) : 0;
    pthread_mutex_unlock(&seen.lock);
    if (ret == 0)
        snprintf(channel, size, "cam1");
    return ret;
}

static int on_open(void *opaque, const char *channel, uint64_t conn)
{
    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    if (seen.refuse_open) {
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
    EbIngestRtmp *drop;
    int ask_stats;

    (void)opaque;
    pthread_mutex_lock(&seen.lock);
    if (conn != seen.conn)
        seen.bad_conn++;
    if (seen.closes && conn == seen.conn)
        seen.data_after_close++;
    if (seen.data_calls == 0 && (size < 13 || memcmp(buf, "FLV\x01", 4) != 0))
        seen.bad_conn++;
    seen.data_calls++;
    seen.bytes += (int64_t)size;
    if (seen.file && fwrite(buf, 1, size, seen.file) != size)
        seen.bad_conn++; /* no cmocka assert off the test's thread */
    ask_stats = seen.stats_ret == 1 && seen.bytes > 20000 && seen.rtmp;
    drop = seen.drop_in_data && seen.bytes > 50000 && seen.drop_ret == 0 ? seen.rtmp : NULL;
    if (drop)
        seen.drop_ret = 2; /* asked */
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
    if (drop) {
        /* From the module's own thread: marks it, returns at once. */
        int ret = eb_ingest_rtmp_drop(drop, conn);
        pthread_mutex_lock(&seen.lock);
        seen.drop_ret = ret == 0 ? 1 : -1;
        pthread_mutex_unlock(&seen.lock);
    }
    if (ask_stats) {
        /* From a callback, on the module's thread: must not deadlock. */
        EbIngestRtmpStats st;
        int ret = eb_ingest_rtmp_stats(seen.rtmp, conn, &st);
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

static EbIngestRtmp *start_with(int max_conns, int publish_timeout_ms)
{
    EbIngestRtmpConfig cfg = {
        .listen = "127.0.0.1:0",
        .lookup = on_lookup,
        .open = on_open,
        .data = on_data,
        .close = on_close,
        .max_conns = max_conns,
        .publish_timeout_ms = publish_timeout_ms,
    };
    EbIngestRtmp *s = NULL;
    char detail[256];

    seen_reset();
    assert_int_equal(eb_ingest_rtmp_open(&cfg, &s, detail, sizeof(detail)), 0);
    assert_non_null(s);
    assert_true(eb_ingest_rtmp_port(s) > 0);
    pthread_mutex_lock(&seen.lock);
    seen.rtmp = s;
    pthread_mutex_unlock(&seen.lock);
    return s;
}

static EbIngestRtmp *start(void)
{
    return start_with(0, 0);
}

static void stop(EbIngestRtmp **s)
{
    eb_ingest_rtmp_close(s);
    assert_null(*s);
    pthread_mutex_lock(&seen.lock);
    seen.rtmp = NULL;
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

/* ffmpeg publishing H.264/AAC FLV for %d seconds (%s: "-re " or ""). */
#define FFMPEG_PUBLISH                                                                             \
    "-hide_banner -loglevel error %s-f lavfi -i testsrc2=size=320x240:rate=25 "                    \
    "-f lavfi -i sine=frequency=440:sample_rate=48000 -t %d -c:v libx264 -preset ultrafast "       \
    "-g 25 -c:a aac -f flv rtmp://127.0.0.1:%d/%s/%s"

/* What libavformat's flv demuxer makes of a file. */
typedef struct Probe {
    int h264, width, height, aac;
    double duration; /* video: last pts + duration - first pts */
} Probe;

static void probe_flv(const char *path, Probe *out)
{
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = av_packet_alloc();
    int64_t first = AV_NOPTS_VALUE, last = AV_NOPTS_VALUE;
    int vi = -1;

    memset(out, 0, sizeof(*out));
    assert_int_equal(avformat_open_input(&fmt, path, av_find_input_format("flv"), NULL), 0);
    assert_true(avformat_find_stream_info(fmt, NULL) >= 0);
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVCodecParameters *par = fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            vi = (int)i;
            out->h264 = par->codec_id == AV_CODEC_ID_H264;
            out->width = par->width;
            out->height = par->height;
        } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
            out->aac = par->codec_id == AV_CODEC_ID_AAC;
        }
    }
    assert_true(vi >= 0);
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == vi && pkt->pts != AV_NOPTS_VALUE) {
            if (first == AV_NOPTS_VALUE || pkt->pts < first)
                first = pkt->pts;
            if (last == AV_NOPTS_VALUE || pkt->pts + pkt->duration > last)
                last = pkt->pts + pkt->duration;
        }
        av_packet_unref(pkt);
    }
    if (first != AV_NOPTS_VALUE)
        out->duration = (double)(last - first) * av_q2d(fmt->streams[vi]->time_base);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
}

/* A publish of seconds s, paced or not, written to a file and probed. */
static void publish_and_probe(int paced, int seconds)
{
    EbIngestRtmp *s = start();
    int port = eb_ingest_rtmp_port(s);
    char dir[512], path[600];
    Probe pr;
    FILE *f;
    int64_t bytes;
    struct timespec t0, t1;

    eb_test_tmpdir("rtmp", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/publish.flv", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    pthread_mutex_lock(&seen.lock);
    seen.file = f;
    pthread_mutex_unlock(&seen.lock);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(
        eb_test_ffmpeg(FFMPEG_PUBLISH, paced ? "-re " : "", seconds, port, "live", KEY), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(wait_at_least(&seen.closes, 0, 1, 5.0));

    pthread_mutex_lock(&seen.lock);
    seen.file = NULL;
    assert_int_equal(seen.lookups, 1);
    assert_string_equal(seen.app, "live");
    assert_string_equal(seen.key, KEY);
    assert_int_equal(seen.opens, 1);
    assert_string_equal(seen.open_channel, "cam1");
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "unpublished");
    assert_int_equal(seen.data_after_close, 0);
    assert_int_equal(seen.bad_conn, 0);
    assert_int_equal(seen.stats_ret, 0);
    assert_true(seen.stats.bytes_received > 20000);
    assert_true(seen.stats.messages > 10);
    assert_true(seen.stats.flv_bytes > 0);
    assert_true(seen.stats.publish_start_ms > 1600000000000LL);
    assert_true(seen.stats.mbps_recv > 0);
    assert_non_null(strstr(seen.stats.peer, "127.0.0.1:"));
    bytes = seen.bytes;
    pthread_mutex_unlock(&seen.lock);
    assert_int_equal(fclose(f), 0);

    probe_flv(path, &pr);
    fprintf(stderr,
            "rtmp publish (%s, -t %d): %lld FLV bytes in %.2f s; probed: h264 %dx%d, aac %d, "
            "video duration %.3f s\n",
            paced ? "paced" : "unpaced", seconds, (long long)bytes,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, pr.width,
            pr.height, pr.aac, pr.duration);
    assert_true(pr.h264);
    assert_int_equal(pr.width, 320);
    assert_int_equal(pr.height, 240);
    assert_true(pr.aac);
    assert_true(pr.duration > seconds - 0.5 && pr.duration < seconds + 0.5);
    unlink(path);
    rmdir(dir);

    /* A closed connection has no stats and cannot be dropped. */
    {
        EbIngestRtmpStats st;
        uint64_t conn;
        pthread_mutex_lock(&seen.lock);
        conn = seen.conn;
        pthread_mutex_unlock(&seen.lock);
        assert_int_equal(eb_ingest_rtmp_stats(s, conn, &st), EB_ERR(ENOENT));
        assert_int_equal(eb_ingest_rtmp_drop(s, conn), EB_ERR(ENOENT));
    }
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 1); /* not again at shutdown */
}

static void test_ffmpeg_publish_paced(void **state)
{
    (void)state;
    publish_and_probe(1, 3);
}

static void test_ffmpeg_publish_fast(void **state)
{
    (void)state;
    publish_and_probe(0, 2);
}

static int wait_exit(pid_t pid, int seconds);

/* librtmp (rtmpdump's library, the lineage of OBS's RTMP output) as the
 * publisher, loaded at run time where the system has librtmp.so.1: its
 * handshake falls back to the plain one on our zero version field, its
 * chunk headers differ from ffmpeg's (everything on chunk stream 4, type 1
 * headers, @setDataFrame added by RTMP_Write). It publishes an FLV file
 * ffmpeg made, unpaced. */
typedef struct LibRtmp {
    void *(*alloc)(void);
    void (*init)(void *r);
    int (*setup_url)(void *r, char *url);
    void (*enable_write)(void *r);
    int (*connect)(void *r, void *cp);
    int (*connect_stream)(void *r, int seek);
    int (*write)(void *r, const char *buf, int size);
    void (*close)(void *r);
    void (*free)(void *r);
    void (*log_level)(int level);
} LibRtmp;

static void *librtmp_load(LibRtmp *l)
{
    void *h = dlopen("librtmp.so.1", RTLD_NOW | RTLD_LOCAL);

    if (!h)
        return NULL;
    *(void **)&l->alloc = dlsym(h, "RTMP_Alloc");
    *(void **)&l->init = dlsym(h, "RTMP_Init");
    *(void **)&l->setup_url = dlsym(h, "RTMP_SetupURL");
    *(void **)&l->enable_write = dlsym(h, "RTMP_EnableWrite");
    *(void **)&l->connect = dlsym(h, "RTMP_Connect");
    *(void **)&l->connect_stream = dlsym(h, "RTMP_ConnectStream");
    *(void **)&l->write = dlsym(h, "RTMP_Write");
    *(void **)&l->close = dlsym(h, "RTMP_Close");
    *(void **)&l->free = dlsym(h, "RTMP_Free");
    *(void **)&l->log_level = dlsym(h, "RTMP_LogSetLevel");
    if (!l->alloc || !l->init || !l->setup_url || !l->enable_write || !l->connect ||
        !l->connect_stream || !l->write || !l->close || !l->free || !l->log_level) {
        dlclose(h);
        return NULL;
    }
    return h;
}

/* The publisher's side, in a child process: librtmp's one-time TLS set-up
 * (RTMP_Init) is never freed, and a child that leaves with _exit keeps
 * that out of the leak checker's report. Exit 0: published; 77: no
 * librtmp here. */
static int librtmp_child(int port, const uint8_t *flv, size_t size)
{
    LibRtmp l = {0};
    void *h = librtmp_load(&l), *r;
    char url[256];

    if (!h)
        return 77;
    l.log_level(2); /* warnings: "client signature does not match!" would be ours */
    snprintf(url, sizeof(url), "rtmp://127.0.0.1:%d/live/%s", port, KEY);
    r = l.alloc();
    l.init(r);
    if (!l.setup_url(r, url))
        return 2;
    l.enable_write(r);
    if (!l.connect(r, NULL) || !l.connect_stream(r, 0))
        return 3;
    /* In pieces that cut tags, as a muxer's writes do. */
    for (size_t off = 0; off < size;) {
        int n = size - off > 5000 ? 5000 : (int)(size - off);
        if (l.write(r, (const char *)flv + off, n) <= 0)
            return 4;
        off += (size_t)n;
    }
    l.close(r); /* FCUnpublish, deleteStream */
    l.free(r);
    return 0;
}

static void test_librtmp_publish(void **state)
{
    EbIngestRtmp *s;
    char dir[512], src[600], got[600];
    uint8_t *flv;
    size_t size;
    Probe pr;
    FILE *f;
    pid_t pid;
    int st;
    (void)state;

    eb_test_tmpdir("rtmp-librtmp", dir, sizeof(dir));
    snprintf(src, sizeof(src), "%s/src.flv", dir);
    snprintf(got, sizeof(got), "%s/got.flv", dir);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i "
                                    "sine=sample_rate=44100 -t 2 -c:v libx264 -preset ultrafast "
                                    "-g 25 -c:a aac %s",
                                    src),
                     0);
    flv = eb_test_slurp(src, &size);
    assert_non_null(flv);

    s = start();
    f = fopen(got, "wb");
    assert_non_null(f);
    pthread_mutex_lock(&seen.lock);
    seen.file = f;
    pthread_mutex_unlock(&seen.lock);

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(librtmp_child(eb_ingest_rtmp_port(s), flv, size));
    st = wait_exit(pid, 20);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        pthread_mutex_lock(&seen.lock);
        seen.file = NULL;
        pthread_mutex_unlock(&seen.lock);
        fclose(f);
        stop(&s);
        free(flv);
        fprintf(stderr, "librtmp.so.1 not found: librtmp publisher not tested\n");
        skip();
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(wait_at_least(&seen.closes, 0, 1, 5.0));

    pthread_mutex_lock(&seen.lock);
    seen.file = NULL;
    assert_int_equal(seen.opens, 1);
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "unpublished");
    assert_int_equal(seen.bad_conn, 0);
    pthread_mutex_unlock(&seen.lock);
    assert_int_equal(fclose(f), 0);
    stop(&s);

    probe_flv(got, &pr);
    fprintf(stderr, "librtmp publish: %zu FLV bytes sent; probed: h264 %dx%d, aac %d, %.3f s\n",
            size, pr.width, pr.height, pr.aac, pr.duration);
    assert_true(pr.h264);
    assert_int_equal(pr.width, 320);
    assert_true(pr.aac);
    assert_true(pr.duration > 1.5 && pr.duration < 2.5);
    free(flv);
    unlink(src);
    unlink(got);
    rmdir(dir);
}

static void test_open_errors(void **state)
{
    EbIngestRtmpConfig cfg = {.lookup = on_lookup, .data = on_data};
    EbIngestRtmp *s = (EbIngestRtmp *)&cfg, *a = NULL;
    char detail[256];
    (void)state;

    static const char *const bad[] = {
        "",          "1935",      "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "host.example:1935",
        "[::1:1935", "1.2.3.4:9x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.listen = bad[i];
        detail[0] = 0;
        assert_int_equal(eb_ingest_rtmp_open(&cfg, &s, detail, sizeof(detail)), EB_ERR(EINVAL));
        assert_null(s);
        assert_non_null(strstr(detail, "HOST:PORT"));
    }
    cfg.listen = "127.0.0.1:0";
    cfg.lookup = NULL;
    assert_int_equal(eb_ingest_rtmp_open(&cfg, &s, detail, sizeof(detail)), EB_ERR(EINVAL));
    cfg.lookup = on_lookup;
    cfg.max_conns = -1;
    assert_int_equal(eb_ingest_rtmp_open(&cfg, &s, detail, sizeof(detail)), EB_ERR(EINVAL));
    cfg.max_conns = 0;

    /* A port taken by another listener. */
    assert_int_equal(eb_ingest_rtmp_open(&cfg, &a, detail, sizeof(detail)), 0);
    {
        char listen[64], why[256];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", eb_ingest_rtmp_port(a));
        cfg.listen = listen;
        assert_int_equal(eb_ingest_rtmp_open(&cfg, &s, why, sizeof(why)), EB_ERR(EADDRINUSE));
        assert_null(s);
        assert_non_null(strstr(why, "bind"));
    }
    eb_ingest_rtmp_close(&a);
    assert_null(a);
    eb_ingest_rtmp_close(&a); /* NULL: nothing */
    eb_ingest_rtmp_close(NULL);
    /* IPv6 loopback, where the machine has it. */
    cfg.listen = "[::1]:0";
    if (eb_ingest_rtmp_open(&cfg, &a, detail, sizeof(detail)) == 0) {
        assert_true(eb_ingest_rtmp_port(a) > 0);
        eb_ingest_rtmp_close(&a);
    } else {
        fprintf(stderr, "no IPv6 loopback here: %s\n", detail);
    }
}

static void test_refused_publishers(void **state)
{
    EbIngestRtmp *s = start();
    int port = eb_ingest_rtmp_port(s);
    (void)state;

    /* A wrong key: lookup asked, the publish refused, nothing delivered. */
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, "", 1, port, "live", "wrong-key"), 0);
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.lookups, 1);
    assert_string_equal(seen.key, "wrong-key");
    pthread_mutex_unlock(&seen.lock);
    /* Another application: refused at connect, before any lookup. */
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, "", 1, port, "other", KEY), 0);
    /* open() saying no after lookup said yes. */
    pthread_mutex_lock(&seen.lock);
    seen.refuse_open = 1;
    pthread_mutex_unlock(&seen.lock);
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, "", 1, port, "live", KEY), 0);

    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.lookups, 2);
    assert_int_equal(seen.opens, 0);
    assert_int_equal(seen.data_calls, 0);
    assert_int_equal(seen.bytes, 0);
    pthread_mutex_unlock(&seen.lock);
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 0);
}

static int tcp_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Seconds until the server closes fd (reads and drops what it sends), or
 * -1 after limit seconds. */
static double closed_after(int fd, double limit)
{
    struct timespec t0, t1;
    char buf[4096];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double el;
        ssize_t n;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (el >= limit)
            return -1;
        if (poll(&p, 1, (int)((limit - el) * 1000) + 1) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        }
    }
}

static void test_bad_clients(void **state)
{
    EbIngestRtmp *s = start_with(0, 600);
    int port = eb_ingest_rtmp_port(s), fd, silent, partial;
    double t;
    uint8_t c0c1[101];
    (void)state;

    /* Garbage: closed at its first byte. */
    fd = tcp_connect(port);
    assert_int_equal(send(fd, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL), 18);
    t = closed_after(fd, 3.0);
    assert_true(t >= 0 && t < 0.5);
    close(fd);
    /* A silent client and a truncated handshake (C0 and 100 bytes of C1)
     * are closed at the publish timeout. */
    silent = tcp_connect(port);
    partial = tcp_connect(port);
    c0c1[0] = 3;
    memset(c0c1 + 1, 0x42, 100);
    assert_int_equal(send(partial, c0c1, sizeof(c0c1), MSG_NOSIGNAL), (ssize_t)sizeof(c0c1));
    t = closed_after(silent, 5.0);
    assert_true(t >= 0.3 && t < 3.0);
    t = closed_after(partial, 5.0);
    assert_true(t >= 0 && t < 3.0);
    close(silent);
    close(partial);
    /* A truncated handshake whose client goes away. */
    fd = tcp_connect(port);
    assert_int_equal(send(fd, c0c1, 50, MSG_NOSIGNAL), 50);
    close(fd);
    /* Random bytes after a good C0. */
    fd = tcp_connect(port);
    {
        uint8_t junk[5000];
        unsigned seed = 7;
        junk[0] = 3;
        for (size_t i = 1; i < sizeof(junk); i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (uint8_t)(seed >> 16);
        }
        assert_int_equal(send(fd, junk, sizeof(junk), MSG_NOSIGNAL), (ssize_t)sizeof(junk));
    }
    t = closed_after(fd, 5.0);
    assert_true(t >= 0);
    close(fd);

    /* The listener carries on: a good publisher still works. */
    assert_int_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, "", 1, port, "live", KEY), 0);
    assert_true(wait_at_least(&seen.closes, 0, 1, 5.0));
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.opens, 1);
    assert_true(seen.bytes > 10000);
    assert_string_equal(seen.why, "unpublished");
    pthread_mutex_unlock(&seen.lock);
    stop(&s);
}

static void test_max_conns(void **state)
{
    EbIngestRtmp *s = start_with(2, 800);
    int port = eb_ingest_rtmp_port(s), a, b, c;
    double t;
    (void)state;

    a = tcp_connect(port);
    b = tcp_connect(port);
    c = tcp_connect(port);
    /* The third is closed at once, the first two at the publish timeout. */
    t = closed_after(c, 5.0);
    assert_true(t >= 0 && t < 0.5);
    t = closed_after(a, 5.0);
    assert_true(t >= 0.3);
    assert_true(closed_after(b, 5.0) >= 0);
    close(a);
    close(b);
    close(c);
    stop(&s);
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

/* A 30 s paced publish in the background. */
static pid_t spawn_publisher(int port)
{
    char args[1024], cmd[1200];

    snprintf(args, sizeof(args), FFMPEG_PUBLISH, "-re ", 30, port, "live", KEY);
    snprintf(cmd, sizeof(cmd), "exec ffmpeg -nostdin -y %s", args);
    return spawn_sh(cmd);
}

static void test_drop_live_publish(void **state)
{
    EbIngestRtmp *s = start();
    int port = eb_ingest_rtmp_port(s), st;
    int64_t bytes_at_drop;
    uint64_t conn;
    pid_t pid;
    (void)state;

    pid = spawn_publisher(port);
    if (!wait_at_least(&seen.bytes, 1, 20000, 15.0)) {
        wait_exit(pid, 0);
        fail_msg("no publish arrived");
    }
    pthread_mutex_lock(&seen.lock);
    conn = seen.conn;
    pthread_mutex_unlock(&seen.lock);

    /* A second publisher with the live channel's key: busy, refused. */
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, "", 1, port, "live", KEY), 0);
    assert_int_equal(seen_int(&seen.opens), 1);

    /* Drop returns once close() has been called: nothing follows it. */
    assert_int_equal(eb_ingest_rtmp_drop(s, conn), 0);
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "dropped");
    bytes_at_drop = seen.bytes;
    pthread_mutex_unlock(&seen.lock);
    assert_int_equal(eb_ingest_rtmp_drop(s, conn), EB_ERR(ENOENT));

    /* ffmpeg notices the closed connection and gives up well before 30 s. */
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

/* eb_ingest_rtmp_drop from inside data(): the connection ends right after
 * that call, close() follows once, no data() after it. */
static void test_drop_from_callback(void **state)
{
    EbIngestRtmp *s = start();
    int port = eb_ingest_rtmp_port(s);
    int64_t bytes;
    (void)state;

    pthread_mutex_lock(&seen.lock);
    seen.drop_in_data = 1;
    pthread_mutex_unlock(&seen.lock);
    /* Unpaced, 10 s of media: the drop comes long before its end. */
    assert_int_not_equal(eb_test_ffmpeg(FFMPEG_PUBLISH, "", 10, port, "live", KEY), 0);
    assert_true(wait_at_least(&seen.closes, 0, 1, 5.0));
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.drop_ret, 1);
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "dropped");
    assert_int_equal(seen.data_after_close, 0);
    bytes = seen.bytes;
    pthread_mutex_unlock(&seen.lock);
    /* The call that dropped was the last: one tag at most past 50000. */
    assert_true(bytes > 50000 && bytes < 50000 + 200000);
    stop(&s);
    assert_int_equal(seen_int(&seen.closes), 1);
}

static void test_close_with_live_publisher(void **state)
{
    EbIngestRtmp *s = start();
    int port = eb_ingest_rtmp_port(s), st;
    pid_t pid;
    (void)state;

    pid = spawn_publisher(port);
    if (!wait_at_least(&seen.bytes, 1, 20000, 15.0)) {
        wait_exit(pid, 0);
        fail_msg("no publish arrived");
    }
    stop(&s);
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.closes, 1);
    assert_string_equal(seen.why, "shutdown");
    assert_int_equal(seen.data_after_close, 0);
    pthread_mutex_unlock(&seen.lock);
    st = wait_exit(pid, 10);
    assert_int_not_equal(st, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_parse),
        cmocka_unit_test(test_amf0),
        cmocka_unit_test(test_proto_session),
        cmocka_unit_test(test_proto_refusals),
        cmocka_unit_test(test_proto_bad_input),
        cmocka_unit_test(test_proto_ack),
        cmocka_unit_test(test_proto_stop),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_ffmpeg_publish_paced),
        cmocka_unit_test(test_ffmpeg_publish_fast),
        cmocka_unit_test(test_librtmp_publish),
        cmocka_unit_test(test_refused_publishers),
        cmocka_unit_test(test_bad_clients),
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_drop_live_publish),
        cmocka_unit_test(test_drop_from_callback),
        cmocka_unit_test(test_close_with_live_publisher),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
