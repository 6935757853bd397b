/*
 * VOD ladder end to end on the software backend: sources made here with the
 * ffmpeg command line, the job run in-process (so TSan sees its threads),
 * the output read back with libavformat.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/macros.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_storage.h"
#include "eb_test_frames.h"
#include "eb_test_media.h"
#include "eb_vod.h"

static char tmp[4096];
static char src_720[4200], src_small[4200];

/* Noise keeps x264 busy enough that rate control reaches its targets. */
#define EB_NOISY "-f lavfi -i testsrc2=size=%s:rate=30,noise=alls=25:allf=t+u"

static int group_setup(void **state)
{
    (void)state;
    eb_log_set_level(EB_LOG_WARN);
    eb_log_capture_libav();
    eb_test_tmpdir("pipeline", tmp, sizeof(tmp));
    snprintf(src_720, sizeof(src_720), "%s/src720.mp4", tmp);
    snprintf(src_small, sizeof(src_small), "%s/src360.mp4", tmp);
    if (eb_test_ffmpeg(EB_NOISY " -f lavfi -i sine=frequency=440:sample_rate=48000 -ac 2 -t 4 "
                               "-c:v libx264 -preset ultrafast -crf 10 -pix_fmt yuv420p -g 60 "
                               "-c:a aac -b:a 128k -shortest %s",
                       "1280x720", src_720) ||
        eb_test_ffmpeg(EB_NOISY " -f lavfi -i sine=frequency=300:sample_rate=44100 -ac 2 -t 4 "
                               "-c:v libx264 -preset ultrafast -crf 12 -pix_fmt yuv420p "
                               "-c:a aac -shortest %s",
                       "640x360", src_small))
        return -1;
    return 0;
}

static void run_job(const char *input, const char *out, const char *id, EbOutputFormat fmt,
                    double seg, int expect, EbVodResult *res)
{
    EbVodOptions o;
    int ret;
    eb_vod_options_default(&o);
    o.input = input;
    o.storage_root = out;
    o.video_id = id;
    o.format = fmt;
    o.segment_seconds = seg;
    ret = eb_vod_run(&o, res);
    if (ret != expect)
        fprintf(stderr, "eb_vod_run: %d (%s), expected %d\n", ret, eb_strerror(ret), expect);
    assert_int_equal(ret, expect);
}

/* eb_test_check_timeline, failing the test with what differs. */
static void check_timeline_matches_media(const char *video_dir, const char *r, const char *type)
{
    char why[512];
    if (eb_test_check_timeline(video_dir, r, type, why, sizeof(why)) < 0)
        fail_msg("%s", why);
}

