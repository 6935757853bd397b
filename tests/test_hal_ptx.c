/* The CUDA fan-out kernel as built: embedded PTX that the 535 driver can
 * JIT (PTX ISA <= 8.2) for Turing and newer (.target sm_75), with the
 * kernel entry the host code looks up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#ifdef EB_WITH_NVIDIA
#include "eb_nvidia.h"

static void test_ptx_version_and_target(void **state)
{
    const char *v, *t;
    int major = 0, minor = 0;
    char target[32] = "";
    (void)state;
    if (!eb_nvidia_have_kernel()) {
        print_message("built without clang: no kernel to check\n");
        skip();
    }
    v = strstr(eb_fanout_cuda_ptx, "\n.version ");
    assert_non_null(v);
    assert_int_equal(sscanf(v, "\n.version %d.%d", &major, &minor), 2);
    print_message(".version %d.%d\n", major, minor);
    assert_true(major * 10 + minor <= 82);
    assert_true(major * 10 + minor >= 63); /* sm_75 needs PTX ISA 6.3 */
    t = strstr(eb_fanout_cuda_ptx, "\n.target ");
    assert_non_null(t);
    assert_int_equal(sscanf(t, "\n.target %31s", target), 1);
    assert_string_equal(target, "sm_75");
    assert_non_null(strstr(eb_fanout_cuda_ptx, ".visible .entry eb_fanout_nv12("));
    assert_non_null(strstr(eb_fanout_cuda_ptx, ".address_size 64"));
}
#else
static void test_ptx_version_and_target(void **state)
{
    (void)state;
    skip(); /* NVIDIA backend not built */
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ptx_version_and_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
