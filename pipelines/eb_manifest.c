/*
 * Figures the manifest writers derive from a rendition's segment list
 * (bit rates, durations, target duration) and the checks and printing
 * helpers the HLS and DASH writers share (eb_manifest_priv.h). Kept apart
 * from the writers because the peak bit rate is defined by HLS yet also
 * feeds DASH's @bandwidth, and a live window's wall clock dates HLS
 * segments and places the DASH timeline: both formats must agree on them.
 *
 * Numbers are printed from integers (eb_manifest_bprint_fixed), never with
 * %f: printf's decimal point follows LC_NUMERIC. encbox never calls
 * setlocale(), so the "C" locale would hold anyway, but a library linked in
 * later might, and a manifest must be the same bytes on every box.
 */
#include "eb_manifest.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/mathematics.h>

#include "eb_error.h"
#include "eb_manifest_priv.h"

/* Totals stay below this so that size * 8 and the rescales cannot overflow
 * (2^59 bytes or ticks is far beyond any real presentation). */
#define EB_MANIFEST_TOTAL_MAX (INT64_MAX / 16)

/* Sequence numbers stay below this, so first_sequence + a segment's index
 * cannot overflow. */
#define EB_MANIFEST_SEQUENCE_MAX (INT64_MAX / 2)

/* 9999-12-31T23:59:59.999999Z: four-digit years, as ISO 8601 prints them
 * without an expansion agreed between the parties. */
#define EB_MANIFEST_DATE_MAX_US INT64_C(253402300799999999)

static int eb_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int eb_manifest_check_name(const char *name)
{
    const char *end = memchr(name, '\0', sizeof(((EbRendition *)0)->name));

    if (!end || end == name)
        return EB_ERR(EINVAL);
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return EB_ERR(EINVAL); /* would climb out of the layout */
    for (const char *c = name; c < end; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '\\' || ch == '"')
            return EB_ERR(EINVAL);
    }
    return 0;
}

int eb_manifest_name_is_plain(const char *name)
{
    for (const char *c = name; *c; c++)
        if (!eb_is_unreserved((unsigned char)*c))
            return 0;
    return 1;
}

void eb_manifest_bprint_uri_name(AVBPrint *out, const char *name)
{
    static const char sub_delims[] = "!$&'()*+,;=@";

    for (const char *c = name; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (eb_is_unreserved(ch) || strchr(sub_delims, ch))
            av_bprint_chars(out, (char)ch, 1);
        else
            av_bprintf(out, "%%%02X", ch);
    }
}

void eb_manifest_uri_name(const char *name, char out[EB_MANIFEST_URI_NAME_SIZE])
{
    AVBPrint b;

    /* A checked name encodes to at most 45 bytes: out always holds it. */
    av_bprint_init_for_buffer(&b, out, EB_MANIFEST_URI_NAME_SIZE);
    eb_manifest_bprint_uri_name(&b, name);
}

int eb_manifest_bprint_ref(AVBPrint *out, EbLayoutItem from, const char *from_r, EbLayoutItem to,
                           const char *to_r, const char *number)
{
    char ref[1024];
    int ret = eb_layout_uri(from, from_r, to, to_r, number, ref, sizeof(ref));

    if (ret < 0)
        return ret;
    av_bprint_append_data(out, ref, (unsigned)ret);
    return 0;
}

int eb_manifest_bprint_ref_number(AVBPrint *out, EbLayoutItem from, const char *from_r,
                                  EbLayoutItem to, const char *to_r, int64_t n)
{
    char num[24];

    if (n < 1)
        return EB_ERR(EINVAL);
    /* As eb_layout_path() names the file (at least three digits). */
    snprintf(num, sizeof(num), "%03" PRId64, n);
    return eb_manifest_bprint_ref(out, from, from_r, to, to_r, num);
}

void eb_manifest_bprint_version(AVBPrint *out, const EbPresentation *p)
{
    if (p && p->media_version >= 2)
        av_bprintf(out, "?v=%" PRId64, p->media_version);
}

