/*
 * libFuzzer target for POST /v1/beacons bodies (eb_beacon_parse), the one
 * /v1 body anyone may send without a token, and the aggregation a parsed
 * beacon goes to (eb_beacons_add). Beyond crashes and leaks, its promises
 * are checked:
 *   - a body that parses gives an id of [A-Za-z0-9_-]{1,128}, a session of
 *     8 to 64 such characters, an event in range, a rendition of at most
 *     32, and every number absent (< 0) or within its bounds;
 *   - a body that fails names a field, and its message starts with it.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_beacons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EbBeacons *store;
static double clock_s = 1.8e9;

static void eb_fuzz_check_number(double v, double max)
{
    if (!isfinite(v) || (v < 0 && v != -1) || v > max)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char id_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_-";
    char field[64], msg[400];
    EbBeacon b;
    size_t n;

    if (!store && eb_beacons_open(&store) < 0)
        abort();
    if (eb_beacon_parse((const char *)data, size, &b, field, sizeof(field), msg, sizeof(msg)) < 0) {
        if (strncmp(msg, field, strlen(field)))
            abort();
        return 0;
    }
    n = strlen(b.target);
    if (n < 1 || n > 128 || strspn(b.target, id_chars) != n)
        abort();
    n = strlen(b.session);
    if (n < 8 || n > 64 || strspn(b.session, id_chars) != n)
        abort();
    if ((int)b.event < 0 || b.event >= EB_BEACON_NB_EVENTS || strlen(b.rendition) > 32)
        abort();
    eb_fuzz_check_number(b.startup_ms, 600000);
    eb_fuzz_check_number(b.rebuffers, 1e6);
    eb_fuzz_check_number(b.rebuffer_ms, 7 * 86400e3);
    eb_fuzz_check_number(b.switches, 1e6);
    eb_fuzz_check_number(b.watched_s, 7 * 86400);
    eb_fuzz_check_number(b.latency_s, 3600);
    clock_s += 7;
    eb_beacons_add(store, &b, clock_s);
    json_decref(eb_beacons_analytics(store, b.kind, b.target, clock_s));
    return 0;
}
