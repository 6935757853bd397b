/*
 * One RTMP publisher's session, server side, without sockets (see
 * eb_rtmp_proto.h): handshake, chunk stream, AMF0 commands, and the FLV
 * stream handed to data().
 *
 * DESIGN
 * - Streaming parser: bytes are taken as they come, in any split. Only a
 *   chunk's header (at most 18 bytes) is gathered before it is read;
 *   payload bytes go straight into their message's buffer, so no buffer
 *   is sized by the chunk size and any chunk size of 1..0x7FFFFFFF (the
 *   spec's range) is taken. Memory is bounded by message sizes instead:
 *   EB_RTMP_MSG_MAX (8 MiB, well above a 1080p keyframe at broadcast
 *   rates) per message once publishing, EB_RTMP_MSG_MAX_EARLY (64 KiB)
 *   before - only commands are sent then, and an unauthenticated peer
 *   should not make us hold megabytes - and EB_RTMP_BUFFERED_MAX over all
 *   unfinished messages of a connection. Buffers grow with the bytes that
 *   actually arrive, not with the length a header claims.
 * - Chunk streams: at most EB_RTMP_CHUNK_STREAMS_MAX ids per connection
 *   (publishers use 3 to 6). A stream's first chunk may carry a type 1, 2
 *   or 3 header (librtmp-based publishers start audio that way); the
 *   missing fields are zero. Timestamps: type 0 sets the absolute time,
 *   types 1 and 2 add their delta, and a type 3 chunk that starts a
 *   message adds the timestamp field of the stream's last type 0/1/2
 *   header (ffmpeg's writer and reader treat a type 0 field that way too);
 *   an extended timestamp follows a type 3 header whenever the stream's
 *   last type 0/1/2 header had one, as ffmpeg and librtmp write them.
 * - Messages carry room before and after their payload (EB_RTMP_HEAD,
 *   EB_RTMP_TAIL), so a media message becomes an FLV tag in place: the
 *   tag header is written before the payload, PreviousTagSize after it,
 *   the FLV file header before the first tag, and data() gets one
 *   contiguous buffer without a copy.
 * - AMF0 is read in place with bounds and a nesting limit
 *   (EB_RTMP_AMF_DEPTH_MAX); values are never built into trees. Metadata
 *   (@setDataFrame onMetaData {...}) is validated value by value and the
 *   name and value are kept as they are, which is AMF0 already.
 * - Replies go to an output buffer the caller drains; a publisher that
 *   does not read them (EB_RTMP_OUT_MAX) is a broken one.
 * - The stream key is never logged nor kept: it lives in a stack buffer
 *   during lookup and is wiped after.
 */
#include "eb_rtmp_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eb_error.h"
#include "eb_log.h"

#define EB_RTMP_HS_SIZE 1536
/* Room kept before a message's payload: FLV header (13) + tag header (11). */
#define EB_RTMP_HEAD 24
/* Room after it: PreviousTagSize. */
#define EB_RTMP_TAIL 4
/* A buffer this large is freed once its message is done, not kept. */
#define EB_RTMP_KEEP_MAX (1 << 20)
/* The smallest acknowledgement window honoured (a tiny one would make us
 * answer every few bytes). */
#define EB_RTMP_ACK_WINDOW_MIN 4096
#define EB_RTMP_DEFAULT_CHUNK 128
#define EB_RTMP_NAME_MAX 64 /* command names */

/* Message types. */
enum {
    EB_RTMP_SET_CHUNK_SIZE = 1,
    EB_RTMP_ABORT = 2,
    EB_RTMP_ACK = 3,
    EB_RTMP_USER_CONTROL = 4,
    EB_RTMP_WINDOW_ACK_SIZE = 5,
    EB_RTMP_SET_PEER_BW = 6,
    EB_RTMP_AUDIO = 8,
    EB_RTMP_VIDEO = 9,
    EB_RTMP_DATA_AMF3 = 15,
    EB_RTMP_COMMAND_AMF3 = 17,
    EB_RTMP_DATA = 18,
    EB_RTMP_COMMAND = 20,
    EB_RTMP_AGGREGATE = 22,
};

/* AMF0 markers. */
enum {
    EB_AMF_NUMBER = 0,
    EB_AMF_BOOLEAN = 1,
    EB_AMF_STRING = 2,
    EB_AMF_OBJECT = 3,
    EB_AMF_NULL = 5,
    EB_AMF_UNDEFINED = 6,
    EB_AMF_ECMA_ARRAY = 8,
    EB_AMF_OBJECT_END = 9,
    EB_AMF_STRICT_ARRAY = 10,
    EB_AMF_DATE = 11,
    EB_AMF_LONG_STRING = 12,
};

/* Our chunk stream ids for what we send. */
#define EB_RTMP_CSID_CONTROL 2
#define EB_RTMP_CSID_COMMAND 3
#define EB_RTMP_CSID_STATUS 5
/* The one message stream createStream hands out. */
#define EB_RTMP_STREAM_ID 1

typedef enum EbRtmpState {
    EB_RTMP_HS_C0C1,
    EB_RTMP_HS_C2,
    EB_RTMP_HEADER,
    EB_RTMP_BODY,
} EbRtmpState;

typedef struct EbRtmpChunkStream {
    uint32_t csid;
    uint32_t ts;       /* absolute timestamp of the current (or last) message */
    uint32_t ts_field; /* timestamp field of the last type 0/1/2 header */
    int ext;           /* that header had an extended timestamp */
    uint32_t len;      /* message length */
    uint8_t type;
    uint32_t msid;
    uint32_t got; /* payload bytes of the current message; 0: between messages */
    uint8_t *buf; /* EB_RTMP_HEAD + payload + EB_RTMP_TAIL */
    size_t cap;
} EbRtmpChunkStream;

struct EbRtmpProto {
    EbRtmpProtoCallbacks cb;
    EbRtmpState state;
    int result; /* sticky non-zero feed result */
    char why[192];

    uint8_t hs[1 + EB_RTMP_HS_SIZE];
    size_t hs_got;

    /* The chunk header being gathered. */
    uint8_t hdr[18];
    size_t hdr_got, hdr_need;
    int hdr_stage;
    EbRtmpChunkStream *cur; /* its stream, once known */
    uint32_t chunk_left;    /* payload bytes left in the current chunk */

