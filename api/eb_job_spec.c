/*
 * EbJobSpec and its JSON codec (see eb_job_spec.h), and the two ends of the
 * file descriptor a worker reads its spec from. Nothing here needs the
 * engine or the HAL, so the fuzz target (api/fuzz/) builds this file
 * alone; the mapping to EbVodOptions is in eb_job_spec_vod.c.
 *
 * The value checks come from the configuration's settings table (formats,
 * presets, backend names, the segment range) and ladders go through the
 * configuration's ladder loader, so a spec accepts what the configuration
 * file and `--ladder FILE` accept, in the same words. An inline ladder is
 * written back from the same table (eb_ladder_json): the JSON of a spec is
 * the ladder as the job runs it, which the loader reads back unchanged.
 */
#include "eb_job_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_log.h"
#include "eb_storage.h"

static void eb_spec_fail(EbJobSpecError *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_spec_fail(EbJobSpecError *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->field, sizeof(err->field), "%s", field);
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

const char *eb_job_spec_unknown_field(const json_t *object, const char *const *known)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)object, key, v)
    {
        (void)v;
        if (!eb_in_list(key, known))
            return key;
    }
    return NULL;
}

/* The allowed values of a setting of the configuration's table. */
static const char *const *eb_setting_values(const char *name)
{
    const EbSetting *s = eb_config_find_setting(name);
    return s ? s->values : NULL;
}

/* A JSON string without NUL bytes inside (a C string holds all of it). */
static const char *eb_json_cstr(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == json_string_length(v) ? s : NULL;
}

static void eb_wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void eb_job_spec_init(EbJobSpec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->priority = 5;
    spec->thumbnails = -1;
    spec->thumbnail_at = -1.0;
}

void eb_job_spec_clear(EbJobSpec *spec)
{
    free(spec->input);
    free(spec->source);
    free(spec->video_id);
    free(spec->storage_root);
    free(spec->config_path);
    eb_job_spec_clear_input_roots(spec);
    for (int i = 0; i < spec->nb_secrets; i++)
        eb_wipe_free(spec->secrets[i].value);
    eb_job_spec_init(spec);
}

int eb_job_spec_set_string(char **field, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return EB_ERR(ENOMEM);
    free(*field);
    *field = copy;
    return 0;
}

int eb_job_spec_add_input_root(EbJobSpec *spec, const char *dir)
{
    if (spec->nb_input_roots >= EB_JOB_SPEC_MAX_ROOTS)
        return EB_ERR(ENOSPC);
    if (!(spec->input_roots[spec->nb_input_roots] = strdup(dir)))
        return EB_ERR(ENOMEM);
    spec->input_roots[++spec->nb_input_roots] = NULL;
    return 0;
}

void eb_job_spec_clear_input_roots(EbJobSpec *spec)
{
    for (int i = 0; i < spec->nb_input_roots; i++) {
        free(spec->input_roots[i]);
        spec->input_roots[i] = NULL;
    }
    spec->nb_input_roots = 0;
}

static int eb_secret_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < EB_JOB_SPEC_SECRET_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int eb_job_spec_set_secret(EbJobSpec *spec, const char *name, const char *value)
{
    int i;
    char *copy;

    if (!eb_secret_name_valid(name) || !value || !*value || strlen(value) >= EB_JOB_SPEC_SECRET_MAX)
        return EB_ERR(EINVAL);
    for (i = 0; i < spec->nb_secrets; i++)
        if (!strcmp(spec->secrets[i].name, name))
            break;
    if (i == EB_JOB_SPEC_MAX_SECRETS)
        return EB_ERR(ENOSPC);
    if (!(copy = strdup(value)))
        return EB_ERR(ENOMEM);
    if (i == spec->nb_secrets)
        snprintf(spec->secrets[spec->nb_secrets++].name, EB_JOB_SPEC_SECRET_NAME_MAX, "%s", name);
    else
        eb_wipe_free(spec->secrets[i].value);
    spec->secrets[i].value = copy;
    return 0;
}

const char *eb_job_spec_secret(const EbJobSpec *spec, const char *name)
{
    for (int i = 0; i < spec->nb_secrets; i++)
        if (!strcmp(spec->secrets[i].name, name))
            return spec->secrets[i].value;
    return NULL;
}

/* ---- ladder -> JSON, from the configuration's ladder and rung tables ---- */