static void test_cmaf_ladder_aligned_and_on_target(void **state)
{
    char out[4200], dir[8192], path[8192];
    EbVodResult res;
    EbTestStream s[3], a;
    const char *names[3] = {"720p", "480p", "360p"};
    const int widths[3] = {1280, 854, 640}, heights[3] = {720, 480, 360};
    const int64_t rates[3] = {2500000, 1000000, 600000};
    (void)state;

    snprintf(out, sizeof(out), "%s/cmaf", tmp);
    run_job(src_720, out, "clip", EB_FORMAT_CMAF, 2.0, 0, &res);

    /* Decoded once, whatever the rung count. */
    assert_int_equal(res.nb_rungs, 3); /* 720p source: no 1080p upscale */
    assert_int_equal(res.frames_decoded, 120);
    assert_int_equal(res.source_packets, 120);
    assert_int_equal(res.damaged, 0);

    /* Where the CPU went: every stage did work, the encoders' own threads
     * are counted under their rung (the 720p rung, with the most pixels,
     * costs more than the 360p one), and the parts never add up to more
     * than the job's CPU (the kernel counts in 1/100 s ticks). */
    {
        double parts = res.demux_cpu_seconds + res.fanout_cpu_seconds;
        assert_true(res.demux_cpu_seconds > 0);
        assert_true(res.fanout_cpu_seconds > 0);
        for (int i = 0; i < 3; i++) {
            assert_true(res.rungs[i].cpu_seconds > 0);
            assert_true(res.rungs[i].starved_seconds >= 0);
            parts += res.rungs[i].cpu_seconds;
        }
        assert_true(res.rungs[0].cpu_seconds > res.rungs[2].cpu_seconds);
        assert_true(parts <= res.cpu_seconds + 0.05 * 6);
    }

    for (int i = 0; i < 3; i++) {
        double kbps;
        int nseg;
        double total;
        snprintf(dir, sizeof(dir), "%s/videos/clip/cmaf/%s", out, names[i]);
        assert_int_equal(eb_test_read_rendition(dir, &s[i]), 0);
        assert_int_equal(s[i].width, widths[i]);
        assert_int_equal(s[i].height, heights[i]);
        assert_int_equal(s[i].frames, 120);
        assert_true(s[i].cfr);
        kbps = s[i].video_bytes * 8.0 / 4.0;
        fprintf(stderr, "%s: %.0f b/s (target %lld)\n", names[i], kbps, (long long)rates[i]);
        assert_true(fabs(kbps - rates[i]) <= 0.15 * rates[i]);
        /* Keyframes exactly at 0 and 2 s on every rung. */
        assert_int_equal(s[i].nb_keyframes, 2);
        assert_true(fabs(s[i].keyframe_times[1] - s[i].keyframe_times[0] - 2.0) < 1e-6);
        assert_int_equal(eb_test_count_segments(dir), 2);
        snprintf(path, sizeof(path), "%s/videos/clip/hls/%s/index.m3u8", out, names[i]);
        assert_int_equal(eb_test_playlist(path, &nseg, &total), 0);
        assert_int_equal(nseg, 2);
        assert_true(fabs(total - 4.0) <= 1.0 / 30 + 1e-6);
    }
    for (int i = 1; i < 3; i++)
        for (int k = 0; k < 2; k++)
            assert_true(fabs(s[i].keyframe_times[k] - s[0].keyframe_times[k]) < 1e-6);

    snprintf(dir, sizeof(dir), "%s/videos/clip/cmaf/audio", out);
    assert_int_equal(eb_test_read_rendition(dir, &a), 0);
    assert_true(a.has_audio && a.audio_codec_aac);
    assert_int_equal(eb_test_count_segments(dir), 2);
    {
        double vstart;
        EbTestTimeline tl;
        snprintf(dir, sizeof(dir), "%s/videos/clip/cmaf/720p", out);
        assert_int_equal(eb_test_cmaf_start(dir, &vstart), 0);
        assert_true(fabs(vstart) < 1e-9); /* first frame presented at 0 */
        /* The AAC encoder's priming (1024 samples) is in the first
         * segment, and the init segment's edit list removes exactly it:
         * the first real sample is presented at 0, with the first frame. */
        snprintf(dir, sizeof(dir), "%s/videos/clip/cmaf/audio", out);
        assert_int_equal(eb_test_cmaf_timeline(dir, &tl), 0);
        fprintf(stderr, "audio: tfdt %lld, edit list media_time %lld, timescale %d\n",
                (long long)tl.tfdt[0], (long long)tl.edit_media_time, tl.timescale);
        assert_int_equal(tl.timescale, 48000);
        assert_int_equal(tl.tfdt[0], 0);
        assert_int_equal(tl.edit_media_time, 1024);
        assert_true(fabs(tl.start[0] + 1024.0 / 48000) < 1e-9);
    }
    snprintf(dir, sizeof(dir), "%s/videos/clip", out);
    check_timeline_matches_media(dir, "audio", "audio");
    check_timeline_matches_media(dir, "720p", "video");

    snprintf(path, sizeof(path), "%s/videos/clip/hls/master.m3u8", out);
    assert_true(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/videos/clip/dash/manifest.mpd", out);
    assert_true(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/.staging", out);
    assert_int_equal(eb_test_dir_entries(path), 0);
}

/* ---- A/V sync measured by content --------------------------------------- */

#define SYNC_MAX 16

/* Where the flashes and the beeps of one output are, in decoder order.
 * video: the output index and presentation time (best-effort pts) of each
 * frame whose mean luma rises above 128; audio: the index of the decoded
 * sample where the signal first exceeds 0.5 after 100 ms below it, counted
 * from the first packet's first sample (the priming included: the decoder
 * is told not to skip it), and that packet's pts. */
typedef struct SyncOnsets {
    int nb_v, nb_a;
    int64_t v_index[SYNC_MAX];
    double v_pts[SYNC_MAX];
    int64_t a_sample[SYNC_MAX];
    double a_first_pts;
    int64_t a_samples; /* decoded in all */
    int sample_rate;
} SyncOnsets;

static void sync_decode(const char *path, SyncOnsets *o)
{
    AVFormatContext *fc = NULL;
    AVCodecContext *dec[2] = {NULL, NULL};
    int idx[2];
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int64_t vframes = 0, last_loud = -100000;
    int prev_bright = 0;

    memset(o, 0, sizeof(*o));
    o->a_first_pts = NAN;
    assert_int_equal(avformat_open_input(&fc, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fc, NULL) >= 0);
    for (int k = 0; k < 2; k++) {
        const AVCodec *c = NULL;
        idx[k] = av_find_best_stream(fc, k ? AVMEDIA_TYPE_AUDIO : AVMEDIA_TYPE_VIDEO, -1, -1, &c, 0);
        if (idx[k] < 0)
            continue; /* a CMAF rendition holds one of them */
        dec[k] = avcodec_alloc_context3(c);
        avcodec_parameters_to_context(dec[k], fc->streams[idx[k]]->codecpar);
        dec[k]->pkt_timebase = fc->streams[idx[k]]->time_base;
        dec[k]->flags2 |= AV_CODEC_FLAG2_SKIP_MANUAL;
        assert_int_equal(avcodec_open2(dec[k], c, NULL), 0);
    }
    o->sample_rate = dec[1] ? dec[1]->sample_rate : 0;
    for (int eof = 0; !eof;) {
        int k;
        if (av_read_frame(fc, pkt) < 0) {
            eof = 1;
            for (k = 0; k < 2; k++)
                if (dec[k])
                    avcodec_send_packet(dec[k], NULL);
        } else {
            k = pkt->stream_index == idx[0] ? 0 : pkt->stream_index == idx[1] ? 1 : -1;
            if (k < 0) {
                av_packet_unref(pkt);
                continue;
            }
            if (k == 1 && isnan(o->a_first_pts))
                o->a_first_pts = pkt->pts * av_q2d(fc->streams[idx[1]]->time_base);
            assert_int_equal(avcodec_send_packet(dec[k], pkt), 0);
            av_packet_unref(pkt);
        }
        for (k = 0; k < 2; k++)
            while (dec[k] && avcodec_receive_frame(dec[k], f) == 0) {
                if (k == 0) {
                    int64_t sum = 0;
                    for (int y = 0; y < f->height; y++)
                        for (int x = 0; x < f->width; x++)
                            sum += f->data[0][y * f->linesize[0] + x];
                    int bright = sum / (f->width * f->height) > 128;
                    if (bright && !prev_bright && o->nb_v < SYNC_MAX) {
                        o->v_index[o->nb_v] = vframes;
                        o->v_pts[o->nb_v++] =
                            f->best_effort_timestamp * av_q2d(fc->streams[idx[0]]->time_base);
                    }
                    prev_bright = bright;
                    vframes++;
                } else {
                    assert_int_equal(f->format, AV_SAMPLE_FMT_FLTP);
                    for (int i = 0; i < f->nb_samples; i++) {
                        float x = ((const float *)f->extended_data[0])[i];
                        int64_t j = o->a_samples + i;
                        if (fabsf(x) > 0.5f) {
                            if (j - last_loud > o->sample_rate / 10 && o->nb_a < SYNC_MAX)
                                o->a_sample[o->nb_a++] = j;
                            last_loud = j;
                        }
                    }
                    o->a_samples += f->nb_samples;
                }
                av_frame_unref(f);
            }
    }
    avcodec_free_context(&dec[0]);
    avcodec_free_context(&dec[1]);
    avformat_close_input(&fc);
    av_packet_free(&pkt);
    av_frame_free(&f);
}

/* Concatenates init.mp4 (or nothing) and the segments of a rendition
 * folder into one file, as a player appends them. */
static void sync_concat(const char *dir, const char *init, const char *ext, const char *to)
{
    FILE *out = fopen(to, "wb");
    char path[4600];
    size_t n;
    uint8_t *b;

    assert_non_null(out);
    if (init) {
        snprintf(path, sizeof(path), "%s/%s", dir, init);
        b = eb_test_slurp(path, &n);
        assert_non_null(b);
        fwrite(b, 1, n, out);
        free(b);
    }
    for (int k = 1;; k++) {
        snprintf(path, sizeof(path), "%s/segment_%03d.%s", dir, k, ext);
        if (!(b = eb_test_slurp(path, &n)))
            break;
        fwrite(b, 1, n, out);
        free(b);
    }
    assert_int_equal(fclose(out), 0);
}

/* A flash (one white frame) and a 1 kHz beep start together every second;
 * after the ladder, each flash and its beep are presented within 5 ms of
 * each other, in CMAF (times from the bytes: frame n at n / 30 s, sample j
 * at (tfdt + j - the edit list's media_time) / rate) and in TS (times from
 * the PES timestamps). The first second is left out: its beep begins the
 * stream. */
static void test_av_sync_by_content(void **state)
{
    char src[4200], out[4200], dir[4600], file[4600];
    EbVodResult res;
    (void)state;

    snprintf(src, sizeof(src), "%s/flashbeep.mkv", tmp);
    assert_int_equal(
        eb_test_ffmpeg("-f lavfi -i color=c=black:s=320x240:r=30:d=4 -f lavfi -i "
                       "color=c=white:s=320x240:r=30:d=4 -f lavfi -i "
                       "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,sin(2*PI*1000*t)\\,0)':s=48000:d=4 "
                       "-filter_complex \"[0][1]overlay=enable='lt(mod(t,1),1/30)'[v]\" "
                       "-map [v] -map 2 -c:v libx264 -preset ultrafast -qp 10 -pix_fmt yuv420p "
                       "-c:a pcm_s16le %s",
                       src),
        0);
    for (int ts = 0; ts < 2; ts++) {
        SyncOnsets o;
        EbTestTimeline tl = {0};
        snprintf(out, sizeof(out), "%s/sync_%s", tmp, ts ? "ts" : "cmaf");
        run_job(src, out, "fb", ts ? EB_FORMAT_TS : EB_FORMAT_CMAF, 2.0, 0, &res);
        if (ts) {
            snprintf(dir, sizeof(dir), "%s/videos/fb/hls/240p", out);
            snprintf(file, sizeof(file), "%s/all.ts", tmp);
            sync_concat(dir, NULL, "ts", file);
            sync_decode(file, &o);
        } else {
            SyncOnsets oa;
            snprintf(dir, sizeof(dir), "%s/videos/fb/cmaf/240p", out);
            snprintf(file, sizeof(file), "%s/video.mp4", tmp);
            sync_concat(dir, "init.mp4", "m4s", file);
            sync_decode(file, &o);
            snprintf(dir, sizeof(dir), "%s/videos/fb/cmaf/audio", out);
            assert_int_equal(eb_test_cmaf_timeline(dir, &tl), 0);
            snprintf(file, sizeof(file), "%s/audio.mp4", tmp);
            sync_concat(dir, "init.mp4", "m4s", file);
            sync_decode(file, &oa);
            /* every sample the segments hold was decoded, so sample j is
             * media time tfdt + j (the last frame decodes whole, past the
             * duration its trun gives it) */
            {
                double held = 0;
                for (int k = 0; k < tl.nb; k++)
                    held += tl.duration[k];
                assert_true(oa.a_samples >= llround(held * tl.timescale));
                assert_true(oa.a_samples < llround(held * tl.timescale) + 1024);
            }
            o.nb_a = oa.nb_a;
            memcpy(o.a_sample, oa.a_sample, sizeof(o.a_sample));
            o.sample_rate = oa.sample_rate;
        }
        fprintf(stderr, "%s: %d flashes, %d beeps\n", ts ? "TS" : "CMAF", o.nb_v, o.nb_a);
        assert_int_equal(o.nb_v, 4);
        assert_int_equal(o.nb_a, 4);
        for (int k = 1; k < 4; k++) {
            double pv, pa;
            if (ts) {
                pv = o.v_pts[k];
                pa = o.a_first_pts + (double)o.a_sample[k] / o.sample_rate;
            } else {
                pv = o.v_index[k] / 30.0;
                pa = (double)(tl.tfdt[0] + o.a_sample[k] - tl.edit_media_time) / o.sample_rate;
            }
            fprintf(stderr, "%s second %d: flash at %.4f s, beep at %.4f s (%+.1f ms)\n",
                    ts ? "TS" : "CMAF", k, pv, pa, (pa - pv) * 1000);
            assert_true(fabs(pa - pv) <= 0.005);
        }
    }
}

static void test_ts_muxes_audio_into_every_variant(void **state)
{
    char out[4200], dir[6000], path[8192];
    EbVodResult res;
    EbTestStream s;
    int nseg;
    double total;
    (void)state;

    snprintf(out, sizeof(out), "%s/ts", tmp);
    run_job(src_small, out, "tsclip", EB_FORMAT_TS, 2.0, 0, &res);
    assert_int_equal(res.nb_rungs, 1);
    snprintf(dir, sizeof(dir), "%s/videos/tsclip/hls/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_int_equal(s.frames, 120);
    assert_true(s.has_audio);
    assert_true(fabs(s.audio_start - s.start) <= 1.0 / 30 + 0.03);
    assert_int_equal(eb_test_count_segments(dir), 2);
    snprintf(path, sizeof(path), "%s/index.m3u8", dir);
    assert_int_equal(eb_test_playlist(path, &nseg, &total), 0);
    assert_int_equal(nseg, 2);
    assert_true(fabs(total - 4.0) <= 1.0 / 30 + 1e-6);
    snprintf(path, sizeof(path), "%s/videos/tsclip/dash", out);
    assert_false(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/videos/tsclip/cmaf", out);
    assert_false(eb_test_exists(path));
    /* Each EXTINF is the span its segment's PES timestamps give it: to the
     * next segment's first frame (the last: to its last frame's end). */
    {
        double start[8], span[8], extinf[8];
        int n = eb_test_ts_timeline(dir, start, span, 8);
        snprintf(path, sizeof(path), "%s/index.m3u8", dir);
        assert_int_equal(eb_test_playlist_durations(path, extinf, 8), n);
        for (int k = 0; k < n; k++) {
            fprintf(stderr, "TS segment %d: PTS %.6f s, span %.6f s, EXTINF %.6f\n", k + 1,
                    start[k], span[k], extinf[k]);
            assert_true(fabs(extinf[k] - span[k]) < 2.0 / 90000 + 2e-6);
        }
    }
    /* Every segment starts with the PAT, then the PMT it names (RFC 8216
     * 3.5); the SDT comes after them. */
    for (int k = 1; k <= 2; k++) {
        size_t n;
        uint8_t *b;
        int pmt;
        snprintf(path, sizeof(path), "%s/segment_%03d.ts", dir, k);
        b = eb_test_slurp(path, &n);
        assert_non_null(b);
        assert_true(n >= 3 * 188 && b[0] == 0x47 && b[188] == 0x47 && b[376] == 0x47);
        assert_int_equal((b[1] & 0x1f) << 8 | b[2], 0);
        pmt = (b[15] & 0x1f) << 8 | b[16];
        assert_int_equal((b[189] & 0x1f) << 8 | b[190], pmt);
        assert_int_equal((b[377] & 0x1f) << 8 | b[378], 0x11);
        free(b);
    }
}

/* An HEVC ladder (libx265 on this backend): hvc1 sample entries, the
 * CODECS string read from the encoder's SPS in both manifests, segment
 * boundaries as for H.264; TS refuses HEVC before any work. */
static void test_hevc_ladder_in_cmaf(void **state)
{
    char out[4200], dir[6000], path[8192], want[64], *text;
    EbVodResult res;
    EbVodOptions o;
    EbTestStream s;
    size_t n;
    (void)state;

    snprintf(out, sizeof(out), "%s/hevc", tmp);
    eb_vod_options_default(&o);
    o.input = src_small;
    o.storage_root = out;
    o.video_id = "hevcclip";
    o.segment_seconds = 2.0;
    o.ladder.nb_rungs = 2;
    snprintf(o.ladder.rungs[0].name, sizeof(o.ladder.rungs[0].name), "360p");
    o.ladder.rungs[0].height = 360;
    o.ladder.rungs[0].bitrate = 400000;
    snprintf(o.ladder.rungs[1].name, sizeof(o.ladder.rungs[1].name), "240p");
    o.ladder.rungs[1].height = 240;
    o.ladder.rungs[1].bitrate = 200000;
    for (int i = 0; i < 2; i++)
        snprintf(o.ladder.rungs[i].codec, sizeof(o.ladder.rungs[i].codec), "hevc");
    assert_int_equal(eb_vod_run(&o, &res), 0);
    assert_int_equal(res.nb_rungs, 2);

    snprintf(dir, sizeof(dir), "%s/videos/hevcclip/cmaf/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_int_equal(s.codec_id, AV_CODEC_ID_HEVC);
    assert_int_equal(s.codec_tag, MKTAG('h', 'v', 'c', '1'));
    assert_int_equal(s.frames, 120);
    assert_int_equal(s.nb_keyframes, 2);
    assert_true(fabs(s.keyframe_times[1] - s.keyframe_times[0] - 2.0) < 1e-6);
    assert_true(s.level > 0);

    /* Main profile (general_profile_idc 1, compatible with Main and Main
     * 10), Main tier, the level the SPS carries, progressive frames. */
    snprintf(want, sizeof(want), "CODECS=\"hvc1.1.6.L%d.90,mp4a.40.2\"", s.level);
    snprintf(path, sizeof(path), "%s/videos/hevcclip/hls/master.m3u8", out);
    text = (char *)eb_test_slurp(path, &n);
    assert_non_null(text);
    if (!strstr(text, want))
        fprintf(stderr, "want %s in:\n%s", want, text);
    assert_non_null(strstr(text, want));
    free(text);

    /* TS: refused up front with the reason, nothing written. */
    snprintf(out, sizeof(out), "%s/hevc-ts", tmp);
    o.storage_root = out;
    o.format = EB_FORMAT_TS;
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR_BAD_OPTION);
    assert_non_null(strstr(res.error_detail, "CMAF only"));
    assert_int_equal(eb_test_leftovers(out), 0);
}

/* A rung's max_fps below the source's rate: that rung has half the frames
 * (30 -> 15 fps), keyframes at the same times as the uncapped rung, its
 * own rate in the playlists, and still its bit rate. */
static void test_rung_frame_rate_cap(void **state)
{
    char out[4200], dir[6000], path[8192], *text;
    EbVodResult res;
    EbVodOptions o;
    EbTestStream full, capped;
    size_t n;
    double kbps, total;
    int segs;
    (void)state;

    snprintf(out, sizeof(out), "%s/maxfps", tmp);
    eb_vod_options_default(&o);
    o.input = src_small; /* 640x360, 30 fps, 4 s */
    o.storage_root = out;
    o.video_id = "capped";
    o.segment_seconds = 2.0;
    o.thumbs.enabled = 0;
    o.ladder.nb_rungs = 2;
    snprintf(o.ladder.rungs[0].name, sizeof(o.ladder.rungs[0].name), "360p");
    o.ladder.rungs[0].height = 360;
    o.ladder.rungs[0].bitrate = 400000;
    snprintf(o.ladder.rungs[1].name, sizeof(o.ladder.rungs[1].name), "240p");
    o.ladder.rungs[1].height = 240;
    o.ladder.rungs[1].bitrate = 200000;
    o.ladder.rungs[1].max_fps = 15;
    assert_int_equal(eb_vod_run(&o, &res), 0);

    snprintf(dir, sizeof(dir), "%s/videos/capped/cmaf/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &full), 0);
    snprintf(dir, sizeof(dir), "%s/videos/capped/cmaf/240p", out);
    assert_int_equal(eb_test_read_rendition(dir, &capped), 0);
    assert_int_equal(full.frames, 120);
    assert_int_equal(capped.frames, 60);
    assert_true(capped.cfr);
    /* the playlist covers the whole 4 s: segments tile where frames are
     * two ticks apart */
    snprintf(path, sizeof(path), "%s/videos/capped/hls/240p/index.m3u8", out);
    assert_int_equal(eb_test_playlist(path, &segs, &total), 0);
    assert_int_equal(segs, 2);
    assert_true(fabs(total - 4.0) < 0.001);
    /* keyframes 2 s apart on both, and both start at the same time as MSE
     * sees it (tfdt + the first sample's composition offset) */
    assert_int_equal(capped.nb_keyframes, full.nb_keyframes);
    for (int i = 1; i < full.nb_keyframes; i++)
        assert_true(fabs((capped.keyframe_times[i] - capped.keyframe_times[0]) -
                         (full.keyframe_times[i] - full.keyframe_times[0])) < 1e-6);
    {
        double a, b;
        snprintf(dir, sizeof(dir), "%s/videos/capped/cmaf/360p", out);
        assert_int_equal(eb_test_cmaf_start(dir, &a), 0);
        snprintf(dir, sizeof(dir), "%s/videos/capped/cmaf/240p", out);
        assert_int_equal(eb_test_cmaf_start(dir, &b), 0);
        assert_true(fabs(a - b) < 1e-6);
    }
    kbps = capped.video_bytes * 8 / full.duration / 1000;
    assert_true(kbps > 200 * 0.8 && kbps < 200 * 1.2);

    snprintf(path, sizeof(path), "%s/videos/capped/hls/master.m3u8", out);
    text = (char *)eb_test_slurp(path, &n);
    assert_non_null(text);
    assert_non_null(strstr(text, "RESOLUTION=426x240,FRAME-RATE=15.000"));
    assert_non_null(strstr(text, "RESOLUTION=640x360,FRAME-RATE=30.000"));
    free(text);
}

static void test_rotated_source_is_upright_portrait(void **state)
{
    char src[4200], out[4200], dir[8192], path[8192];
    EbVodResult res;
    EbTestStream s;
    (void)state;

    snprintf(src, sizeof(src), "%s/rot.mp4", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx264 "
                                    "-preset ultrafast %s",
                                    src),
                     0);
    assert_int_equal(eb_test_rotate_mp4(src), 0);
    snprintf(out, sizeof(out), "%s/rot", tmp);
    run_job(src, out, "rot", EB_FORMAT_CMAF, 2.0, 0, &res);
    snprintf(dir, sizeof(dir), "%s/videos/rot/cmaf/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_int_equal(s.width, 360);
    assert_int_equal(s.height, 640);
    assert_int_equal(s.frames, 50);
    /* No audio in the source: a video-only ladder. */
    snprintf(path, sizeof(path), "%s/videos/rot/cmaf/audio", out);
    assert_false(eb_test_exists(path));
}

static void test_anamorphic_source_gets_square_pixels(void **state)
{
    char src[4200], out[4200], dir[8192];
    EbVodResult res;
    EbTestStream s;
    (void)state;

    snprintf(src, sizeof(src), "%s/pal.mp4", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=720x576:rate=25,setsar=64/45 -t 1 "
                                    "-c:v libx264 -preset ultrafast %s",
                                    src),
                     0);
    snprintf(out, sizeof(out), "%s/pal", tmp);
    run_job(src, out, "pal", EB_FORMAT_CMAF, 2.0, 0, &res);
    assert_int_equal(res.nb_rungs, 2);
    snprintf(dir, sizeof(dir), "%s/videos/pal/cmaf/480p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_int_equal(s.width, 854);
    assert_int_equal(s.height, 480);
}

/* The largest rung keeps the process's priority, the others yield to it in
 * proportion to how much smaller they are. */
static void test_rung_nice_favours_the_largest(void **state)
{
    EbRungPlan p[4];
    const int size[4][2] = {{1920, 1080}, {1280, 720}, {854, 480}, {640, 360}};
    (void)state;
    memset(p, 0, sizeof(p));
    for (int i = 0; i < 4; i++) {
        p[i].width = size[i][0];
        p[i].height = size[i][1];
    }
    assert_int_equal(eb_pipeline_rung_nice(p, 4, 0), 0);
    assert_int_equal(eb_pipeline_rung_nice(p, 4, 1), 3);
    assert_int_equal(eb_pipeline_rung_nice(p, 4, 2), 5);
    assert_int_equal(eb_pipeline_rung_nice(p, 4, 3), 5);
    assert_int_equal(eb_pipeline_rung_nice(p, 1, 0), 0); /* nothing to yield to */
    assert_int_equal(eb_pipeline_rung_nice(p + 1, 3, 0), 0); /* a ladder without 1080p */
    p[1] = p[0];
    assert_int_equal(eb_pipeline_rung_nice(p, 2, 1), 0); /* equal rungs, equal priority */
    assert_int_equal(eb_pipeline_rung_nice(p, 4, 4), 0); /* out of range */
}

/* The scaler follows the source's chroma siting and the rungs say which it
 * is. An H.264 stream without the flag is left-sited (the spec's default,
 * which the decoder reports). */
static void test_chroma_siting_follows_the_source(void **state)
{
    static const struct {
        const char *flag, *id;
        enum AVChromaLocation want;
    } t[] = {{"left", "siteleft", AVCHROMA_LOC_LEFT},
             {"topleft", "sitetopleft", AVCHROMA_LOC_TOPLEFT},
             {"center", "sitecenter", AVCHROMA_LOC_CENTER},
             {NULL, "siteunset", AVCHROMA_LOC_LEFT}};
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char src[4200], out[4200], dir[8192];
        EbVodResult res;
        EbTestStream s;

        snprintf(src, sizeof(src), "%s/%s.mp4", tmp, t[i].id);
        assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=25 -t 1 -c:v libx264 "
                                        "-preset ultrafast -pix_fmt yuv420p %s%s %s",
                                        t[i].flag ? "-chroma_sample_location " : "",
                                        t[i].flag ? t[i].flag : "", src),
                         0);
        snprintf(out, sizeof(out), "%s/%s", tmp, t[i].id);
        run_job(src, out, t[i].id, EB_FORMAT_CMAF, 2.0, 0, &res);
        assert_int_equal(res.nb_rungs, 1);
        snprintf(dir, sizeof(dir), "%s/videos/%s/cmaf/360p", out, t[i].id);
        assert_int_equal(eb_test_read_rendition(dir, &s), 0);
        assert_int_equal(s.chroma_location, t[i].want);
    }
}

static void test_interlaced_source_keeps_frame_count(void **state)
{
    char src[4200], out[4200], dir[8192];
    EbVodResult res;
    EbTestStream s;
    (void)state;

    snprintf(src, sizeof(src), "%s/int.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx264 "
                                    "-preset ultrafast -flags +ildct+ilme -x264opts tff=1 %s",
                                    src),
                     0);
    snprintf(out, sizeof(out), "%s/int", tmp);
    run_job(src, out, "int", EB_FORMAT_CMAF, 2.0, 0, &res);
    snprintf(dir, sizeof(dir), "%s/videos/int/cmaf/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_int_equal(s.frames, 50);
}

static void test_variable_rate_becomes_constant_at_average(void **state)
{
    char src[4200], out[4200], dir[8192];
    EbVodResult res;
    EbTestStream s;
    (void)state;

    /* Every third frame dropped: timestamps 0,1,3,4,6… at 30 fps = 20 fps
     * on average. */
    snprintf(src, sizeof(src), "%s/vfr.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=30 -t 3 "
                                    "-vf \"select='not(eq(mod(n\\,3)\\,2))'\" -vsync vfr "
                                    "-c:v libx264 -preset ultrafast %s",
                                    src),
                     0);
    snprintf(out, sizeof(out), "%s/vfr", tmp);
    run_job(src, out, "vfr", EB_FORMAT_CMAF, 2.0, 0, &res);
    snprintf(dir, sizeof(dir), "%s/videos/vfr/cmaf/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_true(s.cfr);
    fprintf(stderr, "vfr: %lld frames over %.3f s\n", (long long)s.frames, s.duration);
    assert_true(llabs(s.frames - 60) <= 2);
    assert_true(fabs(s.duration - 3.0) <= 0.1);
}

static void test_10bit_422_becomes_8bit_420(void **state)
{
    char src[4200], out[4200], dir[8192];
    EbVodResult res;
    EbTestStream s;
    (void)state;

    snprintf(src, sizeof(src), "%s/hi422.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=25 -t 1 -c:v libx264 "
                                    "-preset ultrafast -pix_fmt yuv422p10le %s",
                                    src),
                     0);
    snprintf(out, sizeof(out), "%s/hi422", tmp);
    run_job(src, out, "hi422", EB_FORMAT_CMAF, 2.0, 0, &res);
    snprintf(dir, sizeof(dir), "%s/videos/hi422/cmaf/360p", out);
    assert_int_equal(eb_test_read_rendition(dir, &s), 0);
    assert_int_equal(s.pix_fmt, 0 /* AV_PIX_FMT_YUV420P */);
    assert_int_equal(s.frames, 25);
}

static void test_hdr_source_is_refused(void **state)
{
    char src[4200], out[4200];
    EbVodResult res;
    (void)state;

    snprintf(src, sizeof(src), "%s/hdr.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=25 -t 1 -c:v libx264 "
                                    "-preset ultrafast -pix_fmt yuv420p10le -color_primaries "
                                    "bt2020 -color_trc smpte2084 -colorspace bt2020nc %s",
                                    src),
                     0);
    snprintf(out, sizeof(out), "%s/hdr", tmp);
    run_job(src, out, "hdr", EB_FORMAT_CMAF, 2.0, EB_ERR_HDR_UNSUPPORTED, &res);
    assert_int_equal(eb_test_leftovers(out), 0);
}

