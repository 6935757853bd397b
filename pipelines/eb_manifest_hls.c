/*
 * HLS writer: the multivariant playlist (hls/master.m3u8), one media
 * playlist per rendition (hls/<rung>/index.m3u8) and the image playlist of
 * the sprite sheets, for a VOD or a live window. Written by encbox because
 * ffmpeg 5.1's hlsenc cannot state AVERAGE-BANDWIDTH or FRAME-RATE, nor
 * point playlists at the cmaf/ tree DASH shares. Every URI is a reference
 * between two items of the storage layout (eb_layout_uri).
 *
 * Choices (each explained where it is made):
 * - EXT-X-VERSION 7 for CMAF (EXT-X-MAP needs 6; 7 is what the brief and
 *   Apple's tools expect of fMP4), 3 for TS (decimal EXTINF needs 3, and
 *   nothing else in a TS playlist needs more) or 5 for TS with keys
 *   (KEYFORMAT and SAMPLE-AES need 5). Master and media playlists state
 *   the same version.
 * - Variants tallest first, ties by BANDWIDTH, highest first.
 * - EXT-X-MEDIA-SEQUENCE is the first segment's sequence number (1 for a
 *   VOD), and file numbers follow sequence numbers, so a segment's number,
 *   its file name and the DASH $Number$ agree, in a sliding window too.
 * - VOD: EXT-X-PLAYLIST-TYPE:VOD and EXT-X-ENDLIST. LIVE: neither while the
 *   channel runs (a window drops segments, which EVENT forbids); ENDLIST
 *   once it has ended.
 * - EXT-X-PROGRAM-DATE-TIME (when the presentation has a wall clock) before
 *   the first segment and after each EXT-X-DISCONTINUITY, where players
 *   re-read it; between them the EXTINF durations carry the date.
 * - Keys (EXT-X-KEY) after EXT-X-MAP, so the init section stays clear as
 *   CENC/cbcs want it, and before the first segment; the master repeats
 *   them as EXT-X-SESSION-KEY so players can fetch licences early. One
 *   init section per rendition: a live encoder keeps it across a
 *   discontinuity, so EXT-X-MAP is not repeated there.
 * Numbers are printed from integers (see eb_manifest.c): locale-proof and
 * the same bytes for the same input.
 */
#include "eb_manifest.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mathematics.h>
#include <libavutil/mem.h>

#include "eb_error.h"
#include "eb_manifest_priv.h"

/* Audio group of CMAF variants; one group, so a constant. */
#define EB_HLS_AUDIO_GROUP "aud"

typedef struct EbHlsVariant {
    const EbRendition *r;
    int64_t peak, average; /* audio included in CMAF mode */
    int index;             /* position in EbPresentation.video, for ties */
} EbHlsVariant;

static int eb_hls_low_latency(const EbPresentation *p)
{
    return p->type == EB_PRESENTATION_LIVE && p->format == EB_FORMAT_CMAF && p->part_target > 0;
}

static int eb_hls_version(const EbPresentation *p)
{
    /* EXT-X-SKIP (delta updates) needs version 9, and a player that
     * asks for one is promised it by CAN-SKIP-UNTIL. */
    if (eb_hls_low_latency(p))
        return 9;
    if (p->format == EB_FORMAT_CMAF)
        return 7;
    return p->protection && p->protection->nb_hls_keys > 0 ? 5 : 3;
}

/*
 * Safari (AVPlayer) starts on the first variant listed and hls.js (1.5 and
 * later) seeds its bandwidth estimate from the first variant's BANDWIDTH
 * (capped at 5 Mbps), so the first entry is a start hint for both. Tallest
 * first starts them on the best picture the link is presumed to carry; both
 * step down after the first segment if it came in too slowly. hls.js and
 * Shaka sort the list themselves (hls.js by height, then bit rate), so the
 * rest of the order only matters to people reading the file.
 */
static int eb_hls_variant_cmp(const void *a, const void *b)
{
    const EbHlsVariant *x = a, *y = b;

    if (x->r->height != y->r->height)
        return x->r->height > y->r->height ? -1 : 1;
    if (x->peak != y->peak)
        return x->peak > y->peak ? -1 : 1;
    return x->index - y->index; /* qsort is not stable; keep output deterministic */
}

static void eb_hls_bprint_frame_rate(AVBPrint *out, AVRational fr)
{
    /* FRAME-RATE is a decimal-floating-point; three decimals as the
     * authoring spec shows it (29.970). */
    eb_manifest_bprint_fixed(out, av_rescale_rnd(fr.num, 1000, fr.den, AV_ROUND_NEAR_INF), 3);
}

