/*
 * GET /v1/devices and the device series of /metrics (see eb_api_devices.h).
 *
 * DESIGN
 * - Probing and the inventory can be slow (VA-API opens every render node,
 *   NVIDIA's first inventory opens an NVENC session), so one snapshot of
 *   both is kept for EB_API_INVENTORY_TTL seconds behind a mutex; the HTTP
 *   threads copy it out and never hold the mutex while answering.
 * - Session usage is never cached: it is a few fcntl(F_OFD_GETLK) calls per
 *   device, and it is the figure that changes.
 * - The same device list feeds both endpoints: every device the inventory
 *   names, then every device a `devices` entry names that the inventory
 *   did not (a GPU that is configured but now missing still shows, with
 *   its sessions).
 */
#include "eb_api_devices.h"
#include "eb_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eb_hal.h"
#include "eb_log.h"
#include "eb_sessions.h"
#include "eb_sessions_policy.h"

#define EB_API_MAX_BACKENDS 8

typedef struct EbBackendSnap {
    const EbHalBackend *b;
    EbHalProbe probe;
    int probe_ok;
    int nb;
    EbHalDeviceInfo dev[EB_HAL_MAX_DEVICES];
} EbBackendSnap;

struct EbApiDevices {
    const EbConfig *cfg;
    EbSessions *sessions; /* NULL: no session figures */
    pthread_mutex_t lock;
    double taken; /* CLOCK_MONOTONIC seconds of the snapshot; 0: none */
    int nb;
    EbBackendSnap snap[EB_API_MAX_BACKENDS];
};

/* One device as both endpoints list it. */
typedef struct EbDevRow {
    const char *backend;
    const char *device;
    const EbHalDeviceInfo *info; /* NULL: only configured */
    char key[80];                /* accounting key; "": none (software) */
    EbSessionLimits lim;
    int configured; /* a devices entry applies */
    int have_usage;
    int enc, dec;
    int64_t mem;
} EbDevRow;

void eb_api_session_key(const char *backend, const char *device, char *key, size_t size)
{
    if (size == 0)
        return;
    /* No device (a backend's "found none" entry): no row, no key. */
    if (!device || !device[0] || eb_sessions_key(backend, device, key, size) <= 0)
        key[0] = 0;
}

void eb_api_session_limits(const EbConfig *cfg, const char *backend, const char *device,
                           EbSessionLimits *out, int *configured)
{
    EbSessionsDeviceLimit table[EB_CONFIG_MAX_DEVICES];
    int nb = 0;

    /* The configuration's entries through the HAL's one matching rule,
     * the same the workers apply. */
    for (int i = 0; i < cfg->nb_devices && nb < EB_CONFIG_MAX_DEVICES; i++, nb++) {
        table[nb].backend = cfg->devices[i].backend;
        table[nb].device = cfg->devices[i].device;
        table[nb].max_sessions = cfg->devices[i].max_sessions;
        table[nb].memory_budget = cfg->devices[i].memory_budget;
    }
    eb_sessions_limits_for(table, nb, backend, device, out, configured);
}

int eb_api_devices_open(const EbConfig *cfg, const char *sessions_dir, EbApiDevices **out)
{
    EbApiDevices *d = calloc(1, sizeof(*d));
    int ret;

    *out = NULL;
    if (!d)
        return -ENOMEM;
    d->cfg = cfg;
    pthread_mutex_init(&d->lock, NULL);
    ret = eb_sessions_open(sessions_dir, &d->sessions);
    if (ret < 0) {
        const char *dir = sessions_dir ? sessions_dir : getenv("EB_SESSIONS_DIR");
        EB_LOGW("api", "session accounting in %s unavailable (%s): devices show no sessions",
                dir && *dir ? dir : EB_SESSIONS_DIR_DEFAULT, strerror(ret < 0 ? -ret : ret));
        d->sessions = NULL;
    }
    *out = d;
    return 0;
}

void eb_api_devices_close(EbApiDevices **pd)
{
    EbApiDevices *d = *pd;
    if (!d)
        return;
    eb_sessions_close(&d->sessions);
    pthread_mutex_destroy(&d->lock);
    free(d);
    *pd = NULL;
}

