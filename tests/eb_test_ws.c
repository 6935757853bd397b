/* The tests' WebSocket client (see eb_test_ws.h). */
#include "eb_test_ws.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

static ssize_t eb_test_ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                               void *user)
{
    EbTestWs *w = user;
    ssize_t n = recv(w->fd, buf, len, 0);
    (void)flags;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t eb_test_ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                                  int flags, void *user)
{
    EbTestWs *w = user;
    ssize_t n = send(w->fd, data, len, MSG_NOSIGNAL);
    (void)flags;
    if (n < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static int eb_test_ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rand();
    return 0;
}

static void eb_test_ws_msg(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    EbTestWs *w = user;
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME && w->nb_msgs < EB_TEST_WS_MAX_MSGS)
        w->msgs[w->nb_msgs++] = strndup((const char *)arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
        w->closed_code = arg->status_code;
}

void eb_test_ws_client(EbTestWs *w, int fd)
{
    static const struct wslay_event_callbacks cbs = {
        .recv_callback = eb_test_ws_recv,
        .send_callback = eb_test_ws_send_cb,
        .genmask_callback = eb_test_ws_genmask,
        .on_msg_recv_callback = eb_test_ws_msg,
    };
    struct timeval tv = {0, 200 * 1000};

    memset(w, 0, sizeof(*w));
    w->fd = fd;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(wslay_event_context_client_init(&w->ctx, &cbs, w), 0);
}

void eb_test_ws_send(EbTestWs *w, const char *text)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    assert_int_equal(wslay_event_queue_msg(w->ctx, &m), 0);
    assert_int_equal(wslay_event_send(w->ctx), 0);
}

int eb_test_ws_wait(EbTestWs *w, const char *want, int seconds)
{
    for (int i = 0; i < seconds * 5; i++) {
        for (int k = 0; k < w->nb_msgs; k++)
            if (want && strstr(w->msgs[k], want))
                return k;
        if (w->closed_code)
            return -1;
        if (wslay_event_recv(w->ctx) != 0)
            return -1;
    }
    return -1;
}

json_t *eb_test_ws_data(EbTestWs *w, int k)
{
    json_t *o, *d;

    assert_true(k >= 0 && k < w->nb_msgs);
    o = json_loads(w->msgs[k], 0, NULL);
    assert_non_null(o);
    d = json_incref(json_object_get(o, "data"));
    json_decref(o);
    return d;
}

void eb_test_ws_free(EbTestWs *w)
{
    wslay_event_context_free(w->ctx);
    close(w->fd);
    for (int i = 0; i < w->nb_msgs; i++)
        free(w->msgs[i]);
    w->nb_msgs = 0;
}
