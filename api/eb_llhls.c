/*
 * LL-HLS playlist delivery (eb_llhls.h): the origin's reading of a live
 * media playlist, the blocking-reload decision and the delta update.
 *
 * The playlist is the packager's (pipelines/eb_manifest_hls.c), read back
 * as text rather than shared as a structure: the origin only ever sees
 * files (a worker process writes them), and any playlist the origin
 * serves must get the same answer whoever wrote it. So the reading is
 * tolerant: unknown tags are skipped, and a segment is an EXTINF followed
 * by its URI line.
 *
 * Delta updates (RFC 8216bis 6.2.5.1, 4.4.5.2): EXT-X-SKIP stands for the
 * oldest segments and every tag that applies to them alone. What applies
 * beyond them stays: EXT-X-KEY and EXT-X-MAP (they hold until the next
 * one), EXT-X-DATERANGE unless the client asked for v2. A client that
 * reads the delta alone (hls.js does, then merges) counts discontinuities
 * from EXT-X-DISCONTINUITY-SEQUENCE at the first segment it sees, and
 * dates segments from the nearest EXT-X-PROGRAM-DATE-TIME before them, so
 * both are rewritten for the first listed segment.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/bprint.h>
#include <libavutil/mem.h>

#include "eb_error.h"
#include "eb_llhls.h"

/* A duration past this (about 115 days) is not one: ignored, so sums in
 * microseconds of a whole playlist (8 MB at most) stay in an int64. */
#define EB_LLHLS_SECONDS_MAX 1e7

/* ---- reading ----------------------------------------------------------- */

/* Steps over one line of text[*pos..len): *line and *n get it without its
 * LF or CRLF. Returns 0 at the end of the text. */
static int eb_llhls_next_line(const char *text, size_t len, size_t *pos, const char **line,
                              size_t *n)
{
    const char *s, *e;

    if (*pos >= len)
        return 0;
    s = text + *pos;
    e = memchr(s, '\n', len - *pos);
    *pos = e ? (size_t)(e - text) + 1 : len;
    *n = e ? (size_t)(e - s) : len - (size_t)(s - text);
    if (*n > 0 && s[*n - 1] == '\r')
        (*n)--;
    *line = s;
    return 1;
}

/* line starts with the tag name followed by ':' or the end of the line;
 * *rest then points past the ':'. */
static int eb_llhls_tag(const char *line, size_t n, const char *tag, const char **rest, size_t *rn)
{
    size_t t = strlen(tag);

    if (n < t || memcmp(line, tag, t) || (n > t && line[t] != ':'))
        return 0;
    *rest = n > t ? line + t + 1 : line + n;
    *rn = n > t ? n - t - 1 : 0;
    return 1;
}

/* The value of attribute name in an attribute list (quotes removed). */
static int eb_llhls_attr(const char *list, size_t n, const char *name, const char **val, size_t *vn)
{
    size_t nl = strlen(name), i = 0;

    while (i < n) {
        size_t k = i, v;
        while (k < n && list[k] != '=' && list[k] != ',')
            k++;
        if (k >= n || list[k] == ',') { /* a name without a value: skip it */
            i = k + 1;
            continue;
        }
        v = k + 1;
        if (v < n && list[v] == '"') {
            const char *q = memchr(list + v + 1, '"', n - v - 1);
            size_t end = q ? (size_t)(q - list) : n;
            if (k - i == nl && !memcmp(list + i, name, nl)) {
                *val = list + v + 1;
                *vn = end - v - 1;
                return 1;
            }
            v = end + 1;
        } else {
            size_t end = v;
            while (end < n && list[end] != ',')
                end++;
            if (k - i == nl && !memcmp(list + i, name, nl)) {
                *val = list + v;
                *vn = end - v;
                return 1;
            }
            v = end;
        }
        while (v < n && list[v] != ',')
            v++;
        i = v + 1;
    }
    return 0;
}

