/*
 * DASH writer: dash/manifest.mpd over the same CMAF segments HLS plays
 * (every URI a reference from the MPD into the storage layout,
 * eb_layout_uri), so one segment tree serves both. ffmpeg 5.1's dashenc
 * cannot point at segments it did not write, hence encbox's own writer. TS
 * has no DASH (-EINVAL).
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
 * - startNumber is the first segment's sequence number (1 for a VOD), as
 *   file numbers follow sequence numbers (eb_manifest.h).
 * - minBufferTime 2 s (see EB_DASH_MIN_BUFFER_MS).
 *
 * VOD: type="static", the Period's zero at the earliest segment.
 * LIVE: type="dynamic". The Period starts at the presentation's wall-clock
 * anchor: availabilityStartTime is wallclock_us and every template's
 * presentationTimeOffset is anchor_us, both fixed for the channel's life,
 * so each rewrite of the window places segments at the same wall-clock
 * times (and at the dates HLS prints). publishTime is the wall-clock end of
 * the newest segment (a pure writer has no clock, and the MPD is rewritten
 * when a segment completes); timeShiftBufferDepth is the window (the
 * shortest rendition's); minimumUpdatePeriod one nominal segment;
 * suggestedPresentationDelay three, the distance HLS players keep from the
 * live edge (RFC 8216 6.3.3), so both protocols play alike.
 * An ended channel turns static (DASH-IF IOP 4.11.4.2: the MPD may change
 * to static when the live presentation ends) with mediaPresentationDuration
 * from the anchor to where it stops. The Periods, their starts and every
 * presentationTimeOffset stay as they were, so a player on the stream
 * keeps its timeline; dash.js only plays to the end of a stream whose MPD
 * became static (a dynamic one without updates leaves it waiting at the
 * edge).
 * LL-DASH (a running channel with parts): every SegmentTemplate carries
 * availabilityTimeOffset = segment - part target with
 * availabilityTimeComplete="false": a segment is available one part after
 * its start. The live sink lists the segment being written (at its
 * nominal duration) as soon as every rendition has its first part, and the
 * origin streams it with chunked transfer encoding as its parts are
 * written; ServiceDescription and ProducerReferenceTime give the latency
 * target and the wall clock of the media.
 * Discontinuities (EbSegmentInfo.discontinuity) with the same media_offset
 * do not split the Period: the caller keeps one media clock across them and
 * the files follow it, so the SegmentTimeline just goes on with the starts
 * as given (an explicit @t where the clock jumps); a Period transition
 * would cost players a rebuffer for what is to them one stream.
 * A discontinuity where media_offset changes (a live channel's encoder
 * restarted: its files count from zero again) opens a new Period: its
 * start is where the run's zero falls on the presentation clock
 * (media_offset, never before the previous Period), its timeline the
 * files' own timestamps, its presentationTimeOffset the run's time at the
 * Period's start. Period id and start depend on media_offset alone, so
 * they stay the same in every rewrite of a sliding window; a gap between
 * two Periods (the publisher was away) is time without media, which
 * dash.js and Shaka step over.
 * Content protection: ContentProtection elements in each audio and video
 * AdaptationSet, before its template (the schema's order), with the cenc
 * (and, for licence URLs, the DASH-IF) namespace declared on the MPD.
 * Numbers are printed from integers (see eb_manifest.c): locale-proof and
 * the same bytes for the same input.
 */
#include "eb_manifest.h"

#include <inttypes.h>
#include <math.h>
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
#define EB_DASH_CENC_NS "urn:mpeg:cenc:2013"
#define EB_DASH_DASHIF_NS "https://dashif.org/CPS"

/* Live: how many nominal segments behind the live edge players start. */
#define EB_DASH_LIVE_DELAY_SEGMENTS 3

/* Video renditions one Period can hold (a ladder has at most 8 rungs), and
 * audio renditions (a job keeps at most EB_MAX_AUDIO_TRACKS). */
#define EB_DASH_MAX_VIDEO 32
#define EB_DASH_MAX_AUDIO 16

/* A rendition's folder in a template URL: the percent-encoded name, XML-
 * and template-escaped (each byte becomes at most "&apos;"). */
