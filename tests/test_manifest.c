/*
 * Tests of the HLS and DASH manifest writers (pipelines/eb_manifest*.c).
 * Presentations are built in code: a 4-rung ladder at 30000/1001 fps with
 * 6.006 s segments and a short last one, and 48 kHz AAC whose segments
 * snap to AAC frames (so they differ by one frame). Expected figures are
 * worked out here from the sizes, independently of the code under test.
 *
 * The MPD is checked with a small XML reader below (well-formedness:
 * balanced tags, quoted attributes, known entities, one root) rather than
 * libxml2, to keep the tests free of a dependency; when xmllint happens to
 * be installed it is asked too (and checks the namespace prefixes).
 *
 * Live windows reuse the ladder: segments 41..50 of a channel whose media
 * clock started at 0, all 6.006 s, dated from 2026-12-04T10:00:00Z.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <libavutil/bprint.h>
#include <libavutil/mem.h>

#include "eb_manifest.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

#define NB_RUNGS 4
#define NB_SEG 10
#define VTS 90000
#define ATS 48000
#define FULL_SEG 540540 /* 6.006 s at 90 kHz: 180 frames at 30000/1001 */
#define LAST_SEG 180180 /* 2.002 s */
#define VIDEO_TOTAL (9 * FULL_SEG + LAST_SEG)

typedef struct Fixture {
    EbSegmentInfo vseg[NB_RUNGS][NB_SEG];
    EbSegmentInfo aseg[NB_SEG];
    EbRendition video[NB_RUNGS];
    EbRendition audio;
    EbPresentation p;
} Fixture;

static const struct {
    const char *name;
    int w, h;
    int64_t rate;
    const char *codecs;
} rungs[NB_RUNGS] = {
    {"1080p", 1920, 1080, 5000000, "avc1.640028"},
    {"720p", 1280, 720, 2500000, "avc1.64001f"},
    {"480p", 854, 480, 1000000, "avc1.64001e"},
    {"360p", 640, 360, 600000, "avc1.64001e"},
};

/* Size of video segment i of a rung: the nominal rate give or take 10 %,
 * and a last segment that is mostly its IDR frame (60 % of a full
 * segment's bytes in a third of the time). */
static int64_t video_size(int64_t rate, int i)
{
    int64_t full = rate * 6006 / 8000; /* bytes of 6.006 s at rate */
    if (i == NB_SEG - 1)
        return full * 60 / 100;
    return full * (90 + (i * 7) % 21) / 100;
}

/* Audio segment boundaries: the video boundary snapped to the nearest AAC
 * frame (1024 samples), as a muxer cutting at frame edges makes them. */
static int64_t audio_boundary(int k)
{
    int64_t samples = (int64_t)k * FULL_SEG * ATS / VTS; /* 288288 per segment */
    if (k == NB_SEG)
        samples = (int64_t)VIDEO_TOTAL * ATS / VTS;
    return (samples + 512) / 1024 * 1024;
}

static void fixture_init(Fixture *f, EbOutputFormat format)
{
    memset(f, 0, sizeof(*f));
    for (int r = 0; r < NB_RUNGS; r++) {
        EbRendition *v = &f->video[r];
        snprintf(v->name, sizeof(v->name), "%s", rungs[r].name);
        v->width = rungs[r].w;
        v->height = rungs[r].h;
        v->frame_rate = (AVRational){30000, 1001};
        snprintf(v->codecs, sizeof(v->codecs), "%s%s", rungs[r].codecs,
                 format == EB_FORMAT_TS ? ",mp4a.40.2" : "");
        v->bitrate = rungs[r].rate;
        v->timescale = VTS;
        v->nb_segments = NB_SEG;
        v->segments = f->vseg[r];
        for (int i = 0; i < NB_SEG; i++) {
            f->vseg[r][i].start = (int64_t)i * FULL_SEG;
            f->vseg[r][i].duration = i == NB_SEG - 1 ? LAST_SEG : FULL_SEG;
            f->vseg[r][i].size = video_size(rungs[r].rate, i);
        }
    }
    snprintf(f->audio.name, sizeof(f->audio.name), "audio");
    f->audio.is_audio = 1;
    f->audio.sample_rate = ATS;
    f->audio.channels = 2;
    snprintf(f->audio.codecs, sizeof(f->audio.codecs), "mp4a.40.2");
    f->audio.bitrate = 128000;
    f->audio.timescale = ATS;
    f->audio.nb_segments = NB_SEG;
    f->audio.segments = f->aseg;
    for (int i = 0; i < NB_SEG; i++) {
        f->aseg[i].start = audio_boundary(i);
        f->aseg[i].duration = audio_boundary(i + 1) - audio_boundary(i);
        f->aseg[i].size = f->aseg[i].duration * 16000 / ATS + 200 * i; /* ~128 kb/s */
    }
    f->p.format = format;
    f->p.nb_video = NB_RUNGS;
    f->p.video = f->video;
    f->p.audio = format == EB_FORMAT_CMAF ? &f->audio : NULL;
    f->p.nb_audio = format == EB_FORMAT_CMAF;
    f->p.segment_seconds = 6.0;
}

/* ------------------------------------------------------------------ */
/* Reference figures, worked out the slow, obvious way                 */

/* EXTINF durations of a rendition as the playlist must state them. */
static double seg_seconds(const EbRendition *r, int i)
{
    return (double)r->segments[i].duration / r->timescale;
}

static int ref_target(const EbRendition *r)
{
    long t = 1;
    for (int i = 0; i < r->nb_segments; i++)
        if (lround(seg_seconds(r, i)) > t)
            t = lround(seg_seconds(r, i));
    return (int)t;
}

/* Peak per the HLS draft: every contiguous run whose duration is within
 * [0.5 T, 1.5 T + 0.5 s]. Brute force in doubles; may differ from the
 * integer code by 1 bit/s in the last place. */
static int64_t ref_peak(const EbRendition *r)
{
    double best = 0, t = ref_target(r);
    for (int i = 0; i < r->nb_segments; i++) {
        double dur = 0, bits = 0;
        for (int j = i; j < r->nb_segments; j++) {
            dur += seg_seconds(r, j);
            bits += 8.0 * r->segments[j].size;
            if (dur >= 0.5 * t && dur <= 1.5 * t + 0.5 && bits / dur > best)
                best = bits / dur;
        }
    }
    return (int64_t)ceil(best - 1e-6); /* 6150000.0000001 is 6150000 */
}

static int64_t ref_average(const EbRendition *r)
{
    double dur = 0, bits = 0;
    for (int i = 0; i < r->nb_segments; i++) {
        dur += seg_seconds(r, i);
        bits += 8.0 * r->segments[i].size;
    }
    return (int64_t)llround(bits / dur);
}

/* ------------------------------------------------------------------ */
/* Playlist reading                                                    */

/* Copies of the lines of a playlist (at most 256 of 512 bytes). */
typedef struct Lines {
    int n;
    char line[256][512];
} Lines;

static Lines *split_lines(const char *text)
{
    Lines *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len;
        assert_non_null(nl); /* every line ends with \n, the last one too */
        len = (size_t)(nl - text);
        assert_true(len < sizeof(l->line[0]));
        assert_true(l->n < 256);
        memcpy(l->line[l->n], text, len);
        l->line[l->n][len] = '\0';
        assert_null(strchr(l->line[l->n], '\r'));
        l->n++;
        text = nl + 1;
    }
    return l;
}

static int count_prefix(const Lines *l, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += !strncmp(l->line[i], prefix, strlen(prefix));
    return n;
}

static int find_prefix(const Lines *l, const char *prefix, int from)
{
    for (int i = from; i < l->n; i++)
        if (!strncmp(l->line[i], prefix, strlen(prefix)))
            return i;
    return -1;
}

/* Value of KEY in an HLS attribute list (quotes removed); 1 if found.
 * Quoted values may hold commas. */
static int attr_get(const char *list, const char *key, char *val, size_t size)
{
    const char *p = list;
    while (*p) {
        const char *eq = strchr(p, '='), *v, *end;
        size_t klen;
        if (!eq)
            return 0;
        klen = (size_t)(eq - p);
        v = eq + 1;
        if (*v == '"') {
            end = strchr(v + 1, '"');
            assert_non_null(end);
            end++;
        } else {
            end = v + strcspn(v, ",");
        }
        if (klen == strlen(key) && !strncmp(p, key, klen)) {
            size_t vlen = (size_t)(end - v);
            if (*v == '"') {
                v++;
                vlen -= 2;
            }
            assert_true(vlen < size);
            memcpy(val, v, vlen);
            val[vlen] = '\0';
            return 1;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int64_t attr_int(const char *list, const char *key)
{
    char v[64];
    assert_true(attr_get(list, key, v, sizeof(v)));
    return strtoll(v, NULL, 10);
}

/* ------------------------------------------------------------------ */
/* A small XML reader: enough to prove the MPD well-formed and to walk  */
/* its elements.                                                        */

#define X_MAX_ATTR 16

typedef struct XAttr {
    char name[48];
    char value[256]; /* entities decoded */
} XAttr;

typedef struct XNode {
    char name[48];
    int parent;
    int nattr;
    XAttr attr[X_MAX_ATTR];
    char text[256]; /* namespaced elements only (cenc:pssh), entities decoded */
} XNode;

typedef struct XDoc {
    XNode node[256];
    int n;
} XDoc;

static int x_name_char(char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':')
        return 1;
    return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static const char *x_name(const char *s, char *out, size_t size)
{
    size_t n = 0;
    if (!x_name_char(*s, 1))
        return NULL;
    while (x_name_char(s[n], n == 0)) {
        if (n + 1 >= size)
            return NULL;
        out[n] = s[n];
        n++;
    }
    out[n] = '\0';
    return s + n;
}

static const char *x_space(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

/* Decodes an attribute value up to its closing quote; NULL if malformed. */
static const char *x_value(const char *s, char quote, char *out, size_t size)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t n = 0;
    while (*s != quote) {
        char c = *s;
        if (!c || c == '<')
            return NULL;
        if (c == '&') {
            size_t k;
            for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
                if (!strncmp(s, ents[k].ent, strlen(ents[k].ent)))
                    break;
            if (k == sizeof(ents) / sizeof(ents[0]))
                return NULL; /* raw & or unknown entity */
            c = ents[k].c;
            s += strlen(ents[k].ent);
        } else {
            s++;
        }
        if (n + 1 >= size)
            return NULL;
        out[n++] = c;
    }
    out[n] = '\0';
    return s + 1;
}

/* 0 if well-formed: optional XML declaration, one root element, balanced
 * tags, quoted attributes without duplicates, only whitespace as text. */
static int x_parse(const char *s, XDoc *d)
{
    int stack[64], depth = 0, roots = 0;

    d->n = 0;
    if (!strncmp(s, "<?xml ", 6)) {
        s = strstr(s, "?>");
        if (!s)
            return -1;
        s += 2;
    }
    for (;;) {
        s = x_space(s);
        if (!*s)
            break;
        if (*s != '<') {
            /* Text only in a namespaced element (<cenc:pssh>, <dashif:Laurl>):
             * the MPD's own elements have none. */
            XNode *cur = depth ? &d->node[stack[depth - 1]] : NULL;
            if (!cur || !strchr(cur->name, ':') || cur->text[0])
                return -1;
            if (!(s = x_value(s, '<', cur->text, sizeof(cur->text))))
                return -1;
            s--; /* x_value stepped over the '<' of the end tag */
            continue;
        }
        if (s[1] == '/') {
            char name[48];
            if (!depth || !(s = x_name(s + 2, name, sizeof(name))))
                return -1;
            if (strcmp(name, d->node[stack[depth - 1]].name))
                return -1;
            s = x_space(s);
            if (*s++ != '>')
                return -1;
            depth--;
            continue;
        }
        XNode *nd;
        if (d->n >= 256 || depth >= 64 || (depth == 0 && roots++))
            return -1;
        nd = &d->node[d->n];
        memset(nd, 0, sizeof(*nd));
        nd->parent = depth ? stack[depth - 1] : -1;
        if (!(s = x_name(s + 1, nd->name, sizeof(nd->name))))
            return -1;
        for (;;) {
            const char *a = x_space(s);
            XAttr *at;
            if (*a == '/' && a[1] == '>') {
                s = a + 2;
                d->n++;
                break;
            }
            if (*a == '>') {
                s = a + 1;
                stack[depth++] = d->n++;
                break;
            }
            if (a == s || nd->nattr >= X_MAX_ATTR)
                return -1; /* attributes need whitespace before them */
            at = &nd->attr[nd->nattr];
            if (!(s = x_name(a, at->name, sizeof(at->name))))
                return -1;
            for (int k = 0; k < nd->nattr; k++)
                if (!strcmp(nd->attr[k].name, at->name))
                    return -1;
            s = x_space(s);
            if (*s++ != '=')
                return -1;
            s = x_space(s);
            if (*s != '"' && *s != '\'')
                return -1;
            if (!(s = x_value(s + 1, *s, at->value, sizeof(at->value))))
                return -1;
            nd->nattr++;
        }
    }
    return depth == 0 && roots == 1 ? 0 : -1;
}

static const char *x_attr(const XDoc *d, int node, const char *name)
{
    for (int k = 0; k < d->node[node].nattr; k++)
        if (!strcmp(d->node[node].attr[k].name, name))
            return d->node[node].attr[k].value;
    return NULL;
}

/* k-th child of parent named name, or -1. */
static int x_child(const XDoc *d, int parent, const char *name, int k)
{
    for (int i = 0; i < d->n; i++)
        if (d->node[i].parent == parent && !strcmp(d->node[i].name, name) && k-- == 0)
            return i;
    return -1;
}

static int x_count(const XDoc *d, int parent, const char *name)
{
    int n = 0;
    while (x_child(d, parent, name, n) >= 0)
        n++;
    return n;
}

static const char *x_attr_req(const XDoc *d, int node, const char *name)
{
    const char *v = x_attr(d, node, name);
    if (!v)
        fail_msg("<%s> has no %s", d->node[node].name, name);
    return v;
}

/* Expands a SegmentTemplate's SegmentTimeline and compares it with the
 * rendition's segments, start and duration each. */
static void check_timeline(const XDoc *d, int tmpl, const EbRendition *r)
{
    int tl = x_child(d, tmpl, "SegmentTimeline", 0), n = 0;
    int64_t t = 0;

    assert_true(tl >= 0);
    assert_int_equal(atoi(x_attr_req(d, tmpl, "timescale")), r->timescale);
    for (int k = 0, s; (s = x_child(d, tl, "S", k)) >= 0; k++) {
        const char *ta = x_attr(d, s, "t"), *ra = x_attr(d, s, "r");
        int64_t dur = strtoll(x_attr_req(d, s, "d"), NULL, 10);
        int rep = ra ? atoi(ra) : 0;
        if (k == 0)
            assert_non_null(ta); /* the first S must place the timeline */
        if (ta)
            t = strtoll(ta, NULL, 10);
        assert_true(rep >= 0);
        for (int j = 0; j <= rep; j++, n++) {
            assert_true(n < r->nb_segments);
            assert_int_equal(t, r->segments[n].start);
            assert_int_equal(dur, r->segments[n].duration);
            t += dur;
        }
    }
    assert_int_equal(n, r->nb_segments);
}

/* Asks xmllint too, where it is installed; the reader above always runs. */
static void xmllint_if_present(const char *xml)
{
    char dir[256], path[300], cmd[400];
    const char *tmp = getenv("EB_TEST_TMP");
    FILE *f;
    int fd;

    if (system("command -v xmllint >/dev/null 2>&1") != 0)
        return;
    snprintf(dir, sizeof(dir), "%s", tmp && *tmp ? tmp : "/tmp");
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        snprintf(dir, sizeof(dir), "/tmp");
    snprintf(path, sizeof(path), "%s/test_manifest_XXXXXX", dir);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(xml, 1, strlen(xml), f), strlen(xml));
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
    assert_int_equal(system(cmd), 0);
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char *run_master(const EbPresentation *p)
{
    AVBPrint b;
    char *s;
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_hls_master(p, &b), 0);
    assert_int_equal(av_bprint_finalize(&b, &s), 0);
    return s;
}

static char *run_media(const EbPresentation *p, const EbRendition *r)
{
    AVBPrint b;
    char *s;
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_hls_media(p, r, &b), 0);
    assert_int_equal(av_bprint_finalize(&b, &s), 0);
    return s;
}

static char *run_mpd(const EbPresentation *p)
{
    AVBPrint b;
    char *s;
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_dash_mpd(p, &b), 0);
    assert_int_equal(av_bprint_finalize(&b, &s), 0);
    return s;
}

