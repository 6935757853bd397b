/*
 * What the three manifest writers (eb_manifest.c, eb_manifest_hls.c,
 * eb_manifest_dash.c) share and nothing else needs: input checks, the one
 * rounding of segment durations to EXTINF microseconds (so the target
 * duration, the peak bit rate and the playlists agree to the microsecond),
 * and locale-free number and URI printing. Private to pipelines/: the
 * public API stays eb_manifest.h.
 */
#ifndef EB_MANIFEST_PRIV_H
#define EB_MANIFEST_PRIV_H

#include <stdint.h>

#include <libavutil/bprint.h>

#include "eb_manifest.h"

#define EB_MANIFEST_US 1000000

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
 * audio rendition valid if present (ignored for TS, where it is muxed in). */
int eb_manifest_check_presentation(const EbPresentation *p);

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

/* 1 if the name is all RFC 3986 unreserved characters: then it appears in
 * URIs and DASH templates unchanged. */
int eb_manifest_name_is_plain(const char *name);

/* Bits per second a player spends on sprite sheets: the largest sheet over
 * the time one sheet covers (the whole video if shorter). */
int64_t eb_thumbnail_bandwidth(const EbThumbnailTrack *t);

#endif
