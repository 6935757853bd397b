/*
 * Session accounting per device, across every encbox process on the box
 * (the daemon's workers and any CLI job): concurrent encode sessions,
 * decode sessions and a device-memory budget. Consumer NVIDIA cards cap
 * concurrent NVENC sessions per system, so the count cannot live in one
 * process's memory.
 *
 * A job asks for what it needs (N encodes + 1 decode + memory) and is
 * admitted at once or waits, with a timeout, until enough is free, or until
 * eb_sessions_cancel(). A lease is released by eb_sessions_release(), or by
 * the kernel when its process dies, however it dies (see eb_sessions.c).
 */
#ifndef EB_SESSIONS_H
#define EB_SESSIONS_H

#include <stdint.h>

/* Default directory of the lock files; EB_SESSIONS_DIR in the environment
 * overrides it, and eb_sessions_open() takes another (tests). */
#define EB_SESSIONS_DIR_DEFAULT "/run/encbox/sessions"
/* Memory is counted in units of this size. */
#define EB_SESSIONS_MEM_UNIT (16 * 1024 * 1024)
/* Most slots of one kind per device (encodes, decodes, memory units). */
#define EB_SESSIONS_MAX_SLOTS 65536

typedef struct EbSessionLimits {
    int max_encode;       /* concurrent encode sessions; 0: no encode allowed */
    int max_decode;       /* concurrent decode sessions */
    int64_t memory_bytes; /* device memory budget; 0: not accounted */
} EbSessionLimits;

typedef struct EbSessionRequest {
    const char *device; /* accounting key: "nvidia" (system-wide NVENC cap),
                         * "cuda:0", "renderD128"; [A-Za-z0-9_.:-] */
    int encode, decode;
    int64_t memory; /* bytes; ignored when the budget is 0 */
} EbSessionRequest;

typedef struct EbSessions EbSessions;
typedef struct EbSessionLease EbSessionLease;

/* Opens the accounting in dir (NULL: $EB_SESSIONS_DIR or the default),
 * creating the directory. *out freed with eb_sessions_close(), which needs
 * every lease released first. */
int eb_sessions_open(const char *dir, EbSessions **out);
void eb_sessions_close(EbSessions **s);

/* Admits the request or waits: timeout_ms 0 tries once, < 0 waits without
 * limit. Returns 0 with *out (owned by the caller, eb_sessions_release),
 * -ETIMEDOUT, EB_ERR_CANCELED, -E2BIG (the request exceeds the limits: it
 * could never be admitted) or another negative errno. All or nothing: a
 * waiting request holds nothing. Thread-safe. */
int eb_sessions_acquire(EbSessions *s, const EbSessionRequest *req, const EbSessionLimits *lim,
                        int timeout_ms, EbSessionLease **out);

/* Releases the lease's sessions and frees it; *l becomes NULL. */
void eb_sessions_release(EbSessionLease **l);

/* Wakes every waiter of s with EB_ERR_CANCELED, now and later. */
void eb_sessions_cancel(EbSessions *s);

/* What every process holds on device now (bounded by the limits' sizes).
 * Any out pointer may be NULL. */
int eb_sessions_usage(EbSessions *s, const char *device, const EbSessionLimits *lim, int *encode,
                      int *decode, int64_t *memory);

#endif
