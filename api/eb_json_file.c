/*
 * JSON file helpers (see eb_json_file.h).
 */
#include "eb_json_file.h"

#include <errno.h>
#include <stdio.h>

double eb_json_num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

void eb_json_str(const json_t *o, const char *key, char *dst, size_t size)
{
    const json_t *v = json_object_get(o, key);
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int eb_json_dump(json_t *o, const char *path)
{
    int ret;

    if (!o)
        return -ENOMEM;
    ret = json_dump_file(o, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
    return ret ? -EIO : 0;
}
