/*
 * Content protection end to end (eb_cenc, the encrypting sink, the key
 * store, eb_vod's manifests), checked by independent readers:
 *
 *   slice headers  eb_avc_slice_header_size against ffmpeg's trace_headers
 *                  bitstream filter (its own H.264 syntax reader)
 *   cenc, cbcs     ffmpeg's mp4 demuxer with -decryption_key (it reads
 *                  senc per fragment) decodes every frame and audio frame
 *                  exactly as the same job unencrypted; a wrong key does not
 *   aes-128        each segment, decrypted with its playlist IV, is the
 *                  clear job's segment byte for byte
 *
 * ffmpeg 5.1's mov demuxer reads every moof of a seekable file before the
 * first packet and then decrypts with the last fragment's senc (fixed
 * upstream later), so the encrypted renditions are fed through a pipe,
 * where it reads fragment by fragment, as a player does.
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
#include <libavutil/aes.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/mem.h>

#include "eb_avc_slice.h"
#include "eb_cenc.h"
#include "eb_error.h"
#include "eb_keys.h"
#include "eb_test_media.h"
#include "eb_vod.h"

static char tmp[4096], src[4200];

static int run_job(const char *root, EbOutputFormat fmt, EbEncryptionScheme enc, EbVodResult *res)
{
    EbVodOptions o;

    eb_vod_options_default(&o);
    o.input = src;
    o.storage_root = root;
    o.video_id = "v";
    o.format = fmt;
    o.segment_seconds = 2;
    o.encryption = enc;
    o.thumbs.enabled = 0;
    return eb_vod_run(&o, res);
}

static int group_setup(void **state)
{
    static const struct {
        const char *dir;
        EbOutputFormat fmt;
        EbEncryptionScheme enc;
    } jobs[] = {
        {"clear", EB_FORMAT_CMAF, EB_ENCRYPT_NONE},
        {"cenc", EB_FORMAT_CMAF, EB_ENCRYPT_CENC},
        {"cbcs", EB_FORMAT_CMAF, EB_ENCRYPT_CBCS},
        {"clear_ts", EB_FORMAT_TS, EB_ENCRYPT_NONE},
        {"aes_ts", EB_FORMAT_TS, EB_ENCRYPT_AES128},
        {"aes_cmaf", EB_FORMAT_CMAF, EB_ENCRYPT_AES128},
    };
    (void)state;
    eb_test_tmpdir("encryption", tmp, sizeof(tmp));
    snprintf(src, sizeof(src), "%s/src.mp4", tmp);
    if (eb_test_ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=30,noise=alls=20:allf=t -f lavfi "
                       "-i sine=frequency=440:sample_rate=48000 -t 5 -c:v libx264 -pix_fmt yuv420p "
                       "-c:a aac -shortest %s",
                       src) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        char root[4300];
        EbVodResult res;
        int ret;
        snprintf(root, sizeof(root), "%s/%s", tmp, jobs[i].dir);
        ret = run_job(root, jobs[i].fmt, jobs[i].enc, &res);
        if (ret < 0) {
            fprintf(stderr, "job %s: %s %s\n", jobs[i].dir, eb_strerror(ret), res.error_detail);
            return -1;
        }
    }
    return 0;
}

/* The one key of job dir's video, from its key store. */
static void job_key(const char *dir, EbContentKey *key)
{
    char store[4300], path[4400];
    EbKeyProvider *kp = NULL;
    uint8_t kid[16];
    FILE *f;
    char line[64];

    snprintf(store, sizeof(store), "%s/%s/keys", tmp, dir);
    /* the key id is in the key store's one file name */
    snprintf(path, sizeof(path), "ls %s/v | sed 's/.json$//'", store);
    f = popen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    pclose(f);
    line[strcspn(line, "\n")] = 0;
    assert_int_equal(eb_key_unhex(line, kid), 0);
    assert_int_equal(eb_key_store_open(store, &kp), 0);
    assert_int_equal(kp->ops->get(kp, "v", kid, key), 0);
    eb_key_provider_free(&kp);
}

