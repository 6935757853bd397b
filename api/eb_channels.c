/*
 * The channel store (see eb_channels.h): the POST /v1/channels parser, the
 * two tables, the API's view of a channel and the ingest addresses.
 *
 * DESIGN
 * - The database is the truth for every channel and recording; memory
 *   holds only the stats the worker last reported (they describe a running
 *   worker, which a restart does not keep) and the tokens of the channels
 *   this box carries. The SQL is written once for SQLite and PostgreSQL
 *   (eb_sql.h).
 * - A claim is one UPDATE ... RETURNING fence, conditioned on nobody
 *   holding the channel, this box holding it, or the holder's lease being
 *   over (the database's clock): two boxes never both succeed. Every state
 *   write of a run names the token; a DELETE through any box ends the
 *   channel unconditionally, and the carrying box learns it at its next
 *   renewal. Recordings are recorded whoever reports them: a recording a
 *   worker published is in storage, and hiding it would lose it.
 * - "Name unique among channels that have not ended" is the partial unique
 *   index channels_open_name; create also checks it first under the lock,
 *   to tell a taken name from any other failure.
 * - Secrets (SRT passphrase, RTMP stream key) are drawn with getrandom
 *   and nothing weaker: a failure fails the create. They are stored in
 *   clear (the ingest compares them and the view prints them in the
 *   ingest URLs, for the API's token holders), which is why the file is
 *   owner-only (eb_db.h), and a rack's PostgreSQL must be kept as private
 *   as the boxes.
 * - Look-ups by "id or name": an id wins; a name finds the channel that
 *   has not ended, else (views only) the newest that has: the secrets
 *   (eb_channels_spec, eb_channels_find_by_key) come only from channels
 *   that have not ended. Names of an id's form are refused, so ids and
 *   names never meet.
 */
#include "eb_channels.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_job_spec.h"
#include "eb_layout.h"
#include "eb_log.h"
#include "eb_sql.h"
#include "eb_storage.h"

#define EB_CHANNEL_ID_HEX 16
#define EB_CHANNEL_RECONNECT_DEFAULT 30.0

const char *const eb_channel_state_names[EB_CHANNEL_NB_STATES] = {"idle", "live", "reconnecting",
                                                                  "ended"};

/* The figures a worker last reported for a channel. */
typedef struct EbChannelStats {
    char id[40];
    json_t *stats;
} EbChannelStats;

/* A channel this box carries: the token its claim got (every write of
 * the run names it) and when its lease last took (monotonic seconds). */
typedef struct EbChannelHeld {
    char id[40];
    int64_t fence;
    double renewed;
} EbChannelHeld;

struct EbChannels {
    EbChannelsConfig cfg;
    EbSql *db;
    pthread_mutex_t lock; /* db, stats and held */
    EbChannelStats *stats;
    int nb_stats, cap_stats;
    EbChannelHeld *held;
    int nb_held, cap_held;
};

/* A row of the channels table. */
typedef struct EbChannelRow {
    EbChannelSpec spec;
    char state[16];
    double created;
    double ended; /* 0: not ended */
    char box[65]; /* the box that claimed it last; "": none */
    double lease_until; /* Unix seconds; 0: none */
} EbChannelRow;

#define EB_CH_COLUMNS                                                                              \
    "id, name, state, created, ended, ladder, preset, segment_seconds, window_seconds, "           \
    "reconnect_window_seconds, record, srt_passphrase, stream_key, part_seconds, encryption, "     \
    "box, "                                                                                        \
    "lease_until"

/* ---- the request ------------------------------------------------------ */

static void eb_req_fail(EbJobRequestError *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_req_fail(EbJobRequestError *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    err->status = 400;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* 1 when s has the form of a channel id: "ch_" and 16 hex digits. */
static int eb_channel_id_form(const char *s)
{
    size_t p = strlen(EB_CHANNEL_ID_PREFIX);
    return !strncmp(s, EB_CHANNEL_ID_PREFIX, p) && strlen(s) == p + EB_CHANNEL_ID_HEX &&
           strspn(s + p, "0123456789abcdef") == EB_CHANNEL_ID_HEX;
}

static int eb_channel_name_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= EB_CHANNEL_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n && !eb_channel_id_form(s);
}

static int eb_req_name(const json_t *in, EbChannelSpec *out, EbJobRequestError *err)
{
    const json_t *v = json_object_get(in, "name");
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;

    if (!s) {
        eb_req_fail(err, "name", "name: required, a string of 1 to %d characters [a-z0-9_-]",
                    EB_CHANNEL_NAME_MAX);
        return EB_ERR(EINVAL);
    }
    if (n == 0 || n > EB_CHANNEL_NAME_MAX) {
        eb_req_fail(err, "name", "name: must be 1 to %d characters long (got %zu)",
                    EB_CHANNEL_NAME_MAX, n);
        return EB_ERR(EINVAL);
    }
    if (strlen(s) != n || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
        eb_req_fail(err, "name",
                    "name: must match [a-z0-9_-]{1,%d} (lower-case letters, digits, '_', '-'): "
                    "it is part of the channel's URLs",
                    EB_CHANNEL_NAME_MAX);
        return EB_ERR(EINVAL);
    }
    if (eb_channel_id_form(s)) {
        eb_req_fail(err, "name",
                    "name: must not have the form of a channel id (ch_ and %d hex "
                    "digits)",
                    EB_CHANNEL_ID_HEX);
        return EB_ERR(EINVAL);
    }
    snprintf(out->name, sizeof(out->name), "%s", s);
    return 0;
}

/* A number member key within [min, max]; absent: *out unchanged. */
static int eb_req_number(const json_t *in, const char *key, double min, double max, double *out,
                         EbJobRequestError *err)
{
    const json_t *v = json_object_get(in, key);

    if (!v)
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= min && json_number_value(v) <= max)) {
        eb_req_fail(err, key, "%s: must be a number of seconds, %g to %g", key, min, max);
        return EB_ERR(EINVAL);
    }
    *out = json_number_value(v);
    return 0;
}

