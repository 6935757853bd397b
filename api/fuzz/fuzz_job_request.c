/*
 * libFuzzer target for POST /v1/jobs bodies and for job specs (the JSON a
 * worker reads on --spec-fd). Each input goes through
 * eb_job_request_parse() and through eb_job_spec_parse(), and their
 * promises are checked, not only the absence of crashes and leaks:
 *   - a request that succeeds gives a spec whose every job field is set
 *     and in range, and an input that is an absolute path inside a root or
 *     the upload folder;
 *   - a request that fails gives 400 or 403 and a message (and a field
 *     name for anything but a body-level problem);
 *   - a spec that decodes writes JSON that decodes to a spec writing the
 *     same JSON again (so a worker runs what the daemon stored), and
 *     writes no secret without being asked to;
 *   - a spec that fails names its field at the start of its message.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_config.h"
#include "eb_job_request.h"
#include "eb_job_spec.h"
#include "eb_storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EbConfig cfg;
static int ready;
static const char *const roots[] = {"/tmp"};
static const char *const backends[] = {"nvidia", "vaapi", "qsv", "software", NULL};

/* The codec's round trip: spec -> JSON -> spec -> the same JSON. */
static void eb_fuzz_round_trip(const EbJobSpec *spec)
{
    EbJobSpec back;
    EbJobSpecError err;
    json_t *o = NULL, *again = NULL;
    char *text;

    if (eb_job_spec_to_json(spec, EB_JOB_SPEC_JSON_SECRETS, &o) < 0)
        abort();
    text = json_dumps(o, JSON_COMPACT);
    if (!text)
        abort();
    eb_job_spec_init(&back);
    if (eb_job_spec_parse(text, strlen(text), NULL, &back, &err) != 0 ||
        eb_job_spec_to_json(&back, EB_JOB_SPEC_JSON_SECRETS, &again) < 0 || !json_equal(o, again))
        abort();
    json_decref(again);
    json_decref(o);
    free(text);
    eb_job_spec_clear(&back);
    /* Without the flag, no secret at all. */
    if (eb_job_spec_to_json(spec, 0, &o) < 0 || json_object_get(o, "secrets"))
        abort();
    json_decref(o);
}

static void eb_fuzz_check_request_spec(const EbJobSpec *spec)
{
    const char *in = spec->input;

    if (!in || (strncmp(in, "/tmp/", 5) && strncmp(in, "/nonexistent-uploads/", 21)))
        abort();
    if (!spec->source || !spec->format_set)
        abort();
    if (spec->segment_seconds < 1 || spec->segment_seconds > 60 || spec->priority < 0 ||
        spec->priority > 9)
        abort();
    if (spec->video_id && !eb_storage_id_valid(spec->video_id))
        abort();
    if (!spec->preset[0] || !spec->backend[0] || !spec->fallback[0] ||
        (!spec->ladder_inline && !spec->ladder_name[0]))
        abort();
    /* What a request cannot set. */
    if (spec->storage_root || spec->config_path || spec->nb_input_roots || spec->nb_secrets)
        abort();
    eb_fuzz_round_trip(spec);
}

static void eb_fuzz_spec(const uint8_t *data, size_t size)
{
    EbJobSpec spec;
    EbJobSpecError err;

    eb_job_spec_init(&spec);
    if (eb_job_spec_parse((const char *)data, size, NULL, &spec, &err) == 0) {
        if (!spec.input)
            abort();
        eb_fuzz_round_trip(&spec);
    } else if (!err.message[0] || strncmp(err.message, err.field, strlen(err.field))) {
        abort();
    }
    eb_job_spec_clear(&spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EbJobRequestContext ctx;
    EbJobRequestError err;
    EbJobSpec spec;
    int ret;

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
    eb_job_spec_init(&spec);
    ret = eb_job_request_parse(&ctx, (const char *)data, size, &spec, &err);
    if (ret == 0)
        eb_fuzz_check_request_spec(&spec);
    else if ((err.status != 400 && err.status != 403) || !err.message[0])
        abort();
    eb_job_spec_clear(&spec);
    eb_fuzz_spec(data, size);
    return 0;
}
