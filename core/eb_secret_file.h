/*
 * Files that hold a secret the daemon or a worker reads (webhook secrets,
 * S3 credentials): they must be the owner's only, or they are refused with
 * a message that says how to fix them. The message names the setting and
 * the path, never the content.
 */
#ifndef EB_SECRET_FILE_H
#define EB_SECRET_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Opens path for reading when it exists and has no group or other
 * permission bits. NULL otherwise, with *ret a negative errno (-EPERM for
 * a file others may read) and err "SETTING PATH: why". */
FILE *eb_secret_fopen(const char *path, const char *setting, int *ret, char *err, size_t size);

#endif
