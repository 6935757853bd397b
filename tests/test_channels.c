/*
 * The channel store (api/eb_channels.h): POST /v1/channels bodies (every
 * bad field named, the configuration's defaults), create/get/list/end and
 * the view (ingest URLs carrying the secrets, output URLs), the name rule
 * (one channel that has not ended per name, reusable once it has), secrets
 * random per channel, a store reopened (channels idle, everything kept),
 * recordings, states and stats, the ingest addresses, and the database
 * file being owner-only (it holds the secrets).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "eb_channels.h"
#include "eb_config.h"
#include "eb_error.h"
#include "eb_sql.h"
#include "eb_test_media.h"

#define URL_SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static char tmp[4096];
static EbConfig cfg;

/* What on_end saw. */
static int ended_calls;
static char ended_id[64];

static void on_end(void *opaque, const char *id)
{
    EbChannels *ch = *(EbChannels **)opaque;
    json_t *view = NULL;

    ended_calls++;
    snprintf(ended_id, sizeof(ended_id), "%s", id);
    /* Called outside the store's lock: calling back in must not deadlock. */
    assert_int_equal(eb_channels_get(ch, id, &view), 0);
    assert_string_equal(json_string_value(json_object_get(view, "state")), "ended");
    json_decref(view);
}

static EbChannels *opened; /* on_end's opaque */

/* A store on <tmp>/<name>.db with SRT and RTMP on. */
static EbChannels *store_open(const char *name, const char *srt, const char *rtmp)
{
    static char db[4200];
    EbChannelsConfig c = {.storage_root = tmp,
                          .base_url = "https://media.example",
                          .srt_public = srt,
                          .rtmp_public = rtmp,
                          .on_end = on_end,
                          .on_end_opaque = &opened};
    EbChannels *ch = NULL;

    snprintf(db, sizeof(db), "%s/%s.db", tmp, name);
    c.db_path = db;
    assert_int_equal(eb_channels_open(&c, &ch), 0);
    assert_non_null(ch);
    opened = ch;
    return ch;
}

static void parse_ok(const char *body, EbChannelSpec *spec)
{
    EbJobRequestError err;
    int ret = eb_channel_request_parse(&cfg, body, strlen(body), spec, &err);
    if (ret != 0)
        fail_msg("%s: %s (%s)", body, err.message, err.field);
}

