/*
 * Player analytics beacons (api/eb_beacons.h): the parser's rules, totals
 * turned into increments per session, the per-rendition and per-minute
 * figures, the rate limit per client, and the bounds on what is kept.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eb_beacons.h"
#include "eb_error.h"

static void parse_ok(const char *body, EbBeacon *b)
{
    char field[64], msg[300];
    if (eb_beacon_parse(body, strlen(body), b, field, sizeof(field), msg, sizeof(msg)) != 0)
        fail_msg("%s: %s", body, msg);
}

static void parse_bad(const char *body, const char *want_field)
{
    char field[64], msg[300];
    EbBeacon b;
    assert_int_equal(
        eb_beacon_parse(body, strlen(body), &b, field, sizeof(field), msg, sizeof(msg)),
        EB_ERR(EINVAL));
    assert_string_equal(field, want_field);
    /* the message starts with the field it names */
    assert_int_equal(strncmp(msg, want_field, strlen(want_field)), 0);
}

static void test_parse(void **state)
{
    EbBeacon b;
    char big[EB_BEACON_MAX_BYTES + 64];
    (void)state;

    parse_ok(
        "{\"video_id\": \"news_1\", \"session_id\": \"abcdefgh\", \"event\": \"heartbeat\", "
        "\"rendition\": \"720p\", \"watched_s\": 12.5, \"rebuffers\": 1, \"rebuffer_ms\": 800, "
        "\"switches\": 2, \"startup_ms\": 950}",
        &b);
    assert_int_equal(b.kind, EB_BEACON_VIDEO);
    assert_string_equal(b.target, "news_1");
    assert_int_equal(b.event, EB_BEACON_HEARTBEAT);
    assert_string_equal(b.rendition, "720p");
    assert_true(b.watched_s == 12.5 && b.rebuffer_ms == 800 && b.startup_ms == 950);
    assert_true(b.latency_s < 0); /* absent */
    parse_ok("{\"channel_id\": \"ch_0123456789abcdef\", \"session_id\": \"s-0000001\", "
             "\"event\": \"error\", \"error\": \"fragLoadError\", \"latency_s\": 4.2}",
             &b);
    assert_int_equal(b.kind, EB_BEACON_CHANNEL);
    assert_string_equal(b.error, "fragLoadError");
    assert_true(b.watched_s < 0 && b.rendition[0] == 0);

    parse_bad("", "");
    parse_bad("[1]", "");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"abcdefgh\", \"event\": \"start\", "
              "\"bitrate\": 1}",
              "bitrate");
    parse_bad("{\"session_id\": \"abcdefgh\", \"event\": \"start\"}", "video_id");
    parse_bad("{\"video_id\": \"a\", \"channel_id\": \"b\", \"session_id\": \"abcdefgh\", "
              "\"event\": \"start\"}",
              "video_id");
    parse_bad("{\"video_id\": \"../etc\", \"session_id\": \"abcdefgh\", \"event\": \"start\"}",
              "video_id");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"short\", \"event\": \"start\"}",
              "session_id");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"abcdefgh\", \"event\": \"pause\"}", "event");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"abcdefgh\", \"event\": \"start\", "
              "\"watched_s\": -1}",
              "watched_s");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"abcdefgh\", \"event\": \"start\", "
              "\"startup_ms\": \"fast\"}",
              "startup_ms");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"abcdefgh\", \"event\": \"start\", "
              "\"rendition\": \"7 20p\"}",
              "rendition");
    parse_bad("{\"video_id\": \"a\", \"session_id\": \"abcdefgh\", \"event\": \"error\", "
              "\"error\": \"a\\u0007b\"}",
              "error");
    /* a duplicate key is not taken (which one would count?) */
    parse_bad("{\"video_id\": \"a\", \"video_id\": \"b\", \"session_id\": \"abcdefgh\", "
              "\"event\": \"start\"}",
              "");
    memset(big, ' ', sizeof(big));
    memcpy(big, "{}", 2);
    {
        char field[64], msg[300];
        assert_int_equal(
            eb_beacon_parse(big, sizeof(big), &b, field, sizeof(field), msg, sizeof(msg)),
            EB_ERR(EINVAL));
        assert_non_null(strstr(msg, "at most"));
    }
}

