/*
 * Loading: YAML text -> EbConfig (or one EbLadder), through libyaml's
 * document API, whose nodes carry the line they start on.
 *
 * DESIGN
 * The text is parsed twice. A first pass over libyaml's events finds the
 * things the document API would hide or mishandle: syntax errors (with the
 * exact line; for bytes that are not UTF-8 text, the line is counted from
 * the reported byte offset), aliases (an alias re-visits a shared node, so
 * "billion laughs" files would cost exponential time; the config has no use
 * for them, so they are refused) and a second document. Only a clean text
 * is then loaded as a document and walked.
 *
 * The walk is driven by a table (eb_config_table.c): a mapping key is looked
 * up as prefix + key, so `api:` then `listen:` finds the row "api.listen"
 * (a dotted key "api.listen:" at the top finds it too). Each row's value is
 * parsed into a temporary and stored only when it has no error, so a bad
 * value leaves the default in place and later checks see sane data. Every
 * error is collected, never only the first: an operator fixes the file in
 * one round. Records (ladder presets, rungs, devices) are walked the same
 * way with their own tables.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "eb_config_internal.h"
#include "eb_error.h"

typedef struct EbLoad {
    yaml_document_t doc;
    const char *file; /* in messages; NULL: the command line */
    EbConfigErrors *errs;
    EbConfigSource source;
    int nb_errors; /* added by this load */
    int oom;
} EbLoad;

/* One table being applied to one struct. */
typedef struct EbWalk {
    const EbSetting *table;
    int nb;
    void *base;
    int *seen_line;       /* per row: line where it was set; 0 = not set */
    const char *display;  /* prefix of names in messages: "ladders.hd.rungs[0]." */
    int ladder_file;      /* rows flagged FILE_ONLY are allowed */
    int top;              /* the top-level table: record origins */
    int failed;           /* some row had an error */
    EbConfig *cfg;        /* top-level walk: origins, ladders, devices */
    EbLadderSource *lsrc; /* ladder walk: rung lines */
    int rungs_line;       /* ladder walk: line of `rungs:` value */
} EbWalk;

