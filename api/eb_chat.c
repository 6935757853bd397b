/*
 * A live channel's chat (see eb_chat.h).
 */
#include "eb_chat.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eb_clock.h"
#include "eb_error.h"
#include "eb_llhls.h"
#include "eb_log.h"
#include "eb_sql.h"

#define EB_CHAT_NOTIFY "encbox_chat"
#define EB_CHAT_TICK_MS 1000
#define EB_CHAT_SEEN 256 /* ids remembered as published: > EB_CHAT_LOOKBACK */
#define EB_CHAT_TAIL_ROWS 1000
#define EB_CHAT_BUCKETS 256     /* channels whose rate one box keeps track of */
#define EB_CHAT_EXPIRE_S 3600.0 /* how often old items are removed */

typedef struct EbChatJob {
    struct EbChatJob *next;
    uint64_t conn;
    int moderator;
    int join; /* 1: send the history; 0: text is a message */
    char channel[EB_WS_TOPIC_MAX];
    char *text;
} EbChatJob;

struct EbChat {
    EbChatConfig cfg;
    char box[64];
    pthread_t thread;
    int started;
    int wake[2];
    /* the queue (lock) */
    pthread_mutex_t lock;
    EbChatJob *head, *tail;
    int queued, stop, dropped;
    int64_t stored[3], refused; /* by EbChatKind; errors sent (/metrics) */
    /* the store's connection (db_lock) */
    pthread_mutex_t db_lock;
    EbSql *db;
    /* eb-chat's own */
    EbSql *listen; /* PostgreSQL: the LISTEN connection; NULL for SQLite */
    int64_t last;  /* the newest id published */
    int64_t seen[EB_CHAT_SEEN];
    /* the channels' buckets (channel_rate): the most recently used ones */
    struct {
        char channel[EB_WS_TOPIC_MAX];
        double tokens, refilled;
    } bucket[EB_CHAT_BUCKETS];
};

static void eb_chat_wake(EbChat *chat)
{
    char c = 1;
    if (write(chat->wake[1], &c, 1) < 0 && errno != EAGAIN)
        EB_LOGW("chat", "wake: %s", strerror(errno));
}

/* ---- the store --------------------------------------------------------- */

static int eb_chat_schema(EbChat *chat)
{
    if (eb_sql_is_pg(chat->db))
        return eb_sql_exec(chat->db,
                           "SELECT pg_advisory_lock(7361628);"
                           "CREATE TABLE IF NOT EXISTS chat ("
                           " id BIGSERIAL PRIMARY KEY, channel_id TEXT NOT NULL,"
                           " kind TEXT NOT NULL, name TEXT, body TEXT,"
                           " stamp DOUBLE PRECISION, at DOUBLE PRECISION NOT NULL,"
                           " ref BIGINT, deleted INTEGER NOT NULL DEFAULT 0, box TEXT);"
                           "CREATE INDEX IF NOT EXISTS chat_channel ON chat(channel_id, stamp);"
                           "SELECT pg_advisory_unlock(7361628);") < 0
                   ? EB_ERR(EIO)
                   : 0;
    return eb_sql_exec(chat->db, "CREATE TABLE IF NOT EXISTS chat ("
                                 " id INTEGER PRIMARY KEY AUTOINCREMENT, channel_id TEXT NOT NULL,"
                                 " kind TEXT NOT NULL, name TEXT, body TEXT, stamp REAL,"
                                 " at REAL NOT NULL, ref INTEGER,"
                                 " deleted INTEGER NOT NULL DEFAULT 0, box TEXT);"
                                 "CREATE INDEX IF NOT EXISTS chat_channel ON chat(channel_id, "
                                 "stamp);") < 0
               ? EB_ERR(EIO)
               : 0;
}

/* An item of the row (id, kind, name, body, stamp, at) at st's columns
 * from col. New reference. */
static json_t *eb_chat_item(EbSqlStmt *st, int col)
{
    const char *kind = eb_sql_text(st, col + 1);
    int reaction = kind && !strcmp(kind, "reaction");
    const char *name = eb_sql_text(st, col + 2), *body = eb_sql_text(st, col + 3);

    return json_pack("{s:I, s:s, s:s, s:s, s:f, s:f}", "id", (json_int_t)eb_sql_int64(st, col),
                     "kind", reaction ? "reaction" : "message", "name", name ? name : "",
                     reaction ? "emoji" : "text", body ? body : "", "stamp",
                     eb_sql_double(st, col + 4), "at", eb_sql_double(st, col + 5));
}

