/*
 * LL-HLS delivery decisions (api/eb_llhls.h) on handwritten playlists:
 * what is read of a live playlist, the delivery directives' syntax, when a
 * blocking reload is ready, must wait or is refused, the delta update
 * (skipped count, discontinuity sequence, program date-time, the tags kept
 * and dropped, v2), and how a preload hint's URI resolves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <time.h>
#include <libavutil/mem.h>

#include "eb_error.h"
#include "eb_llhls.h"

/* The packager's shape: segment 24 complete with its parts listed, part 0
 * of segment 25 out, part 1 being written. */
static const char live[] =
    "#EXTM3U\n"
    "#EXT-X-VERSION:9\n"
    "#EXT-X-TARGETDURATION:2\n"
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002,CAN-SKIP-UNTIL=12\n"
    "#EXT-X-PART-INF:PART-TARGET=0.334\n"
    "#EXT-X-MEDIA-SEQUENCE:13\n"
    "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-MAP:URI=\"../../cmaf/360p/init.mp4\"\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:02:24.234Z\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_013.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_014.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_015.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_016.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_017.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_018.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_019.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_020.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_021.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_022.m4s\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_023.m4s\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_024.0.m4s\",INDEPENDENT=YES\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_024.1.m4s\"\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_024.2.m4s\"\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_024.3.m4s\"\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_024.4.m4s\"\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_024.5.m4s\"\n"
    "#EXTINF:2.000000,\n../../cmaf/360p/segment_024.m4s\n"
    "#EXT-X-PART:DURATION=0.33333,URI=\"../../cmaf/360p/segment_025.0.m4s\",INDEPENDENT=YES\n"
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"../../cmaf/360p/segment_025.1.m4s\"\n"
    "#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\",LAST-MSN=25,LAST-PART=0\n";

static void parse_text(const char *text, EbLlhlsPlaylist *pl)
{
    assert_int_equal(eb_llhls_parse(text, strlen(text), pl), 0);
}

static EbLlhlsAnswer decide(const EbLlhlsPlaylist *pl, const char *msn, const char *part)
{
    EbLlhlsRequest rq;
    assert_int_equal(eb_llhls_request_parse(msn, part, NULL, &rq), 0);
    return eb_llhls_decide(pl, &rq);
}

static void test_parse(void **state)
{
    EbLlhlsPlaylist pl;
    char crlf[sizeof(live) * 2];
    size_t n = 0;
    (void)state;

    parse_text(live, &pl);
    assert_true(pl.low_latency);
    assert_false(pl.ended);
    assert_int_equal(pl.version, 9);
    assert_true(pl.target_duration == 2.0);
    assert_true(pl.part_target == 0.334);
    assert_true(pl.can_skip_until == 12.0);
    assert_int_equal(pl.media_sequence, 13);
    assert_int_equal(pl.nb_segments, 12);
    assert_int_equal(pl.last_msn, 24);
    assert_int_equal(pl.last_part_msn, 25);
    assert_int_equal(pl.last_part, 0);
    assert_int_equal(pl.parts_per_segment, 6);
    assert_string_equal(pl.preload_hint, "../../cmaf/360p/segment_025.1.m4s");
    assert_int_equal(eb_llhls_max_age(&pl), 2);

    /* CRLF lines read the same. */
    for (const char *p = live; *p; p++) {
        if (*p == '\n')
            crlf[n++] = '\r';
        crlf[n++] = *p;
    }
    assert_int_equal(eb_llhls_parse(crlf, n, &pl), 0);
    assert_int_equal(pl.last_msn, 24);
    assert_int_equal(pl.last_part, 0);
    assert_string_equal(pl.preload_hint, "../../cmaf/360p/segment_025.1.m4s");

    /* Classic live (low latency off): nothing to block on. */
    parse_text("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:5\n"
               "#EXTINF:6.0,\na.m4s\n#EXTINF:6.0,\nb.m4s\n",
               &pl);
    assert_false(pl.low_latency);
    assert_true(pl.can_skip_until == 0);
    assert_int_equal(pl.last_msn, 6);
    assert_int_equal(pl.last_part, -1);
    assert_string_equal(pl.preload_hint, "");

    /* Ended: no hint even if one is left. */
    parse_text("#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-MEDIA-SEQUENCE:1\n"
               "#EXTINF:2.0,\na.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"x.m4s\"\n"
               "#EXT-X-ENDLIST\n",
               &pl);
    assert_true(pl.ended);
    assert_string_equal(pl.preload_hint, "");
    /* A MAP hint is not a part's. */
    parse_text("#EXTM3U\n#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"init.mp4\"\n", &pl);
    assert_string_equal(pl.preload_hint, "");

    assert_int_equal(eb_llhls_parse("#EXT-X-VERSION:9\n", 17, &pl), EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_parse("", 0, &pl), EB_ERR(EINVAL));
}

