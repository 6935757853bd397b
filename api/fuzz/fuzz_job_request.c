/*
 * libFuzzer target for POST /v1/jobs bodies. Each input goes through
 * eb_job_request_parse() and its promises are checked, not only the
 * absence of crashes and leaks:
 *   - success gives a spec whose every field is present and in range, and
 *     an input that is an absolute path inside a root or the upload folder;
 *   - failure gives 400 or 403 and a message (and a field name for
 *     anything but a body-level problem).
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_config.h"
#include "eb_job_request.h"
#include "eb_storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EbConfig cfg;
static int ready;
static const char *const roots[] = {"/tmp"};
static const char *const backends[] = {"nvidia", "vaapi", "qsv", "software", NULL};

static void eb_fuzz_check_spec(json_t *spec)
{
    const char *in = json_string_value(json_object_get(spec, "input"));
    const char *fmt = json_string_value(json_object_get(spec, "format"));
    const char *vid = json_string_value(json_object_get(spec, "video_id"));
    double seg = json_number_value(json_object_get(spec, "segment_seconds"));
    json_int_t prio = json_integer_value(json_object_get(spec, "priority"));

    if (!in || (strncmp(in, "/tmp/", 5) && strncmp(in, "/nonexistent-uploads/", 21)))
        abort();
    if (!fmt || (strcmp(fmt, "cmaf") && strcmp(fmt, "ts")))
        abort();
    if (seg < 1 || seg > 60 || prio < 0 || prio > 9)
        abort();
    if (json_object_get(spec, "video_id") && (!vid || !eb_storage_id_valid(vid)))
        abort();
    if (!json_is_boolean(json_object_get(spec, "overwrite")) ||
        !json_string_value(json_object_get(spec, "preset")) ||
        !json_string_value(json_object_get(spec, "backend")) ||
        !json_string_value(json_object_get(spec, "fallback")) ||
        !json_object_get(spec, "ladder"))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EbJobRequestContext ctx;
    EbJobRequestError err;
    json_t *spec = NULL;

    if (!ready) {
        if (eb_config_defaults(&cfg) < 0)
            abort();
        ready = 1;
    }
    ctx = (EbJobRequestContext){.cfg = &cfg,
                                .uploads = "/nonexistent-uploads",
                                .roots = roots,
                                .nb_roots = 1,
                                .backends = backends};
    if (eb_job_request_parse(&ctx, (const char *)data, size, &spec, &err) == 0) {
        if (!spec)
            abort();
        eb_fuzz_check_spec(spec);
        json_decref(spec);
    } else {
        if (spec || (err.status != 400 && err.status != 403) || !err.message[0])
            abort();
    }
    return 0;
}
