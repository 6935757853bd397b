/*
 * The job spec codec (api/eb_job_spec.h): a spec with every field set goes
 * to JSON and back unchanged; each malformed spec fails naming its field;
 * the secrets travel to a worker (the sealed memfd) but never reach a log,
 * a JSON written without them, an error message or the output of a
 * transcode run from a spec; and a spec becomes the VOD job's options with
 * the configuration filling what it leaves unset.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "eb_error.h"
#include "eb_hal.h"
#include "eb_job_spec.h"
#include "eb_job_stats.h"
#include "eb_log.h"
#include "eb_test_media.h"

#define SECRET "s3cr3t-Value-0042"

static char tmp[4096];

/* Every field away from its "unset" value, the ladder inline with every
 * rung field set. */
static void full_spec(EbJobSpec *s)
{
    EbLadder *l = &s->ladder;

    eb_job_spec_init(s);
    assert_int_equal(eb_job_spec_set_string(&s->input, "/srv/media/in put.mp4"), 0);
    assert_int_equal(eb_job_spec_set_string(&s->source, "upload:0123456789abcdef"), 0);
    assert_int_equal(eb_job_spec_set_string(&s->video_id, "clip-7_a"), 0);
    s->overwrite = 1;
    s->ladder_inline = 1;
    snprintf(l->name, sizeof(l->name), "custom");
    l->nb_rungs = 2;
    snprintf(l->rungs[0].name, sizeof(l->rungs[0].name), "720p");
    l->rungs[0].height = 720;
    l->rungs[0].bitrate = 2500000;
    l->rungs[0].maxrate = 3000000;
    l->rungs[0].bufsize = 5000000;
    snprintf(l->rungs[0].codec, sizeof(l->rungs[0].codec), "h264");
    snprintf(l->rungs[0].profile, sizeof(l->rungs[0].profile), "high");
    l->rungs[0].max_fps = 29.97;
    snprintf(l->rungs[1].name, sizeof(l->rungs[1].name), "240p");
    l->rungs[1].height = 240;
    l->rungs[1].bitrate = 300000;
    snprintf(l->rungs[1].codec, sizeof(l->rungs[1].codec), "h264");
    l->audio_bitrate = 96000;
    l->audio_channels = 1;
    s->segment_seconds = 4.5;
    s->format_set = 1;
    s->format = EB_FORMAT_TS;
    snprintf(s->preset, sizeof(s->preset), "slow");
    snprintf(s->backend, sizeof(s->backend), "software");
    snprintf(s->fallback, sizeof(s->fallback), "none");
    s->priority = 8;
    assert_int_equal(eb_job_spec_set_string(&s->storage_root, "/var/lib/encbox"), 0);
    assert_int_equal(eb_job_spec_add_input_root(s, "/srv/media"), 0);
    assert_int_equal(eb_job_spec_add_input_root(s, "/var/lib/encbox/uploads"), 0);
    assert_int_equal(eb_job_spec_set_string(&s->config_path, "/etc/encbox/encbox.yaml"), 0);
    s->thumbnails = 0;
    s->thumbnail_at = 3.5;
    s->threads = 4;
    s->encryption = EB_ENCRYPT_CBCS;
    assert_int_equal(eb_job_spec_set_secret(s, "stream_key", SECRET), 0);
    assert_int_equal(eb_job_spec_set_secret(s, "content_key", "00112233445566778899aabbccddeeff"),
                     0);
}

static void assert_str_or_null_equal(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_ladder_equal(const EbLadder *a, const EbLadder *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->nb_rungs, b->nb_rungs);
    for (int i = 0; i < a->nb_rungs; i++) {
        const EbRung *x = &a->rungs[i], *y = &b->rungs[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->height, y->height);
        assert_int_equal(x->bitrate, y->bitrate);
        assert_int_equal(x->maxrate, y->maxrate);
        assert_int_equal(x->bufsize, y->bufsize);
        assert_string_equal(x->codec, y->codec);
        assert_string_equal(x->profile, y->profile);
        assert_true(x->max_fps == y->max_fps);
    }
    assert_int_equal(a->audio_bitrate, b->audio_bitrate);
    assert_int_equal(a->audio_channels, b->audio_channels);
}

