/*
 * One value of one setting: text -> value (with the bounds, allowed values
 * and checks of its table row, and the exact error message when it does not
 * fit), value -> text for the writers, storage through a row's offset, string
 * lists, and the error list. Numbers with units ("5M", "50G", "30d") are
 * parsed in integer arithmetic so "2.5M" is exactly 2500000.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eb_config_internal.h"
#include "eb_error.h"

#define EB_CFG_MAX_STRING 4096 /* heap strings and paths */

/* ---- errors ----------------------------------------------------------- */

void eb_cfg_verror(EbConfigErrors *errs, const char *file, int line, const char *fmt, va_list ap)
{
    EbConfigError *e;

    if (errs->nb >= EB_CONFIG_MAX_ERRORS) {
        errs->nb_dropped++;
        return;
    }
    if (errs->nb == errs->cap) {
        int cap = errs->cap ? errs->cap * 2 : 8;
        EbConfigError *items;
        if (cap > EB_CONFIG_MAX_ERRORS)
            cap = EB_CONFIG_MAX_ERRORS;
        items = realloc(errs->items, (size_t)cap * sizeof(*items));
        if (!items) {
            errs->nb_dropped++;
            return;
        }
        errs->items = items;
        errs->cap = cap;
    }
    e = &errs->items[errs->nb];
    e->file = strdup(file ? file : "command line");
    if (!e->file) {
        errs->nb_dropped++;
        return;
    }
    e->line = file ? line : -1;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    errs->nb++;
}

void eb_cfg_error(EbConfigErrors *errs, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    eb_cfg_verror(errs, file, line, fmt, ap);
    va_end(ap);
}

int eb_config_errors_count(const EbConfigErrors *errs)
{
    return errs->nb + errs->nb_dropped;
}

void eb_config_errors_print(const EbConfigErrors *errs, FILE *f)
{
    for (int i = 0; i < errs->nb; i++) {
        const EbConfigError *e = &errs->items[i];
        if (e->line >= 0)
            fprintf(f, "%s:%d: %s\n", e->file, e->line, e->message);
        else
            fprintf(f, "%s: %s\n", e->file, e->message);
    }
    if (errs->nb_dropped)
        fprintf(f, "... and %d more error%s\n", errs->nb_dropped, errs->nb_dropped > 1 ? "s" : "");
}

void eb_config_errors_free(EbConfigErrors *errs)
{
    for (int i = 0; i < errs->nb; i++)
        free(errs->items[i].file);
    free(errs->items);
    memset(errs, 0, sizeof(*errs));
}

