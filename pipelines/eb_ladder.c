/*
 * Ladder defaults and rung geometry. A rung's height names the short side of
 * the displayed picture, so portrait sources keep their orientation, and the
 * long side follows the displayed aspect ratio rounded to the nearest even
 * number (4:2:0 needs even sizes).
 */
#include "eb_ladder.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eb_error.h"

static void eb_rung_set(EbRung *r, const char *name, int height, int64_t bitrate)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->height = height;
    r->bitrate = bitrate;
    snprintf(r->codec, sizeof(r->codec), "h264");
}

void eb_ladder_default(EbLadder *l)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "default");
    eb_rung_set(&l->rungs[0], "1080p", 1080, 5000000);
    eb_rung_set(&l->rungs[1], "720p", 720, 2500000);
    eb_rung_set(&l->rungs[2], "480p", 480, 1000000);
    eb_rung_set(&l->rungs[3], "360p", 360, 600000);
    l->nb_rungs = 4;
    l->audio_bitrate = 128000;
    l->audio_channels = 2;
}

enum AVCodecID eb_rung_codec_id(const EbRung *r)
{
    return strcmp(r->codec, "hevc") == 0 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
}

int64_t eb_rung_maxrate(const EbRung *r)
{
    return r->maxrate > 0 ? r->maxrate : (r->bitrate * 107 + 50) / 100;
}

int64_t eb_rung_bufsize(const EbRung *r)
{
    return r->bufsize > 0 ? r->bufsize : r->bitrate * 3 / 2;
}

int eb_rotation_normalize(double degrees)
{
    long q = lround(degrees / 90.0);
    return (int)(((q % 4) + 4) % 4) * 90;
}

static int eb_round_even(double v)
{
    int r = 2 * (int)lround(v / 2.0);
    return r < 2 ? 2 : r;
}

int eb_ladder_plan(const EbLadder *l, const EbSourceGeometry *g, EbRungPlan *out)
{
    double dw, dh, short_side, long_side;
    int portrait, n = 0;

    if (g->width <= 0 || g->height <= 0 || l->nb_rungs <= 0)
        return EB_ERR(EINVAL);
    dw = g->width;
    dh = g->height;
    if (g->sar.num > 0 && g->sar.den > 0)
        dw = dw * g->sar.num / g->sar.den;
    if (g->rotation == 90 || g->rotation == 270) {
        double t = dw;
        dw = dh;
        dh = t;
    }
    portrait = dh > dw;
    short_side = portrait ? dw : dh;
    long_side = portrait ? dh : dw;

    for (int i = 0; i < l->nb_rungs && n < EB_LADDER_MAX_RUNGS; i++) {
        const EbRung *r = &l->rungs[i];
        int s, lg;
        if (r->height > (int)lround(short_side))
            continue; /* never upscale */
        s = eb_round_even(r->height);
        lg = eb_round_even(long_side * r->height / short_side);
        out[n].rung = *r;
        out[n].width = portrait ? s : lg;
        out[n].height = portrait ? lg : s;
        n++;
    }
    if (n == 0) {
        /* Smaller than every rung: one rung at the source's own size. */
        const EbRung *smallest = &l->rungs[0];
        int s = eb_round_even(short_side), lg;
        for (int i = 1; i < l->nb_rungs; i++)
            if (l->rungs[i].height < smallest->height)
                smallest = &l->rungs[i];
        /* Snap the size down to even rather than scale the short side up. */
        if (s > (int)short_side)
            s -= 2;
        if (s < 2)
            s = 2;
        lg = eb_round_even(long_side * s / short_side);
        out[0].rung = *smallest;
        snprintf(out[0].rung.name, sizeof(out[0].rung.name), "%dp", s);
        out[0].rung.height = s;
        out[0].width = portrait ? s : lg;
        out[0].height = portrait ? lg : s;
        n = 1;
    }
    return n;
}
