/*
 * The session log of a live channel (see eb_live_log.h for the format).
 */
#include "eb_live_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "eb_error.h"
#include "eb_storage.h"

#define EB_LIVE_LOG_NAME ".session"
#define EB_LIVE_LOG_HEADER "encbox-live 1\n"

static int eb_live_log_path(const char *dir, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/" EB_LIVE_LOG_NAME, dir);
    return n < 0 || (size_t)n >= size ? EB_ERR(ENAMETOOLONG) : 0;
}

void eb_live_log_free(EbLiveLog *log)
{
    for (int i = 0; i < EB_SINK_MAX_RENDITIONS; i++)
        free(log->segs[i]);
    memset(log, 0, sizeof(*log));
    log->first_seq = 1;
}

int64_t eb_live_log_next(const EbLiveLog *log)
{
    return log->first_seq + log->nb_seq;
}

/* One D line into desc (0, or -1 when the line is not whole). */
static int eb_live_log_parse_rendition(const char *line, EbRendition *d)
{
    int n = 0;

    memset(d, 0, sizeof(*d));
    if (sscanf(line, "D %15s %d %d %d %d %d %d %d %" SCNd64 " %d %63s%n", d->name, &d->is_audio,
               &d->width, &d->height, &d->frame_rate.num, &d->frame_rate.den, &d->sample_rate,
               &d->channels, &d->bitrate, &d->timescale, d->codecs, &n) != 11 ||
        line[n] != '\n' || d->timescale <= 0)
        return -1;
    if (!strcmp(d->codecs, "-"))
        d->codecs[0] = '\0';
    return 0;
}

int eb_live_log_same(const EbRendition *a, int na, const EbRendition *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) || a[i].is_audio != b[i].is_audio ||
            a[i].width != b[i].width || a[i].height != b[i].height ||
            a[i].timescale != b[i].timescale || strcmp(a[i].codecs, b[i].codecs))
            return 0;
    return 1;
}

/* One Q line (0, 1 not whole, or an error). */
static int eb_live_log_parse_sequence(EbLiveLog *log, const char *line, int *alloc)
{
    const char *p = line;
    int64_t seq;
    int disc, n = 0;

    if (sscanf(p, "Q %" SCNd64 " %d%n", &seq, &disc, &n) != 2 || seq != eb_live_log_next(log) ||
        log->nb <= 0)
        return 1;
    p += n;
    if (log->nb_seq == *alloc) {
        int a = *alloc ? 2 * *alloc : 256;
        for (int i = 0; i < log->nb; i++) {
            void *q = realloc(log->segs[i], (size_t)a * sizeof(EbSegmentInfo));
            if (!q)
                return EB_ERR(ENOMEM);
            log->segs[i] = q;
        }
        *alloc = a;
    }
    for (int i = 0; i < log->nb; i++) {
        EbSegmentInfo *s = &log->segs[i][log->nb_seq];
        memset(s, 0, sizeof(*s));
        if (sscanf(p, " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 "%n", &s->start, &s->duration,
                   &s->size, &s->media_offset, &n) != 4 ||
            s->duration <= 0)
            return 1;
        s->discontinuity = disc != 0;
        p += n;
    }
    if (*p != '\n')
        return 1;
    log->nb_seq++;
    return 0;
}

