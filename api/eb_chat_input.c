/*
 * A chat viewer's message, read and checked (see eb_chat.h): pure, apart
 * from the daemon's chat so the fuzzer reaches it alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eb_chat.h"
#include "eb_error.h"

const char *const eb_chat_emoji[] = {"\xf0\x9f\x91\x8d",         /* thumbs up */
                                     "\xe2\x9d\xa4\xef\xb8\x8f", /* red heart */
                                     "\xf0\x9f\x98\x82",         /* tears of joy */
                                     "\xf0\x9f\x98\xae",         /* open mouth */
                                     "\xf0\x9f\x91\x8f",         /* clapping */
                                     "\xf0\x9f\x94\xa5",         /* fire */
                                     NULL};

/* Characters of UTF-8 text (jansson has checked it is UTF-8). */
static size_t eb_chat_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* s with control characters (C0 and DEL) as spaces and spaces trimmed
 * at both ends, into a new string; NULL when nothing is left. */
static char *eb_chat_clean(const char *s)
{
    char *out, *b, *e;

    if (!s || !(out = strdup(s)))
        return NULL;
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    for (b = out; *b == ' '; b++)
        ;
    for (e = b + strlen(b); e > b && e[-1] == ' ';)
        *--e = '\0';
    if (!*b) {
        free(out);
        return NULL;
    }
    memmove(out, b, strlen(b) + 1);
    return out;
}

static int eb_chat_emoji_ok(const char *e)
{
    for (int i = 0; e && eb_chat_emoji[i]; i++)
        if (!strcmp(e, eb_chat_emoji[i]))
            return 1;
    return 0;
}

void eb_chat_input_free(EbChatInput *in)
{
    free(in->body);
    in->body = NULL;
}

/* The sender's name: cleaned, "viewer" when none or empty. */
static int eb_chat_name(json_t *o, EbChatInput *out)
{
    char *name = eb_chat_clean(json_string_value(json_object_get(o, "name")));
    int ok = !name || eb_chat_chars(name) <= EB_CHAT_NAME_MAX;

    snprintf(out->name, sizeof(out->name), "%s", ok && name ? name : "viewer");
    free(name);
    return ok;
}

#define EB_CHAT_FAIL(...)                                                                          \
    do {                                                                                           \
        snprintf(why, size, __VA_ARGS__);                                                          \
        goto fail;                                                                                 \
    } while (0)

int eb_chat_parse(const char *text, size_t len, int max_chars, EbChatInput *out, char *why,
                  size_t size)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(o, "type"));

    memset(out, 0, sizeof(*out));
    if (!json_is_object(o) || !type)
        EB_CHAT_FAIL("a message is a JSON object with a \"type\"");
    if (!strcmp(type, "delete")) {
        json_t *id = json_object_get(o, "id");
        if (!json_is_integer(id) || json_integer_value(id) <= 0)
            EB_CHAT_FAIL("delete needs the item's \"id\"");
        out->kind = EB_CHAT_DELETE;
        out->id = json_integer_value(id);
    } else if (!strcmp(type, "message")) {
        out->kind = EB_CHAT_MESSAGE;
        if (!(out->body = eb_chat_clean(json_string_value(json_object_get(o, "text")))))
            EB_CHAT_FAIL("a message needs some \"text\"");
        if (eb_chat_chars(out->body) > (size_t)max_chars)
            EB_CHAT_FAIL("the message is longer than %d characters (chat.max_chars)", max_chars);
        if (!eb_chat_name(o, out))
            EB_CHAT_FAIL("a name is at most %d characters", EB_CHAT_NAME_MAX);
    } else if (!strcmp(type, "reaction")) {
        const char *e = json_string_value(json_object_get(o, "emoji"));
        out->kind = EB_CHAT_REACTION;
        if (!eb_chat_emoji_ok(e))
            EB_CHAT_FAIL("a reaction is one of \xf0\x9f\x91\x8d \xe2\x9d\xa4\xef\xb8\x8f "
                         "\xf0\x9f\x98\x82 \xf0\x9f\x98\xae \xf0\x9f\x91\x8f \xf0\x9f\x94\xa5");
        if (!(out->body = strdup(e)))
            EB_CHAT_FAIL("out of memory");
        if (!eb_chat_name(o, out))
            EB_CHAT_FAIL("a name is at most %d characters", EB_CHAT_NAME_MAX);
    } else {
        EB_CHAT_FAIL("unknown type \"%.40s\": message, reaction or delete", type);
    }
    json_decref(o);
    return 0;
fail:
    json_decref(o);
    eb_chat_input_free(out);
    return EB_ERR(EINVAL);
}