/* The JSON value of one setting of the struct at base; NULL to leave it
 * out (an empty string), or *ret < 0. */
static json_t *eb_setting_json(const EbSetting *s, const void *base, int *ret)
{
    const char *p = (const char *)base + s->offset;
    const char *str;
    char dim[32];

    switch (s->type) {
    case EB_SETTING_STRING:
    case EB_SETTING_PATH:
    case EB_SETTING_ENUM:
        str = s->size ? p : *(char *const *)(const void *)p;
        return str && *str ? json_string(str) : NULL;
    case EB_SETTING_BOOL:
        return json_boolean(*(const int *)(const void *)p);
    case EB_SETTING_INT:
        return json_integer(*(const int *)(const void *)p);
    case EB_SETTING_DOUBLE:
        return json_real(*(const double *)(const void *)p);
    case EB_SETTING_BITRATE:
    case EB_SETTING_SIZE:
    case EB_SETTING_DURATION:
        return json_integer(*(const int64_t *)(const void *)p);
    case EB_SETTING_DIM: {
        const EbDim *d = (const EbDim *)(const void *)p;
        snprintf(dim, sizeof(dim), "%dx%d", d->width, d->height);
        return json_string(dim);
    }
    default:
        *ret = EB_ERR(ENOSYS);
        return NULL;
    }
}

/* Sets obj[name] (a dotted name: obj[a][b]) to v, taking the reference. */
static int eb_json_set_dotted(json_t *obj, const char *name, json_t *v)
{
    const char *dot = strchr(name, '.');
    char head[64];
    json_t *sub;

    if (!dot)
        return json_object_set_new(obj, name, v) ? EB_ERR(ENOMEM) : 0;
    snprintf(head, sizeof(head), "%.*s", (int)(dot - name), name);
    sub = json_object_get(obj, head);
    if (!sub) {
        sub = json_object();
        if (!sub || json_object_set_new(obj, head, sub)) {
            json_decref(v);
            return EB_ERR(ENOMEM);
        }
    }
    return eb_json_set_dotted(sub, dot + 1, v);
}

/* Every row of a table (ladder or rung) of the struct at base into obj. */
static int eb_table_json(const EbSetting *rows, int nb, const void *base, json_t *obj)
{
    for (int i = 0; i < nb; i++) {
        int ret = 0;
        json_t *v;
        if (rows[i].type == EB_SETTING_RUNGS) {
            /* Only the ladder table has it: the rungs of an EbLadder. */
            const EbLadder *lad = base;
            int nb_rung_rows;
            const EbSetting *rung_rows = eb_config_rung_settings(&nb_rung_rows);
            v = json_array();
            for (int r = 0; v && r < lad->nb_rungs && ret == 0; r++) {
                json_t *o = json_object();
                ret =
                    o ? eb_table_json(rung_rows, nb_rung_rows, &lad->rungs[r], o) : EB_ERR(ENOMEM);
                if (o && json_array_append_new(v, o))
                    ret = EB_ERR(ENOMEM);
            }
            if (!v)
                ret = EB_ERR(ENOMEM);
        } else {
            v = eb_setting_json(&rows[i], base, &ret);
        }
        if (ret < 0) {
            json_decref(v);
            return ret;
        }
        if (v && (ret = eb_json_set_dotted(obj, rows[i].name, v)) < 0)
            return ret;
    }
    return 0;
}

/* A ladder as one object of the ladder schema (every field written). */
static int eb_ladder_json(const EbLadder *ladder, json_t **out)
{
    int nb;
    const EbSetting *rows = eb_config_ladder_settings(&nb);
    json_t *o = json_object();
    int ret = o ? eb_table_json(rows, nb, ladder, o) : EB_ERR(ENOMEM);

    if (ret < 0) {
        json_decref(o);
        return ret;
    }
    *out = o;
    return 0;
}

/* ---- EbJobSpec -> JSON -------------------------------------------------- */

static const char *eb_format_name(EbOutputFormat f)
{
    return f == EB_FORMAT_TS ? "ts" : "cmaf";
}

/* Sets o[key] to v (taken). A NULL v is a string jansson refused, which
 * can only be one that is not UTF-8 (or no memory): *bad says which. */
static void eb_out_set(json_t *o, const char *key, json_t *v, int *bad)
{
    if (!v) {
        if (!*bad)
            *bad = EB_ERR(EINVAL);
        return;
    }
    if (json_object_set_new(o, key, v))
        *bad = EB_ERR(ENOMEM);
}