int eb_manifest_finish(AVBPrint *out, unsigned start, int ret)
{
    if (ret >= 0 && !av_bprint_is_complete(out))
        ret = EB_ERR(ENOMEM);
    if (ret < 0 && out->len > start) {
        out->len = start;
        if (start < out->size)
            out->str[start] = '\0';
    }
    return ret < 0 ? ret : 0;
}

void eb_manifest_bprint_fixed(AVBPrint *out, int64_t value, int decimals)
{
    int64_t scale = 1;

    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (decimals <= 0)
        av_bprintf(out, "%" PRId64, value);
    else
        av_bprintf(out, "%" PRId64 ".%0*" PRId64, value / scale, decimals, value % scale);
}

int eb_manifest_check_timing(const EbRendition *r)
{
    int64_t total_d = 0, total_s = 0;

    if (!r || r->timescale <= 0 || r->nb_segments <= 0 || !r->segments)
        return EB_ERR(EINVAL);
    for (int i = 0; i < r->nb_segments; i++) {
        const EbSegmentInfo *s = &r->segments[i];
        if (s->start < 0 || s->duration < 0 || s->size < 0)
            return EB_ERR(EINVAL);
        if (s->start > EB_MANIFEST_TOTAL_MAX || s->duration > EB_MANIFEST_TOTAL_MAX - total_d ||
            s->size > EB_MANIFEST_TOTAL_MAX - total_s)
            return EB_ERR(EINVAL);
        total_d += s->duration;
        total_s += s->size;
    }
    /* A DASH timeline adds the last start and the total duration. */
    if (r->segments[r->nb_segments - 1].start > EB_MANIFEST_TOTAL_MAX - total_d)
        return EB_ERR(EINVAL);
    return 0;
}

static int eb_check_codecs(const char *codecs, size_t max)
{
    const char *end = memchr(codecs, '\0', max);

    if (!end || end == codecs)
        return EB_ERR(EINVAL);
    for (const char *c = codecs; c < end; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch < 0x20 || ch >= 0x7f || ch == '"')
            return EB_ERR(EINVAL); /* no escape for it in an HLS quoted string */
    }
    return 0;
}