/* A decimal number in s[0..n); NAN when it is not one. */
static double eb_llhls_number(const char *s, size_t n)
{
    char buf[64], *end;
    double v;

    if (n == 0 || n >= sizeof(buf))
        return NAN;
    memcpy(buf, s, n);
    buf[n] = '\0';
    v = strtod(buf, &end);
    return end == buf || (*end && *end != ',') ? NAN : v;
}

static int eb_llhls_attr_is(const char *list, size_t n, const char *name, const char *want)
{
    const char *v;
    size_t vn;
    return eb_llhls_attr(list, n, name, &v, &vn) && vn == strlen(want) && !memcmp(v, want, vn);
}

static double eb_llhls_attr_number(const char *list, size_t n, const char *name)
{
    const char *v;
    size_t vn;
    return eb_llhls_attr(list, n, name, &v, &vn) ? eb_llhls_number(v, vn) : NAN;
}

/* The sequence and part numbers that end a part URI's file name:
 * ".../segment_025.1.m4s" -> 25, 1. */
static int eb_llhls_part_number(const char *uri, size_t n, int64_t *seq, int *part)
{
    size_t e = 0, end;
    int64_t v[2] = {0, 0};

    while (e < n && uri[e] != '?' && uri[e] != '#')
        e++;
    while (e > 0 && uri[e - 1] != '.' && uri[e - 1] != '/') /* the extension */
        e--;
    if (e == 0 || uri[e - 1] != '.')
        return 0;
    end = e - 1;
    for (int k = 1; k >= 0; k--) {
        size_t b = end, digits;
        while (b > 0 && uri[b - 1] >= '0' && uri[b - 1] <= '9')
            b--;
        digits = end - b;
        if (digits == 0 || digits > 15 || (k == 1 && (b == 0 || uri[b - 1] != '.')))
            return 0;
        for (size_t i = b; i < end; i++)
            v[k] = v[k] * 10 + (uri[i] - '0');
        if (k == 1)
            end = b - 1;
    }
    if (v[1] > INT_MAX)
        return 0;
    *seq = v[0];
    *part = (int)v[1];
    return 1;
}

/* RFC 8216 4.1: no control characters but the line ends (LF, or CR LF).
 * Anything else (a torn or corrupt file) is no playlist. */
static int eb_llhls_is_text(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r' ? i + 1 >= len || text[i + 1] != '\n' : (c < 0x20 && c != '\n') || c == 0x7f)
            return 0;
    }
    return 1;
}

static int eb_llhls_date_parse(const char *s, size_t n, int64_t *us);

