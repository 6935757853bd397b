/*
 * libFuzzer target for the RTMP ingest's protocol machine (eb_rtmp_proto),
 * the part of the daemon that reads bytes from anyone who connects to the
 * RTMP port. No sockets: the input is fed as a publisher's bytes.
 *
 * The first input byte steers: bit 0 puts a well-formed opening (the
 * handshake, connect to live, createStream, publish) before the rest, so
 * the fuzzer spends its time past the handshake as well as in it; bits 1-7
 * pick the size of the pieces the rest is fed in (0: all at once), since
 * the parser must give the same result for any split.
 *
 * Beyond crashes, leaks and sanitizer reports, its promises are checked:
 *   - data() gets an FLV stream: the 13-byte header first, then whole tags
 *     whose PreviousTagSize matches, each call ending on a tag boundary,
 *     and only once a publish was admitted;
 *   - lookup sees app "live" and a non-empty key without a NUL of at most
 *     EB_RTMP_KEY_MAX bytes, once per session at most;
 *   - the replies waiting never exceed EB_RTMP_OUT_MAX, and once feed
 *     returned non-zero it keeps returning that.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_rtmp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzState {
    EbRtmpProto *p;
    int lookups, opened, header_seen;
} FuzzState;

static int fuzz_lookup(void *opaque, const char *app, const char *key, char *channel, size_t size)
{
    FuzzState *f = opaque;
    size_t n = strlen(key);

    if (strcmp(app, "live") != 0 || n == 0 || n > EB_RTMP_KEY_MAX || f->lookups++)
        abort();
    if (key[0] == 'x')
        return EB_ERR(ENOENT); /* refused */
    if (size < 5)
        abort();
    memcpy(channel, "cam1", 5);
    return 0;
}

static int fuzz_open(void *opaque, const char *channel)
{
    FuzzState *f = opaque;

    if (strcmp(channel, "cam1") != 0)
        abort();
    f->opened = 1;
    return 0;
}

static uint32_t rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | rd24(p + 1);
}

static int fuzz_data(void *opaque, const uint8_t *buf, size_t size)
{
    FuzzState *f = opaque;
    size_t off = 0;

    if (!f->opened || !eb_rtmp_proto_publishing(f->p))
        abort();
    if (!f->header_seen) {
        if (size < 13 || memcmp(buf, "FLV\x01", 4) != 0 || rd32(buf + 5) != 9 || rd32(buf + 9))
            abort();
        f->header_seen = 1;
        off = 13;
    }
    while (off < size) {
        uint32_t n;
        if (size - off < 15)
            abort();
        n = rd24(buf + off + 1);
        if (size - off - 15 < n || rd32(buf + off + 11 + n) != 11 + n ||
            (buf[off] != 8 && buf[off] != 9 && buf[off] != 18))
            abort();
        off += 15 + n;
    }
    return 0;
}

/* A one-chunk message (header + payload < 128 bytes): its length filled in. */
static size_t fuzz_message(uint8_t *out, const uint8_t *msg, size_t n)
{
    memcpy(out, msg, n);
    out[6] = (uint8_t)(n - 12);
    return n;
}

/* handshake, C2, connect("live"), createStream, publish("k") */
static size_t fuzz_opening(uint8_t *out)
{
    static const uint8_t connect[] = {
        0x03, 0, 0, 0,   0,   0,   0,   20,  0,   0,   0,   0, /* csid 3, command */
        2,    0, 7, 'c', 'o', 'n', 'n', 'e', 'c', 't', 0,   0x3f, 0xf0, 0,   0, 0, 0, 0,
        0,    3, 0, 3,   'a', 'p', 'p', 2,   0,   4,   'l', 'i',  'v',  'e', 0, 0, 9};
    static const uint8_t create[] = {
        0x03, 0,   0,   0,   0,   0,   0,   20,  0, 0,    0, 0, 2, 0, 12, 'c', 'r', 'e', 'a',
        't',  'e', 'S', 't', 'r', 'e', 'a', 'm', 0, 0x40, 0, 0, 0, 0, 0,  0,   0,   5};
    static const uint8_t publish[] = {
        0x08, 0, 0, 0,   0,   0,   0,   20,  1,   0,   0, 0, /* csid 8, stream 1 */
        2,    0, 7, 'p', 'u', 'b', 'l', 'i', 's', 'h', 0, 0x40, 0x08, 0,   0,  0,
        0,    0, 0, 5,   2,   0,   1,   'k', 2,   0,   4, 'l',  'i',  'v', 'e'};
    size_t n = 0;

    memset(out, 0x11, 1 + 1536 * 2);
    out[0] = 3;
    n = 1 + 1536 * 2;
    n += fuzz_message(out + n, connect, sizeof(connect));
    n += fuzz_message(out + n, create, sizeof(create));
    n += fuzz_message(out + n, publish, sizeof(publish));
    return n;
}

static int fuzz_feed(FuzzState *f, const uint8_t *b, size_t n, size_t step, int *result)
{
    size_t off = 0;

    while (off < n) {
        size_t k = step && n - off > step ? step : n - off, used = 0, pending;
        int ret = eb_rtmp_proto_feed(f->p, b + off, k, &used);

        if (*result && ret != *result)
            abort(); /* the end is sticky */
        if (ret == 0 && used != k)
            abort();
        eb_rtmp_proto_output(f->p, &pending);
        if (pending > EB_RTMP_OUT_MAX)
            abort();
        eb_rtmp_proto_consumed(f->p, pending);
        *result = ret;
        if (ret)
            return ret;
        off += k;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t opening[4096];
    EbRtmpProtoCallbacks cb = {.lookup = fuzz_lookup, .open = fuzz_open, .data = fuzz_data};
    FuzzState f = {0};
    size_t step;
    int result = 0;

    if (size < 1)
        return 0;
    eb_log_set_level(EB_LOG_ERROR);
    cb.opaque = &f;
    if (eb_rtmp_proto_new(&cb, &f.p) < 0)
        abort();
    step = data[0] >> 1;
    if (data[0] & 1) {
        size_t n = fuzz_opening(opening);
        if (fuzz_feed(&f, opening, n, 0, &result) != 0 || !eb_rtmp_proto_publishing(f.p))
            abort(); /* the canned opening must always be admitted */
    }
    fuzz_feed(&f, data + 1, size - 1, step, &result);
    if (result && eb_rtmp_proto_feed(f.p, data, size, NULL) != result)
        abort();
    eb_rtmp_proto_free(&f.p);
    return 0;
}
