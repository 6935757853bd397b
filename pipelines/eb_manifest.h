/*
 * HLS and DASH manifest writers. encbox writes its own manifests (ffmpeg
 * 5.1's muxers cannot write AVERAGE-BANDWIDTH or FRAME-RATE, nor point DASH
 * at a segment tree shared with HLS). The writers are pure: a description of
 * the presentation in, text out (AVBPrint), so they are unit-tested without
 * media.
 *
 * Two kinds of presentation: a VOD (finished, every segment listed, HLS
 * PLAYLIST-TYPE:VOD and a static MPD) and a LIVE window (the latest
 * segments of a running channel, rewritten as segments arrive: no
 * PLAYLIST-TYPE, a dynamic MPD anchored to the wall clock). A zeroed
 * EbPresentation is a VOD whose segments are numbered from 1.
 *
 * Every URI they print is a relative reference between two items of the
 * storage layout (eb_layout.h: hls/master.m3u8, hls/<r>/index.m3u8,
 * cmaf/<r>/segment_NNN.m4s ...), so the tree can move and is named in one
 * place.
 */
#ifndef EB_MANIFEST_H
#define EB_MANIFEST_H

#include <stdint.h>

#include <libavutil/bprint.h>
#include <libavutil/rational.h>

typedef enum EbOutputFormat {
    EB_FORMAT_CMAF = 0, /* fMP4 segments, HLS + DASH */
    EB_FORMAT_TS,       /* MPEG-TS segments, HLS only, audio muxed in every variant */
} EbOutputFormat;

/* Whoever fills one zeroes it first (memset or an initialiser): fields
 * added later mean "as before" when zero. */
typedef struct EbSegmentInfo {
    int64_t start;     /* presentation start, in the rendition's timescale */
    int64_t duration;  /* in the rendition's timescale */
    int64_t size;      /* bytes in the segment file (TS: audio included) */
    int discontinuity; /* 1: does not continue the segment before it (another encoder
                        * session, another source): HLS EXT-X-DISCONTINUITY before it.
                        * start still follows one monotonic media clock (see
                        * eb_manifest_dash.c) */
    /* The segment file's own timestamps (its tfdt) are start - media_offset.
     * A live channel whose encoder restarted (a publisher came back) keeps
     * one clock in start across its runs while each run's files count from
     * their own zero: DASH opens a new Period where media_offset changes (at
     * a discontinuity; see eb_manifest_dash.c), HLS needs nothing more than
     * the discontinuity. 0: the file's timestamps are start. */
    int64_t media_offset;
    /* HLS METHOD=AES-128 whole-segment encryption: this segment's IV
     * (printed as IV=0x... on an EXT-X-KEY before the segment). */
    int has_iv;
    uint8_t iv[16];
    /* HLS: the EXT-X-PROGRAM-DATE-TIME of this segment where one is printed
     * (the first, and after a discontinuity), UTC microseconds: a live
     * session's recording keeps each run's own date though the runs are
     * placed end to end. 0: from the presentation's wall clock. */
    int64_t date_us;
} EbSegmentInfo;

/* A part of a segment (LL-HLS EXT-X-PART): a fragment of the segment's
 * file, written as its own file too (eb_layout_part_path). */
typedef struct EbPartInfo {
    int64_t sequence; /* media sequence of the segment it belongs to */
    int index;        /* 0-based within that segment */
    int64_t start;    /* presentation start on the segments' clock (EbSegmentInfo.start) */
    int64_t duration; /* in the rendition's timescale */
    int independent;  /* starts with an IDR (audio: always) */
    int discontinuity; /* its segment does not continue the one before (a new run):
                        * printed before the segment's first part when that segment
                        * is not listed yet */
} EbPartInfo;

typedef struct EbRendition {
    char name[16]; /* "720p", "audio": folder and Representation id */
    int is_audio;
    int width, height;         /* video */
    AVRational frame_rate;     /* video */
    int sample_rate, channels; /* audio */
    char language[16];         /* audio: BCP 47 ("en"); "": undetermined (no LANGUAGE,
                                * DASH lang="und") */
    char label[64];            /* audio: HLS NAME, unique in the group; "": the name */
    int is_default;            /* audio: the rendition players start with (HLS
                                * DEFAULT=YES, DASH Role main); exactly one */
    char codecs[64];           /* RFC 6381: "avc1.64001f", "mp4a.40.2";
                                * TS variants: "avc1.64001f,mp4a.40.2" */
    int64_t bitrate;           /* nominal (ladder) bits/s, for information */
    int timescale;             /* of start/duration below */
    int nb_segments;
    EbSegmentInfo *segments; /* owned by whoever filled the struct; segments[0] has
                              * the presentation's first_sequence */
    /* LIVE low latency (EbPresentation.part_target > 0): the parts of the
     * newest segments, oldest first, in sequence order; they may run past
     * the last listed segment (the segment being written, or segments this
     * rendition finished before the others). Owned like segments. */
    int nb_parts;
    const EbPartInfo *parts;
    /* The newest sequence this rendition has finished (its parts are all
     * there), listed or not: the part being written is of the one after.
     * 0: the last listed segment. */
    int64_t last_complete;
} EbRendition;

