/*
 * POST /v1/jobs body validation (see eb_job_request.h). Every check names
 * the field it concerns; nothing here touches the network or the job
 * store, so the fuzz target can call it with any bytes. The job's fields
 * are the spec codec's (eb_job_spec.c); this file holds what only a
 * request has: its field list, its input and its defaults.
 */
#include "eb_job_request.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eb_error.h"

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

/* 1 if the resolved path real lies inside one of the input roots. */
static int eb_under_roots(const EbJobRequestContext *ctx, const char *real)
{
    for (int i = 0; i < ctx->nb_roots; i++) {
        size_t l = strlen(ctx->roots[i]);
        if (!strncmp(real, ctx->roots[i], l) &&
            (real[l] == '/' || real[l] == '\0' || (l == 1 && real[0] == '/')))
            return 1;
    }
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
        /* Say "no such file" only inside a root: outside one, a missing
         * path and an existing one get the same 403, so the API is no
         * probe for what exists on the box. */
        int err = errno;
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", in);
        for (;;) {
            char *slash = strrchr(parent, '/');
            if (!slash || slash == parent) {
                snprintf(parent, sizeof(parent), "/");
                break;
            }
            *slash = '\0';
            if (realpath(parent, real))
                break;
        }
        if (!realpath(parent, real) || !eb_under_roots(ctx, real)) {
            snprintf(msg, size, "input: outside the configured input roots");
            return 403;
        }
        snprintf(msg, size, "input: %s", strerror(err));
        return 400;
    }
    if (!eb_under_roots(ctx, real)) {
        snprintf(msg, size, "input: outside the configured input roots");
        return 403;
    }
    {
        struct stat st;
        if (stat(real, &st) < 0) {
            snprintf(msg, size, "input: %s", strerror(errno));
            return 400;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(msg, size, "input: is a folder, not a file");
            return 400;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(msg, size, "input: not a regular file (a pipe or a device)");
            return 400;
        }
        if (ctx->cfg && ctx->cfg->limits_max_input_size > 0 &&
            (int64_t)st.st_size > ctx->cfg->limits_max_input_size) {
            snprintf(msg, size, "input: %lld bytes, larger than limits.max_input_size (%lld)",
                     (long long)st.st_size, (long long)ctx->cfg->limits_max_input_size);
            return 413;
        }
    }
    snprintf(out, PATH_MAX, "%s", real);
    return 0;
}

int eb_job_request_parse(const EbJobRequestContext *ctx, const char *body, size_t len,
                         EbJobSpec *spec_out, EbJobRequestError *err)
{
    static const char *const known[] = {"input",    "video_id",        "overwrite",  "ladder",
                                        "format",   "segment_seconds", "preset",     "backend",
                                        "fallback", "priority",        "encryption", NULL};
    const EbConfig *cfg = ctx->cfg;
    EbJobSpecCheck check = {.cfg = cfg, .backends = ctx->backends};
    EbJobSpecError serr;
    json_error_t e;
    json_t *in, *spec, *v;
    const char *key;
    char msg[600], path[PATH_MAX];
    unsigned code;
    int ret;

    eb_job_spec_clear(spec_out);
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
    if ((key = eb_job_spec_unknown_field(in, known))) {
        eb_fail(err, 400, key, "%s: unknown field", key);
        json_decref(in);
        return EB_ERR(EINVAL);
    }
    v = json_object_get(in, "input");
    if (!json_is_string(v)) {
        json_decref(in);
        eb_fail(err, 400, "input", "input: required, a string");
        return EB_ERR(EINVAL);
    }
    code = eb_resolve_input(ctx, json_string_value(v), path, msg, sizeof(msg));
    if (code) {
        json_decref(in);
        eb_fail(err, code, "input", "%s", msg);
        return EB_ERR(EINVAL);
    }

    /* The request as a job spec: its input resolved (and kept as given in
     * "source"), a null video_id or ladder taken as absent. The codec
     * checks every field, in the order of the request schema. */
    spec = json_deep_copy(in);
    json_decref(in); /* and v with it */
    if (!spec)
        return EB_ERR(ENOMEM);
    json_object_set(spec, "source", json_object_get(spec, "input"));
    if (json_object_set_new(spec, "input", json_string(path)) != 0) {
        /* JSON holds text only: a path resolved through names that are
         * not UTF-8 cannot be a job's input. */
        json_decref(spec);
        eb_fail(err, 400, "input", "input: the resolved path is not UTF-8 text");
        return EB_ERR(EINVAL);
    }
    if (json_is_null(json_object_get(spec, "video_id")))
        json_object_del(spec, "video_id");
    if (json_is_null(json_object_get(spec, "ladder")))
        json_object_del(spec, "ladder");
    ret = eb_job_spec_from_json(spec, &check, spec_out, &serr);
    json_decref(spec);
    if (ret < 0) {
        if (ret == EB_ERR(EINVAL))
            eb_fail(err, 400, serr.field[0] ? serr.field : NULL, "%s", serr.message);
        return ret;
    }
    /* The configuration's defaults where the request names none, so the
     * stored job says what it runs with. They are the operator's, not
     * checked against this build: a worker reports a wrong one. */
    if (!spec_out->ladder_inline && !spec_out->ladder_name[0])
        snprintf(spec_out->ladder_name, sizeof(spec_out->ladder_name), "%s", cfg->jobs_ladder);
    if (!spec_out->format_set) {
        spec_out->format_set = 1;
        spec_out->format = !strcmp(cfg->jobs_format, "ts") ? EB_FORMAT_TS : EB_FORMAT_CMAF;
    }
    if (spec_out->segment_seconds <= 0)
        spec_out->segment_seconds = cfg->jobs_segment_seconds;
    if ((spec_out->encryption == EB_ENCRYPT_CENC || spec_out->encryption == EB_ENCRYPT_CBCS) &&
        spec_out->format == EB_FORMAT_TS) {
        eb_fail(err, 400, "encryption",
                "encryption: %s is Common Encryption of CMAF segments: use format cmaf, or "
                "aes-128 for MPEG-TS",
                eb_encryption_scheme_name((EbEncryptionScheme)spec_out->encryption));
        eb_job_spec_clear(spec_out);
        return EB_ERR(EINVAL);
    }
#define EB_DEFAULT(field, value)                                                                   \
    if (!spec_out->field[0])                                                                       \
    snprintf(spec_out->field, sizeof(spec_out->field), "%s", value)
    EB_DEFAULT(preset, cfg->jobs_preset);
    EB_DEFAULT(backend, cfg->jobs_backend);
    EB_DEFAULT(fallback, cfg->jobs_fallback);
#undef EB_DEFAULT
    return 0;
}
