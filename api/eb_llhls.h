/*
 * LL-HLS playlist delivery for the origin (RFC 8216bis, "Playlist
 * Delivery"): what the origin needs to know of a live media playlist that
 * the packager wrote, whether a blocking reload (_HLS_msn, _HLS_part) can be
 * answered now, and the delta update (_HLS_skip) of a playlist. Pure: text
 * in, decisions and text out; no file, no socket, no libmicrohttpd, any
 * thread. The origin (eb_api_server.c) reads the files and holds the
 * requests that have to wait.
 */
#ifndef EB_LLHLS_H
#define EB_LLHLS_H

#include <stddef.h>
#include <stdint.h>

#define EB_LLHLS_URI_MAX 512 /* a longer preload hint is not kept */

/* What eb_llhls_parse() reads of a media playlist. */
typedef struct EbLlhlsPlaylist {
    int low_latency;        /* EXT-X-SERVER-CONTROL CAN-BLOCK-RELOAD=YES */
    int ended;              /* EXT-X-ENDLIST */
    int version;            /* EXT-X-VERSION; 1 when absent */
    double target_duration; /* EXT-X-TARGETDURATION, seconds; 0 when absent */
    double part_target;     /* EXT-X-PART-INF PART-TARGET, seconds; 0: none */
    double can_skip_until;  /* SERVER-CONTROL CAN-SKIP-UNTIL, seconds; 0: no delta updates */
    int64_t media_sequence; /* EXT-X-MEDIA-SEQUENCE; 0 when absent */
    int nb_segments;        /* complete segments listed (an EXTINF and a URI each) */
    int delta;              /* an EXT-X-SKIP tag: a delta update already */
    int64_t skipped;        /* its SKIPPED-SEGMENTS (the first tag's); 0: none */
    int64_t last_msn;       /* the last complete segment's number (media_sequence + skipped
                             * + nb_segments - 1); media_sequence - 1: none */
    int64_t last_part_msn;  /* the segment of the last part listed (see eb_llhls_parse) */
    int last_part;          /* that part's index; -1: no part listed past the last segment */
    int parts_per_segment;  /* most parts listed for one complete segment; 0: none */
    char preload_hint[EB_LLHLS_URI_MAX]; /* URI of EXT-X-PRELOAD-HINT TYPE=PART; "": none */
    double edge_date; /* the live edge's program date-time, unix seconds: the end of the
                       * last segment or part listed, dated from the EXT-X-PROGRAM-DATE-TIME
                       * before it; 0 when nothing is dated */
} EbLlhlsPlaylist;

/* Reads text (len bytes, need not be NUL-terminated) into *out. Lines end
 * in LF or CRLF; unknown tags are skipped. The parts listed after the last
 * segment's URI are numbered from the last one's URI when it ends in
 * "<sequence>.<part>.<extension>" (the layout's segment_NNN.P.m4s: a
 * rendition ahead of the others lists a finished segment's parts and the
 * next segment's before the first one's EXTINF), else counted as parts of
 * segment last_msn + 1. Returns 0, or EB_ERR(EINVAL) when the text does
 * not start with #EXTM3U or holds a control character other than its line
 * ends (LF or CR LF; RFC 8216 4.1). */
int eb_llhls_parse(const char *text, size_t len, EbLlhlsPlaylist *out);

typedef enum EbLlhlsSkip {
    EB_LLHLS_SKIP_NO = 0,
    EB_LLHLS_SKIP_YES, /* _HLS_skip=YES: skip old segments */
    EB_LLHLS_SKIP_V2,  /* _HLS_skip=v2: and the EXT-X-DATERANGE tags of those */
} EbLlhlsSkip;

/* A request's delivery directives. */
typedef struct EbLlhlsRequest {
    int has_msn; /* _HLS_msn given */
    int64_t msn;
    int part; /* _HLS_part; -1: not given */
    EbLlhlsSkip skip;
} EbLlhlsRequest;

/* The query values as the origin received them (NULL: absent). A value
 * other than "YES" or "v2" for _HLS_skip is ignored (a full playlist).
 * Returns 0, or EB_ERR(EINVAL) for a bad request: _HLS_part without
 * _HLS_msn, or a value that is not a decimal integer (0 or more, no sign,
 * no blank, below 2^53). */
int eb_llhls_request_parse(const char *msn, const char *part, const char *skip,
                           EbLlhlsRequest *out);

typedef enum EbLlhlsAnswer {
    EB_LLHLS_READY = 0, /* answer now */
    EB_LLHLS_WAIT,      /* hold until the playlist changes */
    EB_LLHLS_BAD,       /* 400: asks for something too far ahead */
} EbLlhlsAnswer;

/* Whether a blocking reload (rq->has_msn) can be answered with pl.
 * READY: pl lists segment msn complete (an EXTINF), or (with _HLS_part)
 * part `part` of segment msn or a part of a later segment; an ended
 * playlist is always ready. BAD: msn is more than two segments past the
 * last complete one, or the part lies more than the Advance Part Limit
 * (3 / PART-TARGET parts when the target is below a second, else 3) past
 * the last part listed (a segment counted as parts_per_segment parts, or
 * as many part targets as fit in the target duration). Otherwise WAIT. A
 * request without _HLS_msn is READY. */
EbLlhlsAnswer eb_llhls_decide(const EbLlhlsPlaylist *pl, const EbLlhlsRequest *rq);

/* The delta update of text (pl: its eb_llhls_parse()) for skip: the oldest
 * segments whose whole span ends at or before (the playlist's end -
 * CAN-SKIP-UNTIL) are replaced by one EXT-X-SKIP:SKIPPED-SEGMENTS=N, with
 * the tags that belong to them (EXTINF, the URI, DISCONTINUITY,
 * PROGRAM-DATE-TIME, BYTERANGE, GAP, BITRATE, PART, unknown tags).
 * EXT-X-KEY and EXT-X-MAP among them are kept after the EXT-X-SKIP tag
 * (they apply to what follows); EXT-X-DATERANGE tags among them are kept
 * for YES and dropped for v2 (RECENTLY-REMOVED-DATERANGES is then empty:
 * the origin keeps no history). EXT-X-DISCONTINUITY-SEQUENCE becomes the
 * value in effect at the first listed segment, which gets its
 * EXT-X-PROGRAM-DATE-TIME (computed from an earlier one and the durations
 * when it had none); EXT-X-VERSION is raised to 9 (10 for v2).
 * Returns the number of segments skipped, with *out a malloc'ed,
 * NUL-terminated text of *out_len bytes that the caller frees; 0 (and
 * *out NULL) when nothing is skipped (no CAN-SKIP-UNTIL, too short a
 * playlist, skip NO, a delta update already): the full playlist is the
 * answer; or EB_ERR(ENOMEM). */
int eb_llhls_delta(const char *text, size_t len, const EbLlhlsPlaylist *pl, EbLlhlsSkip skip,
                   char **out, size_t *out_len);

/* The path of uri as referenced from the playlist at playlist_path (both
 * relative to one root, '/'-separated): uri's query dropped, %XX decoded,
 * "." and ".." resolved against the playlist's folder. Returns the length,
 * or EB_ERR(EINVAL) (absolute URI, a scheme, leaves the root) or
 * EB_ERR(ENAMETOOLONG). */
int eb_llhls_resolve(const char *playlist_path, const char *uri, char *out, size_t size);

/* max-age of a blocking or delta response, in seconds: about six part
 * targets (a CDN then answers identical waiters from one origin request),
 * at least 1. */
int eb_llhls_max_age(const EbLlhlsPlaylist *pl);

#endif
