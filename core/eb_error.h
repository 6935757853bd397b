/*
 * encbox error codes. Every encbox function that can fail returns 0 or a
 * negative number: a negative errno (EB_ERR(ENOMEM)), a libav AVERROR (they
 * are negative errno or FFERRTAG codes), or one of the encbox codes below for
 * failures that have no errno of their own. eb_strerror() names all three.
 */
#ifndef EB_ERROR_H
#define EB_ERROR_H

#include <errno.h>

#include <libavutil/error.h>

#define EB_ERR(e) (-(e))

/* End of stream on a queue or a stage; the libav value, since frames and
 * packets are libav's. */
#define EB_EOF AVERROR_EOF

/* encbox's own codes, far below any errno and distinct from FFERRTAG. */
enum EbErrorCode {
    EB_ERR_NO_VIDEO = -0x45420001, /* input has no video stream */
    EB_ERR_HDR_UNSUPPORTED,        /* PQ/HLG source */
    EB_ERR_CODEC_UNSUPPORTED,      /* no decoder for the input's codec */
    EB_ERR_NOT_MEDIA,              /* not a container libavformat knows */
    EB_ERR_EMPTY_INPUT,            /* zero-byte file */
    EB_ERR_NO_SPACE_ESTIMATE,      /* estimated output exceeds free space */
    EB_ERR_EXISTS,                 /* video id already published */
    EB_ERR_BAD_ID,                 /* video id not [A-Za-z0-9_-]{1,64} */
    EB_ERR_CANCELED,               /* job canceled by its owner */
    EB_ERR_NO_FRAMES,              /* input decoded to zero frames */
    EB_ERR_TRUNCATED,              /* input holds less than it states (eb_source_short) */
    EB_ERR_INPUT_CONFINED,         /* input (or a file it refers to) outside the input roots */
    EB_ERR_INPUT_LIMIT,            /* input longer or larger than a configured limit */
    EB_ERR_DAMAGED,                /* input damaged past what decoding can conceal */
    EB_ERR_BAD_OPTION,             /* a job option out of range (a usage error) */
};

/* Text for any code this project returns. The pointer stays valid until the
 * next call on the same thread (AVERROR texts use a thread-local buffer). */
const char *eb_strerror(int err);

#endif
