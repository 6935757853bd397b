/*
 * HLS and DASH manifest writers. encbox writes its own manifests (ffmpeg
 * 5.1's muxers cannot write AVERAGE-BANDWIDTH or FRAME-RATE, nor point DASH
 * at a segment tree shared with HLS). The writers are pure: a description of
 * the finished presentation in, text out (AVBPrint), so they are unit-tested
 * without media.
 *
 * Layout they assume (relative URIs, so the tree can move):
 *   hls/master.m3u8, hls/<rung>/index.m3u8
 *   cmaf/<rung>/init.mp4, cmaf/<rung>/segment_%03d.m4s   (CMAF)
 *   hls/<rung>/segment_%03d.ts                           (TS)
 *   dash/manifest.mpd                                    (CMAF only)
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

typedef struct EbSegmentInfo {
    int64_t start;      /* presentation start, in the rendition's timescale */
    int64_t duration;   /* in the rendition's timescale */
    int64_t size;       /* bytes in the segment file (TS: audio included) */
} EbSegmentInfo;

typedef struct EbRendition {
    char name[16];              /* "720p", "audio": folder and Representation id */
    int is_audio;
    int width, height;          /* video */
    AVRational frame_rate;      /* video */
    int sample_rate, channels;  /* audio */
    char codecs[64];            /* RFC 6381: "avc1.64001f", "mp4a.40.2";
                                 * TS variants: "avc1.64001f,mp4a.40.2" */
    int64_t bitrate;            /* nominal (ladder) bits/s, for information */
    int timescale;              /* of start/duration below */
    int nb_segments;
    EbSegmentInfo *segments;    /* owned by whoever filled the struct */
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
    double interval;            /* seconds per tile */
    double duration;            /* seconds covered: the video's duration */
    int64_t max_sheet_bytes;    /* largest sheet file, for BANDWIDTH */
} EbThumbnailTrack;

typedef struct EbPresentation {
    EbOutputFormat format;
    int nb_video;
    EbRendition *video;         /* tallest first */
    EbRendition *audio;         /* NULL: no audio (or TS, where it is muxed in) */
    double segment_seconds;     /* nominal segment length */
    const EbThumbnailTrack *thumbnails; /* NULL: none */
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
 * -ENOMEM when the buffer could not grow). */
int eb_manifest_hls_master(const EbPresentation *p, AVBPrint *out);
int eb_manifest_hls_media(const EbPresentation *p, const EbRendition *r, AVBPrint *out);
int eb_manifest_dash_mpd(const EbPresentation *p, AVBPrint *out);

/* The image media playlist of p->thumbnails (hls/thumbnails/index.m3u8). */
int eb_manifest_hls_images(const EbPresentation *p, AVBPrint *out);

#endif
