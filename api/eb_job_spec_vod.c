/*
 * A job spec as the VOD job's options (eb_job_spec_to_vod_options): the
 * one way from an EbJobSpec to EbVodOptions, for `encbox transcode` with
 * flags and for the daemon's workers with --spec-fd alike. Apart from
 * eb_job_spec.c because it needs the engine and the HAL, which the spec
 * parser's fuzz target does not build.
 */
#include <stdio.h>
#include <string.h>

#include "eb_error.h"
#include "eb_hal.h"
#include "eb_job_spec.h"
#include "eb_sql.h"
#include "eb_storage.h"

/* "auto, software": the backend names this build can run. */
static void eb_build_backends(char *out, size_t size)
{
    const EbHalBackend *const *b = eb_hal_backends();
    size_t n = (size_t)snprintf(out, size, "auto");
    for (int i = 0; b && b[i] && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, ", %s", b[i]->name);
}

static int eb_vod_ladder(const EbJobSpec *spec, const EbConfig *cfg, EbLadder *out,
                         EbJobSpecError *err)
{
    const char *name = spec->ladder_name[0] ? spec->ladder_name : cfg->jobs_ladder;
    const EbLadder *preset;

    if (spec->ladder_inline) {
        /* The daemon checked it against its configuration; the worker's
         * may say otherwise (another file, or changed since). */
        EbConfigErrors errs = {0};
        int bad = eb_config_check_ladder(cfg, &spec->ladder, &errs) < 0 ||
                  eb_config_errors_count(&errs) > 0;
        if (bad)
            snprintf(err->message, sizeof(err->message), "ladder: %s",
                     errs.nb > 0 ? errs.items[0].message : "invalid ladder");
        eb_config_errors_free(&errs);
        if (bad) {
            snprintf(err->field, sizeof(err->field), "ladder");
            return EB_ERR(EINVAL);
        }
        *out = spec->ladder;
        return 0;
    }
    preset = eb_config_find_ladder(cfg, name);
    if (!preset) {
        snprintf(err->field, sizeof(err->field), "ladder");
        snprintf(err->message, sizeof(err->message), "ladder: no preset named '%s' in the %s", name,
                 cfg->path ? cfg->path : "built-in configuration");
        return EB_ERR(EINVAL);
    }
    *out = *preset;
    return 0;
}

