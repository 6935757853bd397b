/*
 * Writers driven by the settings tables: `encbox config show` (the
 * effective values as loadable YAML, each marked with its origin), the
 * example file (every setting at its default, documented) and the Markdown
 * settings reference. All three walk the same rows, so the docs cannot
 * describe a setting the parser does not have.
 */
#include <stdlib.h>
#include <string.h>

#include "eb_config_internal.h"
#include "eb_error.h"

#define EB_COMMENT_COLUMN 44
#define EB_WRAP 78

typedef enum EbWriteMode {
    EB_WRITE_SHOW,
    EB_WRITE_EXAMPLE,
} EbWriteMode;

/* Text as comment lines wrapped at EB_WRAP: the first line starts with
 * first, the others with next. */
static void eb_write_comment_hanging(FILE *f, const char *first, const char *next, const char *text)
{
    const char *p = text, *lead = first;

    while (*p) {
        int width = EB_WRAP - (int)strlen(lead), n = (int)strlen(p), cut = n;
        if (n > width) {
            cut = width;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = width;
        }
        fprintf(f, "%s%.*s\n", lead, cut, p);
        p += cut;
        while (*p == ' ')
            p++;
        lead = next;
    }
}

/* Help text as "# " lines, indented. */
static void eb_write_comment(FILE *f, int indent, const char *text)
{
    char lead[16];
    snprintf(lead, sizeof(lead), "%*s# ", indent > 12 ? 12 : indent, "");
    eb_write_comment_hanging(f, lead, lead, text);
}

/* "bitrate, 16k to 500M, or 0" — the type line of the docs. */
static void eb_describe_type(const EbSetting *s, EbSettingType type, char *buf, size_t size)
{
    char lo[32], hi[32], extra[128] = "";
    const char *noun = "";

    switch (type) {
    case EB_SETTING_STRING:
        noun = "string";
        break;
    case EB_SETTING_PATH:
        noun = s->flags & EB_SETTING_RELATIVE ? "path (relative: under storage.root)"
                                              : "absolute path";
        break;
    case EB_SETTING_ENUM:
        snprintf(buf, size, "%s", eb_cfg_type_noun(s, type));
        return;
    case EB_SETTING_BOOL:
        noun = "true or false";
        break;
    case EB_SETTING_INT:
        noun = "integer";
        break;
    case EB_SETTING_DOUBLE:
        noun = "number";
        break;
    case EB_SETTING_BITRATE:
        noun = "bitrate";
        break;
    case EB_SETTING_SIZE:
        noun = "size";
        break;
    case EB_SETTING_DURATION:
        noun = "duration";
        break;
    case EB_SETTING_DIM:
        noun = "NxM";
        break;
    case EB_SETTING_LIST: {
        char elem[200];
        eb_describe_type(s, s->elem_type, elem, sizeof(elem));
        snprintf(buf, size, "list%s, each item: %s",
                 s->flags & EB_SETTING_NONEMPTY ? " of at least one" : "", elem);
        return;
    }
    case EB_SETTING_DEVICES:
        noun = "list of device entries";
        break;
    case EB_SETTING_LADDERS:
        noun = "mapping of preset names to ladders";
        break;
    case EB_SETTING_RUNGS:
        noun = "list of 1 to 8 rungs";
        break;
    }
    if (s->min || s->max) {
        EbSettingType num = type == EB_SETTING_DIM ? EB_SETTING_INT : type;
        eb_cfg_format_number(num, s->min, lo, sizeof(lo));
        eb_cfg_format_number(num, s->max, hi, sizeof(hi));
        snprintf(extra, sizeof(extra), ", %s%s to %s%s", type == EB_SETTING_DIM ? "each " : "", lo,
                 hi, s->flags & EB_SETTING_ZERO_OK ? ", or 0" : "");
    }
    snprintf(buf, size, "%s%s%s%s", noun, extra, s->flags & EB_SETTING_EVEN ? ", even" : "",
             s->flags & EB_SETTING_NONEMPTY && type == s->type ? ", not empty" : "");
}

/* A line whose end gets an origin comment is first written to memory, so
 * the comment can be aligned whatever f is (stdout may be a pipe). */
typedef struct EbLine {
    FILE *out; /* where to write the line's text */
    FILE *mem;
    char *buf;
    size_t len;
} EbLine;

static void eb_line_begin(EbLine *l, FILE *f, int with_origin)
{
    memset(l, 0, sizeof(*l));
    l->mem = with_origin ? open_memstream(&l->buf, &l->len) : NULL;
    l->out = l->mem ? l->mem : f;
}