/* Creates a channel from a body; returns its view (caller frees). */
static json_t *create(EbChannels *ch, const char *body, EbChannelSpec *spec_out)
{
    EbChannelSpec spec;
    json_t *view = NULL;

    parse_ok(body, &spec);
    assert_int_equal(eb_channels_create(ch, &spec, &view), 0);
    assert_non_null(view);
    if (spec_out)
        *spec_out = spec;
    return view;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

/* ---- the request ------------------------------------------------------- */

static void test_request_defaults_from_config(void **state)
{
    EbChannelSpec s;
    EbConfig c;
    EbJobRequestError err;
    static const char body[] = "{\"name\": \"news\", \"segment_seconds\": 10}";
    (void)state;

    parse_ok("{\"name\": \"news\"}", &s);
    assert_string_equal(s.name, "news");
    assert_string_equal(s.ladder, "default");  /* jobs.ladder */
    assert_string_equal(s.preset, "veryfast"); /* jobs.preset */
    assert_true(s.segment_seconds == 2.0);     /* live.segment_seconds */
    assert_true(s.window_seconds == 60.0);     /* live.window_seconds */
    assert_true(s.reconnect_window_seconds == 30.0);
    assert_int_equal(s.record, 1);
    assert_true(s.part_seconds == 0.334); /* low latency, live.part_seconds */
    /* the store fills these */
    assert_string_equal(s.id, "");
    assert_string_equal(s.srt_passphrase, "");
    assert_string_equal(s.stream_key, "");

    parse_ok("{\"name\": \"a-b_9\", \"ladder\": null, \"preset\": \"fast\", \"segment_seconds\": "
             "4, \"window_seconds\": 12, \"reconnect_window_seconds\": 0, \"record\": false}",
             &s);
    assert_string_equal(s.ladder, "default");
    assert_string_equal(s.preset, "fast");
    assert_true(s.segment_seconds == 4.0);
    assert_true(s.window_seconds == 12.0);
    assert_true(s.reconnect_window_seconds == 0.0);
    assert_int_equal(s.record, 0);
    assert_true(s.part_seconds == 0.334);
    parse_ok("{\"name\": \"ll\", \"low_latency\": false}", &s);
    assert_true(s.part_seconds == 0.0);
    parse_ok("{\"name\": \"ll\", \"low_latency\": true, \"part_seconds\": 0.5}", &s);
    assert_true(s.part_seconds == 0.5);
    assert_int_equal(s.encryption, EB_ENCRYPT_NONE);
    parse_ok("{\"name\": \"p\", \"encryption\": {\"scheme\": \"cbcs\"}}", &s);
    assert_int_equal(s.encryption, EB_ENCRYPT_CBCS);
    parse_ok("{\"name\": \"p\", \"low_latency\": false, \"encryption\": {\"scheme\": \"aes-128\"}}",
             &s);
    assert_int_equal(s.encryption, EB_ENCRYPT_AES128);
    /* A 1 s segment halves the default part target. */
    assert_int_equal(eb_config_defaults(&c), 0);
    c.live_part_seconds = 1;
    assert_int_equal(eb_channel_request_parse(&c, "{\"name\":\"x\"}", 12, &s, &err), 0);
    assert_true(s.part_seconds == 1.0);
    {
        static const char one[] = "{\"name\":\"x\",\"segment_seconds\":1}";
        assert_int_equal(eb_channel_request_parse(&c, one, strlen(one), &s, &err), 0);
    }
    assert_true(s.part_seconds == 0.5);
    eb_config_free(&c);

    /* The configured window grows to 3 of this channel's segments. */
    assert_int_equal(eb_config_defaults(&c), 0);
    c.live_window_seconds = 3;
    assert_int_equal(eb_channel_request_parse(&c, body, strlen(body), &s, &err), 0);
    assert_true(s.window_seconds == 30.0);
    c.live_segment_seconds = 5;
    c.live_window_seconds = 100;
    assert_int_equal(eb_channel_request_parse(&c, "{\"name\":\"x\"}", 12, &s, &err), 0);
    assert_true(s.segment_seconds == 5.0);
    assert_true(s.window_seconds == 100.0);
    eb_config_free(&c);
}

/* Every problem is a 400 naming its field, the message starting with it. */
static void test_request_bad_fields_are_named(void **state)
{
    static const struct {
        const char *body;
        const char *field; /* "": the body as a whole */
    } cases[] = {
        {"{not json", ""},
        {"[1, 2]", ""},
        {"", ""},
        {"{\"name\": \"a\", \"name\": \"b\"}", ""}, /* duplicate keys */
        {"{\"name\": \"a\\u0000b\"}", ""},          /* no NUL in a JSON string */
        {"{}", "name"},
        {"{\"name\": 5}", "name"},
        {"{\"name\": null}", "name"},
        {"{\"name\": \"\"}", "name"},
        {"{\"name\": \"News\"}", "name"},
        {"{\"name\": \"a b\"}", "name"},
        {"{\"name\": \"a/b\"}", "name"},
        {"{\"name\": \"caf\\u00e9\"}", "name"},
        {"{\"name\": \"a1234567890123456789012345678901234567890123456789012345678901234\"}",
         "name"}, /* 65 characters */
        {"{\"name\": \"ch_0123456789abcdef\"}", "name"},
        {"{\"name\": \"n\", \"segment_seconds\": 0}", "segment_seconds"},
        {"{\"name\": \"n\", \"segment_seconds\": 11}", "segment_seconds"},
        {"{\"name\": \"n\", \"segment_seconds\": \"2\"}", "segment_seconds"},
        {"{\"name\": \"n\", \"window_seconds\": 5}", "window_seconds"}, /* 3 x 2 s = 6 */
        {"{\"name\": \"n\", \"segment_seconds\": 4, \"window_seconds\": 11.5}", "window_seconds"},
        {"{\"name\": \"n\", \"window_seconds\": 21601}", "window_seconds"},
        {"{\"name\": \"n\", \"window_seconds\": true}", "window_seconds"},
        {"{\"name\": \"n\", \"reconnect_window_seconds\": -1}", "reconnect_window_seconds"},
        {"{\"name\": \"n\", \"reconnect_window_seconds\": 601}", "reconnect_window_seconds"},
        {"{\"name\": \"n\", \"record\": \"yes\"}", "record"},
        {"{\"name\": \"n\", \"record\": 1}", "record"},
        {"{\"name\": \"n\", \"low_latency\": \"yes\"}", "low_latency"},
        {"{\"name\": \"n\", \"part_seconds\": 0.05}", "part_seconds"},
        {"{\"name\": \"n\", \"part_seconds\": 1.5}", "part_seconds"}, /* over half of 2 s */
        {"{\"name\": \"n\", \"low_latency\": false, \"part_seconds\": 0.5}", "part_seconds"},
        {"{\"name\": \"n\", \"encryption\": \"cenc\"}", "encryption"},
        {"{\"name\": \"n\", \"encryption\": {\"scheme\": \"rot13\"}}", "encryption"},
        {"{\"name\": \"n\", \"encryption\": {\"scheme\": \"aes-128\"}}", "encryption"}, /* parts */
        {"{\"name\": \"n\", \"ladder\": \"nosuchpreset\"}", "ladder"},
        {"{\"name\": \"n\", \"ladder\": {\"rungs\": []}}", "ladder"},
        {"{\"name\": \"n\", \"ladder\": 7}", "ladder"},
        {"{\"name\": \"n\", \"preset\": \"warp\"}", "preset"},
        {"{\"name\": \"n\", \"preset\": 3}", "preset"},
        {"{\"name\": \"n\", \"colour\": \"red\"}", "colour"},
        {"{\"name\": \"n\", \"id\": \"ch_0000000000000000\"}", "id"},
        {"{\"name\": \"n\", \"stream_key\": \"mine\"}", "stream_key"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EbChannelSpec s;
        EbJobRequestError err;
        int ret = eb_channel_request_parse(&cfg, cases[i].body, strlen(cases[i].body), &s, &err);
        if (ret != EB_ERR(EINVAL) || strcmp(err.field, cases[i].field))
            fail_msg("case %zu %s: ret %d field '%s' (%s)", i, cases[i].body, ret, err.field,
                     err.message);
        assert_int_equal(err.status, 400);
        assert_true(strlen(err.message) > 0);
        if (cases[i].field[0])
            assert_int_equal(strncmp(err.message, cases[i].field, strlen(cases[i].field)), 0);
    }
    {
        /* the longest name is fine; a body need not be NUL-terminated */
        EbChannelSpec s;
        static const char body[] = "{\"name\": \"abc\"}XXXX";
        parse_ok("{\"name\": \"a123456789012345678901234567890123456789012345678901234567890123\"}",
                 &s);
        assert_int_equal(strlen(s.name), 64);
        assert_int_equal(
            eb_channel_request_parse(&cfg, body, sizeof(body) - 5, &s, &(EbJobRequestError){0}), 0);
    }
}

/* ---- the store ---------------------------------------------------------- */

static void test_create_get_list_end(void **state)
{
    EbChannels *ch = store_open("life", "ingest.example:9000", "ingest.example:1935");
    EbChannelSpec spec, again;
    json_t *v, *g, *list, *ingest, *out;
    char want[512];
    (void)state;

    v = create(ch, "{\"name\": \"news\", \"segment_seconds\": 4}", &spec);
    /* id "ch_" + 16 hex, written into the caller's spec too */
    assert_int_equal(strlen(spec.id), 19);
    assert_int_equal(strncmp(spec.id, "ch_", 3), 0);
    assert_int_equal(strspn(spec.id + 3, "0123456789abcdef"), 16);
    assert_string_equal(str(v, "id"), spec.id);
    assert_string_equal(str(v, "name"), "news");
    assert_string_equal(str(v, "state"), "idle");
    assert_true(json_real_value(json_object_get(v, "created")) > 1.7e9);
    assert_true(json_is_null(json_object_get(v, "ended")));
    assert_string_equal(str(v, "ladder"), "default");
    assert_string_equal(str(v, "preset"), "veryfast");
    assert_true(json_number_value(json_object_get(v, "segment_seconds")) == 4.0);
    assert_true(json_number_value(json_object_get(v, "window_seconds")) == 60.0);
    assert_true(json_number_value(json_object_get(v, "reconnect_window_seconds")) == 30.0);
    assert_true(json_is_true(json_object_get(v, "record")));
    ingest = json_object_get(v, "ingest");
    snprintf(want, sizeof(want),
             "srt://ingest.example:9000?streamid=%%23!::r=news,m=publish&passphrase=%s",
             spec.srt_passphrase);
    assert_string_equal(str(ingest, "srt"), want);
    snprintf(want, sizeof(want), "rtmp://ingest.example:1935/live/%s", spec.stream_key);
    assert_string_equal(str(ingest, "rtmp"), want);
    out = json_object_get(v, "outputs");
    assert_string_equal(str(out, "hls"), "https://media.example/live/news/hls/master.m3u8");
    assert_string_equal(str(out, "dash"), "https://media.example/live/news/dash/manifest.mpd");
    assert_true(json_is_object(json_object_get(v, "stats")));
    assert_int_equal(json_object_size(json_object_get(v, "stats")), 0);
    assert_int_equal(json_array_size(json_object_get(v, "recordings")), 0);

    /* by id and by name: the same view */
    assert_int_equal(eb_channels_get(ch, spec.id, &g), 0);
    assert_true(json_equal(g, v));
    json_decref(g);
    assert_int_equal(eb_channels_get(ch, "news", &g), 0);
    assert_true(json_equal(g, v));
    json_decref(g);
    assert_int_equal(eb_channels_get(ch, "nosuch", &g), EB_ERR(ENOENT));
    assert_null(g);
    /* the secrets for the ingest and the worker */
    assert_int_equal(eb_channels_spec(ch, "news", &again), 0);
    assert_string_equal(again.id, spec.id);
    assert_string_equal(again.srt_passphrase, spec.srt_passphrase);
    assert_string_equal(again.stream_key, spec.stream_key);
    assert_true(again.segment_seconds == 4.0);
    assert_int_equal(eb_channels_find_by_key(ch, spec.stream_key, &again), 0);
    assert_string_equal(again.id, spec.id);
    assert_int_equal(eb_channels_find_by_key(ch, "not-a-key", &again), EB_ERR(ENOENT));
    assert_int_equal(eb_channels_find_by_key(ch, "", &again), EB_ERR(ENOENT));

    /* list: newest first */
    json_decref(create(ch, "{\"name\": \"sport\"}", NULL));
    assert_int_equal(eb_channels_list(ch, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(str(json_array_get(list, 0), "name"), "sport");
    assert_string_equal(str(json_array_get(list, 1), "name"), "news");
    json_decref(list);

    /* end: ended with a time, on_end once; a second end changes nothing */
    ended_calls = 0;
    assert_int_equal(eb_channels_end(ch, spec.id), 0);
    assert_int_equal(ended_calls, 1);
    assert_string_equal(ended_id, spec.id);
    assert_int_equal(eb_channels_get(ch, spec.id, &g), 0);
    assert_string_equal(str(g, "state"), "ended");
    assert_true(json_real_value(json_object_get(g, "ended")) >=
                json_real_value(json_object_get(g, "created")));
    json_decref(g);
    assert_int_equal(eb_channels_end(ch, spec.id), EB_ERR(EALREADY));
    assert_int_equal(ended_calls, 1);
    assert_int_equal(eb_channels_end(ch, "ch_0000000000000000"), EB_ERR(ENOENT));
    /* an ended channel's secrets open nothing */
    assert_int_equal(eb_channels_find_by_key(ch, spec.stream_key, &again), EB_ERR(ENOENT));
    assert_int_equal(eb_channels_spec(ch, spec.id, &again), EB_ERR(ENOENT));
    assert_int_equal(eb_channels_spec(ch, "news", &again), EB_ERR(ENOENT));
    json_decref(v);
    eb_channels_close(&ch);
    assert_null(ch);
    eb_channels_close(&ch); /* NULL is fine */
}

static void test_name_taken_until_ended(void **state)
{
    EbChannels *ch = store_open("names", "", "");
    EbChannelSpec first, dup, second;
    json_t *v = NULL, *g;
    (void)state;

    json_decref(create(ch, "{\"name\": \"news\"}", &first));
    parse_ok("{\"name\": \"news\", \"preset\": \"slow\"}", &dup);
    assert_int_equal(eb_channels_create(ch, &dup, &v), EB_ERR(EEXIST));
    assert_null(v);
    /* another name is fine meanwhile */
    json_decref(create(ch, "{\"name\": \"news2\"}", NULL));
    assert_int_equal(eb_channels_end(ch, first.id), 0);
    /* the name is free again: a new channel, new id and secrets */
    json_decref(create(ch, "{\"name\": \"news\", \"preset\": \"slow\"}", &second));
    assert_string_not_equal(second.id, first.id);
    assert_string_not_equal(second.stream_key, first.stream_key);
    /* by name: the one that has not ended; the old one by its id */
    assert_int_equal(eb_channels_get(ch, "news", &g), 0);
    assert_string_equal(str(g, "id"), second.id);
    assert_string_equal(str(g, "state"), "idle");
    assert_string_equal(str(g, "preset"), "slow");
    json_decref(g);
    assert_int_equal(eb_channels_get(ch, first.id, &g), 0);
    assert_string_equal(str(g, "state"), "ended");
    json_decref(g);
    /* and once both have ended, the name finds the newest */
    assert_int_equal(eb_channels_end(ch, second.id), 0);
    assert_int_equal(eb_channels_get(ch, "news", &g), 0);
    assert_string_equal(str(g, "id"), second.id);
    json_decref(g);
    /* a spec the parser would refuse is refused here too */
    memset(&dup, 0, sizeof(dup));
    snprintf(dup.name, sizeof(dup.name), "Bad Name");
    assert_int_equal(eb_channels_create(ch, &dup, &v), EB_ERR(EINVAL));
    eb_channels_close(&ch);
}

static void test_secrets_random_per_channel(void **state)
{
    EbChannels *ch = store_open("secrets", "", "");
    enum { N = 8 };
    EbChannelSpec s[N];
    (void)state;

    for (int i = 0; i < N; i++) {
        char body[64];
        json_t *v;
        snprintf(body, sizeof(body), "{\"name\": \"c%d\"}", i);
        v = create(ch, body, &s[i]);
        /* SRT and RTMP off: no ingest URL, and nothing secret in the view */
        assert_true(json_is_null(json_object_get(json_object_get(v, "ingest"), "srt")));
        assert_true(json_is_null(json_object_get(json_object_get(v, "ingest"), "rtmp")));
        {
            char *text = json_dumps(v, 0);
            assert_null(strstr(text, s[i].srt_passphrase));
            assert_null(strstr(text, s[i].stream_key));
            free(text);
        }
        json_decref(v);
        assert_int_equal(strlen(s[i].srt_passphrase), EB_CHANNEL_SECRET_LEN);
        assert_int_equal(strlen(s[i].stream_key), EB_CHANNEL_SECRET_LEN);
        assert_int_equal(strspn(s[i].srt_passphrase, URL_SAFE), EB_CHANNEL_SECRET_LEN);
        assert_int_equal(strspn(s[i].stream_key, URL_SAFE), EB_CHANNEL_SECRET_LEN);
        assert_string_not_equal(s[i].srt_passphrase, s[i].stream_key);
        for (int k = 0; k < i; k++) {
            assert_string_not_equal(s[i].id, s[k].id);
            assert_string_not_equal(s[i].srt_passphrase, s[k].srt_passphrase);
            assert_string_not_equal(s[i].stream_key, s[k].stream_key);
        }
    }
    eb_channels_close(&ch);
}

static void test_reopen_keeps_channels_idle(void **state)
{
    EbChannels *ch = store_open("reopen", "h:1", "h:2");
    EbChannelSpec a, b, c, back;
    json_t *g, *list;
    (void)state;

    json_decref(create(ch,
                       "{\"name\": \"a\", \"segment_seconds\": 3, \"window_seconds\": 30, "
                       "\"reconnect_window_seconds\": 5, \"record\": false, "
                       "\"preset\": \"medium\", \"low_latency\": false}",
                       &a));
    json_decref(create(ch, "{\"name\": \"b\", \"encryption\": {\"scheme\": \"cenc\"}}", &b));
    json_decref(create(ch, "{\"name\": \"c\"}", &c));
    assert_int_equal(eb_channels_claim(ch, a.id, NULL, 0), 0);
    assert_int_equal(eb_channels_claim(ch, b.id, NULL, 0), 0);
    assert_int_equal(eb_channels_set_state(ch, a.id, EB_CHANNEL_LIVE), 0);
    assert_int_equal(eb_channels_set_state(ch, b.id, EB_CHANNEL_RECONNECTING), 0);
    assert_int_equal(eb_channels_set_stats(ch, a.id, json_pack("{s:i}", "bitrate", 5000000)), 0);
    assert_int_equal(eb_channels_add_recording(ch, a.id, "rec-a-1", 1000, 1100, 99.5), 0);
    assert_int_equal(eb_channels_end(ch, c.id), 0);
    assert_int_equal(eb_channels_get(ch, "a", &g), 0);
    assert_string_equal(str(g, "state"), "live");
    json_decref(g);
    eb_channels_close(&ch);

    /* a new daemon: the workers are gone */
    ch = store_open("reopen", "h:1", "h:2");
    assert_int_equal(eb_channels_list(ch, &list), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    assert_int_equal(eb_channels_get(ch, a.id, &g), 0);
    assert_string_equal(str(g, "state"), "idle");
    assert_true(json_number_value(json_object_get(g, "segment_seconds")) == 3.0);
    assert_true(json_number_value(json_object_get(g, "window_seconds")) == 30.0);
    assert_true(json_number_value(json_object_get(g, "reconnect_window_seconds")) == 5.0);
    assert_true(json_is_false(json_object_get(g, "record")));
    assert_true(json_is_false(json_object_get(g, "low_latency")));
    assert_null(json_object_get(g, "part_seconds"));
    assert_string_equal(str(g, "preset"), "medium");
    /* nobody carries it (one box: whatever it was called before) */
    assert_true(json_is_null(json_object_get(g, "box")));
    /* stats are the running worker's: not kept */
    assert_int_equal(json_object_size(json_object_get(g, "stats")), 0);
    assert_int_equal(json_array_size(json_object_get(g, "recordings")), 1);
    json_decref(g);
    assert_int_equal(eb_channels_get(ch, b.id, &g), 0);
    assert_string_equal(str(g, "state"), "idle");
    assert_true(json_is_true(json_object_get(g, "low_latency")));
    assert_true(json_number_value(json_object_get(g, "part_seconds")) == 0.334);
    /* its protection comes back; no key before its first run */
    assert_string_equal(str(json_object_get(g, "encryption"), "scheme"), "cenc");
    assert_int_equal(json_array_size(json_object_get(json_object_get(g, "encryption"), "key_ids")),
                     0);
    json_decref(g);
    assert_int_equal(eb_channels_get(ch, a.id, &g), 0);
    assert_true(json_is_null(json_object_get(g, "encryption")));
    json_decref(g);
    assert_int_equal(eb_channels_get(ch, c.id, &g), 0);
    assert_string_equal(str(g, "state"), "ended");
    json_decref(g);
    /* the secrets too */
    assert_int_equal(eb_channels_spec(ch, a.id, &back), 0);
    assert_string_equal(back.srt_passphrase, a.srt_passphrase);
    assert_string_equal(back.stream_key, a.stream_key);
    assert_string_equal(back.name, "a");
    eb_channels_close(&ch);
}

static void test_recordings_listed(void **state)
{
    EbChannels *ch = store_open("recordings", "", "");
    EbChannelSpec s;
    json_t *g, *recs, *r0;
    (void)state;

    json_decref(create(ch, "{\"name\": \"news\"}", &s));
    /* added out of order: listed by start */
    assert_int_equal(eb_channels_add_recording(ch, s.id, "news-2", 2000, 2600, 600), 0);
    assert_int_equal(eb_channels_add_recording(ch, s.id, "news-1", 1000, 1500, 499.9), 0);
    assert_int_equal(eb_channels_add_recording(ch, s.id, "news-1", 3000, 3100, 100),
                     EB_ERR(EEXIST));
    assert_int_equal(eb_channels_add_recording(ch, s.id, "bad/id", 1, 2, 1), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_add_recording(ch, s.id, "x", 5, 4, 1), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_add_recording(ch, "ch_0000000000000000", "y", 1, 2, 1),
                     EB_ERR(ENOENT));
    assert_int_equal(eb_channels_get(ch, "news", &g), 0);
    recs = json_object_get(g, "recordings");
    assert_int_equal(json_array_size(recs), 2);
    r0 = json_array_get(recs, 0);
    assert_string_equal(str(r0, "id"), "news-1");
    assert_true(json_number_value(json_object_get(r0, "start")) == 1000);
    assert_true(json_number_value(json_object_get(r0, "end")) == 1500);
    assert_true(json_number_value(json_object_get(r0, "duration")) == 499.9);
    assert_string_equal(str(json_object_get(r0, "outputs"), "hls"),
                        "https://media.example/videos/news-1/hls/master.m3u8");
    assert_string_equal(str(json_object_get(r0, "outputs"), "dash"),
                        "https://media.example/videos/news-1/dash/manifest.mpd");
    assert_string_equal(str(json_array_get(recs, 1), "id"), "news-2");
    json_decref(g);
    /* an ended channel keeps its recordings */
    assert_int_equal(eb_channels_end(ch, s.id), 0);
    assert_int_equal(eb_channels_get(ch, s.id, &g), 0);
    assert_int_equal(json_array_size(json_object_get(g, "recordings")), 2);
    json_decref(g);
    eb_channels_close(&ch);
}

static void test_states_and_stats(void **state)
{
    EbChannels *ch = store_open("states", "", "");
    EbChannelSpec s;
    json_t *g;
    (void)state;

    json_decref(create(ch, "{\"name\": \"news\"}", &s));
    /* only the box that carries a channel moves it */
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_LIVE), EB_ERR(EPERM));
    assert_int_equal(eb_channels_claim(ch, s.id, NULL, 0), 0);
    for (int st = EB_CHANNEL_IDLE; st < EB_CHANNEL_ENDED; st++) {
        assert_int_equal(eb_channels_set_state(ch, s.id, (EbChannelState)st), 0);
        assert_int_equal(eb_channels_get(ch, s.id, &g), 0);
        assert_string_equal(str(g, "state"), eb_channel_state_names[st]);
        json_decref(g);
    }
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_ENDED), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_NB_STATES), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_set_state(ch, "ch_0000000000000000", EB_CHANNEL_LIVE),
                     EB_ERR(ENOENT));
    /* names are for look-ups; the mutators take ids */
    assert_int_equal(eb_channels_set_state(ch, "news", EB_CHANNEL_LIVE), EB_ERR(ENOENT));

    assert_int_equal(eb_channels_set_stats(ch, s.id, json_pack("{s:f}", "fps", 30.0)), 0);
    assert_int_equal(
        eb_channels_set_stats(ch, s.id, json_pack("{s:f, s:i}", "fps", 29.97, "viewers", 3)), 0);
    assert_int_equal(eb_channels_get(ch, s.id, &g), 0);
    assert_true(json_real_value(json_object_get(json_object_get(g, "stats"), "fps")) == 29.97);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "stats"), "viewers")),
                     3);
    json_decref(g);
    assert_int_equal(eb_channels_set_stats(ch, s.id, json_string("no")), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_set_stats(ch, s.id, NULL), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_set_stats(ch, "ch_0000000000000000", json_object()),
                     EB_ERR(ENOENT));

    /* ended is final */
    assert_int_equal(eb_channels_end(ch, s.id), 0);
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_LIVE), EB_ERR(EALREADY));
    assert_int_equal(eb_channels_get(ch, s.id, &g), 0);
    assert_string_equal(str(g, "state"), "ended");
    json_decref(g);
    eb_channels_close(&ch);
}

