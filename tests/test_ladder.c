/* Rung geometry, rate defaults, segment boundaries, storage id rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eb_boundary.h"
#include "eb_error.h"
#include "eb_ladder.h"
#include "eb_storage.h"
#include "eb_vod.h"

static int plan(int w, int h, AVRational sar, int rot, EbRungPlan *out)
{
    EbLadder l;
    EbSourceGeometry g = {w, h, sar, rot};
    eb_ladder_default(&l);
    return eb_ladder_plan(&l, &g, out);
}

static void test_default_ladder_matches_spec(void **state)
{
    EbLadder l;
    (void)state;
    eb_ladder_default(&l);
    assert_int_equal(l.nb_rungs, 4);
    assert_int_equal(l.rungs[0].height, 1080);
    assert_int_equal(l.rungs[0].bitrate, 5000000);
    assert_int_equal(l.rungs[1].bitrate, 2500000);
    assert_int_equal(l.rungs[2].bitrate, 1000000);
    assert_int_equal(l.rungs[3].bitrate, 600000);
    assert_int_equal(l.audio_bitrate, 128000);
    assert_int_equal(eb_rung_maxrate(&l.rungs[1]), 2675000);
    assert_int_equal(eb_rung_bufsize(&l.rungs[1]), 3750000);
}

static void test_1080p_source_gets_four_rungs(void **state)
{
    EbRungPlan p[EB_LADDER_MAX_RUNGS];
    (void)state;
    assert_int_equal(plan(1920, 1080, (AVRational){1, 1}, 0, p), 4);
    assert_int_equal(p[0].width, 1920);
    assert_int_equal(p[1].width, 1280);
    assert_int_equal(p[2].width, 854);
    assert_int_equal(p[2].height, 480);
    assert_int_equal(p[3].width, 640);
}

static void test_720p_source_never_upscales(void **state)
{
    EbRungPlan p[EB_LADDER_MAX_RUNGS];
    (void)state;
    assert_int_equal(plan(1280, 720, (AVRational){0, 1}, 0, p), 3);
    assert_string_equal(p[0].rung.name, "720p");
    assert_int_equal(p[1].width, 854);
}

static void test_4_3_source(void **state)
{
    EbRungPlan p[EB_LADDER_MAX_RUNGS];
    (void)state;
    assert_int_equal(plan(1440, 1080, (AVRational){1, 1}, 0, p), 4);
    assert_int_equal(p[1].width, 960);
    assert_int_equal(p[1].height, 720);
}

static void test_portrait_and_rotation_keep_short_side(void **state)
{
    EbRungPlan p[EB_LADDER_MAX_RUNGS];
    (void)state;
    assert_int_equal(plan(1080, 1920, (AVRational){1, 1}, 0, p), 4);
    assert_int_equal(p[0].width, 1080);
    assert_int_equal(p[0].height, 1920);
    /* A landscape-coded phone video rotated 90 degrees is portrait. */
    assert_int_equal(plan(1920, 1080, (AVRational){1, 1}, 90, p), 4);
    assert_int_equal(p[1].width, 720);
    assert_int_equal(p[1].height, 1280);
}

static void test_anamorphic_becomes_square(void **state)
{
    EbRungPlan p[EB_LADDER_MAX_RUNGS];
    (void)state;
    /* PAL 16:9: 720x576 with SAR 64:45 displays as 1024x576. */
    assert_int_equal(plan(720, 576, (AVRational){64, 45}, 0, p), 2);
    assert_int_equal(p[0].height, 480);
    assert_int_equal(p[0].width, 854);
    assert_int_equal(p[1].width, 640);
}

static void test_small_source_gets_one_rung_at_own_size(void **state)
{
    EbRungPlan p[EB_LADDER_MAX_RUNGS];
    (void)state;
    assert_int_equal(plan(320, 240, (AVRational){1, 1}, 0, p), 1);
    assert_int_equal(p[0].width, 320);
    assert_int_equal(p[0].height, 240);
    assert_string_equal(p[0].rung.name, "240p");
    assert_int_equal(p[0].rung.bitrate, 600000);
    /* Odd sizes snap down to even, never up. */
    assert_int_equal(plan(175, 143, (AVRational){1, 1}, 0, p), 1);
    assert_int_equal(p[0].height, 142);
    assert_true(p[0].width % 2 == 0);
}

static void test_rotation_normalize(void **state)
{
    (void)state;
    assert_int_equal(eb_rotation_normalize(-90), 270);
    assert_int_equal(eb_rotation_normalize(90.2), 90);
    assert_int_equal(eb_rotation_normalize(-180), 180);
    assert_int_equal(eb_rotation_normalize(360), 0);
}

/* Boundary k at frame ceil(k x seconds x rate) on frame-numbered timestamps. */
static int64_t boundary_frame(int64_t k, double seconds, AVRational fr)
{
    EbBoundaryPolicy p;
    assert_int_equal(eb_boundary_init(&p, seconds, av_inv_q(fr), 0), 0);
    return eb_boundary_pts(&p, k);
}

