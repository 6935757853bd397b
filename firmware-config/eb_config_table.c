/*
 * The settings tables. Every setting of encbox.yaml is one row here: name,
 * type, where it lives in EbConfig, default, bounds or allowed values, extra
 * check, whether a running daemon can apply a change, and help text. The
 * loader, the validator, eb_config_defaults(), `config show`, the example
 * file and SETTINGS.md all read these rows and nothing else, so adding a
 * setting is adding a row (and a field, and a test row in test_config.c).
 *
 * Records that repeat (ladder presets, their rungs, device entries) have
 * their own small tables of the same shape.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eb_config_internal.h"

/* ---- allowed values -------------------------------------------------- */

const char *const eb_cfg_backend_names[] = {"nvidia", "vaapi", "qsv", "software", NULL};
static const char *const eb_backend_or_auto[] = {"auto", "nvidia",   "vaapi",
                                                 "qsv",  "software", NULL};
static const char *const eb_fallback_values[] = {"auto", "none",     "nvidia", "vaapi",
                                                 "qsv",  "software", NULL};
static const char *const eb_format_values[] = {"cmaf", "ts", NULL};
static const char *const eb_preset_values[] = {"ultrafast", "superfast", "veryfast", "faster",
                                               "fast",      "medium",    "slow",     "slower",
                                               "veryslow",  "placebo",   NULL};
static const char *const eb_log_level_values[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const eb_log_format_values[] = {"text", "json", NULL};
static const char *const eb_codec_values[] = {"h264", "hevc", NULL};
static const char *const eb_profile_values[] = {"", "baseline", "main", "high", NULL};

int eb_cfg_backend_default_max_height(const char *backend)
{
    /* H.264 hardware encoders (NVENC, VA-API, QSV) top out at 4096 pixels a
     * side, so a 16:9 rung fits up to 2160 tall; libx264 follows the
     * H.264 level limits, which allow 8K UHD. */
    return strcmp(backend, "software") == 0 ? 4320 : 2160;
}

/* ---- checks for strings ---------------------------------------------- */

int eb_cfg_valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static const char *eb_check_appliance_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return "1 to 63 letters, digits, '.', '_' or '-'";
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return "1 to 63 letters, digits, '.', '_' or '-'";
    return NULL;
}

/* jobs.database: a path (checked as one), or a PostgreSQL URL. */
static const char *eb_check_database(const char *s)
{
    const char *scheme = strstr(s, "://");
    if (!scheme)
        return NULL;
    if ((!strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11)) &&
        !strpbrk(s, " \t\r\n"))
        return NULL;
    return "a SQLite path, or a postgresql:// URL";
}

static const char *eb_check_rung_name(const char *s)
{
    if (!eb_cfg_valid_name(s, EB_RUNG_NAME_MAX))
        return "1 to 15 letters, digits, '_' or '-'";
    if (strcmp(s, "audio") == 0)
        return "a name other than 'audio' (the audio rendition's folder)";
    return NULL;
}

static const char *eb_check_ladder_name(const char *s)
{
    return eb_cfg_valid_name(s, EB_LADDER_NAME_MAX) ? NULL : "1 to 31 letters, digits, '_' or '-'";
}

static const char *eb_check_device(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return "\"*\" or a device name of 1 to 63 characters";
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return "\"*\" or a device name without spaces";
    return NULL;
}

static int eb_port_ok(const char *p)
{
    char *end;
    long v;
    if (*p < '0' || *p > '9')
        return 0;
    v = strtol(p, &end, 10);
    return *end == '\0' && v >= 1 && v <= 65535;
}

static const char *eb_check_listen(const char *s)
{
    static const char want[] = "HOST:PORT with an IPv4 address, [IPv6] or localhost, "
                               "like 127.0.0.1:8080 or [::1]:8080";
    char host[64];
    const char *colon;
    unsigned char addr[16];
    size_t n;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return want;
        n = (size_t)(close - s - 1);
        if (n == 0 || n >= sizeof(host))
            return want;
        memcpy(host, s + 1, n);
        host[n] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            return want;
        return eb_port_ok(close + 2) ? NULL : want;
    }
    colon = strrchr(s, ':');
    if (!colon)
        return want;
    n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof(host))
        return want;
    memcpy(host, s, n);
    host[n] = '\0';
    if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, addr) != 1)
        return want;
    return eb_port_ok(colon + 1) ? NULL : want;
}