int eb_job_spec_to_vod_options(const EbJobSpec *spec, const EbConfig *cfg, EbJobVodOptions *out,
                               EbJobSpecError *err)
{
    EbVodOptions *o = &out->vod;
    int nb_roots = 0, ret;

    memset(err, 0, sizeof(*err));
    eb_vod_options_default(o);
    o->input = spec->input;
    o->storage_root = spec->storage_root ? spec->storage_root : cfg->storage_root;
    o->video_id = spec->video_id;
    o->overwrite = spec->overwrite;
    o->segment_seconds =
        spec->segment_seconds > 0 ? spec->segment_seconds : cfg->jobs_segment_seconds;
    o->format = spec->format_set                  ? spec->format
                : !strcmp(cfg->jobs_format, "ts") ? EB_FORMAT_TS
                                                  : EB_FORMAT_CMAF;
    o->preset = spec->preset[0] ? spec->preset : cfg->jobs_preset;
    o->backend = spec->backend[0] ? spec->backend : cfg->jobs_backend;
    o->fallback = spec->fallback[0] ? spec->fallback : cfg->jobs_fallback;
    o->encoder_threads = spec->threads;
    if (strcmp(o->backend, "auto") && !eb_hal_find(o->backend)) {
        char names[128];
        eb_build_backends(names, sizeof(names));
        snprintf(err->field, sizeof(err->field), "backend");
        snprintf(err->message, sizeof(err->message),
                 "backend '%s' is not in this build (this build: %s)", o->backend, names);
        return EB_ERR(EINVAL);
    }
    if ((ret = eb_vod_ladder(spec, cfg, &o->ladder, err)) < 0)
        return ret;
    o->encryption = (EbEncryptionScheme)spec->encryption;
    o->public_base_url = cfg->api_public_base_url;
    {
        int n = eb_job_key_store(o->storage_root, cfg->jobs_database, out->key_store,
                                 sizeof(out->key_store));
        if (n < 0) {
            snprintf(err->field, sizeof(err->field), "storage_root");
            snprintf(err->message, sizeof(err->message), "the key store's path is too long");
            return EB_ERR(ENAMETOOLONG);
        }
        o->key_store = out->key_store;
    }
    if (cfg->s3_endpoint[0]) {
        char why[512];
        int ret = eb_s3_init(&out->s3, cfg->s3_endpoint, cfg->s3_bucket, cfg->s3_region,
                             cfg->s3_prefix, cfg->s3_path_style, cfg->s3_part_size,
                             cfg->s3_credentials_file, why, sizeof(why));
        if (ret < 0) {
            snprintf(err->field, sizeof(err->field), "storage.s3");
            snprintf(err->message, sizeof(err->message), "%s", why);
            return EB_ERR(EINVAL);
        }
        o->s3 = &out->s3;
    }
    o->thumbs.enabled = spec->thumbnails >= 0 ? spec->thumbnails : cfg->thumbs_enabled;
    o->thumbs.interval = cfg->thumbs_interval;
    o->thumbs.tile_width = cfg->thumbs_width;
    o->thumbs.cols = cfg->thumbs_grid.width;
    o->thumbs.rows = cfg->thumbs_grid.height;
    o->thumbs.at = spec->thumbnail_at;
    /* The job's roots, then the configuration's: the input and every file
     * it refers to must lie inside one of them. */
    for (int i = 0; i < spec->nb_input_roots; i++)
        out->input_roots[nb_roots++] = spec->input_roots[i];
    for (int i = 0; i < cfg->input_roots.nb && i < EB_CONFIG_MAX_LIST; i++)
        out->input_roots[nb_roots++] = cfg->input_roots.items[i];
    out->input_roots[nb_roots] = NULL;
    o->input_roots = nb_roots > 0 ? out->input_roots : NULL;
    /* Hardware jobs take their sessions within the configuration's device
     * limits (`devices`; the backends' defaults where none is given). */
    for (int i = 0; i < cfg->nb_devices && i < EB_CONFIG_MAX_DEVICES; i++) {
        out->device_limits[i].backend = cfg->devices[i].backend;
        out->device_limits[i].device = cfg->devices[i].device;
        out->device_limits[i].max_sessions = cfg->devices[i].max_sessions;
        out->device_limits[i].memory_budget = cfg->devices[i].memory_budget;
        o->nb_device_limits = i + 1;
    }
    o->device_limits = o->nb_device_limits > 0 ? out->device_limits : NULL;
    /* The operator's limits and backends apply to every job, from the CLI
     * or the daemon alike. */
    o->max_duration = (double)cfg->limits_max_duration;
    o->max_input_size = cfg->limits_max_input_size;
    o->max_width = cfg->limits_max_resolution.width;
    o->max_height = cfg->limits_max_resolution.height;
    eb_hal_backends_enabled((const char *const *)cfg->backends_enabled.items,
                            cfg->backends_enabled.nb, out->backends);
    o->backends = out->backends;
    if (strcmp(o->backend, "auto")) {
        int enabled = 0;
        for (int i = 0; out->backends[i]; i++)
            enabled |= !strcmp(out->backends[i]->name, o->backend);
        if (!enabled) {
            snprintf(err->field, sizeof(err->field), "backend");
            snprintf(err->message, sizeof(err->message),
                     "backend '%s' is not in backends.enabled", o->backend);
            return EB_ERR(EINVAL);
        }
    }
    if (o->video_id && !eb_storage_id_valid(o->video_id)) {
        snprintf(err->field, sizeof(err->field), "video_id");
        snprintf(err->message, sizeof(err->message), "%s: %s", o->video_id,
                 eb_strerror(EB_ERR_BAD_ID));
        return EB_ERR_BAD_ID;
    }
    return 0;
}

int eb_job_key_store(const char *root, const char *database, char *out, size_t size)
{
    const char *slash = strrchr(database, '/');
    int n;

    if (eb_sql_target_is_pg(database))
        n = snprintf(out, size, "%s/keys", root);
    else if (database[0] == '/')
        n = snprintf(out, size, "%.*s/keys", (int)(slash - database), database);
    else if (slash)
        n = snprintf(out, size, "%s/%.*s/keys", root, (int)(slash - database), database);
    else
        n = snprintf(out, size, "%s/keys", root);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