/* Lifecycle events (the webhooks'): one per change of state, none for a
 * repeat, the recording's, the end's; never the stream key. */
static char events[16][48];
static int nb_events;
static int events_leak_key;

static void on_event(void *opaque, const char *event, const json_t *view)
{
    const char *key = opaque;
    char *text = json_dumps(view, 0);
    if (nb_events < 16)
        snprintf(events[nb_events++], sizeof(events[0]), "%s", event);
    if (!text || strstr(text, key) || json_object_get(view, "ingest"))
        events_leak_key = 1;
    if (!strcmp(event, "recording.published"))
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(view, "recording"), "id")),
            "rec_events_1");
    free(text);
}

static void test_lifecycle_events(void **state)
{
    static char db[4200];
    EbChannelsConfig c = {.storage_root = tmp,
                          .srt_public = "127.0.0.1:9000",
                          .rtmp_public = "",
                          .on_event = on_event};
    EbChannels *ch = NULL;
    EbChannelSpec s;
    const char *want[] = {"channel.live", "channel.reconnecting", "channel.live",
                          "channel.idle", "recording.published",  "channel.ended"};
    (void)state;

    snprintf(db, sizeof(db), "%s/events.db", tmp);
    c.db_path = db;
    assert_int_equal(eb_channels_open(&c, &ch), 0);
    json_decref(create(ch, "{\"name\": \"events\"}", &s));
    c.on_event_opaque = s.stream_key;
    eb_channels_close(&ch);
    assert_int_equal(eb_channels_open(&c, &ch), 0);
    assert_int_equal(eb_channels_claim(ch, s.id, NULL, 0), 0);
    nb_events = 0;
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_IDLE), 0); /* already idle */
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_LIVE), 0);
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_LIVE), 0); /* a repeat */
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_RECONNECTING), 0);
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_LIVE), 0);
    assert_int_equal(eb_channels_set_state(ch, s.id, EB_CHANNEL_IDLE), 0);
    assert_int_equal(eb_channels_add_recording(ch, s.id, "rec_events_1", 1.0e9, 1.0e9 + 60, 60), 0);
    assert_int_equal(eb_channels_end(ch, s.id), 0);
    assert_int_equal(eb_channels_end(ch, s.id), EB_ERR(EALREADY)); /* no second end */
    assert_int_equal(nb_events, (int)(sizeof(want) / sizeof(want[0])));
    for (int i = 0; i < nb_events; i++)
        assert_string_equal(events[i], want[i]);
    assert_false(events_leak_key);
    eb_channels_close(&ch);
}

