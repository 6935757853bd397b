/*
 * Source stage of the file input: demux once, decode once, and normalise
 * through EbNormalize (eb_normalize.h, the same for every input). Hands out the
 * video as constant-rate, progressive, upright 8-bit 4:2:0 frames numbered
 * 0, 1, 2… in 1/frame_rate, and each audio track (up to
 * EB_MAX_AUDIO_TRACKS, the default one first) as 1024-sample frames (AAC's
 * frame size) in 1/sample_rate whose timeline starts with the first video
 * frame (silence padded or samples trimmed to line them up).
 *
 * Normalisation goes through a libavfilter graph only when the source needs
 * it (interlaced: bwdif one frame per frame; rotated: transpose/flip;
 * variable rate: fps at the average rate capped at 60; other pixel formats:
 * format=yuv420p). A clean constant-rate 4:2:0 source bypasses libavfilter
 * and its frames reach the fan-out without a copy.
 *
 * Hardware path (the device given to eb_source_open has a hw_device_ctx):
 * frames are handed out as device frames (the device's hw format, NV12
 * surfaces), not rotated (the fan-out applies geometry.rotation). A stream
 * the device can decode (eb_hal_hw_decode_decision, then the backend's
 * hwaccel decoder) stays on the device: only variable-rate retiming runs
 * (the fps filter passes device frames through). Otherwise (10-bit, 4:2:2,
 * no hwaccel for the codec, declared interlaced) it is decoded and
 * normalised in software (bwdif, fps, format=nv12) and each output frame is
 * uploaded once, on the thread calling eb_source_next(), counted in
 * EbSourceStats.uploads.
 *
 * Threading: one thread (the job's demux thread) uses an EbSource.
 */
#ifndef EB_SOURCE_H
#define EB_SOURCE_H

#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "eb_hal.h"
#include "eb_ladder.h"

typedef struct EbSource EbSource;

/* Audio tracks a job keeps as renditions; the rest are not decoded. */
#define EB_MAX_AUDIO_TRACKS 8

typedef struct EbAudioTrackInfo {
    int stream_index;          /* in the container */
    int sample_rate, channels; /* as handed out: 44.1 or 48 kHz, 1 or 2 channels */
    int source_channels;       /* as stored (6: a 5.1 track, downmixed to stereo) */
    char language[16];         /* BCP 47 ("en", "fr"); "" undetermined (eb_language.h) */
    char label[64];            /* unique among the tracks: "English", "French 2", "Audio 1" */
    int is_default;            /* the track players start with: audio[0] only */
} EbAudioTrackInfo;

typedef struct EbSourceInfo {
    EbSourceGeometry geometry; /* as stored, plus the rotation to apply */
    int out_width, out_height; /* the upright picture (after rotation); on the
                                * hardware path frames are handed out as stored
                                * and the fan-out rotates */
    AVRational frame_rate;     /* constant output rate */
    int variable_rate;         /* 1: retimed from a variable-rate source */
    int interlaced;            /* known after the first frame */
    double duration;           /* seconds, as the container states it */
    int64_t expected_frames;   /* duration x frame_rate, for progress */
    int nb_audio;              /* audio tracks handed out (0: none) */
    EbAudioTrackInfo audio[EB_MAX_AUDIO_TRACKS]; /* the default track first */
    int audio_skipped;                           /* audio tracks in the input not handed out (over
                                                  * max_audio_tracks, or not decodable) */
    enum AVColorPrimaries color_primaries;
    enum AVColorTransferCharacteristic color_trc;
    enum AVColorSpace colorspace;
    enum AVColorRange color_range;
    enum AVChromaLocation chroma_location; /* from the stream (SPS/VUI); often unspecified */
    const char *video_codec;
    int device_frames;     /* 1: frames handed out are device frames (hardware path) */
    int device_decode;     /* 1: decoded on the device; 0 on the hardware path:
                            * decoded in software and uploaded */
    char decode_note[256]; /* hardware path: where it decodes and why */
} EbSourceInfo;

typedef struct EbSourceStats {
    int64_t packets;        /* video packets demuxed */
    int64_t frames_decoded; /* video frames out of the decoder */
    int64_t frames_out;     /* frames handed out after normalisation */
    int64_t damaged;        /* packets rejected + frames flagged corrupt */
    uint64_t decode_ns;     /* wall time in demux + decode calls */
    uint64_t filter_ns;     /* wall time in the normalisation graph */
    int64_t uploads;        /* host -> device frame copies (hardware path) */
} EbSourceStats;

/* The decoder's next frame into frame, counted in stats (a damaged video
 * frame, undecodable data skipped and counted): 1 a frame, 0 none until the
 * next packet (or the end), or a negative error. The decode loops of the
 * file and live inputs share it. */
