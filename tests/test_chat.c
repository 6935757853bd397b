/*
 * The channels' chat (api/eb_chat.h) without a daemon: the live edge read
 * from a window's playlists, and two boxes' chats on one database, each
 * with its own WebSocket hub and a viewer on a socketpair: what a viewer
 * says on one box reaches the viewer on the other, stamped with the edge;
 * refusals reach the sender alone; a deletion reaches both; a viewer that
 * joins gets the history; the replay reads by stamp. On SQLite (a file
 * both open) and, with EB_PG_URL (tests/rack/with-postgres.sh), on
 * PostgreSQL, where NOTIFY carries the news. Labelled threaded: TSan runs
 * it.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "eb_chat.h"
#include "eb_error.h"
#include "eb_sql.h"
#include "eb_test_ws.h"
#include "eb_ws.h"

/* ---- the window's edge -------------------------------------------------- */

typedef struct Files {
    const char *path[4];
    const char *text[4];
} Files;

static int files_read(void *opaque, const char *path, char **text)
{
    const Files *f = opaque;
    for (int i = 0; i < 4 && f->path[i]; i++)
        if (!strcmp(f->path[i], path))
            return (*text = strdup(f->text[i])) ? 0 : EB_ERR(ENOMEM);
    return EB_ERR(ENOENT);
}

static const char master[] = "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                             "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\n"
                             "360p/index.m3u8\n"
                             "#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180\n"
                             "180p/index.m3u8\n";
static const char media[] = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n"
                            "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T10:00:00.000Z\n"
                            "#EXTINF:2.0,\n../../cmaf/360p/segment_004.m4s\n"
                            "#EXTINF:2.0,\n../../cmaf/360p/segment_005.m4s\n";

