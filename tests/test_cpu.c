/* CPU time by thread name: /proc stat parsing, and a named busy thread's
 * time showing up under its name and not under another. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eb_cpu.h"

static void test_parse_stat_takes_name_between_outer_parentheses(void **state)
{
    char name[EB_CPU_NAME_MAX];
    unsigned long long ticks = 0;
    (void)state;
    assert_int_equal(eb_cpu_parse_stat("4242 (eb-enc-1080p) S 1 2 3 0 -1 4194368 10 0 0 0 "
                                       "731 29 0 0 20 0 9 0 100 0 0",
                                       name, sizeof(name), &ticks),
                     0);
    assert_string_equal(name, "eb-enc-1080p");
    assert_int_equal(ticks, 760);
    /* A name may hold spaces and ')': the last ')' ends it. */
    assert_int_equal(eb_cpu_parse_stat("7 (a) b (c)) R 1 2 3 0 -1 0 0 0 0 0 5 6 0 0",
                                       name, sizeof(name), &ticks),
                     0);
    assert_string_equal(name, "a) b (c)");
    assert_int_equal(ticks, 11);
    assert_int_equal(eb_cpu_parse_stat("garbage", name, sizeof(name), &ticks), -EINVAL);
    assert_int_equal(eb_cpu_parse_stat("1 (x) S 1 2", name, sizeof(name), &ticks), -EINVAL);
}

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int busy_done, release;
    double own_seconds;
} Busy;

static void *busy_main(void *arg)
{
    Busy *b = arg;
    volatile uint64_t x = 1;

    pthread_setname_np(pthread_self(), "eb-test-busy");
    while (eb_cpu_thread_seconds() < 0.3)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    pthread_mutex_lock(&b->lock);
    b->own_seconds = eb_cpu_thread_seconds();
    b->busy_done = 1;
    pthread_cond_broadcast(&b->cond);
    while (!b->release)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static void test_busy_thread_counted_under_its_name(void **state)
{
    Busy b = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    EbCpuUse use[32];
    pthread_t t;
    double busy = -1, total = 0;
    int nb;
    (void)state;

    assert_int_equal(pthread_create(&t, NULL, busy_main, &b), 0);
    pthread_mutex_lock(&b.lock);
    while (!b.busy_done)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);

    nb = eb_cpu_by_thread_name(use, 32);
    assert_true(nb >= 2); /* this thread and the busy one */
    for (int i = 0; i < nb; i++) {
        total += use[i].seconds;
        if (!strcmp(use[i].name, "eb-test-busy")) {
            busy = use[i].seconds;
            assert_int_equal(use[i].threads, 1);
        }
    }
    /* Ticks are coarser (1/100 s) than the thread clock. */
    assert_true(busy >= b.own_seconds - 0.05);
    assert_true(busy <= b.own_seconds + 0.05);
    assert_true(eb_cpu_process_seconds() >= total - 0.05);

    pthread_mutex_lock(&b.lock);
    b.release = 1;
    pthread_cond_broadcast(&b.cond);
    pthread_mutex_unlock(&b.lock);
    pthread_join(t, NULL);
    /* max bounds the entries. */
    assert_int_equal(eb_cpu_by_thread_name(use, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stat_takes_name_between_outer_parentheses),
        cmocka_unit_test(test_busy_thread_counted_under_its_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