/* The value of the /metrics line that starts with prefix into *value;
 * fails the test when there is none. */
static void metric(const char *text, const char *prefix, double *value)
{
    const char *p = strstr(text, prefix);
    if (!p)
        fail_msg("no line %s", prefix);
    *value = strtod(p + strlen(prefix), NULL);
}

static char *metrics_text(EbBeacons *bs)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    eb_beacons_metrics(bs, f);
    fclose(f);
    return buf;
}

/* Totals become increments: a beacon repeated adds nothing, one lost costs
 * nothing, and each increment goes to the rendition its beacon names. */
static void test_sessions_and_renditions(void **state)
{
    EbBeacons *bs = NULL;
    EbBeacon b;
    char *m;
    double v;
    json_t *a, *r;
    const double t0 = 1.8e9; /* a minute's start: 30000000 * 60 */
    (void)state;

    assert_int_equal(eb_beacons_open(&bs), 0);
    parse_ok("{\"video_id\": \"vid\", \"session_id\": \"session-1\", \"event\": \"start\", "
             "\"rendition\": \"360p\", \"startup_ms\": 1000}",
             &b);
    eb_beacons_add(bs, &b, t0);
    parse_ok("{\"video_id\": \"vid\", \"session_id\": \"session-1\", \"event\": \"heartbeat\", "
             "\"rendition\": \"360p\", \"watched_s\": 10, \"rebuffers\": 1, \"rebuffer_ms\": 500}",
             &b);
    eb_beacons_add(bs, &b, t0 + 10);
    eb_beacons_add(bs, &b, t0 + 11); /* the same beacon again: nothing more */
    parse_ok("{\"video_id\": \"vid\", \"session_id\": \"session-1\", \"event\": \"switch\", "
             "\"rendition\": \"720p\", \"watched_s\": 25, \"switches\": 1, \"rebuffers\": 1, "
             "\"rebuffer_ms\": 500, \"startup_ms\": 9999}",
             &b);
    eb_beacons_add(bs, &b, t0 + 70); /* the next minute */
    /* a second viewer */
    parse_ok("{\"video_id\": \"vid\", \"session_id\": \"session-2\", \"event\": \"start\", "
             "\"rendition\": \"720p\", \"startup_ms\": 3000, \"watched_s\": 5}",
             &b);
    eb_beacons_add(bs, &b, t0 + 75);
    parse_ok("{\"video_id\": \"vid\", \"session_id\": \"session-2\", \"event\": \"error\", "
             "\"error\": \"bufferStalledError\"}",
             &b);
    eb_beacons_add(bs, &b, t0 + 76);

    m = metrics_text(bs);
    metric(m, "encbox_player_sessions_total{video=\"vid\"} ", &v);
    assert_true(v == 2);
    metric(m, "encbox_player_watched_seconds_total{video=\"vid\",rendition=\"360p\"} ", &v);
    assert_true(fabs(v - 10) < 1e-9);
    metric(m, "encbox_player_watched_seconds_total{video=\"vid\",rendition=\"720p\"} ", &v);
    assert_true(fabs(v - 20) < 1e-9); /* 15 of session 1, 5 of session 2 */
    metric(m, "encbox_player_rebuffers_total{video=\"vid\",rendition=\"360p\"} ", &v);
    assert_true(v == 1);
    metric(m, "encbox_player_rebuffer_seconds_total{video=\"vid\",rendition=\"360p\"} ", &v);
    assert_true(fabs(v - 0.5) < 1e-9);
    metric(m, "encbox_player_switches_total{video=\"vid\"} ", &v);
    assert_true(v == 1);
    /* the first startup of each session only: 1 s and 3 s */
    metric(m, "encbox_player_startup_seconds_sum{video=\"vid\"} ", &v);
    assert_true(fabs(v - 4) < 1e-9);
    metric(m, "encbox_player_startup_seconds_count{video=\"vid\"} ", &v);
    assert_true(v == 2);
    metric(m, "encbox_player_errors_total{video=\"vid\"} ", &v);
    assert_true(v == 1);
    metric(m, "encbox_beacons_total{result=\"accepted\"} ", &v);
    assert_true(v == 6);
    free(m);

    a = eb_beacons_analytics(bs, EB_BEACON_VIDEO, "vid", t0 + 80);
    assert_int_equal(json_integer_value(json_object_get(a, "sessions")), 2);
    assert_true(json_real_value(json_object_get(a, "startup_ms_avg")) == 2000);
    assert_string_equal(json_string_value(json_object_get(a, "last_error")), "bufferStalledError");
    r = json_object_get(a, "minutes");
    assert_int_equal(json_array_size(r), 2);
    assert_true(json_integer_value(json_object_get(json_array_get(r, 0), "t")) == (json_int_t)t0);
    assert_true(json_real_value(json_object_get(json_object_get(json_array_get(r, 0), "watched_s"),
                                                "360p")) == 10);
    assert_true(json_real_value(json_object_get(json_object_get(json_array_get(r, 1), "watched_s"),
                                                "720p")) == 20);
    json_decref(a);
    /* a minute an hour back is no longer in the history */
    a = eb_beacons_analytics(bs, EB_BEACON_VIDEO, "vid", t0 + 3700);
    assert_int_equal(json_array_size(json_object_get(a, "minutes")), 0);
    assert_int_equal(json_array_size(json_object_get(a, "renditions")), 2);
    json_decref(a);
    /* nothing heard of: zeros */
    a = eb_beacons_analytics(bs, EB_BEACON_CHANNEL, "vid", t0);
    assert_int_equal(json_integer_value(json_object_get(a, "sessions")), 0);
    assert_true(json_is_null(json_object_get(a, "latency_s_avg")));
    json_decref(a);
    eb_beacons_close(&bs);
    assert_null(bs);
}

