/*
 * One job, typed (EbJobSpec), and its one JSON codec. The API's request
 * parser produces a spec through it, the job store keeps it as that JSON,
 * the daemon hands it to a worker through it, and `encbox transcode` runs
 * every job, from flags or from a spec, through eb_job_spec_to_vod_options.
 *
 * Why a worker gets its spec as a file descriptor (eb_job_spec_to_memfd,
 * `encbox transcode --spec-fd 4`) and not as flags: a command line is
 * readable by every local user in /proc/<pid>/cmdline and ends up in
 * process listings and logs, and jobs are to carry secrets (stream keys,
 * content keys). The spec's `secrets` are written only where a flag asks
 * for them, and eb_job_spec_log never shows their values.
 *
 * The JSON (api/README.md lists it): "input" (required), "source",
 * "video_id", "overwrite", "ladder" (a preset name, or one ladder object in
 * the configuration's ladder schema), "format", "segment_seconds",
 * "preset", "backend", "fallback", "priority", "storage_root",
 * "input_roots", "config", "thumbnails", "thumbnail_at", "threads",
 * "secrets" ({"name": "value"}). An absent field means "the
 * configuration's setting" (or the default written on the field below);
 * an unknown field is an error.
 *
 * Ownership: an EbJobSpec owns every string it points to;
 * eb_job_spec_clear() wipes the secrets, frees the rest and leaves the
 * spec as eb_job_spec_init() made it.
 */
#ifndef EB_JOB_SPEC_H
#define EB_JOB_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "eb_config.h"
#include "eb_ladder.h"
#include "eb_manifest.h"
#include "eb_s3.h"
#include "eb_vod.h"

#define EB_JOB_SPEC_MAX_SIZE (1 << 20) /* bytes of spec JSON a worker reads at most */
#define EB_JOB_SPEC_MAX_ROOTS 128      /* input_roots entries */
#define EB_JOB_SPEC_MAX_SECRETS 8
#define EB_JOB_SPEC_SECRET_NAME_MAX 32 /* [a-z0-9_]{1,31} */
#define EB_JOB_SPEC_SECRET_MAX 4096    /* bytes of one secret value */

/* One secret a job carries (a stream key, a content key). The name is not
 * secret (it is logged); the value is. */
typedef struct EbJobSecret {
    char name[EB_JOB_SPEC_SECRET_NAME_MAX];
    char *value; /* owned; wiped before it is freed */
} EbJobSecret;

typedef struct EbJobSpec {
    char *input;    /* the file to transcode (required; the API's is resolved) */
    char *source;   /* the input as the API client named it ("upload:<id>"); NULL */
    char *video_id; /* NULL: the job id (API) or the input's name (CLI) */
    int overwrite;  /* replace a published video of that id; default 0 */
    /* The ladder: a preset of the worker's configuration (ladder_name), or
     * the job's own (ladder_inline, ladder). Neither: jobs.ladder. */
    char ladder_name[EB_LADDER_NAME_MAX];
    int ladder_inline;
    EbLadder ladder;
    double segment_seconds; /* 1..60; 0: jobs.segment_seconds */
    int format_set;         /* 0: jobs.format */
    EbOutputFormat format;
    char preset[16];    /* x264 preset name; "": jobs.preset */
    char backend[16];   /* "auto" or a backend; "": jobs.backend */
    char fallback[16];  /* "auto", "none" or a backend; "": jobs.fallback */
    int priority;       /* 0..9, the daemon's queue order; default 5 */
    char *storage_root; /* output goes to <root>/videos/<id>; NULL: storage.root */
    int nb_input_roots; /* the input and what it refers to must lie in one; */
    char *input_roots[EB_JOB_SPEC_MAX_ROOTS + 1]; /* NULL-terminated, added to inputs.roots */
    char *config_path;   /* configuration file the worker loads; NULL: the default */
    int thumbnails;      /* 1 on, 0 off; -1: thumbnails.enabled */
    double thumbnail_at; /* catalog thumbnail time in seconds; < 0: a representative frame */
    int threads;         /* encoder threads per rung, 1..64; 0: by rung size */
    /* "encryption": {"scheme": "aes-128"|"cenc"|"cbcs", "key_provider": "store"}
     * (eb_keys.h); EB_ENCRYPT_NONE: clear. The key provider today is the
     * built-in key store only. */
    int encryption; /* EbEncryptionScheme */
    /* Where the secrets of the features to come go (an RTMP/SRT stream
     * key, a content key): set with eb_job_spec_set_secret, read with
     * eb_job_spec_secret. Written only with EB_JOB_SPEC_JSON_SECRETS,
     * never logged (eb_job_spec_log names them only). */
    int nb_secrets;
    EbJobSecret secrets[EB_JOB_SPEC_MAX_SECRETS];
} EbJobSpec;