static void test_segment_boundaries(void **state)
{
    (void)state;
    /* 29.97 fps, 6 s: first frame at or after 6 s is 180 (6.006 s). */
    assert_int_equal(boundary_frame(1, 6.0, (AVRational){30000, 1001}), 180);
    assert_int_equal(boundary_frame(10, 6.0, (AVRational){30000, 1001}), 1799);
    assert_int_equal(boundary_frame(1, 6.0, (AVRational){30, 1}), 180);
    assert_int_equal(boundary_frame(3, 2.0, (AVRational){25, 1}), 150);
    assert_int_equal(boundary_frame(1, 6.0, (AVRational){24000, 1001}), 144);
}

/* One policy on media time: the segment of a timestamp, the same instant
 * in audio samples, the encoder's keyframe interval, and a cursor that
 * passes boundaries a gap skipped (a live feed). */
static void test_boundary_policy_on_media_time(void **state)
{
    EbBoundaryPolicy p;
    EbBoundaryCursor c;
    (void)state;

    assert_int_equal(eb_boundary_init(&p, 6.0, (AVRational){1001, 30000}, 0), 0);
    assert_int_equal(eb_boundary_index(&p, 0), 0);
    assert_int_equal(eb_boundary_index(&p, 179), 0);
    assert_int_equal(eb_boundary_index(&p, 180), 1);
    assert_int_equal(eb_boundary_index(&p, 1798), 9);
    assert_int_equal(eb_boundary_index(&p, 1799), 10);
    /* frame 180 is 6.006 s: sample 288288 at 48 kHz */
    assert_int_equal(eb_boundary_pts_in(&p, 1, (AVRational){1, 48000}), 288288);
    /* boundaries are 180 or 179 frames apart; the GOP must exceed 180 */
    assert_int_equal(eb_boundary_max_distance(&p), 180);

    /* a 90 kHz timeline that starts at 900000 (10 s), 2 s segments */
    assert_int_equal(eb_boundary_init(&p, 2.0, (AVRational){1, 90000}, 900000), 0);
    assert_int_equal(eb_boundary_pts(&p, 1), 1080000);
    eb_boundary_cursor_init(&c, &p);
    assert_false(eb_boundary_reached(&c, 1079999));
    assert_true(eb_boundary_reached(&c, 1080000));
    /* a 7 s gap: the next frame starts the segment of the latest boundary */
    eb_boundary_advance(&c, 1080000 + 7 * 90000);
    assert_int_equal(c.k, 5);
    assert_int_equal(c.next, 900000 + 5 * 180000);
    assert_false(eb_boundary_reached(&c, 900000 + 5 * 180000 - 1));

    /* unusable settings are refused, not divided by */
    assert_int_equal(eb_boundary_init(&p, 0.0, (AVRational){1, 25}, 0), EB_ERR(EINVAL));
    assert_int_equal(eb_boundary_init(&p, 6.0, (AVRational){0, 1}, 0), EB_ERR(EINVAL));
}

static void test_video_id_rules(void **state)
{
    char id[80];
    (void)state;
    assert_true(eb_storage_id_valid("abc_DEF-123"));
    assert_false(eb_storage_id_valid(""));
    assert_false(eb_storage_id_valid("../etc"));
    assert_false(eb_storage_id_valid("a b"));
    memset(id, 'a', 65);
    id[65] = '\0';
    assert_false(eb_storage_id_valid(id));
    id[64] = '\0';
    assert_true(eb_storage_id_valid(id));
    eb_storage_id_from_path("/media/My clip.v2.mp4", id, sizeof(id));
    assert_string_equal(id, "My_clip_v2");
    /* non-ASCII: accented letters keep their letter, anything else is one
     * '_' per run, not one per byte */
    eb_storage_id_from_path("/media/Caf\xc3\xa9 cr\xc3\xa8me \xc5\x81\xc3\xb3" "d\xc5\xba.mov", id,
                            sizeof(id));
    assert_string_equal(id, "Cafe_creme_Lodz");
    eb_storage_id_from_path("/media/\xe6\x97\xa5\xe6\x9c\xac clip.mp4", id, sizeof(id));
    assert_string_equal(id, "_clip");
    eb_storage_id_from_path("/media/\xe6\x97\xa5\xe6\x9c\xac.mp4", id, sizeof(id));
    assert_string_equal(id, "video");
    eb_storage_id_from_path("/media/bad\xff\xfe.mp4", id, sizeof(id));
    assert_string_equal(id, "bad_");
    eb_storage_id_from_path("/media/.mp4", id, sizeof(id));
    assert_string_equal(id, "video");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_ladder_matches_spec),
        cmocka_unit_test(test_1080p_source_gets_four_rungs),
        cmocka_unit_test(test_720p_source_never_upscales),
        cmocka_unit_test(test_4_3_source),
        cmocka_unit_test(test_portrait_and_rotation_keep_short_side),
        cmocka_unit_test(test_anamorphic_becomes_square),
        cmocka_unit_test(test_small_source_gets_one_rung_at_own_size),
        cmocka_unit_test(test_rotation_normalize),
        cmocka_unit_test(test_segment_boundaries),
        cmocka_unit_test(test_boundary_policy_on_media_time),
        cmocka_unit_test(test_video_id_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
