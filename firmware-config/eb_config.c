/*
 * The configuration's life outside parsing: built-in defaults (from the
 * table's default texts, and eb_ladder_default() for the `default` preset),
 * the cross-field checks that need the whole config, look-ups, the
 * reload diff, and freeing.
 */
#include <stdlib.h>
#include <string.h>

#include "eb_config_internal.h"
#include "eb_error.h"

/* ---- defaults and freeing --------------------------------------------- */

static int eb_default_list(const EbSetting *s, EbStrList *out)
{
    char *copy = strdup(s->def), *save = NULL;
    int ret = 0;

    if (!copy)
        return EB_ERR(ENOMEM);
    for (char *item = strtok_r(copy, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        EbCfgValue v;
        char why[256];
        if (eb_cfg_parse_scalar(s, s->elem_type, s->name, item, &v, why, sizeof(why)) < 0) {
            ret = EB_ERR(EINVAL); /* a bad default is a bug the tests catch */
            break;
        }
        if ((ret = eb_cfg_strlist_add(out, v.s)) < 0)
            break;
    }
    free(copy);
    return ret;
}

int eb_config_defaults(EbConfig *cfg)
{
    int nb, ret = 0;
    const EbSetting *t = eb_config_settings(&nb);

    memset(cfg, 0, sizeof(*cfg));
    for (int i = 0; i < nb && ret >= 0; i++) {
        const EbSetting *s = &t[i];
        EbCfgValue v;
        char why[256];

        cfg->origin[i].source = EB_CONFIG_FROM_DEFAULT;
        switch (s->type) {
        case EB_SETTING_LIST:
            ret = eb_default_list(s, eb_cfg_field(cfg, s));
            break;
        case EB_SETTING_DEVICES:
            break;
        case EB_SETTING_LADDERS:
            cfg->ladders = calloc(1, sizeof(*cfg->ladders));
            cfg->ladder_sources = calloc(1, sizeof(*cfg->ladder_sources));
            if (!cfg->ladders || !cfg->ladder_sources) {
                ret = EB_ERR(ENOMEM);
                break;
            }
            eb_ladder_default(&cfg->ladders[0]);
            cfg->nb_ladders = 1;
            break;
        default:
            if (eb_cfg_parse_scalar(s, s->type, s->name, s->def, &v, why, sizeof(why)) < 0)
                ret = EB_ERR(EINVAL);
            else
                ret = eb_cfg_store_scalar(cfg, s, &v);
            break;
        }
    }
    if (ret < 0)
        eb_config_free(cfg);
    return ret;
}

void eb_config_free(EbConfig *cfg)
{
    int nb;
    const EbSetting *t = eb_config_settings(&nb);

    for (int i = 0; i < nb; i++) {
        const EbSetting *s = &t[i];
        if ((s->type == EB_SETTING_STRING || s->type == EB_SETTING_PATH) && !s->size)
            free(*(char **)eb_cfg_field(cfg, s));
        else if (s->type == EB_SETTING_LIST)
            eb_cfg_strlist_free(eb_cfg_field(cfg, s));
    }
    free(cfg->devices);
    free(cfg->ladders);
    free(cfg->ladder_sources);
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- look-ups ----------------------------------------------------------- */

const EbLadder *eb_config_find_ladder(const EbConfig *cfg, const char *name)
{
    for (int i = 0; i < cfg->nb_ladders; i++)
        if (strcmp(cfg->ladders[i].name, name) == 0)
            return &cfg->ladders[i];
    return NULL;
}

int eb_config_device_max_height(const EbDeviceLimit *dev)
{
    return dev->max_height ? dev->max_height : eb_cfg_backend_default_max_height(dev->backend);
}

static int eb_backend_enabled(const EbConfig *cfg, const char *backend)
{
    for (int i = 0; i < cfg->backends_enabled.nb; i++)
        if (strcmp(cfg->backends_enabled.items[i], backend) == 0)
            return 1;
    return 0;
}

int eb_config_max_encode_height(const EbConfig *cfg)
{
    int best = 0;

    for (int i = 0; i < cfg->backends_enabled.nb; i++) {
        const char *b = cfg->backends_enabled.items[i];
        int h = 0, listed = 0;
        for (int j = 0; j < cfg->nb_devices; j++)
            if (strcmp(cfg->devices[j].backend, b) == 0) {
                int dh = eb_config_device_max_height(&cfg->devices[j]);
                if (dh > h)
                    h = dh;
                listed = 1;
            }
        if (!listed)
            h = eb_cfg_backend_default_max_height(b);
        if (h > best)
            best = h;
    }
    return best;
}

/* ---- cross-field checks ------------------------------------------------ */

/* Where a top-level setting's value came from, for an error about it. */
static void eb_origin_error(const EbConfig *cfg, EbConfigErrors *errs, const char *setting,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void eb_origin_error(const EbConfig *cfg, EbConfigErrors *errs, const char *setting,
                            const char *fmt, ...)
{
    int i = eb_cfg_setting_index(eb_config_find_setting(setting));
    const EbConfigOrigin *o = &cfg->origin[i];
    va_list ap;

    va_start(ap, fmt);
    if (o->source == EB_CONFIG_FROM_FILE && cfg->path)
        eb_cfg_verror(errs, cfg->path, o->line, fmt, ap);
    else if (o->source == EB_CONFIG_FROM_COMMAND_LINE)
        eb_cfg_verror(errs, NULL, -1, fmt, ap);
    else
        eb_cfg_verror(errs, "built-in defaults", -1, fmt, ap);
    va_end(ap);
}

static int eb_listen_is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0 ||
           strncmp(addr, "localhost:", 10) == 0;
}

/* "HOST:PORT" or "[V6]:PORT" (checked by the table) into host (no
 * brackets; localhost as 127.0.0.1) and port. 0, or -1 when it is not. */
static int eb_addr_split(const char *addr, char *host, size_t size, int *port)
{
    const char *colon = strrchr(addr, ':');
    size_t n;

    if (!colon)
        return -1;
    n = (size_t)(colon - addr);
    if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n >= size)
        return -1;
    memcpy(host, addr, n);
    host[n] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, size, "127.0.0.1");
    *port = atoi(colon + 1);
    return 0;
}