int eb_channel_request_parse(const EbConfig *cfg, const char *body, size_t len, EbChannelSpec *out,
                             EbJobRequestError *err)
{
    static const char *const known[] = {"name",
                                        "ladder",
                                        "preset",
                                        "segment_seconds",
                                        "window_seconds",
                                        "reconnect_window_seconds",
                                        "record",
                                        "low_latency",
                                        "part_seconds",
                                        "encryption",
                                        NULL};
    const EbSetting *seg = eb_config_find_setting("live.segment_seconds");
    const EbSetting *presets = eb_config_find_setting("jobs.preset");
    json_error_t e;
    json_t *in, *v;
    const char *key, *s;
    int ret = EB_ERR(EINVAL), window_set;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if (!cfg || !seg || !presets)
        return EB_ERR(EINVAL);
    in = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &e);
    if (!in) {
        eb_req_fail(err, "", "malformed JSON: %s (line %d)", e.text, e.line);
        return EB_ERR(EINVAL);
    }
    if (!json_is_object(in)) {
        eb_req_fail(err, "", "the body must be a JSON object");
        goto done;
    }
    /* The one unknown-field rule of job specs and API requests. */
    if ((key = eb_job_spec_unknown_field(in, known))) {
        eb_req_fail(err, key, "%s: unknown field", key);
        goto done;
    }
    if (eb_req_name(in, out, err) < 0)
        goto done;

    /* ladder: a preset of the configuration, as a job's ladder name is
     * checked (null or absent: jobs.ladder). No inline ladder: a channel
     * runs for days on what the operator set up. */
    v = json_object_get(in, "ladder");
    if (v && !json_is_null(v)) {
        s = json_string_value(v);
        if (!s) {
            eb_req_fail(err, "ladder", "ladder: must be the name of a ladder preset");
            goto done;
        }
        if (strlen(s) != json_string_length(v) || strlen(s) >= sizeof(out->ladder) ||
            !eb_config_find_ladder(cfg, s)) {
            eb_req_fail(err, "ladder", "ladder: no preset named '%.64s'", s);
            goto done;
        }
        snprintf(out->ladder, sizeof(out->ladder), "%s", s);
    } else {
        snprintf(out->ladder, sizeof(out->ladder), "%s", cfg->jobs_ladder);
    }

    /* preset: the job rule (jobs.preset's values). */
    v = json_object_get(in, "preset");
    if (v) {
        int ok = 0;
        s = json_string_value(v);
        for (int i = 0; s && strlen(s) == json_string_length(v) && presets->values[i]; i++)
            ok |= !strcmp(s, presets->values[i]);
        if (!ok || strlen(s) >= sizeof(out->preset)) {
            eb_req_fail(err, "preset", "preset: must be one of ultrafast..veryslow");
            goto done;
        }
        snprintf(out->preset, sizeof(out->preset), "%s", s);
    } else {
        snprintf(out->preset, sizeof(out->preset), "%s", cfg->jobs_preset);
    }

    out->segment_seconds = cfg->live_segment_seconds;
    if (eb_req_number(in, "segment_seconds", seg->min, seg->max, &out->segment_seconds, err) < 0)
        goto done;
    /* The default window grows to 3 segments where the configured one is
     * shorter than that for this channel's segments. */
    window_set = json_object_get(in, "window_seconds") != NULL;
    out->window_seconds = fmax(cfg->live_window_seconds, 3 * out->segment_seconds);
    if (eb_req_number(in, "window_seconds", 3, EB_CHANNEL_MAX_WINDOW, &out->window_seconds, err) <
        0)
        goto done;
    if (window_set && out->window_seconds < 3 * out->segment_seconds) {
        eb_req_fail(err, "window_seconds",
                    "window_seconds: must hold at least 3 segments: %g or more with "
                    "segment_seconds %g",
                    3 * out->segment_seconds, out->segment_seconds);
        goto done;
    }
    out->reconnect_window_seconds = EB_CHANNEL_RECONNECT_DEFAULT;
    if (eb_req_number(in, "reconnect_window_seconds", 0, EB_CHANNEL_MAX_RECONNECT,
                      &out->reconnect_window_seconds, err) < 0)
        goto done;
    out->record = 1;
    v = json_object_get(in, "record");
    if (v) {
        if (!json_is_boolean(v)) {
            eb_req_fail(err, "record", "record: must be true or false");
            goto done;
        }
        out->record = json_is_true(v);
    }
    /* Low latency by default, at the configured part target (at most half
     * a segment: a shorter channel segment halves the default). */
    out->part_seconds = fmin(cfg->live_part_seconds, out->segment_seconds / 2);
    if (eb_req_number(in, "part_seconds", 0.1, out->segment_seconds / 2, &out->part_seconds,
                      err) < 0)
        goto done;
    v = json_object_get(in, "low_latency");
    if (v) {
        if (!json_is_boolean(v)) {
            eb_req_fail(err, "low_latency", "low_latency: must be true or false");
            goto done;
        }
        if (json_is_false(v)) {
            if (json_object_get(in, "part_seconds")) {
                eb_req_fail(err, "part_seconds",
                            "part_seconds: a channel without low latency has no parts");
                goto done;
            }
            out->part_seconds = 0;
        }
    }
    v = json_object_get(in, "encryption");
    if (v) {
        EbEncryptionScheme sc;
        const char *scheme = json_string_value(json_object_get(v, "scheme"));
        if (!json_is_object(v) || json_object_size(v) != 1 || !scheme ||
            eb_encryption_scheme_parse(scheme, &sc) < 0) {
            eb_req_fail(err, "encryption",
                        "encryption: must be {\"scheme\": \"cenc\"|\"cbcs\"|\"aes-128\"|\"none\"}");
            goto done;
        }
        if (sc == EB_ENCRYPT_AES128 && out->part_seconds > 0) {
            eb_req_fail(err, "encryption",
                        "encryption: aes-128 encrypts whole segments, which low-latency parts "
                        "cannot be: use cenc or cbcs, or \"low_latency\": false");
            goto done;
        }
        out->encryption = (int)sc;
    }
    ret = 0;
done:
    json_decref(in);
    return ret;
}

/* ---- ingest addresses -------------------------------------------------- */

int eb_channels_public_addr(const char *listen, const char *public_host, char *out, size_t size)
{
    char host[256];
    const char *colon, *h;
    size_t n;
    int ret;

    if (size)
        out[0] = '\0';
    if (!listen || !*listen)
        return 0;
    colon = strrchr(listen, ':');
    if (!colon || !colon[1])
        return EB_ERR(EINVAL);
    n = (size_t)(colon - listen);
    if (n >= sizeof(host))
        return EB_ERR(ENAMETOOLONG);
    memcpy(host, listen, n);
    host[n] = '\0';
    if (public_host && *public_host) {
        h = public_host;
    } else if (!strcmp(host, "0.0.0.0") || !strcmp(host, "[::]")) {
        /* Every interface: the name others know this machine by. */
        if (gethostname(host, sizeof(host)) < 0)
            return EB_ERR(errno);
        host[sizeof(host) - 1] = '\0';
        h = host;
    } else {
        h = host;
    }
    if (h[0] != '[' && strchr(h, ':'))
        ret = snprintf(out, size, "[%s]%s", h, colon);
    else
        ret = snprintf(out, size, "%s%s", h, colon);
    if (ret < 0 || (size_t)ret >= size) {
        if (size)
            out[0] = '\0';
        return EB_ERR(ENAMETOOLONG);
    }
    return 0;
}

/* ---- the store ----------------------------------------------------------- */

static void eb_ch_col(EbSqlStmt *st, int col, char *dst, size_t size)
{
    const char *t = eb_sql_text(st, col);
    snprintf(dst, size, "%s", t ? t : "");
}