/* 1 if the configuration's backends.enabled lists backend. */
static int eb_api_backend_enabled(const EbConfig *cfg, const char *backend)
{
    for (int i = 0; i < cfg->backends_enabled.nb; i++)
        if (!strcmp(cfg->backends_enabled.items[i], backend))
            return 1;
    return cfg->backends_enabled.nb == 0;
}

/* Copies a fresh enough snapshot into *snap (heap, caller frees); returns
 * the number of backends, or -ENOMEM. */
static int eb_snapshot(EbApiDevices *d, EbBackendSnap **snap)
{
    int nb;

    *snap = NULL;
    pthread_mutex_lock(&d->lock);
    if (!d->taken || eb_clock_seconds() - d->taken > EB_API_INVENTORY_TTL) {
        /* The enabled backends in the operator's order (what "auto" picks
         * from, as the workers do), then the others, listed unusable. */
        const EbHalBackend *b[2 * EB_HAL_MAX_DEVICES + 1];
        const EbHalBackend *const *all = eb_hal_backends();
        int n = eb_hal_backends_enabled((const char *const *)d->cfg->backends_enabled.items,
                                        d->cfg->backends_enabled.nb, b);
        for (int i = 0; all[i] && n < 2 * EB_HAL_MAX_DEVICES; i++) {
            int listed = 0;
            for (int j = 0; j < n; j++)
                listed |= b[j] == all[i];
            if (!listed)
                b[n++] = all[i];
        }
        b[n] = NULL;
        d->nb = 0;
        for (int i = 0; b[i] && d->nb < EB_API_MAX_BACKENDS; i++) {
            EbBackendSnap *s = &d->snap[d->nb++];
            memset(s, 0, sizeof(*s));
            s->b = b[i];
            s->probe_ok = b[i]->probe && b[i]->probe(&s->probe) >= 0;
            if (!s->probe_ok) {
                s->probe.usable = 0;
                if (!s->probe.reason[0])
                    snprintf(s->probe.reason, sizeof(s->probe.reason), "probe failed");
            }
            if (!eb_api_backend_enabled(d->cfg, b[i]->name)) {
                /* Listed, so the operator sees it, but never chosen. */
                s->probe.usable = 0;
                snprintf(s->probe.reason, sizeof(s->probe.reason),
                         "not in backends.enabled");
            }
            if (eb_hal_inventory(b[i], s->dev, EB_HAL_MAX_DEVICES, &s->nb) < 0)
                s->nb = 0;
        }
        d->taken = eb_clock_seconds();
    }
    nb = d->nb;
    *snap = malloc(sizeof(**snap) * (size_t)(nb ? nb : 1));
    if (*snap)
        memcpy(*snap, d->snap, sizeof(**snap) * (size_t)nb);
    pthread_mutex_unlock(&d->lock);
    return *snap ? nb : -ENOMEM;
}

static void eb_row_fill(EbApiDevices *d, EbDevRow *r, const char *backend, const char *device,
                        const EbHalDeviceInfo *info)
{
    memset(r, 0, sizeof(*r));
    r->backend = backend;
    r->device = device;
    r->info = info;
    eb_api_session_limits(d->cfg, backend, device, &r->lim, &r->configured);
    eb_api_session_key(backend, device, r->key, sizeof(r->key));
    if (d->sessions && r->key[0] &&
        eb_sessions_usage(d->sessions, r->key, &r->lim, &r->enc, &r->dec, &r->mem) == 0)
        r->have_usage = 1;
}

/* Every device row: inventory devices first, then configured-only ones.
 * *rows is heap (caller frees); returns the count or -ENOMEM. */
