/*
 * A live window's copy in the bucket (storage.s3): what the live sink
 * writes under live/<name>/ goes to <prefix>live/<name>/ as it is written,
 * by a thread of its own, so that the encoders never wait on the network.
 *
 * - Media (init segments, segments, parts) are queued by name and read
 *   from their file when sent: they never change once written. A file gone
 *   by then (pruned from a window meanwhile) is skipped.
 * - Manifests (playlists, the MPD) are queued with their content as it is
 *   now (a snapshot), because the file is rewritten at every segment. A
 *   newer snapshot replaces a queued older one of the same name, so a slow
 *   bucket gets the newest manifest, not every one.
 * - The queue is sent in order: a segment is queued when its file is
 *   written, before the manifests that list it are, so a reader of the
 *   bucket never finds a playlist whose segments are missing. Deletes (the
 *   window's pruning) are queued the same way, after the manifests that no
 *   longer list the object.
 * - Each request is eb_s3's (retries with back-off). One that fails for
 *   good is counted and logged, and the queue goes on: a live window does
 *   not stop for its copy. The queue holds EB_S3_MIRROR_QUEUE entries;
 *   beyond that, media and deletes are dropped (counted) and the copy is
 *   behind until the next manifests.
 * - Manifests get Cache-Control: max-age of half a segment (a CDN may not
 *   keep a live playlist longer); media the bucket's usual year.
 *
 * Threads: the eb-s3-mirror thread sends; every other function may be
 * called from any thread (one mutex guards the queue).
 */
#ifndef EB_S3_MIRROR_H
#define EB_S3_MIRROR_H

#include <stdint.h>

#include "eb_s3.h"

#define EB_S3_MIRROR_QUEUE 4096

typedef struct EbS3Mirror EbS3Mirror;

typedef struct EbS3MirrorStats {
    int64_t objects; /* put */
    int64_t bytes;
    int64_t deleted;
    int64_t failed;  /* requests that failed for good */
    int64_t dropped; /* not queued: the queue was full */
    int queued;      /* waiting now */
} EbS3MirrorStats;

/* Starts a copy of the folder dir (the live window's tree) as key_prefix
 * (e.g. "live/news": objects "<prefix>live/news/<relative path>").
 * manifest_max_age: seconds of Cache-Control for manifests (>= 1). s3 must
 * outlive the mirror. 0, or a negative errno (no thread, no memory). */
int eb_s3_mirror_open(const EbS3 *s3, const char *dir, const char *key_prefix, int manifest_max_age,
                      EbS3Mirror **out);

/* Queues the media file dir/rel. 0, or EB_ERR(ENOSPC) (dropped: the queue
 * is full) or EB_ERR(ENOMEM). */
int eb_s3_mirror_put(EbS3Mirror *m, const char *rel);

/* Queues the manifest dir/rel with its content now (see above). 0, a
 * negative errno when the file cannot be read, or EB_ERR(ENOMEM). */
int eb_s3_mirror_put_manifest(EbS3Mirror *m, const char *rel);

/* Queues the removal of rel's object. 0, EB_ERR(ENOSPC) or EB_ERR(ENOMEM). */
int eb_s3_mirror_delete(EbS3Mirror *m, const char *rel);

void eb_s3_mirror_stats(EbS3Mirror *m, EbS3MirrorStats *out);

/* Sends what is queued, waiting at most drain_seconds for it (the rest is
 * counted as dropped), stops the thread and frees the mirror; NULLs *m.
 * NULL is fine. stats (may be NULL) receives the final figures. */
void eb_s3_mirror_close(EbS3Mirror **m, double drain_seconds, EbS3MirrorStats *stats);

#endif