int eb_job_spec_to_json(const EbJobSpec *spec, unsigned flags, json_t **out)
{
    json_t *o = json_object(), *v;
    int bad = 0;

    *out = NULL;
    if (!o)
        return EB_ERR(ENOMEM);
    if (spec->input)
        eb_out_set(o, "input", json_string(spec->input), &bad);
    if (spec->source)
        eb_out_set(o, "source", json_string(spec->source), &bad);
    if (spec->video_id)
        eb_out_set(o, "video_id", json_string(spec->video_id), &bad);
    eb_out_set(o, "overwrite", json_boolean(spec->overwrite), &bad);
    if (spec->ladder_inline) {
        int ret = eb_ladder_json(&spec->ladder, &v);
        if (ret < 0)
            bad = ret;
        else
            eb_out_set(o, "ladder", v, &bad);
    } else if (spec->ladder_name[0]) {
        eb_out_set(o, "ladder", json_string(spec->ladder_name), &bad);
    }
    if (spec->format_set)
        eb_out_set(o, "format", json_string(eb_format_name(spec->format)), &bad);
    if (spec->segment_seconds > 0)
        eb_out_set(o, "segment_seconds", json_real(spec->segment_seconds), &bad);
    if (spec->preset[0])
        eb_out_set(o, "preset", json_string(spec->preset), &bad);
    if (spec->backend[0])
        eb_out_set(o, "backend", json_string(spec->backend), &bad);
    if (spec->fallback[0])
        eb_out_set(o, "fallback", json_string(spec->fallback), &bad);
    eb_out_set(o, "priority", json_integer(spec->priority), &bad);
    if (spec->storage_root)
        eb_out_set(o, "storage_root", json_string(spec->storage_root), &bad);
    if (spec->nb_input_roots > 0 && (v = json_array())) {
        for (int i = 0; i < spec->nb_input_roots; i++) {
            json_t *item = json_string(spec->input_roots[i]);
            if (!item || json_array_append_new(v, item))
                bad = item ? EB_ERR(ENOMEM) : EB_ERR(EINVAL);
        }
        eb_out_set(o, "input_roots", v, &bad);
    } else if (spec->nb_input_roots > 0) {
        bad = EB_ERR(ENOMEM);
    }
    if (spec->config_path)
        eb_out_set(o, "config", json_string(spec->config_path), &bad);
    if (spec->thumbnails >= 0)
        eb_out_set(o, "thumbnails", json_boolean(spec->thumbnails), &bad);
    if (spec->thumbnail_at >= 0)
        eb_out_set(o, "thumbnail_at", json_real(spec->thumbnail_at), &bad);
    if (spec->threads > 0)
        eb_out_set(o, "threads", json_integer(spec->threads), &bad);
    if (spec->encryption != EB_ENCRYPT_NONE)
        eb_out_set(o, "encryption",
                   json_pack("{s:s}", "scheme",
                             eb_encryption_scheme_name((EbEncryptionScheme)spec->encryption)),
                   &bad);
    if ((flags & EB_JOB_SPEC_JSON_SECRETS) && spec->nb_secrets > 0) {
        if ((v = json_object()))
            for (int i = 0; i < spec->nb_secrets; i++)
                eb_out_set(v, spec->secrets[i].name, json_string(spec->secrets[i].value), &bad);
        eb_out_set(o, "secrets", v, &bad);
    }
    if (bad < 0) {
        json_decref(o);
        return bad;
    }
    *out = o;
    return 0;
}

/* ---- JSON -> EbJobSpec -------------------------------------------------- */

/* Decoding state: the object, the checks, the spec and the first error. */
typedef struct EbSpecIn {
    const json_t *o;
    const EbJobSpecCheck *check;
    EbJobSpec *spec;
    EbJobSpecError *err;
} EbSpecIn;

/* Optional string member key into the owned *field. */
static int eb_in_string(EbSpecIn *in, const char *key, char **field, const char *what)
{
    const json_t *v = json_object_get(in->o, key);
    const char *s;

    if (!v)
        return 0;
    s = eb_json_cstr(v);
    if (!s || !*s) {
        eb_spec_fail(in->err, key, "%s: must be %s", key, what);
        return EB_ERR(EINVAL);
    }
    return eb_job_spec_set_string(field, s);
}