static int eb_rows(EbApiDevices *d, const EbBackendSnap *snap, int nb_snap, EbDevRow **rows)
{
    int max = d->cfg->nb_devices, n = 0;

    for (int i = 0; i < nb_snap; i++)
        max += snap[i].nb;
    *rows = calloc((size_t)(max ? max : 1), sizeof(**rows));
    if (!*rows)
        return -ENOMEM;
    for (int i = 0; i < nb_snap; i++)
        for (int k = 0; k < snap[i].nb; k++)
            if (snap[i].dev[k].device[0])
                eb_row_fill(d, &(*rows)[n++], snap[i].b->name, snap[i].dev[k].device,
                            &snap[i].dev[k]);
    for (int c = 0; c < d->cfg->nb_devices; c++) {
        const EbDeviceLimit *e = &d->cfg->devices[c];
        int seen = !strcmp(e->device, "*");
        for (int k = 0; k < n && !seen; k++)
            seen = !strcmp((*rows)[k].backend, e->backend) && !strcmp((*rows)[k].device, e->device);
        if (!seen)
            eb_row_fill(d, &(*rows)[n++], e->backend, e->device, NULL);
    }
    return n;
}

static json_t *eb_row_sessions(const EbDevRow *r)
{
    if (!strcmp(r->backend, "software")) /* software jobs take no sessions */
        return json_pack("{s:i, s:i, s:i}", "encode", 0, "decode", 0, "memory", 0);
    if (!r->have_usage)
        return json_null();
    return json_pack("{s:i, s:i, s:I}", "encode", r->enc, "decode", r->dec, "memory",
                     (json_int_t)r->mem);
}

static json_t *eb_row_limits(const EbDevRow *r)
{
    json_t *o = json_object();
    int acc = strcmp(r->backend, "software") != 0;
    json_object_set_new(o, "encode", acc ? json_integer(r->lim.max_encode) : json_null());
    json_object_set_new(o, "decode", acc ? json_integer(r->lim.max_decode) : json_null());
    json_object_set_new(o, "memory_budget",
                        r->lim.memory_bytes > 0 ? json_integer((json_int_t)r->lim.memory_bytes)
                                                : json_null());
    json_object_set_new(o, "configured", json_boolean(r->configured));
    return o;
}

static json_t *eb_device_json(const EbDevRow *r, const EbHalDeviceInfo *info, const char *backend)
{
    json_t *o = json_object(), *codecs = json_array();
    const char *reason = NULL;

    if (!info)
        reason = "configured, but not found by the inventory";
    else if (!info->usable)
        reason = info->reason[0] ? info->reason : "unusable";
    json_object_set_new(o, "backend", json_string(backend));
    json_object_set_new(o, "device", json_string(info ? info->device : r->device));
    /* false: a configured device the inventory did not find, or the
     * backend's one "found none" entry */
    json_object_set_new(o, "present", json_boolean(info && info->device[0]));
    json_object_set_new(o, "usable", json_boolean(info && info->usable));
    json_object_set_new(o, "reason", reason ? json_string(reason) : json_null());
    json_object_set_new(o, "name", json_string(info ? info->name : ""));
    json_object_set_new(o, "pci_bus_id", json_string(info ? info->pci_bus_id : ""));
    json_object_set_new(o, "memory", json_integer(info ? (json_int_t)info->memory : 0));
    json_object_set_new(o, "driver_version", json_string(info ? info->driver_version : ""));
    json_object_set_new(o, "video_processing", json_boolean(info && info->vpp));
    for (int i = 0; info && i < info->nb_codecs && i < EB_HAL_MAX_CODECS; i++) {
        const EbHalCodecCaps *c = &info->codecs[i];
        json_array_append_new(
            codecs, json_pack("{s:s, s:b, s:b, s:i, s:i, s:i}", "codec", avcodec_get_name(c->codec),
                              "decode", c->decode, "encode", c->encode, "max_width", c->max_width,
                              "max_height", c->max_height, "max_bframes", c->max_bframes));
    }
    json_object_set_new(o, "codecs", codecs);
    json_object_set_new(o, "session_key", r->key[0] ? json_string(r->key) : json_null());
    json_object_set_new(o, "sessions", eb_row_sessions(r));
    json_object_set_new(o, "limits", eb_row_limits(r));
    return o;
}