static void eb_load_error(EbLoad *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_load_error(EbLoad *L, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    eb_cfg_verror(L->errs, L->file, line, fmt, ap);
    va_end(ap);
    L->nb_errors++;
}

static void eb_load_oom(EbLoad *L, int line)
{
    if (!L->oom)
        eb_load_error(L, line, "out of memory");
    L->oom = 1;
}

static int eb_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static yaml_node_t *eb_node(EbLoad *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

static const char *eb_scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* `key:` with nothing, `~`, `null`: YAML's null. */
static int eb_is_null(const yaml_node_t *n)
{
    const char *s;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    s = eb_scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int eb_row_index(const EbSetting *table, int nb, const char *name)
{
    for (int i = 0; i < nb; i++)
        if (strcmp(table[i].name, name) == 0)
            return i;
    return -1;
}

/* "a mapping", "a list" or "'text'", for "(got ...)". */
static const char *eb_node_desc(const yaml_node_t *n, char *buf, size_t size)
{
    char q[256];
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (eb_is_null(n) || !*eb_scalar(n))
        return "an empty value";
    snprintf(buf, size, "'%s'", eb_cfg_quote_for_message(eb_scalar(n), q, sizeof(q)));
    return buf;
}

/* Scalar text of a value node, or NULL after reporting why there is none. */
static const char *eb_scalar_text(EbLoad *L, const yaml_node_t *n, const char *name,
                                  const char *want)
{
    char d[300];
    if (n->type != YAML_SCALAR_NODE) {
        eb_load_error(L, eb_line(n), "'%s' must be %s (got %s)", name, want,
                      eb_node_desc(n, d, sizeof(d)));
        return NULL;
    }
    if (strlen(eb_scalar(n)) != n->data.scalar.length) {
        eb_load_error(L, eb_line(n), "'%s' must not contain NUL characters", name);
        return NULL;
    }
    return eb_is_null(n) ? "" : eb_scalar(n);
}

/* ---- suggestions for unknown keys ------------------------------------- */

static int eb_edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b), prev[65], cur[65];
    if (la > 64 || lb > 64)
        return 99;
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

/* The row name closest to full (a typo, or a key in the wrong section). */
static const char *eb_suggest(const EbWalk *W, const char *full, const char *key)
{
    const char *best = NULL;
    int best_d = strlen(key) >= 5 ? 3 : 2;

    for (int i = 0; i < W->nb; i++) {
        const char *name = W->table[i].name, *tail = strrchr(name, '.');
        int d;
        if ((W->table[i].flags & EB_SETTING_FILE_ONLY) && !W->ladder_file)
            continue;
        d = eb_edit_distance(full, name);
        if (tail && strcmp(tail + 1, key) == 0)
            d = 0;
        if (d < best_d) {
            best_d = d;
            best = name;
        }
    }
    return best;
}

/* ---- the walk --------------------------------------------------------- */

static void eb_apply_row(EbLoad *L, EbWalk *W, int row, yaml_node_t *value, const char *name,
                         int key_line);

static int eb_is_section(const EbWalk *W, const char *full)
{
    size_t n = strlen(full);
    for (int i = 0; i < W->nb; i++)
        if (strncmp(W->table[i].name, full, n) == 0 && W->table[i].name[n] == '.')
            return 1;
    return 0;
}

typedef struct EbSeenSection {
    const char *key;
    int line;
} EbSeenSection;

/* Settings that were accepted once and had no effect, so they were taken
 * out: a file that still sets one gets why, not "unknown setting". */
static const struct {
    const char *name;
    const char *why;
} eb_removed_settings[] = {
    {"storage.staging",
     "jobs build in <storage.root>/.staging, which must share a filesystem with "
     "<storage.root>/videos for the atomic publish"},
    {"inputs.url_schemes",
     "a job's input is a file under inputs.roots or an upload; live feeds arrive on the "
     "live ingest listeners"},
};

static const char *eb_removed_why(const char *full)
{
    for (size_t i = 0; i < sizeof(eb_removed_settings) / sizeof(eb_removed_settings[0]); i++)
        if (!strcmp(eb_removed_settings[i].name, full))
            return eb_removed_settings[i].why;
    return NULL;
}

static void eb_walk_mapping(EbLoad *L, EbWalk *W, yaml_node_t *map, const char *prefix)
{
    EbSeenSection sections[16];
    int nb_sections = 0;

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = eb_node(L, p->key), *v = eb_node(L, p->value);
        char full[160], display[320], q[256], d[300];
        const char *key;
        int row = -1;

        if (!k || !v)
            continue;
        if (k->type != YAML_SCALAR_NODE || strlen(eb_scalar(k)) != k->data.scalar.length) {
            eb_load_error(L, eb_line(k), "a key must be a plain name (got %s)",
                          eb_node_desc(k, d, sizeof(d)));
            W->failed = 1;
            continue;
        }
        key = eb_scalar(k);
        snprintf(full, sizeof(full), "%s%s", prefix, key);
        snprintf(display, sizeof(display), "%s%s", W->display, full);
        for (int i = 0; i < W->nb && strlen(prefix) + strlen(key) < sizeof(full); i++)
            if (strcmp(W->table[i].name, full) == 0 &&
                (!(W->table[i].flags & EB_SETTING_FILE_ONLY) || W->ladder_file))
                row = i;

        if (row >= 0) {
            if (W->seen_line[row]) {
                eb_load_error(L, eb_line(k), "'%s' is set twice (first at line %d)", display,
                              W->seen_line[row]);
                W->failed = 1;
                continue;
            }
            W->seen_line[row] = eb_line(k);
            eb_apply_row(L, W, row, v, display, eb_line(k));
        } else if (eb_is_section(W, full)) {
            int dup = 0;
            for (int i = 0; i < nb_sections; i++)
                if (strcmp(sections[i].key, key) == 0) {
                    eb_load_error(L, eb_line(k), "section '%s' appears twice (first at line %d)",
                                  display, sections[i].line);
                    dup = 1;
                }
            if (!dup && nb_sections < 16)
                sections[nb_sections++] = (EbSeenSection){key, eb_line(k)};
            if (!dup && v->type != YAML_MAPPING_NODE && !eb_is_null(v)) {
                eb_load_error(L, eb_line(v), "'%s' must be a section of settings (got %s)", display,
                              eb_node_desc(v, d, sizeof(d)));
                dup = 1;
            }
            if (dup)
                W->failed = 1;
            if (dup || v->type != YAML_MAPPING_NODE)
                continue;
            strcat(full, ".");
            eb_walk_mapping(L, W, v, full);
        } else {
            const char *hint = eb_suggest(W, full, key), *why = eb_removed_why(display);
            W->failed = 1;
            eb_cfg_quote_for_message(display, q, sizeof(q));
            if (why)
                eb_load_error(L, eb_line(k), "'%s' is no longer a setting: %s", q, why);
            else if (hint)
                eb_load_error(L, eb_line(k), "unknown setting '%s' (did you mean '%s%s'?)", q,
                              W->display, hint);
            else
                eb_load_error(L, eb_line(k), "unknown setting '%s'", q);
        }
    }
}

/* Rows with no default that were not given. */
static void eb_check_required(EbLoad *L, EbWalk *W, int line)
{
    for (int i = 0; i < W->nb; i++)
        if ((W->table[i].flags & EB_SETTING_REQUIRED) && !W->seen_line[i] &&
            W->table[i].type != EB_SETTING_RUNGS) {
            eb_load_error(L, line, "'%s%s' is required", W->display, W->table[i].name);
            W->failed = 1;
        }
}

/* ---- lists ------------------------------------------------------------ */

static void eb_apply_list(EbLoad *L, EbWalk *W, const EbSetting *s, yaml_node_t *v,
                          const char *name)
{
    EbStrList list = {0};
    int bad = 0, n = 0;
    char d[300];

    if (v->type != YAML_SEQUENCE_NODE && !eb_is_null(v)) {
        eb_load_error(L, eb_line(v), "'%s' must be a list, like [a, b] (got %s)", name,
                      eb_node_desc(v, d, sizeof(d)));
        W->failed = 1;
        return;
    }
    if (v->type == YAML_SEQUENCE_NODE)
        n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > EB_CONFIG_MAX_LIST) {
        eb_load_error(L, eb_line(v), "'%s' has %d items; at most %d are allowed", name, n,
                      EB_CONFIG_MAX_LIST);
        W->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = eb_node(L, v->data.sequence.items.start[i]);
        char item_name[340], why[512];
        const char *text;
        EbCfgValue val;

        snprintf(item_name, sizeof(item_name), "%s[%d]", name, i);
        if (!it || !(text = eb_scalar_text(L, it, item_name, eb_cfg_type_noun(s, s->elem_type)))) {
            bad = 1;
            continue;
        }
        if (eb_cfg_parse_scalar(s, s->elem_type, item_name, text, &val, why, sizeof(why)) < 0) {
            eb_load_error(L, eb_line(it), "%s", why);
            bad = 1;
            continue;
        }
        for (int j = 0; j < list.nb; j++)
            if (strcmp(list.items[j], val.s) == 0) {
                eb_load_error(L, eb_line(it), "'%s' lists '%s' twice", name,
                              eb_cfg_quote_for_message(val.s, d, sizeof(d)));
                bad = 1;
            }
        if (eb_cfg_strlist_add(&list, val.s) < 0) {
            eb_load_oom(L, eb_line(it));
            bad = 1;
            break;
        }
    }
    if (!bad && !list.nb && (s->flags & EB_SETTING_NONEMPTY)) {
        eb_load_error(L, eb_line(v), "'%s' must not be empty", name);
        bad = 1;
    }
    if (bad) {
        eb_cfg_strlist_free(&list);
        W->failed = 1;
        return;
    }
    eb_cfg_strlist_free(eb_cfg_field(W->base, s));
    *(EbStrList *)eb_cfg_field(W->base, s) = list;
}

