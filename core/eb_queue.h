/*
 * Bounded blocking queue between pipeline stages (mutex + two condvars, no
 * polling). A full queue blocks the producer: that is how a slow encoder
 * applies back-pressure to the decoder instead of growing memory.
 *
 * Ownership: push() hands the item to the queue on success; on failure the
 * caller still owns it. pop() hands the item to the caller. Items left in
 * the queue at abort or free are released with the free callback given at
 * creation.
 */
#ifndef EB_QUEUE_H
#define EB_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct EbQueue EbQueue;

typedef struct EbQueueStats {
    uint64_t pushed;        /* items accepted */
    uint64_t push_wait_ns;  /* time producers spent blocked on a full queue */
    uint64_t pop_wait_ns;   /* time consumers spent blocked on an empty queue */
    size_t max_depth;       /* deepest the queue has been */
} EbQueueStats;

/* Creates a queue of at most capacity (>= 1) items. free_item may be NULL. */
int eb_queue_create(EbQueue **out, size_t capacity, void (*free_item)(void *item));

/* Frees the queue and every item still in it; sets *q to NULL. */
void eb_queue_free(EbQueue **q);

/* Blocks while full. Returns 0, or -EPIPE once the queue is closed or aborted
 * (the caller keeps the item). */
int eb_queue_push(EbQueue *q, void *item);

/* Blocks while empty. Returns 0 with *item set, EB_EOF when closed and
 * drained, or -EPIPE when aborted. */
int eb_queue_pop(EbQueue *q, void **item);

/* Non-blocking pop: 0 with *item set, -EAGAIN when empty but open, EB_EOF
 * when closed and drained, -EPIPE when aborted. */
int eb_queue_try_pop(EbQueue *q, void **item);

/* Producer is done: consumers drain what is queued, then get EB_EOF. */
void eb_queue_close(EbQueue *q);

/* Cancel: drops queued items, wakes every waiter with -EPIPE. */
void eb_queue_abort(EbQueue *q);

size_t eb_queue_depth(EbQueue *q);
void eb_queue_get_stats(EbQueue *q, EbQueueStats *out);

#endif