static XDoc *parse_mpd(const char *mpd)
{
    XDoc *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    if (x_parse(mpd, d) < 0)
        fail_msg("MPD is not well-formed XML:\n%s", mpd);
    xmllint_if_present(mpd);
    return d;
}

/* Expected EXT-X-STREAM-INF CODECS and bandwidths of a rung. */
static void expect_variant(const Fixture *f, int rung, int64_t *peak, int64_t *avg)
{
    *peak = ref_peak(&f->video[rung]);
    *avg = ref_average(&f->video[rung]);
    if (f->p.format == EB_FORMAT_CMAF && f->p.audio) {
        *peak += ref_peak(&f->audio);
        *avg += ref_average(&f->audio);
    }
}

/* ------------------------------------------------------------------ */
/* Bit rates and durations                                             */

/* The peak ignores a short last segment on its own (its IDR frame over two
 * seconds would triple the rate) but counts it together with the segment
 * before, as the HLS draft's 0.5-1.5 x target duration runs do. */
static void test_bandwidth_follows_hls_peak_rule(void **state)
{
    Fixture f;
    int64_t peak, avg, full_max = 0, pair, lone, sum = 0;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);

    for (int r = 0; r < NB_RUNGS; r++) {
        const EbSegmentInfo *s = f.vseg[r];
        full_max = 0;
        sum = 0;
        /* By hand, in integers: a 6.006 s segment is 6006000 us. */
        for (int i = 0; i < NB_SEG - 1; i++) {
            int64_t rate = (s[i].size * 8 * 1000 + 6005) / 6006;
            if (rate > full_max)
                full_max = rate;
        }
        pair = ((s[8].size + s[9].size) * 8 * 1000 + 8007) / 8008; /* 8.008 s */
        lone = (s[9].size * 8 * 1000 + 2001) / 2002;               /* 2.002 s */
        for (int i = 0; i < NB_SEG; i++)
            sum += s[i].size;

        eb_rendition_bandwidth(&f.video[r], &peak, &avg);
        assert_int_equal(peak, full_max > pair ? full_max : pair);
        assert_true(peak < lone);
        assert_true(pair > full_max); /* the fixture makes the pair count */
        /* 56.056 s = 56056 ms, rounded to nearest. */
        assert_int_equal(avg, (sum * 8 * 1000 + 28028) / 56056);
        assert_in_range(peak, ref_peak(&f.video[r]) - 1, ref_peak(&f.video[r]) + 1);
        assert_in_range(avg, ref_average(&f.video[r]) - 1, ref_average(&f.video[r]) + 1);
    }
    eb_rendition_bandwidth(&f.audio, &peak, &avg);
    assert_in_range(peak, ref_peak(&f.audio) - 1, ref_peak(&f.audio) + 1);
    assert_in_range(avg, ref_average(&f.audio) - 1, ref_average(&f.audio) + 1);
}

static void test_bandwidth_guards_zero_durations(void **state)
{
    EbSegmentInfo seg[3] = {{0, 0, 1000}, {0, 0, 2000}, {0, 90000, 3000}};
    EbRendition r = {.timescale = 90000, .nb_segments = 2, .segments = seg};
    int64_t peak = -1, avg = -1;
    (void)state;

    /* Nothing but zero durations: no rate, and no division by zero. */
    eb_rendition_bandwidth(&r, &peak, &avg);
    assert_int_equal(peak, 0);
    assert_int_equal(avg, 0);
    assert_true(eb_rendition_duration(&r) == 0.0);

    /* A zero-length segment's bytes still count towards the rate. */
    r.nb_segments = 3;
    eb_rendition_bandwidth(&r, &peak, &avg);
    assert_int_equal(avg, 6000 * 8);
    assert_int_equal(peak, 6000 * 8);

    /* No timescale or no segments: zeros, not a crash. */
    r.timescale = 0;
    eb_rendition_bandwidth(&r, &peak, &avg);
    assert_int_equal(peak, 0);
    assert_true(eb_rendition_duration(&r) == 0.0);
    r.timescale = 90000;
    r.nb_segments = 0;
    eb_rendition_bandwidth(&r, &peak, NULL);
    assert_int_equal(peak, 0);
    eb_rendition_bandwidth(NULL, &peak, &avg);
    assert_int_equal(avg, 0);
}

static void test_duration_is_sum_of_segments(void **state)
{
    Fixture f;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    assert_true(fabs(eb_rendition_duration(&f.video[0]) - 56.056) < 1e-9);
    assert_true(fabs(eb_rendition_duration(&f.audio) - audio_boundary(NB_SEG) / 48000.0) < 1e-9);
}

/* ------------------------------------------------------------------ */
/* HLS master                                                          */

static void test_master_cmaf_variants_carry_all_attributes(void **state)
{
    Fixture f;
    char *m;
    Lines *l;
    int at = 0;
    char v[128];
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    m = run_master(&f.p);
    l = split_lines(m);

    assert_string_equal(l->line[0], "#EXTM3U");
    assert_int_equal(count_prefix(l, "#EXT-X-VERSION:7"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-INDEPENDENT-SEGMENTS"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-STREAM-INF:"), NB_RUNGS);

    /* One audio rendition, in the group every variant names. */
    assert_int_equal(count_prefix(l, "#EXT-X-MEDIA:"), 1);
    {
        const char *media = l->line[find_prefix(l, "#EXT-X-MEDIA:", 0)] + strlen("#EXT-X-MEDIA:");
        assert_true(attr_get(media, "TYPE", v, sizeof(v)));
        assert_string_equal(v, "AUDIO");
        assert_true(attr_get(media, "GROUP-ID", v, sizeof(v)));
        assert_string_equal(v, "aud");
        assert_true(attr_get(media, "NAME", v, sizeof(v)));
        assert_true(attr_get(media, "DEFAULT", v, sizeof(v)));
        assert_string_equal(v, "YES");
        assert_true(attr_get(media, "AUTOSELECT", v, sizeof(v)));
        assert_string_equal(v, "YES");
        assert_true(attr_get(media, "CHANNELS", v, sizeof(v)));
        assert_string_equal(v, "2");
        assert_true(attr_get(media, "URI", v, sizeof(v)));
        assert_string_equal(v, "audio/index.m3u8");
    }

    /* Tallest first; each variant's figures include the audio's. */
    for (int r = 0; r < NB_RUNGS; r++) {
        int64_t peak, avg;
        const char *inf;
        char want[64];
        at = find_prefix(l, "#EXT-X-STREAM-INF:", at);
        assert_true(at >= 0 && at + 1 < l->n);
        inf = l->line[at] + strlen("#EXT-X-STREAM-INF:");
        expect_variant(&f, r, &peak, &avg);
        assert_in_range(attr_int(inf, "BANDWIDTH"), peak - 2, peak + 2);
        assert_in_range(attr_int(inf, "AVERAGE-BANDWIDTH"), avg - 2, avg + 2);
        assert_true(attr_int(inf, "BANDWIDTH") > attr_int(inf, "AVERAGE-BANDWIDTH"));
        assert_true(attr_get(inf, "RESOLUTION", v, sizeof(v)));
        snprintf(want, sizeof(want), "%dx%d", rungs[r].w, rungs[r].h);
        assert_string_equal(v, want);
        assert_true(attr_get(inf, "CODECS", v, sizeof(v)));
        snprintf(want, sizeof(want), "%s,mp4a.40.2", rungs[r].codecs);
        assert_string_equal(v, want);
        assert_true(attr_get(inf, "FRAME-RATE", v, sizeof(v)));
        assert_string_equal(v, "29.970");
        assert_true(attr_get(inf, "AUDIO", v, sizeof(v)));
        assert_string_equal(v, "aud");
        snprintf(want, sizeof(want), "%s/index.m3u8", rungs[r].name);
        assert_string_equal(l->line[at + 1], want);
        at++;
    }
    /* The 1080p figure by hand: its video peak is the 8.008 s run of the
     * last two segments, plus the audio's peak. */
    {
        int64_t pair = ((f.vseg[0][8].size + f.vseg[0][9].size) * 8 * 1000 + 8007) / 8008;
        const char *inf = l->line[find_prefix(l, "#EXT-X-STREAM-INF:", 0)] + 18;
        assert_in_range(attr_int(inf, "BANDWIDTH") - pair, ref_peak(&f.audio) - 2,
                        ref_peak(&f.audio) + 2);
    }
    free(l);
    av_free(m);
}