#define EB_DASH_DIR_SIZE (EB_MANIFEST_URI_NAME_SIZE * 6)

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
            a->segments[i].duration != b->segments[i].duration ||
            a->segments[i].media_offset != b->segments[i].media_offset)
            return 0;
    return 1;
}

/* Where the Period after segment i - 1 ends: a discontinuity that moves
 * media_offset (see the top of the file). */
static int eb_dash_period_break(const EbRendition *r, int i)
{
    return i > 0 && r->segments[i].discontinuity &&
           r->segments[i].media_offset != r->segments[i - 1].media_offset;
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
            av_bprintf(out, " t=\"%" PRId64 "\"", s[i].start - s[i].media_offset);
        av_bprintf(out, " d=\"%" PRId64 "\"", s[i].duration);
        if (run)
            av_bprintf(out, " r=\"%d\"", run);
        av_bprintf(out, "/>\n");
        next = s[i + run].start + s[i].duration;
        i += run + 1;
    }
    av_bprintf(out, "%s</SegmentTimeline>\n", indent);
}

/* The rendition part of a template URL: $RepresentationID$ for the shared
 * template (name NULL), else the name percent-encoded, then escaped for
 * XML and for the template ('$' doubled). */
static void eb_dash_template_dir(const char *name, char out[EB_DASH_DIR_SIZE])
{
    char enc[EB_MANIFEST_URI_NAME_SIZE];
    AVBPrint dir;

    if (!name) {
        snprintf(out, EB_DASH_DIR_SIZE, "$RepresentationID$");
        return;
    }
    eb_manifest_uri_name(name, enc);
    av_bprint_init_for_buffer(&dir, out, EB_DASH_DIR_SIZE);
    eb_xml_bprint_escaped(&dir, enc, 1);
}

/* LL-DASH: a running live channel with parts (its segments are written as
 * chunks, the same fragments LL-HLS lists as parts). */
static int eb_dash_low_latency(const EbPresentation *p)
{
    return p->type == EB_PRESENTATION_LIVE && !p->ended && p->part_target > 0;
}

/* The layout's own text in these references is plain path characters
 * (letters, digits, '_', '.', '/'), so only what is inserted needs the
 * escaping eb_dash_template_dir() does; "$Number%03d$" is template syntax. */
static int eb_dash_bprint_template(AVBPrint *out, const EbPresentation *p, const char *indent,
                                   const EbRendition *r, const char *name, int64_t origin_us,
                                   int64_t start_number)
{
    char sub[32], dir[EB_DASH_DIR_SIZE];
    int64_t pto;
    int ret;

    eb_dash_template_dir(name, dir);
    av_bprintf(out, "%s<SegmentTemplate timescale=\"%d\"", indent, r->timescale);
    /* The earliest rendition's start (a live channel's anchor) is the
     * Period's start; the others keep their offset from it, which is their
     * A/V sync. In the files' own time (media_offset). */
    pto = av_rescale_rnd(origin_us, r->timescale, EB_MANIFEST_US, AV_ROUND_NEAR_INF) -
          r->segments[0].media_offset;
    if (pto > 0)
        av_bprintf(out, " presentationTimeOffset=\"%" PRId64 "\"", pto);
    av_bprintf(out, " initialization=\"");
    ret = eb_manifest_bprint_ref(out, EB_LAYOUT_DASH_MPD, NULL, EB_LAYOUT_CMAF_INIT, dir, NULL);
    if (ret < 0)
        return ret;
    eb_manifest_bprint_version(out, p);
    av_bprintf(out, "\" media=\"");
    ret = eb_manifest_bprint_ref(out, EB_LAYOUT_DASH_MPD, NULL, EB_LAYOUT_CMAF_SEGMENT, dir,
                                 "$Number%03d$");
    if (ret < 0)
        return ret;
    eb_manifest_bprint_version(out, p);
    av_bprintf(out, "\" startNumber=\"%" PRId64 "\"", start_number);
    if (eb_dash_low_latency(p) && p->segment_seconds > p->part_target) {
        /* A segment is offered one part after it starts: the live window
         * lists it from its first part on (eb_live.c), and the origin
         * streams it while it is written (chunked). */
        av_bprintf(out, " availabilityTimeOffset=\"");
        eb_manifest_bprint_fixed(out, llround((p->segment_seconds - p->part_target) * 1000), 3);
        av_bprintf(out, "\" availabilityTimeComplete=\"false\"");
    }
    av_bprintf(out, ">\n");
    snprintf(sub, sizeof(sub), "%s  ", indent);
    eb_dash_bprint_timeline(out, sub, r);
    av_bprintf(out, "%s</SegmentTemplate>\n", indent);
    return 0;
}

