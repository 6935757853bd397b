/*
 * The storage layout (pipelines/eb_layout.c): every path of a video's tree
 * and the relative references manifests print between them. The expected
 * strings are the tree the README documents and players already fetch, so
 * a change to the layout breaks here before it breaks a published video.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eb_error.h"
#include "eb_layout.h"

static void test_paths_inside_a_video(void **state)
{
    char p[256];
    (void)state;

    assert_int_equal(eb_layout_path(EB_LAYOUT_HLS_MASTER, NULL, 0, p, sizeof(p)), 15);
    assert_string_equal(p, "hls/master.m3u8");
    eb_layout_path(EB_LAYOUT_HLS_MEDIA, "720p", 0, p, sizeof(p));
    assert_string_equal(p, "hls/720p/index.m3u8");
    eb_layout_path(EB_LAYOUT_CMAF_INIT, "audio", 0, p, sizeof(p));
    assert_string_equal(p, "cmaf/audio/init.mp4");
    eb_layout_path(EB_LAYOUT_CMAF_SEGMENT, "1080p", 7, p, sizeof(p));
    assert_string_equal(p, "cmaf/1080p/segment_007.m4s");
    eb_layout_path(EB_LAYOUT_TS_SEGMENT, "360p", 1234, p, sizeof(p));
    assert_string_equal(p, "hls/360p/segment_1234.ts");
    eb_layout_path(EB_LAYOUT_DASH_MPD, NULL, 0, p, sizeof(p));
    assert_string_equal(p, "dash/manifest.mpd");
    eb_layout_path(EB_LAYOUT_THUMB_SPRITE, NULL, 2, p, sizeof(p));
    assert_string_equal(p, "thumbnails/sprite_002.jpg");
    eb_layout_path(EB_LAYOUT_THUMB_VTT, NULL, 0, p, sizeof(p));
    assert_string_equal(p, "thumbnails/thumbnails.vtt");
    eb_layout_path(EB_LAYOUT_THUMB_POSTER, NULL, 0, p, sizeof(p));
    assert_string_equal(p, "thumbnails/thumb_001.jpg");
    assert_int_equal(eb_layout_segment_item(EB_FORMAT_TS), EB_LAYOUT_TS_SEGMENT);
    assert_int_equal(eb_layout_segment_item(EB_FORMAT_CMAF), EB_LAYOUT_CMAF_SEGMENT);

    eb_layout_file("/s/.staging/v.Ab12", EB_LAYOUT_CMAF_SEGMENT, "480p", 3, p, sizeof(p));
    assert_string_equal(p, "/s/.staging/v.Ab12/cmaf/480p/segment_003.m4s");
    eb_layout_parent("/s/v", EB_LAYOUT_CMAF_SEGMENT, "480p", p, sizeof(p));
    assert_string_equal(p, "/s/v/cmaf/480p");
    eb_layout_parent("/s/v", EB_LAYOUT_HLS_MASTER, NULL, p, sizeof(p));
    assert_string_equal(p, "/s/v/hls");
    eb_layout_video_dir("/srv", "clip_1", p, sizeof(p));
    assert_string_equal(p, "/srv/videos/clip_1");
    eb_layout_origin_path("clip_1", EB_LAYOUT_DASH_MPD, p, sizeof(p));
    assert_string_equal(p, "/videos/clip_1/dash/manifest.mpd");
}

static void test_bad_requests_fail_cleanly(void **state)
{
    char p[16];
    (void)state;

    /* a rendition item without a rendition, a number below 1, an unknown item */
    assert_int_equal(eb_layout_path(EB_LAYOUT_HLS_MEDIA, NULL, 0, p, sizeof(p)), EB_ERR(EINVAL));
    assert_int_equal(eb_layout_path(EB_LAYOUT_CMAF_SEGMENT, "a", 0, p, sizeof(p)), EB_ERR(EINVAL));
    assert_int_equal(eb_layout_path(EB_LAYOUT_NB_ITEMS, "a", 1, p, sizeof(p)), EB_ERR(EINVAL));
    /* too small: an error and an empty string, never a cut path */
    assert_int_equal(eb_layout_path(EB_LAYOUT_CMAF_SEGMENT, "1080p", 1, p, sizeof(p)),
                     EB_ERR(ENAMETOOLONG));
    assert_string_equal(p, "");
    assert_int_equal(eb_layout_video_dir("/a/very/long/root", "id", p, sizeof(p)),
                     EB_ERR(ENAMETOOLONG));
    assert_string_equal(p, "");
}

static void test_manifest_references(void **state)
{
    char u[256];
    (void)state;

    /* master -> media playlists and the image playlist */
    eb_layout_uri(EB_LAYOUT_HLS_MASTER, NULL, EB_LAYOUT_HLS_MEDIA, "720p", NULL, u, sizeof(u));
    assert_string_equal(u, "720p/index.m3u8");
    eb_layout_uri(EB_LAYOUT_HLS_MASTER, NULL, EB_LAYOUT_HLS_IMAGES, NULL, NULL, u, sizeof(u));
    assert_string_equal(u, "thumbnails/index.m3u8");
    /* a CMAF media playlist reaches into the shared cmaf/ tree */
    eb_layout_uri(EB_LAYOUT_HLS_MEDIA, "720p", EB_LAYOUT_CMAF_INIT, "720p", NULL, u, sizeof(u));
    assert_string_equal(u, "../../cmaf/720p/init.mp4");
    eb_layout_uri(EB_LAYOUT_HLS_MEDIA, "720p", EB_LAYOUT_CMAF_SEGMENT, "720p", "012", u,
                  sizeof(u));
    assert_string_equal(u, "../../cmaf/720p/segment_012.m4s");
    /* a TS playlist sits beside its segments */
    eb_layout_uri(EB_LAYOUT_HLS_MEDIA, "720p", EB_LAYOUT_TS_SEGMENT, "720p", "001", u, sizeof(u));
    assert_string_equal(u, "segment_001.ts");
    /* ... but not beside another rendition's */
    eb_layout_uri(EB_LAYOUT_HLS_MEDIA, "720p", EB_LAYOUT_TS_SEGMENT, "480p", "001", u, sizeof(u));
    assert_string_equal(u, "../480p/segment_001.ts");
    /* DASH templates, with the caller's identifiers inserted as given */
    eb_layout_uri(EB_LAYOUT_DASH_MPD, NULL, EB_LAYOUT_CMAF_SEGMENT, "$RepresentationID$",
                  "$Number%03d$", u, sizeof(u));
    assert_string_equal(u, "../cmaf/$RepresentationID$/segment_$Number%03d$.m4s");
    eb_layout_uri(EB_LAYOUT_DASH_MPD, NULL, EB_LAYOUT_THUMB_SPRITE, NULL, "$Number%03d$", u,
                  sizeof(u));
    assert_string_equal(u, "../thumbnails/sprite_$Number%03d$.jpg");
    eb_layout_uri(EB_LAYOUT_HLS_IMAGES, NULL, EB_LAYOUT_THUMB_SPRITE, NULL, "004", u, sizeof(u));
    assert_string_equal(u, "../../thumbnails/sprite_004.jpg");
    /* a missing rendition is an error, not "(null)" in a manifest */
    assert_int_equal(eb_layout_uri(EB_LAYOUT_HLS_MASTER, NULL, EB_LAYOUT_HLS_MEDIA, NULL, NULL,
                                   u, sizeof(u)),
                     EB_ERR(EINVAL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_inside_a_video),
        cmocka_unit_test(test_bad_requests_fail_cleanly),
        cmocka_unit_test(test_manifest_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