/* Appends a row (db_lock held) and wakes the other boxes. */
static int eb_chat_insert(EbChat *chat, const char *channel, const char *kind, const char *name,
                          const char *body, double stamp, int64_t ref)
{
    EbSqlStmt *st =
        eb_sql_prepare(chat->db, "INSERT INTO chat (channel_id, kind, name, body, "
                                 "stamp, at, ref, box) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    int ret;

    if (!st)
        return EB_ERR(EIO);
    eb_sql_bind_text(st, 1, channel);
    eb_sql_bind_text(st, 2, kind);
    eb_sql_bind_text(st, 3, name);
    eb_sql_bind_text(st, 4, body);
    if (stamp > 0)
        eb_sql_bind_double(st, 5, stamp);
    else
        eb_sql_bind_null(st, 5);
    eb_sql_bind_double(st, 6, eb_clock_unix());
    if (ref > 0)
        eb_sql_bind_int64(st, 7, ref);
    else
        eb_sql_bind_null(st, 7);
    eb_sql_bind_text(st, 8, chat->box);
    ret = eb_sql_step(st) < 0 ? EB_ERR(EIO) : 0;
    eb_sql_finalize(st);
    if (ret == 0 && eb_sql_is_pg(chat->db))
        eb_sql_exec(chat->db, "NOTIFY " EB_CHAT_NOTIFY);
    return ret;
}

int eb_chat_delete(EbChat *chat, const char *channel_id, int64_t id)
{
    EbSqlStmt *st;
    int ret;

    pthread_mutex_lock(&chat->db_lock);
    st = eb_sql_prepare(chat->db, "UPDATE chat SET deleted = 1 WHERE id = ? AND channel_id = ? "
                                  "AND kind != 'delete' AND deleted = 0");
    if (!st) {
        pthread_mutex_unlock(&chat->db_lock);
        return EB_ERR(EIO);
    }
    eb_sql_bind_int64(st, 1, id);
    eb_sql_bind_text(st, 2, channel_id);
    ret = eb_sql_step(st) < 0 ? EB_ERR(EIO) : eb_sql_changes(st) == 0 ? EB_ERR(ENOENT) : 0;
    eb_sql_finalize(st);
    /* the deletion is a row too: every box's viewers hear of it */
    if (ret == 0)
        ret = eb_chat_insert(chat, channel_id, "delete", NULL, NULL, 0, id);
    pthread_mutex_unlock(&chat->db_lock);
    if (ret == 0) {
        EB_LOGI("chat", "channel %s: item %lld removed", channel_id, (long long)id);
        pthread_mutex_lock(&chat->lock);
        chat->stored[EB_CHAT_DELETE]++;
        pthread_mutex_unlock(&chat->lock);
        eb_chat_wake(chat);
    }
    return ret;
}

int eb_chat_history(EbChat *chat, const char *channel_id, double from, double to, int limit,
                    json_t **out)
{
    EbSqlStmt *st;
    json_t *arr;

    *out = NULL;
    if (limit <= 0 || limit > EB_CHAT_REPLAY_MAX)
        limit = EB_CHAT_REPLAY_MAX;
    if (!(arr = json_array()))
        return EB_ERR(ENOMEM);
    pthread_mutex_lock(&chat->db_lock);
    st = eb_sql_prepare(chat->db, "SELECT id, kind, name, body, stamp, at FROM chat "
                                  "WHERE channel_id = ? AND kind != 'delete' AND deleted = 0 "
                                  "AND stamp >= ? AND stamp <= ? ORDER BY stamp, id LIMIT ?");
    if (!st) {
        pthread_mutex_unlock(&chat->db_lock);
        json_decref(arr);
        return EB_ERR(EIO);
    }
    eb_sql_bind_text(st, 1, channel_id);
    eb_sql_bind_double(st, 2, from);
    eb_sql_bind_double(st, 3, to);
    eb_sql_bind_int64(st, 4, limit);
    while (eb_sql_step(st) == 1)
        json_array_append_new(arr, eb_chat_item(st, 0));
    eb_sql_finalize(st);
    pthread_mutex_unlock(&chat->db_lock);
    *out = json_pack("{s:o}", "messages", arr);
    return *out ? 0 : EB_ERR(ENOMEM);
}

/* The channel's newest items for a viewer that joins, oldest first. New
 * reference. */
static json_t *eb_chat_recent(EbChat *chat, const char *channel_id)
{
    EbSqlStmt *st;
    json_t *arr = json_array();

    pthread_mutex_lock(&chat->db_lock);
    st = eb_sql_prepare(chat->db, "SELECT id, kind, name, body, stamp, at FROM chat "
                                  "WHERE channel_id = ? AND kind != 'delete' AND deleted = 0 "
                                  "ORDER BY id DESC LIMIT ?");
    if (st) {
        eb_sql_bind_text(st, 1, channel_id);
        eb_sql_bind_int64(st, 2, chat->cfg.history);
        while (eb_sql_step(st) == 1)
            json_array_insert_new(arr, 0, eb_chat_item(st, 0));
        eb_sql_finalize(st);
    }
    pthread_mutex_unlock(&chat->db_lock);
    return arr;
}

/* Removes what is older than keep_days (every box of a rack does: the
 * same rows, whoever is first). */
static void eb_chat_expire(EbChat *chat)
{
    EbSqlStmt *st;

    if (chat->cfg.keep_days <= 0)
        return;
    pthread_mutex_lock(&chat->db_lock);
    if ((st = eb_sql_prepare(chat->db, "DELETE FROM chat WHERE at < ?"))) {
        eb_sql_bind_double(st, 1, eb_clock_unix() - chat->cfg.keep_days * 86400.0);
        if (eb_sql_step(st) >= 0 && eb_sql_changes(st) > 0)
            EB_LOGI("chat", "%lld items older than %d days removed",
                    (long long)eb_sql_changes(st), chat->cfg.keep_days);
        eb_sql_finalize(st);
    }
    pthread_mutex_unlock(&chat->db_lock);
}

/* ---- the fan-out (eb-chat) ---------------------------------------------- */

static int eb_chat_seen(EbChat *chat, int64_t id)
{
    return chat->seen[id % EB_CHAT_SEEN] == id;
}

static void eb_chat_mark(EbChat *chat, int64_t id)
{
    chat->seen[id % EB_CHAT_SEEN] = id;
    if (id > chat->last)
        chat->last = id;
}

/* Publishes the rows past the last published (and the recent ids not
 * published yet) to this box's viewers. */
static void eb_chat_tail(EbChat *chat, int publish)
{
    EbSqlStmt *st;

    pthread_mutex_lock(&chat->db_lock);
    st = eb_sql_prepare(chat->db, "SELECT id, kind, name, body, stamp, at, channel_id, ref "
                                  "FROM chat WHERE id > ? ORDER BY id LIMIT ?");
    if (!st) {
        pthread_mutex_unlock(&chat->db_lock);
        return;
    }
    eb_sql_bind_int64(st, 1, chat->last - EB_CHAT_LOOKBACK);
    eb_sql_bind_int64(st, 2, EB_CHAT_TAIL_ROWS);
    while (eb_sql_step(st) == 1) {
        int64_t id = eb_sql_int64(st, 0);
        const char *kind = eb_sql_text(st, 1);
        char topic[EB_WS_TOPIC_MAX];
        json_t *data;
        char *text;

        if (eb_chat_seen(chat, id))
            continue;
        eb_chat_mark(chat, id);
        if (!publish || !kind)
            continue;
        snprintf(topic, sizeof(topic), EB_CHAT_TOPIC_PREFIX "%s", eb_sql_text(st, 6));
        data = !strcmp(kind, "delete") ? json_pack("{s:I}", "id", (json_int_t)eb_sql_int64(st, 7))
                                       : eb_chat_item(st, 0);
        text = data ? json_dumps(data, JSON_COMPACT) : NULL;
        if (text)
            eb_ws_publish(chat->cfg.ws, topic,
                          !strcmp(kind, "delete")     ? "chat.deleted"
                          : !strcmp(kind, "reaction") ? "chat.reaction"
                                                      : "chat.message",
                          text);
        free(text);
        json_decref(data);
    }
    eb_sql_finalize(st);
    pthread_mutex_unlock(&chat->db_lock);
}

/* ---- a viewer's message (eb-chat) --------------------------------------- */

static void eb_chat_reply_error(EbChat *chat, uint64_t conn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_chat_reply_error(EbChat *chat, uint64_t conn, const char *fmt, ...)
{
    char msg[256];
    json_t *o;
    char *text;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&chat->lock);
    chat->refused++;
    pthread_mutex_unlock(&chat->lock);
    o = json_pack("{s:s}", "error", msg);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text)
        eb_ws_send_to(chat->cfg.ws, conn, "error", text);
    free(text);
    json_decref(o);
}

