/*
 * The WebSocket hub (api/eb_ws.h) on socketpairs, without a daemon: the
 * accept key, the token as the first message, events published from other
 * threads arriving whole and in order, topics kept apart, the bytes that
 * came with the request, the connection limit, and each connection given
 * back exactly once. Labelled threaded: TSan runs it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "eb_error.h"
#include "eb_test_ws.h"
#include "eb_ws.h"

static int token_ok(void *opaque, const char *token)
{
    (void)opaque;
    return !strcmp(token, "good-token");
}

static atomic_int done_calls;

/* EbWs's done: the hub gives the socket back (the daemon hands it to
 * libmicrohttpd; here it is closed). */
static void on_done(void *opaque)
{
    close((int)(intptr_t)opaque);
    atomic_fetch_add(&done_calls, 1);
}

static void wait_done(int want)
{
    for (int i = 0; i < 200 && atomic_load(&done_calls) < want; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&done_calls), want);
}

/* A hub connection on a socketpair: the hub's end adopted on topic, the
 * client on the other. */
static void pair(EbWs *ws, const char *topic, EbTestWs *client)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(eb_ws_adopt(ws, sv[0], NULL, 0, topic, 0, on_done, (void *)(intptr_t)sv[0]),
                     0);
    eb_test_ws_client(client, sv[1]);
}

static void test_accept_key(void **state)
{
    char out[29];
    (void)state;
    /* RFC 6455, 1.3 */
    assert_int_equal(eb_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(eb_ws_accept_key("short", out), EB_ERR(EINVAL));
    assert_int_equal(eb_ws_accept_key("!!!!!!!!!!!!!!!!!!!!!!==", out), EB_ERR(EINVAL));
    assert_int_equal(eb_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), EB_ERR(EINVAL));
}

typedef struct Publisher {
    EbWs *ws;
    int from, count;
} Publisher;

static void *publish_thread(void *arg)
{
    Publisher *p = arg;
    char data[64];
    for (int i = p->from; i < p->from + p->count; i++) {
        snprintf(data, sizeof(data), "{\"n\":%d}", i);
        eb_ws_publish(p->ws, "events", "test.event", data);
        eb_ws_publish(p->ws, "other", "test.other", data);
    }
    return NULL;
}

/* Signed in, a client gets every event of its topic, whole and in the
 * order one thread published them, and none of another topic. */
static void test_events_in_order(void **state)
{
    EbWsConfig cfg = {.token_ok = token_ok};
    EbWs *ws = NULL;
    EbTestWs c;
    Publisher p = {.from = 0, .count = 200};
    pthread_t t;
    int last = -1, seen = 0;
    (void)state;

    atomic_store(&done_calls, 0);
    assert_int_equal(eb_ws_open(&cfg, &ws), 0);
    pair(ws, "events", &c);
    /* nothing before the token */
    eb_ws_publish(ws, "events", "test.early", "{}");
    eb_test_ws_send(&c, "{\"token\": \"good-token\"}");
    assert_int_equal(eb_test_ws_wait(&c, "\"ready\"", 10), 0);
    p.ws = ws;
    assert_int_equal(pthread_create(&t, NULL, publish_thread, &p), 0);
    assert_true(eb_test_ws_wait(&c, "{\"n\":199}", 20) >= 0);
    pthread_join(t, NULL);
    for (int i = 0; i < c.nb_msgs; i++) {
        int n;
        assert_null(strstr(c.msgs[i], "test.early"));
        assert_null(strstr(c.msgs[i], "test.other"));
        if (sscanf(c.msgs[i], "{\"type\":\"test.event\",\"data\":{\"n\":%d}}", &n) == 1) {
            assert_int_equal(n, last + 1);
            last = n;
            seen++;
        }
    }
    assert_int_equal(seen, 200);
    eb_test_ws_send(&c, "{\"type\": \"ping\"}");
    assert_true(eb_test_ws_wait(&c, "\"pong\"", 10) >= 0);
    assert_int_equal(eb_ws_count(ws), 1);
    /* the client leaves: the socket is given back once */
    eb_test_ws_free(&c);
    wait_done(1);
    assert_int_equal(eb_ws_count(ws), 0);
    eb_ws_close(&ws);
    assert_null(ws);
    assert_int_equal(atomic_load(&done_calls), 1);
}

/* A wrong token is closed with 4401 and gets nothing. */
static void test_wrong_token(void **state)
{
    EbWsConfig cfg = {.token_ok = token_ok};
    EbWs *ws = NULL;
    EbTestWs c;
    (void)state;

    atomic_store(&done_calls, 0);
    assert_int_equal(eb_ws_open(&cfg, &ws), 0);
    pair(ws, "events", &c);
    eb_test_ws_send(&c, "{\"token\": \"bad-token\"}");
    assert_int_equal(eb_test_ws_wait(&c, "\"ready\"", 10), -1);
    assert_int_equal(c.closed_code, 4401);
    eb_ws_publish(ws, "events", "test.event", "{}");
    assert_int_equal(c.nb_msgs, 0);
    eb_test_ws_free(&c);
    wait_done(1);
    eb_ws_close(&ws);
}