int eb_llhls_parse(const char *text, size_t len, EbLlhlsPlaylist *out)
{
    const char *line, *rest;
    size_t pos = 0, n, rn;
    int parts = 0;                      /* listed since the last segment's URI */
    int64_t date_us = -1;               /* the next segment's start; -1: undated */
    double extinf = 0, part_s = 0;      /* its EXTINF; its parts' durations so far */
    int64_t tail_seq = -1;              /* the last part's numbers, from its URI */
    int tail_part = -1, tail_named = 1; /* 0: a part since that URI has no number */
    double v;

    memset(out, 0, sizeof(*out));
    out->version = 1;
    out->last_part = -1;
    if (!text || !eb_llhls_is_text(text, len) ||
        !eb_llhls_next_line(text, len, &pos, &line, &n) || n != 7 || memcmp(line, "#EXTM3U", 7))
        return EB_ERR(EINVAL);
    while (eb_llhls_next_line(text, len, &pos, &line, &n)) {
        if (n == 0)
            continue;
        if (line[0] != '#') { /* a segment's URI */
            out->nb_segments++;
            if (date_us >= 0)
                date_us += (int64_t)llrint(extinf * 1e6);
            extinf = part_s = 0;
            if (parts > out->parts_per_segment)
                out->parts_per_segment = parts;
            parts = 0;
            tail_named = 1;
        } else if (eb_llhls_tag(line, n, "#EXT-X-PART", &rest, &rn)) {
            const char *uri;
            size_t un;
            parts++;
            v = eb_llhls_attr_number(rest, rn, "DURATION");
            part_s += v > 0 && v < EB_LLHLS_SECONDS_MAX ? v : 0;
            tail_named = tail_named && eb_llhls_attr(rest, rn, "URI", &uri, &un) &&
                         eb_llhls_part_number(uri, un, &tail_seq, &tail_part);
        } else if (eb_llhls_tag(line, n, "#EXTINF", &rest, &rn)) {
            v = eb_llhls_number(rest, rn);
            extinf = v > 0 && v < EB_LLHLS_SECONDS_MAX ? v : 0;
        } else if (eb_llhls_tag(line, n, "#EXT-X-PROGRAM-DATE-TIME", &rest, &rn)) {
            int64_t us;
            if (eb_llhls_date_parse(rest, rn, &us) == 0 && us >= 0) {
                date_us = us; /* the next segment's start: its parts count from here */
                part_s = 0;
            }
        } else if (eb_llhls_tag(line, n, "#EXT-X-VERSION", &rest, &rn)) {
            v = eb_llhls_number(rest, rn);
            out->version = v >= 1 && v < 100 ? (int)v : out->version;
        } else if (eb_llhls_tag(line, n, "#EXT-X-TARGETDURATION", &rest, &rn)) {
            v = eb_llhls_number(rest, rn);
            out->target_duration = v > 0 && v < EB_LLHLS_SECONDS_MAX ? v : 0;
        } else if (eb_llhls_tag(line, n, "#EXT-X-MEDIA-SEQUENCE", &rest, &rn)) {
            v = eb_llhls_number(rest, rn);
            out->media_sequence = v >= 0 && v < 9007199254740992.0 ? (int64_t)v : 0;
        } else if (eb_llhls_tag(line, n, "#EXT-X-SERVER-CONTROL", &rest, &rn)) {
            out->low_latency = eb_llhls_attr_is(rest, rn, "CAN-BLOCK-RELOAD", "YES");
            v = eb_llhls_attr_number(rest, rn, "CAN-SKIP-UNTIL");
            out->can_skip_until = v > 0 && v < EB_LLHLS_SECONDS_MAX ? v : 0;
        } else if (eb_llhls_tag(line, n, "#EXT-X-PART-INF", &rest, &rn)) {
            v = eb_llhls_attr_number(rest, rn, "PART-TARGET");
            out->part_target = v > 0 && v < EB_LLHLS_SECONDS_MAX ? v : 0;
        } else if (eb_llhls_tag(line, n, "#EXT-X-PRELOAD-HINT", &rest, &rn)) {
            const char *uri;
            size_t un;
            out->preload_hint[0] = '\0';
            if (eb_llhls_attr_is(rest, rn, "TYPE", "PART") &&
                eb_llhls_attr(rest, rn, "URI", &uri, &un) && un < sizeof(out->preload_hint)) {
                memcpy(out->preload_hint, uri, un);
                out->preload_hint[un] = '\0';
            }
        } else if (eb_llhls_tag(line, n, "#EXT-X-SKIP", &rest, &rn)) {
            v = eb_llhls_attr_number(rest, rn, "SKIPPED-SEGMENTS");
            if (!out->delta) /* one per playlist: the first counts */
                out->skipped = v > 0 && v < 9007199254740992.0 ? (int64_t)v : 0;
            out->delta = 1;
        } else if (eb_llhls_tag(line, n, "#EXT-X-ENDLIST", &rest, &rn)) {
            out->ended = 1;
        }
    }
    out->last_msn = out->media_sequence + out->skipped + out->nb_segments - 1;
    out->last_part_msn = out->last_msn + 1;
    out->last_part = parts - 1;
    if (parts > 0 && tail_named && tail_seq > out->last_msn) {
        out->last_part_msn = tail_seq;
        out->last_part = tail_part;
    }
    if (out->ended)
        out->preload_hint[0] = '\0';
    if (date_us >= 0)
        out->edge_date = (double)date_us / 1e6 + part_s;
    return 0;
}

/* ---- blocking reload ----------------------------------------------------- */