    EbRtmpChunkStream streams[EB_RTMP_CHUNK_STREAMS_MAX];
    int nb_streams;
    size_t buffered; /* sum of the streams' buffer capacities */
    uint32_t in_chunk_size, out_chunk_size;

    uint64_t bytes_in, acked;
    uint32_t peer_window; /* the publisher's Window Acknowledgement Size */
    int64_t messages;

    int connected, publishing, header_sent;
    uint8_t flv_flags;
    char app[EB_RTMP_APP_MAX + 1];

    uint8_t *out;
    size_t out_off, out_len, out_cap;

    uint64_t rand;
};

/* ---- small helpers ---------------------------------------------------------- */

static uint32_t eb_rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t eb_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void eb_wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static void eb_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Ends the session with result ret and a reason. */
static int eb_rtmp_end(EbRtmpProto *p, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int eb_rtmp_end(EbRtmpProto *p, int ret, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
    va_end(ap);
    p->result = ret;
    return ret;
}

/* Outside text made safe for a log line or a reply: printable ASCII. */
static void eb_rtmp_printable(const char *in, char *out, size_t size)
{
    size_t i = 0;

    for (; in && *in && i + 1 < size; in++)
        out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[i] = 0;
}

/* splitmix64: S1's filler needs no cryptographic quality, only to differ. */
static uint64_t eb_rtmp_random(EbRtmpProto *p)
{
    uint64_t z = (p->rand += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- AMF0 reading ------------------------------------------------------------ */

static int eb_amf_value(const uint8_t *b, size_t n, int depth, size_t *used);

/* Properties of an object or ECMA array up to and including the end
 * marker. */
static int eb_amf_props(const uint8_t *b, size_t n, int depth, size_t *used)
{
    size_t off = 0;

    for (;;) {
        size_t klen, vlen;
        int ret;

        if (n - off < 2)
            return EB_ERR(EINVAL);
        klen = (size_t)b[off] << 8 | b[off + 1];
        off += 2;
        if (klen == 0) {
            if (off >= n || b[off] != EB_AMF_OBJECT_END)
                return EB_ERR(EINVAL);
            *used = off + 1;
            return 0;
        }
        if (n - off < klen)
            return EB_ERR(EINVAL);
        off += klen;
        ret = eb_amf_value(b + off, n - off, depth, &vlen);
        if (ret < 0)
            return ret;
        off += vlen;
    }
}

static int eb_amf_value(const uint8_t *b, size_t n, int depth, size_t *used)
{
    size_t need, inner;
    int ret;

    if (n < 1)
        return EB_ERR(EINVAL);
    switch (b[0]) {
    case EB_AMF_NUMBER:
        need = 9;
        break;
    case EB_AMF_BOOLEAN:
        need = 2;
        break;
    case EB_AMF_STRING:
        if (n < 3)
            return EB_ERR(EINVAL);
        need = 3 + ((size_t)b[1] << 8 | b[2]);
        break;
    case EB_AMF_LONG_STRING:
        if (n < 5)
            return EB_ERR(EINVAL);
        need = 5 + (size_t)eb_rd32(b + 1);
        break;
    case EB_AMF_NULL:
    case EB_AMF_UNDEFINED:
        need = 1;
        break;
    case EB_AMF_DATE:
        need = 11;
        break;
    case EB_AMF_OBJECT:
    case EB_AMF_ECMA_ARRAY: {
        size_t skip = b[0] == EB_AMF_OBJECT ? 1 : 5; /* ECMA: a count, a hint only */
        if (depth >= EB_RTMP_AMF_DEPTH_MAX)
            return EB_ERR(ELOOP);
        if (n < skip)
            return EB_ERR(EINVAL);
        ret = eb_amf_props(b + skip, n - skip, depth + 1, &inner);
        if (ret < 0)
            return ret;
        *used = skip + inner;
        return 0;
    }
    case EB_AMF_STRICT_ARRAY: {
        size_t off = 5;
        uint32_t count;
        if (depth >= EB_RTMP_AMF_DEPTH_MAX)
            return EB_ERR(ELOOP);
        if (n < 5)
            return EB_ERR(EINVAL);
        count = eb_rd32(b + 1);
        /* Every value takes a byte at least, so the loop is bounded by n. */
        for (uint32_t i = 0; i < count; i++) {
            ret = eb_amf_value(b + off, n - off, depth + 1, &inner);
            if (ret < 0)
                return ret;
            off += inner;
        }
        *used = off;
        return 0;
    }
    case EB_AMF_OBJECT_END:
        return EB_ERR(EINVAL);
    default:
        return EB_ERR(ENOTSUP);
    }
    if (n < need)
        return EB_ERR(EINVAL);
    *used = need;
    return 0;
}

int eb_rtmp_amf0_skip(const uint8_t *buf, size_t size, size_t *used)
{
    size_t dummy;

    if (!buf && size)
        return EB_ERR(EINVAL);
    return eb_amf_value(buf, size, 0, used ? used : &dummy);
}

/* A cursor over a command's values. */
typedef struct EbAmfReader {
    const uint8_t *p;
    size_t n;
} EbAmfReader;

static int eb_amf_next(EbAmfReader *r, const uint8_t **val, size_t *len)
{
    size_t used;
    int ret = eb_amf_value(r->p, r->n, 0, &used);

    if (ret < 0)
        return ret;
    if (val)
        *val = r->p;
    if (len)
        *len = used;
    r->p += used;
    r->n -= used;
    return 0;
}

/* A short string value (type 2) into out; EINVAL when val is no string or
 * holds a NUL, ENOSPC when it does not fit. */
static int eb_amf_string(const uint8_t *val, size_t len, char *out, size_t size)
{
    size_t n;

    out[0] = 0;
    if (len < 3 || val[0] != EB_AMF_STRING)
        return EB_ERR(EINVAL);
    n = (size_t)val[1] << 8 | val[2];
    if (memchr(val + 3, 0, n))
        return EB_ERR(EINVAL);
    if (n >= size)
        return EB_ERR(ENOSPC);
    memcpy(out, val + 3, n);
    out[n] = 0;
    return 0;
}

static int eb_amf_number(const uint8_t *val, size_t len, double *out)
{
    uint64_t bits = 0;

    if (len < 9 || val[0] != EB_AMF_NUMBER)
        return EB_ERR(EINVAL);
    for (int i = 1; i < 9; i++)
        bits = bits << 8 | val[i];
    memcpy(out, &bits, sizeof(*out));
    return 0;
}

/* The value of property name in the object or ECMA array at val (whole,
 * already validated), or EB_ERR(ENOENT). */
static int eb_amf_prop(const uint8_t *val, size_t len, const char *name, const uint8_t **out,
                       size_t *olen)
{
    size_t off, want = strlen(name);

    if (len < 1 || (val[0] != EB_AMF_OBJECT && val[0] != EB_AMF_ECMA_ARRAY))
        return EB_ERR(EINVAL);
    off = val[0] == EB_AMF_OBJECT ? 1 : 5;
    while (off + 2 <= len) {
        size_t klen = (size_t)val[off] << 8 | val[off + 1], vlen;
        const uint8_t *key = val + off + 2;

        if (klen == 0)
            break;
        off += 2 + klen;
        if (off > len || eb_amf_value(val + off, len - off, 1, &vlen) < 0)
            return EB_ERR(EINVAL);
        if (klen == want && !memcmp(key, name, want)) {
            *out = val + off;
            *olen = vlen;
            return 0;
        }
        off += vlen;
    }
    return EB_ERR(ENOENT);
}

/* ---- AMF0 writing -------------------------------------------------------------- */

typedef struct EbAmfWriter {
    uint8_t buf[1024];
    size_t len;
    int overflow;
} EbAmfWriter;

static void eb_amfw_bytes(EbAmfWriter *w, const void *b, size_t n)
{
    if (w->overflow || n > sizeof(w->buf) - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, b, n);
    w->len += n;
}

static void eb_amfw_u8(EbAmfWriter *w, uint8_t v)
{
    eb_amfw_bytes(w, &v, 1);
}

static void eb_amfw_number(EbAmfWriter *w, double v)
{
    uint8_t b[9];
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    b[0] = EB_AMF_NUMBER;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (uint8_t)(bits >> (56 - 8 * i));
    eb_amfw_bytes(w, b, sizeof(b));
}

static void eb_amfw_key(EbAmfWriter *w, const char *s)
{
    size_t n = strlen(s);
    uint8_t b[2] = {(uint8_t)(n >> 8), (uint8_t)n};

    eb_amfw_bytes(w, b, 2);
    eb_amfw_bytes(w, s, n);
}

static void eb_amfw_string(EbAmfWriter *w, const char *s)
{
    eb_amfw_u8(w, EB_AMF_STRING);
    eb_amfw_key(w, s);
}

static void eb_amfw_object_end(EbAmfWriter *w)
{
    static const uint8_t end[3] = {0, 0, EB_AMF_OBJECT_END};
    eb_amfw_bytes(w, end, sizeof(end));
}

/* { level, code, description } as servers send in _error and onStatus. */
static void eb_amfw_status(EbAmfWriter *w, const char *level, const char *code,
                           const char *description)
{
    eb_amfw_u8(w, EB_AMF_OBJECT);
    eb_amfw_key(w, "level");
    eb_amfw_string(w, level);
    eb_amfw_key(w, "code");
    eb_amfw_string(w, code);
    eb_amfw_key(w, "description");
    eb_amfw_string(w, description);
}

/* ---- output ---------------------------------------------------------------- */

static int eb_rtmp_out(EbRtmpProto *p, const void *b, size_t n)
{
    if (p->out_off && p->out_off == p->out_len)
        p->out_off = p->out_len = 0;
    if (p->out_len - p->out_off + n > EB_RTMP_OUT_MAX)
        return eb_rtmp_end(p, EB_ERR(EPROTO),
                           "the publisher does not read our replies (%zu bytes pending)",
                           p->out_len - p->out_off);
    if (p->out_len + n > p->out_cap) {
        size_t cap;
        uint8_t *t;

        if (p->out_off) {
            memmove(p->out, p->out + p->out_off, p->out_len - p->out_off);
            p->out_len -= p->out_off;
            p->out_off = 0;
        }
        cap = p->out_cap ? p->out_cap : 4096;
        while (cap < p->out_len + n)
            cap *= 2;
        if (cap != p->out_cap) {
            t = realloc(p->out, cap);
            if (!t)
                return eb_rtmp_end(p, EB_ERR(ENOMEM), "out of memory");
            p->out = t;
            p->out_cap = cap;
        }
    }
    memcpy(p->out + p->out_len, b, n);
    p->out_len += n;
    return 0;
}

/* One message, type 0 header then type 3 continuations at our chunk size. */
static int eb_rtmp_send(EbRtmpProto *p, uint8_t csid, uint8_t type, uint32_t msid,
                        const uint8_t *payload, size_t len)
{
    uint8_t h[12];
    size_t off = 0;
    int ret;

    h[0] = csid; /* fmt 0; our ids are < 64 */
    eb_wr24(h + 1, 0);
    eb_wr24(h + 4, (uint32_t)len);
    h[7] = type;
    h[8] = (uint8_t)msid; /* little-endian */
    h[9] = (uint8_t)(msid >> 8);
    h[10] = (uint8_t)(msid >> 16);
    h[11] = (uint8_t)(msid >> 24);
    if ((ret = eb_rtmp_out(p, h, sizeof(h))) < 0)
        return ret;
    for (;;) {
        size_t n = len - off < p->out_chunk_size ? len - off : p->out_chunk_size;
        uint8_t c3 = (uint8_t)(0xc0 | csid);

        if ((ret = eb_rtmp_out(p, payload + off, n)) < 0)
            return ret;
        off += n;
        if (off >= len)
            return 0;
        if ((ret = eb_rtmp_out(p, &c3, 1)) < 0)
            return ret;
    }
}

static int eb_rtmp_send_u32(EbRtmpProto *p, uint8_t type, uint32_t v)
{
    uint8_t b[4];

    eb_wr32(b, v);
    return eb_rtmp_send(p, EB_RTMP_CSID_CONTROL, type, 0, b, sizeof(b));
}

static int eb_rtmp_send_amf(EbRtmpProto *p, uint8_t csid, uint32_t msid, const EbAmfWriter *w)
{
    if (w->overflow)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "reply too long");
    return eb_rtmp_send(p, csid, EB_RTMP_COMMAND, msid, w->buf, w->len);
}

/* onStatus(0, null, {level, code, description}) on the publish's stream. */
static int eb_rtmp_send_status(EbRtmpProto *p, uint32_t msid, const char *level, const char *code,
                               const char *description)
{
    EbAmfWriter w = {.len = 0};

    eb_amfw_string(&w, "onStatus");
    eb_amfw_number(&w, 0);
    eb_amfw_u8(&w, EB_AMF_NULL);
    eb_amfw_status(&w, level, code, description);
    eb_amfw_object_end(&w);
    return eb_rtmp_send_amf(p, EB_RTMP_CSID_STATUS, msid, &w);
}

/* ---- FLV ----------------------------------------------------------------- */

/* Hands data() the tags at buf + head .. + len (already FLV tags with
 * their PreviousTagSize), after the FLV header on the first call; head
 * bytes of room before them. */
static int eb_rtmp_flv_out(EbRtmpProto *p, uint8_t *buf, size_t head, size_t len)
{
    uint8_t *start = buf + head;

    if (!p->header_sent) {
        start -= 13;
        memcpy(start, "FLV\x01", 4);
        start[4] = p->flv_flags ? p->flv_flags : 5; /* audio 4 | video 1 */
        eb_wr32(start + 5, 9);
        eb_wr32(start + 9, 0);
        len += 13;
        p->header_sent = 1;
    }
    if (p->cb.data(p->cb.opaque, start, len) < 0)
        return eb_rtmp_end(p, EB_RTMP_STOP, "stopped by data()");
    return 0;
}

/* One tag made of the payload at buf + head: its header is written in the
 * room before, PreviousTagSize in the room after. */
static int eb_rtmp_flv_tag(EbRtmpProto *p, uint8_t *buf, size_t head, size_t len, uint8_t type,
                           uint32_t ts)
{
    uint8_t *tag = buf + head - 11;

    tag[0] = type;
    eb_wr24(tag + 1, (uint32_t)len);
    eb_wr24(tag + 4, ts & 0xffffff);
    tag[7] = (uint8_t)(ts >> 24);
    eb_wr24(tag + 8, 0);
    eb_wr32(buf + head + len, (uint32_t)(11 + len));
    return eb_rtmp_flv_out(p, buf, head - 11, 11 + len + 4);
}

/* Sets the FLV header's flags from onMetaData, when it comes first. */
static void eb_rtmp_flv_flags(EbRtmpProto *p, const uint8_t *val, size_t len)
{
    const uint8_t *v;
    size_t vlen;
    uint8_t flags = 0;

    if (eb_amf_prop(val, len, "videocodecid", &v, &vlen) == 0)
        flags |= 1;
    if (eb_amf_prop(val, len, "audiocodecid", &v, &vlen) == 0)
        flags |= 4;
    p->flv_flags = flags;
}

/* A data message: [@setDataFrame] name value -> script tag "name value". */
static int eb_rtmp_on_data(EbRtmpProto *p, EbRtmpChunkStream *cs, size_t skip)
{
    const uint8_t *pl = cs->buf + EB_RTMP_HEAD;
    char name[EB_RTMP_NAME_MAX];
    EbAmfReader r = {pl + skip, cs->len - skip};
    const uint8_t *v, *val;
    size_t vlen, len, start;

    if (eb_amf_next(&r, &v, &vlen) < 0 || eb_amf_string(v, vlen, name, sizeof(name)) < 0)
        goto ignore;
    if (!strcmp(name, "@setDataFrame")) {
        if (eb_amf_next(&r, &v, &vlen) < 0 || v[0] != EB_AMF_STRING)
            goto ignore;
    } else if (name[0] == '@') {
        return 0; /* @clearDataFrame and the like: nothing for the stream */
    }
    start = (size_t)(v - pl);
    if (eb_amf_next(&r, &val, &len) < 0)
        goto ignore;
    len = (size_t)(val + len - v);
    if (!p->header_sent && vlen == 13 && !memcmp(v + 3, "onMetaData", 10))
        eb_rtmp_flv_flags(p, val, (size_t)(v + len - val));
    /* start >= 0 and the tag header fits in the room kept before the
     * payload; whatever followed the value is dropped. */
    return eb_rtmp_flv_tag(p, cs->buf, EB_RTMP_HEAD + start, len, EB_RTMP_DATA, cs->ts);

ignore:
    EB_LOGD("rtmp", "a data message that is not [@setDataFrame] name value; ignored");
    return 0;
}

/* An aggregate message: FLV tags already; their times are rebased on the
 * message's and the whole body goes out as is. */
static int eb_rtmp_on_aggregate(EbRtmpProto *p, EbRtmpChunkStream *cs)
{
    uint8_t *pl = cs->buf + EB_RTMP_HEAD;
    size_t off = 0;
    uint32_t first = 0;

    while (off < cs->len) {
        uint32_t size, ts;

        if (cs->len - off < 15)
            goto bad;
        size = eb_rd24(pl + off + 1);
        if (cs->len - off - 15 < size ||
            (pl[off] != EB_RTMP_AUDIO && pl[off] != EB_RTMP_VIDEO && pl[off] != EB_RTMP_DATA))
            goto bad;
        ts = eb_rd24(pl + off + 4) | (uint32_t)pl[off + 7] << 24;
        if (off == 0)
            first = ts;
        ts = cs->ts + (ts - first);
        eb_wr24(pl + off + 4, ts & 0xffffff);
        pl[off + 7] = (uint8_t)(ts >> 24);
        eb_wr24(pl + off + 8, 0);
        eb_wr32(pl + off + 11 + size, 11 + size);
        off += 15 + size;
    }
    return cs->len ? eb_rtmp_flv_out(p, cs->buf, EB_RTMP_HEAD, cs->len) : 0;

bad:
    EB_LOGD("rtmp", "an aggregate message that is not a run of FLV tags; ignored");
    return 0;
}

/* ---- commands --------------------------------------------------------------- */

static int eb_rtmp_connect(EbRtmpProto *p, double txn, const uint8_t *obj, size_t olen)
{
    EbAmfWriter w = {.len = 0};
    const uint8_t *v;
    size_t vlen;
    char app[EB_RTMP_APP_MAX + 1] = "", safe[EB_RTMP_APP_MAX + 1], *q;
    int ret;

    if (p->connected)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "a second connect");
    if (obj && eb_amf_prop(obj, olen, "app", &v, &vlen) == 0 &&
        eb_amf_string(v, vlen, app, sizeof(app)) < 0)
        app[0] = 0;
    /* "live/", "live?token=..." are the same application. */
    if ((q = strchr(app, '?')))
        *q = 0;
    for (size_t n = strlen(app); n && app[n - 1] == '/'; n--)
        app[n - 1] = 0;
    eb_rtmp_printable(app, safe, sizeof(safe));
    if (strcmp(app, "live") != 0) {
        char desc[EB_RTMP_APP_MAX + 64];

        snprintf(desc, sizeof(desc), "application \"%s\" not found (publish to live)", safe);
        eb_amfw_string(&w, "_error");
        eb_amfw_number(&w, txn);
        eb_amfw_u8(&w, EB_AMF_NULL);
        eb_amfw_status(&w, "error", "NetConnection.Connect.Rejected", desc);
        eb_amfw_object_end(&w);
        if ((ret = eb_rtmp_send_amf(p, EB_RTMP_CSID_COMMAND, 0, &w)) < 0)
            return ret;
        return eb_rtmp_end(p, EB_RTMP_DONE, "connect to application \"%s\" refused (only live)",
                           safe);
    }
    memcpy(p->app, app, sizeof(p->app));
    p->connected = 1;

    /* Set Peer Bandwidth: window, limit type 2 (dynamic). */
    {
        uint8_t bw[5];
        eb_wr32(bw, EB_RTMP_WINDOW);
        bw[4] = 2;
        if ((ret = eb_rtmp_send_u32(p, EB_RTMP_WINDOW_ACK_SIZE, EB_RTMP_WINDOW)) < 0 ||
            (ret = eb_rtmp_send(p, EB_RTMP_CSID_CONTROL, EB_RTMP_SET_PEER_BW, 0, bw, 5)) < 0 ||
            (ret = eb_rtmp_send_u32(p, EB_RTMP_SET_CHUNK_SIZE, EB_RTMP_OUT_CHUNK_SIZE)) < 0)
            return ret;
        p->out_chunk_size = EB_RTMP_OUT_CHUNK_SIZE;
    }
    eb_amfw_string(&w, "_result");
    eb_amfw_number(&w, txn);
    eb_amfw_u8(&w, EB_AMF_OBJECT);
    eb_amfw_key(&w, "fmsVer");
    eb_amfw_string(&w, "FMS/3,0,1,123");
    eb_amfw_key(&w, "capabilities");
    eb_amfw_number(&w, 31);
    eb_amfw_object_end(&w);
    eb_amfw_status(&w, "status", "NetConnection.Connect.Success", "Connection succeeded.");
    eb_amfw_key(&w, "objectEncoding");
    eb_amfw_number(&w, 0);
    eb_amfw_object_end(&w);
    return eb_rtmp_send_amf(p, EB_RTMP_CSID_COMMAND, 0, &w);
}

/* publish(key): lookup, open, then NetStream.Publish.Start or a refusal. */
static int eb_rtmp_publish(EbRtmpProto *p, uint32_t msid, EbAmfReader *r)
{
    char key[EB_RTMP_KEY_MAX + 1], channel[EB_RTMP_CHANNEL_MAX + 2], safe[EB_RTMP_CHANNEL_MAX + 1];
    const uint8_t *v;
    size_t vlen;
    int ret, refused;
    const char *code = "NetStream.Publish.BadName", *desc;

    if (!p->connected)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "publish before connect");
    if (p->publishing)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "a second publish");
    if (eb_amf_next(r, &v, &vlen) < 0 || eb_amf_string(v, vlen, key, sizeof(key)) < 0 || !key[0]) {
        explicit_bzero(key, sizeof(key));
        if ((ret = eb_rtmp_send_status(p, msid, "error", code, "Bad stream key.")) < 0)
            return ret;
        return eb_rtmp_end(p, EB_RTMP_DONE,
                           "publish refused: no stream key, or one over %d bytes or with a NUL",
                           EB_RTMP_KEY_MAX);
    }
    memset(channel, 0, sizeof(channel));
    ret = p->cb.lookup(p->cb.opaque, p->app, key, channel, EB_RTMP_CHANNEL_MAX + 1);
    explicit_bzero(key, sizeof(key));
    if (ret == 0 && (!channel[0] || channel[EB_RTMP_CHANNEL_MAX] != 0))
        ret = EB_ERR(ERANGE); /* the daemon's slip, not the publisher's */
    if (ret < 0) {
        refused = ret;
        if (ret == EB_ERR(EBUSY)) {
            code = "NetStream.Publish.Denied";
            desc = "The channel already has a publisher.";
        } else {
            desc = ret == EB_ERR(ENOENT) ? "Unknown stream key." : "Stream key refused.";
        }
        if ((ret = eb_rtmp_send_status(p, msid, "error", code, desc)) < 0)
            return ret;
        return eb_rtmp_end(p, EB_RTMP_DONE, "publish refused: %s",
                           refused == EB_ERR(ENOENT)  ? "unknown stream key"
                           : refused == EB_ERR(EBUSY) ? "the channel already has a publisher"
                                                      : eb_strerror(refused));
    }
    eb_rtmp_printable(channel, safe, sizeof(safe));
    ret = p->cb.open ? p->cb.open(p->cb.opaque, channel) : 0;
    if (ret < 0) {
        int sret = eb_rtmp_send_status(p, msid, "error", "NetStream.Publish.Denied",
                                       "The channel refused the publisher.");
        if (sret < 0)
            return sret;
        return eb_rtmp_end(p, EB_RTMP_DONE, "channel %s refused the publish (%s)", safe,
                           eb_strerror(ret));
    }
    p->publishing = 1;
    /* User Control Stream Begin, then the status publishers wait for. */
    {
        uint8_t ev[6] = {0, 0};
        eb_wr32(ev + 2, msid);
        if ((ret = eb_rtmp_send(p, EB_RTMP_CSID_CONTROL, EB_RTMP_USER_CONTROL, 0, ev, 6)) < 0)
            return ret;
    }
    return eb_rtmp_send_status(p, msid, "status", "NetStream.Publish.Start", "Publishing.");
}

