/*
 * encbox command line: `transcode` (one VOD ladder job, from flags or from a
 * JSON job spec, eb_job_spec.h), `devices` (what the HAL found), `config`
 * (check/show the appliance configuration), `version`.
 * `serve` (the daemon, api/) and `bench` (benchmarks/) live in their
 * folders. Settings come from the configuration file (built-in defaults
 * without one) and the command line overrides them. Exit codes are part
 * of the interface (see usage()).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "encbox_cli.h"
#include "eb_api.h"
#include "eb_bench.h"
#include "eb_job_stats.h"
#include "eb_config.h"
#include "eb_error.h"
#include "eb_hal.h"
#include "eb_job_spec.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_memory.h"
#include "eb_storage.h"
#include "eb_version.h"
#include "eb_vod.h"

enum {
    EB_EXIT_OK = 0,
    EB_EXIT_FAILED = 1,   /* the job failed: bad input, encode or write error */
    EB_EXIT_USAGE = 2,    /* bad command line */
    EB_EXIT_EXISTS = 3,   /* video id already published (no --overwrite) */
    EB_EXIT_NOSPACE = 4,  /* not enough disk space */
    EB_EXIT_CANCELED = 130,
};

#define EB_MAX_INPUT_ROOTS 32

static atomic_int eb_cancel;

static void eb_on_signal(int sig)
{
    (void)sig;
    atomic_store(&eb_cancel, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "encbox %s - transcoding appliance\n"
            "\n"
            "usage:\n"
            "  encbox transcode INPUT -o OUTDIR [options]   run one VOD ladder job\n"
            "  encbox transcode --spec FILE [-q|-v]         the same job, from a JSON job spec\n"
            "  encbox live CHANNEL -o DIR [options]         a live ladder from a feed on stdin\n"
            "  encbox devices [--json]                      list video backends and devices\n"
            "  encbox config check FILE | show [--config FILE] | example\n"
            "                                               check or print the configuration\n"
            "  encbox bench [options]                       capacity benchmark, vs ffmpeg\n"
            "  encbox serve [options]                       control API + origin (encbox serve "
            "--help)\n"
            "  encbox version\n"
            "\n"
            "transcode options (defaults from the configuration file, %s):\n"
            "      --config FILE      configuration file to use\n"
            "  -o, --output DIR       storage root; output goes to DIR/videos/<id>/\n"
            "                         (default: the configuration's storage.root)\n"
            "      --id ID            video id [A-Za-z0-9_-]{1,64} (default: from INPUT's name)\n"
            "      --overwrite        replace an existing video id (atomic swap)\n"
            "      --ladder NAME|FILE ladder preset from the configuration, or a file holding\n"
            "                         one ladder in the configuration's syntax (default: default)\n"
            "      --segment SECONDS  segment length, 1..60 (default 6)\n"
            "      --format cmaf|ts   cmaf: fMP4 for HLS + DASH (default); ts: MPEG-TS HLS\n"
            "      --preset NAME      speed: ultrafast superfast veryfast faster fast medium\n"
            "                         slow slower veryslow (default veryfast)\n"
            "      --backend NAME     auto|nvidia|vaapi|qsv|software (default auto: the first\n"
            "                         usable in preference order)\n"
            "      --fallback POLICY  when the backend cannot run: auto (the next usable one,\n"
            "                         reported), none (fail), or a backend name (default auto)\n"
            "      --threads N        encoder threads per rung (default: by rung size)\n"
            "      --input-root DIR   the input, and every file it refers to (playlists,\n"
            "                         concat lists), must lie inside DIR (repeatable; adds\n"
            "                         to the configuration's inputs.roots)\n"
            "      --encrypt SCHEME   protect the segments: aes-128 (HLS, TS or CMAF), cenc or\n"
            "                         cbcs (CMAF, HLS and DASH); a fresh key goes to the key\n"
            "                         store beside the job database, never to the output\n"
            "      --no-thumbnails    no catalog thumbnail, sprite sheets or thumbnails.vtt\n"
            "      --thumbnail-at S   catalog thumbnail at S seconds (default: a representative\n"
            "                         frame: not black, flat or blurred)\n"
            "      --thumbnail-interval S  seconds between sprite tiles (default 5)\n"
            "      --sprite-width PX  sprite tile width (default 160)\n"
            "      --sprite-grid CxR  tiles per sprite sheet (default 10x10)\n"
            "      --spec FILE        the whole job as a JSON job spec (api/README.md) instead\n"
            "                         of INPUT and the options above, which keeps what the job\n"
            "                         carries (secrets) off the command line; --spec-fd N reads\n"
            "                         it from file descriptor N\n"
            "  -q, --quiet            errors only\n"
            "  -v, --verbose          more log: -v info, -vv debug, -vvv trace\n"
            "\n"
            "exit codes: 0 done, 1 job failed, 2 usage, 3 id exists, 4 no disk space,\n"
            "            130 interrupted\n",
            EB_VERSION, EB_CONFIG_DEFAULT_PATH);
}