static void test_existing_id_refused_then_overwritten(void **state)
{
    char out[4200], dir[8192];
    EbVodResult res;
    EbVodOptions o;
    (void)state;

    snprintf(out, sizeof(out), "%s/ow", tmp);
    run_job(src_small, out, "same", EB_FORMAT_CMAF, 2.0, 0, &res);
    run_job(src_small, out, "same", EB_FORMAT_CMAF, 2.0, EB_ERR_EXISTS, &res);
    eb_vod_options_default(&o);
    o.input = src_small;
    o.storage_root = out;
    o.video_id = "same";
    o.segment_seconds = 1.0; /* visible in the result: four segments */
    o.overwrite = 1;
    assert_int_equal(eb_vod_run(&o, &res), 0);
    snprintf(dir, sizeof(dir), "%s/videos/same/cmaf/360p", out);
    assert_int_equal(eb_test_count_segments(dir), 4);
    snprintf(dir, sizeof(dir), "%s/.staging", out);
    assert_int_equal(eb_test_dir_entries(dir), 0);
    /* Same names, new bytes: the new playlists ask for version 2 of every
     * media file, and the next overwrite for version 3. */
    for (int v = 2; v <= 3; v++) {
        char want[64], *text;
        size_t n;
        if (v == 3)
            assert_int_equal(eb_vod_run(&o, &res), 0);
        snprintf(dir, sizeof(dir), "%s/videos/same/hls/360p/index.m3u8", out);
        text = (char *)eb_test_slurp(dir, &n);
        assert_non_null(text);
        snprintf(want, sizeof(want), "init.mp4?v=%d\"", v);
        assert_non_null(strstr(text, want));
        snprintf(want, sizeof(want), "segment_001.m4s?v=%d\n", v);
        assert_non_null(strstr(text, want));
        free(text);
    }
}