/* Pads to the comment column and writes the origin of a value. */
static void eb_line_end(EbLine *l, FILE *f, const EbConfig *cfg, const EbConfigOrigin *o)
{
    int col;
    if (!l->mem) {
        fputc('\n', f);
        return;
    }
    fclose(l->mem);
    fputs(l->buf, f);
    col = (int)l->len;
    free(l->buf);
    fprintf(f, "%*s# ", col < EB_COMMENT_COLUMN ? EB_COMMENT_COLUMN - col : 1, "");
    if (o->source == EB_CONFIG_FROM_FILE)
        fprintf(f, "%s:%d\n", cfg->path ? cfg->path : "file", o->line);
    else if (o->source == EB_CONFIG_FROM_COMMAND_LINE)
        fputs("command line\n", f);
    else
        fputs("default\n", f);
}

static void eb_write_scalar(FILE *f, const EbSetting *s, const void *base)
{
    char buf[4200];
    eb_cfg_format_scalar(s, base, buf, sizeof(buf));
    if (s->type == EB_SETTING_STRING || s->type == EB_SETTING_PATH || s->type == EB_SETTING_ENUM)
        eb_cfg_write_yaml_string(f, buf);
    else
        fputs(buf, f);
}

/* A record (rung, device, ladder body) in block style. first: what goes
 * before the first key ("- " for list items). */
static void eb_write_record(FILE *f, const EbSetting *t, int nb, const void *base, int indent,
                            const char *first, int skip_file_only)
{
    const char *section = NULL;
    int lead = 1;

    for (int i = 0; i < nb; i++) {
        const char *name = t[i].name, *dot = strchr(name, '.');
        int ind = indent;
        if (t[i].type == EB_SETTING_RUNGS ||
            (skip_file_only && (t[i].flags & EB_SETTING_FILE_ONLY)))
            continue;
        if (dot) {
            if (!section || strncmp(section, name, (size_t)(dot - name + 1)) != 0) {
                fprintf(f, "%*s%s%.*s:\n", lead ? 0 : indent, "", lead ? first : "",
                        (int)(dot - name), name);
                lead = 0;
                section = name;
            }
            name = dot + 1;
            ind += 2;
        }
        fprintf(f, "%*s%s%s: ", lead ? 0 : ind, "", lead ? first : "", name);
        lead = 0;
        eb_write_scalar(f, &t[i], base);
        fputc('\n', f);
    }
}

static void eb_write_ladder_body(FILE *f, const EbLadder *lad, int indent, int file_only)
{
    int nb_l, nb_r;
    const EbSetting *lt = eb_config_ladder_settings(&nb_l);
    const EbSetting *rt = eb_config_rung_settings(&nb_r);

    if (file_only) {
        fprintf(f, "%*sname: ", indent, "");
        eb_cfg_write_yaml_string(f, lad->name);
        fputc('\n', f);
    }
    fprintf(f, "%*srungs:\n", indent, "");
    for (int r = 0; r < lad->nb_rungs; r++) {
        fprintf(f, "%*s", indent + 2, "");
        eb_write_record(f, rt, nb_r, &lad->rungs[r], indent + 4, "- ", 0);
    }
    fprintf(f, "%*s", indent, "");
    eb_write_record(f, lt, nb_l, lad, indent, "", 1);
}

static void eb_write_devices(FILE *f, const EbConfig *cfg)
{
    int nb;
    const EbSetting *t = eb_config_device_settings(&nb);
    for (int i = 0; i < cfg->nb_devices; i++) {
        fputs("  ", f);
        eb_write_record(f, t, nb, &cfg->devices[i], 4, "- ", 0);
    }
}

/* Documents the rows of a record table as an indented comment block. */
static void eb_write_record_docs(FILE *f, const char *title, const EbSetting *t, int nb)
{
    fprintf(f, "# %s\n", title);
    for (int i = 0; i < nb; i++) {
        char type[256], line[600], def[64];
        if (t[i].flags & EB_SETTING_FILE_ONLY)
            continue;
        eb_describe_type(&t[i], t[i].type, type, sizeof(type));
        if (t[i].def)
            snprintf(def, sizeof(def), "default %s", *t[i].def ? t[i].def : "\"\"");
        else
            snprintf(def, sizeof(def), "%s",
                     t[i].flags & EB_SETTING_REQUIRED ? "required" : "no default");
        snprintf(line, sizeof(line), "%s: %s (%s; %s)", t[i].name, t[i].help, type, def);
        eb_write_comment_hanging(f, "#   ", "#       ", line);
    }
}

static void eb_write_list(FILE *f, const EbStrList *l)
{
    fputc('[', f);
    for (int i = 0; i < l->nb; i++) {
        if (i)
            fputs(", ", f);
        eb_cfg_write_yaml_string(f, l->items[i]);
    }
    fputc(']', f);
}