int eb_live_log_load(const char *dir, EbLiveLog *log)
{
    char path[4200], line[2048];
    FILE *f;
    EbRendition set[EB_SINK_MAX_RENDITIONS];
    AVRational fr = {0, 1};
    int ret = 0, alloc = 0, collecting = 0, nset = 0, sr = 0;

    memset(log, 0, sizeof(*log));
    log->first_seq = 1;
    if ((ret = eb_live_log_path(dir, path, sizeof(path))) < 0)
        return ret;
    f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : EB_ERR(errno);
    if (!fgets(line, sizeof(line), f) || strcmp(line, EB_LIVE_LOG_HEADER)) {
        fclose(f);
        return EB_ERR(EINVAL);
    }
    while (ret >= 0 && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (!len || line[len - 1] != '\n')
            break; /* a torn last line */
        if (line[0] == 'N' && sscanf(line, "N %" SCNd64, &log->first_seq) == 1) {
            if (log->first_seq < 1)
                log->first_seq = 1;
        } else if (line[0] == 'S' && sscanf(line, "S %" SCNd64, &log->wallclock_us) == 1) {
            log->open = 1;
        } else if (line[0] == 'F') {
            if (sscanf(line, "F %d %d %d", &fr.num, &fr.den, &sr) != 3)
                break;
        } else if (line[0] == 'D') {
            if (!collecting)
                nset = 0;
            collecting = 1;
            if (nset == EB_SINK_MAX_RENDITIONS || eb_live_log_parse_rendition(line, &set[nset]) < 0)
                break;
            nset++;
        } else if (line[0] == 'Q') {
            if (collecting) {
                /* A run's renditions: the session's, or the log is damaged
                 * (a run with other renditions starts a new session). */
                if (log->nb_seq && !eb_live_log_same(set, nset, log->desc, log->nb))
                    break;
                memcpy(log->desc, set, sizeof(set[0]) * (size_t)nset);
                log->nb = nset;
                log->source_rate = fr;
                log->source_sample_rate = sr;
                collecting = 0;
            }
            ret = eb_live_log_parse_sequence(log, line, &alloc);
            if (ret > 0)
                break;
        } else if (line[0] == 'E') {
            log->open = 0;
            log->ended = 1;
        } else {
            break;
        }
    }
    fclose(f);
    if (ret < 0) {
        eb_live_log_free(log);
        return ret;
    }
    return 0;
}

int eb_live_log_start(const char *dir, int64_t first_seq, FILE **f)
{
    char path[4200], head[64];
    int ret = eb_live_log_path(dir, path, sizeof(path)), n;

    if (ret < 0)
        return ret;
    n = snprintf(head, sizeof(head), EB_LIVE_LOG_HEADER "N %" PRId64 "\n", first_seq);
    ret = eb_storage_write_file(path, head, (size_t)n);
    return ret < 0 ? ret : eb_live_log_append(dir, f);
}

int eb_live_log_append(const char *dir, FILE **f)
{
    char path[4200];
    int ret = eb_live_log_path(dir, path, sizeof(path));

    if (ret < 0)
        return ret;
    *f = fopen(path, "ae");
    return *f ? 0 : EB_ERR(errno);
}

static int eb_live_log_flush(FILE *f)
{
    return fflush(f) == 0 && !ferror(f) ? 0 : EB_ERR(errno ? errno : EIO);
}

int eb_live_log_wallclock(FILE *f, int64_t wallclock_us)
{
    fprintf(f, "S %" PRId64 "\n", wallclock_us);
    return eb_live_log_flush(f);
}

int eb_live_log_renditions(FILE *f, const EbSourceInfo *source, const EbRendition *desc, int nb)
{
    /* The live input hands out one audio track (eb_input.h). */
    fprintf(f, "F %d %d %d\n", source->frame_rate.num, source->frame_rate.den,
            source->nb_audio ? source->audio[0].sample_rate : 0);
    for (int i = 0; i < nb; i++) {
        const EbRendition *d = &desc[i];
        fprintf(f, "D %s %d %d %d %d %d %d %d %" PRId64 " %d %s\n", d->name, d->is_audio, d->width,
                d->height, d->frame_rate.num, d->frame_rate.den, d->sample_rate, d->channels,
                d->bitrate, d->timescale, d->codecs[0] ? d->codecs : "-");
    }
    return eb_live_log_flush(f);
}

int eb_live_log_sequence(FILE *f, int64_t seq, int discontinuity, const EbSegmentInfo *const *segs,
                         int nb)
{
    fprintf(f, "Q %" PRId64 " %d", seq, discontinuity);
    for (int i = 0; i < nb; i++)
        fprintf(f, " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64, segs[i]->start,
                segs[i]->duration, segs[i]->size, segs[i]->media_offset);
    fputc('\n', f);
    return eb_live_log_flush(f);
}

int eb_live_log_end(FILE *f)
{
    fputs("E\n", f);
    return eb_live_log_flush(f);
}
