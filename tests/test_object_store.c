/*
 * The object-storage output's S3 client (eb_s3.h) against a real
 * S3-compatible server that checks signatures: OpenStack Swift with s3api,
 * started by tests/rack/with-swift.sh (EB_S3_* in the environment). Skipped
 * (77) without it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "eb_s3.h"
#include "eb_s3_mirror.h"
#include "eb_test_media.h"

static char tmp[4096], creds[4200];

static void s3_open(EbS3 *s3, const char *prefix, int64_t part_size)
{
    char err[512];
    assert_int_equal(eb_s3_init(s3, getenv("EB_S3_ENDPOINT"), "encbox-test", getenv("EB_S3_REGION"),
                                prefix, 1, part_size, creds, err, sizeof(err)),
                     0);
    if (eb_s3_create_bucket(s3, err, sizeof(err)) < 0)
        fail_msg("create bucket: %s", err);
}

static void write_bytes(const char *path, size_t n, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc((int)((i * 2654435761u + seed) >> 13) & 0xff, f);
    fclose(f);
}

/* A small object goes up in one signed PUT, with its type and caching. */
static void test_put_get_small(void **state)
{
    EbS3 s3;
    EbS3Stats st = {0};
    char path[4300], err[512], ct[160], cc[160], *got, *want;
    size_t len, wlen;
    (void)state;

    s3_open(&s3, "small", 64 << 20);
    snprintf(path, sizeof(path), "%s/seg.m4s", tmp);
    write_bytes(path, 100000, 1);
    assert_int_equal(eb_s3_put_file(&s3, "videos/a/seg.m4s", path, &st, err, sizeof(err)), 0);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.bytes, 100000);
    assert_int_equal(st.multipart_objects, 0);
    assert_int_equal(
        eb_s3_get(&s3, "videos/a/seg.m4s", &got, &len, ct, cc, sizeof(ct), err, sizeof(err)), 0);
    want = (char *)eb_test_slurp(path, &wlen);
    assert_int_equal(len, wlen);
    assert_memory_equal(got, want, len);
    assert_string_equal(ct, "video/iso.segment");
    assert_string_equal(cc, "public, max-age=31536000, immutable");
    free(got);
    free(want);
    /* under the prefix: the same key without it is not there */
    {
        EbS3 bare;
        s3_open(&bare, "", 64 << 20);
        assert_int_equal(
            eb_s3_get(&bare, "videos/a/seg.m4s", &got, &len, NULL, NULL, 0, err, sizeof(err)),
            -ENOENT);
        assert_int_equal(
            eb_s3_get(&bare, "small/videos/a/seg.m4s", &got, &len, NULL, NULL, 0, err, sizeof(err)),
            0);
        free(got);
    }
    assert_int_equal(eb_s3_delete(&s3, "videos/a/seg.m4s", err, sizeof(err)), 0);
    assert_int_equal(
        eb_s3_get(&s3, "videos/a/seg.m4s", &got, &len, NULL, NULL, 0, err, sizeof(err)), -ENOENT);
}

/* Above part_size, a multipart upload whose parts the server joins into
 * the same bytes. */
static void test_multipart(void **state)
{
    EbS3 s3;
    EbS3Stats st = {0};
    char path[4300], err[512], *got, *want;
    size_t len, wlen;
    (void)state;

    s3_open(&s3, "", EB_S3_MIN_PART);
    snprintf(path, sizeof(path), "%s/big.mp4", tmp);
    write_bytes(path, (size_t)EB_S3_MIN_PART * 2 + 12345, 7);
    if (eb_s3_put_file(&s3, "videos/big/source.mp4", path, &st, err, sizeof(err)) < 0)
        fail_msg("multipart: %s", err);
    assert_int_equal(st.multipart_objects, 1);
    assert_int_equal(st.objects, 1);
    assert_int_equal(
        eb_s3_get(&s3, "videos/big/source.mp4", &got, &len, NULL, NULL, 0, err, sizeof(err)), 0);
    want = (char *)eb_test_slurp(path, &wlen);
    assert_int_equal(len, wlen);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
}

/* The server checks the signature: the right key id with a wrong secret
 * is refused, and nothing is written. */
