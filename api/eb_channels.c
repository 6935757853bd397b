/*
 * The channel store (see eb_channels.h): the POST /v1/channels parser, the
 * two tables, the API's view of a channel and the ingest addresses.
 *
 * DESIGN
 * - The database is the truth for every channel and recording; memory
 *   holds only the stats the worker last reported (they describe a running
 *   worker, which a restart does not keep).
 * - "Name unique among channels that have not ended" is the partial unique
 *   index channels_open_name; create also checks it first under the lock,
 *   to tell a taken name from any other failure.
 * - Secrets (SRT passphrase, RTMP stream key) are drawn with getrandom
 *   and nothing weaker: a failure fails the create. They are stored in
 *   clear (the ingest compares them and the view prints them in the
 *   ingest URLs, for the API's token holders), which is why the file is
 *   owner-only (eb_db.h).
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
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eb_db.h"
#include "eb_error.h"
#include "eb_job_spec.h"
#include "eb_layout.h"
#include "eb_log.h"
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

struct EbChannels {
    EbChannelsConfig cfg;
    sqlite3 *db;
    pthread_mutex_t lock; /* db and stats */
    EbChannelStats *stats;
    int nb_stats, cap_stats;
};

/* A row of the channels table. */
typedef struct EbChannelRow {
    EbChannelSpec spec;
    char state[16];
    double created;
    double ended; /* 0: not ended */
} EbChannelRow;

#define EB_CH_COLUMNS                                                                              \
    "id, name, state, created, ended, ladder, preset, segment_seconds, window_seconds, "           \
    "reconnect_window_seconds, record, srt_passphrase, stream_key, part_seconds, encryption"

static double eb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

static int eb_ch_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        EB_LOGE("channels", "sqlite: %s", err ? err : "?");
        sqlite3_free(err);
        return EB_ERR(EIO);
    }
    return 0;
}

/* Prepares sql; on failure logs and returns NULL. */
static sqlite3_stmt *eb_ch_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        EB_LOGE("channels", "sqlite: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

static void eb_ch_col(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* One row (EB_CH_COLUMNS) into *row. */
static void eb_ch_read_row(sqlite3_stmt *st, EbChannelRow *row)
{
    EbChannelSpec *s = &row->spec;

    memset(row, 0, sizeof(*row));
    eb_ch_col(st, 0, s->id, sizeof(s->id));
    eb_ch_col(st, 1, s->name, sizeof(s->name));
    eb_ch_col(st, 2, row->state, sizeof(row->state));
    row->created = sqlite3_column_double(st, 3);
    row->ended = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 4);
    eb_ch_col(st, 5, s->ladder, sizeof(s->ladder));
    eb_ch_col(st, 6, s->preset, sizeof(s->preset));
    s->segment_seconds = sqlite3_column_double(st, 7);
    s->window_seconds = sqlite3_column_double(st, 8);
    s->reconnect_window_seconds = sqlite3_column_double(st, 9);
    s->record = sqlite3_column_int(st, 10);
    eb_ch_col(st, 11, s->srt_passphrase, sizeof(s->srt_passphrase));
    eb_ch_col(st, 12, s->stream_key, sizeof(s->stream_key));
    s->part_seconds = sqlite3_column_double(st, 13);
    {
        char scheme[16];
        EbEncryptionScheme sc = EB_ENCRYPT_NONE;
        eb_ch_col(st, 14, scheme, sizeof(scheme));
        eb_encryption_scheme_parse(scheme, &sc);
        s->encryption = (int)sc;
    }
}

/* The channel by id or name (see the top of the file), lock held; with
 * open_only, only one that has not ended. 0 or EB_ERR(ENOENT). */
static int eb_ch_find(EbChannels *ch, const char *id_or_name, int open_only, EbChannelRow *row)
{
    sqlite3_stmt *st = eb_ch_prepare(
        ch->db, open_only ? "SELECT " EB_CH_COLUMNS " FROM channels WHERE (id = ?1 OR name = ?1) "
                            "AND state != 'ended' ORDER BY id = ?1 DESC LIMIT 1"
                          : "SELECT " EB_CH_COLUMNS " FROM channels WHERE id = ?1 OR name = ?1 "
                            "ORDER BY id = ?1 DESC, state != 'ended' DESC, created DESC, "
                            "rowid DESC LIMIT 1");
    int ret = EB_ERR(ENOENT);

    if (!st)
        return EB_ERR(EIO);
    sqlite3_bind_text(st, 1, id_or_name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        eb_ch_read_row(st, row);
        ret = 0;
    }
    sqlite3_finalize(st);
    return ret;
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
    sqlite3_stmt *st = eb_ch_prepare(ch->db, "SELECT id, start_unix, end_unix, duration FROM "
                                             "recordings WHERE channel_id = ? "
                                             "ORDER BY start_unix, rowid");
    json_t *arr = json_array();

    if (!st)
        return arr;
    sqlite3_bind_text(st, 1, channel_id, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char id[EB_VIDEO_ID_MAX + 1];
        json_t *out = json_object();
        eb_ch_col(st, 0, id, sizeof(id));
        json_object_set_new(out, "hls", eb_ch_video_url(ch, id, EB_LAYOUT_HLS_MASTER));
        json_object_set_new(out, "dash", eb_ch_video_url(ch, id, EB_LAYOUT_DASH_MPD));
        json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:f, s:o}", "id", id, "start",
                                             sqlite3_column_double(st, 1), "end",
                                             sqlite3_column_double(st, 2), "duration",
                                             sqlite3_column_double(st, 3), "outputs", out));
    }
    sqlite3_finalize(st);
    return arr;
}

