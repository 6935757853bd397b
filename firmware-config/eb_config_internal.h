/*
 * What the config files share among themselves and nobody else: the parsed
 * form of one scalar value, the text <-> value conversions, field access
 * through a table row, and error collection. Not installed, not for other
 * layers.
 */
#ifndef EB_CONFIG_INTERNAL_H
#define EB_CONFIG_INTERNAL_H

#include <stdarg.h>

#include "eb_config.h"

/* One parsed scalar, whatever its type. s points into the parsed text or
 * into the table's values[] (ENUM). */
typedef struct EbCfgValue {
    int64_t i;
    double d;
    EbDim dim;
    const char *s;
} EbCfgValue;

/* A titled group of settings ("api"), for the writers. */
typedef struct EbCfgSection {
    const char *name;
    const char *help;
} EbCfgSection;

const EbCfgSection *eb_cfg_section(const char *name);

/* Parses text for row s (a scalar type, or a list's element type) and checks
 * bounds, allowed values and s->check. On failure writes the complete
 * message ("'NAME' must be ... (got 'x')") into why and returns -1. name is
 * the setting's full name for the message. */
int eb_cfg_parse_scalar(const EbSetting *s, EbSettingType type, const char *name, const char *text,
                        EbCfgValue *out, char *why, size_t why_size);

/* What a value of that type looks like: "a number", "one of: cmaf, ts". The
 * pointer is valid until the next call on the thread. */
const char *eb_cfg_type_noun(const EbSetting *s, EbSettingType type);

/* Value text as the writers print it: "5M", "30d", "50G", "1920x1080", "6". */
void eb_cfg_format_scalar(const EbSetting *s, const void *base, char *buf, size_t size);
void eb_cfg_format_number(EbSettingType type, double v, char *buf, size_t size);

/* Writes s as a YAML scalar, quoted only where needed. */
void eb_cfg_write_yaml_string(FILE *f, const char *s);

/* Field access through a row. */
static inline void *eb_cfg_field(void *base, const EbSetting *s)
{
    return (char *)base + s->offset;
}
static inline const void *eb_cfg_cfield(const void *base, const EbSetting *s)
{
    return (const char *)base + s->offset;
}
const char *eb_cfg_get_string(const void *base, const EbSetting *s);
/* Stores a scalar value; returns 0 or EB_ERR(ENOMEM). */
int eb_cfg_store_scalar(void *base, const EbSetting *s, const EbCfgValue *v);

/* Lists. */
void eb_cfg_strlist_free(EbStrList *l);
int eb_cfg_strlist_copy(EbStrList *dst, const EbStrList *src);
int eb_cfg_strlist_equal(const EbStrList *a, const EbStrList *b);
/* Appends a copy of s; 0 or EB_ERR(ENOMEM). */
int eb_cfg_strlist_add(EbStrList *l, const char *s);

/* Rows with defaults applied to a record (rung, device, ladder). */
void eb_cfg_record_defaults(const EbSetting *table, int nb, void *base);

/* Equality of ladders, value by value. */
int eb_cfg_ladder_equal(const EbLadder *a, const EbLadder *b);

/* Index of a row in the top-level table (it must be one of its rows). */
int eb_cfg_setting_index(const EbSetting *s);

/* Error collection: file NULL means "command line" without a line. */
void eb_cfg_error(EbConfigErrors *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void eb_cfg_verror(EbConfigErrors *errs, const char *file, int line, const char *fmt, va_list ap);

/* Copies s into buf for a message: at most 48 characters, non-printable
 * bytes as \xNN, "..." when cut. */
const char *eb_cfg_quote_for_message(const char *s, char *buf, size_t size);

/* Backend knowledge the checks need (kept here, not in hal/, because the
 * HAL registry only lists backends built into this binary). */
extern const char *const eb_cfg_backend_names[];
int eb_cfg_backend_default_max_height(const char *backend);

/* Preset and rung names: [A-Za-z0-9_-], 1..max-1 characters. */
int eb_cfg_valid_name(const char *s, size_t max);

#endif