static void test_wrong_secret_refused(void **state)
{
    EbS3 s3, good;
    char path[4300], err[512], *got;
    size_t len;
    (void)state;

    s3_open(&good, "", 64 << 20);
    s3 = good;
    snprintf(s3.secret_key, sizeof(s3.secret_key), "not-the-secret");
    snprintf(path, sizeof(path), "%s/x.ts", tmp);
    write_bytes(path, 1000, 3);
    assert_int_equal(eb_s3_put_file(&s3, "videos/forged/x.ts", path, NULL, err, sizeof(err)),
                     -EACCES);
    assert_non_null(strstr(err, "HTTP 403"));
    assert_non_null(strstr(err, "SignatureDoesNotMatch"));
    assert_int_equal(
        eb_s3_get(&good, "videos/forged/x.ts", &got, &len, NULL, NULL, 0, err, sizeof(err)),
        -ENOENT);
}

static void mkdirs(const char *path)
{
    char p[4300];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void put_text(const char *dir, const char *rel, const char *text)
{
    char p[8400];
    FILE *f;
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A tree goes up whole, with the manifests' types; when one object fails
 * (a name the server refuses, sorted after some media and after the
 * manifests by name), what went up is removed and no manifest was ever
 * sent: manifests go last. */
static void test_tree_whole_or_nothing(void **state)
{
    EbS3 s3;
    EbS3Stats st = {0};
    char dir[4300], deep[8400], err[512], ct[160], cc[160], *got;
    size_t len;
    (void)state;

    s3_open(&s3, "tree", 64 << 20);
    snprintf(dir, sizeof(dir), "%s/good", tmp);
    snprintf(deep, sizeof(deep), "%s/720p", dir);
    mkdirs(deep);
    put_text(dir, "master.m3u8", "#EXTM3U\n");
    put_text(dir, "manifest.mpd", "<MPD/>\n");
    put_text(dir, "720p/index.m3u8", "#EXTM3U\n");
    put_text(dir, "720p/segment_001.m4s", "media");
    assert_int_equal(eb_s3_put_tree(&s3, dir, "videos/good", &st, err, sizeof(err)), 0);
    assert_int_equal(st.objects, 4);
    assert_int_equal(
        eb_s3_get(&s3, "videos/good/master.m3u8", &got, &len, ct, cc, sizeof(ct), err, sizeof(err)),
        0);
    assert_string_equal(ct, "application/vnd.apple.mpegurl");
    assert_string_equal(cc, "public, max-age=60");
    free(got);
    assert_int_equal(eb_s3_get(&s3, "videos/good/manifest.mpd", &got, &len, ct, NULL, sizeof(ct),
                               err, sizeof(err)),
                     0);
    assert_string_equal(ct, "application/dash+xml");
    free(got);

    snprintf(dir, sizeof(dir), "%s/bad", tmp);
    mkdirs(dir);
    put_text(dir, "a_segment.m4s", "media");
    put_text(dir, "index.m3u8", "#EXTM3U\n");
    /* a key longer than the server takes (Swift: 1024 bytes), as a path of
     * folders, sorted after a_segment.m4s and index.m3u8 */
    snprintf(deep, sizeof(deep), "%s/z", dir);
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(deep);
        deep[n++] = '/';
        memset(deep + n, 'z', 240);
        deep[n + 240] = 0;
    }
    mkdirs(deep);
    put_text(deep, "last.m4s", "media");
    assert_true(eb_s3_put_tree(&s3, dir, "videos/bad", &st, err, sizeof(err)) < 0);
    assert_int_equal(
        eb_s3_get(&s3, "videos/bad/a_segment.m4s", &got, &len, NULL, NULL, 0, err, sizeof(err)),
        -ENOENT);
    assert_int_equal(
        eb_s3_get(&s3, "videos/bad/index.m3u8", &got, &len, NULL, NULL, 0, err, sizeof(err)),
        -ENOENT);
}

static int collect(void *opaque, const char *key)
{
    char *all = opaque;
    strcat(all, key);
    strcat(all, "\n");
    return 0;
}

/* Listing a tree's keys (what a re-publish prunes with): every key under
 * the prefix, and nothing of a sibling whose name starts the same. */
static void test_list(void **state)
{
    EbS3 s3;
    char dir[4300], deep[4400], err[512], all[4096] = "";
    (void)state;

    s3_open(&s3, "list", 64 << 20);
    snprintf(dir, sizeof(dir), "%s/listed", tmp);
    snprintf(deep, sizeof(deep), "%s/360p", dir);
    mkdirs(deep);
    put_text(dir, "master.m3u8", "#EXTM3U\n");
    put_text(dir, "360p/a b+c.m4s", "media");
    assert_int_equal(eb_s3_put_tree(&s3, dir, "videos/one", NULL, err, sizeof(err)), 0);
    assert_int_equal(eb_s3_put_tree(&s3, dir, "videos/one-more", NULL, err, sizeof(err)), 0);
    if (eb_s3_list(&s3, "videos/one/", collect, all, err, sizeof(err)) < 0)
        fail_msg("list: %s", err);
    assert_string_equal(all, "list/videos/one/360p/a b+c.m4s\nlist/videos/one/master.m3u8\n");

    /* a re-published version without the media file: the stale object
     * goes, the rest stays (and the sibling is untouched) */
    {
        char path[4500];
        int removed = -1;
        snprintf(path, sizeof(path), "%s/360p/a b+c.m4s", dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(eb_s3_put_tree(&s3, dir, "videos/one", NULL, err, sizeof(err)), 0);
        if (eb_s3_prune_tree(&s3, dir, "videos/one", &removed, err, sizeof(err)) < 0)
            fail_msg("prune: %s", err);
        assert_int_equal(removed, 1);
        all[0] = 0;
        assert_int_equal(eb_s3_list(&s3, "videos/", collect, all, err, sizeof(err)), 0);
        assert_string_equal(all, "list/videos/one-more/360p/a b+c.m4s\n"
                                 "list/videos/one-more/master.m3u8\n"
                                 "list/videos/one/master.m3u8\n");
    }
}

/* Credentials: the shared-credentials file must be the owner's only. */
/* A live window's copy (eb_s3_mirror.h): media by name, manifests as
 * they were when queued (a later rewrite of the file is not what goes up
 * unless queued again), removals after; a file pruned before it was sent is
 * skipped, not failed; closing sends what is queued. */
static void test_live_mirror(void **state)
{
    EbS3 s3, forged;
    EbS3Mirror *m = NULL;
    EbS3MirrorStats st;
    char dir[4300], err[512], ct[160], cc[160], *got;
    size_t len;
    (void)state;

    s3_open(&s3, "mirror", 64 << 20);
    snprintf(dir, sizeof(dir), "%s/window", tmp);
    mkdirs(dir);
    {
        char sub[4400];
        snprintf(sub, sizeof(sub), "%s/cmaf/v", dir);
        mkdirs(sub);
        snprintf(sub, sizeof(sub), "%s/hls/v", dir);
        mkdirs(sub);
    }
    put_text(dir, "cmaf/v/init.mp4", "init");
    put_text(dir, "cmaf/v/segment_001.m4s", "one");
    put_text(dir, "cmaf/v/segment_002.m4s", "two");
    put_text(dir, "hls/v/index.m3u8", "#EXTM3U\nsegment_001.m4s\n");
    assert_int_equal(eb_s3_mirror_open(&s3, dir, "live/news", 1, &m), 0);
    assert_int_equal(eb_s3_mirror_put(m, "cmaf/v/init.mp4"), 0);
    assert_int_equal(eb_s3_mirror_put(m, "cmaf/v/segment_001.m4s"), 0);
    assert_int_equal(eb_s3_mirror_put_manifest(m, "hls/v/index.m3u8"), 0);
    assert_int_equal(eb_s3_mirror_put(m, "cmaf/v/segment_002.m4s"), 0);
    put_text(dir, "hls/v/index.m3u8", "#EXTM3U\nsegment_002.m4s\n");
    assert_int_equal(eb_s3_mirror_put_manifest(m, "hls/v/index.m3u8"), 0);
    assert_int_equal(eb_s3_mirror_delete(m, "cmaf/v/segment_001.m4s"), 0);
    /* rewritten, not queued: the bucket keeps the snapshot queued last */
    put_text(dir, "hls/v/index.m3u8", "#EXTM3U\nnot-sent\n");
    /* queued, then pruned before it was sent */
    assert_int_equal(eb_s3_mirror_put(m, "cmaf/v/segment_009.m4s"), 0);
    assert_true(eb_s3_mirror_put_manifest(m, "hls/v/missing.m3u8") < 0);
    eb_s3_mirror_close(&m, 30, &st);
    assert_null(m);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.deleted, 1);
    assert_int_equal(st.queued, 0);
    /* init, two segments, the manifest once or twice (a newer snapshot
     * replaces one still waiting) */
    assert_true(st.objects == 4 || st.objects == 5);

    assert_int_equal(eb_s3_get(&s3, "live/news/hls/v/index.m3u8", &got, &len, ct, cc, sizeof(ct),
                               err, sizeof(err)),
                     0);
    assert_string_equal(got, "#EXTM3U\nsegment_002.m4s\n");
    assert_string_equal(ct, "application/vnd.apple.mpegurl");
    assert_string_equal(cc, "public, max-age=1");
    free(got);
    assert_int_equal(eb_s3_get(&s3, "live/news/cmaf/v/segment_002.m4s", &got, &len, NULL, NULL, 0,
                               err, sizeof(err)),
                     0);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "two", 3);
    free(got);
    assert_int_equal(
        eb_s3_get(&s3, "live/news/cmaf/v/init.mp4", &got, &len, NULL, NULL, 0, err, sizeof(err)),
        0);
    free(got);
    assert_int_equal(eb_s3_get(&s3, "live/news/cmaf/v/segment_001.m4s", &got, &len, NULL, NULL, 0,
                               err, sizeof(err)),
                     -ENOENT);
    assert_int_equal(eb_s3_get(&s3, "live/news/cmaf/v/segment_009.m4s", &got, &len, NULL, NULL, 0,
                               err, sizeof(err)),
                     -ENOENT);

    /* a bucket that refuses: counted as failed, and closing still returns */
    forged = s3;
    snprintf(forged.secret_key, sizeof(forged.secret_key), "not-the-secret");
    assert_int_equal(eb_s3_mirror_open(&forged, dir, "live/forged", 1, &m), 0);
    assert_int_equal(eb_s3_mirror_put(m, "cmaf/v/segment_002.m4s"), 0);
    assert_int_equal(eb_s3_mirror_put_manifest(m, "hls/v/index.m3u8"), 0);
    eb_s3_mirror_close(&m, 30, &st);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.objects, 0);
    assert_int_equal(
        eb_s3_get(&s3, "live/forged/hls/v/index.m3u8", &got, &len, NULL, NULL, 0, err, sizeof(err)),
        -ENOENT);
}

