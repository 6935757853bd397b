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
        cmocka_unit_test(test_accept_key),      cmocka_unit_test(test_events_in_order),
        cmocka_unit_test(test_wrong_token),     cmocka_unit_test(test_extra_bytes),
        cmocka_unit_test(test_limit_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