/* The live edge's program date-time: the nearest date before it plus the
 * segments and parts listed since (what a chat message is stamped with). */
static void test_edge_date(void **state)
{
    EbLlhlsPlaylist pl;
    struct tm tm = {.tm_year = 126, .tm_mon = 11, .tm_mday = 6, .tm_min = 2, .tm_sec = 24};
    double t0 = (double)timegm(&tm) + 0.234;
    (void)state;

    /* 12 segments of 2 s after the date, then one part of segment 25 */
    parse_text(live, &pl);
    assert_float_equal(pl.edge_date, t0 + 24 + 0.33333, 1e-6);
    /* a later date (a new run after a discontinuity) starts the count again;
     * an offset is read */
    parse_text("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:02:24.234Z\n"
               "#EXTINF:2.0,\na.m4s\n#EXT-X-DISCONTINUITY\n"
               "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T01:02:30.234+01:00\n"
               "#EXTINF:1.5,\nb.m4s\n",
               &pl);
    assert_float_equal(pl.edge_date, t0 + 6 + 1.5, 1e-6);
    /* parts after a date with no segment yet */
    parse_text(
        "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:02:24.234Z\n"
        "#EXT-X-PART:DURATION=0.5,URI=\"p.0.m4s\"\n#EXT-X-PART:DURATION=0.5,URI=\"p.1.m4s\"\n",
        &pl);
    assert_float_equal(pl.edge_date, t0 + 1.0, 1e-6);
    /* nothing dated: 0; a date that does not parse is not one */
    parse_text("#EXTM3U\n#EXTINF:2.0,\na.m4s\n", &pl);
    assert_true(pl.edge_date == 0);
    parse_text("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n#EXTINF:2.0,\na.m4s\n", &pl);
    assert_true(pl.edge_date == 0);
}

static void test_request_syntax(void **state)
{
    static const char *const bad[] = {
        "", "abc", "-1", "+1", "1.5", " 1", "1 ", "0x10", "99999999999999999"};
    EbLlhlsRequest rq;
    (void)state;

    assert_int_equal(eb_llhls_request_parse(NULL, "1", NULL, &rq), EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_request_parse(NULL, "1", "YES", &rq), EB_ERR(EINVAL));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(eb_llhls_request_parse(bad[i], NULL, NULL, &rq), EB_ERR(EINVAL));
        assert_int_equal(eb_llhls_request_parse("3", bad[i], NULL, &rq), EB_ERR(EINVAL));
    }
    assert_int_equal(eb_llhls_request_parse("25", "1", "YES", &rq), 0);
    assert_true(rq.has_msn);
    assert_int_equal(rq.msn, 25);
    assert_int_equal(rq.part, 1);
    assert_int_equal(rq.skip, EB_LLHLS_SKIP_YES);
    assert_int_equal(eb_llhls_request_parse(NULL, NULL, "v2", &rq), 0);
    assert_false(rq.has_msn);
    assert_int_equal(rq.part, -1);
    assert_int_equal(rq.skip, EB_LLHLS_SKIP_V2);
    assert_int_equal(eb_llhls_request_parse(NULL, NULL, "NO", &rq), 0);
    assert_int_equal(rq.skip, EB_LLHLS_SKIP_NO);
    assert_int_equal(eb_llhls_request_parse("007", "0", NULL, &rq), 0);
    assert_int_equal(rq.msn, 7);
    assert_int_equal(rq.part, 0);
}

