/*
 * Bad input through the real command line: each case gets one clear error
 * line naming the problem, a non-zero exit code, and leaves nothing in the
 * output tree. Damaged packets mid-file complete with a count. A write
 * failure mid-job fails cleanly.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_memory.h"
#include "eb_storage.h"
#include "eb_test_media.h"
#include "eb_vod.h"

static char tmp[4096], good[4200];

static int group_setup(void **state)
{
    (void)state;
    eb_log_set_level(EB_LOG_ERROR);
    eb_log_capture_libav();
    eb_test_tmpdir("badinput", tmp, sizeof(tmp));
    snprintf(good, sizeof(good), "%s/good.mp4", tmp);
    return eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 4 "
                          "-c:v libx264 -preset ultrafast -c:a aac -shortest "
                          "-movflags +faststart %s",
                          good);
}

/* Runs `encbox transcode INPUT -o OUT`, returns the exit code, captures
 * stderr into err. */
/* Runs `encbox transcode ARGS` (args already quoted), returns the exit
 * code, captures stderr into err. */
static int run_transcode(const char *args, char *err, size_t errsize)
{
    char cmd[32768], errpath[4300];
    FILE *f;
    size_t n;
    int st;

    assert_non_null(getenv("EB_BINARY"));
    snprintf(errpath, sizeof(errpath), "%s/stderr.txt", tmp);
    snprintf(cmd, sizeof(cmd), "'%s' transcode %s > /dev/null 2> '%s'", getenv("EB_BINARY"), args,
             errpath);
    st = system(cmd);
    f = fopen(errpath, "r");
    n = f ? fread(err, 1, errsize - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs `encbox transcode INPUT -o OUT --id case`. */
static int run_cli(const char *input, const char *out, char *err, size_t errsize)
{
    char args[16384];

    snprintf(args, sizeof(args), "'%s' -o '%s' --id case", input, out);
    return run_transcode(args, err, errsize);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void expect_clean_failure(const char *input, const char *tag, const char *needle)
{
    char out[4200], err[8192];
    int code;

    snprintf(out, sizeof(out), "%s/out-%s", tmp, tag);
    code = run_cli(input, out, err, sizeof(err));
    fprintf(stderr, "[%s] exit %d: %s", tag, code, err);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, needle));
    assert_int_equal(count_lines(err), 1);
    assert_int_equal(eb_test_leftovers(out), 0);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_missing_file(void **state)
{
    char p[8192];
    (void)state;
    snprintf(p, sizeof(p), "%s/nope.mp4", tmp);
    expect_clean_failure(p, "missing", "No such file or directory");
}

static void test_empty_file(void **state)
{
    char p[8192];
    (void)state;
    snprintf(p, sizeof(p), "%s/empty.mp4", tmp);
    write_bytes(p, "", 0);
    expect_clean_failure(p, "empty", "input file is empty");
}

static void test_text_file(void **state)
{
    char p[8192];
    const char *text = "this is a shopping list, not a video\nmilk\neggs\n";
    (void)state;
    snprintf(p, sizeof(p), "%s/list.mp4", tmp);
    write_bytes(p, text, strlen(text));
    expect_clean_failure(p, "text", "not a media file");
}

static void test_random_bytes(void **state)
{
    char p[8192];
    unsigned char buf[65536];
    unsigned int seed = 1234;
    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(rand_r(&seed) >> 7);
    snprintf(p, sizeof(p), "%s/random.bin", tmp);
    write_bytes(p, buf, sizeof(buf));
    expect_clean_failure(p, "random", "not a media file");
}

static void test_truncated_file(void **state)
{
    char p[8192];
    struct stat st;
    FILE *in, *outf;
    char *buf;
    (void)state;
    /* faststart: the index survives, the media data is cut in half. */
    assert_int_equal(stat(good, &st), 0);
    buf = malloc((size_t)st.st_size);
    in = fopen(good, "rb");
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, in), (size_t)st.st_size);
    fclose(in);
    snprintf(p, sizeof(p), "%s/truncated.mp4", tmp);
    outf = fopen(p, "wb");
    fwrite(buf, 1, (size_t)st.st_size / 2, outf);
    fclose(outf);
    free(buf);
    expect_clean_failure(p, "truncated", "truncated");
}