json_t *eb_api_devices_json(EbApiDevices *d)
{
    EbBackendSnap *snap;
    EbDevRow *rows = NULL;
    int nb = eb_snapshot(d, &snap), nr;
    json_t *arr = json_array();

    if (nb < 0)
        return NULL;
    nr = eb_rows(d, snap, nb, &rows);
    if (nr < 0) {
        free(snap);
        return NULL;
    }
    for (int i = 0; i < nb; i++) {
        const EbBackendSnap *s = &snap[i];
        const char *name = s->b->name;
        json_t *list = json_array(), *b;
        int enc = 0, dec = 0, have = 0;
        EbDevRow def;

        /* Inventory entries, each with its row (found by name). An entry
         * with no device (the backend found none) has no sessions. */
        for (int k = 0; k < s->nb; k++) {
            const EbDevRow *r = NULL;
            for (int x = 0; x < nr && s->dev[k].device[0] && !r; x++)
                if (rows[x].info == &s->dev[k])
                    r = &rows[x];
            if (!r) {
                /* The limits any device of the backend gets; no key. */
                memset(&def, 0, sizeof(def));
                def.backend = name;
                def.device = "";
                eb_api_session_limits(d->cfg, name, "*", &def.lim, &def.configured);
                r = &def;
            }
            json_array_append_new(list, eb_device_json(r, &s->dev[k], name));
        }
        /* Devices only the configuration names. */
        for (int x = 0; x < nr; x++)
            if (!rows[x].info && !strcmp(rows[x].backend, name))
                json_array_append_new(list, eb_device_json(&rows[x], NULL, name));
        /* Backend totals: each accounting key once (every CUDA device
         * shares NVIDIA's system-wide key). */
        for (int x = 0; x < nr; x++) {
            int dup = 0;
            if (strcmp(rows[x].backend, name) || !rows[x].have_usage)
                continue;
            for (int y = 0; y < x && !dup; y++)
                dup = rows[y].have_usage && !strcmp(rows[y].key, rows[x].key);
            if (dup)
                continue;
            enc += rows[x].enc;
            dec += rows[x].dec;
            have = 1;
        }
        b = json_pack("{s:s, s:s, s:b, s:i, s:s?}", "backend", name, "description",
                      s->b->description ? s->b->description : "", "usable", s->probe.usable,
                      "devices", s->probe.nb_devices, "reason",
                      s->probe.usable ? NULL : (s->probe.reason[0] ? s->probe.reason : "unusable"));
        if (!b) {
            json_decref(list);
            continue;
        }
        if (!strcmp(name, "software"))
            json_object_set_new(b, "sessions", json_pack("{s:i, s:i}", "encode", 0, "decode", 0));
        else
            json_object_set_new(b, "sessions",
                                have ? json_pack("{s:i, s:i}", "encode", enc, "decode", dec)
                                     : json_null());
        /* What a device of this backend gets without its own entry. */
        memset(&def, 0, sizeof(def));
        def.backend = name;
        def.device = "*";
        eb_api_session_limits(d->cfg, name, "*", &def.lim, &def.configured);
        json_object_set_new(b, "limits", eb_row_limits(&def));
        json_object_set_new(b, "inventory", list);
        json_array_append_new(arr, b);
    }
    free(rows);
    free(snap);
    return json_pack("{s:o}", "backends", arr);
}

/* A Prometheus label value: \ " and newline escaped. */
static void eb_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        fputc(*s, f);
    }
}

