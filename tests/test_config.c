/*
 * firmware-config: every setting parsed and bounds-checked (one test row per
 * table row, and a test that fails when a table row has no test row), each
 * kind of bad file with its exact FILE:LINE: message, defaults equal to the
 * product's, the generated example and reference equal to the committed
 * files, show/reload/CLI behaviour, and that token contents never leak.
 */
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

#include "eb_config.h"
#include "eb_config_internal.h"
#include "eb_error.h"
#include "eb_ladder.h"

static char g_tmpdir[256];

static int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(g_tmpdir, sizeof(g_tmpdir), "/tmp/eb_test_config_XXXXXX");
    return mkdtemp(g_tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes a file into the temp dir; returns its path (static buffer per call
 * slot: callers copy it if they need two). */
static const char *write_file(const char *name, const char *data, size_t len)
{
    if (len == (size_t)-1)
        len = strlen(data);
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    FILE *f;

    snprintf(p, 512, "%s/%s", g_tmpdir, name);
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

/* Loads text as "t.yaml" and returns the printed errors (caller frees). */
static char *errors_of(const char *text, EbConfig *keep)
{
    EbConfigErrors errs = {0};
    EbConfig cfg;
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);

    eb_config_load_buffer(text, strlen(text), "t.yaml", &cfg, &errs);
    eb_config_errors_print(&errs, m);
    fclose(m);
    eb_config_errors_free(&errs);
    if (keep)
        *keep = cfg;
    else
        eb_config_free(&cfg);
    return out;
}

static void assert_errors(const char *text, const char *expected)
{
    char *got = errors_of(text, NULL);
    if (strcmp(got, expected) != 0) {
        print_error("file:\n%s\nexpected:\n%sgot:\n%s", text, expected, got);
        free(got);
        fail();
    }
    free(got);
}

static char *read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults_are_the_product_defaults(void **state)
{
    EbConfig cfg;
    EbLadder ref;
    const EbLadder *lad;
    (void)state;

    assert_int_equal(eb_config_defaults(&cfg), 0);
    eb_ladder_default(&ref);
    lad = eb_config_find_ladder(&cfg, "default");
    assert_non_null(lad);
    assert_memory_equal(lad, &ref, sizeof(ref));
    assert_int_equal(lad->nb_rungs, 4);
    assert_int_equal(lad->rungs[0].bitrate, 5000000);
    assert_int_equal(eb_rung_maxrate(&lad->rungs[0]), 5350000);
    assert_int_equal(eb_rung_bufsize(&lad->rungs[0]), 7500000);
    assert_int_equal(lad->audio_bitrate, 128000);
    assert_true(cfg.jobs_segment_seconds == 6.0);
    assert_string_equal(cfg.jobs_format, "cmaf");
    assert_string_equal(cfg.jobs_preset, "veryfast");
    assert_string_equal(cfg.jobs_fallback, "auto");
    assert_string_equal(cfg.jobs_backend, "auto");
    assert_string_equal(cfg.jobs_ladder, "default");
    assert_int_equal(cfg.api_listen.nb, 1);
    assert_string_equal(cfg.api_listen.items[0], "127.0.0.1:8080");
    assert_string_equal(cfg.storage_root, "/var/lib/encbox");
    assert_string_equal(cfg.log_level, "info");
    assert_string_equal(cfg.log_format, "text");
    assert_null(cfg.path);
    for (int i = 0; i < EB_CONFIG_NB_SETTINGS; i++)
        assert_int_equal(cfg.origin[i].source, EB_CONFIG_FROM_DEFAULT);
    /* the defaults pass their own cross-field checks */
    {
        EbConfigErrors errs = {0};
        assert_int_equal(eb_config_validate(&cfg, &errs), 0);
        eb_config_errors_free(&errs);
    }
    eb_config_free(&cfg);
    eb_config_free(&cfg); /* freeing twice is harmless: the struct is zeroed */
}

static void test_no_file_at_all_runs_on_defaults(void **state)
{
    EbConfigErrors errs = {0};
    EbConfig cfg;
    (void)state;

    if (access(EB_CONFIG_DEFAULT_PATH, F_OK) == 0)
        skip(); /* this machine has a real config */
    assert_int_equal(eb_config_load(NULL, &cfg, &errs), 0);
    assert_int_equal(eb_config_errors_count(&errs), 0);
    assert_null(cfg.path);
    assert_string_equal(cfg.jobs_format, "cmaf");
    eb_config_free(&cfg);
}

/* ---- generated files ---------------------------------------------------- */

static void check_generated(const char *rel, int (*gen)(FILE *))
{
    char path[512], *want, *got = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&got, &len);

    assert_int_equal(gen(m), 0);
    fclose(m);
    snprintf(path, sizeof(path), "%s/%s", EB_SOURCE_DIR, rel);
    want = read_whole(path);
    if (!want || strcmp(want, got) != 0) {
        print_error("%s is out of date with the settings table; regenerate it with "
                    "`cmake --build BUILD --target config-example`\n",
                    rel);
        free(want);
        free(got);
        fail();
    }
    free(want);
    free(got);
}

static void test_example_file_is_generated_from_table(void **state)
{
    (void)state;
    check_generated("firmware-config/encbox.example.yaml", eb_config_write_example);
    check_generated("firmware-config/SETTINGS.md", eb_config_write_docs);
}

static void test_example_file_loads_to_defaults(void **state)
{
    char path[512];
    EbConfigErrors errs = {0};
    EbConfig cfg, def;
    EbConfigDiff diff;
    (void)state;

    snprintf(path, sizeof(path), "%s/firmware-config/encbox.example.yaml", EB_SOURCE_DIR);
    assert_int_equal(eb_config_load(path, &cfg, &errs), 0);
    assert_int_equal(eb_config_errors_count(&errs), 0);
    assert_int_equal(eb_config_defaults(&def), 0);
    assert_int_equal(eb_config_diff(&def, &cfg, &diff), 0);
    /* every setting is in the example, so every value came from the file */
    for (int i = 0; i < EB_CONFIG_NB_SETTINGS; i++)
        assert_int_equal(cfg.origin[i].source, EB_CONFIG_FROM_FILE);
    assert_memory_equal(eb_config_find_ladder(&cfg, "default"),
                        eb_config_find_ladder(&def, "default"), sizeof(EbLadder));
    eb_config_free(&cfg);
    eb_config_free(&def);
}

/* ---- every setting ------------------------------------------------------ */

typedef struct SettingCase {
    const char *name;
    const char *good;    /* YAML value */
    const char *expect;  /* value after loading, as formatted below */
    const char *bad;     /* YAML value */
    const char *message; /* error for bad, without "t.yaml:LINE: " */
    const char *extra;   /* more top-level YAML the good case needs */
} SettingCase;

