/*
 * The VOD ladder job: a composition of the pipeline engine (eb_pipeline.h).
 * DESIGN
 *
 *   file input (EbInput) ─▶ engine ─▶ file sink (staging tree)
 *                              └─tap─▶ thumbnails (EbThumbs)
 *   then: thumbnails finish, HLS + DASH manifests once, one atomic publish.
 *
 * What the job itself decides, around the engine: the backend (the
 * --backend/--fallback policy, eb_hal_choose), the device's capabilities
 * (an encoder for the ladder's codec), the free-space estimate, the staging
 * folder, device sessions (acquired after the fan-out opens and before the
 * encoders do: NVENC counts open encoders), the thumbnail sink, the
 * manifests and the publish. Everything between the input and the sink
 * (threads, queues, first error, cancel, boundaries, encoders, muxing) is
 * the engine's.
 *
 * Hardware backends: a failure in a device stage, before or after the
 * engine started, re-runs the whole job once on the backend the fallback
 * policy names (eb_vod_fallback_decision): the first run's staging folder
 * is removed, nothing of it is published.
 */
#include "eb_vod.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/common.h>
#include <libavutil/mem.h>

#include "eb_clock.h"
#include "eb_cpu.h"
#include "eb_error.h"
#include "eb_hal.h"
#include "eb_hal_hw.h"
#include "eb_input.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_pipeline.h"
#include "eb_sessions.h"
#include "eb_sessions_policy.h"
#include "eb_sink.h"
#include "eb_s3.h"
#include "eb_storage.h"

/* One attempt of the job on one backend: what the composition holds. */
typedef struct EbJob {
    const EbVodOptions *o;
    EbHalDevice *dev;
    EbInput *in;
    const EbSourceInfo *info;
    EbPipeline *pipe;
    EbSegmentSink *sink; /* what the engine reports to: file_sink, or the
                          * encrypting sink over it */
    EbSegmentSink *file_sink;
    EbThumbs *thumbs;               /* NULL: thumbnails off */
    EbContentKey key;               /* encryption != NONE: this video's key */
    char key_store[4200];
    EbSessions *sessions;
    EbSessionLease *lease;
} EbJob;

void eb_vod_options_default(EbVodOptions *o)
{
    memset(o, 0, sizeof(*o));
    eb_ladder_default(&o->ladder);
    o->segment_seconds = 6.0;
    o->format = EB_FORMAT_CMAF;
    o->preset = "veryfast";
    o->backend = "auto";
    o->fallback = "auto";
    o->check_space = 1;
    o->session_timeout_ms = EB_VOD_SESSION_TIMEOUT_MS;
    eb_thumbs_options_default(&o->thumbs);
}

/* ---- thumbnails: the engine's tap ---- */

static int eb_vod_tap_wants(void *opaque, int64_t pts)
{
    return eb_thumbs_wants(opaque, pts);
}

static int eb_vod_tap_frame(void *opaque, const AVFrame *f)
{
    return eb_thumbs_push(opaque, f);
}

/* ---- audio tracks ---- */

/* The audio tracks the output holds, and a note when the input had more. */
static void eb_vod_audio_result(const EbVodOptions *o, const EbSourceInfo *info, EbVodResult *res)
{
    res->nb_audio = o->ladder.audio_bitrate > 0 ? info->nb_audio : 0;
    memcpy(res->audio, info->audio, sizeof(res->audio));
    res->audio_note[0] = 0;
    if (res->nb_audio == 0 || info->audio_skipped <= 0)
        return;
    if (o->format == EB_FORMAT_TS)
        snprintf(res->audio_note, sizeof(res->audio_note),
                 "%d more audio track%s left out: MPEG-TS output carries the default track (%s) "
                 "only; CMAF output keeps every track as a language rendition",
                 info->audio_skipped, info->audio_skipped > 1 ? "s" : "", info->audio[0].label);
    else
        snprintf(res->audio_note, sizeof(res->audio_note),
                 "%d more audio track%s left out (not decodable, or over the %d a job keeps)",
                 info->audio_skipped, info->audio_skipped > 1 ? "s" : "", EB_MAX_AUDIO_TRACKS);
}

/* ---- manifests ---- */

/* The license URL players are given: public_base_url + the layout's path. */
static void eb_vod_license_url(const EbVodOptions *o, const char *id, char *out, size_t size)
{
    char path[256];

    if (eb_layout_license_path(id, path, sizeof(path)) < 0)
        path[0] = 0;
    snprintf(out, size, "%s%s", o->public_base_url ? o->public_base_url : "", path);
}

/* A fresh key for the video from the key store; res says its id and
 * where players get it. */
