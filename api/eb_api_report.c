/*
 * The worker's side of the progress pipe (`encbox transcode --progress-fd
 * N`): one JSON object per line. Each line is formatted into a local buffer
 * and written with one write() shorter than PIPE_BUF, so the daemon never
 * sees half a line from a single report.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eb_api.h"

static void eb_report_write(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the daemon went away: the job itself carries on */
        buf += n;
        len -= (size_t)n;
    }
}

static void eb_report_escape(const char *s, char *out, size_t max);

/* Under PIPE_BUF (4096): EB_LADDER_MAX_RUNGS rungs of at most
 * ~130 bytes each (a 15-byte name escaped at worst) and the figures. */
void eb_api_progress_report(const EbVodProgress *p, void *opaque)
{
    char line[2048], name[100];
    size_t len;
    int n = snprintf(line, sizeof(line),
                     "{\"percent\":%.2f,\"fps\":%.2f,\"speed\":%.3f,\"eta\":%.1f,"
                     "\"frames\":%lld,\"frames_total\":%lld,\"rungs\":[",
                     p->percent, p->fps, p->speed, p->eta_seconds, (long long)p->frames_done,
                     (long long)p->frames_total);
    if (n < 0 || n >= (int)sizeof(line))
        return;
    len = (size_t)n;
    for (int i = 0; i < p->nb_rungs && i < EB_LADDER_MAX_RUNGS; i++) {
        char raw[sizeof(p->rung_names[0]) + 1];
        /* rung_names[i] may fill its array: copy it out bounded */
        snprintf(raw, sizeof(raw), "%.*s", (int)sizeof(p->rung_names[0]), p->rung_names[i]);
        eb_report_escape(raw, name, sizeof(name));
        n = snprintf(line + len, sizeof(line) - len, "%s{\"name\":\"%s\",\"frames\":%lld}",
                     i ? "," : "", name, (long long)p->rung_frames[i]);
        if (n < 0 || (size_t)n >= sizeof(line) - len)
            return;
        len += (size_t)n;
    }
    n = snprintf(line + len, sizeof(line) - len, "]}\n");
    if (n < 0 || (size_t)n >= sizeof(line) - len)
        return;
    eb_report_write(*(const int *)opaque, line, len + (size_t)n);
}

/* s as the inside of a JSON string, shorter than max bytes (cut between
 * escapes). Bytes above 0x7f become '?': the note comes from driver and
 * library strings, and one invalid UTF-8 byte would make the daemon reject
 * the whole line. */
static void eb_report_escape(const char *s, char *out, size_t max)
{
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        size_t n;
        if (ch == '"' || ch == '\\') {
            n = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
        } else if (ch < 0x20) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", ch);
        } else {
            esc[0] = ch < 0x80 ? (char)ch : '?';
            n = 1;
        }
        if (o + n >= max)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = 0;
}

void eb_api_progress_result(int fd, const EbVodResult *res)
{
    char line[4000], note[700], decode_note[400];
    size_t len = 0;
    int n;

    eb_report_escape(res->backend_note, note, sizeof(note));
    eb_report_escape(res->decode_note, decode_note, sizeof(decode_note));
    n = snprintf(line, sizeof(line),
                 "{\"done\":true,\"backend\":\"%s\",\"fell_back\":%s,\"backend_note\":\"%s\","
                 "\"device_uploads\":%lld,\"device_downloads\":%lld,\"decode_note\":\"%s\","
                 "\"video_id\":\"%s\",\"duration\":%.3f,"
                 "\"wall_seconds\":%.3f,\"frames_decoded\":%lld,\"damaged\":%lld,\"rungs\":[",
                 res->backend ? res->backend : "", res->fell_back ? "true" : "false", note,
                 (long long)res->device_uploads, (long long)res->device_downloads, decode_note,
                 res->video_id, res->duration, res->wall_seconds, (long long)res->frames_decoded,
                 (long long)res->damaged);
    if (n < 0 || n >= (int)sizeof(line))
        return;
    len = (size_t)n;
    for (int i = 0; i < res->nb_rungs; i++) {
        const EbVodRungStats *r = &res->rungs[i];
        n = snprintf(line + len, sizeof(line) - len,
                     "%s{\"name\":\"%s\",\"width\":%d,\"height\":%d,\"bitrate\":%lld,"
                     "\"kbps\":%.1f,\"frames\":%lld,\"segments\":%d,\"encode_fps\":%.1f}",
                     i ? "," : "", r->name, r->width, r->height, (long long)r->bitrate,
                     res->duration > 0 ? r->video_bytes * 8 / res->duration / 1000.0 : 0.0,
                     (long long)r->frames, r->nb_segments,
                     r->encode_seconds > 0 ? r->frames / r->encode_seconds : 0.0);
        if (n < 0 || (size_t)n >= sizeof(line) - len)
            return;
        len += (size_t)n;
    }
    n = snprintf(line + len, sizeof(line) - len, "]}\n");
    if (n < 0 || (size_t)n >= sizeof(line) - len)
        return;
    eb_report_write(fd, line, len + (size_t)n);
}