static const SettingCase setting_cases[] = {
    {"name", "box-7.rack2", "box-7.rack2", "bad name!",
     "'name' must be 1 to 63 letters, digits, '.', '_' or '-' (got 'bad name!')"},
    {"storage.root", "/srv/encbox", "/srv/encbox", "relative/dir",
     "'storage.root' must be an absolute path without '..' or control characters "
     "(got 'relative/dir')"},
    {"storage.uploads", "incoming", "incoming", "\"\"",
     "'storage.uploads' must be a path (got an empty value)"},
    {"inputs.roots", "[/srv/media, /mnt/nas]", "/srv/media,/mnt/nas", "[/srv/../etc]",
     "'inputs.roots[0]' must be an absolute path without '..' or control characters "
     "(got '/srv/../etc')"},
    {"api.listen", "[\"127.0.0.1:9000\", \"[::1]:8443\", \"localhost:81\"]",
     "127.0.0.1:9000,[::1]:8443,localhost:81", "[\"127.0.0.1\"]",
     "'api.listen[0]' must be HOST:PORT with an IPv4 address, [IPv6] or localhost, like "
     "127.0.0.1:8080 or [::1]:8080 (got '127.0.0.1')"},
    {"api.tls_cert", "/etc/encbox/cert.pem", "/etc/encbox/cert.pem", "cert.pem",
     "'api.tls_cert' must be an absolute path without '..' or control characters "
     "(got 'cert.pem')",
     "api.tls_key: /etc/encbox/key.pem\n"},
    {"api.tls_key", "/etc/encbox/key.pem", "/etc/encbox/key.pem", "7",
     "'api.tls_key' must be an absolute path without '..' or control characters (got '7')",
     "api.tls_cert: /etc/encbox/cert.pem\n"},
    {"api.token_files", "[/etc/encbox/token1, /etc/encbox/token2]",
     "/etc/encbox/token1,/etc/encbox/token2", "/etc/encbox/token",
     "'api.token_files' must be a list, like [a, b] (got '/etc/encbox/token')"},
    {"api.cors_origins", "[\"https://app.example.com\", \"http://[::1]:3000\", \"*\"]",
     "https://app.example.com,http://[::1]:3000,*", "[\"https://app.example.com/path\"]",
     "'api.cors_origins[0]' must be \"*\" or an origin like https://app.example.com:8443 "
     "(scheme, host, optional port; no path) (got 'https://app.example.com/path')"},
    {"api.public_base_url", "https://cdn.example.com/media", "https://cdn.example.com/media",
     "ftp://example.com",
     "'api.public_base_url' must be \"\" or an http:// or https:// URL without query or "
     "fragment (got 'ftp://example.com')"},
    {"api.signing_key_file", "/etc/encbox/sign.key", "/etc/encbox/sign.key", "[a]",
     "'api.signing_key_file' must be a path (got a list)"},
    {"api.link_lifetime", "5400", "90m", "10s",
     "'api.link_lifetime' must be between 1m and 30d (got '10s')"},
    {"api.metrics_auth", "yes", "true", "sometimes",
     "'api.metrics_auth' must be true or false (got 'sometimes')"},
    /* a rack's shared queue; a URL of another engine is refused */
    {"jobs.database", "postgresql://encbox@db.rack:5432/encbox",
     "postgresql://encbox@db.rack:5432/encbox", "mysql://db/encbox",
     "'jobs.database' must be a SQLite path, or a postgresql:// URL (got 'mysql://db/encbox')"},
    {"jobs.lease", "60", "1m", "2s", "'jobs.lease' must be between 3s and 10m (got '2s')"},
    {"webhooks.url", "https://hooks.example/encbox", "https://hooks.example/encbox",
     "hooks.example",
     "'webhooks.url' must be \"\" or an http:// or https:// URL without query "
     "or fragment (got 'hooks.example')"},
    {"webhooks.secret_file", "/etc/encbox/webhook.secret", "/etc/encbox/webhook.secret", "[a]",
     "'webhooks.secret_file' must be a path (got a list)"},
    {"storage.s3.endpoint", "https://s3.example:9000", "https://s3.example:9000", "s3.example",
     "'storage.s3.endpoint' must be \"\" or an http:// or https:// URL without query or "
     "fragment (got 's3.example')"},
    {"storage.s3.bucket", "media", "media", "[a]",
     "'storage.s3.bucket' must be a string (got a list)"},
    {"storage.s3.region", "eu-west-1", "eu-west-1", "{a: 1}",
     "'storage.s3.region' must be a string (got a mapping)"},
    {"storage.s3.prefix", "tenant-a/", "tenant-a/", "[a]",
     "'storage.s3.prefix' must be a string (got a list)"},
    {"storage.s3.credentials_file", "/etc/encbox/s3.credentials", "/etc/encbox/s3.credentials",
     "[a]", "'storage.s3.credentials_file' must be a path (got a list)"},
    {"storage.s3.path_style", "no", "false", "maybe",
     "'storage.s3.path_style' must be true or false (got 'maybe')"},
    {"storage.s3.part_size", "64M", "64M", "1M",
     "'storage.s3.part_size' must be between 5M and 5G (got '1M')"},
    {"storage.s3.public_base_url", "https://cdn.example", "https://cdn.example", "cdn",
     "'storage.s3.public_base_url' must be \"\" or an http:// or https:// URL without query or "
     "fragment (got 'cdn')"},
    {"jobs.history_retention", "0", "0", "forever",
     "'jobs.history_retention' must be a duration like 45s, 90m, 12h or 30d (got 'forever')"},
    {"jobs.backend", "software", "software", "cuda",
     "'jobs.backend' must be one of: auto, nvidia, vaapi, qsv, software (got 'cuda')"},
    {"jobs.fallback", "none", "none", "maybe",
     "'jobs.fallback' must be one of: auto, none, nvidia, vaapi, qsv, software (got 'maybe')"},
    {"jobs.segment_seconds", "2.5", "2.5", "90",
     "'jobs.segment_seconds' must be between 1 and 60 (got '90')"},
    {"jobs.format", "ts", "ts", "mp4", "'jobs.format' must be one of: cmaf, ts (got 'mp4')"},
    {"jobs.preset", "slow", "slow", "ludicrous",
     "'jobs.preset' must be one of: ultrafast, superfast, veryfast, faster, fast, medium, "
     "slow, slower, veryslow, placebo (got 'ludicrous')"},
    {"jobs.ladder", "mobile", "mobile", "no such!",
     "'jobs.ladder' must be 1 to 31 letters, digits, '_' or '-' (got 'no such!')",
     "ladders:\n  mobile:\n    rungs: [{name: 360p, height: 360, bitrate: 600k}]\n"},
    {"backends.enabled", "[software, vaapi]", "software,vaapi", "[]",
     "'backends.enabled' must not be empty"},
    {"devices",
     "[{backend: nvidia, device: \"cuda:0\", max_sessions: 3, memory_budget: 6G, "
     "max_height: 2160}, {backend: software}]",
     "nvidia cuda:0 3 6442450944 2160;software * 0 0 0", "[{backend: amd}]",
     "'devices[0].backend' must be one of: nvidia, vaapi, qsv, software (got 'amd')"},
    {"ladders", "{mobile: {rungs: [{name: 360p, height: 360, bitrate: 600k}]}}", "default,mobile",
     "{mobile: {rungs: []}}", "ladder 'mobile' has no rungs"},
    {"thumbnails.enabled", "no", "false", "maybe",
     "'thumbnails.enabled' must be true or false (got 'maybe')"},
    {"thumbnails.interval", "2", "2", "0",
     "'thumbnails.interval' must be between 1 and 3600 (got '0')"},
    {"thumbnails.width", "320", "320", "161",
     "'thumbnails.width' must be an even number (got '161')"},
    {"thumbnails.grid", "10x4", "10x4", "5",
     "'thumbnails.grid' must be two numbers joined by 'x', like 10x10 (got '5')"},
    {"limits.max_jobs", "16", "16", "0", "'limits.max_jobs' must be between 1 and 256 (got '0')"},
    {"limits.max_input_size", "2T", "2T", "12 GB",
     "'limits.max_input_size' must be a size like 512M, 50G or 1048576 (got '12 GB')"},
    {"limits.max_duration", "1.5h", "90m", "8d",
     "'limits.max_duration' must be between 1s and 7d (got '8d')"},
    {"limits.bench_report", "/var/lib/encbox/bench.json", "/var/lib/encbox/bench.json", "[a]",
     "'limits.bench_report' must be a path (got a list)"},
    {"limits.worker_memory", "6G", "6G", "100M",
     "'limits.worker_memory' must be 0 or between 256M and 1T (got '100M')"},
    {"limits.max_resolution", "3840x2160", "3840x2160", "20000x100",
     "'limits.max_resolution' must be two numbers between 16 and 16384, joined by 'x' "
     "(got '20000x100')"},
    {"live.srt_listen", "\"0.0.0.0:9000\"", "0.0.0.0:9000", "\"9000\"",
     "'live.srt_listen' must be \"\" (off) or HOST:PORT with an IPv4 address, [IPv6] or "
     "localhost, like 0.0.0.0:9000 or [::]:9000 (got '9000')"},
    {"live.rtmp_listen", "\"[::]:1935\"", "[::]:1935", "\"ingest.example.com:1935\"",
     "'live.rtmp_listen' must be \"\" (off) or HOST:PORT with an IPv4 address, [IPv6] or "
     "localhost, like 0.0.0.0:9000 or [::]:9000 (got 'ingest.example.com:1935')"},
    {"live.public_host", "ingest.example.com", "ingest.example.com", "\"ingest:9000\"",
     "'live.public_host' must be \"\" or a host name or address without a port, like "
     "ingest.example.com, 192.0.2.7 or [2001:db8::7] (got 'ingest:9000')"},
    {"live.segment_seconds", "4", "4", "20",
     "'live.segment_seconds' must be between 1 and 10 (got '20')"},
    {"live.part_seconds", "0.5", "0.5", "0.05",
     "'live.part_seconds' must be between 0.1 and 5 (got '0.05')"},
    {"live.window_seconds", "120", "120", "2",
     "'live.window_seconds' must be between 3 and 21600 (got '2')"},
    {"live.worker_timeout_seconds", "5", "5", "1",
     "'live.worker_timeout_seconds' must be between 2 and 600 (got '1')"},
    {"live.capacity_mpixels", "250", "250", "-1",
     "'live.capacity_mpixels' must be between 0 and 1000000 (got '-1')"},
    {"chat.max_chars", "200", "200", "0", "'chat.max_chars' must be between 1 and 4000 (got '0')"},
    {"chat.messages_per_second", "0.5", "0.5", "100",
     "'chat.messages_per_second' must be between 0.1 and 50 (got '100')"},
    {"chat.channel_messages_per_second", "20", "20", "0",
     "'chat.channel_messages_per_second' must be between 1 and 10000 (got '0')"},
    {"chat.viewers_per_channel", "50", "50", "1001",
     "'chat.viewers_per_channel' must be between 1 and 1000 (got '1001')"},
    {"chat.history", "0", "0", "-1", "'chat.history' must be between 0 and 1000 (got '-1')"},
    {"chat.keep_days", "7", "7", "0", "'chat.keep_days' must be between 1 and 3650 (got '0')"},
    {"log.level", "debug", "debug", "verbose",
     "'log.level' must be one of: error, warn, info, debug, trace (got 'verbose')"},
    {"log.format", "json", "json", "xml", "'log.format' must be one of: text, json (got 'xml')"},
};