static void test_credentials_file_mode(void **state)
{
    EbS3 s3;
    char err[512];
    (void)state;
    chmod(creds, 0644);
    assert_int_equal(
        eb_s3_init(&s3, "http://127.0.0.1:1", "b", "", "", 1, 0, creds, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "make it 0600"));
    chmod(creds, 0600);
    assert_int_equal(
        eb_s3_init(&s3, "http://127.0.0.1:1", "b", "", "", 1, 0, creds, err, sizeof(err)), 0);
    assert_string_equal(s3.access_key, getenv("EB_S3_ACCESS_KEY"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_file_mode),
        cmocka_unit_test(test_put_get_small),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_wrong_secret_refused),
        cmocka_unit_test(test_tree_whole_or_nothing),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_live_mirror),
    };
    FILE *f;

    if (!getenv("EB_S3_ENDPOINT")) {
        fprintf(stderr, "test_object_store: no S3 server (run it through with-swift.sh)\n");
        return 77;
    }
    eb_test_tmpdir("s3", tmp, sizeof(tmp));
    snprintf(creds, sizeof(creds), "%s/credentials", tmp);
    f = fopen(creds, "w");
    assert_non_null(f);
    fprintf(f,
            "[other]\naws_access_key_id = nobody\n\n[default]\naws_access_key_id = %s\n"
            "aws_secret_access_key = %s\n",
            getenv("EB_S3_ACCESS_KEY"), getenv("EB_S3_SECRET_KEY"));
    fclose(f);
    chmod(creds, 0600);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