static void test_master_ts_has_no_audio_group(void **state)
{
    Fixture f;
    char *m;
    Lines *l;
    char v[128];
    (void)state;
    fixture_init(&f, EB_FORMAT_TS);
    f.p.audio = &f.audio; /* even if given, TS audio is muxed in, not a rendition */
    f.p.nb_audio = 1;
    m = run_master(&f.p);
    l = split_lines(m);

    assert_int_equal(count_prefix(l, "#EXT-X-MEDIA:"), 0);
    assert_null(strstr(m, "AUDIO="));
    assert_int_equal(count_prefix(l, "#EXT-X-VERSION:3"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-STREAM-INF:"), NB_RUNGS);
    for (int r = 0, at = 0; r < NB_RUNGS; r++, at++) {
        const char *inf;
        char want[64];
        at = find_prefix(l, "#EXT-X-STREAM-INF:", at);
        inf = l->line[at] + strlen("#EXT-X-STREAM-INF:");
        /* TS segments hold the audio: their own sizes are the whole rate. */
        assert_in_range(attr_int(inf, "BANDWIDTH"), ref_peak(&f.video[r]) - 1,
                        ref_peak(&f.video[r]) + 1);
        assert_in_range(attr_int(inf, "AVERAGE-BANDWIDTH"), ref_average(&f.video[r]) - 1,
                        ref_average(&f.video[r]) + 1);
        assert_true(attr_get(inf, "CODECS", v, sizeof(v)));
        snprintf(want, sizeof(want), "%s,mp4a.40.2", rungs[r].codecs);
        assert_string_equal(v, want);
        assert_true(attr_get(inf, "FRAME-RATE", v, sizeof(v)));
        assert_true(attr_get(inf, "RESOLUTION", v, sizeof(v)));
        snprintf(want, sizeof(want), "%s/index.m3u8", rungs[r].name);
        assert_string_equal(l->line[at + 1], want);
    }
    free(l);
    av_free(m);
}

/* Given out of order, variants still come out tallest first, and a whole
 * frame rate prints with three decimals. */
static void test_master_orders_tallest_first(void **state)
{
    Fixture f;
    EbRendition shuffled[NB_RUNGS];
    char *m;
    Lines *l;
    char v[64];
    static const int order[NB_RUNGS] = {2, 0, 3, 1};
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    for (int i = 0; i < NB_RUNGS; i++) {
        shuffled[i] = f.video[order[i]];
        shuffled[i].frame_rate = (AVRational){30, 1};
    }
    f.p.video = shuffled;
    m = run_master(&f.p);
    l = split_lines(m);
    for (int r = 0, at = 0; r < NB_RUNGS; r++, at++) {
        at = find_prefix(l, "#EXT-X-STREAM-INF:", at);
        assert_true(attr_get(l->line[at], "RESOLUTION", v, sizeof(v)));
        assert_int_equal(atoi(strchr(v, 'x') + 1), rungs[r].h);
        assert_true(attr_get(l->line[at], "FRAME-RATE", v, sizeof(v)));
        assert_string_equal(v, "30.000");
    }
    free(l);
    av_free(m);
}

/* ------------------------------------------------------------------ */
/* HLS media playlists                                                 */

/* Checks the parts every VOD media playlist needs and returns the EXTINF
 * sum; segment URIs are "<prefix>segment_NNN<ext>". */
static double check_media(const char *text, const EbRendition *r, const char *prefix,
                          const char *ext, int version)
{
    Lines *l = split_lines(text);
    char want[128];
    int seg = 0, longest_rounded = 0;
    double sum = 0;
    int target;

    assert_string_equal(l->line[0], "#EXTM3U");
    snprintf(want, sizeof(want), "#EXT-X-VERSION:%d", version);
    assert_int_equal(count_prefix(l, want), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-PLAYLIST-TYPE:VOD"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-MEDIA-SEQUENCE:1"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-INDEPENDENT-SEGMENTS"), 1);
    assert_string_equal(l->line[l->n - 1], "#EXT-X-ENDLIST");
    assert_int_equal(count_prefix(l, "#EXT-X-ENDLIST"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-TARGETDURATION:"), 1);
    target = atoi(l->line[find_prefix(l, "#EXT-X-TARGETDURATION:", 0)] + 22);

    for (int i = 0; i < l->n; i++) {
        const char *d, *dot;
        double dur;
        if (strncmp(l->line[i], "#EXTINF:", 8))
            continue;
        d = l->line[i] + 8;
        dot = strchr(d, '.');
        assert_non_null(dot);
        assert_int_equal(strcspn(dot + 1, ","), 6); /* six decimals */
        dur = strtod(d, NULL);
        assert_true(fabs(dur - seg_seconds(r, seg)) <= 0.0000015);
        /* RFC 8216 4.3.3.1: rounded EXTINF <= target */
        assert_true(lround(dur) <= target);
        if (lround(dur) > longest_rounded)
            longest_rounded = (int)lround(dur);
        sum += dur;
        seg++;
        snprintf(want, sizeof(want), "%ssegment_%03d%s", prefix, seg, ext);
        assert_string_equal(l->line[i + 1], want);
    }
    assert_int_equal(seg, r->nb_segments);
    /* ... and the smallest such target: no slack a player would wait on. */
    assert_int_equal(target, longest_rounded < 1 ? 1 : longest_rounded);
    free(l);
    return sum;
}

static void test_media_cmaf_uses_map_and_shared_segments(void **state)
{
    Fixture f;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    for (int r = 0; r < NB_RUNGS; r++) {
        char *m = run_media(&f.p, &f.video[r]);
        char want[128];
        double sum;
        snprintf(want, sizeof(want), "\n#EXT-X-MAP:URI=\"../../cmaf/%s/init.mp4\"\n",
                 rungs[r].name);
        assert_non_null(strstr(m, want));
        snprintf(want, sizeof(want), "../../cmaf/%s/", rungs[r].name);
        sum = check_media(m, &f.video[r], want, ".m4s", 7);
        assert_true(fabs(sum - 56.056) < 0.001);
        /* 6.006 s rounds to 6: the target is 6, not ceil's 7. */
        assert_non_null(strstr(m, "\n#EXT-X-TARGETDURATION:6\n"));
        av_free(m);
    }
    {
        char *m = run_media(&f.p, &f.audio);
        double sum;
        assert_non_null(strstr(m, "\n#EXT-X-MAP:URI=\"../../cmaf/audio/init.mp4\"\n"));
        sum = check_media(m, &f.audio, "../../cmaf/audio/", ".m4s", 7);
        assert_true(fabs(sum - audio_boundary(NB_SEG) / 48000.0) < 0.001);
        av_free(m);
    }
}

static void test_media_ts_segments_beside_playlist(void **state)
{
    Fixture f;
    char *m;
    (void)state;
    fixture_init(&f, EB_FORMAT_TS);
    m = run_media(&f.p, &f.video[1]);
    assert_null(strstr(m, "EXT-X-MAP"));
    assert_null(strstr(m, "cmaf"));
    check_media(m, &f.video[1], "", ".ts", 3);
    av_free(m);

    /* No audio playlist in TS: audio is muxed into every variant. */
    AVBPrint b;
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_hls_media(&f.p, &f.audio, &b), -EINVAL);
    av_bprint_finalize(&b, NULL);
}

/* The target is the largest EXTINF rounded to nearest, the EXTINF as
 * printed: 6.5 s gives 7, 6.4999996 s prints 6.500000 and gives 7 too,
 * 6.4999 s gives 6. */
static void test_target_duration_rounds_printed_extinf(void **state)
{
    static const struct {
        int timescale;
        int64_t longest;
        int target;
    } cases[] = {
        {90000, 540540, 6},      /* 6.006 */
        {1000, 6500, 7},         /* 6.5 */
        {10000000, 64999996, 7}, /* 6.4999996 -> "6.500000" */
        {10000, 64999, 6},       /* 6.4999 */
        {90000, 9000, 1},        /* 0.1: at least 1 */
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        Fixture f;
        char *m, want[64];
        fixture_init(&f, EB_FORMAT_CMAF);
        f.video[0].timescale = cases[c].timescale;
        for (int i = 0; i < NB_SEG; i++) {
            f.vseg[0][i].start = i * cases[c].longest;
            f.vseg[0][i].duration = i == 3 ? cases[c].longest : cases[c].longest / 2;
        }
        m = run_media(&f.p, &f.video[0]);
        snprintf(want, sizeof(want), "\n#EXT-X-TARGETDURATION:%d\n", cases[c].target);
        if (!strstr(m, want))
            fail_msg("case %zu: want %s in\n%s", c, want + 1, m);
        av_free(m);
    }
}

/* Thousands of 1/3 s segments: each EXTINF is rounded, yet they sum to
 * the total to the microsecond (rounding each on its own would drift by
 * milliseconds). */
static void test_extinf_sum_does_not_drift(void **state)
{
    enum { N = 3000 };
    Fixture f;
    EbSegmentInfo *seg = calloc(N, sizeof(*seg));
    char *m;
    const char *p;
    double sum = 0;
    int n = 0;
    (void)state;
    assert_non_null(seg);
    fixture_init(&f, EB_FORMAT_CMAF);
    for (int i = 0; i < N; i++)
        seg[i] = (EbSegmentInfo){i * 30030, 30030, 1000}; /* 0.333667 s */
    f.video[0].segments = seg;
    f.video[0].nb_segments = N;
    m = run_media(&f.p, &f.video[0]);
    for (p = strstr(m, "#EXTINF:"); p; p = strstr(p + 1, "#EXTINF:")) {
        sum += strtod(p + 8, NULL);
        n++;
    }
    assert_int_equal(n, N);
    assert_true(fabs(sum - N * 30030 / 90000.0) < 0.000002);
    assert_true(fabs(sum - eb_rendition_duration(&f.video[0])) < 0.001);
    av_free(m);
    free(seg);
}

/* ------------------------------------------------------------------ */
/* DASH                                                                */

static void test_mpd_structure_and_attributes(void **state)
{
    Fixture f;
    char *mpd;
    XDoc *d;
    int root, period, vas, aas, tmpl, rep;
    char want[64];
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    mpd = run_mpd(&f.p);
    d = parse_mpd(mpd);

    root = 0;
    assert_string_equal(d->node[root].name, "MPD");
    assert_string_equal(x_attr_req(d, root, "xmlns"), "urn:mpeg:dash:schema:mpd:2011");
    assert_string_equal(x_attr_req(d, root, "type"), "static");
    assert_non_null(
        strstr(x_attr_req(d, root, "profiles"), "urn:mpeg:dash:profile:isoff-live:2011"));
    /* Audio ends last: 2628 AAC frames = 56.064 s. */
    assert_string_equal(x_attr_req(d, root, "mediaPresentationDuration"), "PT56.064S");
    assert_non_null(x_attr_req(d, root, "minBufferTime"));
    assert_int_equal(x_count(d, root, "Period"), 1);
    period = x_child(d, root, "Period", 0);
    assert_int_equal(x_count(d, period, "AdaptationSet"), 2);

    vas = x_child(d, period, "AdaptationSet", 0);
    assert_string_equal(x_attr_req(d, vas, "mimeType"), "video/mp4");
    assert_string_equal(x_attr_req(d, vas, "segmentAlignment"), "true");
    assert_string_equal(x_attr_req(d, vas, "startWithSAP"), "1");
    assert_string_equal(x_attr_req(d, vas, "maxWidth"), "1920");
    assert_string_equal(x_attr_req(d, vas, "maxHeight"), "1080");
    assert_string_equal(x_attr_req(d, vas, "frameRate"), "30000/1001");

    /* Same timescale and cuts on every rung: one template, on the set. */
    assert_int_equal(x_count(d, vas, "SegmentTemplate"), 1);
    tmpl = x_child(d, vas, "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "initialization"),
                        "../cmaf/$RepresentationID$/init.mp4");
    assert_string_equal(x_attr_req(d, tmpl, "media"),
                        "../cmaf/$RepresentationID$/segment_$Number%03d$.m4s");
    assert_string_equal(x_attr_req(d, tmpl, "startNumber"), "1");
    assert_null(x_attr(d, tmpl, "presentationTimeOffset"));
    check_timeline(d, tmpl, &f.video[0]);
    /* 9 equal segments collapse into one S with r="8". */
    assert_int_equal(x_count(d, x_child(d, tmpl, "SegmentTimeline", 0), "S"), 2);

    assert_int_equal(x_count(d, vas, "Representation"), NB_RUNGS);
    for (int r = 0; r < NB_RUNGS; r++) {
        rep = x_child(d, vas, "Representation", r);
        assert_string_equal(x_attr_req(d, rep, "id"), rungs[r].name);
        /* The video alone: DASH lists audio on its own. */
        assert_in_range(strtoll(x_attr_req(d, rep, "bandwidth"), NULL, 10),
                        ref_peak(&f.video[r]) - 1, ref_peak(&f.video[r]) + 1);
        snprintf(want, sizeof(want), "%d", rungs[r].w);
        assert_string_equal(x_attr_req(d, rep, "width"), want);
        snprintf(want, sizeof(want), "%d", rungs[r].h);
        assert_string_equal(x_attr_req(d, rep, "height"), want);
        assert_string_equal(x_attr_req(d, rep, "codecs"), rungs[r].codecs);
        assert_string_equal(x_attr_req(d, rep, "frameRate"), "30000/1001");
        assert_string_equal(x_attr_req(d, rep, "sar"), "1:1");
        assert_int_equal(x_count(d, rep, "SegmentTemplate"), 0);
    }

    aas = x_child(d, period, "AdaptationSet", 1);
    assert_string_equal(x_attr_req(d, aas, "mimeType"), "audio/mp4");
    assert_string_equal(x_attr_req(d, aas, "lang"), "und");
    assert_int_equal(x_count(d, aas, "Representation"), 1);
    rep = x_child(d, aas, "Representation", 0);
    assert_string_equal(x_attr_req(d, rep, "id"), "audio");
    assert_string_equal(x_attr_req(d, rep, "codecs"), "mp4a.40.2");
    assert_string_equal(x_attr_req(d, rep, "audioSamplingRate"), "48000");
    assert_in_range(strtoll(x_attr_req(d, rep, "bandwidth"), NULL, 10), ref_peak(&f.audio) - 1,
                    ref_peak(&f.audio) + 1);
    {
        int acc = x_child(d, rep, "AudioChannelConfiguration", 0);
        assert_true(acc >= 0);
        assert_string_equal(x_attr_req(d, acc, "schemeIdUri"),
                            "urn:mpeg:dash:23003:3:audio_channel_configuration:2011");
        assert_string_equal(x_attr_req(d, acc, "value"), "2");
    }
    tmpl = x_child(d, aas, "SegmentTemplate", 0);
    assert_true(tmpl >= 0);
    check_timeline(d, tmpl, &f.audio);
    free(d);
    av_free(mpd);
}

/* A rung with another timescale cannot share the set's timeline: every
 * Representation gets its own template, and each expands to its own list. */
static void test_mpd_falls_back_to_per_representation_templates(void **state)
{
    Fixture f;
    char *mpd;
    XDoc *d;
    int vas;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    f.video[2].timescale = 30000;
    for (int i = 0; i < NB_SEG; i++) {
        f.vseg[2][i].start /= 3;
        f.vseg[2][i].duration /= 3;
    }
    mpd = run_mpd(&f.p);
    d = parse_mpd(mpd);
    vas = x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 0);
    assert_int_equal(x_count(d, vas, "SegmentTemplate"), 0);
    for (int r = 0; r < NB_RUNGS; r++) {
        int rep = x_child(d, vas, "Representation", r);
        int tmpl = x_child(d, rep, "SegmentTemplate", 0);
        char want[96];
        assert_true(tmpl >= 0);
        snprintf(want, sizeof(want), "../cmaf/%s/segment_$Number%%03d$.m4s", rungs[r].name);
        assert_string_equal(x_attr_req(d, tmpl, "media"), want);
        check_timeline(d, tmpl, &f.video[r]);
    }
    free(d);
    av_free(mpd);
}

/* Segment lists with a gap and durations that vary by a frame still expand
 * to exactly the list; a late start becomes the presentation's origin. */
static void test_mpd_timeline_gaps_and_offsets(void **state)
{
    static const int64_t durs[NB_SEG] = {540540, 540540, 543543, 537537, 540540,
                                         540540, 540540, 540540, 540540, 3003};
    Fixture f;
    char *mpd;
    XDoc *d;
    int vas, tmpl;
    int64_t t = 9009; /* video starts 0.1001 s in */
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    for (int r = 0; r < NB_RUNGS; r++) {
        t = 9009;
        for (int i = 0; i < NB_SEG; i++) {
            if (i == 6)
                t += 3003; /* one missing frame */
            f.vseg[r][i].start = t;
            f.vseg[r][i].duration = durs[i];
            t += durs[i];
        }
    }
    for (int i = 0; i < NB_SEG; i++)
        f.aseg[i].start += 4800; /* audio 0.1 s in: 1 ms before the video */
    mpd = run_mpd(&f.p);
    d = parse_mpd(mpd);
    vas = x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 0);
    tmpl = x_child(d, vas, "SegmentTemplate", 0);
    assert_true(tmpl >= 0);
    check_timeline(d, tmpl, &f.video[0]);
    /* The earliest start (audio, 0.1 s) is the Period's zero. */
    assert_string_equal(x_attr_req(d, tmpl, "presentationTimeOffset"), "9000");
    tmpl = x_child(d, x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 1), "SegmentTemplate",
                   0);
    assert_string_equal(x_attr_req(d, tmpl, "presentationTimeOffset"), "4800");
    check_timeline(d, tmpl, &f.audio);
    /* Longest end: audio 56.064 + 0.1 s, less the 0.1 s origin. */
    assert_string_equal(x_attr_req(d, 0, "mediaPresentationDuration"), "PT56.064S");
    free(d);
    av_free(mpd);
}

static void test_mpd_duration_format(void **state)
{
    Fixture f;
    EbSegmentInfo *seg = calloc(621, sizeof(*seg));
    char *mpd;
    XDoc *d;
    (void)state;
    assert_non_null(seg);
    fixture_init(&f, EB_FORMAT_CMAF);
    f.p.nb_video = 1;
    f.p.audio = NULL;
    f.p.nb_audio = 0;
    for (int i = 0; i < 621; i++)
        seg[i] = (EbSegmentInfo){i * 540000LL, 540000, 1000}; /* 621 x 6 s */
    seg[620].duration = 540000 - 45000;                       /* 0.5 s short */
    f.video[0].segments = seg;
    f.video[0].nb_segments = 621;
    mpd = run_mpd(&f.p);
    d = parse_mpd(mpd);
    /* 3725.5 s */
    assert_string_equal(x_attr_req(d, 0, "mediaPresentationDuration"), "PT1H2M5.500S");
    assert_int_equal(x_count(d, x_child(d, 0, "Period", 0), "AdaptationSet"), 1);
    free(d);
    av_free(mpd);
    free(seg);
}

static void test_mpd_rejects_ts(void **state)
{
    Fixture f;
    AVBPrint b;
    (void)state;
    fixture_init(&f, EB_FORMAT_TS);
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);
    assert_int_equal(b.len, 0);
    av_bprint_finalize(&b, NULL);
}