/* "section:\n  key: value\n" (or "key: value\n") + extra. */
static char *setting_file(const char *name, const char *value, const char *extra)
{
    const char *dot = strchr(name, '.');
    char *buf = malloc(2048);
    assert_non_null(buf);
    if (dot)
        snprintf(buf, 2048, "%.*s:\n  %s: %s\n%s", (int)(dot - name), name, dot + 1, value,
                 extra ? extra : "");
    else
        snprintf(buf, 2048, "%s: %s\n%s", name, value, extra ? extra : "");
    return buf;
}

/* A setting's value as text, to compare with SettingCase.expect. */
static void value_text(const EbConfig *cfg, const EbSetting *s, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    if (s->type == EB_SETTING_LIST) {
        const EbStrList *l = eb_cfg_cfield(cfg, s);
        for (int i = 0; i < l->nb; i++)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "", l->items[i]);
    } else if (s->type == EB_SETTING_DEVICES) {
        for (int i = 0; i < cfg->nb_devices; i++) {
            const EbDeviceLimit *d = &cfg->devices[i];
            o += (size_t)snprintf(buf + o, size - o, "%s%s %s %d %lld %d", i ? ";" : "", d->backend,
                                  d->device, d->max_sessions, (long long)d->memory_budget,
                                  d->max_height);
        }
    } else if (s->type == EB_SETTING_LADDERS) {
        for (int i = 0; i < cfg->nb_ladders; i++)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "", cfg->ladders[i].name);
    } else {
        eb_cfg_format_scalar(s, cfg, buf, size);
    }
}

static void test_every_setting_parses_and_is_bounds_checked(void **state)
{
    int nb;
    const EbSetting *t = eb_config_settings(&nb);
    (void)state;

    assert_int_equal(nb, EB_CONFIG_NB_SETTINGS);
    /* a table row without a test row fails here */
    for (int i = 0; i < nb; i++) {
        int found = 0;
        for (size_t c = 0; c < sizeof(setting_cases) / sizeof(setting_cases[0]); c++)
            found += strcmp(setting_cases[c].name, t[i].name) == 0;
        if (found != 1) {
            print_error("setting '%s' has %d rows in setting_cases\n", t[i].name, found);
            fail();
        }
    }
    for (size_t c = 0; c < sizeof(setting_cases) / sizeof(setting_cases[0]); c++) {
        const SettingCase *sc = &setting_cases[c];
        const EbSetting *s = eb_config_find_setting(sc->name);
        int idx, line = strchr(sc->name, '.') ? 2 : 1;
        char *text, *errs, got[512], want[1024];
        EbConfig cfg;

        assert_non_null(s);
        idx = eb_cfg_setting_index(s);

        text = setting_file(sc->name, sc->good, sc->extra);
        errs = errors_of(text, &cfg);
        if (*errs) {
            print_error("good value for %s:\n%s\ngave:\n%s", sc->name, text, errs);
            fail();
        }
        value_text(&cfg, s, got, sizeof(got));
        if (strcmp(got, sc->expect) != 0) {
            print_error("%s: expected '%s', got '%s'\n", sc->name, sc->expect, got);
            fail();
        }
        assert_int_equal(cfg.origin[idx].source, EB_CONFIG_FROM_FILE);
        assert_int_equal(cfg.origin[idx].line, line);
        eb_config_free(&cfg);
        free(errs);
        free(text);

        text = setting_file(sc->name, sc->bad, NULL);
        snprintf(want, sizeof(want), "t.yaml:%d: %s\n", line, sc->message);
        assert_errors(text, want);
        free(text);
    }
}

/* Offsets: each setting lands in its own field (the loop above reads back
 * through the table, so it would not notice two rows sharing a field). */
static void test_settings_land_in_their_fields(void **state)
{
    static const char text[] =
        "name: edge-1\n"
        "storage: {root: /srv/e, uploads: up}\n"
        "inputs: {roots: [/media]}\n"
        "api:\n"
        "  listen: [\"0.0.0.0:443\"]\n"
        "  tls_cert: /c.pem\n"
        "  tls_key: /k.pem\n"
        "  token_files: [/t]\n"
        "  cors_origins: [\"*\"]\n"
        "  public_base_url: https://x.example\n"
        "  signing_key_file: /s.key\n"
        "  link_lifetime: 2h\n"
        "jobs:\n"
        "  database: /db\n"
        "  history_retention: 7d\n"
        "  backend: vaapi\n"
        "  fallback: software\n"
        "  segment_seconds: 4\n"
        "  format: ts\n"
        "  preset: fast\n"
        "  ladder: default\n"
        "backends: {enabled: [vaapi, software]}\n"
        "thumbnails: {enabled: off, interval: 5, width: 240, grid: 4x3}\n"
        "limits: {max_jobs: 2, max_input_size: 1G, max_duration: 1h, max_resolution: 1920x1080}\n"
        "log: {level: warn, format: json}\n"
        "live: {srt_listen: \"0.0.0.0:9000\", rtmp_listen: \"127.0.0.1:1935\", "
        "public_host: edge.example, segment_seconds: 3, window_seconds: 90}\n";
    EbConfig c;
    char *errs = errors_of(text, &c);
    (void)state;

    assert_string_equal(errs, "");
    free(errs);
    assert_string_equal(c.name, "edge-1");
    assert_string_equal(c.storage_root, "/srv/e");
    assert_string_equal(c.storage_uploads, "up");
    assert_string_equal(c.input_roots.items[0], "/media");
    assert_string_equal(c.api_listen.items[0], "0.0.0.0:443");
    assert_string_equal(c.api_tls_cert, "/c.pem");
    assert_string_equal(c.api_tls_key, "/k.pem");
    assert_string_equal(c.api_token_files.items[0], "/t");
    assert_string_equal(c.api_cors_origins.items[0], "*");
    assert_string_equal(c.api_public_base_url, "https://x.example");
    assert_string_equal(c.api_signing_key_file, "/s.key");
    assert_int_equal(c.api_link_lifetime, 7200);
    assert_string_equal(c.jobs_database, "/db");
    assert_int_equal(c.jobs_history, 7 * 86400);
    assert_string_equal(c.jobs_backend, "vaapi");
    assert_string_equal(c.jobs_fallback, "software");
    assert_true(c.jobs_segment_seconds == 4.0);
    assert_string_equal(c.jobs_format, "ts");
    assert_string_equal(c.jobs_preset, "fast");
    assert_string_equal(c.jobs_ladder, "default");
    assert_int_equal(c.backends_enabled.nb, 2);
    assert_string_equal(c.backends_enabled.items[0], "vaapi");
    assert_int_equal(c.thumbs_enabled, 0);
    assert_true(c.thumbs_interval == 5.0);
    assert_int_equal(c.thumbs_width, 240);
    assert_int_equal(c.thumbs_grid.width, 4);
    assert_int_equal(c.thumbs_grid.height, 3);
    assert_int_equal(c.limits_max_jobs, 2);
    assert_int_equal(c.limits_max_input_size, 1073741824);
    assert_int_equal(c.limits_max_duration, 3600);
    assert_int_equal(c.limits_max_resolution.width, 1920);
    assert_int_equal(c.limits_max_resolution.height, 1080);
    assert_string_equal(c.log_level, "warn");
    assert_string_equal(c.log_format, "json");
    assert_string_equal(c.live_srt_listen, "0.0.0.0:9000");
    assert_string_equal(c.live_rtmp_listen, "127.0.0.1:1935");
    assert_string_equal(c.live_public_host, "edge.example");
    assert_true(c.live_segment_seconds == 3.0);
    assert_true(c.live_window_seconds == 90.0);
    eb_config_free(&c);
}