/* An eng (mono), fra (stereo, marked default) and untagged (mono) source. */
static void make_three_languages(char *src, size_t size)
{
    snprintf(src, size, "%s/languages.mkv", tmp);
    if (eb_test_exists(src))
        return;
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i "
                                    "sine=frequency=440 -f lavfi -i sine=frequency=880 -f lavfi -i "
                                    "sine=frequency=660 -t 4 -map 0:v -map 1:a -map 2:a -map 3:a "
                                    "-c:v libx264 -preset ultrafast -c:a aac -ac:a:0 1 -ac:a:1 2 "
                                    "-ac:a:2 1 -metadata:s:a:0 language=eng -metadata:s:a:1 "
                                    "language=fre -disposition:a:0 0 -disposition:a:1 default "
                                    "-disposition:a:2 0 %s",
                                    src),
                     0);
}

static void assert_contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("missing %s in:\n%s", want, text);
}

static void test_every_audio_track_is_a_language_rendition(void **state)
{
    static const struct {
        const char *name, *language, *label;
        int channels;
    } want[] = {{"audio_fr", "fr", "French", 2},
                {"audio_en", "en", "English", 1},
                {"audio_3", "", "Audio", 1}};
    char src[4200], out[4200], dir[8192];
    char *text;
    size_t tsize;
    EbVodResult res;
    (void)state;

    make_three_languages(src, sizeof(src));
    snprintf(out, sizeof(out), "%s/languages", tmp);
    run_job(src, out, "lang", EB_FORMAT_CMAF, 2.0, 0, &res);
    /* The default track leads; every track is kept, none left out. */
    assert_int_equal(res.nb_audio, 3);
    assert_string_equal(res.audio_note, "");
    for (int k = 0; k < 3; k++) {
        EbTestStream a;
        assert_string_equal(res.audio[k].language, want[k].language);
        assert_string_equal(res.audio[k].label, want[k].label);
        assert_int_equal(res.audio[k].is_default, k == 0);
        snprintf(dir, sizeof(dir), "%s/videos/lang/cmaf/%s", out, want[k].name);
        assert_int_equal(eb_test_read_rendition(dir, &a), 0);
        assert_true(a.has_audio && a.audio_codec_aac);
        assert_int_equal(a.audio_channels, want[k].channels);
    }

    snprintf(dir, sizeof(dir), "%s/videos/lang/hls/master.m3u8", out);
    text = (char *)eb_test_slurp(dir, &tsize);
    assert_non_null(text);
    assert_contains(text, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"French\","
                          "LANGUAGE=\"fr\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
                          "URI=\"audio_fr/index.m3u8\"");
    assert_contains(text, "NAME=\"English\",LANGUAGE=\"en\",DEFAULT=NO,AUTOSELECT=YES,"
                          "CHANNELS=\"1\",URI=\"audio_en/index.m3u8\"");
    assert_contains(text, "NAME=\"Audio\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"1\","
                          "URI=\"audio_3/index.m3u8\"");
    free(text);

    snprintf(dir, sizeof(dir), "%s/videos/lang/dash/manifest.mpd", out);
    text = (char *)eb_test_slurp(dir, &tsize);
    assert_non_null(text);
    assert_contains(text, "lang=\"fr\"");
    assert_contains(text, "lang=\"en\"");
    assert_contains(text, "lang=\"und\"");
    assert_contains(text, "<Label>French</Label>");
    /* One main language; the French set holds it. */
    assert_non_null(strstr(strstr(text, "lang=\"fr\""), "value=\"main\""));
    assert_null(strstr(strstr(text, "lang=\"en\""), "value=\"main\""));
    free(text);

    /* Each language's manifests say what its own segments hold. */
    snprintf(dir, sizeof(dir), "%s/videos/lang", out);
    check_timeline_matches_media(dir, "audio_fr", "lang=\"fr\"");
    check_timeline_matches_media(dir, "audio_en", "lang=\"en\"");
    check_timeline_matches_media(dir, "audio_3", "lang=\"und\"");
}