/* ---- rungs, ladders, devices ------------------------------------------ */

static void eb_apply_rungs(EbLoad *L, EbWalk *W, yaml_node_t *v, const char *name)
{
    EbLadder *lad = W->base;
    int rung_seen[16], n, nb_rung_rows, nb_names = 0;
    struct {
        char name[EB_RUNG_NAME_MAX];
        int line;
    } names[EB_LADDER_MAX_RUNGS];
    const EbSetting *rows = eb_config_rung_settings(&nb_rung_rows);
    const int row_name = eb_row_index(rows, nb_rung_rows, "name");
    const int row_maxrate = eb_row_index(rows, nb_rung_rows, "maxrate");
    const int row_codec = eb_row_index(rows, nb_rung_rows, "codec");
    const int row_profile = eb_row_index(rows, nb_rung_rows, "profile");
    char d[300];

    W->rungs_line = eb_line(v);
    if (v->type != YAML_SEQUENCE_NODE) {
        if (!eb_is_null(v)) {
            eb_load_error(L, eb_line(v), "'%s' must be a list of rungs (got %s)", name,
                          eb_node_desc(v, d, sizeof(d)));
            W->failed = 1;
        }
        return;
    }
    n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = eb_node(L, v->data.sequence.items.start[i]);
        char display[360];
        EbRung rung;
        EbWalk R;
        int dup = 0;

        if (!it)
            continue;
        if (i >= EB_LADDER_MAX_RUNGS) {
            eb_load_error(L, eb_line(it), "ladder '%s' has more than %d rungs", lad->name,
                          EB_LADDER_MAX_RUNGS);
            W->failed = 1;
            break;
        }
        snprintf(display, sizeof(display), "%s[%d].", name, i);
        if (it->type != YAML_MAPPING_NODE) {
            eb_load_error(L, eb_line(it),
                          "'%s[%d]' must be a rung (name:, height:, bitrate: ...) (got %s)", name,
                          i, eb_node_desc(it, d, sizeof(d)));
            W->failed = 1;
            continue;
        }
        memset(&rung, 0, sizeof(rung));
        eb_cfg_record_defaults(rows, nb_rung_rows, &rung);
        memset(rung_seen, 0, sizeof(rung_seen));
        R = (EbWalk){.table = rows,
                     .nb = nb_rung_rows,
                     .base = &rung,
                     .seen_line = rung_seen,
                     .display = display};
        eb_walk_mapping(L, &R, it, "");
        eb_check_required(L, &R, eb_line(it));
        if (R.failed) {
            W->failed = 1;
            continue;
        }
        /* Names are compared among every rung whose fields parsed, even
         * one that fails a later check, so a duplicate is always named. */
        for (int j = 0; j < nb_names; j++)
            if (strcmp(names[j].name, rung.name) == 0) {
                eb_load_error(L, rung_seen[row_name],
                              "rung name '%s' is used twice in ladder '%s' (first at line %d)",
                              rung.name, lad->name, names[j].line);
                W->failed = dup = 1;
            }
        if (!dup) {
            memcpy(names[nb_names].name, rung.name, sizeof(rung.name));
            names[nb_names++].line = rung_seen[row_name];
        }
        if (rung.maxrate && rung.bitrate > rung.maxrate) {
            char br[32], mr[32];
            eb_cfg_format_number(EB_SETTING_BITRATE, (double)rung.bitrate, br, sizeof(br));
            eb_cfg_format_number(EB_SETTING_BITRATE, (double)rung.maxrate, mr, sizeof(mr));
            eb_load_error(L, rung_seen[row_maxrate] ? rung_seen[row_maxrate] : eb_line(it),
                          "rung '%s' of ladder '%s': bitrate %s is above its maxrate %s", rung.name,
                          lad->name, br, mr);
            W->failed = 1;
            continue;
        }
        if (strcmp(rung.codec, "hevc") == 0 && rung.profile[0] && strcmp(rung.profile, "main")) {
            eb_load_error(L, rung_seen[row_profile] ? rung_seen[row_profile] : eb_line(it),
                          "rung '%s' of ladder '%s': profile '%s' is an H.264 profile; hevc rungs "
                          "take main (or \"\")",
                          rung.name, lad->name, rung.profile);
            W->failed = 1;
            continue;
        }
        if (lad->nb_rungs > 0 && strcmp(rung.codec, lad->rungs[0].codec)) {
            eb_load_error(L, rung_seen[row_codec] ? rung_seen[row_codec] : eb_line(it),
                          "rung '%s' of ladder '%s' is %s but rung '%s' is %s: every rung of a "
                          "ladder uses one codec (one adaptation set; make a second ladder for "
                          "the other codec)",
                          rung.name, lad->name, rung.codec, lad->rungs[0].name,
                          lad->rungs[0].codec);
            W->failed = 1;
            continue;
        }
        if (dup)
            continue;
        W->lsrc->rung_line[lad->nb_rungs] = eb_line(it);
        lad->rungs[lad->nb_rungs++] = rung;
    }
}