static void test_window_edge(void **state)
{
    Files live = {{"ch/hls/master.m3u8", "ch/hls/360p/index.m3u8"}, {master, media}};
    Files ended = {{"ch/hls/master.m3u8", "ch/hls/360p/index.m3u8"},
                   {master, "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-12-07T10:00:00Z\n"
                            "#EXTINF:2.0,\na.m4s\n#EXT-X-ENDLIST\n"}};
    Files undated = {{"ch/hls/master.m3u8", "ch/hls/360p/index.m3u8"},
                     {master, "#EXTM3U\n#EXTINF:2.0,\na.m4s\n"}};
    Files escapes = {{"ch/hls/master.m3u8"},
                     {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n../../../x\n"}};
    Files novariant = {{"ch/hls/master.m3u8"}, {"#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"}};
    Files nomedia = {{"ch/hls/master.m3u8"}, {master}};
    double date = -1;
    (void)state;

    /* the first variant's edge: 10:00:00 + two segments */
    assert_int_equal(eb_chat_window_edge(files_read, &live, "ch/hls/master.m3u8", &date), 0);
    assert_true(fabs(date - (1796637600.0 + 4.0)) < 1e-6);
    /* not on air: no window, an ended one, nothing dated */
    assert_int_equal(eb_chat_window_edge(files_read, &live, "other/hls/master.m3u8", &date),
                     EB_ERR(ENOENT));
    assert_int_equal(eb_chat_window_edge(files_read, &ended, "ch/hls/master.m3u8", &date),
                     EB_ERR(ENOENT));
    assert_int_equal(eb_chat_window_edge(files_read, &undated, "ch/hls/master.m3u8", &date),
                     EB_ERR(ENOENT));
    assert_int_equal(eb_chat_window_edge(files_read, &nomedia, "ch/hls/master.m3u8", &date),
                     EB_ERR(ENOENT));
    /* a master that leads nowhere sensible */
    assert_int_equal(eb_chat_window_edge(files_read, &escapes, "ch/hls/master.m3u8", &date),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_chat_window_edge(files_read, &novariant, "ch/hls/master.m3u8", &date),
                     EB_ERR(EINVAL));
}

/* ---- a viewer's message ------------------------------------------------ */

static int parse(const char *text, EbChatInput *in, char *why)
{
    return eb_chat_parse(text, strlen(text), 10, in, why, 256);
}

static void test_parse(void **state)
{
    EbChatInput in;
    char why[256];
    (void)state;

    /* a message: trimmed, control characters as spaces, "viewer" by default */
    assert_int_equal(parse("{\"type\":\"message\",\"text\":\" a\\nb\\u0007c \"}", &in, why), 0);
    assert_int_equal(in.kind, EB_CHAT_MESSAGE);
    assert_string_equal(in.body, "a b c");
    assert_string_equal(in.name, "viewer");
    eb_chat_input_free(&in);
    /* DEL is a control character too, at the ends as well (the fuzzer's find) */
    assert_int_equal(
        parse("{\"type\":\"message\",\"text\":\" \\u007fhi\\u007f\",\"name\":\"\"}", &in, why), 0);
    assert_string_equal(in.body, "hi");
    assert_string_equal(in.name, "viewer");
    eb_chat_input_free(&in);
    /* characters, not bytes: ten of them in 30 bytes pass */
    assert_int_equal(parse("{\"type\":\"message\",\"name\":\" zo\xc3\xab \",\"text\":"
                           "\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                           "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"}",
                           &in, why),
                     0);
    assert_string_equal(in.name, "zo\xc3\xab");
    eb_chat_input_free(&in);
    assert_int_equal(parse("{\"type\":\"message\",\"text\":\"01234567890\"}", &in, why),
                     EB_ERR(EINVAL));
    assert_non_null(strstr(why, "longer than 10 characters"));
    assert_null(in.body);
    assert_int_equal(parse("{\"type\":\"message\",\"text\":\"\\t \"}", &in, why), EB_ERR(EINVAL));
    assert_non_null(strstr(why, "needs some"));
    assert_int_equal(
        parse(
            "{\"type\":\"message\",\"text\":\"x\",\"name\":\"123456789012345678901234567890123\"}",
            &in, why),
        EB_ERR(EINVAL));
    assert_non_null(strstr(why, "at most 32"));
    /* a reaction: one of the set, nothing else */
    assert_int_equal(parse("{\"type\":\"reaction\",\"emoji\":\"\xf0\x9f\x91\x8f\"}", &in, why), 0);
    assert_int_equal(in.kind, EB_CHAT_REACTION);
    assert_string_equal(in.body, "\xf0\x9f\x91\x8f");
    eb_chat_input_free(&in);
    assert_int_equal(parse("{\"type\":\"reaction\",\"emoji\":\"\xf0\x9f\x91\x8f!\"}", &in, why),
                     EB_ERR(EINVAL));
    assert_int_equal(parse("{\"type\":\"reaction\"}", &in, why), EB_ERR(EINVAL));
    /* a deletion names an item */
    assert_int_equal(parse("{\"type\":\"delete\",\"id\":42}", &in, why), 0);
    assert_int_equal(in.kind, EB_CHAT_DELETE);
    assert_int_equal(in.id, 42);
    assert_int_equal(parse("{\"type\":\"delete\",\"id\":\"42\"}", &in, why), EB_ERR(EINVAL));
    assert_int_equal(parse("{\"type\":\"delete\",\"id\":0}", &in, why), EB_ERR(EINVAL));
    /* what is not a message */
    assert_int_equal(parse("[\"message\"]", &in, why), EB_ERR(EINVAL));
    assert_non_null(strstr(why, "JSON object"));
    assert_int_equal(parse("{\"type\":7}", &in, why), EB_ERR(EINVAL));
    assert_int_equal(parse("{\"type\":\"shout\"}", &in, why), EB_ERR(EINVAL));
    assert_non_null(strstr(why, "unknown type \"shout\""));
    assert_int_equal(
        eb_chat_parse("{\"type\":\"message\",\"text\":\"\xff\"}", 29, 10, &in, why, sizeof(why)),
        EB_ERR(EINVAL)); /* not UTF-8 */
}

/* ---- two boxes ------------------------------------------------------------ */

typedef struct Box {
    EbWs *ws;
    EbChat *chat;
    pthread_mutex_t lock;
    int on_air; /* the edge answers */
} Box;

static int box_token_ok(void *opaque, const char *token)
{
    (void)opaque;
    return !strcmp(token, "good-token");
}

static void box_message(void *opaque, uint64_t conn, const char *topic, int moderator,
                        const char *text, size_t len)
{
    Box *b = opaque;
    eb_chat_ws_message(b->chat, conn, topic, moderator, text, len);
}

static void box_join(void *opaque, uint64_t conn, const char *topic)
{
    Box *b = opaque;
    eb_chat_ws_join(b->chat, conn, topic);
}

#define EDGE 1796637604.0

static int box_edge(void *opaque, const char *channel_id, double *date)
{
    Box *b = opaque;
    int on;
    pthread_mutex_lock(&b->lock);
    on = b->on_air;
    pthread_mutex_unlock(&b->lock);
    if (!on || (strcmp(channel_id, "ch1") && strcmp(channel_id, "busy")))
        return EB_ERR(ENOENT);
    *date = EDGE;
    return 0;
}

static void on_done(void *opaque)
{
    close((int)(intptr_t)opaque);
}

static double box_channel_rate; /* EbChatConfig.channel_rate of the next box_open */

static void box_open(Box *b, const char *db, const char *name)
{
    EbWsConfig wc = {.token_ok = box_token_ok,
                     .opaque = b,
                     .on_message = box_message,
                     .on_join = box_join,
                     .rate = 100,
                     .burst = 100};
    EbChatConfig cc = {.db = db,
                       .box = name,
                       .edge = box_edge,
                       .opaque = b,
                       .max_chars = 50,
                       .history = 10,
                       .keep_days = 1};

    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    b->on_air = 1;
    cc.channel_rate = box_channel_rate;
    assert_int_equal(eb_ws_open(&wc, &b->ws), 0);
    cc.ws = b->ws;
    /* the hooks run only for connections, adopted after this */
    assert_int_equal(eb_chat_open(&cc, &b->chat), 0);
}

static void box_close(Box *b)
{
    eb_chat_stop(b->chat);
    eb_ws_close(&b->ws);
    eb_chat_close(&b->chat);
    pthread_mutex_destroy(&b->lock);
}

static void viewer(Box *b, const char *channel, EbTestWs *w)
{
    char topic[EB_WS_TOPIC_MAX];
    int sv[2];

    snprintf(topic, sizeof(topic), EB_CHAT_TOPIC_PREFIX "%s", channel);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(
        eb_ws_adopt(b->ws, sv[0], NULL, 0, topic, EB_WS_OPEN, on_done, (void *)(intptr_t)sv[0]), 0);
    eb_test_ws_client(w, sv[1]);
    assert_true(eb_test_ws_wait(w, "\"chat.history\"", 10) >= 0);
}

static void two_boxes(const char *db)
{
    Box one, two;
    EbTestWs a, b, c, other;
    json_t *item, *hist;
    char msg[128];
    int64_t id;
    int k;

    box_open(&one, db, "one");
    box_open(&two, db, "two");
    viewer(&one, "ch1", &a);
    viewer(&two, "ch1", &b);
    viewer(&two, "ch2", &other);

    /* a message on box one reaches the viewer on box two, stamped */
    eb_test_ws_send(&a, "{\"type\":\"message\",\"name\":\"ann\",\"text\":\"  hello\\tthere \"}");
    k = eb_test_ws_wait(&b, "\"chat.message\"", 10);
    assert_true(k >= 0);
    item = eb_test_ws_data(&b, k);
    assert_string_equal(json_string_value(json_object_get(item, "text")), "hello there");
    assert_string_equal(json_string_value(json_object_get(item, "name")), "ann");
    assert_true(json_number_value(json_object_get(item, "stamp")) == EDGE);
    id = json_integer_value(json_object_get(item, "id"));
    json_decref(item);
    assert_true(eb_test_ws_wait(&a, "hello there", 10) >= 0);
    /* a reaction; one that is not an emoji of the set */
    eb_test_ws_send(&b, "{\"type\":\"reaction\",\"emoji\":\"\xf0\x9f\x94\xa5\"}");
    assert_true(eb_test_ws_wait(&a, "\"chat.reaction\"", 10) >= 0);
    eb_test_ws_send(&b, "{\"type\":\"reaction\",\"emoji\":\"<b>\"}");
    assert_true(eb_test_ws_wait(&b, "a reaction is one of", 10) >= 0);
    /* refusals reach the sender alone */
    eb_test_ws_send(&a, "{\"type\":\"message\",\"text\":\"   \"}");
    assert_true(eb_test_ws_wait(&a, "needs some", 10) >= 0);
    eb_test_ws_send(&a, "{\"type\":\"message\",\"text\":\"0123456789012345678901234567890123456789"
                        "01234567890\"}");
    assert_true(eb_test_ws_wait(&a, "longer than 50 characters", 10) >= 0);
    eb_test_ws_send(&a, "{\"type\":\"shout\"}");
    assert_true(eb_test_ws_wait(&a, "unknown type", 10) >= 0);
    eb_test_ws_send(&a, "not json");
    assert_true(eb_test_ws_wait(&a, "a JSON object", 10) >= 0);
    pthread_mutex_lock(&one.lock);
    one.on_air = 0;
    pthread_mutex_unlock(&one.lock);
    eb_test_ws_send(&a, "{\"type\":\"message\",\"text\":\"anyone?\"}");
    assert_true(eb_test_ws_wait(&a, "not on air", 10) >= 0);
    k = 0; /* b's only error is its own */
    for (int i = 0; i < b.nb_msgs; i++)
        k += strstr(b.msgs[i], "\"type\":\"error\"") != NULL;
    assert_int_equal(k, 1);
    /* nothing of ch1 reached ch2's viewer */
    for (int i = 0; i < other.nb_msgs; i++)
        assert_null(strstr(other.msgs[i], "hello"));

    /* a viewer may not delete; a moderator (token) on box two does, for
     * both boxes' viewers */
    snprintf(msg, sizeof(msg), "{\"type\":\"delete\",\"id\":%lld}", (long long)id);
    eb_test_ws_send(&a, msg);
    assert_true(eb_test_ws_wait(&a, "only a moderator", 10) >= 0);
    eb_test_ws_send(&b, "{\"token\":\"good-token\"}");
    assert_true(eb_test_ws_wait(&b, "\"moderator\":true", 10) >= 0);
    eb_test_ws_send(&b, msg);
    snprintf(msg, sizeof(msg), "{\"type\":\"chat.deleted\",\"data\":{\"id\":%lld}}", (long long)id);
    assert_true(eb_test_ws_wait(&a, msg, 10) >= 0);
    assert_true(eb_test_ws_wait(&b, msg, 10) >= 0);
    assert_int_equal(eb_chat_delete(one.chat, "ch1", id), EB_ERR(ENOENT));
    assert_int_equal(eb_chat_delete(one.chat, "ch2", id + 1), EB_ERR(ENOENT));

    /* a viewer joining box one gets what is left: the reaction */
    viewer(&one, "ch1", &c);
    k = eb_test_ws_wait(&c, "\"chat.history\"", 1);
    hist = eb_test_ws_data(&c, k);
    assert_int_equal(json_array_size(json_object_get(hist, "messages")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(hist, "messages"), 0), "kind")),
                        "reaction");
    json_decref(hist);
    /* the replay by stamp */
    assert_int_equal(eb_chat_history(two.chat, "ch1", EDGE - 1, EDGE + 1, 0, &hist), 0);
    assert_int_equal(json_array_size(json_object_get(hist, "messages")), 1);
    json_decref(hist);
    assert_int_equal(eb_chat_history(two.chat, "ch1", EDGE + 1, EDGE + 9, 0, &hist), 0);
    assert_int_equal(json_array_size(json_object_get(hist, "messages")), 0);
    json_decref(hist);

    eb_test_ws_free(&a);
    eb_test_ws_free(&b);
    eb_test_ws_free(&c);
    eb_test_ws_free(&other);
    box_close(&one);
    box_close(&two);
}

