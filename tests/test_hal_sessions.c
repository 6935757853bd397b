/* Session accounting across processes (hal/eb_sessions.c): admission,
 * all-or-nothing, waiting with timeout and cancel, release by a dying
 * process, memory budget; and the key/default-limit rule
 * (hal/eb_sessions_policy.c). Children are forked; each test gets its own
 * directory under EB_TEST_TMP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eb_error.h"
#include "eb_sessions.h"
#include "eb_sessions_policy.h"

static const EbSessionLimits lim = {.max_encode = 3, .max_decode = 2, .memory_bytes = 0};

static void test_dir(char *buf, size_t size, const char *name)
{
    const char *base = getenv("EB_TEST_TMP");
    char cmd[600];
    if (!base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(buf, size, "%s/sessions-%s-%d", base, name, (int)getpid());
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", buf);
    assert_int_equal(system(cmd), 0);
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child that takes the request, writes one byte to ready, then waits for
 * its death (SIGKILL: no cleanup at all) or, with hold_ms, exits after. */
static pid_t child_holding(const char *dir, const EbSessionRequest *req, int ready_fd, int hold_ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        EbSessions *s;
        EbSessionLease *l;
        char c = 1;
        if (eb_sessions_open(dir, &s) < 0 || eb_sessions_acquire(s, req, &lim, 0, &l) < 0)
            _exit(1);
        if (write(ready_fd, &c, 1) != 1)
            _exit(2);
        if (hold_ms > 0) {
            usleep((useconds_t)hold_ms * 1000);
            _exit(0); /* exits holding the lease: the kernel releases it */
        }
        for (;;)
            pause();
    }
    return pid;
}

static void wait_ready(int fd)
{
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
}

static void test_admission_in_one_process(void **state)
{
    char dir[512];
    EbSessions *s;
    EbSessionLease *a = NULL, *b = NULL, *c = NULL;
    EbSessionRequest two = {.device = "cuda:0", .encode = 2, .decode = 1};
    int enc = -1, dec = -1;
    (void)state;
    test_dir(dir, sizeof(dir), "one");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    assert_int_equal(eb_sessions_acquire(s, &two, &lim, 0, &a), 0);
    assert_int_equal(eb_sessions_usage(s, "cuda:0", &lim, &enc, &dec, NULL), 0);
    assert_int_equal(enc, 2);
    assert_int_equal(dec, 1);
    /* Two leases of one process exclude each other (OFD locks). */
    assert_int_equal(eb_sessions_acquire(s, &two, &lim, 0, &b), -ETIMEDOUT);
    assert_null(b);
    /* All or nothing: the failed request left nothing behind. */
    assert_int_equal(eb_sessions_usage(s, "cuda:0", &lim, &enc, &dec, NULL), 0);
    assert_int_equal(enc, 2);
    assert_int_equal(dec, 1);
    two.encode = 1;
    assert_int_equal(eb_sessions_acquire(s, &two, &lim, 0, &b), 0);
    two.encode = 0;
    assert_int_equal(eb_sessions_acquire(s, &two, &lim, 0, &c), -ETIMEDOUT); /* decodes full */
    /* Another device key is separate. */
    two.device = "cuda:1";
    assert_int_equal(eb_sessions_acquire(s, &two, &lim, 0, &c), 0);
    eb_sessions_release(&a);
    assert_null(a);
    assert_int_equal(eb_sessions_usage(s, "cuda:0", &lim, &enc, &dec, NULL), 0);
    assert_int_equal(enc, 1);
    assert_int_equal(dec, 1);
    eb_sessions_release(&b);
    eb_sessions_release(&c);
    assert_int_equal(eb_sessions_usage(s, "cuda:0", &lim, &enc, &dec, NULL), 0);
    assert_int_equal(enc + dec, 0);
    eb_sessions_close(&s);
    assert_null(s);
}

