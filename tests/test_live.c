/*
 * Live runs (pipelines/eb_live.h) through `encbox live`, fed by a real
 * ffmpeg over a pipe: the window slides and carries program date-times,
 * the channel's end closes the playlists, the recording is a video over
 * the same files, a timestamp jump in the feed does not stretch time, and
 * the window's arithmetic.
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

#include "eb_live.h"
#include "eb_source.h"
#include "eb_test_media.h"

static const char *eb_bin(void)
{
    const char *b = getenv("EB_BINARY");
    return b ? b : "encbox";
}

/* ffmpeg's generated feed (seconds long, pts offset by offset s) piped
 * into encbox live with extra options. Returns the exit status. */
static int eb_live_cli(const char *root, const char *feed, const char *options)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "bash -o pipefail -c '(%s) | %s live cam1 -o %s -q %s'", feed,
             eb_bin(), root, options);
    return system(cmd) == 0 ? 0 : -1;
}

#define EB_FEED(seconds, offset)                                                                   \
    "ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi "      \
    "-i sine=frequency=440 -t " #seconds " -c:v libx264 -preset ultrafast -g 25 -c:a aac "         \
    "-output_ts_offset " #offset " -f mpegts -"

static void test_window_start(void **state)
{
    const int64_t d[] = {2, 2, 2, 2, 2, 2};
    (void)state;
    /* The newest segments that fit the window... */
    assert_int_equal(eb_live_window_start(d, 6, 6, 3), 3);
    assert_int_equal(eb_live_window_start(d, 6, 7, 3), 3);
    assert_int_equal(eb_live_window_start(d, 6, 8, 3), 2);
    /* ...never fewer than the minimum, nor more than there are. */
    assert_int_equal(eb_live_window_start(d, 6, 1, 3), 3);
    assert_int_equal(eb_live_window_start(d, 2, 100, 3), 0);
    assert_int_equal(eb_live_window_start(d, 6, 100, 3), 0);
}

/* A measured or declared rate snaps to the nearest common one: a 30 fps
 * feed stays 30/1 (not 30000/1001, 0.1% away), 29.97 stays NTSC. */
static void test_snap_rate_picks_nearest(void **state)
{
    static const struct {
        double fps;
        int num, den;
    } cases[] = {{30.0, 30, 1},           {29.97, 30000, 1001}, {30.02, 30, 1},
                 {29.96, 30000, 1001},    {24.0, 24, 1},        {23.976, 24000, 1001},
                 {60.0, 60, 1},           {59.94, 60000, 1001}, {25.1, 25, 1},
                 {15.0, 15, 1},           {12.5, 25, 2}};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        AVRational r = eb_source_snap_rate(cases[i].fps);
        if (r.num != cases[i].num || r.den != cases[i].den)
            fail_msg("%.3f fps snapped to %d/%d, wanted %d/%d", cases[i].fps, r.num, r.den,
                     cases[i].num, cases[i].den);
    }
}

static void test_live_window_and_recording(void **state)
{
    char root[1024], path[1400];
    char *m;
    size_t len = 0;
    int nb = 0;
    double total = 0;
    struct stat st;
    (void)state;

    eb_test_tmpdir("live-rec", root, sizeof(root));
    assert_int_equal(
        eb_live_cli(root, EB_FEED(12, 0), "--segment 1 --window 4 --recording-id rec1"), 0);
    /* The window: the newest ~4 s, numbered by the channel's sequence. */
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "#EXT-X-PROGRAM-DATE-TIME:2"));
    assert_non_null(strstr(m, "#EXT-X-ENDLIST")); /* the feed's end ended the channel */
    assert_null(strstr(m, "PLAYLIST-TYPE"));
    assert_null(strstr(m, "segment_001.m4s"));
    assert_non_null(strstr(m, "segment_012.m4s"));
    assert_int_equal(eb_test_playlist(path, &nb, &total), 0);
    assert_in_range(nb, 3, 5);
    {
        const char *seq = strstr(m, "#EXT-X-MEDIA-SEQUENCE:");
        assert_non_null(seq);
        assert_int_equal(atoi(seq + 22), 13 - nb);
    }
    free(m);
    snprintf(path, sizeof(path), "%s/live/cam1/dash/manifest.mpd", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    /* The feed's end ended the session: static, where it stops. */
    assert_non_null(strstr(m, "type=\"static\""));
    assert_non_null(strstr(m, "availabilityStartTime="));
    assert_non_null(strstr(m, "mediaPresentationDuration="));
    free(m);

    /* The recording: the whole run as a VOD over the same bytes. */
    snprintf(path, sizeof(path), "%s/videos/rec1/hls/360p/index.m3u8", root);
    assert_int_equal(eb_test_playlist(path, &nb, &total), 0);
    assert_int_equal(nb, 12);
    /* Every one of the feed's 300 frames, the last one included. */
    if (fabs(total - 12.0) > 0.001)
        fail_msg("the recording lasts %.4f s, the feed 12 s", total);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(strstr(m, "#EXT-X-PLAYLIST-TYPE:VOD"));
    free(m);
    snprintf(path, sizeof(path), "%s/videos/rec1/cmaf/360p/segment_001.m4s", root);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((int)st.st_nlink, 2); /* a link to the channel's file, not a copy */
    snprintf(path, sizeof(path), "%s/videos/rec1/dash/manifest.mpd", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "type=\"static\""));
    free(m);
    /* Its manifests say what its bytes hold, audio (edit list and all) and
     * video, to a microsecond. */
    {
        char why[512];
        snprintf(path, sizeof(path), "%s/videos/rec1", root);
        if (eb_test_check_timeline(path, "audio", "audio", why, sizeof(why)) < 0 ||
            eb_test_check_timeline(path, "360p", "video", why, sizeof(why)) < 0)
            fail_msg("%s", why);
    }
    /* Nothing left half-built, and the recording is the only video. */
    snprintf(path, sizeof(path), "%s/.staging", root);
    assert_int_equal(eb_test_dir_entries(path), 0);
    snprintf(path, sizeof(path), "%s/videos", root);
    assert_int_equal(eb_test_dir_entries(path), 1);
}