static void test_units(void **state)
{
    static const struct {
        const char *text;
        long long value; /* -1: error */
    } bitrates[] = {
        {"5M", 5000000},
        {"2500k", 2500000},
        {"600000", 600000},
        {"2.5M", 2500000},
        {"1.5k", 1500},
        {"128K", 128000},
        {"5X", -1},
        {"1.0001k", -1},
        {"-5M", -1},
        {"5 M", -1},
        {"", -1},
        {".5M", 500000},
        {"99999999999999999999", -1},
    };
    const EbSetting *row = eb_config_rung_settings(&(int){0}) + 2; /* bitrate */
    (void)state;

    assert_string_equal(row->name, "bitrate");
    for (size_t i = 0; i < sizeof(bitrates) / sizeof(bitrates[0]); i++) {
        EbCfgValue v;
        char why[256];
        EbSetting wide = *row;
        int ret;
        wide.min = wide.max = 0; /* units only, no bounds */
        ret = eb_cfg_parse_scalar(&wide, EB_SETTING_BITRATE, "b", bitrates[i].text, &v, why,
                                  sizeof(why));
        if (bitrates[i].value < 0) {
            assert_int_equal(ret, -1);
        } else {
            assert_int_equal(ret, 0);
            assert_int_equal(v.i, bitrates[i].value);
        }
    }
    {
        char buf[32];
        eb_cfg_format_number(EB_SETTING_BITRATE, 2500000, buf, sizeof(buf));
        assert_string_equal(buf, "2500k");
        eb_cfg_format_number(EB_SETTING_SIZE, 53687091200.0, buf, sizeof(buf));
        assert_string_equal(buf, "50G");
        eb_cfg_format_number(EB_SETTING_DURATION, 90, buf, sizeof(buf));
        assert_string_equal(buf, "90s");
        eb_cfg_format_number(EB_SETTING_DOUBLE, 29.97, buf, sizeof(buf));
        assert_string_equal(buf, "29.97");
    }
}

/* ---- each kind of bad file ---------------------------------------------- */

static void test_unknown_keys(void **state)
{
    (void)state;
    assert_errors("api:\n  lisen: [\"127.0.0.1:1\"]\n",
                  "t.yaml:2: unknown setting 'api.lisen' (did you mean 'api.listen'?)\n");
    assert_errors("colour: blue\n", "t.yaml:1: unknown setting 'colour'\n");
    /* settings that were taken out say why (they had no effect) */
    assert_errors("storage:\n  staging: /srv/stage\n",
                  "t.yaml:2: 'storage.staging' is no longer a setting: jobs build in "
                  "<storage.root>/.staging, which must share a filesystem with "
                  "<storage.root>/videos for the atomic publish\n");
    assert_errors("inputs: {url_schemes: [file]}\n",
                  "t.yaml:1: 'inputs.url_schemes' is no longer a setting: a job's input is a "
                  "file under inputs.roots or an upload; live feeds arrive on the live ingest "
                  "listeners\n");
    assert_errors("listen: [\"127.0.0.1:1\"]\n",
                  "t.yaml:1: unknown setting 'listen' (did you mean 'api.listen'?)\n");
    assert_errors("ladders:\n  hd:\n    rungs:\n      - {name: 720p, hieght: 720, bitrate: 3M}\n",
                  "t.yaml:4: unknown setting 'ladders.hd.rungs[0].hieght' (did you mean "
                  "'ladders.hd.rungs[0].height'?)\n"
                  "t.yaml:4: 'ladders.hd.rungs[0].height' is required\n");
    /* a preset is named by its key; `name:` belongs to ladder files only */
    assert_errors(
        "ladders:\n  hd:\n    name: x\n    rungs: [{name: a, height: 720, bitrate: 3M}]\n",
        "t.yaml:3: unknown setting 'ladders.hd.name'\n");
    /* dotted keys are the same settings */
    assert_errors("log.level: debug\nlog:\n  level: info\n",
                  "t.yaml:3: 'log.level' is set twice (first at line 1)\n");
}

static void test_wrong_types(void **state)
{
    (void)state;
    assert_errors("jobs:\n  segment_seconds: [6]\n",
                  "t.yaml:2: 'jobs.segment_seconds' must be a number (got a list)\n");
    assert_errors("jobs:\n  segment_seconds: six\n",
                  "t.yaml:2: 'jobs.segment_seconds' must be a number (got 'six')\n");
    assert_errors("jobs:\n  segment_seconds:\n",
                  "t.yaml:2: 'jobs.segment_seconds' must be a number (got an empty value)\n");
    assert_errors("jobs: 6\n", "t.yaml:1: 'jobs' must be a section of settings (got '6')\n");
    assert_errors("- a\n- b\n",
                  "t.yaml:1: the file must be a mapping of settings (name: value) (got a list)\n");
    assert_errors("ladders: [a]\n", "t.yaml:1: 'ladders' must be a mapping of preset names to "
                                    "ladders (got a list)\n");
    assert_errors("devices: {backend: nvidia}\n",
                  "t.yaml:1: 'devices' must be a list of device entries (got a mapping)\n");
    assert_errors("? [a]\n: 1\n", "t.yaml:1: a key must be a plain name (got a list)\n");
}

static void test_out_of_range_and_bad_enum(void **state)
{
    (void)state;
    assert_errors("limits:\n  max_jobs: 1000\n",
                  "t.yaml:2: 'limits.max_jobs' must be between 1 and 256 (got '1000')\n");
    assert_errors("thumbnails:\n  grid: 30x2\n",
                  "t.yaml:2: 'thumbnails.grid' must be two numbers between 1 and 20, joined by "
                  "'x' (got '30x2')\n");
    assert_errors("devices:\n  - backend: qsv\n    max_sessions: 999\n",
                  "t.yaml:3: 'devices[0].max_sessions' must be 0 or between 1 and 256 (got "
                  "'999')\n");
    assert_errors("log:\n  format: xml\n",
                  "t.yaml:2: 'log.format' must be one of: text, json (got 'xml')\n");
    assert_errors("ladders:\n  hd:\n    rungs: [{name: a, height: 720, bitrate: 3M, codec: vp9}]\n",
                  "t.yaml:3: 'ladders.hd.rungs[0].codec' must be one of: h264, hevc (got 'vp9')\n");
}

static const char dup_rung[] = "ladders:\n"
                               "  hd:\n"
                               "    rungs:\n"
                               "      - name: 720p\n"
                               "        height: 720\n"
                               "        bitrate: 3M\n"
                               "      - name: 720p\n"
                               "        height: 720\n"
                               "        bitrate: 2M\n";

