/*
 * Which session-accounting key a device counts on, and the limits a device
 * gets without a configured `devices` entry: the one rule the worker
 * (pipelines/eb_vod.c) and the daemon's device view (api/eb_api_devices.c)
 * both follow. Pure: no I/O, no state.
 *
 * Keys: "nvidia" for every CUDA device (consumer cards cap concurrent NVENC
 * sessions per system, not per card); the render node's name for VA-API
 * and QSV ("/dev/dri/renderD129" -> "renderD129", "qsv:/dev/dri/renderD130"
 * -> "renderD130"); a VA-API/QSV device that names no render node ("qsv:hw",
 * none) counts on "renderD128", the node libavutil and va_device_open()
 * pick by default. Keys only hold [A-Za-z0-9_.:-] (others become '_'), as
 * eb_sessions_acquire() requires. Software takes no sessions: no key.
 */
#ifndef EB_SESSIONS_POLICY_H
#define EB_SESSIONS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "eb_sessions.h"

/* Encode sessions without a max_sessions: NVIDIA's consumer NVENC cap of
 * the 535 driver series (system-wide; data-centre cards have none), and a
 * sane bound for VA-API/QSV, which have no driver cap. Decode sessions are
 * capped by no driver; the bound only keeps the lock files small. */
#define EB_SESSIONS_NVENC_DEFAULT_ENCODE 5
#define EB_SESSIONS_VA_DEFAULT_ENCODE 32
#define EB_SESSIONS_DEFAULT_DECODE 32

/* The accounting key of backend's device (a HAL device name, e.g. dev->name;
 * NULL or "": the backend's default device) into out. Returns 1 (out holds
 * the key), 0 for the software backend (out is ""), EB_ERR(EINVAL) for a
 * NULL backend or out, or EB_ERR(ENAMETOOLONG) when the key does not fit
 * (out is "" then). */
int eb_sessions_key(const char *backend, const char *device, char *out, size_t size);

/* The limits of a device of backend without a configured entry: encode
 * sessions as above, EB_SESSIONS_DEFAULT_DECODE decodes, memory not
 * accounted (0). Software (or NULL): all 0, it takes no sessions. */
void eb_sessions_default_limits(const char *backend, EbSessionLimits *out);

/* A configured per-device limit (the configuration's `devices` entries). */
typedef struct EbSessionsDeviceLimit {
    const char *backend;           /* "nvidia", "vaapi", "qsv" */
    const char *device;            /* "*", "" or NULL: every device of the backend;
                                    * else a device name: "cuda:0", "/dev/dri/renderD128" */
    int max_sessions;              /* concurrent encode sessions; 0: the backend's default */
    int64_t memory_budget;         /* bytes; 0: memory not accounted */
} EbSessionsDeviceLimit;

/* The limits of backend's device from a table of configured entries: the
 * first entry naming exactly that device, else the first for every device
 * of the backend, over the defaults above; software ignores entries (it
 * takes no sessions). *configured (may be NULL) says whether an entry
 * applied. The one matching rule the worker and the daemon follow. */
void eb_sessions_limits_for(const EbSessionsDeviceLimit *table, int nb, const char *backend,
                            const char *device, EbSessionLimits *out, int *configured);

#endif