/* Concatenates rendition r's part files of segment seq (0, 1, ... until
 * one is missing) and compares them with the segment file. The number of
 * parts, or -1 when they differ. */
static int parts_make_segment(const char *root, const char *r, int seq)
{
    char path[1400];
    size_t seg_len = 0, off = 0;
    uint8_t *seg;
    int k;

    snprintf(path, sizeof(path), "%s/live/cam1/cmaf/%s/segment_%03d.m4s", root, r, seq);
    seg = eb_test_slurp(path, &seg_len);
    if (!seg)
        return -1;
    for (k = 0;; k++) {
        size_t len = 0;
        uint8_t *part;
        snprintf(path, sizeof(path), "%s/live/cam1/cmaf/%s/segment_%03d.%d.m4s", root, r, seq, k);
        part = eb_test_slurp(path, &len);
        if (!part)
            break;
        if (off + len > seg_len || memcmp(seg + off, part, len)) {
            free(part);
            free(seg);
            return -1;
        }
        off += len;
        free(part);
    }
    free(seg);
    return off == seg_len ? k : -1;
}

/* Low latency (the default): every segment is written as parts too, the
 * parts' bytes are the segment's, and the playlist lists the newest
 * segments' parts (each at most the part target, the first of each
 * segment independent) with the LL-HLS tags. */
static void test_live_low_latency_parts(void **state)
{
    char root[1024], path[1400];
    const char *renditions[] = {"360p", "audio"};
    size_t len = 0;
    char *m, *p;
    int parts = 0, independent = 0;
    (void)state;

    eb_test_tmpdir("live-ll", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(8, 0), "--segment 2 --window 30"), 0);
    for (int r = 0; r < 2; r++)
        for (int seq = 1; seq <= 4; seq++) {
            int n = parts_make_segment(root, renditions[r], seq);
            if (n < 6)
                fail_msg("%s segment %d: %d parts (-1: not its bytes)", renditions[r], seq, n);
        }
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "#EXT-X-VERSION:9\n"));
    assert_non_null(strstr(m, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002,"
                              "CAN-SKIP-UNTIL=12\n"));
    assert_non_null(strstr(m, "#EXT-X-PART-INF:PART-TARGET=0.33400\n"));
    /* 25 fps: parts of 8 frames (0.32 s), the last of a segment 2 frames. */
    for (p = m; (p = strstr(p, "#EXT-X-PART:DURATION=")) != NULL; p++) {
        double d = atof(p + 21);
        char uri[256];
        const char *u = strstr(p, "URI=\"");
        assert_non_null(u);
        assert_true(d > 0 && d <= 0.334);
        sscanf(u + 5, "%255[^\"]", uri);
        snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/%s", root, uri);
        assert_true(eb_test_exists(path));
        independent += strncmp(strchr(u + 5, '"'), "\",INDEPENDENT=YES", 17) == 0;
        parts++;
    }
    /* The newest three segments' parts, of 4, and only the first of each
     * segment starts with an IDR. */
    assert_int_equal(parts, 3 * 7);
    assert_int_equal(independent, 3);
    assert_null(strstr(m, "segment_001.0.m4s"));
    assert_non_null(strstr(m, "#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=4,"));
    /* The feed ended the channel: nothing more to hint at. */
    assert_null(strstr(m, "PRELOAD-HINT"));
    free(m);

    /* Classic playlists only: no part files, no LL tags. */
    eb_test_tmpdir("live-noll", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(4, 0), "--segment 2 --no-low-latency"), 0);
    snprintf(path, sizeof(path), "%s/live/cam1/cmaf/360p/segment_001.0.m4s", root);
    assert_false(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_null(strstr(m, "#EXT-X-PART"));
    assert_null(strstr(m, "SERVER-CONTROL"));
    free(m);
}