/* EB_BEACON_RATE a second, bursts of EB_BEACON_BURST, per address. */
static void test_rate_limit(void **state)
{
    EbBeacons *bs = NULL;
    double retry = 0, v;
    int ok = 0;
    char *m;
    (void)state;

    assert_int_equal(eb_beacons_open(&bs), 0);
    for (int i = 0; i < 100; i++)
        ok += eb_beacons_admit(bs, "192.0.2.1", 100.0, &retry);
    assert_int_equal(ok, (int)EB_BEACON_BURST);
    assert_true(retry > 0 && retry <= 1.0 / EB_BEACON_RATE + 1e-9);
    /* another address has its own bucket */
    assert_int_equal(eb_beacons_admit(bs, "192.0.2.2", 100.0, NULL), 1);
    /* a second later, EB_BEACON_RATE more */
    ok = 0;
    for (int i = 0; i < 100; i++)
        ok += eb_beacons_admit(bs, "192.0.2.1", 101.0, NULL);
    assert_int_equal(ok, (int)EB_BEACON_RATE);
    m = metrics_text(bs);
    metric(m, "encbox_beacons_total{result=\"limited\"} ", &v);
    assert_true(v == 200 - EB_BEACON_BURST - EB_BEACON_RATE);
    free(m);
    eb_beacons_close(&bs);
}

/* More videos than the table holds: the least recently heard is
 * forgotten, and /metrics never lists more than the bound. */
static void test_bounded(void **state)
{
    EbBeacons *bs = NULL;
    EbBeacon b;
    char body[256], *m;
    int lines = 0;
    json_t *a;
    (void)state;

    assert_int_equal(eb_beacons_open(&bs), 0);
    for (int i = 0; i < EB_BEACON_MAX_TARGETS + 10; i++) {
        snprintf(body, sizeof(body),
                 "{\"video_id\": \"v%d\", \"session_id\": \"session-%d\", \"event\": \"start\"}", i,
                 i);
        parse_ok(body, &b);
        eb_beacons_add(bs, &b, 1000.0 + i);
    }
    m = metrics_text(bs);
    for (const char *p = m; (p = strstr(p, "encbox_player_sessions_total{")); p++)
        lines++;
    assert_int_equal(lines, EB_BEACON_MAX_TARGETS);
    assert_null(strstr(m, "{video=\"v0\"}"));        /* the oldest went */
    assert_non_null(strstr(m, "{video=\"v1033\"}")); /* the newest stayed */
    free(m);
    a = eb_beacons_analytics(bs, EB_BEACON_VIDEO, "v0", 2000);
    assert_int_equal(json_integer_value(json_object_get(a, "sessions")), 0);
    json_decref(a);
    eb_beacons_close(&bs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sessions_and_renditions),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
