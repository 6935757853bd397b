/*
 * The ABR ladder: what rungs a job asks for (EbLadder, the one ladder schema
 * shared by the CLI, firmware-config presets and the API), and what a given
 * source actually gets (EbRungPlan: geometry after aspect, rotation and the
 * never-upscale rule).
 */
#ifndef EB_LADDER_H
#define EB_LADDER_H

#include <stdint.h>

#include <libavcodec/codec_id.h>
#include <libavutil/rational.h>

#define EB_LADDER_MAX_RUNGS 8
#define EB_RUNG_NAME_MAX 16

typedef struct EbRung {
    char name[EB_RUNG_NAME_MAX]; /* "720p"; also the output folder name */
    int height;                  /* short side of the displayed picture, pixels */
    int64_t bitrate;             /* target video bitrate, bits/s */
    int64_t maxrate;             /* 0: 1.07 x bitrate */
    int64_t bufsize;             /* 0: 1.5 x bitrate */
    char codec[8];               /* "h264" (default) or "hevc" */
    char profile[16];            /* "" = encoder's choice for the rung */
    double max_fps;              /* 0 = keep the source rate */
} EbRung;

typedef struct EbLadder {
    char name[32];
    int nb_rungs;
    EbRung rungs[EB_LADDER_MAX_RUNGS]; /* tallest first */
    int64_t audio_bitrate;             /* AAC bits/s; 0 = drop audio */
    int audio_channels;                /* 0 = keep source layout, capped at 2 */
} EbLadder;

/* Fills the product's default ladder (shared/DESIGN.md): 1080p 5M, 720p 2.5M,
 * 480p 1M, 360p 600k, AAC 128k. */
void eb_ladder_default(EbLadder *ladder);

/* The rung's codec as libavcodec names it: AV_CODEC_ID_H264 or _HEVC. */
enum AVCodecID eb_rung_codec_id(const EbRung *rung);

/* Effective maxrate/bufsize of a rung (applies the 1.07x / 1.5x defaults). */
int64_t eb_rung_maxrate(const EbRung *rung);
int64_t eb_rung_bufsize(const EbRung *rung);

/* What the source looks like, as far as geometry goes. */
typedef struct EbSourceGeometry {
    int width, height;  /* coded picture size */
    AVRational sar;     /* sample aspect ratio; 0/x or x/0 means square */
    int rotation;       /* clockwise degrees to rotate for display: 0/90/180/270 */
} EbSourceGeometry;

typedef struct EbRungPlan {
    EbRung rung;        /* copy of the requested rung (renamed for a small source) */
    int width, height;  /* output size, square pixels, upright, both even */
} EbRungPlan;

/* Plans the rungs for a source: rungs taller than the source's short side
 * are dropped; if none is left the source gets one rung at its own size
 * (using the smallest rung's rates). Returns the number of planned rungs
 * (>= 1) or a negative error. out must hold EB_LADDER_MAX_RUNGS entries. */
int eb_ladder_plan(const EbLadder *ladder, const EbSourceGeometry *geo, EbRungPlan *out);

/* Normalises a rotation in degrees (any sign, any multiple of 90 after
 * rounding) to 0, 90, 180 or 270. */
int eb_rotation_normalize(double degrees);

#endif