static void test_live_without_recording_deletes_old_segments(void **state)
{
    char root[1024], path[1400];
    (void)state;

    eb_test_tmpdir("live-norec", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(14, 0), "--segment 1 --window 3 --no-record"), 0);
    snprintf(path, sizeof(path), "%s/live/cam1/cmaf/360p/segment_001.m4s", root);
    assert_false(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/live/cam1/cmaf/360p/segment_014.m4s", root);
    assert_true(eb_test_exists(path));
    snprintf(path, sizeof(path), "%s/videos", root);
    assert_int_equal(eb_test_dir_entries(path), 0);
}

static void test_live_timestamp_jump_keeps_time(void **state)
{
    char root[1024], path[1400];
    int nb = 0;
    double total = 0;
    (void)state;

    /* Two encoder sessions back to back, the second 500 s later in
     * timestamps (a restarted publisher): media time continues. */
    eb_test_tmpdir("live-jump", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(5, 0) "; " EB_FEED(5, 500),
                                 "--segment 1 --window 30 --recording-id jump"),
                     0);
    snprintf(path, sizeof(path), "%s/videos/jump/hls/360p/index.m3u8", root);
    assert_int_equal(eb_test_playlist(path, &nb, &total), 0);
    assert_true(total > 9.0 && total < 11.5);
}

static int count_str(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A publisher drops and comes back: the second run continues the session
 * (numbering on from 7 after a discontinuity, a second DASH Period), the
 * session ends later without a feed, and the recording holds both runs. A
 * later session numbers on, so no name is ever reused. */
/* The EXT-X-PROGRAM-DATE-TIME lines of playlist m, one per line, into out. */
static void dates_of(const char *m, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = m; (p = strstr(p, "#EXT-X-PROGRAM-DATE-TIME:")); p++) {
        size_t l = strcspn(p, "\n");
        if (n + l + 2 > size)
            break;
        memcpy(out + n, p, l);
        n += l;
        out[n++] = '\n';
        out[n] = '\0';
    }
}