static void test_ts_keeps_the_default_track_and_says_so(void **state)
{
    char src[4200], out[4200], dir[8192];
    EbVodResult res;
    EbTestStream a;
    (void)state;

    make_three_languages(src, sizeof(src));
    snprintf(out, sizeof(out), "%s/languages_ts", tmp);
    run_job(src, out, "lang", EB_FORMAT_TS, 2.0, 0, &res);
    assert_int_equal(res.nb_audio, 1);
    assert_string_equal(res.audio[0].language, "fr");
    /* The tracks left out are named in the job's result, not dropped silently. */
    assert_non_null(strstr(res.audio_note, "2 more audio tracks left out"));
    assert_non_null(strstr(res.audio_note, "(French)"));
    snprintf(dir, sizeof(dir), "%s/videos/lang/hls/%s", out, res.rungs[0].name);
    assert_int_equal(eb_test_read_rendition(dir, &a), 0);
    assert_int_equal(a.audio_channels, 2); /* the French track */
}

/* An MPEG-TS cut at a keyframe of an open GOP: its leading B-frames come
 * before the stated start, so a timestamp seek back to the start after the
 * rate probe landed on the next keyframe and lost a GOP (50 of 150). */
static void test_open_gop_ts_keeps_every_frame(void **state)
{
    char full[4200], cut[4200], out[4200];
    EbVodResult res;
    (void)state;

    snprintf(full, sizeof(full), "%s/opengop.ts", tmp);
    snprintf(cut, sizeof(cut), "%s/opengop_cut.ts", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -t 10 -c:v libx264 "
                                    "-preset ultrafast -g 100 -bf 3 -x264-params open-gop=1 %s",
                                    full),
                     0);
    assert_int_equal(eb_test_ffmpeg("-ss 1.3 -i %s -c copy %s", full, cut), 0);
    snprintf(out, sizeof(out), "%s/opengop", tmp);
    run_job(cut, out, "og", EB_FORMAT_CMAF, 2.0, 0, &res);
    assert_int_equal(res.frames_out, 150);
}

