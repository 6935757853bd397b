/*
 * What the three manifest writers (eb_manifest.c, eb_manifest_hls.c,
 * eb_manifest_dash.c) share and nothing else needs: input checks, the one
 * rounding of segment durations to EXTINF microseconds (so the target
 * duration, the peak bit rate and the playlists agree to the microsecond),
 * the one mapping of media time to the wall clock (so HLS dates and the
 * DASH availability times agree), and locale-free number, date and URI
 * printing, every URI a reference between two items of the storage layout
 * (eb_layout.h). Private to pipelines/: the public API stays eb_manifest.h.
 */
#ifndef EB_MANIFEST_PRIV_H
#define EB_MANIFEST_PRIV_H

#include <stdint.h>

#include <libavutil/bprint.h>

#include "eb_layout.h"
#include "eb_manifest.h"

#define EB_MANIFEST_US 1000000

/* A rendition name once percent-encoded (15 bytes, 3 each, and the NUL). */
#define EB_MANIFEST_URI_NAME_SIZE 48

/* 0 if the name can be a folder and a URI path segment: 1 to 15 printable
 * ASCII characters, none of / \ " (the last because HLS quoted strings have
 * no escape), not "." or "..". Anything else that a URI cannot hold raw is
 * percent-encoded where the name is printed. -EINVAL otherwise. */
int eb_manifest_check_name(const char *name);

/* 0 if the timing can be used: timescale > 0, at least one segment, no
 * negative start, duration or size, and totals far from int64 overflow
 * (the writers multiply sizes by 8 and rescale durations). -EINVAL otherwise. */
int eb_manifest_check_timing(const EbRendition *r);

/* Everything a writer needs from one rendition: timing, name, codecs (no
 * quote or control character), and video geometry and frame rate or audio
 * sample rate and channels. want_audio says which kind is expected. */
int eb_manifest_check_rendition(const EbRendition *r, int want_audio);

/* The presentation as a whole: at least one video rendition, each valid, an
 * audio rendition valid if present (ignored for TS, where it is muxed in);
 * a known type, sequence numbers >= 0 (first_sequence small enough that
 * every segment's number fits), a wall clock between 1970 and 9999, the
 * protection's strings printable (eb_manifest.h). A LIVE window also needs
 * starts that increase segment after segment in every rendition (one media
 * clock, which dates and the DASH timeline follow), a finite nominal
 * segment length, and no thumbnails (sprite sheets of a window are not
 * written yet). */
int eb_manifest_check_presentation(const EbPresentation *p);

/* An audio rendition's HLS NAME: its label, else its name. */
const char *eb_manifest_audio_label(const EbRendition *r);

/* The index of the default audio rendition: the one marked is_default,
 * else the first. */
int eb_manifest_audio_default(const EbPresentation *p);

/* The media sequence number of segments[0]: first_sequence, 0 read as 1. */
int64_t eb_manifest_first_sequence(const EbPresentation *p);

/* The wall-clock time (us since the epoch) of media time t of r: the
 * anchor moved by t's distance from anchor_us. -EINVAL when p has no wall
 * clock or the result leaves 1970..9999. */
int eb_manifest_wallclock(const EbPresentation *p, const EbRendition *r, int64_t t, int64_t *us);

/* Prints a wall-clock time as ISO 8601 UTC to the millisecond (rounded
 * down): 2026-12-04T10:00:00.000Z, the form EXT-X-PROGRAM-DATE-TIME and
 * xs:dateTime both read. us within 1970..9999 (eb_manifest_wallclock). */
void eb_manifest_bprint_date(AVBPrint *out, int64_t us);

/* A running total of durations (rendition timescale) in microseconds,
 * rounded to nearest. A segment's EXTINF is us(total after it) - us(total
 * before it): rounding the running total rather than each duration keeps
 * the EXTINF sum equal to the rendition's duration however many segments
 * there are, and every writer uses this one rounding. */
int64_t eb_manifest_us(const EbRendition *r, int64_t t);

/* EXT-X-TARGETDURATION of a rendition: the smallest integer that every
 * EXTINF, as printed and rounded to the nearest integer, does not exceed
 * (RFC 8216 4.3.3.1); at least 1. */
int eb_manifest_target_duration(const EbRendition *r);

/* Prints value / 10^decimals with exactly that many decimals, from integers
 * only, so no locale can put a comma in a manifest. value >= 0. */
void eb_manifest_bprint_fixed(AVBPrint *out, int64_t value, int decimals);

/* Prints a checked name as a URI path segment (RFC 3986 pchar; ':' encoded
 * too, so a relative reference never reads as a scheme). */
void eb_manifest_bprint_uri_name(AVBPrint *out, const char *name);

/* The same into out (EB_MANIFEST_URI_NAME_SIZE bytes), for eb_layout_uri. */
void eb_manifest_uri_name(const char *name, char out[EB_MANIFEST_URI_NAME_SIZE]);

/* Prints the reference from item `from` to item `to` that eb_layout_uri()
 * gives, renditions and number text inserted as given (already encoded for
 * where they are printed). 0 or its negative error. */
int eb_manifest_bprint_ref(AVBPrint *out, EbLayoutItem from, const char *from_r, EbLayoutItem to,
                           const char *to_r, const char *number);

/* The same for segment (or sheet) number n, written as the layout names the
 * file ("001"), so a URI and the file it points at cannot disagree. */
int eb_manifest_bprint_ref_number(AVBPrint *out, EbLayoutItem from, const char *from_r,
                                  EbLayoutItem to, const char *to_r, int64_t n);

/* The end of every writer: ret if it failed, else -ENOMEM if out could not
 * grow, else 0; on failure out is cut back to its length `start` from
 * before the call, so a caller never writes half a manifest. */
int eb_manifest_finish(AVBPrint *out, unsigned start, int ret);

/* 1 if the name is all RFC 3986 unreserved characters: then it appears in
 * URIs and DASH templates unchanged. */
int eb_manifest_name_is_plain(const char *name);

/* Bits per second a player spends on sprite sheets: the largest sheet over
 * the time one sheet covers (the whole video if shorter). */
int64_t eb_thumbnail_bandwidth(const EbThumbnailTrack *t);

/* "?v=N" after a media URI when p->media_version >= 2 (nothing otherwise). */
void eb_manifest_bprint_version(AVBPrint *out, const EbPresentation *p);

#endif