static void assert_spec_equal(const EbJobSpec *a, const EbJobSpec *b)
{
    assert_str_or_null_equal(a->input, b->input);
    assert_str_or_null_equal(a->source, b->source);
    assert_str_or_null_equal(a->video_id, b->video_id);
    assert_int_equal(a->overwrite, b->overwrite);
    assert_string_equal(a->ladder_name, b->ladder_name);
    assert_int_equal(a->ladder_inline, b->ladder_inline);
    if (a->ladder_inline)
        assert_ladder_equal(&a->ladder, &b->ladder);
    assert_true(a->segment_seconds == b->segment_seconds);
    assert_int_equal(a->format_set, b->format_set);
    if (a->format_set)
        assert_int_equal(a->format, b->format);
    assert_string_equal(a->preset, b->preset);
    assert_string_equal(a->backend, b->backend);
    assert_string_equal(a->fallback, b->fallback);
    assert_int_equal(a->priority, b->priority);
    assert_str_or_null_equal(a->storage_root, b->storage_root);
    assert_int_equal(a->nb_input_roots, b->nb_input_roots);
    for (int i = 0; i < a->nb_input_roots; i++)
        assert_string_equal(a->input_roots[i], b->input_roots[i]);
    assert_null(b->input_roots[b->nb_input_roots]);
    assert_str_or_null_equal(a->config_path, b->config_path);
    assert_int_equal(a->thumbnails, b->thumbnails);
    assert_true(a->thumbnail_at == b->thumbnail_at);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->encryption, b->encryption);
    assert_int_equal(a->nb_secrets, b->nb_secrets);
    for (int i = 0; i < a->nb_secrets; i++)
        assert_string_equal(eb_job_spec_secret(b, a->secrets[i].name), a->secrets[i].value);
}

/* spec -> JSON text -> spec, with the secrets. */
static void round_trip(const EbJobSpec *in, EbJobSpec *out)
{
    EbJobSpecError err;
    json_t *o, *again;
    char *text;

    assert_int_equal(eb_job_spec_to_json(in, EB_JOB_SPEC_JSON_SECRETS, &o), 0);
    text = json_dumps(o, JSON_COMPACT);
    assert_non_null(text);
    eb_job_spec_init(out);
    if (eb_job_spec_parse(text, strlen(text), NULL, out, &err) != 0)
        fail_msg("%s: %s", text, err.message);
    /* ... and the decoded spec writes the same JSON again. */
    assert_int_equal(eb_job_spec_to_json(out, EB_JOB_SPEC_JSON_SECRETS, &again), 0);
    assert_true(json_equal(o, again));
    json_decref(again);
    json_decref(o);
    free(text);
}

static void test_round_trip_full(void **state)
{
    EbJobSpec in, out;
    (void)state;

    full_spec(&in);
    round_trip(&in, &out);
    assert_spec_equal(&in, &out);
    eb_job_spec_clear(&out);

    /* The other shapes of a field: a preset ladder, CMAF. */
    in.ladder_inline = 0;
    snprintf(in.ladder_name, sizeof(in.ladder_name), "mobile");
    in.format = EB_FORMAT_CMAF;
    in.overwrite = 0;
    in.thumbnails = 1;
    round_trip(&in, &out);
    assert_spec_equal(&in, &out);
    eb_job_spec_clear(&out);
    eb_job_spec_clear(&in);
}