static void test_backend_fallback_policy(void **state)
{
    char out[4200];
    EbVodResult res;
    EbVodOptions o;
    (void)state;

    /* Without a usable NVIDIA device: "none" fails and publishes nothing,
     * "auto" falls back and says so (more in test_hw_path). Where one
     * works, this is not the case under test. */
    if (!eb_hal_find("nvidia") || eb_test_backend_usable("nvidia")) {
        skip();
        return;
    }
    snprintf(out, sizeof(out), "%s/fallback", tmp);
    eb_vod_options_default(&o);
    o.input = src_small;
    o.storage_root = out;
    o.video_id = "fb";
    o.backend = "nvidia";
    o.fallback = "none";
    o.thumbs.enabled = 0;
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR(ENODEV));
    assert_non_null(strstr(res.error_detail, "nvidia"));
    assert_int_equal(eb_test_leftovers(out), 0);

    o.fallback = "auto";
    assert_int_equal(eb_vod_run(&o, &res), 0);
    assert_string_equal(res.backend, "software");
    assert_true(res.fell_back);
    assert_non_null(strstr(res.backend_note, "fell back to software"));

    o.backend = "nosuch";
    o.video_id = "fb2";
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR(EINVAL));
}

static void cancel_on_progress(const EbVodProgress *p, void *opaque)
{
    (void)p;
    atomic_store((atomic_int *)opaque, 1);
}