/* 1 when two listen addresses would bind the same TCP port: same port,
 * and the same host or either one every interface. */
static int eb_addrs_clash(const char *a, const char *b)
{
    char ha[64], hb[64];
    int pa, pb;

    if (eb_addr_split(a, ha, sizeof(ha), &pa) < 0 || eb_addr_split(b, hb, sizeof(hb), &pb) < 0 ||
        pa != pb)
        return 0;
    return strcmp(ha, hb) == 0 || !strcmp(ha, "0.0.0.0") || !strcmp(ha, "::") ||
           !strcmp(hb, "0.0.0.0") || !strcmp(hb, "::");
}

/* Rungs taller than any enabled device can encode. file/lines: where the
 * ladder came from (NULL file: name it instead). */
static int eb_check_heights(const EbConfig *cfg, const EbLadder *lad, const EbLadderSource *src,
                            EbConfigErrors *errs)
{
    int max_h = eb_config_max_encode_height(cfg), bad = 0;

    for (int r = 0; r < lad->nb_rungs; r++) {
        const EbRung *rung = &lad->rungs[r];
        const char *fmt = "rung '%s' of ladder '%s' is %d pixels tall; no enabled backend "
                          "encodes taller than %d (backends.enabled, devices[].max_height)";
        if (rung->height <= max_h)
            continue;
        bad = 1;
        if (src && src->origin.source == EB_CONFIG_FROM_FILE && cfg->path)
            eb_cfg_error(errs, cfg->path, src->rung_line[r], fmt, rung->name, lad->name,
                         rung->height, max_h);
        else if (src && src->origin.source == EB_CONFIG_FROM_COMMAND_LINE)
            eb_cfg_error(errs, NULL, -1, fmt, rung->name, lad->name, rung->height, max_h);
        else
            eb_cfg_error(errs, src ? "built-in defaults" : "ladder", -1, fmt, rung->name, lad->name,
                         rung->height, max_h);
    }
    return bad;
}

int eb_config_check_ladder(const EbConfig *cfg, const EbLadder *ladder, EbConfigErrors *errs)
{
    return eb_check_heights(cfg, ladder, NULL, errs) ? EB_ERR(EINVAL) : 0;
}

