/*
 * Helpers for integration tests: make source media with the ffmpeg command
 * line (libavfilter test sources; no binary fixtures in the repo) and read
 * back what encbox wrote with libavformat.
 */
#ifndef EB_TEST_MEDIA_H
#define EB_TEST_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#define EB_TEST_MAX_FRAMES 4096

/* A fresh, empty folder under EB_TEST_TMP (or /tmp); path receives it. */
void eb_test_tmpdir(const char *tag, char *path, size_t size);

/* Runs an ffmpeg command line (arguments after "ffmpeg -y -v error");
 * returns its exit status. */
int eb_test_ffmpeg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What a rendition's files hold, read back with libavformat. */
typedef struct EbTestStream {
    int width, height;
    int pix_fmt;                   /* enum AVPixelFormat */
    int chroma_location;           /* enum AVChromaLocation, from the SPS/VUI */
    int codec_id;                  /* enum AVCodecID */
    uint32_t codec_tag;            /* the sample entry's fourcc in CMAF ('hvc1') */
    int level;                     /* level_idc from the SPS */
    int64_t frames;
    int cfr;                       /* 1 if every frame has the same duration */
    int64_t video_bytes;           /* elementary stream bytes */
    double start;                  /* first presentation time, seconds */
    double duration;               /* sum of frame durations, seconds */
    int nb_keyframes;
    double keyframe_times[256];    /* presentation times of keyframes */
    int has_audio;
    double audio_start;
    int audio_codec_aac;
    int audio_channels;
} EbTestStream;

/* Reads init.mp4 + segment_*.m4s of a CMAF rendition folder (concatenated,
 * as a player appends them) or the segment_*.ts of a TS rendition. */
int eb_test_read_rendition(const char *dir, EbTestStream *out);

/* Presentation start of a CMAF rendition as a player's MSE sees it:
 * eb_test_cmaf_timeline's start[0] ((tfdt + the first sample's
 * composition offset - the edit list's media_time) / mdhd timescale).
 * libavformat's mov demuxer shifts presentation times when trun carries
 * negative offsets, so it cannot tell. */
int eb_test_cmaf_start(const char *dir, double *seconds);

/* A CMAF rendition's timeline as a player's MSE presents it, read from
 * the bytes alone (not from libavformat, which shifts times to suit
 * itself): for segment_001.m4s, segment_002.m4s, ... in order, start[k] =
 * (tfdt + the first sample's composition offset - the edit list's
 * media_time) / the mdhd timescale, and duration[k] = the sum of its trun
 * sample durations (every fragment of the segment), in seconds. What lies
 * before 0 (the AAC priming the edit list removes) is not presented. */
#define EB_TEST_MAX_SEGMENTS 64
typedef struct EbTestTimeline {
    int nb;
    int timescale;           /* mdhd */
    int64_t edit_media_time; /* elst's first non-empty entry; 0 without an edit list */
    int64_t tfdt[EB_TEST_MAX_SEGMENTS];
    double start[EB_TEST_MAX_SEGMENTS];
    double duration[EB_TEST_MAX_SEGMENTS];
} EbTestTimeline;
int eb_test_cmaf_timeline(const char *dir, EbTestTimeline *out);

/* A TS rendition's video timeline from its PES timestamps: for
 * segment_001.ts, ... start[k] = its earliest video PTS and duration[k] =
 * up to the next segment's start (the last: its latest PTS + one frame),
 * in seconds. The count, or -1. */
int eb_test_ts_timeline(const char *dir, double *start, double *duration, int max);

/* The EXTINF durations of a media playlist, in order; the count, or -1. */
int eb_test_playlist_durations(const char *path, double *out, int max);

/* The segments of the SegmentTimeline of the first AdaptationSet with
 * contentType `type` (or, when type holds '=', with that attribute as
 * written: "lang=\"fr\"") in the MPD at path: their starts and durations in
 * seconds, (t - presentationTimeOffset) / timescale. The count, or -1. */
int eb_test_mpd_timeline(const char *path, const char *type, double *start, double *duration,
                         int max);

/* Whether every manifest figure of CMAF rendition r of the video (or
 * recording) at video_dir says what its bytes hold, as MSE presents them:
 * segment k's EXTINF is the time it covers from 0 on (what an edit list
 * puts before 0 is not presented), and the MPD's SegmentTimeline (of the
 * AdaptationSet with contentType `type`) places it where its tfdt and the
 * edit list put it, to a microsecond. Prints each segment's figures.
 * Returns 0, or -1 with what differs in why. */
int eb_test_check_timeline(const char *video_dir, const char *r, const char *type, char *why,
                           size_t size);

/* Writes a 90-degree clockwise display matrix into the first track header
 * of an mp4 (as phones record portrait video), since ffmpeg 5.1's command
 * line has no option for it. */
int eb_test_rotate_mp4(const char *path);

/* Number of segment files in a folder, and the EXTINF sum of a playlist. */
int eb_test_count_segments(const char *dir);
int eb_test_playlist(const char *path, int *nb_segments, double *total);

/* A whole file, NUL-terminated, in malloc'ed memory (NULL if unreadable). */
uint8_t *eb_test_slurp(const char *path, size_t *size);

/* 1 if path exists. */
int eb_test_exists(const char *path);
/* Entries under <root>/videos and <root>/.staging together: 0 means a
 * failed or canceled job left nothing published and nothing half-built. */
int eb_test_leftovers(const char *root);

/* Count of entries in a folder (0 if missing). */
int eb_test_dir_entries(const char *path);

#endif
