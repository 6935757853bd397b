/*
 * `encbox live`: one live run from the command line. The feed's bytes come
 * on standard input (or a file or FIFO), e.g. from ffmpeg or a relay:
 *
 *   ffmpeg -re -i cam.mp4 -c copy -f mpegts - | encbox live cam1 -o /srv/encbox
 *
 * The window is published under <storage>/live/<channel>/ while it runs;
 * when the feed ends the channel ends (ENDLIST) and, unless --no-record,
 * the run is published as a video (eb_live.h). The daemon's channels run
 * the same composition in supervised workers.
 */
#include "encbox_cli.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eb_config.h"
#include "eb_s3.h"
#include "eb_error.h"
#include "eb_live.h"
#include "eb_log.h"

static atomic_int eb_live_cancel;

static void eb_live_on_signal(int sig)
{
    (void)sig;
    atomic_store(&eb_live_cancel, 1);
}

static void eb_live_usage(FILE *f)
{
    fprintf(f,
            "usage: encbox live CHANNEL -o STORAGE [options]\n"
            "  -o, --output DIR      storage root: the window goes to DIR/live/CHANNEL/,\n"
            "                        the recording to DIR/videos/<recording>/\n"
            "  -i, --input FILE      the feed (default -: standard input)\n"
            "      --format F        mpegts (default) or flv\n"
            "      --segment S       segment length, 1..10 s (default 2)\n"
            "      --window S        playlist window, at least 3 segments (default 60)\n"
            "      --part S          low-latency part target, 0.1 s..half a segment\n"
            "                        (default 0.334: LL-HLS parts and preload hints)\n"
            "      --no-low-latency  classic playlists only (no parts)\n"
            "      --preset NAME     x264 preset (default veryfast)\n"
            "      --config FILE     configuration file (for --ladder)\n"
            "      --ladder NAME     ladder preset from the configuration (default: default)\n"
            "      --no-record       delete segments that left the window; no recording\n"
            "      --recording-id ID the recording's video id (default CHANNEL-<UTC time>)\n"
            "      --continue        continue the channel's open session (a reconnect):\n"
            "                        numbering goes on after a discontinuity\n"
            "      --no-end          the feed's end leaves the session open (no ENDLIST,\n"
            "                        no recording yet) for a --continue or a --finish\n"
            "      --finish          no feed: end the open session (ENDLIST, recording)\n"
            "      --utc-timing URL  the MPD's UTCTiming clock (urn:mpeg:dash:utc:http-iso:2014)\n"
            "      --encrypt SCHEME  cenc, cbcs (CMAF, HLS and DASH) or aes-128 (HLS, no\n"
            "                        low latency): the channel's key from the key store\n"
            "      --key-store DIR   where keys are kept (default STORAGE/keys)\n"
            "      --public-base-url URL  absolute license URLs in the MPDs\n"
            "      --events          progress and recordings as JSON lines on stdout\n"
            "  -q, --quiet           errors only\n");
}

/* --events: one JSON object per line on stdout, for the daemon. Names
 * are [a-z0-9_-] and ids the layout's, so nothing needs escaping. */
static void eb_live_event_progress(const EbLiveProgress *p, void *opaque)
{
    (void)opaque;
    printf("{\"event\":\"progress\",\"sequence\":%lld,\"fps\":%.2f,\"speed\":%.3f,"
           "\"dropped\":%lld,\"lag_seconds\":%.3f,\"av_offset_seconds\":%.3f,"
           "\"timestamp_jumps\":%lld,\"bytes\":%lld,\"edge_age_seconds\":%.3f,\"rungs\":[",
           (long long)p->last_sequence, p->engine.fps, p->engine.speed, (long long)p->dropped,
           p->lag_seconds, p->av_offset_seconds, (long long)p->timestamp_jumps, (long long)p->bytes,
           p->edge_age_seconds);
    for (int i = 0; i < p->engine.nb_rungs; i++) {
        /* A rung's own speed: the engine's (frames every rung has done)
         * scaled by how far this rung is. */
        double speed =
            p->engine.frames_done > 0
                ? p->engine.speed * (double)p->engine.rung_frames[i] / (double)p->engine.frames_done
                : 0;
        printf("%s{\"name\":\"%s\",\"frames\":%lld,\"speed\":%.3f}", i ? "," : "",
               p->engine.rung_names[i], (long long)p->engine.rung_frames[i], speed);
    }
    printf("]}\n");
    fflush(stdout);
}

