/*
 * libFuzzer target for POST /v1/channels bodies (eb_channel_request_parse).
 * Beyond crashes and leaks, its promises are checked:
 *   - a body that parses gives a channel whose every field is set and in
 *     range: a name of [a-z0-9_-]{1,64} that is not of an id's form, a
 *     ladder preset of the configuration, a preset of jobs.preset's, a
 *     segment of 1 to 10 s, a window of 3 segments to 6 h, a reconnect
 *     window of 0 to 600 s, and nothing of what the store draws (id and
 *     secrets empty);
 *   - a body that fails gives 400 and a message that starts with the field
 *     it names.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eb_channels.h"
#include "eb_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EbConfig cfg;
static int ready;

static void eb_fuzz_check_channel(const EbChannelSpec *s)
{
    const EbSetting *presets = eb_config_find_setting("jobs.preset");
    size_t n = strlen(s->name);
    int preset_ok = 0;

    if (n < 1 || n > EB_CHANNEL_NAME_MAX ||
        strspn(s->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n ||
        (n == 19 && !strncmp(s->name, EB_CHANNEL_ID_PREFIX, 3) &&
         strspn(s->name + 3, "0123456789abcdef") == 16))
        abort();
    if (!eb_config_find_ladder(&cfg, s->ladder))
        abort();
    for (int i = 0; presets && presets->values[i]; i++)
        preset_ok |= !strcmp(s->preset, presets->values[i]);
    if (!preset_ok)
        abort();
    if (!(s->segment_seconds >= 1 && s->segment_seconds <= 10) ||
        !(s->window_seconds >= 3 * s->segment_seconds &&
          s->window_seconds <= EB_CHANNEL_MAX_WINDOW) ||
        !(s->reconnect_window_seconds >= 0 &&
          s->reconnect_window_seconds <= EB_CHANNEL_MAX_RECONNECT) ||
        (s->record != 0 && s->record != 1))
        abort();
    if (s->id[0] || s->srt_passphrase[0] || s->stream_key[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EbChannelSpec spec;
    EbJobRequestError err;

    if (!ready) {
        if (eb_config_defaults(&cfg) < 0)
            abort();
        ready = 1;
    }
    if (eb_channel_request_parse(&cfg, (const char *)data, size, &spec, &err) == 0)
        eb_fuzz_check_channel(&spec);
    else if (err.status != 400 || !err.message[0] ||
             strncmp(err.message, err.field, strlen(err.field)))
        abort();
    return 0;
}