static int eb_vod_key(EbJob *job, EbVodResult *res)
{
    const EbVodOptions *o = job->o;
    EbKeyProvider *kp = NULL;
    char kid[33];
    int ret;

    if (o->key_store)
        snprintf(job->key_store, sizeof(job->key_store), "%s", o->key_store);
    else
        snprintf(job->key_store, sizeof(job->key_store), "%s/keys", o->storage_root);
    ret = eb_key_store_open(job->key_store, &kp);
    if (ret >= 0)
        ret = kp->ops->create(kp, res->video_id, o->encryption, &job->key);
    eb_key_provider_free(&kp);
    if (ret < 0) {
        memset(&job->key, 0, sizeof(job->key));
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "cannot make the content key in the key store %.400s: %s", job->key_store,
                 eb_strerror(ret));
        return ret;
    }
    res->encryption = o->encryption;
    eb_key_hex(job->key.k.kid, kid);
    snprintf(res->key_id, sizeof(res->key_id), "%s", kid);
    if (o->encryption == EB_ENCRYPT_AES128) {
        char path[256];
        snprintf(path, sizeof(path), "/videos/%s/" EB_LAYOUT_KEYS_NAME "/%s", res->video_id, kid);
        snprintf(res->license_url, sizeof(res->license_url), "%s%s",
                 o->public_base_url ? o->public_base_url : "", path);
        if (o->format == EB_FORMAT_CMAF)
            snprintf(res->protection_note, sizeof(res->protection_note),
                     "aes-128 encrypts whole segments, which only HLS can say: no DASH manifest "
                     "(use cenc or cbcs for both)");
    } else {
        eb_vod_license_url(o, res->video_id, res->license_url, sizeof(res->license_url));
    }
    return 0;
}

static void eb_vod_protection(const EbJob *job, EbProtectionText *pt)
{
    char laurl[512];

    eb_vod_license_url(job->o, job->key.content_id, laurl, sizeof(laurl));
    /* The license URL only where it is absolute: players resolve a
     * relative Laurl against their page, not the MPD (Shaka, dash.js), so
     * without api.public_base_url the player is given the job's
     * license_url instead. */
    eb_protection_text(pt, job->o->encryption, job->key.k.kid,
                       job->o->public_base_url && job->o->public_base_url[0] ? laurl : NULL);
}

/* The presentation from what the engine encoded and the file sink wrote,
 * as the HLS and DASH writers take it, written once, at the end. */
static int eb_write_manifests(EbJob *job, const char *staging, const EbThumbnailTrack *thumbs,
                              int64_t version, char *detail, size_t detail_size)
{
    EbRendition video[EB_LADDER_MAX_RUNGS], audio[EB_MAX_AUDIO_TRACKS];
    EbSinkRendition rends[EB_SINK_MAX_RENDITIONS];
    EbPresentation pres = {0};
    int ret = 0, nb_rend, nb_video = 0;

    memset(video, 0, sizeof(video));
    memset(audio, 0, sizeof(audio));
    nb_rend = eb_pipeline_renditions(job->pipe, rends, EB_SINK_MAX_RENDITIONS);
    for (int i = 0; i < nb_rend && ret >= 0; i++) {
        EbRendition *r = rends[i].is_audio ? &audio[pres.nb_audio++] : &video[nb_video++];
        ret = eb_pipeline_describe(job->pipe, i, r);
        eb_sink_file_describe(job->file_sink, i, r);
        if (ret >= 0 && r->nb_segments == 0) {
            /* Every packet of it was damage the decoder dropped. */
            snprintf(detail, detail_size, "its %s (rendition %s) held nothing decodable",
                     r->is_audio ? "audio track" : "video", r->name);
            return EB_ERR_DAMAGED;
        }
    }
    pres.audio = pres.nb_audio ? audio : NULL;
    if (ret < 0)
        return ret;
    pres.format = job->o->format;
    pres.segment_seconds = job->o->segment_seconds;
    pres.nb_video = nb_video;
    pres.video = video;
    pres.thumbnails = thumbs;
    pres.media_version = version;

    if (version >= 2) {
        char text[32];
        int n = snprintf(text, sizeof(text), "%lld\n", (long long)version);
        ret = eb_storage_write_item(staging, EB_LAYOUT_VERSION, NULL, text, (size_t)n);
        if (ret < 0)
            return ret;
    }
    {
        EbProtectionText pt;
        unsigned what = EB_MANIFEST_ALL;
        if (job->o->encryption != EB_ENCRYPT_NONE) {
            eb_vod_protection(job, &pt);
            pres.protection = &pt.p;
            /* whole-segment AES-128 is an HLS method: DASH has no way to say it */
            if (job->o->encryption == EB_ENCRYPT_AES128)
                what &= ~(unsigned)EB_MANIFEST_MPD;
        }
        ret = eb_manifest_write_files(staging, &pres, what);
    }
    if (ret < 0)
        snprintf(detail, detail_size, "writing the HLS and DASH manifests failed (%s)",
                 eb_strerror(ret));
    return ret;
}

/* ---- hardware jobs: sessions and fallback (pure parts public) ---- */

/* Device memory estimate: NV12 surfaces as the drivers lay them out
 * (pitch in 64-byte steps, height in 32-line steps); per encode session,
 * NVENC/VA-API's input surface pool and bitstream buffers; per decoder, the
 * largest H.264 DPB plus libavcodec's extra_hw_frames (eb_hal_hw.c: 8). */
#define EB_VOD_ENC_SURFACES 8
#define EB_VOD_DEC_SURFACES (16 + 8 + 1)
#define EB_VOD_ENC_OVERHEAD ((int64_t)32 << 20)
#define EB_VOD_DEC_OVERHEAD ((int64_t)16 << 20)

static int64_t eb_nv12_bytes(int w, int h)
{
    return (int64_t)FFALIGN(w, 64) * FFALIGN(h, 32) * 3 / 2;
}