static void eb_live_event_recorded(const EbLiveRecording *r, void *opaque)
{
    (void)opaque;
    printf("{\"event\":\"recording\",\"id\":\"%s\",\"start\":%.3f,\"end\":%.3f,"
           "\"duration\":%.3f,\"segments\":%lld}\n",
           r->id, r->start_unix, r->end_unix, r->duration, (long long)r->segments);
    fflush(stdout);
}

static void eb_live_event_planned(const EbLivePlan *p, void *opaque)
{
    (void)opaque;
    printf("{\"event\":\"plan\",\"width\":%d,\"height\":%d,\"fps\":%.3f,\"rungs\":%d,"
           "\"pixel_rate\":%.0f}\n",
           p->width, p->height, p->fps, p->nb_rungs, p->pixel_rate);
    fflush(stdout);
}

static void eb_live_line(const EbLiveProgress *p, void *opaque)
{
    (void)opaque;
    fprintf(stderr, "\rseq %lld  %6.1f fps  %5.2fx  dropped %lld  lag %.2f s   ",
            (long long)p->last_sequence, p->engine.fps, p->engine.speed, (long long)p->dropped,
            p->lag_seconds);
    fflush(stderr);
}

int cmd_live(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"segment", required_argument, NULL, 's'},
                                         {"window", required_argument, NULL, 'w'},
                                         {"part", required_argument, NULL, 'P'},
                                         {"no-low-latency", no_argument, NULL, 'L'},
                                         {"preset", required_argument, NULL, 'p'},
                                         {"no-record", no_argument, NULL, 'N'},
                                         {"recording-id", required_argument, NULL, 'R'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"ladder", required_argument, NULL, 'l'},
                                         {"continue", no_argument, NULL, 'C'},
                                         {"no-end", no_argument, NULL, 'E'},
                                         {"finish", no_argument, NULL, 'F'},
                                         {"events", no_argument, NULL, 'J'},
                                         {"utc-timing", required_argument, NULL, 'U'},
                                         {"encrypt", required_argument, NULL, 'X'},
                                         {"key-store", required_argument, NULL, 'K'},
                                         {"public-base-url", required_argument, NULL, 'B'},
                                         {NULL, 0, NULL, 0}};
    const char *input = "-", *config_path = NULL, *ladder = NULL;
    EbLiveOptions o;
    EbLiveResult res;
    int c, ret, quiet = 0, fd, finish = 0, events = 0;
    char *end;

    eb_live_options_default(&o);
    o.end_on_eof = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:i:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.storage_root = optarg;
            break;
        case 'i':
            input = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "mpegts") && strcmp(optarg, "flv")) {
                fprintf(stderr, "encbox: --format must be mpegts or flv\n");
                return 2;
            }
            o.input.format = optarg;
            break;
        case 's':
        case 'w':
        case 'P': {
            double v = strtod(optarg, &end);
            if (*end || end == optarg || v <= 0) {
                fprintf(stderr, "encbox: --%s must be a number of seconds\n",
                        c == 's' ? "segment" : c == 'w' ? "window" : "part");
                return 2;
            }
            if (c == 's')
                o.segment_seconds = v;
            else if (c == 'w')
                o.window_seconds = v;
            else
                o.part_seconds = v;
            break;
        }
        case 'L':
            o.part_seconds = 0;
            break;
        case 'p':
            o.preset = optarg;
            break;
        case 'N':
            o.record = 0;
            break;
        case 'R':
            o.recording_id = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            ladder = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'C':
            o.continue_session = 1;
            break;
        case 'E':
            o.end_on_eof = 0;
            break;
        case 'F':
            finish = 1;
            break;
        case 'J':
            events = 1;
            break;
        case 'U':
            o.utc_timing_url = optarg;
            break;
        case 'X':
            if (eb_encryption_scheme_parse(optarg, &o.encryption) < 0) {
                fprintf(stderr, "encbox: --encrypt must be aes-128, cenc, cbcs or none\n");
                return 2;
            }
            break;
        case 'K':
            o.key_store = optarg;
            break;
        case 'B':
            o.public_base_url = optarg;
            break;
        case 'h':
            eb_live_usage(stdout);
            return 0;
        default:
            eb_live_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || !o.storage_root) {
        eb_live_usage(stderr);
        return 2;
    }
    o.channel = argv[optind];
    if (ladder || config_path) {
        /* The ladder from the configuration's presets, as jobs name them. */
        EbConfig cfg = {0};
        EbConfigErrors errs = {0};
        const EbLadder *l = NULL;
        eb_config_load(config_path, &cfg, &errs);
        if (eb_config_errors_count(&errs) == 0)
            l = eb_config_find_ladder(&cfg, ladder ? ladder : cfg.jobs_ladder);
        else
            eb_config_errors_print(&errs, stderr);
        if (l)
            o.ladder = *l;
        else if (eb_config_errors_count(&errs) == 0)
            fprintf(stderr, "encbox: --ladder %s: no such preset in the configuration\n",
                    ladder ? ladder : cfg.jobs_ladder);
        if (l && cfg.s3_endpoint && cfg.s3_endpoint[0]) {
            /* the window and the recordings go to the bucket too (storage.s3) */
            static EbS3 s3;
            char err[512];
            if (eb_s3_init(&s3, cfg.s3_endpoint, cfg.s3_bucket, cfg.s3_region, cfg.s3_prefix,
                           cfg.s3_path_style, cfg.s3_part_size, cfg.s3_credentials_file, err,
                           sizeof(err)) < 0) {
                fprintf(stderr, "encbox: storage.s3: %s\n", err);
                l = NULL;
            } else {
                o.s3 = &s3;
            }
        }
        eb_config_errors_free(&errs);
        eb_config_free(&cfg);
        if (!l)
            return 2;
    }
    if (quiet)
        eb_log_set_level(EB_LOG_ERROR);
    if (events) {
        o.recorded = eb_live_event_recorded;
        o.planned = eb_live_event_planned;
    }
    if (finish) {
        ret = eb_live_finish(&o, &res);
        if (ret < 0) {
            fprintf(stderr, "encbox: ending the session of %s failed: %s%s%s\n", o.channel,
                    eb_strerror(ret), res.error_detail[0] ? ": " : "", res.error_detail);
            return 1;
        }
        if (!quiet && !events)
            printf("live %s: session ended (%lld segments)%s%s\n", o.channel,
                   (long long)res.segments, res.recording_id[0] ? "; recording " : "",
                   res.recording_id);
        return 0;
    }
    fd = strcmp(input, "-") ? open(input, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0) {
        perror(input);
        return 1;
    }
    o.input.fd = fd;
    o.cancel = &eb_live_cancel;
    signal(SIGINT, eb_live_on_signal);
    signal(SIGTERM, eb_live_on_signal);
    if (events)
        o.progress = eb_live_event_progress;
    else if (!quiet && isatty(STDERR_FILENO))
        o.progress = eb_live_line;
    ret = eb_live_run(&o, &res);
    if (fd != STDIN_FILENO)
        close(fd);
    if (o.progress == eb_live_line)
        fputc('\n', stderr);
    if (ret < 0) {
        fprintf(stderr, "encbox: live run of %s failed: %s%s%s\n", o.channel, eb_strerror(ret),
                res.error_detail[0] ? ": " : "", res.error_detail);
        return ret == EB_ERR(EINVAL) || ret == EB_ERR_BAD_ID || ret == EB_ERR_BAD_OPTION ? 2 : 1;
    }
    if (!quiet && !events) {
        printf("live %s: %lld segments (%.1f s), %lld frames dropped; window in %s\n", o.channel,
               (long long)res.segments, res.duration, (long long)res.dropped, res.output_dir);
        if (res.recording_id[0])
            printf("recording: %s/videos/%s/hls/master.m3u8\n", o.storage_root, res.recording_id);
    }
    return 0;
}
