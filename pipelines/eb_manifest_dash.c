/*
 * DASH writer: dash/manifest.mpd, a static (VOD) MPD over the same CMAF
 * segments HLS plays (../cmaf/<rung>/), so one segment tree serves both.
 * ffmpeg 5.1's dashenc cannot point at segments it did not write, hence
 * encbox's own writer. TS has no DASH (-EINVAL).
 *
 * Choices, for dash.js and Shaka:
 * - profiles="urn:mpeg:dash:profile:isoff-live:2011" only. Both players
 *   accept it, and it is what DASH-IF's guidelines build on. The CMAF
 *   profile (urn:mpeg:dash:profile:cmaf:2019) adds no behaviour in either
 *   player and promises constraints (switching-set rules, brands) that
 *   encbox's segmenter has not been checked against.
 * - SegmentTemplate + SegmentTimeline, because segment durations differ by
 *   a frame (and audio segments by an AAC frame): @duration would drift.
 *   Equal consecutive durations collapse into one S with @r.
 * - The template lives on the AdaptationSet when every Representation has
 *   the same timescale and the same timeline (the norm: every rung cuts at
 *   the same frame) and its name can be substituted for
 *   $RepresentationID$ verbatim; otherwise each Representation carries its
 *   own template with its own timeline and a literal path.
 * - minBufferTime 2 s (see EB_DASH_MIN_BUFFER_MS).
 * Numbers are printed from integers (see eb_manifest.c): locale-proof and
 * the same bytes for the same input.
 */
#include "eb_manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/common.h>
#include <libavutil/mathematics.h>

#include "eb_error.h"
#include "eb_manifest_priv.h"

/*
 * Shaka waits for max(its rebuffering goal, minBufferTime) of media before
 * it starts playing, so a full segment here (6 s) would delay every start
 * by up to a second segment. 2 s is what Shaka Packager writes by default,
 * and it holds for encbox's ladder: the encoders run with a VBV buffer of
 * 1.5 s of the rung's rate (eb_rung_bufsize), below @bandwidth's peak.
 */
#define EB_DASH_MIN_BUFFER_MS 2000

#define EB_DASH_CHANNEL_SCHEME "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"

/* Escapes an attribute value (always written between double quotes; ' is
 * escaped too so the text is safe in either quoting). In a SegmentTemplate
 * URL, '$' starts an identifier and a literal one is written "$$". */
static void eb_xml_bprint_escaped(AVBPrint *out, const char *s, int in_template)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            av_bprintf(out, "&amp;");
            break;
        case '<':
            av_bprintf(out, "&lt;");
            break;
        case '>':
            av_bprintf(out, "&gt;");
            break;
        case '"':
            av_bprintf(out, "&quot;");
            break;
        case '\'':
            av_bprintf(out, "&apos;");
            break;
        case '$':
            av_bprintf(out, in_template ? "$$" : "$");
            break;
        default:
            av_bprint_chars(out, *s, 1);
            break;
        }
    }
}

/* xs:duration from milliseconds: PT1H2M3.456S, PT2M0.000S, PT6.006S. */
static void eb_dash_bprint_duration(AVBPrint *out, int64_t ms)
{
    int64_t h = ms / 3600000, m = ms / 60000 % 60;

    av_bprintf(out, "PT");
    if (h)
        av_bprintf(out, "%" PRId64 "H", h);
    if (h || m)
        av_bprintf(out, "%" PRId64 "M", m);
    eb_manifest_bprint_fixed(out, ms % 60000, 3);
    av_bprintf(out, "S");
}

/* DASH FrameRateType: "30" or "30000/1001". */
static void eb_dash_bprint_frame_rate(AVBPrint *out, AVRational fr)
{
    int num, den;

    av_reduce(&num, &den, fr.num, fr.den, INT32_MAX);
    if (den == 1)
        av_bprintf(out, "%d", num);
    else
        av_bprintf(out, "%d/%d", num, den);
}

static int eb_dash_same_timeline(const EbRendition *a, const EbRendition *b)
{
    if (a->timescale != b->timescale || a->nb_segments != b->nb_segments)
        return 0;
    for (int i = 0; i < a->nb_segments; i++)
        if (a->segments[i].start != b->segments[i].start ||
            a->segments[i].duration != b->segments[i].duration)
            return 0;
    return 1;
}

/* One S per run of segments with equal durations that follow each other
 * without gap; @t only where the timeline does not simply continue (the
 * first S, after a gap or an overlap). Expands back to exactly the list. */