/* One row (EB_CH_COLUMNS) into *row. */
static void eb_ch_read_row(EbSqlStmt *st, EbChannelRow *row)
{
    EbChannelSpec *s = &row->spec;
    char scheme[16];
    EbEncryptionScheme sc = EB_ENCRYPT_NONE;

    memset(row, 0, sizeof(*row));
    eb_ch_col(st, 0, s->id, sizeof(s->id));
    eb_ch_col(st, 1, s->name, sizeof(s->name));
    eb_ch_col(st, 2, row->state, sizeof(row->state));
    row->created = eb_sql_double(st, 3);
    row->ended = eb_sql_is_null(st, 4) ? 0 : eb_sql_double(st, 4);
    eb_ch_col(st, 5, s->ladder, sizeof(s->ladder));
    eb_ch_col(st, 6, s->preset, sizeof(s->preset));
    s->segment_seconds = eb_sql_double(st, 7);
    s->window_seconds = eb_sql_double(st, 8);
    s->reconnect_window_seconds = eb_sql_double(st, 9);
    s->record = (int)eb_sql_int64(st, 10);
    eb_ch_col(st, 11, s->srt_passphrase, sizeof(s->srt_passphrase));
    eb_ch_col(st, 12, s->stream_key, sizeof(s->stream_key));
    s->part_seconds = eb_sql_double(st, 13);
    eb_ch_col(st, 14, scheme, sizeof(scheme));
    eb_encryption_scheme_parse(scheme, &sc);
    s->encryption = (int)sc;
    eb_ch_col(st, 15, row->box, sizeof(row->box));
    row->lease_until = eb_sql_is_null(st, 16) ? 0 : eb_sql_double(st, 16);
}

/* The channel by id or name (see the top of the file), lock held; with
 * open_only, only one that has not ended. 0 or EB_ERR(ENOENT). */
static int eb_ch_find(EbChannels *ch, const char *id_or_name, int open_only, EbChannelRow *row)
{
    EbSqlStmt *st = eb_sql_prepare(
        ch->db, open_only ? "SELECT " EB_CH_COLUMNS " FROM channels WHERE (id = ?1 OR name = ?1) "
                            "AND state != 'ended' ORDER BY id = ?1 DESC LIMIT 1"
                          : "SELECT " EB_CH_COLUMNS " FROM channels WHERE id = ?1 OR name = ?1 "
                            "ORDER BY id = ?1 DESC, state != 'ended' DESC, created DESC, "
                            "id DESC LIMIT 1");
    int ret;

    if (!st)
        return EB_ERR(EIO);
    eb_sql_bind_text(st, 1, id_or_name);
    ret = eb_sql_step(st);
    if (ret == 1)
        eb_ch_read_row(st, row);
    eb_sql_finalize(st);
    return ret == 1 ? 0 : ret < 0 ? EB_ERR(EIO) : EB_ERR(ENOENT);
}

/* The entry of a channel this box carries, or NULL; lock held. */
static EbChannelHeld *eb_ch_held(EbChannels *ch, const char *id)
{
    for (int i = 0; i < ch->nb_held; i++)
        if (!strcmp(ch->held[i].id, id))
            return &ch->held[i];
    return NULL;
}

/* Forgets that this box carries id, and the figures it reported; lock
 * held. */
static void eb_ch_forget(EbChannels *ch, const char *id)
{
    EbChannelHeld *h = eb_ch_held(ch, id);

    if (h)
        *h = ch->held[--ch->nb_held];
    for (int i = 0; i < ch->nb_stats; i++)
        if (!strcmp(ch->stats[i].id, id)) {
            json_decref(ch->stats[i].stats);
            ch->stats[i] = ch->stats[--ch->nb_stats];
            break;
        }
}

/* The live layout (the root "live/<name>/" with the same hls/, dash/ and
 * cmaf/ items below it) is being added to pipelines/eb_layout by the live
 * pipeline; until its EB_LAYOUT_LIVE_DIR is there, the folder is named
 * here and nowhere else. */
#ifndef EB_LAYOUT_LIVE_DIR
#define EB_LAYOUT_LIVE_DIR "live"
#endif

/* The URL of item of a channel's live window: base_url + "/live/<name>/" +
 * the item's path in the storage layout, the one place channel URLs are
 * made. New reference; null when it does not fit. */
static json_t *eb_ch_live_url(const EbChannels *ch, const char *name, EbLayoutItem item)
{
    char path[256], url[1024];
    int ret = eb_layout_path(item, NULL, 1, path, sizeof(path));

    if (ret < 0)
        return json_null();
    ret =
        snprintf(url, sizeof(url), "%s/" EB_LAYOUT_LIVE_DIR "/%s/%s", ch->cfg.base_url, name, path);
    return ret < 0 || (size_t)ret >= sizeof(url) ? json_null() : json_string(url);
}

/* The URL of item of a recording, published as a video: the layout's
 * origin path (as a job's outputs). New reference; null when it does not
 * fit. */
static json_t *eb_ch_video_url(const EbChannels *ch, const char *vid, EbLayoutItem item)
{
    char path[512], url[1024];
    int ret = eb_layout_origin_path(vid, item, path, sizeof(path));

    if (ret < 0)
        return json_null();
    ret = snprintf(url, sizeof(url), "%s%s", ch->cfg.base_url, path);
    return ret < 0 || (size_t)ret >= sizeof(url) ? json_null() : json_string(url);
}

/* The ingest URLs of a channel; null where that ingest is off. */
static json_t *eb_ch_ingest(const EbChannels *ch, const EbChannelSpec *s)
{
    const char *srt = ch->cfg.srt_public, *rtmp = ch->cfg.rtmp_public;
    json_t *o = json_object();
    char url[512];

    /* streamid "#!::r=<name>,m=publish" (the SRT access control syntax), its
     * '#' percent-encoded; the names and secrets need no encoding. */
    if (srt && *srt &&
        snprintf(url, sizeof(url),
                 "srt://%s?streamid=%%23!::r=%s,m=publish"
                 "&passphrase=%s",
                 srt, s->name, s->srt_passphrase) < (int)sizeof(url))
        json_object_set_new(o, "srt", json_string(url));
    else
        json_object_set_new(o, "srt", json_null());
    if (rtmp && *rtmp &&
        snprintf(url, sizeof(url), "rtmp://%s/live/%s", rtmp, s->stream_key) < (int)sizeof(url))
        json_object_set_new(o, "rtmp", json_string(url));
    else
        json_object_set_new(o, "rtmp", json_null());
    explicit_bzero(url, sizeof(url));
    return o;
}

static json_t *eb_ch_recordings(EbChannels *ch, const char *channel_id)
{
    EbSqlStmt *st = eb_sql_prepare(ch->db, "SELECT id, start_unix, end_unix, duration FROM "
                                           "recordings WHERE channel_id = ? "
                                           "ORDER BY start_unix, id");
    json_t *arr = json_array();

    if (!st)
        return arr;
    eb_sql_bind_text(st, 1, channel_id);
    while (eb_sql_step(st) == 1) {
        char id[EB_VIDEO_ID_MAX + 1];
        json_t *out = json_object();
        eb_ch_col(st, 0, id, sizeof(id));
        json_object_set_new(out, "hls", eb_ch_video_url(ch, id, EB_LAYOUT_HLS_MASTER));
        json_object_set_new(out, "dash", eb_ch_video_url(ch, id, EB_LAYOUT_DASH_MPD));
        json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:f, s:o}", "id", id, "start",
                                             eb_sql_double(st, 1), "end", eb_sql_double(st, 2),
                                             "duration", eb_sql_double(st, 3), "outputs", out));
    }
    eb_sql_finalize(st);
    return arr;
}