static int64_t count_rows(const char *db, const char *where)
{
    EbSql *sql = NULL;
    EbSqlStmt *st;
    char q[256];
    int64_t n = -1;

    assert_int_equal(eb_sql_open(db, "test", &sql), 0);
    snprintf(q, sizeof(q), "SELECT COUNT(*) FROM chat WHERE %s", where);
    st = eb_sql_prepare(sql, q);
    assert_non_null(st);
    if (eb_sql_step(st) == 1)
        n = eb_sql_int64(st, 0);
    eb_sql_finalize(st);
    eb_sql_close(&sql);
    return n;
}

/* Items older than chat.keep_days (1 here) go; newer ones stay. */
static void expiry(const char *db)
{
    EbSql *sql = NULL;
    Box one;
    int64_t n = -1;

    box_open(&one, db, "one"); /* makes the table */
    box_close(&one);
    assert_int_equal(eb_sql_open(db, "test", &sql), 0);
    assert_int_equal(eb_sql_exec(sql, "INSERT INTO chat (channel_id, kind, name, body, stamp, at) "
                                      "VALUES ('old', 'message', 'a', 'then', 1, 1), "
                                      "('old', 'message', 'a', 'now', 1, 1e10)"),
                     0);
    eb_sql_close(&sql);
    box_open(&one, db, "one");
    for (int i = 0; i < 100 && (n = count_rows(db, "channel_id = 'old'")) != 1; i++)
        usleep(20 * 1000);
    box_close(&one);
    assert_int_equal(n, 1);
    assert_int_equal(count_rows(db, "body = 'now'"), 1);
    assert_int_equal(eb_sql_open(db, "test", &sql), 0);
    assert_int_equal(eb_sql_exec(sql, "DELETE FROM chat WHERE channel_id = 'old'"), 0);
    eb_sql_close(&sql);
}