/* What went wrong in a spec: the top-level field ("" for the document as
 * a whole) and a message that starts with it ("format: must be ..."). A
 * message never holds a secret's value. */
/* The first key of object that known (NULL-terminated) does not list, or
 * NULL: the one "unknown field" rule of the spec and of API requests. */
const char *eb_job_spec_unknown_field(const json_t *object, const char *const *known);

typedef struct EbJobSpecError {
    char field[64];
    char message[512];
} EbJobSpecError;

/* Checks eb_job_spec_from_json makes beyond the spec's own schema, for a
 * caller that knows more; every member may be NULL. */
typedef struct EbJobSpecCheck {
    const EbConfig *cfg;         /* a ladder name must be one of its presets, an inline
                                  * ladder must fit its devices, and HEVC rules out
                                  * "ts" by its default format too */
    const char *const *backends; /* NULL-terminated: backend and fallback must be one
                                  * of these (or auto/none); NULL: any backend name
                                  * the configuration knows */
} EbJobSpecCheck;

enum {
    EB_JOB_SPEC_JSON_SECRETS = 1 << 0, /* eb_job_spec_to_json writes the secrets' values */
};

/* An empty spec: every field "from the configuration", priority 5. Call it
 * before anything else on a spec; nothing to free yet. */
void eb_job_spec_init(EbJobSpec *spec);

/* Frees what spec owns (secret values wiped first) and re-inits it. */
void eb_job_spec_clear(EbJobSpec *spec);

/* Replaces the owned string *field (spec->input, ->source, ->video_id,
 * ->storage_root, ->config_path) with a copy of value (NULL: none).
 * 0 or EB_ERR(ENOMEM). */
int eb_job_spec_set_string(char **field, const char *value);

/* Appends a copy of dir to spec->input_roots. 0, EB_ERR(ENOSPC) when
 * EB_JOB_SPEC_MAX_ROOTS are there, or EB_ERR(ENOMEM). */
int eb_job_spec_add_input_root(EbJobSpec *spec, const char *dir);

/* Drops every input root (the daemon replaces them with its own). */
void eb_job_spec_clear_input_roots(EbJobSpec *spec);

/* Sets secret name ([a-z0-9_]{1,31}) to a copy of value (non-empty, under
 * EB_JOB_SPEC_SECRET_MAX bytes), replacing one of that name. 0,
 * EB_ERR(EINVAL), EB_ERR(ENOSPC) or EB_ERR(ENOMEM). */
int eb_job_spec_set_secret(EbJobSpec *spec, const char *name, const char *value);

/* The value of secret name, or NULL; the pointer lives as long as the
 * secret in spec. */
const char *eb_job_spec_secret(const EbJobSpec *spec, const char *name);

/* The spec as JSON: *out is a new object the caller owns (json_decref).
 * Fields at their "unset" value are left out. The secrets' values only
 * with EB_JOB_SPEC_JSON_SECRETS (the worker's copy and the job store);
 * without it there is no "secrets" member at all. Returns 0,
 * EB_ERR(ENOMEM), EB_ERR(EINVAL) for a string that is not UTF-8 (JSON
 * cannot hold it), or EB_ERR(ENOSYS) when a ladder setting has a type the
 * writer does not know. */