static int eb_backend_is_hw(const char *backend)
{
    return backend && strcmp(backend, "software") != 0;
}

int eb_vod_session_request(const EbRungPlan *plans, int nb, const EbSourceInfo *info,
                           const char *backend, const char *device, EbVodSessionRequest *req)
{
    int64_t mem = 0;
    int sw, sh, ret;

    memset(req, 0, sizeof(*req));
    if (!backend || !info || nb < 1 || nb > EB_LADDER_MAX_RUNGS)
        return EB_ERR(EINVAL);
    if (!eb_backend_is_hw(backend))
        return 0;
    /* The HAL's one key rule (hal/eb_sessions_policy.h): "nvidia" for every
     * CUDA device (NVENC's cap is per system), the render node for VA-API
     * and QSV. */
    ret = eb_sessions_key(backend, device, req->device, sizeof(req->device));
    if (ret < 0)
        return ret;
    req->encode = nb;
    req->decode = info->device_decode ? 1 : 0;
    for (int i = 0; i < nb; i++)
        mem += (EB_PIPELINE_SRC_QUEUE + EB_PIPELINE_RUNG_QUEUE + 1 + EB_VOD_ENC_SURFACES) *
               eb_nv12_bytes(plans[i].width, plans[i].height);
    sw = info->geometry.width;
    sh = info->geometry.height;
    if (info->device_decode)
        mem += (EB_VOD_DEC_SURFACES + EB_PIPELINE_SRC_QUEUE + 1) * eb_nv12_bytes(sw, sh) +
               EB_VOD_DEC_OVERHEAD;
    else /* upload pool: the queue, one being filled, one in the fan-out */
        mem += (EB_PIPELINE_SRC_QUEUE + 2) * eb_nv12_bytes(sw, sh);
    mem += nb * EB_VOD_ENC_OVERHEAD;
    req->memory = mem;
    return 1;
}

void eb_vod_session_limits(const EbVodDeviceLimit *limits, int nb, const char *backend,
                           const char *device, EbSessionLimits *out)
{
    eb_sessions_limits_for(limits, nb, backend, device, out, NULL);
}

/* Errors a run on another backend would meet again (the input, the disk,
 * the request itself) or that end the job by request. */
static int eb_error_is_final(int err)
{
    switch (err) {
    case EB_ERR_CANCELED:
    case EB_ERR_EXISTS:
    case EB_ERR_BAD_ID:
    case EB_ERR_NO_SPACE_ESTIMATE:
    case EB_ERR_INPUT_CONFINED:
    case EB_ERR_INPUT_LIMIT:
    case EB_ERR_NOT_MEDIA:
    case EB_ERR_EMPTY_INPUT:
    case EB_ERR_NO_VIDEO:
    case EB_ERR_HDR_UNSUPPORTED:
    case EB_ERR_TRUNCATED:
    case EB_ERR_DAMAGED:
    case EB_ERR_NO_FRAMES:
    case EB_ERR(ENOSPC):
    case EB_ERR(EDQUOT):
        return 1;
    default:
        return 0;
    }
}

int eb_vod_fallback_decision(const char *requested, const char *fallback,
                             const char *const *names, const EbHalProbe *probes, int nb,
                             int failed, int err, int hw_stage, const char *what, int attempt,
                             EbHalChoice *out)
{
    EbHalProbe p[EB_HAL_MAX_DEVICES];
    int ret;

    memset(out, 0, sizeof(*out));
    out->index = -1;
    if (nb < 1 || nb > EB_HAL_MAX_DEVICES || failed < 0 || failed >= nb) {
        snprintf(out->note, sizeof(out->note), "no backend to fall back from");
        return 0;
    }
    if (err >= 0) {
        snprintf(out->note, sizeof(out->note), "%s did not fail", names[failed]);
        return 0;
    }
    if (!eb_backend_is_hw(names[failed]) || !hw_stage) {
        snprintf(out->note, sizeof(out->note), "%s failed outside the device stages: no re-run",
                 names[failed]);
        return 0;
    }
    if (eb_error_is_final(err)) {
        snprintf(out->note, sizeof(out->note), "%s: another backend would fail the same way",
                 eb_strerror(err));
        return 0;
    }
    if (attempt > 1) {
        snprintf(out->note, sizeof(out->note), "%s failed on the re-run: no further re-run",
                 names[failed]);
        return 0;
    }
    memcpy(p, probes, sizeof(p[0]) * (size_t)nb);
    p[failed].usable = 0;
    snprintf(p[failed].reason, sizeof(p[failed].reason), "failed after the job started: %s",
             what && *what ? what : eb_strerror(err));
    ret = eb_hal_choose(requested, fallback, names, p, nb, out);
    if (ret < 0 || out->index < 0 || out->index == failed) {
        out->index = -1;
        out->name = NULL;
        return 0;
    }
    out->fell_back = 1;
    return 1;
}

/* The backends and their probes, as the job chose from them. */
typedef struct EbVodBackends {
    const EbHalBackend *const *reg;
    const char *names[EB_HAL_MAX_DEVICES];
    EbHalProbe probes[EB_HAL_MAX_DEVICES];
    int nb;
} EbVodBackends;

