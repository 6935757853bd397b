/*
 * The daemon's one SRT listening port, shared by every live channel.
 * Publishers (encoders, OBS, ffmpeg) connect as SRT callers and name the
 * channel they publish in the access-control stream id
 * `#!::r=<channel>,m=publish`; the listener asks the daemon (lookup) for
 * that channel's passphrase *before* the handshake completes, so an unknown
 * channel, a busy one or a wrong passphrase is refused by libsrt itself and
 * no media of a refused publisher ever reaches data().
 *
 * Threads: libsrt's receive thread runs lookup (the listen callback); one
 * thread of ours, eb-srt-ingest, accepts connections and reads every one of
 * them (srt_epoll), so open(), data() and close() are all called on it, one
 * at a time, never with the module's lock held.
 *
 * Why libsrt and not libavformat's srt protocol: one listener for many
 * channels needs the listen callback (per-connection passphrase, refusal
 * with a reason before any data), which libavformat does not expose.
 */
#ifndef EB_INGEST_SRT_H
#define EB_INGEST_SRT_H

#include <stddef.h>
#include <stdint.h>

/* Channel names: [a-z0-9_-]{1,EB_SRT_CHANNEL_MAX}. */
#define EB_SRT_CHANNEL_MAX 64
/* SRT's passphrase rule (SRTO_PASSPHRASE). */
#define EB_SRT_PASSPHRASE_MIN 10
#define EB_SRT_PASSPHRASE_MAX 79

typedef struct EbIngestSrt EbIngestSrt;

typedef struct EbIngestSrtConfig {
    /* "HOST:PORT": an IPv4 literal ("0.0.0.0:9000", "127.0.0.1:0"),
     * "localhost:PORT", or a bracketed IPv6 literal ("[::]:9000",
     * dual-stack for the wildcard). Port 0: any free port
     * (eb_ingest_srt_port says which). Not kept after eb_ingest_srt_open. */
    const char *listen;
    /* Required. Asked in the SRT listen callback (on libsrt's thread, before
     * the handshake completes) for the channel a publisher names: returns 0
     * and fills passphrase (NUL-terminated, 10..79 chars, SRT's rule) when
     * the channel exists and may publish now, or a negative error to refuse
     * the connection: EB_ERR(ENOENT) unknown channel (the publisher sees
     * reject reason SRT_REJX_NOTFOUND, 1404), EB_ERR(EBUSY) already has a
     * publisher (SRT_REJX_CONFLICT, 1409), EB_ERR(EACCES)/EB_ERR(EPERM)
     * (SRT_REJX_FORBIDDEN, 1403), anything else SRT_REJX_ISE (1500). It must
     * be quick and must not call eb_ingest_srt_drop/eb_ingest_srt_close.
     * Passing lookup is no claim on the channel: two publishers racing for
     * it can both pass; open() is where the channel is taken. */
    int (*lookup)(void *opaque, const char *channel, char *passphrase, size_t size);
    /* Optional. A publisher's connection is established for channel (conn:
     * an opaque id > 0, unique per connection for the module's life). Return
     * < 0 to drop it (then close() is not called for it). */
    int (*open)(void *opaque, const char *channel, uint64_t conn);
    /* Required. Bytes received from conn (MPEG-TS, usually 1316-byte
     * messages). buf is valid during the call only. The return value is
     * ignored (kept for a future back-pressure signal); call
     * eb_ingest_srt_drop to end a connection from here. */
    int (*data)(void *opaque, uint64_t conn, const uint8_t *buf, size_t size);
    /* Optional. The connection ended: the publisher closed, the link broke,
     * eb_ingest_srt_drop, or eb_ingest_srt_close. Called exactly once per
     * conn whose open() succeeded, after its last data(); why is a short
     * text valid during the call. */
    void (*close)(void *opaque, uint64_t conn, const char *why);
    void *opaque;
    /* Receive latency in ms (SRTO_RCVLATENCY, the receiver's half of
     * SRTO_LATENCY); 0: 120, SRT's live default. The effective latency is
     * the larger of this and the publisher's SRTO_PEERLATENCY. */
    int latency_ms;
} EbIngestSrtConfig;

/* Parses an SRT access-control stream id `#!::key=value,key=value...`
 * (keys in any order; unknown keys such as u= are ignored; r and m may
 * each appear once). channel receives r (required, [a-z0-9_-]{1,64}), mode
 * receives m ("request", SRT's default, when absent). Pure: no I/O, no
 * state. Returns 0, EB_ERR(EINVAL) when sid is not of that form, lacks r,
 * repeats a key, or names an invalid channel, or EB_ERR(ENOSPC) when a
 * buffer is too small (channel needs EB_SRT_CHANNEL_MAX + 1 to take any
 * valid name); on failure both buffers hold "". Refusing modes other than
 * "publish" is the caller's call. */
int eb_srt_streamid_parse(const char *sid, char *channel, size_t size, char *mode, size_t msize);

/* Binds and listens on cfg->listen and starts the eb-srt-ingest thread.
 * cfg is copied (its opaque and callbacks must stay valid until
 * eb_ingest_srt_close returns); *out is the caller's, freed with
 * eb_ingest_srt_close. On failure returns a negative errno (EINVAL bad
 * config, EADDRINUSE and other bind errors, EIO for libsrt failures without
 * an errno), *out is NULL, and detail (may be NULL) says why. */
int eb_ingest_srt_open(const EbIngestSrtConfig *cfg, EbIngestSrt **out, char *detail, size_t size);

/* The bound UDP port (useful when cfg->listen asked for port 0). */
int eb_ingest_srt_port(const EbIngestSrt *s);

/* Transport figures of one live connection, from srt_bstats. Counters are
 * totals since the connection opened (the module never clears them). */
typedef struct EbIngestSrtStats {
    double rtt_ms;              /* smoothed round-trip time */
    int64_t pkts_lost;          /* packets the receiver saw missing */
    int64_t pkts_retransmitted; /* retransmitted packets received */
    int64_t pkts_dropped;       /* too late to deliver, dropped */
    int64_t bytes_received;     /* payload bytes, retransmissions included */
    double mbps_recv;           /* mean receive rate since the connection opened */
} EbIngestSrtStats;

/* Fills *out for conn. Any thread, callbacks included. 0, EB_ERR(ENOENT)
 * for a conn that is not live, or EB_ERR(EIO) when libsrt fails. */
int eb_ingest_srt_stats(EbIngestSrt *s, uint64_t conn, EbIngestSrtStats *out);

/* Closes one connection (a channel is deleted, or its publisher is
 * replaced). From any other thread: returns once close() for conn has
 * returned (why "dropped", or the publisher's own end if it came first),
 * so no callback for conn follows. From inside open()/data() (the module's
 * thread): marks it, and close() follows as soon as that callback returns.
 * 0, or EB_ERR(ENOENT) when conn is not live. Not from lookup. */
int eb_ingest_srt_drop(EbIngestSrt *s, uint64_t conn);

/* Stops listening, closes every connection (close(conn, "shutdown") is
 * called for each live one, on eb-srt-ingest, before this returns), stops
 * the thread, frees the module and NULLs *s. NULL or *s NULL: nothing.
 * Not from a callback (it would wait for itself: it logs and does
 * nothing). */
void eb_ingest_srt_close(EbIngestSrt **s);

#endif