static void eb_dash_bprint_protection(AVBPrint *out, const EbProtection *pr)
{
    for (int i = 0; pr && i < pr->nb_dash; i++) {
        const EbDashProtection *d = &pr->dash[i];
        av_bprintf(out, "      <ContentProtection schemeIdUri=\"");
        eb_xml_bprint_escaped(out, d->scheme_id_uri, 0);
        av_bprintf(out, "\"");
        if (d->value) {
            av_bprintf(out, " value=\"");
            eb_xml_bprint_escaped(out, d->value, 0);
            av_bprintf(out, "\"");
        }
        if (d->default_kid) {
            av_bprintf(out, " cenc:default_KID=\"");
            eb_xml_bprint_escaped(out, d->default_kid, 0);
            av_bprintf(out, "\"");
        }
        if (!d->pssh && !d->license_url) {
            av_bprintf(out, "/>\n");
            continue;
        }
        av_bprintf(out, ">\n");
        if (d->pssh) {
            av_bprintf(out, "        <cenc:pssh>");
            eb_xml_bprint_escaped(out, d->pssh, 0);
            av_bprintf(out, "</cenc:pssh>\n");
        }
        if (d->license_url) {
            av_bprintf(out, "        <dashif:Laurl>");
            eb_xml_bprint_escaped(out, d->license_url, 0);
            av_bprintf(out, "</dashif:Laurl>\n");
        }
        av_bprintf(out, "      </ContentProtection>\n");
    }
}

/* One AdaptationSet over n renditions (the video ladder, or one audio
 * rendition: one set per language). */
static int eb_dash_bprint_adaptation_set(AVBPrint *out, const EbPresentation *p, int id,
                                         const EbRendition *rs, int n, int64_t origin_us,
                                         int64_t start_number)
{
    int audio = rs[0].is_audio, shared = 1, same_rate = 1, max_w = 0, max_h = 0, ret = 0;
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
        av_bprintf(out, " lang=\"%s\"", rs[0].language[0] ? rs[0].language : "und");
    /* Every rung starts an IDR at every segment boundary (DESIGN.md). */
    av_bprintf(out, " segmentAlignment=\"true\" startWithSAP=\"1\"");
    if (!audio) {
        av_bprintf(out, " maxWidth=\"%d\" maxHeight=\"%d\" %s=\"", max_w, max_h,
                   same_rate ? "frameRate" : "maxFrameRate");
        eb_dash_bprint_frame_rate(out, max_fr);
        av_bprintf(out, "\"");
    }
    av_bprintf(out, ">\n");
    eb_dash_bprint_protection(out, p->protection);
    if (audio && p->nb_audio > 1) {
        /* What a player's menu shows for this language. */
        av_bprintf(out, "      <Label>");
        eb_xml_bprint_escaped(out, eb_manifest_audio_label(&rs[0]), 0);
        av_bprintf(out, "</Label>\n");
    }
    if (eb_dash_low_latency(p)) {
        /* Media time origin_us was presented at wallclock + origin_us: the
         * reference the ServiceDescription's latency is measured from. */
        int64_t pt = av_rescale_rnd(origin_us, rs[0].timescale, EB_MANIFEST_US,
                                    AV_ROUND_NEAR_INF) -
                     rs[0].segments[0].media_offset;
        av_bprintf(out, "      <ProducerReferenceTime id=\"0\" type=\"encoder\" wallClockTime=\"");
        eb_manifest_bprint_date(out, p->wallclock_us + origin_us - p->anchor_us);
        av_bprintf(out, "\" presentationTime=\"%" PRId64 "\"/>\n", FFMAX(pt, 0));
    }
    if (audio && p->nb_audio > 1)
        /* Which language a player starts with (ISO 23009-1 5.8.5.5), after
         * the elements of RepresentationBaseType as the schema orders them. */
        av_bprintf(out, "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"%s\"/>\n",
                   !strcmp(rs[0].name, p->audio[eb_manifest_audio_default(p)].name) ? "main"
                                                                                    : "alternate");
    if (shared)
        ret = eb_dash_bprint_template(out, p, "      ", &rs[0], NULL, origin_us, start_number);

    for (int i = 0; i < n && ret >= 0; i++) {
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
            ret = eb_dash_bprint_template(out, p, "        ", r, r->name, origin_us, start_number);
        av_bprintf(out, "      </Representation>\n");
    }
    av_bprintf(out, "    </AdaptationSet>\n");
    return ret;
}

