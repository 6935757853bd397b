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

#endif