static void eb_progress_line(const EbVodProgress *p, void *opaque)
{
    char eta[32] = "--:--";
    (void)opaque;
    if (p->eta_seconds >= 0)
        snprintf(eta, sizeof(eta), "%d:%02d", (int)p->eta_seconds / 60, (int)p->eta_seconds % 60);
    fprintf(stderr, "\r%5.1f%%  %6.1f fps  %5.2fx  ETA %s   ", p->percent, p->fps, p->speed, eta);
    fflush(stderr);
}

static int eb_exit_code(int err)
{
    if (err == EB_ERR_EXISTS)
        return EB_EXIT_EXISTS;
    if (err == EB_ERR_NO_SPACE_ESTIMATE || err == EB_ERR(ENOSPC))
        return EB_EXIT_NOSPACE;
    if (err == EB_ERR_CANCELED)
        return EB_EXIT_CANCELED;
    if (err == EB_ERR_BAD_ID || err == EB_ERR_BAD_OPTION)
        return EB_EXIT_USAGE;
    return EB_EXIT_FAILED;
}

/* --ladder: a preset name from the configuration (the spec names it),
 * else a ladder file (the spec carries it, checked against cfg). */
static int eb_resolve_ladder(const EbConfig *cfg, const char *arg, EbJobSpec *spec)
{
    EbConfigErrors errs = {0};
    int ret;

    if (eb_config_find_ladder(cfg, arg)) {
        snprintf(spec->ladder_name, sizeof(spec->ladder_name), "%s", arg);
        return 0;
    }
    if (access(arg, F_OK) != 0) {
        fprintf(stderr, "encbox: --ladder %s: no such preset in the configuration, and no such file\n",
                arg);
        return EB_EXIT_USAGE;
    }
    ret = eb_ladder_load_file(arg, &spec->ladder, &errs);
    if (ret >= 0 && eb_config_errors_count(&errs) == 0)
        eb_config_check_ladder(cfg, &spec->ladder, &errs);
    if (eb_config_errors_count(&errs) > 0) {
        eb_config_errors_print(&errs, stderr);
        eb_config_errors_free(&errs);
        return EB_EXIT_USAGE;
    }
    eb_config_errors_free(&errs);
    spec->ladder_inline = ret >= 0;
    return ret < 0 ? EB_EXIT_USAGE : 0;
}

/* --spec FILE or --spec-fd N: the whole job from its JSON (eb_job_spec.h);
 * the fd is closed once read, so nothing else in the process sees it. */
static int eb_read_spec(const char *file, int fd, EbJobSpec *spec)
{
    EbJobSpecError err;
    int ret;

    if (file && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "encbox: --spec %s: %s\n", file, strerror(errno));
        return EB_EXIT_USAGE;
    }
    ret = eb_job_spec_read_fd(fd, spec, &err);
    close(fd);
    if (ret < 0) {
        fprintf(stderr, "encbox: job spec: %s\n", err.message[0] ? err.message : eb_strerror(ret));
        return ret == EB_ERR(ENOMEM) ? EB_EXIT_FAILED : EB_EXIT_USAGE;
    }
    return 0;
}

/* Where the published manifests and thumbnails are, as the storage layout
 * names them. */
