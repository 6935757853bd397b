/*
 * The appliance's configuration: one YAML file (default
 * /etc/encbox/encbox.yaml), one table of settings (eb_config_table.c) that
 * drives parsing, validation, defaults, `encbox config show`, the example
 * file and the settings reference. Every error is collected with the file
 * and line it comes from, so `encbox config check` can list them all.
 *
 * Ownership: an EbConfig owns every string, list and array it points to;
 * eb_config_free() releases them. EbConfigErrors owns its messages;
 * eb_config_errors_free() releases them. Both may be zero-initialised.
 *
 * Secrets: the config holds *paths* to token and key files, never their
 * contents; nothing here reads those files.
 */
#ifndef EB_CONFIG_H
#define EB_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eb_ladder.h"

#define EB_CONFIG_DEFAULT_PATH "/etc/encbox/encbox.yaml"
#define EB_CONFIG_NB_SETTINGS 61          /* rows of the settings table */
#define EB_CONFIG_MAX_FILE_SIZE (1 << 20) /* a longer file is refused */
#define EB_CONFIG_MAX_LIST 64             /* items in one list setting */
#define EB_CONFIG_MAX_LADDERS 64          /* ladder presets */
#define EB_CONFIG_MAX_DEVICES 64          /* device limit entries */
#define EB_CONFIG_MAX_ERRORS 100          /* errors kept; more are counted */
#define EB_LADDER_NAME_MAX 32             /* sizeof(EbLadder.name) */

/* ---- errors --------------------------------------------------------- */

typedef struct EbConfigError {
    char *file; /* "encbox.yaml", or "command line" */
    int line;   /* 1-based; 0: the whole file; -1: no line */
    char message[256];
} EbConfigError;

typedef struct EbConfigErrors {
    int nb;         /* errors kept in items */
    int nb_dropped; /* errors after EB_CONFIG_MAX_ERRORS, counted only */
    int cap;
    EbConfigError *items;
} EbConfigErrors;

/* Total number of errors seen (kept + dropped). */
int eb_config_errors_count(const EbConfigErrors *errs);
/* Writes each error as "FILE:LINE: message" (or "FILE: message" without a
 * line), one per line, then "... and N more errors" if some were dropped. */
void eb_config_errors_print(const EbConfigErrors *errs, FILE *f);
/* Frees every message and zeroes *errs, ready for reuse. */
void eb_config_errors_free(EbConfigErrors *errs);

/* ---- the configuration ---------------------------------------------- */

typedef enum EbConfigSource {
    EB_CONFIG_FROM_DEFAULT = 0,
    EB_CONFIG_FROM_FILE,
    EB_CONFIG_FROM_COMMAND_LINE,
} EbConfigSource;

/* Where a setting's value came from. */
typedef struct EbConfigOrigin {
    EbConfigSource source;
    int line; /* for EB_CONFIG_FROM_FILE: 1-based line of its key */
} EbConfigOrigin;

/* A list of strings; items are owned by the list. */
typedef struct EbStrList {
    int nb;
    char **items;
} EbStrList;

/* "WIDTHxHEIGHT" (resolution) or "COLSxROWS" (thumbnail grid). */
typedef struct EbDim {
    int width, height;
} EbDim;

/* Session and memory limits for one device (or every device) of a backend. */
typedef struct EbDeviceLimit {
    char backend[16];      /* "nvidia", "vaapi", "qsv", "software" */
    char device[64];       /* "*" (every device of the backend) or a device
                            * name as the HAL reports it: "cuda:0",
                            * "/dev/dri/renderD128", "cpu" */
    int max_sessions;      /* concurrent encode sessions; 0 = backend's own */
    int64_t memory_budget; /* bytes of device memory jobs may use; 0 = no budget */
    int max_height;        /* tallest rung it may encode; 0 = backend's usual
                            * limit, eb_config_device_max_height() */
} EbDeviceLimit;

/* Where each ladder preset came from, and the line of each rung (so checks
 * that run after parsing can still point at the rung). */
typedef struct EbLadderSource {
    EbConfigOrigin origin;
    int rung_line[EB_LADDER_MAX_RUNGS];
    int broken; /* the preset had parse errors: later checks skip it */
} EbLadderSource;

/*
 * Every setting, as eb_config_defaults() fills it. Names in comments are the
 * setting names in the file (sections are YAML mappings: `api:` then
 * `listen:` is "api.listen"). Strings are never NULL after
 * eb_config_defaults(); "" means unset.
 */
