/* Rung -> hardware encoder options: speed scale per vendor, capped VBR, GOP
 * and forced IDR, B-frames, profile and level (hal/eb_hal_options.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eb_hal_options.h"

static EbEncodeParams rung_720p(void)
{
    EbEncodeParams p = {0};
    p.width = 1280;
    p.height = 720;
    p.time_base = (AVRational){1, 30};
    p.frame_rate = (AVRational){30, 1};
    p.bitrate = 2500000;
    p.maxrate = 2675000;
    p.bufsize = 3750000;
    p.gop_frames = 180;
    p.preset = "veryfast";
    return p;
}

static const char *get(AVDictionary *d, const char *key)
{
    AVDictionaryEntry *e = av_dict_get(d, key, NULL, 0);
    return e ? e->value : NULL;
}

static void test_speed_scale(void **state)
{
    static const char *const names[] = {"ultrafast", "superfast", "veryfast", "faster",  "fast",
                                        "medium",    "slow",      "slower",   "veryslow"};
    (void)state;
    for (int i = 0; i < 9; i++)
        assert_int_equal(eb_hal_speed_index(names[i]), i);
    assert_int_equal(eb_hal_speed_index(NULL), 2);
    assert_int_equal(eb_hal_speed_index(""), 2);
    assert_int_equal(eb_hal_speed_index("placebo"), -EINVAL);

    assert_string_equal(eb_hal_nvenc_preset(0), "p1");
    assert_string_equal(eb_hal_nvenc_preset(2), "p3");
    assert_string_equal(eb_hal_nvenc_preset(5), "p5");
    assert_string_equal(eb_hal_nvenc_preset(8), "p7");
    assert_string_equal(eb_hal_nvenc_tune(0), "ll");
    assert_string_equal(eb_hal_nvenc_tune(5), "hq");
    assert_null(eb_hal_nvenc_preset(9));
    assert_int_equal(eb_hal_vaapi_quality(0), 7);
    assert_int_equal(eb_hal_vaapi_quality(8), 1);
    assert_int_equal(eb_hal_qsv_target_usage(0), 7);
    assert_int_equal(eb_hal_qsv_target_usage(5), 4);
    assert_int_equal(eb_hal_qsv_target_usage(8), 1);
    assert_int_equal(eb_hal_qsv_target_usage(-1), -EINVAL);
    /* Slower never maps to a faster vendor setting. */
    for (int i = 1; i < 9; i++) {
        assert_true(strcmp(eb_hal_nvenc_preset(i), eb_hal_nvenc_preset(i - 1)) >= 0);
        assert_true(eb_hal_vaapi_quality(i) <= eb_hal_vaapi_quality(i - 1));
        assert_true(eb_hal_qsv_target_usage(i) <= eb_hal_qsv_target_usage(i - 1));
    }
}

static void test_encoder_names(void **state)
{
    (void)state;
    assert_string_equal(eb_hal_encoder_name(EB_HAL_ENC_NVENC, AV_CODEC_ID_H264), "h264_nvenc");
    assert_string_equal(eb_hal_encoder_name(EB_HAL_ENC_VAAPI, AV_CODEC_ID_HEVC), "hevc_vaapi");
    assert_string_equal(eb_hal_encoder_name(EB_HAL_ENC_QSV, AV_CODEC_ID_H264), "h264_qsv");
    assert_null(eb_hal_encoder_name(EB_HAL_ENC_QSV, AV_CODEC_ID_VP9));
}

static void test_levels(void **state)
{
    AVRational f30 = {30, 1}, f60 = {60, 1}, f2997 = {30000, 1001};
    (void)state;
    assert_int_equal(eb_hal_h264_level(1920, 1080, f30, 5350000), 40);
    assert_int_equal(eb_hal_h264_level(1920, 1080, f30, 30000000), 41);
    assert_int_equal(eb_hal_h264_level(1920, 1080, f60, 5350000), 42);
    assert_int_equal(eb_hal_h264_level(1280, 720, f30, 2675000), 31);
    assert_int_equal(eb_hal_h264_level(1280, 720, f60, 2675000), 32);
    assert_int_equal(eb_hal_h264_level(854, 480, f2997, 1070000), 31);
    assert_int_equal(eb_hal_h264_level(640, 360, f30, 642000), 30);
    assert_int_equal(eb_hal_h264_level(3840, 2160, f30, 20000000), 51);
    assert_int_equal(eb_hal_h264_level(16384, 16384, f60, 1000000), -ERANGE);
    assert_int_equal(eb_hal_hevc_level(1920, 1080, f30, 5350000), 40);
    assert_int_equal(eb_hal_hevc_level(1920, 1080, f60, 5350000), 41);
    assert_int_equal(eb_hal_hevc_level(1280, 720, f30, 2675000), 31);
    assert_int_equal(eb_hal_hevc_level(3840, 2160, f60, 20000000), 51);
}