/* The job's backend by the --backend/--fallback policy (eb_hal_choose). */
static int eb_vod_choose_backend(const EbVodOptions *o, EbVodBackends *bk, int *index,
                                 EbVodResult *res)
{
    EbHalChoice choice;
    int ret;

    /* The probes eb_hal_select() decides from, kept for the fallback
     * decision after a device failure. */
    bk->reg = o->backends ? o->backends : eb_hal_backends();
    bk->nb = eb_hal_probe_all(bk->reg, bk->names, bk->probes);
    ret = eb_hal_choose(o->backend ? o->backend : "auto", o->fallback, bk->names, bk->probes,
                        bk->nb, &choice);
    snprintf(res->backend_note, sizeof(res->backend_note), "%s", choice.note);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail), "%s", choice.note);
        return ret;
    }
    *index = choice.index;
    res->backend = bk->reg[choice.index]->name;
    res->fell_back = choice.fell_back;
    if (choice.fell_back)
        EB_LOGI("vod", "%s", choice.note);
    return 0;
}

/* The inventory entry of dev (for the decode decision), into *out;
 * returns 1 if found. */
static int eb_vod_device_caps(const EbHalDevice *dev, EbHalDeviceInfo *out)
{
    EbHalDeviceInfo *info;
    int nb = 0, found = 0;

    if (!dev->backend->devices)
        return 0;
    info = calloc(EB_HAL_MAX_DEVICES, sizeof(*info));
    if (!info)
        return 0;
    if (dev->backend->devices(info, EB_HAL_MAX_DEVICES, &nb) == 0) {
        for (int i = 0; i < nb && !found; i++) {
            if (!strcmp(info[i].device, dev->name)) {
                *out = info[i];
                found = 1;
            }
        }
    }
    free(info);
    return found;
}

/* Acquires the job's sessions on its device, waiting (cancellable) up to
 * the options' timeout. Fills detail on failure. */
static int eb_vod_acquire_sessions(EbJob *job, const EbRungPlan *plans, int nb, char *detail,
                                   size_t detail_size)
{
    const EbVodOptions *o = job->o;
    EbVodSessionRequest vr;
    EbSessionRequest req;
    EbSessionLimits lim;
    int timeout = o->session_timeout_ms > 0 ? o->session_timeout_ms : EB_VOD_SESSION_TIMEOUT_MS;
    uint64_t deadline;
    int ret, logged = 0;

    ret = eb_vod_session_request(plans, nb, job->info, job->dev->backend->name, job->dev->name,
                                 &vr);
    if (ret <= 0)
        return ret;
    eb_vod_session_limits(o->device_limits, o->nb_device_limits, job->dev->backend->name,
                          job->dev->name, &lim);
    req.device = vr.device;
    req.encode = vr.encode;
    req.decode = vr.decode;
    req.memory = vr.memory;
    ret = eb_sessions_open(o->sessions_dir, &job->sessions);
    if (ret < 0) {
        snprintf(detail, detail_size, "session accounting unavailable (%s): %s",
                 o->sessions_dir ? o->sessions_dir : "$EB_SESSIONS_DIR or " EB_SESSIONS_DIR_DEFAULT,
                 eb_strerror(ret));
        return ret;
    }
    deadline = eb_clock_ns() + (uint64_t)timeout * 1000000u;
    for (;;) {
        uint64_t now = eb_clock_ns();
        int slice = 0;
        if (o->cancel && atomic_load(o->cancel))
            return EB_ERR_CANCELED;
        if (logged)
            slice = now >= deadline ? 0 : (int)((deadline - now) / 1000000u);
        if (slice > 250)
            slice = 250; /* wake up to see a cancel */
        ret = eb_sessions_acquire(job->sessions, &req, &lim, slice, &job->lease);
        if (ret != EB_ERR(ETIMEDOUT))
            break;
        if (eb_clock_ns() >= deadline)
            break;
        if (!logged) {
            EB_LOGI("vod", "waiting for %d encode session%s%s on %s (limit %d)", req.encode,
                    req.encode == 1 ? "" : "s", req.decode ? " and 1 decode session" : "",
                    req.device, lim.max_encode);
            logged = 1;
        }
    }
    if (ret == EB_ERR(E2BIG))
        snprintf(detail, detail_size,
                 "the job needs %d encode and %d decode sessions and %.0f MB on %s; the limits "
                 "are %d, %d and %.0f MB (0: not accounted)",
                 req.encode, req.decode, (double)req.memory / (1 << 20), req.device,
                 lim.max_encode, lim.max_decode, (double)lim.memory_bytes / (1 << 20));
    else if (ret == EB_ERR(ETIMEDOUT))
        snprintf(detail, detail_size, "waited %.0f s for %d encode sessions on %s", timeout / 1000.0,
                 req.encode, req.device);
    else if (ret < 0 && ret != EB_ERR_CANCELED)
        snprintf(detail, detail_size, "session accounting on %s failed: %s", req.device,
                 eb_strerror(ret));
    if (ret >= 0)
        EB_LOGI("vod", "sessions on %s: %d encode, %d decode, %.0f MB", req.device, req.encode,
                req.decode, (double)req.memory / (1 << 20));
    return ret;
}

/* 1 where the device's inventory lists an encoder for codec. */
static int eb_vod_device_encodes(const EbHalDeviceInfo *caps, enum AVCodecID codec)
{
    for (int i = 0; i < caps->nb_codecs; i++)
        if (caps->codecs[i].codec == codec && caps->codecs[i].encode)
            return 1;
    return 0;
}