const char *eb_cfg_quote_for_message(const char *s, char *buf, size_t size)
{
    size_t o = 0, n = 0;

    for (; *s && n < 48 && o + 5 < size; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c >= 0x80) {
            snprintf(buf + o, size - o, "\\x%02x", c);
            o += 4;
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    if (*s && o + 4 <= size)
        memcpy(buf + o, "...", 4);
    return buf;
}

/* ---- numbers with units ----------------------------------------------- */

typedef struct EbUnit {
    const char *suffix;
    int64_t mult;
} EbUnit;

static const EbUnit eb_bitrate_units[] = {
    {"", 1}, {"k", 1000}, {"K", 1000}, {"M", 1000000}, {"m", 1000000}, {"G", 1000000000}, {NULL, 0},
};
static const EbUnit eb_size_units[] = {
    {"", 1},
    {"K", 1024},
    {"k", 1024},
    {"KiB", 1024},
    {"M", 1048576},
    {"MiB", 1048576},
    {"G", 1073741824},
    {"GiB", 1073741824},
    {"T", 1099511627776},
    {"TiB", 1099511627776},
    {NULL, 0},
};
static const EbUnit eb_duration_units[] = {
    {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {NULL, 0},
};

/* "2.5M" -> 2500000. Returns 0, -1 (not a number of this kind, or not a
 * whole number of base units) or -2 (out of int64 range). */
static int eb_parse_scaled(const char *s, const EbUnit *units, int64_t *out)
{
    int64_t mant = 0, div = 1, mult = 0;
    int digits = 0, frac = 0;

    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (mant > (INT64_MAX - 9) / 10)
            return -2;
        mant = mant * 10 + (*s - '0');
    }
    if (*s == '.') {
        s++;
        for (; *s >= '0' && *s <= '9'; s++, frac++) {
            if (mant > (INT64_MAX - 9) / 10 || div > INT64_MAX / 10)
                return -2;
            mant = mant * 10 + (*s - '0');
            div *= 10;
        }
        if (frac == 0)
            return -1;
    }
    if (digits + frac == 0)
        return -1;
    for (int i = 0; units[i].suffix; i++)
        if (strcmp(s, units[i].suffix) == 0)
            mult = units[i].mult;
    if (!mult)
        return -1;
    if (mant > INT64_MAX / mult)
        return -2;
    mant *= mult;
    if (mant % div)
        return -1; /* not a whole number of bits, bytes or seconds */
    *out = mant / div;
    return 0;
}

static const EbUnit *eb_units_of(EbSettingType type)
{
    switch (type) {
    case EB_SETTING_BITRATE:
        return eb_bitrate_units;
    case EB_SETTING_SIZE:
        return eb_size_units;
    default:
        return eb_duration_units;
    }
}

void eb_cfg_format_number(EbSettingType type, double v, char *buf, size_t size)
{
    int64_t i = (int64_t)v;
    static const EbUnit bitrate[] = {{"G", 1000000000}, {"M", 1000000}, {"k", 1000}, {NULL, 0}};
    static const EbUnit bytes[] = {
        {"T", 1099511627776}, {"G", 1073741824}, {"M", 1048576}, {"K", 1024}, {NULL, 0}};
    static const EbUnit secs[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {NULL, 0}};
    const EbUnit *u = NULL;

    switch (type) {
    case EB_SETTING_BITRATE:
        u = bitrate;
        break;
    case EB_SETTING_SIZE:
        u = bytes;
        break;
    case EB_SETTING_DURATION:
        u = secs;
        break;
    case EB_SETTING_DOUBLE:
        snprintf(buf, size, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, size, "%.17g", v);
        return;
    default:
        snprintf(buf, size, "%lld", (long long)i);
        return;
    }
    if (i != 0)
        for (; u->suffix; u++)
            if (i % u->mult == 0) {
                snprintf(buf, size, "%lld%s", (long long)(i / u->mult), u->suffix);
                return;
            }
    snprintf(buf, size, "%lld%s", (long long)i, type == EB_SETTING_DURATION && i ? "s" : "");
}

/* ---- text -> value ---------------------------------------------------- */

static int eb_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -1;
    if ((*s == '-' || *s == '+') && !(s[1] >= '0' && s[1] <= '9'))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end)
        return -1;
    if (errno == ERANGE)
        return -2;
    *out = v;
    return 0;
}

static int eb_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
              *p == '-'))
            return -1;
    if (!*s)
        return -1;
    v = strtod(s, &end);
    if (*end || end == s)
        return -1;
    if (!isfinite(v))
        return -2;
    *out = v;
    return 0;
}

static int eb_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int eb_parse_dim(const char *s, EbDim *out)
{
    char *end;
    long w, h;

    if (!(*s >= '0' && *s <= '9'))
        return -1;
    w = strtol(s, &end, 10);
    if (*end != 'x' || !(end[1] >= '0' && end[1] <= '9'))
        return -1;
    h = strtol(end + 1, &end, 10);
    if (*end)
        return -1;
    out->width = w > INT_MAX ? INT_MAX : (int)w;
    out->height = h > INT_MAX ? INT_MAX : (int)h;
    return 0;
}

/* "a, b, c" */
static void eb_join_values(const char *const *values, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; values[i] && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
                              values[i][0] ? values[i] : "\"\"");
}