/* An mp4 whose video media header says timescale 0 (libavformat reads it
 * as 1): one of its 100 frames can be read, at a 512 s frame duration. */
static void test_zero_timescale_is_not_published_short(void **state)
{
    char p[8192];
    size_t n;
    uint8_t *buf = eb_test_slurp(good, &n), *mdhd = NULL;
    (void)state;
    assert_non_null(buf);
    for (size_t i = 4; i + 24 < n && !mdhd; i++)
        if (!memcmp(buf + i, "mdhd", 4))
            mdhd = buf + i;
    assert_non_null(mdhd);
    /* version 0: version/flags, creation, modification, then the timescale */
    assert_int_equal(mdhd[4], 0);
    memset(mdhd + 4 + 4 + 8, 0, 4);
    snprintf(p, sizeof(p), "%s/timescale0.mp4", tmp);
    write_bytes(p, buf, n);
    free(buf);
    expect_clean_failure(p, "timescale0",
                         "1 of the 100 video frames the file states could be read");
}

/* An HLS input whose second segment is gone: the playlist states 6 s. */
static void test_hls_input_missing_segment(void **state)
{
    char dir[4300], p[8192];
    (void)state;
    snprintf(dir, sizeof(dir), "%s/hlsgap", tmp);
    assert_int_equal(eb_storage_mkdirs(dir), 0);
    assert_int_equal(
        eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine -t 6 "
                       "-c:v libx264 -preset ultrafast -g 25 -c:a aac -f hls -hls_time 2 "
                       "-hls_list_size 0 -hls_playlist_type vod "
                       "-hls_segment_filename %s/in%%d.ts %s/in.m3u8",
                       dir, dir),
        0);
    snprintf(p, sizeof(p), "%s/in1.ts", dir);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof(p), "%s/in.m3u8", dir);
    expect_clean_failure(p, "hlsgap", "the file states 6.00 s");
}

/* Audio that runs on after the video is not a short input: the container's
 * duration is the audio's, and the audio is all there. */
static void test_longer_audio_is_published(void **state)
{
    char p[8192], out[4300], err[8192];
    (void)state;
    snprintf(p, sizeof(p), "%s/longaudio.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25:duration=2 "
                                    "-f lavfi -i sine=duration=3.5 -c:v libx264 -preset ultrafast "
                                    "-c:a aac %s",
                                    p),
                     0);
    snprintf(out, sizeof(out), "%s/out-longaudio", tmp);
    assert_int_equal(run_cli(p, out, err, sizeof(err)), 0);
}

static void test_audio_only_file(void **state)
{
    char p[8192];
    (void)state;
    snprintf(p, sizeof(p), "%s/audio.m4a", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i sine -t 1 -c:a aac %s", p), 0);
    expect_clean_failure(p, "novideo", "no video stream");
}

static void test_hdr_file(void **state)
{
    char p[8192];
    (void)state;
    snprintf(p, sizeof(p), "%s/hdr.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240 -t 1 -c:v libx264 "
                                    "-pix_fmt yuv420p10le -color_trc arib-std-b67 %s",
                                    p),
                     0);
    expect_clean_failure(p, "hdr", "HDR");
}

static void test_unknown_codec(void **state)
{
    char p[8192];
    FILE *f;
    long size;
    char *buf;
    (void)state;
    /* An AVI whose fourcc no decoder knows (the MPEG-4 tag rewritten). */
    snprintf(p, sizeof(p), "%s/unknown.avi", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240 -t 1 -c:v mpeg4 "
                                    "-vtag FMP4 %s",
                                    p),
                     0);
    f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    buf = malloc((size_t)size);
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    for (long i = 0; i + 4 <= size && i < 4096; i++)
        if (!memcmp(buf + i, "FMP4", 4))
            memcpy(buf + i, "ZZZ9", 4);
    fseek(f, 0, SEEK_SET);
    fwrite(buf, 1, (size_t)size, f);
    fclose(f);
    free(buf);
    expect_clean_failure(p, "codec", "not supported");
}

/* A 1 MB filesystem: the output estimate does not fit, so the job is
 * refused before any work (exit 4). Needs root for the tmpfs mount. */