/* Keys of the whole presentation, each on a line after tag. */
static void eb_hls_bprint_keys(AVBPrint *out, const EbPresentation *p, const char *tag)
{
    const EbProtection *pr = p->protection;

    for (int i = 0; pr && i < pr->nb_hls_keys; i++)
        av_bprintf(out, "%s:%s\n", tag, pr->hls_keys[i]);
}

int eb_manifest_hls_master(const EbPresentation *p, AVBPrint *out)
{
    int nb_audio, def;
    EbHlsVariant *vars;
    char name[EB_MANIFEST_URI_NAME_SIZE];
    int64_t audio_peak = 0, audio_avg = 0;
    unsigned start;
    int ret;

    if (!out)
        return EB_ERR(EINVAL);
    start = out->len;
    if ((ret = eb_manifest_check_presentation(p)) < 0)
        return ret;
    /* TS variants carry their audio; any audio rendition is not separate. */
    nb_audio = p->format == EB_FORMAT_CMAF ? p->nb_audio : 0;
    def = eb_manifest_audio_default(p);

    vars = av_malloc_array(p->nb_video, sizeof(*vars));
    if (!vars)
        return EB_ERR(ENOMEM);
    /* Any rendition of the group may play with any variant: the highest. */
    for (int k = 0; k < nb_audio; k++) {
        int64_t peak, avg;
        eb_rendition_bandwidth(&p->audio[k], &peak, &avg);
        audio_peak = FFMAX(audio_peak, peak);
        audio_avg = FFMAX(audio_avg, avg);
    }
    for (int i = 0; i < p->nb_video; i++) {
        vars[i].r = &p->video[i];
        vars[i].index = i;
        eb_rendition_bandwidth(vars[i].r, &vars[i].peak, &vars[i].average);
        /* A CMAF player downloads video and audio renditions side by side:
         * the variant needs both (RFC 8216 4.3.4.2, "sum of peak segment
         * bit rates ... of any playable combination of Renditions"). */
        vars[i].peak += audio_peak;
        vars[i].average += audio_avg;
    }
    qsort(vars, p->nb_video, sizeof(*vars), eb_hls_variant_cmp);

    av_bprintf(out, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", eb_hls_version(p));
    if (!p->protection || !p->protection->hls_no_session_key)
        eb_hls_bprint_keys(out, p, "#EXT-X-SESSION-KEY");
    if (nb_audio)
        av_bprintf(out, "\n");
    for (int k = 0; k < nb_audio && ret >= 0; k++) {
        /* Every language AUTOSELECT (a player picks by the user's language),
         * one DEFAULT: the source's default track. */
        const EbRendition *a = &p->audio[k];
        av_bprintf(out, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"" EB_HLS_AUDIO_GROUP "\",NAME=\"%s\",",
                   eb_manifest_audio_label(a));
        if (a->language[0])
            av_bprintf(out, "LANGUAGE=\"%s\",", a->language);
        av_bprintf(out, "DEFAULT=%s,AUTOSELECT=YES,CHANNELS=\"%d\",URI=\"", k == def ? "YES" : "NO",
                   a->channels);
        eb_manifest_uri_name(a->name, name);
        ret = eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MASTER, NULL, EB_LAYOUT_HLS_MEDIA, name,
                                     NULL);
        av_bprintf(out, "\"\n");
    }
    for (int i = 0; i < p->nb_video && ret >= 0; i++) {
        const EbRendition *r = vars[i].r;
        av_bprintf(out,
                   "\n#EXT-X-STREAM-INF:BANDWIDTH=%" PRId64 ",AVERAGE-BANDWIDTH=%" PRId64
                   ",RESOLUTION=%dx%d,FRAME-RATE=",
                   vars[i].peak, vars[i].average, r->width, r->height);
        eb_hls_bprint_frame_rate(out, r->frame_rate);
        av_bprintf(out, ",CODECS=\"%s", r->codecs);
        /* Each audio codec of the group once (RFC 8216 4.3.4.2). */
        for (int k = 0; k < nb_audio; k++) {
            int seen = 0;
            for (int j = 0; j < k; j++)
                seen |= !strcmp(p->audio[j].codecs, p->audio[k].codecs);
            if (!seen)
                av_bprintf(out, ",%s", p->audio[k].codecs);
        }
        av_bprintf(out, "\"");
        if (nb_audio)
            av_bprintf(out, ",AUDIO=\"" EB_HLS_AUDIO_GROUP "\"");
        av_bprintf(out, "\n");
        eb_manifest_uri_name(r->name, name);
        ret = eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MASTER, NULL, EB_LAYOUT_HLS_MEDIA, name,
                                     NULL);
        av_bprintf(out, "\n");
    }
    if (p->thumbnails && ret >= 0) {
        const EbThumbnailTrack *t = p->thumbnails;
        av_bprintf(out,
                   "\n#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=%" PRId64
                   ",RESOLUTION=%dx%d,CODECS=\"jpeg\",URI=\"",
                   eb_thumbnail_bandwidth(t), t->tile_width, t->tile_height);
        ret = eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MASTER, NULL, EB_LAYOUT_HLS_IMAGES, NULL,
                                     NULL);
        av_bprintf(out, "\"\n");
    }
    av_free(vars);
    return eb_manifest_finish(out, start, ret);
}

