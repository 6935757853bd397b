/* CPU time by thread name, from /proc/self/task (see eb_cpu.h). */
#include "eb_cpu.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double eb_cpu_thread_seconds(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double eb_cpu_process_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int eb_cpu_parse_stat(const char *line, char *name, int name_size, unsigned long long *ticks)
{
    const char *open = strchr(line, '('), *close = strrchr(line, ')');
    unsigned long long utime, stime;
    int n;

    if (!open || !close || close < open || name_size < 1)
        return -EINVAL;
    n = (int)(close - open - 1);
    if (n >= name_size)
        n = name_size - 1;
    memcpy(name, open + 1, (size_t)n);
    name[n] = '\0';
    /* After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime stime (fields 3..15 of proc(5)). */
    if (sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return -EINVAL;
    *ticks = utime + stime;
    return 0;
}

int eb_cpu_by_thread_name(EbCpuUse *out, int max)
{
    DIR *d = opendir("/proc/self/task");
    long hz = sysconf(_SC_CLK_TCK);
    struct dirent *e;
    int nb = 0;

    if (!d)
        return -errno;
    if (hz <= 0)
        hz = 100;
    while ((e = readdir(d))) {
        char path[64], line[1024], name[EB_CPU_NAME_MAX];
        unsigned long long ticks;
        FILE *f;
        int i;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%.20s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        if (!fgets(line, sizeof(line), f) || eb_cpu_parse_stat(line, name, sizeof(name), &ticks)) {
            fclose(f);
            continue;
        }
        fclose(f);
        for (i = 0; i < nb && strcmp(out[i].name, name); i++)
            ;
        if (i == nb) {
            if (nb == max)
                continue;
            memset(&out[nb], 0, sizeof(out[nb]));
            snprintf(out[nb].name, sizeof(out[nb].name), "%s", name);
            nb++;
        }
        out[i].seconds += (double)ticks / (double)hz;
        out[i].threads++;
    }
    closedir(d);
    return nb;
}