static void test_decide(void **state)
{
    EbLlhlsPlaylist pl;
    EbLlhlsRequest none = {.part = -1};
    (void)state;

    parse_text(live, &pl);
    assert_int_equal(eb_llhls_decide(&pl, &none), EB_LLHLS_READY);
    /* Segments that are complete, old or gone from the window. */
    assert_int_equal(decide(&pl, "24", NULL), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "13", NULL), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "2", NULL), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "24", "5"), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "24", "40"), EB_LLHLS_READY); /* complete: all of its parts */
    /* The segment in progress: part 0 is out, part 1 is not. */
    assert_int_equal(decide(&pl, "25", "0"), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "25", "1"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "25", NULL), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "26", NULL), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "26", "0"), EB_LLHLS_WAIT);
    /* More than two segments past the last complete one. */
    assert_int_equal(decide(&pl, "27", NULL), EB_LLHLS_BAD);
    assert_int_equal(decide(&pl, "1000", "0"), EB_LLHLS_BAD);
    /* The Advance Part Limit: 3 / 0.334 = 8.98 parts past part 25.0. */
    assert_int_equal(decide(&pl, "25", "8"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "25", "9"), EB_LLHLS_BAD);
    /* Counted across segments of six parts: 26.2 is 8 past, 26.3 is 9. */
    assert_int_equal(decide(&pl, "26", "2"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "26", "3"), EB_LLHLS_BAD);
    assert_int_equal(decide(&pl, "25", "2147483647"), EB_LLHLS_BAD);

    /* Nothing of the next segment yet, no segment listed with its parts:
     * six parts a segment from the targets (2 / 0.334). */
    parse_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
               "#EXT-X-PART-INF:PART-TARGET=0.334\n#EXT-X-MEDIA-SEQUENCE:10\n"
               "#EXTINF:2.0,\na.m4s\n#EXTINF:2.0,\nb.m4s\n",
               &pl);
    assert_int_equal(pl.last_msn, 11);
    assert_int_equal(pl.last_part, -1);
    assert_int_equal(pl.parts_per_segment, 0);
    assert_int_equal(decide(&pl, "12", "0"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "12", "7"), EB_LLHLS_WAIT); /* 8 parts past 11's end */
    assert_int_equal(decide(&pl, "12", "8"), EB_LLHLS_BAD);
    assert_int_equal(decide(&pl, "13", "1"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "13", "2"), EB_LLHLS_BAD);

    /* A part target of a second or more: the limit is three parts. */
    parse_text("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
               "#EXT-X-PART-INF:PART-TARGET=1.0\n#EXT-X-MEDIA-SEQUENCE:1\n"
               "#EXTINF:4.0,\na.m4s\n#EXT-X-PART:DURATION=1.0,URI=\"b.0.m4s\"\n",
               &pl);
    assert_int_equal(decide(&pl, "2", "3"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "2", "4"), EB_LLHLS_BAD);
    assert_int_equal(eb_llhls_max_age(&pl), 6);

    /* A rendition ahead of the others: segment 11 finished (all its parts
     * listed) but not yet listed, and part 0 of 12 out. The parts are
     * numbered from their URIs. */
    parse_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
               "#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:10\n"
               "#EXTINF:1.0,\nsegment_010.m4s\n"
               "#EXT-X-PART:DURATION=0.5,URI=\"segment_011.0.m4s\",INDEPENDENT=YES\n"
               "#EXT-X-PART:DURATION=0.5,URI=\"segment_011.1.m4s\"\n"
               "#EXT-X-PART:DURATION=0.5,URI=\"segment_012.0.m4s?v=1\",INDEPENDENT=YES\n"
               "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"segment_012.1.m4s\"\n",
               &pl);
    assert_int_equal(pl.last_msn, 10);
    assert_int_equal(pl.last_part_msn, 12);
    assert_int_equal(pl.last_part, 0);
    assert_int_equal(decide(&pl, "11", "1"), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "11", "2"), EB_LLHLS_READY); /* 12.0 is later */
    assert_int_equal(decide(&pl, "12", "0"), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "12", "1"), EB_LLHLS_WAIT);
    assert_int_equal(decide(&pl, "11", NULL), EB_LLHLS_WAIT); /* not listed as a segment */
    /* Part names the module cannot read: counted as segment 11's. */
    parse_text("#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-MEDIA-SEQUENCE:10\n"
               "#EXTINF:1.0,\na.m4s\n#EXT-X-PART:DURATION=0.5,URI=\"p.m4s\"\n"
               "#EXT-X-PART:DURATION=0.5,URI=\"q.m4s\"\n",
               &pl);
    assert_int_equal(pl.last_part_msn, 11);
    assert_int_equal(pl.last_part, 1);

    /* An ended playlist answers everything at once. */
    parse_text("#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-MEDIA-SEQUENCE:1\n"
               "#EXTINF:2.0,\na.m4s\n#EXT-X-ENDLIST\n",
               &pl);
    assert_int_equal(decide(&pl, "2", NULL), EB_LLHLS_READY);
    assert_int_equal(decide(&pl, "500", "3"), EB_LLHLS_READY);
}