/* ffmpeg's framemd5 of a rendition ("0,..." lines only), read through a
 * pipe, with key_hex (NULL: clear): "<frames> <md5 of the lines>". */
static void rendition_md5(const char *dir, const char *r, const char *key_hex, char out[64])
{
    char cmd[30000];
    FILE *f;

    snprintf(cmd, sizeof(cmd),
             "cat %s/%s/videos/v/cmaf/%s/init.mp4 %s/%s/videos/v/cmaf/%s/segment_*.m4s | "
             "ffmpeg -v quiet %s%s -f mp4 -i pipe:0 -f framemd5 - 2>/dev/null | grep '^0,' > "
             "%s/fm.txt; echo $(wc -l < %s/fm.txt) $(md5sum < %s/fm.txt | cut -c1-32)",
             tmp, dir, r, tmp, dir, r, key_hex ? "-decryption_key " : "", key_hex ? key_hex : "",
             tmp, tmp, tmp);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, 64, f));
    pclose(f);
    out[strcspn(out, "\n")] = 0;
}

static void check_decrypts_frame_exact(const char *dir)
{
    static const char *const rends[] = {"360p", "audio"};
    EbContentKey key;
    char hex[33], wrong[33], clear[64], got[64], bad[64];

    job_key(dir, &key);
    eb_key_hex(key.k.key, hex);
    snprintf(wrong, sizeof(wrong), "%s", hex);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    for (int i = 0; i < 2; i++) {
        rendition_md5("clear", rends[i], NULL, clear);
        /* a real decode: 150 video frames, 234 AAC frames */
        assert_true(atoi(clear) >= 150);
        rendition_md5(dir, rends[i], hex, got);
        if (strcmp(got, clear))
            fprintf(stderr, "%s %s: decrypted %s, clear %s\n", dir, rends[i], got, clear);
        assert_string_equal(got, clear);
        rendition_md5(dir, rends[i], wrong, bad);
        assert_string_not_equal(bad, clear);
    }
}

static void test_cenc_decrypts_frame_exact(void **state)
{
    (void)state;
    check_decrypts_frame_exact("cenc");
}

static void test_cbcs_decrypts_frame_exact(void **state)
{
    (void)state;
    check_decrypts_frame_exact("cbcs");
}

/* The mdat payload of a segment file (one fragment: VOD segments are). */
static const uint8_t *mdat_of(const uint8_t *b, size_t n, size_t *size)
{
    for (size_t pos = 0; pos + 8 <= n;) {
        uint32_t sz = AV_RB32(b + pos);
        if (sz < 8 || pos + sz > n)
            return NULL;
        if (AV_RB32(b + pos + 4) == MKBETAG('m', 'd', 'a', 't')) {
            *size = sz - 8;
            return b + pos + 8;
        }
        pos += sz;
    }
    return NULL;
}

/* Walks the NAL units of clear and encrypted media side by side (the
 * length prefixes are never encrypted): headers and non-VCL units equal,
 * every slice's data past its header encrypted. cbcs encrypts the first
 * block of every ten. */
