/*
 * The segment-boundary policy (see eb_boundary.h): integer arithmetic on
 * milliseconds and the time base, rounded up, so every stage that asks
 * gets the same timestamp for boundary k.
 */
#include "eb_boundary.h"

#include <math.h>

#include <libavutil/mathematics.h>

#include "eb_error.h"

int eb_boundary_init(EbBoundaryPolicy *p, double segment_seconds, AVRational tb, int64_t origin)
{
    int64_t ms = llround(segment_seconds * 1000.0);

    if (!(segment_seconds > 0) || ms < 1 || tb.num <= 0 || tb.den <= 0)
        return EB_ERR(EINVAL);
    p->segment_ms = ms;
    p->time_base = tb;
    p->origin = origin;
    return 0;
}

int64_t eb_boundary_pts(const EbBoundaryPolicy *p, int64_t k)
{
    /* ceil(k x segment_ms / 1000 / tb), as a*b/c rounded up. */
    return p->origin + av_rescale_rnd(k * p->segment_ms, p->time_base.den,
                                      1000 * (int64_t)p->time_base.num, AV_ROUND_UP);
}

int64_t eb_boundary_pts_in(const EbBoundaryPolicy *p, int64_t k, AVRational tb)
{
    return av_rescale_q(eb_boundary_pts(p, k), p->time_base, tb);
}

int64_t eb_boundary_index(const EbBoundaryPolicy *p, int64_t pts)
{
    int64_t k;

    if (pts < eb_boundary_pts(p, 1))
        return 0;
    /* The estimate from the nominal length is within one of the answer. */
    k = av_rescale_rnd(pts - p->origin, 1000 * (int64_t)p->time_base.num,
                       p->segment_ms * (int64_t)p->time_base.den, AV_ROUND_DOWN);
    while (k > 0 && eb_boundary_pts(p, k) > pts)
        k--;
    while (eb_boundary_pts(p, k + 1) <= pts)
        k++;
    return k;
}

int64_t eb_boundary_max_distance(const EbBoundaryPolicy *p)
{
    /* Distances alternate between floor and ceil of the nominal length;
     * the first one is the ceil. */
    return eb_boundary_pts(p, 1) - eb_boundary_pts(p, 0);
}

void eb_boundary_cursor_init(EbBoundaryCursor *c, const EbBoundaryPolicy *p)
{
    c->policy = *p;
    c->k = 1;
    c->next = eb_boundary_pts(p, 1);
}

int eb_boundary_reached(const EbBoundaryCursor *c, int64_t pts) { return pts >= c->next; }

void eb_boundary_advance(EbBoundaryCursor *c, int64_t pts)
{
    if (pts < c->next)
        return;
    c->k = eb_boundary_index(&c->policy, pts) + 1;
    c->next = eb_boundary_pts(&c->policy, c->k);
}