/* Unset fields stay out of the JSON, and come back unset. */
static void test_unset_fields(void **state)
{
    EbJobSpec in, out;
    json_t *o;
    const char *key;
    json_t *v;
    (void)state;

    eb_job_spec_init(&in);
    assert_int_equal(eb_job_spec_set_string(&in.input, "/in.mp4"), 0);
    assert_int_equal(eb_job_spec_to_json(&in, EB_JOB_SPEC_JSON_SECRETS, &o), 0);
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "input") && strcmp(key, "overwrite") && strcmp(key, "priority"))
            fail_msg("unset field %s written", key);
    }
    json_decref(o);
    round_trip(&in, &out);
    assert_spec_equal(&in, &out);
    assert_null(out.video_id);
    assert_false(out.ladder_inline);
    assert_string_equal(out.ladder_name, "");
    assert_false(out.format_set);
    assert_true(out.segment_seconds == 0);
    assert_int_equal(out.thumbnails, -1);
    assert_int_equal(out.priority, 5);
    eb_job_spec_clear(&out);
    eb_job_spec_clear(&in);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *json;
        const char *field;
    } cases[] = {
        {"{not json", ""},
        {"[1, 2]", ""},
        {"{}", "input"},
        {"{\"input\": 5}", "input"},
        {"{\"input\": \"\"}", "input"},
        {"{\"input\": \"a\\u0000b\"}", ""}, /* jansson refuses NUL in text */
        {"{\"input\": \"/a\", \"colour\": \"red\"}", "colour"},
        {"{\"input\": \"/a\", \"source\": 1}", "source"},
        {"{\"input\": \"/a\", \"video_id\": \"a/b\"}", "video_id"},
        {"{\"input\": \"/a\", \"video_id\": 7}", "video_id"},
        {"{\"input\": \"/a\", \"overwrite\": \"yes\"}", "overwrite"},
        {"{\"input\": \"/a\", \"ladder\": 5}", "ladder"},
        {"{\"input\": \"/a\", \"ladder\": {\"rungs\": [{\"name\": \"x\", \"height\": -5}]}}",
         "ladder"},
        {"{\"input\": \"/a\", \"ladder\": {\"rungs\": []}}", "ladder"},
        {"{\"input\": \"/a\", \"format\": \"flv\"}", "format"},
        {"{\"input\": \"/a\", \"format\": 1}", "format"},
        {"{\"input\": \"/a\", \"format\": \"ts\", \"ladder\": {\"rungs\": [{\"name\": \"x\", "
         "\"height\": 240, \"bitrate\": 300000, \"codec\": \"hevc\"}]}}",
         "format"},
        {"{\"input\": \"/a\", \"segment_seconds\": 0}", "segment_seconds"},
        {"{\"input\": \"/a\", \"segment_seconds\": \"6\"}", "segment_seconds"},
        {"{\"input\": \"/a\", \"preset\": \"warp\"}", "preset"},
        {"{\"input\": \"/a\", \"backend\": \"quantum\"}", "backend"},
        {"{\"input\": \"/a\", \"backend\": \"none\"}", "backend"},
        {"{\"input\": \"/a\", \"fallback\": 1}", "fallback"},
        {"{\"input\": \"/a\", \"priority\": 12}", "priority"},
        {"{\"input\": \"/a\", \"priority\": 1.5}", "priority"},
        {"{\"input\": \"/a\", \"storage_root\": \"\"}", "storage_root"},
        {"{\"input\": \"/a\", \"input_roots\": \"/srv\"}", "input_roots"},
        {"{\"input\": \"/a\", \"input_roots\": [\"/srv\", 3]}", "input_roots"},
        {"{\"input\": \"/a\", \"config\": false}", "config"},
        {"{\"input\": \"/a\", \"thumbnails\": \"off\"}", "thumbnails"},
        {"{\"input\": \"/a\", \"thumbnail_at\": -1}", "thumbnail_at"},
        {"{\"input\": \"/a\", \"threads\": 0}", "threads"},
        {"{\"input\": \"/a\", \"encryption\": \"cenc\"}", "encryption"},
        {"{\"input\": \"/a\", \"encryption\": {\"scheme\": \"aes\"}}", "encryption"},
        {"{\"input\": \"/a\", \"encryption\": {\"scheme\": \"cenc\", \"key\": \"00\"}}",
         "encryption"},
        {"{\"input\": \"/a\", \"encryption\": {\"scheme\": \"cbcs\", \"key_provider\": "
         "\"speke\"}}",
         "encryption"},
        {"{\"input\": \"/a\", \"secrets\": [\"" SECRET "\"]}", "secrets"},
        {"{\"input\": \"/a\", \"secrets\": {\"Stream Key\": \"" SECRET "\"}}", "secrets"},
        {"{\"input\": \"/a\", \"secrets\": {\"stream_key\": 42}}", "secrets"},
        {"{\"input\": \"/a\", \"secrets\": {\"stream_key\": \"\"}}", "secrets"},
        {"{\"input\": \"/a\", \"input\": \"/b\"}", ""}, /* duplicate key */
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EbJobSpec spec;
        EbJobSpecError err;
        int ret;

        eb_job_spec_init(&spec);
        ret = eb_job_spec_parse(cases[i].json, strlen(cases[i].json), NULL, &spec, &err);
        if (ret != EB_ERR(EINVAL) || strcmp(err.field, cases[i].field))
            fail_msg("case %zu %s: ret %d, field '%s' (%s)", i, cases[i].json, ret, err.field,
                     err.message);
        /* The message starts with the field, and never holds a secret. */
        assert_true(err.message[0]);
        if (cases[i].field[0])
            assert_int_equal(strncmp(err.message, cases[i].field, strlen(cases[i].field)), 0);
        assert_null(strstr(err.message, SECRET));
        eb_job_spec_clear(&spec);
    }
    {
        /* A NUL inside a string built in memory would cut a path short. */
        EbJobSpec spec;
        EbJobSpecError err;
        json_t *o = json_pack("{s:s%}", "input", "/a\0/b", (size_t)5);
        assert_non_null(o);
        eb_job_spec_init(&spec);
        assert_int_equal(eb_job_spec_from_json(o, NULL, &spec, &err), EB_ERR(EINVAL));
        assert_string_equal(err.field, "input");
        json_decref(o);
        eb_job_spec_clear(&spec);
    }
}