static void test_disk_space_checked_before_starting(void **state)
{
    char mnt[4200], cmd[9000], err[8192], path[8192];
    int code;
    (void)state;
    assert_non_null(getenv("EB_BINARY")); /* before mounting: never leave a mount behind */
    snprintf(mnt, sizeof(mnt), "%s/tiny", tmp);
    mkdir(mnt, 0755);
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=1m tmpfs '%s' 2>/dev/null", mnt);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot mount a tmpfs here (not root?): skipped\n");
        skip();
    }
    code = run_cli(good, mnt, err, sizeof(err));
    fprintf(stderr, "[space] exit %d: %s", code, err);
    snprintf(path, sizeof(path), "%s/videos", mnt);
    {
        int left = eb_test_dir_entries(path);
        snprintf(cmd, sizeof(cmd), "umount '%s'", mnt);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(code, 4);
        assert_non_null(strstr(err, "disk space"));
        assert_int_equal(count_lines(err), 1);
        assert_int_equal(left, 0);
    }
}

/* Runs the CLI with one --input-root; returns the exit code, stderr in err. */
static int run_cli_confined(const char *input, const char *root, const char *out, char *err,
                            size_t errsize)
{
    char args[16384];

    snprintf(args, sizeof(args), "'%s' --input-root '%s' -o '%s' --id c --no-thumbnails", input,
             root, out);
    return run_transcode(args, err, errsize);
}

static void test_input_confined_to_input_roots(void **state)
{
    char root[4200], outside[4200], p[4400], q[9000], out[4300], err[8192], seg[4300];
    FILE *f;
    (void)state;
    assert_non_null(getenv("EB_BINARY"));
    snprintf(root, sizeof(root), "%s/root", tmp);
    snprintf(outside, sizeof(outside), "%s/outside", tmp);
    mkdir(root, 0755);
    mkdir(outside, 0755);

    /* A file inside the root is accepted. */
    snprintf(p, sizeof(p), "%s/in.mp4", root);
    snprintf(q, sizeof(q), "cp '%s' '%s'", good, p);
    assert_int_equal(system(q), 0);
    snprintf(out, sizeof(out), "%s/out-conf-ok", tmp);
    assert_int_equal(run_cli_confined(p, root, out, err, sizeof(err)), 0);

    /* A file outside it is not, nor a symlink inside that leads out. */
    snprintf(out, sizeof(out), "%s/out-conf-1", tmp);
    assert_int_equal(run_cli_confined(good, root, out, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "outside the allowed input roots"));
    snprintf(p, sizeof(p), "%s/link.mp4", root);
    assert_int_equal(symlink(good, p), 0);
    assert_int_equal(run_cli_confined(p, root, out, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "outside the allowed input roots"));

    /* A playlist inside the root whose segment lies outside it fails: the
     * demuxer's own opens go through the same check. */
    snprintf(seg, sizeof(seg), "%s/seg.ts", outside);
    assert_int_equal(eb_test_ffmpeg("-i %s -c copy -f mpegts %s", good, seg), 0);
    snprintf(p, sizeof(p), "%s/list.m3u8", root);
    f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:4.0,\n%s\n"
               "#EXT-X-ENDLIST\n",
            seg);
    fclose(f);
    assert_int_equal(run_cli_confined(p, root, out, err, sizeof(err)), 1);
    fprintf(stderr, "[playlist] %s", err);
    assert_non_null(strstr(err, "seg.ts"));
    assert_int_equal(count_lines(err), 1);
    assert_int_equal(eb_test_leftovers(out), 0);
}

static void test_damaged_packets_complete_with_count(void **state)
{
    char src[4200], out[4200], err[8192], path[8192];
    FILE *f;
    struct stat st;
    int code;
    (void)state;
    /* MPEG-TS resyncs after damage, as a broadcast capture would. */
    snprintf(src, sizeof(src), "%s/damaged.ts", tmp);
    assert_int_equal(eb_test_ffmpeg("-i %s -c copy -f mpegts %s", good, src), 0);
    assert_int_equal(stat(src, &st), 0);
    f = fopen(src, "r+b");
    assert_non_null(f);
    for (long off = st.st_size / 3; off < st.st_size / 3 + 20000; off += 1000) {
        unsigned char junk[64];
        for (int i = 0; i < 64; i++)
            junk[i] = (unsigned char)(off * 31 + i * 7);
        fseek(f, off, SEEK_SET);
        fwrite(junk, 1, sizeof(junk), f);
    }
    fclose(f);
    snprintf(out, sizeof(out), "%s/out-damaged", tmp);
    code = run_cli(src, out, err, sizeof(err));
    fprintf(stderr, "[damaged] exit %d: %s", code, err);
    assert_int_equal(code, 0);
    assert_non_null(strstr(err, "damaged"));
    snprintf(path, sizeof(path), "%s/videos/case/hls/master.m3u8", out);
    assert_true(eb_test_exists(path));
}