/* The configured input limits, before any work (and before the disk
 * estimate, which an absurd duration would otherwise trip first). */
static int eb_vod_check_limits(const EbVodOptions *o, const EbSourceInfo *info, char *detail,
                               size_t size)
{
    int w = info->geometry.width, h = info->geometry.height;
    int lw = o->max_width, lh = o->max_height;

    if (o->max_duration > 0 && info->duration > o->max_duration) {
        snprintf(detail, size, "the input lasts %.1f s, longer than limits.max_duration (%.0f s)",
                 info->duration, o->max_duration);
        return EB_ERR_INPUT_LIMIT;
    }
    if (lw > 0 && lh > 0 &&
        (FFMAX(w, h) > FFMAX(lw, lh) || FFMIN(w, h) > FFMIN(lw, lh))) {
        snprintf(detail, size, "the input's picture is %dx%d, larger than limits.max_resolution "
                 "(%dx%d)", w, h, lw, lh);
        return EB_ERR_INPUT_LIMIT;
    }
    return 0;
}

/* The media version a publish of id gets: 1 for a new video, the
 * published one's + 1 when it replaces one (its .version, 1 if absent).
 * Manifests then reference media as "...?v=N", because the file names stay
 * the same with new bytes and the origin serves media as immutable. */
static int64_t eb_vod_next_version(const EbVodOptions *o, const char *id)
{
    char dir[4200], path[4400];
    long long v = 1;
    FILE *f;

    if (!o->overwrite || !eb_storage_exists(o->storage_root, id) ||
        eb_layout_video_dir(o->storage_root, id, dir, sizeof(dir)) < 0 ||
        eb_layout_file(dir, EB_LAYOUT_VERSION, NULL, 1, path, sizeof(path)) < 0)
        return 1;
    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lld", &v) != 1 || v < 1)
            v = 1;
        fclose(f);
    }
    return (int64_t)v + 1;
}

/* The engine's figures into the job's result. */
static void eb_vod_result_from_stats(EbVodResult *res, const EbPipelineStats *st)
{
    res->source_packets = st->source_packets;
    res->frames_decoded = st->frames_decoded;
    res->frames_out = st->frames_out;
    res->damaged = st->damaged;
    res->decode_seconds = st->decode_seconds;
    res->filter_seconds = st->filter_seconds;
    res->duration = st->duration;
    res->device_uploads = st->device_uploads;
    res->device_downloads = st->device_downloads;
    res->nb_rungs = st->nb_rungs;
    memcpy(res->rungs, st->rungs, sizeof(res->rungs));
    res->fanout_seconds = st->fanout_seconds;
    res->audio_seconds = st->audio_seconds;
    res->fanout_wait_seconds = st->fanout_wait_seconds;
    res->fanout_blocked_seconds = st->fanout_blocked_seconds;
    res->demux_blocked_seconds = st->demux_blocked_seconds;
    res->demux_cpu_seconds = st->demux_cpu_seconds;
    res->fanout_cpu_seconds = st->fanout_cpu_seconds;
}

/* The staging tree to the bucket under <prefix>videos/<id> (eb_s3.h):
 * media first, manifests last, nothing left behind on failure. */
static int eb_vod_upload(const EbVodOptions *o, EbVodResult *res, const char *staging)
{
    EbS3Stats st = {0};
    char key[128], err[400];
    int ret;

    snprintf(key, sizeof(key), "%s/%.64s", EB_LAYOUT_VIDEOS_DIR, res->video_id);
    ret = eb_s3_put_tree(o->s3, staging, key, &st, err, sizeof(err));
    res->s3.objects = st.objects;
    res->s3.multipart_objects = st.multipart_objects;
    res->s3.retries = st.retries;
    res->s3.bytes = st.bytes;
    res->s3.seconds = st.seconds;
    snprintf(res->s3.key_prefix, sizeof(res->s3.key_prefix), "%.512s%s", o->s3->prefix, key);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "upload to the object store failed (nothing of it is left in the bucket): %.400s",
                 err);
        res->s3.objects = 0;
        return ret;
    }
    EB_LOGI("vod", "%s: %d objects, %.1f MB to s3 in %.2f s", res->video_id, st.objects,
            st.bytes / 1e6, st.seconds);
    if (o->overwrite) {
        /* objects of the version it replaces that the new tree has not */
        int removed = 0;
        if (eb_s3_prune_tree(o->s3, staging, key, &removed, err, sizeof(err)) < 0)
            EB_LOGW("vod", "%s: stale objects of the earlier version stay in the bucket: %s",
                    res->video_id, err);
        else if (removed)
            EB_LOGI("vod", "%s: %d objects of the earlier version removed from the bucket",
                    res->video_id, removed);
    }
    return 0;
}

/* One run of the job on backend. res->video_id is set by the caller;
 * *hw_stage says whether a failure was in a device stage. */