/* The checks a caller with a configuration and a build adds. */
static void test_checks(void **state)
{
    static const char *const software_only[] = {"software", NULL};
    EbConfig cfg = {0};
    EbConfigErrors errs = {0};
    EbJobSpecCheck check = {.cfg = &cfg, .backends = software_only};
    EbJobSpec spec;
    EbJobSpecError err;
    static const char yaml[] = "jobs: {format: ts}\n"
                               "ladders:\n"
                               "  hevc: {rungs: [{name: a, height: 240, bitrate: 300k, "
                               "codec: hevc}]}\n";
    static const struct {
        const char *json;
        const char *field; /* NULL: accepted */
    } cases[] = {
        {"{\"input\": \"/a\", \"ladder\": \"nosuch\"}", "ladder"},
        {"{\"input\": \"/a\", \"ladder\": \"default\"}", NULL},
        {"{\"input\": \"/a\", \"backend\": \"nvidia\"}", "backend"},
        {"{\"input\": \"/a\", \"backend\": \"software\", \"fallback\": \"none\"}", NULL},
        {"{\"input\": \"/a\", \"fallback\": \"vaapi\"}", "fallback"},
        /* HEVC and the configuration's default format, ts */
        {"{\"input\": \"/a\", \"ladder\": \"hevc\"}", "format"},
        {"{\"input\": \"/a\", \"ladder\": \"hevc\", \"format\": \"cmaf\"}", NULL},
        /* taller than any enabled backend encodes */
        {"{\"input\": \"/a\", \"ladder\": {\"rungs\": [{\"name\": \"x\", \"height\": 8640, "
         "\"bitrate\": \"50M\"}]}}",
         "ladder"},
    };
    (void)state;

    assert_int_equal(eb_config_load_buffer(yaml, strlen(yaml), "test.yaml", &cfg, &errs), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int ret;
        eb_job_spec_init(&spec);
        ret = eb_job_spec_parse(cases[i].json, strlen(cases[i].json), &check, &spec, &err);
        if (cases[i].field ? ret != EB_ERR(EINVAL) || strcmp(err.field, cases[i].field) : ret != 0)
            fail_msg("case %zu %s: ret %d, field '%s' (%s)", i, cases[i].json, ret, err.field,
                     err.message);
        eb_job_spec_clear(&spec);
    }
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
}

