/*
 * The storage layout: the one place that names every path of the storage
 * tree and every URI a manifest prints. Sinks, manifest writers,
 * thumbnails, the origin, the job store and the CLI ask here instead of
 * spelling "cmaf/<rung>/init.mp4" themselves, so a new output (a live
 * window, encrypted renditions) changes the tree in one file.
 *
 *   <root>/videos/<id>/                       a published video (or channel)
 *   <root>/.staging/<id>.XXXXXX/              the same tree while a job builds it
 *   <root>/live/<channel>/                    a live channel's window: the same
 *                                             items, segments numbered by the
 *                                             channel's media sequence
 *   inside a video's tree (EbLayoutItem):
 *     hls/master.m3u8                         HLS entry point
 *     hls/<r>/index.m3u8                      media playlist per rendition
 *     hls/thumbnails/index.m3u8               image playlist (sprite sheets)
 *     dash/manifest.mpd                       DASH (CMAF only)
 *     cmaf/<r>/init.mp4, cmaf/<r>/segment_NNN.m4s    CMAF renditions
 *     hls/<r>/segment_NNN.ts                  TS renditions (next to their playlist)
 *     thumbnails/sprite_NNN.jpg, thumbnails.vtt, thumb_001.jpg
 *     .version                                2, 3…: published over an earlier
 *                                             version (media URIs carry ?v=N)
 *
 * Segment numbers are 1-based (the HLS media sequence and the DASH
 * startNumber of a VOD are 1) and printed with at least three digits.
 * Pure functions of their arguments; any thread.
 */
#ifndef EB_LAYOUT_H
#define EB_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "eb_manifest.h"

/* Folders directly under the storage root. */
#define EB_LAYOUT_VIDEOS_DIR "videos"
#define EB_LAYOUT_STAGING_DIR ".staging"
#define EB_LAYOUT_LIVE_DIR "live"

typedef enum EbLayoutItem {
    EB_LAYOUT_HLS_MASTER = 0,  /* hls/master.m3u8 */
    EB_LAYOUT_HLS_MEDIA,       /* hls/<r>/index.m3u8 */
    EB_LAYOUT_HLS_IMAGES,      /* hls/thumbnails/index.m3u8 */
    EB_LAYOUT_DASH_MPD,        /* dash/manifest.mpd */
    EB_LAYOUT_CMAF_INIT,       /* cmaf/<r>/init.mp4 */
    EB_LAYOUT_CMAF_SEGMENT,    /* cmaf/<r>/segment_<n>.m4s */
    EB_LAYOUT_TS_SEGMENT,      /* hls/<r>/segment_<n>.ts */
    EB_LAYOUT_THUMB_DIR,       /* thumbnails (a folder) */
    EB_LAYOUT_THUMB_SPRITE,    /* thumbnails/sprite_<n>.jpg */
    EB_LAYOUT_THUMB_VTT,       /* thumbnails/thumbnails.vtt */
    EB_LAYOUT_THUMB_POSTER,    /* thumbnails/thumb_001.jpg */
    EB_LAYOUT_VERSION,         /* .version: the media version of an overwritten video */
    EB_LAYOUT_NB_ITEMS
} EbLayoutItem;

/* The file (or folder) of item inside a video's tree, relative to the
 * tree: rendition (raw name) fills <r>, number (>= 1) fills <n> printed
 * %03. Items without <r> or <n> ignore them. Returns the length, or
 * EB_ERR(EINVAL) (unknown item, a needed rendition missing, number < 1) or
 * EB_ERR(ENAMETOOLONG) (out too small; out then holds ""). */
int eb_layout_path(EbLayoutItem item, const char *rendition, int64_t number, char *out,
                   size_t size);

/* The same, under dir (a staging folder or a published tree): "dir/path". */
int eb_layout_file(const char *dir, EbLayoutItem item, const char *rendition, int64_t number,
                   char *out, size_t size);

/* The folder that holds item (its path minus the last component), under dir. */
int eb_layout_parent(const char *dir, EbLayoutItem item, const char *rendition, char *out,
                     size_t size);

/* The segment file of a rendition in format f (CMAF: cmaf/<r>/..., TS:
 * hls/<r>/...), and its init section (CMAF only; TS has none). */
EbLayoutItem eb_layout_segment_item(EbOutputFormat f);

/* The relative reference a manifest at item `from` (of rendition from_r)
 * prints for item `to` (of rendition to_r, number text `number`): the
 * shortest "../" path between the two folders. Renditions and number are
 * inserted as given, so the caller passes them already encoded for where
 * the reference is printed (URI-encoded names; "$RepresentationID$" and
 * "$Number%03d$" in a DASH template). Two renditions are the same folder
 * when their texts are equal. Returns the length or a negative error as
 * eb_layout_path(). */
int eb_layout_uri(EbLayoutItem from, const char *from_r, EbLayoutItem to, const char *to_r,
                  const char *number, char *out, size_t size);

/* A part of a CMAF segment (low-latency live): the segment's name with
 * ".<part>" before the extension, cmaf/<r>/segment_NNN.P.m4s (P 0-based),
 * relative to the tree; and its number text for eb_layout_uri (to
 * EB_LAYOUT_CMAF_SEGMENT): "NNN.P". Lengths or errors as eb_layout_path. */
int eb_layout_part_path(const char *rendition, int64_t sequence, int part, char *out,
                        size_t size);
int eb_layout_part_number(int64_t sequence, int part, char *out, size_t size);

/* <root>/videos/<id>: where a video is published. */
int eb_layout_video_dir(const char *root, const char *id, char *out, size_t size);

/* <root>/live/<channel>: a live channel's tree. */
int eb_layout_live_dir(const char *root, const char *channel, char *out, size_t size);

/* The URL path under the origin of item of video id ("/videos/<id>/hls/
 * master.m3u8"); the id is a checked video id, so nothing needs encoding. */
int eb_layout_origin_path(const char *id, EbLayoutItem item, char *out, size_t size);

/* Content protection, answered by the daemon (never files of the tree):
 * "/videos/<id>/license" (the ClearKey license service) and
 * "/videos/<id>/keys/<kid hex>" (a key, for HLS); the HLS media
 * playlists name the key as EB_LAYOUT_KEY_URI_PREFIX "<kid hex>", which
 * resolves from hls/<r>/index.m3u8 to that path. */
#define EB_LAYOUT_LICENSE_NAME "license"
#define EB_LAYOUT_KEYS_NAME "keys"
#define EB_LAYOUT_KEY_URI_PREFIX "../../" EB_LAYOUT_KEYS_NAME "/"
int eb_layout_license_path(const char *id, char *out, size_t size);

#endif