void eb_api_devices_metrics(EbApiDevices *d, FILE *f)
{
    EbBackendSnap *snap;
    EbDevRow *rows = NULL;
    int nb = eb_snapshot(d, &snap), nr;

    if (nb < 0)
        return;
    nr = eb_rows(d, snap, nb, &rows); /* rows point into snap */
    if (nr < 0) {
        free(snap);
        return;
    }
    /* One series per accounting key (the device label is the key: all
     * CUDA devices share "nvidia", NVENC's cap being system-wide). Software
     * takes no sessions and has none. */
    for (int x = 0; x < nr; x++)
        for (int y = 0; y < x && rows[x].key[0]; y++)
            if (!strcmp(rows[y].key, rows[x].key) && !strcmp(rows[y].backend, rows[x].backend))
                rows[x].key[0] = 0;
    fprintf(f, "# HELP encbox_device_sessions Sessions held on the device now by every encbox "
               "process (device: the session accounting key).\n"
               "# TYPE encbox_device_sessions gauge\n");
    for (int i = 0; i < nr; i++)
        for (int k = 0; k < 2 && rows[i].key[0] && rows[i].have_usage; k++) {
            fputs("encbox_device_sessions{backend=\"", f);
            eb_label(f, rows[i].backend);
            fputs("\",device=\"", f);
            eb_label(f, rows[i].key);
            fprintf(f, "\",kind=\"%s\"} %d\n", k ? "decode" : "encode",
                    k ? rows[i].dec : rows[i].enc);
        }
    fprintf(f, "# HELP encbox_device_session_limit Sessions the device may hold at once "
               "(devices[].max_sessions, else the backend's default).\n"
               "# TYPE encbox_device_session_limit gauge\n");
    for (int i = 0; i < nr; i++)
        for (int k = 0; k < 2 && rows[i].key[0]; k++) {
            fputs("encbox_device_session_limit{backend=\"", f);
            eb_label(f, rows[i].backend);
            fputs("\",device=\"", f);
            eb_label(f, rows[i].key);
            fprintf(f, "\",kind=\"%s\"} %d\n", k ? "decode" : "encode",
                    k ? rows[i].lim.max_decode : rows[i].lim.max_encode);
        }
    free(rows);
    free(snap);
}

int eb_api_admission_decide(const char *key, int need_encode, int need_decode,
                            const EbSessionLimits *lim, int enc_in_use, int dec_in_use, char *why,
                            size_t size)
{
    if (size)
        why[0] = 0;
    if (need_encode > lim->max_encode || need_decode > lim->max_decode)
        return 1;
    if (enc_in_use + need_encode <= lim->max_encode && dec_in_use + need_decode <= lim->max_decode)
        return 1;
    if (enc_in_use + need_encode > lim->max_encode)
        snprintf(why, size, "%d encode sessions on %s (%d of %d in use)", need_encode, key,
                 enc_in_use, lim->max_encode);
    else
        snprintf(why, size, "%d decode session on %s (%d of %d in use)", need_decode, key,
                 dec_in_use, lim->max_decode);
    return 0;
}

int eb_api_devices_admit(EbApiDevices *d, const char *backend, int nb_rungs, char *why,
                         size_t size)
{
    EbBackendSnap *snap;
    const EbBackendSnap *use = NULL;
    const char *device = "";
    EbSessionLimits lim;
    char key[80];
    int nb, enc = 0, dec = 0, ret = 1;

    if (size)
        why[0] = 0;
    if (!d->sessions)
        return 1;
    nb = eb_snapshot(d, &snap);
    if (nb < 0)
        return 1;
    for (int i = 0; i < nb && !use; i++) {
        if (backend && strcmp(backend, "auto") && strcmp(snap[i].b->name, backend))
            continue;
        if (snap[i].probe.usable)
            use = &snap[i];
        else if (backend && strcmp(backend, "auto"))
            break; /* the named backend is unusable: the worker falls back */
    }
    if (use && strcmp(use->b->name, "software")) {
        /* The worker opens the backend's default device: the first one the
         * inventory lists is the one its limits are looked up by. */
        for (int k = 0; k < use->nb && !device[0]; k++)
            if (use->dev[k].device[0])
                device = use->dev[k].device;
        eb_api_session_key(use->b->name, device[0] ? device : NULL, key, sizeof(key));
        if (!key[0] && eb_sessions_key(use->b->name, NULL, key, sizeof(key)) <= 0)
            key[0] = 0;
        eb_api_session_limits(d->cfg, use->b->name, device, &lim, NULL);
        if (key[0] && eb_sessions_usage(d->sessions, key, &lim, &enc, &dec, NULL) == 0)
            ret = eb_api_admission_decide(key, nb_rungs, 1, &lim, enc, dec, why, size);
    }
    free(snap);
    return ret;
}
