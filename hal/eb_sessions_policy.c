/*
 * The session key and default limits of a device (see eb_sessions_policy.h).
 */
#include "eb_sessions_policy.h"

#include <stdio.h>
#include <string.h>

#include "eb_error.h"

static int eb_is_software(const char *backend)
{
    return !strcmp(backend, "software");
}

int eb_sessions_key(const char *backend, const char *device, char *out, size_t size)
{
    const char *key;
    size_t len;

    if (!out || size == 0)
        return EB_ERR(EINVAL);
    out[0] = 0;
    if (!backend)
        return EB_ERR(EINVAL);
    if (eb_is_software(backend))
        return 0;
    if (!strcmp(backend, "nvidia")) {
        key = "nvidia";
    } else {
        /* VA-API and QSV: the render node; QSV's default device ("hw") is
         * the first render node, as libavutil picks it. */
        const char *node = device ? device : "";
        if (!strncmp(node, "qsv:", 4))
            node += 4;
        key = strrchr(node, '/') ? strrchr(node, '/') + 1 : node;
        if (strncmp(key, "renderD", 7) != 0)
            key = "renderD128";
    }
    len = strlen(key);
    if (len >= size)
        return EB_ERR(ENAMETOOLONG);
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '_' || c == '.' || c == ':' || c == '-'
                     ? c
                     : '_';
    }
    out[len] = 0;
    return 1;
}

void eb_sessions_default_limits(const char *backend, EbSessionLimits *out)
{
    memset(out, 0, sizeof(*out));
    if (!backend || eb_is_software(backend))
        return;
    out->max_encode = !strcmp(backend, "nvidia") ? EB_SESSIONS_NVENC_DEFAULT_ENCODE
                                                 : EB_SESSIONS_VA_DEFAULT_ENCODE;
    out->max_decode = EB_SESSIONS_DEFAULT_DECODE;
}

void eb_sessions_limits_for(const EbSessionsDeviceLimit *table, int nb, const char *backend,
                            const char *device, EbSessionLimits *out, int *configured)
{
    const EbSessionsDeviceLimit *any = NULL, *exact = NULL, *use;

    for (int i = 0; table && backend && i < nb; i++) {
        const EbSessionsDeviceLimit *l = &table[i];
        if (!l->backend || strcmp(l->backend, backend))
            continue;
        if (!l->device || !*l->device || !strcmp(l->device, "*"))
            any = any ? any : l;
        else if (device && !strcmp(l->device, device))
            exact = exact ? exact : l;
    }
    use = exact ? exact : any;
    if (backend && !strcmp(backend, "software"))
        use = NULL;
    eb_sessions_default_limits(backend, out);
    if (use && use->max_sessions > 0)
        out->max_encode = use->max_sessions;
    if (use && use->memory_budget > 0)
        out->memory_bytes = use->memory_budget;
    if (configured)
        *configured = use != NULL;
}