/* A directive's value: decimal digits only, below 2^53. */
static int eb_llhls_directive(const char *s, int64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    uint64_t v = 0;

    if (n == 0 || n > 16 || strspn(s, "0123456789") != n)
        return EB_ERR(EINVAL);
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v >= (UINT64_C(1) << 53))
        return EB_ERR(EINVAL);
    *out = (int64_t)v;
    return 0;
}

int eb_llhls_request_parse(const char *msn, const char *part, const char *skip, EbLlhlsRequest *out)
{
    int64_t p;

    memset(out, 0, sizeof(*out));
    out->part = -1;
    if (skip)
        out->skip = !strcmp(skip, "YES")  ? EB_LLHLS_SKIP_YES
                    : !strcmp(skip, "v2") ? EB_LLHLS_SKIP_V2
                                          : EB_LLHLS_SKIP_NO;
    if (part && !msn)
        return EB_ERR(EINVAL);
    if (msn) {
        if (eb_llhls_directive(msn, &out->msn) < 0)
            return EB_ERR(EINVAL);
        out->has_msn = 1;
    }
    if (part) {
        if (eb_llhls_directive(part, &p) < 0)
            return EB_ERR(EINVAL);
        out->part = p > INT_MAX ? INT_MAX : (int)p; /* far past any limit: BAD */
    }
    return 0;
}

EbLlhlsAnswer eb_llhls_decide(const EbLlhlsPlaylist *pl, const EbLlhlsRequest *rq)
{
    int64_t pps, ahead;
    double limit;

    if (!rq->has_msn || pl->ended)
        return EB_LLHLS_READY;
    if (rq->msn > pl->last_msn + 2)
        return EB_LLHLS_BAD;
    if (rq->msn <= pl->last_msn)
        return EB_LLHLS_READY;
    if (rq->part < 0)
        return EB_LLHLS_WAIT;
    if (pl->last_part >= 0 && (rq->msn < pl->last_part_msn ||
                               (rq->msn == pl->last_part_msn && rq->part <= pl->last_part)))
        return EB_LLHLS_READY;
    /* How many parts past the last listed one the request lies, counting
     * a segment as the parts its predecessors had (or as many part
     * targets as fit in the target duration). */
    pps = pl->parts_per_segment;
    if (pps < 1 && pl->part_target > 0)
        pps = (int64_t)ceil(pl->target_duration / pl->part_target - 1e-9);
    if (pps < 1)
        pps = 1;
    ahead = (rq->msn - pl->last_part_msn) * pps + rq->part - pl->last_part;
    limit = pl->part_target > 0 && pl->part_target < 1 ? 3.0 / pl->part_target : 3.0;
    return (double)ahead > limit ? EB_LLHLS_BAD : EB_LLHLS_WAIT;
}

int eb_llhls_max_age(const EbLlhlsPlaylist *pl)
{
    double s = 6.0 * pl->part_target;
    return s < 1.0 ? 1 : (int)lround(s);
}

/* ---- delta updates ------------------------------------------------------- */

/* The role of a line in a delta update. */
enum {
    EB_L_DROP = 0,  /* blank */
    EB_L_PLAYLIST,  /* a playlist tag: kept where it is */
    EB_L_VERSION,   /* EXT-X-VERSION: may be raised */
    EB_L_DSEQ,      /* EXT-X-DISCONTINUITY-SEQUENCE: rewritten */
    EB_L_MSEQ,      /* EXT-X-MEDIA-SEQUENCE: kept; a new DSEQ goes after it */
    EB_L_SEGMENT,   /* belongs to its segment alone */
    EB_L_STICKY,    /* EXT-X-KEY, EXT-X-MAP past the header: hold for what follows */
    EB_L_DATERANGE, /* EXT-X-DATERANGE */
};

typedef struct EbLlhlsLine {
    const char *s;
    size_t n;
    int kind;
    int seg; /* the segment it belongs to (or precedes) */
} EbLlhlsLine;