static void test_live_reconnect_continues_session(void **state)
{
    char root[1024], path[1400], cmd[2048], window_dates[256], rec_dates[256];
    char *m;
    size_t len = 0;
    int nb = 0;
    double total = 0;
    (void)state;

    eb_test_tmpdir("live-reconnect", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(6, 0), "--segment 1 --window 30 --no-end"), 0);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_null(strstr(m, "#EXT-X-ENDLIST")); /* left open for a reconnect */
    free(m);
    snprintf(path, sizeof(path), "%s/videos", root);
    assert_int_equal(eb_test_dir_entries(path), 0);

    assert_int_equal(
        eb_live_cli(root, EB_FEED(5, 0), "--segment 1 --window 30 --no-end --continue"), 0);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(strstr(m, "#EXT-X-MEDIA-SEQUENCE:1\n"));
    assert_int_equal(count_str(m, "#EXT-X-DISCONTINUITY\n"), 1);
    /* The break sits before the second run's first segment, dated again. */
    assert_non_null(strstr(m, "segment_006.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:"));
    assert_non_null(strstr(m, "segment_011.m4s"));
    assert_null(strstr(m, "#EXT-X-ENDLIST"));
    dates_of(m, window_dates, sizeof(window_dates));
    assert_int_equal(count_str(window_dates, "\n"), 2);
    free(m);
    snprintf(path, sizeof(path), "%s/live/cam1/dash/manifest.mpd", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_int_equal(count_str(m, "<Period "), 2);
    assert_non_null(strstr(m, "startNumber=\"7\""));
    assert_non_null(strstr(m, "type=\"dynamic\"")); /* still live */
    assert_non_null(strstr(m, "timeShiftBufferDepth="));
    free(m);

    /* The publisher stayed away: the session ends without a feed. */
    snprintf(cmd, sizeof(cmd), "%s live cam1 -o %s -q --finish --recording-id both", eb_bin(),
             root);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(strstr(m, "#EXT-X-ENDLIST"));
    free(m);
    snprintf(path, sizeof(path), "%s/videos/both/hls/360p/index.m3u8", root);
    assert_int_equal(eb_test_playlist(path, &nb, &total), 0);
    assert_int_equal(nb, 11);
    assert_true(total > 10.0 && total < 12.0); /* the time away is not in it */
    m = (char *)eb_test_slurp(path, &len);
    assert_int_equal(count_str(m, "#EXT-X-DISCONTINUITY\n"), 1);
    assert_non_null(strstr(m, "#EXT-X-ENDLIST"));
    /* each run keeps its date on the live clock (chat replays by it), though
     * the runs are placed end to end */
    dates_of(m, rec_dates, sizeof(rec_dates));
    assert_string_equal(rec_dates, window_dates);
    free(m);
    snprintf(path, sizeof(path), "%s/videos/both/dash/manifest.mpd", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_int_equal(count_str(m, "<Period "), 2);
    free(m);
    /* A second --finish has nothing to do. */
    assert_int_equal(system(cmd), 0);

    /* A new session: a fresh window, numbered on from 12. */
    assert_int_equal(eb_live_cli(root, EB_FEED(3, 0), "--segment 1 --window 30 --no-record"), 0);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(strstr(m, "#EXT-X-MEDIA-SEQUENCE:12\n"));
    assert_null(strstr(m, "#EXT-X-DISCONTINUITY"));
    free(m);
}

/* A feed that comes back at another size cannot continue the session (its
 * renditions differ): the open session ends and is recorded, and the new
 * run starts a new session. */
static void test_live_changed_feed_starts_new_session(void **state)
{
    char root[1024], path[1400];
    char *m;
    size_t len = 0;
    (void)state;

    eb_test_tmpdir("live-changed", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(4, 0), "--segment 1 --window 30 --no-end"), 0);
    assert_int_equal(eb_live_cli(root,
                                 "ffmpeg -hide_banner -loglevel error -f lavfi -i "
                                 "testsrc2=size=320x240:rate=25 -t 3 -c:v libx264 -preset "
                                 "ultrafast -g 25 -an -f mpegts -",
                                 "--segment 1 --window 30 --continue --recording-id second"),
                     0);
    snprintf(path, sizeof(path), "%s/videos", root);
    assert_int_equal(eb_test_dir_entries(path), 2); /* the first session's, then this one */
    snprintf(path, sizeof(path), "%s/live/cam1/hls/master.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(strstr(m, "240p"));
    assert_null(strstr(m, "360p"));
    free(m);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/240p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(strstr(m, "#EXT-X-MEDIA-SEQUENCE:5\n"));
    assert_null(strstr(m, "#EXT-X-DISCONTINUITY"));
    free(m);
}

/* A protected channel (issue 16): parts and segments encrypted with the
 * channel's key (the segment still its parts), the live playlists and MPD
 * say so, the recording carries the key under its own id and decrypts
 * frame for frame with ffmpeg; a second session keeps the key; aes-128
 * refuses parts and, without them, gives each segment its IV. */
static void test_live_encrypted(void **state)
{
    char root[1024], path[1500], cmd[4096], line[256], rec[256] = "", kid[40] = "", key[40] = "";
    size_t len = 0;
    char *m;
    FILE *f;
    (void)state;

    eb_test_tmpdir("live-enc", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(6, 0), "--segment 2 --window 30 --encrypt cenc"), 0);
    assert_true(parts_make_segment(root, "360p", 1) >= 6);
    assert_true(parts_make_segment(root, "audio", 2) >= 6);
    snprintf(path, sizeof(path), "%s/live/cam1/cmaf/360p/init.mp4", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(memmem(m, len, "encv", 4));
    assert_non_null(memmem(m, len, "pssh", 4));
    free(m);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI=\"../../keys/"));
    free(m);
    snprintf(path, sizeof(path), "%s/live/cam1/dash/manifest.mpd", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "value=\"cenc\" cenc:default_KID=\""));
    free(m);
    /* the channel's one key, and the recording's copy of it */
    snprintf(cmd, sizeof(cmd), "ls %s/keys/cam1; ls %s/videos", root, root);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(kid, sizeof(kid), f));
    assert_non_null(fgets(rec, sizeof(rec), f));
    pclose(f);
    kid[strcspn(kid, ".")] = 0;
    rec[strcspn(rec, "\n")] = 0;
    assert_int_equal(strlen(kid), 32);
    snprintf(path, sizeof(path), "%s/keys/%s/%s.json", root, rec, kid);
    assert_true(eb_test_exists(path));
    snprintf(cmd, sizeof(cmd), "sed 's/.*\"key\":\"\\([0-9a-f]*\\)\".*/\\1/' %s", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(key, sizeof(key), f));
    pclose(f);
    key[strcspn(key, "\n")] = 0;
    assert_int_equal(strlen(key), 32);
    snprintf(path, sizeof(path), "%s/videos/%s/hls/360p/index.m3u8", root, rec);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_non_null(strstr(m, "URI=\"../../keys/"));
    free(m);
    /* ffmpeg decrypts the recording (through a pipe: see test_encryption) */
    snprintf(cmd, sizeof(cmd),
             "cat %s/videos/%s/cmaf/360p/init.mp4 %s/videos/%s/cmaf/360p/segment_*.m4s | ffmpeg "
             "-v error -decryption_key %s -f mp4 -i pipe:0 -f framemd5 - 2>&1 | grep -c '^0,'",
             root, rec, root, rec, key);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    pclose(f);
    if (atoi(line) < 140)
        fail_msg("the recording decrypted to %d frames", atoi(line));
    /* a new session keeps the channel's key */
    assert_int_equal(eb_live_cli(root, EB_FEED(4, 0), "--segment 2 --window 30 --encrypt cenc"), 0);
    snprintf(cmd, sizeof(cmd), "ls %s/keys/cam1 | wc -l", root);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    pclose(f);
    assert_int_equal(atoi(line), 1);

    /* aes-128: no parts; without them, an IV per segment */
    snprintf(cmd, sizeof(cmd), "%s live cam1 -o %s --encrypt aes-128 < /dev/null 2>/dev/null",
             eb_bin(), root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    eb_test_tmpdir("live-aes", root, sizeof(root));
    assert_int_equal(eb_live_cli(root, EB_FEED(4, 0),
                                 "--segment 2 --window 30 --no-low-latency --encrypt aes-128"),
                     0);
    snprintf(path, sizeof(path), "%s/live/cam1/hls/360p/index.m3u8", root);
    m = (char *)eb_test_slurp(path, &len);
    assert_non_null(m);
    assert_true(count_str(m, "#EXT-X-KEY:METHOD=AES-128,URI=\"../../keys/") >= 2);
    assert_true(count_str(m, ",IV=0x") >= 2);
    /* the IV is the sequence number (what a restored listing implies) */
    assert_non_null(strstr(m, ",IV=0x00000000000000000000000000000001\n"));
    free(m);
}