static void eb_print_published(const EbVodResult *res, EbOutputFormat format)
{
    char path[4400], poster[256], vtt[256];

    if (eb_layout_file(res->output_dir, EB_LAYOUT_HLS_MASTER, NULL, 1, path, sizeof(path)) >= 0)
        printf("  HLS:  %s\n", path);
    if (format == EB_FORMAT_CMAF && res->encryption != EB_ENCRYPT_AES128 &&
        eb_layout_file(res->output_dir, EB_LAYOUT_DASH_MPD, NULL, 1, path, sizeof(path)) >= 0)
        printf("  DASH: %s\n", path);
    /* The thumbnails folder, and the poster and the VTT by their names in it. */
    if (res->thumbnail_sheets &&
        eb_layout_parent(res->output_dir, EB_LAYOUT_THUMB_POSTER, NULL, path, sizeof(path)) >= 0 &&
        eb_layout_uri(EB_LAYOUT_THUMB_VTT, NULL, EB_LAYOUT_THUMB_POSTER, NULL, NULL, poster,
                      sizeof(poster)) >= 0 &&
        eb_layout_uri(EB_LAYOUT_THUMB_POSTER, NULL, EB_LAYOUT_THUMB_VTT, NULL, NULL, vtt,
                      sizeof(vtt)) >= 0)
        printf("  Thumbnails: %s/ (%s, %d sprite sheets, %s)\n", path, poster,
               res->thumbnail_sheets, vtt);
}