/* A protected channel's scheme, key id (its newest key in the key store,
 * [] before its first run) and where players get the key: never the key;
 * null for a clear channel. */
static json_t *eb_ch_encryption(const EbChannels *ch, const EbChannelSpec *s)
{
    EbEncryptionScheme sc = (EbEncryptionScheme)s->encryption;
    EbContentKey key;
    json_t *o, *ids = json_array();
    char kid[33] = "", url[1024];

    if (sc == EB_ENCRYPT_NONE) {
        json_decref(ids);
        return json_null();
    }
    if (ch->cfg.key_store && eb_key_store_latest(ch->cfg.key_store, s->name, sc, &key) == 0) {
        eb_key_hex(key.k.kid, kid);
        explicit_bzero(&key, sizeof(key));
        json_array_append_new(ids, json_string(kid));
    }
    if (sc == EB_ENCRYPT_AES128)
        snprintf(url, sizeof(url), "%s/%s/%s/%s/%s", ch->cfg.base_url, EB_LAYOUT_LIVE_DIR, s->name,
                 EB_LAYOUT_KEYS_NAME, kid);
    else
        snprintf(url, sizeof(url), "%s/%s/%s/%s", ch->cfg.base_url, EB_LAYOUT_LIVE_DIR, s->name,
                 EB_LAYOUT_LICENSE_NAME);
    o = json_pack("{s:s, s:o, s:o}", "scheme", eb_encryption_scheme_name(sc), "key_ids", ids,
                  "license_url",
                  sc == EB_ENCRYPT_AES128 && !kid[0] ? json_null() : json_string(url));
    return o ? o : json_null();
}

/* The box that carries the channel (its lease has not run out), or "". */
static const char *eb_ch_carrier(const EbChannelRow *row)
{
    return row->box[0] && strcmp(row->state, "ended") && row->lease_until >= eb_clock_unix()
               ? row->box
               : "";
}

/* The figures of a channel another box carries, as its last lease
 * renewal wrote them; new reference, {} when none. Lock held. */
static json_t *eb_ch_row_stats(EbChannels *ch, const char *id)
{
    EbSqlStmt *st = eb_sql_prepare(ch->db, "SELECT stats FROM channels WHERE id = ?");
    json_t *o = NULL;

    if (st) {
        eb_sql_bind_text(st, 1, id);
        if (eb_sql_step(st) == 1 && !eb_sql_is_null(st, 0))
            o = json_loads(eb_sql_text(st, 0), 0, NULL);
        eb_sql_finalize(st);
    }
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

/* The API's view of a row, lock held; new reference. */
static json_t *eb_ch_view(EbChannels *ch, const EbChannelRow *row)
{
    const EbChannelSpec *s = &row->spec;
    const char *carrier = eb_ch_carrier(row);
    json_t *o = json_object(), *out = json_object(), *stats = NULL;

    for (int i = 0; i < ch->nb_stats; i++)
        if (!strcmp(ch->stats[i].id, s->id))
            stats = json_deep_copy(ch->stats[i].stats);
    if (!stats && carrier[0] && strcmp(carrier, ch->cfg.box))
        stats = eb_ch_row_stats(ch, s->id);
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "state", json_string(row->state));
    json_object_set_new(o, "box", carrier[0] ? json_string(carrier) : json_null());
    json_object_set_new(o, "created", json_real(row->created));
    json_object_set_new(o, "ended", row->ended > 0 ? json_real(row->ended) : json_null());
    json_object_set_new(o, "ladder", json_string(s->ladder));
    json_object_set_new(o, "preset", json_string(s->preset));
    json_object_set_new(o, "segment_seconds", json_real(s->segment_seconds));
    json_object_set_new(o, "window_seconds", json_real(s->window_seconds));
    json_object_set_new(o, "reconnect_window_seconds", json_real(s->reconnect_window_seconds));
    json_object_set_new(o, "record", json_boolean(s->record));
    json_object_set_new(o, "low_latency", json_boolean(s->part_seconds > 0));
    if (s->part_seconds > 0)
        json_object_set_new(o, "part_seconds", json_real(s->part_seconds));
    json_object_set_new(o, "ingest", eb_ch_ingest(ch, s));
    json_object_set_new(o, "encryption", eb_ch_encryption(ch, s));
    json_object_set_new(out, "hls", eb_ch_live_url(ch, s->name, EB_LAYOUT_HLS_MASTER));
    json_object_set_new(out, "dash", eb_ch_live_url(ch, s->name, EB_LAYOUT_DASH_MPD));
    json_object_set_new(o, "outputs", out);
    json_object_set_new(o, "stats", stats ? stats : json_object());
    json_object_set_new(o, "recordings", eb_ch_recordings(ch, s->id));
    return o;
}

/* Adds a column to a table made by an earlier version (SQLite: when
 * pragma_table_info lacks it; PostgreSQL: IF NOT EXISTS). 0 or EB_ERR(EIO). */
static int eb_ch_add_column(EbChannels *ch, const char *table, const char *column, const char *decl)
{
    char sql[256];
    int have = 0;

    if (!eb_sql_is_pg(ch->db)) {
        EbSqlStmt *st = NULL;
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM pragma_table_info('%s') WHERE name = ?",
                 table);
        if (!(st = eb_sql_prepare(ch->db, sql)))
            return EB_ERR(EIO);
        eb_sql_bind_text(st, 1, column);
        have = eb_sql_step(st) == 1 && eb_sql_int64(st, 0) > 0;
        eb_sql_finalize(st);
    }
    snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s%s %s", table,
             eb_sql_is_pg(ch->db) ? "IF NOT EXISTS " : "", column, decl);
    return have || eb_sql_exec(ch->db, sql) == 0 ? 0 : EB_ERR(EIO);
}

/* The tables (both engines: SQLite reads DOUBLE PRECISION as REAL), and
 * the columns later versions added. Boxes of a rack starting together
 * make them once (PostgreSQL's advisory lock, as the job store's). */
