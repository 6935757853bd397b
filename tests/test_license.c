/*
 * The key store (eb_keys.h) and the license service's pure parts
 * (eb_license.h): endpoints, base64url, the ClearKey exchange.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <jansson.h>

#include "eb_error.h"
#include "eb_keys.h"
#include "eb_license.h"
#include "eb_test_media.h"

static char tmp[4096];

static void test_endpoints(void **state)
{
    char id[65];
    uint8_t kid[16];
    int valid;
    (void)state;

    assert_int_equal(eb_key_endpoint("v1/license", id, sizeof(id), kid, &valid),
                     EB_KEY_ENDPOINT_LICENSE);
    assert_true(valid);
    assert_string_equal(id, "v1");
    assert_int_equal(
        eb_key_endpoint("v1/keys/00112233445566778899aabbccddeeff", id, sizeof(id), kid, &valid),
        EB_KEY_ENDPOINT_KEY);
    assert_true(valid);
    assert_int_equal(kid[0], 0x00);
    assert_int_equal(kid[15], 0xff);
    /* never a file of the tree, even when malformed */
    assert_int_equal(eb_key_endpoint("v1/keys/../../etc", id, sizeof(id), kid, &valid),
                     EB_KEY_ENDPOINT_KEY);
    assert_false(valid);
    assert_int_equal(eb_key_endpoint("v1/keys", id, sizeof(id), kid, &valid), EB_KEY_ENDPOINT_KEY);
    assert_false(valid);
    assert_int_equal(eb_key_endpoint("bad id/license", id, sizeof(id), kid, &valid),
                     EB_KEY_ENDPOINT_LICENSE);
    assert_false(valid);
    assert_int_equal(eb_key_endpoint("v1/hls/master.m3u8", id, sizeof(id), kid, &valid),
                     EB_KEY_ENDPOINT_NONE);
    assert_int_equal(eb_key_endpoint("v1/licenses", id, sizeof(id), kid, &valid),
                     EB_KEY_ENDPOINT_NONE);
}

static void test_base64url(void **state)
{
    /* RFC 4648 alphabet 5: - and _ instead of + and /, no padding */
    const uint8_t in[16] = {0xfb, 0xff, 0xbf, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xfe};
    uint8_t out[16];
    char s[23];
    (void)state;

    eb_base64url16(in, s);
    assert_int_equal(strlen(s), 22);
    assert_null(strpbrk(s, "+/="));
    assert_memory_equal(s, "-_-_", 4);
    assert_int_equal(eb_unbase64url16(s, out), 0);
    assert_memory_equal(in, out, 16);
    assert_int_equal(eb_unbase64url16("+/+/AAECAwQFBgcICQoL_g", out), EB_ERR(EINVAL));
    assert_int_equal(eb_unbase64url16("short", out), EB_ERR(EINVAL));
    assert_int_equal(eb_unbase64url16(NULL, out), EB_ERR(EINVAL));
}

static void test_store_and_license(void **state)
{
    char dir[4200], path[4400], kid64[23], body[256], hex[33];
    EbKeyProvider *kp = NULL;
    EbContentKey a, b, got;
    struct stat st;
    char *out = NULL;
    json_t *o, *keys;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/keys", tmp);
    assert_int_equal(eb_key_store_open(dir, &kp), 0);
    assert_int_equal(kp->ops->create(kp, "vid", EB_ENCRYPT_CENC, &a), 0);
    assert_int_equal(kp->ops->create(kp, "vid", EB_ENCRYPT_CENC, &b), 0);
    assert_memory_not_equal(a.k.kid, b.k.kid, 16);
    assert_memory_not_equal(a.k.key, b.k.key, 16);
    assert_int_equal(kp->ops->create(kp, "../x", EB_ENCRYPT_CENC, &got), EB_ERR(EINVAL));
    eb_key_hex(a.k.kid, hex);
    snprintf(path, sizeof(path), "%s/vid/%s.json", dir, hex);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(kp->ops->get(kp, "vid", a.k.kid, &got), 0);
    assert_memory_equal(got.k.key, a.k.key, 16);
    assert_int_equal(got.scheme, EB_ENCRYPT_CENC);
    /* another video's id does not find it */
    assert_int_equal(kp->ops->get(kp, "other", a.k.kid, &got), EB_ERR(ENOENT));

    /* the license holds the requested keys of this video only */
    eb_base64url16(a.k.kid, kid64);
    snprintf(body, sizeof(body),
             "{\"kids\":[\"%s\",\"AAAAAAAAAAAAAAAAAAAAAA\"],\"type\":\"temporary\"}", kid64);
    assert_int_equal(eb_clearkey_license(kp, "vid", body, strlen(body), &out), 1);
    o = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(o);
    keys = json_object_get(o, "keys");
    assert_int_equal(json_array_size(keys), 1);
    {
        uint8_t k[16];
        json_t *jwk = json_array_get(keys, 0);
        assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "oct");
        assert_string_equal(json_string_value(json_object_get(jwk, "kid")), kid64);
        assert_int_equal(eb_unbase64url16(json_string_value(json_object_get(jwk, "k")), k), 0);
        assert_memory_equal(k, a.k.key, 16);
    }
    assert_string_equal(json_string_value(json_object_get(o, "type")), "temporary");
    json_decref(o);
    assert_int_equal(eb_clearkey_license(kp, "other", body, strlen(body), &out), 0);
    free(out);
    assert_int_equal(eb_clearkey_license(kp, "vid", "{\"kids\":[\"x\"]}", 14, &out),
                     EB_ERR(EINVAL));
    assert_int_equal(eb_clearkey_license(kp, "vid", "{\"kids\":[]}", 11, &out), EB_ERR(EINVAL));
    assert_int_equal(eb_clearkey_license(kp, "vid", "nonsense", 8, &out), EB_ERR(EINVAL));

    /* a replaced video keeps only its new key; a failed job's key goes */
    assert_int_equal(eb_key_store_prune(dir, "vid", b.k.kid), 0);
    assert_int_equal(kp->ops->get(kp, "vid", a.k.kid, &got), EB_ERR(ENOENT));
    assert_int_equal(kp->ops->get(kp, "vid", b.k.kid, &got), 0);
    assert_int_equal(eb_key_store_remove(dir, "vid", b.k.kid), 0);
    assert_int_equal(kp->ops->get(kp, "vid", b.k.kid, &got), EB_ERR(ENOENT));
    eb_key_provider_free(&kp);
}

static void test_scheme_names(void **state)
{
    EbEncryptionScheme s;
    (void)state;
    assert_int_equal(eb_encryption_scheme_parse("cbcs", &s), 0);
    assert_int_equal(s, EB_ENCRYPT_CBCS);
    assert_string_equal(eb_encryption_scheme_name(EB_ENCRYPT_AES128), "aes-128");
    assert_int_equal(eb_encryption_scheme_parse("aes128", &s), EB_ERR(EINVAL));
    assert_int_equal(eb_encryption_scheme_parse(NULL, &s), EB_ERR(EINVAL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_store_and_license),
        cmocka_unit_test(test_scheme_names),
    };
    eb_test_tmpdir("license", tmp, sizeof(tmp));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