typedef struct EbLlhlsSeg {
    int64_t dur_us;
    int64_t pdt_us; /* its own EXT-X-PROGRAM-DATE-TIME */
    int has_pdt;
    int disc;
} EbLlhlsSeg;

/* "YYYY-MM-DDThh:mm:ss[.f][Z|+hh:mm|-hh:mm|+hhmm]" -> microseconds since
 * the epoch. */
static int eb_llhls_date_parse(const char *s, size_t n, int64_t *us)
{
    char buf[64], *p;
    struct tm tm = {0};
    int64_t frac = 0, scale = 1000000;
    long off = 0;
    time_t t;

    if (n >= sizeof(buf))
        return EB_ERR(EINVAL);
    memcpy(buf, s, n);
    buf[n] = '\0';
    p = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return EB_ERR(EINVAL);
    if (*p == '.' || *p == ',') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
    }
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1 && sscanf(p + 1, "%2d%2d", &hh, &mm) < 1)
            return EB_ERR(EINVAL);
        off = sign * (hh * 3600L + mm * 60L);
    } else if (*p && *p != 'Z' && *p != 'z') {
        return EB_ERR(EINVAL);
    }
    t = timegm(&tm);
    *us = ((int64_t)t - off) * 1000000 + frac;
    return 0;
}

static void eb_llhls_date_print(AVBPrint *b, int64_t us)
{
    int64_t ms = us >= 0 ? (us + 500) / 1000 : -((-us + 500) / 1000);
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    av_bprintf(b, "#EXT-X-PROGRAM-DATE-TIME:%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\n",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
               (int)(ms - (int64_t)t * 1000));
}

/* Sorts the lines of text into lines[] (and the segments' facts into
 * segs[]); returns the number of lines. */