/* A live ingest listener (live.srt_listen, live.rtmp_listen): api.listen's
 * syntax, or "" for off. */
static const char *eb_check_ingest_listen(const char *s)
{
    static const char want[] = "\"\" (off) or HOST:PORT with an IPv4 address, [IPv6] or "
                               "localhost, like 0.0.0.0:9000 or [::]:9000";
    return !*s || !eb_check_listen(s) ? NULL : want;
}

/* live.public_host: what publishers dial, printed into ingest URLs, so
 * nothing that would need escaping there: a DNS name, an IPv4 address, or
 * an IPv6 address (bracketed or not). */
static const char *eb_check_public_host(const char *s)
{
    static const char want[] = "\"\" or a host name or address without a port, like "
                               "ingest.example.com, 192.0.2.7 or [2001:db8::7]";
    unsigned char addr[16];
    char host[64];
    size_t n = strlen(s);

    if (n == 0)
        return NULL;
    if (s[0] == '[') {
        if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(host))
            return want;
        memcpy(host, s + 1, n - 2);
        host[n - 2] = '\0';
        return inet_pton(AF_INET6, host, addr) == 1 ? NULL : want;
    }
    if (strchr(s, ':'))
        return inet_pton(AF_INET6, s, addr) == 1 ? NULL : want;
    if (n > 253 || s[0] == '.' || s[0] == '-')
        return want;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-'))
            return want;
    return NULL;
}

/* scheme://host[:port] with nothing after; host is letters, digits, '.',
 * '-' or a bracketed IPv6 address. rest receives what follows the
 * authority. */
static int eb_parse_http_authority(const char *s, const char **rest)
{
    const char *p;
    if (strncmp(s, "https://", 8) == 0)
        p = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        p = s + 7;
    else
        return 0;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close == p + 1)
            return 0;
        for (const char *q = p + 1; q < close; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
                return 0;
        p = close + 1;
    } else {
        const char *h = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '.' || *p == '-')
            p++;
        if (p == h)
            return 0;
    }
    if (*p == ':') {
        const char *port = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == port || p - port > 5 || atoi(port) < 1 || atoi(port) > 65535)
            return 0;
    }
    *rest = p;
    return 1;
}

static const char *eb_check_origin(const char *s)
{
    static const char want[] = "\"*\" or an origin like https://app.example.com:8443 "
                               "(scheme, host, optional port; no path)";
    const char *rest;
    if (strcmp(s, "*") == 0)
        return NULL;
    return eb_parse_http_authority(s, &rest) && *rest == '\0' ? NULL : want;
}

static const char *eb_check_base_url(const char *s)
{
    static const char want[] = "\"\" or an http:// or https:// URL without query or fragment";
    const char *rest;
    if (*s == '\0')
        return NULL;
    if (!eb_parse_http_authority(s, &rest) || (*rest != '\0' && *rest != '/'))
        return want;
    for (; *rest; rest++)
        if (*rest == '?' || *rest == '#' || (unsigned char)*rest <= ' ' ||
            (unsigned char)*rest >= 0x7f)
            return want;
    return NULL;
}

/* ---- sections (for the writers) -------------------------------------- */

static const EbCfgSection eb_sections[] = {
    {"storage", "Where encbox keeps its files. Published videos live under "
                "<root>/videos/<id>/, jobs in progress under the staging folder, "
                "which must be on the same file system as the root so publishing is "
                "one atomic rename."},
    {"inputs", "What a job submitted through the API may read. The one-shot CLI "
               "(`encbox transcode`) is run by the operator and is not restricted."},
    {"api", "The local control API and the origin that serves the storage tree."},
    {"jobs", "The job database and the defaults a job gets when it does not say."},
    {"backends", "Hardware backends."},
    {"thumbnails", "Thumbnails and sprite sheets for scrubbing previews."},
    {"limits", "Limits on what the box accepts."},
    {"live", "Live channels (the API's /v1/channels): the addresses publishers send their "
             "streams to, as the channels' ingest URLs print them, and the defaults a new "
             "channel gets."},
    {"webhooks", "Events of jobs and channels POSTed to an integrator, signed."},
    {"log", "Logging, on stderr."},
    {NULL, NULL},
};

