/*
 * The one logger of encbox: levels, a module tag per line, text or JSON-lines
 * output on stderr, thread-safe. libav's own log lines are routed through it
 * (eb_log_capture_libav) so a job's log has one format.
 */
#ifndef EB_LOG_H
#define EB_LOG_H

typedef enum EbLogLevel {
    EB_LOG_ERROR = 0,
    EB_LOG_WARN,
    EB_LOG_INFO,
    EB_LOG_DEBUG,
    EB_LOG_TRACE,
} EbLogLevel;

typedef enum EbLogFormat {
    EB_LOG_TEXT = 0,
    EB_LOG_JSON,
} EbLogFormat;

void eb_log_set_level(EbLogLevel level);
EbLogLevel eb_log_get_level(void);
void eb_log_set_format(EbLogFormat format);

/* Parses "error", "warn", "info", "debug", "trace". Returns 0 or -EINVAL. */
int eb_log_level_parse(const char *name, EbLogLevel *out);

void eb_log(EbLogLevel level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Route av_log() through eb_log (libav warnings become WARN, etc.). */
void eb_log_capture_libav(void);

#define EB_LOGE(mod, ...) eb_log(EB_LOG_ERROR, mod, __VA_ARGS__)
#define EB_LOGW(mod, ...) eb_log(EB_LOG_WARN, mod, __VA_ARGS__)
#define EB_LOGI(mod, ...) eb_log(EB_LOG_INFO, mod, __VA_ARGS__)
#define EB_LOGD(mod, ...) eb_log(EB_LOG_DEBUG, mod, __VA_ARGS__)

#endif