static void test_bad_requests(void **state)
{
    char dir[512];
    EbSessions *s;
    EbSessionLease *l = NULL;
    EbSessionRequest r = {.device = "cuda:0", .encode = 4};
    (void)state;
    test_dir(dir, sizeof(dir), "bad");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 1000, &l), -E2BIG); /* > max_encode */
    r.encode = 1;
    r.device = "../etc";
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 0, &l), -EINVAL);
    r.device = "";
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 0, &l), -EINVAL);
    assert_null(l);
    eb_sessions_close(&s);
}

/* A child holds 2 of 3 encodes; the parent's request for 2 waits, then a
 * SIGKILL of the child (no cleanup) lets it in. */
static void test_crashed_process_releases(void **state)
{
    char dir[512];
    EbSessions *s;
    EbSessionLease *l = NULL;
    EbSessionRequest r = {.device = "nvidia", .encode = 2, .decode = 1};
    int fds[2], enc = -1, status;
    pid_t pid;
    (void)state;
    test_dir(dir, sizeof(dir), "crash");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    assert_int_equal(pipe(fds), 0);
    pid = child_holding(dir, &r, fds[1], 0);
    wait_ready(fds[0]);
    assert_int_equal(eb_sessions_usage(s, "nvidia", &lim, &enc, NULL, NULL), 0);
    assert_int_equal(enc, 2);
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 100, &l), -ETIMEDOUT);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 0, &l), 0);
    eb_sessions_release(&l);
    close(fds[0]);
    close(fds[1]);
    eb_sessions_close(&s);
}

/* The waiter is woken by the holder's exit, well before its timeout. */
static void test_waiter_woken_by_exit(void **state)
{
    char dir[512];
    EbSessions *s;
    EbSessionLease *l = NULL;
    EbSessionRequest r = {.device = "cuda:0", .encode = 3};
    int fds[2], status;
    int64_t t0, waited;
    pid_t pid;
    (void)state;
    test_dir(dir, sizeof(dir), "wake");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    assert_int_equal(pipe(fds), 0);
    pid = child_holding(dir, &r, fds[1], 300);
    wait_ready(fds[0]);
    t0 = ms_now();
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 20000, &l), 0);
    waited = ms_now() - t0;
    assert_true(waited >= 100);
    assert_true(waited < 10000);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    eb_sessions_release(&l);
    close(fds[0]);
    close(fds[1]);
    eb_sessions_close(&s);
}

/* Many children compete for 3 slots; at no time do more than 3 hold one. */
static void test_many_processes_never_exceed(void **state)
{
    char dir[512];
    EbSessions *s;
    pid_t pids[8];
    int max_seen = 0;
    (void)state;
    test_dir(dir, sizeof(dir), "many");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    for (int i = 0; i < 8; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            EbSessions *cs;
            EbSessionLease *l;
            EbSessionRequest r = {.device = "cuda:0", .encode = 1};
            if (eb_sessions_open(dir, &cs) < 0)
                _exit(1);
            for (int k = 0; k < 5; k++) {
                if (eb_sessions_acquire(cs, &r, &lim, 20000, &l) < 0)
                    _exit(2);
                usleep(2000);
                eb_sessions_release(&l);
            }
            eb_sessions_close(&cs);
            _exit(0);
        }
    }
    for (int n = 0; n < 200; n++) {
        int enc = 0;
        assert_int_equal(eb_sessions_usage(s, "cuda:0", &lim, &enc, NULL, NULL), 0);
        if (enc > max_seen)
            max_seen = enc;
        usleep(500);
    }
    for (int i = 0; i < 8; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_true(max_seen <= 3);
    eb_sessions_close(&s);
}

static void *cancel_later(void *arg)
{
    usleep(100000);
    eb_sessions_cancel(arg);
    return NULL;
}

static void test_cancel_wakes_waiter(void **state)
{
    char dir[512];
    EbSessions *s;
    EbSessionLease *a = NULL, *b = NULL;
    EbSessionRequest r = {.device = "renderD128", .decode = 2};
    pthread_t t;
    (void)state;
    test_dir(dir, sizeof(dir), "cancel");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, 0, &a), 0);
    assert_int_equal(pthread_create(&t, NULL, cancel_later, s), 0);
    assert_int_equal(eb_sessions_acquire(s, &r, &lim, -1, &b), EB_ERR_CANCELED);
    pthread_join(t, NULL);
    assert_null(b);
    eb_sessions_release(&a);
    eb_sessions_close(&s);
}