/* A channel's rate on a box (chat.channel_messages_per_second): 2 a
 * second, 4 at once, whoever sends; the rest are told to try again. */
static void channel_rate(const char *db)
{
    Box one;
    EbTestWs a;
    int took = 0, busy = 0;

    box_channel_rate = 2;
    box_open(&one, db, "one");
    box_channel_rate = 0;
    viewer(&one, "busy", &a);
    for (int i = 0; i < 10; i++)
        eb_test_ws_send(&a, "{\"type\":\"reaction\",\"emoji\":\"\xf0\x9f\x94\xa5\"}");
    for (int i = 0; i < 50 && took + busy < 10; i++) {
        eb_test_ws_wait(&a, "no such text", 1); /* reads for a second */
        took = busy = 0;
        for (int k = 0; k < a.nb_msgs; k++) {
            took += strstr(a.msgs[k], "\"chat.reaction\"") != NULL;
            busy += strstr(a.msgs[k], "the channel's chat is busy") != NULL;
        }
    }
    assert_int_equal(took + busy, 10);
    assert_true(took >= 4 && took <= 6); /* the burst, and what a slow run earned */
    eb_test_ws_free(&a);
    box_close(&one);
}

static void test_two_boxes_on_sqlite(void **state)
{
    const char *tmp = getenv("EB_TEST_TMP");
    char dir[4096], db[4200];
    (void)state;

    snprintf(dir, sizeof(dir), "%s/chat-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (tmp && *tmp) {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", tmp);
        assert_int_equal(system(cmd), 0);
    }
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/jobs.db", dir);
    expiry(db);
    channel_rate(db);
    two_boxes(db);
}

static void test_two_boxes_on_postgresql(void **state)
{
    const char *url = getenv("EB_PG_URL");
    (void)state;
    if (!url) {
        skip();
        return;
    }
    expiry(url);
    channel_rate(url);
    two_boxes(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_edge),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_two_boxes_on_sqlite),
        cmocka_unit_test(test_two_boxes_on_postgresql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