static void test_write_failure_mid_job_fails_cleanly(void **state)
{
    char out[4200];
    EbVodOptions o;
    EbVodResult res;
    struct rlimit old, lim;
    void (*old_handler)(int);
    int ret;
    (void)state;

    /* Files may not grow past 20 kB: the first large segment write fails
     * the way a full disk would (EFBIG instead of ENOSPC). */
    snprintf(out, sizeof(out), "%s/out-full", tmp);
    eb_vod_options_default(&o);
    o.input = good;
    o.storage_root = out;
    o.video_id = "full";
    o.check_space = 0;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 20000;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    ret = eb_vod_run(&o, &res);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(ret, EB_ERR(EFBIG));
    /* The error says what failed: storing the output, not the input. */
    fprintf(stderr, "[full] %s\n", res.error_detail);
    assert_non_null(strstr(res.error_detail, "storing segment 1 failed (File too large)"));
    assert_int_equal(eb_test_leftovers(out), 0);
}

/* limits.max_duration and limits.max_resolution are checked once the
 * input is open, before any work, naming the limit; a portrait limit
 * admits the same picture turned on its side. */
static void test_input_limits_checked_before_work(void **state)
{
    char out[4200];
    EbVodOptions o;
    EbVodResult res;
    (void)state;

    snprintf(out, sizeof(out), "%s/out-limits", tmp);
    eb_vod_options_default(&o);
    o.input = good; /* 320x240, 4 s */
    o.storage_root = out;
    o.video_id = "lim";
    o.thumbs.enabled = 0;
    o.max_duration = 2;
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR_INPUT_LIMIT);
    assert_non_null(strstr(res.error_detail, "limits.max_duration (2 s)"));
    assert_int_equal(eb_test_leftovers(out), 0);

    o.max_duration = 10;
    o.max_width = 160;
    o.max_height = 120;
    assert_int_equal(eb_vod_run(&o, &res), EB_ERR_INPUT_LIMIT);
    assert_non_null(strstr(res.error_detail, "320x240, larger than limits.max_resolution"));
    assert_int_equal(eb_test_leftovers(out), 0);

    o.max_width = 240;
    o.max_height = 320;
    assert_int_equal(eb_vod_run(&o, &res), 0);
}

/* Runs the CLI with a configuration file holding text; exit code, stderr. */
static int run_cli_config(const char *cfg_text, const char *args, char *err, size_t errsize)
{
    char cfg[4300], all[16384];
    FILE *f;

    snprintf(cfg, sizeof(cfg), "%s/limits.yaml", tmp);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fputs(cfg_text, f);
    fclose(f);
    snprintf(all, sizeof(all), "--config '%s' %s", cfg, args);
    return run_transcode(all, err, errsize);
}

/* The configuration's limits and backends.enabled reach the CLI's job
 * (the daemon's workers take the same path, eb_job_spec_to_vod_options). */