/* Names with XML and URI specials: escaped in attributes, percent-encoded
 * in paths, '$' doubled in templates, and the per-Representation template
 * is used since $RepresentationID$ would insert them raw. */
static void test_odd_names_are_escaped(void **state)
{
    Fixture f;
    char *mpd, *m;
    XDoc *d;
    int vas, rep, tmpl;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    snprintf(f.video[1].name, sizeof(f.video[1].name), "a&b'<c>$:");
    mpd = run_mpd(&f.p);
    assert_non_null(strstr(mpd, "id=\"a&amp;b&apos;&lt;c&gt;$:\""));
    d = parse_mpd(mpd);
    vas = x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 0);
    assert_int_equal(x_count(d, vas, "SegmentTemplate"), 0);
    rep = x_child(d, vas, "Representation", 1);
    assert_string_equal(x_attr_req(d, rep, "id"), "a&b'<c>$:");
    tmpl = x_child(d, rep, "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "initialization"), "../cmaf/a&b'%3Cc%3E$$%3A/init.mp4");
    assert_string_equal(x_attr_req(d, tmpl, "media"),
                        "../cmaf/a&b'%3Cc%3E$$%3A/segment_$Number%03d$.m4s");
    check_timeline(d, tmpl, &f.video[1]);
    free(d);
    av_free(mpd);

    m = run_master(&f.p);
    assert_non_null(strstr(m, "\na&b'%3Cc%3E$%3A/index.m3u8\n"));
    av_free(m);
    m = run_media(&f.p, &f.video[1]);
    assert_non_null(strstr(m, "#EXT-X-MAP:URI=\"../../cmaf/a&b'%3Cc%3E$%3A/init.mp4\""));
    av_free(m);
}

/* ------------------------------------------------------------------ */
/* Thumbnails: the references VOD manifests print                      */

static const EbThumbnailTrack test_thumbs = {
    .nb_sheets = 3,
    .nb_tiles = 12,
    .tile_width = 160,
    .tile_height = 90,
    .cols = 2,
    .rows = 2,
    .interval = 5.0,
    .duration = 56.056,
    .max_sheet_bytes = 20000,
};

/* The master, the image playlist and the MPD reach the sprite sheets at
 * the paths players already fetch. */
static void test_vod_thumbnail_references(void **state)
{
    Fixture f;
    AVBPrint b;
    char *m, want[96];
    Lines *l;
    XDoc *d;
    int set, tmpl;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    f.p.thumbnails = &test_thumbs;

    m = run_master(&f.p);
    l = split_lines(m);
    /* 20000 bytes over the 20 s a sheet covers: 8000 bit/s */
    assert_string_equal(l->line[l->n - 1],
                        "#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=8000,RESOLUTION=160x90,"
                        "CODECS=\"jpeg\",URI=\"thumbnails/index.m3u8\"");
    free(l);
    av_free(m);

    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_hls_images(&f.p, &b), 0);
    l = split_lines(b.str);
    assert_int_equal(count_prefix(l, "../../thumbnails/sprite_"), 3);
    for (int i = 1; i <= 3; i++) {
        snprintf(want, sizeof(want), "../../thumbnails/sprite_%03d.jpg", i);
        assert_true(find_prefix(l, want, 0) >= 0);
    }
    assert_string_equal(l->line[l->n - 1], "#EXT-X-ENDLIST");
    free(l);
    av_bprint_finalize(&b, NULL);

    m = run_mpd(&f.p);
    d = parse_mpd(m);
    set = x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 2);
    assert_string_equal(x_attr_req(d, set, "contentType"), "image");
    tmpl = x_child(d, set, "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "media"), "../thumbnails/sprite_$Number%03d$.jpg");
    assert_string_equal(x_attr_req(d, tmpl, "startNumber"), "1");
    /* A clear presentation declares no protection namespace. */
    assert_null(strstr(m, "xmlns:cenc"));
    assert_int_equal(
        x_count(d, x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 0), "ContentProtection"),
        0);
    free(d);
    av_free(m);
}

/* ------------------------------------------------------------------ */
/* Live windows                                                        */

#define LIVE_FIRST 41
#define LIVE_WALLCLOCK INT64_C(1796378400000000) /* 2026-12-04T10:00:00Z */

static int64_t live_audio_boundary(int k)
{
    return ((int64_t)k * FULL_SEG * ATS / VTS + 512) / 1024 * 1024;
}

/* Segments 41..50 of a channel whose media clock started at 0 (segment 41
 * starts at 40 x 6.006 s), dated from LIVE_WALLCLOCK at media time 0. */
static void live_init(Fixture *f, EbOutputFormat format)
{
    fixture_init(f, format);
    for (int r = 0; r < NB_RUNGS; r++)
        for (int i = 0; i < NB_SEG; i++) {
            f->vseg[r][i].start = (int64_t)(LIVE_FIRST - 1 + i) * FULL_SEG;
            f->vseg[r][i].duration = FULL_SEG;
        }
    for (int i = 0; i < NB_SEG; i++) {
        f->aseg[i].start = live_audio_boundary(LIVE_FIRST - 1 + i);
        f->aseg[i].duration = live_audio_boundary(LIVE_FIRST + i) - f->aseg[i].start;
    }
    f->p.type = EB_PRESENTATION_LIVE;
    f->p.first_sequence = LIVE_FIRST;
    f->p.wallclock_us = LIVE_WALLCLOCK;
}