static int eb_rtmp_command(EbRtmpProto *p, EbRtmpChunkStream *cs, size_t skip)
{
    EbAmfReader r = {cs->buf + EB_RTMP_HEAD + skip, cs->len - skip};
    char name[EB_RTMP_NAME_MAX], safe[EB_RTMP_NAME_MAX];
    const uint8_t *v = NULL, *obj = NULL;
    size_t vlen, olen = 0;
    double txn = 0;
    EbAmfWriter w = {.len = 0};
    int ret;

    ret = eb_amf_next(&r, &v, &vlen);
    if (ret < 0 || eb_amf_string(v, vlen, name, sizeof(name)) < 0)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "a command without a name (%s)",
                           ret < 0 ? eb_strerror(ret) : "not a short string");
    eb_rtmp_printable(name, safe, sizeof(safe));
    /* The transaction id and the command object; both may be missing in
     * the end-of-stream commands some publishers send. */
    v = NULL;
    if (r.n && ((ret = eb_amf_next(&r, &v, &vlen)) < 0 ||
                (r.n && (ret = eb_amf_next(&r, &obj, &olen)) < 0)))
        return eb_rtmp_end(p, EB_ERR(EPROTO), "command %s: malformed AMF0 (%s)", safe,
                           eb_strerror(ret));
    if (v && eb_amf_number(v, vlen, &txn) < 0)
        txn = 0;

    if (!strcmp(name, "connect"))
        return eb_rtmp_connect(p, txn, obj, olen);
    if (!p->connected)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "command %s before connect", safe);
    if (!strcmp(name, "publish"))
        return eb_rtmp_publish(p, cs->msid, &r);
    if (!strcmp(name, "createStream") || !strcmp(name, "releaseStream")) {
        eb_amfw_string(&w, "_result");
        eb_amfw_number(&w, txn);
        eb_amfw_u8(&w, EB_AMF_NULL);
        if (name[0] == 'c')
            eb_amfw_number(&w, EB_RTMP_STREAM_ID);
        else
            eb_amfw_u8(&w, EB_AMF_UNDEFINED);
        return eb_rtmp_send_amf(p, EB_RTMP_CSID_COMMAND, 0, &w);
    }
    if (!strcmp(name, "FCPublish")) {
        eb_amfw_string(&w, "onFCPublish");
        eb_amfw_number(&w, 0);
        eb_amfw_u8(&w, EB_AMF_NULL);
        eb_amfw_status(&w, "status", "NetStream.Publish.Start", "FCPublish");
        eb_amfw_object_end(&w);
        return eb_rtmp_send_amf(p, EB_RTMP_CSID_COMMAND, 0, &w);
    }
    if (!strcmp(name, "FCUnpublish") || !strcmp(name, "deleteStream") ||
        !strcmp(name, "closeStream"))
        return eb_rtmp_end(p, EB_RTMP_DONE, "unpublished");
    if (!strcmp(name, "play") || !strcmp(name, "play2")) {
        if ((ret = eb_rtmp_send_status(p, cs->msid, "error", "NetStream.Play.Failed",
                                       "This server only takes publishers.")) < 0)
            return ret;
        return eb_rtmp_end(p, EB_RTMP_DONE, "play refused (ingest only)");
    }
    /* _checkbw, getStreamLength, FCSubscribe...: nothing to say. */
    EB_LOGD("rtmp", "command %s ignored", safe);
    return 0;
}

