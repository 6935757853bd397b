/*
 * Memory ceiling of a job's worker (see eb_memory.h): RLIMIT_DATA.
 */
#include "eb_memory.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libavutil/error.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EB_MEMORY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define EB_MEMORY_SANITIZED 1
#endif
#endif
#ifndef EB_MEMORY_SANITIZED
#define EB_MEMORY_SANITIZED 0
#endif

int eb_memory_ceiling_supported(void) { return !EB_MEMORY_SANITIZED; }

/* Malloc arenas per process: enough for the encoder threads not to queue
 * on one lock, few enough that their reservations stay small. */
#define EB_MEMORY_ARENAS 4

int64_t eb_memory_default_ceiling(int max_jobs)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int64_t share;

    if (pages <= 0 || page <= 0)
        return EB_MEMORY_MIN_CEILING;
    share = (int64_t)pages * page / (max_jobs > 0 ? max_jobs : 1);
    return share > EB_MEMORY_MIN_CEILING ? share : EB_MEMORY_MIN_CEILING;
}

int eb_memory_ceiling_apply(int64_t bytes)
{
    struct rlimit rl;

    mallopt(M_ARENA_MAX, EB_MEMORY_ARENAS);
    if (bytes <= 0 || !eb_memory_ceiling_supported())
        return 0;
    if (getrlimit(RLIMIT_DATA, &rl) < 0)
        return -errno;
    if (rl.rlim_cur != RLIM_INFINITY && (int64_t)rl.rlim_cur <= bytes)
        return 0;
    rl.rlim_cur = (rlim_t)bytes;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    return setrlimit(RLIMIT_DATA, &rl) < 0 ? -errno : 0;
}

int eb_memory_ceiling_hit(int err, int64_t *limit)
{
    struct rlimit rl;

    *limit = 0;
    if (getrlimit(RLIMIT_DATA, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    *limit = (int64_t)rl.rlim_cur;
    if (err == -ENOMEM || err == -EAGAIN)
        return 1;
    if (err == AVERROR_EXTERNAL) {
        struct rusage ru;
        return getrusage(RUSAGE_SELF, &ru) == 0 &&
               (int64_t)ru.ru_maxrss * 1024 * 100 >= *limit * EB_MEMORY_HIT_RSS_PERCENT;
    }
    return 0;
}
