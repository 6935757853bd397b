/*
 * Small jansson helpers for the JSON files encbox writes and reads back
 * (a job's figures, the benchmark report): a missing or mistyped field
 * reads as 0 or "", and a document is written indented and taken over.
 */
#ifndef EB_JSON_FILE_H
#define EB_JSON_FILE_H

#include <jansson.h>
#include <stddef.h>

/* o[key] as a number; 0 when absent or not a number. */
double eb_json_num(const json_t *o, const char *key);

/* o[key] as a string into dst (size bytes, always terminated); "" when
 * absent or not a string. */
void eb_json_str(const json_t *o, const char *key, char *dst, size_t size);

/* Writes o (a new reference, taken over and released; NULL: -ENOMEM) to
 * path, indented, reals with 6 significant digits. 0, -ENOMEM or -EIO. */
int eb_json_dump(json_t *o, const char *path);

#endif