/* ---- messages ---------------------------------------------------------------- */

static int eb_rtmp_ack_maybe(EbRtmpProto *p)
{
    if (!p->peer_window || p->bytes_in - p->acked < p->peer_window)
        return 0;
    p->acked = p->bytes_in;
    return eb_rtmp_send_u32(p, EB_RTMP_ACK, (uint32_t)p->bytes_in);
}

/* A whole message of cs (payload at cs->buf + EB_RTMP_HEAD). */
static int eb_rtmp_message(EbRtmpProto *p, EbRtmpChunkStream *cs)
{
    const uint8_t *pl = cs->buf + EB_RTMP_HEAD;
    uint32_t len = cs->len;

    switch (cs->type) {
    case EB_RTMP_SET_CHUNK_SIZE: {
        uint32_t v;
        if (len < 4)
            return eb_rtmp_end(p, EB_ERR(EPROTO), "Set Chunk Size of %u bytes", len);
        v = eb_rd32(pl) & 0x7fffffff; /* the top bit is reserved, zero */
        if (v < 1)
            return eb_rtmp_end(p, EB_ERR(EPROTO), "Set Chunk Size 0");
        p->in_chunk_size = v;
        return 0;
    }
    case EB_RTMP_ABORT:
        if (len >= 4) {
            uint32_t id = eb_rd32(pl);
            for (int i = 0; i < p->nb_streams; i++)
                if (p->streams[i].csid == id && &p->streams[i] != cs)
                    p->streams[i].got = 0;
        }
        return 0;
    case EB_RTMP_USER_CONTROL:
        /* PingRequest (6) gets its PingResponse (7); the rest is for players. */
        if (len >= 6 && pl[0] == 0 && pl[1] == 6) {
            uint8_t pong[6] = {0, 7};
            memcpy(pong + 2, pl + 2, 4);
            return eb_rtmp_send(p, EB_RTMP_CSID_CONTROL, EB_RTMP_USER_CONTROL, 0, pong, 6);
        }
        return 0;
    case EB_RTMP_WINDOW_ACK_SIZE:
        if (len >= 4) {
            uint32_t v = eb_rd32(pl);
            p->peer_window = v && v < EB_RTMP_ACK_WINDOW_MIN ? EB_RTMP_ACK_WINDOW_MIN : v;
        }
        return 0;
    case EB_RTMP_ACK:
    case EB_RTMP_SET_PEER_BW:
        return 0;
    case EB_RTMP_AUDIO:
    case EB_RTMP_VIDEO:
        if (!p->publishing)
            return 0; /* media before publish: dropped */
        return eb_rtmp_flv_tag(p, cs->buf, EB_RTMP_HEAD, len, cs->type, cs->ts);
    case EB_RTMP_DATA:
    case EB_RTMP_DATA_AMF3:
        if (!p->publishing)
            return 0;
        return eb_rtmp_on_data(p, cs, cs->type == EB_RTMP_DATA_AMF3 && len && pl[0] == 0);
    case EB_RTMP_COMMAND:
    case EB_RTMP_COMMAND_AMF3:
        /* The AMF3 form is AMF0 after a zero byte (no client of ours
         * switches to AMF3 values). */
        return eb_rtmp_command(p, cs, cs->type == EB_RTMP_COMMAND_AMF3 && len && pl[0] == 0);
    case EB_RTMP_AGGREGATE:
        if (!p->publishing)
            return 0;
        return eb_rtmp_on_aggregate(p, cs);
    default:
        return 0;
    }
}

