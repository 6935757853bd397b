/*
 * The worker's side of the progress pipe (`encbox transcode --progress-fd
 * N`): one JSON object per line. Lines are built and escaped by jansson,
 * like every JSON the API writes, and each goes out in one write()
 * shorter than PIPE_BUF, so the daemon never sees half a line from a
 * single report. The daemon makes it a SOCK_SEQPACKET socket, so each
 * line is one record and the worker can read the box's answer to its
 * one question (eb_api_publish_gate) on the same descriptor.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eb_api.h"
#include "eb_error.h"

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

/* o as one line, in one write() under PIPE_BUF; 0, or -1 when it does not
 * fit (nothing written). Takes the reference. */
static int eb_report_line(int fd, json_t *o)
{
    /* Figures are rounded when set: 15 digits print them without noise. */
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    size_t len = text ? strlen(text) : 0;
    int ret = -1;

    json_decref(o);
    if (text && len + 1 < PIPE_BUF) {
        text[len] = '\n'; /* over the NUL: the line is what is written */
        eb_report_write(fd, text, len + 1);
        ret = 0;
    }
    free(text);
    return ret;
}

/* x rounded to decimals places, as the lines have always carried it. */
static json_t *eb_real(double x, int decimals)
{
    double scale = pow(10, decimals);
    return json_real(isfinite(x) ? round(x * scale) / scale : 0.0);
}

/* A string for the daemon, at most max bytes of s. Bytes above 0x7f
 * become '?': notes come from driver and library strings, and jansson
 * (rightly) refuses text that is not UTF-8. */
static json_t *eb_ascii(const char *s, size_t max)
{
    char buf[1024];
    size_t n = 0;

    if (max >= sizeof(buf))
        max = sizeof(buf) - 1;
    for (; s && s[n] && n < max; n++)
        buf[n] = (unsigned char)s[n] < 0x80 ? s[n] : '?';
    buf[n] = 0;
    return json_string(buf);
}

void eb_api_progress_report(const EbVodProgress *p, void *opaque)
{
    json_t *rungs = json_array();

    for (int i = 0; rungs && i < p->nb_rungs && i < EB_LADDER_MAX_RUNGS; i++)
        json_array_append_new(rungs, json_pack("{s:o, s:I}", "name",
                                               eb_ascii(p->rung_names[i], sizeof(p->rung_names[i])),
                                               "frames", (json_int_t)p->rung_frames[i]));
    /* EB_LADDER_MAX_RUNGS names of 16 bytes, each escaped at worst to 6
     * bytes a byte, and the figures: always under PIPE_BUF. */
    eb_report_line(*(const int *)opaque,
                   json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:o}", "percent",
                             eb_real(p->percent, 2), "fps", eb_real(p->fps, 2), "speed",
                             eb_real(p->speed, 3), "eta", eb_real(p->eta_seconds, 1), "frames",
                             (json_int_t)p->frames_done, "frames_total",
                             (json_int_t)p->frames_total, "rungs", rungs));
}