/* After a ladder's rows: the checks that need the whole ladder, then
 * tallest-first order (encbox's rule, so the operator need not care). */
static void eb_ladder_finish(EbLoad *L, EbWalk *W, int line)
{
    EbLadder *lad = W->base;

    if (!W->failed && lad->nb_rungs == 0) {
        eb_load_error(L, W->rungs_line ? W->rungs_line : line, "ladder '%s' has no rungs",
                      lad->name);
        W->failed = 1;
    }
    for (int i = 1; i < lad->nb_rungs; i++)
        for (int j = i; j > 0 && lad->rungs[j].height > lad->rungs[j - 1].height; j--) {
            EbRung t = lad->rungs[j];
            int tl = W->lsrc->rung_line[j];
            lad->rungs[j] = lad->rungs[j - 1];
            lad->rungs[j - 1] = t;
            W->lsrc->rung_line[j] = W->lsrc->rung_line[j - 1];
            W->lsrc->rung_line[j - 1] = tl;
        }
    W->lsrc->broken = W->failed;
}

static void eb_ladder_init(EbLadder *lad, const char *name)
{
    int nb;
    const EbSetting *rows = eb_config_ladder_settings(&nb);
    memset(lad, 0, sizeof(*lad));
    eb_cfg_record_defaults(rows, nb, lad);
    snprintf(lad->name, sizeof(lad->name), "%s", name);
}

/* Adds or replaces a preset in cfg; 0 or EB_ERR(ENOMEM). */
static int eb_config_put_ladder(EbConfig *cfg, const EbLadder *lad, const EbLadderSource *src)
{
    EbLadder *l;
    EbLadderSource *s;

    for (int i = 0; i < cfg->nb_ladders; i++)
        if (strcmp(cfg->ladders[i].name, lad->name) == 0) {
            cfg->ladders[i] = *lad;
            cfg->ladder_sources[i] = *src;
            return 0;
        }
    l = realloc(cfg->ladders, (size_t)(cfg->nb_ladders + 1) * sizeof(*l));
    if (!l)
        return EB_ERR(ENOMEM);
    cfg->ladders = l;
    s = realloc(cfg->ladder_sources, (size_t)(cfg->nb_ladders + 1) * sizeof(*s));
    if (!s)
        return EB_ERR(ENOMEM);
    cfg->ladder_sources = s;
    cfg->ladders[cfg->nb_ladders] = *lad;
    cfg->ladder_sources[cfg->nb_ladders] = *src;
    cfg->nb_ladders++;
    return 0;
}

