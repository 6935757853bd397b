/*
 * Thumbnails: the catalog-frame rule on constructed scores and frames, and
 * end to end on a source that opens with three seconds of black: the VTT
 * parses, covers 0..duration without gaps, every cue's rectangle lies in
 * its sprite, the catalog thumbnail is not black, and the source was
 * decoded once per frame with thumbnails on.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_test_frames.h"
#include "eb_test_media.h"
#include "eb_thumbs.h"
#include "eb_vod.h"

static char tmp[4096], src[4200];

static int group_setup(void **state)
{
    (void)state;
    eb_log_set_level(EB_LOG_WARN);
    eb_log_capture_libav();
    eb_test_tmpdir("thumbs", tmp, sizeof(tmp));
    snprintf(src, sizeof(src), "%s/blackstart.mp4", tmp);
    return eb_test_ffmpeg("-f lavfi -i color=black:size=640x360:rate=25:duration=3 "
                          "-f lavfi -i testsrc2=size=640x360:rate=25:duration=3 "
                          "-filter_complex \"[0:v][1:v]concat=n=2:v=1:a=0\" "
                          "-c:v libx264 -preset ultrafast %s",
                          src);
}

static AVFrame *make_frame(int w, int h, int kind)
{
    AVFrame *f = av_frame_alloc();
    unsigned seed = 7;
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    av_frame_get_buffer(f, 0);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int v;
            switch (kind) {
            case 0: v = 16; break;                                        /* black */
            case 1: v = 128; break;                                       /* flat grey */
            case 2: v = 40 + (x * 160) / w; break;                        /* smooth ramp: blurred */
            default: v = 16 + (int)(rand_r(&seed) % 220); break;          /* detailed */
            }
            f->data[0][y * f->linesize[0] + x] = (uint8_t)v;
        }
    }
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < h / 2; y++)
            memset(f->data[p] + y * f->linesize[p], 128, (size_t)w / 2);
    return f;
}

static void test_pick_skips_black_flat_and_blurred(void **state)
{
    EbThumbScore sc[4];
    (void)state;
    for (int k = 0; k < 4; k++) {
        AVFrame *f = make_frame(64, 36, k);
        eb_thumbs_score(f, &sc[k]);
        av_frame_free(&f);
    }
    assert_true(sc[0].mean < 24);
    assert_true(sc[1].stddev < 8);
    assert_true(sc[2].sharpness < 0.5 * sc[3].sharpness);
    assert_int_equal(eb_thumbs_pick(sc, 4), 3);
    /* Only black frames: the middle one, never an invalid index. */
    sc[1] = sc[0];
    sc[2] = sc[0];
    assert_int_equal(eb_thumbs_pick(sc, 3), 1);
    assert_int_equal(eb_thumbs_pick(sc, 0), -1);
}

/* Decodes a JPEG; returns its size and mean luma. */
static void read_jpeg(const char *path, int *w, int *h, double *mean)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    double sum = 0;

    assert_int_equal(avformat_open_input(&fmt, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fmt, NULL) >= 0);
    dec = avcodec_alloc_context3(avcodec_find_decoder(fmt->streams[0]->codecpar->codec_id));
    avcodec_parameters_to_context(dec, fmt->streams[0]->codecpar);
    assert_int_equal(avcodec_open2(dec, dec->codec, NULL), 0);
    assert_int_equal(av_read_frame(fmt, pkt), 0);
    assert_int_equal(avcodec_send_packet(dec, pkt), 0);
    assert_int_equal(avcodec_receive_frame(dec, f), 0);
    *w = f->width;
    *h = f->height;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++)
            sum += f->data[0][y * f->linesize[0] + x];
    *mean = sum / (f->width * f->height);
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
}

static double parse_vtt_time(const char *s)
{
    int h, m, sec, ms;
    assert_int_equal(sscanf(s, "%d:%d:%d.%d", &h, &m, &sec, &ms), 4);
    return h * 3600 + m * 60 + sec + ms / 1000.0;
}