/* The Periods (see the top of the file): one, or one per stretch of
 * segments sharing a media_offset. Every rendition must break at the same
 * segments (a live window lists the same sequences in all). The last
 * Period is left open: the caller closes it after what it adds. */
static int eb_dash_bprint_periods(AVBPrint *out, const EbPresentation *p, int64_t origin_us)
{
    const EbRendition *ref = &p->video[0];
    EbRendition video[EB_DASH_MAX_VIDEO], audio[EB_DASH_MAX_AUDIO];
    int64_t prev_ms = 0;
    int ret = 0, multi = 0;

    if (p->nb_video > EB_DASH_MAX_VIDEO || p->nb_audio > EB_DASH_MAX_AUDIO)
        return EB_ERR(EINVAL);
    for (int j = 1; j < ref->nb_segments; j++)
        multi |= eb_dash_period_break(ref, j);
    for (int k = 0; k < p->nb_video + p->nb_audio; k++) {
        const EbRendition *r = k < p->nb_video ? &p->video[k] : &p->audio[k - p->nb_video];
        if (multi && r->nb_segments != ref->nb_segments)
            return EB_ERR(EINVAL);
        for (int j = 1; j < r->nb_segments; j++)
            if (eb_dash_period_break(r, j) != (multi && eb_dash_period_break(ref, j)))
                return EB_ERR(EINVAL); /* the Periods would disagree */
    }
    for (int a = 0, b; a < ref->nb_segments && ret >= 0; a = b) {
        int64_t start_ms = 0, period_us;
        for (b = a + 1; b < ref->nb_segments && !eb_dash_period_break(ref, b); b++)
            ;
        for (int k = 0; k < p->nb_video; k++) {
            video[k] = p->video[k];
            if (multi) {
                video[k].segments += a;
                video[k].nb_segments = b - a;
            }
        }
        for (int k = 0; k < p->nb_audio; k++) {
            audio[k] = p->audio[k];
            if (multi) {
                audio[k].segments += a;
                audio[k].nb_segments = b - a;
            }
        }
        /* Where this run's zero falls, never before the previous Period. */
        if (ref->segments[a].media_offset)
            start_ms =
                FFMAX(eb_manifest_us(ref, ref->segments[a].media_offset) - origin_us, 0) / 1000;
        start_ms = FFMAX(start_ms, prev_ms);
        prev_ms = start_ms;
        period_us = origin_us + start_ms * 1000;
        if (a > 0)
            av_bprintf(out, "  </Period>\n");
        av_bprintf(out, "  <Period id=\"%" PRId64 "\" start=\"", start_ms);
        if (start_ms)
            eb_dash_bprint_duration(out, start_ms);
        else
            av_bprintf(out, "PT0S");
        av_bprintf(out, "\">\n");
        ret = eb_dash_bprint_adaptation_set(out, p, 0, video, p->nb_video, period_us,
                                            eb_manifest_first_sequence(p) + a);
        for (int k = 0; k < p->nb_audio && ret >= 0; k++)
            ret = eb_dash_bprint_adaptation_set(out, p, 1 + k, &audio[k], 1, period_us,
                                                eb_manifest_first_sequence(p) + a);
    }
    return ret;
}

/* The MPD element's attributes that differ between a VOD and a live
 * window (see the top of the file). first_us, end_us: the earliest start
 * and latest end of any rendition; window_us: the shortest rendition's
 * span. */
