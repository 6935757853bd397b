/*
 * A process's memory ceiling: what keeps one runaway job (a playlist that
 * includes itself, a file with a thousand streams) from taking the box's
 * memory. A job's worker sets RLIMIT_DATA on itself before any work: the
 * private writable memory it may map (heap, anonymous mappings, thread
 * stacks), close to what it really uses, and unlike RLIMIT_AS blind to
 * address space a GPU driver reserves without touching. Past it an
 * allocation fails (ENOMEM; a thread that cannot get its stack, EAGAIN),
 * the job fails, and the worker's error line says the ceiling was the
 * cause. Glibc's malloc arenas are capped too: each is a 64 MiB mapping,
 * and a worker runs dozens of encoder threads.
 */
#ifndef EB_MEMORY_H
#define EB_MEMORY_H

#include <stdint.h>

/* The default ceiling of one of max_jobs workers: this machine's memory
 * divided by max_jobs, at least EB_MEMORY_MIN_CEILING. */
#define EB_MEMORY_MIN_CEILING (2LL << 30)
int64_t eb_memory_default_ceiling(int max_jobs);

/* Lowers this process's data limit to bytes (never raises it; a lower
 * limit set by whoever started the process stays) and caps the malloc
 * arenas. 0 or a negative errno. Without effect in a sanitizer build
 * (eb_memory_ceiling_supported). */
int eb_memory_ceiling_apply(int64_t bytes);

/* 0 in a build with AddressSanitizer, ThreadSanitizer or MemorySanitizer:
 * their shadow memory is terabytes of mappings, so a ceiling would fail
 * every allocation. */
int eb_memory_ceiling_supported(void);

/* Whether a job that failed with err (a negative errno) ran into this
 * process's ceiling; fills the ceiling in bytes. With Linux's overcommit
 * an allocation that fails under a ceiling has met it: ENOMEM, or EAGAIN
 * from a thread that got no stack. x264 and x265 call a failed allocation
 * a generic error (AVERROR_EXTERNAL): that one counts when the process's
 * peak resident memory reached EB_MEMORY_HIT_RSS_PERCENT of the ceiling
 * (measured: a 1080p ladder under a 300 MiB ceiling fails at 100 MiB
 * resident, its allocations' other part never touched), so a codec's
 * other errors are not blamed on a ceiling far above what the job used. */
#define EB_MEMORY_HIT_RSS_PERCENT 25
int eb_memory_ceiling_hit(int err, int64_t *limit);

#endif