/* Runs fn with stderr (the logger's) going to a file; returns its text. */
static char *capture_stderr(void (*fn)(const EbJobSpec *), const EbJobSpec *spec)
{
    char path[4200], *text = malloc(65536);
    int saved = dup(STDERR_FILENO), fd;
    ssize_t n;

    assert_non_null(text);
    snprintf(path, sizeof(path), "%s/stderr.txt", tmp);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    fn(spec);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, text, 65535, 0);
    close(fd);
    assert_true(n >= 0);
    text[n] = 0;
    return text;
}

static void log_spec(const EbJobSpec *spec)
{
    eb_job_spec_log(spec, "test");
}

/* The secrets reach the worker and nothing else. */
static void test_secrets(void **state)
{
    EbJobSpec spec, back;
    EbJobSpecError err;
    json_t *o;
    char *text;
    int fd;
    EbLogLevel level = eb_log_get_level();
    (void)state;

    full_spec(&spec);
    /* Written without the flag: no trace of them. */
    assert_int_equal(eb_job_spec_to_json(&spec, 0, &o), 0);
    assert_null(json_object_get(o, "secrets"));
    text = json_dumps(o, 0);
    assert_null(strstr(text, SECRET));
    free(text);
    json_decref(o);

    /* The worker's memfd carries them, sealed. */
    assert_int_equal(eb_job_spec_to_memfd(&spec, &fd), 0);
    assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE);
    assert_int_equal(write(fd, "x", 1), -1);
    assert_int_equal(errno, EPERM);
    eb_job_spec_init(&back);
    assert_int_equal(eb_job_spec_read_fd(fd, &back, &err), 0);
    close(fd);
    assert_spec_equal(&spec, &back);
    assert_string_equal(eb_job_spec_secret(&back, "stream_key"), SECRET);
    eb_job_spec_clear(&back);

    /* The log line names them and shows the rest of the job, not them. */
    eb_log_set_level(EB_LOG_DEBUG);
    text = capture_stderr(log_spec, &spec);
    eb_log_set_level(level);
    assert_non_null(strstr(text, "stream_key"));
    assert_non_null(strstr(text, "clip-7_a"));
    assert_null(strstr(text, SECRET));
    free(text);

    /* Cleared: the values are gone with the spec. */
    eb_job_spec_clear(&spec);
    assert_int_equal(spec.nb_secrets, 0);
    assert_null(eb_job_spec_secret(&spec, "stream_key"));
}

/* A transcode run from a spec with a secret, as verbose as it goes: the
 * job's log (its stderr and stdout) never holds the secret. */