static int eb_ch_schema(EbChannels *ch)
{
    static const char *const added[][2] = {
        /* before low latency: its channels keep playing as they did */
        {"part_seconds", "DOUBLE PRECISION NOT NULL DEFAULT 0"},
        /* before content protection: clear */
        {"encryption", "TEXT NOT NULL DEFAULT 'none'"},
        /* before the rack: nobody carries them */
        {"box", "TEXT"},
        {"lease_until", "DOUBLE PRECISION"},
        {"fence", "BIGINT NOT NULL DEFAULT 0"},
        {"stats", "TEXT"},
    };
    int pg = eb_sql_is_pg(ch->db), ret;

    if (pg && eb_sql_exec(ch->db, "SELECT pg_advisory_lock(7361627)") < 0)
        return EB_ERR(EIO);
    ret =
        eb_sql_exec(ch->db,
                    "CREATE TABLE IF NOT EXISTS channels ("
                    " id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL,"
                    " created DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION,"
                    " ladder TEXT NOT NULL, preset TEXT NOT NULL,"
                    " segment_seconds DOUBLE PRECISION NOT NULL,"
                    " window_seconds DOUBLE PRECISION NOT NULL,"
                    " reconnect_window_seconds DOUBLE PRECISION NOT NULL,"
                    " record INTEGER NOT NULL, srt_passphrase TEXT NOT NULL,"
                    " stream_key TEXT NOT NULL UNIQUE);"
                    "CREATE UNIQUE INDEX IF NOT EXISTS channels_open_name ON channels(name)"
                    " WHERE state != 'ended';"
                    "CREATE TABLE IF NOT EXISTS recordings ("
                    " id TEXT PRIMARY KEY, channel_id TEXT NOT NULL,"
                    " start_unix DOUBLE PRECISION NOT NULL, end_unix DOUBLE PRECISION NOT NULL,"
                    " duration DOUBLE PRECISION NOT NULL);"
                    "CREATE INDEX IF NOT EXISTS recordings_channel ON recordings(channel_id);") < 0
            ? EB_ERR(EIO)
            : 0;
    for (size_t i = 0; ret == 0 && i < sizeof(added) / sizeof(added[0]); i++)
        ret = eb_ch_add_column(ch, "channels", added[i][0], added[i][1]);
    if (pg && eb_sql_exec(ch->db, "SELECT pg_advisory_unlock(7361627)") < 0)
        ret = EB_ERR(EIO);
    return ret;
}

int eb_channels_open(const EbChannelsConfig *cfg, EbChannels **out)
{
    EbChannels *ch = calloc(1, sizeof(*ch));
    EbSqlStmt *st;
    int ret;

    *out = NULL;
    if (!ch)
        return EB_ERR(ENOMEM);
    ch->cfg = *cfg;
    if (!ch->cfg.base_url)
        ch->cfg.base_url = "";
    if (!ch->cfg.box || !*ch->cfg.box)
        ch->cfg.box = "local";
    if (ch->cfg.lease_seconds < 3)
        ch->cfg.lease_seconds = EB_CHANNEL_LEASE_S;
    pthread_mutex_init(&ch->lock, NULL);
    if ((ret = eb_sql_open(cfg->db_path, "channels", &ch->db)) < 0 || (ret = eb_ch_schema(ch)) < 0)
        goto fail;
    /* The workers of this box's earlier daemon died with it: its channels
     * are idle (it ends their open sessions, eb_channel_runs.h). A SQLite
     * file has one box: whatever name it had, nobody carries them now.
     * Other boxes' channels in a rack are theirs. */
    st = eb_sql_prepare(ch->db, "UPDATE channels SET state = 'idle' WHERE state NOT IN "
                                "('idle', 'ended') AND (box = ? OR box IS NULL OR ? = 0)");
    if (st) {
        eb_sql_bind_text(st, 1, ch->cfg.box);
        eb_sql_bind_int64(st, 2, eb_sql_is_pg(ch->db));
    }
    ret = st && eb_sql_step(st) == 0 ? 0 : EB_ERR(EIO);
    eb_sql_finalize(st);
    if (ret == 0 && !eb_sql_is_pg(ch->db))
        ret = eb_sql_exec(ch->db, "UPDATE channels SET box = NULL, lease_until = NULL") < 0
                  ? EB_ERR(EIO)
                  : 0;
    if (ret < 0)
        goto fail;
    *out = ch;
    return 0;
fail:
    eb_channels_close(&ch);
    return ret;
}

void eb_channels_close(EbChannels **pch)
{
    EbChannels *ch = pch ? *pch : NULL;

    if (!ch)
        return;
    eb_sql_close(&ch->db);
    for (int i = 0; i < ch->nb_stats; i++)
        json_decref(ch->stats[i].stats);
    free(ch->stats);
    free(ch->held);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
    *pch = NULL;
}

const EbChannelsConfig *eb_channels_config(const EbChannels *ch)
{
    return &ch->cfg;
}

/* n bytes from getrandom; no weaker source. 0 or EB_ERR(EIO). */
static int eb_ch_random(unsigned char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            EB_LOGE("channels", "getrandom: %s", strerror(errno));
            return EB_ERR(EIO);
        }
        got += (size_t)r;
    }
    return 0;
}

/* EB_CHANNEL_SECRET_LEN characters of the URL-safe base64 alphabet: 6
 * random bits each (192 in all), nothing that needs escaping in a URL. */
static int eb_ch_secret(char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_";
    unsigned char r[EB_CHANNEL_SECRET_LEN];
    int ret = eb_ch_random(r, sizeof(r));

    if (ret < 0)
        return ret;
    for (size_t i = 0; i < sizeof(r); i++)
        out[i] = alphabet[r[i] & 63];
    out[sizeof(r)] = '\0';
    explicit_bzero(r, sizeof(r));
    return 0;
}

static int eb_ch_draw(EbChannelSpec *spec)
{
    unsigned char r[EB_CHANNEL_ID_HEX / 2];
    size_t p = strlen(EB_CHANNEL_ID_PREFIX);
    int ret;

    if ((ret = eb_ch_random(r, sizeof(r))) < 0 || (ret = eb_ch_secret(spec->srt_passphrase)) < 0 ||
        (ret = eb_ch_secret(spec->stream_key)) < 0)
        return ret;
    memcpy(spec->id, EB_CHANNEL_ID_PREFIX, p);
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(spec->id + p + 2 * i, 3, "%02x", r[i]);
    return 0;
}

/* 1 when a channel has that id, 0 when none, or EB_ERR(EIO); lock held. */
static int eb_ch_exists(EbChannels *ch, const char *id)
{
    EbSqlStmt *st = eb_sql_prepare(ch->db, "SELECT 1 FROM channels WHERE id = ?");
    int ret;

    if (!st)
        return EB_ERR(EIO);
    eb_sql_bind_text(st, 1, id);
    ret = eb_sql_step(st);
    eb_sql_finalize(st);
    return ret < 0 ? EB_ERR(EIO) : ret;
}

/* 1 when a channel that has not ended is named name (lock held). */
static int eb_ch_name_taken(EbChannels *ch, const char *name)
{
    EbSqlStmt *st =
        eb_sql_prepare(ch->db, "SELECT 1 FROM channels WHERE name = ? AND state != 'ended'");
    int taken;

    if (!st)
        return 0;
    eb_sql_bind_text(st, 1, name);
    taken = eb_sql_step(st) == 1;
    eb_sql_finalize(st);
    return taken;
}