/* Takes one from the channel's bucket (channel_rate a second, twice that
 * at once): 1, or 0 when the channel's chat is at its rate on this box. A
 * channel not in the table takes the least recently refilled slot. */
static int eb_chat_channel_take(EbChat *chat, const char *channel)
{
    double now = eb_clock_unix(), rate = chat->cfg.channel_rate, burst = rate * 2;
    int k = 0;

    if (rate <= 0)
        return 1;
    for (int i = 0; i < EB_CHAT_BUCKETS; i++) {
        if (!strcmp(chat->bucket[i].channel, channel)) {
            k = i;
            break;
        }
        if (chat->bucket[i].refilled < chat->bucket[k].refilled)
            k = i;
    }
    if (strcmp(chat->bucket[k].channel, channel)) {
        snprintf(chat->bucket[k].channel, sizeof(chat->bucket[k].channel), "%s", channel);
        chat->bucket[k].tokens = burst;
    } else {
        chat->bucket[k].tokens += (now - chat->bucket[k].refilled) * rate;
        if (chat->bucket[k].tokens > burst)
            chat->bucket[k].tokens = burst;
    }
    chat->bucket[k].refilled = now;
    if (chat->bucket[k].tokens < 1)
        return 0;
    chat->bucket[k].tokens -= 1;
    return 1;
}