static void eb_dash_bprint_timeline(AVBPrint *out, const char *indent, const EbRendition *r)
{
    const EbSegmentInfo *s = r->segments;
    int64_t next = -1;

    av_bprintf(out, "%s<SegmentTimeline>\n", indent);
    for (int i = 0; i < r->nb_segments;) {
        int run = 0;
        while (i + run + 1 < r->nb_segments && s[i + run + 1].duration == s[i].duration &&
               s[i + run + 1].start == s[i + run].start + s[i].duration)
            run++;
        av_bprintf(out, "%s  <S", indent);
        if (s[i].start != next)
            av_bprintf(out, " t=\"%" PRId64 "\"", s[i].start);
        av_bprintf(out, " d=\"%" PRId64 "\"", s[i].duration);
        if (run)
            av_bprintf(out, " r=\"%d\"", run);
        av_bprintf(out, "/>\n");
        next = s[i + run].start + s[i].duration;
        i += run + 1;
    }
    av_bprintf(out, "%s</SegmentTimeline>\n", indent);
}

/* The folder part of a template URL: $RepresentationID$ for the shared
 * template (name NULL), else the name percent-encoded, then escaped for
 * XML and for the template ('$' doubled). */
static void eb_dash_bprint_template_dir(AVBPrint *out, const char *name)
{
    AVBPrint dir;

    if (!name) {
        av_bprintf(out, "$RepresentationID$");
        return;
    }
    /* A checked name is at most 15 bytes, 45 once encoded: the automatic
     * buffer inside AVBPrint always holds it, nothing is allocated. */
    av_bprint_init(&dir, 0, AV_BPRINT_SIZE_AUTOMATIC);
    eb_manifest_bprint_uri_name(&dir, name);
    eb_xml_bprint_escaped(out, dir.str, 1);
}

static void eb_dash_bprint_template(AVBPrint *out, const char *indent, const EbRendition *r,
                                    const char *name, int64_t origin_us)
{
    char sub[32];

    av_bprintf(out, "%s<SegmentTemplate timescale=\"%d\"", indent, r->timescale);
    /* The earliest rendition's start is the Period's start; the others keep
     * their offset from it, which is their A/V sync. */
    if (origin_us > 0)
        av_bprintf(out, " presentationTimeOffset=\"%" PRId64 "\"",
                   av_rescale_rnd(origin_us, r->timescale, EB_MANIFEST_US, AV_ROUND_NEAR_INF));
    av_bprintf(out, " initialization=\"../cmaf/");
    eb_dash_bprint_template_dir(out, name);
    av_bprintf(out, "/init.mp4\" media=\"../cmaf/");
    eb_dash_bprint_template_dir(out, name);
    av_bprintf(out, "/segment_$Number%%03d$.m4s\" startNumber=\"1\">\n");
    snprintf(sub, sizeof(sub), "%s  ", indent);
    eb_dash_bprint_timeline(out, sub, r);
    av_bprintf(out, "%s</SegmentTemplate>\n", indent);
}

/* One AdaptationSet over n renditions (the video ladder, or the one audio
 * rendition). */
static void eb_dash_bprint_adaptation_set(AVBPrint *out, int id, const EbRendition *rs, int n,
                                          int64_t origin_us)
{
    int audio = rs[0].is_audio, shared = 1, same_rate = 1, max_w = 0, max_h = 0;
    AVRational max_fr = rs[0].frame_rate;

    for (int i = 0; i < n; i++) {
        if (!eb_manifest_name_is_plain(rs[i].name) || !eb_dash_same_timeline(&rs[0], &rs[i]))
            shared = 0;
        if (audio)
            continue;
        if (av_cmp_q(rs[i].frame_rate, rs[0].frame_rate))
            same_rate = 0;
        if (av_cmp_q(rs[i].frame_rate, max_fr) > 0)
            max_fr = rs[i].frame_rate;
        max_w = FFMAX(max_w, rs[i].width);
        max_h = FFMAX(max_h, rs[i].height);
    }

    av_bprintf(out, "    <AdaptationSet id=\"%d\" contentType=\"%s\" mimeType=\"%s\"", id,
               audio ? "audio" : "video", audio ? "audio/mp4" : "video/mp4");
    if (audio)
        av_bprintf(out, " lang=\"und\"");
    /* Every rung starts an IDR at every segment boundary (DESIGN.md). */
    av_bprintf(out, " segmentAlignment=\"true\" startWithSAP=\"1\"");
    if (!audio) {
        av_bprintf(out, " maxWidth=\"%d\" maxHeight=\"%d\" %s=\"", max_w, max_h,
                   same_rate ? "frameRate" : "maxFrameRate");
        eb_dash_bprint_frame_rate(out, max_fr);
        av_bprintf(out, "\"");
    }
    av_bprintf(out, ">\n");
    if (shared)
        eb_dash_bprint_template(out, "      ", &rs[0], NULL, origin_us);

    for (int i = 0; i < n; i++) {
        const EbRendition *r = &rs[i];
        int64_t peak;
        eb_rendition_bandwidth(r, &peak, NULL);
        av_bprintf(out, "      <Representation id=\"");
        eb_xml_bprint_escaped(out, r->name, 0);
        av_bprintf(out, "\" bandwidth=\"%" PRId64 "\" codecs=\"", peak);
        eb_xml_bprint_escaped(out, r->codecs, 0);
        av_bprintf(out, "\"");
        if (audio) {
            av_bprintf(out, " audioSamplingRate=\"%d\">\n", r->sample_rate);
            av_bprintf(out,
                       "        <AudioChannelConfiguration schemeIdUri=\"" EB_DASH_CHANNEL_SCHEME
                       "\" value=\"%d\"/>\n",
                       r->channels);
        } else {
            av_bprintf(out, " width=\"%d\" height=\"%d\" frameRate=\"", r->width, r->height);
            eb_dash_bprint_frame_rate(out, r->frame_rate);
            /* Rungs are scaled to square pixels (eb_ladder_plan). */
            av_bprintf(out, "\" sar=\"1:1\"%s\n", shared ? "/>" : ">");
            if (shared)
                continue;
        }
        if (!shared)
            eb_dash_bprint_template(out, "        ", r, r->name, origin_us);
        av_bprintf(out, "      </Representation>\n");
    }
    av_bprintf(out, "    </AdaptationSet>\n");
}