int eb_channels_create(EbChannels *ch, EbChannelSpec *spec, json_t **view)
{
    EbChannelRow row;
    int ret = EB_ERR(EIO);

    *view = NULL;
    if (!eb_channel_name_valid(spec->name))
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&ch->lock);
    if (eb_ch_name_taken(ch, spec->name)) {
        ret = EB_ERR(EEXIST);
        goto done;
    }
    /* A second draw only if the first met an existing id or stream key:
     * the odds are nil, but the UNIQUE constraints say so, not luck. A
     * name taken meanwhile (another box of a rack) is EEXIST. */
    for (int attempt = 0, retry = 1; attempt < 3 && retry; attempt++) {
        EbSqlStmt *st;
        int rc;

        retry = 0;
        if ((ret = eb_ch_draw(spec)) < 0)
            break;
        st = eb_sql_prepare(ch->db, "INSERT INTO channels (id, name, state, created, ladder, "
                                    "preset, segment_seconds, window_seconds, "
                                    "reconnect_window_seconds, record, srt_passphrase, stream_key,"
                                    " part_seconds, encryption)"
                                    " VALUES (?, ?, 'idle', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!st) {
            ret = EB_ERR(EIO);
            break;
        }
        eb_sql_bind_text(st, 1, spec->id);
        eb_sql_bind_text(st, 2, spec->name);
        eb_sql_bind_double(st, 3, eb_clock_unix());
        eb_sql_bind_text(st, 4, spec->ladder);
        eb_sql_bind_text(st, 5, spec->preset);
        eb_sql_bind_double(st, 6, spec->segment_seconds);
        eb_sql_bind_double(st, 7, spec->window_seconds);
        eb_sql_bind_double(st, 8, spec->reconnect_window_seconds);
        eb_sql_bind_int64(st, 9, !!spec->record);
        eb_sql_bind_text(st, 10, spec->srt_passphrase);
        eb_sql_bind_text(st, 11, spec->stream_key);
        eb_sql_bind_double(st, 12, spec->part_seconds);
        eb_sql_bind_text(st, 13, eb_encryption_scheme_name((EbEncryptionScheme)spec->encryption));
        rc = eb_sql_step(st);
        eb_sql_finalize(st);
        ret = rc == 0 ? 0 : EB_ERR(EIO);
        if (rc == -EEXIST) {
            if (eb_ch_name_taken(ch, spec->name))
                ret = EB_ERR(EEXIST);
            else
                retry = 1;
        }
    }
    if (ret == 0 && eb_ch_find(ch, spec->id, 0, &row) == 0) {
        *view = eb_ch_view(ch, &row);
        explicit_bzero(&row, sizeof(row));
        EB_LOGI("channels", "channel %s created (%s)", spec->id, spec->name);
    } else if (ret == 0) {
        ret = EB_ERR(EIO);
    }
done:
    pthread_mutex_unlock(&ch->lock);
    return ret;
}

int eb_channels_get(EbChannels *ch, const char *id_or_name, json_t **view)
{
    EbChannelRow row;
    int ret;

    pthread_mutex_lock(&ch->lock);
    ret = eb_ch_find(ch, id_or_name, 0, &row);
    *view = ret == 0 ? eb_ch_view(ch, &row) : NULL;
    pthread_mutex_unlock(&ch->lock);
    explicit_bzero(&row, sizeof(row));
    return ret == 0 && !*view ? EB_ERR(ENOMEM) : ret;
}

int eb_channels_list(EbChannels *ch, json_t **array)
{
    json_t *arr = json_array();
    EbSqlStmt *st;
    EbChannelRow row;
    int ret = 0, rc = 0;

    *array = NULL;
    if (!arr)
        return EB_ERR(ENOMEM);
    pthread_mutex_lock(&ch->lock);
    st = eb_sql_prepare(ch->db,
                        "SELECT " EB_CH_COLUMNS " FROM channels ORDER BY created DESC, id DESC");
    if (!st)
        ret = EB_ERR(EIO);
    while (st && (rc = eb_sql_step(st)) == 1) {
        eb_ch_read_row(st, &row);
        json_array_append_new(arr, eb_ch_view(ch, &row));
    }
    if (rc < 0)
        ret = EB_ERR(EIO);
    eb_sql_finalize(st);
    pthread_mutex_unlock(&ch->lock);
    explicit_bzero(&row, sizeof(row));
    if (ret < 0) {
        json_decref(arr);
        return ret;
    }
    *array = arr;
    return 0;
}

int eb_channels_spec(EbChannels *ch, const char *id_or_name, EbChannelSpec *out)
{
    EbChannelRow row;
    int ret;

    pthread_mutex_lock(&ch->lock);
    ret = eb_ch_find(ch, id_or_name, 1, &row);
    pthread_mutex_unlock(&ch->lock);
    if (ret == 0)
        *out = row.spec;
    explicit_bzero(&row, sizeof(row));
    return ret;
}

int eb_channels_find_by_key(EbChannels *ch, const char *stream_key, EbChannelSpec *out)
{
    EbSqlStmt *st;
    EbChannelRow row;
    int ret = EB_ERR(ENOENT);

    if (!stream_key || !*stream_key)
        return ret;
    pthread_mutex_lock(&ch->lock);
    st = eb_sql_prepare(ch->db, "SELECT " EB_CH_COLUMNS " FROM channels "
                                "WHERE stream_key = ? AND state != 'ended'");
    if (!st) {
        ret = EB_ERR(EIO);
    } else {
        eb_sql_bind_text(st, 1, stream_key);
        if (eb_sql_step(st) == 1) {
            eb_ch_read_row(st, &row);
            *out = row.spec;
            explicit_bzero(&row, sizeof(row));
            ret = 0;
        }
        eb_sql_finalize(st);
    }
    pthread_mutex_unlock(&ch->lock);
    return ret;
}

/* Why an UPDATE of channel id that "state != 'ended'" guarded changed
 * nothing: EB_ERR(EALREADY) (it has ended) or EB_ERR(ENOENT). Lock held. */
static int eb_ch_unchanged(EbChannels *ch, const char *id)
{
    EbSqlStmt *st = eb_sql_prepare(ch->db, "SELECT state FROM channels WHERE id = ?");
    int ret = EB_ERR(EIO);

    if (!st)
        return ret;
    eb_sql_bind_text(st, 1, id);
    switch (eb_sql_step(st)) {
    case 1:
        ret = !strcmp(eb_sql_text(st, 0), "ended") ? EB_ERR(EALREADY) : EB_ERR(EPERM);
        break;
    case 0:
        ret = EB_ERR(ENOENT);
        break;
    }
    eb_sql_finalize(st);
    return ret;
}

/* cfg.on_event with the channel's view (lock not held); extra (borrowed,
 * may be NULL) is merged in. */
static void eb_ch_event(EbChannels *ch, const char *event, const char *id, const json_t *extra)
{
    json_t *view = NULL;
    if (!ch->cfg.on_event || eb_channels_get(ch, id, &view) < 0 || !view)
        return;
    /* the ingest URLs carry the stream key: not for an integrator's log */
    json_object_del(view, "ingest");
    if (extra)
        json_object_update(view, (json_t *)extra);
    ch->cfg.on_event(ch->cfg.on_event_opaque, event, view);
    json_decref(view);
}