static int find_line(const Lines *l, const char *line, int from)
{
    for (int i = from; i < l->n; i++)
        if (!strcmp(l->line[i], line))
            return i;
    return -1;
}

static int count_line(const Lines *l, const char *line)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += !strcmp(l->line[i], line);
    return n;
}

/* The window's playlist, whole: media sequence 41, file numbers 041..050,
 * neither PLAYLIST-TYPE nor ENDLIST while the channel runs. */
static void test_live_hls_window_follows_sequence(void **state)
{
    Fixture f;
    AVBPrint want;
    char *m, line[64];
    Lines *l;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    f.p.wallclock_us = 0; /* no dates here: see test_hls_program_date_time */
    av_bprint_init(&want, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&want, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n"
                      "#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                      "#EXT-X-MAP:URI=\"../../cmaf/720p/init.mp4\"\n");
    for (int n = 41; n <= 50; n++)
        av_bprintf(&want, "#EXTINF:6.006000,\n../../cmaf/720p/segment_%03d.m4s\n", n);
    m = run_media(&f.p, &f.video[1]);
    assert_string_equal(m, want.str);
    av_free(m);
    av_bprint_finalize(&want, NULL);

    /* Audio follows the same numbers. */
    m = run_media(&f.p, &f.audio);
    l = split_lines(m);
    assert_int_equal(count_line(l, "#EXT-X-MEDIA-SEQUENCE:41"), 1);
    for (int n = 41; n <= 50; n++) {
        snprintf(line, sizeof(line), "../../cmaf/audio/segment_%03d.m4s", n);
        assert_int_equal(count_line(l, line), 1);
    }
    assert_int_equal(count_prefix(l, "#EXT-X-ENDLIST"), 0);
    free(l);
    av_free(m);

    /* TS: the segments beside the playlist, numbered the same. */
    live_init(&f, EB_FORMAT_TS);
    m = run_media(&f.p, &f.video[0]);
    l = split_lines(m);
    assert_string_equal(l->line[1], "#EXT-X-VERSION:3");
    assert_string_equal(l->line[3], "#EXT-X-MEDIA-SEQUENCE:41");
    assert_int_equal(count_prefix(l, "#EXT-X-PLAYLIST-TYPE"), 0);
    assert_int_equal(count_prefix(l, "#EXT-X-ENDLIST"), 0);
    assert_int_equal(count_prefix(l, "segment_"), NB_SEG);
    assert_string_equal(l->line[find_prefix(l, "segment_", 0)], "segment_041.ts");
    assert_string_equal(l->line[l->n - 1], "segment_050.ts");
    free(l);
    av_free(m);
}

/* LL-HLS (RFC 8216bis): a live window with parts. 720p has the parts of
 * its last two listed segments (49, 50; 18 each at 0.3337 s) and three of
 * segment 51 it is writing; 360p has finished 51 before the others (all
 * its parts, not listed yet); audio has one part of 51. */
static void test_live_hls_low_latency(void **state)
{
    Fixture f;
    EbPartInfo vparts[40], sparts[40], aparts[1];
    int nv = 0, ns = 0;
    char *m;
    Lines *l;
    int i, k;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    for (int seq = 49; seq <= 51; seq++)
        for (int j = 0; j < 18 && (seq < 51 || j < 3); j++)
            vparts[nv++] = (EbPartInfo){.sequence = seq, .index = j, .duration = FULL_SEG / 18,
                                        .independent = j == 0};
    for (int seq = 50; seq <= 51; seq++)
        for (int j = 0; j < 18; j++)
            sparts[ns++] = (EbPartInfo){.sequence = seq, .index = j, .duration = FULL_SEG / 18,
                                        .independent = j == 0};
    aparts[0] = (EbPartInfo){.sequence = 51, .duration = 15 * 1024, .independent = 1};
    f.video[1].parts = vparts;
    f.video[1].nb_parts = nv;
    f.video[3].parts = sparts;
    f.video[3].nb_parts = ns;
    f.video[3].last_complete = 51;
    f.audio.parts = aparts;
    f.audio.nb_parts = 1;
    f.p.part_target = 0.334;

    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    assert_string_equal(l->line[1], "#EXT-X-VERSION:9");
    assert_int_equal(find_line(l,
                               "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002,"
                               "CAN-SKIP-UNTIL=36",
                               0) >= 0,
                     1);
    assert_true(find_line(l, "#EXT-X-PART-INF:PART-TARGET=0.33400", 0) >= 0);
    /* Parts come before their segment's EXTINF, in order, the first one
     * independent; segments whose parts are gone have none. */
    assert_int_equal(count_prefix(l, "#EXT-X-PART:"), nv);
    i = find_line(l, "../../cmaf/720p/segment_048.m4s", 0);
    k = find_prefix(l, "#EXT-X-PART:", 0);
    assert_true(i >= 0 && k > i);
    assert_string_equal(l->line[k], "#EXT-X-PART:DURATION=0.33367,URI=\"../../cmaf/720p/"
                                    "segment_049.0.m4s\",INDEPENDENT=YES");
    assert_string_equal(l->line[k + 1],
                        "#EXT-X-PART:DURATION=0.33367,URI=\"../../cmaf/720p/segment_049.1.m4s\"");
    assert_string_equal(l->line[k + 17],
                        "#EXT-X-PART:DURATION=0.33367,URI=\"../../cmaf/720p/segment_049.17.m4s\"");
    assert_string_equal(l->line[k + 18], "#EXTINF:6.006000,");
    assert_string_equal(l->line[k + 19], "../../cmaf/720p/segment_049.m4s");
    /* After the last listed segment: the open segment's parts, then the
     * hint for the next part, then every other rendition's report. */
    i = find_line(l, "../../cmaf/720p/segment_050.m4s", 0);
    assert_string_equal(l->line[i + 1], "#EXT-X-PART:DURATION=0.33367,URI=\"../../cmaf/720p/"
                                        "segment_051.0.m4s\",INDEPENDENT=YES");
    assert_string_equal(l->line[i + 4],
                        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"../../cmaf/720p/segment_051.3.m4s\"");
    assert_string_equal(l->line[i + 5],
                        "#EXT-X-RENDITION-REPORT:URI=\"../1080p/index.m3u8\",LAST-MSN=50");
    assert_string_equal(l->line[i + 7],
                        "#EXT-X-RENDITION-REPORT:URI=\"../360p/index.m3u8\",LAST-MSN=51,LAST-PART=17");
    assert_string_equal(l->line[i + 8],
                        "#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=51,LAST-PART=0");
    assert_int_equal(count_prefix(l, "#EXT-X-RENDITION-REPORT:"), NB_RUNGS);
    assert_int_equal(i + 9, l->n);
    free(l);
    av_free(m);

    /* A new run's first segment, not listed yet: the discontinuity and its
     * date come before its first part, as they will before the segment. */
    for (int j = 0; j < 3; j++) {
        vparts[nv - 3 + j].start = 50 * (int64_t)FULL_SEG + j * (FULL_SEG / 18);
        vparts[nv - 3 + j].discontinuity = 1;
    }
    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    i = find_line(l, "../../cmaf/720p/segment_050.m4s", 0);
    assert_string_equal(l->line[i + 1], "#EXT-X-DISCONTINUITY");
    assert_string_equal(l->line[i + 2], "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T10:05:00.300Z");
    assert_true(!strncmp(l->line[i + 3], "#EXT-X-PART:", 12) &&
                strstr(l->line[i + 3], "segment_051.0.m4s"));
    assert_int_equal(count_line(l, "#EXT-X-DISCONTINUITY"), 1);
    free(l);
    av_free(m);

    /* 360p finished 51 (unlisted) and wrote two parts of 52: it lists
     * 51's parts, keeps 52's back (after the last EXTINF they would read
     * as parts 18 and 19 of 51), names no hint (the part after 51.17 is
     * 52.0, of a segment the playlist cannot place yet), and the others
     * report it at 51.17. */
    for (int j = 0; j < 2; j++)
        sparts[ns + j] =
            (EbPartInfo){.sequence = 52, .index = j, .duration = FULL_SEG / 18, .independent = !j};
    f.video[3].nb_parts = ns + 2;
    f.video[3].last_complete = 51;
    m = run_media(&f.p, &f.video[3]);
    l = split_lines(m);
    assert_int_equal(count_prefix(l, "#EXT-X-PRELOAD-HINT"), 0);
    assert_int_equal(count_prefix(l, "#EXT-X-PART:"), ns);
    assert_int_equal(
        count_prefix(l, "#EXT-X-PART:DURATION=0.33367,URI=\"../../cmaf/360p/segment_052"), 0);
    i = find_line(l, "#EXT-X-PART:DURATION=0.33367,URI=\"../../cmaf/360p/segment_051.17.m4s\"", 0);
    assert_true(i >= 0 && !strncmp(l->line[i + 1], "#EXT-X-RENDITION-REPORT:", 24));
    free(l);
    av_free(m);
    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    assert_int_equal(
        count_line(l,
                   "#EXT-X-RENDITION-REPORT:URI=\"../360p/index.m3u8\",LAST-MSN=51,LAST-PART=17"),
        1);
    free(l);
    av_free(m);
    /* Once the window lists 51 (the others finished it), 52's parts and
     * the hint after them come back. */
    f.p.first_sequence = LIVE_FIRST + 1; /* the window now ends at 51 */
    m = run_media(&f.p, &f.video[3]);
    l = split_lines(m);
    i = find_line(l, "../../cmaf/360p/segment_051.m4s", 0);
    assert_true(i >= 0);
    assert_true(strstr(l->line[i + 1], "segment_052.0.m4s") != NULL);
    assert_true(strstr(l->line[i + 2], "segment_052.1.m4s") != NULL);
    assert_string_equal(l->line[i + 3],
                        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"../../cmaf/360p/segment_052.2.m4s\"");
    free(l);
    av_free(m);
    f.p.first_sequence = LIVE_FIRST;

    /* An ended channel: no hint (nothing more comes), ENDLIST last. */
    f.p.ended = 1;
    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    assert_int_equal(count_prefix(l, "#EXT-X-PRELOAD-HINT"), 0);
    assert_string_equal(l->line[l->n - 1], "#EXT-X-ENDLIST");
    free(l);
    av_free(m);

    /* Without a part target: the classic playlist, parts or not. */
    f.p.ended = 0;
    f.p.part_target = 0;
    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    assert_string_equal(l->line[1], "#EXT-X-VERSION:7");
    assert_int_equal(count_prefix(l, "#EXT-X-PART"), 0);
    assert_int_equal(count_prefix(l, "#EXT-X-SERVER-CONTROL"), 0);
    assert_int_equal(count_prefix(l, "#EXT-X-PRELOAD-HINT"), 0);
    assert_int_equal(count_prefix(l, "#EXT-X-RENDITION-REPORT"), 0);
    free(l);
    av_free(m);
}

/* A channel that has stopped: ENDLIST at the end, still no PLAYLIST-TYPE
 * (a window is neither VOD nor EVENT). */
static void test_live_hls_ended_window_ends(void **state)
{
    Fixture f;
    char *m;
    Lines *l;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    f.p.ended = 1;
    m = run_media(&f.p, &f.video[0]);
    l = split_lines(m);
    assert_string_equal(l->line[l->n - 1], "#EXT-X-ENDLIST");
    assert_string_equal(l->line[l->n - 2], "../../cmaf/1080p/segment_050.m4s");
    assert_int_equal(count_prefix(l, "#EXT-X-ENDLIST"), 1);
    assert_int_equal(count_prefix(l, "#EXT-X-PLAYLIST-TYPE"), 0);
    assert_int_equal(count_line(l, "#EXT-X-MEDIA-SEQUENCE:41"), 1);
    free(l);
    av_free(m);
}

/* EXT-X-PROGRAM-DATE-TIME: the anchor moved by the first segment's media
 * time, ISO 8601 UTC to the millisecond, right before the first EXTINF. */
static void test_hls_program_date_time(void **state)
{
    Fixture f;
    char *m;
    Lines *l;
    int at;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    assert_int_equal(count_prefix(l, "#EXT-X-PROGRAM-DATE-TIME:"), 1);
    at = find_prefix(l, "#EXT-X-PROGRAM-DATE-TIME:", 0);
    /* 10:00:00 + 40 x 6.006 s */
    assert_string_equal(l->line[at], "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T10:04:00.240Z");
    assert_string_equal(l->line[at - 1], "#EXT-X-MAP:URI=\"../../cmaf/720p/init.mp4\"");
    assert_string_equal(l->line[at + 1], "#EXTINF:6.006000,");
    assert_string_equal(l->line[at + 2], "../../cmaf/720p/segment_041.m4s");
    free(l);
    av_free(m);

    /* Anchored at the first segment: its date is the anchor's, rounded down
     * to the millisecond, across a leap day's midnight. */
    f.p.wallclock_us = INT64_C(1709251199999999); /* 2024-02-29T23:59:59.999999Z */
    f.p.anchor_us = (int64_t)(LIVE_FIRST - 1) * 6006000;
    m = run_media(&f.p, &f.video[1]);
    assert_non_null(strstr(m, "\n#EXT-X-PROGRAM-DATE-TIME:2024-02-29T23:59:59.999Z\n#EXTINF:"));
    av_free(m);
    f.p.wallclock_us += 1;
    m = run_media(&f.p, &f.video[1]);
    assert_non_null(strstr(m, "\n#EXT-X-PROGRAM-DATE-TIME:2024-03-01T00:00:00.000Z\n#EXTINF:"));
    av_free(m);

    /* A VOD with a wall clock (a recorded event) is dated too. */
    fixture_init(&f, EB_FORMAT_TS);
    f.p.wallclock_us = LIVE_WALLCLOCK + 123456;
    m = run_media(&f.p, &f.video[0]);
    assert_non_null(strstr(m, "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                              "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T10:00:00.123Z\n#EXTINF:"));
    av_free(m);
}

/* A discontinuity at segment 45 whose media clock jumps 1 s ahead: HLS tags
 * it and dates it again from the jumped clock, and states the two earlier
 * discontinuities; DASH keeps one Period, its timeline placing the jump
 * with an explicit t. */
static void test_live_discontinuity(void **state)
{
    Fixture f;
    char *m;
    Lines *l;
    XDoc *d;
    int at, period, tmpl;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    for (int i = 4; i < NB_SEG; i++) {
        for (int r = 0; r < NB_RUNGS; r++)
            f.vseg[r][i].start += VTS;
        f.aseg[i].start += ATS;
    }
    for (int r = 0; r < NB_RUNGS; r++)
        f.vseg[r][4].discontinuity = 1;
    f.aseg[4].discontinuity = 1;
    f.p.discontinuity_sequence = 2;

    m = run_media(&f.p, &f.video[1]);
    l = split_lines(m);
    assert_int_equal(count_line(l, "#EXT-X-DISCONTINUITY-SEQUENCE:2"), 1);
    assert_true(find_line(l, "#EXT-X-DISCONTINUITY-SEQUENCE:2", 0) < find_prefix(l, "#EXTINF:", 0));
    assert_int_equal(count_line(l, "#EXT-X-DISCONTINUITY"), 1);
    at = find_line(l, "#EXT-X-DISCONTINUITY", 0);
    assert_string_equal(l->line[at - 1], "../../cmaf/720p/segment_044.m4s");
    /* 10:00:00 + 44 x 6.006 s + the 1 s jump */
    assert_string_equal(l->line[at + 1], "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T10:04:25.264Z");
    assert_string_equal(l->line[at + 2], "#EXTINF:6.006000,");
    assert_string_equal(l->line[at + 3], "../../cmaf/720p/segment_045.m4s");
    assert_int_equal(count_prefix(l, "#EXT-X-PROGRAM-DATE-TIME:"), 2);
    free(l);
    av_free(m);

    m = run_mpd(&f.p);
    d = parse_mpd(m);
    assert_int_equal(x_count(d, 0, "Period"), 1);
    period = x_child(d, 0, "Period", 0);
    tmpl = x_child(d, x_child(d, period, "AdaptationSet", 0), "SegmentTemplate", 0);
    check_timeline(d, tmpl, &f.video[0]);
    {
        int tl = x_child(d, tmpl, "SegmentTimeline", 0), s1 = x_child(d, tl, "S", 1);
        char want[32];
        assert_int_equal(x_count(d, tl, "S"), 2);
        snprintf(want, sizeof(want), "%" PRId64, f.vseg[0][4].start);
        assert_string_equal(x_attr_req(d, s1, "t"), want);
    }
    tmpl = x_child(d, x_child(d, period, "AdaptationSet", 1), "SegmentTemplate", 0);
    check_timeline(d, tmpl, &f.audio);
    free(d);
    av_free(m);
}

/* A publisher that came back: the encoder restarted, its files count from
 * zero again (media_offset), 20 s after the first run's zero moved on the
 * channel clock. HLS marks the discontinuity and dates it from the clock;
 * DASH opens a second Period where the new run's zero falls, numbered on
 * from 45, its timeline in the files' own time; a second rewrite of the
 * window gives the Periods the same ids and starts. */
static void test_live_reconnect_opens_period(void **state)
{
    Fixture f;
    char *m, *again;
    Lines *l;
    XDoc *d;
    int p0, p1, set, tmpl, at;
    const int64_t run2 = (int64_t)44 * FULL_SEG + 20 * VTS; /* run 2's zero, 90 kHz */
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    for (int i = 4; i < NB_SEG; i++) {
        for (int r = 0; r < NB_RUNGS; r++) {
            f.vseg[r][i].start = run2 + (int64_t)(i - 4) * FULL_SEG;
            f.vseg[r][i].media_offset = run2;
        }
        f.aseg[i].start = run2 / (VTS / 1000) * (ATS / 1000) + live_audio_boundary(i - 4);
        f.aseg[i].duration = live_audio_boundary(i - 3) - live_audio_boundary(i - 4);
        f.aseg[i].media_offset = run2 / (VTS / 1000) * (ATS / 1000);
    }
    for (int r = 0; r < NB_RUNGS; r++)
        f.vseg[r][4].discontinuity = 1;
    f.aseg[4].discontinuity = 1;

    m = run_media(&f.p, &f.video[0]);
    l = split_lines(m);
    at = find_line(l, "#EXT-X-DISCONTINUITY", 0);
    assert_true(at > 0);
    /* 10:00:00 + 44 x 6.006 s + 20 s away */
    assert_string_equal(l->line[at + 1], "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T10:04:44.264Z");
    free(l);
    av_free(m);

    m = run_mpd(&f.p);
    d = parse_mpd(m);
    assert_int_equal(x_count(d, 0, "Period"), 2);
    p0 = x_child(d, 0, "Period", 0);
    p1 = x_child(d, 0, "Period", 1);
    assert_string_equal(x_attr_req(d, p0, "id"), "0");
    assert_string_equal(x_attr_req(d, p0, "start"), "PT0S");
    assert_string_equal(x_attr_req(d, p1, "id"), "284264");
    assert_string_equal(x_attr_req(d, p1, "start"), "PT4M44.264S");
    for (int k = 0; k < 2; k++) {
        int tl;
        set = x_child(d, p0, "AdaptationSet", k);
        tmpl = x_child(d, set, "SegmentTemplate", 0);
        assert_string_equal(x_attr_req(d, tmpl, "startNumber"), "41");
        /* Video: four equal segments, one S (audio's AAC frames vary). */
        if (k == 0)
            assert_int_equal(x_count(d, x_child(d, tmpl, "SegmentTimeline", 0), "S"), 1);
        set = x_child(d, p1, "AdaptationSet", k);
        tmpl = x_child(d, set, "SegmentTemplate", 0);
        assert_string_equal(x_attr_req(d, tmpl, "startNumber"), "45");
        /* The run's zero is the Period's start: no offset, t from 0. */
        assert_null(x_attr(d, tmpl, "presentationTimeOffset"));
        tl = x_child(d, tmpl, "SegmentTimeline", 0);
        assert_string_equal(x_attr_req(d, x_child(d, tl, "S", 0), "t"), "0");
    }
    free(d);
    again = run_mpd(&f.p);
    assert_string_equal(m, again);
    av_free(again);
    av_free(m);

    /* The break must be the same in every rendition. */
    f.aseg[4].discontinuity = 0;
    {
        AVBPrint out;
        av_bprint_init(&out, 0, AV_BPRINT_SIZE_UNLIMITED);
        assert_int_equal(eb_manifest_dash_mpd(&f.p, &out), -EINVAL);
        av_bprint_finalize(&out, NULL);
    }
}

/* The window as a dynamic MPD: on the wall clock from the anchor, updated
 * every segment, the window as time-shift buffer, numbers from 41. */
static void test_live_mpd_is_dynamic(void **state)
{
    Fixture f;
    char *m;
    XDoc *d;
    int period, set, tmpl;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    m = run_mpd(&f.p);
    d = parse_mpd(m);
    assert_string_equal(x_attr_req(d, 0, "type"), "dynamic");
    assert_string_equal(x_attr_req(d, 0, "availabilityStartTime"), "2026-12-04T10:00:00.000Z");
    /* The newest segment end: audio's, 14414848 samples = 300.309 s. */
    assert_string_equal(x_attr_req(d, 0, "publishTime"), "2026-12-04T10:05:00.309Z");
    assert_string_equal(x_attr_req(d, 0, "minimumUpdatePeriod"), "PT6.000S");
    /* The shorter window: video's 10 x 6.006 s (audio's is 60.0747 s). */
    assert_string_equal(x_attr_req(d, 0, "timeShiftBufferDepth"), "PT1M0.060S");
    assert_string_equal(x_attr_req(d, 0, "suggestedPresentationDelay"), "PT18.000S");
    assert_non_null(x_attr_req(d, 0, "minBufferTime"));
    assert_null(x_attr(d, 0, "mediaPresentationDuration"));
    period = x_child(d, 0, "Period", 0);
    assert_string_equal(x_attr_req(d, period, "start"), "PT0S");
    for (int k = 0; k < 2; k++) {
        set = x_child(d, period, "AdaptationSet", k);
        tmpl = x_child(d, set, "SegmentTemplate", 0);
        assert_string_equal(x_attr_req(d, tmpl, "startNumber"), "41");
        assert_string_equal(x_attr_req(d, tmpl, "media"),
                            "../cmaf/$RepresentationID$/segment_$Number%03d$.m4s");
        /* Anchored at media time 0: no offset, however far the window slid. */
        assert_null(x_attr(d, tmpl, "presentationTimeOffset"));
        check_timeline(d, tmpl, k ? &f.audio : &f.video[0]);
    }
    tmpl = x_child(d, x_child(d, period, "AdaptationSet", 0), "SegmentTemplate", 0);
    assert_string_equal(
        x_attr_req(d, x_child(d, x_child(d, tmpl, "SegmentTimeline", 0), "S", 0), "t"),
        "21621600"); /* 40 x 540540 */
    free(d);
    av_free(m);

    /* An anchor further in: each timescale's offset, the same wall clock. */
    f.p.anchor_us = 1000000;
    m = run_mpd(&f.p);
    d = parse_mpd(m);
    period = x_child(d, 0, "Period", 0);
    tmpl = x_child(d, x_child(d, period, "AdaptationSet", 0), "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "presentationTimeOffset"), "90000");
    tmpl = x_child(d, x_child(d, period, "AdaptationSet", 1), "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "presentationTimeOffset"), "48000");
    assert_string_equal(x_attr_req(d, 0, "publishTime"), "2026-12-04T10:04:59.309Z");
    free(d);
    av_free(m);
}

/* LL-DASH: a running channel with parts says the latency to aim at, the
 * producer's reference clock and that segments are available while they
 * are written; an ended one says none of it. */
static void test_live_mpd_low_latency(void **state)
{
    Fixture f;
    char *m;
    XDoc *d;
    int period, set, tmpl, sd, lat, prt;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    f.p.part_target = 0.334;
    f.p.segment_seconds = 6.0;
    f.p.anchor_us = 1000000;
    m = run_mpd(&f.p);
    d = parse_mpd(m);
    sd = x_child(d, 0, "ServiceDescription", 0);
    assert_true(sd >= 0);
    lat = x_child(d, sd, "Latency", 0);
    assert_string_equal(x_attr_req(d, lat, "referenceId"), "0");
    assert_string_equal(x_attr_req(d, lat, "target"), "7002"); /* 6 s + 3 x 334 ms */
    assert_string_equal(x_attr_req(d, lat, "min"), "1002");
    assert_string_equal(x_attr_req(d, lat, "max"), "14004");
    assert_true(x_child(d, sd, "PlaybackRate", 0) >= 0);
    period = x_child(d, 0, "Period", 0);
    for (int k = 0; k < 2; k++) {
        set = x_child(d, period, "AdaptationSet", k);
        tmpl = x_child(d, set, "SegmentTemplate", 0);
        /* A segment is offered one part after it starts (the origin
         * streams it while it is written): 6 s - 334 ms. */
        assert_string_equal(x_attr_req(d, tmpl, "availabilityTimeOffset"), "5.666");
        assert_string_equal(x_attr_req(d, tmpl, "availabilityTimeComplete"), "false");
        prt = x_child(d, set, "ProducerReferenceTime", 0);
        assert_true(prt >= 0);
        assert_string_equal(x_attr_req(d, prt, "id"), "0");
        /* Media time 1 s (the anchor) was presented at the wall clock. */
        assert_string_equal(x_attr_req(d, prt, "wallClockTime"), "2026-12-04T10:00:00.000Z");
        assert_string_equal(x_attr_req(d, prt, "presentationTime"), k ? "48000" : "90000");
    }
    free(d);
    av_free(m);

    /* Ended (static) or without parts: none of it. */
    for (int k = 0; k < 2; k++) {
        live_init(&f, EB_FORMAT_CMAF);
        f.p.part_target = k ? 0.334 : 0;
        f.p.ended = k;
        m = run_mpd(&f.p);
        assert_null(strstr(m, "ServiceDescription"));
        assert_null(strstr(m, "availabilityTimeOffset"));
        assert_null(strstr(m, "ProducerReferenceTime"));
        av_free(m);
    }
}

/* The server's clock for live players: a UTCTiming after the Periods;
 * a VOD has none; a URL with a control character is refused. */
static void test_live_mpd_utc_timing(void **state)
{
    Fixture f;
    char *m;
    XDoc *d;
    int t;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    f.p.utc_timing_url = "https://box.example/v1/time?a=1&b=2";
    m = run_mpd(&f.p);
    d = parse_mpd(m);
    t = x_child(d, 0, "UTCTiming", 0);
    assert_true(t >= 0);
    assert_string_equal(x_attr_req(d, t, "schemeIdUri"), "urn:mpeg:dash:utc:http-iso:2014");
    assert_string_equal(x_attr_req(d, t, "value"), "https://box.example/v1/time?a=1&b=2");
    assert_true(strstr(m, "<UTCTiming") > strstr(m, "</Period>"));
    free(d);
    av_free(m);
    f.p.type = EB_PRESENTATION_VOD;
    f.p.first_sequence = 0;
    f.p.wallclock_us = 0;
    m = run_mpd(&f.p);
    assert_null(strstr(m, "UTCTiming"));
    av_free(m);
    f.p.utc_timing_url = "bad\nurl";
    {
        AVBPrint out;
        av_bprint_init(&out, 0, AV_BPRINT_SIZE_UNLIMITED);
        assert_int_equal(eb_manifest_dash_mpd(&f.p, &out), -EINVAL);
        av_bprint_finalize(&out, NULL);
    }
}

/* An ended channel turns static, on the timeline it had, and states its end. */
static void test_live_mpd_ended(void **state)
{
    Fixture f;
    char *m;
    XDoc *d;
    (void)state;
    live_init(&f, EB_FORMAT_CMAF);
    f.p.ended = 1;
    m = run_mpd(&f.p);
    d = parse_mpd(m);
    /* Static now (players play to the end), on the same timeline. */
    assert_string_equal(x_attr_req(d, 0, "type"), "static");
    assert_null(x_attr(d, 0, "minimumUpdatePeriod"));
    assert_null(x_attr(d, 0, "timeShiftBufferDepth"));
    /* From the anchor (media time 0) to the latest end, audio's 300.309 s. */
    assert_string_equal(x_attr_req(d, 0, "mediaPresentationDuration"), "PT5M0.309S");
    assert_string_equal(x_attr_req(d, 0, "availabilityStartTime"), "2026-12-04T10:00:00.000Z");
    {
        int period = x_child(d, 0, "Period", 0);
        int tmpl = x_child(d, x_child(d, period, "AdaptationSet", 0), "SegmentTemplate", 0);
        assert_string_equal(x_attr_req(d, period, "start"), "PT0S");
        assert_string_equal(x_attr_req(d, tmpl, "startNumber"), "41");
    }
    free(d);
    av_free(m);
}

/* ------------------------------------------------------------------ */
/* Content protection                                                  */

static const char *const test_keys[] = {
    "METHOD=SAMPLE-AES,URI=\"skd://key-41\",KEYFORMAT=\"com.apple.streamingkeydelivery\","
    "KEYFORMATVERSIONS=\"1\"",
};
static const EbDashProtection test_dash_cp[] = {
    {"urn:mpeg:dash:mp4protection:2011", "cbcs", "9eb4050d-e44b-4802-932e-27d75083e266", NULL,
     NULL},
    {"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", "Widevine", NULL,
     "AAAAQnBzc2g=", "https://lic.example/wv?a=1&b=2"},
};
static const EbProtection test_protection = {1, test_keys, 0, 2, test_dash_cp};

static void test_protection_is_printed(void **state)
{
    Fixture f;
    char *m, want[256];
    Lines *l;
    XDoc *d;
    int at, period;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    f.p.thumbnails = &test_thumbs;
    f.p.protection = &test_protection;
    snprintf(want, sizeof(want), "#EXT-X-KEY:%s", test_keys[0]);

    /* Media playlists: after EXT-X-MAP (the init section stays clear),
     * before the first segment. */
    m = run_media(&f.p, &f.video[0]);
    l = split_lines(m);
    assert_int_equal(count_prefix(l, "#EXT-X-KEY:"), 1);
    at = find_line(l, want, 0);
    assert_true(at > 0);
    assert_string_equal(l->line[at - 1], "#EXT-X-MAP:URI=\"../../cmaf/1080p/init.mp4\"");
    assert_int_equal(find_prefix(l, "#EXTINF:", 0), at + 1);
    free(l);
    av_free(m);

    /* The master: EXT-X-SESSION-KEY with the same attributes, before the
     * renditions. */
    m = run_master(&f.p);
    l = split_lines(m);
    snprintf(want, sizeof(want), "#EXT-X-SESSION-KEY:%s", test_keys[0]);
    assert_int_equal(count_prefix(l, "#EXT-X-SESSION-KEY:"), 1);
    at = find_line(l, want, 0);
    assert_true(at > 0 && at < find_prefix(l, "#EXT-X-MEDIA:", 0));
    assert_int_equal(count_prefix(l, "#EXT-X-KEY:"), 0);
    free(l);
    av_free(m);

    /* TS with keys: KEYFORMAT and SAMPLE-AES need version 5, in both. */
    fixture_init(&f, EB_FORMAT_TS);
    f.p.protection = &test_protection;
    m = run_media(&f.p, &f.video[0]);
    l = split_lines(m);
    assert_string_equal(l->line[1], "#EXT-X-VERSION:5");
    snprintf(want, sizeof(want), "#EXT-X-KEY:%s", test_keys[0]);
    assert_int_equal(find_prefix(l, "#EXTINF:", 0), find_line(l, want, 0) + 1);
    free(l);
    av_free(m);
    m = run_master(&f.p);
    assert_non_null(strstr(m, "#EXTM3U\n#EXT-X-VERSION:5\n"));
    av_free(m);

    /* DASH: every audio and video set, before its template; namespaces on
     * the MPD; the sprite sheets stay clear. */
    fixture_init(&f, EB_FORMAT_CMAF);
    f.p.thumbnails = &test_thumbs;
    f.p.protection = &test_protection;
    m = run_mpd(&f.p);
    assert_non_null(strstr(m, "<dashif:Laurl>https://lic.example/wv?a=1&amp;b=2</dashif:Laurl>"));
    d = parse_mpd(m);
    assert_string_equal(x_attr_req(d, 0, "xmlns:cenc"), "urn:mpeg:cenc:2013");
    assert_string_equal(x_attr_req(d, 0, "xmlns:dashif"), "https://dashif.org/CPS");
    period = x_child(d, 0, "Period", 0);
    for (int k = 0; k < 2; k++) {
        int set = x_child(d, period, "AdaptationSet", k), cp0, cp1, pssh, laurl;
        assert_int_equal(x_count(d, set, "ContentProtection"), 2);
        cp0 = x_child(d, set, "ContentProtection", 0);
        cp1 = x_child(d, set, "ContentProtection", 1);
        /* Document order: nodes are numbered as they appear. */
        assert_true(cp1 < x_child(d, set, "SegmentTemplate", 0));
        assert_true(cp1 < x_child(d, set, "Representation", 0));
        assert_string_equal(x_attr_req(d, cp0, "schemeIdUri"), "urn:mpeg:dash:mp4protection:2011");
        assert_string_equal(x_attr_req(d, cp0, "value"), "cbcs");
        assert_string_equal(x_attr_req(d, cp0, "cenc:default_KID"),
                            "9eb4050d-e44b-4802-932e-27d75083e266");
        assert_int_equal(d->node[cp0].nattr, 3);
        assert_string_equal(x_attr_req(d, cp1, "schemeIdUri"),
                            "urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
        assert_string_equal(x_attr_req(d, cp1, "value"), "Widevine");
        assert_null(x_attr(d, cp1, "cenc:default_KID"));
        pssh = x_child(d, cp1, "cenc:pssh", 0);
        laurl = x_child(d, cp1, "dashif:Laurl", 0);
        assert_true(pssh >= 0 && laurl > pssh);
        assert_string_equal(d->node[pssh].text, "AAAAQnBzc2g=");
        assert_string_equal(d->node[laurl].text, "https://lic.example/wv?a=1&b=2");
    }
    assert_int_equal(x_count(d, x_child(d, period, "AdaptationSet", 2), "ContentProtection"), 0);
    free(d);
    av_free(m);
}

/* ------------------------------------------------------------------ */
/* Inconsistent live, date and protection descriptions                 */

static void test_live_inconsistent_input_is_rejected(void **state)
{
    static const char *const bad_keys[] = {
        "URI=\"skd://k\"",                /* no METHOD */
        "METHOD=NONE",                    /* clear is protection == NULL */
        "METHOD=AES-128,URI=\"k\nx\"",    /* a line break would end the tag */
        "METHOD=AES-128,URI=\"https://k", /* unclosed quoted string */
        "METHOD=AES-128,",                /* an empty attribute */
        "",
    };
    Fixture f;
    AVBPrint b, ok;
    EbProtection pr;
    EbDashProtection cp;
    (void)state;
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&ok, 0, AV_BPRINT_SIZE_UNLIMITED);

#define ALL_REFUSE(f)                                                                              \
    do {                                                                                           \
        assert_int_equal(eb_manifest_hls_master(&(f).p, &b), -EINVAL);                             \
        assert_int_equal(eb_manifest_hls_media(&(f).p, &(f).video[0], &b), -EINVAL);               \
        assert_int_equal(eb_manifest_dash_mpd(&(f).p, &b), -EINVAL);                               \
    } while (0)

    live_init(&f, EB_FORMAT_CMAF);
    f.p.first_sequence = -1;
    ALL_REFUSE(f);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.discontinuity_sequence = -1;
    ALL_REFUSE(f);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.type = (EbPresentationType)2;
    ALL_REFUSE(f);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.wallclock_us = -1;
    ALL_REFUSE(f);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.wallclock_us = INT64_C(253402300800000000); /* year 10000 */
    ALL_REFUSE(f);
    /* Media time must move forward in a window (dates and the timeline
     * follow it). */
    live_init(&f, EB_FORMAT_CMAF);
    f.vseg[0][5].start = f.vseg[0][4].start;
    ALL_REFUSE(f);
    live_init(&f, EB_FORMAT_CMAF);
    f.aseg[3].start = 0;
    ALL_REFUSE(f);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.segment_seconds = NAN;
    ALL_REFUSE(f);
    /* No sprite sheets for a window yet. */
    live_init(&f, EB_FORMAT_CMAF);
    f.p.thumbnails = &test_thumbs;
    ALL_REFUSE(f);
    assert_int_equal(eb_manifest_hls_images(&f.p, &b), -EINVAL);

    /* DASH alone: a dynamic MPD needs the wall clock and an anchor that
     * presentationTimeOffset can hold; $Number$ is 32 bits. HLS does not. */
    live_init(&f, EB_FORMAT_CMAF);
    f.p.wallclock_us = 0;
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);
    assert_int_equal(eb_manifest_hls_media(&f.p, &f.video[0], &ok), 0);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.anchor_us = -1;
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);
    live_init(&f, EB_FORMAT_CMAF);
    f.p.first_sequence = UINT32_MAX; /* the last segment would be 2^32 + 8 */
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);
    av_bprint_clear(&ok);
    assert_int_equal(eb_manifest_hls_media(&f.p, &f.video[0], &ok), 0);
    assert_non_null(strstr(ok.str, "\n#EXT-X-MEDIA-SEQUENCE:4294967295\n"));
    assert_non_null(strstr(ok.str, "\n../../cmaf/1080p/segment_4294967304.m4s\n"));

    /* A date before 1970 is found only while printing: the call fails and
     * takes back what it had written. */
    live_init(&f, EB_FORMAT_CMAF);
    f.p.wallclock_us = 1;
    f.p.anchor_us = 1000000000; /* the window is 240 s in, the anchor 1000 s */
    assert_int_equal(eb_manifest_hls_media(&f.p, &f.video[0], &b), -EINVAL);
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);

    /* Protection that would break the files. */
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        live_init(&f, EB_FORMAT_CMAF);
        pr = (EbProtection){.nb_hls_keys = 1, .hls_keys = &bad_keys[i]};
        f.p.protection = &pr;
        ALL_REFUSE(f);
    }
    live_init(&f, EB_FORMAT_CMAF);
    pr = (EbProtection){.nb_hls_keys = 1, .hls_keys = NULL};
    f.p.protection = &pr;
    ALL_REFUSE(f);
    pr = (EbProtection){.nb_dash = -1};
    ALL_REFUSE(f);
    cp = (EbDashProtection){.scheme_id_uri = NULL, .value = "cenc"};
    pr = (EbProtection){.nb_dash = 1, .dash = &cp};
    ALL_REFUSE(f);
    cp = (EbDashProtection){.scheme_id_uri = "urn:mpeg:dash:mp4protection:2011", .value = ""};
    ALL_REFUSE(f);
    cp.value = "cenc";
    cp.pssh = "AAAA\n";
    ALL_REFUSE(f);
#undef ALL_REFUSE

    /* Nothing was written by any refused call. */
    assert_int_equal(b.len, 0);
    av_bprint_finalize(&b, NULL);
    av_bprint_finalize(&ok, NULL);
}

