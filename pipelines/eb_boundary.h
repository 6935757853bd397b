/*
 * The segment-boundary policy: one rule, on media time, for where segments
 * start. Boundary k (k >= 1) is the first timestamp at or after
 * origin + k x segment length; boundary 0 is the first frame. The fan-out
 * forces an IDR on the first frame at or past each boundary, every rung
 * cuts its segment at that keyframe, and audio cuts at the AAC frame
 * nearest the same boundary, so video on every rung and audio agree on
 * segment k without keeping separate counters.
 *
 * Timestamps, not frame counts: a live input has gaps, jumps and restarts,
 * and a boundary that a gap skips is simply passed (the next frame after a
 * gap starts the segment of the latest boundary it reached). With frames
 * numbered 0, 1, 2… in 1/frame_rate (a VOD file input), boundary k is the
 * frame index ceil(k x segment x rate): 29.97 fps and 6 s give frame 180.
 *
 * Pure arithmetic; a cursor belongs to the one thread that advances it.
 */
#ifndef EB_BOUNDARY_H
#define EB_BOUNDARY_H

#include <stdint.h>

#include <libavutil/rational.h>

typedef struct EbBoundaryPolicy {
    int64_t segment_ms;       /* nominal segment length; milliseconds keep the
                               * arithmetic exact for any sane length */
    AVRational time_base;     /* of the timestamps the policy is asked about */
    int64_t origin;           /* timestamp of boundary 0 */
} EbBoundaryPolicy;

/* Fills p. Returns EB_ERR(EINVAL) for a segment length under 1 ms or an
 * invalid time base. */
int eb_boundary_init(EbBoundaryPolicy *p, double segment_seconds, AVRational time_base,
                     int64_t origin);

/* Timestamp (p's time base) of boundary k >= 0. */
int64_t eb_boundary_pts(const EbBoundaryPolicy *p, int64_t k);

/* The same instant in another time base (audio samples): boundary k
 * rescaled from p's time base, relative to the same zero. */
int64_t eb_boundary_pts_in(const EbBoundaryPolicy *p, int64_t k, AVRational tb);

/* The segment a timestamp falls in: the largest k with
 * eb_boundary_pts(p, k) <= pts (0 for anything before boundary 1). */
int64_t eb_boundary_index(const EbBoundaryPolicy *p, int64_t pts);

/* The longest distance between two consecutive boundaries, in p's time
 * base: an encoder's own keyframe interval must be longer, so that only
 * the forced IDRs make keyframes. */
int64_t eb_boundary_max_distance(const EbBoundaryPolicy *p);

/* Walks the boundaries of one stream. */
typedef struct EbBoundaryCursor {
    EbBoundaryPolicy policy;
    int64_t k;                /* index of the next boundary */
    int64_t next;             /* its timestamp */
} EbBoundaryCursor;

void eb_boundary_cursor_init(EbBoundaryCursor *c, const EbBoundaryPolicy *p);

/* 1 if pts is at or past the next boundary (a segment starts here); 0
 * otherwise. Does not move the cursor. */
int eb_boundary_reached(const EbBoundaryCursor *c, int64_t pts);

/* Moves the cursor to the first boundary after pts (boundaries a gap
 * skipped are passed). */
void eb_boundary_advance(EbBoundaryCursor *c, int64_t pts);

#endif