int eb_channels_set_state(EbChannels *ch, const char *id, EbChannelState state)
{
    EbChannelHeld *h;
    EbSqlStmt *st;
    int ret, changed = 0;

    if ((int)state < 0 || state >= EB_CHANNEL_ENDED)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&ch->lock);
    if (!(h = eb_ch_held(ch, id))) {
        /* Only the box that carries a channel moves it (it may have lost
         * it to another box, which writes its state now). */
        ret = eb_ch_unchanged(ch, id);
        goto done;
    }
    /* The state it had, to tell a change (an event) from a repeat. */
    st = eb_sql_prepare(ch->db, "SELECT 1 FROM channels WHERE id = ? AND state = ?");
    if (st) {
        eb_sql_bind_text(st, 1, id);
        eb_sql_bind_text(st, 2, eb_channel_state_names[state]);
        changed = eb_sql_step(st) == 0;
        eb_sql_finalize(st);
    }
    st = eb_sql_prepare(ch->db, "UPDATE channels SET state = ? WHERE id = ? AND state != 'ended' "
                                "AND box = ? AND fence = ?");
    if (!st) {
        ret = EB_ERR(EIO);
    } else {
        eb_sql_bind_text(st, 1, eb_channel_state_names[state]);
        eb_sql_bind_text(st, 2, id);
        eb_sql_bind_text(st, 3, ch->cfg.box);
        eb_sql_bind_int64(st, 4, h->fence);
        ret = eb_sql_step(st) == 0 ? 0 : EB_ERR(EIO);
        if (ret == 0 && eb_sql_changes(st) == 0)
            ret = eb_ch_unchanged(ch, id);
        eb_sql_finalize(st);
        changed = changed && ret == 0;
    }
done:
    pthread_mutex_unlock(&ch->lock);
    if (changed) {
        char event[40];
        snprintf(event, sizeof(event), "channel.%s", eb_channel_state_names[state]);
        eb_ch_event(ch, event, id, NULL);
    }
    return ret;
}

int eb_channels_set_stats(EbChannels *ch, const char *id, json_t *stats)
{
    int ret, i;

    if (!json_is_object(stats)) {
        json_decref(stats);
        return EB_ERR(EINVAL);
    }
    pthread_mutex_lock(&ch->lock);
    ret = eb_ch_exists(ch, id);
    ret = ret < 0 ? ret : ret ? 0 : EB_ERR(ENOENT);
    for (i = 0; ret == 0 && i < ch->nb_stats; i++)
        if (!strcmp(ch->stats[i].id, id))
            break;
    if (ret == 0 && i == ch->nb_stats) {
        if (ch->nb_stats == ch->cap_stats) {
            int cap = ch->cap_stats ? 2 * ch->cap_stats : 8;
            EbChannelStats *s = realloc(ch->stats, sizeof(*s) * (size_t)cap);
            if (s) {
                ch->stats = s;
                ch->cap_stats = cap;
            } else {
                ret = EB_ERR(ENOMEM);
            }
        }
        if (ret == 0) {
            snprintf(ch->stats[i].id, sizeof(ch->stats[i].id), "%s", id);
            ch->stats[i].stats = NULL;
            ch->nb_stats++;
        }
    }
    if (ret == 0) {
        json_decref(ch->stats[i].stats);
        ch->stats[i].stats = stats;
        stats = NULL;
    }
    pthread_mutex_unlock(&ch->lock);
    json_decref(stats);
    return ret;
}

int eb_channels_add_recording(EbChannels *ch, const char *channel_id, const char *recording_id,
                              double start_unix, double end_unix, double duration)
{
    EbSqlStmt *st;
    int ret;

    if (!recording_id || !eb_storage_id_valid(recording_id) || !isfinite(start_unix) ||
        !isfinite(end_unix) || !isfinite(duration) || end_unix < start_unix || duration < 0)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&ch->lock);
    ret = eb_ch_exists(ch, channel_id);
    if (ret <= 0) {
        ret = ret < 0 ? ret : EB_ERR(ENOENT);
        goto done;
    }
    st = eb_sql_prepare(ch->db, "INSERT INTO recordings (id, channel_id, start_unix, end_unix, "
                                "duration) VALUES (?, ?, ?, ?, ?)");
    if (!st) {
        ret = EB_ERR(EIO);
        goto done;
    }
    eb_sql_bind_text(st, 1, recording_id);
    eb_sql_bind_text(st, 2, channel_id);
    eb_sql_bind_double(st, 3, start_unix);
    eb_sql_bind_double(st, 4, end_unix);
    eb_sql_bind_double(st, 5, duration);
    ret = eb_sql_step(st);
    ret = ret == 0 ? 0 : ret == -EEXIST ? EB_ERR(EEXIST) : EB_ERR(EIO);
    eb_sql_finalize(st);
    if (ret == 0)
        EB_LOGI("channels", "channel %s: recording %s (%.1f s)", channel_id, recording_id,
                duration);
done:
    pthread_mutex_unlock(&ch->lock);
    if (ret == 0) {
        json_t *rec =
            json_pack("{s:{s:s, s:f, s:f, s:f}}", "recording", "id", recording_id, "start_unix",
                      start_unix, "end_unix", end_unix, "duration_seconds", duration);
        eb_ch_event(ch, "recording.published", channel_id, rec);
        json_decref(rec);
    }
    return ret;
}

int eb_channels_end(EbChannels *ch, const char *id)
{
    EbSqlStmt *st;
    int ret;

    pthread_mutex_lock(&ch->lock);
    st = eb_sql_prepare(ch->db, "UPDATE channels SET state = 'ended', ended = ? "
                                "WHERE id = ? AND state != 'ended'");
    if (!st) {
        ret = EB_ERR(EIO);
    } else {
        eb_sql_bind_double(st, 1, eb_clock_unix());
        eb_sql_bind_text(st, 2, id);
        ret = eb_sql_step(st) == 0 ? 0 : EB_ERR(EIO);
        if (ret == 0 && eb_sql_changes(st) == 0)
            ret = eb_ch_unchanged(ch, id);
        eb_sql_finalize(st);
    }
    pthread_mutex_unlock(&ch->lock);
    if (ret == 0) {
        EB_LOGI("channels", "channel %s ended", id);
        if (ch->cfg.on_end)
            ch->cfg.on_end(ch->cfg.on_end_opaque, id);
        eb_ch_event(ch, "channel.ended", id, NULL);
    }
    return ret;
}

/* ---- which box carries a channel ---------------------------------------- */

int eb_channels_lease_seconds(const EbChannels *ch)
{
    return ch->cfg.lease_seconds;
}