/* Optional member key, one of values (or of extra), into a char array. */
static int eb_in_enum(EbSpecIn *in, const char *key, const char *const *values,
                      const char *const *extra, char *out, size_t size, const char *what)
{
    const json_t *v = json_object_get(in->o, key);
    const char *s;

    if (!v)
        return 0;
    s = eb_json_cstr(v);
    if (!s || strlen(s) >= size || (!eb_in_list(s, values) && !eb_in_list(s, extra))) {
        eb_spec_fail(in->err, key, "%s: must be %s", key, what);
        return EB_ERR(EINVAL);
    }
    snprintf(out, size, "%s", s);
    return 0;
}

static int eb_in_ladder(EbSpecIn *in)
{
    const json_t *v = json_object_get(in->o, "ladder");
    const EbConfig *cfg = in->check ? in->check->cfg : NULL;
    EbJobSpec *spec = in->spec;

    if (!v)
        return 0;
    if (json_is_string(v)) {
        const char *name = eb_json_cstr(v);
        if (!name || !*name || strlen(name) >= sizeof(spec->ladder_name) ||
            (cfg && !eb_config_find_ladder(cfg, name))) {
            eb_spec_fail(in->err, "ladder", "ladder: no preset named '%s'", json_string_value(v));
            return EB_ERR(EINVAL);
        }
        snprintf(spec->ladder_name, sizeof(spec->ladder_name), "%s", name);
        return 0;
    }
    if (json_is_object(v)) {
        /* The configuration's own loader: the same schema and messages as a
         * preset or a --ladder file (a JSON object is YAML too). */
        EbConfigErrors errs = {0};
        char *text = json_dumps(v, JSON_COMPACT);
        int bad;

        if (!text)
            return EB_ERR(ENOMEM);
        bad = eb_ladder_load_buffer(text, strlen(text), "inline", &spec->ladder, &errs) < 0 ||
              eb_config_errors_count(&errs) > 0;
        if (!bad && cfg)
            bad = eb_config_check_ladder(cfg, &spec->ladder, &errs) < 0 ||
                  eb_config_errors_count(&errs) > 0;
        if (bad)
            eb_spec_fail(in->err, "ladder", "ladder: %s",
                         errs.nb > 0 ? errs.items[0].message : "invalid ladder");
        eb_config_errors_free(&errs);
        free(text);
        if (bad)
            return EB_ERR(EINVAL);
        spec->ladder_inline = 1;
        return 0;
    }
    eb_spec_fail(in->err, "ladder", "ladder: must be a preset name or a ladder object");
    return EB_ERR(EINVAL);
}

/* The codec of the spec's ladder, when it can be known here: the inline
 * ladder's, or a preset's of check->cfg (the spec's, or jobs.ladder). */
static const char *eb_in_ladder_codec(const EbSpecIn *in)
{
    const EbConfig *cfg = in->check ? in->check->cfg : NULL;
    const EbLadder *lad = NULL;

    if (in->spec->ladder_inline)
        lad = &in->spec->ladder;
    else if (cfg)
        lad = eb_config_find_ladder(cfg, in->spec->ladder_name[0] ? in->spec->ladder_name
                                                                  : cfg->jobs_ladder);
    return lad && lad->nb_rungs > 0 ? lad->rungs[0].codec : NULL;
}

static int eb_in_format(EbSpecIn *in)
{
    const json_t *v = json_object_get(in->o, "format");
    const EbConfig *cfg = in->check ? in->check->cfg : NULL;
    const char *codec, *fmt = NULL;

    if (v) {
        fmt = eb_json_cstr(v);
        if (!fmt || !eb_in_list(fmt, eb_setting_values("jobs.format"))) {
            eb_spec_fail(in->err, "format", "format: must be \"cmaf\" or \"ts\"");
            return EB_ERR(EINVAL);
        }
        in->spec->format_set = 1;
        in->spec->format = !strcmp(fmt, "ts") ? EB_FORMAT_TS : EB_FORMAT_CMAF;
    } else if (cfg) {
        fmt = cfg->jobs_format;
    }
    codec = eb_in_ladder_codec(in);
    if (codec && !strcmp(codec, "hevc") && fmt && !strcmp(fmt, "ts")) {
        eb_spec_fail(in->err, "format",
                     "format: the ladder is HEVC, which is packaged in CMAF only (HLS players "
                     "play HEVC from fMP4 segments): use \"cmaf\"");
        return EB_ERR(EINVAL);
    }
    return 0;
}