/* ---- chunk stream ---------------------------------------------------------- */

static EbRtmpChunkStream *eb_rtmp_stream(EbRtmpProto *p, uint32_t csid)
{
    EbRtmpChunkStream *cs;

    for (int i = 0; i < p->nb_streams; i++)
        if (p->streams[i].csid == csid)
            return &p->streams[i];
    if (p->nb_streams == EB_RTMP_CHUNK_STREAMS_MAX)
        return NULL;
    cs = &p->streams[p->nb_streams++];
    memset(cs, 0, sizeof(*cs));
    cs->csid = csid;
    return cs;
}

/* The header in p->hdr is complete: update the stream, start the chunk. */
static int eb_rtmp_header_done(EbRtmpProto *p, int basic, int fmt, int ext)
{
    static const int msg_hdr[4] = {11, 7, 3, 0};
    EbRtmpChunkStream *cs = p->cur;
    const uint8_t *h = p->hdr + basic;
    uint32_t field = fmt < 3 ? eb_rd24(h) : cs->ts_field;
    uint32_t limit = p->publishing ? EB_RTMP_MSG_MAX : EB_RTMP_MSG_MAX_EARLY;

    if (ext)
        field = eb_rd32(h + msg_hdr[fmt]);
    if (fmt < 3 && cs->got)
        return eb_rtmp_end(p, EB_ERR(EPROTO),
                           "chunk stream %u: a type %d header before its message ended", cs->csid,
                           fmt);
    if (fmt == 0) {
        cs->len = eb_rd24(h + 3);
        cs->type = h[6];
        cs->msid =
            (uint32_t)h[7] | (uint32_t)h[8] << 8 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 24;
        cs->ts = field;
    } else if (fmt == 1) {
        cs->len = eb_rd24(h + 3);
        cs->type = h[6];
        cs->ts += field;
    } else if (fmt == 2) {
        cs->ts += field;
    } else if (!cs->got) {
        cs->ts += field; /* a type 3 header that starts a message */
    }
    if (fmt < 3) {
        cs->ts_field = field;
        cs->ext = ext;
    }
    if (!cs->got && cs->len > limit)
        return eb_rtmp_end(p, EB_ERR(EPROTO), "a message of %u bytes%s (limit %u)", cs->len,
                           p->publishing ? "" : " before publish", limit);
    if (cs->len == 0) {
        p->messages++; /* nothing in it for anyone */
        p->state = EB_RTMP_HEADER;
        return 0;
    }
    p->chunk_left = cs->len - cs->got < p->in_chunk_size ? cs->len - cs->got : p->in_chunk_size;
    p->state = EB_RTMP_BODY;
    return 0;
}