/* The first frame came with the upgrade request (extra): the hub reads it
 * before the socket. A client frame is masked (RFC 6455 5.3): here with a
 * zero key, so the payload reads as it is. */
static void test_extra_bytes(void **state)
{
    static const char token[] = "{\"token\": \"good-token\"}";
    EbWsConfig cfg = {.token_ok = token_ok};
    uint8_t frame[64] = {0x81, 0x80 | (uint8_t)(sizeof(token) - 1), 0, 0, 0, 0};
    EbWs *ws = NULL;
    EbTestWs c;
    int sv[2];
    (void)state;

    atomic_store(&done_calls, 0);
    memcpy(frame + 6, token, sizeof(token) - 1);
    assert_int_equal(eb_ws_open(&cfg, &ws), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(eb_ws_adopt(ws, sv[0], frame, 6 + sizeof(token) - 1, "events", 0, on_done,
                                 (void *)(intptr_t)sv[0]),
                     0);
    eb_test_ws_client(&c, sv[1]);
    assert_int_equal(eb_test_ws_wait(&c, "\"ready\"", 10), 0);
    eb_test_ws_free(&c);
    wait_done(1);
    eb_ws_close(&ws);
}

/* What the hub hands its owner on open topics (test_open_topic). */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_text[16][128];
static uint64_t seen_conn[16], joined_conn[4];
static int seen_moderator[16], nb_seen, nb_joined;

static void on_message(void *opaque, uint64_t conn, const char *topic, int moderator,
                       const char *text, size_t len)
{
    (void)opaque;
    (void)topic;
    pthread_mutex_lock(&seen_lock);
    if (nb_seen < 16) {
        snprintf(seen_text[nb_seen], sizeof(seen_text[0]), "%.*s", (int)len, text);
        seen_conn[nb_seen] = conn;
        seen_moderator[nb_seen++] = moderator;
    }
    pthread_mutex_unlock(&seen_lock);
}

static void on_join(void *opaque, uint64_t conn, const char *topic)
{
    (void)opaque;
    pthread_mutex_lock(&seen_lock);
    if (nb_joined < 4 && !strcmp(topic, "chat:a"))
        joined_conn[nb_joined++] = conn;
    pthread_mutex_unlock(&seen_lock);
}

static int seen_count(void)
{
    int n;
    pthread_mutex_lock(&seen_lock);
    n = nb_seen;
    pthread_mutex_unlock(&seen_lock);
    return n;
}

/* An open topic: a viewer is ready without a token and gets the topic's
 * events; its messages reach the owner within the rate (past it: an
 * error, dropped); a wrong token leaves it a viewer, the right one makes
 * a moderator; eb_ws_send_to reaches one connection; the cap per topic
 * refuses the next viewer, and counts topics apart. */
static void test_open_topic(void **state)
{
    EbWsConfig cfg = {.token_ok = token_ok,
                      .on_message = on_message,
                      .on_join = on_join,
                      .rate = 1,
                      .burst = 3,
                      .max_per_topic = 2};
    EbWs *ws = NULL;
    EbTestWs a, b, other;
    int sv[2], n;
    (void)state;

    atomic_store(&done_calls, 0);
    assert_int_equal(eb_ws_open(&cfg, &ws), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(
        eb_ws_adopt(ws, sv[0], NULL, 0, "chat:a", EB_WS_OPEN, on_done, (void *)(intptr_t)sv[0]), 0);
    eb_test_ws_client(&a, sv[1]);
    assert_true(eb_test_ws_wait(&a, "{\"type\":\"ready\",\"data\":{\"moderator\":false}}", 10) >=
                0);
    pair(ws, "events", &other); /* a token topic: not counted with chat:a */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(
        eb_ws_adopt(ws, sv[0], NULL, 0, "chat:a", EB_WS_OPEN, on_done, (void *)(intptr_t)sv[0]), 0);
    eb_test_ws_client(&b, sv[1]);
    assert_true(eb_test_ws_wait(&b, "\"ready\"", 10) >= 0);
    assert_int_equal(eb_ws_topic_count(ws, "chat:a"), 2);
    /* the third viewer of chat:a: refused, its socket given back at once */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(
        eb_ws_adopt(ws, sv[0], NULL, 0, "chat:a", EB_WS_OPEN, on_done, (void *)(intptr_t)sv[0]),
        EB_ERR(EBUSY));
    close(sv[1]);
    assert_int_equal(atomic_load(&done_calls), 1);

    /* viewers get the topic's events with no token */
    eb_ws_publish(ws, "chat:a", "chat.message", "{\"text\":\"x\"}");
    assert_true(eb_test_ws_wait(&a, "\"chat.message\"", 10) >= 0);
    assert_true(eb_test_ws_wait(&b, "\"chat.message\"", 10) >= 0);

    /* the burst (3) goes through, the fourth is refused; pings are free */
    for (int i = 0; i < 4; i++) {
        char m[64];
        snprintf(m, sizeof(m), "{\"type\":\"message\",\"n\":%d}", i);
        eb_test_ws_send(&a, m);
    }
    eb_test_ws_send(&a, "{\"type\":\"ping\"}");
    assert_true(eb_test_ws_wait(&a, "too many messages: at most 1 a second", 10) >= 0);
    assert_true(eb_test_ws_wait(&a, "\"pong\"", 10) >= 0);
    for (int i = 0; i < 100 && seen_count() < 3; i++)
        usleep(10 * 1000);
    assert_int_equal(seen_count(), 3);
    pthread_mutex_lock(&seen_lock);
    assert_string_equal(seen_text[0], "{\"type\":\"message\",\"n\":0}");
    assert_string_equal(seen_text[2], "{\"type\":\"message\",\"n\":2}");
    assert_int_equal(seen_moderator[0], 0);
    /* both joined, and the messages name a's connection */
    assert_int_equal(nb_joined, 2);
    assert_true(seen_conn[0] == joined_conn[0]);
    pthread_mutex_unlock(&seen_lock);

    /* tokens: a wrong one leaves b a viewer, the right one a moderator */
    eb_test_ws_send(&b, "{\"token\":\"bad-token\"}");
    assert_true(eb_test_ws_wait(&b, "you are a viewer", 10) >= 0);
    eb_test_ws_send(&b, "{\"token\":\"good-token\"}");
    assert_true(eb_test_ws_wait(&b, "\"moderator\":true", 10) >= 0);
    eb_test_ws_send(&b, "{\"type\":\"delete\",\"id\":1}");
    for (int i = 0; i < 100 && seen_count() < 4; i++)
        usleep(10 * 1000);
    pthread_mutex_lock(&seen_lock);
    assert_int_equal(nb_seen, 4);
    assert_int_equal(seen_moderator[3], 1);
    assert_true(seen_conn[3] == joined_conn[1]);
    pthread_mutex_unlock(&seen_lock);

    /* one connection alone */
    eb_ws_send_to(ws, joined_conn[1], "note", "{\"for\":\"b\"}");
    assert_true(eb_test_ws_wait(&b, "{\"for\":\"b\"}", 10) >= 0);
    n = a.nb_msgs;
    eb_ws_publish(ws, "chat:a", "mark", "{}");
    assert_true(eb_test_ws_wait(&a, "\"mark\"", 10) >= 0);
    for (int i = n; i < a.nb_msgs; i++)
        assert_null(strstr(a.msgs[i], "\"for\""));

    eb_test_ws_free(&a);
    eb_test_ws_free(&b);
    eb_test_ws_free(&other);
    wait_done(4);
    eb_ws_close(&ws);
}

/* Past EB_WS_MAX_CONNECTIONS the hub refuses (and gives the socket back
 * at once); closing the hub gives every socket back, each once. */
static void test_limit_and_close(void **state)
{
    EbWsConfig cfg = {.token_ok = token_ok};
    EbWs *ws = NULL;
    int clients[EB_WS_MAX_CONNECTIONS], sv[2];
    (void)state;

    atomic_store(&done_calls, 0);
    assert_int_equal(eb_ws_open(&cfg, &ws), 0);
    for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(
            eb_ws_adopt(ws, sv[0], NULL, 0, "events", 0, on_done, (void *)(intptr_t)sv[0]), 0);
        clients[i] = sv[1];
    }
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(eb_ws_adopt(ws, sv[0], NULL, 0, "events", 0, on_done, (void *)(intptr_t)sv[0]),
                     EB_ERR(EBUSY));
    close(sv[1]);
    assert_int_equal(atomic_load(&done_calls), 1);
    assert_int_equal(eb_ws_count(ws), EB_WS_MAX_CONNECTIONS);
    eb_ws_close(&ws);
    assert_int_equal(atomic_load(&done_calls), EB_WS_MAX_CONNECTIONS + 1);
    for (int i = 0; i < EB_WS_MAX_CONNECTIONS; i++)
        close(clients[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),  cmocka_unit_test(test_events_in_order),
        cmocka_unit_test(test_wrong_token), cmocka_unit_test(test_extra_bytes),
        cmocka_unit_test(test_open_topic),  cmocka_unit_test(test_limit_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