static void test_memory_budget(void **state)
{
    char dir[512];
    EbSessions *s;
    EbSessionLease *a = NULL, *b = NULL;
    EbSessionLimits m = {.max_encode = 8, .max_decode = 8, .memory_bytes = 1024LL << 20};
    EbSessionRequest r = {.device = "cuda:0", .encode = 1, .memory = 640LL << 20};
    int64_t used = 0;
    (void)state;
    test_dir(dir, sizeof(dir), "mem");
    assert_int_equal(eb_sessions_open(dir, &s), 0);
    assert_int_equal(eb_sessions_acquire(s, &r, &m, 0, &a), 0);
    assert_int_equal(eb_sessions_usage(s, "cuda:0", &m, NULL, NULL, &used), 0);
    assert_int_equal(used, 640LL << 20);
    /* 640 + 640 MiB > 1 GiB although encode slots are free. */
    assert_int_equal(eb_sessions_acquire(s, &r, &m, 50, &b), -ETIMEDOUT);
    r.memory = 384LL << 20; /* exactly the rest */
    assert_int_equal(eb_sessions_acquire(s, &r, &m, 0, &b), 0);
    r.memory = 2048LL << 20;
    eb_sessions_release(&b);
    assert_int_equal(eb_sessions_acquire(s, &r, &m, 0, &b), -E2BIG);
    eb_sessions_release(&a);
    eb_sessions_close(&s);
}

/* The key and default-limit rule (eb_sessions_policy.h) that the worker
 * and the daemon's device view share. */
static void test_policy_keys(void **state)
{
    static const struct {
        const char *backend, *device, *key;
    } cases[] = {
        {"nvidia", "cuda:0", "nvidia"}, /* NVENC's cap is system-wide */
        {"nvidia", "cuda:3", "nvidia"},
        {"nvidia", NULL, "nvidia"},
        {"nvidia", "", "nvidia"},
        {"vaapi", "/dev/dri/renderD128", "renderD128"},
        {"vaapi", "/dev/dri/renderD129", "renderD129"},
        {"vaapi", "renderD130", "renderD130"},
        {"vaapi", NULL, "renderD128"},
        {"vaapi", "/dev/dri/card0", "renderD128"},
        {"qsv", "qsv:hw", "renderD128"}, /* libavutil's default: the first node */
        {"qsv", "qsv:/dev/dri/renderD130", "renderD130"},
        {"qsv", "/dev/dri/renderD131", "renderD131"},
        {"qsv", "", "renderD128"},
        {"vaapi", "/dev/dri/renderD12 8", "renderD12_8"}, /* only [A-Za-z0-9_.:-] */
        {"vulkan-test", "/dev/dri/renderD128", "renderD128"},
    };
    char key[64];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(key, 'x', sizeof(key));
        assert_int_equal(eb_sessions_key(cases[i].backend, cases[i].device, key, sizeof(key)), 1);
        assert_string_equal(key, cases[i].key);
    }
    /* Software takes no sessions: no key. */
    memset(key, 'x', sizeof(key));
    assert_int_equal(eb_sessions_key("software", "cpu", key, sizeof(key)), 0);
    assert_string_equal(key, "");
    assert_int_equal(eb_sessions_key(NULL, "cuda:0", key, sizeof(key)), EB_ERR(EINVAL));
    assert_string_equal(key, "");
    assert_int_equal(eb_sessions_key("nvidia", "cuda:0", NULL, 8), EB_ERR(EINVAL));
    assert_int_equal(eb_sessions_key("nvidia", "cuda:0", key, 0), EB_ERR(EINVAL));
    /* Too small: an error and "", never a truncated key (another device's). */
    assert_int_equal(eb_sessions_key("vaapi", "/dev/dri/renderD129", key, 10),
                     EB_ERR(ENAMETOOLONG));
    assert_string_equal(key, "");
    assert_int_equal(eb_sessions_key("vaapi", "/dev/dri/renderD129", key, 11), 1);
    assert_string_equal(key, "renderD129");
}

