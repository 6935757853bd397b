/*
 * A job's figures as JSON (see eb_job_stats.h): what `encbox transcode
 * --stats-json` writes and `encbox bench` reads back.
 */
#include "eb_job_stats.h"
#include "eb_json_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

json_t *eb_job_stats_to_json(const EbJobStats *s)
{
    json_t *o = json_object(), *rungs = json_array();
    if (!o || !rungs) {
        json_decref(o);
        json_decref(rungs);
        return NULL;
    }
    json_object_set_new(o, "duration", json_real(s->duration));
    json_object_set_new(o, "wall_seconds", json_real(s->wall_seconds));
    json_object_set_new(o, "frames", json_integer(s->frames));
    json_object_set_new(o, "decode_seconds", json_real(s->decode_seconds));
    json_object_set_new(o, "filter_seconds", json_real(s->filter_seconds));
    json_object_set_new(o, "fanout_seconds", json_real(s->fanout_seconds));
    json_object_set_new(o, "fanout_wait_seconds", json_real(s->fanout_wait_seconds));
    json_object_set_new(o, "audio_seconds", json_real(s->audio_seconds));
    json_object_set_new(o, "cpu_seconds", json_real(s->cpu_seconds));
    json_object_set_new(o, "demux_cpu_seconds", json_real(s->demux_cpu_seconds));
    json_object_set_new(o, "fanout_cpu_seconds", json_real(s->fanout_cpu_seconds));
    json_object_set_new(o, "fanout_blocked_seconds", json_real(s->fanout_blocked_seconds));
    json_object_set_new(o, "demux_blocked_seconds", json_real(s->demux_blocked_seconds));
    json_object_set_new(o, "encrypt_seconds", json_real(s->encrypt_seconds));
    for (int i = 0; i < s->nb_rungs; i++) {
        const EbJobStatsRung *r = &s->rungs[i];
        json_array_append_new(rungs,
                              json_pack("{s:s, s:i, s:i, s:I, s:f, s:f, s:f, s:f, s:f, s:f}",
                                        "name", r->name, "width", r->width, "height", r->height,
                                        "frames", (json_int_t)r->frames, "encode_seconds",
                                        r->encode_seconds, "mux_seconds", r->mux_seconds,
                                        "encode_fps", r->encode_fps, "kbps", r->kbps, "cpu_seconds",
                                        r->cpu_seconds, "starved_seconds", r->starved_seconds));
    }
    json_object_set_new(o, "rungs", rungs);
    return o;
}

void eb_job_stats_from_json(const json_t *o, EbJobStats *s)
{
    const json_t *rungs = json_object_get(o, "rungs");
    memset(s, 0, sizeof(*s));
    s->duration = eb_json_num(o, "duration");
    s->wall_seconds = eb_json_num(o, "wall_seconds");
    s->frames = (int64_t)eb_json_num(o, "frames");
    s->decode_seconds = eb_json_num(o, "decode_seconds");
    s->filter_seconds = eb_json_num(o, "filter_seconds");
    s->fanout_seconds = eb_json_num(o, "fanout_seconds");
    s->fanout_wait_seconds = eb_json_num(o, "fanout_wait_seconds");
    s->audio_seconds = eb_json_num(o, "audio_seconds");
    s->cpu_seconds = eb_json_num(o, "cpu_seconds");
    s->demux_cpu_seconds = eb_json_num(o, "demux_cpu_seconds");
    s->fanout_cpu_seconds = eb_json_num(o, "fanout_cpu_seconds");
    s->fanout_blocked_seconds = eb_json_num(o, "fanout_blocked_seconds");
    s->demux_blocked_seconds = eb_json_num(o, "demux_blocked_seconds");
    s->encrypt_seconds = eb_json_num(o, "encrypt_seconds");
    for (size_t i = 0; i < json_array_size(rungs) && i < EB_LADDER_MAX_RUNGS; i++) {
        const json_t *r = json_array_get(rungs, i);
        EbJobStatsRung *d = &s->rungs[s->nb_rungs++];
        eb_json_str(r, "name", d->name, sizeof(d->name));
        d->width = (int)eb_json_num(r, "width");
        d->height = (int)eb_json_num(r, "height");
        d->frames = (int64_t)eb_json_num(r, "frames");
        d->encode_seconds = eb_json_num(r, "encode_seconds");
        d->mux_seconds = eb_json_num(r, "mux_seconds");
        d->encode_fps = eb_json_num(r, "encode_fps");
        d->kbps = eb_json_num(r, "kbps");
        d->cpu_seconds = eb_json_num(r, "cpu_seconds");
        d->starved_seconds = eb_json_num(r, "starved_seconds");
    }
}

void eb_job_stats_from_result(const EbVodResult *res, EbJobStats *out)
{
    EbJobStats s = {0};

    s.duration = res->duration;
    s.wall_seconds = res->wall_seconds;
    s.frames = res->frames_out;
    s.decode_seconds = res->decode_seconds;
    s.filter_seconds = res->filter_seconds;
    s.fanout_seconds = res->fanout_seconds;
    s.fanout_wait_seconds = res->fanout_wait_seconds;
    s.audio_seconds = res->audio_seconds;
    s.cpu_seconds = res->cpu_seconds;
    s.demux_cpu_seconds = res->demux_cpu_seconds;
    s.fanout_cpu_seconds = res->fanout_cpu_seconds;
    s.fanout_blocked_seconds = res->fanout_blocked_seconds;
    s.demux_blocked_seconds = res->demux_blocked_seconds;
    s.encrypt_seconds = res->encrypt_seconds;
    for (int i = 0; i < res->nb_rungs && i < EB_LADDER_MAX_RUNGS; i++) {
        const EbVodRungStats *r = &res->rungs[i];
        EbJobStatsRung *d = &s.rungs[s.nb_rungs++];
        snprintf(d->name, sizeof(d->name), "%s", r->name);
        d->width = r->width;
        d->height = r->height;
        d->frames = r->frames;
        d->encode_seconds = r->encode_seconds;
        d->mux_seconds = r->mux_seconds;
        d->encode_fps = r->encode_seconds > 0 ? r->frames / r->encode_seconds : 0;
        d->kbps = res->duration > 0 ? r->video_bytes * 8.0 / res->duration / 1000.0 : 0;
        d->cpu_seconds = r->cpu_seconds;
        d->starved_seconds = r->starved_seconds;
    }
    *out = s;
}

int eb_job_stats_write(const char *path, const EbVodResult *res)
{
    EbJobStats s;

    eb_job_stats_from_result(res, &s);
    return eb_json_dump(eb_job_stats_to_json(&s), path);
}

int eb_job_stats_read(const char *path, EbJobStats *out)
{
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e);

    memset(out, 0, sizeof(*out));
    if (!o)
        return -EINVAL;
    eb_job_stats_from_json(o, out);
    json_decref(o);
    return 0;
}