static void test_cancel_publishes_nothing(void **state)
{
    char out[4200];
    EbVodResult res;
    EbVodOptions o;
    atomic_int cancel;
    (void)state;

    atomic_init(&cancel, 0);
    snprintf(out, sizeof(out), "%s/cancel", tmp);
    eb_vod_options_default(&o);
    o.input = src_720;
    o.storage_root = out;
    o.video_id = "gone";
    o.cancel = &cancel;
    o.progress = cancel_on_progress;
    o.opaque = &cancel;
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR_CANCELED);
    assert_int_equal(eb_test_leftovers(out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmaf_ladder_aligned_and_on_target),
        cmocka_unit_test(test_ts_muxes_audio_into_every_variant),
        cmocka_unit_test(test_av_sync_by_content),
        cmocka_unit_test(test_hevc_ladder_in_cmaf),
        cmocka_unit_test(test_rung_frame_rate_cap),
        cmocka_unit_test(test_rotated_source_is_upright_portrait),
        cmocka_unit_test(test_anamorphic_source_gets_square_pixels),
        cmocka_unit_test(test_rung_nice_favours_the_largest),
        cmocka_unit_test(test_chroma_siting_follows_the_source),
        cmocka_unit_test(test_interlaced_source_keeps_frame_count),
        cmocka_unit_test(test_variable_rate_becomes_constant_at_average),
        cmocka_unit_test(test_10bit_422_becomes_8bit_420),
        cmocka_unit_test(test_hdr_source_is_refused),
        cmocka_unit_test(test_existing_id_refused_then_overwritten),
        cmocka_unit_test(test_every_audio_track_is_a_language_rendition),
        cmocka_unit_test(test_ts_keeps_the_default_track_and_says_so),
        cmocka_unit_test(test_open_gop_ts_keeps_every_frame),
        cmocka_unit_test(test_backend_fallback_policy),
        cmocka_unit_test(test_cancel_publishes_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
