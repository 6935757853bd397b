/*
 * ISO 639-2 -> BCP 47 for audio renditions (see eb_language.h). The
 * iso-codes table is loaded once into a sorted array; lookups are a
 * linear scan of ~500 entries, done a few times per job.
 */
#include "eb_language.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eb_log.h"

typedef struct EbLanguageEntry {
    char alpha2[3], alpha3[4], biblio[4];
    char name[64];
} EbLanguageEntry;

static pthread_once_t eb_language_once = PTHREAD_ONCE_INIT;
static EbLanguageEntry *eb_languages;
static size_t eb_nb_languages;

static void eb_copy_code(char *dst, size_t size, json_t *v)
{
    const char *s = json_string_value(v);
    dst[0] = 0;
    if (s && strlen(s) < size)
        snprintf(dst, size, "%s", s);
}

static void eb_language_load(void)
{
    json_error_t err;
    json_t *root = json_load_file(EB_LANGUAGE_ISO_639_2, 0, &err);
    json_t *list = root ? json_object_get(root, "639-2") : NULL;
    size_t i;
    json_t *e;

    if (!json_is_array(list)) {
        EB_LOGW("language", "no ISO 639 table (%s: %s): languages are given by their codes",
                EB_LANGUAGE_ISO_639_2, root ? "no \"639-2\" list" : err.text);
        json_decref(root);
        return;
    }
    eb_languages = calloc(json_array_size(list), sizeof(*eb_languages));
    if (!eb_languages) {
        json_decref(root);
        return;
    }
    json_array_foreach(list, i, e)
    {
        EbLanguageEntry *l = &eb_languages[eb_nb_languages];
        eb_copy_code(l->alpha3, sizeof(l->alpha3), json_object_get(e, "alpha_3"));
        eb_copy_code(l->alpha2, sizeof(l->alpha2), json_object_get(e, "alpha_2"));
        eb_copy_code(l->biblio, sizeof(l->biblio), json_object_get(e, "bibliographic"));
        eb_copy_code(l->name, sizeof(l->name), json_object_get(e, "name"));
        if (l->alpha3[0])
            eb_nb_languages++;
    }
    json_decref(root);
}

static const EbLanguageEntry *eb_language_find(const char *code)
{
    size_t len = strlen(code);
    for (size_t i = 0; i < eb_nb_languages; i++) {
        const EbLanguageEntry *l = &eb_languages[i];
        if ((len == 2 && !strcmp(l->alpha2, code)) ||
            (len == 3 && (!strcmp(l->alpha3, code) || !strcmp(l->biblio, code))))
            return l;
    }
    return NULL;
}

/* RFC 5646's shape, loosely: 2-8 letter primary subtag, then subtags of
 * 1-8 letters or digits, separated by '-' (an '_' as some tools write it
 * is taken as '-'). Lowercase primary subtag in out. */
static int eb_language_wellformed(const char *tag, char *out, size_t size, size_t *primary)
{
    size_t n = strlen(tag), run = 0;

    if (n < 2 || n >= size)
        return 0;
    *primary = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = tag[i];
        if (c == 0 || c == '-' || c == '_') {
            if (run < 1 || run > 8 || (!*primary && run < 2))
                return 0;
            if (!*primary)
                *primary = i;
            out[i] = c ? '-' : 0;
            run = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) || (!*primary && !isalpha((unsigned char)c)))
            return 0;
        out[i] = *primary ? c : (char)tolower((unsigned char)c);
        run++;
    }
    return 1;
}

int eb_language_from_tag(const char *tag, EbLanguage *out)
{
    char clean[sizeof(out->tag)], primary_code[9];
    const EbLanguageEntry *l;
    size_t primary;

    memset(out, 0, sizeof(*out));
    if (!tag || !eb_language_wellformed(tag, clean, sizeof(clean), &primary) || primary > 8)
        return 0;
    memcpy(primary_code, clean, primary);
    primary_code[primary] = 0;
    /* ISO 639-2's codes for "no language": undetermined, uncoded,
     * multiple, no linguistic content. */
    if (!strcmp(primary_code, "und") || !strcmp(primary_code, "mis") ||
        !strcmp(primary_code, "mul") || !strcmp(primary_code, "zxx"))
        return 0;
    pthread_once(&eb_language_once, eb_language_load);
    l = eb_language_find(primary_code);
    if (!l) {
        if (eb_nb_languages > 0 && primary <= 3)
            return 0; /* a code the standard does not know */
        snprintf(out->tag, sizeof(out->tag), "%s", clean);
        snprintf(out->name, sizeof(out->name), "%s", primary_code);
        return 1;
    }
    /* The shortest code for the primary subtag, then the rest as given. */
    snprintf(out->tag, sizeof(out->tag), "%s%s", l->alpha2[0] ? l->alpha2 : l->alpha3,
             clean + primary);
    snprintf(out->name, sizeof(out->name), "%s", l->name);
    /* "Spanish; Castilian": the first name is the one people use. */
    out->name[strcspn(out->name, ";,(")] = 0;
    while (strlen(out->name) > 0 && out->name[strlen(out->name) - 1] == ' ')
        out->name[strlen(out->name) - 1] = 0;
    return 1;
}