static void eb_chat_message(EbChat *chat, EbChatJob *jb)
{
    static const char *const kinds[] = {"message", "reaction", "delete"};
    const char *channel = jb->channel + strlen(EB_CHAT_TOPIC_PREFIX);
    EbChatInput in;
    char why[256];
    double stamp;
    int ret;

    if (eb_chat_parse(jb->text, strlen(jb->text), chat->cfg.max_chars, &in, why, sizeof(why)) < 0) {
        eb_chat_reply_error(chat, jb->conn, "%s", why);
        return;
    }
    if (in.kind == EB_CHAT_DELETE) {
        if (!jb->moderator)
            eb_chat_reply_error(chat, jb->conn,
                                "only a moderator (who sent the API token) deletes messages");
        else if ((ret = eb_chat_delete(chat, channel, in.id)) == EB_ERR(ENOENT))
            eb_chat_reply_error(chat, jb->conn, "no item %lld in this channel's chat",
                                (long long)in.id);
        else if (ret < 0)
            eb_chat_reply_error(chat, jb->conn, "the chat store failed: try again");
        goto done;
    }
    if (!eb_chat_channel_take(chat, channel)) {
        eb_chat_reply_error(chat, jb->conn,
                            "the channel's chat is busy: at most %g messages a second on this "
                            "box (chat.channel_messages_per_second); try again",
                            chat->cfg.channel_rate);
        goto done;
    }
    /* the picture's time at the live edge: what every player syncs to */
    ret = chat->cfg.edge(chat->cfg.opaque, channel, &stamp);
    if (ret < 0) {
        eb_chat_reply_error(chat, jb->conn,
                            ret == EB_ERR(ENOENT)
                                ? "the channel is not on air: chat is pinned to the live picture"
                                : "the channel's live window cannot be read now");
        goto done;
    }
    pthread_mutex_lock(&chat->db_lock);
    ret = eb_chat_insert(chat, channel, kinds[in.kind], in.name, in.body, stamp, 0);
    pthread_mutex_unlock(&chat->db_lock);
    if (ret == 0) {
        pthread_mutex_lock(&chat->lock);
        chat->stored[in.kind]++;
        pthread_mutex_unlock(&chat->lock);
    }
    if (ret < 0)
        eb_chat_reply_error(chat, jb->conn, "the chat store failed: try again");
done:
    eb_chat_input_free(&in);
}

static void eb_chat_join(EbChat *chat, EbChatJob *jb)
{
    json_t *o = json_pack("{s:o}", "messages",
                          eb_chat_recent(chat, jb->channel + strlen(EB_CHAT_TOPIC_PREFIX)));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (text)
        eb_ws_send_to(chat->cfg.ws, jb->conn, "chat.history", text);
    free(text);
    json_decref(o);
}

