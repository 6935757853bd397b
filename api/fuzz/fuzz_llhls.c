/*
 * libFuzzer target for the origin's LL-HLS delivery logic (eb_llhls): the
 * delivery directives come from any player's query string, and the
 * playlist text is what the origin reads back from the packager (so a
 * torn or corrupt file must not hurt it either).
 *
 * Input: three lines, the values of _HLS_msn, _HLS_part and _HLS_skip (an
 * empty line: not given), then the playlist text.
 *
 * Beyond crashes, leaks and sanitizer reports, its promises are checked:
 *   - a request that parses gets one of the three answers, and an ended
 *     playlist is always READY;
 *   - a delta update is NUL-terminated, *out_len long, parses again as a
 *     playlist that says it skipped what was skipped, ends on the same
 *     segment and lists the others;
 *   - a resolved preload hint is a relative path without "." or ".."
 *     segments;
 *   - the max-age is at least 1 s.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>

#include "eb_llhls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of data (up to '\n') as a NUL-terminated copy in out
 * (NULL when empty); advances *pos past it. */
static const char *fuzz_line(const uint8_t *data, size_t size, size_t *pos, char *out,
                             size_t out_size)
{
    size_t n = 0;
    while (*pos < size && data[*pos] != '\n') {
        if (n + 1 < out_size)
            out[n++] = (char)data[*pos];
        (*pos)++;
    }
    if (*pos < size)
        (*pos)++;
    out[n] = '\0';
    return n ? out : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msn_buf[64], part_buf[64], skip_buf[16], path[EB_LLHLS_URI_MAX + 64];
    const char *msn, *part, *skip, *text;
    size_t pos = 0, len;
    EbLlhlsPlaylist pl;
    EbLlhlsRequest rq;

    msn = fuzz_line(data, size, &pos, msn_buf, sizeof(msn_buf));
    part = fuzz_line(data, size, &pos, part_buf, sizeof(part_buf));
    skip = fuzz_line(data, size, &pos, skip_buf, sizeof(skip_buf));
    text = (const char *)data + pos;
    len = size - pos;

    if (eb_llhls_parse(text, len, &pl) < 0)
        return 0;
    if (eb_llhls_max_age(&pl) < 1)
        abort();
    if (pl.preload_hint[0] &&
        eb_llhls_resolve("ch/hls/r/index.m3u8", pl.preload_hint, path, sizeof(path)) > 0) {
        if (path[0] == '/' || !strcmp(path, "..") || !strncmp(path, "../", 3) ||
            strstr(path, "/../") || strstr(path, "/./") || !strncmp(path, "./", 2))
            abort();
        size_t n = strlen(path);
        if ((n >= 3 && !strcmp(path + n - 3, "/..")) || (n >= 2 && !strcmp(path + n - 2, "/.")))
            abort();
    }
    if (eb_llhls_request_parse(msn, part, skip, &rq) == 0) {
        EbLlhlsAnswer a = eb_llhls_decide(&pl, &rq);
        char *out = NULL;
        size_t out_len = 0;
        int skipped;
        if (a != EB_LLHLS_READY && a != EB_LLHLS_WAIT && a != EB_LLHLS_BAD)
            abort();
        if (pl.ended && rq.has_msn && a != EB_LLHLS_READY)
            abort();
        skipped = eb_llhls_delta(text, len, &pl, rq.skip, &out, &out_len);
        if (skipped > 0) {
            EbLlhlsPlaylist d;
            if (!out || out[out_len] != '\0' || strlen(out) != out_len)
                abort();
            if (eb_llhls_parse(out, out_len, &d) < 0 || d.last_msn != pl.last_msn ||
                d.skipped != skipped || d.nb_segments + skipped != pl.nb_segments)
                abort();
        } else if (out) {
            abort();
        }
        av_free(out);
    }
    return 0;
}