static void test_ladder_errors(void **state)
{
    (void)state;
    assert_errors(dup_rung, "t.yaml:7: rung name '720p' is used twice in ladder 'hd' (first at "
                            "line 4)\n");
    assert_errors("ladders:\n  hd:\n    rungs: []\n", "t.yaml:3: ladder 'hd' has no rungs\n");
    assert_errors("ladders:\n  hd:\n    audio:\n      bitrate: 96k\n",
                  "t.yaml:2: ladder 'hd' has no rungs\n");
    assert_errors("ladders:\n  hd:\n    rungs:\n      - name: 720p\n        height: 720\n"
                  "        bitrate: 3M\n        maxrate: 2M\n",
                  "t.yaml:7: rung '720p' of ladder 'hd': bitrate 3M is above its maxrate 2M\n");
    assert_errors("ladders:\n  hd:\n    rungs: [{name: audio, height: 720, bitrate: 3M}]\n",
                  "t.yaml:3: 'ladders.hd.rungs[0].name' must be a name other than 'audio' (the "
                  "audio rendition's folder) (got 'audio')\n");
    assert_errors("ladders:\n  hd:\n    rungs: [{name: a, height: 721, bitrate: 3M}]\n",
                  "t.yaml:3: 'ladders.hd.rungs[0].height' must be an even number (got '721')\n");
    assert_errors("ladders:\n  hd:\n    rungs:\n"
                  "      - {name: a, height: 720, bitrate: 3M}\n"
                  "      - {name: b, height: 700, bitrate: 3M}\n"
                  "      - {name: c, height: 680, bitrate: 3M}\n"
                  "      - {name: d, height: 660, bitrate: 3M}\n"
                  "      - {name: e, height: 640, bitrate: 3M}\n"
                  "      - {name: f, height: 620, bitrate: 3M}\n"
                  "      - {name: g, height: 600, bitrate: 3M}\n"
                  "      - {name: h, height: 580, bitrate: 3M}\n"
                  "      - {name: i, height: 560, bitrate: 3M}\n",
                  "t.yaml:12: ladder 'hd' has more than 8 rungs\n");
    assert_errors("ladders:\n  hd:\n    rungs: [{name: a, height: 720, bitrate: 3M}]\n"
                  "  hd:\n    rungs: [{name: a, height: 720, bitrate: 3M}]\n",
                  "t.yaml:4: ladder 'hd' is defined twice (first at line 2)\n");
    assert_errors("ladders:\n  \"bad name\":\n    rungs: [{name: a, height: 720, bitrate: 3M}]\n",
                  "t.yaml:2: ladder preset name must be 1 to 31 letters, digits, '_' or '-' "
                  "(got 'bad name')\n");
    /* one codec per ladder, and only profiles that codec has */
    assert_errors("ladders:\n  hd:\n    rungs:\n"
                  "      - {name: a, height: 720, bitrate: 3M, codec: hevc}\n"
                  "      - {name: b, height: 480, bitrate: 1M}\n",
                  "t.yaml:5: rung 'b' of ladder 'hd' is h264 but rung 'a' is hevc: every rung of "
                  "a ladder uses one codec (one adaptation set; make a second ladder for the "
                  "other codec)\n");
    assert_errors("ladders:\n  hd:\n    rungs:\n      - name: a\n        height: 720\n"
                  "        bitrate: 3M\n        codec: hevc\n        profile: high\n",
                  "t.yaml:8: rung 'a' of ladder 'hd': profile 'high' is an H.264 profile; hevc "
                  "rungs take main (or \"\")\n");
    assert_errors("jobs:\n  ladder: hd\n",
                  "t.yaml:2: 'jobs.ladder' is 'hd', but no ladder preset has that name "
                  "(presets: default)\n");
}

static void test_rung_taller_than_any_device(void **state)
{
    static const char tall[] = "backends:\n"
                               "  enabled: [nvidia, vaapi]\n"
                               "ladders:\n"
                               "  uhd:\n"
                               "    rungs:\n"
                               "      - {name: 1080p, height: 1080, bitrate: 6M}\n"
                               "      - {name: 2880p, height: 2880, bitrate: 40M}\n";
    char with_device[512];
    char *errs;
    EbConfig cfg;
    EbLadder lad;
    EbConfigErrors e = {0};
    (void)state;

    assert_errors(tall, "t.yaml:7: rung '2880p' of ladder 'uhd' is 2880 pixels tall; no enabled "
                        "backend encodes taller than 2160 (backends.enabled, "
                        "devices[].max_height)\n");
    /* a device that says it can, makes it fine */
    snprintf(with_device, sizeof(with_device),
             "%sdevices:\n  - {backend: nvidia, max_height: 4320}\n", tall);
    errs = errors_of(with_device, &cfg);
    assert_string_equal(errs, "");
    free(errs);
    assert_int_equal(eb_config_max_encode_height(&cfg), 4320);
    /* rungs are kept tallest first whatever the file's order */
    assert_string_equal(eb_config_find_ladder(&cfg, "uhd")->rungs[0].name, "2880p");
    eb_config_free(&cfg);

    /* the same check for a ladder from --ladder FILE or the API */
    assert_int_equal(eb_config_defaults(&cfg), 0);
    eb_ladder_default(&lad);
    lad.rungs[0].height = 4400;
    assert_int_equal(eb_config_check_ladder(&cfg, &lad, &e), EB_ERR(EINVAL));
    assert_int_equal(e.nb, 1);
    assert_string_equal(e.items[0].message,
                        "rung '1080p' of ladder 'default' is 4400 pixels tall; no enabled backend "
                        "encodes taller than 4320 (backends.enabled, devices[].max_height)");
    eb_config_errors_free(&e);
    eb_config_free(&cfg);
}

static void test_cross_field_checks(void **state)
{
    (void)state;
    assert_errors("api:\n  listen: [\"0.0.0.0:8080\"]\n",
                  "t.yaml:2: 'api.listen' has '0.0.0.0:8080', which is not a loopback address, "
                  "but 'api.token_files' is empty: the API would be open to the network\n");
    assert_errors("api:\n  tls_key: /k.pem\n",
                  "t.yaml:2: 'api.tls_key' is set but 'api.tls_cert' is not; give both or "
                  "neither\n");
    assert_errors("backends:\n  enabled: [software]\njobs:\n  backend: nvidia\n  fallback: qsv\n",
                  "t.yaml:4: 'jobs.backend' is 'nvidia', which is not in 'backends.enabled'\n"
                  "t.yaml:5: 'jobs.fallback' is 'qsv', which is not in 'backends.enabled'\n");
    assert_errors("devices:\n  - {backend: nvidia}\n  - {backend: nvidia, device: \"*\"}\n",
                  "t.yaml:3: 'devices[1]' repeats the entry at line 2 (nvidia *)\n");
    assert_errors("devices:\n  - {max_sessions: 2}\n",
                  "t.yaml:2: 'devices[0].backend' is required\n");
    /* a live window holds at least 3 segments */
    assert_errors("live:\n  segment_seconds: 10\n  window_seconds: 20\n",
                  "t.yaml:3: 'live.window_seconds' is 20, shorter than 3 segments of "
                  "'live.segment_seconds' (10): players need 3 segments in the window\n");
    /* RTMP and the API are both TCP */
    assert_errors("api:\n  listen: [\"127.0.0.1:8080\"]\nlive:\n  rtmp_listen: \"0.0.0.0:8080\"\n",
                  "t.yaml:4: 'live.rtmp_listen' is '0.0.0.0:8080', which takes the port of "
                  "api.listen '127.0.0.1:8080': the RTMP ingest and the API cannot share a TCP "
                  "port\n");
    assert_errors("live:\n  srt_listen: \"127.0.0.1:8080\"\n  rtmp_listen: \"127.0.0.1:1935\"\n",
                  "");
}