/* RFC 5646's alphabet: letters, digits and '-', starting with a letter. */
static int eb_check_language(const char *tag)
{
    if (!((*tag >= 'a' && *tag <= 'z') || (*tag >= 'A' && *tag <= 'Z')))
        return EB_ERR(EINVAL);
    for (const char *c = tag; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-'))
            return EB_ERR(EINVAL);
    return 0;
}

/* A NAME: any UTF-8 but the quote and line breaks HLS quoted strings
 * cannot hold (RFC 8216 4.2), and no other control character. */
static int eb_check_label(const char *label)
{
    for (const unsigned char *c = (const unsigned char *)label; *c; c++)
        if (*c < 0x20 || *c == '"' || *c == 0x7f)
            return EB_ERR(EINVAL);
    return 0;
}

int eb_manifest_check_rendition(const EbRendition *r, int want_audio)
{
    int ret;

    if (!r || !!r->is_audio != !!want_audio)
        return EB_ERR(EINVAL);
    if ((ret = eb_manifest_check_name(r->name)) < 0 ||
        (ret = eb_check_codecs(r->codecs, sizeof(r->codecs))) < 0 ||
        (ret = eb_manifest_check_timing(r)) < 0)
        return ret;
    if (want_audio) {
        if (r->sample_rate <= 0 || r->channels <= 0)
            return EB_ERR(EINVAL);
        /* Printed as they are: LANGUAGE and NAME quoted, lang an attribute. */
        if ((r->language[0] && eb_check_language(r->language) < 0) ||
            (r->label[0] && eb_check_label(r->label) < 0))
            return EB_ERR(EINVAL);
    } else {
        if (r->width <= 0 || r->height <= 0 || r->frame_rate.num <= 0 || r->frame_rate.den <= 0)
            return EB_ERR(EINVAL);
    }
    return 0;
}

/* Printable ASCII, at least one byte: what an HLS tag line carries as is
 * and an XML attribute or element carries once escaped. */
static int eb_check_text(const char *s)
{
    if (!s || !*s)
        return EB_ERR(EINVAL);
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return EB_ERR(EINVAL);
    return 0;
}

/* An HLS attribute list (RFC 8216 4.2): NAME=value pairs joined by commas,
 * names of A-Z, 0-9 and '-', quoted strings closed; with a METHOD that is
 * not NONE, as EXT-X-SESSION-KEY requires (4.3.4.5). */
static int eb_check_hls_key(const char *list)
{
    const char *p = list;
    int has_method = 0;

    if (eb_check_text(list) < 0)
        return EB_ERR(EINVAL);
    for (;;) {
        size_t nlen = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
        const char *v = p + nlen + 1, *end;
        if (!nlen || p[nlen] != '=')
            return EB_ERR(EINVAL);
        if (*v == '"') {
            end = strchr(v + 1, '"');
            if (!end)
                return EB_ERR(EINVAL);
            end++;
        } else {
            end = v + strcspn(v, ",\"");
            if (end == v || *end == '"')
                return EB_ERR(EINVAL);
        }
        if (nlen == 6 && !memcmp(p, "METHOD", 6)) {
            if (end - v == 4 && !memcmp(v, "NONE", 4))
                return EB_ERR(EINVAL);
            has_method = 1;
        }
        if (!*end)
            break;
        if (*end != ',')
            return EB_ERR(EINVAL);
        p = end + 1;
    }
    return has_method ? 0 : EB_ERR(EINVAL);
}

static int eb_check_protection(const EbProtection *pr)
{
    if (!pr)
        return 0;
    if (pr->nb_hls_keys < 0 || pr->nb_dash < 0 || (pr->nb_hls_keys && !pr->hls_keys) ||
        (pr->nb_dash && !pr->dash))
        return EB_ERR(EINVAL);
    for (int i = 0; i < pr->nb_hls_keys; i++)
        if (eb_check_hls_key(pr->hls_keys[i]) < 0)
            return EB_ERR(EINVAL);
    for (int i = 0; i < pr->nb_dash; i++) {
        const EbDashProtection *d = &pr->dash[i];
        /* Optional strings are absent (NULL), never empty. */
        if (eb_check_text(d->scheme_id_uri) < 0 || (d->value && eb_check_text(d->value) < 0) ||
            (d->default_kid && eb_check_text(d->default_kid) < 0) ||
            (d->pssh && eb_check_text(d->pssh) < 0) ||
            (d->license_url && eb_check_text(d->license_url) < 0))
            return EB_ERR(EINVAL);
    }
    return 0;
}

/* One media clock per rendition in a live window: dates, the DASH timeline
 * and a player's position all follow start, so it must move forward. */
static int eb_check_live_rendition(const EbRendition *r)
{
    for (int i = 1; i < r->nb_segments; i++)
        if (r->segments[i].start <= r->segments[i - 1].start)
            return EB_ERR(EINVAL);
    return 0;
}

int eb_manifest_check_presentation(const EbPresentation *p)
{
    int ret, live;

    if (!p || p->nb_video <= 0 || !p->video)
        return EB_ERR(EINVAL);
    if (p->format != EB_FORMAT_CMAF && p->format != EB_FORMAT_TS)
        return EB_ERR(EINVAL);
    if (p->type != EB_PRESENTATION_VOD && p->type != EB_PRESENTATION_LIVE)
        return EB_ERR(EINVAL);
    live = p->type == EB_PRESENTATION_LIVE;
    if (p->first_sequence < 0 || p->first_sequence > EB_MANIFEST_SEQUENCE_MAX ||
        p->discontinuity_sequence < 0 || p->discontinuity_sequence > EB_MANIFEST_SEQUENCE_MAX)
        return EB_ERR(EINVAL);
    if (p->wallclock_us < 0 || p->wallclock_us > EB_MANIFEST_DATE_MAX_US ||
        p->anchor_us < -EB_MANIFEST_TOTAL_MAX || p->anchor_us > EB_MANIFEST_TOTAL_MAX)
        return EB_ERR(EINVAL);
    if ((ret = eb_check_protection(p->protection)) < 0)
        return ret;
    if (p->utc_timing_url && eb_check_text(p->utc_timing_url) < 0)
        return EB_ERR(EINVAL);
    if (live && (p->thumbnails || !(p->segment_seconds >= 0 && p->segment_seconds <= 86400)))
        return EB_ERR(EINVAL); /* the second test is false for NaN too */
    for (int i = 0; i < p->nb_video; i++) {
        if ((ret = eb_manifest_check_rendition(&p->video[i], 0)) < 0)
            return ret;
        if (live && (ret = eb_check_live_rendition(&p->video[i])) < 0)
            return ret;
        /* Names are folders and DASH ids: two alike would overwrite. */
        for (int j = 0; j < i; j++)
            if (!strcmp(p->video[i].name, p->video[j].name))
                return EB_ERR(EINVAL);
    }
    if (p->format != EB_FORMAT_CMAF)
        return 0; /* TS: the audio is in the variants */
    if (p->nb_audio < 0 || (p->nb_audio > 0 && !p->audio))
        return EB_ERR(EINVAL);
    for (int i = 0, defaults = 0; i < p->nb_audio; i++) {
        const EbRendition *audio = &p->audio[i];
        if ((ret = eb_manifest_check_rendition(audio, 1)) < 0)
            return ret;
        if (live && (ret = eb_check_live_rendition(audio)) < 0)
            return ret;
        for (int j = 0; j < p->nb_video; j++)
            if (!strcmp(audio->name, p->video[j].name))
                return EB_ERR(EINVAL);
        /* Folders, Representation ids and HLS NAMEs are unique; at most
         * one DEFAULT=YES in a group (RFC 8216 4.3.4.1.1). */
        defaults += audio->is_default;
        for (int j = 0; j < i; j++)
            if (!strcmp(audio->name, p->audio[j].name) ||
                !strcmp(eb_manifest_audio_label(audio), eb_manifest_audio_label(&p->audio[j])))
                return EB_ERR(EINVAL);
        if (defaults > 1)
            return EB_ERR(EINVAL);
    }
    return 0;
}

const char *eb_manifest_audio_label(const EbRendition *r)
{
    return r->label[0] ? r->label : r->name;
}

int eb_manifest_audio_default(const EbPresentation *p)
{
    for (int i = 0; i < p->nb_audio; i++)
        if (p->audio[i].is_default)
            return i;
    return 0;
}

int64_t eb_manifest_first_sequence(const EbPresentation *p)
{
    return p->first_sequence > 0 ? p->first_sequence : 1;
}

int eb_manifest_wallclock(const EbPresentation *p, const EbRendition *r, int64_t t, int64_t *us)
{
    int64_t media_us, w;

    if (!p->wallclock_us)
        return EB_ERR(EINVAL);
    media_us = eb_manifest_us(r, t);
    /* The rescale saturates to INT64_MIN on overflow; within +-2^59 the
     * sums below cannot overflow (the anchor is checked to the same). */
    if (media_us < -EB_MANIFEST_TOTAL_MAX || media_us > EB_MANIFEST_TOTAL_MAX)
        return EB_ERR(EINVAL);
    w = p->wallclock_us + (media_us - p->anchor_us);
    if (w < 0 || w > EB_MANIFEST_DATE_MAX_US)
        return EB_ERR(EINVAL);
    *us = w;
    return 0;
}

/* Year, month and day of a day count from 1970-01-01 (z >= 0): the
 * proleptic Gregorian calendar in integers (H. Hinnant's civil_from_days),
 * so no time_t range, time zone or locale is involved. */
static void eb_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468; /* days from 0000-03-01 */
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void eb_manifest_bprint_date(AVBPrint *out, int64_t us)
{
    int64_t ms = us / 1000, secs = ms / 1000, days = secs / 86400, sod = secs % 86400;
    int y, m, d;

    eb_civil_from_days(days, &y, &m, &d);
    av_bprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(sod / 3600),
               (int)(sod / 60 % 60), (int)(sod % 60), (int)(ms % 1000));
}