static void *eb_chat_thread(void *arg)
{
    EbChat *chat = arg;

    pthread_setname_np(pthread_self(), "eb-chat");
    for (double expire_at = 0;;) {
        struct pollfd pfd[2] = {{.fd = chat->wake[0], .events = POLLIN}, {.fd = -1}};
        EbChatJob *jb, *next;
        int stop, dropped;
        char buf[64];

        pthread_mutex_lock(&chat->lock);
        stop = chat->stop;
        jb = chat->head;
        chat->head = chat->tail = NULL;
        chat->queued = 0;
        dropped = chat->dropped;
        chat->dropped = 0;
        pthread_mutex_unlock(&chat->lock);
        if (dropped)
            EB_LOGW("chat", "%d messages dropped: the chat thread was behind", dropped);
        for (; jb; jb = next) {
            next = jb->next;
            if (!stop) {
                if (jb->join)
                    eb_chat_join(chat, jb);
                else
                    eb_chat_message(chat, jb);
            }
            free(jb->text);
            free(jb);
        }
        if (stop)
            break;
        eb_chat_tail(chat, 1);
        if (eb_clock_unix() >= expire_at) {
            eb_chat_expire(chat);
            expire_at = eb_clock_unix() + EB_CHAT_EXPIRE_S;
        }
        if (chat->listen)
            pfd[1] = (struct pollfd){.fd = eb_sql_socket(chat->listen), .events = POLLIN};
        if (poll(pfd, pfd[1].fd >= 0 ? 2 : 1, EB_CHAT_TICK_MS) < 0 && errno != EINTR)
            EB_LOGW("chat", "poll: %s", strerror(errno));
        if (pfd[0].revents & POLLIN)
            while (read(chat->wake[0], buf, sizeof(buf)) > 0)
                ;
        /* a broken LISTEN connection is re-made here (no socket: -1) */
        if (chat->listen && (pfd[1].fd < 0 || pfd[1].revents))
            eb_sql_notifications(chat->listen);
    }
    return NULL;
}

/* ---- the hub's hooks ---------------------------------------------------- */

static void eb_chat_queue(EbChat *chat, uint64_t conn, const char *topic, int moderator, int join,
                          const char *text, size_t len)
{
    EbChatJob *jb;

    if (strncmp(topic, EB_CHAT_TOPIC_PREFIX, strlen(EB_CHAT_TOPIC_PREFIX)))
        return;
    if (!(jb = calloc(1, sizeof(*jb))) || (text && !(jb->text = strndup(text, len)))) {
        free(jb);
        return;
    }
    jb->conn = conn;
    jb->moderator = moderator;
    jb->join = join;
    snprintf(jb->channel, sizeof(jb->channel), "%s", topic);
    pthread_mutex_lock(&chat->lock);
    if (chat->queued >= EB_CHAT_QUEUE_MAX || chat->stop) {
        chat->dropped++;
        pthread_mutex_unlock(&chat->lock);
        free(jb->text);
        free(jb);
        return;
    }
    if (chat->tail)
        chat->tail->next = jb;
    else
        chat->head = jb;
    chat->tail = jb;
    chat->queued++;
    pthread_mutex_unlock(&chat->lock);
    eb_chat_wake(chat);
}

void eb_chat_ws_message(void *opaque, uint64_t conn, const char *topic, int moderator,
                        const char *text, size_t len)
{
    eb_chat_queue(opaque, conn, topic, moderator, 0, text, len);
}

void eb_chat_ws_join(void *opaque, uint64_t conn, const char *topic)
{
    eb_chat_queue(opaque, conn, topic, 0, 1, NULL, 0);
}

/* ---- the window's edge ---------------------------------------------------- */

int eb_chat_window_edge(int (*read)(void *opaque, const char *path, char **text), void *opaque,
                        const char *master, double *date)
{
    char *text = NULL, media[1024];
    const char *line, *end;
    EbLlhlsPlaylist pl;
    int ret;

    *date = 0;
    if ((ret = read(opaque, master, &text)) < 0)
        return ret == EB_ERR(ENOENT) ? ret : EB_ERR(EIO);
    /* the first variant: the first line that is not a tag */
    media[0] = '\0';
    for (line = text; line && *line; line = end ? end + 1 : NULL) {
        size_t n;
        end = strchr(line, '\n');
        n = end ? (size_t)(end - line) : strlen(line);
        if (n && line[n - 1] == '\r')
            n--;
        if (n && line[0] != '#') {
            char uri[512];
            if (n >= sizeof(uri))
                break;
            memcpy(uri, line, n);
            uri[n] = '\0';
            if (eb_llhls_resolve(master, uri, media, sizeof(media)) < 0)
                media[0] = '\0';
            break;
        }
    }
    free(text);
    text = NULL;
    if (!media[0])
        return EB_ERR(EINVAL);
    if ((ret = read(opaque, media, &text)) < 0)
        return ret == EB_ERR(ENOENT) ? ret : EB_ERR(EIO);
    ret = eb_llhls_parse(text, strlen(text), &pl);
    free(text);
    if (ret < 0)
        return EB_ERR(EINVAL);
    if (pl.ended || pl.edge_date <= 0)
        return EB_ERR(ENOENT);
    *date = pl.edge_date;
    return 0;
}