/* ------------------------------------------------------------------ */
/* Errors and determinism                                              */

static void test_invalid_descriptions_are_rejected(void **state)
{
    static const char *bad_names[] = {"", ".", "..", "a/b", "a\\b", "a\"b", "a b", "a\nb"};
    Fixture f;
    AVBPrint b;
    (void)state;
    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);

    assert_int_equal(eb_manifest_hls_master(NULL, &b), -EINVAL);
    assert_int_equal(eb_manifest_dash_mpd(NULL, &b), -EINVAL);
    fixture_init(&f, EB_FORMAT_CMAF);
    assert_int_equal(eb_manifest_hls_master(&f.p, NULL), -EINVAL);
    assert_int_equal(eb_manifest_hls_media(&f.p, NULL, &b), -EINVAL);

    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        fixture_init(&f, EB_FORMAT_CMAF);
        snprintf(f.video[2].name, sizeof(f.video[2].name), "%s", bad_names[i]);
        assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);
        assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);
        assert_int_equal(eb_manifest_hls_media(&f.p, &f.video[2], &b), -EINVAL);
    }
    /* An unterminated name. */
    fixture_init(&f, EB_FORMAT_CMAF);
    memset(f.video[0].name, 'x', sizeof(f.video[0].name));
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    snprintf(f.video[3].name, sizeof(f.video[3].name), "720p"); /* duplicate */
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.p.nb_video = 0;
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.video[1].timescale = 0;
    assert_int_equal(eb_manifest_hls_media(&f.p, &f.video[1], &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.vseg[0][4].duration = -1;
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.vseg[0][4].duration = 0; /* an S of zero duration */
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.vseg[0][4].size = INT64_MAX / 2; /* size * 8 would overflow */
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    snprintf(f.audio.codecs, sizeof(f.audio.codecs), "mp4a\"x");
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.video[0].frame_rate = (AVRational){0, 1};
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -EINVAL);

    fixture_init(&f, EB_FORMAT_CMAF);
    f.audio.is_audio = 0; /* audio slot holding a video rendition */
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -EINVAL);

    /* Nothing was written by any refused call. */
    assert_int_equal(b.len, 0);
    av_bprint_finalize(&b, NULL);
}

