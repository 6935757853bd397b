/*
 * A live channel's chat and reactions (issue 18): viewers on the channel's
 * WebSocket (GET /v1/channels/{id}/chat, an open topic of the hub, eb_ws.h)
 * send messages and emoji reactions; each is stamped with the channel's
 * media time (the program date-time at the live edge when it arrived),
 * stored in the job database (the chat table), and fanned out to every
 * viewer of the channel on every box. Players show an item when their
 * playhead's program date-time reaches its stamp, so chat stays with the
 * picture, live and in the recording's replay.
 *
 * Protocol, beyond the hub's (ready, token, ping; eb_ws.h):
 *   client -> box  {"type": "message", "name": "...", "text": "..."}
 *                  {"type": "reaction", "emoji": "<one of EB_CHAT_EMOJI>"}
 *                  {"type": "delete", "id": N}          (moderators)
 *   box -> client  {"type": "chat.history", "data": {"messages": [item...]}}
 *                  (on joining: the channel's newest items, oldest first)
 *                  {"type": "chat.message" | "chat.reaction", "data": item}
 *                  {"type": "chat.deleted", "data": {"id": N}}
 *                  {"type": "error", "data": {"error": "..."}}
 *   item: {"id", "kind" ("message"|"reaction"), "name", "text" | "emoji",
 *          "stamp" (unix seconds of media time), "at" (unix seconds it came)}
 *
 * The fan-out goes through the database, so it is the same on one box and
 * in a rack: every item (and every deletion, a row of kind "delete") is a
 * row with a growing id; the chat thread of each box reads the rows past
 * the last it published and publishes them to its own viewers. With
 * PostgreSQL a NOTIFY wakes the other boxes at once; a one-second pass
 * covers a lost notification. Ids a concurrent writer had not committed
 * yet when a later one was read are picked up by the next pass (the last
 * EB_CHAT_LOOKBACK ids are read again and the ones published skipped).
 *
 * Threads: the hub's hooks (eb_chat_ws_message, eb_chat_ws_join) only
 * queue; the chat thread (eb-chat) stamps, stores and publishes. The REST
 * calls (eb_chat_delete, eb_chat_history) run on the caller's thread,
 * with the store's connection under the chat's lock.
 */
#ifndef EB_CHAT_H
#define EB_CHAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "eb_ws.h"

#define EB_CHAT_TOPIC_PREFIX "chat:" /* + channel id: the hub's topic */
#define EB_CHAT_NAME_MAX 32          /* characters of a viewer's name */
#define EB_CHAT_QUEUE_MAX 4096       /* messages waiting for the chat thread */
#define EB_CHAT_LOOKBACK 64
#define EB_CHAT_REPLAY_MAX 5000 /* items one history request returns at most */

/* The reactions a viewer may send: short, fixed, so a reaction is never
 * text in disguise. NULL-terminated. */
extern const char *const eb_chat_emoji[];

typedef struct EbChat EbChat;

typedef struct EbChatConfig {
    const char *db;  /* eb_sql target: the job database (its PostgreSQL in a rack) */
    const char *box; /* this box's name, kept with the rows it wrote */
    EbWs *ws;        /* the hub viewers are on */
    /* The live edge's program date-time of channel_id now, unix seconds,
     * into *date: 0, or a negative errno (ENOENT: not on air). Called on
     * eb-chat. */
    int (*edge)(void *opaque, const char *channel_id, double *date);
    void *opaque;
    int max_chars; /* characters of a message at most (chat.max_chars) */
    int history;   /* items a joining viewer gets (chat.history) */
    int keep_days; /* items older than this are removed (chat.keep_days); 0: kept */
    double channel_rate; /* messages and reactions one channel takes a second on this box
                          * (chat.channel_messages_per_second, twice that at once); 0: no
                          * limit */
} EbChatConfig;

/* Opens the store (makes the table) and starts eb-chat. 0 or a negative
 * errno (logged). */
int eb_chat_open(const EbChatConfig *cfg, EbChat **out);
/* Stops the thread (nothing more is published to the hub); the hooks
 * still answer, dropping what comes. */
void eb_chat_stop(EbChat *chat);
/* Stops and frees; what is queued is dropped. After the hub is closed. */
void eb_chat_close(EbChat **chat);

/* EbWsConfig's on_message and on_join, opaque being the EbChat: queue
 * for eb-chat (topics not starting with EB_CHAT_TOPIC_PREFIX are not
 * chat's and are ignored). */
void eb_chat_ws_message(void *opaque, uint64_t conn, const char *topic, int moderator,
                        const char *text, size_t len);
void eb_chat_ws_join(void *opaque, uint64_t conn, const char *topic);

/* Removes item id of channel_id (a moderator's act) and tells its viewers.
 * 0, EB_ERR(ENOENT) when the channel has no such item (or it is gone
 * already), EB_ERR(EIO). */
int eb_chat_delete(EbChat *chat, const char *channel_id, int64_t id);

/* The channel's items with from <= stamp <= to, oldest first, at most
 * limit (capped at EB_CHAT_REPLAY_MAX): {"messages": [item...]} (a new
 * reference) into *out. 0 or EB_ERR(EIO). */
int eb_chat_history(EbChat *chat, const char *channel_id, double from, double to, int limit,
                    json_t **out);

/* Prometheus text of this box's chat counters into f. */
void eb_chat_metrics(EbChat *chat, FILE *f);

/* A viewer's message, read and checked (pure: any thread). */
typedef enum EbChatKind { EB_CHAT_MESSAGE, EB_CHAT_REACTION, EB_CHAT_DELETE } EbChatKind;

typedef struct EbChatInput {
    EbChatKind kind;
    char name[EB_CHAT_NAME_MAX * 4 + 1]; /* UTF-8, no control characters; "viewer" if none */
    char *body;                          /* the text (trimmed, control characters as
                                          * spaces, 1 to max_chars characters) or the
                                          * emoji; NULL for a deletion */
    int64_t id;                          /* the item a deletion names (> 0) */
} EbChatInput;

/* Reads one client message (text, len bytes: JSON) into *out: 0, or
 * EB_ERR(EINVAL) with why (a sentence for the sender) filled. Whether the
 * sender may delete is the caller's. eb_chat_input_free releases out. */
int eb_chat_parse(const char *text, size_t len, int max_chars, EbChatInput *out, char *why,
                  size_t size);
void eb_chat_input_free(EbChatInput *in);

/* The live edge's program date-time of a live window: read(opaque, path)
 * gives the text of a file of the window (a malloc'd NUL-terminated
 * string into *text, 0, or a negative errno); master is the master
 * playlist's path (e.g. "ch/hls/master.m3u8"). The first variant's media
 * playlist is read; *date is its edge (eb_llhls.h). 0, EB_ERR(ENOENT) when
 * there is no window, it ended or nothing in it is dated, EB_ERR(EINVAL)
 * for a playlist that does not parse. */
int eb_chat_window_edge(int (*read)(void *opaque, const char *path, char **text), void *opaque,
                        const char *master, double *date);

#endif
