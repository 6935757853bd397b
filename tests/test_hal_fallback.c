/* --backend / --fallback decisions (eb_hal_choose), and the real selection
 * on this machine (no GPU: software). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "eb_error.h"
#include "eb_hal.h"

static const char *const names[] = {"nvidia", "vaapi", "qsv", "software"};

static void set(EbHalProbe *p, int usable, const char *reason)
{
    memset(p, 0, sizeof(*p));
    p->usable = usable;
    snprintf(p->reason, sizeof(p->reason), "%s", reason);
}

/* The probes of a box without a GPU. */
static void no_gpu(EbHalProbe p[4])
{
    set(&p[0], 0, "libcuda.so.1 not found");
    set(&p[1], 0, "no device node (/dev/dri/renderD*)");
    set(&p[2], 0, "oneVPL: no implementation found");
    set(&p[3], 1, "");
}

static void test_named_unusable_falls_back(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    assert_int_equal(eb_hal_choose("nvidia", "auto", names, p, 4, &c), 0);
    assert_int_equal(c.index, 3);
    assert_string_equal(c.name, "software");
    assert_int_equal(c.fell_back, 1);
    assert_string_equal(c.note, "nvidia unusable (libcuda.so.1 not found): fell back to software");
    /* NULL fallback means auto. */
    assert_int_equal(eb_hal_choose("vaapi", NULL, names, p, 4, &c), 0);
    assert_string_equal(c.name, "software");
}

static void test_named_unusable_none_fails(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    assert_int_equal(eb_hal_choose("nvidia", "none", names, p, 4, &c), -ENODEV);
    assert_int_equal(c.index, -1);
    assert_null(c.name);
    assert_non_null(strstr(c.note, "nvidia unusable (libcuda.so.1 not found)"));
    assert_non_null(strstr(c.note, "fallback none"));
}

static void test_named_fallback_backend(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    assert_int_equal(eb_hal_choose("nvidia", "software", names, p, 4, &c), 0);
    assert_string_equal(c.name, "software");
    /* The named fallback is unusable too: an error naming both. */
    assert_int_equal(eb_hal_choose("nvidia", "qsv", names, p, 4, &c), -ENODEV);
    assert_non_null(strstr(c.note, "nvidia unusable"));
    assert_non_null(strstr(c.note, "fallback qsv unusable (oneVPL: no implementation found)"));
    /* A usable named fallback is taken even when an earlier one would be. */
    set(&p[1], 1, "");
    assert_int_equal(eb_hal_choose("nvidia", "software", names, p, 4, &c), 0);
    assert_string_equal(c.name, "software");
    assert_int_equal(eb_hal_choose("nvidia", "auto", names, p, 4, &c), 0);
    assert_string_equal(c.name, "vaapi");
}

static void test_named_usable(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    set(&p[2], 1, "");
    assert_int_equal(eb_hal_choose("qsv", "none", names, p, 4, &c), 0);
    assert_string_equal(c.name, "qsv");
    assert_int_equal(c.fell_back, 0);
    assert_string_equal(c.note, "qsv as requested");
}

static void test_auto_prefers_registry_order(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    assert_int_equal(eb_hal_choose("auto", "none", names, p, 4, &c), 0);
    assert_string_equal(c.name, "software");
    assert_int_equal(c.fell_back, 0);
    assert_non_null(strstr(c.note, "nvidia unusable (libcuda.so.1 not found)"));
    assert_non_null(strstr(c.note, "auto: chose software"));
    set(&p[1], 1, "");
    set(&p[2], 1, "");
    assert_int_equal(eb_hal_choose("auto", NULL, names, p, 4, &c), 0);
    assert_string_equal(c.name, "vaapi");
    assert_int_equal(eb_hal_choose(NULL, NULL, names, p, 4, &c), 0);
    assert_string_equal(c.name, "vaapi");
}

static void test_nothing_usable(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    set(&p[3], 0, "libavcodec was built without libx264");
    assert_int_equal(eb_hal_choose("auto", "auto", names, p, 4, &c), -ENODEV);
    assert_non_null(strstr(c.note, "no usable backend"));
    assert_int_equal(eb_hal_choose("nvidia", "auto", names, p, 4, &c), -ENODEV);
    assert_non_null(strstr(c.note, "no other backend is usable"));
}

