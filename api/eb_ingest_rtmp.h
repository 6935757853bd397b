/*
 * The daemon's one RTMP listening port, shared by every live channel.
 * Publishers (ffmpeg, OBS, hardware encoders) publish to
 * `rtmp://HOST:PORT/live/<stream key>`; when the publisher sends
 * publish(key) the listener asks the daemon (lookup) which channel that
 * key belongs to *before* accepting the publish, so an unknown key or a
 * busy channel is refused with an RTMP status the publisher shows, and no
 * media of a refused publisher ever reaches data(). What an admitted
 * publisher sends is delivered as an FLV byte stream (FLV header, then
 * tags with their PreviousTagSize fields: what libavformat's flv demuxer
 * reads).
 *
 * Threads: one thread of ours, eb-rtmp-ingest, accepts connections and
 * reads every one of them (poll over non-blocking sockets), so lookup(),
 * open(), data() and close() are all called on it, one at a time, never
 * with the module's lock held.
 *
 * Why not libavformat's RTMP listen mode: it serves one client per open
 * and accepts any stream key; a port shared by many channels needs the key
 * checked per connection before the publish is accepted.
 */
#ifndef EB_INGEST_RTMP_H
#define EB_INGEST_RTMP_H

#include <stddef.h>
#include <stdint.h>

/* The longest channel name lookup may return (bytes, without the NUL). */
#define EB_RTMP_CHANNEL_MAX 64
/* The longest stream key a publisher may send (bytes); longer ones are
 * refused (NetStream.Publish.BadName) without asking lookup. */
#define EB_RTMP_KEY_MAX 256

typedef struct EbIngestRtmp EbIngestRtmp;

typedef struct EbIngestRtmpConfig {
    /* "HOST:PORT": an IPv4 literal ("0.0.0.0:1935", "127.0.0.1:0"),
     * "localhost:PORT", or a bracketed IPv6 literal ("[::]:1935",
     * dual-stack for the wildcard). Port 0: any free port
     * (eb_ingest_rtmp_port says which). Not kept after eb_ingest_rtmp_open. */
    const char *listen;
    /* Required. Called on eb-rtmp-ingest when a publisher sends
     * publish(key) on a connection to application app (connect's app,
     * "live": other applications are refused at connect, before any
     * lookup). Returns 0 and fills channel (NUL-terminated, 1 to
     * EB_RTMP_CHANNEL_MAX bytes) when the key opens a channel that may
     * publish now, or a negative error to refuse the publish:
     * EB_ERR(ENOENT) unknown key (the publisher gets onStatus
     * NetStream.Publish.BadName), EB_ERR(EBUSY) the channel already has a
     * publisher (NetStream.Publish.Denied), anything else BadName. The key
     * is the publisher's secret: compare it here (in constant time); the
     * module never logs it. It must be quick: every connection waits while
     * it runs. Passing lookup is no claim on the channel: open() is where
     * the channel is taken. */
    int (*lookup)(void *opaque, const char *app, const char *key, char *channel, size_t size);
    /* Optional. The publish of conn (an opaque id > 0, unique per
     * connection for the module's life) for channel passed lookup; called
     * before the publisher is told NetStream.Publish.Start. Return < 0 to
     * refuse it after all (the publisher gets NetStream.Publish.Denied, the
     * connection is closed, close() is not called for it). */
    int (*open)(void *opaque, const char *channel, uint64_t conn);
    /* Required. FLV bytes of conn: the first call starts with the 13-byte
     * FLV header ("FLV", version 1, flags, header size 9,
     * PreviousTagSize0 0); each call holds one or more whole tags, each
     * followed by its PreviousTagSize. Flags say audio and video (5)
     * unless the publisher's onMetaData names only one of them. Tag
     * timestamps are the publisher's RTMP timestamps (ms, 32 bits). buf is
     * valid during the call only. The return value is ignored (kept for a
     * future back-pressure signal); call eb_ingest_rtmp_drop to end a
     * connection from here. */
    int (*data)(void *opaque, uint64_t conn, const uint8_t *buf, size_t size);
    /* Optional. The connection ended: the publisher unpublished or closed
     * (why "unpublished" or "publisher disconnected"), it broke the
     * protocol, fell silent (idle_timeout_ms), eb_ingest_rtmp_drop
     * ("dropped") or eb_ingest_rtmp_close ("shutdown"). Called exactly once
     * per conn whose open() succeeded, after its last data(); why is a
     * short text valid during the call. */
    void (*close)(void *opaque, uint64_t conn, const char *why);
    void *opaque;
    /* Connections open at once, publishing or not; more are accepted and
     * closed at once (logged). 0: 64. */
    int max_conns;
    /* A connection that has not started publishing this long after it was
     * accepted is closed (handshake, connect and publish must fit in it).
     * 0: 10000 ms. */
    int publish_timeout_ms;
    /* A publishing connection that sends nothing for this long is closed
     * (why "idle"). 0: 30000 ms. */
    int idle_timeout_ms;
} EbIngestRtmpConfig;

/* Binds and listens on cfg->listen and starts the eb-rtmp-ingest thread.
 * cfg is copied (its opaque and callbacks must stay valid until
 * eb_ingest_rtmp_close returns); *out is the caller's, freed with
 * eb_ingest_rtmp_close. On failure returns a negative errno (EINVAL bad
 * config, EADDRINUSE and other socket errors), *out is NULL, and detail
 * (may be NULL) says why. */
int eb_ingest_rtmp_open(const EbIngestRtmpConfig *cfg, EbIngestRtmp **out, char *detail,
                        size_t size);

/* The bound TCP port (useful when cfg->listen asked for port 0). */
int eb_ingest_rtmp_port(const EbIngestRtmp *s);

/* Figures of one live connection. Counters are totals since the
 * connection was accepted. */
typedef struct EbIngestRtmpStats {
    int64_t bytes_received;   /* TCP payload bytes, handshake included */
    int64_t messages;         /* RTMP messages received (control, commands, media) */
    int64_t flv_bytes;        /* bytes handed to data() */
    int64_t publish_start_ms; /* wall clock (ms since the epoch) of the admitted publish */
    double mbps_recv;         /* mean receive rate since the connection was accepted */
    char peer[64];            /* the publisher's address, "a.b.c.d:port" or "[v6]:port" */
} EbIngestRtmpStats;

/* Fills *out for conn. Any thread, callbacks included. 0, or
 * EB_ERR(ENOENT) for a conn that is not live. */
int eb_ingest_rtmp_stats(EbIngestRtmp *s, uint64_t conn, EbIngestRtmpStats *out);

/* Closes one connection (a channel is deleted, or its publisher is
 * replaced). From any other thread: returns once close() for conn has
 * returned (why "dropped", or the publisher's own end if it came first),
 * so no callback for conn follows. From inside a callback (the module's
 * thread): marks it, and close() follows as soon as that callback returns.
 * 0, or EB_ERR(ENOENT) when conn is not live. */
int eb_ingest_rtmp_drop(EbIngestRtmp *s, uint64_t conn);

/* Stops listening, closes every connection (close(conn, "shutdown") is
 * called for each live one whose open() succeeded, on eb-rtmp-ingest,
 * before this returns), stops the thread, frees the module and NULLs *s.
 * NULL or *s NULL: nothing. Not from a callback (it would wait for itself:
 * it logs and does nothing). */
void eb_ingest_rtmp_close(EbIngestRtmp **s);

#endif
