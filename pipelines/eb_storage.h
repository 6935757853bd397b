/*
 * The storage tree a job publishes into:
 *   <root>/videos/<id>/...      served
 *   <root>/.staging/<id>.XXXXXX  a job in progress; never served
 * A job builds everything in its staging folder (same filesystem) and
 * eb_storage_publish() moves it into place with one rename, so readers see
 * the old tree or the new one, never a mix. A failed job removes its
 * staging folder; one that is left behind (the process was killed) is
 * found by eb_storage_sweep_staging, because a live job holds a lock on
 * its folder.
 */
#ifndef EB_STORAGE_H
#define EB_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "eb_layout.h"

#define EB_VIDEO_ID_MAX 64

/* 1 if id matches [A-Za-z0-9_-]{1,64}. */
int eb_storage_id_valid(const char *id);

/* Derives a valid id from an input path's file name ("My clip.mp4" ->
 * "My_clip"); never fails, falls back to "video". */
void eb_storage_id_from_path(const char *path, char *id, size_t size);

/* Creates <root>/videos and <root>/.staging when missing. */
int eb_storage_prepare(const char *root);

/* 1 if <root>/videos/<id> exists. */
int eb_storage_exists(const char *root, const char *id);

/* Creates a fresh staging folder for id; path receives its location and
 * *lock a descriptor of the folder holding an exclusive flock: the folder
 * is live while the caller keeps it open (the kernel drops the lock when
 * the process dies, however it dies). The caller closes *lock once the
 * folder is published or removed. */
int eb_storage_stage(const char *root, const char *id, char *path, size_t size, int *lock);

/* Removes every staging folder under <root>/.staging that no live job
 * holds (its flock can be taken): what a killed worker, a crashed daemon
 * or a power cut left behind. *removed (may be NULL) counts them. Safe
 * while jobs run: a live job's folder is locked. */
int eb_storage_sweep_staging(const char *root, int *removed);

/* Publishes a staging folder as <root>/videos/<id>. Without overwrite an
 * existing id fails with EB_ERR_EXISTS; with it the two folders are swapped
 * atomically (renameat2 RENAME_EXCHANGE) and the old tree removed. */
int eb_storage_publish(const char *root, const char *id, const char *staging, int overwrite);

/* Recursively removes a folder (staging cleanup); missing is not an error. */
int eb_storage_remove_tree(const char *path);

/* 1 if path, with every symlink resolved, lies inside one of roots (a
 * NULL-terminated list of folders, also resolved); 0 otherwise, including
 * when path does not exist. */
int eb_storage_path_confined(const char *path, const char *const *roots);

/* Free bytes available to an unprivileged writer under root. */
int eb_storage_free_bytes(const char *root, uint64_t *out);

/* Writes a whole file and checks every step (a full disk is an error, and
 * a failed write removes the partial file). */
int eb_storage_write_file(const char *path, const void *data, size_t size);

/* Reads a whole regular file of at most max bytes into *data (malloc'd,
 * NUL-terminated after *size bytes). 0, or a negative errno: EFBIG above
 * max, EISDIR for what is not a regular file. */
int eb_storage_read_file(const char *path, size_t max, uint8_t **data, size_t *size);

/* Creates dir and missing parents (mkdir -p). */
int eb_storage_mkdirs(const char *dir);

/* Writes item (of rendition r, number 1) of the layout under dir with
 * eb_storage_write_file, creating its folder first. */
int eb_storage_write_item(const char *dir, EbLayoutItem item, const char *r, const void *data,
                          size_t size);

#endif