int eb_channels_claim(EbChannels *ch, const char *id, char *holder, size_t size)
{
    const char *now = eb_sql_now(ch->db);
    EbChannelHeld *h;
    EbSqlStmt *st;
    char sql[512];
    int64_t fence = 0;
    int ret;

    if (size)
        holder[0] = '\0';
    snprintf(sql, sizeof(sql),
             "UPDATE channels SET box = ?1, lease_until = %s + %d, fence = fence + 1 "
             "WHERE id = ?2 AND state != 'ended' AND (box IS NULL OR box = ?1 OR "
             "lease_until IS NULL OR lease_until < %s) RETURNING fence",
             now, ch->cfg.lease_seconds, now);
    pthread_mutex_lock(&ch->lock);
    st = eb_sql_prepare(ch->db, sql);
    if (!st) {
        ret = EB_ERR(EIO);
        goto done;
    }
    eb_sql_bind_text(st, 1, ch->cfg.box);
    eb_sql_bind_text(st, 2, id);
    ret = eb_sql_step(st);
    if (ret == 1)
        fence = eb_sql_int64(st, 0);
    eb_sql_finalize(st);
    if (ret < 0) {
        ret = EB_ERR(EIO);
        goto done;
    }
    if (ret == 0) {
        /* Ended, gone, or carried by a box whose lease runs. */
        st = eb_sql_prepare(ch->db, "SELECT box, state FROM channels WHERE id = ?");
        if (!st) {
            ret = EB_ERR(EIO);
            goto done;
        }
        eb_sql_bind_text(st, 1, id);
        ret = eb_sql_step(st);
        if (ret == 1 && strcmp(eb_sql_text(st, 1), "ended")) {
            snprintf(holder, size, "%s", eb_sql_text(st, 0));
            ret = EB_ERR(EBUSY);
        } else {
            ret = ret < 0 ? EB_ERR(EIO) : EB_ERR(ENOENT);
        }
        eb_sql_finalize(st);
        goto done;
    }
    if (!(h = eb_ch_held(ch, id))) {
        if (ch->nb_held == ch->cap_held) {
            int cap = ch->cap_held ? 2 * ch->cap_held : 8;
            EbChannelHeld *n = realloc(ch->held, sizeof(*n) * (size_t)cap);
            if (!n) {
                ret = EB_ERR(ENOMEM); /* the lease runs out by itself */
                goto done;
            }
            ch->held = n;
            ch->cap_held = cap;
        }
        h = &ch->held[ch->nb_held++];
        snprintf(h->id, sizeof(h->id), "%s", id);
    }
    h->fence = fence;
    h->renewed = eb_clock_seconds();
    ret = 0;
done:
    pthread_mutex_unlock(&ch->lock);
    return ret;
}

void eb_channels_release(EbChannels *ch, const char *id)
{
    EbChannelHeld *h;
    EbSqlStmt *st;

    pthread_mutex_lock(&ch->lock);
    if ((h = eb_ch_held(ch, id)) &&
        (st = eb_sql_prepare(ch->db, "UPDATE channels SET box = NULL, lease_until = NULL, "
                                     "stats = NULL WHERE id = ? AND box = ? AND fence = ?"))) {
        eb_sql_bind_text(st, 1, id);
        eb_sql_bind_text(st, 2, ch->cfg.box);
        eb_sql_bind_int64(st, 3, h->fence);
        eb_sql_step(st); /* a failure: the lease runs out by itself */
        eb_sql_finalize(st);
    }
    eb_ch_forget(ch, id);
    pthread_mutex_unlock(&ch->lock);
}

int eb_channels_renew(EbChannels *ch, void (*lost)(void *opaque, const char *id, int ended),
                      void *opaque)
{
    const char *now = eb_sql_now(ch->db);
    char sql[512], (*gone)[40] = NULL;
    int *ended = NULL, nb_gone = 0, renewed = 0;

    snprintf(sql, sizeof(sql),
             "UPDATE channels SET lease_until = %s + %d, stats = ? WHERE id = ? AND box = ? "
             "AND fence = ? AND state != 'ended'",
             now, ch->cfg.lease_seconds);
    pthread_mutex_lock(&ch->lock);
    if (ch->nb_held) {
        gone = calloc((size_t)ch->nb_held, sizeof(*gone));
        ended = calloc((size_t)ch->nb_held, sizeof(*ended));
    }
    for (int i = 0; gone && ended && i < ch->nb_held; i++) {
        EbChannelHeld *h = &ch->held[i];
        EbSqlStmt *st = eb_sql_prepare(ch->db, sql);
        char *stats = NULL;
        int ret = -EIO, why = 0;

        for (int k = 0; k < ch->nb_stats; k++)
            if (!strcmp(ch->stats[k].id, h->id))
                stats = json_dumps(ch->stats[k].stats, JSON_COMPACT);
        if (st) {
            eb_sql_bind_text(st, 1, stats);
            eb_sql_bind_text(st, 2, h->id);
            eb_sql_bind_text(st, 3, ch->cfg.box);
            eb_sql_bind_int64(st, 4, h->fence);
            ret = eb_sql_step(st);
            if (ret == 0 && eb_sql_changes(st) == 0)
                why = eb_ch_unchanged(ch, h->id);
            eb_sql_finalize(st);
        }
        free(stats);
        if (ret == 0 && !why) {
            h->renewed = eb_clock_seconds();
            renewed++;
            continue;
        }
        if (ret < 0 && eb_clock_seconds() - h->renewed < ch->cfg.lease_seconds)
            continue; /* the database is away: the lease has not run out yet */
        if (why == EB_ERR(EIO))
            continue;
        /* ended (DELETE through any box), or another box took it (the token
         * moved), or no renewal took for a whole lease: not ours now */
        snprintf(gone[nb_gone], sizeof(gone[nb_gone]), "%s", h->id);
        ended[nb_gone++] = why == EB_ERR(EALREADY);
        EB_LOGW("channels", "channel %s: %s", h->id,
                why == EB_ERR(EALREADY) ? "ended through another box"
                : ret < 0               ? "its lease ran out (the database did not answer)"
                                        : "another box carries it now (its lease was lost)");
    }
    for (int i = 0; i < nb_gone; i++)
        eb_ch_forget(ch, gone[i]);
    pthread_mutex_unlock(&ch->lock);
    for (int i = 0; i < nb_gone; i++)
        if (lost)
            lost(opaque, gone[i], ended[i]);
    free(gone);
    free(ended);
    return renewed;
}

int eb_channels_orphans(EbChannels *ch, char (*ids)[40], int max)
{
    const char *now = eb_sql_now(ch->db);
    EbSqlStmt *st;
    char sql[512];
    int n = 0;

    snprintf(sql, sizeof(sql),
             "SELECT id FROM channels WHERE state != 'ended' AND box IS NOT NULL AND box != ? "
             "AND (lease_until IS NULL OR lease_until < %s) ORDER BY id LIMIT %d",
             now, max);
    pthread_mutex_lock(&ch->lock);
    st = eb_sql_prepare(ch->db, sql);
    if (st)
        eb_sql_bind_text(st, 1, ch->cfg.box);
    while (st && n < max && eb_sql_step(st) == 1)
        eb_ch_col(st, 0, ids[n++], sizeof(ids[0]));
    eb_sql_finalize(st);
    pthread_mutex_unlock(&ch->lock);
    return st ? n : EB_ERR(EIO);
}