typedef struct EbConfig {
    char *name;                           /* name: "encbox" */
    char *storage_root;                   /* storage.root: "/var/lib/encbox" */
    char *storage_uploads;                /* storage.uploads: "uploads" (relative: under root) */
    char *s3_endpoint;                    /* storage.s3.endpoint: "" (no object store) */
    char *s3_bucket;                      /* storage.s3.bucket: "" */
    char *s3_region;                      /* storage.s3.region: "us-east-1" */
    char *s3_prefix;                      /* storage.s3.prefix: "" */
    char *s3_credentials_file;            /* storage.s3.credentials_file: "" (environment) */
    int s3_path_style;                    /* storage.s3.path_style: true */
    int64_t s3_part_size;                 /* storage.s3.part_size: 16M bytes */
    char *s3_public_base_url;             /* storage.s3.public_base_url: "" */
    EbStrList input_roots;                /* inputs.roots: [] */
    EbStrList api_listen;                 /* api.listen: ["127.0.0.1:8080"] */
    char *api_tls_cert;                   /* api.tls_cert: "" */
    char *api_tls_key;                    /* api.tls_key: "" */
    EbStrList api_token_files;            /* api.token_files: [] */
    EbStrList api_cors_origins;           /* api.cors_origins: [] */
    char *api_public_base_url;            /* api.public_base_url: "" (from the request) */
    char *api_signing_key_file;           /* api.signing_key_file: "" (links unsigned) */
    int64_t api_link_lifetime;            /* api.link_lifetime: 1h, seconds */
    int api_metrics_auth;                 /* api.metrics_auth: false */
    char *jobs_database; /* jobs.database: "jobs.db" (relative: under root), or postgresql:// */
    int64_t jobs_history;                 /* jobs.history_retention: 30d, seconds; 0 = forever */
    int64_t jobs_lease;                   /* jobs.lease: 30s, seconds */
    char jobs_backend[16];                /* jobs.backend: "auto" */
    char jobs_fallback[16];               /* jobs.fallback: "auto" */
    double jobs_segment_seconds;          /* jobs.segment_seconds: 6 */
    char jobs_format[8];                  /* jobs.format: "cmaf" */
    char jobs_preset[16];                 /* jobs.preset: "veryfast" */
    char jobs_ladder[EB_LADDER_NAME_MAX]; /* jobs.ladder: "default" */
    EbStrList backends_enabled;           /* backends.enabled: [nvidia, vaapi, qsv, software] */
    int nb_devices;                       /* devices: [] */
    EbDeviceLimit *devices;
    int nb_ladders; /* ladders: {default: eb_ladder_default()} */
    EbLadder *ladders;
    EbLadderSource *ladder_sources; /* parallel to ladders */
    int thumbs_enabled;             /* thumbnails.enabled: true */
    double thumbs_interval;         /* thumbnails.interval: 5 seconds */
    int thumbs_width;               /* thumbnails.width: 160 pixels */
    EbDim thumbs_grid;              /* thumbnails.grid: 10x10 */
    int limits_max_jobs;            /* limits.max_jobs: 4 */
    int64_t limits_max_input_size;  /* limits.max_input_size: 50G bytes */
    int64_t limits_max_duration;    /* limits.max_duration: 12h, seconds */
    EbDim limits_max_resolution;    /* limits.max_resolution: 7680x4320 */
    int64_t limits_worker_memory;   /* limits.worker_memory: 0 (auto) bytes */
    char *limits_bench_report;      /* limits.bench_report: "" (no measured capacity) */
    char *webhooks_url;             /* webhooks.url: "" (none) */
    char *webhooks_secret_file;     /* webhooks.secret_file: "" (unsigned) */
    char log_level[8];              /* log.level: "info" */
    char log_format[8];             /* log.format: "text" */
    char *live_srt_listen;          /* live.srt_listen: "" (SRT ingest off); "HOST:PORT" */
    char *live_rtmp_listen;         /* live.rtmp_listen: "" (RTMP ingest off); "HOST:PORT" */
    char *live_public_host;         /* live.public_host: "" (the listen host, or this
                                     * machine's name for 0.0.0.0 / [::]) */
    double live_segment_seconds;    /* live.segment_seconds: 2 */
    double live_part_seconds;       /* live.part_seconds: 0.334 */
    double live_window_seconds;     /* live.window_seconds: 60 */
    double live_capacity_mpixels;   /* live.capacity_mpixels: 0 (the estimate) */
    double live_worker_timeout;     /* live.worker_timeout_seconds: 20 */
    int chat_max_chars;             /* chat.max_chars: 500 */
    double chat_rate;               /* chat.messages_per_second: 2 */
    int chat_viewers;               /* chat.viewers_per_channel: 500 */
    int chat_history;               /* chat.history: 100 */
    int chat_keep_days;             /* chat.keep_days: 30 */
    double chat_channel_rate;       /* chat.channel_messages_per_second: 50 */

    char *path;                                   /* file the values came from; NULL: none */
    EbConfigOrigin origin[EB_CONFIG_NB_SETTINGS]; /* per table row */
} EbConfig;