const EbCfgSection *eb_cfg_section(const char *name)
{
    for (int i = 0; eb_sections[i].name; i++)
        if (strcmp(eb_sections[i].name, name) == 0)
            return &eb_sections[i];
    return NULL;
}

/* ---- the tables ------------------------------------------------------- */

#define CFG(f) offsetof(EbConfig, f)
#define RT EB_SETTING_RUNTIME

static const EbSetting eb_settings[] = {
    {"name", EB_SETTING_STRING, 0, CFG(name), 0, "encbox", 0, 0, NULL, eb_check_appliance_name, RT,
     "This box's name in logs, metrics and the API's health report. In a rack (jobs.database "
     "on PostgreSQL) it names the box in GET /v1/boxes and in each job's \"box\", so every "
     "box needs its own."},

    {"storage.root", EB_SETTING_PATH, 0, CFG(storage_root), 0, "/var/lib/encbox", 0, 0, NULL, NULL,
     EB_SETTING_NONEMPTY, "Absolute path of the storage tree."},
    {"storage.uploads", EB_SETTING_PATH, 0, CFG(storage_uploads), 0, "uploads", 0, 0, NULL, NULL,
     EB_SETTING_NONEMPTY | EB_SETTING_RELATIVE,
     "Files uploaded through the API wait here for their job. Relative paths are under "
     "storage.root."},

    {"storage.s3.endpoint", EB_SETTING_STRING, 0, CFG(s3_endpoint), 0, "", 0, 0, NULL,
     eb_check_base_url, RT,
     "S3-compatible object store a finished video is copied to (its tree under "
     "<prefix>videos/<id>/, manifests last), e.g. https://s3.eu-west-1.amazonaws.com. A failed "
     "upload fails the job and leaves no manifest. Empty: local storage only."},
    {"storage.s3.bucket", EB_SETTING_STRING, 0, CFG(s3_bucket), 0, "", 0, 0, NULL, NULL, RT,
     "The bucket (it must exist)."},
    {"storage.s3.region", EB_SETTING_STRING, 0, CFG(s3_region), 0, "us-east-1", 0, 0, NULL, NULL,
     RT, "The region requests are signed for (SigV4)."},
    {"storage.s3.prefix", EB_SETTING_STRING, 0, CFG(s3_prefix), 0, "", 0, 0, NULL, NULL, RT,
     "Key prefix before videos/<id>/ (\"tenant-a/\"); empty: the bucket's top."},
    {"storage.s3.credentials_file", EB_SETTING_PATH, 0, CFG(s3_credentials_file), 0, "", 0, 0, NULL,
     NULL, RT,
     "AWS shared-credentials file (mode 0600; [default] aws_access_key_id, "
     "aws_secret_access_key, aws_session_token). Empty: the AWS_ACCESS_KEY_ID, "
     "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN environment variables."},
    {"storage.s3.path_style", EB_SETTING_BOOL, 0, CFG(s3_path_style), 0, "true", 0, 0, NULL, NULL,
     RT, "Path-style URLs (<endpoint>/<bucket>/<key>); false: <bucket>.<endpoint host>."},
    {"storage.s3.part_size", EB_SETTING_SIZE, 0, CFG(s3_part_size), 0, "16M", 5242880, 5368709120.0,
     NULL, NULL, RT, "Objects larger than this go up as multipart uploads in parts of this size."},
    {"storage.s3.public_base_url", EB_SETTING_STRING, 0, CFG(s3_public_base_url), 0, "", 0, 0, NULL,
     eb_check_base_url, RT,
     "Where players reach the bucket (a CDN in front of it), for the job's object_store "
     "links. Empty: the endpoint and bucket."},

    {"inputs.roots", EB_SETTING_LIST, EB_SETTING_PATH, CFG(input_roots), 0, "", 0, 0, NULL, NULL,
     RT,
     "Folders whose files (and sub-folders) a job may read. Empty: a job may only use "
     "uploads and URLs."},
    {"api.listen", EB_SETTING_LIST, EB_SETTING_STRING, CFG(api_listen), 0, "127.0.0.1:8080", 0, 0,
     NULL, eb_check_listen, EB_SETTING_NONEMPTY,
     "Addresses the API listens on. A non-loopback address needs api.token_files."},
    {"api.tls_cert", EB_SETTING_PATH, 0, CFG(api_tls_cert), 0, "", 0, 0, NULL, NULL, 0,
     "PEM certificate chain; with api.tls_key, the API speaks HTTPS only. Empty: plain HTTP."},
    {"api.tls_key", EB_SETTING_PATH, 0, CFG(api_tls_key), 0, "", 0, 0, NULL, NULL, 0,
     "PEM private key for api.tls_cert."},
    {"api.token_files", EB_SETTING_LIST, EB_SETTING_PATH, CFG(api_token_files), 0, "", 0, 0, NULL,
     NULL, RT,
     "Files each holding one bearer token that the API accepts. Tokens are read when the "
     "daemon starts or reloads, never logged and never shown; rotate one by rewriting its "
     "file and sending SIGHUP. Empty: no authentication (loopback listeners only)."},
    {"api.cors_origins", EB_SETTING_LIST, EB_SETTING_STRING, CFG(api_cors_origins), 0, "", 0, 0,
     NULL, eb_check_origin, RT,
     "Browser origins allowed to call the API and fetch media (CORS). \"*\" allows any."},
    {"api.public_base_url", EB_SETTING_STRING, 0, CFG(api_public_base_url), 0, "", 0, 0, NULL,
     eb_check_base_url, RT,
     "Base URL that players reach the origin at, used in the links the API returns. Empty: "
     "built from each request's Host header."},
    {"api.signing_key_file", EB_SETTING_PATH, 0, CFG(api_signing_key_file), 0, "", 0, 0, NULL, NULL,
     RT,
     "File holding the key that signs media links (expiring URLs). Empty: links are not "
     "signed. The key is never logged or shown."},
    {"api.link_lifetime", EB_SETTING_DURATION, 0, CFG(api_link_lifetime), 0, "1h", 60, 2592000,
     NULL, NULL, RT, "How long a signed media link stays valid."},
    {"api.metrics_auth", EB_SETTING_BOOL, 0, CFG(api_metrics_auth), 0, "false", 0, 0, NULL, NULL,
     RT,
     "Require the bearer token on /metrics too (Prometheus then needs it). Default: open, "
     "like /v1/health, for scrapers on a trusted network."},

    {"jobs.database", EB_SETTING_PATH, 0, CFG(jobs_database), 0, "jobs.db", 0, 0, NULL,
     eb_check_database, EB_SETTING_NONEMPTY | EB_SETTING_RELATIVE,
     "Where the jobs are kept, so a restart loses none: a SQLite file (relative paths are "
     "under storage.root), or a PostgreSQL URL (postgresql://user@host:5432/encbox) that "
     "every box of a rack shares as one job queue. Its password belongs in ~/.pgpass or "
     "PGPASSWORD, not here."},
    {"jobs.lease", EB_SETTING_DURATION, 0, CFG(jobs_lease), 0, "30s", 3, 600, NULL, NULL, 0,
     "How long a box's claim on a running job lasts without renewal (renewed every third of "
     "it). A box that dies loses its jobs to the other boxes of the rack within this time."},
    {"jobs.history_retention", EB_SETTING_DURATION, 0, CFG(jobs_history), 0, "30d", 3600, 315360000,
     NULL, NULL, RT | EB_SETTING_ZERO_OK,
     "How long finished jobs stay in the database. 0 keeps them forever."},
    {"jobs.backend", EB_SETTING_ENUM, 0, CFG(jobs_backend), sizeof(((EbConfig *)0)->jobs_backend),
     "auto", 0, 0, eb_backend_or_auto, NULL, RT,
     "Backend a job runs on when it names none. auto: the first usable one in "
     "backends.enabled."},
    {"jobs.fallback", EB_SETTING_ENUM, 0, CFG(jobs_fallback),
     sizeof(((EbConfig *)0)->jobs_fallback), "auto", 0, 0, eb_fallback_values, NULL, RT,
     "What a job does when its backend fails or is unusable: auto (next enabled backend, "
     "reported in the job's status), none (fail the job), or a named backend."},
    {"jobs.segment_seconds", EB_SETTING_DOUBLE, 0, CFG(jobs_segment_seconds), 0, "6", 1, 60, NULL,
     NULL, RT, "Segment length. Every rung starts an IDR frame at each segment boundary."},
    {"jobs.format", EB_SETTING_ENUM, 0, CFG(jobs_format), sizeof(((EbConfig *)0)->jobs_format),
     "cmaf", 0, 0, eb_format_values, NULL, RT,
     "Packaging: cmaf (fMP4 segments for HLS and DASH) or ts (MPEG-TS, HLS only)."},
    {"jobs.preset", EB_SETTING_ENUM, 0, CFG(jobs_preset), sizeof(((EbConfig *)0)->jobs_preset),
     "veryfast", 0, 0, eb_preset_values, NULL, RT,
     "Encoder speed preset (x264 names; hardware backends map them to their own scale)."},
    {"jobs.ladder", EB_SETTING_STRING, 0, CFG(jobs_ladder), sizeof(((EbConfig *)0)->jobs_ladder),
     "default", 0, 0, NULL, eb_check_ladder_name, RT,
     "Ladder preset a job gets when it names none; one of the names under ladders."},

    {"backends.enabled", EB_SETTING_LIST, EB_SETTING_ENUM, CFG(backends_enabled), 0,
     "nvidia, vaapi, qsv, software", 0, 0, eb_cfg_backend_names, NULL, EB_SETTING_NONEMPTY,
     "Backends encbox may use, in order of preference. A listed backend whose driver or "
     "device is missing is reported as unavailable, with the reason, and skipped."},

    {"devices", EB_SETTING_DEVICES, 0, CFG(devices), 0, NULL, 0, 0, NULL, NULL, RT,
     "Per-device limits; a list of entries with the fields below. Devices without an entry "
     "get their backend's own session limit and no memory budget."},

    {"ladders", EB_SETTING_LADDERS, 0, CFG(ladders), 0, NULL, 0, 0, NULL, NULL, RT,
     "Ladder presets by name, each a list of rungs (tallest first; encbox sorts them) and "
     "an audio rendition. `default` is the product's ladder; a preset named default here "
     "replaces it, other names add presets. The same syntax is what `encbox transcode "
     "--ladder FILE` reads and what the API's job JSON carries in \"ladder\"."},

    {"thumbnails.enabled", EB_SETTING_BOOL, 0, CFG(thumbs_enabled), 0, "true", 0, 0, NULL, NULL, RT,
     "Make thumbnails, sprite sheets and a WebVTT index for every job."},
    {"thumbnails.interval", EB_SETTING_DOUBLE, 0, CFG(thumbs_interval), 0, "5", 1, 3600, NULL, NULL,
     RT, "Seconds of video between two thumbnails."},
    {"thumbnails.width", EB_SETTING_INT, 0, CFG(thumbs_width), 0, "160", 32, 1920, NULL, NULL,
     RT | EB_SETTING_EVEN, "Width of one sprite tile in pixels; height follows the aspect."},
    {"thumbnails.grid", EB_SETTING_DIM, 0, CFG(thumbs_grid), 0, "10x10", 1, 20, NULL, NULL, RT,
     "Tiles per sprite sheet, COLUMNSxROWS."},

    {"limits.max_jobs", EB_SETTING_INT, 0, CFG(limits_max_jobs), 0, "4", 1, 256, NULL, NULL, RT,
     "Jobs running at once; more wait in the queue."},
    {"limits.max_input_size", EB_SETTING_SIZE, 0, CFG(limits_max_input_size), 0, "50G", 1048576,
     70368744177664.0, NULL, NULL, RT,
     "Largest input file or upload, in bytes (K, M, G, T are powers of 1024)."},
    {"limits.max_duration", EB_SETTING_DURATION, 0, CFG(limits_max_duration), 0, "12h", 1, 604800,
     NULL, NULL, RT, "Longest input accepted."},
    {"limits.worker_memory", EB_SETTING_SIZE, 0, CFG(limits_worker_memory), 0, "0", 268435456,
     1099511627776.0, NULL, NULL, RT | EB_SETTING_ZERO_OK,
     "Memory one job's worker (`encbox transcode`) may allocate (RLIMIT_DATA), in bytes (K, M, "
     "G, T are powers of 1024): past it allocations fail and the job fails saying so, so a "
     "runaway input cannot take the box's memory. 0 = this machine's memory divided by "
     "limits.max_jobs, at least 2G. A 1080p ladder's worker uses about 400M and needs about "
     "700M."},
    {"limits.max_resolution", EB_SETTING_DIM, 0, CFG(limits_max_resolution), 0, "7680x4320", 16,
     16384, NULL, NULL, RT,
     "Largest input picture, WIDTHxHEIGHT; portrait inputs are compared turned on their side."},

    {"limits.bench_report", EB_SETTING_PATH, 0, CFG(limits_bench_report), 0, "", 0, 0, NULL, NULL,
     0,
     "An `encbox bench` report measured on this box (its bench.json, or the bench-live.json "
     "of `encbox bench --live`): the capacity GET /v1/boxes reports for the box comes from it "
     "(hours of media transcoded per wall hour, ladders at real time, live channels kept). "
     "Empty: none is reported. A file that is not such a report stops the daemon from "
     "starting."},

    {"live.srt_listen", EB_SETTING_STRING, 0, CFG(live_srt_listen), 0, "", 0, 0, NULL,
     eb_check_ingest_listen, 0,
     "Address the SRT ingest listens on (UDP), HOST:PORT; 0.0.0.0 or [::] for every interface. "
     "Empty: no SRT ingest, and channels show no SRT URL. `encbox serve --srt-listen` "
     "overrides it."},
    {"live.rtmp_listen", EB_SETTING_STRING, 0, CFG(live_rtmp_listen), 0, "", 0, 0, NULL,
     eb_check_ingest_listen, 0,
     "Address the RTMP ingest listens on (TCP, not a port of api.listen), HOST:PORT. Empty: no "
     "RTMP ingest, and channels show no RTMP URL. `encbox serve --rtmp-listen` overrides it."},
    {"live.public_host", EB_SETTING_STRING, 0, CFG(live_public_host), 0, "", 0, 0, NULL,
     eb_check_public_host, 0,
     "Host name or address publishers dial, as the channels' ingest URLs print it. Empty: the "
     "listen host, or this machine's host name when the listener is on 0.0.0.0 or [::]."},
    {"live.segment_seconds", EB_SETTING_DOUBLE, 0, CFG(live_segment_seconds), 0, "2", 1, 10, NULL,
     NULL, 0,
     "Segment length of a channel that names none. Shorter segments mean less latency and a "
     "little more bitrate."},
    {"live.part_seconds", EB_SETTING_DOUBLE, 0, CFG(live_part_seconds), 0, "0.334", 0.1, 5, NULL,
     NULL, 0,
     "Part target of a low-latency channel that names none (LL-HLS parts; capped at half the "
     "channel's segment). Every part is at most this long; players start about three parts "
     "behind the live edge."},
    {"live.window_seconds", EB_SETTING_DOUBLE, 0, CFG(live_window_seconds), 0, "60", 3, 21600, NULL,
     NULL, 0,
     "Seconds of media a channel's live playlists offer (the window a player can seek back "
     "in) when the channel names none; at least 3 segments."},
    {"live.worker_timeout_seconds", EB_SETTING_DOUBLE, 0, CFG(live_worker_timeout), 0, "20", 2, 600,
     NULL, NULL, 0,
     "A channel's worker that reports nothing for this long while its publisher sends is taken "
     "as hung: it is killed and restarted, and the stream goes on after a discontinuity."},
    {"live.capacity_mpixels", EB_SETTING_DOUBLE, 0, CFG(live_capacity_mpixels), 0, "0", 0, 1000000,
     NULL, NULL, 0,
     "Live encoding this box carries in real time, in megapixels per second of output (a "
     "channel costs the sum of width x height x frame rate over its rungs); a publisher whose "
     "channel would go past it is refused, so running channels never slow down. 0: the "
     "software backend's estimate, 60 per online core (`encbox bench --live` sustained 70 per "
     "core; benchmarks/README.md, \"Live\"); `encbox bench --live` measures this box."},

    {"chat.max_chars", EB_SETTING_INT, 0, CFG(chat_max_chars), 0, "500", 1, 4000, NULL, NULL, 0,
     "Characters of a live chat message at most; a longer one is refused with a message to "
     "its sender."},
    {"chat.messages_per_second", EB_SETTING_DOUBLE, 0, CFG(chat_rate), 0, "2", 0.1, 50, NULL, NULL,
     0,
     "Chat messages and reactions one viewer's connection may send a second (five at once "
     "after a pause); past it the sender is told and the message dropped."},
    {"chat.channel_messages_per_second", EB_SETTING_DOUBLE, 0, CFG(chat_channel_rate), 0, "50", 1,
     10000, NULL, NULL, 0,
     "Chat messages and reactions one channel takes a second on this box, all its viewers "
     "together (twice that at once); past it the sender is told to try again. It bounds the "
     "fan-out: every item is one frame to every viewer (benchmarks/chat.sh: about 170,000 "
     "a second on 2 cores)."},
    {"chat.viewers_per_channel", EB_SETTING_INT, 0, CFG(chat_viewers), 0, "500", 1, 1000, NULL,
     NULL, 0,
     "Chat connections one channel takes on this box; the next is refused (503). Every "
     "WebSocket of the box, chat and the console's, counts towards 1024."},
    {"chat.history", EB_SETTING_INT, 0, CFG(chat_history), 0, "100", 0, 1000, NULL, NULL, 0,
     "Newest chat items a viewer gets when it joins a channel's chat."},
    {"chat.keep_days", EB_SETTING_INT, 0, CFG(chat_keep_days), 0, "30", 1, 3650, NULL, NULL, 0,
     "Days a chat item is kept (for the recordings' replay); older ones are removed every "
     "hour."},

    {"webhooks.url", EB_SETTING_STRING, 0, CFG(webhooks_url), 0, "", 0, 0, NULL, eb_check_base_url,
     0,
     "Where the daemon POSTs job and channel events (queued, started, progress, succeeded "
     "with output URLs, failed with the error, channel live and ended, recording published) "
     "as signed JSON, retried with back-off (api/README.md, \"Webhooks\"). Empty: none."},
    {"webhooks.secret_file", EB_SETTING_PATH, 0, CFG(webhooks_secret_file), 0, "", 0, 0, NULL, NULL,
     0,
     "File (mode 0600) whose first line is the secret that signs every webhook "
     "(Encbox-Signature: HMAC-SHA256 over the timestamp and the body). Empty: unsigned."},

    {"log.level", EB_SETTING_ENUM, 0, CFG(log_level), sizeof(((EbConfig *)0)->log_level), "info", 0,
     0, eb_log_level_values, NULL, RT, "Least severe messages written."},
    {"log.format", EB_SETTING_ENUM, 0, CFG(log_format), sizeof(((EbConfig *)0)->log_format), "text",
     0, 0, eb_log_format_values, NULL, RT,
     "text (one readable line per message) or json (JSON lines, for log collectors)."},
};

