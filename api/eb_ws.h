/*
 * The daemon's WebSocket hub: connections the HTTP server upgraded
 * (libmicrohttpd's MHD_create_response_for_upgrade) are handed to one
 * thread, eb-ws, which frames them with wslay and pushes events to them.
 * GET /v1/events is the first user: the web console's live view of jobs
 * (issue 18); the channels' chat is meant to be the next.
 *
 * Protocol (text frames, one JSON object each):
 *   - the client's first message is {"token": "..."} (a browser cannot
 *     set Authorization on a WebSocket); the hub answers {"type":
 *     "ready"} when the check passes, or closes with code 4401 and the
 *     reason "a valid bearer token is required". A client that says
 *     nothing for EB_WS_AUTH_SECONDS is closed the same way. With no
 *     tokens configured (a loopback-only daemon) any token passes.
 *   - then the hub sends what is published to the connection's topic:
 *     {"type": <event>, "data": {...}}.
 *   - the client may send {"type": "ping"}; the hub answers {"type":
 *     "pong"}. Anything else is ignored.
 *
 * Open topics (eb_ws_adopt with EB_WS_OPEN: a live channel's chat): no
 * token is needed. The hub says {"type": "ready", "data": {"moderator":
 * false}} at once and calls on_join; a client's {"token": ...} makes it a
 * moderator (ready again, "moderator": true) or gets {"type": "error",
 * "data": {"error": ...}} and stays a viewer; any other message goes to
 * on_message, at most rate a second (burst at once) per connection, else
 * the client gets an error and the message is dropped. Replies to one
 * connection go with eb_ws_send_to.
 *
 * Bounds: EB_WS_MAX_CONNECTIONS at once (the upgrade is refused beyond
 * that: 503); client messages of at most EB_WS_MAX_IN bytes (longer:
 * closed with 1009); a client that lets more than EB_WS_MAX_QUEUED bytes
 * wait unsent is closed (1008): one slow viewer never grows the daemon.
 *
 * Threads: eb_ws_publish and eb_ws_adopt may be called from any thread;
 * they queue under the hub's mutex and wake eb-ws, the only thread that
 * touches the sockets and the wslay contexts.
 */
#ifndef EB_WS_H
#define EB_WS_H

#include <stddef.h>
#include <stdint.h>

#define EB_WS_MAX_CONNECTIONS 1024
#define EB_WS_TOPIC_MAX 64 /* a topic's name, with its NUL */
#define EB_WS_MAX_IN 4096
#define EB_WS_MAX_QUEUED (1 << 20)
#define EB_WS_AUTH_SECONDS 10

typedef struct EbWs EbWs;

typedef struct EbWsConfig {
    /* 1 when token opens the API (the daemon's bearer-token check). */
    int (*token_ok)(void *opaque, const char *token);
    void *opaque;
    /* Open topics (all may be NULL / 0): a client's message (text, len
     * bytes: one JSON text) from connection conn, and a new connection,
     * both called on eb-ws: they must not block (queue the work). */
    void (*on_message)(void *opaque, uint64_t conn, const char *topic, int moderator,
                       const char *text, size_t len);
    void (*on_join)(void *opaque, uint64_t conn, const char *topic);
    double rate, burst; /* a connection's messages a second, and at once */
    int max_per_topic;  /* connections on one open topic at most; 0: no limit */
} EbWsConfig;

#define EB_WS_OPEN 1 /* eb_ws_adopt: an open topic (see above) */

/* Starts the hub and its thread. 0 or a negative errno. */
int eb_ws_open(const EbWsConfig *cfg, EbWs **out);

/* Closes every connection (1001, going away) and stops the thread. */
void eb_ws_close(EbWs **ws);

/* The value of Sec-WebSocket-Accept for a request's Sec-WebSocket-Key
 * (RFC 6455: base64 of SHA-1 over the key and the protocol's GUID) into
 * out (29 bytes with the NUL). 0, or EB_ERR(EINVAL) for a key that is not
 * 16 bytes in base64. */
int eb_ws_accept_key(const char *key, char out[29]);

/* Takes over an upgraded connection: sock (the socket MHD gives the
 * upgrade handler), the bytes that came after the request (extra), the
 * topic it listens to, flags (EB_WS_OPEN or 0), and done/done_opaque,
 * called on eb-ws when the connection is over (MHD_upgrade_action(...,
 * CLOSE) goes there). 0, or EB_ERR(EBUSY) when EB_WS_MAX_CONNECTIONS are
 * open or an open topic has max_per_topic (done is then called at once,
 * on the caller's thread). */
int eb_ws_adopt(EbWs *ws, int sock, const void *extra, size_t extra_size, const char *topic,
                int flags, void (*done)(void *opaque), void *done_opaque);

/* Sends {"type": type, "data": data (JSON text)} to every authenticated
 * connection of topic. */
void eb_ws_publish(EbWs *ws, const char *topic, const char *type, const char *data);

/* Sends {"type": type, "data": data} to the connection conn alone (on_join
 * and on_message name it); nothing when it is gone. Any thread. */
void eb_ws_send_to(EbWs *ws, uint64_t conn, const char *type, const char *data);

/* Connections of topic, open or being opened. */
int eb_ws_topic_count(EbWs *ws, const char *topic);

/* Connections open now (authenticated or not). */
int eb_ws_count(EbWs *ws);

#endif
