/*
 * The one JSON string writer for code that prints JSON by hand (the
 * logger's JSON lines, `encbox devices --json`), below the layers that use
 * jansson: quotes, backslashes and every control character are escaped,
 * so any byte string gives valid JSON text.
 */
#ifndef EB_JSON_H
#define EB_JSON_H

#include <stdio.h>

/* Writes s as a quoted JSON string to f. */
void eb_json_write_string(FILE *f, const char *s);

#endif