/* Takes one header byte; 0 while more are needed or once the header is
 * done (then p->state moved on), < 0 on error. */
static int eb_rtmp_header_byte(EbRtmpProto *p, uint8_t byte)
{
    static const int msg_hdr[4] = {11, 7, 3, 0};
    int fmt, basic, c, ext;

    p->hdr[p->hdr_got++] = byte;
    if (p->hdr_got < p->hdr_need)
        return 0;
    fmt = p->hdr[0] >> 6;
    c = p->hdr[0] & 0x3f;
    basic = c == 0 ? 2 : c == 1 ? 3 : 1;
    if (p->hdr_stage == 0) {
        p->hdr_stage = 1;
        p->hdr_need = (size_t)(basic + msg_hdr[fmt]);
        if (p->hdr_got < p->hdr_need)
            return 0;
    }
    if (p->hdr_stage == 1) {
        uint32_t csid = c == 0   ? 64u + p->hdr[1]
                        : c == 1 ? 64u + p->hdr[1] + 256u * p->hdr[2]
                                 : (uint32_t)c;
        p->cur = eb_rtmp_stream(p, csid);
        if (!p->cur)
            return eb_rtmp_end(p, EB_ERR(EPROTO), "more than %d chunk streams",
                               EB_RTMP_CHUNK_STREAMS_MAX);
        ext = fmt < 3 ? eb_rd24(p->hdr + basic) == 0xffffff : p->cur->ext;
        p->hdr_stage = ext ? 2 : 3;
        if (ext) {
            p->hdr_need += 4;
            return 0;
        }
    }
    ext = p->hdr_stage == 2;
    p->hdr_stage = 0;
    p->hdr_got = 0;
    p->hdr_need = 1;
    return eb_rtmp_header_done(p, basic, fmt, ext);
}