static void test_policy_default_limits(void **state)
{
    EbSessionLimits l;
    (void)state;

    memset(&l, 0xff, sizeof(l));
    eb_sessions_default_limits("nvidia", &l);
    assert_int_equal(l.max_encode, 5);
    assert_int_equal(l.max_encode, EB_SESSIONS_NVENC_DEFAULT_ENCODE);
    assert_int_equal(l.max_decode, 32);
    assert_true(l.memory_bytes == 0);
    memset(&l, 0xff, sizeof(l));
    eb_sessions_default_limits("vaapi", &l);
    assert_int_equal(l.max_encode, 32);
    assert_int_equal(l.max_decode, EB_SESSIONS_DEFAULT_DECODE);
    assert_true(l.memory_bytes == 0);
    eb_sessions_default_limits("qsv", &l);
    assert_int_equal(l.max_encode, EB_SESSIONS_VA_DEFAULT_ENCODE);
    assert_int_equal(l.max_decode, 32);
    memset(&l, 0xff, sizeof(l));
    eb_sessions_default_limits("software", &l);
    assert_int_equal(l.max_encode, 0);
    assert_int_equal(l.max_decode, 0);
    assert_true(l.memory_bytes == 0);
    memset(&l, 0xff, sizeof(l));
    eb_sessions_default_limits(NULL, &l);
    assert_int_equal(l.max_encode, 0);
    assert_int_equal(l.max_decode, 0);
}

/* One matching rule for configured device limits (the worker's admission
 * and the daemon's /v1/devices use it): an exact device before "*", the
 * first of each, defaults under, software never limited. */
static void test_policy_configured_limits(void **state)
{
    const EbSessionsDeviceLimit tab[] = {
        {.backend = "vaapi", .device = "*", .max_sessions = 4},
        {.backend = "vaapi", .device = "/dev/dri/renderD129", .max_sessions = 2,
         .memory_budget = 1 << 30},
        {.backend = "vaapi", .device = "/dev/dri/renderD129", .max_sessions = 9},
        {.backend = "nvidia", .device = "", .memory_budget = 8 << 20},
        {.backend = "software", .device = "*", .max_sessions = 3},
    };
    EbSessionLimits l;
    int conf;
    (void)state;

    eb_sessions_limits_for(tab, 5, "vaapi", "/dev/dri/renderD129", &l, &conf);
    assert_int_equal(l.max_encode, 2);
    assert_int_equal(l.memory_bytes, 1 << 30);
    assert_true(conf);
    eb_sessions_limits_for(tab, 5, "vaapi", "/dev/dri/renderD128", &l, &conf);
    assert_int_equal(l.max_encode, 4);
    assert_int_equal(l.memory_bytes, 0);
    /* an empty device is every device; max_sessions 0 keeps the default */
    eb_sessions_limits_for(tab, 5, "nvidia", "cuda:0", &l, &conf);
    assert_int_equal(l.max_encode, EB_SESSIONS_NVENC_DEFAULT_ENCODE);
    assert_int_equal(l.memory_bytes, 8 << 20);
    assert_true(conf);
    eb_sessions_limits_for(tab, 5, "qsv", "qsv:hw", &l, &conf);
    assert_int_equal(l.max_encode, EB_SESSIONS_VA_DEFAULT_ENCODE);
    assert_false(conf);
    eb_sessions_limits_for(tab, 5, "software", "cpu", &l, &conf);
    assert_int_equal(l.max_encode, 0);
    assert_false(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admission_in_one_process),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_crashed_process_releases),
        cmocka_unit_test(test_waiter_woken_by_exit),
        cmocka_unit_test(test_many_processes_never_exceed),
        cmocka_unit_test(test_cancel_wakes_waiter),
        cmocka_unit_test(test_memory_budget),
        cmocka_unit_test(test_policy_keys),
        cmocka_unit_test(test_policy_default_limits),
        cmocka_unit_test(test_policy_configured_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