static int eb_in_number(EbSpecIn *in, const char *key, double min, double max, double *out,
                        const char *what)
{
    const json_t *v = json_object_get(in->o, key);

    if (!v)
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= min && json_number_value(v) <= max)) {
        eb_spec_fail(in->err, key, "%s: must be %s", key, what);
        return EB_ERR(EINVAL);
    }
    *out = json_number_value(v);
    return 0;
}

static int eb_in_integer(EbSpecIn *in, const char *key, int min, int max, int *out,
                         const char *what)
{
    const json_t *v = json_object_get(in->o, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        eb_spec_fail(in->err, key, "%s: must be %s", key, what);
        return EB_ERR(EINVAL);
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static int eb_in_bool(EbSpecIn *in, const char *key, int *out)
{
    const json_t *v = json_object_get(in->o, key);

    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        eb_spec_fail(in->err, key, "%s: must be true or false", key);
        return EB_ERR(EINVAL);
    }
    *out = json_is_true(v);
    return 0;
}

/* "encryption": {"scheme": ..., "key_provider": "store"} */
static int eb_in_encryption(EbSpecIn *in)
{
    static const char *const known[] = {"scheme", "key_provider", NULL};
    const json_t *v = json_object_get(in->o, "encryption");
    const char *key, *scheme, *provider;
    EbEncryptionScheme sc;

    if (!v)
        return 0;
    if (!json_is_object(v)) {
        eb_spec_fail(in->err, "encryption",
                     "encryption: must be an object, {\"scheme\": \"aes-128\"|\"cenc\"|\"cbcs\"}");
        return EB_ERR(EINVAL);
    }
    if ((key = eb_job_spec_unknown_field(v, known))) {
        eb_spec_fail(in->err, "encryption", "encryption: unknown field %s", key);
        return EB_ERR(EINVAL);
    }
    scheme = eb_json_cstr(json_object_get(v, "scheme"));
    if (!scheme || eb_encryption_scheme_parse(scheme, &sc) < 0) {
        eb_spec_fail(in->err, "encryption",
                     "encryption: scheme must be \"aes-128\", \"cenc\", \"cbcs\" or \"none\"");
        return EB_ERR(EINVAL);
    }
    provider = eb_json_cstr(json_object_get(v, "key_provider"));
    if (json_object_get(v, "key_provider") && (!provider || strcmp(provider, "store"))) {
        eb_spec_fail(in->err, "encryption",
                     "encryption: key_provider must be \"store\" (the built-in key store; an "
                     "external key server is not built yet)");
        return EB_ERR(EINVAL);
    }
    in->spec->encryption = (int)sc;
    return 0;
}

static int eb_in_roots(EbSpecIn *in)
{
    const json_t *v = json_object_get(in->o, "input_roots"), *item;
    size_t i;

    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > EB_JOB_SPEC_MAX_ROOTS) {
        eb_spec_fail(in->err, "input_roots", "input_roots: must be a list of at most %d folders",
                     EB_JOB_SPEC_MAX_ROOTS);
        return EB_ERR(EINVAL);
    }
    json_array_foreach(v, i, item)
    {
        const char *s = eb_json_cstr(item);
        int ret;
        if (!s || !*s) {
            eb_spec_fail(in->err, "input_roots", "input_roots[%zu]: must be a folder's path", i);
            return EB_ERR(EINVAL);
        }
        if ((ret = eb_job_spec_add_input_root(in->spec, s)) < 0)
            return ret;
    }
    return 0;
}

/* Messages name the secret, never its value. */
static int eb_in_secrets(EbSpecIn *in)
{
    const json_t *v = json_object_get(in->o, "secrets"), *item;
    const char *name;

    if (!v)
        return 0;
    if (!json_is_object(v) || json_object_size(v) > EB_JOB_SPEC_MAX_SECRETS) {
        eb_spec_fail(in->err, "secrets", "secrets: must be an object of at most %d strings",
                     EB_JOB_SPEC_MAX_SECRETS);
        return EB_ERR(EINVAL);
    }
    json_object_foreach((json_t *)v, name, item)
    {
        const char *s = eb_json_cstr(item);
        int ret;
        if (!eb_secret_name_valid(name)) {
            eb_spec_fail(in->err, "secrets", "secrets: names must match [a-z0-9_]{1,%d}",
                         EB_JOB_SPEC_SECRET_NAME_MAX - 1);
            return EB_ERR(EINVAL);
        }
        if (!s || !*s || strlen(s) >= EB_JOB_SPEC_SECRET_MAX) {
            eb_spec_fail(in->err, "secrets", "secrets.%s: must be a string of 1 to %d bytes", name,
                         EB_JOB_SPEC_SECRET_MAX - 1);
            return EB_ERR(EINVAL);
        }
        if ((ret = eb_job_spec_set_secret(in->spec, name, s)) < 0)
            return ret;
    }
    return 0;
}

