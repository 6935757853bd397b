/*
 * The server side of one RTMP publisher's connection, as a pure state
 * machine: bytes in (eb_rtmp_proto_feed), bytes to send back
 * (eb_rtmp_proto_output), the published media out as an FLV byte stream
 * through a callback. No sockets, no threads, no clock: the RTMP ingest
 * port (eb_ingest_rtmp.c) drives one per connection, and the unit tests
 * and the fuzz target (api/fuzz/fuzz_rtmp.c) feed it hand-made bytes.
 *
 * What it speaks: the plain handshake (version 3, no digest), the chunk
 * stream (every basic and message header form, extended timestamps, also
 * on continuation chunks, interleaved chunk streams, Set Chunk Size, Abort,
 * Window Acknowledgement Size and the Acknowledgements it asks for, ping),
 * AMF0 commands (connect, releaseStream, FCPublish, createStream, publish,
 * FCUnpublish, deleteStream, closeStream), media (audio 8, video 9, data
 * 18 and their AMF3-flavoured forms 15/17, aggregates 22). Not spoken:
 * RTMPE/RTMPS, the digest handshake (ffmpeg and librtmp/OBS publishers skip
 * it when the server's version field is zero, which ours is), play.
 */
#ifndef EB_RTMP_PROTO_H
#define EB_RTMP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "eb_ingest_rtmp.h" /* EB_RTMP_CHANNEL_MAX, EB_RTMP_KEY_MAX */

/* Limits (why each, in eb_rtmp_proto.c's DESIGN comment). */
#define EB_RTMP_APP_MAX 128              /* connect's app, bytes */
#define EB_RTMP_MSG_MAX (8 << 20)        /* one message once publishing */
#define EB_RTMP_MSG_MAX_EARLY (64 << 10) /* one message before publish */
#define EB_RTMP_BUFFERED_MAX (16 << 20)  /* unfinished messages, all streams */
#define EB_RTMP_CHUNK_STREAMS_MAX 16     /* distinct chunk stream ids */
#define EB_RTMP_AMF_DEPTH_MAX 16         /* AMF0 objects/arrays nesting */
#define EB_RTMP_OUT_MAX (64 << 10)       /* replies the publisher has not read */
#define EB_RTMP_OUT_CHUNK_SIZE 4096      /* our chunk size after connect */
#define EB_RTMP_WINDOW 2500000           /* the ack window we announce */

/* eb_rtmp_proto_feed's results besides 0 (go on) and < 0 (close now). */
#define EB_RTMP_STOP 1 /* a callback returned < 0: stop reading */
#define EB_RTMP_DONE 2 /* the session is over: send what is pending, close */

typedef struct EbRtmpProto EbRtmpProto;

typedef struct EbRtmpProtoCallbacks {
    /* publish(key) arrived on a connection to app: 0 and channel filled
     * (NUL-terminated, non-empty) to admit it, or a negative error to
     * refuse (EB_ERR(EBUSY): NetStream.Publish.Denied, anything else:
     * NetStream.Publish.BadName). Required. */
    int (*lookup)(void *opaque, const char *app, const char *key, char *channel, size_t size);
    /* The publish was admitted for channel; < 0 refuses it after all
     * (NetStream.Publish.Denied). Optional. */
    int (*open)(void *opaque, const char *channel);
    /* FLV bytes (the first call starts with the FLV header): one or more
     * whole tags, each with its PreviousTagSize. buf is valid during the
     * call only. < 0: stop (eb_rtmp_proto_feed returns EB_RTMP_STOP).
     * Required. */
    int (*data)(void *opaque, const uint8_t *buf, size_t size);
    void *opaque;
} EbRtmpProtoCallbacks;

/* A fresh session (waiting for the handshake); cb is copied. *out is the
 * caller's, freed with eb_rtmp_proto_free. 0, EB_ERR(EINVAL) or
 * EB_ERR(ENOMEM). */
int eb_rtmp_proto_new(const EbRtmpProtoCallbacks *cb, EbRtmpProto **out);

/* Frees the session and NULLs *p. NULL or *p NULL: nothing. */
void eb_rtmp_proto_free(EbRtmpProto **p);

/* Takes bytes received from the publisher, calling lookup/open/data as
 * whole messages complete. Returns 0 (all of buf taken, go on),
 * EB_RTMP_STOP (data() asked to stop; *used says how much was taken),
 * EB_RTMP_DONE (the publisher ended the session, or it was refused and the
 * refusal waits in the output: send it, then close), or a negative errno
 * (EB_ERR(EPROTO) for bytes that break the protocol or a limit,
 * EB_ERR(ENOMEM)): close at once. eb_rtmp_proto_why says why for all but
 * 0. After a non-zero result every later call returns the same. used may
 * be NULL. */
int eb_rtmp_proto_feed(EbRtmpProto *p, const uint8_t *buf, size_t size, size_t *used);

/* Bytes waiting to be sent to the publisher (handshake, replies,
 * acknowledgements): the pointer stays valid until the next feed or
 * consumed call. *size 0: nothing. */
const uint8_t *eb_rtmp_proto_output(const EbRtmpProto *p, size_t *size);
/* n bytes of the output were sent. */
void eb_rtmp_proto_consumed(EbRtmpProto *p, size_t n);

/* Short text for the last non-zero feed result ("" before one). */
const char *eb_rtmp_proto_why(const EbRtmpProto *p);
/* 1 once a publish was admitted (lookup and open said yes). */
int eb_rtmp_proto_publishing(const EbRtmpProto *p);
/* Whole RTMP messages received so far (control, commands, media). */
int64_t eb_rtmp_proto_messages(const EbRtmpProto *p);

/* The size of the one AMF0 value at buf (number, boolean, string, long
 * string, object, null, undefined, ECMA array, strict array, date), with
 * objects and arrays nested at most EB_RTMP_AMF_DEPTH_MAX deep. Pure.
 * 0 and *used, or EB_ERR(EINVAL) (truncated, or an object end where no
 * object ends), EB_ERR(ELOOP) (nested too deep), EB_ERR(ENOTSUP) (another
 * type: reference, movie clip, typed object, XML, AMF3 switch). */
int eb_rtmp_amf0_skip(const uint8_t *buf, size_t size, size_t *used);

#endif
