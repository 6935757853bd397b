/*
 * RFC 6381 codec strings from parameter sets (pipelines/eb_codec_string.c).
 * The SPS bytes are built here field by field and escaped with emulation
 * prevention bytes by the test's own encoder, so the parser is checked on
 * what an encoder's Annex B output looks like, not on its own idea of it.
 * Expected strings are the ones ISO/IEC 14496-15 Annex E gives for the same
 * fields (and that FFmpeg's HLS muxer writes for libx265's output).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eb_codec_string.h"
#include "eb_error.h"

/* Escapes payload as an encoder does (00 00 0x with x <= 3 gets a 03
 * inserted) and appends it after a 4-byte start code and the NAL header. */
static int annexb(uint8_t *out, const uint8_t *hdr, int nhdr, const uint8_t *pl, int n)
{
    int o = 0, zeros = 0;

    out[o++] = 0, out[o++] = 0, out[o++] = 0, out[o++] = 1;
    for (int i = 0; i < nhdr; i++)
        out[o++] = hdr[i];
    for (int i = 0; i < n; i++) {
        if (zeros >= 2 && pl[i] <= 3) {
            out[o++] = 3;
            zeros = 0;
        }
        out[o++] = pl[i];
        zeros = pl[i] == 0 ? zeros + 1 : 0;
    }
    return o;
}

/* HEVC SPS payload: vps id 0, one sub-layer, temporal nesting, then the
 * 12-byte general profile_tier_level and a little of what follows. */
static int hevc_sps(uint8_t *out, uint8_t space_tier_profile, uint32_t compat,
                    const uint8_t constraints[6], uint8_t level)
{
    static const uint8_t hdr[2] = {0x42, 0x01}; /* nal_unit_type 33 */
    uint8_t pl[16];
    int n = 0;

    pl[n++] = 0x01;
    pl[n++] = space_tier_profile;
    pl[n++] = (uint8_t)(compat >> 24), pl[n++] = (uint8_t)(compat >> 16);
    pl[n++] = (uint8_t)(compat >> 8), pl[n++] = (uint8_t)compat;
    for (int i = 0; i < 6; i++)
        pl[n++] = constraints[i];
    pl[n++] = level;
    pl[n++] = 0xa0, pl[n++] = 0x03; /* sps id, chroma format ... */
    return annexb(out, hdr, 2, pl, n);
}

static void test_hevc_main_from_annexb(void **state)
{
    static const uint8_t progressive[6] = {0x90, 0, 0, 0, 0, 0};
    static const uint8_t vps[] = {0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff};
    uint8_t buf[128];
    char s[64];
    int n;
    (void)state;

    /* Main (profile 1, compatible with Main and Main 10: flags 1 and 2),
     * level 3.1 (93): the compat flags and the zero constraint bytes need
     * emulation prevention, and a VPS comes first as in real extradata. */
    memcpy(buf, vps, sizeof(vps));
    n = (int)sizeof(vps) + hevc_sps(buf + sizeof(vps), 0x01, 0x60000000, progressive, 93);
    assert_non_null(memchr(buf + sizeof(vps) + 6, 3, 12)); /* escaped, so the test means it */
    assert_int_equal(eb_codec_string_hevc(buf, n, s, sizeof(s)), 0);
    assert_string_equal(s, "hvc1.1.6.L93.90");
}

static void test_hevc_tier_space_and_constraint_bytes(void **state)
{
    static const uint8_t c[6] = {0xb0, 0, 0x01, 0, 0, 0};
    uint8_t buf[128];
    char s[64];
    int n;
    (void)state;

    /* High tier Main 10 (profile 2, compat flag 2), level 5.1 (153): 'H',
     * and constraint bytes kept up to the last non-zero one. */
    n = hevc_sps(buf, 0x20 | 0x02, 0x20000000, c, 153);
    assert_int_equal(eb_codec_string_hevc(buf, n, s, sizeof(s)), 0);
    assert_string_equal(s, "hvc1.2.4.H153.B0.0.1");

    /* profile space 1 -> 'A' */
    n = hevc_sps(buf, 0x40 | 0x01, 0x60000000, c, 120);
    assert_int_equal(eb_codec_string_hevc(buf, n, s, sizeof(s)), 0);
    assert_string_equal(s, "hvc1.A1.6.L120.B0.0.1");
}

static void test_hevc_from_hvcc(void **state)
{
    /* hvcC: configurationVersion 1, then the general profile_tier_level. */
    static const uint8_t hvcc[23] = {1,    0x01, 0x60, 0,    0,    0,    0x90, 0, 0, 0,    0, 0,
                                     0x5a, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0};
    char s[64];
    (void)state;

    assert_int_equal(eb_codec_string_hevc(hvcc, sizeof(hvcc), s, sizeof(s)), 0);
    assert_string_equal(s, "hvc1.1.6.L90.90");
}

static void test_avc_from_annexb_and_avcc(void **state)
{
    static const uint8_t hdr[1] = {0x67};
    static const uint8_t high40[] = {0x64, 0x00, 0x28, 0xac, 0xd9};
    static const uint8_t escaped[] = {0x42, 0x00, 0x00, 0x01, 0xe5}; /* 00 00 01 inside */
    static const uint8_t avcc[] = {1, 0x4d, 0x40, 0x1f, 0xff, 0xe1, 0x00, 0x04};
    uint8_t buf[64];
    char s[32];
    int n;
    (void)state;

    n = annexb(buf, hdr, 1, high40, sizeof(high40));
    assert_int_equal(eb_codec_string_avc(buf, n, s, sizeof(s)), 0);
    assert_string_equal(s, "avc1.640028");
    /* the escaped 03 is not part of the level */
    n = annexb(buf, hdr, 1, escaped, sizeof(escaped));
    assert_int_equal(buf[8], 3);
    assert_int_equal(eb_codec_string_avc(buf, n, s, sizeof(s)), 0);
    assert_string_equal(s, "avc1.420000");
    assert_int_equal(eb_codec_string_avc(avcc, sizeof(avcc), s, sizeof(s)), 0);
    assert_string_equal(s, "avc1.4d401f");
}

static void test_no_sps_is_an_error(void **state)
{
    static const uint8_t pps_only[] = {0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0, 0, 1, 0x44, 0x01};
    static const uint8_t short_sps[] = {0, 0, 0, 1, 0x42, 0x01, 0x01, 0x01};
    char s[32] = "x";
    (void)state;

    assert_int_equal(eb_codec_string_avc(pps_only, sizeof(pps_only), s, sizeof(s)), EB_ERR(EINVAL));
    assert_string_equal(s, "");
    assert_int_equal(eb_codec_string_hevc(pps_only, sizeof(pps_only), s, sizeof(s)),
                     EB_ERR(EINVAL));
    /* an SPS cut off inside profile_tier_level */
    assert_int_equal(eb_codec_string_hevc(short_sps, sizeof(short_sps), s, sizeof(s)),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_codec_string_hevc(NULL, 0, s, sizeof(s)), EB_ERR(EINVAL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hevc_main_from_annexb),
        cmocka_unit_test(test_hevc_tier_space_and_constraint_bytes),
        cmocka_unit_test(test_hevc_from_hvcc),
        cmocka_unit_test(test_avc_from_annexb_and_avcc),
        cmocka_unit_test(test_no_sps_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