static int eb_path_ok(const char *p, int relative_ok)
{
    if (p[0] != '/' && !relative_ok)
        return 0;
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c < 0x20 || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
            return 0; /* C0, DEL and C1 (UTF-8 C2 80..9F) control characters */
    /* no ".." component: an input root must not reach outside itself */
    for (const char *c = p; (c = strstr(c, "..")); c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
            return 0;
    return 1;
}

const char *eb_cfg_type_noun(const EbSetting *s, EbSettingType type)
{
    static _Thread_local char buf[220];
    switch (type) {
    case EB_SETTING_STRING:
        return "a string";
    case EB_SETTING_PATH:
        return "a path";
    case EB_SETTING_ENUM: {
        char list[200];
        eb_join_values(s->values, list, sizeof(list));
        snprintf(buf, sizeof(buf), "one of: %s", list);
        return buf;
    }
    case EB_SETTING_BOOL:
        return "true or false";
    case EB_SETTING_INT:
        return "a whole number";
    case EB_SETTING_DOUBLE:
        return "a number";
    case EB_SETTING_BITRATE:
        return "a bitrate like 5M, 2500k or 600000";
    case EB_SETTING_SIZE:
        return "a size like 512M, 50G or 1048576";
    case EB_SETTING_DURATION:
        return "a duration like 45s, 90m, 12h or 30d";
    case EB_SETTING_DIM:
        snprintf(buf, sizeof(buf), "two numbers joined by 'x', like %s", s->def ? s->def : "5x5");
        return buf;
    case EB_SETTING_LIST:
        return "a list";
    case EB_SETTING_DEVICES:
        return "a list of device entries";
    case EB_SETTING_LADDERS:
        return "a mapping of preset names to ladders";
    case EB_SETTING_RUNGS:
        return "a list of rungs";
    }
    return "a value";
}

static void eb_range_text(const EbSetting *s, EbSettingType type, char *buf, size_t size)
{
    char lo[32], hi[32];
    eb_cfg_format_number(type, s->min, lo, sizeof(lo));
    eb_cfg_format_number(type, s->max, hi, sizeof(hi));
    snprintf(buf, size, "%sbetween %s and %s", s->flags & EB_SETTING_ZERO_OK ? "0 or " : "", lo,
             hi);
}

int eb_cfg_parse_scalar(const EbSetting *s, EbSettingType type, const char *name, const char *text,
                        EbCfgValue *out, char *why, size_t why_size)
{
    char got[256], want[256], range[96];
    const char *bad = NULL;
    int ret = 0, num = 0;
    double v = 0;

    memset(out, 0, sizeof(*out));
    if (*text)
        snprintf(got, sizeof(got), "'%s'", eb_cfg_quote_for_message(text, want, sizeof(want)));
    else
        snprintf(got, sizeof(got), "an empty value");
    want[0] = '\0';

    switch (type) {
    case EB_SETTING_STRING:
    case EB_SETTING_PATH: {
        size_t len = strlen(text), max = s->size ? s->size - 1 : EB_CFG_MAX_STRING;
        if (!*text && (s->flags & (EB_SETTING_NONEMPTY | EB_SETTING_REQUIRED))) {
            snprintf(want, sizeof(want), "%s", type == EB_SETTING_PATH ? "a path" : "set");
        } else if (len > max) {
            snprintf(want, sizeof(want), "at most %zu characters long", max);
        } else if (*text && type == EB_SETTING_PATH && !eb_path_ok(text, 0) &&
                   !((s->flags & EB_SETTING_RELATIVE) && eb_path_ok(text, 1))) {
            snprintf(want, sizeof(want), "%s",
                     s->flags & EB_SETTING_RELATIVE
                         ? "a path, absolute or relative to storage.root, without '..' "
                           "or control characters"
                         : "an absolute path without '..' or control characters");
        } else if (s->check && (bad = s->check(text))) {
            snprintf(want, sizeof(want), "%s", bad);
        }
        out->s = text;
        break;
    }
    case EB_SETTING_ENUM:
        out->s = NULL;
        for (int i = 0; s->values[i]; i++)
            if (strcmp(text, s->values[i]) == 0)
                out->s = s->values[i];
        if (!out->s)
            snprintf(want, sizeof(want), "%s", eb_cfg_type_noun(s, type));
        break;
    case EB_SETTING_BOOL: {
        int b = 0;
        if (eb_parse_bool(text, &b) < 0)
            snprintf(want, sizeof(want), "true or false");
        out->i = b;
        break;
    }
    case EB_SETTING_INT:
        ret = eb_parse_int(text, &out->i);
        if (ret == -1)
            snprintf(want, sizeof(want), "a whole number");
        num = 1;
        v = (double)out->i;
        break;
    case EB_SETTING_DOUBLE:
        ret = eb_parse_double(text, &out->d);
        if (ret == -1)
            snprintf(want, sizeof(want), "a number");
        num = 1;
        v = out->d;
        break;
    case EB_SETTING_BITRATE:
    case EB_SETTING_SIZE:
    case EB_SETTING_DURATION:
        ret = eb_parse_scaled(text, eb_units_of(type), &out->i);
        if (ret == -1)
            snprintf(want, sizeof(want), "%s", eb_cfg_type_noun(s, type));
        num = 1;
        v = (double)out->i;
        break;
    case EB_SETTING_DIM:
        if (eb_parse_dim(text, &out->dim) < 0) {
            snprintf(want, sizeof(want), "%s", eb_cfg_type_noun(s, type));
        } else if (out->dim.width < s->min || out->dim.width > s->max || out->dim.height < s->min ||
                   out->dim.height > s->max) {
            eb_range_text(s, EB_SETTING_INT, range, sizeof(range));
            snprintf(want, sizeof(want), "two numbers %s, joined by 'x'", range);
        }
        break;
    default:
        snprintf(want, sizeof(want), "a single value");
        break;
    }

    if (num && !want[0]) {
        int zero = (s->flags & EB_SETTING_ZERO_OK) && v == 0;
        if (ret == -2 || (!zero && (s->min || s->max) && (v < s->min || v > s->max))) {
            eb_range_text(s, type, range, sizeof(range));
            snprintf(want, sizeof(want), "%s", range);
        } else if ((s->flags & EB_SETTING_EVEN) && (out->i & 1)) {
            snprintf(want, sizeof(want), "an even number");
        }
    }
    if (want[0]) {
        snprintf(why, why_size, "'%s' must be %s (got %s)", name, want, got);
        return -1;
    }
    return 0;
}

/* ---- value -> storage and back ---------------------------------------- */

const char *eb_cfg_get_string(const void *base, const EbSetting *s)
{
    const void *f = eb_cfg_cfield(base, s);
    if (s->size)
        return (const char *)f;
    return *(char *const *)f ? *(char *const *)f : "";
}

int eb_cfg_store_scalar(void *base, const EbSetting *s, const EbCfgValue *v)
{
    void *f = eb_cfg_field(base, s);

    switch (s->type) {
    case EB_SETTING_STRING:
    case EB_SETTING_PATH:
    case EB_SETTING_ENUM:
        if (s->size) {
            snprintf((char *)f, s->size, "%s", v->s);
        } else {
            char *copy = strdup(v->s);
            if (!copy)
                return EB_ERR(ENOMEM);
            free(*(char **)f);
            *(char **)f = copy;
        }
        return 0;
    case EB_SETTING_BOOL:
    case EB_SETTING_INT:
        *(int *)f = (int)v->i;
        return 0;
    case EB_SETTING_DOUBLE:
        *(double *)f = v->d;
        return 0;
    case EB_SETTING_BITRATE:
    case EB_SETTING_SIZE:
    case EB_SETTING_DURATION:
        *(int64_t *)f = v->i;
        return 0;
    case EB_SETTING_DIM:
        *(EbDim *)f = v->dim;
        return 0;
    default:
        return EB_ERR(EINVAL);
    }
}

void eb_cfg_format_scalar(const EbSetting *s, const void *base, char *buf, size_t size)
{
    const void *f = eb_cfg_cfield(base, s);

    switch (s->type) {
    case EB_SETTING_STRING:
    case EB_SETTING_PATH:
    case EB_SETTING_ENUM:
        snprintf(buf, size, "%s", eb_cfg_get_string(base, s));
        break;
    case EB_SETTING_BOOL:
        snprintf(buf, size, "%s", *(const int *)f ? "true" : "false");
        break;
    case EB_SETTING_INT:
        eb_cfg_format_number(s->type, *(const int *)f, buf, size);
        break;
    case EB_SETTING_DOUBLE:
        eb_cfg_format_number(s->type, *(const double *)f, buf, size);
        break;
    case EB_SETTING_BITRATE:
    case EB_SETTING_SIZE:
    case EB_SETTING_DURATION:
        eb_cfg_format_number(s->type, (double)*(const int64_t *)f, buf, size);
        break;
    case EB_SETTING_DIM:
        snprintf(buf, size, "%dx%d", ((const EbDim *)f)->width, ((const EbDim *)f)->height);
        break;
    default:
        buf[0] = '\0';
        break;
    }
}

void eb_cfg_write_yaml_string(FILE *f, const char *s)
{
    static const char *const reserved[] = {"true", "false", "yes", "no", "on", "off",
                                           "null", "~",     "y",   "n",  NULL};
    int plain = *s != '\0' && !strchr("-.?", *s);

    for (const char *p = s; *p && plain; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./+-", *p)))
            plain = 0;
    for (int i = 0; plain && reserved[i]; i++)
        if (strcasecmp(s, reserved[i]) == 0)
            plain = 0;
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char *u = (const unsigned char *)s;
        unsigned char c = u[0];
        /* Characters a YAML reader folds or drops inside quotes (C1
         * controls, NEL, LS, PS, BOM) are escaped, so the text loads back
         * to the same bytes. */
        if (c == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) {
            fprintf(f, "\\u%04x", u[1]);
            s++;
        } else if (c == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) {
            fprintf(f, "\\u%04x", 0x2000 + (u[2] - 0x80));
            s += 2;
        } else if (c == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
            fputs("\\ufeff", f);
            s += 2;
        } else if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* ---- lists ------------------------------------------------------------ */

void eb_cfg_strlist_free(EbStrList *l)
{
    for (int i = 0; i < l->nb; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->nb = 0;
}

int eb_cfg_strlist_add(EbStrList *l, const char *s)
{
    char **items = realloc(l->items, (size_t)(l->nb + 1) * sizeof(*items));
    if (!items)
        return EB_ERR(ENOMEM);
    l->items = items;
    if (!(items[l->nb] = strdup(s)))
        return EB_ERR(ENOMEM);
    l->nb++;
    return 0;
}

int eb_cfg_strlist_copy(EbStrList *dst, const EbStrList *src)
{
    EbStrList l = {0};
    for (int i = 0; i < src->nb; i++) {
        if (eb_cfg_strlist_add(&l, src->items[i]) < 0) {
            eb_cfg_strlist_free(&l);
            return EB_ERR(ENOMEM);
        }
    }
    *dst = l;
    return 0;
}

int eb_cfg_strlist_equal(const EbStrList *a, const EbStrList *b)
{
    if (a->nb != b->nb)
        return 0;
    for (int i = 0; i < a->nb; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

/* ---- records ---------------------------------------------------------- */

void eb_cfg_record_defaults(const EbSetting *table, int nb, void *base)
{
    for (int i = 0; i < nb; i++) {
        EbCfgValue v;
        char why[8];
        if (!table[i].def || table[i].type > EB_SETTING_DIM)
            continue;
        /* Record rows keep their values inline, so storing cannot fail. */
        if (eb_cfg_parse_scalar(&table[i], table[i].type, table[i].name, table[i].def, &v, why,
                                sizeof(why)) == 0)
            eb_cfg_store_scalar(base, &table[i], &v);
    }
}

int eb_cfg_ladder_equal(const EbLadder *a, const EbLadder *b)
{
    if (strcmp(a->name, b->name) != 0 || a->nb_rungs != b->nb_rungs ||
        a->audio_bitrate != b->audio_bitrate || a->audio_channels != b->audio_channels)
        return 0;
    for (int i = 0; i < a->nb_rungs; i++) {
        const EbRung *x = &a->rungs[i], *y = &b->rungs[i];
        if (strcmp(x->name, y->name) != 0 || x->height != y->height || x->bitrate != y->bitrate ||
            x->maxrate != y->maxrate || x->bufsize != y->bufsize ||
            strcmp(x->codec, y->codec) != 0 || strcmp(x->profile, y->profile) != 0 ||
            x->max_fps != y->max_fps)
            return 0;
    }
    return 1;
}