static void test_unknown_names(void **state)
{
    EbHalProbe p[4];
    EbHalChoice c;
    (void)state;
    no_gpu(p);
    assert_int_equal(eb_hal_choose("amf", "auto", names, p, 4, &c), -EINVAL);
    assert_string_equal(c.note, "backend 'amf' is not in this build");
    assert_int_equal(eb_hal_choose("nvidia", "videotoolbox", names, p, 4, &c), -EINVAL);
    /* Only the first 2 registered: software is not in this "build". */
    assert_int_equal(eb_hal_choose("software", "none", names, p, 2, &c), -EINVAL);
}

/* On this machine, whatever it has: eb_hal_select decides from what the
 * probes report. auto is the first usable backend in registry order (on a
 * box without a GPU, software); a named hardware backend is itself when
 * its probe says usable, else the fallback with the probe's reason in the
 * note, or -ENODEV under fallback none. */
static void test_select_on_this_machine(void **state)
{
    const char *names[EB_HAL_MAX_DEVICES];
    EbHalProbe probes[EB_HAL_MAX_DEVICES];
    int nb = eb_hal_probe_all(NULL, names, probes), first = -1, nv = -1;
    const EbHalBackend *b = NULL;
    EbHalChoice c;
    (void)state;

    for (int i = 0; i < nb; i++) {
        if (first < 0 && probes[i].usable)
            first = i;
        if (!strcmp(names[i], "nvidia"))
            nv = i;
    }
    assert_true(first >= 0); /* software is always usable */
    assert_int_equal(eb_hal_select("auto", "auto", &b, &c), 0);
    assert_non_null(b);
    assert_string_equal(b->name, names[first]);
    if (nv < 0)
        return; /* built without the NVIDIA backend */
    if (probes[nv].usable) {
        assert_int_equal(eb_hal_select("nvidia", "none", &b, &c), 0);
        assert_string_equal(b->name, "nvidia");
        assert_int_equal(c.fell_back, 0);
        return;
    }
    assert_int_equal(eb_hal_select("nvidia", "auto", &b, &c), 0);
    assert_string_equal(b->name, names[first]);
    assert_int_equal(c.fell_back, 1);
    assert_non_null(strstr(c.note, "nvidia unusable ("));
    assert_non_null(strstr(c.note, probes[nv].reason));
    assert_int_equal(eb_hal_select("nvidia", "none", &b, &c), -ENODEV);
    assert_null(b);
}

/* backends.enabled: the listed backends this build has, in the listed
 * order, once each; nothing listed is the whole registry. */
static void test_enabled_backends_in_operator_order(void **state)
{
    const EbHalBackend *out[EB_HAL_MAX_DEVICES + 1];
    const char *const mine[] = {"software", "nosuch", "vaapi", "software"};
    const EbHalBackend *const *all = eb_hal_backends();
    int n, nall = 0;
    (void)state;

    while (all[nall])
        nall++;
    assert_int_equal(eb_hal_backends_enabled(NULL, 0, out), nall);
    for (int i = 0; i < nall; i++)
        assert_ptr_equal(out[i], all[i]);
    assert_null(out[nall]);

    n = eb_hal_backends_enabled(mine, 4, out);
    assert_ptr_equal(out[0], eb_hal_find("software"));
    if (eb_hal_find("vaapi")) {
        assert_int_equal(n, 2);
        assert_ptr_equal(out[1], eb_hal_find("vaapi"));
    } else {
        assert_int_equal(n, 1);
    }
    assert_null(out[n]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enabled_backends_in_operator_order),
        cmocka_unit_test(test_named_unusable_falls_back),
        cmocka_unit_test(test_named_unusable_none_fails),
        cmocka_unit_test(test_named_fallback_backend),
        cmocka_unit_test(test_named_usable),
        cmocka_unit_test(test_auto_prefers_registry_order),
        cmocka_unit_test(test_nothing_usable),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_select_on_this_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