int64_t eb_manifest_us(const EbRendition *r, int64_t t)
{
    return av_rescale_rnd(t, EB_MANIFEST_US, r->timescale, AV_ROUND_NEAR_INF);
}

int eb_manifest_target_duration(const EbRendition *r)
{
    int64_t cum = 0, prev_us = 0, target = 1;

    for (int i = 0; i < r->nb_segments; i++) {
        int64_t us, rounded;
        cum += r->segments[i].duration;
        us = eb_manifest_us(r, cum);
        /* Players round the EXTINF as printed, so round that, not the exact
         * duration: 6.4999996 s prints as 6.500000 and rounds to 7. */
        rounded = (us - prev_us + EB_MANIFEST_US / 2) / EB_MANIFEST_US;
        if (rounded > target)
            target = rounded;
        prev_us = us;
    }
    return target > INT32_MAX ? INT32_MAX : (int)target;
}

double eb_rendition_duration(const EbRendition *r)
{
    int64_t total = 0;

    if (eb_manifest_check_timing(r) < 0)
        return 0.0;
    for (int i = 0; i < r->nb_segments; i++)
        total += r->segments[i].duration;
    return (double)total / r->timescale;
}

/*
 * Peak, as the HLS draft (draft-pantos-hls-rfc8216bis 4.1) defines it and
 * Apple's mediastreamvalidator measures it: the highest bit rate of any
 * contiguous run of segments lasting between 0.5 x and 1.5 x the target
 * duration + 0.5 s, durations being the EXTINF values. With uniform
 * segments that is the highest single segment; the difference is the short
 * last segment of a VOD, whose IDR frame over a fraction of a second would
 * otherwise inflate BANDWIDTH several times over (and make players shun the
 * rung): alone it is too short to count, paired with the one before it it
 * does count. The runs always include every full-length segment on its own,
 * so the result is never below what the validator measures. Rounded up.
 */
