/*
 * Thumbnails from the frames the job already decoded: a sink on the fan-out
 * (it receives the smallest rung's frames, never a second decode) that
 * writes
 *   thumbnails/thumb_001.jpg     catalog thumbnail (chosen, or at a time)
 *   thumbnails/sprite_NNN.jpg    trick-play sprite sheets (cols x rows tiles)
 *   thumbnails/thumbnails.vtt    WebVTT: time ranges -> sprite_NNN.jpg#xywh=
 *
 * Threading: one thread pushes frames (the fan-out thread); finish() runs
 * after that thread has ended.
 */
#ifndef EB_THUMBS_H
#define EB_THUMBS_H

#include <libavutil/frame.h>

#include "eb_manifest.h"

typedef struct EbThumbsOptions {
    int enabled;          /* default 1 */
    double interval;      /* seconds between sprite tiles; default 5 */
    int tile_width;       /* pixels; height follows the aspect ratio; default 160 */
    int cols, rows;       /* tiles per sprite sheet; default 10 x 10 */
    double at;            /* catalog thumbnail time in seconds; < 0: choose one */
    int catalog_width;    /* pixels, at most the frames' width; default 320 */
    int64_t media_version; /* >= 2: the VTT's sheet URIs carry "?v=N" (see
                            * EbPresentation.media_version); default 0 */
} EbThumbsOptions;

void eb_thumbs_options_default(EbThumbsOptions *o);

typedef struct EbThumbs EbThumbs;

/* Frames pushed are width x height, numbered 0,1,2… in 1/frame_rate;
 * expected_duration (seconds) spaces the catalog candidates. dir is the
 * video tree's thumbnails folder (EB_LAYOUT_THUMB_DIR) and must exist; the
 * layout names the files written in it. */
int eb_thumbs_open(const EbThumbsOptions *o, const char *dir, int width, int height,
                   AVRational frame_rate, double expected_duration, EbThumbs **out);

/* Offers one frame (read only; a reference is taken when it is kept). */
int eb_thumbs_push(EbThumbs *t, const AVFrame *frame);

/* 1 if eb_thumbs_push() would use or keep the frame numbered pts, else 0:
 * a caller whose frames are costly to offer (device frames to download)
 * offers only those. With the catalog time set (at >= 0) every frame is kept
 * until that time, as the last one stands in when the video is shorter. */
int eb_thumbs_wants(const EbThumbs *t, int64_t pts);

/* Writes the last sheet, the VTT covering 0..duration and the catalog
 * thumbnail; fills track for the manifests. */
int eb_thumbs_finish(EbThumbs *t, double duration, EbThumbnailTrack *track);

void eb_thumbs_free(EbThumbs **t);

/* Scores used to pick the catalog frame, exposed for tests. */
typedef struct EbThumbScore {
    double mean;        /* luma mean, 0..255 */
    double stddev;      /* luma standard deviation */
    double sharpness;   /* mean absolute 4-neighbour Laplacian of luma */
    float hist[32];     /* normalised luma histogram */
} EbThumbScore;

void eb_thumbs_score(const AVFrame *frame, EbThumbScore *s);

/* Index of the representative candidate (see eb_thumbs.c for the rule). */
int eb_thumbs_pick(const EbThumbScore *scores, int n);

#endif