/* Segments 100..108 (one of 1.5 s), a discontinuity at 102 with its own
 * date, a key tag after it, a date range on 101, part 0 of 109 out. */
#define DELTA_HEAD                                                                                 \
    "#EXTM3U\n"                                                                                    \
    "#EXT-X-VERSION:9\n"                                                                           \
    "#EXT-X-TARGETDURATION:2\n"                                                                    \
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=10\n"            \
    "#EXT-X-PART-INF:PART-TARGET=0.5\n"                                                            \
    "#EXT-X-MEDIA-SEQUENCE:100\n"
#define DELTA_SKIPPED                                                                              \
    "#EXT-X-INDEPENDENT-SEGMENTS\n"                                                                \
    "#EXT-X-MAP:URI=\"init.mp4\"\n"                                                                \
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:00:00.000Z\n"                                          \
    "#EXTINF:2.000000,\nsegment_100.m4s\n"                                                         \
    "#EXT-X-DATERANGE:ID=\"ad1\",START-DATE=\"2026-12-06T00:00:02.000Z\",DURATION=2.0\n"           \
    "#EXTINF:2.000000,\nsegment_101.m4s\n"                                                         \
    "#EXT-X-DISCONTINUITY\n"                                                                       \
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:01:00.000Z\n"                                          \
    "#EXT-X-KEY:METHOD=NONE\n"                                                                     \
    "#EXTINF:2.000000,\nsegment_102.m4s\n"                                                         \
    "#EXTINF:1.500000,\nsegment_103.m4s\n"
#define DELTA_KEPT                                                                                 \
    "#EXTINF:2.000000,\nsegment_104.m4s\n"                                                         \
    "#EXTINF:2.000000,\nsegment_105.m4s\n"                                                         \
    "#EXTINF:2.000000,\nsegment_106.m4s\n"                                                         \
    "#EXTINF:2.000000,\nsegment_107.m4s\n"                                                         \
    "#EXT-X-PART:DURATION=0.5,URI=\"segment_108.0.m4s\",INDEPENDENT=YES\n"                         \
    "#EXT-X-PART:DURATION=0.5,URI=\"segment_108.1.m4s\"\n"                                         \
    "#EXT-X-PART:DURATION=0.5,URI=\"segment_108.2.m4s\"\n"                                         \
    "#EXT-X-PART:DURATION=0.5,URI=\"segment_108.3.m4s\"\n"                                         \
    "#EXTINF:2.000000,\nsegment_108.m4s\n"                                                         \
    "#EXT-X-PART:DURATION=0.5,URI=\"segment_109.0.m4s\",INDEPENDENT=YES\n"                         \
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"segment_109.1.m4s\"\n"                                    \
    "#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\",LAST-MSN=109,LAST-PART=0\n"

static char *delta_of(const char *text, EbLlhlsSkip skip, int want_skipped)
{
    EbLlhlsPlaylist pl;
    char *out = NULL;
    size_t len = 0;

    parse_text(text, &pl);
    assert_int_equal(eb_llhls_delta(text, strlen(text), &pl, skip, &out, &len), want_skipped);
    if (want_skipped == 0) {
        assert_null(out);
        return NULL;
    }
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    return out;
}