/* A buffer that cannot grow yields -ENOMEM, never a silently cut file. */
static void test_full_buffer_is_enomem(void **state)
{
    Fixture f;
    AVBPrint b;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    av_bprint_init(&b, 0, 64);
    assert_int_equal(eb_manifest_hls_master(&f.p, &b), -ENOMEM);
    av_bprint_finalize(&b, NULL);
    av_bprint_init(&b, 0, 64);
    assert_int_equal(eb_manifest_hls_media(&f.p, &f.video[0], &b), -ENOMEM);
    av_bprint_finalize(&b, NULL);
    av_bprint_init(&b, 0, 64);
    assert_int_equal(eb_manifest_dash_mpd(&f.p, &b), -ENOMEM);
    av_bprint_finalize(&b, NULL);
}

/* Same description, same bytes; and writers append rather than replace. */
static void test_output_is_deterministic(void **state)
{
    Fixture f;
    char *a[3], *b[3];
    AVBPrint buf;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    a[0] = run_master(&f.p);
    a[1] = run_media(&f.p, &f.video[0]);
    a[2] = run_mpd(&f.p);
    fixture_init(&f, EB_FORMAT_CMAF);
    b[0] = run_master(&f.p);
    b[1] = run_media(&f.p, &f.video[0]);
    b[2] = run_mpd(&f.p);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(a[i], b[i]);
        av_free(b[i]);
    }

    av_bprint_init(&buf, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&buf, "prefix\n");
    assert_int_equal(eb_manifest_hls_master(&f.p, &buf), 0);
    assert_int_equal(strncmp(buf.str, "prefix\n", 7), 0);
    assert_string_equal(buf.str + 7, a[0]);
    av_bprint_finalize(&buf, NULL);
    for (int i = 0; i < 3; i++)
        av_free(a[i]);
}

