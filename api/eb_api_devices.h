/*
 * The daemon's device view, shared by GET /v1/devices and /metrics: every
 * backend of this build with its probe result and its HAL inventory
 * (eb_hal_inventory), and per device the sessions every encbox process
 * holds on it now (eb_sessions_usage) against the limits the
 * configuration's `devices` entries set.
 *
 * Session accounting follows the HAL's one rule, which the worker
 * (pipelines/eb_vod.c) follows too: hal/eb_sessions_policy.h. Keys are
 * "nvidia" for every CUDA device (NVENC's consumer cap is system-wide) and
 * the render node's name for VA-API and QSV ("/dev/dri/renderD128" ->
 * "renderD128"; a QSV device that names no render node counts on
 * renderD128); software jobs take no sessions.
 * Limits: the `devices` entry naming the device, else the backend's "*"
 * entry, else eb_sessions_default_limits() (5 NVENC encodes, 32 VA-API/QSV,
 * 32 decodes); the configuration sets no decode limit.
 */
#ifndef EB_API_DEVICES_H
#define EB_API_DEVICES_H

#include <jansson.h>
#include <stdio.h>

#include "eb_config.h"
#include "eb_sessions.h"

#define EB_API_INVENTORY_TTL 30.0 /* seconds an inventory is reused */

typedef struct EbApiDevices EbApiDevices;

/* cfg must outlive the view. Sessions are read from sessions_dir (NULL:
 * $EB_SESSIONS_DIR or the default); when that cannot be opened the view
 * still works, without session figures (logged once). */
int eb_api_devices_open(const EbConfig *cfg, const char *sessions_dir, EbApiDevices **out);
void eb_api_devices_close(EbApiDevices **d);

/* {"backends":[...]} as GET /v1/devices answers (api/openapi.yaml); new
 * reference, NULL without memory. */
json_t *eb_api_devices_json(EbApiDevices *d);

/* Appends the encbox_device_sessions and encbox_device_session_limit
 * families (HELP, TYPE and samples) to f. */
void eb_api_devices_metrics(EbApiDevices *d, FILE *f);

/* The accounting key of backend's device (a HAL device name):
 * eb_sessions_key(), and "" for software or no device (""). */
void eb_api_session_key(const char *backend, const char *device, char *key, size_t size);

/* The session limits of backend's device (see above); *configured (may be
 * NULL) says whether a `devices` entry applies. Software: all 0. */
void eb_api_session_limits(const EbConfig *cfg, const char *backend, const char *device,
                           EbSessionLimits *out, int *configured);

/* ---- admission: the scheduler's question before it starts a job ----
 *
 * A hardware job takes one encode session per rung and one decode session
 * on its device, counted across every encbox process (eb_sessions). The
 * scheduler asks before starting the head of the queue, so a job waits in
 * the queue (where priorities still apply) rather than in a worker.
 *
 * eb_api_admission_decide() is the pure rule: 1 (start) when the need fits
 * in the limits beside what is in use, 0 (wait; why says for what). A need
 * beyond the limits themselves is admitted: it could never fit, so the
 * worker's own request is refused and the fallback policy decides. */
int eb_api_admission_decide(const char *key, int need_encode, int need_decode,
                            const EbSessionLimits *lim, int enc_in_use, int dec_in_use, char *why,
                            size_t size);

/* Resolves the backend a job would run on ("auto" or NULL: the first usable
 * one of the cached probes, as the worker's eb_hal_choose picks), and for a
 * usable hardware backend applies eb_api_admission_decide to its default
 * device with nb_rungs encodes + 1 decode. Software, unusable backends (the
 * worker falls back or fails) and a view without session accounting: 1. */
int eb_api_devices_admit(EbApiDevices *d, const char *backend, int nb_rungs, char *why,
                         size_t size);

#endif