static void test_secret_not_in_job_log(void **state)
{
    const char *bin = getenv("EB_BINARY");
    char in[4300], spec_path[4300], out[4300], cfgp[4300], cmd[20000], *log;
    FILE *f;
    size_t n;
    int status;
    (void)state;

    assert_non_null(bin);
    snprintf(in, sizeof(in), "%s/in.mp4", tmp);
    snprintf(spec_path, sizeof(spec_path), "%s/spec.json", tmp);
    snprintf(out, sizeof(out), "%s/job.log", tmp);
    snprintf(cfgp, sizeof(cfgp), "%s/encbox.yaml", tmp);
    assert_int_equal(eb_test_ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=25 -t 1 -c:v libx264 "
                                    "-preset ultrafast %s",
                                    in),
                     0);
    f = fopen(cfgp, "w");
    assert_non_null(f);
    fputs("thumbnails: {enabled: false}\n", f);
    fclose(f);
    f = fopen(spec_path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"input\": \"%s\", \"storage_root\": \"%s/store\", \"video_id\": \"sec\", "
            "\"config\": \"%s\", \"ladder\": {\"rungs\": [{\"name\": \"r\", \"height\": 120, "
            "\"bitrate\": \"200k\"}]}, \"secrets\": {\"stream_key\": \"" SECRET "\"}}",
            in, tmp, cfgp);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "'%s' transcode --spec '%s' -vvv >'%s' 2>&1", bin, spec_path, out);
    status = system(cmd);
    log = malloc(1 << 22);
    assert_non_null(log);
    f = fopen(out, "r");
    assert_non_null(f);
    n = fread(log, 1, (1 << 22) - 1, f);
    fclose(f);
    log[n] = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("transcode --spec failed: %s", log);
    /* It ran the spec (and logged it), without the value. */
    assert_non_null(strstr(log, "published"));
    assert_non_null(strstr(log, "stream_key"));
    assert_null(strstr(log, SECRET));
    free(log);
}

/* The configuration fills what a spec leaves unset; the spec wins where it
 * says something. */
static void test_to_vod_options(void **state)
{
    static const char yaml[] = "storage: {root: /var/lib/box}\n"
                               "inputs: {roots: [/srv/cfg]}\n"
                               "jobs: {segment_seconds: 4, format: ts, preset: slow, "
                               "backend: software, fallback: none, ladder: mobile}\n"
                               "thumbnails: {enabled: false, width: 96}\n"
                               "ladders:\n"
                               "  mobile: {rungs: [{name: m360, height: 360, bitrate: 700k}]}\n";
    static const char *const hw[] = {"nvidia", "vaapi", "qsv", NULL};
    EbConfig cfg = {0};
    EbConfigErrors errs = {0};
    EbJobSpec spec;
    EbJobSpecError err;
    EbJobVodOptions jo;
    const EbVodOptions *o = &jo.vod;
    (void)state;

    assert_int_equal(eb_config_load_buffer(yaml, strlen(yaml), "test.yaml", &cfg, &errs), 0);
    eb_job_spec_init(&spec);
    assert_int_equal(eb_job_spec_set_string(&spec.input, "/srv/cfg/a.mp4"), 0);
    assert_int_equal(eb_job_spec_to_vod_options(&spec, &cfg, &jo, &err), 0);
    assert_string_equal(o->input, "/srv/cfg/a.mp4");
    assert_string_equal(o->storage_root, "/var/lib/box");
    assert_null(o->video_id);
    assert_true(o->segment_seconds == 4);
    assert_int_equal(o->format, EB_FORMAT_TS);
    assert_string_equal(o->preset, "slow");
    assert_string_equal(o->backend, "software");
    assert_string_equal(o->fallback, "none");
    assert_string_equal(o->ladder.rungs[0].name, "m360");
    assert_false(o->thumbs.enabled);
    assert_int_equal(o->thumbs.tile_width, 96);
    assert_string_equal(o->input_roots[0], "/srv/cfg");
    assert_null(o->input_roots[1]);

    eb_job_spec_clear(&spec);
    full_spec(&spec);
    assert_int_equal(eb_job_spec_to_vod_options(&spec, &cfg, &jo, &err), 0);
    assert_string_equal(o->storage_root, "/var/lib/encbox");
    assert_string_equal(o->video_id, "clip-7_a");
    assert_true(o->overwrite);
    assert_true(o->segment_seconds == 4.5);
    assert_string_equal(o->ladder.rungs[1].name, "240p");
    assert_int_equal(o->ladder.audio_channels, 1);
    assert_int_equal(o->encoder_threads, 4);
    assert_true(o->thumbs.at == 3.5);
    /* the job's roots, then the configuration's */
    assert_string_equal(o->input_roots[0], "/srv/media");
    assert_string_equal(o->input_roots[1], "/var/lib/encbox/uploads");
    assert_string_equal(o->input_roots[2], "/srv/cfg");
    assert_null(o->input_roots[3]);

    /* What the worker's configuration and build refuse. */
    spec.ladder_inline = 0;
    snprintf(spec.ladder_name, sizeof(spec.ladder_name), "nosuch");
    assert_int_equal(eb_job_spec_to_vod_options(&spec, &cfg, &jo, &err), EB_ERR(EINVAL));
    assert_string_equal(err.field, "ladder");
    snprintf(spec.ladder_name, sizeof(spec.ladder_name), "mobile");
    assert_int_equal(eb_job_spec_set_string(&spec.video_id, "no/slash"), 0);
    assert_int_equal(eb_job_spec_to_vod_options(&spec, &cfg, &jo, &err), EB_ERR_BAD_ID);
    assert_string_equal(err.field, "video_id");
    assert_int_equal(eb_job_spec_set_string(&spec.video_id, NULL), 0);
    for (int i = 0; hw[i]; i++)
        if (!eb_hal_find(hw[i])) {
            snprintf(spec.backend, sizeof(spec.backend), "%s", hw[i]);
            assert_int_equal(eb_job_spec_to_vod_options(&spec, &cfg, &jo, &err), EB_ERR(EINVAL));
            assert_string_equal(err.field, "backend");
            assert_non_null(strstr(err.message, "not in this build"));
            break;
        }
    eb_job_spec_clear(&spec);
    eb_config_errors_free(&errs);
    eb_config_free(&cfg);
}

