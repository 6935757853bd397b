/* Bounded queue: order, back-pressure, close/drain, abort wakes waiters. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "eb_error.h"
#include "eb_queue.h"

static void test_fifo_order_and_eof(void **state)
{
    EbQueue *q;
    void *item;
    (void)state;
    assert_int_equal(eb_queue_create(&q, 3, NULL), 0);
    for (intptr_t i = 1; i <= 3; i++)
        assert_int_equal(eb_queue_push(q, (void *)i), 0);
    assert_int_equal(eb_queue_depth(q), 3);
    eb_queue_close(q);
    assert_int_equal(eb_queue_push(q, (void *)4), EB_ERR(EPIPE));
    for (intptr_t i = 1; i <= 3; i++) {
        assert_int_equal(eb_queue_pop(q, &item), 0);
        assert_int_equal((intptr_t)item, i);
    }
    assert_int_equal(eb_queue_pop(q, &item), EB_EOF);
    eb_queue_free(&q);
    assert_null(q);
}

static void test_try_pop_states(void **state)
{
    EbQueue *q;
    void *item;
    (void)state;
    assert_int_equal(eb_queue_create(&q, 2, NULL), 0);
    assert_int_equal(eb_queue_try_pop(q, &item), EB_ERR(EAGAIN));
    assert_int_equal(eb_queue_push(q, (void *)7), 0);
    assert_int_equal(eb_queue_try_pop(q, &item), 0);
    assert_int_equal((intptr_t)item, 7);
    eb_queue_close(q);
    assert_int_equal(eb_queue_try_pop(q, &item), EB_EOF);
    eb_queue_free(&q);
}

typedef struct {
    EbQueue *q;
    int n;
    long sum;
    int ret;
} Worker;

static void *producer(void *arg)
{
    Worker *w = arg;
    for (intptr_t i = 1; i <= w->n; i++)
        if ((w->ret = eb_queue_push(w->q, (void *)i)) < 0)
            break;
    eb_queue_close(w->q);
    return NULL;
}

static void *consumer(void *arg)
{
    Worker *w = arg;
    void *item;
    int ret;
    while ((ret = eb_queue_pop(w->q, &item)) == 0)
        w->sum += (intptr_t)item;
    w->ret = ret;
    return NULL;
}

static void test_threads_never_exceed_capacity(void **state)
{
    EbQueue *q;
    Worker p = {0}, c = {0};
    pthread_t tp, tc;
    EbQueueStats st;
    (void)state;
    assert_int_equal(eb_queue_create(&q, 4, NULL), 0);
    p.q = c.q = q;
    p.n = 20000;
    pthread_create(&tc, NULL, consumer, &c);
    pthread_create(&tp, NULL, producer, &p);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(p.ret, 0);
    assert_int_equal(c.ret, EB_EOF);
    assert_int_equal(c.sum, 20000L * 20001L / 2);
    eb_queue_get_stats(q, &st);
    assert_int_equal(st.pushed, 20000);
    assert_true(st.max_depth <= 4);
    eb_queue_free(&q);
}

static int freed;
static void count_free(void *item)
{
    (void)item;
    freed++;
}

static void *blocked_pusher(void *arg)
{
    Worker *w = arg;
    w->ret = eb_queue_push(w->q, (void *)99);
    return NULL;
}

static void test_abort_wakes_blocked_producer_and_frees_items(void **state)
{
    EbQueue *q;
    Worker w = {0};
    pthread_t t;
    void *item;
    (void)state;
    freed = 0;
    assert_int_equal(eb_queue_create(&q, 1, count_free), 0);
    assert_int_equal(eb_queue_push(q, (void *)1), 0);
    w.q = q;
    pthread_create(&t, NULL, blocked_pusher, &w); /* blocks: queue full */
    eb_queue_abort(q);
    pthread_join(t, NULL);
    assert_int_equal(w.ret, EB_ERR(EPIPE));
    assert_int_equal(freed, 1); /* the queued item was released */
    assert_int_equal(eb_queue_pop(q, &item), EB_ERR(EPIPE));
    eb_queue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order_and_eof),
        cmocka_unit_test(test_try_pop_states),
        cmocka_unit_test(test_threads_never_exceed_capacity),
        cmocka_unit_test(test_abort_wakes_blocked_producer_and_frees_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