static int eb_vod_attempt(const EbVodOptions *o, const EbHalBackend *backend, EbVodResult *res,
                          int *hw_stage)
{
    EbJob job;
    EbRungPlan plans[EB_LADDER_MAX_RUNGS];
    EbThumbnailTrack thumb_track;
    EbHalDeviceInfo caps;
    EbPipelineStats st;
    int have_caps = 0, hw = eb_backend_is_hw(backend->name);
    char staging[4096] = "";
    int staging_lock = -1;      /* held while the staging folder is ours */
    int64_t version = 1;        /* media version of this publish */
    uint64_t start = eb_clock_ns();
    double cpu_start = eb_cpu_process_seconds();
    int ret, nb = 0;

    *hw_stage = 0;
    memset(&job, 0, sizeof(job));
    job.o = o;

    ret = eb_storage_prepare(o->storage_root);
    if (ret < 0) {
        snprintf(res->error_detail, sizeof(res->error_detail), "cannot create the storage tree under %s",
                 o->storage_root);
        goto end;
    }
    if (!o->overwrite && eb_storage_exists(o->storage_root, res->video_id)) {
        ret = EB_ERR_EXISTS;
        goto end;
    }
    ret = eb_hal_device_open(backend, NULL, &job.dev);
    if (ret < 0) {
        *hw_stage = hw;
        snprintf(res->error_detail, sizeof(res->error_detail), "%s device did not open: %s",
                 backend->name, eb_strerror(ret));
        goto end;
    }
    if (hw) {
        if (eb_hal_hw_format(job.dev) == AV_PIX_FMT_NONE) {
            ret = EB_ERR(EINVAL);
            *hw_stage = 1;
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "%s device %s has no hardware frames", backend->name, job.dev->name);
            goto end;
        }
        have_caps = eb_vod_device_caps(job.dev, &caps);
        if (!have_caps)
            EB_LOGI("vod", "no inventory entry for %s: deciding where to decode from the stream "
                    "alone", job.dev->name);
        if (have_caps && o->ladder.nb_rungs > 0 &&
            !eb_vod_device_encodes(&caps, eb_rung_codec_id(&o->ladder.rungs[0]))) {
            ret = EB_ERR_CODEC_UNSUPPORTED;
            *hw_stage = 1; /* the policy may move the job to a backend that has it */
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "%s device %s (%s) has no %s encoder", backend->name, job.dev->name,
                     caps.name[0] ? caps.name : "unnamed", o->ladder.rungs[0].codec);
            goto end;
        }
    }
    {
        /* TS muxes one audio track into every variant: the default one. */
        EbSourceOptions so = {.want_audio = o->ladder.audio_bitrate > 0,
                              .max_audio_tracks = o->format == EB_FORMAT_TS ? 1 : 0,
                              .input_roots = o->input_roots,
                              .device_caps = have_caps ? &caps : NULL};
        ret = eb_input_file_open(o->input, job.dev, &so, &job.in, res->error_detail,
                                 sizeof(res->error_detail));
    }
    if (ret < 0) {
        /* The input's own errors are final (eb_vod_fallback_decision);
         * the rest happened opening the device's decoder. */
        *hw_stage = hw && ret != EB_ERR_CODEC_UNSUPPORTED && ret != EB_ERR(ENOENT) &&
                    ret != EB_ERR(EISDIR) && ret != EB_ERR(EACCES);
        goto end;
    }
    job.info = eb_input_info(job.in);
    if (hw)
        snprintf(res->decode_note, sizeof(res->decode_note), "%s", job.info->decode_note);
    ret = eb_vod_check_limits(o, job.info, res->error_detail, sizeof(res->error_detail));
    if (ret < 0)
        goto end;

    {
        EbSourceGeometry g = job.info->geometry;
        nb = eb_ladder_plan(&o->ladder, &g, plans);
        if (nb < 0) {
            ret = nb;
            goto end;
        }
    }
    if (o->check_space) {
        uint64_t free_bytes = 0;
        double rate = (double)o->ladder.audio_bitrate * job.info->nb_audio;
        for (int i = 0; i < nb; i++)
            rate += (double)eb_rung_maxrate(&plans[i].rung);
        if (eb_storage_free_bytes(o->storage_root, &free_bytes) == 0) {
            double need = job.info->duration * rate / 8.0 * 1.1 + (1 << 20);
            if (need > (double)free_bytes) {
                snprintf(res->error_detail, sizeof(res->error_detail),
                         "need about %.1f MB for the output, %.1f MB free under %s", need / 1e6,
                         (double)free_bytes / 1e6, o->storage_root);
                ret = EB_ERR_NO_SPACE_ESTIMATE;
                goto end;
            }
        }
    }
    version = eb_vod_next_version(o, res->video_id);
    ret = eb_storage_stage(o->storage_root, res->video_id, staging, sizeof(staging),
                           &staging_lock);
    if (ret < 0)
        goto end;

    {
        EbPipelineConfig pc = {
            .input = job.in,
            .dev = job.dev,
            .plans = plans,
            .nb_rungs = nb,
            .format = o->format,
            .segment_seconds = o->segment_seconds,
            .preset = o->preset,
            .encoder_threads = o->encoder_threads,
            .audio_bitrate = o->ladder.audio_bitrate,
            .cancel = o->cancel,
        };
        ret = eb_pipeline_open(&pc, &job.pipe, res->error_detail, sizeof(res->error_detail),
                               hw_stage);
        if (ret < 0)
            goto end;
    }
    eb_vod_audio_result(o, job.info, res);
    if (hw) {
        /* Sessions before any encoder opens (NVENC counts open encoders). */
        ret = eb_vod_acquire_sessions(&job, plans, nb, res->error_detail,
                                      sizeof(res->error_detail));
        if (ret < 0) {
            *hw_stage = ret != EB_ERR_CANCELED;
            goto end;
        }
    }
    if (o->thumbs.enabled) {
        char dir[4200];
        ret = eb_layout_file(staging, EB_LAYOUT_THUMB_DIR, NULL, 1, dir, sizeof(dir));
        if (ret >= 0)
            ret = eb_storage_mkdirs(dir);
        if (ret >= 0) {
            EbThumbsOptions to = o->thumbs;
            to.media_version = version;
            ret = eb_thumbs_open(&to, dir, plans[nb - 1].width, plans[nb - 1].height,
                                 job.info->frame_rate, job.info->duration, &job.thumbs);
        }
        if (ret < 0) {
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "thumbnail settings not usable for this source");
            goto end;
        }
    }
    {
        EbSinkRendition rends[EB_SINK_MAX_RENDITIONS];
        int nb_rend = eb_pipeline_renditions(job.pipe, rends, EB_SINK_MAX_RENDITIONS);
        EbPipelineTap tap = {.wants = eb_vod_tap_wants, .frame = eb_vod_tap_frame,
                             .opaque = job.thumbs};
        ret = eb_sink_file_open(staging, rends, nb_rend, &job.file_sink);
        if (ret < 0)
            goto end;
        job.sink = job.file_sink;
        if (o->encryption != EB_ENCRYPT_NONE) {
            ret = eb_vod_key(&job, res);
            if (ret >= 0)
                ret = eb_sink_encrypt_open(job.file_sink, rends, nb_rend, o->encryption, &job.key.k,
                                           &job.sink, res->error_detail, sizeof(res->error_detail));
            if (ret < 0) {
                job.sink = NULL;
                goto end;
            }
        }
        ret = eb_pipeline_start(job.pipe, job.sink, job.thumbs ? &tap : NULL);
    }
    if (ret >= 0)
        ret = eb_pipeline_wait(job.pipe, o->progress, o->opaque);
    res->encrypt_seconds = eb_sink_encrypt_seconds(job.sink);
    if (ret < 0) {
        const char *d = eb_pipeline_error_detail(job.pipe);
        if (eb_sink_encrypt_detail(job.sink)[0])
            d = eb_sink_encrypt_detail(job.sink);
        if (d[0])
            snprintf(res->error_detail, sizeof(res->error_detail), "%s", d);
        *hw_stage = eb_pipeline_hw_failed(job.pipe);
        goto end;
    }

    if (job.thumbs) {
        eb_pipeline_stats(job.pipe, &st);
        ret = eb_thumbs_finish(job.thumbs, st.duration, &thumb_track);
        if (ret < 0) {
            snprintf(res->error_detail, sizeof(res->error_detail), "writing thumbnails failed");
            goto end;
        }
        res->thumbnail_sheets = thumb_track.nb_sheets;
        res->thumbnail_tiles = thumb_track.nb_tiles;
    }
    ret = eb_write_manifests(&job, staging, job.thumbs ? &thumb_track : NULL, version,
                             res->error_detail, sizeof(res->error_detail));
    if (ret < 0)
        goto end;
    if (o->before_publish &&
        (ret = o->before_publish(o->opaque, res->error_detail, sizeof(res->error_detail))) < 0)
        goto end;
    if (o->s3 && (ret = eb_vod_upload(o, res, staging)) < 0)
        goto end;
    ret = eb_storage_publish(o->storage_root, res->video_id, staging, o->overwrite);
    if (ret < 0)
        goto end;
    staging[0] = '\0';
    eb_layout_video_dir(o->storage_root, res->video_id, res->output_dir, sizeof(res->output_dir));
    if (o->encryption != EB_ENCRYPT_NONE) {
        /* the published video's key is the only one of it from now on */
        eb_key_store_prune(job.key_store, res->video_id, job.key.k.kid);
        job.key.scheme = EB_ENCRYPT_NONE;
    }