static int group_setup(void **state)
{
    (void)state;
    eb_test_tmpdir("job_spec", tmp, sizeof(tmp));
    return 0;
}

/* A job's figures survive the JSON the CLI writes and bench reads, and
 * the derived ones (encode fps, bit rate) are computed from the result. */
static void test_job_stats_round_trip(void **state)
{
    EbVodResult res;
    EbJobStats a, b;
    json_t *j;
    (void)state;

    memset(&res, 0, sizeof(res));
    res.duration = 10;
    res.wall_seconds = 4;
    res.frames_out = 300;
    res.fanout_blocked_seconds = 1.25;
    res.nb_rungs = 1;
    snprintf(res.rungs[0].name, sizeof(res.rungs[0].name), "720p");
    res.rungs[0].width = 1280;
    res.rungs[0].height = 720;
    res.rungs[0].frames = 300;
    res.rungs[0].encode_seconds = 3;
    res.rungs[0].video_bytes = 3125000; /* 2500 kb/s over 10 s */
    eb_job_stats_from_result(&res, &a);
    assert_true(a.rungs[0].encode_fps == 100.0);
    assert_true(a.rungs[0].kbps == 2500.0);
    j = eb_job_stats_to_json(&a);
    assert_non_null(j);
    eb_job_stats_from_json(j, &b);
    json_decref(j);
    assert_int_equal(b.nb_rungs, 1);
    assert_string_equal(b.rungs[0].name, "720p");
    assert_int_equal(b.frames, 300);
    assert_true(b.fanout_blocked_seconds == 1.25);
    assert_true(b.rungs[0].kbps == 2500.0);
    assert_int_equal(b.rungs[0].height, 720);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_full), cmocka_unit_test(test_unset_fields),
        cmocka_unit_test(test_malformed),       cmocka_unit_test(test_checks),
        cmocka_unit_test(test_secrets),         cmocka_unit_test(test_secret_not_in_job_log),
        cmocka_unit_test(test_to_vod_options),  cmocka_unit_test(test_job_stats_round_trip),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
