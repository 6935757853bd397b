/*
 * The daemon's device view, shared by GET /v1/devices and /metrics: every
 * backend of this build with its probe result and its HAL inventory
 * (eb_hal_inventory), and per device the sessions every encbox process
 * holds on it now (eb_sessions_usage) against the limits the
 * configuration's `devices` entries set.
 *
 * Session accounting, as the worker does it (pipelines/eb_vod.h,
 * eb_vod_session_request and eb_vod_session_limits; keep the two alike):
 * keys are "nvidia" for every CUDA device (NVENC's consumer cap is
 * system-wide) and the render node's name for VA-API and QSV
 * ("/dev/dri/renderD128" -> "renderD128"; a QSV device that names no render
 * node counts on renderD128); software jobs take no sessions.
 * Limits: the `devices` entry naming the device, else the backend's "*"
 * entry, else the defaults below; the configuration sets no decode limit.
 */
#ifndef EB_API_DEVICES_H
#define EB_API_DEVICES_H

#include <jansson.h>
#include <stdio.h>

#include "eb_config.h"
#include "eb_sessions.h"

#define EB_API_INVENTORY_TTL 30.0 /* seconds an inventory is reused */

/* Defaults without a max_sessions: NVIDIA's consumer NVENC cap of the 535
 * driver series, a bound for VA-API/QSV (no driver cap), and decode
 * (no driver caps it). Equal to EB_VOD_*_SESSIONS in pipelines/eb_vod.h. */
#define EB_API_NVENC_DEFAULT_SESSIONS 5
#define EB_API_VA_DEFAULT_SESSIONS 32
#define EB_API_DEFAULT_DECODE_SESSIONS 32

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

/* The accounting key of backend's device (a HAL device name); "" for
 * software or no device. */
void eb_api_session_key(const char *backend, const char *device, char *key, size_t size);

/* The session limits of backend's device (see above); *configured (may be
 * NULL) says whether a `devices` entry applies. Software: all 0. */
void eb_api_session_limits(const EbConfig *cfg, const char *backend, const char *device,
                           EbSessionLimits *out, int *configured);

#endif
