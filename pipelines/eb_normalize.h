/*
 * Normalisation: what every input's decoded frames go through before the
 * engine sees them, so that a file, an upload or a live feed hands the
 * engine the same thing (eb_input.h):
 *   video  progressive (bwdif when interlaced), upright (transpose/flip;
 *          not on the hardware path, where the fan-out rotates), constant
 *          rate (fps at the chosen rate when the source is variable),
 *          8-bit 4:2:0 (yuv420p; NV12 device frames on the hardware path,
 *          uploaded once when decoded in software), timed 0, 1, 2… in
 *          1/frame_rate;
 *   audio  per track, resampled to 44.1/48 kHz, stereo or mono, fltp,
 *          1024-sample frames in 1/sample_rate, whose time zero is the first video
 *          frame's (silence in front of a late track, trimmed samples from
 *          an early one).
 * libavfilter does the work; a clean constant-rate 4:2:0 source bypasses
 * it and its frames pass without a copy.
 *
 * The caller (an input: EbSource today) decodes and feeds frames in
 * demux order, then pops normalised frames; one thread.
 */
#ifndef EB_NORMALIZE_H
#define EB_NORMALIZE_H

#include <stdint.h>

#include <libavutil/frame.h>

#include "eb_hal.h"
#include "eb_source.h"

typedef struct EbNormalize EbNormalize;

typedef struct EbNormalizeConfig {
    /* Borrowed, the input's: read (frame_rate, variable_rate, geometry,
     * audio[].sample_rate/channels, device_decode) and completed on the first
     * video frame (interlaced, colour, out_width/out_height). */
    EbSourceInfo *info;
    AVRational video_time_base;    /* of the decoded video frames' timestamps */
    /* Of each audio track's decoded frames' timestamps (info->audio[k]). */
    AVRational audio_time_base[EB_MAX_AUDIO_TRACKS];
    int64_t t0;                    /* first video timestamp (video_time_base): time zero */
    EbHalDevice *dev;              /* hardware path: the device (borrowed); NULL: software */
    int upload;                    /* hardware path, decoded in software: upload each frame */
    int size_change_fails;         /* 1: a video frame of another size than the first is an
                                    * error (a live feed's new size: the run ends); 0: it is
                                    * damage, left out and counted */
} EbNormalizeConfig;

/* The caller owns *out (eb_normalize_free). */
int eb_normalize_open(const EbNormalizeConfig *cfg, EbNormalize **out);

/* A decoded frame in; the frame is consumed (left empty). Errors:
 * EB_ERR_HDR_UNSUPPORTED on a PQ/HLG first frame, device mismatches on
 * the hardware path (eb_normalize_detail() says what), libavfilter's. */
int eb_normalize_video(EbNormalize *n, AVFrame *f);
int eb_normalize_audio(EbNormalize *n, int track, AVFrame *f);

/* End of input: drains what the filters still hold. */
int eb_normalize_flush(EbNormalize *n);

/* The next normalised frame into out (empty); *is_audio says which: 0
 * video, n >= 1 audio track n - 1.
 * EB_ERR(EAGAIN) when none is ready. */
int eb_normalize_pop(EbNormalize *n, AVFrame *out, int *is_audio);

/* Frames handed out, uploads, time in libavfilter, and damaged frames left
 * out (a video frame of another size than the first, an audio frame of
 * another rate, format or channel count than its track's first). */
void eb_normalize_stats(const EbNormalize *n, int64_t *frames_out, int64_t *uploads,
                        uint64_t *filter_ns, int64_t *dropped);

/* What the last failure was about, or "". */
const char *eb_normalize_detail(const EbNormalize *n);

void eb_normalize_free(EbNormalize **n);

#endif
