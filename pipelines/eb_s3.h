/*
 * Object-storage output (storage.s3): a finished video's tree goes to an
 * S3-compatible bucket under <prefix>videos/<id>/..., the storage layout's
 * paths, so a CDN in front of the bucket serves what the box's origin
 * serves.
 *
 * - Requests are signed by libcurl (CURLOPT_AWS_SIGV4, "aws:amz:<region>:s3");
 *   the payload's SHA-256 goes in x-amz-content-sha256, so the body is
 *   signed too. Path-style URLs (<endpoint>/<bucket>/<key>) by default,
 *   virtual-hosted (<bucket>.<host>) with path_style off.
 * - Objects larger than part_size go up as a multipart upload (parts of
 *   part_size; the upload is aborted when a part fails for good).
 * - Each request is retried with back-off (EB_S3_ATTEMPTS, 0.5 s doubling)
 *   on a network error, 5xx, 408 or 429; a 4xx other than those (a bad
 *   signature, a missing bucket) fails at once with the service's error
 *   code and message.
 * - eb_s3_put_tree sends every file of a folder, media first and the
 *   manifests (.m3u8, .mpd) last, so a reader of the bucket never finds a
 *   manifest whose segments are missing; when anything fails, the objects
 *   it put are deleted again and no manifest is left behind.
 * - Content types from the extension; Cache-Control: segments and other
 *   media immutable for a year, manifests 60 s (a re-published video).
 *
 * Credentials: storage.s3.credentials_file, in the AWS shared-credentials
 * format ([default] aws_access_key_id / aws_secret_access_key /
 * aws_session_token), owner-only (0600), or else the environment's
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Never
 * logged.
 *
 * Thread-safe: no state beyond the EbS3 the caller keeps.
 */
#ifndef EB_S3_H
#define EB_S3_H

#include <stddef.h>
#include <stdint.h>

#define EB_S3_ATTEMPTS 5
#define EB_S3_MIN_PART (5 * 1024 * 1024) /* S3's smallest part but the last */

typedef struct EbS3 {
    char endpoint[512]; /* http(s)://host[:port], no trailing slash */
    char bucket[256];
    char region[64];
    char prefix[512]; /* "" or ending in '/' */
    int path_style;
    int64_t part_size;
    char access_key[256];
    char secret_key[256];
    char session_token[2048];
} EbS3;

typedef struct EbS3Stats {
    int objects;
    int64_t bytes;
    int multipart_objects;
    int retries;
    double seconds;
} EbS3Stats;

/* Fills s3 from the settings and the credentials (see above). 0, or a
 * negative errno with err filled (a missing or unreadable file, one others
 * may read, no key). */
int eb_s3_init(EbS3 *s3, const char *endpoint, const char *bucket, const char *region,
               const char *prefix, int path_style, int64_t part_size, const char *credentials_file,
               char *err, size_t size);

/* The object's URL (key under the prefix). */
int eb_s3_url(const EbS3 *s3, const char *key, char *out, size_t size);

/* Puts the file at path as key (multipart above part_size). stats may be
 * NULL. 0, or a negative errno with err filled. */
int eb_s3_put_file(const EbS3 *s3, const char *key, const char *path, EbS3Stats *stats, char *err,
                   size_t size);

/* Puts len bytes of memory as key (one request: meant for manifests),
 * with cache_control instead of the extension's when not NULL. 0, or a
 * negative errno with err filled. */
int eb_s3_put_data(const EbS3 *s3, const char *key, const void *data, size_t len,
                   const char *cache_control, EbS3Stats *stats, char *err, size_t size);

/* Makes the bucket (one that is already the caller's is fine). */
int eb_s3_create_bucket(const EbS3 *s3, char *err, size_t size);

/* Deletes key (a missing one is not an error). */
int eb_s3_delete(const EbS3 *s3, const char *key, char *err, size_t size);

/* GETs key into a malloc'd buffer (*out, *len), for checks and tests;
 * content_type (may be NULL) receives the object's Content-Type and
 * cache_control (may be NULL) its Cache-Control. 0, -ENOENT, or a
 * negative errno with err filled. */
int eb_s3_get(const EbS3 *s3, const char *key, char **out, size_t *len, char *content_type,
              char *cache_control, size_t hsize, char *err, size_t size);

/* Calls each with every key under key_prefix (below the configured
 * prefix; keys come back whole, the configured prefix included), in pages
 * of the service's size; stops at the first non-zero return, which it
 * returns. 0, or a negative errno with err filled. */
int eb_s3_list(const EbS3 *s3, const char *key_prefix, int (*each)(void *opaque, const char *key),
               void *opaque, char *err, size_t size);

/* Puts every regular file under dir as key_prefix/<relative path>: media
 * first, manifests last (see above); on failure deletes what it put. 0, or
 * a negative errno with err filled. */
int eb_s3_put_tree(const EbS3 *s3, const char *dir, const char *key_prefix, EbS3Stats *stats,
                   char *err, size_t size);

/* Deletes every object under key_prefix/ that has no file under dir: what
 * an earlier version of a re-published video left (its tree is put first,
 * so nothing the new manifests name is ever missing). *removed (may be
 * NULL) counts them. 0, or a negative errno with err filled. */
int eb_s3_prune_tree(const EbS3 *s3, const char *dir, const char *key_prefix, int *removed,
                     char *err, size_t size);

/* Content-Type and Cache-Control of a file name (by its extension). */
const char *eb_s3_content_type(const char *name);
const char *eb_s3_cache_control(const char *name);
/* 1 for a manifest (.m3u8, .mpd): sent last. */
int eb_s3_is_manifest(const char *name);

#endif