static void eb_apply_ladders(EbLoad *L, EbWalk *W, yaml_node_t *v, const char *name)
{
    int nb_rows, n;
    const EbSetting *rows = eb_config_ladder_settings(&nb_rows);
    char d[300];
    struct {
        char name[EB_LADDER_NAME_MAX];
        int line;
    } * seen;

    if (v->type != YAML_MAPPING_NODE) {
        if (!eb_is_null(v)) {
            eb_load_error(L, eb_line(v), "'%s' must be %s (got %s)", name,
                          eb_cfg_type_noun(NULL, EB_SETTING_LADDERS),
                          eb_node_desc(v, d, sizeof(d)));
            W->failed = 1;
        }
        return;
    }
    n = (int)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > EB_CONFIG_MAX_LADDERS) {
        eb_load_error(L, eb_line(v), "'%s' has %d presets; at most %d are allowed", name, n,
                      EB_CONFIG_MAX_LADDERS);
        W->failed = 1;
        return;
    }
    seen = calloc((size_t)n + 1, sizeof(*seen));
    if (!seen) {
        eb_load_oom(L, eb_line(v));
        return;
    }
    for (int i = 0; i < n; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *k = eb_node(L, p->key), *body = eb_node(L, p->value);
        char display[EB_LADDER_NAME_MAX + 16];
        const char *key;
        int seen_rows[16] = {0}, dup = 0;
        EbLadder lad;
        EbLadderSource src = {{L->source, 0}, {0}, 0};
        EbWalk LW;

        if (!k || !body)
            continue;
        if (!(key = eb_scalar_text(L, k, "ladder preset name", "a name"))) {
            W->failed = 1;
            continue;
        }
        if (!eb_cfg_valid_name(key, EB_LADDER_NAME_MAX)) {
            eb_load_error(L, eb_line(k),
                          "ladder preset name must be 1 to 31 letters, digits, '_' or '-' "
                          "(got %s)",
                          eb_node_desc(k, d, sizeof(d)));
            W->failed = 1;
            continue;
        }
        for (int j = 0; j < i; j++)
            if (seen[j].line && strcmp(seen[j].name, key) == 0) {
                eb_load_error(L, eb_line(k), "ladder '%s' is defined twice (first at line %d)", key,
                              seen[j].line);
                dup = 1;
            }
        if (dup) {
            W->failed = 1;
            continue;
        }
        snprintf(seen[i].name, sizeof(seen[i].name), "%s", key);
        seen[i].line = eb_line(k);
        snprintf(display, sizeof(display), "ladders.%s.", key);
        eb_ladder_init(&lad, key);
        src.origin.line = L->source == EB_CONFIG_FROM_FILE ? eb_line(k) : 0;
        LW = (EbWalk){.table = rows,
                      .nb = nb_rows,
                      .base = &lad,
                      .seen_line = seen_rows,
                      .display = display,
                      .lsrc = &src};
        if (body->type != YAML_MAPPING_NODE) {
            eb_load_error(L, eb_line(body),
                          "'ladders.%s' must be a ladder (rungs:, audio:) (got %s)", key,
                          eb_node_desc(body, d, sizeof(d)));
            LW.failed = 1;
        } else {
            eb_walk_mapping(L, &LW, body, "");
        }
        eb_ladder_finish(L, &LW, eb_line(k));
        if (LW.failed)
            W->failed = 1;
        /* Broken presets are kept (marked) so jobs.ladder still finds them
         * and does not add a second, misleading error. */
        if (eb_config_put_ladder(W->cfg, &lad, &src) < 0)
            eb_load_oom(L, eb_line(k));
    }
    free(seen);
}

static void eb_apply_devices(EbLoad *L, EbWalk *W, yaml_node_t *v, const char *name)
{
    int nb_rows, n = 0, bad = 0;
    const EbSetting *rows = eb_config_device_settings(&nb_rows);
    EbDeviceLimit *devs = NULL;
    int *lines = NULL;
    char d[300];

    if (v->type != YAML_SEQUENCE_NODE && !eb_is_null(v)) {
        eb_load_error(L, eb_line(v), "'%s' must be %s (got %s)", name,
                      eb_cfg_type_noun(NULL, EB_SETTING_DEVICES), eb_node_desc(v, d, sizeof(d)));
        W->failed = 1;
        return;
    }
    if (v->type == YAML_SEQUENCE_NODE)
        n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > EB_CONFIG_MAX_DEVICES) {
        eb_load_error(L, eb_line(v), "'%s' has %d entries; at most %d are allowed", name, n,
                      EB_CONFIG_MAX_DEVICES);
        W->failed = 1;
        return;
    }
    devs = calloc((size_t)n + 1, sizeof(*devs));
    lines = calloc((size_t)n + 1, sizeof(*lines));
    if (!devs || !lines) {
        eb_load_oom(L, eb_line(v));
        goto end;
    }
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = eb_node(L, v->data.sequence.items.start[i]);
        char display[64];
        int seen[16] = {0};
        EbWalk D;

        if (!it)
            continue;
        snprintf(display, sizeof(display), "%s[%d].", name, i);
        lines[i] = eb_line(it);
        if (it->type != YAML_MAPPING_NODE) {
            eb_load_error(L, eb_line(it),
                          "'%s[%d]' must be a device entry (backend:, ...) (got %s)", name, i,
                          eb_node_desc(it, d, sizeof(d)));
            bad = 1;
            continue;
        }
        eb_cfg_record_defaults(rows, nb_rows, &devs[i]);
        D = (EbWalk){
            .table = rows, .nb = nb_rows, .base = &devs[i], .seen_line = seen, .display = display};
        eb_walk_mapping(L, &D, it, "");
        eb_check_required(L, &D, eb_line(it));
        if (D.failed) {
            bad = 1;
            continue;
        }
        for (int j = 0; j < i; j++)
            if (lines[j] && strcmp(devs[j].backend, devs[i].backend) == 0 &&
                strcmp(devs[j].device, devs[i].device) == 0) {
                eb_load_error(L, eb_line(it), "'%s[%d]' repeats the entry at line %d (%s %s)", name,
                              i, lines[j], devs[i].backend, devs[i].device);
                bad = 1;
            }
    }
    if (bad) {
        W->failed = 1;
        goto end;
    }
    free(W->cfg->devices);
    W->cfg->devices = devs;
    W->cfg->nb_devices = n;
    devs = NULL;