int eb_decode_receive(AVCodecContext *dec, AVFrame *frame, EbSourceStats *stats, int is_audio);

typedef struct EbSourceOptions {
    int want_audio; /* 0: ignore audio tracks */
    int max_audio_tracks; /* at most this many (the default track first); 0:
                           * EB_MAX_AUDIO_TRACKS */
    /* NULL-terminated folders the input and every file a demuxer opens for
     * it (HLS segments, concat entries) must lie in, symlinks resolved;
     * NULL: no confinement (the operator's own command line). */
    const char *const *input_roots;
    /* Hardware path: the device's inventory entry, for the decode decision
     * (NULL: decide from the stream's format alone). */
    const EbHalDeviceInfo *device_caps;
} EbSourceOptions;

/* Opens and probes path with the backend's decoder. Only local files are
 * opened (protocol whitelist "file"). Fails with a specific code:
 * EB_ERR_EMPTY_INPUT, EB_ERR_NOT_MEDIA, EB_ERR_NO_VIDEO,
 * EB_ERR_CODEC_UNSUPPORTED, EB_ERR_HDR_UNSUPPORTED, EB_ERR_INPUT_CONFINED,
 * or an errno; detail (may be NULL) then receives what exactly, e.g. the
 * codec's name or the refused path. */
int eb_source_open(const char *path, EbHalDevice *dev, const EbSourceOptions *so, EbSource **out,
                   char *detail, size_t detail_size);

const EbSourceInfo *eb_source_info(const EbSource *s);

/* Next normalised frame into frame (caller-allocated, must be empty);
 * *is_audio says which: 0 video, n >= 1 audio track n - 1 (info.audio[n - 1]).
 * Returns 0, EB_EOF at the end of both streams, or an
 * error (EB_ERR_HDR_UNSUPPORTED can surface on the first frame). */
int eb_source_next(EbSource *s, AVFrame *frame, int *is_audio);

/* The stream's pixel aspect ratio (container or codec), {0, 1} when
 * unknown or past 1:EB_SOURCE_MAX_SAR..EB_SOURCE_MAX_SAR:1 (a damaged
 * header; square pixels then). Shared by every input. */
#define EB_SOURCE_MAX_SAR 8
AVRational eb_source_sample_aspect(AVFormatContext *fmt, AVStream *st);

/* An audio track's description from its stream: output rate and channels,
 * language, is_default from the stream's disposition (label and the final
 * is_default are eb_source_label_audio's). Shared by every input. */
void eb_source_describe_audio(const AVStream *st, EbAudioTrackInfo *t);

/* Orders info->audio default first (the stream marked default, else the
 * first) and gives each track a unique label. */
void eb_source_label_audio(EbSourceInfo *info);

/* Tolerance of the coverage check: what a container's stated duration may
 * be off by with nothing missing (rounded durations, the last frame's
 * length): two frames or half a second, whichever is longer, and 1% more
 * for an HLS input (EXTINF may be rounded). */
#define EB_SOURCE_SHORT_SECONDS 0.5
#define EB_SOURCE_SHORT_FRAMES 2
/* Video frames read (from the first keyframe) that may give no picture at
 * all: an open GOP's leading B-frames after a cut, which reference a
 * picture before it. */
#define EB_SOURCE_UNDECODABLE_FRAMES 8

/* After EB_EOF: whether the input delivered less than it states, so that
 * a job never publishes less than its input holds. Short when more than
 * EB_SOURCE_UNDECODABLE_FRAMES (or 1%) of the video frames read from the
 * first keyframe on could not be decoded at all (a frame the decoder
 * conceals counts as decoded), when the
 * container counts the video's frames (mp4, mov) and more than
 * EB_SOURCE_SHORT_FRAMES of them could not be read, when the video stream
 * states its duration (mp4, MPEG-TS) and the video decoded does not reach
 * it, or when only the file states one (Matroska: the longest track's)
 * and neither the video nor any audio track (in samples decoded) reaches it
 * within the tolerance, or when reading ended on an error half a second or
 * more before it. Returns 0, or EB_ERR_DAMAGED (frames not decodable) or
 * EB_ERR_TRUNCATED (the rest) with what is missing in why. */
int eb_source_short(const EbSource *s, char *why, size_t size);

void eb_source_get_stats(const EbSource *s, EbSourceStats *out);

/* After eb_source_next() failed: what exactly went wrong, or "". */
const char *eb_source_error_detail(const EbSource *s);

void eb_source_close(EbSource **s);

/* A measured or stated rate of fps frames per second as the output rate:
 * the common rate within 1% (24000/1001 … 60), else the nearest integer
 * within 1%, else fps as a fraction over 1001. Shared by every input. */
AVRational eb_source_snap_rate(double fps);

#endif
