/*
 * libFuzzer target for what a chat viewer sends on a channel's WebSocket
 * (eb_chat_parse): anyone may open the socket, no token guards it. Beyond
 * crashes and leaks, its promises are checked:
 *   - a message that parses has a body of 1 to max_chars characters with
 *     no control character and no space at either end; a reaction's body
 *     is one of eb_chat_emoji; a deletion names an id > 0 and no body;
 *   - a message's or reaction's name has no control character and is 1 to
 *     EB_CHAT_NAME_MAX characters;
 *   - a message that fails says why, and leaves no body.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t eb_fuzz_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            abort();
        n += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EbChatInput in;
    char why[256] = "";
    const int max_chars = 40;
    int found = 0;

    if (eb_chat_parse((const char *)data, size, max_chars, &in, why, sizeof(why)) < 0) {
        if (!why[0] || in.body)
            abort();
        return 0;
    }
    if (in.kind != EB_CHAT_DELETE && (!in.name[0] || eb_fuzz_chars(in.name) > EB_CHAT_NAME_MAX))
        abort();
    switch (in.kind) {
    case EB_CHAT_MESSAGE: {
        size_t n = strlen(in.body);
        if (!n || eb_fuzz_chars(in.body) > (size_t)max_chars || in.body[0] == ' ' ||
            in.body[n - 1] == ' ')
            abort();
        break;
    }
    case EB_CHAT_REACTION:
        for (int i = 0; eb_chat_emoji[i]; i++)
            found |= !strcmp(in.body, eb_chat_emoji[i]);
        if (!found)
            abort();
        break;
    case EB_CHAT_DELETE:
        if (in.id <= 0 || in.body)
            abort();
        break;
    default:
        abort();
    }
    eb_chat_input_free(&in);
    return 0;
}