static void test_sprites_vtt_and_catalog_from_the_same_decode(void **state)
{
    char out[4200], dir[6000], path[8192], line[512];
    EbVodOptions o;
    EbVodResult res;
    FILE *f;
    double expect_start = 0, mean;
    int cues = 0, w, h, sheet_w[3] = {0}, sheet_h[3] = {0};
    (void)state;

    snprintf(out, sizeof(out), "%s/out", tmp);
    eb_vod_options_default(&o);
    o.input = src;
    o.storage_root = out;
    o.video_id = "bs";
    o.segment_seconds = 2.0;
    o.thumbs.interval = 1.0;
    o.thumbs.cols = 2;
    o.thumbs.rows = 2;
    assert_int_equal(eb_vod_run(&o, &res), 0);
    assert_int_equal(res.frames_decoded, 150); /* once per source frame */
    assert_int_equal(res.thumbnail_tiles, 6);
    assert_int_equal(res.thumbnail_sheets, 2);

    snprintf(dir, sizeof(dir), "%s/videos/bs/thumbnails", out);
    for (int i = 1; i <= 2; i++) {
        snprintf(path, sizeof(path), "%s/sprite_%03d.jpg", dir, i);
        read_jpeg(path, &sheet_w[i], &sheet_h[i], &mean);
        assert_int_equal(sheet_w[i], 2 * 160);
        assert_int_equal(sheet_h[i], 2 * 90);
    }
    snprintf(path, sizeof(path), "%s/thumbnails.vtt", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "WEBVTT\n");
    while (fgets(line, sizeof(line), f)) {
        char *arrow = strstr(line, " --> ");
        int sheet, x, y, cw, ch;
        if (!arrow)
            continue;
        /* Contiguous: each cue starts where the last ended. */
        assert_true(fabs(parse_vtt_time(line) - expect_start) < 0.0015);
        expect_start = parse_vtt_time(arrow + 5);
        assert_non_null(fgets(line, sizeof(line), f));
        assert_int_equal(sscanf(line, "sprite_%d.jpg#xywh=%d,%d,%d,%d", &sheet, &x, &y, &cw, &ch),
                         5);
        assert_true(sheet >= 1 && sheet <= 2);
        assert_true(x >= 0 && y >= 0 && x + cw <= sheet_w[sheet] && y + ch <= sheet_h[sheet]);
        cues++;
    }
    fclose(f);
    assert_int_equal(cues, 6);
    assert_true(fabs(expect_start - 6.0) < 0.0015); /* covers 0..duration */

    snprintf(path, sizeof(path), "%s/thumb_001.jpg", dir);
    read_jpeg(path, &w, &h, &mean);
    fprintf(stderr, "catalog thumbnail %dx%d, mean luma %.1f\n", w, h, mean);
    assert_int_equal(w, 320);
    assert_int_equal(h, 180);
    assert_true(mean > 40); /* not one of the black opening frames */

    snprintf(path, sizeof(path), "%s/videos/bs/hls/thumbnails/index.m3u8", out);
    {
        int n;
        double total;
        assert_int_equal(eb_test_playlist(path, &n, &total), 0);
        assert_int_equal(n, 2);
        assert_true(fabs(total - 6.0) < 1e-3);
    }
}

static void test_thumbnail_at_is_honoured(void **state)
{
    char out[4200], path[8192];
    EbVodOptions o;
    EbVodResult res;
    double mean;
    int w, h;
    (void)state;

    snprintf(out, sizeof(out), "%s/out-at", tmp);
    eb_vod_options_default(&o);
    o.input = src;
    o.storage_root = out;
    o.video_id = "at";
    o.thumbs.at = 1.0; /* inside the black opening */
    assert_int_equal(eb_vod_run(&o, &res), 0);
    snprintf(path, sizeof(path), "%s/videos/at/thumbnails/thumb_001.jpg", out);
    read_jpeg(path, &w, &h, &mean);
    assert_true(mean < 10);
}