static void test_yaml_level_errors(void **state)
{
    (void)state;
    assert_errors("log:\n  level: info\n  level: debug\n",
                  "t.yaml:3: 'log.level' is set twice (first at line 2)\n");
    assert_errors("log:\n  level: info\nlog:\n  format: json\n",
                  "t.yaml:3: section 'log' appears twice (first at line 1)\n");
    assert_errors("a: &x 1\nname: *x\n",
                  "t.yaml:2: YAML aliases (*x) are not supported; write the value out\n");
    assert_errors("name: a\n---\nname: b\n",
                  "t.yaml:2: a second YAML document starts here; the file must hold one\n");
    assert_errors("api:\n  listen: [\"127.0.0.1:1\"\nlog:\n",
                  "t.yaml:3: YAML syntax error: did not find expected ',' or ']' (while parsing "
                  "a flow sequence at line 2)\n");
    assert_errors("name: a\n  bad: indent\n",
                  "t.yaml:2: YAML syntax error: mapping values are not allowed in this context\n");
    assert_errors("name: \"a\\0b\"\n", "t.yaml:1: 'name' must not contain NUL characters\n");
    assert_errors("storage: {root: \"/a\\Nb\"}\n",
                  "t.yaml:1: 'storage.root' must be an absolute path without '..' or control "
                  "characters (got '/a\\xc2\\x85b')\n");
    /* an empty file, or only comments: all defaults */
    assert_errors("", "");
    assert_errors("# nothing here\n", "");
}

static void test_binary_garbage_and_unreadable_files(void **state)
{
    static const char elf[] = "\x7f"
                              "ELF\x02\x01\x01\x00\x00\x00\x00";
    static const char latin1[] = "name: a\nstorage:\n  root: /caf\xe9\n";
    char expect[1024], *big;
    const char *path;
    EbConfigErrors errs = {0};
    EbConfig cfg;
    (void)state;

    path = write_file("elf.yaml", elf, sizeof(elf) - 1);
    assert_int_equal(eb_config_load(path, &cfg, &errs), EB_ERR(EINVAL));
    assert_int_equal(errs.nb, 1);
    assert_int_equal(errs.items[0].line, 1);
    assert_string_equal(errs.items[0].message,
                        "not a text file: control characters are not allowed (0x7F at byte 0)");
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);

    assert_errors(latin1,
                  "t.yaml:3: not a text file: incomplete UTF-8 octet sequence (at byte 29)\n");
    assert_errors("name: a\n\nlog: {level: \xff}\n",
                  "t.yaml:3: not a text file: invalid leading UTF-8 octet (0xFF at byte 22)\n");

    /* missing file named explicitly */
    snprintf(expect, sizeof(expect), "%s/absent.yaml", g_tmpdir);
    assert_int_equal(eb_config_load(expect, &cfg, &errs), EB_ERR(EINVAL));
    assert_int_equal(errs.nb, 1);
    assert_int_equal(errs.items[0].line, 0);
    assert_string_equal(errs.items[0].message, "cannot read: No such file or directory");
    eb_config_errors_free(&errs);
    /* the struct still holds the defaults */
    assert_string_equal(cfg.jobs_format, "cmaf");
    eb_config_free(&cfg);

    /* a directory */
    assert_int_equal(eb_config_load(g_tmpdir, &cfg, &errs), EB_ERR(EINVAL));
    assert_string_equal(errs.items[0].message, "cannot read: Is a directory");
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);

    /* no permission (root reads anything, so only as a normal user) */
    if (geteuid() != 0) {
        path = write_file("secret.yaml", "name: a\n", (size_t)-1);
        chmod(path, 0);
        assert_int_equal(eb_config_load(path, &cfg, &errs), EB_ERR(EINVAL));
        assert_string_equal(errs.items[0].message, "cannot read: Permission denied");
        eb_config_errors_free(&errs);
        eb_config_free(&cfg);
    }

    /* too large */
    big = malloc(EB_CONFIG_MAX_FILE_SIZE + 2);
    assert_non_null(big);
    memset(big, '#', EB_CONFIG_MAX_FILE_SIZE + 1);
    path = write_file("big.yaml", big, EB_CONFIG_MAX_FILE_SIZE + 1);
    free(big);
    assert_int_equal(eb_config_load(path, &cfg, &errs), EB_ERR(EINVAL));
    assert_string_equal(errs.items[0].message,
                        "file is larger than 1048576 bytes; is it the right file?");
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
}

static void test_every_error_is_reported(void **state)
{
    static const char text[] = "name: ok\n"
                               "jobs:\n"
                               "  segment_seconds: 0\n"
                               "  format: mp4\n"
                               "  colour: red\n"
                               "log:\n"
                               "  level: loud\n"
                               "ladders:\n"
                               "  hd:\n"
                               "    rungs: []\n";
    (void)state;
    assert_errors(text, "t.yaml:3: 'jobs.segment_seconds' must be between 1 and 60 (got '0')\n"
                        "t.yaml:4: 'jobs.format' must be one of: cmaf, ts (got 'mp4')\n"
                        "t.yaml:5: unknown setting 'jobs.colour'\n"
                        "t.yaml:7: 'log.level' must be one of: error, warn, info, debug, trace "
                        "(got 'loud')\n"
                        "t.yaml:10: ladder 'hd' has no rungs\n");
}

/* The sample in firmware-config/README.md: cross-field errors sorted among
 * the others, a duplicate rung named even when its twin failed a check. */
static void test_readme_sample(void **state)
{
    static const char text[] = "name: rack-3\n"
                               "api:\n"
                               "  lisen: [\"0.0.0.0:8080\"]\n"
                               "jobs:\n"
                               "  backend: nvidia\n"
                               "  segment_seconds: 90\n"
                               "  format: mp4\n"
                               "backends:\n"
                               "  enabled: [software]\n"
                               "ladders:\n"
                               "  hd:\n"
                               "    rungs:\n"
                               "      - {name: 720p, height: 720, bitrate: 3M, maxrate: 2M}\n"
                               "      - {name: 720p, height: 720, bitrate: 2M}\n"
                               "      - {name: 4k, height: 2160, bitrate: 16k0}\n"
                               "  empty:\n"
                               "    rungs: []\n"
                               "log:\n"
                               "  level: loud\n";
    (void)state;
    assert_errors(text,
                  "t.yaml:3: unknown setting 'api.lisen' (did you mean 'api.listen'?)\n"
                  "t.yaml:5: 'jobs.backend' is 'nvidia', which is not in 'backends.enabled'\n"
                  "t.yaml:6: 'jobs.segment_seconds' must be between 1 and 60 (got '90')\n"
                  "t.yaml:7: 'jobs.format' must be one of: cmaf, ts (got 'mp4')\n"
                  "t.yaml:13: rung '720p' of ladder 'hd': bitrate 3M is above its maxrate 2M\n"
                  "t.yaml:14: rung name '720p' is used twice in ladder 'hd' (first at line 13)\n"
                  "t.yaml:15: 'ladders.hd.rungs[2].bitrate' must be a bitrate like 5M, 2500k or "
                  "600000 (got '16k0')\n"
                  "t.yaml:17: ladder 'empty' has no rungs\n"
                  "t.yaml:19: 'log.level' must be one of: error, warn, info, debug, trace (got "
                  "'loud')\n");
}

static void test_error_list_is_capped(void **state)
{
    char *text = malloc(200 * 16 + 1), *p = text;
    EbConfigErrors errs = {0};
    EbConfig cfg;
    (void)state;

    for (int i = 0; i < 200; i++)
        p += sprintf(p, "unknown%03d: 1\n", i);
    eb_config_load_buffer(text, strlen(text), "t.yaml", &cfg, &errs);
    assert_int_equal(errs.nb, EB_CONFIG_MAX_ERRORS);
    assert_int_equal(eb_config_errors_count(&errs), 200);
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
    free(text);
}

/* ---- ladders outside the config ----------------------------------------- */

