/*
 * Key endpoints and the ClearKey license exchange (see eb_license.h).
 */
#include "eb_license.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/base64.h>

#include "eb_error.h"
#include "eb_layout.h"
#include "eb_storage.h"

EbKeyEndpoint eb_key_endpoint(const char *rel, char *id, size_t id_size, uint8_t kid[16],
                              int *valid)
{
    const char *slash = strchr(rel, '/'), *rest;
    size_t n;

    *valid = 0;
    if (!slash)
        return EB_KEY_ENDPOINT_NONE;
    rest = slash + 1;
    if (strcmp(rest, EB_LAYOUT_LICENSE_NAME) &&
        strncmp(rest, EB_LAYOUT_KEYS_NAME "/", sizeof(EB_LAYOUT_KEYS_NAME)) &&
        strcmp(rest, EB_LAYOUT_KEYS_NAME))
        return EB_KEY_ENDPOINT_NONE;
    n = (size_t)(slash - rel);
    if (n < id_size) {
        memcpy(id, rel, n);
        id[n] = 0;
    } else if (id_size) {
        id[0] = 0;
    }
    if (!strcmp(rest, EB_LAYOUT_LICENSE_NAME)) {
        *valid = n < id_size && eb_storage_id_valid(id);
        return EB_KEY_ENDPOINT_LICENSE;
    }
    rest += sizeof(EB_LAYOUT_KEYS_NAME);
    *valid =
        n < id_size && eb_storage_id_valid(id) && rest[-1] == '/' && eb_key_unhex(rest, kid) == 0;
    return EB_KEY_ENDPOINT_KEY;
}

void eb_base64url16(const uint8_t in[16], char out[23])
{
    char b64[AV_BASE64_SIZE(16)];

    av_base64_encode(b64, sizeof(b64), in, 16);
    for (int i = 0; i < 22; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    out[22] = 0;
}

int eb_unbase64url16(const char *in, uint8_t out[16])
{
    char b64[25];
    uint8_t buf[18];
    size_t n = in ? strlen(in) : 0;

    /* 22 characters (no padding), or 24 with "==" */
    if (n == 24 && !strcmp(in + 22, "=="))
        n = 22;
    if (n != 22)
        return EB_ERR(EINVAL);
    for (size_t i = 0; i < 22; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=')
            return EB_ERR(EINVAL);
        b64[i] = c;
    }
    memcpy(b64 + 22, "==", 3);
    if (av_base64_decode(buf, b64, sizeof(buf)) != 16)
        return EB_ERR(EINVAL);
    memcpy(out, buf, 16);
    return 0;
}

int eb_clearkey_license(EbKeyProvider *provider, const char *content_id, const char *body,
                        size_t len, char **out)
{
    json_error_t e;
    json_t *req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &e);
    json_t *kids = json_object_get(req, "kids"), *keys = json_array(), *resp;
    const char *type = json_string_value(json_object_get(req, "type"));
    size_t i;
    int n = 0, ret = 0;

    *out = NULL;
    if (!json_is_object(req) || !json_is_array(kids) || !json_array_size(kids) ||
        json_array_size(kids) > EB_LICENSE_MAX_KIDS || !keys) {
        ret = EB_ERR(EINVAL);
        goto end;
    }
    for (i = 0; i < json_array_size(kids); i++) {
        uint8_t kid[16];
        EbContentKey key;
        char kid64[23], k64[23];
        if (eb_unbase64url16(json_string_value(json_array_get(kids, i)), kid) < 0) {
            ret = EB_ERR(EINVAL);
            goto end;
        }
        if (provider->ops->get(provider, content_id, kid, &key) < 0)
            continue; /* not this video's: not answered */
        eb_base64url16(kid, kid64);
        eb_base64url16(key.k.key, k64);
        json_array_append_new(keys,
                              json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", kid64, "k", k64));
        memset(&key, 0, sizeof(key));
        memset(k64, 0, sizeof(k64));
        n++;
    }
    resp = json_pack("{s:O, s:s}", "keys", keys, "type", type ? type : "temporary");
    *out = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
    json_decref(resp);
    if (!*out)
        ret = EB_ERR(ENOMEM);
end:
    json_decref(req);
    json_decref(keys);
    return ret < 0 ? ret : n;
}