/* Trick-play sprite sheets (thumbnails/sprite_%03d.jpg), listed in the HLS
 * master as an image stream (EXT-X-IMAGE-STREAM-INF, the Image Media
 * Playlist convention of Apple/Roku: hls/thumbnails/index.m3u8 with
 * EXT-X-TILES) and in the MPD as a DASH-IF thumbnail-tile AdaptationSet.
 * Every sheet has the same size (cols x rows tiles); the last may be
 * partly filled. */
typedef struct EbThumbnailTrack {
    int nb_sheets;
    int nb_tiles;
    int tile_width, tile_height;
    int cols, rows;
    double interval;         /* seconds per tile */
    double duration;         /* seconds covered: the video's duration */
    int64_t max_sheet_bytes; /* largest sheet file, for BANDWIDTH */
} EbThumbnailTrack;

typedef enum EbPresentationType {
    EB_PRESENTATION_VOD = 0, /* finished: every segment, HLS PLAYLIST-TYPE:VOD, static MPD */
    EB_PRESENTATION_LIVE,    /* a sliding window of a channel: dynamic MPD, no PLAYLIST-TYPE */
} EbPresentationType;

/* One DASH ContentProtection element (ISO 23009-1 5.8.4.1, DASH-IF IOP
 * content protection): printed in every audio and video AdaptationSet. */
typedef struct EbDashProtection {
    const char *scheme_id_uri; /* required: "urn:mpeg:dash:mp4protection:2011",
                                * "urn:uuid:<DRM system id>" */
    const char *value;         /* @value ("cenc", "cbcs", a DRM's name); NULL: none */
    const char *default_kid;   /* @cenc:default_KID, a UUID; NULL: none */
    const char *pssh;          /* <cenc:pssh>: base64 of a whole pssh box; NULL: none */
    const char *license_url;   /* <dashif:Laurl>; NULL: none */
} EbDashProtection;

/*
 * Content protection as the manifests state it. Descriptive only: the
 * writers print what they are given (checked for what would break the file:
 * empty or control characters, an HLS key without METHOD); encrypting the
 * segments is the caller's business. The same keys apply to every rendition
 * and to the whole window. Strings are owned by the caller.
 */
typedef struct EbProtection {
    /* HLS attribute lists, as printed after "#EXT-X-KEY:", e.g.
     * METHOD=SAMPLE-AES,URI="skd://k1",KEYFORMAT="com.apple.streamingkeydelivery",
     * KEYFORMATVERSIONS="1". Each goes into every media playlist (after EXT-X-MAP,
     * before the first segment) and into the master as EXT-X-SESSION-KEY, so
     * METHOD is required and is not NONE (clear is protection == NULL).
     * A segment with an IV (EbSegmentInfo.has_iv) gets the keys again
     * right before it, each with ",IV=0x<32 hex digits>" appended. */
    int nb_hls_keys;
    const char *const *hls_keys;
    /* 1: no EXT-X-SESSION-KEY in the master (its URIs resolve against the
     * master, not the media playlists: keys given relative to the media
     * playlists cannot be repeated there). */
    int hls_no_session_key;
    int nb_dash;
    const EbDashProtection *dash; /* in the order printed */
} EbProtection;