/* The API's view of a row, lock held; new reference. */
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

static json_t *eb_ch_view(EbChannels *ch, const EbChannelRow *row)
{
    const EbChannelSpec *s = &row->spec;
    json_t *o = json_object(), *out = json_object(), *stats = NULL;

    for (int i = 0; i < ch->nb_stats; i++)
        if (!strcmp(ch->stats[i].id, s->id))
            stats = ch->stats[i].stats;
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "state", json_string(row->state));
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
    json_object_set_new(o, "stats", stats ? json_deep_copy(stats) : json_object());
    json_object_set_new(o, "recordings", eb_ch_recordings(ch, s->id));
    return o;
}

static int eb_ch_has_column(sqlite3 *db, const char *table, const char *column)
{
    char sql[128];
    sqlite3_stmt *st;
    int found = 0;

    snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
    st = eb_ch_prepare(db, sql);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        found |= name && !strcmp((const char *)name, column);
    }
    sqlite3_finalize(st);
    return found;
}

int eb_channels_open(const EbChannelsConfig *cfg, EbChannels **out)
{
    EbChannels *ch = calloc(1, sizeof(*ch));
    int ret;

    *out = NULL;
    if (!ch)
        return EB_ERR(ENOMEM);
    ch->cfg = *cfg;
    if (!ch->cfg.base_url)
        ch->cfg.base_url = "";
    pthread_mutex_init(&ch->lock, NULL);
    if ((ret = eb_db_open(cfg->db_path, "channels", &ch->db)) < 0)
        goto fail;
    ret = eb_ch_exec(ch->db,
                     "CREATE TABLE IF NOT EXISTS channels ("
                     " id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL,"
                     " created REAL NOT NULL, ended REAL, ladder TEXT NOT NULL,"
                     " preset TEXT NOT NULL, segment_seconds REAL NOT NULL,"
                     " window_seconds REAL NOT NULL, reconnect_window_seconds REAL NOT NULL,"
                     " record INTEGER NOT NULL, srt_passphrase TEXT NOT NULL,"
                     " stream_key TEXT NOT NULL UNIQUE,"
                     " part_seconds REAL NOT NULL DEFAULT 0,"
                     " encryption TEXT NOT NULL DEFAULT 'none');"
                     "CREATE UNIQUE INDEX IF NOT EXISTS channels_open_name ON channels(name)"
                     " WHERE state != 'ended';"
                     "CREATE TABLE IF NOT EXISTS recordings ("
                     " id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, start_unix REAL NOT NULL,"
                     " end_unix REAL NOT NULL, duration REAL NOT NULL);"
                     "CREATE INDEX IF NOT EXISTS recordings_channel ON recordings(channel_id);"
                     /* The workers of an earlier daemon died with it. */
                     "UPDATE channels SET state = 'idle' WHERE state NOT IN ('idle', 'ended');");
    if (ret < 0)
        goto fail;
    /* A database from before low latency: its channels keep playing as
     * they did (no parts). */
    if (!eb_ch_has_column(ch->db, "channels", "part_seconds") &&
        (ret = eb_ch_exec(ch->db, "ALTER TABLE channels ADD COLUMN part_seconds REAL NOT NULL "
                                  "DEFAULT 0")) < 0)
        goto fail;
    /* ... and from before content protection: clear. */
    if (!eb_ch_has_column(ch->db, "channels", "encryption") &&
        (ret = eb_ch_exec(ch->db, "ALTER TABLE channels ADD COLUMN encryption TEXT NOT NULL "
                                  "DEFAULT 'none'")) < 0)
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
    if (ch->db)
        sqlite3_close(ch->db);
    for (int i = 0; i < ch->nb_stats; i++)
        json_decref(ch->stats[i].stats);
    free(ch->stats);
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
    sqlite3_stmt *st = eb_ch_prepare(ch->db, "SELECT 1 FROM channels WHERE id = ?");
    int exists;

    if (!st)
        return EB_ERR(EIO);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return exists;
}

