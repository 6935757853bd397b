/*
 * Audio track languages as manifests state them. Containers tag a track
 * with an ISO 639-2 code (three letters, bibliographic "fre" or
 * terminological "fra"); HLS LANGUAGE and DASH @lang want an RFC 5646
 * (BCP 47) tag, which uses the two-letter ISO 639-1 code where the
 * language has one ("fr") and the three-letter code otherwise. The table
 * is Debian's iso-codes (iso_639-2.json), read once, on first use, with
 * jansson; without it a valid three-letter code is kept as it is (also a
 * valid BCP 47 tag) and named by its code.
 */
#ifndef EB_LANGUAGE_H
#define EB_LANGUAGE_H

#define EB_LANGUAGE_ISO_639_2 "/usr/share/iso-codes/json/iso_639-2.json"

typedef struct EbLanguage {
    char tag[16];  /* BCP 47, e.g. "en", "fr", "gsw", "en-US"; "" undetermined */
    char name[64]; /* English name from the table ("French"); "" when undetermined */
} EbLanguage;

/* The language of a container's tag (NULL, "", "und", an ISO 639-1 or
 * 639-2 code, or a BCP 47 tag). Returns 1 when a language was found, 0
 * when the track's language is undetermined (out is then empty). Anything
 * that is not a well-formed tag (other characters, too long) counts as
 * undetermined: the text ends up in manifests. Thread-safe. */
int eb_language_from_tag(const char *tag, EbLanguage *out);

#endif