/* Payload bytes of the current chunk into its message's buffer. */
static int eb_rtmp_body(EbRtmpProto *p, const uint8_t *b, size_t n)
{
    EbRtmpChunkStream *cs = p->cur;
    size_t need = EB_RTMP_HEAD + (size_t)cs->got + n + EB_RTMP_TAIL;

    if (need > cs->cap) {
        size_t full = EB_RTMP_HEAD + (size_t)cs->len + EB_RTMP_TAIL;
        size_t cap = cs->cap ? cs->cap * 2 : 4096;
        uint8_t *t;

        if (cap < need)
            cap = need;
        if (cap > full)
            cap = full;
        if (p->buffered - cs->cap + cap > EB_RTMP_BUFFERED_MAX)
            return eb_rtmp_end(p, EB_ERR(EPROTO), "more than %d bytes of unfinished messages",
                               EB_RTMP_BUFFERED_MAX);
        t = realloc(cs->buf, cap);
        if (!t)
            return eb_rtmp_end(p, EB_ERR(ENOMEM), "out of memory");
        p->buffered = p->buffered - cs->cap + cap;
        cs->buf = t;
        cs->cap = cap;
    }
    memcpy(cs->buf + EB_RTMP_HEAD + cs->got, b, n);
    cs->got += (uint32_t)n;
    p->chunk_left -= (uint32_t)n;
    if (p->chunk_left)
        return 0;
    p->state = EB_RTMP_HEADER;
    if (cs->got < cs->len)
        return 0;
    cs->got = 0;
    p->messages++;
    {
        int ret = eb_rtmp_message(p, cs);
        if (cs->cap > EB_RTMP_KEEP_MAX) {
            p->buffered -= cs->cap;
            free(cs->buf);
            cs->buf = NULL;
            cs->cap = 0;
        }
        return ret;
    }
}