int eb_job_spec_to_json(const EbJobSpec *spec, unsigned flags, json_t **out);

/* Decodes a spec object (borrowed) into *spec, which is cleared first and
 * holds what was read even on failure (clear it either way). Fields are
 * checked in the order listed at the top of this file, so the first bad
 * one is reported. check may be NULL. Returns 0 or EB_ERR(EINVAL) with
 * *err filled (EB_ERR(ENOMEM) too). */
int eb_job_spec_from_json(const json_t *json, const EbJobSpecCheck *check, EbJobSpec *spec,
                          EbJobSpecError *err);

/* Same from text (len bytes, not necessarily NUL-terminated; duplicate
 * keys are refused). */
int eb_job_spec_parse(const char *text, size_t len, const EbJobSpecCheck *check, EbJobSpec *spec,
                      EbJobSpecError *err);

/* The daemon's side of a worker's spec: the JSON with its secrets in a new
 * memfd, sealed against any change, offset 0, close-on-exec. *fd is the
 * caller's to close (after handing a copy to the worker). 0 or a negative
 * errno. */
int eb_job_spec_to_memfd(const EbJobSpec *spec, int *fd);

/* The worker's side: reads a spec (at most EB_JOB_SPEC_MAX_SIZE bytes,
 * from the fd's offset to its end) and decodes it with no extra checks;
 * the text read is wiped. Does not close fd. 0 or a negative errno (with
 * *err filled). */
int eb_job_spec_read_fd(int fd, EbJobSpec *spec, EbJobSpecError *err);

/* Logs the spec at debug level under module as JSON without the secrets'
 * values (their names only), which is the one way a spec reaches a log. */
void eb_job_spec_log(const EbJobSpec *spec, const char *module);

/* ---- the VOD job (eb_job_spec_vod.c) ------------------------------------ */

/* EbVodOptions with the storage its pointers need beside the spec's and
 * the configuration's. */
typedef struct EbJobVodOptions {
    EbVodOptions vod;
    const char *input_roots[EB_JOB_SPEC_MAX_ROOTS + EB_CONFIG_MAX_LIST + 1];
    EbVodDeviceLimit device_limits[EB_CONFIG_MAX_DEVICES];
    const EbHalBackend *backends[EB_HAL_MAX_DEVICES + 1]; /* backends.enabled, in order */
    char key_store[4096]; /* the key store: "keys" beside the job database */
    EbS3 s3;              /* storage.s3, with its credentials, when set */
} EbJobVodOptions;

/* Fills out->vod (from eb_vod_options_default) with spec over cfg: every
 * field the spec leaves unset comes from cfg, the input roots are the
 * spec's then cfg's, device limits, thumbnail geometry, the input limits
 * (limits.max_duration, limits.max_resolution) and the backends a job may
 * use (backends.enabled, in that order) are cfg's. The
 * backend must be in this build, a ladder name a preset of cfg, an inline
 * ladder must fit cfg's devices and the video id must be valid. out->vod
 * points into spec, cfg and out: all three must outlive it; nothing to
 * free. The caller sets progress, cancel and the like afterwards. Returns
 * 0, EB_ERR(EINVAL) or EB_ERR_BAD_ID with *err filled. */
int eb_job_spec_to_vod_options(const EbJobSpec *spec, const EbConfig *cfg, EbJobVodOptions *out,
                               EbJobSpecError *err);

/* The key store of a box whose storage root is root and jobs.database is
 * database (the daemon's and its workers' rule): "keys" beside a SQLite
 * file (a relative one is under root), or <root>/keys when the database
 * is PostgreSQL (a rack: the storage is shared, and any box may serve a
 * video's license). 0, or -ENAMETOOLONG. */
int eb_job_key_store(const char *root, const char *database, char *out, size_t size);

#endif
