/*
 * The tests' WebSocket client: wslay's client side on a connected socket
 * (a TCP connection whose HTTP upgrade the caller did, or one end of a
 * socketpair handed to the hub). Every text message received is kept, in
 * order; the server's close code too. The failures are cmocka's.
 */
#ifndef EB_TEST_WS_H
#define EB_TEST_WS_H

#include <jansson.h>
#include <wslay/wslay.h>

#define EB_TEST_WS_MAX_MSGS 1024

typedef struct EbTestWs {
    int fd;
    wslay_event_context_ptr ctx;
    char *msgs[EB_TEST_WS_MAX_MSGS]; /* text messages received, in order */
    int nb_msgs;
    int closed_code; /* the server's close code; 0: none yet */
} EbTestWs;

/* Takes over fd (blocking reads time out after 200 ms). */
void eb_test_ws_client(EbTestWs *w, int fd);

/* Sends one text message. */
void eb_test_ws_send(EbTestWs *w, const char *text);

/* Reads for up to seconds until a message contains want: its index; -1
 * when the server closed or the time ran out (want NULL: read until the
 * server closes). */
int eb_test_ws_wait(EbTestWs *w, const char *want, int seconds);

/* The "data" of received message k, parsed (a new reference; the
 * failure is cmocka's when the message is not JSON). */
json_t *eb_test_ws_data(EbTestWs *w, int k);

/* Frees the client and closes fd. */
void eb_test_ws_free(EbTestWs *w);

#endif