void eb_chat_metrics(EbChat *chat, FILE *f)
{
    int64_t n[3], refused;

    if (!chat)
        return;
    pthread_mutex_lock(&chat->lock);
    memcpy(n, chat->stored, sizeof(n));
    refused = chat->refused;
    pthread_mutex_unlock(&chat->lock);
    fprintf(f,
            "# HELP encbox_chat_items_total Chat items this box took from its viewers, and "
            "deletions by moderators.\n# TYPE encbox_chat_items_total counter\n"
            "encbox_chat_items_total{kind=\"message\"} %lld\n"
            "encbox_chat_items_total{kind=\"reaction\"} %lld\n"
            "encbox_chat_items_total{kind=\"delete\"} %lld\n"
            "# HELP encbox_chat_refused_total Chat messages refused (too long, not an emoji, off "
            "air...), each answered with an error.\n# TYPE encbox_chat_refused_total counter\n"
            "encbox_chat_refused_total %lld\n",
            (long long)n[0], (long long)n[1], (long long)n[2], (long long)refused);
}

/* ---- open, close ------------------------------------------------------------ */

int eb_chat_open(const EbChatConfig *cfg, EbChat **out)
{
    EbChat *chat = calloc(1, sizeof(*chat));
    EbSqlStmt *st;
    int ret;

    *out = NULL;
    if (!chat)
        return EB_ERR(ENOMEM);
    chat->cfg = *cfg;
    snprintf(chat->box, sizeof(chat->box), "%s", cfg->box ? cfg->box : "");
    chat->cfg.box = chat->box;
    chat->wake[0] = chat->wake[1] = -1;
    pthread_mutex_init(&chat->lock, NULL);
    pthread_mutex_init(&chat->db_lock, NULL);
    if ((ret = eb_sql_open(cfg->db, "chat", &chat->db)) < 0 || (ret = eb_chat_schema(chat)) < 0)
        goto fail;
    if (eb_sql_is_pg(chat->db) && ((ret = eb_sql_open(cfg->db, "chat", &chat->listen)) < 0 ||
                                   (ret = eb_sql_listen(chat->listen, EB_CHAT_NOTIFY)) < 0))
        goto fail;
    /* what is stored already is not news: viewers get it as history */
    if ((st = eb_sql_prepare(chat->db, "SELECT MAX(id) FROM chat"))) {
        if (eb_sql_step(st) == 1)
            chat->last = eb_sql_int64(st, 0);
        eb_sql_finalize(st);
    }
    eb_chat_tail(chat, 0);
    if (pipe2(chat->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        ret = EB_ERR(errno);
        goto fail;
    }
    if (pthread_create(&chat->thread, NULL, eb_chat_thread, chat) != 0) {
        ret = EB_ERR(EAGAIN);
        goto fail;
    }
    chat->started = 1;
    *out = chat;
    return 0;
fail:
    eb_chat_close(&chat);
    return ret;
}

void eb_chat_stop(EbChat *chat)
{
    if (!chat || !chat->started)
        return;
    pthread_mutex_lock(&chat->lock);
    chat->stop = 1;
    pthread_mutex_unlock(&chat->lock);
    eb_chat_wake(chat);
    pthread_join(chat->thread, NULL);
    chat->started = 0;
}

void eb_chat_close(EbChat **pchat)
{
    EbChat *chat = pchat ? *pchat : NULL;
    EbChatJob *jb, *next;

    if (!chat)
        return;
    eb_chat_stop(chat);
    for (jb = chat->head; jb; jb = next) {
        next = jb->next;
        free(jb->text);
        free(jb);
    }
    if (chat->wake[0] >= 0) {
        close(chat->wake[0]);
        close(chat->wake[1]);
    }
    eb_sql_close(&chat->listen);
    eb_sql_close(&chat->db);
    pthread_mutex_destroy(&chat->lock);
    pthread_mutex_destroy(&chat->db_lock);
    free(chat);
    *pchat = NULL;
}