static int cmd_transcode(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"id", required_argument, NULL, 'i'},
        {"overwrite", no_argument, NULL, 'O'},
        {"ladder", required_argument, NULL, 'l'},
        {"segment", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"preset", required_argument, NULL, 'p'},
        {"backend", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"config", required_argument, NULL, 'c'},
        {"stats-json", required_argument, NULL, 'S'},  /* hidden: encbox bench */
        {"progress-fd", required_argument, NULL, 'P'}, /* hidden: encbox serve workers */
        {"publish-gate", no_argument, NULL, 0x100},    /* hidden: ask on --progress-fd */
        {"no-thumbnails", no_argument, NULL, 'N'},
        {"input-root", required_argument, NULL, 'R'},
        {"fallback", required_argument, NULL, 'F'},
        {"thumbnail-at", required_argument, NULL, 'A'},
        {"thumbnail-interval", required_argument, NULL, 'I'},
        {"sprite-width", required_argument, NULL, 'W'},
        {"sprite-grid", required_argument, NULL, 'G'},
        {"spec", required_argument, NULL, 'J'},
        {"spec-fd", required_argument, NULL, 'D'},
        {"encrypt", required_argument, NULL, 'E'},
        {NULL, 0, NULL, 0}};
    const char *config_path = NULL, *ladder = NULL, *segment = NULL, *format = NULL;
    const char *preset = NULL, *backend = NULL, *fallback = NULL, *stats_json = NULL;
    const char *output = NULL, *video_id = NULL, *spec_file = NULL;
    const char *thumb_interval = NULL, *sprite_width = NULL, *sprite_grid = NULL;
    const char *roots[EB_MAX_INPUT_ROOTS];
    double thumb_at = -1.0;
    int nb_roots = 0, overwrite = 0, no_thumbs = 0, threads = 0;
    EbEncryptionScheme encrypt = EB_ENCRYPT_NONE;
    int job_options = 0; /* options that --spec replaces */
    int quiet = 0, verbose = 0, progress_fd = -1, spec_fd = -1, publish_gate = 0;
    EbConfig cfg = {0};
    EbConfigErrors errs = {0};
    EbJobSpec spec;
    EbJobSpecError serr;
    EbJobVodOptions jo;
    EbVodOptions *o = &jo.vod;
    EbVodResult res;
    int c, ret, code, tty = isatty(STDERR_FILENO);
    EbLogLevel level;

    /* A transcode process is one job (the daemon's workers are these too).
     * x264 asks for transparent huge pages for its picture buffers, which
     * rounds each one up to 2 MB pages and has the kernel zero them: with
     * THP off for this process the 1080p30 default ladder peaked 15 MB
     * lower and spent 0.4 s less system time, with the same user time. */
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
        job_options += !strchr("qvhSPJD", c);
        switch (c) {
        case 'o': output = optarg; break;
        case 'i': video_id = optarg; break;
        case 'O': overwrite = 1; break;
        case 'l': ladder = optarg; break;
        case 's': segment = optarg; break;
        case 'f': format = optarg; break;
        case 'p': preset = optarg; break;
        case 'b': backend = optarg; break;
        case 'c': config_path = optarg; break;
        case 'S': stats_json = optarg; break;
        case 'P': progress_fd = atoi(optarg); break;
        case 0x100:
            publish_gate = 1;
            break;
        case 'N': no_thumbs = 1; break;
        case 'F': fallback = optarg; break;
        case 'J': spec_file = optarg; break;
        case 'E':
            if (eb_encryption_scheme_parse(optarg, &encrypt) < 0) {
                fprintf(stderr, "encbox: --encrypt must be aes-128, cenc, cbcs or none\n");
                return EB_EXIT_USAGE;
            }
            break;
        case 'D': {
            char *end;
            long fd = strtol(optarg, &end, 10);
            if (*end || end == optarg || fd < 0 || fd > 1 << 20) {
                fprintf(stderr, "encbox: --spec-fd must be a file descriptor number\n");
                return EB_EXIT_USAGE;
            }
            spec_fd = (int)fd;
            break;
        }
        case 'R':
            if (nb_roots == EB_MAX_INPUT_ROOTS) {
                fprintf(stderr, "encbox: at most %d --input-root folders\n", EB_MAX_INPUT_ROOTS);
                return EB_EXIT_USAGE;
            }
            roots[nb_roots++] = optarg;
            break;
        case 'I': thumb_interval = optarg; break;
        case 'W': sprite_width = optarg; break;
        case 'G': sprite_grid = optarg; break;
        case 'A': {
            char *end;
            thumb_at = strtod(optarg, &end);
            if (*end || thumb_at < 0) {
                fprintf(stderr, "encbox: --thumbnail-at must be a time in seconds, 0 or more\n");
                return EB_EXIT_USAGE;
            }
            break;
        }
        case 't':
            threads = atoi(optarg);
            if (threads < 1 || threads > 64) {
                fprintf(stderr, "encbox: --threads must be 1..64\n");
                return EB_EXIT_USAGE;
            }
            break;
        case 'q': quiet = 1; break;
        case 'v': verbose++; break;
        case 'h': usage(stdout); return EB_EXIT_OK;
        default: usage(stderr); return EB_EXIT_USAGE;
        }
    }

    /* The job: from a spec, or from INPUT and the options. Both are one
     * EbJobSpec, and both become the job's options the same way
     * (eb_job_spec_to_vod_options). */
    eb_job_spec_init(&spec);
    if (spec_file || spec_fd >= 0) {
        if ((spec_file && spec_fd >= 0) || job_options || optind != argc) {
            fprintf(stderr, "encbox: --spec/--spec-fd carries the whole job: no INPUT or job "
                            "options beside it (see encbox --help)\n");
            return EB_EXIT_USAGE;
        }
        code = eb_read_spec(spec_file, spec_fd, &spec);
        if (code)
            goto done;
    } else {
        if (optind != argc - 1) {
            fprintf(stderr, "encbox: transcode needs one INPUT (see encbox --help)\n");
            return EB_EXIT_USAGE;
        }
        ret = eb_job_spec_set_string(&spec.input, argv[optind]);
        if (ret == 0)
            ret = eb_job_spec_set_string(&spec.storage_root, output);
        if (ret == 0)
            ret = eb_job_spec_set_string(&spec.video_id, video_id);
        if (ret == 0)
            ret = eb_job_spec_set_string(&spec.config_path, config_path);
        for (int i = 0; i < nb_roots && ret == 0; i++)
            ret = eb_job_spec_add_input_root(&spec, roots[i]);
        if (ret < 0) {
            fprintf(stderr, "encbox: %s\n", eb_strerror(ret));
            code = EB_EXIT_FAILED;
            goto done;
        }
        spec.overwrite = overwrite;
        spec.thumbnails = no_thumbs ? 0 : -1;
        spec.thumbnail_at = thumb_at;
        spec.threads = threads;
        spec.encryption = (int)encrypt;
    }

    /* Configuration first, then the job over it. */
    eb_config_load(spec.config_path, &cfg, &errs);
    if (eb_config_errors_count(&errs) > 0) {
        eb_config_errors_print(&errs, stderr);
        code = EB_EXIT_USAGE;
        goto done;
    }
    {
        /* Before any work: a runaway input fails the job, not the box. */
        int64_t ceiling = cfg.limits_worker_memory > 0
                              ? cfg.limits_worker_memory
                              : eb_memory_default_ceiling(cfg.limits_max_jobs);
        if ((ret = eb_memory_ceiling_apply(ceiling)) < 0)
            fprintf(stderr, "encbox: warning: cannot set the memory ceiling: %s\n",
                    eb_strerror(ret));
    }
    if (eb_log_level_parse(cfg.log_level, &level) == 0 && level < EB_LOG_WARN)
        eb_log_set_level(level); /* the CLI is at least as quiet as the daemon */
    eb_log_set_format(strcmp(cfg.log_format, "json") == 0 ? EB_LOG_JSON : EB_LOG_TEXT);
    if (quiet) {
        eb_log_set_level(EB_LOG_ERROR);
        tty = 0;
    }
    for (int i = 0; i < verbose; i++)
        if (eb_log_get_level() < EB_LOG_TRACE)
            eb_log_set_level(eb_log_get_level() + 1);
    if (!spec_file && spec_fd < 0) {
        /* The options are checked as the configuration's settings, with
         * its messages; those that are the job's go into the spec. */
#define EB_OVERRIDE(name, value)                                                                    \
    if ((value) && eb_config_set(&cfg, name, value, &errs) < 0) {                                   \
        eb_config_errors_print(&errs, stderr);                                                      \
        code = EB_EXIT_USAGE;                                                                       \
        goto done;                                                                                  \
    }
        EB_OVERRIDE("jobs.segment_seconds", segment);
        EB_OVERRIDE("jobs.format", format);
        EB_OVERRIDE("jobs.preset", preset);
        EB_OVERRIDE("jobs.backend", backend);
        EB_OVERRIDE("jobs.fallback", fallback);
        EB_OVERRIDE("thumbnails.interval", thumb_interval);
        EB_OVERRIDE("thumbnails.width", sprite_width);
        EB_OVERRIDE("thumbnails.grid", sprite_grid);
#undef EB_OVERRIDE
        if (segment)
            spec.segment_seconds = cfg.jobs_segment_seconds;
        if (format) {
            spec.format_set = 1;
            spec.format = strcmp(cfg.jobs_format, "ts") == 0 ? EB_FORMAT_TS : EB_FORMAT_CMAF;
        }
        if (preset)
            snprintf(spec.preset, sizeof(spec.preset), "%s", cfg.jobs_preset);
        if (backend)
            snprintf(spec.backend, sizeof(spec.backend), "%s", cfg.jobs_backend);
        if (fallback)
            snprintf(spec.fallback, sizeof(spec.fallback), "%s", cfg.jobs_fallback);
        code = eb_resolve_ladder(&cfg, ladder ? ladder : cfg.jobs_ladder, &spec);
        if (code)
            goto done;
    }
    eb_job_spec_log(&spec, "transcode");
    ret = eb_job_spec_to_vod_options(&spec, &cfg, &jo, &serr);
    if (ret < 0) {
        fprintf(stderr, "encbox: %s\n", serr.message[0] ? serr.message : eb_strerror(ret));
        /* The spec's own checks: EINVAL is a bad request. */
        code = ret == EB_ERR(EINVAL) ? EB_EXIT_USAGE : eb_exit_code(ret);
        goto done;
    }
    o->cancel = &eb_cancel;
    if (tty)
        o->progress = eb_progress_line;
    if (progress_fd >= 0) {
        o->progress = eb_api_progress_report;
        o->opaque = &progress_fd;
        if (publish_gate)
            o->before_publish = eb_api_publish_gate;
    }
    {
        /* First signal: cancel cleanly (staging removed). A second one
         * gets the default action, in case a stage is stuck. */
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = eb_on_signal;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }

    ret = eb_vod_run(o, &res);
    if (tty)
        fputc('\n', stderr);
    if (ret < 0) {
        int64_t ceiling;
        if (eb_memory_ceiling_hit(ret, &ceiling))
            fprintf(stderr,
                    "encbox: %s: out of memory: the job needs more than its worker's ceiling of "
                    "%.0f MiB (limits.worker_memory; %s)\n",
                    o->input, ceiling / 1048576.0, eb_strerror(ret));
        else if (res.error_detail[0] && strstr(res.error_detail, eb_strerror(ret)))
            /* The detail names the stage and quotes the error already. */
            fprintf(stderr, "encbox: %s: %s\n", o->input, res.error_detail);
        else if (res.error_detail[0])
            fprintf(stderr, "encbox: %s: %s: %s\n", o->input, eb_strerror(ret), res.error_detail);
        else
            fprintf(stderr, "encbox: %s: %s\n", o->input, eb_strerror(ret));
        if (res.fell_back)
            fprintf(stderr, "encbox: note: %s\n", res.backend_note);
        code = eb_exit_code(ret);
        goto done;
    }
    if (progress_fd >= 0)
        eb_api_progress_result(progress_fd, &res);
    if (stats_json && eb_job_stats_write(stats_json, &res) < 0)
        fprintf(stderr, "encbox: warning: cannot write %s\n", stats_json);
    if (quiet) {
        /* -q: errors only; the job's figures went to --progress-fd/--stats-json. */
        code = EB_EXIT_OK;
        goto done;
    }
    if (res.fell_back)
        fprintf(stderr, "encbox: note: %s\n", res.backend_note);
    if (res.damaged)
        fprintf(stderr, "encbox: warning: %lld damaged packets/frames were concealed\n",
                (long long)res.damaged);
    printf("encbox: published %s (%.2f s, %d rungs, backend %s, %.1f s wall, %.2fx realtime)\n",
           res.output_dir, res.duration, res.nb_rungs, res.backend, res.wall_seconds,
           res.wall_seconds > 0 ? res.duration / res.wall_seconds : 0.0);
    eb_print_published(&res, o->format);
    for (int i = 0; i < res.nb_rungs; i++)
        printf("  %-6s %4dx%-4d %6.0f kb/s target, %6.0f kb/s actual, %lld frames, %d segments\n",
               res.rungs[i].name, res.rungs[i].width, res.rungs[i].height,
               res.rungs[i].bitrate / 1000.0,
               res.duration > 0 ? res.rungs[i].video_bytes * 8 / res.duration / 1000.0 : 0.0,
               (long long)res.rungs[i].frames, res.rungs[i].nb_segments);
    for (int k = 0; k < res.nb_audio; k++)
        printf("  audio  %s (%s%s%d ch)%s\n", res.audio[k].label,
               res.audio[k].language[0] ? res.audio[k].language : "language undetermined", ", ",
               res.audio[k].channels, res.audio[k].is_default ? ", default" : "");
    if (res.audio_note[0])
        fprintf(stderr, "encbox: note: %s\n", res.audio_note);
    if (res.encryption != EB_ENCRYPT_NONE)
        printf("  encrypted %s, key id %s (%.2f s encrypting); %s: %s\n",
               eb_encryption_scheme_name(res.encryption), res.key_id, res.encrypt_seconds,
               res.encryption == EB_ENCRYPT_AES128 ? "key" : "ClearKey license", res.license_url);
    if (res.protection_note[0])
        fprintf(stderr, "encbox: note: %s\n", res.protection_note);
    printf("  decoded %lld frames once (%lld packets), %lld damaged\n",
           (long long)res.frames_decoded, (long long)res.source_packets, (long long)res.damaged);
    if (res.decode_note[0])
        printf("  video %s\n", res.decode_note);
    printf("  device copies: %lld uploads (host to device), %lld downloads (device to host)\n",
           (long long)res.device_uploads, (long long)res.device_downloads);
    code = EB_EXIT_OK;