_Static_assert(sizeof(eb_settings) / sizeof(eb_settings[0]) == EB_CONFIG_NB_SETTINGS,
               "EB_CONFIG_NB_SETTINGS must match the settings table");

#define LAD(f) offsetof(EbLadder, f)
static const EbSetting eb_ladder_settings[] = {
    {"name", EB_SETTING_STRING, 0, LAD(name), sizeof(((EbLadder *)0)->name), NULL, 0, 0, NULL,
     eb_check_ladder_name, EB_SETTING_FILE_ONLY,
     "Ladder files only: the ladder's name (default: the file's base name)."},
    {"rungs", EB_SETTING_RUNGS, 0, LAD(rungs), 0, NULL, 0, 0, NULL, NULL, EB_SETTING_REQUIRED,
     "Video rungs, at most 8, with the fields below."},
    {"audio.bitrate", EB_SETTING_BITRATE, 0, LAD(audio_bitrate), 0, "128k", 16000, 512000, NULL,
     NULL, EB_SETTING_ZERO_OK, "AAC bitrate of the audio rendition; 0 drops audio."},
    {"audio.channels", EB_SETTING_INT, 0, LAD(audio_channels), 0, "2", 1, 2, NULL, NULL,
     EB_SETTING_ZERO_OK, "1 (mono) or 2 (stereo); 0 keeps the source's layout, up to stereo."},
};