static void test_ladder_file(void **state)
{
    static const char body[] = "# a --ladder file\n"
                               "rungs:\n"
                               "  - {name: 360p, height: 360, bitrate: 700k}\n"
                               "  - {name: 540p, height: 540, bitrate: 1.8M, max_fps: 30}\n"
                               "audio:\n"
                               "  bitrate: 96k\n"
                               "  channels: 1\n";
    const char *path;
    char expect[600];
    EbLadder lad;
    EbConfigErrors errs = {0};
    (void)state;

    path = write_file("mobile.yaml", body, sizeof(body) - 1);
    assert_int_equal(eb_ladder_load_file(path, &lad, &errs), 0);
    assert_int_equal(errs.nb, 0);
    assert_string_equal(lad.name, "mobile");
    assert_int_equal(lad.nb_rungs, 2);
    assert_string_equal(lad.rungs[0].name, "540p");
    assert_int_equal(lad.rungs[0].bitrate, 1800000);
    assert_true(lad.rungs[0].max_fps == 30.0);
    assert_string_equal(lad.rungs[0].codec, "h264");
    assert_int_equal(eb_rung_codec_id(&lad.rungs[0]), AV_CODEC_ID_H264);
    assert_int_equal(lad.audio_bitrate, 96000);
    assert_int_equal(lad.audio_channels, 1);

    /* an HEVC ladder */
    path =
        write_file("hevc.yaml",
                   "rungs:\n  - {name: a, height: 720, bitrate: 2M, codec: hevc, profile: main}\n"
                   "  - {name: b, height: 360, bitrate: 500k, codec: hevc}\n",
                   (size_t)-1);
    assert_int_equal(eb_ladder_load_file(path, &lad, &errs), 0);
    assert_int_equal(lad.nb_rungs, 2);
    assert_string_equal(lad.rungs[0].codec, "hevc");
    assert_string_equal(lad.rungs[0].profile, "main");
    assert_int_equal(eb_rung_codec_id(&lad.rungs[1]), AV_CODEC_ID_HEVC);

    /* named explicitly */
    path = write_file("l.yaml", "name: tiny\nrungs: [{name: a, height: 240, bitrate: 300k}]\n",
                      (size_t)-1);
    assert_int_equal(eb_ladder_load_file(path, &lad, &errs), 0);
    assert_string_equal(lad.name, "tiny");

    /* errors carry the ladder file's name and line */
    path = write_file("bad.yaml",
                      "rungs:\n  - {name: a, height: 240, bitrate: 300k}\n"
                      "  - {name: a, height: 240, bitrate: 9X}\n",
                      (size_t)-1);
    assert_int_equal(eb_ladder_load_file(path, &lad, &errs), EB_ERR(EINVAL));
    assert_int_equal(errs.nb, 1);
    snprintf(expect, sizeof(expect), "%s", path);
    assert_string_equal(errs.items[0].file, expect);
    assert_int_equal(errs.items[0].line, 3);
    assert_string_equal(errs.items[0].message, "'rungs[1].bitrate' must be a bitrate like 5M, "
                                               "2500k or 600000 (got '9X')");
    eb_config_errors_free(&errs);
    assert_int_equal(eb_ladder_load_file("/nonexistent/ladder.yaml", &lad, &errs), EB_ERR(EINVAL));
    assert_string_equal(errs.items[0].message, "cannot read: No such file or directory");
    eb_config_errors_free(&errs);
}

static void test_ladder_from_api_json(void **state)
{
    static const char json[] = "{\"rungs\": [{\"name\": \"720p\", \"height\": 720, "
                               "\"bitrate\": 2500000, \"maxrate\": \"3M\"}], "
                               "\"audio\": {\"bitrate\": \"64k\"}}";
    static const char bad[] = "{\"rungs\": [{\"name\": \"720p\", \"height\": \"tall\", "
                              "\"bitrate\": 2500000}]}";
    EbLadder lad;
    EbConfigErrors errs = {0};
    (void)state;

    assert_int_equal(eb_ladder_load_buffer(json, strlen(json), "job", &lad, &errs), 0);
    assert_int_equal(lad.nb_rungs, 1);
    assert_int_equal(lad.rungs[0].maxrate, 3000000);
    assert_int_equal(lad.audio_bitrate, 64000);
    assert_string_equal(lad.name, "job");
    assert_int_equal(eb_ladder_load_buffer(bad, strlen(bad), "job", &lad, &errs), EB_ERR(EINVAL));
    assert_string_equal(errs.items[0].message,
                        "'rungs[0].height' must be a whole number (got 'tall')");
    eb_config_errors_free(&errs);
}

/* ---- show, set, reload --------------------------------------------------- */

static char *show_of(const EbConfig *cfg)
{
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    assert_int_equal(eb_config_write_show(cfg, m), 0);
    fclose(m);
    return out;
}

/* The line of text that starts with start (then spaces) ends with end. */
static void assert_line(const char *text, const char *start, const char *end)
{
    const char *p = text;
    size_t n = strlen(start);

    for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *eol = strchr(p, '\n'), *q = p + n;
        if (strncmp(p, start, n) != 0 || *q != ' ')
            continue;
        while (*q == ' ')
            q++;
        if (eol && (size_t)(eol - q) == strlen(end) && strncmp(q, end, strlen(end)) == 0)
            return;
    }
    print_error("no line '%s ... %s' in:\n%s\n", start, end, text);
    fail();
}

static void test_show_marks_origins_and_round_trips(void **state)
{
    static const char text[] = "storage: {root: \"/a\\u2028b\\ufeffc d#e\\\"f\\u00e9\"}\n"
                               "jobs:\n"
                               "  segment_seconds: 4\n"
                               "ladders:\n"
                               "  mobile:\n"
                               "    rungs: [{name: 360p, height: 360, bitrate: 600k}]\n";
    EbConfigErrors errs = {0};
    EbConfig cfg, back;
    EbConfigDiff diff;
    char *out, *reerr;
    (void)state;

    assert_int_equal(eb_config_load_buffer(text, strlen(text), "/etc/encbox/x.yaml", &cfg, &errs),
                     0);
    assert_int_equal(eb_config_set(&cfg, "log.level", "debug", &errs), 0);
    assert_int_equal(eb_config_set(&cfg, "api.cors_origins", "[\"https://a.example\"]", &errs), 0);
    assert_int_equal(eb_config_validate(&cfg, &errs), 0);
    assert_int_equal(errs.nb, 0);
    out = show_of(&cfg);
    assert_line(out, "  segment_seconds: 4", "# /etc/encbox/x.yaml:3");
    assert_line(out, "  level: debug", "# command line");
    assert_line(out, "  format: cmaf", "# default");
    assert_line(out, "  mobile:", "# /etc/encbox/x.yaml:5");
    assert_line(out, "  default:", "# default");
    assert_line(out, "ladders:", "# /etc/encbox/x.yaml:4");
    assert_line(out, "  root: \"/a\\u2028b\\ufeffc d#e\\\"f\xc3\xa9\"", "# /etc/encbox/x.yaml:1");

    /* what show prints loads back to the same configuration */
    reerr = errors_of(out, &back);
    assert_string_equal(reerr, "");
    assert_int_equal(eb_config_diff(&cfg, &back, &diff), 0);
    free(reerr);
    free(out);
    eb_config_free(&back);
    eb_config_free(&cfg);
}

static void test_set_from_command_line(void **state)
{
    EbConfigErrors errs = {0};
    EbConfig cfg;
    char *out = NULL;
    size_t len = 0;
    FILE *m;
    (void)state;

    assert_int_equal(eb_config_defaults(&cfg), 0);
    assert_int_equal(eb_config_set(&cfg, "jobs.segmnt_seconds", "4", &errs), EB_ERR(ENOENT));
    assert_int_equal(eb_config_set(&cfg, "jobs.segment_seconds", "99", &errs), EB_ERR(EINVAL));
    assert_int_equal(eb_config_set(&cfg, "ladders", "{x: {rungs: []}}", &errs), EB_ERR(EINVAL));
    assert_int_equal(eb_config_set(&cfg, "api.tls_cert", "", &errs), 0);
    m = open_memstream(&out, &len);
    eb_config_errors_print(&errs, m);
    fclose(m);
    assert_string_equal(out, "command line: unknown setting 'jobs.segmnt_seconds' (did you mean "
                             "'jobs.segment_seconds'?)\n"
                             "command line: 'jobs.segment_seconds' must be between 1 and 60 (got "
                             "'99')\n"
                             "command line: ladder 'x' has no rungs\n");
    assert_true(cfg.jobs_segment_seconds == 6.0); /* a bad value changes nothing */
    free(out);
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
}

