/*
 * The hand-written JSON string writer (core/eb_json.c): whatever bytes a
 * device name, a reason or a log message holds, the output parses as one
 * JSON string that jansson reads back to the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "eb_json.h"

static void check(const char *s, const char *want)
{
    char buf[512] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    json_t *j;
    json_error_t e;

    assert_non_null(f);
    eb_json_write_string(f, s);
    fclose(f);
    if (want)
        assert_string_equal(buf, want);
    j = json_loads(buf, JSON_DECODE_ANY, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(j), s);
    json_decref(j);
}

static void test_escapes_round_trip(void **state)
{
    (void)state;
    check("plain", "\"plain\"");
    check("a\"b\\c", "\"a\\\"b\\\\c\"");
    check("line\nnext\ttab", "\"line\\nnext\\ttab\"");
    check("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    check("caf\xc3\xa9", NULL); /* UTF-8 passes through */
    check("", "\"\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