int eb_config_validate(const EbConfig *cfg, EbConfigErrors *errs)
{
    int before = eb_config_errors_count(errs);
    const EbLadder *lad = eb_config_find_ladder(cfg, cfg->jobs_ladder);

    if (!lad) {
        char names[256];
        size_t o = 0;
        names[0] = '\0';
        for (int i = 0; i < cfg->nb_ladders && o < sizeof(names); i++)
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
                                  cfg->ladders[i].name);
        eb_origin_error(cfg, errs, "jobs.ladder",
                        "'jobs.ladder' is '%s', but no ladder preset has that name (presets: %s)",
                        cfg->jobs_ladder, names);
    }
    if (strcmp(cfg->jobs_backend, "auto") != 0 && !eb_backend_enabled(cfg, cfg->jobs_backend))
        eb_origin_error(cfg, errs, "jobs.backend",
                        "'jobs.backend' is '%s', which is not in 'backends.enabled'",
                        cfg->jobs_backend);
    if (strcmp(cfg->jobs_fallback, "auto") != 0 && strcmp(cfg->jobs_fallback, "none") != 0 &&
        !eb_backend_enabled(cfg, cfg->jobs_fallback))
        eb_origin_error(cfg, errs, "jobs.fallback",
                        "'jobs.fallback' is '%s', which is not in 'backends.enabled'",
                        cfg->jobs_fallback);
    if (!!cfg->api_tls_cert[0] != !!cfg->api_tls_key[0]) {
        const char *set = cfg->api_tls_cert[0] ? "api.tls_cert" : "api.tls_key";
        const char *unset = cfg->api_tls_cert[0] ? "api.tls_key" : "api.tls_cert";
        eb_origin_error(cfg, errs, set, "'%s' is set but '%s' is not; give both or neither", set,
                        unset);
    }
    if (cfg->api_token_files.nb == 0)
        for (int i = 0; i < cfg->api_listen.nb; i++)
            if (!eb_listen_is_loopback(cfg->api_listen.items[i])) {
                eb_origin_error(cfg, errs, "api.listen",
                                "'api.listen' has '%s', which is not a loopback address, but "
                                "'api.token_files' is empty: the API would be open to the "
                                "network",
                                cfg->api_listen.items[i]);
                break;
            }
    for (int i = 0; i < cfg->nb_ladders; i++)
        if (!cfg->ladder_sources[i].broken)
            eb_check_heights(cfg, &cfg->ladders[i], &cfg->ladder_sources[i], errs);
    if (cfg->live_window_seconds < 3 * cfg->live_segment_seconds)
        eb_origin_error(cfg, errs, "live.window_seconds",
                        "'live.window_seconds' is %g, shorter than 3 segments of "
                        "'live.segment_seconds' (%g): players need 3 segments in the window",
                        cfg->live_window_seconds, cfg->live_segment_seconds);
    /* RTMP and the API are both TCP: one port cannot serve both. */
    for (int i = 0; cfg->live_rtmp_listen && cfg->live_rtmp_listen[0] && i < cfg->api_listen.nb;
         i++)
        if (eb_addrs_clash(cfg->live_rtmp_listen, cfg->api_listen.items[i])) {
            eb_origin_error(cfg, errs, "live.rtmp_listen",
                            "'live.rtmp_listen' is '%s', which takes the port of api.listen "
                            "'%s': the RTMP ingest and the API cannot share a TCP port",
                            cfg->live_rtmp_listen, cfg->api_listen.items[i]);
            break;
        }

    return eb_config_errors_count(errs) > before ? EB_ERR(EINVAL) : 0;
}

/* ---- reload diff ------------------------------------------------------- */

static int eb_devices_equal(const EbConfig *a, const EbConfig *b)
{
    if (a->nb_devices != b->nb_devices)
        return 0;
    for (int i = 0; i < a->nb_devices; i++) {
        const EbDeviceLimit *x = &a->devices[i], *y = &b->devices[i];
        if (strcmp(x->backend, y->backend) || strcmp(x->device, y->device) ||
            x->max_sessions != y->max_sessions || x->memory_budget != y->memory_budget ||
            x->max_height != y->max_height)
            return 0;
    }
    return 1;
}

static int eb_ladders_equal(const EbConfig *a, const EbConfig *b)
{
    if (a->nb_ladders != b->nb_ladders)
        return 0;
    for (int i = 0; i < a->nb_ladders; i++) {
        const EbLadder *other = eb_config_find_ladder(b, a->ladders[i].name);
        if (!other || !eb_cfg_ladder_equal(&a->ladders[i], other))
            return 0;
    }
    return 1;
}

static int eb_setting_equal(const EbSetting *s, const EbConfig *a, const EbConfig *b)
{
    const void *x = eb_cfg_cfield(a, s), *y = eb_cfg_cfield(b, s);

    switch (s->type) {
    case EB_SETTING_STRING:
    case EB_SETTING_PATH:
    case EB_SETTING_ENUM:
        return strcmp(eb_cfg_get_string(a, s), eb_cfg_get_string(b, s)) == 0;
    case EB_SETTING_BOOL:
    case EB_SETTING_INT:
        return *(const int *)x == *(const int *)y;
    case EB_SETTING_DOUBLE:
        return *(const double *)x == *(const double *)y;
    case EB_SETTING_BITRATE:
    case EB_SETTING_SIZE:
    case EB_SETTING_DURATION:
        return *(const int64_t *)x == *(const int64_t *)y;
    case EB_SETTING_DIM:
        return ((const EbDim *)x)->width == ((const EbDim *)y)->width &&
               ((const EbDim *)x)->height == ((const EbDim *)y)->height;
    case EB_SETTING_LIST:
        return eb_cfg_strlist_equal(x, y);
    case EB_SETTING_DEVICES:
        return eb_devices_equal(a, b);
    case EB_SETTING_LADDERS:
        return eb_ladders_equal(a, b);
    case EB_SETTING_RUNGS:
        break;
    }
    return 1;
}

int eb_config_diff(const EbConfig *old_cfg, const EbConfig *new_cfg, EbConfigDiff *diff)
{
    int nb;
    const EbSetting *t = eb_config_settings(&nb);

    memset(diff, 0, sizeof(*diff));
    for (int i = 0; i < nb; i++) {
        if (eb_setting_equal(&t[i], old_cfg, new_cfg))
            continue;
        if (t[i].flags & EB_SETTING_RUNTIME)
            diff->runtime[diff->nb_runtime++] = t[i].name;
        else
            diff->restart[diff->nb_restart++] = t[i].name;
    }
    return diff->nb_runtime + diff->nb_restart;
}