static void eb_write_config(FILE *f, const EbConfig *cfg, EbWriteMode mode)
{
    int nb;
    const EbSetting *t = eb_config_settings(&nb);
    const char *section = NULL;

    for (int i = 0; i < nb; i++) {
        const EbSetting *s = &t[i];
        const char *dot = strchr(s->name, '.'), *key = dot ? dot + 1 : s->name;
        int indent = dot ? 2 : 0;
        EbLine line;

        /* section header */
        if (dot && (!section || strncmp(section, s->name, (size_t)(dot - s->name + 1)) != 0)) {
            char title[32];
            const EbCfgSection *sec;
            snprintf(title, sizeof(title), "%.*s", (int)(dot - s->name), s->name);
            sec = eb_cfg_section(title);
            fputc('\n', f);
            if (mode == EB_WRITE_EXAMPLE) {
                fprintf(f, "# ---- %s %.*s\n", title, (int)(70 - strlen(title)),
                        "----------------------------------------------------------------------"
                        "----");
                if (sec)
                    eb_write_comment(f, 0, sec->help);
            }
            fprintf(f, "%s:\n", title);
            section = s->name;
        } else if (!dot) {
            section = NULL;
            fputc('\n', f);
            if (mode == EB_WRITE_EXAMPLE &&
                (s->type == EB_SETTING_DEVICES || s->type == EB_SETTING_LADDERS))
                fprintf(f, "# ---- %s %.*s\n", s->name, (int)(70 - strlen(s->name)),
                        "----------------------------------------------------------------------"
                        "----");
        }

        if (mode == EB_WRITE_EXAMPLE) {
            char type[300], line[400];
            eb_write_comment(f, indent, s->help);
            eb_describe_type(s, s->type, type, sizeof(type));
            snprintf(line, sizeof(line), "[%s; %s]", type,
                     s->flags & EB_SETTING_RUNTIME ? "applied on reload" : "needs a restart");
            eb_write_comment(f, indent, line);
        }
        if (s->type == EB_SETTING_LADDERS && mode == EB_WRITE_EXAMPLE) {
            int nb_r, nb_l;
            const EbSetting *rt = eb_config_rung_settings(&nb_r);
            const EbSetting *lt = eb_config_ladder_settings(&nb_l);
            eb_write_record_docs(f, "A ladder has:", lt, nb_l);
            eb_write_record_docs(f, "A rung has:", rt, nb_r);
        }
        if (s->type == EB_SETTING_DEVICES && mode == EB_WRITE_EXAMPLE) {
            int nb_d;
            const EbSetting *dt = eb_config_device_settings(&nb_d);
            eb_write_record_docs(f, "An entry has:", dt, nb_d);
            fputs("# For example:\n#   devices:\n#     - backend: nvidia\n#       device: \"*\"\n"
                  "#       max_sessions: 3\n#       memory_budget: 6G\n",
                  f);
        }

        eb_line_begin(&line, f, mode == EB_WRITE_SHOW);
        fprintf(line.out, "%*s%s:", indent, "", key);
        switch (s->type) {
        case EB_SETTING_LIST:
            fputc(' ', line.out);
            eb_write_list(line.out, eb_cfg_cfield(cfg, s));
            break;
        case EB_SETTING_DEVICES:
            if (!cfg->nb_devices)
                fputs(" []", line.out);
            break;
        case EB_SETTING_LADDERS:
            break;
        default:
            fputc(' ', line.out);
            eb_write_scalar(line.out, s, cfg);
            break;
        }
        eb_line_end(&line, f, cfg, &cfg->origin[i]);

        if (s->type == EB_SETTING_DEVICES)
            eb_write_devices(f, cfg);
        if (s->type == EB_SETTING_LADDERS)
            for (int l = 0; l < cfg->nb_ladders; l++) {
                eb_line_begin(&line, f, mode == EB_WRITE_SHOW);
                fprintf(line.out, "  ");
                eb_cfg_write_yaml_string(line.out, cfg->ladders[l].name);
                fputc(':', line.out);
                eb_line_end(&line, f, cfg, &cfg->ladder_sources[l].origin);
                eb_write_ladder_body(f, &cfg->ladders[l], 4, 0);
            }
    }
}

int eb_config_write_show(const EbConfig *cfg, FILE *f)
{
    fputs("# encbox effective configuration. Each value is marked with where it came\n"
          "# from: default (built in), FILE:LINE (the config file) or command line.\n",
          f);
    if (cfg->path)
        fprintf(f, "# Config file: %s\n", cfg->path);
    else
        fputs("# No config file: built-in defaults.\n", f);
    eb_write_config(f, cfg, EB_WRITE_SHOW);
    return ferror(f) ? EB_ERR(EIO) : 0;
}