static int eb_llhls_classify(const char *text, size_t len, EbLlhlsLine *lines, EbLlhlsSeg *segs,
                             int *nb_segs, int64_t *dseq)
{
    const char *line, *rest;
    size_t pos = 0, n, rn;
    int nb = 0, seg = 0, started = 0;

    *dseq = 0;
    while (eb_llhls_next_line(text, len, &pos, &line, &n)) {
        EbLlhlsLine *l = &lines[nb++];
        l->s = line;
        l->n = n;
        l->seg = seg;
        if (n == 0) {
            l->kind = EB_L_DROP;
        } else if (line[0] != '#') {
            l->kind = EB_L_SEGMENT;
            started = 1;
            segs[++seg] = (EbLlhlsSeg){0};
        } else if (eb_llhls_tag(line, n, "#EXT-X-VERSION", &rest, &rn)) {
            l->kind = EB_L_VERSION;
        } else if (eb_llhls_tag(line, n, "#EXT-X-DISCONTINUITY-SEQUENCE", &rest, &rn)) {
            double v = eb_llhls_number(rest, rn);
            l->kind = EB_L_DSEQ;
            *dseq = v > 0 && v < 9007199254740992.0 ? (int64_t)v : 0;
        } else if (eb_llhls_tag(line, n, "#EXT-X-MEDIA-SEQUENCE", &rest, &rn)) {
            l->kind = EB_L_MSEQ;
        } else if (eb_llhls_tag(line, n, "#EXTINF", &rest, &rn)) {
            double v = eb_llhls_number(rest, rn);
            l->kind = EB_L_SEGMENT;
            segs[seg].dur_us = v > 0 && v < EB_LLHLS_SECONDS_MAX ? llround(v * 1e6) : 0;
            started = 1;
        } else if (eb_llhls_tag(line, n, "#EXT-X-DISCONTINUITY", &rest, &rn)) {
            l->kind = EB_L_SEGMENT;
            segs[seg].disc = 1;
            started = 1;
        } else if (eb_llhls_tag(line, n, "#EXT-X-PROGRAM-DATE-TIME", &rest, &rn)) {
            l->kind = EB_L_SEGMENT;
            segs[seg].has_pdt = eb_llhls_date_parse(rest, rn, &segs[seg].pdt_us) == 0;
            started = 1;
        } else if (eb_llhls_tag(line, n, "#EXT-X-KEY", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-MAP", &rest, &rn)) {
            l->kind = started ? EB_L_STICKY : EB_L_PLAYLIST;
        } else if (eb_llhls_tag(line, n, "#EXT-X-DATERANGE", &rest, &rn)) {
            l->kind = EB_L_DATERANGE;
        } else if (eb_llhls_tag(line, n, "#EXTM3U", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-TARGETDURATION", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-SERVER-CONTROL", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-PART-INF", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-INDEPENDENT-SEGMENTS", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-START", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-PLAYLIST-TYPE", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-DEFINE", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-ENDLIST", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-PRELOAD-HINT", &rest, &rn) ||
                   eb_llhls_tag(line, n, "#EXT-X-RENDITION-REPORT", &rest, &rn)) {
            l->kind = EB_L_PLAYLIST;
        } else {
            /* EXT-X-PART, BYTERANGE, GAP, BITRATE, unknown tags, comments:
             * the next segment's, once segments have begun. */
            l->kind = started ? EB_L_SEGMENT : EB_L_PLAYLIST;
        }
    }
    *nb_segs = seg;
    return nb;
}

int eb_llhls_delta(const char *text, size_t len, const EbLlhlsPlaylist *pl, EbLlhlsSkip skip,
                   char **out, size_t *out_len)
{
    EbLlhlsLine *lines = NULL;
    EbLlhlsSeg *segs = NULL;
    AVBPrint b;
    size_t nb_max = 1;
    int nb, nb_segs, skipped = 0, skip_done = 0, pdt_done = 0, dseq_line = 0, ret;
    int64_t dseq, total = 0, cum = 0, boundary, pdt = 0, first_pdt = 0;
    int has_pdt = 0, first_has_pdt = 0, need = skip == EB_LLHLS_SKIP_V2 ? 10 : 9;

    *out = NULL;
    *out_len = 0;
    if (skip == EB_LLHLS_SKIP_NO || pl->can_skip_until <= 0 || pl->delta || !text)
        return 0; /* a delta update is not skipped again */
    for (size_t i = 0; i < len; i++)
        nb_max += text[i] == '\n';
    lines = malloc(nb_max * sizeof(*lines));
    segs = calloc(nb_max + 1, sizeof(*segs));
    if (!lines || !segs) {
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    nb = eb_llhls_classify(text, len, lines, segs, &nb_segs, &dseq);
    for (int i = 0; i < nb_segs; i++)
        total += segs[i].dur_us;
    boundary = total - llround(pl->can_skip_until * 1e6);
    for (; skipped < nb_segs && cum + segs[skipped].dur_us <= boundary; skipped++) {
        cum += segs[skipped].dur_us;
        dseq += segs[skipped].disc;
    }
    ret = skipped;
    if (skipped == 0)
        goto end;
    /* The first listed segment's date: its own, or the last one before it
     * carried forward by the durations in between. */
    for (int i = 0; i <= skipped; i++) {
        if (segs[i].has_pdt) {
            pdt = segs[i].pdt_us;
            has_pdt = 1;
        }
        if (i == skipped) {
            first_pdt = pdt;
            first_has_pdt = has_pdt && !segs[i].has_pdt;
        }
        pdt += segs[i].dur_us;
    }
    for (int i = 0; i < nb; i++)
        dseq_line |= lines[i].kind == EB_L_DSEQ;

    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    for (int i = 0; i < nb; i++) {
        const EbLlhlsLine *l = &lines[i];
        int mine = l->kind == EB_L_SEGMENT || l->kind == EB_L_STICKY || l->kind == EB_L_DATERANGE;
        if (mine && l->seg < skipped)
            continue;
        if (mine && !skip_done) {
            av_bprintf(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%d%s\n", skipped,
                       skip == EB_LLHLS_SKIP_V2 ? ",RECENTLY-REMOVED-DATERANGES=\"\"" : "");
            /* What of the skipped segments applies beyond them. */
            for (int k = 0; k < i; k++)
                if (lines[k].seg < skipped &&
                    (lines[k].kind == EB_L_STICKY ||
                     (lines[k].kind == EB_L_DATERANGE && skip != EB_LLHLS_SKIP_V2)))
                    av_bprintf(&b, "%.*s\n", (int)lines[k].n, lines[k].s);
            skip_done = 1;
        }
        switch (l->kind) {
        case EB_L_DROP:
            break;
        case EB_L_VERSION:
            av_bprintf(&b, "#EXT-X-VERSION:%d\n", pl->version > need ? pl->version : need);
            break;
        case EB_L_DSEQ:
            av_bprintf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRId64 "\n", dseq);
            break;
        case EB_L_MSEQ:
            av_bprintf(&b, "%.*s\n", (int)l->n, l->s);
            if (!dseq_line && dseq > 0)
                av_bprintf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRId64 "\n", dseq);
            break;
        case EB_L_SEGMENT:
            if (!pdt_done && first_has_pdt) {
                /* Before the segment's first tag, after its DISCONTINUITY. */
                int disc = l->n == 20 && !memcmp(l->s, "#EXT-X-DISCONTINUITY", 20);
                if (disc)
                    av_bprintf(&b, "%.*s\n", (int)l->n, l->s);
                eb_llhls_date_print(&b, first_pdt);
                pdt_done = 1;
                if (disc)
                    break;
            }
            pdt_done = 1;
            av_bprintf(&b, "%.*s\n", (int)l->n, l->s);
            break;
        default:
            av_bprintf(&b, "%.*s\n", (int)l->n, l->s);
            break;
        }
    }
    if (!av_bprint_is_complete(&b)) {
        av_bprint_finalize(&b, NULL);
        ret = EB_ERR(ENOMEM);
        goto end;
    }
    *out_len = b.len;
    if (av_bprint_finalize(&b, out) < 0 || !*out) {
        *out_len = 0;
        ret = EB_ERR(ENOMEM);
    }
end:
    free(lines);
    free(segs);
    return ret;
}

/* ---- references ---------------------------------------------------------- */

static int eb_llhls_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int eb_llhls_resolve(const char *playlist_path, const char *uri, char *out, size_t size)
{
    char buf[2 * EB_LLHLS_URI_MAX + 2];
    size_t dir, un = strcspn(uri, "?#"), o = 0, n = 0;
    const char *slash = strrchr(playlist_path, '/');

    if (!un || uri[0] == '/' || memchr(uri, ':', un) || size == 0)
        return EB_ERR(EINVAL);
    dir = slash ? (size_t)(slash - playlist_path) + 1 : 0;
    if (dir + un >= sizeof(buf))
        return EB_ERR(ENAMETOOLONG);
    memcpy(buf, playlist_path, dir);
    for (size_t i = 0; i < un; i++) { /* %XX decoded; never into '/' or NUL */
        int hi, lo;
        if (uri[i] == '%' && i + 2 < un && (hi = eb_llhls_hex(uri[i + 1])) >= 0 &&
            (lo = eb_llhls_hex(uri[i + 2])) >= 0) {
            char c = (char)(hi * 16 + lo);
            if (c == '/' || c == '\0')
                return EB_ERR(EINVAL);
            buf[dir + n++] = c;
            i += 2;
        } else {
            buf[dir + n++] = uri[i];
        }
    }
    buf[dir + n] = '\0';
    /* "." and "..", component by component, into out. */
    for (char *p = buf; *p;) {
        size_t c = strcspn(p, "/");
        if ((c == 1 && p[0] == '.') || c == 0) {
            /* nothing */
        } else if (c == 2 && p[0] == '.' && p[1] == '.') {
            if (o == 0)
                return EB_ERR(EINVAL);
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the separator before the dropped component */
        } else {
            if (o + (o > 0) + c >= size)
                return EB_ERR(ENAMETOOLONG);
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, c);
            o += c;
        }
        p += c;
        if (*p == '/')
            p++;
    }
    if (o == 0)
        return EB_ERR(EINVAL);
    out[o] = '\0';
    return (int)o;
}