end:
    free(devs);
    free(lines);
}

/* ---- one row ---------------------------------------------------------- */

static void eb_apply_row(EbLoad *L, EbWalk *W, int row, yaml_node_t *v, const char *name,
                         int key_line)
{
    const EbSetting *s = &W->table[row];
    int errors_before = L->nb_errors;

    switch (s->type) {
    case EB_SETTING_LIST:
        eb_apply_list(L, W, s, v, name);
        break;
    case EB_SETTING_RUNGS:
        eb_apply_rungs(L, W, v, name);
        break;
    case EB_SETTING_LADDERS:
        eb_apply_ladders(L, W, v, name);
        break;
    case EB_SETTING_DEVICES:
        eb_apply_devices(L, W, v, name);
        break;
    default: {
        char why[512];
        EbCfgValue val;
        const char *text = eb_scalar_text(L, v, name, eb_cfg_type_noun(s, s->type));
        if (!text)
            break;
        if (eb_cfg_parse_scalar(s, s->type, name, text, &val, why, sizeof(why)) < 0) {
            eb_load_error(L, eb_line(v), "%s", why);
            break;
        }
        if (eb_cfg_store_scalar(W->base, s, &val) < 0)
            eb_load_oom(L, eb_line(v));
        break;
    }
    }
    if (L->nb_errors != errors_before) {
        W->failed = 1;
        return;
    }
    if (W->top) {
        W->cfg->origin[row].source = L->source;
        W->cfg->origin[row].line = L->source == EB_CONFIG_FROM_FILE ? key_line : 0;
    }
}

/* ---- YAML text -> document -------------------------------------------- */

static void eb_yaml_error(EbLoad *L, const yaml_parser_t *p, const char *buf, size_t len)
{
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        eb_load_oom(L, 0);
        return;
    case YAML_READER_ERROR: {
        int line = 1;
        size_t end = p->problem_offset < len ? p->problem_offset : len;
        for (size_t i = 0; i < end; i++)
            line += buf[i] == '\n';
        if (p->problem_value >= 0)
            eb_load_error(L, line, "not a text file: %s (0x%02X at byte %zu)",
                          p->problem ? p->problem : "unreadable", (unsigned)p->problem_value,
                          p->problem_offset);
        else
            eb_load_error(L, line, "not a text file: %s (at byte %zu)",
                          p->problem ? p->problem : "unreadable", p->problem_offset);
        return;
    }
    default:
        if (p->context && p->context_mark.line != p->problem_mark.line)
            eb_load_error(L, (int)p->problem_mark.line + 1, "YAML syntax error: %s (%s at line %d)",
                          p->problem ? p->problem : "invalid", p->context,
                          (int)p->context_mark.line + 1);
        else if (p->context)
            eb_load_error(L, (int)p->problem_mark.line + 1, "YAML syntax error: %s %s",
                          p->problem ? p->problem : "invalid", p->context);
        else
            eb_load_error(L, (int)p->problem_mark.line + 1, "YAML syntax error: %s",
                          p->problem ? p->problem : "invalid");
        return;
    }
}

/* Fills L->doc; returns 0, or -1 after reporting. On 0 the caller deletes
 * L->doc. */