/* ---- a rack: which box carries a channel --------------------------------- */

static int lost_calls, lost_ended;
static char lost_id[40];

static void on_lost(void *opaque, const char *id, int ended)
{
    (void)opaque;
    lost_calls++;
    lost_ended += ended;
    snprintf(lost_id, sizeof(lost_id), "%s", id);
}

static json_t *view_of(EbChannels *ch, const char *id)
{
    json_t *g = NULL;
    assert_int_equal(eb_channels_get(ch, id, &g), 0);
    return g;
}

/* Two boxes' stores on one database (target: a SQLite file, or the rack's
 * PostgreSQL): claims, the fence on state writes, renewals, a dead box's
 * channel taken over, a DELETE through the other box. */
static void two_boxes(const char *target)
{
    EbChannelsConfig c = {
        .storage_root = tmp, .srt_public = "", .rtmp_public = "", .db_path = target};
    EbChannels *a = NULL, *b = NULL;
    EbChannelSpec s, s2;
    EbSql *db = NULL;
    char holder[80], ids[8][40];
    json_t *g;

    c.box = "box-a";
    assert_int_equal(eb_channels_open(&c, &a), 0);
    c.box = "box-b";
    assert_int_equal(eb_channels_open(&c, &b), 0);
    lost_calls = lost_ended = 0;

    /* created through B's API, carried by A (its ingest got the publisher) */
    json_decref(create(b, "{\"name\": \"racked\"}", &s));
    g = view_of(a, s.id);
    assert_true(json_is_null(json_object_get(g, "box")));
    json_decref(g);
    assert_int_equal(eb_channels_claim(a, s.id, holder, sizeof(holder)), 0);
    g = view_of(b, s.id);
    assert_string_equal(str(g, "box"), "box-a");
    json_decref(g);

    /* B cannot take it while A's lease runs, and is told who has it */
    assert_int_equal(eb_channels_claim(b, s.id, holder, sizeof(holder)), EB_ERR(EBUSY));
    assert_string_equal(holder, "box-a");
    assert_int_equal(eb_channels_set_state(b, s.id, EB_CHANNEL_LIVE), EB_ERR(EPERM));
    assert_int_equal(eb_channels_set_state(a, s.id, EB_CHANNEL_LIVE), 0);

    /* A's figures reach B's view at A's renewal */
    assert_int_equal(eb_channels_set_stats(a, s.id, json_pack("{s:f}", "fps", 25.0)), 0);
    assert_int_equal(eb_channels_renew(a, on_lost, NULL), 1);
    assert_int_equal(lost_calls, 0);
    g = view_of(b, s.id);
    assert_string_equal(str(g, "state"), "live");
    assert_true(json_number_value(json_object_get(json_object_get(g, "stats"), "fps")) == 25.0);
    json_decref(g);
    assert_int_equal(eb_channels_orphans(b, ids, 8), 0);

    /* A freezes: its lease runs out. B finds the channel and takes it. */
    assert_int_equal(eb_sql_open(target, "test", &db), 0);
    assert_int_equal(eb_sql_exec(db, "UPDATE channels SET lease_until = 1"), 0);
    assert_int_equal(eb_channels_orphans(a, ids, 8), 0); /* its own: not an orphan to A */
    assert_int_equal(eb_channels_orphans(b, ids, 8), 1);
    assert_string_equal(ids[0], s.id);
    assert_int_equal(eb_channels_claim(b, s.id, holder, sizeof(holder)), 0);
    g = view_of(a, s.id);
    assert_string_equal(str(g, "box"), "box-b");
    json_decref(g);

    /* A wakes: its renewal says it lost the channel (not ended), once, and
     * its writes change nothing, even with the lease time back */
    assert_int_equal(eb_channels_renew(a, on_lost, NULL), 0);
    assert_int_equal(lost_calls, 1);
    assert_int_equal(lost_ended, 0);
    assert_string_equal(lost_id, s.id);
    assert_int_equal(eb_channels_renew(a, on_lost, NULL), 0);
    assert_int_equal(lost_calls, 1);
    assert_int_equal(eb_channels_set_state(a, s.id, EB_CHANNEL_IDLE), EB_ERR(EPERM));
    assert_int_equal(eb_channels_set_state(b, s.id, EB_CHANNEL_RECONNECTING), 0);
    g = view_of(a, s.id);
    assert_string_equal(str(g, "state"), "reconnecting");
    json_decref(g);
    assert_int_equal(eb_channels_claim(a, s.id, holder, sizeof(holder)), EB_ERR(EBUSY));
    assert_string_equal(holder, "box-b");

    /* a DELETE through A: B's next renewal says the channel ended */
    assert_int_equal(eb_channels_end(a, s.id), 0);
    assert_int_equal(eb_channels_renew(b, on_lost, NULL), 0);
    assert_int_equal(lost_calls, 2);
    assert_int_equal(lost_ended, 1);
    g = view_of(a, s.id);
    assert_true(json_is_null(json_object_get(g, "box")));
    json_decref(g);
    assert_int_equal(eb_channels_claim(a, s.id, holder, sizeof(holder)), EB_ERR(ENOENT));

    /* a channel released is free for the other box at once */
    json_decref(create(a, "{\"name\": \"racked-2\"}", &s2));
    assert_int_equal(eb_channels_claim(a, s2.id, holder, sizeof(holder)), 0);
    assert_int_equal(eb_channels_claim(a, s2.id, holder, sizeof(holder)), 0); /* again: its own */
    eb_channels_release(a, s2.id);
    g = view_of(b, s2.id);
    assert_true(json_is_null(json_object_get(g, "box")));
    json_decref(g);
    assert_int_equal(eb_channels_claim(b, s2.id, holder, sizeof(holder)), 0);
    assert_int_equal(eb_channels_set_state(a, s2.id, EB_CHANNEL_LIVE), EB_ERR(EPERM));
    eb_channels_release(b, s2.id);
    assert_int_equal(eb_channels_end(b, s2.id), 0);

    eb_sql_close(&db);
    eb_channels_close(&a);
    eb_channels_close(&b);
}