static void test_config_limits_reach_the_cli(void **state)
{
    char args[9000], out[4300], err[8192];
    (void)state;

    snprintf(out, sizeof(out), "%s/out-cfg-limits", tmp);
    snprintf(args, sizeof(args), "'%s' -o '%s' --id lim --no-thumbnails", good, out);
    assert_int_equal(run_cli_config("limits: {max_duration: 2s}\n", args, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "limits.max_duration"));
    assert_int_equal(count_lines(err), 1);
    assert_int_equal(eb_test_leftovers(out), 0);
    assert_int_equal(
        run_cli_config("limits: {max_resolution: 160x120}\n", args, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "limits.max_resolution"));
    assert_int_equal(eb_test_leftovers(out), 0);
    {
        /* a file over limits.max_input_size is refused before it is opened */
        char big[4400];
        FILE *f;
        snprintf(big, sizeof(big), "%s/big.mp4", tmp);
        f = fopen(big, "wb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 2 << 20, SEEK_SET), 0);
        fputc(0, f);
        fclose(f);
        snprintf(args, sizeof(args), "'%s' -o '%s' --id lim --no-thumbnails", big, out);
        assert_int_equal(
            run_cli_config("limits: {max_input_size: 1M}\n", args, err, sizeof(err)), 1);
        assert_non_null(strstr(err, "limits.max_input_size"));
        assert_int_equal(eb_test_leftovers(out), 0);
    }

    /* software is in every build; an operator who enabled only a device
     * backend has ruled it out */
    snprintf(args, sizeof(args), "'%s' -o '%s' --id lim --no-thumbnails --backend software",
             good, out);
    assert_int_equal(run_cli_config("backends: {enabled: [vaapi]}\n", args, err, sizeof(err)),
                     2);
    assert_non_null(strstr(err, "not in backends.enabled"));
    assert_int_equal(eb_test_leftovers(out), 0);
}

/* -q means errors only: a job that succeeds prints nothing at all. */
/* A 1080p ladder's worker uses about 400 MiB: under a 300 MiB ceiling the
 * job fails, says the ceiling was the cause, publishes nothing. */
static void test_worker_memory_ceiling(void **state)
{
    char src[4300], args[9000], out[4300], err[8192];
    const char *last;
    (void)state;

    if (!eb_memory_ceiling_supported())
        skip(); /* a sanitizer's shadow memory is beyond any ceiling */
    snprintf(src, sizeof(src), "%s/src1080.mp4", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=1920x1080:rate=25 -t 1 "
                                    "-c:v libx264 -preset ultrafast %s",
                                    src),
                     0);
    snprintf(out, sizeof(out), "%s/out-memory", tmp);
    snprintf(args, sizeof(args), "'%s' -o '%s' --id mem --no-thumbnails", src, out);
    assert_int_equal(run_cli_config("limits: {worker_memory: 300M}\n", args, err, sizeof(err)), 1);
    fprintf(stderr, "[memory] %s", err);
    /* The last line is the job's error (x264 may print its own first). */
    last = strrchr(err, '\n');
    while (last && last > err && last[-1] != '\n')
        last--;
    assert_non_null(strstr(last ? last : err, "out of memory: the job needs more than its "
                                              "worker's ceiling of 300 MiB (limits.worker_memory"));
    assert_int_equal(eb_test_leftovers(out), 0);
}

/* A file with 200 audio streams: 8 are kept (said so), the rest neither
 * decoded nor buffered, so the job fits a 1 GiB ceiling. */
static void test_many_streams_stay_bounded(void **state)
{
    char src[4300], maps[2400] = "", args[9000], out[4300], err[8192];
    (void)state;

    for (int i = 0; i < 200; i++)
        strcat(maps, " -map 1:a");
    snprintf(src, sizeof(src), "%s/streams200.mkv", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i "
                                    "sine=duration=1 -t 1 -map 0:v%s -c:v libx264 -preset "
                                    "ultrafast -c:a aac -b:a 32k %s",
                                    maps, src),
                     0);
    snprintf(out, sizeof(out), "%s/out-streams", tmp);
    snprintf(args, sizeof(args), "'%s' -o '%s' --id many --no-thumbnails", src, out);
    assert_int_equal(run_cli_config("limits: {worker_memory: 1G}\n", args, err, sizeof(err)), 0);
    fprintf(stderr, "[streams] %s", err);
    assert_non_null(strstr(err, "192 more audio tracks left out"));
    snprintf(out, sizeof(out), "%s/out-streams/videos/many/cmaf/audio_8/init.mp4", tmp);
    assert_true(eb_test_exists(out));
    snprintf(out, sizeof(out), "%s/out-streams/videos/many/cmaf/audio_9", tmp);
    assert_false(eb_test_exists(out));
}