static void test_nvenc_options(void **state)
{
    EbEncodeParams p = rung_720p();
    AVDictionary *d = NULL;
    (void)state;
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_NVENC, AV_CODEC_ID_H264, &p, &d), 0);
    assert_string_equal(get(d, "b"), "2500000");
    assert_string_equal(get(d, "maxrate"), "2675000");
    assert_string_equal(get(d, "bufsize"), "3750000");
    assert_string_equal(get(d, "rc"), "vbr");
    assert_string_equal(get(d, "g"), "181");
    assert_string_equal(get(d, "keyint_min"), "180");
    assert_string_equal(get(d, "forced-idr"), "1");
    assert_string_equal(get(d, "no-scenecut"), "1");
    assert_string_equal(get(d, "strict_gop"), "1");
    assert_string_equal(get(d, "preset"), "p3");
    assert_string_equal(get(d, "tune"), "hq");
    assert_string_equal(get(d, "bf"), "3");
    assert_string_equal(get(d, "profile"), "high");
    assert_string_equal(get(d, "level"), "3.1");
    av_dict_free(&d);

    p.preset = "veryslow";
    p.profile = "main";
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_NVENC, AV_CODEC_ID_HEVC, &p, &d), 0);
    assert_string_equal(get(d, "preset"), "p7");
    assert_string_equal(get(d, "multipass"), "fullres");
    assert_string_equal(get(d, "rc-lookahead"), "32");
    assert_string_equal(get(d, "profile"), "main");
    assert_string_equal(get(d, "level"), "3.1");
    av_dict_free(&d);

    p.preset = "ultrafast";
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_NVENC, AV_CODEC_ID_H264, &p, &d), 0);
    assert_string_equal(get(d, "bf"), "0");
    assert_string_equal(get(d, "preset"), "p1");
    av_dict_free(&d);
}

static void test_vaapi_options(void **state)
{
    EbEncodeParams p = rung_720p();
    AVDictionary *d = NULL;
    (void)state;
    p.preset = "medium";
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_VAAPI, AV_CODEC_ID_H264, &p, &d), 0);
    assert_string_equal(get(d, "rc_mode"), "VBR");
    assert_string_equal(get(d, "quality"), "3");
    assert_string_equal(get(d, "idr_interval"), "0");
    assert_string_equal(get(d, "maxrate"), "2675000");
    assert_string_equal(get(d, "level"), "31");
    assert_null(get(d, "preset"));
    av_dict_free(&d);
    /* hevc_vaapi wants general_level_idc: 30 x 3.1 = 93. */
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_VAAPI, AV_CODEC_ID_HEVC, &p, &d), 0);
    assert_string_equal(get(d, "level"), "93");
    assert_string_equal(get(d, "profile"), "main");
    av_dict_free(&d);
}

static void test_qsv_options(void **state)
{
    EbEncodeParams p = rung_720p();
    AVDictionary *d = NULL;
    (void)state;
    p.preset = "slow";
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_QSV, AV_CODEC_ID_H264, &p, &d), 0);
    assert_string_equal(get(d, "preset"), "slow"); /* target usage 3 */
    assert_string_equal(get(d, "forced_idr"), "1");
    assert_string_equal(get(d, "level"), "31");
    assert_string_equal(get(d, "b"), "2500000");
    assert_string_equal(get(d, "maxrate"), "2675000");
    av_dict_free(&d);
    p.preset = "ultrafast";
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_QSV, AV_CODEC_ID_H264, &p, &d), 0);
    assert_string_equal(get(d, "preset"), "veryfast"); /* target usage 7 */
    av_dict_free(&d);
}

static void test_bad_params(void **state)
{
    EbEncodeParams p = rung_720p();
    AVDictionary *d = NULL;
    (void)state;
    p.preset = "placebo";
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_NVENC, AV_CODEC_ID_H264, &p, &d), -EINVAL);
    p = rung_720p();
    p.maxrate = 1000; /* below the bitrate */
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_NVENC, AV_CODEC_ID_H264, &p, &d), -EINVAL);
    p = rung_720p();
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_QSV, AV_CODEC_ID_VP9, &p, &d), -ENOSYS);
    p.maxrate = 0; /* no cap given: capped at the bitrate, bufsize 2x */
    assert_int_equal(eb_hal_encoder_options(EB_HAL_ENC_VAAPI, AV_CODEC_ID_H264, &p, &d), 0);
    assert_string_equal(get(d, "maxrate"), "2500000");
    assert_string_equal(get(d, "bufsize"), "3750000");
    av_dict_free(&d);
}

/* Private options land in priv_data, the rest stay for avcodec_open2.
 * libx264 is present on every build box and has private "preset" and
 * "profile" options, as the hardware encoders do. */
static void test_apply_splits_private(void **state)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *ctx;
    AVDictionary *d = NULL;
    (void)state;
    if (!c)
        skip();
    ctx = avcodec_alloc_context3(c);
    assert_non_null(ctx);
    av_dict_set(&d, "preset", "slow", 0);
    av_dict_set(&d, "profile", "high", 0);
    av_dict_set(&d, "b", "1000", 0);
    assert_int_equal(eb_hal_options_apply(ctx, &d), 0);
    assert_null(get(d, "preset"));
    assert_null(get(d, "profile"));
    assert_string_equal(get(d, "b"), "1000");
    av_dict_free(&d);
    avcodec_free_context(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_speed_scale),   cmocka_unit_test(test_encoder_names),
        cmocka_unit_test(test_levels),        cmocka_unit_test(test_nvenc_options),
        cmocka_unit_test(test_vaapi_options), cmocka_unit_test(test_qsv_options),
        cmocka_unit_test(test_bad_params),    cmocka_unit_test(test_apply_splits_private),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
