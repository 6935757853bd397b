/*
 * POST /v1/jobs bodies: parsing and validation, apart from HTTP so the
 * fuzz target (api/fuzz/) can drive it. A request is checked field by
 * field against the job schema (api/openapi.yaml); the first problem is
 * reported with the HTTP status and the field it concerns. Inputs are
 * resolved here: "upload:<id>" to the upload folder, a path with realpath
 * and confined to the input roots.
 */
#ifndef EB_JOB_REQUEST_H
#define EB_JOB_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "eb_config.h"

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

/* Parses body (len bytes, not necessarily NUL-terminated). On success
 * returns 0 and *spec, a new object the caller owns, with every field
 * filled (defaults from ctx->cfg) and "input" resolved; video_id is
 * absent when the request had none. Otherwise returns EB_ERR(EINVAL)
 * (or EB_ERR(ENOMEM)) with *err filled and *spec NULL. */
int eb_job_request_parse(const EbJobRequestContext *ctx, const char *body, size_t len,
                         json_t **spec, EbJobRequestError *err);

#endif
