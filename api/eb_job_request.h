/*
 * POST /v1/jobs bodies: parsing and validation, apart from HTTP so the
 * fuzz target (api/fuzz/) can drive it. What is the API's own is checked
 * here: the request's fields (api/openapi.yaml), its input, resolved
 * ("upload:<id>" to the upload folder, a path with realpath and confined
 * to the input roots), and the defaults it gets from the configuration.
 * The job itself comes out of the job spec codec (eb_job_spec.h), checked
 * against this daemon's configuration and build, so a request and a
 * worker's spec agree field for field. The first problem is reported
 * with the HTTP status and the field it concerns.
 */
#ifndef EB_JOB_REQUEST_H
#define EB_JOB_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "eb_config.h"
#include "eb_job_spec.h"

#define EB_UPLOAD_ID_LEN 32

typedef struct EbJobRequestContext {
    const EbConfig *cfg;      /* defaults, ladder presets, device limits */
    const char *uploads;      /* the upload folder */
    const char *const *roots; /* realpaths of the input roots */
    int nb_roots;
    const char *const *backends; /* NULL-terminated backend names of this build */
} EbJobRequestContext;

typedef struct EbJobRequestError {
    unsigned status; /* 400, 403 or 413 */
    char field[64];  /* "" when the body as a whole is wrong */
    char message[512];
} EbJobRequestError;

/* Parses body (len bytes, not necessarily NUL-terminated) into *spec
 * (eb_job_spec_init'ed by the caller, who clears it with
 * eb_job_spec_clear() whatever the outcome). On success returns 0 with
 * every job field of *spec set (defaults from ctx->cfg), input resolved,
 * source the input as requested, and video_id NULL when the request had
 * none. Otherwise returns EB_ERR(EINVAL) (or EB_ERR(ENOMEM)) with *err
 * filled. */
int eb_job_request_parse(const EbJobRequestContext *ctx, const char *body, size_t len,
                         EbJobSpec *spec, EbJobRequestError *err);

#endif