end:
    if (job.pipe) {
        eb_pipeline_stats(job.pipe, &st);
        eb_vod_result_from_stats(res, &st);
    } else if (job.in) {
        EbSourceStats ss;
        job.in->ops->stats(job.in, &ss);
        res->source_packets = ss.packets;
        res->frames_decoded = ss.frames_decoded;
        res->frames_out = ss.frames_out;
    }
    res->cpu_seconds = eb_cpu_process_seconds() - cpu_start;
    eb_pipeline_free(&job.pipe);
    if (job.sink != job.file_sink)
        eb_sink_free(&job.sink);
    eb_sink_free(&job.file_sink);
    if (job.key.scheme != EB_ENCRYPT_NONE) /* made, never published */
        eb_key_store_remove(job.key_store, res->video_id, job.key.k.kid);
    memset(&job.key, 0, sizeof(job.key));
    eb_thumbs_free(&job.thumbs);
    eb_input_close(&job.in);
    /* Every encoder and the decoder are closed: give the sessions back. */
    eb_sessions_release(&job.lease);
    eb_sessions_close(&job.sessions);
    eb_hal_device_close(&job.dev);
    if (staging[0])
        eb_storage_remove_tree(staging);
    if (staging_lock >= 0)
        close(staging_lock); /* after the removal: a sweep never races it */
    res->wall_seconds = (eb_clock_ns() - start) / 1e9;
    return ret;
}