static void test_diff_classifies_changes(void **state)
{
    EbConfigErrors errs = {0};
    EbConfig a, b;
    EbConfigDiff diff;
    (void)state;

    assert_int_equal(eb_config_defaults(&a), 0);
    assert_int_equal(eb_config_defaults(&b), 0);
    assert_int_equal(eb_config_diff(&a, &b, &diff), 0);
    assert_int_equal(eb_config_set(&b, "log.level", "debug", &errs), 0);
    assert_int_equal(eb_config_set(&b, "api.listen", "[\"127.0.0.1:9090\"]", &errs), 0);
    assert_int_equal(eb_config_set(&b, "storage.root", "/srv/x", &errs), 0);
    assert_int_equal(eb_config_set(&b, "api.token_files", "[/etc/encbox/t]", &errs), 0);
    assert_int_equal(eb_config_set(&b, "ladders",
                                   "{default: {rungs: [{name: a, height: 480, bitrate: 1M}]}}",
                                   &errs),
                     0);
    assert_int_equal(errs.nb, 0);
    assert_int_equal(eb_config_diff(&a, &b, &diff), 5);
    assert_int_equal(diff.nb_restart, 2);
    assert_string_equal(diff.restart[0], "storage.root");
    assert_string_equal(diff.restart[1], "api.listen");
    assert_int_equal(diff.nb_runtime, 3);
    assert_string_equal(diff.runtime[0], "api.token_files");
    assert_string_equal(diff.runtime[1], "ladders");
    assert_string_equal(diff.runtime[2], "log.level");
    /* a preset named default replaced the built-in one */
    assert_int_equal(b.nb_ladders, 1);
    assert_int_equal(eb_config_find_ladder(&b, "default")->nb_rungs, 1);
    /* every restart-needed setting is one the daemon cannot re-apply */
    {
        int nb;
        const EbSetting *t = eb_config_settings(&nb);
        for (int i = 0; i < nb; i++)
            if (!(t[i].flags & EB_SETTING_RUNTIME))
                assert_true(
                    !strncmp(t[i].name, "storage.", 8) || !strcmp(t[i].name, "api.listen") ||
                    !strncmp(t[i].name, "api.tls_", 8) || !strcmp(t[i].name, "jobs.database") ||
                    !strcmp(t[i].name, "jobs.lease") || !strncmp(t[i].name, "webhooks.", 9) ||
                    !strcmp(t[i].name, "backends.enabled") || !strncmp(t[i].name, "chat.", 5) ||
                    /* the bench report, read once at start */
                    !strcmp(t[i].name, "limits.bench_report") ||
                    /* ingest listeners and the URLs and channel defaults
                     * the daemon derives from them at start */
                    !strncmp(t[i].name, "live.", 5));
    }
    eb_config_free(&a);
    eb_config_free(&b);
}

static void test_token_contents_never_shown(void **state)
{
    static const char secret[] = "s3cr3t-T0KEN-value";
    char text[1024], *out;
    const char *tok;
    EbConfig cfg;
    char *errs;
    (void)state;

    tok = write_file("token", secret, sizeof(secret) - 1);
    snprintf(text, sizeof(text),
             "api:\n  listen: [\"0.0.0.0:8080\"]\n  token_files: [\"%s\"]\n"
             "  signing_key_file: \"%s\"\n",
             tok, tok);
    errs = errors_of(text, &cfg);
    assert_string_equal(errs, "");
    free(errs);
    out = show_of(&cfg);
    assert_non_null(strstr(out, tok)); /* the path is shown */
    assert_null(strstr(out, secret));  /* the token never is */
    free(out);
    /* nothing in the struct holds it either: only paths */
    assert_string_equal(cfg.api_token_files.items[0], tok);
    eb_config_free(&cfg);
}

/* ---- the CLI ------------------------------------------------------------ */

static int run_cli(char **out, char **err, int argc, ...)
{
    char *argv[16];
    size_t lo = 0, le = 0;
    FILE *fo = open_memstream(out, &lo), *fe = open_memstream(err, &le);
    va_list ap;
    int rc;

    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    rc = eb_config_cli_run(argc, argv, fo, fe);
    fclose(fo);
    fclose(fe);
    return rc;
}

static void test_cli(void **state)
{
    char *out, *err, expect[2048], good[512], bad[512], ex[512];
    const char *p;
    (void)state;

    p = write_file("good.yaml", "jobs:\n  format: ts\n", (size_t)-1);
    snprintf(good, sizeof(good), "%s", p);
    p = write_file("bad.yaml", "jobs:\n  format: mp4\n  preset: quick\n", (size_t)-1);
    snprintf(bad, sizeof(bad), "%s", p);

    assert_int_equal(run_cli(&out, &err, 3, "config", "check", good), 0);
    snprintf(expect, sizeof(expect), "%s: OK\n", good);
    assert_string_equal(out, expect);
    assert_string_equal(err, "");
    free(out);
    free(err);

    /* every error of every file, and exit 1 */
    assert_int_equal(run_cli(&out, &err, 4, "config", "check", bad, good), 1);
    snprintf(expect, sizeof(expect),
             "%s:2: 'jobs.format' must be one of: cmaf, ts (got 'mp4')\n"
             "%s:3: 'jobs.preset' must be one of: ultrafast, superfast, veryfast, faster, fast, "
             "medium, slow, slower, veryslow, placebo (got 'quick')\n",
             bad, bad);
    assert_string_equal(err, expect);
    free(out);
    free(err);

    assert_int_equal(
        run_cli(&out, &err, 6, "config", "show", "--config", good, "--set", "log.format=json"), 0);
    snprintf(expect, sizeof(expect), "# %s:2", good);
    assert_line(out, "  format: ts", expect);
    assert_line(out, "  format: json", "# command line");
    free(out);
    free(err);

    assert_int_equal(run_cli(&out, &err, 5, "config", "show", "--config", good, "--set"), 2);
    free(out);
    free(err);
    assert_int_equal(run_cli(&out, &err, 1, "config"), 2);
    assert_non_null(strstr(err, "usage: encbox config check"));
    free(out);
    free(err);
    assert_int_equal(run_cli(&out, &err, 2, "config", "frobnicate"), 2);
    free(out);
    free(err);

    snprintf(ex, sizeof(ex), "%s/firmware-config/encbox.example.yaml", EB_SOURCE_DIR);
    assert_int_equal(run_cli(&out, &err, 2, "config", "example"), 0);
    {
        char *want = read_whole(ex);
        assert_non_null(want);
        assert_string_equal(out, want);
        free(want);
    }
    free(out);
    free(err);

    p = write_file("lad.yaml", "rungs: [{name: a, height: 240, bitrate: 300k}]\n", (size_t)-1);
    assert_int_equal(run_cli(&out, &err, 3, "config", "check-ladder", p), 0);
    snprintf(expect, sizeof(expect), "%s: OK (ladder 'lad', 1 rung)\n", p);
    assert_string_equal(out, expect);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_product_defaults),
        cmocka_unit_test(test_no_file_at_all_runs_on_defaults),
        cmocka_unit_test(test_example_file_is_generated_from_table),
        cmocka_unit_test(test_example_file_loads_to_defaults),
        cmocka_unit_test(test_every_setting_parses_and_is_bounds_checked),
        cmocka_unit_test(test_settings_land_in_their_fields),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range_and_bad_enum),
        cmocka_unit_test(test_ladder_errors),
        cmocka_unit_test(test_rung_taller_than_any_device),
        cmocka_unit_test(test_cross_field_checks),
        cmocka_unit_test(test_yaml_level_errors),
        cmocka_unit_test(test_binary_garbage_and_unreadable_files),
        cmocka_unit_test(test_every_error_is_reported),
        cmocka_unit_test(test_readme_sample),
        cmocka_unit_test(test_error_list_is_capped),
        cmocka_unit_test(test_ladder_file),
        cmocka_unit_test(test_ladder_from_api_json),
        cmocka_unit_test(test_show_marks_origins_and_round_trips),
        cmocka_unit_test(test_set_from_command_line),
        cmocka_unit_test(test_diff_classifies_changes),
        cmocka_unit_test(test_token_contents_never_shown),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
