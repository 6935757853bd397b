/*
 * POST /v1/jobs body validation (see eb_job_request.h). Every check names
 * the field it concerns; nothing here touches the network or the job
 * store, so the fuzz target can call it with any bytes.
 */
#include "eb_job_request.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_storage.h"

static const char *const eb_presets[] = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                         "medium",    "slow",      "slower",   "veryslow", NULL};

static void eb_fail(EbJobRequestError *err, unsigned status, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static void eb_fail(EbJobRequestError *err, unsigned status, const char *field, const char *fmt,
                    ...)
{
    va_list ap;
    err->status = status;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

static int eb_in_list(const char *s, const char *const *list)
{
    for (int i = 0; list && list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

/* Resolves a job's input: "upload:<id>" or a path under an input root.
 * On failure fills msg and returns the HTTP status. */
static unsigned eb_resolve_input(const EbJobRequestContext *ctx, const char *in, char *out,
                                 char *msg, size_t size)
{
    char real[PATH_MAX];

    if (!strncmp(in, "upload:", 7)) {
        const char *id = in + 7;
        if (strlen(id) != EB_UPLOAD_ID_LEN || strspn(id, "0123456789abcdef") != strlen(id)) {
            snprintf(msg, size, "input: not a valid upload id");
            return 400;
        }
        if (snprintf(out, PATH_MAX, "%s/%s", ctx->uploads, id) >= PATH_MAX ||
            access(out, R_OK) != 0) {
            snprintf(msg, size, "input: no such upload");
            return 400;
        }
        return 0;
    }
    if (in[0] != '/') {
        snprintf(msg, size, "input: must be an upload id (upload:<id>) or an absolute path");
        return 400;
    }
    if (ctx->nb_roots == 0) {
        snprintf(msg, size, "input: no input roots are configured; upload the file instead");
        return 403;
    }
    if (!realpath(in, real)) {
        snprintf(msg, size, "input: %s", strerror(errno));
        return 400;
    }
    for (int i = 0; i < ctx->nb_roots; i++) {
        size_t l = strlen(ctx->roots[i]);
        if (!strncmp(real, ctx->roots[i], l) && (real[l] == '/' || (l == 1 && real[0] == '/'))) {
            snprintf(out, PATH_MAX, "%s", real);
            return 0;
        }
    }
    snprintf(msg, size, "input: outside the configured input roots");
    return 403;
}

int eb_job_request_parse(const EbJobRequestContext *ctx, const char *body, size_t len,
                         json_t **spec_out, EbJobRequestError *err)
{
    json_error_t e;
    json_t *in, *spec = NULL, *v;
    const char *key;
    char msg[600], path[PATH_MAX];
    int hevc = 0; /* the ladder's codec, for the format check */
    unsigned code;

    *spec_out = NULL;
    memset(err, 0, sizeof(*err));
    in = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &e);
    if (!in) {
        eb_fail(err, 400, NULL, "malformed JSON: %s (line %d)", e.text, e.line);
        return EB_ERR(EINVAL);
    }
    if (!json_is_object(in)) {
        json_decref(in);
        eb_fail(err, 400, NULL, "the body must be a JSON object");
        return EB_ERR(EINVAL);
    }
    json_object_foreach(in, key, v)
    {
        static const char *const known[] = {"input",    "video_id",        "overwrite", "ladder",
                                            "format",   "segment_seconds", "preset",    "backend",
                                            "fallback", "priority",        NULL};
        if (!eb_in_list(key, known)) {
            eb_fail(err, 400, key, "%s: unknown field", key);
            json_decref(in);
            return EB_ERR(EINVAL);
        }
    }
#define EB_FAIL(code, field, ...)                                                                  \
    do {                                                                                           \
        eb_fail(err, code, field, __VA_ARGS__);                                                    \
        json_decref(in);                                                                           \
        json_decref(spec);                                                                         \
        return EB_ERR(EINVAL);                                                                     \
    } while (0)
    spec = json_object();
    v = json_object_get(in, "input");
    if (!json_is_string(v))
        EB_FAIL(400, "input", "input: required, a string");
    code = eb_resolve_input(ctx, json_string_value(v), path, msg, sizeof(msg));
    if (code)
        EB_FAIL(code, "input", "%s", msg);
    json_object_set_new(spec, "input", json_string(path));
    json_object_set(spec, "source", v);

    v = json_object_get(in, "video_id");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || !eb_storage_id_valid(json_string_value(v)))
            EB_FAIL(400, "video_id", "video_id: must match [A-Za-z0-9_-]{1,64}");
        json_object_set(spec, "video_id", v);
    }
    v = json_object_get(in, "overwrite");
    if (v && !json_is_boolean(v))
        EB_FAIL(400, "overwrite", "overwrite: must be true or false");
    json_object_set_new(spec, "overwrite", json_boolean(json_is_true(v)));

    v = json_object_get(in, "ladder");
    if (!v || json_is_null(v)) {
        const EbLadder *preset = eb_config_find_ladder(ctx->cfg, ctx->cfg->jobs_ladder);
        hevc = preset && preset->nb_rungs > 0 && !strcmp(preset->rungs[0].codec, "hevc");
        json_object_set_new(spec, "ladder", json_string(ctx->cfg->jobs_ladder));
    } else if (json_is_string(v)) {
        const EbLadder *preset = eb_config_find_ladder(ctx->cfg, json_string_value(v));
        if (!preset)
            EB_FAIL(400, "ladder", "ladder: no preset named '%s'", json_string_value(v));
        hevc = preset->nb_rungs > 0 && !strcmp(preset->rungs[0].codec, "hevc");
        json_object_set(spec, "ladder", v);
    } else if (json_is_object(v)) {
        EbConfigErrors errs = {0};
        EbLadder lad;
        char *text = json_dumps(v, JSON_COMPACT);
        int bad = !text || eb_ladder_load_buffer(text, strlen(text), "inline", &lad, &errs) < 0 ||
                  eb_config_errors_count(&errs) > 0;
        if (!bad)
            bad = eb_config_check_ladder(ctx->cfg, &lad, &errs) < 0 ||
                  eb_config_errors_count(&errs) > 0;
        snprintf(msg, sizeof(msg), "%s", errs.nb > 0 ? errs.items[0].message : "invalid ladder");
        eb_config_errors_free(&errs);
        free(text);
        if (bad)
            EB_FAIL(400, "ladder", "ladder: %s", msg);
        hevc = lad.nb_rungs > 0 && !strcmp(lad.rungs[0].codec, "hevc");
        json_object_set(spec, "ladder", v);
    } else {
        EB_FAIL(400, "ladder", "ladder: must be a preset name or a ladder object");
    }

    v = json_object_get(in, "format");
    if (v && (!json_is_string(v) ||
              (strcmp(json_string_value(v), "cmaf") && strcmp(json_string_value(v), "ts"))))
        EB_FAIL(400, "format", "format: must be \"cmaf\" or \"ts\"");
    if (hevc && !strcmp(v ? json_string_value(v) : ctx->cfg->jobs_format, "ts"))
        EB_FAIL(400, "format",
                "format: the ladder is HEVC, which is packaged in CMAF only (HLS players play "
                "HEVC from fMP4 segments): use \"cmaf\"");
    json_object_set_new(spec, "format",
                        json_string(v ? json_string_value(v) : ctx->cfg->jobs_format));

    v = json_object_get(in, "segment_seconds");
    if (v && (!json_is_number(v) || json_number_value(v) < 1 || json_number_value(v) > 60))
        EB_FAIL(400, "segment_seconds", "segment_seconds: must be a number, 1 to 60");
    json_object_set_new(spec, "segment_seconds",
                        json_real(v ? json_number_value(v) : ctx->cfg->jobs_segment_seconds));

    v = json_object_get(in, "preset");
    if (v && (!json_is_string(v) || !eb_in_list(json_string_value(v), eb_presets)))
        EB_FAIL(400, "preset", "preset: must be one of ultrafast..veryslow");
    json_object_set_new(spec, "preset",
                        json_string(v ? json_string_value(v) : ctx->cfg->jobs_preset));

    v = json_object_get(in, "backend");
    if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "auto") &&
                                     !eb_in_list(json_string_value(v), ctx->backends))))
        EB_FAIL(400, "backend", "backend: must be auto or a backend of this build");
    json_object_set_new(spec, "backend",
                        json_string(v ? json_string_value(v) : ctx->cfg->jobs_backend));

    v = json_object_get(in, "fallback");
    if (v && (!json_is_string(v) ||
              (strcmp(json_string_value(v), "auto") && strcmp(json_string_value(v), "none") &&
               !eb_in_list(json_string_value(v), ctx->backends))))
        EB_FAIL(400, "fallback", "fallback: must be auto, none or a backend of this build");
    json_object_set_new(spec, "fallback",
                        json_string(v ? json_string_value(v) : ctx->cfg->jobs_fallback));

    v = json_object_get(in, "priority");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 9))
        EB_FAIL(400, "priority", "priority: must be an integer, 0 to 9");
    json_object_set_new(spec, "priority", json_integer(v ? json_integer_value(v) : 5));
#undef EB_FAIL
    json_decref(in);
    *spec_out = spec;
    return 0;
}