static AVFrame *thumb_frame(int64_t pts)
{
    AVFrame *f = eb_test_frame(320, 180, AV_PIX_FMT_YUV420P);
    for (int p = 0; p < 3; p++) {
        int w = p ? 160 : 320, h = p ? 90 : 180;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                f->data[p][y * f->linesize[p] + x] =
                    (uint8_t)(p ? 128 : (x * 3 + y * 5 + pts * 7) & 0xff);
    }
    f->pts = pts;
    return f;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 16);
    assert_non_null(f);
    assert_non_null(buf);
    assert_true(fread(buf, 1, (1 << 16) - 1, f) > 0);
    fclose(f);
    return buf;
}

/* Offering only the frames eb_thumbs_wants() asks for (what the hardware
 * path downloads) gives the same sprites, index and catalog as offering
 * every frame, from a small fraction of the frames. */
static void test_wanted_frames_are_enough(void **state)
{
    char dirs[2][4200], path[8500];
    char *vtt[2];
    EbThumbnailTrack track[2];
    EbThumbsOptions o;
    int offered[2] = {0, 0};
    (void)state;

    eb_thumbs_options_default(&o);
    o.interval = 1.0;
    for (int run = 0; run < 2; run++) {
        EbThumbs *t = NULL;
        snprintf(dirs[run], sizeof(dirs[run]), "%s/wants%d", tmp, run);
        assert_int_equal(mkdir(dirs[run], 0755), 0);
        assert_int_equal(eb_thumbs_open(&o, dirs[run], 320, 180, (AVRational){25, 1}, 60.0, &t), 0);
        for (int64_t i = 0; i < 1500; i++) {
            AVFrame *f;
            if (run == 1 && !eb_thumbs_wants(t, i))
                continue;
            f = thumb_frame(i);
            assert_int_equal(eb_thumbs_push(t, f), 0);
            av_frame_free(&f);
            offered[run]++;
        }
        assert_int_equal(eb_thumbs_finish(t, 60.0, &track[run]), 0);
        eb_thumbs_free(&t);
        snprintf(path, sizeof(path), "%s/thumbnails.vtt", dirs[run]);
        vtt[run] = slurp(path);
    }
    /* 60 tiles and 64 catalog candidates out of 1500 frames. */
    assert_int_equal(offered[0], 1500);
    assert_true(offered[1] <= 60 + 64 + 2);
    assert_int_equal(track[0].nb_tiles, track[1].nb_tiles);
    assert_int_equal(track[0].nb_sheets, track[1].nb_sheets);
    assert_string_equal(vtt[0], vtt[1]);
    free(vtt[0]);
    free(vtt[1]);
    /* A catalog time makes every frame up to it wanted (the last one stands
     * in for a time past the end). */
    {
        EbThumbs *t = NULL;
        o.at = 3.0;
        snprintf(path, sizeof(path), "%s/wants-at", tmp);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(eb_thumbs_open(&o, path, 320, 180, (AVRational){25, 1}, 10.0, &t), 0);
        assert_int_equal(eb_thumbs_wants(t, 1), 1);
        eb_thumbs_free(&t);
    }
}

static void test_thumbnails_off_writes_none(void **state)
{
    char out[4200], path[8192];
    EbVodOptions o;
    EbVodResult res;
    (void)state;

    snprintf(out, sizeof(out), "%s/out-off", tmp);
    eb_vod_options_default(&o);
    o.input = src;
    o.storage_root = out;
    o.video_id = "off";
    o.thumbs.enabled = 0;
    assert_int_equal(eb_vod_run(&o, &res), 0);
    snprintf(path, sizeof(path), "%s/videos/off/thumbnails", out);
    assert_false(eb_test_exists(path));
    assert_int_equal(res.thumbnail_sheets, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_skips_black_flat_and_blurred),
        cmocka_unit_test(test_sprites_vtt_and_catalog_from_the_same_decode),
        cmocka_unit_test(test_thumbnail_at_is_honoured),
        cmocka_unit_test(test_wanted_frames_are_enough),
        cmocka_unit_test(test_thumbnails_off_writes_none),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