static void test_two_boxes_share_channels_by_lease(void **state)
{
    char db[4200];
    (void)state;
    snprintf(db, sizeof(db), "%s/rack.db", tmp);
    two_boxes(db);
}

/* The same on PostgreSQL, when the test runs beside one (ctest
 * test_channels_pg: tests/rack/with-postgres.sh). */
static void test_two_boxes_on_postgresql(void **state)
{
    (void)state;
    if (!getenv("EB_PG_URL"))
        skip();
    two_boxes(getenv("EB_PG_URL"));
}

static void test_public_addr(void **state)
{
    char out[300], host[256], want[300];
    (void)state;

    assert_int_equal(eb_channels_public_addr("", "x.example", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(eb_channels_public_addr(NULL, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(eb_channels_public_addr("127.0.0.1:9000", "", out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.1:9000");
    assert_int_equal(eb_channels_public_addr("[::1]:9000", NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "[::1]:9000");
    assert_int_equal(
        eb_channels_public_addr("0.0.0.0:1935", "ingest.example.com", out, sizeof(out)), 0);
    assert_string_equal(out, "ingest.example.com:1935");
    assert_int_equal(eb_channels_public_addr("[::]:9000", "2001:db8::7", out, sizeof(out)), 0);
    assert_string_equal(out, "[2001:db8::7]:9000");
    assert_int_equal(eb_channels_public_addr("[::]:9000", "[2001:db8::7]", out, sizeof(out)), 0);
    assert_string_equal(out, "[2001:db8::7]:9000");
    /* every interface and no public host: this machine's name */
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    snprintf(want, sizeof(want), "%s:9000", host);
    assert_int_equal(eb_channels_public_addr("0.0.0.0:9000", "", out, sizeof(out)), 0);
    assert_string_equal(out, want);
    assert_int_equal(eb_channels_public_addr("[::]:9000", "", out, sizeof(out)), 0);
    assert_string_equal(out, want);
    assert_int_equal(eb_channels_public_addr("nocolon", "", out, sizeof(out)), EB_ERR(EINVAL));
    assert_int_equal(eb_channels_public_addr("127.0.0.1:9000", "", out, 8), EB_ERR(ENAMETOOLONG));
    assert_string_equal(out, "");
}

static int file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* The database holds the secrets: owner-only, -wal and -shm included,
 * whatever the umask; a file an older daemon left wider is narrowed. */
static void test_db_file_is_owner_only(void **state)
{
    char db[4200], side[4300];
    EbChannels *ch;
    mode_t old = umask(0);
    FILE *f;
    (void)state;

    ch = store_open("private", "", "");
    json_decref(create(ch, "{\"name\": \"news\"}", NULL));
    snprintf(db, sizeof(db), "%s/private.db", tmp);
    assert_int_equal(file_mode(db), 0600);
    snprintf(side, sizeof(side), "%s-wal", db);
    assert_int_equal(file_mode(side), 0600);
    snprintf(side, sizeof(side), "%s-shm", db);
    assert_int_equal(file_mode(side), 0600);
    eb_channels_close(&ch);

    snprintf(db, sizeof(db), "%s/wide.db", tmp);
    f = fopen(db, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(db, 0644), 0);
    ch = store_open("wide", "", "");
    assert_int_equal(file_mode(db), 0600);
    json_decref(create(ch, "{\"name\": \"news\"}", NULL));
    snprintf(side, sizeof(side), "%s-wal", db);
    assert_int_equal(file_mode(side), 0600);
    eb_channels_close(&ch);
    umask(old);
}

static int setup(void **state)
{
    (void)state;
    eb_test_tmpdir("channels", tmp, sizeof(tmp));
    return eb_config_defaults(&cfg);
}

static int teardown(void **state)
{
    (void)state;
    eb_config_free(&cfg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_defaults_from_config),
        cmocka_unit_test(test_request_bad_fields_are_named),
        cmocka_unit_test(test_create_get_list_end),
        cmocka_unit_test(test_name_taken_until_ended),
        cmocka_unit_test(test_secrets_random_per_channel),
        cmocka_unit_test(test_reopen_keeps_channels_idle),
        cmocka_unit_test(test_recordings_listed),
        cmocka_unit_test(test_states_and_stats),
        cmocka_unit_test(test_lifecycle_events),
        cmocka_unit_test(test_two_boxes_share_channels_by_lease),
        cmocka_unit_test(test_two_boxes_on_postgresql),
        cmocka_unit_test(test_public_addr),
        cmocka_unit_test(test_db_file_is_owner_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