static int eb_dash_bprint_mpd_timing(AVBPrint *out, const EbPresentation *p,
                                     const EbRendition *newest, int64_t first_us, int64_t end_us,
                                     int64_t window_us, int64_t longest_us)
{
    int64_t nominal_ms, publish;
    int ret;

    if (p->type == EB_PRESENTATION_VOD) {
        av_bprintf(out, " type=\"static\" mediaPresentationDuration=\"");
        eb_dash_bprint_duration(
            out, av_rescale_rnd(FFMAX(end_us - first_us, 0), 1, 1000, AV_ROUND_NEAR_INF));
        av_bprintf(out, "\"");
        return 0;
    }
    /* The newest segment's end on the wall clock: when this MPD was due. */
    ret = eb_manifest_wallclock(p, newest,
                                newest->segments[newest->nb_segments - 1].start +
                                    newest->segments[newest->nb_segments - 1].duration,
                                &publish);
    if (ret < 0)
        return ret;
    nominal_ms =
        p->segment_seconds > 0 ? llround(p->segment_seconds * 1000) : (longest_us + 999) / 1000;
    av_bprintf(out, " type=\"%s\" availabilityStartTime=\"", p->ended ? "static" : "dynamic");
    eb_manifest_bprint_date(out, p->wallclock_us);
    av_bprintf(out, "\" publishTime=\"");
    eb_manifest_bprint_date(out, publish);
    av_bprintf(out, "\"");
    if (p->ended) {
        av_bprintf(out, " mediaPresentationDuration=\"");
        eb_dash_bprint_duration(
            out, av_rescale_rnd(FFMAX(end_us - p->anchor_us, 0), 1, 1000, AV_ROUND_NEAR_INF));
        av_bprintf(out, "\"");
        return 0; /* static: no time-shift buffer, no delay */
    } else {
        av_bprintf(out, " minimumUpdatePeriod=\"");
        eb_dash_bprint_duration(out, nominal_ms);
        av_bprintf(out, "\"");
    }
    /* Rounded down: a player must not reach for a segment already gone. */
    av_bprintf(out, " timeShiftBufferDepth=\"");
    eb_dash_bprint_duration(out, FFMAX(window_us, 0) / 1000);
    av_bprintf(out, "\" suggestedPresentationDelay=\"");
    eb_dash_bprint_duration(out, EB_DASH_LIVE_DELAY_SEGMENTS * nominal_ms);
    av_bprintf(out, "\"");
    return 0;
}