static void test_quiet_prints_nothing_on_success(void **state)
{
    char cmd[16384], outp[4300], out[4300];
    struct stat st;
    (void)state;

    snprintf(out, sizeof(out), "%s/out-quiet", tmp);
    snprintf(outp, sizeof(outp), "%s/quiet.txt", tmp);
    snprintf(cmd, sizeof(cmd), "'%s' transcode '%s' -o '%s' --id q --no-thumbnails -q > '%s' 2>&1",
             getenv("EB_BINARY"), good, out, outp);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(stat(outp, &st), 0);
    assert_int_equal(st.st_size, 0);
}

/* A staging folder no live job holds (its job was killed) is swept; one a
 * live job holds is not, until the job lets go. */
static void test_orphan_staging_swept(void **state)
{
    char root[4300], orphan[4400], file[4500], live[4400];
    int lock = -1, n = -1;
    FILE *f;
    (void)state;

    snprintf(root, sizeof(root), "%s/sweep", tmp);
    assert_int_equal(eb_storage_prepare(root), 0);
    snprintf(orphan, sizeof(orphan), "%s/.staging/dead.AbCdEf", root);
    assert_int_equal(eb_storage_mkdirs(orphan), 0);
    snprintf(file, sizeof(file), "%s/segment_001.m4s", orphan);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("half", f);
    fclose(f);
    assert_int_equal(eb_storage_stage(root, "alive", live, sizeof(live), &lock), 0);
    assert_true(lock >= 0);

    assert_int_equal(eb_storage_sweep_staging(root, &n), 0);
    assert_int_equal(n, 1);
    assert_false(eb_test_exists(orphan));
    assert_true(eb_test_exists(live));
    close(lock);
    assert_int_equal(eb_storage_sweep_staging(root, &n), 0);
    assert_int_equal(n, 1);
    assert_false(eb_test_exists(live));
}

/* Runaway inputs end quickly with one line: an HLS master whose variant
 * is itself, and an ffconcat list (which could name itself, and whose
 * files libavformat opens past encbox's checks). */
static void test_self_including_inputs_are_bounded(void **state)
{
    char p[4300];
    FILE *f;
    (void)state;

    snprintf(p, sizeof(p), "%s/self.m3u8", tmp);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nself.m3u8\n", f);
    fclose(f);
    expect_clean_failure(p, "selfhls", "again and again");
    snprintf(p, sizeof(p), "%s/self.ffconcat", tmp);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("ffconcat version 1.0\nfile self.ffconcat\n", f);
    fclose(f);
    expect_clean_failure(p, "selfconcat", "ffconcat list");
}

/* A raw H.264 elementary stream (no container, no timestamps) transcodes:
 * the source goes back to its first byte after measuring the rate. */
static void test_raw_h264_elementary_stream(void **state)
{
    char raw[4300], out[4300], err[8192], dir[4500];
    EbTestStream st;
    (void)state;

    snprintf(raw, sizeof(raw), "%s/raw.h264", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 "
                                    "-preset ultrafast -f h264 %s",
                                    raw),
                     0);
    snprintf(out, sizeof(out), "%s/out-raw", tmp);
    assert_int_equal(run_cli(raw, out, err, sizeof(err)), 0);
    snprintf(dir, sizeof(dir), "%s/videos/case/cmaf/240p", out);
    assert_int_equal(eb_test_read_rendition(dir, &st), 0);
    assert_int_equal(st.frames, 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_limits_checked_before_work),
        cmocka_unit_test(test_config_limits_reach_the_cli),
        cmocka_unit_test(test_worker_memory_ceiling),
        cmocka_unit_test(test_many_streams_stay_bounded),
        cmocka_unit_test(test_quiet_prints_nothing_on_success),
        cmocka_unit_test(test_orphan_staging_swept),
        cmocka_unit_test(test_self_including_inputs_are_bounded),
        cmocka_unit_test(test_raw_h264_elementary_stream),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_text_file),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_zero_timescale_is_not_published_short),
        cmocka_unit_test(test_hls_input_missing_segment),
        cmocka_unit_test(test_longer_audio_is_published),
        cmocka_unit_test(test_audio_only_file),
        cmocka_unit_test(test_hdr_file),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_disk_space_checked_before_starting),
        cmocka_unit_test(test_input_confined_to_input_roots),
        cmocka_unit_test(test_damaged_packets_complete_with_count),
        cmocka_unit_test(test_write_failure_mid_job_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
