/*
 * Logger. One mutex serialises whole lines so threads never interleave
 * characters; the level is an atomic so the hot-path check is lock-free.
 */
#include "eb_log.h"
#include "eb_json.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libavutil/log.h>

static atomic_int eb_log_level = EB_LOG_INFO;
static atomic_int eb_log_format = EB_LOG_TEXT;
static pthread_mutex_t eb_log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const eb_level_names[] = {"error", "warn", "info", "debug", "trace"};

void eb_log_set_level(EbLogLevel level) { atomic_store(&eb_log_level, (int)level); }
EbLogLevel eb_log_get_level(void) { return (EbLogLevel)atomic_load(&eb_log_level); }
void eb_log_set_format(EbLogFormat format) { atomic_store(&eb_log_format, (int)format); }

int eb_log_level_parse(const char *name, EbLogLevel *out)
{
    for (int i = 0; i <= EB_LOG_TRACE; i++) {
        if (strcmp(name, eb_level_names[i]) == 0) {
            *out = (EbLogLevel)i;
            return 0;
        }
    }
    return -22; /* -EINVAL, without pulling errno.h into every user */
}

static void eb_log_emit(EbLogLevel level, const char *module, const char *msg)
{
    char stamp[96];
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    pthread_mutex_lock(&eb_log_lock);
    if (atomic_load(&eb_log_format) == EB_LOG_JSON) {
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":", stamp, eb_level_names[level]);
        eb_json_write_string(stderr, module);
        fputs(",\"msg\":", stderr);
        eb_json_write_string(stderr, msg);
        fputs("}\n", stderr);
    } else {
        fprintf(stderr, "%s %-5s [%s] %s\n", stamp, eb_level_names[level], module, msg);
    }
    pthread_mutex_unlock(&eb_log_lock);
}

void eb_log(EbLogLevel level, const char *module, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if ((int)level > atomic_load(&eb_log_level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    eb_log_emit(level, module, msg);
}

/* libav logs a line in pieces (prefix, message, continuation), so pieces
 * are collected per thread and emitted as one line at the newline. libav's
 * levels sit one notch lower here: whether a decoder error matters is the
 * pipeline's call (it counts and reports damage itself), so libav errors
 * and warnings are INFO, its info is DEBUG. */
static void eb_log_libav_callback(void *avcl, int av_level, const char *fmt, va_list ap)
{
    static _Thread_local char line[1024];
    static _Thread_local EbLogLevel line_level = EB_LOG_TRACE;
    static _Thread_local char module[64];
    EbLogLevel level;
    size_t n;

    if (av_level <= AV_LOG_WARNING)
        level = EB_LOG_INFO;
    else if (av_level <= AV_LOG_INFO)
        level = EB_LOG_DEBUG;
    else
        level = EB_LOG_TRACE;
    if ((int)level > atomic_load(&eb_log_level))
        return;
    if (line[0] == '\0') {
        const char *name = "libav";
        if (avcl) {
            AVClass *cls = *(AVClass **)avcl;
            if (cls && cls->item_name)
                name = cls->item_name(avcl);
        }
        snprintf(module, sizeof(module), "%s", name);
        line_level = level;
    }
    n = strlen(line);
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    n = strlen(line);
    if (n == 0 || (line[n - 1] != '\n' && n < sizeof(line) - 1))
        return; /* wait for the rest of the line */
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n > 0)
        eb_log_emit(line_level, module, line);
    line[0] = '\0';
}

void eb_log_capture_libav(void) { av_log_set_callback(eb_log_libav_callback); }