int eb_manifest_dash_mpd(const EbPresentation *p, AVBPrint *out)
{
    const EbRendition *all[2];
    int64_t origin_us = INT64_MAX, end_us = 0;
    int ret;

    if (!out)
        return EB_ERR(EINVAL);
    if (p && p->format == EB_FORMAT_TS)
        return EB_ERR(EINVAL); /* DASH over MPEG-TS is not offered */
    if ((ret = eb_manifest_check_presentation(p)) < 0)
        return ret;

    /* The Period spans from the earliest start to the latest end of any
     * rendition (audio often ends a few ms after video). */
    all[0] = p->video;
    all[1] = p->audio;
    for (int k = 0; k < 2; k++) {
        int n = k == 0 ? p->nb_video : (p->audio ? 1 : 0);
        for (int i = 0; i < n; i++) {
            const EbRendition *r = &all[k][i];
            const EbSegmentInfo *last = &r->segments[r->nb_segments - 1];
            int64_t first_us = eb_manifest_us(r, r->segments[0].start);
            int64_t last_us = eb_manifest_us(r, last->start + last->duration);
            for (int j = 0; j < r->nb_segments; j++)
                if (r->segments[j].duration <= 0)
                    return EB_ERR(EINVAL); /* an S of zero duration stalls players */
            origin_us = FFMIN(origin_us, first_us);
            end_us = FFMAX(end_us, last_us);
        }
    }

    av_bprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\""
                    " profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\""
                    " mediaPresentationDuration=\"");
    eb_dash_bprint_duration(
        out, av_rescale_rnd(FFMAX(end_us - origin_us, 0), 1, 1000, AV_ROUND_NEAR_INF));
    av_bprintf(out, "\" minBufferTime=\"");
    eb_dash_bprint_duration(out, EB_DASH_MIN_BUFFER_MS);
    av_bprintf(out, "\">\n  <Period id=\"0\" start=\"PT0S\">\n");
    eb_dash_bprint_adaptation_set(out, 0, p->video, p->nb_video, origin_us);
    if (p->audio)
        eb_dash_bprint_adaptation_set(out, 1, p->audio, 1, origin_us);
    if (p->thumbnails) {
        /* DASH-IF IOP 6.2.6 thumbnail tiles: one image per sheet, the grid
         * in EssentialProperty, the sheet's size on the Representation. */
        const EbThumbnailTrack *t = p->thumbnails;
        av_bprintf(out,
                   "    <AdaptationSet id=\"2\" contentType=\"image\" mimeType=\"image/jpeg\">\n"
                   "      <SegmentTemplate media=\"../thumbnails/sprite_$Number%%03d$.jpg\""
                   " startNumber=\"1\" timescale=\"1000\" duration=\"%" PRId64 "\"/>\n"
                   "      <Representation id=\"thumbnails\" bandwidth=\"%" PRId64
                   "\" width=\"%d\" height=\"%d\">\n"
                   "        <EssentialProperty schemeIdUri=\"http://dashif.org/thumbnail_tile\""
                   " value=\"%dx%d\"/>\n"
                   "      </Representation>\n    </AdaptationSet>\n",
                   (int64_t)llround(t->interval * t->cols * t->rows * 1000.0),
                   eb_thumbnail_bandwidth(t), t->tile_width * t->cols, t->tile_height * t->rows,
                   t->cols, t->rows);
    }
    av_bprintf(out, "  </Period>\n</MPD>\n");
    return av_bprint_is_complete(out) ? 0 : EB_ERR(ENOMEM);
}