static void check_slices_protected(const char *dir, int cbcs)
{
    EbAvcParams *params = av_mallocz(sizeof(*params));
    int64_t slices = 0, protected_bytes = 0, same = 0;

    assert_non_null(params);
    {
        /* the parameter sets are in the init section's avcC */
        char path[4400];
        size_t n, pos;
        uint8_t *init;
        const uint8_t *c;
        snprintf(path, sizeof(path), "%s/clear/videos/v/cmaf/360p/init.mp4", tmp);
        init = eb_test_slurp(path, &n);
        assert_non_null(init);
        c = memmem(init, n, "avcC", 4);
        assert_non_null(c);
        c += 4;
        pos = 6;
        for (int set = 0; set < 2; set++) {
            int nb = set == 0 ? (c[5] & 0x1f) : c[pos++];
            for (int i = 0; i < nb; i++) {
                size_t len = AV_RB16(c + pos);
                assert_int_equal(eb_avc_parse_param_set(params, c + pos + 2, len), 0);
                pos += 2 + len;
            }
        }
        free(init);
    }
    for (int seg = 1; seg <= 3; seg++) {
        char a[4400], b[4400];
        size_t na, nb, ma, mb;
        uint8_t *ca, *cb;
        const uint8_t *pa, *pb;
        snprintf(a, sizeof(a), "%s/clear/videos/v/cmaf/360p/segment_%03d.m4s", tmp, seg);
        snprintf(b, sizeof(b), "%s/%s/videos/v/cmaf/360p/segment_%03d.m4s", tmp, dir, seg);
        ca = eb_test_slurp(a, &na);
        cb = eb_test_slurp(b, &nb);
        assert_non_null(ca);
        assert_non_null(cb);
        pa = mdat_of(ca, na, &ma);
        pb = mdat_of(cb, nb, &mb);
        assert_non_null(pa);
        assert_non_null(pb);
        assert_int_equal(ma, mb);
        for (size_t pos = 0; pos + 4 < ma;) {
            size_t len = AV_RB32(pa + pos);
            int type = pa[pos + 4] & 0x1f;
            assert_int_equal(AV_RB32(pb + pos), len);
            assert_true(pos + 4 + len <= ma);
            if (type == 7 || type == 8)
                assert_int_equal(eb_avc_parse_param_set(params, pa + pos + 4, len), 0);
            if (type == 1 || type == 5) {
                int hdr = eb_avc_slice_header_size(params, pa + pos + 4, len);
                size_t rest, start;
                assert_true(hdr > 0);
                /* header clear */
                assert_memory_equal(pa + pos + 4, pb + pos + 4, (size_t)hdr);
                rest = len - (size_t)hdr;
                start = pos + 4 + (size_t)hdr + rest % 16;
                for (size_t k = start; k < pos + 4 + len; k += cbcs ? 160 : 1) {
                    size_t blk = cbcs ? 16 : 1;
                    if (k + blk > pos + 4 + len)
                        break;
                    protected_bytes += (int64_t)blk;
                    same += !memcmp(pa + k, pb + k, blk);
                }
                slices++;
            } else {
                assert_memory_equal(pa + pos, pb + pos, 4 + len);
            }
            pos += 4 + len;
        }
        free(ca);
        free(cb);
    }
    av_free(params);
    fprintf(stderr, "%s: %lld slices, %lld protected bytes checked, %lld equal\n", dir,
            (long long)slices, (long long)protected_bytes, (long long)same);
    assert_true(slices >= 150);
    assert_true(protected_bytes > 10000);
    /* ciphertext equals plaintext by chance: 1/256 a byte, ~0 a block */
    assert_true(same * 100 < protected_bytes * (cbcs ? 1 : 2));
}

static void test_cenc_no_slice_data_in_clear(void **state)
{
    (void)state;
    check_slices_protected("cenc", 0);
}

static void test_cbcs_pattern_encrypts_every_tenth_block(void **state)
{
    (void)state;
    check_slices_protected("cbcs", 1);
}

/* Where the key is and is not: 0600 store, 0700 folders, the key bytes in
 * no published file, the key id in the init section (tenc, pssh) and in
 * the MPD (default_KID). */