done:
    eb_job_spec_clear(&spec);
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
    return code;
}

/* The table and JSON live with the HAL (hal/eb_hal_cli.c). */
static int cmd_devices(int argc, char **argv) { return eb_hal_cli_devices(argc, argv); }

int main(int argc, char **argv)
{
    /* The command line is quiet by default: its own summary and errors. */
    eb_log_set_level(EB_LOG_WARN);
    eb_log_capture_libav();
    if (argc < 2) {
        usage(stderr);
        return EB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("encbox %s\n", EB_VERSION);
        return EB_EXIT_OK;
    }
    if (!strcmp(argv[1], "transcode"))
        return cmd_transcode(argc - 1, argv + 1);
    if (!strcmp(argv[1], "live"))
        return cmd_live(argc - 1, argv + 1);
    if (!strcmp(argv[1], "devices"))
        return cmd_devices(argc - 1, argv + 1);
    if (!strcmp(argv[1], "config"))
        return eb_config_cli(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench"))
        return eb_bench_cli(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve")) {
        eb_api_set_capacity_reader(eb_bench_capacity_json); /* limits.bench_report */
        return eb_api_serve_cli(argc - 1, argv + 1);
    }
    fprintf(stderr, "encbox: unknown command '%s' (see encbox --help)\n", argv[1]);
    return EB_EXIT_USAGE;
}