int eb_config_write_example(FILE *f)
{
    EbConfig cfg;
    int ret = eb_config_defaults(&cfg);

    if (ret < 0)
        return ret;
    fputs("# encbox configuration: every setting, at its default.\n"
          "#\n"
          "# GENERATED from the settings table (firmware-config/eb_config_table.c) by\n"
          "# `encbox config example`; do not edit by hand. After changing the table,\n"
          "# regenerate with `cmake --build BUILD --target config-example`; test_config\n"
          "# fails while this file and the table disagree.\n"
          "#\n"
          "# The box reads /etc/encbox/encbox.yaml (or --config FILE); with no file it\n"
          "# runs on these defaults. Keep only the settings you change. Check a file\n"
          "# with `encbox config check FILE`; `encbox config show` prints the\n"
          "# effective values and where each came from.\n"
          "#\n"
          "# Units: bitrates 5M, 2500k or 600000 (bits/s); sizes 512M, 50G (K, M, G, T\n"
          "# are powers of 1024); durations 45s, 90m, 12h, 30d (a bare number is\n"
          "# seconds). \"applied on reload\" settings can change while the daemon runs;\n"
          "# the others need a restart.\n",
          f);
    eb_write_config(f, &cfg, EB_WRITE_EXAMPLE);
    eb_config_free(&cfg);
    return ferror(f) ? EB_ERR(EIO) : 0;
}

/* Markdown table cell: '|' would end the cell. */
static void eb_md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

static void eb_write_docs_table(FILE *f, const EbSetting *t, int nb, int top)
{
    fprintf(f, "| %s | Type | Default | %sDescription |\n|---|---|---|%s---|\n",
            top ? "Setting" : "Field", top ? "Run time | " : "", top ? "---|" : "");
    for (int i = 0; i < nb; i++) {
        char type[300];
        const char *def = t[i].def;
        eb_describe_type(&t[i], t[i].type, type, sizeof(type));
        fprintf(f, "| `%s` | ", t[i].name);
        eb_md_cell(f, type);
        fputs(" | ", f);
        if (t[i].type == EB_SETTING_LADDERS)
            fputs("`default`: 1080p 5M, 720p 2.5M, 480p 1M, 360p 600k; AAC 128k", f);
        else if (t[i].type == EB_SETTING_DEVICES)
            fputs("none", f);
        else if (t[i].type == EB_SETTING_LIST)
            fprintf(f, "`[%s]`", def);
        else if (def)
            fprintf(f, "`%s`", *def ? def : "\"\"");
        else
            fputs(t[i].flags & EB_SETTING_REQUIRED ? "required" : "-", f);
        fputs(" | ", f);
        if (top)
            fputs(t[i].flags & EB_SETTING_RUNTIME ? "reload | " : "restart | ", f);
        eb_md_cell(f, t[i].help);
        fputs(" |\n", f);
    }
}

int eb_config_write_docs(FILE *f)
{
    int nb;
    const EbSetting *t;

    fputs("# encbox settings reference\n\n"
          "<!-- GENERATED by `encbox config docs` from firmware-config/eb_config_table.c;\n"
          "     regenerate with `cmake --build BUILD --target config-example`. -->\n\n"
          "Every setting of `/etc/encbox/encbox.yaml`. A setting `api.listen` is written\n"
          "as `listen:` inside the `api:` section. \"reload\": a running daemon applies a\n"
          "change on SIGHUP; \"restart\": it needs a restart. See `encbox.example.yaml`\n"
          "for the same settings as a commented file.\n\n",
          f);
    t = eb_config_settings(&nb);
    eb_write_docs_table(f, t, nb, 1);
    fputs("\n## Ladder presets (`ladders.NAME`, and `--ladder FILE`)\n\n"
          "A ladder file holds one ladder in the same syntax, plus an optional `name:`\n"
          "(default: the file's base name).\n\n",
          f);
    t = eb_config_ladder_settings(&nb);
    eb_write_docs_table(f, t, nb, 0);
    fputs("\n## Rungs (`ladders.NAME.rungs[]`)\n\n", f);
    t = eb_config_rung_settings(&nb);
    eb_write_docs_table(f, t, nb, 0);
    fputs("\n## Device entries (`devices[]`)\n\n", f);
    t = eb_config_device_settings(&nb);
    eb_write_docs_table(f, t, nb, 0);
    return ferror(f) ? EB_ERR(EIO) : 0;
}