static void test_key_kept_out_of_the_tree(void **state)
{
    EbContentKey key;
    char hex[33], kid[33], uuid[37], path[4400], cmd[9000];
    struct stat st;
    uint8_t *init, *mpd;
    size_t n, nm;
    (void)state;

    job_key("cenc", &key);
    eb_key_hex(key.k.key, hex);
    eb_key_hex(key.k.kid, kid);
    eb_key_uuid(key.k.kid, uuid);
    snprintf(path, sizeof(path), "%s/cenc/keys/v/%s.json", tmp, kid);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/cenc/keys", tmp);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* neither as hex nor as bytes anywhere in the published tree */
    snprintf(cmd, sizeof(cmd), "grep -rqi %s %s/cenc/videos", hex, tmp);
    assert_int_not_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/cenc/videos/v/cmaf/360p/init.mp4", tmp);
    init = eb_test_slurp(path, &n);
    assert_non_null(init);
    assert_null(memmem(init, n, key.k.key, 16));
    assert_non_null(memmem(init, n, key.k.kid, 16));
    assert_non_null(memmem(init, n, "encv", 4));
    assert_non_null(memmem(init, n, "pssh", 4));
    assert_non_null(memmem(init, n, eb_cenc_common_system_id, 16));
    free(init);
    snprintf(path, sizeof(path), "%s/cenc/videos/v/dash/manifest.mpd", tmp);
    mpd = eb_test_slurp(path, &nm);
    assert_non_null(mpd);
    assert_non_null(memmem(mpd, nm, uuid, strlen(uuid)));
    assert_non_null(memmem(mpd, nm, "value=\"cenc\"", 12));
    assert_non_null(memmem(mpd, nm, "ClearKey1.0", 11));
    /* no public base URL: no Laurl a player would resolve against its page */
    assert_null(memmem(mpd, nm, "Laurl", 5));
    free(mpd);
}

/* aes-128: each segment decrypts with the playlist's IV to the clear TS
 * job's bytes; a wrong key does not. */
static void test_aes128_ts_segments_decrypt(void **state)
{
    EbContentKey key;
    char path[4400], line[512];
    FILE *f;
    int seg = 0;
    struct AVAES *aes = av_aes_alloc();
    (void)state;

    assert_non_null(aes);
    job_key("aes_ts", &key);
    snprintf(path, sizeof(path), "%s/aes_ts/videos/v/hls/360p/index.m3u8", tmp);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        const char *ivs = strstr(line, ",IV=0x");
        uint8_t iv[16], iv2[16], *enc, *clear, *dec;
        char hex[33], a[4400], b[4400];
        size_t ne, nc;
        if (!strncmp(line, "#EXT-X-KEY:", 11))
            assert_non_null(strstr(line, "METHOD=AES-128,URI=\"../../keys/"));
        if (!ivs)
            continue;
        seg++;
        snprintf(hex, sizeof(hex), "%.32s", ivs + 6);
        assert_int_equal(eb_key_unhex(hex, iv), 0);
        snprintf(a, sizeof(a), "%s/aes_ts/videos/v/hls/360p/segment_%03d.ts", tmp, seg);
        snprintf(b, sizeof(b), "%s/clear_ts/videos/v/hls/360p/segment_%03d.ts", tmp, seg);
        enc = eb_test_slurp(a, &ne);
        clear = eb_test_slurp(b, &nc);
        assert_non_null(enc);
        assert_non_null(clear);
        assert_int_equal(ne, (nc / 16 + 1) * 16);
        dec = malloc(ne);
        assert_non_null(dec);
        memcpy(iv2, iv, 16);
        av_aes_init(aes, key.k.key, 128, 1);
        av_aes_crypt(aes, dec, enc, (int)(ne / 16), iv2, 1);
        assert_int_equal(dec[ne - 1], ne - nc); /* PKCS#7 */
        assert_memory_equal(dec, clear, nc);
        key.k.key[0] ^= 1;
        memcpy(iv2, iv, 16);
        av_aes_init(aes, key.k.key, 128, 1);
        av_aes_crypt(aes, dec, enc, (int)(ne / 16), iv2, 1);
        assert_memory_not_equal(dec, clear, 188);
        key.k.key[0] ^= 1;
        free(dec);
        free(enc);
        free(clear);
    }
    fclose(f);
    av_free(aes);
    assert_int_equal(seg, 3);
}

