/*
 * A live window's copy in the bucket (see eb_s3_mirror.h).
 *
 * DESIGN: one FIFO of operations under a mutex, one sender thread. A
 * manifest's snapshot that finds an older one of its name still waiting
 * takes its place by removing it and queueing at the tail (never in its
 * place: the newer manifest may list segments queued after the older one).
 * The entry being sent is off the queue, so nothing replaces it mid-send.
 */
#include "eb_s3_mirror.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_log.h"
#include "eb_storage.h"

#define EB_S3_MIRROR_MANIFEST_MAX (16 << 20) /* a 6 h window's MPD fits */

typedef enum EbMirrorOp {
    EB_MIRROR_MEDIA,
    EB_MIRROR_MANIFEST,
    EB_MIRROR_DELETE,
} EbMirrorOp;

typedef struct EbMirrorEntry {
    struct EbMirrorEntry *next;
    EbMirrorOp op;
    char *data; /* a manifest's snapshot */
    size_t len;
    char rel[];
} EbMirrorEntry;

struct EbS3Mirror {
    const EbS3 *s3;
    char dir[4096];
    char prefix[1024];
    char cache_control[64];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* the queue changed (the thread waits for work) */
    EbMirrorEntry *head, *tail;
    int queued;
    int closing;
    double deadline; /* monotonic: closing, drop what is left after it */
    EbS3MirrorStats stats;
};

static void eb_mirror_entry_free(EbMirrorEntry *e)
{
    if (e) {
        free(e->data);
        free(e);
    }
}

static EbMirrorEntry *eb_mirror_entry(EbMirrorOp op, const char *rel)
{
    size_t n = strlen(rel) + 1;
    EbMirrorEntry *e = calloc(1, sizeof(*e) + n);

    if (e) {
        e->op = op;
        memcpy(e->rel, rel, n);
    }
    return e;
}

/* Queues e at the tail (lock held); a manifest replaces a waiting one of
 * its name. Takes e whatever happens. 0 or EB_ERR(ENOSPC). */
static int eb_mirror_push(EbS3Mirror *m, EbMirrorEntry *e)
{
    if (e->op == EB_MIRROR_MANIFEST) {
        for (EbMirrorEntry **p = &m->head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
            EbMirrorEntry *old = *p;
            if (old->op != EB_MIRROR_MANIFEST || strcmp(old->rel, e->rel))
                continue;
            *p = old->next;
            if (m->tail == old)
                m->tail = prev;
            m->queued--;
            eb_mirror_entry_free(old);
            break;
        }
    }
    if (m->queued >= EB_S3_MIRROR_QUEUE || m->closing) {
        m->stats.dropped++;
        eb_mirror_entry_free(e);
        return EB_ERR(ENOSPC);
    }
    if (m->tail)
        m->tail->next = e;
    else
        m->head = e;
    m->tail = e;
    m->queued++;
    pthread_cond_broadcast(&m->cond);
    return 0;
}

static void eb_mirror_key(const EbS3Mirror *m, const char *rel, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", m->prefix, rel);
}

/* Sends one entry (lock not held). */
static void eb_mirror_send(EbS3Mirror *m, EbMirrorEntry *e)
{
    char key[2048], path[4700], err[512] = "";
    EbS3Stats st = {0};
    int ret;

    eb_mirror_key(m, e->rel, key, sizeof(key));
    switch (e->op) {
    case EB_MIRROR_MEDIA:
        snprintf(path, sizeof(path), "%s/%s", m->dir, e->rel);
        ret = eb_s3_put_file(m->s3, key, path, &st, err, sizeof(err));
        if (ret == -ENOENT)
            ret = 1; /* pruned meanwhile: nothing to copy */
        break;
    case EB_MIRROR_MANIFEST:
        ret = eb_s3_put_data(m->s3, key, e->data, e->len, m->cache_control, &st, err, sizeof(err));
        break;
    default:
        ret = eb_s3_delete(m->s3, key, err, sizeof(err));
        break;
    }
    pthread_mutex_lock(&m->lock);
    if (ret < 0) {
        m->stats.failed++;
    } else if (ret == 0 && e->op == EB_MIRROR_DELETE) {
        m->stats.deleted++;
    } else if (ret == 0) {
        m->stats.objects += st.objects;
        m->stats.bytes += st.bytes;
    }
    pthread_mutex_unlock(&m->lock);
    if (ret < 0)
        EB_LOGW("s3", "live copy: %s %s failed: %s", e->op == EB_MIRROR_DELETE ? "DELETE" : "PUT",
                key, err);
}