/* 1 when a channel that has not ended is named name (lock held). */
static int eb_ch_name_taken(EbChannels *ch, const char *name)
{
    sqlite3_stmt *st =
        eb_ch_prepare(ch->db, "SELECT 1 FROM channels WHERE name = ? AND state != 'ended'");
    int taken = 0;

    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    taken = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
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
     * the odds are nil, but the UNIQUE constraints say so, not luck. */
    for (int attempt = 0, retry = 1; attempt < 3 && retry; attempt++) {
        sqlite3_stmt *st;
        int rc;

        retry = 0;
        if ((ret = eb_ch_draw(spec)) < 0)
            break;
        st = eb_ch_prepare(ch->db, "INSERT INTO channels (id, name, state, created, ladder, "
                                   "preset, segment_seconds, window_seconds, "
                                   "reconnect_window_seconds, record, srt_passphrase, stream_key,"
                                   " part_seconds, encryption)"
                                   " VALUES (?, ?, 'idle', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!st) {
            ret = EB_ERR(EIO);
            break;
        }
        sqlite3_bind_text(st, 1, spec->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, spec->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 3, eb_now());
        sqlite3_bind_text(st, 4, spec->ladder, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, spec->preset, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 6, spec->segment_seconds);
        sqlite3_bind_double(st, 7, spec->window_seconds);
        sqlite3_bind_double(st, 8, spec->reconnect_window_seconds);
        sqlite3_bind_int(st, 9, !!spec->record);
        sqlite3_bind_text(st, 10, spec->srt_passphrase, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, spec->stream_key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 12, spec->part_seconds);
        sqlite3_bind_text(st, 13, eb_encryption_scheme_name((EbEncryptionScheme)spec->encryption),
                          -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            EB_LOGE("channels", "sqlite: %s", sqlite3_errmsg(ch->db));
        sqlite3_finalize(st);
        ret = rc == SQLITE_DONE ? 0 : EB_ERR(EIO);
        if (rc == SQLITE_CONSTRAINT) {
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
    sqlite3_stmt *st;
    EbChannelRow row;
    int ret = 0;

    *array = NULL;
    if (!arr)
        return EB_ERR(ENOMEM);
    pthread_mutex_lock(&ch->lock);
    st = eb_ch_prepare(ch->db,
                       "SELECT " EB_CH_COLUMNS " FROM channels ORDER BY created DESC, rowid DESC");
    if (!st)
        ret = EB_ERR(EIO);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        eb_ch_read_row(st, &row);
        json_array_append_new(arr, eb_ch_view(ch, &row));
    }
    sqlite3_finalize(st);
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
    sqlite3_stmt *st;
    EbChannelRow row;
    int ret = EB_ERR(ENOENT);

    if (!stream_key || !*stream_key)
        return ret;
    pthread_mutex_lock(&ch->lock);
    st = eb_ch_prepare(ch->db, "SELECT " EB_CH_COLUMNS " FROM channels "
                               "WHERE stream_key = ? AND state != 'ended'");
    if (!st) {
        ret = EB_ERR(EIO);
    } else {
        sqlite3_bind_text(st, 1, stream_key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            eb_ch_read_row(st, &row);
            *out = row.spec;
            explicit_bzero(&row, sizeof(row));
            ret = 0;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&ch->lock);
    return ret;
}

/* Why an UPDATE of channel id that "state != 'ended'" guarded changed
 * nothing: EB_ERR(EALREADY) (it has ended) or EB_ERR(ENOENT). Lock held. */
static int eb_ch_unchanged(EbChannels *ch, const char *id)
{
    int ret = eb_ch_exists(ch, id);
    return ret < 0 ? ret : ret ? EB_ERR(EALREADY) : EB_ERR(ENOENT);
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
    sqlite3_stmt *st;
    int ret, changed = 0;

    if ((int)state < 0 || state >= EB_CHANNEL_ENDED)
        return EB_ERR(EINVAL);
    pthread_mutex_lock(&ch->lock);
    /* The state it had, to tell a change (an event) from a repeat. */
    st = eb_ch_prepare(ch->db, "SELECT 1 FROM channels WHERE id = ? AND state = ?");
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, eb_channel_state_names[state], -1, SQLITE_STATIC);
        changed = sqlite3_step(st) != SQLITE_ROW;
        sqlite3_finalize(st);
    }
    st = eb_ch_prepare(ch->db, "UPDATE channels SET state = ? WHERE id = ? AND state != 'ended'");
    if (!st) {
        ret = EB_ERR(EIO);
    } else {
        sqlite3_bind_text(st, 1, eb_channel_state_names[state], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        ret = sqlite3_step(st) == SQLITE_DONE ? 0 : EB_ERR(EIO);
        sqlite3_finalize(st);
        if (ret == 0 && sqlite3_changes(ch->db) == 0)
            ret = eb_ch_unchanged(ch, id);
        changed = changed && ret == 0;
    }
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
    sqlite3_stmt *st;
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
    st = eb_ch_prepare(ch->db, "INSERT INTO recordings (id, channel_id, start_unix, end_unix, "
                               "duration) VALUES (?, ?, ?, ?, ?)");
    if (!st) {
        ret = EB_ERR(EIO);
        goto done;
    }
    sqlite3_bind_text(st, 1, recording_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, channel_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, start_unix);
    sqlite3_bind_double(st, 4, end_unix);
    sqlite3_bind_double(st, 5, duration);
    switch (sqlite3_step(st)) {
    case SQLITE_DONE:
        ret = 0;
        break;
    case SQLITE_CONSTRAINT:
        ret = EB_ERR(EEXIST);
        break;
    default:
        EB_LOGE("channels", "sqlite: %s", sqlite3_errmsg(ch->db));
        ret = EB_ERR(EIO);
        break;
    }
    sqlite3_finalize(st);
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
    sqlite3_stmt *st;
    int ret;

    pthread_mutex_lock(&ch->lock);
    st = eb_ch_prepare(ch->db, "UPDATE channels SET state = 'ended', ended = ? "
                               "WHERE id = ? AND state != 'ended'");
    if (!st) {
        ret = EB_ERR(EIO);
    } else {
        sqlite3_bind_double(st, 1, eb_now());
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        ret = sqlite3_step(st) == SQLITE_DONE ? 0 : EB_ERR(EIO);
        sqlite3_finalize(st);
        if (ret == 0 && sqlite3_changes(ch->db) == 0)
            ret = eb_ch_unchanged(ch, id);
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