#define RUNG(f) offsetof(EbRung, f)
static const EbSetting eb_rung_settings[] = {
    {"name", EB_SETTING_STRING, 0, RUNG(name), sizeof(((EbRung *)0)->name), NULL, 0, 0, NULL,
     eb_check_rung_name, EB_SETTING_REQUIRED,
     "Rung name, unique in its ladder; also its output folder (\"720p\")."},
    {"height", EB_SETTING_INT, 0, RUNG(height), 0, NULL, 16, 8640, NULL, NULL,
     EB_SETTING_REQUIRED | EB_SETTING_EVEN,
     "Short side of the output picture in pixels (so portrait sources stay portrait). "
     "Rungs taller than the source are skipped."},
    {"bitrate", EB_SETTING_BITRATE, 0, RUNG(bitrate), 0, NULL, 16000, 500000000, NULL, NULL,
     EB_SETTING_REQUIRED, "Target video bitrate."},
    {"maxrate", EB_SETTING_BITRATE, 0, RUNG(maxrate), 0, "0", 16000, 500000000, NULL, NULL,
     EB_SETTING_ZERO_OK, "Peak bitrate (VBV); 0 = 1.07 x bitrate. Not below bitrate."},
    {"bufsize", EB_SETTING_BITRATE, 0, RUNG(bufsize), 0, "0", 16000, 1000000000, NULL, NULL,
     EB_SETTING_ZERO_OK, "VBV buffer size in bits; 0 = 1.5 x bitrate."},
    {"codec", EB_SETTING_ENUM, 0, RUNG(codec), sizeof(((EbRung *)0)->codec), "h264", 0, 0,
     eb_codec_values, NULL, 0,
     "Video codec: h264, or hevc (HEVC Main, 8-bit; CMAF only). Every rung of a ladder uses the "
     "same codec."},
    {"profile", EB_SETTING_ENUM, 0, RUNG(profile), sizeof(((EbRung *)0)->profile), "", 0, 0,
     eb_profile_values, NULL, 0,
     "Profile: baseline, main or high for h264, main for hevc; \"\" lets the encoder choose "
     "for the rung."},
    {"max_fps", EB_SETTING_DOUBLE, 0, RUNG(max_fps), 0, "0", 1, 300, NULL, NULL, EB_SETTING_ZERO_OK,
     "Frame-rate cap (frames are dropped evenly); 0 keeps the source's."},
};