static void *eb_mirror_thread(void *arg)
{
    EbS3Mirror *m = arg;

    pthread_setname_np(pthread_self(), "eb-s3-mirror");
    pthread_mutex_lock(&m->lock);
    for (;;) {
        EbMirrorEntry *e;
        while (!m->head && !m->closing)
            pthread_cond_wait(&m->cond, &m->lock);
        if (!m->head)
            break; /* closing, all sent */
        if (m->closing && eb_clock_seconds() > m->deadline) {
            /* out of time: what is left is not sent */
            while ((e = m->head)) {
                m->head = e->next;
                m->stats.dropped++;
                eb_mirror_entry_free(e);
            }
            m->tail = NULL;
            m->queued = 0;
            break;
        }
        e = m->head;
        m->head = e->next;
        if (!m->head)
            m->tail = NULL;
        m->queued--;
        pthread_mutex_unlock(&m->lock);
        eb_mirror_send(m, e);
        eb_mirror_entry_free(e);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int eb_s3_mirror_open(const EbS3 *s3, const char *dir, const char *key_prefix, int manifest_max_age,
                      EbS3Mirror **out)
{
    EbS3Mirror *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (!m)
        return EB_ERR(ENOMEM);
    m->s3 = s3;
    if (snprintf(m->dir, sizeof(m->dir), "%s", dir) >= (int)sizeof(m->dir) ||
        snprintf(m->prefix, sizeof(m->prefix), "%s", key_prefix) >= (int)sizeof(m->prefix)) {
        free(m);
        return EB_ERR(ENAMETOOLONG);
    }
    snprintf(m->cache_control, sizeof(m->cache_control), "public, max-age=%d",
             manifest_max_age >= 1 ? manifest_max_age : 1);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    if (pthread_create(&m->thread, NULL, eb_mirror_thread, m) != 0) {
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return EB_ERR(EAGAIN);
    }
    *out = m;
    return 0;
}

static int eb_mirror_queue(EbS3Mirror *m, EbMirrorOp op, const char *rel, char *data, size_t len)
{
    EbMirrorEntry *e = eb_mirror_entry(op, rel);
    int ret;

    if (!e) {
        free(data);
        return EB_ERR(ENOMEM);
    }
    e->data = data;
    e->len = len;
    pthread_mutex_lock(&m->lock);
    ret = eb_mirror_push(m, e);
    pthread_mutex_unlock(&m->lock);
    return ret;
}

int eb_s3_mirror_put(EbS3Mirror *m, const char *rel)
{
    return eb_mirror_queue(m, EB_MIRROR_MEDIA, rel, NULL, 0);
}

int eb_s3_mirror_put_manifest(EbS3Mirror *m, const char *rel)
{
    char path[4700];
    uint8_t *data = NULL;
    size_t len = 0;
    int ret;

    snprintf(path, sizeof(path), "%s/%s", m->dir, rel);
    if ((ret = eb_storage_read_file(path, EB_S3_MIRROR_MANIFEST_MAX, &data, &len)) < 0)
        return ret;
    return eb_mirror_queue(m, EB_MIRROR_MANIFEST, rel, (char *)data, len);
}

int eb_s3_mirror_delete(EbS3Mirror *m, const char *rel)
{
    return eb_mirror_queue(m, EB_MIRROR_DELETE, rel, NULL, 0);
}

void eb_s3_mirror_stats(EbS3Mirror *m, EbS3MirrorStats *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->stats;
    out->queued = m->queued;
    pthread_mutex_unlock(&m->lock);
}

void eb_s3_mirror_close(EbS3Mirror **pm, double drain_seconds, EbS3MirrorStats *stats)
{
    EbS3Mirror *m = pm ? *pm : NULL;

    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->closing = 1;
    m->deadline = eb_clock_seconds() + drain_seconds;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    if (stats)
        eb_s3_mirror_stats(m, stats);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *pm = NULL;
}