/* aes-128 over CMAF: HLS only (no MPD), init section clear. */
static void test_aes128_cmaf_is_hls_only(void **state)
{
    char path[4400];
    (void)state;
    snprintf(path, sizeof(path), "%s/aes_cmaf/videos/v/dash/manifest.mpd", tmp);
    assert_false(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/aes_cmaf/videos/v/hls/master.m3u8", tmp);
    assert_true(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/aes_cmaf/videos/v/cmaf/360p/init.mp4", tmp);
    {
        size_t n;
        uint8_t *b = eb_test_slurp(path, &n);
        assert_non_null(b);
        assert_non_null(memmem(b, n, "avc1", 4));
        free(b);
    }
}


/* Damaged input never crashes the rewriter: every truncation of a real
 * segment, and bytes flipped across its boxes, give an error or a
 * rewritten fragment, never a read past the buffer (ASan/valgrind-clean). */
static void test_damaged_fragments_refused(void **state)
{
    char path[4400], detail[256];
    uint8_t *init, *seg, *out, *copy;
    size_t ni, ns, no;
    EbCencTrack *t = NULL;
    EbCencKey key = {{1}, {2}, {3}};
    int refused = 0;
    (void)state;

    snprintf(path, sizeof(path), "%s/clear/videos/v/cmaf/360p/init.mp4", tmp);
    init = eb_test_slurp(path, &ni);
    snprintf(path, sizeof(path), "%s/clear/videos/v/cmaf/360p/segment_001.m4s", tmp);
    seg = eb_test_slurp(path, &ns);
    assert_non_null(init);
    assert_non_null(seg);
    /* init sections: truncated ones are refused */
    for (size_t n = 0; n < ni; n += 7) {
        if (eb_cenc_track_open(EB_CENC_SCHEME_CENC, &key, init, n, &t, detail, sizeof(detail)) == 0)
            eb_cenc_track_free(&t);
    }
    assert_int_equal(eb_cenc_track_open(EB_CENC_SCHEME_CENC, &key, init, ni, &t, detail,
                                        sizeof(detail)),
                     0);
    copy = malloc(ns);
    assert_non_null(copy);
    for (size_t n = 0; n < ns; n += n < 4096 ? 1 : 997) {
        memcpy(copy, seg, n);
        if (eb_cenc_track_fragment(t, copy, n, &out, &no) < 0)
            refused++;
        else
            av_free(out);
    }
    for (size_t at = 0; at < 4096 && at < ns; at++) {
        memcpy(copy, seg, ns);
        copy[at] ^= 0xff;
        if (eb_cenc_track_fragment(t, copy, ns, &out, &no) == 0)
            av_free(out);
    }
    assert_true(refused > 100);
    free(copy);
    free(init);
    free(seg);
    eb_cenc_track_free(&t);
}

/* cenc/cbcs need CMAF and H.264; refused before any work, nothing kept. */
static void test_refusals(void **state)
{
    char root[4300];
    EbVodResult res;
    (void)state;
    snprintf(root, sizeof(root), "%s/refused", tmp);
    assert_int_equal(run_job(root, EB_FORMAT_TS, EB_ENCRYPT_CENC, &res), EB_ERR_BAD_OPTION);
    assert_non_null(strstr(res.error_detail, "use format cmaf"));
    assert_false(eb_test_exists(root));
}

/* The slice header length against ffmpeg's own H.264 syntax reader
 * (trace_headers): CABAC with B-frames, weighted prediction and slices;
 * CAVLC baseline; interlaced (field) coding. */
static void check_slice_headers(const char *x264_params, const char *extra)
{
    char h264[4400], cmd[9000], line[512];
    uint8_t *b;
    size_t n, pos = 0;
    EbAvcParams *params = av_mallocz(sizeof(*params));
    int expect[2048], nb_expect = 0, last_end = -1, in_slice = 0, checked = 0;
    FILE *f;

    assert_non_null(params);
    snprintf(h264, sizeof(h264), "%s/t.h264", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -t 1.2 -c:v "
                                    "libx264 %s -x264-params %s %s",
                                    extra, x264_params, h264),
                     0);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v info -i %s -c copy -bsf:v trace_headers -f null - 2>&1 | "
             "grep trace_headers | sed 's/^[^]]*] //'",
             h264);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        int p;
        char name[128], bits[128];
        if (!strncmp(line, "Slice Header", 12) || !strncmp(line, "Sequence", 8) ||
            !strncmp(line, "Picture", 7) || !strncmp(line, "Supplemental", 12) ||
            !strncmp(line, "Access Unit", 11) || !strncmp(line, "Packet", 6)) {
            if (in_slice && nb_expect < 2048)
                expect[nb_expect++] = (last_end + 7) / 8;
            in_slice = !strncmp(line, "Slice Header", 12);
            continue;
        }
        if (in_slice && sscanf(line, "%d %127s %127s =", &p, name, bits) == 3)
            last_end = p + (int)strlen(bits);
    }
    if (in_slice && nb_expect < 2048)
        expect[nb_expect++] = (last_end + 7) / 8;
    pclose(f);
    assert_true(nb_expect >= 20);

    b = eb_test_slurp(h264, &n);
    assert_non_null(b);
    /* Annex B: start codes; NAL units between them */
    while (pos + 3 < n) {
        size_t s, e;
        if (!(b[pos] == 0 && b[pos + 1] == 0 && b[pos + 2] == 1)) {
            pos++;
            continue;
        }
        s = pos + 3;
        for (e = s;
             e + 3 <= n && !(b[e] == 0 && b[e + 1] == 0 &&
                             (b[e + 2] == 1 || (b[e + 2] == 0 && e + 3 < n && b[e + 3] == 1)));
             e++)
            ;
        if (e + 3 > n)
            e = n;
        {
            int type = b[s] & 0x1f;
            if (type == 7 || type == 8)
                assert_int_equal(eb_avc_parse_param_set(params, b + s, e - s), 0);
            if (type == 1 || type == 5) {
                int got = eb_avc_slice_header_size(params, b + s, e - s);
                int escapes = 0;
                assert_true(checked < nb_expect);
                for (int k = 2; k < got; k++)
                    escapes += b[s + k] == 3 && b[s + k - 1] == 0 && b[s + k - 2] == 0;
                if (got - escapes != expect[checked])
                    fprintf(stderr, "slice %d: %d bytes (%d escapes), trace_headers says %d\n",
                            checked, got, escapes, expect[checked]);
                assert_int_equal(got - escapes, expect[checked]);
                checked++;
            }
        }
        pos = e;
    }
    assert_int_equal(checked, nb_expect);
    free(b);
    av_free(params);
}

static void test_slice_headers_match_trace_headers(void **state)
{
    (void)state;
    check_slice_headers("slices=3:bframes=3:weightp=2:b-pyramid=normal:ref=4", "");
    check_slice_headers("cabac=0:bframes=0:ref=2", "-profile:v baseline");
    check_slice_headers("slices=2:bframes=2:weightb=1", "-flags +ildct -top 1");
    check_slice_headers("bframes=2:b-adapt=2", "-x264opts interlaced=1:tff=1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_headers_match_trace_headers),
        cmocka_unit_test(test_cenc_decrypts_frame_exact),
        cmocka_unit_test(test_cbcs_decrypts_frame_exact),
        cmocka_unit_test(test_cenc_no_slice_data_in_clear),
        cmocka_unit_test(test_cbcs_pattern_encrypts_every_tenth_block),
        cmocka_unit_test(test_key_kept_out_of_the_tree),
        cmocka_unit_test(test_aes128_ts_segments_decrypt),
        cmocka_unit_test(test_aes128_cmaf_is_hls_only),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_damaged_fragments_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