/* Prints the fixture's manifests when EB_MANIFEST_DUMP is set (for docs
 * and reviews); asserts they were produced. */
static void test_dump_samples(void **state)
{
    Fixture f;
    char *m;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    if (!getenv("EB_MANIFEST_DUMP")) {
        m = run_master(&f.p);
        assert_true(strlen(m) > 0);
        av_free(m);
        return;
    }
    m = run_master(&f.p);
    printf("==== hls/master.m3u8\n%s", m);
    av_free(m);
    m = run_media(&f.p, &f.video[1]);
    printf("==== hls/720p/index.m3u8\n%s", m);
    av_free(m);
    m = run_media(&f.p, &f.audio);
    printf("==== hls/audio/index.m3u8\n%s", m);
    av_free(m);
    m = run_mpd(&f.p);
    printf("==== dash/manifest.mpd\n%s", m);
    av_free(m);
    fixture_init(&f, EB_FORMAT_TS);
    m = run_master(&f.p);
    printf("==== hls/master.m3u8 (TS)\n%s", m);
    av_free(m);
    m = run_media(&f.p, &f.video[1]);
    printf("==== hls/720p/index.m3u8 (TS)\n%s", m);
    av_free(m);
}

/* An overwritten video's manifests ask for its media as "?v=N" (the
 * names are the same, the bytes new, and the origin serves media as
 * immutable); version 1 prints plain URIs, as every other test checks. */
static void test_media_version_in_every_media_uri(void **state)
{
    Fixture f;
    AVBPrint b;
    char *m;
    Lines *l;
    XDoc *d;
    int vas, tmpl, set;
    (void)state;
    fixture_init(&f, EB_FORMAT_CMAF);
    f.p.thumbnails = &test_thumbs;
    f.p.media_version = 3;

    m = run_media(&f.p, &f.video[0]);
    l = split_lines(m);
    assert_true(find_prefix(l, "#EXT-X-MAP:URI=\"../../cmaf/1080p/init.mp4?v=3\"", 0) >= 0);
    assert_true(find_prefix(l, "../../cmaf/1080p/segment_001.m4s?v=3", 0) >= 0);
    free(l);
    assert_null(strstr(m, ".m4s\n"));
    av_free(m);

    av_bprint_init(&b, 0, AV_BPRINT_SIZE_UNLIMITED);
    assert_int_equal(eb_manifest_hls_images(&f.p, &b), 0);
    l = split_lines(b.str);
    assert_true(find_prefix(l, "../../thumbnails/sprite_001.jpg?v=3", 0) >= 0);
    free(l);
    av_bprint_finalize(&b, NULL);

    /* the master's playlist URIs are not media: unversioned */
    m = run_master(&f.p);
    assert_null(strstr(m, "?v="));
    av_free(m);

    m = run_mpd(&f.p);
    d = parse_mpd(m);
    vas = x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 0);
    tmpl = x_child(d, vas, "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "initialization"),
                        "../cmaf/$RepresentationID$/init.mp4?v=3");
    assert_string_equal(x_attr_req(d, tmpl, "media"),
                        "../cmaf/$RepresentationID$/segment_$Number%03d$.m4s?v=3");
    set = x_child(d, x_child(d, 0, "Period", 0), "AdaptationSet", 2);
    tmpl = x_child(d, set, "SegmentTemplate", 0);
    assert_string_equal(x_attr_req(d, tmpl, "media"), "../thumbnails/sprite_$Number%03d$.jpg?v=3");
    free(d);
    av_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bandwidth_follows_hls_peak_rule),
        cmocka_unit_test(test_bandwidth_guards_zero_durations),
        cmocka_unit_test(test_duration_is_sum_of_segments),
        cmocka_unit_test(test_master_cmaf_variants_carry_all_attributes),
        cmocka_unit_test(test_master_ts_has_no_audio_group),
        cmocka_unit_test(test_master_orders_tallest_first),
        cmocka_unit_test(test_media_cmaf_uses_map_and_shared_segments),
        cmocka_unit_test(test_media_ts_segments_beside_playlist),
        cmocka_unit_test(test_target_duration_rounds_printed_extinf),
        cmocka_unit_test(test_extinf_sum_does_not_drift),
        cmocka_unit_test(test_mpd_structure_and_attributes),
        cmocka_unit_test(test_mpd_falls_back_to_per_representation_templates),
        cmocka_unit_test(test_mpd_timeline_gaps_and_offsets),
        cmocka_unit_test(test_mpd_duration_format),
        cmocka_unit_test(test_mpd_rejects_ts),
        cmocka_unit_test(test_odd_names_are_escaped),
        cmocka_unit_test(test_vod_thumbnail_references),
        cmocka_unit_test(test_media_version_in_every_media_uri),
        cmocka_unit_test(test_live_hls_window_follows_sequence),
        cmocka_unit_test(test_live_hls_ended_window_ends),
        cmocka_unit_test(test_live_hls_low_latency),
        cmocka_unit_test(test_live_mpd_low_latency),
        cmocka_unit_test(test_hls_program_date_time),
        cmocka_unit_test(test_live_discontinuity),
        cmocka_unit_test(test_live_reconnect_opens_period),
        cmocka_unit_test(test_live_mpd_utc_timing),
        cmocka_unit_test(test_live_mpd_is_dynamic),
        cmocka_unit_test(test_live_mpd_ended),
        cmocka_unit_test(test_protection_is_printed),
        cmocka_unit_test(test_live_inconsistent_input_is_rejected),
        cmocka_unit_test(test_invalid_descriptions_are_rejected),
        cmocka_unit_test(test_full_buffer_is_enomem),
        cmocka_unit_test(test_output_is_deterministic),
        cmocka_unit_test(test_dump_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