int eb_job_spec_from_json(const json_t *json, const EbJobSpecCheck *check, EbJobSpec *spec,
                          EbJobSpecError *err)
{
    static const char *const known[] = {
        "input",        "source",          "video_id",    "overwrite",  "ladder",
        "format",       "segment_seconds", "preset",      "backend",    "fallback",
        "priority",     "storage_root",    "input_roots", "config",     "thumbnails",
        "thumbnail_at", "threads",         "secrets",     "encryption", NULL};
    static const char *const auto_only[] = {"auto", NULL}, *const auto_none[] = {"auto", "none",
                                                                                 NULL};
    EbSpecIn in = {.o = json, .check = check, .spec = spec, .err = err};
    const EbSetting *seg = eb_config_find_setting("jobs.segment_seconds");
    const char *const *backends = check && check->backends ? check->backends : NULL;
    const char *key, *s;
    const json_t *v;
    char seg_what[64];
    int ret;

    eb_job_spec_clear(spec);
    memset(err, 0, sizeof(*err));
    if (!json_is_object(json)) {
        eb_spec_fail(err, "", "a job spec must be a JSON object");
        return EB_ERR(EINVAL);
    }
    if ((key = eb_job_spec_unknown_field(json, known))) {
        eb_spec_fail(err, key, "%s: unknown field", key);
        return EB_ERR(EINVAL);
    }
    v = json_object_get(json, "input");
    s = eb_json_cstr(v);
    if (!s || !*s) {
        eb_spec_fail(err, "input", "input: required, a string");
        return EB_ERR(EINVAL);
    }
    if ((ret = eb_job_spec_set_string(&spec->input, s)) < 0)
        return ret;
    if ((ret = eb_in_string(&in, "source", &spec->source, "a string")) < 0)
        return ret;
    v = json_object_get(json, "video_id");
    if (v && (!(s = eb_json_cstr(v)) || !eb_storage_id_valid(s))) {
        eb_spec_fail(err, "video_id", "video_id: must match [A-Za-z0-9_-]{1,64}");
        return EB_ERR(EINVAL);
    }
    if (v && (ret = eb_job_spec_set_string(&spec->video_id, s)) < 0)
        return ret;
    if ((ret = eb_in_bool(&in, "overwrite", &spec->overwrite)) < 0 ||
        (ret = eb_in_ladder(&in)) < 0 || (ret = eb_in_format(&in)) < 0)
        return ret;
    snprintf(seg_what, sizeof(seg_what), "a number, %g to %g", seg->min, seg->max);
    if ((ret = eb_in_number(&in, "segment_seconds", seg->min, seg->max, &spec->segment_seconds,
                            seg_what)) < 0 ||
        (ret = eb_in_enum(&in, "preset", eb_setting_values("jobs.preset"), NULL, spec->preset,
                          sizeof(spec->preset), "one of ultrafast..veryslow")) < 0)
        return ret;
    /* With the build's list, "auto" (and "none" for the fallback) are
     * allowed beside it; the table's lists hold them already. */
    if ((ret = eb_in_enum(&in, "backend", backends ? backends : eb_setting_values("jobs.backend"),
                          auto_only, spec->backend, sizeof(spec->backend),
                          backends ? "auto or a backend of this build"
                                   : "auto or a backend name")) < 0 ||
        (ret = eb_in_enum(&in, "fallback", backends ? backends : eb_setting_values("jobs.fallback"),
                          auto_none, spec->fallback, sizeof(spec->fallback),
                          backends ? "auto, none or a backend of this build"
                                   : "auto, none or a backend name")) < 0 ||
        (ret = eb_in_integer(&in, "priority", 0, 9, &spec->priority, "an integer, 0 to 9")) < 0 ||
        (ret = eb_in_string(&in, "storage_root", &spec->storage_root, "a folder's path")) < 0 ||
        (ret = eb_in_roots(&in)) < 0 ||
        (ret = eb_in_string(&in, "config", &spec->config_path, "a file's path")) < 0 ||
        (ret = eb_in_bool(&in, "thumbnails", &spec->thumbnails)) < 0 ||
        (ret = eb_in_number(&in, "thumbnail_at", 0, 1e9, &spec->thumbnail_at,
                            "a time in seconds, 0 or more")) < 0 ||
        (ret = eb_in_integer(&in, "threads", 1, 64, &spec->threads, "an integer, 1 to 64")) < 0 ||
        (ret = eb_in_secrets(&in)) < 0 || (ret = eb_in_encryption(&in)) < 0)
        return ret;
    return 0;
}

