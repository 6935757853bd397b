/*
 * The one monotonic clock every stage times itself with (queue waits,
 * encode and mux time, session deadlines, benchmarks): CLOCK_MONOTONIC, so
 * a wall-clock step (NTP, an operator's `date`) never shows up as a stall
 * or a negative duration; and the wall clock, for times that are stored.
 * Header-only: each is one system call.
 */
#ifndef EB_CLOCK_H
#define EB_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary fixed point. */
static inline uint64_t eb_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same in seconds. */
static inline double eb_clock_seconds(void)
{
    return (double)eb_clock_ns() / 1e9;
}

/* The wall clock, unix seconds: for what is stored or shown (job and chat
 * times, leases' local reads, signatures), never for durations. */
static inline double eb_clock_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