#define DEV(f) offsetof(EbDeviceLimit, f)
static const EbSetting eb_device_settings[] = {
    {"backend", EB_SETTING_ENUM, 0, DEV(backend), sizeof(((EbDeviceLimit *)0)->backend), NULL, 0, 0,
     eb_cfg_backend_names, NULL, EB_SETTING_REQUIRED, "Backend of the device."},
    {"device", EB_SETTING_STRING, 0, DEV(device), sizeof(((EbDeviceLimit *)0)->device), "*", 0, 0,
     NULL, eb_check_device, 0,
     "\"*\" for every device of the backend, or one device as `encbox devices` names it "
     "(cuda:0, /dev/dri/renderD128, cpu)."},
    {"max_sessions", EB_SETTING_INT, 0, DEV(max_sessions), 0, "0", 1, 256, NULL, NULL,
     EB_SETTING_ZERO_OK,
     "Encode sessions open at once on the device; 0 = the backend's own limit."},
    {"memory_budget", EB_SETTING_SIZE, 0, DEV(memory_budget), 0, "0", 67108864, 1099511627776.0,
     NULL, NULL, EB_SETTING_ZERO_OK,
     "Device memory jobs may take, in bytes (K, M, G, T are powers of 1024); 0 = no budget."},
    {"max_height", EB_SETTING_INT, 0, DEV(max_height), 0, "0", 16, 8640, NULL, NULL,
     EB_SETTING_ZERO_OK,
     "Tallest rung the device may encode; 0 = the backend's usual limit (2160 for hardware "
     "H.264 encoders, 4320 for software)."},
};

const EbSetting *eb_config_settings(int *nb)
{
    *nb = (int)(sizeof(eb_settings) / sizeof(eb_settings[0]));
    return eb_settings;
}

const EbSetting *eb_config_ladder_settings(int *nb)
{
    *nb = (int)(sizeof(eb_ladder_settings) / sizeof(eb_ladder_settings[0]));
    return eb_ladder_settings;
}

const EbSetting *eb_config_rung_settings(int *nb)
{
    *nb = (int)(sizeof(eb_rung_settings) / sizeof(eb_rung_settings[0]));
    return eb_rung_settings;
}

const EbSetting *eb_config_device_settings(int *nb)
{
    *nb = (int)(sizeof(eb_device_settings) / sizeof(eb_device_settings[0]));
    return eb_device_settings;
}

const EbSetting *eb_config_find_setting(const char *name)
{
    for (size_t i = 0; i < sizeof(eb_settings) / sizeof(eb_settings[0]); i++)
        if (strcmp(eb_settings[i].name, name) == 0)
            return &eb_settings[i];
    return NULL;
}

int eb_cfg_setting_index(const EbSetting *s)
{
    return (int)(s - eb_settings);
}