/* Fills *cfg with the built-in defaults (any previous content is NOT freed:
 * pass a zeroed or freed struct). Returns 0 or EB_ERR(ENOMEM). Free with
 * eb_config_free(). */
int eb_config_defaults(EbConfig *cfg);

/* Loads a configuration file over the defaults and validates it, collecting
 * every error in *errs (appended; errs may hold earlier errors).
 * path NULL: EB_CONFIG_DEFAULT_PATH, and a missing default file is not an
 * error (built-in defaults). An explicit path that cannot be read is an
 * error. *out is always filled (defaults where the file failed) and must be
 * freed with eb_config_free(). Returns 0 when no error was found, otherwise
 * EB_ERR(EINVAL) (or EB_ERR(ENOMEM)). */
int eb_config_load(const char *path, EbConfig *out, EbConfigErrors *errs);

/* Same, from a buffer; name is used in error messages and as cfg->path. */
int eb_config_load_buffer(const char *buf, size_t len, const char *name, EbConfig *out,
                          EbConfigErrors *errs);

/* Sets one setting from the command line; value is YAML ("5M", "[a, b]").
 * Errors go to *errs as "command line: ...". Does not re-run cross-field
 * checks: call eb_config_validate() after the last one. Returns 0 or
 * EB_ERR(EINVAL) / EB_ERR(ENOENT) (no such setting). */
int eb_config_set(EbConfig *cfg, const char *name, const char *value, EbConfigErrors *errs);

/* Cross-field checks (ladders against devices, job defaults against
 * backends and presets, TLS pairs, open API without tokens). Run by
 * eb_config_load(). Returns 0 or EB_ERR(EINVAL). */
int eb_config_validate(const EbConfig *cfg, EbConfigErrors *errs);

/* Frees everything *cfg owns and zeroes it. Safe on a zeroed struct. */
void eb_config_free(EbConfig *cfg);

/* The preset of that name, or NULL. The pointer lives as long as cfg. */
const EbLadder *eb_config_find_ladder(const EbConfig *cfg, const char *name);

/* Effective tallest rung a device may encode (max_height or the backend's
 * usual limit: 2160 for hardware H.264 encoders, 4320 for software). */
int eb_config_device_max_height(const EbDeviceLimit *dev);

/* Tallest rung any enabled backend of cfg may encode. */
int eb_config_max_encode_height(const EbConfig *cfg);

/* ---- ladders outside the config file ------------------------------- */

/* Loads one ladder in the config's own syntax (a preset's body: `rungs:`,
 * `audio:`, and an optional `name:`; without one the name is the file's
 * base name). Used by `--ladder FILE`. *out is filled (zeroed on failure).
 * Returns 0, or EB_ERR(EINVAL) with the errors in *errs. */
int eb_ladder_load_file(const char *path, EbLadder *out, EbConfigErrors *errs);

/* Same from a buffer: YAML, or JSON (a JSON object is YAML too), so the
 * API's job JSON can pass its "ladder" object through the same schema.
 * name is used in errors and as the default ladder name. */
int eb_ladder_load_buffer(const char *buf, size_t len, const char *name, EbLadder *out,
                          EbConfigErrors *errs);

/* Checks a ladder from a file or the API against what cfg's devices can
 * encode. Returns 0 or EB_ERR(EINVAL) with errors (file "ladder NAME"). */
int eb_config_check_ladder(const EbConfig *cfg, const EbLadder *ladder, EbConfigErrors *errs);

/* ---- reload ---------------------------------------------------------- */

/* Changed settings between two configs, split by whether a running daemon
 * can apply them (SIGHUP) or needs a restart. Names point into the static
 * settings table. */
typedef struct EbConfigDiff {
    int nb_runtime;
    const char *runtime[EB_CONFIG_NB_SETTINGS];
    int nb_restart;
    const char *restart[EB_CONFIG_NB_SETTINGS];
} EbConfigDiff;

/* Fills *diff; returns the number of changed settings. */
int eb_config_diff(const EbConfig *old_cfg, const EbConfig *new_cfg, EbConfigDiff *diff);

/* ---- the settings table ---------------------------------------------- */

