/* Bounded ring-buffer queue; see eb_queue.h for the contract. */
#include "eb_queue.h"
#include "eb_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "eb_error.h"

struct EbQueue {
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    pthread_cond_t not_empty;
    void **items;
    size_t capacity;
    size_t head;
    size_t count;
    int closed;
    int aborted;
    void (*free_item)(void *item);
    EbQueueStats stats;
};

int eb_queue_create(EbQueue **out, size_t capacity, void (*free_item)(void *item))
{
    EbQueue *q;

    *out = NULL;
    if (capacity == 0)
        return EB_ERR(EINVAL);
    q = calloc(1, sizeof(*q));
    if (!q)
        return EB_ERR(ENOMEM);
    q->items = calloc(capacity, sizeof(*q->items));
    if (!q->items) {
        free(q);
        return EB_ERR(ENOMEM);
    }
    q->capacity = capacity;
    q->free_item = free_item;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    *out = q;
    return 0;
}

/* Called with the lock held. */
static void eb_queue_drop_all(EbQueue *q)
{
    while (q->count > 0) {
        void *item = q->items[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        if (q->free_item)
            q->free_item(item);
    }
}

void eb_queue_free(EbQueue **qp)
{
    EbQueue *q = *qp;

    if (!q)
        return;
    eb_queue_drop_all(q);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    free(q);
    *qp = NULL;
}

/* Called with the lock held and count > 0. */
static void *eb_queue_take(EbQueue *q)
{
    void *item = q->items[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    pthread_cond_signal(&q->not_full);
    return item;
}

int eb_queue_push(EbQueue *q, void *item)
{
    int ret = 0;

    pthread_mutex_lock(&q->lock);
    if (q->count == q->capacity && !q->closed && !q->aborted) {
        uint64_t t0 = eb_clock_ns();
        while (q->count == q->capacity && !q->closed && !q->aborted)
            pthread_cond_wait(&q->not_full, &q->lock);
        q->stats.push_wait_ns += eb_clock_ns() - t0;
    }
    if (q->closed || q->aborted) {
        ret = EB_ERR(EPIPE);
    } else {
        q->items[(q->head + q->count) % q->capacity] = item;
        q->count++;
        q->stats.pushed++;
        if (q->count > q->stats.max_depth)
            q->stats.max_depth = q->count;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

int eb_queue_pop(EbQueue *q, void **item)
{
    int ret = 0;

    *item = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->count == 0 && !q->closed && !q->aborted) {
        uint64_t t0 = eb_clock_ns();
        while (q->count == 0 && !q->closed && !q->aborted)
            pthread_cond_wait(&q->not_empty, &q->lock);
        q->stats.pop_wait_ns += eb_clock_ns() - t0;
    }
    if (q->aborted) {
        ret = EB_ERR(EPIPE);
    } else if (q->count == 0) {
        ret = EB_EOF;
    } else {
        *item = eb_queue_take(q);
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

int eb_queue_try_pop(EbQueue *q, void **item)
{
    int ret = 0;

    *item = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->aborted) {
        ret = EB_ERR(EPIPE);
    } else if (q->count == 0) {
        ret = q->closed ? EB_EOF : EB_ERR(EAGAIN);
    } else {
        *item = eb_queue_take(q);
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void eb_queue_close(EbQueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

void eb_queue_abort(EbQueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->aborted = 1;
    eb_queue_drop_all(q);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

size_t eb_queue_depth(EbQueue *q)
{
    size_t n;
    pthread_mutex_lock(&q->lock);
    n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void eb_queue_get_stats(EbQueue *q, EbQueueStats *out)
{
    pthread_mutex_lock(&q->lock);
    *out = q->stats;
    pthread_mutex_unlock(&q->lock);
}