int eb_manifest_hls_images(const EbPresentation *p, AVBPrint *out)
{
    const EbThumbnailTrack *t = p ? p->thumbnails : NULL;
    int64_t sheet_us, total_us;
    unsigned start;
    int ret = 0;

    /* A live window has no sprite sheets yet (eb_manifest_check_presentation). */
    if (!t || !out || p->type != EB_PRESENTATION_VOD || t->nb_sheets <= 0 || t->interval <= 0 ||
        t->duration <= 0 || t->cols <= 0 || t->rows <= 0)
        return EB_ERR(EINVAL);
    start = out->len;
    sheet_us = llround(t->interval * t->cols * t->rows * EB_MANIFEST_US);
    total_us = llround(t->duration * EB_MANIFEST_US);
    av_bprintf(out,
               "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%" PRId64
               "\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-IMAGES-ONLY\n",
               (FFMIN(sheet_us, total_us) + EB_MANIFEST_US - 1) / EB_MANIFEST_US);
    for (int i = 0; i < t->nb_sheets && ret >= 0; i++) {
        int64_t d = i + 1 == t->nb_sheets ? total_us - i * sheet_us : sheet_us;
        av_bprintf(out, "#EXTINF:");
        eb_manifest_bprint_fixed(out, FFMAX(d, 0), 6);
        av_bprintf(out, ",\n#EXT-X-TILES:RESOLUTION=%dx%d,LAYOUT=%dx%d,DURATION=", t->tile_width,
                   t->tile_height, t->cols, t->rows);
        eb_manifest_bprint_fixed(out, llround(t->interval * EB_MANIFEST_US), 6);
        av_bprintf(out, "\n");
        ret = eb_manifest_bprint_ref_number(out, EB_LAYOUT_HLS_IMAGES, NULL, EB_LAYOUT_THUMB_SPRITE,
                                            NULL, i + 1);
        eb_manifest_bprint_version(out, p);
        av_bprintf(out, "\n");
    }
    av_bprintf(out, "#EXT-X-ENDLIST\n");
    return eb_manifest_finish(out, start, ret);
}

/* EXT-X-PART lines of r's parts of segment seq, from *k on (parts are in
 * sequence order); *k ends past them. */
static int eb_hls_bprint_parts(AVBPrint *out, const EbPresentation *p, const EbRendition *r,
                               const char *name, int64_t seq, int *k)
{
    char num[48];
    int ret = 0;

    for (; *k < r->nb_parts && r->parts[*k].sequence <= seq && ret >= 0; (*k)++) {
        const EbPartInfo *pt = &r->parts[*k];
        if (pt->sequence < seq)
            continue; /* a segment that slid out of the window */
        av_bprintf(out, "#EXT-X-PART:DURATION=");
        eb_manifest_bprint_fixed(out, (eb_manifest_us(r, pt->duration) + 5) / 10, 5);
        av_bprintf(out, ",URI=\"");
        ret = eb_layout_part_number(pt->sequence, pt->index, num, sizeof(num));
        if (ret >= 0)
            ret = eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MEDIA, name, EB_LAYOUT_CMAF_SEGMENT,
                                         name, num);
        eb_manifest_bprint_version(out, p);
        av_bprintf(out, "\"%s\n", pt->independent ? ",INDEPENDENT=YES" : "");
    }
    return ret;
}

/* How many of r's parts its playlist lists: those up to the segment
 * after its last listed one. A rendition that finished that segment
 * before the others (the window lists a sequence once every rendition
 * has it) and started the next one keeps the next one's parts back
 * until its segment is listed: parts of two segments after the last
 * EXTINF would read as parts of one. */
static int eb_hls_listed_parts_end(const EbPresentation *p, const EbRendition *r)
{
    int64_t open = eb_manifest_first_sequence(p) + r->nb_segments;
    int k = r->nb_parts;
    while (k > 0 && r->parts[k - 1].sequence > open)
        k--;
    return k;
}