int eb_manifest_dash_mpd(const EbPresentation *p, AVBPrint *out)
{
    const EbRendition *all[2], *newest = NULL;
    const EbProtection *pr;
    int64_t first_us = INT64_MAX, end_us = 0, window_us = INT64_MAX, longest_us = 0;
    int64_t origin_us;
    unsigned start;
    int ret, live, laurl = 0;

    if (!out)
        return EB_ERR(EINVAL);
    if (p && p->format == EB_FORMAT_TS)
        return EB_ERR(EINVAL); /* DASH over MPEG-TS is not offered */
    if ((ret = eb_manifest_check_presentation(p)) < 0)
        return ret;
    live = p->type == EB_PRESENTATION_LIVE;
    /* A dynamic MPD is placed on the wall clock, and presentationTimeOffset
     * is unsigned. */
    if (live && (!p->wallclock_us || p->anchor_us < 0))
        return EB_ERR(EINVAL);

    /* The Period spans from the earliest start to the latest end of any
     * rendition (audio often ends a few ms after video). */
    all[0] = p->video;
    all[1] = p->audio;
    for (int k = 0; k < 2; k++) {
        int n = k == 0 ? p->nb_video : p->nb_audio;
        for (int i = 0; i < n; i++) {
            const EbRendition *r = &all[k][i];
            const EbSegmentInfo *last = &r->segments[r->nb_segments - 1];
            int64_t r_first_us = eb_manifest_us(r, r->segments[0].start);
            int64_t last_us = eb_manifest_us(r, last->start + last->duration);
            for (int j = 0; j < r->nb_segments; j++) {
                if (r->segments[j].duration <= 0)
                    return EB_ERR(EINVAL); /* an S of zero duration stalls players */
                longest_us = FFMAX(longest_us, eb_manifest_us(r, r->segments[j].duration));
            }
            /* $Number$ is an xs:unsignedInt. */
            if (eb_manifest_first_sequence(p) + r->nb_segments - 1 > UINT32_MAX)
                return EB_ERR(EINVAL);
            first_us = FFMIN(first_us, r_first_us);
            if (!newest || last_us > end_us)
                newest = r;
            end_us = FFMAX(end_us, last_us);
            window_us = FFMIN(window_us, last_us - r_first_us);
        }
    }
    origin_us = live ? p->anchor_us : first_us;
    pr = p->protection;
    for (int i = 0; pr && i < pr->nb_dash; i++)
        laurl |= !!pr->dash[i].license_url;

    start = out->len;
    av_bprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"");
    if (pr && pr->nb_dash > 0)
        av_bprintf(out, " xmlns:cenc=\"" EB_DASH_CENC_NS "\"");
    if (laurl)
        av_bprintf(out, " xmlns:dashif=\"" EB_DASH_DASHIF_NS "\"");
    av_bprintf(out, " profiles=\"urn:mpeg:dash:profile:isoff-live:2011\"");
    ret = eb_dash_bprint_mpd_timing(out, p, newest, first_us, end_us, window_us, longest_us);
    av_bprintf(out, " minBufferTime=\"");
    eb_dash_bprint_duration(out, EB_DASH_MIN_BUFFER_MS);
    av_bprintf(out, "\">\n");
    if (ret >= 0 && eb_dash_low_latency(p)) {
        /* The latency players aim at: a segment behind the edge plus three
         * parts, as LL-HLS's hold-backs put it; catch up by up to 4%. */
        int64_t part_ms = llround(p->part_target * 1000);
        int64_t target = llround(p->segment_seconds * 1000) + 3 * part_ms;
        av_bprintf(out,
                   "  <ServiceDescription id=\"0\">\n"
                   "    <Latency referenceId=\"0\" target=\"%" PRId64 "\" min=\"%" PRId64
                   "\" max=\"%" PRId64 "\"/>\n"
                   "    <PlaybackRate min=\"0.96\" max=\"1.04\"/>\n"
                   "  </ServiceDescription>\n",
                   target, 3 * part_ms, 2 * target);
    }
    if (ret >= 0)
        ret = eb_dash_bprint_periods(out, p, origin_us);
    if (ret >= 0 && p->thumbnails) {
        /* DASH-IF IOP 6.2.6 thumbnail tiles: one image per sheet, the grid
         * in EssentialProperty, the sheet's size on the Representation. */
        const EbThumbnailTrack *t = p->thumbnails;
        av_bprintf(out,
                   "    <AdaptationSet id=\"%d\" contentType=\"image\" mimeType=\"image/jpeg\">\n"
                   "      <SegmentTemplate media=\"",
                   1 + FFMAX(p->nb_audio, 1));
        ret = eb_manifest_bprint_ref(out, EB_LAYOUT_DASH_MPD, NULL, EB_LAYOUT_THUMB_SPRITE, NULL,
                                     "$Number%03d$");
        eb_manifest_bprint_version(out, p);
        av_bprintf(out,
                   "\" startNumber=\"1\" timescale=\"1000\" duration=\"%" PRId64 "\"/>\n"
                   "      <Representation id=\"thumbnails\" bandwidth=\"%" PRId64
                   "\" width=\"%d\" height=\"%d\">\n"
                   "        <EssentialProperty schemeIdUri=\"http://dashif.org/thumbnail_tile\""
                   " value=\"%dx%d\"/>\n"
                   "      </Representation>\n    </AdaptationSet>\n",
                   (int64_t)llround(t->interval * t->cols * t->rows * 1000.0),
                   eb_thumbnail_bandwidth(t), t->tile_width * t->cols, t->tile_height * t->rows,
                   t->cols, t->rows);
    }
    av_bprintf(out, "  </Period>\n");
    if (live && p->utc_timing_url) {
        /* After the Periods, as the schema orders them. */
        av_bprintf(out, "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"");
        eb_xml_bprint_escaped(out, p->utc_timing_url, 0);
        av_bprintf(out, "\"/>\n");
    }
    av_bprintf(out, "</MPD>\n");
    return eb_manifest_finish(out, start, ret);
}