static void test_live_refuses_bad_options(void **state)
{
    char root[1024], cmd[2048];
    (void)state;
    eb_test_tmpdir("live-bad", root, sizeof(root));
    /* A window shorter than three segments, and a name that is not one. */
    snprintf(cmd, sizeof(cmd), "%s live cam1 -o %s --segment 2 --window 4 < /dev/null 2>/dev/null",
             eb_bin(), root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "%s live ../x -o %s < /dev/null 2>/dev/null", eb_bin(), root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    /* A part longer than half a segment, or too short to be worth one. */
    snprintf(cmd, sizeof(cmd), "%s live cam1 -o %s --segment 2 --part 1.5 < /dev/null 2>/dev/null",
             eb_bin(), root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "%s live cam1 -o %s --part 0.05 < /dev/null 2>/dev/null", eb_bin(),
             root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "%s live cam1 -o %s --ladder nosuch < /dev/null 2>/dev/null",
             eb_bin(), root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    /* Bytes that are not media: a clear failure, nothing published. */
    snprintf(cmd, sizeof(cmd), "head -c 100000 /dev/urandom | %s live cam1 -o %s 2>/dev/null",
             eb_bin(), root);
    assert_int_equal(WEXITSTATUS(system(cmd)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_start),
        cmocka_unit_test(test_snap_rate_picks_nearest),
        cmocka_unit_test(test_live_window_and_recording),
        cmocka_unit_test(test_live_low_latency_parts),
        cmocka_unit_test(test_live_without_recording_deletes_old_segments),
        cmocka_unit_test(test_live_timestamp_jump_keeps_time),
        cmocka_unit_test(test_live_reconnect_continues_session),
        cmocka_unit_test(test_live_changed_feed_starts_new_session),
        cmocka_unit_test(test_live_refuses_bad_options),
        cmocka_unit_test(test_live_encrypted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