/* Where a rendition's playlist ends (EXT-X-RENDITION-REPORT): the newest
 * listed part's segment and index, else its last listed segment (*part
 * -1). */
static void eb_hls_last_part(const EbPresentation *p, const EbRendition *r, int64_t *msn,
                             int *part)
{
    int k = eb_hls_listed_parts_end(p, r);
    *msn = eb_manifest_first_sequence(p) + r->nb_segments - 1;
    *part = -1;
    if (k > 0 && r->parts[k - 1].sequence >= *msn) {
        *msn = r->parts[k - 1].sequence;
        *part = r->parts[k - 1].index;
    }
}

/* The part that follows the last listed one (EXT-X-PRELOAD-HINT): the
 * next of the open segment, or the first of the segment after the last
 * listed. 0: none to name, because this rendition finished the open
 * segment before the others and the part after its last listed one is
 * of a segment the playlist cannot place yet (a hint names the part that
 * follows; a player takes it as a part of the open segment). RFC 8216bis
 * makes the hint optional; a blocking reload still waits for the segment
 * to be listed. */
static int eb_hls_next_part(const EbPresentation *p, const EbRendition *r, int64_t *msn, int *part)
{
    int64_t listed = eb_manifest_first_sequence(p) + r->nb_segments - 1;
    int k = eb_hls_listed_parts_end(p, r);

    if (r->last_complete > listed)
        return 0;
    if (k > 0 && r->parts[k - 1].sequence > listed) {
        *msn = r->parts[k - 1].sequence;
        *part = r->parts[k - 1].index + 1;
    } else {
        *msn = listed + 1;
        *part = 0;
    }
    return 1;
}

/* The LL-HLS tail of a live playlist: the parts past the last listed
 * segment, the next part's preload hint and the other renditions'
 * reports. */
static int eb_hls_bprint_ll_tail(AVBPrint *out, const EbPresentation *p, const EbRendition *r,
                                 const char *name, int k)
{
    char num[48], other[EB_MANIFEST_URI_NAME_SIZE];
    int64_t msn;
    int part, ret = 0, end = eb_hls_listed_parts_end(p, r);

    for (; k < end && ret >= 0;) {
        const EbPartInfo *first = &r->parts[k];
        if (first->discontinuity && first->index == 0) {
            /* A new run's first segment, not listed yet: its parts go
             * after the discontinuity, dated, as the segment will be. */
            av_bprintf(out, "#EXT-X-DISCONTINUITY\n");
            if (p->wallclock_us) {
                int64_t date;
                if ((ret = eb_manifest_wallclock(p, r, first->start, &date)) < 0)
                    break;
                av_bprintf(out, "#EXT-X-PROGRAM-DATE-TIME:");
                eb_manifest_bprint_date(out, date);
                av_bprintf(out, "\n");
            }
        }
        ret = eb_hls_bprint_parts(out, p, r, name, first->sequence, &k);
    }
    if (ret < 0)
        return ret;
    if (!p->ended && eb_hls_next_part(p, r, &msn, &part)) {
        av_bprintf(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
        ret = eb_layout_part_number(msn, part, num, sizeof(num));
        if (ret >= 0)
            ret = eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MEDIA, name, EB_LAYOUT_CMAF_SEGMENT,
                                         name, num);
        av_bprintf(out, "\"\n");
    }
    for (int i = 0; i < p->nb_video + p->nb_audio && ret >= 0; i++) {
        const EbRendition *o = i < p->nb_video ? &p->video[i] : &p->audio[i - p->nb_video];
        if (o == r || !strcmp(o->name, r->name))
            continue;
        eb_manifest_uri_name(o->name, other);
        av_bprintf(out, "#EXT-X-RENDITION-REPORT:URI=\"");
        ret = eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MEDIA, name, EB_LAYOUT_HLS_MEDIA, other,
                                     NULL);
        eb_hls_last_part(p, o, &msn, &part);
        av_bprintf(out, "\",LAST-MSN=%" PRId64, msn);
        if (part >= 0)
            av_bprintf(out, ",LAST-PART=%d", part);
        av_bprintf(out, "\n");
    }
    return ret;
}