int eb_vod_run(const EbVodOptions *o, EbVodResult *res)
{
    EbVodBackends bk;
    char video_id[sizeof(res->video_id)];
    uint64_t start = eb_clock_ns();
    int ret, index = -1, hw_stage = 0;

    memset(res, 0, sizeof(*res));
    if (o->video_id)
        snprintf(res->video_id, sizeof(res->video_id), "%s", o->video_id);
    else
        eb_storage_id_from_path(o->input, res->video_id, sizeof(res->video_id));
    if (!eb_storage_id_valid(res->video_id)) {
        ret = EB_ERR_BAD_ID;
        goto end;
    }
    if (o->segment_seconds < 1.0 || o->segment_seconds > 60.0) {
        ret = EB_ERR_BAD_OPTION;
        snprintf(res->error_detail, sizeof(res->error_detail), "segment length %.3f s is outside 1..60 s",
                 o->segment_seconds);
        goto end;
    }
    if (o->format == EB_FORMAT_TS && o->ladder.nb_rungs > 0 &&
        eb_rung_codec_id(&o->ladder.rungs[0]) == AV_CODEC_ID_HEVC) {
        ret = EB_ERR_BAD_OPTION;
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "ladder '%s' is HEVC, which encbox packages in CMAF only (HLS players such as "
                 "Safari and hls.js play HEVC from fMP4 segments): use format cmaf",
                 o->ladder.name);
        goto end;
    }
    if ((o->encryption == EB_ENCRYPT_CENC || o->encryption == EB_ENCRYPT_CBCS) &&
        o->format == EB_FORMAT_TS) {
        ret = EB_ERR_BAD_OPTION;
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "%s encryption is Common Encryption of CMAF segments: use format cmaf, or "
                 "aes-128 for MPEG-TS",
                 eb_encryption_scheme_name(o->encryption));
        goto end;
    }
    if ((o->encryption == EB_ENCRYPT_CENC || o->encryption == EB_ENCRYPT_CBCS) &&
        o->ladder.nb_rungs > 0 && eb_rung_codec_id(&o->ladder.rungs[0]) == AV_CODEC_ID_HEVC) {
        ret = EB_ERR_BAD_OPTION;
        snprintf(res->error_detail, sizeof(res->error_detail),
                 "ladder '%s' is HEVC: %s encryption is built for H.264 rungs only (it keeps "
                 "H.264 slice headers clear; HEVC's are not read yet)",
                 o->ladder.name, eb_encryption_scheme_name(o->encryption));
        goto end;
    }
    if (o->max_input_size > 0 && o->input) {
        struct stat st;
        if (stat(o->input, &st) == 0 && S_ISREG(st.st_mode) &&
            (int64_t)st.st_size > o->max_input_size) {
            ret = EB_ERR_INPUT_LIMIT;
            snprintf(res->error_detail, sizeof(res->error_detail),
                     "the input is %lld bytes, larger than limits.max_input_size (%lld)",
                     (long long)st.st_size, (long long)o->max_input_size);
            goto end;
        }
    }
    ret = eb_vod_choose_backend(o, &bk, &index, res);
    if (ret < 0)
        goto end;
    ret = eb_vod_attempt(o, bk.reg[index], res, &hw_stage);
    if (ret < 0) {
        EbHalChoice c;
        char what[600], first_note[sizeof(res->backend_note)];
        int again;

        snprintf(what, sizeof(what), "%s", res->error_detail[0] ? res->error_detail : eb_strerror(ret));
        again = eb_vod_fallback_decision(o->backend ? o->backend : "auto", o->fallback, bk.names,
                                         bk.probes, bk.nb, index, ret, hw_stage, what, 1, &c);
        if (!again) {
            if (hw_stage && eb_backend_is_hw(bk.names[index])) {
                EB_LOGI("vod", "%s failed (%s); no re-run: %s", bk.names[index], what, c.note);
                /* The policy's verdict (e.g. "...: fallback none, job
                 * fails"); an input error keeps the choice's note. */
                if (!eb_error_is_final(ret))
                    snprintf(res->backend_note, sizeof(res->backend_note), "%s", c.note);
            }
            goto end;
        }
        /* Re-run the whole job on the fallback backend; the first run's
         * staging is gone and nothing of it was published. */
        EB_LOGW("vod", "%s failed after the job started (%s): re-running the job on %s",
                bk.names[index], what, c.name);
        snprintf(video_id, sizeof(video_id), "%s", res->video_id);
        snprintf(first_note, sizeof(first_note), "%s", c.note);
        memset(res, 0, sizeof(*res));
        snprintf(res->video_id, sizeof(res->video_id), "%s", video_id);
        index = c.index;
        ret = eb_vod_attempt(o, bk.reg[index], res, &hw_stage);
        res->backend = bk.reg[index]->name;
        res->fell_back = 1;
        snprintf(res->backend_note, sizeof(res->backend_note), "%s", first_note);
    }
end:
    res->wall_seconds = (eb_clock_ns() - start) / 1e9;
    return ret;
}
