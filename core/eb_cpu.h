/*
 * Where a process's CPU time went, by thread name. encbox names its threads
 * by stage (eb-demux, eb-fanout, eb-enc-<rung>), and threads a library
 * starts (x264's slice and lookahead threads) inherit the name of the thread
 * that created them, so summing by name gives a per-stage figure that
 * includes the encoder's own helpers. The kernel keeps a thread's counters
 * only while it lives: a stage thread records its own time before it exits
 * (eb_cpu_thread_seconds), library threads are read while they are still
 * alive (eb_cpu_by_thread_name, before the encoders are closed).
 */
#ifndef EB_CPU_H
#define EB_CPU_H

#define EB_CPU_NAME_MAX 16 /* the kernel keeps 15 characters */

typedef struct EbCpuUse {
    char name[EB_CPU_NAME_MAX];
    double seconds; /* user + system */
    int threads;
} EbCpuUse;

/* CPU seconds (user + system) of the calling thread so far. */
double eb_cpu_thread_seconds(void);

/* CPU seconds (user + system) of the whole process so far, threads that
 * have exited included. */
double eb_cpu_process_seconds(void);

/* Sums the CPU time of this process's live threads by name into out[0..max-1]
 * (one entry per distinct name, in the order first seen). Returns the number
 * of entries, or a negative errno (-ENOENT without /proc). Names beyond max
 * are dropped. */
int eb_cpu_by_thread_name(EbCpuUse *out, int max);

/* Parses one /proc/<pid>/task/<tid>/stat line: the name (between the first
 * '(' and the last ')', which may hold spaces and parentheses) and utime +
 * stime in clock ticks. Returns 0 or -EINVAL. */
int eb_cpu_parse_stat(const char *line, char *name, int name_size, unsigned long long *ticks);

#endif