int eb_manifest_hls_media(const EbPresentation *p, const EbRendition *r, AVBPrint *out)
{
    char name[EB_MANIFEST_URI_NAME_SIZE];
    int cmaf, ret, ll, k = 0;
    int64_t cum = 0, prev_us = 0, seq;
    unsigned start;

    if (!out || !r)
        return EB_ERR(EINVAL);
    if ((ret = eb_manifest_check_presentation(p)) < 0 ||
        (ret = eb_manifest_check_rendition(r, r->is_audio)) < 0)
        return ret;
    cmaf = p->format == EB_FORMAT_CMAF;
    if (!cmaf && r->is_audio)
        return EB_ERR(EINVAL); /* TS muxes audio into every variant */
    start = out->len;
    seq = eb_manifest_first_sequence(p);
    /* The layout tells folders apart by the rendition text it is given: the
     * encoded name on both sides keeps a TS segment beside its playlist. */
    eb_manifest_uri_name(r->name, name);

    av_bprintf(
        out,
        "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%" PRId64 "\n",
        eb_hls_version(p), eb_manifest_target_duration(r), seq);
    ll = eb_hls_low_latency(p);
    if (ll) {
        /* Blocking reload; players start PART-HOLD-BACK behind the live
         * edge (three parts, what RFC 8216bis asks at least); delta
         * updates skip what lies more than six target durations back. */
        int target = eb_manifest_target_duration(r);
        int64_t part_us = llround(p->part_target * EB_MANIFEST_US);
        av_bprintf(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=");
        eb_manifest_bprint_fixed(out, (3 * part_us + 500) / 1000, 3);
        av_bprintf(out, ",CAN-SKIP-UNTIL=%d\n#EXT-X-PART-INF:PART-TARGET=", 6 * target);
        eb_manifest_bprint_fixed(out, (part_us + 5) / 10, 5);
        av_bprintf(out, "\n");
    }
    if (p->discontinuity_sequence > 0)
        av_bprintf(out, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRId64 "\n", p->discontinuity_sequence);
    if (p->type == EB_PRESENTATION_VOD)
        av_bprintf(out, "#EXT-X-PLAYLIST-TYPE:VOD\n");
    av_bprintf(out, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (cmaf) {
        av_bprintf(out, "#EXT-X-MAP:URI=\"");
        ret =
            eb_manifest_bprint_ref(out, EB_LAYOUT_HLS_MEDIA, name, EB_LAYOUT_CMAF_INIT, name, NULL);
        eb_manifest_bprint_version(out, p);
        av_bprintf(out, "\"\n");
    }
    /* Keys without an IV apply from here; a segment with its own IV
     * gets its keys again before it. */
    if (!r->nb_segments || !r->segments[0].has_iv)
        eb_hls_bprint_keys(out, p, "#EXT-X-KEY");
    for (int i = 0; i < r->nb_segments && ret >= 0; i++) {
        const EbSegmentInfo *s = &r->segments[i];
        int64_t us, date;
        if (s->discontinuity)
            av_bprintf(out, "#EXT-X-DISCONTINUITY\n");
        for (int k2 = 0; s->has_iv && p->protection && k2 < p->protection->nb_hls_keys; k2++) {
            av_bprintf(out, "#EXT-X-KEY:%s,IV=0x", p->protection->hls_keys[k2]);
            for (int b = 0; b < 16; b++)
                av_bprintf(out, "%02x", s->iv[b]);
            av_bprintf(out, "\n");
        }
        if (p->wallclock_us && (i == 0 || s->discontinuity)) {
            if (s->date_us > 0)
                date = s->date_us;
            else if ((ret = eb_manifest_wallclock(p, r, s->start, &date)) < 0)
                break;
            av_bprintf(out, "#EXT-X-PROGRAM-DATE-TIME:");
            eb_manifest_bprint_date(out, date);
            av_bprintf(out, "\n");
        }
        if (ll && (ret = eb_hls_bprint_parts(out, p, r, name, seq + i, &k)) < 0)
            break;
        cum += s->duration;
        us = eb_manifest_us(r, cum);
        /* Six decimals: a microsecond per segment, and the running-total
         * rounding keeps the sum exact to one. */
        av_bprintf(out, "#EXTINF:");
        eb_manifest_bprint_fixed(out, us - prev_us, 6);
        av_bprintf(out, ",\n");
        prev_us = us;
        ret = eb_manifest_bprint_ref_number(out, EB_LAYOUT_HLS_MEDIA, name,
                                            eb_layout_segment_item(p->format), name, seq + i);
        eb_manifest_bprint_version(out, p);
        av_bprintf(out, "\n");
    }
    if (ll && ret >= 0)
        ret = eb_hls_bprint_ll_tail(out, p, r, name, k);
    if (p->type == EB_PRESENTATION_VOD || p->ended)
        av_bprintf(out, "#EXT-X-ENDLIST\n");
    return eb_manifest_finish(out, start, ret);
}