void eb_api_progress_result(int fd, const EbVodResult *res)
{
    /* The notes are the only long strings: they are cut until the line
     * fits in one write (they are for people; the figures matter more). */
    for (size_t max_note = sizeof(res->backend_note); max_note >= 16; max_note /= 2) {
        json_t *rungs = json_array(), *o;

        for (int i = 0; rungs && i < res->nb_rungs; i++) {
            const EbVodRungStats *r = &res->rungs[i];
            json_array_append_new(
                rungs,
                json_pack(
                    "{s:o, s:i, s:i, s:I, s:o, s:I, s:i, s:o}", "name",
                    eb_ascii(r->name, sizeof(r->name)), "width", r->width, "height", r->height,
                    "bitrate", (json_int_t)r->bitrate, "kbps",
                    eb_real(res->duration > 0 ? r->video_bytes * 8 / res->duration / 1000.0 : 0.0,
                            1),
                    "frames", (json_int_t)r->frames, "segments", r->nb_segments, "encode_fps",
                    eb_real(r->encode_seconds > 0 ? r->frames / r->encode_seconds : 0.0, 1)));
        }
        json_t *audio = json_array();
        for (int k = 0; audio && k < res->nb_audio; k++) {
            const EbAudioTrackInfo *t = &res->audio[k];
            json_array_append_new(
                audio,
                json_pack("{s:o, s:o, s:i, s:b}", "language",
                          t->language[0] ? eb_ascii(t->language, sizeof(t->language)) : json_null(),
                          "label", eb_ascii(t->label, max_note / 8), "channels", t->channels,
                          "default", t->is_default));
        }
        o = json_pack(
            "{s:b, s:o, s:b, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o}", "done",
            1, "backend", eb_ascii(res->backend ? res->backend : "", 64), "fell_back",
            res->fell_back, "backend_note", eb_ascii(res->backend_note, max_note), "device_uploads",
            (json_int_t)res->device_uploads, "device_downloads", (json_int_t)res->device_downloads,
            "decode_note", eb_ascii(res->decode_note, max_note / 2), "video_id",
            eb_ascii(res->video_id, sizeof(res->video_id)), "duration", eb_real(res->duration, 3),
            "wall_seconds", eb_real(res->wall_seconds, 3), "frames_decoded",
            (json_int_t)res->frames_decoded, "damaged", (json_int_t)res->damaged, "rungs", rungs,
            "audio", audio, "audio_note", eb_ascii(res->audio_note, max_note / 2));
        if (o && res->encryption != EB_ENCRYPT_NONE)
            json_object_set_new(o, "encryption",
                                json_pack("{s:s, s:[o], s:o, s:o}", "scheme",
                                          eb_encryption_scheme_name(res->encryption), "key_ids",
                                          eb_ascii(res->key_id, sizeof(res->key_id)), "license_url",
                                          eb_ascii(res->license_url, max_note / 2),
                                          "encrypt_seconds", eb_real(res->encrypt_seconds, 3)));
        if (o && res->s3.objects > 0)
            json_object_set_new(o, "object_store",
                                json_pack("{s:o, s:i, s:I, s:i, s:i, s:o}", "key_prefix",
                                          eb_ascii(res->s3.key_prefix, max_note), "objects",
                                          res->s3.objects, "bytes", (json_int_t)res->s3.bytes,
                                          "multipart_objects", res->s3.multipart_objects, "retries",
                                          res->s3.retries, "seconds", eb_real(res->s3.seconds, 3)));
        if (eb_report_line(fd, o) == 0)
            return;
    }
}

int eb_api_publish_gate(void *opaque, char *why, size_t size)
{
    int fd = *(const int *)opaque;
    char answer[64];
    struct timespec start, t;
    ssize_t n = -1;

    if (eb_report_line(fd, json_pack("{s:s}", "publish", "ready")) < 0) {
        snprintf(why, size, "cannot ask the box whether to publish");
        return EB_ERR(EPERM);
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left;
        clock_gettime(CLOCK_MONOTONIC, &t);
        left = EB_API_PUBLISH_WAIT_S * 1000 -
               (int)((t.tv_sec - start.tv_sec) * 1000 + (t.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0) {
            snprintf(why, size, "the box did not answer whether to publish in %d s",
                     EB_API_PUBLISH_WAIT_S);
            return EB_ERR(ETIMEDOUT);
        }
        if (poll(&p, 1, left) < 0 && errno != EINTR)
            break;
        if (p.revents) {
            n = read(fd, answer, sizeof(answer) - 1);
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
    }
    if (n > 0) {
        answer[n] = 0;
        if (!strcmp(answer, "go\n"))
            return 0;
    }
    snprintf(why, size,
             "not published: this box no longer holds the job's lease (another box "
             "runs the job)");
    return EB_ERR(EPERM);
}