/* C0 + C1 arrived: S0, S1 (time 0, zero version: the plain handshake,
 * random filler), S2 (C1 echoed whole, which librtmp compares). */
static int eb_rtmp_handshake(EbRtmpProto *p)
{
    uint8_t s[1 + EB_RTMP_HS_SIZE];
    int ret;

    if (p->hs[0] != 3)
        return eb_rtmp_end(p, EB_ERR(EPROTO),
                           "handshake version %d (only 3, plain RTMP, is served)", p->hs[0]);
    s[0] = 3;
    memset(s + 1, 0, 8);
    for (size_t i = 9; i < sizeof(s); i += 8) {
        uint64_t r = eb_rtmp_random(p);
        size_t n = sizeof(s) - i < 8 ? sizeof(s) - i : 8;
        memcpy(s + i, &r, n);
    }
    if ((ret = eb_rtmp_out(p, s, sizeof(s))) < 0 ||
        (ret = eb_rtmp_out(p, p->hs + 1, EB_RTMP_HS_SIZE)) < 0)
        return ret;
    p->state = EB_RTMP_HS_C2;
    p->hs_got = 0;
    return 0;
}

/* ---- public ----------------------------------------------------------------- */

int eb_rtmp_proto_new(const EbRtmpProtoCallbacks *cb, EbRtmpProto **out)
{
    EbRtmpProto *p;
    struct timespec now;

    if (!out)
        return EB_ERR(EINVAL);
    *out = NULL;
    if (!cb || !cb->lookup || !cb->data)
        return EB_ERR(EINVAL);
    p = calloc(1, sizeof(*p));
    if (!p)
        return EB_ERR(ENOMEM);
    p->cb = *cb;
    p->state = EB_RTMP_HS_C0C1;
    p->hdr_need = 1;
    p->in_chunk_size = p->out_chunk_size = EB_RTMP_DEFAULT_CHUNK;
    clock_gettime(CLOCK_MONOTONIC, &now);
    p->rand = (uint64_t)now.tv_nsec ^ (uint64_t)now.tv_sec << 32 ^ (uint64_t)(uintptr_t)p;
    *out = p;
    return 0;
}

void eb_rtmp_proto_free(EbRtmpProto **pp)
{
    EbRtmpProto *p = pp ? *pp : NULL;

    if (!p)
        return;
    for (int i = 0; i < p->nb_streams; i++)
        free(p->streams[i].buf);
    free(p->out);
    free(p);
    *pp = NULL;
}

int eb_rtmp_proto_feed(EbRtmpProto *p, const uint8_t *buf, size_t size, size_t *used)
{
    size_t i = 0, dummy;
    int ret = 0;

    if (!used)
        used = &dummy;
    *used = 0;
    if (!p || (!buf && size))
        return EB_ERR(EINVAL);
    if (p->result)
        return p->result;
    while (i < size && ret == 0) {
        size_t n;

        switch (p->state) {
        case EB_RTMP_HS_C0C1:
        case EB_RTMP_HS_C2: {
            size_t want = p->state == EB_RTMP_HS_C0C1 ? 1 + EB_RTMP_HS_SIZE : EB_RTMP_HS_SIZE;
            n = want - p->hs_got < size - i ? want - p->hs_got : size - i;
            /* C2 is read and ignored: it only echoes our random S1. */
            if (p->state == EB_RTMP_HS_C0C1)
                memcpy(p->hs + p->hs_got, buf + i, n);
            p->hs_got += n;
            i += n;
            /* Plain RTMP is 3: anything else (RTMPE's 6, HTTP, TLS) is
             * refused at its first byte rather than after 1537. */
            if (p->state == EB_RTMP_HS_C0C1 && p->hs[0] != 3) {
                ret = eb_rtmp_handshake(p);
                break;
            }
            if (p->hs_got == want) {
                if (p->state == EB_RTMP_HS_C0C1) {
                    ret = eb_rtmp_handshake(p);
                } else {
                    p->state = EB_RTMP_HEADER;
                    p->hs_got = 0;
                }
            }
            break;
        }
        case EB_RTMP_HEADER:
            ret = eb_rtmp_header_byte(p, buf[i++]);
            break;
        case EB_RTMP_BODY:
            n = p->chunk_left < size - i ? p->chunk_left : size - i;
            ret = eb_rtmp_body(p, buf + i, n);
            i += n;
            break;
        }
    }
    p->bytes_in += i;
    *used = i;
    if (ret == 0)
        ret = eb_rtmp_ack_maybe(p);
    if (ret != 0 && !p->result)
        p->result = ret;
    return ret;
}

const uint8_t *eb_rtmp_proto_output(const EbRtmpProto *p, size_t *size)
{
    if (!p || p->out_len == p->out_off) {
        if (size)
            *size = 0;
        return NULL;
    }
    if (size)
        *size = p->out_len - p->out_off;
    return p->out + p->out_off;
}

void eb_rtmp_proto_consumed(EbRtmpProto *p, size_t n)
{
    if (!p)
        return;
    if (n > p->out_len - p->out_off)
        n = p->out_len - p->out_off;
    p->out_off += n;
    if (p->out_off == p->out_len)
        p->out_off = p->out_len = 0;
}

const char *eb_rtmp_proto_why(const EbRtmpProto *p)
{
    return p ? p->why : "";
}

int eb_rtmp_proto_publishing(const EbRtmpProto *p)
{
    return p ? p->publishing : 0;
}

int64_t eb_rtmp_proto_messages(const EbRtmpProto *p)
{
    return p ? p->messages : 0;
}