typedef enum EbSettingType {
    EB_SETTING_STRING,   /* char * (size 0) or char[size] */
    EB_SETTING_PATH,     /* a string that is a normalised path */
    EB_SETTING_ENUM,     /* a string from values[] */
    EB_SETTING_BOOL,     /* int: true/false, yes/no, on/off */
    EB_SETTING_INT,      /* int */
    EB_SETTING_DOUBLE,   /* double */
    EB_SETTING_BITRATE,  /* int64_t bits/s: "5M", "2500k", "600000" */
    EB_SETTING_SIZE,     /* int64_t bytes: "50G", "512M" (powers of 1024) */
    EB_SETTING_DURATION, /* int64_t seconds: "30d", "1h", "90m", "45s", "45" */
    EB_SETTING_DIM,      /* EbDim: "1920x1080" */
    EB_SETTING_LIST,     /* EbStrList of elem_type (STRING, PATH or ENUM) */
    EB_SETTING_DEVICES,  /* EbDeviceLimit array (eb_config_device_settings) */
    EB_SETTING_LADDERS,  /* EbLadder array (eb_config_ladder_settings) */
    EB_SETTING_RUNGS,    /* EbLadder.rungs (eb_config_rung_settings) */
} EbSettingType;

enum {
    EB_SETTING_RUNTIME = 1 << 0,   /* a running daemon can apply a change */
    EB_SETTING_REQUIRED = 1 << 1,  /* no default: must be given (records) */
    EB_SETTING_NONEMPTY = 1 << 2,  /* "" / [] not allowed */
    EB_SETTING_RELATIVE = 1 << 3,  /* path may be relative to storage.root */
    EB_SETTING_ZERO_OK = 1 << 4,   /* 0 allowed outside [min, max] (auto/off) */
    EB_SETTING_EVEN = 1 << 5,      /* integer must be even */
    EB_SETTING_FILE_ONLY = 1 << 6, /* only in a ladder file (its name) */
};

/* Returns NULL if value is acceptable, else what it should look like
 * ("an address:port like 127.0.0.1:8080"). */
typedef const char *(*EbSettingCheck)(const char *value);

typedef struct EbSetting {
    const char *name; /* "api.listen": section.key */
    EbSettingType type;
    EbSettingType elem_type;   /* EB_SETTING_LIST only */
    size_t offset;             /* into EbConfig / EbLadder / EbRung / EbDeviceLimit */
    size_t size;               /* inline char buffer size; 0 = char * */
    const char *def;           /* default as text ("6", "5M", "a, b" for lists);
                                * NULL: none (REQUIRED, or built elsewhere) */
    double min, max;           /* numeric bounds (inclusive); both 0: none */
    const char *const *values; /* ENUM: allowed values, NULL-terminated */
    EbSettingCheck check;      /* extra check on strings and list items */
    unsigned flags;            /* EB_SETTING_* */
    const char *help;
} EbSetting;

/* The settings tables: the file's top level, one ladder preset, one rung,
 * one device entry. *nb receives the row count. */
const EbSetting *eb_config_settings(int *nb);
const EbSetting *eb_config_ladder_settings(int *nb);
const EbSetting *eb_config_rung_settings(int *nb);
const EbSetting *eb_config_device_settings(int *nb);

/* The row of that name in the top-level table, or NULL. */
const EbSetting *eb_config_find_setting(const char *name);

/* ---- writers (show, example, docs) ----------------------------------- */

/* The effective configuration as YAML that loads back to the same values,
 * each value marked with where it came from (default, FILE:LINE, command
 * line). Token/key files appear as paths only. Returns 0 or EB_ERR(EIO). */
int eb_config_write_show(const EbConfig *cfg, FILE *f);

/* The example file: every setting at its default, documented from the
 * table. firmware-config/encbox.example.yaml is this output. */
int eb_config_write_example(FILE *f);

/* The settings reference in Markdown (firmware-config/SETTINGS.md). */
int eb_config_write_docs(FILE *f);

/* ---- command line ----------------------------------------------------- */

/* `encbox config ...`: argv[0] is "config", then
 *   check [FILE...]           every error as FILE:LINE: message
 *   check-ladder FILE         a --ladder file
 *   show [--config FILE] [--set NAME=VALUE]...
 *   example | docs            the generated example file / reference
 * Returns the exit code: 0 ok, 1 errors found, 2 usage. */
int eb_config_cli(int argc, char **argv);
/* Same, writing to out and err instead of stdout and stderr. */
int eb_config_cli_run(int argc, char **argv, FILE *out, FILE *err);

#endif