int eb_job_spec_parse(const char *text, size_t len, const EbJobSpecCheck *check, EbJobSpec *spec,
                      EbJobSpecError *err)
{
    json_error_t e;
    json_t *o = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &e);
    int ret;

    if (!o) {
        eb_job_spec_clear(spec);
        memset(err, 0, sizeof(*err));
        eb_spec_fail(err, "", "malformed JSON: %s (line %d)", e.text, e.line);
        return EB_ERR(EINVAL);
    }
    ret = eb_job_spec_from_json(o, check, spec, err);
    json_decref(o);
    return ret;
}

/* ---- the worker's file descriptor --------------------------------------- */

int eb_job_spec_to_memfd(const EbJobSpec *spec, int *fd_out)
{
    json_t *o;
    char *text;
    size_t len, done = 0;
    int fd, ret;

    *fd_out = -1;
    if ((ret = eb_job_spec_to_json(spec, EB_JOB_SPEC_JSON_SECRETS, &o)) < 0)
        return ret;
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return EB_ERR(ENOMEM);
    len = strlen(text);
    fd = memfd_create("encbox-job-spec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        ret = EB_ERR(errno);
        goto done;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? EB_ERR(errno) : EB_ERR(EIO);
            goto done;
        }
        done += (size_t)n;
    }
    /* Sealed: what the worker reads is what the daemon wrote. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
        lseek(fd, 0, SEEK_SET) != 0) {
        ret = EB_ERR(errno);
        goto done;
    }
    *fd_out = fd;
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
    explicit_bzero(text, len);
    free(text);
    return ret;
}

int eb_job_spec_read_fd(int fd, EbJobSpec *spec, EbJobSpecError *err)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap), *bigger;
    int ret;

    eb_job_spec_clear(spec);
    memset(err, 0, sizeof(*err));
    if (!buf)
        return EB_ERR(ENOMEM);
    for (;;) {
        ssize_t n;
        if (len == cap) {
            if (cap >= EB_JOB_SPEC_MAX_SIZE) {
                eb_spec_fail(err, "", "the spec is larger than %d bytes", EB_JOB_SPEC_MAX_SIZE);
                ret = EB_ERR(EFBIG);
                goto done;
            }
            /* Grown by hand so no copy of a secret is left behind unwiped. */
            if (!(bigger = malloc(cap * 2))) {
                ret = EB_ERR(ENOMEM);
                goto done;
            }
            memcpy(bigger, buf, len);
            explicit_bzero(buf, len);
            free(buf);
            buf = bigger;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = EB_ERR(errno);
            eb_spec_fail(err, "", "cannot read the spec: %s", strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    ret = eb_job_spec_parse(buf, len, NULL, spec, err);
done:
    explicit_bzero(buf, len);
    free(buf);
    return ret;
}

void eb_job_spec_log(const EbJobSpec *spec, const char *module)
{
    json_t *o;
    char *text, names[EB_JOB_SPEC_MAX_SECRETS * EB_JOB_SPEC_SECRET_NAME_MAX + 16] = "";
    size_t n = 0;

    if (eb_log_get_level() < EB_LOG_DEBUG || eb_job_spec_to_json(spec, 0, &o) < 0)
        return;
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    for (int i = 0; i < spec->nb_secrets && n < sizeof(names); i++)
        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
                              spec->secrets[i].name);
    EB_LOGD(module, "job spec: %s%s%s%s", text ? text : "?", n ? " (secrets: " : "", names,
            n ? ", values withheld)" : "");
    free(text);
}