static int eb_yaml_load(EbLoad *L, const char *buf, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int docs = 0, bad = 0;

    if (!yaml_parser_initialize(&p)) {
        eb_load_oom(L, 0);
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    for (;;) {
        yaml_event_type_t type;
        if (!yaml_parser_parse(&p, &ev)) {
            eb_yaml_error(L, &p, buf, len);
            bad = 1;
            break;
        }
        type = ev.type;
        if (type == YAML_DOCUMENT_START_EVENT && ++docs == 2) {
            eb_load_error(L, (int)ev.start_mark.line + 1,
                          "a second YAML document starts here; the file must hold one");
            bad = 1;
        } else if (type == YAML_ALIAS_EVENT) {
            char q[256];
            eb_load_error(
                L, (int)ev.start_mark.line + 1,
                "YAML aliases (*%s) are not supported; write the value out",
                eb_cfg_quote_for_message((const char *)ev.data.alias.anchor, q, sizeof(q)));
            bad = 1;
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT || docs > 1)
            break;
    }
    yaml_parser_delete(&p);
    if (bad)
        return -1;

    if (!yaml_parser_initialize(&p)) {
        eb_load_oom(L, 0);
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&p, &L->doc)) {
        eb_yaml_error(L, &p, buf, len);
        yaml_parser_delete(&p);
        return -1;
    }
    yaml_parser_delete(&p);
    return 0;
}

/* Reads a whole file, refusing more than EB_CONFIG_MAX_FILE_SIZE. Reports
 * every failure in errs, except a missing file when missing_ok. */
static int eb_read_file(const char *path, char **out, size_t *len, EbConfigErrors *errs,
                        int missing_ok)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    int fd = -1, ret = 0;

    *out = NULL;
    if (!buf) {
        ret = EB_ERR(ENOMEM);
        goto fail;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = EB_ERR(errno);
        goto fail;
    }
    for (;;) {
        ssize_t r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                ret = EB_ERR(ENOMEM);
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ret = EB_ERR(errno);
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > EB_CONFIG_MAX_FILE_SIZE) {
            ret = EB_ERR(EFBIG);
            goto fail;
        }
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (ret == EB_ERR(EFBIG))
        eb_cfg_error(errs, path, 0, "file is larger than %d bytes; is it the right file?",
                     EB_CONFIG_MAX_FILE_SIZE);
    else if (!(missing_ok && ret == EB_ERR(ENOENT)))
        eb_cfg_error(errs, path, 0, "cannot read: %s", eb_strerror(ret));
    return ret;
}

/* ---- public ----------------------------------------------------------- */

static int eb_config_walk_buffer(EbLoad *L, const char *buf, size_t len, EbConfig *cfg)
{
    int seen[EB_CONFIG_NB_SETTINGS] = {0}, nb;
    EbWalk W = {.table = eb_config_settings(&nb),
                .nb = nb,
                .base = cfg,
                .seen_line = seen,
                .display = "",
                .cfg = cfg,
                .top = 1};
    yaml_node_t *root;
    char d[300];

    if (len > EB_CONFIG_MAX_FILE_SIZE) {
        eb_load_error(L, 0, "file is larger than %d bytes; is it the right file?",
                      EB_CONFIG_MAX_FILE_SIZE);
        return -1;
    }
    if (eb_yaml_load(L, buf, len) < 0)
        return -1;
    root = yaml_document_get_root_node(&L->doc);
    if (root && root->type != YAML_MAPPING_NODE && !eb_is_null(root))
        eb_load_error(L, eb_line(root),
                      "the file must be a mapping of settings (name: value) (got %s)",
                      eb_node_desc(root, d, sizeof(d)));
    else if (root && root->type == YAML_MAPPING_NODE)
        eb_walk_mapping(L, &W, root, "");
    yaml_document_delete(&L->doc);
    return 0;
}

/* Errors from index first on, in line order (cross-field checks run after
 * the walk but belong among the others). Stable; "no line" (-1) last. */
static void eb_sort_errors(EbConfigErrors *errs, int first)
{
    for (int i = first + 1; i < errs->nb; i++) {
        EbConfigError e = errs->items[i];
        unsigned key = (unsigned)e.line; /* -1 sorts last */
        int j = i;
        for (; j > first && (unsigned)errs->items[j - 1].line > key; j--)
            errs->items[j] = errs->items[j - 1];
        errs->items[j] = e;
    }
}

int eb_config_load_buffer(const char *buf, size_t len, const char *name, EbConfig *out,
                          EbConfigErrors *errs)
{
    EbLoad L = {.file = name, .errs = errs, .source = EB_CONFIG_FROM_FILE};
    int ret, first = errs->nb;

    memset(out, 0, sizeof(*out));
    if ((ret = eb_config_defaults(out)) < 0)
        return ret;
    if (!(out->path = strdup(name)))
        return EB_ERR(ENOMEM);
    eb_config_walk_buffer(&L, buf, len, out);
    if (L.oom)
        return EB_ERR(ENOMEM);
    ret = eb_config_validate(out, errs);
    eb_sort_errors(errs, first);
    return ret < 0 || L.nb_errors ? EB_ERR(EINVAL) : 0;
}