typedef struct EbPresentation {
    EbOutputFormat format;
    int nb_video;
    EbRendition *video;                 /* tallest first */
    int nb_audio;                       /* 0: no audio (or TS, where it is muxed in) */
    EbRendition *audio;                 /* nb_audio alternatives (languages), default first */
    double segment_seconds;             /* nominal segment length (LIVE DASH: the MPD's update
                                         * period; 0: the longest segment) */
    const EbThumbnailTrack *thumbnails; /* NULL: none (VOD only) */

    /* Everything below is zero for a VOD as encbox writes it today. */
    EbPresentationType type;
    /* Media sequence number of segments[0] of every rendition (0 is taken as
     * 1); file numbers follow it: a window of segments 41..50 plays
     * segment_041 .. segment_050 (HLS EXT-X-MEDIA-SEQUENCE:41, DASH
     * startNumber 41). */
    int64_t first_sequence;
    /* Version of the media under these manifests (a video overwritten in
     * place keeps its file names with new bytes): >= 2 appends "?v=N" to
     * every media URI (init sections, segments, sprite sheets), so a cache
     * holding an earlier version's bytes is never asked for them by these
     * manifests. 0 or 1: plain URIs. */
    int64_t media_version;
    /* Discontinuities that slid out of the window before segments[0]: HLS
     * EXT-X-DISCONTINUITY-SEQUENCE (printed when > 0). */
    int64_t discontinuity_sequence;
    int ended; /* LIVE: the channel has stopped (HLS EXT-X-ENDLIST) */
    /* Wall-clock anchor: the UTC time, in microseconds since the Unix epoch,
     * at which media time anchor_us is presented (0: none). anchor_us is on
     * the renditions' shared media clock (start / timescale) in
     * microseconds. HLS prints EXT-X-PROGRAM-DATE-TIME from it; a LIVE MPD
     * needs it (availabilityStartTime, with presentationTimeOffset anchor_us),
     * so both keep it fixed for the life of a channel. */
    int64_t wallclock_us;
    int64_t anchor_us;
    const EbProtection *protection; /* NULL: clear */
    /* LIVE DASH: where players read the server's clock (a UTCTiming of
     * scheme urn:mpeg:dash:utc:http-iso:2014); NULL: none, players use
     * their own clock. */
    const char *utc_timing_url;
    /* LIVE low latency: the part target in seconds (every part is at most
     * this long): LL-HLS media playlists (RFC 8216bis: EXT-X-SERVER-CONTROL
     * with blocking reload and delta updates, EXT-X-PART-INF, EXT-X-PART,
     * EXT-X-PRELOAD-HINT, EXT-X-RENDITION-REPORT). 0: classic playlists. */
    double part_target;
} EbPresentation;

/* Peak and average bits/s of a rendition from its segments, as HLS defines
 * them (BANDWIDTH = max over segments of size*8/duration; AVERAGE-BANDWIDTH
 * = total size*8 / total duration). In CMAF mode the caller adds the audio
 * rendition's figures to each variant, as players download both.
 *
 * Precisely, "segments" in the peak are runs of contiguous segments lasting
 * 0.5 to 1.5 x the target duration + 0.5 s (draft-pantos-hls-rfc8216bis
 * 4.1, what Apple's mediastreamvalidator measures), so a short last segment
 * counts together with the one before it, never alone. Durations are the
 * EXTINF values the playlist prints. Peak is rounded up, average to
 * nearest; both 0 for an unusable rendition (no timescale, no segments,
 * zero total duration). peak or average may be NULL. */
void eb_rendition_bandwidth(const EbRendition *r, int64_t *peak, int64_t *average);

/* Total duration of a rendition in seconds: the sum of its segment
 * durations (0 for an unusable rendition). */
double eb_rendition_duration(const EbRendition *r);

/* Each writer appends to out (caller-initialised with av_bprint_init) and
 * returns 0 or a negative error (-EINVAL for an inconsistent description,
 * -ENOMEM when the buffer could not grow); a refused or failed call leaves
 * out as it was. */
int eb_manifest_hls_master(const EbPresentation *p, AVBPrint *out);
int eb_manifest_hls_media(const EbPresentation *p, const EbRendition *r, AVBPrint *out);
int eb_manifest_dash_mpd(const EbPresentation *p, AVBPrint *out);

/* The image media playlist of p->thumbnails (hls/thumbnails/index.m3u8);
 * VOD only. */
int eb_manifest_hls_images(const EbPresentation *p, AVBPrint *out);

/* ---- into a storage tree (eb_manifest_files.c) ---- */

enum {
    EB_MANIFEST_MEDIA = 1,  /* every HLS media playlist (and the image playlist) */
    EB_MANIFEST_MASTER = 2, /* hls/master.m3u8 */
    EB_MANIFEST_MPD = 4,    /* dash/manifest.mpd (CMAF only) */
    EB_MANIFEST_ALL = 7,
};

/* Writes p's manifests (the parts in `what`) under dir with the layout's
 * names, each replaced atomically; media playlists first, so a master never
 * names a playlist that is not there yet. 0 or the first error. */
int eb_manifest_write_files(const char *dir, const EbPresentation *p, unsigned what);

/* Writes one rendition's HLS media playlist under dir (a live rendition's
 * new part). */
int eb_manifest_write_media(const char *dir, const EbPresentation *p, const EbRendition *r);

#endif