static void test_delta(void **state)
{
    /* 17.5 s listed; the boundary is 7.5 s in: 100..103 end at or before
     * it. The discontinuity of 102 is skipped (sequence 3 -> 4); 104 has
     * no date of its own: 00:01:00 + 2 + 1.5. */
    static const char full[] =
        DELTA_HEAD "#EXT-X-DISCONTINUITY-SEQUENCE:3\n" DELTA_SKIPPED DELTA_KEPT;
    static const char want_yes[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:9\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=10\n"
        "#EXT-X-PART-INF:PART-TARGET=0.5\n"
        "#EXT-X-MEDIA-SEQUENCE:100\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:4\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MAP:URI=\"init.mp4\"\n"
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"
        "#EXT-X-DATERANGE:ID=\"ad1\",START-DATE=\"2026-12-06T00:00:02.000Z\",DURATION=2.0\n"
        "#EXT-X-KEY:METHOD=NONE\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:01:03.500Z\n" DELTA_KEPT;
    static const char want_v2[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:10\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=10\n"
        "#EXT-X-PART-INF:PART-TARGET=0.5\n"
        "#EXT-X-MEDIA-SEQUENCE:100\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:4\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MAP:URI=\"init.mp4\"\n"
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=4,RECENTLY-REMOVED-DATERANGES=\"\"\n"
        "#EXT-X-KEY:METHOD=NONE\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:01:03.500Z\n" DELTA_KEPT;
    /* The same without a DISCONTINUITY-SEQUENCE line (it was 0): one is
     * added after the media sequence. */
    static const char no_dseq[] = DELTA_HEAD DELTA_SKIPPED DELTA_KEPT;
    char *out;
    (void)state;

    out = delta_of(full, EB_LLHLS_SKIP_YES, 4);
    assert_string_equal(out, want_yes);
    {
        /* Read back, the delta ends on the same segment: the skipped ones
         * count toward the media sequence. */
        EbLlhlsPlaylist a, b;
        assert_int_equal(eb_llhls_parse(full, strlen(full), &a), 0);
        assert_int_equal(eb_llhls_parse(out, strlen(out), &b), 0);
        assert_int_equal(a.skipped, 0);
        assert_int_equal(b.skipped, 4);
        assert_int_equal(b.nb_segments + 4, a.nb_segments);
        assert_int_equal(b.last_msn, a.last_msn);
    }
    av_free(out);
    out = delta_of(full, EB_LLHLS_SKIP_V2, 4);
    assert_string_equal(out, want_v2);
    av_free(out);
    out = delta_of(no_dseq, EB_LLHLS_SKIP_YES, 4);
    assert_non_null(strstr(out, "#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n"));
    av_free(out);

    /* Not asked for, or nothing to skip: the full playlist is the answer. */
    assert_null(delta_of(full, EB_LLHLS_SKIP_NO, 0));
}

static void test_delta_boundaries(void **state)
{
    char text[4096], *out;
    (void)state;

    /* The sample: 24 s listed, CAN-SKIP-UNTIL=12: 13..18 end by 12 s. The
     * first listed segment's date: 00:02:24.234 + 6 x 2 s. */
    out = delta_of(live, EB_LLHLS_SKIP_YES, 6);
    assert_non_null(strstr(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n"
                                "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:02:36.234Z\n"
                                "#EXTINF:2.000000,\n../../cmaf/360p/segment_019.m4s\n"));
    assert_null(strstr(out, "segment_018.m4s"));
    assert_non_null(strstr(out, "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
    assert_non_null(strstr(out, "#EXT-X-MAP:URI=\"../../cmaf/360p/init.mp4\"\n"));
    assert_non_null(strstr(out, "segment_024.5.m4s")); /* parts of listed segments stay */
    assert_non_null(strstr(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"../../cmaf/360p/"
                                "segment_025.1.m4s\"\n#EXT-X-RENDITION-REPORT"));
    av_free(out);

    /* The first listed segment keeps its own date and discontinuity. */
    snprintf(text, sizeof(text), "%s",
             DELTA_HEAD "#EXT-X-DISCONTINUITY-SEQUENCE:3\n" DELTA_SKIPPED DELTA_KEPT);
    memcpy(strstr(text, "CAN-SKIP-UNTIL=10"), "CAN-SKIP-UNTIL=12", 17);
    out = delta_of(text, EB_LLHLS_SKIP_YES, 2);
    assert_non_null(strstr(out, "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"));
    assert_non_null(strstr(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n"
                                "#EXT-X-DATERANGE:ID=\"ad1\""));
    assert_non_null(strstr(out, "#EXT-X-DISCONTINUITY\n"
                                "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:01:00.000Z\n"
                                "#EXT-X-KEY:METHOD=NONE\n#EXTINF:2.000000,\nsegment_102.m4s\n"));
    assert_null(strstr(strstr(out, "#EXT-X-SKIP") + 1, "00:00:04")); /* no date made up */
    av_free(out);

    /* A segment that ends exactly at the boundary is skipped; one that
     * crosses it is not (boundary 20 - 13.5 = 6.5: 3 of 2 s end by 6). */
    out = delta_of("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
                   "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=13.5\n"
                   "#EXT-X-MEDIA-SEQUENCE:1\n"
                   "#EXTINF:2,\n1.m4s\n#EXTINF:2,\n2.m4s\n#EXTINF:2,\n3.m4s\n#EXTINF:2,\n4.m4s\n"
                   "#EXTINF:2,\n5.m4s\n#EXTINF:2,\n6.m4s\n#EXTINF:2,\n7.m4s\n#EXTINF:2,\n8.m4s\n"
                   "#EXTINF:2,\n9.m4s\n#EXTINF:2,\n10.m4s\n",
                   EB_LLHLS_SKIP_YES, 3);
    assert_non_null(strstr(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXTINF:2,\n4.m4s\n"));
    assert_null(strstr(out, "PROGRAM-DATE-TIME")); /* none to carry */
    av_free(out);

    /* Without CAN-SKIP-UNTIL, or shorter than it: nothing skipped. */
    assert_null(delta_of("#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"
                         "#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2,\n1.m4s\n#EXTINF:2,\n2.m4s\n",
                         EB_LLHLS_SKIP_YES, 0));
    assert_null(delta_of("#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12\n"
                         "#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2,\n1.m4s\n#EXTINF:2,\n2.m4s\n",
                         EB_LLHLS_SKIP_V2, 0));
}

static void test_resolve(void **state)
{
    char out[256];
    (void)state;

    assert_int_equal(eb_llhls_resolve("ch/hls/360p/index.m3u8", "../../cmaf/360p/segment_025.1.m4s",
                                      out, sizeof(out)),
                     (int)strlen("ch/cmaf/360p/segment_025.1.m4s"));
    assert_string_equal(out, "ch/cmaf/360p/segment_025.1.m4s");
    assert_true(eb_llhls_resolve("ch/hls/360p/index.m3u8", "./part.m4s?v=2#x", out, sizeof(out)) >
                0);
    assert_string_equal(out, "ch/hls/360p/part.m4s");
    assert_true(eb_llhls_resolve("ch/hls/a%20b/index.m3u8", "../../cmaf/a%20b/s.m4s", out,
                                 sizeof(out)) > 0);
    assert_string_equal(out, "ch/cmaf/a b/s.m4s");
    assert_true(eb_llhls_resolve("index.m3u8", "s.m4s", out, sizeof(out)) > 0);
    assert_string_equal(out, "s.m4s");
    /* Out of the tree, absolute, another host, a hidden slash. */
    assert_int_equal(eb_llhls_resolve("ch/hls/index.m3u8", "../../../x.m4s", out, sizeof(out)),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_resolve("ch/hls/index.m3u8", "/live/x.m4s", out, sizeof(out)),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_resolve("ch/hls/index.m3u8", "http://h/x.m4s", out, sizeof(out)),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_resolve("ch/hls/index.m3u8", "a%2Fb.m4s", out, sizeof(out)),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_resolve("ch/hls/index.m3u8", "../../..", out, sizeof(out)),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_llhls_resolve("ch/hls/index.m3u8", "segment.m4s", out, 8),
                     EB_ERR(ENAMETOOLONG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),          cmocka_unit_test(test_edge_date),
        cmocka_unit_test(test_request_syntax), cmocka_unit_test(test_decide),
        cmocka_unit_test(test_delta),          cmocka_unit_test(test_delta_boundaries),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