int eb_config_load(const char *path, EbConfig *out, EbConfigErrors *errs)
{
    char *buf;
    size_t len;
    int ret;

    ret = eb_read_file(path ? path : EB_CONFIG_DEFAULT_PATH, &buf, &len, errs, !path);
    if (ret < 0) {
        memset(out, 0, sizeof(*out));
        if (eb_config_defaults(out) < 0)
            return EB_ERR(ENOMEM);
        if (ret == EB_ERR(ENOENT) && !path)
            return 0; /* no file at all: built-in defaults */
        return ret == EB_ERR(ENOMEM) ? ret : EB_ERR(EINVAL);
    }
    ret = eb_config_load_buffer(buf, len, path ? path : EB_CONFIG_DEFAULT_PATH, out, errs);
    free(buf);
    return ret;
}

int eb_config_set(EbConfig *cfg, const char *name, const char *value, EbConfigErrors *errs)
{
    EbLoad L = {.file = NULL, .errs = errs, .source = EB_CONFIG_FROM_COMMAND_LINE};
    int seen[EB_CONFIG_NB_SETTINGS] = {0}, nb, row = -1;
    EbWalk W = {.table = eb_config_settings(&nb),
                .nb = nb,
                .base = cfg,
                .seen_line = seen,
                .display = "",
                .cfg = cfg,
                .top = 1};
    yaml_node_t *root;

    for (int i = 0; i < nb; i++)
        if (strcmp(W.table[i].name, name) == 0)
            row = i;
    if (row < 0) {
        char q[256];
        const char *tail = strrchr(name, '.'), *hint = eb_suggest(&W, name, tail ? tail + 1 : name);
        eb_cfg_quote_for_message(name, q, sizeof(q));
        if (hint)
            eb_cfg_error(errs, NULL, -1, "unknown setting '%s' (did you mean '%s'?)", q, hint);
        else
            eb_cfg_error(errs, NULL, -1, "unknown setting '%s'", q);
        return EB_ERR(ENOENT);
    }
    if (!*value)
        value = "\"\"";
    if (eb_yaml_load(&L, value, strlen(value)) < 0)
        return L.oom ? EB_ERR(ENOMEM) : EB_ERR(EINVAL);
    root = yaml_document_get_root_node(&L.doc);
    if (root)
        eb_apply_row(&L, &W, row, root, name, 0);
    yaml_document_delete(&L.doc);
    if (L.oom)
        return EB_ERR(ENOMEM);
    return L.nb_errors ? EB_ERR(EINVAL) : 0;
}

int eb_ladder_load_buffer(const char *buf, size_t len, const char *name, EbLadder *out,
                          EbConfigErrors *errs)
{
    EbLoad L = {.file = name, .errs = errs, .source = EB_CONFIG_FROM_FILE};
    int nb_rows, seen[16] = {0};
    const EbSetting *rows = eb_config_ladder_settings(&nb_rows);
    EbLadderSource src = {{EB_CONFIG_FROM_FILE, 1}, {0}, 0};
    EbWalk W = {.table = rows,
                .nb = nb_rows,
                .base = out,
                .seen_line = seen,
                .display = "",
                .ladder_file = 1,
                .lsrc = &src};
    char base[EB_LADDER_NAME_MAX], d[300];
    const char *slash = strrchr(name, '/'), *dot;
    yaml_node_t *root;
    size_t n;

    /* Default name: the file's base name without its extension. */
    slash = slash ? slash + 1 : name;
    dot = strrchr(slash, '.');
    n = dot && dot != slash ? (size_t)(dot - slash) : strlen(slash);
    snprintf(base, sizeof(base), "%.*s", (int)(n < sizeof(base) ? n : sizeof(base) - 1), slash);
    eb_ladder_init(out, eb_cfg_valid_name(base, sizeof(base)) ? base : "custom");

    if (len > EB_CONFIG_MAX_FILE_SIZE) {
        eb_load_error(&L, 0, "file is larger than %d bytes; is it the right file?",
                      EB_CONFIG_MAX_FILE_SIZE);
        goto fail;
    }
    if (eb_yaml_load(&L, buf, len) < 0)
        goto fail;
    root = yaml_document_get_root_node(&L.doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        eb_load_error(&L, root ? eb_line(root) : 1,
                      "a ladder file must be a mapping with rungs: and audio: (got %s)",
                      root ? eb_node_desc(root, d, sizeof(d)) : "an empty file");
        yaml_document_delete(&L.doc);
        goto fail;
    }
    eb_walk_mapping(&L, &W, root, "");
    eb_ladder_finish(&L, &W, eb_line(root));
    yaml_document_delete(&L.doc);
    if (L.oom)
        return EB_ERR(ENOMEM);
    if (!L.nb_errors)
        return 0;
fail:
    memset(out, 0, sizeof(*out));
    return L.oom ? EB_ERR(ENOMEM) : EB_ERR(EINVAL);
}

int eb_ladder_load_file(const char *path, EbLadder *out, EbConfigErrors *errs)
{
    char *buf;
    size_t len;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = eb_read_file(path, &buf, &len, errs, 0);
    if (ret < 0)
        return ret == EB_ERR(ENOMEM) ? ret : EB_ERR(EINVAL);
    ret = eb_ladder_load_buffer(buf, len, path, out, errs);
    free(buf);
    return ret;
}