void eb_rendition_bandwidth(const EbRendition *r, int64_t *peak, int64_t *average)
{
    int64_t total_size = 0, total_us, lo, hi, best = -1, avg, cum_before = 0;
    int target;

    if (peak)
        *peak = 0;
    if (average)
        *average = 0;
    if (eb_manifest_check_timing(r) < 0)
        return;

    for (int i = 0; i < r->nb_segments; i++)
        total_size += r->segments[i].size;
    target = eb_manifest_target_duration(r);
    /* Compare 2 x run against T and 3T + 1 to stay in integers. */
    lo = (int64_t)target * EB_MANIFEST_US;
    hi = (3 * (int64_t)target + 1) * EB_MANIFEST_US;

    for (int i = 0; i < r->nb_segments; i++) {
        int64_t start_us = eb_manifest_us(r, cum_before), cum = cum_before, size = 0;
        for (int j = i; j < r->nb_segments; j++) {
            int64_t run_us;
            cum += r->segments[j].duration;
            size += r->segments[j].size;
            run_us = eb_manifest_us(r, cum) - start_us;
            if (2 * run_us > hi)
                break;
            if (2 * run_us >= lo) {
                int64_t rate = av_rescale_rnd(size * 8, EB_MANIFEST_US, run_us, AV_ROUND_UP);
                if (rate > best)
                    best = rate;
            }
        }
        cum_before += r->segments[i].duration;
    }

    total_us = eb_manifest_us(r, cum_before);
    if (total_us <= 0)
        return; /* all durations zero: no rate can be stated */
    /* Only a presentation shorter than half a second has no qualifying run;
     * its whole-length rate is the honest figure then. */
    if (best < 0)
        best = av_rescale_rnd(total_size * 8, EB_MANIFEST_US, total_us, AV_ROUND_UP);
    avg = av_rescale_rnd(total_size * 8, EB_MANIFEST_US, total_us, AV_ROUND_NEAR_INF);
    /* Odd segment lists (short segments in the middle) can leave data in no
     * qualifying run; a peak below the average would read as a lie. */
    if (best < avg)
        best = avg;
    if (peak)
        *peak = best;
    if (average)
        *average = avg;
}

int64_t eb_thumbnail_bandwidth(const EbThumbnailTrack *t)
{
    double covered = fmin(t->interval * t->cols * t->rows, t->duration);
    if (covered <= 0)
        return 0;
    return (int64_t)ceil((double)t->max_sheet_bytes * 8.0 / covered);
}
